/*  check_alertd_cfg_wechat.c — wechat_configs in alertmanager.yml: what NOTIFY carries
    (global's URL, secret and corp id inherited, the api_url given its "/", texts absent for
    the defaults, api_secret_file passed by name, never read at load), taps and
    /api/v2/status see <secret>, and every refusal with file:line:col, after Alertmanager's
    config.go and WechatConfig.UnmarshalYAML.
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

static const char s_good[] = "global:\n"
                             "  wechat_api_secret: SECRET-global\n"
                             "  wechat_api_corp_id: corp-global\n"
                             "route: {receiver: w}\n"
                             "receivers:\n"
                             "  - name: w\n"
                             "    wechat_configs:\n"
                             "      - {}\n"
                             "      - api_url: http://127.0.0.1:1/cgi\n"
                             "        api_secret_file: /nonexistent/secret\n"
                             "        corp_id: corp-own\n"
                             "        message_type: markdown\n"
                             "        message: '{{ template \"wechat.default.message\" . }}'\n"
                             "        to_user: '@all'\n"
                             "        agent_id: '1000002'\n"
                             "        send_resolved: true\n";

START_TEST(test_alertd_cfg_wechat_load_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ok.yml", s_good, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *a = json_object_get(n, "wechat_configs");
    ck_assert_uint_eq(json_array_size(a), 2);
    json_t *w = json_array_get(a, 0);
    ck_assert_str_eq(json_string_value(json_object_get(w, "api_url")),
                     "https://qyapi.weixin.qq.com/cgi-bin/");
    ck_assert_str_eq(json_string_value(json_object_get(w, "api_secret")), "SECRET-global");
    ck_assert_str_eq(json_string_value(json_object_get(w, "corp_id")), "corp-global");
    ck_assert_str_eq(json_string_value(json_object_get(w, "message_type")), "text");
    ck_assert(json_is_false(json_object_get(w, "send_resolved")));
    ck_assert_ptr_null(json_object_get(w, "message"));
    ck_assert_ptr_null(json_object_get(w, "api_secret_file"));
    w = json_array_get(a, 1);
    ck_assert_str_eq(json_string_value(json_object_get(w, "api_url")), "http://127.0.0.1:1/cgi/");
    ck_assert_ptr_null(json_object_get(w, "api_secret"));
    ck_assert_str_eq(json_string_value(json_object_get(w, "api_secret_file")),
                     "/nonexistent/secret");
    ck_assert_str_eq(json_string_value(json_object_get(w, "corp_id")), "corp-own");
    ck_assert_str_eq(json_string_value(json_object_get(w, "message_type")), "markdown");
    ck_assert_ptr_null(json_object_get(w, "message")); // the default expression
    ck_assert_str_eq(json_string_value(json_object_get(w, "to_user")), "@all");
    ck_assert_str_eq(json_string_value(json_object_get(w, "agent_id")), "1000002");
    ck_assert(json_is_true(json_object_get(w, "send_resolved")));
    // Taps and /api/v2/status never show the secret.
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, 0);
    ck_assert_ptr_null(strstr(shown, "SECRET"));
    ck_assert_ptr_nonnull(strstr(shown, "\"api_secret\": \"<secret>\""));
    free(shown);
    json_decref(red);
    ck_assert_ptr_null(strstr(cfg->original, "SECRET"));
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_alertd_cfg_wechat_refused)
{
    static const char *const want[] = {
        "bad.yml:6:9: error: weChat message type \"html\" does not match valid options "
        "^(text|markdown)$",
        "bad.yml:7:9: error: no global Wechat CorpID set",
        "bad.yml:7:9: error: at most one of api_secret & api_secret_file must be configured",
        "bad.yml:9:9: error: unsupported scheme \"ftp\" in wechat api_url",
        "bad.yml:10:9: error: no global Wechat ApiSecret set either inline or in a file "
        "(wechat_configs)",
        "bad.yml:11:22: error: wechat_configs.message: template: wechat_configs.message:1: "
        "function \"nofunc\" not defined",
        "bad.yml:12:9: error: unknown key 'api_key' in receivers[0].wechat_configs[4]",
    };
    check_util_alertd_cfg_errors("global: {wechat_api_corp_id: ''}\n" // 1
                                 "route: {receiver: w}\n"             // 2
                                 "receivers:\n"                       // 3
                                 "  - name: w\n"                      // 4
                                 "    wechat_configs:\n"              // 5
                                 "      - {message_type: html, corp_id: c, api_secret: s}\n"
                                 "      - api_secret: SECRET-a\n" // 7
                                 "        api_secret_file: /f\n"  // 8
                                 "      - {api_url: 'ftp://x/', corp_id: c, api_secret: s}\n"
                                 "      - {corp_id: c}\n"            // 10
                                 "      - message: '{{ nofunc }}'\n" // 11
                                 "        api_key: k\n"              // 12
                                 "        corp_id: c\n"
                                 "        api_secret: s\n",
                                 want, sizeof want / sizeof *want, "SECRET-a");
}
END_TEST

Suite *
alertd_cfg_wechat_suite(void)
{
    Suite *s = suite_create("alertd_cfg_wechat");
    TCase *tc = tcase_create("cfg");
    tcase_add_test(tc, test_alertd_cfg_wechat_load_notify);
    tcase_add_test(tc, test_alertd_cfg_wechat_refused);
    suite_add_tcase(s, tc);
    return s;
}
