/*  tsdb_eval.c — PromQL evaluation over tsdb_store (see tsdb_eval.h).

    A tree walk: s_eval() turns a node into a value (scalar, string, instant vector,
    range vector) at one timestamp. Selectors are served from a per-query cache filled on
    first use with every matching series and its samples over the whole query window, so
    a range query reads LMDB once per selector rather than once per step. Vector matching
    (binary operators, aggregation groups, range-query merging) hashes label sets or
    matching signatures into small open-addressing tables.

    Error policy: evaluation errors (many-to-many matching, duplicate output series) set
    ctx->rc = -1 with a message in err; a passed deadline FW_ETIMEOUT; storage FW_ESTORE.
    Everything allocated for a step is freed before the next one.
*/
#include "tsdb_eval.h"

#include <ctype.h>
#include <math.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_time.h"

// ---------------------------------------------------------------------------------------
// Values

typedef struct {
    struct fw_labels labels; // owned
    int64_t t;               // sample time (timestamp()); eval time for computed elements
    double v;
} s_elem_t;

typedef struct {
    s_elem_t *items;
    size_t len, cap;
} s_vec_t;

typedef struct {
    struct fw_labels labels; // owned
    struct fw_sample *pts;   // owned
    size_t len, cap;
} s_ser_t;

typedef struct {
    s_ser_t *items;
    size_t len, cap;
} s_mat_t;

typedef struct {
    fw_pq_type_t type;
    double scalar;
    char *str;
    s_vec_t vec;
    s_mat_t mat;
    const fw_promql_expr_t *sel; // MATRIX: the selector that produced it (range, offset)
} s_val_t;

typedef struct {
    const fw_promql_expr_t *node;
    struct tsdb_store_series *series; // owned
    size_t n;
    struct {
        struct fw_sample *pts;
        size_t len, cap;
    } * data; // owned, one per series
} s_cache_t;

typedef struct {
    tsdb_store_reader_t *rd; // owned
    int64_t start, end;
    int64_t deadline;
    s_cache_t *cache;
    size_t n_cache, cap_cache;
    fw_err_t *err;
    int rc;
} s_ctx_t;

// Time arithmetic saturates at the ends of int64: any int64 time may come from the API or a
// peer, and offsets and ranges from the query can be as large, so `t - offset - range`
// must not overflow (a window past the ends simply holds no samples).
static int64_t
s_tsub(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_sub_overflow(a, b, &r))
        return b > 0 ? INT64_MIN : INT64_MAX;
    return r;
}

static int64_t
s_tadd(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

// Is there room for another step after t before end (t <= end)? end - t itself can
// exceed INT64_MAX.
static bool
s_step_fits(int64_t t, int64_t end, int64_t step)
{
    return (uint64_t)end - (uint64_t)t >= (uint64_t)step;
}

static void
s_vec_clear(s_vec_t *v)
{
    for (size_t k = 0; k < v->len; k++)
        fw_labels_clear(&v->items[k].labels);
    free(v->items);
    memset(v, 0, sizeof(*v));
}

static void
s_mat_clear(s_mat_t *m)
{
    for (size_t k = 0; k < m->len; k++) {
        fw_labels_clear(&m->items[k].labels);
        free(m->items[k].pts);
    }
    free(m->items);
    memset(m, 0, sizeof(*m));
}

static void
s_val_clear(s_val_t *v)
{
    s_vec_clear(&v->vec);
    s_mat_clear(&v->mat);
    free(v->str);
    memset(v, 0, sizeof(*v));
}

// Append an element taking ownership of *labels (left empty).
static void
s_vec_push(s_vec_t *v, struct fw_labels *labels, int64_t t, double val)
{
    fw_mem_grow((void **)&v->items, &v->cap, v->len + 1, sizeof(s_elem_t));
    s_elem_t *e = &v->items[v->len++];
    e->labels = *labels;
    *labels = (struct fw_labels)FW_LABELS_INIT;
    e->t = t;
    e->v = val;
}

static int s_fail(s_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
s_fail(s_ctx_t *c, const char *fmt, ...)
{
    if (c->rc == 0) {
        c->rc = -1;
        if (c->err) {
            char msg[sizeof(c->err->msg)];
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(msg, sizeof(msg), fmt, ap);
            va_end(ap);
            fw_err_set(c->err, "%s", msg);
        }
    }
    return -1;
}

static int
s_check_deadline(s_ctx_t *c)
{
    if (c->deadline > 0 && fw_time_mono_ms() > c->deadline) {
        if (c->rc == 0) {
            c->rc = FW_ETIMEOUT;
            fw_err_set(c->err, "query timed out in expression evaluation");
        }
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Label-set hash table (open addressing on a precomputed 64-bit hash)

typedef struct {
    uint64_t *hash; // per slot
    size_t *idx;    // per slot: index + 1, 0 = empty
    size_t cap;     // power of two
    size_t used;
} s_tab_t;

static void
s_tab_init(s_tab_t *t, size_t expect)
{
    size_t cap = 16;
    while (cap < expect * 2)
        cap <<= 1;
    t->hash = fw_calloc(cap, sizeof(uint64_t));
    t->idx = fw_calloc(cap, sizeof(size_t));
    t->cap = cap;
    t->used = 0;
}

static void
s_tab_free(s_tab_t *t)
{
    free(t->hash);
    free(t->idx);
    memset(t, 0, sizeof(*t));
}

typedef bool (*s_eq_fn)(size_t idx, const void *key, void *arg);

// Find key (with hash h); returns its index or SIZE_MAX.
static size_t
s_tab_find(const s_tab_t *t, uint64_t h, const void *key, s_eq_fn eq, void *arg)
{
    for (size_t s = h & (t->cap - 1);; s = (s + 1) & (t->cap - 1)) {
        if (t->idx[s] == 0)
            return SIZE_MAX;
        if (t->hash[s] == h && eq(t->idx[s] - 1, key, arg))
            return t->idx[s] - 1;
    }
}

static void
s_tab_put(s_tab_t *t, uint64_t h, size_t index)
{
    if ((t->used + 1) * 2 > t->cap) {
        s_tab_t n;
        s_tab_init(&n, t->cap);
        for (size_t s = 0; s < t->cap; s++)
            if (t->idx[s])
                s_tab_put(&n, t->hash[s], t->idx[s] - 1);
        s_tab_free(t);
        *t = n;
    }
    size_t s = h & (t->cap - 1);
    while (t->idx[s])
        s = (s + 1) & (t->cap - 1);
    t->hash[s] = h;
    t->idx[s] = index + 1;
    t->used++;
}

static uint64_t
s_str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

// ---------------------------------------------------------------------------------------
// Label helpers

static bool
s_in_list(const char *name, char *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (strcmp(list[k], name) == 0)
            return true;
    return false;
}

// Matching signature: labels in `names` (on) or all but `names` and __name__ (ignoring),
// as one string "n\xffv\xfe...". Caller frees.
static char *
s_signature(const struct fw_labels *l, bool on, char *const *names, size_t n)
{
    size_t len = 1;
    for (size_t k = 0; k < l->len; k++)
        len += strlen(l->items[k].name) + strlen(l->items[k].value) + 2;
    char *buf = fw_malloc(len), *p = buf;
    for (size_t k = 0; k < l->len; k++) {
        const char *nm = l->items[k].name;
        bool listed = s_in_list(nm, names, n);
        if (on ? !listed : (listed || strcmp(nm, "__name__") == 0))
            continue;
        size_t a = strlen(nm), b = strlen(l->items[k].value);
        memcpy(p, nm, a);
        p += a;
        *p++ = '\xff';
        memcpy(p, l->items[k].value, b);
        p += b;
        *p++ = '\xfe';
    }
    *p = '\0';
    return buf;
}

static void
s_drop_name(struct fw_labels *l)
{
    fw_labels_del(l, "__name__");
}

// ---------------------------------------------------------------------------------------
// Selectors

static s_cache_t *
s_selector_data(s_ctx_t *c, const fw_promql_expr_t *e)
{
    for (size_t k = 0; k < c->n_cache; k++)
        if (c->cache[k].node == e)
            return &c->cache[k];
    if (s_check_deadline(c) != 0)
        return NULL;
    fw_mem_grow((void **)&c->cache, &c->cap_cache, c->n_cache + 1, sizeof(s_cache_t));
    s_cache_t *sc = &c->cache[c->n_cache];
    memset(sc, 0, sizeof(*sc));
    sc->node = e;
    if (tsdb_store_select(c->rd, e->matchers, e->n_matchers, &sc->series, &sc->n, c->err) != 0) {
        c->rc = FW_ESTORE;
        return NULL;
    }
    c->n_cache++;
    sc->data = fw_calloc(sc->n ? sc->n : 1, sizeof(*sc->data));
    int64_t window = e->range_ms > 0 ? e->range_ms : TSDB_EVAL_LOOKBACK_MS;
    int64_t mint = s_tadd(s_tsub(s_tsub(c->start, e->offset_ms), window), 1);
    int64_t maxt = s_tsub(c->end, e->offset_ms);
    for (size_t k = 0; k < sc->n; k++) {
        if (tsdb_store_samples(c->rd, sc->series[k].id, mint, maxt, &sc->data[k].pts,
                               &sc->data[k].len, &sc->data[k].cap, c->err) != 0) {
            c->rc = FW_ESTORE;
            return NULL;
        }
        if ((k & 255) == 255 && s_check_deadline(c) != 0)
            return NULL;
    }
    return sc;
}

static void
s_cache_free(s_ctx_t *c)
{
    for (size_t k = 0; k < c->n_cache; k++) {
        for (size_t j = 0; j < c->cache[k].n; j++)
            free(c->cache[k].data[j].pts);
        free(c->cache[k].data);
        tsdb_store_series_free(c->cache[k].series, c->cache[k].n);
    }
    free(c->cache);
    c->cache = NULL;
    c->n_cache = c->cap_cache = 0;
}

// Index of the first point with t > x.
static size_t
s_upper(const struct fw_sample *p, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p[mid].t_ms <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int
s_eval_selector(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out)
{
    s_cache_t *sc = s_selector_data(c, e);
    if (!sc)
        return -1;
    int64_t ref = s_tsub(t, e->offset_ms);
    if (e->range_ms == 0) {
        out->type = FW_PQ_VECTOR;
        for (size_t k = 0; k < sc->n; k++) {
            const struct fw_sample *p = sc->data[k].pts;
            size_t i = s_upper(p, sc->data[k].len, ref);
            if (i == 0)
                continue;
            const struct fw_sample *s = &p[i - 1];
            if (s->t_ms <= s_tsub(ref, TSDB_EVAL_LOOKBACK_MS) || fw_is_stale_nan(s->v))
                continue;
            struct fw_labels l = FW_LABELS_INIT;
            fw_labels_copy(&l, &sc->series[k].labels);
            s_vec_push(&out->vec, &l, s->t_ms, s->v);
        }
        return 0;
    }
    out->type = FW_PQ_MATRIX;
    out->sel = e;
    for (size_t k = 0; k < sc->n; k++) {
        const struct fw_sample *p = sc->data[k].pts;
        size_t hi = s_upper(p, sc->data[k].len, ref);
        size_t lo = s_upper(p, sc->data[k].len, s_tsub(ref, e->range_ms));
        s_ser_t ser = {FW_LABELS_INIT, NULL, 0, 0};
        for (size_t i = lo; i < hi; i++) {
            if (fw_is_stale_nan(p[i].v))
                continue;
            fw_mem_grow((void **)&ser.pts, &ser.cap, ser.len + 1, sizeof(struct fw_sample));
            ser.pts[ser.len++] = p[i];
        }
        if (ser.len == 0)
            continue;
        fw_labels_copy(&ser.labels, &sc->series[k].labels);
        fw_mem_grow((void **)&out->mat.items, &out->mat.cap, out->mat.len + 1, sizeof(s_ser_t));
        out->mat.items[out->mat.len++] = ser;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Functions

static double
s_kahan_inc(double inc, double sum, double *comp)
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

// Prometheus's mean: Kahan sum while it stays finite, then an incremental mean, with
// infinities handled so that avg(Inf, 1) is Inf rather than NaN.
typedef struct {
    double sum, comp, mean;
    double n;
    bool incremental;
} s_avg_t;

static void
s_avg_add(s_avg_t *a, double v)
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
        double nv = s_kahan_inc(v, a->sum, &c);
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
    a->mean = s_kahan_inc(v / a->n, q * a->mean, &c);
    a->comp = c;
}

static double
s_avg_result(const s_avg_t *a)
{
    return a->incremental ? a->mean + a->comp : (a->sum + a->comp) / a->n;
}

// Prometheus's extrapolatedRate: rate, increase and delta over the selector's range.
static bool
s_extrapolated(const s_ser_t *s, const fw_promql_expr_t *sel, int64_t t, bool counter, bool is_rate,
               double *out)
{
    if (s->len < 2)
        return false;
    int64_t range_end = s_tsub(t, sel->offset_ms);
    int64_t range_start = s_tsub(range_end, sel->range_ms);
    double result = s->pts[s->len - 1].v - s->pts[0].v;
    if (counter) {
        double prev = s->pts[0].v;
        for (size_t k = 1; k < s->len; k++) {
            if (s->pts[k].v < prev)
                result += prev;
            prev = s->pts[k].v;
        }
    }
    double first_t = (double)s->pts[0].t_ms, last_t = (double)s->pts[s->len - 1].t_ms;
    double to_start = (first_t - (double)range_start) / 1000.0;
    double to_end = ((double)range_end - last_t) / 1000.0;
    double sampled = (last_t - first_t) / 1000.0;
    double avg_step = sampled / (double)(s->len - 1);
    double threshold = avg_step * 1.1;
    double interval = sampled;
    if (to_start >= threshold)
        to_start = avg_step / 2;
    if (counter && result > 0 && s->pts[0].v >= 0) {
        double to_zero = sampled * (s->pts[0].v / result);
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
s_instant_value(const s_ser_t *s, bool is_rate, double *out)
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
s_linreg(const s_ser_t *s, int64_t intercept_t, double *slope, double *intercept)
{
    double n = 0, sx = 0, sy = 0, sxy = 0, sxx = 0, cx = 0, cy = 0, cxy = 0, cxx = 0;
    double y0 = s->pts[0].v;
    bool const_y = true;
    for (size_t k = 0; k < s->len; k++) {
        double x = ((double)s->pts[k].t_ms - (double)intercept_t) / 1000.0, y = s->pts[k].v;
        if (const_y && k > 0 && y != y0)
            const_y = false;
        n += 1;
        sx = s_kahan_inc(x, sx, &cx);
        sy = s_kahan_inc(y, sy, &cy);
        sxy = s_kahan_inc(x * y, sxy, &cxy);
        sxx = s_kahan_inc(x * x, sxx, &cxx);
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

static bool
s_deriv(const s_ser_t *s, double *out)
{
    if (s->len < 2)
        return false;
    double intercept;
    s_linreg(s, s->pts[0].t_ms, out, &intercept);
    return true;
}

static int s_dbl_cmp(const void *a, const void *b);

// Prometheus's quantile over sorted copies of n values (NaN first).
static double
s_quantile(double q, double *vals, size_t n)
{
    if (n == 0 || isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(vals, n, sizeof(double), s_dbl_cmp);
    double rank = q * (double)(n - 1);
    size_t lo = (size_t)floor(rank), hi = lo + 1 < n ? lo + 1 : n - 1;
    double w = rank - floor(rank);
    return vals[lo] * (1 - w) + vals[hi] * w;
}

// A function of one range vector.
static int
s_call_range(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *arg, double param,
             s_val_t *out)
{
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < arg->mat.len; k++) {
        s_ser_t *s = &arg->mat.items[k];
        double v = 0;
        bool ok = true, keep_name = false;
        switch (e->func) {
        case FW_PQ_FN_RATE: ok = s_extrapolated(s, arg->sel, t, true, true, &v); break;
        case FW_PQ_FN_INCREASE: ok = s_extrapolated(s, arg->sel, t, true, false, &v); break;
        case FW_PQ_FN_DELTA: ok = s_extrapolated(s, arg->sel, t, false, false, &v); break;
        case FW_PQ_FN_IRATE: ok = s_instant_value(s, true, &v); break;
        case FW_PQ_FN_IDELTA: ok = s_instant_value(s, false, &v); break;
        case FW_PQ_FN_DERIV: ok = s_deriv(s, &v); break;
        case FW_PQ_FN_CHANGES:
            for (size_t i = 1; i < s->len; i++) {
                double a = s->pts[i - 1].v, b = s->pts[i].v;
                if (a != b && !(isnan(a) && isnan(b)))
                    v++;
            }
            break;
        case FW_PQ_FN_RESETS:
            for (size_t i = 1; i < s->len; i++)
                if (s->pts[i].v < s->pts[i - 1].v)
                    v++;
            break;
        case FW_PQ_FN_AVG_OVER_TIME: {
            s_avg_t a = {0, 0, 0, 0, false};
            for (size_t i = 0; i < s->len; i++)
                s_avg_add(&a, s->pts[i].v);
            v = s_avg_result(&a);
            break;
        }
        case FW_PQ_FN_SUM_OVER_TIME: {
            double sum = 0, comp = 0;
            for (size_t i = 0; i < s->len; i++)
                sum = s_kahan_inc(s->pts[i].v, sum, &comp);
            v = sum + comp;
            break;
        }
        case FW_PQ_FN_MIN_OVER_TIME:
            v = s->pts[0].v;
            for (size_t i = 1; i < s->len; i++)
                if (s->pts[i].v < v || isnan(v))
                    v = s->pts[i].v;
            break;
        case FW_PQ_FN_MAX_OVER_TIME:
            v = s->pts[0].v;
            for (size_t i = 1; i < s->len; i++)
                if (s->pts[i].v > v || isnan(v))
                    v = s->pts[i].v;
            break;
        case FW_PQ_FN_COUNT_OVER_TIME: v = (double)s->len; break;
        case FW_PQ_FN_STDDEV_OVER_TIME:
        case FW_PQ_FN_STDVAR_OVER_TIME: {
            double n = 0, mean = 0, cmean = 0, aux = 0, caux = 0;
            for (size_t i = 0; i < s->len; i++) {
                n += 1;
                double d = s->pts[i].v - (mean + cmean);
                mean = s_kahan_inc(d / n, mean, &cmean);
                aux = s_kahan_inc(d * (s->pts[i].v - (mean + cmean)), aux, &caux);
            }
            v = (aux + caux) / n;
            if (e->func == FW_PQ_FN_STDDEV_OVER_TIME)
                v = sqrt(v);
            break;
        }
        case FW_PQ_FN_QUANTILE_OVER_TIME: {
            double *vals = fw_malloc(s->len * sizeof(double));
            for (size_t i = 0; i < s->len; i++)
                vals[i] = s->pts[i].v;
            v = s_quantile(param, vals, s->len);
            free(vals);
            break;
        }
        case FW_PQ_FN_PREDICT_LINEAR: {
            if (s->len < 2) {
                ok = false;
                break;
            }
            double slope, intercept;
            s_linreg(s, t, &slope, &intercept);
            v = slope * param + intercept;
            break;
        }
        case FW_PQ_FN_PRESENT_OVER_TIME: v = 1; break;
        case FW_PQ_FN_LAST_OVER_TIME:
            v = s->pts[s->len - 1].v;
            keep_name = true;
            break;
        default: return s_fail(c, "function %s is not implemented for range vectors", e->func_name);
        }
        if (!ok)
            continue;
        struct fw_labels l = s->labels;
        s->labels = (struct fw_labels)FW_LABELS_INIT;
        if (!keep_name)
            s_drop_name(&l);
        s_vec_push(&out->vec, &l, t, v);
    }
    return 0;
}

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

static int s_eval(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out);

// Go's math.Max / math.Min: NaN wins.
static double
s_go_max(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a > b ? a : b;
}

static double
s_go_min(double a, double b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a < b ? a : b;
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

// absent()/absent_over_time(): one element labelled from the argument's equality matchers.
static void
s_absent(const fw_promql_expr_t *e, int64_t t, s_val_t *out)
{
    struct fw_labels l = FW_LABELS_INIT;
    const fw_promql_expr_t *a = e->args[0];
    while (a->kind == FW_PQ_PAREN)
        a = a->args[0];
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
                fw_labels_set(&l, m->name, m->value);
        }
    }
    s_vec_push(&out->vec, &l, t, 1);
}

typedef struct {
    double le, count;
} s_bucket_t;

static int
s_bucket_cmp(const void *a, const void *b)
{
    double x = ((const s_bucket_t *)a)->le, y = ((const s_bucket_t *)b)->le;
    return x < y ? -1 : x > y;
}

// Prometheus's bucketQuantile over classic `le` buckets.
static double
s_bucket_quantile(double q, s_bucket_t *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    qsort(b, n, sizeof(*b), s_bucket_cmp);
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

static int
s_histogram_quantile(double q, s_vec_t *in, int64_t t, s_val_t *out)
{
    typedef struct {
        struct fw_labels labels;
        s_bucket_t *b;
        size_t n, cap;
    } hgroup_t;
    hgroup_t *g = NULL;
    size_t ng = 0, cap = 0;
    for (size_t k = 0; k < in->len; k++) {
        const char *le = fw_labels_get(&in->items[k].labels, "le");
        char *end;
        if (!le)
            continue;
        double bound = strtod(le, &end);
        if (end == le || *end)
            continue;
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_copy(&l, &in->items[k].labels);
        fw_labels_del(&l, "le");
        s_drop_name(&l);
        size_t gi;
        for (gi = 0; gi < ng; gi++)
            if (fw_labels_cmp(&g[gi].labels, &l) == 0)
                break;
        if (gi == ng) {
            fw_mem_grow((void **)&g, &cap, ng + 1, sizeof(*g));
            memset(&g[ng], 0, sizeof(*g));
            g[ng].labels = l;
            ng++;
        } else {
            fw_labels_clear(&l);
        }
        fw_mem_grow((void **)&g[gi].b, &g[gi].cap, g[gi].n + 1, sizeof(s_bucket_t));
        g[gi].b[g[gi].n].le = bound;
        g[gi].b[g[gi].n].count = in->items[k].v;
        g[gi].n++;
    }
    out->type = FW_PQ_VECTOR;
    for (size_t gi = 0; gi < ng; gi++) {
        double v = s_bucket_quantile(q, g[gi].b, g[gi].n);
        s_vec_push(&out->vec, &g[gi].labels, t, v);
        free(g[gi].b);
    }
    free(g);
    return 0;
}

static int
s_label_replace(s_ctx_t *c, s_vec_t *in, const char *dst, const char *repl, const char *src,
                const char *regex, s_val_t *out)
{
    if (!fw_label_name_valid(dst))
        return s_fail(c, "invalid destination label name in label_replace(): %s", dst);
    fw_err_t rerr;
    fw_regex_t *re = fw_regex_new(regex, FW_REGEX_PROMETHEUS, &rerr);
    if (!re)
        return s_fail(c, "invalid regular expression in label_replace(): %s", regex);
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < in->len; k++) {
        s_elem_t *el = &in->items[k];
        char *res = NULL;
        // Go's FindStringSubmatchIndex + ExpandString, as Prometheus's label_replace.
        if (fw_regex_replace(re, fw_labels_get(&el->labels, src), repl, &res)) {
            if (*res)
                fw_labels_set(&el->labels, dst, res);
            else
                fw_labels_del(&el->labels, dst);
            free(res);
        }
        s_vec_push(&out->vec, &el->labels, el->t, el->v);
    }
    fw_regex_destroy(&re);
    return 0;
}

static int
s_label_join(s_ctx_t *c, s_vec_t *in, const char *dst, const char *sep, s_val_t *srcs,
             size_t n_srcs, s_val_t *out)
{
    if (!fw_label_name_valid(dst))
        return s_fail(c, "invalid destination label name in label_join(): %s", dst);
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < in->len; k++) {
        s_elem_t *el = &in->items[k];
        size_t cap = 16, len = 0;
        char *joined = fw_malloc(cap);
        joined[0] = '\0';
        for (size_t j = 0; j < n_srcs; j++) {
            const char *v = fw_labels_get(&el->labels, srcs[j].str ? srcs[j].str : "");
            const char *parts[2] = {j ? sep : "", v ? v : ""};
            for (int q = 0; q < 2; q++) {
                size_t pl = strlen(parts[q]);
                fw_mem_grow((void **)&joined, &cap, len + pl + 1, 1);
                memcpy(joined + len, parts[q], pl + 1);
                len += pl;
            }
        }
        if (*joined)
            fw_labels_set(&el->labels, dst, joined);
        else
            fw_labels_del(&el->labels, dst);
        free(joined);
        s_vec_push(&out->vec, &el->labels, el->t, el->v);
    }
    return 0;
}

static int s_elem_cmp_desc(const void *a, const void *b);
static int s_elem_cmp_asc(const void *a, const void *b);

static int
s_call(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out)
{
    if (e->func == FW_PQ_FN_TIME) {
        out->type = FW_PQ_SCALAR;
        out->scalar = (double)t / 1000.0;
        return 0;
    }
    size_t na = e->n_args;
    s_val_t *args = fw_calloc(na > 3 ? na : 3, sizeof(s_val_t));
    int rc = 0;
    for (size_t k = 0; k < na; k++)
        if ((rc = s_eval(c, e->args[k], t, &args[k])) != 0)
            goto out;
    if (na == 0 && e->func >= FW_PQ_FN_YEAR && e->func <= FW_PQ_FN_MINUTE) {
        struct fw_labels none = FW_LABELS_INIT; // default argument: vector(time())
        args[0].type = FW_PQ_VECTOR;
        s_vec_push(&args[0].vec, &none, t, (double)t / 1000.0);
    }
    out->type = e->type;
    switch (e->func) {
    case FW_PQ_FN_VECTOR: {
        struct fw_labels l = FW_LABELS_INIT;
        s_vec_push(&out->vec, &l, t, args[0].scalar);
        break;
    }
    case FW_PQ_FN_SCALAR: out->scalar = args[0].vec.len == 1 ? args[0].vec.items[0].v : NAN; break;
    case FW_PQ_FN_ABSENT:
        if (args[0].vec.len == 0)
            s_absent(e, t, out);
        break;
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
    case FW_PQ_FN_STDVAR_OVER_TIME: rc = s_call_range(c, e, t, &args[0], 0, out); break;
    case FW_PQ_FN_QUANTILE_OVER_TIME:
        rc = s_call_range(c, e, t, &args[1], args[0].scalar, out);
        break;
    case FW_PQ_FN_PREDICT_LINEAR: rc = s_call_range(c, e, t, &args[0], args[1].scalar, out); break;
    case FW_PQ_FN_ABSENT_OVER_TIME:
        if (args[0].mat.len == 0)
            s_absent(e, t, out);
        break;
    case FW_PQ_FN_HISTOGRAM_QUANTILE:
        rc = s_histogram_quantile(args[0].scalar, &args[1].vec, t, out);
        break;
    case FW_PQ_FN_LABEL_REPLACE:
        rc = s_label_replace(c, &args[0].vec, args[1].str, args[2].str, args[3].str, args[4].str,
                             out);
        break;
    case FW_PQ_FN_LABEL_JOIN:
        rc = s_label_join(c, &args[0].vec, args[1].str, args[2].str, args + 3, na - 3, out);
        break;
    case FW_PQ_FN_SORT:
    case FW_PQ_FN_SORT_DESC:
        out->vec = args[0].vec;
        memset(&args[0].vec, 0, sizeof(args[0].vec));
        qsort(out->vec.items, out->vec.len, sizeof(s_elem_t),
              e->func == FW_PQ_FN_SORT ? s_elem_cmp_asc : s_elem_cmp_desc);
        break;
    default: {
        // element-wise functions of an instant vector
        double p1 = e->n_args > 1 ? args[1].scalar : 1, p2 = e->n_args > 2 ? args[2].scalar : 0;
        if (e->func == FW_PQ_FN_CLAMP && p2 < p1)
            break;
        if (e->func >= FW_PQ_FN_YEAR && e->func <= FW_PQ_FN_MINUTE)
            p1 = 0;
        for (size_t k = 0; k < args[0].vec.len; k++) {
            s_elem_t *el = &args[0].vec.items[k];
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
            case FW_PQ_FN_CLAMP: v = s_go_max(p1, s_go_min(p2, v)); break;
            case FW_PQ_FN_CLAMP_MIN: v = s_go_max(p1, v); break;
            case FW_PQ_FN_CLAMP_MAX: v = s_go_min(p1, v); break;
            case FW_PQ_FN_YEAR:
            case FW_PQ_FN_MONTH:
            case FW_PQ_FN_DAY_OF_MONTH:
            case FW_PQ_FN_DAY_OF_WEEK:
            case FW_PQ_FN_DAY_OF_YEAR:
            case FW_PQ_FN_DAYS_IN_MONTH:
            case FW_PQ_FN_HOUR:
            case FW_PQ_FN_MINUTE: v = s_date_part(e->func, v); break;
            default: rc = s_fail(c, "function %s is not implemented", e->func_name); goto out;
            }
            struct fw_labels l = el->labels;
            el->labels = (struct fw_labels)FW_LABELS_INIT;
            s_drop_name(&l);
            s_vec_push(&out->vec, &l, t, v);
        }
        break;
    }
    }
out:
    for (size_t k = 0; k < (na > 3 ? na : 3); k++)
        s_val_clear(&args[k]);
    free(args);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Aggregation

typedef struct {
    struct fw_labels labels; // owned: the group's output labels
    uint64_t hash;
    double v, comp, mean;
    size_t count;
    s_avg_t avg;
    s_vec_t members; // topk/bottomk/quantile: the elements (labels kept)
} s_group_t;

static bool
s_group_eq(size_t idx, const void *key, void *arg)
{
    s_group_t *g = arg;
    return fw_labels_cmp(&g[idx].labels, key) == 0;
}

static int
s_elem_cmp_desc(const void *a, const void *b)
{
    double x = ((const s_elem_t *)a)->v, y = ((const s_elem_t *)b)->v;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return x > y ? -1 : x < y;
}

static int
s_elem_cmp_asc(const void *a, const void *b)
{
    double x = ((const s_elem_t *)a)->v, y = ((const s_elem_t *)b)->v;
    if (isnan(x))
        return isnan(y) ? 0 : 1;
    if (isnan(y))
        return -1;
    return x < y ? -1 : x > y;
}

// NaN sorts first, as Go's slices.Sort does for float64.
static int
s_dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    if (isnan(x) || isnan(y))
        return isnan(x) ? (isnan(y) ? 0 : -1) : 1;
    return x < y ? -1 : x > y;
}

static int
s_aggregate(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out)
{
    s_val_t in = {0}, param = {0};
    if (s_eval(c, e->args[0], t, &in) != 0)
        return -1;
    if (e->param && s_eval(c, e->param, t, &param) != 0) {
        s_val_clear(&in);
        return -1;
    }
    out->type = FW_PQ_VECTOR;
    if ((e->agg == FW_PQ_AGG_TOPK || e->agg == FW_PQ_AGG_BOTTOMK) && isnan(param.scalar)) {
        s_val_clear(&in);
        return s_fail(c, "Parameter value is NaN");
    }
    s_group_t *groups = NULL;
    size_t n_groups = 0, cap = 0;
    s_tab_t tab;
    s_tab_init(&tab, in.vec.len);
    for (size_t k = 0; k < in.vec.len; k++) {
        s_elem_t *el = &in.vec.items[k];
        struct fw_labels gl = FW_LABELS_INIT;
        if (e->without) {
            fw_labels_copy(&gl, &el->labels);
            s_drop_name(&gl);
            for (size_t j = 0; j < e->n_labels; j++)
                fw_labels_del(&gl, e->labels[j]);
        } else {
            for (size_t j = 0; j < e->n_labels; j++) {
                const char *v = fw_labels_get(&el->labels, e->labels[j]);
                if (v)
                    fw_labels_set(&gl, e->labels[j], v);
            }
        }
        char *f = fw_labels_format(&gl);
        uint64_t h = s_str_hash(f);
        free(f);
        size_t gi = s_tab_find(&tab, h, &gl, s_group_eq, groups);
        if (gi == SIZE_MAX) {
            fw_mem_grow((void **)&groups, &cap, n_groups + 1, sizeof(s_group_t));
            gi = n_groups++;
            memset(&groups[gi], 0, sizeof(s_group_t));
            groups[gi].labels = gl;
            groups[gi].hash = h;
            groups[gi].v = el->v;
            s_tab_put(&tab, h, gi);
        } else {
            fw_labels_clear(&gl);
        }
        s_group_t *g = &groups[gi];
        double v = el->v;
        g->count++;
        switch (e->agg) {
        case FW_PQ_AGG_SUM:
            if (g->count == 1) {
                g->v = v;
                g->comp = 0;
            } else {
                g->v = s_kahan_inc(v, g->v, &g->comp);
            }
            break;
        case FW_PQ_AGG_AVG: s_avg_add(&g->avg, v); break;
        case FW_PQ_AGG_MIN:
            if (v < g->v || isnan(g->v))
                g->v = v;
            break;
        case FW_PQ_AGG_MAX:
            if (v > g->v || isnan(g->v))
                g->v = v;
            break;
        case FW_PQ_AGG_STDDEV:
        case FW_PQ_AGG_STDVAR: {
            if (g->count == 1) {
                g->v = 0;
                g->mean = 0;
            }
            double d = v - g->mean;
            g->mean += d / (double)g->count;
            g->v += d * (v - g->mean);
            break;
        }
        case FW_PQ_AGG_TOPK:
        case FW_PQ_AGG_BOTTOMK:
        case FW_PQ_AGG_QUANTILE: {
            struct fw_labels l = el->labels;
            el->labels = (struct fw_labels)FW_LABELS_INIT;
            s_vec_push(&g->members, &l, el->t, v);
            break;
        }
        default: break;
        }
    }
    for (size_t gi = 0; gi < n_groups; gi++) {
        s_group_t *g = &groups[gi];
        double v = g->v;
        switch (e->agg) {
        case FW_PQ_AGG_SUM: v = g->v + g->comp; break;
        case FW_PQ_AGG_AVG: v = s_avg_result(&g->avg); break;
        case FW_PQ_AGG_COUNT: v = (double)g->count; break;
        case FW_PQ_AGG_GROUP: v = 1; break;
        case FW_PQ_AGG_STDVAR: v = g->v / (double)g->count; break;
        case FW_PQ_AGG_STDDEV: v = sqrt(g->v / (double)g->count); break;
        case FW_PQ_AGG_TOPK:
        case FW_PQ_AGG_BOTTOMK: {
            double kf = param.scalar;
            if (isnan(kf) || kf < 1)
                continue;
            size_t k = kf > (double)g->members.len ? g->members.len : (size_t)kf;
            qsort(g->members.items, g->members.len, sizeof(s_elem_t),
                  e->agg == FW_PQ_AGG_TOPK ? s_elem_cmp_desc : s_elem_cmp_asc);
            for (size_t j = 0; j < k; j++)
                s_vec_push(&out->vec, &g->members.items[j].labels, t, g->members.items[j].v);
            continue;
        }
        case FW_PQ_AGG_QUANTILE: {
            double q = param.scalar;
            size_t n = g->members.len;
            double *vals = fw_malloc(n * sizeof(double));
            for (size_t j = 0; j < n; j++)
                vals[j] = g->members.items[j].v;
            qsort(vals, n, sizeof(double), s_dbl_cmp);
            if (isnan(q))
                v = NAN;
            else if (q < 0)
                v = -INFINITY;
            else if (q > 1)
                v = INFINITY;
            else {
                double rank = q * (double)(n - 1);
                size_t lo = (size_t)floor(rank), hi = lo + 1 < n ? lo + 1 : n - 1;
                double w = rank - floor(rank);
                v = vals[lo] * (1 - w) + vals[hi] * w;
            }
            free(vals);
            break;
        }
        default: break;
        }
        s_vec_push(&out->vec, &g->labels, t, v);
    }
    for (size_t gi = 0; gi < n_groups; gi++) {
        fw_labels_clear(&groups[gi].labels);
        s_vec_clear(&groups[gi].members);
    }
    free(groups);
    s_tab_free(&tab);
    s_val_clear(&in);
    s_val_clear(&param);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Binary operators

// Apply op; *keep says whether a comparison holds (always true for arithmetic).
static double
s_binop(fw_pq_binop_t op, double l, double r, bool *keep)
{
    *keep = true;
    switch (op) {
    case FW_PQ_ADD: return l + r;
    case FW_PQ_SUB: return l - r;
    case FW_PQ_MUL: return l * r;
    case FW_PQ_DIV: return l / r;
    case FW_PQ_MOD: return fmod(l, r);
    case FW_PQ_POW: return pow(l, r);
    case FW_PQ_ATAN2: return atan2(l, r);
    case FW_PQ_EQL: *keep = l == r; return l;
    case FW_PQ_NEQ: *keep = l != r; return l;
    case FW_PQ_GTR: *keep = l > r; return l;
    case FW_PQ_LSS: *keep = l < r; return l;
    case FW_PQ_GTE: *keep = l >= r; return l;
    case FW_PQ_LTE: *keep = l <= r; return l;
    default: return NAN;
    }
}

static bool
s_drops_name(const fw_promql_expr_t *e)
{
    return e->return_bool || !fw_promql_binop_is_comparison(e->op);
}

typedef struct {
    char **sigs;
} s_sigtab_arg_t;

static bool
s_sig_eq(size_t idx, const void *key, void *arg)
{
    s_sigtab_arg_t *a = arg;
    return strcmp(a->sigs[idx], key) == 0;
}

static char **
s_sigs(const s_vec_t *v, const fw_promql_expr_t *e)
{
    char **s = fw_calloc(v->len ? v->len : 1, sizeof(char *));
    for (size_t k = 0; k < v->len; k++)
        s[k] = s_signature(&v->items[k].labels, e->on, e->labels, e->n_labels);
    return s;
}

static void
s_sigs_free(char **s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(s[k]);
    free(s);
}

static int
s_vector_set_op(const fw_promql_expr_t *e, s_vec_t *l, s_vec_t *r, s_val_t *out)
{
    char **ls = s_sigs(l, e), **rs = s_sigs(r, e);
    s_tab_t rt, lt;
    s_tab_init(&rt, r->len);
    s_tab_init(&lt, l->len);
    s_sigtab_arg_t ra = {rs}, la = {ls};
    for (size_t k = 0; k < r->len; k++)
        if (s_tab_find(&rt, s_str_hash(rs[k]), rs[k], s_sig_eq, &ra) == SIZE_MAX)
            s_tab_put(&rt, s_str_hash(rs[k]), k);
    for (size_t k = 0; k < l->len; k++)
        if (s_tab_find(&lt, s_str_hash(ls[k]), ls[k], s_sig_eq, &la) == SIZE_MAX)
            s_tab_put(&lt, s_str_hash(ls[k]), k);
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < l->len; k++) {
        bool in_r = s_tab_find(&rt, s_str_hash(ls[k]), ls[k], s_sig_eq, &ra) != SIZE_MAX;
        if (e->op == FW_PQ_OR || (e->op == FW_PQ_AND) == in_r)
            s_vec_push(&out->vec, &l->items[k].labels, l->items[k].t, l->items[k].v);
    }
    if (e->op == FW_PQ_OR)
        for (size_t k = 0; k < r->len; k++)
            if (s_tab_find(&lt, s_str_hash(rs[k]), rs[k], s_sig_eq, &la) == SIZE_MAX)
                s_vec_push(&out->vec, &r->items[k].labels, r->items[k].t, r->items[k].v);
    s_tab_free(&rt);
    s_tab_free(&lt);
    s_sigs_free(ls, l->len);
    s_sigs_free(rs, r->len);
    return 0;
}

typedef struct {
    char **sigs;
    s_vec_t *out;
} s_dup_arg_t;

static bool
s_labels_eq_out(size_t idx, const void *key, void *arg)
{
    s_vec_t *v = arg;
    return fw_labels_cmp(&v->items[idx].labels, key) == 0;
}

static int
s_vector_vector(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_vec_t *lhs, s_vec_t *rhs,
                s_val_t *out)
{
    if (fw_promql_binop_is_set(e->op))
        return s_vector_set_op(e, lhs, rhs, out);
    bool swap = e->card == FW_PQ_CARD_ONE_TO_MANY;
    s_vec_t *many = swap ? rhs : lhs, *one = swap ? lhs : rhs;
    char **ms = s_sigs(many, e), **os = s_sigs(one, e);
    s_tab_t ot, matched, outt;
    s_tab_init(&ot, one->len);
    s_tab_init(&matched, many->len);
    s_tab_init(&outt, many->len);
    s_sigtab_arg_t oa = {os}, ma = {ms};
    int rc = 0;
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < one->len; k++) {
        uint64_t h = s_str_hash(os[k]);
        size_t prev = s_tab_find(&ot, h, os[k], s_sig_eq, &oa);
        if (prev != SIZE_MAX) {
            char *a = fw_labels_format(&one->items[prev].labels);
            char *b = fw_labels_format(&one->items[k].labels);
            rc = s_fail(c,
                        "found duplicate series for the match group on the %s hand-side of "
                        "the operation: [%s, %s];many-to-many matching not allowed: "
                        "matching labels must be unique on one side",
                        swap ? "left" : "right", a, b);
            free(a);
            free(b);
            goto out;
        }
        s_tab_put(&ot, h, k);
    }
    for (size_t k = 0; k < many->len; k++) {
        uint64_t h = s_str_hash(ms[k]);
        size_t oi = s_tab_find(&ot, h, ms[k], s_sig_eq, &oa);
        if (oi == SIZE_MAX)
            continue;
        double vl = many->items[k].v, vr = one->items[oi].v;
        if (swap) {
            double tmp = vl;
            vl = vr;
            vr = tmp;
        }
        // a second match on the many side is an error even when a comparison would drop it
        if (e->card == FW_PQ_CARD_ONE_TO_ONE) {
            if (s_tab_find(&matched, h, ms[k], s_sig_eq, &ma) != SIZE_MAX) {
                rc = s_fail(c, "multiple matches for labels: many-to-one matching must be "
                               "explicit (group_left/group_right)");
                goto out;
            }
            s_tab_put(&matched, h, k);
        }
        bool keep;
        double v = s_binop(e->op, vl, vr, &keep);
        if (e->return_bool) {
            v = keep ? 1 : 0;
            keep = true;
        }
        if (!keep)
            continue;
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_copy(&l, &many->items[k].labels);
        if (s_drops_name(e))
            s_drop_name(&l);
        if (e->card == FW_PQ_CARD_ONE_TO_ONE) {
            if (e->on) {
                struct fw_labels kept = FW_LABELS_INIT;
                for (size_t j = 0; j < l.len; j++)
                    if (s_in_list(l.items[j].name, e->labels, e->n_labels))
                        fw_labels_set(&kept, l.items[j].name, l.items[j].value);
                fw_labels_clear(&l);
                l = kept;
            } else {
                for (size_t j = 0; j < e->n_labels; j++)
                    fw_labels_del(&l, e->labels[j]);
            }
        }
        for (size_t j = 0; j < e->n_include; j++) {
            const char *iv = fw_labels_get(&one->items[oi].labels, e->include[j]);
            if (iv && *iv)
                fw_labels_set(&l, e->include[j], iv);
            else
                fw_labels_del(&l, e->include[j]);
        }
        if (e->card != FW_PQ_CARD_ONE_TO_ONE) {
            char *f = fw_labels_format(&l);
            uint64_t lh = s_str_hash(f);
            free(f);
            if (s_tab_find(&outt, lh, &l, s_labels_eq_out, &out->vec) != SIZE_MAX) {
                fw_labels_clear(&l);
                rc = s_fail(c, "multiple matches for labels: grouping labels must ensure "
                               "unique matches");
                goto out;
            }
            s_tab_put(&outt, lh, out->vec.len);
        }
        s_vec_push(&out->vec, &l, t, v);
    }
out:
    s_tab_free(&ot);
    s_tab_free(&matched);
    s_tab_free(&outt);
    s_sigs_free(ms, many->len);
    s_sigs_free(os, one->len);
    return rc;
}

static int
s_binary(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out)
{
    s_val_t l = {0}, r = {0};
    int rc = -1;
    if (s_eval(c, e->args[0], t, &l) != 0 || s_eval(c, e->args[1], t, &r) != 0)
        goto out;
    rc = 0;
    if (l.type == FW_PQ_SCALAR && r.type == FW_PQ_SCALAR) {
        bool keep;
        double v = s_binop(e->op, l.scalar, r.scalar, &keep);
        if (fw_promql_binop_is_comparison(e->op))
            v = keep ? 1 : 0;
        out->type = FW_PQ_SCALAR;
        out->scalar = v;
    } else if (l.type == FW_PQ_VECTOR && r.type == FW_PQ_VECTOR) {
        rc = s_vector_vector(c, e, t, &l.vec, &r.vec, out);
    } else {
        bool swap = l.type == FW_PQ_SCALAR;
        s_vec_t *vec = swap ? &r.vec : &l.vec;
        double sc = swap ? l.scalar : r.scalar;
        out->type = FW_PQ_VECTOR;
        for (size_t k = 0; k < vec->len; k++) {
            s_elem_t *el = &vec->items[k];
            double lv = swap ? sc : el->v, rv = swap ? el->v : sc;
            bool keep;
            double v = s_binop(e->op, lv, rv, &keep);
            if (fw_promql_binop_is_comparison(e->op) && swap)
                v = rv;
            if (e->return_bool) {
                v = keep ? 1 : 0;
                keep = true;
            }
            if (!keep)
                continue;
            struct fw_labels lb = el->labels;
            el->labels = (struct fw_labels)FW_LABELS_INIT;
            if (s_drops_name(e))
                s_drop_name(&lb);
            s_vec_push(&out->vec, &lb, t, v);
        }
    }
out:
    s_val_clear(&l);
    s_val_clear(&r);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Subqueries

static bool
s_ser_eq(size_t idx, const void *key, void *arg)
{
    s_mat_t *m = arg;
    return fw_labels_cmp(&m->items[idx].labels, key) == 0;
}

static int s_eval(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out);

// The inner expression at every step-aligned time in (t - offset - range, t - offset], as a
// range vector (Prometheus: steps are multiples of the step since the epoch).
static int
s_subquery(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out)
{
    int64_t step = e->step_ms > 0 ? e->step_ms : 60000;
    int64_t end = s_tsub(t, e->offset_ms), from = s_tsub(end, e->range_ms);
    int64_t start = step * (from / step);
    if (start <= from)
        start = s_tadd(start, step);
    // selectors inside see the whole window this subquery can ask for over the query
    int64_t os = c->start, oe = c->end;
    c->start = s_tsub(s_tsub(s_tsub(os, e->offset_ms), e->range_ms), step);
    c->end = s_tsub(oe, e->offset_ms);
    out->type = FW_PQ_MATRIX;
    out->sel = e;
    s_tab_t tab;
    s_tab_init(&tab, 16);
    int rc = 0;
    for (int64_t ts = start; ts <= end; ts += step) {
        s_val_t v;
        if (s_check_deadline(c) != 0 || s_eval(c, e->args[0], ts, &v) != 0) {
            rc = -1;
            break;
        }
        for (size_t k = 0; k < v.vec.len; k++) {
            s_elem_t *el = &v.vec.items[k];
            char *f = fw_labels_format(&el->labels);
            uint64_t h = s_str_hash(f);
            free(f);
            size_t si = s_tab_find(&tab, h, &el->labels, s_ser_eq, &out->mat);
            if (si == SIZE_MAX) {
                fw_mem_grow((void **)&out->mat.items, &out->mat.cap, out->mat.len + 1,
                            sizeof(s_ser_t));
                si = out->mat.len++;
                memset(&out->mat.items[si], 0, sizeof(s_ser_t));
                out->mat.items[si].labels = el->labels;
                el->labels = (struct fw_labels)FW_LABELS_INIT;
                s_tab_put(&tab, h, si);
            }
            s_ser_t *s = &out->mat.items[si];
            fw_mem_grow((void **)&s->pts, &s->cap, s->len + 1, sizeof(struct fw_sample));
            s->pts[s->len].t_ms = ts;
            s->pts[s->len].v = el->v;
            s->len++;
        }
        s_val_clear(&v);
        if (!s_step_fits(ts, end, step))
            break;
    }
    s_tab_free(&tab);
    c->start = os;
    c->end = oe;
    return rc;
}

// ---------------------------------------------------------------------------------------
// Tree walk

static int
s_eval(s_ctx_t *c, const fw_promql_expr_t *e, int64_t t, s_val_t *out)
{
    memset(out, 0, sizeof(*out));
    if (c->rc != 0)
        return -1;
    int rc = 0;
    switch (e->kind) {
    case FW_PQ_NUMBER:
        out->type = FW_PQ_SCALAR;
        out->scalar = e->num;
        break;
    case FW_PQ_STR:
        out->type = FW_PQ_STRING;
        out->str = fw_strdup(e->str);
        break;
    case FW_PQ_PAREN: rc = s_eval(c, e->args[0], t, out); break;
    case FW_PQ_SELECTOR: rc = s_eval_selector(c, e, t, out); break;
    case FW_PQ_NEG:
        rc = s_eval(c, e->args[0], t, out);
        if (rc == 0 && out->type == FW_PQ_SCALAR)
            out->scalar = -out->scalar;
        else if (rc == 0)
            for (size_t k = 0; k < out->vec.len; k++) {
                out->vec.items[k].v = -out->vec.items[k].v;
                s_drop_name(&out->vec.items[k].labels);
            }
        break;
    case FW_PQ_CALL: rc = s_call(c, e, t, out); break;
    case FW_PQ_AGG: rc = s_aggregate(c, e, t, out); break;
    case FW_PQ_BINARY: rc = s_binary(c, e, t, out); break;
    case FW_PQ_SUBQUERY: rc = s_subquery(c, e, t, out); break;
    }
    if (rc != 0 || c->rc != 0) {
        s_val_clear(out);
        if (c->rc == 0)
            c->rc = -1;
        return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Entry points

static int
s_ctx_open(s_ctx_t *c, tsdb_store_t *store, int64_t start, int64_t end, int64_t deadline,
           fw_err_t *err)
{
    memset(c, 0, sizeof(*c));
    c->start = start;
    c->end = end;
    c->deadline = deadline;
    c->err = err;
    c->rd = tsdb_store_reader_new(store, err);
    return c->rd ? 0 : FW_ESTORE;
}

static void
s_ctx_close(s_ctx_t *c)
{
    s_cache_free(c);
    tsdb_store_reader_destroy(&c->rd);
}

static int
s_series_cmp(const void *a, const void *b)
{
    return fw_labels_cmp(&((const struct tsdb_eval_series *)a)->labels,
                         &((const struct tsdb_eval_series *)b)->labels);
}

void
tsdb_eval_result_clear(struct tsdb_eval_result *r)
{
    for (size_t k = 0; k < r->len; k++) {
        fw_labels_clear(&r->series[k].labels);
        free(r->series[k].pts);
    }
    free(r->series);
    free(r->str);
    memset(r, 0, sizeof(*r));
}

static void
s_result_add(struct tsdb_eval_result *out, size_t *cap, struct fw_labels *labels,
             struct fw_sample *pts, size_t n)
{
    fw_mem_grow((void **)&out->series, cap, out->len + 1, sizeof(*out->series));
    struct tsdb_eval_series *s = &out->series[out->len++];
    s->labels = *labels;
    *labels = (struct fw_labels)FW_LABELS_INIT;
    s->pts = pts;
    s->len = s->cap = n;
}

int
tsdb_eval_instant(tsdb_store_t *store, const fw_promql_expr_t *e, int64_t t_ms,
                  int64_t deadline_mono_ms, struct tsdb_eval_result *out, fw_err_t *err)
{
    memset(out, 0, sizeof(*out));
    s_ctx_t c;
    int rc = s_ctx_open(&c, store, t_ms, t_ms, deadline_mono_ms, err);
    if (rc != 0)
        return rc;
    s_val_t v;
    if (s_eval(&c, e, t_ms, &v) != 0) {
        rc = c.rc ? c.rc : -1;
        s_ctx_close(&c);
        return rc;
    }
    out->type = v.type;
    out->t_ms = t_ms;
    size_t cap = 0;
    switch (v.type) {
    case FW_PQ_SCALAR: out->scalar = v.scalar; break;
    case FW_PQ_STRING:
        out->str = v.str;
        v.str = NULL;
        break;
    case FW_PQ_VECTOR:
        for (size_t k = 0; k < v.vec.len; k++) {
            struct fw_sample *p = fw_malloc(sizeof(*p));
            p->t_ms = t_ms;
            p->v = v.vec.items[k].v;
            s_result_add(out, &cap, &v.vec.items[k].labels, p, 1);
        }
        break;
    case FW_PQ_MATRIX:
        for (size_t k = 0; k < v.mat.len; k++) {
            s_ser_t *s = &v.mat.items[k];
            s_result_add(out, &cap, &s->labels, s->pts, s->len);
            s->pts = NULL;
            s->len = 0;
        }
        break;
    }
    s_val_clear(&v);
    s_ctx_close(&c);
    const fw_promql_expr_t *top = e;
    while (top->kind == FW_PQ_PAREN)
        top = top->args[0];
    bool ordered =
        top->kind == FW_PQ_CALL && (top->func == FW_PQ_FN_SORT || top->func == FW_PQ_FN_SORT_DESC);
    if (out->len > 1 && !ordered)
        qsort(out->series, out->len, sizeof(*out->series), s_series_cmp);
    if (!ordered && (out->type == FW_PQ_VECTOR || out->type == FW_PQ_MATRIX))
        for (size_t k = 1; k < out->len; k++)
            if (fw_labels_cmp(&out->series[k - 1].labels, &out->series[k].labels) == 0) {
                fw_err_set(err, "vector cannot contain metrics with the same labelset");
                tsdb_eval_result_clear(out);
                return -1;
            }
    return 0;
}

static bool
s_result_eq(size_t idx, const void *key, void *arg)
{
    struct tsdb_eval_result *r = arg;
    return fw_labels_cmp(&r->series[idx].labels, key) == 0;
}

int
tsdb_eval_range(tsdb_store_t *store, const fw_promql_expr_t *e, int64_t start_ms, int64_t end_ms,
                int64_t step_ms, int64_t deadline_mono_ms, struct tsdb_eval_result *out,
                fw_err_t *err)
{
    memset(out, 0, sizeof(*out));
    if (step_ms <= 0 || end_ms < start_ms) {
        fw_err_set(err, "invalid range");
        return -1;
    }
    s_ctx_t c;
    int rc = s_ctx_open(&c, store, start_ms, end_ms, deadline_mono_ms, err);
    if (rc != 0)
        return rc;
    out->type = FW_PQ_MATRIX;
    size_t cap = 0;
    s_tab_t tab;
    s_tab_init(&tab, 64);
    for (int64_t t = start_ms; t <= end_ms; t += step_ms) {
        if (s_check_deadline(&c) != 0)
            break;
        s_val_t v;
        if (s_eval(&c, e, t, &v) != 0)
            break;
        if (v.type == FW_PQ_SCALAR) {
            struct fw_labels none = FW_LABELS_INIT;
            s_vec_push(&v.vec, &none, t, v.scalar);
        }
        for (size_t k = 0; k < v.vec.len; k++) {
            s_elem_t *el = &v.vec.items[k];
            char *f = fw_labels_format(&el->labels);
            uint64_t h = s_str_hash(f);
            free(f);
            size_t si = s_tab_find(&tab, h, &el->labels, s_result_eq, out);
            if (si == SIZE_MAX) {
                si = out->len;
                s_result_add(out, &cap, &el->labels, NULL, 0);
                s_tab_put(&tab, h, si);
            }
            struct tsdb_eval_series *s = &out->series[si];
            if (s->len > 0 && s->pts[s->len - 1].t_ms == t) {
                s_fail(&c, "vector cannot contain metrics with the same labelset");
                break;
            }
            fw_mem_grow((void **)&s->pts, &s->cap, s->len + 1, sizeof(struct fw_sample));
            s->pts[s->len].t_ms = t;
            s->pts[s->len].v = el->v;
            s->len++;
        }
        s_val_clear(&v);
        if (c.rc != 0)
            break;
        if (!s_step_fits(t, end_ms, step_ms))
            break;
    }
    s_tab_free(&tab);
    rc = c.rc;
    s_ctx_close(&c);
    if (rc != 0) {
        tsdb_eval_result_clear(out);
        return rc;
    }
    if (out->len > 1)
        qsort(out->series, out->len, sizeof(*out->series), s_series_cmp);
    return 0;
}
