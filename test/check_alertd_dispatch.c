/*  check_alertd_dispatch.c — grouping, timers, the notification decision and the webhook v4
    payload, driven by an injected clock (no sleeps).
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_dispatch.h"
#include "../alertd/alertd_inhibit.h"
#include "../alertd/alertd_route.h"
#include "../alertd/alertd_store.h"
#include "check_util.h"

static const char *s_yaml = "global:\n"
                            "  resolve_timeout: 5m\n"
                            "route:\n"
                            "  receiver: hook\n"
                            "  group_by: [alertname, line]\n"
                            "  group_wait: 10s\n"
                            "  group_interval: 1m\n"
                            "  repeat_interval: 1h\n"
                            "  routes:\n"
                            "    - matchers: ['team=\"db\"']\n"
                            "      receiver: db\n"
                            "      group_by: ['...']\n"
                            "receivers:\n"
                            "  - name: hook\n"
                            "    webhook_configs:\n"
                            "      - url: http://127.0.0.1:1/hook\n"
                            "        max_alerts: 5\n"
                            "  - name: db\n"
                            "    webhook_configs:\n"
                            "      - url: http://127.0.0.1:1/db\n"
                            "        send_resolved: false\n";

#define T0 1800000000000LL

static struct alertd_cfg *s_cfg;
static struct alertd_route *s_tree;
static alertd_dispatch_t *s_d;
static json_t *s_out;

// Replace the fixture's config, tree and dispatcher by ones for yaml.
static void
s_use(const char *yaml, const char *external_url)
{
    alertd_dispatch_destroy(&s_d);
    alertd_route_destroy(&s_tree);
    alertd_cfg_destroy(&s_cfg);
    struct fw_cfg_errors errs = {0};
    s_cfg = alertd_cfg_load("dispatch.yml", yaml, &errs);
    ck_assert_msg(s_cfg != NULL, "config: %s", errs.len ? errs.items[0].msg : "?");
    s_tree = alertd_route_build(&s_cfg->route);
    s_d = alertd_dispatch_new(s_cfg, s_tree, external_url);
}

static void
s_setup(void)
{
    s_use(s_yaml, "http://am.example");
    s_out = json_array();
}

static void
s_teardown(void)
{
    json_decref(s_out);
    alertd_dispatch_destroy(&s_d);
    alertd_route_destroy(&s_tree);
    alertd_cfg_destroy(&s_cfg);
}

// The labels of "k=v,k=v" as a JSON object (new reference).
static json_t *
s_labels_json(const char *spec)
{
    struct fw_labels fl = FW_LABELS_INIT;
    check_util_labels(&fl, spec);
    json_t *l = json_object();
    for (size_t k = 0; k < fl.len; k++)
        json_object_set_new(l, fl.items[k].name, json_string(fl.items[k].value)); // steals
    fw_labels_clear(&fl);
    return l;
}

// An alert from "k=v,k=v" starting at starts, ending at ends (0: now + 5m, firing).
static void
s_insert(const char *labels, int64_t starts, int64_t ends, int64_t now)
{
    json_t *l = s_labels_json(labels);
    char sb[40], eb[40];
    json_t *j = json_pack("{s:o, s:{s:s}, s:s}", "labels", l, "annotations", "summary", "s",
                          "startsAt", alertd_time_str(starts, sb, sizeof sb));
    if (ends)
        json_object_set_new(j, "endsAt", json_string(alertd_time_str(ends, eb, sizeof eb)));
    struct alertd_alert a;
    fw_err_t err;
    ck_assert_int_eq(alertd_alert_parse(j, now, 300000, &a, &err), 0);
    alertd_dispatch_insert(s_d, &a, now);
    alertd_alert_clear(&a);
    json_decref(j);
}

static size_t
s_tick(int64_t now)
{
    json_array_clear(s_out);
    return alertd_dispatch_tick(s_d, now, s_out);
}

static json_t *
s_payload(size_t i)
{
    return json_object_get(json_array_get(s_out, i), "payload");
}

static const char *
s_group_key(size_t i)
{
    return json_string_value(json_object_get(s_payload(i), "groupKey"));
}

START_TEST(test_alertd_dispatch_group_wait)
{
    s_insert("alertname=A,line=L1,i=1", T0, 0, T0);
    ck_assert_int_eq(alertd_dispatch_groups(s_d), 1);
    ck_assert_int_eq(alertd_dispatch_next(s_d), T0 + 10000);
    ck_assert_int_eq(s_tick(T0 + 9999), 0);
    s_insert("alertname=A,line=L1,i=2", T0 + 5000, 0, T0 + 5000);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    json_t *p = s_payload(0);
    ck_assert_str_eq(json_string_value(json_object_get(p, "status")), "firing");
    ck_assert_int_eq(json_array_size(json_object_get(p, "alerts")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(s_out, 0), "receiver")),
                     "hook");
    // Nothing changed: the next group_interval flush stays quiet.
    ck_assert_int_eq(s_tick(T0 + 70000), 0);
}
END_TEST

// A tick touches only the due groups (issue 8: the flush of a new group walked every group
// twice). Fails on the old dispatcher, which has no alertd_dispatch_visited and looked at all.
START_TEST(test_alertd_dispatch_tick_visits_due_groups)
{
    char labels[64];
    for (int i = 0; i < 50; i++) {
        snprintf(labels, sizeof labels, "alertname=A,line=L%d", i);
        s_insert(labels, T0, 0, T0);
    }
    ck_assert_int_eq(s_tick(T0 + 10000), 50);
    ck_assert_int_eq(alertd_dispatch_visited(s_d), 50);
    ck_assert_int_eq(alertd_dispatch_next(s_d), T0 + 70000);
    // A new group falls due before the 50 others' group_interval: its tick looks at it alone.
    s_insert("alertname=B,line=L0", T0 + 20000, 0, T0 + 20000);
    ck_assert_int_eq(alertd_dispatch_next(s_d), T0 + 30000);
    ck_assert_int_eq(s_tick(T0 + 29999), 0);
    ck_assert_int_eq(alertd_dispatch_visited(s_d), 0);
    ck_assert_int_eq(s_tick(T0 + 30000), 1);
    ck_assert_int_eq(alertd_dispatch_visited(s_d), 1);
    ck_assert_str_eq(s_group_key(0), "{}:{alertname=\"B\", line=\"L0\"}");
    ck_assert_int_eq(alertd_dispatch_next(s_d), T0 + 70000);
    // Then the 50 at their interval, and the new one at its own (nothing new: quiet).
    ck_assert_int_eq(s_tick(T0 + 70000), 0);
    ck_assert_int_eq(alertd_dispatch_visited(s_d), 50);
    ck_assert_int_eq(alertd_dispatch_next(s_d), T0 + 90000);
    ck_assert_int_eq(s_tick(T0 + 90000), 0);
    ck_assert_int_eq(alertd_dispatch_visited(s_d), 1);
    ck_assert_int_eq(alertd_dispatch_groups(s_d), 51);
}
END_TEST

START_TEST(test_alertd_dispatch_group_interval)
{
    s_insert("alertname=A,line=L1,i=1", T0, 0, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    s_insert("alertname=A,line=L1,i=2", T0 + 20000, 0, T0 + 20000);
    // Not before group_interval after the first flush.
    ck_assert_int_eq(s_tick(T0 + 20000), 0);
    ck_assert_int_eq(s_tick(T0 + 69999), 0);
    ck_assert_int_eq(s_tick(T0 + 70000), 1);
    ck_assert_int_eq(json_array_size(json_object_get(s_payload(0), "alerts")), 2);
}
END_TEST

START_TEST(test_alertd_dispatch_repeat_interval)
{
    s_insert("alertname=A,line=L1", T0, T0 + 10 * 3600000LL, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    size_t sent = 0;
    int64_t t;
    // Flushes happen every minute; only the one at or past 1h after the first notifies.
    for (t = T0 + 70000; t < T0 + 10000 + 3600000 + 60000; t += 60000) {
        size_t n = s_tick(t);
        if (n)
            ck_assert_int_ge(t, T0 + 10000 + 3600000);
        sent += n;
    }
    ck_assert_int_eq(sent, 1);
}
END_TEST

START_TEST(test_alertd_dispatch_resolved)
{
    s_insert("alertname=A,line=L1,i=1", T0, 0, T0);
    s_insert("alertname=A,line=L1,i=2", T0, 0, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    // i=1 resolves: notified (send_resolved defaults to true) as status resolved, then dropped.
    s_insert("alertname=A,line=L1,i=1", T0, T0 + 30000, T0 + 30000);
    ck_assert_int_eq(s_tick(T0 + 70000), 1);
    json_t *alerts = json_object_get(s_payload(0), "alerts");
    ck_assert_int_eq(json_array_size(alerts), 2);
    ck_assert_str_eq(json_string_value(json_object_get(s_payload(0), "status")), "firing");
    int resolved = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_array_get(alerts, i);
        if (strcmp(json_string_value(json_object_get(a, "status")), "resolved") == 0) {
            resolved++;
            ck_assert_str_ne(json_string_value(json_object_get(a, "endsAt")),
                             "0001-01-01T00:00:00Z");
        } else {
            ck_assert_str_eq(json_string_value(json_object_get(a, "endsAt")),
                             "0001-01-01T00:00:00Z");
        }
    }
    ck_assert_int_eq(resolved, 1);
    // The last one resolves: an all-resolved notification, then the group goes away.
    s_insert("alertname=A,line=L1,i=2", T0, T0 + 80000, T0 + 80000);
    ck_assert_int_eq(s_tick(T0 + 130000), 1);
    ck_assert_str_eq(json_string_value(json_object_get(s_payload(0), "status")), "resolved");
    ck_assert_int_eq(json_array_size(json_object_get(s_payload(0), "alerts")), 1);
    ck_assert_int_eq(alertd_dispatch_groups(s_d), 0);
}
END_TEST

START_TEST(test_alertd_dispatch_old_alert_flushes_at_once)
{
    // Started long before group_wait: not held back (Alertmanager aggrGroup.insert).
    s_insert("alertname=A,line=L1", T0 - 600000, 0, T0);
    ck_assert_int_eq(alertd_dispatch_next(s_d), T0);
    ck_assert_int_eq(s_tick(T0), 1);
}
END_TEST

START_TEST(test_alertd_dispatch_resolved_only_is_not_sent)
{
    s_insert("alertname=A,line=L1", T0 - 100000, T0 - 1000, T0);
    ck_assert_int_eq(s_tick(T0), 0);
    ck_assert_int_eq(alertd_dispatch_groups(s_d), 0);
}
END_TEST

// Sibling routes with the same matchers, the first with continue: one aggregation group per
// route (Alertmanager's aggrGroupsPerRoute is keyed by the route), so both receivers are
// notified, under the same group key (0.25's route Key() holds no position).
static const char *s_sib_yaml = "route:\n"
                                "  receiver: hook\n"
                                "  group_by: [alertname]\n"
                                "  group_wait: 10s\n"
                                "  routes:\n"
                                "    - matchers: ['env=\"prod\"']\n"
                                "      receiver: first\n"
                                "      continue: true\n"
                                "    - matchers: ['env=\"prod\"']\n"
                                "      receiver: second\n"
                                "receivers:\n"
                                "  - name: hook\n"
                                "  - name: first\n"
                                "  - name: second\n";

START_TEST(test_alertd_dispatch_sibling_routes)
{
    s_use(s_sib_yaml, "");
    s_insert("alertname=X,env=prod", T0, T0 + 86400000LL, T0);
    ck_assert_int_eq(alertd_dispatch_groups(s_d), 2);
    ck_assert_int_eq(s_tick(T0 + 10000), 2);
    bool first = false, second = false;
    for (size_t i = 0; i < 2; i++) {
        const char *r = json_string_value(json_object_get(s_payload(i), "receiver"));
        first = first || strcmp(r, "first") == 0;
        second = second || strcmp(r, "second") == 0;
        ck_assert_str_eq(json_string_value(json_object_get(s_payload(i), "groupKey")),
                         "{}/{env=\"prod\"}:{alertname=\"X\"}");
    }
    ck_assert(first && second);
    // Both logged: nothing more until repeat_interval (4h by default).
    ck_assert_int_eq(s_tick(T0 + 10000 + 300000), 0);
    ck_assert_int_eq(s_tick(T0 + 10000 + 4 * 3600000LL), 2);
}
END_TEST

// GET /api/v2/alerts lists one receiver a matched route, as Alertmanager's getAlerts does
// (route.Match, then each route's receiver): twice when two routes name the same one.
START_TEST(test_alertd_dispatch_receivers_of)
{
    s_use("route:\n"
          "  receiver: hook\n"
          "  routes:\n"
          "    - matchers: ['env=\"prod\"']\n"
          "      receiver: pager\n"
          "      continue: true\n"
          "    - matchers: ['team=\"db\"']\n"
          "      receiver: pager\n"
          "receivers:\n"
          "  - name: hook\n"
          "  - name: pager\n",
          "");
    static const struct {
        const char *labels, *want;
    } cases[] = {
        {"alertname=X", "hook"},
        {"alertname=X,env=prod", "pager"},
        {"alertname=X,env=prod,team=db", "pager,pager"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fw_labels l = FW_LABELS_INIT;
        check_util_labels(&l, cases[i].labels);
        json_t *rcv = alertd_dispatch_receivers_of(s_d, &l);
        char got[64] = "";
        for (size_t k = 0; k < json_array_size(rcv); k++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? "," : "",
                     json_string_value(json_object_get(json_array_get(rcv, k), "name")));
        ck_assert_msg(strcmp(got, cases[i].want) == 0, "%s: %s", cases[i].labels, got);
        json_decref(rcv);
        fw_labels_clear(&l);
    }
}
END_TEST

// Alertmanager's per-integration dedup: each config has its own log entry
// ("<receiver>/<integration>/<index>"), so when one of a receiver's two webhooks failed only
// that one is sent again at the next flush, and the other is not repeated.
static const char *s_two_yaml = "route:\n"
                                "  receiver: two\n"
                                "  group_by: [alertname]\n"
                                "  group_wait: 10s\n"
                                "  group_interval: 1m\n"
                                "receivers:\n"
                                "  - name: two\n"
                                "    webhook_configs:\n"
                                "      - url: http://127.0.0.1:1/ok\n"
                                "      - url: http://127.0.0.1:1/flaky\n";

START_TEST(test_alertd_dispatch_per_integration)
{
    s_use(s_two_yaml, "");
    alertd_nflog_t *log = alertd_nflog_new(NULL, 3600000);
    alertd_dispatch_set_nflog(s_d, log);
    s_insert("alertname=X", T0, T0 + 86400000LL, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    json_t *n = json_array_get(s_out, 0);
    ck_assert_int_eq(json_array_size(json_object_get(n, "webhook_configs")), 2);
    char *gk = strdup(s_group_key(0));
    json_object_set_new(n, "id", json_string("n1")); // as alertd sends it
    alertd_nflog_record(log, n, "sent", T0 + 10000);
    ck_assert_ptr_nonnull(alertd_nflog_get(log, "two/webhook/0", gk, T0 + 10000));
    ck_assert_ptr_nonnull(alertd_nflog_get(log, "two/webhook/1", gk, T0 + 10000));
    // notifyd: the second webhook failed.
    json_t *failed = json_pack("[s]", "webhook/1");
    ck_assert_int_eq(alertd_nflog_result(log, "n1", "failed", "webhook: http_5xx", failed), 0);
    json_decref(failed);
    ck_assert(!alertd_nflog_get(log, "two/webhook/0", gk, T0 + 10000)->failed);
    ck_assert(alertd_nflog_get(log, "two/webhook/1", gk, T0 + 10000)->failed);
    ck_assert_int_eq(s_tick(T0 + 70000), 1);
    n = json_array_get(s_out, 0);
    json_t *wc = json_object_get(n, "webhook_configs");
    ck_assert_int_eq(json_array_size(wc), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(wc, 0), "url")),
                     "http://127.0.0.1:1/flaky");
    json_t *want = json_pack("{s:[i]}", "webhook_configs", 1);
    ck_assert(json_equal(json_object_get(n, "integrations"), want));
    json_decref(want);
    json_object_set_new(n, "id", json_string("n2"));
    alertd_nflog_record(log, n, "sent", T0 + 70000);
    ck_assert_int_eq(alertd_nflog_result(log, "n2", "delivered", NULL, NULL), 0);
    ck_assert_int_eq(s_tick(T0 + 130000), 0); // both logged, nothing new
    // A failure without the list (a notifyd before it) fails every entry of the notification.
    ck_assert_int_eq(alertd_nflog_result(log, "n2", "failed", "x", NULL), 0);
    ck_assert(alertd_nflog_get(log, "two/webhook/1", gk, T0 + 10000)->failed);
    ck_assert(!alertd_nflog_get(log, "two/webhook/0", gk, T0 + 10000)->failed);
    free(gk);
    alertd_dispatch_set_nflog(s_d, NULL);
    alertd_nflog_destroy(&log);
}
END_TEST

// opsgenie_configs have their own log entries too ("<receiver>/opsgenie/<index>"): when the
// webhook beside one failed, only the webhook is sent again, the Opsgenie alert is not
// created twice.
START_TEST(test_alertd_dispatch_per_integration_opsgenie)
{
    s_use("route: {receiver: og, group_by: [alertname], group_wait: 10s, group_interval: 1m}\n"
          "receivers:\n"
          "  - name: og\n"
          "    webhook_configs: [{url: 'http://127.0.0.1:1/flaky'}]\n"
          "    opsgenie_configs: [{api_key: k}]\n",
          "");
    alertd_nflog_t *log = alertd_nflog_new(NULL, 3600000);
    alertd_dispatch_set_nflog(s_d, log);
    s_insert("alertname=X", T0, T0 + 86400000LL, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    json_t *n = json_array_get(s_out, 0);
    ck_assert_int_eq(json_array_size(json_object_get(n, "opsgenie_configs")), 1);
    char *gk = strdup(s_group_key(0));
    json_object_set_new(n, "id", json_string("n1"));
    alertd_nflog_record(log, n, "sent", T0 + 10000);
    ck_assert_ptr_nonnull(alertd_nflog_get(log, "og/opsgenie/0", gk, T0 + 10000));
    json_t *failed = json_pack("[s]", "webhook/0");
    ck_assert_int_eq(alertd_nflog_result(log, "n1", "failed", "webhook: http_5xx", failed), 0);
    json_decref(failed);
    ck_assert_int_eq(s_tick(T0 + 70000), 1);
    n = json_array_get(s_out, 0);
    ck_assert_int_eq(json_array_size(json_object_get(n, "webhook_configs")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(n, "opsgenie_configs")), 0);
    free(gk);
    alertd_dispatch_set_nflog(s_d, NULL);
    alertd_nflog_destroy(&log);
}
END_TEST

// wechat_configs and sns_configs have their own log entries too ("<receiver>/wechat/<index>",
// "<receiver>/sns/<index>"): when the webhook beside them failed, only the webhook is sent
// again; a WeChat message or an SNS Publish that went through is not repeated.
START_TEST(test_alertd_dispatch_per_integration_wechat_sns)
{
    s_use("route: {receiver: ws, group_by: [alertname], group_wait: 10s, group_interval: 1m}\n"
          "receivers:\n"
          "  - name: ws\n"
          "    webhook_configs: [{url: 'http://127.0.0.1:1/flaky'}]\n"
          "    wechat_configs: [{api_secret: s, corp_id: c}]\n"
          "    sns_configs: [{topic_arn: t, sigv4: {region: r, access_key: a, secret_key: b}}]\n",
          "");
    alertd_nflog_t *log = alertd_nflog_new(NULL, 3600000);
    alertd_dispatch_set_nflog(s_d, log);
    s_insert("alertname=X", T0, T0 + 86400000LL, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    json_t *n = json_array_get(s_out, 0);
    ck_assert_int_eq(json_array_size(json_object_get(n, "wechat_configs")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(n, "sns_configs")), 1);
    char *gk = strdup(s_group_key(0));
    json_object_set_new(n, "id", json_string("n1"));
    alertd_nflog_record(log, n, "sent", T0 + 10000);
    ck_assert_ptr_nonnull(alertd_nflog_get(log, "ws/wechat/0", gk, T0 + 10000));
    ck_assert_ptr_nonnull(alertd_nflog_get(log, "ws/sns/0", gk, T0 + 10000));
    json_t *failed = json_pack("[s]", "webhook/0");
    ck_assert_int_eq(alertd_nflog_result(log, "n1", "failed", "webhook: http_5xx", failed), 0);
    json_decref(failed);
    ck_assert_int_eq(s_tick(T0 + 70000), 1);
    n = json_array_get(s_out, 0);
    ck_assert_int_eq(json_array_size(json_object_get(n, "webhook_configs")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(n, "wechat_configs")), 0);
    ck_assert_int_eq(json_array_size(json_object_get(n, "sns_configs")), 0);
    free(gk);
    alertd_dispatch_set_nflog(s_d, NULL);
    alertd_nflog_destroy(&log);
}
END_TEST

static unsigned long s_json_allocs;

static void *
s_json_malloc(size_t n)
{
    s_json_allocs++;
    return malloc(n);
}

// An alert's webhook object shares its annotations object (never changed) instead of a
// deep copy: with two annotations, 8 jansson allocations fewer (an object, its table and
// three a pair), and what it shows is the same.
START_TEST(test_alertd_dispatch_webhook_json_shares_annotations)
{
    json_t *j = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}}", "labels", "alertname", "X", "line", "L1",
                          "annotations", "summary", "hot", "runbook", "r/hot");
    struct alertd_alert a;
    ck_assert_int_eq(alertd_alert_parse(j, T0, 300000, &a, NULL), 0);
    json_decref(j);
    json_set_alloc_funcs(s_json_malloc, free);
    unsigned long j0 = s_json_allocs;
    json_t *w = alertd_alert_webhook_json(&a, T0 + 1000);
    unsigned long built = s_json_allocs - j0;
    json_set_alloc_funcs(malloc, free);
    fprintf(stderr, "alertd_dispatch: %lu jansson allocations for one alert's webhook object\n",
            built);
    ck_assert_ptr_eq(json_object_get(w, "annotations"), a.annotations);
    // labels object + table + 2 pairs and strings, the object's 7 pairs, 5 strings, its table
    ck_assert_uint_le(built, 30);
    json_t *want = json_pack("{s:s, s:s}", "summary", "hot", "runbook", "r/hot");
    ck_assert(json_equal(json_object_get(w, "annotations"), want));
    json_decref(want);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(w, "labels"), "line")),
                     "L1");
    json_decref(w);
    alertd_alert_clear(&a);
}
END_TEST

// A firing stored alert's webhook object is made once and shared by every flush (the same
// object, equal to a fresh one); resolved, it is made anew with its endsAt; an alert that is
// not shared (on a stack) keeps nothing.
START_TEST(test_alertd_dispatch_webhook_json_kept)
{
    alertd_store_t *store = alertd_store_new();
    json_t *j =
        json_pack("{s:{s:s}, s:{s:s}}", "labels", "alertname", "X", "annotations", "s", "t");
    struct alertd_alert a, tmp;
    ck_assert_int_eq(alertd_alert_parse(j, T0, 300000, &a, NULL), 0);
    ck_assert_int_eq(alertd_alert_parse(j, T0, 300000, &tmp, NULL), 0);
    json_decref(j);
    const struct alertd_alert *in = alertd_store_put(store, &a, T0);
    json_t *w1 = alertd_alert_webhook_json(in, T0 + 1000);
    json_t *w2 = alertd_alert_webhook_json(in, T0 + 2000);
    ck_assert_ptr_eq(w1, w2);
    json_t *fresh = alertd_alert_webhook_json(&tmp, T0 + 2000);
    ck_assert_ptr_ne(fresh, w1);
    ck_assert(json_equal(fresh, w1));
    ck_assert_ptr_null(tmp.webhook);
    json_t *r = alertd_alert_webhook_json(in, T0 + 400000); // past endsAt: resolved
    ck_assert_ptr_ne(r, w1);
    ck_assert_str_eq(json_string_value(json_object_get(r, "status")), "resolved");
    json_decref(w1);
    json_decref(w2);
    json_decref(fresh);
    json_decref(r);
    alertd_alert_clear(&tmp);
    alertd_store_destroy(&store);
}
END_TEST

// The records notifyd has not answered are listed for alertd's question (NOTIFY_ACK's
// unanswered); the same result twice changes nothing; a notification that could not be
// queued ("dropped") is not counted as sent: its entries are failed, so the next flush
// sends it again.
START_TEST(test_alertd_dispatch_unanswered_and_dropped)
{
    s_use(s_two_yaml, "");
    alertd_nflog_t *log = alertd_nflog_new(NULL, 3600000);
    alertd_dispatch_set_nflog(s_d, log);
    s_insert("alertname=X", T0, T0 + 86400000LL, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    json_t *n = json_deep_copy(json_array_get(s_out, 0)); // s_tick replaces s_out
    char *gk = strdup(s_group_key(0));
    json_object_set_new(n, "id", json_string("n1"));
    alertd_nflog_record(log, n, "sent", T0 + 10000);
    json_object_set_new(n, "id", json_string("n2"));
    alertd_nflog_record(log, n, "sent", T0 + 20000);
    json_t *ids = alertd_nflog_unanswered(log, T0 + 15000, 10);
    ck_assert_int_eq(json_array_size(ids), 1);
    ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), "n1");
    json_decref(ids);
    ids = alertd_nflog_unanswered(log, T0 + 20000, 1); // at most max
    ck_assert_int_eq(json_array_size(ids), 1);
    json_decref(ids);
    ck_assert_int_eq(alertd_nflog_result(log, "n1", "delivered", NULL, NULL), 0);
    ck_assert_int_eq(alertd_nflog_result(log, "n1", "delivered", NULL, NULL), 0);
    ck_assert_int_eq(alertd_nflog_result(log, "nx", "delivered", NULL, NULL), -1);
    ids = alertd_nflog_unanswered(log, T0 + 20000, 10);
    ck_assert_int_eq(json_array_size(ids), 1);
    ck_assert_str_eq(json_string_value(json_array_get(ids, 0)), "n2");
    json_decref(ids);
    ck_assert(!alertd_nflog_get(log, "two/webhook/0", gk, T0 + 20000)->failed);
    // Dropped: both integrations failed, sent again at the next group_interval.
    ck_assert_int_eq(s_tick(T0 + 70000), 0);
    json_object_set_new(n, "id", json_string("n3"));
    alertd_nflog_record(log, n, "dropped", T0 + 70000);
    ck_assert(alertd_nflog_get(log, "two/webhook/0", gk, T0 + 70000)->failed);
    ck_assert(alertd_nflog_get(log, "two/webhook/1", gk, T0 + 70000)->failed);
    ck_assert_int_eq(s_tick(T0 + 130000), 1);
    json_decref(n);
    free(gk);
    alertd_dispatch_set_nflog(s_d, NULL);
    alertd_nflog_destroy(&log);
}
END_TEST

// An entry of the whole receiver (what alertd logged before per-integration entries) still
// counts, so an upgrade does not repeat every group's notification.
START_TEST(test_alertd_dispatch_legacy_entry)
{
    s_use(s_two_yaml, "");
    alertd_nflog_t *log = alertd_nflog_new(NULL, 3600000);
    alertd_dispatch_set_nflog(s_d, log);
    s_insert("alertname=X", T0, T0 + 86400000LL, T0);
    char *gk = strdup("{}:{alertname=\"X\"}");
    uint64_t *f = calloc(2, sizeof *f), *r = calloc(1, sizeof *r);
    ck_assert_int_eq(s_tick(T0 + 10000), 1); // learn the fingerprint from the payload
    f[0] = strtoull(json_string_value(json_object_get(
                        json_array_get(json_object_get(s_payload(0), "alerts"), 0), "fingerprint")),
                    NULL, 16);
    alertd_nflog_destroy(&log);
    log = alertd_nflog_new(NULL, 3600000);
    alertd_dispatch_set_nflog(s_d, log);
    alertd_nflog_log(log, "two", gk, f, 1, r, 0, NULL, T0 + 10000);
    ck_assert_int_eq(s_tick(T0 + 70000), 0);
    free(gk);
    alertd_dispatch_set_nflog(s_d, NULL);
    alertd_nflog_destroy(&log);
}
END_TEST

static bool
s_mute_i2(const struct alertd_alert *a, int64_t now, void *arg)
{
    (void)now;
    (void)arg;
    const char *v = fw_labels_get(&a->labels, "i");
    return v && strcmp(v, "2") == 0;
}

START_TEST(test_alertd_dispatch_muted_not_notified)
{
    alertd_dispatch_set_muted(s_d, s_mute_i2, NULL);
    s_insert("alertname=A,line=L1,i=1", T0, 0, T0);
    s_insert("alertname=A,line=L1,i=2", T0, 0, T0);
    s_insert("alertname=B,line=L1,i=2", T0, 0, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    json_t *alerts = json_object_get(s_payload(0), "alerts");
    ck_assert_int_eq(json_array_size(alerts), 1);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(alerts, 0), "labels"), "i")),
                     "1");
}
END_TEST

START_TEST(test_alertd_dispatch_payload_shape)
{
    s_insert("alertname=A,line=L1,i=1", T0, 0, T0);
    s_insert("alertname=A,line=L1,i=2", T0, 0, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    json_t *n = json_array_get(s_out, 0);
    ck_assert_int_eq(json_object_size(n), 4);
    json_t *want = json_pack("{s:[i]}", "webhook_configs", 0);
    ck_assert(json_equal(json_object_get(n, "integrations"), want));
    json_decref(want);
    json_t *wc = json_object_get(n, "webhook_configs");
    ck_assert_int_eq(json_array_size(wc), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(wc, 0), "url")),
                     "http://127.0.0.1:1/hook");
    ck_assert_int_eq(json_integer_value(json_object_get(json_array_get(wc, 0), "max_alerts")), 5);
    ck_assert(json_is_true(json_object_get(json_array_get(wc, 0), "send_resolved")));
    json_t *p = s_payload(0);
    static const char *const keys[] = {
        "version",     "groupKey",     "truncatedAlerts",   "status",      "receiver",
        "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"};
    ck_assert_int_eq(json_object_size(p), 10);
    for (size_t i = 0; i < 10; i++)
        ck_assert_msg(json_object_get(p, keys[i]) != NULL, "missing %s", keys[i]);
    ck_assert_str_eq(json_string_value(json_object_get(p, "version")), "4");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "truncatedAlerts")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(p, "externalURL")), "http://am.example");
    char *gl = json_dumps(json_object_get(p, "groupLabels"), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(gl, "{\"alertname\":\"A\",\"line\":\"L1\"}");
    free(gl);
    char *cl = json_dumps(json_object_get(p, "commonLabels"), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(cl, "{\"alertname\":\"A\",\"line\":\"L1\"}");
    free(cl);
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(p, "commonAnnotations"), "summary")),
        "s");
    static const char *const akeys[] = {"status", "labels",       "annotations", "startsAt",
                                        "endsAt", "generatorURL", "fingerprint"};
    json_t *a = json_array_get(json_object_get(p, "alerts"), 0);
    ck_assert_int_eq(json_object_size(a), 7);
    for (size_t i = 0; i < 7; i++)
        ck_assert_msg(json_object_get(a, akeys[i]) != NULL, "alert missing %s", akeys[i]);
    ck_assert_int_eq(strlen(json_string_value(json_object_get(a, "fingerprint"))), 16);
    // As Go's encoding/json writes a time.Time (Alertmanager's webhook): no zero fraction
    // (test/it/receivers.sh compares with Alertmanager 0.25's; the old code wrote .000Z).
    ck_assert_str_eq(json_string_value(json_object_get(a, "startsAt")), "2027-01-15T08:00:00Z");
    char b[40];
    ck_assert_str_eq(alertd_time_str_go(T0 + 120, b, sizeof b), "2027-01-15T08:00:00.12Z");
    ck_assert_str_eq(alertd_time_str_go(T0 + 7, b, sizeof b), "2027-01-15T08:00:00.007Z");
    ck_assert_str_eq(alertd_time_str_go(T0 + 500, b, sizeof b), "2027-01-15T08:00:00.5Z");
    ck_assert_str_eq(alertd_time_str_go(0, b, sizeof b), "0001-01-01T00:00:00Z");
    ck_assert_str_eq(alertd_time_str(T0, b, sizeof b), "2027-01-15T08:00:00.000Z"); // API v2
}
END_TEST

START_TEST(test_alertd_dispatch_group_key)
{
    s_insert("alertname=X,line=L\"1", T0, 0, T0);
    s_insert("alertname=Y,team=db", T0, 0, T0);
    ck_assert_int_eq(s_tick(T0 + 10000), 2);
    bool root = false, child = false;
    for (size_t i = 0; i < 2; i++) {
        const char *k = json_string_value(json_object_get(s_payload(i), "groupKey"));
        if (strcmp(k, "{}:{alertname=\"X\", line=\"L\\\"1\"}") == 0)
            root = true;
        if (strcmp(k, "{}/{team=\"db\"}:{alertname=\"Y\", team=\"db\"}") == 0)
            child = true;
    }
    ck_assert_msg(root && child, "group keys: %s / %s",
                  json_string_value(json_object_get(s_payload(0), "groupKey")),
                  json_string_value(json_object_get(s_payload(1), "groupKey")));
}
END_TEST

START_TEST(test_alertd_dispatch_store_merge)
{
    alertd_store_t *st = alertd_store_new();
    json_t *j =
        json_pack("{s:{s:s}, s:s}", "labels", "alertname", "A", "startsAt", "2027-01-15T08:00:00Z");
    struct alertd_alert a;
    ck_assert_int_eq(alertd_alert_parse(j, T0, 300000, &a, NULL), 0);
    ck_assert(a.timeout);
    ck_assert_int_eq(a.ends_at, T0 + 300000);
    alertd_store_put(st, &a, T0);
    json_object_set_new(j, "startsAt", json_string("2027-01-15T08:01:00Z"));
    ck_assert_int_eq(alertd_alert_parse(j, T0 + 60000, 300000, &a, NULL), 0);
    const struct alertd_alert *s = alertd_store_put(st, &a, T0 + 60000);
    ck_assert_int_eq(alertd_store_size(st), 1);
    ck_assert_int_eq(s->starts_at, T0); // the earlier start is kept
    ck_assert_int_eq(s->ends_at, T0 + 360000);
    // Invalid alerts are rejected with a reason.
    fw_err_t err;
    json_t *bad = json_pack("{s:{}}", "labels");
    ck_assert_int_eq(alertd_alert_parse(bad, T0, 1, &a, &err), -1);
    json_decref(bad);
    bad = json_pack("{s:{s:s}, s:s, s:s}", "labels", "a", "b", "startsAt", "2027-01-15T08:00:00Z",
                    "endsAt", "2027-01-15T07:00:00Z");
    ck_assert_int_eq(alertd_alert_parse(bad, T0, 1, &a, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "before"));
    json_decref(bad);
    json_decref(j);
    alertd_store_destroy(&st);
    // Fingerprints equal Alertmanager 0.25's for the same labels (seen in its webhook).
    j = json_pack("{s:{s:s, s:s, s:s}}", "labels", "alertname", "LineStopped", "line", "L1",
                  "severity", "page");
    ck_assert_int_eq(alertd_alert_parse(j, T0, 1, &a, NULL), 0);
    char fp[17];
    ck_assert_str_eq(alertd_fp_str(a.fp, fp), "2328baebf84b32fe");
    alertd_alert_clear(&a);
    json_decref(j);
}
END_TEST

// The store's alert for "k=v,k=v" starting at T0, ending at ends (0: resolve timeout), put at now:
// shared, as alertd routes it (held by the store and its groups).
static const struct alertd_alert *
s_stored(alertd_store_t *st, const char *labels, int64_t ends, int64_t now)
{
    json_t *j = json_pack("{s:o, s:s}", "labels", s_labels_json(labels), "startsAt",
                          "2027-01-15T08:00:00Z"); // T0
    char eb[40];
    if (ends)
        json_object_set_new(j, "endsAt", json_string(alertd_time_str(ends, eb, sizeof eb)));
    struct alertd_alert a;
    ck_assert_int_eq(alertd_alert_parse(j, now, 300000, &a, NULL), 0);
    json_decref(j);
    const struct alertd_alert *stored = alertd_store_put(st, &a, now);
    ck_assert_uint_gt(stored->refs, 0);
    return stored;
}

// A re-sent alert its groups hold, all flushed, is marked and not routed again (alertd's
// re-sent POSTs); once a group lets an alert go the marks lapse, so the same alert sent
// again after it left its group comes back in.
START_TEST(test_alertd_dispatch_resend_marked)
{
    alertd_store_t *st = alertd_store_new();
    const struct alertd_alert *a = s_stored(st, "alertname=A,line=L1,i=1", T0 + 600000, T0);
    const struct alertd_alert *b = s_stored(st, "alertname=A,line=L1,i=2", T0 + 600000, T0);
    alertd_dispatch_insert(s_d, a, T0);
    alertd_dispatch_insert(s_d, b, T0);
    ck_assert_uint_eq(a->grouped, 0); // its group has not flushed: a re-send may flush it
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    ck_assert_ptr_eq(s_stored(st, "alertname=A,line=L1,i=1", T0 + 600000, T0 + 20000),
                     a); // re-sent
    alertd_dispatch_insert(s_d, a, T0 + 20000);
    ck_assert_uint_ne(a->grouped, 0);
    uint64_t mark = a->grouped;
    alertd_dispatch_insert(s_d, a, T0 + 25000);
    ck_assert_uint_eq(a->grouped, mark);
    // b resolves and leaves the group at its next flush: a's mark lapses.
    ck_assert_ptr_eq(s_stored(st, "alertname=A,line=L1,i=2", T0 + 30000, T0 + 30000), b);
    alertd_dispatch_insert(s_d, b, T0 + 30000);
    ck_assert_int_eq(s_tick(T0 + 70000), 1);
    // a resolves too (the same stored alert, its endsAt moved): resolved, then the group goes.
    ck_assert_ptr_eq(s_stored(st, "alertname=A,line=L1,i=1", T0 + 80000, T0 + 80000), a);
    alertd_dispatch_insert(s_d, a, T0 + 80000);
    ck_assert_uint_ne(a->grouped, mark);
    ck_assert_int_eq(s_tick(T0 + 130000), 1);
    ck_assert_str_eq(json_string_value(json_object_get(s_payload(0), "status")), "resolved");
    ck_assert_int_eq(alertd_dispatch_groups(s_d), 0);
    // Sent again with a later endsAt, merged into the same stored alert: grouped again, and
    // the group notifies it as firing.
    ck_assert_ptr_eq(s_stored(st, "alertname=A,line=L1,i=1", T0 + 900000, T0 + 140000), a);
    alertd_dispatch_insert(s_d, a, T0 + 140000);
    ck_assert_int_eq(alertd_dispatch_groups(s_d), 1);
    ck_assert_int_eq(s_tick(T0 + 150000), 1);
    ck_assert_str_eq(json_string_value(json_object_get(s_payload(0), "status")), "firing");
    alertd_dispatch_destroy(&s_d); // its groups hold the store's alerts
    alertd_store_destroy(&st);
}
END_TEST

static void
s_put(alertd_store_t *st, const char *labels, int64_t ends)
{
    json_t *l = s_labels_json(labels);
    char eb[40];
    json_t *j = json_pack("{s:o, s:s, s:s}", "labels", l, "startsAt", "2027-01-15T07:00:00Z",
                          "endsAt", alertd_time_str(ends, eb, sizeof eb));
    struct alertd_alert a;
    ck_assert_int_eq(alertd_alert_parse(j, T0, 300000, &a, NULL), 0);
    alertd_store_put(st, &a, T0);
    json_decref(j);
}

static bool
s_mutes(alertd_inhibit_t *ih, const char *labels)
{
    struct fw_labels l = FW_LABELS_INIT;
    check_util_labels(&l, labels);
    bool m = alertd_inhibit_mutes(ih, &l, T0);
    fw_labels_clear(&l);
    return m;
}

START_TEST(test_alertd_dispatch_inhibit_rules)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("inhibit.yml",
                                             "route:\n  receiver: a\nreceivers:\n  - name: a\n"
                                             "inhibit_rules:\n"
                                             "  - source_matchers: ['severity=\"critical\"']\n"
                                             "    target_match_re: {severity: 'warning|critical'}\n"
                                             "    equal: [line]\n",
                                             &errs);
    ck_assert_ptr_nonnull(cfg);
    alertd_inhibit_t *ih = alertd_inhibit_new(cfg);
    ck_assert_int_eq(alertd_inhibit_rules(ih), 1);
    alertd_store_t *st = alertd_store_new();
    s_put(st, "alertname=Down,severity=critical,line=L1", T0 + 600000);
    s_put(st, "alertname=Old,severity=critical,line=L3", T0 - 1000); // resolved: no source
    alertd_inhibit_update(ih, st, T0);
    ck_assert(s_mutes(ih, "alertname=Slow,severity=warning,line=L1"));
    ck_assert(!s_mutes(ih, "alertname=Slow,severity=warning,line=L2")); // equal differs
    ck_assert(!s_mutes(ih, "alertname=Slow,severity=warning,line=L3"));
    ck_assert(!s_mutes(ih, "alertname=Slow,severity=info,line=L1")); // not a target
    ck_assert(!s_mutes(ih, "alertname=Slow,severity=warning"));      // line absent
    // A critical alert is target and source: the only source on L1 matches the target
    // side too, so it does not inhibit (no self-inhibition).
    ck_assert(!s_mutes(ih, "alertname=Down,severity=critical,line=L1"));
    // Down resolves by the clock at its endsAt: no inhibition then, without an update.
    struct fw_labels l = FW_LABELS_INIT;
    check_util_labels(&l, "alertname=Slow,severity=warning,line=L1");
    ck_assert(alertd_inhibit_mutes(ih, &l, T0 + 599999));
    ck_assert(!alertd_inhibit_mutes(ih, &l, T0 + 600000));
    fw_labels_clear(&l);
    alertd_store_destroy(&st);
    alertd_inhibit_destroy(&ih);
    alertd_inhibit_destroy(&ih);
    alertd_cfg_destroy(&cfg);
}
END_TEST

static const char *s_ti_yaml = "route:\n"
                               "  receiver: a\n"
                               "  group_by: [alertname]\n"
                               "  group_wait: 10s\n"
                               "  group_interval: 1m\n"
                               "  routes:\n"
                               "    - matchers: ['team=\"ops\"']\n"
                               "      mute_time_intervals: [friday-morning]\n"
                               "    - matchers: ['team=\"dev\"']\n"
                               "      active_time_intervals: [friday-morning]\n"
                               "receivers:\n  - name: a\n"
                               "time_intervals:\n"
                               "  - name: friday-morning\n"
                               "    time_intervals:\n"
                               "      - weekdays: [friday]\n"
                               "        times: [{start_time: '07:00', end_time: '09:00'}]\n";

START_TEST(test_alertd_dispatch_time_intervals)
{
    // T0 is Friday 2027-01-15 08:00 UTC: inside friday-morning.
    s_use(s_ti_yaml, "");
    ck_assert(alertd_cfg_in_interval(s_cfg, "friday-morning", T0));
    ck_assert(!alertd_cfg_in_interval(s_cfg, "friday-morning", T0 + 3600000));
    ck_assert(!alertd_cfg_in_interval(s_cfg, "friday-morning", T0 - 86400000LL));
    ck_assert(!alertd_cfg_in_interval(s_cfg, "no-such", T0));
    s_insert("alertname=A,team=ops", T0, T0 + 86400000LL, T0);
    s_insert("alertname=B,team=dev", T0, T0 + 86400000LL, T0);
    // ops is muted now; dev is active now.
    ck_assert_int_eq(s_tick(T0 + 10000), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(s_payload(0), "groupLabels"),
                                                       "alertname")),
                     "B");
    // After 09:00 the muted group notifies at its next flush.
    size_t sent = 0;
    for (int64_t t = T0 + 70000; t <= T0 + 3600000 + 60000; t += 60000) {
        size_t n = s_tick(t);
        if (n)
            ck_assert_int_ge(t, T0 + 3600000);
        sent += n;
    }
    ck_assert_int_eq(sent, 1);
}
END_TEST

static bool
s_spec_match(const char *yaml_spec, int64_t t)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    fprintf(f,
            "route:\n  receiver: a\nreceivers:\n  - name: a\ntime_intervals:\n"
            "  - name: x\n    time_intervals:\n      - %s\n",
            yaml_spec);
    fclose(f);
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("spec.yml", text, &errs);
    free(text);
    ck_assert_msg(cfg != NULL, "%s: %s", yaml_spec, errs.len ? errs.items[0].msg : "?");
    bool m = alertd_cfg_in_interval(cfg, "x", t);
    alertd_cfg_destroy(&cfg);
    return m;
}

START_TEST(test_alertd_dispatch_time_interval_specs)
{
    // T0: Friday 2027-01-15 08:00:00 UTC.
    ck_assert(s_spec_match("weekdays: ['monday:friday']", T0));
    ck_assert(!s_spec_match("weekdays: [saturday, sunday]", T0));
    ck_assert(s_spec_match("days_of_month: ['10:20']", T0));
    ck_assert(s_spec_match("days_of_month: ['-17:-15']", T0)); // 31-day January: 15 = -17
    ck_assert(!s_spec_match("days_of_month: ['-1']", T0));
    ck_assert(s_spec_match("days_of_month: ['1:-1']", T0));
    ck_assert(s_spec_match("months: ['january:march']", T0));
    ck_assert(s_spec_match("months: ['1']", T0));
    ck_assert(!s_spec_match("months: [december]", T0));
    ck_assert(s_spec_match("years: ['2026:2027']", T0));
    ck_assert(!s_spec_match("years: ['2028']", T0));
    ck_assert(s_spec_match("{times: [{start_time: '08:00', end_time: '24:00'}]}", T0));
    ck_assert(!s_spec_match("{times: [{start_time: '07:00', end_time: '08:00'}]}", T0));
    // 08:00 UTC is 09:00 in Berlin in January.
    ck_assert(s_spec_match("{location: Europe/Berlin, times: [{start_time: '09:00', end_time: "
                           "'10:00'}]}",
                           T0));
    ck_assert(s_spec_match("{}", T0));
    // Bad specs are configuration errors with a position.
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg =
        alertd_cfg_load("bad.yml",
                        "route:\n  receiver: a\nreceivers:\n  - name: a\ntime_intervals:\n"
                        "  - name: x\n    time_intervals:\n      - weekdays: [funday]\n"
                        "      - times: [{start_time: '10:00', end_time: '09:00'}]\n"
                        "      - location: Mars/Olympus\n",
                        &errs);
    ck_assert_ptr_null(cfg);
    ck_assert_int_eq(errs.len, 3);
    ck_assert_int_eq(errs.items[0].line, 8);
    ck_assert_int_eq(errs.items[0].col, 9);
    ck_assert_ptr_nonnull(strstr(errs.items[0].msg, "funday"));
    ck_assert_ptr_nonnull(strstr(errs.items[2].msg, "Mars/Olympus"));
}
END_TEST

Suite *
alertd_dispatch_suite(void)
{
    Suite *s = suite_create("alertd_dispatch");
    TCase *tc = tcase_create("dispatch");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_alertd_dispatch_group_wait);
    tcase_add_test(tc, test_alertd_dispatch_tick_visits_due_groups);
    tcase_add_test(tc, test_alertd_dispatch_group_interval);
    tcase_add_test(tc, test_alertd_dispatch_repeat_interval);
    tcase_add_test(tc, test_alertd_dispatch_resolved);
    tcase_add_test(tc, test_alertd_dispatch_old_alert_flushes_at_once);
    tcase_add_test(tc, test_alertd_dispatch_resolved_only_is_not_sent);
    tcase_add_test(tc, test_alertd_dispatch_muted_not_notified);
    tcase_add_test(tc, test_alertd_dispatch_payload_shape);
    tcase_add_test(tc, test_alertd_dispatch_group_key);
    tcase_add_test(tc, test_alertd_dispatch_store_merge);
    tcase_add_test(tc, test_alertd_dispatch_time_intervals);
    tcase_add_test(tc, test_alertd_dispatch_sibling_routes);
    tcase_add_test(tc, test_alertd_dispatch_per_integration);
    tcase_add_test(tc, test_alertd_dispatch_per_integration_opsgenie);
    tcase_add_test(tc, test_alertd_dispatch_per_integration_wechat_sns);
    tcase_add_test(tc, test_alertd_dispatch_legacy_entry);
    tcase_add_test(tc, test_alertd_dispatch_unanswered_and_dropped);
    tcase_add_test(tc, test_alertd_dispatch_webhook_json_kept);
    tcase_add_test(tc, test_alertd_dispatch_webhook_json_shares_annotations);
    tcase_add_test(tc, test_alertd_dispatch_resend_marked);
    tcase_add_test(tc, test_alertd_dispatch_receivers_of);
    suite_add_tcase(s, tc);
    TCase *ti = tcase_create("rules");
    tcase_add_test(ti, test_alertd_dispatch_inhibit_rules);
    tcase_add_test(ti, test_alertd_dispatch_time_interval_specs);
    suite_add_tcase(s, ti);
    return s;
}
