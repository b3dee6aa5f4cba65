/*  tsdb_rollup_write.c — the rollup writer (see tsdb_rollup.h, "Writing"); the store's rollup
    hooks are tsdb_rollup_store.c.
*/
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_bytes.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_time.h"
#include "tsdb_rollup.h"
#include "tsdb_store_int.h"

#define S_DAY_MS ((int64_t)86400000)
#define S_T_LIMIT ((int64_t)1 << 61)     // series with samples beyond +-2^61 ms get no rollups
#define S_STEP_SAMPLES ((int64_t)500000) // raw samples one write transaction reads at most
#define S_STEP_VISITS 4096               // series one write transaction looks at, at most
#define S_MARK_MIN ((int64_t) - (S_T_LIMIT))

struct tsdb_rollup {
    tsdb_store_t *store; // borrowed
    int64_t keep[TSDB_ROLLUP_LEVELS];
    int64_t span_ms;      // a series moves this far at most per step
    int64_t step_samples; // raw samples a step reads at most
    size_t step_series;   // series a step moves at most (tsdb_rollup_run)
    uint64_t resume;      // the next series id of the sweep; 0: a sweep starts
    bool sweep_work;      // the sweep so far found work
    int64_t sweep_lag;
    // scratch
    struct tsdb_rollup_bucket *b[TSDB_ROLLUP_LEVELS], *page;
    size_t nb[TSDB_ROLLUP_LEVELS], capb[TSDB_ROLLUP_LEVELS], npage, cappage;
    unsigned char *enc, *gbuf; // a segment; a group page
    size_t cap_enc, cap_gbuf;
    int64_t *bad; // pages found damaged: (level, start) pairs
    size_t nbad, capbad;
    // the pages of one group a step changed, written when it moves to another group and
    // before it commits (a group's series come one after the other: each page is written
    // once per step, not once per series)
    struct s_gpage {
        int level;
        int64_t ps;
        unsigned char *buf; // the page (len 0: none)
        size_t len, cap;
        bool dirty;
    } * gp;
    size_t ngp, capgp;
    uint64_t gp_group;                   // UINT64_MAX: none
    int64_t gp_marks[TSDB_ROLLUP_GROUP]; // its marks, written after its pages
    bool gp_marks_dirty;
    bool bulk; // tsdb_rollup_set_bulk
    // the thread
    pthread_t thread;
    bool started, stopping;
    int64_t interval_ms;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic uint64_t steps, series, buckets, bytes, samples, pages_expired, failures;
    _Atomic int64_t lag_series;
};

// ---------------------------------------------------------------------------------------
// Keys

static int
s_put_i64(tsdb_store_t *self, MDB_txn *txn, const unsigned char *key, size_t klen, int64_t x)
{
    unsigned char b[8];
    fw_bytes_put_le(b, (uint64_t)x, 8);
    MDB_val k = {klen, (void *)key}, v = {8, b};
    return mdb_put(txn, self->rollups_db, &k, &v, 0);
}

// Delete the keys of series id from key[0..klen) on while they match its first plen bytes
// and, when page_end_max > INT64_MIN, the page ends at or before it. Counts into *n.
static int
s_del_from(tsdb_store_t *self, MDB_txn *txn, const unsigned char *key, size_t klen, size_t plen,
           int64_t span, int64_t page_end_max, uint64_t *n)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->rollups_db, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {klen, (void *)key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, key, plen) != 0)
            break;
        if (page_end_max > INT64_MIN) {
            int64_t ps = k.mv_size == 17 ? tsdb_store_int_unflip(fw_bytes_get_u64be(
                                               (const unsigned char *)k.mv_data + 9))
                                         : INT64_MAX - span;
            if (ps + span > page_end_max)
                break;
        }
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        if (n)
            (*n)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

// ---------------------------------------------------------------------------------------
// The writer

tsdb_rollup_t *
tsdb_rollup_new(tsdb_store_t *store, const int64_t keep_ms[TSDB_ROLLUP_LEVELS])
{
    tsdb_rollup_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    for (int l = 0; l < TSDB_ROLLUP_LEVELS; l++)
        self->keep[l] = keep_ms[l];
    self->gp_group = UINT64_MAX;
    tsdb_rollup_set_bulk(self, false);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->wake, &ca);
    pthread_condattr_destroy(&ca);
    return self;
}

void
tsdb_rollup_set_bulk(tsdb_rollup_t *self, bool bulk)
{
    self->span_ms = bulk ? 32 * S_DAY_MS : S_DAY_MS;
    self->step_samples = bulk ? 50 * S_STEP_SAMPLES : S_STEP_SAMPLES;
    self->step_series = bulk ? 4096 : 64;
    self->bulk = bulk;
}

void
tsdb_rollup_destroy(tsdb_rollup_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_rollup_t *self = *self_p;
    tsdb_rollup_stop(self);
    for (int l = 0; l < TSDB_ROLLUP_LEVELS; l++)
        free(self->b[l]);
    free(self->page);
    free(self->enc);
    free(self->gbuf);
    free(self->bad);
    for (size_t k = 0; k < self->capgp; k++)
        free(self->gp[k].buf);
    free(self->gp);
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int
tsdb_rollup_check_keep(int level, int64_t keep_ms, const char *flag, fw_err_t *err)
{
    int64_t step = tsdb_rollup_step_ms(level);
    if (keep_ms < 0 || (keep_ms > 0 && keep_ms < step)) {
        fw_err_set(err,
                   "--%s: a retention below the rollup's own step (%s) would keep no bucket: "
                   "give 0 (the level off) or at least %s",
                   flag, level == 0 ? "5m" : "1h", level == 0 ? "5m" : "1h");
        return -1;
    }
    return 0;
}

// Delete every page of level (all: of both levels, and the marks: every key but the cuts).
static int
s_del_level(tsdb_store_t *st, MDB_txn *txn, int level, bool all)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, st->rollups_db, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data;
        bool page = k.mv_size == 17 && (all || kp[8] == level);
        bool mark = all && k.mv_size == 9 && kp[8] == 0xfe;
        if ((page || mark) && (rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
tsdb_rollup_levels(tsdb_rollup_t *self, int *on, fw_err_t *err)
{
    tsdb_store_t *st = self->store;
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "rollup levels txn", rc);
    int64_t cut[TSDB_ROLLUP_LEVELS];
    unsigned char key[TSDB_ROLLUP_LEVELS][9];
    bool back_on = false;
    *on = 0;
    for (int l = 0; l < TSDB_ROLLUP_LEVELS && rc == 0; l++) {
        fw_bytes_put_u64be(key[l], 0);
        key[l][8] = (unsigned char)l;
        MDB_val k = {9, key[l]}, v;
        rc = mdb_get(txn, st->rollups_db, &k, &v);
        cut[l] = rc == 0 && v.mv_size == 8 ? (int64_t)fw_bytes_get_le(v.mv_data, 8) : INT64_MIN;
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        back_on |= self->keep[l] > 0 && cut[l] == TSDB_ROLLUP_OFF;
        *on += self->keep[l] > 0;
    }
    // a level back on has no pages up to the marks: everything is rebuilt from the chunks
    if (rc == 0 && (back_on || *on == 0))
        rc = s_del_level(st, txn, 0, true);
    for (int l = 0; l < TSDB_ROLLUP_LEVELS && rc == 0; l++) {
        if (self->keep[l] > 0 && cut[l] == TSDB_ROLLUP_OFF) {
            MDB_val k = {9, key[l]};
            rc = mdb_del(txn, st->rollups_db, &k, NULL);
        } else if (self->keep[l] <= 0 && cut[l] != TSDB_ROLLUP_OFF) {
            if (!back_on && *on > 0)
                rc = s_del_level(st, txn, l, false);
            if (rc == 0)
                rc = s_put_i64(st, txn, key[l], 9, TSDB_ROLLUP_OFF);
        }
    }
    if (rc == 0)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    if (rc == 0)
        tsdb_store_int_rollup_cover(st);
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "rollup levels", rc);
}

void
tsdb_rollup_counters(tsdb_rollup_t *self, struct tsdb_rollup_counters *out)
{
    out->steps = atomic_load(&self->steps);
    out->series = atomic_load(&self->series);
    out->buckets = atomic_load(&self->buckets);
    out->bytes = atomic_load(&self->bytes);
    out->samples = atomic_load(&self->samples);
    out->pages_expired = atomic_load(&self->pages_expired);
    out->failures = atomic_load(&self->failures);
    out->lag_series = atomic_load(&self->lag_series);
}

// Note page (level, ps) of series id's group as damaged (reported when report): s_series
// drops it.
static int
s_bad(tsdb_rollup_t *self, MDB_txn *txn, uint64_t id, int level, int64_t ps, int e, bool report)
{
    if (report)
        tsdb_store_int_report_damage(self->store, txn, id, "rollup page", ps, e);
    fw_mem_grow((void **)&self->bad, &self->capbad, self->nbad + 2, sizeof(*self->bad));
    self->bad[self->nbad++] = level;
    self->bad[self->nbad++] = ps;
    return FW_EPARSE;
}

static int
s_gp_cmp(const void *a, const void *b)
{
    const struct s_gpage *x = a, *y = b;
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    return x->ps < y->ps ? -1 : x->ps > y->ps;
}

// Put key -> val; in bulk (an import filling the database in key order) appended when it
// sorts after every key there is, so that LMDB's page splits leave full pages behind.
static int
s_put(tsdb_rollup_t *self, MDB_txn *txn, MDB_val *k, MDB_val *v)
{
    int rc = self->bulk ? mdb_put(txn, self->store->rollups_db, k, v, MDB_APPEND) : MDB_KEYEXIST;
    return rc == MDB_KEYEXIST ? mdb_put(txn, self->store->rollups_db, k, v, 0) : rc;
}

// Write the changed pages of the group held (see struct tsdb_rollup) in key order, then its
// marks, and forget them.
static int
s_gp_flush(tsdb_rollup_t *self, MDB_txn *txn)
{
    int rc = 0;
    if (self->ngp > 1)
        qsort(self->gp, self->ngp, sizeof(*self->gp), s_gp_cmp);
    for (size_t k = 0; k < self->ngp && rc == 0; k++) {
        struct s_gpage *e = &self->gp[k];
        if (!e->dirty)
            continue;
        unsigned char key[17];
        tsdb_store_int_rollup_key(key, self->gp_group, e->level, e->ps);
        MDB_val mk = {17, key}, mv = {e->len, e->buf};
        rc = e->len > 0 ? s_put(self, txn, &mk, &mv)
                        : mdb_del(txn, self->store->rollups_db, &mk, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        if (rc == 0 && e->len > 0)
            atomic_fetch_add(&self->bytes, e->len);
    }
    if (rc == 0 && self->gp_marks_dirty) {
        unsigned char key[9], b[TSDB_ROLLUP_MARKS_MAX];
        tsdb_store_int_rollup_marks_key(key, self->gp_group);
        size_t n = tsdb_rollup_marks_encode(self->gp_marks, b);
        MDB_val mk = {9, key}, mv = {n, b};
        rc = n > 0 ? s_put(self, txn, &mk, &mv) : mdb_del(txn, self->store->rollups_db, &mk, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    self->ngp = 0; // the buffers stay for the next group
    self->gp_group = UINT64_MAX;
    self->gp_marks_dirty = false;
    return rc;
}

// Hold series id's group (its pages and marks) from here on: the one held before is written.
static int
s_gp_hold(tsdb_rollup_t *self, MDB_txn *txn, uint64_t id)
{
    uint64_t g = id / TSDB_ROLLUP_GROUP;
    if (g == self->gp_group)
        return 0;
    int rc = s_gp_flush(self, txn);
    if (rc == 0)
        rc = tsdb_store_int_rollup_marks(self->store, txn, g, self->gp_marks);
    if (rc == 0)
        self->gp_group = g;
    return rc;
}

// Group g's page (level, ps), held from here on: *out (its len 0 when there is none). 0, an
// LMDB error, or FW_EPARSE (noted in self->bad; reported when report) when it does not parse.
static int
s_gp_get(tsdb_rollup_t *self, MDB_txn *txn, uint64_t id, int level, int64_t ps, bool report,
         struct s_gpage **out)
{
    uint64_t g = id / TSDB_ROLLUP_GROUP;
    int rc;
    if ((rc = s_gp_hold(self, txn, id)) != 0)
        return rc;
    for (size_t k = 0; k < self->ngp; k++)
        if (self->gp[k].level == level && self->gp[k].ps == ps) {
            *out = &self->gp[k];
            return 0;
        }
    unsigned char key[17];
    tsdb_store_int_rollup_key(key, g, level, ps);
    MDB_val k = {17, key}, v = {0, NULL};
    rc = mdb_get(txn, self->store->rollups_db, &k, &v);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    struct tsdb_rollup_group gp;
    int e = rc == 0 ? tsdb_rollup_group_parse(v.mv_data, v.mv_size, &gp) : 0;
    if (e != 0)
        return s_bad(self, txn, id, level, ps, e, report);
    if (self->ngp == self->capgp) {
        size_t old = self->capgp;
        fw_mem_grow((void **)&self->gp, &self->capgp, self->ngp + 1, sizeof(*self->gp));
        memset(self->gp + old, 0, (self->capgp - old) * sizeof(*self->gp));
    }
    struct s_gpage *en = &self->gp[self->ngp++];
    en->level = level;
    en->ps = ps;
    en->dirty = false;
    en->len = rc == 0 ? v.mv_size : 0;
    fw_mem_grow((void **)&en->buf, &en->cap, en->len + 1, 1);
    if (en->len > 0)
        memcpy(en->buf, v.mv_data, en->len);
    *out = en;
    return 0;
}

// Replace slot's segment of held page e by seg[0..len) (len 0: remove it).
static void
s_gp_splice(tsdb_rollup_t *self, struct s_gpage *e, unsigned slot, const unsigned char *seg,
            size_t len)
{
    struct tsdb_rollup_group gp;
    bool have = e->len > 0 && tsdb_rollup_group_parse(e->buf, e->len, &gp) == 0;
    if (!have && len == 0)
        return;
    fw_mem_grow((void **)&self->gbuf, &self->cap_gbuf, e->len + len + 16, 1);
    size_t n = tsdb_rollup_group_splice(have ? &gp : NULL, have ? e->buf : NULL, slot, seg, len,
                                        self->gbuf);
    unsigned char *b = e->buf; // swap: the page's new bytes become its buffer
    size_t c = e->cap;
    e->buf = self->gbuf;
    e->cap = self->cap_gbuf;
    self->gbuf = b;
    self->cap_gbuf = c;
    e->len = n;
    e->dirty = true;
}

// Write level's buckets b[0..n) (ends in (lo, hi], sorted) of series id after the ones it
// has up to lo; its segments of every page from the one holding lo + step on are rewritten.
// 0, an LMDB error, or FW_EPARSE for a damaged page (noted in self->bad).
static int
s_write_level(tsdb_rollup_t *self, MDB_txn *txn, uint64_t id, int level, int64_t lo,
              const struct tsdb_rollup_bucket *b, size_t n)
{
    tsdb_store_t *st = self->store;
    int64_t step = tsdb_rollup_step_ms(level), span = step * TSDB_ROLLUP_PAGE;
    int64_t p0 = tsdb_rollup_floor(lo, span);
    uint64_t g = id / TSDB_ROLLUP_GROUP;
    unsigned slot = (unsigned)(id % TSDB_ROLLUP_GROUP);
    struct s_gpage *e;
    int rc;
    self->npage = 0;
    if ((rc = s_gp_hold(self, txn, id)) != 0) // the pages held are its group's from here on
        return rc;
    // the page holding lo keeps its buckets up to lo (none when lo starts it: then a damaged
    // segment is simply written again)
    if (lo > p0) {
        if ((rc = s_gp_get(self, txn, id, level, p0, true, &e)) != 0)
            return rc;
        struct tsdb_rollup_group gp;
        const unsigned char *seg;
        size_t seglen;
        int err = e->len > 0 ? tsdb_rollup_group_parse(e->buf, e->len, &gp) : 0;
        if (err == 0 && e->len > 0 && tsdb_rollup_group_find(&gp, e->buf, slot, &seg, &seglen))
            err = tsdb_rollup_page_decode(seg, seglen, p0, step, &self->page, &self->npage,
                                          &self->cappage);
        if (err != 0)
            return s_bad(self, txn, id, level, p0, err, true);
        size_t w = 0;
        for (size_t i = 0; i < self->npage; i++)
            if (self->page[i].end <= lo)
                self->page[w++] = self->page[i];
        self->npage = w;
    }
    // the series' segments from p0 on go: every stored page of its group held, then cut
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, st->rollups_db, &cur)) != 0)
        return rc;
    unsigned char key[17];
    tsdb_store_int_rollup_key(key, g, level, p0);
    MDB_val k = {17, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data;
        if (k.mv_size != 17 || fw_bytes_get_u64be(kp) != g || kp[8] != level)
            break;
        int64_t ps = tsdb_store_int_unflip(fw_bytes_get_u64be(kp + 9));
        // a damaged page here is written again anyway (a query that found it reported it)
        if ((rc = s_gp_get(self, txn, id, level, ps, false, &e)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    for (size_t k2 = 0; k2 < self->ngp; k2++)
        if (self->gp[k2].level == level && self->gp[k2].ps >= p0)
            s_gp_splice(self, &self->gp[k2], slot, NULL, 0);
    // the kept ones, then b, page by page
    size_t i = 0;
    while (self->npage > 0 || i < n) {
        int64_t ps = self->npage > 0 ? p0 : tsdb_rollup_floor(b[i].end - 1, span);
        size_t j = i;
        while (j < n && b[j].end <= ps + span)
            j++;
        size_t count = self->npage + (j - i);
        fw_mem_grow((void **)&self->page, &self->cappage, count, sizeof(*self->page));
        memcpy(self->page + self->npage, b + i, (j - i) * sizeof(*b));
        fw_mem_grow((void **)&self->enc, &self->cap_enc, 1 + count * TSDB_ROLLUP_BUCKET_MAX, 1);
        size_t len = tsdb_rollup_page_encode(self->page, count, ps, step, self->enc);
        if ((rc = s_gp_get(self, txn, id, level, ps, true, &e)) != 0)
            return rc;
        s_gp_splice(self, e, slot, self->enc, len);
        atomic_fetch_add(&self->buckets, count - self->npage);
        self->npage = 0;
        i = j;
    }
    return 0;
}

// Drop the damaged pages s_write_level found (whole: their segments cannot be told apart)
// and lower the marks of their group's series below them, so that each series' buckets
// from there on are written again from the chunks.
static int
s_drop_bad(tsdb_rollup_t *self, MDB_txn *txn, uint64_t g)
{
    int rc = s_gp_flush(self, txn); // what the group's other series wrote stays
    for (size_t k = 0; k + 1 < self->nbad && rc == 0; k += 2) {
        unsigned char key[17];
        tsdb_store_int_rollup_key(key, g, (int)self->bad[k], self->bad[k + 1]);
        MDB_val mk = {17, key};
        rc = mdb_del(txn, self->store->rollups_db, &mk, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        for (unsigned s = 0; s < TSDB_ROLLUP_GROUP && rc == 0; s++)
            rc = tsdb_store_int_rollup_lower(self->store, txn, g * TSDB_ROLLUP_GROUP + s,
                                             self->bad[k + 1] + 1);
    }
    self->nbad = 0;
    return rc;
}

// The first and last sealed chunks of series id: *have false when it has none.
static int
s_sealed_span(tsdb_store_t *st, MDB_txn *txn, MDB_cursor *cur, uint64_t id, int64_t *mint,
              int64_t *maxt, bool *have)
{
    unsigned char key[16];
    *have = false;
    tsdb_store_int_chunk_key(key, id, 0);
    MDB_val k = {16, key}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == MDB_NOTFOUND || (rc == 0 && fw_bytes_get_u64be(k.mv_data) != id))
        return 0;
    if (rc != 0)
        return rc;
    *mint = tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
    tsdb_store_int_chunk_key(key, id + 1, 0);
    k = (MDB_val){16, key};
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc != 0)
        return rc;
    struct tsdb_chunk_info info;
    int e = tsdb_chunk_info(v.mv_data, v.mv_size, &info);
    if (e != 0) {
        tsdb_store_int_report_damage(
            st, txn, id, "chunk",
            tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8)), e);
        return 0; // no rollups past a damaged last chunk
    }
    *maxt = info.maxt;
    *have = true;
    (void)txn;
    return 0;
}

// Bring series id up to date (at most a day of it): *work when it had some, *more when
// some is left; *samples adds the raw samples read. 0 or an LMDB error.
static int
s_series(tsdb_rollup_t *self, MDB_txn *txn, tsdb_store_reader_t *rd, MDB_cursor *ccur, uint64_t id,
         const int64_t cut[TSDB_ROLLUP_LEVELS], bool *work, bool *more, int64_t *samples)
{
    tsdb_store_t *st = self->store;
    *work = *more = false;
    const int64_t h = tsdb_rollup_step_ms(1), m5 = tsdb_rollup_step_ms(0);
    // the levels' retention: pages wholly at or before the cut
    for (int l = 0; l < TSDB_ROLLUP_LEVELS; l++) {
        if (cut[l] == INT64_MIN || self->keep[l] <= 0)
            continue;
        unsigned char key[17];
        int64_t span = tsdb_rollup_step_ms(l) * TSDB_ROLLUP_PAGE;
        tsdb_store_int_rollup_key(key, id / TSDB_ROLLUP_GROUP, l, S_MARK_MIN - span);
        uint64_t n = 0;
        int rc = s_del_from(st, txn, key, 17, 9, span, cut[l], &n);
        if (rc != 0)
            return rc;
        for (size_t e = 0; n > 0 && e < self->ngp; e++)
            if (self->gp_group == id / TSDB_ROLLUP_GROUP && self->gp[e].level == l &&
                self->gp[e].ps + span <= cut[l]) {
                self->gp[e].len = 0; // deleted: not written back
                self->gp[e].dirty = false;
            }
        atomic_fetch_add(&self->pages_expired, n);
    }
    int64_t w, mint = 0, maxt = 0;
    bool have;
    int rc = s_gp_hold(self, txn, id);
    w = self->gp_marks[id % TSDB_ROLLUP_GROUP];
    if (rc == 0)
        rc = s_sealed_span(st, txn, ccur, id, &mint, &maxt, &have);
    if (rc != 0 || !have || mint <= S_MARK_MIN || maxt >= S_T_LIMIT)
        return rc;
    int64_t from = tsdb_rollup_floor(mint - 1, h);
    if (w == INT64_MIN)
        w = from;
    int64_t target = tsdb_rollup_floor(maxt, m5);
    int64_t cap = tsdb_rollup_floor(w > from ? w : from, h) + self->span_ms;
    if (target > cap) {
        target = cap;
        *more = true;
    }
    if (target <= w)
        return 0;
    *work = true;
    // raw samples of (floor(w, 1h), target]: 5m buckets of (w, target], 1h ones of
    // (floor(w, 1h), floor(target, 1h)]
    int64_t lo[2] = {w, tsdb_rollup_floor(w, h)}, hi[2] = {target, tsdb_rollup_floor(target, h)};
    struct tsdb_rollup_bucket cur[2] = {{INT64_MIN, {0}}, {INT64_MIN, {0}}};
    self->nb[0] = self->nb[1] = 0;
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, rd, id, (self->keep[1] > 0 ? lo[1] : lo[0]) + 1, target);
    while (tsdb_store_iter_next(&it)) {
        if (fw_sample_is_stale(it.v))
            continue;
        (*samples)++;
        for (int l = 0; l < 2; l++) {
            if (self->keep[l] <= 0)
                continue;
            int64_t step = tsdb_rollup_step_ms(l);
            int64_t end = tsdb_rollup_floor(it.t - 1, step) + step;
            if (end <= lo[l] || end > hi[l] || end <= cut[l]) // past retention: not written
                continue;
            if (end != cur[l].end && cur[l].a.count > 0) {
                fw_mem_grow((void **)&self->b[l], &self->capb[l], self->nb[l] + 1,
                            sizeof(*self->b[l]));
                self->b[l][self->nb[l]++] = cur[l];
                cur[l].a.count = 0;
            }
            cur[l].end = end;
            tsdb_rollup_agg_add(&cur[l].a, it.t, it.v);
        }
    }
    if ((rc = tsdb_store_iter_err(&it)) != 0)
        return rc;
    for (int l = 0; l < 2; l++) {
        if (self->keep[l] <= 0)
            continue;
        if (cur[l].a.count > 0) {
            fw_mem_grow((void **)&self->b[l], &self->capb[l], self->nb[l] + 1, sizeof(*self->b[l]));
            self->b[l][self->nb[l]++] = cur[l];
        }
        self->nbad = 0;
        rc = s_write_level(self, txn, id, l, lo[l], self->b[l], self->nb[l]);
        if (rc == FW_EPARSE) // a damaged page: its series start over from it
            return s_drop_bad(self, txn, id / TSDB_ROLLUP_GROUP);
        if (rc != 0)
            return rc;
    }
    self->gp_marks[id % TSDB_ROLLUP_GROUP] = target;
    self->gp_marks_dirty = true;
    atomic_fetch_add(&self->series, 1);
    return 0;
}

// At the start of a sweep: raise each level's cut to its retention.
static int
s_cuts(tsdb_rollup_t *self, MDB_txn *txn, int64_t now_ms, int64_t cut[TSDB_ROLLUP_LEVELS])
{
    for (int l = 0; l < TSDB_ROLLUP_LEVELS; l++) {
        unsigned char key[9];
        fw_bytes_put_u64be(key, 0);
        key[8] = (unsigned char)l;
        MDB_val k = {9, key}, v;
        int rc = mdb_get(txn, self->store->rollups_db, &k, &v);
        cut[l] = rc == 0 && v.mv_size == 8 ? (int64_t)fw_bytes_get_le(v.mv_data, 8) : INT64_MIN;
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
        if (self->keep[l] <= 0 || now_ms - self->keep[l] < S_MARK_MIN)
            continue;
        int64_t c = tsdb_rollup_floor(now_ms - self->keep[l], tsdb_rollup_step_ms(l));
        if (c > cut[l]) {
            cut[l] = c;
            if ((rc = s_put_i64(self->store, txn, key, 9, c)) != 0)
                return rc;
        }
    }
    return 0;
}

int
tsdb_rollup_step(tsdb_rollup_t *self, int64_t now_ms, size_t max_series, bool *idle, fw_err_t *err)
{
    tsdb_store_t *st = self->store;
    *idle = self->keep[0] <= 0 && self->keep[1] <= 0; // both levels off: nothing to do
    if (*idle)
        return 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(st->env, NULL, 0, &txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "rollup txn", rc);
    tsdb_store_reader_t rd;
    MDB_cursor *scur = NULL, *ccur = NULL;
    int64_t cut[TSDB_ROLLUP_LEVELS], samples = 0;
    if ((rc = tsdb_store_int_reader_wrap(st, txn, &rd)) != 0)
        goto fail;
    if ((rc = s_cuts(self, txn, now_ms, cut)) != 0 ||
        (rc = tsdb_store_int_rollup_fixes(st, txn)) != 0 ||
        (rc = mdb_cursor_open(txn, st->ix.series, &scur)) != 0 ||
        (rc = mdb_cursor_open(txn, st->chunks, &ccur)) != 0)
        goto fail;
    if (self->resume == 0) {
        self->sweep_work = false;
        self->sweep_lag = 0;
    }
    unsigned char key[8];
    fw_bytes_put_u64be(key, self->resume);
    MDB_val k = {8, key}, v;
    size_t done = 0, visits = 0;
    for (rc = mdb_cursor_get(scur, &k, &v, MDB_SET_RANGE);
         rc == 0 && done < max_series && samples < self->step_samples && visits++ < S_STEP_VISITS;
         rc = mdb_cursor_get(scur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8)
            continue;
        uint64_t id = fw_bytes_get_u64be(k.mv_data);
        bool work, more;
        if ((rc = s_series(self, txn, &rd, ccur, id, cut, &work, &more, &samples)) != 0)
            break;
        self->sweep_work |= work;
        self->sweep_lag += more;
        done += work;
        self->resume = more ? id : id + 1; // a series with more left goes on next step
        if (more)
            break;
    }
    bool end = rc == MDB_NOTFOUND;
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    if ((rc = s_gp_flush(self, txn)) != 0)
        goto fail;
    mdb_cursor_close(ccur);
    mdb_cursor_close(scur);
    tsdb_store_int_reader_unwrap(&rd);
    if ((rc = mdb_txn_commit(txn)) != 0) {
        atomic_fetch_add(&self->failures, 1);
        return tsdb_store_int_lmdb_fail(err, "rollup commit", rc);
    }
    tsdb_store_int_rollup_cover(st);
    atomic_fetch_add(&self->steps, 1);
    atomic_fetch_add(&self->samples, (uint64_t)samples);
    if (end) {
        *idle = !self->sweep_work;
        atomic_store(&self->lag_series, self->sweep_lag);
        self->resume = 0;
    }
    return 0;
fail:
    self->ngp = 0;
    self->gp_group = UINT64_MAX;
    self->gp_marks_dirty = false;
    if (ccur)
        mdb_cursor_close(ccur);
    if (scur)
        mdb_cursor_close(scur);
    tsdb_store_int_reader_unwrap(&rd);
    mdb_txn_abort(txn);
    atomic_fetch_add(&self->failures, 1);
    self->resume = 0;
    return tsdb_store_int_lmdb_fail(err, "rollup step", rc);
}

int
tsdb_rollup_run(tsdb_rollup_t *self, int64_t now_ms, fw_err_t *err)
{
    bool idle = false;
    // bounded: each step either brings a series a day forward or ends a sweep
    for (uint64_t n = 0; !idle && n < ((uint64_t)1 << 40); n++)
        if (tsdb_rollup_step(self, now_ms, self->step_series, &idle, err) != 0)
            return -1;
    return 0;
}

// ---------------------------------------------------------------------------------------
// The thread

// Wait ms, or less when stopped (the condition waits on fw_time_mono_ms's clock). False
// when stopped.
static bool
s_sleep(tsdb_rollup_t *self, int64_t ms)
{
    int64_t until = fw_time_mono_ms() + ms;
    struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
    pthread_mutex_lock(&self->lock);
    int rc = 0;
    while (!self->stopping && rc == 0)
        rc = pthread_cond_timedwait(&self->wake, &self->lock, &ts);
    bool going = !self->stopping;
    pthread_mutex_unlock(&self->lock);
    return going;
}

static void *
s_main(void *arg)
{
    tsdb_rollup_t *self = arg;
    do {
        bool idle = false;
        while (!idle) {
            fw_err_t err = {0};
            int64_t t0 = fw_time_mono_ms();
            if (tsdb_rollup_step(self, fw_time_now_ms(), self->step_series, &idle, &err) != 0) {
                fw_warn("tsdb.rollup.fail", "err=%s", err.msg);
                break;
            }
            // LMDB's writer lock is not fair: rest as long as the step held it, so that
            // ingest's commits get it at least half the time while the writer catches up
            int64_t took = fw_time_mono_ms() - t0;
            if (!idle && !s_sleep(self, took > 1 ? took : 1))
                return NULL;
        }
    } while (s_sleep(self, self->interval_ms));
    return NULL;
}

int
tsdb_rollup_start(tsdb_rollup_t *self, int64_t interval_ms, fw_err_t *err)
{
    self->interval_ms = interval_ms > 0 ? interval_ms : 30000;
    self->stopping = false;
    int rc = fw_thread_create(&self->thread, NULL, s_main, self);
    if (rc != 0) {
        fw_err_set(err, "rollup thread: %s", strerror(rc));
        return -1;
    }
    self->started = true;
    return 0;
}

void
tsdb_rollup_stop(tsdb_rollup_t *self)
{
    if (!self || !self->started)
        return;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    self->started = false;
}
