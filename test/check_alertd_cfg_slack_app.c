/*  check_alertd_cfg_slack_app.c — Slack bot tokens (app_token, app_token_file, app_url and
    the global slack_app_*), resolved as Alertmanager's config.go does: the request goes to
    app_url with the token as http_config's Bearer authorization, the global token only
    where the receiver has no api_url and no authorization of its own, and every conflict
    refused with Alertmanager's text at file:line:col.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_cfg_receivers.h"
#include "check_util.h"
#include "check_util_alertd.h"

static const char *const s_dir = check_util_tmpdir;

// slack_configs[i] of receiver r as NOTIFY carries it (a new object).
static json_t *
s_notify_slack(struct alertd_cfg *cfg, const char *r, size_t i)
{
    json_t *n = json_object();
    alertd_cfg_receivers_notify(alertd_cfg_receiver(cfg, r), n);
    json_t *c = json_incref(json_array_get(json_object_get(n, "slack_configs"), i));
    json_decref(n);
    ck_assert_ptr_nonnull(c);
    return c;
}

static const char *
s_auth(const json_t *c)
{
    return json_string_value(json_object_get(json_object_get(c, "http_config"), "authorization"));
}

START_TEST(test_alertd_cfg_slack_app_resolved)
{
    char token_file[256];
    snprintf(token_file, sizeof token_file, "%s/token", s_dir);
    FILE *f = fopen(token_file, "w");
    ck_assert_ptr_nonnull(f);
    fputs("xoxb-from-file\n", f);
    fclose(f);
    char text[2048];
    snprintf(text, sizeof text,
             "global:\n"
             "  slack_app_token: xoxb-global\n"
             "  slack_app_url: http://127.0.0.1:9/api/chat.postMessage\n"
             "route: {receiver: own}\n"
             "receivers:\n"
             "  - name: own\n"
             "    slack_configs:\n"
             "      - {channel: '#a', app_token: xoxb-own}\n"
             "      - {channel: '#b', app_token_file: '%s', app_url: 'http://127.0.0.1:8/post'}\n"
             "  - name: global\n"
             "    slack_configs: [{channel: '#c'}]\n"
             "  - name: webhook\n"
             "    slack_configs: [{api_url: 'http://127.0.0.1:7/hook'}]\n"
             "  - name: workaround\n"
             "    slack_configs:\n"
             "      - api_url: 'https://slack.com/api/chat.postMessage'\n"
             "        http_config: {authorization: {credentials: xoxb-http}}\n",
             token_file);
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("app.yml", text, &errs);
    ck_assert_msg(cfg != NULL, "%s", errs.len ? errs.items[0].msg : "?");
    // Its own token, to the global slack_app_url.
    json_t *c = s_notify_slack(cfg, "own", 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "api_url")),
                     "http://127.0.0.1:9/api/chat.postMessage");
    ck_assert_str_eq(s_auth(c), "Bearer xoxb-own");
    json_decref(c);
    // The token file's content (read at load), to its own app_url.
    c = s_notify_slack(cfg, "own", 1);
    ck_assert_str_eq(json_string_value(json_object_get(c, "api_url")), "http://127.0.0.1:8/post");
    ck_assert_str_eq(s_auth(c), "Bearer xoxb-from-file");
    json_decref(c);
    // No URL nor token of its own: the global token.
    c = s_notify_slack(cfg, "global", 0);
    ck_assert_str_eq(s_auth(c), "Bearer xoxb-global");
    json_decref(c);
    // Its own webhook URL: no token sent.
    c = s_notify_slack(cfg, "webhook", 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "api_url")), "http://127.0.0.1:7/hook");
    ck_assert_ptr_null(s_auth(c));
    json_decref(c);
    // The old workaround: its own authorization and api_url, kept as written.
    c = s_notify_slack(cfg, "workaround", 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "api_url")),
                     "https://slack.com/api/chat.postMessage");
    ck_assert_str_eq(s_auth(c), "Bearer xoxb-http");
    json_decref(c);
    alertd_cfg_destroy(&cfg);

    // Without slack_app_url, chat.postMessage.
    cfg = alertd_cfg_load("app.yml",
                          "route: {receiver: a}\n"
                          "receivers:\n"
                          "  - name: a\n"
                          "    slack_configs: [{channel: '#a', app_token: t}]\n",
                          &errs);
    ck_assert_ptr_nonnull(cfg);
    c = s_notify_slack(cfg, "a", 0);
    ck_assert_str_eq(json_string_value(json_object_get(c, "api_url")), ALERTD_CFG_SLACK_APP_URL);
    json_decref(c);
    alertd_cfg_destroy(&cfg);
}
END_TEST

START_TEST(test_alertd_cfg_slack_app_refused)
{
    static const char *const want[] = {
        "bad.yml:2:3: error: at most one of slack_app_token/slack_app_token_file & "
        "slack_api_url/slack_api_url_file must be configured",
        "bad.yml:8:9: error: at most one of api_url/api_url_file & app_token/app_token_file "
        "must be configured",
        "bad.yml:9:9: error: at most one of app_token & app_token_file must be configured",
        "bad.yml:10:9: error: http authorization can't be set when using Slack App tokens",
        "bad.yml:12:9: error: unsupported scheme \"ftp\" in slack app_url",
    };
    check_util_alertd_cfg_errors(
        "global:\n"                                                       // 1
        "  slack_app_token: SECRET-t\n"                                   // 2
        "  slack_api_url: 'https://hooks.slack.com/services/X'\n"         // 3
        "route: {receiver: a}\n"                                          // 4
        "receivers:\n"                                                    // 5
        "  - name: a\n"                                                   // 6
        "    slack_configs:\n"                                            // 7
        "      - {api_url: 'http://h/', app_token: SECRET-a}\n"           // 8
        "      - {app_token: SECRET-b, app_token_file: /nonexistent}\n"   // 9
        "      - app_token: SECRET-c\n"                                   // 10
        "        http_config: {authorization: {credentials: SECRET-d}}\n" // 11
        "      - {app_token: SECRET-e, app_url: 'ftp://x/'}\n",           // 12
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

Suite *
alertd_cfg_slack_app_suite(void)
{
    Suite *s = suite_create("alertd_cfg_slack_app");
    TCase *tc = tcase_create("cfg");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_alertd_cfg_slack_app_resolved);
    tcase_add_test(tc, test_alertd_cfg_slack_app_refused);
    suite_add_tcase(s, tc);
    return s;
}
