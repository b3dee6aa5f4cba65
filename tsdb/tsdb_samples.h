/*  tsdb_samples.h — a SAMPLES body (v2 or v3, common/fw_msg_samples.h) read in place into
    the store, on tsdb's ingest loop.

    tsdb_samples_check reads and checks a body without storing anything: every series that
    uses a ref must be in the sender's refs, and every other series is compared with the
    labels the store's position cache holds for it, so labels are checked and decoded only
    for series the store does not know (tsdb_samples.c). tsdb_ingest then decides whether
    the batch is stored, and tsdb_samples_append stores it.
*/
#ifndef TSDB_SAMPLES_H
#define TSDB_SAMPLES_H

#include <czmq.h>
#include <stddef.h>

#include "fw_err.h"
#include "fw_metrics.h"
#include "fw_msg_samples.h"
#include "tsdb_store.h"

typedef struct tsdb_samples tsdb_samples_t;

// A reader appending to store, counting into metrics (both borrowed; they must outlive it).
tsdb_samples_t *tsdb_samples_new(tsdb_store_t *store, fw_metrics_t *metrics);
void tsdb_samples_destroy(tsdb_samples_t **self_p);

// Read body[0..size) (borrowed; it must live until tsdb_samples_append or _labelled are
// done with v), a SAMPLES body of version, into *v and check it. 0: it can be appended; 1:
// a series uses a ref the store does not know (docs/wire.md "Series refs": nothing of the
// batch can be stored); -1 with err: the batch is rejected (structure, a bad label).
int tsdb_samples_check(tsdb_samples_t *self, int version, const unsigned char *body, size_t size,
                       struct fw_samples_view *v, fw_err_t *err);
// Append the batch tsdb_samples_check just passed with 0. Returns its samples; *st (when
// not NULL) gets the batch's store statistics (what was refused, and why).
size_t tsdb_samples_append(tsdb_samples_t *self, const struct fw_samples_view *v,
                           struct tsdb_store_stats *st);
// The batch tsdb_samples_append just stored as SAMPLES v3 (v4: with its start times) frames in
// which every series
// carries its labels (a use of a ref gets the labels it stands for; one whose definition
// was refused is left out), for taps, who cannot know the sender's refs. NULL on failure.
zmsg_t *tsdb_samples_labelled(tsdb_samples_t *self, const struct fw_samples_view *v);

#endif
