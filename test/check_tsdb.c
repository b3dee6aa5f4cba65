/*  check_tsdb.c — the tsdb daemon over real ZeroMQ sockets on ephemeral loopback ports:
    SAMPLES pushed in are stored and re-published, a DEALER's QUERY gets a QUERY_RESULT with
    its id and the Prometheus JSON shape, bad messages are counted as rejects. The daemon's
    zloop runs in a thread; the test stops it the way SIGTERM does (zsys_interrupted).
*/
#include <check.h>
#include <curl/curl.h>
#include <czmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"
#include "../tsdb/tsdb.h"

static char s_dir[128];
static int64_t s_max_msg_size; // --zmq.max-msg-size for the next tsdb (0: the default)
static struct tsdb_opts s_opts;
static tsdb_t *s_d;
static pthread_t s_thread;

static void *
s_run(void *arg)
{
    (void)arg;
    tsdb_run(s_d);
    return NULL;
}

static void
s_setup(void)
{
    mkdir("test", 0755);
    mkdir("test/tmp", 0755);
    snprintf(s_dir, sizeof(s_dir), "test/tmp/tsdb_d.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
    memset(&s_opts, 0, sizeof(s_opts));
    s_opts.common.web_listen_address = "127.0.0.1:0";
    s_opts.storage_path = s_dir;
    s_opts.retention_ms = 15LL * 24 * 3600 * 1000;
    s_opts.map_size = "64MiB";
    s_opts.zmq_samples = "tcp://127.0.0.1:*";
    s_opts.zmq_query = "tcp://127.0.0.1:*";
    s_opts.zmq_pub = "tcp://127.0.0.1:*";
    s_opts.common.zmq_max_msg_size = s_max_msg_size;
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct fw_promcfg cfg;
    char *text = NULL;
    ck_assert_int_eq(tsdb_config_load(NULL, &cfg, &text, &errs), 0);
    s_d = tsdb_new(&s_opts, &cfg, text);
    free(text);
    ck_assert_ptr_nonnull(s_d);
    zsys_interrupted = 0;
    ck_assert_int_eq(pthread_create(&s_thread, NULL, s_run, NULL), 0);
}

static void
s_teardown(void)
{
    zsys_interrupted = 1; // what SIGTERM does; the loop notices within its 1 s timer
    pthread_join(s_thread, NULL);
    zsys_interrupted = 0;
    tsdb_destroy(&s_d);
    char p[256];
    snprintf(p, sizeof(p), "%s/data.mdb", s_dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", s_dir);
    unlink(p);
    rmdir(s_dir);
}

static void
s_push_up(zsock_t *push, int64_t t, double v)
{
    struct fw_batch *b = fw_batch_new();
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    fw_labels_set(&l, "job", "zmq");
    fw_series_add(fw_batch_add_series(b, &l), t, v);
    fw_labels_clear(&l);
    struct fw_msg *m = fw_msg_new_samples(&b);
    fw_err_t err;
    ck_assert_int_eq(fw_msg_send(&m, push, &err), 0);
}

// Send QUERY body on dealer and wait (bounded) for the answer's body (caller decrefs).
static json_t *
s_query(zsock_t *dealer, json_t *body)
{
    struct fw_msg *m = fw_msg_new_json(FW_MSG_QUERY, body);
    fw_err_t err;
    ck_assert_int_eq(fw_msg_send(&m, dealer, &err), 0);
    zsock_set_rcvtimeo(dealer, 5000);
    struct fw_msg *reply = NULL;
    ck_assert_msg(fw_msg_recv(dealer, &reply, &err) == 0, "recv: %s", err.msg);
    ck_assert_int_eq(reply->type, FW_MSG_QUERY_RESULT);
    json_t *out = json_incref(reply->body);
    fw_msg_destroy(&reply);
    return out;
}

START_TEST(test_tsdb_query_round_trip)
{
    zsock_t *push = zsock_new_push(NULL);
    ck_assert_int_eq(zsock_attach(push, tsdb_samples_endpoint(s_d), false), 0);
    zsock_t *sub = zsock_new_sub(NULL, "SAMPLES");
    ck_assert_int_eq(zsock_attach(sub, tsdb_pub_endpoint(s_d), false), 0);
    zsock_t *dealer = zsock_new_dealer(NULL);
    ck_assert_int_eq(zsock_attach(dealer, tsdb_query_endpoint(s_d), false), 0);
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
                     "invalid parameter \"query\": 1:7: parse error: unexpected end of input "
                     "in aggregation, expected \")\"");
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
    zsock_destroy(&push);
}
END_TEST

static size_t
s_on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    char **buf = arg;
    size_t n = size * nmemb, have = *buf ? strlen(*buf) : 0;
    *buf = fw_realloc(*buf, have + n + 1);
    memcpy(*buf + have, data, n);
    (*buf)[have + n] = '\0';
    return n;
}

START_TEST(test_tsdb_rejects_counted)
{
    zsock_t *push = zsock_new_push(NULL);
    ck_assert_int_eq(zsock_attach(push, tsdb_samples_endpoint(s_d), false), 0);
    zstr_sendm(push, "SAMPLES");
    zstr_sendm(push, "1");
    zstr_send(push, "garbage");
    s_push_up(push, fw_time_now_ms(), 1); // still stored after the bad one
    char url[64], *body = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", tsdb_http_port(s_d));
    bool ok = false;
    for (int k = 0; k < 50 && !ok; k++) {
        free(body);
        body = NULL;
        CURL *c = curl_easy_init();
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s_on_write);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
        curl_easy_perform(c);
        curl_easy_cleanup(c);
        ok = body && strstr(body, "fw_msg_rejected_total{type=\"SAMPLES\"} 1") &&
             strstr(body, "fw_tsdb_samples_appended_total 1");
        if (!ok)
            zclock_sleep(100);
    }
    ck_assert_msg(ok, "metrics: %s", body ? body : "(none)");
    free(body);
    zsock_destroy(&push);
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
    zsock_t *push = zsock_new_push(NULL);
    ck_assert_int_eq(zsock_attach(push, tsdb_samples_endpoint(s_d), false), 0);
    zsock_t *dealer = zsock_new_dealer(NULL);
    ck_assert_int_eq(fw_zsock_set_max_msg_size(dealer, 4096), 0);
    ck_assert_int_eq(zsock_attach(dealer, tsdb_query_endpoint(s_d), false), 0);
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
        struct fw_msg *m = fw_msg_new_samples(&b);
        fw_err_t err;
        ck_assert_int_eq(fw_msg_send(&m, push, &err), 0);
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
    zsock_destroy(&push);
}
END_TEST

Suite *
tsdb_suite(void)
{
    Suite *s = suite_create("tsdb");
    TCase *tc = tcase_create("zmq");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_query_round_trip);
    tcase_add_test(tc, test_tsdb_rejects_counted);
    suite_add_tcase(s, tc);
    tc = tcase_create("limits");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup_small, s_teardown);
    tcase_add_test(tc, test_tsdb_query_result_over_the_limit);
    suite_add_tcase(s, tc);
    return s;
}
