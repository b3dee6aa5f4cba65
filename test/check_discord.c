/*  check_discord.c — discord_configs end to end in one process: alertd's table and checks
    (Alertmanager 0.25's keys, its errors, the keys later versions added refused), what NOTIFY
    carries (the webhook URL a secret taps never see), and notifyd's request body
    (notify/discord/discord.go's webhook struct: content "", one embed of title, description
    and color 0x992D22 / 0x2ECC71). test/it/receivers_chat.sh compares the body with the
    real Alertmanager 0.25's.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "../notifyd/notifyd_discord.h"
#include "../notifyd/notifyd_req.h"
#include "check_util_alertd.h"
#include "fw_msg.h"

static json_t *
s_payload(const char *status)
{
    json_t *p = json_loads(
        "{\"receiver\":\"team a\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
        "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","
        "\"groupLabels\":{\"alertname\":\"LineStopped\"},"
        "\"commonLabels\":{\"alertname\":\"LineStopped\",\"plant\":\"P\"},"
        "\"commonAnnotations\":{},"
        "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"plant\":\"P\",\"line\":\"L1\","
        "\"alertname\":\"LineStopped\"},\"annotations\":{\"summary\":\"one\"},"
        "\"generatorURL\":\"http://g/1\"},"
        "{\"status\":\"firing\",\"labels\":{\"alertname\":\"LineStopped\",\"line\":\"L2\","
        "\"plant\":\"P\"},\"annotations\":{},\"generatorURL\":\"http://g/2\"}]}",
        0, NULL);
    json_object_set_new(p, "status", json_string(status));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(p, "alerts"), i, a)
        json_object_set_new(a, "status", json_string(status));
    return p;
}

START_TEST(test_discord_cfg_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg =
        alertd_cfg_load("ok.yml",
                        "global: {http_config: {proxy_url: 'http://proxy:3128'}}\n"
                        "route: {receiver: d}\n"
                        "receivers:\n"
                        "  - name: d\n"
                        "    discord_configs:\n"
                        "      - webhook_url: https://discord.com/api/webhooks/1/SECRET-token\n"
                        "        title: '{{ template \"discord.default.title\" . }}'\n"
                        "        message: 'Line {{ .CommonLabels.line }} stopped'\n"
                        "      - webhook_url: http://127.0.0.1:9/d\n"
                        "        send_resolved: false\n"
                        "        http_config: {follow_redirects: false}\n",
                        &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *d = json_object_get(n, "discord_configs");
    ck_assert_uint_eq(json_array_size(d), 2);
    json_t *d0 = json_array_get(d, 0), *d1 = json_array_get(d, 1);
    ck_assert_str_eq(json_string_value(json_object_get(d0, "webhook_url")),
                     "https://discord.com/api/webhooks/1/SECRET-token");
    ck_assert(json_is_true(json_object_get(d0, "send_resolved"))); // Alertmanager's default
    ck_assert_ptr_null(json_object_get(d0, "title"));              // the default expression
    ck_assert_str_eq(json_string_value(json_object_get(d0, "message")),
                     "Line {{ .CommonLabels.line }} stopped");
    // No own http_config: global.http_config's.
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(d0, "http_config"), "proxy_url")),
        "http://proxy:3128");
    ck_assert(json_is_false(json_object_get(d1, "send_resolved")));
    ck_assert(
        json_is_false(json_object_get(json_object_get(d1, "http_config"), "follow_redirects")));
    ck_assert_ptr_null(json_object_get(json_object_get(d1, "http_config"), "proxy_url"));
    // Taps see <secret> for the webhook URL.
    json_object_set_new(n, "receiver", json_string("d"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"webhook_url\":\"<secret>\""));
    free(shown);
    json_decref(red);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_discord_cfg_refused)
{
    static const char *const want[] = {
        "bad.yml:5:9: error: no discord webhook URL provided",
        "bad.yml:5:25: error: discord_configs.title: template: discord_configs.title:1: "
        "function \"nofunc\" not defined",
        "bad.yml:6:9: error: discord_configs webhook_url must be an http(s) URL with a host "
        "(scheme \"ftp\")",
        "bad.yml:7:9: error: discord_configs webhook_url must be an http(s) URL with a host "
        "(scheme \"https\")",
        "bad.yml:8:10: error: receivers[0].discord_configs[3].webhook_url_file: not supported "
        "by floorwatch (Alertmanager 0.25 has no such key)",
        "bad.yml:9:36: error: receivers[0].discord_configs[4].content: not supported",
        "bad.yml:10:36: error: receivers[0].discord_configs[5].username: not supported",
        "bad.yml:11:36: error: receivers[0].discord_configs[6].avatar_url: not supported",
        "bad.yml:12:51: error: '7' is not a boolean for key 'send_resolved'",
    };
    check_util_alertd_cfg_errors("route: {receiver: t}\n"                                     // 1
                                 "receivers:\n"                                               // 2
                                 "  - name: t\n"                                              // 3
                                 "    discord_configs:\n"                                     // 4
                                 "      - title: '{{ .X | nofunc }}'\n"                       // 5
                                 "      - webhook_url: ftp://h/SECRET-a\n"                    // 6
                                 "      - webhook_url: 'https:///SECRET-b'\n"                 // 7
                                 "      - {webhook_url_file: /x, webhook_url: 'http://d/'}\n" // 8
                                 "      - {webhook_url: 'http://d/', content: hi}\n"          // 9
                                 "      - {webhook_url: 'http://d/', username: u}\n"          // 10
                                 "      - {webhook_url: 'http://d/', avatar_url: a}\n"        // 11
                                 "      - {webhook_url: 'http://d/', send_resolved: 7}\n",    // 12
                                 want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

static json_t *
s_body(const struct notifyd_req *r)
{
    json_t *b = json_loads(r->body, 0, NULL);
    ck_assert_msg(b != NULL, "not JSON: %s", r->body);
    return b;
}

START_TEST(test_discord_body)
{
    json_t *p = s_payload("firing");
    json_t *cfg = json_pack("{s:b, s:s}", "send_resolved", 1, "webhook_url",
                            "https://discord.com/api/webhooks/1/t");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_discord_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "https://discord.com/api/webhooks/1/t");
    ck_assert_uint_eq(r.headers_len, 0); // Content-Type application/json: the deliverer's
    // Alertmanager's struct order, content not omitempty.
    ck_assert_msg(strncmp(r.body,
                          "{\"content\":\"\",\"embeds\":[{\"title\":\"[FIRING:2] "
                          "LineStopped (P)\",\"description\":\"",
                          77) == 0,
                  "%s", r.body);
    json_t *b = s_body(&r);
    json_t *e = json_array_get(json_object_get(b, "embeds"), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(b, "embeds")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "color")), 0x992D22);
    const char *desc = json_string_value(json_object_get(e, "description"));
    // discord.default.message = telegram.default.message: the firing list, as text.
    ck_assert_msg(
        strstr(desc, "Alerts Firing:\nLabels:\n - alertname = LineStopped\n - line = L1\n") &&
            strstr(desc, "Source: http://g/2\n") && !strstr(desc, "Resolved"),
        "%s", desc);
    json_decref(b);
    notifyd_req_clear(&r);
    json_decref(p);
    // Resolved: green; literal and templated texts.
    p = s_payload("resolved");
    json_object_set_new(cfg, "title", json_string("Line down"));
    json_object_set_new(cfg, "message", json_string("{{ .Status }}: {{ len .Alerts }}"));
    ck_assert_int_eq(notifyd_discord_build(cfg, p, &r, NULL), 0);
    b = s_body(&r);
    e = json_array_get(json_object_get(b, "embeds"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(e, "color")), 0x2ECC71);
    ck_assert_str_eq(json_string_value(json_object_get(e, "title")), "Line down");
    ck_assert_str_eq(json_string_value(json_object_get(e, "description")), "resolved: 2");
    ck_assert_str_eq(json_string_value(json_object_get(b, "content")), "");
    json_decref(b);
    notifyd_req_clear(&r);
    // Alertmanager 0.25 cuts no text: a 300-rune title goes out whole.
    char long_title[301];
    memset(long_title, 'x', 300);
    long_title[300] = 0;
    json_object_set_new(cfg, "title", json_string(long_title));
    ck_assert_int_eq(notifyd_discord_build(cfg, p, &r, NULL), 0);
    b = s_body(&r);
    e = json_array_get(json_object_get(b, "embeds"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(e, "title")), long_title);
    json_decref(b);
    notifyd_req_clear(&r);
    json_object_del(cfg, "webhook_url");
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_discord_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "webhook_url"));
    json_decref(cfg);
    json_decref(p);
}
END_TEST

Suite *
discord_suite(void)
{
    Suite *s = suite_create("discord");
    TCase *tc = tcase_create("discord");
    tcase_add_test(tc, test_discord_cfg_notify);
    tcase_add_test(tc, test_discord_cfg_refused);
    tcase_add_test(tc, test_discord_body);
    suite_add_tcase(s, tc);
    return s;
}
