/*  tsdb_rwsend_read.c — a remote-write shard's window read from the store (tsdb_rwsend_int.h).

    A shard keeps its series from window to window in its tsdb_rwsend_cycle: their labels as
    sent (external labels added, write_relabel_configs applied once per series: a series
    id's labels never change in the store), an open-addressing map from series id to them,
    and where each one's last read stopped, so the next window reads the head's open chunks
    in place (tsdb_store_tail_read) and only new or changed series through iterators.
*/
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "fw_matcher.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_rwsend_int.h"
#include "tsdb_rwsend_sort.h"

#define S_TAIL_SLICE 1024 // series read per hold of the store's head lock

// The labels as sent: external labels added (the series' own win), relabeled. False when
// write_relabel_configs drop the series.
static bool
s_relabel(const struct tsdb_rwsend_queue *q, const struct fw_labels *in, struct fw_labels *out)
{
    fw_labels_copy(out, in);
    for (size_t i = 0; i < q->external.len; i++)
        if (!fw_labels_get(out, q->external.items[i].name))
            fw_labels_set(out, q->external.items[i].name, q->external.items[i].value);
    const struct fw_remote_write_config *rw = q->conf;
    if (fw_relabel_process(rw->write_relabel_configs, rw->n_write_relabel_configs, out) &&
        out->len > 0)
        return true;
    fw_labels_clear(out);
    return false;
}

// Forget the series (the samples too).
void
tsdb_rwsend_int_cycle_forget(struct tsdb_rwsend_cycle *c)
{
    for (size_t i = 0; i < c->n_sets; i++)
        fw_labels_clear(&c->sets[i]);
    c->n_sets = 0;
    c->n_known = 0;
    c->n_prev = 0;
    c->n_map = 0;
    if (c->map_val)
        memset(c->map_val, 0, c->cap_map * sizeof(*c->map_val));
    c->n = 0;
}

static size_t
s_map_slot(const struct tsdb_rwsend_cycle *c, uint64_t id)
{
    size_t mask = c->cap_map - 1, i = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (c->map_val[i] != 0 && c->map_id[i] != id)
        i = (i + 1) & mask;
    return i;
}

static void
s_map_put(struct tsdb_rwsend_cycle *c, uint64_t id, uint32_t val)
{
    if ((c->n_map + 1) * 2 > c->cap_map) {
        uint64_t *old_id = c->map_id;
        uint32_t *old_val = c->map_val;
        size_t old_cap = c->cap_map;
        c->cap_map = old_cap ? old_cap * 2 : 1024;
        c->map_id = fw_calloc(c->cap_map, sizeof(*c->map_id));
        c->map_val = fw_calloc(c->cap_map, sizeof(*c->map_val));
        for (size_t i = 0; i < old_cap; i++)
            if (old_val[i]) {
                size_t k = s_map_slot(c, old_id[i]);
                c->map_id[k] = old_id[i];
                c->map_val[k] = old_val[i];
            }
        free(old_id);
        free(old_val);
    }
    size_t k = s_map_slot(c, id);
    c->n_map += c->map_val[k] == 0;
    c->map_id[k] = id;
    c->map_val[k] = val;
}

// Series id as read before, or NULL.
struct tsdb_rwsend_known *
tsdb_rwsend_int_known_find(const struct tsdb_rwsend_cycle *c, uint64_t id)
{
    if (!c->cap_map)
        return NULL;
    size_t k = s_map_slot(c, id);
    return c->map_val[k] ? &c->known[c->map_val[k] - 1] : NULL;
}

// Series id, read and relabeled the first time (with *res as where its first read stopped);
// NULL when its record cannot be read (not remembered: tried again).
struct tsdb_rwsend_known *
tsdb_rwsend_int_known_add(struct tsdb_rwsend_queue *q, tsdb_store_reader_t *r,
                          struct tsdb_rwsend_cycle *c, uint64_t id, struct fw_labels *stored,
                          const struct tsdb_store_resume *res)
{
    fw_err_t lerr;
    if (tsdb_store_series_labels(r, id, stored, &lerr) != 0)
        return NULL;
    fw_mem_grow((void **)&c->sets, &c->cap_sets, c->n_sets + 1, sizeof(*c->sets));
    fw_mem_grow((void **)&c->known, &c->cap_known, c->n_known + 1, sizeof(*c->known));
    fw_mem_grow((void **)&c->tails, &c->cap_tails, c->n_known + 1, sizeof(*c->tails));
    fw_mem_grow((void **)&c->slow, &c->cap_slow, c->n_known + 1, sizeof(*c->slow));
    struct fw_labels *l = &c->sets[c->n_sets];
    *l = (struct fw_labels)FW_LABELS_INIT;
    struct tsdb_rwsend_known *kn = &c->known[c->n_known];
    kn->set = s_relabel(q, stored, l) ? (uint32_t)c->n_sets++ : TSDB_RWSEND_INT_DROPPED;
    c->tails[c->n_known] = (struct tsdb_store_tail){.id = id, .res = *res};
    c->slow[c->n_known] = false; // read this window already
    s_map_put(c, id, (uint32_t)++c->n_known);
    return kn;
}

// The window (from, ...] was cut short at after (capacity), or failed (after == from):
// the next one starts at after, so the series whose mark went past after need one at or
// before it, or they would be decoded from their chunk's start window after window (the
// scrapes' timestamps fall in the same places in each window). A series gets its mark from
// before this window back when that one is in the same chunk and at or before from (the
// next read resumes there in place and skips what is not past after); otherwise, when r is
// given, it is read again up to after, which leaves its mark on its last sample there. A
// mark is only a hint: the chunk it names is checked before it is used.
static void
s_marks_back(struct tsdb_rwsend_cycle *c, tsdb_store_reader_t *r, int64_t from, int64_t after)
{
    for (size_t k = 0; k < c->n_known; k++) {
        struct tsdb_store_resume *res = &c->tails[k].res;
        if (!res->valid || res->m.t <= after)
            continue;
        const struct tsdb_store_resume *p = k < c->n_prev ? &c->prev[k] : NULL;
        if (p && p->valid && p->m.t <= from && p->chunk_mint == res->chunk_mint) {
            *res = *p;
            continue;
        }
        if (!r) {
            *res = p ? *p : (struct tsdb_store_resume){0};
            continue;
        }
        struct tsdb_store_resume again = p ? *p : (struct tsdb_store_resume){0};
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, c->tails[k].id, from + 1, after);
        tsdb_store_iter_resume(&it, &again);
        while (tsdb_store_iter_next(&it))
            ; // to its last sample at or before after (a window's worth at most)
        *res = again;
    }
}

struct s_tail_arg {
    struct tsdb_rwsend_cycle *c;
    int64_t age_min;
    size_t *dropped;
    size_t base; // the slice's first known series
};

// tsdb_store_tail_fn: a sample of the slice's series k.
static void
s_tail_sample(void *arg, size_t k, int64_t t, double v)
{
    struct s_tail_arg *a = arg;
    struct tsdb_rwsend_cycle *c = a->c;
    uint32_t set = c->known[a->base + k].set;
    if (t < a->age_min || set == TSDB_RWSEND_INT_DROPPED) {
        (*a->dropped)++; // too old, or dropped by relabeling
        return;
    }
    fw_mem_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e));
    c->e[c->n++] = (struct tsdb_rwsend_entry){set, t, v};
}

// Shard s's samples in (from, *to], sorted by time, at most capacity (plus those sharing
// the last timestamp): *to moves back to the last one kept when there were more. 0 or -1.
int
tsdb_rwsend_int_read(struct tsdb_rwsend_shard *s, int64_t from, int64_t *to,
                     struct tsdb_rwsend_cycle *c, size_t *dropped, fw_err_t *err)
{
    struct tsdb_rwsend_queue *q = s->q;
    struct fw_matcher all;
    if (fw_matcher_init(&all, FW_MATCH_RE, "__name__", ".+", FW_REGEX_PROMETHEUS, err) != 0)
        return -1;
    // what the store takes at or below *to from now on, it records for the late drain
    tsdb_store_reader_t *r = q->late_key
                                 ? tsdb_store_late_reader(q->owner->store, q->late_key, *to, err)
                                 : tsdb_store_reader_new(q->owner->store, err);
    if (!r) {
        fw_matcher_clear(&all);
        return -1;
    }
    tsdb_store_reader_see_all(r); // a sender, not a query: every sample appended
    uint64_t *ids = NULL;
    size_t n_ids = 0;
    int rc = tsdb_store_select_ids(r, &all, 1, &ids, &n_ids, err);
    int64_t age_min = q->conf->queue_config.sample_age_limit_ms > 0
                          ? fw_time_now_ms() - q->conf->queue_config.sample_age_limit_ms
                          : INT64_MIN;
    struct fw_labels stored = FW_LABELS_INIT;
    c->n = 0;
    if (c->n_map > 2 * n_ids / q->n_shards + 1024)
        tsdb_rwsend_int_cycle_forget(c); // series removed by retention: start again
    // The series read before whose samples since from all lie in their open chunk past
    // the last window's mark (most of them, window after window): straight from the head.
    // Their marks as they were, for a window cut short (s_marks_back).
    fw_mem_grow((void **)&c->prev, &c->cap_prev, c->n_known, sizeof(*c->prev));
    for (size_t k = 0; k < c->n_known; k++)
        c->prev[k] = c->tails[k].res;
    c->n_prev = c->n_known;
    struct s_tail_arg ta = {c, age_min, dropped, 0};
    for (size_t k = 0; rc == 0 && k < c->n_known; k += S_TAIL_SLICE)
        tsdb_store_tail_read(r, c->tails + (ta.base = k),
                             c->n_known - k < S_TAIL_SLICE ? c->n_known - k : S_TAIL_SLICE, from,
                             *to, c->slow + k, s_tail_sample, &ta);
    for (size_t i = 0; rc == 0 && i < n_ids; i++) {
        // By series id (stable in the store): only the series with samples in the window
        // have their labels read.
        if (ids[i] % q->n_shards != s->index)
            continue;
        // The others through an iterator; a series read before resumes decoding its open
        // chunk where the last window stopped (tsdb_store_iter_resume), rather than from
        // the chunk's start.
        struct tsdb_rwsend_known *kn = tsdb_rwsend_int_known_find(c, ids[i]);
        if (kn && !c->slow[kn - c->known])
            continue;
        struct tsdb_store_resume fresh = {0};
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, ids[i], from + 1, *to);
        tsdb_store_iter_resume(&it, kn ? &c->tails[kn - c->known].res : &fresh);
        size_t first = c->n;
        while (tsdb_store_iter_next(&it)) {
            if (it.t < age_min) {
                (*dropped)++;
                continue;
            }
            fw_mem_grow((void **)&c->e, &c->cap, c->n + 1, sizeof(*c->e));
            c->e[c->n++] = (struct tsdb_rwsend_entry){0, it.t, it.v};
        }
        if (tsdb_store_iter_err(&it) != 0) {
            fw_err_set(err, "reading series %llu: %s", (unsigned long long)ids[i],
                       mdb_strerror(tsdb_store_iter_err(&it)));
            rc = -1;
        }
        if (c->n == first)
            continue;
        if (!kn)
            kn = tsdb_rwsend_int_known_add(q, r, c, ids[i], &stored, &fresh);
        if (kn && kn->set != TSDB_RWSEND_INT_DROPPED) {
            for (size_t k = first; k < c->n; k++)
                c->e[k].series = kn->set;
        } else {
            *dropped += c->n - first; // dropped by relabeling, or a damaged series record
            c->n = first;
        }
    }
    fw_labels_clear(&stored);
    free(ids);
    fw_matcher_clear(&all);
    if (rc != 0) {
        s_marks_back(c, NULL, from, from);
        tsdb_store_reader_destroy(&r);
        return -1;
    }
    if (c->n > 1) {
        fw_mem_grow((void **)&c->tmp, &c->cap_tmp, c->n, sizeof(*c->tmp)); // the requests' too
        tsdb_rwsend_sort(c->e, c->tmp, c->n, false);
    }
    size_t cap = (size_t)q->conf->queue_config.capacity;
    c->read = c->n;
    if (c->n > cap) {
        int64_t cut = c->e[cap - 1].t;
        size_t keep = cap;
        while (keep < c->n && c->e[keep].t == cut)
            keep++;
        c->n = keep;
        *to = cut;
        s_marks_back(c, r, from, cut);
    }
    tsdb_store_reader_destroy(&r);
    return 0;
}
