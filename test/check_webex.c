/*  check_webex.c — webex_configs end to end in one process: alertd's table and checks
    (Alertmanager 0.25's errors: room_id and an own http_config.authorization required; the
    global.webex_api_url fallback and its default), what NOTIFY carries (the token as
    http_config.authorization, a secret taps never see), and notifyd's request body
    (notify/webex/webex.go: markdown, roomId) with notify.TruncateInBytes' cut at 7439 bytes.
    test/it/receivers_chat.sh compares the body with the real Alertmanager 0.25's.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "../notifyd/notifyd_req.h"
#include "../notifyd/notifyd_webex.h"
#include "check_util_alertd.h"
#include "fw_msg.h"

START_TEST(test_webex_cfg_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg =
        alertd_cfg_load("ok.yml",
                        "route: {receiver: w}\n"
                        "receivers:\n"
                        "  - name: w\n"
                        "    webex_configs:\n"
                        "      - room_id: Y2lzY29zcGFyazovL3VzL1JPT00\n"
                        "        http_config: {authorization: {credentials: SECRET-bot}}\n"
                        "      - room_id: r2\n"
                        "        api_url: http://127.0.0.1:9/v1/messages\n"
                        "        message: 'Line {{ .CommonLabels.line }}'\n"
                        "        send_resolved: false\n"
                        "        http_config: {bearer_token: SECRET-bearer}\n"
                        "  - name: g\n"
                        "    webex_configs:\n"
                        "      - room_id: r3\n"
                        "        message: '{{ template \"webex.default.message\" . }}'\n"
                        "        http_config: {authorization: {type: Token, credentials: t}}\n"
                        "global: {webex_api_url: 'https://webex.internal/v1/messages'}\n",
                        &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *w = json_object_get(n, "webex_configs");
    ck_assert_uint_eq(json_array_size(w), 2);
    json_t *w0 = json_array_get(w, 0), *w1 = json_array_get(w, 1);
    // The global webex_api_url, Alertmanager's default when it is not set (below).
    ck_assert_str_eq(json_string_value(json_object_get(w0, "api_url")),
                     "https://webex.internal/v1/messages");
    ck_assert_str_eq(json_string_value(json_object_get(w0, "room_id")),
                     "Y2lzY29zcGFyazovL3VzL1JPT00");
    ck_assert(json_is_true(json_object_get(w0, "send_resolved")));
    ck_assert_ptr_null(json_object_get(w0, "message"));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(w0, "http_config"), "authorization")),
        "Bearer SECRET-bot");
    ck_assert_str_eq(json_string_value(json_object_get(w1, "api_url")),
                     "http://127.0.0.1:9/v1/messages");
    ck_assert_str_eq(json_string_value(json_object_get(w1, "message")),
                     "Line {{ .CommonLabels.line }}");
    ck_assert(json_is_false(json_object_get(w1, "send_resolved")));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(w1, "http_config"), "authorization")),
        "Bearer SECRET-bearer");
    json_t *g = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[1], g);
    json_t *g0 = json_array_get(json_object_get(g, "webex_configs"), 0);
    ck_assert_ptr_null(json_object_get(g0, "message")); // the default expression
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(g0, "http_config"), "authorization")),
        "Token t");
    json_decref(g);
    json_object_set_new(n, "receiver", json_string("w"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    free(shown);
    json_decref(red);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
    // No global webex_api_url: Alertmanager's default.
    cfg = alertd_cfg_load("ok.yml",
                          "route: {receiver: w}\nreceivers:\n  - name: w\n    webex_configs:\n"
                          "      - {room_id: r, http_config: {authorization: {credentials: c}}}\n",
                          &errs);
    ck_assert_ptr_nonnull(cfg);
    n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_array_get(json_object_get(n, "webex_configs"), 0), "api_url")),
                     "https://webexapis.com/v1/messages");
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_webex_cfg_refused)
{
    static const char *const want[] = {
        "bad.yml:6:9: error: missing room_id on webex_config",
        "bad.yml:7:9: error: missing webex_configs.http_config.authorization",
        "bad.yml:8:9: error: missing webex_configs.http_config.authorization",
        "bad.yml:9:9: error: webex_configs webex_api_url \"ftp://x/\" is not an http(s) URL",
        "bad.yml:10:9: error: missing webex_configs.http_config.authorization",
        "bad.yml:11:22: error: unknown key 'bogus' in receivers[0].webex_configs[5]",
        "bad.yml:12:35: error: webex_configs.message: template: webex_configs.message:1: "
        "unexpected EOF",
    };
    check_util_alertd_cfg_errors(
        "global: {http_config: {authorization: {credentials: SECRET-g}}}\n"                    // 1
        "route: {receiver: t}\n"                                                               // 2
        "receivers:\n"                                                                         // 3
        "  - name: t\n"                                                                        // 4
        "    webex_configs:\n"                                                                 // 5
        "      - {http_config: {authorization: {credentials: SECRET-a}}}\n"                    // 6
        "      - {room_id: r}\n"                                                               // 7
        "      - {room_id: r, http_config: {follow_redirects: false}}\n"                       // 8
        "      - {room_id: r, api_url: 'ftp://x/', http_config: {bearer_token: SECRET-b}}\n"   // 9
        "      - {room_id: r, http_config: {basic_auth: {username: u, password: SECRET-c}}}\n" // 10
        "      - {room_id: r, bogus: 1, http_config: {bearer_token: SECRET-d}}\n"              // 11
        "      - message: '{{ if .Status }}'\n"                                                // 12
        "        room_id: r\n"                                                                 // 13
        "        http_config: {bearer_token: SECRET-e}\n",                                     // 14
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

static json_t *
s_payload(void)
{
    return json_loads(
        "{\"receiver\":\"w\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
        "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","
        "\"groupLabels\":{\"alertname\":\"LineStopped\"},"
        "\"commonLabels\":{\"alertname\":\"LineStopped\",\"line\":\"L1\"},"
        "\"commonAnnotations\":{\"summary\":\"one\"},"
        "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"line\":\"L1\","
        "\"alertname\":\"LineStopped\"},\"annotations\":{\"summary\":\"one\"},"
        "\"generatorURL\":\"http://g/1\"}]}",
        0, NULL);
}

START_TEST(test_webex_body)
{
    json_t *p = s_payload();
    json_t *cfg = json_pack("{s:b, s:s, s:s}", "send_resolved", 1, "api_url",
                            "https://webexapis.com/v1/messages", "room_id", "ROOM");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_webex_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "https://webexapis.com/v1/messages");
    ck_assert_msg(strncmp(r.body, "{\"markdown\":\"", 13) == 0, "%s", r.body);
    json_t *b = json_loads(r.body, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(b, "roomId")), "ROOM");
    const char *md = json_string_value(json_object_get(b, "markdown"));
    // webex.default.message = pushover.default.message: the common annotations, then the
    // firing list.
    ck_assert_msg(strstr(md, "summary = one") && strstr(md, "Alerts Firing:") &&
                      strstr(md, "Source: http://g/1"),
                  "%s", md);
    json_decref(b);
    notifyd_req_clear(&r);
    // Cut at 7439 bytes: 7436 of the text and "…".
    char *big = malloc(8001);
    memset(big, 'a', 8000);
    big[8000] = 0;
    json_object_set_new(cfg, "message", json_string(big));
    ck_assert_int_eq(notifyd_webex_build(cfg, p, &r, NULL), 0);
    b = json_loads(r.body, 0, NULL);
    md = json_string_value(json_object_get(b, "markdown"));
    ck_assert_uint_eq(strlen(md), 7439);
    ck_assert_str_eq(md + 7436, "…");
    ck_assert(md[7435] == 'a');
    json_decref(b);
    notifyd_req_clear(&r);
    free(big);
    json_object_del(cfg, "room_id");
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_webex_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "room_id"));
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_webex_truncate_bytes)
{
    bool cut;
    char *s = notifyd_webex_truncate_bytes("abcdef", 6, &cut);
    ck_assert_str_eq(s, "abcdef");
    ck_assert(!cut);
    free(s);
    s = notifyd_webex_truncate_bytes("abcdefg", 6, &cut);
    ck_assert_str_eq(s, "abc…");
    ck_assert(cut);
    free(s);
    // "é" is 2 bytes: 6 - 3 leaves 3 bytes, "aé"; 5 - 3 leaves 2, half an "é": "a".
    s = notifyd_webex_truncate_bytes("aéééé", 6, &cut);
    ck_assert_str_eq(s, "aé…");
    free(s);
    s = notifyd_webex_truncate_bytes("aéééé", 5, &cut);
    ck_assert_str_eq(s, "a…");
    free(s);
    s = notifyd_webex_truncate_bytes("abcd", 3, &cut);
    ck_assert_str_eq(s, "…");
    free(s);
    s = notifyd_webex_truncate_bytes("abcd", 2, &cut);
    ck_assert_str_eq(s, "..");
    free(s);
}
END_TEST

Suite *
webex_suite(void)
{
    Suite *s = suite_create("webex");
    TCase *tc = tcase_create("webex");
    tcase_add_test(tc, test_webex_cfg_notify);
    tcase_add_test(tc, test_webex_cfg_refused);
    tcase_add_test(tc, test_webex_body);
    tcase_add_test(tc, test_webex_truncate_bytes);
    suite_add_tcase(s, tc);
    return s;
}
