/*  fw_promql.h — the PromQL parser, shared by tsdb (which evaluates) and ruled and slod
    (which validate rule and SLI expressions at config load, so a typo is a config error with
    its position rather than a failed evaluation later).

    The AST is defined by tsdb's evaluator and opaque here.
*/
#ifndef FW_PROMQL_H
#define FW_PROMQL_H

#include "fw_err.h"

typedef struct fw_promql_expr fw_promql_expr_t;

// Parse text. Returns the AST (caller destroys), or NULL with err: err->col is the 1-based
// byte position of the problem in text, err->msg says what was expected
// ("unexpected identifier \"by\" at position 12, expected ...").
fw_promql_expr_t *fw_promql_parse(const char *text, fw_err_t *err);
void fw_promql_expr_destroy(fw_promql_expr_t **self_p);

#endif
