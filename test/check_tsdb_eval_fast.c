/*  check_tsdb_eval_fast.c — the evaluator's fast paths give the plain path's bits.

    The functions over time have fast paths (avg_over_time's and sum_over_time's inlined
    Kahan loop; see tsdb_eval_func_range.c). Each is checked point by point, bit for bit, against
    a reference computed here from the loaded samples by the plain code (tsdb_eval_math's
    avg and Kahan sum, plain loops for the rest), over series with stale markers, gaps,
    windows that open before the first sample, NaN, +-Inf and sums that overflow; and on the
    values Prometheus's own tests give (promql/promqltest/testdata).
*/
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_promql.h"
#include "../tsdb/tsdb_eval.h"
#include "../tsdb/tsdb_eval_int.h"
#include "../tsdb/tsdb_store.h"
#include "check_util.h"

#define S_SERIES 12
#define S_POINTS 400
#define S_STEP_MS 15000

static char s_dir[128];
static tsdb_store_t *s_st;
static struct fw_sample s_pts[S_SERIES][S_POINTS];
static size_t s_len[S_SERIES];

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_eval_fast");
    s_st = check_util_store_open(s_dir, 0);
}

static void
s_teardown(void)
{
    tsdb_store_destroy(&s_st);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

static void
s_append(const char *name, int i, const struct fw_sample *pts, size_t n)
{
    fw_err_t err;
    struct fw_labels l = FW_LABELS_INIT;
    char iv[16]; // an int in full: -Wformat-truncation under -O with sanitizers
    snprintf(iv, sizeof(iv), "%02d", i);
    fw_labels_set(&l, "__name__", name);
    fw_labels_set(&l, "i", iv);
    ck_assert_int_eq(tsdb_store_append_series(s_st, &l, pts, n, NULL, &err), 0);
    fw_labels_clear(&l);
}

// S_SERIES series "f" starting at 10 min (so early windows open before the first sample):
// decimals, random doubles, runs of stale markers, gaps of a few minutes, and in some
// series NaN, +-Inf, and values near DBL_MAX whose sums overflow.
static void
s_load(void)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < S_SERIES; i++) {
        size_t n = 0;
        int64_t t = 600000 + i * 1000;
        for (int k = 0; k < S_POINTS; k++) {
            uint64_t r = check_util_rand(&x);
            t += S_STEP_MS;
            if (r % 97 == 0)
                t += (int64_t)(r % 5 + 1) * 60000; // a gap
            double v;
            switch (i % 4) {
            case 0: v = (double)(r % 100000) / 10000.0; break;
            case 1: v = ((double)(r >> 11) / 9007199254740992.0 - 0.5) * 1e6; break;
            case 2: v = (double)(r % 1000) * 1e305 * (r & 1 ? 1 : -1); break;
            default: v = (double)(r % 17) - 8; break;
            }
            if (i % 4 == 3 && r % 53 == 0)
                v = r & 2 ? INFINITY : -INFINITY;
            if (i % 4 == 3 && r % 61 == 0)
                v = NAN;
            if (r % 41 == 0 || (i == 5 && k >= 100 && k < 130))
                v = fw_stale_nan();
            s_pts[i][n].t_ms = t;
            s_pts[i][n].v = v;
            n++;
        }
        s_len[i] = n;
        s_append("f", i, s_pts[i], n);
    }
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
}

// The plain computation of fn over series i's non-stale samples in (t - range, t]; false
// when the window has none.
static bool
s_reference(const char *fn, int i, int64_t t, int64_t range, double *out)
{
    struct tsdb_eval_math_avg a = {0, 0, 0, 0, false};
    double sum = 0, comp = 0, mn = 0, mx = 0, n = 0;
    for (size_t k = 0; k < s_len[i]; k++) {
        const struct fw_sample *p = &s_pts[i][k];
        if (p->t_ms <= t - range || p->t_ms > t || fw_is_stale_nan(p->v))
            continue;
        tsdb_eval_math_avg_add(&a, p->v);
        sum = tsdb_eval_math_kahan_inc(p->v, sum, &comp);
        if (n == 0 || p->v < mn || isnan(mn))
            mn = p->v;
        if (n == 0 || p->v > mx || isnan(mx))
            mx = p->v;
        n++;
    }
    if (n == 0)
        return false;
    if (strcmp(fn, "avg_over_time") == 0)
        *out = tsdb_eval_math_avg_result(&a);
    else if (strcmp(fn, "sum_over_time") == 0)
        *out = isinf(sum) ? sum : sum + comp;
    else if (strcmp(fn, "min_over_time") == 0)
        *out = mn;
    else if (strcmp(fn, "max_over_time") == 0)
        *out = mx;
    else
        *out = n;
    return true;
}

static bool
s_same(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0 || (isnan(a) && isnan(b));
}

// Every point of fn(f[range]) as a range query over [start, end] by step is the reference.
static size_t
s_check(const char *fn, int64_t range, int64_t start, int64_t end, int64_t step)
{
    char q[96];
    snprintf(q, sizeof(q), "%s(f[%llds])", fn, (long long)(range / 1000));
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
    struct tsdb_eval_result r;
    ck_assert_msg(tsdb_eval_range(s_st, e, start, end, step, NULL, &r, &err) == 0, "%s: %s", q,
                  err.msg);
    fw_promql_expr_destroy(&e);
    size_t checked = 0;
    for (int i = 0; i < S_SERIES; i++) {
        char iv[16];
        snprintf(iv, sizeof(iv), "%02d", i);
        const struct tsdb_eval_series *got = NULL;
        for (size_t j = 0; j < r.len && !got; j++)
            if (strcmp(fw_labels_get(&r.series[j].labels, "i"), iv) == 0)
                got = &r.series[j];
        size_t p = 0;
        for (int64_t t = start; t <= end; t += step) {
            double want;
            if (!s_reference(fn, i, t, range, &want))
                continue;
            ck_assert_msg(got && p < got->len && got->pts[p].t_ms == t,
                          "%s step %lld series %d: no point at %lld", q, (long long)step, i,
                          (long long)t);
            ck_assert_msg(s_same(got->pts[p].v, want),
                          "%s step %lld series %d at %lld: %.17g, want %.17g", q, (long long)step,
                          i, (long long)t, got->pts[p].v, want);
            p++;
            checked++;
        }
        ck_assert_uint_eq(got ? got->len : 0, p);
    }
    tsdb_eval_result_clear(&r);
    return checked;
}

START_TEST(test_tsdb_eval_fast_over_time_equals_plain)
{
    s_load();
    static const char *const fns[] = {"avg_over_time", "sum_over_time", "min_over_time",
                                      "max_over_time", "count_over_time"};
    static const int64_t ranges[] = {60000, 300000, 900000, 3600000};
    static const int64_t steps[] = {15000, 60000, 7000, 1200000};
    size_t checked = 0;
    for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++)
        for (size_t ri = 0; ri < sizeof(ranges) / sizeof(ranges[0]); ri++)
            for (size_t si = 0; si < sizeof(steps) / sizeof(steps[0]); si++)
                checked += s_check(fns[f], ranges[ri], 0, 7200000, steps[si]);
    ck_assert_uint_gt(checked, 50000);
}
END_TEST

// Load series "name" with vals every 10 s from 0.
static void
s_load_vals(const char *name, const double *vals, size_t n)
{
    struct fw_sample pts[8];
    ck_assert_uint_le(n, 8);
    for (size_t k = 0; k < n; k++) {
        pts[k].t_ms = (int64_t)k * 10000;
        pts[k].v = vals[k];
    }
    s_append(name, 0, pts, n);
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
}

// The single value of q at t.
static double
s_value(const char *q, int64_t t)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
    struct tsdb_eval_result r;
    ck_assert_int_eq(tsdb_eval_instant(s_st, e, t, NULL, &r, &err), 0);
    fw_promql_expr_destroy(&e);
    ck_assert_msg(r.len == 1, "%s: %zu results", q, r.len);
    double v = r.series[0].pts[0].v;
    tsdb_eval_result_clear(&r);
    return v;
}

// Prometheus's results for the avg tests of promqltest/testdata/aggregators.test, whose
// numerics avg_over_time and sum_over_time share: Kahan compensation, the incremental mean
// once the sum overflows, and infinities.
START_TEST(test_tsdb_eval_fast_over_time_prometheus_values)
{
    const double big = 9.988465674311579e+307;
    static const struct {
        const char *name;
        double v[4];
        size_t n;
        double avg, sum;
    } cases[] = {
        {"ten", {8, 10, 12}, 3, 10, 30},
        {"inf_", {0, INFINITY, 0}, 3, INFINITY, INFINITY},
        {"nan_", {-INFINITY, 0, INFINITY}, 3, NAN, NAN},
        {"big", {big, big, big, big}, 4, big, INFINITY},
        {"mbig", {-big, -big, -big, -big}, 4, -big, -INFINITY},
        {"bigzero", {-big, -big, big, big}, 4, 0, -INFINITY},
        {"kahan", {2, 8, 1e100, -1e100}, 4, 2.5, 10},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        s_load_vals(cases[k].name, cases[k].v, cases[k].n);
        char q[96];
        snprintf(q, sizeof(q), "avg_over_time(%s[1m])", cases[k].name);
        double got = s_value(q, 30000);
        ck_assert_msg(s_same(got, cases[k].avg), "%s: %.17g, want %.17g", q, got, cases[k].avg);
        snprintf(q, sizeof(q), "sum_over_time(%s[1m])", cases[k].name);
        got = s_value(q, 30000);
        ck_assert_msg(s_same(got, cases[k].sum), "%s: %.17g, want %.17g", q, got, cases[k].sum);
    }
}
END_TEST

// histogram_quantile sorts each group's buckets by le (in place, insertion sort for small
// groups): the series come ordered by their label strings ("+Inf" < "0.1" < "0.5" < "1" <
// "10"), not by bound, and a duplicate bound ("1.0" beside "1") is coalesced.
START_TEST(test_tsdb_eval_fast_bucket_order)
{
    static const struct {
        const char *le;
        double count;
    } b[] = {{"+Inf", 40}, {"0.1", 10}, {"0.5", 20}, {"1", 25}, {"1.0", 5}, {"10", 40}};
    struct fw_sample pts[2] = {{0, 0}, {60000, 0}};
    fw_err_t err;
    for (size_t k = 0; k < sizeof(b) / sizeof(b[0]); k++) {
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_set(&l, "__name__", "h_bucket");
        fw_labels_set(&l, "le", b[k].le);
        pts[0].v = pts[1].v = b[k].count;
        ck_assert_int_eq(tsdb_store_append_series(s_st, &l, pts, 2, NULL, &err), 0);
        fw_labels_clear(&l);
    }
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "commit: %s", err.msg);
    // counts by bound after coalescing: 0.1:10 0.5:20 1:30 10:40 +Inf:40
    ck_assert_double_eq(s_value("histogram_quantile(0.25, h_bucket)", 30000), 0.1);
    ck_assert_double_eq(s_value("histogram_quantile(0.5, h_bucket)", 30000), 0.5);
    ck_assert_double_eq_tol(s_value("histogram_quantile(0.6, h_bucket)", 30000), 0.7, 1e-15);
    ck_assert_double_eq_tol(s_value("histogram_quantile(0.99, h_bucket)", 30000), 9.64, 1e-14);
}
END_TEST

// An instant query's window buffer is kept for the next one (up to 4 MiB, tsdb_eval_select.c):
// the next queries fill it again in place, larger or smaller, and answer as before.
START_TEST(test_tsdb_eval_fast_window_buffer_kept)
{
    s_load();
    static const char *const qs[] = {"sum(count_over_time(f[1m]))", "sum(count_over_time(f[1h]))",
                                     "max(max_over_time(f[1m]))", "min(min_over_time(f[1h]))"};
    double first[4];
    for (int k = 0; k < 4; k++)
        first[k] = s_value(qs[k], 7199000); // off the hour: no rollups
    size_t kept = tsdb_eval_select_kept_bytes();
    ck_assert_uint_ge(kept, (size_t)first[1] * sizeof(struct fw_sample));
    ck_assert_uint_le(kept, (size_t)4 << 20);
    for (int k = 3; k >= 0; k--)
        ck_assert_msg(s_same(s_value(qs[k], 7199000), first[k]), "%s", qs[k]);
    ck_assert_uint_eq(tsdb_eval_select_kept_bytes(), kept);
}
END_TEST

Suite *
tsdb_eval_fast_suite(void)
{
    Suite *s = suite_create("tsdb_eval_fast");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_eval_fast_over_time_equals_plain);
    tcase_add_test(tc, test_tsdb_eval_fast_over_time_prometheus_values);
    tcase_add_test(tc, test_tsdb_eval_fast_bucket_order);
    tcase_add_test(tc, test_tsdb_eval_fast_window_buffer_kept);
    suite_add_tcase(s, tc);
    return s;
}
