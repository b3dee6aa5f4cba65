/*  tsdb_eval_func.c — PromQL function calls (see tsdb_eval_int.h): the dispatch table built
    from common/fw_promql_funcs.def, argument evaluation, the three generic ways of calling
    an implementation (per element, per series of a range vector, the whole call), and the
    small functions of the query's own context (time, start, end, range, step, pi, vector,
    scalar, timestamp, min_of, max_of).

    Element-wise functions rewrite their argument's vector in place and hand it on; functions
    of range vectors read the points a selector or subquery lends them and push one element
    per series. Dropping __name__ goes through the set's own memo, so a range query derives
    each output label set once per series, not once per step.
*/
#include <math.h>
#include <string.h>

#include "tsdb_eval_int.h"

#define S_STACK_ARGS 8
#define S_MAX_PARAMS 4 // scalar arguments an elem or range function takes at most

enum s_kind { S_K_elem, S_K_range, S_K_keep, S_K_call };

static const struct s_impl {
    enum s_kind how;
    tsdb_eval_fn_elem_t *elem;
    tsdb_eval_fn_range_t *range, *keep;
    tsdb_eval_fn_call_t *call;
} s_impls[FW_PQ_FN_COUNT] = {
#define FW_PQ_FUNC(name, id, ret, min, max, kind, impl, ...)                                       \
    [FW_PQ_FN_##id] = {.how = S_K_##kind, .kind = tsdb_eval_fn_##impl},
#include "fw_promql_funcs.def"
#undef FW_PQ_FUNC
};

// ---------------------------------------------------------------------------------------
// The query's context and small functions

int
tsdb_eval_fn_time(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)c, (void)e, (void)args, (void)na;
    out->scalar = (double)t / 1000.0;
    return 0;
}

int
tsdb_eval_fn_pi(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)c, (void)e, (void)t, (void)args, (void)na;
    out->scalar = 3.14159265358979323846264338327950288;
    return 0;
}

// start() and end(): the query's start and end in seconds (an instant query's time).
int
tsdb_eval_fn_start(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                   struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)e, (void)t, (void)args, (void)na;
    out->scalar = (double)c->q_start / 1000.0;
    return 0;
}

int
tsdb_eval_fn_end(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                 struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)e, (void)t, (void)args, (void)na;
    out->scalar = (double)c->q_end / 1000.0;
    return 0;
}

// range(): end - start in seconds; step(): a range query's step, 0 for an instant query.
int
tsdb_eval_fn_range(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                   struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)e, (void)t, (void)args, (void)na;
    out->scalar = ((double)c->q_end - (double)c->q_start) / 1000.0;
    return 0;
}

int
tsdb_eval_fn_step(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)e, (void)t, (void)args, (void)na;
    out->scalar = c->q_start == c->q_end ? 0 : (double)c->q_step / 1000.0;
    return 0;
}

int
tsdb_eval_fn_min_of(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)c, (void)e, (void)t, (void)na;
    out->scalar = tsdb_eval_math_min(args[0].scalar, args[1].scalar);
    return 0;
}

int
tsdb_eval_fn_max_of(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)c, (void)e, (void)t, (void)na;
    out->scalar = tsdb_eval_math_max(args[0].scalar, args[1].scalar);
    return 0;
}

int
tsdb_eval_fn_vector(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)e, (void)na;
    tsdb_eval_ctx_push(c, &out->vec, tsdb_eval_ctx_empty(c), t, args[0].scalar);
    return 0;
}

int
tsdb_eval_fn_scalar(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)c, (void)e, (void)t, (void)na;
    out->scalar = args[0].vec.len == 1 ? args[0].vec.items[0].v : NAN;
    return 0;
}

static const fw_promql_expr_t *
s_unparen(const fw_promql_expr_t *e)
{
    while (e->kind == FW_PQ_PAREN)
        e = e->args[0];
    return e;
}

// timestamp(): each sample's own time (not the evaluation time), __name__ dropped.
int
tsdb_eval_fn_timestamp(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                       struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)e, (void)na;
    out->vec = args[0].vec;
    memset(&args[0].vec, 0, sizeof(args[0].vec));
    for (size_t k = 0; k < out->vec.len; k++) {
        struct tsdb_eval_elem *el = &out->vec.items[k];
        el->v = (double)el->t / 1000.0;
        el->t = t;
        tsdb_eval_ctx_unname(c, &el->ls, &el->drop);
    }
    return 0;
}

// start_timestamp(): each sample's start time in seconds (0 for none), __name__ dropped.
// Only a selector's samples have one: the call reads its (unparenthesised) selector itself
// (tsdb_eval_func_call does not evaluate it); of any other expression the answer is empty,
// as in Prometheus.
int
tsdb_eval_fn_start_timestamp(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                             struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)args, (void)na;
    const fw_promql_expr_t *arg = s_unparen(e->args[0]);
    if (arg->kind != FW_PQ_SELECTOR)
        return 0;
    if (tsdb_eval_select_start_times(c, arg, t, out) != 0)
        return -1;
    for (size_t k = 0; k < out->vec.len; k++) {
        struct tsdb_eval_elem *el = &out->vec.items[k];
        el->t = t;
        tsdb_eval_ctx_unname(c, &el->ls, &el->drop);
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Generic calls

// The scalar arguments of e, in order, into p (at most S_MAX_PARAMS).
static void
s_params(const fw_promql_expr_t *e, const struct tsdb_eval_val *args, double *p)
{
    size_t n = 0;
    for (size_t k = 0; k < e->n_args && n < S_MAX_PARAMS; k++)
        if (e->args[k]->type == FW_PQ_SCALAR)
            p[n++] = args[k].scalar;
}

// An elem function over the vector argument, rewritten in place and moved to out.
static int
s_call_elem(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, tsdb_eval_fn_elem_t *fn,
            struct tsdb_eval_val *args, struct tsdb_eval_val *out)
{
    double p[S_MAX_PARAMS] = {1, 0, 0, 0}; // round's default: to the nearest 1
    s_params(e, args, p);
    struct tsdb_eval_vec *vec = &args[0].vec;
    size_t w = 0;
    for (size_t k = 0; k < vec->len; k++) {
        struct tsdb_eval_elem el = vec->items[k];
        if (!fn(&el.v, p))
            continue;
        tsdb_eval_ctx_unname(c, &el.ls, &el.drop);
        el.t = t;
        vec->items[w++] = el;
    }
    vec->len = w;
    out->vec = *vec;
    memset(vec, 0, sizeof(*vec));
    return 0;
}

// A range or keep function: one element per series of the range-vector argument that has
// a value.
static int
s_call_range(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, tsdb_eval_fn_range_t *fn,
             bool keep_name, struct tsdb_eval_val *args, struct tsdb_eval_val *out)
{
    double p[S_MAX_PARAMS] = {0, 0, 0, 0};
    s_params(e, args, p);
    const struct tsdb_eval_val *m = NULL;
    for (size_t k = 0; k < e->n_args; k++)
        if (e->args[k]->type == FW_PQ_MATRIX)
            m = &args[k];
    const fw_promql_expr_t *sel = m->sel;
    if (sel->kind == FW_PQ_SELECTOR && (sel->anchored || sel->smoothed)) {
        // these ranges hold samples beyond their ends: only functions that know are safe
        fw_pq_func_t f = e->func;
        bool ok = f == FW_PQ_FN_RATE || f == FW_PQ_FN_INCREASE || f == FW_PQ_FN_DELTA ||
                  (sel->anchored && (f == FW_PQ_FN_CHANGES || f == FW_PQ_FN_RESETS));
        if (!ok)
            return tsdb_eval_ctx_fail(c, "%s modifier can only be used with: %s - not with %s",
                                      sel->anchored ? "anchored" : "smoothed",
                                      sel->anchored ? "changes, delta, increase, rate, resets"
                                                    : "delta, increase, rate",
                                      e->func_name);
    }
    struct tsdb_eval_fn_range a = {.c = c, .call = e, .sel = sel, .t = t, .p = p};
    for (size_t k = 0; k < m->mat.len && c->rc == 0; k++) {
        const struct tsdb_eval_ser *s = &m->mat.items[k];
        double v;
        a.pts = s->pts;
        a.len = s->len;
        a.st = s->st;
        a.ls = s->ls;
        bool answered = fn(&a, &v);
        tsdb_eval_stats_window(c, e, t, s->ls, s->len, answered);
        if (!answered)
            continue;
        if (keep_name)
            tsdb_eval_ctx_push_drop(c, &out->vec, s->ls, t, v, s->drop);
        else
            tsdb_eval_ctx_push_unnamed(c, &out->vec, s->ls, t, v);
    }
    tsdb_eval_ctx_release(c, (void **)&a.scratch, &a.scratch_cap, sizeof(double));
    return c->rc == 0 ? 0 : -1;
}

int
tsdb_eval_func_call(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *out)
{
    const struct s_impl *im = &s_impls[e->func];
    if (im->how == S_K_range || im->how == S_K_keep) {
        int r = tsdb_rollup_eval_call(c, e, t, im->how == S_K_keep, out);
        if (r > 0)
            tsdb_eval_stats_unknown(c); // no windows of raw samples to count
        if (r != 0)
            return r < 0 ? -1 : 0;
    }
    size_t na = e->n_args, n_vals = na > 1 ? na : 1;
    struct tsdb_eval_val stack[S_STACK_ARGS], *args = stack;
    size_t cap = 0;
    if (n_vals > S_STACK_ARGS) {
        args = NULL;
        tsdb_eval_ctx_grow(c, (void **)&args, &cap, n_vals, sizeof(*args));
    }
    memset(args, 0, n_vals * sizeof(*args));
    int rc = 0;
    // info()'s label selector only names what to join: its info series are read through
    // the selector the parser built in e->param, never by selecting all it matches
    // start_timestamp() of a selector reads the selector's start times itself
    size_t n_eval = e->func == FW_PQ_FN_INFO ? 1 : na;
    if (e->func == FW_PQ_FN_START_TIMESTAMP && s_unparen(e->args[0])->kind == FW_PQ_SELECTOR)
        n_eval = 0;
    for (size_t k = 0; k < n_eval && rc == 0; k++)
        rc = tsdb_eval_node(c, e->args[k], t, &args[k]);
    if (rc == 0 && na == 0 && im->how == S_K_elem) {
        args[0].type = FW_PQ_VECTOR; // the date functions' default argument: vector(time())
        tsdb_eval_ctx_push(c, &args[0].vec, tsdb_eval_ctx_empty(c), t, (double)t / 1000.0);
    }
    out->type = e->type;
    if (rc == 0 && im->how == S_K_call && e->func == FW_PQ_FN_ABSENT_OVER_TIME)
        // Prometheus calls it on each series' window, and each gives an answer
        for (size_t k = 0; k < args[0].mat.len; k++)
            tsdb_eval_stats_window(c, e, t, args[0].mat.items[k].ls, args[0].mat.items[k].len,
                                   true);
    if (rc == 0) {
        switch (im->how) {
        case S_K_elem: rc = s_call_elem(c, e, t, im->elem, args, out); break;
        case S_K_range: rc = s_call_range(c, e, t, im->range, false, args, out); break;
        case S_K_keep: rc = s_call_range(c, e, t, im->keep, true, args, out); break;
        case S_K_call: rc = im->call(c, e, t, args, na, out); break;
        }
    }
    for (size_t k = 0; k < n_vals; k++)
        tsdb_eval_ctx_val_clear(c, &args[k]);
    if (args != stack)
        tsdb_eval_ctx_release(c, (void **)&args, &cap, sizeof(*args));
    return rc;
}
