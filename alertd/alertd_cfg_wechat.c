/*  alertd_cfg_wechat.c — wechat_configs (see alertd_cfg_wechat.h). */
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_wechat.h"
#include "fw_mem.h"

#define S_DEFAULT_URL "https://qyapi.weixin.qq.com/cgi-bin/" // config.go DefaultGlobalConfig

#define T struct alertd_cfg_wechat
const struct fw_cfg_field alertd_cfg_wechat_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "false"),
    F_STR("api_secret", T, api_secret),
    F_STR("api_secret_file", T, api_secret_file),
    F_STR("corp_id", T, corp_id),
    F_STR("message", T, message),
    F_STR("api_url", T, api_url),
    F_STR("to_user", T, to_user),
    F_STR("to_party", T, to_party),
    F_STR("to_tag", T, to_tag),
    F_STR("agent_id", T, agent_id),
    F_STR("message_type", T, message_type),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

static void
s_clear_one(struct alertd_cfg_wechat *w)
{
    free(w->url);
    free(w->secret);
    free(w->secret_file);
    free(w->corp);
    w->url = w->secret = w->secret_file = w->corp = NULL;
    json_decref(w->http_json);
    w->http_json = NULL;
}

static void
s_check_one(struct alertd_cfg_wechat *w, const struct alertd_cfg_global *g, const char *file,
            struct fw_cfg_errors *errs)
{
    s_clear_one(w);
    const char *u = alertd_cfg_set(w->api_url)          ? w->api_url
                    : alertd_cfg_set(g->wechat_api_url) ? g->wechat_api_url
                                                        : S_DEFAULT_URL;
    if (alertd_cfg_receivers_http_url(file, errs, w->pos, u, "in wechat api_url")) {
        if (strchr(u, '?') || strchr(u, '#'))
            fw_cfg_errors_add(errs, file, w->pos,
                              "wechat api_url \"%s\" must not have a query or fragment", u);
        else
            w->url = u[strlen(u) - 1] == '/' ? fw_strdup(u) : fw_asprintf("%s/", u);
    }
    // The receiver's own secret (inline or file), else global's (Alertmanager 0.28).
    alertd_cfg_receivers_pick(file, errs, w->pos, "api_secret", w->api_secret, w->api_secret_file,
                              g->wechat_api_secret, g->wechat_api_secret_file, &w->secret,
                              &w->secret_file);
    // (neither: alertd_cfgcheck reports "no global Wechat ApiSecret set ...")
    if (w->secret && strstr(w->secret, "{{"))
        // The secret is never shown, so neither is the template.
        fw_cfg_errors_add(errs, file, w->pos,
                          "wechat_configs: an api_secret template is not supported");
    const char *corp = alertd_cfg_set(w->corp_id) ? w->corp_id : g->wechat_api_corp_id;
    if (!alertd_cfg_set(corp))
        fw_cfg_errors_add(errs, file, w->pos, "no global Wechat CorpID set");
    else
        w->corp = fw_strdup(corp);
    if (!alertd_cfg_set(w->message_type)) {
        free(w->message_type);
        w->message_type = fw_strdup("text");
    }
    if (strcmp(w->message_type, "text") != 0 && strcmp(w->message_type, "markdown") != 0)
        fw_cfg_errors_add(errs, file, w->pos,
                          "weChat message type \"%s\" does not match valid options "
                          "^(text|markdown)$",
                          w->message_type);
#define TEXT(m, def)                                                                               \
    alertd_cfg_receivers_text(file, errs, &w->m, def, w->pos, fw_cfg_vpos_find(&w->vpos, #m),      \
                              "wechat_configs." #m)
    TEXT(message, "{{ template \"wechat.default.message\" . }}");
    TEXT(to_user, "{{ template \"wechat.default.to_user\" . }}");
    TEXT(to_party, "{{ template \"wechat.default.to_party\" . }}");
    TEXT(to_tag, "{{ template \"wechat.default.to_tag\" . }}");
    TEXT(agent_id, "{{ template \"wechat.default.agent_id\" . }}");
#undef TEXT
    if (w->corp && strstr(w->corp, "{{"))
        alertd_cfg_receivers_text(file, errs, &w->corp, NULL, w->pos,
                                  fw_cfg_vpos_find(&w->vpos, "corp_id"), "wechat_configs.corp_id");
}

void
alertd_cfg_wechat_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                        const char *file, struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->wechat_len; i++) {
        struct alertd_cfg_wechat *w = &r->wechat[i];
        s_check_one(w, g, file, errs);
        w->http_json = alertd_cfg_http_effective(&w->http, w->pos, g->http_json, file, errs);
    }
}

void
alertd_cfg_wechat_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->wechat_len; i++)
        s_clear_one(&r->wechat[i]);
}

void
alertd_cfg_wechat_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->wechat_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->wechat_len; i++) {
        const struct alertd_cfg_wechat *w = &r->wechat[i];
        json_t *o = json_pack("{s:b, s:s, s:s, s:s}", "send_resolved", w->send_resolved, "api_url",
                              w->url ? w->url : "", "corp_id", w->corp ? w->corp : "",
                              "message_type", w->message_type ? w->message_type : "text");
        alertd_cfg_put(o, "api_secret", w->secret);
        alertd_cfg_put(o, "api_secret_file", w->secret_file);
        alertd_cfg_put(o, "message", w->message);
        alertd_cfg_put(o, "to_user", w->to_user);
        alertd_cfg_put(o, "to_party", w->to_party);
        alertd_cfg_put(o, "to_tag", w->to_tag);
        alertd_cfg_put(o, "agent_id", w->agent_id);
        alertd_cfg_http_put(o, w->http_json);
        json_array_append_new(a, o);
    }
    json_object_set_new(notify, "wechat_configs", a); // steals a
}
