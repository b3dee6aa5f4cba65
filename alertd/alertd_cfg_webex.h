/*  alertd_cfg_webex.h — alertmanager.yml's webex_configs as Alertmanager 0.25 has them
    (config/notifiers.go WebexConfig): api_url (else global.webex_api_url, by default
    https://webexapis.com/v1/messages), room_id (required), message (default
    webex.default.message), send_resolved (default true), and an http_config of its own with
    authorization credentials (required: the bot's token, sent as "Bearer TOKEN" unless
    another type is given; global.http_config's do not count, as in Alertmanager, whose check
    runs before the global fallback).

    Texts follow alertd_cfg_receivers.h. notifyd_webex builds the request.
*/
#ifndef ALERTD_CFG_WEBEX_H
#define ALERTD_CFG_WEBEX_H

#include <jansson.h>
#include <stdbool.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

// Alertmanager's default global.webex_api_url.
#define ALERTD_CFG_WEBEX_API_URL "https://webexapis.com/v1/messages"

struct alertd_cfg_webex {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;           // default true
    char *api_url;                // owned; NULL: the global one
    char *room_id;                // owned
    char *message;                // owned; NULL: the default
    struct alertd_cfg_http http;  // http_config (alertd_cfg_http.h)
    char *url;                    // owned, derived at load: api_url or the global one
    json_t *http_json;            // owned, derived at load: the effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members webex, webex_len).
extern const struct fw_cfg_field alertd_cfg_webex_fields[];

// Check r's webex_configs against g (global.webex_api_url, global.http_config's NOTIFY
// object); errors into errs with file:line:col.
void alertd_cfg_webex_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                            const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_webex_check derived.
void alertd_cfg_webex_clear(struct alertd_cfg_receiver *r);
// Add r's webex_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_webex_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
