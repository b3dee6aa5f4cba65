/*  alertd_cfg_telegram.c — telegram_configs (see alertd_cfg_telegram.h): the table after
    Alertmanager's TelegramConfig, the checks after its UnmarshalYAML and config.go.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_cfg_fields.h"
#include "alertd_cfg_receivers.h"
#include "alertd_cfg_telegram.h"
#include "fw_mem.h"

#define T struct alertd_cfg_telegram
const struct fw_cfg_field alertd_cfg_telegram_fields[] = {
    F_POS(T, pos),
    F_VPOS(T, vpos),
    F_BOOL("send_resolved", T, send_resolved, "true"),
    F_STR("api_url", T, api_url),
    F_STR("bot_token", T, bot_token),
    F_STR("bot_token_file", T, bot_token_file),
    F_STR("chat_id", T, chat_id),
    F_STR("chat_id_file", T, chat_id_file),
    {.key = "message_thread_id", .type = FW_CFG_INT, .off = offsetof(T, message_thread_id)},
    F_STR("message", T, message),
    F_BOOL("disable_notifications", T, disable_notifications, "false"),
    F_STR("parse_mode", T, parse_mode),
    {.key = "http_config",
     .type = FW_CFG_STRUCT,
     .off = offsetof(T, http),
     .child = alertd_cfg_http_fields},
    {NULL},
};
#undef T

// chat_id as Go's YAML reads an int64 (decimal, optional sign); 0 and absent are "missing".
static bool
s_chat_id(const char *s, long long *out)
{
    if (!alertd_cfg_set(s))
        return false;
    char *end = NULL;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0' && end != s;
}

static void
s_check_one(struct alertd_cfg_telegram *t, const struct alertd_cfg_global *g, const char *file,
            struct fw_cfg_errors *errs)
{
    free(t->token);
    free(t->token_file);
    free(t->url);
    t->token = t->token_file = t->url = NULL;
    alertd_cfg_receivers_pick(file, errs, t->pos, "bot_token", t->bot_token, t->bot_token_file,
                              g->telegram_bot_token, g->telegram_bot_token_file, &t->token,
                              &t->token_file);
    long long id = 0;
    if (t->chat_id && *t->chat_id && !s_chat_id(t->chat_id, &id))
        fw_cfg_errors_add(errs, file, t->pos, "chat_id: not an integer: \"%s\"", t->chat_id);
    else if (id != 0 && alertd_cfg_set(t->chat_id_file))
        fw_cfg_errors_add(errs, file, t->pos,
                          "at most one of chat_id & chat_id_file must be configured");
    else if (id == 0 && !alertd_cfg_set(t->chat_id_file))
        // Alertmanager 0.25's text; chat_id_file came later ("missing chat_id or chat_id_file").
        fw_cfg_errors_add(errs, file, t->pos, "missing chat_id on telegram_config");
    if (t->parse_mode && *t->parse_mode && strcmp(t->parse_mode, "Markdown") != 0 &&
        strcmp(t->parse_mode, "MarkdownV2") != 0 && strcmp(t->parse_mode, "HTML") != 0)
        fw_cfg_errors_add(errs, file, t->pos,
                          "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, "
                          "HTML or empty string");
    const char *url = alertd_cfg_set(t->api_url)            ? t->api_url
                      : alertd_cfg_set(g->telegram_api_url) ? g->telegram_api_url
                                                            : ALERTD_CFG_TELEGRAM_URL;
    if (alertd_cfg_receivers_http_url(file, errs, t->pos, url, "for URL"))
        t->url = fw_strdup(url);
    alertd_cfg_receivers_text(file, errs, &t->message,
                              "{{ template \"telegram.default.message\" . }}", t->pos,
                              fw_cfg_vpos_find(&t->vpos, "message"), "telegram_configs.message");
}

void
alertd_cfg_telegram_check(struct alertd_cfg_receiver *r, const struct alertd_cfg_global *g,
                          const char *file, struct fw_cfg_errors *errs)
{
    for (size_t i = 0; i < r->telegram_len; i++) {
        struct alertd_cfg_telegram *t = &r->telegram[i];
        s_check_one(t, g, file, errs);
        json_decref(t->http_json);
        t->http_json = alertd_cfg_http_effective(&t->http, t->pos, g->http_json, file, errs);
    }
}

void
alertd_cfg_telegram_clear(struct alertd_cfg_receiver *r)
{
    for (size_t i = 0; i < r->telegram_len; i++) {
        struct alertd_cfg_telegram *t = &r->telegram[i];
        free(t->token);
        free(t->token_file);
        free(t->url);
        t->token = t->token_file = t->url = NULL;
        json_decref(t->http_json);
        t->http_json = NULL;
    }
}

void
alertd_cfg_telegram_notify(const struct alertd_cfg_receiver *r, json_t *notify)
{
    if (!r->telegram_len)
        return;
    json_t *a = json_array();
    for (size_t i = 0; i < r->telegram_len; i++) {
        const struct alertd_cfg_telegram *t = &r->telegram[i];
        long long id = 0;
        (void)s_chat_id(t->chat_id, &id);
        char chat[32];
        snprintf(chat, sizeof chat, "%lld", id); // as Go formats the int64 it read
        json_t *o =
            json_pack("{s:b, s:b, s:s, s:s}", "send_resolved", t->send_resolved,
                      "disable_notifications", t->disable_notifications, "parse_mode",
                      t->parse_mode ? t->parse_mode : "HTML", "api_url", t->url ? t->url : "");
        if (alertd_cfg_set(t->chat_id_file))
            json_object_set_new(o, "chat_id_file", json_string(t->chat_id_file));
        else
            json_object_set_new(o, "chat_id", json_string(chat));
        if (t->message_thread_id)
            json_object_set_new(o, "message_thread_id", json_integer(t->message_thread_id));
        if (t->token)
            json_object_set_new(o, "bot_token", json_string(t->token));
        if (t->token_file)
            json_object_set_new(o, "bot_token_file", json_string(t->token_file));
        if (t->message)
            json_object_set_new(o, "message", json_string(t->message));
        alertd_cfg_http_put(o, t->http_json);
        json_array_append_new(a, o);
    }
    json_object_set_new(notify, "telegram_configs", a);
}
