/*  first-notify-probe.c — item 9's first notification, timed in C with kernel timestamps.

    first-notify-probe POST_PORT SINK_PORT PROBES [GROUP_WAIT_MS]

    Both ends of the measurement without the kit's Python: this process POSTs one alert that
    opens a new group to 127.0.0.1:POST_PORT (alertd, or tools/notify-floor.c) on one
    kept-alive connection, and is itself the webhook receiver on 127.0.0.1:SINK_PORT. Each
    probe's figure is (webhook's first byte received - POST's last byte sent - GROUP_WAIT_MS):
    the send side is the kernel's software transmit timestamp of the POST's last byte
    (SO_TIMESTAMPING, SOF_TIMESTAMPING_TX_SOFTWARE: taken as loopback takes the segment), the
    receive side the kernel's timestamp of the segment holding the webhook's first byte
    (SO_TIMESTAMPNS on the sink, read with a 1-byte recvmsg). Beside it the same difference
    from CLOCK_MONOTONIC read just before send() and right after that recvmsg returns (what a
    user-space probe sees: it adds this process's wake-up). Neither side includes a Python
    interpreter, so what is left is the two loopback hops and what stands between them.
    The first 3 probes warm the path (notifyd's connection to the sink) and are not counted.
    Each probe waits for its webhook and the POST's answer (at most 5 s), then 50 ms, as the
    kit's am-load.py does. Prints one JSON line, figures in ms:
      {"probes":N,"delivered":K,"stamps":"kernel","med":..,"p90":..,"min":..,"max":..,
       "user_med":..,"user_p90":..,"user_min":..}
    Loopback only. Not built by make: tools/bench-first-notify.sh compiles it.
*/
#define _GNU_SOURCE // memmem
#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/net_tstamp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_tcp.h"

#define S_WARMUP 3
#define S_MAX_CONNS 8
#define S_BUF 65536

struct s_conn {
    int fd;
    size_t len;
    int64_t k_first, u_first; // stamps of the first byte of the request in buf (ns)
    char buf[S_BUF];
};

static int64_t
s_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t
s_ts_ns(const struct timespec *ts)
{
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

// The POST connection, with transmit timestamps of each send's last byte on its error queue.
static int
s_client(int port)
{
    int fd = bench_tcp(port, 0);
    unsigned flags = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
                     SOF_TIMESTAMPING_OPT_ID | SOF_TIMESTAMPING_OPT_TSONLY;
    if (fd >= 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &flags, sizeof flags);
    return fd;
}

// The kernel's transmit stamp of the last send, or 0 when none is queued (yet).
static int64_t
s_tx_stamp(int fd)
{
    char ctl[512], data[64];
    int64_t at = 0;
    for (int i = 0; i < 16; i++) { // bounded: one stamp a send, older ones drained
        struct iovec iov = {data, sizeof data};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
        if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
            break;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPING) {
                struct scm_timestamping t;
                memcpy(&t, CMSG_DATA(c), sizeof t);
                at = s_ts_ns(&t.ts[0]);
            }
    }
    return at;
}

// Read what a sink connection has; the first byte of a request alone, for its stamp.
// Returns the bytes read, 0 at EOF, -1 on error.
static ssize_t
s_sink_read(struct s_conn *c)
{
    if (c->len == 0) {
        char ctl[256];
        struct iovec iov = {c->buf, 1};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
        ssize_t r = recvmsg(c->fd, &m, MSG_DONTWAIT);
        if (r <= 0)
            return r;
        c->u_first = s_ns(CLOCK_MONOTONIC);
        c->k_first = 0;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h))
            if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
                struct timespec ts;
                memcpy(&ts, CMSG_DATA(h), sizeof ts);
                c->k_first = s_ts_ns(&ts);
            }
        c->len = 1;
    }
    ssize_t r = recv(c->fd, c->buf + c->len, S_BUF - c->len, MSG_DONTWAIT);
    if (r < 0 && errno == EAGAIN)
        return 1;
    if (r > 0)
        c->len += (size_t)r;
    return r;
}

// Length of the whole HTTP message at the front of buf, 0 when it is not all in.
static size_t
s_message_len(const char *buf, size_t len)
{
    const char *hend = memmem(buf, len, "\r\n\r\n", 4);
    if (!hend)
        return 0;
    size_t head = (size_t)(hend - buf) + 4, blen = 0;
    for (const char *p = buf; p && p < hend; p = memchr(p, '\n', (size_t)(hend - p))) {
        p += *p == '\n';
        if (strncasecmp(p, "content-length:", 15) == 0)
            blen = strtoul(p + 15, NULL, 10);
    }
    return len >= head + blen ? head + blen : 0;
}

static int
s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double
s_pct(double *v, int n, double p)
{
    return v[(int)((n - 1) * p + 0.5)];
}

int
main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: first-notify-probe POST_PORT SINK_PORT PROBES [GROUP_WAIT_MS]\n");
        return 2;
    }
    int post_port = atoi(argv[1]), probes = atoi(argv[3]), one = 1;
    double gw_ms = argc > 4 ? atof(argv[4]) : 0;
    if (probes < 1 || probes > 1000) {
        fprintf(stderr, "first-notify-probe: PROBES 1-1000\n");
        return 2;
    }
    int lfd = bench_tcp(atoi(argv[2]), 1), cfd = s_client(post_port);
    if (lfd < 0 || cfd < 0) {
        perror("first-notify-probe");
        return 1;
    }
    (void)setsockopt(lfd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one); // accepted inherit
    static struct s_conn conns[S_MAX_CONNS], answer;
    for (int i = 0; i < S_MAX_CONNS; i++)
        conns[i].fd = -1;
    double *k = calloc((size_t)probes, sizeof *k), *u = calloc((size_t)probes, sizeof *u);
    int nk = 0, nu = 0, delivered = 0, total = probes + S_WARMUP;
    // Each run's groups are new: pid ^ time repeated often (pid + 1 and time + 1 both even
    // before), and a repeated group was not notified again, so a whole round timed out.
    long run = (long)time(NULL) * 4194304L + (long)getpid(); // 4194304: Linux's pid_max
    for (int p = 0; p < total; p++) {
        char body[512], req[1024], iso[80], sec[32];
        // startsAt to the microsecond: one a second old would be past a short group_wait,
        // which alertd (as Alertmanager) then does not wait for.
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", gmtime_r(&now.tv_sec, &tm));
        snprintf(iso, sizeof iso, "%s.%06ldZ", sec, now.tv_nsec / 1000);
        int bn = snprintf(body, sizeof body,
                          "[{\"labels\": {\"alertname\": \"LatencyProbe\", \"line\": "
                          "\"cprobe-%ld-%d\", \"severity\": \"info\"}, \"annotations\": "
                          "{\"summary\": \"probe\"}, \"startsAt\": \"%s\"}]",
                          run, p, iso);
        int rn = snprintf(req, sizeof req,
                          "POST /api/v2/alerts HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                          "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                          post_port, bn, body);
        (void)s_tx_stamp(cfd); // drop stale stamps
        int64_t u_send = s_ns(CLOCK_MONOTONIC);
        if (send(cfd, req, (size_t)rn, MSG_NOSIGNAL) != rn) {
            perror("first-notify-probe: POST");
            return 1;
        }
        int64_t k_send = s_tx_stamp(cfd), k_arr = 0, u_arr = 0;
        bool got = false, answered = false;
        char want[64];
        int wn = snprintf(want, sizeof want, "cprobe-%ld-%d\"", run, p);
        int64_t deadline = s_ns(CLOCK_MONOTONIC) + 5000000000LL, settle = 0;
        for (;;) { // bounded by the deadline, then by the 50 ms settle
            int64_t t = s_ns(CLOCK_MONOTONIC);
            if (!settle && ((got && answered) || t >= deadline))
                settle = t + 50000000LL;
            if (settle && t >= settle)
                break;
            struct pollfd pf[S_MAX_CONNS + 2] = {{.fd = lfd, .events = POLLIN},
                                                 {.fd = cfd, .events = POLLIN}};
            for (int i = 0; i < S_MAX_CONNS; i++)
                pf[i + 2] = (struct pollfd){.fd = conns[i].fd, .events = POLLIN};
            int64_t until = settle ? settle : deadline;
            (void)poll(pf, S_MAX_CONNS + 2, (int)((until - t) / 1000000 + 1));
            if (!k_send)
                k_send = s_tx_stamp(cfd);
            if (pf[0].revents & POLLIN) {
                int fd = accept(lfd, NULL, NULL), i = 0;
                while (i < S_MAX_CONNS && conns[i].fd >= 0)
                    i++;
                if (fd >= 0 && i == S_MAX_CONNS)
                    close(fd);
                else if (fd >= 0)
                    conns[i].fd = fd, conns[i].len = 0;
            }
            if (pf[1].revents & POLLIN) {
                ssize_t r = recv(cfd, answer.buf + answer.len, S_BUF - answer.len, 0);
                if (r <= 0) {
                    fprintf(stderr, "first-notify-probe: the POST's peer closed\n");
                    return 1;
                }
                answer.len += (size_t)r;
                size_t n = s_message_len(answer.buf, answer.len);
                if (n) {
                    if (strncmp(answer.buf, "HTTP/1.1 200", 12) != 0)
                        fprintf(stderr, "first-notify-probe: %.40s\n", answer.buf);
                    answered = true;
                    memmove(answer.buf, answer.buf + n, answer.len - n);
                    answer.len -= n;
                }
            }
            for (int i = 0; i < S_MAX_CONNS; i++) {
                struct s_conn *c = &conns[i];
                if (c->fd < 0 || !pf[i + 2].revents)
                    continue;
                ssize_t r = s_sink_read(c);
                size_t n;
                while (r > 0 && (n = s_message_len(c->buf, c->len)) > 0) {
                    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
                    if (memmem(c->buf, n, want, (size_t)wn)) {
                        got = true;
                        k_arr = c->k_first;
                        u_arr = c->u_first;
                    }
                    (void)send(c->fd, ok, sizeof ok - 1, MSG_NOSIGNAL);
                    memmove(c->buf, c->buf + n, c->len - n);
                    c->len -= n; // a pipelined next request keeps no stamp of its own
                }
                if (r <= 0) {
                    close(c->fd);
                    c->fd = -1;
                }
            }
        }
        if (p < S_WARMUP || !got)
            continue;
        delivered++;
        if (k_send && k_arr)
            k[nk++] = (double)(k_arr - k_send) / 1e6 - gw_ms;
        u[nu++] = (double)(u_arr - u_send) / 1e6 - gw_ms;
    }
    if (delivered == 0) {
        printf("{\"probes\":%d,\"delivered\":0}\n", probes);
        return 1;
    }
    qsort(k, (size_t)nk, sizeof *k, s_cmp);
    qsort(u, (size_t)nu, sizeof *u, s_cmp);
    printf("{\"probes\":%d,\"delivered\":%d,\"stamps\":\"%s\"", probes, delivered,
           nk == delivered ? "kernel" : "user");
    double *v = nk == delivered ? k : u;
    int n = nk == delivered ? nk : nu;
    printf(",\"med\":%.3f,\"p90\":%.3f,\"min\":%.3f,\"max\":%.3f", s_pct(v, n, 0.5),
           s_pct(v, n, 0.9), v[0], v[n - 1]);
    printf(",\"user_med\":%.3f,\"user_p90\":%.3f,\"user_min\":%.3f}\n", s_pct(u, nu, 0.5),
           s_pct(u, nu, 0.9), u[0]);
    return 0;
}
