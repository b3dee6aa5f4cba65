/*  fw_promcfg.h — prometheus.yml, as floorwatch reads it.

    scraper, tsdb and ruled all take the user's prometheus.yml unchanged: scraper uses
    `global` and `scrape_configs`, ruled `global` and `rule_files`, tsdb `global`,
    `storage.tsdb` and `remote_write`; each loads and checks the whole file, the others'
    sections included. Every key Prometheus accepts is known: what floorwatch implements is
    loaded, what it does not (other service discoveries, remote_read, alerting.alertmanagers
    naming an Alertmanager, ...) is refused by name, "<section>.<key>: not supported by
    floorwatch", at its file:line:column, by all three daemons alike; unknown keys (typos)
    are errors too.

    After loading, per-job values that Prometheus inherits from `global` (scrape_interval,
    scrape_timeout) are resolved, so readers never look at global for them.
*/
#ifndef FW_PROMCFG_H
#define FW_PROMCFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_relabel.h"
#include "fw_promcfg_http.h"
#include "fw_promcfg_rw.h"
#include "fw_promcfg_sd.h"
#include "fw_secret.h"

struct fw_static_config {
    char **targets; // owned; "host:port" (anything relabel_configs can use, when it has some)
    size_t n_targets;
    struct fw_cfg_pos *target_pos; // owned: where each target is in the file
    struct fw_labels labels;       // owned
    struct fw_cfg_pos pos;
};

struct fw_scrape_config {
    char *job_name;             // owned, required, unique
    int64_t scrape_interval_ms; // resolved from global when absent
    int64_t scrape_timeout_ms;  // resolved from global when absent; <= interval
    char *metrics_path;         // default "/metrics"
    char *scheme;               // "http" or "https"
    bool honor_labels;
    bool honor_timestamps;             // default true
    bool track_timestamps_staleness;   // default false
    bool enable_compression;           // default true: Accept-Encoding gzip
    struct fw_http_client_config http; // basic_auth, authorization, tls_config, ...
    char **params;   // owned: URL query parameters as name, value, name, value, ...
    size_t n_params; // strings in params (twice the number of values)
    // Limits (0: none; a job's 0 takes the global value, as in Prometheus). Applied after
    // metric relabeling; see scraper(8).
    int64_t sample_limit;
    int64_t label_limit;
    int64_t label_name_length_limit;
    int64_t label_value_length_limit;
    int64_t body_size_limit;    // bytes of the decoded body, from body_size_limit_text
    char *body_size_limit_text; // owned: as written ("10MB": base-2 units, as Prometheus)
    int64_t target_limit;
    int64_t keep_dropped_targets; // targets dropped by relabeling kept for the API; 0: all
    int sample_limit_mode;        // FW_SAMPLE_LIMIT_*; floorwatch extension, default from global
    int metric_name_validation_scheme; // FW_NAME_VALIDATION_*, resolved (from global)
    int metric_name_escaping_scheme;   // FW_NAME_ESCAPING_*, resolved (from global, validation)
    struct fw_static_config *static_configs; // owned
    size_t n_static_configs;
    struct fw_file_sd_config *file_sd_configs; // owned (fw_promcfg_sd.h)
    size_t n_file_sd_configs;
    struct fw_kube_sd_config *kubernetes_sd_configs; // owned (fw_promcfg_sd.h)
    size_t n_kubernetes_sd_configs;
    struct fw_relabel_config *relabel_configs; // owned, prepared (fw_relabel.h): targets
    size_t n_relabel_configs;
    struct fw_relabel_config *metric_relabel_configs; // owned, prepared: every scraped sample
    size_t n_metric_relabel_configs;
    struct fw_cfg_pos pos;
};

// alerting.alertmanagers[]: ruled sends alerts to alertd over ZeroMQ instead, so an entry
// is accepted only while it names no Alertmanager (the Debian example file's empty one);
// every target, discovery or client setting in it is refused as not supported.
struct fw_alertmanager_config {
    struct fw_static_config *static_configs; // owned; never with targets
    size_t n_static_configs;
    struct fw_cfg_pos pos;
};

// sample_limit_mode (a floorwatch extension): what exceeding sample_limit does.
enum {
    FW_SAMPLE_LIMIT_UNSET,       // a job without the key: the global mode applies
    FW_SAMPLE_LIMIT_FAIL,        // the scrape fails, up 0 (Prometheus's behaviour; default)
    FW_SAMPLE_LIMIT_DROP_EXCESS, // the target's first sample_limit series are kept
};

// metric_name_validation_scheme (Prometheus 3): utf8 (the default) or legacy names.
enum { FW_NAME_VALIDATION_UNSET, FW_NAME_VALIDATION_UTF8, FW_NAME_VALIDATION_LEGACY };
// metric_name_escaping_scheme: what a scrape asks targets for (Accept's escaping=); minus one
// it is fw_names_escaping_t. Default allow-utf-8, underscores under legacy validation.
enum {
    FW_NAME_ESCAPING_UNSET,
    FW_NAME_ESCAPING_ALLOW_UTF8,
    FW_NAME_ESCAPING_UNDERSCORES,
    FW_NAME_ESCAPING_DOTS,
    FW_NAME_ESCAPING_VALUES,
};

struct fw_global_config {
    int64_t scrape_interval_ms;     // default 1m
    int64_t scrape_timeout_ms;      // default 10s
    int64_t evaluation_interval_ms; // default 1m
    struct fw_labels external_labels;
    // Default limits for every job (0: none); see struct fw_scrape_config.
    int64_t sample_limit;
    int64_t label_limit;
    int64_t label_name_length_limit;
    int64_t label_value_length_limit;
    int64_t body_size_limit;
    char *body_size_limit_text; // owned
    int64_t target_limit;
    int64_t keep_dropped_targets;
    int sample_limit_mode;
    int metric_name_validation_scheme; // FW_NAME_VALIDATION_*
    int metric_name_escaping_scheme;   // FW_NAME_ESCAPING_*
    char *query_log_file; // owned: tsdb's query log, relative to the config file's directory;
                          // NULL: none
};

// storage.tsdb.fw_retention, a floorwatch extension: per-matcher retention (tsdb checks the
// selector; the first policy a series matches decides)
struct fw_retention_policy {
    char *match;     // owned: a series selector, e.g. {__name__=~"ms5:.*"}
    int64_t time_ms; // keep matching series this long
    struct fw_cfg_pos pos;
};

// storage: (tsdb reads it)
struct fw_storage_config {
    int64_t out_of_order_time_window_ms; // storage.tsdb.out_of_order_time_window; 0: off
    int64_t max_exemplars; // storage.exemplars.max_exemplars (100000); <= 0: none kept
    struct fw_retention_policy *retention; // owned: storage.tsdb.fw_retention
    size_t n_retention;
};

struct fw_promcfg {
    char *path; // owned: the file name used in messages
    struct fw_global_config global;
    struct fw_storage_config storage;
    char **rule_files; // owned; globs relative to the config file's directory
    size_t n_rule_files;
    struct fw_scrape_config *scrape_configs; // owned
    size_t n_scrape_configs;
    struct fw_alertmanager_config *alertmanagers; // owned; see fw_alertmanager_config
    size_t n_alertmanagers;
    struct fw_remote_write_config *remote_writes; // owned: remote_write[] (tsdb sends them)
    size_t n_remote_writes;
};

// Load a prometheus.yml from `name` (or from text, with name used in messages) into out
// (zeroed by the callee), including the cross-field checks (unique job names, timeout not
// above interval, valid targets). 0, or -1 with every problem in errs.
int fw_promcfg_load(const char *name, const char *text, struct fw_promcfg *out,
                    struct fw_cfg_errors *errs);
void fw_promcfg_free(struct fw_promcfg *cfg);

// The paths of prometheus.yml that hold secrets (the one list for this schema; see
// fw_secret.h for the path syntax).
extern const struct fw_secret_path fw_promcfg_secrets[];

// prometheus.yml text as a status endpoint may show it: re-emitted from its YAML with every
// secret masked ("<secret>"; a URL's password "xxxxx"), as Prometheus shows its config. A
// new string, or NULL with err (not YAML, or too large or deep to walk): then show nothing.
char *fw_promcfg_shown(const char *text, fw_err_t *err);

#endif
