/*  alertd_cfg_pushover.h — alertmanager.yml's pushover_configs as Alertmanager 0.25 has them
    (config/notifiers.go PushoverConfig): user_key and token (required, secrets), title,
    message, url, url_title, sound, priority (templates; priority by default 2, emergency,
    while firing and 0 once resolved), retry and expire (Go durations, default 1m and 1h,
    sent in whole seconds), html (message rendered with HTML escaping, html=1 sent),
    send_resolved (default true), http_config. Keys later Alertmanagers added
    (user_key_file, token_file, device, ttl, monospace) are refused "not supported": the
    Debian 0.25 peer floorwatch is compared with has none of them.

    0.25 sends to https://api.pushover.net/1/messages.json and nothing in its config changes
    that; floorwatch neither (a test reaches a played server through http_config.proxy_url).
    Texts follow alertd_cfg_receivers.h. notifyd_pushover builds the request.
*/
#ifndef ALERTD_CFG_PUSHOVER_H
#define ALERTD_CFG_PUSHOVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"

struct alertd_cfg_receiver;

// Alertmanager's default priority (an expression, not a named template).
#define ALERTD_CFG_PUSHOVER_PRIORITY "{{ if eq .Status \"firing\" }}2{{ else }}0{{ end }}"

struct alertd_cfg_pushover {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;       // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;                 // default true
    char *user_key, *token;             // owned, secrets
    char *title, *message, *url;        // owned; NULL: the default
    char *url_title, *sound, *priority; // owned; NULL: "" ("" / the default for priority)
    char *retry, *expire;               // owned: as written (Go durations); NULL: default
    bool html;                          // default false
    struct alertd_cfg_http http;        // http_config (alertd_cfg_http.h)
    int64_t retry_s, expire_s;          // derived at load: whole seconds
    json_t *http_json;                  // owned, derived at load: the effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members pushover, pushover_len).
extern const struct fw_cfg_field alertd_cfg_pushover_fields[];

// Go's time.ParseDuration of s into nanoseconds: 0, or -1 (not a duration, or overflow).
int alertd_cfg_pushover_duration(const char *s, int64_t *ns);

// Check r's pushover_configs; errors into errs with file:line:col. global_http is
// global.http_config's NOTIFY object (the fallback without an own http_config).
void alertd_cfg_pushover_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                               struct fw_cfg_errors *errs);
// Free what alertd_cfg_pushover_check derived.
void alertd_cfg_pushover_clear(struct alertd_cfg_receiver *r);
// Add r's pushover_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_pushover_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
