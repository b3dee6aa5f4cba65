/*  tsdb_eval_agg.h — PromQL aggregations (sum, avg, min, max, count, group, stddev, stdvar,
    topk, bottomk, quantile) with by/without grouping, as Prometheus 3 computes them.
*/
#ifndef TSDB_EVAL_AGG_H
#define TSDB_EVAL_AGG_H

#include <stdint.h>

#include "fw_promql_ast.h"
#include "tsdb_eval_ctx.h"

// Evaluate the aggregation e (kind FW_PQ_AGG) at t into out. 0, or -1 with c->rc set.
int tsdb_eval_agg(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *out);

#endif
