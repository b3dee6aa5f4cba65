/*  tsdb_store_int.h — private to the storage engine: the store's structs and shared helpers.

    Only tsdb_store*.c and tsdb_rollup*.c include this header (tsdb_store.c,
    tsdb_store_open.c, tsdb_store_append.c, tsdb_store_commit.c, tsdb_store_merge.c,
    tsdb_store_guard.c, tsdb_store_retain.c, tsdb_store_read.c, tsdb_store_tombs.c,
    tsdb_store_newest.c, tsdb_store_tail.c, tsdb_store_late.c, and the rollups, which live
    in the store's environment: tsdb_rollup.h; tsdb_store.c's opening comment says which
    file does what). Everyone else uses tsdb_store.h, where tsdb_store_t and
    tsdb_store_reader_t are opaque. The helpers here are the ones more than one of those
    files needs, named tsdb_store_int_*; each file keeps its own s_* statics.
*/
#ifndef TSDB_STORE_INT_H
#define TSDB_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_bytes.h"
#include "fw_err.h"
#include "tsdb_chunk.h"
#include "tsdb_head.h"
#include "tsdb_index.h"
#include "tsdb_store.h"
#include "tsdb_wal.h"

// Readers registered at once (LMDB's maxreaders for the environment).
#define TSDB_STORE_READERS 1024

struct tsdb_store {
    MDB_env *env;                                    // owned
    MDB_dbi meta, chunks, head_db, wal_db, tombs_db; // tombs_db: tsdb_store_tombs.c
    MDB_dbi rollups_db;                              // tsdb_rollup.h
    bool head_padded;    // head records end in padding (meta "head" = "padded"; see
                         // tsdb_store_int_head_val)
    atomic_bool st_seen; // a sample with a start time was appended, ever (meta "start_times")
    bool st_saved;       // meta "start_times" is written
    tsdb_index_t ix;
    uint64_t index_gen; // bumped by every series added to or removed from ix (tsdb_store.h)
    char *dir;          // owned
    size_t mapsize;
    tsdb_head_t *head;    // owned
    MDB_txn *rtxn;        // owned: the writer's read transaction for lookups, reset when idle
    uint64_t next_id;     // the next series id
    int lock_fd;          // data.mdb, flocked
    int guard;            // 1 + the guard slot watching the map (tsdb_store_guard.c), 0 none
    void *map;            // the start of LMDB's map, where the guard found it (NULL: unknown)
    unsigned char *state; // owned: what the last commit wrote (or open found)
    size_t state_len;
    unsigned char *pending; // owned: written by the next commit
    size_t pending_len;
    // a head series' labels for the writer (tsdb_head_labels): owned items, borrowed strings
    struct fw_labels view;
    bool has_pending;
    struct tsdb_chunk_app scratch; // late merges: re-encoding
    struct fw_sample *merge;       // owned: late merges: decoded samples
    size_t merge_cap;
    int64_t *merge_st; // owned: their start times (merge_st_cap of them)
    size_t merge_st_cap;
    const struct tsdb_head_sealed **chunk_order; // owned: s_put_sealed's key order
    size_t chunk_order_cap;
    tsdb_index_batch_t *index_batch; // owned: new series, put in key order (s_index_new)
    // retention: where the next call resumes
    int ret_phase;         // 0 chunks, 1 head
    uint64_t *ret_emptied; // owned: series a retention pass deleted from, to check for removal
    size_t n_ret_emptied, cap_ret_emptied;
    _Atomic uint64_t series_removed; // series retention removed from the index
    struct s_store_policy {
        struct fw_matcher *ms; // owned
        size_t n;
        int64_t keep_ms;
    } * policies; // owned: per-matcher retention, first match wins
    size_t n_policies;
    const struct tsdb_store_cutoffs *ret_cut; // the step's cutoffs, during tsdb_store_retain
    uint64_t ret_cut_id;                      // the series ret_cut_ms is for (0: none yet)
    int64_t ret_cut_ms;
    unsigned char ret_key[16];
    size_t ret_key_len;
    _Atomic bool writable;
    _Atomic uint64_t damaged, late_dups, late_conflicts, commits, commit_failures;
    void *refs;                       // owned: every sender's refs (tsdb_store_refs.c)
    struct tsdb_store_cache **caches; // owned: open addressing by key, NULL empty
    size_t caches_mask;               // capacity - 1, or 0 before the first
    size_t n_caches;
    // the write-ahead log (tsdb_store.h "Durability"); off: every commit is a checkpoint
    bool wal_on;
    bool checkpoint_due;     // the next commit is a checkpoint
    size_t wal_max_bytes;    // log bytes after which a commit is a checkpoint anyway
    size_t wal_bytes;        // log bytes written since the last checkpoint
    uint64_t wal_seq;        // the key of the next log record
    struct tsdb_wal_buf wal; // the next log record: what was appended since the last commit
    _Atomic uint64_t checkpoints, wal_records;
    // readers: the head lock, and each live reader's snapshot txn (tsdb_head.h, "Readers")
    pthread_mutex_t head_mu; // held by the writer while it changes the head, by a reader
                             // while it copies from it
    pthread_mutex_t readers_mu;
    void (*read_hook)(void *arg, uint64_t id); // tsdb_store_set_read_hook (tests)
    void *read_hook_arg;
    // damaged rollup pages queries found, for the rollup writer to write again
    pthread_mutex_t rollup_mu;
    struct s_rollup_fix {
        uint64_t id;
        int64_t t;
    } rollup_fix[16];
    size_t n_rollup_fix;
    uint64_t reader_txn[TSDB_STORE_READERS]; // 0: starting (holds everything), UINT64_MAX: free
    // late samples for remote-write readers (tsdb_store_late.c)
    MDB_dbi late_db;
    pthread_mutex_t late_mu;                  // a watcher's mark and snapshot against commits
    struct tsdb_head_marks late_marks;        // the head notes appends against these
    uint64_t late_keys[TSDB_STORE_LATE_KEYS]; // under late_mu: each slot's key, 0 free
    bool late_locked;                         // the writer holds late_mu for this commit
};

// Position in a sender's batches -> head series (see tsdb_store_cache in tsdb_store.h).
struct tsdb_store_cache {
    uint64_t key;
    uint64_t epoch; // the head's epoch the entries were taken in
    int64_t used_ms;
    struct tsdb_head_series **at; // owned array of borrowed series (NULL: unknown)
    size_t n;
};

struct tsdb_store_reader {
    tsdb_store_t *store;            // borrowed
    MDB_txn *txn;                   // owned
    MDB_cursor *cur;                // owned: on chunks, shared by the reader's iterators
    uint64_t txn_id;                // the snapshot: the last write txn it sees
    uint64_t visible;               // the last batch it sees (tsdb_head_visible at start)
    size_t slot;                    // in store->reader_txn
    struct tsdb_head_view view;     // scratch for tsdb_head_view
    bool tombs;                     // the snapshot holds tombstones (delete_series)
    bool sealed_only;               // a write txn's reader: sealed chunks only, no head
                                    // (tsdb_store_int_reader_wrap)
    struct tsdb_store_block *block; // owned list: copies of head chunks, stable while the
                                    // reader lives (iterators point into them)
};

// A block of head chunk copies owned by a reader (tsdb_store_int_head_chunks).
struct tsdb_store_block {
    struct tsdb_store_block *next;
    size_t len, cap;
    unsigned char bytes[];
};
// ---------------------------------------------------------------------------------------
// Keys

static inline uint64_t
tsdb_store_int_flip(int64_t t)
{
    return (uint64_t)t ^ 0x8000000000000000ULL;
}

static inline int64_t
tsdb_store_int_unflip(uint64_t u)
{
    return (int64_t)(u ^ 0x8000000000000000ULL);
}

static inline void
tsdb_store_int_chunk_key(unsigned char key[16], uint64_t id, uint64_t flipped_mint)
{
    fw_bytes_put_u64be(key, id);
    fw_bytes_put_u64be(key + 8, flipped_mint);
}

// fw_err_set(err, "lmdb <what>: <reason>") and -1.
// tsdb_store_refs.c: free every sender's refs (at destroy).
void tsdb_store_int_refs_free(tsdb_store_t *self);
// Find or create the series of labels and append samples[0..n) to it, under the head lock,
// logged as every append (tsdb_store_append_series). The series, or NULL with err.
struct tsdb_head_series *tsdb_store_int_series_append(tsdb_store_t *self,
                                                      const struct fw_labels *labels,
                                                      const struct fw_sample *samples, size_t n,
                                                      struct tsdb_store_stats *st, fw_err_t *err);
// Append samples[0..n) to s (the head lock held), logged.
void tsdb_store_int_append(tsdb_store_t *self, struct tsdb_head_series *s,
                           const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st);
// tsdb_store_append.c: the head series with this id, in the head or read back from the
// index in txn (borrowed) and loaded into the head (the log names series by id); the head
// owns it. NULL when the index does not hold it, *rc then saying why: MDB_NOTFOUND, an
// LMDB error, or TSDB_INDEX_EDAMAGED. The writer's (the log replay at open).
struct tsdb_head_series *tsdb_store_int_series_by_id(tsdb_store_t *self, MDB_txn *txn, uint64_t id,
                                                     int *rc);
// tsdb_store_merge.c: merge s's late samples into its stored chunks in write txn txn (a
// stored sample wins a tie, counted in late_dups or late_conflicts; a damaged stored chunk
// is kept and reported, the late samples into it counted as conflicts), and lower its
// rollup mark below the first of them. The commit's (s_write_head). 0 or an LMDB error.
int tsdb_store_int_merge_late(tsdb_store_t *self, MDB_txn *txn, const struct tsdb_head_series *s);
int tsdb_store_int_lmdb_fail(fw_err_t *err, const char *what, int rc);

// Count a damaged chunk or series record and log it (the first ones, then a sample). txn
// (may be NULL) is used to name the series' labels.
void tsdb_store_int_report_damage(tsdb_store_t *self, MDB_txn *txn, uint64_t id, const char *what,
                                  int64_t mint, int code);

// The open chunk in head record v (in place): strips a padded record's padding.
void tsdb_store_int_head_val(const tsdb_store_t *self, MDB_val *v);

// Register r and begin its read transaction (r->txn, r->txn_id, r->slot); then end it:
// unregister and free its copies (the caller aborts the transaction). An LMDB error, or
// MDB_READERS_FULL.
int tsdb_store_int_reader_begin(tsdb_store_t *self, tsdb_store_reader_t *r);
void tsdb_store_int_reader_end(tsdb_store_t *self, tsdb_store_reader_t *r);

// Series id's chunks newer than the reader's stored ones: the head's kept chunks the
// reader's snapshot lacks and its open chunk, or, when the head does not hold the series,
// its stored open chunk. *p (n chunks, each a 4-byte little-endian length and the bytes)
// stays valid while the reader lives. *maxt: the reader reads none of the series' samples
// after it (batches it must not see, tsdb_head.h "Batches"; INT64_MAX: no bound). 0, or an
// LMDB error.
int tsdb_store_int_head_chunks(tsdb_store_reader_t *r, uint64_t id, const unsigned char **p,
                               size_t *len, int64_t *maxt);

// A failed write transaction: counted; a full map or disk makes the store read-only.
// Fills err and returns -1.
int tsdb_store_int_commit_fail(tsdb_store_t *self, fw_err_t *err, const char *what, int rc);

// Damaged data files (tsdb_store_guard.c). Watch the store: mode 0 stops, 1 names it for
// faults in LMDB's code (while its map is not known yet), 2 also watches its map and sets
// self->map to its start (LMDB does not say where it is).
void tsdb_store_int_guard_set(tsdb_store_t *self, int mode);
// LMDB's assert callback (mdb_env_set_assert): logs that the data file is damaged.
void tsdb_store_int_assert(MDB_env *env, const char *msg);

// Tombstones (tsdb_store_tombs.c): note whether a reader's snapshot holds any; load an
// iterator's series' record; drop the covered samples of t[lo..hi) (v alike), returning the
// new end.
void tsdb_store_int_tombs_reader(tsdb_store_reader_t *r);
void tsdb_store_int_tombs_load(struct tsdb_store_iter *it);
unsigned tsdb_store_int_tombs_filter(const struct tsdb_store_iter *it, int64_t *t, double *v,
                                     int64_t *st, unsigned lo, unsigned hi);

// A reader on write transaction txn (borrowed) that iterates sealed chunks only (never the
// head): the rollup writer's. 0 or an LMDB error; unwrap closes its cursor.
int tsdb_store_int_reader_wrap(tsdb_store_t *self, MDB_txn *txn, tsdb_store_reader_t *r);
void tsdb_store_int_reader_unwrap(tsdb_store_reader_t *r);

// Late samples (tsdb_store_late.c): set up and free the watch slots (tsdb_store_new,
// destroy); around a commit's write txn, hold late_mu when the head has notes (lock), write
// their records into txn (put), then release it, forgetting the notes when committed.
void tsdb_store_int_late_init(tsdb_store_t *self);
void tsdb_store_int_late_fini(tsdb_store_t *self);
void tsdb_store_int_late_lock(tsdb_store_t *self);
int tsdb_store_int_late_put(tsdb_store_t *self, MDB_txn *txn);
void tsdb_store_int_late_unlock(tsdb_store_t *self, bool committed);

// Rollups (tsdb_rollup*.c; the layout is in tsdb_rollup.h). A page key (id: the group's);
// a series' mark
// (INT64_MIN: none; 0 or an LMDB error); lower the mark of series id below t (its buckets
// from the one holding t on are recomputed), in the caller's write txn: a late sample merged
// into a sealed chunk, a tombstone; drop all rollups of series id (removed from the index).
void tsdb_store_int_rollup_key(unsigned char key[17], uint64_t id, int level, int64_t page_start);
int tsdb_store_int_rollup_mark(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t *w);
// Group g's marks record key; its marks into w[0..TSDB_ROLLUP_GROUP) (INT64_MIN: none; a
// damaged record counts as none: those series' buckets are written again from their
// chunks). 0 or an LMDB error.
void tsdb_store_int_rollup_marks_key(unsigned char key[9], uint64_t g);
int tsdb_store_int_rollup_marks(tsdb_store_t *self, MDB_txn *txn, uint64_t g, int64_t *w);
int tsdb_store_int_rollup_lower(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t t);
int tsdb_store_int_rollup_drop(tsdb_store_t *self, MDB_txn *txn, uint64_t id);
// A reader found series id's rollup page starting at t damaged: queue it (at most 16; more
// are found again) for the writer, which lowers the series' mark below it and writes it
// again (tsdb_store_int_rollup_fixes, in its write txn).
void tsdb_store_int_rollup_damaged(tsdb_store_t *self, uint64_t id, int64_t t);
int tsdb_store_int_rollup_fixes(tsdb_store_t *self, MDB_txn *txn);
// Storage format 5's rollups (a record per page and per mark) moved into groups (format 6),
// in the caller's write txn (tsdb_store_open's); *moved: the records moved. 0 or an LMDB
// error.
int tsdb_store_int_rollup_upgrade(tsdb_store_t *self, MDB_txn *txn, uint64_t *moved);
// After a commit that rewrote rollups: LMDB never writes the pages a transaction allocated
// and freed again (its loose pages), so the data file may end before the meta's last page,
// which fw_lmdb_check_size refuses at the next open as a truncated file: extend the file
// over them (zeros: free pages), holding LMDB's writer lock so that no commit extends it
// meanwhile; not in a write transaction of the caller's. Failures are logged.
void tsdb_store_int_rollup_cover(tsdb_store_t *self);

#endif
