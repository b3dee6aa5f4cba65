/*  tsdb_store_open.c — opening the store: the environment, its checks, the log replay.

    tsdb_store_open (tsdb_store.h) refuses what it cannot serve with a reason saying what to
    do: a directory it cannot create, a data file that is damaged, truncated or not LMDB, a
    second process, another storage format. Formats 2 to 5 are upgraded in place (format 5's
    rollup records are moved into groups: tsdb_store_int_rollup_upgrade). Then the log
    written since the last checkpoint is replayed into the head, so the head is what it was
    at the last commit before anyone reads or writes.
*/
#include "tsdb_store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "fw_bytes.h"
#include "fw_lmdb.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_head.h"
#include "tsdb_index.h"
#include "tsdb_store_int.h"

static int s_replay(tsdb_store_t *self);

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
        (rc = mdb_dbi_open(txn, "late", MDB_CREATE, &self->late_db)) != 0 ||
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
    tsdb_head_notes_clear(self->head); // the replayed samples' late records are on disk
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
// s_chunks_sliced in tsdb_store_commit.c). A re-sealed chunk whose key the chunks table
// holds is marked as stored by the last commit, never written again: the stored one is the
// same chunk, or what a late sample merge or a tombstone clean made of it since, which a
// rewrite would undo. Left pending, it would also be read twice, from the head and from the
// snapshot, until the next commit.
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
            struct tsdb_head_series *s = tsdb_store_int_series_by_id(self, txn, id, &lrc);
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
