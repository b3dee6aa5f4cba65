/*  check_alertd_api.c — alertd's API v2 beyond the basics (check_alertd_daemon.c): the
    status of an alert (inhibitedBy, silencedBy, state) as Alertmanager fills it, the
    floorwatch inhibit option equal_required, and the queryable notification log
    (alertd_nflog's history and GET /api/v2/notifications with its filters).

    The daemon cases run alertd in-process on a second thread with a PULL socket standing in
    for notifyd, and stop it as SIGTERM does (each Check test runs in its own fork).
*/
#include <check.h>
#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../alertd/alertd.h"
#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_inhibit.h"
#include "../alertd/alertd_int.h"
#include "../alertd/alertd_nflog.h"
#include "../alertd/alertd_state.h"
#include "../alertd/alertd_store.h"
#include "check_util.h"
#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_time.h"

#define T0 1800000000000LL
#define H (3600 * 1000LL)

// --- inhibit rules: which alert inhibits, and equal_required ---

static const char *s_inhibit_yaml = "route:\n  receiver: a\nreceivers:\n  - name: a\n"
                                    "inhibit_rules:\n"
                                    "  - source_matchers: ['severity=\"critical\"']\n"
                                    "    target_matchers: ['severity=\"warning\"']\n"
                                    "    equal: [line]\n"
                                    "  - source_matchers: ['alertname=\"PlantDown\"']\n"
                                    "    target_matchers: ['severity=\"info\"']\n"
                                    "    equal: [zone]\n";

static const struct alertd_alert *
s_put(alertd_store_t *st, const char *labels)
{
    struct fw_labels l = FW_LABELS_INIT;
    check_util_labels(&l, labels);
    json_t *lj = json_object();
    for (size_t i = 0; i < l.len; i++)
        json_object_set_new(lj, l.items[i].name, json_string(l.items[i].value)); // steals
    fw_labels_clear(&l);
    json_t *j = json_pack("{s:o, s:s}", "labels", lj, "startsAt", "2027-01-15T07:00:00Z");
    struct alertd_alert a;
    ck_assert_int_eq(alertd_alert_parse(j, T0, 300000, &a, NULL), 0);
    json_decref(j);
    return alertd_store_put(st, &a, T0);
}

// Whether ih inhibits labels at now, and by which fingerprint (0 when not).
static uint64_t
s_by_at(alertd_inhibit_t *ih, const char *labels, int64_t now)
{
    struct fw_labels l = FW_LABELS_INIT;
    check_util_labels(&l, labels);
    uint64_t by = 0;
    bool m = alertd_inhibit_mutes_by(ih, &l, now, &by);
    ck_assert_int_eq(m, alertd_inhibit_mutes(ih, &l, now));
    fw_labels_clear(&l);
    return m ? by : 0;
}

static uint64_t
s_by(alertd_inhibit_t *ih, const char *labels)
{
    return s_by_at(ih, labels, T0);
}

static alertd_inhibit_t *
s_inhibit_new(const char *equal_required)
{
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%s    equal_required: %s\n", s_inhibit_yaml, equal_required);
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("inhibit.yml", yaml, &errs);
    ck_assert_msg(cfg != NULL, "%s", errs.len ? errs.items[0].msg : "?");
    ck_assert_int_eq(cfg->inhibit_rules[1].equal_required, strcmp(equal_required, "true") == 0);
    alertd_inhibit_t *ih = alertd_inhibit_new(cfg);
    alertd_cfg_destroy(&cfg);
    return ih;
}

START_TEST(test_alertd_api_inhibited_by)
{
    alertd_store_t *st = alertd_store_new();
    uint64_t down1 = s_put(st, "alertname=Down,severity=critical,line=L1")->fp;
    uint64_t down2 = s_put(st, "alertname=Down2,severity=critical,line=L1")->fp;
    uint64_t plant = s_put(st, "alertname=PlantDown")->fp; // no zone
    uint64_t plant_z = s_put(st, "alertname=PlantDown,zone=Z")->fp;
    alertd_inhibit_t *ih = s_inhibit_new("false");
    alertd_inhibit_update(ih, st, T0);
    // Two sources inhibit Slow: the lowest fingerprint is named, every time.
    uint64_t low = down1 < down2 ? down1 : down2;
    ck_assert_uint_eq(s_by(ih, "alertname=Slow,severity=warning,line=L1"), low);
    ck_assert_uint_eq(s_by(ih, "alertname=Slow,severity=warning,line=L2"), 0);
    // Alertmanager's rule: an absent zone equals an absent zone.
    ck_assert_uint_eq(s_by(ih, "alertname=Info,severity=info"), plant);
    ck_assert_uint_eq(s_by(ih, "alertname=Info,severity=info,zone=Z"), plant_z);
    alertd_inhibit_destroy(&ih);

    // equal_required: the source without zone inhibits nothing, a target without zone is
    // never inhibited; with zone on both sides it works as before.
    ih = s_inhibit_new("true");
    alertd_inhibit_update(ih, st, T0);
    ck_assert_uint_eq(s_by(ih, "alertname=Info,severity=info"), 0);
    ck_assert_uint_eq(s_by(ih, "alertname=Info,severity=info,zone=Z"), plant_z);
    ck_assert_uint_eq(s_by(ih, "alertname=Info,severity=info,zone=Y"), 0);
    ck_assert_uint_eq(s_by(ih, "alertname=Slow,severity=warning,line=L1"), low);
    alertd_inhibit_destroy(&ih);
    alertd_store_destroy(&st);
}
END_TEST

// Alerts noted one at a time index as a rebuild does: a new source inhibits at once, the
// lowest firing fingerprint is named, a source resolved by a later update or by the clock
// stops inhibiting, and a rebuild gives the same answers.
START_TEST(test_alertd_api_inhibit_note)
{
    alertd_store_t *st = alertd_store_new();
    alertd_inhibit_t *ih = s_inhibit_new("false");
    alertd_inhibit_update(ih, st, T0);
    const char *slow = "alertname=Slow,severity=warning,line=L1";
    ck_assert_uint_eq(s_by(ih, slow), 0);
    const struct alertd_alert *d1 = s_put(st, "alertname=Down,severity=critical,line=L1");
    alertd_inhibit_note(ih, d1, T0);
    ck_assert_uint_eq(s_by(ih, slow), d1->fp);
    const struct alertd_alert *d2 = s_put(st, "alertname=Down2,severity=critical,line=L1");
    alertd_inhibit_note(ih, d2, T0);
    uint64_t f1 = d1->fp, f2 = d2->fp, low = f1 < f2 ? f1 : f2, high = f1 < f2 ? f2 : f1;
    ck_assert_uint_eq(s_by(ih, slow), low);
    // The lower one resolves (re-sent with an endsAt in the past): the other is named.
    const struct alertd_alert *lo = alertd_store_get(st, low);
    alertd_inhibit_note(ih, alertd_store_refresh(st, lo, T0 - 1, T0), T0);
    ck_assert_uint_eq(s_by(ih, slow), high);
    alertd_inhibit_update(ih, st, T0); // a rebuild agrees
    ck_assert_uint_eq(s_by(ih, slow), high);
    // Both gone by the clock once the other's endsAt passed.
    int64_t ends = alertd_store_get(st, high)->ends_at;
    ck_assert_int_gt(ends, T0);
    ck_assert_uint_eq(s_by_at(ih, slow, ends - 1), high);
    ck_assert_uint_eq(s_by_at(ih, slow, ends), 0);
    // Firing again (a re-send moves endsAt on): it inhibits again.
    alertd_inhibit_note(ih, alertd_store_refresh(st, lo, 0, T0), T0);
    ck_assert_uint_eq(s_by_at(ih, slow, ends), low);
    alertd_inhibit_destroy(&ih);
    alertd_store_destroy(&st);
}
END_TEST

START_TEST(test_alertd_api_equal_required_is_bool)
{
    struct fw_cfg_errors errs = {0};
    char yaml[1024];
    snprintf(yaml, sizeof yaml, "%s    equal_required: maybe\n", s_inhibit_yaml);
    struct alertd_cfg *cfg = alertd_cfg_load("inhibit.yml", yaml, &errs);
    ck_assert_ptr_null(cfg);
    ck_assert_int_ge(errs.len, 1);
    ck_assert_int_eq(errs.items[0].line, 12);
}
END_TEST

// --- the notification log's history ---

static char s_dir[128];

static void
s_dir_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof s_dir, "alertd-api");
}

static void
s_dir_teardown(void)
{
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// A NOTIFY body as alertd_dispatch makes it, with the integrations named.
static json_t *
s_notify_body(const char *receiver, const char *alertname, const char *status, bool slack)
{
    char gk[128];
    snprintf(gk, sizeof gk, "{}:{alertname=\"%s\"}", alertname);
    json_t *b = json_pack("{s:s, s:[{s:s}], s:{s:s, s:s, s:{s:s}, s:[{s:s, s:s}, {s:s, s:s}]}}",
                          "receiver", receiver, "webhook_configs", "url", "http://x/", "payload",
                          "groupKey", gk, "status", status, "groupLabels", "alertname", alertname,
                          "alerts", "fingerprint", "00000000000000aa", "status", status,
                          "fingerprint", "00000000000000bb", "status", "resolved");
    if (slack)
        json_object_set_new(b, "slack_configs", json_pack("[{s:s}]", "api_url", "http://s/"));
    return b;
}

static json_t *
s_query(alertd_nflog_t *log, const struct alertd_nflog_filter *f)
{
    return alertd_nflog_query(log, f);
}

START_TEST(test_alertd_api_nflog_query)
{
    alertd_state_t *st = alertd_state_new();
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_msg(alertd_state_open(st, s_dir, &err) == 0, "open: %s", err.msg);
    alertd_nflog_t *log = alertd_nflog_new(st, 120 * H);
    ck_assert_int_eq(alertd_state_begin(st, NULL), 0);
    json_t *b1 = s_notify_body("ops", "Down", "firing", true);
    json_t *b2 = s_notify_body("dev", "Slow", "firing", false);
    json_t *b3 = s_notify_body("ops", "Down", "resolved", false);
    alertd_nflog_record(log, b1, "sent", T0);
    alertd_nflog_record(log, b2, "dropped", T0 + 1000);
    alertd_nflog_record(log, b3, "sent", T0 + 2000);
    json_decref(b1);
    json_decref(b2);
    json_decref(b3);
    ck_assert_int_eq(alertd_state_commit(st, true, NULL), 0);

    struct alertd_nflog_filter all = {0};
    json_t *r = s_query(log, &all);
    ck_assert_int_eq(json_array_size(r), 3);
    json_t *first = json_array_get(r, 0);
    ck_assert_str_eq(json_string_value(json_object_get(first, "timestamp")),
                     "2027-01-15T08:00:00.000Z");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(first, "receiver"), "name")),
                     "ops");
    ck_assert_str_eq(json_string_value(json_object_get(first, "groupKey")),
                     "{}:{alertname=\"Down\"}");
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(first, "groupLabels"), "alertname")),
        "Down");
    ck_assert_str_eq(json_string_value(json_object_get(first, "status")), "firing");
    ck_assert_str_eq(json_string_value(json_object_get(first, "result")), "sent");
    char *integ = json_dumps(json_object_get(first, "integrations"), JSON_COMPACT);
    ck_assert_str_eq(integ, "[\"slack\",\"webhook\"]");
    free(integ);
    char *alerts = json_dumps(json_object_get(first, "alerts"), JSON_COMPACT);
    ck_assert_str_eq(alerts, "[{\"fingerprint\":\"00000000000000aa\",\"status\":\"firing\"},"
                             "{\"fingerprint\":\"00000000000000bb\",\"status\":\"resolved\"}]");
    free(alerts);
    char *before = json_dumps(r, JSON_COMPACT);
    json_decref(r);

    // Each filter alone, then together.
    struct alertd_matchers rcv = {0}, grp = {0};
    ck_assert_int_eq(alertd_matchers_add(&rcv, FW_MATCH_RE, "receiver", "o.s", NULL), 0);
    struct alertd_nflog_filter f = {.receiver = &rcv};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 2);
    json_decref(r);
    ck_assert_int_eq(alertd_matchers_parse(&grp, "alertname=\"Slow\"", NULL), 0);
    f = (struct alertd_nflog_filter){.group = &grp};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(r, 0), "result")), "dropped");
    json_decref(r);
    f = (struct alertd_nflog_filter){.group_key = "{}:{alertname=\"Down\"}"};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 2);
    json_decref(r);
    f = (struct alertd_nflog_filter){.result = "dropped"};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 1);
    json_decref(r);
    f = (struct alertd_nflog_filter){.status = "resolved"};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 1);
    json_decref(r);
    f = (struct alertd_nflog_filter){.since = T0 + 1000, .until = T0 + 1000};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 1); // both bounds inclusive
    json_decref(r);
    f = (struct alertd_nflog_filter){.since = T0 + 3000};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 0);
    json_decref(r);
    f = (struct alertd_nflog_filter){.receiver = &rcv, .result = "sent", .status = "resolved"};
    r = s_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 1);
    json_decref(r);
    alertd_matchers_clear(&rcv);
    alertd_matchers_clear(&grp);

    // A restart reads the same history back, and the next record sorts after it.
    alertd_nflog_destroy(&log);
    alertd_state_destroy(&st);
    st = alertd_state_new();
    ck_assert_int_eq(alertd_state_open(st, s_dir, NULL), 0);
    log = alertd_nflog_new(st, 120 * H);
    size_t bad = 9;
    ck_assert_int_eq(alertd_nflog_load(log, T0 + 3000, &bad, NULL), 0); // no group entries
    ck_assert_int_eq(bad, 0);
    r = s_query(log, &all);
    char *after = json_dumps(r, JSON_COMPACT);
    ck_assert_str_eq(after, before);
    free(after);
    free(before);
    json_decref(r);
    ck_assert_int_eq(alertd_state_begin(st, NULL), 0);
    json_t *b4 = s_notify_body("ops", "Late", "firing", false);
    alertd_nflog_record(log, b4, "sent", T0 + 2000); // same ms as the last one
    json_decref(b4);
    ck_assert_int_eq(alertd_state_commit(st, true, NULL), 0);
    alertd_nflog_destroy(&log);
    log = alertd_nflog_new(st, 120 * H);
    ck_assert_int_eq(alertd_nflog_load(log, T0 + 3000, NULL, NULL), 0);
    r = s_query(log, &all);
    ck_assert_int_eq(json_array_size(r), 4);
    ck_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(r, 3), "groupLabels"), "alertname")),
                     "Late");
    json_decref(r);

    // Records expire with the retention, from memory and from the state.
    ck_assert_int_eq(alertd_nflog_gc(log, T0 + 120 * H + 1500), 2);
    ck_assert_int_eq(alertd_nflog_history_size(log), 2);
    alertd_nflog_destroy(&log);
    log = alertd_nflog_new(st, 120 * H);
    ck_assert_int_eq(alertd_nflog_load(log, T0, NULL, NULL), 0);
    ck_assert_int_eq(alertd_nflog_history_size(log), 2);
    alertd_nflog_destroy(&log);
    alertd_state_destroy(&st);
}
END_TEST

// One fingerprint, fw_malloc'd (alertd_nflog_log takes it).
static uint64_t *
s_fps1(uint64_t fp)
{
    uint64_t *v = fw_malloc(sizeof *v);
    *v = fp;
    return v;
}

// alertd killed after a flush's entries were committed and before its record was (the
// ZeroMQ send plus up to 2 ms): after the restart the notification gets a "sent" record
// rebuilt from its entries, so alertd asks notifyd about it, and a "notifyd: lost" answer
// marks its entries failed (notified again at the next group_interval). On the old code
// nothing was asked (unanswered held n0 alone), the answer found no record (-1) and the
// entries stayed notified: the NOTIFY was lost until repeat_interval. An entry without its
// record that is older than the newest record (history cut at ALERTD_NFLOG_HISTORY_MAX) is
// not asked about.
START_TEST(test_alertd_api_nflog_unrecorded_asked)
{
    alertd_state_t *st = alertd_state_new();
    ck_assert_int_eq(alertd_state_open(st, s_dir, NULL), 0);
    alertd_nflog_t *log = alertd_nflog_new(st, 120 * H);
    const char *down = "{}:{alertname=\"Down\"}", *hot = "{}:{alertname=\"Hot\"}",
               *old = "{}:{alertname=\"Old\"}";
    ck_assert_int_eq(alertd_state_begin(st, NULL), 0);
    alertd_nflog_log(log, "dev/webhook/0", old, s_fps1(0xcc), 1, NULL, 0, "nold", T0 - 5000);
    alertd_nflog_log(log, "ops/webhook/0", down, s_fps1(0xaa), 1, NULL, 0, "n0", T0);
    json_t *b = s_notify_body("ops", "Down", "firing", false);
    json_object_set_new(b, "id", json_string("n0")); // steals
    alertd_nflog_record(log, b, "sent", T0);
    json_decref(b);
    alertd_nflog_log(log, "ops/webhook/0", hot, s_fps1(0xbb), 1, NULL, 0, "n1", T0 + 1000);
    alertd_nflog_log(log, "ops/slack/0", hot, s_fps1(0xbb), 1, NULL, 0, "n1", T0 + 1000);
    ck_assert_int_eq(alertd_state_commit(st, true, NULL), 0);
    alertd_nflog_destroy(&log);

    log = alertd_nflog_new(st, 120 * H);
    ck_assert_int_eq(alertd_nflog_load(log, T0 + 2000, NULL, NULL), 4);
    json_t *ids = alertd_nflog_unanswered(log, T0 + 2000, 10);
    char *text = json_dumps(ids, JSON_COMPACT);
    ck_assert_str_eq(text, "[\"n0\",\"n1\"]");
    free(text);
    json_decref(ids);
    struct alertd_nflog_filter f = {.group_key = hot};
    json_t *r = alertd_nflog_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 1);
    json_t *rec = json_array_get(r, 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "receiver"), "name")),
                     "ops");
    ck_assert_str_eq(json_string_value(json_object_get(rec, "result")), "sent");
    ck_assert(json_is_true(json_object_get(rec, "recovered")));
    text = json_dumps(json_object_get(rec, "integrations"), JSON_COMPACT);
    ck_assert_str_eq(text, "[\"slack\",\"webhook\"]");
    free(text);
    text = json_dumps(json_object_get(rec, "alerts"), JSON_COMPACT);
    ck_assert_str_eq(text, "[{\"fingerprint\":\"00000000000000bb\",\"status\":\"firing\"}]");
    free(text);
    json_decref(r);

    ck_assert_int_eq(alertd_state_begin(st, NULL), 0);
    ck_assert_int_eq(alertd_nflog_result(log, "n1", "failed", "notifyd: lost", NULL), 0);
    ck_assert_int_eq(alertd_state_commit(st, true, NULL), 0);
    ck_assert(alertd_nflog_get(log, "ops/webhook/0", hot, T0 + 2000)->failed);
    ck_assert(alertd_nflog_get(log, "ops/slack/0", hot, T0 + 2000)->failed);
    ck_assert(!alertd_nflog_get(log, "dev/webhook/0", old, T0 + 2000)->failed);
    ck_assert(!alertd_nflog_get(log, "ops/webhook/0", down, T0 + 2000)->failed);
    // The answer wrote the record: a second restart asks nothing more about n1.
    alertd_nflog_destroy(&log);
    log = alertd_nflog_new(st, 120 * H);
    ck_assert_int_eq(alertd_nflog_load(log, T0 + 3000, NULL, NULL), 4);
    ids = alertd_nflog_unanswered(log, T0 + 3000, 10);
    text = json_dumps(ids, JSON_COMPACT);
    ck_assert_str_eq(text, "[\"n0\"]");
    free(text);
    json_decref(ids);
    ck_assert(alertd_nflog_get(log, "ops/slack/0", hot, T0 + 3000)->failed);
    alertd_nflog_destroy(&log);
    alertd_state_destroy(&st);
}
END_TEST

START_TEST(test_alertd_api_nflog_history_bounded)
{
    alertd_nflog_t *log = alertd_nflog_new(NULL, 120 * H);
    json_t *b = s_notify_body("ops", "Down", "firing", false);
    for (int i = 0; i < ALERTD_NFLOG_HISTORY_MAX + 5; i++)
        alertd_nflog_record(log, b, "sent", T0 + i);
    json_decref(b);
    ck_assert_int_eq(alertd_nflog_history_size(log), ALERTD_NFLOG_HISTORY_MAX);
    struct alertd_nflog_filter f = {.until = T0 + 4};
    json_t *r = alertd_nflog_query(log, &f);
    ck_assert_int_eq(json_array_size(r), 0); // the 5 oldest went
    json_decref(r);
    alertd_nflog_destroy(&log);
}
END_TEST

// --- alertd in-process: GET /api/v2/alerts, /alerts/groups, /notifications ---

static const char *s_yaml = "route:\n"
                            "  receiver: hook\n"
                            "  group_by: [alertname]\n"
                            "  group_wait: 100ms\n"
                            "  group_interval: 1m\n"
                            "  routes:\n"
                            "    - matchers: ['team=\"ops\"']\n"
                            "      receiver: ops\n"
                            "receivers:\n"
                            "  - name: hook\n"
                            "    webhook_configs:\n"
                            "      - url: http://127.0.0.1:1/hook\n"
                            "  - name: ops\n"
                            "    webhook_configs:\n"
                            "      - url: http://127.0.0.1:1/ops\n"
                            "inhibit_rules:\n"
                            "  - source_matchers: ['severity=\"critical\"']\n"
                            "    target_matchers: ['severity=\"warning\"']\n"
                            "    equal: [line]\n"
                            "  - source_matchers: ['alertname=\"PlantDown\"']\n"
                            "    target_matchers: ['severity=\"info\"']\n"
                            "    equal: [zone]\n"
                            "    equal_required: true\n";

static struct alertd_opts s_opts;
static char s_ep[4][160];
static alertd_t *s_d;
static pthread_t s_thread;
static zsock_t *s_notify;
static int s_port;

static void *
s_run(void *arg)
{
    (void)arg;
    alertd_run(s_d);
    return NULL;
}

// With results, a PUB standing in for notifyd's (alertd SUBscribes to its NOTIFY_RESULTs).
static zsock_t *s_results;

static void
s_daemon_start(bool results)
{
    check_util_tmpdir_new(s_dir, sizeof s_dir, "alertd-api");
    snprintf(s_ep[0], sizeof s_ep[0], "ipc://%s/alerts", s_dir);
    snprintf(s_ep[1], sizeof s_ep[1], "ipc://%s/notify", s_dir);
    snprintf(s_ep[2], sizeof s_ep[2], "ipc://%s/pub", s_dir);
    snprintf(s_ep[3], sizeof s_ep[3], "ipc://%s/results", s_dir);
    if (results) {
        s_results = zsock_new_pub(NULL);
        ck_assert_int_eq(zsock_attach(s_results, s_ep[3], true), 0);
        s_opts.zmq_notifyd_pub = s_ep[3];
    }
    static char storage[160];
    snprintf(storage, sizeof storage, "%s/data", s_dir);
    s_opts.common.web_listen_address = "127.0.0.1:0";
    s_opts.zmq_alerts = s_ep[0];
    s_opts.zmq_notifyd = s_ep[1];
    s_opts.zmq_pub = s_ep[2];
    s_opts.storage_path = storage;
    s_opts.data_retention = 120 * H;
    s_opts.external_url = "http://alertd.test";
    s_notify = zsock_new_pull(NULL);
    ck_assert_int_eq(zsock_attach(s_notify, s_ep[1], true), 0);
    zsock_set_rcvtimeo(s_notify, 5000);
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("api.yml", s_yaml, &errs);
    ck_assert_ptr_nonnull(cfg);
    s_d = alertd_new(&s_opts, &cfg);
    ck_assert_ptr_nonnull(s_d);
    s_port = alertd_http_port(s_d);
    pthread_create(&s_thread, NULL, s_run, NULL);
}

static void
s_daemon_setup(void)
{
    s_daemon_start(false);
}

static void
s_daemon_results_setup(void)
{
    s_daemon_start(true);
}

static void
s_daemon_teardown(void)
{
    zsys_interrupted = 1;
    pthread_join(s_thread, NULL);
    alertd_destroy(&s_d);
    zsys_interrupted = 0;
    zsock_destroy(&s_notify);
    zsock_destroy(&s_results);
    s_opts.zmq_notifyd_pub = NULL;
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

static long
s_http(const char *method, const char *path, const char *body, json_t **out)
{
    char url[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", s_port, path);
    struct check_util_http r;
    (void)check_util_http_request(method, url, body, body ? strlen(body) : 0, "application/json",
                                  NULL, 5000, &r);
    if (out) {
        *out = json_loads(r.body, JSON_DECODE_ANY, NULL);
        ck_assert_msg(*out != NULL || r.len == 0, "not JSON: %s", r.body);
    }
    long status = r.status;
    check_util_http_clear(&r);
    return status;
}

// The alert named alertname in arr (borrowed), or NULL.
static json_t *
s_find(json_t *arr, const char *alertname)
{
    size_t i;
    json_t *a;
    json_array_foreach(arr, i, a)
    {
        const char *n =
            json_string_value(json_object_get(json_object_get(a, "labels"), "alertname"));
        if (n && strcmp(n, alertname) == 0)
            return a;
    }
    return NULL;
}

// a's status as compact JSON, e.g. {"inhibitedBy":[],"silencedBy":[],"state":"active"}.
static void
s_status_is(json_t *arr, const char *alertname, const char *want)
{
    json_t *a = s_find(arr, alertname);
    ck_assert_msg(a != NULL, "no %s", alertname);
    char *got = json_dumps(json_object_get(a, "status"), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(strcmp(got, want) == 0, "%s: %s, want %s", alertname, got, want);
    free(got);
}

static const char *
s_fp(json_t *arr, const char *alertname)
{
    return json_string_value(json_object_get(s_find(arr, alertname), "fingerprint"));
}

START_TEST(test_alertd_api_alert_status)
{
    json_t *j = NULL;
    ck_assert_int_eq(
        s_http("POST", "/api/v2/silences",
               "{\"matchers\":[{\"name\":\"line\",\"value\":\"L9\",\"isRegex\":false}],"
               "\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
               "\"createdBy\":\"test\",\"comment\":\"maintenance\"}",
               &j),
        200);
    char sid[64];
    snprintf(sid, sizeof sid, "%s", json_string_value(json_object_get(j, "silenceID")));
    json_decref(j);
    ck_assert_int_eq(s_http("POST", "/api/v2/alerts",
                            "[{\"labels\":{\"alertname\":\"Down\",\"severity\":\"critical\","
                            "\"line\":\"L1\"}},"
                            "{\"labels\":{\"alertname\":\"Slow\",\"severity\":\"warning\","
                            "\"line\":\"L1\"}},"
                            "{\"labels\":{\"alertname\":\"Both\",\"severity\":\"warning\","
                            "\"line\":\"L1\",\"team\":\"ops\"}},"
                            "{\"labels\":{\"alertname\":\"Quiet\",\"severity\":\"warning\","
                            "\"line\":\"L9\"}},"
                            "{\"labels\":{\"alertname\":\"PlantDown\"}},"
                            "{\"labels\":{\"alertname\":\"Info\",\"severity\":\"info\"}}]",
                            NULL),
                     200);
    // Both is inhibited and, once silenced, silenced too.
    char sil2[512];
    ck_assert_int_eq(
        s_http("POST", "/api/v2/silences",
               "{\"matchers\":[{\"name\":\"alertname\",\"value\":\"Both\",\"isRegex\":false}],"
               "\"startsAt\":\"2020-01-01T00:00:00Z\",\"endsAt\":\"2099-01-01T00:00:00Z\","
               "\"createdBy\":\"test\",\"comment\":\"both\"}",
               &j),
        200);
    char sid2[64];
    snprintf(sid2, sizeof sid2, "%s", json_string_value(json_object_get(j, "silenceID")));
    json_decref(j);

    ck_assert_int_eq(s_http("GET", "/api/v2/alerts", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(j), 6);
    char want[512];
    snprintf(want, sizeof want,
             "{\"inhibitedBy\":[\"%s\"],\"silencedBy\":[],\"state\":\"suppressed\"}",
             s_fp(j, "Down"));
    s_status_is(j, "Slow", want);
    snprintf(sil2, sizeof sil2,
             "{\"inhibitedBy\":[\"%s\"],\"silencedBy\":[\"%s\"],\"state\":\"suppressed\"}",
             s_fp(j, "Down"), sid2);
    s_status_is(j, "Both", sil2);
    snprintf(want, sizeof want,
             "{\"inhibitedBy\":[],\"silencedBy\":[\"%s\"],\"state\":\"suppressed\"}", sid);
    s_status_is(j, "Quiet", want);
    s_status_is(j, "Down", "{\"inhibitedBy\":[],\"silencedBy\":[],\"state\":\"active\"}");
    // equal_required: PlantDown has no zone, so Info (no zone either) is not inhibited.
    s_status_is(j, "Info", "{\"inhibitedBy\":[],\"silencedBy\":[],\"state\":\"active\"}");
    json_decref(j);

    // ?inhibited=false leaves out the inhibited ones (Slow, Both), ?silenced=false the
    // silenced ones (Quiet, Both).
    ck_assert_int_eq(s_http("GET", "/api/v2/alerts?inhibited=false", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(j), 4);
    ck_assert_ptr_null(s_find(j, "Slow"));
    ck_assert_ptr_null(s_find(j, "Both"));
    json_decref(j);
    ck_assert_int_eq(s_http("GET", "/api/v2/alerts?silenced=false", NULL, &j), 200);
    ck_assert_int_eq(json_array_size(j), 4);
    json_decref(j);

    // The groups show the same status.
    ck_assert_int_eq(s_http("GET", "/api/v2/alerts/groups", NULL, &j), 200);
    size_t i;
    json_t *g;
    int seen = 0;
    json_array_foreach(j, i, g)
    {
        json_t *alerts = json_object_get(g, "alerts");
        if (s_find(alerts, "Both")) {
            s_status_is(alerts, "Both", sil2);
            seen++;
        }
    }
    ck_assert_int_eq(seen, 1);
    json_decref(j);
}
END_TEST

// Receive NOTIFY bodies until n came (5 s each at most).
static void
s_recv_n(int n)
{
    for (int i = 0; i < n; i++) {
        struct fw_msg *m = NULL;
        fw_err_t err;
        ck_assert_msg(fw_msg_recv(s_notify, &m, &err) == 0, "NOTIFY %d of %d: %s", i + 1, n,
                      err.msg);
        fw_msg_destroy(&m);
    }
}

START_TEST(test_alertd_api_notifications)
{
    json_t *j = NULL;
    ck_assert_int_eq(
        s_http("POST", "/api/v2/alerts",
               "[{\"labels\":{\"alertname\":\"Down\",\"team\":\"ops\",\"line\":\"L1\"}},"
               "{\"labels\":{\"alertname\":\"Hot\",\"line\":\"L2\"}},"
               "{\"labels\":{\"alertname\":\"Cold\",\"line\":\"L3\"},"
               "\"endsAt\":\"2020-01-01T00:00:00Z\"}]",
               NULL),
        200);
    s_recv_n(2); // Cold was resolved before it ever fired: nothing to say
    // alertd logs a notification just after it leaves: wait for both (2 s at most).
    for (int tries = 0;; tries++) {
        ck_assert_int_eq(s_http("GET", "/api/v2/notifications", NULL, &j), 200);
        if (json_array_size(j) >= 2 || tries == 200)
            break;
        json_decref(j);
        zclock_sleep(10);
    }
    ck_assert_int_eq(json_array_size(j), 2);
    json_t *down = NULL;
    size_t i;
    json_t *n;
    json_array_foreach(j, i, n)
    {
        if (strcmp(json_string_value(json_object_get(json_object_get(n, "receiver"), "name")),
                   "ops") == 0)
            down = n;
    }
    ck_assert_ptr_nonnull(down);
    ck_assert_str_eq(json_string_value(json_object_get(down, "groupKey")),
                     "{}/{team=\"ops\"}:{alertname=\"Down\"}");
    ck_assert_str_eq(json_string_value(json_object_get(down, "result")), "sent");
    ck_assert_str_eq(json_string_value(json_object_get(down, "status")), "firing");
    ck_assert_int_eq(json_array_size(json_object_get(down, "alerts")), 1);
    json_decref(j);

    static const struct {
        const char *query;
        long status;
        int count; // -1: an error answer
    } cases[] = {
        {"?receiver=ops", 200, 1},
        {"?receiver=op", 200, 0}, // anchored
        {"?receiver=hook%7Cops", 200, 2},
        {"?filter=alertname%3D%22Hot%22", 200, 1},
        {"?filter=alertname%3D~%22Hot%7CDown%22&receiver=hook", 200, 1},
        {"?groupKey=%7B%7D%3A%7Balertname%3D%22Hot%22%7D", 200, 1},
        {"?result=sent", 200, 2},
        {"?result=dropped", 200, 0},
        {"?status=resolved", 200, 0},
        {"?since=2020-01-01T00:00:00Z", 200, 2},
        {"?since=2099-01-01T00:00:00Z", 200, 0},
        {"?until=2020-01-01T00:00:00Z", 200, 0},
        {"?result=delivered", 200, 0}, // documented values, none with an outcome yet
        {"?result=failed", 200, 0},
        {"?result=maybe", 400, -1},
        {"?status=pending", 400, -1},
        {"?since=yesterday", 400, -1},
        {"?filter=alertname%3D~%22(%22", 400, -1},
        {"?receiver=(", 400, -1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[256];
        snprintf(path, sizeof path, "/api/v2/notifications%s", cases[k].query);
        long st = s_http("GET", path, NULL, &j);
        ck_assert_msg(st == cases[k].status, "%s: %ld", cases[k].query, st);
        if (cases[k].count >= 0)
            ck_assert_msg((int)json_array_size(j) == cases[k].count, "%s: %zu", cases[k].query,
                          json_array_size(j));
        else
            ck_assert_msg(json_is_string(j), "%s: error not a JSON string", cases[k].query);
        json_decref(j);
    }
}
END_TEST

// The records ?query answers (bounded: 5 s), once it answers want of them.
static json_t *
s_notifications_until(const char *query, size_t want)
{
    char path[256];
    snprintf(path, sizeof path, "/api/v2/notifications%s", query);
    json_t *j = NULL;
    for (int tries = 0;; tries++) {
        ck_assert_int_eq(s_http("GET", path, NULL, &j), 200);
        if (json_array_size(j) == want || tries == 500)
            return j;
        json_decref(j);
        zclock_sleep(10);
    }
}

// Every result value README.md and alertd.8 document filters as documented: sent while
// notifyd has not answered, then notifyd's outcome (delivered, or failed with its reason);
// dropped is none here. The old filter answered 400 to delivered and failed.
START_TEST(test_alertd_api_notifications_outcomes)
{
    ck_assert_int_eq(s_http("POST", "/api/v2/alerts",
                            "[{\"labels\":{\"alertname\":\"Down\",\"team\":\"ops\"}},"
                            "{\"labels\":{\"alertname\":\"Hot\"}}]",
                            NULL),
                     200);
    char ids[2][64], receivers[2][32];
    for (int i = 0; i < 2;) { // the two NOTIFYs (a NOTIFY_ACK asking for outcomes is skipped)
        struct fw_msg *m = NULL;
        fw_err_t err;
        ck_assert_msg(fw_msg_recv(s_notify, &m, &err) == 0, "NOTIFY %d: %s", i + 1, err.msg);
        if (m->type == FW_MSG_NOTIFY) {
            snprintf(ids[i], sizeof ids[i], "%s",
                     json_string_value(json_object_get(m->body, "id")));
            snprintf(receivers[i], sizeof receivers[i], "%s",
                     json_string_value(json_object_get(m->body, "receiver")));
            i++;
        }
        fw_msg_destroy(&m);
    }
    json_t *j = s_notifications_until("?result=sent", 2);
    ck_assert_int_eq(json_array_size(j), 2);
    json_decref(j);
    // notifyd's outcomes, published until they are recorded (a SUB joins late).
    for (int tries = 0; tries < 500; tries++) {
        for (int i = 0; i < 2; i++) {
            json_t *b = json_pack("{s:s, s:s, s:s}", "id", ids[i], "receiver", receivers[i],
                                  "result", i == 0 ? "delivered" : "failed");
            if (i == 1)
                json_object_set_new(b, "reason", json_string("webhook: http_5xx")); // steals
            struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY_RESULT, b);            // steals b
            fw_err_t err;
            ck_assert_msg(fw_msg_send(&m, s_results, &err) == 0, "%s", err.msg);
        }
        ck_assert_int_eq(s_http("GET", "/api/v2/notifications?result=sent", NULL, &j), 200);
        size_t left = json_array_size(j);
        json_decref(j);
        if (left == 0)
            break;
        zclock_sleep(10);
    }
    j = s_notifications_until("?result=delivered", 1);
    ck_assert_int_eq(json_array_size(j), 1);
    json_t *r = json_array_get(j, 0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "result")), "delivered");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "receiver"), "name")),
                     receivers[0]);
    json_decref(j);
    j = s_notifications_until("?result=failed", 1);
    ck_assert_int_eq(json_array_size(j), 1);
    r = json_array_get(j, 0);
    ck_assert_str_eq(json_string_value(json_object_get(r, "result")), "failed");
    ck_assert_str_eq(json_string_value(json_object_get(r, "reason")), "webhook: http_5xx");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r, "receiver"), "name")),
                     receivers[1]);
    json_decref(j);
    static const struct {
        const char *query;
        size_t count;
    } cases[] = {
        {"?result=sent", 0},
        {"?result=dropped", 0},
        {"?result=failed&receiver=hook%7Cops", 1},
        {"?result=delivered&status=resolved", 0},
        {"", 2},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char path[256];
        snprintf(path, sizeof path, "/api/v2/notifications%s", cases[k].query);
        ck_assert_int_eq(s_http("GET", path, NULL, &j), 200);
        ck_assert_msg(json_array_size(j) == cases[k].count, "%s: %zu", cases[k].query,
                      json_array_size(j));
        json_decref(j);
    }
    // A value outside the documented ones is refused, naming them.
    ck_assert_int_eq(s_http("GET", "/api/v2/notifications?result=Delivered", NULL, &j), 400);
    ck_assert_str_eq(json_string_value(j), "failed to parse result param: \"Delivered\" is not "
                                           "one of sent, dropped, delivered or failed");
    json_decref(j);
}
END_TEST

START_TEST(test_alertd_api_status)
{
    json_t *j = NULL;
    ck_assert_int_eq(s_http("GET", "/api/v2/status", NULL, &j), 200);
    json_t *v = json_object_get(j, "versionInfo");
    ck_assert_str_eq(json_string_value(json_object_get(v, "goVersion")), "none (C)");
    const char *version = json_string_value(json_object_get(v, "version"));
    ck_assert_ptr_nonnull(strstr(version, "+floorwatch"));
    static const char *const keys[] = {"revision", "branch", "buildUser", "buildDate"};
    for (size_t i = 0; i < 4; i++) {
        const char *s = json_string_value(json_object_get(v, keys[i]));
        ck_assert_msg(s && *s, "versionInfo.%s empty", keys[i]);
    }
    const char *date = json_string_value(json_object_get(v, "buildDate"));
    ck_assert_msg(strcmp(date, "unknown") == 0 || (strlen(date) == 17 && date[8] == '-'),
                  "buildDate %s", date);
    char *cluster = json_dumps(json_object_get(j, "cluster"), JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_str_eq(cluster, "{\"peers\":[],\"status\":\"disabled\"}");
    free(cluster);
    const char *orig = json_string_value(json_object_get(json_object_get(j, "config"), "original"));
    ck_assert_ptr_nonnull(strstr(orig, "equal_required: true"));
    ck_assert_ptr_null(strstr(orig, "127.0.0.1:1/ops")); // a webhook URL is a secret
    ck_assert_ptr_nonnull(strstr(orig, "<secret>"));
    json_decref(j);
}
END_TEST

// Alerts the inhibit index looked at so far (read under alertd's lock).
static size_t
s_inhibit_visits(void)
{
    pthread_mutex_lock(&s_d->lock);
    size_t n = alertd_inhibit_visits(s_d->inhibit);
    pthread_mutex_unlock(&s_d->lock);
    return n;
}

// How many alerts inhibit the alert named name in arr (its status's inhibitedBy).
static size_t
s_inhibitors(json_t *arr, const char *name)
{
    json_t *a = s_find(arr, name);
    ck_assert_msg(a != NULL, "no %s", name);
    return json_array_size(json_object_get(json_object_get(a, "status"), "inhibitedBy"));
}

// A POST changes the inhibit index by its own alerts: with 40 firing sources stored, ten
// POSTs of two alerts (each followed by a GET that needs the index) look at those 20, not
// the 40+ of a rebuild each (the build before the incremental index looked at 400+).
START_TEST(test_alertd_api_inhibit_index_incremental)
{
    char body[8192];
    size_t off = 0;
    off += (size_t)snprintf(body + off, sizeof body - off, "[");
    for (int i = 0; i < 40; i++)
        off += (size_t)snprintf(body + off, sizeof body - off,
                                "%s{\"labels\":{\"alertname\":\"Down\",\"severity\":\"critical\","
                                "\"line\":\"L%d\"}}",
                                i ? "," : "", i);
    snprintf(body + off, sizeof body - off, "]");
    ck_assert_int_eq(s_http("POST", "/api/v2/alerts", body, NULL), 200);
    json_t *j = NULL;
    ck_assert_int_eq(s_http("GET", "/api/v2/alerts", NULL, &j), 200);
    json_decref(j);
    size_t v0 = s_inhibit_visits();
    for (int i = 0; i < 10; i++) {
        char one[256], name[32];
        snprintf(name, sizeof name, "Slow%d", i);
        snprintf(one, sizeof one,
                 "[{\"labels\":{\"alertname\":\"%s\",\"severity\":\"warning\",\"line\":\"L%d\"}},"
                 "{\"labels\":{\"alertname\":\"Down\",\"severity\":\"critical\","
                 "\"line\":\"M%d\"}}]",
                 name, i, i);
        ck_assert_int_eq(s_http("POST", "/api/v2/alerts", one, NULL), 200);
        ck_assert_int_eq(s_http("GET", "/api/v2/alerts", NULL, &j), 200);
        // The new target is inhibited by the stored source of its line.
        ck_assert_int_eq(s_inhibitors(j, name), 1);
        json_decref(j);
    }
    // A source POSTed last inhibits at once; resolving it by POST lifts that.
    ck_assert_int_eq(s_http("POST", "/api/v2/alerts",
                            "[{\"labels\":{\"alertname\":\"Late\",\"severity\":\"warning\","
                            "\"line\":\"M9\"}}]",
                            NULL),
                     200);
    ck_assert_int_eq(s_http("GET", "/api/v2/alerts", NULL, &j), 200);
    ck_assert_int_eq(s_inhibitors(j, "Late"), 1);
    json_decref(j);
    // Resolved a second ago, not in 2020: an alert resolved longer ago than the retention
    // leaves the store at the next housekeeping tick, and that full rebuild of the index
    // (62 visits) would be counted here whenever the tick fell before v1 (a slow run did).
    char resolve[256], ends[40];
    fw_time_rfc3339(fw_time_now_ms() - 1000, ends, sizeof ends);
    snprintf(resolve, sizeof resolve,
             "[{\"labels\":{\"alertname\":\"Down\",\"severity\":\"critical\","
             "\"line\":\"M9\"},\"endsAt\":\"%s\"}]",
             ends);
    ck_assert_int_eq(s_http("POST", "/api/v2/alerts", resolve, NULL), 200);
    ck_assert_int_eq(s_http("GET", "/api/v2/alerts", NULL, &j), 200);
    ck_assert_int_eq(s_inhibitors(j, "Late"), 0);
    json_decref(j);
    size_t v1 = s_inhibit_visits();
    ck_assert_msg(v1 - v0 <= 22, "the index looked at %zu alerts for 22 POSTed", v1 - v0);
}
END_TEST

Suite *
alertd_api_suite(void)
{
    Suite *s = suite_create("alertd_api");
    TCase *tu = tcase_create("units");
    tcase_add_test(tu, test_alertd_api_inhibited_by);
    tcase_add_test(tu, test_alertd_api_inhibit_note);
    tcase_add_test(tu, test_alertd_api_equal_required_is_bool);
    tcase_add_test(tu, test_alertd_api_nflog_history_bounded);
    suite_add_tcase(s, tu);
    TCase *tl = tcase_create("nflog");
    tcase_add_checked_fixture(tl, s_dir_setup, s_dir_teardown);
    tcase_add_test(tl, test_alertd_api_nflog_query);
    tcase_add_test(tl, test_alertd_api_nflog_unrecorded_asked);
    suite_add_tcase(s, tl);
    TCase *td = tcase_create("daemon");
    tcase_set_timeout(td, 30);
    tcase_add_checked_fixture(td, s_daemon_setup, s_daemon_teardown);
    tcase_add_test(td, test_alertd_api_alert_status);
    tcase_add_test(td, test_alertd_api_notifications);
    tcase_add_test(td, test_alertd_api_status);
    tcase_add_test(td, test_alertd_api_inhibit_index_incremental);
    suite_add_tcase(s, td);

    // alertd with notifyd's outcomes (a PUB standing in for notifyd's)
    td = tcase_create("outcomes");
    tcase_set_timeout(td, 30);
    tcase_add_checked_fixture(td, s_daemon_results_setup, s_daemon_teardown);
    tcase_add_test(td, test_alertd_api_notifications_outcomes);
    suite_add_tcase(s, td);
    return s;
}
