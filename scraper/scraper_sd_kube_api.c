/*  scraper_sd_kube_api.c — the API server connection of a kubernetes_sd_config (see the
    header).
*/
#include "scraper_sd_kube_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_mem.h"
#include "fw_promcfg_http.h"

#define S_USER_AGENT "floorwatch-scraper/" FW_VERSION

static char *
s_dup(const char *s)
{
    return s ? fw_strdup(s) : NULL;
}

static char *
s_read_secret(const char *path, fw_err_t *err)
{
    char *out = NULL;
    return fw_promcfg_http_read_secret(path, &out, err) == 0 ? out : NULL;
}

// tls_config min_version / max_version as curl's CURLOPT_SSLVERSION bits (TLS 1.2 minimum
// when unset, as Go's client).
static long
s_tls_version(const char *v, bool max)
{
    static const char *const names[] = {"TLS10", "TLS11", "TLS12", "TLS13"};
    static const long mins[] = {CURL_SSLVERSION_TLSv1_0, CURL_SSLVERSION_TLSv1_1,
                                CURL_SSLVERSION_TLSv1_2, CURL_SSLVERSION_TLSv1_3};
    static const long maxs[] = {CURL_SSLVERSION_MAX_TLSv1_0, CURL_SSLVERSION_MAX_TLSv1_1,
                                CURL_SSLVERSION_MAX_TLSv1_2, CURL_SSLVERSION_MAX_TLSv1_3};
    for (size_t i = 0; v && i < 4; i++)
        if (strcmp(v, names[i]) == 0)
            return max ? maxs[i] : mins[i];
    return max ? CURL_SSLVERSION_MAX_DEFAULT : CURL_SSLVERSION_TLSv1_2;
}

static const char *
s_sa_dir(void)
{
    const char *d = getenv("FLOORWATCH_KUBE_SERVICEACCOUNT_DIR");
    return d && *d ? d : SCRAPER_SD_KUBE_SA_DIR;
}

// "scheme://host:port/prefix" split so that server_name can stand in for host.
static void
s_set_base(struct scraper_sd_kube_api *api, const char *url, const char *server_name)
{
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    api->base = fw_asprintf("%.*s", (int)n, url);
    if (!server_name || !*server_name)
        return;
    const char *hs = strstr(api->base, "://");
    if (!hs)
        return;
    hs += 3;
    const char *he = hs + strcspn(hs, "/");
    const char *colon = NULL;
    if (*hs == '[') {
        const char *close = memchr(hs, ']', (size_t)(he - hs));
        colon = close && close + 1 < he && close[1] == ':' ? close + 1 : NULL;
    } else {
        colon = memchr(hs, ':', (size_t)(he - hs));
    }
    const char *hend = colon ? colon : he;
    const char *port = colon ? colon + 1 : (strncmp(api->base, "https", 5) == 0 ? "443" : "80");
    int port_len = colon ? (int)(he - colon - 1) : (int)strlen(port);
    api->connect_to = fw_asprintf("%s:%.*s:%.*s:%.*s", server_name, port_len, port,
                                  (int)(hend - hs), hs, port_len, port);
    char *rebased = fw_asprintf("%.*s%s:%.*s%s", (int)(hs - api->base), api->base, server_name,
                                port_len, port, he);
    free(api->base);
    api->base = rebased;
    api->connect_to_list = curl_slist_append(NULL, api->connect_to);
}

int
scraper_sd_kube_api_init(struct scraper_sd_kube_api *api, const struct fw_kube_sd_config *c,
                         fw_err_t *err)
{
    const struct fw_http_client_config *h = &c->http;
    if (!c->api_server) {
        const char *host = getenv("KUBERNETES_SERVICE_HOST");
        const char *port = getenv("KUBERNETES_SERVICE_PORT");
        if (!host || !*host || !port || !*port) {
            fw_err_set(err, "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
                            "and KUBERNETES_SERVICE_PORT must be defined");
            return -1;
        }
        const char *sa = s_sa_dir();
        api->base = strchr(host, ':') ? fw_asprintf("https://[%s]:%s", host, port)
                                      : fw_asprintf("https://%s:%s", host, port);
        api->auth_type = fw_strdup("Bearer");
        api->credentials_file = fw_asprintf("%s/token", sa);
        api->ca_file = fw_asprintf("%s/ca.crt", sa);
        api->follow_redirects = true;
        api->http2 = true;
        api->tls_min = CURL_SSLVERSION_TLSv1_2;
        api->tls_max = CURL_SSLVERSION_MAX_DEFAULT;
        if (c->namespaces.own_namespace) {
            char *path = fw_asprintf("%s/namespace", sa);
            api->own_namespace = s_read_secret(path, err);
            free(path);
            if (!api->own_namespace || !*api->own_namespace) {
                if (api->own_namespace)
                    fw_err_set(err, "could not read own namespace name (empty file)");
                return -1;
            }
        }
        return 0;
    }
    s_set_base(api, c->api_server, h->tls_config.server_name);
    api->username = s_dup(h->basic_auth.username);
    api->username_file = s_dup(h->basic_auth.username_file);
    api->password = s_dup(h->basic_auth.password);
    api->password_file = s_dup(h->basic_auth.password_file);
    api->auth_type = s_dup(h->authorization.type);
    api->credentials = s_dup(h->authorization.credentials);
    api->credentials_file = s_dup(h->authorization.credentials_file);
    api->ca = s_dup(h->tls_config.ca);
    api->ca_file = s_dup(h->tls_config.ca_file);
    api->cert = s_dup(h->tls_config.cert);
    api->cert_file = s_dup(h->tls_config.cert_file);
    api->key = s_dup(h->tls_config.key);
    api->key_file = s_dup(h->tls_config.key_file);
    api->insecure = h->tls_config.insecure_skip_verify;
    api->tls_min = s_tls_version(h->tls_config.min_version, false);
    api->tls_max = s_tls_version(h->tls_config.max_version, true);
    api->proxy_url = s_dup(h->proxy_url);
    api->follow_redirects = h->follow_redirects;
    api->http2 = c->enable_http2;
    return 0;
}

void
scraper_sd_kube_api_clear(struct scraper_sd_kube_api *api)
{
    char **strs[] = {&api->base,
                     &api->connect_to,
                     &api->username,
                     &api->username_file,
                     &api->password,
                     &api->password_file,
                     &api->auth_type,
                     &api->credentials,
                     &api->credentials_file,
                     &api->ca,
                     &api->ca_file,
                     &api->cert,
                     &api->cert_file,
                     &api->key,
                     &api->key_file,
                     &api->proxy_url,
                     &api->own_namespace};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    curl_slist_free_all(api->connect_to_list);
    api->connect_to_list = NULL;
}

static void
s_blob(CURL *e, CURLoption opt, const char *pem)
{
    struct curl_blob b = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
    curl_easy_setopt(e, opt, &b);
}

int
scraper_sd_kube_api_setup(const struct scraper_sd_kube_api *api, CURL *e, const char *path,
                          struct curl_slist **headers, fw_err_t *err)
{
    char *url = fw_asprintf("%s%s", api->base, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(e, CURLOPT_USERAGENT, S_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, api->follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     api->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_PROXY, api->proxy_url ? api->proxy_url : "");
    if (api->connect_to_list)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, api->connect_to_list);
    *headers = curl_slist_append(*headers, "Accept: application/json");
    if (api->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, api->ca_file);
    else if (api->ca)
        s_blob(e, CURLOPT_CAINFO_BLOB, api->ca);
    if (api->cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, api->cert_file);
    else if (api->cert)
        s_blob(e, CURLOPT_SSLCERT_BLOB, api->cert);
    if (api->key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, api->key_file);
    else if (api->key)
        s_blob(e, CURLOPT_SSLKEY_BLOB, api->key);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, api->tls_min | api->tls_max);
    if (api->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (api->username || api->username_file || api->password || api->password_file) {
        char *user = api->username_file ? s_read_secret(api->username_file, err)
                                        : s_dup(api->username ? api->username : "");
        char *pass = api->password_file ? s_read_secret(api->password_file, err)
                                        : s_dup(api->password ? api->password : "");
        if (user && pass) {
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            curl_easy_setopt(e, CURLOPT_USERNAME, user);
            curl_easy_setopt(e, CURLOPT_PASSWORD, pass);
        }
        bool ok = user && pass;
        free(user);
        free(pass);
        if (!ok)
            return -1;
    } else if (api->auth_type) {
        char *cred = api->credentials_file ? s_read_secret(api->credentials_file, err)
                                           : s_dup(api->credentials ? api->credentials : "");
        if (!cred)
            return -1;
        char *hdr = fw_asprintf("Authorization: %s %s", api->auth_type, cred);
        *headers = curl_slist_append(*headers, hdr);
        free(hdr);
        free(cred);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *headers);
    return 0;
}
