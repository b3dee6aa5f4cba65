/*  fw_promcfg_http.h — the HTTP client settings of prometheus.yml (prometheus/common's
    HTTPClientConfig), as one reusable record and field table.

    Prometheus inlines the same HTTP client settings into a scrape config, a
    kubernetes_sd_config, remote_write and others. Here they are one record, struct
    fw_http_client_config, and one list of fw_cfg field entries, FW_PROMCFG_HTTP_FIELDS(T, m),
    which a table includes inline for a member m of type struct fw_http_client_config in its
    record T (fw_cfg frees the member with the rest of the table). After loading, the owner
    calls fw_promcfg_http_resolve() once per record: it applies Prometheus's cross-field rules
    with its error texts ("at most one of basic_auth, oauth2, bearer_token &
    bearer_token_file must be configured", ...), folds the deprecated bearer_token and
    bearer_token_file into authorization (type Bearer), as Prometheus does, and makes
    relative *_file paths relative to the config file's directory.

    Implemented keys: basic_auth (username, username_file, password, password_file),
    authorization (type, credentials, credentials_file), bearer_token, bearer_token_file,
    tls_config (ca, ca_file, cert, cert_file, key, key_file, server_name,
    insecure_skip_verify, min_version, max_version), proxy_url, follow_redirects. The rest of
    HTTPClientConfig (oauth2, no_proxy, proxy_from_environment, proxy_connect_header,
    http_headers, enable_http2) is not in this list: each owning table refuses or handles it.

    Secrets kept in files (password_file, credentials_file, username_file) are not read at
    load: fw_promcfg_http_read_secret() reads one when a request is made, as Prometheus
    re-reads them per request, so a rotated token is picked up at the next scrape.
*/
#ifndef FW_PROMCFG_HTTP_H
#define FW_PROMCFG_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "fw_cfg.h"
#include "fw_err.h"

// Largest secret file read (a token, a password): larger files are refused.
#define FW_PROMCFG_HTTP_SECRET_MAX (64 * 1024)

struct fw_basic_auth {
    char *username;      // owned, or NULL
    char *username_file; // owned, or NULL
    char *password;      // owned secret, or NULL
    char *password_file; // owned, or NULL
};

struct fw_authorization {
    char *type;             // owned; "Bearer" after resolve when credentials are set
    char *credentials;      // owned secret, or NULL
    char *credentials_file; // owned, or NULL
};

struct fw_tls_config {
    char *ca;          // owned PEM text, or NULL
    char *ca_file;     // owned, or NULL
    char *cert;        // owned PEM text, or NULL
    char *cert_file;   // owned, or NULL
    char *key;         // owned secret PEM text, or NULL
    char *key_file;    // owned, or NULL
    char *server_name; // owned, or NULL: SNI and the name the certificate must carry
    bool insecure_skip_verify;
    char *min_version; // owned: "TLS10".."TLS13", or NULL (TLS 1.2, Go's client default)
    char *max_version; // owned, or NULL (no maximum)
    // borrowed: ca_file's content, set only in the shallow copy fw_tlsfiles_tls makes for
    // fw_http_tls (NULL in a loaded config and its copies: a client without fw_tlsfiles
    // gives curl ca_file's path). Not a config key; never copied, compared or freed.
    char *ca_file_pem;
};

struct fw_http_client_config {
    struct fw_basic_auth basic_auth;
    struct fw_authorization authorization;
    char *bearer_token;      // owned secret; moved into authorization by resolve
    char *bearer_token_file; // owned; moved into authorization by resolve
    struct fw_tls_config tls_config;
    char *proxy_url;       // owned, or NULL
    bool follow_redirects; // default true
};

// The child tables of the nested mappings (used by FW_PROMCFG_HTTP_FIELDS).
extern const struct fw_cfg_field fw_promcfg_http_basic_auth_fields[];
extern const struct fw_cfg_field fw_promcfg_http_authorization_fields[];
extern const struct fw_cfg_field fw_promcfg_http_tls_fields[];
int fw_promcfg_http_check_proxy_url(const char *value, const char *file, struct fw_cfg_pos pos,
                                    struct fw_cfg_errors *errs);

// The field entries of the HTTP client keys for member m (a struct fw_http_client_config) of
// record type T, to include inline in T's table.
#define FW_PROMCFG_HTTP_FIELDS(T, m)                                                               \
    {.key = "basic_auth",                                                                          \
     .type = FW_CFG_STRUCT,                                                                        \
     .off = offsetof(T, m.basic_auth),                                                             \
     .child = fw_promcfg_http_basic_auth_fields},                                                  \
        {.key = "authorization",                                                                   \
         .type = FW_CFG_STRUCT,                                                                    \
         .off = offsetof(T, m.authorization),                                                      \
         .child = fw_promcfg_http_authorization_fields},                                           \
        {.key = "bearer_token", .type = FW_CFG_STR, .off = offsetof(T, m.bearer_token)},           \
        {.key = "bearer_token_file", .type = FW_CFG_STR, .off = offsetof(T, m.bearer_token_file)}, \
        {.key = "tls_config",                                                                      \
         .type = FW_CFG_STRUCT,                                                                    \
         .off = offsetof(T, m.tls_config),                                                         \
         .child = fw_promcfg_http_tls_fields},                                                     \
        {.key = "proxy_url",                                                                       \
         .type = FW_CFG_STR,                                                                       \
         .off = offsetof(T, m.proxy_url),                                                          \
         .check = fw_promcfg_http_check_proxy_url},                                                \
    {                                                                                              \
        .key = "follow_redirects", .type = FW_CFG_BOOL, .off = offsetof(T, m.follow_redirects),    \
        .def = "true"                                                                              \
    }

// Apply Prometheus's cross-field rules to c (loaded from `file`, the record at pos), adding
// each broken rule to errs with Prometheus's text; fold bearer_token(_file) into
// authorization and default its type to Bearer; join relative file paths to dir (the config
// file's directory; NULL or "" leaves them). 0, or -1 when an error was added.
int fw_promcfg_http_resolve(struct fw_http_client_config *c, const char *dir, const char *file,
                            struct fw_cfg_pos pos, struct fw_cfg_errors *errs);

// Deep copy of src into dst (overwritten, not freed first).
void fw_promcfg_http_copy(struct fw_http_client_config *dst,
                          const struct fw_http_client_config *src);
// Whether a and b hold the same settings.
bool fw_promcfg_http_equal(const struct fw_http_client_config *a,
                           const struct fw_http_client_config *b);
// Free what c owns and zero it (for copies; a loaded record is freed with its table).
void fw_promcfg_http_free(struct fw_http_client_config *c);

// Read the secret in file path (at most FW_PROMCFG_HTTP_SECRET_MAX bytes), with leading and
// trailing white space trimmed as Prometheus trims it. A new string in *out, or -1 with err
// ("unable to read file PATH: REASON").
int fw_promcfg_http_read_secret(const char *path, char **out, fw_err_t *err);

#endif
