/*  fw_zsock.c — socket roles, the loop runner, receive-with-reject and the oversize guard
    (see fw_zsock.h).
*/
#include "fw_zsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <unistd.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_time.h"

#define S_LOG_EVERY_MS 10000 // one msg.reject type=oversize line per socket per 10 s
#define S_CLOSE_WAIT_US 5000 // how long to wait for libzmq to close a dropped descriptor

int
fw_zsock_set_max_msg_size(zsock_t *sock, int64_t max_msg_size)
{
    // Options that were zeroed rather than parsed get the flag's default, written once.
    if (max_msg_size <= 0 && fw_size_parse(FW_FLAGS_ZMQ_MAX_MSG_SIZE, &max_msg_size) < 0)
        return -1;
    return zmq_setsockopt(zsock_resolve(sock), ZMQ_MAXMSGSIZE, &max_msg_size, sizeof(max_msg_size));
}

static zsock_t *
s_new(int type, const char *endpoint, bool bind, int64_t max_msg_size, fw_err_t *err)
{
    zsock_t *s = zsock_new(type);
    if (!s) {
        fw_err_set(err, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    if (fw_zsock_set_max_msg_size(s, max_msg_size) < 0) {
        fw_err_set(err, "invalid ZeroMQ message size limit %lld", (long long)max_msg_size);
        zsock_destroy(&s);
        return NULL;
    }
    if (!endpoint || zsock_attach(s, endpoint, bind) < 0) {
        fw_err_set(err, "cannot %s %s: %s", bind ? "bind" : "connect",
                   endpoint ? endpoint : "(none)", zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
    }
    return s;
}

int64_t
fw_zsock_max_msg_size(zsock_t *sock)
{
    int64_t limit = -1;
    size_t len = sizeof(limit);
    if (zmq_getsockopt(zsock_resolve(sock), ZMQ_MAXMSGSIZE, &limit, &len) < 0)
        return -1;
    return limit;
}

bool
fw_zsock_fits(zsock_t *sock, zmsg_t *frames, size_t *largest)
{
    int64_t limit = fw_zsock_max_msg_size(sock);
    size_t max = 0;
    for (zframe_t *f = zmsg_first(frames); f; f = zmsg_next(frames))
        if (zframe_size(f) > max)
            max = zframe_size(f);
    if (largest)
        *largest = max;
    return limit < 0 || (uint64_t)max <= (uint64_t)limit;
}

zsock_t *
fw_zsock_push(const char *endpoint, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_PUSH, endpoint, false, FW_ZSOCK_SEND_ONLY_MAX_MSG, err);
    if (s) {
        zsock_set_sndhwm(s, FW_ZSOCK_HWM);
        zsock_set_sndtimeo(s, 0);
        zsock_set_linger(s, FW_ZSOCK_LINGER_MS);
    }
    return s;
}

zsock_t *
fw_zsock_pull(const char *endpoint, int64_t max_msg_size, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_PULL, endpoint, true, max_msg_size, err);
    if (s)
        zsock_set_rcvhwm(s, FW_ZSOCK_HWM);
    return s;
}

zsock_t *
fw_zsock_pub(const char *endpoint, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_PUB, endpoint, true, FW_ZSOCK_SEND_ONLY_MAX_MSG, err);
    if (s) {
        zsock_set_sndhwm(s, FW_ZSOCK_HWM);
        zsock_set_sndtimeo(s, 0);
        zsock_set_linger(s, 0);
    }
    return s;
}

zsock_t *
fw_zsock_xpub(const char *endpoint, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_XPUB, endpoint, true, FW_ZSOCK_SEND_ONLY_MAX_MSG, err);
    if (s) {
        zsock_set_sndhwm(s, FW_ZSOCK_HWM);
        zsock_set_sndtimeo(s, 0);
        zsock_set_linger(s, 0);
    }
    return s;
}

void
fw_zsock_topics_read(zsock_t *xpub, struct fw_zsock_topics *t)
{
    zframe_t *f = zframe_recv(xpub);
    if (!f)
        return;
    const char *d = (const char *)zframe_data(f);
    size_t len = zframe_size(f);
    if (len >= 1 && (d[0] == 0 || d[0] == 1)) {
        bool subscribe = d[0] == 1;
        size_t k = 0;
        while (k < t->n &&
               !(strlen(t->items[k]) == len - 1 && memcmp(t->items[k], d + 1, len - 1) == 0))
            k++;
        if (subscribe && k == t->n) {
            if (t->n < FW_ZSOCK_TOPICS_MAX) {
                t->items[t->n] = fw_malloc(len);
                memcpy(t->items[t->n], d + 1, len - 1);
                t->items[t->n][len - 1] = '\0';
                t->n++;
            } else {
                t->overflow = true;
            }
        } else if (!subscribe && k < t->n) {
            free(t->items[k]);
            t->items[k] = t->items[--t->n];
        }
    }
    zframe_destroy(&f);
}

bool
fw_zsock_topics_want(const struct fw_zsock_topics *t, const char *type)
{
    if (t->overflow)
        return true;
    for (size_t k = 0; k < t->n; k++)
        if (strncmp(type, t->items[k], strlen(t->items[k])) == 0)
            return true;
    return false;
}

void
fw_zsock_topics_clear(struct fw_zsock_topics *t)
{
    for (size_t k = 0; k < t->n; k++)
        free(t->items[k]);
    memset(t, 0, sizeof(*t));
}

zsock_t *
fw_zsock_router(const char *endpoint, int64_t max_msg_size, fw_err_t *err)
{
    zsock_t *s = s_new(ZMQ_ROUTER, endpoint, true, max_msg_size, err);
    if (s)
        zsock_set_sndtimeo(s, 1000); // a vanished client must not stall the loop for long
    return s;
}

zsock_t *
fw_zsock_dealer(const char *endpoint, fw_err_t *err)
{
    return fw_zsock_dealer_sized(endpoint, FW_ZSOCK_SEND_ONLY_MAX_MSG, err);
}

zsock_t *
fw_zsock_dealer_sized(const char *endpoint, int64_t max_msg_size, fw_err_t *err)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    if (!s) {
        fw_err_set(err, "cannot create a ZeroMQ socket: %s", zmq_strerror(zmq_errno()));
        return NULL;
    }
    // Options before connecting: ZMQ_IMMEDIATE applies to connections made afterwards.
    zsock_set_immediate(s, 1);
    zsock_set_sndhwm(s, FW_ZSOCK_HWM);
    zsock_set_sndtimeo(s, 0);
    zsock_set_linger(s, 0);
    if (fw_zsock_set_max_msg_size(s, max_msg_size) < 0 || !endpoint ||
        zsock_attach(s, endpoint, false) < 0) {
        fw_err_set(err, "cannot connect %s: %s", endpoint ? endpoint : "(none)",
                   zmq_strerror(zmq_errno()));
        zsock_destroy(&s);
    }
    return s;
}

int
fw_zloop_run(zloop_t *loop)
{
    int rc;
    do
        rc = zloop_start(loop);
    while (rc == 0 && !zsys_interrupted);
    return rc == 0 ? 0 : -1;
}

void
fw_zsock_declare_metrics(fw_metrics_t *metrics)
{
    fw_metrics_declare(metrics, "fw_msg_rejected_total", FW_METRIC_COUNTER,
                       "Messages rejected by the decoder or of an unexpected type, by type; "
                       "type=\"oversize\" counts peers disconnected for a message part over "
                       "--zmq.max-msg-size.");
}

void
fw_zsock_reject(fw_metrics_t *metrics, const char *type, const char *why)
{
    char labels[64];
    snprintf(labels, sizeof(labels), "type=\"%s\"", type);
    if (metrics)
        fw_metrics_add(metrics, "fw_msg_rejected_total", labels, 1);
    fw_warn("msg.reject", "type=%s err=%s", type, why);
}

int
fw_zsock_recv(zsock_t *sock, fw_msg_type_t want, fw_metrics_t *metrics, struct fw_msg **out)
{
    *out = NULL;
    zmsg_t *frames = zmsg_recv(sock);
    if (!frames)
        return -1; // interrupted: nothing to reject
    return fw_zsock_decode(&frames, want, metrics, out);
}

int
fw_zsock_decode(zmsg_t **frames_p, fw_msg_type_t want, fw_metrics_t *metrics, struct fw_msg **out)
{
    *out = NULL;
    zmsg_t *frames = *frames_p;
    // Label the rejection with the type token when it names a known type, so a bad SAMPLES
    // batch counts as type="SAMPLES"; anything else is "unknown".
    const char *label = "unknown";
    char token[32] = "";
    zframe_t *first = zmsg_first(frames);
    fw_msg_type_t type;
    if (first && zframe_size(first) < sizeof(token)) {
        memcpy(token, zframe_data(first), zframe_size(first));
        token[zframe_size(first)] = '\0';
        if (fw_msg_type_parse(token, &type) == 0)
            label = token;
    }
    fw_err_t err;
    fw_err_clear(&err);
    int rc = fw_msg_decode(frames, out, &err);
    zmsg_destroy(frames_p);
    if (rc < 0) {
        fw_zsock_reject(metrics, label, err.msg);
        return -1;
    }
    if ((*out)->type != want) {
        fw_zsock_reject(metrics, label, "unexpected message type");
        fw_msg_destroy(out);
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
//  Oversize guard: an actor that reads the monitor's events as they come

struct s_conn {
    int fd;  // libzmq's descriptor number, as the events name it
    int dup; // owned: our duplicate, which outlives libzmq's close
};

// The actor's state; it owns everything here once started.
struct s_watch {
    zsock_t *events;       // owned: PAIR connected to the monitor
    char *name;            // owned
    fw_metrics_t *metrics; // borrowed, may be NULL
    int64_t limit;         // the watched socket's ZMQ_MAXMSGSIZE, for the log
    struct s_conn *conns;  // owned: open connections
    size_t n_conns, cap_conns;
    bool after_handshake_failure; // the last event was a failed handshake
    uint64_t unlogged;            // oversize drops not logged yet (rate limit)
    int64_t last_log_ms;
};

struct fw_zsock_guard {
    zsock_t *sock;   // borrowed: the watched socket
    zactor_t *actor; // owned: runs s_guard_actor over a struct s_watch
    bool ended;      // the actor's exit signal was read here: its thread is gone
};

// The port of a tcp endpoint such as "tcp://127.0.0.1:5560".
static bool
s_endpoint_port(const char *endpoint, int *port)
{
    if (strncmp(endpoint, "tcp://", 6) != 0)
        return false;
    const char *colon = strrchr(endpoint, ':');
    char *end;
    long p = colon ? strtol(colon + 1, &end, 10) : -1;
    if (!colon || end == colon + 1 || *end || p <= 0 || p > 65535)
        return false;
    *port = (int)p;
    return true;
}

// Is fd a connected stream socket of endpoint? Its local address (accepted) or its peer's
// (connected) must carry the endpoint's port or path. This catches a descriptor number
// that libzmq closed and the process reused before the event reached us.
static bool
s_fd_is_endpoint(int fd, const char *endpoint, bool accepted)
{
    struct stat st;
    int listening = 1, type = 0;
    socklen_t ilen = sizeof(int), tlen = sizeof(int);
    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode) ||
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ilen) < 0 || listening ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 || type != SOCK_STREAM)
        return false;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    int rc = accepted ? getsockname(fd, (struct sockaddr *)&ss, &len)
                      : getpeername(fd, (struct sockaddr *)&ss, &len);
    if (rc < 0)
        return false;
    int port;
    if (ss.ss_family == AF_INET && s_endpoint_port(endpoint, &port))
        return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
    if (ss.ss_family == AF_INET6 && s_endpoint_port(endpoint, &port))
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port;
    if (ss.ss_family == AF_UNIX && strncmp(endpoint, "ipc://", 6) == 0) {
        const char *path = endpoint + 6;
        const struct sockaddr_un *un = (const struct sockaddr_un *)&ss;
        if (*path == '@') // abstract namespace: a leading NUL on the wire
            return un->sun_path[0] == '\0' &&
                   strncmp(un->sun_path + 1, path + 1, sizeof(un->sun_path) - 1) == 0;
        return strncmp(un->sun_path, path, sizeof(un->sun_path)) == 0;
    }
    return false;
}

static bool
s_same_file(int a, int b)
{
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static struct s_conn *
s_conn_find(struct s_watch *w, int fd)
{
    for (size_t i = 0; i < w->n_conns; i++)
        if (w->conns[i].fd == fd)
            return &w->conns[i];
    return NULL;
}

static void
s_conn_remove(struct s_watch *w, struct s_conn *c)
{
    close(c->dup);
    *c = w->conns[--w->n_conns];
}

static void
s_on_open(struct s_watch *w, int fd, const char *endpoint, bool accepted)
{
    struct s_conn *old = s_conn_find(w, fd);
    if (old) // its DISCONNECTED never came: the number was reused
        s_conn_remove(w, old);
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup < 0)
        return;
    if (!s_fd_is_endpoint(dup, endpoint, accepted)) {
        close(dup); // gone already: nothing to judge later
        return;
    }
    fw_mem_grow((void **)&w->conns, &w->cap_conns, w->n_conns + 1, sizeof(*w->conns));
    w->conns[w->n_conns++] = (struct s_conn){fd, dup};
}

// Did libzmq hang up on a peer that was still talking? Our duplicate keeps the connection
// alive past libzmq's close: end-of-file or a reset means the peer left by itself; data
// still unread, or an open and idle peer, means libzmq left (a protocol error: in practice
// a frame over ZMQ_MAXMSGSIZE).
static bool
s_dropped_by_libzmq(const struct s_conn *c)
{
    // libzmq closes its descriptor right after sending the event; until then the number
    // still names our connection. If it still does after a moment, our duplicate is of a
    // later connection that reused the number: no verdict.
    for (int waited = 0; s_same_file(c->fd, c->dup); waited += 500) {
        if (waited >= S_CLOSE_WAIT_US)
            return false;
        usleep(500);
    }
    char byte;
    ssize_t n = recv(c->dup, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
}

static void
s_count_oversize(struct s_watch *w, const char *endpoint)
{
    w->unlogged++;
    if (w->metrics)
        fw_metrics_add(w->metrics, "fw_msg_rejected_total", "type=\"oversize\"", 1);
    int64_t now = fw_time_mono_ms();
    if (w->last_log_ms && now - w->last_log_ms < S_LOG_EVERY_MS)
        return;
    fw_warn("msg.reject", "type=oversize socket=%s endpoint=%s limit=%lld count=%llu err=%s",
            w->name, endpoint, (long long)w->limit, (unsigned long long)w->unlogged,
            "a message part exceeded --zmq.max-msg-size; the peer was disconnected");
    w->last_log_ms = now;
    w->unlogged = 0;
}

// Handle every event waiting; returns how many were drops for an oversized message.
static int
s_watch_read(struct s_watch *w)
{
    int dropped = 0;
    while (zsock_events(w->events) & ZMQ_POLLIN) {
        zmsg_t *m = zmsg_recv(w->events);
        if (!m)
            break;
        // libzmq 4.3 monitor events: [u16 event, u32 value][endpoint]
        zframe_t *head = zmsg_first(m);
        char *endpoint = zmsg_size(m) == 2 ? zframe_strdup(zmsg_next(m)) : NULL;
        if (!endpoint || zframe_size(head) != 6) {
            free(endpoint);
            zmsg_destroy(&m);
            continue;
        }
        uint16_t event;
        uint32_t value;
        memcpy(&event, zframe_data(head), sizeof(event));
        memcpy(&value, zframe_data(head) + sizeof(event), sizeof(value));
        struct s_conn *c;
        switch (event) {
        case ZMQ_EVENT_ACCEPTED:
        case ZMQ_EVENT_CONNECTED:
            s_on_open(w, (int)value, endpoint, event == ZMQ_EVENT_ACCEPTED);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            // A failed handshake is reported just before its disconnect: not our business.
            if ((c = s_conn_find(w, (int)value))) {
                if (!w->after_handshake_failure && s_dropped_by_libzmq(c)) {
                    s_count_oversize(w, endpoint);
                    dropped++;
                }
                s_conn_remove(w, c);
            }
            break;
        default: break;
        }
        w->after_handshake_failure = event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
                                     event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                                     event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
        free(endpoint);
        zmsg_destroy(&m);
    }
    return dropped;
}

static void
s_watch_destroy(struct s_watch **w_p)
{
    struct s_watch *w = *w_p;
    if (!w)
        return;
    zsock_destroy(&w->events);
    for (size_t i = 0; i < w->n_conns; i++)
        close(w->conns[i].dup);
    free(w->conns);
    free(w->name);
    free(w);
    *w_p = NULL;
}

// The actor: reads events the moment they come, so that it duplicates a connection's
// descriptor while the connection is still open, whatever the owner's loop is busy with.
// Tells the owner "DROPPED" per oversize drop (never waiting: an owner that only counts
// does not read them, and the pipe just stays full), answers "SYNC" with "SYNCED" once
// every event already queued is handled, and ends on "$TERM" (or when the ZeroMQ context
// is terminated). Its thread blocks the daemon's signals (fw_thread_actor_new); should one
// still interrupt the poll, czmq 4.2.1's zpoller reports "terminated" even in nonstop mode
// (any -1 from zmq_poll): EINTR means poll again.
static void
s_guard_actor(zsock_t *pipe, void *arg)
{
    struct s_watch *w = arg;
    zpoller_t *poller = zpoller_new(pipe, w->events, NULL);
    zpoller_set_nonstop(poller, true); // signals are the owner's business; only $TERM ends us
    zsock_set_sndtimeo(pipe, 0);
    zsock_signal(pipe, 0);
    bool done = false;
    while (!done) {
        void *ready = zpoller_wait(poller, -1);
        if (ready == w->events) {
            for (int n = s_watch_read(w); n > 0; n--)
                zstr_send(pipe, "DROPPED");
        } else if (ready == pipe) {
            char *cmd = zstr_recv(pipe);
            done = !cmd || strcmp(cmd, "$TERM") == 0;
            if (cmd && strcmp(cmd, "SYNC") == 0) {
                for (int n = s_watch_read(w); n > 0; n--)
                    zstr_send(pipe, "DROPPED");
                zstr_send(pipe, "SYNCED");
            }
            free(cmd);
        } else if (zpoller_terminated(poller)) {
            done = zmq_errno() != EINTR;
        }
    }
    zpoller_destroy(&poller);
    s_watch_destroy(&w);
}

fw_zsock_guard_t *
fw_zsock_guard_new(zsock_t *sock, const char *name, fw_metrics_t *metrics)
{
    struct s_watch *w = fw_calloc(1, sizeof(*w));
    w->name = fw_strdup(name);
    w->metrics = metrics;
    w->limit = fw_zsock_max_msg_size(sock);
    char ep[96];
    snprintf(ep, sizeof(ep), "inproc://fw-zsock-guard-%p-%lld", (void *)w,
             (long long)zclock_usecs());
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(zsock_resolve(sock), ep, events) < 0 ||
        !(w->events = zsock_new(ZMQ_PAIR)) || zsock_connect(w->events, "%s", ep) < 0) {
        fw_error("zmq.monitor.fail", "socket=%s err=%s", name, zmq_strerror(zmq_errno()));
        zmq_socket_monitor(zsock_resolve(sock), NULL, 0);
        s_watch_destroy(&w);
        return NULL;
    }
    fw_zsock_guard_t *self = fw_calloc(1, sizeof(*self));
    self->sock = sock;
    self->actor = fw_thread_actor_new(s_guard_actor, w); // the actor owns w now
    return self;
}

void
fw_zsock_guard_destroy(fw_zsock_guard_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_zsock_guard_t *self = *self_p;
    // Monitor first: libzmq sends events blocking, from its I/O thread, so once the actor
    // stopped reading, one more event would hang that thread. Then take the drops nobody
    // read, so that the actor's last signal finds room in the pipe.
    zmq_socket_monitor(zsock_resolve(self->sock), NULL, 0);
    (void)fw_zsock_guard_read(self);
    // An actor that ended by itself has sent its exit signal already, and a read took it:
    // zactor_destroy's wait for it would never end. Nothing is left to wait for.
    if (self->ended)
        zsock_set_rcvtimeo(zactor_sock(self->actor), 0);
    zactor_destroy(&self->actor);
    free(self);
    *self_p = NULL;
}

zsock_t *
fw_zsock_guard_events(fw_zsock_guard_t *self)
{
    return zactor_sock(self->actor);
}

// Receive one message from the actor: 1 for "DROPPED", 2 for "SYNCED", 0 for anything
// else, -1 when there is none. The actor's exit signal is noted (self->ended), not lost.
static int
s_guard_recv(fw_zsock_guard_t *self)
{
    zmsg_t *msg = zmsg_recv(zactor_sock(self->actor));
    if (!msg)
        return -1;
    int kind = 0;
    if (zmsg_signal(msg) >= 0)
        self->ended = true;
    else if (zmsg_size(msg) == 1 && zframe_streq(zmsg_first(msg), "DROPPED"))
        kind = 1;
    else if (zmsg_size(msg) == 1 && zframe_streq(zmsg_first(msg), "SYNCED"))
        kind = 2;
    zmsg_destroy(&msg);
    return kind;
}

int
fw_zsock_guard_read(fw_zsock_guard_t *self)
{
    int dropped = 0;
    while (!self->ended && (zsock_events(zactor_sock(self->actor)) & ZMQ_POLLIN)) {
        int kind = s_guard_recv(self);
        if (kind < 0)
            break;
        dropped += kind == 1;
    }
    return dropped;
}

int
fw_zsock_guard_sync(fw_zsock_guard_t *self)
{
    zsock_t *pipe = zactor_sock(self->actor);
    int dropped = fw_zsock_guard_read(self); // room in the pipe for the answer
    if (self->ended || zstr_send(pipe, "SYNC") < 0)
        return dropped;
    while (!self->ended) {
        int kind = s_guard_recv(self);
        if (kind < 0 || kind == 2)
            break;
        dropped += kind == 1;
    }
    return dropped;
}
