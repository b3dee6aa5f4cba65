/*  check_fw_daemon.c — the shared daemon steps: one reload per SIGHUP or /-/reload with the
    HTTP request answered by its result, reload-failure messages, PUSH+PUB sending with
    drops counted, and the evaluators' links.
*/
#include <check.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_daemon.h"
#include "fw_flags.h"
#include "fw_zsock.h"
#include "check_util.h"

struct s_reloads {
    int calls;
    int rc;
};

static int
s_reload(void *arg, char *errbuf, size_t errsize)
{
    struct s_reloads *r = arg;
    r->calls++;
    if (r->rc != 0)
        snprintf(errbuf, errsize, "bad config");
    return r->rc;
}

// The bound endpoint of sock, copied into buf (czmq allocates the string it returns).
static const char *
s_endpoint(zsock_t *sock, char *buf, size_t size)
{
    char *ep = zsock_last_endpoint(sock);
    snprintf(buf, size, "%s", ep ? ep : "");
    free(ep);
    return buf;
}

START_TEST(test_fw_daemon_reload_step_on_sighup)
{
    fw_process_init();
    struct s_reloads r = {0, 0};
    ck_assert_int_eq(fw_daemon_reload_step(NULL, s_reload, &r), 0);
    ck_assert_int_eq(r.calls, 0); // nothing asked
    raise(SIGHUP);
    ck_assert_int_eq(fw_daemon_reload_step(NULL, s_reload, &r), 0);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(fw_daemon_reload_step(NULL, s_reload, &r), 0);
    ck_assert_int_eq(r.calls, 1); // the signal is taken once
    r.rc = -1;
    raise(SIGHUP);
    ck_assert_int_eq(fw_daemon_reload_step(NULL, s_reload, &r), -1);
    ck_assert_int_eq(r.calls, 2);
}
END_TEST

struct s_client {
    char url[128];
    struct check_util_http r;
};

static void *
s_post_reload(void *arg)
{
    struct s_client *c = arg;
    (void)check_util_http_request("POST", c->url, "", 0, NULL, NULL, 10000, &c->r);
    return NULL;
}

START_TEST(test_fw_daemon_reload_step_answers_http)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_http_t *http = fw_http_new("test", m);
    fw_err_t err;
    ck_assert_int_eq(fw_http_start(http, "127.0.0.1:0", &err), 0);
    struct s_reloads r = {0, -1};
    struct s_client c = {.url = ""};
    snprintf(c.url, sizeof(c.url), "http://127.0.0.1:%d/-/reload", fw_http_port(http));
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_post_reload, &c), 0);
    int rc = 0;
    for (int i = 0; i < 100 && r.calls == 0; i++) { // the housekeeping ticks, bounded
        rc = fw_daemon_reload_step(http, s_reload, &r);
        usleep(20 * 1000);
    }
    pthread_join(t, NULL);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(rc, -1);
    ck_assert_int_eq(c.r.status, 500);
    ck_assert_ptr_nonnull(strstr(c.r.body, "bad config"));
    check_util_http_clear(&c.r);
    fw_http_destroy(&http);
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_fw_daemon_reload_failed_message)
{
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    char buf[512];
    fw_daemon_reload_failed(&errs, buf, sizeof(buf));
    ck_assert_str_eq(buf, "configuration error");
    fw_cfg_errors_add(&errs, "x.yml", (struct fw_cfg_pos){3, 5}, "unknown key 'foo'");
    fw_daemon_reload_failed(&errs, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "x.yml:3:5"));
    ck_assert_ptr_nonnull(strstr(buf, "unknown key 'foo'"));
    ck_assert_ptr_null(strstr(buf, "and more"));
    fw_cfg_errors_add(&errs, "x.yml", (struct fw_cfg_pos){4, 1}, "second");
    fw_daemon_reload_failed(&errs, buf, sizeof(buf));
    ck_assert_ptr_nonnull(strstr(buf, "unknown key 'foo' (and more, see the log)"));
}
END_TEST

START_TEST(test_fw_daemon_send_push_pub_and_drop)
{
    fw_err_t err;
    char ep1[256], ep2[256];
    zsock_t *pull = fw_zsock_pull("tcp://127.0.0.1:*[50000-59999]", 0, &err);
    ck_assert_ptr_nonnull(pull);
    zsock_t *push = fw_zsock_push(s_endpoint(pull, ep1, sizeof(ep1)), &err);
    zsock_t *pub = fw_zsock_pub("tcp://127.0.0.1:*[50000-59999]", &err);
    ck_assert_ptr_nonnull(push);
    ck_assert_ptr_nonnull(pub);
    zsock_t *sub = zsock_new_sub(s_endpoint(pub, ep2, sizeof(ep2)), "");
    zsock_set_rcvtimeo(pull, 5000);
    zsock_set_rcvtimeo(sub, 200);
    fw_metrics_t *m = fw_metrics_new();
    fw_metrics_declare(m, "x_dropped_total", FW_METRIC_COUNTER, "Dropped.");

    // the PUSH peer gets it, and the tap once its subscription is in (bounded retries)
    bool tapped = false;
    for (int i = 0; i < 25 && !tapped; i++) {
        struct fw_msg *msg =
            fw_msg_new_json(FW_MSG_ALERTS, json_pack("{ss s[]}", "source", "t", "alerts"));
        ck_assert_int_eq(fw_daemon_send(&msg, push, pub, m, "x_dropped_total", "socket=\"a\""), 0);
        ck_assert_ptr_null(msg);
        struct fw_msg *got;
        ck_assert_int_eq(fw_zsock_recv(pull, FW_MSG_ALERTS, NULL, &got), 0);
        fw_msg_destroy(&got);
        tapped = fw_zsock_recv(sub, FW_MSG_ALERTS, NULL, &got) == 0;
        fw_msg_destroy(&got);
    }
    ck_assert(tapped);

    // a PUSH that cannot take it now drops it and counts it
    zsock_t *lonely = zsock_new(ZMQ_PUSH); // no peer: nowhere to queue
    zsock_set_sndtimeo(lonely, 0);
    struct fw_msg *msg =
        fw_msg_new_json(FW_MSG_ALERTS, json_pack("{ss s[]}", "source", "t", "alerts"));
    ck_assert_int_eq(fw_daemon_send(&msg, lonely, NULL, m, "x_dropped_total", "socket=\"a\""), -1);
    ck_assert_ptr_null(msg);
    ck_assert(fw_metrics_get(m, "x_dropped_total", "socket=\"a\"") == 1);

    zsock_destroy(&lonely);
    fw_metrics_destroy(&m);
    zsock_destroy(&sub);
    zsock_destroy(&pub);
    zsock_destroy(&push);
    zsock_destroy(&pull);
}
END_TEST

START_TEST(test_fw_daemon_links_open_send_query_close)
{
    fw_err_t err;
    zsock_t *tsdb = fw_zsock_pull("tcp://127.0.0.1:*[50000-59999]", 0, &err);
    // two alertd replicas: every ALERTS message goes to each (not round-robin)
    zsock_t *alertd = fw_zsock_pull("tcp://127.0.0.1:*[50000-59999]", 0, &err);
    zsock_t *alertd2 = fw_zsock_pull("tcp://127.0.0.1:*[50000-59999]", 0, &err);
    ck_assert_ptr_nonnull(tsdb);
    ck_assert_ptr_nonnull(alertd);
    ck_assert_ptr_nonnull(alertd2);
    zsock_set_rcvtimeo(alertd, 5000);
    zsock_set_rcvtimeo(alertd2, 5000);
    char tsdb_ep[128], alertd_ep[300], alertd2_ep[128];
    s_endpoint(tsdb, tsdb_ep, sizeof(tsdb_ep));
    s_endpoint(alertd, alertd_ep, sizeof(alertd_ep));
    s_endpoint(alertd2, alertd2_ep, sizeof(alertd2_ep));
    strcat(alertd_ep, ",");
    strcat(alertd_ep, alertd2_ep);
    // a ROUTER that reads the QUERY and never answers: the query times out, and the QUERY
    // told tsdb how long ruled and slod wait (timeout_ms, their --query.timeout)
    zsock_t *router = zsock_new_router("@tcp://127.0.0.1:*[50000-59999]");
    ck_assert_ptr_nonnull(router);
    zsock_set_rcvtimeo(router, 5000);
    char query_ep[128];
    s_endpoint(router, query_ep, sizeof(query_ep));
    struct fw_daemon_eval_opts o = {.tsdb_address = tsdb_ep,
                                    .query_address = query_ep,
                                    .alertd_address = alertd_ep,
                                    .pub_address = "tcp://127.0.0.1:*[50000-59999]",
                                    .query_timeout_ms = 200};
    struct fw_daemon_links links;
    memset(&links, 0, sizeof(links));
    ck_assert_int_eq(fw_daemon_links_open(&links, &o, 0, NULL, &err), 0);
    ck_assert_ptr_nonnull(links.pub);
    ck_assert_ptr_nonnull(links.query);

    ck_assert_uint_eq(links.n_alertd, 2);
    for (int i = 0; i < 4; i++) {
        struct fw_msg *msg =
            fw_msg_new_json(FW_MSG_ALERTS, json_pack("{ss s[]}", "source", "t", "alerts"));
        ck_assert_int_eq(fw_daemon_links_send_alerts(&links, &msg, NULL, NULL), 0);
    }
    for (int i = 0; i < 4; i++) {
        struct fw_msg *got;
        ck_assert_int_eq(fw_zsock_recv(alertd, FW_MSG_ALERTS, NULL, &got), 0);
        fw_msg_destroy(&got);
        ck_assert_int_eq(fw_zsock_recv(alertd2, FW_MSG_ALERTS, NULL, &got), 0);
        fw_msg_destroy(&got);
    }

    struct fw_vector v = {0};
    int64_t t0 = zclock_mono();
    ck_assert_int_eq(fw_daemon_links_query(&links, "up", 0, &v, &err), -1);
    ck_assert(zclock_mono() - t0 < 5000); // bounded by the links' timeout
    fw_vector_clear(&v);
    zmsg_t *req = zmsg_recv(router);
    ck_assert_ptr_nonnull(req);
    zframe_t *identity = zmsg_pop(req);
    zframe_destroy(&identity);
    struct fw_msg *q = NULL;
    ck_assert_int_eq(fw_msg_decode(req, &q, &err), 0);
    zmsg_destroy(&req);
    ck_assert_int_eq(q->type, FW_MSG_QUERY);
    ck_assert_str_eq(json_string_value(json_object_get(q->body, "query")), "up");
    ck_assert(json_is_integer(json_object_get(q->body, "timeout_ms")));
    ck_assert_int_eq(json_integer_value(json_object_get(q->body, "timeout_ms")), 200);
    fw_msg_destroy(&q);
    zsock_destroy(&router);

    fw_daemon_links_close(&links);
    ck_assert_ptr_null(links.sender);
    fw_daemon_links_close(&links); // twice is fine

    // a bad endpoint fails with its name; what was opened is closed by close
    o.pub_address = "nonsense://x";
    ck_assert_int_eq(fw_daemon_links_open(&links, &o, 0, NULL, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nonsense://x"));
    fw_daemon_links_close(&links);
    zsock_destroy(&alertd);
    zsock_destroy(&alertd2);
    zsock_destroy(&tsdb);
}
END_TEST

Suite *
fw_daemon_suite(void)
{
    Suite *s = suite_create("fw_daemon");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_fw_daemon_reload_step_on_sighup);
    tcase_add_test(tc, test_fw_daemon_reload_step_answers_http);
    tcase_add_test(tc, test_fw_daemon_reload_failed_message);
    tcase_add_test(tc, test_fw_daemon_send_push_pub_and_drop);
    tcase_add_test(tc, test_fw_daemon_links_open_send_query_close);
    suite_add_tcase(s, tc);
    return s;
}
