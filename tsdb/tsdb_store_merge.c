/*  tsdb_store_merge.c — late samples merged into the stored chunks, in a commit.

    A late-sample merge (commit) finds the stored chunk whose key is the greatest at or
    before the sample, takes every late sample up to the next chunk's key, decodes that
    chunk, merges (a stored sample wins a tie, counted as a late duplicate or conflict) and
    writes the result back as chunks of at most TSDB_CHUNK_MAX_SAMPLES, so keys stay the
    first timestamps and chunks never overlap.
*/
#include "tsdb_store.h"

#include <lmdb.h>
#include <stdatomic.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "tsdb_chunk.h"
#include "tsdb_store_int.h"

static int
s_put_chunk(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t mint, const void *p, size_t len)
{
    unsigned char key[16];
    tsdb_store_int_chunk_key(key, id, tsdb_store_int_flip(mint));
    MDB_val k = {16, key}, v = {len, (void *)p};
    return mdb_put(txn, self->chunks, &k, &v, 0);
}

// Write a[0..n) (sorted, unique t) with their start times st[0..n) as sealed chunks of
// series id.
static int
s_put_samples(tsdb_store_t *self, MDB_txn *txn, uint64_t id, const struct fw_sample *a,
              const int64_t *st, size_t n)
{
    struct tsdb_chunk_app *app = &self->scratch;
    int64_t mint = 0;
    int rc = 0;
    tsdb_chunk_app_reset(app);
    for (size_t k = 0; k <= n && rc == 0; k++) {
        if (tsdb_chunk_app_count(app) > 0 && (k == n || tsdb_chunk_app_full(app, a[k].t_ms))) {
            tsdb_chunk_app_seal(app);
            size_t len;
            const unsigned char *p = tsdb_chunk_app_bytes(app, &len);
            rc = s_put_chunk(self, txn, id, mint, p, len);
            tsdb_chunk_app_reset(app);
        }
        if (k == n)
            break;
        if (tsdb_chunk_app_count(app) == 0)
            mint = a[k].t_ms;
        (void)tsdb_chunk_app_append_st(app, a[k].t_ms, st[k], a[k].v); // sorted, unique: taken
    }
    return rc;
}

static void
s_merge_push(tsdb_store_t *self, size_t *n, struct fw_sample smp, int64_t st)
{
    fw_mem_grow((void **)&self->merge, &self->merge_cap, *n + 1, sizeof(*self->merge));
    fw_mem_grow((void **)&self->merge_st, &self->merge_st_cap, *n + 1, sizeof(*self->merge_st));
    self->merge_st[*n] = st;
    self->merge[(*n)++] = smp;
}

static bool
s_same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

// Merge s's late samples into its stored chunks (see the top of this file).
int
tsdb_store_int_merge_late(tsdb_store_t *self, MDB_txn *txn, const struct tsdb_head_series *s)
{
    const struct fw_sample *late = s->late ? s->late->v : NULL;
    uint32_t n_late = s->late ? s->late->n : 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < n_late && rc == 0;) {
        int64_t t = late[i].t_ms;
        unsigned char key[16], ckey[16];
        tsdb_store_int_chunk_key(key, s->id, tsdb_store_int_flip(t));
        MDB_val k = {16, key}, v, cv = {0, NULL};
        bool have_c = false;
        int64_t bound = INT64_MAX;
        // C: the chunk with the greatest key <= (id, t); N: the one after it
        int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (r == 0 && k.mv_size == 16 && memcmp(k.mv_data, key, 16) == 0) {
            have_c = true;
        } else {
            if (r == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == s->id)
                bound =
                    tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
            if (r != 0 && r != MDB_NOTFOUND) {
                rc = r;
                break;
            }
            r = mdb_cursor_get(cur, &k, &v, r == 0 ? MDB_PREV : MDB_LAST);
            have_c = r == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == s->id;
        }
        if (have_c) {
            memcpy(ckey, k.mv_data, 16);
            cv = v;
            MDB_val nk, nv;
            r = mdb_cursor_get(cur, &nk, &nv, MDB_NEXT);
            bound = INT64_MAX;
            if (r == 0 && nk.mv_size == 16 && fw_bytes_get_u64be(nk.mv_data) == s->id)
                bound = tsdb_store_int_unflip(
                    fw_bytes_get_u64be((const unsigned char *)nk.mv_data + 8));
        }
        uint32_t j = i;
        while (j < n_late && late[j].t_ms < bound)
            j++;
        if (j == i)
            j = i + 1; // cannot happen (bound > t); never loop forever
        // merge C's samples with late[i..j)
        size_t n = 0, stored = 0;
        struct tsdb_chunk_iter it;
        bool more = false;
        if (have_c) {
            tsdb_chunk_iter_init(&it, cv.mv_data, cv.mv_size);
            more = tsdb_chunk_iter_next(&it);
        }
        uint32_t l = i;
        while (more || l < j) {
            if (more && (l == j || it.t <= late[l].t_ms)) {
                if (l < j && it.t == late[l].t_ms) {
                    if (s_same_bits(it.v, late[l].v))
                        atomic_fetch_add(&self->late_dups, 1);
                    else
                        atomic_fetch_add(&self->late_conflicts, 1);
                    l++;
                }
                s_merge_push(self, &n, (struct fw_sample){it.t, it.v}, it.st);
                stored++;
                more = tsdb_chunk_iter_next(&it);
            } else {
                s_merge_push(self, &n, late[l++], 0); // the late list keeps no start times
            }
        }
        if (have_c && tsdb_chunk_iter_err(&it) != 0) {
            // the stored chunk is damaged: keep it as it is, the late samples are lost
            tsdb_store_int_report_damage(self, txn, s->id, "chunk",
                                         tsdb_store_int_unflip(fw_bytes_get_u64be(ckey + 8)),
                                         tsdb_chunk_iter_err(&it));
            atomic_fetch_add(&self->late_conflicts, j - i);
        } else if (n > stored) {
            if (have_c) {
                MDB_val dk = {16, ckey};
                rc = mdb_del(txn, self->chunks, &dk, NULL);
            }
            if (rc == 0)
                rc = s_put_samples(self, txn, s->id, self->merge, self->merge_st, n);
        }
        i = j;
    }
    mdb_cursor_close(cur);
    // the rollups of the merged span are no longer right: recompute them (tsdb_rollup.h)
    if (rc == 0 && n_late > 0) {
        int64_t first = late[0].t_ms;
        for (uint32_t i = 1; i < n_late; i++)
            first = late[i].t_ms < first ? late[i].t_ms : first;
        rc = tsdb_store_int_rollup_lower(self, txn, s->id, first);
    }
    return rc;
}
