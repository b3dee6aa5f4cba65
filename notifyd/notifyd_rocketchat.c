/*  notifyd_rocketchat.c — see notifyd_rocketchat.h. Keys in the order of Alertmanager's
    PostMessage, Attachment, RocketchatAttachmentField and RocketchatAttachmentAction
    structs, emitted as Go's encoding/json emits them: omitempty keys only when not empty,
    the others (a field's short, an action's is_webview and msg_in_chat_window) always.
*/
#include <stdio.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promcfg_http.h"
#include "notifyd_body.h"
#include "notifyd_rocketchat.h"
#include "notifyd_tmpl.h"

#define S_ARRAY "rocketchat_configs"
#define S_MAX_TITLE_RUNES 1024

// The credential `key`, or the file at key_file read now (it wins, as Alertmanager's
// getToken reads the file first): a new string, or NULL with err.
static char *
s_cred(const json_t *config, const char *key, const char *what, fw_err_t *err)
{
    char fkey[32];
    snprintf(fkey, sizeof fkey, "%s_file", key);
    const char *file = json_string_value(json_object_get(config, fkey));
    const char *v = json_string_value(json_object_get(config, key));
    char *out = NULL;
    if (file && *file) {
        if (fw_promcfg_http_read_secret(file, &out, err) != 0)
            return NULL;
    } else if (v && *v) {
        out = fw_strdup(v);
    } else {
        fw_err_set(err, "rocketchat_config without %s", what);
        return NULL;
    }
    // A header value: a line break would end the header (the value is a secret: not shown).
    if (strpbrk(out, "\r\n")) {
        fw_err_set(err, "rocketchat_config %s holds a line break", what);
        memset(out, 0, strlen(out));
        free(out);
        return NULL;
    }
    return out;
}

static void
s_free_secret(char *s)
{
    if (s)
        memset(s, 0, strlen(s));
    free(s);
}

static json_t *
s_fields(const json_t *config, const json_t *data)
{
    bool short_default = json_is_true(json_object_get(config, "short_fields"));
    json_t *out = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(config, "fields"), i, f)
    {
        const json_t *sh = json_object_get(f, "short");
        json_t *o = json_pack("{s:b}", "short", sh ? json_is_true(sh) : short_default);
        notifyd_body_set(o, "title", notifyd_tmpl_key(f, NULL, "title", data), false);
        notifyd_body_set(o, "value", notifyd_tmpl_key(f, NULL, "value", data), false);
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
        // Alertmanager sends every action as a button, whatever the config's type.
        json_t *o = json_pack("{s:s}", "type", "button");
        notifyd_body_set(o, "text", notifyd_tmpl_key(a, NULL, "text", data), false);
        notifyd_body_set(o, "url", notifyd_tmpl_key(a, NULL, "url", data), false);
        json_object_set_new(o, "is_webview", json_false());
        notifyd_body_set(o, "msg", notifyd_tmpl_key(a, NULL, "msg", data), false);
        json_object_set_new(o, "msg_in_chat_window", json_false());
        json_array_append_new(out, o);
    }
    return out;
}

int
notifyd_rocketchat_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                         fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = json_string_value(json_object_get(config, "url"));
    if (!url || !*url) {
        fw_err_set(err, "rocketchat_config without api_url");
        return -1;
    }
    char *token = s_cred(config, "token", "token", err);
    if (!token)
        return -1;
    char *token_id = s_cred(config, "token_id", "token_id", err);
    if (!token_id) {
        s_free_secret(token);
        return -1;
    }
    json_t *att = json_object();
    bool cut = false;
    char *title = notifyd_tmpl_key(config, S_ARRAY, "title", data);
    char *t = notifyd_tmpl_truncate_runes(title, S_MAX_TITLE_RUNES, &cut);
    free(title);
    if (cut)
        fw_warn("rocketchat.title.truncated", "max_runes=%d", S_MAX_TITLE_RUNES);
    notifyd_body_set(att, "title", t, false);
    static const char *const texts[] = {"title_link", "text", "image_url", "thumb_url", "color"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++)
        notifyd_body_set(att, texts[k], notifyd_tmpl_key(config, S_ARRAY, texts[k], data), false);
    json_t *fields = s_fields(config, data);
    if (json_array_size(fields))
        json_object_set(att, "fields", fields);
    json_decref(fields);
    json_t *actions = s_actions(config, data);
    if (json_array_size(actions))
        json_object_set(att, "actions", actions);
    json_decref(actions);
    json_t *msg = json_object();
    notifyd_body_set(msg, "channel", notifyd_tmpl_key(config, S_ARRAY, "channel", data), false);
    notifyd_body_set(msg, "emoji", notifyd_tmpl_key(config, S_ARRAY, "emoji", data), false);
    notifyd_body_set(msg, "avatar", notifyd_tmpl_key(config, S_ARRAY, "icon_url", data), false);
    json_object_set_new(msg, "attachments", json_pack("[o]", att));
    char *body = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(msg);
    out->url = fw_strdup(url);
    out->body = fw_strdup(body);
    free(body);
    (void)notifyd_req_header(out, "X-Auth-Token", token);
    (void)notifyd_req_header(out, "X-User-Id", token_id);
    s_free_secret(token);
    s_free_secret(token_id);
    out->answer = notifyd_rocketchat_answer;
    return 0;
}

void
notifyd_rocketchat_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out)
{
    (void)req;
    memset(out, 0, sizeof *out);
    json_error_t jerr;
    json_t *j = json_loads(body, JSON_DECODE_ANY, &jerr);
    if (!json_is_object(j)) {
        // Alertmanager retries an answer it cannot read (checkResponseError).
        out->verdict = NOTIFYD_ANSWER_RESEND;
        snprintf(out->reason, sizeof out->reason, "%s", "other");
        snprintf(out->detail, sizeof out->detail, "could not unmarshal JSON response \"%.160s\"",
                 body);
    } else if (!json_is_true(json_object_get(j, "success"))) {
        // A 200 that says it failed: a client error, not retried.
        const char *e = json_string_value(json_object_get(j, "error"));
        out->verdict = NOTIFYD_ANSWER_FAILED;
        snprintf(out->reason, sizeof out->reason, "%s", "client_error");
        snprintf(out->detail, sizeof out->detail, "error response from Rocketchat: %.200s",
                 e ? e : "");
    } else {
        out->verdict = NOTIFYD_ANSWER_DELIVERED;
    }
    json_decref(j);
}
