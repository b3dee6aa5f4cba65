/*  check_alertd_cfg_sns.c — sns_configs in alertmanager.yml (Alertmanager 0.25's SNSConfig
    and prometheus/common's SigV4Config): what NOTIFY carries (the default endpoint for the
    region, sigv4's keys flattened, texts absent for the defaults, subject "" kept, the
    attributes), taps and /api/v2/status see <secret>, and the refusals with file:line:col:
    none or two targets, half a key pair, no keys / profile / role_arn / no region ("not
    supported"), own http_config credentials.
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

static const char s_good[] = "route: {receiver: s}\n"
                             "receivers:\n"
                             "  - name: s\n"
                             "    sns_configs:\n"
                             "      - topic_arn: arn:aws:sns:us-east-2:123456789012:My-Topic\n"
                             "        sigv4: {region: us-east-2, access_key: AKID, "
                             "secret_key: SECRET-k}\n"
                             "        attributes: {severity: Sev2}\n"
                             "        message: '{{ template \"sns.default.message\" . }}'\n"
                             "      - api_url: http://127.0.0.1:1\n"
                             "        phone_number: '+15555550100'\n"
                             "        subject: ''\n"
                             "        send_resolved: false\n"
                             "        sigv4: {region: cn-north-1, access_key: AKID, "
                             "secret_key: SECRET-k}\n"
                             "      - target_arn: arn:aws:sns:cn-north-1:1:endpoint/x\n"
                             "        sigv4: {region: cn-north-1, access_key: AKID, "
                             "secret_key: SECRET-k}\n";

START_TEST(test_alertd_cfg_sns_load_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ok.yml", s_good, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *a = json_object_get(n, "sns_configs");
    ck_assert_uint_eq(json_array_size(a), 3);
    json_t *s = json_array_get(a, 0);
    ck_assert_str_eq(json_string_value(json_object_get(s, "api_url")),
                     "https://sns.us-east-2.amazonaws.com/");
    ck_assert_str_eq(json_string_value(json_object_get(s, "region")), "us-east-2");
    ck_assert_str_eq(json_string_value(json_object_get(s, "access_key")), "AKID");
    ck_assert_str_eq(json_string_value(json_object_get(s, "secret_key")), "SECRET-k");
    ck_assert_str_eq(json_string_value(json_object_get(s, "topic_arn")),
                     "arn:aws:sns:us-east-2:123456789012:My-Topic");
    ck_assert_ptr_null(json_object_get(s, "phone_number"));
    ck_assert_ptr_null(json_object_get(s, "message")); // the default expression
    ck_assert_ptr_null(json_object_get(s, "subject"));
    ck_assert(json_is_true(json_object_get(s, "send_resolved")));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(s, "attributes"), "severity")), "Sev2");
    s = json_array_get(a, 1);
    ck_assert_str_eq(json_string_value(json_object_get(s, "api_url")), "http://127.0.0.1:1");
    ck_assert_str_eq(json_string_value(json_object_get(s, "phone_number")), "+15555550100");
    ck_assert_str_eq(json_string_value(json_object_get(s, "subject")), "");
    ck_assert(json_is_false(json_object_get(s, "send_resolved")));
    s = json_array_get(a, 2);
    ck_assert_str_eq(json_string_value(json_object_get(s, "api_url")),
                     "https://sns.cn-north-1.amazonaws.com.cn/");
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, 0);
    ck_assert_ptr_null(strstr(shown, "SECRET"));
    free(shown);
    json_decref(red);
    ck_assert_ptr_null(strstr(cfg->original, "SECRET"));
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_alertd_cfg_sns_refused)
{
    static const char *const want[] = {
        "bad.yml:5:9: error: must provide either a Target ARN, Topic ARN, or Phone Number for "
        "SNS config",
        "bad.yml:6:9: error: sns_configs: give only one of topic_arn, phone_number and "
        "target_arn",
        "bad.yml:7:9: error: must provide a AWS SigV4 Access key and Secret Key if credentials "
        "are specified in the SigV4 config",
        "bad.yml:8:9: error: sns_configs: sigv4 without access_key and secret_key (the AWS "
        "default credential chain) is not supported by floorwatch",
        "bad.yml:9:43: error: receivers[0].sns_configs[4].sigv4.profile: not supported",
        "bad.yml:10:43: error: receivers[0].sns_configs[5].sigv4.role_arn: not supported",
        "bad.yml:11:9: error: sns_configs: sigv4.region must be given",
        "bad.yml:12:9: error: unsupported scheme \"ftp\" in sns api_url",
        "bad.yml:14:22: error: sns_configs: http_config credentials cannot be used",
    };
    check_util_alertd_cfg_errors(
        "route: {receiver: s}\n"                                       // 1
        "receivers:\n"                                                 // 2
        "  - name: s\n"                                                // 3
        "    sns_configs:\n"                                           // 4
        "      - {sigv4: {region: r, access_key: a, secret_key: b}}\n" // 5
        "      - {topic_arn: t, target_arn: x, sigv4: {region: r, access_key: a, secret_key: b}}\n"
        "      - {topic_arn: t, sigv4: {region: r, access_key: a}}\n" // 7
        "      - {topic_arn: t, sigv4: {region: r}}\n"                // 8
        "      - {topic_arn: t, sigv4: {region: r, profile: p, access_key: a, secret_key: b}}\n"
        "      - {topic_arn: t, sigv4: {region: r, role_arn: p, access_key: a, secret_key: b}}\n"
        "      - {topic_arn: t, sigv4: {access_key: a, secret_key: SECRET-b}}\n" // 11
        "      - api_url: 'ftp://x/'\n"                                          // 12
        "        topic_arn: t\n"                                                 // 13
        "        http_config: {basic_auth: {username: u, password: p}}\n"        // 14
        "        sigv4: {region: r, access_key: a, secret_key: b}\n",
        want, sizeof want / sizeof *want, "SECRET-b");
}
END_TEST

Suite *
alertd_cfg_sns_suite(void)
{
    Suite *s = suite_create("alertd_cfg_sns");
    TCase *tc = tcase_create("cfg");
    tcase_add_test(tc, test_alertd_cfg_sns_load_notify);
    tcase_add_test(tc, test_alertd_cfg_sns_refused);
    suite_add_tcase(s, tc);
    return s;
}
