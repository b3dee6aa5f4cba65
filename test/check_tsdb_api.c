/*  check_tsdb_api.c — the Prometheus HTTP API: exact JSON for vector, matrix, scalar and
    error answers, served by a real fw_http server on a free port and fetched with libcurl
    (GET and form POST, as promtool sends), plus Go-compatible value and time formatting.
*/
#include <check.h>
#include <curl/curl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_http.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "../tsdb/tsdb_api.h"
#include "../tsdb/tsdb_store.h"

static char s_dir[128];
static tsdb_store_t *s_st;
static fw_metrics_t *s_metrics;
static fw_http_t *s_http;
static tsdb_api_t *s_api;
static char s_base[64];

static void
s_setup(void)
{
    mkdir("test", 0755);
    mkdir("test/tmp", 0755);
    snprintf(s_dir, sizeof(s_dir), "test/tmp/tsdb_api.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    s_st = tsdb_store_new();
    tsdb_store_set_mapsize(s_st, (size_t)64 << 20);
    fw_err_t err;
    ck_assert_int_eq(tsdb_store_open(s_st, s_dir, &err), 0);
    // up{job="a"} 1 at 0s..60s every 10s; up{job="b"} 0 at 0s
    struct fw_batch *b = fw_batch_new();
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    fw_labels_set(&l, "job", "a");
    struct fw_series *s = fw_batch_add_series(b, &l);
    for (int k = 0; k <= 6; k++)
        fw_series_add(s, k * 10000, 1);
    fw_labels_set(&l, "job", "b");
    s = fw_batch_add_series(b, &l);
    fw_series_add(s, 0, 0);
    fw_labels_clear(&l);
    const struct fw_batch *bs[1] = {b};
    ck_assert_int_eq(tsdb_store_append(s_st, bs, 1, NULL, &err), 0);
    fw_batch_destroy(&b);

    s_metrics = fw_metrics_new();
    s_api = tsdb_api_new(s_st, s_metrics);
    tsdb_api_set_config_text(s_api, "global:\n  scrape_interval: 15s\n");
    s_http = fw_http_new("tsdb", s_metrics);
    tsdb_api_routes(s_api, s_http);
    ck_assert_msg(fw_http_start(s_http, "127.0.0.1:0", &err) == 0, "%s", err.msg);
    snprintf(s_base, sizeof(s_base), "http://127.0.0.1:%d", fw_http_port(s_http));
}

static void
s_teardown(void)
{
    fw_http_destroy(&s_http);
    tsdb_api_destroy(&s_api);
    fw_metrics_destroy(&s_metrics);
    tsdb_store_destroy(&s_st);
    char p[256];
    snprintf(p, sizeof(p), "%s/data.mdb", s_dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", s_dir);
    unlink(p);
    rmdir(s_dir);
}

struct s_resp {
    long status;
    char *body;
    size_t len;
    char ctype[128];
};

static size_t
s_on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct s_resp *r = arg;
    size_t n = size * nmemb;
    r->body = fw_realloc(r->body, r->len + n + 1);
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

// GET path (already URL-encoded), or POST form when form != NULL.
static struct s_resp
s_fetch(const char *path, const char *form)
{
    struct s_resp r = {0, fw_strdup(""), 0, ""};
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", s_base, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    if (form)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    CURLcode rc = curl_easy_perform(c);
    ck_assert_msg(rc == CURLE_OK, "%s: %s", url, curl_easy_strerror(rc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r.status);
    char *ct = NULL;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct)
        snprintf(r.ctype, sizeof(r.ctype), "%s", ct);
    curl_easy_cleanup(c);
    return r;
}

static void
s_expect(const char *path, const char *form, long status, const char *body)
{
    struct s_resp r = s_fetch(path, form);
    ck_assert_msg(r.status == status, "%s: status %ld, want %ld (%s)", path, r.status, status,
                  r.body);
    ck_assert_msg(strcmp(r.body, body) == 0, "%s\n got: %s\nwant: %s", path, r.body, body);
    ck_assert_str_eq(r.ctype, "application/json");
    free(r.body);
}

START_TEST(test_tsdb_api_vector)
{
    const char *want = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
                       "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"value\":[60.500,\"1\"]},"
                       "{\"metric\":{\"__name__\":\"up\",\"job\":\"b\"},\"value\":[60.500,\"0\"]}"
                       "]}}";
    s_expect("/api/v1/query?query=up&time=60.5", NULL, 200, want);
    s_expect("/api/v1/query", "query=up&time=60.5", 200, want); // promtool's form POST
    s_expect("/api/v1/query?query=up&time=1970-01-01T00:01:00.500Z", NULL, 200, want);
    s_expect("/api/v1/query?query=sum(up)%20by%20(job)&time=600", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
}
END_TEST

START_TEST(test_tsdb_api_matrix)
{
    s_expect("/api/v1/query_range?query=up%7Bjob%3D%22a%22%7D&start=0&end=20&step=10", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
             "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"values\":[[0,\"1\"],[10,\"1\"],"
             "[20,\"1\"]]}]}}");
    s_expect("/api/v1/query_range", "query=up*2&start=0&end=0.5&step=0.25", 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
             "[{\"metric\":{\"job\":\"a\"},\"values\":[[0,\"2\"],[0.250,\"2\"],[0.500,\"2\"]]},"
             "{\"metric\":{\"job\":\"b\"},\"values\":[[0,\"0\"],[0.250,\"0\"],[0.500,\"0\"]]}]}}");
    s_expect("/api/v1/query?query=up%7Bjob%3D%22a%22%7D%5B15s%5D&time=20", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
             "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"values\":[[10,\"1\"],"
             "[20,\"1\"]]}]}}");
}
END_TEST

START_TEST(test_tsdb_api_scalar_and_string)
{
    s_expect("/api/v1/query?query=1e6%2B0.5&time=1435781451.781", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
             "[1435781451.781,\"1000000.5\"]}}");
    s_expect("/api/v1/query?query=%22a%3Cb%22&time=1", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":"
             "[1,\"a\\u003cb\"]}}");
    s_expect("/api/v1/query?query=-1/0&time=1", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
             "[1,\"-Inf\"]}}");
}
END_TEST

START_TEST(test_tsdb_api_errors)
{
    s_expect("/api/v1/query?query=sum(&time=1", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
             "\\\"query\\\": 1:5: parse error: unexpected end of input\"}");
    s_expect("/api/v1/query?query=up&time=abc", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
             "\\\"time\\\": cannot parse \\\"abc\\\" to a valid timestamp\"}");
    s_expect("/api/v1/query?query=up%20%2B%20on()%20up&time=1", NULL, 422,
             "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"found duplicate "
             "series for the match group on the right hand-side of the operation: "
             "[up{job=\\\"a\\\"}, up{job=\\\"b\\\"}];many-to-many matching not allowed: "
             "matching labels must be unique on one side\"}");
    s_expect("/api/v1/query_range?query=up&start=0&end=100000&step=1", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"exceeded maximum "
             "resolution of 11,000 points per timeseries. Try decreasing the query resolution "
             "(?step=XX)\"}");
    s_expect("/api/v1/query_range?query=up%5B1m%5D&start=0&end=10&step=1", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid expression "
             "type \\\"range vector\\\" for range query, must be Scalar or instant Vector\"}");
    // invalid UTF-8 from the query is written as U+FFFD, so the answer stays valid JSON
    s_expect("/api/v1/query?query=label_replace(up,%22%5Cxff%22,%22%22,%22job%22,%22.*%22)"
             "&time=1",
             NULL, 422,
             "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"invalid "
             "destination label name in label_replace(): \\ufffd\"}");
    s_expect("/api/v1/query_range?query=up&start=10&end=0&step=1", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
             "\\\"end\\\": end timestamp must not be before start time\"}");
}
END_TEST

START_TEST(test_tsdb_api_labels_series_buildinfo)
{
    s_expect("/api/v1/labels", NULL, 200,
             "{\"status\":\"success\",\"data\":[\"__name__\",\"job\"]}");
    s_expect("/api/v1/label/job/values", NULL, 200,
             "{\"status\":\"success\",\"data\":[\"a\",\"b\"]}");
    s_expect("/api/v1/label/__name__/values", NULL, 200,
             "{\"status\":\"success\",\"data\":[\"up\"]}");
    s_expect("/api/v1/series?match%5B%5D=up%7Bjob%3D%22b%22%7D&match%5B%5D=up", NULL, 200,
             "{\"status\":\"success\",\"data\":[{\"__name__\":\"up\",\"job\":\"a\"},"
             "{\"__name__\":\"up\",\"job\":\"b\"}]}");
    s_expect("/api/v1/series", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"no match[] "
             "parameter provided\"}");
    struct s_resp r = s_fetch("/api/v1/status/buildinfo", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"version\":\"2.42.0\""));
    free(r.body);
    s_expect("/api/v1/status/config", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"yaml\":\"global:\\n  scrape_interval: "
             "15s\\n\"}}");
    s_expect("/api/v1/metadata", NULL, 200, "{\"status\":\"success\",\"data\":{}}");
    ck_assert(fw_metrics_get(s_metrics, "fw_tsdb_queries_total", "api=\"query\"") == 0);
}
END_TEST

START_TEST(test_tsdb_api_queries_counted)
{
    struct s_resp r = s_fetch("/api/v1/query?query=up", NULL);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    ck_assert(fw_metrics_get(s_metrics, "fw_tsdb_queries_total", "api=\"query\"") == 1);
}
END_TEST

START_TEST(test_tsdb_api_format_value_like_go)
{
    char b[64];
    ck_assert_str_eq(tsdb_api_format_value(1, b, sizeof(b)), "1");
    ck_assert_str_eq(tsdb_api_format_value(0.5, b, sizeof(b)), "0.5");
    ck_assert_str_eq(tsdb_api_format_value(1e6, b, sizeof(b)), "1000000");
    ck_assert_str_eq(tsdb_api_format_value(0.1, b, sizeof(b)), "0.1");
    ck_assert_str_eq(tsdb_api_format_value(1e-7, b, sizeof(b)), "1e-07");
    ck_assert_str_eq(tsdb_api_format_value(0.000001, b, sizeof(b)), "0.000001");
    ck_assert_str_eq(tsdb_api_format_value(-1.5e-9, b, sizeof(b)), "-1.5e-09");
    ck_assert_str_eq(tsdb_api_format_value(-2.25, b, sizeof(b)), "-2.25");
    ck_assert_str_eq(tsdb_api_format_value(0, b, sizeof(b)), "0");
    ck_assert_str_eq(tsdb_api_format_value(-0.0, b, sizeof(b)), "-0");
    ck_assert_str_eq(tsdb_api_format_value(123456789.123, b, sizeof(b)), "123456789.123");
    ck_assert_str_eq(tsdb_api_format_value(0.26666666666666666, b, sizeof(b)),
                     "0.26666666666666666");
    ck_assert_str_eq(tsdb_api_format_value(1e21, b, sizeof(b)), "1e+21");
    ck_assert_str_eq(tsdb_api_format_value(1e20, b, sizeof(b)), "100000000000000000000");
    ck_assert_str_eq(tsdb_api_format_value(NAN, b, sizeof(b)), "NaN");
    ck_assert_str_eq(tsdb_api_format_value(INFINITY, b, sizeof(b)), "+Inf");
    ck_assert_str_eq(tsdb_api_format_value(-INFINITY, b, sizeof(b)), "-Inf");
    ck_assert_str_eq(tsdb_api_format_value(1.7976931348623157e308, b, sizeof(b)),
                     "1.7976931348623157e+308");
    ck_assert_str_eq(tsdb_api_format_time(1435781451781, b, sizeof(b)), "1435781451.781");
    ck_assert_str_eq(tsdb_api_format_time(1000, b, sizeof(b)), "1");
    ck_assert_str_eq(tsdb_api_format_time(1500, b, sizeof(b)), "1.500");
    ck_assert_str_eq(tsdb_api_format_time(5, b, sizeof(b)), "0.005");
    ck_assert_str_eq(tsdb_api_format_time(-1500, b, sizeof(b)), "-1.500");
}
END_TEST

Suite *
tsdb_api_suite(void)
{
    Suite *s = suite_create("tsdb_api");
    TCase *tc = tcase_create("http");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_api_vector);
    tcase_add_test(tc, test_tsdb_api_matrix);
    tcase_add_test(tc, test_tsdb_api_scalar_and_string);
    tcase_add_test(tc, test_tsdb_api_errors);
    tcase_add_test(tc, test_tsdb_api_labels_series_buildinfo);
    tcase_add_test(tc, test_tsdb_api_queries_counted);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("format");
    tcase_add_test(tf, test_tsdb_api_format_value_like_go);
    suite_add_tcase(s, tf);
    return s;
}
