/*  notifyd_tmpl.h — every notification text notifyd sends, rendered on the template engine
    (common/fw_tmpl) as Alertmanager renders it: the one way notifyd produces a text.

    A NOTIFY carries each integration's texts as alertmanager.yml wrote them (absent: the
    integration's default) and the `templates:` files' texts (`templates`: [{name, text}]).
    notifyd_tmpl_use() selects the template set for one NOTIFY: Alertmanager's functions,
    floorwatch's default templates (common/fw_tmpl_default.tmpl: every name of Alertmanager
    0.25's default.tmpl and email.tmpl, same output) and then those files, which may call and
    redefine the defaults. A set is built once per distinct set of texts (a small cache keyed
    by their hash). The data of a text is Alertmanager's template data (fw_tmpl_am_data) for
    the payload an integration sees (notifyd_tmpl_data); the last conversion is kept, so the
    texts of one integration convert their payload once.

    A config text that fails to execute is logged with its key and the integration's default
    text is sent instead (issue 8: a notification is never lost to a template error). Not
    thread-safe: notifyd's main actor calls all of these.
*/
#ifndef NOTIFYD_TMPL_H
#define NOTIFYD_TMPL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

// Select the set for the `templates` array of a NOTIFY (NULL or empty: the defaults only).
void notifyd_tmpl_use(const json_t *templates);

// The payload an integration sees: a deep copy; with send_resolved false the resolved alerts
// are dropped and status, commonLabels and commonAnnotations recomputed over the rest (as
// Alertmanager's RetryStage does before GetTemplateData). NULL when no alert is left.
json_t *notifyd_tmpl_data(const json_t *payload, bool send_resolved);

// The alerts of the array that are not resolved: a new array.
json_t *notifyd_tmpl_firing(const json_t *alerts);

// Set payload's status, commonLabels and commonAnnotations from the alerts it holds now, as
// Alertmanager's template.Data computes them over the alerts an integration is given
// (after send_resolved drops the resolved ones and a webhook's max_alerts cuts the list):
// "firing" when any alert fires, else "resolved"; the labels (annotations) every alert has
// with the same value.
void notifyd_tmpl_common_set(json_t *payload);

// Template def of the set (a default such as "slack.default.title") rendered for data (a
// payload as notifyd_tmpl_data returns it): a new string; "" (logged) when it fails.
char *notifyd_tmpl_default(const char *def, const json_t *data);

// The config text `text` of key `name` rendered for data: a new string. NULL text, or a
// template error (logged), gives the default def (NULL: ""). A text without "{{" is returned
// as is.
char *notifyd_tmpl_text(const char *name, const char *text, const json_t *data, const char *def);

// notifyd_tmpl_text of config's string at key (absent: NULL), the default the one of key in
// array's configs (fw_tmpl_am_key_default; array NULL: none).
char *notifyd_tmpl_key(const json_t *config, const char *array, const char *key,
                       const json_t *data);

// notifyd_tmpl_text in HTML mode (html/template's escaping; email html): NULL text renders
// def, as do errors.
char *notifyd_tmpl_html(const char *name, const char *text, const json_t *data, const char *def);

// The first max runes of s (UTF-8), the last replaced by "…" when cut (Alertmanager's
// notify.TruncateInRunes): a new string; *truncated set when cut.
char *notifyd_tmpl_truncate_runes(const char *s, size_t max, bool *truncated);

// Free the cached sets and data (at exit).
void notifyd_tmpl_shutdown(void);

#endif
