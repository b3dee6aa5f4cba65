/*  tsdb_eval_select.c — selectors over the store's iterators (see tsdb_eval_int.h).

    Each selector node of the query gets a state on first use: its series, each an interned
    label set and an id (24 bytes: the labels are decoded one series at a time into one
    reused set and interned in the query's arena, so a selection of 400,000 series holds no
    per-series heap strings), and then one of three ways of reading their samples:

    - one-shot (an instant query, outside subqueries: each selector is evaluated once, at one
      time): each series is read with the node's one iterator in turn, an instant selector
      keeping only the newest sample, a range selector appending its window to one buffer
      shared by the node's series. Nothing is kept per series.
    - streaming (a range query, outside subqueries: times only increase): each series keeps
      an iterator (allocated on first use) and a sliding window of the samples the current
      step needs, (from - 1, ref], so a range query reads each sample once. Each step drops
      what fell out at the left and reads up to ref; when the window has emptied (a step
      longer than the range) the iterator seeks instead of decoding the samples in between.
    - materialised (inside a subquery: times go back and forth): each series' samples over
      the whole window the query can ask for are read once into an array and sliced by
      binary search per step.

    Every sample a window or array holds, and every element of an instant-vector selection,
    counts against --query.max-samples (tsdb_eval_ctx_samples_*), so what a query holds is
    bounded by the limit whatever it selects.
*/
#include "tsdb_eval_int.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

// One-shot windows' buffer kept from one query for the next, up to S_KEEP_BYTES, one at a
// time. A buffer past 128 KiB is mmapped (tsdb_main's M_MMAP_THRESHOLD): each instant query
// over ranges faulted its pages in and unmapped them again, a third of the CPU of
// predict_linear(x[1h]) over 70 series; a kept buffer is filled again in place.
#define S_KEEP_BYTES ((size_t)4 << 20)
static pthread_mutex_t s_keep_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fw_sample *s_keep; // guarded by s_keep_lock
static size_t s_keep_cap;

// Take the kept buffer (NULL, 0 when none is kept).
static void
s_keep_take(struct fw_sample **buf, size_t *cap)
{
    pthread_mutex_lock(&s_keep_lock);
    *buf = s_keep;
    *cap = s_keep_cap;
    s_keep = NULL;
    s_keep_cap = 0;
    pthread_mutex_unlock(&s_keep_lock);
}

// Keep buf (cap samples) for the next query when it is the largest within S_KEEP_BYTES;
// free it (or the one it replaces) otherwise.
static void
s_keep_give(struct fw_sample *buf, size_t cap)
{
    if (!buf)
        return;
    if (cap > S_KEEP_BYTES / sizeof(*buf)) {
        free(buf);
        return;
    }
    pthread_mutex_lock(&s_keep_lock);
    if (cap > s_keep_cap) {
        struct fw_sample *old = s_keep;
        s_keep = buf;
        s_keep_cap = cap;
        buf = old;
    }
    pthread_mutex_unlock(&s_keep_lock);
    free(buf);
}

size_t
tsdb_eval_select_kept_bytes(void)
{
    pthread_mutex_lock(&s_keep_lock);
    size_t n = s_keep_cap * sizeof(*s_keep);
    pthread_mutex_unlock(&s_keep_lock);
    return n;
}

// A streaming window or a materialised array of one series.
struct s_win {
    struct fw_sample *buf; // owned: the window buf[lo..hi), or the materialised samples
    size_t lo, hi, cap;
    int64_t *st; // owned: the samples' start times at the same indexes (cap of them), NULL
                 // until the series has one (Prometheus's start timestamps)
    struct tsdb_store_iter *it; // owned: streaming only
    int64_t last_t;             // the newest sample consumed from it (INT64_MIN: none)
    int64_t last_st;            // its start time
    double last_v;
    bool pending; // it->t/it->v read but not consumed (past the last ref)
    bool done;    // it exhausted
};

struct s_series {
    const struct tsdb_eval_lset *ls;
    uint64_t id;
    struct s_win *w; // owned; NULL until the series is streamed or materialised
};

enum s_mode { S_ONESHOT, S_STREAM, S_MATERIAL };

struct s_node {
    const fw_promql_expr_t *e;
    enum s_mode mode;
    int64_t last_ref;        // streaming: the ref of the previous step
    struct s_series *series; // owned
    size_t n, cap;
    struct tsdb_store_iter *it; // owned: one-shot and materialising reads
    struct fw_sample *buf;      // owned: one-shot range windows of the last evaluation
    size_t len, buf_cap;
    int64_t *st; // owned: their start times (st_cap of them), NULL until one has one
    size_t st_cap;
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
        struct s_node *nd = &s->nodes[k];
        for (size_t j = 0; j < nd->n; j++) {
            struct s_win *w = nd->series[j].w;
            if (w) {
                free(w->buf);
                free(w->st);
                free(w->it);
                free(w);
            }
        }
        free(nd->series);
        free(nd->it);
        free(nd->st);
        s_keep_give(nd->buf, nd->buf_cap);
    }
    free(s->nodes);
    free(s);
    c->sel = NULL;
}

// How far before its range (anchored, smoothed) and after its end (smoothed) selector e
// reads: the lookback, for the sample before the range and the one after it. A smoothed
// instant selector reads the lookback on either side of its time.
static int64_t
s_before(const fw_promql_expr_t *e)
{
    return (e->range_ms > 0 && e->anchored) || e->smoothed ? TSDB_EVAL_LOOKBACK_MS : 0;
}

static int64_t
s_after(const fw_promql_expr_t *e)
{
    return e->smoothed ? TSDB_EVAL_LOOKBACK_MS : 0;
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
s_append(struct s_win *w, int64_t t, int64_t st, double v)
{
    if (w->hi == w->cap) {
        if (w->lo > 0 && w->hi - w->lo <= w->cap / 2) {
            memmove(w->buf, w->buf + w->lo, (w->hi - w->lo) * sizeof(*w->buf));
            if (w->st)
                memmove(w->st, w->st + w->lo, (w->hi - w->lo) * sizeof(*w->st));
            w->hi -= w->lo;
            w->lo = 0;
        } else {
            size_t cap = w->cap;
            fw_mem_grow((void **)&w->buf, &w->cap, w->hi + 1, sizeof(*w->buf));
            if (w->st)
                fw_mem_grow((void **)&w->st, &cap, w->cap, sizeof(*w->st));
        }
    }
    if (st != 0 && !w->st)
        w->st = fw_calloc(w->cap, sizeof(*w->st)); // the samples so far have none
    if (w->st)
        w->st[w->hi] = st;
    w->buf[w->hi].t_ms = t;
    w->buf[w->hi].v = v;
    w->hi++;
}

static struct s_win *
s_win(struct s_series *s)
{
    if (!s->w) {
        s->w = fw_calloc(1, sizeof(*s->w));
        s->w->last_t = INT64_MIN;
    }
    return s->w;
}

// Read all samples of s in [mint, maxt] into its array (stale markers too when keep_stale).
static int
s_materialise(tsdb_eval_ctx_t *c, struct s_node *nd, struct s_series *s, int64_t mint, int64_t maxt,
              bool keep_stale)
{
    struct s_win *w = s_win(s);
    struct tsdb_store_iter *it = nd->it;
    tsdb_store_iter_init(it, c->rd, s->id, mint, maxt);
    while (tsdb_store_iter_next(it)) {
        if (keep_stale || !fw_sample_is_stale(it->v))
            s_append(w, it->t, it->st, it->v);
    }
    if (tsdb_store_iter_err(it) != 0)
        return s_store_fail(c, s->id, tsdb_store_iter_err(it));
    return tsdb_eval_ctx_samples_hold(c, (int64_t)w->hi);
}

struct s_add {
    tsdb_eval_ctx_t *c;
    struct s_node *nd;
};

static int
s_add_series(void *arg, uint64_t id, const struct fw_labels *labels)
{
    struct s_add *a = arg;
    struct s_node *nd = a->nd;
    if ((nd->n & 1023) == 1023 && tsdb_eval_ctx_check_deadline(a->c) != 0)
        return -1;
    fw_mem_grow((void **)&nd->series, &nd->cap, nd->n + 1, sizeof(*nd->series));
    nd->series[nd->n++] = (struct s_series){tsdb_eval_ctx_intern(a->c, labels), id, NULL};
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
    fw_mem_grow((void **)&sel->nodes, &sel->cap, sel->n + 1, sizeof(*sel->nodes));
    struct s_node *nd = &sel->nodes[sel->n++];
    memset(nd, 0, sizeof(*nd));
    nd->e = e;
    nd->mode = c->subquery_depth > 0 ? S_MATERIAL : c->q_step == 0 ? S_ONESHOT : S_STREAM;
    nd->last_ref = INT64_MIN;
    nd->it = fw_malloc(sizeof(*nd->it));
    struct s_add a = {c, nd};
    if (tsdb_store_select_each(c->rd, e->matchers, e->n_matchers, s_add_series, &a, c->err) != 0) {
        if (c->rc == 0)
            c->rc = FW_ESTORE;
        return NULL;
    }
    if (nd->mode != S_MATERIAL)
        return nd;
    // Inside a subquery: the whole window this selector can be asked for, once.
    int64_t window = (e->range_ms > 0 ? e->range_ms : TSDB_EVAL_LOOKBACK_MS) + s_before(e);
    int64_t mint =
        tsdb_eval_ctx_tadd(tsdb_eval_ctx_tsub(tsdb_eval_ctx_ref(c, e, c->start), window), 1);
    int64_t maxt = tsdb_eval_ctx_tadd(tsdb_eval_ctx_ref(c, e, c->end), s_after(e));
    for (size_t k = 0; k < nd->n; k++) {
        if (s_materialise(c, nd, &nd->series[k], mint, maxt, e->range_ms == 0 && !e->smoothed) != 0)
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

// One-shot: read s's samples in [from, ref] with the node's iterator. A range selector
// (window true) appends the non-stale ones to the node's buffer (their start times to
// nd->st once one has one); *last_t/*last_st/*last_v get the newest read (INT64_MIN: none).
// 0 or -1.
static int
s_read_once(tsdb_eval_ctx_t *c, struct s_node *nd, const struct s_series *s, int64_t from,
            int64_t ref, bool window, int64_t *last_t, int64_t *last_st, double *last_v)
{
    struct tsdb_store_iter *it = nd->it;
    *last_t = INT64_MIN;
    *last_st = 0;
    if (window && !nd->buf)
        s_keep_take(&nd->buf, &nd->buf_cap);
    tsdb_store_iter_init(it, c->rd, s->id, from, ref);
    while (tsdb_store_iter_next(it)) {
        *last_t = it->t;
        *last_st = it->st;
        *last_v = it->v;
        if (window && !fw_sample_is_stale(it->v)) {
            fw_mem_grow((void **)&nd->buf, &nd->buf_cap, nd->len + 1, sizeof(*nd->buf));
            if (it->st != 0 || nd->st) {
                size_t had = nd->st ? nd->st_cap : 0;
                fw_mem_grow((void **)&nd->st, &nd->st_cap, nd->len + 1, sizeof(*nd->st));
                if (had == 0)
                    memset(nd->st, 0, nd->len * sizeof(*nd->st)); // none before
                nd->st[nd->len] = it->st;
            }
            nd->buf[nd->len++] = (struct fw_sample){it->t, it->v};
        }
    }
    if (tsdb_store_iter_err(it) != 0)
        return s_store_fail(c, s->id, tsdb_store_iter_err(it));
    return 0;
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
    struct s_win *w = s_win(s);
    size_t held = w->hi - w->lo;
    if (window) {
        while (w->lo < w->hi && w->buf[w->lo].t_ms < from)
            w->lo++;
        if (w->lo == w->hi)
            w->lo = w->hi = 0;
    }
    if (!w->it) {
        w->it = fw_malloc(sizeof(*w->it));
        tsdb_store_iter_init(
            w->it, c->rd, s->id, from,
            tsdb_eval_ctx_tadd(tsdb_eval_ctx_ref(c, nd->e, c->end), s_after(nd->e)));
    }
    struct tsdb_store_iter *it = w->it;
    int64_t last_t = w->last_t, last_st = w->last_st;
    double last_v = w->last_v;
    bool ok;
    if (w->pending) {
        ok = true; // it->t, it->v: read by an earlier step, not consumed yet
        w->pending = false;
    } else if (w->done) {
        ok = false;
    } else {
        ok = last_t < from ? tsdb_store_iter_seek(it, from) : tsdb_store_iter_next(it);
    }
    while (ok) {
        int64_t t = it->t;
        double v = it->v;
        if (t > ref) {
            w->pending = true;
            break;
        }
        last_t = t;
        last_st = it->st;
        last_v = v;
        if (window && t >= from && !fw_sample_is_stale(v)) {
            if (w->hi < w->cap && !w->st && it->st == 0)
                w->buf[w->hi++] = (struct fw_sample){t, v};
            else
                s_append(w, t, it->st, v);
        }
        ok = last_t < from ? tsdb_store_iter_seek(it, from) : tsdb_store_iter_next(it);
    }
    w->last_t = last_t;
    w->last_st = last_st;
    w->last_v = last_v;
    if (!ok && !w->pending && !w->done) {
        w->done = true;
        if (tsdb_store_iter_err(it) != 0)
            return s_store_fail(c, s->id, tsdb_store_iter_err(it));
    }
    return tsdb_eval_ctx_samples_hold(c, (int64_t)(w->hi - w->lo) - (int64_t)held);
}

static void
s_restart(tsdb_eval_ctx_t *c, struct s_node *nd)
{
    for (size_t k = 0; k < nd->n; k++) {
        struct s_win *w = nd->series[k].w;
        if (!w)
            continue;
        tsdb_eval_ctx_samples_hold(c, -(int64_t)(w->hi - w->lo));
        w->lo = w->hi = 0;
        w->last_t = INT64_MIN;
        w->pending = w->done = false;
        free(w->it);
        w->it = NULL;
    }
}

// Start an evaluation of nd at ref: a streaming node whose time went back starts over, a
// one-shot node lets go of the windows of its previous evaluation.
static void
s_begin(tsdb_eval_ctx_t *c, struct s_node *nd, int64_t ref)
{
    if (nd->mode == S_STREAM && ref < nd->last_ref)
        s_restart(c, nd);
    if (nd->mode == S_ONESHOT) {
        tsdb_eval_ctx_samples_hold(c, -(int64_t)nd->len);
        nd->len = 0;
    }
    nd->last_ref = ref;
}

// A smoothed instant selector (Prometheus's smoothSeries): each series' value at the
// selector's time, interpolated between the samples around it (the sample itself when one
// is there, the last one when none follows), from the lookback on either side.
static int
s_smoothed(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *out)
{
    struct tsdb_eval_val win;
    memset(&win, 0, sizeof(win));
    if (tsdb_eval_select_matrix(c, e, t, &win) != 0) {
        tsdb_eval_ctx_val_clear(c, &win);
        return -1;
    }
    int64_t at = tsdb_eval_ctx_ref(c, e, t);
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < win.mat.len; k++) {
        const struct tsdb_eval_ser *s = &win.mat.items[k];
        size_t i = 0;
        while (i < s->len && s->pts[i].t_ms < at)
            i++;
        double v;
        if (i < s->len && s->pts[i].t_ms == at)
            v = s->pts[i].v;
        else if (i > 0 && i < s->len)
            v = tsdb_eval_math_interpolate(&s->pts[i - 1], &s->pts[i], at, false);
        else if (i > 0)
            v = s->pts[i - 1].v;
        else
            continue;
        tsdb_eval_ctx_push(c, &out->vec, s->ls, t, v);
    }
    tsdb_eval_ctx_val_clear(c, &win);
    return 0;
}

// An instant selector at t: each series' newest sample in the lookback, or with
// start_times its start time in seconds in its place (start_timestamp()).
static int
s_vector(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, bool start_times,
         struct tsdb_eval_val *out)
{
    struct s_node *nd = s_node(c, e);
    if (!nd)
        return -1;
    int64_t ref = tsdb_eval_ctx_ref(c, e, t);
    int64_t from = tsdb_eval_ctx_tadd(tsdb_eval_ctx_tsub(ref, TSDB_EVAL_LOOKBACK_MS), 1);
    out->type = FW_PQ_VECTOR;
    s_begin(c, nd, ref);
    for (size_t k = 0; k < nd->n; k++) {
        struct s_series *s = &nd->series[k];
        int64_t st, start = 0;
        double sv = 0;
        if (nd->mode == S_MATERIAL) {
            size_t i = s_upper(s->w->buf, s->w->hi, ref);
            st = i == 0 ? INT64_MIN : s->w->buf[i - 1].t_ms;
            sv = i == 0 ? 0 : s->w->buf[i - 1].v;
            start = i == 0 || !s->w->st ? 0 : s->w->st[i - 1];
        } else if (nd->mode == S_ONESHOT) {
            if (s_read_once(c, nd, s, from, ref, false, &st, &start, &sv) != 0)
                return -1;
        } else {
            if (s_advance(c, nd, s, from, ref, false) != 0)
                return -1;
            st = s->w->last_t;
            start = s->w->last_st;
            sv = s->w->last_v;
        }
        if ((k & 255) == 255 && (tsdb_eval_ctx_check_deadline(c) != 0 ||
                                 tsdb_eval_ctx_samples_check(c, (int64_t)out->vec.len) != 0))
            return -1;
        if (st == INT64_MIN || st < from || fw_sample_is_stale(sv))
            continue;
        tsdb_eval_ctx_push(c, &out->vec, s->ls, st, start_times ? (double)start / 1000.0 : sv);
    }
    c->stats.total_samples += (int64_t)out->vec.len;
    return tsdb_eval_ctx_samples_check(c, (int64_t)out->vec.len);
}

int
tsdb_eval_select_vector(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                        struct tsdb_eval_val *out)
{
    if (e->smoothed)
        return s_smoothed(c, e, t, out);
    return s_vector(c, e, t, false, out);
}

int
tsdb_eval_select_start_times(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                             struct tsdb_eval_val *out)
{
    if (e->smoothed) { // interpolated values have no start time of their own
        out->type = FW_PQ_VECTOR;
        return 0;
    }
    return s_vector(c, e, t, true, out);
}

int
tsdb_eval_select_matrix(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                        struct tsdb_eval_val *out)
{
    struct s_node *nd = s_node(c, e);
    if (!nd)
        return -1;
    // anchored and smoothed ranges read the lookback before (smoothed also after) them
    int64_t ref = tsdb_eval_ctx_tadd(tsdb_eval_ctx_ref(c, e, t), s_after(e));
    int64_t span = tsdb_eval_ctx_tadd(tsdb_eval_ctx_tadd(e->range_ms, s_before(e)), s_after(e));
    int64_t from = tsdb_eval_ctx_tadd(tsdb_eval_ctx_tsub(ref, span), 1);
    out->type = FW_PQ_MATRIX;
    out->sel = e;
    s_begin(c, nd, ref);
    struct tsdb_eval_mat *m = &out->mat;
    for (size_t k = 0; k < nd->n; k++) {
        struct s_series *s = &nd->series[k];
        const struct fw_sample *p = NULL;
        const int64_t *sts = NULL;
        size_t len;
        if (nd->mode == S_MATERIAL) {
            size_t hi = s_upper(s->w->buf, s->w->hi, ref);
            size_t lo = s_upper(s->w->buf, s->w->hi, tsdb_eval_ctx_tsub(ref, span));
            p = s->w->buf + lo;
            sts = s->w->st ? s->w->st + lo : NULL;
            len = hi - lo;
        } else if (nd->mode == S_ONESHOT) {
            // The window goes to the node's buffer, which may move as it grows: the points
            // are set once every window is read.
            size_t before = nd->len;
            int64_t lt, lst;
            double lv;
            if (s_read_once(c, nd, s, from, ref, true, &lt, &lst, &lv) != 0 ||
                tsdb_eval_ctx_samples_hold(c, (int64_t)(nd->len - before)) != 0)
                return -1;
            len = nd->len - before;
        } else {
            if (s_advance(c, nd, s, from, ref, true) != 0)
                return -1;
            p = s->w->buf + s->w->lo;
            sts = s->w->st ? s->w->st + s->w->lo : NULL;
            len = s->w->hi - s->w->lo;
        }
        if ((k & 255) == 255 && tsdb_eval_ctx_check_deadline(c) != 0)
            return -1;
        if (len == 0)
            continue;
        if (m->len == m->cap)
            tsdb_eval_ctx_grow(c, (void **)&m->items, &m->cap, m->len + 1, sizeof(*m->items));
        m->items[m->len++] = (struct tsdb_eval_ser){s->ls, p, len, false, sts};
        c->stats.total_samples += (int64_t)len;
    }
    if (nd->mode == S_ONESHOT) {
        size_t off = 0;
        for (size_t k = 0; k < m->len; k++) {
            m->items[k].pts = nd->buf + off;
            m->items[k].st = nd->st ? nd->st + off : NULL;
            off += m->items[k].len;
        }
    }
    return 0;
}

int
tsdb_eval_select_series(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, size_t *n)
{
    struct s_node *nd = s_node(c, e);
    if (!nd)
        return -1;
    *n = nd->n;
    return 0;
}

void
tsdb_eval_select_series_at(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, size_t k,
                           const struct tsdb_eval_lset **ls, uint64_t *id)
{
    struct s_node *nd = s_node(c, e); // found: tsdb_eval_select_series made it
    *ls = nd->series[k].ls;
    *id = nd->series[k].id;
}
