/*  check_slod_eval.c — slod's evaluation over simulated time: exact error ratios, burn
    rates and budget per window, the 5-minute rings and their journal, and the page and
    ticket alerts firing and resolving at the evaluations the arithmetic predicts.

    A fake tsdb answers `sum(rate(bad_total[W]))` and `sum(rate(all_total[W]))` at time t
    exactly from a traffic model: 10 requests/s, with an error ratio that is piecewise
    constant in time, so the rate of errors over [t - W, t] is 10 x (the integral of the
    error ratio) / W. (The real tsdb answers the same queries in test/it/slod.sh.)
*/
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check_util.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "../slod/slod_cfg.h"
#include "../slod/slod_eval.h"
#include "../slod/slod_report.h"

#define S_MINUTE 60000LL
#define S_HOUR (60 * S_MINUTE)
#define S_DAY (24 * S_HOUR)
#define T1 1800000000000LL // the burst starts (a multiple of 5 minutes)

struct s_phase {
    int64_t from_ms;
    double error_ratio;
};

struct s_fake {
    struct s_phase phases[4]; // by from_ms; the first covers everything before
    size_t n;
    size_t calls, range_calls;
    bool fail;
};

// The integral of the error ratio over [a, b] in ms.
static double
s_integral(const struct s_fake *f, int64_t a, int64_t b)
{
    double sum = 0;
    for (size_t i = 0; i < f->n; i++) {
        int64_t lo = i == 0 ? INT64_MIN : f->phases[i].from_ms;
        int64_t hi = i + 1 < f->n ? f->phases[i + 1].from_ms : INT64_MAX;
        int64_t x = a > lo ? a : lo, y = b < hi ? b : hi;
        if (y > x)
            sum += (double)(y - x) * f->phases[i].error_ratio;
    }
    return sum;
}

// The answer at t_ms: one point.
static void
s_point(const struct s_fake *f, const char *expr, int64_t w, int64_t t_ms, struct fw_vector *out)
{
    fw_mem_grow((void **)&out->items, &out->cap, out->len + 1, sizeof(*out->items));
    struct fw_vsample *p = &out->items[out->len++];
    memset(p, 0, sizeof(*p));
    p->t_ms = t_ms;
    p->v = strstr(expr, "bad_total") ? 10 * s_integral(f, t_ms - w, t_ms) / (double)w : 10;
}

static int
s_fake_query(void *arg, const char *expr, int64_t start_ms, int64_t end_ms, int64_t step_ms,
             struct fw_vector *out, fw_err_t *err)
{
    struct s_fake *f = arg;
    fw_vector_clear(out);
    f->calls++;
    f->range_calls += step_ms > 0;
    if (f->fail) {
        fw_err_set(err, "query timed out after 10 ms");
        return -1;
    }
    const char *lb = strchr(expr, '['), *rb = lb ? strchr(lb, ']') : NULL;
    ck_assert_msg(lb && rb, "no range in %s", expr);
    char dur[32];
    snprintf(dur, sizeof(dur), "%.*s", (int)(rb - lb - 1), lb + 1);
    int64_t w = 0;
    ck_assert_int_eq(fw_duration_parse(dur, &w), 0);
    ck_assert_msg(w < S_DAY, "a query over %s: long windows must come from the ring", dur);
    if (step_ms == 0) {
        s_point(f, expr, w, end_ms, out);
        return 0;
    }
    ck_assert_int_eq(w, 300000); // the ring's buckets
    for (int64_t t = start_ms; t <= end_ms; t += step_ms)
        s_point(f, expr, w, t, out);
    return 0;
}

static const char s_cfg[] =
    "evaluation_interval: 30s\n"
    "external_labels: {cluster: eu1, team: ops}\n"
    "slos:\n"
    "  - name: api\n"
    "    service: shop\n"
    "    objective: 99.9\n"
    "    window: 30d\n"
    "    sli:\n"
    "      bad: sum(rate(bad_total[{{.window}}]))\n"
    "      total: sum(rate(all_total[{{.window}}]))\n"
    "    labels: {team: web}\n"
    "    alerting:\n"
    "      annotations:\n"
    "        runbook: \"https://rb/{{ $labels.sloth_service }}/{{$labels.team}}\"\n"
    "      page_alert:\n"
    "        labels:\n"
    "          severity: critical\n"
    "          owner: \"{{ $labels.team | toUpper }}\"\n"
    "        annotations:\n"
    "          ratio: \"{{ $value | humanizePercentage }}\"\n"
    "          broken: \"{{ index $labels 1 }}\"\n"
    "          source: \"{{ $externalURL }}/alerts {{ $externalLabels.cluster }}\"\n";

static const struct fw_series *
s_series(const struct fw_batch *b, const char *name)
{
    for (size_t i = 0; i < b->len; i++) {
        const char *n = fw_labels_get(&b->series[i].labels, "__name__");
        if (n && strcmp(n, name) == 0)
            return &b->series[i];
    }
    return NULL;
}

static double
s_value(const struct fw_batch *b, const char *name)
{
    const struct fw_series *s = s_series(b, name);
    ck_assert_msg(s != NULL, "no series %s", name);
    return s->samples[0].v;
}

#define S_NEAR(a, b)                                                                               \
    ck_assert_msg(fabs((a) - (b)) < 1e-9, "%.12g != %.12g", (double)(a), (double)(b))

static void
s_load(struct slod_cfg *cfg)
{
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(slod_cfg_load("s.yml", s_cfg, cfg, errs), 0);
    free(errs);
}

START_TEST(test_slod_eval_exact_values)
{
    struct slod_cfg cfg;
    s_load(&cfg);
    slod_eval_t *ev = slod_eval_new(&cfg, 0);
    // 0.05% errors for ever: burn 0.5 everywhere, half the budget left.
    struct s_fake f = {.phases = {{0, 0.0005}}, .n = 1};
    struct slod_eval_result res;
    size_t failed[1] = {9};
    slod_eval_run(ev, T1, s_fake_query, &f, &res, failed);
    ck_assert_uint_eq(failed[0], 0);
    // The newest bucket (an instant pair), the other 8639 buckets of 30 days (one range
    // pair), the 5 minutes since the newest bucket (a pair), then 5 short windows (2 each).
    ck_assert_uint_eq(f.calls, 2 + 2 + 2 + 10);
    ck_assert_uint_eq(f.range_calls, 2);
    static const char *const names[] = {
        "slo:sli_error:ratio_rate5m", "slo:sli_error:ratio_rate30m", "slo:sli_error:ratio_rate1h",
        "slo:sli_error:ratio_rate2h", "slo:sli_error:ratio_rate6h",  "slo:sli_error:ratio_rate1d",
        "slo:sli_error:ratio_rate3d", "slo:sli_error:ratio_rate30d"};
    for (size_t i = 0; i < 8; i++)
        S_NEAR(s_value(res.batch, names[i]), 0.0005);
    const struct fw_series *s = s_series(res.batch, "slo:sli_error:ratio_rate30d");
    ck_assert_str_eq(fw_labels_get(&s->labels, "sloth_window"), "30d");
    ck_assert_str_eq(fw_labels_get(&s->labels, "sloth_id"), "shop-api");
    ck_assert_str_eq(fw_labels_get(&s->labels, "sloth_service"), "shop");
    ck_assert_str_eq(fw_labels_get(&s->labels, "sloth_slo"), "api");
    ck_assert_str_eq(fw_labels_get(&s->labels, "team"), "web");
    S_NEAR(s_value(res.batch, "slo:current_burn_rate:ratio"), 0.5);
    S_NEAR(s_value(res.batch, "slo:period_burn_rate:ratio"), 0.5);
    S_NEAR(s_value(res.batch, "slo:period_error_budget_remaining:ratio"), 0.5);
    S_NEAR(s_value(res.batch, "slo:period_error_budget_consumed:ratio"), 0.5);
    S_NEAR(s_value(res.batch, "slo:objective:ratio"), 0.999);
    S_NEAR(s_value(res.batch, "slo:error_budget:ratio"), 0.001);
    S_NEAR(s_value(res.batch, "slo:time_period:days"), 30);
    S_NEAR(s_value(res.batch, "sloth_slo_info"), 1);
    ck_assert_uint_eq(slod_eval_status(ev, 0)->period_buckets, 8640);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    slod_eval_result_clear(&res);

    // The next evaluation in the same 5 minutes asks only for the short windows and the
    // span since the newest bucket: the cost of the 30-day window is gone.
    f.calls = 0;
    slod_eval_run(ev, T1 + 30000, s_fake_query, &f, &res, NULL);
    ck_assert_uint_eq(f.calls, 2 + 10);
    slod_eval_result_clear(&res);

    // The report's JSON carries the same values.
    json_t *j = slod_report_json(&cfg, ev);
    json_t *o = json_array_get(json_object_get(j, "slos"), 0);
    S_NEAR(json_real_value(json_object_get(o, "errorBudgetRemaining")), 0.5);
    S_NEAR(json_real_value(json_object_get(o, "sli")), 0.9995);
    json_t *w = json_object_get(json_object_get(o, "windows"), "3d");
    S_NEAR(json_real_value(json_object_get(w, "burnRate")), 0.5);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(o, "alerts"), "page")),
                     "inactive");
    json_decref(j);
    slod_eval_destroy(&ev);
    slod_cfg_free(&cfg);
}
END_TEST

// Run evaluations every 30 s from `from` to `to` (inclusive); return the first time the
// severity's firing state differs from `was`, or 0.
static int64_t
s_until_change(slod_eval_t *ev, struct s_fake *f, int sev, bool was, int64_t from, int64_t to,
               json_t **alerts)
{
    for (int64_t t = from; t <= to; t += 30000) {
        struct slod_eval_result res;
        slod_eval_run(ev, t, s_fake_query, f, &res, NULL);
        bool now = slod_eval_firing(ev, 0, sev);
        if (now != was) {
            if (alerts)
                *alerts = json_incref(res.alerts);
            slod_eval_result_clear(&res);
            return t;
        }
        slod_eval_result_clear(&res);
    }
    return 0;
}

static json_t *
s_find_alert(json_t *alerts, const char *sloth_severity)
{
    for (size_t i = 0; i < json_array_size(alerts); i++) {
        json_t *l = json_object_get(json_array_get(alerts, i), "labels");
        if (strcmp(json_string_value(json_object_get(l, "sloth_severity")), sloth_severity) == 0)
            return json_array_get(alerts, i);
    }
    return NULL;
}

START_TEST(test_slod_eval_alerts_fire_and_resolve_on_time)
{
    struct slod_cfg cfg;
    s_load(&cfg);
    cfg.external_url = "http://prom.example:9090";
    slod_eval_t *ev = slod_eval_new(&cfg, 0);
    // 0.05% errors, then 2% (burn 20) for two hours from T1, then 0.05% again.
    const int64_t t2 = T1 + 2 * S_HOUR;
    struct s_fake f = {.phases = {{0, 0.0005}, {T1, 0.02}, {t2, 0.0005}}, .n = 3};

    // Page, fast pair: 5m and 1h above 14.4 x 0.001. The 1h window needs 71.28% of its
    // hour in the burst: (0.0144 - 0.0005) / 0.0195 x 3600 s = 2566.2 s.
    json_t *alerts = NULL;
    int64_t t = s_until_change(ev, &f, SLOD_PAGE, false, T1, T1 + 3 * S_HOUR, &alerts);
    ck_assert_int_eq(t - T1, 2580000);
    json_t *a = s_find_alert(alerts, "page");
    ck_assert_ptr_nonnull(a);
    json_t *l = json_object_get(a, "labels");
    ck_assert_str_eq(json_string_value(json_object_get(l, "severity")), "critical");
    ck_assert_str_eq(json_string_value(json_object_get(l, "alertname")), "SLOBurnRateHigh");
    ck_assert_str_eq(json_string_value(json_object_get(l, "sloth_id")), "shop-api");
    ck_assert_str_eq(json_string_value(json_object_get(l, "team")), "web");
    // Label and annotation templates expanded as Prometheus does for the generated rules:
    // $labels of the result series, $value the 5m error ratio (all of it in the 2% burst).
    ck_assert_str_eq(json_string_value(json_object_get(l, "owner")), "WEB");
    json_t *ann = json_object_get(a, "annotations");
    ck_assert_str_eq(json_string_value(json_object_get(ann, "runbook")), "https://rb/shop/web");
    ck_assert_str_eq(json_string_value(json_object_get(ann, "ratio")), "2%");
    // $externalURL (--web.external-url) and $externalLabels (external_labels); external
    // labels the alert lacks are added to it, the SLO's own team=web stays.
    ck_assert_str_eq(json_string_value(json_object_get(ann, "source")),
                     "http://prom.example:9090/alerts eu1");
    ck_assert_str_eq(json_string_value(json_object_get(l, "cluster")), "eu1");
    // one that fails at run time is logged and the alert still goes out, with the error
    const char *broken = json_string_value(json_object_get(ann, "broken"));
    ck_assert_msg(strstr(broken, "<error expanding template: error executing template "
                                 "__alert_SLOBurnRateHigh:") == broken,
                  "%s", broken);
    ck_assert_str_eq(json_string_value(json_object_get(ann, "summary")),
                     "shop api SLO error budget burn rate is over expected.");
    char b1[40];
    ck_assert_str_eq(json_string_value(json_object_get(a, "startsAt")),
                     fw_time_rfc3339(t, b1, sizeof(b1)));
    json_decref(alerts);
    ck_assert(!slod_eval_firing(ev, 0, SLOD_TICKET));

    // Ticket, slow pair: 6h and 3d above 1 x 0.001. The 3d window needs 6646.2 s of burst.
    // It comes from the ring up to its newest bucket (the last 5-minute boundary at least a
    // minute old) and from a query over the span since: it ends now, so the ticket fires at
    // the first evaluation past T1 + 6646.2 s (the ring alone waited for T1 + 6960 s).
    t = s_until_change(ev, &f, SLOD_TICKET, false, t + 30000, T1 + 3 * S_HOUR, &alerts);
    ck_assert_int_eq(t - T1, 6660000);
    a = s_find_alert(alerts, "ticket");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(a, "labels"), "severity")),
                     "ticket");
    json_decref(alerts);

    // The page resolves when the slow page pair clears too: 30m falls under 6 x 0.001 once
    // under 28.2% of it is burst, 1292.3 s after the burst ends.
    t = s_until_change(ev, &f, SLOD_PAGE, true, t + 30000, t2 + 2 * S_HOUR, &alerts);
    ck_assert_int_eq(t - t2, 1320000);
    a = s_find_alert(alerts, "page");
    ck_assert_str_eq(json_string_value(json_object_get(a, "endsAt")),
                     fw_time_rfc3339(t, b1, sizeof(b1)));
    json_decref(alerts);

    // The ticket resolves when the 6h window holds under 554.6 s of burst.
    t = s_until_change(ev, &f, SLOD_TICKET, true, t + 30000, t2 + 7 * S_HOUR, NULL);
    ck_assert_int_eq(t - t2, 21060000);

    // Exact budget now: 30 days with 2 h at 2% and the rest at 0.05% (the ring ends 60 s
    // to 5 min back, all of it in the quiet phase).
    struct slod_eval_result res;
    slod_eval_run(ev, t, s_fake_query, &f, &res, NULL);
    double want = (0.0005 * (30 * S_DAY - 2 * S_HOUR) + 0.02 * 2 * S_HOUR) / (30 * S_DAY);
    S_NEAR(s_value(res.batch, "slo:sli_error:ratio_rate30d"), want);
    S_NEAR(s_value(res.batch, "slo:period_error_budget_remaining:ratio"), 1 - want / 0.001);
    slod_eval_result_clear(&res);
    slod_eval_destroy(&ev);
    slod_cfg_free(&cfg);
}
END_TEST

START_TEST(test_slod_eval_ring_journal_and_backfill_budget)
{
    char dir[256];
    check_util_tmpdir_new(dir, sizeof(dir), "slod");
    struct slod_cfg cfg;
    s_load(&cfg);
    struct s_fake f = {.phases = {{0, 0.0005}}, .n = 1};
    struct slod_eval_result res;

    // A budget of 100 buckets per evaluation: the newest and 100 more.
    slod_eval_t *ev = slod_eval_new(&cfg, 100);
    fw_err_t err = {0};
    ck_assert_int_eq(slod_eval_open_journal(ev, dir, &err), 0);
    slod_eval_run(ev, T1, s_fake_query, &f, &res, NULL);
    ck_assert_uint_eq(f.calls, 2 + 2 + 2 + 10);
    ck_assert_uint_eq(slod_eval_status(ev, 0)->period_buckets, 101);
    slod_eval_result_clear(&res);
    slod_eval_destroy(&ev);

    // Restarted: the journal gives the 101 buckets back; nothing is asked again for them.
    ev = slod_eval_new(&cfg, 100);
    ck_assert_int_eq(slod_eval_open_journal(ev, dir, &err), 0);
    f.calls = f.range_calls = 0;
    slod_eval_run(ev, T1, s_fake_query, &f, &res, NULL);
    ck_assert_uint_eq(f.calls, 2 + 2 + 10);
    ck_assert_uint_eq(f.range_calls, 2);
    ck_assert_uint_eq(slod_eval_status(ev, 0)->period_buckets, 201);
    slod_eval_result_clear(&res);

    // A reload keeps the ring (same queries) and the journal, without rewriting it on the
    // loop (the same file: a compaction renames a new one into place).
    char path[300];
    snprintf(path, sizeof(path), "%s/slod.ring", dir);
    struct stat st0, st1;
    ck_assert_int_eq(stat(path, &st0), 0);
    struct slod_cfg cfg2;
    s_load(&cfg2);
    slod_eval_t *ev2 = slod_eval_new(&cfg2, 100);
    slod_eval_take_state(ev2, ev);
    ck_assert_int_eq(stat(path, &st1), 0);
    ck_assert_uint_eq(st0.st_ino, st1.st_ino);
    slod_eval_destroy(&ev);
    f.calls = 0;
    f.fail = true; // no query answers: the ring still gives the long windows
    slod_eval_run(ev2, T1, s_fake_query, &f, &res, NULL);
    ck_assert_uint_eq(f.calls, 1); // the first timeout stops the rest
    ck_assert_uint_eq(slod_eval_status(ev2, 0)->period_buckets, 201);
    // without the span since the newest bucket, the long windows end at that bucket
    S_NEAR(s_value(res.batch, "slo:sli_error:ratio_rate1d"), 0.0005);
    slod_eval_result_clear(&res);
    slod_eval_destroy(&ev2);
    slod_cfg_free(&cfg2);

    // A torn line at the end of the journal is skipped.
    FILE *fp = fopen(path, "a");
    fputs("deadbeef 18000", fp);
    fclose(fp);
    ev = slod_eval_new(&cfg, 1);
    slod_eval_load_journal(ev, dir);
    f.fail = false;
    f.calls = 0;
    slod_eval_run(ev, T1, s_fake_query, &f, &res, NULL);
    ck_assert_uint_eq(slod_eval_status(ev, 0)->period_buckets, 202);
    slod_eval_result_clear(&res);
    slod_eval_destroy(&ev);
    slod_cfg_free(&cfg);
    ck_assert_int_eq(check_util_tmpdir_remove(dir), 0);
}
END_TEST

// The long windows end at the evaluation, not at the ring's newest bucket: the span since
// that bucket comes from one query pair, and as much of the oldest bucket is dropped.
START_TEST(test_slod_eval_long_windows_end_now)
{
    struct slod_cfg cfg;
    s_load(&cfg);
    slod_eval_t *ev = slod_eval_new(&cfg, 0);
    // 0.05% errors until T1, 2% after. At T1 + 150 s the newest bucket ends at T1 (150 s
    // back): 150 s of burst in every long window.
    struct s_fake f = {.phases = {{0, 0.0005}, {T1, 0.02}}, .n = 2};
    struct slod_eval_result res;
    slod_eval_run(ev, T1 + 150000, s_fake_query, &f, &res, NULL);
    static const struct {
        const char *name;
        double window_s;
    } w[] = {{"slo:sli_error:ratio_rate1d", 86400},
             {"slo:sli_error:ratio_rate3d", 259200},
             {"slo:sli_error:ratio_rate30d", 2592000}};
    for (size_t i = 0; i < 3; i++)
        S_NEAR(s_value(res.batch, w[i].name),
               (0.0005 * (w[i].window_s - 150) + 0.02 * 150) / w[i].window_s);
    slod_eval_result_clear(&res);
    // 4 min 50 s later (T1 + 440 s) the newest bucket ends at T1 + 300 s; 440 s of burst.
    slod_eval_run(ev, T1 + 440000, s_fake_query, &f, &res, NULL);
    S_NEAR(s_value(res.batch, "slo:sli_error:ratio_rate1d"),
           (0.0005 * (86400 - 440) + 0.02 * 440) / 86400);
    slod_eval_result_clear(&res);
    slod_eval_destroy(&ev);
    slod_cfg_free(&cfg);
}
END_TEST

Suite *
slod_eval_suite(void)
{
    Suite *s = suite_create("slod_eval");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_slod_eval_exact_values);
    tcase_add_test(tc, test_slod_eval_alerts_fire_and_resolve_on_time);
    tcase_add_test(tc, test_slod_eval_long_windows_end_now);
    tcase_add_test(tc, test_slod_eval_ring_journal_and_backfill_budget);
    suite_add_tcase(s, tc);
    return s;
}
