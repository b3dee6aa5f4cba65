/*  scraper.h — the scraper daemon: scrapes the targets of a prometheus.yml and sends every
    scrape as SAMPLES batches to tsdb (fw_sender: acknowledged, resent until tsdb has
    stored it) and to its taps (PUB).

    The class runs one zloop: the fetch actor (scraper_fetch.h) keeps the scrape schedule
    (each target's next scrape is queued with it when the last one is back) and hands the
    bodies to the worker pool (scraper_work.h) to be parsed, relabeled and encoded off the
    loop; the loop has a reader for the finished jobs, one on the fetch actor (cancelled or
    refused scrapes), and the 1 Hz housekeeping timer (self-metrics, SIGHUP and /-/reload). HTTP
    serves /metrics and a Prometheus-compatible GET /api/v1/targets.
*/
#ifndef SCRAPER_H
#define SCRAPER_H

#include <czmq.h>

#include "fw_err.h"
#include "fw_flags.h"
#include "fw_labels.h"
#include "fw_promcfg.h"
#include "fw_sender.h"
#include "scraper_client.h"
#include "scraper_shard.h"

typedef struct scraper scraper_t;

struct scraper_opts {
    struct fw_common_opts common;
    const char *zmq_tsdb_address;          // DEALER, connect (fw_sender)
    const char *zmq_pub_address;           // PUB, bind
    struct fw_sender_opts sender;          // --zmq.send-buffer, ...; endpoint from zmq_tsdb_address
    struct scraper_client_defaults limits; // --scrape.default-*: limits a config leaves at 0
    const char *shard_spec;                // --shard=I/N
    const char *shard_pod_name;            // --shard.pod-name (else HOSTNAME)
    int64_t shard_count;                   // --shard.count: N with I from the pod name
    struct scraper_shard shard;            // from the three above (scraper_shard_setup)
    int64_t workers;                       // --scrape.workers: threads for the scrapes' CPU work
    const char *bench_parse;               // --bench-parse=FILE (scraper_bench.h)
    const char *bench_work;                // --bench-work=FILE[,FILE2] (scraper_bench.h)
};

// The embedded default configuration (scraper/scraper.example.yml).
extern const char fw_embed_scraper_default[];

// Load the configuration from file, or the embedded default when file is NULL. out is
// filled as by fw_promcfg_load(); 0, or -1 with errs filled (free out either way).
int scraper_config_load(const char *file, struct fw_promcfg *out, struct fw_cfg_errors *errs);

// A scraper with opts (borrowed; must outlive it). Cannot fail.
scraper_t *scraper_new(const struct scraper_opts *opts);
// Take the configuration (its contents move into the scraper and *cfg is zeroed), connect
// and bind the sockets, start the fetch actor and the HTTP server. 0, or -1 with err.
int scraper_open(scraper_t *self, struct fw_promcfg *cfg, fw_err_t *err);
// Run until SIGINT/SIGTERM, or, when pipe is not NULL (the scraper runs inside an actor),
// until "$TERM" arrives on it. Returns 0, or -1 on a runtime failure.
int scraper_run(scraper_t *self, zsock_t *pipe);
// Stop, give tsdb a bounded time to acknowledge what is unacknowledged, and free.
void scraper_destroy(scraper_t **self_p);

// The HTTP port actually bound (after scraper_open).
int scraper_http_port(const scraper_t *self);

// When a target with labels scraped every interval_ms scrapes, in ms after the start of each
// interval (the scraper counts intervals on one grid of the monotonic clock, so targets added
// apart still share the offset's moment): Prometheus's stable offset from a hash of the target,
// rounded down to a slot of interval/SCRAPER_SLOTS, at most SCRAPER_SLOT_MAX_MS. Targets
// of one interval thus start in at most SCRAPER_SLOTS groups per interval (every 250 ms at
// most for short intervals, still spread over the whole interval for long ones): one wake-up
// of the fetch thread starts a group, its answers come back to the loop together and its
// batches go to tsdb together, where each target at its own millisecond cost the threads a
// wake-up per scrape.
#define SCRAPER_SLOTS 4
#define SCRAPER_SLOT_MAX_MS 250
int64_t scraper_slot_offset(const struct fw_labels *labels, int64_t interval_ms);

#endif
