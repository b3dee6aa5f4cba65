/*  check_ruled_test.c — unit tests for `ruled test`'s pieces: the input series notation
    (ruled/ruled_test_series.c) and promtool's result texts (ruled/ruled_test_report.c).
    Expected values are what Prometheus's promql test loader and promtool 2.42 produce.
*/
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../ruled/ruled_test_plan.h"
#include "../ruled/ruled_test_report.h"
#include "../ruled/ruled_test_series.h"
#include "check_util.h"
#include "fw_mem.h"
#include "fw_sample.h"

Suite *ruled_test_suite(void);

// Expand values at a 1m step; return the number of points.
static size_t
s_expand(const char *values, struct ruled_test_points *p)
{
    fw_err_t err = {0};
    ck_assert_msg(ruled_test_series_expand(values, 60000, p, &err) == 0, "%s: %s", values, err.msg);
    return p->len;
}

START_TEST(test_ruled_test_series_notation)
{
    struct ruled_test_points p = {0};
    ck_assert_uint_eq(s_expand("1 2 3", &p), 3);
    ck_assert_int_eq(p.t[2], 120000);
    ck_assert(p.v[2] == 3);
    // a+bxn: n+1 values
    ck_assert_uint_eq(s_expand("0+10x3", &p), 4);
    ck_assert(p.v[0] == 0 && p.v[3] == 30);
    ck_assert_int_eq(p.t[3], 180000);
    ck_assert_uint_eq(s_expand("5-1x2", &p), 3);
    ck_assert(p.v[2] == 3);
    ck_assert_uint_eq(s_expand("-2+4x1", &p), 2);
    ck_assert(p.v[0] == -2 && p.v[1] == 2);
    // no hexadecimal: 0x10 is eleven zeros
    ck_assert_uint_eq(s_expand("0x10", &p), 11);
    ck_assert(p.v[10] == 0);
    // blanks skip steps
    ck_assert_uint_eq(s_expand("1 _ 3 _x3 7", &p), 3);
    ck_assert_int_eq(p.t[1], 120000);
    ck_assert_int_eq(p.t[2], 360000);
    // stale, Inf, NaN, exponents
    ck_assert_uint_eq(s_expand("stale Inf -Inf NaN 1e3 2.5e-1", &p), 6);
    ck_assert(fw_is_stale_nan(p.v[0]));
    ck_assert(isinf(p.v[1]) && p.v[1] > 0 && isinf(p.v[2]) && p.v[2] < 0);
    ck_assert(isnan(p.v[3]) && !fw_is_stale_nan(p.v[3]));
    ck_assert(p.v[4] == 1000 && p.v[5] == 0.25);
    // interval 0 (a group without interval in promtool 2.42): all at time 0
    fw_err_t err = {0};
    ck_assert_int_eq(ruled_test_series_expand("0 1", 0, &p, &err), 0);
    ck_assert_int_eq(p.t[1], 0);
    ruled_test_points_clear(&p);
}
END_TEST

START_TEST(test_ruled_test_series_errors)
{
    struct ruled_test_points p = {0};
    fw_err_t err = {0};
    const char *bad[] = {"1 x", "1+x3", "abc", "1+2", "_x", "1x99999999999", "0+1x20000000"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(ruled_test_series_expand(bad[i], 1000, &p, &err) == -1, "%s", bad[i]);
        ck_assert(strstr(err.msg, "parse error") != NULL);
        ck_assert_uint_eq(p.len, 0);
    }
    struct fw_labels l = FW_LABELS_INIT;
    ck_assert_int_eq(ruled_test_series_parse_metric("up{job=\"a\", x=\"\"}", &l, &err), 0);
    ck_assert_uint_eq(l.len, 2);
    ck_assert_str_eq(fw_labels_get(&l, "__name__"), "up");
    ck_assert_str_eq(fw_labels_get(&l, "job"), "a");
    ck_assert_int_eq(ruled_test_series_parse_metric("{__name__=\"x\"}", &l, &err), 0);
    ck_assert_str_eq(fw_labels_get(&l, "__name__"), "x");
    ck_assert_int_eq(ruled_test_series_parse_metric("up{job=\"a\"", &l, &err), -1);
    ck_assert(strncmp(err.msg, "1:", 2) == 0 && strstr(err.msg, "parse error"));
    ck_assert_int_eq(ruled_test_series_parse_metric("up{job=~\"a\"}", &l, &err), -1);
    ck_assert_int_eq(ruled_test_series_parse_metric("rate(up[1m])", &l, &err), -1);
    fw_labels_clear(&l);
}
END_TEST

START_TEST(test_ruled_test_report_numbers)
{
    char b[64];
    ck_assert_str_eq(ruled_test_go_duration(0, b, sizeof(b)), "0s");
    ck_assert_str_eq(ruled_test_go_duration(300000, b, sizeof(b)), "5m0s");
    ck_assert_str_eq(ruled_test_go_duration(3600000, b, sizeof(b)), "1h0m0s");
    ck_assert_str_eq(ruled_test_go_duration(1500, b, sizeof(b)), "1.5s");
    ck_assert_str_eq(ruled_test_go_duration(100, b, sizeof(b)), "100ms");
}
END_TEST

START_TEST(test_ruled_test_report_texts)
{
    struct ruled_test_buf b = {0};
    ruled_test_samples_str(&b, NULL, 0);
    ck_assert_str_eq(b.s, "nil");
    ruled_test_buf_clear(&b);
    struct ruled_test_sample s[2] = {{FW_LABELS_INIT, 2}, {FW_LABELS_INIT, 1}};
    fw_labels_set(&s[0].labels, "__name__", "up");
    fw_labels_set(&s[0].labels, "job", "b\"q");
    fw_labels_set(&s[1].labels, "__name__", "up");
    fw_labels_set(&s[1].labels, "job", "a");
    ruled_test_samples_sort(s, 2);
    ruled_test_samples_str(&b, s, 2);
    ck_assert_str_eq(b.s,
                     "{__name__=\"up\", job=\"a\"} 1E+00, {__name__=\"up\", job=\"b\\\"q\"} 2E+00");
    ruled_test_buf_clear(&b);
    struct ruled_test_sample n = {FW_LABELS_INIT, NAN};
    ck_assert(!ruled_test_samples_equal(&n, 1, &n, 1)); // reflect.DeepEqual: NaN != NaN
    ck_assert(ruled_test_samples_equal(s, 2, s, 2));

    struct ruled_test_alert a[2] = {{FW_LABELS_INIT, FW_LABELS_INIT},
                                    {FW_LABELS_INIT, FW_LABELS_INIT}};
    fw_labels_set(&a[0].labels, "alertname", "X");
    fw_labels_set(&a[1].labels, "alertname", "X");
    fw_labels_set(&a[1].annotations, "summary", "s");
    ruled_test_alerts_str(&b, a, 2);
    ck_assert_str_eq(b.s, "[\n"
                          "            0:\n"
                          "              Labels:{alertname=\"X\"}\n"
                          "              Annotations:{},\n"
                          "            1:\n"
                          "              Labels:{alertname=\"X\"}\n"
                          "              Annotations:{summary=\"s\"}\n"
                          "            ]");
    ruled_test_buf_clear(&b);
    ruled_test_alerts_str(&b, a, 0);
    ck_assert_str_eq(b.s, "[]");
    ruled_test_buf_clear(&b);
    ck_assert(!ruled_test_alerts_equal(a, 1, a + 1, 1));
    for (size_t i = 0; i < 2; i++) {
        fw_labels_clear(&s[i].labels);
        fw_labels_clear(&a[i].labels);
        fw_labels_clear(&a[i].annotations);
    }
}
END_TEST

START_TEST(test_ruled_test_report_yaml)
{
    struct fw_cfg_errors e = {0};
    fw_cfg_errors_add(&e, "t.yml", (struct fw_cfg_pos){6, 1}, "unknown key 'fuzzy_compare'");
    fw_cfg_errors_add(&e, "t.yml", (struct fw_cfg_pos){66, 13},
                      "unknown key 'histogram' in tests[0].promql_expr_test[5].exp_samples[0]");
    struct ruled_test_buf b = {0};
    ck_assert(ruled_test_yaml_unknown_keys(&b, &e, false));
    ck_assert_str_eq(b.s, "yaml: unmarshal errors:\n"
                          "  line 6: field fuzzy_compare not found in type main.unitTestFile\n"
                          "  line 66: field histogram not found in type main.sample");
    ruled_test_buf_clear(&b);
    // any other error: not Go's wording
    fw_cfg_errors_add(&e, "t.yml", (struct fw_cfg_pos){7, 3}, "eval_time: not a duration");
    ck_assert(!ruled_test_yaml_unknown_keys(&b, &e, false));
    ck_assert_ptr_null(b.s);
    struct fw_cfg_errors r = {0};
    fw_cfg_errors_add(&r, "r.yml", (struct fw_cfg_pos){6, 9},
                      "unknown key 'bogus' in groups[0].rules[0]");
    fw_cfg_errors_add(&r, "r.yml", (struct fw_cfg_pos){7, 1}, "unknown key 'bogus2'");
    ck_assert(ruled_test_yaml_unknown_keys(&b, &r, true));
    ck_assert_str_eq(b.s, "yaml: unmarshal errors:\n"
                          "  line 6: field bogus not found in type rulefmt.RuleNode\n"
                          "  line 7: field bogus2 not found in type rulefmt.RuleGroups");
    ruled_test_buf_clear(&b);
}
END_TEST

// Which rules `ruled test` answers ahead by range queries, and in which stage.
static ruled_test_plan_t *
s_plan(const char *yml, struct ruled_rulefile *rf, int64_t maxt_ms)
{
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load("p.yml", yml, rf, errs), 0);
    free(errs);
    const struct ruled_rule_cfg *cfgs[16];
    size_t n = 0;
    for (size_t g = 0; g < rf->n_groups; g++)
        for (size_t k = 0; k < rf->groups[g].n_rules && n < 16; k++)
            cfgs[n++] = &rf->groups[g].rules[k];
    return ruled_test_plan_new(cfgs, n, 60000, maxt_ms);
}

START_TEST(test_ruled_test_plan_stages)
{
    static const char yml[] = "groups:\n"
                              "  - name: g\n"
                              "    rules:\n"
                              "      - {record: a, expr: 'sum(in)'}\n"       // 0: stage 0
                              "      - {record: b, expr: 'a * 2'}\n"         // 1: reads a
                              "      - {alert: A, expr: 'b > 1', for: 1m}\n" // 2: reads b
                              "      - {record: c, expr: 'count(ALERTS)'}\n" // 3: reads A
                              "      - {record: d, expr: 'e + 1'}\n"         // 4: later e
                              "      - {record: e, expr: 'vector(1)'}\n"     // 5: read by 4
                              "      - {record: f, expr: 'rate(in[5m])'}\n"; // 6: stage 0
    struct ruled_rulefile rf;
    ruled_test_plan_t *p = s_plan(yml, &rf, 600000);
    ck_assert(ruled_test_plan_active(p));
    static const bool ahead[] = {true, true, true, true, false, false, true};
    for (size_t i = 0; i < 7; i++)
        ck_assert_msg(ruled_test_plan_ahead(p, i) == ahead[i], "rule %zu", i);
    ruled_test_plan_destroy(&p);
    ruled_rules_free(&rf);

    // An @ modifier or a negative offset anywhere: nothing ahead (inputs load lazily).
    static const char at[] = "groups:\n"
                             "  - name: g\n"
                             "    rules:\n"
                             "      - {record: a, expr: 'sum(in)'}\n"
                             "      - {record: b, expr: 'in offset -1m'}\n";
    p = s_plan(at, &rf, 600000);
    ck_assert(!ruled_test_plan_active(p));
    ck_assert(!ruled_test_plan_ahead(p, 0));
    ruled_test_plan_destroy(&p);
    ruled_rules_free(&rf);
    // More steps than one range query answers: nothing ahead.
    p = s_plan(yml, &rf, (int64_t)RULED_TEST_PLAN_MAX_STEPS * 60000);
    ck_assert(!ruled_test_plan_active(p));
    ruled_test_plan_destroy(&p);
    ruled_rules_free(&rf);
}
END_TEST

Suite *
ruled_test_suite(void)
{
    Suite *s = suite_create("ruled_test");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ruled_test_series_notation);
    tcase_add_test(tc, test_ruled_test_series_errors);
    tcase_add_test(tc, test_ruled_test_report_numbers);
    tcase_add_test(tc, test_ruled_test_report_texts);
    tcase_add_test(tc, test_ruled_test_report_yaml);
    tcase_add_test(tc, test_ruled_test_plan_stages);
    suite_add_tcase(s, tc);
    return s;
}
