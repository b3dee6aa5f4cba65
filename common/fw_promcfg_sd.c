/*  fw_promcfg_sd.c — file_sd_configs and kubernetes_sd_configs of prometheus.yml.

    The tables below are the elements of a scrape config's two lists (hooked in by
    fw_promcfg.c). fw_promcfg_sd_check() then applies what Prometheus checks in its
    UnmarshalYAML methods (discovery/file, discovery/kubernetes and prometheus/common's
    HTTPClientConfig.Validate), with the same messages, at the section's position. Keys
    Prometheus knows that floorwatch does not do (kubeconfig_file, oauth2, proxy headers,
    attach_metadata's deployment/job/cronjob, ...) are FW_CFG_UNSUPPORTED: refused by name, never
   silently ignored.
*/
#include "fw_promcfg_sd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promcfg.h"

#define S_UNSUP(k) FW_CFG_NO(k)
#define S_ONLY(k, vals, why) FW_CFG_ONLY(k, vals, why)
#define S_STR(k, T, member)                                                                        \
    {                                                                                              \
        .key = (k), .type = FW_CFG_STR, .off = offsetof(T, member)                                 \
    }

static const char *const s_false[] = {"false", NULL};
static const char *const s_roles[] = {"pod",  "service", "endpoints", "endpointslice",
                                      "node", "ingress", NULL};

const char *
fw_kube_role_name(fw_kube_role_t role)
{
    return role >= 0 && role < FW_KUBE_ROLE_COUNT ? s_roles[role] : "?";
}

// ---------------------------------------------------------------------------------------
//  Tables

const struct fw_cfg_field fw_promcfg_file_sd_fields[] = {
    {.key = "files",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct fw_file_sd_config, files),
     .count_off = offsetof(struct fw_file_sd_config, n_files)},
    {.key = "refresh_interval",
     .type = FW_CFG_DURATION,
     .off = offsetof(struct fw_file_sd_config, refresh_interval_ms),
     .def = "5m",
     .min = 1,
     .max = 1e12},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_file_sd_config, pos)},
    {.key = NULL},
};

static const struct fw_cfg_field s_namespaces_fields[] = {
    {.key = "own_namespace",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_kube_namespaces, own_namespace),
     .def = "false"},
    {.key = "names",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct fw_kube_namespaces, names),
     .count_off = offsetof(struct fw_kube_namespaces, n_names)},
    {.key = NULL},
};

static const struct fw_cfg_field s_selector_fields[] = {
    {.key = "role",
     .type = FW_CFG_ENUM,
     .off = offsetof(struct fw_kube_selector, role),
     .enum_names = s_roles,
     .required = true},
    S_STR("label", struct fw_kube_selector, label),
    S_STR("field", struct fw_kube_selector, field),
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_kube_selector, pos)},
    {.key = NULL},
};

// attach_metadata: node (pod, endpoints, endpointslice) and namespace (every role but
// node) are implemented; the pod owner lookups of Prometheus 3 are not.
static const struct fw_cfg_field s_attach_fields[] = {
    {.key = "node",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_kube_attach_metadata, node),
     .def = "false"},
    {.key = "namespace",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_kube_attach_metadata, namespace_),
     .def = "false"},
    S_ONLY("deployment", s_false, "no deployment metadata is attached"),
    S_ONLY("job", s_false, "no job metadata is attached"),
    S_ONLY("cronjob", s_false, "no cronjob metadata is attached"),
    {.key = NULL},
};

const struct fw_cfg_field fw_promcfg_kube_sd_fields[] = {
    S_STR("api_server", struct fw_kube_sd_config, api_server),
    {.key = "role",
     .type = FW_CFG_ENUM,
     .off = offsetof(struct fw_kube_sd_config, role),
     .enum_names = s_roles,
     .required = true},
    {.key = "namespaces",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct fw_kube_sd_config, namespaces),
     .child = s_namespaces_fields},
    {.key = "selectors",
     .type = FW_CFG_LIST,
     .off = offsetof(struct fw_kube_sd_config, selectors),
     .count_off = offsetof(struct fw_kube_sd_config, n_selectors),
     .elem_size = sizeof(struct fw_kube_selector),
     .child = s_selector_fields},
    {.key = "attach_metadata",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct fw_kube_sd_config, attach_metadata),
     .child = s_attach_fields},
    FW_PROMCFG_HTTP_FIELDS(struct fw_kube_sd_config, http),
    {.key = "enable_http2",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_kube_sd_config, enable_http2),
     .def = "true"},
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_kube_sd_config, pos)},
    S_UNSUP("kubeconfig_file"),
    S_UNSUP("oauth2"),
    S_UNSUP("no_proxy"),
    S_ONLY("proxy_from_environment", s_false, "set proxy_url"),
    S_UNSUP("proxy_connect_header"),
    S_UNSUP("http_headers"),
    {.key = NULL},
};

// ---------------------------------------------------------------------------------------
//  Checks

// Prometheus's patFileSDName: ^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$
static bool
s_file_pattern_ok(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return false;
    static const char *const exts[] = {"json", "yml", "yaml", "JSON", "YML", "YAML", NULL};
    bool ext = false;
    for (int i = 0; exts[i] && !ext; i++)
        ext = strcmp(dot + 1, exts[i]) == 0;
    if (!ext)
        return false;
    const char *star = strchr(name, '*');
    if (!star || star > dot)
        return !star;
    // One '*' only, and no '/' after it: a glob in the last path component.
    for (const char *p = star + 1; p < dot; p++)
        if (*p == '*' || *p == '/')
            return false;
    return true;
}

// A relative path made relative to the directory of the config file (in place).
static void
s_resolve_path(char **path, const char *cfg_path)
{
    if (!*path || !**path || (*path)[0] == '/' || !cfg_path)
        return;
    const char *slash = strrchr(cfg_path, '/');
    if (!slash)
        return;
    char *joined = fw_asprintf("%.*s/%s", (int)(slash - cfg_path), cfg_path, *path);
    free(*path);
    *path = joined;
}

static void
s_check_file_sd(struct fw_file_sd_config *c, const char *file, struct fw_cfg_errors *errs)
{
    if (c->n_files == 0)
        fw_cfg_errors_add(errs, file, c->pos,
                          "file service discovery config must contain at least one path name");
    for (size_t i = 0; i < c->n_files; i++) {
        if (!s_file_pattern_ok(c->files[i]))
            fw_cfg_errors_add(errs, file, c->pos,
                              "path name \"%s\" is not valid for file discovery", c->files[i]);
        s_resolve_path(&c->files[i], file);
    }
}

static bool
s_http_is_default(const struct fw_kube_sd_config *c)
{
    const struct fw_http_client_config *h = &c->http;
    const struct fw_basic_auth *ba = &h->basic_auth;
    const struct fw_authorization *au = &h->authorization;
    const struct fw_tls_config *t = &h->tls_config;
    return !ba->username && !ba->username_file && !ba->password && !ba->password_file &&
           !au->type && !au->credentials && !au->credentials_file && !h->bearer_token &&
           !h->bearer_token_file && !t->ca && !t->ca_file && !t->cert && !t->cert_file && !t->key &&
           !t->key_file && !t->server_name && !t->insecure_skip_verify && !t->min_version &&
           !t->max_version && !h->proxy_url && h->follow_redirects && c->enable_http2;
}

// A label or field selector as the API server parses it: comma-separated requirements,
// each `key`, `!key`, `key=v`, `key==v`, `key!=v` (and, for labels, `key in (a,b)`,
// `key notin (a,b)`). Only the shape is checked; the API server has the last word.
static bool
s_selector_ok(const char *sel, bool labels)
{
    if (!sel || !*sel)
        return true;
    int depth = 0;
    for (const char *p = sel; *p; p++) {
        if (*p == '(') {
            if (!labels || depth++ > 0)
                return false;
        } else if (*p == ')') {
            if (--depth < 0)
                return false;
        } else if (!isprint((unsigned char)*p)) {
            return false;
        }
    }
    if (depth != 0)
        return false;
    // No empty requirement: ",," or a leading/trailing comma outside parentheses.
    const char *p = sel;
    while (*p == ' ')
        p++;
    if (*p == ',')
        return false;
    size_t n = strlen(sel);
    while (n > 0 && sel[n - 1] == ' ')
        n--;
    return n > 0 && sel[n - 1] != ',' && !strstr(sel, ",,");
}

static const char *const s_allowed[FW_KUBE_ROLE_COUNT] = {
    [FW_KUBE_ROLE_POD] = "pod, node",
    [FW_KUBE_ROLE_SERVICE] = "service",
    [FW_KUBE_ROLE_ENDPOINTS] = "pod, service, endpoints",
    [FW_KUBE_ROLE_ENDPOINTSLICE] = "pod, service, endpointslice",
    [FW_KUBE_ROLE_NODE] = "node",
    [FW_KUBE_ROLE_INGRESS] = "ingress",
};

static bool
s_selector_allowed(int role, int sel_role)
{
    const char *list = s_allowed[role];
    const char *name = fw_kube_role_name(sel_role);
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == '\0'))
            return true;
    return false;
}

static void
s_check_kube_sd(struct fw_kube_sd_config *c, const char *file, const char *dir,
                struct fw_cfg_errors *errs)
{
    if (c->role < 0 || c->role >= FW_KUBE_ROLE_COUNT)
        return; // the enum walk reported it (or the missing role)
    bool is_default = s_http_is_default(c);
    fw_promcfg_http_resolve(&c->http, dir, file, c->pos, errs);
    if (c->api_server) {
        const char *a = c->api_server;
        if (strncmp(a, "http://", 7) != 0 && strncmp(a, "https://", 8) != 0)
            fw_cfg_errors_add(errs, file, c->pos,
                              "api_server \"%s\" must be an http:// or https:// URL", a);
        if (c->namespaces.own_namespace)
            fw_cfg_errors_add(errs, file, c->pos,
                              "cannot use 'api_server' and 'namespaces.own_namespace' "
                              "simultaneously");
    } else if (!is_default) {
        fw_cfg_errors_add(errs, file, c->pos,
                          "to use custom HTTP client configuration please provide the "
                          "'api_server' URL explicitly");
    }
    for (size_t i = 0; i < c->n_selectors; i++) {
        struct fw_kube_selector *s = &c->selectors[i];
        for (size_t j = 0; j < i; j++)
            if (c->selectors[j].role == s->role) {
                fw_cfg_errors_add(errs, file, s->pos, "duplicated selector role: %s",
                                  fw_kube_role_name(s->role));
                break;
            }
        if (!s_selector_allowed(c->role, s->role))
            fw_cfg_errors_add(errs, file, s->pos, "%s role supports only %s selectors",
                              fw_kube_role_name(c->role), s_allowed[c->role]);
        if (!s_selector_ok(s->label, true))
            fw_cfg_errors_add(errs, file, s->pos, "invalid label selector \"%s\"", s->label);
        if (!s_selector_ok(s->field, false))
            fw_cfg_errors_add(errs, file, s->pos, "invalid field selector \"%s\"", s->field);
    }
    for (size_t i = 0; i < c->namespaces.n_names; i++)
        if (!c->namespaces.names[i][0] || strchr(c->namespaces.names[i], '/'))
            fw_cfg_errors_add(errs, file, c->pos, "invalid namespace name \"%s\"",
                              c->namespaces.names[i]);
}

void
fw_promcfg_sd_check(struct fw_promcfg *cfg, struct fw_cfg_errors *errs)
{
    char *dir = fw_strdup(cfg->path ? cfg->path : "");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    for (size_t j = 0; j < cfg->n_scrape_configs; j++) {
        struct fw_scrape_config *sc = &cfg->scrape_configs[j];
        for (size_t i = 0; i < sc->n_file_sd_configs; i++)
            s_check_file_sd(&sc->file_sd_configs[i], cfg->path, errs);
        for (size_t i = 0; i < sc->n_kubernetes_sd_configs; i++)
            s_check_kube_sd(&sc->kubernetes_sd_configs[i], cfg->path, dir, errs);
    }
    free(dir);
}

// ---------------------------------------------------------------------------------------
//  Comparison

static bool
s_str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool
s_list_eq(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

bool
fw_file_sd_same(const struct fw_file_sd_config *a, const struct fw_file_sd_config *b)
{
    return a->refresh_interval_ms == b->refresh_interval_ms &&
           s_list_eq(a->files, a->n_files, b->files, b->n_files);
}

bool
fw_kube_sd_same(const struct fw_kube_sd_config *a, const struct fw_kube_sd_config *b)
{
    if (!s_str_eq(a->api_server, b->api_server) || a->role != b->role ||
        a->namespaces.own_namespace != b->namespaces.own_namespace ||
        !s_list_eq(a->namespaces.names, a->namespaces.n_names, b->namespaces.names,
                   b->namespaces.n_names) ||
        a->n_selectors != b->n_selectors || a->enable_http2 != b->enable_http2 ||
        a->attach_metadata.node != b->attach_metadata.node ||
        a->attach_metadata.namespace_ != b->attach_metadata.namespace_ ||
        !fw_promcfg_http_equal(&a->http, &b->http))
        return false;
    for (size_t i = 0; i < a->n_selectors; i++) {
        const struct fw_kube_selector *s = &a->selectors[i], *t = &b->selectors[i];
        if (s->role != t->role || !s_str_eq(s->label, t->label) || !s_str_eq(s->field, t->field))
            return false;
    }
    return true;
}
