/*  check_ruled_rules.c — unit tests for rule file loading and validation (ruled/ruled_rules.c).

    Every check promtool's rulefmt makes must fail with the rule's file:line:col; the
    conformance files under $SHARED/conformance/rules/rulefmt (default ../shared, relative to
    the repository root) are loaded when present: *.bad.yaml must fail, except
    legacy_validation_annotation.bad.yaml is loaded under legacy name validation (as upstream's
    rulefmt test loads it; the default is Prometheus 3's UTF-8 names), and the others must
    load.
*/
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_mem.h"
#include "../ruled/ruled_rules.h"
#include "check_util.h"

Suite *ruled_rules_suite(void);

// Load text under scheme; expect failure with an error containing msg at line:col.
static void
s_expect_error_scheme(const char *text, fw_names_scheme_t scheme, const char *msg, int line,
                      int col)
{
    struct ruled_rulefile rf;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load_scheme("r.yml", text, scheme, &rf, errs), -1);
    int i = check_util_cfg_error_find(errs, msg);
    ck_assert_msg(i >= 0, "no error containing \"%s\" (first: \"%s\")", msg,
                  errs->len ? errs->items[0].msg : "none");
    ck_assert_str_eq(errs->items[i].file, "r.yml");
    ck_assert_int_eq(errs->items[i].line, line);
    ck_assert_int_eq(errs->items[i].col, col);
    ruled_rules_free(&rf);
    free(errs);
}

static void
s_expect_error(const char *text, const char *msg, int line, int col)
{
    s_expect_error_scheme(text, FW_NAMES_UTF8, msg, line, col);
}

START_TEST(test_ruled_rules_load_ok)
{
    static const char text[] = "groups:\n"
                               "  - name: g1\n"
                               "    interval: 30s\n"
                               "    limit: 10\n"
                               "    query_offset: 1m\n"
                               "    labels: {site: a}\n"
                               "    rules:\n"
                               "      - record: job:up:sum\n"
                               "        expr: sum by (job) (up)\n"
                               "        labels: {tier: x}\n"
                               "      - alert: Down\n"
                               "        expr: up == 0\n"
                               "        for: 5m\n"
                               "        keep_firing_for: 1m\n"
                               "        labels: {severity: page}\n"
                               "        annotations:\n"
                               "          summary: '{{ $labels.job }} is {{ $value }}'\n"
                               "  - name: g2\n";
    struct ruled_rulefile rf;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load("r.yml", text, &rf, errs), 0);
    ck_assert_uint_eq(errs->len, 0);
    ck_assert_uint_eq(rf.n_groups, 2);
    const struct ruled_group_cfg *g = &rf.groups[0];
    ck_assert_str_eq(g->name, "g1");
    ck_assert_int_eq(g->interval_ms, 30000);
    ck_assert_int_eq(g->limit, 10);
    ck_assert_int_eq(g->query_offset_ms, 60000);
    ck_assert_str_eq(fw_labels_get(&g->labels, "site"), "a");
    ck_assert_uint_eq(g->n_rules, 2);
    ck_assert_str_eq(g->rules[0].record, "job:up:sum");
    ck_assert(!ruled_rules_is_alert(&g->rules[0]));
    ck_assert(ruled_rules_is_alert(&g->rules[1]));
    ck_assert_int_eq(g->rules[1].for_ms, 300000);
    ck_assert_int_eq(g->rules[1].keep_firing_for_ms, 60000);
    ck_assert_str_eq(fw_labels_get(&g->rules[1].annotations, "summary"),
                     "{{ $labels.job }} is {{ $value }}");
    ck_assert_uint_eq(rf.groups[1].n_rules, 0);
    ruled_rules_free(&rf);
    free(errs);
}
END_TEST

START_TEST(test_ruled_rules_bad_cases_positions)
{
    s_expect_error("groups:\n  - name: a\n  - name: a\n", "groupname: \"a\" is repeated", 3, 5);
    s_expect_error("groups:\n  - interval: 1m\n", "group name must not be empty", 2, 5);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - expr: 1\n",
                   "one of 'record' or 'alert' must be set", 4, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - record: x\n        alert: y\n"
                   "        expr: 1\n",
                   "only one of 'record' and 'alert'", 4, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - record: x\n",
                   "field 'expr' must be set", 4, 9);
    // names: any UTF-8 (Prometheus 3's default); legacy validation keeps the old sets
    static const char utf8_rules[] = "groups:\n  - name: a\n    rules:\n      - record: 'a-b'\n"
                                     "        expr: 1\n        labels: {ins-tance: x}\n";
    struct ruled_rulefile rf;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_load("r.yml", utf8_rules, &rf, errs), 0);
    ruled_rules_free(&rf);
    free(errs);
    s_expect_error_scheme(utf8_rules, FW_NAMES_LEGACY, "invalid recording rule name: a-b", 4, 9);
    s_expect_error_scheme(utf8_rules, FW_NAMES_LEGACY, "invalid label name: ins-tance", 4, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - record: 'x{a=\"b\"}'\n"
                   "        expr: 1\n",
                   "braces present in the recording rule name", 4, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: 1\n"
                   "        for: 1m\n",
                   "invalid field 'for' in recording rule", 4, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: 1\n"
                   "        keep_firing_for: 1m\n",
                   "invalid field 'keep_firing_for'", 4, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - record: x\n        expr: 1\n"
                   "        labels: {__name__: y}\n",
                   "invalid label name: __name__", 4, 9);
    // The expression's own position, and the parse position inside it.
    s_expect_error("groups:\n  - name: a\n    rules:\n      - record: x\n"
                   "        expr: sum(rate(x[5m])\n",
                   "could not parse expression: 1:", 5, 15);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - alert: x\n        expr: 1\n"
                   "        annotation: {a: b}\n",
                   "unknown key 'annotation'", 6, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - alert: x\n        expr: 1\n"
                   "        annotations: {s: '{{ $label.x }}'}\n",
                   "undefined variable", 4, 9);
    s_expect_error("groups:\n  - name: a\n    rules:\n      - alert: x\n        expr: 1\n"
                   "        for: soon\n",
                   "not a duration", 6, 14);
}
END_TEST

static const char *
s_shared(char *buf, size_t size)
{
    const char *env = getenv("SHARED");
    snprintf(buf, size, "%s/conformance/rules/rulefmt", env && env[0] ? env : "../shared");
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? buf : NULL;
}

START_TEST(test_ruled_rules_conformance_rulefmt)
{
    char dirbuf[512];
    const char *dir = s_shared(dirbuf, sizeof(dirbuf));
    if (!dir) {
        check_util_skip("test_ruled_rules_conformance_rulefmt: %s not found (set SHARED to "
                        "the shared directory)",
                        dirbuf);
        return;
    }
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        bool bad = strstr(e->d_name, ".bad.") != NULL || strncmp(e->d_name, "bad_", 4) == 0;
        // invalid only under legacy (pre-UTF-8) name validation, as upstream loads it
        bool legacy = strcmp(e->d_name, "legacy_validation_annotation.bad.yaml") == 0;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct ruled_rulefile rf;
        struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
        int rc = ruled_rules_load_scheme(path, NULL, legacy ? FW_NAMES_LEGACY : FW_NAMES_UTF8, &rf,
                                         errs);
        if (bad) {
            ck_assert_msg(rc == -1, "%s should be rejected", e->d_name);
            ck_assert_msg(errs->items[0].line > 0 && errs->items[0].col > 0,
                          "%s: error without a position: %s", e->d_name, errs->items[0].msg);
        } else {
            ck_assert_msg(rc == 0, "%s should load: %s:%d:%d: %s", e->d_name, errs->items[0].file,
                          errs->items[0].line, errs->items[0].col, errs->items[0].msg);
        }
        ruled_rules_free(&rf);
        free(errs);
        n++;
    }
    closedir(d);
    ck_assert_int_ge(n, 10);
}
END_TEST

START_TEST(test_ruled_rules_embedded_default)
{
    struct ruled_config cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_config_load(NULL, &cfg, errs), 0);
    ck_assert_int_eq(cfg.prom.global.evaluation_interval_ms, 5000);
    ck_assert_uint_eq(cfg.n_files, 2);
    ck_assert_str_eq(cfg.files[0].name, "ruled.rules.yml");
    ck_assert_str_eq(cfg.files[1].name, "ruled.prices.yml");
    ck_assert_uint_eq(cfg.files[0].n_groups, 10); // factory-oee, then the plant's groups
    const struct ruled_group_cfg *g = &cfg.files[0].groups[0];
    ck_assert_uint_eq(g->n_rules, 5);
    ck_assert_str_eq(g->rules[3].record, "line:oee:ratio");
    ck_assert_str_eq(g->rules[4].alert, "LineOEELow");
    ck_assert_int_eq(g->rules[4].for_ms, 60000);
    ruled_rules_config_free(&cfg);
    free(errs);
}
END_TEST

START_TEST(test_ruled_rules_config_globs)
{
    mkdir("test/tmp", 0755);
    mkdir("test/tmp/ruled_globs", 0755);
    mkdir("test/tmp/ruled_globs/rules", 0755);
    check_util_write_file("test/tmp/ruled_globs/prom.yml",
                          "global:\n  evaluation_interval: 15s\n  external_labels: {site: x}\n"
                          "rule_files:\n  - rules/*.yml\n  - rules/a.yml\n  - missing/*.yml\n");
    check_util_write_file("test/tmp/ruled_globs/rules/a.yml",
                          "groups:\n  - name: a\n    rules:\n      - record: a\n        expr: 1\n");
    check_util_write_file("test/tmp/ruled_globs/rules/b.yml",
                          "groups:\n  - name: b\n    rules:\n      - record: b\n        expr: 2\n");
    struct ruled_config cfg;
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_config_load("test/tmp/ruled_globs/prom.yml", &cfg, errs), 0);
    ck_assert_uint_eq(cfg.n_files, 2); // a.yml matched twice, loaded once; sorted
    ck_assert_str_eq(cfg.files[0].name, "test/tmp/ruled_globs/rules/a.yml");
    ck_assert_str_eq(cfg.files[1].name, "test/tmp/ruled_globs/rules/b.yml");
    ck_assert_str_eq(fw_labels_get(&cfg.prom.global.external_labels, "site"), "x");
    ruled_rules_config_free(&cfg);

    // A bad rule file fails the whole configuration, with its own file name.
    check_util_write_file("test/tmp/ruled_globs/rules/b.yml",
                          "groups:\n  - name: b\n    rulez: []\n");
    memset(errs, 0, sizeof(*errs));
    ck_assert_int_eq(ruled_rules_config_load("test/tmp/ruled_globs/prom.yml", &cfg, errs), -1);
    ck_assert_str_eq(errs->items[0].file, "test/tmp/ruled_globs/rules/b.yml");
    ck_assert_int_eq(errs->items[0].line, 3);
    ruled_rules_config_free(&cfg);
    free(errs);
    unlink("test/tmp/ruled_globs/rules/a.yml");
    unlink("test/tmp/ruled_globs/rules/b.yml");
    unlink("test/tmp/ruled_globs/prom.yml");
    rmdir("test/tmp/ruled_globs/rules");
    rmdir("test/tmp/ruled_globs");
}
END_TEST

Suite *
ruled_rules_suite(void)
{
    Suite *s = suite_create("ruled_rules");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_ruled_rules_load_ok);
    tcase_add_test(tc, test_ruled_rules_bad_cases_positions);
    tcase_add_test(tc, test_ruled_rules_conformance_rulefmt);
    tcase_add_test(tc, test_ruled_rules_embedded_default);
    tcase_add_test(tc, test_ruled_rules_config_globs);
    suite_add_tcase(s, tc);
    return s;
}
