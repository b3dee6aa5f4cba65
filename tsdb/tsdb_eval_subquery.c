/*  tsdb_eval_subquery.c — PromQL subqueries (see tsdb_eval_int.h).

    A subquery at t is its inner expression at every step-aligned time in
    (t - offset - range, t - offset] (Prometheus: steps are multiples of the step since the
    epoch), grouped into one series per label set. Each subquery node keeps the inner values
    of the steps it evaluated last (their elements, in step order) and, at its next
    evaluation, drops those its window has left and evaluates only the steps that entered
    it: over a range query the inner expression is evaluated once per inner step rather than
    once per inner step and outer step (a 1h:1m subquery under 1m steps: 1 evaluation per
    step instead of 60). Nested subqueries slide the same way, since an enclosing subquery
    asks for increasing times too. A window that moves back (or jumps past what is kept)
    starts again. The kept elements count as samples held (--query.max-samples).
*/
#include <string.h>

#include "tsdb_eval_int.h"

// One subquery node's kept steps: steps[head..n) with their elements els[..] in order.
struct tsdb_eval_subq {
    const fw_promql_expr_t *e;
    struct s_step {
        int64_t t;
        size_t off, len; // in els
    } * steps;           // pool
    size_t head, n, cap;
    struct tsdb_eval_elem *els; // pool
    size_t els_head, n_els, cap_els;
};

static struct tsdb_eval_subq *
s_kept(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e)
{
    for (size_t k = 0; k < c->n_subq; k++)
        if (c->subq[k].e == e)
            return &c->subq[k];
    tsdb_eval_ctx_grow(c, (void **)&c->subq, &c->cap_subq, c->n_subq + 1, sizeof(*c->subq));
    struct tsdb_eval_subq *q = &c->subq[c->n_subq++];
    memset(q, 0, sizeof(*q));
    q->e = e;
    return q;
}

// Forget the kept steps before from (all of them with from INT64_MAX), releasing their
// samples; move what is left to the front of the arrays once the front half is unused.
static void
s_drop_before(tsdb_eval_ctx_t *c, struct tsdb_eval_subq *q, int64_t from)
{
    while (q->head < q->n && q->steps[q->head].t < from) {
        tsdb_eval_ctx_samples_hold(c, -(int64_t)q->steps[q->head].len);
        q->els_head += q->steps[q->head].len;
        q->head++;
    }
    if (q->head == q->n) {
        q->head = q->n = q->els_head = q->n_els = 0;
    } else if (q->head > q->n / 2) {
        memmove(q->steps, q->steps + q->head, (q->n - q->head) * sizeof(*q->steps));
        q->n -= q->head;
        q->head = 0;
        if (q->n_els > q->els_head) // els is NULL while every step kept is empty
            memmove(q->els, q->els + q->els_head, (q->n_els - q->els_head) * sizeof(*q->els));
        for (size_t k = 0; k < q->n; k++)
            q->steps[k].off -= q->els_head;
        q->n_els -= q->els_head;
        q->els_head = 0;
    }
}

// Evaluate the inner expression at ts and keep its elements as a new last step.
static int
s_add_step(tsdb_eval_ctx_t *c, struct tsdb_eval_subq *q, int64_t ts)
{
    struct tsdb_eval_val v;
    if (tsdb_eval_ctx_check_deadline(c) != 0 || tsdb_eval_node(c, q->e->args[0], ts, &v) != 0)
        return -1;
    int rc = tsdb_eval_ctx_samples_hold(c, (int64_t)v.vec.len);
    if (rc == 0) {
        tsdb_eval_ctx_grow(c, (void **)&q->steps, &q->cap, q->n + 1, sizeof(*q->steps));
        tsdb_eval_ctx_grow(c, (void **)&q->els, &q->cap_els, q->n_els + v.vec.len, sizeof(*q->els));
        q->steps[q->n++] = (struct s_step){ts, q->n_els, v.vec.len};
        if (v.vec.len)
            memcpy(q->els + q->n_els, v.vec.items, v.vec.len * sizeof(*q->els));
        q->n_els += v.vec.len;
    }
    tsdb_eval_ctx_val_clear(c, &v);
    return rc;
}

// The kept steps as a range vector: one series per label set, its points in time order.
// Two passes over the kept elements (count per series, then place), so nothing but the
// matrix's own points is allocated per point.
static int
s_matrix(tsdb_eval_ctx_t *c, const struct tsdb_eval_subq *q, struct tsdb_eval_val *out)
{
    struct tsdb_eval_mat *m = &out->mat;
    size_t n_pts = q->n_els - q->els_head;
    if (tsdb_eval_ctx_samples_check(c, (int64_t)n_pts) != 0)
        return -1;
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(c, &tab, 16);
    for (size_t k = q->els_head; k < q->n_els; k++) {
        const struct tsdb_eval_elem *el = &q->els[k];
        size_t si = tsdb_eval_ctx_tab_get(&tab, el->ls);
        if (si == SIZE_MAX) {
            si = m->len;
            tsdb_eval_ctx_grow(c, (void **)&m->items, &m->cap, m->len + 1, sizeof(*m->items));
            m->items[m->len++] = (struct tsdb_eval_ser){el->ls, NULL, 0, false, NULL};
            tsdb_eval_ctx_tab_put(c, &tab, el->ls, si);
        }
        m->items[si].len++;
        m->items[si].drop |= el->drop;
    }
    tsdb_eval_ctx_grow(c, (void **)&m->own, &m->own_cap, n_pts, sizeof(*m->own));
    size_t off = 0;
    for (size_t si = 0; si < m->len; si++) {
        m->items[si].pts = m->own + off;
        off += m->items[si].len;
        m->items[si].len = 0;
    }
    for (size_t s = q->head; s < q->n; s++)
        for (size_t k = 0; k < q->steps[s].len; k++) {
            const struct tsdb_eval_elem *el = &q->els[q->steps[s].off + k];
            struct tsdb_eval_ser *ser = &m->items[tsdb_eval_ctx_tab_get(&tab, el->ls)];
            ((struct fw_sample *)ser->pts)[ser->len++] = (struct fw_sample){q->steps[s].t, el->v};
        }
    tsdb_eval_ctx_tab_free(c, &tab);
    return 0;
}

int
tsdb_eval_subquery(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                   struct tsdb_eval_val *out)
{
    int64_t step = e->step_ms > 0 ? e->step_ms : 60000;
    int64_t end = tsdb_eval_ctx_ref(c, e, t), from = tsdb_eval_ctx_tsub(end, e->range_ms);
    int64_t start = step * (from / step);
    if (start <= from)
        start = tsdb_eval_ctx_tadd(start, step);
    out->type = FW_PQ_MATRIX;
    out->sel = e;
    struct tsdb_eval_subq *q = s_kept(c, e);
    s_drop_before(c, q, start);
    // what is kept must be where this window begins and not past its end
    if (q->head < q->n && (q->steps[q->head].t != start || q->steps[q->n - 1].t > end))
        s_drop_before(c, q, INT64_MAX);
    int64_t next = q->head < q->n ? q->steps[q->n - 1].t : start;
    bool more = q->head == q->n || tsdb_eval_ctx_step_fits(next, end, step);
    if (q->head < q->n && more)
        next += step;
    // selectors inside see the whole window this subquery can ask for over the query
    int64_t os = c->start, oe = c->end;
    c->start =
        tsdb_eval_ctx_tsub(tsdb_eval_ctx_tsub(tsdb_eval_ctx_ref(c, e, os), e->range_ms), step);
    c->end = tsdb_eval_ctx_ref(c, e, oe);
    c->subquery_depth++;
    int rc = 0;
    for (int64_t ts = next; more && ts <= end; ts += step) {
        if (s_add_step(c, q, ts) != 0) {
            rc = -1;
            break;
        }
        if (!tsdb_eval_ctx_step_fits(ts, end, step))
            break;
    }
    c->subquery_depth--;
    c->start = os;
    c->end = oe;
    if (rc == 0)
        rc = s_matrix(c, q, out);
    if (rc != 0)
        s_drop_before(c, q, INT64_MAX);
    return rc;
}

void
tsdb_eval_subquery_free(tsdb_eval_ctx_t *c)
{
    for (size_t k = 0; k < c->n_subq; k++) {
        struct tsdb_eval_subq *q = &c->subq[k];
        tsdb_eval_ctx_release(c, (void **)&q->steps, &q->cap, sizeof(*q->steps));
        tsdb_eval_ctx_release(c, (void **)&q->els, &q->cap_els, sizeof(*q->els));
    }
    tsdb_eval_ctx_release(c, (void **)&c->subq, &c->cap_subq, sizeof(*c->subq));
    c->n_subq = 0;
}
