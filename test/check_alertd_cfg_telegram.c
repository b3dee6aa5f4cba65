/*  check_alertd_cfg_telegram.c — telegram_configs in alertmanager.yml: the bot token
    resolved (own bot_token or bot_token_file, else the global ones: later Alertmanagers'
    keys, which AM's fixtures expect to load; a token file passed on, read by notifyd at each
    notification), api_url and parse_mode defaulted, what NOTIFY carries, taps see <secret>,
    and every refusal with file:line:col and Alertmanager's words.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "fw_msg.h"
#include "check_util_alertd.h"

START_TEST(test_alertd_cfg_telegram_load_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load(
        "ok.yml",
        "global: {telegram_bot_token_file: /nonexistent/tok, telegram_api_url: 'http://t/'}\n"
        "route: {receiver: t}\nreceivers:\n  - name: t\n    telegram_configs:\n"
        "      - chat_id: -1001234\n"
        "        message: '{{ template \"telegram.default.message\" . }}'\n"
        "      - {chat_id: 7, bot_token: SECRET-tok, parse_mode: '', disable_notifications: true,"
        " api_url: 'https://a/', message: 'hi {{ .Status }}', send_resolved: false}\n",
        &errs);
    ck_assert_msg(cfg != NULL, "%s", errs.len ? errs.items[0].msg : "?");
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *a = json_object_get(n, "telegram_configs");
    ck_assert_uint_eq(json_array_size(a), 2);
    json_t *t = json_array_get(a, 0);
    ck_assert_str_eq(json_string_value(json_object_get(t, "bot_token_file")), "/nonexistent/tok");
    ck_assert_str_eq(json_string_value(json_object_get(t, "api_url")), "http://t/");
    ck_assert_str_eq(json_string_value(json_object_get(t, "chat_id")), "-1001234");
    ck_assert_str_eq(json_string_value(json_object_get(t, "parse_mode")), "HTML");
    ck_assert_ptr_null(json_object_get(t, "message")); // the default
    ck_assert(json_is_true(json_object_get(t, "send_resolved")));
    ck_assert(json_is_false(json_object_get(t, "disable_notifications")));
    json_t *u = json_array_get(a, 1);
    ck_assert_str_eq(json_string_value(json_object_get(u, "bot_token")), "SECRET-tok");
    ck_assert_str_eq(json_string_value(json_object_get(u, "parse_mode")), "");
    ck_assert_str_eq(json_string_value(json_object_get(u, "message")), "hi {{ .Status }}");
    ck_assert(json_is_true(json_object_get(u, "disable_notifications")));
    ck_assert(json_is_false(json_object_get(u, "send_resolved")));
    json_object_set_new(n, "receiver", json_string("t"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"bot_token\":\"<secret>\""));
    free(shown);
    json_decref(red);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
    // chat_id_file instead of chat_id, and a forum topic.
    cfg = alertd_cfg_load("f.yml",
                          "route: {receiver: t}\nreceivers:\n  - name: t\n"
                          "    telegram_configs: [{chat_id_file: /run/chat, message_thread_id: 42,"
                          " bot_token: x}]\n",
                          &errs);
    ck_assert_msg(cfg != NULL, "%s", errs.len ? errs.items[0].msg : "?");
    n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    t = json_array_get(json_object_get(n, "telegram_configs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(t, "chat_id_file")), "/run/chat");
    ck_assert_ptr_null(json_object_get(t, "chat_id"));
    ck_assert_int_eq(json_integer_value(json_object_get(t, "message_thread_id")), 42);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
    // The default API URL.
    cfg = alertd_cfg_load("d.yml",
                          "route: {receiver: t}\nreceivers:\n  - name: t\n"
                          "    telegram_configs: [{chat_id: 1, bot_token: x}]\n",
                          &errs);
    ck_assert_ptr_nonnull(cfg);
    n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(n, "telegram_configs"), 0), "api_url")),
                     "https://api.telegram.org");
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_alertd_cfg_telegram_refused)
{
    static const char *const want[] = {
        "bad.yml:1:9: error: at most one of telegram_bot_token & telegram_bot_token_file must be "
        "configured",
        "bad.yml:6:9: error: missing chat_id on telegram_config",
        "bad.yml:7:9: error: at most one of bot_token & bot_token_file must be configured",
        "bad.yml:7:9: error: chat_id: not an integer: \"abc\"",
        "bad.yml:7:9: error: unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, "
        "HTML or empty string",
        "bad.yml:7:9: error: unsupported scheme \"ftp\" for URL",
        "bad.yml:12:22: error: telegram_configs.message: template: telegram_configs.message:1: "
        "function \"nofunc\" not defined",
        "bad.yml:13:9: error: at most one of chat_id & chat_id_file must be configured",
        "bad.yml:14:28: error: 'x' is not an integer for key 'message_thread_id'",
    };
    check_util_alertd_cfg_errors(
        "global: {telegram_bot_token: SECRET-a, telegram_bot_token_file: /k}\n" // 1
        "route: {receiver: t}\n"                                                // 2
        "receivers:\n"                                                          // 3
        "  - name: t\n"                                                         // 4
        "    telegram_configs:\n"                                               // 5
        "      - bot_token: SECRET-b\n"                                         // 6
        "      - chat_id: abc\n"                                                // 7
        "        bot_token: SECRET-c\n"                                         // 8
        "        bot_token_file: /k\n"                                          // 9
        "        api_url: ftp://h/\n"                                           // 10
        "        parse_mode: markdown\n"                                        // 11
        "        message: '{{ nofunc }}'\n"                                     // 12
        "      - chat_id_file: /c\n"                                            // 13
        "        message_thread_id: x\n"                                        // 14
        "        chat_id: 5\n",                                                 // 15
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

// No token anywhere: the error of later Alertmanagers (0.25 said "missing bot_token").
START_TEST(test_alertd_cfg_telegram_no_token)
{
    static const char *const want[] = {
        "missing bot_token or bot_token_file on telegram_config (telegram_configs)",
    };
    check_util_alertd_cfg_errors("route: {receiver: t}\n"
                                 "receivers:\n"
                                 "  - name: t\n"
                                 "    telegram_configs: [{chat_id: 1}]\n",
                                 want, sizeof want / sizeof *want, NULL);
}
END_TEST

Suite *
alertd_cfg_telegram_suite(void)
{
    Suite *s = suite_create("alertd_cfg_telegram");
    TCase *tc = tcase_create("cfg");
    tcase_add_test(tc, test_alertd_cfg_telegram_load_notify);
    tcase_add_test(tc, test_alertd_cfg_telegram_refused);
    tcase_add_test(tc, test_alertd_cfg_telegram_no_token);
    suite_add_tcase(s, tc);
    return s;
}
