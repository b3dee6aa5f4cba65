/*  fuzz_alertd_alerts.c — the body of alertd's POST /api/v2/alerts on arbitrary bytes.

    As the handler does: the body is parsed as JSON (jansson, flags 0), and when it is an
    array each element goes through alertd_alert_parse (API v2 postable alert: labels,
    annotations, startsAt, endsAt, generatorURL) and, when valid, is routed through a route
    tree with regex matchers and merged into an alert store. "now" is fixed so runs repeat.
*/
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_route.h"
#include "alertd_store.h"
#include "fuzz_util.h"

#define S_NOW 1700000000000LL

static const char s_config[] = "route:\n"
                               "  receiver: r\n"
                               "  group_by: [alertname]\n"
                               "  routes:\n"
                               "    - matchers: ['severity=~\"crit|page\"', 'v!~\"(a+)+b|a+\"']\n"
                               "      receiver: r\n"
                               "      continue: true\n"
                               "    - matchers: [alertname=~\".*OEE.*\"]\n"
                               "      receiver: r\n"
                               "receivers:\n"
                               "  - name: r\n";

// The route tree of s_config, as alertd builds it on (re)load.
static struct alertd_route *
s_tree(void)
{
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct alertd_cfg *cfg = alertd_cfg_load("fuzz.yml", s_config, &errs);
    if (!cfg)
        abort(); // the fixed config must load
    struct alertd_route *tree = alertd_route_build(&cfg->route);
    alertd_cfg_destroy(&cfg);
    return tree;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_util_init();
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data, size, 0, &jerr);
    if (!json_is_array(body)) {
        json_decref(body);
        return 0;
    }
    alertd_store_t *store = alertd_store_new();
    struct alertd_route *tree = s_tree();
    size_t i;
    json_t *j;
    json_array_foreach(body, i, j)
    {
        struct alertd_alert a;
        fw_err_t err;
        fw_err_clear(&err);
        if (alertd_alert_parse(j, S_NOW, 5 * 60 * 1000, &a, &err) < 0)
            continue;
        const struct alertd_route *out[16];
        (void)alertd_route_match(tree, &a.labels, out, 16);
        (void)alertd_alert_resolved(&a, S_NOW);
        alertd_store_put(store, &a, S_NOW);
    }
    for (const struct alertd_alert *a = alertd_store_first(store); a;
         a = alertd_store_next(store)) {
        char fp[17], t[64];
        (void)alertd_fp_str(a->fp, fp);
        (void)alertd_time_str(a->ends_at, t, sizeof(t));
    }
    (void)alertd_store_gc(store, S_NOW + 24LL * 3600 * 1000);
    alertd_route_destroy(&tree);
    alertd_store_destroy(&store);
    json_decref(body);
    return 0;
}
