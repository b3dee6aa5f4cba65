/*  alertd_matcher.h — Alertmanager label matchers: `name=value`, `name!="v"`, `name=~"re"`,
    `name!~"re"`.

    A matcher list is what a route's `matchers:` entries, its `match`/`match_re` maps, a
    silence and an inhibit rule all reduce to. Regexes are RE2 through fw_regex, anchored
    like Alertmanager's (^(?:re)$): linear time, and every match decides.
    An absent label matches as the empty string.
*/
#ifndef ALERTD_MATCHER_H
#define ALERTD_MATCHER_H

#include <stdbool.h>
#include <stddef.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_matcher.h"

struct alertd_matchers {
    struct fw_matcher *items; // owned
    size_t len, cap;
};

// Add one matcher (copies name and value; compiles the regex). 0, or -1 with err when the
// regex does not compile.
int alertd_matchers_add(struct alertd_matchers *ms, fw_match_op_t op, const char *name,
                        const char *value, fw_err_t *err);
// Parse one `matchers:` entry: a comma-separated list of matchers, optionally in braces
// ({a="b", c=~"d"}); values may be bare or double-quoted with Go escapes. Appends to ms.
// 0, or -1 with err (err->col is the 1-based byte position of the problem).
int alertd_matchers_parse(struct alertd_matchers *ms, const char *text, fw_err_t *err);
// True when every matcher matches l (an empty list matches everything).
bool alertd_matchers_match(const struct alertd_matchers *ms, const struct fw_labels *l);
// Sort by name, value, type (Alertmanager sorts a route's matchers this way).
void alertd_matchers_sort(struct alertd_matchers *ms);
// Render as Alertmanager does for route keys: {a="b",c=~"d"} (Go %q quoting). Caller frees.
char *alertd_matchers_format(const struct alertd_matchers *ms);
// Deep copy src into dst (dst empty).
void alertd_matchers_copy(struct alertd_matchers *dst, const struct alertd_matchers *src);
void alertd_matchers_clear(struct alertd_matchers *ms);
// Check that re compiles as an anchored Alertmanager pattern; 0 or -1 with err.
int alertd_regex_check(const char *re, fw_err_t *err);
// Append s Go-%q-quoted to buf (a NUL-terminated, fw_malloc'd string) and return it.
char *alertd_quote_append(char *buf, const char *s);

#endif
