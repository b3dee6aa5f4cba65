/*  tsdb_rollup.h — rollups: 5-minute and 1-hour aggregates of every series, written beside
    the raw chunks as they age, and read by queries they answer exactly.

    A bucket of level L (step 5m or 1h) holds the aggregates of a series' samples in
    (end - step, end], end a multiple of the step (ranges are open on the left, as
    PromQL's): count, min, max, sum, the first and last samples with their timestamps, the
    counter resets (a sample below its predecessor: how many, and the sum of the values
    before them) and the changes (a value other than its predecessor's). Stale markers are
    left out, as range selectors leave them out, and so are samples under tombstones.

    Layout: the LMDB database "rollups" of the store (storage format 6), every integer of a
    key big-endian. Series are grouped by id: group g = id / 64 holds ids 64g .. 64g + 63,
    slot = id % 64, so that one LMDB record (its key, node and page share) carries the
    buckets of many series:

        u64 g, u8 level, u64 flipped page start -> a group page: for each series of the
                                          group with buckets of that level with end in
                                          (start, start + 72 steps], its page (a segment)
        u64 g, 0xfe                    -> the group's marks: per series, W: every bucket of
                                          either level with end <= W is stored (absent
                                          means no sample), later ones are not; a series
                                          without one has nothing stored
        u64 0, u8 level                -> i64 cut (little-endian): buckets with end <= cut
                                          may be gone (the level's retention); queries read
                                          them raw; INT64_MAX: the level is off
                                          (TSDB_ROLLUP_OFF)

    A group page is a version byte (4), the number of segments, per segment its slot (a
    byte, ascending) and length (uvarint), then the segments. A segment is a series' page: a
    version byte (4, | 0x80 for times in seconds; 3 and 2 are still read) and its buckets in
    time order; tsdb(8) ROLLUPS gives the fields and their coding. The marks record is a
    version byte (1), then per series its slot and the zigzag uvarint of its W less the
    previous series' W (0 for the first). Storage format 5 keyed pages and marks by series
    id, one record each (u64 id, 0xff -> W); tsdb_store_open moves them into groups (the
    segments are format 5's pages byte for byte).

    Writing (tsdb_rollup_step, a thread of its own, never tsdb's ingest loop): a series'
    buckets are final once they end at or before its last sealed, committed chunk's newest
    sample: later samples are newer, except late ones (out_of_order_time_window), which
    the commit merging them into sealed chunks marks by lowering the series' mark below
    them, and deleted ones, which delete_series marks the same way in the transaction
    writing the tombstones. The step recomputes what lies after the mark from the sealed
    chunks and raises it, in short write transactions of its own (a few series, at most a
    day of samples each), reading and writing in the same transaction so that no commit
    comes in between. A series removed from the index loses its rollups in the same
    transaction. A step holds one
    group's pages (and marks) at a time and writes each once when it moves on (a group's
    series come one after the other). A group page that does not parse is deleted whole and
    its series' marks lowered below it, so each writes its buckets again from the chunks. Each level
   has its own retention (pages wholly before now - keep are deleted); rollups may outlive the raw
   chunks, and then answer for them.

    Levels off (a retention of 0, tsdb_rollup_levels at start-up): an off level's pages
    are deleted and its cut set to TSDB_ROLLUP_OFF, so the writer never writes it and
    queries never read it (a call it would answer goes to the finer level, or raw). With
    both levels off the marks go too and nothing is written. Turning a level back on
    drops every rollup (pages and marks) and the writer rebuilds both levels from the raw
    chunks there are (what only the rollups still held, past raw retention, is gone).

    Reading (tsdb_rollup_buckets): a query's buckets in (cut, W] come from the pages,
    the others (newer than the mark: the head, the open chunks; older than the cut) are
    computed from the raw samples with the same code, so every answer equals the raw one.
*/
#ifndef TSDB_ROLLUP_H
#define TSDB_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "tsdb_store.h"

#define TSDB_ROLLUP_LEVELS 2
#define TSDB_ROLLUP_PAGE 72       // buckets a page holds
#define TSDB_ROLLUP_OFF INT64_MAX // the cut of a level that is off

// The step of level 0 (5m) and 1 (1h) in ms.
static inline int64_t
tsdb_rollup_step_ms(int level)
{
    return level == 0 ? 300000 : 3600000;
}

// The greatest multiple of step <= t (t may be negative).
static inline int64_t
tsdb_rollup_floor(int64_t t, int64_t step)
{
    int64_t q = t / step;
    if (t % step < 0)
        q--;
    return q * step;
}

// The aggregates of one bucket (or of any run of samples).
struct tsdb_rollup_agg {
    int64_t first_t, last_t;
    double first_v, last_v;
    double min, max;  // as min_over_time/max_over_time pick them: a NaN gives way to the next
    double sum;       // first_v + the others in order; exact when ints
    double reset_sum; // the values before each reset, summed in order
    uint32_t count, n_resets, n_changes;
    bool ints; // every value is whole, of magnitude at most 2^53
};

// Fold sample (t, v) (not a stale marker; after the ones folded before) into a (count 0:
// empty).
void tsdb_rollup_agg_add(struct tsdb_rollup_agg *a, int64_t t, double v);

struct tsdb_rollup_bucket {
    int64_t end;
    struct tsdb_rollup_agg a;
};

// Encode buckets b[0..n) (sorted, all of the page starting at page_start of level) into
// out (room for 1 + n * TSDB_ROLLUP_BUCKET_MAX bytes); returns the length.
#define TSDB_ROLLUP_BUCKET_MAX 128
size_t tsdb_rollup_page_encode(const struct tsdb_rollup_bucket *b, size_t n, int64_t page_start,
                               int64_t step, unsigned char *out);
// Decode page p[0..len) into *arr (grown with fw_mem_grow, appended at *len_out). 0, or
// FW_ETRUNC/FW_EPARSE (what was decoded before the damage is kept).
int tsdb_rollup_page_decode(const unsigned char *p, size_t len, int64_t page_start, int64_t step,
                            struct tsdb_rollup_bucket **arr, size_t *n, size_t *cap);

// Group pages (Layout above). A group page's segments, as tsdb_rollup_group_parse finds them.
#define TSDB_ROLLUP_GROUP 64
struct tsdb_rollup_group {
    unsigned n;
    unsigned char slot[TSDB_ROLLUP_GROUP];
    size_t off[TSDB_ROLLUP_GROUP], len[TSDB_ROLLUP_GROUP]; // in the page's bytes
};
// Parse group page p[0..len) into *g: 0, or FW_ETRUNC/FW_EPARSE (g->n is then 0).
int tsdb_rollup_group_parse(const unsigned char *p, size_t len, struct tsdb_rollup_group *g);
// Slot's segment in page p (parsed into g): true with *seg, *seglen; false when it has none.
bool tsdb_rollup_group_find(const struct tsdb_rollup_group *g, const unsigned char *p,
                            unsigned slot, const unsigned char **seg, size_t *seglen);
// Write page p (parsed into g; g NULL: no page yet) with slot's segment replaced by
// seg[0..seglen) (seglen 0: removed) into out (not overlapping p or seg; room for the page's
// length + seglen + 16); returns the new length, 0 when no segment is left.
size_t tsdb_rollup_group_splice(const struct tsdb_rollup_group *g, const unsigned char *p,
                                unsigned slot, const unsigned char *seg, size_t seglen,
                                unsigned char *out);
// A group's marks record p[0..len) into w[slot] (INT64_MIN: none). 0, or FW_ETRUNC/FW_EPARSE.
int tsdb_rollup_marks_decode(const unsigned char *p, size_t len, int64_t w[TSDB_ROLLUP_GROUP]);
// Encode w (INT64_MIN: none) into out (room for 1 + 11 * TSDB_ROLLUP_GROUP bytes); returns
// the length, 0 when no series has a mark.
#define TSDB_ROLLUP_MARKS_MAX (1 + 11 * TSDB_ROLLUP_GROUP)
size_t tsdb_rollup_marks_encode(const int64_t w[TSDB_ROLLUP_GROUP], unsigned char *out);

// ---------------------------------------------------------------------------------------
// Reading (any thread, in a reader's snapshot)

// Series id's mark (INT64_MIN: none, nothing stored) and level's cut (INT64_MIN: none).
// 0, or an LMDB error.
int tsdb_rollup_mark(tsdb_store_reader_t *r, uint64_t id, int64_t *w);
int tsdb_rollup_cut(tsdb_store_reader_t *r, int level, int64_t *cut);

// Append series id's non-empty buckets of level with end in (lo, hi] (multiples of the
// step) to *arr (*len, *cap; fw_mem_grow), in time order: stored ones for ends in (cut, w],
// the others computed from the raw samples. *raw adds the samples read raw, *stored the
// stored buckets. 0, or an LMDB error; a damaged page is reported and its buckets computed
// raw.
int tsdb_rollup_buckets(tsdb_store_reader_t *r, uint64_t id, int level, int64_t lo, int64_t hi,
                        int64_t w, int64_t cut, struct tsdb_rollup_bucket **arr, size_t *len,
                        size_t *cap, int64_t *raw, int64_t *stored);

// ---------------------------------------------------------------------------------------
// Writing

typedef struct tsdb_rollup tsdb_rollup_t;

// What the writer did since it was made.
struct tsdb_rollup_counters {
    uint64_t steps;         // write transactions committed
    uint64_t series;        // series brought up to date (some buckets written)
    uint64_t buckets;       // buckets written
    uint64_t bytes;         // bytes of the pages written (a page rewritten counts again)
    uint64_t samples;       // raw samples read
    uint64_t pages_expired; // pages deleted by the levels' retention
    uint64_t failures;      // steps that failed (retried)
    int64_t lag_series;     // series found behind in the last full sweep
};

// A writer for store (borrowed; open), keeping level L's pages keep_ms[L] ms (0: the level
// is off; call tsdb_rollup_levels before the first step).
tsdb_rollup_t *tsdb_rollup_new(tsdb_store_t *store, const int64_t keep_ms[TSDB_ROLLUP_LEVELS]);
// Make the store's rollups match the levels on (see "Levels off" above), in one write
// transaction: an off level's pages are deleted; a level turned back on drops them all to be
// rebuilt. *on is set to the number of levels on (0: no step has anything to do). 0, or -1
// with err.
int tsdb_rollup_levels(tsdb_rollup_t *self, int *on, fw_err_t *err);
// Bulk (tsdb import, where no commit waits): steps of up to 4096 series, 32 days of a
// series and 25 million samples, so the rollups of a backfill take few commits (each
// syncs the file). Off (the default): 64 series, a day, 500,000 samples.
void tsdb_rollup_set_bulk(tsdb_rollup_t *self, bool bulk);
// Stop its thread (if started) and free it; NULL-safe; sets *self_p to NULL.
void tsdb_rollup_destroy(tsdb_rollup_t **self_p);

// One write transaction: bring up to max_series series (resuming where the last step
// stopped) up to date, at most a day of samples each (see tsdb_rollup_set_bulk), and apply the
// levels' retention at now_ms. *idle is set when a whole sweep over the series ended with nothing
// left to do. 0, or -1 with err (nothing of the step stored; the next one retries).
int tsdb_rollup_step(tsdb_rollup_t *self, int64_t now_ms, size_t max_series, bool *idle,
                     fw_err_t *err);
// Steps until idle (tsdb import's end, tests). 0 or -1 with err.
int tsdb_rollup_run(tsdb_rollup_t *self, int64_t now_ms, fw_err_t *err);

// Run steps on a thread of its own: back to back while there is work, then every
// interval_ms. 0, or -1 with err.
int tsdb_rollup_start(tsdb_rollup_t *self, int64_t interval_ms, fw_err_t *err);
// Stop the thread (waits for the step in progress). NULL-safe.
void tsdb_rollup_stop(tsdb_rollup_t *self);

void tsdb_rollup_counters(tsdb_rollup_t *self, struct tsdb_rollup_counters *out);

// Check a level's retention for --storage.tsdb.rollup-*-retention: 0 (the level is off) or
// at least the step. 0, or -1 with err naming flag.
int tsdb_rollup_check_keep(int level, int64_t keep_ms, const char *flag, fw_err_t *err);

#endif
