/*  notifyd_azuresms.c — see notifyd_azuresms.h. */
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "fw_mem.h"
#include "notifyd_azuresms.h"
#include "notifyd_tmpl.h"

void
notifyd_azuresms_date(time_t t, char out[40])
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

char *
notifyd_azuresms_sign(const char *key_b64, const char *host, const char *path_and_query,
                      const char *date, const char *body, char content_hash[45])
{
    size_t klen = strlen(key_b64);
    if (klen == 0 || klen % 4 != 0 || klen > 1024)
        return NULL;
    unsigned char key[768];
    int n = EVP_DecodeBlock(key, (const unsigned char *)key_b64, (int)klen);
    if (n <= 0)
        return NULL;
    if (key_b64[klen - 1] == '=')
        n--;
    if (key_b64[klen - 2] == '=')
        n--;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)body, strlen(body), md);
    EVP_EncodeBlock((unsigned char *)content_hash, md, sizeof md);
    char *to_sign = fw_asprintf("POST\n%s\n%s;%s;%s", path_and_query, date, host, content_hash);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(EVP_sha256(), key, n, (const unsigned char *)to_sign, strlen(to_sign), mac, &mac_len);
    free(to_sign);
    char sig[64];
    EVP_EncodeBlock((unsigned char *)sig, mac, (int)mac_len);
    return fw_asprintf("HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=%s",
                       sig);
}

// The authority of url "scheme://authority/rest" without the scheme's default port, into
// host; returns rest (the path and query), or NULL when url is not such a URL.
static const char *
s_authority(const char *url, char *host, size_t host_size)
{
    const char *a;
    const char *def_port;
    if (strncmp(url, "https://", 8) == 0)
        a = url + 8, def_port = ":443";
    else if (strncmp(url, "http://", 7) == 0)
        a = url + 7, def_port = ":80";
    else
        return NULL;
    size_t alen = strcspn(a, "/?#");
    if (alen == 0 || alen >= host_size || memchr(a, '@', alen))
        return NULL;
    memcpy(host, a, alen);
    host[alen] = '\0';
    size_t dl = strlen(def_port);
    if (alen > dl && strcmp(host + alen - dl, def_port) == 0 && host[0] != '[')
        host[alen - dl] = '\0';
    return a + alen;
}

// Split endpoint "scheme://authority/path/" into host (authority without the scheme's
// default port) and the base path without a trailing '/'. -1 when it is not such a URL.
static int
s_split(const char *endpoint, char *host, size_t host_size, char *path, size_t path_size)
{
    const char *p = s_authority(endpoint, host, host_size);
    if (!p || *p == '?' || *p == '#')
        return -1;
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (plen >= path_size || strpbrk(p, "?#"))
        return -1;
    memcpy(path, p, plen);
    path[plen] = '\0';
    return 0;
}

// Sign r (its url, body and key) at now: set x-ms-date, x-ms-content-sha256 and
// Authorization. -1 when the key is not base64.
static int
s_sign(struct notifyd_req *r, time_t now)
{
    char host[256], date[40], hash[45];
    const char *pq = s_authority(r->url, host, sizeof host);
    notifyd_azuresms_date(now, date);
    char *auth = pq && r->key ? notifyd_azuresms_sign(r->key, host, pq, date, r->body, hash) : NULL;
    if (!auth)
        return -1;
    notifyd_req_header(r, "x-ms-date", date);
    notifyd_req_header(r, "x-ms-content-sha256", hash);
    notifyd_req_header(r, "Authorization", auth);
    free(auth);
    return 0;
}

int
notifyd_azuresms_build_at(const json_t *config, const json_t *data, time_t now,
                          struct notifyd_req *out, fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *endpoint = json_string_value(json_object_get(config, "endpoint"));
    const char *key = json_string_value(json_object_get(config, "access_key"));
    const char *from = json_string_value(json_object_get(config, "from"));
    const json_t *to = json_object_get(config, "to");
    char host[256], path[512];
    if (!endpoint || s_split(endpoint, host, sizeof host, path, sizeof path) < 0) {
        fw_err_set(err, "azuresms_config without a valid endpoint");
        return -1;
    }
    if (!from || !*from || json_array_size(to) == 0) {
        fw_err_set(err, "azuresms_config without from or to");
        return -1;
    }
    char *text = notifyd_tmpl_key(config, "azuresms_configs", "message", data);
    json_t *rcpt = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(to, i, t)
    {
        if (json_is_string(t))
            json_array_append_new(rcpt, json_pack("{s:O}", "to", t));
    }
    json_t *req =
        json_pack("{s:s, s:o, s:s, s:{s:b}}", "from", from, "smsRecipients", rcpt, "message",
                  text ? text : "", "smsSendOptions", "enableDeliveryReport", 0);
    free(text);
    char *body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(req);
    size_t scheme = strncmp(endpoint, "https://", 8) == 0 ? 8 : 7;
    out->url = fw_asprintf("%.*s%s%s", (int)(scheme + strcspn(endpoint + scheme, "/")), endpoint,
                           path, NOTIFYD_AZURESMS_API);
    out->body = fw_strdup(body);
    free(body);
    out->key = key ? fw_strdup(key) : NULL;
    out->answer = notifyd_azuresms_answer;
    if (s_sign(out, now) < 0) {
        fw_err_set(err, "azuresms_config: the access key is not base64");
        notifyd_req_clear(out);
        return -1;
    }
    return 0;
}

// The element of the answer's value[] for recipient to, or NULL.
static const json_t *
s_result_for(const json_t *value, const char *to)
{
    size_t i;
    const json_t *v;
    json_array_foreach(value, i, v)
    {
        const char *t = json_string_value(json_object_get(v, "to"));
        if (t && strcmp(t, to) == 0)
            return v;
    }
    return NULL;
}

// Append "to: why" to detail (bounded, "; " between entries).
static void
s_detail_add(char *detail, size_t size, const char *to, const char *why)
{
    size_t n = strlen(detail);
    if (n + 4 < size)
        snprintf(detail + n, size - n, "%s%s: %s", n ? "; " : "", to, why);
}

void
notifyd_azuresms_answer_at(struct notifyd_req *req, const char *body, time_t now,
                           struct notifyd_answer *out)
{
    json_t *sent = json_loads(req->body, 0, NULL);
    json_t *ans = json_loads(body, 0, NULL);
    const json_t *value = json_object_get(ans, "value");
    json_t *again = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(sent, "smsRecipients"), i, r)
    {
        const char *to = json_string_value(json_object_get(r, "to"));
        if (!to)
            continue;
        const json_t *res = s_result_for(value, to);
        if (res && json_is_true(json_object_get(res, "successful"))) {
            out->delivered++;
            continue;
        }
        out->failed++;
        json_int_t status = json_integer_value(json_object_get(res, "httpStatusCode"));
        const char *msg = json_string_value(json_object_get(res, "errorMessage"));
        char why[160];
        snprintf(why, sizeof why, "%s (%lld)",
                 msg   ? msg
                 : res ? "not successful"
                       : "not in the answer",
                 (long long)status);
        s_detail_add(out->detail, sizeof out->detail, to, why);
        // As for a whole request: 429, 5xx and no verdict are worth another try; any other
        // status will not change, so that recipient has failed for good.
        if (!res || status == 0 || status == 429 || status >= 500)
            json_array_append(again, r);
        else if (!req->failed)
            req->failed = fw_asprintf("%s: %s", to, why);
    }
    snprintf(out->reason, sizeof out->reason, "recipient");
    if (out->failed == 0) {
        out->verdict = NOTIFYD_ANSWER_DELIVERED;
    } else if (json_array_size(again) == 0 || !sent) {
        out->verdict = NOTIFYD_ANSWER_FAILED;
    } else {
        // Send again to those only, signed anew (the service refuses an old x-ms-date).
        json_object_set(sent, "smsRecipients", again);
        char *b = json_dumps(sent, JSON_COMPACT | JSON_PRESERVE_ORDER);
        free(req->body);
        req->body = fw_strdup(b);
        free(b);
        out->verdict = s_sign(req, now) == 0 ? NOTIFYD_ANSWER_RESEND : NOTIFYD_ANSWER_FAILED;
    }
    json_decref(again);
    json_decref(ans);
    json_decref(sent);
}

void
notifyd_azuresms_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out)
{
    notifyd_azuresms_answer_at(req, body, time(NULL), out);
}

int
notifyd_azuresms_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                       fw_err_t *err)
{
    return notifyd_azuresms_build_at(config, data, time(NULL), out, err);
}
