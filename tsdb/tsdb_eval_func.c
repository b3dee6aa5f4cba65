/*  tsdb_eval_func.c — PromQL function calls (see tsdb_eval_func.h).

    Functions of range vectors read the points the selector or subquery lends them and push
    one element per series; element-wise functions rewrite their argument's vector in place
    and hand it on. Derived label sets are memoised per call node and input set (dropping
    __name__ through the set's own memo), so a range query computes label_replace's regex,
    label_join's value or histogram_quantile's grouping once per series rather than once
    per step. Scratch arrays come from the context's pool.
*/
#include "tsdb_eval_func.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_mem.h"
#include "fw_regex.h"
#include "tsdb_eval_math.h"

#define S_STACK_ARGS 8

// A key for "this node's regex compiled" in the memo (any unique address).
static const char s_regex_ok;

// ---------------------------------------------------------------------------------------
// Functions of range vectors

// Prometheus's extrapolatedRate: rate, increase and delta over the selector's range.
static bool
s_extrapolated(const struct tsdb_eval_ser *s, const fw_promql_expr_t *sel, int64_t range_end,
               bool counter, bool is_rate, double *out)
{
    if (s->len < 2)
        return false;
    int64_t range_start = tsdb_eval_ctx_tsub(range_end, sel->range_ms);
    const struct fw_sample *p = s->pts;
    double result = p[s->len - 1].v - p[0].v;
    if (counter) {
        double prev = p[0].v;
        for (size_t k = 1; k < s->len; k++) {
            if (p[k].v < prev)
                result += prev;
            prev = p[k].v;
        }
    }
    double first_t = (double)p[0].t_ms, last_t = (double)p[s->len - 1].t_ms;
    double to_start = (first_t - (double)range_start) / 1000.0;
    double to_end = ((double)range_end - last_t) / 1000.0;
    double sampled = (last_t - first_t) / 1000.0;
    double avg_step = sampled / (double)(s->len - 1);
    double threshold = avg_step * 1.1;
    double interval = sampled;
    if (to_start >= threshold)
        to_start = avg_step / 2;
    if (counter && result > 0 && p[0].v >= 0) {
        double to_zero = sampled * (p[0].v / result);
        if (to_zero < to_start)
            to_start = to_zero;
    }
    interval += to_start;
    if (to_end >= threshold)
        to_end = avg_step / 2;
    interval += to_end;
    double factor = interval / sampled;
    if (is_rate)
        factor /= (double)sel->range_ms / 1000.0;
    *out = result * factor;
    return true;
}

static bool
s_instant_value(const struct tsdb_eval_ser *s, bool is_rate, double *out)
{
    if (s->len < 2)
        return false;
    const struct fw_sample *last = &s->pts[s->len - 1], *prev = &s->pts[s->len - 2];
    double r;
    if (is_rate && last->v < prev->v)
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

// Prometheus's linearRegression: least squares with x in seconds from intercept_t.
static void
s_linreg(const struct tsdb_eval_ser *s, int64_t intercept_t, double *slope, double *intercept)
{
    double n = 0, sx = 0, sy = 0, sxy = 0, sxx = 0, cx = 0, cy = 0, cxy = 0, cxx = 0;
    double y0 = s->pts[0].v;
    bool const_y = true;
    for (size_t k = 0; k < s->len; k++) {
        double x = ((double)s->pts[k].t_ms - (double)intercept_t) / 1000.0, y = s->pts[k].v;
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

// The value of function fn over one series' points; false when it has none.
static bool
s_over_time(tsdb_eval_ctx_t *c, fw_pq_func_t fn, const struct tsdb_eval_ser *s,
            const fw_promql_expr_t *sel, int64_t t, double param, double **scratch, size_t *cap,
            double *out)
{
    const struct fw_sample *p = s->pts;
    double v = 0;
    switch (fn) {
    case FW_PQ_FN_RATE:
        return s_extrapolated(s, sel, tsdb_eval_ctx_ref(c, sel, t), true, true, out);
    case FW_PQ_FN_INCREASE:
        return s_extrapolated(s, sel, tsdb_eval_ctx_ref(c, sel, t), true, false, out);
    case FW_PQ_FN_DELTA:
        return s_extrapolated(s, sel, tsdb_eval_ctx_ref(c, sel, t), false, false, out);
    case FW_PQ_FN_IRATE: return s_instant_value(s, true, out);
    case FW_PQ_FN_IDELTA: return s_instant_value(s, false, out);
    case FW_PQ_FN_DERIV: {
        if (s->len < 2)
            return false;
        double intercept;
        s_linreg(s, p[0].t_ms, out, &intercept);
        return true;
    }
    case FW_PQ_FN_CHANGES:
        for (size_t i = 1; i < s->len; i++) {
            double a = p[i - 1].v, b = p[i].v;
            if (a != b && !(isnan(a) && isnan(b)))
                v++;
        }
        break;
    case FW_PQ_FN_RESETS:
        for (size_t i = 1; i < s->len; i++)
            if (p[i].v < p[i - 1].v)
                v++;
        break;
    case FW_PQ_FN_AVG_OVER_TIME: {
        if (s_avg_sum(p, s->len, &v))
            break;
        struct tsdb_eval_math_avg a = {0, 0, 0, 0, false};
        for (size_t i = 0; i < s->len; i++)
            tsdb_eval_math_avg_add(&a, p[i].v);
        v = tsdb_eval_math_avg_result(&a);
        break;
    }
    case FW_PQ_FN_SUM_OVER_TIME: {
        double sum = 0, comp = 0;
        for (size_t i = 0; i < s->len; i++)
            sum = tsdb_eval_math_kahan_inc(p[i].v, sum, &comp);
        v = sum + comp;
        break;
    }
    case FW_PQ_FN_MIN_OVER_TIME:
        v = p[0].v;
        for (size_t i = 1; i < s->len; i++)
            if (p[i].v < v || isnan(v))
                v = p[i].v;
        break;
    case FW_PQ_FN_MAX_OVER_TIME:
        v = p[0].v;
        for (size_t i = 1; i < s->len; i++)
            if (p[i].v > v || isnan(v))
                v = p[i].v;
        break;
    case FW_PQ_FN_COUNT_OVER_TIME: v = (double)s->len; break;
    case FW_PQ_FN_STDDEV_OVER_TIME:
    case FW_PQ_FN_STDVAR_OVER_TIME: {
        double n = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
        for (size_t i = 0; i < s->len; i++) {
            n += 1;
            double d = p[i].v - (mean + cmean);
            mean = tsdb_eval_math_kahan_inc(d / n, mean, &cmean);
            aux = tsdb_eval_math_kahan_inc(d * (p[i].v - (mean + cmean)), aux, &caux);
        }
        v = (aux + caux) / n;
        if (fn == FW_PQ_FN_STDDEV_OVER_TIME)
            v = sqrt(v);
        break;
    }
    case FW_PQ_FN_QUANTILE_OVER_TIME:
        tsdb_eval_ctx_grow(c, (void **)scratch, cap, s->len, sizeof(double));
        for (size_t i = 0; i < s->len; i++)
            (*scratch)[i] = p[i].v;
        v = tsdb_eval_math_quantile(param, *scratch, s->len);
        break;
    case FW_PQ_FN_PREDICT_LINEAR: {
        if (s->len < 2)
            return false;
        double slope, intercept;
        s_linreg(s, t, &slope, &intercept);
        v = slope * param + intercept;
        break;
    }
    case FW_PQ_FN_PRESENT_OVER_TIME: v = 1; break;
    case FW_PQ_FN_LAST_OVER_TIME: v = p[s->len - 1].v; break;
    default: return false;
    }
    *out = v;
    return true;
}

static bool
s_is_range_func(fw_pq_func_t fn)
{
    switch (fn) {
    case FW_PQ_FN_RATE:
    case FW_PQ_FN_IRATE:
    case FW_PQ_FN_INCREASE:
    case FW_PQ_FN_DELTA:
    case FW_PQ_FN_IDELTA:
    case FW_PQ_FN_DERIV:
    case FW_PQ_FN_CHANGES:
    case FW_PQ_FN_RESETS:
    case FW_PQ_FN_AVG_OVER_TIME:
    case FW_PQ_FN_MIN_OVER_TIME:
    case FW_PQ_FN_MAX_OVER_TIME:
    case FW_PQ_FN_SUM_OVER_TIME:
    case FW_PQ_FN_COUNT_OVER_TIME:
    case FW_PQ_FN_LAST_OVER_TIME:
    case FW_PQ_FN_PRESENT_OVER_TIME:
    case FW_PQ_FN_STDDEV_OVER_TIME:
    case FW_PQ_FN_STDVAR_OVER_TIME:
    case FW_PQ_FN_QUANTILE_OVER_TIME:
    case FW_PQ_FN_PREDICT_LINEAR: return true;
    default: return false;
    }
}

// A function of one range vector: one element per series that has a value.
static int
s_call_range(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
             const struct tsdb_eval_val *arg, double param, struct tsdb_eval_val *out)
{
    out->type = FW_PQ_VECTOR;
    double *scratch = NULL;
    size_t cap = 0;
    bool keep_name = e->func == FW_PQ_FN_LAST_OVER_TIME;
    for (size_t k = 0; k < arg->mat.len; k++) {
        const struct tsdb_eval_ser *s = &arg->mat.items[k];
        double v;
        if (!s_over_time(c, e->func, s, arg->sel, t, param, &scratch, &cap, &v))
            continue;
        tsdb_eval_ctx_push(c, &out->vec, keep_name ? s->ls : tsdb_eval_ctx_drop_name(c, s->ls), t,
                           v);
    }
    tsdb_eval_ctx_release(c, (void **)&scratch, &cap, sizeof(double));
    return 0;
}

// ---------------------------------------------------------------------------------------
// Element-wise functions

static double
s_round(double v, double to)
{
    double inv = 1.0 / to;
    return floor(v * inv + 0.5) / inv;
}

static double
s_sgn(double v)
{
    if (v > 0)
        return 1;
    if (v < 0)
        return -1;
    return v; // 0, -0, NaN
}

static double
s_date_part(fw_pq_func_t fn, double secs)
{
    if (!isfinite(secs) || fabs(secs) > 1e15)
        return NAN;
    time_t tt = (time_t)floor(secs);
    struct tm tm;
    if (!gmtime_r(&tt, &tm))
        return NAN;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = tm.tm_year + 1900;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    switch (fn) {
    case FW_PQ_FN_YEAR: return y;
    case FW_PQ_FN_MONTH: return tm.tm_mon + 1;
    case FW_PQ_FN_DAY_OF_MONTH: return tm.tm_mday;
    case FW_PQ_FN_DAY_OF_WEEK: return tm.tm_wday;
    case FW_PQ_FN_DAY_OF_YEAR: return tm.tm_yday + 1;
    case FW_PQ_FN_DAYS_IN_MONTH: return mdays[tm.tm_mon] + (tm.tm_mon == 1 && leap);
    case FW_PQ_FN_HOUR: return tm.tm_hour;
    case FW_PQ_FN_MINUTE: return tm.tm_min;
    default: return NAN;
    }
}

// Apply fn to every element of *in in place (dropping __name__, time set to t) and move
// the vector to out.
static int
s_elementwise(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *in,
              double p1, double p2, struct tsdb_eval_val *out)
{
    out->type = FW_PQ_VECTOR;
    if (e->func == FW_PQ_FN_CLAMP && p2 < p1)
        return 0;
    struct tsdb_eval_vec *vec = &in->vec;
    for (size_t k = 0; k < vec->len; k++) {
        struct tsdb_eval_elem *el = &vec->items[k];
        double v = el->v;
        switch (e->func) {
        case FW_PQ_FN_ABS: v = fabs(v); break;
        case FW_PQ_FN_CEIL: v = ceil(v); break;
        case FW_PQ_FN_FLOOR: v = floor(v); break;
        case FW_PQ_FN_SQRT: v = sqrt(v); break;
        case FW_PQ_FN_EXP: v = exp(v); break;
        case FW_PQ_FN_LN: v = log(v); break;
        case FW_PQ_FN_LOG2: v = log2(v); break;
        case FW_PQ_FN_LOG10: v = log10(v); break;
        case FW_PQ_FN_SGN: v = s_sgn(v); break;
        case FW_PQ_FN_ROUND: v = s_round(v, p1); break;
        case FW_PQ_FN_TIMESTAMP: v = (double)el->t / 1000.0; break;
        case FW_PQ_FN_CLAMP: v = tsdb_eval_math_max(p1, tsdb_eval_math_min(p2, v)); break;
        case FW_PQ_FN_CLAMP_MIN: v = tsdb_eval_math_max(p1, v); break;
        case FW_PQ_FN_CLAMP_MAX: v = tsdb_eval_math_min(p1, v); break;
        case FW_PQ_FN_YEAR:
        case FW_PQ_FN_MONTH:
        case FW_PQ_FN_DAY_OF_MONTH:
        case FW_PQ_FN_DAY_OF_WEEK:
        case FW_PQ_FN_DAY_OF_YEAR:
        case FW_PQ_FN_DAYS_IN_MONTH:
        case FW_PQ_FN_HOUR:
        case FW_PQ_FN_MINUTE: v = s_date_part(e->func, v); break;
        default: return tsdb_eval_ctx_fail(c, "function %s is not implemented", e->func_name);
        }
        el->ls = tsdb_eval_ctx_drop_name(c, el->ls);
        el->t = t;
        el->v = v;
    }
    out->vec = *vec;
    memset(vec, 0, sizeof(*vec));
    return 0;
}

// ---------------------------------------------------------------------------------------
// absent, histogram_quantile, label_replace, label_join, sort

// absent()/absent_over_time(): one element labelled from the argument's equality matchers.
static void
s_absent(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *out)
{
    const fw_promql_expr_t *a = e->args[0];
    while (a->kind == FW_PQ_PAREN)
        a = a->args[0];
    struct fw_labels v = tsdb_eval_ctx_view(c, a->kind == FW_PQ_SELECTOR ? a->n_matchers : 0);
    if (a->kind == FW_PQ_SELECTOR) {
        for (size_t k = 0; k < a->n_matchers; k++) {
            const struct fw_matcher *m = &a->matchers[k];
            if (m->op != FW_MATCH_EQ || strcmp(m->name, "__name__") == 0)
                continue;
            bool dup = false;
            for (size_t j = 0; j < a->n_matchers; j++)
                if (j != k && strcmp(a->matchers[j].name, m->name) == 0)
                    dup = true;
            if (!dup)
                tsdb_eval_ctx_view_set(&v, m->name, m->value);
        }
    }
    tsdb_eval_ctx_push(c, &out->vec, tsdb_eval_ctx_intern(c, &v), t, 1);
}

struct s_bucket {
    size_t group;
    double le, count;
};

static int
s_bucket_cmp(const void *a, const void *b)
{
    double x = ((const struct s_bucket *)a)->le, y = ((const struct s_bucket *)b)->le;
    return x < y ? -1 : x > y;
}

// Prometheus's bucketQuantile over classic `le` buckets (sorted and coalesced here).
static double
s_bucket_quantile(double q, struct s_bucket *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    bool nan_le = false;
    for (size_t k = 0; k < n; k++)
        nan_le |= isnan(b[k].le);
    if (n <= 64 && !nan_le) {
        // insertion sort (stable, as glibc's qsort): the buckets of a group come in the
        // same order at every step, usually sorted already or nearly
        for (size_t k = 1; k < n; k++) {
            struct s_bucket x = b[k];
            size_t j = k;
            for (; j > 0 && b[j - 1].le > x.le; j--)
                b[j] = b[j - 1];
            b[j] = x;
        }
    } else {
        qsort(b, n, sizeof(*b), s_bucket_cmp);
    }
    if (n == 0 || !isinf(b[n - 1].le) || b[n - 1].le < 0)
        return NAN;
    size_t w = 0; // coalesce equal bounds
    for (size_t k = 0; k < n; k++) {
        if (w > 0 && b[w - 1].le == b[k].le)
            b[w - 1].count += b[k].count;
        else
            b[w++] = b[k];
    }
    n = w;
    for (size_t k = 1; k < n; k++) // force monotonic counts
        if (b[k].count < b[k - 1].count)
            b[k].count = b[k - 1].count;
    if (n < 2)
        return NAN;
    double obs = b[n - 1].count;
    if (obs == 0)
        return NAN;
    double rank = q * obs;
    size_t i = 0;
    while (i < n - 1 && b[i].count < rank)
        i++;
    if (i == n - 1)
        return b[n - 2].le;
    if (i == 0 && b[0].le <= 0)
        return b[0].le;
    double start = 0, end = b[i].le, count = b[i].count;
    if (i > 0) {
        start = b[i - 1].le;
        count -= b[i - 1].count;
        rank -= b[i - 1].count;
    }
    return start + (end - start) * (rank / count);
}

// The set's "le" bound, parsed once per set: false when absent or not a number.
static bool
s_le(const struct tsdb_eval_lset *ls, double *le)
{
    struct tsdb_eval_lset *m = (struct tsdb_eval_lset *)ls; // the memo fields only
    if (m->le_state == 0) {
        const char *s = fw_labels_get(&ls->labels, "le");
        char *end;
        m->le_state = -1;
        if (s) {
            double b = strtod(s, &end);
            if (end != s && !*end) {
                m->le = b;
                m->le_state = 1;
            }
        }
    }
    *le = m->le;
    return m->le_state == 1;
}

static int
s_histogram_quantile(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, double q,
                     const struct tsdb_eval_vec *in, int64_t t, struct tsdb_eval_val *out)
{
    struct s_bucket *b = NULL, *sorted = NULL;
    size_t nb = 0, cap_b = 0, cap_s = 0, ng = 0, cap_g = 0, cap_off = 0;
    const struct tsdb_eval_lset **groups = NULL;
    size_t *off = NULL;
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(c, &tab, 16);
    for (size_t k = 0; k < in->len; k++) {
        const struct tsdb_eval_elem *el = &in->items[k];
        double le;
        if (!s_le(el->ls, &le))
            continue;
        const struct tsdb_eval_lset *g = tsdb_eval_ctx_memo_get(c, e, el->ls, NULL);
        if (!g) {
            struct fw_labels v = tsdb_eval_ctx_view(c, el->ls->labels.len);
            for (size_t j = 0; j < el->ls->labels.len; j++) {
                const char *nm = el->ls->labels.items[j].name;
                if (strcmp(nm, "le") != 0 && strcmp(nm, "__name__") != 0)
                    v.items[v.len++] = el->ls->labels.items[j];
            }
            g = tsdb_eval_ctx_intern(c, &v);
            tsdb_eval_ctx_memo_put(c, e, el->ls, NULL, g);
        }
        size_t gi = tsdb_eval_ctx_tab_get(&tab, g);
        if (gi == SIZE_MAX) {
            gi = ng++;
            tsdb_eval_ctx_grow(c, (void **)&groups, &cap_g, ng, sizeof(*groups));
            groups[gi] = g;
            tsdb_eval_ctx_tab_put(c, &tab, g, gi);
        }
        tsdb_eval_ctx_grow(c, (void **)&b, &cap_b, nb + 1, sizeof(*b));
        b[nb++] = (struct s_bucket){gi, le, el->v};
    }
    // each group's buckets together, in input order (a counting sort by group)
    tsdb_eval_ctx_grow(c, (void **)&off, &cap_off, ng + 1, sizeof(*off));
    memset(off, 0, (ng + 1) * sizeof(*off));
    for (size_t k = 0; k < nb; k++)
        off[b[k].group + 1]++;
    for (size_t g = 0; g < ng; g++)
        off[g + 1] += off[g];
    tsdb_eval_ctx_grow(c, (void **)&sorted, &cap_s, nb, sizeof(*sorted));
    for (size_t k = 0; k < nb; k++)
        sorted[off[b[k].group]++] = b[k];
    out->type = FW_PQ_VECTOR;
    size_t from = 0;
    for (size_t g = 0; g < ng; g++) {
        size_t to = off[g]; // after the scatter, off[g] is the end of group g
        tsdb_eval_ctx_push(c, &out->vec, groups[g], t,
                           s_bucket_quantile(q, sorted + from, to - from));
        from = to;
    }
    tsdb_eval_ctx_tab_free(c, &tab);
    tsdb_eval_ctx_release(c, (void **)&b, &cap_b, sizeof(*b));
    tsdb_eval_ctx_release(c, (void **)&sorted, &cap_s, sizeof(*sorted));
    tsdb_eval_ctx_release(c, (void **)&groups, &cap_g, sizeof(*groups));
    tsdb_eval_ctx_release(c, (void **)&off, &cap_off, sizeof(*off));
    return 0;
}

static int
s_label_replace(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, struct tsdb_eval_val *in,
                const char *dst, const char *repl, const char *src, const char *regex,
                struct tsdb_eval_val *out)
{
    fw_regex_t *re = NULL;
    if (!tsdb_eval_ctx_memo_get(c, e, &s_regex_ok, NULL)) {
        if (!fw_label_name_valid(dst))
            return tsdb_eval_ctx_fail(c, "invalid destination label name in label_replace(): %s",
                                      dst);
        fw_err_t rerr;
        if (!(re = fw_regex_new(regex, FW_REGEX_PROMETHEUS, &rerr)))
            return tsdb_eval_ctx_fail(c, "invalid regular expression in label_replace(): %s",
                                      regex);
        tsdb_eval_ctx_memo_put(c, e, &s_regex_ok, NULL, tsdb_eval_ctx_empty(c));
    }
    struct tsdb_eval_vec *vec = &in->vec;
    for (size_t k = 0; k < vec->len; k++) {
        struct tsdb_eval_elem *el = &vec->items[k];
        const struct tsdb_eval_lset *r = tsdb_eval_ctx_memo_get(c, e, el->ls, NULL);
        if (!r) {
            if (!re)
                re = fw_regex_new(regex, FW_REGEX_PROMETHEUS, &(fw_err_t){0});
            char *res = NULL;
            r = el->ls;
            // Go's FindStringSubmatchIndex + ExpandString, as Prometheus's label_replace.
            if (re && fw_regex_replace(re, fw_labels_get(&el->ls->labels, src), repl, &res)) {
                struct fw_labels v = tsdb_eval_ctx_view(c, el->ls->labels.len);
                memcpy(v.items, el->ls->labels.items, el->ls->labels.len * sizeof(*v.items));
                v.len = el->ls->labels.len;
                tsdb_eval_ctx_view_set(&v, dst, res);
                r = tsdb_eval_ctx_intern(c, &v);
                free(res);
            }
            tsdb_eval_ctx_memo_put(c, e, el->ls, NULL, r);
        }
        el->ls = r;
    }
    fw_regex_destroy(&re);
    out->type = FW_PQ_VECTOR;
    out->vec = *vec;
    memset(vec, 0, sizeof(*vec));
    return 0;
}

static int
s_label_join(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, struct tsdb_eval_val *in,
             const char *dst, const char *sep, const struct tsdb_eval_val *srcs, size_t n_srcs,
             struct tsdb_eval_val *out)
{
    if (!fw_label_name_valid(dst))
        return tsdb_eval_ctx_fail(c, "invalid destination label name in label_join(): %s", dst);
    char *joined = NULL;
    size_t cap = 0;
    struct tsdb_eval_vec *vec = &in->vec;
    for (size_t k = 0; k < vec->len; k++) {
        struct tsdb_eval_elem *el = &vec->items[k];
        const struct tsdb_eval_lset *r = tsdb_eval_ctx_memo_get(c, e, el->ls, NULL);
        if (!r) {
            size_t len = 0;
            tsdb_eval_ctx_grow(c, (void **)&joined, &cap, 1, 1);
            joined[0] = '\0';
            for (size_t j = 0; j < n_srcs; j++) {
                const char *v = fw_labels_get(&el->ls->labels, srcs[j].str ? srcs[j].str : "");
                const char *parts[2] = {j ? sep : "", v ? v : ""};
                for (int q = 0; q < 2; q++) {
                    size_t pl = strlen(parts[q]);
                    tsdb_eval_ctx_grow(c, (void **)&joined, &cap, len + pl + 1, 1);
                    memcpy(joined + len, parts[q], pl + 1);
                    len += pl;
                }
            }
            struct fw_labels v = tsdb_eval_ctx_view(c, el->ls->labels.len);
            memcpy(v.items, el->ls->labels.items, el->ls->labels.len * sizeof(*v.items));
            v.len = el->ls->labels.len;
            tsdb_eval_ctx_view_set(&v, dst, joined);
            r = tsdb_eval_ctx_intern(c, &v);
            tsdb_eval_ctx_memo_put(c, e, el->ls, NULL, r);
        }
        el->ls = r;
    }
    tsdb_eval_ctx_release(c, (void **)&joined, &cap, 1);
    out->type = FW_PQ_VECTOR;
    out->vec = *vec;
    memset(vec, 0, sizeof(*vec));
    return 0;
}

// Elements by value, NaN last either way (Prometheus's sort and sort_desc).
static int
s_elem_cmp_desc(const void *a, const void *b)
{
    return tsdb_eval_math_cmp_nan_last(((const struct tsdb_eval_elem *)a)->v,
                                       ((const struct tsdb_eval_elem *)b)->v, true);
}

static int
s_elem_cmp_asc(const void *a, const void *b)
{
    return tsdb_eval_math_cmp_nan_last(((const struct tsdb_eval_elem *)a)->v,
                                       ((const struct tsdb_eval_elem *)b)->v, false);
}

// ---------------------------------------------------------------------------------------
// Calls

static int
s_dispatch(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *args,
           size_t na, struct tsdb_eval_val *out)
{
    out->type = e->type;
    if (s_is_range_func(e->func)) {
        if (e->func == FW_PQ_FN_QUANTILE_OVER_TIME)
            return s_call_range(c, e, t, &args[1], args[0].scalar, out);
        return s_call_range(c, e, t, &args[0],
                            e->func == FW_PQ_FN_PREDICT_LINEAR ? args[1].scalar : 0, out);
    }
    switch (e->func) {
    case FW_PQ_FN_VECTOR:
        tsdb_eval_ctx_push(c, &out->vec, tsdb_eval_ctx_empty(c), t, args[0].scalar);
        return 0;
    case FW_PQ_FN_SCALAR:
        out->scalar = args[0].vec.len == 1 ? args[0].vec.items[0].v : NAN;
        return 0;
    case FW_PQ_FN_ABSENT:
        if (args[0].vec.len == 0)
            s_absent(c, e, t, out);
        return 0;
    case FW_PQ_FN_ABSENT_OVER_TIME:
        if (args[0].mat.len == 0)
            s_absent(c, e, t, out);
        return 0;
    case FW_PQ_FN_HISTOGRAM_QUANTILE:
        return s_histogram_quantile(c, e, args[0].scalar, &args[1].vec, t, out);
    case FW_PQ_FN_LABEL_REPLACE:
        return s_label_replace(c, e, &args[0], args[1].str, args[2].str, args[3].str, args[4].str,
                               out);
    case FW_PQ_FN_LABEL_JOIN:
        return s_label_join(c, e, &args[0], args[1].str, args[2].str, args + 3, na - 3, out);
    case FW_PQ_FN_SORT:
    case FW_PQ_FN_SORT_DESC:
        out->vec = args[0].vec;
        memset(&args[0].vec, 0, sizeof(args[0].vec));
        qsort(out->vec.items, out->vec.len, sizeof(*out->vec.items),
              e->func == FW_PQ_FN_SORT ? s_elem_cmp_asc : s_elem_cmp_desc);
        return 0;
    default: {
        double p1 = na > 1 ? args[1].scalar : 1, p2 = na > 2 ? args[2].scalar : 0;
        if (e->func >= FW_PQ_FN_YEAR && e->func <= FW_PQ_FN_MINUTE)
            p1 = 0;
        return s_elementwise(c, e, t, &args[0], p1, p2, out);
    }
    }
}

int
tsdb_eval_func_call(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *out)
{
    if (e->func == FW_PQ_FN_TIME) {
        out->type = FW_PQ_SCALAR;
        out->scalar = (double)t / 1000.0;
        return 0;
    }
    size_t na = e->n_args, n_vals = na > 3 ? na : 3;
    struct tsdb_eval_val stack[S_STACK_ARGS], *args = stack;
    size_t cap = 0;
    if (n_vals > S_STACK_ARGS) {
        args = NULL;
        tsdb_eval_ctx_grow(c, (void **)&args, &cap, n_vals, sizeof(*args));
    }
    memset(args, 0, n_vals * sizeof(*args));
    int rc = 0;
    for (size_t k = 0; k < na && rc == 0; k++)
        rc = tsdb_eval_node(c, e->args[k], t, &args[k]);
    if (rc == 0 && na == 0 && e->func >= FW_PQ_FN_YEAR && e->func <= FW_PQ_FN_MINUTE) {
        args[0].type = FW_PQ_VECTOR; // the default argument: vector(time())
        tsdb_eval_ctx_push(c, &args[0].vec, tsdb_eval_ctx_empty(c), t, (double)t / 1000.0);
    }
    if (rc == 0)
        rc = s_dispatch(c, e, t, args, na, out);
    for (size_t k = 0; k < n_vals; k++)
        tsdb_eval_ctx_val_clear(c, &args[k]);
    if (args != stack)
        tsdb_eval_ctx_release(c, (void **)&args, &cap, sizeof(*args));
    return rc;
}
