/*  fw_promql_funcs.c — the PromQL function table: names, argument and result types.

    One row per function floorwatch evaluates (fw_pq_func_t in fw_promql_ast.h), looked up by
    name when the parser in fw_promql.c meets a call; the parser then checks the argument count
    and types against the row, with Prometheus's messages. A second list names the Prometheus
    functions that are known but not evaluated yet, so they get a clear "not supported" error.
*/
#include "fw_promql_funcs.h"

#include <stddef.h>
#include <string.h>

static const fw_promql_func_info_t s_funcs[] = {
    {"abs", FW_PQ_FN_ABS, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"ceil", FW_PQ_FN_CEIL, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"floor", FW_PQ_FN_FLOOR, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"sqrt", FW_PQ_FN_SQRT, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"exp", FW_PQ_FN_EXP, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"ln", FW_PQ_FN_LN, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"log2", FW_PQ_FN_LOG2, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"log10", FW_PQ_FN_LOG10, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"sgn", FW_PQ_FN_SGN, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"round", FW_PQ_FN_ROUND, {FW_PQ_VECTOR, FW_PQ_SCALAR}, 1, 2, FW_PQ_VECTOR},
    {"clamp", FW_PQ_FN_CLAMP, {FW_PQ_VECTOR, FW_PQ_SCALAR, FW_PQ_SCALAR}, 3, 3, FW_PQ_VECTOR},
    {"clamp_min", FW_PQ_FN_CLAMP_MIN, {FW_PQ_VECTOR, FW_PQ_SCALAR}, 2, 2, FW_PQ_VECTOR},
    {"clamp_max", FW_PQ_FN_CLAMP_MAX, {FW_PQ_VECTOR, FW_PQ_SCALAR}, 2, 2, FW_PQ_VECTOR},
    {"time", FW_PQ_FN_TIME, {FW_PQ_SCALAR}, 0, 0, FW_PQ_SCALAR},
    {"vector", FW_PQ_FN_VECTOR, {FW_PQ_SCALAR}, 1, 1, FW_PQ_VECTOR},
    {"scalar", FW_PQ_FN_SCALAR, {FW_PQ_VECTOR}, 1, 1, FW_PQ_SCALAR},
    {"timestamp", FW_PQ_FN_TIMESTAMP, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"absent", FW_PQ_FN_ABSENT, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"rate", FW_PQ_FN_RATE, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"irate", FW_PQ_FN_IRATE, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"increase", FW_PQ_FN_INCREASE, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"delta", FW_PQ_FN_DELTA, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"idelta", FW_PQ_FN_IDELTA, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"deriv", FW_PQ_FN_DERIV, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"changes", FW_PQ_FN_CHANGES, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"resets", FW_PQ_FN_RESETS, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"avg_over_time", FW_PQ_FN_AVG_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"min_over_time", FW_PQ_FN_MIN_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"max_over_time", FW_PQ_FN_MAX_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"sum_over_time", FW_PQ_FN_SUM_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"count_over_time", FW_PQ_FN_COUNT_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"last_over_time", FW_PQ_FN_LAST_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"present_over_time", FW_PQ_FN_PRESENT_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"absent_over_time", FW_PQ_FN_ABSENT_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"stddev_over_time", FW_PQ_FN_STDDEV_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"stdvar_over_time", FW_PQ_FN_STDVAR_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"quantile_over_time",
     FW_PQ_FN_QUANTILE_OVER_TIME,
     {FW_PQ_SCALAR, FW_PQ_MATRIX},
     2,
     2,
     FW_PQ_VECTOR},
    {"predict_linear", FW_PQ_FN_PREDICT_LINEAR, {FW_PQ_MATRIX, FW_PQ_SCALAR}, 2, 2, FW_PQ_VECTOR},
    {"histogram_quantile",
     FW_PQ_FN_HISTOGRAM_QUANTILE,
     {FW_PQ_SCALAR, FW_PQ_VECTOR},
     2,
     2,
     FW_PQ_VECTOR},
    {"label_replace",
     FW_PQ_FN_LABEL_REPLACE,
     {FW_PQ_VECTOR, FW_PQ_STRING, FW_PQ_STRING, FW_PQ_STRING, FW_PQ_STRING},
     5,
     5,
     FW_PQ_VECTOR},
    {"label_join",
     FW_PQ_FN_LABEL_JOIN,
     {FW_PQ_VECTOR, FW_PQ_STRING, FW_PQ_STRING, FW_PQ_STRING},
     3,
     -1,
     FW_PQ_VECTOR},
    {"sort", FW_PQ_FN_SORT, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"sort_desc", FW_PQ_FN_SORT_DESC, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"year", FW_PQ_FN_YEAR, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"month", FW_PQ_FN_MONTH, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"day_of_month", FW_PQ_FN_DAY_OF_MONTH, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"day_of_week", FW_PQ_FN_DAY_OF_WEEK, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"day_of_year", FW_PQ_FN_DAY_OF_YEAR, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"days_in_month", FW_PQ_FN_DAYS_IN_MONTH, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"hour", FW_PQ_FN_HOUR, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"minute", FW_PQ_FN_MINUTE, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
};

// Prometheus functions we know by name but do not evaluate yet: a clear parse error.
static const char *const s_unsupported_funcs[] = {
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "cos",
    "cosh",
    "count_values",
    "deg",
    "histogram_count",
    "histogram_sum",
    "histogram_fraction",
    "histogram_avg",
    "histogram_stddev",
    "histogram_stdvar",
    "holt_winters",
    "pi",
    "rad",
    "sin",
    "sinh",
    "sort_by_label",
    "sort_by_label_desc",
    "tan",
    "tanh",
    "double_exponential_smoothing",
    "mad_over_time",
    "first_over_time",
    "limitk",
    "limit_ratio",
    "info",
    NULL,
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
