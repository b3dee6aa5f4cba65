/*  tsdb_eval_agg.c — PromQL aggregations (see tsdb_eval_int.h).

    An element's group is the interned set of its grouping labels, memoised per aggregation
    node and input set, so after the first step a range query finds each element's group
    with one pointer-keyed lookup and no hashing of strings. Groups keep running values
    (Kahan sums, Prometheus's mean, Welford's variance); topk, bottomk and quantile collect
    their members in one array, ordered by group with a counting sort that keeps the input
    order inside each group. Every array comes from the context's pool.
*/
#include "fw_gofloat.h"
#include "fw_hash.h"
#include "fw_names.h"
#include "tsdb_eval_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct s_group {
    const struct tsdb_eval_lset *ls; // the group's output labels
    double v, comp, mean;
    size_t count;
    struct tsdb_eval_math_avg avg;
    bool drop; // some member's name removal is delayed: so is the group's (by (__name__))
};

struct s_member {
    size_t group;
    struct tsdb_eval_elem el;
};

// The grouping labels of ls: by (listed ones) or without (all but listed and __name__).
static const struct tsdb_eval_lset *
s_group_key(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, const struct tsdb_eval_lset *ls)
{
    return tsdb_eval_ctx_project(c, e, ls, NULL, !e->without);
}

static int
s_elem_cmp_desc(const void *a, const void *b)
{
    return tsdb_eval_math_cmp_nan_last(((const struct s_member *)a)->el.v,
                                       ((const struct s_member *)b)->el.v, true);
}

static int
s_elem_cmp_asc(const void *a, const void *b)
{
    return tsdb_eval_math_cmp_nan_last(((const struct s_member *)a)->el.v,
                                       ((const struct s_member *)b)->el.v, false);
}

static void
s_add(struct s_group *g, fw_pq_aggop_t op, double v)
{
    g->count++;
    switch (op) {
    case FW_PQ_AGG_SUM:
        if (g->count == 1) {
            g->v = v;
            g->comp = 0;
        } else {
            g->v = tsdb_eval_math_kahan_inc(v, g->v, &g->comp);
        }
        break;
    case FW_PQ_AGG_AVG: tsdb_eval_math_avg_add(&g->avg, v); break;
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
    default: break;
    }
}

// topk, bottomk and quantile over the members of each group.
static void
s_members(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, double param,
          const struct s_group *groups, size_t ng, struct s_member *m, size_t nm,
          struct tsdb_eval_val *out)
{
    size_t *off = NULL, cap_off = 0, cap_s = 0, cap_v = 0;
    struct s_member *sorted = NULL;
    double *vals = NULL;
    tsdb_eval_ctx_grow(c, (void **)&off, &cap_off, ng + 1, sizeof(*off));
    memset(off, 0, (ng + 1) * sizeof(*off));
    for (size_t k = 0; k < nm; k++)
        off[m[k].group + 1]++;
    for (size_t g = 0; g < ng; g++)
        off[g + 1] += off[g];
    tsdb_eval_ctx_grow(c, (void **)&sorted, &cap_s, nm, sizeof(*sorted));
    for (size_t k = 0; k < nm; k++)
        sorted[off[m[k].group]++] = m[k];
    size_t from = 0;
    for (size_t g = 0; g < ng; g++) {
        struct s_member *gm = sorted + from;
        size_t n = off[g] - from;
        from = off[g];
        if (e->agg == FW_PQ_AGG_QUANTILE) {
            tsdb_eval_ctx_grow(c, (void **)&vals, &cap_v, n, sizeof(*vals));
            for (size_t j = 0; j < n; j++)
                vals[j] = gm[j].el.v;
            tsdb_eval_ctx_push_drop(c, &out->vec, groups[g].ls, t,
                                    tsdb_eval_math_quantile(param, vals, n), groups[g].drop);
            continue;
        }
        if (isnan(param) || param < 1)
            continue;
        size_t k = param > (double)n ? n : (size_t)param;
        if (e->agg != FW_PQ_AGG_LIMITK) // limitk: the first k in input order
            qsort(gm, n, sizeof(*gm), e->agg == FW_PQ_AGG_TOPK ? s_elem_cmp_desc : s_elem_cmp_asc);
        for (size_t j = 0; j < k; j++)
            tsdb_eval_ctx_push_drop(c, &out->vec, gm[j].el.ls, t, gm[j].el.v, gm[j].el.drop);
    }
    tsdb_eval_ctx_release(c, (void **)&off, &cap_off, sizeof(*off));
    tsdb_eval_ctx_release(c, (void **)&sorted, &cap_s, sizeof(*sorted));
    tsdb_eval_ctx_release(c, (void **)&vals, &cap_v, sizeof(*vals));
}

// Prometheus's labels.Labels.Hash: XXH64 of name 0xff value 0xff ...
static uint64_t
s_prom_hash(tsdb_eval_ctx_t *c, const struct tsdb_eval_lset *ls)
{
    char stack[1024], *buf = stack;
    size_t need = 0, cap = 0;
    for (size_t k = 0; k < ls->labels.len; k++)
        need += strlen(ls->labels.items[k].name) + strlen(ls->labels.items[k].value) + 2;
    if (need > sizeof(stack)) {
        buf = NULL;
        tsdb_eval_ctx_grow(c, (void **)&buf, &cap, need, 1);
    }
    size_t n = 0;
    for (size_t k = 0; k < ls->labels.len; k++) {
        const char *parts[2] = {ls->labels.items[k].name, ls->labels.items[k].value};
        for (int j = 0; j < 2; j++) {
            size_t l = strlen(parts[j]);
            memcpy(buf + n, parts[j], l);
            n += l;
            buf[n++] = (char)0xff;
        }
    }
    uint64_t h = fw_hash_xxh64(buf, n);
    if (buf != stack)
        tsdb_eval_ctx_release(c, (void **)&buf, &cap, 1);
    return h;
}

// limit_ratio(r, v): the elements Prometheus's HashRatioSampler keeps, a share |r| of them
// chosen by the hash of their labels (r < 0 keeps the complement of -r's choice).
static void
s_limit_ratio(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, double r,
              const struct tsdb_eval_vec *in, struct tsdb_eval_val *out)
{
    char rs[40];
    if (r > 1 || r < -1) {
        tsdb_eval_ctx_warn(c, e->param,
                           "ratio value should be between -1 and 1, got %s, "
                           "capping to %d",
                           fw_gofloat_format(r, 'g', rs, sizeof(rs)), r > 1 ? 1 : -1);
        r = r > 1 ? 1 : -1;
    }
    if (r == 0)
        return;
    for (size_t k = 0; k < in->len; k++) {
        double off = (double)s_prom_hash(c, in->items[k].ls) / 18446744073709551615.0;
        if ((r >= 0 && off < r) || (r < 0 && off >= 1.0 + r))
            tsdb_eval_ctx_push_drop(c, &out->vec, in->items[k].ls, t, in->items[k].v,
                                    in->items[k].drop);
    }
}

// count_values("label", v): per group, how many elements have each value, the value (as
// Go's FormatFloat 'f') in the label.
static int
s_count_values(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, const char *label,
               const struct tsdb_eval_vec *in, struct tsdb_eval_val *out)
{
    if (!fw_names_label_valid(label, FW_NAMES_UTF8))
        return tsdb_eval_ctx_fail(c, "invalid label name \"%s\"", label);
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(c, &tab, in->len);
    for (size_t k = 0; k < in->len; k++) {
        const struct tsdb_eval_elem *el = &in->items[k];
        char vs[FW_GOFLOAT_F_MAX];
        fw_gofloat_format(el->v, 'f', vs, sizeof(vs));
        struct fw_labels v = tsdb_eval_ctx_view_of(c, el->ls, 1);
        tsdb_eval_ctx_view_set(&v, label, vs);
        const struct tsdb_eval_lset *ls = tsdb_eval_ctx_intern(c, &v), *key;
        if (e->without) {
            key = s_group_key(c, e, ls);
        } else { // by (...) groups by the listed labels and the value label
            struct fw_labels g = tsdb_eval_ctx_view(c, ls->labels.len);
            for (size_t j = 0; j < ls->labels.len; j++) {
                const char *nm = ls->labels.items[j].name;
                if (strcmp(nm, label) == 0 || tsdb_eval_ctx_listed(nm, e->labels, e->n_labels))
                    g.items[g.len++] = ls->labels.items[j];
            }
            key = tsdb_eval_ctx_intern(c, &g);
        }
        size_t i = tsdb_eval_ctx_tab_get(&tab, key);
        if (i == SIZE_MAX) {
            tsdb_eval_ctx_tab_put(c, &tab, key, out->vec.len);
            tsdb_eval_ctx_push(c, &out->vec, key, t, 1);
        } else {
            out->vec.items[i].v++;
        }
    }
    tsdb_eval_ctx_tab_free(c, &tab);
    return 0;
}

int
tsdb_eval_agg(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *out)
{
    struct tsdb_eval_val in, param = {0};
    if (tsdb_eval_node(c, e->args[0], t, &in) != 0)
        return -1;
    if (e->param && tsdb_eval_node(c, e->param, t, &param) != 0) {
        tsdb_eval_ctx_val_clear(c, &in);
        return -1;
    }
    out->type = FW_PQ_VECTOR;
    int rc = 0;
    switch (e->agg) {
    case FW_PQ_AGG_TOPK:
    case FW_PQ_AGG_BOTTOMK:
    case FW_PQ_AGG_LIMITK:
        if (isnan(param.scalar))
            rc = tsdb_eval_ctx_fail(c, "Parameter value is NaN");
        break;
    case FW_PQ_AGG_LIMIT_RATIO:
        if (isnan(param.scalar))
            rc = tsdb_eval_ctx_fail(c, "Ratio value is NaN");
        else
            s_limit_ratio(c, e, t, param.scalar, &in.vec, out);
        break;
    case FW_PQ_AGG_COUNT_VALUES: rc = s_count_values(c, e, t, param.str, &in.vec, out); break;
    case FW_PQ_AGG_QUANTILE: {
        char qs[40];
        double q = param.scalar;
        if (isnan(q) || q < 0 || q > 1)
            tsdb_eval_ctx_warn(c, e->param, "quantile value should be between 0 and 1, got %s",
                               fw_gofloat_format(q, 'g', qs, sizeof(qs)));
        break;
    }
    default: break;
    }
    if (rc != 0 || e->agg == FW_PQ_AGG_LIMIT_RATIO || e->agg == FW_PQ_AGG_COUNT_VALUES) {
        tsdb_eval_ctx_val_clear(c, &in);
        tsdb_eval_ctx_val_clear(c, &param);
        return rc;
    }
    bool members = e->agg == FW_PQ_AGG_TOPK || e->agg == FW_PQ_AGG_BOTTOMK ||
                   e->agg == FW_PQ_AGG_QUANTILE || e->agg == FW_PQ_AGG_LIMITK;
    struct s_group *groups = NULL;
    struct s_member *m = NULL;
    size_t ng = 0, cap_g = 0, nm = 0, cap_m = 0;
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(c, &tab, in.vec.len);
    for (size_t k = 0; k < in.vec.len; k++) {
        const struct tsdb_eval_elem *el = &in.vec.items[k];
        const struct tsdb_eval_lset *key = s_group_key(c, e, el->ls);
        size_t gi = tsdb_eval_ctx_tab_get(&tab, key);
        if (gi == SIZE_MAX) {
            gi = ng++;
            tsdb_eval_ctx_grow(c, (void **)&groups, &cap_g, ng, sizeof(*groups));
            memset(&groups[gi], 0, sizeof(*groups));
            groups[gi].ls = key;
            groups[gi].v = el->v;
            tsdb_eval_ctx_tab_put(c, &tab, key, gi);
        }
        groups[gi].drop |= el->drop;
        if (members) {
            tsdb_eval_ctx_grow(c, (void **)&m, &cap_m, nm + 1, sizeof(*m));
            m[nm++] = (struct s_member){gi, *el};
        } else {
            s_add(&groups[gi], e->agg, el->v);
        }
    }
    if (members) {
        s_members(c, e, t, param.scalar, groups, ng, m, nm, out);
    } else {
        for (size_t gi = 0; gi < ng; gi++) {
            const struct s_group *g = &groups[gi];
            double v = g->v;
            switch (e->agg) {
            case FW_PQ_AGG_SUM: v = g->v + g->comp; break;
            case FW_PQ_AGG_AVG: v = tsdb_eval_math_avg_result(&g->avg); break;
            case FW_PQ_AGG_COUNT: v = (double)g->count; break;
            case FW_PQ_AGG_GROUP: v = 1; break;
            case FW_PQ_AGG_STDVAR: v = g->v / (double)g->count; break;
            case FW_PQ_AGG_STDDEV: v = sqrt(g->v / (double)g->count); break;
            default: break;
            }
            tsdb_eval_ctx_push_drop(c, &out->vec, g->ls, t, v, g->drop);
        }
    }
    tsdb_eval_ctx_tab_free(c, &tab);
    tsdb_eval_ctx_release(c, (void **)&groups, &cap_g, sizeof(*groups));
    tsdb_eval_ctx_release(c, (void **)&m, &cap_m, sizeof(*m));
    tsdb_eval_ctx_val_clear(c, &in);
    tsdb_eval_ctx_val_clear(c, &param);
    return 0;
}
