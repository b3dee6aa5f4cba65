/*  fuzz_slod_cfg.c — slod's SLO spec loader (fw_cfg with slod's tables; both queries of
    every SLO expanded with its window and parsed as PromQL) on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "slod_cfg.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct slod_cfg cfg;
    (void)slod_cfg_load("fuzz.yml", text, &cfg, &errs);
    slod_cfg_free(&cfg);
    free(text);
    return 0;
}
