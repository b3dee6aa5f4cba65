/*  tsdb_eval_func_hist.c — PromQL's functions of classic histograms (see tsdb_eval_int.h):
    histogram_quantile, histogram_quantiles and histogram_fraction over `le` buckets, as
    Prometheus's promql/quantile.go computes them (BucketQuantile, BucketFraction).

    The input vector is split into histograms: elements whose labels are equal but for `le`
    form one, named by those labels without __name__. The group of an element's label set is
    memoised per call node, so a range query finds it with one lookup after the first step;
    the buckets are gathered in pooled arrays, each histogram's together (a counting sort
    that keeps the input order), then sorted by bound and coalesced.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_gofloat.h"
#include "fw_names.h"
#include "tsdb_eval_int.h"

// Prometheus's smallDeltaTolerance: bucket counts closer than this are taken as equal.
#define S_SMALL_DELTA 1e-12

struct s_bucket {
    size_t group;
    double le, count;
};

// The histograms of one input vector.
struct s_hists {
    const struct tsdb_eval_lset **groups; // output labels per histogram
    const char **names;                   // each histogram's metric name ("" for none)
    size_t n, cap_g, cap_n;
    struct s_bucket *sorted; // every histogram's buckets together, in input order
    size_t *end;             // histogram g's buckets are sorted[end[g-1] .. end[g])
    size_t cap_s, cap_e;
};

// The set's "le" bound, parsed once per set: false when absent or not a number.
static bool
s_le(const struct tsdb_eval_lset *ls, double *le)
{
    struct tsdb_eval_lset *m = (struct tsdb_eval_lset *)ls; // the memo fields only
    if (m->le_state == 0) {
        const char *s = fw_labels_get(&ls->labels, "le");
        char *end;
        m->le_state = -1;
        if (s && *s && *s != ' ') {
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

// Go's %q of s, approximately: quoted, with " and \\ escaped (for annotations).
static void
s_quote(const char *s, char *buf, size_t size)
{
    size_t w = 0;
    buf[w++] = '"';
    for (; *s && w + 4 < size; s++) {
        if (*s == '"' || *s == '\\')
            buf[w++] = '\\';
        buf[w++] = *s;
    }
    buf[w++] = '"';
    buf[w] = '\0';
}

// " for metric name \"m\"" when ls has a name, else "" (annotations' maybeAddMetricName).
static void
s_for_name(const char *name, char *buf, size_t size)
{
    char q[300];
    buf[0] = '\0';
    if (name && *name) {
        s_quote(name, q, sizeof(q));
        snprintf(buf, size, " for metric name %s", q);
    }
}

// Split in (the value of argument arg) into histograms; an element without a numeric le is
// left out with Prometheus's warning.
static void
s_split(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, const fw_promql_expr_t *arg,
        const struct tsdb_eval_vec *in, struct s_hists *h)
{
    struct s_bucket *b = NULL;
    size_t nb = 0, cap_b = 0;
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(c, &tab, 16);
    memset(h, 0, sizeof(*h));
    for (size_t k = 0; k < in->len; k++) {
        const struct tsdb_eval_elem *el = &in->items[k];
        double le;
        if (!s_le(el->ls, &le)) {
            const char *v = fw_labels_get(&el->ls->labels, "le");
            char qv[300], fn[320];
            s_quote(v ? v : "", qv, sizeof(qv));
            s_for_name(fw_labels_get(&el->ls->labels, "__name__"), fn, sizeof(fn));
            tsdb_eval_ctx_warn(
                c, arg, "bucket label \"le\" is missing or has a malformed value of %s%s", qv, fn);
            continue;
        }
        const struct tsdb_eval_lset *g = tsdb_eval_ctx_memo_get(c, e, el->ls, NULL);
        if (!g) {
            struct fw_labels v = tsdb_eval_ctx_view(c, el->ls->labels.len);
            for (size_t j = 0; j < el->ls->labels.len; j++)
                if (strcmp(el->ls->labels.items[j].name, "le") != 0)
                    v.items[v.len++] = el->ls->labels.items[j];
            g = tsdb_eval_ctx_intern(c, &v);
            tsdb_eval_ctx_memo_put(c, e, el->ls, NULL, g);
        }
        size_t gi = tsdb_eval_ctx_tab_get(&tab, g);
        if (gi == SIZE_MAX) {
            gi = h->n++;
            tsdb_eval_ctx_grow(c, (void **)&h->groups, &h->cap_g, h->n, sizeof(*h->groups));
            h->groups[gi] = g;
            tsdb_eval_ctx_tab_put(c, &tab, g, gi);
        }
        tsdb_eval_ctx_grow(c, (void **)&b, &cap_b, nb + 1, sizeof(*b));
        b[nb++] = (struct s_bucket){gi, le, el->v};
    }
    // each histogram's buckets together, in input order (a counting sort by group)
    tsdb_eval_ctx_grow(c, (void **)&h->end, &h->cap_e, h->n + 1, sizeof(*h->end));
    memset(h->end, 0, (h->n + 1) * sizeof(*h->end));
    for (size_t k = 0; k < nb; k++)
        h->end[b[k].group + 1]++;
    for (size_t g = 0; g < h->n; g++)
        h->end[g + 1] += h->end[g];
    tsdb_eval_ctx_grow(c, (void **)&h->sorted, &h->cap_s, nb, sizeof(*h->sorted));
    for (size_t k = 0; k < nb; k++)
        h->sorted[h->end[b[k].group]++] = b[k];
    // now end[g] is where histogram g ends; output labels drop __name__ (now or, delayed,
    // when the query ends: tsdb_eval_ctx_push_unnamed)
    tsdb_eval_ctx_grow(c, (void **)&h->names, &h->cap_n, h->n + 1, sizeof(*h->names));
    for (size_t g = 0; g < h->n; g++) {
        const char *name = fw_labels_get(&h->groups[g]->labels, "__name__");
        h->names[g] = name ? name : "";
    }
    tsdb_eval_ctx_tab_free(c, &tab);
    tsdb_eval_ctx_release(c, (void **)&b, &cap_b, sizeof(*b));
}

static void
s_hists_free(tsdb_eval_ctx_t *c, struct s_hists *h)
{
    tsdb_eval_ctx_release(c, (void **)&h->groups, &h->cap_g, sizeof(*h->groups));
    tsdb_eval_ctx_release(c, (void **)&h->names, &h->cap_n, sizeof(*h->names));
    tsdb_eval_ctx_release(c, (void **)&h->sorted, &h->cap_s, sizeof(*h->sorted));
    tsdb_eval_ctx_release(c, (void **)&h->end, &h->cap_e, sizeof(*h->end));
}

static int
s_bucket_cmp(const void *a, const void *b)
{
    double x = ((const struct s_bucket *)a)->le, y = ((const struct s_bucket *)b)->le;
    return x < y ? -1 : x > y;
}

// Sort b[0..n) by bound and merge equal bounds; the new count, or 0 when the highest
// bound is not +Inf (no histogram to answer from).
static size_t
s_prepare(struct s_bucket *b, size_t n)
{
    if (n == 0)
        return 0;
    bool nan_le = false;
    for (size_t k = 0; k < n; k++)
        nan_le |= isnan(b[k].le);
    if (n <= 64 && !nan_le) {
        // insertion sort (stable): a histogram's buckets come in the same order at every
        // step, usually sorted already or nearly
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
    if (!isinf(b[n - 1].le) || b[n - 1].le < 0)
        return 0;
    size_t w = 0;
    for (size_t k = 0; k < n; k++) {
        if (w > 0 && b[w - 1].le == b[k].le)
            b[w - 1].count += b[k].count;
        else
            b[w++] = b[k];
    }
    return w;
}

// util/almost.Equal.
static bool
s_almost_equal(double a, double b, double eps)
{
    if (a == b)
        return true;
    double diff = fabs(a - b);
    if (a == 0 || b == 0 || fabs(a) + fabs(b) < 2.2250738585072014e-308)
        return diff < eps * 2.2250738585072014e-308;
    return diff / fmin(fabs(a) + fabs(b), 1.7976931348623157e308) < eps;
}

// What forcing monotonic counts changed: the lowest and highest bound of a bucket whose
// count dropped, the largest drop.
struct s_forced {
    bool forced;
    double min_bucket, max_bucket, max_diff;
};

// Prometheus's ensureMonotonicAndIgnoreSmallDeltas: counts that differ from the previous by
// less than S_SMALL_DELTA become equal to it, decreases are removed (and recorded in *f,
// which may be NULL).
static void
s_monotonic(struct s_bucket *b, size_t n, struct s_forced *f)
{
    struct s_forced r = {false, INFINITY, -INFINITY, 0};
    double prev = b[0].count;
    for (size_t i = 1; i < n; i++) {
        double cur = b[i].count;
        if (cur == prev)
            continue;
        if (s_almost_equal(prev, cur, S_SMALL_DELTA)) {
            b[i].count = prev;
            continue;
        }
        if (cur < prev) {
            b[i].count = prev;
            r.forced = true;
            r.min_bucket = fmin(r.min_bucket, b[i].le);
            r.max_bucket = fmax(r.max_bucket, b[i].le);
            r.max_diff = fmax(r.max_diff, prev - cur);
            continue;
        }
        prev = cur;
    }
    if (f)
        *f = r;
}

// Prometheus's BucketQuantile over b[0..n) (prepared, modified).
static double
s_bucket_quantile(double q, struct s_bucket *b, size_t n)
{
    if (isnan(q))
        return NAN;
    if (q < 0)
        return -INFINITY;
    if (q > 1)
        return INFINITY;
    if (n == 0)
        return NAN;
    s_monotonic(b, n, NULL);
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

// Prometheus's BucketFraction over b[0..n) (prepared).
static double
s_bucket_fraction(double lower, double upper, const struct s_bucket *b, size_t n)
{
    if (n == 0)
        return NAN;
    double count = b[n - 1].count;
    if (count == 0 || isnan(lower) || isnan(upper))
        return NAN;
    if (lower >= upper)
        return 0;
    double rank = 0, lower_rank = 0, upper_rank = 0;
    bool lower_set = false, upper_set = false;
    double lo = b[0].le <= 0 ? -INFINITY : 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            lo = b[i - 1].le;
        double hi = b[i].le;
        if (!lower_set && lo >= lower) {
            lower_rank = rank;
            lower_set = true;
        }
        if (!upper_set && lo >= upper) {
            upper_rank = rank;
            upper_set = true;
        }
        if (lower_set && upper_set)
            break;
        if (!lower_set && lo < lower && hi > lower) {
            lower_rank =
                isinf(lo) ? b[i].count : rank + (b[i].count - rank) * (lower - lo) / (hi - lo);
            lower_set = true;
        }
        if (!upper_set && lo < upper && hi > upper) {
            upper_rank =
                isinf(lo) ? b[i].count : rank + (b[i].count - rank) * (upper - lo) / (hi - lo);
            upper_set = true;
        }
        if (lower_set && upper_set)
            break;
        rank = b[i].count;
    }
    if (!lower_set || lower_rank > count)
        lower_rank = count;
    if (!upper_set || upper_rank > count)
        upper_rank = count;
    return (upper_rank - lower_rank) / count;
}

// The warning Prometheus gives for a quantile outside [0, 1] (or NaN), about node arg.
static void
s_check_quantile(tsdb_eval_ctx_t *c, const fw_promql_expr_t *arg, double q)
{
    char qs[40];
    if (isnan(q) || q < 0 || q > 1)
        tsdb_eval_ctx_warn(c, arg, "quantile value should be between 0 and 1, got %s",
                           fw_gofloat_format(q, 'g', qs, sizeof(qs)));
}

// Prometheus's info when a histogram's counts had to be made monotonic, about node arg.
static void
s_check_monotonic(tsdb_eval_ctx_t *c, const fw_promql_expr_t *arg, const char *name, int64_t t,
                  struct s_bucket *b, size_t n)
{
    struct s_forced f;
    if (n == 0)
        return;
    s_monotonic(b, n, &f);
    if (!f.forced)
        return;
    char lo[40], hi[40], fn[320], when[40];
    time_t secs = (time_t)(t / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm) || !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(when, sizeof(when), "%lld", (long long)secs);
    s_for_name(name, fn, sizeof(fn));
    tsdb_eval_ctx_info(c, arg,
                       "input to histogram_quantile needed to be fixed for monotonicity (see "
                       "https://prometheus.io/docs/prometheus/latest/querying/functions/"
                       "#histogram_quantile)%s, from buckets %s to %s, with a max diff of %.2g, "
                       "over 1 samples from %s to %s",
                       fn, fw_gofloat_format(f.min_bucket, 'g', lo, sizeof(lo)),
                       fw_gofloat_format(f.max_bucket, 'g', hi, sizeof(hi)), f.max_diff, when,
                       when);
}

int
tsdb_eval_fn_histogram_quantile(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                                struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)na;
    double q = args[0].scalar;
    s_check_quantile(c, e->args[0], q);
    struct s_hists h;
    s_split(c, e, e->args[1], &args[1].vec, &h);
    size_t from = 0;
    for (size_t g = 0; g < h.n; g++) {
        struct s_bucket *b = h.sorted + from;
        size_t n = s_prepare(b, h.end[g] - from);
        from = h.end[g];
        if (!isnan(q) && q >= 0 && q <= 1)
            s_check_monotonic(c, e->args[1], h.names[g], t, b, n);
        tsdb_eval_ctx_push_unnamed(c, &out->vec, h.groups[g], t, s_bucket_quantile(q, b, n));
    }
    s_hists_free(c, &h);
    return 0;
}

int
tsdb_eval_fn_histogram_fraction(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                                struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)na;
    struct s_hists h;
    s_split(c, e, e->args[2], &args[2].vec, &h);
    size_t from = 0;
    for (size_t g = 0; g < h.n; g++) {
        struct s_bucket *b = h.sorted + from;
        size_t n = s_prepare(b, h.end[g] - from);
        from = h.end[g];
        tsdb_eval_ctx_push_unnamed(c, &out->vec, h.groups[g], t,
                                   s_bucket_fraction(args[0].scalar, args[1].scalar, b, n));
    }
    s_hists_free(c, &h);
    return 0;
}

// histogram_quantiles(v, "label", q1, q2, ...): one element per histogram and quantile,
// the quantile (in OpenMetrics float format) in the named label.
int
tsdb_eval_fn_histogram_quantiles(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                                 struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    const char *label = args[1].str;
    if (!fw_names_label_valid(label, FW_NAMES_UTF8))
        return tsdb_eval_ctx_fail(c, "invalid quantile label name: %s", label);
    for (size_t k = 2; k < na; k++)
        s_check_quantile(c, e->args[k], args[k].scalar);
    struct s_hists h;
    s_split(c, e, e->args[0], &args[0].vec, &h);
    size_t from = 0;
    for (size_t g = 0; g < h.n; g++) {
        struct s_bucket *b = h.sorted + from;
        size_t n = s_prepare(b, h.end[g] - from);
        from = h.end[g];
        // once: s_bucket_quantile's own pass then changes nothing
        s_check_monotonic(c, e->args[0], h.names[g], t, b, n);
        for (size_t k = 2; k < na; k++) {
            double q = args[k].scalar;
            // a constant quantile's labels are memoised under (node, histogram, argument)
            bool memo = e->args[k]->kind == FW_PQ_NUMBER;
            const struct tsdb_eval_lset *ls =
                memo ? tsdb_eval_ctx_memo_get(c, e, h.groups[g], e->args[k]) : NULL;
            if (!ls) {
                char qs[40];
                fw_gofloat_format(q, 'g', qs, sizeof(qs) - 2);
                if (!strpbrk(qs, "e.") && isfinite(q))
                    strcat(qs, ".0"); // labels.FormatOpenMetricsFloat
                const struct tsdb_eval_lset *hg = h.groups[g];
                struct fw_labels v = tsdb_eval_ctx_view_of(c, hg, 1);
                tsdb_eval_ctx_view_set(&v, label, qs);
                ls = tsdb_eval_ctx_intern(c, &v);
                if (memo)
                    tsdb_eval_ctx_memo_put(c, e, hg, e->args[k], ls);
            }
            tsdb_eval_ctx_push_unnamed(c, &out->vec, ls, t, s_bucket_quantile(q, b, n));
        }
    }
    s_hists_free(c, &h);
    return 0;
}
