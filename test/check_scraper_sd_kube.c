/*  check_scraper_sd_kube.c — the kubernetes_sd provider actor (scraper/scraper_sd_kube.c)
    against a played API server, for what only the running actor shows: a watch it ends.

    The server is libmicrohttpd on loopback, one thread per connection, plain HTTP: a LIST
    of /api/v1/pods answers one pod at resourceVersion 5, a WATCH answers 200 and streams a
    BOOKMARK, then a heartbeat newline every 50 ms (the provider skips empty lines) until
    the client goes or the test stops it. It counts lists, watches, watches ended and TCP
    connections accepted. The tls_config ca_file names a file the test writes: over http
    curl uses no CA, but the provider reads it per request through fw_tlsfiles all the same,
    so a change of its content is exactly what a rotated CA is to the provider.
*/
#include <check.h>
#include <microhttpd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "check_util_scraper.h"
#include "fw_metrics.h"
#include "fw_promcfg_sd.h"
#include "../scraper/scraper_sd.h"
#include "../scraper/scraper_sd_kube.h"

Suite *scraper_sd_kube_suite(void);

struct s_server {
    int lists, watches, watches_ended, conns; // atomic
    int stop;                                 // atomic: the watches end (the test is over)
    int port;
    struct MHD_Daemon *d;
};

struct s_stream {
    struct s_server *srv;
    bool sent_bookmark;
};

static const char s_pod_list[] =
    "{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"5\"},"
    "\"items\":[{\"metadata\":{\"name\":\"web-a\",\"namespace\":\"default\",\"uid\":\"u1\","
    "\"resourceVersion\":\"5\"},\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"app\","
    "\"ports\":[{\"name\":\"m\",\"containerPort\":9100,\"protocol\":\"TCP\"}]}]},"
    "\"status\":{\"phase\":\"Running\",\"podIP\":\"127.0.0.2\"}}]}";
static const char s_bookmark[] =
    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
    "\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"5\"}}}\n";

static ssize_t
s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct s_stream *st = cls;
    if (!st->sent_bookmark) {
        st->sent_bookmark = true;
        size_t n = strlen(s_bookmark);
        ck_assert_uint_le(n, max);
        memcpy(buf, s_bookmark, n);
        return (ssize_t)n;
    }
    usleep(50 * 1000); // this connection's own thread: a heartbeat every 50 ms
    if (__atomic_load_n(&st->srv->stop, __ATOMIC_RELAXED))
        return MHD_CONTENT_READER_END_OF_STREAM;
    buf[0] = '\n';
    return 1;
}

static void
s_stream_free(void *cls)
{
    struct s_stream *st = cls;
    __atomic_fetch_add(&st->srv->watches_ended, 1, __ATOMIC_RELAXED);
    free(st);
}

static enum MHD_Result
s_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_size, void **ptr)
{
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)ptr;
    struct s_server *srv = cls;
    if (strcmp(url, "/api/v1/pods") != 0)
        return check_util_scraper_reply(conn, 404, "not found\n");
    if (!MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "watch")) {
        __atomic_fetch_add(&srv->lists, 1, __ATOMIC_RELAXED);
        return check_util_scraper_reply(conn, 200, s_pod_list); // the type is not looked at
    }
    __atomic_fetch_add(&srv->watches, 1, __ATOMIC_RELAXED);
    struct s_stream *st = calloc(1, sizeof(*st));
    ck_assert_ptr_nonnull(st);
    st->srv = srv;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 256, s_stream_read, st, s_stream_free);
    MHD_add_response_header(r, "Content-Type", "application/json");
    enum MHD_Result rc = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return rc;
}

static void
s_on_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
          enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_context;
    struct s_server *srv = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        __atomic_fetch_add(&srv->conns, 1, __ATOMIC_RELAXED);
}

static void
s_server_start(struct s_server *srv)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv->d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL,
                         NULL, s_handler, srv, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                         MHD_OPTION_NOTIFY_CONNECTION, s_on_conn, srv, MHD_OPTION_END);
    ck_assert_ptr_nonnull(srv->d);
    srv->port = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT)->port;
    ck_assert_int_gt(srv->port, 0);
}

static int
s_get(int *counter)
{
    return __atomic_load_n(counter, __ATOMIC_RELAXED);
}

// Wait (bounded: tenths x 0.1 s) until *counter reaches want; its last value.
static int
s_wait(int *counter, int want, int tenths)
{
    for (int i = 0; i < tenths && s_get(counter) < want; i++)
        usleep(100 * 1000);
    return s_get(counter);
}

// The provider lists and watches. The ca_file written again with the same bytes leaves
// the watch alone; new content (a rotated CA) ends it within a second or so: a new watch
// on a new connection, the old one gone, nothing relisted, counted as a request that
// answered 200 and not as a failure. On the old provider the watch stayed until its
// timeout (5 to 10 minutes): the wait for a second watch fails.
START_TEST(test_scraper_sd_kube_watch_ends_on_tls_change)
{
    struct s_server srv = {0};
    s_server_start(&srv);
    char url[64], ca[300];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", srv.port);
    snprintf(ca, sizeof(ca), "%s/ca.crt", check_util_tmpdir);
    check_util_write_file(ca, "CA one\n");
    struct fw_kube_sd_config c = {.api_server = url, .role = FW_KUBE_ROLE_POD};
    c.http.tls_config.ca_file = ca;
    fw_metrics_t *m = fw_metrics_new();
    scraper_sd_declare_metrics(m);
    fw_err_t err = {0};
    zactor_t *actor = scraper_sd_kube_new(&c, "k8s", m, &err);
    ck_assert_ptr_nonnull(actor);

    // The list's one group, then the watch.
    zsock_set_rcvtimeo(zactor_sock(actor), 10000);
    struct scraper_sd_update *u = scraper_sd_update_recv(zactor_sock(actor));
    ck_assert_ptr_nonnull(u);
    ck_assert(u->full);
    ck_assert_uint_eq(u->n_groups, 1);
    scraper_sd_update_destroy(&u);
    ck_assert_int_eq(s_wait(&srv.watches, 1, 100), 1);
    int conns = s_get(&srv.conns); // MHD closes a connection answered at the first call

    // The same bytes written again: the same generation, the watch goes on.
    check_util_write_file(ca, "CA one\n");
    usleep(2500 * 1000);
    ck_assert_int_eq(s_get(&srv.watches), 1);
    ck_assert_int_eq(s_get(&srv.watches_ended), 0);
    ck_assert_int_eq(s_get(&srv.conns), conns);

    // A new CA: the watch ends and starts again, from its resourceVersion, on a new
    // connection.
    check_util_write_file(ca, "CA two\n");
    ck_assert_int_eq(s_wait(&srv.watches, 2, 50), 2);
    ck_assert_int_eq(s_wait(&srv.watches_ended, 1, 20), 1);
    ck_assert_int_eq(s_get(&srv.conns), conns + 1);
    ck_assert_int_eq(s_get(&srv.lists), 1);
    ck_assert_double_eq(fw_metrics_get(m, "prometheus_sd_kubernetes_failures_total", ""), 0);
    ck_assert_double_eq(
        fw_metrics_get(m, "prometheus_sd_kubernetes_http_request_total", "status_code=\"200\""),
        2); // the list and the ended watch
    // Nothing changed for the targets: no update goes out.
    zsock_set_rcvtimeo(zactor_sock(actor), 300);
    ck_assert_ptr_null(scraper_sd_update_recv(zactor_sock(actor)));

    __atomic_store_n(&srv.stop, 1, __ATOMIC_RELAXED);
    zsock_set_rcvtimeo(zactor_sock(actor), -1); // zactor_destroy waits for the actor's end
    zactor_destroy(&actor);
    MHD_stop_daemon(srv.d);
    fw_metrics_destroy(&m);
}
END_TEST

Suite *
scraper_sd_kube_suite(void)
{
    Suite *s = suite_create("scraper_sd_kube");
    TCase *tc = tcase_create("watch");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_scraper_sd_kube_watch_ends_on_tls_change);
    suite_add_tcase(s, tc);
    return s;
}
