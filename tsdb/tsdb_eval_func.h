/*  tsdb_eval_func.h — PromQL function calls: rate and the other functions of range vectors,
    element-wise math, histogram_quantile, label_replace/label_join, sort, absent, the
    date functions, as Prometheus 3's promql/functions.go computes them.
*/
#ifndef TSDB_EVAL_FUNC_H
#define TSDB_EVAL_FUNC_H

#include <stdint.h>

#include "fw_promql_ast.h"
#include "tsdb_eval_ctx.h"

// Evaluate the call e (kind FW_PQ_CALL) at t into out. 0, or -1 with c->rc set.
int tsdb_eval_func_call(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                        struct tsdb_eval_val *out);

#endif
