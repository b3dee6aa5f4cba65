/*  check_scraper.c — the scraper daemon end to end on loopback: a libmicrohttpd server in the
    test serves a good and a garbage target, the scraper runs in an actor, and the test's
    ROUTER socket (standing in for tsdb, acknowledging each batch) receives the SAMPLES
    batches (up, job/instance labels, exported_ labels,
    stale markers). /api/v1/targets, /metrics and /-/reload are checked over HTTP.
*/
#include <check.h>
#include <czmq.h>
#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_promcfg.h"
#include "fw_time.h"
#include "check_util.h"
#include "check_util_scraper.h"
#include "../scraper/scraper.h"
#include "../scraper/scraper_fetch.h"

Suite *scraper_suite(void);

// ---------------------------------------------------------------------------------------
//  The targets

#define S_MANY 300 // targets of /many (?t=<i>)

struct s_srv {
    struct MHD_Daemon *d;
    int port;
    int good_hits;
    int many_hits[S_MANY]; // atomic: read by the test's thread
};

static enum MHD_Result
s_srv_handler(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
              const char *version, const char *upload_data, size_t *upload_size, void **ptr)
{
    (void)method;
    (void)version;
    (void)upload_data;
    (void)upload_size;
    (void)ptr;
    struct s_srv *srv = cls;
    const char *body = "not found\n";
    unsigned status = 404;
    if (strcmp(url, "/good") == 0) {
        status = 200;
        body = srv->good_hits++ == 0
                   ? "# TYPE test_metric gauge\ntest_metric{a=\"1\",job=\"scraped\"} 5\n"
                     "vanishing 1\nwith_ts 7 1000\n"
                   : "# TYPE test_metric gauge\ntest_metric{a=\"1\",job=\"scraped\"} 5\n"
                     "with_ts 7 1000\n";
    } else if (strcmp(url, "/two") == 0) {
        status = 200;
        body = "one 1\ntwo 2\n";
    } else if (strcmp(url, "/many") == 0) {
        const char *t = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "t");
        int i = t && t[0] == 't' ? atoi(t + 1) : -1;
        if (i >= 0 && i < S_MANY) {
            __atomic_fetch_add(&srv->many_hits[i], 1, __ATOMIC_RELAXED);
            status = 200;
            body = "many 1\n";
        }
    } else if (strcmp(url, "/bad") == 0) {
        status = 200;
        body = "ok_line 1\ngarbage{{{ 1\n";
    }
    return check_util_scraper_reply(conn, status, body);
}

static void
s_srv_start(struct s_srv *srv)
{
    srv->d = check_util_scraper_httpd(s_srv_handler, srv, &srv->port);
}

// The labels of the SAMPLES v3 refs the scraper defined so far (it sends a series' labels
// with its ref once, then the ref alone), as tsdb keeps them; filled in by s_recv_acked.
#define S_REFS 4096
static struct fw_labels s_refs[S_REFS];
static size_t s_ref_uses;

static void
s_refs_resolve(struct fw_batch *b)
{
    for (size_t i = 0; i < b->len; i++) {
        struct fw_series *s = &b->series[i];
        ck_assert_uint_lt(s->ref, S_REFS);
        if (s->ref && s->labels.len > 0)
            fw_labels_copy(&s_refs[s->ref], &s->labels);
        else if (s->ref) { // a use: the labels of its definition (a view; the batch is ours)
            ck_assert_msg(s_refs[s->ref].len > 0, "ref %u used before its definition", s->ref);
            s->labels = s_refs[s->ref];
            s_ref_uses++;
        }
    }
}

static void
s_refs_clear(void)
{
    for (size_t i = 0; i < S_REFS; i++)
        fw_labels_clear(&s_refs[i]);
}

// Receive one SAMPLES batch on the ROUTER standing in for tsdb and acknowledge it, as tsdb
// does once it is stored (batches arrive in order here, so acked is the batch's seq). The
// METADATA a target's first scrape brings on the same ROUTER is skipped.
static struct fw_msg *
s_recv_acked(zsock_t *router)
{
    struct fw_msg *msg = NULL;
    zframe_t *identity = NULL;
    fw_err_t err;
    for (int skipped = 0; !msg || msg->type == FW_MSG_METADATA; skipped++) {
        ck_assert_int_lt(skipped, 64);
        fw_msg_destroy(&msg);
        zframe_destroy(&identity);
        zmsg_t *z = zmsg_recv(router);
        ck_assert_ptr_nonnull(z);
        identity = zmsg_pop(z);
        ck_assert_msg(fw_msg_decode(z, &msg, &err) == 0, "%s", err.msg);
        zmsg_destroy(&z);
    }
    ck_assert_int_eq(msg->type, FW_MSG_SAMPLES);
    s_refs_resolve(msg->batch);
    check_util_scraper_ack(router, &identity, msg->batch);
    return msg;
}

static const char *
s_name(const struct fw_series *s)
{
    const char *n = fw_labels_get(&s->labels, "__name__");
    return n ? n : "";
}

static const char *
s_get(const struct fw_series *s, const char *label)
{
    const char *v = fw_labels_get(&s->labels, label);
    return v ? v : "";
}

// ---------------------------------------------------------------------------------------

START_TEST(test_scraper_scrapes_good_and_garbage_targets)
{
    struct s_srv srv = {0};
    s_srv_start(&srv);
    struct check_util_scraper ctx;
    zsock_t *pull = check_util_scraper_init(&ctx, NULL);
    char text[1024];
    snprintf(text, sizeof(text),
             "global:\n  scrape_interval: 200ms\n"
             "scrape_configs:\n"
             "  - job_name: good\n    metrics_path: /good\n"
             "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
             "        labels: {env: test}\n"
             "  - job_name: bad\n    metrics_path: /bad\n"
             "    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
             "  - job_name: limited\n    metrics_path: /two\n    sample_limit: 1\n"
             "    static_configs:\n      - targets: ['127.0.0.1:%d']\n",
             srv.port, srv.port, srv.port);
    check_util_scraper_config(&ctx, text);
    zactor_t *actor = check_util_scraper_start(&ctx);

    char instance[64];
    snprintf(instance, sizeof(instance), "127.0.0.1:%d", srv.port);
    zpoller_t *poller = zpoller_new(pull, NULL);
    int good_up = 0, bad_down = 0, good_after_bad = 0, stale = 0, metric_ok = 0;
    uint64_t last_seq = 0;
    int64_t deadline = fw_time_mono_ms() + 10000;
    while (fw_time_mono_ms() < deadline && !(good_after_bad >= 3 && stale > 0 && metric_ok > 0)) {
        if (!zpoller_wait(poller, 200))
            continue;
        struct fw_msg *msg = s_recv_acked(pull);
        struct fw_batch *b = msg->batch;
        ck_assert(b->seq > last_seq);
        last_seq = b->seq;
        for (size_t i = 0; i < b->len; i++) {
            const struct fw_series *s = &b->series[i];
            ck_assert_str_eq(s_get(s, "instance"), instance);
            ck_assert_uint_eq(s->len, 1);
            bool good = strcmp(s_get(s, "job"), "good") == 0;
            if (strcmp(s_name(s), "up") == 0) {
                ck_assert_uint_eq(s->labels.len, good ? 4 : 3); // __name__ job instance (env)
                if (good) {
                    ck_assert(s->samples[0].v == 1);
                    good_up++;
                    if (bad_down)
                        good_after_bad++;
                } else {
                    ck_assert(s->samples[0].v == 0);
                    if (strcmp(s_get(s, "job"), "bad") == 0)
                        bad_down++;
                }
            }
            if (strcmp(s_name(s), "test_metric") == 0) {
                ck_assert_str_eq(s_get(s, "job"), "good");
                ck_assert_str_eq(s_get(s, "exported_job"), "scraped");
                ck_assert_str_eq(s_get(s, "env"), "test");
                ck_assert_str_eq(s_get(s, "a"), "1");
                ck_assert(s->samples[0].v == 5);
                int64_t now = fw_time_now_ms();
                ck_assert(s->samples[0].t_ms <= now && s->samples[0].t_ms > now - 5000);
                metric_ok++;
            }
            if (strcmp(s_name(s), "with_ts") == 0) // honor_timestamps defaults to true
                ck_assert(s->samples[0].t_ms == 1000);
            if (strcmp(s_name(s), "vanishing") == 0 && fw_is_stale_nan(s->samples[0].v))
                stale++;
            // Nothing of a failed scrape gets through, not even its valid lines.
            ck_assert_str_ne(s_name(s), "ok_line");
            ck_assert_str_ne(s_name(s), "one");
        }
        fw_msg_destroy(&msg);
    }
    ck_assert_int_gt(good_up, 0);
    ck_assert_int_gt(bad_down, 0);
    ck_assert_int_ge(good_after_bad, 3);
    ck_assert_int_gt(stale, 0);
    ck_assert_int_gt(metric_ok, 0);
    ck_assert_uint_gt(s_ref_uses, 0); // known series went as bare refs
    s_refs_clear();

    long status;
    char *body = check_util_scraper_http(ctx.http_port, "GET", "/api/v1/targets", &status);
    ck_assert_int_eq(status, 200);
    json_error_t jerr;
    json_t *root = json_loads(body, 0, &jerr);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(json_string_value(json_object_get(root, "status")), "success");
    json_t *active = json_object_get(json_object_get(root, "data"), "activeTargets");
    ck_assert_uint_eq(json_array_size(active), 3);
    for (size_t i = 0; i < 3; i++) {
        json_t *t = json_array_get(active, i);
        const char *job = json_string_value(json_object_get(json_object_get(t, "labels"), "job"));
        const char *health = json_string_value(json_object_get(t, "health"));
        const char *last_error = json_string_value(json_object_get(t, "lastError"));
        if (strcmp(job, "good") == 0) {
            ck_assert_str_eq(health, "up");
            ck_assert_str_eq(last_error, "");
        } else if (strcmp(job, "bad") == 0) {
            ck_assert_str_eq(health, "down");
            ck_assert_str_eq(last_error, "line 2: expected label name at column 9");
        } else {
            ck_assert_str_eq(health, "down");
            ck_assert_str_eq(last_error, "sample limit exceeded");
        }
        ck_assert_str_eq(json_string_value(json_object_get(t, "scrapeInterval")), "200ms");
        ck_assert(json_is_number(json_object_get(t, "lastScrapeDuration")));
    }
    json_decref(root);
    free(body);

    body = check_util_scraper_http(ctx.http_port, "GET", "/metrics", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(strstr(body, "fw_scraper_scrape_failures_total{job=\"bad\"}"));
    ck_assert_ptr_nonnull(strstr(body, "fw_scraper_scrapes_total{job=\"good\"}"));
    ck_assert_ptr_nonnull(strstr(body, "fw_scraper_targets 3"));
    free(body);

    zpoller_destroy(&poller);
    zactor_destroy(&actor);
    zsock_destroy(&pull);
    fw_promcfg_free(&ctx.cfg);
    MHD_stop_daemon(srv.d);
}
END_TEST

static int
s_strcmp_p(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static size_t
s_count_targets(int port)
{
    long status;
    char *body = check_util_scraper_http(port, "GET", "/api/v1/targets", &status);
    json_t *root = json_loads(body, 0, NULL);
    free(body);
    ck_assert_ptr_nonnull(root);
    size_t n = json_array_size(json_object_get(json_object_get(root, "data"), "activeTargets"));
    json_decref(root);
    return n;
}

START_TEST(test_scraper_reload_swaps_targets_and_keeps_old_on_error)
{
    const char *path = "test/tmp/check_scraper_reload.yml";
    mkdir("test/tmp", 0755); // make check-unit creates it; a bare run may not have
    check_util_write_file(
        path, "scrape_configs:\n"
              "  - job_name: a\n    static_configs:\n      - targets: ['127.0.0.1:1']\n"
              "  - job_name: b\n    static_configs:\n      - targets: ['127.0.0.1:2']\n");
    struct check_util_scraper ctx;
    zsock_t *pull = check_util_scraper_init(&ctx, path);
    zactor_t *actor = check_util_scraper_start(&ctx);
    ck_assert_uint_eq(s_count_targets(ctx.http_port), 2);

    check_util_write_file(
        path, "scrape_configs:\n"
              "  - job_name: a\n    static_configs:\n      - targets: ['127.0.0.1:1']\n");
    long status;
    char *body = check_util_scraper_http(ctx.http_port, "POST", "/-/reload", &status);
    ck_assert_int_eq(status, 200);
    free(body);
    ck_assert_uint_eq(s_count_targets(ctx.http_port), 1);

    check_util_write_file(path, "scrape_configs:\n  - job_nam: a\n");
    body = check_util_scraper_http(ctx.http_port, "POST", "/-/reload", &status);
    ck_assert_int_eq(status, 500);
    ck_assert_ptr_nonnull(strstr(body, "check_scraper_reload.yml:2:5"));
    free(body);
    ck_assert_uint_eq(s_count_targets(ctx.http_port), 1);

    zactor_destroy(&actor);
    zsock_destroy(&pull);
    fw_promcfg_free(&ctx.cfg);
    unlink(path);
}
END_TEST

// Job names of the active targets, sorted and space-separated (caller frees).
static char *
s_target_jobs(int port)
{
    long status;
    char *body = check_util_scraper_http(port, "GET", "/api/v1/targets", &status);
    ck_assert_int_eq(status, 200);
    json_t *root = json_loads(body, 0, NULL);
    free(body);
    ck_assert_ptr_nonnull(root);
    json_t *active = json_object_get(json_object_get(root, "data"), "activeTargets");
    const char *jobs[64];
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(active) && n < 64; i++)
        jobs[n++] = json_string_value(
            json_object_get(json_object_get(json_array_get(active, i), "labels"), "job"));
    qsort(jobs, n, sizeof(*jobs), s_strcmp_p);
    char *out = fw_calloc(1, 64 * 16);
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), 64 * 16 - strlen(out), "%s%s", i ? " " : "", jobs[i]);
    json_decref(root);
    return out;
}

// Jobs keep and <p>1..<p>6, each one target on a closed port (connection refused at once:
// cheap scrapes), scraped every 5 ms.
static void
s_churn_config(char *buf, size_t size, const char *p)
{
    size_t n = (size_t)snprintf(buf, size,
                                "global: {scrape_interval: 5ms, scrape_timeout: 5ms}\n"
                                "scrape_configs:\n"
                                "  - {job_name: keep, static_configs: [{targets: "
                                "['127.0.0.1:1']}]}\n");
    for (int i = 1; i <= 6 && n < size; i++)
        n += (size_t)snprintf(
            buf + n, size - n,
            "  - {job_name: %s%d, static_configs: [{targets: ['127.0.0.1:%d']}]}\n", p, i, i + 1);
}

// A reload runs from the housekeeping timer, and czmq's zloop_timer_end() only queues the
// ids it ends until the loop iteration is over: the timers of removed targets that are
// due in that iteration still fire after the reload freed their targets. With 5 ms
// intervals every reload lands among due timers, so before the fix (timers carried the
// target pointer) AddressSanitizer reported heap-use-after-free in s_on_target_timer on
// the first reload. The scraper must stay up and list exactly the new targets.
START_TEST(test_scraper_reload_removes_targets_with_timers_due)
{
    const char *path = "test/tmp/check_scraper_churn.yml";
    mkdir("test/tmp", 0755);
    char text[2048];
    s_churn_config(text, sizeof(text), "a");
    check_util_write_file(path, text);
    struct check_util_scraper ctx;
    zsock_t *pull = check_util_scraper_init(&ctx, path);
    zactor_t *actor = check_util_scraper_start(&ctx);

    for (int round = 1; round <= 4; round++) {
        const char *p = round % 2 ? "b" : "a";
        s_churn_config(text, sizeof(text), p);
        check_util_write_file(path, text);
        long status;
        char *body = check_util_scraper_http(ctx.http_port, "POST", "/-/reload", &status);
        ck_assert_int_eq(status, 200);
        free(body);
        char want[128];
        snprintf(want, sizeof(want), "%s1 %s2 %s3 %s4 %s5 %s6 keep", p, p, p, p, p, p);
        char *jobs = s_target_jobs(ctx.http_port);
        ck_assert_str_eq(jobs, want);
        free(jobs);
    }

    zactor_destroy(&actor);
    zsock_destroy(&pull);
    fw_promcfg_free(&ctx.cfg);
    unlink(path);
}
END_TEST

// /many's targets t<first>..t<last-1>, each scraped every second through one address
// (__param_t and instance from the target's name).
static void
s_many_config(const char *path, int port, int first, int last)
{
    size_t size = 64 * S_MANY + 1024, n = 0;
    char *text = fw_malloc(size);
    n += (size_t)snprintf(text + n, size - n,
                          "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                          "scrape_configs:\n  - job_name: many\n    metrics_path: /many\n"
                          "    relabel_configs:\n"
                          "      - {source_labels: [__address__], target_label: __param_t}\n"
                          "      - {source_labels: [__address__], target_label: instance}\n"
                          "      - {target_label: __address__, replacement: '127.0.0.1:%d'}\n"
                          "    static_configs: [{targets: [",
                          port);
    for (int i = first; i < last; i++)
        n += (size_t)snprintf(text + n, size - n, "%s't%d'", i > first ? "," : "", i);
    snprintf(text + n, size - n, "]}]\n");
    check_util_write_file(path, text);
    free(text);
}

// The value of the sample line starting with series on /metrics (-1: none).
static double
s_self_metric(int port, const char *series)
{
    long status;
    char *body = check_util_scraper_http(port, "GET", "/metrics", &status);
    const char *p = strstr(body, series);
    double v = p ? strtod(p + strlen(series), NULL) : -1;
    free(body);
    return v;
}

// Every SAMPLES batch until done(arg) or 20 s (the test fails then): each series of job
// many is given to see(arg, target index, series).
static void
s_many_recv(zsock_t *pull, bool (*done)(void *), void (*see)(void *, int, const struct fw_series *),
            void *arg)
{
    zpoller_t *poller = zpoller_new(pull, NULL);
    int64_t deadline = fw_time_mono_ms() + 20000;
    while (!done(arg)) {
        ck_assert_msg(fw_time_mono_ms() < deadline, "timed out waiting for the scrapes");
        if (!zpoller_wait(poller, 200))
            continue;
        struct fw_msg *msg = s_recv_acked(pull);
        for (size_t i = 0; i < msg->batch->len; i++) {
            const struct fw_series *sr = &msg->batch->series[i];
            const char *inst = s_get(sr, "instance");
            if (strcmp(s_get(sr, "job"), "many") == 0 && inst[0] == 't')
                see(arg, atoi(inst + 1), sr);
        }
        fw_msg_destroy(&msg);
    }
    zpoller_destroy(&poller);
}

struct s_many {
    struct s_srv *srv;
    int keep;             // targets t0..t<keep-1> stay after the reload
    bool scraped[S_MANY]; // a sample of many came
    bool stale[S_MANY];   // many and up went stale
    bool up_stale[S_MANY];
    int hits_at[S_MANY]; // hits when the phase began
};

static void
s_many_see(void *arg, int i, const struct fw_series *sr)
{
    struct s_many *m = arg;
    if (i < 0 || i >= S_MANY)
        return;
    bool st = fw_is_stale_nan(sr->samples[0].v);
    if (strcmp(s_name(sr), "many") == 0) {
        if (st) {
            ck_assert_msg(i >= m->keep, "kept target t%d went stale", i);
            m->stale[i] = true;
        } else {
            m->scraped[i] = true;
        }
    } else if (strcmp(s_name(sr), "up") == 0 && st) {
        m->up_stale[i] = true;
    }
}

static bool
s_many_all_scraped(void *arg)
{
    struct s_many *m = arg;
    for (int i = 0; i < S_MANY; i++)
        if (!m->scraped[i])
            return false;
    return true;
}

static bool
s_many_dropped_stale(void *arg)
{
    struct s_many *m = arg;
    for (int i = m->keep; i < S_MANY; i++)
        if (!m->stale[i] || !m->up_stale[i])
            return false;
    return true;
}

// the kept targets were all scraped twice more since the phase began
static bool
s_many_kept_twice(void *arg)
{
    struct s_many *m = arg;
    for (int i = 0; i < m->keep; i++)
        if (__atomic_load_n(&m->srv->many_hits[i], __ATOMIC_RELAXED) < m->hits_at[i] + 2)
            return false;
    return true;
}

static void
s_many_hits(struct s_many *m)
{
    for (int i = 0; i < S_MANY; i++)
        m->hits_at[i] = __atomic_load_n(&m->srv->many_hits[i], __ATOMIC_RELAXED);
}

// A reload that drops 290 of 300 targets wakes the fetch actor once for all their cancelled
// scrapes (one WAKE per cancel before: fw_scraper_fetch_wakes_total{reason="cancel"} rose
// by about 300); every dropped target gets its stale markers (its series and up) and is
// never scraped again, while the kept ones go on.
START_TEST(test_scraper_reload_cancels_in_one_wake)
{
    const char *path = "test/tmp/check_scraper_many.yml";
    mkdir("test/tmp", 0755);
    struct s_srv srv = {0};
    s_srv_start(&srv);
    s_many_config(path, srv.port, 0, S_MANY);
    struct check_util_scraper ctx;
    zsock_t *pull = check_util_scraper_init(&ctx, path);
    zactor_t *actor = check_util_scraper_start(&ctx);
    struct s_many m = {.srv = &srv, .keep = 10};
    s_many_recv(pull, s_many_all_scraped, s_many_see, &m);

    const char *wakes = "fw_scraper_fetch_wakes_total{reason=\"cancel\"} ";
    double before = s_self_metric(ctx.http_port, wakes);
    ck_assert(before >= 0);
    s_many_config(path, srv.port, 0, m.keep);
    long status;
    char *body = check_util_scraper_http(ctx.http_port, "POST", "/-/reload", &status);
    ck_assert_int_eq(status, 200);
    free(body);
    double after = s_self_metric(ctx.http_port, wakes);
    ck_assert_msg(after - before <= 1, "%g wakes for one reload", after - before);
    ck_assert_uint_eq(s_count_targets(ctx.http_port), (size_t)m.keep);

    s_many_recv(pull, s_many_dropped_stale, s_many_see, &m);
    s_many_hits(&m); // every dropped target is retired: no scrape of it from here on
    s_many_recv(pull, s_many_kept_twice, s_many_see, &m);
    for (int i = m.keep; i < S_MANY; i++)
        ck_assert_int_eq(__atomic_load_n(&srv.many_hits[i], __ATOMIC_RELAXED), m.hits_at[i]);

    zactor_destroy(&actor);
    zsock_destroy(&pull);
    fw_promcfg_free(&ctx.cfg);
    MHD_stop_daemon(srv.d);
    s_refs_clear();
    unlink(path);
}
END_TEST

// keep_dropped_targets: at most that many dropped targets per job in droppedTargets (a job's
// 0 takes global's; 0 everywhere keeps all), while droppedTargetCounts counts every one, as
// Prometheus. Also the discovery metrics under Prometheus's names on /metrics.
START_TEST(test_scraper_keep_dropped_targets)
{
    struct check_util_scraper ctx;
    zsock_t *pull = check_util_scraper_init(&ctx, NULL);
    check_util_scraper_config(
        &ctx,
        "global: {keep_dropped_targets: 2}\n"
        "scrape_configs:\n"
        "  - job_name: a\n" // global's 2 of 4
        "    static_configs: [{targets: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3',"
        " '127.0.0.1:4']}]\n"
        "    relabel_configs: [{action: drop, source_labels: [__address__],"
        " regex: '.*:[1-4]'}]\n"
        "  - job_name: b\n" // its own 1 of 2; one target stays active
        "    keep_dropped_targets: 1\n"
        "    static_configs: [{targets: ['127.0.0.1:5', '127.0.0.1:6', '127.0.0.1:7']}]\n"
        "    relabel_configs: [{action: drop, source_labels: [__address__],"
        " regex: '.*:[56]'}]\n");
    ck_assert_int_eq(ctx.cfg.scrape_configs[0].keep_dropped_targets, 2);
    ck_assert_int_eq(ctx.cfg.scrape_configs[1].keep_dropped_targets, 1);
    zactor_t *actor = check_util_scraper_start(&ctx);
    long status;
    char *body =
        check_util_scraper_http(ctx.http_port, "GET", "/api/v1/targets?state=dropped", &status);
    ck_assert_int_eq(status, 200);
    json_t *root = json_loads(body, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_t *data = json_object_get(root, "data");
    json_t *dropped = json_object_get(data, "droppedTargets");
    size_t n_a = 0, n_b = 0;
    for (size_t i = 0; i < json_array_size(dropped); i++) {
        const char *pool =
            json_string_value(json_object_get(json_array_get(dropped, i), "scrapePool"));
        n_a += strcmp(pool, "a") == 0;
        n_b += strcmp(pool, "b") == 0;
    }
    ck_assert_uint_eq(n_a, 2);
    ck_assert_uint_eq(n_b, 1);
    json_t *counts = json_object_get(data, "droppedTargetCounts");
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "a")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "b")), 2);
    json_decref(root);
    free(body);

    body = check_util_scraper_http(ctx.http_port, "GET", "/metrics", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_ptr_nonnull(
        strstr(body, "prometheus_sd_discovered_targets{config=\"a\",name=\"scrape\"} 4\n"));
    ck_assert_ptr_nonnull(
        strstr(body, "prometheus_sd_discovered_targets{config=\"b\",name=\"scrape\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(body, "# TYPE prometheus_target_sync_length_seconds summary\n"));
    ck_assert_ptr_nonnull(
        strstr(body, "prometheus_target_sync_length_seconds_count{scrape_job=\"a\"} 1\n"));
    ck_assert_ptr_nonnull(
        strstr(body, "prometheus_sd_kubernetes_events_total{event=\"add\",role=\"pod\"} 0\n"));
    ck_assert_ptr_nonnull(strstr(body, "prometheus_sd_file_read_errors_total 0\n"));
    ck_assert_ptr_nonnull(strstr(body, "prometheus_sd_file_scan_duration_seconds_count 0\n"));
    free(body);

    zactor_destroy(&actor);
    zsock_destroy(&pull);
    fw_promcfg_free(&ctx.cfg);
}
END_TEST

START_TEST(test_scraper_embedded_config_loads)
{
    struct fw_promcfg cfg;
    struct fw_cfg_errors errs = {0};
    ck_assert_int_eq(scraper_config_load(NULL, &cfg, &errs), 0);
    ck_assert_uint_eq(cfg.n_scrape_configs, 7);
    ck_assert_str_eq(cfg.scrape_configs[0].job_name, "factory");
    ck_assert_str_eq(cfg.scrape_configs[0].static_configs[0].targets[0], "127.0.0.1:9210");
    ck_assert(cfg.scrape_configs[0].scrape_interval_ms == 5000);
    fw_promcfg_free(&cfg);
}
END_TEST

// ---------------------------------------------------------------------------------------
//  The fetch actor's hand-off: answers go to the hand-off function on the actor's thread

struct s_handoff {
    pthread_mutex_t mu;
    pthread_t test_thread;
    bool refuse;
    int n;           // answers taken
    bool off_thread; // every call ran on another thread than the test's
    void *jobs[2];
    char bodies[2][160];
    char errors[2][64];
    size_t others[2];
};

static int
s_on_handoff(struct scraper_fetch_result *res, void *arg)
{
    struct s_handoff *h = arg;
    pthread_mutex_lock(&h->mu);
    int rc = -1;
    if (!h->refuse && h->n < 2) {
        h->off_thread = h->off_thread && !pthread_equal(pthread_self(), h->test_thread);
        h->jobs[h->n] = res->job;
        h->others[h->n] = res->others;
        ck_assert_ptr_null(res->body); // lent, not copied
        size_t len;
        const char *body = scraper_fetch_result_body(res, &len);
        len = len < 159 ? len : 159;
        memcpy(h->bodies[h->n], body, len);
        snprintf(h->errors[h->n], sizeof(h->errors[h->n]), "%s", res->error ? res->error : "");
        h->n++;
        scraper_fetch_result_clear(res); // taken
        rc = 0;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

START_TEST(test_scraper_fetch_hands_answers_off)
{
    struct s_srv srv = {0};
    s_srv_start(&srv);
    struct s_handoff h = {.test_thread = pthread_self(), .off_thread = true};
    pthread_mutex_init(&h.mu, NULL);
    scraper_fetch_t *fetch = scraper_fetch_new(s_on_handoff, &h);
    ck_assert_ptr_nonnull(fetch);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/two", srv.port);
    int job_a = 0, job_b = 0;
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .job = &job_a};
    ck_assert_int_eq(scraper_fetch_start(fetch, 1, url, &o), 0);
    // an error answered at once (target_limit): no request, same path
    struct scraper_fetch_opts oe = {.timeout_ms = 5000, .error = "forced", .job = &job_b};
    ck_assert_int_eq(scraper_fetch_start(fetch, 2, "http://127.0.0.1:1/never", &oe), 0);
    int64_t deadline = fw_time_mono_ms() + 10000;
    int n = 0;
    while (n < 2 && fw_time_mono_ms() < deadline) {
        zclock_sleep(10);
        pthread_mutex_lock(&h.mu);
        n = h.n;
        pthread_mutex_unlock(&h.mu);
    }
    ck_assert_int_eq(n, 2);
    ck_assert(h.off_thread);
    int a = h.jobs[0] == &job_a ? 0 : 1;
    ck_assert_ptr_eq(h.jobs[a], &job_a);
    ck_assert_str_eq(h.bodies[a], "one 1\ntwo 2\n");
    ck_assert_str_eq(h.errors[a], "");
    ck_assert_uint_le(h.others[a], 1); // at most the forced one, answered at once
    ck_assert_ptr_eq(h.jobs[1 - a], &job_b);
    ck_assert_str_eq(h.errors[1 - a], "forced");
    // nothing came on the pipe: the loop was not woken
    ck_assert_int_eq(zsock_events(scraper_fetch_sock(fetch)) & ZMQ_POLLIN, 0);

    // refused: the answer comes on the pipe, with its job
    pthread_mutex_lock(&h.mu);
    h.refuse = true;
    pthread_mutex_unlock(&h.mu);
    ck_assert_int_eq(scraper_fetch_start(fetch, 3, url, &o), 0);
    zpoller_t *poller = zpoller_new(scraper_fetch_sock(fetch), NULL);
    ck_assert_ptr_nonnull(zpoller_wait(poller, 10000));
    zpoller_destroy(&poller);
    struct scraper_fetch_result res;
    ck_assert_int_eq(scraper_fetch_recv(fetch, &res), 0);
    ck_assert_uint_eq(res.id, 3);
    ck_assert(!res.cancelled);
    ck_assert_ptr_eq(res.job, &job_a);
    ck_assert_ptr_null(res.error);
    ck_assert_uint_eq(zframe_size(res.body), strlen("one 1\ntwo 2\n"));
    scraper_fetch_result_clear(&res);
    scraper_fetch_destroy(&fetch);
    MHD_stop_daemon(srv.d);
    pthread_mutex_destroy(&h.mu);
}
END_TEST

// A hand-off that keeps the body, as the scraper's does for a worker, and refuses the
// answer after keeping it when told to (as when the workers' queue is full).
struct s_keep {
    pthread_mutex_t mu;
    bool refuse;
    int n;                  // answers kept
    bool taken_over[3];     // the kept body is the very buffer the actor lent
    bool lender_cleared[3]; // and the actor's slot for it is empty
    char bodies[3][32];
};

static int
s_on_keep(struct scraper_fetch_result *res, void *arg)
{
    struct s_keep *h = arg;
    const char *lent = res->data;
    ck_assert_ptr_nonnull(res->lender);
    char **slot = res->lender;
    scraper_fetch_result_keep(res);
    pthread_mutex_lock(&h->mu);
    int rc = h->refuse ? -1 : 0;
    if (h->n < 3) {
        h->taken_over[h->n] = res->buf == lent && res->data == lent && res->body == NULL;
        h->lender_cleared[h->n] = *slot == NULL && res->lender == NULL;
        size_t len;
        const char *body = scraper_fetch_result_body(res, &len);
        snprintf(h->bodies[h->n], sizeof(h->bodies[h->n]), "%.*s", (int)(len < 31 ? len : 31),
                 body);
        h->n++;
    }
    pthread_mutex_unlock(&h->mu);
    if (rc == 0)
        scraper_fetch_result_clear(res); // taken
    return rc;
}

// How many results *n (under mu) holds once it reaches want, or after 10 s what it holds.
static int
s_count_wait(pthread_mutex_t *mu, const int *n, int want)
{
    int64_t deadline = fw_time_mono_ms() + 10000;
    int have = 0;
    while (fw_time_mono_ms() < deadline) {
        pthread_mutex_lock(mu);
        have = *n;
        pthread_mutex_unlock(mu);
        if (have >= want)
            break;
        zclock_sleep(10);
    }
    return have;
}

// Issue 7: a hand-off that keeps a body takes the actor's buffer over instead of copying it,
// so a big target's answer (40 MB: a copy and then a free on the actor's thread took 150-570
// ms at load 15, while the other targets' scrapes fell due and started that late) costs the
// actor nothing. The handle's next transfer gets a buffer of its own; a hand-off that refuses
// after keeping still has the answer, body and all, come on the pipe. The old keep copied
// (taken_over false): this fails there.
START_TEST(test_scraper_fetch_keep_takes_buffer_over)
{
    struct s_srv srv = {0};
    s_srv_start(&srv);
    struct s_keep h = {0};
    pthread_mutex_init(&h.mu, NULL);
    scraper_fetch_t *fetch = scraper_fetch_new(s_on_keep, &h);
    ck_assert_ptr_nonnull(fetch);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/two", srv.port);
    int job = 0;
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .job = &job};
    for (uint64_t id = 1; id <= 2; id++) { // the second on the same handle, its buffer new
        ck_assert_int_eq(scraper_fetch_start(fetch, id, url, &o), 0);
        ck_assert_int_eq(s_count_wait(&h.mu, &h.n, (int)id), (int)id);
        ck_assert(h.taken_over[id - 1]);
        ck_assert(h.lender_cleared[id - 1]);
        ck_assert_str_eq(h.bodies[id - 1], "one 1\ntwo 2\n");
    }
    pthread_mutex_lock(&h.mu);
    h.refuse = true;
    pthread_mutex_unlock(&h.mu);
    ck_assert_int_eq(scraper_fetch_start(fetch, 3, url, &o), 0);
    zpoller_t *poller = zpoller_new(scraper_fetch_sock(fetch), NULL);
    ck_assert_ptr_nonnull(zpoller_wait(poller, 10000));
    zpoller_destroy(&poller);
    ck_assert(h.taken_over[2]);
    struct scraper_fetch_result res;
    ck_assert_int_eq(scraper_fetch_recv(fetch, &res), 0);
    ck_assert_uint_eq(res.id, 3);
    ck_assert_ptr_null(res.error);
    size_t len;
    const char *body = scraper_fetch_result_body(&res, &len);
    ck_assert_uint_eq(len, strlen("one 1\ntwo 2\n"));
    ck_assert_int_eq(memcmp(body, "one 1\ntwo 2\n", len), 0);
    scraper_fetch_result_clear(&res);
    scraper_fetch_destroy(&fetch);
    MHD_stop_daemon(srv.d);
    pthread_mutex_destroy(&h.mu);
}
END_TEST

// The handed-off answers' monotonic arrival times, for the schedule test.
struct s_sched {
    pthread_mutex_t mu;
    int n;
    int64_t at[2];
    void *jobs[2];
};

static int
s_on_sched(struct scraper_fetch_result *res, void *arg)
{
    struct s_sched *h = arg;
    pthread_mutex_lock(&h->mu);
    if (h->n < 2) {
        h->at[h->n] = fw_time_mono_ms();
        h->jobs[h->n++] = res->job;
    }
    pthread_mutex_unlock(&h->mu);
    scraper_fetch_result_clear(res); // taken
    return 0;
}

// A request queued for later does not wake the actor (it looks at its queue at least once a
// second anyway) and starts when due, never before; one due now wakes it once.
START_TEST(test_scraper_fetch_schedules_without_waking)
{
    struct s_srv srv = {0};
    s_srv_start(&srv);
    struct s_sched h = {0};
    pthread_mutex_init(&h.mu, NULL);
    scraper_fetch_t *fetch = scraper_fetch_new(s_on_sched, &h);
    ck_assert_ptr_nonnull(fetch);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/two", srv.port);
    int job_a = 0, job_b = 0;
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .job = &job_a};
    ck_assert_int_eq(scraper_fetch_start(fetch, 1, url, &o), 0);
    ck_assert_uint_eq(scraper_fetch_wakes(fetch), 1);
    ck_assert_int_eq(s_count_wait(&h.mu, &h.n, 1), 1);
    // the actor now looks at its queue within a second: a request due in 1.5 s waits for it
    int64_t due = fw_time_mono_ms() + 1500;
    o.job = &job_b;
    ck_assert_int_eq(scraper_fetch_schedule(fetch, 2, url, &o, due), 0);
    ck_assert_uint_eq(scraper_fetch_wakes(fetch), 1);
    ck_assert_int_eq(s_count_wait(&h.mu, &h.n, 2), 2);
    ck_assert_ptr_eq(h.jobs[1], &job_b);
    ck_assert_int_ge(h.at[1], due);
    ck_assert_uint_eq(scraper_fetch_wakes(fetch), 1);
    ck_assert_int_eq(zsock_events(scraper_fetch_sock(fetch)) & ZMQ_POLLIN, 0);
    scraper_fetch_destroy(&fetch);
    ck_assert_ptr_null(fetch);
    MHD_stop_daemon(srv.d);
    pthread_mutex_destroy(&h.mu);
}
END_TEST

// A scheduled request cancelled before it starts is answered on the pipe, cancelled, with
// its job, and never handed off; cancelling an unknown id changes nothing; a request still
// scheduled at destroy is freed with the actor.
START_TEST(test_scraper_fetch_cancels_scheduled)
{
    struct s_sched h = {0};
    pthread_mutex_init(&h.mu, NULL);
    scraper_fetch_t *fetch = scraper_fetch_new(s_on_sched, &h);
    ck_assert_ptr_nonnull(fetch);
    int job_a = 0, job_b = 0;
    struct scraper_fetch_opts o = {.timeout_ms = 5000, .job = &job_a};
    int64_t later = fw_time_mono_ms() + 600000;
    ck_assert_int_eq(scraper_fetch_schedule(fetch, 7, "http://127.0.0.1:1/x", &o, later), 0);
    o.job = &job_b;
    ck_assert_int_eq(scraper_fetch_schedule(fetch, 8, "http://127.0.0.1:1/y", &o, later), 0);
    ck_assert_int_eq(scraper_fetch_cancel(fetch, 99), 0);
    ck_assert_int_eq(scraper_fetch_cancel(fetch, 7), 0);
    zpoller_t *poller = zpoller_new(scraper_fetch_sock(fetch), NULL);
    ck_assert_ptr_nonnull(zpoller_wait(poller, 10000));
    zpoller_destroy(&poller);
    struct scraper_fetch_result res;
    ck_assert_int_eq(scraper_fetch_recv(fetch, &res), 0);
    ck_assert_uint_eq(res.id, 7);
    ck_assert(res.cancelled);
    ck_assert_ptr_eq(res.job, &job_a);
    ck_assert_ptr_nonnull(res.error);
    scraper_fetch_result_clear(&res);
    zclock_sleep(50); // nothing else comes: 8 is not due, 99 was never there
    ck_assert_int_eq(zsock_events(scraper_fetch_sock(fetch)) & ZMQ_POLLIN, 0);
    pthread_mutex_lock(&h.mu);
    ck_assert_int_eq(h.n, 0);
    pthread_mutex_unlock(&h.mu);
    scraper_fetch_destroy(&fetch); // request 8 goes with it (LeakSanitizer in make asan)
    pthread_mutex_destroy(&h.mu);
}
END_TEST

Suite *
scraper_suite(void)
{
    Suite *s = suite_create("scraper");
    TCase *tc = tcase_create("daemon");
    tcase_add_checked_fixture(tc, check_util_scraper_setup, check_util_scraper_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_scraper_embedded_config_loads);
    tcase_add_test(tc, test_scraper_keep_dropped_targets);
    tcase_add_test(tc, test_scraper_scrapes_good_and_garbage_targets);
    tcase_add_test(tc, test_scraper_reload_swaps_targets_and_keeps_old_on_error);
    tcase_add_test(tc, test_scraper_reload_removes_targets_with_timers_due);
    tcase_add_test(tc, test_scraper_reload_cancels_in_one_wake);
    tcase_add_test(tc, test_scraper_fetch_hands_answers_off);
    tcase_add_test(tc, test_scraper_fetch_keep_takes_buffer_over);
    tcase_add_test(tc, test_scraper_fetch_schedules_without_waking);
    tcase_add_test(tc, test_scraper_fetch_cancels_scheduled);
    suite_add_tcase(s, tc);
    return s;
}
