/*  check_fw_expfmt_st.c — OpenMetrics `_created` lines as start times
    (FW_EXPFMT_START_TIMES), as Prometheus 3 reads them when it keeps start timestamps.
*/
#include <check.h>
#include <string.h>

#include "fw_expfmt.h"

Suite *fw_expfmt_st_suite(void);

// Counter, histogram and summary families with `_created` lines, a gauge with a sample
// named like one, a `_created` line before its sample, and one after a sample of another
// series in the same family.
static const char s_body[] = "# TYPE foo counter\n"
                             "# HELP foo Foos.\n"
                             "foo_total{a=\"1\"} 5\n"
                             "foo_created{a=\"1\"} 1700000000.5\n"
                             "foo_total{a=\"2\"} 6\n"
                             "foo_created{a=\"2\"} 1700000001\n"
                             "# TYPE h histogram\n"
                             "h_bucket{x=\"y\",le=\"1\"} 1\n"
                             "h_bucket{x=\"y\",le=\"+Inf\"} 2\n"
                             "h_count{x=\"y\"} 2\n"
                             "h_sum{x=\"y\"} 3\n"
                             "h_created{x=\"y\"} 1600000000\n"
                             "# TYPE s summary\n"
                             "s{quantile=\"0.5\"} 1\n"
                             "s_count 2\n"
                             "s_sum 3\n"
                             "s_created 1500000000\n"
                             "# TYPE g gauge\n"
                             "g_created 7\n"
                             "# TYPE late counter\n"
                             "late_created 1400000000\n"
                             "late_total 1\n"
                             "# TYPE mism counter\n"
                             "mism_total{a=\"1\"} 1\n"
                             "mism_total{a=\"2\"} 2\n"
                             "mism_created{a=\"2\"} 1300000000\n"
                             "# EOF\n";

// What each sample of s_body comes out as: its name, value and start time.
static const struct {
    const char *name;
    double v;
    int64_t st;
} s_want[] = {
    {"foo_total", 5, 1700000000500},
    {"foo_total", 6, 1700000001000},
    {"h_bucket", 1, 1600000000000},
    {"h_bucket", 2, 1600000000000},
    {"h_count", 2, 1600000000000},
    {"h_sum", 3, 1600000000000},
    {"s", 1, 1500000000000},
    {"s_count", 2, 1500000000000},
    {"s_sum", 3, 1500000000000},
    {"g_created", 7, 0},  // a gauge's: a sample as any
    {"late_total", 1, 0}, // its `_created` came before it: upstream looks ahead only
    {"mism_total", 1, 0}, // the first `_created` after it is another series'
    {"mism_total", 2, 1300000000000},
};
#define S_N_WANT (sizeof(s_want) / sizeof(s_want[0]))

static void
s_check(fw_expfmt_t *p, ssize_t n)
{
    ck_assert_int_eq(n, (ssize_t)S_N_WANT);
    for (size_t i = 0; i < S_N_WANT; i++) {
        struct fw_expfmt_sample s;
        fw_expfmt_get(p, i, &s);
        ck_assert_msg(strcmp(s.name, s_want[i].name) == 0, "sample %zu: %s", i, s.name);
        ck_assert(s.v == s_want[i].v);
        ck_assert_msg(s.st_ms == s_want[i].st, "sample %zu (%s): start %lld, want %lld", i, s.name,
                      (long long)s.st_ms, (long long)s_want[i].st);
    }
}

START_TEST(test_fw_expfmt_st_created_lines)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    ssize_t n = fw_expfmt_parse_flags(p, s_body, strlen(s_body), FW_EXPFMT_OPENMETRICS,
                                      FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &err);
    s_check(p, n);
    // twice: the buffers are reused, nothing of the first run is left
    n = fw_expfmt_parse_flags(p, s_body, strlen(s_body), FW_EXPFMT_OPENMETRICS,
                              FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &err);
    s_check(p, n);
    fw_expfmt_destroy(&p);
    ck_assert_ptr_null(p);
}
END_TEST

// Without the flag, or as text 0.0.4, `_created` lines are samples and nothing has a start.
START_TEST(test_fw_expfmt_st_off)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    ssize_t n = fw_expfmt_parse_flags(p, s_body, strlen(s_body), FW_EXPFMT_OPENMETRICS,
                                      FW_EXPFMT_PROMETHEUS, &err);
    ck_assert_int_eq(n, (ssize_t)S_N_WANT + 6);
    for (size_t i = 0; i < (size_t)n; i++) {
        struct fw_expfmt_sample s;
        fw_expfmt_get(p, i, &s);
        ck_assert_int_eq(s.st_ms, 0);
    }
    const char text[] = "# TYPE c counter\nc_total 1\nc_created 1700000000\n";
    n = fw_expfmt_parse_flags(p, text, strlen(text), FW_EXPFMT_TEXT,
                              FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &err);
    ck_assert_int_eq(n, 2);
    struct fw_expfmt_sample s;
    fw_expfmt_get(p, 0, &s);
    ck_assert_int_eq(s.st_ms, 0);
    fw_expfmt_destroy(&p);
}
END_TEST

// A caller that knows every series text (a scrape cache) spares their labels: the start
// times come out the same, from the series texts; `_created` lines are never asked about.
static size_t s_asked_created;

static void *
s_known_all(void *arg, size_t i, const char *series, size_t len)
{
    (void)i;
    for (size_t k = 0; k + 8 <= len; k++)
        if (memcmp(series + k, "_created", 8) == 0) {
            s_asked_created++;
            break;
        }
    return arg;
}

START_TEST(test_fw_expfmt_st_known_series)
{
    fw_expfmt_t *p = fw_expfmt_new();
    int tag;
    fw_expfmt_set_known(p, s_known_all, &tag);
    s_asked_created = 0;
    fw_err_t err;
    ssize_t n = fw_expfmt_parse_flags(p, s_body, strlen(s_body), FW_EXPFMT_OPENMETRICS,
                                      FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &err);
    s_check(p, n);
    struct fw_expfmt_sample s;
    fw_expfmt_get(p, 0, &s);
    ck_assert_ptr_eq(s.tag, &tag);
    ck_assert_uint_eq(s.n_labels, 0);
    ck_assert_uint_eq(s_asked_created, 1); // only the gauge's g_created, a sample
    // fw_expfmt_get_tagged gives what fw_expfmt_get does of a tagged sample without a start
    // time or exemplar, and refuses the others (the caller reads them whole)
    size_t tagged = 0, refused = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        fw_expfmt_get(p, i, &s);
        struct fw_expfmt_tagged q = {0};
        bool quick = fw_expfmt_get_tagged(p, i, &q);
        ck_assert_int_eq(quick, s.tag && !s.has_exemplar && s.st_ms == 0);
        if (!quick) {
            refused++;
            continue;
        }
        tagged++;
        ck_assert_ptr_eq(q.tag, s.tag);
        ck_assert(q.v == s.v || (q.v != q.v && s.v != s.v));
        ck_assert_int_eq(q.has_t, s.has_t);
        ck_assert_int_eq(q.t_ms, s.t_ms);
    }
    ck_assert_uint_gt(tagged, 0);
    ck_assert_uint_gt(refused, 0);
    fw_expfmt_destroy(&p);
}
END_TEST

Suite *
fw_expfmt_st_suite(void)
{
    Suite *s = suite_create("fw_expfmt_st");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_expfmt_st_created_lines);
    tcase_add_test(tc, test_fw_expfmt_st_off);
    tcase_add_test(tc, test_fw_expfmt_st_known_series);
    suite_add_tcase(s, tc);
    return s;
}
