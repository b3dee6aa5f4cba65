/*  tsdb_main.c — tsdb's main(): flags, config, then tsdb_new/run/destroy.

    `tsdb import FILE...` (tsdb_import.h), `tsdb check` (tsdb_check.h), `tsdb backup` and
    `tsdb restore` (tsdb_backup.h) and `tsdb migrate` (tsdb_migrate.h) are subcommands.
    Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
*/
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_ports.h"
#include "tsdb.h"
#include "tsdb_backup.h"
#include "tsdb_check.h"
#include "tsdb_import.h"
#include "tsdb_migrate.h"

static const struct fw_flag s_flags[] = {
    FW_FLAGS_COMMON(struct tsdb_opts, common, FW_HTTP_TSDB),
    {"storage.tsdb.path", FW_FLAG_STR, offsetof(struct tsdb_opts, storage_path), "data/tsdb",
     "directory of the LMDB database"},
    {"storage.tsdb.retention.time", FW_FLAG_DURATION, offsetof(struct tsdb_opts, retention_ms),
     "15d", "delete samples older than this (0s keeps everything)"},
    {"storage.tsdb.retention.size", FW_FLAG_STR, offsetof(struct tsdb_opts, retention_size), "0",
     "delete the oldest samples while the data takes more than this many bytes (Prometheus "
     "units, 1KB = 1024B; at least 32MiB; 0 keeps by time only)"},
    {"storage.tsdb.rollup-5m-retention", FW_FLAG_DURATION,
     offsetof(struct tsdb_opts, rollup_5m_retention_ms), "30d",
     "keep the 5-minute rollups this long (0: none written, the level off; else at least 5m)"},
    {"storage.tsdb.rollup-1h-retention", FW_FLAG_DURATION,
     offsetof(struct tsdb_opts, rollup_1h_retention_ms), "400d",
     "keep the 1-hour rollups this long (0: none written, the level off; else at least 1h)"},
    {"storage.tsdb.rollup-interval", FW_FLAG_DURATION,
     offsetof(struct tsdb_opts, rollup_interval_ms), "30s",
     "how often the rollup writer looks for newly sealed chunks (at least 1s)"},
    {"storage.tsdb.map-size", FW_FLAG_STR, offsetof(struct tsdb_opts, map_size), "8GiB",
     "LMDB map size: the largest the database may grow"},
    {"storage.tsdb.commit-interval", FW_FLAG_DURATION,
     offsetof(struct tsdb_opts, commit_interval_ms), "1s",
     "commit (and then acknowledge) ingested samples at least this often"},
    {"storage.tsdb.checkpoint-interval", FW_FLAG_DURATION,
     offsetof(struct tsdb_opts, checkpoint_interval_ms), "30s",
     "write every changed open chunk this often; commits between write only a log of the new "
     "samples, which a start replays (0s: no log, every commit writes the open chunks)"},
    {"storage.tsdb.ingest-pace", FW_FLAG_DURATION, offsetof(struct tsdb_opts, ingest_pace_ms),
     "250ms",
     "after reading SAMPLES batches, read those that come in this long together, in one "
     "wake-up (0s: read each as it comes; at most half the commit interval)"},
    {"zmq.samples-address", FW_FLAG_STR, offsetof(struct tsdb_opts, zmq_samples),
     FW_ZMQ_TSDB_SAMPLES, "bind ROUTER here for SAMPLES (answered with SAMPLES_ACK)"},
    {"zmq.query-address", FW_FLAG_STR, offsetof(struct tsdb_opts, zmq_query), FW_ZMQ_TSDB_QUERY,
     "bind ROUTER here for QUERY"},
    {"zmq.query-workers", FW_FLAG_INT, offsetof(struct tsdb_opts, zmq_query_workers), "4",
     "QUERY messages evaluated at once, each on a worker thread off the ingest loop (1-256)"},
    {"zmq.query-queue", FW_FLAG_INT, offsetof(struct tsdb_opts, zmq_query_queue), "64",
     "QUERY messages waiting for a worker at most; more are answered \"unavailable\""},
    {"zmq.query-timeout", FW_FLAG_DURATION, offsetof(struct tsdb_opts, zmq_query_timeout_ms), "30s",
     "a QUERY's time from arrival, waiting included; then it is answered \"timeout\""},
    {"query.timeout", FW_FLAG_DURATION, offsetof(struct tsdb_opts, query_timeout_ms), "2m",
     "maximum time a query may take before being aborted (HTTP and QUERY)"},
    {"query.max-samples", FW_FLAG_INT, offsetof(struct tsdb_opts, query_max_samples), "50000000",
     "maximum number of samples a single query can load into memory; a query over it fails"},
    {"query.rollups", FW_FLAG_BOOL, offsetof(struct tsdb_opts, query_rollups), "true",
     "answer queries from the rollups where they give the raw samples' exact answer (false: "
     "raw samples only)"},
    {"query.max-concurrency", FW_FLAG_INT, offsetof(struct tsdb_opts, query_max_concurrency), "20",
     "maximum number of queries executed concurrently; more wait"},
    {"enable-feature", FW_FLAG_LIST, offsetof(struct tsdb_opts, features), NULL,
     "comma-separated PromQL features to enable: promql-delayed-name-removal (the others "
     "Prometheus 3 keeps behind this flag are always on, st-storage and use-start-timestamps "
     "among them)"},
    {"zmq.pub-address", FW_FLAG_STR, offsetof(struct tsdb_opts, zmq_pub), FW_ZMQ_TSDB_PUB,
     "bind PUB here (stored sample batches)"},
    {"scraper.url", FW_FLAG_STR, offsetof(struct tsdb_opts, scraper_urls),
     "http://" FW_HTTP_SCRAPER,
     "scrapers whose targets /api/v1/targets shows, as comma-separated base URLs (one per "
     "shard; empty: none)"},
    {"scraper.timeout", FW_FLAG_DURATION, offsetof(struct tsdb_opts, scraper_timeout_ms), "2s",
     "how long /api/v1/targets waits for each scraper; one that does not answer is named in "
     "the answer's warnings"},
    {"ruled.url", FW_FLAG_STR, offsetof(struct tsdb_opts, ruled_urls), "http://" FW_HTTP_RULED,
     "ruled instances whose rule groups and alerts /api/v1/rules and /api/v1/alerts show, as "
     "comma-separated base URLs (empty: none)"},
    {"ruled.timeout", FW_FLAG_DURATION, offsetof(struct tsdb_opts, ruled_timeout_ms), "2s",
     "how long /api/v1/rules and /api/v1/alerts wait for each ruled; one that does not answer "
     "is named in the answer's warnings"},
    {"web.enable-admin-api", FW_FLAG_BOOL, offsetof(struct tsdb_opts, web_enable_admin_api),
     "false", "enable the admin API (/api/v1/admin/tsdb/snapshot); off, it answers 503"},
    {"storage.remote.read-sample-limit", FW_FLAG_INT,
     offsetof(struct tsdb_opts, remote_read_sample_limit), "50000000",
     "maximum overall number of samples to return via the remote read interface, in a single "
     "query (samples response type; 0 means no limit)"},
    {"storage.remote.read-concurrent-limit", FW_FLAG_INT,
     offsetof(struct tsdb_opts, remote_read_concurrency), "10",
     "maximum number of concurrent remote read calls (0 means no limit)"},
    {"storage.remote.read-max-bytes-in-frame", FW_FLAG_INT,
     offsetof(struct tsdb_opts, remote_read_frame_bytes), "1048576",
     "maximum number of bytes in a single frame for streaming remote read response types "
     "before marshalling (chunks of up to 120 samples: a frame may go over by one)"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "import") == 0)
        return tsdb_import_main(argc - 1, argv + 1, stdout, stderr);
    if (argc > 1 && strcmp(argv[1], "check") == 0)
        return tsdb_check_main(argc - 1, argv + 1, stdout, stderr);
    if (argc > 1 && strcmp(argv[1], "backup") == 0)
        return tsdb_backup_main(argc - 1, argv + 1, stderr);
    if (argc > 1 && strcmp(argv[1], "restore") == 0)
        return tsdb_restore_main(argc - 1, argv + 1, stderr);
    if (argc > 1 && strcmp(argv[1], "migrate") == 0)
        return tsdb_migrate_main(argc - 1, argv + 1, stdout, stderr);
    struct tsdb_opts opts = {.flags = s_flags};
    int rc = fw_flags_parse(argc, argv, "tsdb", "time-series storage with the Prometheus query API",
                            s_flags, &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (fw_flags_init_log("tsdb", &opts.common) < 0 || fw_flags_check_web_config(&opts.common) < 0)
        return 2;
    struct fw_cfg_errors errs = {0};
    struct fw_promcfg cfg;
    char *text = NULL;
    if (tsdb_config_load(opts.common.config_file, &cfg, &text, &errs) != 0) {
        fw_cfg_errors_report(&errs, true);
        fw_promcfg_free(&cfg);
        return 2;
    }
    if (opts.common.check_config) {
        fw_promcfg_free(&cfg);
        free(text);
        printf("configuration OK\n");
        return 0;
    }
    fw_process_init();
    // A query's large buffers (its answer's text, a range query's points) are mmapped and
    // unmapped when freed, at a fixed threshold: glibc's default raises the threshold after
    // the first such free, and later buffers then stay in the heap after the query (four
    // concurrent 11,000-step queries: peak 909 MiB and 23 MiB kept, against 694 and 4).
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    // Fixing it also fixes the trim threshold at 128 KiB, so the heap's top went back to the
    // kernel after each commit, which frees the pages LMDB mallocs for the log records (up
    // to 120 KiB each, tsdb_wal.h), and the next commit faulted them in again (about 30
    // faults a commit at 20,000 samples a second). Up to 1 MiB of free top stays mapped.
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
    tsdb_t *d = tsdb_new(&opts, &cfg, text);
    free(text);
    if (!d) {
        fw_promcfg_free(&cfg);
        return 1;
    }
    rc = tsdb_run(d);
    tsdb_destroy(&d);
    return rc == 0 ? 0 : 1;
}
