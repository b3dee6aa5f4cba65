/*  check_notifyd_http.c — NOTIFY's per-integration http_config in notifyd (notifyd_http):
    a good one sets the request's Authorization header and follow_redirects and is kept for
    the curl handle; a bad one (unknown key, wrong type, unknown TLS version) is an error,
    never a crash; applying one (or none) to a curl handle fills the lists it must keep.
*/
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <string.h>

#include "../notifyd/notifyd_http.h"
#include "../notifyd/notifyd_req.h"

START_TEST(test_notifyd_http_take_apply)
{
    json_t *c = json_loads("{\"url\": \"x\", \"http_config\": {\"follow_redirects\": false,"
                           " \"authorization\": \"Bearer t\", \"tls\": {\"ca\": \"CA\","
                           " \"server_name\": \"h.example\", \"insecure_skip_verify\": false,"
                           " \"min_version\": \"TLS12\", \"max_version\": \"TLS13\"},"
                           " \"proxy_url\": \"http://127.0.0.1:1/\", \"no_proxy\": \"a.example\","
                           " \"proxy_connect_header\": [\"X-A: b\"]}}",
                           0, NULL);
    ck_assert_ptr_nonnull(c);
    struct notifyd_req req = {.follow_redirects = true};
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_int_eq(notifyd_http_take(&req, c, &err), 0);
    ck_assert(!req.follow_redirects);
    ck_assert_int_eq(req.headers_len, 1);
    ck_assert_str_eq(req.headers[0], "Authorization: Bearer t");
    ck_assert_ptr_eq(req.http, json_object_get(c, "http_config"));
    CURL *e = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    struct notifyd_http_lists keep;
    // Not a loopback host, which no_proxy would send direct (no transfer is made here).
    notifyd_http_apply(e, req.http, "https://192.0.2.1:9/x", &headers, &keep);
    ck_assert_ptr_nonnull(keep.proxy_headers);
    ck_assert_str_eq(keep.proxy_headers->data, "X-A: b");
    ck_assert_ptr_nonnull(keep.connect_to); // server_name differs from the URL's host
    ck_assert_str_eq(keep.connect_to->data, "h.example:9:192.0.2.1:9");
    ck_assert_str_eq(headers->next->data, "Host: 192.0.2.1:9");
    notifyd_http_lists_free(&keep);
    curl_slist_free_all(headers->next);
    headers->next = NULL;
    // A loopback host with no_proxy set goes direct: no proxy, so no CONNECT headers.
    notifyd_http_apply(e, req.http, "https://127.0.0.1:9/x", &headers, &keep);
    ck_assert_ptr_null(keep.proxy_headers);
    ck_assert_str_eq(keep.connect_to->data, "h.example:9:127.0.0.1:9");
    notifyd_http_lists_free(&keep);
    notifyd_http_lists_free(&keep);                                       // twice is fine
    notifyd_http_apply(e, NULL, "http://127.0.0.1:9/x", &headers, &keep); // none: no proxy
    ck_assert_ptr_null(keep.proxy_headers);
    ck_assert_ptr_null(keep.connect_to);
    curl_slist_free_all(headers);
    curl_easy_cleanup(e);
    notifyd_req_clear(&req);
    // No http_config: nothing changes.
    struct notifyd_req plain = {.follow_redirects = true};
    json_object_del(c, "http_config");
    ck_assert_int_eq(notifyd_http_take(&plain, c, &err), 0);
    ck_assert(plain.follow_redirects);
    ck_assert_ptr_null(plain.http);
    json_decref(c);
}
END_TEST

START_TEST(test_notifyd_http_bad_refused)
{
    static const char *const bad[] = {
        "{\"http_config\": []}",
        "{\"http_config\": {\"proxy\": \"x\"}}",
        "{\"http_config\": {\"follow_redirects\": \"yes\"}}",
        "{\"http_config\": {\"proxy_connect_header\": [1]}}",
        "{\"http_config\": {\"tls\": {\"ca\": 1}}}",
        "{\"http_config\": {\"tls\": {\"min_version\": \"TLS9\"}}}",
        "{\"http_config\": {\"tls\": {\"crl\": \"x\"}}}",
        "{\"http_config\": {\"tls\": []}}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *c = json_loads(bad[i], 0, NULL);
        ck_assert_ptr_nonnull(c);
        struct notifyd_req req = {0};
        fw_err_t err;
        fw_err_clear(&err);
        ck_assert_msg(notifyd_http_take(&req, c, &err) < 0, "accepted: %s", bad[i]);
        ck_assert_msg(strstr(err.msg, "http_config") != NULL, "%s: %s", bad[i], err.msg);
        ck_assert_ptr_null(req.http);
        ck_assert_int_eq(req.headers_len, 0);
        notifyd_req_clear(&req);
        json_decref(c);
    }
}
END_TEST

Suite *
notifyd_http_suite(void)
{
    Suite *s = suite_create("notifyd_http");
    TCase *tc = tcase_create("http");
    tcase_add_test(tc, test_notifyd_http_take_apply);
    tcase_add_test(tc, test_notifyd_http_bad_refused);
    suite_add_tcase(s, tc);
    return s;
}
