/*  tsdb_rwrite.h — the Prometheus remote-write receiver: POST /api/v1/write.

    A remote-write 1.0 request (snappy-compressed prompb.WriteRequest, tsdb_rwproto.h), or a
    2.0 one (Content-Type application/x-protobuf;proto=io.prometheus.write.v2.Request: labels
    as references into a symbols table; answered with X-Prometheus-Remote-Write-Samples-,
    -Histograms- and -Exemplars-Written; histograms and exemplars are not stored, so 0; a
    series' created_timestamp becomes its samples' start time, SAMPLES v4), is
    decompressed, checked and turned into SAMPLES batches on the HTTP thread that took it,
    never on tsdb's ingest loop. The batches go to tsdb's own samples ROUTER over an inproc
    endpoint bound beside its TCP one, through a DEALER of a small pool, so they take exactly
    the path of a scraper's batches: tsdb_ingest's exactly-once decisions, the store's
    append rules (out-of-order window, duplicates) and counters, the group commit. The
    request is answered 204 only once tsdb acknowledged every batch, i.e. once the commit
    holding them is durable; a sender that never hears back retries, and what was already
    stored is stored once (a repeated sample is a no-op).

    Answers, as Prometheus's storage/remote/write_handler.go gives them (text/plain):
        204  stored
        400  body not snappy ("snappy: corrupt input"), not a WriteRequest (gogo-protobuf's
             text, e.g. "unexpected EOF"), a sample more than 10 minutes ahead of now ("out
             of bounds", nothing stored; 1.0), or series with invalid labels ("invalid metric
             name or labels, got {...}"; the valid series of the request are stored),
             or a sample storage refuses ("out of order sample", "duplicate sample for
             timestamp", "too old sample"): 1.0 stores nothing of the request then (every
             sample is judged against its series' newest stored one before any is
             appended, as Prometheus rolls back its appender; one refused only by an
             earlier sample of the same request is dropped, 204, as Prometheus's commit
             drops it, counted in fw_tsdb_remote_write_dropped_samples_total).
             2.0, as Prometheus 3's writeV2: each series and sample is judged on its own,
             the rest of the request is stored, and the answer holds one line per refusal
             in request order (tsdb_rwpartial.h): "invalid metric name or labels, got
             {...}", "invalid labels for series, labels {...}, duplicated label x",
             "parsing labels for series [refs]: ...", "TimeSeries must contain at least
             one sample or histogram for series {...}", and per sample "out of order
             sample", "duplicate sample for timestamp T; overrides not allowed: existing
             X, new value Y", "too old sample" or "out of bounds: timestamp is too far in
             the future" followed by " for series {...}"; the -Written headers count what
             was stored
        413  compressed body over 16 MiB (fw_http's limit) or decompressed over
             TSDB_RWRITE_MAX_DECODED
        415  a Content-Type other than application/x-protobuf (proto=prometheus.WriteRequest,
             io.prometheus.write.v2.Request or none), a Content-Encoding other than snappy
        503  storage not writable, shutting down, or no acknowledgement within
             TSDB_RWRITE_ACK_TIMEOUT_MS (the sender retries)
    Each request is counted in fw_tsdb_remote_write_requests_total{code}, each refusal in
    fw_tsdb_remote_write_rejected_total{reason}.

    Metadata (1.0's WriteRequest.metadata, which a Prometheus sends every
    metadata_config.send_interval; 2.0's per-series metadata, named by the series'
    __name__) goes into tsdb's metadata table (tsdb_metadata_put: /api/v1/metadata) once
    the body passed the protobuf check, whatever happens to its samples. An entry whose type
    is no MetricType (0-7), whose 2.0 help or unit ref is outside the symbols, or that the
    table refuses (bounds, UTF-8, full) is dropped alone, never the request; both counted in
    fw_tsdb_remote_write_metadata_total{result="stored"|"refused"}.
*/
#ifndef TSDB_RWRITE_H
#define TSDB_RWRITE_H

#include <czmq.h>

#include "fw_err.h"
#include "fw_http.h"
#include "fw_metrics.h"
#include "tsdb_metadata.h"
#include "tsdb_store.h"

#define TSDB_RWRITE_MAX_DECODED ((size_t)32 << 20) // decompressed WriteRequest bytes
#define TSDB_RWRITE_ACK_TIMEOUT_MS 20000           // wait for tsdb's acknowledgement
#define TSDB_RWRITE_BATCH_BYTES ((size_t)4 << 20)  // SAMPLES body bytes per batch
// DEALERs, i.e. requests held at once: each waits up to a commit interval for its
// acknowledgement, so a Prometheus sender keeping up with 20,000 samples/s runs about 50
// shards against tsdb (make bench, BENCH_SECTIONS=remote); 16 held it to about 6,000.
#define TSDB_RWRITE_CHANNELS 128

typedef struct tsdb_rwrite tsdb_rwrite_t;

// A receiver feeding samples (tsdb's samples ROUTER, borrowed: an inproc endpoint is bound
// on it here, on the caller's thread, before its loop runs), checking store (borrowed) is
// writable, counting into metrics (borrowed). NULL with err when the bind fails.
tsdb_rwrite_t *tsdb_rwrite_new(zsock_t *samples, tsdb_store_t *store, fw_metrics_t *metrics,
                               fw_err_t *err);
// Make waiting requests give up (503) and new ones be refused: before fw_http_destroy.
void tsdb_rwrite_stop(tsdb_rwrite_t *self);
// After fw_http_destroy (no handler may run). NULL-safe.
void tsdb_rwrite_destroy(tsdb_rwrite_t **self_p);

// Keep the metadata of requests in md (borrowed; must outlive self). Before the routes
// serve; without it metadata is checked and not kept.
void tsdb_rwrite_set_metadata(tsdb_rwrite_t *self, tsdb_metadata_t *md);

// Add POST /api/v1/write.
void tsdb_rwrite_routes(tsdb_rwrite_t *self, fw_http_t *http);

// What a remote write 2.0 request wrote (its X-Prometheus-Remote-Write-*-Written headers).
struct tsdb_rwrite_written {
    int version; // 1 or 2 (TSDB_RWPROTO_V*): the headers are sent for 2 only
    size_t samples, histograms, exemplars;
};

// The answer to one request (status, text body the caller frees, NULL for 204), without
// HTTP: content_type and encoding may be NULL (absent headers).
int tsdb_rwrite_handle(tsdb_rwrite_t *self, const char *content_type, const char *encoding,
                       const unsigned char *body, size_t len, char **text,
                       struct tsdb_rwrite_written *w);

#endif
