/*  tsdb_eval_int.h — PRIVATE to the PromQL evaluator (tsdb_eval*.c), its one header: one
    query's context, its interned label sets, the values nodes hand each other, the buffers
    they reuse, and the interfaces of its parts (selectors, functions, aggregations, binary
    operators, shared numerics).

    Shared by the parts of the evaluator (tsdb_eval.c the tree walk and entry points,
    tsdb_eval_ctx.c this context, tsdb_eval_select.c selectors, tsdb_eval_func*.c functions,
    tsdb_eval_agg.c aggregations, tsdb_eval_binop.c binary operators, tsdb_eval_math.c
    numerics); nothing outside tsdb_eval*.c includes it (the unit tests aside).

    Label sets are interned per query: every distinct set is stored once in the query's
    arena as a struct tsdb_eval_lset (its names and values each stored once too, shared by
    all the sets holding them) and values point at it, so an element of a vector is
    three words (set, time, value) and nothing is copied or freed per point. Two sets are
    equal exactly when their pointers are, so grouping, vector matching and merging the
    steps of a range query key hash tables by the pointer (hashed by the set's
    fw_labels_hash, computed once). A derived set (without __name__, a grouping key, a
    matching signature, label_replace's result) is built as a view of borrowed strings in a
    scratch array, hashed with fw_labels_hash and looked up with fw_labels_cmp; only a set
    never seen before is copied. Derivations that depend only on the node and its input
    sets are memoised (tsdb_eval_ctx_memo_*), so a range query computes each once per
    series, not once per step.

    Buffers (vector and matrix arrays, points of subqueries, hash tables, scratch) come from
    a per-query pool and go back to it when a value is cleared, so after the first step of
    a range query the evaluator allocates nothing. Everything is freed with the context.

    Threads: a context belongs to the thread that evaluates the query.
*/
#ifndef TSDB_EVAL_INT_H
#define TSDB_EVAL_INT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_promql_ast.h"
#include "fw_sample.h"
#include "tsdb_eval.h"
#include "tsdb_store.h"

// An interned label set. labels.items and every string live in the query's arena.
struct tsdb_eval_lset {
    struct fw_labels labels;        // arena; never passed to fw_labels_clear/set/del
    uint64_t hash;                  // fw_labels_hash(&labels)
    struct tsdb_eval_lset *no_name; // memo of tsdb_eval_ctx_drop_name, NULL until asked
    double le;                      // the "le" label parsed (histogram_quantile) ...
    signed char le_state;           // ... when 1; 0 not parsed yet; -1 absent or no number
};

// One element of an instant vector.
struct tsdb_eval_elem {
    const struct tsdb_eval_lset *ls;
    int64_t t; // the sample's time (timestamp()); the evaluation time for computed elements
    double v;
    bool drop; // delayed name removal: ls's metadata labels go when the query ends
};

struct tsdb_eval_vec {
    struct tsdb_eval_elem *items; // pool
    size_t len, cap;
};

// One series of a range vector: points borrowed from a selector's window or owned by the
// matrix (a subquery's own array), valid until the value is cleared.
struct tsdb_eval_ser {
    const struct tsdb_eval_lset *ls;
    const struct fw_sample *pts;
    size_t len;
    bool drop;         // as tsdb_eval_elem's (a subquery of an expression that drops the name)
    const int64_t *st; // the points' start times (0: none), borrowed as pts; NULL when none
                       // has one or they are not a selector's (subqueries cut them)
};

struct tsdb_eval_mat {
    struct tsdb_eval_ser *items; // pool
    size_t len, cap;
    struct fw_sample *own; // pool: the points when the matrix owns them (subqueries)
    size_t own_cap;
};

struct tsdb_eval_val {
    fw_pq_type_t type;
    double scalar;
    const char *str; // borrowed from the expression
    struct tsdb_eval_vec vec;
    struct tsdb_eval_mat mat;
    const fw_promql_expr_t *sel; // MATRIX: the selector or subquery that made it
};

// A hash table from interned sets to indexes (open addressing on lset->hash).
struct tsdb_eval_tab {
    struct tsdb_eval_tab_slot {
        const struct tsdb_eval_lset *key; // NULL: empty
        size_t idx;
    } * slots; // pool
    size_t cap, used;
};

struct tsdb_eval_select;    // tsdb_eval_select.c
struct tsdb_eval_arena;     // tsdb_eval_ctx.c
struct tsdb_eval_memo_slot; // tsdb_eval_ctx.c

typedef struct tsdb_eval_ctx {
    tsdb_store_reader_t *rd;      // owned
    int64_t start, end;           // the query's window; a subquery widens it while it runs
    int64_t q_start, q_end;       // the query's own start and end: start() and end() for @
    int64_t deadline;             // fw_time_mono_ms() clock; 0 for none
    const atomic_bool *cancel;    // borrowed, may be NULL: set by another thread to stop
    int subquery_depth;           // > 0 inside a subquery: times are no longer monotonic
    fw_err_t *err;                // borrowed
    int rc;                       // the first error: -1, FW_ETIMEOUT or FW_ESTORE; 0 while fine
    struct tsdb_eval_select *sel; // owned: selector state (tsdb_eval_select.c)
    int64_t q_step;               // a range query's step; 0 for an instant query
    bool delay_names;             // delayed name removal (tsdb_eval_limit)
    struct tsdb_eval_anno *annos; // owned: warnings and infos so far, distinct
    size_t n_annos, cap_annos;

    // --query.max-samples (tsdb_eval_ctx_samples_*) and what the query loaded
    int64_t max_samples;               // the limit's; 0 for none, TSDB_EVAL_NO_SAMPLES
    int64_t samples;                   // samples held now
    struct tsdb_eval_stats stats;      // so far
    struct tsdb_eval_stats *stats_out; // borrowed, may be NULL: gets stats at close
    bool no_rollups;                   // never answer from rollups
    struct tsdb_eval_rollup *rollup;   // owned: rollup state (tsdb_rollup_eval.c)

    // sample statistics as Prometheus counts them (tsdb_eval_stats.c)
    bool sample_stats;         // record for them (tsdb_eval_limit.sample_stats)
    struct tsdb_eval_rec *rec; // owned: what was recorded

    // step-invariant values, each evaluated once (tsdb_eval.c), and the steps subqueries
    // keep from one evaluation to the next (tsdb_eval_subquery.c); pool arrays
    struct tsdb_eval_once *once;
    size_t n_once, cap_once;
    struct tsdb_eval_subq *subq;
    size_t n_subq, cap_subq;

    // private to tsdb_eval_ctx.c
    struct tsdb_eval_arena *arena;
    struct tsdb_eval_lset **interned; // open addressing
    size_t interned_cap, interned_len;
    const char **strs; // the label strings of interned sets, each once (open addressing)
    size_t strs_cap, strs_len;
    struct tsdb_eval_memo_slot *memo;
    size_t memo_cap, memo_len;
    struct tsdb_eval_pool_block {
        void *p;
        size_t bytes;
    } * pool;
    size_t pool_len, pool_cap;
    struct fw_label *view; // scratch for tsdb_eval_ctx_view
    size_t view_cap;
    const struct tsdb_eval_lset *empty;
} tsdb_eval_ctx_t;

// Set up c for a query over [start, end] within limit (may be NULL) with a read transaction
// on store. 0, or FW_ESTORE with err set.
int tsdb_eval_ctx_open(tsdb_eval_ctx_t *c, tsdb_store_t *store, int64_t start, int64_t end,
                       const struct tsdb_eval_limit *limit, fw_err_t *err);
// Free everything the query allocated and end its read transaction.
void tsdb_eval_ctx_close(tsdb_eval_ctx_t *c);

// Record an evaluation error (the first one wins) and return -1.
int tsdb_eval_ctx_fail(tsdb_eval_ctx_t *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// Add a warning (or info) annotation about node at unless the same one is there already;
// nothing is allocated for a repeat (a range query meets one at every step).
void tsdb_eval_ctx_warn(tsdb_eval_ctx_t *c, const fw_promql_expr_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void tsdb_eval_ctx_info(tsdb_eval_ctx_t *c, const fw_promql_expr_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
// -1 (with FW_ETIMEOUT recorded) once the deadline has passed or *cancel is set, else 0.
int tsdb_eval_ctx_check_deadline(tsdb_eval_ctx_t *c);

// Samples accounting (--query.max-samples): hold n more samples (negative n releases them;
// that never fails), or check that n more could be held now without holding them (a
// transient value such as one step's instant-vector selection). -1 with Prometheus's
// too-many-samples execution error recorded when c->samples + n exceeds the limit, else 0.
int tsdb_eval_ctx_samples_hold(tsdb_eval_ctx_t *c, int64_t n);
int tsdb_eval_ctx_samples_check(tsdb_eval_ctx_t *c, int64_t n);

// Time arithmetic that saturates at the ends of int64: times, offsets and ranges may each
// be any int64, and a window past the ends simply holds no samples.
static inline int64_t
tsdb_eval_ctx_tsub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

static inline int64_t
tsdb_eval_ctx_tadd(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

// Is there room for another step after t before end (t <= end)? end - t can exceed
// INT64_MAX.
static inline bool
tsdb_eval_ctx_step_fits(int64_t t, int64_t end, int64_t step)
{
    return (uint64_t)end - (uint64_t)t >= (uint64_t)step;
}

// The time selector or subquery e reads at when evaluated at t: its @ time (or t without
// one) minus its offset.
static inline int64_t
tsdb_eval_ctx_ref(const tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t)
{
    switch (e->at) {
    case FW_PQ_AT_TIME: t = e->at_ms; break;
    case FW_PQ_AT_START: t = c->q_start; break;
    case FW_PQ_AT_END: t = c->q_end; break;
    case FW_PQ_AT_NONE: break;
    }
    return tsdb_eval_ctx_tsub(t, e->offset_ms);
}

// --- label sets ---

// A scratch view with room for n labels and len 0, valid until the next call. Build a
// sorted set of borrowed strings in it, then intern it.
struct fw_labels tsdb_eval_ctx_view(tsdb_eval_ctx_t *c, size_t n);
// A scratch view (as tsdb_eval_ctx_view) holding ls's labels, with room for extra more.
struct fw_labels tsdb_eval_ctx_view_of(tsdb_eval_ctx_t *c, const struct tsdb_eval_lset *ls,
                                       size_t extra);
// The interned set equal to view (sorted, names unique, strings borrowed), copied into the
// arena the first time it is seen. Never NULL; lives until tsdb_eval_ctx_close.
const struct tsdb_eval_lset *tsdb_eval_ctx_intern(tsdb_eval_ctx_t *c, const struct fw_labels *view);
// The set with no labels.
const struct tsdb_eval_lset *tsdb_eval_ctx_empty(tsdb_eval_ctx_t *c);
// Is name one of the labels that describe the metric rather than the series: __name__,
// and __type__ and __unit__ (Prometheus's type-and-unit labels)? Functions and operators
// that change a value drop them together (Prometheus's DropReserved(IsMetadataLabel)).
static inline bool
tsdb_eval_ctx_is_metadata(const char *name)
{
    return name[0] == '_' && name[1] == '_' &&
           (strcmp(name, "__name__") == 0 || strcmp(name, "__type__") == 0 ||
            strcmp(name, "__unit__") == 0);
}

// ls without its metadata labels (ls itself when it has none); memoised in ls.
const struct tsdb_eval_lset *tsdb_eval_ctx_drop_name(tsdb_eval_ctx_t *c,
                                                     const struct tsdb_eval_lset *ls);
// The metadata labels of a value a function or operator changed go: at once (*ls loses
// them), or with delayed name removal at the end of the query (*drop set, *ls kept so that
// later label functions and aggregations still see __name__), as Prometheus 3 does with
// --enable-feature=promql-delayed-name-removal.
static inline void
tsdb_eval_ctx_unname(tsdb_eval_ctx_t *c, const struct tsdb_eval_lset **ls, bool *drop)
{
    if (c->delay_names)
        *drop = true;
    else
        *ls = tsdb_eval_ctx_drop_name(c, *ls);
}
// The labels an element or series ends the query with: ls without its metadata labels when
// drop is set.
static inline const struct tsdb_eval_lset *
tsdb_eval_ctx_final(tsdb_eval_ctx_t *c, const struct tsdb_eval_lset *ls, bool drop)
{
    return drop ? tsdb_eval_ctx_drop_name(c, ls) : ls;
}
// Whether name is one of list[0..n).
bool tsdb_eval_ctx_listed(const char *name, char *const *list, size_t n);
// The labels of ls that e's label list (e->labels) leaves: with keep (by, on) only the
// listed ones; without it (without, ignoring) all but the listed ones and __name__.
// Memoised under (e, ls, tag); tag tells apart two uses of one node.
const struct tsdb_eval_lset *tsdb_eval_ctx_project(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e,
                                                   const struct tsdb_eval_lset *ls, const void *tag,
                                                   bool keep);
// Set name=value in a view built in the scratch array (keeps it sorted; an empty value
// removes the label). The view must have room for one more label.
void tsdb_eval_ctx_view_set(struct fw_labels *view, const char *name, const char *value);

// Memo of derived sets keyed by up to three pointers (the node, one or two input sets):
// the value put for the key, or NULL. A NULL value cannot be stored.
const struct tsdb_eval_lset *tsdb_eval_ctx_memo_get(tsdb_eval_ctx_t *c, const void *k0,
                                                    const void *k1, const void *k2);
void tsdb_eval_ctx_memo_put(tsdb_eval_ctx_t *c, const void *k0, const void *k1, const void *k2,
                            const struct tsdb_eval_lset *v);

// A copy of s[0..n) and a NUL in the arena (for strings a new set will hold).
const char *tsdb_eval_ctx_strndup(tsdb_eval_ctx_t *c, const char *s, size_t n);

// --- buffers ---

// Grow *items (*cap elements of size elem) to hold need, through the pool; contents kept.
void tsdb_eval_ctx_grow(tsdb_eval_ctx_t *c, void **items, size_t *cap, size_t need, size_t elem);
// Give *items (of *cap elements of size elem) back to the pool; *items NULL, *cap 0.
void tsdb_eval_ctx_release(tsdb_eval_ctx_t *c, void **items, size_t *cap, size_t elem);

// --- values ---

void tsdb_eval_ctx_push(tsdb_eval_ctx_t *c, struct tsdb_eval_vec *v,
                        const struct tsdb_eval_lset *ls, int64_t t, double val);
// Push an element whose labels are to lose their metadata labels (tsdb_eval_ctx_unname), or
// keep drop as given (an input's flag handed on).
void tsdb_eval_ctx_push_unnamed(tsdb_eval_ctx_t *c, struct tsdb_eval_vec *v,
                                const struct tsdb_eval_lset *ls, int64_t t, double val);
void tsdb_eval_ctx_push_drop(tsdb_eval_ctx_t *c, struct tsdb_eval_vec *v,
                             const struct tsdb_eval_lset *ls, int64_t t, double val, bool drop);
// Clear a value, giving its buffers back to the pool.
void tsdb_eval_ctx_val_clear(tsdb_eval_ctx_t *c, struct tsdb_eval_val *v);

// --- tables ---

void tsdb_eval_ctx_tab_init(tsdb_eval_ctx_t *c, struct tsdb_eval_tab *t, size_t expect);
void tsdb_eval_ctx_tab_free(tsdb_eval_ctx_t *c, struct tsdb_eval_tab *t);
// The index stored for key, or SIZE_MAX.
size_t tsdb_eval_ctx_tab_get(const struct tsdb_eval_tab *t, const struct tsdb_eval_lset *key);
// Store idx for key (not present yet).
void tsdb_eval_ctx_tab_put(tsdb_eval_ctx_t *c, struct tsdb_eval_tab *t,
                           const struct tsdb_eval_lset *key, size_t idx);

// The tree walk (tsdb_eval.c): evaluate e at t into *out (cleared first). 0 or -1 with
// c->rc set; out is empty on failure. A step-invariant node (e->step_invariant) is
// evaluated the first time only; later its value is copied, at t.
int tsdb_eval_node(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                   struct tsdb_eval_val *out);

// ---------------------------------------------------------------------------------------
// Sample statistics (tsdb_eval_stats.c)
/*  totalQueryableSamples and peakSamples as Prometheus 2.42 counts them: the evaluation
    records, when c->sample_stats, how many samples each node gave at each time and what
    each range function saw of each series; at the end a model of Prometheus's evaluator
    replays its sample counter over them.
*/

// Node e gave v at t.
void tsdb_eval_stats_value(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                           const struct tsdb_eval_val *v);
// The range function call saw len samples of the series ls at t and answered or not.
void tsdb_eval_stats_window(tsdb_eval_ctx_t *c, const fw_promql_expr_t *call, int64_t t,
                            const struct tsdb_eval_lset *ls, size_t len, bool answered);
// What the query did cannot be counted as Prometheus would (rollups answered a call).
void tsdb_eval_stats_unknown(tsdb_eval_ctx_t *c);
// Put Prometheus's figures for the query e into c->stats: 0, or -1 when nothing (or too
// much) was recorded, c->stats then keeping tsdb's own counts.
int tsdb_eval_stats_model(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e);
// Free what was recorded (tsdb_eval_ctx_close).
void tsdb_eval_stats_free(tsdb_eval_ctx_t *c);

// ---------------------------------------------------------------------------------------
// Subqueries (tsdb_eval_subquery.c)
/*  A subquery at t is its inner expression at every step-aligned time in
    (t - offset - range, t - offset], as a range vector. The inner values of the steps a
    subquery has evaluated are kept until its window leaves them, so that as the outer
    evaluation times advance (the steps of a range query, or an enclosing subquery's) each
    inner step is evaluated once, as Prometheus evaluates a subquery's inner expression once
    over the whole range; when the window goes back in time they are evaluated again.
*/

// Evaluate the subquery e (kind FW_PQ_SUBQUERY) at t into out. 0, or -1 with c->rc set.
int tsdb_eval_subquery(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                       struct tsdb_eval_val *out);
// Give the kept steps back to the pool (before tsdb_eval_ctx_close).
void tsdb_eval_subquery_free(tsdb_eval_ctx_t *c);

// ---------------------------------------------------------------------------------------
// Selectors (tsdb_eval_select.c)
/*  Selectors: which series a selector names and their samples at a step.

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

// The instant selector e (range_ms 0) at t into out (a vector). 0, or -1 with c->rc set
// (FW_ESTORE with c->err on a storage error, FW_ETIMEOUT).
int tsdb_eval_select_vector(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                            struct tsdb_eval_val *out);

// start_timestamp(e) for the instant selector e at t into out: the elements of
// tsdb_eval_select_vector, each valued its sample's start time in seconds (0 for none).
int tsdb_eval_select_start_times(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                                 struct tsdb_eval_val *out);
// The range selector e at t into out (a matrix whose points are borrowed from the
// selector's window: valid until e is evaluated again or the query ends). Same returns.
int tsdb_eval_select_matrix(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                            struct tsdb_eval_val *out);

// Free the selectors' state (before tsdb_eval_ctx_close, which ends the read transaction).
void tsdb_eval_select_free(tsdb_eval_ctx_t *c);
// Bytes of the one-shot window buffer kept between queries (at most 4 MiB).
size_t tsdb_eval_select_kept_bytes(void);

// ---------------------------------------------------------------------------------------
// Functions (tsdb_eval_func*.c)
/*  Every PromQL function is one row of common/fw_promql_funcs.def: name, types, how it is
    called (kind) and its implementation tsdb_eval_fn_<impl>, declared below from that row.
    tsdb_eval_func.c builds the dispatch table from the rows, evaluates a call's arguments and
    hands them to the implementation as its kind says; the implementations live in
    tsdb_eval_func_elem.c (element-wise math and dates), tsdb_eval_func_range.c (functions
    of range vectors), tsdb_eval_func_label.c (labels, sorting, absent, info) and
    tsdb_eval_func_hist.c (classic histograms), computed as Prometheus 3's
    promql/functions.go does.
*/

// Evaluate the call e (kind FW_PQ_CALL) at t into out. 0, or -1 with c->rc set.
int tsdb_eval_func_call(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                        struct tsdb_eval_val *out);

// kind elem: the new value of one element *v given the call's scalar arguments p[] in order;
// false drops the element.
typedef bool tsdb_eval_fn_elem_t(double *v, const double *p);

// kind range and keep: one series of the call's range-vector argument.
struct tsdb_eval_fn_range {
    tsdb_eval_ctx_t *c;
    const struct fw_sample *pts; // the series' points in time order; len > 0
    size_t len;
    const int64_t *st;               // their start times (0: none), or NULL when none has one
    const struct tsdb_eval_lset *ls; // the series
    const fw_promql_expr_t *call;    // the call
    const fw_promql_expr_t *sel;     // the selector or subquery that read them
    int64_t t;                       // the evaluation time
    const double *p;                 // the call's scalar arguments in order
    double *scratch;                 // a pool buffer an implementation may grow and use
    size_t scratch_cap;
};
// The function's value for the series into *out; false for none (or after
// tsdb_eval_ctx_fail).
typedef bool tsdb_eval_fn_range_t(struct tsdb_eval_fn_range *a, double *out);
typedef tsdb_eval_fn_range_t tsdb_eval_fn_keep_t;

// kind call: the evaluated arguments args[0..na) (the implementation may take their
// buffers) into out, whose type is set to the call's. 0, or -1 after tsdb_eval_ctx_fail.
typedef int tsdb_eval_fn_call_t(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                                struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out);

// Prometheus's extrapolatedRate from what it needs of a range's n >= 2 samples: the first
// and last (times and values), and result, the last value minus the first (counter: with
// the values before each reset added, in time order), for the range (range_end - range_ms,
// range_end]. rate, increase and delta, and their answers from rollups.
double tsdb_eval_fn_extrapolate(double result, size_t n, int64_t first_t, double first_v,
                                int64_t last_t, int64_t range_end, int64_t range_ms, bool counter,
                                bool is_rate);

#define FW_PQ_FUNC(name, id, ret, min, max, kind, impl, ...)                                       \
    tsdb_eval_fn_##kind##_t tsdb_eval_fn_##impl;
#include "fw_promql_funcs.def"
#undef FW_PQ_FUNC

// ---------------------------------------------------------------------------------------
// Rollups (tsdb_rollup_eval.c)
/*  A call of a function of range vectors whose answer rollups give exactly (count, sum,
    avg, min, max, first, last, present, ts_of_first, ts_of_last _over_time, increase, rate,
    delta, resets, changes) over a plain range selector (no anchored, smoothed) whose range
    is a whole number of buckets and whose time (after @ and offset) is a bucket boundary,
    outside subqueries, is answered from the buckets of tsdb_rollup_buckets, each series
    keeping a sliding window of them. Where the buckets cannot give the exact float of the
    raw computation (a sum of values that are not all whole numbers below 2^53; several
    resets in one bucket of such values), the call is answered from the raw samples, at that
    step and every later one.
*/

// 1 when e at t was answered into out; 0 when rollups do not apply (evaluate as usual,
// out left empty); -1 with c->rc set. keep_name: the function keeps __name__.
int tsdb_rollup_eval_call(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, bool keep_name,
                          struct tsdb_eval_val *out);
// Free the query's rollup state (tsdb_eval_ctx_close).
void tsdb_rollup_eval_free(tsdb_eval_ctx_t *c);

// The series selector e selects (selected on its first use), and the k-th's set and id.
// 0, or -1 with c->rc set.
int tsdb_eval_select_series(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, size_t *n);
void tsdb_eval_select_series_at(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, size_t k,
                                const struct tsdb_eval_lset **ls, uint64_t *id);

// ---------------------------------------------------------------------------------------
// Aggregations (tsdb_eval_agg.c)
/*  PromQL aggregations (sum, avg, min, max, count, group, stddev, stdvar,
    topk, bottomk, quantile, count_values, limitk, limit_ratio) with by/without grouping,
    as Prometheus 3 computes them.
*/

// Evaluate the aggregation e (kind FW_PQ_AGG) at t into out. 0, or -1 with c->rc set.
int tsdb_eval_agg(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *out);

// ---------------------------------------------------------------------------------------
// Binary operators (tsdb_eval_binop.c)
/*  PromQL binary operators: arithmetic, comparisons (filtering or
    `bool`) and the set operators and/or/unless, between scalars and instant vectors, with
    on/ignoring matching and group_left/group_right, as Prometheus 3 defines them.
*/

// Evaluate the binary expression e (kind FW_PQ_BINARY) at t into out. 0, or -1 with c->rc
// set (many-to-many matching and duplicate output series are execution errors).
int tsdb_eval_binop(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *out);

// ---------------------------------------------------------------------------------------
// Numerics (tsdb_eval_math.c)
/*  The numerics PromQL's functions and aggregations share, as Prometheus
    computes them: Kahan-compensated sums, its mean (which stays finite where a plain sum
    overflows), quantiles, and Go's orderings of floats (NaN first when sorting values,
    last when ranking elements).
*/

// Add inc to sum with Kahan compensation kept in *comp (Prometheus's kahanSumInc). Inline:
// the functions over time call it once per sample.
static inline double
tsdb_eval_math_kahan_inc(double inc, double sum, double *comp)
{
    double t = sum + inc;
    if (isinf(t))
        *comp = 0;
    else if (fabs(sum) >= fabs(inc))
        *comp += (sum - t) + inc;
    else
        *comp += (inc - t) + sum;
    return t;
}

// The value at t on the line from p1 to p2 (Prometheus's interpolate); with counter, a reset
// between them restarts from 0.
static inline double
tsdb_eval_math_interpolate(const struct fw_sample *p1, const struct fw_sample *p2, int64_t t,
                           bool counter)
{
    double y1 = p1->v, y2 = p2->v;
    if (counter && y2 < y1)
        y1 = 0;
    return y1 + (y2 - y1) * (double)(t - p1->t_ms) / (double)(p2->t_ms - p1->t_ms);
}

// Prometheus's mean: a Kahan sum while it stays finite, then an incremental mean, with
// infinities handled so that avg(Inf, 1) is Inf rather than NaN.
struct tsdb_eval_math_avg {
    double sum, comp, mean;
    double n;
    bool incremental;
};

void tsdb_eval_math_avg_add(struct tsdb_eval_math_avg *a, double v);
double tsdb_eval_math_avg_result(const struct tsdb_eval_math_avg *a);

// Prometheus's quantile of vals[0..n) (sorted here, NaN first): NaN for no values or a NaN
// q, -Inf below 0, +Inf above 1, else linear interpolation between the closest ranks.
double tsdb_eval_math_quantile(double q, double *vals, size_t n);

// qsort comparators: doubles ascending with NaN first (Go's slices.Sort).
int tsdb_eval_math_dbl_cmp(const void *a, const void *b);

// Order x and y by value, NaN last either way (Prometheus's sort, sort_desc, topk and
// bottomk): <0, 0 or >0, ascending or, with desc, descending.
int tsdb_eval_math_cmp_nan_last(double x, double y, bool desc);

// Go's math.Max / math.Min: NaN wins.
double tsdb_eval_math_max(double a, double b);
double tsdb_eval_math_min(double a, double b);

#endif
