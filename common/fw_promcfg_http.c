/*  fw_promcfg_http.c — the HTTP client settings of prometheus.yml.

    The tables below describe the nested mappings (basic_auth, authorization, tls_config);
    the inline keys are FW_PROMCFG_HTTP_FIELDS in the header. Cross-field rules run after the
    table walk, in the order and with the texts of prometheus/common's
    HTTPClientConfig.Validate and TLSConfig.Validate, so a user sees the message Prometheus
    would print. Copy, equality and free walk the record's strings through one list of
    member offsets, so a new string field is added in one place.
*/
#include "fw_promcfg_http.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"

// ---------------------------------------------------------------------------------------
//  Checks and tables

static int
s_check_tls_version(const char *value, const char *file, struct fw_cfg_pos pos,
                    struct fw_cfg_errors *errs)
{
    static const char *const known[] = {"TLS10", "TLS11", "TLS12", "TLS13", NULL};
    for (int i = 0; known[i]; i++)
        if (strcmp(value, known[i]) == 0)
            return 0;
    fw_cfg_errors_add(errs, file, pos, "unknown TLS version: %s", value);
    return -1;
}

int
fw_promcfg_http_check_proxy_url(const char *value, const char *file, struct fw_cfg_pos pos,
                                struct fw_cfg_errors *errs)
{
    static const char *const schemes[] = {"http://", "https://", "socks5://", "socks5h://", NULL};
    for (int i = 0; schemes[i]; i++)
        if (strncasecmp(value, schemes[i], strlen(schemes[i])) == 0 &&
            value[strlen(schemes[i])] != '\0')
            return 0;
    fw_cfg_errors_add(errs, file, pos,
                      "proxy_url \"%.64s\" is not an http, https or socks5 URL with a host", value);
    return -1;
}

const struct fw_cfg_field fw_promcfg_http_basic_auth_fields[] = {
    {.key = "username", .type = FW_CFG_STR, .off = offsetof(struct fw_basic_auth, username)},
    {.key = "username_file",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_basic_auth, username_file)},
    {.key = "password", .type = FW_CFG_STR, .off = offsetof(struct fw_basic_auth, password)},
    {.key = "password_file",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_basic_auth, password_file)},
    {.key = NULL},
};

const struct fw_cfg_field fw_promcfg_http_authorization_fields[] = {
    {.key = "type", .type = FW_CFG_STR, .off = offsetof(struct fw_authorization, type)},
    {.key = "credentials",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_authorization, credentials)},
    {.key = "credentials_file",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_authorization, credentials_file)},
    {.key = NULL},
};

const struct fw_cfg_field fw_promcfg_http_tls_fields[] = {
    {.key = "ca", .type = FW_CFG_STR, .off = offsetof(struct fw_tls_config, ca)},
    {.key = "ca_file", .type = FW_CFG_STR, .off = offsetof(struct fw_tls_config, ca_file)},
    {.key = "cert", .type = FW_CFG_STR, .off = offsetof(struct fw_tls_config, cert)},
    {.key = "cert_file", .type = FW_CFG_STR, .off = offsetof(struct fw_tls_config, cert_file)},
    {.key = "key", .type = FW_CFG_STR, .off = offsetof(struct fw_tls_config, key)},
    {.key = "key_file", .type = FW_CFG_STR, .off = offsetof(struct fw_tls_config, key_file)},
    {.key = "server_name", .type = FW_CFG_STR, .off = offsetof(struct fw_tls_config, server_name)},
    {.key = "insecure_skip_verify",
     .type = FW_CFG_BOOL,
     .off = offsetof(struct fw_tls_config, insecure_skip_verify),
     .def = "false"},
    {.key = "min_version",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_tls_config, min_version),
     .check = s_check_tls_version},
    {.key = "max_version",
     .type = FW_CFG_STR,
     .off = offsetof(struct fw_tls_config, max_version),
     .check = s_check_tls_version},
    {.key = NULL},
};

// A standalone record, so fw_promcfg_http_free can use the same entries as an owning table.
struct s_wrap {
    struct fw_http_client_config http;
};
static const struct fw_cfg_field s_fields[] = {
    FW_PROMCFG_HTTP_FIELDS(struct s_wrap, http),
    {.key = NULL},
};

// Every string member of the record: copied, compared and freed through this list.
static const size_t s_strings[] = {
    offsetof(struct fw_http_client_config, basic_auth.username),
    offsetof(struct fw_http_client_config, basic_auth.username_file),
    offsetof(struct fw_http_client_config, basic_auth.password),
    offsetof(struct fw_http_client_config, basic_auth.password_file),
    offsetof(struct fw_http_client_config, authorization.type),
    offsetof(struct fw_http_client_config, authorization.credentials),
    offsetof(struct fw_http_client_config, authorization.credentials_file),
    offsetof(struct fw_http_client_config, bearer_token),
    offsetof(struct fw_http_client_config, bearer_token_file),
    offsetof(struct fw_http_client_config, tls_config.ca),
    offsetof(struct fw_http_client_config, tls_config.ca_file),
    offsetof(struct fw_http_client_config, tls_config.cert),
    offsetof(struct fw_http_client_config, tls_config.cert_file),
    offsetof(struct fw_http_client_config, tls_config.key),
    offsetof(struct fw_http_client_config, tls_config.key_file),
    offsetof(struct fw_http_client_config, tls_config.server_name),
    offsetof(struct fw_http_client_config, tls_config.min_version),
    offsetof(struct fw_http_client_config, tls_config.max_version),
    offsetof(struct fw_http_client_config, proxy_url),
};
#define S_N_STRINGS (sizeof(s_strings) / sizeof(s_strings[0]))

static char **
s_str(const struct fw_http_client_config *c, size_t i)
{
    return (char **)((const char *)c + s_strings[i]);
}

// ---------------------------------------------------------------------------------------
//  Resolve

static bool
s_set(const char *s)
{
    return s && *s;
}

// Make *path relative to dir when it is relative (Prometheus's config.JoinDir).
static void
s_join(char **path, const char *dir)
{
    if (!s_set(*path) || !s_set(dir) || (*path)[0] == '/')
        return;
    char *joined = fw_asprintf("%s/%s", dir, *path);
    free(*path);
    *path = joined;
}

static int
s_fail(const char *file, struct fw_cfg_pos pos, struct fw_cfg_errors *errs, const char *msg)
{
    fw_cfg_errors_add(errs, file, pos, "%s", msg);
    return -1;
}

static int
s_tls_validate(const struct fw_tls_config *t, const char *file, struct fw_cfg_pos pos,
               struct fw_cfg_errors *errs)
{
    if (s_set(t->ca) && s_set(t->ca_file))
        return s_fail(file, pos, errs, "at most one of ca, ca_file & ca_ref must be configured");
    if (s_set(t->cert) && s_set(t->cert_file))
        return s_fail(file, pos, errs,
                      "at most one of cert, cert_file & cert_ref must be configured");
    if (s_set(t->key) && s_set(t->key_file))
        return s_fail(file, pos, errs, "at most one of key and key_file must be configured");
    bool cert = s_set(t->cert) || s_set(t->cert_file);
    bool key = s_set(t->key) || s_set(t->key_file);
    if (cert && !key)
        return s_fail(file, pos, errs,
                      "exactly one of key or key_file must be configured when a client "
                      "certificate is configured");
    if (key && !cert)
        return s_fail(file, pos, errs,
                      "exactly one of cert or cert_file must be configured when a client key is "
                      "configured");
    if (s_set(t->min_version) && s_set(t->max_version) &&
        strcmp(t->max_version, t->min_version) < 0)
        return s_fail(file, pos, errs,
                      "tls_config.max_version must be greater than or equal to "
                      "tls_config.min_version if both are specified");
    return 0;
}

int
fw_promcfg_http_resolve(struct fw_http_client_config *c, const char *dir, const char *file,
                        struct fw_cfg_pos pos, struct fw_cfg_errors *errs)
{
    struct fw_basic_auth *ba = &c->basic_auth;
    struct fw_authorization *au = &c->authorization;
    bool basic = s_set(ba->username) || s_set(ba->username_file) || s_set(ba->password) ||
                 s_set(ba->password_file);
    bool authz = s_set(au->type) || s_set(au->credentials) || s_set(au->credentials_file);
    bool bearer = s_set(c->bearer_token) || s_set(c->bearer_token_file);

    if (s_set(c->bearer_token) && s_set(c->bearer_token_file))
        return s_fail(file, pos, errs,
                      "at most one of bearer_token & bearer_token_file must be configured");
    if (basic && bearer)
        return s_fail(file, pos, errs,
                      "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must "
                      "be configured");
    if (s_set(ba->username) && s_set(ba->username_file))
        return s_fail(file, pos, errs,
                      "at most one of basic_auth username, username_file & username_ref must be "
                      "configured");
    if (s_set(ba->password) && s_set(ba->password_file))
        return s_fail(file, pos, errs,
                      "at most one of basic_auth password, password_file & password_ref must be "
                      "configured");
    if (authz) {
        if (bearer)
            return s_fail(file, pos, errs,
                          "authorization is not compatible with bearer_token & bearer_token_file");
        if (s_set(au->credentials) && s_set(au->credentials_file))
            return s_fail(file, pos, errs,
                          "at most one of authorization credentials & credentials_file must be "
                          "configured");
        // Trimmed and defaulted as Prometheus does.
        char *type = fw_strdup(au->type ? au->type : "");
        char *b = type, *e = type + strlen(type);
        while (*b && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            *--e = '\0';
        free(au->type);
        au->type = fw_strdup(*b ? b : "Bearer");
        free(type);
        if (strcasecmp(au->type, "basic") == 0)
            return s_fail(file, pos, errs,
                          "authorization type cannot be set to \"basic\", use \"basic_auth\" "
                          "instead");
        if (basic)
            return s_fail(file, pos, errs,
                          "at most one of basic_auth, oauth2 & authorization must be configured");
    } else if (bearer) {
        free(au->type);
        au->type = fw_strdup("Bearer");
        au->credentials = c->bearer_token;
        au->credentials_file = c->bearer_token_file;
        c->bearer_token = NULL;
        c->bearer_token_file = NULL;
    }
    if (s_tls_validate(&c->tls_config, file, pos, errs) != 0)
        return -1;
    s_join(&ba->username_file, dir);
    s_join(&ba->password_file, dir);
    s_join(&au->credentials_file, dir);
    s_join(&c->tls_config.ca_file, dir);
    s_join(&c->tls_config.cert_file, dir);
    s_join(&c->tls_config.key_file, dir);
    return 0;
}

// ---------------------------------------------------------------------------------------
//  Copy, compare, free

void
fw_promcfg_http_copy(struct fw_http_client_config *dst, const struct fw_http_client_config *src)
{
    *dst = *src;
    for (size_t i = 0; i < S_N_STRINGS; i++) {
        char **d = s_str(dst, i);
        *d = *d ? fw_strdup(*d) : NULL;
    }
    dst->tls_config.ca_file_pem = NULL; // borrowed by a request's shallow copy, never settings
}

bool
fw_promcfg_http_equal(const struct fw_http_client_config *a, const struct fw_http_client_config *b)
{
    if (a->tls_config.insecure_skip_verify != b->tls_config.insecure_skip_verify ||
        a->follow_redirects != b->follow_redirects)
        return false;
    for (size_t i = 0; i < S_N_STRINGS; i++) {
        const char *x = *s_str(a, i), *y = *s_str(b, i);
        if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
            return false;
    }
    return true;
}

void
fw_promcfg_http_free(struct fw_http_client_config *c)
{
    if (!c)
        return;
    fw_cfg_free(s_fields, c);
    memset(c, 0, sizeof(*c));
}

// ---------------------------------------------------------------------------------------
//  Secret files

int
fw_promcfg_http_read_secret(const char *path, char **out, fw_err_t *err)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fw_err_set(err, "unable to read file %s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = fw_malloc(FW_PROMCFG_HTTP_SECRET_MAX + 2);
    size_t len = fread(buf, 1, FW_PROMCFG_HTTP_SECRET_MAX + 1, fp);
    int bad = ferror(fp);
    fclose(fp);
    if (bad) {
        fw_err_set(err, "unable to read file %s: read error", path);
        free(buf);
        return -1;
    }
    if (len > FW_PROMCFG_HTTP_SECRET_MAX) {
        fw_err_set(err, "unable to read file %s: larger than %d bytes", path,
                   FW_PROMCFG_HTTP_SECRET_MAX);
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    size_t b = 0;
    while (b < len && isspace((unsigned char)buf[b]))
        b++;
    while (len > b && isspace((unsigned char)buf[len - 1]))
        buf[--len] = '\0';
    memmove(buf, buf + b, len - b + 1);
    *out = buf;
    return 0;
}
