/*  fuzz_fw_promcfg.c — fw_cfg through prometheus.yml loading, and the secret-masking
    re-emission status endpoints show (fw_secret), on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_promcfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fw_log_init("fuzz", FW_LOG_ERROR, FW_LOG_LOGFMT);
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    struct fw_promcfg cfg;
    struct fw_cfg_errors errs;
    fw_promcfg_load("fuzz.yml", text, &cfg, &errs);
    fw_promcfg_free(&cfg);
    free(fw_promcfg_shown(text, NULL));
    free(text);
    return 0;
}
