/*  notifyd_mattermost.c — see notifyd_mattermost.h. Keys in the order of upstream's request
    and attachment structs, all omitempty: a text only when not empty, a field's short only
    when the config gives it.
*/
#include <ctype.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "notifyd_body.h"
#include "notifyd_mattermost.h"
#include "notifyd_tmpl.h"
#include "notifyd_secret.h"

#define S_ARRAY "mattermost_configs"
#define S_MAX_TEXT_RUNES 16383

static const char *const s_att_keys[] = {
    "fallback", "color",      "pretext",   "text",   "author_name", "author_link", "author_icon",
    "title",    "title_link", "thumb_url", "footer", "footer_icon", "image_url",
};

// One attachment from src's keys (array: the defaults of the top-level texts; NULL for a
// configured attachment); text: the top-level text already rendered, or NULL.
static json_t *
s_attachment(const json_t *src, const char *array, const json_t *data, char *text)
{
    json_t *a = json_object();
    for (size_t k = 0; k < sizeof s_att_keys / sizeof s_att_keys[0]; k++) {
        const char *key = s_att_keys[k];
        char *v = text && strcmp(key, "text") == 0 ? text : notifyd_tmpl_key(src, array, key, data);
        notifyd_body_set(a, key, v, false);
        if (strcmp(key, "title_link") == 0 && json_array_size(json_object_get(src, "fields"))) {
            json_t *fs = json_array();
            size_t i;
            json_t *f;
            json_array_foreach(json_object_get(src, "fields"), i, f)
            {
                json_t *o = json_object();
                notifyd_body_set(o, "title", notifyd_tmpl_key(f, NULL, "title", data), false);
                notifyd_body_set(o, "value", notifyd_tmpl_key(f, NULL, "value", data), false);
                const json_t *sh = json_object_get(f, "short");
                if (json_is_boolean(sh))
                    json_object_set_new(o, "short", json_boolean(json_is_true(sh)));
                json_array_append_new(fs, o);
            }
            json_object_set_new(a, "fields", fs);
        }
    }
    return a;
}

static void
s_lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static json_t *
s_priority(const json_t *p, const json_t *data)
{
    char *prio = notifyd_tmpl_key(p, NULL, "priority", data);
    s_lower(prio);
    if (strcmp(prio, "urgent") != 0 && strcmp(prio, "important") != 0 &&
        strcmp(prio, "standard") != 0) {
        fw_warn("mattermost.priority.invalid", "priority=\"%s\" sent=standard", prio);
        free(prio);
        prio = fw_strdup("standard");
    }
    bool ack = json_is_true(json_object_get(p, "requested_ack")) && strcmp(prio, "standard") != 0;
    bool persistent =
        json_is_true(json_object_get(p, "persistent_notifications")) && strcmp(prio, "urgent") == 0;
    json_t *o = json_pack("{s:s}", "priority", prio);
    free(prio);
    if (ack)
        json_object_set_new(o, "requested_ack", json_true());
    if (persistent)
        json_object_set_new(o, "persistent_notifications", json_true());
    return o;
}

int
notifyd_mattermost_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                         fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    char *from_file = NULL;
    const char *url = notifyd_secret(config, "mattermost", "webhook_url", &from_file, err);
    if (!url)
        return -1;
    char *text = notifyd_tmpl_key(config, S_ARRAY, "text", data);
    json_t *req = json_object();
    const json_t *atts = json_object_get(config, "attachments");
    json_t *list = json_array();
    if (json_array_size(atts)) {
        size_t i;
        json_t *a;
        json_array_foreach(atts, i, a)
            json_array_append_new(list, s_attachment(a, NULL, data, NULL));
        bool cut = false;
        char *t = notifyd_tmpl_truncate_runes(text, S_MAX_TEXT_RUNES, &cut);
        free(text);
        if (cut)
            fw_warn("mattermost.text.truncated", "max_runes=%d", S_MAX_TEXT_RUNES);
        notifyd_body_set(req, "text", t, false);
    } else {
        json_array_append_new(list, s_attachment(config, S_ARRAY, data, text));
    }
    static const char *const top[] = {"channel", "username", "icon_url", "icon_emoji"};
    for (size_t k = 0; k < sizeof top / sizeof top[0]; k++)
        notifyd_body_set(req, top[k], notifyd_tmpl_key(config, S_ARRAY, top[k], data), false);
    json_object_set_new(req, "attachments", list);
    notifyd_body_set(req, "type", notifyd_tmpl_key(config, S_ARRAY, "type", data), false);
    const json_t *props = json_object_get(config, "props");
    if (json_is_object(props)) {
        json_t *p = json_object();
        notifyd_body_set(p, "card", notifyd_tmpl_key(props, NULL, "card", data), false);
        json_object_set_new(req, "props", p);
    }
    const json_t *prio = json_object_get(config, "priority");
    if (json_is_object(prio))
        json_object_set_new(req, "priority", s_priority(prio, data));
    char *body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(req);
    out->url = fw_strdup(url);
    out->body = fw_strdup(body);
    free(body);
    free(from_file);
    return 0;
}
