/*  check_scraper_api.c — the scraper's /api/v1/targets and /api/v1/targets/relabel_steps
    JSON (scraper/scraper_api.c): Prometheus's shape and values for active and dropped
    targets, the state and scrapePool filters, pools sorted, the shard extension; and the
    relabel steps of Prometheus 3's own API test (web/api/v1/api_test.go: a replace of
    __address__, a drop, a rule after the drop), with its bad_data errors.
*/
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_cfg.h"
#include "fw_promcfg.h"
#include "fw_relabel.h"
#include "../scraper/scraper_api.h"

Suite *scraper_api_suite(void);

static json_t *
s_parse(const char *text)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    ck_assert_msg(root != NULL, "%s: %s", jerr.text, text);
    return root;
}

static const char *
s_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

START_TEST(test_scraper_api_targets)
{
    struct fw_scrape_config node = check_util_scrape_job("node", false),
                            plc = check_util_scrape_job("plc", false);
    struct scraper_target *t[3] = {
        scraper_target_new(&plc, "10.0.0.2:9100", NULL),
        scraper_target_new(&node, "10.0.0.1:9100", NULL),
        scraper_target_new(&plc, "10.0.0.3:9100", NULL),
    };
    t[0]->health = SCRAPER_HEALTH_UP;
    t[0]->last_scrape_ms = 1700000000123;
    t[0]->last_duration_s = 0.25;
    t[2]->health = SCRAPER_HEALTH_DOWN;
    snprintf(t[2]->last_error, sizeof(t[2]->last_error), "server returned HTTP status 500");
    struct scraper_target_drops drops = {0};
    (void)scraper_target_drops_job(&drops, "node");
    (void)scraper_target_drops_job(&drops, "plc");
    (void)scraper_target_drops_job(&drops, "empty");
    struct fw_labels d = FW_LABELS_INIT;
    fw_labels_set(&d, "__address__", "10.0.0.9:9100");
    fw_labels_set(&d, "job", "plc");
    scraper_target_drops_add(&drops, "plc", &d);
    struct scraper_api_view v = {.active = t, .n_active = 3, .drops = &drops};

    char *text = scraper_api_targets(&v, NULL, NULL);
    json_t *root = s_parse(text);
    ck_assert_str_eq(s_str(root, "status"), "success");
    json_t *data = json_object_get(root, "data");
    json_t *act = json_object_get(data, "activeTargets");
    ck_assert_uint_eq(json_array_size(act), 3);
    json_t *a0 = json_array_get(act, 0), *a1 = json_array_get(act, 1), *a2 = json_array_get(act, 2);
    // pools in name order (node before plc), each pool's targets in the scraper's order
    ck_assert_str_eq(s_str(a0, "scrapePool"), "node");
    ck_assert_str_eq(s_str(a1, "scrapeUrl"), "http://10.0.0.2:9100/metrics");
    ck_assert_str_eq(s_str(a1, "globalUrl"), "http://10.0.0.2:9100/metrics");
    ck_assert_str_eq(s_str(a1, "health"), "up");
    ck_assert_str_eq(s_str(a1, "lastError"), "");
    ck_assert_str_eq(s_str(a1, "lastScrape"), "2023-11-14T22:13:20.123Z");
    ck_assert(json_real_value(json_object_get(a1, "lastScrapeDuration")) == 0.25);
    ck_assert_str_eq(s_str(a1, "scrapeInterval"), "15s");
    ck_assert_str_eq(s_str(a1, "scrapeTimeout"), "10s");
    ck_assert_str_eq(s_str(json_object_get(a1, "labels"), "instance"), "10.0.0.2:9100");
    ck_assert_str_eq(s_str(json_object_get(a1, "labels"), "job"), "plc");
    ck_assert_str_eq(s_str(json_object_get(a1, "discoveredLabels"), "__address__"),
                     "10.0.0.2:9100");
    ck_assert_str_eq(s_str(json_object_get(a1, "discoveredLabels"), "__metrics_path__"),
                     "/metrics");
    ck_assert_str_eq(s_str(a2, "health"), "down");
    ck_assert_str_eq(s_str(a2, "lastError"), "server returned HTTP status 500");
    ck_assert_str_eq(s_str(a0, "health"), "unknown");
    ck_assert_str_eq(s_str(a0, "lastScrape"), "0001-01-01T00:00:00Z");
    json_t *dr = json_object_get(data, "droppedTargets");
    ck_assert_uint_eq(json_array_size(dr), 1);
    ck_assert_str_eq(s_str(json_array_get(dr, 0), "scrapePool"), "plc");
    ck_assert_str_eq(
        s_str(json_object_get(json_array_get(dr, 0), "discoveredLabels"), "__address__"),
        "10.0.0.9:9100");
    json_t *counts = json_object_get(data, "droppedTargetCounts");
    ck_assert_uint_eq(json_object_size(counts), 3);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "plc")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(counts, "empty")), 0);
    ck_assert_ptr_null(json_object_get(data, "shard")); // not sharded: Prometheus's shape
    json_decref(root);
    free(text);

    // state=active (any case): no dropped targets, counts null, as Prometheus
    text = scraper_api_targets(&v, "ACTIVE", NULL);
    root = s_parse(text);
    data = json_object_get(root, "data");
    ck_assert_uint_eq(json_array_size(json_object_get(data, "activeTargets")), 3);
    ck_assert_uint_eq(json_array_size(json_object_get(data, "droppedTargets")), 0);
    ck_assert(json_is_null(json_object_get(data, "droppedTargetCounts")));
    json_decref(root);
    free(text);
    // state=dropped with scrapePool=node: no active, no dropped of node, counts of all pools
    text = scraper_api_targets(&v, "dropped", "node");
    root = s_parse(text);
    data = json_object_get(root, "data");
    ck_assert_uint_eq(json_array_size(json_object_get(data, "activeTargets")), 0);
    ck_assert_uint_eq(json_array_size(json_object_get(data, "droppedTargets")), 0);
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(data, "droppedTargetCounts"), "plc")),
        1);
    json_decref(root);
    free(text);
    // scrapePool=plc: its two targets and its dropped one
    text = scraper_api_targets(&v, "any", "plc");
    root = s_parse(text);
    data = json_object_get(root, "data");
    ck_assert_uint_eq(json_array_size(json_object_get(data, "activeTargets")), 2);
    ck_assert_uint_eq(json_array_size(json_object_get(data, "droppedTargets")), 1);
    json_decref(root);
    free(text);
    // an unknown state shows neither list
    text = scraper_api_targets(&v, "sideways", NULL);
    ck_assert_ptr_nonnull(strstr(text, "\"activeTargets\":[],\"droppedTargets\":[],"
                                       "\"droppedTargetCounts\":null"));
    free(text);
    // sharded: the extension names the shard and what the others scrape
    struct scraper_shard sh = {1, 3};
    v.shard = &sh;
    v.n_other_shards = 7;
    text = scraper_api_targets(&v, NULL, NULL);
    ck_assert_ptr_nonnull(strstr(text, "\"shard\":{\"index\":1,\"count\":3,"
                                       "\"otherShardTargets\":7}"));
    free(text);

    scraper_target_drops_clear(&drops);
    for (int i = 0; i < 3; i++)
        scraper_target_destroy(&t[i]);
}
END_TEST

START_TEST(test_scraper_api_relabel_steps)
{
    struct check_util_rules rules;
    struct fw_cfg_errors errs = {0};
    ck_assert_int_eq(check_util_rules_load("r:\n"
                                           "  - target_label: __address__\n"
                                           "    replacement: example.com:443\n"
                                           "  - action: Drop\n"
                                           "    source_labels: [__address__]\n"
                                           "    regex: 'example\\.com:.*'\n"
                                           "  - target_label: job\n"
                                           "    regex: '.*'\n"
                                           "    replacement: should_not_apply\n",
                                           &rules, &errs),
                     0);
    struct fw_scrape_config jobs[2] = {check_util_scrape_job("testpool3", false),
                                       check_util_scrape_job("hashing", false)};
    jobs[0].relabel_configs = rules.r;
    jobs[0].n_relabel_configs = rules.n;
    struct fw_promcfg cfg = {0};
    cfg.scrape_configs = jobs;
    cfg.n_scrape_configs = 2;

    int status = 0;
    char *text = scraper_api_relabel_steps(
        &cfg, "testpool3", "{\"job\":\"test\",\"__address__\":\"localhost:9090\"}", &status);
    ck_assert_int_eq(status, 200);
    // Prometheus's answer, field for field (relabel.Config's JSON tags and omitempty)
    ck_assert_str_eq(
        text, "{\"status\":\"success\",\"data\":{\"steps\":["
              "{\"rule\":{\"separator\":\";\",\"regex\":\"(.*)\",\"target_label\":\"__address__\","
              "\"replacement\":\"example.com:443\",\"action\":\"replace\"},"
              "\"output\":{\"__address__\":\"example.com:443\",\"job\":\"test\"},\"keep\":true},"
              "{\"rule\":{\"source_labels\":[\"__address__\"],\"separator\":\";\","
              "\"regex\":\"example\\\\.com:.*\",\"replacement\":\"$1\",\"action\":\"drop\"},"
              "\"output\":{},\"keep\":false},"
              "{\"rule\":{\"separator\":\";\",\"regex\":\".*\",\"target_label\":\"job\","
              "\"replacement\":\"should_not_apply\",\"action\":\"replace\"},"
              "\"output\":{},\"keep\":false}]}}");
    free(text);
    // a pool without rules: no steps
    text = scraper_api_relabel_steps(&cfg, "hashing", "{}", &status);
    ck_assert_int_eq(status, 200);
    ck_assert_str_eq(text, "{\"status\":\"success\",\"data\":{\"steps\":[]}}");
    free(text);
    // Prometheus's bad_data errors
    const char *cases[][3] = {
        {NULL, "{}", "no scrapePool parameter provided"},
        {"testpool3", "", "no labels parameter provided"},
        {"testpool3", "{\"a\":", "error parsing labels: "},
        {"testpool3", "[1]", "error parsing labels: "},
        {"testpool3", "{\"a\":1}", "error parsing labels: "},
        {"nope", "{}", "error retrieving scrape config: scrape pool \\\"nope\\\" not found"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        text = scraper_api_relabel_steps(&cfg, cases[i][0], cases[i][1], &status);
        ck_assert_int_eq(status, 400);
        ck_assert_msg(strstr(text, "\"errorType\":\"bad_data\"") && strstr(text, cases[i][2]),
                      "case %zu: %s", i, text);
        free(text);
    }
    check_util_rules_free(&rules);
}
END_TEST

Suite *
scraper_api_suite(void)
{
    Suite *s = suite_create("scraper_api");
    TCase *tc = tcase_create("api");
    tcase_add_test(tc, test_scraper_api_targets);
    tcase_add_test(tc, test_scraper_api_relabel_steps);
    suite_add_tcase(s, tc);
    return s;
}
