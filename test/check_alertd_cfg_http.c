/*  check_alertd_cfg_http.c — http_config on every HTTP integration of alertmanager.yml
    (alertd_cfg_http): the keys accepted (tls_config, proxy_*), the fallback to
    global.http_config and its replacement by an integration's own, the TLS files read at
    load relative to the config's directory and shipped in NOTIFY, secrets shown as <secret>
    to taps and in /api/v2/status, and every refusal with file:line:col.
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

#define S_DIR "test/tmp/cfg_http"
#define S_CA "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n"
#define S_CERT "-----BEGIN CERTIFICATE-----\nCLIENT\n-----END CERTIFICATE-----\n"
#define S_KEY "-----BEGIN PRIVATE KEY-----\nSECRET-key\n-----END PRIVATE KEY-----\n"

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "%s: run from the repository root", path);
    fputs(text, f);
    fclose(f);
}

static const char *const s_files[] = {S_DIR "/ca.pem", S_DIR "/cert.pem", S_DIR "/key.pem",
                                      S_DIR "/notpem", S_DIR "/am.yml",   S_DIR "/o2secret"};

static void
s_setup(void)
{
    (void)mkdir("test/tmp", 0755);
    (void)mkdir(S_DIR, 0755);
    s_write(S_DIR "/ca.pem", S_CA);
    s_write(S_DIR "/cert.pem", S_CERT);
    s_write(S_DIR "/key.pem", S_KEY);
    s_write(S_DIR "/notpem", "SECRET-notpem\n");
    s_write(S_DIR "/o2secret", "  SECRET-o2file\n");
}

static void
s_teardown(void)
{
    for (size_t i = 0; i < sizeof s_files / sizeof *s_files; i++)
        unlink(s_files[i]);
    rmdir(S_DIR);
}

// Relative file names are relative to the config file's directory (written to S_DIR).
static const char s_good[] =
    "global:\n"
    "  slack_api_url: https://hooks.slack.example/SECRET-slack\n"
    "  http_config:\n"
    "    proxy_url: http://user:SECRET-proxy@127.0.0.1:3128/\n"
    "    no_proxy: internal.example,10.0.0.0/8\n"
    "    tls_config: {ca_file: ca.pem}\n"
    "route: {receiver: r}\n"
    "receivers:\n"
    "  - name: r\n"
    "    slack_configs: [{channel: '#line'}]\n"
    "    pagerduty_configs:\n"
    "      - routing_key: SECRET-routing\n"
    "        http_config:\n"
    "          tls_config:\n"
    "            cert_file: cert.pem\n"
    "            key_file: key.pem\n"
    "            server_name: events.example\n"
    "            min_version: TLS12\n"
    "            max_version: TLS13\n"
    "          enable_http2: true\n"
    "    msteams_configs:\n"
    "      - webhook_url: https://teams.example/SECRET-teams\n"
    "        http_config: {follow_redirects: false}\n"
    "    msteamsv2_configs:\n"
    "      - webhook_url: https://teams.example/SECRET-teams2\n"
    "        http_config:\n"
    "          tls_config:\n"
    "            ca: |\n"
    "              -----BEGIN CERTIFICATE-----\n"
    "              INLINE\n"
    "              -----END CERTIFICATE-----\n"
    "            cert: |\n"
    "              -----BEGIN CERTIFICATE-----\n"
    "              INLINE\n"
    "              -----END CERTIFICATE-----\n"
    "            key: |\n"
    "              -----BEGIN EC PRIVATE KEY-----\n"
    "              SECRET-inline-key\n"
    "              -----END EC PRIVATE KEY-----\n"
    "            insecure_skip_verify: true\n"
    "    webhook_configs:\n"
    "      - url: https://hook.example/x\n"
    "        http_config:\n"
    "          bearer_token: SECRET-bearer\n"
    "          proxy_from_environment: true\n"
    "          proxy_connect_header: {Proxy-Authorization: [Basic SECRET-connect]}\n"
    "      - url: https://hook.example/y\n";

static json_t *
s_http(json_t *notify, const char *array)
{
    return json_object_get(json_array_get(json_object_get(notify, array), 0), "http_config");
}

// Load text as am.yml (it must load) into *cfg: a new object with what NOTIFY carries of its
// first receiver.
static json_t *
s_load_notify(const char *text, struct alertd_cfg **cfg)
{
    s_write(S_DIR "/am.yml", text);
    struct fw_cfg_errors errs = {0};
    *cfg = alertd_cfg_load(S_DIR "/am.yml", NULL, &errs);
    for (size_t i = 0; i < errs.len; i++)
        fprintf(stderr, "error: %s\n", errs.items[i].msg);
    ck_assert_ptr_nonnull(*cfg);
    json_t *n = json_object();
    alertd_cfg_receivers_notify(&(*cfg)->receivers[0], n);
    return n;
}

START_TEST(test_alertd_cfg_http_load_notify)
{
    struct alertd_cfg *cfg;
    json_t *n = s_load_notify(s_good, &cfg);

    // slack: no http_config of its own, so global's, with the CA file's contents.
    json_t *h = s_http(n, "slack_configs");
    ck_assert_str_eq(json_string_value(json_object_get(h, "proxy_url")),
                     "http://user:SECRET-proxy@127.0.0.1:3128/");
    ck_assert_str_eq(json_string_value(json_object_get(h, "no_proxy")),
                     "internal.example,10.0.0.0/8");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(h, "tls"), "ca")), S_CA);
    // azuresms would be the same; pagerduty's own replaces global's entirely: no proxy, no CA.
    h = s_http(n, "pagerduty_configs");
    ck_assert_ptr_null(json_object_get(h, "proxy_url"));
    json_t *tls = json_object_get(h, "tls");
    ck_assert_ptr_null(json_object_get(tls, "ca"));
    ck_assert_str_eq(json_string_value(json_object_get(tls, "cert")), S_CERT);
    ck_assert_str_eq(json_string_value(json_object_get(tls, "key")), S_KEY);
    ck_assert_str_eq(json_string_value(json_object_get(tls, "server_name")), "events.example");
    ck_assert_str_eq(json_string_value(json_object_get(tls, "min_version")), "TLS12");
    ck_assert_str_eq(json_string_value(json_object_get(tls, "max_version")), "TLS13");
    h = s_http(n, "msteams_configs");
    ck_assert(json_is_false(json_object_get(h, "follow_redirects")));
    ck_assert_int_eq(json_object_size(h), 1);
    h = s_http(n, "msteamsv2_configs");
    tls = json_object_get(h, "tls");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(tls, "key")), "SECRET-inline"));
    ck_assert(json_is_true(json_object_get(tls, "insecure_skip_verify")));

    // webhook: Authorization and follow_redirects keep their keys, the rest is http_config.
    const struct alertd_cfg_webhook *w = cfg->receivers[0].webhooks;
    ck_assert_str_eq(w[0].authorization, "Bearer SECRET-bearer");
    ck_assert(json_is_true(json_object_get(w[0].http_json, "proxy_from_environment")));
    ck_assert_str_eq(json_string_value(json_array_get(
                         json_object_get(w[0].http_json, "proxy_connect_header"), 0)),
                     "Proxy-Authorization: Basic SECRET-connect");
    ck_assert_ptr_null(json_object_get(w[0].http_json, "authorization"));
    ck_assert_str_eq(json_string_value(json_object_get(w[1].http_json, "proxy_url")),
                     "http://user:SECRET-proxy@127.0.0.1:3128/");

    // Taps see <secret> for the key, the proxy URL and the CONNECT headers (fw_msg.def).
    json_object_set_new(n, "receiver", json_string("r"));
    json_t *wcs = json_array();
    json_t *wc = json_object();
    json_object_set(wc, "http_config", w[0].http_json);
    json_array_append_new(wcs, wc);
    json_object_set_new(n, "webhook_configs", wcs);
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"key\":\"<secret>\""));
    ck_assert_ptr_nonnull(strstr(shown, "\"proxy_url\":\"<secret>\""));
    ck_assert_ptr_nonnull(strstr(shown, "\"proxy_connect_header\":[\"<secret>\"]"));
    ck_assert_ptr_nonnull(strstr(shown, "INLINE")); // a certificate is not a secret
    free(shown);
    json_decref(red);
    json_decref(n);

    // /api/v2/status: the inline key and CONNECT header <secret>, the proxy password xxxxx.
    ck_assert_msg(strstr(cfg->original, "SECRET-") == NULL, "%s", cfg->original);
    ck_assert_ptr_nonnull(strstr(cfg->original, "http://user:xxxxx@127.0.0.1:3128/"));
    ck_assert_ptr_nonnull(strstr(cfg->original, "key: <secret>"));
    alertd_cfg_destroy(&cfg);
}
END_TEST

// prometheus/common's rules (TLSConfig, ProxyConfig), files that cannot be read, keys not
// done, each at the http_config's file:line:col; global's errors too, once.
START_TEST(test_alertd_cfg_http_refused)
{
    static const char *const want[] = {
        "bad.yml:3:5: error: tls_config: unable to load specified CA cert " S_DIR
        "/none.pem: No such file or directory",
        "bad.yml:9:11: error: exactly one of key or key_file must be configured when a client "
        "certificate is configured",
        "bad.yml:11:11: error: if proxy_from_environment is configured, proxy_url must not be "
        "configured",
        "bad.yml:14:11: error: if no_proxy is configured, proxy_url must also be configured",
        "bad.yml:16:11: error: if proxy_connect_header is configured, proxy_url or "
        "proxy_from_environment must also be configured",
        "bad.yml:18:11: error: at most one of ca and ca_file must be configured",
        "bad.yml:20:11: error: tls_config: unable to use specified client key " S_DIR
        "/notpem: no PEM",
        "bad.yml:22:11: error: tls_config.max_version must be greater than or equal to "
        "tls_config.min_version",
        "bad.yml:25:11: error: azuresms_configs: http_config credentials cannot be used, the "
        "access key signs each request",
        "bad.yml:26:11: error: receivers[0].azuresms_configs[0].http_config.http_headers: not "
        "supported by floorwatch (not supported yet)",
        "bad.yml:27:37: error: unknown TLS version: TLS14",
        "bad.yml:28:22: error: proxy_url: invalid URL",
        "bad.yml:30:11: error: azuresms_configs: http_config credentials cannot be used, the "
        "access key signs each request",
    };
    check_util_alertd_cfg_errors(
        "global:\n"
        "  http_config:\n"
        "    tls_config: {ca_file: " S_DIR "/none.pem}\n"
        "route: {receiver: r}\n"
        "receivers:\n"
        "  - name: r\n"
        "    slack_configs:\n"
        "      - http_config:\n"
        "          tls_config: {cert_file: " S_DIR "/cert.pem}\n"
        "      - http_config:\n"
        "          proxy_url: http://p:3128/\n"
        "          proxy_from_environment: true\n"
        "      - http_config:\n"
        "          no_proxy: x\n"
        "      - http_config:\n"
        "          proxy_connect_header: {A: [b]}\n"
        "      - http_config:\n"
        "          tls_config: {ca: x, ca_file: y}\n"
        "      - http_config:\n"
        "          tls_config: {cert_file: " S_DIR "/cert.pem, key_file: " S_DIR "/notpem}\n"
        "      - http_config:\n"
        "          tls_config: {min_version: TLS13, max_version: TLS12}\n"
        "    azuresms_configs:\n"
        "      - http_config:\n"
        "          oauth2: {client_id: i, client_secret: SECRET-o, token_url: 'http://t/'}\n"
        "          http_headers: {X: {values: [v]}}\n"
        "          tls_config: {min_version: TLS14}\n"
        "          proxy_url: 'http://u:SECRET-p@h /'\n"
        "      - http_config:\n"
        "          bearer_token: SECRET-b\n",
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

// http_config.oauth2 (Alertmanager 0.25's keys): shipped in NOTIFY with client_secret_file
// read (relative to the config, trimmed) and its own TLS files; the secret <secret> for taps
// and in /api/v2/status.
static const char s_oauth2[] =
    "global:\n"
    "  http_config:\n"
    "    oauth2:\n"
    "      client_id: global-id\n"
    "      client_secret_file: o2secret\n"
    "      token_url: https://auth.example/token\n"
    "route: {receiver: r}\n"
    "receivers:\n"
    "  - name: r\n"
    "    slack_configs: [{api_url: 'https://hooks.slack.example/x', channel: '#l'}]\n"
    "    webhook_configs:\n"
    "      - url: https://hook.example/x\n"
    "        http_config:\n"
    "          follow_redirects: false\n"
    "          oauth2:\n"
    "            client_id: my id\n"
    "            client_secret: SECRET-o2inline\n"
    "            scopes: [a, b c]\n"
    "            token_url: http://127.0.0.1:9/token\n"
    "            endpoint_params: {audience: 'https://x/', resource: r}\n"
    "            tls_config: {ca_file: ca.pem, insecure_skip_verify: true}\n"
    "            proxy_url: http://u:SECRET-o2proxy@127.0.0.1:3128/\n";

START_TEST(test_alertd_cfg_http_oauth2_notify)
{
    struct alertd_cfg *cfg;
    json_t *n = s_load_notify(s_oauth2, &cfg);
    // slack: global's oauth2, the secret from the file (relative, trimmed).
    json_t *o = json_object_get(s_http(n, "slack_configs"), "oauth2");
    ck_assert_str_eq(json_string_value(json_object_get(o, "client_id")), "global-id");
    ck_assert_str_eq(json_string_value(json_object_get(o, "client_secret")), "SECRET-o2file");
    ck_assert_str_eq(json_string_value(json_object_get(o, "token_url")),
                     "https://auth.example/token");
    ck_assert_int_eq(json_object_size(o), 3);
    // webhook: its own, every key.
    const struct alertd_cfg_webhook *w = cfg->receivers[0].webhooks;
    ck_assert_ptr_null(w[0].authorization); // the token comes from notifyd
    o = json_object_get(w[0].http_json, "oauth2");
    ck_assert_str_eq(json_string_value(json_object_get(o, "client_id")), "my id");
    ck_assert_str_eq(json_string_value(json_object_get(o, "client_secret")), "SECRET-o2inline");
    json_t *want = json_pack("[s,s]", "a", "b c");
    ck_assert(json_equal(json_object_get(o, "scopes"), want));
    json_decref(want);
    want = json_pack("{s:s,s:s}", "audience", "https://x/", "resource", "r");
    ck_assert(json_equal(json_object_get(o, "endpoint_params"), want));
    json_decref(want);
    json_t *tls = json_object_get(o, "tls");
    ck_assert_str_eq(json_string_value(json_object_get(tls, "ca")), S_CA);
    ck_assert(json_is_true(json_object_get(tls, "insecure_skip_verify")));
    ck_assert_str_eq(json_string_value(json_object_get(o, "proxy_url")),
                     "http://u:SECRET-o2proxy@127.0.0.1:3128/");

    // Taps: the client secret and the proxy URL <secret> (fw_msg.def).
    json_object_set_new(n, "receiver", json_string("r"));
    json_t *wc = json_object();
    json_object_set(wc, "http_config", w[0].http_json);
    json_object_set_new(n, "webhook_configs", json_pack("[o]", wc));
    json_object_set_new(n, "payload", json_object());
    json_t *red = fw_msg_redacted(FW_MSG_NOTIFY, n);
    char *shown = json_dumps(red, JSON_COMPACT);
    ck_assert_msg(strstr(shown, "SECRET-") == NULL, "%s", shown);
    ck_assert_ptr_nonnull(strstr(shown, "\"client_secret\":\"<secret>\""));
    ck_assert_ptr_nonnull(strstr(shown, "\"client_id\":\"my id\"")); // not a secret
    free(shown);
    json_decref(red);
    json_decref(n);
    // /api/v2/status.
    ck_assert_msg(strstr(cfg->original, "SECRET-") == NULL, "%s", cfg->original);
    ck_assert_ptr_nonnull(strstr(cfg->original, "client_secret: <secret>"));
    alertd_cfg_destroy(&cfg);
}
END_TEST

// prometheus/common 0.38's OAuth2 and HTTPClientConfig checks (Alertmanager 0.25's words),
// keys 0.25 does not know refused "not supported", each at file:line:col; secrets never shown.
START_TEST(test_alertd_cfg_http_oauth2_refused)
{
    static const char *const want[] = {
        "bad.yml:7:19: error: oauth2 client_id must be configured",
        "bad.yml:8:31: error: at most one of oauth2 client_secret & client_secret_file must be "
        "configured",
        "bad.yml:9:31: error: either oauth2 client_secret or client_secret_file must be "
        "configured",
        "bad.yml:10:31: error: oauth2 token_url must be configured",
        "bad.yml:12:11: error: at most one of basic_auth, oauth2 & authorization must be "
        "configured",
        "bad.yml:15:11: error: at most one of basic_auth, oauth2 & authorization must be "
        "configured",
        "bad.yml:18:11: error: at most one of basic_auth, oauth2, bearer_token & "
        "bearer_token_file must be configured",
        "bad.yml:20:64: error: receivers[0].slack_configs[7].http_config.oauth2.no_proxy: not "
        "supported",
        "bad.yml:21:64: error: receivers[0].slack_configs[8].http_config.oauth2.client_secret_ref: "
        "not supported",
        "bad.yml:22:64: error: "
        "receivers[0].slack_configs[9].http_config.oauth2.proxy_from_environment: not supported",
        "bad.yml:23:31: error: cannot read client_secret_file \"/work/x/../../test/tmp/none\"",
        "bad.yml:24:31: error: tls_config: unable to load specified CA cert /none.pem",
        "bad.yml:25:43: error: proxy_url: invalid URL",
        "bad.yml:25:31: error: oauth2 client_id must be configured",
        // A basic_auth and a bearer_token together (prometheus/common's text).
        "bad.yml:26:22: error: at most one of basic_auth, oauth2, bearer_token & "
        "bearer_token_file must be configured",
    };
    check_util_alertd_cfg_errors(
        "route: {receiver: r}\n"                                                // 1
        "receivers:\n"                                                          // 2
        "  - name: r\n"                                                         // 3
        "    slack_configs:\n"                                                  // 4
        "      - api_url: 'http://s/'\n"                                        // 5
        "        http_config:\n"                                                // 6
        "          oauth2: {client_secret: SECRET-a, token_url: 'http://t/'}\n" // 7
        "      - http_config: {oauth2: {client_id: i, client_secret: SECRET-b, "
        "client_secret_file: /f, token_url: 'http://t/'}}\n"                                  // 8
        "      - http_config: {oauth2: {client_id: i, token_url: 'http://t/'}}\n"             // 9
        "      - http_config: {oauth2: {client_id: i, client_secret: SECRET-c}}\n"            // 10
        "      - http_config:\n"                                                              // 11
        "          oauth2: {client_id: i, client_secret: SECRET-d, token_url: 'http://t/'}\n" // 12
        "          basic_auth: {username: u, password: SECRET-e}\n"                           // 13
        "      - http_config:\n"                                                              // 14
        "          oauth2: {client_id: i, client_secret: SECRET-f, token_url: 'http://t/'}\n" // 15
        "          authorization: {credentials: SECRET-g}\n"                                  // 16
        "      - http_config:\n"                                                              // 17
        "          oauth2: {client_id: i, client_secret: SECRET-h, token_url: 'http://t/'}\n" // 18
        "          bearer_token: SECRET-i\n"                                                  // 19
        "      - http_config: {oauth2: {client_id: i, client_secret: s, no_proxy: x}}\n"      // 20
        "      - http_config: {oauth2: {client_id: i, client_secret: s, client_secret_ref: "
        "x}}\n" // 21
        "      - http_config: {oauth2: {client_id: i, client_secret: s, "
        "proxy_from_environment: true}}\n" // 22
        "      - http_config: {oauth2: {client_id: i, client_secret_file: /work/x/../../"
        "test/tmp/none, token_url: 'http://t/'}}\n" // 23
        "      - http_config: {oauth2: {client_id: i, client_secret: s, token_url: 'http://t/', "
        "tls_config: {ca_file: /none.pem}}}\n"                                        // 24
        "      - http_config: {oauth2: {proxy_url: 'http://u:SECRET-p@h /'}}\n"       // 25
        "      - http_config: {basic_auth: {username: u}, bearer_token: SECRET-j}\n", // 26
        want, sizeof want / sizeof *want, "SECRET-");
}
END_TEST

Suite *
alertd_cfg_http_suite(void)
{
    Suite *s = suite_create("alertd_cfg_http");
    TCase *tc = tcase_create("cfg");
    tcase_add_unchecked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_alertd_cfg_http_load_notify);
    tcase_add_test(tc, test_alertd_cfg_http_refused);
    tcase_add_test(tc, test_alertd_cfg_http_oauth2_notify);
    tcase_add_test(tc, test_alertd_cfg_http_oauth2_refused);
    suite_add_tcase(s, tc);
    return s;
}
