/*  fw_promql.h — the PromQL parser, shared by tsdb (which evaluates) and ruled and slod
    (which validate rule and SLI expressions at config load, so a typo is a config error with
    its position rather than a failed evaluation later).

    The AST is defined by tsdb's evaluator and opaque here.
*/
#ifndef FW_PROMQL_H
#define FW_PROMQL_H

#include "fw_err.h"

typedef struct fw_promql_expr fw_promql_expr_t;

// Deepest nesting an expression may have: levels of the syntax tree (parentheses, calls,
// aggregations, operators; a chain `a + b + c` is one level per operator). Deeper input is
// a parse error ("expression nests too deeply"), so no walk of a parsed tree can overflow
// the stack: 1000 levels take at most about 4 MiB of stack in tsdb's evaluator, even under
// AddressSanitizer, within the 8 MiB of the main thread and of every fw_http thread.
#define FW_PROMQL_MAX_DEPTH 1000

// Parse text. Returns the AST (caller destroys), or NULL with err: err->col is the 1-based
// byte position of the problem in text, err->msg says what was expected
// ("unexpected identifier \"by\" at position 12, expected ...").
fw_promql_expr_t *fw_promql_parse(const char *text, fw_err_t *err);
// Parse text as one metric selector and nothing else, as Prometheus's ParseMetricSelector
// does for /federate's match[] (fw_promql_selector.c): `{foo=""}` is allowed (no
// non-empty-matcher rule), and a token outside the selector is "unexpected <op:->",
// "unexpected <by>", "unexpected \"(\"", ... at its position.
fw_promql_expr_t *fw_promql_parse_match(const char *text, fw_err_t *err);
void fw_promql_expr_destroy(fw_promql_expr_t **self_p);

#endif
