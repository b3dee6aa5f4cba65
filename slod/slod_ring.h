/*  slod_ring.h — a bounded ring of 5-minute bad/total sums per SLO, and its journal.

    Long windows (1d, 3d, the SLO's period) are never queried from raw samples: every
    5 minutes slod asks tsdb once for the SLI's bad and total rates over the 5 minutes just
    ended and stores them in the SLO's ring, which holds as many buckets as the longest
    window needs. A window's ratio is then sum(bad) / sum(total) over its buckets, computed
    from memory, so an evaluation costs the same at 30 days as at 1 day. Sums over the
    ring are cached and recomputed only when a bucket changes (at most once per 5 minutes
    plus backfilled buckets), so each evaluation reads them in O(1).

    Buckets are keyed by their end time (a multiple of 5 minutes); a slot whose end time is
    not the wanted one is empty. A bucket with total 0 (no traffic, or no data) is present
    and counts nothing.

    The journal (slod_ring_journal_*) makes the rings survive a restart without rescanning:
    one line per bucket, "<key> <end_ms> <bad> <total>", appended as buckets are filled; at
    open it is replayed and rewritten compacted (only buckets still inside some ring), and it
    is compacted again when it holds twice the rings' buckets (once a month or so, a write
    of about 40 bytes per bucket held, on slod's loop). The
    key is the SLO id and a hash of its queries, so an SLO whose queries changed starts a
    new ring. Appends are small buffered writes (about 100 bytes per SLO per 5 minutes).
*/
#ifndef SLOD_RING_H
#define SLOD_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

#define SLOD_RING_STEP_MS 300000LL

typedef struct slod_ring slod_ring_t;

// A ring for windows of up to span_ms (rounded up to whole buckets). Cannot fail.
slod_ring_t *slod_ring_new(const char *key, int64_t span_ms);
void slod_ring_destroy(slod_ring_t **self_p);
const char *slod_ring_key(const slod_ring_t *self);

// Whether the bucket ending at end_ms is present.
bool slod_ring_has(const slod_ring_t *self, int64_t end_ms);
// The bucket ending at end_ms into *bad and *total; false (both 0) when it is absent.
bool slod_ring_get(const slod_ring_t *self, int64_t end_ms, double *bad, double *total);
// Store the bucket ending at end_ms (a multiple of SLOD_RING_STEP_MS; others are ignored),
// replacing whatever the slot held.
void slod_ring_put(slod_ring_t *self, int64_t end_ms, double bad, double total);
// Sums over the buckets ending in (end_ms - window_ms, end_ms]; the number present in *n.
void slod_ring_sum(slod_ring_t *self, int64_t end_ms, int64_t window_ms, double *bad, double *total,
                   size_t *n);
// Buckets the ring holds at most.
size_t slod_ring_capacity(const slod_ring_t *self);

typedef struct slod_ring_journal slod_ring_journal_t;

// Open (creating) dir/slod.ring, replay it into the rings whose keys match (others are
// dropped), and rewrite it compacted. NULL with err when dir cannot be used.
slod_ring_journal_t *slod_ring_journal_open(const char *dir, slod_ring_t *const *rings, size_t n,
                                            fw_err_t *err);
void slod_ring_journal_close(slod_ring_journal_t **self_p);
// Replay dir/slod.ring into the rings whose keys match, without writing it. Missing: no-op.
void slod_ring_journal_load(const char *dir, slod_ring_t *const *rings, size_t n);
// Append one bucket; buffered. Past 2x the rings' capacity of lines it is compacted.
void slod_ring_journal_add(slod_ring_journal_t *self, const slod_ring_t *ring, int64_t end_ms,
                           double bad, double total);
// Write buffered lines out. 0 or -1.
int slod_ring_journal_flush(slod_ring_journal_t *self);
// Point the journal at a new set of rings (after a reload). Lines of rings that are gone
// stay until the next compaction (replay skips them). 0 or -1.
int slod_ring_journal_rebind(slod_ring_journal_t *self, slod_ring_t *const *rings, size_t n);

#endif
