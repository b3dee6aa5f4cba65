/*  check_fw_gotime.c — date-times as Alertmanager 0.25's API reads them (strfmt.DateTime
    over Go 1.19's time.Parse). The expected values and texts are Alertmanager's own answers
    to the same startsAt (test/it/api_compare.sh asks both side by side). */
#include <check.h>
#include <stdint.h>

#include "fw_gotime.h"

#define S_T0 1796292000000LL // 2026-12-03T10:00:00Z

START_TEST(test_fw_gotime_taken)
{
    static const struct {
        const char *in;
        int64_t ms;
    } cases[] = {
        {"2026-12-03T10:00:00Z", S_T0},
        {"2026-12-03T10:00:00.123Z", S_T0 + 123},
        {"2026-12-03T10:00:00.12Z", S_T0 + 120},         // RFC3339Nano's up-to-nine digits
        {"2026-12-03T10:00:00.1234Z", S_T0 + 123},       // a fraction RFC3339 does not name
        {"2026-12-03T10:00:00.1234567891Z", S_T0 + 123}, // more than nine: cut
        {"2026-12-03T10:00:00,5Z", S_T0 + 500},          // a comma for the point
        {"2026-12-03T10:00:00.5+01:00", S_T0 - 3600000 + 500},
        {"2026-12-03T10:00:00.123456+0100", S_T0 - 3600000 + 123}, // RFC3339MicroNoColon
        {"2026-12-03T10:00:00.123456-0230", S_T0 + 9000000 + 123},
        {"2026-12-03T10:00:00", S_T0},           // ISO8601LocalTime: no zone is UTC
        {"2026-12-03T10:00Z", S_T0},             // reduced precision
        {"2026-12-03T10:00", S_T0},              // reduced precision, no zone
        {"2026-12-03 10:00:00", S_T0},           // universal sortable
        {"2026-12-03   10:00:00", S_T0},         // a layout's space takes any run of spaces
        {"2026-12-03T9:00:00Z", S_T0 - 3600000}, // "15" takes one digit
        {"2028-02-29T10:00:00Z", 1835431200000LL},
        {"0000-01-01T00:00:00Z", -62167219200000LL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        int64_t ms = 0;
        ck_assert_msg(fw_gotime_parse_strfmt(cases[i].in, &ms, err, sizeof err) == 0, "%s: %s",
                      cases[i].in, err);
        ck_assert_msg(ms == cases[i].ms, "%s: %lld, not %lld", cases[i].in, (long long)ms,
                      (long long)cases[i].ms);
    }
}
END_TEST

START_TEST(test_fw_gotime_refused_as_go_says)
{
    static const struct {
        const char *in, *err;
    } cases[] = {
        {"yesterday", "parsing time \"yesterday\" as \"2006-01-02 15:04:05\": cannot parse "
                      "\"yesterday\" as \"2006\""},
        {"2026-12-03t10:00:00z", "parsing time \"2026-12-03t10:00:00z\" as \"2006-01-02 "
                                 "15:04:05\": cannot parse \"t10:00:00z\" as \" \""},
        {"2026-13-03T10:00:00Z", "parsing time \"2026-13-03T10:00:00Z\": month out of range"},
        {"2026-12-03T25:00:00Z", "parsing time \"2026-12-03T25:00:00Z\" as \"2006-01-02 "
                                 "15:04:05\": cannot parse \"T25:00:00Z\" as \" \""},
        {"2026-12-03 25:00:00", "parsing time \"2026-12-03 25:00:00\": hour out of range"},
        {"2026-12-03 10:00:60", "parsing time \"2026-12-03 10:00:60\": second out of range"},
        {"2026-02-29 10:00:00", "parsing time \"2026-02-29 10:00:00\": day out of range"},
        {"2026-12-03 10:00:00 extra",
         "parsing time \"2026-12-03 10:00:00 extra\": extra text: \" extra\""},
        {"x\"y\\z", "parsing time \"x\\\"y\\\\z\" as \"2006-01-02 15:04:05\": cannot parse "
                    "\"x\\\"y\\\\z\" as \"2006\""},
        {"2026-12-03\t10:00:00", "parsing time \"2026-12-03\\x0910:00:00\" as \"2006-01-02 "
                                 "15:04:05\": cannot parse \"\\x0910:00:00\" as \" \""},
        {"2026-12-03 10:00:00\xc3\xa9", "parsing time \"2026-12-03 10:00:00\\xc3\\xa9\": extra "
                                        "text: \"\\xc3\\xa9\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        int64_t ms = 0;
        ck_assert_msg(fw_gotime_parse_strfmt(cases[i].in, &ms, err, sizeof err) == -1, "%s taken",
                      cases[i].in);
        ck_assert_str_eq(err, cases[i].err);
    }
    // A short buffer holds the start of the text, NUL-terminated.
    char small[16];
    int64_t ms;
    ck_assert_int_eq(fw_gotime_parse_strfmt("yesterday", &ms, small, sizeof small), -1);
    ck_assert_str_eq(small, "parsing time \"y");
}
END_TEST

Suite *
fw_gotime_suite(void)
{
    Suite *s = suite_create("fw_gotime");
    TCase *tc = tcase_create("strfmt");
    tcase_add_test(tc, test_fw_gotime_taken);
    tcase_add_test(tc, test_fw_gotime_refused_as_go_says);
    suite_add_tcase(s, tc);
    return s;
}
