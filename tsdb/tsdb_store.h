/*  tsdb_store.h — tsdb's sample storage on LMDB: series, postings, samples.

    One LMDB environment (a directory) holds four named databases:

        series            u64 id (big-endian)      -> encoded label set
        series_by_labels  u64 hash of the labels   -> ids (dupsort), to find a series again
        postings          "name\xffvalue"          -> ids (dupsort, sorted), the inverted index
        samples           u64 id BE + i64 ts BE with the sign bit flipped -> f64

    so a series' samples are adjacent and in time order. Exactly one thread writes
    (tsdb's zloop): tsdb_store_append() puts any number of batches in ONE write transaction
    (group commit) and is durable when it returns 0 (no MDB_NOSYNC). The environment is
    opened with MDB_NOTLS, so readers on other threads (the HTTP thread) take short read
    transactions through tsdb_store_reader_new(). A sample with a timestamp already stored
    overwrites it (a resend is idempotent); older timestamps are accepted. Stale markers
    are stored as they come; hiding them is the evaluator's job.

    Errors: functions return 0 or -1 with err set (the LMDB reason included); the caller
    logs them. Caveat (man page): the map size bounds the database; when it is full,
    appends fail with "MDB_MAP_FULL" until retention frees pages or the flag is raised.
*/
#ifndef TSDB_STORE_H
#define TSDB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_msg.h"
#include "fw_promql_ast.h"

typedef struct tsdb_store tsdb_store_t;
typedef struct tsdb_store_reader tsdb_store_reader_t;

// One series found by tsdb_store_select().
struct tsdb_store_series {
    uint64_t id;
    struct fw_labels labels; // owned
};

struct tsdb_store_stats {
    size_t samples;    // samples written
    size_t new_series; // series created
};

// A store not yet opened; cannot fail.
tsdb_store_t *tsdb_store_new(void);
// Map size in bytes (before open; default 8 GiB).
void tsdb_store_set_mapsize(tsdb_store_t *self, size_t bytes);
// Create dir if needed and open the environment in it. 0, or -1 with err.
int tsdb_store_open(tsdb_store_t *self, const char *dir, fw_err_t *err);
// Close the environment (NULL-safe; sets *self_p to NULL). No reader may be alive.
void tsdb_store_destroy(tsdb_store_t **self_p);

// Write every sample of the n batches (borrowed) in one transaction and commit it. On
// failure nothing of the call is stored. stats (may be NULL) receives counts. 0 or -1.
int tsdb_store_append(tsdb_store_t *self, const struct fw_batch *const *batches, size_t n,
                      struct tsdb_store_stats *stats, fw_err_t *err);

// The ingest state (an opaque blob, borrowed: copied here, e.g. each sender's last sequence
// number) that the next commit (tsdb_store_append) writes in the same transaction as its
// samples, so the state on disk always describes exactly what is stored. len 0 erases it.
void tsdb_store_set_state(tsdb_store_t *self, const void *blob, size_t len);
// What the last successful commit wrote, or what the open found on disk: *blob is a copy the
// caller frees (NULL and *len 0 when none was ever written). 0 or -1.
int tsdb_store_get_state(tsdb_store_t *self, void **blob, size_t *len);

// Delete up to max_deletes samples older than cutoff_ms, resuming where the previous call
// stopped (retention in bounded chunks). *deleted gets the count. 0 or -1.
int tsdb_store_delete_before(tsdb_store_t *self, int64_t cutoff_ms, size_t max_deletes,
                             size_t *deleted, fw_err_t *err);

// Number of series stored, or -1.
ssize_t tsdb_store_series_count(tsdb_store_t *self);

// --- reading (any thread) ---

// A read transaction on a consistent snapshot; keep it short. NULL with err on failure.
tsdb_store_reader_t *tsdb_store_reader_new(tsdb_store_t *self, fw_err_t *err);
void tsdb_store_reader_destroy(tsdb_store_reader_t **self_p);

// Every series matching all matchers (an absent label matches as ""), in id order.
// *out (caller frees with tsdb_store_series_free) and *n_out are set. 0 or -1.
int tsdb_store_select(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                      struct tsdb_store_series **out, size_t *n_out, fw_err_t *err);
void tsdb_store_series_free(struct tsdb_store_series *s, size_t n);

// Append the samples of series id with mint <= t <= maxt, in time order, to *pts (grown
// with fw_mem_grow; *len and *cap updated). Stale markers are included. 0 or -1.
int tsdb_store_samples(tsdb_store_reader_t *r, uint64_t id, int64_t mint, int64_t maxt,
                       struct fw_sample **pts, size_t *len, size_t *cap, fw_err_t *err);

// Sorted distinct label names (caller frees each and the array). 0 or -1.
int tsdb_store_label_names(tsdb_store_reader_t *r, char ***out, size_t *n_out, fw_err_t *err);
// Sorted distinct values of label name (caller frees each and the array). 0 or -1.
int tsdb_store_label_values(tsdb_store_reader_t *r, const char *name, char ***out, size_t *n_out,
                            fw_err_t *err);

#endif
