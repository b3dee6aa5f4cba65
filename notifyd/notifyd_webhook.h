/*  notifyd_webhook.h — HTTP delivery in a zactor driving libcurl's multi interface, for
    webhooks and every HTTP integration (Slack, PagerDuty, Teams, Azure SMS).

    The zloop thread hands each delivery (receiver, url, JSON body) to the actor and never
    blocks. The actor POSTs with Content-Type application/json and User-Agent
    floorwatch-notifyd/0.1.0, at most max_in_flight at once. A 2xx answer is success; a
    5xx, a 429, a timeout or a connection error is retried with exponential backoff
    (initial_backoff doubling up to max_backoff, times a random factor in [0.5, 1]) up to
    max_attempts; any other 4xx fails at once. A request with an answer function
    (notifyd_req.h) is judged by it on a 2xx: it may report parts (recipients) failed, and
    rewrite the request so that only the failed parts are sent again, with the same backoff
    and max_attempts. At most 8 connections per host are opened
    and kept alive; more requests to one host queue inside libcurl. It counts into the borrowed
   metrics registry (thread-safe): fw_notifyd_notifications_total{receiver,integration}
   delivered fw_notifyd_notifications_failed_total{receiver,integration,reason}
        fw_notifyd_retries_total{receiver}
        fw_notifyd_recipients_total{receiver,integration,result}  (answers with parts)
    and reports each final outcome on the actor's pipe as a message of frames
        "RESULT", id (uint64, zsock picture "8"), receiver, "ok"|"fail", reason, detail,
        attempts ("i")
    which notifyd_webhook_recv() reads.
*/
#ifndef NOTIFYD_WEBHOOK_H
#define NOTIFYD_WEBHOOK_H

#include <czmq.h>
#include <stdint.h>

#include "fw_metrics.h"
#include "notifyd_cfg.h"
#include "notifyd_req.h"

typedef struct notifyd_webhook notifyd_webhook_t;

struct notifyd_result {
    uint64_t id;
    char *receiver; // owned
    bool ok;
    char *reason; // owned: "" on success; http_4xx, http_5xx, http_429, timeout, connection,
                  // recipient (an answer reported a part failed)
    char *detail; // owned: what the answer said ("" when nothing), for logs and NOTIFY_RESULT
    int attempts;
};

// Start the actor with a copy of cfg's delivery settings; metrics is borrowed and must
// outlive it.
notifyd_webhook_t *notifyd_webhook_new(const struct notifyd_cfg *cfg, fw_metrics_t *metrics);
// Stop the actor ($TERM; in-flight requests are abandoned) and free.
void notifyd_webhook_destroy(notifyd_webhook_t **self_p);
// Queue one delivery (strings copied). authorization is an Authorization header value
// or NULL; follow_redirects lets libcurl follow 3xx answers. 0 or -1.
int notifyd_webhook_send(notifyd_webhook_t *self, uint64_t id, const char *receiver,
                         const char *url, const char *body, const char *authorization,
                         bool follow_redirects);
// Queue one delivery of any HTTP integration: takes req's contents (req is left empty,
// even on failure); integration names the metrics' integration label ("slack", ...).
int notifyd_webhook_post(notifyd_webhook_t *self, uint64_t id, const char *receiver,
                         const char *integration, struct notifyd_req *req, bool follow_redirects);
// The socket to poll for results (borrowed).
zsock_t *notifyd_webhook_sock(notifyd_webhook_t *self);
// Read one result from the actor; 0, or -1 (interrupted or malformed). Free with
// notifyd_result_clear.
int notifyd_webhook_recv(notifyd_webhook_t *self, struct notifyd_result *out);
void notifyd_result_clear(struct notifyd_result *r);

#endif
