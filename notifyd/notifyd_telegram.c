/*  notifyd_telegram.c — see notifyd_telegram.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promcfg_http.h"
#include "notifyd_telegram.h"
#include "notifyd_tmpl.h"
#include "notifyd_secret.h"

#define S_DEFAULT "telegram.default.message"

void
notifyd_telegram_answer(struct notifyd_req *req, const char *body, struct notifyd_answer *out)
{
    (void)req;
    memset(out, 0, sizeof *out);
    json_t *j = json_loads(body ? body : "", 0, NULL);
    if (j && json_is_true(json_object_get(j, "ok"))) {
        out->verdict = NOTIFYD_ANSWER_DELIVERED;
    } else {
        out->verdict = NOTIFYD_ANSWER_FAILED;
        snprintf(out->reason, sizeof out->reason, "api_error");
        const char *d = json_string_value(json_object_get(j, "description"));
        snprintf(out->detail, sizeof out->detail, "telegram: %s",
                 d ? d : (j ? "answer without \"ok\": true" : "answer is not JSON"));
    }
    json_decref(j);
}

// chat_id_file's content, read at each notification as Alertmanager (0.28+) reads it: an
// int64 after trimming white space, written back as Go formats it into buf.
static int
s_chat_from_file(const char *path, char *buf, size_t cap, fw_err_t *err)
{
    char *text = NULL;
    if (fw_promcfg_http_read_secret(path, &text, err) != 0)
        return -1;
    char *end = NULL;
    errno = 0;
    long long id = strtoll(text, &end, 10);
    bool ok = errno == 0 && end != text && *end == '\0';
    free(text);
    if (!ok) {
        fw_err_set(err, "could not parse chat_id from %s", path);
        return -1;
    }
    snprintf(buf, cap, "%lld", id);
    return 0;
}

int
notifyd_telegram_build(const json_t *config, const json_t *data, struct notifyd_req *out,
                       fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    const char *url = json_string_value(json_object_get(config, "api_url"));
    const char *chat = json_string_value(json_object_get(config, "chat_id"));
    char chat_buf[32];
    const char *chat_file = json_string_value(json_object_get(config, "chat_id_file"));
    if (chat_file && *chat_file) {
        if (s_chat_from_file(chat_file, chat_buf, sizeof chat_buf, err) != 0)
            return -1;
        chat = chat_buf;
    }
    if (!url || !*url || !chat || !*chat || strcmp(chat, "0") == 0) {
        fw_err_set(err, "telegram_config without api_url or chat_id");
        return -1;
    }
    char *from_file = NULL;
    const char *token = notifyd_secret(config, "telegram", "bot_token", &from_file, err);
    if (!token)
        return -1;
    const char *pm = json_string_value(json_object_get(config, "parse_mode"));
    if (!pm)
        pm = "HTML";
    const char *text = json_string_value(json_object_get(config, "message"));
    char *msg = strcmp(pm, "HTML") == 0 ? notifyd_tmpl_html("message", text, data, S_DEFAULT)
                                        : notifyd_tmpl_text("message", text, data, S_DEFAULT);
    bool cut = false;
    char *cutmsg = notifyd_tmpl_truncate_runes(msg, NOTIFYD_TELEGRAM_MAX_MESSAGE_RUNES, &cut);
    free(msg);
    if (cut)
        fw_warn("telegram.message.truncated", "max_runes=%d", NOTIFYD_TELEGRAM_MAX_MESSAGE_RUNES);
    json_t *b = json_object();
    json_object_set_new(b, "chat_id", json_string(chat));
    if (json_is_true(json_object_get(config, "disable_notifications")))
        json_object_set_new(b, "disable_notification", json_string("true"));
    json_object_set_new(b, "disable_web_page_preview", json_string("true"));
    json_int_t thread = json_integer_value(json_object_get(config, "message_thread_id"));
    if (thread) { // telebot sends it only when set, as a string as its other parameters
        char t[32];
        snprintf(t, sizeof t, "%lld", (long long)thread);
        json_object_set_new(b, "message_thread_id", json_string(t));
    }
    if (*pm)
        json_object_set_new(b, "parse_mode", json_string(pm));
    json_object_set_new(b, "text", json_string(cutmsg));
    free(cutmsg);
    char *body = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(b);
    // telebot: URL + "/bot" + token + "/" + method, the api_url as written.
    out->url = fw_asprintf("%s/bot%s/sendMessage", url, token);
    free(from_file);
    out->body = fw_asprintf("%s\n", body);
    free(body);
    out->answer = notifyd_telegram_answer;
    return 0;
}
