/*  check_ruled_damp.c — flap damping (ruled/ruled_damp.c and its use in ruled_group.c).

    A fake query function answers the fire expression (`temp > 80`) and the clear
    expression (`temp < 70`) from one temperature per instance that each test steps
    through, so a value hovering around its threshold can be played evaluation by
    evaluation. Each case counts the transitions ruled would notify: an alert sent as
    firing after one sent as resolved (or first), and one sent as resolved.
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_time.h"
#include "../ruled/ruled_damp.h"
#include "../ruled/ruled_group.h"

Suite *ruled_damp_suite(void);

#define T0 1800000000000LL

struct s_temps {
    double temp[2]; // instances a and b
    size_t n;
    bool clear_fails;
};

static void
s_add(struct fw_vector *out, const char *name, const char *inst, double v, int64_t t)
{
    fw_mem_grow((void **)&out->items, &out->cap, out->len + 1, sizeof(*out->items));
    struct fw_vsample *s = &out->items[out->len++];
    memset(s, 0, sizeof(*s));
    fw_labels_set(&s->labels, "__name__", name);
    fw_labels_set(&s->labels, "instance", inst);
    s->t_ms = t;
    s->v = v;
}

static int
s_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    struct s_temps *f = arg;
    static const char *const inst[] = {"a", "b"};
    fw_vector_clear(out);
    bool fire = strcmp(expr, "temp > 80") == 0, clear = strcmp(expr, "temp < 70") == 0;
    if (clear && f->clear_fails) {
        fw_err_set(err, "query timed out after 10 ms");
        return -1;
    }
    for (size_t i = 0; i < f->n; i++)
        if ((fire && f->temp[i] > 80) || (clear && f->temp[i] < 70))
            s_add(out, "temp", inst[i], f->temp[i], t_ms);
    return 0;
}

struct s_count {
    int fired, resolved;
    bool firing; // as last notified
};

// Evaluate at t and count what changed in what ruled sends to alertd for instance a.
static void
s_step(ruled_group_t *g, int64_t t, struct s_temps *f, struct s_count *c)
{
    struct ruled_group_result res;
    ruled_group_eval(g, t, s_query, f, &res);
    char now[40];
    fw_time_rfc3339(t, now, sizeof(now));
    bool firing = false, resolved_now = false;
    for (size_t i = 0; i < json_array_size(res.alerts); i++) {
        json_t *a = json_array_get(res.alerts, i);
        const char *ends = json_string_value(json_object_get(a, "endsAt"));
        if (strcmp(ends, now) == 0)
            resolved_now = true;
        else if (strcmp(ends, now) > 0)
            firing = true;
    }
    if (firing && !c->firing)
        c->fired++;
    if (resolved_now && c->firing)
        c->resolved++;
    c->firing = firing;
    ruled_group_result_clear(&res);
}

struct s_fix {
    struct ruled_rulefile rf;
    ruled_group_t *g;
};

static void
s_load(struct s_fix *fx, const char *annotations)
{
    char *text = fw_asprintf("groups:\n"
                             "  - name: g\n"
                             "    interval: 10s\n"
                             "    rules:\n"
                             "      - alert: Hot\n"
                             "        expr: temp > 80\n"
                             "        annotations:\n"
                             "          summary: 'hot'\n"
                             "%s",
                             annotations);
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    int rc = ruled_rules_load("r.yml", text, &fx->rf, errs);
    ck_assert_msg(rc == 0, "%s", errs->len ? errs->items[0].msg : "?");
    free(errs);
    free(text);
    struct ruled_group_env env = {NULL, "http://prom:9090", 10000, 0, 0};
    fx->g = ruled_group_new("r.yml", &fx->rf.groups[0], &env);
}

static void
s_unload(struct s_fix *fx)
{
    ruled_group_destroy(&fx->g);
    ruled_rules_free(&fx->rf);
}

// 85 79 82 75 81 78 65 64: around 80 until it drops below 70.
static const double s_hover[] = {85, 79, 82, 75, 81, 78, 65, 64};
#define S_HOVER (sizeof(s_hover) / sizeof(s_hover[0]))

static struct s_count
s_play(const char *annotations)
{
    struct s_fix fx;
    s_load(&fx, annotations);
    struct s_temps f = {.n = 1};
    struct s_count c = {0};
    for (size_t i = 0; i < S_HOVER; i++) {
        f.temp[0] = s_hover[i];
        s_step(fx.g, T0 + (int64_t)i * 10000, &f, &c);
    }
    s_unload(&fx);
    return c;
}

START_TEST(test_ruled_damp_hysteresis_one_pair)
{
    // Prometheus's semantics: the hovering value fires and resolves three times.
    struct s_count plain = s_play("");
    ck_assert_int_eq(plain.fired, 3);
    ck_assert_int_eq(plain.resolved, 3);
    // With a clear condition below 70: one firing at 85, one resolution at 65.
    struct s_count damped = s_play("          floorwatch_clear: temp < 70\n");
    ck_assert_int_eq(damped.fired, 1);
    ck_assert_int_eq(damped.resolved, 1);
}
END_TEST

START_TEST(test_ruled_damp_hold)
{
    // Firing at t0, gone at t10: held until 30s after firing, resolved at t30.
    struct s_fix fx;
    s_load(&fx, "          floorwatch_hold: 30s\n");
    struct s_temps f = {.n = 1, .temp = {85}};
    struct s_count c = {0};
    s_step(fx.g, T0, &f, &c);
    f.temp[0] = 60;
    s_step(fx.g, T0 + 10000, &f, &c);
    s_step(fx.g, T0 + 20000, &f, &c);
    ck_assert_int_eq(c.resolved, 0);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.g, RULED_ALERT_FIRING), 1);
    s_step(fx.g, T0 + 30000, &f, &c);
    ck_assert_int_eq(c.fired, 1);
    ck_assert_int_eq(c.resolved, 1);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.g, RULED_ALERT_FIRING), 0);
    s_unload(&fx);
}
END_TEST

START_TEST(test_ruled_damp_per_alert_and_failed_clear)
{
    // Two instances: the clear answer for b does not clear a. A failing clear query keeps
    // the alert firing and shows the error in the rule's health.
    struct s_fix fx;
    s_load(&fx, "          floorwatch_clear: temp < 70\n");
    struct s_temps f = {.n = 2, .temp = {85, 90}};
    struct s_count c = {0};
    s_step(fx.g, T0, &f, &c);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.g, RULED_ALERT_FIRING), 2);
    f.temp[0] = 75, f.temp[1] = 60;
    s_step(fx.g, T0 + 10000, &f, &c);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.g, RULED_ALERT_FIRING), 1); // a held
    f.temp[0] = 60, f.clear_fails = true;
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval(fx.g, T0 + 20000, s_query, &f, &res), 1);
    ruled_group_result_clear(&res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.g, RULED_ALERT_FIRING), 1);
    json_t *rules = ruled_group_rules_json(fx.g);
    json_t *r0 = json_array_get(json_object_get(rules, "rules"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(r0, "health")), "err");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r0, "lastError")),
                                 "floorwatch_clear: query timed out"));
    json_decref(rules);
    f.clear_fails = false;
    s_step(fx.g, T0 + 30000, &f, &c);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.g, RULED_ALERT_FIRING), 0);
    s_unload(&fx);
}
END_TEST

START_TEST(test_ruled_damp_cleared_subset)
{
    struct fw_vector v = {0};
    s_add(&v, "temp", "a", 1, 0);
    struct fw_labels al = FW_LABELS_INIT;
    fw_labels_set(&al, "alertname", "Hot");
    fw_labels_set(&al, "instance", "a");
    fw_labels_set(&al, "severity", "page");
    ck_assert(ruled_damp_cleared(&v, &al));
    fw_labels_set(&al, "instance", "b");
    ck_assert(!ruled_damp_cleared(&v, &al));
    fw_vector_clear(&v);
    s_add(&v, "x", "b", 1, 0);
    fw_labels_del(&v.items[0].labels, "instance"); // no labels: clears every alert
    ck_assert(ruled_damp_cleared(&v, &al));
    ck_assert(!ruled_damp_cleared(NULL, &al));
    fw_vector_clear(&v);
    fw_labels_clear(&al);
}
END_TEST

static void
s_refused(const char *annotation, const char *want)
{
    char *text = fw_asprintf("groups:\n  - name: g\n    rules:\n"
                             "      - alert: Hot\n        expr: temp > 80\n"
                             "        annotations:\n          %s\n",
                             annotation);
    struct ruled_rulefile rf;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load("r.yml", text, &rf, errs), -1);
    ck_assert_uint_eq(errs->len, 1);
    ck_assert_msg(strstr(errs->items[0].msg, want), "%s", errs->items[0].msg);
    ck_assert_int_eq(errs->items[0].line, 4);
    ruled_rules_free(&rf);
    free(errs);
    free(text);
}

START_TEST(test_ruled_damp_bad_annotations_refused)
{
    s_refused("floorwatch_clear: 'temp <'", "annotation floorwatch_clear: could not parse");
    s_refused("floorwatch_hold: soon", "floorwatch_hold: \"soon\" is not a positive duration");
    s_refused("floorwatch_hold: 0s", "is not a positive duration");
    s_refused("floorwatch_reset: 5m", "annotation floorwatch_reset: not supported");
}
END_TEST

Suite *
ruled_damp_suite(void)
{
    Suite *s = suite_create("ruled_damp");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ruled_damp_hysteresis_one_pair);
    tcase_add_test(tc, test_ruled_damp_hold);
    tcase_add_test(tc, test_ruled_damp_per_alert_and_failed_clear);
    tcase_add_test(tc, test_ruled_damp_cleared_subset);
    tcase_add_test(tc, test_ruled_damp_bad_annotations_refused);
    suite_add_tcase(s, tc);
    return s;
}
