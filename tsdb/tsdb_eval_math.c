/*  tsdb_eval_math.c — the evaluator's shared numerics (see tsdb_eval_int.h), transcribed
    from Prometheus's promql/functions.go and aggregations so results match bit for bit
    where the order of operations is the same.
*/
#include "tsdb_eval_int.h"

#include <math.h>
#include <stdlib.h>

void
tsdb_eval_math_avg_add(struct tsdb_eval_math_avg *a, double v)
{
    a->n += 1;
    if (a->n == 1) {
        a->sum = a->mean = v;
        a->comp = 0;
        a->incremental = false;
        return;
    }
    if (!a->incremental) {
        double c = a->comp;
        double nv = tsdb_eval_math_kahan_inc(v, a->sum, &c);
        if (!isinf(nv)) {
            a->sum = nv;
            a->comp = c;
            return;
        }
        a->incremental = true;
        a->mean = a->sum / (a->n - 1);
        a->comp /= a->n - 1;
    }
    if (isinf(a->mean)) {
        if (isinf(v) && (a->mean > 0) == (v > 0))
            return;
        if (!isinf(v) && !isnan(v))
            return;
    }
    double q = (a->n - 1) / a->n, c = q * a->comp;
    a->mean = tsdb_eval_math_kahan_inc(v / a->n, q * a->mean, &c);
    a->comp = c;
}

double
tsdb_eval_math_avg_result(const struct tsdb_eval_math_avg *a)
{
    return a->incremental ? a->mean + a->comp : (a->sum + a->comp) / a->n;
}

int
tsdb_eval_math_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) ? (isnan(y) ? 0 : -1) : 1;
    return x < y ? -1 : x > y;
}

int
tsdb_eval_math_cmp_nan_last(double x, double y, bool desc)
{
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return desc ? (x > y ? -1 : x < y) : (x < y ? -1 : x > y);
}

double
tsdb_eval_math_quantile(double q, double *vals, size_t n)
{
    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(vals, n, sizeof(double), tsdb_eval_math_dbl_cmp);
    double rank = q * (double)(n - 1);
    size_t lo = (size_t)floor(rank), hi = lo + 1 < n ? lo + 1 : n - 1;
    double w = rank - floor(rank);
    return vals[lo] * (1 - w) + vals[hi] * w;
}

double
tsdb_eval_math_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a > b ? a : b;
}

double
tsdb_eval_math_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a < b ? a : b;
}
