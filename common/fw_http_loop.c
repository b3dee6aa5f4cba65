/*  fw_http_loop.c — fw_http served from a daemon's zloop (fw_http_set_loop).

    libmicrohttpd runs without threads of its own (MHD_USE_EPOLL, external polling): its
    epoll descriptor is a poller in the daemon's zloop, and the poller's handler calls
    MHD_run(), which accepts, reads and answers on the loop thread. MHD_get_timeout() after
    each run arms one one-shot timer, so idle keep-alive connections still time out. Routes
    added with fw_http_route_loop() run right there, on the loop: a handler that must not wait
    for the loop to come round (alertd's alert POST, which flushes a due group and sends its
    NOTIFY before it answers). Every other route may block (/-/reload waits for the loop,
    queries read LMDB, renders walk everything), so its handler runs on a thread of its own,
    started per request as libmicrohttpd's thread-per-connection mode would have, with the
    connection suspended meanwhile (MHD_suspend_connection); the thread then resumes it, and
    the next MHD_run() calls the access handler again, which sends the stored answer
    (fw_http_loop_answer). libmicrohttpd must not stop with a connection suspended, so
    fw_http_loop_detach() first waits until no handler thread runs.
*/
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fw_http_int.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"

#define S_TIMER_MAX_MS 1000 // MHD_run() at least once a second (connection timeouts)

static void s_arm(fw_http_t *self);

// Extra MHD_run() calls one loop turn may make (s_run).
#define S_RERUNS_MAX 2

// MHD_run(), then again while it accepted a connection and libmicrohttpd's epoll descriptor
// is readable at once: a run accepts a new connection and adds it to that epoll set, but
// reads it only in the next run, which came a loop turn later, though a new client's request
// (am-load.py's and Prometheus's POSTs on a fresh connection) is usually in with the
// connection. A run that accepted none does not look again: on a kept-alive connection
// (alertload's, Prometheus's) that poll() found nothing after nearly every request, one
// system call of the six a single-alert POST cost on the loop (check_alertd_daemon
// post_keepalive_syscalls); whatever came meanwhile wakes the loop's own poll at once. At
// most S_RERUNS_MAX more runs, so a busy server cannot hold the loop.
static void
s_run(fw_http_t *self)
{
    uint_fast64_t seen = atomic_load(&self->accepted);
    MHD_run(self->mhd);
    for (int i = 0; i < S_RERUNS_MAX; i++) {
        uint_fast64_t now = atomic_load(&self->accepted);
        if (now == seen)
            break;
        seen = now;
        struct pollfd p = {.fd = self->poll_item.fd, .events = POLLIN};
        self->run_polls++;
        if (poll(&p, 1, 0) != 1)
            break;
        MHD_run(self->mhd);
    }
}

static int
s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    fw_http_t *self = arg;
    self->timer = -1;
    s_run(self);
    s_arm(self);
    return 0;
}

static int
s_on_epoll(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    fw_http_t *self = arg;
    s_run(self);
    s_arm(self);
    return 0;
}

// A handler thread resumed its connection. libmicrohttpd signals nothing to an external
// loop on resume, so the thread rings this eventfd, and MHD_run() takes the connection back.
static int
s_on_resumed(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    fw_http_t *self = arg;
    uint64_t n;
    if (read(item->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
        fw_warn("http.resume.fail", "err=\"%s\"", strerror(errno));
    s_run(self);
    s_arm(self);
    return 0;
}

// One one-shot timer for libmicrohttpd's next timeout (0: data it already holds), at most
// S_TIMER_MAX_MS away. A timer armed for no later than that stays: re-arming on every run
// would cost a timer's allocation per request, and an early run only re-arms.
static void
s_arm(fw_http_t *self)
{
    MHD_UNSIGNED_LONG_LONG ms = S_TIMER_MAX_MS;
    if (MHD_get_timeout(self->mhd, &ms) != MHD_YES || ms > S_TIMER_MAX_MS)
        ms = S_TIMER_MAX_MS;
    int64_t at = zclock_mono() + (int64_t)ms;
    if (self->timer >= 0 && self->timer_at <= at)
        return;
    if (self->timer >= 0)
        zloop_timer_end(self->loop, self->timer);
    self->timer = zloop_timer(self->loop, (size_t)ms, 1, s_on_timer, self);
    self->timer_at = at;
}

int
fw_http_loop_attach(fw_http_t *self, fw_err_t *err)
{
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || info->epoll_fd < 0) {
        fw_err_set(err, "http: libmicrohttpd has no epoll descriptor");
        return -1;
    }
    memset(&self->poll_item, 0, sizeof(self->poll_item));
    self->poll_item.fd = info->epoll_fd;
    self->poll_item.events = ZMQ_POLLIN;
    if (zloop_poller(self->loop, &self->poll_item, s_on_epoll, self) < 0) {
        fw_err_set(err, "http: cannot poll libmicrohttpd from the loop");
        return -1;
    }
    self->resume_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    memset(&self->resume_item, 0, sizeof(self->resume_item));
    self->resume_item.fd = self->resume_fd;
    self->resume_item.events = ZMQ_POLLIN;
    if (self->resume_fd < 0 ||
        zloop_poller(self->loop, &self->resume_item, s_on_resumed, self) < 0) {
        fw_err_set(err, "http: cannot poll resumed connections from the loop");
        zloop_poller_end(self->loop, &self->poll_item);
        if (self->resume_fd >= 0)
            close(self->resume_fd);
        self->resume_fd = -1;
        return -1;
    }
    s_arm(self);
    return 0;
}

void
fw_http_loop_detach(fw_http_t *self)
{
    pthread_mutex_lock(&self->lock);
    while (self->workers > 0)
        pthread_cond_wait(&self->cond, &self->lock);
    pthread_mutex_unlock(&self->lock);
    zloop_poller_end(self->loop, &self->poll_item);
    zloop_poller_end(self->loop, &self->resume_item);
    close(self->resume_fd);
    self->resume_fd = -1;
    if (self->timer >= 0)
        zloop_timer_end(self->loop, self->timer);
    self->timer = -1;
    self->on_loop = false;
}

// Wake the loop for a resumed connection (s_on_resumed).
static void
s_ring(fw_http_t *self)
{
    uint64_t one = 1;
    if (write(self->resume_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        fw_warn("http.resume.fail", "err=\"%s\"", strerror(errno));
}

// Hands a request's answer back to the loop: marks it done, resumes its connection, rings
// the loop and counts the worker out. Under the lock: fw_http_loop_detach must not see no
// workers while one still is to resume its connection.
static void
s_worker_done(fw_http_t *self, fw_http_request_t *req)
{
    pthread_mutex_lock(&self->lock);
    atomic_store(&req->done, true);
    MHD_resume_connection(req->conn);
    s_ring(self);
    self->workers--;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

static void *
s_worker(void *arg)
{
    fw_http_request_t *req = arg;
    fw_http_t *self = req->http;
    const struct fw_http_route *route = req->route;
    if (route->fn(req, &req->resp, route->arg) != 0) {
        if (req->resp.stream && req->resp.stream_free)
            req->resp.stream_free(req->resp.stream_arg);
        req->resp.stream = NULL;
        fw_http_respond(&req->resp, 500, NULL, "internal server error\n");
    }
    s_worker_done(self, req);
    return NULL;
}

enum MHD_Result
fw_http_loop_offload(fw_http_request_t *req, const struct fw_http_route *route)
{
    fw_http_t *self = req->http;
    req->route = route;
    req->resp.status = 200;
    MHD_suspend_connection(req->conn);
    pthread_mutex_lock(&self->lock);
    self->workers++;
    pthread_mutex_unlock(&self->lock);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, FW_HTTP_THREAD_STACK);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int rc = fw_thread_create(&t, &attr, s_worker, req);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fw_warn("http.thread.fail", "path=%s err=\"%s\"", req->path, strerror(rc));
        fw_http_respond(&req->resp, 503, NULL, "Service Unavailable: no thread for the request\n");
        s_worker_done(self, req);
    }
    return MHD_YES;
}

enum MHD_Result
fw_http_loop_answer(fw_http_request_t *req)
{
    struct fw_http_response resp = req->resp;
    memset(&req->resp, 0, sizeof(req->resp)); // fw_http_send owns the body from here
    return fw_http_send(req, req->route->path, &resp, NULL);
}
