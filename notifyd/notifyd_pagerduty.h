/*  notifyd_pagerduty.h — PagerDuty Events API v2 requests, as Alertmanager's pagerduty
    notifier builds them (notify/pagerduty/pagerduty.go, notifyV2): event_action "trigger"
    while any alert fires and "resolve" once all are resolved, dedup_key the SHA-256 (hex) of
    the group key so trigger and resolve name the same incident, payload.summary (description,
    cut to 1024 runes), source (default: the client text), severity (default "error"), class,
    component, group, custom_details (DefaultPagerdutyDetails firing, resolved, num_firing,
    num_resolved, then the config's details), client, client_url, images and links (those
    with an empty src/href dropped).

    `config` is one element of NOTIFY's pagerduty_configs: routing_key resolved (inline or
    routing_key_file), url (default https://events.pagerduty.com/v2/enqueue, or
    global.pagerduty_url); texts absent mean default.tmpl's, present ones are literal.
*/
#ifndef NOTIFYD_PAGERDUTY_H
#define NOTIFYD_PAGERDUTY_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

#define NOTIFYD_PAGERDUTY_URL "https://events.pagerduty.com/v2/enqueue"

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no routing_key, no groupKey).
int notifyd_pagerduty_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                            fw_err_t *err);

// The dedup key of a group key: SHA-256 as 64 lowercase hex digits (notify.Key.Hash) into
// out[65].
void notifyd_pagerduty_dedup_key(const char *group_key, char out[65]);

#endif
