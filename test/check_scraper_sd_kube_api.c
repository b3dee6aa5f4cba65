/*  check_scraper_sd_kube_api.c — the request setup of kubernetes_sd's API server client
    (scraper/scraper_sd_kube_api.c) with tls_config's files changing on disk.

    Requests run as the provider runs them: a new easy handle each, all in one CURLM, so
    connections are pooled by the multi handle. The server is plain HTTP (libmicrohttpd,
    counting the connections it accepts and sees closed): curl compares no TLS settings on
    an http connection, so a new connection after a CA change is CURLOPT_FRESH_CONNECT's
    doing and the close of the old idle one CURLOPT_MAXAGE_CONN's, not curl's own matching
    on the CA blob.
*/
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "check_util_scraper.h"
#include "fw_mem.h"
#include "fw_promcfg_sd.h"
#include "../scraper/scraper_sd_kube_api.h"

Suite *scraper_sd_kube_api_suite(void);

static size_t
s_sink(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

// One GET of /api/v1/pods through api on a new handle in m, as the provider's s_start: 0
// with a 200, -1 with err when the setup fails (the request is not sent).
static int
s_get(struct scraper_sd_kube_api *api, CURLM *m, fw_err_t *err)
{
    CURL *e = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    ck_assert_ptr_nonnull(e);
    if (scraper_sd_kube_api_setup(api, e, "/api/v1/pods", &hdrs, err) != 0) {
        curl_easy_cleanup(e);
        curl_slist_free_all(hdrs);
        return -1;
    }
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_sink);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
    curl_multi_add_handle(m, e);
    int running = 1;
    CURLcode rc = CURLE_OK;
    bool done = false;
    for (int i = 0; i < 1000 && !done; i++) { // bounded: 1000 polls of at most 10 ms
        curl_multi_perform(m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == e) {
                rc = msg->data.result;
                done = true;
            }
        if (!done)
            curl_multi_poll(m, NULL, 0, 10, NULL);
    }
    ck_assert_msg(done, "request did not finish");
    ck_assert_msg(rc == CURLE_OK, "%s", curl_easy_strerror(rc));
    long code = 0;
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    ck_assert_int_eq(code, 200);
    curl_multi_remove_handle(m, e);
    curl_easy_cleanup(e);
    curl_slist_free_all(hdrs);
    return 0;
}

// Wait (bounded: 2 s) until the server has seen `want` connections closed.
static int
s_closes(struct check_util_scraper_target *srv, int want)
{
    int n = 0;
    for (int i = 0; i < 200; i++) {
        n = __atomic_load_n(&srv->closes, __ATOMIC_RELAXED);
        if (n >= want)
            break;
        usleep(10000);
    }
    return n;
}

// Start srv (keep-alive) and write text to the CA file, its path into ca.
static void
s_serve(struct check_util_scraper_target *srv, char *ca, size_t size, const char *text)
{
    *srv = (struct check_util_scraper_target){.keep_alive = true};
    check_util_scraper_target_start(srv);
    snprintf(ca, size, "%s/ca.crt", check_util_tmpdir);
    check_util_write_file(ca, text);
}

// The same CA content keeps the pooled connection; new content: the next request opens a
// new connection and the idle old one is closed (not left to curl's 118 s idle limit);
// the new one is kept from then on; an unlinked CA fails the setup with Prometheus's text,
// and the same content back is the same connection.
START_TEST(test_scraper_sd_kube_api_tls_files_change)
{
    struct check_util_scraper_target srv;
    char url[64], ca[300], want[512];
    s_serve(&srv, ca, sizeof(ca), "CA one\n");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    struct fw_kube_sd_config c = {.api_server = url, .enable_http2 = false};
    c.http.follow_redirects = true;
    c.http.tls_config.ca_file = ca;
    struct scraper_sd_kube_api api = {0};
    fw_err_t err = {0};
    ck_assert_int_eq(scraper_sd_kube_api_init(&api, &c, &err), 0);
    CURLM *m = curl_multi_init();

    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 1);
    check_util_write_file(ca, "CA one\n"); // written again, the same bytes
    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 1);
    ck_assert_int_eq(__atomic_load_n(&srv.closes, __ATOMIC_RELAXED), 0);

    // curl drops only connections idle for a whole second, and prunes at most once a
    // second: the provider's connections idle between lists and watches far longer.
    usleep(1100 * 1000);
    check_util_write_file(ca, "CA two\n");
    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 2);
    ck_assert_int_eq(s_closes(&srv, 1), 1);
    ck_assert_int_eq(s_get(&api, m, &err), 0); // then kept
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 2);

    ck_assert_int_eq(unlink(ca), 0);
    ck_assert_int_eq(s_get(&api, m, &err), -1);
    snprintf(want, sizeof(want),
             "unable to read CA cert: unable to read file %s: No such file or directory", ca);
    ck_assert_str_eq(err.msg, want);
    check_util_write_file(ca, "CA two\n"); // the last good content back: the same connection
    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 2);
    ck_assert_int_eq(__atomic_load_n(&srv.closes, __ATOMIC_RELAXED), 1);

    curl_multi_cleanup(m);
    scraper_sd_kube_api_clear(&api);
    check_util_scraper_target_stop(&srv);
}
END_TEST

// In-cluster: the service account's ca.crt is followed as the token is (read per request).
START_TEST(test_scraper_sd_kube_api_in_cluster_ca_followed)
{
    struct check_util_scraper_target srv;
    char port[16], ca[300], tok[300];
    s_serve(&srv, ca, sizeof(ca), "SA CA one\n");
    snprintf(port, sizeof(port), "%d", srv.port);
    snprintf(tok, sizeof(tok), "%s/token", check_util_tmpdir);
    check_util_write_file(tok, "tok-1\n");
    setenv("FLOORWATCH_KUBE_SERVICEACCOUNT_DIR", check_util_tmpdir, 1);
    setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", port, 1);
    struct fw_kube_sd_config c = {0};
    struct scraper_sd_kube_api api = {0};
    fw_err_t err = {0};
    ck_assert_int_eq(scraper_sd_kube_api_init(&api, &c, &err), 0);
    // in-cluster is https; this test speaks http to the same place to count connections
    char *base = fw_asprintf("http://127.0.0.1:%s", port);
    free(api.base);
    api.base = base;
    CURLM *m = curl_multi_init();
    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 1);
    check_util_write_file(ca, "SA CA two\n");
    ck_assert_int_eq(s_get(&api, m, &err), 0);
    ck_assert_int_eq(__atomic_load_n(&srv.conns, __ATOMIC_RELAXED), 2);
    ck_assert_int_eq(unlink(ca), 0);
    ck_assert_int_eq(s_get(&api, m, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "unable to read CA cert: unable to read file "));
    curl_multi_cleanup(m);
    scraper_sd_kube_api_clear(&api);
    unsetenv("FLOORWATCH_KUBE_SERVICEACCOUNT_DIR");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    check_util_scraper_target_stop(&srv);
}
END_TEST

Suite *
scraper_sd_kube_api_suite(void)
{
    Suite *s = suite_create("scraper_sd_kube_api");
    TCase *tc = tcase_create("tls_files");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_scraper_sd_kube_api_tls_files_change);
    tcase_add_test(tc, test_scraper_sd_kube_api_in_cluster_ca_followed);
    suite_add_tcase(s, tc);
    return s;
}
