/*  alertd_cfg_http.h — alertmanager.yml's http_config (prometheus/common's HTTPClientConfig)
    for every HTTP integration: its field table, its checks, and what NOTIFY carries of it.

    Implemented keys: basic_auth, authorization, bearer_token(_file) (folded into one
    Authorization header value), follow_redirects, tls_config (ca, ca_file, cert, cert_file,
    key, key_file, server_name, insecure_skip_verify, min_version, max_version), proxy_url,
    no_proxy, proxy_from_environment, proxy_connect_header, enable_http2 (true only). oauth2
    and http_headers are refused "not supported yet".

    As Alertmanager: an integration's own http_config replaces global.http_config entirely
    (no key is merged), and relative file names are relative to the config file's directory.
    notifyd runs in its own pod, so alertd reads every file (credentials, CA, certificate,
    key) at load and at each reload, and ships the contents in NOTIFY (docs/wire.md): a file
    that cannot be read is a load error at the http_config's file:line:col.
*/
#ifndef ALERTD_CFG_HTTP_H
#define ALERTD_CFG_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_promcfg_http.h"

// http_config.oauth2 (Alertmanager 0.25's prometheus/common OAuth2). Given when pos differs
// from the http_config's pos.
struct alertd_cfg_oauth2 {
    struct fw_cfg_pos pos;
    char *client_id, *client_secret, *client_secret_file, *token_url; // owned
    char **scopes;                                                    // owned
    size_t scopes_len;
    struct fw_labels endpoint_params; // owned
    struct fw_tls_config tls;         // owned strings: the token request's TLS
    char *proxy_url;                  // owned: the token request's proxy
};

// Table fields of one http_config mapping. The mapping was given when pos differs from its
// parent's pos (fw_cfg gives an absent mapping its parent's position).
struct alertd_cfg_http {
    struct fw_cfg_pos pos;
    char *basic_username, *basic_username_file;                 // owned
    char *basic_password, *basic_password_file;                 // owned
    char *auth_type, *auth_credentials, *auth_credentials_file; // owned
    char *bearer_token, *bearer_token_file;                     // owned
    bool follow_redirects;                                      // default true
    struct fw_tls_config tls;                                   // owned strings
    char *proxy_url, *no_proxy;                                 // owned
    bool proxy_from_environment;
    char **proxy_connect_header; // owned: name, value, name, value, ... (one per value)
    size_t proxy_connect_header_len;
    struct alertd_cfg_oauth2 oauth2;
};

// The table of an http_config mapping (member of type struct alertd_cfg_http).
extern const struct fw_cfg_field alertd_cfg_http_fields[];

// Check h (loaded from file, an alertmanager.yml) with prometheus/common's rules and read
// its files. Returns a new JSON object for NOTIFY's `http_config` (docs/wire.md), always
// holding follow_redirects, or NULL when an error was added to errs (file:line:col at h->pos).
json_t *alertd_cfg_http_derive(const struct alertd_cfg_http *h, const char *file,
                               struct fw_cfg_errors *errs);

// What an integration at parent sends: own's derived JSON when own was given (a new object,
// errors into errs), else a new reference to global_json (global.http_config's, derived
// once; may be NULL after its errors). The result is the caller's.
json_t *alertd_cfg_http_effective(const struct alertd_cfg_http *own, struct fw_cfg_pos parent,
                                  json_t *global_json, const char *file,
                                  struct fw_cfg_errors *errs);

// Whether an integration at parent has its own http_config with credentials for an
// Authorization header (authorization, or bearer_token, which prometheus/common turns into
// one): Slack's app tokens and Webex's bot token are checked against it.
bool alertd_cfg_http_has_authorization(const struct alertd_cfg_http *own, struct fw_cfg_pos parent);

// Add http (borrowed) to an integration's NOTIFY object o as `http_config`, unless it says
// nothing beyond the defaults.
void alertd_cfg_http_put(json_t *o, json_t *http);

#endif
