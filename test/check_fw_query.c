/*  check_fw_query.c — the DEALER query client against a ROUTER played by the test.

    The ROUTER here stands in for tsdb (whose real query server has its own suite,
    check_tsdb.c) so that the client's own contract is pinned down: vector and scalar
    answers, tsdb errors passed through, stale answers to earlier requests skipped, a
    bounded wait, and an answer over the size limit failing its query without killing the
    client (libzmq would leave the DEALER disconnected for good).
*/
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_msg.h"
#include "fw_query.h"
#include "fw_zsock.h"

struct s_server {
    zsock_t *router;
    const char *const *replies; // data JSON per request, or "error"; NULL ends
    json_int_t timeout_ms[4];   // each request's timeout_ms (-1: absent or not an integer)
};

// One QUERY from router: the message (caller destroys) and its sender's identity frame in
// *identity (caller's), or NULL when the socket closed or the frames do not decode.
static struct fw_msg *
s_recv_query(zsock_t *router, zframe_t **identity)
{
    zmsg_t *req = zmsg_recv(router);
    if (!req)
        return NULL;
    *identity = zmsg_pop(req);
    struct fw_msg *q = NULL;
    if (fw_msg_decode(req, &q, NULL) < 0) {
        zframe_destroy(identity);
        q = NULL;
    }
    zmsg_destroy(&req);
    return q;
}

// Send a QUERY_RESULT with body (taken) to *identity (taken) on router.
static void
s_answer(zsock_t *router, zframe_t **identity, json_t *body)
{
    struct fw_msg *r = fw_msg_new_json(FW_MSG_QUERY_RESULT, body);
    zmsg_t *out = fw_msg_encode(r, NULL);
    zmsg_prepend(out, identity);
    zmsg_send(&out, router);
    fw_msg_destroy(&r);
}

// Answer each QUERY in turn with the next canned reply; the second reply is preceded by a
// stale answer with a wrong id, which the client must skip.
static void *
s_serve(void *arg)
{
    struct s_server *s = arg;
    for (int i = 0; s->replies[i]; i++) {
        zframe_t *identity;
        struct fw_msg *q = s_recv_query(s->router, &identity);
        if (!q)
            return NULL;
        const char *id = json_string_value(json_object_get(q->body, "id"));
        json_t *tmo = json_object_get(q->body, "timeout_ms");
        s->timeout_ms[i] = json_is_integer(tmo) ? json_integer_value(tmo) : -1;
        if (i == 1) {
            struct fw_msg *old = fw_msg_new_json(
                FW_MSG_QUERY_RESULT, json_pack("{ssss}", "id", "stale", "status", "success"));
            zmsg_t *stale = fw_msg_encode(old, NULL);
            fw_msg_destroy(&old);
            zframe_t *copy = zframe_dup(identity);
            zmsg_prepend(stale, &copy);
            zmsg_send(&stale, s->router);
        }
        json_t *body;
        if (strcmp(s->replies[i], "error") == 0)
            body = json_pack("{ssssssss}", "id", id, "status", "error", "errorType", "bad_data",
                             "error", "1:5: parse error: boom");
        else
            body = json_pack("{ssssso}", "id", id, "status", "success", "data", // steals
                             json_loads(s->replies[i], 0, NULL));
        s_answer(s->router, &identity, body);
        fw_msg_destroy(&q);
    }
    return NULL;
}

// Answer three QUERYs with a vector of one series whose label value is 10 bytes, then
// 16 KiB (after 100 ms, so the client's guard has surely seen the connection), then 10.
static void *
s_serve_small_big_small(void *arg)
{
    zsock_t *router = arg;
    for (int i = 0; i < 3; i++) {
        zframe_t *identity;
        struct fw_msg *q = s_recv_query(router, &identity);
        if (!q)
            return NULL;
        size_t pad = i == 1 ? 16 * 1024 : 10;
        if (i == 1)
            zclock_sleep(100);
        char *value = calloc(1, pad + 1);
        memset(value, 'v', pad);
        json_t *data = json_pack("{sss[{s{ss}s[fs]}]}", "resultType", "vector", "result", "metric",
                                 "big", value, "value", 1700000000.0, "1");
        free(value);
        const char *id = json_string_value(json_object_get(q->body, "id"));
        s_answer(router, &identity,
                 json_pack("{ssssso}", "id", id, "status", "success", "data", data)); // steals
        fw_msg_destroy(&q);
    }
    return NULL;
}

// Bind s's ROUTER, serve it (s_serve) on *t, and return a client connected to it.
static fw_query_client_t *
s_start(struct s_server *s, pthread_t *t)
{
    s->router = zsock_new_router("@tcp://127.0.0.1:*[50000-59999]");
    ck_assert_ptr_nonnull(s->router);
    char *endpoint = zsock_last_endpoint(s->router); // czmq: the caller frees it
    fw_query_client_t *c = fw_query_client_new(endpoint, 0, NULL);
    free(endpoint);
    ck_assert_ptr_nonnull(c);
    pthread_create(t, NULL, s_serve, s);
    return c;
}

START_TEST(test_fw_query_oversized_answer_fails_then_reconnects)
{
    zsock_t *router = zsock_new_router("@tcp://127.0.0.1:*[50000-59999]");
    ck_assert_ptr_nonnull(router);
    char *endpoint = zsock_last_endpoint(router); // czmq: the caller frees it
    fw_metrics_t *m = fw_metrics_new();
    fw_zsock_declare_metrics(m);
    fw_query_client_t *c = fw_query_client_new(endpoint, 4096, m);
    free(endpoint);
    ck_assert_ptr_nonnull(c);
    pthread_t t;
    pthread_create(&t, NULL, s_serve_small_big_small, router);
    struct fw_vector v = {0};
    fw_err_t err;
    ck_assert_int_eq(fw_query_vector(c, "small", 0, 5000, &v, &err), 0);
    ck_assert_uint_eq(v.len, 1);
    int64_t t0 = zclock_mono();
    ck_assert_int_eq(fw_query_vector(c, "big", 0, 5000, &v, &err), -1);
    ck_assert_msg(strstr(err.msg, "larger than --zmq.max-msg-size (4096 bytes)"), "%s", err.msg);
    ck_assert(zclock_mono() - t0 < 4000); // told, not timed out
    ck_assert_uint_eq(v.len, 0);
    ck_assert(fw_metrics_get(m, "fw_msg_rejected_total", "type=\"oversize\"") == 1);
    // the next query goes out on a new connection and is answered
    ck_assert_int_eq(fw_query_vector(c, "small", 0, 5000, &v, &err), 0);
    ck_assert_uint_eq(v.len, 1);
    ck_assert_str_eq(fw_labels_get(&v.items[0].labels, "big"), "vvvvvvvvvv");
    pthread_join(t, NULL);
    fw_vector_clear(&v);
    fw_query_client_destroy(&c);
    fw_metrics_destroy(&m);
    zsock_destroy(&router);
}
END_TEST

START_TEST(test_fw_query_vector_scalar_error_and_timeout)
{
    static const char *const replies[] = {
        "{\"resultType\":\"vector\",\"result\":[{\"metric\":{\"__name__\":\"up\",\"job\":\"a\"},"
        "\"value\":[1700000000.5,\"1\"]},{\"metric\":{\"job\":\"b\"},\"value\":[1700000000.5,\"+"
        "Inf\"]}]}",
        "{\"resultType\":\"scalar\",\"result\":[1700000000,\"0.25\"]}",
        "error",
        NULL,
    };
    struct s_server s = {NULL, replies, {0}};
    pthread_t t;
    fw_query_client_t *c = s_start(&s, &t);
    struct fw_vector v = {0};
    fw_err_t err;
    ck_assert_int_eq(fw_query_vector(c, "up", 1700000000500, 5000, &v, &err), 0);
    ck_assert_uint_eq(v.len, 2);
    ck_assert_str_eq(fw_labels_get(&v.items[0].labels, "job"), "a");
    ck_assert_int_eq(v.items[0].t_ms, 1700000000500);
    ck_assert(isinf(v.items[1].v));
    ck_assert_int_eq(fw_query_vector(c, "0.25", 1700000000000, 4000, &v, &err), 0);
    ck_assert_uint_eq(v.len, 1); // a scalar is one unlabelled sample
    ck_assert_uint_eq(v.items[0].labels.len, 0);
    ck_assert(v.items[0].v == 0.25);
    ck_assert_int_eq(fw_query_vector(c, "sum(", 1700000000000, 5000, &v, &err), -1);
    ck_assert_str_eq(err.msg, "bad_data: 1:5: parse error: boom");
    ck_assert_uint_eq(v.len, 0);
    pthread_join(t, NULL);
    // every QUERY told tsdb how long the caller waits for it
    ck_assert_int_eq(s.timeout_ms[0], 5000);
    ck_assert_int_eq(s.timeout_ms[1], 4000);
    ck_assert_int_eq(s.timeout_ms[2], 5000);
    // nobody answers now: the wait is bounded
    ck_assert_int_eq(fw_query_vector(c, "up", 0, 200, &v, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "timed out"));
    fw_vector_clear(&v);
    fw_query_client_destroy(&c);
    zsock_destroy(&s.router);
}
END_TEST

// fw_query_range: the QUERY carries start, end and step; a matrix comes back as every point
// of every series with its labels; an instant vector where a matrix is due is refused.
START_TEST(test_fw_query_range_matrix)
{
    static const char *const replies[] = {
        "{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"job\":\"a\"},\"values\":"
        "[[1700000000,\"1\"],[1700000300,\"2\"]]},{\"metric\":{\"job\":\"b\"},\"values\":"
        "[[1700000300,\"5\"]]}]}",
        "{\"resultType\":\"vector\",\"result\":[]}",
        NULL,
    };
    struct s_server s = {NULL, replies, {0}};
    pthread_t t;
    fw_query_client_t *c = s_start(&s, &t);
    struct fw_vector v = {0};
    fw_err_t err;
    ck_assert_int_eq(fw_query_range(c, "x", 1700000000000, 1700000300000, 300000, 5000, &v, &err),
                     0);
    ck_assert_uint_eq(v.len, 3);
    ck_assert_str_eq(fw_labels_get(&v.items[1].labels, "job"), "a");
    ck_assert_int_eq(v.items[1].t_ms, 1700000300000);
    ck_assert(v.items[1].v == 2);
    ck_assert_str_eq(fw_labels_get(&v.items[2].labels, "job"), "b");
    ck_assert(v.items[2].v == 5);
    ck_assert_int_eq(fw_query_range(c, "x", 1700000000000, 1700000300000, 300000, 5000, &v, &err),
                     -1);
    ck_assert_str_eq(err.msg, "query result is a vector, not a matrix");
    pthread_join(t, NULL);
    fw_vector_clear(&v);
    fw_query_client_destroy(&c);
    zsock_destroy(&s.router);
}
END_TEST

Suite *
fw_query_suite(void)
{
    Suite *s = suite_create("fw_query");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_fw_query_vector_scalar_error_and_timeout);
    tcase_add_test(tc, test_fw_query_oversized_answer_fails_then_reconnects);
    tcase_add_test(tc, test_fw_query_range_matrix);
    suite_add_tcase(s, tc);
    return s;
}
