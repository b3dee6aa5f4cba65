/*  fw_promcfg.c — prometheus.yml, as floorwatch reads it.

    The file is described by the fw_cfg tables below and loaded with fw_cfg_load(). Every
    key Prometheus accepts is listed: the parts floorwatch does not implement are
    FW_CFG_UNSUPPORTED entries, refused by name ("scrape_configs[0].consul_sd_configs: not
    supported by floorwatch") at their file:line:column, so a config is never half applied
    in silence; unknown keys (typos) are errors too.

    After the table walk come Prometheus's own cross-field rules, in the order its
    config.go applies them: the global scrape_interval/evaluation_interval fall back to 1m
    and the global scrape_timeout to min(10s, scrape_interval); each job inherits from
    global what it leaves unset (timeout = min(global timeout, job interval)); a timeout may
    not exceed its interval; job names are unique. Targets are checked as they are read (a
    check callback) so each error points at the target itself.
*/
#include "fw_promcfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_names.h"
#include "fw_relabel.h"
#include "fw_secret.h"

#define S_DEFAULT_INTERVAL_MS 60000
#define S_DEFAULT_TIMEOUT_MS 10000

// ---------------------------------------------------------------------------------------
//  Checks run while loading

// A static target: "host:port" or "[v6]:port", port 1-65535, no scheme or path.
static int
s_check_target(const char *value, const char *file, struct fw_cfg_pos pos,
               struct fw_cfg_errors *errs)
{
    if (strchr(value, '/')) {
        fw_cfg_errors_add(errs, file, pos, "\"%s\" is not a valid hostname", value);
        return -1;
    }
    const char *colon;
    size_t host_len;
    if (value[0] == '[') {
        const char *close = strchr(value, ']');
        if (!close || close[1] != ':') {
            fw_cfg_errors_add(errs, file, pos, "target \"%s\" is not host:port", value);
            return -1;
        }
        colon = close + 1;
        host_len = (size_t)(close - value - 1);
    } else {
        colon = strrchr(value, ':');
        if (!colon && *value) {
            // Prometheus accepts a bare host; the scheme's default port applies.
            for (const char *p = value; *p; p++)
                if (isspace((unsigned char)*p)) {
                    fw_cfg_errors_add(errs, file, pos, "\"%s\" is not a valid hostname", value);
                    return -1;
                }
            return 0;
        }
        if (!colon || memchr(value, ':', (size_t)(colon - value))) {
            fw_cfg_errors_add(errs, file, pos, "target \"%s\" is not host:port", value);
            return -1;
        }
        host_len = (size_t)(colon - value);
    }
    if (host_len == 0) {
        fw_cfg_errors_add(errs, file, pos, "target \"%s\" has an empty host", value);
        return -1;
    }
    for (size_t i = 0; i < host_len; i++) {
        if (isspace((unsigned char)value[i + (value[0] == '[')])) {
            fw_cfg_errors_add(errs, file, pos, "\"%s\" is not a valid hostname", value);
            return -1;
        }
    }
    const char *port = colon + 1;
    long n = 0;
    size_t digits = 0;
    for (; port[digits]; digits++) {
        if (!isdigit((unsigned char)port[digits]) || digits >= 5)
            break;
        n = n * 10 + (port[digits] - '0');
    }
    if (digits == 0 || port[digits] != '\0' || n < 1 || n > 65535) {
        fw_cfg_errors_add(errs, file, pos, "target \"%s\" has an invalid port", value);
        return -1;
    }
    return 0;
}

static int
s_check_scheme(const char *value, const char *file, struct fw_cfg_pos pos,
               struct fw_cfg_errors *errs)
{
    if (strcmp(value, "http") == 0 || strcmp(value, "https") == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos, "scheme must be \"http\" or \"https\", got \"%s\"", value);
    return -1;
}

// A size as Prometheus's body_size_limit reads it (alecthomas/units Base2Bytes: KB, MB,
// GB, TB and KiB, MiB, ... are all powers of 1024; B or no unit are bytes). -1 if invalid.
static int64_t
s_base2_bytes(const char *s)
{
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB", NULL};
    char *end;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (end == s || errno != 0 || n < 0 || !isdigit((unsigned char)s[0]))
        return -1;
    if (*end == '\0')
        return n;
    char unit[4] = "";
    size_t len = strlen(end);
    if (len == 3 && end[1] == 'i' && end[2] == 'B') // KiB, MiB, ...: same as KB, MB
        snprintf(unit, sizeof(unit), "%cB", end[0]);
    else if (len <= 2)
        snprintf(unit, sizeof(unit), "%s", end);
    for (int i = 0; units[i]; i++) {
        if (strcmp(unit, units[i]) != 0)
            continue;
        int64_t v = n;
        for (int j = 0; j < i; j++) {
            if (v > INT64_MAX / 1024)
                return -1;
            v *= 1024;
        }
        return v;
    }
    return -1;
}

static int
s_check_base2_bytes(const char *value, const char *file, struct fw_cfg_pos pos,
                    struct fw_cfg_errors *errs)
{
    if (s_base2_bytes(value) >= 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos, "'%s' is not a size for key 'body_size_limit'", value);
    return -1;
}

static int
s_check_job_name(const char *value, const char *file, struct fw_cfg_pos pos,
                 struct fw_cfg_errors *errs)
{
    if (value[0])
        return 0;
    fw_cfg_errors_add(errs, file, pos, "job_name is empty");
    return -1;
}

// ---------------------------------------------------------------------------------------
//  Tables

// A key floorwatch knows and does not do: refused with "<section>.<key>: not supported by
// floorwatch". S_ONLY accepts the listed values, the ones that describe what floorwatch
// does anyway; S_WHY adds a note saying what to use instead.
#define S_UNSUP(k) FW_CFG_NO(k)
#define S_WHY(k, why) FW_CFG_WHY(k, why)
#define S_ONLY(k, vals, why) FW_CFG_ONLY(k, vals, why)

static const char *const s_true[] = {"true", NULL};
static const char *const s_false[] = {"false", NULL};
static const char *const s_bools[] = {"true", "false", NULL};
// A target or external label name: any non-empty UTF-8 name, as Prometheus 3 takes it (a job
// under metric_name_validation_scheme legacy then fails its scrapes with such a label).
static int
s_check_label_name(const char *name, const char *file, struct fw_cfg_pos pos,
                   struct fw_cfg_errors *errs)
{
    if (fw_names_label_valid(name, FW_NAMES_UTF8))
        return 0;
    fw_cfg_errors_add(errs, file, pos, "invalid label name '%s'", name);
    return -1;
}

static const char *const s_name_validation[] = {"(unset)", "utf8", "legacy", NULL};
static const char *const s_name_escaping[] = {"(unset)", "allow-utf-8", "underscores",
                                              "dots",    "values",      NULL};
#define S_NAME_SCHEMES(T)                                                                          \
    {.key = "metric_name_validation_scheme",                                                       \
     .type = FW_CFG_ENUM,                                                                          \
     .off = offsetof(T, metric_name_validation_scheme),                                            \
     .enum_names = s_name_validation},                                                             \
    {                                                                                              \
        .key = "metric_name_escaping_scheme", .type = FW_CFG_ENUM,                                 \
        .off = offsetof(T, metric_name_escaping_scheme), .enum_names = s_name_escaping             \
    }

// The limits, in a job and in global alike (a job's 0 or absent key takes global's).
static const char *const s_limit_modes[] = {"(unset)", "fail", "drop_excess", NULL};
#define S_LIMIT(T, k)                                                                              \
    {                                                                                              \
        .key = #k, .type = FW_CFG_INT, .off = offsetof(T, k), .def = "0", .min = 0, .max = 1e15    \
    }
#define S_LIMIT_FIELDS(T)                                                                          \
    S_LIMIT(T, sample_limit), S_LIMIT(T, label_limit), S_LIMIT(T, label_name_length_limit),        \
        S_LIMIT(T, label_value_length_limit), S_LIMIT(T, target_limit),                            \
        S_LIMIT(T, keep_dropped_targets),                                                          \
        {.key = "body_size_limit",                                                                 \
         .type = FW_CFG_STR,                                                                       \
         .off = offsetof(T, body_size_limit_text),                                                 \
         .check = s_check_base2_bytes},                                                            \
    {                                                                                              \
        .key = "sample_limit_mode", .type = FW_CFG_ENUM, .off = offsetof(T, sample_limit_mode),    \
        .enum_names = s_limit_modes                                                                \
    }

static const struct fw_cfg_field s_static_fields[] = {
    {.key = "targets",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct fw_static_config, targets),
     .count_off = offsetof(struct fw_static_config, n_targets),
     .pos_off = offsetof(struct fw_static_config, target_pos)}, // s_check_target in s_resolve
    {.key = "labels",
     .type = FW_CFG_LABELS,
     .off = offsetof(struct fw_static_config, labels),
     .check = s_check_label_name},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_static_config, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_scrape_fields[] = {
    {.key = "job_name",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_scrape_config, job_name),
     .required = true,
     .check = s_check_job_name},
    {.key = "scrape_interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_scrape_config, scrape_interval_ms)},
    {.key = "scrape_timeout",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_scrape_config, scrape_timeout_ms)},
    {.key = "metrics_path",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_scrape_config, metrics_path),
     .def = "/metrics"},
    {.key = "scheme",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_scrape_config, scheme),
     .def = "http",
     .check = s_check_scheme},
    {.key = "honor_labels",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_scrape_config, honor_labels),
     .def = "false"},
    {.key = "honor_timestamps",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_scrape_config, honor_timestamps),
     .def = "true"},
    {.key = "track_timestamps_staleness",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_scrape_config, track_timestamps_staleness),
     .def = "false"},
    {.key = "enable_compression",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_scrape_config, enable_compression),
     .def = "true"},
    {.key = "params",
     .type = FW_CFG_STR_LIST_MAP,
     .off = offsetof(struct fw_scrape_config, params),
     .count_off = offsetof(struct fw_scrape_config, n_params)},
    FW_PROMCFG_HTTP_FIELDS(struct fw_scrape_config, http),
    S_LIMIT_FIELDS(struct fw_scrape_config),
    {.key = "static_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_scrape_config, static_configs),
     .count_off = offsetof(struct fw_scrape_config, n_static_configs),
     .elem_size = sizeof(struct fw_static_config),
     .child = s_static_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_scrape_config, pos)},
    // Refused until implemented: each line is one key, to be replaced by its entry.
    S_UNSUP("oauth2"),
    S_UNSUP("no_proxy"),
    S_UNSUP("proxy_from_environment"),
    S_UNSUP("proxy_connect_header"),
    S_ONLY("enable_http2", s_true, "libcurl negotiates HTTP/2 over TLS, as Prometheus does"),
    S_UNSUP("http_headers"),
    {.key = "relabel_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_scrape_config, relabel_configs),
     .count_off = offsetof(struct fw_scrape_config, n_relabel_configs),
     .elem_size = sizeof(struct fw_relabel_config),
     .child = fw_relabel_fields},
    {.key = "metric_relabel_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_scrape_config, metric_relabel_configs),
     .count_off = offsetof(struct fw_scrape_config, n_metric_relabel_configs),
     .elem_size = sizeof(struct fw_relabel_config),
     .child = fw_relabel_fields},
    S_UNSUP("scrape_protocols"),
    S_UNSUP("fallback_scrape_protocol"),
    S_ONLY("scrape_classic_histograms", s_bools, NULL),
    S_ONLY("always_scrape_classic_histograms", s_bools, NULL),
    S_ONLY("scrape_native_histograms", s_false, "floorwatch stores classic histograms only"),
    S_WHY("native_histogram_bucket_limit", "floorwatch stores classic histograms only"),
    S_WHY("native_histogram_min_bucket_factor", "floorwatch stores classic histograms only"),
    S_ONLY("convert_classic_histograms_to_nhcb", s_false, NULL),
    S_NAME_SCHEMES(struct fw_scrape_config),
    S_UNSUP("scrape_failure_log_file"),
    S_ONLY("extra_scrape_metrics", s_false, NULL),
    // Service discovery: file and kubernetes are implemented in fw_promcfg_sd.c; the other
    // mechanisms are refused by name.
    S_UNSUP("azure_sd_configs"),
    S_UNSUP("consul_sd_configs"),
    S_UNSUP("digitalocean_sd_configs"),
    S_UNSUP("docker_sd_configs"),
    S_UNSUP("dockerswarm_sd_configs"),
    S_UNSUP("dns_sd_configs"),
    S_UNSUP("ec2_sd_configs"),
    S_UNSUP("eureka_sd_configs"),
    {.key = "file_sd_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_scrape_config, file_sd_configs),
     .count_off = offsetof(struct fw_scrape_config, n_file_sd_configs),
     .elem_size = sizeof(struct fw_file_sd_config),
     .child = fw_promcfg_file_sd_fields},
    S_UNSUP("gce_sd_configs"),
    S_UNSUP("hetzner_sd_configs"),
    S_UNSUP("http_sd_configs"),
    S_UNSUP("ionos_sd_configs"),
    {.key = "kubernetes_sd_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_scrape_config, kubernetes_sd_configs),
     .count_off = offsetof(struct fw_scrape_config, n_kubernetes_sd_configs),
     .elem_size = sizeof(struct fw_kube_sd_config),
     .child = fw_promcfg_kube_sd_fields},
    S_UNSUP("kuma_sd_configs"),
    S_UNSUP("lightsail_sd_configs"),
    S_UNSUP("linode_sd_configs"),
    S_UNSUP("marathon_sd_configs"),
    S_UNSUP("nerve_sd_configs"),
    S_UNSUP("nomad_sd_configs"),
    S_UNSUP("openstack_sd_configs"),
    S_UNSUP("ovhcloud_sd_configs"),
    S_UNSUP("puppetdb_sd_configs"),
    S_UNSUP("scaleway_sd_configs"),
    S_UNSUP("serverset_sd_configs"),
    S_UNSUP("stackit_sd_configs"),
    S_UNSUP("triton_sd_configs"),
    S_UNSUP("uyuni_sd_configs"),
    S_UNSUP("vultr_sd_configs"),
    {.key = NULL},
};

static const struct fw_cfg_field s_global_fields[] = {
    {.key = "scrape_interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_global_config, scrape_interval_ms),
     .def = "1m"},
    // No table default: Prometheus makes it min(10s, scrape_interval), resolved after load.
    {.key = "scrape_timeout",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_global_config, scrape_timeout_ms)},
    {.key = "evaluation_interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_global_config, evaluation_interval_ms),
     .def = "1m"},
    {.key = "external_labels",
     .type = FW_CFG_LABELS,
     .off = offsetof(struct fw_global_config, external_labels),
     .check = s_check_label_name},
    S_WHY("rule_query_offset", "set query_offset on each rule group"),
    {.key = "query_log_file",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_global_config, query_log_file)},
    S_UNSUP("scrape_failure_log_file"),
    S_UNSUP("scrape_protocols"),
    S_LIMIT_FIELDS(struct fw_global_config),
    S_NAME_SCHEMES(struct fw_global_config),
    S_ONLY("always_scrape_classic_histograms", s_bools, NULL),
    S_ONLY("scrape_native_histograms", s_false, "floorwatch stores classic histograms only"),
    S_ONLY("convert_classic_histograms_to_nhcb", s_false, NULL),
    S_ONLY("extra_scrape_metrics", s_false, NULL),
    {.key = NULL},
};

static const struct fw_cfg_field s_retention_policy_fields[] = {
    {.key = "match",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_retention_policy, match),
     .required = true},
    {.key = "time",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_retention_policy, time_ms),
     .required = true,
     .min = 1,
     .max = 1e15},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_retention_policy, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_storage_tsdb_fields[] = {
    {.key = "out_of_order_time_window",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_storage_config, out_of_order_time_window_ms),
     .def = "0s"},
    // floorwatch's extension: per-matcher retention (tsdb(8) STORAGE)
    {.key = "fw_retention",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_storage_config, retention),
     .count_off = offsetof(struct fw_storage_config, n_retention),
     .elem_size = sizeof(struct fw_retention_policy),
     .child = s_retention_policy_fields},
    {.key = NULL},
};

// storage.exemplars: the size of tsdb's exemplar ring (Prometheus's default, 100000; 0 or
// less keeps none, as Prometheus's exemplar storage with a size below 1).
static const struct fw_cfg_field s_storage_exemplars_fields[] = {
    {.key = "max_exemplars",
     .type = FW_CFG_INT,
     .off = offsetof(struct fw_storage_config, max_exemplars),
     .def = "100000"},
    {.key = NULL},
};

static const struct fw_cfg_field s_storage_fields[] = {
    {.key = "tsdb", .type = FW_CFG_STRUCT, .off = 0, .child = s_storage_tsdb_fields},
    {.key = "exemplars", .type = FW_CFG_STRUCT, .off = 0, .child = s_storage_exemplars_fields},
    {.key = NULL},
};

// ruled does not talk to Alertmanagers: it sends each alert state to alertd over ZeroMQ
// (ruled --zmq.alertd-address), and alertd routes, groups and notifies as alertmanager.yml
// says. An alertmanagers entry that names no Alertmanager (Debian's example file has one)
// does nothing in Prometheus either and is accepted; any target, discovery or client
// setting in it is refused with that note rather than accepted and not used.
#define S_AM_NOTE                                                                                  \
    "ruled sends alerts to alertd over ZeroMQ, set by ruled --zmq.alertd-address; alertd "         \
    "routes them as alertmanager.yml says"

static int
s_check_am_target(const char *value, const char *file, struct fw_cfg_pos pos,
                  struct fw_cfg_errors *errs)
{
    fw_cfg_errors_add(errs, file, pos,
                      "alerting.alertmanagers: target \"%.64s\" not supported by floorwatch "
                      "(" S_AM_NOTE ")",
                      value);
    return -1;
}

static const struct fw_cfg_field s_am_static_fields[] = {
    {.key = "targets",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct fw_static_config, targets),
     .count_off = offsetof(struct fw_static_config, n_targets),
     .check = s_check_am_target},
    {.key = "labels",
     .type = FW_CFG_LABELS,
     .off = offsetof(struct fw_static_config, labels),
     .check = s_check_label_name},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_static_config, pos)},
    {.key = NULL},
};

#define S_AM(k) S_WHY(k, S_AM_NOTE)

static const struct fw_cfg_field s_am_fields[] = {
    {.key = "static_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_alertmanager_config, static_configs),
     .count_off = offsetof(struct fw_alertmanager_config, n_static_configs),
     .elem_size = sizeof(struct fw_static_config),
     .child = s_am_static_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_alertmanager_config, pos)},
    S_AM("timeout"),
    S_AM("api_version"),
    S_AM("path_prefix"),
    S_AM("scheme"),
    S_AM("relabel_configs"),
    S_AM("alert_relabel_configs"),
    S_AM("basic_auth"),
    S_AM("authorization"),
    S_AM("bearer_token"),
    S_AM("bearer_token_file"),
    S_AM("oauth2"),
    S_AM("sigv4"),
    S_AM("tls_config"),
    S_AM("proxy_url"),
    S_AM("no_proxy"),
    S_AM("proxy_from_environment"),
    S_AM("proxy_connect_header"),
    S_AM("follow_redirects"),
    S_AM("enable_http2"),
    S_AM("http_headers"),
    S_AM("azure_sd_configs"),
    S_AM("consul_sd_configs"),
    S_AM("digitalocean_sd_configs"),
    S_AM("docker_sd_configs"),
    S_AM("dockerswarm_sd_configs"),
    S_AM("dns_sd_configs"),
    S_AM("ec2_sd_configs"),
    S_AM("eureka_sd_configs"),
    S_AM("file_sd_configs"),
    S_AM("gce_sd_configs"),
    S_AM("hetzner_sd_configs"),
    S_AM("http_sd_configs"),
    S_AM("ionos_sd_configs"),
    S_AM("kubernetes_sd_configs"),
    S_AM("kuma_sd_configs"),
    S_AM("lightsail_sd_configs"),
    S_AM("linode_sd_configs"),
    S_AM("marathon_sd_configs"),
    S_AM("nerve_sd_configs"),
    S_AM("nomad_sd_configs"),
    S_AM("openstack_sd_configs"),
    S_AM("ovhcloud_sd_configs"),
    S_AM("puppetdb_sd_configs"),
    S_AM("scaleway_sd_configs"),
    S_AM("serverset_sd_configs"),
    S_AM("stackit_sd_configs"),
    S_AM("triton_sd_configs"),
    S_AM("uyuni_sd_configs"),
    S_AM("vultr_sd_configs"),
    {.key = NULL},
};

static const struct fw_cfg_field s_alerting_fields[] = {
    {.key = "alertmanagers",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_promcfg, alertmanagers),
     .count_off = offsetof(struct fw_promcfg, n_alertmanagers),
     .elem_size = sizeof(struct fw_alertmanager_config),
     .child = s_am_fields},
    S_UNSUP("alert_relabel_configs"),
    {.key = NULL},
};

static const struct fw_cfg_field s_top_fields[] = {
    {.key = "global",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct fw_promcfg, global),
     .child = s_global_fields},
    {.key = "rule_files",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct fw_promcfg, rule_files),
     .count_off = offsetof(struct fw_promcfg, n_rule_files)},
    {.key = "scrape_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_promcfg, scrape_configs),
     .count_off = offsetof(struct fw_promcfg, n_scrape_configs),
     .elem_size = sizeof(struct fw_scrape_config),
     .child = s_scrape_fields},
    {.key = "alerting", .type = FW_CFG_STRUCT, .off = 0, .child = s_alerting_fields},
    {.key = "remote_write",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_promcfg, remote_writes),
     .count_off = offsetof(struct fw_promcfg, n_remote_writes),
     .elem_size = sizeof(struct fw_remote_write_config),
     .child = fw_promcfg_rw_fields},
    S_UNSUP("remote_read"),
    {.key = "storage",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct fw_promcfg, storage),
     .child = s_storage_fields},
    S_UNSUP("tracing"),
    S_UNSUP("scrape_config_files"),
    S_UNSUP("otlp"),
    S_WHY("runtime", "Go runtime settings have no meaning for floorwatch"),
    {.key = NULL},
};

// ---------------------------------------------------------------------------------------
//  Secrets

#define S_SECRET(p)                                                                                \
    {                                                                                              \
        (p), FW_SECRET_VALUE                                                                       \
    }
#define S_URL(p)                                                                                   \
    {                                                                                              \
        (p), FW_SECRET_URL_USERINFO                                                                \
    }

// Every value of prometheus.yml that Prometheus holds as a config.Secret and so shows as
// "<secret>" (prometheus/common's HTTPClientConfig, inline in scrape, remote_write,
// remote_read, alertmanager and SD configs; TLSConfig; Headers; prometheus/sigv4; azuread;
// each service discovery's own credentials), and its config.URL values, whose password
// shows as "xxxxx". The one list for this schema: /api/v1/status/config and every other
// place that shows the file derive from it.
const struct fw_secret_path fw_promcfg_secrets[] = {
    S_SECRET("**.basic_auth.password"),
    S_SECRET("**.authorization.credentials"),
    S_SECRET("**.bearer_token"),
    S_SECRET("**.oauth2.client_secret"),
    S_SECRET("**.oauth2.client_certificate_key"),
    S_SECRET("**.tls_config.key"),
    S_SECRET("**.proxy_connect_header.*[]"),
    S_SECRET("**.http_headers.*.secrets[]"),
    S_SECRET("**.sigv4.secret_key"),
    S_SECRET("**.azuread.oauth.client_secret"),
    S_SECRET("**.azuread.certificate.certificate_password"),
    S_SECRET("**.*_sd_configs[].secret_key"), // aws, ec2, ecs, lightsail, scaleway, ...
    S_SECRET("**.azure_sd_configs[].client_secret"),
    S_SECRET("**.consul_sd_configs[].token"),
    S_SECRET("**.consul_sd_configs[].password"),
    S_SECRET("**.marathon_sd_configs[].auth_token"),
    S_SECRET("**.oci_sd_configs[].key_passphrase"),
    S_SECRET("**.openstack_sd_configs[].password"),
    S_SECRET("**.openstack_sd_configs[].application_credential_secret"),
    S_SECRET("**.ovhcloud_sd_configs[].application_secret"),
    S_SECRET("**.ovhcloud_sd_configs[].consumer_key"),
    S_SECRET("**.stackit_sd_configs[].service_account_key"),
    S_SECRET("**.stackit_sd_configs[].private_key"),
    S_SECRET("**.uyuni_sd_configs[].password"),
    S_URL("**.proxy_url"),
    S_URL("remote_write[].url"),
    S_URL("remote_read[].url"),
    S_URL("**.kubernetes_sd_configs[].api_server"),
    {NULL, FW_SECRET_VALUE},
};

char *
fw_promcfg_shown(const char *text, fw_err_t *err)
{
    char *out = NULL;
    if (fw_secret_redact_yaml(text ? text : "", fw_promcfg_secrets, &out, err) < 0)
        return NULL;
    return out;
}

// ---------------------------------------------------------------------------------------
//  Cross-field rules

static void
s_resolve(struct fw_promcfg *cfg, struct fw_cfg_errors *errs)
{
    struct fw_global_config *g = &cfg->global;
    struct fw_cfg_pos top = {1, 1};

    if (g->scrape_interval_ms == 0)
        g->scrape_interval_ms = S_DEFAULT_INTERVAL_MS;
    if (g->scrape_timeout_ms > g->scrape_interval_ms)
        fw_cfg_errors_add(errs, cfg->path, top,
                          "global scrape timeout greater than scrape interval");
    if (g->scrape_timeout_ms == 0)
        g->scrape_timeout_ms = S_DEFAULT_TIMEOUT_MS > g->scrape_interval_ms ? g->scrape_interval_ms
                                                                            : S_DEFAULT_TIMEOUT_MS;
    if (g->evaluation_interval_ms == 0)
        g->evaluation_interval_ms = S_DEFAULT_INTERVAL_MS;

    for (size_t i = 0; i < cfg->n_scrape_configs; i++) {
        struct fw_scrape_config *sc = &cfg->scrape_configs[i];
        const char *job = sc->job_name ? sc->job_name : "";
        if (sc->scrape_interval_ms == 0)
            sc->scrape_interval_ms = g->scrape_interval_ms;
        if (sc->scrape_timeout_ms > sc->scrape_interval_ms)
            fw_cfg_errors_add(errs, cfg->path, sc->pos,
                              "scrape timeout greater than scrape interval for scrape config "
                              "with job name \"%s\"",
                              job);
        if (sc->scrape_timeout_ms == 0)
            sc->scrape_timeout_ms = g->scrape_timeout_ms > sc->scrape_interval_ms
                                        ? sc->scrape_interval_ms
                                        : g->scrape_timeout_ms;
        // Static targets must be host[:port] unless relabel_configs may make them so (the
        // blackbox exporter's recipe lists URLs), as Prometheus's ScrapeConfig.Validate.
        for (size_t k = 0; sc->n_relabel_configs == 0 && k < sc->n_static_configs; k++) {
            const struct fw_static_config *st = &sc->static_configs[k];
            for (size_t t = 0; t < st->n_targets; t++)
                s_check_target(st->targets[t], cfg->path, st->target_pos[t], errs);
        }
        // Relabeling names follow the job's metric_name_validation_scheme (Prometheus 3).
        int v = sc->metric_name_validation_scheme ? sc->metric_name_validation_scheme
                                                  : g->metric_name_validation_scheme;
        fw_names_scheme_t names = v == FW_NAME_VALIDATION_LEGACY ? FW_NAMES_LEGACY : FW_NAMES_UTF8;
        fw_relabel_prepare(sc->relabel_configs, sc->n_relabel_configs, names, cfg->path, errs);
        fw_relabel_prepare(sc->metric_relabel_configs, sc->n_metric_relabel_configs, names,
                           cfg->path, errs);
        if (!sc->job_name)
            continue;
        for (size_t j = 0; j < i; j++) {
            const struct fw_scrape_config *prev = &cfg->scrape_configs[j];
            if (prev->job_name && strcmp(prev->job_name, sc->job_name) == 0) {
                fw_cfg_errors_add(errs, cfg->path, sc->pos,
                                  "found multiple scrape configs with job name \"%s\" (first at "
                                  "line %d)",
                                  job, prev->pos.line);
                break;
            }
        }
    }
}

// Prometheus 3's name schemes: a job inherits global's; validation defaults to utf8 and
// escaping to allow-utf-8 (underscores under legacy validation), which legacy forbids.
static void
s_resolve_name_schemes(struct fw_promcfg *cfg, struct fw_scrape_config *sc,
                       struct fw_cfg_errors *errs)
{
    const struct fw_global_config *g = &cfg->global;
    bool own_escaping = sc->metric_name_escaping_scheme != FW_NAME_ESCAPING_UNSET;
    if (sc->metric_name_validation_scheme == FW_NAME_VALIDATION_UNSET)
        sc->metric_name_validation_scheme = g->metric_name_validation_scheme;
    if (sc->metric_name_validation_scheme == FW_NAME_VALIDATION_UNSET)
        sc->metric_name_validation_scheme = FW_NAME_VALIDATION_UTF8;
    bool legacy = sc->metric_name_validation_scheme == FW_NAME_VALIDATION_LEGACY;
    if (!own_escaping)
        sc->metric_name_escaping_scheme = g->metric_name_escaping_scheme;
    if (sc->metric_name_escaping_scheme == FW_NAME_ESCAPING_UNSET)
        sc->metric_name_escaping_scheme =
            legacy ? FW_NAME_ESCAPING_UNDERSCORES : FW_NAME_ESCAPING_ALLOW_UTF8;
    if (legacy && sc->metric_name_escaping_scheme == FW_NAME_ESCAPING_ALLOW_UTF8)
        fw_cfg_errors_add(errs, cfg->path, sc->pos,
                          "scrape config \"%s\": metric_name_escaping_scheme allow-utf-8 "
                          "cannot be used with metric_name_validation_scheme legacy",
                          sc->job_name ? sc->job_name : "");
}

// Each job's limits inherit global's where the job says 0 (Prometheus's
// ScrapeConfig.Validate), and its HTTP client settings get Prometheus's cross-field rules,
// with *_file paths made relative to the config file's directory.
static void
s_resolve_scrape_clients(struct fw_promcfg *cfg, struct fw_cfg_errors *errs)
{
    struct fw_global_config *g = &cfg->global;
    g->body_size_limit = g->body_size_limit_text ? s_base2_bytes(g->body_size_limit_text) : 0;
    if (g->sample_limit_mode == FW_SAMPLE_LIMIT_UNSET)
        g->sample_limit_mode = FW_SAMPLE_LIMIT_FAIL;
    char *dir = fw_strdup(cfg->path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    if (g->query_log_file && g->query_log_file[0] && g->query_log_file[0] != '/' && dir[0]) {
        char *joined = fw_asprintf("%s/%s", dir, g->query_log_file); // Prometheus's JoinDir
        free(g->query_log_file);
        g->query_log_file = joined;
    }
    for (size_t i = 0; i < cfg->n_scrape_configs; i++) {
        struct fw_scrape_config *sc = &cfg->scrape_configs[i];
        sc->body_size_limit =
            sc->body_size_limit_text ? s_base2_bytes(sc->body_size_limit_text) : 0;
        if (sc->body_size_limit <= 0)
            sc->body_size_limit = g->body_size_limit > 0 ? g->body_size_limit : 0;
        if (sc->sample_limit == 0)
            sc->sample_limit = g->sample_limit;
        if (sc->label_limit == 0)
            sc->label_limit = g->label_limit;
        if (sc->label_name_length_limit == 0)
            sc->label_name_length_limit = g->label_name_length_limit;
        if (sc->label_value_length_limit == 0)
            sc->label_value_length_limit = g->label_value_length_limit;
        if (sc->target_limit == 0)
            sc->target_limit = g->target_limit;
        if (sc->keep_dropped_targets == 0)
            sc->keep_dropped_targets = g->keep_dropped_targets;
        if (sc->sample_limit_mode == FW_SAMPLE_LIMIT_UNSET)
            sc->sample_limit_mode = g->sample_limit_mode;
        s_resolve_name_schemes(cfg, sc, errs);
        fw_promcfg_http_resolve(&sc->http, dir, cfg->path, sc->pos, errs);
    }
    free(dir);
}

// ---------------------------------------------------------------------------------------
//  Public API

int
fw_promcfg_load(const char *name, const char *text, struct fw_promcfg *out,
                struct fw_cfg_errors *errs)
{
    struct fw_cfg_errors local;
    if (!errs)
        errs = &local;
    memset(out, 0, sizeof(*out));
    if (!name)
        name = "prometheus.yml";
    int rc = fw_cfg_load(name, text, s_top_fields, out, errs);
    out->path = fw_strdup(name);
    s_resolve(out, errs);
    s_resolve_scrape_clients(out, errs);
    fw_promcfg_sd_check(out, errs);
    fw_promcfg_rw_check(out, errs);
    return rc == 0 && errs->len == 0 && errs->dropped == 0 ? 0 : -1;
}

void
fw_promcfg_free(struct fw_promcfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; cfg->scrape_configs && i < cfg->n_scrape_configs; i++) {
        struct fw_scrape_config *sc = &cfg->scrape_configs[i];
        fw_relabel_release(sc->relabel_configs, sc->n_relabel_configs);
        fw_relabel_release(sc->metric_relabel_configs, sc->n_metric_relabel_configs);
    }
    fw_promcfg_rw_release(cfg);
    fw_cfg_free(s_top_fields, cfg);
    free(cfg->path);
    cfg->path = NULL;
}
