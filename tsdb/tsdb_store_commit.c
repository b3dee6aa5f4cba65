/*  tsdb_store_commit.c — the commit: the head's pending state into LMDB write transactions.

    A commit writes what was appended since the last one (tsdb_store.h, "Durability"): a
    log record of the samples (with the log off, every commit is a checkpoint instead), the
    chunks the head sealed, the new series into the index, the late samples merged into
    stored chunks (tsdb_store_merge.c), and the caller's state blob. A checkpoint writes the
    open chunks of the series that changed, padded so that most records are overwritten in
    place, and empties the log. LMDB keeps the dirty pages of its largest write transaction
    allocated for good, so big commits are sliced into bounded ones, each ordered so that a
    crash between slices loses and doubles nothing. A commit that fails leaves the samples
    in memory; a full map or disk makes the store read-only until a commit succeeds.
*/
#include "tsdb_store.h"

#include <assert.h>
#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fw_bytes.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_head.h"
#include "tsdb_index.h"
#include "tsdb_store_int.h"

#define S_HEAD_PAD 16           // head records are padded to a multiple of this many bytes
#define S_CHECKPOINT_SLICE 4096 // open chunks or new series written per write txn
// Sealed chunks written per write txn outside a checkpoint. Each goes after its series'
// stored chunks, so a txn dirties about one leaf page of `chunks` per chunk, and LMDB keeps
// the dirty pages of its largest txn allocated for good: 1024 chunks, about 4 MiB. All
// series of a scrape cut their chunks at once, so one commit can hold 100,000 of them.
#define S_CHUNK_SLICE 1024
#define S_INDEX_BATCH 4096 // new series sorted and put at once (about 1 MiB of index entries)

// ---------------------------------------------------------------------------------------
// Writing: the commit

static void
s_state_clear_pending(tsdb_store_t *self)
{
    free(self->pending);
    self->pending = NULL;
    self->pending_len = 0;
    self->has_pending = false;
}

void
tsdb_store_set_state(tsdb_store_t *self, const void *blob, size_t len)
{
    s_state_clear_pending(self);
    if (len) {
        self->pending = fw_malloc(len);
        memcpy(self->pending, blob, len);
    }
    self->pending_len = len;
    self->has_pending = true;
}

int
tsdb_store_get_state(tsdb_store_t *self, void **blob, size_t *len)
{
    *blob = NULL;
    *len = self->state_len;
    if (self->state_len) {
        *blob = fw_malloc(self->state_len);
        memcpy(*blob, self->state, self->state_len);
    }
    return 0;
}

static int
s_sealed_cmp(const void *a, const void *b)
{
    const struct tsdb_head_sealed *x = *(const struct tsdb_head_sealed *const *)a;
    const struct tsdb_head_sealed *y = *(const struct tsdb_head_sealed *const *)b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    return x->mint < y->mint ? -1 : x->mint > y->mint;
}

// Store sealed[0..n) in key order. LMDB splits a full page in the middle unless told the
// key goes last (MDB_APPEND), so chunks put in arrival order (a series' open chunk sealed
// after every other series' full ones, as an import's last commit does) left leaf pages
// half to four fifths full. Keys past the table's last one are appended (pages filled
// whole); the others are put as before. The order is kept in chunk_order, reused.
static int
s_put_sealed(tsdb_store_t *self, MDB_txn *txn, const struct tsdb_head_sealed *sealed, size_t n)
{
    fw_mem_grow((void **)&self->chunk_order, &self->chunk_order_cap, n, sizeof(*self->chunk_order));
    const struct tsdb_head_sealed **order = self->chunk_order;
    for (size_t k = 0; k < n; k++)
        order[k] = &sealed[k];
    qsort(order, n, sizeof(*order), s_sealed_cmp);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    if (rc != 0)
        return rc;
    MDB_val lk, lv;
    bool appending = false;
    unsigned char last[16] = {0};
    rc = mdb_cursor_get(cur, &lk, &lv, MDB_LAST);
    if (rc == MDB_NOTFOUND)
        appending = true; // an empty table: every key goes last
    else if (rc == 0 && lk.mv_size == sizeof(last))
        memcpy(last, lk.mv_data, sizeof(last));
    rc = (rc == MDB_NOTFOUND) ? 0 : rc;
    for (size_t k = 0; k < n && rc == 0; k++) {
        unsigned char key[16];
        tsdb_store_int_chunk_key(key, order[k]->id, tsdb_store_int_flip(order[k]->mint));
        MDB_val kv = {16, key};
        MDB_val v = {order[k]->len, (void *)tsdb_head_sealed_bytes(self->head, order[k])};
        // a key sealed twice in one commit is put over itself (MDB_APPEND would refuse it)
        bool again = k > 0 && s_sealed_cmp(&order[k - 1], &order[k]) == 0;
        appending = appending || memcmp(key, last, sizeof(last)) > 0;
        rc = mdb_cursor_put(cur, &kv, &v, appending && !again ? MDB_APPEND : 0);
    }
    mdb_cursor_close(cur);
    return rc;
}

// s's labels for the index, in the writer's view (valid until the next call).
static const struct fw_labels *
s_labels(tsdb_store_t *self, const struct tsdb_head_series *s)
{
    tsdb_head_labels(s, &self->view);
    return &self->view;
}

// Index the new series among pending[*k..np), at most cap of them, and move *k past the
// last one looked at. They go through the store's batch (tsdb_index_batch_put: key order,
// pages filled), S_INDEX_BATCH series at a time to bound its memory.
static int
s_index_new(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *const *pending, size_t np,
            size_t *k, size_t cap)
{
    size_t n = 0;
    int rc = 0;
    for (; *k < np && n < cap && rc == 0; (*k)++) {
        if (!pending[*k]->is_new)
            continue;
        tsdb_index_batch_add(self->index_batch, pending[*k]->id, s_labels(self, pending[*k]),
                             pending[*k]->hash);
        n++;
        if (tsdb_index_batch_len(self->index_batch) >= S_INDEX_BATCH)
            rc = tsdb_index_batch_put(self->index_batch, &self->ix, txn);
    }
    if (rc == 0 && tsdb_index_batch_len(self->index_batch) > 0)
        rc = tsdb_index_batch_put(self->index_batch, &self->ix, txn);
    if (n > 0)
        self->index_gen++; // tsdb_store_index_gen: the count may change with this txn
    return rc;
}

// The open chunk in head record v (in place). A padded record (S_HEAD_PAD) is the chunk,
// zero bytes, and a last byte counting the bytes after the chunk, itself included: a commit
// then overwrites most records in place (LMDB moves nothing when the size stays), instead
// of deleting and inserting each one as its chunk grows by a byte. A damaged count leaves
// an empty chunk, which the chunk decoder reports as truncated.
void
tsdb_store_int_head_val(const tsdb_store_t *self, MDB_val *v)
{
    if (!self->head_padded)
        return;
    size_t pad = v->mv_size ? ((const unsigned char *)v->mv_data)[v->mv_size - 1] : 0;
    v->mv_size = pad > 0 && pad <= v->mv_size ? v->mv_size - pad : 0;
}

// Write the open chunks of pending[0..np) that changed since the last checkpoint; then, when
// drop_log, empty the log.
static int
s_write_checkpoint(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *const *pending,
                   size_t np, bool drop_log)
{
    // One cursor for every head record: the series of a batch come in ascending ids, and
    // LMDB then finds the next key on the leaf page the cursor is on, without a descent
    // from the root.
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, self->head_db, &cur);
    for (size_t k = 0; k < np && rc == 0; k++) {
        const struct tsdb_head_series *s = pending[k];
        if (!s->dirty)
            continue;
        unsigned char idb[8];
        fw_bytes_put_u64be(idb, s->id);
        MDB_val key = {8, idb};
        size_t len;
        const unsigned char *p = tsdb_chunk_app_bytes(&s->app, &len);
        if (len > 0 && self->head_padded) {
            size_t total = (len + S_HEAD_PAD) / S_HEAD_PAD * S_HEAD_PAD; // len + 1 .. len + 16
            MDB_val val = {total, NULL};
            if ((rc = mdb_cursor_put(cur, &key, &val, MDB_RESERVE)) == 0) {
                unsigned char *d = val.mv_data;
                memcpy(d, p, len);
                memset(d + len, 0, total - len - 1);
                d[total - 1] = (unsigned char)(total - len);
            }
        } else if (len > 0) {
            MDB_val val = {len, (void *)p};
            rc = mdb_cursor_put(cur, &key, &val, 0);
        } else {
            rc = mdb_del(txn, self->head_db, &key, NULL); // the cursor is adjusted by LMDB
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    if (rc == 0 && drop_log)
        rc = mdb_drop(txn, self->wal_db, 0); // empty it: the open chunks now hold it all
    return rc;
}

// Write everything the head holds for the commit into txn: a checkpoint writes the open
// chunks, any other commit log records of what was appended.
static int
s_write_head(tsdb_store_t *self, MDB_txn *txn, bool checkpoint, const char **what, size_t *n_sealed)
{
    size_t np, ns;
    struct tsdb_head_series *const *pending = tsdb_head_pending(self->head, &np);
    const struct tsdb_head_sealed *sealed = tsdb_head_sealed(self->head, &ns);
    int rc = 0;
    // Between checkpoints the pending series are all those with a changed open chunk: walk
    // them for new series and late samples only when there are some.
    bool walk = checkpoint || tsdb_head_pending_more(self->head);
    *what = "series write";
    size_t from = 0;
    if (walk)
        rc = s_index_new(self, txn, pending, np, &from, SIZE_MAX);
    *what = "chunk write";
    // a checkpoint empties the log, which holds the samples of chunks not yet stored: it
    // stores all of them; another commit the first slice (s_chunks_sliced does the rest)
    if (!checkpoint && ns > S_CHUNK_SLICE)
        ns = S_CHUNK_SLICE;
    *n_sealed = ns;
    if (rc == 0 && ns > 0)
        rc = s_put_sealed(self, txn, sealed, ns);
    if (checkpoint) {
        *what = "checkpoint write";
        if (rc == 0)
            rc = s_write_checkpoint(self, txn, pending, np, true);
    } else if (rc == 0 && self->wal.len > 0) {
        *what = "log write";
        // records of at most TSDB_WAL_RECORD_MAX bytes, under consecutive keys (tsdb_wal.h)
        size_t nrec = tsdb_wal_buf_records(&self->wal);
        for (size_t r = 0; r < nrec && rc == 0; r++) {
            unsigned char kb[8];
            size_t len;
            const unsigned char *p = tsdb_wal_buf_record(&self->wal, r, &len);
            fw_bytes_put_u64be(kb, self->wal_seq + r);
            MDB_val k = {8, kb}, v = {len, (void *)p};
            rc = mdb_put(txn, self->wal_db, &k, &v, MDB_APPEND);
        }
    }
    *what = "late sample merge";
    for (size_t k = 0; walk && k < np && rc == 0; k++)
        if (pending[k]->late && pending[k]->late->n > 0)
            rc = tsdb_store_int_merge_late(self, txn, pending[k]);
    *what = "late sample records";
    if (rc == 0)
        rc = tsdb_store_int_late_put(self, txn);
    *what = "state write";
    if (rc == 0 && !self->st_saved && atomic_load(&self->st_seen)) {
        MDB_val k = {11, (void *)"start_times"}, v = {1, (void *)"1"};
        rc = mdb_put(txn, self->meta, &k, &v, 0);
    }
    if (rc == 0 && self->has_pending) {
        MDB_val k = {5, (void *)"state"}, v = {self->pending_len, self->pending};
        rc = self->pending_len ? mdb_put(txn, self->meta, &k, &v, 0)
                               : mdb_del(txn, self->meta, &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    return rc;
}

int
tsdb_store_int_commit_fail(tsdb_store_t *self, fw_err_t *err, const char *what, int rc)
{
    atomic_fetch_add(&self->commit_failures, 1);
    if (rc == MDB_MAP_FULL) {
        atomic_store(&self->writable, false);
        fw_err_set(err,
                   "storage full: the LMDB map of %zu MiB in %s is full (%s); nothing of this "
                   "commit is stored, the samples wait in memory: raise "
                   "--storage.tsdb.map-size (and restart tsdb) or shorten retention",
                   self->mapsize >> 20, self->dir, what);
        return -1;
    }
    if (rc == ENOSPC || rc == EDQUOT || rc == EIO) {
        atomic_store(&self->writable, false);
        fw_err_set(err,
                   "cannot write %s/data.mdb: %s (%s); nothing of this commit is stored, the "
                   "samples wait in memory: free disk space",
                   self->dir, strerror(rc), what);
        return -1;
    }
    return tsdb_store_int_lmdb_fail(err, what, rc);
}

// The oldest snapshot a live reader holds (0 while one is starting; UINT64_MAX - 1 with
// none).
static uint64_t
s_oldest_reader(tsdb_store_t *self)
{
    uint64_t oldest = UINT64_MAX - 1;
    pthread_mutex_lock(&self->readers_mu);
    for (size_t k = 0; k < TSDB_STORE_READERS; k++)
        if (self->reader_txn[k] < oldest)
            oldest = self->reader_txn[k];
    pthread_mutex_unlock(&self->readers_mu);
    return oldest;
}

static int s_commit(tsdb_store_t *self, bool checkpoint, fw_err_t *err);

// Unmap the pages of data.mdb this process has touched (tsdb_store.h, "Memory"): they stay
// in the kernel's page cache, and the next access (a reader, the next write txn) maps them
// again without I/O. LMDB's map is a read-only shared file mapping (no MDB_WRITEMAP), so
// nothing is lost and readers in other threads are unaffected but for a minor fault.
static void
s_map_release(tsdb_store_t *self)
{
    MDB_envinfo info;
    MDB_stat st;
    if (!self->map || mdb_env_info(self->env, &info) != 0 || mdb_env_stat(self->env, &st) != 0)
        return;
    size_t len = ((size_t)info.me_last_pgno + 1) * st.ms_psize;
    if (madvise(self->map, len, MADV_DONTNEED) != 0)
        fw_warn("tsdb.storage.madvise", "error=\"%s\"", strerror(errno));
}

// After a commit or checkpoint that was LMDB write txn txn_id is durable.
static void
s_committed(tsdb_store_t *self, uint64_t txn_id, bool checkpoint, size_t n_sealed)
{
    pthread_mutex_lock(&self->head_mu);
    tsdb_head_committed(self->head, txn_id, checkpoint, n_sealed);
    (void)tsdb_head_release(self->head, s_oldest_reader(self));
    pthread_mutex_unlock(&self->head_mu);
    if (checkpoint) {
        self->wal_bytes = 0;
        self->checkpoint_due = false;
        atomic_fetch_add(&self->checkpoints, 1);
    }
    // the pages this commit read to copy them (a checkpoint: every open chunk's; new series:
    // the index's), and their neighbours the kernel mapped with them, are not needed again
    // until the next commit, and finding them again costs a minor fault each
    s_map_release(self);
    atomic_fetch_add(&self->commits, 1);
    atomic_store(&self->writable, true);
}

// A checkpoint of many series, in slices of S_CHECKPOINT_SLICE series a write txn, after a
// commit of everything else (a log record of the newest samples, sealed chunks, new series,
// the state): LMDB keeps the dirty pages of its largest write txn allocated for good, so one
// txn for every open chunk (100,000 series: tens of MiB) would stay in tsdb's memory. Only
// the last slice empties the log. A crash between slices leaves some open chunks on disk
// newer than the log that is replayed over them: the log's samples for those series are then
// duplicates or older than their newest, which replay skips, so nothing is lost or doubled.
static int
s_checkpoint_sliced(tsdb_store_t *self, fw_err_t *err)
{
    if (s_commit(self, false, err) != 0)
        return -1;
    size_t np;
    struct tsdb_head_series *const *pending = tsdb_head_pending(self->head, &np);
    uint64_t txn_id = 0;
    for (size_t off = 0; off < np || off == 0; off += S_CHECKPOINT_SLICE) {
        size_t n = np - off < S_CHECKPOINT_SLICE ? np - off : S_CHECKPOINT_SLICE;
        bool last = off + n >= np;
        MDB_txn *txn;
        int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
        if (rc != 0)
            return tsdb_store_int_commit_fail(self, err, "txn begin", rc);
        txn_id = (uint64_t)mdb_txn_id(txn);
        if ((rc = s_write_checkpoint(self, txn, pending + off, n, last)) != 0) {
            mdb_txn_abort(txn);
            return tsdb_store_int_commit_fail(self, err, "checkpoint write", rc);
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            return tsdb_store_int_commit_fail(self, err, "commit", rc);
        if (last)
            break;
        s_map_release(self); // a slice's pages, not the whole checkpoint's at once
    }
    s_committed(self, txn_id, true, 0);
    return 0;
}

// Add the pending new series to the index in write txns of S_CHECKPOINT_SLICE series each,
// before the commit that writes their samples, when there are more than that: the dirty
// pages of a txn adding the 100,000 series of a first scrape would stay allocated for good
// (see s_checkpoint_sliced). A crash before that commit leaves series in the index that have
// no samples yet; their senders resend the unacknowledged batches, which find them there.
static int
s_index_sliced(tsdb_store_t *self, fw_err_t *err)
{
    size_t np;
    struct tsdb_head_series *const *pending = tsdb_head_pending(self->head, &np);
    size_t k = 0;
    while (k < np) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
        if (rc != 0)
            return tsdb_store_int_commit_fail(self, err, "txn begin", rc);
        size_t start = k;
        rc = s_index_new(self, txn, pending, np, &k, S_CHECKPOINT_SLICE);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return tsdb_store_int_commit_fail(self, err, "series write", rc);
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            return tsdb_store_int_commit_fail(self, err, "commit", rc);
        s_map_release(self);
        for (size_t j = start; j < k; j++)
            tsdb_head_indexed(self->head, pending[j]);
    }
    return 0;
}

// Store the sealed chunks a commit left (s_write_head), S_CHUNK_SLICE a write txn. Their
// samples are in the log the commit holds (or in older records and the open chunk of the
// last checkpoint), so a crash between slices loses nothing: the replay seals the same
// chunks again, and the next commit stores them over the same keys.
static int
s_chunks_sliced(tsdb_store_t *self, fw_err_t *err)
{
    size_t ns;
    const struct tsdb_head_sealed *sealed;
    while ((sealed = tsdb_head_sealed(self->head, &ns)), ns > 0) {
        size_t n = ns < S_CHUNK_SLICE ? ns : S_CHUNK_SLICE;
        MDB_txn *txn;
        int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
        if (rc != 0)
            return tsdb_store_int_commit_fail(self, err, "txn begin", rc);
        uint64_t txn_id = (uint64_t)mdb_txn_id(txn);
        rc = s_put_sealed(self, txn, sealed, n);
        if (rc != 0) {
            mdb_txn_abort(txn);
            return tsdb_store_int_commit_fail(self, err, "chunk write", rc);
        }
        if ((rc = mdb_txn_commit(txn)) != 0)
            return tsdb_store_int_commit_fail(self, err, "commit", rc);
        pthread_mutex_lock(&self->head_mu);
        tsdb_head_sealed_committed(self->head, n, txn_id);
        (void)tsdb_head_release(self->head, s_oldest_reader(self));
        pthread_mutex_unlock(&self->head_mu);
        s_map_release(self);
    }
    return 0;
}

int
tsdb_store_commit(tsdb_store_t *self, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    assert(!tsdb_head_in_batch(self->head)); // tsdb_store_batch_begin: none inside a batch
    size_t n_new = 0, np;
    struct tsdb_head_series *const *pending = tsdb_head_pending(self->head, &np);
    for (size_t k = 0; tsdb_head_pending_more(self->head) && k < np; k++)
        n_new += pending[k]->is_new;
    if (n_new > S_CHECKPOINT_SLICE && s_index_sliced(self, err) != 0)
        return -1;
    bool checkpoint =
        !self->wal_on || self->checkpoint_due || self->wal_bytes >= self->wal_max_bytes;
    if (checkpoint && self->wal_on && np > S_CHECKPOINT_SLICE)
        return s_checkpoint_sliced(self, err);
    return s_commit(self, checkpoint, err);
}

// One write txn: a log record of what was appended since the last commit, or, for a
// checkpoint, the open chunks; and the rest of the head's pending state.
static int
s_commit(tsdb_store_t *self, bool checkpoint, fw_err_t *err)
{
    size_t np, ns;
    tsdb_head_pending(self->head, &np);
    tsdb_head_sealed(self->head, &ns);
    // Between checkpoints the pending list keeps the series whose open chunk changed: only
    // new data (a log record, sealed chunks, new series, late samples, the state) makes a
    // commit worth writing.
    if (!self->has_pending && ns == 0 && self->wal.len == 0 && (np == 0 || !checkpoint))
        return 0;
    MDB_txn *txn;
    const char *what = "txn begin";
    tsdb_store_int_late_lock(self); // until the records of late samples are durable
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0) {
        tsdb_store_int_late_unlock(self, false);
        return tsdb_store_int_commit_fail(self, err, what, rc);
    }
    uint64_t txn_id = (uint64_t)mdb_txn_id(txn);
    size_t n_sealed;
    if ((rc = s_write_head(self, txn, checkpoint, &what, &n_sealed)) != 0) {
        mdb_txn_abort(txn);
        tsdb_store_int_late_unlock(self, false);
        return tsdb_store_int_commit_fail(self, err, what, rc);
    }
    rc = mdb_txn_commit(txn);
    tsdb_store_int_late_unlock(self, rc == 0);
    if (rc != 0)
        return tsdb_store_int_commit_fail(self, err, "commit", rc);
    s_committed(self, txn_id, checkpoint, n_sealed);
    self->st_saved = atomic_load(&self->st_seen); // written by s_write_head when it was set
    if (!checkpoint && self->wal.len > 0) {
        self->wal_bytes += self->wal.len;
        self->wal_seq += tsdb_wal_buf_records(&self->wal);
        atomic_fetch_add(&self->wal_records, 1);
    }
    tsdb_wal_buf_reset(&self->wal);
    if (self->has_pending) {
        free(self->state);
        self->state = self->pending;
        self->state_len = self->pending_len;
        self->pending = NULL;
        s_state_clear_pending(self);
    }
    return s_chunks_sliced(self, err);
}

bool
tsdb_store_writable(tsdb_store_t *self)
{
    return atomic_load(&self->writable);
}
