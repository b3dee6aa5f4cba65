/*  fw_http_tls.c — the TLS part of prometheus.yml's HTTP client settings on a curl handle
    (see the header).
*/
#include "fw_http_tls.h"

#include <stdbool.h>
#include <string.h>

// tls_config min_version / max_version as curl's CURLOPT_SSLVERSION bits.
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
    return max ? CURL_SSLVERSION_MAX_DEFAULT : CURL_SSLVERSION_TLSv1_2; // Go's client default
}

static void
s_blob(CURL *e, CURLoption opt, const char *pem)
{
    struct curl_blob b = {(void *)pem, strlen(pem), CURL_BLOB_COPY};
    curl_easy_setopt(e, opt, &b);
}

void
fw_http_tls(CURL *easy, const struct fw_tls_config *t)
{
    if (t->ca_file_pem) // ca_file's content as fw_tlsfiles read it for this request
        s_blob(easy, CURLOPT_CAINFO_BLOB, t->ca_file_pem);
    else if (t->ca_file)
        curl_easy_setopt(easy, CURLOPT_CAINFO, t->ca_file);
    else if (t->ca)
        s_blob(easy, CURLOPT_CAINFO_BLOB, t->ca);
    if (t->cert_file)
        curl_easy_setopt(easy, CURLOPT_SSLCERT, t->cert_file);
    else if (t->cert)
        s_blob(easy, CURLOPT_SSLCERT_BLOB, t->cert);
    if (t->key_file)
        curl_easy_setopt(easy, CURLOPT_SSLKEY, t->key_file);
    else if (t->key)
        s_blob(easy, CURLOPT_SSLKEY_BLOB, t->key);
    if (t->insecure_skip_verify) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(easy, CURLOPT_SSLVERSION,
                     s_tls_version(t->min_version, false) | s_tls_version(t->max_version, true));
}
