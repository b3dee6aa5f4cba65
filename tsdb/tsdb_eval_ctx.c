/*  tsdb_eval_ctx.c — the evaluator's query context (see tsdb_eval_int.h).

    The arena is a list of blocks that only grows during a query and is freed whole at the
    end: interned sets and their strings never move, so pointers to them stay valid. The
    pool keeps up to S_POOL_MAX freed buffers (sizes rounded up to powers of two) and hands
    out the smallest one that fits, so the buffers a step of a range query uses come back
    for the next step. The intern and memo tables are open addressing at most half full.
*/
#include "tsdb_eval_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_mem.h"
#include "fw_time.h"

#define S_ARENA_BLOCK (64 * 1024)
#define S_POOL_MAX 64
#define S_POOL_MIN_BYTES 64

struct tsdb_eval_arena {
    struct tsdb_eval_arena *next;
    size_t used, cap;
    unsigned char data[]; // 8-aligned: the header is three words
};

struct tsdb_eval_memo_slot {
    const void *k0, *k1, *k2;
    const struct tsdb_eval_lset *v; // NULL: empty slot
};

int
tsdb_eval_ctx_open(tsdb_eval_ctx_t *c, tsdb_store_t *store, int64_t start, int64_t end,
                   const struct tsdb_eval_limit *limit, fw_err_t *err)
{
    memset(c, 0, sizeof(*c));
    c->start = c->q_start = start;
    c->end = c->q_end = end;
    c->deadline = limit ? limit->deadline_mono_ms : 0;
    c->cancel = limit ? limit->cancel : NULL;
    c->max_samples = limit ? limit->max_samples : 0;
    c->delay_names = limit && limit->delay_names;
    c->stats_out = limit ? limit->stats : NULL;
    c->sample_stats = limit && limit->sample_stats && limit->stats;
    c->no_rollups = limit && limit->no_rollups;
    c->err = err;
    c->rd = tsdb_store_reader_new(store, err);
    return c->rd ? 0 : FW_ESTORE;
}

void
tsdb_eval_ctx_close(tsdb_eval_ctx_t *c)
{
    if (c->stats_out)
        *c->stats_out = c->stats;
    tsdb_eval_stats_free(c); // gives its table back to the pool first
    while (c->arena) {
        struct tsdb_eval_arena *next = c->arena->next;
        free(c->arena);
        c->arena = next;
    }
    free(c->interned);
    free(c->strs);
    free(c->memo);
    for (size_t k = 0; k < c->pool_len; k++)
        free(c->pool[k].p);
    free(c->pool);
    free(c->view);
    for (size_t k = 0; k < c->n_annos; k++)
        free(c->annos[k].msg);
    free(c->annos);
    tsdb_rollup_eval_free(c);
    tsdb_store_reader_destroy(&c->rd);
    memset(c, 0, sizeof(*c));
}

int
tsdb_eval_ctx_fail(tsdb_eval_ctx_t *c, const char *fmt, ...)
{
    if (c->rc == 0) {
        c->rc = -1;
        if (c->err) {
            char msg[sizeof(c->err->msg)];
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg, sizeof(msg), fmt, ap);
            va_end(ap);
            fw_err_set(c->err, "%s", msg);
        }
    }
    return -1;
}

static void s_annotate(tsdb_eval_ctx_t *c, bool info, const fw_promql_expr_t *at, const char *fmt,
                       va_list ap) __attribute__((format(printf, 4, 0)));

static void
s_annotate(tsdb_eval_ctx_t *c, bool info, const fw_promql_expr_t *at, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    int pos = at ? at->pos : 0;
    for (size_t k = 0; k < c->n_annos; k++)
        if (c->annos[k].info == info && c->annos[k].pos == pos && strcmp(c->annos[k].msg, msg) == 0)
            return;
    fw_mem_grow((void **)&c->annos, &c->cap_annos, c->n_annos + 1, sizeof(*c->annos));
    c->annos[c->n_annos++] = (struct tsdb_eval_anno){info, pos, fw_strdup(msg)};
}

void
tsdb_eval_ctx_warn(tsdb_eval_ctx_t *c, const fw_promql_expr_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_annotate(c, false, at, fmt, ap);
    va_end(ap);
}

void
tsdb_eval_ctx_info(tsdb_eval_ctx_t *c, const fw_promql_expr_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_annotate(c, true, at, fmt, ap);
    va_end(ap);
}

int
tsdb_eval_ctx_check_deadline(tsdb_eval_ctx_t *c)
{
    if (c->cancel && atomic_load_explicit(c->cancel, memory_order_relaxed)) {
        if (c->rc == 0) {
            c->rc = FW_ETIMEOUT;
            fw_err_set(c->err, "query cancelled: tsdb is stopping");
        }
        return -1;
    }
    if (c->deadline > 0 && fw_time_mono_ms() > c->deadline) {
        if (c->rc == 0) {
            c->rc = FW_ETIMEOUT;
            fw_err_set(c->err, "query timed out in expression evaluation");
        }
        return -1;
    }
    return 0;
}

int
tsdb_eval_ctx_samples_check(tsdb_eval_ctx_t *c, int64_t n)
{
    int64_t now = c->samples + n;
    if (now > c->stats.peak_samples)
        c->stats.peak_samples = now;
    if (c->max_samples != 0 && now > (c->max_samples < 0 ? 0 : c->max_samples))
        return tsdb_eval_ctx_fail(c, TSDB_EVAL_TOO_MANY_SAMPLES);
    return 0;
}

int
tsdb_eval_ctx_samples_hold(tsdb_eval_ctx_t *c, int64_t n)
{
    if (n > 0 && tsdb_eval_ctx_samples_check(c, n) != 0)
        return -1;
    c->samples += n;
    return 0;
}

// ---------------------------------------------------------------------------------------
// Arena

static void *
s_arena_alloc(tsdb_eval_ctx_t *c, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct tsdb_eval_arena *a = c->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > S_ARENA_BLOCK / 4 ? n : S_ARENA_BLOCK;
        struct tsdb_eval_arena *b = fw_malloc(sizeof(*b) + cap);
        b->used = 0;
        b->cap = cap;
        if (a && n > S_ARENA_BLOCK / 4) {
            // a big one-off: keep filling the current block afterwards
            b->next = a->next;
            a->next = b;
        } else {
            b->next = a;
            c->arena = b;
        }
        a = b;
    }
    void *p = a->data + a->used;
    a->used += n;
    return p;
}

const char *
tsdb_eval_ctx_strndup(tsdb_eval_ctx_t *c, const char *s, size_t n)
{
    char *p = s_arena_alloc(c, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

// ---------------------------------------------------------------------------------------
// Interned label sets

struct fw_labels
tsdb_eval_ctx_view(tsdb_eval_ctx_t *c, size_t n)
{
    fw_mem_grow((void **)&c->view, &c->view_cap, n + 1, sizeof(struct fw_label));
    return (struct fw_labels){c->view, 0, c->view_cap};
}

struct fw_labels
tsdb_eval_ctx_view_of(tsdb_eval_ctx_t *c, const struct tsdb_eval_lset *ls, size_t extra)
{
    struct fw_labels v = tsdb_eval_ctx_view(c, ls->labels.len + extra);
    if (ls->labels.len) // an empty set has no items array
        memcpy(v.items, ls->labels.items, ls->labels.len * sizeof(*v.items));
    v.len = ls->labels.len;
    return v;
}

void
tsdb_eval_ctx_view_set(struct fw_labels *view, const char *name, const char *value)
{
    ssize_t i = fw_labels_index(view, name);
    if (i >= 0) {
        if (*value) {
            view->items[i].value = (char *)value;
        } else {
            memmove(&view->items[i], &view->items[i + 1],
                    (view->len - (size_t)i - 1) * sizeof(struct fw_label));
            view->len--;
        }
        return;
    }
    if (!*value)
        return;
    size_t at = (size_t)(-i - 1);
    memmove(&view->items[at + 1], &view->items[at], (view->len - at) * sizeof(struct fw_label));
    view->items[at].name = (char *)name;
    view->items[at].value = (char *)value;
    view->len++;
}

static void
s_intern_grow(tsdb_eval_ctx_t *c)
{
    size_t cap = c->interned_cap ? c->interned_cap * 2 : 256;
    struct tsdb_eval_lset **t = fw_calloc(cap, sizeof(*t));
    for (size_t k = 0; k < c->interned_cap; k++) {
        struct tsdb_eval_lset *x = c->interned[k];
        if (!x)
            continue;
        size_t s = x->hash & (cap - 1);
        while (t[s])
            s = (s + 1) & (cap - 1);
        t[s] = x;
    }
    free(c->interned);
    c->interned = t;
    c->interned_cap = cap;
}

// The arena's copy of s, made the first time s is met: the names and the common values of
// 400,000 selected series are stored once, not once per series.
static const char *
s_str(tsdb_eval_ctx_t *c, const char *str)
{
    if ((c->strs_len + 1) * 2 > c->strs_cap) {
        size_t cap = c->strs_cap ? c->strs_cap * 2 : 256;
        const char **t = fw_calloc(cap, sizeof(*t));
        for (size_t k = 0; k < c->strs_cap; k++) {
            if (!c->strs[k])
                continue;
            size_t i = fw_hash64(c->strs[k], strlen(c->strs[k])) & (cap - 1);
            while (t[i])
                i = (i + 1) & (cap - 1);
            t[i] = c->strs[k];
        }
        free(c->strs);
        c->strs = t;
        c->strs_cap = cap;
    }
    size_t n = strlen(str), mask = c->strs_cap - 1, i;
    for (i = fw_hash64(str, n) & mask; c->strs[i]; i = (i + 1) & mask)
        if (strcmp(c->strs[i], str) == 0)
            return c->strs[i];
    c->strs[i] = tsdb_eval_ctx_strndup(c, str, n);
    c->strs_len++;
    return c->strs[i];
}

const struct tsdb_eval_lset *
tsdb_eval_ctx_intern(tsdb_eval_ctx_t *c, const struct fw_labels *view)
{
    if ((c->interned_len + 1) * 2 > c->interned_cap)
        s_intern_grow(c);
    uint64_t h = fw_labels_hash(view);
    size_t mask = c->interned_cap - 1, s;
    for (s = h & mask; c->interned[s]; s = (s + 1) & mask) {
        struct tsdb_eval_lset *x = c->interned[s];
        if (x->hash == h && fw_labels_cmp(&x->labels, view) == 0)
            return x;
    }
    struct tsdb_eval_lset *n = s_arena_alloc(c, sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->hash = h;
    n->labels.len = view->len;
    if (view->len) {
        n->labels.items = s_arena_alloc(c, view->len * sizeof(struct fw_label));
        for (size_t k = 0; k < view->len; k++) {
            n->labels.items[k].name = (char *)s_str(c, view->items[k].name);
            n->labels.items[k].value = (char *)s_str(c, view->items[k].value);
        }
    }
    c->interned[s] = n;
    c->interned_len++;
    return n;
}

const struct tsdb_eval_lset *
tsdb_eval_ctx_empty(tsdb_eval_ctx_t *c)
{
    if (!c->empty) {
        struct fw_labels none = FW_LABELS_INIT;
        c->empty = tsdb_eval_ctx_intern(c, &none);
    }
    return c->empty;
}

const struct tsdb_eval_lset *
tsdb_eval_ctx_drop_name(tsdb_eval_ctx_t *c, const struct tsdb_eval_lset *ls)
{
    struct tsdb_eval_lset *m = (struct tsdb_eval_lset *)ls; // the memo field only
    if (m->no_name)
        return m->no_name;
    struct fw_labels v = tsdb_eval_ctx_view(c, ls->labels.len);
    for (size_t k = 0; k < ls->labels.len; k++)
        if (!tsdb_eval_ctx_is_metadata(ls->labels.items[k].name))
            v.items[v.len++] = ls->labels.items[k];
    if (v.len == ls->labels.len) {
        m->no_name = m;
        return ls;
    }
    struct tsdb_eval_lset *r = (struct tsdb_eval_lset *)tsdb_eval_ctx_intern(c, &v);
    r->no_name = r;
    m->no_name = r;
    return r;
}

bool
tsdb_eval_ctx_listed(const char *name, char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(list[k], name) == 0)
            return true;
    return false;
}

const struct tsdb_eval_lset *
tsdb_eval_ctx_project(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e,
                      const struct tsdb_eval_lset *ls, const void *tag, bool keep)
{
    if (keep && e->n_labels == 0)
        return tsdb_eval_ctx_empty(c); // sum(x), count(x): no memo entry per series
    const struct tsdb_eval_lset *r = tsdb_eval_ctx_memo_get(c, e, ls, tag);
    if (r)
        return r;
    struct fw_labels v = tsdb_eval_ctx_view(c, ls->labels.len);
    for (size_t k = 0; k < ls->labels.len; k++) {
        const char *nm = ls->labels.items[k].name;
        bool listed = tsdb_eval_ctx_listed(nm, e->labels, e->n_labels);
        if (keep ? !listed : listed || strcmp(nm, "__name__") == 0)
            continue;
        v.items[v.len++] = ls->labels.items[k];
    }
    r = tsdb_eval_ctx_intern(c, &v);
    tsdb_eval_ctx_memo_put(c, e, ls, tag, r);
    return r;
}

// ---------------------------------------------------------------------------------------
// Memo

static uint64_t
s_memo_hash(const void *k0, const void *k1, const void *k2)
{
    const void *k[3] = {k0, k1, k2};
    return fw_hash64(k, sizeof(k));
}

const struct tsdb_eval_lset *
tsdb_eval_ctx_memo_get(tsdb_eval_ctx_t *c, const void *k0, const void *k1, const void *k2)
{
    if (!c->memo_cap)
        return NULL;
    size_t mask = c->memo_cap - 1;
    for (size_t s = s_memo_hash(k0, k1, k2) & mask; c->memo[s].v; s = (s + 1) & mask)
        if (c->memo[s].k0 == k0 && c->memo[s].k1 == k1 && c->memo[s].k2 == k2)
            return c->memo[s].v;
    return NULL;
}

static void
s_memo_insert(struct tsdb_eval_memo_slot *t, size_t cap, const struct tsdb_eval_memo_slot *e)
{
    size_t s = s_memo_hash(e->k0, e->k1, e->k2) & (cap - 1);
    while (t[s].v)
        s = (s + 1) & (cap - 1);
    t[s] = *e;
}

void
tsdb_eval_ctx_memo_put(tsdb_eval_ctx_t *c, const void *k0, const void *k1, const void *k2,
                       const struct tsdb_eval_lset *v)
{
    if ((c->memo_len + 1) * 2 > c->memo_cap) {
        size_t cap = c->memo_cap ? c->memo_cap * 2 : 256;
        struct tsdb_eval_memo_slot *t = fw_calloc(cap, sizeof(*t));
        for (size_t k = 0; k < c->memo_cap; k++)
            if (c->memo[k].v)
                s_memo_insert(t, cap, &c->memo[k]);
        free(c->memo);
        c->memo = t;
        c->memo_cap = cap;
    }
    struct tsdb_eval_memo_slot e = {k0, k1, k2, v};
    s_memo_insert(c->memo, c->memo_cap, &e);
    c->memo_len++;
}

// ---------------------------------------------------------------------------------------
// Buffer pool

static void *
s_pool_get(tsdb_eval_ctx_t *c, size_t need, size_t *bytes)
{
    size_t best = SIZE_MAX;
    for (size_t k = 0; k < c->pool_len; k++)
        if (c->pool[k].bytes >= need &&
            (best == SIZE_MAX || c->pool[k].bytes < c->pool[best].bytes))
            best = k;
    if (best != SIZE_MAX) {
        void *p = c->pool[best].p;
        *bytes = c->pool[best].bytes;
        c->pool[best] = c->pool[--c->pool_len];
        return p;
    }
    size_t n = S_POOL_MIN_BYTES;
    while (n < need)
        n *= 2;
    *bytes = n;
    return fw_malloc(n);
}

static void
s_pool_put(tsdb_eval_ctx_t *c, void *p, size_t bytes)
{
    if (!p)
        return;
    if (c->pool_len == S_POOL_MAX) {
        size_t small = 0;
        for (size_t k = 1; k < c->pool_len; k++)
            if (c->pool[k].bytes < c->pool[small].bytes)
                small = k;
        if (c->pool[small].bytes >= bytes) {
            free(p);
            return;
        }
        free(c->pool[small].p);
        c->pool[small] = c->pool[--c->pool_len];
    }
    fw_mem_grow((void **)&c->pool, &c->pool_cap, c->pool_len + 1, sizeof(*c->pool));
    c->pool[c->pool_len].p = p;
    c->pool[c->pool_len].bytes = bytes;
    c->pool_len++;
}

void
tsdb_eval_ctx_grow(tsdb_eval_ctx_t *c, void **items, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t want = *cap ? *cap * 2 : 16;
    while (want < need)
        want *= 2;
    if (want > SIZE_MAX / elem)
        fw_malloc(SIZE_MAX); // aborts with the allocators' message, as fw_mem_grow does
    size_t bytes;
    void *p = s_pool_get(c, want * elem, &bytes);
    if (*items) {
        memcpy(p, *items, *cap * elem);
        s_pool_put(c, *items, *cap * elem);
    }
    *items = p;
    *cap = bytes / elem;
}

void
tsdb_eval_ctx_release(tsdb_eval_ctx_t *c, void **items, size_t *cap, size_t elem)
{
    s_pool_put(c, *items, *cap * elem);
    *items = NULL;
    *cap = 0;
}

// ---------------------------------------------------------------------------------------
// Values

void
tsdb_eval_ctx_push_drop(tsdb_eval_ctx_t *c, struct tsdb_eval_vec *v,
                        const struct tsdb_eval_lset *ls, int64_t t, double val, bool drop)
{
    if (v->len == v->cap)
        tsdb_eval_ctx_grow(c, (void **)&v->items, &v->cap, v->len + 1, sizeof(*v->items));
    v->items[v->len++] = (struct tsdb_eval_elem){ls, t, val, drop};
}

void
tsdb_eval_ctx_push(tsdb_eval_ctx_t *c, struct tsdb_eval_vec *v, const struct tsdb_eval_lset *ls,
                   int64_t t, double val)
{
    tsdb_eval_ctx_push_drop(c, v, ls, t, val, false);
}

void
tsdb_eval_ctx_push_unnamed(tsdb_eval_ctx_t *c, struct tsdb_eval_vec *v,
                           const struct tsdb_eval_lset *ls, int64_t t, double val)
{
    bool drop = false;
    tsdb_eval_ctx_unname(c, &ls, &drop);
    tsdb_eval_ctx_push_drop(c, v, ls, t, val, drop);
}

void
tsdb_eval_ctx_val_clear(tsdb_eval_ctx_t *c, struct tsdb_eval_val *v)
{
    tsdb_eval_ctx_release(c, (void **)&v->vec.items, &v->vec.cap, sizeof(*v->vec.items));
    tsdb_eval_ctx_release(c, (void **)&v->mat.items, &v->mat.cap, sizeof(*v->mat.items));
    tsdb_eval_ctx_release(c, (void **)&v->mat.own, &v->mat.own_cap, sizeof(*v->mat.own));
    memset(v, 0, sizeof(*v));
}

// ---------------------------------------------------------------------------------------
// Tables

void
tsdb_eval_ctx_tab_init(tsdb_eval_ctx_t *c, struct tsdb_eval_tab *t, size_t expect)
{
    size_t cap = 16;
    while (cap < expect * 2)
        cap <<= 1;
    t->slots = NULL;
    t->cap = 0;
    tsdb_eval_ctx_grow(c, (void **)&t->slots, &t->cap, cap, sizeof(*t->slots));
    // the pool may give more; use a power of two of it
    while (cap * 2 <= t->cap)
        cap <<= 1;
    t->cap = cap;
    memset(t->slots, 0, cap * sizeof(*t->slots));
    t->used = 0;
}

void
tsdb_eval_ctx_tab_free(tsdb_eval_ctx_t *c, struct tsdb_eval_tab *t)
{
    tsdb_eval_ctx_release(c, (void **)&t->slots, &t->cap, sizeof(*t->slots));
    t->used = 0;
}

size_t
tsdb_eval_ctx_tab_get(const struct tsdb_eval_tab *t, const struct tsdb_eval_lset *key)
{
    size_t mask = t->cap - 1;
    for (size_t s = key->hash & mask; t->slots[s].key; s = (s + 1) & mask)
        if (t->slots[s].key == key)
            return t->slots[s].idx;
    return SIZE_MAX;
}

void
tsdb_eval_ctx_tab_put(tsdb_eval_ctx_t *c, struct tsdb_eval_tab *t, const struct tsdb_eval_lset *key,
                      size_t idx)
{
    if ((t->used + 1) * 2 > t->cap) {
        struct tsdb_eval_tab n;
        tsdb_eval_ctx_tab_init(c, &n, t->cap);
        for (size_t s = 0; s < t->cap; s++)
            if (t->slots[s].key)
                tsdb_eval_ctx_tab_put(c, &n, t->slots[s].key, t->slots[s].idx);
        tsdb_eval_ctx_tab_free(c, t);
        *t = n;
    }
    size_t mask = t->cap - 1, s = key->hash & mask;
    while (t->slots[s].key)
        s = (s + 1) & mask;
    t->slots[s].key = key;
    t->slots[s].idx = idx;
    t->used++;
}
