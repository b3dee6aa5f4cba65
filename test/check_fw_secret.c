/*  check_fw_secret.c — masking secrets by path lists (common/fw_secret.c): YAML re-emitted
    with "<secret>" in place of every secret, aliases and merge keys followed, bounded walks;
    JSON values masked in place; URL passwords and origins.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_secret.h"
#include "check_util.h"

static const struct fw_secret_path s_paths[] = {
    {"top.password", FW_SECRET_VALUE},
    {"list[].token", FW_SECRET_VALUE},
    {"**.basic_auth.password", FW_SECRET_VALUE},
    {"**.*_sd_configs[].secret_key", FW_SECRET_VALUE},
    {"**.headers.*[]", FW_SECRET_VALUE},
    {"**.proxy_url", FW_SECRET_URL_USERINFO},
    {NULL, FW_SECRET_VALUE},
};

// Redact text with s_paths; fails the test when redaction fails. Caller frees.
static char *
s_redact(const char *text)
{
    char *out = NULL;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_msg(fw_secret_redact_yaml(text, s_paths, &out, &err) == 0, "redact: %s", err.msg);
    ck_assert_ptr_nonnull(out);
    return out;
}

START_TEST(test_fw_secret_redact_yaml)
{
    char *out = s_redact("# a comment with password: commented-out-S3\n"
                         "top:\n"
                         "  user: alice\n"
                         "  password: S1\n"
                         "list:\n"
                         "  - token: S2\n"
                         "    name: one\n"
                         "  - token: \"S4\"\n"
                         "deep:\n"
                         "  a:\n"
                         "    b:\n"
                         "      basic_auth: {username: bob, password: S5}\n"
                         "jobs:\n"
                         "  - ec2_sd_configs:\n"
                         "      - secret_key: S6\n"
                         "        access_key: AK\n"
                         "    headers:\n"
                         "      X-One: [S7, S8]\n"
                         "    proxy_url: http://u:S9@proxy:3128/\n"
                         "    other_url: http://u:kept@host/\n");
    ck_assert_msg(!strstr(out, "S1") && !strstr(out, "S2") && !strstr(out, "S3") &&
                      !strstr(out, "S4") && !strstr(out, "S5") && !strstr(out, "S6") &&
                      !strstr(out, "S7") && !strstr(out, "S8") && !strstr(out, "S9"),
                  "a secret shows:\n%s", out);
    ck_assert_uint_eq(check_util_count(out, FW_SECRET_TOKEN), 7);
    // Everything else is shown as written.
    ck_assert_ptr_nonnull(strstr(out, "user: alice"));
    ck_assert_ptr_nonnull(strstr(out, "name: one"));
    ck_assert_ptr_nonnull(strstr(out, "username: bob"));
    ck_assert_ptr_nonnull(strstr(out, "access_key: AK"));
    ck_assert_ptr_nonnull(strstr(out, "proxy_url: http://u:xxxxx@proxy:3128/"));
    ck_assert_ptr_nonnull(strstr(out, "other_url: http://u:kept@host/"));
    ck_assert_ptr_nonnull(strstr(out, "password: <secret>"));
    free(out);
}
END_TEST

// A secret cannot escape through YAML's own indirections.
START_TEST(test_fw_secret_aliases_and_merges)
{
    // The value is anchored at a key that is not secret and used by alias where it is.
    char *out = s_redact("keep: &pw S1\n"
                         "top:\n"
                         "  password: *pw\n");
    ck_assert_msg(!strstr(out, "S1"), "%s", out);
    free(out);
    // A mapping merged into basic_auth.
    out = s_redact("creds: &c {username: u, password: S2}\n"
                   "x:\n"
                   "  basic_auth:\n"
                   "    <<: *c\n");
    ck_assert_msg(!strstr(out, "S2"), "%s", out);
    free(out);
    // A list of merges.
    out = s_redact("a: &a {password: S3}\n"
                   "b: &b {username: u}\n"
                   "x:\n"
                   "  basic_auth:\n"
                   "    <<: [*b, *a]\n");
    ck_assert_msg(!strstr(out, "S3"), "%s", out);
    free(out);
    // A mapping or a sequence where a secret is expected is masked whole.
    out = s_redact("top:\n  password:\n    nested: S4\n    more: [S5]\n");
    ck_assert_msg(!strstr(out, "S4") && !strstr(out, "S5"), "%s", out);
    ck_assert_ptr_nonnull(strstr(out, "password: <secret>"));
    free(out);
    // Empty and null secrets stay as they are; so does an empty document.
    out = s_redact("top:\n  password: ''\nlist:\n  - token:\n");
    ck_assert_ptr_null(strstr(out, FW_SECRET_TOKEN));
    free(out);
    out = s_redact("# only a comment: S6\n");
    ck_assert_str_eq(out, "");
    free(out);
}
END_TEST

START_TEST(test_fw_secret_bounded)
{
    // An alias bomb: 9 levels of 10 aliases each would visit 10^9 nodes.
    char *bomb = fw_strdup("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (char c = 'b'; c <= 'i'; c++) {
        char *next =
            fw_asprintf("%s%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", bomb, c,
                        c, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1);
        free(bomb);
        bomb = next;
    }
    const struct fw_secret_path any[] = {{"**.password", FW_SECRET_VALUE}, {NULL, 0}};
    char *out = NULL;
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(fw_secret_redact_yaml(bomb, any, &out, &err), -1);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(err.msg, "too large"));
    free(bomb);
    // Nesting deeper than any schema is refused, not walked on the stack.
    size_t depth = 5000;
    char *deep = fw_malloc(depth * 2 + 2);
    for (size_t i = 0; i < depth; i++)
        deep[i] = '[';
    for (size_t i = 0; i < depth; i++)
        deep[depth + i] = ']';
    deep[2 * depth] = '\0';
    fw_err_clear(&err);
    ck_assert_int_eq(fw_secret_redact_yaml(deep, any, &out, &err), -1);
    ck_assert_ptr_null(out);
    free(deep);
    // Not YAML at all.
    ck_assert_int_eq(fw_secret_redact_yaml("a: [", any, &out, &err), -1);
}
END_TEST

START_TEST(test_fw_secret_match)
{
    const char *p1[] = {"receivers", "[]", "email_configs", "[]", "auth_password"};
    const struct fw_secret_path am[] = {
        {"receivers[].email_configs[].auth_password", FW_SECRET_VALUE},
        {"**.tls_config.key", FW_SECRET_VALUE},
        {NULL, 0},
    };
    ck_assert(fw_secret_match(am, p1, 5, NULL));
    ck_assert(!fw_secret_match(am, p1, 4, NULL));
    const char *p2[] = {"receivers", "email_configs", "[]", "auth_password"}; // not a list
    ck_assert(!fw_secret_match(am, p2, 4, NULL));
    const char *p3[] = {"tls_config", "key"}; // "**" matches zero levels
    ck_assert(fw_secret_match(am, p3, 2, NULL));
    const char *p4[] = {"a", "[]", "b", "tls_config", "key"};
    ck_assert(fw_secret_match(am, p4, 5, NULL));
    const char *p5[] = {"a", "tls_config", "key_file"};
    ck_assert(!fw_secret_match(am, p5, 3, NULL));
}
END_TEST

START_TEST(test_fw_secret_redact_json)
{
    const struct fw_secret_path notify[] = {
        {"webhook_configs[].url", FW_SECRET_VALUE},
        {"webhook_configs[].authorization", FW_SECRET_VALUE},
        {NULL, 0},
    };
    json_t *j = json_loads("{\"receiver\":\"r\",\"webhook_configs\":[{\"url\":\"http://h/S1\","
                           "\"authorization\":\"Bearer S2\",\"send_resolved\":true},"
                           "{\"url\":\"\"}],\"payload\":{\"url\":\"kept\"}}",
                           0, NULL);
    ck_assert_ptr_nonnull(j);
    fw_secret_redact_json(j, notify);
    char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(text, "{\"payload\":{\"url\":\"kept\"},\"receiver\":\"r\",\"webhook_configs\":"
                           "[{\"authorization\":\"<secret>\",\"send_resolved\":true,\"url\":"
                           "\"<secret>\"},{\"url\":\"\"}]}");
    free(text);
    json_decref(j);
}
END_TEST

START_TEST(test_fw_secret_urls)
{
    static const struct {
        const char *in, *redacted, *origin, *masked;
    } cases[] = {
        {"https://u:p@h.example:8443/x?y#z", "https://u:xxxxx@h.example:8443/x?y#z",
         "https://h.example:8443", "https://h.example:8443/<secret>"},
        {"https://u@h/x", "https://u@h/x", "https://h", "https://h/<secret>"},
        {"http://h:80", "http://h:80", "http://h:80", "http://h:80"},
        {"http://h:80/", "http://h:80/", "http://h:80", "http://h:80"},
        {"http://h?token=T", "http://h?token=T", "http://h", "http://h/<secret>"},
        {"https://hooks.slack.com/services/T/B/TOKEN", "https://hooks.slack.com/services/T/B/TOKEN",
         "https://hooks.slack.com", "https://hooks.slack.com/<secret>"},
        {"http://u:p@x@h/a@b", "http://u:xxxxx@h/a@b", "http://h", "http://h/<secret>"},
        {"not a url", "not a url", "", "<secret>"},
        {"h:1234", "h:1234", "", "<secret>"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = fw_secret_url_redacted(cases[i].in);
        ck_assert_str_eq(r, cases[i].redacted);
        free(r);
        r = fw_secret_url_origin(cases[i].in);
        ck_assert_str_eq(r, cases[i].origin);
        free(r);
        r = fw_secret_url_masked(cases[i].in);
        ck_assert_str_eq(r, cases[i].masked);
        free(r);
    }
}
END_TEST

Suite *
fw_secret_suite(void)
{
    Suite *s = suite_create("fw_secret");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_secret_redact_yaml);
    tcase_add_test(tc, test_fw_secret_aliases_and_merges);
    tcase_add_test(tc, test_fw_secret_bounded);
    tcase_add_test(tc, test_fw_secret_match);
    tcase_add_test(tc, test_fw_secret_redact_json);
    tcase_add_test(tc, test_fw_secret_urls);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
