/*  fuzz_ruled_rules.c — ruled's rule-file loader (fw_cfg with the rule tables, every expr
    through the PromQL parser, every label and annotation template through the template
    checker) on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ruled_rules.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct ruled_rulefile rf;
    (void)ruled_rules_load("fuzz.rules.yml", text, &rf, &errs);
    ruled_rules_free(&rf);
    free(text);
    return 0;
}
