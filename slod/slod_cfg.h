/*  slod_cfg.h — slod's configuration: service level objectives and their indicators.

    One table reads both slod's own format and Sloth's `prometheus/v1` spec files unchanged
    (https://github.com/slok/sloth, pkg/prometheus/api/v1): Sloth's top level (version,
    service, labels, slos) is a superset of slod's (evaluation_interval, slos), and an SLO
    takes either kind of SLI and Sloth's alerting block.

        version: prometheus/v1                (optional; if given, exactly this)
        service: <string>                     default service of every SLO (Sloth)
        labels: {<name>: <value>}             added to every SLO's labels (Sloth)
        evaluation_interval: 30s
        external_labels: {<name>: <value>}    as Prometheus's global.external_labels: added
                                              to alerts that lack them; $externalLabels
        alert_windows_files: [<glob>, ...]    Sloth AlertWindows catalogs (slod_windows.h)
        slos:
          - name: <string, required>
            service: <string>                 overrides the top-level service
            description: <string>
            objective: <percent, 0 < x < 100>
            window: <duration, default 30d>   the compliance period
            sli:                              exactly one of:
              good/bad: <PromQL>  total: <PromQL>      rates, with {{.window}}
              latency: {metric: <histogram base name>, selector: '<matchers>',
                        threshold: <a bucket's le, as exposed>}
              events: {error_query: <PromQL>, total_query: <PromQL>}   (Sloth)
              raw: {error_ratio_query: <PromQL>}                       (Sloth)
            labels: {<name>: <value>}
            alerting:
              name: <alertname, default SLOBurnRateHigh>
              labels: {..}  annotations: {..}
              page_alert:   {disable: <bool>, labels: {..}, annotations: {..}}
              ticket_alert: {disable: <bool>, labels: {..}, annotations: {..}}
              windows:                        replaces the SRE Workbook defaults
                - {severity: page|ticket, long: <dur>, short: <dur>, burn_rate: <float>}

    The SLO's id (label sloth_id) is "<service>-<name>", or the name without a service.
    Loading checks everything it can with file:line:col: objective range, unique ids, one
    SLI kind, that every query parses with a window substituted, that alert windows are
    windows slod evaluates, and reserved label names.
*/
#ifndef SLOD_CFG_H
#define SLOD_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_labels.h"

// The windows evaluated for every SLO besides its own period.
#define SLOD_N_FIXED_WINDOWS 7
#define SLOD_MAX_WINDOWS (SLOD_N_FIXED_WINDOWS + 1)
extern const char *const slod_fixed_windows[SLOD_N_FIXED_WINDOWS]; // "5m" ... "3d"
extern const int64_t slod_fixed_window_ms[SLOD_N_FIXED_WINDOWS];

enum slod_sli_kind {
    SLOD_SLI_EVENTS, // bad / total (from good/bad/total, events or latency)
    SLOD_SLI_RAW,    // an error ratio query (Sloth raw)
};

enum slod_severity { SLOD_PAGE, SLOD_TICKET, SLOD_N_SEVERITIES };

struct slod_latency_cfg {
    char *metric;    // owned: histogram base name (metric_bucket, metric_count)
    char *selector;  // owned: label matchers without braces; may be ""
    char *threshold; // owned: the `le` of the bucket holding good events
};

struct slod_events_cfg {
    char *error_query; // owned
    char *total_query; // owned
};

struct slod_raw_cfg {
    char *error_ratio_query; // owned
};

struct slod_sli_cfg {
    char *good, *bad, *total; // owned; NULL when absent
    struct slod_latency_cfg latency;
    struct slod_events_cfg events;
    struct slod_raw_cfg raw;
    struct fw_cfg_pos pos;
    // Derived by loading: the queries slod runs, with {{.window}}.
    enum slod_sli_kind kind;
    char *q_bad;   // owned: bad-event rate, or the error ratio for SLOD_SLI_RAW
    char *q_total; // owned: all-event rate; NULL for SLOD_SLI_RAW
};

struct slod_alert_cfg {
    bool disable;
    struct fw_labels labels;      // owned; Go templates, as annotations
    struct fw_labels annotations; // owned
    struct fw_cfg_pos pos;        // {0, 0} when absent
};

struct slod_window_cfg {
    int severity; // enum slod_severity
    int64_t long_ms, short_ms;
    double burn_rate;
    struct fw_cfg_pos pos;
    size_t long_i, short_i; // derived: indexes into the SLO's windows
};

struct slod_alerting_cfg {
    char *name;                   // owned
    struct fw_labels labels;      // owned; values are Go templates (fw_tmpl_alert.h)
    struct fw_labels annotations; // owned; values are Go templates
    struct slod_alert_cfg page_alert, ticket_alert;
    struct fw_cfg_pos pos;           // {0, 0} when absent
    struct slod_window_cfg *windows; // owned; the defaults when none are given
    size_t n_windows;
};

struct slod_slo_cfg {
    char *name;        // owned
    char *service;     // owned; may be ""
    char *description; // owned; may be ""
    double objective;  // percent
    char *window;      // owned: the period as written ("30d")
    struct slod_sli_cfg sli;
    struct fw_labels labels; // owned: the spec's labels merged with the SLO's
    struct slod_alerting_cfg alerting;
    struct fw_cfg_pos pos;
    // Derived by loading.
    char *id;          // owned: sloth_id
    int64_t window_ms; // the period
    size_t n_windows;  // evaluated windows: the fixed ones, then the period unless a duplicate
    const char *window_names[SLOD_MAX_WINDOWS]; // borrowed from slod_fixed_windows or window
    int64_t window_ms_list[SLOD_MAX_WINDOWS];
    size_t period_i; // index of the period among the windows
};

struct slod_catalog;

struct slod_cfg {
    char *version;           // owned; "prometheus/v1" or NULL
    char *service;           // owned; may be NULL
    struct fw_labels labels; // owned
    int64_t evaluation_interval_ms;
    struct fw_labels external_labels; // owned: added to alerts when absent; $externalLabels
    char **alert_windows_files; // owned: globs of Sloth AlertWindows catalogs (slod_windows.h)
    size_t n_alert_windows_files;
    struct fw_cfg_pos *alert_windows_pos; // owned: where each pattern is written
    struct slod_catalog *catalog;         // owned: the catalogs loaded; NULL when none
    struct slod_slo_cfg *slos;            // owned
    size_t n_slos;
    const char *external_url; // borrowed, set by the daemon: --web.external-url; may be NULL
};

// Load from `name` (or text, name used in messages) into out (zeroed by the callee) and
// validate. 0, or -1 with every problem in errs (cleared first). Free out with
// slod_cfg_free() either way.
int slod_cfg_load(const char *name, const char *text, struct slod_cfg *out,
                  struct fw_cfg_errors *errs);
void slod_cfg_free(struct slod_cfg *cfg);

// query with every {{.window}} replaced by window. Returns a new string (caller frees).
char *slod_cfg_expand(const char *query, const char *window);

// The SLO's error budget, 1 - objective/100.
double slod_cfg_budget(const struct slod_slo_cfg *s);

#endif
