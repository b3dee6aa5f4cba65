/*  tsdb_eval_binop.h — PromQL binary operators: arithmetic, comparisons (filtering or
    `bool`) and the set operators and/or/unless, between scalars and instant vectors, with
    on/ignoring matching and group_left/group_right, as Prometheus 3 defines them.
*/
#ifndef TSDB_EVAL_BINOP_H
#define TSDB_EVAL_BINOP_H

#include <stdint.h>

#include "fw_promql_ast.h"
#include "tsdb_eval_ctx.h"

// Evaluate the binary expression e (kind FW_PQ_BINARY) at t into out. 0, or -1 with c->rc
// set (many-to-many matching and duplicate output series are execution errors).
int tsdb_eval_binop(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *out);

#endif
