/*  notifyd_webex.h — a Webex message request as Alertmanager 0.25 builds it
    (notify/webex/webex.go): POST api_url, application/json, {"markdown":..,"roomId":..},
    the message rendered (webex.default.message unless configured) and cut to 7439 bytes as
    notify.TruncateInBytes cuts it (the longest prefix of whole characters that leaves room
    for "…", then "…"). The Authorization header comes from http_config (notifyd_http).

    `config` is one element of NOTIFY's webex_configs (alertd_cfg_webex builds it).
*/
#ifndef NOTIFYD_WEBEX_H
#define NOTIFYD_WEBEX_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Webex's limit on a message, in bytes (notify/webex/webex.go maxMessageSize).
#define NOTIFYD_WEBEX_MAX_BYTES 7439

// s cut to at most max bytes as Alertmanager's notify.TruncateInBytes: a new string;
// *truncated set when cut. Where 0.25 would panic (fewer characters than max - 3 but more
// bytes than max) the same rule is applied without it.
char *notifyd_webex_truncate_bytes(const char *s, size_t max, bool *truncated);

// Build the request for data (a payload as notifyd_tmpl_data returns it). 0, or -1 with err
// (no api_url or room_id).
int notifyd_webex_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                        fw_err_t *err);

#endif
