/*  notifyd_telegram.h — Telegram Bot API sendMessage requests, as Alertmanager 0.25's
    notify/telegram sends them through telebot v3 (captured from the Debian
    prometheus-alertmanager 0.25): POST {api_url}/bot{token}/sendMessage, Content-Type
    application/json, a JSON object of strings with keys sorted: chat_id (the int64 as
    decimal), disable_notification "true" only when disable_notifications,
    disable_web_page_preview "true", parse_mode when not empty (default HTML), text. The
    text is the message template (default telegram.default.message), rendered in HTML mode
    (html/template's escaping) when parse_mode is HTML, cut to 4096 runes ("…" last) as
    Alertmanager cuts it.

    The bot token sits in the URL path: notifyd logs only a URL's origin, never the path.
    The answer is judged as telebot judges it: a 2xx whose body is not {"ok":true,...} is a
    failed delivery (reason api_error, Telegram's description as detail). Alertmanager
    retries every failure until the notification's deadline; notifyd retries 5xx, 429 and
    connection errors, and fails 4xx (chat not found, bot blocked) at once.
*/
#ifndef NOTIFYD_TELEGRAM_H
#define NOTIFYD_TELEGRAM_H

#include <jansson.h>

#include "fw_err.h"
#include "notifyd_req.h"

#define NOTIFYD_TELEGRAM_MAX_MESSAGE_RUNES 4096

// Build the request for data (a payload as notifyd_tmpl_data returns it). `config` is one
// element of NOTIFY's telegram_configs (alertd_cfg_telegram.h): bot_token, or bot_token_file
// read here; api_url, chat_id, parse_mode, disable_notifications, message. 0, or -1 with err
// (no token, an unreadable token file, no chat_id).
int notifyd_telegram_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                           fw_err_t *err);

// The answer function of those requests (notifyd_req.h): {"ok":true} delivered, else failed.
void notifyd_telegram_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out);

#endif
