/*  tsdb_rwsend_meta.h — remote_write's metadata_config: tsdb's metric metadata sent to a
    remote_write receiver as a Prometheus sender sends it.

    With metadata_config.send (true unless set false, as in Prometheus), every
    send_interval (1m) a thread of the queue takes every distinct (metric, type, unit, help)
    of tsdb's metadata table (the scrapers' targets and what was remote-written into tsdb;
    tsdb_metadata_each) and sends it as remote write 1.0 WriteRequests holding only
    metadata (prompb MetricMetadata: type, metric_family_name, help, unit), at most
    max_samples_per_send (500) families each, snappy-compressed, with the queue's URL,
    headers and authentication (the post function the queue gives). The first round goes
    one send_interval after the start, as Prometheus's metadata watcher's. A 5xx, a 429
    when retry_on_http_429, or a transport error is retried with the queue's min_backoff
    doubling to max_backoff, for at most one send_interval (the next round sends all of it
    again), then counted as failed; another 4xx is counted as failed at once. Counted per
    remote_name in fw_tsdb_remote_storage_metadata_total (families the receiver accepted),
    _metadata_failed_total, _metadata_retried_total and _metadata_bytes_total (compressed
    bytes sent), as Prometheus's prometheus_remote_storage_metadata_*.
*/
#ifndef TSDB_RWSEND_META_H
#define TSDB_RWSEND_META_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_metrics.h"
#include "fw_promcfg_rw.h"
#include "fw_json_out.h"
#include "fw_tlsfiles.h"
#include "tsdb_metadata.h"

typedef struct tsdb_rwsend_meta tsdb_rwsend_meta_t;

// The connection one sender thread posts on (the metadata sender's here, and each shard's
// of the queue): an easy handle, and the generations of the TLS files (fw_tlsfiles.h) its
// connections were made under. The post function may replace easy: a TLS file's content
// changed, so the old handle and with it its connections are closed, as Prometheus closes
// the old transport's idle connections.
struct tsdb_rwsend_meta_conn {
    CURL *easy; // owned
    uint64_t tls_gen[FW_TLSFILES_N];
};

// One POST of a snappy WriteRequest body on c to the queue's receiver: the HTTP status,
// 0 on a transport error (with err), -1 when the queue stops.
typedef long (*tsdb_rwsend_meta_post_fn)(void *arg, struct tsdb_rwsend_meta_conn *c,
                                         const char *body, size_t len, fw_err_t *err);

struct tsdb_rwsend_meta_opts {
    struct fw_rw_metadata_config mc;
    int64_t min_backoff_ms, max_backoff_ms;
    bool retry_on_http_429;
    const char *name;          // borrowed: remote_name, for the logs
    const char *metric_labels; // borrowed: remote_name="..."
};

// Declare the metrics (once per metrics registry).
void tsdb_rwsend_meta_declare(fw_metrics_t *metrics);

// Start sending md's families (md, metrics, o's strings and arg borrowed: they must outlive
// self) through post(arg, ...). NULL when the thread cannot start (logged).
tsdb_rwsend_meta_t *tsdb_rwsend_meta_new(tsdb_metadata_t *md, fw_metrics_t *metrics,
                                         const struct tsdb_rwsend_meta_opts *o,
                                         tsdb_rwsend_meta_post_fn post, void *arg);
// Stop and join the thread (a post in flight returns once the queue's own stop aborts it),
// free. NULL-safe.
void tsdb_rwsend_meta_destroy(tsdb_rwsend_meta_t **self_p);

// Encode md's distinct families into *all as consecutive WriteRequest.metadata fields,
// appending the end offset of each to *ends (grown with fw_mem_grow; *cap its capacity).
// Any run of consecutive fields is a WriteRequest. Returns how many families.
size_t tsdb_rwsend_meta_collect(tsdb_metadata_t *md, struct fw_json_out *all, size_t **ends,
                                size_t *cap);

#endif
