/*  tsdb_store.c — the storage engine: LMDB environment, commits, readers (see tsdb_store.h).

    The store glues three parts together: the index (tsdb_index.c: series and postings),
    the head (tsdb_head.c: open chunks in memory) and the chunk codec (tsdb_chunk.c). It
    owns the environment and its transactions: the open checks (format, truncation, a
    second process), the one write transaction per commit, the writer's short read
    transactions for index lookups of series the head does not hold yet, and the readers'
    snapshots. Chunk keys are 16 bytes: the series id, then the chunk's first timestamp
    with its sign bit flipped, both big-endian.

    A late-sample merge (commit) finds the stored chunk whose key is the greatest at or
    before the sample, takes every late sample up to the next chunk's key, decodes that
    chunk, merges (a stored sample wins a tie, counted as a late duplicate or conflict) and
    writes the result back as chunks of at most TSDB_CHUNK_MAX_SAMPLES, so keys stay the
    first timestamps and chunks never overlap.

    The rest of the engine lives beside this file, all sharing the private header
    tsdb_store_int.h: the read side (readers, selection, the iterator) in tsdb_store_read.c,
    retention, copy and sealing in tsdb_store_retain.c, and the last word on a damaged data
    file (fault handler, LMDB's assert callback) in tsdb_store_guard.c.
*/
#include "tsdb_store.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_bytes.h"
#include "fw_lmdb.h"
#include "fw_hash.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_head.h"
#include "tsdb_index.h"
#include "tsdb_store_int.h"

#define S_HEAD_PAD 16           // head records are padded to a multiple of this many bytes
#define S_CHECKPOINT_SLICE 4096 // open chunks or new series written per write txn
#define S_DAMAGE_LOG_FIRST 20   // damaged chunks logged one by one, then one in S_DAMAGE_LOG_EVERY
#define S_DAMAGE_LOG_EVERY 1000
// Sealed chunks written per write txn outside a checkpoint. Each goes after its series'
// stored chunks, so a txn dirties about one leaf page of `chunks` per chunk, and LMDB keeps
// the dirty pages of its largest txn allocated for good: 1024 chunks, about 4 MiB. All
// series of a scrape cut their chunks at once, so one commit can hold 100,000 of them.
#define S_CHUNK_SLICE 1024
#define S_INDEX_BATCH 4096 // new series sorted and put at once (about 1 MiB of index entries)

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

static int s_replay(tsdb_store_t *self);

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

// Which format does the environment hold? 0 ok (existing format 6; 2 to 5 with *upgrade
// set; or *fresh set for an empty one); -1 with err saying what to do.
static int
s_check_format(tsdb_store_t *self, bool *fresh, bool *upgrade, char from[8], fw_err_t *err)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    *fresh = false;
    *upgrade = false;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "read txn", rc);
    rc = mdb_dbi_open(txn, "meta", 0, &dbi);
    if (rc == 0) {
        MDB_val k = {6, (void *)"format"}, v;
        rc = mdb_get(txn, dbi, &k, &v);
        char fmt[32] = "";
        if (rc == 0)
            snprintf(fmt, sizeof(fmt), "%.*s", (int)(v.mv_size < 16 ? v.mv_size : 16),
                     (const char *)v.mv_data);
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND)
            goto format1; // format 1 kept only the ingest state in meta
        if (rc != 0)
            return tsdb_store_int_lmdb_fail(err, "format", rc);
        char want[8];
        snprintf(want, sizeof(want), "%d", TSDB_STORE_FORMAT);
        if (strcmp(fmt, want) == 0)
            return 0;
        if (strcmp(fmt, "2") == 0 || strcmp(fmt, "3") == 0 || strcmp(fmt, "4") == 0 ||
            strcmp(fmt, "5") == 0) {
            // format 2 is format 3 without a log, format 3 is format 4 without decimal
            // steps, format 4 is format 5 without rollups (the writer builds them from
            // the chunks), and format 5 keeps a record per rollup page and series (moved
            // into groups: tsdb_store_int_rollup_upgrade): upgraded at open
            *upgrade = true;
            snprintf(from, 8, "%s", fmt);
            return 0;
        }
        fw_err_set(err,
                   "data directory %s holds floorwatch storage format \"%s\"; this tsdb reads "
                   "format %d: run the tsdb release that wrote it, or move the directory away "
                   "to start empty",
                   self->dir, fmt, TSDB_STORE_FORMAT);
        return -1;
    }
    if (rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return tsdb_store_int_lmdb_fail(err, "format", rc);
    }
    // no meta: an empty environment, format 1, or not ours
    MDB_cursor *cur;
    MDB_val k, v;
    bool empty = true, samples = false;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0 &&
        (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            empty = false;
            samples |= k.mv_size == 7 && memcmp(k.mv_data, "samples", 7) == 0;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return tsdb_store_int_lmdb_fail(err, "format", rc);
    if (empty) {
        *fresh = true;
        return 0;
    }
    if (samples)
        goto format1;
    fw_err_set(err,
               "data directory %s holds an LMDB database that is not floorwatch storage: "
               "give --storage.tsdb.path another directory",
               self->dir);
    return -1;
format1:
    fw_err_set(err,
               "data directory %s holds floorwatch storage format 1 (one record per sample); "
               "this tsdb reads format %d: move it away (tsdb then starts empty) or run an "
               "older tsdb on it to query or export its data",
               self->dir, TSDB_STORE_FORMAT);
    return -1;
}

// The data file must hold every page LMDB's meta page says it has: a truncated copy would
// otherwise fault (SIGBUS) on the first read past its end.
int
tsdb_store_open(tsdb_store_t *self, const char *dir, fw_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    bool fresh, upgrade;
    char upgrade_from[8] = "";
    free(self->dir);
    self->dir = fw_strdup(dir);
    if (fw_lmdb_mkdir_p(dir) != 0) {
        fw_err_set(err, "cannot create storage directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (fw_lmdb_check_dir(dir, NULL, "floorwatch storage", "--storage.tsdb.path", err) != 0)
        return -1;
    if ((rc = mdb_env_create(&self->env)) != 0)
        return tsdb_store_int_lmdb_fail(err, "env_create", rc);
    mdb_env_set_maxdbs(self->env, 16);
    mdb_env_set_maxreaders(self->env, 1024); // one per concurrent query
    if ((rc = mdb_env_set_mapsize(self->env, self->mapsize)) != 0)
        goto fail_env;
    if ((rc = mdb_env_open(self->env, dir, MDB_NOTLS, 0644)) != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED) {
            fw_err_set(err,
                       "data file %s/data.mdb is damaged or not an LMDB database (%s): restore "
                       "it from a backup, or move the directory away to start empty",
                       dir, mdb_strerror(rc));
            goto fail_quiet;
        }
        goto fail_env;
    }
    mdb_env_set_assert(self->env, tsdb_store_int_assert);
    tsdb_store_int_guard_set(self, 1);
    if (mdb_env_get_fd(self->env, &self->lock_fd) != 0 ||
        flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fw_err_set(err, "data directory %s is in use by another process (tsdb or tsdb import)",
                   dir);
        self->lock_fd = -1;
        goto fail_quiet;
    }
    if (fw_lmdb_check_size(self->env, self->lock_fd, self->dir, err) != 0 ||
        s_check_format(self, &fresh, &upgrade, upgrade_from, err) != 0)
        goto fail_quiet;
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
        goto fail_env;
    unsigned c = fresh ? MDB_CREATE : 0;
    if ((rc = mdb_dbi_open(txn, "meta", c, &self->meta)) != 0 ||
        (rc = mdb_dbi_open(txn, "chunks", c, &self->chunks)) != 0 ||
        (rc = mdb_dbi_open(txn, "head", c, &self->head_db)) != 0 ||
        (rc = mdb_dbi_open(txn, "wal", MDB_CREATE, &self->wal_db)) != 0 ||
        (rc = mdb_dbi_open(txn, "tombstones", MDB_CREATE, &self->tombs_db)) != 0 ||
        (rc = mdb_dbi_open(txn, "rollups", MDB_CREATE, &self->rollups_db)) != 0 ||
        (rc = tsdb_index_open(&self->ix, txn, fresh)) != 0)
        goto fail_txn;
    uint64_t moved = 0;
    if (upgrade && strcmp(upgrade_from, "5") == 0 &&
        (rc = tsdb_store_int_rollup_upgrade(self, txn, &moved)) != 0)
        goto fail_txn;
    if (fresh || upgrade) {
        char f[8];
        snprintf(f, sizeof(f), "%d", TSDB_STORE_FORMAT);
        MDB_val k = {6, (void *)"format"}, v = {strlen(f), f};
        if ((rc = mdb_put(txn, self->meta, &k, &v, 0)) != 0)
            goto fail_txn;
    }
    if (fresh) {
        MDB_val hk = {4, (void *)"head"}, hv = {6, (void *)"padded"};
        if ((rc = mdb_put(txn, self->meta, &hk, &hv, 0)) != 0)
            goto fail_txn;
    }
    MDB_val hk = {4, (void *)"head"}, hv;
    self->head_padded = mdb_get(txn, self->meta, &hk, &hv) == 0 && hv.mv_size == 6 &&
                        memcmp(hv.mv_data, "padded", 6) == 0;
    MDB_val stk = {11, (void *)"start_times"}, stv;
    self->st_saved = mdb_get(txn, self->meta, &stk, &stv) == 0;
    atomic_store(&self->st_seen, self->st_saved);
    MDB_val sk = {5, (void *)"state"}, sv;
    if (mdb_get(txn, self->meta, &sk, &sv) == 0 && sv.mv_size > 0) {
        self->state = fw_malloc(sv.mv_size);
        memcpy(self->state, sv.mv_data, sv.mv_size);
        self->state_len = sv.mv_size;
    }
    uint64_t last;
    if ((rc = tsdb_index_last_id(&self->ix, txn, &last)) != 0)
        goto fail_txn;
    self->next_id = last + 1;
    MDB_val nk = {7, (void *)"next_id"}, nv;
    if (mdb_get(txn, self->meta, &nk, &nv) == 0 && nv.mv_size == 8 &&
        fw_bytes_get_u64be(nv.mv_data) > self->next_id)
        self->next_id = fw_bytes_get_u64be(nv.mv_data); // ids of removed series stay used
    if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        goto fail_env;
    }
    tsdb_store_int_guard_set(self, 2);
    if (moved > 0)
        tsdb_store_int_rollup_cover(self);
    if (upgrade)
        fw_info("tsdb.storage.upgrade", "dir=%s from=%s to=%d rollup_records_moved=%llu", dir,
                upgrade_from, TSDB_STORE_FORMAT, (unsigned long long)moved);
    if ((rc = s_replay(self)) != 0) {
        fw_err_set(err, "lmdb replaying the log in %s: %s", dir, mdb_strerror(rc));
        goto fail_quiet;
    }
    return 0;
fail_txn:
    mdb_txn_abort(txn);
fail_env:
    fw_err_set(err, "lmdb open %s: %s", dir, mdb_strerror(rc));
fail_quiet:
    tsdb_store_int_guard_set(self, 0);
    mdb_env_close(self->env); // also releases the flock with the file
    self->env = NULL;
    self->lock_fd = -1;
    return -1;
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
// Writing: the head

// The writer's read transaction, renewed for a lookup; tsdb_store_append_series resets it.
static int
s_rtxn(tsdb_store_t *self, MDB_txn **out)
{
    int rc = self->rtxn ? mdb_txn_renew(self->rtxn)
                        : mdb_txn_begin(self->env, NULL, MDB_RDONLY, &self->rtxn);
    *out = self->rtxn;
    return rc;
}

// The newest stored sample of series id when it has no open chunk on disk: the last
// sealed chunk's last sample.
static void
s_load_last_sealed(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *s)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, self->chunks, &cur) != 0)
        return;
    unsigned char key[16];
    tsdb_store_int_chunk_key(key, s->id + 1, 0);
    MDB_val k = {16, key}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == s->id) {
        int64_t kmint =
            tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
        struct tsdb_chunk_iter it;
        struct tsdb_chunk_info info;
        bool any = false;
        struct fw_sample last = {0, 0};
        tsdb_chunk_iter_init(&it, v.mv_data, v.mv_size);
        while (tsdb_chunk_iter_next(&it)) {
            last = (struct fw_sample){it.t, it.v};
            any = true;
        }
        if (tsdb_chunk_iter_err(&it) == 0 && any) {
            tsdb_head_load_last(self->head, s, last.t_ms, last.v, true);
        } else {
            tsdb_store_int_report_damage(self, txn, s->id, "chunk", kmint,
                                         tsdb_chunk_iter_err(&it));
            bool hdr = tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0;
            tsdb_head_load_last(self->head, s, hdr ? info.maxt : kmint, 0, false);
        }
    }
    mdb_cursor_close(cur);
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

// A series found in the index but not in the head: reopen its open chunk, or learn its
// newest sample from its last sealed chunk.
static void
s_load_series(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *s)
{
    unsigned char idb[8];
    fw_bytes_put_u64be(idb, s->id);
    MDB_val k = {8, idb}, v;
    if (mdb_get(txn, self->head_db, &k, &v) == 0) {
        tsdb_store_int_head_val(self, &v);
        int rc = tsdb_head_load_open(self->head, s, v.mv_data, v.mv_size);
        if (rc == 0)
            return;
        struct tsdb_chunk_info info;
        bool hdr = tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0;
        tsdb_store_int_report_damage(self, txn, s->id, "open chunk", hdr ? info.mint : INT64_MIN,
                                     rc);
        if (hdr) {
            // the damaged open chunk is replaced by the next commit; its range stays closed
            tsdb_head_load_last(self->head, s, info.maxt, 0, false);
            s->dirty = false;
            return;
        }
    }
    s_load_last_sealed(self, txn, s);
}

// The head series with labels: found, read back from the index, or new. NULL with err.
static struct tsdb_head_series *
s_series(tsdb_store_t *self, const struct fw_labels *labels, struct tsdb_store_stats *st,
         fw_err_t *err)
{
    uint64_t hash = fw_labels_hash(labels);
    struct tsdb_head_series *s = tsdb_head_find(self->head, labels, hash);
    if (!s) {
        if (tsdb_index_check(labels, err) != 0)
            return NULL;
        MDB_txn *txn;
        uint64_t id;
        int rc = s_rtxn(self, &txn);
        if (rc == 0)
            rc = tsdb_index_find(&self->ix, txn, labels, hash, &id);
        if (rc == 0) {
            s = tsdb_head_add(self->head, labels, hash, id, false);
            s_load_series(self, txn, s);
        } else if (rc == MDB_NOTFOUND) {
            s = tsdb_head_add(self->head, labels, hash, self->next_id++, true);
            st->new_series++;
        }
        if (txn)
            mdb_txn_reset(txn);
        if (!s)
            (void)tsdb_store_int_lmdb_fail(err, "series lookup", rc);
    }
    return s;
}

// The head series with this id: in the head, or read back from the index (the log names
// series by id). NULL when the index does not hold it (*rc then says why: MDB_NOTFOUND, or
// an LMDB error, or TSDB_INDEX_EDAMAGED).
static struct tsdb_head_series *
s_series_by_id(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int *rc)
{
    struct tsdb_head_series *s = tsdb_head_find_id(self->head, id);
    if (s)
        return s;
    struct fw_labels l = FW_LABELS_INIT;
    *rc = tsdb_index_labels(&self->ix, txn, id, &l);
    if (*rc == 0) {
        uint64_t hash = fw_labels_hash(&l);
        s = tsdb_head_find(self->head, &l, hash);
        if (!s) {
            s = tsdb_head_add(self->head, &l, hash, id, false);
            s_load_series(self, txn, s);
        }
    }
    fw_labels_clear(&l);
    return s;
}

struct s_replay_ctx {
    tsdb_store_t *self;
    MDB_txn *txn;
};

// True when the chunks table already holds a chunk of c's series starting where c does.
static bool
s_replay_stored(void *arg, const struct tsdb_head_sealed *c)
{
    const struct s_replay_ctx *x = arg;
    unsigned char key[16];
    tsdb_store_int_chunk_key(key, c->id, tsdb_store_int_flip(c->mint));
    MDB_val k = {16, key}, v;
    return mdb_get(x->txn, x->self->chunks, &k, &v) == 0;
}

// Replay the log written since the last checkpoint into the head (at open, before anyone
// reads or writes): the head is then what it was at the last commit. The records stay
// until the next checkpoint, which writes their open chunks. A damaged record or a series
// the index lacks is reported and skipped. 0, or an LMDB error.
//
// The replay seals again every chunk that filled since the last checkpoint, and the commits
// since stored most of them (all but those of a commit's later slices a crash cut short,
// s_chunks_sliced). A re-sealed chunk whose key the chunks table holds is marked as stored
// by the last commit, never written again: the stored one is the same chunk, or what a late
// sample merge or a tombstone clean made of it since, which a rewrite would undo. Left
// pending, it would also be read twice, from the head and from the snapshot, until the
// next commit.
static int
s_replay(tsdb_store_t *self)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return rc;
    if ((rc = mdb_cursor_open(txn, self->wal_db, &cur)) != 0) {
        mdb_txn_abort(txn);
        return rc;
    }
    int64_t start = fw_time_mono_ms();
    size_t records = 0, samples = 0, damaged = 0, unknown = 0, cap = 0, st_cap = 0;
    struct fw_sample *buf = NULL;
    int64_t *sts = NULL;
    struct tsdb_store_stats st = {0};
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 8)
            self->wal_seq = fw_bytes_get_u64be(k.mv_data) + 1;
        struct tsdb_wal_iter it;
        tsdb_wal_iter_init(&it, v.mv_data, v.mv_size);
        uint64_t id;
        size_t n;
        while (tsdb_wal_next_st(&it, &id, &buf, &cap, &sts, &st_cap, &n)) {
            int lrc = 0;
            struct tsdb_head_series *s = s_series_by_id(self, txn, id, &lrc);
            if (!s) {
                if (lrc != MDB_NOTFOUND && lrc != TSDB_INDEX_EDAMAGED)
                    break;
                unknown++;
                continue;
            }
            tsdb_head_append_st(self->head, s, buf, sts, n, &st);
            samples += n;
        }
        if (tsdb_wal_iter_err(&it) != 0) {
            damaged++;
            fw_warn("tsdb.wal.damaged",
                    "dir=%s record=%llu err=%s: the samples after the "
                    "damage in this record are lost",
                    self->dir, (unsigned long long)(self->wal_seq - 1),
                    fw_strerror(tsdb_wal_iter_err(&it)));
        }
        self->wal_bytes += v.mv_size;
        records++;
    }
    free(buf);
    free(sts);
    mdb_cursor_close(cur);
    size_t resealed, stored = 0;
    tsdb_head_sealed(self->head, &resealed);
    if (rc == MDB_NOTFOUND && resealed > 0) {
        struct s_replay_ctx x = {self, txn};
        stored = tsdb_head_sealed_mark_stored(self->head, s_replay_stored, &x,
                                              (uint64_t)mdb_txn_id(txn));
        (void)tsdb_head_release(self->head, UINT64_MAX - 1); // no reader yet
    }
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND)
        return rc;
    if (records)
        fw_info("tsdb.wal.replay",
                "records=%zu samples=%zu series=%zu damaged_records=%zu unknown_series=%zu "
                "chunks_resealed=%zu chunks_already_stored=%zu ms=%lld",
                records, samples, tsdb_head_count(self->head), damaged, unknown, resealed, stored,
                (long long)(fw_time_mono_ms() - start));
    return 0;
}

int
tsdb_store_append_series(tsdb_store_t *self, const struct fw_labels *labels,
                         const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st,
                         fw_err_t *err)
{
    return tsdb_store_append_series_at(self, NULL, 0, labels, samples, n, st, err);
}

// ---------------------------------------------------------------------------------------
// Writing: series caches

#define S_CACHE_POS_MAX (1u << 20) // positions past this are not cached

static void
s_caches_put(tsdb_store_t *self, struct tsdb_store_cache *c)
{
    size_t i = (size_t)c->key & self->caches_mask;
    while (self->caches[i])
        i = (i + 1) & self->caches_mask;
    self->caches[i] = c;
}

// Rebuild the table with room for n caches, keeping those in old[0..old_cap) (taken).
static void
s_caches_rebuild(tsdb_store_t *self, size_t n)
{
    struct tsdb_store_cache **old = self->caches;
    size_t old_cap = old ? self->caches_mask + 1 : 0, cap = 16;
    while (cap < 2 * (n + 1))
        cap *= 2;
    self->caches = fw_calloc(cap, sizeof(*self->caches));
    self->caches_mask = cap - 1;
    for (size_t k = 0; k < old_cap; k++)
        if (old[k])
            s_caches_put(self, old[k]);
    free(old);
}

static void
s_cache_free(struct tsdb_store_cache *c)
{
    free(c->at);
    free(c);
}

tsdb_store_cache_t *
tsdb_store_cache(tsdb_store_t *self, uint64_t key, int64_t now_ms)
{
    if (self->caches)
        for (size_t i = (size_t)key & self->caches_mask; self->caches[i];
             i = (i + 1) & self->caches_mask)
            if (self->caches[i]->key == key) {
                self->caches[i]->used_ms = now_ms;
                return self->caches[i];
            }
    if (self->n_caches >= TSDB_STORE_CACHES) {
        int64_t oldest = INT64_MAX;
        for (size_t k = 0; k <= self->caches_mask; k++)
            if (self->caches[k] && self->caches[k]->used_ms < oldest)
                oldest = self->caches[k]->used_ms;
        (void)tsdb_store_cache_expire(self, oldest == INT64_MAX ? oldest : oldest + 1);
    }
    if (!self->caches || 2 * (self->n_caches + 1) > self->caches_mask + 1)
        s_caches_rebuild(self, self->n_caches + 1);
    struct tsdb_store_cache *c = fw_calloc(1, sizeof(*c));
    c->key = key;
    c->epoch = tsdb_head_epoch(self->head);
    c->used_ms = now_ms;
    s_caches_put(self, c);
    self->n_caches++;
    return c;
}

size_t
tsdb_store_cache_expire(tsdb_store_t *self, int64_t before_ms)
{
    size_t n = 0;
    for (size_t k = 0; self->caches && k <= self->caches_mask; k++)
        if (self->caches[k] && self->caches[k]->used_ms < before_ms) {
            s_cache_free(self->caches[k]);
            self->caches[k] = NULL;
            n++;
        }
    if (n) {
        self->n_caches -= n;
        s_caches_rebuild(self, self->n_caches); // no tombstones: re-place the rest
    }
    return n;
}

// The series cache holds at pos, or NULL (also when series were freed since it was filled).
static struct tsdb_head_series *
s_cached(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos)
{
    if (!cache || pos >= S_CACHE_POS_MAX)
        return NULL;
    uint64_t epoch = tsdb_head_epoch(self->head);
    if (cache->epoch != epoch) { // series were freed: no kept pointer can be trusted
        memset(cache->at, 0, cache->n * sizeof(*cache->at));
        cache->epoch = epoch;
    }
    return pos < cache->n ? cache->at[pos] : NULL;
}

const char *
tsdb_store_cache_text(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos, size_t *len,
                      size_t *nlabels)
{
    struct tsdb_head_series *s = s_cached(self, cache, pos);
    if (!s || s->n_labels == 0)
        return NULL;
    *len = s->text_len;
    *nlabels = s->n_labels;
    return s->text;
}

void
tsdb_store_cache_prefetch(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos)
{
    struct tsdb_head_series *s = s_cached(self, cache, pos);
    if (!s || !s->app.buf)
        return;
    __builtin_prefetch(s->app.buf, 1);
    __builtin_prefetch(s->app.buf + (s->app.nbits >> 3), 1);
}

static void s_append(tsdb_store_t *self, struct tsdb_head_series *s,
                     const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st);

void
tsdb_store_append_cached(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                         const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st)
{
    struct tsdb_store_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    pthread_mutex_lock(&self->head_mu);
    tsdb_store_append_cached_held(self, cache, pos, samples, n, st);
    pthread_mutex_unlock(&self->head_mu);
}

void
tsdb_store_hold(tsdb_store_t *self)
{
    pthread_mutex_lock(&self->head_mu);
}

void
tsdb_store_release(tsdb_store_t *self)
{
    pthread_mutex_unlock(&self->head_mu);
}

void
tsdb_store_append_cached_held(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                              const struct fw_sample *samples, size_t n,
                              struct tsdb_store_stats *st)
{
    struct tsdb_head_series *s = s_cached(self, cache, pos);
    if (s) // the caller's check made sure; a miss here is a caller bug, and appends nothing
        s_append(self, s, samples, n, st);
}

static int s_append_locked(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                           const struct fw_labels *labels, const struct fw_sample *samples,
                           size_t n, struct tsdb_store_stats *st, fw_err_t *err);

int
tsdb_store_append_series_at(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                            const struct fw_labels *labels, const struct fw_sample *samples,
                            size_t n, struct tsdb_store_stats *st, fw_err_t *err)
{
    struct tsdb_store_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    pthread_mutex_lock(&self->head_mu);
    int rc = s_append_locked(self, cache, pos, labels, samples, n, st, err);
    pthread_mutex_unlock(&self->head_mu);
    return rc;
}

// Append to series s, logging what was appended when the log is on.
static void
s_append(tsdb_store_t *self, struct tsdb_head_series *s, const struct fw_sample *samples, size_t n,
         struct tsdb_store_stats *st)
{
    tsdb_head_append(self->head, s, samples, n, st);
    if (self->wal_on)
        tsdb_wal_add(&self->wal, s->id, samples, n);
}

int
tsdb_store_append_series_st(tsdb_store_t *self, const struct fw_labels *labels,
                            const struct fw_sample *samples, const int64_t *start, size_t n,
                            struct tsdb_store_stats *st, fw_err_t *err)
{
    struct tsdb_store_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    for (size_t k = 0; start && k < n && !atomic_load(&self->st_seen); k++)
        if (start[k] != 0)
            atomic_store(&self->st_seen, true);
    pthread_mutex_lock(&self->head_mu);
    struct tsdb_head_series *s = s_series(self, labels, st, err);
    if (s) {
        tsdb_head_append_st(self->head, s, samples, start, n, st);
        if (self->wal_on)
            tsdb_wal_add_st(&self->wal, s->id, samples, start, n);
    }
    pthread_mutex_unlock(&self->head_mu);
    return s ? 0 : -1;
}

void
tsdb_store_int_append(tsdb_store_t *self, struct tsdb_head_series *s,
                      const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st)
{
    s_append(self, s, samples, n, st);
}

struct tsdb_head_series *
tsdb_store_int_series_append(tsdb_store_t *self, const struct fw_labels *labels,
                             const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st,
                             fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return NULL;
    }
    pthread_mutex_lock(&self->head_mu);
    struct tsdb_head_series *s = s_series(self, labels, st, err);
    if (s)
        s_append(self, s, samples, n, st);
    pthread_mutex_unlock(&self->head_mu);
    return s;
}

static int
s_append_locked(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                const struct fw_labels *labels, const struct fw_sample *samples, size_t n,
                struct tsdb_store_stats *st, fw_err_t *err)
{
    struct tsdb_head_series *cached = s_cached(self, cache, pos);
    if (cached && tsdb_head_labels_equal(cached, labels)) {
        s_append(self, cached, samples, n, st);
        return 0;
    }
    struct tsdb_head_series *s = s_series(self, labels, st, err);
    if (!s)
        return -1;
    s_append(self, s, samples, n, st);
    if (!cache || pos >= S_CACHE_POS_MAX)
        return 0;
    if (pos >= cache->n) {
        size_t cap = cache->n ? cache->n : 64;
        while (cap <= pos)
            cap *= 2;
        cache->at = fw_realloc(cache->at, cap * sizeof(*cache->at));
        memset(cache->at + cache->n, 0, (cap - cache->n) * sizeof(*cache->at));
        cache->n = cap;
    }
    cache->at[pos] = s;
    return 0;
}

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
s_put_chunk(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t mint, const void *p, size_t len)
{
    unsigned char key[16];
    tsdb_store_int_chunk_key(key, id, tsdb_store_int_flip(mint));
    MDB_val k = {16, key}, v = {len, (void *)p};
    return mdb_put(txn, self->chunks, &k, &v, 0);
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

// Merge s's late samples into its stored chunks (see the top of this file).
static int
s_merge_late(tsdb_store_t *self, MDB_txn *txn, const struct tsdb_head_series *s)
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
// chunks, any other commit one log record of what was appended.
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
        unsigned char kb[8];
        fw_bytes_put_u64be(kb, self->wal_seq);
        MDB_val k = {8, kb}, v = {self->wal.len, self->wal.p};
        rc = mdb_put(txn, self->wal_db, &k, &v, MDB_APPEND);
    }
    *what = "late sample merge";
    for (size_t k = 0; walk && k < np && rc == 0; k++)
        if (pending[k]->late && pending[k]->late->n > 0)
            rc = s_merge_late(self, txn, pending[k]);
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
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return tsdb_store_int_commit_fail(self, err, what, rc);
    uint64_t txn_id = (uint64_t)mdb_txn_id(txn);
    size_t n_sealed;
    if ((rc = s_write_head(self, txn, checkpoint, &what, &n_sealed)) != 0) {
        mdb_txn_abort(txn);
        return tsdb_store_int_commit_fail(self, err, what, rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return tsdb_store_int_commit_fail(self, err, "commit", rc);
    s_committed(self, txn_id, checkpoint, n_sealed);
    self->st_saved = atomic_load(&self->st_seen); // written by s_write_head when it was set
    if (!checkpoint && self->wal.len > 0) {
        self->wal_bytes += self->wal.len;
        self->wal_seq++;
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

// ---------------------------------------------------------------------------------------
// Readers: registration and the head's chunks

int
tsdb_store_int_reader_begin(tsdb_store_t *self, tsdb_store_reader_t *r)
{
    // Registered as 0 before the snapshot is taken: a commit meanwhile frees no kept chunk
    // this reader may still need.
    pthread_mutex_lock(&self->readers_mu);
    size_t k = 0;
    while (k < TSDB_STORE_READERS && self->reader_txn[k] != UINT64_MAX)
        k++;
    if (k < TSDB_STORE_READERS)
        self->reader_txn[k] = 0;
    pthread_mutex_unlock(&self->readers_mu);
    r->slot = k; // TSDB_STORE_READERS: none
    if (k == TSDB_STORE_READERS)
        return MDB_READERS_FULL;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &r->txn);
    pthread_mutex_lock(&self->readers_mu);
    self->reader_txn[k] = rc == 0 ? (uint64_t)mdb_txn_id(r->txn) : UINT64_MAX;
    pthread_mutex_unlock(&self->readers_mu);
    if (rc != 0)
        r->slot = TSDB_STORE_READERS;
    r->txn_id = rc == 0 ? (uint64_t)mdb_txn_id(r->txn) : 0;
    return rc;
}

void
tsdb_store_int_reader_end(tsdb_store_t *self, tsdb_store_reader_t *r)
{
    if (r->slot < TSDB_STORE_READERS) {
        pthread_mutex_lock(&self->readers_mu);
        self->reader_txn[r->slot] = UINT64_MAX;
        pthread_mutex_unlock(&self->readers_mu);
        r->slot = TSDB_STORE_READERS;
    }
    while (r->block) {
        struct tsdb_store_block *b = r->block;
        r->block = b->next;
        free(b);
    }
    free(r->view.p);
}

// Room for len bytes that stay put while the reader lives.
static unsigned char *
s_block_alloc(tsdb_store_reader_t *r, size_t len)
{
    struct tsdb_store_block *b = r->block;
    if (!b || b->cap - b->len < len) {
        size_t cap = len > ((size_t)64 << 10) ? len : ((size_t)64 << 10);
        b = fw_malloc(sizeof(*b) + cap);
        b->len = 0;
        b->cap = cap;
        b->next = r->block;
        r->block = b;
    }
    unsigned char *p = b->bytes + b->len;
    b->len += len;
    return p;
}

int
tsdb_store_int_head_chunks(tsdb_store_reader_t *r, uint64_t id, const unsigned char **p,
                           size_t *len)
{
    tsdb_store_t *self = r->store;
    *p = NULL;
    *len = 0;
    pthread_mutex_lock(&self->head_mu);
    bool held = tsdb_head_view(self->head, id, r->txn_id, &r->view);
    pthread_mutex_unlock(&self->head_mu);
    if (held) {
        if (r->view.len > 0) {
            unsigned char *d = s_block_alloc(r, r->view.len);
            memcpy(d, r->view.p, r->view.len);
            *p = d;
            *len = r->view.len;
        }
        return 0;
    }
    // Not in the head: nothing was appended since it was last stored.
    unsigned char idb[8];
    fw_bytes_put_u64be(idb, id);
    MDB_val k = {8, idb}, v;
    int rc = mdb_get(r->txn, self->head_db, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    tsdb_store_int_head_val(self, &v);
    unsigned char *d = s_block_alloc(r, v.mv_size + 4);
    fw_bytes_put_le(d, v.mv_size, 4);
    memcpy(d + 4, v.mv_data, v.mv_size);
    *p = d;
    *len = v.mv_size + 4;
    return 0;
}
