/*  tsdb_store_tombs.c — delete_series and clean_tombstones: tombstones, as Prometheus's.

    A tombstone record (database "tombstones", key the series id, 8 bytes big-endian) is a
    sorted list of disjoint intervals [mint, maxt], each two int64 little-endian. Readers
    whose snapshot holds any (tsdb_store_reader_new looks once) load a series' record when an
    iterator starts on it and drop the samples inside before returning them, so a deletion
    shows at once in every query, and a sample appended later inside an interval is hidden
    too, as in Prometheus until the tombstones are cleaned. Writing one is a short write txn
    of its own, beside the writer's commits (LMDB serializes them).

    Cleaning deletes the covered samples of sealed chunks from disk, rewriting a chunk that
    is only partly covered, and drops a series' tombstones once they end before its stored
    open chunk starts (or it has none and is not in memory): samples of the open chunk or of
    chunks sealed since the last checkpoint may still be inside, so those tombstones stay.
*/
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "tsdb_chunk.h"
#include "tsdb_store_int.h"

#define S_TOMBS_MAX 4096 // intervals kept a series; past it the closest ones merge

static int64_t
s_get(const unsigned char *p, size_t k)
{
    return (int64_t)fw_bytes_get_le(p + 8 * k, 8);
}

static void
s_put(unsigned char *p, size_t k, int64_t v)
{
    fw_bytes_put_le(p + 8 * k, (uint64_t)v, 8);
}

// The record of old[0..n) pairs with [mint, maxt] added: sorted, overlapping or touching
// intervals merged. Returns the new pair count; *out is allocated.
static size_t
s_merge(const unsigned char *old, size_t n, int64_t mint, int64_t maxt, unsigned char **out)
{
    unsigned char *p = fw_malloc(16 * (n + 1));
    size_t m = 0;
    bool placed = false;
    for (size_t k = 0; k <= n; k++) {
        int64_t a, b;
        if (k < n && (placed || s_get(old, 2 * k) < mint)) {
            a = s_get(old, 2 * k), b = s_get(old, 2 * k + 1);
        } else if (!placed) {
            a = mint, b = maxt, placed = true, k--; // the old pair k comes next
        } else {
            break;
        }
        if (m > 0 && a <= s_get(p, 2 * m - 1) + 1 && a >= s_get(p, 2 * (m - 1))) {
            if (b > s_get(p, 2 * m - 1))
                s_put(p, 2 * m - 1, b);
        } else {
            s_put(p, 2 * m, a);
            s_put(p, 2 * m + 1, b);
            m++;
        }
    }
    while (m > S_TOMBS_MAX) { // bounded: join the two closest neighbours
        size_t best = 0;
        for (size_t k = 1; k + 1 < m; k++)
            if (s_get(p, 2 * k + 2) - s_get(p, 2 * k + 1) <
                s_get(p, 2 * best + 2) - s_get(p, 2 * best + 1))
                best = k;
        s_put(p, 2 * best + 1, s_get(p, 2 * best + 3));
        memmove(p + 16 * (best + 1), p + 16 * (best + 2), 16 * (m - best - 2));
        m--;
    }
    *out = p;
    return m;
}

int
tsdb_store_delete_series(tsdb_store_t *self, const uint64_t *ids, size_t n, int64_t mint,
                         int64_t maxt, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    if (mint > maxt)
        return 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        unsigned char key[8];
        fw_bytes_put_u64be(key, ids[k]);
        MDB_val kv = {8, key}, v = {0, NULL};
        rc = mdb_get(txn, self->tombs_db, &kv, &v);
        if (rc == MDB_NOTFOUND)
            rc = 0, v.mv_size = 0;
        if (rc != 0)
            break;
        unsigned char *rec;
        size_t m = s_merge(v.mv_data, v.mv_size / 16, mint, maxt, &rec);
        MDB_val nv = {16 * m, rec};
        rc = mdb_put(txn, self->tombs_db, &kv, &nv, 0);
        free(rec);
        if (rc == 0) // its rollups from mint on are recomputed without them (tsdb_rollup.h)
            rc = tsdb_store_int_rollup_lower(self, txn, ids[k], mint);
    }
    if (rc != 0) {
        if (txn)
            mdb_txn_abort(txn);
        return tsdb_store_int_lmdb_fail(err, "tombstone write", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return tsdb_store_int_lmdb_fail(err, "tombstone commit", rc);
    return 0;
}

void
tsdb_store_int_tombs_reader(tsdb_store_reader_t *r)
{
    MDB_stat st;
    r->tombs = mdb_stat(r->txn, r->store->tombs_db, &st) == 0 && st.ms_entries > 0;
}

void
tsdb_store_int_tombs_load(struct tsdb_store_iter *it)
{
    it->tomb = NULL;
    it->n_tomb = 0;
    if (!it->r->tombs)
        return;
    unsigned char key[8];
    fw_bytes_put_u64be(key, it->id);
    MDB_val kv = {8, key}, v;
    if (mdb_get(it->r->txn, it->r->store->tombs_db, &kv, &v) == 0 && v.mv_size % 16 == 0) {
        it->tomb = v.mv_data;
        it->n_tomb = v.mv_size / 16;
    }
}

// Whether t lies in one of the pairs tomb[0..n) (sorted): *at is where the search starts and
// moves forward with t (samples come in time order).
static bool
s_covered(const unsigned char *tomb, size_t n, size_t *at, int64_t t)
{
    while (*at < n && s_get(tomb, 2 * *at + 1) < t)
        (*at)++;
    return *at < n && s_get(tomb, 2 * *at) <= t;
}

unsigned
tsdb_store_int_tombs_filter(const struct tsdb_store_iter *it, int64_t *t, double *v, int64_t *st,
                            unsigned lo, unsigned hi)
{
    size_t at = 0;
    unsigned w = lo;
    for (unsigned k = lo; k < hi; k++)
        if (!s_covered(it->tomb, it->n_tomb, &at, t[k])) {
            t[w] = t[k];
            v[w] = v[k];
            if (st)
                st[w] = st[k];
            w++;
        }
    return w;
}

// Rewrite series id's sealed chunks without the samples in tomb[0..n); 0 or an LMDB error.
static int
s_clean_chunks(tsdb_store_t *self, MDB_txn *txn, uint64_t id, const unsigned char *tomb, size_t n)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    if (rc != 0)
        return rc;
    unsigned char key[16];
    tsdb_store_int_chunk_key(key, id, 0);
    MDB_val k = {16, key}, v;
    struct tsdb_chunk_app app;
    tsdb_chunk_app_init(&app);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         rc == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == id;) {
        struct tsdb_chunk_info info;
        if (tsdb_chunk_info(v.mv_data, v.mv_size, &info) != 0) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT); // damaged: tsdb check reports it
            continue;
        }
        size_t at = 0;
        bool any = false, all = true;
        int64_t ts[TSDB_CHUNK_MAX_SAMPLES * 4], sts[TSDB_CHUNK_MAX_SAMPLES * 4];
        double vs[TSDB_CHUNK_MAX_SAMPLES * 4];
        size_t m = 0;
        struct tsdb_chunk_iter ci;
        tsdb_chunk_iter_init(&ci, v.mv_data, v.mv_size);
        while (m < sizeof(ts) / sizeof(ts[0]) && tsdb_chunk_iter_next(&ci)) {
            bool c = s_covered(tomb, n, &at, ci.t);
            any |= c;
            all &= c;
            if (!c) {
                ts[m] = ci.t;
                sts[m] = ci.st;
                vs[m++] = ci.v;
            }
        }
        if (!any || tsdb_chunk_iter_err(&ci) != 0 || m == sizeof(ts) / sizeof(ts[0])) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        // the kept samples, as sealed chunks again (their keys are at or after this one's,
        // so the cursor walk below passes over them: they hold nothing covered)
        for (size_t j = 0; !all && j < m && rc == 0;) {
            tsdb_chunk_app_reset(&app);
            int64_t first = ts[j];
            while (j < m && tsdb_chunk_app_append_st(&app, ts[j], sts[j], vs[j]) == 0)
                j++;
            tsdb_chunk_app_seal(&app);
            size_t len;
            const unsigned char *p = tsdb_chunk_app_bytes(&app, &len);
            unsigned char nk[16];
            tsdb_store_int_chunk_key(nk, id, tsdb_store_int_flip(first));
            MDB_val nkv = {16, nk}, nv = {len, (void *)p};
            rc = mdb_put(txn, self->chunks, &nkv, &nv, 0);
        }
        if (rc != 0)
            break;
        // on to the chunk after the deleted one
        tsdb_store_int_chunk_key(key, id, tsdb_store_int_flip(info.mint) + 1);
        k = (MDB_val){16, key};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    tsdb_chunk_app_clear(&app);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
tsdb_store_clean_tombstones(tsdb_store_t *self, size_t *cleaned, fw_err_t *err)
{
    *cleaned = 0;
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, self->tombs_db, &cur);
    MDB_val k, v;
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
        if (k.mv_size != 8 || v.mv_size % 16 != 0 || v.mv_size == 0) {
            rc = mdb_cursor_del(cur, 0); // not a record this build writes
            if (rc == 0)
                rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
            continue;
        }
        uint64_t id = fw_bytes_get_u64be(k.mv_data);
        size_t n = v.mv_size / 16;
        unsigned char *tomb = fw_malloc(v.mv_size); // the walk below changes the pages
        memcpy(tomb, v.mv_data, v.mv_size);
        rc = s_clean_chunks(self, txn, id, tomb, n);
        // done when every interval ends before the stored open chunk (or there is none and
        // the series is not in memory, so nothing newer waits to be written)
        unsigned char idb[8];
        fw_bytes_put_u64be(idb, id);
        MDB_val hk = {8, idb}, hv;
        int hrc = rc == 0 ? mdb_get(txn, self->head_db, &hk, &hv) : rc;
        bool done = false;
        struct tsdb_chunk_info info;
        if (hrc == 0) {
            tsdb_store_int_head_val(self, &hv);
            done = tsdb_chunk_info(hv.mv_data, hv.mv_size, &info) == 0 &&
                   s_get(tomb, 2 * n - 1) < info.mint;
        } else if (hrc == MDB_NOTFOUND) {
            pthread_mutex_lock(&self->head_mu);
            done = tsdb_head_find_id(self->head, id) == NULL;
            pthread_mutex_unlock(&self->head_mu);
        } else {
            rc = hrc;
        }
        free(tomb);
        if (rc != 0)
            break;
        MDB_val kk = {8, idb};
        if (done) {
            rc = mdb_del(txn, self->tombs_db, &kk, NULL);
            (*cleaned)++;
        }
        if (rc == 0) {
            rc = mdb_cursor_get(cur, &kk, &v, MDB_SET_RANGE); // the cursor may have moved
            if (rc == 0 && kk.mv_size == 8 && fw_bytes_get_u64be(kk.mv_data) == id)
                rc = mdb_cursor_get(cur, &kk, &v, MDB_NEXT);
            k = kk;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        if (txn)
            mdb_txn_abort(txn);
        *cleaned = 0;
        return tsdb_store_int_lmdb_fail(err, "clean tombstones", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        *cleaned = 0;
        return tsdb_store_int_lmdb_fail(err, "clean tombstones commit", rc);
    }
    return 0;
}
