/*  check_alertd_cfg_opsgenie.c — opsgenie_configs in alertmanager.yml: load, the global
    defaults (opsgenie_api_key / _file / _url, https://api.opsgenie.com/), what NOTIFY carries
    (texts absent for the defaults, api_key_file passed on for notifyd to read), taps see
    <secret>, and every refusal with file:line:col (Alertmanager 0.25's messages where it has
    one: config/notifiers.go OpsGenieConfig.UnmarshalYAML, config/config.go).
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

static json_t *
s_notify(const char *text, size_t receiver)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ok.yml", text, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[receiver], n);
    alertd_cfg_destroy(&cfg);
    return n;
}

static const char *
s_str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

START_TEST(test_alertd_cfg_opsgenie_load_notify)
{
    json_t *n =
        s_notify("global:\n  opsgenie_api_key: SECRET-global\n"
                 "route: {receiver: a}\n"
                 "receivers:\n"
                 "  - name: a\n"
                 "    opsgenie_configs:\n"
                 "      - message: '{{ template \"opsgenie.default.message\" . }}'\n"
                 "        priority: '{{ .CommonLabels.prio }}'\n"
                 "        tags: 'a,b'\n"
                 "        update_alerts: true\n"
                 "        details: {shift: night}\n"
                 "        responders:\n"
                 "          - {name: ops, type: Team}\n"
                 "          - {id: '{{ .CommonLabels.team }}', type: '{{ .CommonLabels.t }}'}\n"
                 "      - api_key: SECRET-own\n"
                 "        api_url: http://og.local:8080/base\n"
                 "        send_resolved: false\n"
                 "      - api_key_file: /no/such/file\n",
                 0);
    json_t *a = json_object_get(n, "opsgenie_configs");
    ck_assert_uint_eq(json_array_size(a), 3);
    json_t *c0 = json_array_get(a, 0), *c1 = json_array_get(a, 1), *c2 = json_array_get(a, 2);
    ck_assert_str_eq(s_str(c0, "api_key"), "SECRET-global");
    ck_assert_str_eq(s_str(c0, "api_url"), "https://api.opsgenie.com/");
    ck_assert(json_is_true(json_object_get(c0, "send_resolved")));
    ck_assert(json_is_true(json_object_get(c0, "update_alerts")));
    ck_assert_ptr_null(json_object_get(c0, "message")); // the default: notifyd renders it
    ck_assert_str_eq(s_str(c0, "priority"), "{{ .CommonLabels.prio }}");
    ck_assert_str_eq(s_str(c0, "tags"), "a,b");
    ck_assert_str_eq(s_str(json_object_get(c0, "details"), "shift"), "night");
    json_t *r = json_object_get(c0, "responders");
    ck_assert_uint_eq(json_array_size(r), 2);
    ck_assert_str_eq(s_str(json_array_get(r, 0), "type"), "Team"); // sent as written, as AM
    ck_assert_str_eq(s_str(c1, "api_key"), "SECRET-own");
    ck_assert_str_eq(s_str(c1, "api_url"), "http://og.local:8080/base/");
    ck_assert(json_is_false(json_object_get(c1, "send_resolved")));
    // A key file is read by notifyd at each notification, as Alertmanager reads it.
    ck_assert_ptr_null(json_object_get(c2, "api_key"));
    ck_assert_str_eq(s_str(c2, "api_key_file"), "/no/such/file");
    // Taps see <secret>.
    json_object_set_new(n, "receiver", json_string("a"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"api_key\":\"<secret>\""));
    free(shown);
    json_decref(red);
    json_decref(n);
    // global.opsgenie_api_url and _file.
    n = s_notify(
        "global:\n  opsgenie_api_key_file: /k\n  opsgenie_api_url: https://api.eu.opsgenie.com\n"
        "route: {receiver: a}\n"
        "receivers:\n  - name: a\n    opsgenie_configs: [{}]\n",
        0);
    c0 = json_array_get(json_object_get(n, "opsgenie_configs"), 0);
    ck_assert_str_eq(s_str(c0, "api_url"), "https://api.eu.opsgenie.com/");
    ck_assert_str_eq(s_str(c0, "api_key_file"), "/k");
    json_decref(n);
}
END_TEST

START_TEST(test_alertd_cfg_opsgenie_refused)
{
    static const char *const want[] = {
        "bad.yml:5:9: error: at most one of api_key & api_key_file must be configured",
        "bad.yml:7:22: error: opsGenieConfig responder has to have at least one of id, "
        "username or name specified",
        "bad.yml:8:11: error: opsGenieConfig responder type \"squad\" does not match valid "
        "options ^(team|teams|user|escalation|schedule)$",
        "bad.yml:9:11: error: opsGenieConfig responder type \"\" does not match",
        "bad.yml:10:9: error: no global OpsGenie API Key set either inline or in a file",
        "bad.yml:10:9: error: api_url: unsupported scheme \"ftp\" for URL",
        "bad.yml:11:9: error: opsgenie_configs: api_key as a template is not supported",
        "bad.yml:13:22: error: opsgenie_configs: http_config credentials are not supported",
        "bad.yml:14:22: error: unknown key 'teams' in receivers[0].opsgenie_configs[4]",
        "bad.yml:15:41: error: opsgenie_configs.priority: template: opsgenie_configs.priority:1: "
        "function \"nofunc\" not defined",
        "bad.yml:16:9: error: api_url: a query or fragment in the Opsgenie URL is not supported",
    };
    check_util_alertd_cfg_errors("route: {receiver: a}\n"                                // 1
                                 "receivers:\n"                                          // 2
                                 "  - name: a\n"                                         // 3
                                 "    opsgenie_configs:\n"                               // 4
                                 "      - api_key: SECRET-1\n"                           // 5
                                 "        api_key_file: /f\n"                            // 6
                                 "        responders: [{type: team},\n"                  // 7
                                 "          {name: x, type: squad},\n"                   // 8
                                 "          {name: y}]\n"                                // 9
                                 "      - api_url: 'ftp://x/'\n"                         // 10
                                 "      - {api_key: '{{ .X }}'}\n"                       // 11
                                 "      - api_key: k\n"                                  // 12
                                 "        http_config: {bearer_token: SECRET-2}\n"       // 13
                                 "      - {api_key: k, teams: 'team-X'}\n"               // 14
                                 "      - {api_key: k, priority: '{{ .X | nofunc }}'}\n" // 15
                                 "      - {api_key: k, api_url: 'https://h/?x=1'}\n",    // 16
                                 want, sizeof want / sizeof *want, "SECRET-");
    static const char *const want2[] = {
        "bad.yml:2:3: error: at most one of opsgenie_api_key & opsgenie_api_key_file must be "
        "configured",
        "bad.yml:8:24: error: opsgenie_api_url: unsupported scheme \"ftp\" for URL"};
    check_util_alertd_cfg_errors("global:\n"                               // 1
                                 "  opsgenie_api_key: SECRET-3\n"          // 2
                                 "  opsgenie_api_key_file: /f\n"           // 3
                                 "  opsgenie_api_url: 'ftp://og/'\n"       // 4
                                 "route: {receiver: a}\n"                  // 5
                                 "receivers:\n"                            // 6
                                 "  - name: a\n"                           // 7
                                 "    opsgenie_configs: [{api_key: k}]\n", // 8
                                 want2, 2, "SECRET-");
}
END_TEST

Suite *
alertd_cfg_opsgenie_suite(void)
{
    Suite *s = suite_create("alertd_cfg_opsgenie");
    TCase *tc = tcase_create("cfg");
    tcase_add_test(tc, test_alertd_cfg_opsgenie_load_notify);
    tcase_add_test(tc, test_alertd_cfg_opsgenie_refused);
    suite_add_tcase(s, tc);
    return s;
}
