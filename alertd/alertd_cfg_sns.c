/*  alertd_cfg_sns.c — sns_configs (see alertd_cfg_sns.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_sns.h"
#include "fw_mem.h"

#define T struct alertd_cfg_sns_sigv4
static const struct fw_cfg_field s_sigv4_fields[] = {
    F_POS(T, pos),
    F_STR("region", T, region),
    F_STR("access_key", T, access_key),
    F_STR("secret_key", T, secret_key),
    F_WHY("profile", "AWS shared config profiles are not read; give access_key and secret_key"),
    F_WHY("role_arn", "assuming a role through STS is not supported; give access_key and "
                      "secret_key"),
    {NULL},
};
#undef T

#define T struct alertd_cfg_sns
const struct fw_cfg_field alertd_cfg_sns_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("api_url", T, api_url),
    {.key = "sigv4", .type = FW_CFG_STRUCT, .off = offsetof(T, sigv4), .child = s_sigv4_fields},
    F_STR("topic_arn", T, topic_arn),
    F_STR("phone_number", T, phone_number),
    F_STR("target_arn", T, target_arn),
    F_STR("subject", T, subject),
    F_STR("message", T, message),
    {.key = "attributes", .type = FW_CFG_STR_MAP, .off = offsetof(T, attributes)},
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

static void
s_clear_one(struct alertd_cfg_sns *s)
{
    free(s->url);
    s->url = NULL;
    json_decref(s->http_json);
    s->http_json = NULL;
}

static void
s_check_one(struct alertd_cfg_sns *s, json_t *global_http, const char *file,
            struct fw_cfg_errors *errs)
{
    s_clear_one(s);
    const struct alertd_cfg_sns_sigv4 *v = &s->sigv4;
    int targets = alertd_cfg_set(s->topic_arn) + alertd_cfg_set(s->phone_number) +
                  alertd_cfg_set(s->target_arn);
    if (targets > 1)
        fw_cfg_errors_add(errs, file, s->pos,
                          "sns_configs: give only one of topic_arn, phone_number and target_arn "
                          "(SNS refuses a Publish with more)");
    if (alertd_cfg_set(v->access_key) != alertd_cfg_set(v->secret_key))
        fw_cfg_errors_add(errs, file, s->pos,
                          "must provide a AWS SigV4 Access key and Secret Key if credentials are "
                          "specified in the SigV4 config");
    else if (!alertd_cfg_set(v->access_key))
        fw_cfg_errors_add(errs, file, s->pos,
                          "sns_configs: sigv4 without access_key and secret_key (the AWS default "
                          "credential chain) is not supported by floorwatch");
    if (!alertd_cfg_set(v->region))
        fw_cfg_errors_add(errs, file, s->pos,
                          "sns_configs: sigv4.region must be given (AWS_REGION and ~/.aws/config "
                          "are not supported by floorwatch)");
    if (alertd_cfg_set(s->api_url)) {
        const char *u = s->api_url;
        if (strstr(u, "{{"))
            fw_cfg_errors_add(errs, file, s->pos,
                              "sns_configs: an api_url template is not supported by floorwatch");
        else if (alertd_cfg_receivers_http_url(file, errs, s->pos, u, "in sns api_url")) {
            if (strchr(u, '?') || strchr(u, '#') || strchr(u, '@'))
                fw_cfg_errors_add(errs, file, s->pos,
                                  "sns_configs: api_url \"%s\" must be scheme://host[:port][/path]",
                                  u);
            else
                s->url = fw_strdup(u);
        }
    } else if (alertd_cfg_set(v->region)) {
        // The SDK's endpoint for the region (the China partition's domain for cn- regions).
        s->url = fw_asprintf("https://sns.%s.amazonaws.com%s/", v->region,
                             strncmp(v->region, "cn-", 3) == 0 ? ".cn" : "");
    }
#define TEXT(m, def)                                                                               \
    alertd_cfg_receivers_text(file, errs, &s->m, def, s->pos, fw_cfg_vpos_find(&s->vpos, #m),      \
                              "sns_configs." #m)
    TEXT(topic_arn, NULL);
    TEXT(phone_number, NULL);
    TEXT(target_arn, NULL);
    TEXT(subject, "{{ template \"sns.default.subject\" . }}");
    TEXT(message, "{{ template \"sns.default.message\" . }}");
#undef TEXT
    for (size_t i = 0; i < s->attributes.len; i++) {
        struct fw_label *l = &s->attributes.items[i];
        char key[160];
        snprintf(key, sizeof key, "attributes.%s", l->name);
        char *name = fw_strdup(l->name);
        alertd_cfg_receivers_text(file, errs, &name, NULL, s->pos, NULL,
                                  "sns_configs.attributes (name)");
        free(name);
        char *value = fw_strdup(l->value);
        alertd_cfg_receivers_text(file, errs, &value, NULL, s->pos, fw_cfg_vpos_find(&s->vpos, key),
                                  "sns_configs.attributes");
        free(value);
    }
    s->http_json = alertd_cfg_http_effective(&s->http, s->pos, global_http, file, errs);
    // SigV4 signs each request's Authorization header: no other credentials. global's are
    // left out; the integration's own refused.
    if (s->http_json && (json_object_get(s->http_json, "authorization") ||
                         json_object_get(s->http_json, "oauth2"))) {
        if (s->http.pos.line != s->pos.line || s->http.pos.col != s->pos.col)
            fw_cfg_errors_add(errs, file, s->http.pos,
                              "sns_configs: http_config credentials cannot be used, SigV4 signs "
                              "each request");
        json_t *copy = json_deep_copy(s->http_json);
        json_object_del(copy, "authorization");
        json_object_del(copy, "oauth2");
        json_decref(s->http_json);
        s->http_json = copy;
    }
}

void
alertd_cfg_sns_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                     struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->sns_len; i++)
        s_check_one(&r->sns[i], global_http, file, errs);
}

void
alertd_cfg_sns_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->sns_len; i++)
        s_clear_one(&r->sns[i]);
}

void
alertd_cfg_sns_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->sns_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->sns_len; i++) {
        const struct alertd_cfg_sns *s = &r->sns[i];
        const struct alertd_cfg_sns_sigv4 *v = &s->sigv4;
        json_t *o = json_pack("{s:b, s:s, s:s, s:s, s:s}", "send_resolved", s->send_resolved,
                              "api_url", s->url ? s->url : "", "region", v->region ? v->region : "",
                              "access_key", v->access_key ? v->access_key : "", "secret_key",
                              v->secret_key ? v->secret_key : "");
        // An empty target is Alertmanager's "not given": only a set one is sent.
        if (alertd_cfg_set(s->topic_arn))
            alertd_cfg_put(o, "topic_arn", s->topic_arn);
        if (alertd_cfg_set(s->phone_number))
            alertd_cfg_put(o, "phone_number", s->phone_number);
        if (alertd_cfg_set(s->target_arn))
            alertd_cfg_put(o, "target_arn", s->target_arn);
        alertd_cfg_put(o, "subject", s->subject); // "" kept: no Subject, as Alertmanager
        alertd_cfg_put(o, "message", s->message);
        if (s->attributes.len) {
            json_t *at = json_object();
            for (size_t k = 0; k < s->attributes.len; k++)
                json_object_set_new(at, s->attributes.items[k].name,
                                    json_string(s->attributes.items[k].value));
            json_object_set_new(o, "attributes", at); // steals at
        }
        alertd_cfg_http_put(o, s->http_json);
        json_array_append_new(a, o);
    }
    json_object_set_new(notify, "sns_configs", a); // steals a
}
