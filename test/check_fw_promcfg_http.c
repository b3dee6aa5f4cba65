/*  check_fw_promcfg_http.c — the HTTP client settings and limits of a scrape config
    (common/fw_promcfg_http.c and their entries in common/fw_promcfg.c).

    Each key is loaded into the record; Prometheus's cross-field rules are refused with its
    own texts at the job's file:line:col; bearer_token(_file) fold into authorization as in
    Prometheus; relative *_file paths are joined to the config file's directory; limits
    inherit from global; body_size_limit reads sizes as Prometheus (base-2 units).
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_promcfg.h"
#include "fw_promcfg_http.h"
#include "check_util.h"

Suite *fw_promcfg_http_suite(void);

static const char s_full[] = "global:\n"                                   // 1
                             "  sample_limit: 100\n"                       // 2
                             "  label_limit: 30\n"                         // 3
                             "  body_size_limit: 10MB\n"                   // 4
                             "  sample_limit_mode: drop_excess\n"          // 5
                             "scrape_configs:\n"                           // 6
                             "  - job_name: a\n"                           // 7
                             "    scheme: https\n"                         // 8
                             "    params:\n"                               // 9
                             "      module: [http_2xx, tcp]\n"             // 10
                             "      target: ['x y&z']\n"                   // 11
                             "    basic_auth:\n"                           // 12
                             "      username: u\n"                         // 13
                             "      password_file: secrets/pw\n"           // 14
                             "    tls_config:\n"                           // 15
                             "      ca_file: /etc/ca.pem\n"                // 16
                             "      cert_file: c.pem\n"                    // 17
                             "      key_file: k.pem\n"                     // 18
                             "      server_name: node.local\n"             // 19
                             "      insecure_skip_verify: true\n"          // 20
                             "      min_version: TLS13\n"                  // 21
                             "    proxy_url: http://proxy:3128\n"          // 22
                             "    follow_redirects: false\n"               // 23
                             "    enable_compression: false\n"             // 24
                             "    track_timestamps_staleness: true\n"      // 25
                             "    label_value_length_limit: 64\n"          // 26
                             "    body_size_limit: 1KB\n"                  // 27
                             "    static_configs: [{targets: ['h:1']}]\n"  // 28
                             "  - job_name: b\n"                           // 29
                             "    bearer_token_file: /run/token\n"         // 30
                             "    sample_limit: 7\n"                       // 31
                             "    sample_limit_mode: fail\n"               // 32
                             "    static_configs: [{targets: ['h:2']}]\n"  // 33
                             "  - job_name: c\n"                           // 34
                             "    authorization: {credentials: tok}\n"     // 35
                             "    static_configs: [{targets: ['h:3']}]\n"; // 36

START_TEST(test_fw_promcfg_http_load)
{
    struct fw_promcfg cfg;
    struct fw_cfg_errors errs;
    int rc = fw_promcfg_load("/etc/prom/p.yml", s_full, &cfg, &errs);
    ck_assert_msg(rc == 0, "%s", errs.len ? errs.items[0].msg : "?");
    const struct fw_scrape_config *a = &cfg.scrape_configs[0];
    ck_assert_uint_eq(a->n_params, 6);
    ck_assert_str_eq(a->params[0], "module");
    ck_assert_str_eq(a->params[1], "http_2xx");
    ck_assert_str_eq(a->params[2], "module");
    ck_assert_str_eq(a->params[3], "tcp");
    ck_assert_str_eq(a->params[5], "x y&z");
    ck_assert_str_eq(a->http.basic_auth.username, "u");
    ck_assert_str_eq(a->http.basic_auth.password_file, "/etc/prom/secrets/pw");
    ck_assert_str_eq(a->http.tls_config.ca_file, "/etc/ca.pem");
    ck_assert_str_eq(a->http.tls_config.cert_file, "/etc/prom/c.pem");
    ck_assert_str_eq(a->http.tls_config.key_file, "/etc/prom/k.pem");
    ck_assert_str_eq(a->http.tls_config.server_name, "node.local");
    ck_assert(a->http.tls_config.insecure_skip_verify);
    ck_assert_str_eq(a->http.tls_config.min_version, "TLS13");
    ck_assert_str_eq(a->http.proxy_url, "http://proxy:3128");
    ck_assert(!a->http.follow_redirects);
    ck_assert(!a->enable_compression);
    ck_assert(a->track_timestamps_staleness);
    ck_assert_int_eq(a->sample_limit, 100); // from global
    ck_assert_int_eq(a->label_limit, 30);
    ck_assert_int_eq(a->label_value_length_limit, 64);
    ck_assert_int_eq(a->body_size_limit, 1024); // KB is 1024 bytes, as in Prometheus
    ck_assert_int_eq(a->sample_limit_mode, FW_SAMPLE_LIMIT_DROP_EXCESS);

    const struct fw_scrape_config *b = &cfg.scrape_configs[1];
    ck_assert(b->http.follow_redirects);
    ck_assert(b->enable_compression);
    ck_assert(!b->track_timestamps_staleness);
    ck_assert_ptr_null(b->http.bearer_token_file);
    ck_assert_str_eq(b->http.authorization.type, "Bearer");
    ck_assert_str_eq(b->http.authorization.credentials_file, "/run/token");
    ck_assert_int_eq(b->sample_limit, 7);
    ck_assert_int_eq(b->body_size_limit, 10 * 1024 * 1024);
    ck_assert_int_eq(b->sample_limit_mode, FW_SAMPLE_LIMIT_FAIL);

    const struct fw_scrape_config *c = &cfg.scrape_configs[2];
    ck_assert_str_eq(c->http.authorization.type, "Bearer");
    ck_assert_str_eq(c->http.authorization.credentials, "tok");

    struct fw_http_client_config copy;
    fw_promcfg_http_copy(&copy, &a->http);
    ck_assert(fw_promcfg_http_equal(&copy, &a->http));
    ck_assert(!fw_promcfg_http_equal(&copy, &b->http));
    fw_promcfg_http_free(&copy);
    fw_promcfg_free(&cfg);
}
END_TEST

// One job's settings, and the error Prometheus gives for them (NULL: loads).
static const struct {
    const char *yaml;
    const char *error;
} s_rules[] = {
    {"bearer_token: a\n    bearer_token_file: b",
     "at most one of bearer_token & bearer_token_file must be configured"},
    {"basic_auth: {username: u}\n    bearer_token: a",
     "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured"},
    {"basic_auth: {password: p, password_file: f}",
     "at most one of basic_auth password, password_file & password_ref must be configured"},
    {"basic_auth: {username: p, username_file: f}",
     "at most one of basic_auth username, username_file & username_ref must be configured"},
    {"authorization: {credentials: a}\n    bearer_token_file: b",
     "authorization is not compatible with bearer_token & bearer_token_file"},
    {"authorization: {credentials: a, credentials_file: b}",
     "at most one of authorization credentials & credentials_file must be configured"},
    {"authorization: {type: ' Basic ', credentials: a}",
     "authorization type cannot be set to \"basic\", use \"basic_auth\" instead"},
    {"authorization: {credentials: a}\n    basic_auth: {username: u}",
     "at most one of basic_auth, oauth2 & authorization must be configured"},
    {"tls_config: {ca: x, ca_file: y}", "at most one of ca, ca_file & ca_ref must be configured"},
    {"tls_config: {cert_file: y}",
     "exactly one of key or key_file must be configured when a client certificate is "
     "configured"},
    {"tls_config: {key_file: y}",
     "exactly one of cert or cert_file must be configured when a client key is configured"},
    {"tls_config: {min_version: TLS14}", "unknown TLS version: TLS14"},
    {"tls_config: {min_version: TLS13, max_version: TLS12}",
     "tls_config.max_version must be greater than or equal to tls_config.min_version"},
    {"proxy_url: ftp://x", "is not an http, https or socks5 URL"},
    {"params: {a: b}", "expected a sequence for 'a' in 'params', got a scalar"},
    {"body_size_limit: 10XB", "'10XB' is not a size for key 'body_size_limit'"},
    {"sample_limit: -1", "value -1 out of range"},
    {"sample_limit_mode: drop", "'drop' is not one of"},
    {"authorization: {type: Token, credentials_file: t}", NULL},
    {"body_size_limit: 512KiB", NULL},
};

START_TEST(test_fw_promcfg_http_rules)
{
    for (size_t i = 0; i < sizeof(s_rules) / sizeof(s_rules[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text),
                 "scrape_configs:\n  - job_name: j\n    %s\n    static_configs: [{targets: "
                 "['h:1']}]\n",
                 s_rules[i].yaml);
        struct fw_promcfg cfg;
        struct fw_cfg_errors errs;
        int rc = fw_promcfg_load("p.yml", text, &cfg, &errs);
        if (!s_rules[i].error) {
            ck_assert_msg(rc == 0, "case %zu: %s", i, errs.len ? errs.items[0].msg : "?");
        } else {
            ck_assert_msg(rc != 0, "case %zu loaded", i);
            ck_assert_msg(check_util_cfg_error_find(&errs, s_rules[i].error) >= 0,
                          "case %zu: got '%s'", i, errs.len ? errs.items[0].msg : "?");
            ck_assert_int_ge(errs.items[0].line, 2);
        }
        fw_promcfg_free(&cfg);
    }
}
END_TEST

START_TEST(test_fw_promcfg_http_read_secret)
{
    char dir[256], path[300];
    check_util_tmpdir_new(dir, sizeof(dir), "secret");
    snprintf(path, sizeof(path), "%s/tok", dir);
    check_util_write_file(path, "  s3cret \n\n");
    char *out = NULL;
    fw_err_t err;
    ck_assert_int_eq(fw_promcfg_http_read_secret(path, &out, &err), 0);
    ck_assert_str_eq(out, "s3cret");
    free(out);
    char *big = malloc(FW_PROMCFG_HTTP_SECRET_MAX + 10);
    memset(big, 'a', FW_PROMCFG_HTTP_SECRET_MAX + 9);
    big[FW_PROMCFG_HTTP_SECRET_MAX + 9] = '\0';
    check_util_write_file(path, big);
    free(big);
    ck_assert_int_eq(fw_promcfg_http_read_secret(path, &out, &err), -1);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than"));
    snprintf(path, sizeof(path), "%s/missing", dir);
    ck_assert_int_eq(fw_promcfg_http_read_secret(path, &out, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "unable to read file "));
    ck_assert_ptr_nonnull(strstr(err.msg, "No such file"));
    ck_assert_int_eq(check_util_tmpdir_remove(dir), 0);
}
END_TEST

// tls_config.ca_file_pem is borrowed content (fw_tlsfiles_tls's shallow copy for
// fw_http_tls), never part of the settings: a copy does not carry it (nor free it), and two
// settings naming the same ca_file are equal whatever content either was given.
START_TEST(test_fw_promcfg_http_ca_pem_not_copied)
{
    static char pem[] = "-----BEGIN CERTIFICATE-----\nx\n";
    struct fw_http_client_config a = {0}, b = {0};
    a.tls_config.ca_file = strdup("/etc/ca.pem");
    a.tls_config.ca_file_pem = pem;
    fw_promcfg_http_copy(&b, &a);
    ck_assert_ptr_null(b.tls_config.ca_file_pem);
    ck_assert_str_eq(b.tls_config.ca_file, "/etc/ca.pem");
    ck_assert(fw_promcfg_http_equal(&a, &b));
    a.tls_config.ca_file_pem = NULL; // borrowed: not a's to free
    fw_promcfg_http_free(&a);
    fw_promcfg_http_free(&b);
}
END_TEST

Suite *
fw_promcfg_http_suite(void)
{
    Suite *s = suite_create("fw_promcfg_http");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_promcfg_http_load);
    tcase_add_test(tc, test_fw_promcfg_http_rules);
    tcase_add_test(tc, test_fw_promcfg_http_read_secret);
    tcase_add_test(tc, test_fw_promcfg_http_ca_pem_not_copied);
    suite_add_tcase(s, tc);
    return s;
}
