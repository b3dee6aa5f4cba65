/*  tsdb_eval.c — PromQL evaluation over tsdb_store (see tsdb_eval.h): the tree walk,
    subqueries and the two entry points.

    tsdb_eval_node() turns a node into a value (scalar, string, instant vector, range
    vector) at one timestamp, handing selectors, calls, aggregations and binary operators
    to their modules (tsdb_eval_select.c, tsdb_eval_func.c, tsdb_eval_agg.c,
    tsdb_eval_binop.c). Values point at label sets interned for the query and their arrays
    come from the query's buffer pool (tsdb_eval_int.h), so a step allocates nothing once
    the first step has filled the pool and the intern table. A range query is the instant
    evaluation repeated per step, merged into one series per label set through a table keyed
    by the interned set; only the result handed to the caller owns copies of its labels.

    Error policy: evaluation errors (many-to-many matching, duplicate output series) set
    c->rc = -1 with a message in err; a passed deadline FW_ETIMEOUT; storage FW_ESTORE.
*/
#include "tsdb_eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "tsdb_eval_int.h"

// ---------------------------------------------------------------------------------------
// Tree walk

// A step-invariant value kept for the query: the value its node had when first evaluated.
struct tsdb_eval_once {
    const fw_promql_expr_t *e;
    struct tsdb_eval_val v; // SCALAR or VECTOR; the elements' buffer from the pool
};

static int s_node(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *out);

// The step-invariant node e at t: evaluated the first time, copied from then on (held as
// samples while the query runs, as Prometheus holds a StepInvariantExpr's result). Computed
// elements take the time t; a selector's keep their samples' times.
static int
s_once(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *out)
{
    struct tsdb_eval_once *o = NULL;
    for (size_t k = 0; k < c->n_once && !o; k++)
        if (c->once[k].e == e)
            o = &c->once[k];
    if (!o) {
        struct tsdb_eval_val v;
        if (s_node(c, e, t, &v) != 0)
            return -1;
        if (tsdb_eval_ctx_samples_hold(c, (int64_t)v.vec.len) != 0) {
            tsdb_eval_ctx_val_clear(c, &v);
            return -1;
        }
        tsdb_eval_ctx_grow(c, (void **)&c->once, &c->cap_once, c->n_once + 1, sizeof(*c->once));
        o = &c->once[c->n_once++];
        o->e = e;
        o->v = v;
    }
    const fw_promql_expr_t *top = e;
    while (top->kind == FW_PQ_PAREN)
        top = top->args[0];
    out->type = o->v.type;
    out->scalar = o->v.scalar;
    out->str = o->v.str;
    if (o->v.vec.len > 0) {
        tsdb_eval_ctx_grow(c, (void **)&out->vec.items, &out->vec.cap, o->v.vec.len,
                           sizeof(*out->vec.items));
        memcpy(out->vec.items, o->v.vec.items, o->v.vec.len * sizeof(*out->vec.items));
        out->vec.len = o->v.vec.len;
        for (size_t k = 0; top->kind != FW_PQ_SELECTOR && k < out->vec.len; k++)
            out->vec.items[k].t = t;
    }
    return 0;
}

int
tsdb_eval_node(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *out)
{
    memset(out, 0, sizeof(*out));
    if (c->rc != 0)
        return -1;
    if (!e->step_invariant || e->type == FW_PQ_MATRIX)
        return s_node(c, e, t, out);
    if (s_once(c, e, t, out) == 0) {
        tsdb_eval_stats_value(c, e, t, out);
        return 0;
    }
    tsdb_eval_ctx_val_clear(c, out);
    if (c->rc == 0)
        c->rc = -1;
    return -1;
}

static int
s_node(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *out)
{
    memset(out, 0, sizeof(*out));
    int rc = 0;
    switch (e->kind) {
    case FW_PQ_NUMBER:
        out->type = FW_PQ_SCALAR;
        out->scalar = e->num;
        break;
    case FW_PQ_STR:
        out->type = FW_PQ_STRING;
        out->str = e->str;
        break;
    case FW_PQ_PAREN: rc = tsdb_eval_node(c, e->args[0], t, out); break;
    case FW_PQ_SELECTOR:
        c->stats.selects++;
        rc = e->type == FW_PQ_MATRIX ? tsdb_eval_select_matrix(c, e, t, out)
                                     : tsdb_eval_select_vector(c, e, t, out);
        break;
    case FW_PQ_NEG:
        rc = tsdb_eval_node(c, e->args[0], t, out);
        if (rc == 0 && out->type == FW_PQ_SCALAR)
            out->scalar = -out->scalar;
        else if (rc == 0)
            for (size_t k = 0; k < out->vec.len; k++) {
                struct tsdb_eval_elem *el = &out->vec.items[k];
                el->v = -el->v;
                tsdb_eval_ctx_unname(c, &el->ls, &el->drop);
            }
        break;
    case FW_PQ_CALL: rc = tsdb_eval_func_call(c, e, t, out); break;
    case FW_PQ_AGG: rc = tsdb_eval_agg(c, e, t, out); break;
    case FW_PQ_BINARY: rc = tsdb_eval_binop(c, e, t, out); break;
    case FW_PQ_SUBQUERY: rc = tsdb_eval_subquery(c, e, t, out); break;
    }
    // --query.max-samples=0: any value that holds a sample is one too many
    if (rc == 0 && c->max_samples == TSDB_EVAL_NO_SAMPLES &&
        (out->type == FW_PQ_SCALAR || out->vec.len > 0 || out->mat.len > 0))
        rc = tsdb_eval_ctx_fail(c, TSDB_EVAL_TOO_MANY_SAMPLES);
    if (rc == 0 && c->rc == 0)
        tsdb_eval_stats_value(c, e, t, out);
    if (rc != 0 || c->rc != 0) {
        tsdb_eval_ctx_val_clear(c, out);
        if (c->rc == 0)
            c->rc = -1;
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Duration expressions

// The value of duration expression d for this query in milliseconds into *ms (as
// Prometheus: seconds times 1000, truncated). 0, or -1 with the error recorded.
static int
s_duration(tsdb_eval_ctx_t *c, const fw_promql_expr_t *d, bool may_be_negative, int64_t *ms)
{
    double v = fw_promql_duration_eval(d, (double)c->q_step / 1000.0,
                                       ((double)c->q_end - (double)c->q_start) / 1000.0);
    if (!isfinite(v))
        return tsdb_eval_ctx_fail(c, "%d:%d: duration is NaN or infinite", d->pos, d->pos);
    if (v <= 0 && !may_be_negative)
        return tsdb_eval_ctx_fail(c, "%d:%d: duration must be greater than 0", d->pos, d->pos);
    if (fabs(v) > 9.2e9)
        return tsdb_eval_ctx_fail(c, "%d:%d: duration is out of range", d->pos, d->pos);
    *ms = (int64_t)(v * 1000.0);
    return 0;
}

// Whether e's value is the same at every step (Prometheus's preprocessExprHelper): selectors
// and subqueries with @, literals, and what is built from them only, except by the functions
// of the evaluation time (Prometheus's AtModifierUnsafeFunctions) and info(), whose info
// series are read at each step. The tops of such subtrees under a node that is not are
// marked step_invariant (as Prometheus wraps them in a StepInvariantExpr); literals are not
// worth it. A subquery's inner expression is marked on its own.
static bool
s_mark_invariant(fw_promql_expr_t *e)
{
    bool inv = true;
    switch (e->kind) {
    case FW_PQ_NUMBER:
    case FW_PQ_STR: return true;
    case FW_PQ_SELECTOR: return e->at != FW_PQ_AT_NONE;
    case FW_PQ_SUBQUERY: inv = e->at != FW_PQ_AT_NONE; break;
    case FW_PQ_CALL:
        switch (e->func) {
        case FW_PQ_FN_DAYS_IN_MONTH:
        case FW_PQ_FN_DAY_OF_MONTH:
        case FW_PQ_FN_DAY_OF_WEEK:
        case FW_PQ_FN_DAY_OF_YEAR:
        case FW_PQ_FN_END:
        case FW_PQ_FN_HOUR:
        case FW_PQ_FN_MINUTE:
        case FW_PQ_FN_MONTH:
        case FW_PQ_FN_YEAR:
        case FW_PQ_FN_PREDICT_LINEAR:
        case FW_PQ_FN_RANGE:
        case FW_PQ_FN_START:
        case FW_PQ_FN_STEP:
        case FW_PQ_FN_TIME:
        case FW_PQ_FN_TIMESTAMP:
        case FW_PQ_FN_START_TIMESTAMP:
        case FW_PQ_FN_INFO: inv = false; break;
        default: break;
        }
        break;
    default: break;
    }
    // each child's flag says first whether it is invariant, then whether it is a top
    for (size_t k = 0; k < e->n_args; k++) {
        fw_promql_expr_t *a = e->args[k];
        a->step_invariant = s_mark_invariant(a);
        if (e->kind != FW_PQ_SUBQUERY)
            inv = inv && a->step_invariant;
    }
    if (e->param && !s_mark_invariant(e->param))
        inv = false;
    for (size_t k = 0; k < e->n_args; k++) {
        fw_promql_expr_t *a = e->args[k];
        a->step_invariant = a->step_invariant && (!inv || e->kind == FW_PQ_SUBQUERY) &&
                            a->kind != FW_PQ_NUMBER && a->kind != FW_PQ_STR;
    }
    return inv;
}

// Work out the ranges, offsets and steps of e written as expressions of step() and range()
// for this query: they are stored in the tree's range_ms, offset_ms and step_ms, which is
// why one tree is never evaluated by two queries at once (each query parses its own).
static int
s_resolve_durations(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e)
{
    fw_promql_expr_t *w = (fw_promql_expr_t *)e; // the cached duration fields only
    if ((e->range_expr && s_duration(c, e->range_expr, false, &w->range_ms) != 0) ||
        (e->offset_expr && s_duration(c, e->offset_expr, true, &w->offset_ms) != 0) ||
        (e->step_expr && s_duration(c, e->step_expr, false, &w->step_ms) != 0))
        return -1;
    for (size_t k = 0; k < e->n_args; k++)
        if (s_resolve_durations(c, e->args[k]) != 0)
            return -1;
    return e->param ? s_resolve_durations(c, e->param) : 0;
}

// Ready e for this query: durations worked out, step-invariant subtrees marked. 0, or -1
// with the error recorded.
static int
s_prepare(tsdb_eval_ctx_t *c, fw_promql_expr_t *e)
{
    if (s_resolve_durations(c, e) != 0)
        return -1;
    e->step_invariant = s_mark_invariant(e) && e->kind != FW_PQ_NUMBER && e->kind != FW_PQ_STR;
    return 0;
}

// ---------------------------------------------------------------------------------------
// Entry points

char *
tsdb_eval_anno_text(const struct tsdb_eval_anno *a, const char *query)
{
    int line = 1, col = 1;
    for (int k = 0; query && k < a->pos && query[k]; k++) {
        if (query[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return fw_asprintf("PromQL %s: %s (%d:%d)", a->info ? "info" : "warning", a->msg, line, col);
}

// Hand the annotations gathered in c to out.
static void
s_take_annos(tsdb_eval_ctx_t *c, struct tsdb_eval_result *out)
{
    out->annos = c->annos;
    out->n_annos = c->n_annos;
    c->annos = NULL;
    c->n_annos = c->cap_annos = 0;
}

static void
s_close(tsdb_eval_ctx_t *c)
{
    for (size_t k = 0; k < c->n_once; k++)
        tsdb_eval_ctx_val_clear(c, &c->once[k].v);
    tsdb_eval_ctx_release(c, (void **)&c->once, &c->cap_once, sizeof(*c->once));
    c->n_once = 0;
    tsdb_eval_subquery_free(c);
    tsdb_eval_select_free(c);
    tsdb_eval_ctx_close(c);
}

static int
s_series_cmp(const void *a, const void *b)
{
    return fw_labels_cmp(&((const struct tsdb_eval_series *)a)->labels,
                         &((const struct tsdb_eval_series *)b)->labels);
}

void
tsdb_eval_result_clear(struct tsdb_eval_result *r)
{
    for (size_t k = 0; k < r->len; k++) {
        tsdb_eval_series_clear_labels(&r->series[k]);
        free(r->series[k].pts);
    }
    free(r->series);
    free(r->str);
    for (size_t k = 0; k < r->n_annos; k++)
        free(r->annos[k].msg);
    free(r->annos);
    memset(r, 0, sizeof(*r));
}

void
tsdb_eval_series_clear_labels(struct tsdb_eval_series *s)
{
    free(s->labels.items);
    s->labels = (struct fw_labels)FW_LABELS_INIT;
}

// A copy of src in one block: the items, then every name and value (a result of 400,000
// series makes 400,000 allocations, not 3.2 million).
static struct fw_labels
s_labels_block(const struct fw_labels *src)
{
    size_t bytes = src->len * sizeof(struct fw_label);
    for (size_t k = 0; k < src->len; k++)
        bytes += strlen(src->items[k].name) + strlen(src->items[k].value) + 2;
    struct fw_label *items = fw_malloc(bytes ? bytes : 1);
    char *p = (char *)(items + src->len);
    for (size_t k = 0; k < src->len; k++) {
        size_t nl = strlen(src->items[k].name) + 1, vl = strlen(src->items[k].value) + 1;
        items[k].name = memcpy(p, src->items[k].name, nl);
        items[k].value = memcpy(p + nl, src->items[k].value, vl);
        p += nl + vl;
    }
    return (struct fw_labels){items, src->len, src->len};
}

// Add a series labelled with a copy of ls owning pts[0..n).
static struct tsdb_eval_series *
s_result_add(struct tsdb_eval_result *out, size_t *cap, const struct tsdb_eval_lset *ls,
             struct fw_sample *pts, size_t n)
{
    fw_mem_grow((void **)&out->series, cap, out->len + 1, sizeof(*out->series));
    struct tsdb_eval_series *s = &out->series[out->len++];
    s->labels = s_labels_block(&ls->labels);
    s->pts = pts;
    s->len = s->cap = n;
    return s;
}

// The labels the answer v of an instant query ends with: the metadata labels marked for
// removal go (delayed name removal), and then no two elements or series may have the same
// labels (Prometheus's "vector cannot contain metrics with the same labelset"; interned
// sets are equal when their pointers are). 0, or -1 with the error recorded.
static int
s_final_labels(tsdb_eval_ctx_t *c, struct tsdb_eval_val *v)
{
    size_t n = v->type == FW_PQ_VECTOR ? v->vec.len : v->type == FW_PQ_MATRIX ? v->mat.len : 0;
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(c, &tab, n);
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        const struct tsdb_eval_lset **ls;
        if (v->type == FW_PQ_VECTOR) {
            ls = &v->vec.items[k].ls;
            *ls = tsdb_eval_ctx_final(c, *ls, v->vec.items[k].drop);
        } else {
            ls = &v->mat.items[k].ls;
            *ls = tsdb_eval_ctx_final(c, *ls, v->mat.items[k].drop);
        }
        if (tsdb_eval_ctx_tab_get(&tab, *ls) != SIZE_MAX)
            rc = tsdb_eval_ctx_fail(c, "vector cannot contain metrics with the same labelset");
        else
            tsdb_eval_ctx_tab_put(c, &tab, *ls, k);
    }
    tsdb_eval_ctx_tab_free(c, &tab);
    return rc;
}

int
tsdb_eval_instant(tsdb_store_t *store, const fw_promql_expr_t *e, int64_t t_ms,
                  const struct tsdb_eval_limit *limit, struct tsdb_eval_result *out, fw_err_t *err)
{
    memset(out, 0, sizeof(*out));
    tsdb_eval_ctx_t c;
    int rc = tsdb_eval_ctx_open(&c, store, t_ms, t_ms, limit, err);
    if (rc != 0)
        return rc;
    struct tsdb_eval_val v;
    if (s_prepare(&c, (fw_promql_expr_t *)e) != 0 || tsdb_eval_node(&c, e, t_ms, &v) != 0) {
        rc = c.rc ? c.rc : -1;
        s_close(&c);
        return rc;
    }
    if (s_final_labels(&c, &v) != 0) {
        tsdb_eval_ctx_val_clear(&c, &v);
        s_close(&c);
        return -1;
    }
    out->type = v.type;
    out->t_ms = t_ms;
    size_t cap = 0;
    switch (v.type) {
    case FW_PQ_SCALAR: out->scalar = v.scalar; break;
    case FW_PQ_STRING: out->str = fw_strdup(v.str ? v.str : ""); break;
    case FW_PQ_VECTOR:
        for (size_t k = 0; k < v.vec.len; k++) {
            struct fw_sample *p = fw_malloc(sizeof(*p));
            p->t_ms = t_ms;
            p->v = v.vec.items[k].v;
            s_result_add(out, &cap, v.vec.items[k].ls, p, 1);
        }
        break;
    case FW_PQ_MATRIX:
        for (size_t k = 0; k < v.mat.len; k++) {
            const struct tsdb_eval_ser *s = &v.mat.items[k];
            struct fw_sample *p = fw_malloc(s->len * sizeof(*p));
            memcpy(p, s->pts, s->len * sizeof(*p));
            s_result_add(out, &cap, s->ls, p, s->len);
        }
        break;
    }
    tsdb_eval_ctx_val_clear(&c, &v);
    tsdb_eval_stats_model(&c, e);
    s_take_annos(&c, out);
    s_close(&c);
    const fw_promql_expr_t *top = e;
    while (top->kind == FW_PQ_PAREN)
        top = top->args[0];
    // sort*(), topk() and bottomk() answer in their own order, the rest sorted by labels
    bool ordered =
        (top->kind == FW_PQ_CALL &&
         (top->func == FW_PQ_FN_SORT || top->func == FW_PQ_FN_SORT_DESC ||
          top->func == FW_PQ_FN_SORT_BY_LABEL || top->func == FW_PQ_FN_SORT_BY_LABEL_DESC)) ||
        (top->kind == FW_PQ_AGG && (top->agg == FW_PQ_AGG_TOPK || top->agg == FW_PQ_AGG_BOTTOMK));
    if (out->len > 1 && !ordered)
        qsort(out->series, out->len, sizeof(*out->series), s_series_cmp);
    return 0;
}

int
tsdb_eval_range(tsdb_store_t *store, const fw_promql_expr_t *e, int64_t start_ms, int64_t end_ms,
                int64_t step_ms, const struct tsdb_eval_limit *limit, struct tsdb_eval_result *out,
                fw_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (step_ms <= 0 || end_ms < start_ms) {
        fw_err_set(err, "invalid range");
        return -1;
    }
    tsdb_eval_ctx_t c;
    int rc = tsdb_eval_ctx_open(&c, store, start_ms, end_ms, limit, err);
    if (rc != 0)
        return rc;
    c.q_step = step_ms;
    out->type = FW_PQ_MATRIX;
    if (s_prepare(&c, (fw_promql_expr_t *)e) != 0) {
        rc = c.rc;
        s_close(&c);
        return rc;
    }
    size_t cap = 0;
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(&c, &tab, 64);
    for (int64_t t = start_ms; t <= end_ms; t += step_ms) {
        if (tsdb_eval_ctx_check_deadline(&c) != 0)
            break;
        struct tsdb_eval_val v;
        if (tsdb_eval_node(&c, e, t, &v) != 0)
            break;
        if (v.type == FW_PQ_SCALAR)
            tsdb_eval_ctx_push(&c, &v.vec, tsdb_eval_ctx_empty(&c), t, v.scalar);
        if (tsdb_eval_ctx_samples_hold(&c, (int64_t)v.vec.len) != 0) {
            tsdb_eval_ctx_val_clear(&c, &v);
            break;
        }
        for (size_t k = 0; k < v.vec.len; k++) {
            const struct tsdb_eval_elem *el = &v.vec.items[k];
            // series that end with the same labels are one, unless two points meet (as
            // Prometheus merges them after delayed name removal)
            const struct tsdb_eval_lset *ls = tsdb_eval_ctx_final(&c, el->ls, el->drop);
            size_t si = tsdb_eval_ctx_tab_get(&tab, ls);
            if (si == SIZE_MAX) {
                si = out->len;
                s_result_add(out, &cap, ls, NULL, 0);
                tsdb_eval_ctx_tab_put(&c, &tab, ls, si);
            }
            struct tsdb_eval_series *s = &out->series[si];
            if (s->len > 0 && s->pts[s->len - 1].t_ms == t) {
                tsdb_eval_ctx_fail(&c, "vector cannot contain metrics with the same labelset");
                break;
            }
            fw_mem_grow((void **)&s->pts, &s->cap, s->len + 1, sizeof(struct fw_sample));
            s->pts[s->len].t_ms = t;
            s->pts[s->len].v = el->v;
            s->len++;
        }
        tsdb_eval_ctx_val_clear(&c, &v);
        if (c.rc != 0)
            break;
        if (!tsdb_eval_ctx_step_fits(t, end_ms, step_ms))
            break;
    }
    tsdb_eval_ctx_tab_free(&c, &tab);
    rc = c.rc;
    if (rc == 0)
        tsdb_eval_stats_model(&c, e);
    s_take_annos(&c, out);
    s_close(&c);
    if (rc != 0) {
        tsdb_eval_result_clear(out);
        return rc;
    }
    if (out->len > 1)
        qsort(out->series, out->len, sizeof(*out->series), s_series_cmp);
    return 0;
}
