/*  check_scraper_target.c — target labels, label merging (exported_ prefix, honor_labels)
    and the staleness memory.
*/
#include <check.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_msg.h"
#include "fw_promcfg.h"
#include "../scraper/scraper_target.h"

Suite *scraper_target_suite(void);

static struct fw_scrape_config
s_job(const char *name)
{
    struct fw_scrape_config sc = {0};
    sc.job_name = (char *)name;
    sc.scrape_interval_ms = 15000;
    sc.scrape_timeout_ms = 10000;
    sc.honor_timestamps = true;
    return sc;
}

static struct fw_expfmt_sample
s_sample(const char *name, const char *const *names, const char *const *values, size_t n)
{
    struct fw_expfmt_sample s = {
        .name = name, .label_names = names, .label_values = values, .n_labels = n, .v = 1};
    return s;
}

START_TEST(test_scraper_target_new_destroy)
{
    struct fw_scrape_config sc = s_job("node");
    struct scraper_target *t = scraper_target_new(&sc, "10.0.0.1:9100", NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->url, "http://10.0.0.1:9100/metrics");
    ck_assert_str_eq(fw_labels_get(&t->labels, "job"), "node");
    ck_assert_str_eq(fw_labels_get(&t->labels, "instance"), "10.0.0.1:9100");
    ck_assert_uint_eq(t->labels.len, 2);
    ck_assert_int_eq(t->health, SCRAPER_HEALTH_UNKNOWN);
    ck_assert_int_eq(t->timer_id, -1);
    scraper_target_destroy(&t);
    scraper_target_destroy(&t);
    ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_scraper_target_static_labels_and_url)
{
    struct fw_scrape_config sc = s_job("db");
    sc.scheme = (char *)"https";
    sc.metrics_path = (char *)"/probe";
    struct fw_labels st = FW_LABELS_INIT;
    fw_labels_set(&st, "env", "prod");
    fw_labels_set(&st, "instance", "primary");
    struct scraper_target *t = scraper_target_new(&sc, "db1:9187", &st);
    ck_assert_str_eq(t->url, "https://db1:9187/probe");
    ck_assert_str_eq(fw_labels_get(&t->labels, "env"), "prod");
    // static_config labels win over the address, as in Prometheus.
    ck_assert_str_eq(fw_labels_get(&t->labels, "instance"), "primary");
    ck_assert_str_eq(fw_labels_get(&t->discovered, "__address__"), "db1:9187");
    struct scraper_target *u = scraper_target_new(&sc, "db1:9187", &st);
    ck_assert(scraper_target_same(t, u));
    scraper_target_destroy(&u);
    sc.scrape_interval_ms = 30000;
    u = scraper_target_new(&sc, "db1:9187", &st);
    ck_assert(!scraper_target_same(t, u));
    scraper_target_destroy(&u);
    scraper_target_destroy(&t);
    fw_labels_clear(&st);
}
END_TEST

START_TEST(test_scraper_target_merge_adds_target_labels)
{
    struct fw_scrape_config sc = s_job("j");
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    struct scraper_lset ls = {0};
    const char *names[] = {"b", "a", "empty"};
    const char *values[] = {"2", "1", ""};
    struct fw_expfmt_sample s = s_sample("m", names, values, 3);
    scraper_target_merge(&ls, &t->labels, false, &s);
    char *text = fw_labels_format(&ls.view);
    ck_assert_str_eq(text, "m{a=\"1\", b=\"2\", instance=\"h:1\", job=\"j\"}");
    free(text);
    // The view is sorted like any fw_labels: it hashes and compares as a real copy does.
    struct fw_labels copy = FW_LABELS_INIT;
    fw_labels_copy(&copy, &ls.view);
    ck_assert_int_eq(fw_labels_cmp(&copy, &ls.view), 0);
    ck_assert(fw_labels_hash(&copy) == fw_labels_hash(&ls.view));
    fw_labels_clear(&copy);
    scraper_lset_free(&ls);
    scraper_target_destroy(&t);
}
END_TEST

START_TEST(test_scraper_target_merge_exported_prefix)
{
    struct fw_scrape_config sc = s_job("j");
    struct fw_labels st = FW_LABELS_INIT;
    fw_labels_set(&st, "env", "prod");
    struct scraper_target *t = scraper_target_new(&sc, "h:1", &st);
    struct scraper_lset ls = {0};
    const char *names[] = {"job", "instance", "exported_env", "env", "x"};
    const char *values[] = {"scraped_job", "scraped_inst", "older", "staging", "y"};
    struct fw_expfmt_sample s = s_sample("m", names, values, 5);
    for (int round = 0; round < 2; round++) { // the second round reuses interned names
        scraper_target_merge(&ls, &t->labels, false, &s);
        ck_assert_str_eq(fw_labels_get(&ls.view, "job"), "j");
        ck_assert_str_eq(fw_labels_get(&ls.view, "instance"), "h:1");
        ck_assert_str_eq(fw_labels_get(&ls.view, "env"), "prod");
        ck_assert_str_eq(fw_labels_get(&ls.view, "exported_job"), "scraped_job");
        ck_assert_str_eq(fw_labels_get(&ls.view, "exported_instance"), "scraped_inst");
        // exported_env was taken by a scraped label: prefix again.
        ck_assert_str_eq(fw_labels_get(&ls.view, "exported_env"), "older");
        ck_assert_str_eq(fw_labels_get(&ls.view, "exported_exported_env"), "staging");
        ck_assert_str_eq(fw_labels_get(&ls.view, "x"), "y");
        ck_assert_uint_eq(ls.view.len, 9);
    }
    scraper_lset_free(&ls);
    scraper_target_destroy(&t);
    fw_labels_clear(&st);
}
END_TEST

START_TEST(test_scraper_target_merge_honor_labels)
{
    struct fw_scrape_config sc = s_job("federate");
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    struct scraper_lset ls = {0};
    const char *names[] = {"job", "a"};
    const char *values[] = {"original", "1"};
    struct fw_expfmt_sample s = s_sample("m", names, values, 2);
    scraper_target_merge(&ls, &t->labels, true, &s);
    ck_assert_str_eq(fw_labels_get(&ls.view, "job"), "original");
    ck_assert_str_eq(fw_labels_get(&ls.view, "instance"), "h:1"); // absent: target's
    ck_assert_ptr_null(fw_labels_get(&ls.view, "exported_job"));
    ck_assert_uint_eq(ls.view.len, 4);
    // A scraped empty value counts as absent, so the target's label fills in.
    const char *values2[] = {"", "1"};
    s = s_sample("m", names, values2, 2);
    scraper_target_merge(&ls, &t->labels, true, &s);
    ck_assert_str_eq(fw_labels_get(&ls.view, "job"), "federate");
    scraper_lset_free(&ls);
    scraper_target_destroy(&t);
}
END_TEST

static void
s_track(struct scraper_target *t, struct scraper_lset *ls, const char *name, bool want_new)
{
    struct fw_expfmt_sample s = s_sample(name, NULL, NULL, 0);
    scraper_target_merge(ls, &t->labels, false, &s);
    ck_assert_int_eq(scraper_target_track(t, &ls->view), want_new);
}

START_TEST(test_scraper_target_staleness)
{
    struct fw_scrape_config sc = s_job("j");
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    struct scraper_lset ls = {0};
    struct fw_batch *b = fw_batch_new();

    s_track(t, &ls, "a", true);
    s_track(t, &ls, "b", true);
    ck_assert_uint_eq(scraper_target_sweep(t, b, 1000), 0);
    ck_assert_uint_eq(scraper_target_series(t), 2);

    s_track(t, &ls, "a", false); // still there
    ck_assert_uint_eq(scraper_target_sweep(t, b, 2000), 1);
    ck_assert_uint_eq(b->len, 1);
    ck_assert_str_eq(fw_labels_get(&b->series[0].labels, "__name__"), "b");
    ck_assert_str_eq(fw_labels_get(&b->series[0].labels, "job"), "j");
    ck_assert(b->series[0].samples[0].t_ms == 2000);
    ck_assert(fw_is_stale_nan(b->series[0].samples[0].v));
    ck_assert_uint_eq(scraper_target_series(t), 1);

    s_track(t, &ls, "a", false);
    s_track(t, &ls, "b", true); // back again: new
    // Many series: the table grows and keeps every one.
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        s_track(t, &ls, name, true);
    }
    ck_assert_uint_eq(scraper_target_sweep(t, b, 3000), 0);
    ck_assert_uint_eq(scraper_target_series(t), 502);
    for (int i = 0; i < 500; i += 2) {
        snprintf(name, sizeof(name), "m%d", i);
        s_track(t, &ls, name, false);
    }
    ck_assert_uint_eq(scraper_target_sweep(t, b, 4000), 252);
    ck_assert_uint_eq(scraper_target_series(t), 250);

    // Target down: everything goes stale.
    size_t before = b->len;
    ck_assert_uint_eq(scraper_target_stale_all(t, b, 5000), 250);
    ck_assert_uint_eq(b->len, before + 250);
    ck_assert_uint_eq(scraper_target_series(t), 0);
    s_track(t, &ls, "a", true);

    fw_batch_destroy(&b);
    scraper_lset_free(&ls);
    scraper_target_destroy(&t);
}
END_TEST

Suite *
scraper_target_suite(void)
{
    Suite *s = suite_create("scraper_target");
    TCase *tc = tcase_create("target");
    tcase_add_test(tc, test_scraper_target_new_destroy);
    tcase_add_test(tc, test_scraper_target_static_labels_and_url);
    tcase_add_test(tc, test_scraper_target_merge_adds_target_labels);
    tcase_add_test(tc, test_scraper_target_merge_exported_prefix);
    tcase_add_test(tc, test_scraper_target_merge_honor_labels);
    tcase_add_test(tc, test_scraper_target_staleness);
    suite_add_tcase(s, tc);
    return s;
}
