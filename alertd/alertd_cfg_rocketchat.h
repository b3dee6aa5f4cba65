/*  alertd_cfg_rocketchat.h — alertmanager.yml's rocketchat_configs (Alertmanager 0.28 and
    later; the Debian 0.25 has none): the field table, load-time checks and the JSON NOTIFY
    carries for notifyd_rocketchat.

    Credentials as Alertmanager resolves them (config/config.go): the receiver's token_id,
    token_id_file, token and token_file, each falling back to its global twin; a file is
    read by notifyd when a message is sent (a file not there yet at load is fine, a rotated
    token is used at once) and wins over an inline value, as notify/rocketchat reads it.
    api_url falls back to global.rocketchat_api_url, then https://open.rocket.chat/; NOTIFY
    carries the chat.postMessage URL under it. Texts follow alertd_cfg_receivers.h (absent
    or the default expression: notifyd renders the default). link_names is accepted and has
    no effect, as in Alertmanager (its request has no such key); an action is always sent as
    type "button", as Alertmanager sends it.
*/
#ifndef ALERTD_CFG_ROCKETCHAT_H
#define ALERTD_CFG_ROCKETCHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

struct alertd_cfg_rc_field {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    char *title, *value, *short_; // owned; short_ "true"/"false"/NULL (short_fields)
};

struct alertd_cfg_rc_action {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;  // where each text value sits (FW_CFG_VALUE_POS)
    char *type, *text, *url, *msg; // owned
};

struct alertd_cfg_rocketchat {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;           // default false
    char *api_url;                // owned
    char *token, *token_file, *token_id, *token_id_file; // owned
    char *channel, *color, *title, *title_link, *text;   // owned
    char *emoji, *icon_url, *image_url, *thumb_url;      // owned
    struct alertd_cfg_rc_field *fields;                  // owned
    size_t fields_len;
    bool short_fields, link_names;
    struct alertd_cfg_rc_action *actions; // owned
    size_t actions_len;
    struct alertd_cfg_http http; // http_config (alertd_cfg_http.h)
    // Derived at load (owned): the chat.postMessage URL, the credentials resolved with the
    // global ones (a file, when set, is what notifyd uses), the effective http_config.
    char *post_url, *r_token, *r_token_file, *r_token_id, *r_token_id_file;
    json_t *http_json;
};

// The list entry for struct alertd_cfg_receiver's table (members rocketchat, rocketchat_len).
extern const struct fw_cfg_field alertd_cfg_rocketchat_fields[];

// Check r's rocketchat configs with g's rocketchat_* and http_config; errors into errs with
// file:line:col. (A missing token or token id is alertd_cfgcheck's to report.)
void alertd_cfg_rocketchat_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                                 const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_rocketchat_check derived.
void alertd_cfg_rocketchat_clear(struct alertd_cfg_receiver *r);
// Add r's rocketchat_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_rocketchat_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
