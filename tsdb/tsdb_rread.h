/*  tsdb_rread.h — the Prometheus remote-read endpoint: POST /api/v1/read.

    A ReadRequest (snappy block, tsdb_rread_proto.h) is answered as Prometheus's
    storage/remote/read_handler.go answers it. The response type is the first of the
    request's accepted_response_types this server knows (none listed: SAMPLES):
    - SAMPLES: one ReadResponse, snappy-compressed (Content-Type application/x-protobuf,
      Content-Encoding snappy), a QueryResult per query in order, built in memory: at most
      --storage.remote.read-sample-limit samples in all (then 400 "exceeded sample limit
      (N)", Prometheus's text; 0: no limit) and TSDB_RREAD_MAX_RESPONSE_BYTES bytes before
      compression (then 400 "exceeded response size limit (N bytes)").
    - STREAMED_XOR_CHUNKS: frames (tsdb_rread_proto.h) sent as they are made, over chunked
      transfer encoding: per query, its series sorted by labels, each series' samples
      re-encoded into Prometheus XOR chunks of up to TSDB_XOR_CHUNK_SAMPLES samples
      (tsdb_xor.h; floorwatch's own chunk encodings differ), as many chunks a frame as
      --storage.remote.read-max-bytes-in-frame allows (less the labels' size: Prometheus's
      rule; a frame may go over by one chunk). Memory is one frame and the selected series'
      labels; each frame is made in a read transaction of its own, so a slow client holds
      no snapshot.
    Each query's series are those its matchers select (as the query API's selectors, a
    regex anchored; no matcher: none). An equality matcher on a global.external_labels
    label with that label's value is turned into name="" (the stored series do not carry
    it), and the answers carry the external labels a series lacks. The range is
    [start_timestamp_ms, end_timestamp_ms], both included, as Prometheus's storage selects:
    the asking engine makes its own windows left-open by the range it asks for (Prometheus 3
    asks from start + 1 ms). Hints, as Prometheus's TSDB uses them: their start_ms and end_ms
    narrow the range, and func "series" answers the series without samples (SAMPLES only).

    Errors, Prometheus's codes and texts (text/plain):
        400  not snappy ("snappy: corrupt input"), not a ReadRequest (gogo-protobuf's
             text), no accepted type known ("server does not support any of the requested
             response types: [..]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]"),
             over a limit above or TSDB_RREAD_MAX_QUERIES / _MATCHERS
        413  body over 16 MiB (fw_http's limit) or decompressed over TSDB_RREAD_MAX_DECODED
        500  a matcher Prometheus refuses (an unknown type: "invalid matcher type"; a regex
             that does not compile: Go's text), a storage error
        503  --storage.remote.read-concurrent-limit requests already running for
             TSDB_RREAD_GATE_WAIT_MS (Prometheus waits as long as the client does)
    A streamed answer that fails once started is broken off (the client sees it
    truncated), as Prometheus's can only do too. Counted in
    fw_tsdb_remote_read_requests_total{type,code}; fw_tsdb_remote_read_samples_total
    counts the samples sent. The handler runs on the HTTP connection's thread, never on
    tsdb's loop.
*/
#ifndef TSDB_RREAD_H
#define TSDB_RREAD_H

#include <stdint.h>

#include "fw_http.h"
#include "fw_labels.h"
#include "fw_metrics.h"
#include "tsdb_store.h"

#define TSDB_RREAD_MAX_DECODED ((size_t)32 << 20)         // decompressed ReadRequest bytes
#define TSDB_RREAD_MAX_RESPONSE_BYTES ((size_t)512 << 20) // a SAMPLES answer, uncompressed
#define TSDB_RREAD_GATE_WAIT_MS 30000                     // wait for a free slot
#define TSDB_RREAD_DEFAULT_SAMPLE_LIMIT 50000000          // Prometheus's defaults
#define TSDB_RREAD_DEFAULT_CONCURRENCY 10
#define TSDB_RREAD_DEFAULT_FRAME_BYTES 1048576

struct tsdb_rread_opts {
    int64_t sample_limit; // SAMPLES answers; 0: none
    int64_t concurrency;  // requests at once; 0: no limit
    int64_t frame_bytes;  // streamed frames' budget (> 0)
};

typedef struct tsdb_rread tsdb_rread_t;

// An endpoint over store and metrics (borrowed; they must outlive it). Cannot fail.
tsdb_rread_t *tsdb_rread_new(tsdb_store_t *store, fw_metrics_t *metrics,
                             const struct tsdb_rread_opts *opts);
// After fw_http_destroy (no handler or stream may run). NULL-safe.
void tsdb_rread_destroy(tsdb_rread_t **self_p);
// Use l (copied; NULL: none) as global.external_labels from now on. Thread-safe.
void tsdb_rread_set_external_labels(tsdb_rread_t *self, const struct fw_labels *l);
// Add POST /api/v1/read.
void tsdb_rread_routes(tsdb_rread_t *self, fw_http_t *http);

// The answer to one request body, without HTTP: fills resp as the route does (status,
// body or stream, content type, headers). For tests.
void tsdb_rread_handle(tsdb_rread_t *self, const unsigned char *body, size_t len,
                       struct fw_http_response *resp);

#endif
