/*  notifyd_text.h — Alertmanager's default notification texts (template/default.tmpl), in C.

    Until the template engine (common/fw_tmpl) renders them, each default text an integration
    uses is one C function here, selected by the name default.tmpl gives it, and renders
    exactly what Alertmanager's template produces for the same data. alertd refuses at load
    a config text that needs the engine, so notifyd only ever sees a literal text or none.

    `data` is a notification payload (Alertmanager's webhook v4 shape: receiver, status,
    alerts[], groupLabels, commonLabels, commonAnnotations, externalURL, groupKey), as
    notifyd_text_data() returns it for one integration.
*/
#ifndef NOTIFYD_TEXT_H
#define NOTIFYD_TEXT_H

#include <jansson.h>
#include <stdbool.h>

// The payload an integration sees: a deep copy; with send_resolved false the resolved alerts
// are dropped and status, commonLabels and commonAnnotations recomputed over the rest (as
// Alertmanager's RetryStage does before GetTemplateData). NULL when no alert is left.
json_t *notifyd_text_data(const json_t *payload, bool send_resolved);

// The default text called name, rendered for data: a new string, or NULL for a name this
// file does not render. Names: "__subject", "__alertmanagerURL", "slack.default.title",
// "slack.default.titlelink", "slack.default.fallback", "slack.default.username",
// "slack.default.color" (DefaultSlackConfig's color), "pagerduty.default.description",
// "pagerduty.default.client", "pagerduty.default.clientURL", "pagerduty.details.firing",
// "pagerduty.details.resolved", "pagerduty.details.num_firing",
// "pagerduty.details.num_resolved" (DefaultPagerdutyDetails), "msteams.default.title",
// "msteams.default.summary", "msteams.default.text", "msteamsv2.default.title",
// "msteamsv2.default.text", "azuresms.default.message" (floorwatch's: __subject without its
// trailing blank), and every "*.default.*" text default.tmpl leaves empty
// (slack.default.text, pretext, footer, callbackid, iconemoji, iconurl).
char *notifyd_text_default(const char *name, const json_t *data);

// Go's url.QueryEscape (template function urlquery): a new string.
char *notifyd_text_urlquery(const char *s);

// The first max runes of s (UTF-8), the last replaced by "…" when cut (Alertmanager's
// notify.TruncateInRunes): a new string; *truncated set when cut.
char *notifyd_text_truncate_runes(const char *s, size_t max, bool *truncated);

#endif
