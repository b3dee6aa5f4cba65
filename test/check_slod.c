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
                                 "    alerting: {page: true}\n";

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
    ck_assert(s->alerting.page);
    ck_assert(fabs(s->alerting.burn_rate - 14.4) < 1e-12);
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
    ck_assert_str_eq(cfg.slos[0].name, "tsdb-query-availability");
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
    s_expect_error(buf, "'monthly' is not a positive duration", 4, 13);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli:\n      good: sum(rate(x[{{.window}}])\n      total: y\n",
             head);
    s_expect_error(buf, "could not parse SLI query", 6, 13);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli: {good: x}\n",
             head);
    s_expect_error(buf, "'total' is required", 5, 10);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli: {good: x, total: y}\n    labels: {slo: z}\n",
             head);
    s_expect_error(buf, "label 'slo' is set by slod", 2, 5);
    snprintf(buf, sizeof(buf),
             "%s    objective: 99\n    window: 30d\n"
             "    sli: {good: x, total: y}\n  - name: a\n    objective: 99\n    window: 1d\n"
             "    sli: {good: x, total: y}\n",
             head);
    s_expect_error(buf, "slo \"a\" is defined twice", 6, 5);
    s_expect_error("slos:\n  - name: a\n    objectiv: 9\n", "unknown key 'objectiv'", 3, 5);
}
END_TEST

START_TEST(test_slod_math)
{
    double sli = 0;
    ck_assert(slod_eval_sli(995, 1000, &sli));
    ck_assert(fabs(sli - 0.995) < 1e-12);
    ck_assert(!slod_eval_sli(0, 0, &sli));
    ck_assert(!slod_eval_sli(1, NAN, &sli));
    // 99.5% objective: an error rate of 0.5% burns at exactly 1x; 7.2% at 14.4x.
    ck_assert(fabs(slod_eval_burn_rate(0.995, 99.5) - 1.0) < 1e-9);
    ck_assert(fabs(slod_eval_burn_rate(0.928, 99.5) - 14.4) < 1e-9);
    ck_assert(fabs(slod_eval_burn_rate(1.0, 99.5)) < 1e-12);
    // Budget: 0.25% errors spent half of a 0.5% budget.
    ck_assert(fabs(slod_eval_budget_remaining(0.9975, 99.5) - 0.5) < 1e-9);
    ck_assert(slod_eval_budget_remaining(0.99, 99.5) < 0); // overspent
}
END_TEST

// Fake tsdb: answers per window (the text inside [...]) with good/total from a table.
struct s_fake {
    double good[4], total[4]; // 5m, 1h, 6h, 30d
    bool empty[4];
    bool fail;
    int calls;
};

static int
s_fake_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    struct s_fake *f = arg;
    fw_vector_clear(out);
    f->calls++;
    if (f->fail) {
        fw_err_set(err, "query timed out after 10 ms");
        return -1;
    }
    static const char *const w[4] = {"[5m]", "[1h]", "[6h]", "[30d]"};
    size_t i = 0;
    while (i < 4 && !strstr(expr, w[i]))
        i++;
    ck_assert_msg(i < 4, "unexpected window in %s", expr);
    if (f->empty[i])
        return 0;
    bool good = strstr(expr, "good_total") != NULL;
    fw_mem_grow((void **)&out->items, &out->cap, 1, sizeof(*out->items));
    memset(&out->items[0], 0, sizeof(out->items[0]));
    out->items[0].t_ms = t_ms;
    out->items[0].v = good ? f->good[i] : f->total[i];
    out->len = 1;
    return 0;
}

static const struct fw_series *
s_series(const struct fw_batch *b, const char *name, const char *window)
{
    for (size_t i = 0; i < b->len; i++) {
        const char *n = fw_labels_get(&b->series[i].labels, "__name__");
        const char *w = fw_labels_get(&b->series[i].labels, "window");
        if (n && strcmp(n, name) == 0 &&
            ((!window && !w) || (window && w && strcmp(w, window) == 0)))
            return &b->series[i];
    }
    return NULL;
}

static double
s_value(const struct fw_batch *b, const char *name, const char *window)
{
    const struct fw_series *s = s_series(b, name, window);
    ck_assert_msg(s != NULL, "no series %s{window=%s}", name, window ? window : "");
    return s->samples[0].v;
}

START_TEST(test_slod_eval_series_and_page)
{
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_cfg_load("s.yml", s_cfg_text, &cfg, errs), 0);
    slod_eval_t *ev = slod_eval_new(&cfg);
    // Healthy: 0.1% errors everywhere; 6h has no traffic (no sample for it).
    struct s_fake f = {.good = {999, 999, 0, 9990}, .total = {1000, 1000, 0, 10000}};
    struct slod_eval_result res;
    size_t failed[1] = {0};
    slod_eval_run(ev, T0, s_fake_query, &f, &res, failed);
    ck_assert_int_eq(f.calls, 8);
    ck_assert(fabs(s_value(res.batch, "slo:sli_ratio", "5m") - 0.999) < 1e-9);
    ck_assert(fabs(s_value(res.batch, "slo:burn_rate", "1h") - 0.2) < 1e-9);
    ck_assert_ptr_null(s_series(res.batch, "slo:sli_ratio", "6h"));
    ck_assert(fabs(s_value(res.batch, "slo:sli_ratio", "30d") - 0.999) < 1e-9);
    ck_assert(fabs(s_value(res.batch, "slo:error_budget_remaining:ratio", NULL) - 0.8) < 1e-9);
    ck_assert(fabs(s_value(res.batch, "slo:objective:ratio", NULL) - 0.995) < 1e-12);
    const struct fw_series *s = s_series(res.batch, "slo:burn_rate", "5m");
    ck_assert_str_eq(fw_labels_get(&s->labels, "slo"), "api");
    ck_assert_str_eq(fw_labels_get(&s->labels, "service"), "tsdb");
    ck_assert_str_eq(fw_labels_get(&s->labels, "team"), "sre");
    ck_assert_int_eq(s->samples[0].t_ms, T0);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    ck_assert_uint_eq(failed[0], 0);
    slod_eval_result_clear(&res);

    // Only the 1h window burns fast: no page (both windows must agree).
    f.good[1] = 900;
    slod_eval_run(ev, T0 + 30000, s_fake_query, &f, &res, failed);
    ck_assert(s_value(res.batch, "slo:burn_rate", "1h") > 14.4);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    slod_eval_result_clear(&res);

    // 1h and 5m both above 14.4x: page.
    f.good[0] = 900;
    slod_eval_run(ev, T0 + 60000, s_fake_query, &f, &res, failed);
    ck_assert(slod_eval_firing(ev, 0));
    ck_assert_uint_eq(json_array_size(res.alerts), 1);
    json_t *a = json_array_get(res.alerts, 0);
    json_t *labels = json_object_get(a, "labels");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "alertname")), "SLOBurnRateHigh");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "severity")), "page");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "slo")), "api");
    ck_assert_str_eq(json_string_value(json_object_get(labels, "service")), "tsdb");
    char b1[40], b2[40];
    ck_assert_str_eq(json_string_value(json_object_get(a, "startsAt")),
                     fw_time_rfc3339(T0 + 60000, b1, sizeof(b1)));
    ck_assert_str_eq(json_string_value(json_object_get(a, "endsAt")),
                     fw_time_rfc3339(T0 + 60000 + 240000, b2, sizeof(b2)));
    slod_eval_result_clear(&res);

    // Queries fail: the page stays as it was, failures are counted.
    f.fail = true;
    int calls = f.calls;
    slod_eval_run(ev, T0 + 90000, s_fake_query, &f, &res, failed);
    ck_assert(slod_eval_firing(ev, 0));
    ck_assert_uint_eq(failed[0], 4);
    ck_assert_int_eq(f.calls, calls + 1); // a timeout stops the other queries
    slod_eval_result_clear(&res);

    // 5m recovers: resolved, sent with endsAt = now.
    f.fail = false;
    f.good[0] = 999;
    slod_eval_run(ev, T0 + 120000, s_fake_query, &f, &res, failed);
    ck_assert(!slod_eval_firing(ev, 0));
    ck_assert_uint_eq(json_array_size(res.alerts), 1);
    a = json_array_get(res.alerts, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "endsAt")),
                     fw_time_rfc3339(T0 + 120000, b1, sizeof(b1)));
    slod_eval_result_clear(&res);
    // ... and no longer after 15 minutes.
    slod_eval_run(ev, T0 + 120000 + 16 * 60000, s_fake_query, &f, &res, failed);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    slod_eval_result_clear(&res);

    slod_eval_destroy(&ev);
    slod_cfg_free(&cfg);
    free(errs);
}
END_TEST

START_TEST(test_slod_eval_window_dedup_and_state_reload)
{
    static const char text[] = "slos:\n  - name: api\n    objective: 99\n    window: 1h\n"
                               "    sli: {good: 'sum(rate(good_total[{{.window}}]))', "
                               "total: 'sum(rate(all_total[{{.window}}]))'}\n"
                               "    alerting: {page: true, burn_rate: 2}\n";
    struct slod_cfg cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_cfg_load("s.yml", text, &cfg, errs), 0);
    slod_eval_t *ev = slod_eval_new(&cfg);
    struct s_fake f = {.good = {90, 90, 90, 0}, .total = {100, 100, 100, 0}};
    struct slod_eval_result res;
    slod_eval_run(ev, T0, s_fake_query, &f, &res, NULL);
    ck_assert_int_eq(f.calls, 6); // 5m, 1h, 6h; the SLO window is 1h, queried once
    ck_assert(fabs(s_value(res.batch, "slo:error_budget_remaining:ratio", NULL) + 9) < 1e-9);
    ck_assert(slod_eval_firing(ev, 0)); // 10x > 2 on both windows
    slod_eval_result_clear(&res);

    slod_eval_t *ev2 = slod_eval_new(&cfg);
    slod_eval_take_state(ev2, ev);
    ck_assert(slod_eval_firing(ev2, 0));
    slod_eval_destroy(&ev2);
    slod_eval_destroy(&ev);
    slod_cfg_free(&cfg);
    free(errs);
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
    tcase_add_test(tc, test_slod_eval_series_and_page);
    tcase_add_test(tc, test_slod_eval_window_dedup_and_state_reload);
    suite_add_tcase(s, tc);
    return s;
}
