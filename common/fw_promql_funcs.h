/*  fw_promql_funcs.h — PRIVATE to the PromQL parser (fw_promql.c, fw_promql_funcs.c): the
    table of PromQL functions (fw_promql_funcs.def) with their argument and result types.
    Nothing outside those files includes it; the public interface is fw_promql.h and
    fw_promql_ast.h.
*/
#ifndef FW_PROMQL_FUNCS_H
#define FW_PROMQL_FUNCS_H

#include <stdbool.h>

#include "fw_promql_ast.h"

typedef struct {
    const char *name;
    fw_pq_func_t fn;
    fw_pq_type_t args[5];   // the last listed type repeats for variadic functions
    int n_types;            // types listed in args
    int min_args, max_args; // max_args -1: any number
    fw_pq_type_t ret;
} fw_promql_func_info_t;

// The function called name (case-sensitive, as in Prometheus), or NULL if floorwatch does not
// evaluate it. The entry is static: its name may be kept in a syntax tree.
const fw_promql_func_info_t *fw_promql_funcs_find(const char *name);

// Whether name is a Prometheus function floorwatch does not evaluate yet (so the parser says
// "not supported" rather than "unknown function" or evaluating it).
bool fw_promql_funcs_unsupported(const char *name);

#endif
