/*  alertd_cfg_receivers.h — alertmanager.yml's slack_configs and pagerduty_configs: their
    field tables, the load-time checks (credentials inline or from *_file, read at every load
    and so on every reload; texts that need the template engine refused "not supported yet")
    and their JSON for NOTIFY (docs/wire.md), built by notifyd_slack / notifyd_pagerduty.

    Texts: a key absent, or set to exactly the default template expression
    (`{{ template "slack.default.title" . }}` ...), is sent absent and notifyd renders
    Alertmanager's default in C (notifyd_text); a text without "{{" is sent as the literal it
    renders to; any other template is refused at load until common/fw_tmpl renders it.
*/
#ifndef ALERTD_CFG_RECEIVERS_H
#define ALERTD_CFG_RECEIVERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "alertd_cfg_http.h"

struct alertd_cfg_receiver;
struct alertd_cfg_global;

struct alertd_cfg_slack_field {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    char *title, *value, *short_; // owned; short_ "true"/"false"/NULL (short_fields)
};

struct alertd_cfg_slack_confirm {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;                // where each text value sits (FW_CFG_VALUE_POS)
    char *text, *title, *ok_text, *dismiss_text; // owned
};

struct alertd_cfg_slack_action {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;                   // where each text value sits (FW_CFG_VALUE_POS)
    char *type, *text, *url, *style, *name, *value; // owned
    struct alertd_cfg_slack_confirm confirm;        // given when its pos differs from pos
};

// Slack's Web API method a bot token posts to (global.slack_app_url's default).
#define ALERTD_CFG_SLACK_APP_URL "https://slack.com/api/chat.postMessage"

struct alertd_cfg_slack {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;           // default false
    char *api_url, *api_url_file; // owned
    char *channel, *username, *color, *title, *title_link;  // owned
    char *pretext, *text, *footer, *fallback, *callback_id; // owned
    char *icon_emoji, *icon_url, *image_url, *thumb_url;    // owned
    struct alertd_cfg_slack_field *fields;                  // owned
    size_t fields_len;
    bool short_fields, link_names;
    char **mrkdwn_in; // owned
    size_t mrkdwn_in_len;
    struct alertd_cfg_slack_action *actions; // owned
    size_t actions_len;
    char *app_token, *app_token_file, *app_url; // owned: a bot token for chat.postMessage
    char *url;      // owned, derived at load: api_url or global slack_api_url, when inline;
                    // app_url (or global slack_app_url) with an app token
    char *url_file; // owned, derived at load: else api_url_file or global slack_api_url_file,
                    // which notifyd reads at each delivery (as Alertmanager reads it)
    struct alertd_cfg_http http; // http_config (alertd_cfg_http.h)
    json_t *http_json;           // owned, derived at load: the effective http_config, with the
                                 // app token as its authorization (Bearer)
};

struct alertd_cfg_pd_image {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    char *src, *alt, *href;       // owned
};

struct alertd_cfg_pd_link {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos; // where each text value sits (FW_CFG_VALUE_POS)
    char *href, *text;            // owned
};

struct alertd_cfg_pagerduty {
    struct fw_cfg_pos pos;
    struct fw_cfg_vpos_list vpos;               // where each text value sits (FW_CFG_VALUE_POS)
    bool send_resolved;                         // default true
    char *routing_key, *routing_key_file, *url; // owned
    char *client, *client_url, *description, *source; // owned
    char *severity, *class_, *component, *group;      // owned
    struct fw_labels details;                         // owned
    struct alertd_cfg_pd_image *images;               // owned
    size_t images_len;
    struct alertd_cfg_pd_link *links; // owned
    size_t links_len;
    char *key; // owned, derived at load: routing_key or routing_key_file's content
    struct alertd_cfg_http http; // http_config (alertd_cfg_http.h)
    json_t *http_json;           // owned, derived at load: the effective http_config
};

// The list entries for struct alertd_cfg_receiver's table (members slack, slack_len,
// pagerduty, pagerduty_len).
extern const struct fw_cfg_field alertd_cfg_slack_fields[];
extern const struct fw_cfg_field alertd_cfg_pagerduty_fields[];

// Check receiver r's integrations (alertd_cfg_teams_check's too), read their *_file
// secrets and derive what NOTIFY carries; errors into errs with file:line:col. g gives
// global.slack_api_url(_file) and global.http_config (g->http_json, the fallback of every
// integration without its own http_config).
void alertd_cfg_receivers_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                                const char *file, struct fw_cfg_errors *errs);
// Free what alertd_cfg_receivers_check derived (the table's own members are fw_cfg's).
void alertd_cfg_receivers_clear(struct alertd_cfg_receiver *r);
// Add r's slack_configs and pagerduty_configs arrays (when it has any) to a NOTIFY body,
// alertd_cfg_teams_notify's and alertd_cfg_delivery_notify's.
void alertd_cfg_receivers_notify(const struct alertd_cfg_receiver *r, json_t *notify);

// For the other integrations' checks (alertd_cfg_teams): a text key as described above
// (*value freed and set NULL for the default expression def_expr; a parse error reported
// inside the value when `at`, where it sits, allows, else at pos), and a secret given inline
// or as a file (a new string, NULL when neither or on error, reported as "WHAT" /
// "WHAT_file"; inline_value may be NULL).
void alertd_cfg_receivers_text(const char *file, struct fw_cfg_errors *errs, char **value,
                               const char *def_expr, struct fw_cfg_pos pos,
                               const struct fw_cfg_vpos *at, const char *what);
char *alertd_cfg_receivers_secret(const char *file, struct fw_cfg_errors *errs,
                                  const char *inline_value, const char *file_name,
                                  struct fw_cfg_pos pos, const char *what);
// A credential or URL given as NAME or NAME_file, picked as Alertmanager's config.go does:
// the integration's own pair (both at once reported: "at most one of NAME & NAME_file must
// be configured"), else the global pair (global, global_file; either may be NULL). *value or
// *value_file gets a new string, the other NULL (both NULL when nothing is given); a file is
// only named here, and read when a notification is sent, as Alertmanager reads it. false
// when none of the four is given (the caller says what is missing).
bool alertd_cfg_receivers_pick(const char *file, struct fw_cfg_errors *errs, struct fw_cfg_pos pos,
                               const char *name, const char *own, const char *own_file,
                               const char *global, const char *global_file, char **value,
                               char **value_file);
// Whether url is http:// or https://; when not, reported at pos as `unsupported scheme "S"
// WHERE` (where: "for URL", "in slack api_url"...). Only the scheme is shown: webhook URLs
// carry their keys.
bool alertd_cfg_receivers_http_url(const char *file, struct fw_cfg_errors *errs,
                                   struct fw_cfg_pos pos, const char *url, const char *where);

#endif
