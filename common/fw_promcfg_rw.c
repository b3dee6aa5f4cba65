/*  fw_promcfg_rw.c — remote_write[] of prometheus.yml (see fw_promcfg_rw.h).

    The checks and their texts follow Prometheus's config.RemoteWriteConfig.UnmarshalYAML,
    QueueConfig and azuread.AzureADConfig.Validate.
*/
#include "fw_promcfg_rw.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"
#include "fw_promcfg.h"

#define S_UNSUP(k)                                                                                 \
    {                                                                                              \
        .key = (k), .type = FW_CFG_UNSUPPORTED                                                     \
    }
#define S_ONLY(k, vals, why)                                                                       \
    {                                                                                              \
        .key = (k), .type = FW_CFG_UNSUPPORTED, .enum_names = (vals), .note = (why)                \
    }

static const char *const s_false[] = {"false", NULL};
static const char *const s_v1[] = {"prometheus.WriteRequest", NULL};

#define S_Q(k, d, lo, hi)                                                                          \
    {                                                                                              \
        .key = #k, .type = FW_CFG_INT, .off = offsetof(struct fw_rw_queue_config, k), .def = d,    \
        .min = lo, .max = hi                                                                       \
    }
#define S_QD(k, m, d)                                                                              \
    {                                                                                              \
        .key = k, .type = FW_CFG_DURATION, .off = offsetof(struct fw_rw_queue_config, m), .def = d \
    }

static const struct fw_cfg_field s_queue_fields[] = {
    S_Q(capacity, "10000", 1, 1e9),
    S_Q(max_shards, "50", 1, 1e6),
    S_Q(min_shards, "1", 1, 1e6),
    S_Q(max_samples_per_send, "2000", 1, 1e7),
    S_QD("batch_send_deadline", batch_send_deadline_ms, "5s"),
    S_QD("min_backoff", min_backoff_ms, "30ms"),
    S_QD("max_backoff", max_backoff_ms, "5s"),
    S_QD("sample_age_limit", sample_age_limit_ms, "0s"),
    {.key = "retry_on_http_429",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_rw_queue_config, retry_on_http_429),
     .def = "false"},
    {.key = NULL},
};

#define S_MD(m) offsetof(struct fw_rw_metadata_config, m)

static const struct fw_cfg_field s_metadata_fields[] = {
    {.key = "send", .type = FW_CFG_BOOL, .off = S_MD(send), .def = "true"},
    {.key = "send_interval",
     .type = FW_CFG_DURATION,
     .off = S_MD(send_interval_ms),
     .def = "1m",
     .min = 1,
     .max = 1e12},
    {.key = "max_samples_per_send",
     .type = FW_CFG_INT,
     .off = S_MD(max_samples_per_send),
     .def = "500",
     .min = 1,
     .max = 1e7},
    {.key = NULL},
};

static const struct fw_cfg_field s_azuread_oauth_fields[] = {
    {.key = "client_id",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_rw_azuread_oauth, client_id)},
    {.key = "client_secret",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_rw_azuread_oauth, client_secret)},
    {.key = "tenant_id",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_rw_azuread_oauth, tenant_id)},
    {.key = NULL},
};

static const struct fw_cfg_field s_azuread_fields[] = {
    {.key = "cloud", .type = FW_CFG_STR, .off = offsetof(struct fw_rw_azuread_config, cloud)},
    {.key = "oauth",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct fw_rw_azuread_config, oauth),
     .child = s_azuread_oauth_fields},
    {.key = "token_url",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_rw_azuread_config, token_url)},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_rw_azuread_config, pos)},
    S_UNSUP("managed_identity"),
    S_UNSUP("workload_identity"),
    S_UNSUP("sdk"),
    S_UNSUP("scope"),
    {.key = NULL},
};

#define S_RW(m) offsetof(struct fw_remote_write_config, m)

const struct fw_cfg_field fw_promcfg_rw_fields[] = {
    {.key = "url", .type = FW_CFG_STR, .off = S_RW(url), .required = true},
    {.key = "remote_timeout",
     .type = FW_CFG_DURATION,
     .off = S_RW(remote_timeout_ms),
     .def = "30s"},
    {.key = "headers", .type = FW_CFG_STR_MAP, .off = S_RW(headers)},
    {.key = "name", .type = FW_CFG_STR, .off = S_RW(name)},
    FW_PROMCFG_HTTP_FIELDS(struct fw_remote_write_config, http),
    {.key = "write_relabel_configs",
     .type = FW_CFG_LIST,
     .off = S_RW(write_relabel_configs),
     .count_off = S_RW(n_write_relabel_configs),
     .elem_size = sizeof(struct fw_relabel_config),
     .child = fw_relabel_fields},
    {.key = "queue_config",
     .type = FW_CFG_STRUCT,
     .off = S_RW(queue_config),
     .child = s_queue_fields},
    {.key = "metadata_config",
     .type = FW_CFG_STRUCT,
     .off = S_RW(metadata_config),
     .child = s_metadata_fields},
    {.key = "azuread", .type = FW_CFG_STRUCT, .off = S_RW(azuread), .child = s_azuread_fields},
    {.key = "", .type = FW_CFG_POS, .off = S_RW(pos)},
    S_ONLY("send_exemplars", s_false, "floorwatch sends float samples only"),
    S_ONLY("send_native_histograms", s_false, "floorwatch stores no native histograms"),
    S_ONLY("protobuf_message", s_v1, "floorwatch sends remote write 1.0"),
    S_UNSUP("sigv4"),
    S_UNSUP("oauth2"),
    S_UNSUP("google_iam"),
    S_UNSUP("round_robin_dns"),
    S_UNSUP("no_proxy"),
    S_UNSUP("proxy_from_environment"),
    S_UNSUP("proxy_connect_header"),
    S_UNSUP("http_headers"),
    S_UNSUP("enable_http2"),
    {.key = NULL},
};

// Prometheus's reservedHeaders.
static const char *const s_reserved[] = {
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Type",
    "X-Prometheus-Remote-Write-Version",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    NULL,
};

static void
s_check_one(struct fw_remote_write_config *rw, size_t index, const struct fw_promcfg *cfg,
            const char *dir, struct fw_cfg_errors *errs)
{
    const char *file = cfg->path;
    if (rw->url && strncmp(rw->url, "http://", 7) != 0 && strncmp(rw->url, "https://", 8) != 0)
        fw_cfg_errors_add(errs, file, rw->pos, "unsupported scheme for remote_write url \"%s\"",
                          rw->url);
    for (size_t i = 0; i < rw->headers.len; i++)
        for (const char *const *r = s_reserved; *r; r++)
            if (strcasecmp(rw->headers.items[i].name, *r) == 0)
                fw_cfg_errors_add(errs, file, rw->pos,
                                  "%s is a reserved header. It must not be changed", *r);
    const struct fw_rw_azuread_config *az = &rw->azuread;
    rw->azuread_on = az->cloud || az->oauth.client_id || az->oauth.client_secret ||
                     az->oauth.tenant_id || az->token_url;
    const struct fw_http_client_config *h = &rw->http;
    bool other = h->basic_auth.username || h->basic_auth.username_file || h->basic_auth.password ||
                 h->basic_auth.password_file || h->authorization.credentials ||
                 h->authorization.credentials_file || h->bearer_token || h->bearer_token_file;
    if (other && rw->azuread_on)
        fw_cfg_errors_add(errs, file, rw->pos,
                          "at most one of basic_auth, authorization, oauth2, sigv4, azuread or "
                          "google_iam must be configured");
    if (rw->azuread_on) {
        if (az->cloud && strcmp(az->cloud, "AzurePublic") != 0 &&
            strcmp(az->cloud, "AzureChina") != 0 && strcmp(az->cloud, "AzureGovernment") != 0)
            fw_cfg_errors_add(errs, file, az->pos, "must provide a cloud in the Azure AD config");
        if (!az->oauth.client_id && !az->oauth.client_secret && !az->oauth.tenant_id)
            fw_cfg_errors_add(errs, file, az->pos,
                              "must provide an Azure Managed Identity, Azure OAuth or Azure SDK "
                              "in the Azure AD config");
        else if (!az->oauth.client_id || !az->oauth.client_secret || !az->oauth.tenant_id)
            fw_cfg_errors_add(errs, file, az->pos, "%s must be provided in the Azure AD config",
                              !az->oauth.client_id       ? "client_id"
                              : !az->oauth.client_secret ? "client_secret"
                                                         : "tenant_id");
    }
    if (rw->queue_config.min_shards > rw->queue_config.max_shards)
        fw_cfg_errors_add(errs, file, rw->pos, "min_shards is greater than max_shards");
    if (rw->queue_config.min_backoff_ms > rw->queue_config.max_backoff_ms)
        fw_cfg_errors_add(errs, file, rw->pos, "min_backoff is greater than max_backoff");
    if (!rw->name)
        rw->name = fw_asprintf("%zu", index);
    for (size_t j = 0; j < index; j++)
        if (strcmp(cfg->remote_writes[j].name, rw->name) == 0)
            fw_cfg_errors_add(errs, file, rw->pos,
                              "found multiple remote write configs with job name \"%s\"", rw->name);
    if (rw->http.tls_config.server_name)
        fw_cfg_errors_add(errs, file, rw->pos,
                          "remote_write[%zu].tls_config.server_name: not supported by floorwatch",
                          index);
    bool legacy = cfg->global.metric_name_validation_scheme == FW_NAME_VALIDATION_LEGACY;
    fw_relabel_prepare(rw->write_relabel_configs, rw->n_write_relabel_configs,
                       legacy ? FW_NAMES_LEGACY : FW_NAMES_UTF8, file, errs);
    fw_promcfg_http_resolve(&rw->http, dir, file, rw->pos, errs);
}

void
fw_promcfg_rw_check(struct fw_promcfg *cfg, struct fw_cfg_errors *errs)
{
    const char *slash = cfg->path ? strrchr(cfg->path, '/') : NULL;
    char *dir = slash ? strndup(cfg->path, (size_t)(slash - cfg->path)) : fw_strdup("");
    for (size_t i = 0; i < cfg->n_remote_writes; i++)
        s_check_one(&cfg->remote_writes[i], i, cfg, dir, errs);
    free(dir);
}

void
fw_promcfg_rw_release(struct fw_promcfg *cfg)
{
    for (size_t i = 0; cfg->remote_writes && i < cfg->n_remote_writes; i++) {
        struct fw_remote_write_config *rw = &cfg->remote_writes[i];
        fw_relabel_release(rw->write_relabel_configs, rw->n_write_relabel_configs);
    }
}
