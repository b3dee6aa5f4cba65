/*  check_fw_webauth.c — --web.config.file: the file format (fw_webcfg: every key done or
    refused at file:line:col), basic authentication with bcrypt and its cache
    (fw_http_auth), and fw_http answering 401 and counting the failures. Hashes are made
    here with libcrypt at cost 4 (the lowest), so the tests stay quick. TLS is covered by
    test/it/web_config.sh with a certificate openssl makes.
*/
#include <check.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "fw_http.h"
#include "fw_http_auth.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_webcfg.h"

static char s_dir[256];

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "webauth");
}

static void
s_teardown(void)
{
    check_util_tmpdir_remove(s_dir);
}

// A bcrypt hash ($2b$, cost 4) of pass into out (61+ bytes).
static void
s_hash(const char *pass, char *out, size_t size)
{
    char salt[64];
    ck_assert_ptr_nonnull(crypt_gensalt_rn("$2b$", 4, NULL, 0, salt, sizeof(salt)));
    struct crypt_data *cd = fw_calloc(1, sizeof(*cd));
    const char *h = crypt_r(pass, salt, cd);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq((int)strlen(h), 60);
    snprintf(out, size, "%s", h);
    free(cd);
}

// Write text as dir/name; the path into path.
static void
s_file(const char *name, const char *text, char *path, size_t size)
{
    snprintf(path, size, "%s/%s", s_dir, name);
    check_util_write_file(path, text);
}

static int
s_load(const char *text, struct fw_webcfg *cfg, struct fw_cfg_errors *errs, char *path)
{
    s_file("web.yml", text, path, 512);
    memset(cfg, 0, sizeof(*cfg));
    memset(errs, 0, sizeof(*errs));
    return fw_webcfg_load(path, cfg, errs);
}

START_TEST(webcfg_full_file_loads)
{
    char h[80], path[512], text[2048];
    s_hash("pw", h, sizeof(h));
    snprintf(text, sizeof(text),
             "tls_server_config:\n"
             "  cert_file: c.pem\n"
             "  key_file: k.pem\n"
             "  client_auth_type: RequireAndVerifyClientCert\n"
             "  client_ca_file: ca.pem\n"
             "  min_version: TLS13\n"
             "  prefer_server_cipher_suites: true\n"
             "http_server_config:\n"
             "  http2: false\n"
             "  headers:\n"
             "    X-Frame-Options: sameorigin\n"
             "    X-Content-Type-Options: nosniff\n"
             "    Strict-Transport-Security: max-age=31536000\n"
             "basic_auth_users:\n"
             "  alice: '%s'\n",
             h);
    struct fw_webcfg cfg;
    struct fw_cfg_errors errs;
    int rc = s_load(text, &cfg, &errs, path);
    ck_assert_msg(rc == 0, "%s", errs.len ? errs.items[0].msg : "?");
    ck_assert(fw_webcfg_tls_enabled(&cfg));
    ck_assert_int_eq(cfg.tls.client_auth, FW_WEBCFG_REQUIRE_AND_VERIFY);
    ck_assert_int_eq(cfg.tls.min_version, 3);
    ck_assert_int_eq(cfg.tls.max_version, 3);
    ck_assert_str_eq(cfg.headers[1], "sameorigin");
    ck_assert_str_eq(fw_webcfg_header_name(4), "Strict-Transport-Security");
    ck_assert_str_eq(fw_labels_get(&cfg.users, "alice"), h);
    char prio[160];
    ck_assert_str_eq(fw_webcfg_tls_priorities(&cfg, prio, sizeof(prio)),
                     "NORMAL:%SERVER_PRECEDENCE:-VERS-ALL:+VERS-TLS1.3");
    fw_webcfg_free(&cfg);
    // An empty file: no TLS, no users, TLS 1.2 to 1.3 as upstream's defaults.
    rc = s_load("", &cfg, &errs, path);
    ck_assert_int_eq(rc, 0);
    ck_assert(!fw_webcfg_tls_enabled(&cfg));
    ck_assert_int_eq(cfg.tls.min_version, 2);
    ck_assert_int_eq(cfg.users.len, 0);
    fw_webcfg_free(&cfg);
}
END_TEST

// Every key floorwatch does not do is refused where it stands, and bad values too; the
// message never quotes a hash.
START_TEST(webcfg_refuses_at_line_col)
{
    const char *text = "tls_server_config:\n"                        // 1
                       "  cert_file: c.pem\n"                        // 2
                       "  key_file: k.pem\n"                         // 3
                       "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n" // 4
                       "  curve_preferences: [X25519]\n"             // 5
                       "  client_allowed_sans: [a]\n"                // 6
                       "  prefer_server_cipher_suites: false\n"      // 7
                       "  client_auth_type: RequireAnyClientCert\n"  // 8
                       "http_server_config:\n"                       // 9
                       "  http2: true\n"                             // 10
                       "  headers:\n"                                // 11
                       "    X-Frame-Options: allow\n"                // 12
                       "    X-Powered-By: me\n"                      // 13
                       "basic_auth_users:\n"                         // 14
                       "  bob: notahash-secretvalue\n"               // 15
                       "rate_limit:\n"                               // 16
                       "  interval: 1s\n";                           // 17
    struct fw_webcfg cfg;
    struct fw_cfg_errors errs;
    char path[512];
    ck_assert_int_eq(s_load(text, &cfg, &errs, path), -1);
    check_util_cfg_error_assert(&errs, path, "cipher_suites: not supported", 4, 3);
    check_util_cfg_error_assert(&errs, path, "curve_preferences: not supported", 5, 3);
    check_util_cfg_error_assert(&errs, path, "client_allowed_sans: not supported", 6, 3);
    check_util_cfg_error_assert(&errs, path,
                                "prefer_server_cipher_suites: 'false' is not supported", 7, 3);
    ck_assert_int_ge(check_util_cfg_error_find(&errs, "RequireAnyClientCert"), 0);
    check_util_cfg_error_assert(&errs, path, "http2: 'true' is not supported", 10, 3);
    check_util_cfg_error_assert(&errs, path, "invalid value for X-Frame-Options", 12, 22);
    ck_assert_int_ge(check_util_cfg_error_find(&errs, "X-Powered-By"), 0);
    check_util_cfg_error_assert(&errs, path, "not a bcrypt hash", 15, 8);
    check_util_cfg_error_assert(&errs, path, "rate_limit: not supported", 16, 1);
    for (size_t i = 0; i < errs.len; i++)
        ck_assert_msg(!strstr(errs.items[i].msg, "secretvalue"), "%s", errs.items[i].msg);
    fw_webcfg_free(&cfg);

    // The rules across keys, at tls_server_config.
    ck_assert_int_eq(s_load("tls_server_config:\n  cert_file: c.pem\n", &cfg, &errs, path), -1);
    check_util_cfg_error_assert(&errs, path, "missing key_file", 2, 3);
    fw_webcfg_free(&cfg);
    ck_assert_int_eq(s_load("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                            "  client_auth_type: VerifyClientCertIfGiven\n",
                            &cfg, &errs, path),
                     -1);
    ck_assert_int_ge(check_util_cfg_error_find(&errs, "needs client_ca_file"), 0);
    fw_webcfg_free(&cfg);
    ck_assert_int_eq(s_load("tls_server_config:\n  cert_file: c\n  key_file: k\n"
                            "  min_version: TLS13\n  max_version: TLS12\n",
                            &cfg, &errs, path),
                     -1);
    ck_assert_int_ge(check_util_cfg_error_find(&errs, "max_version must be greater"), 0);
    fw_webcfg_free(&cfg);
}
END_TEST

START_TEST(auth_parse_basic)
{
    char u[16], p[16];
    ck_assert(fw_http_auth_parse_basic("Basic YWxpY2U6czNjcjp0", u, sizeof(u), p, sizeof(p)));
    ck_assert_str_eq(u, "alice");
    ck_assert_str_eq(p, "s3cr:t"); // the first ':' splits
    ck_assert(fw_http_auth_parse_basic("basic Ym9iOg==", u, sizeof(u), p, sizeof(p)));
    ck_assert_str_eq(u, "bob");
    ck_assert_str_eq(p, "");
    ck_assert(!fw_http_auth_parse_basic("Bearer YWxpY2U6cHc=", u, sizeof(u), p, sizeof(p)));
    ck_assert(!fw_http_auth_parse_basic("Basic YWxpY2Vwdw==", u, sizeof(u), p, sizeof(p))); // no :
    ck_assert(!fw_http_auth_parse_basic("Basic YWxpY2U6cHc", u, sizeof(u), p, sizeof(p)));  // pad
    ck_assert(!fw_http_auth_parse_basic("Basic YW=pY2U6cHc=", u, sizeof(u), p, sizeof(p)));
    ck_assert(!fw_http_auth_parse_basic("Basic YQBiOmM=", u, sizeof(u), p, sizeof(p))); // NUL
    ck_assert(!fw_http_auth_parse_basic(NULL, u, sizeof(u), p, sizeof(p)));
    // longer than the buffers: refused, not cut
    ck_assert(!fw_http_auth_parse_basic("Basic YWFhYWFhYWFhYWFhYWFhYWFhYWE6cA==", u, sizeof(u), p,
                                        sizeof(p)));
}
END_TEST

static char *
s_basic(const char *user, const char *pass)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char in[256];
    int n = snprintf(in, sizeof(in), "%s:%s", user, pass);
    char *out = fw_calloc(1, 6 + 4 * ((size_t)n + 2) / 3 + 1);
    char *o = out + sprintf(out, "Basic ");
    for (int i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        *o++ = tbl[(v >> 18) & 63];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    return out;
}

static fw_http_auth_result_t
s_check(fw_http_auth_t *a, const char *user, const char *pass)
{
    char *hdr = user ? s_basic(user, pass) : NULL;
    char *headers[FW_WEBCFG_HEADERS];
    fw_http_auth_result_t rc = fw_http_auth_check(a, hdr, headers);
    for (int i = 0; i < FW_WEBCFG_HEADERS; i++)
        free(headers[i]);
    free(hdr);
    return rc;
}

// A right password is checked with bcrypt once and then served from the cache; a wrong
// one never passes, however often it follows a right one; unknown users cost a bcrypt
// check too.
START_TEST(auth_cache_successes_only)
{
    char h[80], path[512], text[256];
    s_hash("right", h, sizeof(h));
    snprintf(text, sizeof(text), "basic_auth_users:\n  alice: %s\n", h);
    s_file("web.yml", text, path, sizeof(path));
    fw_http_auth_t *a = fw_http_auth_new(path);
    fw_err_t err = {0};
    ck_assert_int_eq(fw_http_auth_open(a, &err), 0);
    ck_assert_int_eq(s_check(a, NULL, NULL), FW_HTTP_AUTH_MISSING);
    ck_assert_int_eq(s_check(a, "alice", "right"), FW_HTTP_AUTH_OK);
    ck_assert_uint_eq(fw_http_auth_bcrypt_runs(a), 1);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(s_check(a, "alice", "right"), FW_HTTP_AUTH_OK);
    ck_assert_uint_eq(fw_http_auth_bcrypt_runs(a), 1);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(s_check(a, "alice", "wrong"), FW_HTTP_AUTH_WRONG);
        ck_assert_int_eq(s_check(a, "alice", "righ"), FW_HTTP_AUTH_WRONG);
        ck_assert_int_eq(s_check(a, "alice", "right "), FW_HTTP_AUTH_WRONG);
    }
    ck_assert_uint_eq(fw_http_auth_bcrypt_runs(a), 10); // no failure was cached either
    ck_assert_int_eq(s_check(a, "mallory", "right"), FW_HTTP_AUTH_WRONG);
    ck_assert_uint_eq(fw_http_auth_bcrypt_runs(a), 11);
    fw_http_auth_destroy(&a);
    fw_http_auth_destroy(&a);
    ck_assert_ptr_null(a);
}
END_TEST

// As Prometheus, the file is read again when it changes: a new password takes effect, and
// a file that no longer loads answers 500 until it is fixed.
START_TEST(auth_file_change)
{
    char h1[80], h2[80], path[512], text[256];
    s_hash("one", h1, sizeof(h1));
    s_hash("two", h2, sizeof(h2));
    snprintf(text, sizeof(text), "basic_auth_users:\n  alice: %s\n", h1);
    s_file("web.yml", text, path, sizeof(path));
    fw_http_auth_t *a = fw_http_auth_new(path);
    fw_err_t err = {0};
    ck_assert_int_eq(fw_http_auth_open(a, &err), 0);
    ck_assert_int_eq(s_check(a, "alice", "one"), FW_HTTP_AUTH_OK);
    snprintf(text, sizeof(text), "basic_auth_users:\n  alice: %s\n  bob: %s\n", h2, h2);
    s_file("web.yml", text, path, sizeof(path));
    ck_assert_int_eq(s_check(a, "alice", "one"), FW_HTTP_AUTH_WRONG);
    ck_assert_int_eq(s_check(a, "alice", "two"), FW_HTTP_AUTH_OK);
    ck_assert_int_eq(s_check(a, "bob", "two"), FW_HTTP_AUTH_OK);
    s_file("web.yml", "basic_auth_users: [\n", path, sizeof(path));
    ck_assert_int_eq(s_check(a, "alice", "two"), FW_HTTP_AUTH_CONFIG_ERROR);
    s_file("web.yml", "", path, sizeof(path));
    ck_assert_int_eq(s_check(a, NULL, NULL), FW_HTTP_AUTH_OK); // no users: open
    fw_http_auth_destroy(&a);

    // A file that does not load at start fails the open with file:line:col.
    s_file("bad.yml", "basic_auth_users:\n  alice: plain\n", path, sizeof(path));
    a = fw_http_auth_new(path);
    ck_assert_int_eq(fw_http_auth_open(a, &err), -1);
    ck_assert_msg(strstr(err.msg, "bad.yml:2:10: basic_auth_users:"), "%s", err.msg);
    ck_assert_msg(!strstr(err.msg, "plain"), "%s", err.msg);
    fw_http_auth_destroy(&a);
}
END_TEST

static long
s_get(int port, const char *path, const char *authz, char **body)
{
    char url[256], hdr[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    const char *headers[2] = {NULL, NULL};
    if (authz) {
        snprintf(hdr, sizeof(hdr), "Authorization: %s", authz);
        headers[0] = hdr;
    }
    struct check_util_http r;
    ck_assert_int_eq(check_util_http_request("GET", url, NULL, 0, NULL, headers, 20000, &r), 0);
    long status = r.status;
    if (body)
        *body = fw_strdup(r.body);
    check_util_http_clear(&r);
    return status;
}

// Every route, /-/healthy and /metrics included, wants the credentials; refusals are 401
// and counted by route and by reason, so the shipped AuthenticationFailures rule sees them.
START_TEST(http_basic_auth)
{
    char h[80], path[512], text[256];
    s_hash("s3cret", h, sizeof(h));
    snprintf(text, sizeof(text), "basic_auth_users:\n  alice: %s\n", h);
    s_file("web.yml", text, path, sizeof(path));
    fw_metrics_t *m = fw_metrics_new();
    fw_http_t *http = fw_http_new("test", m);
    fw_http_set_web_config(http, path);
    fw_err_t err = {0};
    ck_assert_msg(fw_http_start(http, "127.0.0.1:0", &err) == 0, "%s", err.msg);
    int port = fw_http_port(http);
    char *ok = s_basic("alice", "s3cret");
    char *bad = s_basic("alice", "nope");
    char *body = NULL;
    ck_assert_int_eq(s_get(port, "/-/healthy", NULL, &body), 401);
    ck_assert_str_eq(body, "Unauthorized\n");
    free(body);
    ck_assert_int_eq(s_get(port, "/-/ready", bad, NULL), 401);
    ck_assert_int_eq(s_get(port, "/no/such", bad, NULL), 401);
    ck_assert_int_eq(s_get(port, "/-/healthy", ok, NULL), 200);
    ck_assert_int_eq(s_get(port, "/metrics", ok, &body), 200);
    ck_assert_msg(strstr(body, "fw_http_requests_total{handler=\"/-/healthy\",code=\"401\"} 1\n"),
                  "%s", body);
    ck_assert_msg(strstr(body, "fw_http_requests_total{handler=\"/-/ready\",code=\"401\"} 1\n"),
                  "%s", body);
    ck_assert_msg(strstr(body, "fw_http_auth_failures_total{reason=\"missing\"} 1\n"), "%s", body);
    ck_assert_msg(strstr(body, "fw_http_auth_failures_total{reason=\"wrong\"} 2\n"), "%s", body);
    ck_assert_msg(!strstr(body, h), "the hash shows in /metrics");
    free(body);
    fw_http_destroy(&http);
    fw_metrics_destroy(&m);
    free(ok);
    free(bad);

    // A web config that does not load stops the start, naming the file.
    s_file("bad.yml", "basic_auth_users:\n  alice: x\n", path, sizeof(path));
    http = fw_http_new("test", NULL);
    fw_http_set_web_config(http, path);
    ck_assert_int_eq(fw_http_start(http, "127.0.0.1:0", &err), -1);
    ck_assert_msg(strstr(err.msg, "bad.yml:2:10"), "%s", err.msg);
    fw_http_destroy(&http);
}
END_TEST

Suite *
fw_webauth_suite(void)
{
    Suite *s = suite_create("fw_webauth");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, webcfg_full_file_loads);
    tcase_add_test(tc, webcfg_refuses_at_line_col);
    tcase_add_test(tc, auth_parse_basic);
    tcase_add_test(tc, auth_cache_successes_only);
    tcase_add_test(tc, auth_file_change);
    tcase_add_test(tc, http_basic_auth);
    suite_add_tcase(s, tc);
    return s;
}
