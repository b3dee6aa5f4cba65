/*  check_fw_time.c — durations, sizes and RFC 3339 as Prometheus spells them. */
#include <check.h>
#include <time.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fw_time.h"

START_TEST(test_fw_time_duration_parse_and_format)
{
    int64_t ms;
    ck_assert_int_eq(fw_duration_parse("15s", &ms), 0);
    ck_assert_int_eq(ms, 15000);
    ck_assert_int_eq(fw_duration_parse("1h30m", &ms), 0);
    ck_assert_int_eq(ms, 5400000);
    ck_assert_int_eq(fw_duration_parse("100ms", &ms), 0);
    ck_assert_int_eq(ms, 100);
    ck_assert_int_eq(fw_duration_parse("1m500ms", &ms), 0);
    ck_assert_int_eq(ms, 60500);
    ck_assert_int_eq(fw_duration_parse("2w1d", &ms), 0);
    ck_assert_int_eq(ms, 15LL * 86400000);
    ck_assert_int_eq(fw_duration_parse("0", &ms), 0);
    ck_assert_int_eq(ms, 0);
    ck_assert_int_eq(fw_duration_parse("5", &ms), -1);
    ck_assert_int_eq(fw_duration_parse("1m1h", &ms), -1); // wrong order
    ck_assert_int_eq(fw_duration_parse("1.5s", &ms), -1);
    ck_assert_int_eq(fw_duration_parse("", &ms), -1);
    ck_assert_int_eq(fw_duration_parse("10x", &ms), -1);
    char buf[32];
    ck_assert_str_eq(fw_duration_format(5400000, buf, sizeof(buf)), "1h30m");
    ck_assert_str_eq(fw_duration_format(0, buf, sizeof(buf)), "0s");
    ck_assert_str_eq(fw_duration_format(1500, buf, sizeof(buf)), "1s500ms");
}
END_TEST

START_TEST(test_fw_time_size_parse)
{
    int64_t b;
    ck_assert_int_eq(fw_size_parse("64MiB", &b), 0);
    ck_assert_int_eq(b, 64LL << 20);
    ck_assert_int_eq(fw_size_parse("1GB", &b), 0);
    ck_assert_int_eq(b, 1000000000LL);
    ck_assert_int_eq(fw_size_parse("512", &b), 0);
    ck_assert_int_eq(b, 512);
    ck_assert_int_eq(fw_size_parse("12Q", &b), -1);
}
END_TEST

// The arithmetic day count equals timegm's for every day from 1900 to 2200 (and for days
// past a month's end, which both carry over), at odd times and offsets.
START_TEST(test_fw_time_rfc3339_like_timegm)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int y = 1900; y <= 2200; y++)
        for (int mo = 1; mo <= 12; mo++)
            for (int d = 1; d <= (y % 50 == 0 ? 31 : mdays[mo - 1]); d++) {
                char text[64];
                int h = (y + d) % 24, mi = (mo * 7 + d) % 60, sec = (y + mo + d) % 61;
                snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.5+01:30", y, mo, d, h,
                         mi, sec);
                struct tm tm = {.tm_year = y - 1900,
                                .tm_mon = mo - 1,
                                .tm_mday = d,
                                .tm_hour = h,
                                .tm_min = mi,
                                .tm_sec = sec};
                int64_t want = ((int64_t)timegm(&tm) - 5400) * 1000 + 500, got = 0;
                ck_assert_int_eq(fw_time_parse_rfc3339(text, &got), 0);
                ck_assert_msg(got == want, "%s: %lld, timegm %lld", text, (long long)got,
                              (long long)want);
            }
}
END_TEST

START_TEST(test_fw_time_rfc3339_round_trip)
{
    char buf[40];
    ck_assert_str_eq(fw_time_rfc3339(1435781451781, buf, sizeof(buf)), "2015-07-01T20:10:51.781Z");
    int64_t ms;
    ck_assert_int_eq(fw_time_parse("2015-07-01T20:10:51.781Z", &ms), 0);
    ck_assert_int_eq(ms, 1435781451781);
    ck_assert_int_eq(fw_time_parse("1435781451.781", &ms), 0);
    ck_assert_int_eq(ms, 1435781451781);
    ck_assert_int_eq(fw_time_parse("2015-07-01T22:10:51+02:00", &ms), 0);
    ck_assert_int_eq(ms, 1435781451000);
    ck_assert_int_eq(fw_time_parse("yesterday", &ms), -1);
    ck_assert_int_eq(fw_time_parse("2015-13-01T00:00:00Z", &ms), -1);
}
END_TEST

// Issue 5: time=-1e308 was clamped and answered. A number that is no int64 millisecond
// time is refused (Prometheus's timestamps are int64 ms), as is a leading space (Go's
// ParseFloat takes none); the ends of the range are times.
START_TEST(test_fw_time_parse_refuses_out_of_range)
{
    static const char *const bad[] = {"-1e308", "1e308", "NaN",  "nan",
                                      "Inf",    "-Inf",  "1e20", "9223372036854776",
                                      " 1",     "1e400", ""};
    int64_t ms = 42;
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
        ck_assert_msg(fw_time_parse(bad[k], &ms) == -1, "\"%s\" parsed as %lld", bad[k],
                      (long long)ms);
    ck_assert_int_eq(ms, 42);
    ck_assert_int_eq(fw_time_parse("9223372036854774", &ms), 0);
    ck_assert(ms > 9223372036854773000LL); // to double precision
    ck_assert_int_eq(fw_time_parse("-9223372036854775.808", &ms), 0);
    ck_assert_int_eq(ms, INT64_MIN);
    ck_assert_int_eq(fw_time_parse("-1.5", &ms), 0);
    ck_assert_int_eq(ms, -1500);
    ck_assert_int_eq(fw_time_parse("1e-400", &ms), 0); // underflows to 0: a time
    ck_assert_int_eq(ms, 0);
    ck_assert_int_eq(fw_time_from_secs(NAN, &ms), -1);
    ck_assert_int_eq(fw_time_from_secs(9223372036854775.807, &ms), -1); // rounds to 2^63 ms
    ck_assert_int_eq(fw_time_from_secs(1.5, &ms), 0);
    ck_assert_int_eq(ms, 1500);
}
END_TEST

Suite *
fw_time_suite(void)
{
    Suite *s = suite_create("fw_time");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_time_duration_parse_and_format);
    tcase_add_test(tc, test_fw_time_size_parse);
    tcase_add_test(tc, test_fw_time_rfc3339_round_trip);
    tcase_add_test(tc, test_fw_time_rfc3339_like_timegm);
    tcase_add_test(tc, test_fw_time_parse_refuses_out_of_range);
    suite_add_tcase(s, tc);
    return s;
}
