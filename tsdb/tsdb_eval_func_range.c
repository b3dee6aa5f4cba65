/*  tsdb_eval_func_range.c — the PromQL functions of range vectors (kinds range and keep in
    fw_promql_funcs.def; see tsdb_eval_int.h): rate and its kin, the *_over_time family,
    deriv, predict_linear, double_exponential_smoothing.

    Each gets one series' points (borrowed from a selector's window or a subquery's array)
    and returns its value; nothing here allocates but quantile_over_time and mad_over_time,
    which sort a copy in the caller's pooled scratch buffer.
*/
#include <math.h>
#include <stddef.h>
#include <stdio.h>

#include "fw_gofloat.h"
#include "tsdb_eval_int.h"

// ---------------------------------------------------------------------------------------
// rate, increase, delta, irate, idelta

// ---------------------------------------------------------------------------------------
// anchored and smoothed ranges (Prometheus's extendedRate and pickFirstSampleIndices)

// The first index i in [0, n) with p[i].t_ms > x (or >= x with ge), n when none.
static size_t
s_search(const struct fw_sample *p, size_t n, int64_t x, bool ge)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ge ? p[mid].t_ms >= x : p[mid].t_ms > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

// rate, increase or delta of an anchored or smoothed range: the change from the value at
// the range's start (the sample at or before it; smoothed: interpolated there) to the one
// at its end (smoothed: interpolated), counter resets added in between.
static bool
s_extended(const struct tsdb_eval_fn_range *a, bool counter, bool is_rate, double *out)
{
    const struct fw_sample *f = a->pts;
    const fw_promql_expr_t *sel = a->sel;
    int64_t range_end = tsdb_eval_ctx_ref(a->c, sel, a->t);
    int64_t range_start = tsdb_eval_ctx_tsub(range_end, sel->range_ms);
    size_t last = a->len - 1, first = s_search(f, last, range_start, false);
    first = first > 0 ? first - 1 : 0;
    if (sel->smoothed)
        last = s_search(f, last, range_end, true);
    if (f[last].t_ms <= range_start || (sel->smoothed && f[first].t_ms > range_end))
        return false;
    double left = f[first].v, right = f[last].v;
    if (sel->smoothed && f[first].t_ms < range_start)
        left = tsdb_eval_math_interpolate(&f[first], &f[first + 1], range_start, counter);
    if (sel->smoothed && last > 0 && f[last].t_ms > range_end)
        right = tsdb_eval_math_interpolate(&f[last - 1], &f[last], range_end, counter);
    double result = right - left;
    if (counter) { // resets among the samples strictly inside the range
        ptrdiff_t i = (ptrdiff_t)first + (f[first].t_ms <= range_start);
        ptrdiff_t j = (ptrdiff_t)last - (f[last].t_ms >= range_end);
        double prev = left, correction = 0;
        for (; i <= j; i++) {
            if (f[i].v < prev)
                correction += prev;
            prev = f[i].v;
        }
        if (right < prev)
            correction += prev;
        result += correction;
    }
    if (is_rate)
        result /= (double)sel->range_ms / 1000.0;
    *out = result;
    return true;
}

// Where changes() and resets() start in an anchored range: at the last sample at or before
// the range's start, if any. False when no sample is after the start (nothing to measure).
static bool
s_anchor(const struct tsdb_eval_fn_range *a, size_t *first)
{
    *first = 0;
    const fw_promql_expr_t *sel = a->sel;
    if (sel->kind != FW_PQ_SELECTOR || !sel->anchored)
        return true;
    int64_t range_start = tsdb_eval_ctx_tsub(tsdb_eval_ctx_ref(a->c, sel, a->t), sel->range_ms);
    size_t after = s_search(a->pts, a->len, range_start, false);
    if (after >= a->len)
        return false;
    *first = after > 0 ? after - 1 : 0;
    return true;
}

// ---------------------------------------------------------------------------------------
// start times (Prometheus's start timestamps, use-start-timestamps)

// Whether the sample (t, st) restarted its count after the previous one (prev_t, prev_st):
// its start lies after the previous sample, or on it when the previous sample had a known
// start of its own (a delta series; a cumulative one of unknown start repeats the
// previous timestamp with a previous start of 0 or equal to its time). A start of 0 (none),
// one at or after t (unknown or invalid), or one before the previous sample is no reset.
static bool
s_st_reset(int64_t prev_st, int64_t prev_t, int64_t st, int64_t t)
{
    if (st == 0 || st >= t || st < prev_t)
        return false;
    if (st > prev_t)
        return true;
    if (prev_st > prev_t)
        return false; // an invalid previous start counts as unknown
    return prev_st != 0 && prev_st != prev_t;
}

// Whether a sample's start overlaps the previous sample: before it, and not the previous
// start (a cumulative series keeps its start).
static bool
s_st_overlap(int64_t prev_st, int64_t prev_t, int64_t st)
{
    return st != 0 && st < prev_t && st != prev_st;
}

// rate, increase of a counter whose samples have start times: resets also where a start
// says so, and when the first sample's start lies inside the range, a zero at that start in
// place of the extrapolation to the left (also for a single sample).
static bool
s_extrapolated_st(const struct tsdb_eval_fn_range *a, bool is_rate, double *out)
{
    const struct fw_sample *p = a->pts;
    const int64_t *st = a->st;
    size_t n = a->len;
    int64_t range_end = tsdb_eval_ctx_ref(a->c, a->sel, a->t);
    int64_t range_start = tsdb_eval_ctx_tsub(range_end, a->sel->range_ms);
    double result = p[n - 1].v - p[0].v;
    bool overlap = false;
    for (size_t k = 1; k < n; k++) {
        if (!overlap && s_st_overlap(st[k - 1], p[k - 1].t_ms, st[k])) {
            const char *name = fw_labels_get(&a->ls->labels, "__name__");
            tsdb_eval_ctx_warn(a->c, a->call->args[0],
                               "sample has start time that overlaps with previous sample "
                               "timestamp for metric \"%s\"",
                               name ? name : "");
            overlap = true;
        }
        if (p[k].v < p[k - 1].v || s_st_reset(st[k - 1], p[k - 1].t_ms, st[k], p[k].t_ms))
            result += p[k - 1].v;
    }
    double first_t = (double)p[0].t_ms, last_t = (double)p[n - 1].t_ms;
    double to_start = (first_t - (double)range_start) / 1000.0;
    double to_end = ((double)range_end - last_t) / 1000.0;
    double sampled = (last_t - first_t) / 1000.0;
    double avg_step = n > 1 ? sampled / (double)(n - 1) : 0;
    double threshold = avg_step * 1.1;
    if (st[0] != 0 && st[0] > range_start && st[0] < p[0].t_ms) {
        // a zero at the first sample's start, inside the range (whose start is open)
        to_start = 0;
        sampled = (last_t - (double)st[0]) / 1000.0;
        result += p[0].v;
    } else if (n == 1) {
        return false;
    } else {
        if (to_start >= threshold)
            to_start = avg_step / 2;
        if (result > 0 && p[0].v >= 0) {
            double to_zero = sampled * (p[0].v / result);
            if (to_zero < to_start)
                to_start = to_zero;
        }
    }
    if (to_end >= threshold)
        to_end = avg_step / 2;
    double factor = sampled != 0 ? (sampled + to_start + to_end) / sampled : 1.0;
    if (is_rate)
        factor /= (double)a->sel->range_ms / 1000.0;
    *out = result * factor;
    return true;
}

// Prometheus's extrapolatedRate over the selector's range ending at range_end.
static bool
s_extrapolated(const struct tsdb_eval_fn_range *a, bool counter, bool is_rate, double *out)
{
    if (a->sel->kind == FW_PQ_SELECTOR && (a->sel->anchored || a->sel->smoothed))
        return s_extended(a, counter, is_rate, out);
    if (counter && a->st)
        return s_extrapolated_st(a, is_rate, out);
    if (a->len < 2)
        return false;
    const struct fw_sample *p = a->pts;
    size_t n = a->len;
    double result = p[n - 1].v - p[0].v;
    if (counter) {
        double prev = p[0].v;
        for (size_t k = 1; k < n; k++) {
            if (p[k].v < prev)
                result += prev;
            prev = p[k].v;
        }
    }
    *out = tsdb_eval_fn_extrapolate(result, n, p[0].t_ms, p[0].v, p[n - 1].t_ms,
                                    tsdb_eval_ctx_ref(a->c, a->sel, a->t), a->sel->range_ms,
                                    counter, is_rate);
    return true;
}

double
tsdb_eval_fn_extrapolate(double result, size_t n, int64_t first_t_ms, double first_v,
                         int64_t last_t_ms, int64_t range_end, int64_t range_ms, bool counter,
                         bool is_rate)
{
    int64_t range_start = tsdb_eval_ctx_tsub(range_end, range_ms);
    double first_t = (double)first_t_ms, last_t = (double)last_t_ms;
    double to_start = (first_t - (double)range_start) / 1000.0;
    double to_end = ((double)range_end - last_t) / 1000.0;
    double sampled = (last_t - first_t) / 1000.0;
    double avg_step = sampled / (double)(n - 1);
    double threshold = avg_step * 1.1;
    double interval = sampled;
    if (to_start >= threshold)
        to_start = avg_step / 2;
    if (counter && result > 0 && first_v >= 0) {
        double to_zero = sampled * (first_v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    interval += to_start;
    if (to_end >= threshold)
        to_end = avg_step / 2;
    interval += to_end;
    double factor = interval / sampled;
    if (is_rate)
        factor /= (double)range_ms / 1000.0;
    return result * factor;
}

bool
tsdb_eval_fn_rate(struct tsdb_eval_fn_range *a, double *out)
{
    return s_extrapolated(a, true, true, out);
}

bool
tsdb_eval_fn_increase(struct tsdb_eval_fn_range *a, double *out)
{
    return s_extrapolated(a, true, false, out);
}

bool
tsdb_eval_fn_delta(struct tsdb_eval_fn_range *a, double *out)
{
    return s_extrapolated(a, false, false, out);
}

static bool
s_instant_value(const struct tsdb_eval_fn_range *a, bool is_rate, double *out)
{
    if (a->len < 2)
        return false;
    const struct fw_sample *last = &a->pts[a->len - 1], *prev = &a->pts[a->len - 2];
    bool st_reset =
        a->st && s_st_reset(a->st[a->len - 2], prev->t_ms, a->st[a->len - 1], last->t_ms);
    double r;
    if (is_rate && (last->v < prev->v || st_reset))
        r = last->v;
    else
        r = last->v - prev->v;
    double dt = (double)last->t_ms - (double)prev->t_ms; // exact below 2^53, no overflow
    if (dt == 0)
        return false;
    if (is_rate)
        r /= dt / 1000.0;
    *out = r;
    return true;
}

bool
tsdb_eval_fn_irate(struct tsdb_eval_fn_range *a, double *out)
{
    return s_instant_value(a, true, out);
}

bool
tsdb_eval_fn_idelta(struct tsdb_eval_fn_range *a, double *out)
{
    return s_instant_value(a, false, out);
}

// ---------------------------------------------------------------------------------------
// deriv, predict_linear

// Prometheus's linearRegression: least squares with x in seconds from intercept_t.
static void
s_linreg(const struct fw_sample *p, size_t len, int64_t intercept_t, double *slope,
         double *intercept)
{
    double n = 0, sx = 0, sy = 0, sxy = 0, sxx = 0, cx = 0, cy = 0, cxy = 0, cxx = 0;
    double y0 = p[0].v;
    bool const_y = true;
    for (size_t k = 0; k < len; k++) {
        double x = ((double)p[k].t_ms - (double)intercept_t) / 1000.0, y = p[k].v;
        if (const_y && k > 0 && y != y0)
            const_y = false;
        n += 1;
        sx = tsdb_eval_math_kahan_inc(x, sx, &cx);
        sy = tsdb_eval_math_kahan_inc(y, sy, &cy);
        sxy = tsdb_eval_math_kahan_inc(x * y, sxy, &cxy);
        sxx = tsdb_eval_math_kahan_inc(x * x, sxx, &cxx);
    }
    if (const_y) {
        *slope = isinf(y0) ? NAN : 0;
        *intercept = isinf(y0) ? NAN : y0;
        return;
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sxx += cxx;
    double cov = sxy - sx * sy / n, var = sxx - sx * sx / n;
    *slope = cov / var;
    *intercept = sy / n - *slope * sx / n;
}

bool
tsdb_eval_fn_deriv(struct tsdb_eval_fn_range *a, double *out)
{
    if (a->len < 2)
        return false;
    double intercept;
    s_linreg(a->pts, a->len, a->pts[0].t_ms, out, &intercept);
    return true;
}

bool
tsdb_eval_fn_predict_linear(struct tsdb_eval_fn_range *a, double *out)
{
    if (a->len < 2)
        return false;
    double slope, intercept;
    s_linreg(a->pts, a->len, a->t, &slope, &intercept);
    *out = slope * a->p[0] + intercept;
    return true;
}

// ---------------------------------------------------------------------------------------
// changes, resets

bool
tsdb_eval_fn_changes(struct tsdb_eval_fn_range *a, double *out)
{
    double v = 0;
    size_t first;
    if (!s_anchor(a, &first))
        return false;
    for (size_t i = first + 1; i < a->len; i++) {
        double x = a->pts[i - 1].v, y = a->pts[i].v;
        if (x != y && !(isnan(x) && isnan(y)))
            v++;
    }
    *out = v;
    return true;
}

bool
tsdb_eval_fn_resets(struct tsdb_eval_fn_range *a, double *out)
{
    double v = 0;
    size_t first;
    if (!s_anchor(a, &first))
        return false;
    for (size_t i = first + 1; i < a->len; i++)
        if (a->pts[i].v < a->pts[i - 1].v ||
            (a->st && s_st_reset(a->st[i - 1], a->pts[i - 1].t_ms, a->st[i], a->pts[i].t_ms)))
            v++;
    *out = v;
    return true;
}

// ---------------------------------------------------------------------------------------
// *_over_time

// avg_over_time of p[0..n) (n > 0) while its Kahan sum stays finite, the common case: the
// operations of tsdb_eval_math_avg_add in the same order (so the same bits) without its
// per-sample call and state. False, with *out untouched, once the sum overflows: the
// caller then takes the general path (incremental mean) from the start.
static bool
s_avg_sum(const struct fw_sample *p, size_t n, double *out)
{
    double sum = p[0].v, comp = 0;
    for (size_t i = 1; i < n; i++) {
        double x = p[i].v, t = sum + x;
        if (isinf(t))
            return false;
        comp += fabs(sum) >= fabs(x) ? (sum - t) + x : (x - t) + sum;
        sum = t;
    }
    *out = (sum + comp) / (double)n;
    return true;
}

bool
tsdb_eval_fn_avg_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    if (s_avg_sum(a->pts, a->len, out))
        return true;
    struct tsdb_eval_math_avg m = {0, 0, 0, 0, false};
    for (size_t i = 0; i < a->len; i++)
        tsdb_eval_math_avg_add(&m, a->pts[i].v);
    *out = tsdb_eval_math_avg_result(&m);
    return true;
}

bool
tsdb_eval_fn_sum_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    double sum = 0, comp = 0;
    for (size_t i = 0; i < a->len; i++)
        sum = tsdb_eval_math_kahan_inc(a->pts[i].v, sum, &comp);
    *out = isinf(sum) ? sum : sum + comp;
    return true;
}

// The index of the value max_over_time (or, with min, min_over_time) picks: a NaN is
// replaced by the next value; with ties, the first (or, with last_tie, the last) wins.
static size_t
s_extreme(const struct fw_sample *p, size_t n, bool min, bool last_tie)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++) {
        double v = p[i].v, b = p[best].v;
        bool better = min ? v < b : v > b;
        if (better || isnan(b) || (last_tie && v == b))
            best = i;
    }
    return best;
}

bool
tsdb_eval_fn_max_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = a->pts[s_extreme(a->pts, a->len, false, false)].v;
    return true;
}

bool
tsdb_eval_fn_min_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = a->pts[s_extreme(a->pts, a->len, true, false)].v;
    return true;
}

bool
tsdb_eval_fn_ts_of_max_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = (double)a->pts[s_extreme(a->pts, a->len, false, true)].t_ms / 1000.0;
    return true;
}

bool
tsdb_eval_fn_ts_of_min_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = (double)a->pts[s_extreme(a->pts, a->len, true, true)].t_ms / 1000.0;
    return true;
}

bool
tsdb_eval_fn_count_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = (double)a->len;
    return true;
}

bool
tsdb_eval_fn_present_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    (void)a;
    *out = 1;
    return true;
}

bool
tsdb_eval_fn_first_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = a->pts[0].v;
    return true;
}

bool
tsdb_eval_fn_last_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = a->pts[a->len - 1].v;
    return true;
}

bool
tsdb_eval_fn_ts_of_first_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = (double)a->pts[0].t_ms / 1000.0;
    return true;
}

bool
tsdb_eval_fn_ts_of_last_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = (double)a->pts[a->len - 1].t_ms / 1000.0;
    return true;
}

// Welford's variance with Kahan-compensated mean and sum, as Prometheus's varianceOverTime.
static double
s_variance(const struct fw_sample *p, size_t len)
{
    double n = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
    for (size_t i = 0; i < len; i++) {
        n += 1;
        double d = p[i].v - (mean + cmean);
        mean = tsdb_eval_math_kahan_inc(d / n, mean, &cmean);
        aux = tsdb_eval_math_kahan_inc(d * (p[i].v - (mean + cmean)), aux, &caux);
    }
    return (aux + caux) / n;
}

bool
tsdb_eval_fn_stdvar_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = s_variance(a->pts, a->len);
    return true;
}

bool
tsdb_eval_fn_stddev_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    *out = sqrt(s_variance(a->pts, a->len));
    return true;
}

// The series' values copied into the scratch buffer.
static double *
s_values(struct tsdb_eval_fn_range *a)
{
    tsdb_eval_ctx_grow(a->c, (void **)&a->scratch, &a->scratch_cap, a->len, sizeof(double));
    for (size_t i = 0; i < a->len; i++)
        a->scratch[i] = a->pts[i].v;
    return a->scratch;
}

bool
tsdb_eval_fn_quantile_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    double q = a->p[0];
    char qs[40];
    if (isnan(q) || q < 0 || q > 1)
        tsdb_eval_ctx_warn(a->c, a->call->args[0],
                           "quantile value should be between 0 and 1, got %s",
                           fw_gofloat_format(q, 'g', qs, sizeof(qs)));
    *out = tsdb_eval_math_quantile(a->p[0], s_values(a), a->len);
    return true;
}

// The median absolute deviation (NaN when a value is NaN).
bool
tsdb_eval_fn_mad_over_time(struct tsdb_eval_fn_range *a, double *out)
{
    double *v = s_values(a);
    for (size_t i = 0; i < a->len; i++)
        if (isnan(v[i])) {
            *out = NAN;
            return true;
        }
    double median = tsdb_eval_math_quantile(0.5, v, a->len);
    for (size_t i = 0; i < a->len; i++)
        v[i] = fabs(v[i] - median);
    *out = tsdb_eval_math_quantile(0.5, v, a->len);
    return true;
}

// ---------------------------------------------------------------------------------------
// double_exponential_smoothing (holt_winters)

// Go's %f of v, for error messages.
static const char *
s_go_f(double v, char *buf, size_t size)
{
    if (isnan(v) || isinf(v))
        snprintf(buf, size, "%s", isnan(v) ? "NaN" : v > 0 ? "+Inf" : "-Inf");
    else
        snprintf(buf, size, "%f", v);
    return buf;
}

bool
tsdb_eval_fn_des(struct tsdb_eval_fn_range *a, double *out)
{
    double sf = a->p[0], tf = a->p[1];
    char num[64];
    if (!(sf > 0 && sf < 1)) {
        tsdb_eval_ctx_fail(a->c, "invalid smoothing factor. Expected: 0 < sf < 1, got: %s",
                           s_go_f(sf, num, sizeof(num)));
        return false;
    }
    if (!(tf > 0 && tf < 1)) {
        tsdb_eval_ctx_fail(a->c, "invalid trend factor. Expected: 0 < tf < 1, got: %s",
                           s_go_f(tf, num, sizeof(num)));
        return false;
    }
    if (a->len < 2)
        return false;
    const struct fw_sample *p = a->pts;
    double s0 = 0, s1 = p[0].v, b = p[1].v - p[0].v;
    for (size_t i = 1; i < a->len; i++) {
        double x = sf * p[i].v;
        if (i > 1) // Prometheus's calcTrendValue(i-1, ...): the first trend is b itself
            b = tf * (s1 - s0) + (1 - tf) * b;
        double y = (1 - sf) * (s1 + b);
        s0 = s1;
        s1 = x + y;
    }
    *out = s1;
    return true;
}
