/*  check_fw_http.c — the HTTP server, exercised over real sockets with libcurl.

    Each test starts a server on 127.0.0.1 with port 0 (the kernel picks a free port) through
    a checked fixture, adds an echo route that prints what the request accessors return, and
    talks to it with libcurl. The /-/reload test runs a thread that plays the daemon's zloop:
    it polls fw_http_reload_requested() and answers with fw_http_reload_done().
*/
#include <check.h>
#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "fw_http.h"
#include "fw_http_int.h" // test_fw_http_body_buffer reads a request's buffer size
#include "fw_mem.h"
#include "fw_metrics.h"
#include "check_util.h"

static fw_metrics_t *s_metrics;
static fw_http_t *s_http;
static char s_base[64];

// One request to base+path. body NULL sends none; ctype sets Content-Type. 0 or -1.
static int
s_fetch_at(const char *base, const char *method, const char *path, const char *body,
           size_t body_len, const char *ctype, struct check_util_http *out)
{
    char url[512];
    snprintf(url, sizeof(url), "%s%s", base, path);
    const char *headers[] = {"x-test: hello", NULL};
    return check_util_http_request(method, url, body, body_len, ctype, headers, 20000, out);
}

static void
s_fetch(const char *method, const char *path, const char *body, const char *ctype,
        struct check_util_http *out)
{
    int rc = s_fetch_at(s_base, method, path, body, body ? strlen(body) : 0, ctype, out);
    ck_assert_msg(rc == 0, "%s %s: transfer failed", method, path);
}

// Prints what the accessors see, one "key=value" per line.
static int
s_on_echo(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)arg;
    const char *m[4] = {"-", "-", "-", "-"};
    size_t nm = fw_http_args(req, "m", m, 3);
    const char *mt[3] = {"-", "-", "-"};
    size_t nmt = fw_http_args(req, "match[]", mt, 3);
    size_t blen;
    const char *body = fw_http_body(req, &blen);
    const char *a = fw_http_arg(req, "a");
    const char *b = fw_http_arg(req, "b");
    const char *c = fw_http_arg(req, "c");
    const char *x = fw_http_arg(req, "x");
    resp->body = fw_asprintf("method=%s\npath=%s\na=%s\nb=%s\nc=%s\nx=%s\nm=%zu:%s,%s,%s\n"
                             "match=%zu:%s,%s\nbody=%zu:%s\nhdr=%s\n",
                             fw_http_method(req), fw_http_path(req), a ? a : "(null)",
                             b ? b : "(null)", c ? c : "(null)", x ? x : "(null)", nm, m[0], m[1],
                             m[2], nmt, mt[0], mt[1], blen, body, fw_http_header(req, "X-TEST"));
    resp->content_type = "text/x-echo";
    return 0;
}

static int
s_on_fixed(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    fw_http_respond(resp, 202, NULL, arg);
    return 0;
}

static int
s_on_fail(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    resp->body = fw_strdup("half-built answer");
    return -1;
}

// The body's length, its buffer's size and whether it is the 'a'..'z' pattern s_pattern wrote.
static int
s_on_bodycap(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)arg;
    bool ok = true;
    for (size_t i = 0; i < req->body_len && ok; i++)
        ok = req->body[i] == (char)('a' + i % 26);
    resp->body = fw_asprintf("len=%zu cap=%zu ok=%d", req->body_len, req->body_cap, ok);
    return 0;
}

static char *
s_pattern(size_t n)
{
    char *p = fw_malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)('a' + i % 26);
    p[n] = '\0';
    return p;
}

static char s_exact[] = "exact";
static char s_prefix[] = "prefix";

// The "loop" test case serves from a zloop run by s_loop_thread (the daemon's main thread),
// stopped through s_loop_stop; the "core" case on libmicrohttpd's threads.
static zloop_t *s_loop;
static pthread_t s_loop_thread;
static atomic_bool s_loop_stop;

// Says on which thread the handler ran: "loop" (s_loop_thread) or "thread".
static int
s_on_where(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    bool loop = s_loop && pthread_equal(pthread_self(), s_loop_thread);
    fw_http_respond(resp, 200, NULL, loop ? "loop" : "thread");
    return 0;
}

// /block holds its answer until s_block_release (at most 10 s), s_block_entered says it came.
static pthread_mutex_t s_block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t s_block_cond = PTHREAD_COND_INITIALIZER;
static bool s_block_entered, s_block_release;

static int
s_on_block(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&s_block_lock);
    s_block_entered = true;
    pthread_cond_broadcast(&s_block_cond);
    while (!s_block_release)
        if (pthread_cond_timedwait(&s_block_cond, &s_block_lock, &until) != 0)
            break;
    bool released = s_block_release;
    pthread_mutex_unlock(&s_block_lock);
    fw_http_respond(resp, released ? 200 : 504, NULL, released ? "released" : "never released");
    return 0;
}

static int
s_on_stop_check(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    (void)arg;
    return atomic_load(&s_loop_stop) ? -1 : 0;
}

static void *
s_run_loop(void *arg)
{
    (void)arg;
    zloop_start(s_loop);
    return NULL;
}

static void
s_start(zloop_t *loop)
{
    s_metrics = fw_metrics_new();
    s_http = fw_http_new("testd", s_metrics);
    fw_http_route(s_http, "GET,POST", "/echo", s_on_echo, NULL);
    fw_http_route(s_http, "GET", "/api/exact", s_on_fixed, s_exact);
    fw_http_route(s_http, "GET,DELETE", "/api/", s_on_fixed, s_prefix);
    fw_http_route(s_http, "GET", "/fail", s_on_fail, NULL);
    fw_http_route_loop(s_http, "GET", "/where", s_on_where, NULL);
    fw_http_route(s_http, "GET", "/where-off", s_on_where, NULL);
    fw_http_route(s_http, "POST", "/where", s_on_where, NULL);
    fw_http_route(s_http, "GET", "/block", s_on_block, NULL);
    fw_http_route(s_http, "POST", "/bodycap", s_on_bodycap, NULL);
    s_block_entered = s_block_release = false;
    if (loop)
        fw_http_set_loop(s_http, loop);
    fw_err_t err = {0};
    int rc = fw_http_start(s_http, "127.0.0.1:0", &err);
    ck_assert_msg(rc == 0, "start: %s", err.msg);
    ck_assert_int_gt(fw_http_port(s_http), 0);
    ck_assert(fw_http_on_loop(s_http) == (loop != NULL));
    snprintf(s_base, sizeof(s_base), "http://127.0.0.1:%d", fw_http_port(s_http));
}

static void
s_setup(void)
{
    s_start(NULL);
}

static void
s_teardown(void)
{
    fw_http_destroy(&s_http);
    fw_metrics_destroy(&s_metrics);
}

static void
s_setup_loop(void)
{
    s_loop = zloop_new();
    atomic_store(&s_loop_stop, false);
    zloop_timer(s_loop, 10, 0, s_on_stop_check, NULL);
    s_start(s_loop);
    ck_assert_int_eq(pthread_create(&s_loop_thread, NULL, s_run_loop, NULL), 0);
}

// Stop the loop's thread; then nothing runs the loop, and the test thread may destroy.
static void
s_stop_loop(void)
{
    atomic_store(&s_loop_stop, true);
    pthread_join(s_loop_thread, NULL);
}

static void
s_teardown_loop(void)
{
    if (!atomic_load(&s_loop_stop))
        s_stop_loop();
    fw_http_destroy(&s_http);
    zloop_destroy(&s_loop);
    fw_metrics_destroy(&s_metrics);
}

START_TEST(test_fw_http_new_start_destroy)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_http_t *h = fw_http_new("exampled", m);
    ck_assert_ptr_nonnull(h);
    ck_assert_int_le(fw_http_port(h), 0); // not listening yet
    fw_err_t err = {0};
    ck_assert_int_eq(fw_http_start(h, "127.0.0.1:0", &err), 0);
    int port = fw_http_port(h);
    ck_assert_int_gt(port, 0);
    ck_assert_int_lt(port, 65536);
    ck_assert_int_eq(fw_http_start(h, "127.0.0.1:0", &err), -1); // only once
    fw_http_destroy(&h);
    ck_assert_ptr_null(h);
    fw_http_destroy(&h);
    fw_http_destroy(NULL);
    // Destroy without start is fine too.
    h = fw_http_new("exampled", m);
    fw_http_destroy(&h);
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_fw_http_metrics_route)
{
    struct check_util_http r;
    s_fetch("GET", "/-/healthy", NULL, NULL, &r);
    free(r.body);
    s_fetch("GET", "/metrics", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    ck_assert_ptr_nonnull(strstr(r.body, "# TYPE fw_http_requests_total counter\n"));
    ck_assert_ptr_nonnull(
        strstr(r.body, "\nfw_http_requests_total{handler=\"/-/healthy\",code=\"200\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\nprocess_resident_memory_bytes "));
    free(r.body);
}
END_TEST

START_TEST(test_fw_http_healthy)
{
    struct check_util_http r;
    s_fetch("GET", "/-/healthy", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "Testd is Healthy.\n");
    ck_assert_str_eq(r.ctype, "text/plain; charset=utf-8");
    free(r.body);
    s_fetch("HEAD", "/-/healthy", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, 0);
    free(r.body);
}
END_TEST

START_TEST(test_fw_http_ready)
{
    struct check_util_http r;
    s_fetch("GET", "/-/ready", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 503);
    ck_assert_str_eq(r.body, "Service Unavailable");
    free(r.body);
    fw_http_set_ready(s_http, true);
    s_fetch("GET", "/-/ready", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "Testd is Ready.\n");
    free(r.body);
    fw_http_set_ready(s_http, false);
    s_fetch("GET", "/-/ready", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 503);
    free(r.body);
}
END_TEST

START_TEST(test_fw_http_get_args)
{
    struct check_util_http r;
    s_fetch("GET", "/echo?a=one%20two&m=1&match%5B%5D=up&m=2&match[]=rate(x%7Bj%3D%22a%22%7D)",
            NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.ctype, "text/x-echo");
    ck_assert_str_eq(r.body, "method=GET\npath=/echo\na=one two\nb=(null)\nc=(null)\n"
                             "x=(null)\nm=2:1,2,-\nmatch=2:up,rate(x{j=\"a\"})\nbody=0:\n"
                             "hdr=hello\n");
    free(r.body);
}
END_TEST

// A daemon's own pool size: a 24 KiB request line does not fit a 16 KiB pool (refused)
// but fits the default; a 100 KiB body still streams through the small pool.
START_TEST(test_fw_http_conn_memory)
{
    fw_metrics_t *m = fw_metrics_new();
    fw_http_t *h = fw_http_new("smalld", m);
    fw_http_route(h, "GET,POST", "/echo", s_on_echo, NULL);
    fw_http_set_conn_memory(h, 16 * 1024);
    fw_err_t err = {0};
    ck_assert_int_eq(fw_http_start(h, "127.0.0.1:0", &err), 0);
    size_t n = 24 * 1024;
    char *url = malloc(n + 128), base[64];
    snprintf(base, sizeof base, "http://127.0.0.1:%d", fw_http_port(h));
    int off = snprintf(url, 128, "%s/echo?a=", base);
    memset(url + off, 'x', n);
    url[off + (int)n] = '\0';
    struct check_util_http r;
    ck_assert_int_eq(check_util_http_request("GET", url, NULL, 0, NULL, NULL, 20000, &r), 0);
    ck_assert_int_ge(r.status, 400);
    free(r.body);
    char *body = malloc(100 * 1024 + 1);
    memset(body, 'y', 100 * 1024);
    body[100 * 1024] = '\0';
    ck_assert_int_eq(s_fetch_at(base, "POST", "/echo", body, 100 * 1024, "text/plain", &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "body=102400:yyy"));
    free(r.body);
    // The default pool takes the long line.
    off = snprintf(url, 128, "%s/echo?a=", s_base);
    memset(url + off, 'x', n);
    url[off + (int)n] = '\0';
    ck_assert_int_eq(check_util_http_request("GET", url, NULL, 0, NULL, NULL, 20000, &r), 0);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    free(body);
    free(url);
    fw_http_destroy(&h);
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_fw_http_post_form)
{
    struct check_util_http r;
    s_fetch("POST", "/echo?a=fromquery&m=q", "a=frombody&m=y&m=z+w&b=%41%42%zz&c",
            "application/x-www-form-urlencoded", &r);
    ck_assert_int_eq(r.status, 200);
    // Query args come first; the form body fills in the rest and adds repeats.
    ck_assert_str_eq(r.body, "method=POST\npath=/echo\na=fromquery\nb=AB%zz\nc=\nx=(null)\n"
                             "m=3:q,y,z w\nmatch=0:-,-\n"
                             "body=34:a=frombody&m=y&m=z+w&b=%41%42%zz&c\nhdr=hello\n");
    free(r.body);
    // A JSON body is raw: not parsed as a form.
    s_fetch("POST", "/echo", "x=1&{\"k\":1}", "application/json", &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_ptr_nonnull(strstr(r.body, "\nx=(null)\n"));
    ck_assert_ptr_nonnull(strstr(r.body, "\nbody=11:x=1&{\"k\":1}\n"));
    free(r.body);
}
END_TEST

START_TEST(test_fw_http_body_too_large)
{
    size_t n = 17u * 1024u * 1024u;
    char *big = fw_malloc(n);
    memset(big, 'a', n);
    struct check_util_http r;
    int rc = s_fetch_at(s_base, "POST", "/echo", big, n, "application/octet-stream", &r);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(r.status, 413);
    free(r.body);
    free(big);
    // The server still answers afterwards.
    s_fetch("GET", "/-/healthy", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
}
END_TEST

// A body with a small Content-Length is read into one buffer of exactly that size (a 4 KiB
// block per alert POST made glibc consolidate its fastbins and touch fresh heap pages: 55 us
// of alertd's first notification); a large or chunked one still grows and arrives whole.
START_TEST(test_fw_http_body_buffer)
{
    static const struct {
        size_t len;
        bool chunked;
        const char *want;
    } cases[] = {
        {300, false, "len=300 cap=301 ok=1"},          {65536, false, "len=65536 cap=65537 ok=1"},
        {100000, false, "len=100000 cap=131072 ok=1"}, {300, true, "len=300 cap=4096 ok=1"},
        {10000, true, "len=10000 cap=16384 ok=1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *body = s_pattern(cases[i].len);
        const char *te[] = {"Transfer-Encoding: chunked", NULL};
        char url[128];
        snprintf(url, sizeof(url), "%s/bodycap", s_base);
        struct check_util_http r;
        int rc = check_util_http_request("POST", url, body, cases[i].len, "text/plain",
                                         cases[i].chunked ? te : NULL, 20000, &r);
        ck_assert_int_eq(rc, 0);
        ck_assert_int_eq(r.status, 200);
        ck_assert_msg(strcmp(r.body, cases[i].want) == 0, "case %zu: %s, want %s", i, r.body,
                      cases[i].want);
        free(r.body);
        free(body);
    }
}
END_TEST

START_TEST(test_fw_http_not_found_and_method)
{
    struct check_util_http r;
    s_fetch("GET", "/nope", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    free(r.body);
    s_fetch("GET", "/-/reload", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "POST,PUT");
    free(r.body);
    s_fetch("POST", "/metrics", "x=1", "application/x-www-form-urlencoded", &r);
    ck_assert_int_eq(r.status, 405);
    free(r.body);
    s_fetch("PUT", "/echo", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    free(r.body);
    // A handler failing answers 500 with a generic body.
    s_fetch("GET", "/fail", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 500);
    ck_assert_ptr_null(strstr(r.body, "half-built"));
    free(r.body);
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_requests_total", "handler=\"other\",code=\"404\""), 1);
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_requests_total", "handler=\"/-/reload\",code=\"405\""),
        1);
}
END_TEST

START_TEST(test_fw_http_prefix_routes)
{
    struct check_util_http r;
    // "/api/" was added after "/api/exact", so the prefix route wins for both.
    s_fetch("GET", "/api/exact", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 202);
    ck_assert_str_eq(r.body, "prefix");
    free(r.body);
    s_fetch("DELETE", "/api/v2/silence/abc", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 202);
    ck_assert_str_eq(r.body, "prefix");
    free(r.body);
    s_fetch("GET", "/api", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 404);
    free(r.body);
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_requests_total", "handler=\"/api/\",code=\"202\""), 2);
}
END_TEST

struct s_zloop {
    fw_http_t *http;
    int rc;
    const char *msg;
    bool answered;
};

// Plays the daemon's housekeeping timer for at most 10 s.
static void *
s_zloop_thread(void *arg)
{
    struct s_zloop *z = arg;
    for (int i = 0; i < 1000; i++) {
        if (fw_http_reload_requested(z->http)) {
            fw_http_reload_done(z->http, z->rc, z->msg);
            z->answered = true;
            break;
        }
        usleep(10000);
    }
    return NULL;
}

START_TEST(test_fw_http_reload_handshake)
{
    ck_assert(!fw_http_reload_requested(s_http));
    struct s_zloop z = {s_http, -1, "rules.yml:3:5: error: bad expr", false};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_zloop_thread, &z), 0);
    struct check_util_http r;
    s_fetch("POST", "/-/reload", "", NULL, &r);
    pthread_join(t, NULL);
    ck_assert(z.answered);
    ck_assert_int_eq(r.status, 500);
    ck_assert_ptr_nonnull(strstr(r.body, "rules.yml:3:5: error: bad expr"));
    free(r.body);
    ck_assert(!fw_http_reload_requested(s_http));

    struct s_zloop ok = {s_http, 0, NULL, false};
    ck_assert_int_eq(pthread_create(&t, NULL, s_zloop_thread, &ok), 0);
    s_fetch("PUT", "/-/reload", NULL, NULL, &r);
    pthread_join(t, NULL);
    ck_assert(ok.answered);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_requests_total", "handler=\"/-/reload\",code=\"500\""),
        1);
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_requests_total", "handler=\"/-/reload\",code=\"200\""),
        1);
}
END_TEST

struct s_client {
    char base[64];
    struct check_util_http r;
    int rc;
};

static void *
s_reload_client(void *arg)
{
    struct s_client *c = arg;
    c->rc = s_fetch_at(c->base, "POST", "/-/reload", "", 0, NULL, &c->r);
    return NULL;
}

START_TEST(test_fw_http_destroy_wakes_reload)
{
    struct s_client c;
    memset(&c, 0, sizeof(c));
    snprintf(c.base, sizeof(c.base), "%s", s_base);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_reload_client, &c), 0);
    bool seen = false;
    for (int i = 0; i < 500 && !seen; i++) {
        seen = fw_http_reload_requested(s_http);
        if (!seen)
            usleep(10000);
    }
    ck_assert(seen);
    time_t t0 = time(NULL);
    fw_http_destroy(&s_http); // must not wait out the 30 s reload timeout
    ck_assert_int_le(time(NULL) - t0, 5);
    pthread_join(t, NULL);
    if (c.rc == 0)
        ck_assert_int_eq(c.r.status, 503);
    free(c.r.body);
}
END_TEST

START_TEST(test_fw_http_request_counter)
{
    struct check_util_http r;
    for (int i = 0; i < 3; i++) {
        s_fetch("GET", "/-/healthy", NULL, NULL, &r);
        free(r.body);
    }
    s_fetch("GET", "/echo?a=1", NULL, NULL, &r);
    free(r.body);
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_requests_total", "handler=\"/-/healthy\",code=\"200\""),
        3);
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_requests_total", "handler=\"/echo\",code=\"200\""), 1);
    // a histogram with buckets (promtool check metrics refuses _sum and _count counters)
    ck_assert_double_eq(
        fw_metrics_get(s_metrics, "fw_http_request_duration_seconds", "handler=\"/-/healthy\""), 3);
    char *text = fw_metrics_render(s_metrics);
    ck_assert_ptr_nonnull(strstr(text, "# TYPE fw_http_request_duration_seconds histogram\n"));
    ck_assert_ptr_nonnull(strstr(text, "fw_http_request_duration_seconds_bucket{handler="
                                       "\"/-/healthy\",le=\"0.1\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "fw_http_request_duration_seconds_bucket{handler="
                                       "\"/-/healthy\",le=\"+Inf\"} 3\n"));
    ck_assert_ptr_nonnull(
        strstr(text, "fw_http_request_duration_seconds_count{handler=\"/-/healthy\"} 3\n"));
    const char *sum = strstr(text, "fw_http_request_duration_seconds_sum{handler=\"/-/healthy\"} ");
    ck_assert_ptr_nonnull(sum);
    double v = strtod(strchr(sum, '}') + 2, NULL);
    ck_assert_double_gt(v, 0);
    ck_assert_double_lt(v, 10);
    free(text);
}
END_TEST

START_TEST(test_fw_http_bind_errors)
{
    fw_http_t *other = fw_http_new("other", NULL);
    fw_err_t err = {0};
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", fw_http_port(s_http));
    ck_assert_int_eq(fw_http_start(other, addr, &err), -1);
    ck_assert_msg(strstr(err.msg, addr) && strstr(err.msg, "in use"), "err: %s", err.msg);
    ck_assert_int_eq(fw_http_start(other, "nonsense", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "nonsense"));
    ck_assert_int_eq(fw_http_start(other, "127.0.0.1:99999", &err), -1);
    ck_assert_int_eq(fw_http_start(other, "127.0.0.1:", &err), -1);
    ck_assert_int_eq(fw_http_start(other, "no-such-host.invalid:0", &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no-such-host.invalid"));
    // NULL err is allowed.
    ck_assert_int_eq(fw_http_start(other, addr, NULL), -1);
    fw_http_destroy(&other);
}
END_TEST

START_TEST(test_fw_http_any_address)
{
    fw_http_t *h = fw_http_new("anyd", NULL);
    fw_err_t err = {0};
    ck_assert_msg(fw_http_start(h, ":0", &err) == 0, "start: %s", err.msg);
    char base[64];
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", fw_http_port(h));
    struct check_util_http r;
    ck_assert_int_eq(s_fetch_at(base, "GET", "/-/healthy", NULL, 0, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "Anyd is Healthy.\n");
    free(r.body);
    // No registry: /metrics is empty but served.
    ck_assert_int_eq(s_fetch_at(base, "GET", "/metrics", NULL, 0, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    fw_http_destroy(&h);

    h = fw_http_new("locald", NULL);
    ck_assert_msg(fw_http_start(h, "localhost:0", &err) == 0, "start: %s", err.msg);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", fw_http_port(h));
    ck_assert_int_eq(s_fetch_at(base, "GET", "/-/healthy", NULL, 0, NULL, &r), 0);
    ck_assert_int_eq(r.status, 200);
    free(r.body);
    fw_http_destroy(&h);
}
END_TEST

START_TEST(test_fw_http_loop_routes_run_on_the_loop)
{
    struct check_util_http r;
    // A loop route runs on the loop's thread when served from a loop, else on a connection's.
    s_fetch("GET", "/where", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, s_loop ? "loop" : "thread");
    free(r.body);
    // Any other route, also the same path's other method, runs off the loop.
    s_fetch("GET", "/where-off", NULL, NULL, &r);
    ck_assert_str_eq(r.body, "thread");
    free(r.body);
    s_fetch("POST", "/where", "", NULL, &r);
    ck_assert_str_eq(r.body, "thread");
    free(r.body);
    // A 405 allows the methods of both routes of the path.
    s_fetch("PUT", "/where", NULL, NULL, &r);
    ck_assert_int_eq(r.status, 405);
    ck_assert_str_eq(r.allow, "GET,POST");
    free(r.body);
}
END_TEST

struct s_block_client {
    char base[64];
    struct check_util_http r;
    int rc;
};

static void *
s_block_client(void *arg)
{
    struct s_block_client *c = arg;
    c->rc = s_fetch_at(c->base, "GET", "/block", NULL, 0, NULL, &c->r);
    return NULL;
}

// A handler that blocks holds only its own request: the loop, its routes and the other
// routes still answer meanwhile (served from a loop, a blocking handler on the loop would
// leave every request unanswered until it returned).
START_TEST(test_fw_http_slow_handler_does_not_stall)
{
    struct s_block_client c;
    memset(&c, 0, sizeof(c));
    snprintf(c.base, sizeof(c.base), "%s", s_base);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_block_client, &c), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    pthread_mutex_lock(&s_block_lock);
    while (!s_block_entered)
        if (pthread_cond_timedwait(&s_block_cond, &s_block_lock, &until) != 0)
            break;
    bool entered = s_block_entered;
    pthread_mutex_unlock(&s_block_lock);
    ck_assert(entered);
    struct check_util_http r;
    const char *paths[] = {"/where", "/-/healthy", "/echo?a=1", "/metrics"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        char url[256];
        snprintf(url, sizeof(url), "%s%s", s_base, paths[i]);
        ck_assert_msg(check_util_http_request("GET", url, NULL, 0, NULL, NULL, 5000, &r) == 0,
                      "%s went unanswered while /block waits", paths[i]);
        ck_assert_int_eq(r.status, 200);
        free(r.body);
    }
    pthread_mutex_lock(&s_block_lock);
    s_block_release = true;
    pthread_cond_broadcast(&s_block_cond);
    pthread_mutex_unlock(&s_block_lock);
    pthread_join(t, NULL);
    ck_assert_int_eq(c.rc, 0);
    ck_assert_int_eq(c.r.status, 200);
    ck_assert_str_eq(c.r.body, "released");
    free(c.r.body);
}
END_TEST

// Served from a loop, destroy with a /-/reload waiting on its thread: the reload answers 503
// and libmicrohttpd stops with no connection left suspended (it aborts otherwise).
START_TEST(test_fw_http_loop_destroy_wakes_reload)
{
    struct s_client c;
    memset(&c, 0, sizeof(c));
    snprintf(c.base, sizeof(c.base), "%s", s_base);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, s_reload_client, &c), 0);
    bool seen = false;
    for (int i = 0; i < 500 && !seen; i++) {
        seen = fw_http_reload_requested(s_http);
        if (!seen)
            usleep(10000);
    }
    ck_assert(seen);
    s_stop_loop();
    time_t t0 = time(NULL);
    fw_http_destroy(&s_http); // must not wait out the 30 s reload timeout
    ck_assert_int_le(time(NULL) - t0, 5);
    pthread_join(t, NULL);
    free(c.r.body);
}
END_TEST

static int s_turn_hits;

static int
s_on_count(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    s_turn_hits++;
    fw_http_respond(resp, 200, NULL, "ok");
    return 0;
}

static int
s_on_stop_turn(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    (void)arg;
    return -1;
}

// s_http serving GET /count on loop's thread, and a connection to it (answers it does not
// get within 5 s fail the test's recv rather than hang it).
static int
s_loop_count_client(zloop_t *loop)
{
    s_metrics = fw_metrics_new();
    s_http = fw_http_new("testd", s_metrics);
    fw_http_route_loop(s_http, "GET", "/count", s_on_count, NULL);
    fw_http_set_loop(s_http, loop);
    fw_err_t err = {0};
    ck_assert_msg(fw_http_start(s_http, "127.0.0.1:0", &err) == 0, "start: %s", err.msg);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    ck_assert_int_ge(c, 0);
    struct timeval tv = {.tv_sec = 5};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)fw_http_port(s_http)),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(connect(c, (struct sockaddr *)&a, sizeof a), 0);
    return c;
}

// A request that came with its connection is handled in the loop turn that accepts the
// connection (before: accepted in one turn, read in the next, after a 0 ms timer): the
// connection and the request are in before the loop runs, and the loop stops after one
// turn (an always-readable eventfd polled after libmicrohttpd's descriptor).
START_TEST(test_fw_http_loop_request_in_accepting_turn)
{
    zloop_t *loop = zloop_new();
    int c = s_loop_count_client(loop);
    static const char req[] = "GET /count HTTP/1.1\r\nHost: x\r\n\r\n";
    ck_assert_int_eq(send(c, req, sizeof req - 1, 0), (ssize_t)(sizeof req - 1));
    int ev = eventfd(1, EFD_CLOEXEC);
    ck_assert_int_ge(ev, 0);
    zmq_pollitem_t stop = {NULL, ev, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zloop_poller(loop, &stop, s_on_stop_turn, NULL), 0);
    s_turn_hits = 0;
    zloop_start(loop);
    ck_assert_int_eq(s_turn_hits, 1);
    zloop_poller_end(loop, &stop);
    close(ev);
    close(c);
    fw_http_destroy(&s_http);
    zloop_destroy(&loop);
    fw_metrics_destroy(&s_metrics);
}
END_TEST

// A request on a kept-alive connection costs its loop turn no poll() beyond zloop's own:
// fw_http_loop looks at libmicrohttpd's epoll descriptor again only after a run that
// accepted a connection (to read a request that came with it, as the test above wants). It
// looked after every run before, one system call of the six a single-alert POST cost alertd's
// loop: KEEPALIVE_REQS requests on one connection after the first, one loop turn each, took
// one look each before (074e04c's s_run, counter added: "20 looks"), none now
// (check_alertd_daemon post_keepalive_syscalls counts the system calls themselves where the
// kernel's tracepoints are readable).
#define KEEPALIVE_REQS 20
START_TEST(test_fw_http_loop_keepalive_no_extra_poll)
{
    zloop_t *loop = zloop_new();
    int c = s_loop_count_client(loop);
    int ev = eventfd(1, EFD_CLOEXEC);
    ck_assert_int_ge(ev, 0);
    zmq_pollitem_t stop = {NULL, ev, ZMQ_POLLIN, 0};
    ck_assert_int_eq(zloop_poller(loop, &stop, s_on_stop_turn, NULL), 0);
    static const char req[] = "GET /count HTTP/1.1\r\nHost: x\r\n\r\n";
    s_turn_hits = 0;
    uint64_t after_accept = 0;
    for (int i = 0; i <= KEEPALIVE_REQS; i++) {
        ck_assert_int_eq(send(c, req, sizeof req - 1, 0), (ssize_t)(sizeof req - 1));
        zloop_start(loop); // one turn
        ck_assert_int_eq(s_turn_hits, i + 1);
        char buf[1024];
        ssize_t n = recv(c, buf, sizeof buf - 1, 0);
        ck_assert_int_gt(n, 0);
        buf[n] = '\0';
        ck_assert_msg(strncmp(buf, "HTTP/1.1 200", 12) == 0 && strstr(buf, "\r\n\r\nok"),
                      "answer %d: %s", i, buf);
        if (i == 0)
            after_accept = s_http->run_polls;
    }
    ck_assert_msg(s_http->run_polls == after_accept, "%llu looks for %d kept-alive requests",
                  (unsigned long long)(s_http->run_polls - after_accept), KEEPALIVE_REQS);
    ck_assert_uint_ge(after_accept,
                      1); // the accepting turn looked at least once, and read the request
    zloop_poller_end(loop, &stop);
    close(ev);
    close(c);
    fw_http_destroy(&s_http);
    zloop_destroy(&loop);
    fw_metrics_destroy(&s_metrics);
}
END_TEST

Suite *
fw_http_suite(void)
{
    Suite *s = suite_create("fw_http");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_fw_http_new_start_destroy);
    tcase_add_test(tc, test_fw_http_metrics_route);
    tcase_add_test(tc, test_fw_http_healthy);
    tcase_add_test(tc, test_fw_http_ready);
    tcase_add_test(tc, test_fw_http_get_args);
    tcase_add_test(tc, test_fw_http_conn_memory);
    tcase_add_test(tc, test_fw_http_post_form);
    tcase_add_test(tc, test_fw_http_body_too_large);
    tcase_add_test(tc, test_fw_http_body_buffer);
    tcase_add_test(tc, test_fw_http_not_found_and_method);
    tcase_add_test(tc, test_fw_http_prefix_routes);
    tcase_add_test(tc, test_fw_http_reload_handshake);
    tcase_add_test(tc, test_fw_http_destroy_wakes_reload);
    tcase_add_test(tc, test_fw_http_request_counter);
    tcase_add_test(tc, test_fw_http_bind_errors);
    tcase_add_test(tc, test_fw_http_any_address);
    tcase_add_test(tc, test_fw_http_loop_routes_run_on_the_loop);
    tcase_add_test(tc, test_fw_http_slow_handler_does_not_stall);
    suite_add_tcase(s, tc);

    // The same served from a zloop (fw_http_set_loop).
    tc = tcase_create("loop");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup_loop, s_teardown_loop);
    tcase_add_test(tc, test_fw_http_new_start_destroy);
    tcase_add_test(tc, test_fw_http_metrics_route);
    tcase_add_test(tc, test_fw_http_healthy);
    tcase_add_test(tc, test_fw_http_ready);
    tcase_add_test(tc, test_fw_http_get_args);
    tcase_add_test(tc, test_fw_http_conn_memory);
    tcase_add_test(tc, test_fw_http_post_form);
    tcase_add_test(tc, test_fw_http_body_too_large);
    tcase_add_test(tc, test_fw_http_body_buffer);
    tcase_add_test(tc, test_fw_http_not_found_and_method);
    tcase_add_test(tc, test_fw_http_prefix_routes);
    tcase_add_test(tc, test_fw_http_reload_handshake);
    tcase_add_test(tc, test_fw_http_request_counter);
    tcase_add_test(tc, test_fw_http_loop_routes_run_on_the_loop);
    tcase_add_test(tc, test_fw_http_slow_handler_does_not_stall);
    tcase_add_test(tc, test_fw_http_loop_destroy_wakes_reload);
    suite_add_tcase(s, tc);

    // One loop turn, run by the test itself.
    tc = tcase_create("turn");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fw_http_loop_request_in_accepting_turn);
    tcase_add_test(tc, test_fw_http_loop_keepalive_no_extra_poll);
    suite_add_tcase(s, tc);
    return s;
}
