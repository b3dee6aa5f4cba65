/*  tsdb_rwsend.h — the Prometheus remote-write sender: prometheus.yml's remote_write.

    Each remote_write entry is a queue of shards, between queue_config.min_shards and
    max_shards as a manager thread decides every 10 s (tsdb_rwsend_shards.h; to change
    them, every shard sends up to the highest position and stops, then the new ones start
    there), each a thread of its own that reads tsdb's store (never the ingest loop) and
    sends what it reads. A shard owns the series whose store id falls on it, so each
    series' samples leave in order.
    It works in windows of time: it reads its series' samples with timestamps in (pos, end],
    where end is TSDB_RWSEND_DELAY_MS behind now (what the ingest loop commits by then is
    read; later arrivals with older timestamps the store records for the shard to send
    before its next window: tsdb_rwsend_late.h), at most
    TSDB_RWSEND_WINDOW_MS past pos and as far as 90% of queue_config.capacity samples
    reached at the last window's rate (a catching-up shard would otherwise read a minute of
    every series and keep capacity of it), and at most capacity samples (a window cut short
    puts the marks of the series read past the cut back: tsdb_rwsend_read.c; the samples read,
    fw_tsdb_remote_storage_samples_read_total, count the ones read again); it reads
    the series it read before straight from the head's open chunks, in place and from where
    the last window stopped (tsdb_store_tail_read, one hold of the head lock per slice of
    series), and the others (new, chunk cut, re-encoded) through store iterators; it sorts
    them by time and sends them as remote write 1.0 requests (snappy, prompb.WriteRequest, at
    most max_samples_per_send samples each) in time order, one after the other. After each
    request the receiver accepted (2xx) or refused for good (4xx other than 429, counted
    as failed), the shard's position moves to just before the next request's first
    timestamp and is written to disk (<storage>/remote_write/<name>.pos, fsync'd, renamed
    into place), so a restarted tsdb resumes where the receiver's answers left it, from
    what the store holds: nothing in flight is lost, and at most one request is sent again
    (its samples are the newest of their series at the receiver, so Prometheus takes the
    repeat as a no-op). A 5xx, a 429 when retry_on_http_429, or a transport error is
    retried with min_backoff doubling to max_backoff, forever (until stopped).

    external_labels are added (a series' own label wins), then write_relabel_configs
    applied. Headers, basic_auth, authorization (bearer_token(_file) folded in, files read
    per request), tls_config (without server_name) and azuread OAuth client credentials
    (a token from the cloud's Microsoft Entra endpoint, cached until 5 minutes before it
    expires) authenticate the requests.

    metadata_config (send, true by default as in Prometheus; send_interval;
    max_samples_per_send) sends tsdb's metric metadata to the same receiver from a thread of
    the queue (tsdb_rwsend_meta.h), once tsdb_rwsend_set_metadata gave the table.
*/
#ifndef TSDB_RWSEND_H
#define TSDB_RWSEND_H

#include "fw_err.h"
#include "fw_metrics.h"
#include "fw_promcfg.h"
#include "tsdb_metadata.h"
#include "tsdb_store.h"

#define TSDB_RWSEND_DELAY_MS 10000  // a window ends this far behind now
#define TSDB_RWSEND_WINDOW_MS 60000 // and at most this far past the shard's position
#define TSDB_RWSEND_SHARDS_MAX 64   // shards per queue, whatever min_shards says

typedef struct tsdb_rwsend tsdb_rwsend_t;

// A sender reading store (borrowed), keeping positions under dir (created when needed),
// counting into metrics (borrowed). Nothing runs before tsdb_rwsend_apply.
tsdb_rwsend_t *tsdb_rwsend_new(tsdb_store_t *store, const char *dir, fw_metrics_t *metrics);
// The metadata table metadata_config sends from (borrowed; must outlive self). Before
// tsdb_rwsend_apply; without it no metadata is sent.
void tsdb_rwsend_set_metadata(tsdb_rwsend_t *self, tsdb_metadata_t *md);
// Run the queues of cfg's remote_write (borrowed: copied what is needed), stopping the
// running ones first (their positions stay on disk). 0, or -1 with err (a position file
// that cannot be made).
int tsdb_rwsend_apply(tsdb_rwsend_t *self, const struct fw_promcfg *cfg, fw_err_t *err);
// Stop every queue (waits for the shards: at most one request's connect and transfer are
// cut short) and free. NULL-safe.
void tsdb_rwsend_destroy(tsdb_rwsend_t **self_p);

#endif
