/*  scraper_sd_kube_api.h — how a kubernetes_sd_config reaches its API server.

    Either `api_server` with the config's HTTP client settings (basic_auth, authorization
    or bearer_token, tls_config, proxy_url, follow_redirects, enable_http2), or, without
    it, in-cluster as client-go's rest.InClusterConfig: https://$KUBERNETES_SERVICE_HOST:
    $KUBERNETES_SERVICE_PORT, the service account's token as a Bearer credential and its CA,
    from /var/run/secrets/kubernetes.io/serviceaccount/ (the directory can be moved with the
    environment variable FLOORWATCH_KUBE_SERVICEACCOUNT_DIR, for tests). Files (the token,
    password_file, credentials_file) are read again for every request, so a rotated token
    is used as soon as it changes; tls_config's ca_file, cert_file and key_file, and the
    service account's ca.crt, likewise (fw_tlsfiles: a stat each per request, read again
    when changed, given to curl as blobs). The first request after a change opens a new
    connection and drops the idle ones (CURLOPT_FRESH_CONNECT, CURLOPT_MAXAGE_CONN 0), as
    Prometheus's tlsRoundTripper builds a new transport and closes the old one's idle
    connections. A watch running on an old connection is the provider's to end
    (scraper_sd_kube_api_tls_check below; scraper_sd_kube.h). A tls_config server_name
    becomes the host curl verifies and sends as SNI (CURLOPT_CONNECT_TO to the real
    address).
*/
#ifndef SCRAPER_SD_KUBE_API_H
#define SCRAPER_SD_KUBE_API_H

#include <curl/curl.h>
#include <stdbool.h>

#include "fw_err.h"
#include "fw_promcfg_http.h"
#include "fw_promcfg_sd.h"
#include "fw_tlsfiles.h"

#define SCRAPER_SD_KUBE_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct scraper_sd_kube_api {
    char *base;       // owned: "scheme://host[:port]" plus any path prefix, no trailing '/'
    char *connect_to; // owned: CURLOPT_CONNECT_TO entry for server_name, or NULL
    struct curl_slist *connect_to_list; // owned: that entry as the list libcurl borrows
    struct fw_http_client_config http;  // owned copy: auth, TLS, proxy, redirects
    bool http2;
    char *own_namespace;             // owned: in-cluster with namespaces.own_namespace, else NULL
    fw_tlsfiles_t *tls_files;        // owned: the TLS files as the last request read them
    uint64_t tls_gen[FW_TLSFILES_N]; // their generations at the last request set up
};

// Fill api from c (api zeroed by the caller; strings copied). 0, or -1 with err (not in a
// cluster, or its own namespace unknown).
int scraper_sd_kube_api_init(struct scraper_sd_kube_api *api, const struct fw_kube_sd_config *c,
                             fw_err_t *err);
void scraper_sd_kube_api_clear(struct scraper_sd_kube_api *api);

// Set easy up to GET base + path (path starts with '/' and holds the query), with the
// credentials and the TLS files read now and *headers (owned by the caller, free with
// curl_slist_free_all). When a TLS file's content changed since the last request set up,
// this one opens a new connection and the idle ones go (CURLOPT_FRESH_CONNECT and
// CURLOPT_MAXAGE_CONN 0 on easy, a new handle per request). 0, or -1 with err (a
// credentials file cannot be read; a TLS file cannot be, in Prometheus's words "unable to
// read CA cert: unable to read file PATH: REASON": the last good content stays).
int scraper_sd_kube_api_setup(struct scraper_sd_kube_api *api, CURL *easy, const char *path,
                              struct curl_slist **headers, fw_err_t *err);

// Check the TLS files now, as a request's setup does (a stat each, read again when
// changed), and set gen to their generations, for comparing with those a running request
// was set up with (api->tls_gen right after its setup) through fw_tlsfiles_changed. 0, or
// -1 when a file cannot be read (gen then means nothing: the running requests keep the
// last good content, and the next setup fails saying why).
int scraper_sd_kube_api_tls_check(struct scraper_sd_kube_api *api, uint64_t gen[FW_TLSFILES_N]);

#endif
