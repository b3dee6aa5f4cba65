/*  fw_tmpl_alert.h — alert label and annotation templates: Go's text/template as Prometheus runs
    them, over the project's engine (common/fw_tmpl.h).

    Prometheus expands annotations (and label values) of alerting rules with Go's
    text/template; so do ruled (alerting rules) and slod (SLO alerts), with the same data
    and variables:

        {{ $labels.NAME }}  {{ .Labels.NAME }}     a label of the alert ("" if absent)
        {{ $value }}        {{ .Value }}           the sample value, formatted as Go's %v
        {{ $externalLabels.NAME }}  {{ .ExternalLabels.NAME }}   global.external_labels
        {{ $externalURL }}  {{ .ExternalURL }}     --web.external-url

    and the whole language (if/else, range, with, define/template, variables, pipelines,
    Go's builtins) with Prometheus's functions (humanize, humanize1024, humanizeDuration,
    humanizePercentage, humanizeTimestamp, toUpper, toLower, title, match, reReplaceAll,
    printf, query, first, label, value, strvalue, sortByLabel, ...). `query` runs through
    the caller's query function (data->query: ruled's worker query client, each query bounded
    by --query.timeout) at data->query_t_ms and returns what Prometheus's does, a list of
    samples with .Labels and .Value, so `{{ with query "up" }}{{ . | first | value }}{{ end }}`
    works; without a query function (slod) it fails when run. Expansion is reentrant: the
    query function of the expansion in progress is kept per thread. A failed expansion
    leaves the error to the caller, which shows "<error expanding template: ...>" as
    Prometheus does. fw_tmpl_alert_check() parses a template at load time as Prometheus's
    rule loader does: unclosed actions, undefined variables ($label instead of $labels) and
    functions, bad syntax.
*/
#ifndef FW_TMPL_ALERT_H
#define FW_TMPL_ALERT_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_query.h"

// Evaluate expr at t_ms for a template's `query`: 0 with out (cleared first) holding the
// instant vector (or one unlabelled sample for a scalar), or -1 with err. Called on the
// expanding thread; it must bound its own wait.
typedef int (*fw_tmpl_alert_query_fn)(void *arg, const char *expr, int64_t t_ms,
                                      struct fw_vector *out, fw_err_t *err);

struct fw_tmpl_alert_data {
    const struct fw_labels *labels;          // borrowed; the alert's labels
    const struct fw_labels *external_labels; // borrowed; may be NULL
    const char *external_url;                // borrowed; may be NULL
    double value;
    const char *rule_name;        // borrowed; may be NULL (the template is "__alert_<rule_name>")
    fw_tmpl_alert_query_fn query; // NULL: `query` fails when run
    void *query_arg;              // borrowed; for query
    int64_t query_t_ms;           // the time `query` evaluates at (the rule's evaluation time)
};

// Expand text with data. Returns a new string (caller frees), or NULL with err as Prometheus
// words it ("error executing template __alert_X: template: __alert_X:1:130: executing ...").
char *fw_tmpl_alert_expand(const char *text, const struct fw_tmpl_alert_data *data, fw_err_t *err);

// Expand text with data as an alert's label or annotation value: the expansion, or on failure
// "<error expanding template: MSG>" (what Prometheus sends) with err set for the caller to log.
// Returns a new string (caller frees).
char *fw_tmpl_alert_render(const char *text, const struct fw_tmpl_alert_data *data, fw_err_t *err);

// Parse text without data. 0, or -1 with err (Go's message; line is the line in text, col the
// 1-based byte offset of the problem in text).
int fw_tmpl_alert_check(const char *text, fw_err_t *err);

// fw_tmpl_alert_check for templates expanded without a query function (slod): a call of
// query is refused at load, "query: not supported by floorwatch in these templates", rather
// than failing at every expansion. query true: fw_tmpl_alert_check.
int fw_tmpl_alert_check_query(const char *text, bool query, fw_err_t *err);

// Format v as Go's %v does for a float64 ("0.5", "1e+06", "NaN", "+Inf") into buf.
const char *fw_tmpl_alert_format_value(double v, char *buf, size_t size);

// Prometheus's humanize / humanizePercentage / humanizeDuration into buf.
const char *fw_tmpl_alert_humanize(double v, char *buf, size_t size);
const char *fw_tmpl_alert_humanize_percentage(double v, char *buf, size_t size);
const char *fw_tmpl_alert_humanize_duration(double v, char *buf, size_t size);

#endif
