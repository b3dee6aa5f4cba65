/*  fuzz_promql.c — the PromQL parser (rule expressions, SLI queries, API queries) on
    arbitrary text: it parses or fails with a position inside the text, and never crashes.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_promql.h"
#include "fuzz_util.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_util_text(data, size);
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(text, &err);
    if (!e && (err.col < 0 || (size_t)err.col > strlen(text) + 1))
        abort(); // the position must point into the query (or just past its end)
    fw_promql_expr_destroy(&e);
    free(text);
    return 0;
}
