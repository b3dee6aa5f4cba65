/*  notifyd_oauth2.h — http_config.oauth2 (docs/wire.md): the OAuth 2.0 client credentials
    grant (RFC 6749 section 4.4) as prometheus/common's oauth2RoundTripper makes it through
    golang.org/x/oauth2/clientcredentials, for Alertmanager 0.25's HTTP integrations.

    The token request: POST token_url, Content-Type application/x-www-form-urlencoded, a body
    of grant_type=client_credentials, scope (the scopes joined by spaces, when any) and
    endpoint_params, in Go's url.Values.Encode form (keys sorted, QueryEscape'd values).
    Client authentication as x/oauth2's AuthStyleAutoDetect (prometheus/common sets no
    AuthStyle): HTTP Basic with the url-escaped client_id and client_secret first; when that
    attempt fails in any way, at once again with client_id and client_secret in the body;
    the style that worked is remembered per token URL. The token request uses the oauth2
    object's own tls and proxy_url (no proxy otherwise, not the environment's), does not
    follow redirects, and goes to http or https URLs only.

    The answer (2xx, at most NOTIFYD_REQ_MAX_ANSWER bytes: more is an error) is JSON, or a
    form when its Content-Type is application/x-www-form-urlencoded or text/plain, as
    x/oauth2 reads it: access_token (required), token_type ("bearer", "mac" and "basic" in any
    case become "Bearer", "MAC", "Basic"; empty is "Bearer"), expires_in (seconds; absent or
    0: the token never expires). The integration's request then carries
    `Authorization: <type> <access_token>`. A token is cached per distinct oauth2 object
    (every field, the secret too) and reused until x/oauth2's expiry delta (10 s) before it
    expires; a token fetched for an attempt is used for that attempt even if it is already
    inside the delta (as x/oauth2 returns a fresh token without checking it).
*/
#ifndef NOTIFYD_OAUTH2_H
#define NOTIFYD_OAUTH2_H

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_err.h"
#include "notifyd_http.h"

#define NOTIFYD_OAUTH2_EXPIRY_DELTA_MS 10000 // x/oauth2's defaultExpiryDelta
#define NOTIFYD_OAUTH2_MAX_CACHED 1024       // tokens kept; past it, the cache starts over

// How the client authenticates at the token endpoint (x/oauth2's AuthStyle).
enum notifyd_oauth2_style {
    NOTIFYD_OAUTH2_NONE = 0,
    NOTIFYD_OAUTH2_HEADER, // HTTP Basic
    NOTIFYD_OAUTH2_PARAMS, // client_id and client_secret in the body
};

typedef struct notifyd_oauth2 notifyd_oauth2_t;

// Check NOTIFY's http_config.oauth2 object o: string client_id, client_secret and
// token_url, scopes an array of strings, endpoint_params an object of strings, tls as
// http_config's (checked by the caller), proxy_url a string; and, as x/oauth2 refuses at
// fetch time, endpoint_params must not hold `scope` when scopes are given. 0, or -1 with err.
int notifyd_oauth2_check(const json_t *o, fw_err_t *err);

notifyd_oauth2_t *notifyd_oauth2_new(void);
void notifyd_oauth2_destroy(notifyd_oauth2_t **self_p);

// The Authorization value of o's cached token, still valid at now_ms (monotonic), or NULL.
// Borrowed until the next call on self.
const char *notifyd_oauth2_cached(notifyd_oauth2_t *self, const json_t *o, int64_t now_ms);

// The style to fetch o's token with; *probe is set when it is not known yet (header first,
// then params when that fails: notifyd_oauth2_answer says so).
enum notifyd_oauth2_style notifyd_oauth2_style(notifyd_oauth2_t *self, const json_t *o,
                                               bool *probe);

// The token request's body for o in style (a new string, holding the secret in PARAMS),
// as clientcredentials.Config.Token builds its url.Values and Encode writes them.
char *notifyd_oauth2_body(const json_t *o, enum notifyd_oauth2_style style);

// Set e up for o's token request in style (e reset, o checked by notifyd_oauth2_check):
// URL, body (copied), credentials, TLS and proxy. *headers gets the request's headers (set
// as CURLOPT_HTTPHEADER) and *keep the lists libcurl reads: both the caller's to free after
// the transfer.
void notifyd_oauth2_setup(CURL *e, const json_t *o, enum notifyd_oauth2_style style,
                          struct curl_slist **headers, struct notifyd_http_lists *keep);

// Read the token request's outcome: libcurl's res, the HTTP status code, the answer body
// (NUL-terminated, may be NULL) and whether it was cut at NOTIFYD_REQ_MAX_ANSWER, its
// Content-Type (may be NULL). On success caches the token (and the style that worked, when
// probing) and returns 0 with *auth the Authorization value (the caller's to free); else -1
// with err naming the token URL and what went wrong (the status and the start of the answer).
int notifyd_oauth2_answer(notifyd_oauth2_t *self, const json_t *o, enum notifyd_oauth2_style style,
                          bool probe, CURLcode res, long code, const char *body, bool truncated,
                          const char *content_type, int64_t now_ms, char **auth, fw_err_t *err);

#endif
