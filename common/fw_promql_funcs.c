/*  fw_promql_funcs.c — the parser's view of the PromQL function table (fw_promql_funcs.def):
    names, argument and result types.

    Looked up by name when the parser in fw_promql.c meets a call; the parser then checks the
    argument count and types against the row, with Prometheus's messages. A second list names
    the Prometheus functions that are known but not evaluated, so they get a clear "not
    supported" error rather than "unknown function".
*/
#include "fw_promql_funcs.h"

#include <stddef.h>
#include <string.h>

#define FW_PQ_FUNC(name, id, ret, min, max, kind, impl, ...)                                       \
    {name,                                                                                         \
     FW_PQ_FN_##id,                                                                                \
     {__VA_ARGS__},                                                                                \
     sizeof((fw_pq_type_t[]){__VA_ARGS__}) / sizeof(fw_pq_type_t),                                 \
     min,                                                                                          \
     max,                                                                                          \
     ret},
static const fw_promql_func_info_t s_funcs[] = {
#include "fw_promql_funcs.def"
};
#undef FW_PQ_FUNC

// Prometheus functions floorwatch knows by name but does not evaluate: a clear parse error
// (checked before the table, which describes them all).
static const char *const s_unsupported_funcs[] = {
    NULL, // none now (start_timestamp came with stored start times)
};

const fw_promql_func_info_t *
fw_promql_funcs_find(const char *name)
{
    for (size_t k = 0; k < sizeof(s_funcs) / sizeof(s_funcs[0]); k++)
        if (strcmp(s_funcs[k].name, name) == 0)
            return &s_funcs[k];
    return NULL;
}

bool
fw_promql_funcs_unsupported(const char *name)
{
    for (size_t k = 0; s_unsupported_funcs[k]; k++)
        if (strcmp(s_unsupported_funcs[k], name) == 0)
            return true;
    return false;
}
