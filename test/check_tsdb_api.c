/*  check_tsdb_api.c — the Prometheus HTTP API: exact JSON for vector, matrix, scalar and
    error answers, served by a real fw_http server on a free port and fetched with libcurl
    (GET and form POST, as promtool sends), plus Go-compatible value and time formatting.
*/
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_http.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_promql.h"
#include "fw_time.h"
#include "check_util.h"
#include "../tsdb/tsdb_api.h"
#include "../tsdb/tsdb_api_int.h"
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
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_api");
    s_st = check_util_store_open(s_dir, 0);
    fw_err_t err;
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
    for (size_t k = 0; k < b->len; k++)
        ck_assert_int_eq(tsdb_store_append_series(s_st, &b->series[k].labels, b->series[k].samples,
                                                  b->series[k].len, NULL, &err),
                         0);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
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
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// GET path (already URL-encoded), or POST form when form != NULL.
static struct check_util_http
s_fetch(const char *path, const char *form)
{
    char url[2048];
    snprintf(url, sizeof(url), "%s%s", s_base, path);
    return form ? check_util_http_post(url, form, NULL) : check_util_http_get(url);
}

static void
s_expect(const char *path, const char *form, long status, const char *body)
{
    struct check_util_http r = s_fetch(path, form);
    ck_assert_msg(r.status == status, "%s: status %ld, want %ld (%s)", path, r.status, status,
                  r.body);
    ck_assert_msg(strcmp(r.body, body) == 0, "%s\n got: %s\nwant: %s", path, r.body, body);
    ck_assert_str_eq(r.ctype, "application/json");
    check_util_http_clear(&r);
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
             "\\\"query\\\": 1:5: parse error: unclosed left parenthesis\"}");
    // Prometheus's parseTimeParam wraps parseTime's error for time (not for query_range's)
    s_expect("/api/v1/query?query=up&time=abc", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
             "\\\"time\\\": invalid time value for 'time': cannot parse \\\"abc\\\" to a valid "
             "timestamp\"}");
    s_expect("/api/v1/query?query=up%20%2B%20on()%20up&time=1", NULL, 422,
             "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"found duplicate "
             "series for the match group {} on the right hand-side of the operation: "
             "[{__name__=\\\"up\\\", job=\\\"a\\\"}, {__name__=\\\"up\\\", job=\\\"b\\\"}];"
             "many-to-many matching not allowed: "
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

#define S_BAD_DATA "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\""

// form "query=" + prefix n times + mid + suffix n times + rest; caller frees.
static char *
s_nested_form(const char *prefix, int n, const char *mid, const char *suffix, const char *rest)
{
    return check_util_nest("query=", prefix, n, mid, suffix, rest);
}

// Issue 5: 100,000 minuses or 20,000 parentheses in a 40 KB query overflowed tsdb's stack.
// Through the real HTTP API: too deep is a parse error with its position, and anything up to
// the limit is evaluated on the connection's thread.
START_TEST(test_tsdb_api_deep_queries)
{
    char *form = s_nested_form("-", 100000, "1", "", "&time=1");
    s_expect("/api/v1/query", form, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1\"]}}");
    free(form);
    form = s_nested_form("(", 20000, "1", ")", "&time=1");
    s_expect("/api/v1/query", form, 400,
             S_BAD_DATA
             "invalid parameter \\\"query\\\": 1:1001: parse error: expression nests too "
             "deeply (more than 1000 levels)\"}");
    free(form);
    form = s_nested_form("1%2B", 20000, "1", "", "&start=0&end=1&step=1");
    s_expect("/api/v1/query_range", form, 400,
             S_BAD_DATA
             "invalid parameter \\\"query\\\": 1:2000: parse error: expression nests too "
             "deeply (more than 1000 levels)\"}");
    free(form);
    const char *unnamed = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
                          "[{\"metric\":{\"job\":\"a\"},\"value\":[60,\"1\"]},"
                          "{\"metric\":{\"job\":\"b\"},\"value\":[60,\"0\"]}]}}";
    form = s_nested_form("abs(", FW_PROMQL_MAX_DEPTH - 1, "up", ")", "&time=60");
    s_expect("/api/v1/query", form, 200, unnamed);
    free(form);
    form = s_nested_form("-", 100000, "up", "", "&time=60"); // -(-up): values back, name gone
    s_expect("/api/v1/query", form, 200, unnamed);
    free(form);
}
END_TEST

// A NUL byte (%00) used to cut the query, which was then answered as "up". Prometheus's
// lexer refuses it; so do we, and a parameter holding one is no time either.
START_TEST(test_tsdb_api_nul_refused)
{
    const char *nul = S_BAD_DATA "invalid parameter \\\"query\\\": 1:3: parse error: unexpected "
                                 "character: '\\\\x00'\"}";
    s_expect("/api/v1/query?query=up%00garbage&time=1", NULL, 400, nul);
    s_expect("/api/v1/query", "query=up%00garbage&time=1", 400, nul);
    s_expect("/api/v1/query_range?query=1%2B%00&start=0&end=1&step=1", NULL, 400, nul);
    const char *nul_match = S_BAD_DATA "invalid parameter \\\"match[]\\\": 1:3: parse error: "
                                       "unexpected character: '\\\\x00'\"}";
    s_expect("/api/v1/series?match[]=up%00garbage", NULL, 400, nul_match);
    s_expect("/api/v1/series", "match[]=up&match[]=up%00x", 400, nul_match);
    s_expect("/api/v1/query?query=up&time=1%00abc", NULL, 400,
             S_BAD_DATA "invalid parameter \\\"time\\\": invalid time value for 'time': cannot "
                        "parse \\\"1\\\\x00abc\\\" to a valid timestamp\"}");
    s_expect("/api/v1/query_range", "query=up&start=0%00&end=1&step=1", 400,
             S_BAD_DATA "invalid parameter \\\"start\\\": cannot parse \\\"0\\\\x00\\\" to a valid "
                        "timestamp\"}");
    s_expect("/api/v1/query_range?query=up&start=0&end=1&step=1%00s", NULL, 400,
             S_BAD_DATA "invalid parameter \\\"step\\\": cannot parse \\\"1\\\\x00s\\\" to a valid "
                        "duration\"}");
}
END_TEST

// time=-1e308 used to be clamped and answered. A number that is no int64 millisecond time is
// refused with Prometheus's parseTime text; times up to those ends are answered, and
// offsets and ranges that reach past them find nothing rather than overflow.
START_TEST(test_tsdb_api_times_out_of_range)
{
    static const char *const bad[] = {"-1e308", "1e308", "NaN", "Inf", "-Inf", "1e20", "%201"};
    static const char *const shown[] = {"-1e308", "1e308", "NaN", "Inf", "-Inf", "1e20", " 1"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        char path[256], want[512];
        snprintf(path, sizeof(path), "/api/v1/query?query=up&time=%s", bad[k]);
        snprintf(want, sizeof(want),
                 S_BAD_DATA "invalid parameter \\\"time\\\": invalid time value for 'time': "
                            "cannot parse \\\"%s\\\" to a valid timestamp\"}",
                 shown[k]);
        s_expect(path, NULL, 400, want);
        snprintf(path, sizeof(path), "/api/v1/query_range?query=up&start=0&end=%s&step=1", bad[k]);
        snprintf(want, sizeof(want),
                 S_BAD_DATA "invalid parameter \\\"end\\\": cannot parse \\\"%s\\\" to a valid "
                            "timestamp\"}",
                 shown[k]);
        s_expect(path, NULL, 400, want);
    }
    s_expect("/api/v1/series?match%5B%5D=up&start=-1e308", NULL, 400,
             S_BAD_DATA "invalid parameter \\\"start\\\": invalid time value for 'start': cannot "
                        "parse \\\"-1e308\\\" to a valid timestamp\"}");
    // the ends of the int64 millisecond range are times
    s_expect("/api/v1/query?query=time()&time=-9223372036854775", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
             "[-9223372036854775.808,\"-9223372036854776\"]}}"); // -2^63 ms, the double nearest
    const char *none =
        "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
    s_expect("/api/v1/query?query=up%20offset%20-1000y&time=9223372036854774", NULL, 200, none);
    s_expect("/api/v1/query?query=up%20offset%201000y&time=-9223372036854775", NULL, 200, none);
    s_expect("/api/v1/query?query=rate(up%5B292471208y%5D)&time=-9223372036854775", NULL, 200,
             none);
    s_expect("/api/v1/query?query=max_over_time(up%5B1000y:300y%5D%20offset%20-1000y)"
             "&time=9223372036854774",
             NULL, 200, none);
    s_expect("/api/v1/query_range?query=up%20offset%20-1000y&start=9223372036854700"
             "&end=9223372036854774&step=10",
             NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}");
    // end - start overflows int64: still counted right
    s_expect("/api/v1/query_range?query=up&start=-9223372036854775&end=9223372036854774"
             "&step=9000000000",
             NULL, 400,
             S_BAD_DATA "exceeded maximum resolution of 11,000 points per timeseries. Try "
                        "decreasing the query resolution (?step=XX)\"}");
    // step: Prometheus's texts for zero, negative and overflowing steps
    const char *zero = S_BAD_DATA "invalid parameter \\\"step\\\": zero or negative query "
                                  "resolution step widths are not accepted. Try a positive "
                                  "integer\"}";
    s_expect("/api/v1/query_range?query=up&start=0&end=10&step=0", NULL, 400, zero);
    s_expect("/api/v1/query_range?query=up&start=0&end=10&step=-1", NULL, 400, zero);
    s_expect("/api/v1/query_range?query=up&start=0&end=10&step=1e300", NULL, 400,
             S_BAD_DATA "invalid parameter \\\"step\\\": cannot parse \\\"1e300\\\" to a valid "
                        "duration. It overflows int64\"}");
    s_expect("/api/v1/query_range?query=up&start=0&end=10&step=NaN", NULL, 400,
             S_BAD_DATA "invalid parameter \\\"step\\\": cannot parse \\\"NaN\\\" to a valid "
                        "duration\"}");
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
    struct check_util_http r = s_fetch("/api/v1/status/buildinfo", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\"version\":\"2.42.0\""));
    check_util_http_clear(&r);
    s_expect("/api/v1/status/config", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"yaml\":\"global:\\n  scrape_interval: "
             "15s\\n\"}}");
    ck_assert(fw_metrics_get(s_metrics, "fw_tsdb_queries_total", "api=\"query\"") == 0);
}
END_TEST

// Prometheus 3's UTF-8 names: stored and queried back; /api/v1/label/NAME/values takes the
// "values"-escaped name (U__http_2e_status for http.status) as well as the name itself.
START_TEST(test_tsdb_api_utf8_names)
{
    fw_err_t err;
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "my.metric");
    fw_labels_set(&l, "http.status", "200");
    struct fw_sample smp = {0, 7};
    ck_assert_msg(tsdb_store_append_series(s_st, &l, &smp, 1, NULL, &err) == 0, "%s", err.msg);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
    fw_labels_clear(&l);
    s_expect("/api/v1/labels", NULL, 200,
             "{\"status\":\"success\",\"data\":[\"__name__\",\"http.status\",\"job\"]}");
    s_expect("/api/v1/label/U__http_2e_status/values", NULL, 200,
             "{\"status\":\"success\",\"data\":[\"200\"]}");
    s_expect("/api/v1/label/http.status/values", NULL, 200,
             "{\"status\":\"success\",\"data\":[\"200\"]}");
    s_expect("/api/v1/label/__name__/values", NULL, 200,
             "{\"status\":\"success\",\"data\":[\"my.metric\",\"up\"]}");
    // {"my.metric", "http.status"="200"}
    s_expect("/api/v1/query?query=%7B%22my.metric%22%2C%22http.status%22%3D%22200%22%7D&time=1",
             NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{"
             "\"metric\":{\"__name__\":\"my.metric\",\"http.status\":\"200\"},\"value\":[1,"
             "\"7\"]}]}}");
    s_expect("/api/v1/query?query=sum+by+(%22http.status%22)+(%7B%22my.metric%22%7D)&time=1", NULL,
             200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{"
             "\"metric\":{\"http.status\":\"200\"},\"value\":[1,\"7\"]}]}}");
    // a name that is not UTF-8 is refused
    struct check_util_http r = s_fetch("/api/v1/label/a%FFb/values", NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_msg(strstr(r.body, "invalid label name") != NULL, "%s", r.body);
    check_util_http_clear(&r);
}
END_TEST

// Grafana's variable queries: match[], start, end and limit narrow the answers.
START_TEST(test_tsdb_api_labels_match_range_limit)
{
    const char *ok = "{\"status\":\"success\",\"data\":";
    char want[512];
    snprintf(want, sizeof(want), "%s[\"a\"]}", ok);
    s_expect("/api/v1/label/job/values?match%5B%5D=up%7Bjob%3D%22a%22%7D", NULL, 200, want);
    s_expect("/api/v1/label/job/values?start=30&end=60", NULL, 200, want); // b: only at 0s
    s_expect("/api/v1/label/job/values?start=30", NULL, 200, want);
    snprintf(want, sizeof(want), "%s[\"b\"]}", ok);
    s_expect("/api/v1/label/job/values?match%5B%5D=up%7Bjob%21%3D%22a%22%7D&end=5", NULL, 200,
             want);
    snprintf(want, sizeof(want), "%s[]}", ok);
    s_expect("/api/v1/label/job/values?match%5B%5D=nothing", NULL, 200, want);
    s_expect("/api/v1/label/job/values?start=100", NULL, 200, want);
    s_expect("/api/v1/labels?start=100", NULL, 200, want);
    snprintf(want, sizeof(want), "%s[\"__name__\",\"job\"]}", ok);
    s_expect("/api/v1/labels?match%5B%5D=up&start=0&end=60", NULL, 200, want);
    s_expect("/api/v1/labels", "match%5B%5D=up&start=0&end=60", 200, want); // form POST
    snprintf(want, sizeof(want),
             "%s[\"__name__\"],\"warnings\":[\"results truncated due to limit\"]}", ok);
    s_expect("/api/v1/labels?limit=1", NULL, 200, want);
    snprintf(want, sizeof(want), "%s[\"a\",\"b\"]}", ok);
    s_expect("/api/v1/label/job/values?end=5", NULL, 200, want);
    s_expect("/api/v1/label/job/values?limit=2", NULL, 200, want);
    s_expect("/api/v1/label/job/values?limit=0", NULL, 200, want);
    // query and query_range: the first `limit` series, and the warning
    s_expect("/api/v1/query?query=up&time=60.5&limit=1", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
             "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"value\":[60.500,\"1\"]}]},"
             "\"warnings\":[\"results truncated due to limit\"]}");
    s_expect("/api/v1/query_range", "query=up&start=0&end=0&step=1&limit=1", 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":"
             "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"values\":[[0,\"1\"]]}]},"
             "\"warnings\":[\"results truncated due to limit\"]}");
    s_expect("/api/v1/query?query=1&time=1&limit=1", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":"
             "[1,\"1\"]}}");
    // stats: data.stats after the result; a value other than true or all is warned about
    struct check_util_http st = s_fetch("/api/v1/query?query=up&time=60.5&stats=true", NULL);
    ck_assert_int_eq(st.status, 200);
    ck_assert_msg(strstr(st.body, "]}]},\"stats\":{\"timings\":{\"evalTotalTime\":") == NULL &&
                      strstr(st.body, "\"value\":[60.500,\"0\"]}],\"stats\":{\"timings\":{"
                                      "\"evalTotalTime\":") != NULL &&
                      strstr(st.body, "\"samples\":{\"totalQueryableSamples\":") != NULL &&
                      strstr(st.body, "warnings") == NULL,
                  "%s", st.body);
    check_util_http_clear(&st);
    st = s_fetch("/api/v1/query_range", "query=up&start=0&end=0&step=1&stats=yes");
    ck_assert_msg(strstr(st.body, "\"stats\":{\"timings\":{") != NULL &&
                      strstr(st.body,
                             "\"warnings\":[\"value \\\"yes\\\" for parameter "
                             "\\\"stats\\\" is deprecated and will be rejected in the "
                             "next major release, use \\\"true\\\" or \\\"all\\\"\"]}") != NULL,
                  "%s", st.body);
    check_util_http_clear(&st);
    s_expect("/api/v1/query?query=up&time=60.5&stats=", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
             "[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},\"value\":[60.500,\"1\"]},"
             "{\"metric\":{\"__name__\":\"up\",\"job\":\"b\"},\"value\":[60.500,\"0\"]}]}}");
    // series: the time range and the limit
    snprintf(want, sizeof(want), "%s[{\"__name__\":\"up\",\"job\":\"a\"}]}", ok);
    s_expect("/api/v1/series?match%5B%5D=up&start=10&end=20", NULL, 200, want);
    snprintf(want, sizeof(want),
             "%s[{\"__name__\":\"up\",\"job\":\"a\"}],\"warnings\":[\"results truncated "
             "due to limit\"]}",
             ok);
    s_expect("/api/v1/series?match%5B%5D=up&limit=1", NULL, 200, want);
    snprintf(want, sizeof(want), "%s[]}", ok);
    s_expect("/api/v1/series?match%5B%5D=up&start=61", NULL, 200, want);
    // errors, in Prometheus 3's words
    const char *bad = "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":";
    snprintf(want, sizeof(want),
             "%s\"invalid parameter \\\"limit\\\": limit must be non-negative\"}", bad);
    s_expect("/api/v1/labels?limit=-1", NULL, 400, want);
    snprintf(want, sizeof(want),
             "%s\"invalid parameter \\\"limit\\\": strconv.Atoi: parsing \\\"x\\\": invalid "
             "syntax\"}",
             bad);
    s_expect("/api/v1/series?match%5B%5D=up&limit=x", NULL, 400, want);
    snprintf(want, sizeof(want),
             "%s\"invalid parameter \\\"start\\\": invalid time value for 'start': cannot parse "
             "\\\"x\\\" to a valid timestamp\"}",
             bad);
    s_expect("/api/v1/label/job/values?start=x", NULL, 400, want);
    struct check_util_http r = s_fetch("/api/v1/labels?match%5B%5D=up%7B", NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_msg(strstr(r.body, "\"error\":\"1:4: parse error: ") != NULL, "%s", r.body);
    check_util_http_clear(&r);
    r = s_fetch("/api/v1/series?match%5B%5D=rate(up%5B5m%5D)", NULL);
    ck_assert_int_eq(r.status, 400);
    ck_assert_msg(strstr(r.body, "\"error\":\"invalid parameter \\\"match[]\\\": 1:1: ") != NULL,
                  "%s", r.body);
    check_util_http_clear(&r);
}
END_TEST

START_TEST(test_tsdb_api_status_and_format_query)
{
    tsdb_api_set_info(s_api, "{\"storage.tsdb.retention.time\":\"15d\"}", "15d");
    s_expect("/api/v1/status/flags", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"storage.tsdb.retention.time\":\"15d\"}}");
    struct check_util_http r = s_fetch("/api/v1/status/runtimeinfo", NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_msg(strstr(r.body, "\"reloadConfigSuccess\":true") &&
                      strstr(r.body, "\"storageRetention\":\"15d\"") &&
                      strstr(r.body, "\"corruptionCount\":0,") && strstr(r.body, "\"CWD\":\"/"),
                  "%s", r.body);
    check_util_http_clear(&r);
    tsdb_api_set_reload_failed(s_api);
    r = s_fetch("/api/v1/status/runtimeinfo", NULL);
    ck_assert_msg(strstr(r.body, "\"reloadConfigSuccess\":false"), "%s", r.body);
    check_util_http_clear(&r);
    // status/tsdb: 2 series (both open chunks in memory), pairs __name__=up (2), job=a (1),
    // job=b (1); samples from 0 s to 60 s; bytes per pair (1+len(name)+1+len(value))*series
    s_expect("/api/v1/status/tsdb?limit=2", NULL, 200,
             "{\"status\":\"success\",\"data\":{\"headStats\":{\"numSeries\":2,"
             "\"numLabelPairs\":3,\"chunkCount\":2,\"minTime\":0,\"maxTime\":60000},"
             "\"seriesCountByMetricName\":[{\"name\":\"up\",\"value\":2}],"
             "\"labelValueCountByLabelName\":[{\"name\":\"job\",\"value\":2},"
             "{\"name\":\"__name__\",\"value\":1}],"
             "\"memoryInBytesByLabelName\":[{\"name\":\"__name__\",\"value\":24},"
             "{\"name\":\"job\",\"value\":12}],"
             "\"seriesCountByLabelValuePair\":[{\"name\":\"__name__=up\",\"value\":2},"
             "{\"name\":\"job=b\",\"value\":1}]}}"); // a tie replaces the minimum, as Prometheus
    s_expect("/api/v1/status/tsdb?limit=0", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"limit must be a "
             "positive number\"}");
    s_expect("/api/v1/status/tsdb?limit=10001", NULL, 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"limit must not "
             "exceed 10000\"}");
    // format_query: Prometheus's spelling, split past 100 characters
    s_expect(
        "/api/v1/"
        "format_query?query=sum%20by(job)(rate(up%7Bb%3D%22x%22,a%3D~%22y%22%7D%5B5m%5D))%2A1e6",
        NULL, 200,
        "{\"status\":\"success\",\"data\":\"sum by (job) (rate(up{a=~\\\"y\\\",b=\\\"x\\\"}[5m])) "
        "* 1000000\"}");
    // numbers as Go's FormatFloat 'f': 2^-24's shortest digits lie above it, 1e23's are
    // padded with zeros, not its binary value's (99999999999999991611392)
    s_expect("/api/v1/format_query?query=5.9604644775390625e-08%2B1e23", NULL, 200,
             "{\"status\":\"success\",\"data\":\"0.00000005960464477539063 + "
             "100000000000000000000000\"}");
    s_expect("/api/v1/format_query", "query=up%20%2B", 400,
             "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"invalid parameter "
             "\\\"query\\\": 1:5: parse error: unexpected end of input\"}");
    r = s_fetch(
        "/api/v1/format_query?query=sum(rate(a_very_long_metric_name_for_testing_total%5B5m%5D))"
        "%2Bsum(rate(another_very_long_metric_name_total%5B5m%5D))",
        NULL);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"status\":\"success\",\"data\":\"  sum(rate("
                             "a_very_long_metric_name_for_testing_total[5m]))\\n+\\n  sum(rate("
                             "another_very_long_metric_name_total[5m]))\"}");
    check_util_http_clear(&r);
}
END_TEST

START_TEST(test_tsdb_api_queries_counted)
{
    struct check_util_http r = s_fetch("/api/v1/query?query=up", NULL);
    ck_assert_int_eq(r.status, 200);
    check_util_http_clear(&r);
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
    // the shortest digits on every path: 15 or fewer, 16, 17, powers of two, subnormals
    ck_assert_str_eq(tsdb_api_format_value(0.6501, b, sizeof(b)), "0.6501");
    ck_assert_str_eq(tsdb_api_format_value(1.0 / 3, b, sizeof(b)), "0.3333333333333333");
    ck_assert_str_eq(tsdb_api_format_value(0.1 + 0.2, b, sizeof(b)), "0.30000000000000004");
    ck_assert_str_eq(tsdb_api_format_value(0x1p-20, b, sizeof(b)), "9.5367431640625e-07");
    // below a power of two the interval is lopsided: Go takes the far-side 16 digits
    ck_assert_str_eq(tsdb_api_format_value(0x1p-24, b, sizeof(b)), "5.960464477539063e-08");
    ck_assert_str_eq(tsdb_api_format_value(-0x1p-24, b, sizeof(b)), "-5.960464477539063e-08");
    ck_assert_str_eq(tsdb_api_format_value(5e-324, b, sizeof(b)), "5e-324");
    ck_assert_str_eq(tsdb_api_format_value(1e21, b, sizeof(b)), "1e+21");
    ck_assert_str_eq(tsdb_api_format_value(1.2345678901234568e+20, b, sizeof(b)),
                     "123456789012345680000");
    ck_assert_str_eq(tsdb_api_format_value(4503599627370497.0, b, sizeof(b)), "4503599627370497");
    ck_assert_str_eq(tsdb_api_format_value(-0.0, b, sizeof(b)), "-0");
    ck_assert_str_eq(tsdb_api_format_value(2.5e-7, b, sizeof(b)), "2.5e-07");
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

// tsdb_api_format_value gives the shortest, closest digits for 300k values of the kinds
// queries return (rates, ratios, short decimals, counters, any bits in the plain range),
// and its text reads back as the value.
START_TEST(test_tsdb_api_format_value_shortest_random)
{
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    char b[64], got[32], want[32];
    for (int i = 0; i < 300000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double v;
        switch (i % 5) {
        case 0: // a rate: increase over a window
            v = (double)(x % 100000) / (double)(1 + (x >> 20) % 3600);
            break;
        case 1: // a short decimal
            v = (double)(int64_t)(x % 2000001 - 1000000) / pow(10, (double)((x >> 24) % 8));
            break;
        case 2: // a ratio of two of them
            v = (double)(x % 1000 + 1) / (double)((x >> 12) % 1000 + 1) * 0.001;
            break;
        case 3: { // any bits with a plain-range exponent
            uint64_t bits = (x & 0x800FFFFFFFFFFFFFULL) | ((uint64_t)(1003 + (x >> 52) % 90) << 52);
            memcpy(&v, &bits, sizeof(v));
            break;
        }
        default: // a large counter
            v = (double)(x >> 11) * 0.5;
            break;
        }
        tsdb_api_format_value(v, b, sizeof(b));
        if (strtod(b, NULL) != v)
            ck_abort_msg("%.17g formatted as %s, which reads back as %.17g", v, b, strtod(b, NULL));
        check_util_sig_digits(b, got);
        check_util_shortest_digits(v, want);
        if (strcmp(got, want) != 0)
            ck_abort_msg("%.17g formatted as %s: digits %s, want %s", v, b, got, want);
    }
}
END_TEST

// The query limits: a query waiting at a full gate past its timeout, one over
// --query.max-samples, and the query log's line for each (JSON, reopened by name).
START_TEST(test_tsdb_api_limits_and_query_log)
{
    tsdb_api_set_limits(s_api, &(struct tsdb_api_limits){.max_concurrency = 1, .max_samples = 1});
    char log[256];
    snprintf(log, sizeof(log), "%s/queries.log", s_dir);
    fw_err_t err;
    ck_assert_msg(tsdb_api_set_query_log(s_api, log, &err) == 0, "%s", err.msg);
    // the only slot taken (by this thread), a query waits 100 ms and gives up
    ck_assert_int_eq(tsdb_gate_enter(s_api->gate, 0, NULL), 0);
    int64_t t0 = fw_time_mono_ms();
    struct check_util_http r = s_fetch("/api/v1/query?query=up&time=60&timeout=100ms", NULL);
    int64_t waited = fw_time_mono_ms() - t0;
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query "
                             "timed out in query queue\"}");
    ck_assert_msg(waited >= 100 && waited < 5000, "waited %lld ms", (long long)waited);
    check_util_http_clear(&r);
    tsdb_gate_leave(s_api->gate);
    // two series selected, one allowed
    r = s_fetch("/api/v1/query?query=up&time=0", NULL);
    ck_assert_int_eq(r.status, 422);
    ck_assert_str_eq(r.body, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query "
                             "processing would load too many samples into memory in query "
                             "execution\"}");
    check_util_http_clear(&r);
    r = s_fetch("/api/v1/query?query=up%7Bjob%3D%22a%22%7D&time=60", NULL);
    ck_assert_int_eq(r.status, 200);
    check_util_http_clear(&r);
    // one JSON line each, in order
    char *text = check_util_read_file(log);
    ck_assert_ptr_nonnull(text);
    const char *want[][2] = {{"up", "query timed out in query queue"},
                             {"up", TSDB_EVAL_TOO_MANY_SAMPLES},
                             {"up{job=\"a\"}", NULL}};
    char *line = text;
    for (size_t k = 0; k < 3; k++) {
        char *nl = strchr(line, '\n');
        ck_assert_ptr_nonnull(nl);
        *nl = '\0';
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        ck_assert_msg(j != NULL, "%s: %s", line, jerr.text);
        ck_assert_str_eq(json_string_value(json_object_get(j, "msg")), "promql query logged");
        json_t *params = json_object_get(j, "params");
        ck_assert_str_eq(json_string_value(json_object_get(params, "query")), want[k][0]);
        json_t *e = json_object_get(j, "error");
        if (want[k][1])
            ck_assert_str_eq(json_string_value(e), want[k][1]);
        else
            ck_assert_ptr_null(e);
        json_t *samples = json_object_get(json_object_get(j, "stats"), "samples");
        ck_assert(json_is_integer(json_object_get(samples, "peakSamples")));
        ck_assert_str_eq(
            json_string_value(json_object_get(json_object_get(j, "httpRequest"), "path")),
            "/api/v1/query");
        if (k == 2)
            ck_assert_int_eq(json_integer_value(json_object_get(samples, "totalQueryableSamples")),
                             1);
        json_decref(j);
        line = nl + 1;
    }
    ck_assert_str_eq(line, "");
    free(text);
    // moved away and reopened by name: the next line goes to a new file
    char moved[300];
    snprintf(moved, sizeof(moved), "%s.1", log);
    ck_assert_int_eq(rename(log, moved), 0);
    ck_assert_int_eq(tsdb_api_set_query_log(s_api, log, &err), 0);
    r = s_fetch("/api/v1/query?query=1", NULL);
    check_util_http_clear(&r);
    text = check_util_read_file(log);
    ck_assert_ptr_nonnull(strstr(text, "\"query\":\"1\""));
    free(text);
    ck_assert_int_eq(tsdb_api_set_query_log(s_api, NULL, &err), 0);
    ck_assert_int_eq(unlink(moved), 0);
    ck_assert_int_eq(unlink(log), 0);
    // a file that cannot be opened: refused, with Prometheus's words
    snprintf(moved, sizeof(moved), "%s/no/such/dir/q.log", s_dir);
    ck_assert_int_eq(tsdb_api_set_query_log(s_api, moved, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "can't create json log file"));
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
    tcase_add_test(tc, test_tsdb_api_deep_queries);
    tcase_add_test(tc, test_tsdb_api_nul_refused);
    tcase_add_test(tc, test_tsdb_api_times_out_of_range);
    tcase_add_test(tc, test_tsdb_api_labels_series_buildinfo);
    tcase_add_test(tc, test_tsdb_api_utf8_names);
    tcase_add_test(tc, test_tsdb_api_labels_match_range_limit);
    tcase_add_test(tc, test_tsdb_api_status_and_format_query);
    tcase_add_test(tc, test_tsdb_api_queries_counted);
    tcase_add_test(tc, test_tsdb_api_limits_and_query_log);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("format");
    // 300,000 values formatted and read back take about a second alone; Check's default of
    // 4 s ran out in make check on a loaded 2-core machine
    tcase_set_timeout(tf, 60);
    tcase_add_test(tf, test_tsdb_api_format_value_like_go);
    tcase_add_test(tf, test_tsdb_api_format_value_shortest_random);
    suite_add_tcase(s, tf);
    return s;
}
