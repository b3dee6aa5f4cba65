/*  check_alertd_cfg_victorops.c — victorops_configs in alertmanager.yml: the key resolved
    as Alertmanager 0.25 resolves it (own api_key or api_key_file, else the global ones; a
    key file is passed on, read by notifyd at each notification), the URL defaulted, what
    NOTIFY carries (texts absent for the defaults), taps see <secret>, and every refusal
    with file:line:col and Alertmanager's words.
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

static const char s_good[] =
    "global:\n"
    "  victorops_api_key_file: /nonexistent/global_key\n"
    "route: {receiver: v}\n"
    "receivers:\n"
    "  - name: v\n"
    "    victorops_configs:\n"
    "      - routing_key: 'team-{{ .GroupLabels.team }}'\n"
    "        state_message: '{{ template \"victorops.default.state_message\" . }}'\n"
    "        message_type: WARNING\n"
    "        custom_fields: {runbook: 'https://rb/{{ .CommonLabels.alertname }}'}\n"
    "      - routing_key: ops\n"
    "        api_key: SECRET-inline\n"
    "        api_url: http://127.0.0.1:9/vo/\n"
    "        send_resolved: false\n";

START_TEST(test_alertd_cfg_victorops_load_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ok.yml", s_good, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *a = json_object_get(n, "victorops_configs");
    ck_assert_uint_eq(json_array_size(a), 2);
    json_t *v = json_array_get(a, 0);
    // The global key file, passed on unread (a missing file is not a load error).
    ck_assert_str_eq(json_string_value(json_object_get(v, "api_key_file")),
                     "/nonexistent/global_key");
    ck_assert_ptr_null(json_object_get(v, "api_key"));
    ck_assert_str_eq(json_string_value(json_object_get(v, "api_url")),
                     "https://alert.victorops.com/integrations/generic/20131114/alert/");
    ck_assert_str_eq(json_string_value(json_object_get(v, "routing_key")),
                     "team-{{ .GroupLabels.team }}");
    ck_assert_str_eq(json_string_value(json_object_get(v, "message_type")), "WARNING");
    ck_assert_ptr_null(json_object_get(v, "state_message")); // the default: notifyd renders it
    ck_assert(json_is_true(json_object_get(v, "send_resolved")));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(v, "custom_fields"), "runbook")),
        "https://rb/{{ .CommonLabels.alertname }}");
    json_t *w = json_array_get(a, 1);
    ck_assert_str_eq(json_string_value(json_object_get(w, "api_key")), "SECRET-inline");
    ck_assert_str_eq(json_string_value(json_object_get(w, "api_url")), "http://127.0.0.1:9/vo/");
    ck_assert(json_is_false(json_object_get(w, "send_resolved")));
    // Taps see <secret> (fw_msg.def's FW_SECRET list).
    json_object_set_new(n, "receiver", json_string("v"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"api_key\":\"<secret>\""));
    free(shown);
    json_decref(red);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

// global.victorops_api_url is the default of every config without its own api_url, and the
// global inline key that of every config without a key.
START_TEST(test_alertd_cfg_victorops_globals)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg =
        alertd_cfg_load("g.yml",
                        "global: {victorops_api_key: SECRET-g, victorops_api_url: 'http://v/x/'}\n"
                        "route: {receiver: v}\nreceivers:\n  - name: v\n"
                        "    victorops_configs: [{routing_key: r}, {routing_key: s, "
                        "api_key_file: /own}]\n",
                        &errs);
    ck_assert_msg(cfg != NULL, "%s", errs.len ? errs.items[0].msg : "?");
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *a = json_object_get(n, "victorops_configs");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "api_key")),
                     "SECRET-g");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 0), "api_url")),
                     "http://v/x/");
    ck_assert_ptr_null(json_object_get(json_array_get(a, 1), "api_key"));
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(a, 1), "api_key_file")),
                     "/own");
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_alertd_cfg_victorops_refused)
{
    static const char *const want[] = {
        "bad.yml:1:9: error: at most one of victorops_api_key & victorops_api_key_file must be "
        "configured",
        "bad.yml:6:9: error: missing Routing key in VictorOps config",
        "bad.yml:7:9: error: at most one of api_key & api_key_file must be configured",
        "bad.yml:7:9: error: victorOps config contains custom field entity_id which cannot be "
        "used as it conflicts with the fixed/static fields",
        "bad.yml:7:9: error: unsupported scheme \"ftp\" for URL",
        "bad.yml:7:26: error: victorops_configs.routing_key: template: "
        "victorops_configs.routing_key:1: function \"nofunc\" not defined",
        "bad.yml:12:26: error: unknown key 'timeout' in receivers[0].victorops_configs[2]",
    };
    check_util_alertd_cfg_errors(
        "global: {victorops_api_key: SECRET-a, victorops_api_key_file: /k}\n" // 1
        "route: {receiver: v}\n"                                              // 2
        "receivers:\n"                                                        // 3
        "  - name: v\n"                                                       // 4
        "    victorops_configs:\n"                                            // 5
        "      - api_key: SECRET-b\n"                                         // 6
        "      - routing_key: '{{ nofunc }}'\n"                               // 7
        "        api_key: SECRET-c\n"                                         // 8
        "        api_key_file: /k\n"                                          // 9
        "        api_url: ftp://h/\n"                                         // 10
        "        custom_fields: {entity_id: x}\n"                             // 11
        "      - {routing_key: r, timeout: 5s}\n",                            // 12
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

// No key anywhere: Alertmanager's error, at the config.
START_TEST(test_alertd_cfg_victorops_no_key)
{
    static const char *const want[] = {
        "bad.yml:4:25: error: no global VictorOps API Key set (victorops_configs)",
    };
    check_util_alertd_cfg_errors("route: {receiver: v}\n"
                                 "receivers:\n"
                                 "  - name: v\n"
                                 "    victorops_configs: [{routing_key: r}]\n",
                                 want, sizeof want / sizeof *want, NULL);
}
END_TEST

Suite *
alertd_cfg_victorops_suite(void)
{
    Suite *s = suite_create("alertd_cfg_victorops");
    TCase *tc = tcase_create("cfg");
    tcase_add_test(tc, test_alertd_cfg_victorops_load_notify);
    tcase_add_test(tc, test_alertd_cfg_victorops_globals);
    tcase_add_test(tc, test_alertd_cfg_victorops_refused);
    tcase_add_test(tc, test_alertd_cfg_victorops_no_key);
    suite_add_tcase(s, tc);
    return s;
}
