/*  tsdb_eval_func_elem.c — the element-wise PromQL functions (kind elem in
    fw_promql_funcs.def; see tsdb_eval_int.h): math, trigonometry, clamping, rounding and
    the date functions. Each maps one element's value, given the call's scalar arguments,
    as Prometheus's promql/functions.go does (Go's math package has the same C99 meanings).
*/
#include <math.h>
#include <time.h>

#include "tsdb_eval_int.h"

#define S_PI 3.14159265358979323846264338327950288 // Go's math.Pi

// A function of the value alone: tsdb_eval_fn_<name> computing expr from x.
#define S_SIMPLE(name, expr)                                                                       \
    bool tsdb_eval_fn_##name(double *v, const double *p)                                           \
    {                                                                                              \
        (void)p;                                                                                   \
        double x = *v;                                                                             \
        *v = (expr);                                                                               \
        return true;                                                                               \
    }

S_SIMPLE(abs, fabs(x))
S_SIMPLE(ceil, ceil(x))
S_SIMPLE(floor, floor(x))
S_SIMPLE(sqrt, sqrt(x))
S_SIMPLE(exp, exp(x))
S_SIMPLE(ln, log(x))
S_SIMPLE(log2, log2(x))
S_SIMPLE(log10, log10(x))
S_SIMPLE(sin, sin(x))
S_SIMPLE(cos, cos(x))
S_SIMPLE(tan, tan(x))
S_SIMPLE(asin, asin(x))
S_SIMPLE(acos, acos(x))
S_SIMPLE(atan, atan(x))
S_SIMPLE(sinh, sinh(x))
S_SIMPLE(cosh, cosh(x))
S_SIMPLE(tanh, tanh(x))
S_SIMPLE(asinh, asinh(x))
S_SIMPLE(acosh, acosh(x))
S_SIMPLE(atanh, atanh(x))
S_SIMPLE(rad, x *S_PI / 180)
S_SIMPLE(deg, x * 180 / S_PI)
S_SIMPLE(sgn, x > 0 ? 1 : x < 0 ? -1 : x) // 0, -0 and NaN stay

// round(v, to): to the nearest multiple of to (default 1), halves up.
bool
tsdb_eval_fn_round(double *v, const double *p)
{
    double inv = 1.0 / p[0];
    *v = floor(*v * inv + 0.5) / inv;
    return true;
}

// clamp(v, min, max): nothing at all when max < min.
bool
tsdb_eval_fn_clamp(double *v, const double *p)
{
    if (p[1] < p[0])
        return false;
    *v = tsdb_eval_math_max(p[0], tsdb_eval_math_min(p[1], *v));
    return true;
}

bool
tsdb_eval_fn_clamp_min(double *v, const double *p)
{
    *v = tsdb_eval_math_max(p[0], *v);
    return true;
}

bool
tsdb_eval_fn_clamp_max(double *v, const double *p)
{
    *v = tsdb_eval_math_min(p[0], *v);
    return true;
}

// The functions of native histograms over a float sample: nothing, as in Prometheus.
bool
tsdb_eval_fn_none(double *v, const double *p)
{
    (void)v;
    (void)p;
    return false;
}

// ---------------------------------------------------------------------------------------
// Dates: the value is seconds since the epoch, read as Go's time.Unix(int64(v), 0) in UTC

static bool
s_tm(double secs, struct tm *tm)
{
    if (!isfinite(secs) || fabs(secs) > 1e15)
        return false;
    time_t tt = (time_t)secs; // truncated toward zero, as Go's int64(v)
    return gmtime_r(&tt, tm) != NULL;
}

// A date function: tsdb_eval_fn_<name> computing expr from the struct tm tm.
#define S_DATE(name, expr)                                                                         \
    bool tsdb_eval_fn_##name(double *v, const double *p)                                           \
    {                                                                                              \
        (void)p;                                                                                   \
        struct tm tm;                                                                              \
        *v = s_tm(*v, &tm) ? (double)(expr) : NAN;                                                 \
        return true;                                                                               \
    }

static int
s_days_in_month(const struct tm *tm)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = tm->tm_year + 1900;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return mdays[tm->tm_mon] + (tm->tm_mon == 1 && leap);
}

S_DATE(year, tm.tm_year + 1900)
S_DATE(month, tm.tm_mon + 1)
S_DATE(day_of_month, tm.tm_mday)
S_DATE(day_of_week, tm.tm_wday)
S_DATE(day_of_year, tm.tm_yday + 1)
S_DATE(days_in_month, s_days_in_month(&tm))
S_DATE(hour, tm.tm_hour)
S_DATE(minute, tm.tm_min)
