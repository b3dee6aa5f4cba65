/*  fw_matcher.h — one label matcher: `name op value` with op one of = != =~ !~.

    PromQL selectors, tsdb's index, Alertmanager routes, silences and inhibit rules all
    reduce to lists of these, and all match through this module, so the rules are written
    once: a label that is absent matches as the empty string; a regex is fully anchored and
    runs on RE2 (fw_regex) in the dialect of the project it comes from: Prometheus 3's
    `^(?s:re)$` or Alertmanager's `^(?:re)$`. Matching always decides; the only failure is
    a regex that does not compile, reported when the matcher is made.

    Parsing the text forms stays with the languages (PromQL in fw_promql.c, Alertmanager's
    matcher syntax in alertd_matcher.c); this module only holds and applies them.
*/
#ifndef FW_MATCHER_H
#define FW_MATCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_regex.h"

typedef enum {
    FW_MATCH_EQ,  // =
    FW_MATCH_NE,  // !=
    FW_MATCH_RE,  // =~
    FW_MATCH_NRE, // !~
} fw_match_op_t;

struct fw_matcher {
    fw_match_op_t op;
    char *name;     // owned
    char *value;    // owned: the literal, or the regex as written
    fw_regex_t *re; // owned: compiled value for =~ and !~, NULL otherwise
};

// Make *m from copies of name and value; a regex is compiled in `dialect`. 0, or -1 with
// err (Go's regexp message) and *m zeroed.
int fw_matcher_init(struct fw_matcher *m, fw_match_op_t op, const char *name, const char *value,
                    fw_regex_dialect_t dialect, fw_err_t *err);
// Make *dst an independent copy of src (the regex is recompiled from its source).
void fw_matcher_copy(struct fw_matcher *dst, const struct fw_matcher *src);
// Free what *m owns and zero it; a zeroed matcher may be cleared again.
void fw_matcher_clear(struct fw_matcher *m);

// True when value (NULL: the label is absent, i.e. "") satisfies m.
bool fw_matcher_matches(const struct fw_matcher *m, const char *value);
// True when m is satisfied by a label that is absent or empty (PromQL needs at least one
// matcher that is not; a silence needs at least one positive matcher that is not).
bool fw_matcher_matches_empty(const struct fw_matcher *m);
// True when every one of ms[0..n) matches its label in l (n = 0: everything matches).
bool fw_matchers_match(const struct fw_matcher *ms, size_t n, const struct fw_labels *l);

// "=", "!=", "=~" or "!~".
const char *fw_match_op_str(fw_match_op_t op);

#endif
