/*  check_notifyd_telegram.c — the Telegram sendMessage builder (telegram_configs) and its
    answer check.

    The expected URL and bodies were captured from Debian's Alertmanager 0.25
    (/usr/bin/prometheus-alertmanager, telebot v3) sending one alert
    {alertname="Line<Stopped>", line="L1"} (annotation summary "a & b", no generatorURL)
    through telegram_configs: [{bot_token: 123:ABC-tok, api_url: http://127.0.0.1:P/tg,
    chat_id: -1001234}] to a local server that recorded the request, firing and then
    resolved: a JSON object of strings, the default message rendered in HTML mode.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../notifyd/notifyd_telegram.h"
#include "../notifyd/notifyd_tmpl.h"

static json_t *
s_payload(bool resolved)
{
    const char *st = resolved ? "resolved" : "firing";
    return json_pack("{s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:{s:s}, s:[{s:s, s:{s:s, "
                     "s:s}, s:{s:s}, s:s}]}",
                     "receiver", "r", "status", st, "externalURL", "http://alerts.example:9093",
                     "groupKey", "{}:{alertname=\"Line<Stopped>\"}", "groupLabels", "alertname",
                     "Line<Stopped>", "commonLabels", "alertname", "Line<Stopped>", "line", "L1",
                     "commonAnnotations", "summary", "a & b", "alerts", "status", st, "labels",
                     "alertname", "Line<Stopped>", "line", "L1", "annotations", "summary", "a & b",
                     "generatorURL", "");
}

static json_t *
s_config(void)
{
    return json_pack("{s:b, s:s, s:s, s:s, s:s, s:b}", "send_resolved", 1, "bot_token",
                     "123:ABC-tok", "api_url", "http://127.0.0.1:9/tg", "chat_id", "-1001234",
                     "parse_mode", "HTML", "disable_notifications", 0);
}

START_TEST(test_notifyd_telegram_firing_resolved)
{
    json_t *cfg = s_config();
    json_t *p = s_payload(false);
    struct notifyd_req r;
    fw_err_t err;
    ck_assert_int_eq(notifyd_telegram_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.url, "http://127.0.0.1:9/tg/bot123:ABC-tok/sendMessage");
    ck_assert(r.answer == notifyd_telegram_answer);
    // Alertmanager 0.25's bytes but for Go's \u0026 for & (the same JSON string).
    ck_assert_str_eq(r.body, "{\"chat_id\":\"-1001234\",\"disable_web_page_preview\":\"true\","
                             "\"parse_mode\":\"HTML\",\"text\":\"\\n\\nAlerts Firing:\\nLabels:\\n"
                             " - alertname = Line&lt;Stopped&gt;\\n - line = L1\\nAnnotations:\\n"
                             " - summary = a &amp; b\\nSource: \\n\\n\\n\\n\"}\n");
    notifyd_req_clear(&r);
    json_decref(p);
    p = s_payload(true);
    ck_assert_int_eq(notifyd_telegram_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.body, "{\"chat_id\":\"-1001234\",\"disable_web_page_preview\":\"true\","
                             "\"parse_mode\":\"HTML\",\"text\":\"\\n\\n\\nAlerts Resolved:\\n"
                             "Labels:\\n - alertname = Line&lt;Stopped&gt;\\n - line = L1\\n"
                             "Annotations:\\n - summary = a &amp; b\\nSource: \\n\\n\\n\"}\n");
    notifyd_req_clear(&r);
    json_decref(p);
    json_decref(cfg);
}
END_TEST

// parse_mode "" sends none and renders as text; disable_notifications adds
// disable_notification; a message is cut to 4096 runes with "…".
START_TEST(test_notifyd_telegram_options)
{
    json_t *cfg = s_config();
    json_object_set_new(cfg, "parse_mode", json_string(""));
    json_object_set_new(cfg, "disable_notifications", json_true());
    json_object_set_new(cfg, "message", json_string("{{ .CommonLabels.alertname }} é"));
    json_t *p = s_payload(false);
    struct notifyd_req r;
    fw_err_t err;
    ck_assert_int_eq(notifyd_telegram_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.body, "{\"chat_id\":\"-1001234\",\"disable_notification\":\"true\","
                             "\"disable_web_page_preview\":\"true\",\"text\":\"Line<Stopped> "
                             "\xc3\xa9\"}\n");
    notifyd_req_clear(&r);
    char *big = malloc(5000 * 2 + 1);
    for (int i = 0; i < 5000; i++)
        memcpy(big + 2 * i, "\xc3\xa9", 2);
    big[10000] = '\0';
    json_object_set_new(cfg, "message", json_string(big));
    ck_assert_int_eq(notifyd_telegram_build(cfg, p, &r, &err), 0);
    json_t *b = json_loads(r.body, 0, NULL);
    const char *t = json_string_value(json_object_get(b, "text"));
    ck_assert_uint_eq(strlen(t), 4095 * 2 + 3); // 4095 é and "…"
    ck_assert_str_eq(t + 4095 * 2, "\xe2\x80\xa6");
    json_decref(b);
    free(big);
    notifyd_req_clear(&r);
    json_object_del(cfg, "bot_token");
    json_object_set_new(cfg, "bot_token_file", json_string("test/tmp/no-such-telegram-token"));
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_telegram_build(cfg, p, &r, &err), -1);
    ck_assert_msg(strstr(err.msg, "no-such-telegram-token") != NULL, "%s", err.msg);
    json_decref(p);
    json_decref(cfg);
}
END_TEST

// chat_id_file is read at each notification (white space trimmed, written as Go formats the
// int64); message_thread_id is sent as telebot sends it, a string, only when not 0.
START_TEST(test_notifyd_telegram_chat_file_thread)
{
    const char *path = "test/tmp/check_telegram_chat_id";
    mkdir("test/tmp", 0755); // run from the checkout's root, as every suite
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("  -0042\n", f);
    fclose(f);
    json_t *cfg = s_config();
    json_object_del(cfg, "chat_id");
    json_object_set_new(cfg, "chat_id_file", json_string(path));
    json_object_set_new(cfg, "message_thread_id", json_integer(7));
    json_object_set_new(cfg, "message", json_string("m"));
    json_t *p = s_payload(false);
    struct notifyd_req r;
    fw_err_t err;
    ck_assert_int_eq(notifyd_telegram_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.body,
                     "{\"chat_id\":\"-42\",\"disable_web_page_preview\":\"true\","
                     "\"message_thread_id\":\"7\",\"parse_mode\":\"HTML\",\"text\":\"m\"}\n");
    notifyd_req_clear(&r);
    f = fopen(path, "w");
    fputs("chat", f);
    fclose(f);
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_telegram_build(cfg, p, &r, &err), -1);
    ck_assert_str_eq(err.msg, "could not parse chat_id from test/tmp/check_telegram_chat_id");
    unlink(path);
    json_decref(p);
    json_decref(cfg);
}
END_TEST

// {"ok": true} is a delivery; "ok": false, or an answer that is not JSON, a failure.
START_TEST(test_notifyd_telegram_answer)
{
    struct notifyd_answer a;
    notifyd_telegram_answer(NULL, "{\"ok\":true,\"result\":{\"message_id\":1}}", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_DELIVERED);
    notifyd_telegram_answer(
        NULL, "{\"ok\":false,\"error_code\":400,\"description\":\"Bad Request: chat not found\"}",
        &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_FAILED);
    ck_assert_str_eq(a.reason, "api_error");
    ck_assert_str_eq(a.detail, "telegram: Bad Request: chat not found");
    notifyd_telegram_answer(NULL, "<html>", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_FAILED);
    ck_assert_str_eq(a.detail, "telegram: answer is not JSON");
}
END_TEST

Suite *
notifyd_telegram_suite(void)
{
    Suite *s = suite_create("notifyd_telegram");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, test_notifyd_telegram_firing_resolved);
    tcase_add_test(tc, test_notifyd_telegram_options);
    tcase_add_test(tc, test_notifyd_telegram_chat_file_thread);
    tcase_add_test(tc, test_notifyd_telegram_answer);
    suite_add_tcase(s, tc);
    return s;
}
