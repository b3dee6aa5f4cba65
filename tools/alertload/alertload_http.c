/*  alertload_http.c — alertload's plain-socket HTTP/1.1 clients (alertload_http.h). */
#define _GNU_SOURCE // memmem
#include "alertload_http.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fw_mem.h"

#define S_ANSWER_MAX 4096 // an answer's head and body (alertd's and Alertmanager's: ~100 B)
#define S_WAIT_MS 60000   // the longest wait for an answer (as SO_RCVTIMEO for raw)
#define S_READS_MAX 64    // reads of one answer (its head is one or two)

struct s_url {
    char host[256], port[8], path[512];
};

static int
s_url_parse(const char *url, struct s_url *u)
{
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : NULL;
    const char *slash = p ? strchr(p, '/') : NULL;
    const char *colon = p ? memchr(p, ':', slash ? (size_t)(slash - p) : strlen(p)) : NULL;
    if (!p || !colon || !slash || (size_t)(colon - p) >= sizeof u->host ||
        (size_t)(slash - colon - 1) >= sizeof u->port || strlen(slash) >= sizeof u->path)
        return -1;
    snprintf(u->host, sizeof u->host, "%.*s", (int)(colon - p), p);
    snprintf(u->port, sizeof u->port, "%.*s", (int)(slash - colon - 1), colon + 1);
    snprintf(u->path, sizeof u->path, "%s", slash);
    return 0;
}

static int
s_connect(const struct s_url *u)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(u->host, u->port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    int one = 1;
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // as libcurl does
    struct timeval tv = {.tv_sec = S_WAIT_MS / 1000};
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

// Send one POST of body on fd in one sendmsg(); 0, or -1 when the connection failed.
static int
s_send(int fd, const struct s_url *u, const char *body)
{
    char head[768];
    size_t blen = strlen(body);
    int hlen = snprintf(head, sizeof head,
                        "POST %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: */*\r\n"
                        "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                        u->path, u->host, u->port, blen);
    struct iovec iov[2] = {{head, (size_t)hlen}, {(void *)body, blen}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    return sendmsg(fd, &msg, MSG_NOSIGNAL) == (ssize_t)(hlen + blen) ? 0 : -1;
}

// Whether buf[0..have) holds a whole answer: 1 (its status in *status), 0 not yet, -1 one
// that cannot be read (not HTTP/1.1, no Content-Length, larger than S_ANSWER_MAX).
static int
s_answer(const char *buf, size_t have, int *status)
{
    const char *end = memmem(buf, have, "\r\n\r\n", 4);
    if (!end)
        return have < S_ANSWER_MAX ? 0 : -1;
    const char *cl = NULL;
    for (const char *l = memmem(buf, have, "\r\n", 2); l && l < end && !cl;
         l = memmem(l + 2, (size_t)(end - l), "\r\n", 2))
        if ((size_t)(end - l) > 17 && strncasecmp(l, "\r\nContent-Length:", 17) == 0)
            cl = l;
    if (!cl || have < 12 || strncmp(buf, "HTTP/1.1 ", 9) != 0)
        return -1;
    size_t want = (size_t)(end + 4 - buf) + strtoul(cl + 17, NULL, 10);
    if (want > S_ANSWER_MAX)
        return -1;
    *status = atoi(buf + 9);
    return have >= want ? 1 : 0;
}

// --- raw: a blocking thread per connection ---

struct s_poster {
    const struct s_url *u;
    char *const *bodies;
    size_t n, first, step; // bodies first, first + step, ... are this thread's
    size_t errors;
    pthread_t thread;
};

// One POST on fd and its answer: the status, or -1 when the connection failed.
static int
s_post(int fd, const struct s_url *u, const char *body)
{
    char buf[S_ANSWER_MAX + 1];
    if (s_send(fd, u, body) < 0)
        return -1;
    size_t have = 0;
    int status = -1, done = 0;
    for (int i = 0; i < S_READS_MAX && done == 0; i++) {
        ssize_t got = recv(fd, buf + have, S_ANSWER_MAX - have, 0);
        if (got <= 0)
            return -1;
        have += (size_t)got;
        done = s_answer(buf, have, &status);
    }
    return done == 1 ? status : -1;
}

static void *
s_raw_run(void *arg)
{
    struct s_poster *p = arg;
    int fd = -1;
    for (size_t k = p->first; k < p->n; k += p->step) {
        if (fd < 0)
            fd = s_connect(p->u);
        int status = fd < 0 ? -1 : s_post(fd, p->u, p->bodies[k]);
        if (status < 0 && fd >= 0) {
            close(fd);
            fd = -1;
        }
        p->errors += status != 200;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static size_t
s_raw(const struct s_url *u, char *const *bodies, size_t n, size_t connections)
{
    struct s_poster *p = fw_calloc(connections, sizeof *p);
    for (size_t c = 0; c < connections; c++) {
        p[c] = (struct s_poster){u, bodies, n, c, connections, 0, 0};
        pthread_create(&p[c].thread, NULL, s_raw_run, &p[c]);
    }
    size_t errors = 0;
    for (size_t c = 0; c < connections; c++) {
        pthread_join(p[c].thread, NULL);
        errors += p[c].errors;
    }
    free(p);
    return errors;
}

// --- epoll: one thread, every connection in one epoll set ---

struct s_conn {
    int fd;
    size_t next; // the body in flight on fd
    size_t have; // bytes of its answer in buf
    char buf[S_ANSWER_MAX];
};

// Send c's next body, from body c->next on, opening the connection when it is closed; a
// body that cannot be sent is an error and the next one is tried. False when c is done.
static bool
s_conn_send(int ep, const struct s_url *u, char *const *bodies, size_t n, size_t step,
            struct s_conn *c, size_t *errors)
{
    for (; c->next < n; c->next += step) {
        if (c->fd < 0) {
            c->fd = s_connect(u);
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            if (c->fd >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
                close(c->fd);
                c->fd = -1;
            }
        }
        c->have = 0;
        if (c->fd >= 0 && s_send(c->fd, u, bodies[c->next]) == 0)
            return true;
        (*errors)++;
        if (c->fd >= 0)
            close(c->fd); // leaves the epoll set with it
        c->fd = -1;
    }
    return false;
}

// Read what came for c; true when its answer is complete (or failed) and the next is due.
static bool
s_conn_read(struct s_conn *c, size_t *errors)
{
    ssize_t got = recv(c->fd, c->buf + c->have, S_ANSWER_MAX - c->have, MSG_DONTWAIT);
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return false; // woken for nothing
    int status = -1, done = -1;
    if (got > 0) {
        c->have += (size_t)got;
        done = s_answer(c->buf, c->have, &status);
    }
    if (done == 0)
        return false;
    *errors += done != 1 || status != 200;
    if (done != 1) {
        close(c->fd);
        c->fd = -1;
    }
    return true;
}

static size_t
s_epoll(const struct s_url *u, char *const *bodies, size_t n, size_t connections)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        return n;
    struct s_conn *conns = fw_calloc(connections, sizeof *conns);
    size_t errors = 0, busy = 0;
    for (size_t c = 0; c < connections; c++) {
        conns[c].fd = -1;
        conns[c].next = c;
        busy += s_conn_send(ep, u, bodies, n, connections, &conns[c], &errors);
    }
    struct epoll_event evs[64];
    while (busy > 0) {
        int ready = epoll_wait(ep, evs, 64, S_WAIT_MS);
        if (ready <= 0) { // no answer for S_WAIT_MS: what is in flight and unsent failed
            for (size_t c = 0; c < connections; c++)
                errors +=
                    conns[c].next < n ? (n - conns[c].next + connections - 1) / connections : 0;
            break;
        }
        for (int i = 0; i < ready; i++) {
            struct s_conn *c = evs[i].data.ptr;
            if (!s_conn_read(c, &errors))
                continue;
            c->next += connections;
            busy -= !s_conn_send(ep, u, bodies, n, connections, c, &errors);
        }
    }
    for (size_t c = 0; c < connections; c++)
        if (conns[c].fd >= 0)
            close(conns[c].fd);
    free(conns);
    close(ep);
    return errors;
}

size_t
alertload_http_post(const char *url, char *const *bodies, size_t n, size_t connections, int epoll)
{
    struct s_url u;
    if (s_url_parse(url, &u) != 0 || connections == 0)
        return n;
    return epoll ? s_epoll(&u, bodies, n, connections) : s_raw(&u, bodies, n, connections);
}
