/*  check_tsdb_eval.c — PromQL evaluation against a real store under test/tmp.

    The data and expected values are Prometheus's own (promql/promqltest/testdata, checked
    by hand against functions.go): rate over a counter with a reset, the zero cutoff of
    extrapolation, sum by, vector matching with on/ignoring, comparison filters, staleness.
*/
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_flags.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_promql.h"
#include "../tsdb/tsdb_api.h"
#include "../tsdb/tsdb_eval.h"
#include "../tsdb/tsdb_store.h"
#include "check_util.h"

#define MIN_MS (60 * 1000)

static char s_dir[128];
static tsdb_store_t *s_st;

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_eval");
    s_st = check_util_store_open(s_dir, 0);
}

static void
s_teardown(void)
{
    tsdb_store_destroy(&s_st);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// Load "sel" with n values at 0, step, 2*step, ... (promqltest's `load`).
static void
s_load(const char *sel, int64_t step_ms, size_t n, const double *v)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_msg(e != NULL, "%s", err.msg);
    struct fw_labels l = FW_LABELS_INIT;
    for (size_t k = 0; k < e->n_matchers; k++)
        fw_labels_set(&l, e->matchers[k].name, e->matchers[k].value);
    fw_promql_expr_destroy(&e);
    struct fw_batch *b = fw_batch_new();
    struct fw_series *s = fw_batch_add_series(b, &l);
    fw_labels_clear(&l);
    for (size_t k = 0; k < n; k++)
        fw_series_add(s, (int64_t)k * step_ms, v[k]);
    for (size_t k = 0; k < b->len; k++)
        ck_assert_int_eq(tsdb_store_append_series(s_st, &b->series[k].labels, b->series[k].samples,
                                                  b->series[k].len, NULL, &err),
                         0);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
    fw_batch_destroy(&b);
}

// a+bxn: n+1 values a, a+b, ...
static void
s_load_seq(const char *sel, int64_t step_ms, double a, double b, size_t n)
{
    double *v = fw_malloc((n + 1) * sizeof(double));
    for (size_t k = 0; k <= n; k++)
        v[k] = a + b * (double)k;
    s_load(sel, step_ms, n + 1, v);
    free(v);
}

// Evaluate at t (a range query from t to end by step when step > 0) within lim (may be
// NULL) and return the JSON of the data (caller frees), or "error:<rc>:<msg>".
static char *
s_eval_with(const char *q, int64_t t, int64_t end, int64_t step, const struct tsdb_eval_limit *lim)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
    struct tsdb_eval_result r;
    int rc = step > 0 ? tsdb_eval_range(s_st, e, t, end, step, lim, &r, &err)
                      : tsdb_eval_instant(s_st, e, t, lim, &r, &err);
    fw_promql_expr_destroy(&e);
    if (rc != 0)
        return fw_asprintf("error:%d:%s", rc, err.msg);
    char *json = tsdb_api_result_json(&r);
    tsdb_eval_result_clear(&r);
    return json;
}

static char *
s_eval(const char *q, int64_t t)
{
    return s_eval_with(q, t, t, 0, NULL);
}

// The single value of a one-element vector result.
static double
s_value(const char *q, int64_t t)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
    struct tsdb_eval_result r;
    ck_assert_int_eq(tsdb_eval_instant(s_st, e, t, NULL, &r, &err), 0);
    fw_promql_expr_destroy(&e);
    if (r.type == FW_PQ_SCALAR)
        return r.scalar;
    ck_assert_msg(r.len == 1, "%s: %zu results", q, r.len);
    double v = r.series[0].pts[0].v;
    tsdb_eval_result_clear(&r);
    return v;
}

static void
s_expect(const char *q, int64_t t, const char *want)
{
    char *got = s_eval(q, t);
    ck_assert_msg(strcmp(got, want) == 0, "%s\n got: %s\nwant: %s", q, got, want);
    free(got);
}

START_TEST(test_tsdb_eval_instant_usage)
{
    double v[2] = {1, 2};
    s_load("up{job=\"a\"}", 10000, 2, v);
    s_expect("up", 10000,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\","
             "\"job\":\"a\"},\"value\":[10,\"2\"]}]}");
    s_expect("1 + 1", 10000, "{\"resultType\":\"scalar\",\"result\":[10,\"2\"]}");
    s_expect("\"hi\"", 10000, "{\"resultType\":\"string\",\"result\":[10,\"hi\"]}");
    s_expect("up[15s]", 10000,
             "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"__name__\":\"up\","
             "\"job\":\"a\"},\"values\":[[0,\"1\"],[10,\"2\"]]}]}");
}
END_TEST

START_TEST(test_tsdb_eval_rate_counter_reset)
{
    double reset[11] = {0, 27, 54, 81, 108, 0, 27, 54, 81, 108, 135};
    s_load("testcounter_reset_middle_total", 5 * MIN_MS, 11, reset);
    ck_assert_double_eq_tol(s_value("rate(testcounter_reset_middle_total[50m])", 50 * MIN_MS), 0.08,
                            1e-12);
    s_load_seq("calculate_rate_window_total", 5 * MIN_MS, 0, 80, 10);
    ck_assert_double_eq_tol(s_value("rate(calculate_rate_window_total[50m])", 50 * MIN_MS),
                            0.26666666666666666, 1e-12);
    s_load_seq("calculate_rate_offset_total{x=\"a\"}", 5 * MIN_MS, 0, 10, 10);
    ck_assert_double_eq_tol(
        s_value("rate(calculate_rate_offset_total[10m] offset 5m)", 50 * MIN_MS),
        0.03333333333333333, 1e-12);
    // zero cutoff of the left extrapolation
    s_load_seq("zc{start=\"1m\"}", 4 * MIN_MS, 60, 240, 10);
    s_load_seq("zc2{start=\"3m\"}", 4 * MIN_MS, 180, 240, 10);
    ck_assert_double_eq_tol(s_value("rate(zc[20m])", 10 * MIN_MS), 0.55, 1e-12);
    ck_assert_double_eq_tol(s_value("rate(zc2[20m])", 10 * MIN_MS), 0.6, 1e-12);
    ck_assert_double_eq_tol(s_value("rate(zc[20m])", 50 * MIN_MS), 0.6, 1e-12);
    // increase treats 3 2 as a reset: 0 1 2 3 2 3 4 increased by 7
    double inc[7] = {0, 1, 2, 3, 2, 3, 4};
    s_load("http_requests_total{path=\"/foo\"}", 5 * MIN_MS, 7, inc);
    ck_assert_double_eq_tol(s_value("increase(http_requests_total[30m])", 30 * MIN_MS), 7, 1e-12);
    s_expect("increase(http_requests_total[30m])", 30 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"path\":\"/foo\"},"
             "\"value\":[1800,\"7\"]}]}");
    // irate: last two samples, reset-aware
    ck_assert_double_eq_tol(s_value("irate(http_requests_total[30m])", 30 * MIN_MS), 1.0 / 300,
                            1e-12);
    // a reset at the end of the range with one sample left: no rate
    double end[12] = {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 0, 10};
    s_load("testcounter_reset_end_total", 5 * MIN_MS, 12, end);
    s_expect("rate(testcounter_reset_end_total[5m])", 50 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[]}");
    ck_assert_double_eq_tol(s_value("rate(testcounter_reset_end_total[6m])", 50 * MIN_MS), 0,
                            1e-12);
}
END_TEST

static void
s_load_http(void)
{
    static const char *const sel[8] = {
        "http_requests_total{job=\"api-server\", instance=\"0\", group=\"production\"}",
        "http_requests_total{job=\"api-server\", instance=\"1\", group=\"production\"}",
        "http_requests_total{job=\"api-server\", instance=\"0\", group=\"canary\"}",
        "http_requests_total{job=\"api-server\", instance=\"1\", group=\"canary\"}",
        "http_requests_total{job=\"app-server\", instance=\"0\", group=\"production\"}",
        "http_requests_total{job=\"app-server\", instance=\"1\", group=\"production\"}",
        "http_requests_total{job=\"app-server\", instance=\"0\", group=\"canary\"}",
        "http_requests_total{job=\"app-server\", instance=\"1\", group=\"canary\"}",
    };
    for (int k = 0; k < 8; k++)
        s_load_seq(sel[k], 5 * MIN_MS, 0, 10.0 * (k + 1), 10);
}

START_TEST(test_tsdb_eval_sum_by)
{
    s_load_http();
    s_expect("SUM(http_requests_total) BY (job)", 50 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"api-server\"},"
             "\"value\":[3000,\"1000\"]},{\"metric\":{\"job\":\"app-server\"},"
             "\"value\":[3000,\"2600\"]}]}");
    s_expect("sum by (job) (http_requests_total) - count by (job) (http_requests_total)",
             50 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"job\":\"api-server\"},"
             "\"value\":[3000,\"996\"]},{\"metric\":{\"job\":\"app-server\"},"
             "\"value\":[3000,\"2596\"]}]}");
    ck_assert_double_eq_tol(
        s_value("sum without (instance, group, job) (http_requests_total)", 50 * MIN_MS), 3600,
        1e-9);
    ck_assert_double_eq_tol(s_value("avg(http_requests_total{job=\"api-server\"})", 50 * MIN_MS),
                            250, 1e-9);
    ck_assert_double_eq_tol(s_value("max(http_requests_total)", 50 * MIN_MS), 800, 1e-9);
    ck_assert_double_eq_tol(s_value("min(http_requests_total)", 50 * MIN_MS), 100, 1e-9);
    ck_assert_double_eq_tol(s_value("count(http_requests_total)", 50 * MIN_MS), 8, 1e-9);
    s_expect("topk(1, http_requests_total)", 50 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":"
             "\"http_requests_total\",\"group\":\"canary\",\"instance\":\"1\",\"job\":"
             "\"app-server\"},\"value\":[3000,\"800\"]}]}");
    ck_assert_double_eq_tol(s_value("-2^---1*3", 50 * MIN_MS), -1.5, 1e-12);
}
END_TEST

START_TEST(test_tsdb_eval_binary_matching)
{
    double a[1] = {10}, b[1] = {2}, c[1] = {3};
    s_load("a{l=\"x\",j=\"1\"}", MIN_MS, 1, a);
    s_load("b{l=\"x\",k=\"2\"}", MIN_MS, 1, b);
    s_load("c{l=\"x\",i=\"1\"}", MIN_MS, 1, c);
    s_load("c{l=\"x\",i=\"2\"}", MIN_MS, 1, c);
    s_expect("a / on(l) b", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"l\":\"x\"},"
             "\"value\":[0,\"5\"]}]}");
    s_expect("a - ignoring(j, k) b", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"l\":\"x\"},"
             "\"value\":[0,\"8\"]}]}");
    s_expect("a + b", 0, "{\"resultType\":\"vector\",\"result\":[]}"); // no identical sets
    s_expect("a * 2", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"j\":\"1\",\"l\":\"x\"},"
             "\"value\":[0,\"20\"]}]}");
}
END_TEST

START_TEST(test_tsdb_eval_many_to_many_error)
{
    double a[1] = {10}, c[1] = {3};
    s_load("a{l=\"x\",j=\"1\"}", MIN_MS, 1, a);
    s_load("c{l=\"x\",i=\"1\"}", MIN_MS, 1, c);
    s_load("c{l=\"x\",i=\"2\"}", MIN_MS, 1, c);
    char *got = s_eval("a + on(l) c", 0);
    ck_assert_msg(strncmp(got, "error:-1:found duplicate series for the match group", 51) == 0,
                  "%s", got);
    free(got);
    got = s_eval("c + on(l) a", 0);
    ck_assert_msg(strstr(got, "many-to-one matching must be explicit") != NULL, "%s", got);
    free(got);
    s_expect("c * on(l) group_left a", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"i\":\"1\",\"l\":\"x\"},"
             "\"value\":[0,\"30\"]},{\"metric\":{\"i\":\"2\",\"l\":\"x\"},"
             "\"value\":[0,\"30\"]}]}");
    s_expect("c and on(l) a", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"c\","
             "\"i\":\"1\",\"l\":\"x\"},\"value\":[0,\"3\"]},{\"metric\":{\"__name__\":\"c\","
             "\"i\":\"2\",\"l\":\"x\"},\"value\":[0,\"3\"]}]}");
    s_expect("c unless on(l) a", 0, "{\"resultType\":\"vector\",\"result\":[]}");
}
END_TEST

START_TEST(test_tsdb_eval_comparison_filter)
{
    s_load_http();
    s_expect("http_requests_total{job=\"app-server\"} > 700", 50 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":"
             "\"http_requests_total\",\"group\":\"canary\",\"instance\":\"1\",\"job\":"
             "\"app-server\"},\"value\":[3000,\"800\"]}]}");
    s_expect("http_requests_total{job=\"app-server\",group=\"canary\"} > bool 700", 50 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"group\":\"canary\","
             "\"instance\":\"0\",\"job\":\"app-server\"},\"value\":[3000,\"0\"]},"
             "{\"metric\":{\"group\":\"canary\",\"instance\":\"1\",\"job\":\"app-server\"},"
             "\"value\":[3000,\"1\"]}]}");
    // scalar on the left: the vector's value is kept
    ck_assert_double_eq_tol(s_value("700 < http_requests_total", 50 * MIN_MS), 800, 1e-9);
    ck_assert_double_eq(s_value("1 == bool 1", 0), 1); // scalar result
    s_expect("http_requests_total > 10000", 50 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[]}");
}
END_TEST

START_TEST(test_tsdb_eval_staleness_and_lookback)
{
    double v[4] = {0, 1, fw_stale_nan(), 2};
    s_load("metric", 10000, 4, v);
    s_expect("metric", 20000, "{\"resultType\":\"vector\",\"result\":[]}");
    ck_assert_double_eq(s_value("metric", 10000), 1);
    ck_assert_double_eq(s_value("metric", 329000), 2);
    s_expect("metric", 330000, "{\"resultType\":\"vector\",\"result\":[]}");
    ck_assert_double_eq(s_value("count_over_time(metric[1m])", 30000), 3);
    s_expect("count_over_time(metric[10s])", 20000, "{\"resultType\":\"vector\",\"result\":[]}");
    ck_assert_double_eq(s_value("count_over_time(metric[20s])", 20000), 1);
    ck_assert_double_eq(s_value("max_over_time(metric[1m])", 30000), 2);
    ck_assert_double_eq(s_value("sum_over_time(metric[1m])", 30000), 3);
    ck_assert_double_eq(s_value("avg_over_time(metric[1m])", 30000), 1);
    ck_assert_double_eq(s_value("abs(-metric)", 30000), 2);
    ck_assert_double_eq(s_value("scalar(metric) * 2", 30000), 4);
    ck_assert_double_eq(s_value("time()", 30000), 30);
    ck_assert_double_eq(s_value("timestamp(metric)", 40000), 30);
    ck_assert_double_eq(s_value("absent(nothing{job=\"x\"})", 0), 1);
}
END_TEST

START_TEST(test_tsdb_eval_range_query)
{
    s_load_seq("m{a=\"1\"}", MIN_MS, 0, 1, 10);
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse("m * 2", &err);
    struct tsdb_eval_result r;
    ck_assert_int_eq(tsdb_eval_range(s_st, e, 0, 3 * MIN_MS, MIN_MS, NULL, &r, &err), 0);
    char *json = tsdb_api_result_json(&r);
    ck_assert_str_eq(json, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":\"1\"},"
                           "\"values\":[[0,\"0\"],[60,\"2\"],[120,\"4\"],[180,\"6\"]]}]}");
    free(json);
    tsdb_eval_result_clear(&r);
    fw_promql_expr_destroy(&e);
    e = fw_promql_parse("time()", &err);
    ck_assert_int_eq(tsdb_eval_range(s_st, e, 0, 60000, 30000, NULL, &r, &err), 0);
    json = tsdb_api_result_json(&r);
    ck_assert_str_eq(json, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
                           "\"values\":[[0,\"0\"],[30,\"30\"],[60,\"60\"]]}]}");
    free(json);
    tsdb_eval_result_clear(&r);
    fw_promql_expr_destroy(&e);
    // a deadline in the past times out
    e = fw_promql_parse("m", &err);
    ck_assert_int_eq(tsdb_eval_range(s_st, e, 0, 3 * MIN_MS, MIN_MS,
                                     &(struct tsdb_eval_limit){.deadline_mono_ms = 1}, &r, &err),
                     FW_ETIMEOUT);
    fw_promql_expr_destroy(&e);
}
END_TEST

START_TEST(test_tsdb_eval_histogram_quantile_and_labels)
{
    // classic buckets: 10 observations, 5 <= 0.1, 8 <= 0.5, all <= +Inf
    double b1[1] = {5}, b2[1] = {8}, b3[1] = {10};
    s_load("lat_bucket{job=\"a\",le=\"0.1\"}", MIN_MS, 1, b1);
    s_load("lat_bucket{job=\"a\",le=\"0.5\"}", MIN_MS, 1, b2);
    s_load("lat_bucket{job=\"a\",le=\"+Inf\"}", MIN_MS, 1, b3);
    // rank 5 lands at the top of the first bucket; rank 6.5 halfway into the second
    ck_assert_double_eq_tol(s_value("histogram_quantile(0.5, lat_bucket)", 0), 0.1, 1e-12);
    ck_assert_double_eq_tol(s_value("histogram_quantile(0.65, lat_bucket)", 0), 0.3, 1e-12);
    ck_assert_double_eq_tol(s_value("histogram_quantile(0.9, lat_bucket)", 0), 0.5, 1e-12);
    s_expect("histogram_quantile(0.5, sum by (le) (lat_bucket))", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{},\"value\":[0,\"0.1\"]}]}");
    s_expect("label_replace(lat_bucket{le=\"0.1\"}, \"dst\", \"x-$1\", \"job\", \"(.*)\")", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"lat_bucket\","
             "\"dst\":\"x-a\",\"job\":\"a\",\"le\":\"0.1\"},\"value\":[0,\"5\"]}]}");
    s_expect("label_join(lat_bucket{le=\"0.1\"}, \"dst\", \"/\", \"job\", \"le\")", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"lat_bucket\","
             "\"dst\":\"a/0.1\",\"job\":\"a\",\"le\":\"0.1\"},\"value\":[0,\"5\"]}]}");
    s_expect("sort_desc(lat_bucket)", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"lat_bucket\","
             "\"job\":\"a\",\"le\":\"+Inf\"},\"value\":[0,\"10\"]},{\"metric\":{\"__name__\":"
             "\"lat_bucket\",\"job\":\"a\",\"le\":\"0.5\"},\"value\":[0,\"8\"]},{\"metric\":"
             "{\"__name__\":\"lat_bucket\",\"job\":\"a\",\"le\":\"0.1\"},\"value\":[0,\"5\"]}]}");
    ck_assert_double_eq(s_value("hour(vector(1136239445))", 0), 22);
    // subquery: the sum at 0s, 20s, 40s, 60s ... of a constant series
    ck_assert_double_eq(s_value("count_over_time(sum(lat_bucket)[1m:20s])", 60000), 3);
    ck_assert_double_eq(s_value("max_over_time(sum(lat_bucket)[5m:])", 60000), 23);
    ck_assert_double_eq(s_value("day_of_week(vector(1136239445))", 0), 1);
    ck_assert_double_eq(s_value("days_in_month(vector(1454284800))", 0), 29);
    // Prometheus 3 takes any UTF-8 label name; invalid UTF-8 is refused
    char *got = s_eval("label_replace(lat_bucket, \"\\xff\", \"\", \"job\", \"(.*)\")", 0);
    ck_assert_str_eq(got, "error:-1:invalid destination label name in label_replace(): \xff");
    free(got);
    got =
        s_eval("label_replace(lat_bucket{le=\"+Inf\"}, \"1.good\", \"x$1\", \"job\", \"(.*)\")", 0);
    ck_assert_str_eq(got, "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"1.good\":\"xa\","
                          "\"__name__\":\"lat_bucket\",\"job\":\"a\",\"le\":\"+Inf\"},"
                          "\"value\":[0,\"10\"]}]}");
    free(got);
}
END_TEST

// A regex the old PCRE2 matcher gave up on (match limit) and then treated as "no match", so
// `!~` kept a series whose value fully matches `a+`. RE2 decides every match.
START_TEST(test_tsdb_eval_regex_always_decides)
{
    char sel[256];
    double v[1] = {1};
    snprintf(sel, sizeof sel, "longlab{v=\"%.60s\"}",
             "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    s_load(sel, 10000, 1, v);
    s_load("longlab{v=\"aab\"}", 10000, 1, v);
    s_load("longlab{v=\"c\"}", 10000, 1, v);
    s_expect("longlab{v!~\"(a+)+b|a+\"}", 0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"longlab\","
             "\"v\":\"c\"},\"value\":[0,\"1\"]}]}");
    ck_assert_double_eq(s_value("count(longlab{v=~\"(a+)+b|a+\"})", 0), 2);
    // label_replace expands as Go's ExpandString: named groups, ${n}, and $1x names "1x".
    s_expect("label_replace(longlab{v=\"aab\"}, \"d\", \"${x}-$2-$1x\", \"v\", "
             "\"(?P<x>a+)(b)\")",
             0,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"longlab\","
             "\"d\":\"aa-b-\",\"v\":\"aab\"},\"value\":[0,\"1\"]}]}");
    char *got = s_eval("label_replace(longlab, \"d\", \"\", \"v\", \"(\")", 0);
    ck_assert_str_eq(got, "error:-1:invalid regular expression in label_replace(): (");
    free(got);
}
END_TEST

// 20 series m{i, job} every 15 s over 2 h; series 3 has a gap (20 min) and series 7 a stale
// marker, then resumes.
static void
s_load_many(void)
{
    fw_err_t err;
    struct fw_sample pts[481];
    for (int i = 0; i < 20; i++) {
        struct fw_labels l = FW_LABELS_INIT;
        char iv[8];
        snprintf(iv, sizeof(iv), "%02d", i);
        fw_labels_set(&l, "__name__", "m");
        fw_labels_set(&l, "i", iv);
        fw_labels_set(&l, "job", i % 2 ? "b" : "a");
        size_t n = 0;
        for (int k = 0; k <= 480; k++) {
            int64_t t = (int64_t)k * 15000 + (i % 3) * 1000; // staggered scrapes
            if (i == 3 && t > 1800000 && t < 3000000)
                continue;
            double v = (double)(k * (i + 1)) + 0.25 * (k % 7);
            if (i == 7 && k == 200)
                v = fw_stale_nan();
            pts[n].t_ms = t;
            pts[n].v = v;
            n++;
        }
        ck_assert_int_eq(tsdb_store_append_series(s_st, &l, pts, n, NULL, &err), 0);
        fw_labels_clear(&l);
    }
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
}

static void
s_range(const char *q, int64_t start, int64_t end, int64_t step, struct tsdb_eval_result *r)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
    ck_assert_msg(tsdb_eval_range(s_st, e, start, end, step, NULL, r, &err) == 0, "%s: %s", q,
                  err.msg);
    fw_promql_expr_destroy(&e);
}

// A range query evaluates each step exactly as an instant query at that time would: the
// streaming windows (steps shorter and longer than the range, so the iterators both slide
// and seek), offsets, gaps, stale markers and subqueries agree bit for bit with a fresh
// evaluation per step.
START_TEST(test_tsdb_eval_range_equals_instants)
{
    s_load_many();
    static const char *const qs[] = {
        "m",
        "rate(m[1m])",
        "avg_over_time(m[5m] offset 2m)",
        "count_over_time(m[40s])",
        "sum by (job) (increase(m[10m]))",
        "max_over_time(rate(m[1m])[5m:30s])",
        "m - on(i) group_left(job) (m offset 1m)",
        "label_replace(deriv(m[3m]), \"k\", \"x$1\", \"i\", \"0(.)\")",
        "max_over_time(sum_over_time(m[2m:20s])[5m:1m] offset 1m)",
        "sum without (i) (m @ 3600) + on(job) group_right sum by (job) (rate(m[5m] @ 5000))",
        "timestamp(m @ 1000) - time()",
    };
    static const int64_t steps[] = {7000, 60000, 301000};
    for (size_t qi = 0; qi < sizeof(qs) / sizeof(qs[0]); qi++) {
        for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++) {
            struct tsdb_eval_result r;
            int64_t start = 100000, end = 7300000;
            s_range(qs[qi], start, end, steps[si], &r);
            size_t points = 0;
            for (int64_t t = start; t <= end; t += steps[si]) {
                fw_err_t err;
                fw_promql_expr_t *e = fw_promql_parse(qs[qi], &err);
                struct tsdb_eval_result in;
                if (tsdb_eval_instant(s_st, e, t, NULL, &in, &err) != 0)
                    ck_abort_msg("%s at %lld: %s", qs[qi], (long long)t, err.msg);
                fw_promql_expr_destroy(&e);
                for (size_t k = 0; k < in.len; k++) {
                    const struct tsdb_eval_series *want = &in.series[k];
                    const struct tsdb_eval_series *got = NULL;
                    for (size_t j = 0; j < r.len && !got; j++)
                        if (fw_labels_cmp(&r.series[j].labels, &want->labels) == 0)
                            got = &r.series[j];
                    // plain ifs: a passing ck_assert is a write to Check's pipe, and this
                    // compares 200 thousand points
                    if (!got)
                        ck_abort_msg("%s step %lld: no series at %lld", qs[qi],
                                     (long long)steps[si], (long long)t);
                    bool found = false;
                    for (size_t p = 0; p < got->len && !found; p++)
                        if (got->pts[p].t_ms == t) {
                            found = true;
                            if (memcmp(&got->pts[p].v, &want->pts[0].v, sizeof(double)) != 0)
                                ck_abort_msg("%s step %lld at %lld: %.17g, instant %.17g", qs[qi],
                                             (long long)steps[si], (long long)t, got->pts[p].v,
                                             want->pts[0].v);
                        }
                    if (!found)
                        ck_abort_msg("%s step %lld: no point at %lld", qs[qi], (long long)steps[si],
                                     (long long)t);
                    points++;
                }
                tsdb_eval_result_clear(&in);
            }
            // and nothing more than the instants gave
            size_t total = 0;
            for (size_t j = 0; j < r.len; j++)
                total += r.series[j].len;
            ck_assert_uint_eq(total, points);
            ck_assert_uint_gt(points, 0);
            tsdb_eval_result_clear(&r);
        }
    }
}
END_TEST

// Allocations of a range query do not grow with its steps: label sets are interned once,
// buffers come back from the pool, and only the result's own arrays grow (geometrically).
START_TEST(test_tsdb_eval_range_allocates_per_series_not_per_step)
{
    s_load_many();
    const char *q = "label_replace(sum by (job) (rate(m[2m])), \"j\", \"$1\", \"job\", \"(.*)\") "
                    "/ on(job) group_left count by (job) (m > 10) "
                    "or histogram_quantile(0.5, sum by (le) (label_replace(m, \"le\", \"$1\", "
                    "\"i\", \"0(.)\")))";
    struct tsdb_eval_result r;
    unsigned long a0 = fw_mem_allocations();
    s_range(q, 0, 3600000, 15000, &r); // 241 steps
    tsdb_eval_result_clear(&r);
    unsigned long a1 = fw_mem_allocations();
    s_range(q, 0, 7200000, 15000, &r); // 481 steps
    ck_assert_uint_ge(r.len, 3);
    tsdb_eval_result_clear(&r);
    unsigned long a2 = fw_mem_allocations();
    unsigned long shorter = a1 - a0, longer = a2 - a1;
    // 240 more steps over 20 series: one allocation per point would be ~5000 more
    ck_assert_msg(longer <= shorter + 60, "241 steps: %lu allocations, 481 steps: %lu", shorter,
                  longer);
}
END_TEST

// The annotations of q at t, as the API words them, joined by "|" (caller frees).
static char *
s_annotations(const char *q, int64_t t)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
    struct tsdb_eval_result r;
    ck_assert_int_eq(tsdb_eval_instant(s_st, e, t, NULL, &r, &err), 0);
    fw_promql_expr_destroy(&e);
    char *all = fw_strdup("");
    for (size_t k = 0; k < r.n_annos; k++) {
        char *one = tsdb_eval_anno_text(&r.annos[k], q);
        char *joined = fw_asprintf("%s%s%s", all, k ? "|" : "", one);
        free(one);
        free(all);
        all = joined;
    }
    tsdb_eval_result_clear(&r);
    return all;
}

// count_values, limitk, limit_ratio and the warnings of quantile, sort and limit_ratio.
START_TEST(test_tsdb_eval_aggregations_and_annotations)
{
    s_load_http();
    int64_t t = 50 * MIN_MS;
    s_expect("count_values(\"v\", http_requests_total{job=\"api-server\"} > 250)", t,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"v\":\"300\"},"
             "\"value\":[3000,\"1\"]},{\"metric\":{\"v\":\"400\"},\"value\":[3000,\"1\"]}]}");
    // the value label as Go's FormatFloat 'f' (not printf's %.0f: 99999999999999991611392)
    s_expect("count_values(\"v\", vector(1e23))", t,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"v\":"
             "\"100000000000000000000000\"},\"value\":[3000,\"1\"]}]}");
    ck_assert_double_eq_tol(s_value("count(count_values by (job) (\"v\", "
                                    "http_requests_total))",
                                    t),
                            8, 1e-9);
    ck_assert_double_eq_tol(s_value("count(limitk by (job) (1, http_requests_total))", t), 2, 1e-9);
    ck_assert_double_eq_tol(s_value("count(limit_ratio(1, http_requests_total))", t), 8, 1e-9);
    ck_assert_double_eq_tol(s_value("count(limit_ratio(0.5, http_requests_total)) + "
                                    "count(limit_ratio(-0.5, http_requests_total))",
                                    t),
                            8, 1e-9); // complements
    char *got = s_eval("limitk(NaN, http_requests_total)", t);
    ck_assert_str_eq(got, "error:-1:Parameter value is NaN");
    free(got);
    got = s_annotations("quantile(2, http_requests_total)", t);
    ck_assert_str_eq(got, "PromQL warning: quantile value should be between 0 and 1, got 2 (1:10)");
    free(got);
    // %g as Go writes it: -2^-24's shortest digits lie below it (17 digits before)
    got = s_annotations("quantile(-5.9604644775390625e-08, http_requests_total)", t);
    ck_assert_str_eq(got, "PromQL warning: quantile value should be between 0 and 1, got "
                          "-5.960464477539063e-08 (1:10)");
    free(got);
    got = s_annotations("count(limit_ratio(\n  1.5, http_requests_total))", t);
    ck_assert_str_eq(got, "PromQL warning: ratio value should be between -1 and 1, got 1.5, "
                          "capping to 1 (2:3)");
    free(got);
    got = s_annotations("sum(http_requests_total)", t);
    ck_assert_str_eq(got, "");
    free(got);
}
END_TEST

// The @ modifier and fill(): a selector read at a fixed time, a missing side made up.
START_TEST(test_tsdb_eval_at_and_fill)
{
    s_load_seq("m{a=\"1\"}", MIN_MS, 0, 1, 10);
    s_load_seq("n{a=\"2\"}", MIN_MS, 100, 0, 10);
    ck_assert_double_eq_tol(s_value("m @ 120", 10 * MIN_MS), 2, 1e-12);
    ck_assert_double_eq_tol(s_value("m @ end() offset 1m", 5 * MIN_MS), 4, 1e-12);
    ck_assert_double_eq_tol(s_value("sum_over_time(m[3m] @ 300)", 0), 3 + 4 + 5, 1e-12);
    ck_assert_double_eq_tol(s_value("sum(m + ignoring(__name__) fill(1000) n)", 5 * MIN_MS),
                            5 + 1000 + 1000 + 100, 1e-12);
    ck_assert_double_eq_tol(s_value("count(m + fill_right(0) n)", 5 * MIN_MS), 1, 1e-12);
}
END_TEST

// --query.max-samples: an instant selection, a range selector's windows, a subquery's points
// and a range query's result each count; one over the limit fails with Prometheus's error,
// one at it passes, and the stats give what was read and the peak held.
static int
s_limited(const char *q, bool range, int64_t max, struct tsdb_eval_stats *st, fw_err_t *err)
{
    fw_promql_expr_t *e = fw_promql_parse(q, err);
    ck_assert_msg(e != NULL, "%s: %s", q, err->msg);
    struct tsdb_eval_limit lim = {.max_samples = max, .stats = st};
    struct tsdb_eval_result r;
    int rc = range ? tsdb_eval_range(s_st, e, 0, 29 * MIN_MS, MIN_MS, &lim, &r, err)
                   : tsdb_eval_instant(s_st, e, 29 * MIN_MS, &lim, &r, err);
    fw_promql_expr_destroy(&e);
    if (rc == 0)
        tsdb_eval_result_clear(&r);
    return rc;
}

// m{i="0"} ... m{i="9"}: 30 samples each, one a minute (0, 1, ... 29).
static void
s_load_ten(void)
{
    for (int i = 0; i < 10; i++) {
        char sel[32];
        snprintf(sel, sizeof(sel), "m{i=\"%d\"}", i);
        s_load_seq(sel, MIN_MS, 0, 1, 29);
    }
}

START_TEST(test_tsdb_eval_max_samples)
{
    s_load_ten();
    static const struct {
        const char *q;
        bool range;
        int64_t peak; // the samples the query holds at once
    } cases[] = {
        {"m", false, 10},                             // one sample per series
        {"sum(count_over_time(m[10m]))", false, 100}, // (19m, 29m]: 10 per series
        {"m", true, 300},                             // the result: 30 steps x 10 series
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct tsdb_eval_stats st = {0};
        fw_err_t err;
        ck_assert_int_eq(s_limited(cases[k].q, cases[k].range, cases[k].peak, &st, &err), 0);
        ck_assert_msg(st.peak_samples >= cases[k].peak && st.total_samples >= cases[k].peak / 10,
                      "%s: peak %lld total %lld", cases[k].q, (long long)st.peak_samples,
                      (long long)st.total_samples);
        int64_t over = cases[k].range ? 29 : cases[k].peak - 1;
        ck_assert_int_eq(s_limited(cases[k].q, cases[k].range, over, &st, &err), -1);
        ck_assert_str_eq(err.msg, "query processing would load too many samples into memory in "
                                  "query execution");
    }
    // a subquery's points count too: 10 series x 11 steps
    struct tsdb_eval_stats st = {0};
    fw_err_t err;
    ck_assert_int_eq(s_limited("max_over_time(m[10m:1m])", false, 50, &st, &err), -1);
    ck_assert_str_eq(err.msg, TSDB_EVAL_TOO_MANY_SAMPLES);
    ck_assert_int_eq(s_limited("max_over_time(m[10m:1m])", false, 0, &st, &err), 0);
    // --query.max-samples=0: any sample fails the query, a literal too (Prometheus 2.42);
    // nothing selected, or a string, passes
    static const char *const fail[] = {"m", "1 + 2", "vector(1)", "sum(nothing) + 1", "time()"};
    for (size_t k = 0; k < sizeof(fail) / sizeof(fail[0]); k++) {
        ck_assert_msg(s_limited(fail[k], false, TSDB_EVAL_NO_SAMPLES, &st, &err) == -1, "%s",
                      fail[k]);
        ck_assert_str_eq(err.msg, TSDB_EVAL_TOO_MANY_SAMPLES);
    }
    ck_assert_int_eq(s_limited("sum(nothing)", true, TSDB_EVAL_NO_SAMPLES, &st, &err), 0);
    ck_assert_int_eq(s_limited("\"a\"", false, TSDB_EVAL_NO_SAMPLES, &st, &err), 0);
}
END_TEST

// sample_stats: totalQueryableSamples and peakSamples as Prometheus 2.42 counts them (worked
// out by hand from its engine; test/it/promapi.sh compares them with the real one).
START_TEST(test_tsdb_eval_prometheus_stats)
{
    s_load_ten();
    static const struct {
        const char *q;
        bool range; // 0 to 29m by 1m, else at 29m
        int64_t total, peak;
    } cases[] = {
        // 300 points held, then at the last step 29 sums so far, 10 inputs and 1 answer
        {"sum(m)", true, 300, 340},
        // windows (24m, 29m] of 5; the function holds a window and the answers so far
        {"sum(rate(m[5m]))", false, 50, 21},
        {"1 + 2", false, 0, 5},
        // the @ part once (its 10 samples counted at each of 30 steps), copied to each step
        {"sum(m @ 600)", true, 300, 30},
        // the inner 10 x 10 points, windows of 10 per series
        {"max_over_time(m[10m:1m])", false, 100, 120},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        fw_err_t err;
        fw_promql_expr_t *e = fw_promql_parse(cases[k].q, &err);
        ck_assert_msg(e != NULL, "%s", err.msg);
        struct tsdb_eval_stats st = {0};
        struct tsdb_eval_limit lim = {.stats = &st, .sample_stats = true};
        struct tsdb_eval_result r;
        int rc = cases[k].range ? tsdb_eval_range(s_st, e, 0, 29 * MIN_MS, MIN_MS, &lim, &r, &err)
                                : tsdb_eval_instant(s_st, e, 29 * MIN_MS, &lim, &r, &err);
        ck_assert_int_eq(rc, 0);
        ck_assert_msg(st.total_samples == cases[k].total && st.peak_samples == cases[k].peak,
                      "%s: total %lld peak %lld, want %lld %lld", cases[k].q,
                      (long long)st.total_samples, (long long)st.peak_samples,
                      (long long)cases[k].total, (long long)cases[k].peak);
        tsdb_eval_result_clear(&r);
        fw_promql_expr_destroy(&e);
    }
}
END_TEST

// info(): the data labels of target_info (or the named info metrics) joined on instance and
// job; an element nothing joins is dropped when a data matcher needs a value.
START_TEST(test_tsdb_eval_info)
{
    s_load_seq("m{instance=\"a\", job=\"j\"}", MIN_MS, 1, 0, 10);
    s_load_seq("m{instance=\"b\", job=\"j\"}", MIN_MS, 2, 0, 10);
    s_load_seq("target_info{instance=\"a\", job=\"j\", region=\"eu\"}", MIN_MS, 1, 0, 10);
    s_load_seq("build_info{instance=\"b\", job=\"j\", version=\"2\"}", MIN_MS, 1, 0, 10);
    s_expect("info(m)", 5 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"m\","
             "\"instance\":\"a\",\"job\":\"j\",\"region\":\"eu\"},\"value\":[300,\"1\"]},"
             "{\"metric\":{\"__name__\":\"m\",\"instance\":\"b\",\"job\":\"j\"},"
             "\"value\":[300,\"2\"]}]}");
    s_expect("info(m, {__name__=\"build_info\", version=~\".+\"})", 5 * MIN_MS,
             "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"m\","
             "\"instance\":\"b\",\"job\":\"j\",\"version\":\"2\"},\"value\":[300,\"2\"]}]}");
}
END_TEST

// anchored and smoothed ranges: the value before the range or interpolated at its ends.
START_TEST(test_tsdb_eval_anchored_smoothed)
{
    s_load_seq("m", MIN_MS, 0, 1, 10); // 0, 1, 2, ... every minute
    ck_assert_double_eq_tol(s_value("increase(m[1m] anchored)", 5 * MIN_MS), 1, 1e-12);
    ck_assert_double_eq_tol(s_value("increase(m[1m] smoothed)", 4 * MIN_MS + 30000), 1, 1e-12);
    ck_assert_double_eq_tol(s_value("m smoothed", 4 * MIN_MS + 15000), 4.25, 1e-12);
    ck_assert_double_eq_tol(s_value("changes(m[2m] anchored)", 5 * MIN_MS), 2, 1e-12);
    char *got = s_eval("max_over_time(m[1m] smoothed)", 5 * MIN_MS);
    ck_assert_str_eq(got, "error:-1:smoothed modifier can only be used with: delta, increase, "
                          "rate - not with max_over_time");
    free(got);
}
END_TEST

// A step-invariant expression (through @) is read once per query, and a subquery's inner
// expression once per inner step, not again for every outer step that sees it
// (test_tsdb_eval_range_equals_instants checks the answers against instant queries).
START_TEST(test_tsdb_eval_evaluated_once)
{
    s_load_seq("m{i=\"0\"}", MIN_MS, 0, 1, 60);
    static const struct {
        const char *q;
        int64_t selects; // over 31 steps, 0 to 30m
    } cases[] = {
        {"sum(m @ 300)", 1},
        {"rate(m[5m] @ end()) * 60 + m", 1 + 31},
        {"max_over_time(m[10m:1m])", 40},                       // the inner steps of (-10m, 30m]
        {"max_over_time(m[10m:1m] @ 900)", 10},                 // (5m, 15m] once
        {"max_over_time(max_over_time(m[5m:1m])[10m:2m])", 43}, // inner steps: (-13m, 30m]
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        fw_err_t err;
        fw_promql_expr_t *e = fw_promql_parse(cases[k].q, &err);
        ck_assert_msg(e != NULL, "%s", err.msg);
        struct tsdb_eval_stats st = {0};
        // raw reads only: rollups answer some windows without reading the selector
        struct tsdb_eval_limit lim = {.stats = &st, .no_rollups = true};
        struct tsdb_eval_result r;
        ck_assert_int_eq(tsdb_eval_range(s_st, e, 0, 30 * MIN_MS, MIN_MS, &lim, &r, &err), 0);
        ck_assert_msg(st.selects == cases[k].selects, "%s: %lld selector reads, want %lld",
                      cases[k].q, (long long)st.selects, (long long)cases[k].selects);
        tsdb_eval_result_clear(&r);
        fw_promql_expr_destroy(&e);
    }
}
END_TEST

// Delayed name removal (--enable-feature=promql-delayed-name-removal): rate() only marks
// __name__ for removal, so label_replace and sum by (__name__) still see it, and names go
// when the query ends; without the feature they go at once (name_label_dropping.test).
START_TEST(test_tsdb_eval_delayed_name_removal)
{
    s_load_seq("metric_total{env=\"1\"}", 5 * MIN_MS, 0, 60, 2);
    s_load_seq("another_metric_total{env=\"1\"}", 5 * MIN_MS, 60, 60, 2);
    const struct tsdb_eval_limit delayed = {.delay_names = true};
    const char *keep = "label_replace(rate({env=\"1\"}[10m]), \"__name__\", \"rate_$1\", "
                       "\"__name__\", \"(.+)\")";
    const char *dup = "error:-1:vector cannot contain metrics with the same labelset";
    char *got = s_eval_with(keep, 10 * MIN_MS, 0, 0, &delayed);
    ck_assert_str_eq(got, "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":"
                          "\"rate_another_metric_total\",\"env\":\"1\"},\"value\":[600,\"0.2\"]},"
                          "{\"metric\":{\"__name__\":\"rate_metric_total\",\"env\":\"1\"},"
                          "\"value\":[600,\"0.2\"]}]}");
    free(got);
    got = s_eval(keep, 10 * MIN_MS); // names gone before label_replace: two {env="1"}
    ck_assert_str_eq(got, dup);
    free(got);
    got = s_eval_with("sum by (__name__) (rate({env=\"1\"}[10m]))", 10 * MIN_MS, 0, 0, &delayed);
    ck_assert_str_eq(got, dup);
    free(got);
    got = s_eval_with("topk(1, -metric_total) or -another_metric_total", 10 * MIN_MS, 0, 0,
                      &delayed); // or matches without names: one element, its name dropped
    ck_assert_str_eq(got, "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"env\":\"1\"},"
                          "\"value\":[600,\"-120\"]}]}");
    free(got);
    got = s_eval_with("metric_total > bool 0 or last_over_time(metric_total[1m])", 10 * MIN_MS, 0,
                      0, &delayed);
    ck_assert_str_eq(got, "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"env\":\"1\"},"
                          "\"value\":[600,\"1\"]}]}");
    free(got);
    // a range query: series that end with the same labels merge unless two points meet
    s_load("metric_a", 10 * MIN_MS, 1, (double[]){1});
    s_load("metric_b", 10 * MIN_MS, 2, (double[]){3, 4});
    got = s_eval_with("-metric_a or -metric_b", 0, 20 * MIN_MS, 10 * MIN_MS, &delayed);
    ck_assert_str_eq(got, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
                          "\"values\":[[0,\"-1\"],[600,\"-4\"]]}]}");
    free(got);
    got = s_eval_with("-metric_a or -metric_b", 0, 20 * MIN_MS, 10 * MIN_MS, NULL);
    ck_assert_str_eq(got, "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},"
                          "\"values\":[[0,\"-1\"],[600,\"-4\"]]}]}");
    free(got);
    // the flag: Prometheus's option names; the always-on ones accepted, others refused
    tsdb_api_t *api = tsdb_api_new(s_st, NULL);
    fw_err_t err;
    struct fw_flag_list fl = {{"promql-duration-expr,promql-delayed-name-removal"}, 1};
    ck_assert_int_eq(tsdb_api_set_features(api, &fl, &err), 0);
    fl = (struct fw_flag_list){{"promql-experimental-functions", "native-histograms"}, 2};
    ck_assert_int_eq(tsdb_api_set_features(api, &fl, &err), -1);
    ck_assert_str_eq(err.msg, "--enable-feature: option \"native-histograms\" not supported");
    tsdb_api_destroy(&api);
}
END_TEST

Suite *
tsdb_eval_suite(void)
{
    Suite *s = suite_create("tsdb_eval");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_eval_instant_usage);
    tcase_add_test(tc, test_tsdb_eval_rate_counter_reset);
    tcase_add_test(tc, test_tsdb_eval_sum_by);
    tcase_add_test(tc, test_tsdb_eval_binary_matching);
    tcase_add_test(tc, test_tsdb_eval_many_to_many_error);
    tcase_add_test(tc, test_tsdb_eval_comparison_filter);
    tcase_add_test(tc, test_tsdb_eval_staleness_and_lookback);
    tcase_add_test(tc, test_tsdb_eval_range_query);
    tcase_add_test(tc, test_tsdb_eval_histogram_quantile_and_labels);
    tcase_add_test(tc, test_tsdb_eval_regex_always_decides);
    tcase_add_test(tc, test_tsdb_eval_range_equals_instants);
    tcase_add_test(tc, test_tsdb_eval_range_allocates_per_series_not_per_step);
    tcase_add_test(tc, test_tsdb_eval_aggregations_and_annotations);
    tcase_add_test(tc, test_tsdb_eval_at_and_fill);
    tcase_add_test(tc, test_tsdb_eval_max_samples);
    tcase_add_test(tc, test_tsdb_eval_prometheus_stats);
    tcase_add_test(tc, test_tsdb_eval_anchored_smoothed);
    tcase_add_test(tc, test_tsdb_eval_info);
    tcase_add_test(tc, test_tsdb_eval_delayed_name_removal);
    tcase_add_test(tc, test_tsdb_eval_evaluated_once);
    suite_add_tcase(s, tc);
    return s;
}
