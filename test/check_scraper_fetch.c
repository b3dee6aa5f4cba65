/*  check_scraper_fetch.c — the fetch actor keeps one easy handle per target: a target
    scraped again with the same settings runs on its handle as it is (no reset, no options
    set again) over the same TCP connection, and a change of its settings (a reload changing
    basic auth, authorization, a proxy, or a secret file's content) takes effect on the
    next request, stale options never carried over.

    A libmicrohttpd server on loopback (check_util_scraper_target) answers /echo with the
    request's Authorization header (or "none") and counts the TCP connections it accepted.
*/
#include <check.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_promcfg_http.h"
#include "fw_time.h"
#include "check_util.h"
#include "check_util_scraper.h"
#include "../scraper/scraper_fetch.h"

Suite *scraper_fetch_suite(void);

// Fetch url with o (id unique) and wait (<= 10 s) for its answer on the pipe: its body or
// "error: <error>" into out.
static void
s_fetch(scraper_fetch_t *fetch, uint64_t id, const char *url, const struct scraper_fetch_opts *o,
        char *out, size_t size)
{
    ck_assert_int_eq(scraper_fetch_start(fetch, id, url, o), 0);
    zpoller_t *poller = zpoller_new(scraper_fetch_sock(fetch), NULL);
    ck_assert_ptr_nonnull(zpoller_wait(poller, 10000));
    zpoller_destroy(&poller);
    struct scraper_fetch_result res;
    ck_assert_int_eq(scraper_fetch_recv(fetch, &res), 0);
    ck_assert_uint_eq(res.id, id);
    size_t len;
    const char *body = scraper_fetch_result_body(&res, &len);
    if (res.error)
        snprintf(out, size, "error: %s", res.error);
    else
        snprintf(out, size, "%.*s", (int)len, body);
    scraper_fetch_result_clear(&res);
}

// Fetch url with o as request ++*id and fail unless the answer (or "error: ...") is want.
static void
s_expect(scraper_fetch_t *fetch, uint64_t *id, const char *url, const struct scraper_fetch_opts *o,
         const char *want)
{
    char out[256];
    s_fetch(fetch, ++*id, url, o, out, sizeof(out));
    ck_assert_str_eq(out, want);
}

// Both tests' start: srv answering /echo, keeping connections; a fetch actor; srv's URL.
static scraper_fetch_t *
s_start(struct check_util_scraper_target *srv, char *url, size_t size)
{
    *srv = (struct check_util_scraper_target){.keep_alive = true};
    check_util_scraper_target_start(srv);
    scraper_fetch_t *fetch = scraper_fetch_new(NULL, NULL);
    ck_assert_ptr_nonnull(fetch);
    snprintf(url, size, "http://127.0.0.1:%d/echo", srv->port);
    return fetch;
}

// Five scrapes of one target with the same settings: one handle set up, one connection.
// (The connection count holds on the old build too, which reused connections through the
// multi handle's cache; the handle count fails there: it set every handle up again.)
START_TEST(test_scraper_fetch_keeps_handle_and_connection)
{
    struct check_util_scraper_target srv;
    char url[64];
    scraper_fetch_t *fetch = s_start(&srv, url, sizeof(url));
    struct fw_http_client_config http = {.follow_redirects = true};
    http.authorization.credentials = fw_strdup("tok");
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .http = &http};
    uint64_t id = 0;
    for (int i = 0; i < 5; i++)
        s_expect(fetch, &id, url, &o, "auth{v=\"Bearer tok\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), 1);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 1);
    scraper_fetch_destroy(&fetch);
    fw_promcfg_http_free(&http);
    check_util_scraper_target_stop(&srv);
}
END_TEST

// A reload changing a target's client settings: each change takes effect on the next
// request, on the target's handle, and nothing of the previous settings stays behind.
START_TEST(test_scraper_fetch_settings_change_on_kept_handle)
{
    struct check_util_scraper_target srv;
    char url[64], out[256];
    scraper_fetch_t *fetch = s_start(&srv, url, sizeof(url));
    uint64_t id = 0;

    struct fw_http_client_config basic = {.follow_redirects = true};
    basic.basic_auth.username = fw_strdup("alice");
    basic.basic_auth.password = fw_strdup("one");
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .http = &basic};
    s_expect(fetch, &id, url, &o, "auth{v=\"Basic YWxpY2U6b25l\"} 1\n"); // alice:one
    // the password changed: the same handle, set up again
    free(basic.basic_auth.password);
    basic.basic_auth.password = fw_strdup("two");
    s_expect(fetch, &id, url, &o, "auth{v=\"Basic YWxpY2U6dHdv\"} 1\n"); // alice:two
    // authorization instead: no basic auth left
    struct fw_http_client_config bearer = {.follow_redirects = true};
    bearer.authorization.type = fw_strdup("Token");
    bearer.authorization.credentials = fw_strdup("abc");
    o.http = &bearer;
    s_expect(fetch, &id, url, &o, "auth{v=\"Token abc\"} 1\n");
    // no client settings at all: no header left
    o.http = NULL;
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    // TLS settings: tls_config.server_name (over http it still rewrites the URL's host,
    // reached through CONNECT_TO), then none: neither the rewritten URL nor the CONNECT_TO
    // entry stays on the target's handle (node.test does not resolve). One handle for the
    // target throughout: each change resets it and sets it up again.
    struct fw_http_client_config tls = {.follow_redirects = true};
    tls.tls_config.server_name = fw_strdup("node.test");
    o.http = &tls;
    uint64_t before = scraper_fetch_setups(fetch);
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), before + 1); // set up once, then kept
    o.http = NULL;
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), before + 2);
    // a proxy that refuses connections, then none again: the proxy does not stay
    struct fw_http_client_config proxied = {.follow_redirects = true};
    proxied.proxy_url = fw_strdup("http://127.0.0.1:1");
    o.http = &proxied;
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_msg(strncmp(out, "error: ", 7) == 0, "%s", out);
    o.http = NULL;
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");

    // a secret file's new content is read on the next request and sent on the kept handle
    char path[] = "/tmp/check_scraper_fetch_cred.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    check_util_write_file(path, "first\n");
    struct fw_http_client_config filed = {.follow_redirects = true};
    filed.authorization.credentials_file = fw_strdup(path);
    o.http = &filed;
    s_expect(fetch, &id, url, &o, "auth{v=\"Bearer first\"} 1\n");
    uint64_t setups = scraper_fetch_setups(fetch);
    s_expect(fetch, &id, url, &o, "auth{v=\"Bearer first\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), setups); // unchanged: kept as it was
    check_util_write_file(path, "second\n");
    s_expect(fetch, &id, url, &o, "auth{v=\"Bearer second\"} 1\n");
    // unreadable: the request fails with the reason, and the next good read works again
    ck_assert_int_eq(unlink(path), 0);
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_msg(strstr(out, "unable to read authorization credentials") != NULL, "%s", out);
    check_util_write_file(path, "third\n");
    s_expect(fetch, &id, url, &o, "auth{v=\"Bearer third\"} 1\n");
    ck_assert_int_eq(unlink(path), 0);
    scraper_fetch_destroy(&fetch);
    fw_promcfg_http_free(&basic);
    fw_promcfg_http_free(&bearer);
    fw_promcfg_http_free(&proxied);
    fw_promcfg_http_free(&tls);
    fw_promcfg_http_free(&filed);
    check_util_scraper_target_stop(&srv);
}
END_TEST

// tls_config's files read per request (fw_tlsfiles): the same content keeps the handle
// and its connection; new content sets the handle up again and opens a new connection for
// its first transfer (CURLOPT_FRESH_CONNECT: over http curl compares no TLS settings, so the
// new connection here is that option's), kept from then on; a file that cannot be read fails
// the request with Prometheus's text, and the same content back is the same handle again.
START_TEST(test_scraper_fetch_tls_files_change)
{
    struct check_util_scraper_target srv;
    char url[64], out[512], ca[300], cert[300];
    scraper_fetch_t *fetch = s_start(&srv, url, sizeof(url));
    uint64_t id = 0;
    snprintf(ca, sizeof(ca), "%s/ca.pem", check_util_tmpdir);
    snprintf(cert, sizeof(cert), "%s/cert.pem", check_util_tmpdir);
    check_util_write_file(ca, "CA one\n");
    check_util_write_file(cert, "CERT one\n");
    struct fw_http_client_config h = {.follow_redirects = true};
    h.tls_config.ca_file = fw_strdup(ca);
    h.tls_config.cert_file = fw_strdup(cert);
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .http = &h};
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    uint64_t setups = scraper_fetch_setups(fetch);
    int conns = __atomic_load_n(&srv.conns, __ATOMIC_RELAXED);
    check_util_write_file(ca, "CA one\n"); // written again, the same bytes
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), setups);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), conns);
    check_util_write_file(ca, "CA two\n"); // new content: set up again, a new connection
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), setups + 1);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), conns + 1);
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n"); // then kept
    ck_assert_uint_eq(scraper_fetch_setups(fetch), setups + 1);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), conns + 1);
    check_util_write_file(cert, "CERT two\n"); // the client certificate likewise
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), setups + 2);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), conns + 2);
    ck_assert_int_eq(unlink(ca), 0);
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    char want[512];
    snprintf(want, sizeof(want),
             "error: unable to read CA cert: unable to read file %s: No such file or directory",
             ca);
    ck_assert_str_eq(out, want);
    check_util_write_file(ca, "CA two\n"); // the last good content back: the same handle
    s_expect(fetch, &id, url, &o, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), setups + 2);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), conns + 2);
    scraper_fetch_destroy(&fetch);
    fw_promcfg_http_free(&h);
    check_util_scraper_target_stop(&srv);
}
END_TEST

// after_seq: a request due before the owner says its seq is settled is answered at once,
// skipped (no connection made, never a failed scrape); the same request once settled
// reaches the target. (Without the check the first answer is the body and skipped false.)
START_TEST(test_scraper_fetch_after_seq_skips_until_settled)
{
    struct check_util_scraper_target srv;
    char url[64];
    scraper_fetch_t *fetch = s_start(&srv, url, sizeof(url));
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .after_seq = 7};
    scraper_fetch_set_settled(fetch, 6);
    ck_assert_int_eq(scraper_fetch_start(fetch, 1, url, &o), 0);
    zpoller_t *poller = zpoller_new(scraper_fetch_sock(fetch), NULL);
    ck_assert_ptr_nonnull(zpoller_wait(poller, 10000));
    struct scraper_fetch_result res;
    ck_assert_int_eq(scraper_fetch_recv(fetch, &res), 0);
    ck_assert_uint_eq(res.id, 1);
    ck_assert(res.skipped);
    ck_assert(!res.cancelled);
    ck_assert_ptr_nonnull(res.error);
    scraper_fetch_result_clear(&res);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 0);
    scraper_fetch_set_settled(fetch, 7);
    ck_assert_int_eq(scraper_fetch_start(fetch, 2, url, &o), 0);
    ck_assert_ptr_nonnull(zpoller_wait(poller, 10000));
    ck_assert_int_eq(scraper_fetch_recv(fetch, &res), 0);
    ck_assert_uint_eq(res.id, 2);
    ck_assert(!res.skipped);
    ck_assert_ptr_null(res.error);
    size_t len;
    const char *body = scraper_fetch_result_body(&res, &len);
    ck_assert_str_eq(body, "auth{v=\"none\"} 1\n");
    scraper_fetch_result_clear(&res);
    zpoller_destroy(&poller);
    scraper_fetch_destroy(&fetch);
    check_util_scraper_target_stop(&srv);
}
END_TEST

// The body buffer, sized from Content-Length and never zero-filled: a 3 MiB body arrives
// whole, byte for byte; a short body on the same handle after it is exactly itself (ended,
// nothing of the long one after it); the limit still fails a body one byte over it, and a
// body exactly at it passes.
START_TEST(test_scraper_fetch_body_sized_exact)
{
    size_t big_len = 3u << 20;
    char *big = fw_malloc(big_len + 1);
    for (size_t i = 0; i < big_len; i++)
        big[i] = (char)('a' + i % 26);
    big[big_len - 1] = '\n';
    big[big_len] = '\0';
    struct check_util_scraper_target srv = {.keep_alive = true, .body = big};
    check_util_scraper_target_start(&srv);
    scraper_fetch_t *fetch = scraper_fetch_new(NULL, NULL);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/m", srv.port);
    zpoller_t *poller = zpoller_new(scraper_fetch_sock(fetch), NULL);
    struct scraper_fetch_opts o = {.timeout_ms = 10000};
    const char *want[] = {big, "short 1\n", big, big};
    int64_t limits[] = {0, 0, (int64_t)big_len - 1, (int64_t)big_len};
    for (uint64_t i = 0; i < 4; i++) {
        srv.body = want[i];
        o.body_size_limit = limits[i];
        ck_assert_int_eq(scraper_fetch_start(fetch, i + 1, url, &o), 0);
        ck_assert_ptr_nonnull(zpoller_wait(poller, 10000));
        struct scraper_fetch_result res;
        ck_assert_int_eq(scraper_fetch_recv(fetch, &res), 0);
        size_t len;
        const char *body = scraper_fetch_result_body(&res, &len);
        if (i == 2) {
            ck_assert_ptr_nonnull(res.error);
            ck_assert_msg(strstr(res.error, "body size limit") != NULL, "%s", res.error);
        } else {
            ck_assert_msg(!res.error, "%s", res.error);
            ck_assert_uint_eq(len, strlen(want[i]));
            ck_assert(memcmp(body, want[i], len) == 0);
        }
        scraper_fetch_result_clear(&res);
    }
    zpoller_destroy(&poller);
    scraper_fetch_destroy(&fetch);
    check_util_scraper_target_stop(&srv);
    free(big);
}
END_TEST

Suite *
scraper_fetch_suite(void)
{
    Suite *s = suite_create("scraper_fetch");
    TCase *tc = tcase_create("handles");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_scraper_fetch_keeps_handle_and_connection);
    tcase_add_test(tc, test_scraper_fetch_settings_change_on_kept_handle);
    tcase_add_test(tc, test_scraper_fetch_after_seq_skips_until_settled);
    tcase_add_test(tc, test_scraper_fetch_body_sized_exact);
    suite_add_tcase(s, tc);
    TCase *files = tcase_create("tls_files");
    tcase_set_timeout(files, 60);
    tcase_add_checked_fixture(files, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(files, test_scraper_fetch_tls_files_change);
    suite_add_tcase(s, files);
    return s;
}
