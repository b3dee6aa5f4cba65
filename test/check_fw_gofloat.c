/*  check_fw_gofloat.c — floats as Go's strconv.FormatFloat(v, fmt, -1, 64) writes them.

    Expected strings are Go's: the 'g', 'e' and 'f' cases of Go's own strconv tests
    (src/strconv/ftoa_test.go: 1e23 and its neighbours, 5e-324, the largest subnormal and
    the smallest normal, issues 2625 and 29491), fmt's %g texts Prometheus's remote-write
    errors carry, promtool's 'E' texts, and powers of two whose shortest digits lie on the
    far side of v (the gap below a power of two is half the gap above; Go's roundShortest
    takes the shorter digits there, as Python's repr does: 2**-24 prints
    5.960464477539063e-08 in both).
*/
#include <check.h>
#include <math.h>
#include <string.h>

#include "fw_gofloat.h"

struct s_case {
    double v;
    char fmt;
    const char *want;
};

static const struct s_case s_cases[] = {
    // Go's ftoa_test.go, precision -1
    {1, 'g', "1"},
    {20, 'g', "20"},
    {1234567.8, 'g', "1.2345678e+06"},
    {200000, 'g', "200000"},
    {2000000, 'g', "2e+06"},
    {0, 'g', "0"},
    {-1, 'g', "-1"},
    {12, 'g', "12"},
    {123456700, 'g', "1.234567e+08"},
    {32, 'g', "32"},
    {1e23, 'e', "1e+23"},
    {1e23, 'g', "1e+23"},
    {99999999999999974834176.0, 'e', "9.999999999999997e+22"},
    {99999999999999974834176.0, 'g', "9.999999999999997e+22"},
    {100000000000000008388608.0, 'e', "1.0000000000000001e+23"},
    {100000000000000008388608.0, 'g', "1.0000000000000001e+23"},
    // 'f': the shortest digits, zeros filling the places past them (ftoa_test.go's 1e23
    // rows; Prometheus's number literals and count_values labels)
    {1e23, 'f', "100000000000000000000000"},
    {99999999999999974834176.0, 'f', "99999999999999970000000"},
    {100000000000000008388608.0, 'f', "100000000000000010000000"},
    {1e6, 'f', "1000000"},
    {1e-5, 'f', "0.00001"},
    {0.5, 'f', "0.5"},
    {-0.0, 'f', "-0"},
    {123456.789, 'f', "123456.789"},
    {0x1p-24, 'f', "0.00000005960464477539063"},
    {5e-324, 'g', "5e-324"},
    {-5e-324, 'g', "-5e-324"},
    {2.2250738585072012e-308, 'g', "2.2250738585072014e-308"}, // the smallest normal
    {2.2250738585072011e-308, 'g', "2.225073858507201e-308"},  // the largest subnormal
    {383260575764816448.0, 'g', "3.8326057576481645e+17"},
    {-5.8339553793802237e+23, 'g', "-5.8339553793802237e+23"},
    // integers below 2^53 take their own digits; from 2^53 on the gap exceeds 1 and a
    // shorter decimal can read back (Go: 2^53 + 2 is 9.007199254740994e+15)
    {9007199254740991.0, 'g', "9.007199254740991e+15"},
    {9007199254740992.0, 'g', "9.007199254740992e+15"},
    {9007199254740994.0, 'g', "9.007199254740994e+15"},
    {18014398509481984.0, 'g', "1.8014398509481984e+16"},
    {123000, 'e', "1.23e+05"},
    {4503599627370497.0, 'f', "4503599627370497"},
    {-7e15, 'f', "-7000000000000000"},
    // zeros, the brief's table
    {-0.0, 'g', "-0"},
    {0, 'e', "0e+00"},
    {-0.0, 'e', "-0e+00"},
    {0, 'E', "0E+00"},
    {1e21, 'g', "1e+21"},
    {1e21, 'E', "1E+21"},
    {1e-7, 'g', "1e-07"},
    {1e-7, 'e', "1e-07"},
    {0.1, 'g', "0.1"},
    {0.1, 'E', "1E-01"},
    {123456789, 'g', "1.23456789e+08"},
    {123456789, 'e', "1.23456789e+08"},
    {1e-310, 'g', "1e-310"},
    {5e-324, 'E', "5E-324"},
    {1.7976931348623157e308, 'g', "1.7976931348623157e+308"},
    {-2.5e-300, 'g', "-2.5e-300"},
    // fmt %g: where the %e form starts (exponent below -4, or 6 and over)
    {0.5, 'g', "0.5"},
    {7, 'g', "7"},
    {100000, 'g', "100000"},
    {999999, 'g', "999999"},
    {1e6, 'g', "1e+06"},
    {1234567, 'g', "1.234567e+06"},
    {123456.789, 'g', "123456.789"},
    {0.0001, 'g', "0.0001"},
    {0.00001, 'g', "1e-05"},
    {1.0 / 3, 'g', "0.3333333333333333"},
    {0.1 + 0.2, 'g', "0.30000000000000004"},
    {123456789012, 'g', "1.23456789012e+11"},
    // promtool's 'E'
    {1, 'E', "1E+00"},
    {0.25, 'E', "2.5E-01"},
    {9218880000, 'E', "9.21888E+09"},
    {1.0 / 3, 'E', "3.333333333333333E-01"},
    // shortest digits above a power of two, not its nearest 16 (a nearest-first search
    // wrote 17 digits: 5.9604644775390625e-08)
    {0x1p-24, 'g', "5.960464477539063e-08"},
    {0x1p-24, 'E', "5.960464477539063E-08"},
    {0x1p-44, 'g', "5.684341886080802e-14"},
    {0x1p89, 'g', "6.189700196426902e+26"},
    {0x1p-1017, 'e', "7.120236347223045e-307"},
};

START_TEST(test_fw_gofloat_format_table)
{
    char buf[FW_GOFLOAT_MAX];
    for (size_t i = 0; i < sizeof(s_cases) / sizeof(s_cases[0]); i++) {
        const struct s_case *c = &s_cases[i];
        memset(buf, 'x', sizeof(buf));
        ck_assert_msg(fw_gofloat_format(c->v, c->fmt, buf, sizeof(buf)) == buf, "returns buf");
        ck_assert_msg(strcmp(buf, c->want) == 0, "%.17g %c: got %s, want %s", c->v, c->fmt, buf,
                      c->want);
    }
}
END_TEST

START_TEST(test_fw_gofloat_format_nan_inf)
{
    char buf[FW_GOFLOAT_MAX];
    static const char fmts[] = {'g', 'e', 'E', 'f'};
    for (size_t i = 0; i < sizeof(fmts); i++) {
        ck_assert_str_eq(fw_gofloat_format(NAN, fmts[i], buf, sizeof(buf)), "NaN");
        ck_assert_str_eq(fw_gofloat_format(-NAN, fmts[i], buf, sizeof(buf)), "NaN");
        ck_assert_str_eq(fw_gofloat_format(INFINITY, fmts[i], buf, sizeof(buf)), "+Inf");
        ck_assert_str_eq(fw_gofloat_format(-INFINITY, fmts[i], buf, sizeof(buf)), "-Inf");
    }
}
END_TEST

// The longest results fit FW_GOFLOAT_MAX ('f': FW_GOFLOAT_F_MAX); a smaller buffer is cut
// short, NUL-terminated.
START_TEST(test_fw_gofloat_format_sizes)
{
    char buf[FW_GOFLOAT_MAX];
    ck_assert_str_eq(fw_gofloat_format(-2.2250738585072014e-308, 'E', buf, sizeof(buf)),
                     "-2.2250738585072014E-308");
    ck_assert_str_eq(fw_gofloat_format(-0.00012345678901234567, 'g', buf, sizeof(buf)),
                     "-0.00012345678901234567");
    // 'f' at the ends of the range: FW_GOFLOAT_F_MAX holds them
    char f[FW_GOFLOAT_F_MAX];
    ck_assert_uint_eq(strlen(fw_gofloat_format(-4.9406564584124654e-324, 'f', f, sizeof(f))),
                      3 + 323 + 1); // "-0.", 323 zeros, "5"
    ck_assert_str_eq(f + 326, "5");
    ck_assert_uint_eq(strlen(fw_gofloat_format(-1.7976931348623157e308, 'f', f, sizeof(f))),
                      1 + 309);
    ck_assert_int_eq(strncmp(f, "-17976931348623157000", 21), 0);
    ck_assert_uint_eq(strlen(fw_gofloat_format(-2.2250738585072014e-308, 'f', f, sizeof(f))),
                      3 + 307 + 17);
    char small[4] = "zzz";
    ck_assert_str_eq(fw_gofloat_format(123456, 'g', small, sizeof(small)), "123");
}
END_TEST

Suite *
fw_gofloat_suite(void)
{
    Suite *s = suite_create("fw_gofloat");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_gofloat_format_table);
    tcase_add_test(tc, test_fw_gofloat_format_nan_inf);
    tcase_add_test(tc, test_fw_gofloat_format_sizes);
    suite_add_tcase(s, tc);
    return s;
}
