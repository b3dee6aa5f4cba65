/*  alertd_cfg.c — alertmanager.yml field tables, loading and Alertmanager's cross-checks.

    Tables mirror Alertmanager's config structs (config/config.go). Keys alertd does not act
    on (the integrations nobody delivers yet, templates, parts of http_config, tracing) are
    FW_CFG_UNSUPPORTED: refused at the key with file:line:column and "not supported by
    floorwatch", never accepted and ignored. The global credentials of those integrations
    stay table fields, since Alertmanager's checks read them (at most one of X and X_file, a
    receiver's key from global); alertd_cfgcheck refuses them at their key. After
    fw_cfg_load(), s_check() walks the result for the rules that span several keys,
    reporting at the position fw_cfg recorded for the enclosing mapping.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_teams.h"
#include "alertd_cfg_discord.h"
#include "alertd_cfg_webex.h"
#include "alertd_cfg_opsgenie.h"
#include "alertd_cfg_wechat.h"
#include "alertd_cfg_victorops.h"
#include "alertd_cfg_pushover.h"
#include "alertd_cfg_rocketchat.h"
#include "alertd_cfg_sns.h"
#include "alertd_cfg_mattermost.h"
#include "alertd_cfg_telegram.h"
#include "alertd_cfg_tmpl.h"
#include "alertd_cfg_email.h"
#include "alertd_cfgcheck.h"
#include "alertd_matcher.h"
#include "fw_mem.h"
#include "fw_names.h"
#include "fw_secret.h"
#include "fw_time.h"

// --- value checks (run by fw_cfg on each scalar) ---

static int
s_check_duration(const char *value, const char *file, struct fw_cfg_pos pos,
                 struct fw_cfg_errors *errs)
{
    int64_t ms;
    if (fw_duration_parse(value, &ms) == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos, "not a valid duration string: \"%s\"", value);
    return -1;
}

static int
s_check_group_by(const char *value, const char *file, struct fw_cfg_pos pos,
                 struct fw_cfg_errors *errs)
{
    if (strcmp(value, "...") == 0 || fw_names_label_valid(value, FW_NAMES_UTF8))
        return 0;
    fw_cfg_errors_add(errs, file, pos, "invalid label name \"%s\" in group_by list", value);
    return -1;
}

static int
s_check_matcher(const char *value, const char *file, struct fw_cfg_pos pos,
                struct fw_cfg_errors *errs)
{
    struct alertd_matchers ms = {0};
    fw_err_t err;
    fw_err_clear(&err);
    int rc = alertd_matchers_parse(&ms, value, &err);
    alertd_matchers_clear(&ms);
    if (rc == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos, "%s", err.msg);
    return -1;
}

static int
s_check_label_name(const char *value, const char *file, struct fw_cfg_pos pos,
                   struct fw_cfg_errors *errs)
{
    if (fw_names_label_valid(value, FW_NAMES_UTF8))
        return 0;
    fw_cfg_errors_add(errs, file, pos, "invalid label name \"%s\"", value);
    return -1;
}

// --- tables ---

// A key alertd knows and does not do: refused at the key, "sect.key: not supported by
// floorwatch" (fw_cfg). F_ONLY accepts the listed values, which describe what alertd does
// anyway; F_WHY (alertd_cfg_fields.h) adds a note.
#define F_NO(k) FW_CFG_NO(k)
#define F_ONLY(k, vals, why) FW_CFG_ONLY(k, vals, why)
#define F_LIST(k, T, m, chk)                                                                       \
    {                                                                                              \
        .key = k, .type = FW_CFG_STR_LIST, .off = offsetof(T, m),                                  \
        .count_off = offsetof(T, m##_len), .check = chk                                            \
    }

static const struct fw_cfg_field s_webhook_fields[] = {
    F_POS(struct alertd_cfg_webhook, pos),
    F_STR("url", struct alertd_cfg_webhook, url),
    F_STR("url_file", struct alertd_cfg_webhook, url_file),
    {.key = "send_resolved",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct alertd_cfg_webhook, send_resolved),
     .def = "true"},
    {.key = "max_alerts",
     .type = FW_CFG_INT,
     .off = offsetof(struct alertd_cfg_webhook, max_alerts),
     .def = "0",
     .min = 0,
     .max = 1e9},
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct alertd_cfg_webhook, http),
     .child = alertd_cfg_http_fields},
    F_NO("timeout"),
    {NULL},
};

static const struct fw_cfg_field s_receiver_fields[] = {
    F_POS(struct alertd_cfg_receiver, pos),
    {.key = "name",
     .type = FW_CFG_STR,
     .off = offsetof(struct alertd_cfg_receiver, name),
     .required = true},
    {.key = "webhook_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, webhooks),
     .count_off = offsetof(struct alertd_cfg_receiver, webhooks_len),
     .elem_size = sizeof(struct alertd_cfg_webhook),
     .child = s_webhook_fields},
    {.key = "email_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, email),
     .count_off = offsetof(struct alertd_cfg_receiver, email_len),
     .elem_size = sizeof(struct alertd_cfg_email),
     .child = alertd_cfg_email_fields},
    {.key = "pagerduty_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, pagerduty),
     .count_off = offsetof(struct alertd_cfg_receiver, pagerduty_len),
     .elem_size = sizeof(struct alertd_cfg_pagerduty),
     .child = alertd_cfg_pagerduty_fields},
    {.key = "slack_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, slack),
     .count_off = offsetof(struct alertd_cfg_receiver, slack_len),
     .elem_size = sizeof(struct alertd_cfg_slack),
     .child = alertd_cfg_slack_fields},
    {.key = "msteams_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, msteams),
     .count_off = offsetof(struct alertd_cfg_receiver, msteams_len),
     .elem_size = sizeof(struct alertd_cfg_msteams),
     .child = alertd_cfg_msteams_fields},
    {.key = "msteamsv2_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, msteamsv2),
     .count_off = offsetof(struct alertd_cfg_receiver, msteamsv2_len),
     .elem_size = sizeof(struct alertd_cfg_msteams),
     .child = alertd_cfg_msteamsv2_fields},
    // floorwatch's own receiver type (alertd_cfg_teams.h): SMS through Azure Communication
    // Services.
    {.key = "azuresms_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, azuresms),
     .count_off = offsetof(struct alertd_cfg_receiver, azuresms_len),
     .elem_size = sizeof(struct alertd_cfg_azuresms),
     .child = alertd_cfg_azuresms_fields},
    {.key = "discord_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, discord),
     .count_off = offsetof(struct alertd_cfg_receiver, discord_len),
     .elem_size = sizeof(struct alertd_cfg_discord),
     .child = alertd_cfg_discord_fields},
    {.key = "webex_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, webex),
     .count_off = offsetof(struct alertd_cfg_receiver, webex_len),
     .elem_size = sizeof(struct alertd_cfg_webex),
     .child = alertd_cfg_webex_fields},
    {.key = "opsgenie_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, opsgenie),
     .count_off = offsetof(struct alertd_cfg_receiver, opsgenie_len),
     .elem_size = sizeof(struct alertd_cfg_opsgenie),
     .child = alertd_cfg_opsgenie_fields},
    {.key = "wechat_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, wechat),
     .count_off = offsetof(struct alertd_cfg_receiver, wechat_len),
     .elem_size = sizeof(struct alertd_cfg_wechat),
     .child = alertd_cfg_wechat_fields},
    {.key = "victorops_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, victorops),
     .count_off = offsetof(struct alertd_cfg_receiver, victorops_len),
     .elem_size = sizeof(struct alertd_cfg_victorops),
     .child = alertd_cfg_victorops_fields},
    {.key = "pushover_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, pushover),
     .count_off = offsetof(struct alertd_cfg_receiver, pushover_len),
     .elem_size = sizeof(struct alertd_cfg_pushover),
     .child = alertd_cfg_pushover_fields},
    {.key = "rocketchat_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, rocketchat),
     .count_off = offsetof(struct alertd_cfg_receiver, rocketchat_len),
     .elem_size = sizeof(struct alertd_cfg_rocketchat),
     .child = alertd_cfg_rocketchat_fields},
    {.key = "sns_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, sns),
     .count_off = offsetof(struct alertd_cfg_receiver, sns_len),
     .elem_size = sizeof(struct alertd_cfg_sns),
     .child = alertd_cfg_sns_fields},
    {.key = "mattermost_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, mattermost),
     .count_off = offsetof(struct alertd_cfg_receiver, mattermost_len),
     .elem_size = sizeof(struct alertd_cfg_mattermost),
     .child = alertd_cfg_mattermost_fields},
    {.key = "telegram_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_receiver, telegram),
     .count_off = offsetof(struct alertd_cfg_receiver, telegram_len),
     .elem_size = sizeof(struct alertd_cfg_telegram),
     .child = alertd_cfg_telegram_fields},
    // floorwatch's delivery extensions (alertd_cfg_delivery.h)
    {.key = "fw_timeout",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct alertd_cfg_receiver, fw_timeout),
     .min = 1,
     .max = 3600000},
    {.key = "fw_rate_limit",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct alertd_cfg_receiver, fw_rate_limit),
     .child = alertd_cfg_rate_limit_fields},
    F_NO("jira_configs"),
    F_NO("incidentio_configs"),
    {NULL},
};

#define T struct alertd_cfg_route
const struct fw_cfg_field alertd_cfg_route_fields[] = {
    F_POS(T, pos),
    F_STR("receiver", T, receiver),
    F_LIST("group_by", T, group_by, s_check_group_by),
    {.key = "continue", .type = FW_CFG_BOOL, .off = offsetof(T, cont), .def = "false"},
    {.key = "match", .type = FW_CFG_STR_MAP, .off = offsetof(T, match)},
    {.key = "match_re", .type = FW_CFG_STR_MAP, .off = offsetof(T, match_re)},
    F_LIST("matchers", T, matchers, s_check_matcher),
    {.key = "group_wait",
     .type = FW_CFG_STR,
     .off = offsetof(T, group_wait),
     .check = s_check_duration},
    {.key = "group_interval",
     .type = FW_CFG_STR,
     .off = offsetof(T, group_interval),
     .check = s_check_duration},
    {.key = "repeat_interval",
     .type = FW_CFG_STR,
     .off = offsetof(T, repeat_interval),
     .check = s_check_duration},
    F_LIST("mute_time_intervals", T, mute_time_intervals, NULL),
    F_LIST("active_time_intervals", T, active_time_intervals, NULL),
    {.key = "routes",
     .type = FW_CFG_LIST,
     .off = offsetof(T, routes),
     .count_off = offsetof(T, routes_len),
     .elem_size = sizeof(T),
     .child = alertd_cfg_route_fields},
    {NULL},
};
#undef T

#define T struct alertd_cfg_inhibit
static const struct fw_cfg_field s_inhibit_fields[] = {
    F_POS(T, pos),
    {.key = "source_match", .type = FW_CFG_STR_MAP, .off = offsetof(T, source_match)},
    {.key = "source_match_re", .type = FW_CFG_STR_MAP, .off = offsetof(T, source_match_re)},
    F_LIST("source_matchers", T, source_matchers, s_check_matcher),
    {.key = "target_match", .type = FW_CFG_STR_MAP, .off = offsetof(T, target_match)},
    {.key = "target_match_re", .type = FW_CFG_STR_MAP, .off = offsetof(T, target_match_re)},
    F_LIST("target_matchers", T, target_matchers, s_check_matcher),
    F_LIST("equal", T, equal, s_check_label_name),
    // floorwatch's own key (Alertmanager refuses it as an unknown field).
    {.key = "equal_required",
     .type = FW_CFG_BOOL,
     .off = offsetof(T, equal_required),
     .def = "false"},
    {NULL},
};
#undef T

static const struct fw_cfg_field s_ti_times_fields[] = {
    F_STR("start_time", struct alertd_cfg_ti_times, start_time),
    F_STR("end_time", struct alertd_cfg_ti_times, end_time),
    {NULL},
};

#define T struct alertd_cfg_ti_spec
static const struct fw_cfg_field s_ti_spec_fields[] = {
    F_POS(T, pos),
    {.key = "times",
     .type = FW_CFG_LIST,
     .off = offsetof(T, times),
     .count_off = offsetof(T, times_len),
     .elem_size = sizeof(struct alertd_cfg_ti_times),
     .child = s_ti_times_fields},
    F_LIST("weekdays", T, weekdays, NULL),
    F_LIST("days_of_month", T, days_of_month, NULL),
    F_LIST("months", T, months, NULL),
    F_LIST("years", T, years, NULL),
    F_STR("location", T, location),
    {NULL},
};
#undef T

static const struct fw_cfg_field s_time_interval_fields[] = {
    F_POS(struct alertd_cfg_time_interval, pos),
    {.key = "name",
     .type = FW_CFG_STR,
     .off = offsetof(struct alertd_cfg_time_interval, name),
     .required = true},
    {.key = "time_intervals",
     .type = FW_CFG_LIST,
     .off = offsetof(struct alertd_cfg_time_interval, specs),
     .count_off = offsetof(struct alertd_cfg_time_interval, specs_len),
     .elem_size = sizeof(struct alertd_cfg_ti_spec),
     .child = s_ti_spec_fields},
    {NULL},
};

#define T struct alertd_cfg_global
static const struct fw_cfg_field s_global_fields[] = {
    F_POS(T, pos),
    {.key = "resolve_timeout",
     .type = FW_CFG_DURATION,
     .off = offsetof(T, resolve_timeout),
     .def = "5m",
     .min = 1,
     .max = 1e12},
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    F_STR("smtp_from", T, smtp.from),
    F_STR("smtp_hello", T, smtp.hello),
    F_STR("smtp_smarthost", T, smtp.smarthost),
    F_STR("smtp_auth_username", T, smtp.auth_username),
    F_STR("smtp_auth_identity", T, smtp.auth_identity),
    {.key = "smtp_require_tls",
     .type = FW_CFG_BOOL,
     .off = offsetof(T, smtp.require_tls),
     .def = "true"},
    {.key = "smtp_tls_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, smtp.tls),
     .child = alertd_cfg_smtp_tls_fields},
    {.key = "smtp_force_implicit_tls",
     .type = FW_CFG_STR,
     .off = offsetof(T, smtp.force_implicit_tls),
     .check = alertd_cfg_check_bool_text},
    F_STR("smtp_auth_password", T, smtp_auth_password),
    F_STR("smtp_auth_password_file", T, smtp_auth_password_file),
    F_STR("smtp_auth_secret", T, smtp_auth_secret),
    F_STR("smtp_auth_secret_file", T, smtp_auth_secret_file),
    F_STR("slack_api_url", T, slack_api_url),
    F_STR("slack_api_url_file", T, slack_api_url_file),
    F_STR("slack_app_token", T, slack_app_token),
    F_STR("slack_app_token_file", T, slack_app_token_file),
    F_STR("slack_app_url", T, slack_app_url),
    F_STR("opsgenie_api_key", T, opsgenie_api_key),
    F_STR("opsgenie_api_key_file", T, opsgenie_api_key_file),
    F_STR("opsgenie_api_url", T, opsgenie_api_url),
    F_STR("victorops_api_key", T, victorops_api_key),
    F_STR("victorops_api_key_file", T, victorops_api_key_file),
    F_STR("victorops_api_url", T, victorops_api_url),
    F_STR("wechat_api_secret", T, wechat_api_secret),
    F_STR("wechat_api_secret_file", T, wechat_api_secret_file),
    F_STR("wechat_api_url", T, wechat_api_url),
    F_STR("wechat_api_corp_id", T, wechat_api_corp_id),
    F_STR("telegram_bot_token", T, telegram_bot_token),
    F_STR("telegram_bot_token_file", T, telegram_bot_token_file),
    F_STR("telegram_api_url", T, telegram_api_url),
    F_STR("rocketchat_token", T, rocketchat_token),
    F_STR("rocketchat_token_file", T, rocketchat_token_file),
    F_STR("rocketchat_token_id", T, rocketchat_token_id),
    F_STR("rocketchat_token_id_file", T, rocketchat_token_id_file),
    F_STR("rocketchat_api_url", T, rocketchat_api_url),
    F_STR("mattermost_webhook_url", T, mattermost_webhook_url),
    F_STR("mattermost_webhook_url_file", T, mattermost_webhook_url_file),
    F_STR("pagerduty_url", T, pagerduty_url),
    F_STR("webex_api_url", T, webex_api_url),
    F_NO("jira_api_url"),
    F_NO("discord_webhook_url"),
    F_NO("msteams_webhook_url"),
    F_NO("incidentio_url"),
    {NULL},
};
#undef T

#define T struct alertd_cfg
static const struct fw_cfg_field s_fields[] = {
    {.key = "global", .type = FW_CFG_STRUCT, .off = offsetof(T, global), .child = s_global_fields},
    {.key = "route",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, route),
     .child = alertd_cfg_route_fields,
     .required = true},
    {.key = "inhibit_rules",
     .type = FW_CFG_LIST,
     .off = offsetof(T, inhibit_rules),
     .count_off = offsetof(T, inhibit_rules_len),
     .elem_size = sizeof(struct alertd_cfg_inhibit),
     .child = s_inhibit_fields},
    {.key = "receivers",
     .type = FW_CFG_LIST,
     .off = offsetof(T, receivers),
     .count_off = offsetof(T, receivers_len),
     .elem_size = sizeof(struct alertd_cfg_receiver),
     .child = s_receiver_fields},
    F_LIST("templates", T, templates, NULL),
    {.key = "time_intervals",
     .type = FW_CFG_LIST,
     .off = offsetof(T, time_intervals),
     .count_off = offsetof(T, time_intervals_len),
     .elem_size = sizeof(struct alertd_cfg_time_interval),
     .child = s_time_interval_fields},
    {.key = "mute_time_intervals",
     .type = FW_CFG_LIST,
     .off = offsetof(T, mute_time_intervals),
     .count_off = offsetof(T, mute_time_intervals_len),
     .elem_size = sizeof(struct alertd_cfg_time_interval),
     .child = s_time_interval_fields},
    F_NO("tracing"),
    {NULL},
};
#undef T

// --- secrets ---

#define S_SECRET(p)                                                                                \
    {                                                                                              \
        (p), FW_SECRET_VALUE                                                                       \
    }
#define S_URL(p)                                                                                   \
    {                                                                                              \
        (p), FW_SECRET_URL_USERINFO                                                                \
    }
#define S_ORIGIN(p)                                                                                \
    {                                                                                              \
        (p), FW_SECRET_URL_ORIGIN                                                                  \
    }

// Every value of alertmanager.yml that Alertmanager (0.26 and later) holds as a Secret,
// SecretURL or SecretTemplateURL, and so shows as "<secret>" (config.go, notifiers.go,
// notify/<integration>/config.go, prometheus/common's HTTPClientConfig, TLSConfig and
// Headers, prometheus/sigv4); proxy_url is a prometheus/common URL, whose password shows
// as "xxxxx". This is the one list for this schema: /api/v2/status and every other place
// that shows the config derive from it.
const struct fw_secret_path alertd_cfg_secrets[] = {
    S_SECRET("global.smtp_auth_password"),
    S_SECRET("global.smtp_auth_secret"),
    S_SECRET("global.slack_api_url"),
    S_SECRET("global.slack_app_token"),
    S_SECRET("global.opsgenie_api_key"),
    S_SECRET("global.wechat_api_secret"),
    S_SECRET("global.victorops_api_key"),
    S_SECRET("global.telegram_bot_token"),
    S_SECRET("global.rocketchat_token"),
    S_SECRET("global.rocketchat_token_id"),
    S_SECRET("global.mattermost_webhook_url"),
    S_SECRET("receivers[].email_configs[].auth_password"),
    S_SECRET("receivers[].email_configs[].auth_secret"),
    S_SECRET("receivers[].pagerduty_configs[].routing_key"),
    S_SECRET("receivers[].pagerduty_configs[].service_key"),
    S_SECRET("receivers[].slack_configs[].api_url"),
    S_SECRET("receivers[].slack_configs[].app_token"),
    // Alertmanager 0.26+ shows "<secret>"; 0.25's amtool reads this field as a URL and
    // refuses that, so it is shown as "scheme://host:port/<secret>": a URL, its token hidden.
    S_ORIGIN("receivers[].webhook_configs[].url"),
    S_SECRET("receivers[].wechat_configs[].api_secret"),
    S_SECRET("receivers[].opsgenie_configs[].api_key"),
    S_SECRET("receivers[].victorops_configs[].api_key"),
    S_SECRET("receivers[].pushover_configs[].user_key"),
    S_SECRET("receivers[].pushover_configs[].token"),
    S_SECRET("receivers[].sns_configs[].sigv4.secret_key"),
    S_SECRET("receivers[].telegram_configs[].bot_token"),
    S_SECRET("receivers[].discord_configs[].webhook_url"),
    S_SECRET("receivers[].msteams_configs[].webhook_url"),
    S_SECRET("receivers[].msteamsv2_configs[].webhook_url"),
    // floorwatch's azuresms_configs holds no secret inline (access_key_file only); the key
    // is listed in case a file is given inline by mistake, so it is never shown.
    S_SECRET("receivers[].azuresms_configs[].access_key"),
    S_SECRET("receivers[].rocketchat_configs[].token"),
    S_SECRET("receivers[].rocketchat_configs[].token_id"),
    S_SECRET("receivers[].mattermost_configs[].webhook_url"),
    S_SECRET("receivers[].incidentio_configs[].alert_source_token"),
    // HTTP client configs (global.http_config and every integration's), TLS configs (also
    // smtp_tls_config and tracing), header secrets.
    S_SECRET("**.basic_auth.password"),
    S_SECRET("**.authorization.credentials"),
    S_SECRET("**.bearer_token"),
    S_SECRET("**.oauth2.client_secret"),
    S_SECRET("**.oauth2.client_certificate_key"),
    S_SECRET("**.tls_config.key"),
    S_SECRET("global.smtp_tls_config.key"),
    S_SECRET("**.proxy_connect_header.*[]"),
    S_SECRET("**.http_headers.*.secrets[]"),
    S_SECRET("tracing.headers.*.secrets[]"),
    S_URL("**.proxy_url"),
    {NULL, FW_SECRET_VALUE},
};

// --- cross-checks ---

struct s_ctx {
    const struct alertd_cfg *cfg;
    const char *file;
    struct fw_cfg_errors *errs;
};

static bool
s_interval_known(const struct alertd_cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->time_intervals_len; i++)
        if (cfg->time_intervals[i].name && strcmp(cfg->time_intervals[i].name, name) == 0)
            return true;
    for (size_t i = 0; i < cfg->mute_time_intervals_len; i++)
        if (cfg->mute_time_intervals[i].name && strcmp(cfg->mute_time_intervals[i].name, name) == 0)
            return true;
    return false;
}

static void
s_check_re_map(struct s_ctx *c, const struct fw_labels *m, struct fw_cfg_pos pos, const char *what)
{
    for (size_t i = 0; i < m->len; i++) {
        fw_err_t err;
        fw_err_clear(&err);
        if (alertd_regex_check(m->items[i].value, &err) < 0)
            fw_cfg_errors_add(c->errs, c->file, pos, "%s: label %s: %s", what, m->items[i].name,
                              err.msg);
    }
    for (size_t i = 0; i < m->len; i++)
        if (!fw_names_label_valid(m->items[i].name, FW_NAMES_UTF8))
            fw_cfg_errors_add(c->errs, c->file, pos, "%s: invalid label name \"%s\"", what,
                              m->items[i].name);
}

static void
s_check_route(struct s_ctx *c, const struct alertd_cfg_route *r, bool root)
{
    if (r->receiver && !alertd_cfg_receiver(c->cfg, r->receiver))
        fw_cfg_errors_add(c->errs, c->file, r->pos, "undefined receiver \"%s\" used in route",
                          r->receiver);
    if (root) {
        if (!r->receiver || !*r->receiver)
            fw_cfg_errors_add(c->errs, c->file, r->pos,
                              "root route must specify a default receiver");
        if (r->match.len || r->match_re.len || r->matchers_len)
            fw_cfg_errors_add(c->errs, c->file, r->pos, "root route must not have any matchers");
        if (r->mute_time_intervals_len)
            fw_cfg_errors_add(c->errs, c->file, r->pos,
                              "root route must not have any mute time intervals");
        if (r->active_time_intervals_len)
            fw_cfg_errors_add(c->errs, c->file, r->pos,
                              "root route must not have any active time intervals");
        if (r->cont)
            fw_cfg_errors_add(c->errs, c->file, r->pos, "cannot have continue in root route");
    }
    s_check_re_map(c, &r->match_re, r->pos, "match_re");
    for (size_t i = 0; i < r->match.len; i++)
        if (!fw_names_label_valid(r->match.items[i].name, FW_NAMES_UTF8))
            fw_cfg_errors_add(c->errs, c->file, r->pos, "match: invalid label name \"%s\"",
                              r->match.items[i].name);
    bool all = false;
    for (size_t i = 0; i < r->group_by_len; i++) {
        if (strcmp(r->group_by[i], "...") == 0)
            all = true;
        for (size_t j = 0; j < i; j++)
            if (strcmp(r->group_by[i], r->group_by[j]) == 0)
                fw_cfg_errors_add(c->errs, c->file, r->pos, "duplicated label \"%s\" in group_by",
                                  r->group_by[i]);
    }
    if (all && r->group_by_len > 1)
        fw_cfg_errors_add(c->errs, c->file, r->pos,
                          "cannot have wildcard group_by (`...`) and other labels at the same "
                          "time");
    int64_t ms;
    if (r->group_interval && fw_duration_parse(r->group_interval, &ms) == 0 && ms == 0)
        fw_cfg_errors_add(c->errs, c->file, r->pos, "group_interval cannot be zero");
    if (r->repeat_interval && fw_duration_parse(r->repeat_interval, &ms) == 0 && ms == 0)
        fw_cfg_errors_add(c->errs, c->file, r->pos, "repeat_interval cannot be zero");
    for (size_t i = 0; i < r->mute_time_intervals_len; i++)
        if (!s_interval_known(c->cfg, r->mute_time_intervals[i]))
            fw_cfg_errors_add(c->errs, c->file, r->pos,
                              "undefined time interval \"%s\" used in route",
                              r->mute_time_intervals[i]);
    for (size_t i = 0; i < r->active_time_intervals_len; i++)
        if (!s_interval_known(c->cfg, r->active_time_intervals[i]))
            fw_cfg_errors_add(c->errs, c->file, r->pos,
                              "undefined time interval \"%s\" used in route",
                              r->active_time_intervals[i]);
    for (size_t i = 0; i < r->routes_len; i++)
        s_check_route(c, &r->routes[i], false);
}

static void
s_check_pair(struct s_ctx *c, const char *a, const char *b, const char *an, const char *bn)
{
    if (a && *a && b && *b)
        fw_cfg_errors_add(c->errs, c->file, c->cfg->global.pos,
                          "at most one of %s & %s must be configured", an, bn);
}

// email_configs, resolved with global's smtp_* keys.
static void
s_check_email(struct s_ctx *c)
{
    const struct alertd_cfg_global *g = &c->cfg->global;
    for (size_t i = 0; i < c->cfg->receivers_len; i++) {
        struct alertd_cfg_receiver *r = &c->cfg->receivers[i];
        for (size_t j = 0; j < r->email_len; j++)
            alertd_cfg_email_check(&r->email[j], &g->smtp, g->smtp_auth_password,
                                   g->smtp_auth_password_file, g->smtp_auth_secret,
                                   g->smtp_auth_secret_file, c->file, c->errs);
    }
}

static void
s_check(struct alertd_cfg *cfg, struct fw_cfg_errors *errs)
{
    struct s_ctx c = {cfg, cfg->file, errs};
    const struct alertd_cfg_global *g = &cfg->global;
#define PAIR(a, b) s_check_pair(&c, g->a, g->b, #a, #b)
    PAIR(smtp_auth_password, smtp_auth_password_file);
    PAIR(smtp_auth_secret, smtp_auth_secret_file);
    PAIR(slack_api_url, slack_api_url_file);
    PAIR(slack_app_token, slack_app_token_file);
    // A bot token goes with no webhook URL, except slack_api_url set to slack_app_url itself
    // (the old workaround for bot tokens, which config.go still takes).
    if ((alertd_cfg_set(g->slack_app_token) || alertd_cfg_set(g->slack_app_token_file)) &&
        (alertd_cfg_set(g->slack_api_url) || alertd_cfg_set(g->slack_api_url_file)) &&
        (!alertd_cfg_set(g->slack_api_url) ||
         strcmp(g->slack_api_url,
                alertd_cfg_set(g->slack_app_url) ? g->slack_app_url : ALERTD_CFG_SLACK_APP_URL) !=
             0))
        fw_cfg_errors_add(errs, cfg->file, g->pos,
                          "at most one of slack_app_token/slack_app_token_file & "
                          "slack_api_url/slack_api_url_file must be configured");
    PAIR(opsgenie_api_key, opsgenie_api_key_file);
    PAIR(victorops_api_key, victorops_api_key_file);
    PAIR(wechat_api_secret, wechat_api_secret_file);
    PAIR(telegram_bot_token, telegram_bot_token_file);
    PAIR(rocketchat_token, rocketchat_token_file);
    PAIR(rocketchat_token_id, rocketchat_token_id_file);
    PAIR(mattermost_webhook_url, mattermost_webhook_url_file);
#undef PAIR
    json_decref(cfg->global.http_json);
    cfg->global.http_json = alertd_cfg_http_derive(&cfg->global.http, cfg->file, errs);
    for (size_t i = 0; i < cfg->receivers_len; i++) {
        struct alertd_cfg_receiver *r = &cfg->receivers[i];
        if (!r->name)
            continue;
        if (!*r->name)
            fw_cfg_errors_add(errs, cfg->file, r->pos, "missing name in receiver");
        alertd_cfg_receivers_check(r, &cfg->global, cfg->file, errs);
        alertd_cfg_delivery_check(r, cfg->file, errs);
        for (size_t j = 0; j < i; j++)
            if (cfg->receivers[j].name && strcmp(cfg->receivers[j].name, r->name) == 0)
                fw_cfg_errors_add(errs, cfg->file, r->pos,
                                  "notification config name \"%s\" is not unique", r->name);
        for (size_t j = 0; j < r->webhooks_len; j++) {
            struct alertd_cfg_webhook *w = &r->webhooks[j];
            if (w->url_file) {
                char *u = alertd_cfg_receivers_secret(cfg->file, errs, w->url, w->url_file, w->pos,
                                                      "url");
                if (u) {
                    free(w->url);
                    w->url = u;
                }
            } else if (!w->url || !*w->url)
                fw_cfg_errors_add(errs, cfg->file, w->pos,
                                  "one of url or url_file must be configured");
            else if (strncmp(w->url, "http://", 7) != 0 && strncmp(w->url, "https://", 8) != 0)
                // The URL is a secret (it may hold a token): name only its scheme.
                fw_cfg_errors_add(errs, cfg->file, w->pos,
                                  "unsupported scheme \"%.*s\" in webhook url",
                                  (int)strcspn(w->url, ":/"), w->url);
            // A receiver's http_config replaces the global one entirely (Alertmanager). The
            // Authorization value and follow_redirects keep their own NOTIFY keys.
            json_t *h =
                alertd_cfg_http_effective(&w->http, w->pos, cfg->global.http_json, cfg->file, errs);
            free(w->authorization);
            w->authorization = NULL;
            json_decref(w->http_json);
            w->http_json = NULL;
            if (h) {
                const char *auth = json_string_value(json_object_get(h, "authorization"));
                w->authorization = auth ? fw_strdup(auth) : NULL;
                w->follow_redirects = json_is_true(json_object_get(h, "follow_redirects"));
                w->http_json = json_deep_copy(h);
                json_object_del(w->http_json, "authorization");
                json_object_del(w->http_json, "follow_redirects");
                if (!json_object_size(w->http_json)) {
                    json_decref(w->http_json);
                    w->http_json = NULL;
                }
            }
            json_decref(h);
        }
    }
    s_check_email(&c);
    for (size_t i = 0; i < cfg->time_intervals_len; i++)
        for (size_t j = 0; j < i; j++)
            if (cfg->time_intervals[i].name && cfg->time_intervals[j].name &&
                strcmp(cfg->time_intervals[i].name, cfg->time_intervals[j].name) == 0)
                fw_cfg_errors_add(errs, cfg->file, cfg->time_intervals[i].pos,
                                  "time interval \"%s\" is not unique",
                                  cfg->time_intervals[i].name);
    for (size_t k = 0; k < 2; k++) {
        struct alertd_cfg_time_interval *tis = k ? cfg->mute_time_intervals : cfg->time_intervals;
        size_t n = k ? cfg->mute_time_intervals_len : cfg->time_intervals_len;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < tis[i].specs_len; j++) {
                fw_err_t e;
                fw_err_clear(&e);
                if (alertd_ti_check_spec(&tis[i].specs[j], &e) < 0)
                    fw_cfg_errors_add(errs, cfg->file, tis[i].specs[j].pos, "%s", e.msg);
            }
    }
    for (size_t i = 0; i < cfg->inhibit_rules_len; i++) {
        const struct alertd_cfg_inhibit *ir = &cfg->inhibit_rules[i];
        s_check_re_map(&c, &ir->source_match_re, ir->pos, "source_match_re");
        s_check_re_map(&c, &ir->target_match_re, ir->pos, "target_match_re");
    }
    if (cfg->route.pos.line > 0) // an absent route is already reported as required
        s_check_route(&c, &cfg->route, true);
}

// --- public ---

struct alertd_cfg *
alertd_cfg_load(const char *name, const char *text, struct fw_cfg_errors *errs)
{
    struct alertd_cfg *cfg = fw_calloc(1, sizeof *cfg);
    cfg->file = fw_strdup(name);
    char *raw = NULL; // the file as written, secrets and all: never kept
    if (text) {
        raw = fw_strdup(text);
    } else {
        FILE *f = fopen(name, "r");
        if (f) {
            size_t cap = 4096, len = 0, n;
            raw = fw_malloc(cap);
            while ((n = fread(raw + len, 1, cap - len - 1, f)) > 0) {
                len += n;
                if (cap - len < 2)
                    raw = fw_realloc(raw, cap *= 2);
            }
            raw[len] = '\0';
            fclose(f);
        }
    }
    size_t before = errs->len + errs->dropped;
    int rc = fw_cfg_load(name, text, s_fields, cfg, errs);
    // Cross-checks run even after table errors so one run shows every problem; they
    // tolerate the missing pieces of a partial load.
    s_check(cfg, errs);
    cfg->template_files = alertd_cfg_tmpl_load(cfg->templates, cfg->templates_len, cfg->file, errs);
    alertd_cfgcheck_run(cfg->file, raw, &cfg->global, errs);
    if (rc == 0 && errs->len + errs->dropped == before && raw) {
        // A config that cannot be shown masked is refused rather than ever shown raw.
        fw_err_t err;
        fw_err_clear(&err);
        if (fw_secret_redact_yaml(raw, alertd_cfg_secrets, &cfg->original, &err) < 0)
            fw_cfg_errors_add(errs, name, (struct fw_cfg_pos){1, 1},
                              "cannot show the configuration with its secrets masked: %s", err.msg);
    }
    free(raw);
    if (rc < 0 || errs->len + errs->dropped > before) {
        alertd_cfg_destroy(&cfg);
        return NULL;
    }
    return cfg;
}

void
alertd_cfg_destroy(struct alertd_cfg **self_p)
{
    if (!self_p || !*self_p)
        return;
    struct alertd_cfg *self = *self_p;
    for (size_t i = 0; i < self->receivers_len; i++) {
        for (size_t j = 0; j < self->receivers[i].webhooks_len; j++) {
            free(self->receivers[i].webhooks[j].authorization);
            json_decref(self->receivers[i].webhooks[j].http_json);
        }
        alertd_cfg_receivers_clear(&self->receivers[i]);
        for (size_t j = 0; j < self->receivers[i].email_len; j++)
            alertd_cfg_email_clear(&self->receivers[i].email[j]);
    }
    json_decref(self->global.http_json);
    fw_cfg_free(s_fields, self);
    json_decref(self->template_files);
    free(self->file);
    free(self->original);
    free(self);
    *self_p = NULL;
}

const struct alertd_cfg_receiver *
alertd_cfg_receiver(const struct alertd_cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->receivers_len; i++)
        if (cfg->receivers[i].name && strcmp(cfg->receivers[i].name, name) == 0)
            return &cfg->receivers[i];
    return NULL;
}

const struct alertd_cfg_time_interval *
alertd_cfg_time_interval(const struct alertd_cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->time_intervals_len; i++)
        if (cfg->time_intervals[i].name && strcmp(cfg->time_intervals[i].name, name) == 0)
            return &cfg->time_intervals[i];
    for (size_t i = 0; i < cfg->mute_time_intervals_len; i++)
        if (cfg->mute_time_intervals[i].name && strcmp(cfg->mute_time_intervals[i].name, name) == 0)
            return &cfg->mute_time_intervals[i];
    return NULL;
}

bool
alertd_cfg_in_interval(const struct alertd_cfg *cfg, const char *name, int64_t t_ms)
{
    const struct alertd_cfg_time_interval *ti = alertd_cfg_time_interval(cfg, name);
    for (size_t i = 0; ti && i < ti->specs_len; i++)
        if (alertd_ti_match(&ti->specs[i], t_ms))
            return true;
    return false;
}
