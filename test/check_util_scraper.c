/*  check_util_scraper.c — the scraper daemon as the Check suites run it; see
    check_util_scraper.h. Defines no suite.
*/
#include "check_util_scraper.h"

#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fw_cfg.h"
#include "fw_err.h"
#include "fw_msg.h"
#include "check_util.h"

static void
s_on_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
          enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_context;
    struct check_util_scraper_target *t = cls;
    if (t && code == MHD_CONNECTION_NOTIFY_STARTED)
        __atomic_fetch_add(&t->conns, 1, __ATOMIC_RELAXED);
    if (t && code == MHD_CONNECTION_NOTIFY_CLOSED)
        __atomic_fetch_add(&t->closes, 1, __ATOMIC_RELAXED);
}

// check_util_scraper_httpd, counting the TCP connections into t (NULL: not counted).
static struct MHD_Daemon *
s_httpd(MHD_AccessHandlerCallback h, void *cls, int *port, struct check_util_scraper_target *t)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, h, cls, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_CONNECTION, s_on_conn, t, MHD_OPTION_END);
    ck_assert_ptr_nonnull(d);
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    *port = info->port;
    ck_assert_int_gt(*port, 0);
    return d;
}

struct MHD_Daemon *
check_util_scraper_httpd(MHD_AccessHandlerCallback h, void *cls, int *port)
{
    return s_httpd(h, cls, port, NULL);
}

enum MHD_Result
check_util_scraper_reply(struct MHD_Connection *conn, unsigned status, const char *body)
{
    // MHD_RESPMEM_MUST_COPY never writes the buffer; the cast only drops const
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4");
    enum MHD_Result rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result
s_target_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                 const char *version, const char *upload_data, size_t *upload_size, void **ptr)
{
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    struct check_util_scraper_target *t = cls;
    static int first;
    if (t->keep_alive && !*ptr) {
        *ptr = &first;
        return MHD_YES;
    }
    if (t->delay_ms)
        zclock_sleep(t->delay_ms);
    if (t->body)
        return check_util_scraper_reply(conn, 200, t->body);
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    char body[512];
    snprintf(body, sizeof(body), "auth{v=\"%s\"} 1\n", auth ? auth : "none");
    return check_util_scraper_reply(conn, 200, body);
}

void
check_util_scraper_target_start(struct check_util_scraper_target *t)
{
    t->conns = 0;
    t->d = s_httpd(s_target_handler, t, &t->port, t);
}

void
check_util_scraper_target_stop(struct check_util_scraper_target *t)
{
    if (t->d)
        MHD_stop_daemon(t->d);
    t->d = NULL;
}

zsock_t *
check_util_scraper_init(struct check_util_scraper *ctx, const char *config_file)
{
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    int push_port = zsock_bind(router, "tcp://127.0.0.1:*");
    ck_assert_int_gt(push_port, 0);
    memset(ctx, 0, sizeof(*ctx));
    snprintf(ctx->push, sizeof(ctx->push), "tcp://127.0.0.1:%d", push_port);
    ctx->opts.zmq_tsdb_address = ctx->push;
    ctx->opts.zmq_pub_address = "tcp://127.0.0.1:*";
    ctx->opts.common.web_listen_address = "127.0.0.1:0";
    ctx->opts.common.config_file = config_file;
    if (config_file) {
        struct fw_cfg_errors errs = {0};
        ck_assert_int_eq(scraper_config_load(config_file, &ctx->cfg, &errs), 0);
    }
    return router;
}

void
check_util_scraper_config(struct check_util_scraper *ctx, const char *text)
{
    struct fw_cfg_errors errs = {0};
    int rc = fw_promcfg_load("test.yml", text, &ctx->cfg, &errs);
    ck_assert_msg(rc == 0, "config: %s", errs.len ? errs.items[0].msg : "?");
}

static void
s_actor(zsock_t *pipe, void *args)
{
    struct check_util_scraper *ctx = args;
    ctx->tid = (pid_t)syscall(SYS_gettid);
    scraper_t *s = scraper_new(&ctx->opts);
    fw_err_t err = {0};
    ctx->rc = scraper_open(s, &ctx->cfg, &err);
    if (ctx->rc != 0)
        fprintf(stderr, "scraper_open: %s\n", err.msg);
    ctx->http_port = scraper_http_port(s);
    zsock_signal(pipe, 0);
    if (ctx->rc == 0)
        scraper_run(s, pipe);
    scraper_destroy(&s);
}

zactor_t *
check_util_scraper_start(struct check_util_scraper *ctx)
{
    zactor_t *actor = zactor_new(s_actor, ctx);
    ck_assert_ptr_nonnull(actor);
    ck_assert_int_eq(ctx->rc, 0);
    return actor;
}

void
check_util_scraper_ack(zsock_t *router, zframe_t **identity, const struct fw_batch *b)
{
    fw_err_t err;
    json_t *body = json_pack("{sssI}", "sender", b->sender, "acked", (json_int_t)b->seq);
    struct fw_msg *ack = fw_msg_new_json(FW_MSG_SAMPLES_ACK, body); // steals body
    zmsg_t *out = fw_msg_encode(ack, &err);
    fw_msg_destroy(&ack);
    ck_assert_ptr_nonnull(out);
    zmsg_prepend(out, identity);
    ck_assert_int_eq(zmsg_send(&out, router), 0);
}

char *
check_util_scraper_http(int port, const char *method, const char *path, long *status)
{
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    struct check_util_http r;
    int rc = check_util_http_request(method, url, NULL, 0, NULL, NULL, 10000, &r);
    ck_assert_msg(rc == 0, "%s %s: no answer", method, url);
    *status = r.status;
    return r.body;
}

void
check_util_scraper_setup(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void
check_util_scraper_teardown(void)
{
    curl_global_cleanup();
}

int
check_util_syscall_open(pid_t tid, const char *name)
{
    long id = -1;
    for (int i = 0; i < 2 && id < 0; i++) {
        char path[160];
        const char *root = i ? "/sys/kernel/debug/tracing" : "/sys/kernel/tracing";
        if (name)
            snprintf(path, sizeof path, "%s/events/syscalls/sys_enter_%s/id", root, name);
        else
            snprintf(path, sizeof path, "%s/events/raw_syscalls/sys_enter/id", root);
        FILE *f = fopen(path, "r");
        if (f && fscanf(f, "%ld", &id) != 1)
            id = -1;
        if (f)
            fclose(f);
    }
    if (id < 0)
        return -1;
    struct perf_event_attr a = {.type = PERF_TYPE_TRACEPOINT, .size = sizeof(a)};
    a.config = (unsigned long long)id;
    return (int)syscall(SYS_perf_event_open, &a, tid, -1, -1, 0);
}

int
check_util_syscalls_open(pid_t tid)
{
    return check_util_syscall_open(tid, NULL);
}

double
check_util_syscalls_read(int fd)
{
    unsigned long long n = 0;
    return read(fd, &n, sizeof(n)) == (ssize_t)sizeof(n) ? (double)n : -1;
}
