/*  scraper_main.c — main() of the scraper daemon: flags, configuration, then the class.

    Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
*/
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "fw_cfg.h"
#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_ports.h"
#include "fw_sender.h"
#include "scraper.h"
#include "scraper_bench.h"

static const struct fw_flag s_flags[] = {
    FW_FLAGS_COMMON(struct scraper_opts, common, FW_HTTP_SCRAPER),
    {"zmq.tsdb-address", FW_FLAG_STR, offsetof(struct scraper_opts, zmq_tsdb_address),
     FW_ZMQ_TSDB_SAMPLES, "tsdb's samples endpoint (DEALER, connect; acknowledged)"},
    FW_SENDER_FLAGS(struct scraper_opts, sender),
    {"zmq.pub-address", FW_FLAG_STR, offsetof(struct scraper_opts, zmq_pub_address),
     FW_ZMQ_SCRAPER_PUB, "endpoint publishing every scraped batch (PUB, bind)"},
    {"scrape.default-body-size-limit", FW_FLAG_SIZE,
     offsetof(struct scraper_opts, limits.body_size_limit), "64MiB",
     "body_size_limit of a job that sets none (decoded bytes; a bigger body fails the scrape)"},
    {"scrape.default-sample-limit", FW_FLAG_INT, offsetof(struct scraper_opts, limits.sample_limit),
     "500000", "sample_limit of a job that sets none (0: none)"},
    {"scrape.default-label-value-length-limit", FW_FLAG_INT,
     offsetof(struct scraper_opts, limits.label_value_length_limit), "65536",
     "label_value_length_limit of a job that sets none (0: none)"},
    {"bench-parse", FW_FLAG_STR, offsetof(struct scraper_opts, bench_parse), NULL,
     "FILE: print the parse throughput and the CPU per sample of a scrape's whole work on "
     "this exposition body (the config's first job's metric_relabel_configs), then exit"},
    {"bench-work", FW_FLAG_STR, offsetof(struct scraper_opts, bench_work), NULL,
     "FILE[,FILE2]: scrape these bodies as a target of the config's first job to learn their "
     "series, then 20 more (the steady state, for callgrind's instruction count), print the "
     "samples kept and their CPU, and exit"},
    {"scrape.workers", FW_FLAG_INT, offsetof(struct scraper_opts, workers), "2",
     "threads that parse, relabel and encode scrapes, off the loop (a target always goes to "
     "the same one)"},
    {"shard", FW_FLAG_STR, offsetof(struct scraper_opts, shard_spec), NULL,
     "I/N: scrape only the targets of shard I of N (by a hash of their labels after "
     "relabeling); every replica gets the same config and its own I"},
    {"shard.count", FW_FLAG_INT, offsetof(struct scraper_opts, shard_count), "0",
     "N replicas, with this one's I from its StatefulSet pod name (scraper-2: 2); 0: no "
     "sharding unless --shard"},
    {"shard.pod-name", FW_FLAG_STR, offsetof(struct scraper_opts, shard_pod_name), NULL,
     "pod name whose -<ordinal> suffix is I with --shard.count (default: $HOSTNAME)"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
main(int argc, char **argv)
{
    struct scraper_opts opts = {0};
    int rc = fw_flags_parse(argc, argv, "scraper",
                            "scrapes the targets of a prometheus.yml into floorwatch's tsdb",
                            s_flags, &opts);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (fw_flags_init_log("scraper", &opts.common) != 0 ||
        fw_flags_check_web_config(&opts.common) < 0)
        return 2;
    fw_err_t err;
    if (scraper_shard_setup(opts.shard_spec, opts.shard_pod_name, opts.shard_count, &opts.shard,
                            &err) != 0) {
        fprintf(stderr, "scraper: %s\n", err.msg);
        return 2;
    }

    struct fw_promcfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    if (scraper_config_load(opts.common.config_file, &cfg, errs) != 0) {
        fw_cfg_errors_report(errs, true);
        fw_promcfg_free(&cfg);
        free(errs);
        return 2;
    }
    free(errs);
    if (opts.bench_parse || opts.bench_work) {
        rc = opts.bench_parse ? scraper_bench_parse(opts.bench_parse, &cfg)
                              : scraper_bench_work(opts.bench_work, &cfg);
        fw_promcfg_free(&cfg);
        return rc == 0 ? 0 : 1;
    }
    if (opts.common.check_config) {
        printf("configuration OK\n");
        fw_promcfg_free(&cfg);
        return 0;
    }

    fw_process_init();
    // The targets of a start slot (scraper.h) are fetched together, each with curl's 256 KiB
    // receive buffer and its body: with glibc's default thresholds the heap's free top then
    // went back to the kernel after each slot and the next one faulted it in again (about
    // 12 faults a scrape). Up to 4 MiB of free top stays mapped; only blocks of 1 MiB and
    // more are mmapped (a fixed threshold, as glibc's own rises only after such a free).
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 4 * 1024 * 1024);
    scraper_t *scraper = scraper_new(&opts);
    if (scraper_open(scraper, &cfg, &err) != 0) {
        fw_error("scraper.start.fail", "err=%s", err.msg);
        rc = 1;
    } else {
        rc = scraper_run(scraper, NULL) == 0 ? 0 : 1;
    }
    scraper_destroy(&scraper);
    fw_promcfg_free(&cfg);
    return rc;
}
