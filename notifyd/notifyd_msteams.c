/*  notifyd_msteams.c — see notifyd_msteams.h. Keys in the order of Alertmanager's structs;
    none of the Teams texts is omitempty, so every text is sent, empty or not.
*/
#include <string.h>

#include "fw_mem.h"
#include "notifyd_msteams.h"
#include "notifyd_tmpl.h"

static const char *
s_url(const json_t *config, fw_err_t *err, const char *kind)
{
    const char *url = json_string_value(json_object_get(config, "webhook_url"));
    if (!url || !*url) {
        fw_err_set(err, "%s without webhook_url", kind);
        return NULL;
    }
    return url;
}

static bool
s_firing(const json_t *data)
{
    const char *st = json_string_value(json_object_get(data, "status"));
    return st && strcmp(st, "firing") == 0;
}

static int
s_finish(json_t *msg, const char *url, struct notifyd_req *out)
{
    char *body = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(msg);
    out->url = fw_strdup(url);
    out->body = fw_strdup(body);
    free(body);
    return 0;
}

int
notifyd_msteams_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                      fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = s_url(config, err, "msteams_config");
    if (!url)
        return -1;
    json_t *m = json_object();
    json_object_set_new(m, "@context", json_string("http://schema.org/extensions"));
    json_object_set_new(m, "type", json_string("MessageCard"));
    char *t = notifyd_tmpl_key(config, "msteams_configs", "title", data);
    json_object_set_new(m, "title", json_string(t));
    free(t);
    t = notifyd_tmpl_key(config, "msteams_configs", "summary", data);
    json_object_set_new(m, "summary", json_string(t));
    free(t);
    t = notifyd_tmpl_key(config, "msteams_configs", "text", data);
    json_object_set_new(m, "text", json_string(t));
    free(t);
    json_object_set_new(m, "themeColor", json_string(s_firing(data) ? "8C1A1A" : "2DC72D"));
    return s_finish(m, url, out);
}

int
notifyd_msteamsv2_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                        fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = s_url(config, err, "msteamsv2_config");
    if (!url)
        return -1;
    char *title = notifyd_tmpl_key(config, "msteamsv2_configs", "title", data);
    char *text = notifyd_tmpl_key(config, "msteamsv2_configs", "text", data);
    json_t *head = json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "type", "TextBlock", "text",
                             title, "weight", "Bolder", "size", "Medium", "wrap", 1, "style",
                             "heading", "color", s_firing(data) ? "Attention" : "Good");
    json_t *body = json_pack("{s:s, s:s, s:b}", "type", "TextBlock", "text", text, "wrap", 1);
    free(title);
    free(text);
    json_t *content =
        json_pack("{s:s, s:s, s:s, s:[o,o], s:{s:s}}", "$schema",
                  "http://adaptivecards.io/schemas/adaptive-card.json", "type", "AdaptiveCard",
                  "version", "1.2", "body", head, body, "msteams", "width", "full");
    json_t *m =
        json_pack("{s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "attachments", "contentType",
                  "application/vnd.microsoft.card.adaptive", "contentUrl", "content", content);
    return s_finish(m, url, out);
}
