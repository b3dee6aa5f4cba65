/*  check_notifyd_receivers.c — the Slack and PagerDuty request builders and the default texts
    (notifyd_tmpl, on common/fw_tmpl_default.tmpl) against the payloads Alertmanager 0.25 sends for
   the same data (its notify/slack and notify/pagerduty code and template/default.tmpl;
   test/it/receivers.sh compares with a running Alertmanager too).
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "../notifyd/notifyd_pagerduty.h"
#include "../notifyd/notifyd_slack.h"
#include "../notifyd/notifyd_tmpl.h"

static json_t *
s_payload(const char *status2)
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
    if (status2) {
        json_object_set_new(json_array_get(json_object_get(p, "alerts"), 1), "status",
                            json_string(status2));
    }
    return p;
}

START_TEST(test_notifyd_tmpl_defaults)
{
    json_t *p = s_payload(NULL);
    notifyd_tmpl_use(NULL);
    char *s = notifyd_tmpl_default("__subject", p);
    ck_assert_str_eq(s, "[FIRING:2] LineStopped (P)");
    free(s);
    s = notifyd_tmpl_default("slack.default.fallback", p);
    ck_assert_str_eq(s, "[FIRING:2] LineStopped (P) | http://am:9093/#/alerts?receiver=team+a");
    free(s);
    s = notifyd_tmpl_default("pagerduty.details.firing", p);
    ck_assert_str_eq(s, "Labels:\n - alertname = LineStopped\n - line = L1\n - plant = P\n"
                        "Annotations:\n - summary = one\nSource: http://g/1\n"
                        "Labels:\n - alertname = LineStopped\n - line = L2\n - plant = P\n"
                        "Annotations:\nSource: http://g/2\n");
    free(s);
    s = notifyd_tmpl_default("no.such.text", p); // logged, sent empty
    ck_assert_str_eq(s, "");
    free(s);
    // a config text that fails sends the default; a templates: file redefines a default
    s = notifyd_tmpl_text("title", "{{ .NoSuch.Field.x }}{{ template \"nope\" . }}", p,
                          "slack.default.title");
    ck_assert_str_eq(s, "[FIRING:2] LineStopped (P)");
    free(s);
    json_t *files = json_pack("[{s:s, s:s}]", "name", "t.tmpl", "text",
                              "{{ define \"__subject\" }}{{ len .Alerts }} on "
                              "{{ .CommonLabels.plant }}{{ end }}");
    notifyd_tmpl_use(files);
    s = notifyd_tmpl_default("slack.default.fallback", p);
    ck_assert_str_eq(s, "2 on P | http://am:9093/#/alerts?receiver=team+a");
    free(s);
    s = notifyd_tmpl_text("title", "<{{ template \"slack.default.title\" . }}>", p, NULL);
    ck_assert_str_eq(s, "<2 on P>");
    free(s);
    notifyd_tmpl_use(NULL);
    json_decref(files);
    // No label beyond the group's: the trailing blank stays (default.tmpl's __subject).
    json_object_set_new(p, "commonLabels", json_pack("{s:s}", "alertname", "LineStopped"));
    json_object_set_new(p, "status", json_string("resolved"));
    s = notifyd_tmpl_default("__subject", p);
    ck_assert_str_eq(s, "[RESOLVED] LineStopped ");
    free(s);
    bool cut;
    s = notifyd_tmpl_truncate_runes("äbcdef", 5, &cut);
    ck_assert(cut);
    ck_assert_str_eq(s, "äbcd\xE2\x80\xA6");
    free(s);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_tmpl_data_send_resolved)
{
    json_t *p = s_payload("resolved");
    json_t *d = notifyd_tmpl_data(p, false);
    ck_assert_int_eq(json_array_size(json_object_get(d, "alerts")), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d, "commonLabels"), "line")),
                     "L1");
    json_decref(d);
    d = notifyd_tmpl_data(p, true);
    ck_assert_int_eq(json_array_size(json_object_get(d, "alerts")), 2);
    json_decref(d);
    json_decref(p);
    p = s_payload("resolved");
    json_object_set_new(json_array_get(json_object_get(p, "alerts"), 0), "status",
                        json_string("resolved"));
    ck_assert_ptr_null(notifyd_tmpl_data(p, false));
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_slack_default_body)
{
    json_t *p = s_payload(NULL);
    json_t *cfg = json_pack("{s:s}", "api_url", "http://hooks/x");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_slack_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "http://hooks/x");
    // Alertmanager 0.25's body for this data and config (encoding/json, omitempty as its
    // structs say).
    json_t *want = json_loads(
        "{\"username\":\"Alertmanager\",\"attachments\":[{\"title\":\"[FIRING:2] LineStopped "
        "(P)\",\"title_link\":\"http://am:9093/#/alerts?receiver=team+a\",\"text\":\"\","
        "\"fallback\":\"[FIRING:2] LineStopped (P) | "
        "http://am:9093/#/alerts?receiver=team+a\",\"callback_id\":\"\",\"footer\":\"\","
        "\"color\":\"danger\",\"mrkdwn_in\":[\"fallback\",\"pretext\",\"text\"]}]}",
        0, NULL);
    json_t *got = json_loads(r.body, 0, NULL);
    ck_assert_msg(json_equal(got, want), "%s", r.body);
    json_decref(got);
    json_decref(want);
    notifyd_req_clear(&r);
    json_object_del(cfg, "api_url");
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_slack_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "api_url"));
    // api_url_file is read when the notification is built (Alertmanager reads it at send
    // time): a missing file fails this delivery, a written one is used, trimmed
    char path[] = "test/tmp/slack_url.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    unlink(path);
    json_object_set_new(cfg, "api_url_file", json_string(path));
    ck_assert_int_eq(notifyd_slack_build(cfg, p, &r, &err), -1);
    check_util_write_file(path, "http://hooks/from-file\n");
    ck_assert_int_eq(notifyd_slack_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.url, "http://hooks/from-file");
    notifyd_req_clear(&r);
    unlink(path);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_slack_fields_actions)
{
    json_t *p = s_payload(NULL);
    json_t *cfg = json_loads(
        "{\"api_url\":\"http://h/\",\"channel\":\"#c\",\"title\":\"T\",\"short_fields\":true,"
        "\"link_names\":true,\"fields\":[{\"title\":\"a\",\"value\":\"1\"},{\"title\":\"b\","
        "\"value\":\"2\",\"short\":false}],\"actions\":[{\"type\":\"button\",\"text\":\"R\","
        "\"url\":\"http://r/\",\"confirm\":{\"text\":\"sure?\"}}]}",
        0, NULL);
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_slack_build(cfg, p, &r, NULL), 0);
    json_t *got = json_loads(r.body, 0, NULL);
    json_t *att = json_array_get(json_object_get(got, "attachments"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(got, "channel")), "#c");
    ck_assert(json_is_true(json_object_get(got, "link_names")));
    ck_assert_str_eq(json_string_value(json_object_get(att, "title")), "T");
    json_t *want = json_loads("[{\"title\":\"a\",\"value\":\"1\",\"short\":true},"
                              "{\"title\":\"b\",\"value\":\"2\",\"short\":false}]",
                              0, NULL);
    ck_assert(json_equal(json_object_get(att, "fields"), want));
    json_decref(want);
    want = json_loads("[{\"type\":\"button\",\"text\":\"R\",\"url\":\"http://r/\","
                      "\"confirm\":{\"text\":\"sure?\"}}]",
                      0, NULL);
    ck_assert(json_equal(json_object_get(att, "actions"), want));
    json_decref(want);
    json_decref(got);
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

// A bot token's chat.postMessage answers 200 with {"ok": false} on failure: not a delivery.
START_TEST(test_notifyd_slack_answer)
{
    struct notifyd_answer a;
    notifyd_slack_answer(NULL, "{\"ok\":false,\"error\":\"invalid_auth\"}", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_FAILED);
    ck_assert_str_eq(a.reason, "client_error");
    ck_assert_str_eq(a.detail, "error response from Slack: invalid_auth");
    notifyd_slack_answer(NULL, "{\"ok\":true,\"channel\":\"C1\",\"ts\":\"1.2\"}", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_DELIVERED);
    notifyd_slack_answer(NULL, "ok", &a); // an incoming webhook
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_DELIVERED);
    notifyd_slack_answer(NULL, "", &a);
    ck_assert_int_eq(a.verdict, NOTIFYD_ANSWER_DELIVERED);
    // The builder installs it.
    json_t *p = s_payload(NULL);
    json_t *c = json_pack("{s:s}", "api_url", "http://127.0.0.1:1/api/chat.postMessage");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_slack_build(c, p, &r, NULL), 0);
    ck_assert(r.answer == notifyd_slack_answer);
    notifyd_req_clear(&r);
    json_decref(c);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_pagerduty_trigger_resolve)
{
    json_t *p = s_payload(NULL);
    json_t *cfg =
        json_pack("{s:s, s:{s:s}, s:[{s:s, s:s}, {s:s}]}", "routing_key", "K", "details", "shift",
                  "night", "links", "href", "http://l/", "text", "L", "text", "no href: dropped");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_pagerduty_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "https://events.pagerduty.com/v2/enqueue");
    json_t *got = json_loads(r.body, 0, NULL);
    char dedup[65];
    // sha256('{}:{alertname="LineStopped"}'), as Go's notify.Key.Hash gives it.
    notifyd_pagerduty_dedup_key("{}:{alertname=\"LineStopped\"}", dedup);
    ck_assert_str_eq(json_string_value(json_object_get(got, "dedup_key")), dedup);
    ck_assert_str_eq(json_string_value(json_object_get(got, "event_action")), "trigger");
    json_t *pl = json_object_get(got, "payload");
    ck_assert_str_eq(json_string_value(json_object_get(pl, "summary")),
                     "[FIRING:2] LineStopped (P)");
    ck_assert_str_eq(json_string_value(json_object_get(pl, "source")), "Alertmanager");
    ck_assert_str_eq(json_string_value(json_object_get(pl, "severity")), "error");
    json_t *cd = json_object_get(pl, "custom_details");
    ck_assert_str_eq(json_string_value(json_object_get(cd, "num_firing")), "2");
    ck_assert_str_eq(json_string_value(json_object_get(cd, "num_resolved")), "0");
    ck_assert_str_eq(json_string_value(json_object_get(cd, "resolved")), "");
    ck_assert_str_eq(json_string_value(json_object_get(cd, "shift")), "night");
    ck_assert_str_eq(json_string_value(json_object_get(got, "client")), "Alertmanager");
    ck_assert_str_eq(json_string_value(json_object_get(got, "client_url")),
                     "http://am:9093/#/alerts?receiver=team+a");
    ck_assert_int_eq(json_array_size(json_object_get(got, "links")), 1);
    ck_assert_ptr_null(json_object_get(got, "images"));
    json_decref(got);
    notifyd_req_clear(&r);
    json_object_set_new(p, "status", json_string("resolved"));
    ck_assert_int_eq(notifyd_pagerduty_build(cfg, p, &r, NULL), 0);
    got = json_loads(r.body, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(got, "event_action")), "resolve");
    ck_assert_str_eq(json_string_value(json_object_get(got, "dedup_key")), dedup);
    json_decref(got);
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_pagerduty_dedup_key_sha256)
{
    char k[65];
    notifyd_pagerduty_dedup_key("abc", k);
    ck_assert_str_eq(k, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
END_TEST

Suite *
notifyd_receivers_suite(void)
{
    Suite *s = suite_create("notifyd_receivers");
    TCase *tc = tcase_create("builders");
    tcase_add_test(tc, test_notifyd_tmpl_defaults);
    tcase_add_test(tc, test_notifyd_tmpl_data_send_resolved);
    tcase_add_test(tc, test_notifyd_slack_default_body);
    tcase_add_test(tc, test_notifyd_slack_fields_actions);
    tcase_add_test(tc, test_notifyd_slack_answer);
    tcase_add_test(tc, test_notifyd_pagerduty_trigger_resolve);
    tcase_add_test(tc, test_notifyd_pagerduty_dedup_key_sha256);
    suite_add_tcase(s, tc);
    return s;
}
