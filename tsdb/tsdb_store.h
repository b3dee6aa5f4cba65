/*  tsdb_store.h — tsdb's storage engine: LMDB environment, write path, readers.

    Layout. One LMDB environment (the data directory: data.mdb, lock.mdb) holds seven named
    databases; every integer in a key is big-endian, so LMDB's byte order is numeric order,
    and a timestamp in a key has its sign bit flipped so negative times sort first:

        meta        "format"  -> "2" (ASCII): the storage format; see "Format" below
                    "state"   -> the ingest state blob (tsdb_store_set_state)
        series      u64 id                   -> label set      } the index:
        by_hash     u64 fw_labels_hash       -> u64 ids (dup)  } tsdb_index.h has the
        postings    name 0xff value          -> u64 ids (dup)  } encodings
        chunks      u64 id, i64 min t        -> a sealed chunk (tsdb_chunk.h format)
        head        u64 id                   -> the series' open chunk (tsdb_chunk.h format);
                                                when meta "head" is "padded" (directories
                                                created since), followed by zeros and a
                                                byte counting the bytes after the chunk (1
                                                to 16, to a multiple of 16), so that most
                                                commits overwrite the record in place
        rollups     u64 id, u8 level, ...    -> 5-minute and 1-hour aggregates and each
                                                series' mark (tsdb_rollup.h; format 5)

    A series' sealed chunks are adjacent and in time order, so its samples in a time range
    are one cursor walk over `chunks`, then its open chunk from `head`, whose samples are all
    newer. Chunks never overlap (late samples are merged, see tsdb_head.h). Keeping the open
    chunks in their own database keeps them dense: a commit rewrites one page per ~20 open
    chunks of series scraped together, instead of one page per series.

    Writing (one thread, tsdb's loop): tsdb_store_append_series() puts a series' samples
    into the in-memory head (tsdb_head.h): no disk access, except to look a series up in the
    index the first time it is seen after a start. tsdb_store_commit() writes, in one write
    transaction, every new series, the chunks sealed since the last commit, the late samples
    merged into their chunks, the ingest state blob and either the log records of the
    samples appended since the last commit (tsdb_wal.h: 120 KiB at most each) or, at a
    checkpoint, the current bytes of every open chunk that changed (emptying the log; see
    tsdb_store_set_wal), then commits; when it returns 0 all of it is durable (no
    MDB_NOSYNC: LMDB syncs the data file at commit). LMDB keeps the dirty pages of its
    largest write transaction allocated for good, so large commits are cut into slices, each
    its own transaction: more than 4096 new series go into the index first, more than 4096
    open chunks of a checkpoint come after the rest of it, and more than 1024 sealed chunks
    outside a checkpoint after the log record that holds their newest samples. A crash
    between slices loses nothing that was committed: the log replay rebuilds what the later
    slices held. The replay seals again the chunks the commits since the last checkpoint
    stored; those the chunks table already holds count as stored (never written
    again nor read twice), the others are written by the next commit. What is appended but
    not yet committed is lost on SIGKILL or power loss: acknowledge samples only after the
    commit that holds them returned 0. A start replays the log and reopens other open
    chunks lazily. Readers see what is committed and the head, so queries see a sample as
    soon as the batch that appended it ended (tsdb_store_batch_begin): a reader reads every
    series as of the last batch ended when it started, never part of a batch.

    Reading (any thread): the environment is opened with MDB_NOTLS, so each reader
    (tsdb_store_reader_new) is a short read transaction on a consistent snapshot that any
    thread may take; a reader and everything it returns belong to one thread at a time.
    Keep readers short: LMDB cannot reuse pages a live reader may still see.

    Memory. LMDB reads the pages a write transaction changes through its map (a read-only
    shared file mapping) before copying them, and the kernel maps their neighbours too, so
    every commit would leave pages in the process's resident set for good: after a minute of
    100,000 series, most of data.mdb (the index pages new series went into, every open
    chunk's page of each checkpoint), about 500 bytes a series. After each commit, and each
    slice of a sliced one, the store unmaps data.mdb's pages (madvise MADV_DONTNEED): they
    stay in the kernel's page cache, and whatever touches one again (the next commit, a
    reader) maps it back with a minor fault and no I/O.

    Format. The data directory says which format it holds (meta "format"). An empty
    directory is initialised with format 2; a directory holding format 1 (one LMDB record
    per sample, before chunks), an unknown format, a non-floorwatch LMDB or other files is
    refused at open with a message that says what to do; nothing is ever reset. A second
    process opening the same directory is refused (an flock on data.mdb).

    Failure modes:
    - Map full or disk full (MDB_MAP_FULL, ENOSPC, EIO at commit): the commit fails as a
      whole, nothing of it is stored (so nothing of it may be acknowledged), the head keeps
      every sample and the next commit retries. tsdb_store_writable() turns false until a
      commit succeeds, and the error says what to do: raise --storage.tsdb.map-size (or
      tsdb_store_resize the open store) or free disk space.
    - A damaged chunk (fails to decode): readers report it (log event=tsdb.chunk.damaged
      with the series id and labels, and tsdb_store_counters' damaged_chunks) and skip the
      rest of it; the samples before the damage are returned. Never a crash.
    - A damaged series record: skipped by selection and reported the same way.
    - A data file shorter than LMDB's last page (truncated copy) is refused at open. Other
      damage inside data.mdb cannot always be caught: LMDB keeps no page checksums and may
      fault on garbage. A fault in the map or in LMDB's code, and LMDB's own assertions, log
      event=tsdb.storage.damaged naming the file before the process dies (it never goes on
      with a damaged file); restore data.mdb from a backup.
    Functions return 0 or -1 with err set (the LMDB reason included); the caller logs.
*/
#ifndef TSDB_STORE_H
#define TSDB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "fw_sample.h"
#include "tsdb_chunk.h"
#include "tsdb_index.h"

// The storage format this build reads and writes (meta "format"). Format 4 adds the chunk
// value encoding 3 (decimal steps, tsdb_chunk.h), format 5 the rollups database
// (tsdb_rollup.h), format 6 keeps rollups in groups of series; formats 2 to 5 are upgraded
// at open.
#define TSDB_STORE_FORMAT 6

typedef struct tsdb_store tsdb_store_t;
typedef struct tsdb_store_reader tsdb_store_reader_t;

// One series found by tsdb_store_select().
struct tsdb_store_series {
    uint64_t id;
    struct fw_labels labels; // owned
};

// What tsdb_store_append_series did with samples; every call adds to these counts.
struct tsdb_store_stats {
    size_t samples;      // accepted into the head (in order, or late within the window)
    size_t late;         // of those, accepted through the out-of-order window
    size_t new_series;   // series created in the index (at the next commit)
    size_t out_of_order; // rejected: older than the series' newest ("out of order sample")
    size_t too_old;      // rejected: before the out-of-order window ("too old sample")
    size_t duplicates;   // same timestamp and value bits as the series' newest: a no-op
    size_t conflicts;    // rejected: same timestamp, other value ("duplicate sample for
                         // timestamp")
};

// Store-wide counters since open (any thread).
struct tsdb_store_counters {
    uint64_t damaged_chunks;  // chunks (and series records) found damaged by readers/writer
    uint64_t late_duplicates; // late samples a commit found already stored (same value)
    uint64_t late_conflicts;  // late samples a commit found stored with another value (kept)
    uint64_t commits;         // successful commits
    uint64_t commit_failures; // failed commits (all retried)
    uint64_t checkpoints;     // commits that wrote the open chunks (all, with the log off)
    uint64_t wal_records;     // commits that wrote log records instead
    uint64_t series_removed;  // series removed from the index by retention (no sample left)
};

// Log bytes after which a commit is a checkpoint even if none was asked for. It bounds the
// start-up replay: 16 MiB is about 1.4 million samples, replayed in about 0.6 s (100,000
// series), so a start stays under a second at any ingest rate.
#define TSDB_STORE_WAL_MAX_BYTES ((size_t)16 << 20)

// A store not yet opened; cannot fail.
tsdb_store_t *tsdb_store_new(void);
// Map size in bytes (before open; default 8 GiB).
void tsdb_store_set_mapsize(tsdb_store_t *self, size_t bytes);
// Resize the map of the open store, e.g. to retry a commit that found it full. No reader
// of this process may be alive. 0, or -1 with err.
int tsdb_store_resize(tsdb_store_t *self, size_t bytes, fw_err_t *err);
// The write-ahead log (see "Durability"): on, commits write a log record and only every
// checkpoint the open chunks; off (the default, e.g. for imports), every commit is a
// checkpoint. A commit is a checkpoint anyway once max_bytes (0: TSDB_STORE_WAL_MAX_BYTES)
// of log were written since the last. Before open.
void tsdb_store_set_wal(tsdb_store_t *self, bool on, size_t max_bytes);
// Make the next commit a checkpoint (the caller's clock: e.g. every 30 s).
void tsdb_store_checkpoint_next(tsdb_store_t *self);
// The out-of-order window in ms (0, the default, rejects late samples); any time.
void tsdb_store_set_ooo_window(tsdb_store_t *self, int64_t ms);
// Create dir if needed and open the store in it (see "Format"). 0, or -1 with err.
int tsdb_store_open(tsdb_store_t *self, const char *dir, fw_err_t *err);
// Close the store (NULL-safe; sets *self_p to NULL) WITHOUT committing: call
// tsdb_store_commit first to keep the head. No reader may be alive.
void tsdb_store_destroy(tsdb_store_t **self_p);

// --- writing (one thread) ---

// Apply samples[0..n) (borrowed; any order) of the series with these labels (borrowed,
// sorted by name as struct fw_labels keeps them) to the head, by the rules of tsdb_head.h,
// adding the counts to *st (may be NULL). Nothing is on disk before tsdb_store_commit.
// 0, or -1 with err when the series is refused as a whole and nothing of it was applied:
// a label set the index cannot hold (empty, invalid, a name longer than
// TSDB_INDEX_NAME_MAX) or an LMDB error looking it up.
int tsdb_store_append_series(tsdb_store_t *self, const struct fw_labels *labels,
                             const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st,
                             fw_err_t *err);

// tsdb_store_append_series with each sample's start time start[k] (0: none; start NULL:
// none at all), Prometheus's start timestamp (st-storage): kept in the chunks (tsdb_chunk.h
// encoding 4) and the log, and read back by tsdb_store_iter (st). Not cached: a sender's
// series with start times take this path whole.
int tsdb_store_append_series_st(tsdb_store_t *self, const struct fw_labels *labels,
                                const struct fw_sample *samples, const int64_t *start, size_t n,
                                struct tsdb_store_stats *st, fw_err_t *err);

// Whether a sample with a start time was ever stored here (kept in the data directory): the
// rollups hold no start times, so the calls whose answers depend on them (increase, rate,
// resets) read raw samples then (tsdb_rollup_eval.c). Any thread.
bool tsdb_store_reader_start_times(const tsdb_store_reader_t *r);

// Series caches, so that a scrape like the last one costs no label hashing and no head
// lookup: a sender sends a target's series in the same order scrape after scrape. A cache
// belongs to the batches whose first series' labels hash to key (fw_labels_hash) and maps a
// series' position in them to the head series seen there last time. A hit is checked by
// comparing the label sets in full, never trusted by hash alone; a miss takes the normal
// path and updates the cache. tsdb_store_cache() finds or creates the cache for key,
// stamped with now_ms; it is borrowed until tsdb_store_cache_expire() or the store is
// destroyed. At most TSDB_STORE_CACHES are kept (the one used longest ago goes first).
#define TSDB_STORE_CACHES 4096
typedef struct tsdb_store_cache tsdb_store_cache_t;
tsdb_store_cache_t *tsdb_store_cache(tsdb_store_t *self, uint64_t key, int64_t now_ms);
// tsdb_store_append_series for the series at position pos of a batch of cache (may be NULL:
// no cache), with the same results.
int tsdb_store_append_series_at(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                                const struct fw_labels *labels, const struct fw_sample *samples,
                                size_t n, struct tsdb_store_stats *st, fw_err_t *err);
// The label text of the series cache saw at position pos, if the head still holds it:
// "name\0value\0..." in name order, *len bytes, *nlabels pairs (borrowed until the head
// drops series: tsdb_store_head_gc, retention), or NULL. With tsdb_store_append_cached, a
// caller that can compare a series with this text cheaply (tsdb's ingest: the label bytes
// of a SAMPLES body) appends without building a label set.
const char *tsdb_store_cache_text(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                                  size_t *len, size_t *nlabels);
// Ask the CPU to fetch what appending to the series at pos of cache will touch (its open
// chunk's first and last bytes), so that a batch's appends, done after a pass over the
// whole batch, do not wait for memory one series at a time. A hint: nothing changes.
void tsdb_store_cache_prefetch(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos);
// Append samples[0..n) to the series at position pos of cache, whose text
// tsdb_store_cache_text just returned; the same rules and counts as
// tsdb_store_append_series.
void tsdb_store_append_cached(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                              const struct fw_sample *samples, size_t n,
                              struct tsdb_store_stats *st);
// Batches (isolation, README "Isolation"): the appends between tsdb_store_batch_begin and
// tsdb_store_batch_end are one batch, as Prometheus's appender Commit is one: a reader
// started before the end reads none of their in-order samples, one started after reads all
// of them, whichever thread and however the appends were locked. An append outside them is
// a batch of its own. Batches do not nest, and no commit may run inside one (the snapshot
// of a reader must hold no batch it does not see). Writer thread only; no allocation.
void tsdb_store_batch_begin(tsdb_store_t *self);
void tsdb_store_batch_end(tsdb_store_t *self);

// Test hook: fn(arg, id) runs on a reader's thread each time an iterator has just copied a
// series' chunks from the head (no lock held), so a test can append between two series of
// one query. NULL: none (the default). Before any reader.
void tsdb_store_set_read_hook(tsdb_store_t *self, void (*fn)(void *arg, uint64_t id), void *arg);

// Hold the head for a run of tsdb_store_append_cached_held calls (a batch's known series):
// one lock for the run instead of one per series; readers wait for the run. Release before
// any other call on the store.
void tsdb_store_hold(tsdb_store_t *self);
void tsdb_store_append_cached_held(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                                   const struct fw_sample *samples, size_t n,
                                   struct tsdb_store_stats *st);
void tsdb_store_release(tsdb_store_t *self);
// Forget the caches last used before before_ms; returns how many.
size_t tsdb_store_cache_expire(tsdb_store_t *self, int64_t before_ms);

// Series refs (SAMPLES v3, docs/wire.md "Series refs"): per sender incarnation, what each
// ref the sender defined names, so that a series sent as a bare ref costs no label bytes,
// no comparison and no lookup. A ref names the series of its last definition until the
// head frees that series (head GC, retention): then it is unknown, and the caller asks the
// sender for the labels again. Never another series: entries are checked by series id.
// Held in memory only; a restarted tsdb knows no refs.
#define TSDB_STORE_REF_MAX ((1u << 22) - 1) // the wire's largest ref (FW_SAMPLES_REF_MAX)
#define TSDB_STORE_REFS_SENDERS 10000       // sender tables kept; the longest unused goes
#define TSDB_STORE_REFS_BUDGET (1u << 24)   // slots of all tables (16 B each): 256 MiB
typedef struct tsdb_store_refs tsdb_store_refs_t;
// The refs of sender (borrowed string), found or created, stamped now_ms. Borrowed until
// tsdb_store_refs_expire (or the next tsdb_store_refs call for another new sender, when
// TSDB_STORE_REFS_SENDERS are kept) or the store is destroyed.
tsdb_store_refs_t *tsdb_store_refs(tsdb_store_t *self, const char *sender, int64_t now_ms);
// True when ref was defined (and is still valid, see above): a use may be appended.
bool tsdb_store_refs_known(const tsdb_store_refs_t *refs, uint32_t ref);
// The labels of ref's series made *view (tsdb_head_labels: the strings borrowed until the
// head frees the series, the items array the caller's, reused from call to call), or NULL:
// unknown, refused.
const struct fw_labels *tsdb_store_refs_labels(const tsdb_store_refs_t *refs, uint32_t ref,
                                               struct fw_labels *view);
// Fetch ahead what appending to ref's series touches, in two steps: its record (no load of
// it: call this for a whole batch first), then, once the record is in the cache, the ends of
// its open chunk (a few series ahead of the appends).
void tsdb_store_refs_prefetch(const tsdb_store_refs_t *refs, uint32_t ref);
void tsdb_store_refs_prefetch_chunk(const tsdb_store_refs_t *refs, uint32_t ref);
// Define ref (1..TSDB_STORE_REF_MAX) as labels and append samples[0..n) to that series, as
// tsdb_store_append_series. 0, or -1 with err: the series is refused, and so are later
// uses of ref until it is defined again.
int tsdb_store_append_series_ref(tsdb_store_t *self, tsdb_store_refs_t *refs, uint32_t ref,
                                 const struct fw_labels *labels, const struct fw_sample *samples,
                                 size_t n, struct tsdb_store_stats *st, fw_err_t *err);
// Append samples[0..n) to ref's series (known), under tsdb_store_hold. 0, or -1 when the
// ref's definition was refused (nothing appended).
int tsdb_store_append_ref_held(tsdb_store_t *self, const tsdb_store_refs_t *refs, uint32_t ref,
                               const struct fw_sample *samples, size_t n,
                               struct tsdb_store_stats *st);
// The most slots all refs tables may hold together (default TSDB_STORE_REFS_BUDGET): a
// table that would grow past it evicts those used longest ago; one that cannot fit alone
// refuses the definition (tsdb_store_append_series_ref's -1).
void tsdb_store_refs_set_budget(tsdb_store_t *self, size_t slots);
// Forget the refs of senders last seen before before_ms; returns how many senders.
size_t tsdb_store_refs_expire(tsdb_store_t *self, int64_t before_ms);

// Write everything appended since the last successful commit, and the state blob, in one
// transaction (see "Writing"). 0 when it is durable (also when there was nothing to
// write); -1 with err when nothing of it was stored, the head keeping it all for the next
// call.
int tsdb_store_commit(tsdb_store_t *self, fw_err_t *err);

// False after a commit failed for lack of space (map or disk full) until one succeeds:
// report not ready, acknowledge nothing. Any thread.
bool tsdb_store_writable(tsdb_store_t *self);

// The ingest state blob (borrowed: copied here; e.g. each sender's last sequence number),
// written by the next commit in the same transaction as the samples, so the state on disk
// always describes exactly what is stored. len 0 erases it.
void tsdb_store_set_state(tsdb_store_t *self, const void *blob, size_t len);
// What the last successful commit wrote, or what the open found on disk: *blob is a copy the
// caller frees (NULL and *len 0 when none was ever written). 0 or -1.
int tsdb_store_get_state(tsdb_store_t *self, void **blob, size_t *len);

// The bytes the data takes: every page of every database in use (freed pages, which LMDB
// reuses, not counted; the file keeps its size). 0, or -1 with err.
int tsdb_store_used_bytes(tsdb_store_t *self, uint64_t *bytes, fw_err_t *err);
// Retention by size: when the data takes more than limit bytes, move *cutoff (ms; only ever
// forward, and never past now_ms) from the oldest sample stored by a sixteenth of what is
// left to now, at least a minute; tsdb_store_delete_before at the new cutoff then frees it.
// *moved says whether it moved. 0, or -1 with err.
int tsdb_store_size_cutoff(tsdb_store_t *self, uint64_t limit, int64_t now_ms, int64_t *cutoff,
                           bool *moved, fw_err_t *err);
// Retention, in bounded steps: delete up to max_deletes sealed chunks whose newest sample
// is before cutoff_ms, visiting a bounded number of records and resuming where the previous
// call stopped; open chunks that old are deleted with their series' head entry, and a
// series left with nothing leaves the index. *deleted gets the count of chunks deleted.
// Retention policies are not applied (see tsdb_store_retain). 0 or -1.
int tsdb_store_delete_before(tsdb_store_t *self, int64_t cutoff_ms, size_t max_deletes,
                             size_t *deleted, fw_err_t *err);

// Per-matcher retention (storage.tsdb.fw_retention, a floorwatch extension): a series that
// matches all of a policy's matchers is kept keep_ms; the first policy it matches decides.
struct tsdb_store_policy {
    const struct fw_matcher *ms; // borrowed for the call: the store keeps copies
    size_t n;
    int64_t keep_ms; // > 0
};
// Replace the policies (n = 0: none).
void tsdb_store_set_policies(tsdb_store_t *self, const struct tsdb_store_policy *p, size_t n);
// The cutoffs of a retention step: a series is cut at its policy's now_ms - keep_ms, or at
// cutoff_ms when it matches none; never below floor_ms (retention by size).
struct tsdb_store_cutoffs {
    int64_t now_ms;    // INT64_MIN: the policies are not applied
    int64_t cutoff_ms; // INT64_MIN: series without a policy are kept (retention.time 0)
    int64_t floor_ms;  // INT64_MIN: none
};
// tsdb_store_delete_before with policies and a floor.
int tsdb_store_retain(tsdb_store_t *self, const struct tsdb_store_cutoffs *c, size_t max_deletes,
                      size_t *deleted, fw_err_t *err);

// delete_series: hide series ids[0..n)'s samples in [mint, maxt] from every reader from now
// on, as tombstones (one record a series; Prometheus's model): queries, federation and
// exports skip them. Safe beside the writer (its own write txn). 0, or -1 with err.
int tsdb_store_delete_series(tsdb_store_t *self, const uint64_t *ids, size_t n, int64_t mint,
                             int64_t maxt, fw_err_t *err);
// clean_tombstones: delete the tombstoned samples of sealed chunks from disk (a chunk wholly
// inside is deleted, one partly inside is written again without them) and drop the
// tombstones that covered nothing newer than the series' stored open chunk; those reaching
// into the open chunk stay until a later call finds it sealed. *cleaned gets the number of
// series whose tombstones went. 0, or -1 with err.
int tsdb_store_clean_tombstones(tsdb_store_t *self, size_t *cleaned, fw_err_t *err);

// Seal every open chunk now (see tsdb_head_seal_all): for imports and other writers whose
// series receive no more samples. The next commit stores them. Returns how many.
size_t tsdb_store_seal_all(tsdb_store_t *self);

// Write a compacted copy of what is committed (free pages dropped, pages refilled) into
// dst_dir, which must exist and hold no data.mdb; readers and the writer go on meanwhile
// (a read transaction is the snapshot). E.g. the end of an import: close, then swap the
// directories. 0, or -1 with err.
int tsdb_store_copy(tsdb_store_t *self, const char *dst_dir, fw_err_t *err);

// Forget head series with no sample since before_ms and nothing to commit (they are read
// back from disk if they return). Returns how many were dropped.
size_t tsdb_store_head_gc(tsdb_store_t *self, int64_t before_ms);

// Number of series stored, or -1 (a read transaction). Series in the head (loaded or new),
// any count.
ssize_t tsdb_store_series_count(tsdb_store_t *self);
// A number that changes whenever a write (commit, checkpoint, retention) may have added or
// removed stored series: the writer's thread counts them again (tsdb_store_series_count)
// only when it moved, rather than with a read transaction every tick.
uint64_t tsdb_store_index_gen(const tsdb_store_t *self);
size_t tsdb_store_head_series(tsdb_store_t *self);
// A snapshot of the counters (any thread).
void tsdb_store_counters(tsdb_store_t *self, struct tsdb_store_counters *out);

// --- reading (any thread) ---

// A read transaction on a consistent snapshot; keep it short. It reads the head as of the
// last batch ended when it started (see tsdb_store_batch_begin). NULL with err on failure.
tsdb_store_reader_t *tsdb_store_reader_new(tsdb_store_t *self, fw_err_t *err);
// Make r read everything appended to the head when it copies a series, batch ended or not,
// as readers did before batches: for remote-write senders, whose marks (tsdb_store_late_watch)
// count a sample appended before the mark rose as read, so one hidden from them by its batch
// would never be sent.
void tsdb_store_reader_see_all(tsdb_store_reader_t *r);
void tsdb_store_reader_destroy(tsdb_store_reader_t **self_p);

// Every series matching all matchers (an absent label matches as ""), in id order, found
// through the postings (tsdb_index.h). *out (caller frees with tsdb_store_series_free) and
// *n_out are set. Damaged series records are reported and skipped. 0 or -1.
int tsdb_store_select(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                      struct tsdb_store_series **out, size_t *n_out, fw_err_t *err);
void tsdb_store_series_free(struct tsdb_store_series *s, size_t n);
// The same selection one series at a time: fn(arg, id, labels) for each, labels borrowed
// until fn returns (decoded into one reused set, so a large selection costs no memory per
// series here). fn returns 0 to go on, -1 to stop: then -1 (fn's reason is its own).
// Damaged series are reported and skipped. 0, or -1 with err on a storage error.
typedef int tsdb_store_series_fn(void *arg, uint64_t id, const struct fw_labels *labels);
int tsdb_store_select_each(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                           tsdb_store_series_fn *fn, void *arg, fw_err_t *err);
// The same selection as ids only (sorted; the caller frees *ids). 0 or -1.
int tsdb_store_select_ids(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                          uint64_t **ids, size_t *n_ids, fw_err_t *err);
// The labels of series id into *out (cleared first). 0, or -1 with err (unknown, damaged).
int tsdb_store_series_labels(tsdb_store_reader_t *r, uint64_t id, struct fw_labels *out,
                             fw_err_t *err);

// An iterator over one series' samples with mint <= t <= maxt, in time order, stale markers
// included. It lives on the caller's stack (or in the caller's array), allocates nothing,
// copies nothing: it walks the chunk records with the reader's cursor and decodes each
// chunk as it goes, TSDB_STORE_ITER_BATCH samples at a time into its own buffer, skipping
// chunks outside the range by their header. Several iterators of one reader may be used in
// turn. Fields other than t and v are private.
#define TSDB_STORE_ITER_BATCH 32

// Where a reader of one series stopped decoding, kept by the caller between iterations (a
// remote-write shard reading each series' newest samples window after window): the last
// chunk it decoded to its end and the mark in it (tsdb_chunk.h, "Resuming"). Zero it to
// start; the iterator keeps it up to date.
struct tsdb_store_resume {
    struct tsdb_chunk_mark m;
    int64_t chunk_mint; // the marked chunk's first timestamp
    bool valid;
};

struct tsdb_store_iter {
    int64_t t; // the current sample, valid after next or seek returned true
    double v;
    int64_t st; // its start time, 0 for none (tsdb_store_append_series_st)

    tsdb_store_reader_t *r; // borrowed
    uint64_t id;
    int64_t mint, maxt;
    uint64_t next_key; // flipped min t of the next chunk record to look at
    struct tsdb_chunk_iter ci;
    int64_t chunk_mint;        // the current chunk's first timestamp
    int phase;                 // 0 sealed chunks, 1 the open chunk, 2 done
    bool in_chunk;             // ci is a chunk being read
    bool fresh;                // ci is not positioned yet: seek it to mint
    bool cur;                  // t and v hold a sample
    int err;                   // an LMDB error that ended it
    const unsigned char *tomb; // the series' tombstones: n_tomb pairs of int64 (mint, maxt),
    size_t n_tomb;             // little-endian, sorted; borrowed from the reader's snapshot
    const unsigned char *view; // phase 1: the head's chunks (tsdb_store_int_head_chunks)
    size_t view_len, view_off;
    struct tsdb_store_resume *res; // borrowed, or NULL (tsdb_store_iter_resume)
    // the decoded samples not yet returned, all in range: bt/bv[bi..bn), and their start
    // times in bst when has_st (a chunk with start times), else 0
    unsigned bi, bn;
    bool has_st;
    int64_t bt[TSDB_STORE_ITER_BATCH];
    double bv[TSDB_STORE_ITER_BATCH];
    int64_t bst[TSDB_STORE_ITER_BATCH];
};

// Position it before the first sample of series id in [mint, maxt]. Cannot fail.
void tsdb_store_iter_init(struct tsdb_store_iter *it, tsdb_store_reader_t *r, uint64_t id,
                          int64_t mint, int64_t maxt);
// The next sample (it->t, it->v, it->st). False at the end of the range, or on an LMDB error
// (tsdb_store_iter_err). A damaged chunk is reported and skipped, not an error. Inline: a
// sample already decoded costs a few loads; tsdb_store_iter_next_batch decodes the next ones.
bool tsdb_store_iter_next_batch(struct tsdb_store_iter *it);
static inline bool
tsdb_store_iter_next(struct tsdb_store_iter *it)
{
    if (it->bi < it->bn) {
        it->t = it->bt[it->bi];
        it->v = it->bv[it->bi];
        it->st = it->has_st ? it->bst[it->bi] : 0;
        it->bi++;
        return true;
    }
    return tsdb_store_iter_next_batch(it);
}
// Let it (just initialised) resume decoding a chunk where an earlier iterator of the same
// series stopped, when that chunk is still there and grew by appends only and everything
// decoded of it lies before it's mint; then record in *res where this one stops. Samples
// come out exactly as without it. res is borrowed for the iterator's life.
void tsdb_store_iter_resume(struct tsdb_store_iter *it, struct tsdb_store_resume *res);
// Move forward to the first sample with t >= x (never backwards; stays when the current
// one already is). False when there is none in the range.
bool tsdb_store_iter_seek(struct tsdb_store_iter *it, int64_t x);
// 0, or the LMDB error that ended the iteration (mdb_strerror).
int tsdb_store_iter_err(const struct tsdb_store_iter *it);

// What a remote-write receiver checks a request's samples against before it sends any to
// the writer (tsdb_rwrite.c): the series' newest in-order sample as the writer sees it now,
// and what a late sample is judged by (tsdb_head.h's rules).
struct tsdb_store_newest {
    bool has;           // the series exists and has an in-order sample
    bool v_known;       // v is that sample's value (false: a damaged chunk hid it)
    int64_t t;          // its timestamp, when has
    double v;           // its value, when v_known
    int64_t ooo_window; // storage.tsdb.out_of_order_time_window in ms (0: no late samples)
    int64_t head_maxt;  // the head's newest timestamp over all series (INT64_MIN: none)
};
// Fill *out for the series with labels l (sorted, no empty value): from the head under its
// lock when it holds the series, else from reader r's snapshot of the index and chunks (an
// unknown series: has false). The writer may append between this and the caller's write,
// as it may between a Prometheus appender's Append and Commit. 0, or -1 with err.
int tsdb_store_newest(tsdb_store_reader_t *r, const struct fw_labels *l,
                      struct tsdb_store_newest *out, fw_err_t *err);

// A remote-write shard's series, read window after window (tsdb_store_tail_read).
struct tsdb_store_tail {
    uint64_t id;                  // the series (the caller's)
    struct tsdb_store_resume res; // where its last read stopped: zero it to start; give it to
                                  // tsdb_store_iter_resume when reading it through an iterator
    const void *hs;               // private: the head series last found, valid in epoch
    uint64_t epoch;
};
// Called with each sample read: tails[k]'s (t, v), each series' in time order.
typedef void tsdb_store_tail_fn(void *arg, size_t k, int64_t t, double v);
// For each of tails[0..n): when everything of the series after from lies in the head's open
// chunk past its resume mark (the mark is in that chunk at or before from, and the chunk
// only grew since: tsdb_chunk_iter_resume's check), its samples with from < t <= to go to
// fn and the mark moves on, all under one hold of the head lock, decoded in place: no copy,
// no LMDB lookup. Otherwise slow[k] is set and nothing read: the caller reads that series
// through an iterator of r on [from + 1, to] with tails[k].res, which gives the same
// samples. Every series is slow when r's snapshot holds tombstones (the iterator hides what
// they cover). Samples later appended with a timestamp at or before a mark are not read,
// as with the iterator.
void tsdb_store_tail_read(tsdb_store_reader_t *r, struct tsdb_store_tail *tails, size_t n,
                          int64_t from, int64_t to, bool *slow, tsdb_store_tail_fn *fn, void *arg);

// --- late samples for remote-write readers (tsdb_store_late.c) ---
//
// A remote-write queue reads the store in windows of time; a sample stored with a timestamp
// at or below what the queue has already read (late within the out-of-order window, a
// backfill, an import, a remote write of old data, a delayed scrape) would never be read by
// it. So a queue watches under a key (nonzero; e.g. its name's hash) with a mark, the newest
// timestamp it has read up to: each commit that stores samples of a series at or below a
// watcher's mark records, in the same write transaction, "key: series id has such samples
// in [mint, maxt]" (database "late": one record per key and series, widened by later
// commits, so there are never more than series times watchers). The watcher lists its
// records, sends their samples, and drops each once the receiver answered. Records are as
// durable as their samples: a SIGKILL loses neither or both. At most TSDB_STORE_LATE_KEYS
// keys are watched at once.
#define TSDB_STORE_LATE_KEYS 64
struct tsdb_store_late {
    uint64_t id;  // the series
    int64_t mint; // its samples stored late lie in [mint, maxt]
    int64_t maxt; //
    uint64_t gen; // the commit that last widened the record (tsdb_store_late_done)
};
// Watch key (or keep watching it) with its mark raised to mark (never lowered). 0, or -1
// with err: key 0, or TSDB_STORE_LATE_KEYS other keys watched.
int tsdb_store_late_watch(tsdb_store_t *self, uint64_t key, int64_t mark, fw_err_t *err);
// tsdb_store_late_watch, then a reader (tsdb_store_reader_new), the two at once with
// respect to commits: what a commit stores after the reader's snapshot at or below mark is
// recorded for key. The reader's owner must read no later than mark through it (what lies
// past the mark may come later and unrecorded). NULL with err.
tsdb_store_reader_t *tsdb_store_late_reader(tsdb_store_t *self, uint64_t key, int64_t mark,
                                            fw_err_t *err);
// Up to max of key's records of series with id % mod == rem (mod < 2: all), in id order,
// from the series after *after (0 at first), looking at a bounded number of records; then
// *after says where the next call goes on (0: the end was reached, start over). *n records
// into out[0..max). 0, or -1 with err.
int tsdb_store_late_list(tsdb_store_reader_t *r, uint64_t key, uint64_t mod, uint64_t rem,
                         uint64_t *after, struct tsdb_store_late *out, size_t max, size_t *n,
                         fw_err_t *err);
// Drop key's records recs[0..n) (as listed: their samples were sent), each unless a commit
// widened it since (its gen changed): then it stays, to be sent again. A write transaction
// of its own. 0, or -1 with err.
int tsdb_store_late_done(tsdb_store_t *self, uint64_t key, const struct tsdb_store_late *recs,
                         size_t n, fw_err_t *err);
// Stop watching every key but keys[0..n) and delete those keys' records (a remote_write
// queue removed from the configuration). 0, or -1 with err.
int tsdb_store_late_keep(tsdb_store_t *self, const uint64_t *keys, size_t n, fw_err_t *err);

// Append the samples of series id with mint <= t <= maxt, in time order, to *pts (grown
// with fw_mem_grow; *len and *cap updated), through an iterator. 0 or -1.
int tsdb_store_samples(tsdb_store_reader_t *r, uint64_t id, int64_t mint, int64_t maxt,
                       struct fw_sample **pts, size_t *len, size_t *cap, fw_err_t *err);

// Sorted distinct label names (caller frees each and the array). 0 or -1.
int tsdb_store_label_names(tsdb_store_reader_t *r, char ***out, size_t *n_out, fw_err_t *err);
// Call fn for every label name=value pair of the index with its number of series, in key
// order (tsdb_index_postings_walk; strings borrowed for the call) until it returns nonzero.
// 0, or -1 with err.
int tsdb_store_postings_walk(tsdb_store_reader_t *r, tsdb_index_walk_fn fn, void *arg,
                             fw_err_t *err);
// Sorted distinct values of label name (caller frees each and the array). 0 or -1.
int tsdb_store_label_values(tsdb_store_reader_t *r, const char *name, char ***out, size_t *n_out,
                            fw_err_t *err);

#endif
