/*  tsdb_store_late.c — late-sample records for remote-write readers (tsdb_store.h, "Late
    samples").

    A watched key owns one of TSDB_HEAD_MARKS slots of the head's marks; the head notes each
    append at or below a mark (tsdb_head_note), and the commit turns the notes into records
    of the database "late" in its own write transaction, so a record is durable exactly when
    its samples are. A record's key is the watcher's key and the series id (16 bytes
    big-endian); its value the hull of the samples [mint, maxt] and the txn that last
    widened it (3 x 8 bytes big-endian), so that a watcher drops a record only when no
    commit widened it since it read it (tsdb_store_late_done). One record a series and
    watcher: the table never holds more than series times watchers.

    Ordering: a watcher raises its mark and takes its reader's snapshot under late_mu
    (tsdb_store_late_reader); the commit holds late_mu from deciding which watchers need a
    late-list sample (visible only once committed) until its transaction is durable. So a
    snapshot either holds the sample or its mark was raised before the decision. Samples
    appended to the open chunk are visible at once: the head decides those at the append,
    under the head lock, which the watcher's reads take after raising the mark.
*/
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "tsdb_store_int.h"

_Static_assert(TSDB_STORE_LATE_KEYS == TSDB_HEAD_MARKS, "one head mark a watched key");

#define S_SCAN_MAX 65536 // records one tsdb_store_late_list call looks at, at most

void
tsdb_store_int_late_init(tsdb_store_t *self)
{
    pthread_mutex_init(&self->late_mu, NULL);
    atomic_init(&self->late_marks.max, INT64_MIN);
    for (size_t q = 0; q < TSDB_HEAD_MARKS; q++)
        atomic_init(&self->late_marks.mark[q], INT64_MIN);
    tsdb_head_set_marks(self->head, &self->late_marks);
}

void
tsdb_store_int_late_fini(tsdb_store_t *self)
{
    pthread_mutex_destroy(&self->late_mu);
}

// The slot of key (under late_mu), or -1.
static int
s_slot(const tsdb_store_t *self, uint64_t key)
{
    for (int q = 0; q < TSDB_HEAD_MARKS; q++)
        if (self->late_keys[q] == key)
            return q;
    return -1;
}

// Raise key's mark to mark, watching it first when needed (under late_mu). 0 or -1.
static int
s_raise(tsdb_store_t *self, uint64_t key, int64_t mark, fw_err_t *err)
{
    int q = s_slot(self, key);
    if (q < 0 && (q = s_slot(self, 0)) >= 0)
        self->late_keys[q] = key;
    if (q < 0) {
        fw_err_set(err, "more than %d remote-write queues watch for late samples", TSDB_HEAD_MARKS);
        return -1;
    }
    if (atomic_load(&self->late_marks.mark[q]) < mark)
        atomic_store(&self->late_marks.mark[q], mark);
    if (atomic_load(&self->late_marks.max) < mark)
        atomic_store(&self->late_marks.max, mark);
    return 0;
}

int
tsdb_store_late_watch(tsdb_store_t *self, uint64_t key, int64_t mark, fw_err_t *err)
{
    if (key == 0) {
        fw_err_set(err, "late-sample key 0 is reserved");
        return -1;
    }
    pthread_mutex_lock(&self->late_mu);
    int rc = s_raise(self, key, mark, err);
    pthread_mutex_unlock(&self->late_mu);
    return rc;
}

tsdb_store_reader_t *
tsdb_store_late_reader(tsdb_store_t *self, uint64_t key, int64_t mark, fw_err_t *err)
{
    if (key == 0) {
        fw_err_set(err, "late-sample key 0 is reserved");
        return NULL;
    }
    pthread_mutex_lock(&self->late_mu);
    tsdb_store_reader_t *r =
        s_raise(self, key, mark, err) == 0 ? tsdb_store_reader_new(self, err) : NULL;
    pthread_mutex_unlock(&self->late_mu);
    if (r)
        tsdb_store_reader_see_all(r); // samples below the mark appended before it rose
    return r;
}

static void
s_key(unsigned char k[16], uint64_t key, uint64_t id)
{
    fw_bytes_put_u64be(k, key);
    fw_bytes_put_u64be(k + 8, id);
}

static void
s_decode(const MDB_val *v, struct tsdb_store_late *out)
{
    const unsigned char *p = v->mv_data;
    out->mint = (int64_t)fw_bytes_get_u64be(p);
    out->maxt = (int64_t)fw_bytes_get_u64be(p + 8);
    out->gen = fw_bytes_get_u64be(p + 16);
}

int
tsdb_store_late_list(tsdb_store_reader_t *r, uint64_t key, uint64_t mod, uint64_t rem,
                     uint64_t *after, struct tsdb_store_late *out, size_t max, size_t *n,
                     fw_err_t *err)
{
    *n = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(r->txn, r->store->late_db, &cur);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "late records", rc);
    unsigned char kb[16];
    s_key(kb, key, *after + 1);
    MDB_val k = {16, kb}, v;
    uint64_t last = *after;
    bool end = *after == UINT64_MAX;
    rc = end ? MDB_NOTFOUND : mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (size_t seen = 0; rc == 0 && *n < max; seen++) {
        if (k.mv_size != 16 || fw_bytes_get_u64be(k.mv_data) != key) {
            rc = MDB_NOTFOUND; // past key's records
            break;
        }
        if (seen == S_SCAN_MAX)
            break;
        last = fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8);
        if (v.mv_size == 24 && (mod < 2 || last % mod == rem)) {
            out[*n].id = last;
            s_decode(&v, &out[*n]);
            (*n)++;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return tsdb_store_int_lmdb_fail(err, "late records", rc);
    *after = rc == MDB_NOTFOUND ? 0 : last; // the end: the next call starts over
    return 0;
}

int
tsdb_store_late_done(tsdb_store_t *self, uint64_t key, const struct tsdb_store_late *recs, size_t n,
                     fw_err_t *err)
{
    if (n == 0)
        return 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "late records", rc);
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char kb[16];
        s_key(kb, key, recs[i].id);
        MDB_val k = {16, kb}, v;
        struct tsdb_store_late cur;
        rc = mdb_get(txn, self->late_db, &k, &v);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0 && v.mv_size == 24)
            s_decode(&v, &cur);
        // a commit widened it since it was read: its new samples are still to send
        if (rc == 0 && (v.mv_size != 24 || cur.gen == recs[i].gen))
            rc = mdb_del(txn, self->late_db, &k, NULL);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        return tsdb_store_int_lmdb_fail(err, "late records", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return tsdb_store_int_lmdb_fail(err, "late records commit", rc);
    return 0;
}

int
tsdb_store_late_keep(tsdb_store_t *self, const uint64_t *keys, size_t n, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    pthread_mutex_lock(&self->late_mu);
    int64_t max = INT64_MIN;
    for (int q = 0; q < TSDB_HEAD_MARKS; q++) {
        bool keep = false;
        for (size_t i = 0; i < n && !keep; i++)
            keep = self->late_keys[q] == keys[i];
        if (!keep) {
            self->late_keys[q] = 0;
            atomic_store(&self->late_marks.mark[q], INT64_MIN);
        }
        int64_t m = atomic_load(&self->late_marks.mark[q]);
        max = m > max ? m : max;
    }
    atomic_store(&self->late_marks.max, max);
    pthread_mutex_unlock(&self->late_mu);
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc == 0)
        rc = mdb_cursor_open(txn, self->late_db, &cur);
    MDB_val k, v;
    int got = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_FIRST) : rc;
    while (rc == 0 && got == 0) {
        uint64_t kk = k.mv_size == 16 ? fw_bytes_get_u64be(k.mv_data) : 0;
        bool keep = false;
        for (size_t i = 0; i < n && !keep; i++)
            keep = kk == keys[i];
        if (!keep)
            rc = mdb_cursor_del(cur, 0);
        // after a delete, LMDB's MDB_NEXT returns the record that followed it
        got = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_NEXT) : rc;
    }
    if (rc == 0 && got != MDB_NOTFOUND)
        rc = got;
    if (cur)
        mdb_cursor_close(cur);
    if (rc != 0) {
        if (txn)
            mdb_txn_abort(txn);
        return tsdb_store_int_lmdb_fail(err, "late records", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return tsdb_store_int_lmdb_fail(err, "late records commit", rc);
    return 0;
}

// ---------------------------------------------------------------------------------------
// The commit's part

void
tsdb_store_int_late_lock(tsdb_store_t *self)
{
    size_t n;
    tsdb_head_notes(self->head, &n);
    self->late_locked = n > 0;
    if (self->late_locked)
        pthread_mutex_lock(&self->late_mu);
}

void
tsdb_store_int_late_unlock(tsdb_store_t *self, bool committed)
{
    if (!self->late_locked)
        return;
    if (committed)
        tsdb_head_notes_clear(self->head);
    self->late_locked = false;
    pthread_mutex_unlock(&self->late_mu);
}

// Widen (or make) the record of key and id to [lo, hi], stamped gen.
static int
s_widen(tsdb_store_t *self, MDB_txn *txn, uint64_t key, uint64_t id, int64_t lo, int64_t hi,
        uint64_t gen)
{
    unsigned char kb[16], vb[24];
    s_key(kb, key, id);
    MDB_val k = {16, kb}, v;
    int rc = mdb_get(txn, self->late_db, &k, &v);
    if (rc == 0 && v.mv_size == 24) {
        struct tsdb_store_late old;
        s_decode(&v, &old);
        lo = old.mint < lo ? old.mint : lo;
        hi = old.maxt > hi ? old.maxt : hi;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        return rc;
    }
    fw_bytes_put_u64be(vb, (uint64_t)lo);
    fw_bytes_put_u64be(vb + 8, (uint64_t)hi);
    fw_bytes_put_u64be(vb + 16, gen);
    MDB_val nv = {24, vb};
    return mdb_put(txn, self->late_db, &k, &nv, 0);
}

int
tsdb_store_int_late_put(tsdb_store_t *self, MDB_txn *txn)
{
    if (!self->late_locked)
        return 0;
    size_t n;
    const struct tsdb_head_note *notes = tsdb_head_notes(self->head, &n);
    uint64_t gen = (uint64_t)mdb_txn_id(txn);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct tsdb_head_note *no = &notes[i];
        for (int q = 0; q < TSDB_HEAD_MARKS && rc == 0; q++) {
            if (self->late_keys[q] == 0)
                continue;
            bool want = no->deferred ? atomic_load(&self->late_marks.mark[q]) >= no->lo
                                     : (no->mask >> q) & 1;
            if (want)
                rc = s_widen(self, txn, self->late_keys[q], no->id, no->lo, no->hi, gen);
        }
    }
    return rc;
}
