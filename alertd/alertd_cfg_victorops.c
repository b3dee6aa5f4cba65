/*  alertd_cfg_victorops.c — victorops_configs (see alertd_cfg_victorops.h): the table after
    Alertmanager 0.25's VictorOpsConfig, the checks after its UnmarshalYAML and the global
    defaulting in config.go.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_victorops.h"
#include "fw_mem.h"

#define T struct alertd_cfg_victorops
const struct fw_cfg_field alertd_cfg_victorops_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("api_key", T, api_key),
    F_STR("api_key_file", T, api_key_file),
    F_STR("api_url", T, api_url),
    F_STR("routing_key", T, routing_key),
    F_STR("message_type", T, message_type),
    F_STR("state_message", T, state_message),
    F_STR("entity_display_name", T, entity_display_name),
    F_STR("monitoring_tool", T, monitoring_tool),
    {.key = "custom_fields", .type = FW_CFG_STR_MAP, .off = offsetof(T, custom_fields)},
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

// The payload keys notify/victorops sets itself: a custom field may not replace them.
static const char *const s_reserved[] = {
    "routing_key",     "message_type", "state_message", "entity_display_name",
    "monitoring_tool", "entity_id",    "entity_state",  NULL,
};

static void
s_check_one(struct alertd_cfg_victorops *v, const struct alertd_cfg_global *g, const char *file,
            struct fw_cfg_errors *errs)
{
    free(v->key);
    free(v->key_file);
    free(v->url);
    v->key = v->key_file = v->url = NULL;
    if (!alertd_cfg_set(v->routing_key))
        fw_cfg_errors_add(errs, file, v->pos, "missing Routing key in VictorOps config");
    alertd_cfg_receivers_pick(file, errs, v->pos, "api_key", v->api_key, v->api_key_file,
                              g->victorops_api_key, g->victorops_api_key_file, &v->key,
                              &v->key_file);
    const char *url = alertd_cfg_set(v->api_url)             ? v->api_url
                      : alertd_cfg_set(g->victorops_api_url) ? g->victorops_api_url
                                                             : ALERTD_CFG_VICTOROPS_URL;
    if (alertd_cfg_receivers_http_url(file, errs, v->pos, url, "for URL"))
        v->url = fw_strdup(url);
    for (size_t i = 0; s_reserved[i]; i++)
        if (fw_labels_get(&v->custom_fields, s_reserved[i]))
            fw_cfg_errors_add(errs, file, v->pos,
                              "victorOps config contains custom field %s which cannot be used as "
                              "it conflicts with the fixed/static fields",
                              s_reserved[i]);
#define TEXT(m, def)                                                                               \
    alertd_cfg_receivers_text(file, errs, &v->m, def, v->pos, fw_cfg_vpos_find(&v->vpos, #m),      \
                              "victorops_configs." #m)
    TEXT(routing_key, NULL);
    TEXT(message_type, "CRITICAL");
    TEXT(state_message, "{{ template \"victorops.default.state_message\" . }}");
    TEXT(entity_display_name, "{{ template \"victorops.default.entity_display_name\" . }}");
    TEXT(monitoring_tool, "{{ template \"victorops.default.monitoring_tool\" . }}");
#undef TEXT
    for (size_t i = 0; i < v->custom_fields.len; i++) {
        const struct fw_label *l = &v->custom_fields.items[i];
        char what[160], key[160];
        snprintf(what, sizeof what, "victorops_configs.custom_fields.%s", l->name);
        snprintf(key, sizeof key, "custom_fields.%s", l->name);
        char *text = fw_strdup(l->value);
        alertd_cfg_receivers_text(file, errs, &text, NULL, v->pos, fw_cfg_vpos_find(&v->vpos, key),
                                  what);
        free(text);
    }
}

void
alertd_cfg_victorops_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                           const char *file, struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->victorops_len; i++) {
        struct alertd_cfg_victorops *v = &r->victorops[i];
        s_check_one(v, g, file, errs);
        json_decref(v->http_json);
        v->http_json = alertd_cfg_http_effective(&v->http, v->pos, g->http_json, file, errs);
    }
}

void
alertd_cfg_victorops_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->victorops_len; i++) {
        struct alertd_cfg_victorops *v = &r->victorops[i];
        free(v->key);
        free(v->key_file);
        free(v->url);
        v->key = v->key_file = v->url = NULL;
        json_decref(v->http_json);
        v->http_json = NULL;
    }
}

void
alertd_cfg_victorops_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->victorops_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->victorops_len; i++) {
        const struct alertd_cfg_victorops *v = &r->victorops[i];
        json_t *o = json_pack("{s:b}", "send_resolved", v->send_resolved);
        alertd_cfg_put(o, "api_key", v->key);
        alertd_cfg_put(o, "api_key_file", v->key_file);
        alertd_cfg_put(o, "api_url", v->url);
        alertd_cfg_put(o, "routing_key", v->routing_key);
        alertd_cfg_put(o, "message_type", v->message_type);
        alertd_cfg_put(o, "state_message", v->state_message);
        alertd_cfg_put(o, "entity_display_name", v->entity_display_name);
        alertd_cfg_put(o, "monitoring_tool", v->monitoring_tool);
        if (v->custom_fields.len)
            json_object_set_new(o, "custom_fields", fw_labels_json(&v->custom_fields));
        alertd_cfg_http_put(o, v->http_json);
        json_array_append_new(a, o);
    }
    json_object_set_new(notify, "victorops_configs", a);
}
