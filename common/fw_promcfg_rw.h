/*  fw_promcfg_rw.h — prometheus.yml's remote_write section, as tsdb's sender reads it.

    Each remote_write[] entry is read through the table in fw_promcfg_rw.c (hooked into
    fw_promcfg.c's top-level table) and checked with Prometheus's rules by
    fw_promcfg_rw_check(): url required (http or https), reserved headers refused,
    at most one of the authentication methods, unique names, the queue's bounds. Keys
    Prometheus knows and floorwatch does not do (sigv4, oauth2, exemplars,
    native histograms, remote write 2.0, azuread's managed identities) are refused with "not
    supported by floorwatch" at their file:line:column.
*/
#ifndef FW_PROMCFG_RW_H
#define FW_PROMCFG_RW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_promcfg_http.h"
#include "fw_relabel.h"

struct fw_promcfg;

// queue_config (Prometheus 3's defaults).
struct fw_rw_queue_config {
    int64_t capacity;               // samples buffered per shard (10000)
    int64_t max_shards;             // 50
    int64_t min_shards;             // 1: the shards floorwatch runs (see tsdb(8))
    int64_t max_samples_per_send;   // 2000
    int64_t batch_send_deadline_ms; // 5s
    int64_t min_backoff_ms;         // 30ms
    int64_t max_backoff_ms;         // 5s
    bool retry_on_http_429;         // false
    int64_t sample_age_limit_ms;    // 0: none
};

// metadata_config (Prometheus's defaults): tsdb's metric metadata, sent every send_interval
// (tsdb_rwsend_meta.h).
struct fw_rw_metadata_config {
    bool send;                    // true
    int64_t send_interval_ms;     // 1m
    int64_t max_samples_per_send; // 500: families per request
};

// azuread: OAuth client credentials only.
struct fw_rw_azuread_oauth {
    char *client_id;     // owned
    char *client_secret; // owned secret
    char *tenant_id;     // owned
};

struct fw_rw_azuread_config {
    char *cloud; // owned: AzurePublic (default), AzureChina, AzureGovernment
    struct fw_rw_azuread_oauth oauth;
    char *token_url; // owned, floorwatch extension: the token endpoint instead of the
                     // cloud's (tests, sovereign clouds); NULL: the cloud's
    struct fw_cfg_pos pos;
};

struct fw_remote_write_config {
    char *url;                 // owned, required
    int64_t remote_timeout_ms; // 30s
    struct fw_labels headers;  // owned: extra request headers
    char *name;                // owned: unique; NULL: "<index>"
    struct fw_http_client_config http;
    struct fw_relabel_config *write_relabel_configs; // owned, prepared
    size_t n_write_relabel_configs;
    struct fw_rw_queue_config queue_config;
    struct fw_rw_metadata_config metadata_config;
    struct fw_rw_azuread_config azuread; // used when azuread_on
    bool azuread_on;                     // the entry has an azuread section (set by check)
    struct fw_cfg_pos pos;
};

// The field table of one remote_write[] entry (for fw_promcfg.c's top-level table).
extern const struct fw_cfg_field fw_promcfg_rw_fields[];

// Prometheus's checks of cfg's remote_write entries, into errs; prepares the relabel
// configs and joins relative *_file paths to the config file's directory.
void fw_promcfg_rw_check(struct fw_promcfg *cfg, struct fw_cfg_errors *errs);
// Release what fw_promcfg_rw_check prepared (before fw_cfg_free).
void fw_promcfg_rw_release(struct fw_promcfg *cfg);

#endif
