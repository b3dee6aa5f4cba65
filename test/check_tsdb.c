/*  check_tsdb.c — the tsdb daemon over real ZeroMQ sockets on ephemeral loopback ports:
    SAMPLES sent in are stored, acknowledged once committed and re-published, resent
    batches are stored once (also across a restart), a full map acknowledges nothing and
    makes tsdb not ready, a DEALER's QUERY gets a QUERY_RESULT with its id and the
    Prometheus JSON shape, bad messages are counted as rejects. The daemon's
    zloop runs in a thread; the test stops it the way SIGTERM does (zsys_interrupted).
*/
#include <check.h>
#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_msg_samples.h"
#include "fw_sender.h"
#include "fw_time.h"
#include "fw_zsock.h"
#include "check_util.h"
#include "check_util_tsdb.h"
#include "../tsdb/tsdb.h"

static char s_dir[128];
static int64_t s_max_msg_size;           // --zmq.max-msg-size for the next tsdb (0: the default)
static const char *s_map_size = "64MiB"; // --storage.tsdb.map-size for the next tsdb
static int64_t s_pace_ms;                // --storage.tsdb.ingest-pace for the next tsdb
static struct tsdb_opts s_opts;
static struct check_util_tsdb s_t;

// Start tsdb on s_dir (new or not) on fresh ports.
static void
s_start(void)
{
    check_util_tsdb_opts(&s_opts, s_dir);
    s_opts.map_size = s_map_size;
    s_opts.common.zmq_max_msg_size = s_max_msg_size;
    s_opts.ingest_pace_ms = s_pace_ms;
    s_opts.commit_interval_ms = s_pace_ms ? 1000 : s_opts.commit_interval_ms;
    check_util_tsdb_start(&s_t, &s_opts);
}

static void
s_stop(void)
{
    check_util_tsdb_stop(&s_t);
}

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_d");
    s_start();
}

static void
s_teardown(void)
{
    s_stop();
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// Send *b (taken) and wait (bounded) until tsdb acknowledged it.
static void
s_send_acked(fw_sender_t *s, struct fw_batch **b)
{
    ck_assert_int_eq(fw_sender_send(s, b, NULL), 0);
    ck_assert_int_ge(check_util_tsdb_wait_acked(s, 5000), 0);
}

static void
s_push_up(fw_sender_t *s, int64_t t, double v)
{
    struct fw_batch *b = fw_batch_new();
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    fw_labels_set(&l, "job", "zmq");
    fw_series_add(fw_batch_add_series(b, &l), t, v);
    fw_labels_clear(&l);
    s_send_acked(s, &b);
}

// Send QUERY body on dealer and wait (bounded) for the answer's body (caller decrefs).
static json_t *
s_query(zsock_t *dealer, json_t *body)
{
    check_util_tsdb_ask(dealer, body);
    json_t *out = check_util_tsdb_answer(dealer, 5000);
    ck_assert_msg(out != NULL, "no answer to QUERY within 5 s");
    return out;
}

static char *s_http_get(const char *path, long *status);

START_TEST(test_tsdb_query_round_trip)
{
    fw_sender_t *push = check_util_tsdb_sender(s_t.d, "check");
    zsock_t *sub = zsock_new_sub(NULL, "SAMPLES");
    ck_assert_int_eq(zsock_attach(sub, tsdb_pub_endpoint(s_t.d), false), 0);
    zsock_t *dealer = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    zclock_sleep(200); // let the SUB connect before data flows

    int64_t now = fw_time_now_ms();
    s_push_up(push, now - 1000, 1);

    // the stored batch is re-published
    zsock_set_rcvtimeo(sub, 5000);
    struct fw_msg *pub = NULL;
    fw_err_t err;
    ck_assert_msg(fw_msg_recv(sub, &pub, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(pub->type, FW_MSG_SAMPLES);
    ck_assert_uint_eq(fw_batch_samples(pub->batch), 1);
    fw_msg_destroy(&pub);
    // The counter rises after the send, so the SUB can hold the batch first: read /metrics
    // until it shows the publish, bounded (50 tries, 20 ms apart).
    long status;
    bool counted = false;
    for (int i = 0; i < 50 && !counted; i++) {
        char *metrics = s_http_get("/metrics", &status);
        counted = metrics && strstr(metrics, "fw_tsdb_batches_published_total 1");
        free(metrics);
        if (!counted)
            zclock_sleep(20);
    }
    ck_assert_msg(counted, "fw_tsdb_batches_published_total 1 not in /metrics");

    json_t *ans = s_query(dealer, json_pack("{s:s, s:s, s:f}", "id", "q1", "query", "up * 3",
                                            "time", (double)now / 1000.0));
    ck_assert_str_eq(json_string_value(json_object_get(ans, "id")), "q1");
    ck_assert_str_eq(json_string_value(json_object_get(ans, "status")), "success");
    json_t *data = json_object_get(ans, "data");
    ck_assert_str_eq(json_string_value(json_object_get(data, "resultType")), "vector");
    json_t *r0 = json_array_get(json_object_get(data, "result"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r0, "metric"), "job")),
                     "zmq");
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(r0, "value"), 1)), "3");
    json_decref(ans);

    // a parse error answers in the API's error shape, with the position
    ans = s_query(dealer, json_pack("{s:s, s:s}", "id", "q2", "query", "sum(up"));
    ck_assert_str_eq(json_string_value(json_object_get(ans, "id")), "q2");
    ck_assert_str_eq(json_string_value(json_object_get(ans, "status")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(ans, "errorType")), "bad_data");
    ck_assert_str_eq(json_string_value(json_object_get(ans, "error")),
                     "invalid parameter \"query\": 1:7: parse error: unclosed left parenthesis");
    json_decref(ans);

    // a range query gives a matrix
    ans = s_query(dealer, json_pack("{s:s, s:s, s:f, s:f, s:f}", "id", "q3", "query", "up", "start",
                                    (double)(now - 2000) / 1000.0, "end", (double)now / 1000.0,
                                    "step", 1.0));
    data = json_object_get(ans, "data");
    ck_assert_str_eq(json_string_value(json_object_get(data, "resultType")), "matrix");
    r0 = json_array_get(json_object_get(data, "result"), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(r0, "values")), 2);
    json_decref(ans);

    zsock_destroy(&dealer);
    zsock_destroy(&sub);
    fw_sender_destroy(&push);
}
END_TEST

START_TEST(test_tsdb_rejects_counted)
{
    zsock_t *raw = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    zstr_sendm(raw, "SAMPLES");
    zstr_sendm(raw, "2");
    zstr_send(raw, "garbage");
    fw_sender_t *push = check_util_tsdb_sender(s_t.d, "check");
    s_push_up(push, fw_time_now_ms(), 1); // still stored after the bad one
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", tsdb_http_port(s_t.d));
    const char *want[] = {"fw_msg_rejected_total{type=\"SAMPLES\"} 1",
                          "fw_tsdb_samples_appended_total 1", NULL};
    bool ok;
    char *body = check_util_http_wait_for(url, want, 5000, &ok);
    ck_assert_msg(ok, "metrics: %s", body);
    free(body);
    fw_sender_destroy(&push);
    zsock_destroy(&raw);
}
END_TEST

// GET path on tsdb's HTTP port; the body (caller frees) and *status.
static char *
s_http_get(const char *path, long *status)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", tsdb_http_port(s_t.d), path);
    struct check_util_http r = check_util_http_get(url);
    *status = r.status;
    return r.body;
}

// Send, on a raw DEALER, batch seq of sender (holding oldest): n series name{i=..} with one
// sample at t, each with a label of pad bytes (pad 0: none).
static void
s_raw_send(zsock_t *dealer, const char *sender, uint64_t seq, uint64_t oldest, const char *name,
           int n, size_t pad, int64_t t)
{
    struct fw_batch *b = fw_batch_new();
    snprintf(b->sender, sizeof(b->sender), "%s", sender);
    b->seq = seq;
    b->oldest = oldest;
    char *padding = fw_malloc(pad + 32);
    char idx[32];
    for (int i = 0; i < n; i++) {
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_set(&l, "__name__", name);
        snprintf(idx, sizeof(idx), "%d", i);
        fw_labels_set(&l, "i", idx);
        if (pad) {
            int w = snprintf(padding, pad + 32, "%llu-", (unsigned long long)seq);
            memset(padding + w, 'p', pad);
            padding[w + (int)pad] = '\0';
            fw_labels_set(&l, "pad", padding);
        }
        fw_series_add(fw_batch_add_series(b, &l), t, (double)seq);
        fw_labels_clear(&l);
    }
    free(padding);
    struct fw_msg *m = fw_msg_new_samples(&b);
    fw_err_t err;
    ck_assert_msg(fw_msg_send(&m, dealer, &err) == 0, "%s", err.msg);
}

static bool s_raw_ack_refs(zsock_t *dealer, int ms, uint64_t *acked, bool *resend,
                           bool *unknown_refs);

// Wait up to ms for one SAMPLES_ACK on dealer: false when none came; else *acked, *resend.
static bool
s_raw_ack(zsock_t *dealer, int ms, uint64_t *acked, bool *resend)
{
    bool unknown_refs;
    return s_raw_ack_refs(dealer, ms, acked, resend, &unknown_refs);
}

// The same, with *unknown_refs.
static bool
s_raw_ack_refs(zsock_t *dealer, int ms, uint64_t *acked, bool *resend, bool *unknown_refs)
{
    zsock_set_rcvtimeo(dealer, ms);
    struct fw_msg *m = NULL;
    fw_err_t err;
    if (fw_msg_recv(dealer, &m, &err) != 0)
        return false;
    ck_assert_int_eq(m->type, FW_MSG_SAMPLES_ACK);
    *acked = (uint64_t)json_integer_value(json_object_get(m->body, "acked"));
    *resend = json_is_true(json_object_get(m->body, "resend"));
    *unknown_refs = json_is_true(json_object_get(m->body, "unknown_refs"));
    fw_msg_destroy(&m);
    return true;
}

static void
s_expect_ack(zsock_t *dealer, uint64_t want, bool want_resend)
{
    uint64_t acked = 0;
    bool resend = false;
    ck_assert_msg(s_raw_ack(dealer, 5000, &acked, &resend), "no SAMPLES_ACK for %llu",
                  (unsigned long long)want);
    ck_assert_uint_eq(acked, want);
    ck_assert_int_eq(resend, want_resend);
}

// The value of instant query q as a string (caller frees), or NULL when the result is empty.
static char *
s_query_value(zsock_t *qd, const char *q)
{
    json_t *ans = s_query(qd, json_pack("{s:s, s:s, s:f}", "id", "v", "query", q, "time",
                                        (double)fw_time_now_ms() / 1000.0));
    const char *v = check_util_tsdb_value(ans);
    char *out = v ? fw_strdup(v) : NULL;
    json_decref(ans);
    return out;
}

// Send, on a raw DEALER, batch seq of sender: one series per spec ("a=1,b=2", labels in
// the order given, not checked; NULL: no labels), each with ref refs[i] (refs NULL: none)
// and one sample (t, seq).
static void
s_raw_send_refs(zsock_t *dealer, const char *sender, uint64_t seq, const uint32_t *refs,
                const char *const *specs, size_t n, int64_t t)
{
    struct fw_batch *b = fw_batch_new();
    snprintf(b->sender, sizeof(b->sender), "%s", sender);
    b->seq = seq;
    b->oldest = seq;
    for (size_t i = 0; i < n; i++) {
        // a label set as the wire would carry it, built by hand: fw_labels_set would sort
        struct fw_label items[8];
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", specs[i] ? specs[i] : "");
        size_t len = 0;
        for (char *save, *kv = strtok_r(buf, ",", &save); kv && len < 8;
             kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            *eq = '\0';
            items[len++] = (struct fw_label){kv, eq + 1};
        }
        struct fw_labels l = {items, len, len};
        struct fw_series *sr = fw_batch_add_series(b, &l);
        sr->ref = refs ? refs[i] : 0;
        fw_series_add(sr, t, (double)seq);
    }
    struct fw_msg *m = fw_msg_new_samples(&b);
    fw_err_t err;
    ck_assert_msg(fw_msg_send(&m, dealer, &err) == 0, "%s", err.msg);
}

static void
s_raw_send_specs(zsock_t *dealer, const char *sender, uint64_t seq, const char *const *specs,
                 size_t n, int64_t t)
{
    s_raw_send_refs(dealer, sender, seq, NULL, specs, n, t);
}

// Series known by their position in a sender's batches are compared label byte for label
// byte, never trusted: another series at a known position is stored as itself, a bad
// label at a known position rejects the whole batch, and a label with an empty value (an
// absent one) is checked and dropped.
START_TEST(test_tsdb_series_known_by_position)
{
    zsock_t *d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    zsock_t *q = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    int64_t t = fw_time_now_ms() - 10000;
    const char *b1[] = {"__name__=pos_metric,i=0", "__name__=pos_metric,i=1"};
    const char *b2[] = {"__name__=pos_metric,i=0", "__name__=pos_metric,i=2"};
    const char *bad[] = {"__name__=pos_metric,i=0", "__name__=pos_metric,i\xff=1"}; // not UTF-8
    const char *b3[] = {"__name__=pos_metric,i=0", "__name__=pos_metric,e=,i=1"};
    s_raw_send_specs(d, "check/pos", 1, b1, 2, t + 1);
    s_expect_ack(d, 1, false);
    s_raw_send_specs(d, "check/pos", 2, b2, 2, t + 2);
    s_expect_ack(d, 2, false);
    s_raw_send_specs(d, "check/pos", 3, bad, 2, t + 3);
    uint64_t acked;
    bool resend;
    ck_assert_msg(!s_raw_ack(d, 1500, &acked, &resend), "a batch with a bad label was acked");
    s_raw_send_specs(d, "check/pos", 3, b3, 2, t + 3);
    s_expect_ack(d, 3, false);
    const char *want[][2] = {{"0", "3"}, {"1", "2"}, {"2", "1"}};
    for (int k = 0; k < 3; k++) {
        char expr[96];
        snprintf(expr, sizeof(expr), "count_over_time(pos_metric{i=\"%s\"}[1h])", want[k][0]);
        char *v = s_query_value(q, expr);
        ck_assert_msg(v && strcmp(v, want[k][1]) == 0, "%s: %s", expr, v ? v : "(none)");
        free(v);
    }
    char *v = s_query_value(q, "count(pos_metric)");
    ck_assert_str_eq(v, "3"); // i=0, i=1, i=2: nothing with an e label, nothing lost
    free(v);
    long status;
    char *m = s_http_get("/metrics", &status);
    ck_assert_ptr_nonnull(strstr(m, "fw_msg_rejected_total{type=\"SAMPLES\"} 1"));
    free(m);
    zsock_destroy(&q);
    zsock_destroy(&d);
}
END_TEST

// SAMPLES v3 series refs: a definition names the series, a use stores to it with no labels,
// taps get the labels; a ref tsdb does not know (never defined, or a restart: refs live in
// memory) gets unknown_refs and stores nothing of the batch; SAMPLES v2 is still taken.
START_TEST(test_tsdb_series_refs)
{
    zsock_t *d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    zsock_t *q = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    zsock_t *sub = zsock_new_sub(tsdb_pub_endpoint(s_t.d), "SAMPLES");
    zclock_sleep(200); // let the SUB connect before data flows
    int64_t t = fw_time_now_ms() - 10000;
    const uint32_t def_refs[] = {7, 0}, use_refs[] = {7}, bad_refs[] = {7, 8};
    const char *def[] = {"__name__=ref_metric,k=a", "__name__=plain_metric"};
    const char *use[] = {NULL, NULL};
    s_raw_send_refs(d, "check/refs", 1, def_refs, def, 2, t + 1);
    s_expect_ack(d, 1, false);
    s_raw_send_refs(d, "check/refs", 2, use_refs, use, 1, t + 2);
    s_expect_ack(d, 2, false);
    uint64_t acked;
    bool resend, unknown;
    s_raw_send_refs(d, "check/refs", 3, bad_refs, use, 2, t + 3); // ref 8 was never defined
    ck_assert(s_raw_ack_refs(d, 5000, &acked, &resend, &unknown));
    ck_assert_uint_eq(acked, 2);
    ck_assert(unknown && !resend);
    char *v = s_query_value(q, "count_over_time(ref_metric{k=\"a\"}[1h])");
    ck_assert_str_eq(v, "2"); // batch 3 stored nothing, not even ref 7's sample
    free(v);
    // the tap got batch 2 with ref 7's labels
    zsock_set_rcvtimeo(sub, 5000);
    bool labelled = false;
    for (int k = 0; k < 2 && !labelled; k++) {
        struct fw_msg *pub = NULL;
        fw_err_t err;
        ck_assert_msg(fw_msg_recv(sub, &pub, &err) == 0, "%s", err.msg);
        const struct fw_series *sr = &pub->batch->series[0];
        labelled = pub->batch->seq == 2 && sr->ref == 7 &&
                   strcmp(fw_labels_get(&sr->labels, "k"), "a") == 0;
        fw_msg_destroy(&pub);
    }
    ck_assert(labelled);
    // version 2, as older senders send it: no refs
    unsigned char *p;
    char name[] = "__name__", val[] = "v2_metric";
    size_t bytes = 2 + 2 + strlen(name) + 4 + strlen(val) + 20;
    zmsg_t *z = fw_msg_samples_frames(FW_SAMPLES_V2, "check/refs", 3, 3, 1, bytes, &p, NULL);
    struct fw_label item = {name, val};
    struct fw_labels l = {&item, 1, 1};
    fw_samples_labels_put(p, &l);
    fw_samples_put_one(p + fw_samples_labels_size(&l), t + 3, 1);
    ck_assert_int_eq(zmsg_send(&z, d), 0);
    s_expect_ack(d, 3, false);
    v = s_query_value(q, "count_over_time(v2_metric[1h])");
    ck_assert_str_eq(v, "1");
    free(v);
    // a restarted tsdb knows no refs: the use is refused until the sender defines it again
    zsock_destroy(&sub);
    zsock_destroy(&q);
    zsock_destroy(&d);
    s_stop();
    s_start();
    d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    q = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    s_raw_send_refs(d, "check/refs", 4, use_refs, use, 1, t + 4);
    ck_assert(s_raw_ack_refs(d, 5000, &acked, &resend, &unknown));
    ck_assert(unknown && acked == 3);
    s_raw_send_refs(d, "check/refs", 4, use_refs, def, 1, t + 4); // again, with the labels
    s_expect_ack(d, 4, false);
    v = s_query_value(q, "count_over_time(ref_metric{k=\"a\"}[1h])");
    ck_assert_str_eq(v, "3");
    free(v);
    long status;
    char *m = s_http_get("/metrics", &status);
    ck_assert_ptr_nonnull(strstr(m, "fw_tsdb_batches_total{result=\"unknown_refs\"} 1"));
    free(m);
    zsock_destroy(&q);
    zsock_destroy(&d);
}
END_TEST

// The acknowledgement protocol at tsdb's end: an answer only after the commit, a resent
// batch stored once and acknowledged again, a gap answered with resend.
START_TEST(test_tsdb_acks_after_commit_and_stores_once)
{
    zsock_t *d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    zsock_t *q = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    int64_t t = fw_time_now_ms() - 10000;
    s_raw_send(d, "check/acks", 1, 1, "acked_metric", 3, 0, t + 1);
    s_expect_ack(d, 1, false);
    s_raw_send(d, "check/acks", 1, 1, "acked_metric", 3, 0, t + 1); // resent
    s_expect_ack(d, 1, false);
    s_raw_send(d, "check/acks", 3, 2, "acked_metric", 3, 0, t + 3); // 2 lost on the way
    s_expect_ack(d, 1, true);
    s_raw_send(d, "check/acks", 2, 2, "acked_metric", 3, 0, t + 2);
    s_expect_ack(d, 2, false);
    s_raw_send(d, "check/acks", 3, 2, "acked_metric", 3, 0, t + 3);
    s_expect_ack(d, 3, false);
    // each series holds exactly the three batches' samples
    for (int i = 0; i < 3; i++) {
        char expr[96];
        snprintf(expr, sizeof(expr), "count_over_time(acked_metric{i=\"%d\"}[1h])", i);
        char *v = s_query_value(q, expr);
        ck_assert_ptr_nonnull(v);
        ck_assert_str_eq(v, "3");
        free(v);
    }
    long status;
    char *m = s_http_get("/metrics", &status);
    ck_assert_ptr_nonnull(strstr(m, "fw_tsdb_batches_total{result=\"accepted\"} 3"));
    ck_assert_ptr_nonnull(strstr(m, "fw_tsdb_batches_total{result=\"duplicate\"} 1"));
    ck_assert_ptr_nonnull(strstr(m, "fw_tsdb_batches_total{result=\"gap\"} 1"));
    ck_assert_ptr_nonnull(strstr(m, "fw_tsdb_samples_appended_total 9"));
    // no subscriber: nothing was held for re-publishing
    ck_assert_ptr_nonnull(strstr(m, "fw_tsdb_batches_published_total 0"));
    free(m);
    zsock_destroy(&q);
    zsock_destroy(&d);
}
END_TEST

// The table of senders is committed with the samples: a batch resent to a restarted tsdb
// is a duplicate, not a second copy.
START_TEST(test_tsdb_exactly_once_across_restart)
{
    zsock_t *d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    int64_t t = fw_time_now_ms() - 10000;
    s_raw_send(d, "check/restart", 1, 1, "restart_metric", 2, 0, t + 1);
    s_expect_ack(d, 1, false);
    s_raw_send(d, "check/restart", 2, 1, "restart_metric", 2, 0, t + 2);
    s_expect_ack(d, 2, false);
    zsock_destroy(&d);
    s_stop();
    s_start();
    d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    s_raw_send(d, "check/restart", 2, 2, "restart_metric", 2, 0, t + 2); // its ack was lost
    s_expect_ack(d, 2, false);
    s_raw_send(d, "check/restart", 3, 3, "restart_metric", 2, 0, t + 3);
    s_expect_ack(d, 3, false);
    zsock_t *q = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    char *v = s_query_value(q, "sum(count_over_time(restart_metric[1h]))");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "6"); // 2 series x 3 batches, none twice
    free(v);
    zsock_destroy(&q);
    zsock_destroy(&d);
}
END_TEST

static void
s_setup_full(void)
{
    s_map_size = "1MiB";
    s_setup();
    s_map_size = "64MiB";
}

// A map that fills: tsdb acknowledges exactly what it committed, says it is not ready with
// the reason, and takes no more batches (their senders keep them).
START_TEST(test_tsdb_full_map_acknowledges_nothing_unstored)
{
    zsock_t *d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    int64_t t = fw_time_now_ms() - 10000;
    uint64_t acked = 0, seq;
    for (seq = 1; seq <= 400; seq++) {
        s_raw_send(d, "check/full", seq, acked + 1, "fill", 20, 400, t);
        uint64_t a = 0;
        bool resend = false;
        if (!s_raw_ack(d, 3000, &a, &resend))
            break;
        ck_assert(!resend);
        acked = a;
        if (acked < seq)
            break;
    }
    ck_assert_msg(seq <= 400, "a 1MiB map never filled");
    ck_assert_uint_gt(acked, 0);
    long status = 0;
    char *body = s_http_get("/-/ready", &status);
    ck_assert_int_eq(status, 503);
    ck_assert_msg(strstr(body, "storage commit failed") != NULL, "%s", body);
    free(body);
    // the next batch is refused, not acknowledged
    s_raw_send(d, "check/full", seq + 1, acked + 1, "fill", 20, 400, t);
    uint64_t a = 0;
    bool resend = false;
    ck_assert(!s_raw_ack(d, 500, &a, &resend));
    char *m = s_http_get("/metrics", &status);
    ck_assert_ptr_nonnull(strstr(m, "fw_tsdb_storage_writable 0"));
    ck_assert_ptr_null(strstr(m, "fw_tsdb_batches_total{result=\"refused\"} 0"));
    free(m);
    // every series of every acknowledged batch is stored, and nothing else
    zsock_t *q = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    char *v = s_query_value(q, "count(fill)");
    ck_assert_ptr_nonnull(v);
    char want[32];
    snprintf(want, sizeof(want), "%llu", (unsigned long long)(acked * 20));
    ck_assert_str_eq(v, want);
    free(v);
    zsock_destroy(&q);
    zsock_destroy(&d);
}
END_TEST

static void
s_setup_small(void)
{
    s_max_msg_size = 4096;
    s_setup();
    s_max_msg_size = 0;
}

// With --zmq.max-msg-size=4096, a query whose result does not fit answers with the reason
// (the asker's DEALER, with the same limit, would otherwise drop the connection); a small
// one still works.
START_TEST(test_tsdb_query_result_over_the_limit)
{
    fw_sender_t *push = check_util_tsdb_sender(s_t.d, "check");
    zsock_t *dealer = zsock_new_dealer(NULL);
    ck_assert_int_eq(fw_zsock_set_max_msg_size(dealer, 4096), 0);
    ck_assert_int_eq(zsock_attach(dealer, tsdb_query_endpoint(s_t.d), false), 0);
    int64_t now = fw_time_now_ms();
    char pad[101], idx[8];
    memset(pad, 'p', 100);
    pad[100] = '\0';
    for (int batch = 0; batch < 4; batch++) { // 40 series, 10 per SAMPLES (each < 4096 B)
        struct fw_batch *b = fw_batch_new();
        for (int i = 0; i < 10; i++) {
            struct fw_labels l = FW_LABELS_INIT;
            snprintf(idx, sizeof(idx), "%d", batch * 10 + i);
            fw_labels_set(&l, "__name__", "wide");
            fw_labels_set(&l, "i", idx);
            fw_labels_set(&l, "pad", pad);
            fw_series_add(fw_batch_add_series(b, &l), now - 1000, 1);
            fw_labels_clear(&l);
        }
        s_send_acked(push, &b);
    }
    double t = (double)now / 1000.0;
    json_t *ans = NULL;
    for (int k = 0; k < 50; k++) { // until all 40 are stored
        json_decref(ans);
        ans = s_query(dealer,
                      json_pack("{s:s, s:s, s:f}", "id", "n", "query", "count(wide)", "time", t));
        json_t *r0 = json_array_get(json_object_get(json_object_get(ans, "data"), "result"), 0);
        const char *n = json_string_value(json_array_get(json_object_get(r0, "value"), 1));
        if (n && strcmp(n, "40") == 0)
            break;
        zclock_sleep(100);
    }
    json_decref(ans);
    ans = s_query(dealer, json_pack("{s:s, s:s, s:f}", "id", "all", "query", "wide", "time", t));
    ck_assert_str_eq(json_string_value(json_object_get(ans, "id")), "all");
    ck_assert_str_eq(json_string_value(json_object_get(ans, "status")), "error");
    ck_assert_str_eq(json_string_value(json_object_get(ans, "errorType")), "execution");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(ans, "error")),
                                 "exceeds --zmq.max-msg-size (4096)"));
    json_decref(ans);
    ans = s_query(dealer,
                  json_pack("{s:s, s:s, s:f}", "id", "one", "query", "wide{i=\"7\"}", "time", t));
    ck_assert_str_eq(json_string_value(json_object_get(ans, "status")), "success");
    json_decref(ans);
    zsock_destroy(&dealer);
    fw_sender_destroy(&push);
}
END_TEST

// The value of counter name (no labels) on /metrics.
static double
s_metric(const char *name)
{
    long status;
    char *m = s_http_get("/metrics", &status);
    char key[128];
    snprintf(key, sizeof(key), "\n%s ", name);
    const char *at = strstr(m, key);
    ck_assert_msg(at != NULL, "no %s on /metrics", name);
    double v = strtod(at + strlen(key), NULL);
    free(m);
    return v;
}

// --storage.tsdb.ingest-pace: batches that come one every 20 ms are read a pace's worth at
// a time (without the pace, each wakes the loop), every one is stored and acknowledged,
// and a lone batch after a quiet spell is read at once.
START_TEST(test_tsdb_ingest_paced)
{
    zsock_t *d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    zsock_t *q = check_util_tsdb_dealer(tsdb_query_endpoint(s_t.d));
    int64_t t = fw_time_now_ms() - 10000;
    for (uint64_t seq = 1; seq <= 12; seq++) {
        s_raw_send(d, "check/pace", seq, 1, "paced_metric", 2, 0, t + (int64_t)seq);
        zclock_sleep(20);
    }
    zclock_sleep(600); // past the pace: the last ones are read
    double wakeups = s_metric("fw_tsdb_ingest_wakeups_total");
    ck_assert_msg(wakeups >= 1 && wakeups <= 4, "%g wake-ups for 12 batches", wakeups);
    uint64_t acked = 0;
    bool resend = false;
    int64_t until = fw_time_mono_ms() + 5000;
    while (acked < 12 && fw_time_mono_ms() < until)
        ck_assert_msg(s_raw_ack(d, 5000, &acked, &resend), "no SAMPLES_ACK");
    ck_assert_uint_eq(acked, 12);
    char *v = s_query_value(q, "count_over_time(paced_metric{i=\"1\"}[1h])");
    ck_assert_ptr_nonnull(v);
    ck_assert_str_eq(v, "12");
    free(v);
    // quiet now: the reader is back, and a single batch is visible without waiting a pace
    int64_t t0 = fw_time_mono_ms();
    s_raw_send(d, "check/pace", 13, 1, "paced_metric", 2, 0, t + 13);
    char *got = NULL;
    while (fw_time_mono_ms() - t0 < 5000) {
        got = s_query_value(q, "count_over_time(paced_metric{i=\"1\"}[1h])");
        if (got && strcmp(got, "13") == 0)
            break;
        free(got);
        got = NULL;
        zclock_sleep(5);
    }
    ck_assert_ptr_nonnull(got);
    free(got);
    ck_assert_int_lt(fw_time_mono_ms() - t0, 300); // the pace is 400 ms
    ck_assert_double_eq(s_metric("fw_tsdb_ingest_wakeups_total"), wakeups + 1);
    zsock_destroy(&q);
    zsock_destroy(&d);
}
END_TEST

// A 100ms pace with a 10ms commit interval: tsdb starts (it refused to), paces for at most
// half the interval, and acknowledges every batch. (Counting wake-ups here proved the cap
// only on a quiet machine: under load the sender's 20ms gaps bunch up.)
START_TEST(test_tsdb_ingest_pace_capped_by_commit_interval)
{
    s_stop();
    check_util_tsdb_opts(&s_opts, s_dir);
    s_opts.map_size = s_map_size;
    s_opts.ingest_pace_ms = 100;
    s_opts.commit_interval_ms = 10;
    check_util_tsdb_start(&s_t, &s_opts);
    zsock_t *d = check_util_tsdb_dealer(tsdb_samples_endpoint(s_t.d));
    int64_t t = fw_time_now_ms() - 10000;
    for (uint64_t seq = 1; seq <= 12; seq++) {
        s_raw_send(d, "check/pace", seq, 1, "capped_metric", 2, 0, t + (int64_t)seq);
        zclock_sleep(20);
    }
    uint64_t acked = 0;
    bool resend = false;
    int64_t until = fw_time_mono_ms() + 5000;
    while (acked < 12 && fw_time_mono_ms() < until)
        ck_assert_msg(s_raw_ack(d, 5000, &acked, &resend), "no SAMPLES_ACK");
    ck_assert_uint_eq(acked, 12);
    ck_assert_uint_eq(tsdb_ingest_pace_ms(s_t.d), 5);
    zsock_destroy(&d);
}
END_TEST

static void
s_setup_paced(void)
{
    s_pace_ms = 400;
    s_setup();
    s_pace_ms = 0;
}

Suite *
tsdb_suite(void)
{
    Suite *s = suite_create("tsdb");
    TCase *tc = tcase_create("zmq");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_query_round_trip);
    tcase_add_test(tc, test_tsdb_ingest_pace_capped_by_commit_interval);
    tcase_add_test(tc, test_tsdb_rejects_counted);
    tcase_add_test(tc, test_tsdb_acks_after_commit_and_stores_once);
    tcase_add_test(tc, test_tsdb_series_known_by_position);
    tcase_add_test(tc, test_tsdb_exactly_once_across_restart);
    tcase_add_test(tc, test_tsdb_series_refs);
    suite_add_tcase(s, tc);
    tc = tcase_create("full");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, s_setup_full, s_teardown);
    tcase_add_test(tc, test_tsdb_full_map_acknowledges_nothing_unstored);
    suite_add_tcase(s, tc);
    tc = tcase_create("paced");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup_paced, s_teardown);
    tcase_add_test(tc, test_tsdb_ingest_paced);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup_small, s_teardown);
    tcase_add_test(tc, test_tsdb_query_result_over_the_limit);
    suite_add_tcase(s, tc);
    return s;
}
