/*  notify-floor.c — the measuring kit's own share of the first-notification figure.

    notify-floor LISTEN_PORT SINK_PORT

    Stands where alertd and notifyd stand in tools/bench-first-notify.sh, doing nothing but
    the relay: one thread, poll(), on 127.0.0.1. Each alert POST is read whole; when its body
    names a "line" label, a webhook naming that line as its group's label is written to the
    kit's webhook-sink.py on one kept-alive connection, then the POST is answered 200 (the
    order alertd keeps: the NOTIFY leaves before the answer). What am-load.py then measures
    is its own POST, the loopback hops and the Python sink, with no alerting in between.
    The sink connection is made at the first webhook and again after the sink closed it (as
    notifyd's libcurl does), so tools/first-notify-probe.c can take the sink's port after
    the kit's sink stopped. Loopback only; runs until killed. Not built by make:
    tools/bench-first-notify.sh compiles it.
*/
#define _GNU_SOURCE // memmem
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_tcp.h"

#define S_MAX_CONNS 16
#define S_BUF (1u << 20)

struct s_conn {
    int fd;
    size_t len;
    char *buf;
};

static int
s_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

// The sink's answers are read when they come (poll), so a relay never waits for one.
// *sink is connected here when it is not (-1); a failed write closes it and tries once more.
static void
s_forward(int *sink, int sink_port, const char *body, size_t len)
{
    static const char key[] = "\"line\": \"";
    char *at = memmem(body, len, key, sizeof key - 1), *end;
    if (!at)
        return;
    at += sizeof key - 1;
    end = memchr(at, '"', len - (size_t)(at - body));
    if (!end || end - at > 200)
        return;
    char json[512], req[768];
    int jn = snprintf(json, sizeof json,
                      "{\"status\":\"firing\",\"groupKey\":\"floor\",\"groupLabels\":"
                      "{\"line\":\"%.*s\"},\"alerts\":[]}",
                      (int)(end - at), at);
    int rn = snprintf(req, sizeof req,
                      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      "Content-Length: %d\r\n\r\n%s",
                      jn, json);
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*sink < 0)
            *sink = bench_tcp(sink_port, 0);
        if (*sink >= 0 && s_write_all(*sink, req, (size_t)rn) == 0)
            return;
        if (*sink >= 0)
            close(*sink);
        *sink = -1;
    }
    perror("notify-floor: sink");
}

// One whole request at the front of c->buf: handled and taken off; 0 when it is not all in.
static int
s_request(struct s_conn *c, int *sink, int sink_port)
{
    char *hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
    if (!hend)
        return 0;
    size_t head = (size_t)(hend - c->buf) + 4, blen = 0;
    char *cl = memmem(c->buf, head, "Content-Length:", 15);
    if (!cl)
        cl = memmem(c->buf, head, "content-length:", 15);
    if (cl)
        blen = strtoul(cl + 15, NULL, 10);
    if (c->len < head + blen)
        return 0;
    s_forward(sink, sink_port, c->buf + head, blen);
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    if (s_write_all(c->fd, ok, sizeof ok - 1) < 0)
        return -1;
    memmove(c->buf, c->buf + head + blen, c->len - head - blen);
    c->len -= head + blen;
    return 1;
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: notify-floor LISTEN_PORT SINK_PORT\n");
        return 2;
    }
    int lfd = bench_tcp(atoi(argv[1]), 1), sink_port = atoi(argv[2]), sink = -1;
    if (lfd < 0) {
        perror("notify-floor");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); // a sink gone: its write fails and the connection is made again
    struct s_conn conns[S_MAX_CONNS] = {0};
    char scratch[4096];
    for (;;) {
        struct pollfd p[S_MAX_CONNS + 2] = {{.fd = lfd, .events = POLLIN},
                                            {.fd = sink, .events = POLLIN}};
        for (int i = 0; i < S_MAX_CONNS; i++)
            p[i + 2] = (struct pollfd){.fd = conns[i].buf ? conns[i].fd : -1, .events = POLLIN};
        if (poll(p, S_MAX_CONNS + 2, -1) < 0)
            continue;
        if (p[1].revents && read(sink, scratch, sizeof scratch) <= 0) {
            close(sink); // connected again at the next webhook
            sink = -1;
        }
        if (p[0].revents & POLLIN) {
            int fd = accept(lfd, NULL, NULL), one = 1;
            int i = 0;
            while (i < S_MAX_CONNS && conns[i].buf)
                i++;
            if (fd >= 0 && i == S_MAX_CONNS)
                close(fd);
            else if (fd >= 0) {
                (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                conns[i] = (struct s_conn){.fd = fd, .buf = malloc(S_BUF)};
            }
        }
        for (int i = 0; i < S_MAX_CONNS; i++) {
            struct s_conn *c = &conns[i];
            if (!c->buf || !p[i + 2].revents)
                continue;
            ssize_t r = c->len < S_BUF ? read(c->fd, c->buf + c->len, S_BUF - c->len) : 0;
            int rc = 0;
            if (r > 0) {
                c->len += (size_t)r;
                while ((rc = s_request(c, &sink, sink_port)) > 0)
                    ;
            }
            if (r <= 0 || rc < 0) {
                close(c->fd);
                free(c->buf);
                *c = (struct s_conn){0};
            }
        }
    }
}
