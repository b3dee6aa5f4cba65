/*  alertd.h — the alert manager daemon: receives alert states, groups them, and hands each
    notification to notifyd.

    alertd PULLs ALERTS messages (from ruled/slod) and serves Alertmanager's API v2 on its
    HTTP port (amtool and existing clients work unchanged). Alerts are merged into a store
    keyed by fingerprint and routed into aggregation groups (alertd_dispatch); due groups
    flush on a 50 ms timer into NOTIFY messages PUSHed to notifyd and PUBlished for taps.
    HTTP handlers run on the HTTP thread and share the store, groups and silences with the
    zloop thread under one mutex.
*/
#ifndef ALERTD_H
#define ALERTD_H

#include "alertd_cfg.h"
#include "alertd_cluster.h"
#include "fw_cfg.h"
#include "fw_flags.h"

struct alertd_opts {
    struct fw_common_opts common;
    const char *zmq_alerts;      // bind PULL
    const char *zmq_notifyd;     // connect PUSH
    const char *zmq_pub;         // bind PUB
    const char *zmq_notifyd_pub; // connect SUB here for NOTIFY_RESULT
    const char *storage_path;    // the state (LMDB): alerts, silences, notification log; NULL or
                                 // "": kept in memory only
    int64_t data_retention;      // ms a notification log entry is kept
    int64_t silences_max;        // --silences.max-silences; <= 0: no limit
    int64_t silence_size_max;    // --silences.max-silence-size-bytes; <= 0: no limit
    const char *external_url;
    struct fw_flag_list cluster_peers;  // --cluster.peer (repeatable)
    const char *cluster_tls_config;     // refused when given (not supported)
    struct alertd_cluster_opts cluster; // listen NULL or "": no cluster; peers: cluster_peers
};

typedef struct alertd alertd_t;

// Load the config file, or the embedded default when file is NULL. NULL with errs filled.
struct alertd_cfg *alertd_config_load(const char *file, struct fw_cfg_errors *errs);

// Build the daemon: takes ownership of *cfg_p; binds sockets and starts HTTP. NULL on
// failure (logged).
alertd_t *alertd_new(const struct alertd_opts *opts, struct alertd_cfg **cfg_p);
// Run the zloop until SIGINT/SIGTERM. 0, or -1 on a runtime failure.
int alertd_run(alertd_t *self);
void alertd_destroy(alertd_t **self_p);
// The HTTP port actually bound (useful with port 0 in tests).
int alertd_http_port(alertd_t *self);

#endif
