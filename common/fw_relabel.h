/*  fw_relabel.h — Prometheus relabeling: relabel_configs, metric_relabel_configs (and later
    alert_relabel_configs, write_relabel_configs), with Prometheus's semantics.

    A list of struct fw_relabel_config is loaded from YAML through fw_relabel_fields (the
    child table of an FW_CFG_LIST), then fw_relabel_prepare() checks it with Prometheus's
    rules and texts (model/relabel/relabel.go Validate, e.g. "relabel configuration for
    hashmod requires non-zero modulus") at each rule's file:line:column and compiles its
    regex through fw_regex (RE2, fully anchored as "^(?s:re)$").

    fw_relabel_process() applies the rules in order to one label set, as Prometheus's
    relabel.ProcessBuilder does: replace, keep, drop, keepequal, dropequal, hashmod (md5 of
    the joined value, big-endian uint64 of bytes 8..16, mod modulus), labelmap, labeldrop,
    labelkeep, lowercase, uppercase. The source value is the source labels' values (absent:
    "") joined by separator (default ";"); regex defaults to "(.*)", replacement to "$1",
    expanded as Go's Regexp.Expand ($1, ${1}, $name, ${name}); a replace whose expanded
    target is not a valid label name writes nothing; an empty result deletes the label.

    Label names follow Prometheus 3 (relabel.Config.Validate with the job's
    metric_name_validation_scheme; the global one for remote_write): under utf8 (the default)
    target_label and labelmap's replacement are any non-empty valid UTF-8 ("${1" and "1$1"
    included: '$' is a UTF-8 character) and a replace writes any such expanded name; under
    legacy they are legacy names in which $n/${n} may stand for letters (Go's
    relabelTargetLegacy) and a replace writes legacy names only. source_labels are any UTF-8
    name under both (Prometheus checks them with model.LabelName, always utf8), and labelmap
    writes any UTF-8 name under both (Prometheus does not check it; a legacy job then fails
    at append, as Prometheus's scrape does).
    Deliberate differences: lowercase/uppercase map ASCII letters only; labelmap walks the
    set in name order (Prometheus: the original labels, then those added by earlier rules);
    labelmap skips a result that is empty or not valid UTF-8 (Prometheus sets it, and the
    series then fails to append).

    (The scraper's per-target scrape cache keeps what metric_relabel_configs made of each
    series text, so a known series is not relabeled again: scraper/scraper_cache.h.)

    Thread safety: prepared configs are immutable and may be shared.
*/
#ifndef FW_RELABEL_H
#define FW_RELABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_names.h"
#include "fw_regex.h"

typedef enum {
    FW_RELABEL_REPLACE,
    FW_RELABEL_KEEP,
    FW_RELABEL_DROP,
    FW_RELABEL_KEEPEQUAL,
    FW_RELABEL_DROPEQUAL,
    FW_RELABEL_HASHMOD,
    FW_RELABEL_LABELMAP,
    FW_RELABEL_LABELDROP,
    FW_RELABEL_LABELKEEP,
    FW_RELABEL_LOWERCASE,
    FW_RELABEL_UPPERCASE,
} fw_relabel_action_t;

struct fw_relabel_config {
    char **source_labels; // owned
    size_t n_source_labels;
    char *separator; // owned; default ";"
    char *regex;     // owned; NULL: absent, the default "(.*)"
    int64_t modulus;
    char *target_label; // owned; NULL: ""
    char *replacement;  // owned; default "$1"
    char *action;       // owned; default "replace", any case
    struct fw_cfg_pos pos;
    // set by fw_relabel_prepare():
    fw_relabel_action_t act;
    fw_names_scheme_t scheme; // the names target_label and replace may write
    fw_regex_t *re;           // owned
};

// The fields of one relabel config, for an FW_CFG_LIST of struct fw_relabel_config.
extern const struct fw_cfg_field fw_relabel_fields[];

// Check n loaded rules with Prometheus's rules under name scheme (the job's
// metric_name_validation_scheme), adding each problem to errs at the rule's position in
// file, and compile their regexes. 0, or -1 when a rule is invalid (the valid ones are still
// prepared). Call fw_relabel_release() in any case.
int fw_relabel_prepare(struct fw_relabel_config *rc, size_t n, fw_names_scheme_t scheme,
                       const char *file, struct fw_cfg_errors *errs);
// Free what fw_relabel_prepare() compiled (the strings are fw_cfg_free's).
void fw_relabel_release(struct fw_relabel_config *rc, size_t n);

// Apply n prepared rules to lset in order. False when a rule drops the set (lset is then
// left as the rules had made it so far).
bool fw_relabel_process(const struct fw_relabel_config *rc, size_t n, struct fw_labels *lset);

// One rule as text, "action=replace source_labels=[a,b] ..." for logs (caller frees).
char *fw_relabel_describe(const struct fw_relabel_config *rc);

#endif
