/*  tsdb_rollup_eval.c — PromQL calls answered from rollups (see tsdb_eval_int.h,
    "Rollups", and tsdb_rollup.h).

    Each call node gets, per level it is answered at, the series of its selector, each with
    its mark and a window of buckets (lo, ref]: a range query slides it, reading each bucket
    once. The combinations below repeat the raw computations' floating-point operations in
    the same order wherever they matter, so the answers are the same bits:
    - min and max: the first extreme wins, a NaN gives way to the next value (per bucket,
      then over the buckets in order);
    - sum and avg: exact only while every value is whole and the sums stay below 2^53, then
      any order gives the same sum (and Kahan's compensation stays +0);
    - increase, rate, delta: last - first, then the value before each reset added in time
      order (the resets between two buckets, then those inside the next one: one value
      each, or a whole-number sum), then tsdb_eval_fn_extrapolate.
*/
#include <lmdb.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "tsdb_eval_int.h"
#include "tsdb_rollup.h"

#define S_T_LIMIT ((int64_t)1 << 60)
#define S_EXACT 4503599627370496.0 // 2^52: sums bounded by it are exact in any order

enum s_fn {
    F_NONE,
    F_COUNT,
    F_SUM,
    F_AVG,
    F_MIN,
    F_MAX,
    F_FIRST,
    F_LAST,
    F_TS_FIRST,
    F_TS_LAST,
    F_PRESENT,
    F_INCREASE,
    F_RATE,
    F_DELTA,
    F_RESETS,
    F_CHANGES,
};

struct s_rseries {
    const struct tsdb_eval_lset *ls;
    uint64_t id;
    int64_t w;                    // its mark
    int64_t read_to;              // buckets up to here are in the window
    struct tsdb_rollup_bucket *b; // owned: the window b[lo..hi)
    size_t lo, hi, cap;
};

struct s_rnode {
    const fw_promql_expr_t *call;
    int level;
    int64_t cut;
    struct s_rseries *s; // owned
    size_t n;
    int64_t last_ref, max_ref; // the last step's ref; the query's last
    bool raw;                  // a step found the buckets not exact: answered raw from then on
};

struct tsdb_eval_rollup {
    struct s_rnode *nodes; // owned
    size_t n, cap;
    int64_t cut[TSDB_ROLLUP_LEVELS]; // the levels' cuts (TSDB_ROLLUP_OFF: off), read once
};

void
tsdb_rollup_eval_free(tsdb_eval_ctx_t *c)
{
    struct tsdb_eval_rollup *r = c->rollup;
    if (!r)
        return;
    for (size_t k = 0; k < r->n; k++) {
        for (size_t j = 0; j < r->nodes[k].n; j++)
            free(r->nodes[k].s[j].b);
        free(r->nodes[k].s);
    }
    free(r->nodes);
    free(r);
    c->rollup = NULL;
}

static enum s_fn
s_fn_of(fw_pq_func_t f)
{
    switch (f) {
    case FW_PQ_FN_COUNT_OVER_TIME: return F_COUNT;
    case FW_PQ_FN_SUM_OVER_TIME: return F_SUM;
    case FW_PQ_FN_AVG_OVER_TIME: return F_AVG;
    case FW_PQ_FN_MIN_OVER_TIME: return F_MIN;
    case FW_PQ_FN_MAX_OVER_TIME: return F_MAX;
    case FW_PQ_FN_FIRST_OVER_TIME: return F_FIRST;
    case FW_PQ_FN_LAST_OVER_TIME: return F_LAST;
    case FW_PQ_FN_TS_OF_FIRST_OVER_TIME: return F_TS_FIRST;
    case FW_PQ_FN_TS_OF_LAST_OVER_TIME: return F_TS_LAST;
    case FW_PQ_FN_PRESENT_OVER_TIME: return F_PRESENT;
    case FW_PQ_FN_INCREASE: return F_INCREASE;
    case FW_PQ_FN_RATE: return F_RATE;
    case FW_PQ_FN_DELTA: return F_DELTA;
    case FW_PQ_FN_RESETS: return F_RESETS;
    case FW_PQ_FN_CHANGES: return F_CHANGES;
    default: return F_NONE;
    }
}

// The query's rollup state, made at its first call (the levels' cuts read then); NULL with
// c->rc set when they cannot be read.
static struct tsdb_eval_rollup *
s_state(tsdb_eval_ctx_t *c)
{
    if (c->rollup)
        return c->rollup;
    struct tsdb_eval_rollup *r = fw_calloc(1, sizeof(*r));
    for (int l = 0; l < TSDB_ROLLUP_LEVELS; l++) {
        int rc = tsdb_rollup_cut(c->rd, l, &r->cut[l]);
        if (rc != 0) {
            free(r);
            if (c->rc == 0) {
                c->rc = FW_ESTORE;
                fw_err_set(c->err, "reading rollups: %s", mdb_strerror(rc));
            }
            return NULL;
        }
    }
    c->rollup = r;
    return r;
}

// The level a call at ref over range answers at: the coarsest level on whose step divides
// both, and moves (the query step its ref moves by, 0 when it stays put); -1 for none. A
// level the ref lands on only at some steps is not used: the raw samples must then be read
// for the other steps, which covers the buckets' too, and reading both cost more than raw
// alone (sum by (handler) (rate(x[5m])) at 60 s steps: 3.2 ms of CPU against 1.7 raw).
static int
s_level(const struct tsdb_eval_rollup *r, int64_t ref, int64_t range, int64_t moves)
{
    if (range <= 0 || range >= S_T_LIMIT || ref <= -S_T_LIMIT || ref >= S_T_LIMIT)
        return -1;
    for (int l = TSDB_ROLLUP_LEVELS - 1; l >= 0; l--) {
        int64_t step = tsdb_rollup_step_ms(l);
        if (r->cut[l] != TSDB_ROLLUP_OFF && range % step == 0 &&
            tsdb_rollup_floor(ref, step) == ref && moves % step == 0)
            return l;
    }
    return -1;
}

static struct s_rnode *
s_node(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int level)
{
    struct tsdb_eval_rollup *r = c->rollup;
    for (size_t k = 0; k < r->n; k++)
        if (r->nodes[k].call == e && r->nodes[k].level == level)
            return &r->nodes[k];
    const fw_promql_expr_t *sel = e->args[0];
    size_t n;
    if (tsdb_eval_select_series(c, sel, &n) != 0)
        return NULL;
    int64_t cut = r->cut[level];
    fw_mem_grow((void **)&r->nodes, &r->cap, r->n + 1, sizeof(*r->nodes));
    struct s_rnode *nd = &r->nodes[r->n++];
    *nd = (struct s_rnode){.call = e,
                           .level = level,
                           .cut = cut,
                           .s = fw_calloc(n ? n : 1, sizeof(*nd->s)),
                           .n = n,
                           .last_ref = INT64_MIN,
                           .max_ref = tsdb_eval_ctx_ref(c, sel, c->end)};
    for (size_t k = 0; k < n; k++) {
        struct s_rseries *s = &nd->s[k];
        tsdb_eval_select_series_at(c, sel, k, &s->ls, &s->id);
        s->w = INT64_MIN;
        s->read_to = INT64_MIN;
    }
    return nd;
}

static int
s_store_fail(tsdb_eval_ctx_t *c, uint64_t id, int rc)
{
    if (c->rc == 0) {
        c->rc = FW_ESTORE;
        fw_err_set(c->err, "reading rollups of series %llu: %s", (unsigned long long)id,
                   mdb_strerror(rc));
    }
    return -1;
}

// Slide s's window to start after lo and hold every bucket up to ref: buckets are read a
// page ahead (up to the query's last ref), so each page is decoded once. 0 or -1.
static int
s_slide(tsdb_eval_ctx_t *c, const struct s_rnode *nd, struct s_rseries *s, int64_t lo, int64_t ref)
{
    size_t held = s->hi - s->lo;
    if (s->read_to == INT64_MIN) {
        int rc = tsdb_rollup_mark(c->rd, s->id, &s->w);
        if (rc != 0)
            return s_store_fail(c, s->id, rc);
    }
    while (s->lo < s->hi && s->b[s->lo].end <= lo)
        s->lo++;
    if (s->lo == s->hi || s->read_to < lo) {
        s->lo = s->hi = 0;
        if (s->read_to < lo)
            s->read_to = lo;
    } else if (s->lo > 0 && s->hi == s->cap) {
        memmove(s->b, s->b + s->lo, (s->hi - s->lo) * sizeof(*s->b));
        s->hi -= s->lo;
        s->lo = 0;
    }
    if (s->read_to < ref) {
        int64_t span = tsdb_rollup_step_ms(nd->level) * TSDB_ROLLUP_PAGE;
        int64_t upto = tsdb_rollup_floor(s->read_to, span) + span;
        if (upto > nd->max_ref)
            upto = nd->max_ref;
        if (upto < ref)
            upto = ref;
        int64_t raw = 0;
        int rc = tsdb_rollup_buckets(c->rd, s->id, nd->level, s->read_to, upto, s->w, nd->cut,
                                     &s->b, &s->hi, &s->cap, &raw, &c->stats.rollup_buckets);
        if (rc != 0)
            return s_store_fail(c, s->id, rc);
        s->read_to = upto;
    }
    return tsdb_eval_ctx_samples_hold(c, (int64_t)(s->hi - s->lo) - (int64_t)held);
}

// Start every series of nd over (the time went back: inside @ or a subquery, never in a
// range query's steps).
static void
s_restart(tsdb_eval_ctx_t *c, struct s_rnode *nd)
{
    for (size_t k = 0; k < nd->n; k++) {
        struct s_rseries *s = &nd->s[k];
        tsdb_eval_ctx_samples_hold(c, -(int64_t)(s->hi - s->lo));
        s->lo = s->hi = 0;
        s->read_to = INT64_MIN;
    }
}

// Whether the sums of b[0..n) are exact: whole values, bounded.
static bool
s_exact(const struct tsdb_rollup_bucket *b, size_t n)
{
    double bound = 0;
    for (size_t i = 0; i < n; i++) {
        if (!b[i].a.ints)
            return false;
        double m = fmax(fabs(b[i].a.min), fabs(b[i].a.max));
        bound += (double)b[i].a.count * m + m;
    }
    return bound <= S_EXACT;
}

// The answer of f over buckets b[0..n) (n > 0) of the range (ref - range, ref]: 1 with *out,
// 0 none, -1 not exact (the raw samples must answer).
static int
s_combine(enum s_fn f, const struct tsdb_rollup_bucket *b, size_t n, int64_t ref, int64_t range,
          double *out)
{
    const struct tsdb_rollup_agg *first = &b[0].a, *last = &b[n - 1].a;
    uint64_t count = 0;
    for (size_t i = 0; i < n; i++)
        count += b[i].a.count;
    switch (f) {
    case F_COUNT: *out = (double)count; return 1;
    case F_PRESENT: *out = 1; return 1;
    case F_FIRST: *out = first->first_v; return 1;
    case F_LAST: *out = last->last_v; return 1;
    case F_TS_FIRST: *out = (double)first->first_t / 1000.0; return 1;
    case F_TS_LAST: *out = (double)last->last_t / 1000.0; return 1;
    case F_MIN:
    case F_MAX: {
        double best = f == F_MIN ? first->min : first->max;
        for (size_t i = 1; i < n; i++) {
            double v = f == F_MIN ? b[i].a.min : b[i].a.max;
            if ((f == F_MIN ? v < best : v > best) || isnan(best))
                best = v;
        }
        *out = best;
        return 1;
    }
    case F_SUM:
    case F_AVG: {
        if (!s_exact(b, n))
            return -1;
        double sum = 0;
        for (size_t i = 0; i < n; i++)
            sum += b[i].a.sum;
        *out = f == F_SUM ? sum : sum / (double)count;
        return 1;
    }
    case F_RESETS:
    case F_CHANGES: {
        double v = 0;
        for (size_t i = 0; i < n; i++) {
            v += f == F_RESETS ? b[i].a.n_resets : b[i].a.n_changes;
            if (i == 0)
                continue;
            double x = b[i - 1].a.last_v, y = b[i].a.first_v;
            if (f == F_RESETS ? y < x : x != y && !(isnan(x) && isnan(y)))
                v++;
        }
        *out = v;
        return 1;
    }
    case F_INCREASE:
    case F_RATE:
    case F_DELTA: {
        if (count < 2)
            return 0;
        bool counter = f != F_DELTA;
        double result = last->last_v - first->first_v;
        if (counter) {
            bool grouped = false;
            for (size_t i = 0; i < n; i++)
                grouped |= b[i].a.n_resets > 1;
            if (grouped && !s_exact(b, n))
                return -1;
            for (size_t i = 0; i < n; i++) {
                if (i > 0 && b[i].a.first_v < b[i - 1].a.last_v)
                    result += b[i - 1].a.last_v;
                if (b[i].a.n_resets > 0)
                    result += b[i].a.reset_sum;
            }
        }
        *out = tsdb_eval_fn_extrapolate(result, count, first->first_t, first->first_v, last->last_t,
                                        ref, range, counter, f == F_RATE);
        return 1;
    }
    case F_NONE: break;
    }
    return 0;
}

int
tsdb_rollup_eval_call(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, bool keep_name,
                      struct tsdb_eval_val *out)
{
    enum s_fn f = s_fn_of(e->func);
    if (f == F_NONE || c->no_rollups || c->subquery_depth > 0 || e->n_args != 1)
        return 0;
    // rollups keep no start times, which these answers use (use-start-timestamps)
    if ((f == F_INCREASE || f == F_RATE || f == F_RESETS) && tsdb_store_reader_start_times(c->rd))
        return 0;
    const fw_promql_expr_t *sel = e->args[0];
    if (sel->kind != FW_PQ_SELECTOR || sel->range_ms <= 0 || sel->anchored || sel->smoothed)
        return 0;
    int64_t ref = tsdb_eval_ctx_ref(c, sel, t);
    bool moves = sel->at == FW_PQ_AT_NONE && c->q_start != c->q_end;
    struct tsdb_eval_rollup *r = s_state(c);
    if (!r)
        return -1;
    int level = s_level(r, ref, sel->range_ms, moves ? c->q_step : 0);
    if (level < 0)
        return 0;
    struct s_rnode *nd = s_node(c, e, level);
    if (!nd)
        return -1;
    if (nd->raw)
        return 0;
    if (ref < nd->last_ref)
        s_restart(c, nd);
    nd->last_ref = ref;
    int64_t lo = ref - sel->range_ms;
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < nd->n; k++) {
        struct s_rseries *s = &nd->s[k];
        if (s_slide(c, nd, s, lo, ref) != 0)
            return -1;
        if ((k & 255) == 255 && tsdb_eval_ctx_check_deadline(c) != 0)
            return -1;
        size_t n = 0; // the window's buckets up to ref (those after it were read ahead)
        while (s->lo + n < s->hi && s->b[s->lo + n].end <= ref)
            n++;
        if (n == 0)
            continue;
        c->stats.total_samples += (int64_t)n;
        double v;
        int got = s_combine(f, s->b + s->lo, n, ref, sel->range_ms, &v);
        if (got < 0) {
            // not exact for this series: the call reads raw samples from now on (the
            // selector streams them, each read once)
            nd->raw = true;
            out->vec.len = 0;
            return 0;
        }
        if (got > 0 && keep_name)
            tsdb_eval_ctx_push(c, &out->vec, s->ls, t, v);
        else if (got > 0)
            tsdb_eval_ctx_push_unnamed(c, &out->vec, s->ls, t, v);
    }
    return 1;
}
