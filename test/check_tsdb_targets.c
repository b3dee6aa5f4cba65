/*  check_tsdb_targets.c — tsdb's /api/v1/targets and /relabel_steps asked of the scrapers:
    the merge of several scrapers' answers (union sorted by pool, counts summed, a failed
    scraper in warnings and data.scrapers), and the routes end to end against two fake
    scrapers (fw_http servers on loopback answering fixed JSON) and one address where
    nothing listens.
*/
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_http.h"
#include "fw_metrics.h"
#include "../tsdb/tsdb_targets.h"

Suite *tsdb_targets_suite(void);

#define S_A                                                                                        \
    "{\"status\":\"success\",\"data\":{\"activeTargets\":["                                        \
    "{\"labels\":{\"instance\":\"a:1\",\"job\":\"plc\"},\"scrapePool\":\"plc\",\"health\":"        \
    "\"up\"},"                                                                                     \
    "{\"labels\":{\"instance\":\"a:2\",\"job\":\"node\"},\"scrapePool\":\"node\"}],"               \
    "\"droppedTargets\":[{\"discoveredLabels\":{\"__address__\":\"x:1\"},\"scrapePool\":"          \
    "\"plc\"}],\"droppedTargetCounts\":{\"node\":0,\"plc\":1},"                                    \
    "\"shard\":{\"index\":0,\"count\":2,\"otherShardTargets\":2}}}"
#define S_B                                                                                        \
    "{\"status\":\"success\",\"data\":{\"activeTargets\":["                                        \
    "{\"labels\":{\"instance\":\"b:1\",\"job\":\"node\"},\"scrapePool\":\"node\"},"                \
    "{\"labels\":{\"instance\":\"b:2\",\"job\":\"plc\"},\"scrapePool\":\"plc\"}],"                 \
    "\"droppedTargets\":[{\"discoveredLabels\":{\"__address__\":\"y:1\"},\"scrapePool\":"          \
    "\"plc\"}],\"droppedTargetCounts\":{\"node\":0,\"plc\":1},"                                    \
    "\"shard\":{\"index\":1,\"count\":2,\"otherShardTargets\":2}}}"

static const char *
s_inst(json_t *list, size_t i)
{
    return json_string_value(
        json_object_get(json_object_get(json_array_get(list, i), "labels"), "instance"));
}

START_TEST(test_tsdb_targets_merge)
{
    struct tsdb_targets_answer ans[] = {
        {"http://s0:9201", S_A, ""},
        {"http://s1:9201", S_B, ""},
        {"http://s2:9201", NULL, "Couldn't connect to server"},
        {"http://s3:9201", "{\"status\":\"error\",\"error\":\"boom\"}", ""},
    };
    char *text = tsdb_targets_merge(ans, 4, true);
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s", jerr.text, text);
    ck_assert_str_eq(json_string_value(json_object_get(root, "status")), "success");
    json_t *data = json_object_get(root, "data");
    json_t *act = json_object_get(data, "activeTargets");
    ck_assert_uint_eq(json_array_size(act), 4);
    // sorted by pool, each scraper's order kept within a pool
    ck_assert_str_eq(s_inst(act, 0), "a:2");
    ck_assert_str_eq(s_inst(act, 1), "b:1");
    ck_assert_str_eq(s_inst(act, 2), "a:1");
    ck_assert_str_eq(s_inst(act, 3), "b:2");
    ck_assert_uint_eq(json_array_size(json_object_get(data, "droppedTargets")), 2);
    json_t *counts = json_object_get(data, "droppedTargetCounts");
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "plc")), 2);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "node")), 0);
    json_t *sc = json_object_get(data, "scrapers");
    ck_assert_uint_eq(json_array_size(sc), 4);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sc, 0), "health")), "up");
    ck_assert_int_eq(json_integer_value(
                         json_object_get(json_object_get(json_array_get(sc, 1), "shard"), "index")),
                     1);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sc, 2), "health")), "down");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sc, 2), "lastError")),
                     "Couldn't connect to server");
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sc, 3), "health")), "down");
    json_t *w = json_object_get(root, "warnings");
    ck_assert_uint_eq(json_array_size(w), 2);
    ck_assert_str_eq(json_string_value(json_array_get(w, 0)),
                     "scraper http://s2:9201: Couldn't connect to server");
    ck_assert_ptr_nonnull(strstr(json_string_value(json_array_get(w, 1)), "boom"));
    json_decref(root);
    free(text);

    // state=active: droppedTargetCounts is null, as Prometheus; no scraper: empty lists
    text = tsdb_targets_merge(ans, 0, false);
    ck_assert_str_eq(text, "{\"status\":\"success\",\"data\":{\"activeTargets\":[],"
                           "\"droppedTargets\":[],\"droppedTargetCounts\":null,\"scrapers\":[]}}");
    free(text);
}
END_TEST

static int
s_serve(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    fw_http_respond(resp, 200, "application/json", arg);
    return 0;
}

static int
s_steps(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)arg;
    const char *pool = fw_http_arg(req, "scrapePool");
    if (pool && strcmp(pool, "plc") == 0)
        fw_http_respond(resp, 200, "application/json",
                        "{\"status\":\"success\",\"data\":{\"steps\":[]}}");
    else
        fw_http_respond(resp, 400, "application/json",
                        "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"nope\"}");
    return 0;
}

static fw_http_t *
s_fake_scraper(fw_metrics_t *m, const char *body, int *port)
{
    fw_http_t *h = fw_http_new("fake", m);
    fw_http_route(h, "GET", "/api/v1/targets", s_serve, (void *)body);
    fw_http_route(h, "GET", "/api/v1/targets/relabel_steps", s_steps, NULL);
    fw_err_t err;
    ck_assert_msg(fw_http_start(h, "127.0.0.1:0", &err) == 0, "%s", err.msg);
    *port = fw_http_port(h);
    return h;
}

// tsdb's routes ask two scrapers and a dead address, and answer with the union; the
// filters reach the scrapers; relabel_steps answers with the first success.
START_TEST(test_tsdb_targets_routes)
{
    fw_metrics_t *m = fw_metrics_new();
    int pa, pb, pt;
    fw_http_t *a = s_fake_scraper(m, S_A, &pa), *b = s_fake_scraper(m, S_B, &pb);
    // a port nothing listens on: one of ours, closed again
    fw_http_t *dead = s_fake_scraper(m, S_A, &pt);
    int pdead = pt;
    fw_http_destroy(&dead);
    char urls[256];
    snprintf(urls, sizeof(urls), "127.0.0.1:%d, http://127.0.0.1:%d/,http://127.0.0.1:%d", pa,
             pdead, pb);
    fw_err_t err;
    tsdb_targets_t *t = tsdb_targets_new(urls, 2000, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    fw_http_t *tsdb = fw_http_new("tsdb", m);
    tsdb_targets_routes(t, tsdb);
    ck_assert(fw_http_start(tsdb, "127.0.0.1:0", &err) == 0);
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/targets", fw_http_port(tsdb));
    struct check_util_http r = check_util_http_get(url);
    ck_assert_int_eq(r.status, 200);
    json_t *root = json_loads(r.body, 0, NULL);
    ck_assert_ptr_nonnull(root);
    json_t *data = json_object_get(root, "data");
    ck_assert_uint_eq(json_array_size(json_object_get(data, "activeTargets")), 4);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(data, "droppedTargetCounts"), "plc")),
        2);
    json_t *sc = json_object_get(data, "scrapers");
    ck_assert_uint_eq(json_array_size(sc), 3);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(sc, 1), "health")), "down");
    ck_assert_uint_eq(json_array_size(json_object_get(root, "warnings")), 1);
    json_decref(root);
    check_util_http_clear(&r);

    // state=active: counts null
    char u2[300];
    snprintf(u2, sizeof(u2), "%s?state=active", url);
    r = check_util_http_get(u2);
    ck_assert_ptr_nonnull(strstr(r.body, "\"droppedTargetCounts\":null"));
    check_util_http_clear(&r);

    snprintf(u2, sizeof(u2), "%s/relabel_steps?scrapePool=plc&labels=%%7B%%7D", url);
    r = check_util_http_get(u2);
    ck_assert_int_eq(r.status, 200);
    ck_assert_str_eq(r.body, "{\"status\":\"success\",\"data\":{\"steps\":[]}}");
    check_util_http_clear(&r);
    snprintf(u2, sizeof(u2), "%s/relabel_steps?scrapePool=zzz&labels=%%7B%%7D", url);
    r = check_util_http_get(u2);
    ck_assert_int_eq(r.status, 400);
    ck_assert_ptr_nonnull(strstr(r.body, "nope"));
    check_util_http_clear(&r);

    fw_http_destroy(&tsdb);
    tsdb_targets_destroy(&t);
    // no scraper answers: 503 unavailable
    snprintf(urls, sizeof(urls), "http://127.0.0.1:%d", pdead);
    t = tsdb_targets_new(urls, 500, &err);
    tsdb = fw_http_new("tsdb", m);
    tsdb_targets_routes(t, tsdb);
    ck_assert(fw_http_start(tsdb, "127.0.0.1:0", &err) == 0);
    snprintf(u2, sizeof(u2), "http://127.0.0.1:%d/api/v1/targets/relabel_steps?scrapePool=plc",
             fw_http_port(tsdb));
    r = check_util_http_get(u2);
    ck_assert_int_eq(r.status, 503);
    ck_assert_ptr_nonnull(strstr(r.body, "\"errorType\":\"unavailable\""));
    check_util_http_clear(&r);
    fw_http_destroy(&tsdb);
    tsdb_targets_destroy(&t);
    fw_http_destroy(&a);
    fw_http_destroy(&b);
    fw_metrics_destroy(&m);
}
END_TEST

START_TEST(test_tsdb_targets_bad_urls)
{
    fw_err_t err;
    const char *bad[] = {"ftp://x:1", "http://a b:1", "http://"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fw_err_clear(&err);
        ck_assert_msg(tsdb_targets_new(bad[i], 0, &err) == NULL, "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.msg, "--scraper.url"));
    }
    tsdb_targets_t *t = tsdb_targets_new("", 0, &err); // none: fine
    ck_assert_ptr_nonnull(t);
    tsdb_targets_destroy(&t);
}
END_TEST

Suite *
tsdb_targets_suite(void)
{
    Suite *s = suite_create("tsdb_targets");
    TCase *tc = tcase_create("targets");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_tsdb_targets_merge);
    tcase_add_test(tc, test_tsdb_targets_routes);
    tcase_add_test(tc, test_tsdb_targets_bad_urls);
    suite_add_tcase(s, tc);
    return s;
}
