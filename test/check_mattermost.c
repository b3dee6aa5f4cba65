/*  check_mattermost.c — mattermost_configs: alertd's load and checks (webhook URL and file
    with their global fallbacks, refusals at file:line:col, <secret> for taps) and notifyd's
    incoming-webhook request.

    No Debian peer has this integration (Alertmanager 0.25 predates it; it came in 0.30), so
    the bodies are checked against what Alertmanager's notify/mattermost/mattermost.go
    encodes (createRequest and sanitizeRequest, its request and attachment structs, all
    omitempty) with the texts of template/default.tmpl (mattermost.default.*) written out by
    hand here.
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
#include "../notifyd/notifyd_mattermost.h"
#include "fw_msg.h"
#include "check_util_alertd.h"

#define S_DIR "test/tmp/cfg_mattermost"

static void
s_setup(void)
{
    (void)mkdir("test/tmp", 0755);
    (void)mkdir(S_DIR, 0755);
    FILE *f = fopen(S_DIR "/url", "w");
    ck_assert_msg(f != NULL, "run from the repository root");
    fputs(" http://mm.example/hooks/SECRET-file\n", f);
    fclose(f);
}

static void
s_teardown(void)
{
    unlink(S_DIR "/url");
    rmdir(S_DIR);
}

static const char *
s_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

START_TEST(test_mattermost_cfg_load_notify)
{
    static const char text[] =
        "global:\n"
        "  mattermost_webhook_url: http://mm.example/hooks/SECRET-global\n"
        "route: {receiver: a}\n"
        "receivers:\n"
        "  - name: a\n"
        "    mattermost_configs:\n"
        "      - channel: town-square\n"
        "        title: '{{ template \"mattermost.default.title\" . }}'\n"
        "        fields: [{title: Plant, value: '{{ .CommonLabels.plant }}', short: true}]\n"
        "        props: {card: 'c {{ .Status }}'}\n"
        "        priority: {priority: Urgent, requested_ack: true}\n"
        "      - webhook_url_file: " S_DIR "/url\n"
        "        send_resolved: false\n"
        "        attachments: [{title: one, text: t1}, {pretext: two}]\n";
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ok.yml", text, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *a = json_object_get(n, "mattermost_configs");
    ck_assert_uint_eq(json_array_size(a), 2);
    json_t *c = json_array_get(a, 0);
    ck_assert_str_eq(s_str(c, "webhook_url"), "http://mm.example/hooks/SECRET-global");
    ck_assert(json_is_true(json_object_get(c, "send_resolved"))); // upstream's default
    ck_assert_ptr_null(json_object_get(c, "title"));              // the default
    ck_assert_str_eq(s_str(c, "channel"), "town-square");
    ck_assert_str_eq(s_str(json_object_get(c, "props"), "card"), "c {{ .Status }}");
    ck_assert(json_is_true(json_object_get(json_object_get(c, "priority"), "requested_ack")));
    c = json_array_get(a, 1);
    ck_assert_ptr_null(json_object_get(c, "webhook_url")); // its own file, not the global URL
    ck_assert_str_eq(s_str(c, "webhook_url_file"), S_DIR "/url");
    ck_assert_uint_eq(json_array_size(json_object_get(c, "attachments")), 2);
    json_object_set_new(n, "receiver", json_string("a"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    free(shown);
    json_decref(red);
    json_decref(n);
    ck_assert_msg(strstr(cfg->original, "SECRET-") == NULL, "%s", cfg->original);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_mattermost_cfg_refused)
{
    static const char *const want[] = {
        "bad.yml:5:9: error: at most one of webhook_url & webhook_url_file must be configured",
        "bad.yml:7:18: error: missing value in Mattermost field configuration",
        "bad.yml:8:9: error: unsupported scheme \"ftp\" in mattermost webhook_url",
        "bad.yml:9:51: error: mattermost_configs.text: template: mattermost_configs.text:1: "
        "function \"nofunc\" not defined",
        "bad.yml:10:9: error: no Mattermost webhook URL set",
        "bad.yml:11:48: error: unknown key 'nosuch' in receivers[0].mattermost_configs[4]",
    };
    check_util_alertd_cfg_errors(
        "route: {receiver: t}\n"                                          // 1
        "receivers:\n"                                                    // 2
        "  - name: t\n"                                                   // 3
        "    mattermost_configs:\n"                                       // 4
        "      - webhook_url: http://m/SECRET-a\n"                        // 5
        "        webhook_url_file: /x\n"                                  // 6
        "        fields: [{title: a}]\n"                                  // 7
        "      - {webhook_url: 'ftp://h/SECRET-b'}\n"                     // 8
        "      - {webhook_url: 'http://h/', text: '{{ .X | nofunc }}'}\n" // 9
        "      - {channel: x}\n"                                          // 10
        "      - {webhook_url: 'http://h/', channel: x, nosuch: 1}\n",    // 11
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

static json_t *
s_payload(void)
{
    return json_loads(
        "{\"receiver\":\"team a\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
        "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","
        "\"groupLabels\":{\"alertname\":\"LineStopped\"},"
        "\"commonLabels\":{\"alertname\":\"LineStopped\",\"plant\":\"P\"},"
        "\"commonAnnotations\":{},"
        "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"plant\":\"P\",\"line\":\"L1\","
        "\"alertname\":\"LineStopped\"},\"annotations\":{},\"generatorURL\":\"http://g/1\"}]}",
        0, NULL);
}

// mattermost.default.text for s_payload(), from default.tmpl (as msteams.default.text).
static const char s_text[] = "\n\n# Alerts Firing:\n"
                             "\nLabels:\n  - alertname = LineStopped\n  - line = L1\n"
                             "  - plant = P\n\nAnnotations:\n\nSource: http://g/1\n"
                             "\n\n\n\n";

START_TEST(test_mattermost_default_body)
{
    json_t *p = s_payload();
    json_t *cfg = json_pack("{s:b, s:s}", "send_resolved", 1, "webhook_url_file", S_DIR "/url");
    struct notifyd_req r;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_mattermost_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.url, "http://mm.example/hooks/SECRET-file"); // read now, trimmed
    ck_assert_uint_eq(r.headers_len, 0);
    // No attachments configured: one attachment of the top-level texts, no top-level text.
    json_t *want = json_pack(
        "{s:s, s:[{s:s, s:s, s:s, s:s, s:s}]}", "username", "Alertmanager", "attachments",
        "fallback", "[FIRING:1] LineStopped (P) | http://am:9093/#/alerts?receiver=team+a", "color",
        "danger", "text", s_text, "title", "[FIRING:1] LineStopped (P)", "title_link",
        "http://am:9093/#/alerts?receiver=team+a");
    char *w = json_dumps(want, JSON_COMPACT | JSON_PRESERVE_ORDER);
    ck_assert_str_eq(r.body, w);
    free(w);
    json_decref(want);
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_mattermost_attachments_priority)
{
    json_t *p = s_payload();
    json_t *cfg = json_loads(
        "{\"webhook_url\":\"http://mm/hooks/x\",\"text\":\"{{ len .Alerts }} down\","
        "\"channel\":\"ops\",\"icon_emoji\":\":warning:\",\"type\":\"custom_x\","
        "\"attachments\":[{\"title\":\"T {{ .Status }}\",\"fields\":[{\"title\":\"a\","
        "\"value\":\"b\",\"short\":false},{\"title\":\"c\",\"value\":\"d\"}],\"footer\":\"f\"}],"
        "\"props\":{\"card\":\"card {{ .Status }}\"},"
        "\"priority\":{\"priority\":\"whatever\",\"requested_ack\":true,"
        "\"persistent_notifications\":true}}",
        0, NULL);
    struct notifyd_req r;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_mattermost_build(cfg, p, &r, &err), 0);
    // With attachments: the configured ones (no defaults) and the top-level text; an
    // unknown priority becomes standard, which drops requested_ack and
    // persistent_notifications (sanitizeRequest).
    ck_assert_str_eq(r.body,
                     "{\"text\":\"1 down\",\"channel\":\"ops\",\"username\":\"Alertmanager\","
                     "\"icon_emoji\":\":warning:\",\"attachments\":[{\"title\":\"T firing\","
                     "\"fields\":[{\"title\":\"a\",\"value\":\"b\",\"short\":false},"
                     "{\"title\":\"c\",\"value\":\"d\"}],\"footer\":\"f\"}],"
                     "\"type\":\"custom_x\",\"props\":{\"card\":\"card firing\"},"
                     "\"priority\":{\"priority\":\"standard\"}}");
    notifyd_req_clear(&r);
    // Urgent keeps both flags; Important keeps requested_ack only.
    json_object_set_new(json_object_get(cfg, "priority"), "priority", json_string("URGENT"));
    ck_assert_int_eq(notifyd_mattermost_build(cfg, p, &r, &err), 0);
    ck_assert_ptr_nonnull(strstr(r.body,
                                 "\"priority\":{\"priority\":\"urgent\","
                                 "\"requested_ack\":true,\"persistent_notifications\":true}"));
    notifyd_req_clear(&r);
    json_object_set_new(json_object_get(cfg, "priority"), "priority", json_string("important"));
    ck_assert_int_eq(notifyd_mattermost_build(cfg, p, &r, &err), 0);
    ck_assert_ptr_nonnull(
        strstr(r.body, "\"priority\":{\"priority\":\"important\",\"requested_ack\":true}}"));
    notifyd_req_clear(&r);
    // No URL: not sent.
    json_object_del(cfg, "webhook_url");
    ck_assert_int_eq(notifyd_mattermost_build(cfg, p, &r, &err), -1);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

Suite *
mattermost_suite(void)
{
    Suite *s = suite_create("mattermost");
    TCase *tc = tcase_create("mattermost");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_mattermost_cfg_load_notify);
    tcase_add_test(tc, test_mattermost_cfg_refused);
    tcase_add_test(tc, test_mattermost_default_body);
    tcase_add_test(tc, test_mattermost_attachments_priority);
    suite_add_tcase(s, tc);
    return s;
}
