/*  fw_http_tls.h — the TLS part of prometheus.yml's HTTP client settings on a curl handle.

    Shared by every HTTP client that takes a tls_config: the scrape transfers
    (scraper_fetch.c), the Kubernetes API server connection (scraper_sd_kube_api.c) and
    tsdb's remote-write sender (tsdb_rwsend.c).
    server_name is not handled here: each caller reaches the server under that name in its
    own way (CURLOPT_CONNECT_TO built per request or once per API server).
*/
#ifndef FW_HTTP_TLS_H
#define FW_HTTP_TLS_H

#include <curl/curl.h>

#include "fw_promcfg_http.h"

// Set t's CA (ca_file's content read at load when there is one, else the file, else the PEM
// text), client certificate and key (a file, else the PEM text, copied by curl),
// insecure_skip_verify and min_version/max_version (TLS 1.2 minimum and no maximum when
// unset, as Go's client) on easy.
void fw_http_tls(CURL *easy, const struct fw_tls_config *t);

#endif
