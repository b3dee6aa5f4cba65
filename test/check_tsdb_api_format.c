/*  check_tsdb_api_format.c — the JSON API's numbers: the exact 128-bit path of
    tsdb_api_format_value against printf/strtod on the values where it can go wrong (exact
    ties at the 15th-17th digit, neighbours of powers of ten where the exponent guess is
    off by one, odd and even significands at the ends of the rounding interval), and
    points and timestamps as Prometheus writes them.
*/
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tsdb/tsdb_api_format.h"
#include "check_util.h"

static void
s_check(double v)
{
    char b[64], got[32], want[32];
    tsdb_api_format_value(v, b, sizeof(b));
    // plain ifs: a passing ck_assert writes its location to Check's pipe (a system call),
    // and this suite checks 800 thousand values
    if (strtod(b, NULL) != v)
        ck_abort_msg("%.17g formatted as %s, reads back as %.17g", v, b, strtod(b, NULL));
    check_util_sig_digits(b, got);
    check_util_shortest_digits(v, want);
    if (strcmp(got, want) != 0)
        ck_abort_msg("%.17g formatted as %s: digits %s, want %s", v, b, got, want);
}

START_TEST(test_tsdb_api_format_exact_ties_and_edges)
{
    uint64_t x = 0x2545F4914F6CDD1DULL;
    size_t n = 0;
    for (int i = 0; i < 40000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        // exact binary fractions: their decimals end in 5, so rounding them to 15 or 16
        // digits meets exact ties
        uint64_t k = (x >> 11) | 1;
        for (int j = 1; j <= 60; j += 7) {
            double v = ldexp((double)k, -j);
            if (v >= 1e-6 && v < 1e21) {
                s_check(v);
                s_check(-v);
                n += 2;
            }
        }
        s_check((double)(1000000000000000ULL + x % 8000000000000000ULL) + 0.5);
        s_check((double)(x % 100000000000000ULL) + 0.25);
        n += 2;
    }
    // neighbours of powers of ten, where the exponent guess is off by one
    for (int j = -6; j <= 20; j++) {
        double p = pow(10, j);
        double v = p;
        for (int s = 0; s < 40; s++, v = nextafter(v, 0))
            s_check(v);
        v = p;
        for (int s = 0; s < 40; s++, v = nextafter(v, INFINITY))
            s_check(v);
        n += 80;
    }
    ck_assert_uint_gt(n, 300000);
}
END_TEST

START_TEST(test_tsdb_api_format_points_and_times)
{
    char b[TSDB_API_FORMAT_POINT_MAX];
    static const struct {
        int64_t t;
        double v;
        const char *want;
    } cases[] = {
        {1767225600000, 0.6501, "[1767225600,\"0.6501\"]"},
        {1767225600015, 1.0 / 3, "[1767225600.015,\"0.3333333333333333\"]"},
        {-1500, -0.0, "[-1.500,\"-0\"]"},
        {-1, 12345, "[-0.001,\"12345\"]"},
        {0, NAN, "[0,\"NaN\"]"},
        {999, -INFINITY, "[0.999,\"-Inf\"]"},
        {INT64_MIN, 1e-7, "[-9223372036854775.808,\"1e-07\"]"},
        {INT64_MAX, 1.2345678901234568e+20, "[9223372036854775.807,\"123456789012345680000\"]"},
        {10, 2251799813685248.5, "[0.010,\"2251799813685248.5\"]"},
        {20, 0.1 + 0.2, "[0.020,\"0.30000000000000004\"]"},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        size_t n = tsdb_api_format_point(cases[k].t, cases[k].v, b);
        ck_assert_str_eq(b, cases[k].want);
        ck_assert_uint_eq(n, strlen(cases[k].want));
    }
    // the longest value and time fit
    size_t n = tsdb_api_format_point(INT64_MIN, -2.2250738585072014e-308, b);
    ck_assert_uint_lt(n, sizeof(b));
    ck_assert_str_eq(tsdb_api_format_time(-1767225600123, b, sizeof(b)), "-1767225600.123");
    ck_assert_str_eq(tsdb_api_format_value(0.5, b, 3), "0.");
}
END_TEST

Suite *
tsdb_api_format_suite(void)
{
    Suite *s = suite_create("tsdb_api_format");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tsdb_api_format_exact_ties_and_edges);
    tcase_add_test(tc, test_tsdb_api_format_points_and_times);
    suite_add_tcase(s, tc);
    return s;
}
