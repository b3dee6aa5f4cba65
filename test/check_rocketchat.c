/*  check_rocketchat.c — rocketchat_configs: alertd's load and checks (credentials and
    api_url with their global fallbacks, refusals at file:line:col, <secret> for taps) and
    notifyd's chat.postMessage request and answer judgement.

    No Debian peer has this integration (Alertmanager 0.25 predates it; it came in 0.28), so
    the body is checked against what Alertmanager's notify/rocketchat/rocketchat.go encodes:
    its PostMessage/Attachment structs (key order, omitempty, a field's short and an action's
    is_webview/msg_in_chat_window always present, type always "button") with the texts of
    template/default.tmpl (rocketchat.default.*) and DefaultRocketchatConfig's color written
    out by hand here.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "../notifyd/notifyd_rocketchat.h"
#include "fw_msg.h"
#include "check_util_alertd.h"

#define S_DIR "test/tmp/cfg_rocketchat"

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: run from the repository root", path);
    fputs(text, f);
    fclose(f);
}

static void
s_setup(void)
{
    (void)mkdir("test/tmp", 0755);
    (void)mkdir(S_DIR, 0755);
    s_write(S_DIR "/token", "  SECRET-file-token\n");
    s_write(S_DIR "/id", "SECRET-file-id\n");
    s_write(S_DIR "/broken", "SECRET-a\nb\n");
}

static void
s_teardown(void)
{
    unlink(S_DIR "/token");
    unlink(S_DIR "/id");
    unlink(S_DIR "/broken");
    rmdir(S_DIR);
}

static json_t *
s_notify_of(const struct alertd_cfg *cfg, size_t receiver)
{
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[receiver], n);
    return n;
}

static const char *
s_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

START_TEST(test_rocketchat_cfg_load_notify)
{
    static const char text[] =
        "global:\n"
        "  rocketchat_token: SECRET-g-token\n"
        "  rocketchat_token_id_file: " S_DIR "/id\n"
        "  rocketchat_api_url: http://chat.example.org:3000/base/\n"
        "route: {receiver: a}\n"
        "receivers:\n"
        "  - name: a\n"
        "    rocketchat_configs:\n"
        "      - channel: '#ops'\n"
        "        title: '{{ template \"rocketchat.default.title\" . }}'\n"
        "        color: '{{ if eq .Status \"firing\" }}red{{ else }}green{{ end }}'\n"
        "        fields: [{title: Line, value: '{{ .CommonLabels.line }}', short: false}]\n"
        "        short_fields: true\n"
        "        link_names: true\n"
        "        actions: [{type: button, text: Open, url: 'http://x/', msg: hi}]\n"
        "  - name: b\n"
        "    rocketchat_configs:\n"
        "      - api_url: https://rc.example.org?x=1\n"
        "        token_file: " S_DIR "/token\n"
        "        token_id: SECRET-own-id\n"
        "        send_resolved: true\n"
        "  - name: c\n"
        "    rocketchat_configs: [{token_id: i}]\n";
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ok.yml", text, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = s_notify_of(cfg, 0);
    json_t *c = json_array_get(json_object_get(n, "rocketchat_configs"), 0);
    ck_assert_str_eq(s_str(c, "url"), "http://chat.example.org:3000/base/api/v1/chat.postMessage");
    ck_assert_str_eq(s_str(c, "token"), "SECRET-g-token");
    ck_assert_str_eq(s_str(c, "token_id_file"), S_DIR "/id");
    ck_assert_ptr_null(json_object_get(c, "token_id"));
    ck_assert(json_is_false(json_object_get(c, "send_resolved"))); // Alertmanager's default
    ck_assert_ptr_null(json_object_get(c, "title")); // the defaults: notifyd renders them
    ck_assert_ptr_null(json_object_get(c, "color"));
    ck_assert_str_eq(s_str(c, "channel"), "#ops");
    ck_assert(
        json_is_false(json_object_get(json_array_get(json_object_get(c, "fields"), 0), "short")));
    ck_assert_str_eq(s_str(json_array_get(json_object_get(c, "actions"), 0), "msg"), "hi");
    // Taps see <secret> for the tokens (fw_msg.def's FW_SECRET list).
    json_object_set_new(n, "receiver", json_string("a"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"token\":\"<secret>\""));
    free(shown);
    json_decref(red);
    json_decref(n);
    // Own api_url (query kept after the path), own token_file and token_id; the global
    // token stays too (a file wins in notifyd, as Alertmanager's getToken).
    n = s_notify_of(cfg, 1);
    c = json_array_get(json_object_get(n, "rocketchat_configs"), 0);
    ck_assert_str_eq(s_str(c, "url"), "https://rc.example.org/api/v1/chat.postMessage?x=1");
    ck_assert_str_eq(s_str(c, "token_file"), S_DIR "/token");
    ck_assert_str_eq(s_str(c, "token_id"), "SECRET-own-id");
    ck_assert(json_is_true(json_object_get(c, "send_resolved")));
    json_decref(n);
    // Nothing of its own: the global API URL and credentials.
    n = s_notify_of(cfg, 2);
    c = json_array_get(json_object_get(n, "rocketchat_configs"), 0);
    ck_assert_str_eq(s_str(c, "url"), "http://chat.example.org:3000/base/api/v1/chat.postMessage");
    ck_assert_str_eq(s_str(c, "token_id"), "i");
    ck_assert_str_eq(s_str(c, "token_id_file"), S_DIR "/id");
    json_decref(n);
    // /api/v2/status shows the tokens as <secret>.
    ck_assert_msg(strstr(cfg->original, "SECRET-") == NULL, "%s", cfg->original);
    alertd_cfg_destroy(&cfg);
    // No api_url anywhere: Alertmanager's default.
    cfg = alertd_cfg_load("ok.yml",
                          "route: {receiver: a}\n"
                          "receivers: [{name: a, rocketchat_configs: [{token: t, token_id: i}]}]\n",
                          &errs);
    ck_assert_ptr_nonnull(cfg);
    n = s_notify_of(cfg, 0);
    c = json_array_get(json_object_get(n, "rocketchat_configs"), 0);
    ck_assert_str_eq(s_str(c, "url"), "https://open.rocket.chat/api/v1/chat.postMessage");
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_rocketchat_cfg_refused)
{
    static const char *const want[] = {
        "bad.yml:5:9: error: at most one of token & token_file must be configured",
        "bad.yml:5:9: error: at most one of token_id & token_id_file must be configured",
        "bad.yml:9:44: error: receivers[0].rocketchat_configs[1].actions[0].iswebview: not "
        "supported by floorwatch (Alertmanager does not send it either)",
        "bad.yml:10:9: error: unsupported scheme \"ftp\" in rocketchat api_url",
        "bad.yml:11:36: error: rocketchat_configs.title: template: rocketchat_configs.title:1: "
        "function \"nofunc\" not defined",
        "bad.yml:12:42: error: short: not a boolean: \"maybe\"",
        "bad.yml:13:9: error: no global Rocketchat Token set either inline or in a file",
        "bad.yml:13:9: error: no global Rocketchat TokenID set either inline or in a file",
    };
    check_util_alertd_cfg_errors(
        "route: {receiver: t}\n"                                                          // 1
        "receivers:\n"                                                                    // 2
        "  - name: t\n"                                                                   // 3
        "    rocketchat_configs:\n"                                                       // 4
        "      - token: SECRET-a\n"                                                       // 5
        "        token_file: /x\n"                                                        // 6
        "        token_id: SECRET-b\n"                                                    // 7
        "        token_id_file: /y\n"                                                     // 8
        "      - {token: t, token_id: i, actions: [{iswebview: true}]}\n"                 // 9
        "      - {token: t, token_id: i, api_url: 'ftp://h/SECRET-c'}\n"                  // 10
        "      - {token: t, title: '{{ .X | nofunc }}', token_id: i}\n"                   // 11
        "      - {token: t, token_id: i, fields: [{title: a, value: b, short: maybe}]}\n" // 12
        "      - {channel: x}\n",                                                         // 13
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

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
        "\"alertname\":\"LineStopped\"},\"annotations\":{},\"generatorURL\":\"http://g/1\"},"
        "{\"status\":\"firing\",\"labels\":{\"alertname\":\"LineStopped\",\"line\":\"L2\","
        "\"plant\":\"P\"},\"annotations\":{},\"generatorURL\":\"http://g/2\"}]}",
        0, NULL);
    if (strcmp(status, "resolved") == 0) {
        json_object_set_new(p, "status", json_string("resolved"));
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(p, "alerts"), i, a)
            json_object_set_new(a, "status", json_string("resolved"));
    }
    return p;
}

START_TEST(test_rocketchat_default_body)
{
    json_t *p = s_payload("firing");
    json_t *cfg = json_pack("{s:b, s:s, s:s, s:s}", "send_resolved", 0, "url",
                            "https://open.rocket.chat/api/v1/chat.postMessage", "token", "tok-1",
                            "token_id", "uid-1");
    struct notifyd_req r;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_rocketchat_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.url, "https://open.rocket.chat/api/v1/chat.postMessage");
    ck_assert_uint_eq(r.headers_len, 2);
    ck_assert_str_eq(r.headers[0], "X-Auth-Token: tok-1");
    ck_assert_str_eq(r.headers[1], "X-User-Id: uid-1");
    ck_assert(r.answer == notifyd_rocketchat_answer);
    // PostMessage{Attachments: [{Title: __subject, TitleLink: __alertmanagerURL,
    // Color: red}]}: channel, emoji, avatar and text are empty, so left out.
    ck_assert_str_eq(r.body, "{\"attachments\":[{\"title\":\"[FIRING:2] LineStopped (P)\","
                             "\"title_link\":\"http://am:9093/#/alerts?receiver=team+a\","
                             "\"color\":\"red\"}]}");
    notifyd_req_clear(&r);
    json_decref(p);
    p = s_payload("resolved");
    ck_assert_int_eq(notifyd_rocketchat_build(cfg, p, &r, &err), 0);
    ck_assert_ptr_nonnull(strstr(r.body, "\"color\":\"green\""));
    ck_assert_ptr_nonnull(strstr(r.body, "\"title\":\"[RESOLVED] LineStopped (P)\""));
    notifyd_req_clear(&r);
    json_decref(p);
    json_decref(cfg);
}
END_TEST

START_TEST(test_rocketchat_full_body)
{
    json_t *p = s_payload("firing");
    json_t *cfg = json_loads(
        "{\"url\":\"http://rc/api/v1/chat.postMessage\",\"token\":\"inline\","
        "\"token_file\":\"" S_DIR "/token\",\"token_id_file\":\"" S_DIR "/id\","
        "\"channel\":\"#{{ .CommonLabels.plant }}\",\"emoji\":\":fire:\","
        "\"icon_url\":\"http://i/a.png\",\"text\":\"{{ len .Alerts }} stopped\","
        "\"title\":\"T\",\"title_link\":\"http://l/\",\"color\":\"#ff0000\","
        "\"image_url\":\"http://i/b.png\",\"thumb_url\":\"http://i/c.png\",\"short_fields\":true,"
        "\"fields\":[{\"title\":\"Line\",\"value\":\"{{ .GroupLabels.alertname }}\"},"
        "{\"title\":\"Plant\",\"value\":\"P\",\"short\":false}],"
        "\"actions\":[{\"text\":\"Open\",\"url\":\"http://x/\",\"msg\":\"m\"}]}",
        0, NULL);
    struct notifyd_req r;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_rocketchat_build(cfg, p, &r, &err), 0);
    // The files win over the inline token and are trimmed, as Alertmanager's getToken.
    ck_assert_str_eq(r.headers[0], "X-Auth-Token: SECRET-file-token");
    ck_assert_str_eq(r.headers[1], "X-User-Id: SECRET-file-id");
    ck_assert_str_eq(
        r.body,
        "{\"channel\":\"#P\",\"emoji\":\":fire:\",\"avatar\":\"http://i/a.png\","
        "\"attachments\":[{\"title\":\"T\",\"title_link\":\"http://l/\",\"text\":\"2 stopped\","
        "\"image_url\":\"http://i/b.png\",\"thumb_url\":\"http://i/c.png\",\"color\":\"#ff0000\","
        "\"fields\":[{\"short\":true,\"title\":\"Line\",\"value\":\"LineStopped\"},"
        "{\"short\":false,\"title\":\"Plant\",\"value\":\"P\"}],"
        "\"actions\":[{\"type\":\"button\",\"text\":\"Open\",\"url\":\"http://x/\","
        "\"is_webview\":false,\"msg\":\"m\",\"msg_in_chat_window\":false}]}]}");
    notifyd_req_clear(&r);
    // A token that would break the header, or no token id: not sent.
    json_object_set_new(cfg, "token_file", json_string(S_DIR "/broken"));
    ck_assert_int_eq(notifyd_rocketchat_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "line break"));
    ck_assert_ptr_null(strstr(err.msg, "SECRET"));
    json_object_del(cfg, "token_file");
    json_object_del(cfg, "token_id_file");
    ck_assert_int_eq(notifyd_rocketchat_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "without token_id"));
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_rocketchat_answer)
{
    struct notifyd_answer a;
    notifyd_rocketchat_answer(NULL, "{\"success\": true, \"message\": {}}", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_DELIVERED);
    // A 200 that says it failed: failed, not retried (a client error, as Alertmanager).
    notifyd_rocketchat_answer(NULL, "{\"success\": false, \"error\": \"room not found\"}", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_FAILED);
    ck_assert_str_eq(a.detail, "error response from Rocketchat: room not found");
    ck_assert_str_eq(a.reason, "client_error");
    notifyd_rocketchat_answer(NULL, "{}", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_FAILED);
    // Not JSON: retried.
    notifyd_rocketchat_answer(NULL, "<html>", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_RESEND);
}
END_TEST

Suite *
rocketchat_suite(void)
{
    Suite *s = suite_create("rocketchat");
    TCase *tc = tcase_create("rocketchat");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_rocketchat_cfg_load_notify);
    tcase_add_test(tc, test_rocketchat_cfg_refused);
    tcase_add_test(tc, test_rocketchat_default_body);
    tcase_add_test(tc, test_rocketchat_full_body);
    tcase_add_test(tc, test_rocketchat_answer);
    suite_add_tcase(s, tc);
    return s;
}
