/*  check_scraper_target.c — target labels, target relabeling (relabel_configs with
    Prometheus's conventions), label merging (exported_ prefix, honor_labels) and the
    staleness memory.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_cfg.h"
#include "fw_labels.h"
#include "fw_msg.h"
#include "fw_promcfg.h"
#include "../scraper/scraper_target.h"

Suite *scraper_target_suite(void);

static struct fw_expfmt_sample
s_sample(const char *name, const char *const *names, const char *const *values, size_t n)
{
    struct fw_expfmt_sample s = {
        .name = name, .label_names = names, .label_values = values, .n_labels = n, .v = 1};
    return s;
}

START_TEST(test_scraper_target_new_destroy)
{
    struct fw_scrape_config sc = check_util_scrape_job("node", true);
    struct scraper_target *t = scraper_target_new(&sc, "10.0.0.1:9100", NULL);
    ck_assert_ptr_nonnull(t);
    ck_assert_str_eq(t->url, "http://10.0.0.1:9100/metrics");
    ck_assert_str_eq(fw_labels_get(&t->labels, "job"), "node");
    ck_assert_str_eq(fw_labels_get(&t->labels, "instance"), "10.0.0.1:9100");
    ck_assert_uint_eq(t->labels.len, 2);
    ck_assert_int_eq(t->health, SCRAPER_HEALTH_UNKNOWN);
    ck_assert_uint_eq(t->inflight, 0);
    scraper_target_destroy(&t);
    scraper_target_destroy(&t);
    ck_assert_ptr_null(t);
}
END_TEST

START_TEST(test_scraper_target_static_labels_and_url)
{
    struct fw_scrape_config sc = check_util_scrape_job("db", true);
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
    struct fw_scrape_config sc = check_util_scrape_job("j", true);
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
    struct fw_scrape_config sc = check_util_scrape_job("j", true);
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
    struct fw_scrape_config sc = check_util_scrape_job("federate", true);
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
    struct fw_scrape_config sc = check_util_scrape_job("j", true);
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

// The labels of series `name` as the target sends them (in ls->view), and their hash.
static uint64_t
s_lv(struct scraper_target *t, struct scraper_lset *ls, const char *name)
{
    struct fw_expfmt_sample s = s_sample(name, NULL, NULL, 0);
    scraper_target_merge(ls, &t->labels, false, &s);
    return fw_labels_hash(&ls->view);
}

// The staleness memory read through the hints a scrape cache keeps: a hint survives series
// added after it (the memory grows without moving what it holds), a series tracked twice in
// one scrape counts once, stale markers come in the order the series were first seen, and
// a series dropped and then added back is new again (no marker while it was never sent).
START_TEST(test_scraper_target_staleness_hints)
{
    struct fw_scrape_config sc = check_util_scrape_job("j", true);
    struct scraper_target *t = scraper_target_new(&sc, "h:1", NULL);
    struct scraper_lset ls = {0};
    struct fw_batch *b = fw_batch_new();
    enum { N = 300 };
    uint32_t slot[2 * N] = {0}, epoch[2 * N] = {0};
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "m%03d", i);
        uint64_t h = s_lv(t, &ls, name);
        ck_assert(scraper_target_track_hint(t, &ls.view, h, &slot[i], &epoch[i]));
    }
    ck_assert_uint_eq(scraper_target_sweep(t, b, 1000), 0);
    // The next scrape: the same series by their hints, then as many new ones (the memory
    // grows past them): the first ones' hints stay good.
    for (int i = 0; i < 2 * N; i++) {
        snprintf(name, sizeof(name), "m%03d", i);
        uint64_t h = s_lv(t, &ls, name);
        uint32_t e0 = epoch[i];
        ck_assert_int_eq(scraper_target_track_hint(t, &ls.view, h, &slot[i], &epoch[i]), i >= N);
        if (i < N)
            ck_assert_uint_eq(epoch[i], e0);
    }
    ck_assert_uint_eq(scraper_target_sweep(t, b, 2000), 0);
    for (int i = 0; i < N; i++) { // grown since: still good
        snprintf(name, sizeof(name), "m%03d", i);
        uint64_t h = s_lv(t, &ls, name);
        ck_assert(scraper_target_tracked_hint(t, &ls.view, h, &slot[i], &epoch[i]));
    }
    // Every third series goes; one is tracked twice (its hint, then by its labels), which
    // must not count as another series tracked.
    for (int i = 0; i < 2 * N; i++) {
        if (i % 3 == 0)
            continue;
        snprintf(name, sizeof(name), "m%03d", i);
        uint64_t h = s_lv(t, &ls, name);
        ck_assert(!scraper_target_track_hint(t, &ls.view, h, &slot[i], &epoch[i]));
        if (i == 1)
            ck_assert(!scraper_target_track(t, &ls.view));
    }
    ck_assert_uint_eq(scraper_target_sweep(t, b, 3000), 2 * N / 3);
    ck_assert_uint_eq(b->len, 2 * N / 3);
    for (size_t k = 0; k < b->len; k++) { // in the order first seen
        snprintf(name, sizeof(name), "m%03zu", 3 * k);
        ck_assert_str_eq(fw_labels_get(&b->series[k].labels, "__name__"), name);
        ck_assert(fw_is_stale_nan(b->series[k].samples[0].v));
    }
    ck_assert_uint_eq(scraper_target_series(t), 2 * N - 2 * N / 3);
    // The survivors moved: their old hints are void, a lookup finds them (and renews them).
    snprintf(name, sizeof(name), "m%03d", 1);
    uint64_t h1 = s_lv(t, &ls, name);
    uint32_t e1 = epoch[1];
    ck_assert(!scraper_target_track_hint(t, &ls.view, h1, &slot[1], &epoch[1]));
    ck_assert_uint_ne(epoch[1], e1);
    // m000 comes back: new; a scrape that then fails gives it no marker (never sent).
    uint64_t h0 = s_lv(t, &ls, "m000");
    ck_assert(scraper_target_track_hint(t, &ls.view, h0, &slot[0], &epoch[0]));
    fw_batch_destroy(&b);
    b = fw_batch_new();
    size_t left = scraper_target_series(t);
    ck_assert_uint_eq(scraper_target_stale_all(t, b, 4000), left - 1);
    for (size_t k = 0; k < b->len; k++)
        ck_assert_str_ne(fw_labels_get(&b->series[k].labels, "__name__"), "m000");
    ck_assert_uint_eq(scraper_target_series(t), 0);
    ck_assert(!scraper_target_tracked_hint(t, &ls.view, h0, &slot[0], &epoch[0]));
    // Back after the failure: new, and after a good scrape then gone: a marker.
    ck_assert(scraper_target_track_hint(t, &ls.view, h0, &slot[0], &epoch[0]));
    ck_assert_uint_eq(scraper_target_sweep(t, b, 5000), 0);
    fw_batch_destroy(&b);
    b = fw_batch_new();
    ck_assert_uint_eq(scraper_target_sweep(t, b, 6000), 1);
    ck_assert_str_eq(fw_labels_get(&b->series[0].labels, "__name__"), "m000");

    fw_batch_destroy(&b);
    scraper_lset_free(&ls);
    scraper_target_destroy(&t);
}
END_TEST

// ---------------------------------------------------------------------------------------
//  Target relabeling (relabel_configs)

// The first job of a prometheus.yml whose scrape_configs are `jobs`, loaded and prepared as
// the scraper loads it (relabel_configs checked and compiled).
static void
s_load(struct fw_promcfg *cfg, const char *jobs)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    fprintf(f, "scrape_configs:\n%s", jobs);
    fclose(f);
    struct fw_cfg_errors errs;
    int rc = fw_promcfg_load("relabel.yml", text, cfg, &errs);
    ck_assert_msg(rc == 0 && errs.len == 0, "%s", errs.len ? errs.items[0].msg : "load failed");
    free(text);
    ck_assert_uint_ge(cfg->n_scrape_configs, 1);
}

// Build a target of cfg's first job from a group and a target, given as "a=1|b=2".
static struct scraper_target *
s_build(const struct fw_promcfg *cfg, const char *group, const char *target,
        struct fw_labels *dropped, fw_err_t *err)
{
    struct fw_labels g = FW_LABELS_INIT, t = FW_LABELS_INIT;
    struct fw_labels *sets[] = {&g, &t};
    const char *texts[] = {group, target};
    for (int k = 0; k < 2; k++) {
        char *copy = strdup(texts[k] ? texts[k] : "");
        char *save = NULL;
        for (char *kv = strtok_r(copy, "|", &save); kv; kv = strtok_r(NULL, "|", &save)) {
            char *eq = strchr(kv, '=');
            ck_assert_ptr_nonnull(eq);
            *eq = '\0';
            fw_labels_set(sets[k], kv, eq + 1);
        }
        free(copy);
    }
    struct scraper_target *self =
        scraper_target_from_group(&cfg->scrape_configs[0], &g, &t, dropped, err);
    fw_labels_clear(&g);
    fw_labels_clear(&t);
    return self;
}

// Every target label as "a=1|b=2", in name order.
static const char *
s_str(const struct fw_labels *l)
{
    static char buf[1024];
    size_t w = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < l->len && w < sizeof(buf); i++)
        w += (size_t)snprintf(buf + w, sizeof(buf) - w, "%s%s=%s", i ? "|" : "", l->items[i].name,
                              l->items[i].value);
    return buf;
}

START_TEST(test_scraper_target_relabel_keep_drop)
{
    struct fw_promcfg cfg;
    s_load(&cfg, "  - job_name: k8s\n"
                 "    relabel_configs:\n"
                 "      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]\n"
                 "        action: keep\n"
                 "        regex: 'true'\n"
                 "      - source_labels: [__meta_kubernetes_namespace]\n"
                 "        action: drop\n"
                 "        regex: kube-.*\n");
    fw_err_t err = {0};
    struct fw_labels dropped = FW_LABELS_INIT;
    struct scraper_target *t = s_build(
        &cfg, "__meta_kubernetes_namespace=shop",
        "__address__=10.0.0.1:8080|__meta_kubernetes_pod_annotation_prometheus_io_scrape=true",
        &dropped, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    ck_assert_uint_eq(dropped.len, 0);
    ck_assert_str_eq(s_str(&t->labels), "instance=10.0.0.1:8080|job=k8s");
    ck_assert_str_eq(t->url, "http://10.0.0.1:8080/metrics");
    scraper_target_destroy(&t);

    // keep does not match: dropped, with the discovered labels handed back and no error.
    t = s_build(&cfg, "__meta_kubernetes_namespace=shop", "__address__=10.0.0.2:8080", &dropped,
                &err);
    ck_assert_ptr_null(t);
    ck_assert_str_eq(s_str(&dropped),
                     "__address__=10.0.0.2:8080|__meta_kubernetes_namespace=shop|"
                     "__metrics_path__=/metrics|__scheme__=http|__scrape_interval__=1m|"
                     "__scrape_timeout__=10s|job=k8s");
    fw_labels_clear(&dropped);

    // drop matches (fully anchored: "kube-system", not "my-kube-ns").
    t = s_build(
        &cfg, "__meta_kubernetes_namespace=kube-system",
        "__address__=10.0.0.3:8080|__meta_kubernetes_pod_annotation_prometheus_io_scrape=true",
        &dropped, &err);
    ck_assert_ptr_null(t);
    ck_assert_uint_gt(dropped.len, 0);
    fw_labels_clear(&dropped);
    t = s_build(
        &cfg, "__meta_kubernetes_namespace=my-kube-ns",
        "__address__=10.0.0.3:8080|__meta_kubernetes_pod_annotation_prometheus_io_scrape=true",
        &dropped, &err);
    ck_assert_ptr_nonnull(t);
    scraper_target_destroy(&t);

    // A static target goes through the same rules: scraper_target_new drops it too.
    ck_assert_ptr_null(scraper_target_new(&cfg.scrape_configs[0], "10.0.0.4:8080", NULL));
    fw_promcfg_free(&cfg);
}
END_TEST

START_TEST(test_scraper_target_relabel_hashmod_shards)
{
    // The usual sharding recipe: hashmod into __tmp_hash, keep one value. "baz" hashes to
    // 976 mod 1000 (Prometheus's relabel_test.go).
    struct fw_promcfg cfg;
    s_load(&cfg, "  - job_name: shard\n"
                 "    relabel_configs:\n"
                 "      - {source_labels: [k], target_label: __tmp_hash, modulus: 1000, "
                 "action: hashmod}\n"
                 "      - {source_labels: [__tmp_hash], regex: '976', action: keep}\n");
    fw_err_t err = {0};
    struct scraper_target *t = s_build(&cfg, "k=baz", "__address__=a:1", NULL, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    ck_assert_str_eq(s_str(&t->labels), "instance=a:1|job=shard|k=baz"); // no __tmp_hash
    ck_assert_str_eq(fw_labels_get(&t->discovered, "k"), "baz");
    ck_assert_ptr_null(fw_labels_get(&t->discovered, "__tmp_hash"));
    scraper_target_destroy(&t);
    struct fw_labels dropped = FW_LABELS_INIT;
    ck_assert_ptr_null(s_build(&cfg, "k=bar", "__address__=a:1", &dropped, &err));
    ck_assert_uint_gt(dropped.len, 0);
    fw_labels_clear(&dropped);
    fw_promcfg_free(&cfg);

    // Three shards over 60 addresses: each target kept by exactly one, none empty.
    size_t per_shard[3] = {0};
    for (int shard = 0; shard < 3; shard++) {
        char jobs[512];
        snprintf(jobs, sizeof(jobs),
                 "  - job_name: shard\n"
                 "    relabel_configs:\n"
                 "      - {source_labels: [__address__], target_label: __tmp_hash, modulus: 3, "
                 "action: hashmod}\n"
                 "      - {source_labels: [__tmp_hash], regex: '%d', action: keep}\n",
                 shard);
        s_load(&cfg, jobs);
        for (int i = 0; i < 60; i++) {
            char addr[64];
            snprintf(addr, sizeof(addr), "__address__=10.1.0.%d:9100", i);
            t = s_build(&cfg, NULL, addr, NULL, &err);
            if (t)
                per_shard[shard]++;
            scraper_target_destroy(&t);
        }
        fw_promcfg_free(&cfg);
    }
    ck_assert_uint_eq(per_shard[0] + per_shard[1] + per_shard[2], 60);
    for (int shard = 0; shard < 3; shard++)
        ck_assert_uint_gt(per_shard[shard], 5);
}
END_TEST

START_TEST(test_scraper_target_relabel_kubernetes_conventions)
{
    // The kubernetes-pods job of Prometheus's example config: address, path and scheme
    // from annotations, pod labels mapped, a __param_ added, __tmp used and dropped.
    struct fw_promcfg cfg;
    s_load(&cfg,
           "  - job_name: kubernetes-pods\n"
           "    params: {module: [http_2xx]}\n"
           "    relabel_configs:\n"
           "      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]\n"
           "        action: replace\n"
           "        target_label: __metrics_path__\n"
           "        regex: (.+)\n"
           "      - source_labels: [__address__, "
           "__meta_kubernetes_pod_annotation_prometheus_io_port]\n"
           "        action: replace\n"
           "        regex: '([^:]+)(?::\\d+)?;(\\d+)'\n"
           "        replacement: ${1}:${2}\n"
           "        target_label: __address__\n"
           "      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scheme]\n"
           "        target_label: __scheme__\n"
           "        regex: (https?)\n"
           "      - action: labelmap\n"
           "        regex: __meta_kubernetes_pod_label_(.+)\n"
           "      - source_labels: [__meta_kubernetes_namespace]\n"
           "        target_label: namespace\n"
           "      - source_labels: [__meta_kubernetes_pod_name]\n"
           "        target_label: __tmp_pod\n"
           "      - source_labels: [__tmp_pod]\n"
           "        target_label: __param_target\n"
           "      - {target_label: __param_module, replacement: tcp_connect}\n"
           "      - {source_labels: [__tmp_pod], target_label: pod, replacement: 'pod-${1}'}\n"
           "      - {target_label: __scrape_interval__, replacement: 30s}\n"
           "      - {target_label: __scrape_timeout__, replacement: 5s}\n");
    fw_err_t err = {0};
    struct scraper_target *t =
        s_build(&cfg, "__meta_kubernetes_namespace=shop",
                "__address__=10.0.0.7:8080|__meta_kubernetes_pod_name=web-1|"
                "__meta_kubernetes_pod_label_app=web|__meta_kubernetes_pod_label_tier=front|"
                "__meta_kubernetes_pod_annotation_prometheus_io_path=/admin/metrics|"
                "__meta_kubernetes_pod_annotation_prometheus_io_port=9102|"
                "__meta_kubernetes_pod_annotation_prometheus_io_scheme=https",
                NULL, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    // Every __ label gone (__meta_*, __tmp_pod, __param_*, the settings), instance from
    // the relabeled __address__.
    ck_assert_str_eq(s_str(&t->labels), "app=web|instance=10.0.0.7:9102|job=kubernetes-pods|"
                                        "namespace=shop|pod=pod-web-1|tier=front");
    ck_assert_str_eq(t->url, "https://10.0.0.7:9102/admin/metrics?module=tcp_connect&target=web-1");
    ck_assert_str_eq(t->address, "10.0.0.7:9102");
    ck_assert_int_eq(t->interval_ms, 30000);
    ck_assert_int_eq(t->timeout_ms, 5000);
    // discoveredLabels are the set before relabeling, with the param's default.
    ck_assert_str_eq(fw_labels_get(&t->discovered, "__address__"), "10.0.0.7:8080");
    ck_assert_str_eq(fw_labels_get(&t->discovered, "__param_module"), "http_2xx");
    ck_assert_str_eq(fw_labels_get(&t->discovered, "__scheme__"), "http");
    scraper_target_destroy(&t);

    // Without the annotations: the defaults stay (regex (.+) does not match "").
    t = s_build(&cfg, NULL, "__address__=10.0.0.8:8080|__meta_kubernetes_pod_name=db-0", NULL,
                &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    ck_assert_str_eq(t->url, "http://10.0.0.8:8080/metrics?module=tcp_connect&target=db-0");
    ck_assert_str_eq(s_str(&t->labels), "instance=10.0.0.8:8080|job=kubernetes-pods|pod=pod-db-0");
    scraper_target_destroy(&t);
    fw_promcfg_free(&cfg);
}
END_TEST

START_TEST(test_scraper_target_relabel_invalid_results)
{
    // What relabeling makes invalid is an error, not a drop: Prometheus's texts.
    struct fw_promcfg cfg;
    s_load(&cfg, "  - job_name: bad\n"
                 "    relabel_configs:\n"
                 "      - {source_labels: [mode], regex: noaddr, target_label: __address__, "
                 "replacement: ''}\n"
                 "      - {source_labels: [mode], regex: url, target_label: __address__, "
                 "replacement: 'http://x/y'}\n"
                 "      - {source_labels: [mode], regex: zero, target_label: "
                 "__scrape_interval__, replacement: 0s}\n"
                 "      - {source_labels: [mode], regex: junk, target_label: "
                 "__scrape_timeout__, replacement: soon}\n"
                 "      - {source_labels: [mode], regex: long, target_label: "
                 "__scrape_timeout__, replacement: 2m}\n"
                 "      - {source_labels: [mode], regex: inst, target_label: instance, "
                 "replacement: mine}\n");
    static const struct {
        const char *mode, *err;
    } cases[] = {
        {"noaddr", "no address"},
        {"url", "\"http://x/y\" is not a valid hostname"},
        {"zero", "scrape interval cannot be 0"},
        {"junk", "error parsing scrape timeout: not a valid duration string: \"soon\""},
        {"long", "scrape timeout cannot be greater than scrape interval (\"2m\" > \"1m\")"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char group[64];
        snprintf(group, sizeof(group), "mode=%s", cases[i].mode);
        fw_err_t err = {0};
        struct fw_labels dropped = FW_LABELS_INIT;
        ck_assert_ptr_null(s_build(&cfg, group, "__address__=h:1", &dropped, &err));
        ck_assert_str_eq(err.msg, cases[i].err);
        ck_assert_uint_eq(dropped.len, 0);
    }
    // An instance set by relabeling wins over the address.
    fw_err_t err = {0};
    struct scraper_target *t = s_build(&cfg, "mode=inst", "__address__=h:1", NULL, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    ck_assert_str_eq(s_str(&t->labels), "instance=mine|job=bad|mode=inst");
    scraper_target_destroy(&t);
    fw_promcfg_free(&cfg);
}
END_TEST

START_TEST(test_scraper_target_drops)
{
    struct scraper_target_drops d = {0};
    ck_assert_uint_eq(scraper_target_drops_job(&d, "a"), 0);
    ck_assert_uint_eq(scraper_target_drops_job(&d, "b"), 1);
    ck_assert_uint_eq(scraper_target_drops_job(&d, "a"), 0);
    for (int i = 0; i < 20; i++) {
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_set(&l, "__address__", "h:1");
        scraper_target_drops_add(&d, i % 2 ? "b" : "c", &l);
        ck_assert_uint_eq(l.len, 0); // taken
    }
    ck_assert_uint_eq(d.n_jobs, 3);
    ck_assert_uint_eq(d.counts[0], 0);
    ck_assert_uint_eq(d.counts[1], 10);
    ck_assert_uint_eq(d.counts[2], 10);
    ck_assert_uint_eq(d.n, 20);
    ck_assert_str_eq(d.jobs[d.items[3].job], "b");
    scraper_target_drops_clear(&d);
    ck_assert_uint_eq(d.n, 0);
    scraper_target_drops_clear(&d);
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
    tcase_add_test(tc, test_scraper_target_staleness_hints);
    tcase_add_test(tc, test_scraper_target_relabel_keep_drop);
    tcase_add_test(tc, test_scraper_target_relabel_hashmod_shards);
    tcase_add_test(tc, test_scraper_target_relabel_kubernetes_conventions);
    tcase_add_test(tc, test_scraper_target_relabel_invalid_results);
    tcase_add_test(tc, test_scraper_target_drops);
    suite_add_tcase(s, tc);
    return s;
}
