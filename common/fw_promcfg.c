/*  fw_promcfg.c — prometheus.yml, as floorwatch reads it.

    The file is described by the fw_cfg tables below and loaded with fw_cfg_load(). Every
    key Prometheus accepts is listed, so a user's file loads unchanged; the parts floorwatch
    does not implement are FW_CFG_IGNORE entries, which still lets typos be caught as
    unknown keys.

    After the table walk come Prometheus's own cross-field rules, in the order its
    config.go applies them: the global scrape_interval/evaluation_interval fall back to 1m
    and the global scrape_timeout to min(10s, scrape_interval); each job inherits from
    global what it leaves unset (timeout = min(global timeout, job interval)); a timeout may
    not exceed its interval; job names are unique. Targets are checked as they are read (a
    check callback) so each error points at the target itself.
*/
#include "fw_promcfg.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
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

#define S_IGNORE(k)                                                                                \
    {                                                                                              \
        .key = (k), .type = FW_CFG_IGNORE                                                          \
    }

static const struct fw_cfg_field s_static_fields[] = {
    {.key = "targets",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct fw_static_config, targets),
     .count_off = offsetof(struct fw_static_config, n_targets),
     .check = s_check_target},
    {.key = "labels", .type = FW_CFG_LABELS, .off = offsetof(struct fw_static_config, labels)},
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
    {.key = "sample_limit",
     .type = FW_CFG_INT,
     .off = offsetof(struct fw_scrape_config, sample_limit),
     .def = "0",
     .min = 0,
     .max = 1e15},
    {.key = "static_configs",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_scrape_config, static_configs),
     .count_off = offsetof(struct fw_scrape_config, n_static_configs),
     .elem_size = sizeof(struct fw_static_config),
     .child = s_static_fields},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_scrape_config, pos)},
    // Accepted, not implemented (yet).
    S_IGNORE("params"),
    S_IGNORE("basic_auth"),
    S_IGNORE("authorization"),
    S_IGNORE("bearer_token"),
    S_IGNORE("bearer_token_file"),
    S_IGNORE("oauth2"),
    S_IGNORE("tls_config"),
    S_IGNORE("proxy_url"),
    S_IGNORE("no_proxy"),
    S_IGNORE("proxy_from_environment"),
    S_IGNORE("proxy_connect_header"),
    S_IGNORE("follow_redirects"),
    S_IGNORE("enable_http2"),
    S_IGNORE("http_headers"),
    S_IGNORE("relabel_configs"),
    S_IGNORE("metric_relabel_configs"),
    S_IGNORE("scrape_protocols"),
    S_IGNORE("fallback_scrape_protocol"),
    S_IGNORE("body_size_limit"),
    S_IGNORE("label_limit"),
    S_IGNORE("label_name_length_limit"),
    S_IGNORE("label_value_length_limit"),
    S_IGNORE("target_limit"),
    S_IGNORE("keep_dropped_targets"),
    S_IGNORE("track_timestamps_staleness"),
    S_IGNORE("enable_compression"),
    S_IGNORE("scrape_classic_histograms"),
    S_IGNORE("always_scrape_classic_histograms"),
    S_IGNORE("scrape_native_histograms"),
    S_IGNORE("native_histogram_bucket_limit"),
    S_IGNORE("native_histogram_min_bucket_factor"),
    S_IGNORE("convert_classic_histograms_to_nhcb"),
    S_IGNORE("metric_name_validation_scheme"),
    S_IGNORE("metric_name_escaping_scheme"),
    S_IGNORE("scrape_failure_log_file"),
    S_IGNORE("extra_scrape_metrics"),
    S_IGNORE("azure_sd_configs"),
    S_IGNORE("consul_sd_configs"),
    S_IGNORE("digitalocean_sd_configs"),
    S_IGNORE("docker_sd_configs"),
    S_IGNORE("dockerswarm_sd_configs"),
    S_IGNORE("dns_sd_configs"),
    S_IGNORE("ec2_sd_configs"),
    S_IGNORE("eureka_sd_configs"),
    S_IGNORE("file_sd_configs"),
    S_IGNORE("gce_sd_configs"),
    S_IGNORE("hetzner_sd_configs"),
    S_IGNORE("http_sd_configs"),
    S_IGNORE("ionos_sd_configs"),
    S_IGNORE("kubernetes_sd_configs"),
    S_IGNORE("kuma_sd_configs"),
    S_IGNORE("lightsail_sd_configs"),
    S_IGNORE("linode_sd_configs"),
    S_IGNORE("marathon_sd_configs"),
    S_IGNORE("nerve_sd_configs"),
    S_IGNORE("nomad_sd_configs"),
    S_IGNORE("openstack_sd_configs"),
    S_IGNORE("ovhcloud_sd_configs"),
    S_IGNORE("puppetdb_sd_configs"),
    S_IGNORE("scaleway_sd_configs"),
    S_IGNORE("serverset_sd_configs"),
    S_IGNORE("stackit_sd_configs"),
    S_IGNORE("triton_sd_configs"),
    S_IGNORE("uyuni_sd_configs"),
    S_IGNORE("vultr_sd_configs"),
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
     .off = offsetof(struct fw_global_config, external_labels)},
    S_IGNORE("rule_query_offset"),
    S_IGNORE("query_log_file"),
    S_IGNORE("scrape_failure_log_file"),
    S_IGNORE("scrape_protocols"),
    S_IGNORE("body_size_limit"),
    S_IGNORE("sample_limit"),
    S_IGNORE("label_limit"),
    S_IGNORE("label_name_length_limit"),
    S_IGNORE("label_value_length_limit"),
    S_IGNORE("target_limit"),
    S_IGNORE("keep_dropped_targets"),
    S_IGNORE("metric_name_validation_scheme"),
    S_IGNORE("metric_name_escaping_scheme"),
    S_IGNORE("always_scrape_classic_histograms"),
    S_IGNORE("scrape_native_histograms"),
    S_IGNORE("convert_classic_histograms_to_nhcb"),
    S_IGNORE("extra_scrape_metrics"),
    {.key = NULL},
};

static const struct fw_cfg_field s_storage_tsdb_fields[] = {
    {.key = "out_of_order_time_window",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_storage_config, out_of_order_time_window_ms),
     .def = "0s"},
    {.key = NULL},
};

static const struct fw_cfg_field s_storage_fields[] = {
    {.key = "tsdb", .type = FW_CFG_STRUCT, .off = 0, .child = s_storage_tsdb_fields},
    S_IGNORE("exemplars"),
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
    S_IGNORE("alerting"),
    S_IGNORE("remote_write"),
    S_IGNORE("remote_read"),
    {.key = "storage",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct fw_promcfg, storage),
     .child = s_storage_fields},
    S_IGNORE("tracing"),
    S_IGNORE("scrape_config_files"),
    S_IGNORE("otlp"),
    S_IGNORE("runtime"),
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
    return rc == 0 && errs->len == 0 && errs->dropped == 0 ? 0 : -1;
}

void
fw_promcfg_free(struct fw_promcfg *cfg)
{
    if (!cfg)
        return;
    fw_cfg_free(s_top_fields, cfg);
    free(cfg->path);
    cfg->path = NULL;
}
