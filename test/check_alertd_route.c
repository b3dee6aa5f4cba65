/*  check_alertd_route.c — the routing tree: matching order, continue, inheritance, route
    keys, and the shared routing conformance cases (alertmanager-routing/routing-cases.yml,
    loaded through fw_cfg tables).
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alertd/alertd_cfg.h"
#include "../alertd/alertd_route.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "check_util.h"

static struct alertd_route *
s_tree(const char *yaml, struct alertd_cfg **cfg_out)
{
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_cfg_load("route.yml", yaml, &errs);
    ck_assert_msg(cfg != NULL, "config: %s", errs.len ? errs.items[0].msg : "?");
    *cfg_out = cfg;
    return alertd_route_build(&cfg->route);
}

static const char *s_yaml = "route:\n"
                            "  receiver: root\n"
                            "  group_by: [alertname]\n"
                            "  group_wait: 5s\n"
                            "  routes:\n"
                            "    - match: {team: db}\n"
                            "      receiver: db\n"
                            "      continue: true\n"
                            "      repeat_interval: 1h\n"
                            "      routes:\n"
                            "        - match_re: {sev: 'crit.*'}\n"
                            "          receiver: db-pager\n"
                            "    - matchers: ['team=~\"db|web\"', 'env!=\"test\"']\n"
                            "      receiver: shared\n"
                            "      group_by: [env]\n"
                            "receivers:\n"
                            "  - name: root\n  - name: db\n  - name: db-pager\n  - name: shared\n";

START_TEST(test_alertd_route_build_and_match)
{
    struct alertd_cfg *cfg;
    struct alertd_route *root = s_tree(s_yaml, &cfg);
    ck_assert_str_eq(root->key, "{}");
    ck_assert_int_eq(root->routes_len, 2);
    ck_assert_str_eq(root->routes[0].key, "{}/{team=\"db\"}");
    ck_assert_str_eq(root->routes[0].routes[0].key, "{}/{team=\"db\"}/{sev=~\"crit.*\"}");
    ck_assert_str_eq(root->routes[1].key, "{}/{env!=\"test\",team=~\"db|web\"}");
    // Inheritance: the grandchild takes group_by, group_wait and repeat_interval from above.
    const struct alertd_route *gc = &root->routes[0].routes[0];
    ck_assert_int_eq(gc->group_wait_ms, 5000);
    ck_assert_int_eq(gc->group_interval_ms, 300000);
    ck_assert_int_eq(gc->repeat_interval_ms, 3600000);
    ck_assert_int_eq(gc->group_by_len, 1);
    ck_assert_str_eq(gc->group_by[0], "alertname");

    const struct alertd_route *out[8];
    struct fw_labels l = FW_LABELS_INIT;
    check_util_labels(&l, "alertname=A,team=db,sev=critical");
    // db matched (continue) -> its child db-pager; then the next sibling `shared`.
    size_t n = alertd_route_match(root, &l, out, 8);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(out[0]->receiver, "db-pager");
    ck_assert_str_eq(out[1]->receiver, "shared");
    fw_labels_clear(&l);
    check_util_labels(&l, "alertname=A,team=db,env=test");
    n = alertd_route_match(root, &l, out, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(out[0]->receiver, "db");
    fw_labels_clear(&l);
    check_util_labels(&l, "alertname=A");
    n = alertd_route_match(root, &l, out, 8);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(out[0]->receiver, "root");
    fw_labels_clear(&l);
    alertd_route_destroy(&root);
    alertd_route_destroy(&root);
    alertd_cfg_destroy(&cfg);
}
END_TEST

// --- routing-cases.yml through fw_cfg tables ---

struct rc_expect {
    char *receiver;
    char **group_by;
    size_t group_by_len;
    char *group_wait, *group_interval, *repeat_interval;
};
struct rc_case {
    char *name;
    struct fw_labels labels;
    struct rc_expect *expect;
    size_t expect_len;
};
struct rc_suite {
    char *name;
    struct alertd_cfg_route route;
    struct rc_case *cases;
    size_t cases_len;
};
struct rc_file {
    struct rc_suite *suites;
    size_t suites_len;
};

#define E struct rc_expect
static const struct fw_cfg_field s_expect_fields[] = {
    {.key = "receiver", .type = FW_CFG_STR, .off = offsetof(E, receiver)},
    {.key = "group_by",
     .type = FW_CFG_STR_LIST,
     .off = offsetof(E, group_by),
     .count_off = offsetof(E, group_by_len)},
    {.key = "group_wait", .type = FW_CFG_STR, .off = offsetof(E, group_wait)},
    {.key = "group_interval", .type = FW_CFG_STR, .off = offsetof(E, group_interval)},
    {.key = "repeat_interval", .type = FW_CFG_STR, .off = offsetof(E, repeat_interval)},
    {NULL},
};
#undef E
static const struct fw_cfg_field s_case_fields[] = {
    {.key = "name", .type = FW_CFG_STR, .off = offsetof(struct rc_case, name)},
    {.key = "labels", .type = FW_CFG_STR_MAP, .off = offsetof(struct rc_case, labels)},
    {.key = "expect",
     .type = FW_CFG_LIST,
     .off = offsetof(struct rc_case, expect),
     .count_off = offsetof(struct rc_case, expect_len),
     .elem_size = sizeof(struct rc_expect),
     .child = s_expect_fields},
    {NULL},
};
static const struct fw_cfg_field s_suite_fields[] = {
    {.key = "name", .type = FW_CFG_STR, .off = offsetof(struct rc_suite, name)},
    {.key = "route",
     .type = FW_CFG_STRUCT,
     .off = offsetof(struct rc_suite, route),
     .child = alertd_cfg_route_fields},
    {.key = "cases",
     .type = FW_CFG_LIST,
     .off = offsetof(struct rc_suite, cases),
     .count_off = offsetof(struct rc_suite, cases_len),
     .elem_size = sizeof(struct rc_case),
     .child = s_case_fields},
    {NULL},
};
static const struct fw_cfg_field s_file_fields[] = {
    {.key = "suites",
     .type = FW_CFG_LIST,
     .off = offsetof(struct rc_file, suites),
     .count_off = offsetof(struct rc_file, suites_len),
     .elem_size = sizeof(struct rc_suite),
     .child = s_suite_fields},
    {NULL},
};

static int64_t
s_ms(const char *d)
{
    int64_t ms = -1;
    if (d)
        fw_duration_parse(d, &ms);
    return ms;
}

static bool
s_case_ok(const struct alertd_route *root, const struct rc_case *c, char *why, size_t size)
{
    const struct alertd_route *out[16];
    size_t n = alertd_route_match(root, &c->labels, out, 16);
    if (n != c->expect_len) {
        snprintf(why, size, "matched %zu routes, want %zu (first %s)", n, c->expect_len,
                 n ? out[0]->receiver : "-");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const struct rc_expect *e = &c->expect[i];
        const struct alertd_route *r = out[i];
        bool gb = true;
        if (e->group_by_len == 1 && strcmp(e->group_by[0], "...") == 0)
            gb = r->group_by_all;
        else if (r->group_by_all || r->group_by_len != e->group_by_len)
            gb = false;
        else
            for (size_t k = 0; k < r->group_by_len; k++)
                gb = gb && strcmp(r->group_by[k], e->group_by[k]) == 0;
        if (strcmp(r->receiver, e->receiver) != 0 || !gb ||
            r->group_wait_ms != s_ms(e->group_wait) ||
            r->group_interval_ms != s_ms(e->group_interval) ||
            r->repeat_interval_ms != s_ms(e->repeat_interval)) {
            snprintf(why, size, "route %zu: got receiver %s wait %lld interval %lld repeat %lld", i,
                     r->receiver, (long long)r->group_wait_ms, (long long)r->group_interval_ms,
                     (long long)r->repeat_interval_ms);
            return false;
        }
    }
    return true;
}

START_TEST(test_alertd_route_conformance_cases)
{
    const char *shared = getenv("SHARED") ? getenv("SHARED") : "../shared";
    char *path = fw_asprintf("%s/conformance/alertmanager-routing/routing-cases.yml", shared);
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("alertd_route conformance: SKIP, %s not found (set SHARED)\n", path);
        free(path);
        return;
    }
    fclose(f);
    struct rc_file file = {0};
    struct fw_cfg_errors errs = {0};
    int rc = fw_cfg_load(path, NULL, s_file_fields, &file, &errs);
    ck_assert_msg(rc == 0, "routing-cases.yml: %s", errs.len ? errs.items[0].msg : "?");
    int total = 0, pass = 0;
    for (size_t s = 0; s < file.suites_len; s++) {
        struct alertd_route *root = alertd_route_build(&file.suites[s].route);
        for (size_t c = 0; c < file.suites[s].cases_len; c++) {
            char why[256];
            total++;
            if (s_case_ok(root, &file.suites[s].cases[c], why, sizeof why))
                pass++;
            else
                printf("alertd_route conformance: FAIL %s/%s: %s\n", file.suites[s].name,
                       file.suites[s].cases[c].name, why);
        }
        alertd_route_destroy(&root);
    }
    printf("alertd_route conformance: %d of %d routing cases pass\n", pass, total);
    fw_cfg_free(s_file_fields, &file);
    free(path);
    ck_assert_int_eq(total, 22);
    ck_assert_int_eq(pass, total);
}
END_TEST

Suite *
alertd_route_suite(void)
{
    Suite *s = suite_create("alertd_route");
    TCase *tc = tcase_create("route");
    tcase_add_test(tc, test_alertd_route_build_and_match);
    tcase_add_test(tc, test_alertd_route_conformance_cases);
    suite_add_tcase(s, tc);
    return s;
}
