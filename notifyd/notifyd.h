/*  notifyd.h — the notification delivery daemon.

    notifyd PULLs NOTIFY messages from alertd. For each webhook_config of the message it
    prepares the body (resolved alerts dropped unless send_resolved, the list cut to
    max_alerts with truncatedAlerts set) and hands it to the delivery actor
    (notifyd_deliver). A delivered notification is re-PUBlished as a NOTIFY carrying that
    one webhook_config; a failed one is logged (event=notify.fail) and counted.
*/
#ifndef NOTIFYD_H
#define NOTIFYD_H

#include <jansson.h>

#include "fw_flags.h"
#include "notifyd_cfg.h"

struct notifyd_opts {
    struct fw_common_opts common;
    const char *zmq_notify;   // bind PULL
    const char *zmq_pub;      // bind PUB
    const char *storage_path; // outcomes kept in LMDB here; "" or NULL: in memory only
};

typedef struct notifyd notifyd_t;

// Takes ownership of *cfg_p. NULL on failure (logged).
notifyd_t *notifyd_new(const struct notifyd_opts *opts, struct notifyd_cfg **cfg_p);
int notifyd_run(notifyd_t *self);
void notifyd_destroy(notifyd_t **self_p);

// The body to POST for one webhook_config (borrowed) and payload (borrowed): a new
// string, or NULL when there is nothing to send (only resolved alerts and send_resolved
// false).
char *notifyd_prepare_body(const json_t *payload, const json_t *webhook_config);

#endif
