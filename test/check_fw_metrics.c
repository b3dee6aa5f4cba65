/*  check_fw_metrics.c — the self-metrics registry and its text format.

    The exact rendering of a small registry is compared byte for byte (up to the built-in
    process_* families, whose values move); value formatting, the undeclared-family warning,
    concurrent updates, and — when promtool is installed — that the real Prometheus parser
    accepts the output.
*/
#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_metrics.h"

// The rendering up to the first built-in family (families sort by name; ours sort first).
static char *
s_render_head(fw_metrics_t *m)
{
    char *text = fw_metrics_render(m);
    char *cut = strstr(text, "# HELP process_");
    if (cut)
        *cut = '\0';
    return text;
}

START_TEST(test_fw_metrics_new_use_destroy)
{
    fw_metrics_t *m = fw_metrics_new();
    ck_assert_ptr_nonnull(m);
    fw_metrics_declare(m, "fw_things_total", FW_METRIC_COUNTER, "Things done.");
    fw_metrics_add(m, "fw_things_total", "kind=\"a\"", 2);
    fw_metrics_add(m, "fw_things_total", "kind=\"a\"", 3);
    fw_metrics_set(m, "fw_things_total", "kind=\"b\"", 7);
    ck_assert_double_eq(fw_metrics_get(m, "fw_things_total", "kind=\"a\""), 5);
    ck_assert_double_eq(fw_metrics_get(m, "fw_things_total", "kind=\"b\""), 7);
    ck_assert_double_eq(fw_metrics_get(m, "fw_things_total", "kind=\"c\""), 0);
    ck_assert_double_eq(fw_metrics_get(m, "fw_nothing", ""), 0);
    // Declaring twice keeps the series.
    fw_metrics_declare(m, "fw_things_total", FW_METRIC_COUNTER, "Other help.");
    ck_assert_double_eq(fw_metrics_get(m, "fw_things_total", "kind=\"a\""), 5);
    fw_metrics_destroy(&m);
    ck_assert_ptr_null(m);
    fw_metrics_destroy(&m);
    fw_metrics_destroy(NULL);
}
END_TEST

START_TEST(test_fw_metrics_render_exact)
{
    fw_metrics_t *m = fw_metrics_new();
    // Declared out of order: output sorts families by name, series by label string.
    fw_metrics_declare(m, "fw_temp_celsius", FW_METRIC_GAUGE, "A temperature\\with\nlines.");
    fw_metrics_declare(m, "fw_requests_total", FW_METRIC_COUNTER, "Requests handled.");
    fw_metrics_declare(m, "fw_empty_total", FW_METRIC_COUNTER, "Never touched.");
    fw_metrics_add(m, "fw_requests_total", "code=\"500\"", 1);
    fw_metrics_add(m, "fw_requests_total", "code=\"200\"", 3);
    fw_metrics_set(m, "fw_temp_celsius", "", 21.5);
    char *text = s_render_head(m);
    ck_assert_str_eq(text, "# HELP fw_empty_total Never touched.\n"
                           "# TYPE fw_empty_total counter\n"
                           "# HELP fw_requests_total Requests handled.\n"
                           "# TYPE fw_requests_total counter\n"
                           "fw_requests_total{code=\"200\"} 3\n"
                           "fw_requests_total{code=\"500\"} 1\n"
                           "# HELP fw_temp_celsius A temperature\\\\with\\nlines.\n"
                           "# TYPE fw_temp_celsius gauge\n"
                           "fw_temp_celsius 21.5\n");
    free(text);
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_fw_metrics_value_format)
{
    static const struct {
        double v;
        const char *text;
    } cases[] = {
        {0, "0"},
        {1, "1"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {1234567, "1234567"},
        {1e15, "1000000000000000"},
        {1e300, "1e+300"},
        {1.0 / 3.0, "0.3333333333333333"},
        {123456789.125, "123456789.125"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
    };
    fw_metrics_t *m = fw_metrics_new();
    fw_metrics_declare(m, "fw_v", FW_METRIC_GAUGE, "Values.");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_metrics_set(m, "fw_v", "", cases[i].v);
        char *text = s_render_head(m);
        char want[128];
        snprintf(want, sizeof(want), "\nfw_v %s\n", cases[i].text);
        ck_assert_msg(strstr(text, want) != NULL, "value %zu: want '%s' in:\n%s", i, cases[i].text,
                      text);
        free(text);
    }
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_fw_metrics_undeclared_warns_once)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    fw_log_init("check", FW_LOG_INFO, FW_LOG_LOGFMT); // check_main quiets warnings
    int old = fw_log_set_fd(fds[1]);
    fw_metrics_t *m = fw_metrics_new();
    fw_metrics_add(m, "fw_typo_total", "", 1);
    fw_metrics_add(m, "fw_typo_total", "", 1);
    fw_metrics_set(m, "fw_typo_total", "x=\"y\"", 4);
    fw_log_set_fd(old);
    close(fds[1]);
    char buf[4096];
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    char *first = strstr(buf, "metrics.undeclared");
    ck_assert_ptr_nonnull(first);
    ck_assert_ptr_null(strstr(first + 1, "metrics.undeclared"));
    ck_assert_ptr_nonnull(strstr(buf, "fw_typo_total"));

    ck_assert_double_eq(fw_metrics_get(m, "fw_typo_total", ""), 0);
    char *text = fw_metrics_render(m);
    ck_assert_ptr_null(strstr(text, "fw_typo_total"));
    free(text);
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_fw_metrics_process_builtins)
{
    fw_metrics_t *m = fw_metrics_new();
    char *text = fw_metrics_render(m);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE process_start_time_seconds gauge\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE process_resident_memory_bytes gauge\n"));
    ck_assert_ptr_nonnull(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    free(text);
    double start = fw_metrics_get(m, "process_start_time_seconds", "");
    ck_assert_double_gt(start, 1.6e9); // after 2020
    ck_assert_double_le(start, (double)time(NULL) + 1);
    ck_assert_double_gt(fw_metrics_get(m, "process_resident_memory_bytes", ""), 4096);
    ck_assert_double_ge(fw_metrics_get(m, "process_cpu_seconds_total", ""), 0);
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_fw_metrics_promtool_accepts)
{
    if (access("/usr/bin/promtool", X_OK) != 0)
        return; // not installed: the exact-text test still covers the format
    fw_metrics_t *m = fw_metrics_new();
    fw_metrics_declare(m, "fw_requests_total", FW_METRIC_COUNTER, "Requests \"quoted\" \\.");
    fw_metrics_declare(m, "fw_queue_length", FW_METRIC_GAUGE, "Queue length.");
    fw_metrics_declare(m, "fw_unused_total", FW_METRIC_COUNTER, "No series.");
    fw_metrics_add(m, "fw_requests_total", "code=\"200\",path=\"/a \\\"b\\\"\\n\"", 2);
    fw_metrics_set(m, "fw_queue_length", "", NAN);
    fw_metrics_set(m, "fw_queue_length", "q=\"inf\"", INFINITY);
    fw_metrics_set(m, "fw_queue_length", "q=\"small\"", 1e-300);
    char *text = fw_metrics_render(m);
    // promtool exits 0 when clean, 3 for lint findings only, 1 when the text does not parse.
    FILE *p = popen("promtool check metrics >/dev/null 2>&1", "w");
    ck_assert_ptr_nonnull(p);
    fputs(text, p);
    int st = pclose(p);
    ck_assert(WIFEXITED(st));
    ck_assert_msg(WEXITSTATUS(st) == 0 || WEXITSTATUS(st) == 3, "promtool rejected (exit %d):\n%s",
                  WEXITSTATUS(st), text);
    free(text);
    fw_metrics_destroy(&m);
}
END_TEST

static void *
s_adder(void *arg)
{
    fw_metrics_t *m = arg;
    for (int i = 0; i < 10000; i++)
        fw_metrics_add(m, "fw_hits_total", (i & 1) ? "odd=\"1\"" : "", 1);
    return NULL;
}

START_TEST(test_fw_metrics_concurrent_adds)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_metrics_declare(m, "fw_hits_total", FW_METRIC_COUNTER, "Hits.");
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, s_adder, m), 0);
    for (int i = 0; i < 3; i++)
        free(fw_metrics_render(m)); // rendering while others count
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_double_eq(fw_metrics_get(m, "fw_hits_total", ""), 20000);
    ck_assert_double_eq(fw_metrics_get(m, "fw_hits_total", "odd=\"1\""), 20000);
    fw_metrics_destroy(&m);
}
END_TEST

// A histogram renders as Prometheus's Go client does (Alertmanager's latency buckets).
START_TEST(test_fw_metrics_histogram)
{
    fw_metrics_t *m = fw_metrics_new();
    static const double b[] = {1, 5, 10, 15, 20};
    fw_metrics_declare_histogram(m, "fw_lat_seconds", "Latency.", b, 5);
    fw_metrics_add(m, "fw_lat_seconds", "integration=\"email\"", 0); // all zero
    fw_metrics_observe(m, "fw_lat_seconds", "integration=\"webhook\"", 0.25);
    fw_metrics_observe(m, "fw_lat_seconds", "integration=\"webhook\"", 5);
    fw_metrics_observe(m, "fw_lat_seconds", "integration=\"webhook\"", 30);
    fw_metrics_add(m, "fw_lat_seconds", "integration=\"webhook\"", 7); // ignored
    fw_metrics_set(m, "fw_lat_seconds", "integration=\"webhook\"", 7); // ignored
    char *text = s_render_head(m);
    ck_assert_str_eq(text, "# HELP fw_lat_seconds Latency.\n"
                           "# TYPE fw_lat_seconds histogram\n"
                           "fw_lat_seconds_bucket{integration=\"email\",le=\"1\"} 0\n"
                           "fw_lat_seconds_bucket{integration=\"email\",le=\"5\"} 0\n"
                           "fw_lat_seconds_bucket{integration=\"email\",le=\"10\"} 0\n"
                           "fw_lat_seconds_bucket{integration=\"email\",le=\"15\"} 0\n"
                           "fw_lat_seconds_bucket{integration=\"email\",le=\"20\"} 0\n"
                           "fw_lat_seconds_bucket{integration=\"email\",le=\"+Inf\"} 0\n"
                           "fw_lat_seconds_sum{integration=\"email\"} 0\n"
                           "fw_lat_seconds_count{integration=\"email\"} 0\n"
                           "fw_lat_seconds_bucket{integration=\"webhook\",le=\"1\"} 1\n"
                           "fw_lat_seconds_bucket{integration=\"webhook\",le=\"5\"} 2\n"
                           "fw_lat_seconds_bucket{integration=\"webhook\",le=\"10\"} 2\n"
                           "fw_lat_seconds_bucket{integration=\"webhook\",le=\"15\"} 2\n"
                           "fw_lat_seconds_bucket{integration=\"webhook\",le=\"20\"} 2\n"
                           "fw_lat_seconds_bucket{integration=\"webhook\",le=\"+Inf\"} 3\n"
                           "fw_lat_seconds_sum{integration=\"webhook\"} 35.25\n"
                           "fw_lat_seconds_count{integration=\"webhook\"} 3\n");
    free(text);
    fw_metrics_observe(m, "fw_lat_seconds", "", 2); // no labels
    text = s_render_head(m);
    ck_assert_ptr_nonnull(strstr(text, "fw_lat_seconds_bucket{le=\"5\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "fw_lat_seconds_count 1\n"));
    free(text);
    fw_metrics_destroy(&m);
}
END_TEST

// A summary without quantiles renders _sum and _count only (Prometheus's summaries with no
// objectives, e.g. prometheus_target_sync_length_seconds here).
START_TEST(test_fw_metrics_summary)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_metrics_declare(m, "fw_sync_seconds", FW_METRIC_SUMMARY, "Sync.");
    fw_metrics_add(m, "fw_sync_seconds", "job=\"a\"", 0); // all zero
    fw_metrics_observe(m, "fw_sync_seconds", "job=\"b\"", 0.5);
    fw_metrics_observe(m, "fw_sync_seconds", "job=\"b\"", 0.25);
    fw_metrics_set(m, "fw_sync_seconds", "job=\"b\"", 9); // ignored
    char *text = s_render_head(m);
    ck_assert_str_eq(text, "# HELP fw_sync_seconds Sync.\n"
                           "# TYPE fw_sync_seconds summary\n"
                           "fw_sync_seconds_sum{job=\"a\"} 0\n"
                           "fw_sync_seconds_count{job=\"a\"} 0\n"
                           "fw_sync_seconds_sum{job=\"b\"} 0.75\n"
                           "fw_sync_seconds_count{job=\"b\"} 2\n");
    free(text);
    fw_metrics_destroy(&m);
}
END_TEST

// A held series lives while a holder has not released it (two file_sd providers reading one
// file); a series never held is removed by one release.
START_TEST(test_fw_metrics_hold_release)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_metrics_declare(m, "fw_mtime_seconds", FW_METRIC_GAUGE, "Mtime.");
    fw_metrics_hold(m, "fw_mtime_seconds", "filename=\"a\"");
    fw_metrics_set(m, "fw_mtime_seconds", "filename=\"a\"", 7);
    fw_metrics_hold(m, "fw_mtime_seconds", "filename=\"a\"");
    fw_metrics_set(m, "fw_mtime_seconds", "filename=\"b\"", 8);
    fw_metrics_release(m, "fw_mtime_seconds", "filename=\"a\"");
    char *text = s_render_head(m);
    ck_assert_str_eq(text, "# HELP fw_mtime_seconds Mtime.\n"
                           "# TYPE fw_mtime_seconds gauge\n"
                           "fw_mtime_seconds{filename=\"a\"} 7\n"
                           "fw_mtime_seconds{filename=\"b\"} 8\n");
    free(text);
    fw_metrics_release(m, "fw_mtime_seconds", "filename=\"a\"");
    fw_metrics_release(m, "fw_mtime_seconds", "filename=\"b\"");
    fw_metrics_release(m, "fw_mtime_seconds", "filename=\"c\""); // absent: nothing
    text = s_render_head(m);
    ck_assert_str_eq(text, "# HELP fw_mtime_seconds Mtime.\n"
                           "# TYPE fw_mtime_seconds gauge\n");
    free(text);
    fw_metrics_destroy(&m);
}
END_TEST

Suite *
fw_metrics_suite(void)
{
    Suite *s = suite_create("fw_metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fw_metrics_new_use_destroy);
    tcase_add_test(tc, test_fw_metrics_render_exact);
    tcase_add_test(tc, test_fw_metrics_value_format);
    tcase_add_test(tc, test_fw_metrics_undeclared_warns_once);
    tcase_add_test(tc, test_fw_metrics_process_builtins);
    tcase_add_test(tc, test_fw_metrics_promtool_accepts);
    tcase_add_test(tc, test_fw_metrics_concurrent_adds);
    tcase_add_test(tc, test_fw_metrics_histogram);
    tcase_add_test(tc, test_fw_metrics_summary);
    tcase_add_test(tc, test_fw_metrics_hold_release);
    suite_add_tcase(s, tc);
    return s;
}
