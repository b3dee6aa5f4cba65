/*  notifyd_victorops.h — VictorOps (Splunk On-Call) REST endpoint requests, as Alertmanager
    0.25's notify/victorops builds them: POST {api_url}{api_key}/{routing_key} (both path
    segments percent-escaped as Go's url.URL escapes a path) with a JSON object of strings:
    message_type (the rendered message_type when it is INFO, WARNING or CRITICAL, else
    CRITICAL, and RECOVERY once every alert is resolved), entity_id (the group key's SHA-256,
    hex, so an incident's trigger and recovery name one entity), entity_display_name,
    state_message (cut to 20480 runes), monitoring_tool, then every custom field rendered.
    Keys are written sorted, as Go writes a map.

    `config` is one element of NOTIFY's victorops_configs (alertd_cfg_victorops.h): api_key,
    or api_key_file read here at each notification as Alertmanager reads it; api_url;
    routing_key and the texts as written (absent: default.tmpl's). A key file that cannot be
    read, or a routing key that renders empty, fails the notification (not retried).
    Alertmanager retries only 5xx answers here; notifyd_deliver also retries 429.
*/
#ifndef NOTIFYD_VICTOROPS_H
#define NOTIFYD_VICTOROPS_H

#include <jansson.h>
#include <stddef.h>

#include "fw_err.h"
#include "notifyd_req.h"

#define NOTIFYD_VICTOROPS_MAX_MESSAGE_RUNES 20480

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err.
int notifyd_victorops_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                            fw_err_t *err);

// Append s to out (capacity cap, NUL-terminated) percent-escaped as Go escapes a URL path
// segment (unreserved characters and $&+,/:;=@ kept, every other byte %XX, upper case).
// -1 when it does not fit.
int notifyd_victorops_escape_path(const char *s, char *out, size_t cap);

#endif
