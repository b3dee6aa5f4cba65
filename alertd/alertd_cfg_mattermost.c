/*  alertd_cfg_mattermost.c — mattermost_configs (see alertd_cfg_mattermost.h): the table
    after upstream's notify/mattermost/config.go, the checks after its UnmarshalYAML methods
    and config.go's Validate.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_mattermost.h"
#include "alertd_cfg_receivers.h"
#include "fw_mem.h"

// The attachment keys, in the order of upstream's attachment struct (less fields).
static const char *const s_att_keys[ALERTD_CFG_MM_ATT_TEXTS] = {
    "fallback", "color",      "pretext",   "text",   "author_name", "author_link", "author_icon",
    "title",    "title_link", "thumb_url", "footer", "footer_icon", "image_url",
};

// The defaults of the top-level texts (DefaultMattermostConfig); NULL: none.
static const char *const s_att_defaults[ALERTD_CFG_MM_ATT_TEXTS] = {
    [0] = "{{ template \"mattermost.default.fallback\" . }}",
    [1] = "{{ template \"mattermost.default.color\" . }}",
    [3] = "{{ template \"mattermost.default.text\" . }}",
    [7] = "{{ template \"mattermost.default.title\" . }}",
    [8] = "{{ template \"mattermost.default.titlelink\" . }}",
};

#define T struct alertd_cfg_mm_field
static const struct fw_cfg_field s_field_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("title", T, title),
    F_STR("value", T, value),
    F_STR("short", T, short_),
    {NULL},
};
#undef T

#define S_FIELDS(T, m)                                                                             \
    {                                                                                              \
        .key = "fields", .type = FW_CFG_LIST, .off = offsetof(T, m.fields),                        \
        .count_off = offsetof(T, m.fields_len), .elem_size = sizeof(struct alertd_cfg_mm_field),   \
        .child = s_field_fields                                                                    \
    }
#define S_ATT_TEXTS(T, m)                                                                          \
    F_STR("fallback", T, m.text[0]), F_STR("color", T, m.text[1]), F_STR("pretext", T, m.text[2]), \
        F_STR("text", T, m.text[3]), F_STR("author_name", T, m.text[4]),                           \
        F_STR("author_link", T, m.text[5]), F_STR("author_icon", T, m.text[6]),                    \
        F_STR("title", T, m.text[7]), F_STR("title_link", T, m.text[8]),                           \
        F_STR("thumb_url", T, m.text[9]), F_STR("footer", T, m.text[10]),                          \
        F_STR("footer_icon", T, m.text[11]), F_STR("image_url", T, m.text[12])

// An element of `attachments`: the same keys (the element is a struct alertd_cfg_mm_att,
// wrapped so the table macros name its members as they name the top level's).
struct s_att_wrap {
    struct alertd_cfg_mm_att a;
};
#define T struct s_att_wrap
static const struct fw_cfg_field s_att_fields[] = {
    F_POS(T, a.pos), F_VPOS(T, a.vpos), S_ATT_TEXTS(T, a), S_FIELDS(T, a), {NULL},
};
#undef T

#define T struct alertd_cfg_mm_props
static const struct fw_cfg_field s_props_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("card", T, card),
    {NULL},
};
#undef T

#define T struct alertd_cfg_mm_priority
static const struct fw_cfg_field s_priority_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_STR("priority", T, priority),
    F_BOOL("requested_ack", T, requested_ack, "false"),
    F_BOOL("persistent_notifications", T, persistent_notifications, "false"),
    {NULL},
};
#undef T

#define T struct alertd_cfg_mattermost
const struct fw_cfg_field alertd_cfg_mattermost_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("webhook_url", T, webhook_url),
    F_STR("webhook_url_file", T, webhook_url_file),
    F_STR("channel", T, channel),
    F_STR("username", T, username),
    F_STR("icon_url", T, icon_url),
    F_STR("icon_emoji", T, icon_emoji),
    F_STR("type", T, type),
    S_ATT_TEXTS(T, att),
    S_FIELDS(T, att),
    {.key = "attachments",
     .type = FW_CFG_LIST,
     .off = offsetof(T, attachments),
     .count_off = offsetof(T, attachments_len),
     .elem_size = sizeof(struct alertd_cfg_mm_att),
     .child = s_att_fields},
    {.key = "props", .type = FW_CFG_STRUCT, .off = offsetof(T, props), .child = s_props_fields},
    {.key = "priority",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, priority),
     .child = s_priority_fields},
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

static void
s_text(const char *file, struct fw_cfg_errors *errs, char **v, const char *def,
       struct fw_cfg_pos pos, const struct fw_cfg_vpos_list *vpos, const char *key)
{
    char what[80];
    snprintf(what, sizeof what, "mattermost_configs.%s", key);
    alertd_cfg_receivers_text(file, errs, v, def, pos, fw_cfg_vpos_find(vpos, key), what);
}

// An attachment's texts and fields; defaults only for the top-level one.
static void
s_check_att(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_mm_att *a,
            struct fw_cfg_pos pos, const struct fw_cfg_vpos_list *vpos, bool top)
{
    for (size_t k = 0; k < ALERTD_CFG_MM_ATT_TEXTS; k++)
        s_text(file, errs, &a->text[k], top ? s_att_defaults[k] : NULL, pos, vpos, s_att_keys[k]);
    for (size_t i = 0; i < a->fields_len; i++) {
        struct alertd_cfg_mm_field *f = &a->fields[i];
        // As upstream's MattermostField.UnmarshalYAML.
        if (!alertd_cfg_set(f->title))
            fw_cfg_errors_add(errs, file, f->pos,
                              "missing title in Mattermost field configuration");
        if (!alertd_cfg_set(f->value))
            fw_cfg_errors_add(errs, file, f->pos,
                              "missing value in Mattermost field configuration");
        s_text(file, errs, &f->title, NULL, f->pos, &f->vpos, "title");
        s_text(file, errs, &f->value, NULL, f->pos, &f->vpos, "value");
        if (f->short_ && strcmp(f->short_, "true") != 0 && strcmp(f->short_, "false") != 0)
            fw_cfg_errors_add(errs, file, f->pos, "short: not a boolean: \"%s\"", f->short_);
    }
}

static void
s_clear_one(struct alertd_cfg_mattermost *c)
{
    if (c->r_url)
        memset(c->r_url, 0, strlen(c->r_url)); // a secret
    free(c->r_url);
    free(c->r_url_file);
    c->r_url = c->r_url_file = NULL;
    json_decref(c->http_json);
    c->http_json = NULL;
}

static void
s_check_one(struct alertd_cfg_mattermost *c, const struct alertd_cfg_global *g, const char *file,
            struct fw_cfg_errors *errs)
{
    bool own_url = alertd_cfg_set(c->webhook_url), own_file = alertd_cfg_set(c->webhook_url_file);
    if (own_url && own_file)
        fw_cfg_errors_add(errs, file, c->pos,
                          "at most one of webhook_url & webhook_url_file must be configured");
    if (own_url || own_file) {
        c->r_url = own_url ? fw_strdup(c->webhook_url) : NULL;
        c->r_url_file = own_file ? fw_strdup(c->webhook_url_file) : NULL;
    } else {
        // As config.go: both global keys are copied (the URL is used when set).
        c->r_url =
            alertd_cfg_set(g->mattermost_webhook_url) ? fw_strdup(g->mattermost_webhook_url) : NULL;
        c->r_url_file = alertd_cfg_set(g->mattermost_webhook_url_file)
                            ? fw_strdup(g->mattermost_webhook_url_file)
                            : NULL;
    }
    if (c->r_url)
        alertd_cfg_receivers_http_url(file, errs, c->pos, c->r_url, "in mattermost webhook_url");
    s_text(file, errs, &c->channel, NULL, c->pos, &c->vpos, "channel");
    s_text(file, errs, &c->username, "{{ template \"mattermost.default.username\" . }}", c->pos,
           &c->vpos, "username");
    s_text(file, errs, &c->icon_url, NULL, c->pos, &c->vpos, "icon_url");
    s_text(file, errs, &c->icon_emoji, NULL, c->pos, &c->vpos, "icon_emoji");
    s_text(file, errs, &c->type, NULL, c->pos, &c->vpos, "type");
    s_check_att(file, errs, &c->att, c->pos, &c->vpos, true);
    for (size_t i = 0; i < c->attachments_len; i++) {
        struct alertd_cfg_mm_att *a = &c->attachments[i];
        s_check_att(file, errs, a, a->pos, &a->vpos, false);
    }
    s_text(file, errs, &c->props.card, NULL, c->props.pos, &c->props.vpos, "card");
    s_text(file, errs, &c->priority.priority, NULL, c->priority.pos, &c->priority.vpos, "priority");
}

void
alertd_cfg_mattermost_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                            const char *file, struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->mattermost_len; i++) {
        struct alertd_cfg_mattermost *c = &r->mattermost[i];
        s_clear_one(c);
        s_check_one(c, g, file, errs);
        c->http_json = alertd_cfg_http_effective(&c->http, c->pos, g->http_json, file, errs);
    }
}

void
alertd_cfg_mattermost_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->mattermost_len; i++)
        s_clear_one(&r->mattermost[i]);
}

static void
s_put_att(json_t *o, const struct alertd_cfg_mm_att *a)
{
    for (size_t k = 0; k < ALERTD_CFG_MM_ATT_TEXTS; k++)
        alertd_cfg_put(o, s_att_keys[k], a->text[k]);
    if (!a->fields_len)
        return;
    json_t *fs = json_array();
    for (size_t i = 0; i < a->fields_len; i++) {
        json_t *f = json_object();
        alertd_cfg_put(f, "title", a->fields[i].title);
        alertd_cfg_put(f, "value", a->fields[i].value);
        if (a->fields[i].short_)
            json_object_set_new(f, "short", json_boolean(strcmp(a->fields[i].short_, "true") == 0));
        json_array_append_new(fs, f);
    }
    json_object_set_new(o, "fields", fs);
}

static json_t *
s_json(const struct alertd_cfg_mattermost *c)
{
    json_t *o = json_pack("{s:b}", "send_resolved", c->send_resolved);
    alertd_cfg_put(o, "webhook_url", c->r_url);
    alertd_cfg_put(o, "webhook_url_file", c->r_url_file);
    alertd_cfg_put(o, "channel", c->channel);
    alertd_cfg_put(o, "username", c->username);
    alertd_cfg_put(o, "icon_url", c->icon_url);
    alertd_cfg_put(o, "icon_emoji", c->icon_emoji);
    alertd_cfg_put(o, "type", c->type);
    s_put_att(o, &c->att);
    if (c->attachments_len) {
        json_t *as = json_array();
        for (size_t i = 0; i < c->attachments_len; i++) {
            json_t *a = json_object();
            s_put_att(a, &c->attachments[i]);
            json_array_append_new(as, a);
        }
        json_object_set_new(o, "attachments", as);
    }
    if (alertd_cfg_set(c->props.card))
        json_object_set_new(o, "props", json_pack("{s:s}", "card", c->props.card));
    if (alertd_cfg_set(c->priority.priority))
        json_object_set_new(o, "priority",
                            json_pack("{s:s, s:b, s:b}", "priority", c->priority.priority,
                                      "requested_ack", c->priority.requested_ack,
                                      "persistent_notifications",
                                      c->priority.persistent_notifications));
    alertd_cfg_http_put(o, c->http_json);
    return o;
}

void
alertd_cfg_mattermost_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->mattermost_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->mattermost_len; i++)
        json_array_append_new(a, s_json(&r->mattermost[i]));
    json_object_set_new(notify, "mattermost_configs", a);
}
