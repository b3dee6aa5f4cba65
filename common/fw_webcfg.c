/*  fw_webcfg.c — the --web.config.file format (see the header): field tables, the bcrypt
    hash check, and the rules across keys (a certificate needs its key, a verified client
    needs a CA).
*/
#include "fw_webcfg.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

static const char *const s_header_names[FW_WEBCFG_HEADERS] = {
    "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "X-XSS-Protection",
    "Strict-Transport-Security"};

const char *
fw_webcfg_header_name(int i)
{
    return i >= 0 && i < FW_WEBCFG_HEADERS ? s_header_names[i] : NULL;
}

// A bcrypt hash as htpasswd -B and Go's bcrypt write it: $2a$, $2b$ or $2y$, a two-digit
// cost 04..31, '$', then 53 characters of bcrypt's base64 alphabet. The value is a secret:
// the message never quotes it.
static int
s_check_bcrypt(const char *v, const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs)
{
    static const char alphabet[] =
        "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    bool ok = strlen(v) == 60 && v[0] == '$' && v[1] == '2' && v[2] && strchr("aby", v[2]) &&
              v[3] == '$' && v[4] >= '0' && v[4] <= '3' && v[5] >= '0' && v[5] <= '9' &&
              v[6] == '$' && strspn(v + 7, alphabet) == 53;
    int cost = ok ? (v[4] - '0') * 10 + (v[5] - '0') : 0;
    if (ok && cost >= 4 && cost <= 31)
        return 0;
    fw_cfg_errors_add(errs, file, pos,
                      "basic_auth_users: the password is not a bcrypt hash ($2a$, $2b$ or $2y$, "
                      "cost 4 to 31, 60 characters)");
    return -1;
}

static int
s_check_xfo(const char *v, const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs)
{
    if (!*v || strcmp(v, "deny") == 0 || strcmp(v, "sameorigin") == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos,
                      "invalid value for X-Frame-Options. Expected one of: [\"deny\" "
                      "\"sameorigin\"], but got: \"%s\"",
                      v);
    return -1;
}

static int
s_check_xcto(const char *v, const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs)
{
    if (!*v || strcmp(v, "nosniff") == 0)
        return 0;
    fw_cfg_errors_add(errs, file, pos,
                      "invalid value for X-Content-Type-Options. Expected one of: [\"nosniff\"], "
                      "but got: \"%s\"",
                      v);
    return -1;
}

static const char *const s_versions[] = {"TLS10", "TLS11", "TLS12", "TLS13", NULL};
static const char *const s_client_auth[] = {"NoClientCert", "VerifyClientCertIfGiven",
                                            "RequireAndVerifyClientCert", NULL};
static const char *const s_true[] = {"true", NULL};
static const char *const s_false[] = {"false", NULL};

#define S_STR(k, m)                                                                                \
    {                                                                                              \
        .key = (k), .type = FW_CFG_STR, .off = offsetof(struct fw_webcfg_tls, m)                   \
    }

static const struct fw_cfg_field s_tls_fields[] = {
    {.key = "", .type = FW_CFG_POS, .off = offsetof(struct fw_webcfg_tls, pos)},
    S_STR("cert_file", cert_file),
    S_STR("cert", cert),
    S_STR("key_file", key_file),
    S_STR("key", key),
    S_STR("client_ca_file", client_ca_file),
    S_STR("client_ca", client_ca),
    {.key = "client_auth_type",
     .type = FW_CFG_ENUM,
     .off = offsetof(struct fw_webcfg_tls, client_auth),
     .def = "NoClientCert",
     .enum_names = s_client_auth},
    {.key = "min_version",
     .type = FW_CFG_ENUM,
     .off = offsetof(struct fw_webcfg_tls, min_version),
     .def = "TLS12",
     .enum_names = s_versions},
    {.key = "max_version",
     .type = FW_CFG_ENUM,
     .off = offsetof(struct fw_webcfg_tls, max_version),
     .def = "TLS13",
     .enum_names = s_versions},
    FW_CFG_WHY("cipher_suites", "GnuTLS's default suites are used"),
    FW_CFG_WHY("curve_preferences", "GnuTLS's default groups are used"),
    FW_CFG_ONLY("prefer_server_cipher_suites", s_true, "the server's order is always used"),
    FW_CFG_WHY("client_allowed_sans", "use client_ca_file with a CA that signs only the "
                                      "allowed clients"),
    {.key = NULL},
};

static const struct fw_cfg_field s_header_fields[] = {
    {.key = "Content-Security-Policy",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_webcfg, headers[0])},
    {.key = "X-Frame-Options",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_webcfg, headers[1]),
     .check = s_check_xfo},
    {.key = "X-Content-Type-Options",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_webcfg, headers[2]),
     .check = s_check_xcto},
    {.key = "X-XSS-Protection", .type = FW_CFG_STR, .off = offsetof(struct fw_webcfg, headers[3])},
    {.key = "Strict-Transport-Security",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_webcfg, headers[4])},
    {.key = NULL},
};

// http_server_config's keys live in struct fw_webcfg itself (offsets from its start).
static const struct fw_cfg_field s_http_fields[] = {
    FW_CFG_ONLY("http2", s_false, "floorwatch serves HTTP/1.1"),
    {.key = "headers", .type = FW_CFG_STRUCT, .off = 0, .child = s_header_fields},
    {.key = NULL},
};

static const struct fw_cfg_field s_fields[] = {
    {.key = "tls_server_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct fw_webcfg, tls),
     .child = s_tls_fields},
    {.key = "http_server_config", .type = FW_CFG_STRUCT, .off = 0, .child = s_http_fields},
    {.key = "basic_auth_users",
     .type = FW_CFG_STR_MAP,
     .off = offsetof(struct fw_webcfg, users),
     .check = s_check_bcrypt},
    FW_CFG_WHY("rate_limit", "no request rate limiter"),
    {.key = NULL},
};

static bool
s_set(const char *s)
{
    return s && *s;
}

// The rules across keys, at tls_server_config's position.
static void
s_check_tls(const char *file, const struct fw_webcfg_tls *t, struct fw_cfg_errors *errs)
{
    if (s_set(t->cert_file) && s_set(t->cert))
        fw_cfg_errors_add(errs, file, t->pos,
                          "tls_server_config: at most one of cert and cert_file must be "
                          "configured");
    if (s_set(t->key_file) && s_set(t->key))
        fw_cfg_errors_add(errs, file, t->pos,
                          "tls_server_config: at most one of key and key_file must be configured");
    if (s_set(t->client_ca_file) && s_set(t->client_ca))
        fw_cfg_errors_add(errs, file, t->pos,
                          "tls_server_config: at most one of client_ca and client_ca_file must "
                          "be configured");
    bool cert = s_set(t->cert_file) || s_set(t->cert);
    bool key = s_set(t->key_file) || s_set(t->key);
    bool ca = s_set(t->client_ca_file) || s_set(t->client_ca);
    if (cert && !key)
        fw_cfg_errors_add(errs, file, t->pos, "tls_server_config: missing key_file or key");
    if (key && !cert)
        fw_cfg_errors_add(errs, file, t->pos, "tls_server_config: missing cert_file or cert");
    if (ca && !cert && !key)
        fw_cfg_errors_add(errs, file, t->pos,
                          "tls_server_config: client_ca_file needs cert_file and key_file");
    if (t->client_auth != FW_WEBCFG_NO_CLIENT_CERT && !ca)
        fw_cfg_errors_add(errs, file, t->pos,
                          "tls_server_config: client_auth_type %s needs client_ca_file or "
                          "client_ca",
                          s_client_auth[t->client_auth]);
    if (t->max_version < t->min_version)
        fw_cfg_errors_add(errs, file, t->pos,
                          "tls_server_config: max_version must be greater than or equal to "
                          "min_version");
}

int
fw_webcfg_load(const char *path, struct fw_webcfg *out, struct fw_cfg_errors *errs)
{
    if (fw_cfg_load(path, NULL, s_fields, out, errs) != 0)
        return -1;
    s_check_tls(path, &out->tls, errs);
    return errs->len || errs->dropped ? -1 : 0;
}

void
fw_webcfg_free(struct fw_webcfg *cfg)
{
    if (cfg)
        fw_cfg_free(s_fields, cfg);
}

bool
fw_webcfg_tls_enabled(const struct fw_webcfg *cfg)
{
    const struct fw_webcfg_tls *t = &cfg->tls;
    return s_set(t->cert_file) || s_set(t->cert) || s_set(t->key_file) || s_set(t->key);
}

const char *
fw_webcfg_tls_priorities(const struct fw_webcfg *cfg, char *buf, size_t size)
{
    static const char *const vers[] = {"+VERS-TLS1.0", "+VERS-TLS1.1", "+VERS-TLS1.2",
                                       "+VERS-TLS1.3"};
    size_t n = (size_t)snprintf(buf, size, "NORMAL:%%SERVER_PRECEDENCE:-VERS-ALL");
    for (int v = cfg->tls.min_version; v <= cfg->tls.max_version && v < 4 && n < size; v++)
        n += (size_t)snprintf(buf + n, size - n, ":%s", vers[v]);
    return buf;
}
