/*  alertd_cfg_teams.c — msteams_configs, msteamsv2_configs and azuresms_configs (see
    alertd_cfg_teams.h): the Teams tables after Alertmanager's notify/msteams/config.go and
    notify/msteamsv2/config.go, azuresms after the Azure Communication Services SMS API
    (POST {endpoint}/sms?api-version=2021-03-07, 1 to 100 recipients).
*/
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_teams.h"
#include "alertd_cfg_fields.h"
#include "fw_mem.h"

#define S_AZURE_MAX_TO 100 // the SMS API's limit per request

#define T struct alertd_cfg_msteams
const struct fw_cfg_field alertd_cfg_msteams_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("webhook_url", T, webhook_url),
    F_STR("webhook_url_file", T, webhook_url_file),
    F_STR("title", T, title),
    F_STR("summary", T, summary),
    F_STR("text", T, text),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};

const struct fw_cfg_field alertd_cfg_msteamsv2_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("webhook_url", T, webhook_url),
    F_STR("webhook_url_file", T, webhook_url_file),
    F_STR("title", T, title),
    F_STR("text", T, text),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

#define T struct alertd_cfg_azuresms
const struct fw_cfg_field alertd_cfg_azuresms_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("endpoint", T, endpoint),
    F_STR("access_key_file", T, access_key_file),
    F_STR("from", T, from),
    {.key = "to",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(T, to),
     .count_off = offsetof(T, to_len)},
    F_STR("message", T, message),
    F_WHY("access_key", "give the access key in access_key_file"),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

static void
s_check_msteams(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_msteams *m, bool v2)
{
    const char *kind = v2 ? "msteamsv2_configs" : "msteams_configs";
    free(m->url);
    m->url = NULL;
    bool has_url = m->webhook_url && *m->webhook_url;
    bool has_file = m->webhook_url_file && *m->webhook_url_file;
    if (!has_url && !has_file)
        fw_cfg_errors_add(errs, file, m->pos,
                          "one of webhook_url or webhook_url_file must be configured");
    else
        m->url = alertd_cfg_receivers_secret(file, errs, m->webhook_url, m->webhook_url_file,
                                             m->pos, "webhook_url");
    if (m->url && strncmp(m->url, "http://", 7) != 0 && strncmp(m->url, "https://", 8) != 0)
        // The URL is a secret (it holds the workflow's signature): name only its scheme.
        fw_cfg_errors_add(errs, file, m->pos, "unsupported scheme \"%.*s\" in %s webhook_url",
                          (int)strcspn(m->url, ":/"), m->url, kind);
    char what[64];
    snprintf(what, sizeof what, "%s.title", kind);
    alertd_cfg_receivers_text(file, errs, &m->title,
                              v2 ? "{{ template \"msteamsv2.default.title\" . }}"
                                 : "{{ template \"msteams.default.title\" . }}",
                              m->pos, fw_cfg_vpos_find(&m->vpos, "title"), what);
    snprintf(what, sizeof what, "%s.text", kind);
    alertd_cfg_receivers_text(file, errs, &m->text,
                              v2 ? "{{ template \"msteamsv2.default.text\" . }}"
                                 : "{{ template \"msteams.default.text\" . }}",
                              m->pos, fw_cfg_vpos_find(&m->vpos, "text"), what);
    if (!v2)
        alertd_cfg_receivers_text(file, errs, &m->summary,
                                  "{{ template \"msteams.default.summary\" . }}", m->pos,
                                  fw_cfg_vpos_find(&m->vpos, "summary"), "msteams_configs.summary");
}

// The decoded length of a base64 key, or -1 when it is not base64.
static int
s_b64_len(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0 || n > 512)
        return -1;
    unsigned char out[512];
    int len = EVP_DecodeBlock(out, (const unsigned char *)s, (int)n);
    if (len < 0)
        return -1;
    if (n >= 1 && s[n - 1] == '=')
        len--;
    if (n >= 2 && s[n - 2] == '=')
        len--;
    return len;
}

static bool
s_e164(const char *s)
{
    if (!s || s[0] != '+' || !s[1])
        return false;
    size_t n = 0;
    for (const char *p = s + 1; *p; p++, n++)
        if (*p < '0' || *p > '9')
            return false;
    return n <= 15;
}

static void
s_check_azuresms(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_azuresms *a)
{
    free(a->key);
    a->key = NULL;
    if (!a->endpoint || !*a->endpoint)
        fw_cfg_errors_add(errs, file, a->pos, "azuresms_configs: endpoint must be configured");
    else if (strncmp(a->endpoint, "https://", 8) != 0 && strncmp(a->endpoint, "http://", 7) != 0)
        fw_cfg_errors_add(errs, file, a->pos,
                          "azuresms_configs: endpoint \"%s\" is not an http(s) URL", a->endpoint);
    else if (strchr(a->endpoint + (a->endpoint[4] == 's' ? 8 : 7), '?') || strchr(a->endpoint, '@'))
        fw_cfg_errors_add(errs, file, a->pos,
                          "azuresms_configs: endpoint \"%s\" must be scheme://host[:port][/path] "
                          "without query or credentials",
                          a->endpoint);
    if (!a->access_key_file || !*a->access_key_file) {
        fw_cfg_errors_add(errs, file, a->pos,
                          "azuresms_configs: access_key_file must be configured");
    } else {
        a->key =
            alertd_cfg_receivers_secret(file, errs, NULL, a->access_key_file, a->pos, "access_key");
        if (a->key && s_b64_len(a->key) <= 0) {
            // The key is a secret: never shown.
            fw_cfg_errors_add(errs, file, a->pos,
                              "azuresms_configs: access_key_file \"%s\" does not hold a base64 "
                              "access key",
                              a->access_key_file);
            free(a->key);
            a->key = NULL;
        }
    }
    if (!a->from || !*a->from)
        fw_cfg_errors_add(errs, file, a->pos, "azuresms_configs: from must be configured");
    if (a->to_len == 0)
        fw_cfg_errors_add(errs, file, a->pos,
                          "azuresms_configs: to must list at least one phone number");
    else if (a->to_len > S_AZURE_MAX_TO)
        fw_cfg_errors_add(errs, file, a->pos,
                          "azuresms_configs: to lists %zu numbers, the SMS API takes at most %d",
                          a->to_len, S_AZURE_MAX_TO);
    for (size_t i = 0; i < a->to_len; i++)
        if (!s_e164(a->to[i]))
            fw_cfg_errors_add(errs, file, a->pos,
                              "azuresms_configs: to \"%s\" is not an E.164 phone number "
                              "(+ and up to 15 digits)",
                              a->to[i]);
    alertd_cfg_receivers_text(file, errs, &a->message,
                              "{{ template \"azuresms.default.message\" . }}", a->pos,
                              fw_cfg_vpos_find(&a->vpos, "message"), "azuresms_configs.message");
}

void
alertd_cfg_teams_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                       struct fw_cfg_errors *errs)
{
    for (size_t k = 0; k < 2; k++) {
        struct alertd_cfg_msteams *ms = k ? r->msteamsv2 : r->msteams;
        size_t n = k ? r->msteamsv2_len : r->msteams_len;
        for (size_t i = 0; i < n; i++) {
            s_check_msteams(file, errs, &ms[i], k == 1);
            json_decref(ms[i].http_json);
            ms[i].http_json =
                alertd_cfg_http_effective(&ms[i].http, ms[i].pos, global_http, file, errs);
        }
    }
    for (size_t i = 0; i < r->azuresms_len; i++) {
        struct alertd_cfg_azuresms *a = &r->azuresms[i];
        s_check_azuresms(file, errs, a);
        json_decref(a->http_json);
        a->http_json = alertd_cfg_http_effective(&a->http, a->pos, global_http, file, errs);
        // The access key signs each request's Authorization header: other credentials have
        // no place here. global.http_config's are left out; the integration's own refused.
        if (a->http_json && (json_object_get(a->http_json, "authorization") ||
                             json_object_get(a->http_json, "oauth2"))) {
            if (a->http.pos.line != a->pos.line || a->http.pos.col != a->pos.col)
                fw_cfg_errors_add(errs, file, a->http.pos,
                                  "azuresms_configs: http_config credentials cannot be used, "
                                  "the access key signs each request");
            json_t *copy = json_deep_copy(a->http_json);
            json_object_del(copy, "authorization");
            json_object_del(copy, "oauth2");
            json_decref(a->http_json);
            a->http_json = copy;
        }
    }
}

void
alertd_cfg_teams_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->msteams_len; i++) {
        free(r->msteams[i].url);
        r->msteams[i].url = NULL;
        json_decref(r->msteams[i].http_json);
        r->msteams[i].http_json = NULL;
    }
    for (size_t i = 0; i < r->msteamsv2_len; i++) {
        free(r->msteamsv2[i].url);
        r->msteamsv2[i].url = NULL;
        json_decref(r->msteamsv2[i].http_json);
        r->msteamsv2[i].http_json = NULL;
    }
    for (size_t i = 0; i < r->azuresms_len; i++) {
        free(r->azuresms[i].key);
        r->azuresms[i].key = NULL;
        json_decref(r->azuresms[i].http_json);
        r->azuresms[i].http_json = NULL;
    }
}

static json_t *
s_msteams_json(const struct alertd_cfg_msteams *m)
{
    json_t *o = json_pack("{s:b, s:s}", "send_resolved", m->send_resolved, "webhook_url",
                          m->url ? m->url : "");
    alertd_cfg_put(o, "title", m->title);
    alertd_cfg_put(o, "summary", m->summary);
    alertd_cfg_put(o, "text", m->text);
    alertd_cfg_http_put(o, m->http_json);
    return o;
}

static json_t *
s_azuresms_json(const struct alertd_cfg_azuresms *a)
{
    json_t *to = json_array();
    for (size_t i = 0; i < a->to_len; i++)
        json_array_append_new(to, json_string(a->to[i]));
    json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:o}", "send_resolved", a->send_resolved,
                          "endpoint", a->endpoint ? a->endpoint : "", "access_key",
                          a->key ? a->key : "", "from", a->from ? a->from : "", "to", to);
    alertd_cfg_put(o, "message", a->message);
    alertd_cfg_http_put(o, a->http_json);
    return o;
}

void
alertd_cfg_teams_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (r->msteams_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->msteams_len; i++)
            json_array_append_new(a, s_msteams_json(&r->msteams[i]));
        json_object_set_new(notify, "msteams_configs", a);
    }
    if (r->msteamsv2_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->msteamsv2_len; i++)
            json_array_append_new(a, s_msteams_json(&r->msteamsv2[i]));
        json_object_set_new(notify, "msteamsv2_configs", a);
    }
    if (r->azuresms_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < r->azuresms_len; i++)
            json_array_append_new(a, s_azuresms_json(&r->azuresms[i]));
        json_object_set_new(notify, "azuresms_configs", a);
    }
}
