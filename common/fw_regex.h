/*  fw_regex.h — the project's one regular-expression module: RE2 semantics, fully anchored,
    linear time.

    Every pattern that comes from a user (PromQL matchers, label_replace, relabeling,
    Alertmanager matchers, silences, inhibit rules) goes through here. Prometheus and
    Alertmanager use Go's regexp, which is RE2: the same syntax, leftmost-first submatches,
    and no backtracking. This module wraps Google's RE2 library (Debian libre2-dev) behind a
    small C interface (fw_regex.cc is the only C++ file), so:
      - a match can never take more than time linear in the subject, and never gives up:
        there is no match limit, so there is no "cannot decide" answer to turn into a silent
        no-match;
      - the only failure is at compile time (bad syntax, or a program larger than the
        memory budget), reported with Go's error text.

    Patterns are anchored as the upstream projects anchor them: "^(?:re)$" for Alertmanager,
    "^(?s:re)$" for Prometheus 3 (PromQL and relabeling; `.` also matches a newline there).
    The source is wrapped literally, as upstream does, so `a)|(b` means what it means there.

    Thread safety: a compiled fw_regex_t is immutable; any number of threads may match with
    it at once. No per-thread state exists, so nothing leaks per thread.
*/
#ifndef FW_REGEX_H
#define FW_REGEX_H

#include <stdbool.h>
#include <stddef.h>

#include "fw_err.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fw_regex fw_regex_t;

typedef enum {
    FW_REGEX_ALERTMANAGER = 0, // ^(?:re)$ — Alertmanager matchers, silences, inhibit rules
    FW_REGEX_PROMETHEUS = 1,   // ^(?s:re)$ — PromQL, label_replace, relabeling (Prometheus 3)
    FW_REGEX_UNANCHORED = 2,   // re as is, searched: Go's regexp.Compile (template functions)
} fw_regex_dialect_t;

// Compile `pattern` in `dialect`. Returns the compiled regex, or NULL with err set to Go's
// text, e.g. "error parsing regexp: missing closing ): `(a`". Caller owns the result.
fw_regex_t *fw_regex_new(const char *pattern, fw_regex_dialect_t dialect, fw_err_t *err);

// An independent copy of self (NULL for NULL): the source recompiled in the same dialect.
fw_regex_t *fw_regex_copy(const fw_regex_t *self);

// Free; accepts NULL and sets *self_p to NULL.
void fw_regex_destroy(fw_regex_t **self_p);

// The pattern as the user wrote it (borrowed; lives as long as self).
const char *fw_regex_source(const fw_regex_t *self);

// True when the anchored pattern matches s (NULL is the empty string). Never fails.
bool fw_regex_match(const fw_regex_t *self, const char *s);
bool fw_regex_match_n(const fw_regex_t *self, const char *s, size_t len);

// When the anchored pattern matches subject, expand `tmpl` as Go's Regexp.ExpandString does
// ($1, ${1}, $name, ${name}, $$ for a dollar; a group that did not take part, or does not
// exist, expands to nothing; `$1x` names group "1x") into a new string in *out (caller frees)
// and return true. Without a match return false and leave *out alone.
bool fw_regex_replace(const fw_regex_t *self, const char *subject, const char *tmpl, char **out);

// Go's Regexp.ReplaceAllString: every non-overlapping match of the pattern in subject replaced
// by tmpl expanded as above (an empty match right after a match is not replaced). Meant for
// FW_REGEX_UNANCHORED patterns. Returns a new string (caller frees).
char *fw_regex_replace_all(const fw_regex_t *self, const char *subject, const char *tmpl);

#ifdef __cplusplus
}
#endif

#endif
