/*  fw_http_auth.h — --web.config.file at run time: HTTP basic authentication against the
    file's bcrypt hashes, and the response headers it sets, for fw_http.

    As Prometheus (exporter-toolkit) does: the file is read again when it changes (checked
    with stat() on each request), so users and headers change without a restart; a file
    that no longer loads answers every request with 500 until it is fixed (logged as
    event=web.config.error). tls_server_config is read once, at start. With no
    basic_auth_users every request passes. A request whose credentials are absent,
    malformed or wrong fails; an unknown user costs a bcrypt check too (a fixed hash), so
    timing does not tell which users exist.

    bcrypt is slow by design (cost 10: tens of ms), so checks run one at a time and a
    successful one is remembered: the cache keeps an HMAC-SHA-256, under a key drawn at
    start, of user, hash and password, never the password itself; only successes enter it,
    so a wrong password can only match by an HMAC collision. The hashes never appear in
    logs or answers.
*/
#ifndef FW_HTTP_AUTH_H
#define FW_HTTP_AUTH_H

#include <stdbool.h>

#include "fw_err.h"
#include "fw_webcfg.h"

typedef struct fw_http_auth fw_http_auth_t;

typedef enum {
    FW_HTTP_AUTH_OK,           // no users configured, or the right user and password
    FW_HTTP_AUTH_MISSING,      // no (usable) Authorization: Basic header
    FW_HTTP_AUTH_WRONG,        // unknown user or wrong password
    FW_HTTP_AUTH_CONFIG_ERROR, // the file changed and no longer loads: answer 500
} fw_http_auth_result_t;

// For the file at path (copied). Never fails; fw_http_auth_open() loads it.
fw_http_auth_t *fw_http_auth_new(const char *path);
void fw_http_auth_destroy(fw_http_auth_t **self_p);

// Load the file. 0, or -1 with err holding the first error as "file:line:col: msg" (every
// error is logged as event=config.error).
int fw_http_auth_open(fw_http_auth_t *self, fw_err_t *err);

// The configuration loaded by fw_http_auth_open() (borrowed, for the TLS settings: they do
// not change after start). NULL before a successful open.
const struct fw_webcfg *fw_http_auth_config(const fw_http_auth_t *self);

// Check a request's Authorization header (NULL: none). headers[] receives copies of the
// configured response header values (caller frees each; NULL when unset), also when the
// answer is not OK. Any thread.
fw_http_auth_result_t fw_http_auth_check(fw_http_auth_t *self, const char *authorization,
                                         char *headers[FW_WEBCFG_HEADERS]);

// The PEM texts TLS serves with into pem[0..2] (each owned by the caller; NULL when not
// configured): certificate and key (cert_file or cert, key_file or key), and the client CA
// when client_auth_type asks for client certificates. 0, or -1 with err naming the file.
int fw_http_auth_tls_pem(const fw_http_auth_t *self, char *pem[3], fw_err_t *err);

// A connection's client certificate against client_auth_type (tls_session: its
// gnutls_session_t, NULL without TLS): "" when it passes, else "client_certificate".
// RequireAndVerifyClientCert wants one that verifies against the client CA;
// VerifyClientCertIfGiven, none or one that verifies.
const char *fw_http_auth_client_cert(const fw_http_auth_t *self, void *tls_session);

// bcrypt checks run since start (cache misses), for tests of the cache.
unsigned long fw_http_auth_bcrypt_runs(fw_http_auth_t *self);

// Split "Basic <base64(user:password)>" (scheme case-insensitive, standard base64 with
// padding) into user and password (NUL-terminated, cut at their buffers' sizes: false
// then). False when it is no such header.
bool fw_http_auth_parse_basic(const char *authorization, char *user, size_t user_size, char *pass,
                              size_t pass_size);

#endif
