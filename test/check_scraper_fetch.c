/*  check_scraper_fetch.c — the fetch actor keeps one easy handle per target: a target
    scraped again with the same settings runs on its handle as it is (no reset, no options
    set again) over the same TCP connection, and a change of its settings (a reload changing
    basic auth, authorization, a proxy, or a secret file's content) takes effect on the
    next request, stale options never carried over.

    A libmicrohttpd server on loopback answers /echo with the request's Authorization header
    (or "none") and counts the TCP connections it accepted.
*/
#include <check.h>
#include <czmq.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
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

struct s_srv {
    struct MHD_Daemon *d;
    int port;
    int conns; // atomic: TCP connections accepted (MHD's thread writes it)
};

static void
s_on_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
          enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_context;
    struct s_srv *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        __atomic_fetch_add(&srv->conns, 1, __ATOMIC_RELAXED);
}

static enum MHD_Result
s_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_size, void **ptr)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    // answer on the second call: a response queued on the first (before MHD has read the
    // whole request) makes MHD close the connection after it
    static int first;
    if (!*ptr) {
        *ptr = &first;
        return MHD_YES;
    }
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    char *body = fw_asprintf("auth{v=\"%s\"} 1\n", auth ? auth : "none");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rc = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static void
s_srv_start(struct s_srv *srv)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv->d =
        MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, s_handler, srv,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_CONNECTION,
                         s_on_conn, srv, MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    ck_assert_ptr_nonnull(srv->d);
    srv->port = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    ck_assert_int_gt(srv->port, 0);
}

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

// Five scrapes of one target with the same settings: one handle set up, one connection.
// (The connection count holds on the old build too, which reused connections through the
// multi handle's cache; the handle count fails there: it set every handle up again.)
START_TEST(test_scraper_fetch_keeps_handle_and_connection)
{
    struct s_srv srv = {0};
    s_srv_start(&srv);
    scraper_fetch_t *fetch = scraper_fetch_new(NULL, NULL);
    ck_assert_ptr_nonnull(fetch);
    char url[64], out[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", srv.port);
    struct fw_http_client_config http = {.follow_redirects = true};
    http.authorization.credentials = fw_strdup("tok");
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .http = &http};
    for (uint64_t i = 1; i <= 5; i++) {
        s_fetch(fetch, i, url, &o, out, sizeof(out));
        ck_assert_str_eq(out, "auth{v=\"Bearer tok\"} 1\n");
    }
    ck_assert_uint_eq(scraper_fetch_setups(fetch), 1);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 1);
    scraper_fetch_destroy(&fetch);
    fw_promcfg_http_free(&http);
    MHD_stop_daemon(srv.d);
}
END_TEST

// A reload changing a target's client settings: each change takes effect on the next
// request, on the target's handle, and nothing of the previous settings stays behind.
START_TEST(test_scraper_fetch_settings_change_on_kept_handle)
{
    struct s_srv srv = {0};
    s_srv_start(&srv);
    scraper_fetch_t *fetch = scraper_fetch_new(NULL, NULL);
    ck_assert_ptr_nonnull(fetch);
    char url[64], out[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/echo", srv.port);
    uint64_t id = 0;

    struct fw_http_client_config basic = {.follow_redirects = true};
    basic.basic_auth.username = fw_strdup("alice");
    basic.basic_auth.password = fw_strdup("one");
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .http = &basic};
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"Basic YWxpY2U6b25l\"} 1\n"); // alice:one
    // the password changed: the same handle, set up again
    free(basic.basic_auth.password);
    basic.basic_auth.password = fw_strdup("two");
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"Basic YWxpY2U6dHdv\"} 1\n"); // alice:two
    // authorization instead: no basic auth left
    struct fw_http_client_config bearer = {.follow_redirects = true};
    bearer.authorization.type = fw_strdup("Token");
    bearer.authorization.credentials = fw_strdup("abc");
    o.http = &bearer;
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"Token abc\"} 1\n");
    // no client settings at all: no header left
    o.http = NULL;
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"none\"} 1\n");
    // TLS settings: tls_config.server_name (over http it still rewrites the URL's host,
    // reached through CONNECT_TO), then none: neither the rewritten URL nor the CONNECT_TO
    // entry stays on the target's handle (node.test does not resolve). One handle for the
    // target throughout: each change resets it and sets it up again.
    struct fw_http_client_config tls = {.follow_redirects = true};
    tls.tls_config.server_name = fw_strdup("node.test");
    o.http = &tls;
    uint64_t before = scraper_fetch_setups(fetch);
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"none\"} 1\n");
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), before + 1); // set up once, then kept
    o.http = NULL;
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"none\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), before + 2);
    // a proxy that refuses connections, then none again: the proxy does not stay
    struct fw_http_client_config proxied = {.follow_redirects = true};
    proxied.proxy_url = fw_strdup("http://127.0.0.1:1");
    o.http = &proxied;
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_msg(strncmp(out, "error: ", 7) == 0, "%s", out);
    o.http = NULL;
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"none\"} 1\n");

    // a secret file's new content is read on the next request and sent on the kept handle
    char path[] = "/tmp/check_scraper_fetch_cred.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    check_util_write_file(path, "first\n");
    struct fw_http_client_config filed = {.follow_redirects = true};
    filed.authorization.credentials_file = fw_strdup(path);
    o.http = &filed;
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"Bearer first\"} 1\n");
    uint64_t setups = scraper_fetch_setups(fetch);
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"Bearer first\"} 1\n");
    ck_assert_uint_eq(scraper_fetch_setups(fetch), setups); // unchanged: kept as it was
    check_util_write_file(path, "second\n");
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"Bearer second\"} 1\n");
    // unreadable: the request fails with the reason, and the next good read works again
    ck_assert_int_eq(unlink(path), 0);
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_msg(strstr(out, "unable to read authorization credentials") != NULL, "%s", out);
    check_util_write_file(path, "third\n");
    s_fetch(fetch, ++id, url, &o, out, sizeof(out));
    ck_assert_str_eq(out, "auth{v=\"Bearer third\"} 1\n");
    ck_assert_int_eq(unlink(path), 0);
    scraper_fetch_destroy(&fetch);
    fw_promcfg_http_free(&basic);
    fw_promcfg_http_free(&bearer);
    fw_promcfg_http_free(&proxied);
    fw_promcfg_http_free(&tls);
    fw_promcfg_http_free(&filed);
    MHD_stop_daemon(srv.d);
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
    suite_add_tcase(s, tc);
    return s;
}
