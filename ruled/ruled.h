/*  ruled.h — the rule evaluator daemon (Prometheus's rule manager).

    ruled reads a prometheus.yml (global.evaluation_interval, global.external_labels,
    rule_files), evaluates every rule group on its own timer (on a pool of worker threads,
    ruled_pool.h) by querying tsdb over DEALER/ROUTER, pushes recorded series (and ALERTS /
    ALERTS_FOR_STATE) to tsdb, and sends alert states to alertd on every evaluation. It
    serves /metrics and Prometheus's /api/v1/rules and /api/v1/alerts, and reloads on
    SIGHUP or POST /-/reload.
*/
#ifndef RULED_H
#define RULED_H

#include <stdint.h>

#include "fw_daemon.h"
#include "fw_err.h"
#include "fw_flags.h"
#include "ruled_rules.h"

typedef struct ruled ruled_t;

struct ruled_opts {
    struct fw_common_opts common;
    struct fw_daemon_eval_opts eval; // tsdb, query, alertd and pub endpoints; query timeout
    const char *external_url;        // generatorURL, $externalURL
    const char *storage_path;        // LMDB alert state (ruled_state.h); "" for none
    int64_t for_grace_ms;            // --rules.alert.for-grace-period
    int64_t outage_tolerance_ms;     // --rules.alert.for-outage-tolerance
    int64_t group_workers;           // --rules.group-workers: groups evaluated at once
};

// A daemon for opts (copied; its strings are borrowed and must outlive it) taking *cfg_p
// (set to NULL). Cannot fail; ruled_open() does what can.
ruled_t *ruled_new(const struct ruled_opts *opts, struct ruled_config **cfg_p);
void ruled_destroy(ruled_t **self_p);

// Create the sockets and start the HTTP server. 0, or -1 with err.
int ruled_open(ruled_t *self, fw_err_t *err);

// Run the zloop until SIGINT/SIGTERM. Returns 0, or -1 on a runtime failure.
int ruled_run(ruled_t *self);

// The HTTP port actually bound (tests listen on port 0).
int ruled_http_port(const ruled_t *self);

#endif
