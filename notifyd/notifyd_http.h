/*  notifyd_http.h — an integration's http_config from NOTIFY (docs/wire.md; alertd derives
    it from alertmanager.yml, alertd_cfg_http.h) applied to a request and its curl handle.

    tls: `ca`, `cert` and `key` are PEM texts handed to libcurl as blobs (alertd read the
    files; notifyd runs in its own pod), `server_name` (SNI and the name the certificate
    must carry, the URL's host still in the Host header), `insecure_skip_verify`,
    `min_version`/`max_version` (TLS10..TLS13; minimum TLS 1.2 when absent, Go's client
    default). proxy: `proxy_url`, `no_proxy`, `proxy_connect_header` (CURLOPT_PROXYHEADER,
    sent on CONNECT only) and `proxy_from_environment`, chosen per request as Prometheus
    common's ProxyConfig.Proxy chooses: from the environment as Go's
    golang.org/x/net/http/httpproxy reads it (HTTPS_PROXY/https_proxy for https URLs,
    HTTP_PROXY/http_proxy for http URLs, upper case first, NO_PROXY/no_proxy; ALL_PROXY is
    not read, as Go does not read it; under CGI an http URL's proxy is refused,
    notifyd_noproxy.h); proxy_url alone for every request; proxy_url with
    no_proxy under httpproxy's rules (notifyd_noproxy.h: ports, CIDR, domains, localhost and
    loopback direct). The choice is ours: CURLOPT_PROXY is the proxy or "" and
    CURLOPT_NOPROXY "", so libcurl's own no_proxy rules and its reading of the environment
    never apply (Alertmanager uses no proxy unless told to). The choice holds for redirects
    libcurl follows; Go would choose again for each.
*/
#ifndef NOTIFYD_HTTP_H
#define NOTIFYD_HTTP_H

#include <curl/curl.h>
#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

// Take config's `http_config` (an integration object of NOTIFY; absent is fine) into req:
// its Authorization header, follow_redirects, and a reference kept in req->http for
// notifyd_http_apply and for the deliverer, which fetches an `oauth2` token
// (notifyd_oauth2.h, checked here) before each attempt that has none cached. 0, or -1 with err when
// a key has the wrong type or is unknown, or when proxy_from_environment would take req->url's
// proxy from HTTP_PROXY in a CGI environment (NOTIFYD_NOPROXY_CGI_REFUSED, as Go fails such a
// request) (req unchanged then).
int notifyd_http_take(struct notifyd_req *req, const json_t *config, fw_err_t *err);

// The lists libcurl reads during a transfer without copying them: owned by the caller from
// notifyd_http_apply until the transfer is done, then notifyd_http_lists_free.
struct notifyd_http_lists {
    struct curl_slist *proxy_headers; // CURLOPT_PROXYHEADER
    struct curl_slist *connect_to;    // CURLOPT_CONNECT_TO (server_name)
};

// Set http's TLS and proxy options (http borrowed, may be NULL: no proxy, TLS 1.2 minimum)
// on e for a request to url. Appends to *headers (the Host header when server_name
// rewrites the URL) and fills *keep (overwritten). libcurl copies the strings and blobs.
void notifyd_http_apply(CURL *e, const json_t *http, const char *url, struct curl_slist **headers,
                        struct notifyd_http_lists *keep);
// Free keep's lists and zero it (NULL-safe members).
void notifyd_http_lists_free(struct notifyd_http_lists *keep);

#endif
