/*  notifyd_deliver.h — the one deliverer: every integration's requests (HTTP POSTs for
    webhooks, Slack, PagerDuty, Teams, Azure SMS; SMTP for email) driven by one libcurl multi
    on notifyd's own zloop (no thread of its own, no hand-off).

    Nothing it does blocks the loop: libcurl's sockets are zloop pollers and its timeouts a
    zloop timer. notifyd_deliver_send starts the transfer at once, so on a kept-alive
    connection the request is written before send returns. At most max_in_flight run at
    once, a receiver at most half of them (so one that hangs never delays the others); at
    most 8 connections per host are opened and kept alive, more requests to one host queue
    inside libcurl.

    HTTP: POST with Content-Type application/json and User-Agent floorwatch-notifyd/0.1.0.
    A 2xx answer is success; a 5xx, a 429, a timeout or a connection error is retried with
    exponential backoff (initial_backoff doubling up to max_backoff, times a random factor in
    [0.5, 1) drawn from the deliverer's own generator, seeded from getrandom: notifyd_backoff.h)
    up to max_attempts; any other 4xx fails at once. A request with an answer
    function (notifyd_req.h) is judged by it on a 2xx: it may report parts (recipients)
    failed, and rewrite the request so that only the failed parts are sent again, with the
    same backoff and max_attempts.

    SMTP: smtps:// or smtp:// (STARTTLS required when smtp.starttls, else not used), AUTH
    with the username and password when given, MAIL FROM, RCPT TO each recipient, DATA the
    body. Only a message the server accepted after DATA is delivered; anything else
    (connection, TLS, AUTH, a refused command, a timeout) is retried with the same backoff.

    It counts into the borrowed metrics registry (thread-safe):
        fw_notifyd_notifications_total{receiver,integration}       delivered
        fw_notifyd_notifications_failed_total{receiver,integration,reason}
        fw_notifyd_retries_total{receiver}
        fw_notifyd_recipients_total{receiver,integration,result}  (answers with parts)
    and Alertmanager's request counters and latency (notifyd_am_metrics), and reports each
    final outcome to the on_result function, on the loop, never from inside
    notifyd_deliver_send.
*/
#ifndef NOTIFYD_DELIVER_H
#define NOTIFYD_DELIVER_H

#include <czmq.h>
#include <stdint.h>

#include "fw_metrics.h"
#include "notifyd_cfg.h"
#include "notifyd_req.h"

typedef struct notifyd_deliver notifyd_deliver_t;

// One final outcome; every string is borrowed for the on_result call only.
struct notifyd_result {
    uint64_t id;
    const char *receiver;
    bool ok;
    const char *reason; // "" on success; HTTP: http_4xx, http_5xx, http_429, timeout,
                        // connection, recipient (an answer reported a part failed); SMTP:
                        // auth, tls, connection, timeout, smtp; rate_limited
    const char *detail; // what the answer said ("" when nothing), for logs and NOTIFY_RESULT
    int attempts;
};

// Called on the loop with each final outcome. It may queue more (notifyd_deliver_send) but
// must not destroy the deliverer.
typedef void (*notifyd_deliver_fn)(void *arg, const struct notifyd_result *r);

// A deliverer on loop (borrowed, outliving it) with a copy of cfg's delivery settings;
// metrics is borrowed and must outlive it; on_result(arg, ...) gets every outcome.
notifyd_deliver_t *notifyd_deliver_new(const struct notifyd_cfg *cfg, fw_metrics_t *metrics,
                                       zloop_t *loop, notifyd_deliver_fn on_result, void *arg);
// Abandon in-flight and queued deliveries (no outcome reported), take its sockets and timer
// off the loop, and free. On the loop's thread, not from inside on_result.
void notifyd_deliver_destroy(notifyd_deliver_t **self_p);
// Queue one delivery and start it when it is due and finds a slot: takes req's contents
// (req is left empty); integration names the metrics' integration label ("webhook",
// "slack", "email", ...). Its outcome comes later through on_result. 0.
int notifyd_deliver_send(notifyd_deliver_t *self, uint64_t id, const char *receiver,
                         const char *integration, struct notifyd_req *req);
// How many jobs are queued (due, waiting for a slot or a token) and how many wait out their
// retry backoff (not looked at by a pass over the queue until due). Running ones are neither.
void notifyd_deliver_counts(const notifyd_deliver_t *self, size_t *queued, size_t *backing_off);
// The wait in ms before the attempt after attempt `attempts` (1-based) failed, as the retry
// timer uses it (notifyd_backoff_next on this deliverer's generator; each call draws anew).
int64_t notifyd_deliver_backoff(notifyd_deliver_t *self, int attempts);

#endif
