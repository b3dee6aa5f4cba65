/*  notifyd_deliver.h — the one delivery actor: every integration's requests (HTTP POSTs for
    webhooks, Slack, PagerDuty, Teams, Azure SMS; SMTP for email) driven by one libcurl multi
    in a zactor.

    The zloop thread hands each delivery (a notifyd_req built by an integration) to the
    actor and never blocks. At most max_in_flight run at once; at most 8 connections per
    host are opened and kept alive, more requests to one host queue inside libcurl.

    HTTP: POST with Content-Type application/json and User-Agent floorwatch-notifyd/0.1.0.
    A 2xx answer is success; a 5xx, a 429, a timeout or a connection error is retried with
    exponential backoff (initial_backoff doubling up to max_backoff, times a random factor in
    [0.5, 1]) up to max_attempts; any other 4xx fails at once. A request with an answer
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
    final outcome on the actor's pipe as a message of frames
        "RESULT", id (uint64, zsock picture "8"), receiver, "ok"|"fail", reason, detail,
        attempts ("i")
    which notifyd_deliver_recv() reads.
*/
#ifndef NOTIFYD_DELIVER_H
#define NOTIFYD_DELIVER_H

#include <czmq.h>
#include <stdint.h>

#include "fw_metrics.h"
#include "notifyd_cfg.h"
#include "notifyd_req.h"

typedef struct notifyd_deliver notifyd_deliver_t;

struct notifyd_result {
    uint64_t id;
    char *receiver; // owned
    bool ok;
    char *reason; // owned: "" on success; HTTP: http_4xx, http_5xx, http_429, timeout,
                  // connection, recipient (an answer reported a part failed); SMTP: auth,
                  // tls, connection, timeout, smtp
    char *detail; // owned: what the answer said ("" when nothing), for logs and NOTIFY_RESULT
    int attempts;
};

// Start the actor with a copy of cfg's delivery settings; metrics is borrowed and must
// outlive it.
notifyd_deliver_t *notifyd_deliver_new(const struct notifyd_cfg *cfg, fw_metrics_t *metrics);
// Stop the actor ($TERM; in-flight and queued deliveries are abandoned) and free.
void notifyd_deliver_destroy(notifyd_deliver_t **self_p);
// Queue one delivery: takes req's contents (req is left empty, even on failure);
// integration names the metrics' integration label ("webhook", "slack", "email", ...).
// 0 or -1.
int notifyd_deliver_send(notifyd_deliver_t *self, uint64_t id, const char *receiver,
                         const char *integration, struct notifyd_req *req);
// The socket to poll for results (borrowed).
zsock_t *notifyd_deliver_sock(notifyd_deliver_t *self);
// Read one result from the actor; 0, or -1 (interrupted or malformed). Free with
// notifyd_result_clear.
int notifyd_deliver_recv(notifyd_deliver_t *self, struct notifyd_result *out);
void notifyd_result_clear(struct notifyd_result *r);

#endif
