/*  alertd_cfg_teams.h — alertmanager.yml's msteams_configs and msteamsv2_configs, and
    floorwatch's own azuresms_configs (an extension: SMS through Azure Communication
    Services): their field tables, load-time checks and their JSON for NOTIFY (docs/wire.md),
    built by notifyd_msteams / notifyd_azuresms.

    Secrets are read by alertd at every load and reload (webhook_url_file, access_key_file)
    and sent resolved; fw_msg.def marks them FW_SECRET. Texts follow alertd_cfg_receivers.h:
    absent or Alertmanager's default expression = notifyd renders the default in C; a
    literal is sent as is; any other template is refused at load "not supported yet".
*/
#ifndef ALERTD_CFG_TEAMS_H
#define ALERTD_CFG_TEAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"

struct alertd_cfg_receiver;

// msteams_configs (summary used) and msteamsv2_configs (summary always NULL).
struct alertd_cfg_msteams {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;         // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;                   // default true
    char *webhook_url, *webhook_url_file; // owned
    char *title, *summary, *text;         // owned
    char *url;                            // owned, derived at load: webhook_url or the file's
    struct alertd_cfg_http http;          // http_config (alertd_cfg_http.h)
    json_t *http_json;                    // owned, derived at load: the effective http_config
};

struct alertd_cfg_azuresms {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;           // default true
    char *endpoint;               // owned: https://<resource>.communication.azure.com
    char *access_key_file;        // owned: the resource's access key, base64
    char *from;                   // owned: E.164 number or alphanumeric sender ID
    char **to;                    // owned: E.164 numbers, 1 to 100
    size_t to_len;
    char *message;               // owned: NULL = the default (the default title)
    char *key;                   // owned, derived at load: access_key_file's content
    struct alertd_cfg_http http; // http_config (alertd_cfg_http.h)
    json_t *http_json;           // owned, derived at load: the effective http_config
};

// The list entries for struct alertd_cfg_receiver's table (members msteams, msteamsv2,
// azuresms and their _len).
extern const struct fw_cfg_field alertd_cfg_msteams_fields[];
extern const struct fw_cfg_field alertd_cfg_msteamsv2_fields[];
extern const struct fw_cfg_field alertd_cfg_azuresms_fields[];

// Check r's msteams, msteamsv2 and azuresms configs, read their secret files; errors into
// errs with file:line:col.
void alertd_cfg_teams_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                            struct fw_cfg_errors *errs);
// Free what alertd_cfg_teams_check derived.
void alertd_cfg_teams_clear(struct alertd_cfg_receiver *r);
// Add r's msteams_configs, msteamsv2_configs and azuresms_configs arrays (when it has any)
// to a NOTIFY body.
void alertd_cfg_teams_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
