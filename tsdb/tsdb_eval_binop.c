/*  tsdb_eval_binop.c — PromQL binary operators (see tsdb_eval_int.h).

    Vector matching works on signatures: the interned set of an element's matching labels
    (on: the listed ones; ignoring: all but the listed ones and __name__), memoised per
    operator node and input set. Since interned sets are equal exactly when their pointers
    are, each side is indexed in a pointer-keyed table and no label set is ever formatted
    or compared as a string. The labels of a result element (__name__ dropped, on/ignoring
    applied, group_left/group_right's extra labels copied from the other side) are memoised
    per node and input set(s) as well. Vector-scalar operations rewrite the vector in place.
*/
#include "tsdb_eval_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

// Memo tags (unique addresses) telling a node's signatures from its result labels.
static const char s_tag_sig, s_tag_res;

// Apply op; *keep says whether a comparison holds (always true for arithmetic).
static double
s_apply(fw_pq_binop_t op, double l, double r, bool *keep)
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

// Whether the result labels of vector matching lose the metadata labels at once: always for
// arithmetic (Prometheus drops them there even with delayed name removal), for `bool`
// comparisons unless their removal is delayed.
static bool
s_drops_name_now(const tsdb_eval_ctx_t *c, const fw_promql_expr_t *e)
{
    return !fw_promql_binop_is_comparison(e->op) || (e->return_bool && !c->delay_names);
}

// The matching signature of ls under e's on/ignoring.
static const struct tsdb_eval_lset *
s_sig(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, const struct tsdb_eval_lset *ls)
{
    return tsdb_eval_ctx_project(c, e, ls, &s_tag_sig, e->on);
}

// The labels of the result of matching many-side set m with one-side set o.
static const struct tsdb_eval_lset *
s_result_labels(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, const struct tsdb_eval_lset *m,
                const struct tsdb_eval_lset *o)
{
    const void *k2 = e->n_include ? (const void *)o : &s_tag_res;
    const struct tsdb_eval_lset *r = tsdb_eval_ctx_memo_get(c, e, m, k2);
    if (r)
        return r;
    struct fw_labels v = tsdb_eval_ctx_view(c, m->labels.len + e->n_include);
    bool drop = s_drops_name_now(c, e);
    for (size_t k = 0; k < m->labels.len; k++) {
        const char *nm = m->labels.items[k].name;
        if (drop && tsdb_eval_ctx_is_metadata(nm))
            continue;
        if (e->card == FW_PQ_CARD_ONE_TO_ONE &&
            tsdb_eval_ctx_listed(nm, e->labels, e->n_labels) != e->on)
            continue;
        v.items[v.len++] = m->labels.items[k];
    }
    for (size_t j = 0; j < e->n_include; j++) {
        const char *iv = fw_labels_get(&o->labels, e->include[j]);
        tsdb_eval_ctx_view_set(&v, e->include[j], iv ? iv : "");
    }
    r = tsdb_eval_ctx_intern(c, &v);
    tsdb_eval_ctx_memo_put(c, e, m, k2, r);
    return r;
}

// and, or, unless
static int
s_set_op(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, const struct tsdb_eval_vec *l,
         const struct tsdb_eval_vec *r, struct tsdb_eval_val *out)
{
    struct tsdb_eval_tab rt, lt;
    tsdb_eval_ctx_tab_init(c, &rt, r->len);
    tsdb_eval_ctx_tab_init(c, &lt, e->op == FW_PQ_OR ? l->len : 0);
    for (size_t k = 0; k < r->len; k++) {
        const struct tsdb_eval_lset *s = s_sig(c, e, r->items[k].ls);
        if (tsdb_eval_ctx_tab_get(&rt, s) == SIZE_MAX)
            tsdb_eval_ctx_tab_put(c, &rt, s, k);
    }
    out->type = FW_PQ_VECTOR;
    for (size_t k = 0; k < l->len; k++) {
        const struct tsdb_eval_lset *s = s_sig(c, e, l->items[k].ls);
        if (e->op == FW_PQ_OR && tsdb_eval_ctx_tab_get(&lt, s) == SIZE_MAX)
            tsdb_eval_ctx_tab_put(c, &lt, s, k);
        bool in_r = tsdb_eval_ctx_tab_get(&rt, s) != SIZE_MAX;
        if (e->op == FW_PQ_OR || (e->op == FW_PQ_AND) == in_r)
            tsdb_eval_ctx_push_drop(c, &out->vec, l->items[k].ls, l->items[k].t, l->items[k].v,
                                    l->items[k].drop);
    }
    if (e->op == FW_PQ_OR)
        for (size_t k = 0; k < r->len; k++)
            if (tsdb_eval_ctx_tab_get(&lt, s_sig(c, e, r->items[k].ls)) == SIZE_MAX)
                tsdb_eval_ctx_push_drop(c, &out->vec, r->items[k].ls, r->items[k].t, r->items[k].v,
                                        r->items[k].drop);
    tsdb_eval_ctx_tab_free(c, &rt);
    tsdb_eval_ctx_tab_free(c, &lt);
    return 0;
}

// One matching of vector matching: the state s_match shares with s_vector_vector.
struct s_matching {
    const fw_promql_expr_t *e;
    int64_t t;
    bool swap; // group_right: the many side is the right-hand one
    struct tsdb_eval_tab matched, outt;
};

// Apply e to the many-side element (mls, mv; mdrop its delayed name removal) and the
// one-side element (ols, ov) whose matching signature is sig, and push the result unless a
// comparison drops it. 0, or -1 after tsdb_eval_ctx_fail (a one-to-one signature matched
// twice, a duplicate output).
static int
s_match(tsdb_eval_ctx_t *c, struct s_matching *mt, const struct tsdb_eval_lset *sig,
        const struct tsdb_eval_lset *mls, double mv, bool mdrop, const struct tsdb_eval_lset *ols,
        double ov, struct tsdb_eval_val *out)
{
    const fw_promql_expr_t *e = mt->e;
    double vl = mt->swap ? ov : mv, vr = mt->swap ? mv : ov;
    // a second match on the many side is an error even when a comparison would drop it
    if (e->card == FW_PQ_CARD_ONE_TO_ONE) {
        if (tsdb_eval_ctx_tab_get(&mt->matched, sig) != SIZE_MAX)
            return tsdb_eval_ctx_fail(c, "multiple matches for labels: many-to-one matching "
                                         "must be explicit (group_left/group_right)");
        tsdb_eval_ctx_tab_put(c, &mt->matched, sig, 0);
    }
    bool keep;
    double v = s_apply(e->op, vl, vr, &keep);
    if (e->return_bool) {
        v = keep ? 1 : 0;
        keep = true;
    }
    const struct tsdb_eval_lset *ls = s_result_labels(c, e, mls, ols);
    if (e->card != FW_PQ_CARD_ONE_TO_ONE) {
        if (tsdb_eval_ctx_tab_get(&mt->outt, ls) != SIZE_MAX)
            return tsdb_eval_ctx_fail(c, "multiple matches for labels: grouping labels must "
                                         "ensure unique matches");
        tsdb_eval_ctx_tab_put(c, &mt->outt, ls, 0);
    }
    // a filtering comparison keeps the many side's labels as they were, a pending removal too
    if (keep)
        tsdb_eval_ctx_push_drop(c, &out->vec, ls, mt->t, v,
                                c->delay_names && (e->return_bool || mdrop));
    return 0;
}

// ls as Prometheus's labels.String() writes it: {__name__="m", a="b"}. The caller frees it.
static char *
s_labels_string(const struct tsdb_eval_lset *ls)
{
    size_t cap = 3;
    for (size_t k = 0; k < ls->labels.len; k++)
        cap += strlen(ls->labels.items[k].name) + 2 * strlen(ls->labels.items[k].value) + 6;
    char *out = fw_malloc(cap), *w = out;
    *w++ = '{';
    for (size_t k = 0; k < ls->labels.len; k++) {
        w += sprintf(w, "%s%s=\"", k ? ", " : "", ls->labels.items[k].name);
        for (const char *v = ls->labels.items[k].value; *v; v++) {
            const char *esc = *v == '"' ? "\\\"" : *v == '\\' ? "\\\\" : *v == '\n' ? "\\n" : NULL;
            if (esc) {
                strcpy(w, esc);
                w += 2;
            } else {
                *w++ = *v;
            }
        }
        *w++ = '"';
    }
    *w++ = '}';
    *w = '\0';
    return out;
}

// The duplicate-series error for the one side: the two series in a stable order.
static int
s_duplicate(tsdb_eval_ctx_t *c, bool swap, const struct tsdb_eval_lset *sig,
            const struct tsdb_eval_lset *x, const struct tsdb_eval_lset *y)
{
    char *a = s_labels_string(x), *b = s_labels_string(y), *g = s_labels_string(sig);
    if (strcmp(a, b) > 0) {
        char *tmp = a;
        a = b;
        b = tmp;
    }
    tsdb_eval_ctx_fail(c,
                       "found duplicate series for the match group %s on the %s hand-side of the "
                       "operation: [%s, %s];many-to-many matching not allowed: matching labels "
                       "must be unique on one side",
                       g, swap ? "left" : "right", a, b);
    free(a);
    free(b);
    free(g);
    return -1;
}

// Vector matching as Prometheus's VectorBinop: the one side indexed by signature, each
// element of the many side matched against it; with fill modifiers a missing partner is
// made up from the fill value, labelled with the signature. Prometheus applies them after
// swapping the sides for group_right: fill_right stands in for the one side, fill_left for
// the many side.
static int
s_vector_vector(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                const struct tsdb_eval_vec *lhs, const struct tsdb_eval_vec *rhs,
                struct tsdb_eval_val *out)
{
    if (fw_promql_binop_is_set(e->op))
        return s_set_op(c, e, lhs, rhs, out);
    struct s_matching mt = {.e = e, .t = t, .swap = e->card == FW_PQ_CARD_ONE_TO_MANY};
    const struct tsdb_eval_vec *many = mt.swap ? rhs : lhs, *one = mt.swap ? lhs : rhs;
    struct tsdb_eval_tab ot;
    bool *used = NULL; // one side: matched by some element of the many side
    size_t cap_used = 0;
    tsdb_eval_ctx_tab_init(c, &ot, one->len);
    tsdb_eval_ctx_tab_init(c, &mt.matched, e->card == FW_PQ_CARD_ONE_TO_ONE ? many->len : 0);
    tsdb_eval_ctx_tab_init(c, &mt.outt, e->card == FW_PQ_CARD_ONE_TO_ONE ? 0 : many->len);
    int rc = 0;
    out->type = FW_PQ_VECTOR;
    if (e->fill_l) {
        tsdb_eval_ctx_grow(c, (void **)&used, &cap_used, one->len, sizeof(*used));
        if (one->len)
            memset(used, 0, one->len * sizeof(*used));
    }
    for (size_t k = 0; k < one->len; k++) {
        const struct tsdb_eval_lset *s = s_sig(c, e, one->items[k].ls);
        size_t prev = tsdb_eval_ctx_tab_get(&ot, s);
        if (prev != SIZE_MAX) {
            rc = s_duplicate(c, mt.swap, s, one->items[prev].ls, one->items[k].ls);
            goto out;
        }
        tsdb_eval_ctx_tab_put(c, &ot, s, k);
    }
    for (size_t k = 0; k < many->len && rc == 0; k++) {
        const struct tsdb_eval_elem *me = &many->items[k];
        const struct tsdb_eval_lset *s = s_sig(c, e, me->ls);
        size_t oi = tsdb_eval_ctx_tab_get(&ot, s);
        if (oi != SIZE_MAX) {
            if (used)
                used[oi] = true;
            rc = s_match(c, &mt, s, me->ls, me->v, me->drop, one->items[oi].ls, one->items[oi].v,
                         out);
        } else if (e->fill_r) {
            rc = s_match(c, &mt, s, me->ls, me->v, me->drop, s, e->fill_rv, out);
        }
    }
    for (size_t k = 0; used && k < one->len && rc == 0; k++) {
        if (used[k])
            continue;
        const struct tsdb_eval_lset *s = s_sig(c, e, one->items[k].ls);
        if (e->card == FW_PQ_CARD_ONE_TO_ONE && tsdb_eval_ctx_tab_get(&mt.matched, s) != SIZE_MAX)
            continue;
        rc = s_match(c, &mt, s, s, e->fill_lv, false, one->items[k].ls, one->items[k].v, out);
    }
out:
    tsdb_eval_ctx_release(c, (void **)&used, &cap_used, sizeof(*used));
    tsdb_eval_ctx_tab_free(c, &ot);
    tsdb_eval_ctx_tab_free(c, &mt.matched);
    tsdb_eval_ctx_tab_free(c, &mt.outt);
    return rc;
}

int
tsdb_eval_binop(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t, struct tsdb_eval_val *out)
{
    struct tsdb_eval_val l = {0}, r = {0};
    int rc = -1;
    if (tsdb_eval_node(c, e->args[0], t, &l) != 0 || tsdb_eval_node(c, e->args[1], t, &r) != 0)
        goto out;
    rc = 0;
    if (l.type == FW_PQ_SCALAR && r.type == FW_PQ_SCALAR) {
        bool keep;
        double v = s_apply(e->op, l.scalar, r.scalar, &keep);
        if (fw_promql_binop_is_comparison(e->op))
            v = keep ? 1 : 0;
        out->type = FW_PQ_SCALAR;
        out->scalar = v;
    } else if (l.type == FW_PQ_VECTOR && r.type == FW_PQ_VECTOR) {
        rc = s_vector_vector(c, e, t, &l.vec, &r.vec, out);
    } else {
        bool swap = l.type == FW_PQ_SCALAR;
        struct tsdb_eval_vec *vec = swap ? &r.vec : &l.vec;
        double sc = swap ? l.scalar : r.scalar;
        bool drop = s_drops_name(e);
        size_t w = 0;
        for (size_t k = 0; k < vec->len; k++) {
            struct tsdb_eval_elem el = vec->items[k];
            double lv = swap ? sc : el.v, rv = swap ? el.v : sc;
            bool keep;
            double v = s_apply(e->op, lv, rv, &keep);
            if (fw_promql_binop_is_comparison(e->op) && swap)
                v = rv;
            if (e->return_bool) {
                v = keep ? 1 : 0;
                keep = true;
            }
            if (!keep)
                continue;
            if (drop)
                tsdb_eval_ctx_unname(c, &el.ls, &el.drop);
            el.t = t;
            el.v = v;
            vec->items[w++] = el;
        }
        vec->len = w;
        out->type = FW_PQ_VECTOR;
        out->vec = *vec;
        memset(vec, 0, sizeof(*vec));
    }
out:
    tsdb_eval_ctx_val_clear(c, &l);
    tsdb_eval_ctx_val_clear(c, &r);
    return rc;
}
