/*  check_ruled_group.c — unit tests for rule evaluation and alert state (ruled/ruled_group.c).

    Most tests drive a group through a fake query function whose answer the test sets
    before each evaluation, at chosen timestamps, so the state machine (pending → firing
    after `for`, resolved, keep_firing_for, resolved retention) runs without waiting.
    test_ruled_group_query_over_zmq goes through the real fw_query client instead, against
    a tiny ROUTER in a zactor that answers QUERY with canned QUERY_RESULTs: tsdb's real
    query server belongs to the tsdb module and the lead's end-to-end test covers the whole
    pipeline.
*/
#include <check.h>
#include <czmq.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_query.h"
#include "fw_time.h"
#include "../ruled/ruled_group.h"

Suite *ruled_group_suite(void);

#define T0 1800000000000LL

struct s_fake {
    const char *fail_msg; // error text when failing (default: a timeout)
    size_t n;
    const char *names[4];
    const char *inst[4];
    double vals[4];
    bool fail;
    int calls;
    double restore_active_at; // ALERTS_FOR_STATE value for instance a; 0: none
};

static int
s_fake_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    struct s_fake *f = arg;
    fw_vector_clear(out);
    if (strstr(expr, "last_over_time(ALERTS_FOR_STATE{alertname=\"Long\"}[1h])")) {
        if (f->restore_active_at > 0) {
            fw_mem_grow((void **)&out->items, &out->cap, 1, sizeof(*out->items));
            struct fw_vsample *s = &out->items[out->len++];
            memset(s, 0, sizeof(*s));
            fw_labels_set(&s->labels, "__name__", "ALERTS_FOR_STATE");
            fw_labels_set(&s->labels, "alertname", "Long");
            fw_labels_set(&s->labels, "instance", "a");
            s->t_ms = t_ms;
            s->v = f->restore_active_at;
        }
        return 0;
    }
    f->calls++;
    if (f->fail) {
        fw_err_set(err, "%s", f->fail_msg ? f->fail_msg : "query timed out after 10 ms");
        return -1;
    }
    for (size_t i = 0; i < f->n; i++) {
        fw_mem_grow((void **)&out->items, &out->cap, out->len + 1, sizeof(*out->items));
        struct fw_vsample *s = &out->items[out->len++];
        memset(s, 0, sizeof(*s));
        fw_labels_set(&s->labels, "__name__", f->names[i] ? f->names[i] : "m");
        fw_labels_set(&s->labels, "instance", f->inst[i]);
        s->t_ms = t_ms;
        s->v = f->vals[i];
    }
    return 0;
}

struct s_fixture {
    struct ruled_rulefile rf;
    struct fw_labels ext;
    ruled_group_t *group;
};

static void
s_setup(struct s_fixture *fx, const char *text)
{
    memset(fx, 0, sizeof(*fx));
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load("r.yml", text, &fx->rf, errs), 0);
    free(errs);
    fw_labels_set(&fx->ext, "site", "plant-1");
    struct ruled_group_env env = {&fx->ext, "http://prom:9090", 60000, 0, 0};
    fx->group = ruled_group_new("r.yml", &fx->rf.groups[0], &env);
}

static void
s_teardown(struct s_fixture *fx)
{
    ruled_group_destroy(&fx->group);
    ruled_rules_free(&fx->rf);
    fw_labels_clear(&fx->ext);
}

// The series in batch named name (and with instance inst when given), or NULL.
static const struct fw_series *
s_series(const struct fw_batch *b, const char *name, const char *key, const char *val)
{
    for (size_t i = 0; i < b->len; i++) {
        const char *n = fw_labels_get(&b->series[i].labels, "__name__");
        const char *v = key ? fw_labels_get(&b->series[i].labels, key) : NULL;
        if (n && strcmp(n, name) == 0 && (!key || (v && strcmp(v, val) == 0)))
            return &b->series[i];
    }
    return NULL;
}

static const char *
s_alert_str(json_t *alerts, size_t i, const char *obj, const char *key)
{
    json_t *a = json_array_get(alerts, i);
    return json_string_value(obj ? json_object_get(json_object_get(a, obj), key)
                                 : json_object_get(a, key));
}

static const char *
s_rfc(int64_t ms, char *buf)
{
    return fw_time_rfc3339(ms, buf, 40);
}

static const char s_alert_rules[] =
    "groups:\n"
    "  - name: g\n"
    "    interval: 10s\n"
    "    rules:\n"
    "      - alert: High\n"
    "        expr: m > 1\n"
    "        for: 30s\n"
    "        labels: {severity: page, who: '{{ $labels.instance }}'}\n"
    "        annotations:\n"
    "          summary: '{{ $labels.instance }} is {{ $value }}'\n";

START_TEST(test_ruled_group_new_eval_destroy)
{
    struct s_fixture fx;
    s_setup(&fx, "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: m\n");
    ck_assert_str_eq(ruled_group_key(fx.group), "r.yml;g");
    ck_assert_int_eq(ruled_group_interval_ms(fx.group), 60000); // global default
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {3}};
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval(fx.group, T0, s_fake_query, &f, &res), 0);
    ck_assert_int_eq(f.calls, 1);
    ck_assert_uint_eq(res.batch->len, 1);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_recording_and_staleness)
{
    struct s_fixture fx;
    s_setup(&fx, "groups:\n  - name: g\n    labels: {site: a}\n    rules:\n"
                 "      - record: job:m:sum\n        expr: m\n        labels: {team: x}\n");
    struct s_fake f = {.n = 2, .inst = {"a", "b"}, .vals = {1, 2}};
    struct ruled_group_result res;
    ruled_group_eval(fx.group, T0, s_fake_query, &f, &res);
    ck_assert_uint_eq(res.batch->len, 2);
    const struct fw_series *s = s_series(res.batch, "job:m:sum", "instance", "b");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(fw_labels_get(&s->labels, "team"), "x");
    ck_assert_str_eq(fw_labels_get(&s->labels, "site"), "a");
    ck_assert_int_eq(s->samples[0].t_ms, T0);
    ck_assert(s->samples[0].v == 2);
    ruled_group_result_clear(&res);

    // b disappears: a staleness marker is written for it, once.
    f.n = 1;
    ruled_group_eval(fx.group, T0 + 10000, s_fake_query, &f, &res);
    ck_assert_uint_eq(res.batch->len, 2);
    s = s_series(res.batch, "job:m:sum", "instance", "b");
    ck_assert_ptr_nonnull(s);
    ck_assert(fw_is_stale_nan(s->samples[0].v));
    ruled_group_result_clear(&res);
    ruled_group_eval(fx.group, T0 + 20000, s_fake_query, &f, &res);
    ck_assert_uint_eq(res.batch->len, 1);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_recording_duplicate_labelset_fails)
{
    struct s_fixture fx;
    s_setup(&fx, "groups:\n  - name: g\n    rules:\n      - record: r\n        expr: m\n");
    // Two series that differ only by name collide once __name__ is replaced.
    struct s_fake f = {.n = 2, .names = {"m1", "m2"}, .inst = {"a", "a"}, .vals = {1, 2}};
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval(fx.group, T0, s_fake_query, &f, &res), 1);
    ck_assert_uint_eq(res.batch->len, 0);
    ruled_group_result_clear(&res);
    json_t *j = ruled_group_rules_json(fx.group);
    json_t *rule = json_array_get(json_object_get(j, "rules"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(rule, "health")), "err");
    ck_assert(strstr(json_string_value(json_object_get(rule, "lastError")), "same labelset"));
    json_decref(j);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_utf8_names)
{
    struct s_fixture fx;
    // Prometheus 3's UTF-8 names: a record named my.rec with a label ins-tance is written
    // (tsdb stores them), and an alert with a label a.b fires too: alertd takes UTF-8 label
    // names as Alertmanager 0.27+ does.
    s_setup(&fx, "groups:\n  - name: g\n    rules:\n      - record: my.rec\n"
                 "        expr: 'sum by (\"a.b\") ({\"m\"})'\n"
                 "        labels: {ins-tance: x}\n      - alert: A\n        expr: m\n"
                 "        labels: {a.b: c}\n      - record: ok\n        expr: m\n");
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {1}};
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval(fx.group, T0, s_fake_query, &f, &res), 0);
    ck_assert_ptr_nonnull(s_series(res.batch, "my.rec", "ins-tance", "x"));
    ck_assert_ptr_nonnull(s_series(res.batch, "ok", NULL, NULL));
    ck_assert_ptr_nonnull(s_series(res.batch, "ALERTS", "a.b", "c"));
    ruled_group_result_clear(&res);
    json_t *j = ruled_group_rules_json(fx.group);
    // the rules API prints the query as Prometheus 3's String(): quoted UTF-8 names
    ck_assert_str_eq(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "rules"), 0), "query")),
        "sum by (\"a.b\") ({__name__=\"m\"})");
    json_t *rule = json_array_get(json_object_get(j, "rules"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(rule, "health")), "ok");
    json_decref(j);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_alert_pending_firing_resolved)
{
    struct s_fixture fx;
    s_setup(&fx, s_alert_rules);
    ck_assert_int_eq(ruled_group_interval_ms(fx.group), 10000);
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {5}};
    struct ruled_group_result res;
    char b1[40], b2[40];

    // t0: pending; nothing sent to alertd; ALERTS{alertstate="pending"} written.
    ruled_group_eval(fx.group, T0, s_fake_query, &f, &res);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_PENDING), 1);
    const struct fw_series *s = s_series(res.batch, "ALERTS", "alertstate", "pending");
    ck_assert_ptr_nonnull(s);
    ck_assert_str_eq(fw_labels_get(&s->labels, "alertname"), "High");
    ck_assert_str_eq(fw_labels_get(&s->labels, "who"), "a");
    s = s_series(res.batch, "ALERTS_FOR_STATE", NULL, NULL);
    ck_assert_ptr_nonnull(s);
    ck_assert(s->samples[0].v == (double)(T0 / 1000));
    ruled_group_result_clear(&res);

    // t0+20s: still pending (for: 30s).
    ruled_group_eval(fx.group, T0 + 20000, s_fake_query, &f, &res);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    ruled_group_result_clear(&res);

    // t0+30s: firing, sent with startsAt = activeAt and endsAt = now + 4 x max(10s, 1m).
    f.vals[0] = 7;
    ruled_group_eval(fx.group, T0 + 30000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_FIRING), 1);
    ck_assert_uint_eq(json_array_size(res.alerts), 1);
    ck_assert_str_eq(s_alert_str(res.alerts, 0, "labels", "alertname"), "High");
    ck_assert_str_eq(s_alert_str(res.alerts, 0, "labels", "severity"), "page");
    ck_assert_str_eq(s_alert_str(res.alerts, 0, "labels", "site"), "plant-1"); // external
    ck_assert_ptr_null(s_alert_str(res.alerts, 0, "labels", "__name__"));
    ck_assert_str_eq(s_alert_str(res.alerts, 0, "annotations", "summary"), "a is 7");
    ck_assert_str_eq(s_alert_str(res.alerts, 0, NULL, "startsAt"), s_rfc(T0, b1));
    ck_assert_str_eq(s_alert_str(res.alerts, 0, NULL, "endsAt"), s_rfc(T0 + 30000 + 240000, b2));
    ck_assert_str_eq(s_alert_str(res.alerts, 0, NULL, "generatorURL"),
                     "http://prom:9090/graph?g0.expr=m+%3E+1&g0.tab=1");
    ck_assert_ptr_nonnull(s_series(res.batch, "ALERTS", "alertstate", "firing"));
    ruled_group_result_clear(&res);

    // /api/v1/alerts view.
    json_t *arr = json_array();
    ruled_group_alerts_json(fx.group, arr);
    ck_assert_uint_eq(json_array_size(arr), 1);
    ck_assert_str_eq(s_alert_str(arr, 0, NULL, "state"), "firing");
    ck_assert_str_eq(s_alert_str(arr, 0, NULL, "value"), "7e+00");
    json_decref(arr);

    // t0+40s: gone, so resolved: sent with endsAt = now; ALERTS gets staleness markers.
    f.n = 0;
    ruled_group_eval(fx.group, T0 + 40000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_FIRING), 0);
    ck_assert_uint_eq(json_array_size(res.alerts), 1);
    ck_assert_str_eq(s_alert_str(res.alerts, 0, NULL, "endsAt"), s_rfc(T0 + 40000, b1));
    s = s_series(res.batch, "ALERTS", "alertstate", "firing");
    ck_assert_ptr_nonnull(s);
    ck_assert(fw_is_stale_nan(s->samples[0].v));
    ruled_group_result_clear(&res);

    // Still re-sent as resolved 14 minutes later; forgotten after 15.
    ruled_group_eval(fx.group, T0 + 40000 + 14 * 60000, s_fake_query, &f, &res);
    ck_assert_uint_eq(json_array_size(res.alerts), 1);
    ruled_group_result_clear(&res);
    ruled_group_eval(fx.group, T0 + 40000 + 16 * 60000, s_fake_query, &f, &res);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_alert_pending_dropped_silently)
{
    struct s_fixture fx;
    s_setup(&fx, s_alert_rules);
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {5}};
    struct ruled_group_result res;
    ruled_group_eval(fx.group, T0, s_fake_query, &f, &res);
    ruled_group_result_clear(&res);
    f.n = 0;
    ruled_group_eval(fx.group, T0 + 10000, s_fake_query, &f, &res);
    ck_assert_uint_eq(json_array_size(res.alerts), 0);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_PENDING), 0);
    ruled_group_result_clear(&res);
    // Back again: a new pending alert with a new activeAt.
    f.n = 1;
    ruled_group_eval(fx.group, T0 + 20000, s_fake_query, &f, &res);
    ruled_group_result_clear(&res);
    ruled_group_eval(fx.group, T0 + 40000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_PENDING), 1);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_keep_firing_for)
{
    struct s_fixture fx;
    s_setup(&fx, "groups:\n  - name: g\n    interval: 10s\n    rules:\n"
                 "      - alert: Flappy\n        expr: m > 1\n        keep_firing_for: 1m\n");
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {5}};
    struct ruled_group_result res;
    ruled_group_eval(fx.group, T0, s_fake_query, &f, &res); // for: 0 fires at once
    ck_assert_uint_eq(json_array_size(res.alerts), 1);
    ruled_group_result_clear(&res);
    f.n = 0;
    for (int64_t t = 10000; t <= 60000; t += 10000) {
        ruled_group_eval(fx.group, T0 + t, s_fake_query, &f, &res);
        ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_FIRING), 1);
        ruled_group_result_clear(&res);
    }
    json_t *arr = json_array();
    ruled_group_alerts_json(fx.group, arr);
    ck_assert_ptr_nonnull(json_object_get(json_array_get(arr, 0), "keepFiringSince"));
    json_decref(arr);
    // keep_firing_since = t0+10s; at t0+70s the minute is over.
    ruled_group_eval(fx.group, T0 + 70000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_FIRING), 0);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_query_failure_counted)
{
    struct s_fixture fx;
    s_setup(&fx, "groups:\n  - name: g\n    rules:\n      - record: a\n        expr: m\n"
                 "      - record: b\n        expr: m\n");
    struct s_fake f = {.fail = true, .fail_msg = "bad_data: boom"};
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval(fx.group, T0, s_fake_query, &f, &res), 2);
    ck_assert_int_eq(f.calls, 2); // the second rule ran despite the first failing
    ck_assert_uint_eq(res.rules_failed, 2);
    ruled_group_result_clear(&res);

    // A timeout fails the rest of the group without asking again.
    f.fail_msg = NULL;
    f.calls = 0;
    ck_assert_uint_eq(ruled_group_eval(fx.group, T0 + 10000, s_fake_query, &f, &res), 2);
    ck_assert_int_eq(f.calls, 1);
    ruled_group_result_clear(&res);
    json_t *j = ruled_group_rules_json(fx.group);
    json_t *rule = json_array_get(json_object_get(j, "rules"), 1);
    ck_assert(strstr(json_string_value(json_object_get(rule, "lastError")), "timed out"));
    json_decref(j);
    s_teardown(&fx);
}
END_TEST

START_TEST(test_ruled_group_take_state_on_reload)
{
    struct s_fixture a, b;
    s_setup(&a, s_alert_rules);
    s_setup(&b, s_alert_rules);
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {5}};
    struct ruled_group_result res;
    ruled_group_eval(a.group, T0, s_fake_query, &f, &res);
    ruled_group_result_clear(&res);
    ruled_group_take_state(b.group, a.group);
    ck_assert_uint_eq(ruled_group_count_alerts(b.group, RULED_ALERT_PENDING), 1);
    ck_assert_uint_eq(ruled_group_count_alerts(a.group, RULED_ALERT_PENDING), 0);
    // activeAt carried over: firing 30s after the first evaluation of the old group.
    ruled_group_eval(b.group, T0 + 30000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(b.group, RULED_ALERT_FIRING), 1);
    ruled_group_result_clear(&res);
    s_teardown(&a);
    s_teardown(&b);
}
END_TEST

START_TEST(test_ruled_group_reload_marks_removed_rules_stale)
{
    struct s_fixture a, b;
    s_setup(&a, "groups:\n  - name: g\n    rules:\n      - record: r1\n        expr: m\n"
                "      - record: r2\n        expr: m\n");
    s_setup(&b, "groups:\n  - name: g\n    rules:\n      - record: r1\n        expr: m\n");
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {5}};
    struct ruled_group_result res;
    ruled_group_eval(a.group, T0, s_fake_query, &f, &res);
    ck_assert_uint_eq(res.batch->len, 2);
    ruled_group_result_clear(&res);
    ruled_group_take_state(b.group, a.group);
    struct fw_batch *batch = fw_batch_new();
    ruled_group_mark_stale(a.group, T0 + 1000, batch);
    ck_assert_uint_eq(batch->len, 1); // r1 moved to the new group; r2 is gone
    ck_assert_str_eq(fw_labels_get(&batch->series[0].labels, "__name__"), "r2");
    ck_assert(fw_is_stale_nan(batch->series[0].samples[0].v));
    fw_batch_destroy(&batch);
    s_teardown(&a);
    s_teardown(&b);
}
END_TEST

static const char s_long_rules[] = "groups:\n  - name: g\n    interval: 1m\n    rules:\n"
                                   "      - alert: Long\n        expr: m > 1\n        for: 15m\n";

START_TEST(test_ruled_group_restore_for_state)
{
    struct s_fixture fx;
    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {5}};
    struct ruled_group_result res;

    // Active since 20 minutes before the restart: it was firing, so it fires at once.
    s_setup(&fx, s_long_rules);
    f.restore_active_at = (double)((T0 - 20 * 60000) / 1000);
    ruled_group_eval(fx.group, T0, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_FIRING), 1);
    char b1[40];
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(res.alerts, 0), "startsAt")),
                     fw_time_rfc3339(T0 - 20 * 60000, b1, sizeof(b1)));
    ruled_group_result_clear(&res);
    s_teardown(&fx);

    // Active 10 minutes of 15: it would fire within the grace period, so it waits 10 more.
    s_setup(&fx, s_long_rules);
    f.restore_active_at = (double)((T0 - 10 * 60000) / 1000);
    ruled_group_eval(fx.group, T0, s_fake_query, &f, &res);
    ruled_group_result_clear(&res);
    ruled_group_eval(fx.group, T0 + 9 * 60000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_PENDING), 1);
    ruled_group_result_clear(&res);
    ruled_group_eval(fx.group, T0 + 10 * 60000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_FIRING), 1);
    ruled_group_result_clear(&res);
    s_teardown(&fx);

    // Nothing to restore: the full `for` from now.
    s_setup(&fx, s_long_rules);
    f.restore_active_at = 0;
    ruled_group_eval(fx.group, T0, s_fake_query, &f, &res);
    ruled_group_result_clear(&res);
    ruled_group_eval(fx.group, T0 + 14 * 60000, s_fake_query, &f, &res);
    ck_assert_uint_eq(ruled_group_count_alerts(fx.group, RULED_ALERT_PENDING), 1);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

// --- a canned tsdb ROUTER, in a zactor (answers every QUERY) ---

static void
s_router_actor(zsock_t *pipe, void *arg)
{
    (void)arg;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int port = zsock_bind(router, "tcp://127.0.0.1:*");
    zsock_signal(pipe, 0);
    zstr_sendf(pipe, "%d", port);
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    for (;;) {
        void *which = zpoller_wait(poller, 5000);
        if (which != router)
            break; // $TERM, timeout or interrupt
        zmsg_t *m = zmsg_recv(router);
        zframe_t *id = zmsg_pop(m);
        struct fw_msg *q = NULL;
        fw_err_t err = {0};
        if (fw_msg_decode(m, &q, &err) == 0 && q->type == FW_MSG_QUERY) {
            const char *qid = json_string_value(json_object_get(q->body, "id"));
            const char *expr = json_string_value(json_object_get(q->body, "query"));
            double t = json_number_value(json_object_get(q->body, "time"));
            json_t *body;
            if (strcmp(expr, "bad") == 0)
                body = json_pack("{s:s,s:s,s:s,s:s}", "id", qid, "status", "error", "errorType",
                                 "bad_data", "error", "parse error");
            else
                body = json_pack("{s:s,s:s,s:{s:s,s:[{s:{s:s,s:s},s:[f,s]}]}}", "id", qid, "status",
                                 "success", "data", "resultType", "vector", "result", "metric",
                                 "__name__", "m", "instance", "a", "value", t, "5");
            struct fw_msg *r = fw_msg_new_json(FW_MSG_QUERY_RESULT, body); // steals body
            zmsg_t *out = fw_msg_encode(r, &err);
            fw_msg_destroy(&r);
            zmsg_prepend(out, &id);
            zmsg_send(&out, router);
        }
        fw_msg_destroy(&q);
        zframe_destroy(&id);
        zmsg_destroy(&m);
    }
    zpoller_destroy(&poller);
    zsock_destroy(&router);
}

static int
s_zmq_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    return fw_query_vector(arg, expr, t_ms, 2000, out, err);
}

START_TEST(test_ruled_group_query_over_zmq)
{
    zactor_t *tsdb = zactor_new(s_router_actor, NULL);
    char *port = zstr_recv(tsdb);
    char ep[64];
    snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%s", port);
    free(port);
    fw_query_client_t *client = fw_query_client_new(ep, 0, NULL);
    ck_assert_ptr_nonnull(client);

    struct s_fixture fx;
    s_setup(&fx, "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: m > 1\n"
                 "      - record: r\n        expr: bad\n");
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval(fx.group, T0, s_zmq_query, client, &res), 1);
    ck_assert_uint_eq(json_array_size(res.alerts), 1); // for: 0 fires at once
    ck_assert_str_eq(s_alert_str(res.alerts, 0, "labels", "instance"), "a");
    ruled_group_result_clear(&res);
    json_t *j = ruled_group_rules_json(fx.group);
    json_t *rule = json_array_get(json_object_get(j, "rules"), 1);
    ck_assert_str_eq(json_string_value(json_object_get(rule, "lastError")),
                     "bad_data: parse error");
    json_decref(j);
    s_teardown(&fx);
    fw_query_client_destroy(&client);
    zactor_destroy(&tsdb);
}
END_TEST

// A sync callback that keeps the names of the series of each batch handed to it.
struct s_syncs {
    int calls;
    char first[64]; // names in the first batch, comma-joined
    bool fail;
};

static int
s_fake_sync(void *arg, struct fw_batch **batch_p, fw_err_t *err)
{
    struct s_syncs *sy = arg;
    if (sy->calls++ == 0)
        for (size_t i = 0; i < (*batch_p)->len; i++) {
            size_t n = strlen(sy->first);
            snprintf(sy->first + n, sizeof(sy->first) - n, "%s%s", n ? "," : "",
                     fw_labels_get(&(*batch_p)->series[i].labels, "__name__"));
        }
    if (sy->fail) {
        fw_err_set(err, "tsdb did not acknowledge them within 10 ms (timed out)");
        return -1;
    }
    fw_batch_destroy(batch_p);
    return 0;
}

START_TEST(test_ruled_group_sync_before_dependent_rules)
{
    struct s_fixture fx;
    s_setup(&fx, "groups:\n  - name: g\n    rules:\n"
                 "      - {record: a, expr: m}\n"
                 "      - {record: b, expr: a * 2}\n"
                 "      - {record: c, expr: m + 1}\n"
                 "      - {record: d, expr: '{job=\"x\"}'}\n"
                 "      - {record: e, expr: '{__name__=~\"a|z\"}'}\n"
                 "      - {record: f, expr: '{__name__=~\"z.*\"}'}\n"
                 "      - {alert: X, expr: m > 0}\n"
                 "      - {record: g, expr: 'count(ALERTS)'}\n"
                 "      - {record: h, expr: 'sum(rate(b[5m])) or m'}\n");
    bool want[] = {false, true, false, true, true, false, false, true, true};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_msg(ruled_group_rule_syncs(fx.group, i) == want[i], "rule %zu", i);
    ck_assert(!ruled_group_rule_syncs(fx.group, 99));

    struct s_fake f = {.n = 1, .inst = {"a"}, .vals = {3}};
    struct s_syncs sy = {0};
    struct ruled_group_result res;
    ck_assert_uint_eq(ruled_group_eval_sync(fx.group, T0, s_fake_query, &f, s_fake_sync, &sy, &res),
                      0);
    ck_assert_int_eq(sy.calls, 5); // before b, d, e, g and h
    ck_assert_uint_eq(res.syncs, 5);
    ck_assert_str_eq(sy.first, "a");                             // b's query runs once a is stored
    ck_assert_ptr_nonnull(s_series(res.batch, "h", NULL, NULL)); // the rest: after the group
    ck_assert_ptr_null(s_series(res.batch, "a", NULL, NULL));
    ruled_group_result_clear(&res);

    // A sync that times out fails its rule and, as a query timeout does, the rest.
    struct s_syncs bad = {.fail = true};
    ck_assert_uint_eq(
        ruled_group_eval_sync(fx.group, T0 + 60000, s_fake_query, &f, s_fake_sync, &bad, &res), 8);
    ck_assert_int_eq(bad.calls, 1);
    ruled_group_result_clear(&res);
    // Without a sync callback nothing waits (ruled_group_eval).
    ck_assert_uint_eq(ruled_group_eval(fx.group, T0 + 120000, s_fake_query, &f, &res), 0);
    ck_assert_uint_eq(res.syncs, 0);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

// A query function for test_ruled_group_template_query: the rule's own query gives two
// alerts; the template's query "tq" answers one sample, or times out when tq_fail.
struct s_tq {
    bool tq_fail;
    int tq_calls;
    int64_t tq_t_ms, rule_t_ms;
};

static int
s_tq_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    struct s_tq *q = arg;
    fw_vector_clear(out);
    bool tq = strcmp(expr, "tq") == 0;
    if (tq) {
        q->tq_calls++;
        q->tq_t_ms = t_ms;
        if (q->tq_fail) {
            fw_err_set(err, "query timed out after 10 ms");
            return -1;
        }
    } else {
        q->rule_t_ms = t_ms;
    }
    for (size_t i = 0; i < (tq ? 1u : 2u); i++) {
        fw_mem_grow((void **)&out->items, &out->cap, out->len + 1, sizeof(*out->items));
        struct fw_vsample *sm = &out->items[out->len++];
        memset(sm, 0, sizeof(*sm));
        fw_labels_set(&sm->labels, "instance", i ? "b" : "a");
        sm->t_ms = t_ms;
        sm->v = tq ? 42 : 5;
    }
    return 0;
}

// A rule's templates call query through the group's query function, at the evaluation time
// (not the query offset's: Prometheus's template expander queries at ts); once a template
// query times out, the rule's later template queries fail at once instead of each waiting.
START_TEST(test_ruled_group_template_query)
{
    struct s_fixture fx;
    s_setup(&fx, "groups:\n"
                 "  - name: g\n"
                 "    interval: 10s\n"
                 "    query_offset: 1m\n"
                 "    rules:\n"
                 "      - alert: Q\n"
                 "        expr: m > 1\n"
                 "        annotations:\n"
                 "          tq: '{{ with query \"tq\" }}{{ . | first | value }}{{ end }}'\n");
    struct s_tq q = {0};
    struct ruled_group_result res;
    ruled_group_eval(fx.group, T0, s_tq_query, &q, &res);
    ck_assert_uint_eq(json_array_size(res.alerts), 2);
    ck_assert_str_eq(s_alert_str(res.alerts, 0, "annotations", "tq"), "42");
    ck_assert_str_eq(s_alert_str(res.alerts, 1, "annotations", "tq"), "42");
    ck_assert_int_eq(q.tq_calls, 2);
    ck_assert_int_eq(q.tq_t_ms, T0);
    ck_assert_int_eq(q.rule_t_ms, T0 - 60000);
    ruled_group_result_clear(&res);

    q.tq_fail = true;
    q.tq_calls = 0;
    ruled_group_eval(fx.group, T0 + 10000, s_tq_query, &q, &res);
    ck_assert_uint_eq(json_array_size(res.alerts), 2);
    ck_assert_int_eq(q.tq_calls, 1); // the second alert's template did not wait again
    const char *a0 = s_alert_str(res.alerts, 0, "annotations", "tq");
    const char *a1 = s_alert_str(res.alerts, 1, "annotations", "tq");
    ck_assert_msg(strstr(a0, "<error expanding template: ") == a0 && strstr(a0, "timed out"), "%s",
                  a0);
    ck_assert_msg(strstr(a0, "skipped") == NULL, "%s", a0);
    ck_assert_msg(strstr(a1, "skipped: an earlier template query timed out") != NULL, "%s", a1);
    ruled_group_result_clear(&res);
    s_teardown(&fx);
}
END_TEST

Suite *
ruled_group_suite(void)
{
    Suite *s = suite_create("ruled_group");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ruled_group_new_eval_destroy);
    tcase_add_test(tc, test_ruled_group_recording_and_staleness);
    tcase_add_test(tc, test_ruled_group_recording_duplicate_labelset_fails);
    tcase_add_test(tc, test_ruled_group_utf8_names);
    tcase_add_test(tc, test_ruled_group_alert_pending_firing_resolved);
    tcase_add_test(tc, test_ruled_group_alert_pending_dropped_silently);
    tcase_add_test(tc, test_ruled_group_keep_firing_for);
    tcase_add_test(tc, test_ruled_group_query_failure_counted);
    tcase_add_test(tc, test_ruled_group_take_state_on_reload);
    tcase_add_test(tc, test_ruled_group_reload_marks_removed_rules_stale);
    tcase_add_test(tc, test_ruled_group_restore_for_state);
    tcase_add_test(tc, test_ruled_group_query_over_zmq);
    tcase_add_test(tc, test_ruled_group_sync_before_dependent_rules);
    tcase_add_test(tc, test_ruled_group_template_query);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(s, tc);
    return s;
}
