/*  check_alertd_cfg_teams.c — msteams_configs, msteamsv2_configs and floorwatch's
    azuresms_configs in alertmanager.yml: load (secrets from *_file read at load), what
    NOTIFY carries for them (texts absent for the defaults), taps see <secret>, and every
    refusal with file:line:col.
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
#include "fw_msg.h"
#include "check_util_alertd.h"

#define S_DIR "test/tmp/cfg_teams"

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
    s_write(S_DIR "/key", "Zmxvb3J3YXRjaC10ZXN0LWFjY2Vzcy1rZXktMzJieSE=\n");
    s_write(S_DIR "/url", "https://x.logic.azure.com/workflows/w?sig=SECRET-sig\n");
    s_write(S_DIR "/notkey", "not a key\n");
}

static void
s_teardown(void)
{
    unlink(S_DIR "/key");
    unlink(S_DIR "/url");
    unlink(S_DIR "/notkey");
    rmdir(S_DIR);
}

static const char s_good[] = "route: {receiver: t}\n"
                             "receivers:\n"
                             "  - name: t\n"
                             "    msteams_configs:\n"
                             "      - webhook_url: https://example.webhook.office.com/SECRET-hook\n"
                             "        title: '{{ template \"msteams.default.title\" . }}'\n"
                             "        summary: Line stopped\n"
                             "    msteamsv2_configs:\n"
                             "      - webhook_url_file: " S_DIR "/url\n"
                             "        send_resolved: false\n"
                             "    azuresms_configs:\n"
                             "      - endpoint: https://plant.communication.azure.com\n"
                             "        access_key_file: " S_DIR "/key\n"
                             "        from: '+18005550100'\n"
                             "        to: ['+15555550101', '+15555550102']\n";

START_TEST(test_alertd_cfg_teams_load_notify)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("ok.yml", s_good, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&cfg->receivers[0], n);
    json_t *m = json_array_get(json_object_get(n, "msteams_configs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(m, "webhook_url")),
                     "https://example.webhook.office.com/SECRET-hook");
    ck_assert(json_is_true(json_object_get(m, "send_resolved")));
    ck_assert_ptr_null(json_object_get(m, "title")); // the default: notifyd renders it
    ck_assert_str_eq(json_string_value(json_object_get(m, "summary")), "Line stopped");
    json_t *v2 = json_array_get(json_object_get(n, "msteamsv2_configs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(v2, "webhook_url")),
                     "https://x.logic.azure.com/workflows/w?sig=SECRET-sig");
    ck_assert(json_is_false(json_object_get(v2, "send_resolved")));
    json_t *a = json_array_get(json_object_get(n, "azuresms_configs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "access_key")),
                     "Zmxvb3J3YXRjaC10ZXN0LWFjY2Vzcy1rZXktMzJieSE=");
    ck_assert_str_eq(json_string_value(json_object_get(a, "endpoint")),
                     "https://plant.communication.azure.com");
    ck_assert_int_eq(json_array_size(json_object_get(a, "to")), 2);
    ck_assert_ptr_null(json_object_get(a, "message"));
    // Taps see <secret> (fw_msg.def's FW_SECRET list).
    json_object_set_new(n, "receiver", json_string("t"));
    json_object_set_new(n, "webhook_configs", json_array());
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL && strstr(shown, "Zmxvb3J3") == NULL, "%s",
                  shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"access_key\":\"<secret>\""));
    free(shown);
    json_decref(red);
    json_decref(n);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_alertd_cfg_teams_refused)
{
    static const char *const want[] = {
        "bad.yml:5:9: error: one of webhook_url or webhook_url_file must be configured",
        "bad.yml:5:38: error: msteams_configs.title: template: msteams_configs.title:1: function "
        "\"nofunc\" not defined",
        "bad.yml:7:9: error: at most one of webhook_url & webhook_url_file must be configured",
        "bad.yml:9:22: error: if no_proxy is configured, proxy_url must also be configured",
        "bad.yml:10:9: error: unsupported scheme \"ftp\" in msteamsv2_configs webhook_url",
        "bad.yml:13:9: error: receivers[0].azuresms_configs[0].access_key: not supported",
        "bad.yml:12:9: error: azuresms_configs: access_key_file \"" S_DIR
        "/notkey\" does not hold a base64 access key",
        "bad.yml:12:9: error: azuresms_configs: from must be configured",
        "bad.yml:12:9: error: azuresms_configs: to \"555\" is not an E.164 phone number",
        "bad.yml:16:35: error: azuresms_configs.message: template: azuresms_configs.message:1: "
        "unexpected EOF",
        "bad.yml:18:9: error: azuresms_configs: endpoint must be configured",
        "bad.yml:18:9: error: azuresms_configs: access_key_file must be configured",
        "bad.yml:18:9: error: azuresms_configs: to must list at least one phone number",
        "bad.yml:19:9: error: cannot read access_key_file \"" S_DIR "/none\"",
    };
    check_util_alertd_cfg_errors(
        "route: {receiver: t}\n"                                    // 1
        "receivers:\n"                                              // 2
        "  - name: t\n"                                             // 3
        "    msteams_configs:\n"                                    // 4
        "      - title: '{{ .CommonLabels.x | nofunc }}'\n"         // 5
        "    msteamsv2_configs:\n"                                  // 6
        "      - webhook_url: https://a/SECRET-a\n"                 // 7
        "        webhook_url_file: " S_DIR "/url\n"                 // 8
        "        http_config: {no_proxy: x}\n"                      // 9
        "      - webhook_url: ftp://h/SECRET-b\n"                   // 10
        "    azuresms_configs:\n"                                   // 11
        "      - endpoint: https://plant.communication.azure.com\n" // 12
        "        access_key: SECRET-c\n"                            // 13
        "        access_key_file: " S_DIR "/notkey\n"               // 14
        "        to: ['555', '+1']\n"                               // 15
        "        message: '{{ if .Status }}'\n"                     // 16
        "        send_resolved: true\n"                             // 17
        "      - from: x\n"                                         // 18
        "      - {endpoint: 'https://e', from: x, to: ['+1'], access_key_file: " S_DIR
        "/none}\n", // 19
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

Suite *
alertd_cfg_teams_suite(void)
{
    Suite *s = suite_create("alertd_cfg_teams");
    TCase *tc = tcase_create("cfg");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_alertd_cfg_teams_load_notify);
    tcase_add_test(tc, test_alertd_cfg_teams_refused);
    suite_add_tcase(s, tc);
    return s;
}
