/*  check_ruled_state.c — unit tests for ruled's durable alert state: the LMDB store
    (ruled/ruled_state.c) and the group's export/import with Prometheus's for-grace-period
    and outage-tolerance rules (ruled_group_state_export/_import in ruled/ruled_group.c).
    Groups are evaluated through a fake query function at chosen timestamps.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_query.h"
#include "../ruled/ruled_group.h"
#include "../ruled/ruled_state.h"

Suite *ruled_state_suite(void);

#define T0 1800000000000LL

static char s_dir[128];

static void
s_rm_dir(void)
{
    static const char *const files[] = {"data.mdb", "lock.mdb", "other.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char p[200];
        snprintf(p, sizeof p, "%s/%s", s_dir, files[i]);
        unlink(p);
    }
    rmdir(s_dir);
}

static void
s_setup(void)
{
    (void)mkdir("test/tmp", 0755);
    snprintf(s_dir, sizeof s_dir, "test/tmp/ruled-state-%d", (int)getpid());
    s_rm_dir();
}

static ruled_state_t *
s_open(void)
{
    ruled_state_t *st = ruled_state_new();
    fw_err_t err = {0};
    ck_assert_msg(ruled_state_open(st, s_dir, &err) == 0, "open: %s", err.msg);
    return st;
}

START_TEST(test_ruled_state_save_load_replace)
{
    s_setup();
    ruled_state_t *st = s_open();
    struct ruled_state_rec a[] = {{(char *)"0/1", (char *)"one"}, {(char *)"1/2", (char *)"two"}},
                           b[] = {{(char *)"0/1", (char *)"bee"}};
    fw_err_t err = {0};
    ck_assert_int_eq(ruled_state_save(st, "f.yml;g", T0, a, 2, &err), 0);
    ck_assert_int_eq(ruled_state_save(st, "f.yml;g2", T0 + 1, b, 1, &err), 0);
    // "f.yml;g" is a prefix of "f.yml;g2": its records must stay apart.
    ck_assert_int_eq(ruled_state_save(st, "f.yml;g", T0 + 5, a + 1, 1, &err), 0);
    ruled_state_destroy(&st);

    st = s_open(); // survives a close and reopen
    struct ruled_state_rec *recs;
    int64_t at;
    ck_assert_int_eq(ruled_state_load(st, "f.yml;g", &at, &recs, &err), 1);
    ck_assert_int_eq(at, T0 + 5);
    ck_assert_str_eq(recs[0].key, "1/2");
    ck_assert_str_eq(recs[0].val, "two");
    ruled_state_recs_free(recs, 1);
    ck_assert_int_eq(ruled_state_load(st, "f.yml;g2", &at, &recs, &err), 1);
    ck_assert_str_eq(recs[0].val, "bee");
    ruled_state_recs_free(recs, 1);
    ck_assert_int_eq(ruled_state_load(st, "f.yml;none", &at, &recs, &err), 0);
    ck_assert_int_eq(at, 0);
    ruled_state_recs_free(recs, 0);
    ck_assert_int_eq(ruled_state_save(st, "f.yml;g", T0 + 6, NULL, 0, &err), 0);
    ck_assert_int_eq(ruled_state_load(st, "f.yml;g", &at, &recs, &err), 0);
    ck_assert_int_eq(at, T0 + 6);
    ruled_state_recs_free(recs, 0);

    // A second ruled on the same directory is refused.
    ruled_state_t *st2 = ruled_state_new();
    ck_assert_int_eq(ruled_state_open(st2, s_dir, &err), -1);
    ck_assert(strstr(err.msg, "in use by another ruled"));
    ruled_state_destroy(&st2);
    ruled_state_destroy(&st);
    ruled_state_destroy(&st); // twice is fine
    s_rm_dir();
}
END_TEST

START_TEST(test_ruled_state_refuses_foreign_dir)
{
    s_setup();
    (void)mkdir(s_dir, 0755);
    char p[200];
    snprintf(p, sizeof p, "%s/other.txt", s_dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs("x", f);
    fclose(f);
    ruled_state_t *st = ruled_state_new();
    fw_err_t err = {0};
    ck_assert_int_eq(ruled_state_open(st, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "--storage.path"), "%s", err.msg);
    ruled_state_destroy(&st);
    s_rm_dir();
}
END_TEST

// ---- group export / import ----

static int s_for_state_queries; // a restored group must not ask ALERTS_FOR_STATE

struct s_fake {
    size_t n; // series m{instance="a"} = 5 when 1
};

static int
s_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    (void)err;
    struct s_fake *f = arg;
    fw_vector_clear(out);
    if (strstr(expr, "ALERTS_FOR_STATE")) {
        s_for_state_queries++;
        return 0;
    }
    for (size_t i = 0; i < f->n; i++) {
        fw_mem_grow((void **)&out->items, &out->cap, out->len + 1, sizeof(*out->items));
        struct fw_vsample *s = &out->items[out->len++];
        memset(s, 0, sizeof(*s));
        fw_labels_set(&s->labels, "__name__", "m");
        fw_labels_set(&s->labels, "instance", "a");
        s->t_ms = t_ms;
        s->v = 5;
    }
    return 0;
}

static const char s_rules[] = "groups:\n"
                              "  - name: g\n"
                              "    interval: 10s\n"
                              "    rules:\n"
                              "      - alert: Short\n"
                              "        expr: m > 1\n"
                              "        for: 10s\n"
                              "      - alert: Long\n"
                              "        expr: m > 1\n"
                              "        for: 30m\n";

struct s_fx {
    struct ruled_rulefile rf;
    ruled_group_t *g;
};

static void
s_fx_new(struct s_fx *fx)
{
    memset(fx, 0, sizeof(*fx));
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load("r.yml", s_rules, &fx->rf, errs), 0);
    free(errs);
    struct ruled_group_env env = {NULL, "http://prom:9090", 60000, 0, 0};
    fx->g = ruled_group_new("r.yml", &fx->rf.groups[0], &env);
}

static void
s_fx_free(struct s_fx *fx)
{
    ruled_group_destroy(&fx->g);
    ruled_rules_free(&fx->rf);
}

static void
s_eval(struct s_fx *fx, int64_t t, size_t n, json_t **alerts)
{
    struct s_fake f = {n};
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval(fx->g, t, s_query, &f, &res), 0);
    if (alerts)
        *alerts = json_incref(res.alerts);
    ruled_group_result_clear(&res);
}

// A group restored from fx's export, saved at saved_at and restored at now.
static size_t
s_restart(struct s_fx *fx, struct s_fx *nx, int64_t saved_at, int64_t now)
{
    size_t n;
    struct ruled_state_rec *recs = ruled_group_state_export(fx->g, &n);
    s_fx_new(nx);
    size_t r = ruled_group_state_import(nx->g, recs, n, saved_at, now);
    ruled_state_recs_free(recs, n);
    return r;
}

static const char *
s_active_at(ruled_group_t *g, const char *name)
{
    static char buf[64];
    json_t *arr = json_array();
    ruled_group_alerts_json(g, arr);
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *a = json_array_get(arr, i);
        if (strcmp(json_string_value(json_object_get(json_object_get(a, "labels"), "alertname")),
                   name) == 0)
            snprintf(buf, sizeof buf, "%s/%s", json_string_value(json_object_get(a, "state")),
                     json_string_value(json_object_get(a, "activeAt")));
    }
    json_decref(arr);
    return buf;
}

START_TEST(test_ruled_state_firing_survives_and_resolves)
{
    struct s_fx fx, nx;
    s_fx_new(&fx);
    s_eval(&fx, T0, 1, NULL);
    s_eval(&fx, T0 + 10000, 1, NULL); // Short fires; Long pending
    ck_assert_uint_eq(ruled_group_count_alerts(fx.g, RULED_ALERT_FIRING), 1);
    char want[64];
    snprintf(want, sizeof want, "%s", s_active_at(fx.g, "Short"));
    ck_assert(strncmp(want, "firing/", 7) == 0);

    // Down 40 s: Short comes back firing with its activeAt; Long (for 30m, far from firing)
    // moves its activeAt by the downtime; nothing asks ALERTS_FOR_STATE.
    ck_assert_uint_eq(s_restart(&fx, &nx, T0 + 10000, T0 + 50000), 2);
    ck_assert_str_eq(s_active_at(nx.g, "Short"), want);
    ck_assert_str_eq(s_active_at(nx.g, "Long"), "pending/2027-01-15T08:00:40.000Z");
    json_t *alerts;
    s_for_state_queries = 0;
    s_eval(&nx, T0 + 50000, 1, &alerts);
    ck_assert_int_eq(s_for_state_queries, 0);
    ck_assert_str_eq(s_active_at(nx.g, "Short"), want); // no new pending period
    ck_assert_uint_eq(json_array_size(alerts), 1);
    json_decref(alerts);

    // Down again, and the condition is gone at the first evaluation: a resolved alert is
    // sent (endsAt = that evaluation), and it still is after one more restart.
    struct s_fx mx;
    ck_assert_uint_eq(s_restart(&nx, &mx, T0 + 50000, T0 + 90000), 2);
    s_eval(&mx, T0 + 90000, 0, &alerts);
    ck_assert_uint_eq(json_array_size(alerts), 1);
    json_t *a = json_array_get(alerts, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "endsAt")), "2027-01-15T08:01:30.000Z");
    json_decref(alerts);
    struct s_fx ox;
    ck_assert_uint_eq(s_restart(&mx, &ox, T0 + 90000, T0 + 95000), 1);
    s_eval(&ox, T0 + 100000, 0, &alerts);
    ck_assert_uint_eq(json_array_size(alerts), 1);
    a = json_array_get(alerts, 0);
    ck_assert_str_eq(json_string_value(json_object_get(a, "endsAt")), "2027-01-15T08:01:30.000Z");
    json_decref(alerts);
    s_fx_free(&ox);
    s_fx_free(&mx);
    s_fx_free(&nx);
    s_fx_free(&fx);
}
END_TEST

START_TEST(test_ruled_state_grace_and_tolerance)
{
    struct s_fx fx, nx;
    s_fx_new(&fx);
    s_eval(&fx, T0, 1, NULL);
    s_eval(&fx, T0 + 10000, 1, NULL);
    // Long was pending for 25 min when ruled went down: 5 min left, under the 10 min grace
    // period, so it fires 10 min after the restart (activeAt = now + 10m - 30m).
    int64_t saved = T0 + 25 * 60000, now = saved + 60000;
    ck_assert_uint_eq(s_restart(&fx, &nx, saved, now), 2);
    ck_assert_str_eq(s_active_at(nx.g, "Long"), "pending/2027-01-15T08:06:00.000Z");
    s_fx_free(&nx);
    // Over the outage tolerance (1h): nothing comes back.
    ck_assert_uint_eq(s_restart(&fx, &nx, T0 + 10000, T0 + 10000 + 3600001), 0);
    ck_assert_uint_eq(ruled_group_count_alerts(nx.g, RULED_ALERT_FIRING), 0);
    s_fx_free(&nx);
    // Records that match no rule, or do not parse, are skipped.
    s_fx_new(&nx);
    struct ruled_state_rec bad[] = {{(char *)"7/0", (char *)"{}"},
                                    {(char *)"0/0", (char *)"not json"},
                                    {(char *)"x", (char *)"{}"}};
    ck_assert_uint_eq(ruled_group_state_import(nx.g, bad, 3, T0, T0 + 1000), 0);
    s_fx_free(&nx);
    s_fx_free(&fx);
}
END_TEST

Suite *
ruled_state_suite(void)
{
    Suite *s = suite_create("ruled_state");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ruled_state_save_load_replace);
    tcase_add_test(tc, test_ruled_state_refuses_foreign_dir);
    tcase_add_test(tc, test_ruled_state_firing_survives_and_resolves);
    tcase_add_test(tc, test_ruled_state_grace_and_tolerance);
    suite_add_tcase(s, tc);
    return s;
}
