/*  check_pushover.c — pushover_configs end to end in one process: alertd's table and checks
    (Alertmanager 0.25's errors, Go durations for retry and expire, the keys later versions
    added refused), what NOTIFY carries (user_key and token secrets taps never see), and
    notifyd's request as notify/pushover/pushover.go makes it: POST to the fixed URL with
    every parameter in the query string (sorted, Go's QueryEscape), empty text/plain body,
    TruncateInRunes' cuts (250/1024/512), TrimSpace and "(no details)", html=1 with HTML
    escaping, the default priority 2 firing / 0 resolved. test/it/receivers_chat.sh compares
    the request with the real Alertmanager 0.25's.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_pushover.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "../notifyd/notifyd_pushover.h"
#include "../notifyd/notifyd_req.h"
#include "check_util_alertd.h"
#include "fw_msg.h"

START_TEST(test_pushover_cfg_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg =
        alertd_cfg_load("ok.yml",
                        "route: {receiver: p}\n"
                        "receivers:\n"
                        "  - name: p\n"
                        "    pushover_configs:\n"
                        "      - {user_key: SECRET-user, token: SECRET-token}\n"
                        "      - user_key: u2\n"
                        "        token: t2\n"
                        "        retry: 1m30s\n"
                        "        expire: 1.5h\n"
                        "        html: true\n"
                        "        send_resolved: false\n"
                        "        priority: '{{ if eq .Status \"firing\" }}1{{ else }}-1{{ end }}'\n"
                        "        sound: siren\n"
                        "        url_title: Runbook\n"
                        "        title: '{{ template \"pushover.default.title\" . }}'\n",
                        &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *a = json_object_get(n, "pushover_configs");
    ck_assert_uint_eq(json_array_size(a), 2);
    json_t *p0 = json_array_get(a, 0), *p1 = json_array_get(a, 1);
    ck_assert_str_eq(json_string_value(json_object_get(p0, "user_key")), "SECRET-user");
    ck_assert_str_eq(json_string_value(json_object_get(p0, "token")), "SECRET-token");
    ck_assert(json_is_true(json_object_get(p0, "send_resolved")));
    ck_assert(json_is_false(json_object_get(p0, "html")));
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "retry_s")), 60);
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "expire_s")), 3600);
    ck_assert_ptr_null(json_object_get(p0, "priority"));
    ck_assert_ptr_null(json_object_get(p0, "title"));
    ck_assert_int_eq(json_integer_value(json_object_get(p1, "retry_s")), 90);
    ck_assert_int_eq(json_integer_value(json_object_get(p1, "expire_s")), 5400);
    ck_assert(json_is_true(json_object_get(p1, "html")));
    ck_assert(json_is_false(json_object_get(p1, "send_resolved")));
    ck_assert_str_eq(json_string_value(json_object_get(p1, "sound")), "siren");
    ck_assert_str_eq(json_string_value(json_object_get(p1, "url_title")), "Runbook");
    ck_assert_ptr_null(json_object_get(p1, "title")); // the default expression
    json_object_set_new(n, "receiver", json_string("p"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    free(shown);
    json_decref(red);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_pushover_cfg_refused)
{
    static const char *const want[] = {
        "bad.yml:5:9: error: missing user key in Pushover config",
        "bad.yml:6:9: error: missing token in Pushover config",
        "bad.yml:7:40: error: pushover_configs.retry: time: invalid duration \"1d\"",
        "bad.yml:8:41: error: pushover_configs.expire: time: invalid duration \"soon\"",
        "bad.yml:9:33: error: receivers[0].pushover_configs[4].user_key_file: not supported by "
        "floorwatch (Alertmanager 0.25 has no such key)",
        "bad.yml:10:33: error: receivers[0].pushover_configs[5].token_file: not supported",
        "bad.yml:11:33: error: receivers[0].pushover_configs[6].device: not supported",
        "bad.yml:12:33: error: receivers[0].pushover_configs[7].ttl: not supported",
        "bad.yml:13:33: error: receivers[0].pushover_configs[8].monospace: not supported",
        "bad.yml:14:55: error: pushover_configs.priority: template: pushover_configs.priority:1: "
        "unexpected EOF",
    };
    check_util_alertd_cfg_errors("route: {receiver: t}\n"                                      // 1
                                 "receivers:\n"                                                // 2
                                 "  - name: t\n"                                               // 3
                                 "    pushover_configs:\n"                                     // 4
                                 "      - {token: SECRET-a}\n"                                 // 5
                                 "      - {user_key: SECRET-b}\n"                              // 6
                                 "      - {user_key: u, token: t, retry: 1d}\n"                // 7
                                 "      - {user_key: u, token: t, expire: soon}\n"             // 8
                                 "      - {user_key: u, token: t, user_key_file: f}\n"         // 9
                                 "      - {user_key: u, token: t, token_file: f}\n"            // 10
                                 "      - {user_key: u, token: t, device: d}\n"                // 11
                                 "      - {user_key: u, token: t, ttl: 1h}\n"                  // 12
                                 "      - {user_key: u, token: t, monospace: true}\n"          // 13
                                 "      - {user_key: u, token: t, priority: '{{ if .X }}'}\n", // 14
                                 want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

START_TEST(test_pushover_duration)
{
    int64_t ns;
    ck_assert_int_eq(alertd_cfg_pushover_duration("1m30s", &ns), 0);
    ck_assert_int_eq(ns, 90000000000);
    ck_assert_int_eq(alertd_cfg_pushover_duration("1.5h", &ns), 0);
    ck_assert_int_eq(ns, 5400000000000);
    ck_assert_int_eq(alertd_cfg_pushover_duration("0", &ns), 0);
    ck_assert_int_eq(ns, 0);
    ck_assert_int_eq(alertd_cfg_pushover_duration("-2s", &ns), 0);
    ck_assert_int_eq(ns, -2000000000);
    ck_assert_int_eq(alertd_cfg_pushover_duration("1500ms", &ns), 0);
    ck_assert_int_eq(ns, 1500000000);
    ck_assert_int_eq(alertd_cfg_pushover_duration(".5s", &ns), 0);
    ck_assert_int_eq(ns, 500000000);
    const char *bad[] = {"", "1", "1d", "s", "1.s.", "1m-1s", "3000000h", "+", "1 s"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(alertd_cfg_pushover_duration(bad[i], &ns) == -1, "%s", bad[i]);
}
END_TEST

static json_t *
s_payload(const char *status)
{
    json_t *p =
        json_loads("{\"receiver\":\"p\",\"status\":\"firing\",\"externalURL\":\"http://am:9093\","
                   "\"groupKey\":\"{}:{alertname=\\\"LineStopped\\\"}\","
                   "\"groupLabels\":{\"alertname\":\"LineStopped\"},"
                   "\"commonLabels\":{\"alertname\":\"LineStopped\",\"line\":\"L1\"},"
                   "\"commonAnnotations\":{\"summary\":\"a < b & c\"},"
                   "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"line\":\"L1\","
                   "\"alertname\":\"LineStopped\"},\"annotations\":{\"summary\":\"a < b & c\"},"
                   "\"generatorURL\":\"http://g/1\"}]}",
                   0, NULL);
    json_object_set_new(p, "status", json_string(status));
    json_object_set_new(json_array_get(json_object_get(p, "alerts"), 0), "status",
                        json_string(status));
    return p;
}

// The value of query parameter name in url (decoded: '+' and %XX), or NULL: a new string.
static char *
s_param(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    size_t n = strlen(name);
    for (const char *p = q; p && *p; p = strchr(p + 1, '&')) {
        if (strncmp(p + 1, name, n) != 0 || p[1 + n] != '=')
            continue;
        const char *v = p + 2 + n;
        char *out = malloc(strlen(v) + 1), *o = out;
        for (; *v && *v != '&'; v++) {
            if (*v == '+') {
                *o++ = ' ';
            } else if (*v == '%') {
                unsigned x;
                sscanf(v + 1, "%2x", &x);
                *o++ = (char)x;
                v += 2;
            } else {
                *o++ = *v;
            }
        }
        *o = 0;
        return out;
    }
    return NULL;
}

START_TEST(test_pushover_request)
{
    json_t *p = s_payload("firing");
    json_t *cfg =
        json_pack("{s:b, s:s, s:s, s:I, s:I, s:b}", "send_resolved", 1, "user_key", "uKey", "token",
                  "aToken", "retry_s", (json_int_t)60, "expire_s", (json_int_t)3600, "html", 0);
    struct notifyd_req r;
    ck_assert_int_eq(notifyd_pushover_build(cfg, p, &r, NULL), 0);
    ck_assert_str_eq(r.body, "");
    ck_assert_uint_eq(r.headers_len, 1);
    ck_assert_str_eq(r.headers[0], "Content-Type: text/plain");
    // Sorted keys: expire, message, priority, retry, sound, title, token, url, url_title, user.
    const char *want_start = "https://api.pushover.net/1/messages.json?expire=3600&message=";
    ck_assert_msg(strncmp(r.url, want_start, strlen(want_start)) == 0, "%s", r.url);
    ck_assert_msg(strstr(r.url, "&priority=2&retry=60&sound=&title=%5BFIRING%3A1%5D+"
                                "LineStopped+%28L1%29&token=aToken&url=http%3A%2F%2Fam%3A9093%2F"),
                  "%s", r.url);
    ck_assert_msg(strstr(r.url, "&url_title=&user=uKey") != NULL &&
                      strcmp(strstr(r.url, "&user=uKey"), "&user=uKey") == 0,
                  "%s", r.url);
    char *m = s_param(r.url, "message");
    // pushover.default.message, trimmed: the common annotations first, not HTML-escaped.
    ck_assert_msg(strncmp(m, "Summary: a < b & c", 18) == 0 || strstr(m, "a < b & c"), "%s", m);
    ck_assert(m[0] != '\n' && m[strlen(m) - 1] != '\n');
    free(m);
    notifyd_req_clear(&r);
    json_decref(p);
    // Resolved: priority 0; html: html=1 and the message escaped; cuts.
    p = s_payload("resolved");
    json_object_set_new(cfg, "html", json_true());
    json_object_set_new(cfg, "message", json_string("<b>{{ .CommonAnnotations.summary }}</b>"));
    char big[600];
    memset(big, 'u', sizeof big - 1);
    big[sizeof big - 1] = 0;
    json_object_set_new(cfg, "url", json_string(big));
    ck_assert_int_eq(notifyd_pushover_build(cfg, p, &r, NULL), 0);
    char *v = s_param(r.url, "priority");
    ck_assert_str_eq(v, "0");
    free(v);
    v = s_param(r.url, "html");
    ck_assert_str_eq(v, "1");
    free(v);
    v = s_param(r.url, "message");
    ck_assert_str_eq(v, "<b>a &lt; b &amp; c</b>");
    free(v);
    v = s_param(r.url, "url");
    ck_assert_uint_eq(strlen(v), 511 + 3); // 511 runes and "…"
    ck_assert_str_eq(v + 511, "…");
    free(v);
    notifyd_req_clear(&r);
    // A message that renders to white space only: "(no details)".
    json_object_set_new(cfg, "html", json_false());
    json_object_set_new(cfg, "message", json_string("  {{ \"\" }}\n"));
    ck_assert_int_eq(notifyd_pushover_build(cfg, p, &r, NULL), 0);
    v = s_param(r.url, "message");
    ck_assert_str_eq(v, "(no details)");
    free(v);
    ck_assert_ptr_nonnull(strstr(r.url, "&message=%28no+details%29&"));
    notifyd_req_clear(&r);
    json_object_del(cfg, "token");
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_pushover_build(cfg, p, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "token"));
    json_decref(cfg);
    json_decref(p);
}
END_TEST

START_TEST(test_pushover_query_escape)
{
    char *s = notifyd_pushover_query_escape(NULL, "a b+c/d?e=f&g~h_i-j.k é");
    ck_assert_str_eq(s, "a+b%2Bc%2Fd%3Fe%3Df%26g~h_i-j.k+%C3%A9");
    s = notifyd_pushover_query_escape(s, "!");
    ck_assert_str_eq(s, "a+b%2Bc%2Fd%3Fe%3Df%26g~h_i-j.k+%C3%A9%21");
    free(s);
}
END_TEST

Suite *
pushover_suite(void)
{
    Suite *s = suite_create("pushover");
    TCase *tc = tcase_create("pushover");
    tcase_add_test(tc, test_pushover_cfg_notify);
    tcase_add_test(tc, test_pushover_cfg_refused);
    tcase_add_test(tc, test_pushover_duration);
    tcase_add_test(tc, test_pushover_request);
    tcase_add_test(tc, test_pushover_query_escape);
    suite_add_tcase(s, tc);
    return s;
}
