/*  tsdb_rwsend_http.c — one remote-write POST to a queue's receiver (tsdb_rwsend_int.h).

    The request's headers (remote write 1.0, the configured ones, Authorization from
    authorization or an azuread token fetched and cached until S_TOKEN_MARGIN_S before it
    expires), basic_auth and TLS on the caller's easy handle; the transfer is aborted when
    the queue stops. tls_config's ca_file, cert_file and key_file are read as they are at
    each request (fw_tlsfiles, one cache per queue under its lock) and given to curl as
    blobs, as Prometheus's tlsRoundTripper does: a changed file is used from the next
    request on a new connection, and the old handle's connections are closed.
*/
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_http_tls.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "fw_json_out.h"
#include "tsdb_rwsend_int.h"

#define S_TOKEN_MARGIN_S 300   // an azuread token is renewed this long before it expires
#define S_TOKEN_BODY_MAX 65536 // the token endpoint's answer
#define S_USER_AGENT "floorwatch-tsdb/0.1.0"

static int
s_on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return tsdb_rwsend_int_stopping(arg) ? 1 : 0; // a non-zero return aborts the transfer
}

struct s_body {
    struct fw_json_out b;
    size_t max;
};

static size_t
s_on_body(char *p, size_t size, size_t n, void *arg)
{
    struct s_body *b = arg;
    size_t len = size * n, room = b->max > b->b.len ? b->max - b->b.len : 0;
    fw_json_out_put(&b->b, p, len < room ? len : room);
    return len;
}

// The azuread bearer token, fetched or cached. NULL with err.
static char *
s_azure_token(struct tsdb_rwsend_queue *q, CURL *e, fw_err_t *err)
{
    const struct fw_rw_azuread_config *az = &q->conf->azuread;
    int64_t now = fw_time_now_ms() / 1000;
    pthread_mutex_lock(&q->lock);
    char *tok = q->token && now < q->token_expiry_s ? fw_strdup(q->token) : NULL;
    pthread_mutex_unlock(&q->lock);
    if (tok)
        return tok;
    const char *cloud = az->cloud ? az->cloud : "AzurePublic";
    bool china = strcmp(cloud, "AzureChina") == 0, gov = strcmp(cloud, "AzureGovernment") == 0;
    char *url = az->token_url ? fw_strdup(az->token_url)
                              : fw_asprintf("https://%s/%s/oauth2/v2.0/token",
                                            china ? "login.chinacloudapi.cn"
                                            : gov ? "login.microsoftonline.us"
                                                  : "login.microsoftonline.com",
                                            az->oauth.tenant_id);
    const char *scope = china ? "https://monitor.azure.cn//.default"
                        : gov ? "https://monitor.azure.us//.default"
                              : "https://monitor.azure.com//.default";
    char *id = curl_easy_escape(e, az->oauth.client_id, 0);
    char *secret = curl_easy_escape(e, az->oauth.client_secret, 0);
    char *sc = curl_easy_escape(e, scope, 0);
    char *form = fw_asprintf("grant_type=client_credentials&client_id=%s&client_secret=%s&scope=%s",
                             id, secret, sc);
    curl_free(id);
    curl_free(secret);
    curl_free(sc);
    struct s_body body = {{0}, S_TOKEN_BODY_MAX};
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)q->conf->remote_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, S_USER_AGENT);
    CURLcode cc = curl_easy_perform(e);
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    json_t *j = cc == CURLE_OK && body.b.p ? json_loads(body.b.p, 0, NULL) : NULL;
    const char *access = json_string_value(json_object_get(j, "access_token"));
    json_t *exp = json_object_get(j, "expires_in");
    int64_t expires = json_is_integer(exp)  ? (int64_t)json_integer_value(exp)
                      : json_is_string(exp) ? atoll(json_string_value(exp))
                                            : 3600;
    if (cc != CURLE_OK || code != 200 || !access) {
        fw_err_set(err, "azuread token from %s: %s", url,
                   cc != CURLE_OK ? curl_easy_strerror(cc)
                   : code != 200  ? "HTTP error status"
                                  : "no access_token in the answer");
    } else {
        tok = fw_strdup(access);
        pthread_mutex_lock(&q->lock);
        free(q->token);
        q->token = fw_strdup(access);
        q->token_expiry_s = now + expires - S_TOKEN_MARGIN_S;
        pthread_mutex_unlock(&q->lock);
    }
    json_decref(j);
    free(body.b.p);
    free(form);
    free(url);
    return tok;
}

// The Authorization header of a request, or NULL when none; -1 with err.
static int
s_auth_header(struct tsdb_rwsend_queue *q, CURL *e, char **out, fw_err_t *err)
{
    const struct fw_http_client_config *h = &q->conf->http;
    *out = NULL;
    if (q->conf->azuread_on) {
        char *tok = s_azure_token(q, e, err);
        if (!tok)
            return -1;
        *out = fw_asprintf("Authorization: Bearer %s", tok);
        free(tok);
        return 0;
    }
    char *cred = NULL;
    if (h->authorization.credentials_file) {
        if (fw_promcfg_http_read_secret(h->authorization.credentials_file, &cred, err) != 0)
            return -1;
    } else if (h->authorization.credentials) {
        cred = fw_strdup(h->authorization.credentials);
    }
    if (cred) {
        *out = fw_asprintf("Authorization: %s %s",
                           h->authorization.type ? h->authorization.type : "Bearer", cred);
        free(cred);
    }
    return 0;
}

// The basic_auth user and password on e (files read now). 0 or -1 with err.
static int
s_basic_auth(const struct fw_basic_auth *b, CURL *e, fw_err_t *err)
{
    if (!b->username && !b->username_file && !b->password && !b->password_file)
        return 0;
    char *user = NULL, *pass = NULL;
    if ((b->username_file && fw_promcfg_http_read_secret(b->username_file, &user, err) != 0) ||
        (b->password_file && fw_promcfg_http_read_secret(b->password_file, &pass, err) != 0)) {
        free(user);
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
    curl_easy_setopt(e, CURLOPT_USERNAME, user ? user : b->username ? b->username : "");
    curl_easy_setopt(e, CURLOPT_PASSWORD, pass ? pass : b->password ? b->password : "");
    free(user);
    free(pass);
    return 0;
}

// One POST of body for q on e. The HTTP status (0: transport error, with err), or -1 when
// stopped.
// tls_config's files as they are now, on e (q->tls_files under q's lock: curl copies the
// blobs). When one changed since c's last post, c's handle is first replaced by a new one
// (returned; the old one's connections close with it). NULL with err when a file cannot be
// read or curl_easy_init fails.
static CURL *
s_tls(struct tsdb_rwsend_queue *q, struct tsdb_rwsend_meta_conn *c, fw_err_t *err)
{
    const struct fw_tls_config *t = &q->conf->http.tls_config;
    uint64_t gen[FW_TLSFILES_N];
    pthread_mutex_lock(&q->lock);
    if (fw_tlsfiles_check_tls(q->tls_files, t, fw_time_now_ms(), gen, err) != 0) {
        pthread_mutex_unlock(&q->lock);
        return NULL;
    }
    if (fw_tlsfiles_changed(c->tls_gen, gen)) {
        curl_easy_cleanup(c->easy);
        c->easy = curl_easy_init();
        if (!c->easy) {
            pthread_mutex_unlock(&q->lock);
            fw_err_set(err, "curl_easy_init failed");
            return NULL;
        }
    }
    memcpy(c->tls_gen, gen, sizeof(gen));
    struct fw_tls_config now = fw_tlsfiles_tls(q->tls_files, t);
    fw_http_tls(c->easy, &now);
    pthread_mutex_unlock(&q->lock);
    return c->easy;
}

long
tsdb_rwsend_int_post(struct tsdb_rwsend_queue *q, struct tsdb_rwsend_meta_conn *c, const char *body,
                     size_t len, fw_err_t *err)
{
    const struct fw_remote_write_config *rw = q->conf;
    char *auth = NULL;
    CURL *e = c->easy;
    if (!e) { // a post whose handle could not be renewed
        e = c->easy = curl_easy_init();
        if (!e) {
            fw_err_set(err, "curl_easy_init failed");
            return 0;
        }
    }
    if (s_auth_header(q, e, &auth, err) != 0)
        return 0;
    curl_easy_reset(e);
    if (!(e = s_tls(q, c, err))) {
        free(auth);
        return 0;
    }
    struct curl_slist *hdrs = NULL;
    hdrs = curl_slist_append(hdrs, "Content-Encoding: snappy");
    hdrs = curl_slist_append(hdrs, "Content-Type: application/x-protobuf");
    hdrs = curl_slist_append(hdrs, "X-Prometheus-Remote-Write-Version: 0.1.0");
    hdrs = curl_slist_append(hdrs, "Expect:");
    for (size_t i = 0; i < rw->headers.len; i++) {
        char *line = fw_asprintf("%s: %s", rw->headers.items[i].name, rw->headers.items[i].value);
        hdrs = curl_slist_append(hdrs, line);
        free(line);
    }
    if (auth)
        hdrs = curl_slist_append(hdrs, auth);
    free(auth);
    struct s_body answer = {{0}, 512};
    curl_easy_setopt(e, CURLOPT_URL, rw->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_USERAGENT, S_USER_AGENT);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)rw->remote_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, s_on_progress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, q);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, rw->http.follow_redirects ? 1L : 0L);
    if (rw->http.proxy_url)
        curl_easy_setopt(e, CURLOPT_PROXY, rw->http.proxy_url);
    long code = 0;
    if (s_basic_auth(&rw->http.basic_auth, e, err) == 0) {
        CURLcode cc = curl_easy_perform(e);
        if (cc == CURLE_ABORTED_BY_CALLBACK)
            code = -1;
        else if (cc != CURLE_OK)
            fw_err_set(err, "%s", curl_easy_strerror(cc));
        else
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 300)
            fw_err_set(err, "server returned HTTP status %ld: %.200s", code,
                       answer.b.p ? answer.b.p : "");
    }
    curl_slist_free_all(hdrs);
    free(answer.b.p);
    return code;
}
