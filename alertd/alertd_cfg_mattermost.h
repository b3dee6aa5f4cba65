/*  alertd_cfg_mattermost.h — alertmanager.yml's mattermost_configs (Alertmanager 0.30 and
    later; the Debian 0.25 has none): the field table, load-time checks and the JSON NOTIFY
    carries for notifyd_mattermost.

    Every key of upstream's MattermostConfig (notify/mattermost/config.go) is implemented:
    webhook_url or webhook_url_file (at most one; neither: global.mattermost_webhook_url and
    _file, as config.go copies them; a file is read by notifyd when a message is sent, as
    upstream's Notify reads it), channel, username, text, fallback, color, pretext,
    author_name, author_link, author_icon, title, title_link, fields, thumb_url, footer,
    footer_icon, image_url, icon_url, icon_emoji, attachments (each with the attachment keys
    and fields), type, props (card), priority (priority, requested_ack,
    persistent_notifications), send_resolved (default true), http_config. Texts follow
    alertd_cfg_receivers.h (absent or the default expression: notifyd renders the default).
*/
#ifndef ALERTD_CFG_MATTERMOST_H
#define ALERTD_CFG_MATTERMOST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "alertd_cfg_http.h"
#include "fw_cfg.h"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

struct alertd_cfg_mm_field {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    char *title, *value, *short_; // owned; short_ "true"/"false"/NULL (left out)
};

// The attachment texts, in upstream's attachment key order (S_MM_ATT_KEYS in the .c).
#define ALERTD_CFG_MM_ATT_TEXTS 13
struct alertd_cfg_mm_att {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;
    char *text[ALERTD_CFG_MM_ATT_TEXTS]; // owned
    struct alertd_cfg_mm_field *fields;  // owned
    size_t fields_len;
};

struct alertd_cfg_mm_props {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;
    char *card; // owned
};

struct alertd_cfg_mm_priority {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;
    char *priority; // owned
    bool requested_ack, persistent_notifications;
};

struct alertd_cfg_mattermost {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;          // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;                    // default true
    char *webhook_url, *webhook_url_file;  // owned
    char *channel, *username, *icon_url;   // owned
    char *icon_emoji, *type;               // owned
    struct alertd_cfg_mm_att att;          // the top-level attachment keys and fields
    struct alertd_cfg_mm_att *attachments; // owned
    size_t attachments_len;
    struct alertd_cfg_mm_props props;
    struct alertd_cfg_mm_priority priority;
    struct alertd_cfg_http http; // http_config (alertd_cfg_http.h)
    // Derived at load (owned): the URL or file resolved with the global ones, the
    // effective http_config.
    char *r_url, *r_url_file;
    json_t *http_json;
};

// The list entry for struct alertd_cfg_receiver's table (members mattermost, mattermost_len).
extern const struct fw_cfg_field alertd_cfg_mattermost_fields[];

// Check r's mattermost configs with g's mattermost_* and http_config; errors into errs with
// file:line:col. (A config with no URL anywhere is alertd_cfgcheck's to report.)
void alertd_cfg_mattermost_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                                 const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_mattermost_check derived.
void alertd_cfg_mattermost_clear(struct alertd_cfg_receiver *r);
// Add r's mattermost_configs array (when it has any) to a NOTIFY body.
void alertd_cfg_mattermost_notify(const struct alertd_cfg_receiver *r, json_t *notify);

#endif
