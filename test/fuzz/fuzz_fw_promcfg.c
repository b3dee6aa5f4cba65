/*  fuzz_fw_promcfg.c — fw_cfg through prometheus.yml loading, and the secret-masking
    re-emission status endpoints show (fw_secret), on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_promcfg.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    struct fw_promcfg cfg;
    struct fw_cfg_errors errs;
    fw_promcfg_load("fuzz.yml", text, &cfg, &errs);
    fw_promcfg_free(&cfg);
    free(fw_promcfg_shown(text, NULL));
    free(text);
    return 0;
}
