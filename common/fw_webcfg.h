/*  fw_webcfg.h — the web configuration file of --web.config.file, as Prometheus and
    Alertmanager read it (the Prometheus exporter-toolkit format), for every daemon's HTTP
    listener (fw_http).

    Keys done: basic_auth_users (user: bcrypt hash, "$2a$", "$2b$" or "$2y$"), the
    http_server_config headers (Content-Security-Policy, X-Frame-Options deny|sameorigin,
    X-Content-Type-Options nosniff, X-XSS-Protection, Strict-Transport-Security), and
    tls_server_config cert_file/cert, key_file/key, min_version, max_version (TLS10..TLS13),
    client_auth_type (NoClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert) with
    client_ca_file/client_ca. Keys refused at file:line:column as not supported:
    cipher_suites, curve_preferences, client_allowed_sans, prefer_server_cipher_suites other
    than true (the server's order is used), client_auth_type RequestClientCert and
    RequireAnyClientCert, http2 other than false (HTTP/1.1 only), rate_limit.

    The hashes are secrets: no message, log line or API answer shows them.
*/
#ifndef FW_WEBCFG_H
#define FW_WEBCFG_H

#include <stdbool.h>

#include "fw_cfg.h"
#include "fw_labels.h"

typedef enum {
    FW_WEBCFG_NO_CLIENT_CERT,    // "NoClientCert" (default)
    FW_WEBCFG_VERIFY_IF_GIVEN,   // "VerifyClientCertIfGiven"
    FW_WEBCFG_REQUIRE_AND_VERIFY // "RequireAndVerifyClientCert"
} fw_webcfg_client_auth_t;

#define FW_WEBCFG_HEADERS 5

struct fw_webcfg_tls {
    char *cert_file, *cert;           // owned: a file, or the PEM text (exactly one for TLS)
    char *key_file, *key;             // owned: likewise
    char *client_ca_file, *client_ca; // owned
    int client_auth;                  // fw_webcfg_client_auth_t
    int min_version, max_version;     // 0..3: TLS 1.0..1.3 (defaults TLS12, TLS13)
    struct fw_cfg_pos pos;
};

struct fw_webcfg {
    struct fw_webcfg_tls tls;
    char *headers[FW_WEBCFG_HEADERS]; // owned, NULL when unset; order of fw_webcfg_header_name
    struct fw_labels users;           // basic_auth_users: name -> bcrypt hash (secret)
};

// The response header name of headers[i].
const char *fw_webcfg_header_name(int i);

// Load the file at path into out (zeroed by the caller). 0, or -1 with errs filled (each at
// file:line:col); fw_webcfg_free() either way.
int fw_webcfg_load(const char *path, struct fw_webcfg *out, struct fw_cfg_errors *errs);
void fw_webcfg_free(struct fw_webcfg *cfg);

// True when the configuration asks for TLS (a certificate or key is given).
bool fw_webcfg_tls_enabled(const struct fw_webcfg *cfg);

// The GnuTLS priority string for min_version..max_version into buf. buf.
const char *fw_webcfg_tls_priorities(const struct fw_webcfg *cfg, char *buf, size_t size);

#endif
