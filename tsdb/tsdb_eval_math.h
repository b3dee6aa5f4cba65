/*  tsdb_eval_math.h — the numerics PromQL's functions and aggregations share, as Prometheus
    computes them: Kahan-compensated sums, its mean (which stays finite where a plain sum
    overflows), quantiles, and Go's orderings of floats (NaN first when sorting values,
    last when ranking elements).
*/
#ifndef TSDB_EVAL_MATH_H
#define TSDB_EVAL_MATH_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>

// Add inc to sum with Kahan compensation kept in *comp (Prometheus's kahanSumInc). Inline:
// the functions over time call it once per sample.
static inline double
tsdb_eval_math_kahan_inc(double inc, double sum, double *comp)
{
    double t = sum + inc;
    if (isinf(t))
        *comp = 0;
    else if (fabs(sum) >= fabs(inc))
        *comp += (sum - t) + inc;
    else
        *comp += (inc - t) + sum;
    return t;
}

// Prometheus's mean: a Kahan sum while it stays finite, then an incremental mean, with
// infinities handled so that avg(Inf, 1) is Inf rather than NaN.
struct tsdb_eval_math_avg {
    double sum, comp, mean;
    double n;
    bool incremental;
};

void tsdb_eval_math_avg_add(struct tsdb_eval_math_avg *a, double v);
double tsdb_eval_math_avg_result(const struct tsdb_eval_math_avg *a);

// Prometheus's quantile of vals[0..n) (sorted here, NaN first): NaN for no values or a NaN
// q, -Inf below 0, +Inf above 1, else linear interpolation between the closest ranks.
double tsdb_eval_math_quantile(double q, double *vals, size_t n);

// qsort comparators: doubles ascending with NaN first (Go's slices.Sort).
int tsdb_eval_math_dbl_cmp(const void *a, const void *b);

// Order x and y by value, NaN last either way (Prometheus's sort, sort_desc, topk and
// bottomk): <0, 0 or >0, ascending or, with desc, descending.
int tsdb_eval_math_cmp_nan_last(double x, double y, bool desc);

// Go's math.Max / math.Min: NaN wins.
double tsdb_eval_math_max(double a, double b);
double tsdb_eval_math_min(double a, double b);

#endif
