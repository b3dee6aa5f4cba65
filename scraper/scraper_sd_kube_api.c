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
#include "fw_http_tls.h"
#include "fw_time.h"

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
    api->tls_files = fw_tlsfiles_new();
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
        api->http.authorization.type = fw_strdup("Bearer");
        api->http.authorization.credentials_file = fw_asprintf("%s/token", sa);
        api->http.tls_config.ca_file = fw_asprintf("%s/ca.crt", sa);
        api->http.follow_redirects = true;
        api->http2 = true;
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
    fw_promcfg_http_copy(&api->http, h);
    api->http2 = c->enable_http2;
    return 0;
}

void
scraper_sd_kube_api_clear(struct scraper_sd_kube_api *api)
{
    char **strs[] = {&api->base, &api->connect_to, &api->own_namespace};
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        free(*strs[i]);
        *strs[i] = NULL;
    }
    fw_promcfg_http_free(&api->http);
    fw_tlsfiles_destroy(&api->tls_files);
    curl_slist_free_all(api->connect_to_list);
    api->connect_to_list = NULL;
}

int
scraper_sd_kube_api_tls_check(struct scraper_sd_kube_api *api, uint64_t gen[FW_TLSFILES_N])
{
    return fw_tlsfiles_check_tls(api->tls_files, &api->http.tls_config, fw_time_now_ms(), gen,
                                 NULL);
}

int
scraper_sd_kube_api_setup(struct scraper_sd_kube_api *api, CURL *e, const char *path,
                          struct curl_slist **headers, fw_err_t *err)
{
    uint64_t gen[FW_TLSFILES_N];
    if (fw_tlsfiles_check_tls(api->tls_files, &api->http.tls_config, fw_time_now_ms(), gen, err) !=
        0)
        return -1;
    if (fw_tlsfiles_changed(api->tls_gen, gen)) {
        // A connection of this multi made under the old content is not reused (curl matches
        // connections on the CA and certificate blobs, not on the key), and the idle ones
        // go: MAXAGE_CONN 0 makes curl's pruning, run as this request connects, drop every
        // idle connection of the pool that has been idle for a second or more.
        curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
        curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, 0L);
    }
    memcpy(api->tls_gen, gen, sizeof(gen));
    char *url = fw_asprintf("%s%s", api->base, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    free(url);
    curl_easy_setopt(e, CURLOPT_USERAGENT, S_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    const struct fw_http_client_config *h = &api->http;
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, h->follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                     api->http2 ? (long)CURL_HTTP_VERSION_2TLS : (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_PROXY, h->proxy_url ? h->proxy_url : "");
    if (api->connect_to_list)
        curl_easy_setopt(e, CURLOPT_CONNECT_TO, api->connect_to_list);
    *headers = curl_slist_append(*headers, "Accept: application/json");
    struct fw_tls_config t = fw_tlsfiles_tls(api->tls_files, &h->tls_config);
    fw_http_tls(e, &t);
    const struct fw_basic_auth *ba = &h->basic_auth;
    const struct fw_authorization *au = &h->authorization;
    if (ba->username || ba->username_file || ba->password || ba->password_file) {
        char *user = ba->username_file ? s_read_secret(ba->username_file, err)
                                       : s_dup(ba->username ? ba->username : "");
        char *pass = ba->password_file ? s_read_secret(ba->password_file, err)
                                       : s_dup(ba->password ? ba->password : "");
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
    } else if (au->type) {
        char *cred = au->credentials_file ? s_read_secret(au->credentials_file, err)
                                          : s_dup(au->credentials ? au->credentials : "");
        if (!cred)
            return -1;
        char *hdr = fw_asprintf("Authorization: %s %s", au->type, cred);
        *headers = curl_slist_append(*headers, hdr);
        free(hdr);
        free(cred);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, *headers);
    return 0;
}
