/*  ruled_rules.h — Prometheus rule files and the ruled configuration that names them.

    A rule file is Prometheus's format (model/rulefmt):

        groups:
          - name: <string, required, unique in the file>
            interval: <duration, default global.evaluation_interval>
            limit: <int, 0 = no limit on series per rule>
            query_offset: <duration, evaluate this far in the past>
            labels: {<name>: <value>}              added to every rule of the group
            rules:
              - record: <metric name>   |  alert: <alert name>
                expr: <PromQL, required>
                for: <duration>                    alerting rules only
                keep_firing_for: <duration>        alerting rules only
                labels: {<name>: <template>}
                annotations: {<name>: <template>}  alerting rules only

    Loading checks what promtool's rulefmt checks, each problem with file:line:col: a group
    name is required and unique per file; a rule sets exactly one of record and alert; a
    record name is a valid metric name; for/keep_firing_for are not allowed on recording
    rules; label and annotation names are valid (the record name and the names are any
    UTF-8, as Prometheus 3 accepts, or the legacy character sets under
    global.metric_name_validation_scheme legacy; the reserved __name__ is refused); expr is
    present and parses (fw_promql_parse); alert templates have closed actions and known
    variables.

    Flap damping, which Prometheus lacks, rides in annotations with the reserved prefix
    `floorwatch_`, since promtool (2.42) refuses any key it does not know in a rule or group
    but takes any annotation, so the file stays a Prometheus rule file:

        annotations:
          floorwatch_clear: <PromQL>   hysteresis: a firing alert resolves only at an
                                       evaluation where this returns a sample whose labels
                                       all appear, with the same values, in the alert's
          floorwatch_hold: <duration>  a firing alert stays firing at least this long

    Both apply to firing alerts whose expression no longer returns them (pending alerts
    and keep_firing_for behave as in Prometheus; keep_firing_for starts once damping lets
    go). A bad expression or duration, another floorwatch_* annotation, or either on a
    recording rule is an error at load. They stay annotations, as Prometheus shows them.
*/
#ifndef RULED_RULES_H
#define RULED_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_names.h"
#include "fw_promcfg.h"

struct ruled_rule_cfg {
    char *record; // owned; NULL for alerting rules
    char *alert;  // owned; NULL for recording rules
    char *expr;   // owned
    int64_t for_ms;
    int64_t keep_firing_for_ms;
    struct fw_labels labels;      // owned
    struct fw_labels annotations; // owned
    struct fw_cfg_pos pos;
    // Flap damping (floorwatch's extension, from the reserved annotations; see below):
    const char *clear_expr; // borrowed from annotations: floorwatch_clear, or NULL
    int64_t hold_ms;        // floorwatch_hold, 0 for none
};

struct ruled_group_cfg {
    char *name;          // owned
    int64_t interval_ms; // 0: the global evaluation interval
    int64_t limit;
    int64_t query_offset_ms;
    struct fw_labels labels;      // owned
    struct ruled_rule_cfg *rules; // owned
    size_t n_rules;
    struct fw_cfg_pos pos;
};

struct ruled_rulefile {
    char *name;                     // owned: the path (or embedded name) used in messages
    struct ruled_group_cfg *groups; // owned
    size_t n_groups;
};

// The whole configuration: the prometheus.yml and every rule file its rule_files name.
struct ruled_config {
    struct fw_promcfg prom;       // owned
    struct ruled_rulefile *files; // owned
    size_t n_files;
};

// Load one rule file from `name` (or from text, with name used in messages) into out
// (zeroed by the callee) and validate it. 0, or -1 with every problem appended to errs
// (which the caller zeroed once). out must be freed with ruled_rules_free() either way.
int ruled_rules_load(const char *name, const char *text, struct ruled_rulefile *out,
                     struct fw_cfg_errors *errs);
// The same under a name validation scheme (global.metric_name_validation_scheme: record
// names, label and annotation names; ruled_rules_load is FW_NAMES_UTF8, Prometheus 3's
// default).
int ruled_rules_load_scheme(const char *name, const char *text, fw_names_scheme_t scheme,
                            struct ruled_rulefile *out, struct fw_cfg_errors *errs);
void ruled_rules_free(struct ruled_rulefile *rf);

// Load a prometheus.yml (path NULL: the embedded ruled/ruled.example.yml, whose rule file
// ruled.rules.yml is the embedded ruled/ruled.rules.yml) and every rule file matching its
// rule_files globs (relative to the config file's directory, expanded with glob(3), sorted,
// each file once). A pattern matching nothing is logged, not an error (as Prometheus).
// 0, or -1 with every problem in errs; out must be freed with ruled_rules_config_free().
int ruled_rules_config_load(const char *path, struct ruled_config *out, struct fw_cfg_errors *errs);
void ruled_rules_config_free(struct ruled_config *cfg);

// True when the rule is an alerting rule.
bool ruled_rules_is_alert(const struct ruled_rule_cfg *r);

#endif
