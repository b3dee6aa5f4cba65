/*  alertd_cfg_discord.h — alertmanager.yml's discord_configs as Alertmanager 0.25 has them
    (config/notifiers.go DiscordConfig): webhook_url (a secret URL, required), title,
    message, send_resolved (default true), http_config. Keys later Alertmanagers added
    (webhook_url_file, content, username, avatar_url) are refused "not supported": the
    Debian 0.25 peer floorwatch is compared with has none of them.

    Texts follow alertd_cfg_receivers.h (absent or the default expression: notifyd renders
    discord.default.title / discord.default.message). notifyd_discord builds the request.
*/
#ifndef ALERTD_CFG_DISCORD_H
#define ALERTD_CFG_DISCORD_H

#include <jansson.h>
#include <stdbool.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"

struct alertd_cfg_receiver;

struct alertd_cfg_discord {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;           // default true
    char *webhook_url;            // owned, a secret
    char *title, *message;        // owned; NULL: the default
    struct alertd_cfg_http http;  // http_config (alertd_cfg_http.h)
    json_t *http_json;            // owned, derived at load: the effective http_config
};

// The list entry for struct alertd_cfg_receiver's table (members discord, discord_len).
extern const struct fw_cfg_field alertd_cfg_discord_fields[];

// Check r's discord_configs; errors into errs with file:line:col. global_http is
// global.http_config's NOTIFY object (the fallback without an own http_config).
void alertd_cfg_discord_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                              struct fw_cfg_errors *errs);
// Free what alertd_cfg_discord_check derived.
void alertd_cfg_discord_clear(struct alertd_cfg_receiver *r);
// Add r's discord_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_discord_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
