/*  alertd_cfg.h — alertmanager.yml for alertd: field tables, loading and cross-checks.

    The file is Alertmanager's own format, loaded through fw_cfg tables so every error names
    file:line:col. After the table walk, alertd_cfg_load() runs the checks Alertmanager does
    on the whole file: receiver names unique, every route naming an existing receiver, a
    root route with a receiver and no matchers, regexes that compile, known time intervals,
    and sane timers, valid time intervals. Integrations other than webhook_configs are
    checked for their credentials (alertd_cfgcheck) but not delivered.

    Route timers are kept as their text (NULL when absent) so alertd_route can tell an unset
    field, which a child inherits from its parent, from an explicit one.
*/
#ifndef ALERTD_CFG_H
#define ALERTD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "alertd_cfg_email.h"
#include "alertd_timeinterval.h"
#include "alertd_cfg_delivery.h"
#include "alertd_cfg_http.h"
#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_secret.h"

struct alertd_cfg_webhook {
    struct fw_cfg_pos pos;
    char *url;          // owned
    char *url_file;     // owned; read at load time into url
    bool send_resolved; // default true
    int64_t max_alerts; // 0: all
    struct alertd_cfg_http http;
    // Derived at load (not table fields) from the effective http_config (the webhook's own,
    // else global's, alertd_cfg_http.h): its Authorization header value (NULL for none), its
    // follow_redirects, and the rest of NOTIFY's `http_config` (NULL when nothing is left).
    char *authorization; // owned
    bool follow_redirects;
    json_t *http_json; // owned
};

struct alertd_cfg_receiver {
    struct fw_cfg_pos pos;
    char *name;                          // owned
    struct alertd_cfg_webhook *webhooks; // owned
    size_t webhooks_len;
    struct alertd_cfg_email *email; // owned (alertd_cfg_email.h)
    size_t email_len;
    struct alertd_cfg_slack *slack; // owned (alertd_cfg_receivers.h)
    size_t slack_len;
    struct alertd_cfg_pagerduty *pagerduty; // owned (alertd_cfg_receivers.h)
    size_t pagerduty_len;
    struct alertd_cfg_msteams *msteams; // owned (alertd_cfg_teams.h)
    size_t msteams_len;
    struct alertd_cfg_msteams *msteamsv2; // owned (alertd_cfg_teams.h)
    size_t msteamsv2_len;
    struct alertd_cfg_azuresms *azuresms; // owned (alertd_cfg_teams.h): floorwatch's own
    size_t azuresms_len;
    struct alertd_cfg_discord *discord; // owned (alertd_cfg_discord.h)
    size_t discord_len;
    struct alertd_cfg_webex *webex; // owned (alertd_cfg_webex.h)
    size_t webex_len;
    struct alertd_cfg_opsgenie *opsgenie; // owned (alertd_cfg_opsgenie.h)
    size_t opsgenie_len;
    struct alertd_cfg_wechat *wechat; // owned (alertd_cfg_wechat.h)
    size_t wechat_len;
    struct alertd_cfg_victorops *victorops; // owned (alertd_cfg_victorops.h)
    size_t victorops_len;
    struct alertd_cfg_pushover *pushover; // owned (alertd_cfg_pushover.h)
    size_t pushover_len;
    struct alertd_cfg_rocketchat *rocketchat; // owned (alertd_cfg_rocketchat.h)
    size_t rocketchat_len;
    struct alertd_cfg_sns *sns; // owned (alertd_cfg_sns.h)
    size_t sns_len;
    struct alertd_cfg_mattermost *mattermost; // owned (alertd_cfg_mattermost.h)
    size_t mattermost_len;
    struct alertd_cfg_telegram *telegram; // owned (alertd_cfg_telegram.h)
    size_t telegram_len;
    // floorwatch's delivery extensions (alertd_cfg_delivery.h)
    int64_t fw_timeout; // ms per attempt; 0: notifyd's timeout
    struct alertd_cfg_rate_limit fw_rate_limit;
};

struct alertd_cfg_route {
    struct fw_cfg_pos pos;
    char *receiver;  // owned; NULL: inherited
    char **group_by; // owned
    size_t group_by_len;
    bool cont;                 // `continue`
    struct fw_labels match;    // owned
    struct fw_labels match_re; // owned
    char **matchers;           // owned: matcher strings
    size_t matchers_len;
    char *group_wait;           // owned duration text; NULL: inherited
    char *group_interval;       // owned
    char *repeat_interval;      // owned
    char **mute_time_intervals; // owned
    size_t mute_time_intervals_len;
    char **active_time_intervals; // owned
    size_t active_time_intervals_len;
    struct alertd_cfg_route *routes; // owned
    size_t routes_len;
};

struct alertd_cfg_inhibit {
    struct fw_cfg_pos pos;
    struct fw_labels source_match, source_match_re; // owned
    char **source_matchers;                         // owned
    size_t source_matchers_len;
    struct fw_labels target_match, target_match_re; // owned
    char **target_matchers;                         // owned
    size_t target_matchers_len;
    char **equal; // owned
    size_t equal_len;
    bool equal_required; // floorwatch: every `equal` label must be present on both sides
};

struct alertd_cfg_time_interval {
    struct fw_cfg_pos pos;
    char *name;                       // owned
    struct alertd_cfg_ti_spec *specs; // owned: the `time_intervals:` list
    size_t specs_len;
};

struct alertd_cfg_global {
    int64_t resolve_timeout; // ms, default 5m
    struct alertd_cfg_http http;
    json_t *http_json; // owned, derived at load: http's NOTIFY object (alertd_cfg_http_derive)
    struct alertd_cfg_smtp_global smtp; // smtp_* but the password and secret below
    // Credential pairs Alertmanager forbids setting together (X and X_file).
    char *smtp_auth_password, *smtp_auth_password_file;
    char *smtp_auth_secret, *smtp_auth_secret_file;
    char *slack_api_url, *slack_api_url_file, *slack_app_token, *slack_app_token_file;
    char *slack_app_url; // owned; absent: ALERTD_CFG_SLACK_APP_URL
    char *pagerduty_url; // owned; absent: notifyd's Events API v2 URL
    char *opsgenie_api_key, *opsgenie_api_key_file;
    char *opsgenie_api_url; // NULL: https://api.opsgenie.com/ (alertd_cfg_opsgenie)
    char *victorops_api_key, *victorops_api_key_file;
    char *victorops_api_url; // NULL: ALERTD_CFG_VICTOROPS_URL
    char *wechat_api_secret, *wechat_api_secret_file;
    char *wechat_api_url, *wechat_api_corp_id; // NULL: Alertmanager's default URL / none
    char *telegram_bot_token, *telegram_bot_token_file;
    char *telegram_api_url; // NULL: ALERTD_CFG_TELEGRAM_URL
    char *rocketchat_token, *rocketchat_token_file, *rocketchat_token_id, *rocketchat_token_id_file;
    char *rocketchat_api_url; // NULL: https://open.rocket.chat/ (alertd_cfg_rocketchat)
    char *mattermost_webhook_url, *mattermost_webhook_url_file;
    char *webex_api_url; // owned; NULL: Alertmanager's default (alertd_cfg_webex.h)
    struct fw_cfg_pos pos;
};

struct alertd_cfg {
    struct alertd_cfg_global global;
    struct alertd_cfg_route route;
    struct alertd_cfg_inhibit *inhibit_rules; // owned
    size_t inhibit_rules_len;
    struct alertd_cfg_receiver *receivers; // owned
    size_t receivers_len;
    char **templates; // owned: the globs as written
    size_t templates_len;
    json_t *template_files; // owned: [{name, text}] of the files they matched (alertd_cfg_tmpl)
    struct alertd_cfg_time_interval *time_intervals; // owned
    size_t time_intervals_len;
    struct alertd_cfg_time_interval *mute_time_intervals; // owned (legacy name)
    size_t mute_time_intervals_len;
    char *file;     // owned: the name used in messages
    char *original; // owned: the file re-emitted with every secret masked (alertd_cfg_secrets),
                    // for /api/v2/status; the raw text is not kept
};

// Load `name` (or the text when not NULL, `name` then only labels messages) into a new
// config. Returns it, or NULL with errs filled (table errors and cross-check errors, each
// with file:line:col).
struct alertd_cfg *alertd_cfg_load(const char *name, const char *text, struct fw_cfg_errors *errs);
void alertd_cfg_destroy(struct alertd_cfg **self_p);

// The time interval called name (time_intervals or mute_time_intervals), or NULL.
const struct alertd_cfg_time_interval *alertd_cfg_time_interval(const struct alertd_cfg *cfg,
                                                                const char *name);
// True when the named interval contains t_ms (an unknown name never does).
bool alertd_cfg_in_interval(const struct alertd_cfg *cfg, const char *name, int64_t t_ms);

// The receiver called name, or NULL. Borrowed from cfg.
const struct alertd_cfg_receiver *alertd_cfg_receiver(const struct alertd_cfg *cfg,
                                                      const char *name);

// The route field table, for tools that load a bare `route:` block (routing conformance).
extern const struct fw_cfg_field alertd_cfg_route_fields[];

// The paths of alertmanager.yml that hold secrets, shown as "<secret>" wherever the config
// is shown (the one list for this schema; see fw_secret.h for the path syntax).
extern const struct fw_secret_path alertd_cfg_secrets[];

#endif
