/*  check_slod.c — unit tests for slod: configuration, window substitution, SLO arithmetic
    and evaluation (slod/slod_cfg.c, slod/slod_eval.c).

    Evaluation goes through a fake query function that answers good/total per window from
    a table the test sets (tsdb's real query server is the tsdb module's; the ruled_group
    suite exercises the fw_query client against a canned ROUTER, and the lead's end-to-end
    test covers the real pipeline).
*/
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_util.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "../slod/slod.h"
#include "../slod/slod_cfg.h"
#include "../slod/slod_eval.h"

Suite *slod_suite(void);

#define T0 1800000000000LL

static const char s_cfg_text[] = "evaluation_interval: 30s\n"
                                 "slos:\n"
                                 "  - name: api\n"
                                 "    service: tsdb\n"
                                 "    objective: 99.5\n"
                                 "    window: 30d\n"
                                 "    sli:\n"
                                 "      good: sum(rate(good_total[{{.window}}]))\n"
                                 "      total: sum(rate(all_total[{{ .window }}]))\n"
                                 "    labels: {team: sre}\n"
                                 "    alerting: {ticket_alert: {labels: {team: ops}}}\n";

START_TEST(test_slod_cfg_load_and_expand)
{
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_cfg_load("s.yml", s_cfg_text, &cfg, errs), 0);
    ck_assert_int_eq(cfg.evaluation_interval_ms, 30000);
    ck_assert_uint_eq(cfg.n_slos, 1);
    const struct slod_slo_cfg *s = &cfg.slos[0];
    ck_assert_str_eq(s->name, "api");
    ck_assert(fabs(s->objective - 99.5) < 1e-12);
    ck_assert_str_eq(s->window, "30d");
    ck_assert_int_eq(s->window_ms, 30LL * 86400000);
    ck_assert_str_eq(s->id, "tsdb-api");
    ck_assert(!s->alerting.page_alert.disable);
    ck_assert_str_eq(s->alerting.name, "SLOBurnRateHigh");
    // The SRE Workbook's windows by default: page 14.4x 1h/5m, 6x 6h/30m; ticket 3x 1d/2h,
    // 1x 3d/6h.
    ck_assert_uint_eq(s->alerting.n_windows, 4);
    static const double want[4][4] = {{SLOD_PAGE, 3600000, 300000, 14.4},
                                      {SLOD_PAGE, 21600000, 1800000, 6},
                                      {SLOD_TICKET, 86400000, 7200000, 3},
                                      {SLOD_TICKET, 259200000, 21600000, 1}};
    for (size_t k = 0; k < 4; k++) {
        const struct slod_window_cfg *w = &s->alerting.windows[k];
        ck_assert_int_eq(w->severity, (int)want[k][0]);
        ck_assert_int_eq(w->long_ms, (int64_t)want[k][1]);
        ck_assert_int_eq(w->short_ms, (int64_t)want[k][2]);
        ck_assert(fabs(w->burn_rate - want[k][3]) < 1e-12);
        ck_assert_int_eq(s->window_ms_list[w->long_i], w->long_ms);
        ck_assert_int_eq(s->window_ms_list[w->short_i], w->short_ms);
    }
    // Windows: 5m 30m 1h 2h 6h 1d 3d, then the period.
    ck_assert_uint_eq(s->n_windows, 8);
    ck_assert_str_eq(s->window_names[7], "30d");
    ck_assert_uint_eq(s->period_i, 7);
    ck_assert_str_eq(s->sli.q_bad, "(sum(rate(all_total[{{ .window }}]))) - "
                                   "(sum(rate(good_total[{{.window}}])))");
    char *q = slod_cfg_expand(s->sli.total, "1h");
    ck_assert_str_eq(q, "sum(rate(all_total[1h]))");
    free(q);
    q = slod_cfg_expand("a[{{.window}}] / b[{{.window}}] {{.other}}", "5m");
    ck_assert_str_eq(q, "a[5m] / b[5m] {{.other}}");
    free(q);
    slod_cfg_free(&cfg);
    free(errs);

    // The embedded default loads.
    errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_load_config(NULL, &cfg, errs), 0);
    ck_assert_uint_ge(cfg.n_slos, 1);
    ck_assert_str_eq(cfg.slos[0].id, "tsdb-query-availability");
    slod_cfg_free(&cfg);
    free(errs);
}
END_TEST

static void
s_expect_error(const char *text, const char *msg, int line, int col)
{
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_cfg_load("s.yml", text, &cfg, errs), -1);
    size_t i = 0;
    while (i < errs->len && !strstr(errs->items[i].msg, msg))
        i++;
    ck_assert_msg(i < errs->len, "no error containing \"%s\" (first: \"%s\")", msg,
                  errs->len ? errs->items[0].msg : "none");
    ck_assert_int_eq(errs->items[i].line, line);
    ck_assert_int_eq(errs->items[i].col, col);
    slod_cfg_free(&cfg);
    free(errs);
}

START_TEST(test_slod_cfg_errors)
{
    static const char head[] = "slos:\n  - name: a\n";
    char buf[1024];
    snprintf(buf, sizeof(buf),
             "%s    objective: 100\n    window: 30d\n"
             "    sli: {good: x, total: y}\n",
             head);
    s_expect_error(buf, "objective 100 must be a percentage", 2, 5);
    snprintf(buf, sizeof(buf),
             "%s    objective: 0\n    window: 30d\n"
             "    sli: {good: x, total: y}\n",
             head);
    s_expect_error(buf, "objective 0 must be", 2, 5);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: monthly\n"
             "    sli: {good: x, total: y}\n",
             head);
    s_expect_error(buf, "'monthly' is not a positive multiple of 5m", 4, 13);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli:\n      good: sum(rate(x[{{.window}}])\n      total: y\n",
             head);
    s_expect_error(buf, "could not parse SLI query", 6, 13);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli: {good: x}\n",
             head);
    s_expect_error(buf, "the sli needs total and one of good or bad", 5, 10);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli: {good: x, total: y}\n    labels: {sloth_slo: z}\n",
             head);
    s_expect_error(buf, "label 'sloth_slo' is set by slod", 2, 5);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli: {good: x, total: y}\n  - name: a\n    objective: 99\n    window: 1d\n"
             "    sli: {good: x, total: y}\n",
             head);
    s_expect_error(buf, "slo \"a\" is defined twice", 6, 5);
    s_expect_error("slos:\n  - name: a\n    objectiv: 9\n", "unknown key 'objectiv'", 3, 5);
    // alert templates parse at load, as Prometheus parses the rules `slod generate` writes
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    sli: {good: x, total: y}\n    alerting:\n"
             "      page_alert:\n        annotations:\n          ok: \"{{ $value }}\"\n"
             "          summary: \"a\\n{{ $labels.a\"\n",
             head);
    s_expect_error(buf,
                   "slo \"a\": page_alert annotation \"summary\": template: unclosed action "
                   "(line 2, byte 15 of the value)",
                   7, 9);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    sli: {good: x, total: y}\n    alerting:\n"
             "      labels: {x: \"{{ nosuch 1 }}\"}\n",
             head);
    s_expect_error(buf, "alerting label \"x\": template: function \"nosuch\" not defined", 6, 7);
    // slod runs no queries from templates: query is refused at load, not accepted and failed
    // at every expansion
    snprintf(
        buf, sizeof(buf),
        "%s    objective: 99\n    sli: {good: x, total: y}\n    alerting:\n"
        "      annotations: {x: \"{{ with query \\\"up\\\" }}{{ . | first | value }}{{ end }}\"}\n",
        head);
    s_expect_error(buf,
                   "alerting annotation \"x\": template: query: not supported by floorwatch in "
                   "these templates",
                   6, 7);
}
END_TEST

START_TEST(test_slod_math)
{
    double sli = 0;
    ck_assert(slod_eval_sli(995, 1000, &sli));
    ck_assert(fabs(sli - 0.995) < 1e-12);
    ck_assert(!slod_eval_sli(0, 0, &sli));
    ck_assert(!slod_eval_sli(1, NAN, &sli));
    // 99.5% objective: an error ratio of 0.5% burns at exactly 1x; 7.2% at 14.4x.
    ck_assert(fabs(slod_eval_burn_rate(0.005, 99.5) - 1.0) < 1e-9);
    ck_assert(fabs(slod_eval_burn_rate(0.072, 99.5) - 14.4) < 1e-9);
    ck_assert(fabs(slod_eval_burn_rate(0, 99.5)) < 1e-12);
}
END_TEST

// A Sloth prometheus/v1 spec, as Sloth's README gives it, loads unchanged.
static const char s_sloth_text[] =
    "version: \"prometheus/v1\"\n"
    "service: \"myservice\"\n"
    "labels:\n"
    "  owner: \"myteam\"\n"
    "  repo: \"myorg/myservice\"\n"
    "  tier: \"2\"\n"
    "slos:\n"
    "  - name: \"requests-availability\"\n"
    "    objective: 99.9\n"
    "    description: \"Common SLO based on availability for HTTP request responses.\"\n"
    "    labels:\n"
    "      category: availability\n"
    "    sli:\n"
    "      events:\n"
    "        error_query: sum(rate(http_request_duration_seconds_count{job=\"myservice\","
    "code=~\"(5..|429)\"}[{{.window}}]))\n"
    "        total_query: sum(rate(http_request_duration_seconds_count{job=\"myservice\"}"
    "[{{.window}}]))\n"
    "    alerting:\n"
    "      name: \"MyServiceHighErrorRate\"\n"
    "      labels:\n"
    "        category: \"availability\"\n"
    "      annotations:\n"
    "        summary: \"High error rate on 'myservice' requests responses\"\n"
    "      page_alert:\n"
    "        labels:\n"
    "          severity: \"pageteam\"\n"
    "          routing_key: \"myteam\"\n"
    "      ticket_alert:\n"
    "        labels:\n"
    "          severity: \"slack\"\n"
    "          slack_channel: \"#alerts-myteam\"\n"
    "  - name: \"raw\"\n"
    "    objective: 99\n"
    "    sli:\n"
    "      raw:\n"
    "        error_ratio_query: avg_over_time(my_error_ratio[{{.window}}])\n"
    "    alerting:\n"
    "      name: RawAlert\n"
    "      page_alert: {disable: true}\n"
    "      ticket_alert: {disable: true}\n";

START_TEST(test_slod_cfg_sloth_spec)
{
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_cfg_load("sloth.yml", s_sloth_text, &cfg, errs), 0);
    ck_assert_uint_eq(cfg.n_slos, 2);
    const struct slod_slo_cfg *s = &cfg.slos[0];
    ck_assert_str_eq(s->id, "myservice-requests-availability");
    ck_assert_str_eq(s->service, "myservice");
    ck_assert_int_eq(s->window_ms, 30LL * 86400000); // Sloth's default period
    ck_assert_str_eq(fw_labels_get(&s->labels, "owner"), "myteam");
    ck_assert_str_eq(fw_labels_get(&s->labels, "category"), "availability");
    ck_assert_int_eq(s->sli.kind, SLOD_SLI_EVENTS);
    ck_assert_ptr_nonnull(strstr(s->sli.q_bad, "code=~\"(5..|429)\""));
    ck_assert_str_eq(s->alerting.name, "MyServiceHighErrorRate");
    ck_assert_str_eq(fw_labels_get(&s->alerting.page_alert.labels, "severity"), "pageteam");
    ck_assert_int_eq(cfg.slos[1].sli.kind, SLOD_SLI_RAW);
    ck_assert(cfg.slos[1].alerting.page_alert.disable);
    slod_cfg_free(&cfg);
    free(errs);

    // What slod does not do is refused where it is written.
    s_expect_error("version: prometheus/v2\nslos: []\n",
                   "version \"prometheus/v2\" is not "
                   "supported",
                   1, 1);
    s_expect_error("version: prometheus/v1\nservice: s\nslos:\n  - name: a\n    objective: 99\n"
                   "    sli:\n      plugin:\n        id: x\n",
                   "plugin: not supported", 7, 7);
    s_expect_error("apiVersion: sloth.slok.dev/v1\nkind: PrometheusServiceLevel\n",
                   "apiVersion: not supported", 1, 1);
}
END_TEST

START_TEST(test_slod_cfg_sli_kinds)
{
    static const char text[] =
        "slos:\n"
        "  - name: p95\n"
        "    service: api\n"
        "    objective: 95\n"
        "    window: 7d\n"
        "    sli:\n"
        "      latency: {metric: http_request_duration_seconds, selector: 'job=\"api\"', "
        "threshold: '0.2'}\n"
        "    alerting:\n"
        "      windows:\n"
        "        - {severity: page, long: 1h, short: 5m, burn_rate: 10}\n"
        "        - {severity: ticket, long: 7d, short: 1d, burn_rate: 1}\n"
        "  - name: bad\n"
        "    objective: 99\n"
        "    window: 1d\n"
        "    sli: {bad: 'sum(rate(e[{{.window}}]))', total: 'sum(rate(t[{{.window}}]))'}\n";
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_cfg_load("s.yml", text, &cfg, errs), 0);
    const struct slod_slo_cfg *s = &cfg.slos[0];
    ck_assert_str_eq(s->sli.q_total,
                     "sum(rate(http_request_duration_seconds_count{job=\"api\"}[{{.window}}]))");
    ck_assert_str_eq(s->sli.q_bad,
                     "sum(rate(http_request_duration_seconds_count{job=\"api\"}[{{.window}}])) - "
                     "sum(rate(http_request_duration_seconds_bucket{job=\"api\",le=\"0.2\"}"
                     "[{{.window}}]))");
    ck_assert_uint_eq(s->alerting.n_windows, 2);
    ck_assert_str_eq(s->window_names[s->alerting.windows[1].long_i], "7d");
    ck_assert_str_eq(s->window_names[s->alerting.windows[1].short_i], "1d");
    // A 1d period is one of the fixed windows: evaluated once.
    ck_assert_uint_eq(cfg.slos[1].n_windows, 7);
    ck_assert_str_eq(cfg.slos[1].window_names[cfg.slos[1].period_i], "1d");
    ck_assert_str_eq(cfg.slos[1].sli.q_bad, "sum(rate(e[{{.window}}]))");
    slod_cfg_free(&cfg);
    free(errs);

    s_expect_error("slos:\n  - name: a\n    objective: 99\n    sli: {good: x, total: y}\n"
                   "    alerting:\n      windows:\n"
                   "        - {severity: page, long: 4h, short: 5m, burn_rate: 2}\n",
                   "alert window 4h is not one slod evaluates", 7, 11);
    s_expect_error("slos:\n  - name: a\n    objective: 99\n"
                   "    sli: {good: x, total: y, latency: {metric: m, threshold: '1'}}\n",
                   "needs exactly one of", 4, 10);
    s_expect_error("slos:\n  - name: a\n    objective: 99\n"
                   "    sli: {latency: {metric: m, threshold: fast}}\n",
                   "threshold 'fast' is not a number", 4, 43);
}
END_TEST

// Sloth's examples/windows/7d.yaml (AlertWindows), as a catalog file.
static const char s_catalog_7d[] =
    "apiVersion: sloth.slok.dev/v1\n"
    "kind: AlertWindows\n"
    "spec:\n"
    "  sloPeriod: 7d\n"
    "  page:\n"
    "    quick: {errorBudgetPercent: 8, shortWindow: 5m, longWindow: 1h}\n"
    "    slow: {errorBudgetPercent: 12.5, shortWindow: 30m, longWindow: 6h}\n"
    "  ticket:\n"
    "    quick: {errorBudgetPercent: 20, shortWindow: 2h, longWindow: 1d}\n"
    "    slow: {errorBudgetPercent: 42, shortWindow: 6h, longWindow: 3d}\n";

// Load test/tmp/slod-w.yml (text); 0 or -1, the first error in *first.
static int
s_load_catalog_cfg(const char *text, struct slod_cfg *cfg, fw_err_t *first)
{
    check_util_write_file("test/tmp/slod-w.yml", text);
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    int rc = slod_cfg_load("test/tmp/slod-w.yml", NULL, cfg, errs);
    if (errs->len)
        *first = errs->items[0];
    free(errs);
    return rc;
}

START_TEST(test_slod_cfg_alert_window_catalog)
{
    mkdir("test/tmp/slod-win", 0700);
    check_util_write_file("test/tmp/slod-win/7d.yaml", s_catalog_7d);
    static const char cfg_text[] = "alert_windows_files: [slod-win/*.yaml]\n"
                                   "slos:\n"
                                   "  - {name: w, objective: 99.9, window: 7d,\n"
                                   "     sli: {bad: x, total: y}}\n"
                                   "  - {name: m, objective: 99.9, window: 30d,\n"
                                   "     sli: {bad: x, total: y}}\n";
    struct slod_cfg cfg;
    fw_err_t e = {0};
    ck_assert_msg(s_load_catalog_cfg(cfg_text, &cfg, &e) == 0, "%s:%d:%d: %s", e.file, e.line,
                  e.col, e.msg);
    // Sloth's factor: errorBudgetPercent / 100 x sloPeriod / longWindow.
    const struct slod_alerting_cfg *a = &cfg.slos[0].alerting;
    ck_assert_uint_eq(a->n_windows, 4);
    static const struct {
        int sev;
        int64_t long_ms, short_ms;
        double burn;
    } want[] = {{SLOD_PAGE, 3600000, 300000, 13.44},
                {SLOD_PAGE, 21600000, 1800000, 3.5},
                {SLOD_TICKET, 86400000, 7200000, 1.4},
                {SLOD_TICKET, 259200000, 21600000, 0.98}};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_int_eq(a->windows[i].severity, want[i].sev);
        ck_assert_int_eq(a->windows[i].long_ms, want[i].long_ms);
        ck_assert_int_eq(a->windows[i].short_ms, want[i].short_ms);
        ck_assert_msg(fabs(a->windows[i].burn_rate - want[i].burn) < 1e-9, "%zu: %g", i,
                      a->windows[i].burn_rate);
    }
    // a period without a catalog keeps the SRE Workbook's windows
    ck_assert_uint_eq(cfg.slos[1].alerting.n_windows, 4);
    ck_assert(fabs(cfg.slos[1].alerting.windows[0].burn_rate - 14.4) < 1e-9);
    slod_cfg_free(&cfg);

    // A window slod does not evaluate: refused at the catalog's own file:line:column.
    char bad[1024];
    snprintf(bad, sizeof(bad), "%s", s_catalog_7d);
    char *p = strstr(bad, "longWindow: 1d");
    memcpy(p, "longWindow: 4h", 14);
    check_util_write_file("test/tmp/slod-win/7d.yaml", bad);
    ck_assert_int_eq(s_load_catalog_cfg(cfg_text, &cfg, &e), -1);
    ck_assert_str_eq(e.file, "test/tmp/slod-win/7d.yaml");
    ck_assert_int_eq(e.line, 9);
    ck_assert_int_eq(e.col, 12);
    ck_assert_msg(strstr(e.msg, "spec.ticket.quick: window 4h is not one slod evaluates") &&
                      strstr(e.msg, "not supported"),
                  "%s", e.msg);
    slod_cfg_free(&cfg);
    // Not an AlertWindows document; a second catalog of one period; a pattern matching nothing.
    snprintf(bad, sizeof(bad), "%s", s_catalog_7d);
    memcpy(strstr(bad, "kind: AlertWindows"), "kind: AlertWindowZ", 18);
    check_util_write_file("test/tmp/slod-win/7d.yaml", bad);
    ck_assert_int_eq(s_load_catalog_cfg(cfg_text, &cfg, &e), -1);
    ck_assert_int_eq(e.line, 2);
    ck_assert_msg(strstr(e.msg, "kind \"AlertWindowZ\" is not supported"), "%s", e.msg);
    slod_cfg_free(&cfg);
    check_util_write_file("test/tmp/slod-win/7d.yaml", s_catalog_7d);
    check_util_write_file("test/tmp/slod-win/again.yaml", s_catalog_7d);
    ck_assert_int_eq(s_load_catalog_cfg(cfg_text, &cfg, &e), -1);
    ck_assert_str_eq(e.file, "test/tmp/slod-win/again.yaml");
    ck_assert_msg(strstr(e.msg, "sloPeriod 1w is already defined by test/tmp/slod-win/7d.yaml"),
                  "%s", e.msg);
    slod_cfg_free(&cfg);
    unlink("test/tmp/slod-win/again.yaml");
    unlink("test/tmp/slod-win/7d.yaml");
    rmdir("test/tmp/slod-win");
    ck_assert_int_eq(s_load_catalog_cfg(cfg_text, &cfg, &e), -1);
    ck_assert_int_eq(e.line, 1);
    ck_assert_int_eq(e.col, 23);
    ck_assert_msg(strstr(e.msg, "alert_windows_files: 'test/tmp/slod-win/*.yaml' matches no file"),
                  "%s", e.msg);
    slod_cfg_free(&cfg);
    unlink("test/tmp/slod-w.yml");
}
END_TEST

Suite *
slod_suite(void)
{
    Suite *s = suite_create("slod");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_slod_cfg_load_and_expand);
    tcase_add_test(tc, test_slod_cfg_errors);
    tcase_add_test(tc, test_slod_math);
    tcase_add_test(tc, test_slod_cfg_sloth_spec);
    tcase_add_test(tc, test_slod_cfg_sli_kinds);
    tcase_add_test(tc, test_slod_cfg_alert_window_catalog);
    suite_add_tcase(s, tc);
    return s;
}
