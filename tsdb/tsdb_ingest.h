/*  tsdb_ingest.h — exactly-once ingest: which SAMPLES batches tsdb stores and acknowledges.

    Every sender (scraper, ruled, slod: common/fw_sender.h) numbers its batches 1, 2, 3...
    under an id unique to its incarnation, and says in each batch the lowest number it
    still holds (`oldest`). This module keeps, per sender, the next number tsdb expects,
    and decides for each batch (docs/wire.md "Acknowledged ingest"):

        oldest > next             the sender dropped the batches before oldest (its buffer
                                  overflowed): next jumps to oldest first
        unknown sender            next is the batch's oldest
        seq <  next               TSDB_INGEST_DUPLICATE: stored already (or accepted into
                                  the pending commit); store nothing, acknowledge again
        seq == next               TSDB_INGEST_ACCEPT: store it; next = seq + 1
        seq >  next               TSDB_INGEST_GAP: a batch the sender still holds is
                                  missing; store nothing, ask for a resend

    The jump is applied before comparing, so a batch past a gap is not accepted just because
    the sender dropped older ones: it would leave batches oldest..seq-1, which the sender
    still holds, unstorable.

    Acknowledgement follows durability: tsdb_ingest_acked() is the highest seq of a sender
    whose batches are all in a successful commit. Accepted batches are pending until the
    caller reports that commit (tsdb_ingest_committed); a failed commit changes nothing
    here (tsdb's head keeps the samples and the next commit retries them). The table is
    serialised (tsdb_ingest_save) into the store's state blob before each commit, in the
    same transaction as the samples, and read back at start (tsdb_ingest_load), so the
    decisions hold across restarts and SIGKILL.

    Bounds: senders not seen for idle_ms are forgotten (tsdb_ingest_expire), and the table
    holds at most max_senders: a new sender evicts the one seen longest ago, unless every
    sender has a batch pending commit (then the table grows until the commit). A forgotten
    sender that comes back is unknown again: it resends from its oldest, and nothing it
    still holds is lost.

    Pure logic: no sockets, no storage, one thread (tsdb's loop). Time is passed in (wall
    clock ms, so that idleness survives restarts).
*/
#ifndef TSDB_INGEST_H
#define TSDB_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

// Longest sender id kept (the wire allows FW_MSG_SENDER_MAX, which is smaller).
#define TSDB_INGEST_SENDER_MAX 255
#define TSDB_INGEST_MAX_SENDERS 10000
#define TSDB_INGEST_IDLE_MS (24LL * 3600 * 1000)

typedef struct tsdb_ingest tsdb_ingest_t;

typedef enum {
    TSDB_INGEST_ACCEPT,    // store it; acknowledge after the commit that holds it
    TSDB_INGEST_DUPLICATE, // do not store; acknowledge again (now if durable, else after)
    TSDB_INGEST_GAP,       // do not store; answer with resend
    TSDB_INGEST_INVALID,   // not a valid batch header (empty or long id, 0 < oldest <= seq)
} tsdb_ingest_verdict_t;

// An empty table keeping at most max_senders (0: TSDB_INGEST_MAX_SENDERS), forgetting
// senders idle for idle_ms (0 or less: TSDB_INGEST_IDLE_MS).
tsdb_ingest_t *tsdb_ingest_new(size_t max_senders, int64_t idle_ms);
void tsdb_ingest_destroy(tsdb_ingest_t **self_p);

// Decide for batch seq of sender (borrowed) holding oldest, seen at now_ms (see above).
tsdb_ingest_verdict_t tsdb_ingest_offer(tsdb_ingest_t *self, const char *sender, uint64_t seq,
                                        uint64_t oldest, int64_t now_ms);

// Every batch of sender with a seq up to this one is durable (0: none, or unknown sender).
uint64_t tsdb_ingest_acked(const tsdb_ingest_t *self, const char *sender);

// The next seq expected of sender, counting batches accepted but not committed (0: unknown
// sender): a batch below it is a duplicate.
uint64_t tsdb_ingest_next(const tsdb_ingest_t *self, const char *sender);

// True when batches were accepted since the last tsdb_ingest_committed.
bool tsdb_ingest_pending(const tsdb_ingest_t *self);
// Batches accepted since the last tsdb_ingest_committed.
size_t tsdb_ingest_pending_batches(const tsdb_ingest_t *self);

// The commit holding every batch accepted so far returned 0: they are durable now.
void tsdb_ingest_committed(tsdb_ingest_t *self);

// Forget senders last seen before now_ms - idle_ms that have nothing pending. Returns
// how many were forgotten.
size_t tsdb_ingest_expire(tsdb_ingest_t *self, int64_t now_ms);

// Senders known.
size_t tsdb_ingest_count(const tsdb_ingest_t *self);

// The table as a blob for tsdb_store_set_state: every sender with the next seq expected
// (what the next commit makes durable) and when it was last seen. *len gets its size;
// the caller frees the result.
void *tsdb_ingest_save(const tsdb_ingest_t *self, size_t *len);

// Replace the table with blob[0..len) (borrowed) as tsdb_ingest_save wrote it; len 0 is an
// empty table. 0, or -1 with err when the blob is damaged (the table is then empty).
int tsdb_ingest_load(tsdb_ingest_t *self, const void *blob, size_t len, fw_err_t *err);

#endif
