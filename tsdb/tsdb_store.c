/*  tsdb_store.c — the storage engine: the store's lifecycle and counters (see tsdb_store.h).

    The store glues three parts together: the index (tsdb_index.c: series and postings),
    the head (tsdb_head.c: open chunks in memory) and the chunk codec (tsdb_chunk.c). It
    owns the environment and its transactions: the open checks (format, truncation, a
    second process), the one write transaction per commit, the writer's short read
    transactions for index lookups of series the head does not hold yet, and the readers'
    snapshots. Chunk keys are 16 bytes: the series id, then the chunk's first timestamp
    with its sign bit flipped, both big-endian.

    This file holds the store object (new, the setters, destroy), the error and damage
    reports every part uses, and the counters. The engine's other parts live beside it,
    one job a file, all sharing the private header tsdb_store_int.h (the store's struct):
    - tsdb_store_open.c: open, the storage format checks and upgrades, the log replay;
    - tsdb_store_append.c: the writer's side of the head: series lookup, series caches,
      appends (logged for the next commit);
    - tsdb_store_commit.c: the commit: log records, sealed chunks, new series, the
      checkpoint of open chunks, all sliced into bounded write transactions;
    - tsdb_store_merge.c: late samples merged into stored chunks (part of a commit);
    - tsdb_store_read.c: the read side (readers, selection, the iterator);
    - tsdb_store_retain.c: retention, copy and sealing; tsdb_store_tombs.c: tombstones;
    - tsdb_store_late.c: records of samples stored after a remote-write queue read past
      their time (written by the commit, read and dropped by the queues);
    - tsdb_store_guard.c: the last word on a damaged data file (fault handler, LMDB's
      assert callback).
*/
#include "tsdb_store.h"

#include <lmdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_head.h"
#include "tsdb_index.h"
#include "tsdb_store_int.h"

#define S_DAMAGE_LOG_FIRST 20 // damaged chunks logged one by one, then one in S_DAMAGE_LOG_EVERY
#define S_DAMAGE_LOG_EVERY 1000

// ---------------------------------------------------------------------------------------
// Errors

int
tsdb_store_int_lmdb_fail(fw_err_t *err, const char *what, int rc)
{
    fw_err_set(err, "lmdb %s: %s", what, tsdb_index_strerror(rc));
    return -1;
}

// ---------------------------------------------------------------------------------------
// Damage reports

// Count a damaged chunk or series record and log it (the first ones, then a sample).
void
tsdb_store_int_report_damage(tsdb_store_t *self, MDB_txn *txn, uint64_t id, const char *what,
                             int64_t mint, int code)
{
    uint64_t n = atomic_fetch_add(&self->damaged, 1) + 1;
    if (n > S_DAMAGE_LOG_FIRST && n % S_DAMAGE_LOG_EVERY != 0)
        return;
    struct fw_labels l = FW_LABELS_INIT;
    char *labels = NULL;
    if (txn && strcmp(what, "series") != 0 && tsdb_index_labels(&self->ix, txn, id, &l) == 0)
        labels = fw_labels_format(&l);
    fw_labels_clear(&l);
    fw_warn("tsdb.chunk.damaged",
            "what=%s series_id=%llu labels=%s mint=%lld err=%s damaged_total=%llu", what,
            (unsigned long long)id, labels ? labels : "?", (long long)mint, fw_strerror(code),
            (unsigned long long)n);
    free(labels);
}

// ---------------------------------------------------------------------------------------
// Lifecycle

tsdb_store_t *
tsdb_store_new(void)
{
    tsdb_store_t *self = fw_calloc(1, sizeof(*self));
    self->mapsize = (size_t)8 << 30;
    self->next_id = 1;
    self->lock_fd = -1;
    self->head = tsdb_head_new();
    self->index_batch = tsdb_index_batch_new();
    tsdb_chunk_app_init(&self->scratch);
    atomic_init(&self->writable, true);
    self->wal_max_bytes = TSDB_STORE_WAL_MAX_BYTES;
    pthread_mutex_init(&self->head_mu, NULL);
    pthread_mutex_init(&self->readers_mu, NULL);
    pthread_mutex_init(&self->rollup_mu, NULL);
    for (size_t k = 0; k < TSDB_STORE_READERS; k++)
        self->reader_txn[k] = UINT64_MAX;
    tsdb_store_int_late_init(self);
    return self;
}

void
tsdb_store_set_wal(tsdb_store_t *self, bool on, size_t max_bytes)
{
    self->wal_on = on;
    self->wal_max_bytes = max_bytes ? max_bytes : TSDB_STORE_WAL_MAX_BYTES;
}

void
tsdb_store_checkpoint_next(tsdb_store_t *self)
{
    self->checkpoint_due = true;
}

void
tsdb_store_set_mapsize(tsdb_store_t *self, size_t bytes)
{
    self->mapsize = bytes;
}

int
tsdb_store_resize(tsdb_store_t *self, size_t bytes, fw_err_t *err)
{
    if (!self->env) {
        self->mapsize = bytes;
        return 0;
    }
    if (self->rtxn)
        mdb_txn_reset(self->rtxn);
    int rc = mdb_env_set_mapsize(self->env, bytes);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "resize", rc);
    self->mapsize = bytes;
    tsdb_store_int_guard_set(self, 2); // the map may have moved
    return 0;
}

void
tsdb_store_set_ooo_window(tsdb_store_t *self, int64_t ms)
{
    tsdb_head_set_ooo_window(self->head, ms);
}

void
tsdb_store_destroy(tsdb_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_store_t *self = *self_p;
    if (self->rtxn)
        mdb_txn_abort(self->rtxn);
    if (self->env) {
        tsdb_store_int_guard_set(self, 0);
        mdb_env_close(self->env);
    }
    (void)tsdb_store_cache_expire(self, INT64_MAX);
    free(self->caches);
    tsdb_store_int_refs_free(self);
    tsdb_head_destroy(&self->head);
    tsdb_wal_buf_clear(&self->wal);
    free(self->view.items);
    free(self->ret_emptied);
    tsdb_store_set_policies(self, NULL, 0);
    pthread_mutex_destroy(&self->head_mu);
    pthread_mutex_destroy(&self->readers_mu);
    pthread_mutex_destroy(&self->rollup_mu);
    tsdb_store_int_late_fini(self);
    tsdb_chunk_app_clear(&self->scratch);
    free(self->merge);
    free(self->merge_st);
    free(self->chunk_order);
    tsdb_index_batch_destroy(&self->index_batch);
    free(self->state);
    free(self->pending);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------------------
// Counters

ssize_t
tsdb_store_series_count(tsdb_store_t *self)
{
    MDB_txn *txn;
    if (!self->env || mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    ssize_t n = tsdb_index_count(&self->ix, txn);
    mdb_txn_abort(txn);
    return n;
}

uint64_t
tsdb_store_index_gen(const tsdb_store_t *self)
{
    return self->index_gen;
}

size_t
tsdb_store_head_series(tsdb_store_t *self)
{
    return tsdb_head_count(self->head);
}

void
tsdb_store_counters(tsdb_store_t *self, struct tsdb_store_counters *out)
{
    out->damaged_chunks = atomic_load(&self->damaged);
    out->late_duplicates = atomic_load(&self->late_dups);
    out->late_conflicts = atomic_load(&self->late_conflicts);
    out->commits = atomic_load(&self->commits);
    out->commit_failures = atomic_load(&self->commit_failures);
    out->checkpoints = atomic_load(&self->checkpoints);
    out->wal_records = atomic_load(&self->wal_records);
    out->series_removed = atomic_load(&self->series_removed);
}
