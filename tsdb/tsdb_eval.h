/*  tsdb_eval.h — PromQL evaluation over tsdb_store.

    Evaluates a parsed expression (fw_promql_ast.h) at one instant, or at every step of a
    range (a range query is the instant evaluation repeated per step, merged by label
    set, as Prometheus defines it). Semantics follow Prometheus 3: instant selectors look
    back 5 minutes over the left-open interval (t-5m, t], range selectors select (t-r, t],
    stale markers end a series and are never returned, rate/increase/delta extrapolate as
    promql/functions.go extrapolatedRate does, arithmetic drops __name__.

    One read transaction per query. Selectors read through the store's iterators, decoding
    chunks as they go: outside subqueries each series keeps a sliding window, so a range
    query reads each sample once and holds one window per series, never the whole query
    range. Label sets are interned per query and hashed with fw_labels_hash; after the
    first step of a range query the evaluator allocates nothing per step or per point
    (tsdb_eval_int.h). The parts: tsdb_eval.c (tree walk, subqueries, entry points),
    tsdb_eval_ctx.c (context, interning, buffers), tsdb_eval_select.c, tsdb_eval_func.c,
    tsdb_eval_agg.c, tsdb_eval_binop.c and tsdb_eval_math.c.
*/
#ifndef TSDB_EVAL_H
#define TSDB_EVAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_sample.h"
#include "fw_promql_ast.h"
#include "tsdb_store.h"

#define TSDB_EVAL_LOOKBACK_MS (5 * 60 * 1000)

struct tsdb_eval_series {
    struct fw_labels labels; // owned: items and strings in one block (one allocation per
                             // series, not one per string); free it with
                             // tsdb_eval_series_clear_labels, never fw_labels_clear/set/del
    struct fw_sample *pts;   // owned; a vector element has exactly one point (t = eval time)
    size_t len, cap;
};

// An annotation for the answer's "warnings" or "infos" (Prometheus's util/annotations).
struct tsdb_eval_anno {
    bool info; // an info rather than a warning
    int pos;   // byte offset in the query of the expression it is about
    char *msg; // owned: the text after "PromQL warning: " or "PromQL info: "
};

struct tsdb_eval_result {
    fw_pq_type_t type;               // FW_PQ_SCALAR, FW_PQ_VECTOR, FW_PQ_MATRIX or FW_PQ_STRING
    int64_t t_ms;                    // evaluation time of an instant query
    double scalar;                   // FW_PQ_SCALAR
    char *str;                       // owned; FW_PQ_STRING
    struct tsdb_eval_series *series; // owned; FW_PQ_VECTOR and FW_PQ_MATRIX, sorted by labels
    size_t len;
    struct tsdb_eval_anno *annos; // owned; distinct, in the order they arose
    size_t n_annos;
};

// What one evaluation loaded (Prometheus's query stats "samples"): with
// tsdb_eval_limit.sample_stats, totalQueryableSamples and peakSamples as Prometheus 2.42
// counts them; without, tsdb's own: the samples its selectors gave, summed over the steps,
// and the most it held in memory at once.
struct tsdb_eval_stats {
    int64_t total_samples;  // totalQueryableSamples
    int64_t peak_samples;   // peakSamples
    int64_t rollup_buckets; // stored rollup buckets read (tsdb_rollup.h; not in the answer)
    int64_t selects;        // selectors read (once per selector and evaluation time): the
                            // work the evaluator did, for tests; in no answer
};

// What bounds one evaluation (limit may be NULL, members 0/NULL for none): a deadline on the
// fw_time_mono_ms() clock, a flag another thread may set to stop it (shutdown), and the
// most samples it may hold in memory at once (--query.max-samples, counted as Prometheus
// counts them: the samples of selector windows, of instant-vector selections and of the
// result being built; above it the evaluation fails with Prometheus's "query processing
// would load too many samples into memory in query execution").
struct tsdb_eval_limit {
    int64_t deadline_mono_ms;
    const atomic_bool *cancel;     // borrowed; must outlive the evaluation
    int64_t max_samples;           // 0: none; TSDB_EVAL_NO_SAMPLES: not one
    struct tsdb_eval_stats *stats; // borrowed, may be NULL: filled when the evaluation ends
    bool delay_names;  // not a limit but how names go: Prometheus 3's delayed name removal
                       // (--enable-feature=promql-delayed-name-removal): a function or
                       // operator only marks __name__ (with __type__ and __unit__) for
                       // removal, label functions and aggregations still see it, and it
                       // goes when the query ends
    bool no_rollups;   // read raw samples only, never rollups (tsdb_rollup.h)
    bool sample_stats; // stats's samples as Prometheus counts them (tsdb_eval_stats.c;
                       // costs an entry per node and step; exact with no_rollups, else
                       // tsdb's own when rollups answered); without it tsdb's own: what
                       // selectors read and held
};

// tsdb_eval_limit.max_samples for --query.max-samples=0: as in Prometheus, the evaluation
// fails as soon as any part of the query holds a sample (a literal, a selected sample, a
// function's answer); one that selects nothing, or a string, passes.
#define TSDB_EVAL_NO_SAMPLES (-1)

#define TSDB_EVAL_TOO_MANY_SAMPLES                                                                 \
    "query processing would load too many samples into memory in query execution"

// Evaluate e at t_ms within limit. Returns 0 with *out filled (caller clears it), or:
//   -1           an execution error (many-to-many matching, too many samples, ...), reason
//                in err
//   FW_ETIMEOUT  the deadline passed or *cancel was set, reason in err
//   FW_ESTORE    the store failed, reason in err
int tsdb_eval_instant(tsdb_store_t *store, const fw_promql_expr_t *e, int64_t t_ms,
                      const struct tsdb_eval_limit *limit, struct tsdb_eval_result *out,
                      fw_err_t *err);

// Evaluate e (scalar or instant vector typed) at start, start+step, ... <= end into a
// matrix (a scalar expression gives one series with no labels). Same returns.
int tsdb_eval_range(tsdb_store_t *store, const fw_promql_expr_t *e, int64_t start_ms,
                    int64_t end_ms, int64_t step_ms, const struct tsdb_eval_limit *limit,
                    struct tsdb_eval_result *out, fw_err_t *err);

void tsdb_eval_result_clear(struct tsdb_eval_result *r);

// Free s's labels (the block) and empty them; twice is fine.
void tsdb_eval_series_clear_labels(struct tsdb_eval_series *s);

// An annotation of a query as Prometheus words it in "warnings"/"infos":
// "PromQL warning: <msg> (<line>:<col>)", the position in query. The caller frees it.
char *tsdb_eval_anno_text(const struct tsdb_eval_anno *a, const char *query);

#endif
