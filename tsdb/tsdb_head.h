/*  tsdb_head.h — the in-memory head: the active series, each with its open chunk.

    The head is how ingest avoids LMDB: a series is found by the hash of its label set
    (fw_labels_hash) in an open-addressing table, its samples go into its open chunk
    (struct tsdb_chunk_app, XOR-encoded as they come) and nothing is read or written on disk
    per sample or per scrape. A full chunk (TSDB_CHUNK_MAX_SAMPLES, sealed as soon as it
    has them, or one that a sample TSDB_CHUNK_MAX_SPAN_MS after its first cannot join) is
    sealed into its smallest form and queued for the next commit, and a new open chunk
    starts. The store (tsdb_store_append.c) fills the head
    lazily: a series it does not hold is looked up in the index once, and its stored open
    chunk reopened (tsdb_head_load_open), so a restart costs nothing until series come back.

    Samples follow Prometheus's rules for a series' newest in-order timestamp T:
        t > T                   appended
        t == T, same bits       a no-op, counted as a duplicate (so a resent batch is
                                stored once)
        t == T, other bits      rejected: "duplicate sample for timestamp"
        t < T                   rejected as out of order, unless the out-of-order window
                                w > 0 (storage.tsdb.out_of_order_time_window) and
                                t >= maxt - w, where maxt is the head's newest timestamp
                                over all series (as Prometheus's head max time): then the
                                sample is accepted late. Older still: "too old sample".
    A late sample inside the open chunk's range is merged into it at once (the chunk is
    decoded and re-encoded, cut again if it grew past a chunk); one before it waits in the
    series' late list, sorted and unique, until the commit merges it into the stored chunks
    (tsdb_store_commit). Either way the chunks on disk never overlap, so readers walk one
    sorted sequence.

    What a commit must write is kept here: the pending series (new to the index, open chunk
    changed, or late samples waiting) and the sealed chunks. tsdb_head_committed forgets it
    once the commit is durable; until then a failed commit is simply retried later with
    everything still in place. A commit that is not a checkpoint (tsdb_store.h,
    "Durability") leaves the series whose open chunk changed pending, for the checkpoint.

    Readers see the head too: the open chunk holds the newest samples, which only the log
    has on disk. A sealed chunk stays on its series' kept list after its commit, marked with
    that commit's transaction id, until no reader with an older snapshot is left
    (tsdb_head_release); tsdb_head_view gives a reader exactly the kept chunks its snapshot
    lacks, then the open chunk.

    Batches (isolation, as Prometheus isolates an appender's Commit): the writer appends a
    batch (a SAMPLES message: one scrape of one target) between tsdb_head_batch_begin and
    tsdb_head_batch_end, which number it; an append outside them is a batch of its own.
    tsdb_head_visible is the number of the last batch ended. A reader takes it once, when
    it starts, and reads every series as of it: each series keeps the number of the last
    batch that appended to it and its newest in-order timestamp before that batch, so when
    that batch is newer than the reader's, tsdb_head_view bounds the series at that
    timestamp. In-order samples only grow a series' newest timestamp, so the bound hides
    exactly the batch's samples, wherever they went (the open chunk, or a chunk they
    sealed). Two limits, both in README "Isolation": a late sample merged into the open
    chunk (out-of-order window) is seen at once, and a reader that outlives two batches of
    one series (two scrapes of its target) sees the older of them in that series. No memory
    per sample or per batch: 16 bytes a series (Prometheus keeps a ring of append ids per
    series instead, grown while old readers need it).

    Threads: the head belongs to the writer thread (tsdb's loop). Readers call only
    tsdb_head_view, and only under the store's head lock, which the writer holds whenever it
    changes the head; tsdb_head_visible any time (an atomic).
*/
#ifndef TSDB_HEAD_H
#define TSDB_HEAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_labels.h"
#include "fw_sample.h"
#include "tsdb_chunk.h"

struct tsdb_store_stats; // tsdb_store.h

typedef struct tsdb_head tsdb_head_t;

// The txn of a sealed chunk no commit has written yet.
#define TSDB_HEAD_UNCOMMITTED UINT64_MAX

// A sealed chunk the head keeps: until its commit, then for readers older than it.
struct tsdb_head_chunk {
    struct tsdb_head_chunk *next; // the series' next (newer) kept chunk
    uint64_t txn;                 // the LMDB write txn that stored it, or TSDB_HEAD_UNCOMMITTED
    int64_t mint;
    uint32_t len;
    unsigned char bytes[]; // the chunk, tsdb_chunk.h format
};

// A series' late samples before its open chunk, sorted by time, unique.
struct tsdb_head_late {
    uint32_t n, cap;
    struct fw_sample v[];
};

// One active series: one allocation, its label set packed after the struct (about 100,000
// are held at once, so every byte here is 100 KB). Fields are the store's to read; only
// tsdb_head.c changes them. What an in-order append reads and writes comes first, in
// TSDB_HEAD_SERIES_HOT bytes (96: two or three cache lines, as malloc, 16-byte aligned,
// puts the record), which tsdb_store_refs_prefetch fetches ahead line by line.
struct tsdb_head_series {
    uint64_t id;
    struct tsdb_chunk_app app; // the open chunk; empty right after a cut
    int64_t last_t;            // the newest in-order sample, when has_last
    double last_v;
    // isolation (see "Batches"): the last batch that appended to it, and its newest
    // in-order timestamp before that batch (INT64_MIN: none)
    uint64_t iso_seq;
    int64_t iso_t;
    bool has_last;
    bool last_v_known; // false when the newest value could not be read back (damaged chunk)
    bool is_new;       // not in the index yet
    bool dirty;        // the open chunk changed since the last commit
    bool queued;       // on the pending list
    bool on_kept;      // on the head's list of series with committed kept chunks
    uint16_t n_labels;
    uint32_t text_len;            // bytes of text
    uint64_t hash;                // fw_labels_hash of its labels
    struct tsdb_head_late *late;  // owned, NULL when there is none (see above)
    struct tsdb_head_chunk *kept; // owned list, oldest first: sealed chunks kept (see above)
    char text[]; // the labels in name order: each name and value with a NUL after it
};
// The bytes at the start of a series record that an in-order append touches (see above).
#define TSDB_HEAD_SERIES_HOT offsetof(struct tsdb_head_series, text_len)

// A chunk sealed since the last commit: its bytes are tsdb_head_sealed_bytes().
struct tsdb_head_sealed {
    uint64_t id;
    int64_t mint;
    size_t len;
    struct tsdb_head_chunk *chunk; // borrowed: on the series' kept list
};

// What tsdb_head_view copies for a reader: n chunks, each a 4-byte little-endian length
// and the chunk's bytes, in time order, and maxt: the reader reads none of the series'
// samples after it (they belong to batches it must not see; INT64_MAX: no bound). Zero it
// to start; the caller frees p.
struct tsdb_head_view {
    unsigned char *p;
    size_t len, cap;
    size_t n;
    int64_t maxt;
};

// Make *view s's labels: its items point into s->text, borrowed as s is; the items array
// (view->items, view->cap) is the caller's, grown as needed and reused from call to call.
// Release it with free(view->items), never fw_labels_clear (the strings are s's).
void tsdb_head_labels(const struct tsdb_head_series *s, struct fw_labels *view);
// True when s's labels are exactly l.
bool tsdb_head_labels_equal(const struct tsdb_head_series *s, const struct fw_labels *l);
// The first timestamp of s's open chunk (undefined when it holds no sample).
int64_t tsdb_head_open_mint(const struct tsdb_head_series *s);

tsdb_head_t *tsdb_head_new(void);
// Free every series (NULL-safe; sets *self_p to NULL).
void tsdb_head_destroy(tsdb_head_t **self_p);

// The out-of-order window in ms (0, the default, rejects every late sample).
void tsdb_head_set_ooo_window(tsdb_head_t *self, int64_t ms);
int64_t tsdb_head_ooo_window(const tsdb_head_t *self);

// The series with exactly labels l (hash = fw_labels_hash(l)), or NULL. Borrowed until it
// is removed or the head destroyed.
struct tsdb_head_series *tsdb_head_find(const tsdb_head_t *self, const struct fw_labels *l,
                                        uint64_t hash);
// The series with this id, or NULL.
struct tsdb_head_series *tsdb_head_find_id(const tsdb_head_t *self, uint64_t id);

// Add a series with a copy of l; is_new says the index does not hold it yet (the next
// commit adds it). The caller makes sure it is not in the head already. Borrowed result.
struct tsdb_head_series *tsdb_head_add(tsdb_head_t *self, const struct fw_labels *l, uint64_t hash,
                                       uint64_t id, bool is_new);

// After a restart: make the stored open chunk p[0..len) (borrowed) s's open chunk and its
// last sample s's newest. 0, or the chunk's FW_E* error (s is then unchanged).
int tsdb_head_load_open(tsdb_head_t *self, struct tsdb_head_series *s, const void *p, size_t len);
// After a restart: s's newest sample is (t, v) (v_known false: only t is known).
void tsdb_head_load_last(tsdb_head_t *self, struct tsdb_head_series *s, int64_t t, double v,
                         bool v_known);

// Apply samples[0..n) (any order) to s by the rules above, adding the counts to *st.
void tsdb_head_append(tsdb_head_t *self, struct tsdb_head_series *s,
                      const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st);

// The same with each sample's start time start[k] (0: none; start NULL: none at all), kept
// in the open chunk (tsdb_chunk.h encoding 4). A late sample older than the open chunk
// (the late list) keeps no start time.
void tsdb_head_append_st(tsdb_head_t *self, struct tsdb_head_series *s,
                         const struct fw_sample *samples, const int64_t *start, size_t n,
                         struct tsdb_store_stats *st);

// Seal every open chunk that holds samples (e.g. at the end of an import, whose series get
// no more samples): they are stored in their smallest form by the next commit. Returns how
// many were sealed.
size_t tsdb_head_seal_all(tsdb_head_t *self);

// Remove s from the head and free it, unless it has something to commit or kept chunks
// (then false).
bool tsdb_head_remove(tsdb_head_t *self, struct tsdb_head_series *s);

// Drop series whose newest sample is before `before` and that have nothing pending (they
// are all on disk and are read back if they return). Returns how many were dropped, and
// calls drop(arg, id) for each first (may be NULL).
size_t tsdb_head_gc(tsdb_head_t *self, int64_t before, void (*drop)(void *arg, uint64_t id),
                    void *arg);

// What the next commit writes: the pending series, and the sealed chunks. Borrowed until
// the next append or tsdb_head_committed.
struct tsdb_head_series *const *tsdb_head_pending(const tsdb_head_t *self, size_t *n);
const struct tsdb_head_sealed *tsdb_head_sealed(const tsdb_head_t *self, size_t *n);
// True when a pending series is new to the index or has late samples (not only a changed
// open chunk) since the last commit.
bool tsdb_head_pending_more(const tsdb_head_t *self);
const unsigned char *tsdb_head_sealed_bytes(const tsdb_head_t *self,
                                            const struct tsdb_head_sealed *c);
// s (pending, new to the index) was added to the index by a commit that is durable; the rest
// of its pending state stays for the next commit.
void tsdb_head_indexed(tsdb_head_t *self, struct tsdb_head_series *s);
// The commit holding all of that (LMDB write txn txn) is durable: clear the pending state;
// unless it was a checkpoint, series whose open chunk changed stay pending. It held the
// first n_sealed of the sealed chunks tsdb_head_sealed lists (SIZE_MAX: all of them), as
// tsdb_head_sealed_committed.
void tsdb_head_committed(tsdb_head_t *self, uint64_t txn, bool checkpoint, size_t n_sealed);
// The first n of the sealed chunks tsdb_head_sealed lists are durable in txn: they go to
// their series' kept lists, and tsdb_head_sealed lists the rest (a commit written in
// slices).
void tsdb_head_sealed_committed(tsdb_head_t *self, size_t n, uint64_t txn);
// The sealed chunks not committed yet for which stored(arg, c) is true are already durable
// (as of txn): they go first on the list and are marked committed in txn, as
// tsdb_head_sealed_committed; the others stay for the next commit. Returns how many. The
// log replay seals again the chunks that commits since the last checkpoint stored; kept as
// uncommitted, a reader would return them from the head after the same chunks from its
// snapshot, every sample in them twice.
size_t tsdb_head_sealed_mark_stored(tsdb_head_t *self,
                                    bool (*stored)(void *arg, const struct tsdb_head_sealed *c),
                                    void *arg, uint64_t txn);
// Free the kept chunks every live reader's snapshot holds: those stored by a txn at or
// before oldest_reader_txn (UINT64_MAX - 1 with no reader alive). Returns how many.
size_t tsdb_head_release(tsdb_head_t *self, uint64_t oldest_reader_txn);
// For a reader whose snapshot is txn reader_txn and that sees the batches up to visible
// (tsdb_head_visible when it started): copy series id's kept chunks that snapshot lacks,
// then its open chunk, into *out, and set out->maxt (see "Batches"). False when the head
// does not hold the series (its stored state is then all the reader needs).
bool tsdb_head_view(const tsdb_head_t *self, uint64_t id, uint64_t reader_txn, uint64_t visible,
                    struct tsdb_head_view *out);

// Open a batch (see "Batches"): the appends until tsdb_head_batch_end are one. Batches do not
// nest. The writer's.
void tsdb_head_batch_begin(tsdb_head_t *self);
// End the batch: readers that start from now on see all of it.
void tsdb_head_batch_end(tsdb_head_t *self);
// The number of the last batch ended (0: none yet). Any thread.
uint64_t tsdb_head_visible(const tsdb_head_t *self);
// True between tsdb_head_batch_begin and tsdb_head_batch_end.
bool tsdb_head_in_batch(const tsdb_head_t *self);

// Late samples for remote-write readers (tsdb_store.h, "Late samples"): per watched slot,
// the timestamp its reader has read up to, and their maximum (INT64_MIN: none). Written by
// the readers' threads (the store's), read by the writer at each append, under the head
// lock (which orders a reader's mark before its reads of the head).
#define TSDB_HEAD_MARKS 64
struct tsdb_head_marks {
    _Atomic int64_t max;
    _Atomic int64_t mark[TSDB_HEAD_MARKS];
};
// A series that got samples at or below a mark since the last commit.
struct tsdb_head_note {
    uint64_t id;
    int64_t lo, hi; // the oldest and newest of those samples (a hull)
    uint64_t mask;  // the slots whose mark was at or above lo at the append
    bool deferred;  // late-list samples: readers see them only once committed, so the
                    // commit decides the slots (mask 0 here)
};
// Note appends against marks (borrowed; NULL, the default: note nothing).
void tsdb_head_set_marks(tsdb_head_t *self, const struct tsdb_head_marks *marks);
// The notes since the last tsdb_head_notes_clear (consecutive appends to a series merged),
// borrowed until the next append or clear. The store clears them once a commit holding
// their samples is durable.
const struct tsdb_head_note *tsdb_head_notes(const tsdb_head_t *self, size_t *n);
void tsdb_head_notes_clear(tsdb_head_t *self);

// Series in the head; the newest timestamp appended or loaded (INT64_MIN when none).
size_t tsdb_head_count(const tsdb_head_t *self);
int64_t tsdb_head_maxt(const tsdb_head_t *self);
// Changes whenever a series is freed (tsdb_head_remove, tsdb_head_gc): a series pointer kept
// across calls is valid only while the epoch it was taken in lasts.
uint64_t tsdb_head_epoch(const tsdb_head_t *self);

#endif
