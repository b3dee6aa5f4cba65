/*  alertd_cfg_discord.c — discord_configs (see alertd_cfg_discord.h), after Alertmanager
    0.25's config/notifiers.go (DiscordConfig, DefaultDiscordConfig) and config/config.go
    (a missing webhook_url is "no discord webhook URL provided").
*/
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_discord.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"

#define S_NEWER "Alertmanager 0.25 has no such key"

#define T struct alertd_cfg_discord
const struct fw_cfg_field alertd_cfg_discord_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("webhook_url", T, webhook_url),
    F_STR("title", T, title),
    F_STR("message", T, message),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    F_WHY("webhook_url_file", S_NEWER),
    F_WHY("content", S_NEWER),
    F_WHY("username", S_NEWER),
    F_WHY("avatar_url", S_NEWER),
    {NULL},
};
#undef T

// Alertmanager's SecretURL: an absolute http(s) URL with a host.
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
s_check(const char *file, struct fw_cfg_errors *errs, struct alertd_cfg_discord *d)
{
    if (!d->webhook_url || !*d->webhook_url)
        fw_cfg_errors_add(errs, file, d->pos, "no discord webhook URL provided");
    else if (!s_url_ok(d->webhook_url))
        // The URL is a secret (its path holds the webhook's token): only its scheme is named.
        fw_cfg_errors_add(errs, file, d->pos,
                          "discord_configs webhook_url must be an http(s) URL with a host "
                          "(scheme \"%.*s\")",
                          (int)strcspn(d->webhook_url, ":/"), d->webhook_url);
    alertd_cfg_receivers_text(file, errs, &d->title, "{{ template \"discord.default.title\" . }}",
                              d->pos, fw_cfg_vpos_find(&d->vpos, "title"), "discord_configs.title");
    alertd_cfg_receivers_text(file, errs, &d->message,
                              "{{ template \"discord.default.message\" . }}", d->pos,
                              fw_cfg_vpos_find(&d->vpos, "message"), "discord_configs.message");
}

void
alertd_cfg_discord_check(struct alertd_cfg_receiver *r, json_t *global_http, const char *file,
                         struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->discord_len; i++) {
        struct alertd_cfg_discord *d = &r->discord[i];
        s_check(file, errs, d);
        json_decref(d->http_json);
        d->http_json = alertd_cfg_http_effective(&d->http, d->pos, global_http, file, errs);
    }
}

void
alertd_cfg_discord_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->discord_len; i++) {
        json_decref(r->discord[i].http_json);
        r->discord[i].http_json = NULL;
    }
}

void
alertd_cfg_discord_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->discord_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->discord_len; i++) {
        const struct alertd_cfg_discord *d = &r->discord[i];
        json_t *o = json_pack("{s:b, s:s}", "send_resolved", d->send_resolved, "webhook_url",
                              d->webhook_url ? d->webhook_url : "");
        if (d->title)
            json_object_set_new(o, "title", json_string(d->title));
        if (d->message)
            json_object_set_new(o, "message", json_string(d->message));
        alertd_cfg_http_put(o, d->http_json);
        json_array_append_new(a, o);
    }
    json_object_set_new(notify, "discord_configs", a);
}
