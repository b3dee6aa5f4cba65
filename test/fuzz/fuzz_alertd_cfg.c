/*  fuzz_alertd_cfg.c — alertd's alertmanager.yml loader (fw_cfg with alertd's field tables,
    then its cross-checks and secret masking) on arbitrary text; a config that loads is
    also built into a route tree and one label set is routed through it, as alertd does on
    every (re)load. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_cfg.h"
#include "alertd_route.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct alertd_cfg *cfg = alertd_cfg_load("fuzz.yml", text, &errs);
    if (cfg) {
        struct alertd_route *tree = alertd_route_build(&cfg->route);
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_set(&l, "alertname", "LineOEELow");
        fw_labels_set(&l, "severity", "page");
        fw_labels_set(&l, "v", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        const struct alertd_route *out[16];
        (void)alertd_route_match(tree, &l, out, 16);
        fw_labels_clear(&l);
        alertd_route_destroy(&tree);
        alertd_cfg_destroy(&cfg);
    }
    free(text);
    return 0;
}
