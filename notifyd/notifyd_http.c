/*  notifyd_http.c — see notifyd_http.h. NOTIFY is checked once when a request is made
    (notifyd_http_take), so applying it on each attempt cannot meet a bad value.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"
#include "notifyd_http.h"
#include "notifyd_noproxy.h"
#include "notifyd_oauth2.h"

static const struct {
    const char *key;
    json_type type; // JSON_TRUE: a boolean
} s_keys[] = {
    {"follow_redirects", JSON_TRUE},
    {"authorization", JSON_STRING},
    {"tls", JSON_OBJECT},
    {"proxy_url", JSON_STRING},
    {"no_proxy", JSON_STRING},
    {"proxy_from_environment", JSON_TRUE},
    {"proxy_connect_header", JSON_ARRAY},
    {"oauth2", JSON_OBJECT},
};

static const char *const s_tls_keys[] = {"ca",          "cert",        "key", "server_name",
                                         "min_version", "max_version", NULL};

static bool
s_type_ok(const json_t *v, json_type t)
{
    return t == JSON_TRUE ? json_is_boolean(v) : json_typeof(v) == t;
}

// notifyd_noproxy_from_env reads the process environment.
static const char *
s_getenv(const char *name, void *arg)
{
    (void)arg;
    return getenv(name);
}

static long
s_version(const char *v, bool max)
{
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    static const long min_v[] = {CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_TLSv1_1,
                                 CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_TLSv1_3};
    static const long max_v[] = {CURL_SSLVERSION_MAX_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_1,
                                 CURL_SSLVERSION_MAX_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_3};
    for (int i = 0; v && i < 4; i++)
        if (strcmp(v, names[i]) == 0)
            return max ? max_v[i] : min_v[i];
    return -1;
}

static int
s_check_tls(const json_t *tls, const char *where, fw_err_t *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)tls, k, v)
    {
        bool known = strcmp(k, "insecure_skip_verify") == 0 && json_is_boolean(v);
        for (int i = 0; !known && s_tls_keys[i]; i++)
            known = strcmp(k, s_tls_keys[i]) == 0 && json_is_string(v);
        if (!known) {
            fw_err_set(err, "%s: unknown key or wrong type: %s", where, k);
            return -1;
        }
    }
    const char *mn = json_string_value(json_object_get(tls, "min_version"));
    const char *mx = json_string_value(json_object_get(tls, "max_version"));
    if ((mn && s_version(mn, false) < 0) || (mx && s_version(mx, true) < 0)) {
        fw_err_set(err, "%s: unknown TLS version", where);
        return -1;
    }
    return 0;
}

int
notifyd_http_take(struct notifyd_req *req, const json_t *config, fw_err_t *err)
{
    json_t *h = json_object_get(config, "http_config");
    if (!h)
        return 0;
    if (!json_is_object(h)) {
        fw_err_set(err, "http_config is not an object");
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach(h, k, v)
    {
        size_t i = 0, n = sizeof s_keys / sizeof s_keys[0];
        while (i < n && strcmp(k, s_keys[i].key) != 0)
            i++;
        if (i == n || !s_type_ok(v, s_keys[i].type)) {
            fw_err_set(err, "http_config: unknown key or wrong type: %s", k);
            return -1;
        }
    }
    size_t i;
    json_array_foreach(json_object_get(h, "proxy_connect_header"), i, v)
    {
        if (!json_is_string(v)) {
            fw_err_set(err, "http_config.proxy_connect_header: not an array of strings");
            return -1;
        }
    }
    const json_t *tls = json_object_get(h, "tls");
    if (tls && s_check_tls(tls, "http_config.tls", err) < 0)
        return -1;
    const json_t *oauth2 = json_object_get(h, "oauth2");
    if (oauth2 && notifyd_oauth2_check(oauth2, err) < 0)
        return -1;
    tls = json_object_get(oauth2, "tls");
    if (tls && s_check_tls(tls, "http_config.oauth2.tls", err) < 0)
        return -1;
    const char *auth = json_string_value(json_object_get(h, "authorization"));
    if (auth && notifyd_req_header(req, "Authorization", auth) < 0) {
        fw_err_set(err, "too many headers");
        return -1;
    }
    bool refused = false;
    if (json_is_true(json_object_get(h, "proxy_from_environment")) && req->url)
        (void)notifyd_noproxy_from_env(req->url, s_getenv, NULL, &refused);
    if (refused) { // as Go's ProxyFunc fails the request; the environment will not change
        fw_err_set(err, "%s", NOTIFYD_NOPROXY_CGI_REFUSED);
        return -1;
    }
    const json_t *fr = json_object_get(h, "follow_redirects");
    if (fr)
        req->follow_redirects = json_is_true(fr);
    json_decref(req->http);
    req->http = json_incref(h);
    return 0;
}

// --- applying ---

static void
s_blob(CURL *e, CURLoption o, const char *pem)
{
    if (!pem)
        return;
    struct curl_blob b = {.data = (void *)pem, .len = strlen(pem), .flags = CURL_BLOB_COPY};
    curl_easy_setopt(e, o, &b);
}

// server_name differing from url's host: connect to the URL's host and port, but name
// server_name in SNI and check the certificate for it (the URL's host in CURLOPT_URL is
// replaced, CONNECT_TO maps it back); the Host header stays the URL's, as in Go.
static void
s_server_name(CURL *e, const char *url, const char *name, struct curl_slist **headers,
              struct curl_slist **connect_to)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *hostport = NULL, *out = NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        strcasecmp(host, name) == 0)
        goto out;
    char *explicit_port = NULL;
    if (curl_url_get(u, CURLUPART_PORT, &explicit_port, 0) == CURLUE_OK) {
        hostport = fw_asprintf("Host: %s:%s", host, explicit_port);
        curl_free(explicit_port);
    } else {
        hostport = fw_asprintf("Host: %s", host);
    }
    if (curl_url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &out, 0) != CURLUE_OK)
        goto out;
    char *to = fw_asprintf("%s:%s:%s:%s", name, port, host, port);
    *connect_to = curl_slist_append(*connect_to, to);
    free(to);
    curl_easy_setopt(e, CURLOPT_URL, out);
    curl_easy_setopt(e, CURLOPT_CONNECT_TO, *connect_to);
    *headers = curl_slist_append(*headers, hostport);
out:
    free(hostport);
    curl_free(out);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
}

// The proxy for a request to url, or NULL for none (borrowed from http or the
// environment), as Prometheus common's ProxyConfig.Proxy chooses it: with
// proxy_from_environment, httpproxy.FromEnvironment (HTTPS_PROXY for https URLs, HTTP_PROXY
// for http, none for other schemes, NO_PROXY; ALL_PROXY is not read, as in Go); with
// proxy_url and no no_proxy, http.ProxyURL (every request, localhost too); with both, an
// httpproxy.Config holding proxy_url for both schemes and no_proxy.
static const char *
s_proxy_for(const json_t *http, const char *url)
{
    bool https = strncasecmp(url, "https:", 6) == 0, plain = strncasecmp(url, "http:", 5) == 0;
    if (json_is_true(json_object_get(http, "proxy_from_environment"))) {
        bool refused; // notifyd_http_take refused the request already
        return notifyd_noproxy_from_env(url, s_getenv, NULL, &refused);
    }
    const char *proxy = json_string_value(json_object_get(http, "proxy_url"));
    const char *no_proxy = json_string_value(json_object_get(http, "no_proxy"));
    if (!proxy || !*proxy)
        return NULL;
    if (!no_proxy || !*no_proxy)
        return proxy;
    return (https || plain) && notifyd_noproxy_use(no_proxy, url) ? proxy : NULL;
}

static void
s_proxy(CURL *e, const json_t *http, const char *url, struct curl_slist **proxy_headers)
{
    const char *proxy = s_proxy_for(http, url);
    // "" for none, not NULL: libcurl would read the environment itself then.
    curl_easy_setopt(e, CURLOPT_PROXY, proxy ? proxy : "");
    if (!proxy)
        return;
    // The decision is made above by Go's rules; "" keeps libcurl's own no_proxy reading
    // (CURLOPT_NOPROXY or NO_PROXY, with other rules) from undoing it.
    curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(http, "proxy_connect_header"), i, v)
    {
        *proxy_headers = curl_slist_append(*proxy_headers, json_string_value(v));
    }
    if (*proxy_headers) {
        curl_easy_setopt(e, CURLOPT_PROXYHEADER, *proxy_headers);
        curl_easy_setopt(e, CURLOPT_HEADEROPT, (long)CURLHEADER_SEPARATE);
    }
}

void
notifyd_http_apply(CURL *e, const json_t *http, const char *url, struct curl_slist **headers,
                   struct notifyd_http_lists *keep)
{
    memset(keep, 0, sizeof *keep);
    const json_t *tls = json_object_get(http, "tls");
    long min = s_version(json_string_value(json_object_get(tls, "min_version")), false);
    long max = s_version(json_string_value(json_object_get(tls, "max_version")), true);
    curl_easy_setopt(e, CURLOPT_SSLVERSION,
                     (min < 0 ? (long)CURL_SSLVERSION_TLSv1_2 : min) | (max < 0 ? 0L : max));
    s_proxy(e, http, url, &keep->proxy_headers);
    if (!tls)
        return;
    s_blob(e, CURLOPT_CAINFO_BLOB, json_string_value(json_object_get(tls, "ca")));
    s_blob(e, CURLOPT_SSLCERT_BLOB, json_string_value(json_object_get(tls, "cert")));
    s_blob(e, CURLOPT_SSLKEY_BLOB, json_string_value(json_object_get(tls, "key")));
    if (json_is_true(json_object_get(tls, "insecure_skip_verify"))) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    const char *sn = json_string_value(json_object_get(tls, "server_name"));
    if (sn && *sn && strncasecmp(url, "https:", 6) == 0)
        s_server_name(e, url, sn, headers, &keep->connect_to);
}

void
notifyd_http_lists_free(struct notifyd_http_lists *keep)
{
    curl_slist_free_all(keep->proxy_headers);
    curl_slist_free_all(keep->connect_to);
    memset(keep, 0, sizeof *keep);
}
