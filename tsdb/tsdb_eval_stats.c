/*  tsdb_eval_stats.c — a query's sample statistics as Prometheus counts them (see
    tsdb_eval_int.h): totalQueryableSamples and peakSamples of the query API's `stats`.

    Prometheus evaluates a query node by node, each over all the steps at once, and counts
    what its evaluator holds: a selector's points over every step, each node's answer over
    every step while its parent works through them, a range function's window and the
    answer so far, a subquery's inner answer over its whole range. tsdb evaluates step by
    step and holds far less, so its own count (the --query.max-samples accounting) is not
    Prometheus's. To answer with Prometheus's figures, the evaluation records what each node
    gave at each time it was evaluated (how many samples), and what each range function saw
    of each series (its largest window, its window at the last step, how many answers it
    gave); when the query ends, s_model walks the expression as Prometheus 2.42's engine
    does (rangeEval, the function call over a matrix, subqueries, StepInvariantExpr) and
    replays its counter. The figures then equal Prometheus's on the same data, where
    evaluation times and windows agree (Prometheus 2's windows are closed on the left).

    Recording costs an entry per node and evaluation time, so it is done only when asked
    (tsdb_eval_limit.sample_stats); past S_MAX_ENTRIES, or when rollups answered a range
    function (no raw windows to count), the model gives up and the query keeps tsdb's own
    counts.
*/
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "tsdb_eval_int.h"

#define S_MAX_ENTRIES (4 * 1024 * 1024)

struct s_count {
    int64_t t, n;
};

// What a range function saw of one series.
struct s_series {
    const struct tsdb_eval_lset *ls;
    int64_t max_win; // the largest window over its evaluations
    int64_t last_t;  // the last time it had a window, and that window
    int64_t last_win;
    int64_t answers; // evaluations that gave an answer
};

struct s_rec {
    const fw_promql_expr_t *e;
    struct s_count *counts; // by time, ascending
    size_t n, cap;
    struct s_series *ser;
    size_t n_ser, cap_ser;
    struct tsdb_eval_tab tab; // set -> index in ser
    int64_t windows;          // the samples of every window, summed
};

struct tsdb_eval_rec {
    struct s_rec *recs;
    size_t n, cap;
    size_t *slots; // open addressing on the node's address: index + 1, 0 empty
    size_t n_slots;
    size_t entries;
    bool overflow;
};

static size_t
s_hash(const void *p, size_t n_slots)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & (n_slots - 1);
}

static struct s_rec *
s_find(struct tsdb_eval_rec *r, const fw_promql_expr_t *e)
{
    if (!r->n_slots)
        return NULL;
    for (size_t i = s_hash(e, r->n_slots);; i = (i + 1) & (r->n_slots - 1)) {
        if (!r->slots[i])
            return NULL;
        if (r->recs[r->slots[i] - 1].e == e)
            return &r->recs[r->slots[i] - 1];
    }
}

static struct s_rec *
s_get(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e)
{
    if (!c->rec)
        c->rec = fw_calloc(1, sizeof(*c->rec));
    struct tsdb_eval_rec *r = c->rec;
    struct s_rec *found = s_find(r, e);
    if (found)
        return found;
    if ((r->n + 1) * 2 > r->n_slots) {
        size_t ns = r->n_slots ? r->n_slots * 2 : 64;
        free(r->slots);
        r->slots = fw_calloc(ns, sizeof(*r->slots));
        r->n_slots = ns;
        for (size_t k = 0; k < r->n; k++) {
            size_t i = s_hash(r->recs[k].e, ns);
            while (r->slots[i])
                i = (i + 1) & (ns - 1);
            r->slots[i] = k + 1;
        }
    }
    fw_mem_grow((void **)&r->recs, &r->cap, r->n + 1, sizeof(*r->recs));
    struct s_rec *rec = &r->recs[r->n++];
    memset(rec, 0, sizeof(*rec));
    rec->e = e;
    size_t i = s_hash(e, r->n_slots);
    while (r->slots[i])
        i = (i + 1) & (r->n_slots - 1);
    r->slots[i] = r->n;
    return rec;
}

static bool
s_room(tsdb_eval_ctx_t *c)
{
    if (c->rec && c->rec->entries >= S_MAX_ENTRIES)
        c->rec->overflow = true;
    return !c->rec || !c->rec->overflow;
}

// The index of the first count at or after t.
static size_t
s_at(const struct s_rec *rec, int64_t t)
{
    size_t lo = 0, hi = rec->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rec->counts[mid].t < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void
tsdb_eval_stats_value(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                      const struct tsdb_eval_val *v)
{
    if (!c->sample_stats || !s_room(c))
        return;
    int64_t n = 0;
    switch (v->type) {
    case FW_PQ_SCALAR: n = 1; break;
    case FW_PQ_VECTOR: n = (int64_t)v->vec.len; break;
    case FW_PQ_MATRIX:
        for (size_t k = 0; k < v->mat.len; k++)
            n += (int64_t)v->mat.items[k].len;
        break;
    default: break;
    }
    struct s_rec *rec = s_get(c, e);
    size_t i = rec->n && rec->counts[rec->n - 1].t < t ? rec->n : s_at(rec, t);
    if (i < rec->n && rec->counts[i].t == t)
        return; // evaluated at t before (a subquery's window that moved back)
    fw_mem_grow((void **)&rec->counts, &rec->cap, rec->n + 1, sizeof(*rec->counts));
    memmove(rec->counts + i + 1, rec->counts + i, (rec->n - i) * sizeof(*rec->counts));
    rec->counts[i] = (struct s_count){t, n};
    rec->n++;
    c->rec->entries++;
}

void
tsdb_eval_stats_unknown(tsdb_eval_ctx_t *c)
{
    if (!c->sample_stats)
        return;
    if (!c->rec)
        c->rec = fw_calloc(1, sizeof(*c->rec));
    c->rec->overflow = true;
}

void
tsdb_eval_stats_window(tsdb_eval_ctx_t *c, const fw_promql_expr_t *call, int64_t t,
                       const struct tsdb_eval_lset *ls, size_t len, bool answered)
{
    if (!c->sample_stats || !s_room(c))
        return;
    struct s_rec *rec = s_get(c, call);
    if (!rec->tab.slots)
        tsdb_eval_ctx_tab_init(c, &rec->tab, 16);
    size_t i = tsdb_eval_ctx_tab_get(&rec->tab, ls);
    if (i == SIZE_MAX) {
        i = rec->n_ser;
        fw_mem_grow((void **)&rec->ser, &rec->cap_ser, rec->n_ser + 1, sizeof(*rec->ser));
        rec->ser[rec->n_ser++] = (struct s_series){ls, 0, INT64_MIN, 0, 0};
        tsdb_eval_ctx_tab_put(c, &rec->tab, ls, i);
        c->rec->entries++;
    }
    struct s_series *s = &rec->ser[i];
    if (t <= s->last_t)
        return; // seen at t already (a subquery's window that moved back)
    if ((int64_t)len > s->max_win)
        s->max_win = (int64_t)len;
    s->last_t = t;
    s->last_win = (int64_t)len;
    s->answers += answered;
    rec->windows += (int64_t)len;
}

// ---------------------------------------------------------------------------------------
// The model: Prometheus 2.42's evaluator and its sample counter, replayed

struct s_grid {
    int64_t start, end, step; // step 0: one time
};

struct s_state {
    int64_t cur, peak, total;
};

static void
s_peak(struct s_state *st)
{
    if (st->cur > st->peak)
        st->peak = st->cur;
}

static int64_t
s_count(const tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t)
{
    const struct s_rec *rec = s_find(c->rec, e);
    if (!rec)
        return 0;
    size_t i = s_at(rec, t);
    return i < rec->n && rec->counts[i].t == t ? rec->counts[i].n : 0;
}

static size_t
s_steps(const struct s_grid *g)
{
    if (g->step <= 0 || g->end < g->start)
        return g->end < g->start ? 0 : 1;
    return (size_t)((g->end - g->start) / g->step) + 1;
}

static int64_t s_model(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, struct s_grid g,
                       struct s_state *st);

// rangeEval: the children one after the other, then step by step their samples at the step
// and the answers so far. With inline_kids the children are not evaluated first but read at
// each step (timestamp() of a selector): their samples count then.
static int64_t
s_range_eval(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, const fw_promql_expr_t *const *kids,
             size_t n_kids, bool inline_kids, struct s_grid g, struct s_state *st)
{
    int64_t orig = st->cur;
    for (size_t k = 0; k < n_kids && !inline_kids; k++)
        s_model(c, kids[k], g, st);
    int64_t temp = st->cur, answers = 0;
    size_t steps = s_steps(&g);
    for (size_t i = 0; i < steps; i++) {
        int64_t t = g.start + (int64_t)i * g.step;
        st->cur = temp;
        for (size_t k = 0; k < n_kids; k++) {
            int64_t n = s_count(c, kids[k], t);
            st->cur += n;
            st->total += inline_kids ? n : 0;
        }
        s_peak(st);
        int64_t r = s_count(c, e, t);
        st->cur += r;
        temp += r;
        answers += r;
        s_peak(st);
    }
    st->cur = orig + answers;
    return answers;
}

static int
s_series_cmp(const void *a, const void *b)
{
    return fw_labels_cmp(&((const struct s_series *)a)->ls->labels,
                         &((const struct s_series *)b)->ls->labels);
}

// A subquery: its inner expression over its own steps, counted apart (a child's totals,
// kept only when keep_total) but in the same counter.
static int64_t
s_subquery(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, struct s_grid g, struct s_state *st,
           bool keep_total)
{
    int64_t step = e->step_ms > 0 ? e->step_ms : 60000;
    int64_t from = tsdb_eval_ctx_tsub(tsdb_eval_ctx_ref(c, e, g.start), e->range_ms);
    int64_t start = step * (from / step);
    if (start <= from)
        start = tsdb_eval_ctx_tadd(start, step);
    struct s_grid in = {start, tsdb_eval_ctx_ref(c, e, g.end), step};
    struct s_state child = {st->cur, st->peak, 0};
    int64_t p = s_model(c, e->args[0], in, &child);
    st->cur = child.cur;
    st->peak = child.peak;
    if (keep_total)
        st->total += child.total;
    return p;
}

// A function of a range vector, one series at a time: its window at each step and its
// answers so far.
static int64_t
s_matrix_call(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, size_t m, struct s_grid g,
              struct s_state *st)
{
    for (size_t k = 0; k < e->n_args; k++)
        if (k != m && e->args[k]->type != FW_PQ_STRING)
            s_model(c, e->args[k], g, st);
    const fw_promql_expr_t *arg = e->args[m];
    while (arg->kind == FW_PQ_PAREN)
        arg = arg->args[0];
    // a subquery's answer is held while the function runs, and let go after it
    int64_t sub = arg->kind == FW_PQ_SUBQUERY ? s_subquery(c, arg, g, st, false) : 0;
    struct s_rec *rec = s_find(c->rec, e);
    int64_t base = st->cur, answers = 0;
    if (rec) {
        int64_t last = g.step > 0 ? g.start + (int64_t)(s_steps(&g) - 1) * g.step : g.start;
        qsort(rec->ser, rec->n_ser, sizeof(*rec->ser), s_series_cmp);
        for (size_t k = 0; k < rec->n_ser; k++) {
            const struct s_series *s = &rec->ser[k];
            st->cur = base + answers + s->max_win;
            s_peak(st);
            answers += s->answers;
            st->cur = base + answers + (s->last_t == last ? s->last_win : 0);
            s_peak(st);
        }
        st->total += rec->windows;
    }
    st->cur = base + answers - sub;
    return answers;
}

static int64_t
s_model(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, struct s_grid g, struct s_state *st)
{
    size_t steps = s_steps(&g);
    if (e->step_invariant && e->type != FW_PQ_MATRIX && steps > 1) {
        // StepInvariantExpr: once, at the first time it was evaluated, then copied to every
        // step; its samples count once per step
        const struct s_rec *rec = s_find(c->rec, e);
        int64_t t0 = rec && rec->n ? rec->counts[0].t : g.start;
        struct s_state child = {st->cur, st->peak, 0};
        fw_promql_expr_t *w = (fw_promql_expr_t *)e; // model the node without the mark
        w->step_invariant = false;
        int64_t p = s_model(c, e, (struct s_grid){t0, t0, 0}, &child);
        w->step_invariant = true;
        st->cur = child.cur + p * (int64_t)(steps - 1);
        st->peak = child.peak;
        s_peak(st);
        st->total += child.total * (int64_t)steps;
        return p * (int64_t)steps;
    }
    switch (e->kind) {
    case FW_PQ_PAREN:
    case FW_PQ_NEG: return s_model(c, e->args[0], g, st);
    case FW_PQ_STR: return 0;
    case FW_PQ_NUMBER: return s_range_eval(c, e, NULL, 0, false, g, st);
    case FW_PQ_SELECTOR: {
        int64_t p = 0;
        for (size_t i = 0; i < steps; i++)
            p += s_count(c, e, g.start + (int64_t)i * g.step);
        st->cur += p;
        st->total += p;
        s_peak(st);
        return p;
    }
    case FW_PQ_SUBQUERY: return s_subquery(c, e, g, st, true);
    case FW_PQ_AGG: {
        const fw_promql_expr_t *kids[2];
        size_t n = 0;
        if (e->param && e->param->type != FW_PQ_STRING)
            kids[n++] = e->param;
        kids[n++] = e->args[0];
        return s_range_eval(c, e, kids, n, false, g, st);
    }
    case FW_PQ_BINARY:
        return s_range_eval(c, e, (const fw_promql_expr_t *const *)e->args, 2, false, g, st);
    case FW_PQ_CALL: break;
    }
    for (size_t k = 0; k < e->n_args; k++)
        if (e->args[k]->type == FW_PQ_MATRIX)
            return s_matrix_call(c, e, k, g, st);
    const fw_promql_expr_t *arg = e->n_args ? e->args[0] : NULL;
    while (arg && arg->kind == FW_PQ_PAREN)
        arg = arg->args[0];
    if ((e->func == FW_PQ_FN_TIMESTAMP || e->func == FW_PQ_FN_START_TIMESTAMP) && arg &&
        arg->kind == FW_PQ_SELECTOR)
        return s_range_eval(c, e, &arg, 1, true, g, st); // reads the selector at each step
    const fw_promql_expr_t *stack[8] = {0}, **kids = stack;
    if (e->n_args > 8)
        kids = fw_malloc(e->n_args * sizeof(*kids));
    size_t n = 0;
    for (size_t k = 0; k < e->n_args; k++)
        if (e->args[k]->type != FW_PQ_STRING)
            kids[n++] = e->args[k];
    int64_t p = s_range_eval(c, e, kids, n, false, g, st);
    if (kids != stack)
        free(kids);
    return p;
}

int
tsdb_eval_stats_model(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e)
{
    if (!c->sample_stats || !c->rec || c->rec->overflow)
        return -1;
    struct s_state st = {0, 0, 0};
    struct s_grid g = {c->q_start, c->q_end, c->q_step};
    s_model(c, e, g, &st);
    c->stats.total_samples = st.total;
    c->stats.peak_samples = st.peak;
    return 0;
}

void
tsdb_eval_stats_free(tsdb_eval_ctx_t *c)
{
    struct tsdb_eval_rec *r = c->rec;
    if (!r)
        return;
    for (size_t k = 0; k < r->n; k++) {
        free(r->recs[k].counts);
        free(r->recs[k].ser);
        if (r->recs[k].tab.slots)
            tsdb_eval_ctx_tab_free(c, &r->recs[k].tab);
    }
    free(r->recs);
    free(r->slots);
    free(r);
    c->rec = NULL;
}
