/*  check_fw_matcher.c — the one label matcher: operators, absent labels, dialects, copies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_matcher.h"

START_TEST(test_fw_matcher_usage)
{
    struct fw_matcher m;
    fw_err_t err;
    ck_assert_int_eq(
        fw_matcher_init(&m, FW_MATCH_RE, "line", "line[12]", FW_REGEX_PROMETHEUS, &err), 0);
    ck_assert(fw_matcher_matches(&m, "line1"));
    ck_assert(!fw_matcher_matches(&m, "line3"));
    ck_assert(!fw_matcher_matches(&m, NULL)); // absent is ""
    ck_assert(!fw_matcher_matches_empty(&m));
    ck_assert_str_eq(fw_match_op_str(m.op), "=~");

    struct fw_matcher c;
    fw_matcher_copy(&c, &m);
    fw_matcher_clear(&m);
    ck_assert_ptr_null(m.re);
    fw_matcher_clear(&m);                       // twice is fine
    ck_assert(fw_matcher_matches(&c, "line2")); // the copy owns its own regex
    fw_matcher_clear(&c);
}
END_TEST

START_TEST(test_fw_matcher_operators_and_lists)
{
    struct fw_matcher ms[4];
    fw_err_t err;
    ck_assert_int_eq(
        fw_matcher_init(&ms[0], FW_MATCH_EQ, "job", "plant", FW_REGEX_PROMETHEUS, &err), 0);
    ck_assert_int_eq(fw_matcher_init(&ms[1], FW_MATCH_NE, "env", "dev", FW_REGEX_PROMETHEUS, &err),
                     0);
    ck_assert_int_eq(
        fw_matcher_init(&ms[2], FW_MATCH_NRE, "line", "line9|", FW_REGEX_PROMETHEUS, &err), 0);
    ck_assert_int_eq(fw_matcher_init(&ms[3], FW_MATCH_RE, "zone", ".*", FW_REGEX_PROMETHEUS, &err),
                     0);
    ck_assert(!fw_matcher_matches_empty(&ms[0]));
    ck_assert(fw_matcher_matches_empty(&ms[1]));  // an absent env is not "dev"
    ck_assert(!fw_matcher_matches_empty(&ms[2])); // "" matches line9|, so !~ fails
    ck_assert(fw_matcher_matches_empty(&ms[3]));

    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "job", "plant");
    fw_labels_set(&l, "line", "line2");
    ck_assert(fw_matchers_match(ms, 4, &l));
    ck_assert(fw_matchers_match(ms, 0, &l)); // no matchers: everything
    fw_labels_set(&l, "env", "dev");
    ck_assert(!fw_matchers_match(ms, 4, &l));
    fw_labels_set(&l, "env", "prod");
    fw_labels_set(&l, "line", "line9");
    ck_assert(!fw_matchers_match(ms, 4, &l));
    fw_labels_clear(&l);
    for (int i = 0; i < 4; i++)
        fw_matcher_clear(&ms[i]);
}
END_TEST

START_TEST(test_fw_matcher_dialects_and_errors)
{
    struct fw_matcher p, a;
    fw_err_t err;
    // Prometheus 3 lets `.` match a newline; Alertmanager does not.
    ck_assert_int_eq(fw_matcher_init(&p, FW_MATCH_RE, "v", "a.b", FW_REGEX_PROMETHEUS, &err), 0);
    ck_assert_int_eq(fw_matcher_init(&a, FW_MATCH_RE, "v", "a.b", FW_REGEX_ALERTMANAGER, &err), 0);
    ck_assert(fw_matcher_matches(&p, "a\nb"));
    ck_assert(!fw_matcher_matches(&a, "a\nb"));
    fw_matcher_clear(&p);
    fw_matcher_clear(&a);

    struct fw_matcher bad;
    memset(&bad, 0x5a, sizeof bad);
    ck_assert_int_eq(fw_matcher_init(&bad, FW_MATCH_NRE, "v", "(", FW_REGEX_PROMETHEUS, &err), -1);
    ck_assert_str_eq(err.msg, "error parsing regexp: missing closing ): `^(?s:()$`");
    ck_assert_ptr_null(bad.name); // zeroed on failure, safe to clear
    fw_matcher_clear(&bad);
}
END_TEST

Suite *
fw_matcher_suite(void)
{
    Suite *s = suite_create("fw_matcher");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_matcher_usage);
    tcase_add_test(tc, test_fw_matcher_operators_and_lists);
    tcase_add_test(tc, test_fw_matcher_dialects_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
