/*  alertd_cfg_webex.c — webex_configs (see alertd_cfg_webex.h), after Alertmanager 0.25's
    config/notifiers.go (WebexConfig.UnmarshalYAML: "missing room_id on webex_config",
    "missing webex_configs.http_config.authorization") and config/config.go (the global
    webex_api_url fallback).
*/
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_webex.h"
#include "fw_mem.h"

#define T struct alertd_cfg_webex
const struct fw_cfg_field alertd_cfg_webex_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("api_url", T, api_url),
    F_STR("room_id", T, room_id),
    F_STR("message", T, message),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

// Alertmanager's config.URL: an absolute http(s) URL with a host.
static bool
s_url_ok(const char *u)
{
    const char *h = NULL;
    if (strncmp(u, "http://", 7) == 0)
        h = u + 7;
    else if (strncmp(u, "https://", 8) == 0)
        h = u + 8;
    return h && *h && *h != '/' && *h != '?' && *h != '#';
}

static void
s_check(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_webex *w,
        const struct alertd_cfg_global *g)
{
    free(w->url);
    w->url = NULL;
    if (!alertd_cfg_set(w->room_id))
        fw_cfg_errors_add(errs, file, w->pos, "missing room_id on webex_config");
    if (!alertd_cfg_http_has_authorization(&w->http, w->pos))
        fw_cfg_errors_add(errs, file, w->pos, "missing webex_configs.http_config.authorization");
    const char *url = alertd_cfg_set(w->api_url)         ? w->api_url
                      : alertd_cfg_set(g->webex_api_url) ? g->webex_api_url
                                                         : ALERTD_CFG_WEBEX_API_URL;
    if (!s_url_ok(url))
        fw_cfg_errors_add(errs, file, alertd_cfg_set(w->api_url) ? w->pos : g->pos,
                          "%swebex_api_url \"%s\" is not an http(s) URL with a host",
                          alertd_cfg_set(w->api_url) ? "webex_configs " : "global ", url);
    else
        w->url = fw_strdup(url);
    alertd_cfg_receivers_text(file, errs, &w->message, "{{ template \"webex.default.message\" . }}",
                              w->pos, fw_cfg_vpos_find(&w->vpos, "message"),
                              "webex_configs.message");
}

void
alertd_cfg_webex_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                       const char *file, struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->webex_len; i++) {
        struct alertd_cfg_webex *w = &r->webex[i];
        s_check(file, errs, w, g);
        json_decref(w->http_json);
        w->http_json = alertd_cfg_http_effective(&w->http, w->pos, g->http_json, file, errs);
    }
}

void
alertd_cfg_webex_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->webex_len; i++) {
        free(r->webex[i].url);
        r->webex[i].url = NULL;
        json_decref(r->webex[i].http_json);
        r->webex[i].http_json = NULL;
    }
}

void
alertd_cfg_webex_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->webex_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->webex_len; i++) {
        const struct alertd_cfg_webex *w = &r->webex[i];
        json_t *o = json_pack("{s:b, s:s, s:s}", "send_resolved", w->send_resolved, "api_url",
                              w->url ? w->url : "", "room_id", w->room_id ? w->room_id : "");
        if (w->message)
            json_object_set_new(o, "message", json_string(w->message));
        alertd_cfg_http_put(o, w->http_json);
        json_array_append_new(a, o);
    }
    json_object_set_new(notify, "webex_configs", a);
}
