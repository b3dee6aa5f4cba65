/*  fw_promcfg_sd.h — the service discovery sections of prometheus.yml floorwatch implements.

    A scrape config's `file_sd_configs` and `kubernetes_sd_configs` are read into the records
    below through the tables in fw_promcfg_sd.c (hooked into fw_promcfg.c's scrape table),
    then checked with Prometheus's own rules by fw_promcfg_sd_check(): file patterns, roles
    and their selectors, and the HTTP client settings of the API server connection. Every
    key Prometheus knows in these sections is either read here or refused with "not
    supported by floorwatch" at its file:line:column. Relative paths (files, *_file keys)
    are made relative to the directory of the config file, as Prometheus does.
*/
#ifndef FW_PROMCFG_SD_H
#define FW_PROMCFG_SD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_promcfg_http.h"

struct fw_promcfg;

// file_sd_configs[]
struct fw_file_sd_config {
    char **files; // owned; a glob ('*' in the last path component) ending in .json/.yml/.yaml
    size_t n_files;
    int64_t refresh_interval_ms; // default 5m
    struct fw_cfg_pos pos;
};

typedef enum {
    FW_KUBE_ROLE_POD,
    FW_KUBE_ROLE_SERVICE,
    FW_KUBE_ROLE_ENDPOINTS,
    FW_KUBE_ROLE_ENDPOINTSLICE,
    FW_KUBE_ROLE_NODE,
    FW_KUBE_ROLE_INGRESS,
    FW_KUBE_ROLE_COUNT
} fw_kube_role_t;

// "pod", "service", ... for a role (the names kubernetes_sd_configs[].role takes).
const char *fw_kube_role_name(fw_kube_role_t role);

struct fw_kube_selector {
    int role;    // fw_kube_role_t
    char *label; // owned; label selector as the API takes it, NULL: none
    char *field; // owned; field selector, NULL: none
    struct fw_cfg_pos pos;
};

struct fw_kube_namespaces {
    bool own_namespace;
    char **names; // owned
    size_t n_names;
};

// attach_metadata: `node` adds the labels and annotations of the node a target runs on
// (roles pod, endpoints, endpointslice), `namespace` those of the target's namespace (every
// role but node); other roles ignore them, as Prometheus. deployment, job and cronjob are
// refused unless false.
struct fw_kube_attach_metadata {
    bool node, namespace_, deployment, job, cronjob;
};

// kubernetes_sd_configs[]
struct fw_kube_sd_config {
    char *api_server; // owned; NULL: in-cluster (service account)
    int role;         // fw_kube_role_t, required
    struct fw_kube_namespaces namespaces;
    struct fw_kube_selector *selectors; // owned
    size_t n_selectors;
    struct fw_kube_attach_metadata attach_metadata;
    struct fw_http_client_config http; // fw_promcfg_http.h; only with api_server
    bool enable_http2;                 // default true
    struct fw_cfg_pos pos;
};

// The tables fw_promcfg.c hooks into a scrape config (elements of the two lists).
extern const struct fw_cfg_field fw_promcfg_file_sd_fields[];
extern const struct fw_cfg_field fw_promcfg_kube_sd_fields[];

// Prometheus's checks of every scrape config's file_sd_configs and kubernetes_sd_configs
// (after the table walk), each error at the section's file:line:column; also resolves
// relative paths against the directory of cfg->path, and resolves each HTTP client config
// (fw_promcfg_http_resolve). Adds to errs, returns nothing.
void fw_promcfg_sd_check(struct fw_promcfg *cfg, struct fw_cfg_errors *errs);

// Whether two SD configs describe the same discovery (so a reload can keep it running).
bool fw_file_sd_same(const struct fw_file_sd_config *a, const struct fw_file_sd_config *b);
bool fw_kube_sd_same(const struct fw_kube_sd_config *a, const struct fw_kube_sd_config *b);

#endif
