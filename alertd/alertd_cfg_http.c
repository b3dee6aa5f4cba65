/*  alertd_cfg_http.c — http_config for every HTTP integration (see alertd_cfg_http.h).
    Checks follow prometheus/common's HTTPClientConfig.Validate, TLSConfig.Validate and
    ProxyConfig.Validate, with their texts; TLS files are read here because notifyd, in its
    own pod, cannot see alertd's files.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alertd_cfg_http.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_fields.h"
#include "fw_mem.h"

#define S_PEM_MAX (1024 * 1024) // a CA bundle is a few hundred KiB at most

static const char *const s_true[] = {"true", NULL};

// Go's url.Parse refuses control characters; a space cannot be in a host either. The URL
// may hold a password, so the message never shows it.
static int
s_check_proxy_url(const char *value, const char *file, struct fw_cfg_pos pos,
                  struct fw_cfg_errors *errs)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p <= ' ' || *p == 0x7f) {
            fw_cfg_errors_add(errs, file, pos,
                              "proxy_url: invalid URL (a space or control character)");
            return -1;
        }
    return 0;
}

static const struct fw_cfg_field s_oauth2_fields[] = {
    F_POS(struct alertd_cfg_oauth2, pos),
    F_STR("client_id", struct alertd_cfg_oauth2, client_id),
    F_STR("client_secret", struct alertd_cfg_oauth2, client_secret),
    F_STR("client_secret_file", struct alertd_cfg_oauth2, client_secret_file),
    {.key = "scopes",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(struct alertd_cfg_oauth2, scopes),
     .count_off = offsetof(struct alertd_cfg_oauth2, scopes_len)},
    F_STR("token_url", struct alertd_cfg_oauth2, token_url),
    {.key = "endpoint_params",
     .type = FW_CFG_STR_MAP,
     .off = offsetof(struct alertd_cfg_oauth2, endpoint_params)},
    {.key = "tls_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct alertd_cfg_oauth2, tls),
     .child = fw_promcfg_http_tls_fields},
    {.key = "proxy_url",
     .type = FW_CFG_STR,
     .off = offsetof(struct alertd_cfg_oauth2, proxy_url),
     .check = s_check_proxy_url},
    // Keys of later prometheus/common versions, which Alertmanager 0.25 refuses too.
    FW_CFG_NO("client_secret_ref"),
    FW_CFG_NO("no_proxy"),
    FW_CFG_NO("proxy_from_environment"),
    FW_CFG_NO("proxy_connect_header"),
    FW_CFG_NO("client_certificate_key"),
    FW_CFG_NO("client_certificate_key_file"),
    FW_CFG_NO("client_certificate_key_id"),
    FW_CFG_NO("client_certificate_key_ref"),
    FW_CFG_NO("signature_algorithm"),
    FW_CFG_NO("iss"),
    FW_CFG_NO("audience"),
    FW_CFG_NO("claims"),
    FW_CFG_NO("grant_type"),
    {NULL},
};

#define T struct alertd_cfg_http
static const struct fw_cfg_field s_basic_auth_fields[] = {
    F_STR("username", T, basic_username),
    F_STR("username_file", T, basic_username_file),
    F_STR("password", T, basic_password),
    F_STR("password_file", T, basic_password_file),
    FW_CFG_NO("username_ref"),
    FW_CFG_NO("password_ref"),
    {NULL},
};

static const struct fw_cfg_field s_authorization_fields[] = {
    F_STR("type", T, auth_type),
    F_STR("credentials", T, auth_credentials),
    F_STR("credentials_file", T, auth_credentials_file),
    FW_CFG_NO("credentials_ref"),
    {NULL},
};

// basic_auth and authorization fill members of struct alertd_cfg_http itself, so their
// child tables are offset from it (off 0).
const struct fw_cfg_field alertd_cfg_http_fields[] = {
    F_POS(T, pos),
    {.key = "basic_auth", .type = FW_CFG_STRUCT, .off = 0, .child = s_basic_auth_fields},
    {.key = "authorization", .type = FW_CFG_STRUCT, .off = 0, .child = s_authorization_fields},
    F_STR("bearer_token", T, bearer_token),
    F_STR("bearer_token_file", T, bearer_token_file),
    F_BOOL("follow_redirects", T, follow_redirects, "true"),
    {.key = "tls_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, tls),
     .child = fw_promcfg_http_tls_fields},
    {.key = "proxy_url",
     .type = FW_CFG_STR,
     .off = offsetof(T, proxy_url),
     .check = s_check_proxy_url},
    F_STR("no_proxy", T, no_proxy),
    F_BOOL("proxy_from_environment", T, proxy_from_environment, "false"),
    {.key = "proxy_connect_header",
     .type = FW_CFG_STR_LIST_MAP,
     .off = offsetof(T, proxy_connect_header),
     .count_off = offsetof(T, proxy_connect_header_len)},
    FW_CFG_ONLY("enable_http2", s_true, "notifyd lets libcurl negotiate HTTP/2 over TLS"),
    {.key = "oauth2", .type = FW_CFG_STRUCT, .off = offsetof(T, oauth2), .child = s_oauth2_fields},
    F_WHY("http_headers", "not supported yet"),
    {NULL},
};
#undef T

// A relative file name made relative to the config file's directory (Alertmanager's
// resolveFilepaths); a new string, NULL for NULL.
static char *
s_path(const char *name, const char *file)
{
    if (!alertd_cfg_set(name))
        return NULL;
    const char *slash = file ? strrchr(file, '/') : NULL;
    if (name[0] == '/' || !slash)
        return fw_strdup(name);
    return fw_asprintf("%.*s/%s", (int)(slash - file), file, name);
}

static char *
s_secret(const struct alertd_cfg_http *h, const char *file, struct fw_cfg_errors *errs,
         const char *inline_value, const char *file_name, const char *what)
{
    char *path = s_path(file_name, file);
    char *v = alertd_cfg_receivers_secret(file, errs, inline_value, path, h->pos, what);
    free(path);
    return v;
}

static char *
s_base64(const char *plain)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(plain), o = 0;
    char *b64 = fw_malloc(4 * ((n + 2) / 3) + 1);
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)plain[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)plain[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)plain[i + 2];
        b64[o++] = tbl[(v >> 18) & 63];
        b64[o++] = tbl[(v >> 12) & 63];
        b64[o++] = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        b64[o++] = i + 2 < n ? tbl[v & 63] : '=';
    }
    b64[o] = '\0';
    return b64;
}

static bool
s_oauth2_given(const struct alertd_cfg_http *h)
{
    return h->oauth2.pos.line != h->pos.line || h->oauth2.pos.col != h->pos.col;
}

// The Authorization header value, or NULL (none, or an error added to errs).
static char *
s_authorization(const struct alertd_cfg_http *h, const char *file, struct fw_cfg_errors *errs)
{
    char *user = s_secret(h, file, errs, h->basic_username, h->basic_username_file, "username");
    char *pass = s_secret(h, file, errs, h->basic_password, h->basic_password_file, "password");
    char *cred =
        s_secret(h, file, errs, h->auth_credentials, h->auth_credentials_file, "credentials");
    char *bearer = s_secret(h, file, errs, h->bearer_token, h->bearer_token_file, "bearer_token");
    char *out = NULL;
    bool basic = user || pass, authz = cred || h->auth_type, oauth2 = s_oauth2_given(h);
    // prometheus/common's HTTPClientConfig.Validate, in its order and words.
    const char *why = NULL;
    if (basic && bearer)
        why = "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
              "configured";
    else if (authz && bearer)
        why = "authorization is not compatible with bearer_token & bearer_token_file";
    else if (h->auth_type && strcasecmp(h->auth_type, "basic") == 0)
        why = "authorization type cannot be set to \"basic\", use \"basic_auth\" instead";
    else if ((authz && (basic || oauth2)) || (oauth2 && basic))
        why = "at most one of basic_auth, oauth2 & authorization must be configured";
    else if (oauth2 && bearer)
        why = "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be "
              "configured";
    if (why) {
        fw_cfg_errors_add(errs, file, h->pos, "%s", why);
    } else if (user || pass) {
        char *plain = fw_asprintf("%s:%s", user ? user : "", pass ? pass : "");
        char *b64 = s_base64(plain);
        out = fw_asprintf("Basic %s", b64);
        free(b64);
        free(plain);
    } else if (cred) {
        out = fw_asprintf("%s %s", alertd_cfg_set(h->auth_type) ? h->auth_type : "Bearer", cred);
    } else if (bearer) {
        out = fw_asprintf("Bearer %s", bearer);
    }
    free(user);
    free(pass);
    free(cred);
    free(bearer);
    return out;
}

// A PEM file's text (a new string), or NULL with errno set (EFBIG past S_PEM_MAX).
static char *
s_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = fw_malloc(S_PEM_MAX + 1);
    size_t n = fread(buf, 1, S_PEM_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > S_PEM_MAX) {
        free(buf);
        errno = bad ? EIO : EFBIG;
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

// One PEM of tls_config (inline or from a file, joined to the config's directory): a new
// string, or NULL (nothing given, or an error added). marker: what the PEM must hold.
static char *
s_pem(struct fw_cfg_pos pos, const char *file, struct fw_cfg_errors *errs, const char *inline_value,
      const char *file_name, const char *what, const char *marker)
{
    char *text = NULL, *path = s_path(file_name, file);
    const char *shown = path ? path : "(inline)";
    if (alertd_cfg_set(inline_value)) {
        text = fw_strdup(inline_value);
    } else if (path) {
        text = s_read_file(path);
        if (!text) {
            fw_cfg_errors_add(errs, file, pos, "tls_config: unable to load specified %s %s: %s",
                              what, path, strerror(errno));
            free(path);
            return NULL;
        }
    }
    if (text && !strstr(text, marker)) {
        // Never shows the text: it may be a key.
        fw_cfg_errors_add(errs, file, pos,
                          "tls_config: unable to use specified %s %s: no PEM \"%s\" block", what,
                          shown, marker);
        free(text);
        text = NULL;
    }
    free(path);
    return text;
}

static void
s_put(json_t *o, const char *key, char *value_taken)
{
    if (value_taken)
        json_object_set_new(o, key, json_string(value_taken)); // steals the JSON string
    free(value_taken);
}

static json_t *
s_tls(const struct fw_tls_config *t, struct fw_cfg_pos pos, const char *file,
      struct fw_cfg_errors *errs)
{
    const char *why = NULL;
    bool cert = alertd_cfg_set(t->cert) || alertd_cfg_set(t->cert_file),
         key = alertd_cfg_set(t->key) || alertd_cfg_set(t->key_file);
    if (alertd_cfg_set(t->ca) && alertd_cfg_set(t->ca_file))
        why = "at most one of ca and ca_file must be configured";
    else if (alertd_cfg_set(t->cert) && alertd_cfg_set(t->cert_file))
        why = "at most one of cert and cert_file must be configured";
    else if (alertd_cfg_set(t->key) && alertd_cfg_set(t->key_file))
        why = "at most one of key and key_file must be configured";
    else if (cert && !key)
        why = "exactly one of key or key_file must be configured when a client certificate is "
              "configured";
    else if (key && !cert)
        why = "exactly one of cert or cert_file must be configured when a client key is "
              "configured";
    else if (alertd_cfg_set(t->min_version) && alertd_cfg_set(t->max_version) &&
             strcmp(t->max_version, t->min_version) < 0)
        why = "tls_config.max_version must be greater than or equal to tls_config.min_version "
              "if both are specified";
    if (why) {
        fw_cfg_errors_add(errs, file, pos, "%s", why);
        return NULL;
    }
    json_t *o = json_object();
    s_put(o, "ca", s_pem(pos, file, errs, t->ca, t->ca_file, "CA cert", "-----BEGIN CERTIFICATE"));
    s_put(o, "cert",
          s_pem(pos, file, errs, t->cert, t->cert_file, "client cert", "-----BEGIN CERTIFICATE"));
    s_put(o, "key", s_pem(pos, file, errs, t->key, t->key_file, "client key", "PRIVATE KEY-----"));
    s_put(o, "server_name", alertd_cfg_set(t->server_name) ? fw_strdup(t->server_name) : NULL);
    s_put(o, "min_version", alertd_cfg_set(t->min_version) ? fw_strdup(t->min_version) : NULL);
    s_put(o, "max_version", alertd_cfg_set(t->max_version) ? fw_strdup(t->max_version) : NULL);
    if (t->insecure_skip_verify)
        json_object_set_new(o, "insecure_skip_verify", json_true());
    return o;
}

static int
s_proxy(const struct alertd_cfg_http *h, const char *file, struct fw_cfg_errors *errs, json_t *o)
{
    const char *why = NULL;
    bool url = alertd_cfg_set(h->proxy_url);
    if (h->proxy_connect_header_len && !h->proxy_from_environment && !url)
        why = "if proxy_connect_header is configured, proxy_url or proxy_from_environment must "
              "also be configured";
    else if (h->proxy_from_environment && url)
        why = "if proxy_from_environment is configured, proxy_url must not be configured";
    else if (h->proxy_from_environment && alertd_cfg_set(h->no_proxy))
        why = "if proxy_from_environment is configured, no_proxy must not be configured";
    else if (!url && alertd_cfg_set(h->no_proxy))
        why = "if no_proxy is configured, proxy_url must also be configured";
    if (why) {
        fw_cfg_errors_add(errs, file, h->pos, "%s", why);
        return -1;
    }
    s_put(o, "proxy_url", url ? fw_strdup(h->proxy_url) : NULL);
    s_put(o, "no_proxy", alertd_cfg_set(h->no_proxy) ? fw_strdup(h->no_proxy) : NULL);
    if (h->proxy_from_environment)
        json_object_set_new(o, "proxy_from_environment", json_true());
    if (!h->proxy_connect_header_len)
        return 0;
    json_t *a = json_array();
    for (size_t i = 0; i + 1 < h->proxy_connect_header_len; i += 2) {
        const char *n = h->proxy_connect_header[i], *v = h->proxy_connect_header[i + 1];
        if (!*n || strpbrk(n, ": \t\r\n") || strpbrk(v ? v : "", "\r\n")) {
            fw_cfg_errors_add(errs, file, h->pos,
                              "proxy_connect_header: invalid header name or value for \"%.64s\"",
                              n);
            json_decref(a);
            return -1;
        }
        json_array_append_new(a, json_sprintf("%s: %s", n, v ? v : "")); // steals
    }
    json_object_set_new(o, "proxy_connect_header", a); // steals
    return 0;
}

// http_config.oauth2 for NOTIFY (docs/wire.md), checked as prometheus/common 0.38's
// OAuth2 (Alertmanager 0.25), client_secret_file read now: a new object, or NULL after an
// error was added.
static json_t *
s_oauth2(const struct alertd_cfg_oauth2 *a, const char *file, struct fw_cfg_errors *errs)
{
    const char *why = NULL;
    bool secret = alertd_cfg_set(a->client_secret),
         secret_file = alertd_cfg_set(a->client_secret_file);
    if (!alertd_cfg_set(a->client_id))
        why = "oauth2 client_id must be configured";
    else if (secret && secret_file)
        why = "at most one of oauth2 client_secret & client_secret_file must be configured";
    else if (!secret && !secret_file)
        why = "either oauth2 client_secret or client_secret_file must be configured";
    else if (!alertd_cfg_set(a->token_url))
        why = "oauth2 token_url must be configured";
    if (why) {
        fw_cfg_errors_add(errs, file, a->pos, "%s", why);
        return NULL;
    }
    char *path = s_path(a->client_secret_file, file);
    char *value =
        alertd_cfg_receivers_secret(file, errs, a->client_secret, path, a->pos, "client_secret");
    free(path);
    json_t *tls = s_tls(&a->tls, a->pos, file, errs);
    if (!value || !tls) {
        free(value);
        json_decref(tls);
        return NULL;
    }
    json_t *o = json_pack("{s:s, s:s, s:s}", "client_id", a->client_id, "client_secret", value,
                          "token_url", a->token_url);
    memset(value, 0, strlen(value));
    free(value);
    if (a->scopes_len) {
        json_t *scopes = json_array();
        for (size_t i = 0; i < a->scopes_len; i++)
            json_array_append_new(scopes, json_string(a->scopes[i] ? a->scopes[i] : ""));
        json_object_set_new(o, "scopes", scopes);
    }
    if (a->endpoint_params.len) {
        json_t *params = json_object();
        for (size_t i = 0; i < a->endpoint_params.len; i++)
            json_object_set_new(params, a->endpoint_params.items[i].name,
                                json_string(a->endpoint_params.items[i].value));
        json_object_set_new(o, "endpoint_params", params);
    }
    if (json_object_size(tls))
        json_object_set(o, "tls", tls);
    json_decref(tls);
    if (alertd_cfg_set(a->proxy_url))
        json_object_set_new(o, "proxy_url", json_string(a->proxy_url));
    return o;
}

json_t *
alertd_cfg_http_derive(const struct alertd_cfg_http *h, const char *file,
                       struct fw_cfg_errors *errs)
{
    size_t before = errs->len + errs->dropped;
    json_t *o = json_pack("{s:b}", "follow_redirects", h->follow_redirects);
    s_put(o, "authorization", s_authorization(h, file, errs));
    json_t *tls = s_tls(&h->tls, h->pos, file, errs);
    if (tls && json_object_size(tls))
        json_object_set(o, "tls", tls);
    json_decref(tls);
    (void)s_proxy(h, file, errs, o);
    if (s_oauth2_given(h)) {
        json_t *oauth2 = s_oauth2(&h->oauth2, file, errs);
        if (oauth2)
            json_object_set_new(o, "oauth2", oauth2); // steals
    }
    if (errs->len + errs->dropped > before) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *
alertd_cfg_http_effective(const struct alertd_cfg_http *own, struct fw_cfg_pos parent,
                          json_t *global_json, const char *file, struct fw_cfg_errors *errs)
{
    if (own->pos.line != parent.line || own->pos.col != parent.col)
        return alertd_cfg_http_derive(own, file, errs);
    return json_incref(global_json);
}

bool
alertd_cfg_http_has_authorization(const struct alertd_cfg_http *own, struct fw_cfg_pos parent)
{
    if (own->pos.line == parent.line && own->pos.col == parent.col)
        return false;
    return alertd_cfg_set(own->auth_type) || alertd_cfg_set(own->auth_credentials) ||
           alertd_cfg_set(own->auth_credentials_file) || alertd_cfg_set(own->bearer_token) ||
           alertd_cfg_set(own->bearer_token_file);
}

void
alertd_cfg_http_put(json_t *o, json_t *http)
{
    if (!http)
        return;
    const json_t *fr = json_object_get(http, "follow_redirects");
    if (json_object_size(http) == 1 && json_is_true(fr))
        return;                              // the defaults: nothing to say
    json_object_set(o, "http_config", http); // adds a reference
}
