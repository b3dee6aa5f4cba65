/*  check_notifyd_victorops.c — the VictorOps request builder (victorops_configs).

    The expected URLs and bodies were captured from Debian's Alertmanager 0.25
    (/usr/bin/prometheus-alertmanager) sending one alert {alertname="Line<Stopped>", line="L1"}
    (annotation summary "a & b", no generatorURL) through the config
        victorops_configs: [{api_key: vokey, api_url: http://127.0.0.1:P/vo/,
                             routing_key: 'rk-{{ .GroupLabels.alertname }}',
                             custom_fields: {zeta: 'z {{ len .Alerts }}', alpha: a}}]
    to a local server that recorded the request, firing and then resolved.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../notifyd/notifyd_tmpl.h"
#include "../notifyd/notifyd_victorops.h"

#define S_ENTITY "3b2df81105c32364addd528ef83730b4ae8abf2610af81fd2d3704ad09195934"

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
    return json_pack("{s:b, s:s, s:s, s:s, s:{s:s, s:s}}", "send_resolved", 1, "api_key", "vokey",
                     "api_url", "http://127.0.0.1:9/vo/", "routing_key",
                     "rk-{{ .GroupLabels.alertname }}", "custom_fields", "zeta",
                     "z {{ len .Alerts }}", "alpha", "a");
}

static void
s_assert_body(const char *got, const char *want_json)
{
    json_t *g = json_loads(got, 0, NULL), *w = json_loads(want_json, 0, NULL);
    ck_assert_msg(g && w, "not JSON: %s", got);
    ck_assert_msg(json_equal(g, w), "got  %s\nwant %s", got, want_json);
    json_decref(g);
    json_decref(w);
}

START_TEST(test_notifyd_victorops_firing_resolved)
{
    json_t *cfg = s_config();
    json_t *p = s_payload(false);
    struct notifyd_req r;
    fw_err_t err;
    ck_assert_int_eq(notifyd_victorops_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.url, "http://127.0.0.1:9/vo/vokey/rk-Line%3CStopped%3E");
    s_assert_body(r.body, "{\"alpha\":\"a\",\"entity_display_name\":\"[FIRING:1] Line<Stopped> "
                          "(L1)\",\"entity_id\":\"" S_ENTITY "\",\"message_type\":\"CRITICAL\","
                          "\"monitoring_tool\":\"Alertmanager\",\"state_message\":\"a & "
                          "b\\nAlerts Firing:\\nLabels:\\n - alertname = Line<Stopped>\\n - line "
                          "= L1\\nAnnotations:\\n - summary = a & b\\nSource: \\n\\n\",\"zeta\":"
                          "\"z 1\"}");
    // Keys sorted as Go writes a map, and json.Encoder's newline.
    ck_assert_msg(strncmp(r.body, "{\"alpha\":", 9) == 0, "%s", r.body);
    ck_assert_int_eq(r.body[strlen(r.body) - 1], '\n');
    notifyd_req_clear(&r);
    json_decref(p);
    p = s_payload(true);
    ck_assert_int_eq(notifyd_victorops_build(cfg, p, &r, &err), 0);
    s_assert_body(r.body, "{\"alpha\":\"a\",\"entity_display_name\":\"[RESOLVED] Line<Stopped> "
                          "(L1)\",\"entity_id\":\"" S_ENTITY "\",\"message_type\":\"RECOVERY\","
                          "\"monitoring_tool\":\"Alertmanager\",\"state_message\":\"a & "
                          "b\\n\\nAlerts Resolved:\\nLabels:\\n - alertname = Line<Stopped>\\n - "
                          "line = L1\\nAnnotations:\\n - summary = a & b\\nSource: \\n\","
                          "\"zeta\":\"z 1\"}");
    notifyd_req_clear(&r);
    json_decref(p);
    json_decref(cfg);
}
END_TEST

// message_type: INFO/WARNING/CRITICAL kept while firing, anything else CRITICAL, RECOVERY when
// resolved whatever it says.
START_TEST(test_notifyd_victorops_message_type)
{
    static const char *const cases[][3] = {
        {"WARNING", "firing", "WARNING"},    {"INFO", "firing", "INFO"},
        {"warning", "firing", "CRITICAL"},   {"ACKNOWLEDGEMENT", "firing", "CRITICAL"},
        {"WARNING", "resolved", "RECOVERY"}, {"{{ if true }}INFO{{ end }}", "firing", "INFO"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *cfg = s_config();
        json_object_set_new(cfg, "message_type", json_string(cases[i][0]));
        json_t *p = s_payload(strcmp(cases[i][1], "resolved") == 0);
        struct notifyd_req r;
        fw_err_t err;
        ck_assert_int_eq(notifyd_victorops_build(cfg, p, &r, &err), 0);
        json_t *b = json_loads(r.body, 0, NULL);
        ck_assert_str_eq(json_string_value(json_object_get(b, "message_type")), cases[i][2]);
        json_decref(b);
        notifyd_req_clear(&r);
        json_decref(p);
        json_decref(cfg);
    }
}
END_TEST

// api_key_file is read at each notification (a rewritten key is used at once); a file that
// cannot be read, or a routing key rendering empty, fails the build with a reason.
START_TEST(test_notifyd_victorops_key_file_and_errors)
{
    (void)mkdir("test/tmp", 0755);
    const char *path = "test/tmp/victorops_key";
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(" key-one\n", f);
    fclose(f);
    json_t *cfg = s_config();
    json_object_del(cfg, "api_key");
    json_object_set_new(cfg, "api_key_file", json_string(path));
    json_t *p = s_payload(false);
    struct notifyd_req r;
    fw_err_t err;
    ck_assert_int_eq(notifyd_victorops_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.url, "http://127.0.0.1:9/vo/key-one/rk-Line%3CStopped%3E");
    notifyd_req_clear(&r);
    f = fopen(path, "w");
    fputs("key two\n", f);
    fclose(f);
    ck_assert_int_eq(notifyd_victorops_build(cfg, p, &r, &err), 0);
    ck_assert_str_eq(r.url, "http://127.0.0.1:9/vo/key%20two/rk-Line%3CStopped%3E");
    notifyd_req_clear(&r);
    unlink(path);
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_victorops_build(cfg, p, &r, &err), -1);
    ck_assert_msg(strstr(err.msg, "victorops_key") != NULL, "%s", err.msg);
    json_object_set_new(cfg, "api_key", json_string("k"));
    json_object_set_new(cfg, "routing_key", json_string("{{ .CommonLabels.none }}"));
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_victorops_build(cfg, p, &r, &err), -1);
    ck_assert_str_eq(err.msg, "victorops_config: routing_key renders empty");
    json_decref(p);
    json_decref(cfg);
}
END_TEST

// Go's url.URL path escaping: unreserved and $&+,/:;=@ kept, the rest %XX.
START_TEST(test_notifyd_victorops_escape)
{
    char out[64] = "";
    ck_assert_int_eq(notifyd_victorops_escape_path("a-Z_0.~$&+,/:;=@ ?#%é", out, sizeof out), 0);
    ck_assert_str_eq(out, "a-Z_0.~$&+,/:;=@%20%3F%23%25%C3%A9");
    char small[4] = "";
    ck_assert_int_eq(notifyd_victorops_escape_path("abcdef", small, sizeof small), -1);
}
END_TEST

Suite *
notifyd_victorops_suite(void)
{
    Suite *s = suite_create("notifyd_victorops");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, test_notifyd_victorops_firing_resolved);
    tcase_add_test(tc, test_notifyd_victorops_message_type);
    tcase_add_test(tc, test_notifyd_victorops_key_file_and_errors);
    tcase_add_test(tc, test_notifyd_victorops_escape);
    suite_add_tcase(s, tc);
    return s;
}
