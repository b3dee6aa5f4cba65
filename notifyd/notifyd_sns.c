/*  notifyd_sns.c — see notifyd_sns.h. */
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_log.h"
#include "fw_sigv4.h"
#include "fw_time.h"
#include "notifyd_sns.h"
#include "notifyd_tmpl.h"

struct s_field {
    char *name, *value; // owned
};

struct s_form {
    struct s_field *f;
    size_t len, cap;
};

static void
s_form_add(struct s_form *form, char *name, char *value) // takes both
{
    if (form->len == form->cap)
        form->f =
            fw_realloc(form->f, (form->cap = form->cap ? form->cap * 2 : 16) * sizeof *form->f);
    form->f[form->len].name = name;
    form->f[form->len].value = value;
    form->len++;
}

static int
s_field_cmp(const void *a, const void *b)
{
    return strcmp(((const struct s_field *)a)->name, ((const struct s_field *)b)->name);
}

// Append s escaped as Go's url.QueryEscape does (space '+', unreserved kept, else %XX).
static void
s_escape(char **out, size_t *len, const char *s)
{
    size_t n = *len;
    char *o = fw_realloc(*out, n + 3 * strlen(s) + 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~')
            o[n++] = (char)*p;
        else if (*p == ' ')
            o[n++] = '+';
        else
            n += (size_t)snprintf(o + n, 4, "%%%02X", *p);
    }
    o[n] = '\0';
    *out = o;
    *len = n;
}

// url.Values.Encode: sorted by name, name=value joined by '&'. Frees the form.
static char *
s_form_encode(struct s_form *form)
{
    qsort(form->f, form->len, sizeof *form->f, s_field_cmp);
    char *out = fw_strdup("");
    size_t len = 0;
    for (size_t i = 0; i < form->len; i++) {
        if (i) {
            out = fw_realloc(out, len + 2);
            out[len++] = '&';
            out[len] = '\0';
        }
        s_escape(&out, &len, form->f[i].name);
        out = fw_realloc(out, len + 2);
        out[len++] = '=';
        out[len] = '\0';
        s_escape(&out, &len, form->f[i].value);
        free(form->f[i].name);
        free(form->f[i].value);
    }
    free(form->f);
    memset(form, 0, sizeof *form);
    return out;
}

size_t
notifyd_sns_cut(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return n;
    // Back over continuation bytes (10xxxxxx) to the start of the character at max.
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

static void
s_sha256_hex(const char *s, char out[65])
{
    unsigned char d[32];
    unsigned int len = 0;
    EVP_Digest(s, strlen(s), d, &len, EVP_sha256(), NULL);
    for (size_t i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static char *
s_text(const json_t *config, const char *key, const json_t *data)
{
    return notifyd_tmpl_key(config, "sns_configs", key, data);
}

static bool
s_has(const json_t *config, const char *key)
{
    const char *v = json_string_value(json_object_get(config, key));
    return v && *v;
}

// The authority of url (host[:port]) as libcurl sends it in Host: a new string.
static char *
s_authority(const char *url)
{
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    return fw_strndup(p, strcspn(p, "/?#"));
}

// Sign req (its url and body) as of t (Unix seconds): Content-Type, Host, X-Amz-Date and
// Authorization set, or replaced when req was signed before. 0, or -1 with err.
static int
s_sign(struct notifyd_req *req, const char *ak, const char *sk, const char *region, int64_t t,
       fw_err_t *err)
{
    char amz[17];
    fw_sigv4_amz_date(t, amz);
    char *host = s_authority(req->url);
    char *h_type = fw_strdup("Content-Type: application/x-www-form-urlencoded; charset=utf-8");
    char *h_host = fw_asprintf("Host: %s", host);
    char *h_date = fw_asprintf("X-Amz-Date: %s", amz);
    const char *const hs[] = {h_type, h_host, h_date};
    struct fw_sigv4_key key = {ak, sk, region, "sns"};
    char *auth = fw_sigv4_authorization(&key, "POST", req->url, hs, 3, req->body, strlen(req->body),
                                        amz, err);
    int rc = -1;
    if (auth &&
        notifyd_req_header(req, "Content-Type",
                           "application/x-www-form-urlencoded; charset=utf-8") == 0 &&
        notifyd_req_header(req, "Host", host) == 0 &&
        notifyd_req_header(req, "X-Amz-Date", amz) == 0 &&
        notifyd_req_header(req, "Authorization", auth) == 0)
        rc = 0;
    else if (auth)
        fw_err_set(err, "sns: too many headers");
    if (auth)
        memset(auth, 0, strlen(auth));
    free(auth);
    free(host);
    free(h_type);
    free(h_host);
    free(h_date);
    return rc;
}

// notifyd_req_resign_fn: sign again at the attempt's time with the keys kept in req->key
// ("access\nsecret\nregion"), as the AWS SDK signs every attempt.
static int
s_resign(struct notifyd_req *req, int64_t now_ms)
{
    if (!req->key)
        return -1;
    char *ak = fw_strdup(req->key);
    char *sk = strchr(ak, '\n');
    char *region = sk ? strchr(sk + 1, '\n') : NULL;
    int rc = -1;
    if (region) {
        *sk++ = '\0';
        *region++ = '\0';
        fw_err_t err;
        fw_err_clear(&err);
        rc = s_sign(req, ak, sk, region, now_ms / 1000, &err);
        if (rc != 0)
            fw_warn("sns.resign.fail", "err=\"%s\"", err.msg);
    }
    memset(ak, 0, strlen(req->key));
    free(ak);
    return rc;
}

int
notifyd_sns_build_at(const json_t *config, const json_t *data, int64_t t, struct notifyd_req *out,
                     fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = json_string_value(json_object_get(config, "api_url"));
    const char *region = json_string_value(json_object_get(config, "region"));
    const char *ak = json_string_value(json_object_get(config, "access_key"));
    const char *sk = json_string_value(json_object_get(config, "secret_key"));
    if (!url || !*url || !region || !*region || !ak || !*ak || !sk || !*sk) {
        fw_err_set(err, "sns_config without api_url, region, access_key or secret_key");
        return -1;
    }
    struct s_form form = {0};
    s_form_add(&form, fw_strdup("Action"), fw_strdup("Publish"));
    s_form_add(&form, fw_strdup("Version"), fw_strdup("2010-03-31"));
    size_t limit = NOTIFYD_SNS_MAX_MESSAGE;
    if (s_has(config, "topic_arn")) {
        char *arn = s_text(config, "topic_arn", data);
        size_t n = strlen(arn);
        if (n >= 5 && strcmp(arn + n - 5, ".fifo") == 0) {
            const char *gk = json_string_value(json_object_get(data, "groupKey"));
            char h[65];
            s_sha256_hex(gk ? gk : "", h);
            s_form_add(&form, fw_strdup("MessageDeduplicationId"), fw_strdup(h));
            s_form_add(&form, fw_strdup("MessageGroupId"), fw_strdup(h));
        }
        s_form_add(&form, fw_strdup("TopicArn"), arn);
    }
    if (s_has(config, "phone_number")) {
        s_form_add(&form, fw_strdup("PhoneNumber"), s_text(config, "phone_number", data));
        limit = NOTIFYD_SNS_MAX_SMS;
    }
    if (s_has(config, "target_arn"))
        s_form_add(&form, fw_strdup("TargetArn"), s_text(config, "target_arn", data));
    char *msg = s_text(config, "message", data);
    size_t cut = notifyd_sns_cut(msg, limit);
    bool truncated = cut < strlen(msg);
    msg[cut] = '\0';
    s_form_add(&form, fw_strdup("Message"), msg);
    // Attributes: names and values rendered, then numbered in name order (the SDK's map
    // encoding sorts the keys); "truncated" joins them when the message was cut.
    json_t *attrs = json_object();
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(config, "attributes"), name, v)
    {
        char *n = notifyd_tmpl_text("attributes", name, data, NULL);
        char *val = notifyd_tmpl_text("attributes", json_string_value(v), data, NULL);
        json_object_set_new(attrs, n, json_string(val));
        free(n);
        free(val);
    }
    if (truncated)
        json_object_set_new(attrs, "truncated", json_string("true"));
    const char **names = fw_calloc(json_object_size(attrs) + 1, sizeof *names);
    size_t na = 0;
    json_object_foreach(attrs, name, v) names[na++] = name;
    for (size_t i = 1; i < na; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            const char *tmp = names[j];
            names[j] = names[j - 1];
            names[j - 1] = tmp;
        }
    for (size_t i = 0; i < na; i++) {
        s_form_add(&form, fw_asprintf("MessageAttributes.entry.%zu.Name", i + 1),
                   fw_strdup(names[i]));
        s_form_add(&form, fw_asprintf("MessageAttributes.entry.%zu.Value.DataType", i + 1),
                   fw_strdup("String"));
        s_form_add(&form, fw_asprintf("MessageAttributes.entry.%zu.Value.StringValue", i + 1),
                   fw_strdup(json_string_value(json_object_get(attrs, names[i]))));
    }
    if (na == 0)
        // An empty map is still set: the SDK's query encoding writes "MessageAttributes=".
        s_form_add(&form, fw_strdup("MessageAttributes"), fw_strdup(""));
    free(names);
    json_decref(attrs);
    // Subject: the default unless the config set "" (Alertmanager sends none then).
    const json_t *subj = json_object_get(config, "subject");
    if (!subj || s_has(config, "subject"))
        s_form_add(&form, fw_strdup("Subject"), s_text(config, "subject", data));
    out->body = s_form_encode(&form);
    // The SDK posts to the endpoint's path with the operation's "/" appended (".../x" is
    // ".../x/", no path is "/").
    out->url = url[strlen(url) - 1] == '/' ? fw_strdup(url) : fw_asprintf("%s/", url);
    // The keys stay with the request (a secret), so a retry is signed again at its own time.
    out->key = fw_asprintf("%s\n%s\n%s", ak, sk, region);
    out->resign = s_resign;
    if (s_sign(out, ak, sk, region, t, err) != 0) {
        notifyd_req_clear(out);
        return -1;
    }
    return 0;
}

int
notifyd_sns_build(const json_t *config, const json_t *data, struct notifyd_req *out, fw_err_t *err)
{
    return notifyd_sns_build_at(config, data, fw_time_now_ms() / 1000, out, err);
}
