/*  post-floor.c — the fastest server this machine has for one alert per POST, for `make bench`.

    post-floor --web.listen-address=127.0.0.1:9099

    Stands where alertd or Alertmanager stand under tools/alertload --batch=1 and answers
    what alertd answers (200, Date, Content-Type: application/json, Content-Length: 0: 107
    bytes, Alertmanager's is 89), doing nothing else: one thread, level-triggered epoll,
    HTTP/1.1 keep-alive, TCP_NODELAY. A request is its head (up to "\r\n\r\n", read for the
    request line, Content-Length, Connection: close and Expect: 100-continue) and a body of
    Content-Length bytes read and dropped unparsed; its answer is written once the whole
    body is in, so the client's request still makes the whole round trip. Per wake-up: one
    epoll_wait for all ready connections, then for each one recv (again only while the
    buffer filled up) and one send of every answer its bytes completed, so a POST costs
    three system calls where alertd's loop makes five (docs/benchmarks.md, "Single POSTs'
    round trip").
    What alertload then measures against it is its own client, the kernel's loopback and the
    wake-ups: no server can do the same exchange with less, so its alerts/s is the ceiling
    for any server with this client on this machine (tools/bench-post-floor.sh).

    Routes: POST /api/v2/alerts (any body) and GET /-/ready, /-/healthy answer 200; any
    other request 404. A head over 64 KiB is answered 431, a request without Content-Length
    but with Transfer-Encoding 411, and the connection closed. Loopback only is the caller's
    choice of address; runs until SIGINT or SIGTERM; up to 1024 connections.
*/
#define _GNU_SOURCE // accept4, memmem
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fw_mem.h"

#define S_IN (64 * 1024)  // a connection's read buffer: one head must fit
#define S_OUT (16 * 1024) // its answers not yet sent
#define S_ANSWER_MAX 160  // the longest answer below
#define S_MAX_CONNS 1024
#define S_EVENTS 64

struct s_conn {
    int fd;
    bool want_out; // EPOLLOUT armed: answers wait, no reading meanwhile
    bool closing;  // close once the answers are out
    bool in_body;  // the head is read, its body's remaining bytes are skip
    bool is_post;  // the request being read is POST /api/v2/alerts
    bool ok_route; // ... or another route answered 200
    size_t skip;
    size_t in_len, out_len, out_off;
    char in[S_IN];
    char out[S_OUT];
};

static volatile sig_atomic_t s_stop;
static int s_conns;

static void
s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

// The Date header's value, formatted once a second (alertd's libmicrohttpd sends one too).
static const char *
s_date(void)
{
    static time_t last = -1;
    static char buf[40];
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return buf;
}

static void
s_answer(struct s_conn *c, int status)
{
    const char *reason = status == 200   ? "OK"
                         : status == 100 ? "Continue"
                         : status == 404 ? "Not Found"
                         : status == 411 ? "Length Required"
                                         : "Request Header Fields Too Large";
    int n = status == 100
                ? snprintf(c->out + c->out_len, S_OUT - c->out_len, "HTTP/1.1 100 Continue\r\n\r\n")
                : snprintf(c->out + c->out_len, S_OUT - c->out_len,
                           "HTTP/1.1 %d %s\r\nDate: %s\r\nContent-Type: application/json\r\n"
                           "Content-Length: 0\r\n\r\n",
                           status, reason, s_date());
    c->out_len += (size_t)n; // S_ANSWER_MAX free is checked before every request
}

// The value of header name (with its colon) in head [p, end), or NULL.
static const char *
s_header(const char *p, const char *end, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = memmem(p, (size_t)(end - p), "\r\n", 2); l && l + 2 + n <= end;
         l = memmem(l + 2, (size_t)(end - l - 2), "\r\n", 2)) {
        if (strncasecmp(l + 2, name, n) == 0) {
            const char *v = l + 2 + n;
            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            return v;
        }
    }
    return NULL;
}

// Takes the whole requests (and the body bytes of one being read) off the front of c->in,
// answering each once its body is in. -1: the connection is to be closed after the answers;
// 1: c->out has no room for another answer (send, then call again); 0: all taken.
static int
s_parse(struct s_conn *c)
{
    size_t at = 0;
    int rc = 0;
    for (;;) {
        if (S_OUT - c->out_len < S_ANSWER_MAX) {
            rc = 1;
            break;
        }
        if (c->in_body) {
            size_t take = c->in_len - at < c->skip ? c->in_len - at : c->skip;
            at += take;
            c->skip -= take;
            if (c->skip > 0)
                break;
            c->in_body = false;
            s_answer(c, c->is_post || c->ok_route ? 200 : 404);
            if (c->closing) {
                rc = -1;
                break;
            }
            continue;
        }
        const char *p = c->in + at, *end = memmem(p, c->in_len - at, "\r\n\r\n", 4);
        if (!end) {
            if (at == 0 && c->in_len == S_IN) {
                s_answer(c, 431);
                rc = -1;
            }
            break;
        }
        c->is_post = strncmp(p, "POST /api/v2/alerts ", 20) == 0;
        c->ok_route =
            strncmp(p, "GET /-/ready ", 13) == 0 || strncmp(p, "GET /-/healthy ", 15) == 0;
        const char *cl = s_header(p, end, "Content-Length:");
        const char *te = s_header(p, end, "Transfer-Encoding:");
        const char *conn = s_header(p, end, "Connection:");
        const char *expect = s_header(p, end, "Expect:");
        const char *eol = memmem(p, (size_t)(end - p + 2), "\r\n", 2);
        c->closing = (conn && strncasecmp(conn, "close", 5) == 0) ||
                     (eol && eol - p >= 8 && memcmp(eol - 8, "HTTP/1.0", 8) == 0);
        at = (size_t)(end + 4 - c->in);
        if (te && !cl) {
            s_answer(c, 411);
            rc = -1;
            break;
        }
        c->skip = cl ? strtoull(cl, NULL, 10) : 0;
        c->in_body = true;
        if (expect && strncasecmp(expect, "100-continue", 12) == 0 && c->skip > c->in_len - at)
            s_answer(c, 100);
    }
    memmove(c->in, c->in + at, c->in_len - at);
    c->in_len -= at;
    return rc;
}

static void
s_close(int ep, struct s_conn **cp)
{
    struct s_conn *c = *cp;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
    s_conns--;
    *cp = NULL;
}

// Sends what is pending; arms EPOLLOUT (and stops reading) while the socket is full.
// -1 when the connection failed.
static int
s_flush(int ep, struct s_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            break;
        if (w < 0)
            return -1;
        c->out_off += (size_t)w;
    }
    bool full = c->out_off < c->out_len;
    if (!full)
        c->out_off = c->out_len = 0;
    if (full != c->want_out) {
        struct epoll_event ev = {.events = full ? EPOLLOUT : EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        c->want_out = full;
    }
    return 0;
}

// Answers what c->in holds and sends the answers, again while the answers filled c->out.
// -1: close the connection now.
static int
s_serve(int ep, struct s_conn *c)
{
    int rc = 1;
    for (int i = 0; i < 64 && rc == 1 && !c->want_out; i++) { // bounded: see S_OUT, S_IN
        rc = s_parse(c);
        if (s_flush(ep, c) < 0)
            return -1;
    }
    if (rc < 0 && !c->want_out)
        return -1;
    if (rc < 0) { // closed once the answers are out
        c->closing = true;
        c->in_body = false;
    }
    return 0;
}

// A readable connection: recv (again only while it filled the buffer: level-triggered
// epoll reports the rest), answer, one send. A writable one (EPOLLOUT): send, then the
// requests left in the buffer.
static void
s_on_conn(int ep, struct s_conn *c, bool writable)
{
    if (writable) {
        if (s_flush(ep, c) < 0 || (!c->want_out && c->closing && !c->in_body) ||
            (!c->want_out && s_serve(ep, c) < 0))
            s_close(ep, &c);
        return;
    }
    for (int i = 0; i < 16; i++) { // bounded: other connections wait meanwhile
        size_t room = S_IN - c->in_len;
        ssize_t r = recv(c->fd, c->in + c->in_len, room, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (r > 0)
            c->in_len += (size_t)r;
        if (r <= 0 || s_serve(ep, c) < 0) {
            s_close(ep, &c);
            return;
        }
        if ((size_t)r < room || c->want_out || c->closing)
            return;
    }
}

static int
s_listen(const char *addr)
{
    char host[64];
    const char *colon = strrchr(addr, ':');
    if (!colon || (size_t)(colon - addr) >= sizeof host)
        return -1;
    snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
    if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        return -1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 128) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int
main(int argc, char **argv)
{
    const char *pfx = "--web.listen-address=";
    if (argc != 2 || strncmp(argv[1], pfx, strlen(pfx)) != 0) {
        fprintf(stderr, "usage: post-floor --web.listen-address=127.0.0.1:PORT\n");
        return 2;
    }
    int lfd = s_listen(argv[1] + strlen(pfx)), ep = epoll_create1(EPOLL_CLOEXEC);
    if (lfd < 0 || ep < 0) {
        perror("post-floor: listen");
        return 1;
    }
    struct sigaction sa = {.sa_handler = s_on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[S_EVENTS];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    while (!s_stop) {
        int n = epoll_wait(ep, evs, S_EVENTS, -1);
        for (int i = 0; i < n; i++) {
            struct s_conn *c = evs[i].data.ptr;
            if (c) {
                s_on_conn(ep, c, (evs[i].events & EPOLLOUT) != 0);
                continue;
            }
            int fd, one = 1;
            while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (s_conns == S_MAX_CONNS) {
                    close(fd);
                    continue;
                }
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                c = fw_calloc(1, sizeof *c);
                c->fd = fd;
                s_conns++;
                struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
            }
        }
    }
    close(ep);
    close(lfd);
    return 0;
}
