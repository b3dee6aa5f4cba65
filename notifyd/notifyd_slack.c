/*  notifyd_slack.c — see notifyd_slack.h. Keys are emitted as Go's encoding/json emits
    Alertmanager's request structs: omitempty ones only when non-empty, the others always.
*/
#include <stdio.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "notifyd_slack.h"
#include "notifyd_body.h"
#include "notifyd_tmpl.h"
#include "notifyd_secret.h"

#define S_MAX_TITLE_RUNES 1024

void
notifyd_slack_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out)
{
    (void)req;
    memset(out, 0, sizeof *out);
    out->verdict = NOTIFYD_ANSWER_DELIVERED;
    // Only a JSON object with "ok" says anything: an incoming webhook answers the text "ok".
    json_t *j = json_loads(body ? body : "", JSON_DISABLE_EOF_CHECK, NULL);
    const json_t *ok = json_object_get(j, "ok");
    if (json_is_boolean(ok) && !json_is_true(ok)) {
        out->verdict = NOTIFYD_ANSWER_FAILED;
        snprintf(out->reason, sizeof out->reason, "client_error");
        const char *e = json_string_value(json_object_get(j, "error"));
        snprintf(out->detail, sizeof out->detail, "error response from Slack: %.200s", e ? e : "");
    }
    json_decref(j);
}

static json_t *
s_fields(const json_t *config, const json_t *data)
{
    const json_t *fields = json_object_get(config, "fields");
    bool short_default = json_is_true(json_object_get(config, "short_fields"));
    json_t *out = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(fields, i, f)
    {
        json_t *o = json_object();
        notifyd_body_set(o, "title", notifyd_tmpl_key(f, NULL, "title", data), false);
        notifyd_body_set(o, "value", notifyd_tmpl_key(f, NULL, "value", data), false);
        const json_t *sh = json_object_get(f, "short");
        json_object_set_new(o, "short", json_boolean(sh ? json_is_true(sh) : short_default));
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *
s_actions(const json_t *config, const json_t *data)
{
    json_t *out = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(config, "actions"), i, a)
    {
        json_t *o = json_object();
        static const char *const keys[] = {"type", "text", "url", "style", "name", "value"};
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            notifyd_body_set(o, keys[k], notifyd_tmpl_key(a, NULL, keys[k], data), false);
        const json_t *c = json_object_get(a, "confirm");
        if (json_is_object(c)) {
            json_t *co = json_object();
            static const char *const ck[] = {"text", "title", "ok_text", "dismiss_text"};
            for (size_t k = 0; k < sizeof ck / sizeof ck[0]; k++)
                notifyd_body_set(co, ck[k], notifyd_tmpl_key(c, NULL, ck[k], data), false);
            json_object_set_new(o, "confirm", co);
        }
        json_array_append_new(out, o);
    }
    return out;
}

int
notifyd_slack_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                    fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    char *from_file = NULL;
    const char *url = notifyd_secret(config, "slack", "api_url", &from_file, err);
    if (!url)
        return -1;
    json_t *att = json_object();
    bool cut = false;
    char *title = notifyd_tmpl_key(config, "slack_configs", "title", data);
    char *t = notifyd_tmpl_truncate_runes(title, S_MAX_TITLE_RUNES, &cut);
    free(title);
    if (cut)
        fw_warn("slack.title.truncated", "max_runes=%d", S_MAX_TITLE_RUNES);
    notifyd_body_set(att, "title", t, false);
    notifyd_body_set(att, "title_link",
                     notifyd_tmpl_key(config, "slack_configs", "title_link", data), false);
    notifyd_body_set(att, "pretext", notifyd_tmpl_key(config, "slack_configs", "pretext", data),
                     false);
    notifyd_body_set(att, "text", notifyd_tmpl_key(config, "slack_configs", "text", data), true);
    notifyd_body_set(att, "fallback", notifyd_tmpl_key(config, "slack_configs", "fallback", data),
                     true);
    notifyd_body_set(att, "callback_id",
                     notifyd_tmpl_key(config, "slack_configs", "callback_id", data), true);
    json_t *fields = s_fields(config, data);
    if (json_array_size(fields))
        json_object_set(att, "fields", fields);
    json_decref(fields);
    json_t *actions = s_actions(config, data);
    if (json_array_size(actions))
        json_object_set(att, "actions", actions);
    json_decref(actions);
    notifyd_body_set(att, "image_url", notifyd_tmpl_key(config, "slack_configs", "image_url", data),
                     false);
    notifyd_body_set(att, "thumb_url", notifyd_tmpl_key(config, "slack_configs", "thumb_url", data),
                     false);
    notifyd_body_set(att, "footer", notifyd_tmpl_key(config, "slack_configs", "footer", data),
                     true);
    notifyd_body_set(att, "color", notifyd_tmpl_key(config, "slack_configs", "color", data), false);
    const json_t *md = json_object_get(config, "mrkdwn_in");
    json_object_set_new(att, "mrkdwn_in",
                        json_array_size(md) ? json_deep_copy(md)
                                            : json_pack("[s,s,s]", "fallback", "pretext", "text"));
    json_t *req = json_object();
    notifyd_body_set(req, "channel", notifyd_tmpl_key(config, "slack_configs", "channel", data),
                     false);
    notifyd_body_set(req, "username", notifyd_tmpl_key(config, "slack_configs", "username", data),
                     false);
    notifyd_body_set(req, "icon_emoji",
                     notifyd_tmpl_key(config, "slack_configs", "icon_emoji", data), false);
    notifyd_body_set(req, "icon_url", notifyd_tmpl_key(config, "slack_configs", "icon_url", data),
                     false);
    if (json_is_true(json_object_get(config, "link_names")))
        json_object_set_new(req, "link_names", json_true());
    json_object_set_new(req, "attachments", json_pack("[o]", att));
    char *body = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(req);
    out->url = fw_strdup(url);
    out->body = fw_strdup(body);
    out->answer = notifyd_slack_answer;
    free(body);
    free(from_file);
    return 0;
}
