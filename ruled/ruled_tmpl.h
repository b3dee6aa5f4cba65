/*  ruled_tmpl.h — the small subset of Go templates that alert labels and annotations use.

    Prometheus expands annotations (and label values) of alerting rules with Go's
    text/template. ruled implements the subset that rule files use in practice:

        {{ $labels.NAME }}  {{ .Labels.NAME }}     a label of the alert ("<no value>" if absent)
        {{ $value }}        {{ .Value }}           the sample value, formatted as Go's %v
        {{ $externalLabels.NAME }}                 a global.external_labels value
        {{ $externalURL }}  {{ .ExternalURL }}     --web.external-url
        "text"  12.5                               literals
        {{ X | humanize }}  {{ humanize X }}       functions, called or piped: humanize,
                                                   humanize1024, humanizePercentage,
                                                   humanizeDuration, toUpper, toLower,
                                                   printf "FMT" X (one verb: %s %v %d %f %g %e)
        {{- X -}}  {{/ * comment * /}}             whitespace trimming, comments (no spaces)

    Control actions (if, range, with, define) and variable assignment are not supported: the
    expansion fails and the caller shows "<error expanding template: ...>" as Prometheus
    does. ruled_tmpl_check() validates a template at load time the way promtool catches the
    common mistakes: unclosed actions and undefined variables ($label instead of $labels).
*/
#ifndef RULED_TMPL_H
#define RULED_TMPL_H

#include <stddef.h>

#include "fw_err.h"
#include "fw_labels.h"

struct ruled_tmpl_data {
    const struct fw_labels *labels;          // borrowed; the alert's labels
    const struct fw_labels *external_labels; // borrowed; may be NULL
    const char *external_url;                // borrowed; may be NULL
    double value;
};

// Expand text with data. Returns a new string (caller frees), or NULL with err on a
// construct outside the subset or a malformed action.
char *ruled_tmpl_expand(const char *text, const struct ruled_tmpl_data *data, fw_err_t *err);

// Check text without data: actions closed, variables defined. 0, or -1 with err (col is
// the 1-based byte offset of the problem in text).
int ruled_tmpl_check(const char *text, fw_err_t *err);

// Format v as Go's %v does for a float64 ("0.5", "1e+06", "NaN", "+Inf") into buf.
const char *ruled_tmpl_format_value(double v, char *buf, size_t size);

// Prometheus's humanize / humanizePercentage / humanizeDuration into buf.
const char *ruled_tmpl_humanize(double v, char *buf, size_t size);
const char *ruled_tmpl_humanize_percentage(double v, char *buf, size_t size);
const char *ruled_tmpl_humanize_duration(double v, char *buf, size_t size);

#endif
