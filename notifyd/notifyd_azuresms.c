/*  notifyd_azuresms.c — see notifyd_azuresms.h. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "fw_mem.h"
#include "notifyd_azuresms.h"
#include "notifyd_text.h"
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

// Split endpoint "scheme://authority/path/" into host (authority without the scheme's
// default port) and the base path without a trailing '/'. -1 when it is not such a URL.
static int
s_split(const char *endpoint, char *host, size_t host_size, char *path, size_t path_size)
{
    const char *a;
    const char *def_port;
    if (strncmp(endpoint, "https://", 8) == 0)
        a = endpoint + 8, def_port = ":443";
    else if (strncmp(endpoint, "http://", 7) == 0)
        a = endpoint + 7, def_port = ":80";
    else
        return -1;
    size_t alen = strcspn(a, "/?#");
    if (alen == 0 || alen >= host_size || a[alen] == '?' || a[alen] == '#' || memchr(a, '@', alen))
        return -1;
    memcpy(host, a, alen);
    host[alen] = '\0';
    size_t dl = strlen(def_port);
    if (alen > dl && strcmp(host + alen - dl, def_port) == 0 && host[0] != '[')
        host[alen - dl] = '\0';
    const char *p = a + alen;
    size_t plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (plen >= path_size || strpbrk(p, "?#"))
        return -1;
    memcpy(path, p, plen);
    path[plen] = '\0';
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
    const char *msg = json_string_value(json_object_get(config, "message"));
    char *text = msg ? notifyd_tmpl_text("message", msg, data, "azuresms.default.message")
                     : notifyd_text_default("azuresms.default.message", data);
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
    char date[40], hash[45];
    notifyd_azuresms_date(now, date);
    char *pq = fw_asprintf("%s%s", path, NOTIFYD_AZURESMS_API);
    char *auth = key ? notifyd_azuresms_sign(key, host, pq, date, body, hash) : NULL;
    if (!auth) {
        fw_err_set(err, "azuresms_config: the access key is not base64");
        free(pq);
        free(body);
        return -1;
    }
    size_t scheme = strncmp(endpoint, "https://", 8) == 0 ? 8 : 7;
    out->url = fw_asprintf("%.*s%s", (int)(scheme + strcspn(endpoint + scheme, "/")), endpoint, pq);
    out->body = fw_strdup(body);
    free(body);
    free(pq);
    notifyd_req_header(out, "x-ms-date", date);
    notifyd_req_header(out, "x-ms-content-sha256", hash);
    notifyd_req_header(out, "Authorization", auth);
    free(auth);
    return 0;
}

int
notifyd_azuresms_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                       fw_err_t *err)
{
    return notifyd_azuresms_build_at(config, data, time(NULL), out, err);
}
