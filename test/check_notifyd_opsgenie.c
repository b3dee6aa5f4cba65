/*  check_notifyd_opsgenie.c — the Opsgenie Alert API request builder (opsgenie_configs).

    Expected bodies follow Alertmanager 0.25's notify/opsgenie/opsgenie.go (createRequests)
    written out by hand: alias the SHA-256 of the group key, computed independently with
        python3 -c 'import hashlib; print(hashlib.sha256(b"{}:{alertname=\"LineStopped\"}")
                    .hexdigest())'
    message = __subject, source = __alertmanagerURL (template/default.tmpl). The whole
    default description is compared with Alertmanager's own requests by
    test/it/receivers_opsgenie.sh.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../notifyd/notifyd_opsgenie.h"
#include "../notifyd/notifyd_tmpl.h"

#define S_ALIAS "922a26c87417116d619060e23ba95b941ec293cb7f4d6a552cd5356605e531b7"
#define S_BASE "https://api.example.opsgenie.com/"

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
    if (strcmp(status, "resolved") == 0) {
        size_t i;
        json_t *a;
        json_array_foreach(json_object_get(p, "alerts"), i, a)
            json_object_set_new(a, "status", json_string("resolved"));
    }
    return p;
}

static json_t *
s_body(const char *got)
{
    size_t n = strlen(got);
    ck_assert_msg(n > 0 && got[n - 1] == '\n', "no trailing newline: %s", got);
    json_t *g = json_loads(got, 0, NULL);
    ck_assert_msg(g != NULL, "not JSON: %s", got);
    return g;
}

static void
s_assert_json_eq(const char *got, json_t *want)
{
    json_t *g = s_body(got);
    char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
    char *gs = json_dumps(g, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(g, want), "got  %s\nwant %s", gs, w);
    free(w);
    free(gs);
    json_decref(g);
    json_decref(want);
}

START_TEST(test_notifyd_opsgenie_create_default)
{
    notifyd_tmpl_use(NULL);
    json_t *p = s_payload("firing");
    json_t *cfg =
        json_pack("{s:b, s:s, s:s}", "send_resolved", 1, "api_url", S_BASE, "api_key", "k-123");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_opsgenie_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, S_BASE "v2/alerts");
    ck_assert_ptr_null(r.method); // POST
    ck_assert_ptr_null(r.then);
    ck_assert_uint_eq(r.headers_len, 1);
    ck_assert_str_eq(r.headers[0], "Authorization: GenieKey k-123");
    json_t *b = s_body(r.body);
    ck_assert_str_eq(json_string_value(json_object_get(b, "alias")), S_ALIAS);
    ck_assert_str_eq(json_string_value(json_object_get(b, "message")),
                     "[FIRING:2] LineStopped (P)");
    ck_assert_str_eq(json_string_value(json_object_get(b, "source")),
                     "http://am:9093/#/alerts?receiver=team+a");
    char *desc = notifyd_tmpl_default("opsgenie.default.description", p);
    ck_assert_str_eq(json_string_value(json_object_get(b, "description")), desc);
    ck_assert_ptr_nonnull(strstr(desc, "Alerts Firing:"));
    free(desc);
    // details: the common labels; no responders, tags, note, priority, entity, actions.
    json_t *want = json_pack("{s:s, s:s}", "alertname", "LineStopped", "plant", "P");
    ck_assert(json_equal(json_object_get(b, "details"), want));
    json_decref(want);
    ck_assert_uint_eq(json_object_size(b), 5);
    // Go's key order: alias, message, description, details, source.
    ck_assert_ptr_nonnull(strstr(r.body, "{\"alias\":"));
    ck_assert(strstr(r.body, "\"description\"") < strstr(r.body, "\"details\""));
    json_decref(b);
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_opsgenie_create_fields)
{
    notifyd_tmpl_use(NULL);
    json_t *p = s_payload("firing");
    json_t *cfg = json_loads(
        "{\"send_resolved\":true,\"api_url\":\"" S_BASE "\",\"api_key\":\"k\","
        "\"message\":\"{{ .CommonLabels.alertname }} \\u00e9"
        "0123456789012345678901234567890123456789012345678901234567890123456789"
        "0123456789012345678901234567890123456789012345678901234567890123456789\","
        "\"description\":\"\",\"source\":\"floor\",\"entity\":\"{{ .CommonLabels.plant }}\","
        "\"note\":\"n\",\"priority\":\"{{ if eq .Status \\\"firing\\\" }}P1{{ end }}\","
        "\"tags\":\"  a,b,,{{ .CommonLabels.plant }} ,\",\"actions\":\" ,\","
        "\"details\":{\"plant\":\"over {{ .CommonLabels.plant }}\",\"shift\":\"night\"},"
        "\"responders\":[{\"name\":\"ops\",\"type\":\"team\"},"
        "{\"id\":\"{{ .CommonLabels.nope }}\",\"type\":\"{{ .CommonLabels.nope }}\"},"
        "{\"name\":\"t1,{{ .CommonLabels.plant }},\",\"type\":\"teams\"},"
        "{\"username\":\"a@b.c\",\"type\":\"User\"}],"
        "\"update_alerts\":false}",
        0, NULL);
    ck_assert_ptr_nonnull(cfg);
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_opsgenie_build(cfg, p, &r, NULL), 0);
    // message: 130 runes, the last "…" (TruncateInRunes).
    char msg[512] = "LineStopped \xc3\xa9";
    strcat(msg, "01234567890123456789012345678901234567890123456789"
                "01234567890123456789012345678901234567890123456789"
                "0123456789012345");
    strcat(msg, "\xe2\x80\xa6");
    s_assert_json_eq(
        r.body,
        json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s},"
                  " {s:s, s:s}], s:[s,s,s], s:s, s:s, s:s}",
                  "alias", S_ALIAS, "message", msg, "details", "alertname", "LineStopped", "plant",
                  "over P", "shift", "night", "source", "floor", "responders", "name", "ops",
                  "type", "team", "name", "t1", "type", "team", "name", "P", "type", "team",
                  "username", "a@b.c", "type", "User", "tags", "a", "b", "P ", "note", "n",
                  "priority", "P1", "entity", "P"));
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_opsgenie_update_alerts)
{
    notifyd_tmpl_use(NULL);
    json_t *p = s_payload("firing");
    json_t *cfg = json_pack("{s:s, s:s, s:b, s:s, s:s}", "api_url", S_BASE, "api_key", "k",
                            "update_alerts", 1, "message", "m", "description", "");
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_opsgenie_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, S_BASE "v2/alerts");
    ck_assert_ptr_nonnull(r.then);
    ck_assert_str_eq(r.then->method, "PUT");
    ck_assert_str_eq(r.then->url, S_BASE "v2/alerts/" S_ALIAS "/message?identifierType=alias");
    s_assert_json_eq(r.then->body, json_pack("{s:s}", "message", "m"));
    ck_assert_ptr_nonnull(r.then->then);
    ck_assert_str_eq(r.then->then->method, "PUT");
    ck_assert_str_eq(r.then->then->url,
                     S_BASE "v2/alerts/" S_ALIAS "/description?identifierType=alias");
    s_assert_json_eq(r.then->then->body, json_object()); // description omitted when empty
    ck_assert_ptr_null(r.then->then->then);
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_opsgenie_close)
{
    notifyd_tmpl_use(NULL);
    json_t *p = s_payload("resolved");
    json_t *cfg = json_pack("{s:s, s:s, s:b}", "api_url", "http://og.local/x/", "api_key", "k",
                            "update_alerts", 1);
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_opsgenie_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.url, "http://og.local/x/v2/alerts/" S_ALIAS "/close?identifierType=alias");
    ck_assert_ptr_null(r.method);
    ck_assert_ptr_null(r.then); // no updates on close
    ck_assert_str_eq(r.headers[0], "Authorization: GenieKey k");
    s_assert_json_eq(r.body,
                     json_pack("{s:s}", "source", "http://am:9093/#/alerts?receiver=team+a"));
    notifyd_req_clear(&r);
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_notifyd_opsgenie_key_file)
{
    notifyd_tmpl_use(NULL);
    (void)mkdir("test/tmp", 0755);
    const char *path = "test/tmp/og_key";
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("from-file-1\n", f);
    fclose(f);
    json_t *p = s_payload("firing");
    json_t *cfg = json_pack("{s:s, s:s}", "api_url", S_BASE, "api_key_file", path);
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_opsgenie_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.headers[0], "Authorization: GenieKey from-file-1");
    notifyd_req_clear(&r);
    unlink(path);
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_opsgenie_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "og_key"));
    json_decref(cfg);
    cfg = json_pack("{s:s}", "api_url", S_BASE);
    ck_assert_int_eq(notifyd_opsgenie_build(cfg, p, &r, &err), -1);
    ck_assert_str_eq(err.msg, "opsgenie_config without api_key");
    json_decref(cfg);
    json_decref(p);
}
END_TEST

Suite *
notifyd_opsgenie_suite(void)
{
    Suite *s = suite_create("notifyd_opsgenie");
    TCase *tc = tcase_create("builder");
    tcase_add_test(tc, test_notifyd_opsgenie_create_default);
    tcase_add_test(tc, test_notifyd_opsgenie_create_fields);
    tcase_add_test(tc, test_notifyd_opsgenie_update_alerts);
    tcase_add_test(tc, test_notifyd_opsgenie_close);
    tcase_add_test(tc, test_notifyd_opsgenie_key_file);
    suite_add_tcase(s, tc);
    return s;
}
