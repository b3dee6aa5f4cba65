/*  alertd_cfg_rocketchat.c — rocketchat_configs (see alertd_cfg_rocketchat.h): the table
    after Alertmanager's notify/rocketchat/config.go (RocketchatConfig, its fields' and
    actions' keys as its YAML decoder names them), the checks after its UnmarshalYAML and
    config.go's Validate.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_rocketchat.h"
#include "fw_mem.h"

#define S_DEFAULT_API_URL "https://open.rocket.chat/"
#define S_POST_PATH "api/v1/chat.postMessage"
#define S_NOT_SENT "Alertmanager does not send it either"

#define T struct alertd_cfg_rc_field
static const struct fw_cfg_field s_field_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("title", T, title),
    F_STR("value", T, value),
    F_STR("short", T, short_),
    {NULL},
};
#undef T

// Alertmanager's RocketchatAttachmentAction has JSON tags only, so its YAML keys are the Go
// field names in lower case; Notify sends text, url and msg (type always "button").
#define T struct alertd_cfg_rc_action
static const struct fw_cfg_field s_action_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("type", T, type),
    F_STR("text", T, text),
    F_STR("url", T, url),
    F_STR("msg", T, msg),
    F_WHY("imageurl", S_NOT_SENT),
    F_WHY("iswebview", S_NOT_SENT),
    F_WHY("webviewheightratio", S_NOT_SENT),
    F_WHY("msginchatwindow", S_NOT_SENT),
    F_WHY("msgprocessingtype", S_NOT_SENT),
    {NULL},
};
#undef T

#define T struct alertd_cfg_rocketchat
const struct fw_cfg_field alertd_cfg_rocketchat_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "false"),
    F_STR("api_url", T, api_url),
    F_STR("token", T, token),
    F_STR("token_file", T, token_file),
    F_STR("token_id", T, token_id),
    F_STR("token_id_file", T, token_id_file),
    F_STR("channel", T, channel),
    F_STR("color", T, color),
    F_STR("title", T, title),
    F_STR("title_link", T, title_link),
    F_STR("text", T, text),
    F_STR("emoji", T, emoji),
    F_STR("icon_url", T, icon_url),
    F_STR("image_url", T, image_url),
    F_STR("thumb_url", T, thumb_url),
    {.key = "fields",
     .type = FW_CFG_LIST,
     .off = offsetof(T, fields),
     .count_off = offsetof(T, fields_len),
     .elem_size = sizeof(struct alertd_cfg_rc_field),
     .child = s_field_fields},
    F_BOOL("short_fields", T, short_fields, "false"),
    F_BOOL("link_names", T, link_names, "false"),
    {.key = "actions",
     .type = FW_CFG_LIST,
     .off = offsetof(T, actions),
     .count_off = offsetof(T, actions_len),
     .elem_size = sizeof(struct alertd_cfg_rc_action),
     .child = s_action_fields},
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

static char *
s_dup(const char *own, const char *global)
{
    return alertd_cfg_set(own) ? fw_strdup(own) : alertd_cfg_set(global) ? fw_strdup(global) : NULL;
}

// Go's url.JoinPath(S_POST_PATH) of base: the path joined with one '/', query and fragment
// kept after it.
static char *
s_post_url(const char *base)
{
    size_t scheme = strncmp(base, "https://", 8) == 0 ? 8 : 7;
    size_t end = scheme + strcspn(base + scheme, "?#");
    size_t path_end = end;
    while (path_end > scheme && base[path_end - 1] == '/')
        path_end--;
    return fw_asprintf("%.*s/%s%s", (int)path_end, base, S_POST_PATH, base + end);
}

static void
s_check_one(struct alertd_cfg_rocketchat *c, const struct alertd_cfg_global *g, const char *file,
            struct fw_cfg_errors *errs)
{
    if (alertd_cfg_set(c->token) && alertd_cfg_set(c->token_file))
        fw_cfg_errors_add(errs, file, c->pos,
                          "at most one of token & token_file must be configured");
    if (alertd_cfg_set(c->token_id) && alertd_cfg_set(c->token_id_file))
        fw_cfg_errors_add(errs, file, c->pos,
                          "at most one of token_id & token_id_file must be configured");
    // As config.go: each of the four falls back to its global twin on its own.
    c->r_token = s_dup(c->token, g->rocketchat_token);
    c->r_token_file = s_dup(c->token_file, g->rocketchat_token_file);
    c->r_token_id = s_dup(c->token_id, g->rocketchat_token_id);
    c->r_token_id_file = s_dup(c->token_id_file, g->rocketchat_token_id_file);
    const char *base = alertd_cfg_set(c->api_url)              ? c->api_url
                       : alertd_cfg_set(g->rocketchat_api_url) ? g->rocketchat_api_url
                                                               : S_DEFAULT_API_URL;
    if (alertd_cfg_receivers_http_url(file, errs, c->pos, base,
                                      "in rocketchat api_url (http or https)"))
        c->post_url = s_post_url(base);
#define TEXT(m, def)                                                                               \
    alertd_cfg_receivers_text(file, errs, &c->m, def, c->pos, fw_cfg_vpos_find(&c->vpos, #m),      \
                              "rocketchat_configs." #m)
    TEXT(channel, NULL);
    TEXT(color, "{{ if eq .Status \"firing\" }}red{{ else }}green{{ end }}");
    TEXT(title, "{{ template \"rocketchat.default.title\" . }}");
    TEXT(title_link, "{{ template \"rocketchat.default.titlelink\" . }}");
    TEXT(text, "{{ template \"rocketchat.default.text\" . }}");
    TEXT(emoji, "{{ template \"rocketchat.default.emoji\" . }}");
    TEXT(icon_url, "{{ template \"rocketchat.default.iconurl\" . }}");
    TEXT(image_url, NULL);
    TEXT(thumb_url, NULL);
#undef TEXT
    for (size_t i = 0; i < c->fields_len; i++) {
        struct alertd_cfg_rc_field *f = &c->fields[i];
        alertd_cfg_receivers_text(file, errs, &f->title, NULL, f->pos,
                                  fw_cfg_vpos_find(&f->vpos, "title"),
                                  "rocketchat_configs.fields.title");
        alertd_cfg_receivers_text(file, errs, &f->value, NULL, f->pos,
                                  fw_cfg_vpos_find(&f->vpos, "value"),
                                  "rocketchat_configs.fields.value");
        if (f->short_ && strcmp(f->short_, "true") != 0 && strcmp(f->short_, "false") != 0)
            fw_cfg_errors_add(errs, file, f->pos, "short: not a boolean: \"%s\"", f->short_);
    }
    for (size_t i = 0; i < c->actions_len; i++) {
        struct alertd_cfg_rc_action *a = &c->actions[i];
        char **t[] = {&a->text, &a->url, &a->msg};
        static const char *const keys[] = {"text", "url", "msg"};
        for (size_t k = 0; k < 3; k++)
            alertd_cfg_receivers_text(file, errs, t[k], NULL, a->pos,
                                      fw_cfg_vpos_find(&a->vpos, keys[k]),
                                      "rocketchat_configs.actions");
    }
}

static void
s_clear_one(struct alertd_cfg_rocketchat *c)
{
    char **d[] = {&c->post_url, &c->r_token, &c->r_token_file, &c->r_token_id, &c->r_token_id_file};
    for (size_t k = 0; k < sizeof d / sizeof d[0]; k++) {
        if (*d[k])
            memset(*d[k], 0, strlen(*d[k])); // tokens are secrets
        free(*d[k]);
        *d[k] = NULL;
    }
    json_decref(c->http_json);
    c->http_json = NULL;
}

void
alertd_cfg_rocketchat_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                            const char *file, struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->rocketchat_len; i++) {
        struct alertd_cfg_rocketchat *c = &r->rocketchat[i];
        s_clear_one(c);
        s_check_one(c, g, file, errs);
        c->http_json = alertd_cfg_http_effective(&c->http, c->pos, g->http_json, file, errs);
    }
}

void
alertd_cfg_rocketchat_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->rocketchat_len; i++)
        s_clear_one(&r->rocketchat[i]);
}

static json_t *
s_json(const struct alertd_cfg_rocketchat *c)
{
    json_t *o = json_pack("{s:b, s:b, s:s}", "send_resolved", c->send_resolved, "short_fields",
                          c->short_fields, "url", c->post_url ? c->post_url : "");
    alertd_cfg_put(o, "token", c->r_token);
    alertd_cfg_put(o, "token_file", c->r_token_file);
    alertd_cfg_put(o, "token_id", c->r_token_id);
    alertd_cfg_put(o, "token_id_file", c->r_token_id_file);
    alertd_cfg_put(o, "channel", c->channel);
    alertd_cfg_put(o, "color", c->color);
    alertd_cfg_put(o, "title", c->title);
    alertd_cfg_put(o, "title_link", c->title_link);
    alertd_cfg_put(o, "text", c->text);
    alertd_cfg_put(o, "emoji", c->emoji);
    alertd_cfg_put(o, "icon_url", c->icon_url);
    alertd_cfg_put(o, "image_url", c->image_url);
    alertd_cfg_put(o, "thumb_url", c->thumb_url);
    if (c->fields_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < c->fields_len; i++) {
            json_t *f = json_object();
            alertd_cfg_put(f, "title", c->fields[i].title);
            alertd_cfg_put(f, "value", c->fields[i].value);
            if (c->fields[i].short_)
                json_object_set_new(f, "short",
                                    json_boolean(strcmp(c->fields[i].short_, "true") == 0));
            json_array_append_new(a, f);
        }
        json_object_set_new(o, "fields", a);
    }
    if (c->actions_len) {
        json_t *a = json_array();
        for (size_t i = 0; i < c->actions_len; i++) {
            json_t *x = json_object();
            alertd_cfg_put(x, "text", c->actions[i].text);
            alertd_cfg_put(x, "url", c->actions[i].url);
            alertd_cfg_put(x, "msg", c->actions[i].msg);
            json_array_append_new(a, x);
        }
        json_object_set_new(o, "actions", a);
    }
    alertd_cfg_http_put(o, c->http_json);
    return o;
}

void
alertd_cfg_rocketchat_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->rocketchat_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->rocketchat_len; i++)
        json_array_append_new(a, s_json(&r->rocketchat[i]));
    json_object_set_new(notify, "rocketchat_configs", a);
}
