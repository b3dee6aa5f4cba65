/*  fuzz_notifyd_cfg.c — notifyd's config loader (fw_cfg with notifyd's tables) on
    arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "notifyd_cfg.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct notifyd_cfg *cfg = notifyd_cfg_load_text("fuzz.yml", text, &errs);
    notifyd_cfg_destroy(&cfg);
    free(text);
    return 0;
}
