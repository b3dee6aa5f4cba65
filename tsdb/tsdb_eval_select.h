/*  tsdb_eval_select.h — selectors: which series a selector names and their samples at a step.

    A selector's series are selected (tsdb_store_select) and their label sets interned the
    first time it is evaluated in a query; its samples are then read with the store's
    iterators (tsdb_store_iter), which decode chunks as they go. Outside subqueries the
    evaluation times of a query only increase, so each series keeps an iterator and a sliding
    window of the samples the current step needs: a range query reads every sample once and
    holds no more than one window per series. Inside a subquery the times go back and forth,
    so each series' samples over the whole window the query can ask for are read once into
    an array and sliced by binary search per step.

    Semantics (Prometheus 3): an instant selector at t gives each series' newest sample in
    the left-open interval (t - offset - 5m, t - offset] unless that sample is a stale
    marker; a range selector gives each series' samples in (t - offset - range, t - offset]
    with stale markers left out, and no series that has none.
*/
#ifndef TSDB_EVAL_SELECT_H
#define TSDB_EVAL_SELECT_H

#include <stdint.h>

#include "fw_promql_ast.h"
#include "tsdb_eval_ctx.h"

// The instant selector e (range_ms 0) at t into out (a vector). 0, or -1 with c->rc set
// (FW_ESTORE with c->err on a storage error, FW_ETIMEOUT).
int tsdb_eval_select_vector(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                            struct tsdb_eval_val *out);

// The range selector e at t into out (a matrix whose points are borrowed from the
// selector's window: valid until e is evaluated again or the query ends). Same returns.
int tsdb_eval_select_matrix(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                            struct tsdb_eval_val *out);

// Free the selectors' state (before tsdb_eval_ctx_close, which ends the read transaction).
void tsdb_eval_select_free(tsdb_eval_ctx_t *c);

#endif
