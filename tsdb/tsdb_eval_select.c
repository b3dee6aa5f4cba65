/*  tsdb_eval_select.c — selectors over the store's iterators (see tsdb_eval_int.h).

    Each selector node of the query gets a state on first use: its series (interned label
    set, id) and, per series, either a streaming cursor (an iterator, the sample it has read
    ahead, and a window buffer) or a materialised array. A streaming window holds the
    samples in (from - 1, ref] where ref only grows: each step drops what fell out at the
    left and reads up to ref, and when the window has emptied (a step longer than the range)
    the iterator seeks instead of decoding the samples in between. An instant selector
    keeps only the newest sample read.
*/
#include "tsdb_eval_int.h"

#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

struct s_series {
    const struct tsdb_eval_lset *ls;
    uint64_t id;
    struct fw_sample *buf; // owned: the window buf[lo..hi), or the materialised samples
    size_t lo, hi, cap;
    struct tsdb_store_iter it;
    int64_t last_t; // the newest sample consumed from it (INT64_MIN: none)
    double last_v;
    bool started; // it initialised
    bool pending; // it.t/it.v read but not consumed (past the last ref)
    bool done;    // it exhausted
};

struct s_node {
    const fw_promql_expr_t *e;
    bool materialised;
    int64_t last_ref;        // streaming: the ref of the previous step
    struct s_series *series; // owned
    size_t n;
};

struct tsdb_eval_select {
    struct s_node *nodes; // owned
    size_t n, cap;
};

void
tsdb_eval_select_free(tsdb_eval_ctx_t *c)
{
    struct tsdb_eval_select *s = c->sel;
    if (!s)
        return;
    for (size_t k = 0; k < s->n; k++) {
        for (size_t j = 0; j < s->nodes[k].n; j++)
            free(s->nodes[k].series[j].buf);
        free(s->nodes[k].series);
    }
    free(s->nodes);
    free(s);
    c->sel = NULL;
}

static int
s_store_fail(tsdb_eval_ctx_t *c, uint64_t id, int rc)
{
    if (c->rc == 0) {
        c->rc = FW_ESTORE;
        fw_err_set(c->err, "reading series %llu: %s", (unsigned long long)id, mdb_strerror(rc));
    }
    return -1;
}

static void
s_append(struct s_series *s, int64_t t, double v)
{
    if (s->hi == s->cap) {
        if (s->lo > 0 && s->hi - s->lo <= s->cap / 2) {
            memmove(s->buf, s->buf + s->lo, (s->hi - s->lo) * sizeof(*s->buf));
            s->hi -= s->lo;
            s->lo = 0;
        } else {
            fw_mem_grow((void **)&s->buf, &s->cap, s->hi + 1, sizeof(*s->buf));
        }
    }
    s->buf[s->hi].t_ms = t;
    s->buf[s->hi].v = v;
    s->hi++;
}

// Read all samples of s in [mint, maxt] into its buffer (stale markers too when keep_stale).
static int
s_materialise(tsdb_eval_ctx_t *c, struct s_series *s, int64_t mint, int64_t maxt, bool keep_stale)
{
    tsdb_store_iter_init(&s->it, c->rd, s->id, mint, maxt);
    while (tsdb_store_iter_next(&s->it))
        if (keep_stale || !fw_sample_is_stale(s->it.v))
            s_append(s, s->it.t, s->it.v);
    if (tsdb_store_iter_err(&s->it) != 0)
        return s_store_fail(c, s->id, tsdb_store_iter_err(&s->it));
    return 0;
}

static struct s_node *
s_node(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e)
{
    if (!c->sel)
        c->sel = fw_calloc(1, sizeof(*c->sel));
    struct tsdb_eval_select *sel = c->sel;
    for (size_t k = 0; k < sel->n; k++)
        if (sel->nodes[k].e == e)
            return &sel->nodes[k];
    if (tsdb_eval_ctx_check_deadline(c) != 0)
        return NULL;
    struct tsdb_store_series *found = NULL;
    size_t n = 0;
    if (tsdb_store_select(c->rd, e->matchers, e->n_matchers, &found, &n, c->err) != 0) {
        c->rc = FW_ESTORE;
        return NULL;
    }
    fw_mem_grow((void **)&sel->nodes, &sel->cap, sel->n + 1, sizeof(*sel->nodes));
    struct s_node *nd = &sel->nodes[sel->n++];
    memset(nd, 0, sizeof(*nd));
    nd->e = e;
    nd->materialised = c->subquery_depth > 0;
    nd->last_ref = INT64_MIN;
    nd->n = n;
    nd->series = fw_calloc(n ? n : 1, sizeof(*nd->series));
    for (size_t k = 0; k < n; k++) {
        nd->series[k].ls = tsdb_eval_ctx_intern(c, &found[k].labels);
        nd->series[k].id = found[k].id;
        nd->series[k].last_t = INT64_MIN;
    }
    tsdb_store_series_free(found, n);
    if (!nd->materialised)
        return nd;
    // Inside a subquery: the whole window this selector can be asked for, once.
    int64_t window = e->range_ms > 0 ? e->range_ms : TSDB_EVAL_LOOKBACK_MS;
    int64_t mint =
        tsdb_eval_ctx_tadd(tsdb_eval_ctx_tsub(tsdb_eval_ctx_ref(c, e, c->start), window), 1);
    int64_t maxt = tsdb_eval_ctx_ref(c, e, c->end);
    for (size_t k = 0; k < n; k++) {
        if (s_materialise(c, &nd->series[k], mint, maxt, e->range_ms == 0) != 0)
            return NULL;
        if ((k & 255) == 255 && tsdb_eval_ctx_check_deadline(c) != 0)
            return NULL;
    }
    return nd;
}

// Index of the first point of p[0..n) with t > x.
static size_t
s_upper(const struct fw_sample *p, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].t_ms <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

// Streaming: consume s's samples up to ref. from is the first time the step needs; samples
// before it are skipped (by seeking when nothing read so far is still needed: every sample
// the window holds is >= from, so that is when the newest consumed is older than from).
// Range selectors (window true) keep the non-stale samples in the window buffer, instant
// ones only the newest sample consumed. The loop keeps its state in locals and appends in
// place while the buffer has room. 0 or -1.
static int
s_advance(tsdb_eval_ctx_t *c, const struct s_node *nd, struct s_series *s, int64_t from,
          int64_t ref, bool window)
{
    if (window) {
        while (s->lo < s->hi && s->buf[s->lo].t_ms < from)
            s->lo++;
        if (s->lo == s->hi)
            s->lo = s->hi = 0;
    }
    if (!s->started) {
        tsdb_store_iter_init(&s->it, c->rd, s->id, from, tsdb_eval_ctx_ref(c, nd->e, c->end));
        s->started = true;
    }
    struct tsdb_store_iter *it = &s->it;
    int64_t last_t = s->last_t;
    double last_v = s->last_v;
    bool ok;
    if (s->pending) {
        ok = true; // it->t, it->v: read by an earlier step, not consumed yet
        s->pending = false;
    } else if (s->done) {
        return 0;
    } else {
        ok = last_t < from ? tsdb_store_iter_seek(it, from) : tsdb_store_iter_next(it);
    }
    while (ok) {
        int64_t t = it->t;
        double v = it->v;
        if (t > ref) {
            s->pending = true;
            break;
        }
        last_t = t;
        last_v = v;
        if (window && t >= from && !fw_sample_is_stale(v)) {
            if (s->hi < s->cap)
                s->buf[s->hi++] = (struct fw_sample){t, v};
            else
                s_append(s, t, v);
        }
        ok = last_t < from ? tsdb_store_iter_seek(it, from) : tsdb_store_iter_next(it);
    }
    s->last_t = last_t;
    s->last_v = last_v;
    if (!ok && !s->pending) {
        s->done = true;
        if (tsdb_store_iter_err(it) != 0)
            return s_store_fail(c, s->id, tsdb_store_iter_err(it));
    }
    return 0;
}

static void
s_restart(struct s_node *nd)
{
    for (size_t k = 0; k < nd->n; k++) {
        struct s_series *s = &nd->series[k];
        s->lo = s->hi = 0;
        s->last_t = INT64_MIN;
        s->started = s->pending = s->done = false;
    }
}

int
tsdb_eval_select_vector(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                        struct tsdb_eval_val *out)
{
    struct s_node *nd = s_node(c, e);
    if (!nd)
        return -1;
    int64_t ref = tsdb_eval_ctx_ref(c, e, t);
    int64_t from = tsdb_eval_ctx_tadd(tsdb_eval_ctx_tsub(ref, TSDB_EVAL_LOOKBACK_MS), 1);
    out->type = FW_PQ_VECTOR;
    if (!nd->materialised && ref < nd->last_ref)
        s_restart(nd);
    nd->last_ref = ref;
    for (size_t k = 0; k < nd->n; k++) {
        struct s_series *s = &nd->series[k];
        int64_t st;
        double sv;
        if (nd->materialised) {
            size_t i = s_upper(s->buf, s->hi, ref);
            if (i == 0)
                continue;
            st = s->buf[i - 1].t_ms;
            sv = s->buf[i - 1].v;
        } else {
            if (s_advance(c, nd, s, from, ref, false) != 0)
                return -1;
            if ((k & 255) == 255 && tsdb_eval_ctx_check_deadline(c) != 0)
                return -1;
            if (s->last_t == INT64_MIN)
                continue;
            st = s->last_t;
            sv = s->last_v;
        }
        if (st < from || fw_sample_is_stale(sv))
            continue;
        tsdb_eval_ctx_push(c, &out->vec, s->ls, st, sv);
    }
    return 0;
}

int
tsdb_eval_select_matrix(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                        struct tsdb_eval_val *out)
{
    struct s_node *nd = s_node(c, e);
    if (!nd)
        return -1;
    int64_t ref = tsdb_eval_ctx_ref(c, e, t);
    int64_t from = tsdb_eval_ctx_tadd(tsdb_eval_ctx_tsub(ref, e->range_ms), 1);
    out->type = FW_PQ_MATRIX;
    out->sel = e;
    if (!nd->materialised && ref < nd->last_ref)
        s_restart(nd);
    nd->last_ref = ref;
    for (size_t k = 0; k < nd->n; k++) {
        struct s_series *s = &nd->series[k];
        const struct fw_sample *p;
        size_t len;
        if (nd->materialised) {
            size_t hi = s_upper(s->buf, s->hi, ref);
            size_t lo = s_upper(s->buf, s->hi, tsdb_eval_ctx_tsub(ref, e->range_ms));
            p = s->buf + lo;
            len = hi - lo;
        } else {
            if (s_advance(c, nd, s, from, ref, true) != 0)
                return -1;
            if ((k & 255) == 255 && tsdb_eval_ctx_check_deadline(c) != 0)
                return -1;
            p = s->buf + s->lo;
            len = s->hi - s->lo;
        }
        if (len == 0)
            continue;
        struct tsdb_eval_mat *m = &out->mat;
        if (m->len == m->cap)
            tsdb_eval_ctx_grow(c, (void **)&m->items, &m->cap, m->len + 1, sizeof(*m->items));
        m->items[m->len++] = (struct tsdb_eval_ser){s->ls, p, len};
    }
    return 0;
}
