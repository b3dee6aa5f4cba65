/*  tsdb.h — the time-series database daemon.

    tsdb takes SAMPLES batches (scraper, ruled, slod) on a ROUTER, stores each exactly once
    in LMDB (tsdb_ingest, tsdb_store), many batches per write transaction, and acknowledges
    them with SAMPLES_ACK once that transaction is durable; stored batches are re-PUBlished
    for fwtail. It answers QUERY messages on a ROUTER socket and serves the
    Prometheus HTTP API (tsdb_api) on --web.listen-address, so Grafana and promtool talk to
    it as to Prometheus. The config file is a prometheus.yml (only `global` matters to
    tsdb); without --config.file the embedded tsdb/tsdb.example.yml is used.
*/
#ifndef TSDB_H
#define TSDB_H

#include <stdint.h>

#include "fw_cfg.h"
#include "fw_flags.h"
#include "fw_promcfg.h"

struct tsdb_opts {
    struct fw_common_opts common;
    const char *storage_path;       // --storage.tsdb.path
    bool web_enable_admin_api;      // --web.enable-admin-api (tsdb_api_admin.h)
    int64_t retention_ms;           // --storage.tsdb.retention.time; 0 keeps everything
    const char *map_size;           // --storage.tsdb.map-size ("8GiB")
    const char *retention_size;     // --storage.tsdb.retention.size ("0": by time only)
    int64_t rollup_5m_retention_ms; // --storage.tsdb.rollup-5m-retention (0: off)
    int64_t rollup_1h_retention_ms; // --storage.tsdb.rollup-1h-retention (0: off)
    int64_t rollup_interval_ms;     // --storage.tsdb.rollup-interval (0: 30s)
    bool query_rollups;             // --query.rollups: answer from rollups where exact
    int64_t commit_interval_ms;     // --storage.tsdb.commit-interval (0: 1s)
    int64_t checkpoint_interval_ms; // --storage.tsdb.checkpoint-interval (0: no log)
    int64_t ingest_pace_ms;         // --storage.tsdb.ingest-pace (0: off)
    const char *zmq_samples;        // bind ROUTER (SAMPLES in, SAMPLES_ACK out)
    const char *zmq_query;          // bind ROUTER
    const char *zmq_pub;            // bind PUB

    // QUERY answered by worker threads (tsdb_query.h); 0 in each: the default
    int64_t zmq_query_workers;    // --zmq.query-workers
    int64_t zmq_query_queue;      // --zmq.query-queue
    int64_t zmq_query_timeout_ms; // --zmq.query-timeout

    // Limits of every query, HTTP and QUERY (struct tsdb_api_limits); 0 in each: the default,
    // but for --query.max-samples, where 0 (as in Prometheus) fails every query with a sample
    int64_t query_timeout_ms;      // --query.timeout
    int64_t query_max_samples;     // --query.max-samples
    int64_t query_max_concurrency; // --query.max-concurrency
    struct fw_flag_list features;  // --enable-feature (tsdb_api_set_features)

    // /api/v1/targets, asked of the scrapers (tsdb_targets.h)
    const char *scraper_urls;   // --scraper.url: comma-separated base URLs ("": none)
    int64_t scraper_timeout_ms; // --scraper.timeout: per scraper and request

    // /api/v1/rules and /api/v1/alerts, asked of ruled (tsdb_rules.h)
    const char *ruled_urls;   // --ruled.url: comma-separated base URLs ("": none)
    int64_t ruled_timeout_ms; // --ruled.timeout: per ruled and request

    // POST /api/v1/read (tsdb_rread.h); as Prometheus's --storage.remote.read-* flags
    int64_t remote_read_sample_limit; // --storage.remote.read-sample-limit (0: none)
    int64_t remote_read_concurrency;  // --storage.remote.read-concurrent-limit (0: none)
    int64_t remote_read_frame_bytes;  // --storage.remote.read-max-bytes-in-frame

    const struct fw_flag *flags; // borrowed, may be NULL: the table opts was parsed with
                                 // (shown by /api/v1/status/flags)
};

typedef struct tsdb tsdb_t;

// Load the config: file `path`, or the embedded default when path is NULL. On success 0,
// *cfg filled and *text_out (may be NULL) the YAML as it may be shown, every secret masked
// (fw_promcfg_shown; caller frees). -1 with errs.
int tsdb_config_load(const char *path, struct fw_promcfg *cfg, char **text_out,
                     struct fw_cfg_errors *errs);

// Takes ownership of *cfg (zeroed). Opens the store, binds the sockets, starts HTTP.
// NULL on failure (logged).
tsdb_t *tsdb_new(const struct tsdb_opts *opts, struct fw_promcfg *cfg, const char *cfg_text);
// Run the zloop until SIGINT/SIGTERM, then take the queued samples and commit. 0 or -1.
int tsdb_run(tsdb_t *self);
void tsdb_destroy(tsdb_t **self_p);

// The bound endpoints and HTTP port (useful when binding ephemeral ports in tests).
const char *tsdb_samples_endpoint(tsdb_t *self);
const char *tsdb_query_endpoint(tsdb_t *self);
const char *tsdb_pub_endpoint(tsdb_t *self);
int tsdb_http_port(tsdb_t *self);
// The ingest pace in effect: --storage.tsdb.ingest-pace held to half the commit interval.
size_t tsdb_ingest_pace_ms(const tsdb_t *self);

#endif
