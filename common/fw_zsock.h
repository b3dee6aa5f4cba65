/*  fw_zsock.h — czmq socket helpers: the house defaults for each socket role, the daemon
    loop runner, receive-with-reject, and the guard that counts oversized messages.

    Every daemon creates the same few kinds of socket with the same intent, so the intent
    lives here once:
      - PUSH (connect): never blocks the zloop (send timeout 0: when the peer is away and the
        queue of FW_ZSOCK_HWM messages is full, the send fails and the caller counts a drop);
        linger 2 s so SIGTERM flushes what is queued.
      - PULL, ROUTER (bind): receive sides, each with a limit on one inbound message part
        (ZMQ_MAXMSGSIZE, from --zmq.max-msg-size).
      - PUB (bind): never blocks, no linger: taps are best-effort. XPUB is the same and also
        reads its subscriptions (fw_zsock_topics), so a publisher can skip holding what no
        one listens to.
      - DEALER (connect) of an acknowledged sender (fw_sender.h): never blocks (send
        timeout 0) and ZMQ_IMMEDIATE, so while tsdb is away a send fails at once instead of
        queueing in libzmq, where a lost connection would take it along; no linger, as the
        sender keeps every batch until it is acknowledged anyway.
    PUSH and PUB receive nothing but the peer's handshake and subscriptions, and the sender's
    DEALER only small acknowledgements, so their inbound limit is the fixed
    FW_ZSOCK_SEND_ONLY_MAX_MSG. Endpoints may list several addresses,
    comma-separated, and may override bind/connect with czmq's '@'/'>' prefixes
    (zsock_attach).

    Oversized messages: libzmq checks ZMQ_MAXMSGSIZE against each frame's length header, so
    an oversized frame is refused before any of it is stored. It then drops the connection
    and tells nobody why: libzmq 4.3's socket monitor reports only ZMQ_EVENT_DISCONNECTED,
    the same event as a peer that hung up. A guard (fw_zsock_guard_*) tells the two apart: it
    keeps a duplicate of each connection's descriptor from ZMQ_EVENT_ACCEPTED/CONNECTED, and
    on ZMQ_EVENT_DISCONNECTED looks at it. A peer that closed leaves end-of-file; a peer that
    libzmq hung up on is still open, with the rest of its frame unread. The second kind is
    counted as fw_msg_rejected_total{type="oversize"} and logged as event=msg.reject
    type=oversize (at most one line per 10 s per socket, with the number suppressed). The
    only other cause of that second kind, a malformed ZMTP command, is just as hostile.
    The count is best effort: a connection that opens and is dropped before the guard's
    thread sees it open (sub-millisecond, under heavy load) leaves nothing to look at and is
    not counted. The refusal itself does not depend on the guard.
    A connecting socket (DEALER, SUB) that libzmq hangs up on for a protocol error is not
    reconnected by libzmq: its owner must make a new socket (fw_zsock_guard_read says so).

    ZMQ_MAXMSGSIZE bounds one part, not a whole multipart message: libzmq buffers every part
    of a message before delivering any, so a peer can still send many parts that are each
    under the limit. Every floorwatch message has three parts (four with a ROUTER identity).
*/
#ifndef FW_ZSOCK_H
#define FW_ZSOCK_H

#include <czmq.h>

#include "fw_err.h"
#include "fw_metrics.h"
#include "fw_msg.h"

#define FW_ZSOCK_HWM 1000
#define FW_ZSOCK_LINGER_MS 2000
// Inbound limit of the send-only roles (PUSH, PUB): handshakes and subscriptions are small.
#define FW_ZSOCK_SEND_ONLY_MAX_MSG (64 * 1024)

// New sockets in each role; NULL with err naming the endpoint when it cannot attach. The
// receiving roles refuse any inbound message part longer than max_msg_size bytes (0 or
// less: the default of --zmq.max-msg-size): the peer is disconnected (see above).
zsock_t *fw_zsock_push(const char *endpoint, fw_err_t *err);
zsock_t *fw_zsock_xpub(const char *endpoint, fw_err_t *err);
zsock_t *fw_zsock_pull(const char *endpoint, int64_t max_msg_size, fw_err_t *err);
zsock_t *fw_zsock_pub(const char *endpoint, fw_err_t *err);
zsock_t *fw_zsock_router(const char *endpoint, int64_t max_msg_size, fw_err_t *err);
zsock_t *fw_zsock_dealer(const char *endpoint, fw_err_t *err);
// A DEALER as fw_zsock_dealer whose answers may be up to max_msg_size bytes per part (0 or
// less: the default of --zmq.max-msg-size), e.g. alertd's cluster pulls of a full state.
zsock_t *fw_zsock_dealer_sized(const char *endpoint, int64_t max_msg_size, fw_err_t *err);

// Set sock's inbound limit (ZMQ_MAXMSGSIZE, int64 bytes; czmq's setter takes an int; 0 or
// less: the default of --zmq.max-msg-size). Takes effect for connections made afterwards:
// call before zsock_attach. 0, or -1 (errno).
int fw_zsock_set_max_msg_size(zsock_t *sock, int64_t max_msg_size);

// sock's inbound limit in bytes (ZMQ_MAXMSGSIZE; -1: none). czmq's getter truncates to int.
int64_t fw_zsock_max_msg_size(zsock_t *sock);

// True when no frame of frames is longer than sock's own ZMQ_MAXMSGSIZE: the limit a peer
// with the same --zmq.max-msg-size applies. *largest (may be NULL) gets the longest frame.
bool fw_zsock_fits(zsock_t *sock, zmsg_t *frames, size_t *largest);

// --- oversize guard ---
typedef struct fw_zsock_guard fw_zsock_guard_t;

// Watch sock (borrowed; it must outlive the guard) through a libzmq socket monitor read by
// an actor thread, so connections are seen while they are open whatever the caller's loop
// is doing. name (copied) labels the log lines, e.g. "alerts"; metrics (borrowed, thread
// safe, may be NULL; it must outlive the guard) gets fw_msg_rejected_total{type="oversize"}
// (declare it with fw_zsock_declare_metrics). A daemon that only counts needs nothing
// else. NULL when the monitor cannot be started (logged).
fw_zsock_guard_t *fw_zsock_guard_new(zsock_t *sock, const char *name, fw_metrics_t *metrics);
// Stop the actor and the monitor. Call before destroying the socket. NULL-safe.
void fw_zsock_guard_destroy(fw_zsock_guard_t **self_p);
// Readable (zpoller, zloop) when the guard has seen a drop: then call fw_zsock_guard_read.
zsock_t *fw_zsock_guard_events(fw_zsock_guard_t *self);
// Without blocking, how many connections were dropped for an oversized message since the
// last read (each already counted and logged). On a connecting socket, a positive result
// means libzmq will not reconnect: make a new socket.
int fw_zsock_guard_read(fw_zsock_guard_t *self);
// As fw_zsock_guard_read, but first wait until every event libzmq has queued so far is
// handled (tests use it to make "the guard has seen this connection" certain).
int fw_zsock_guard_sync(fw_zsock_guard_t *self);

// Run loop until SIGINT/SIGTERM (returns 0) or a handler returns -1 (returns -1). czmq's
// zloop_start also returns when any other signal (SIGHUP, our reload) interrupts its poll;
// this restarts it then, so SIGHUP reloads instead of stopping the daemon.
int fw_zloop_run(zloop_t *loop);

// Declare fw_msg_rejected_total{type} in metrics (call once at start). type is a message
// type token, "unknown", or "oversize" (a connection dropped by a guard, see above).
void fw_zsock_declare_metrics(fw_metrics_t *metrics);

// Receive one message from sock and decode it. A message that fails to decode, or is not of
// type `want`, is rejected: logged as event=msg.reject, counted in
// fw_msg_rejected_total{type} (metrics may be NULL) and dropped; then -1 is returned and *out
// is NULL. On success *out is the caller's.
int fw_zsock_recv(zsock_t *sock, fw_msg_type_t want, fw_metrics_t *metrics, struct fw_msg **out);
// As fw_zsock_recv for frames already received (taken: *frames_p is destroyed and NULL).
int fw_zsock_decode(zmsg_t **frames_p, fw_msg_type_t want, fw_metrics_t *metrics,
                    struct fw_msg **out);

// Count and log one rejected message of `type` (a type token, or "unknown").
void fw_zsock_reject(fw_metrics_t *metrics, const char *type, const char *why);

// The topics subscribed on an XPUB socket. libzmq passes up the first subscription to a
// topic and the last unsubscription from it, so the set is exact; past
// FW_ZSOCK_TOPICS_MAX distinct topics it answers "wanted" to everything from then on.
#define FW_ZSOCK_TOPICS_MAX 64
struct fw_zsock_topics {
    char *items[FW_ZSOCK_TOPICS_MAX]; // owned
    size_t n;
    bool overflow;
};
// Read one subscription message from xpub (when it is readable) into t; anything else is
// ignored.
void fw_zsock_topics_read(zsock_t *xpub, struct fw_zsock_topics *t);
// True when a subscriber wants messages of this type: a subscribed topic is a prefix of it.
bool fw_zsock_topics_want(const struct fw_zsock_topics *t, const char *type);
void fw_zsock_topics_clear(struct fw_zsock_topics *t);

#endif
