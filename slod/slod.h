/*  slod.h — the SLO daemon: SLIs, error budgets and burn rates from tsdb, burn-rate pages.

    Every evaluation_interval slod evaluates each SLO (slod_eval.h: error ratios over 5m to
    the SLO's period, long windows from 5-minute rings journalled under --storage.path),
    pushes the slo:* series to tsdb, and sends the page and ticket burn-rate alerts to alertd
    as ALERTS messages (source "slod"). It serves /metrics and /api/v1/slos, and reloads on
    SIGHUP or POST /-/reload.
*/
#ifndef SLOD_H
#define SLOD_H

#include <stdint.h>

#include "fw_daemon.h"
#include "fw_err.h"
#include "fw_flags.h"
#include "slod_cfg.h"

typedef struct slod slod_t;

struct slod_opts {
    struct fw_common_opts common;
    struct fw_daemon_eval_opts eval; // tsdb, query, alertd and pub endpoints; query timeout
    const char *storage_path;        // the rings' journal directory; "" for none
    int64_t backfill_buckets;        // ring buckets filled from history per evaluation
    const char *external_url;        // --web.external-url: $externalURL
};

// Load the configuration: config_file, or the embedded slod/slod.example.yml when NULL.
// 0, or -1 with every problem in errs.
int slod_load_config(const char *config_file, struct slod_cfg *out, struct fw_cfg_errors *errs);

// A daemon for opts (copied; strings borrowed) taking *cfg_p (set to NULL). Cannot fail.
slod_t *slod_new(const struct slod_opts *opts, struct slod_cfg **cfg_p);
void slod_destroy(slod_t **self_p);
// Create the sockets and start the HTTP server. 0, or -1 with err.
int slod_open(slod_t *self, fw_err_t *err);
// Run the zloop until SIGINT/SIGTERM. Returns 0.
int slod_run(slod_t *self);

#endif
