/*  fw_zsock.h — czmq socket helpers: the house defaults for each socket role, the daemon
    loop runner, and receive-with-reject.

    Every daemon creates the same few kinds of socket with the same intent, so the intent
    lives here once:
      - PUSH (connect): never blocks the zloop (send timeout 0: when the peer is away and the
        queue of FW_ZSOCK_HWM messages is full, the send fails and the caller counts a drop);
        linger 2 s so SIGTERM flushes what is queued.
      - PULL, ROUTER (bind): receive sides.
      - PUB (bind): never blocks, no linger: taps are best-effort.
    Endpoints may list several addresses, comma-separated, and may override bind/connect with
    czmq's '@'/'>' prefixes (zsock_attach).
*/
#ifndef FW_ZSOCK_H
#define FW_ZSOCK_H

#include <czmq.h>

#include "fw_err.h"
#include "fw_metrics.h"
#include "fw_msg.h"

#define FW_ZSOCK_HWM 1000
#define FW_ZSOCK_LINGER_MS 2000

// New sockets in each role; NULL with err naming the endpoint when it cannot attach.
zsock_t *fw_zsock_push(const char *endpoint, fw_err_t *err);
zsock_t *fw_zsock_pull(const char *endpoint, fw_err_t *err);
zsock_t *fw_zsock_pub(const char *endpoint, fw_err_t *err);
zsock_t *fw_zsock_router(const char *endpoint, fw_err_t *err);

// Run loop until SIGINT/SIGTERM (returns 0) or a handler returns -1 (returns -1). czmq's
// zloop_start also returns when any other signal (SIGHUP, our reload) interrupts its poll;
// this restarts it then, so SIGHUP reloads instead of stopping the daemon.
int fw_zloop_run(zloop_t *loop);

// Declare fw_msg_rejected_total{type} in metrics (call once at start).
void fw_zsock_declare_metrics(fw_metrics_t *metrics);

// Receive one message from sock and decode it. A message that fails to decode, or is not of
// type `want`, is rejected: logged as event=msg.reject, counted in
// fw_msg_rejected_total{type} (metrics may be NULL) and dropped; then -1 is returned and *out
// is NULL. On success *out is the caller's.
int fw_zsock_recv(zsock_t *sock, fw_msg_type_t want, fw_metrics_t *metrics, struct fw_msg **out);

// Count and log one rejected message of `type` (a type token, or "unknown").
void fw_zsock_reject(fw_metrics_t *metrics, const char *type, const char *why);

#endif
