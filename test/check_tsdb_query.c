/*  check_tsdb_query.c — QUERY over ZeroMQ is answered off the ingest loop: the tsdb daemon
    on ephemeral loopback ports, a real sender (fw_sender) pushing acknowledged batches and
    DEALERs asking. While a deliberately slow query runs (a nested subquery sized by timing
    a small one first, so it takes seconds on any build), batches keep being committed and
    acknowledged at the commit interval's pace and a quick query on another worker is
    answered at once; the slow one still gets the exact answer. A full queue is refused at
    once, a query that runs out of time is answered "timeout", and stopping tsdb does not wait
    for a running query. The daemon's zloop runs in a thread, stopped as SIGTERM does.
*/
#include <check.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_sender.h"
#include "fw_time.h"
#include "../tsdb/tsdb.h"
#include "check_util.h"
#include "check_util_tsdb.h"

static char s_dir[128];
static struct tsdb_opts s_opts;
static struct check_util_tsdb s_t;
static int64_t s_workers = 2, s_queue = 4, s_timeout_ms = 120000; // for the next start

static void
s_start(void)
{
    check_util_tsdb_opts(&s_opts, s_dir);
    s_opts.zmq_query_workers = s_workers;
    s_opts.zmq_query_queue = s_queue;
    s_opts.zmq_query_timeout_ms = s_timeout_ms;
    check_util_tsdb_start(&s_t, &s_opts);
}

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_q");
    s_workers = 2;
    s_queue = 4;
    s_timeout_ms = 120000;
}

static void
s_teardown(void)
{
    check_util_tsdb_stop(&s_t);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// A DEALER on this tsdb's query endpoint.
static zsock_t *
s_dealer(void)
{
    return check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
}

// The slow query: Y outer steps of a 10,000-point inner subquery; its exact answer is
// 10,000 * Y.
static void
s_ask_slow(zsock_t *dealer, const char *id, int y)
{
    char q[160];
    snprintf(q, sizeof(q), "sum_over_time(count_over_time(vector(1)[10s:1ms])[%ds:1s])", y);
    check_util_tsdb_ask(dealer,
                        json_pack("{s:s, s:s, s:f}", "id", id, "query", q, "time", 1000000.0));
}

// Ask q at the current time.
static void
s_ask(zsock_t *dealer, const char *id, const char *q)
{
    check_util_tsdb_ask(dealer, json_pack("{s:s, s:s, s:f}", "id", id, "query", q, "time",
                                          (double)fw_time_now_ms() / 1000.0));
}

static double
s_value(json_t *ans)
{
    ck_assert_str_eq(json_string_value(json_object_get(ans, "status")), "success");
    const char *v = check_util_tsdb_value(ans);
    ck_assert_ptr_nonnull(v);
    return strtod(v, NULL);
}

static const char *
s_str(json_t *ans, const char *key)
{
    const char *s = json_string_value(json_object_get(ans, key));
    return s ? s : "";
}

// Outer steps that make the slow query take about target_ms here (timed on a small one).
static int
s_calibrate(zsock_t *dealer, int target_ms)
{
    int y = 4;
    for (int round = 0; round < 8; round++) {
        int64_t t0 = fw_time_mono_ms();
        s_ask_slow(dealer, "calibrate", y);
        json_t *ans = check_util_tsdb_answer(dealer, 60000);
        ck_assert_ptr_nonnull(ans);
        ck_assert_double_eq(s_value(ans), 10000.0 * y);
        json_decref(ans);
        int64_t took = fw_time_mono_ms() - t0;
        if (took >= 100 || y >= 1 << 20) {
            int64_t want = (int64_t)y * target_ms / (took > 0 ? took : 1);
            return want > y ? (int)want : y;
        }
        y *= 8;
    }
    return y;
}

// The value of the unlabelled metric name on this tsdb's /metrics.
static double
s_metric(const char *name)
{
    char url[128], key[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", tsdb_http_port(s_t.d));
    struct check_util_http r = check_util_http_get(url);
    ck_assert_int_eq(r.status, 200);
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *at = strstr(r.body, key);
    ck_assert_msg(at != NULL, "no %s on /metrics", name);
    double v = strtod(at + strlen(key), NULL);
    check_util_http_clear(&r);
    return v;
}

// Send one batch and wait (at most 3 s) for its acknowledgement; ms it took, or -1.
static int64_t
s_push(fw_sender_t *s, int64_t t)
{
    struct fw_batch *b = fw_batch_new();
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "ingest_probe");
    fw_series_add(fw_batch_add_series(b, &l), t, (double)t);
    fw_labels_clear(&l);
    ck_assert_int_eq(fw_sender_send(s, &b, NULL), 0);
    return check_util_tsdb_wait_acked(s, 3000);
}

START_TEST(test_tsdb_query_slow_query_does_not_stall_ingest)
{
    s_start();
    fw_sender_t *sender = check_util_tsdb_sender(s_t.d, "check_query");
    zsock_t *slow = s_dealer(), *quick = s_dealer();
    int64_t base = fw_time_now_ms();
    ck_assert_int_ge(s_push(sender, base), 0);

    int y = s_calibrate(slow, 4000);
    s_ask_slow(slow, "slow", y);
    int64_t asked = fw_time_mono_ms();
    // ingest goes on while the slow query runs: every batch acknowledged within a few
    // commit intervals
    int acked = 0;
    int64_t worst = 0;
    json_t *ans = NULL;
    while (!(ans = check_util_tsdb_answer(slow, 0)) && fw_time_mono_ms() - asked < 120000) {
        int64_t took = s_push(sender, base + 1 + acked);
        ck_assert_msg(took >= 0, "batch %d not acknowledged within 3 s during the slow query",
                      acked + 1);
        if (took > worst)
            worst = took;
        acked++;
        if (acked == 3) {
            // another worker answers a quick query meanwhile
            int64_t q0 = fw_time_mono_ms();
            s_ask(quick, "quick", "count(ingest_probe) + 1");
            json_t *qa = check_util_tsdb_answer(quick, 5000);
            ck_assert_ptr_nonnull(qa);
            ck_assert_str_eq(s_str(qa, "id"), "quick");
            ck_assert_double_eq(s_value(qa), 2);
            ck_assert_int_lt(fw_time_mono_ms() - q0, 1500);
            json_decref(qa);
        }
    }
    int64_t ran = fw_time_mono_ms() - asked;
    ck_assert_msg(ans != NULL, "no answer to the slow query in 120 s");
    ck_assert_msg(acked >= 5, "only %d batches acknowledged during the %lld ms slow query", acked,
                  (long long)ran);
    ck_assert_msg(worst < 1500, "an acknowledgement took %lld ms", (long long)worst);
    ck_assert_str_eq(s_str(ans, "id"), "slow");
    ck_assert_double_eq(s_value(ans), 10000.0 * y);
    json_decref(ans);
    // and every batch acknowledged is there
    s_ask(quick, "count", "count_over_time(ingest_probe[1h])");
    json_t *c = check_util_tsdb_answer(quick, 5000);
    ck_assert_ptr_nonnull(c);
    ck_assert_double_eq(s_value(c), acked + 1);
    json_decref(c);
    zsock_destroy(&quick);
    zsock_destroy(&slow);
    fw_sender_destroy(&sender);
}
END_TEST

START_TEST(test_tsdb_query_queue_full_and_timeouts_answered)
{
    s_workers = 1;
    s_queue = 1;
    s_timeout_ms = 120000;
    s_start();
    zsock_t *d = s_dealer();
    int y = s_calibrate(d, 1000);
    zsock_destroy(&d);
    check_util_tsdb_stop(&s_t);
    // the same tsdb with a 1 s budget: one query runs, one waits, the third is refused
    s_timeout_ms = 1000;
    s_start();
    zsock_t *a = s_dealer(), *b = s_dealer(), *c = s_dealer();
    // nothing waits yet: the queue's expiry tick does not run (it would wake the ingest
    // loop ten times a second), not even after a query answered at once
    s_ask(a, "quick", "1");
    json_t *quick = check_util_tsdb_answer(a, 5000);
    ck_assert_ptr_nonnull(quick);
    json_decref(quick);
    zclock_sleep(350);
    ck_assert_double_eq(s_metric("fw_tsdb_zmq_query_ticks_total"), 0);
    s_ask_slow(a, "a", y * 20);
    zclock_sleep(50);
    int64_t b0 = fw_time_mono_ms();
    s_ask_slow(b, "b", y * 20);
    zclock_sleep(50);
    int64_t t0 = fw_time_mono_ms();
    s_ask_slow(c, "c", 1);
    json_t *ans = check_util_tsdb_answer(c, 2000);
    ck_assert_ptr_nonnull(ans);
    ck_assert_int_lt(fw_time_mono_ms() - t0, 1000);
    ck_assert_str_eq(s_str(ans, "id"), "c");
    ck_assert_str_eq(s_str(ans, "status"), "error");
    ck_assert_str_eq(s_str(ans, "errorType"), "unavailable");
    ck_assert_ptr_nonnull(strstr(s_str(ans, "error"), "too many queries: 1 running and 1 waiting"));
    json_decref(ans);
    // the running one runs out of time while evaluating; the waiting one's budget counted
    // from its arrival, so it ends about 1 s after it was sent, not 1 s after it started
    ans = check_util_tsdb_answer(a, 5000);
    ck_assert_ptr_nonnull(ans);
    ck_assert_str_eq(s_str(ans, "id"), "a");
    ck_assert_str_eq(s_str(ans, "errorType"), "timeout");
    ck_assert_str_eq(s_str(ans, "error"), "query timed out in expression evaluation");
    json_decref(ans);
    ans = check_util_tsdb_answer(b, 5000);
    ck_assert_ptr_nonnull(ans);
    ck_assert_int_lt(fw_time_mono_ms() - b0, 1700);
    ck_assert_str_eq(s_str(ans, "id"), "b");
    ck_assert_str_eq(s_str(ans, "errorType"), "timeout");
    ck_assert_ptr_nonnull(strstr(s_str(ans, "error"), "query timed out in "));
    json_decref(ans);
    // b waited: the tick ran then (it answered b), and stopped once nothing waited
    double ticks = s_metric("fw_tsdb_zmq_query_ticks_total");
    ck_assert_double_ge(ticks, 1);
    zclock_sleep(350);
    ck_assert_double_eq(s_metric("fw_tsdb_zmq_query_ticks_total"), ticks);
    zsock_destroy(&a);
    zsock_destroy(&b);
    zsock_destroy(&c);
}
END_TEST

// The QUERY's timeout_ms (the asker's wait) shortens tsdb's own budget, counted from
// arrival: with a 120 s budget, a slow query asking 200 ms is answered "timeout" in about
// 200 ms while evaluating, and one asking 200 ms behind it while it waits in the queue; a
// timeout_ms above the budget leaves the budget; one that is no positive number is refused.
START_TEST(test_tsdb_query_timeout_ms_asked)
{
    s_workers = 1;
    s_queue = 4;
    s_timeout_ms = 120000;
    s_start();
    zsock_t *a = s_dealer(), *b = s_dealer();
    int y = s_calibrate(a, 3000);
    char q[160];
    snprintf(q, sizeof(q), "sum_over_time(count_over_time(vector(1)[10s:1ms])[%ds:1s])", y);
    int64_t t0 = fw_time_mono_ms();
    check_util_tsdb_ask(a, json_pack("{s:s, s:s, s:f, s:i}", "id", "a", "query", q, "time",
                                     1000000.0, "timeout_ms", 200));
    zclock_sleep(20);
    int64_t b0 = fw_time_mono_ms();
    check_util_tsdb_ask(b, json_pack("{s:s, s:s, s:f, s:i}", "id", "b", "query", q, "time",
                                     1000000.0, "timeout_ms", 200));
    json_t *ans = check_util_tsdb_answer(a, 5000);
    ck_assert_ptr_nonnull(ans);
    int64_t took = fw_time_mono_ms() - t0;
    ck_assert_msg(took >= 180 && took < 1000, "answered after %lld ms", (long long)took);
    ck_assert_str_eq(s_str(ans, "id"), "a");
    ck_assert_str_eq(s_str(ans, "errorType"), "timeout");
    ck_assert_str_eq(s_str(ans, "error"), "query timed out in expression evaluation");
    json_decref(ans);
    // b waited behind a (one worker); its 200 ms ran out in the queue (the 100 ms tick)
    ans = check_util_tsdb_answer(b, 5000);
    ck_assert_ptr_nonnull(ans);
    took = fw_time_mono_ms() - b0;
    ck_assert_msg(took >= 180 && took < 1000, "answered after %lld ms", (long long)took);
    ck_assert_str_eq(s_str(ans, "id"), "b");
    ck_assert_str_eq(s_str(ans, "errorType"), "timeout");
    ck_assert_ptr_nonnull(strstr(s_str(ans, "error"), "query timed out in "));
    json_decref(ans);
    // more than tsdb's budget: the budget stays, the quick query is answered
    check_util_tsdb_ask(a, json_pack("{s:s, s:s, s:f, s:f}", "id", "c", "query", "vector(2)",
                                     "time", 1000000.0, "timeout_ms", 1e12));
    ans = check_util_tsdb_answer(a, 5000);
    ck_assert_ptr_nonnull(ans);
    ck_assert_str_eq(s_str(ans, "id"), "c");
    ck_assert_double_eq(s_value(ans), 2.0);
    json_decref(ans);
    const double bad[] = {0, -5, 0.5};
    for (size_t k = 0; k < 3; k++) {
        check_util_tsdb_ask(a, json_pack("{s:s, s:s, s:f, s:f}", "id", "d", "query", "1", "time",
                                         1000000.0, "timeout_ms", bad[k]));
        ans = check_util_tsdb_answer(a, 5000);
        ck_assert_ptr_nonnull(ans);
        ck_assert_str_eq(s_str(ans, "id"), "d");
        ck_assert_str_eq(s_str(ans, "errorType"), "bad_data");
        ck_assert_str_eq(s_str(ans, "error"),
                         "timeout_ms must be a positive number of milliseconds");
        json_decref(ans);
    }
    zsock_destroy(&a);
    zsock_destroy(&b);
}
END_TEST

START_TEST(test_tsdb_query_stop_does_not_wait_for_a_query)
{
    s_start();
    zsock_t *d = s_dealer();
    int y = s_calibrate(d, 20000);
    s_ask_slow(d, "long", y);
    zclock_sleep(300); // it is running
    int64_t took = check_util_tsdb_stop(&s_t);
    ck_assert_msg(took < 3000, "stopping took %lld ms behind a ~20 s query", (long long)took);
    zsock_destroy(&d);
}
END_TEST

Suite *
tsdb_query_suite(void)
{
    Suite *s = suite_create("tsdb_query");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_query_slow_query_does_not_stall_ingest);
    tcase_add_test(tc, test_tsdb_query_queue_full_and_timeouts_answered);
    tcase_add_test(tc, test_tsdb_query_timeout_ms_asked);
    tcase_add_test(tc, test_tsdb_query_stop_does_not_wait_for_a_query);
    suite_add_tcase(s, tc);
    return s;
}
