/*  tsdb_eval_func_label.c — the PromQL functions of labels and order (kind call in
    fw_promql_funcs.def; see tsdb_eval_int.h): label_replace, label_join, sort, sort_desc,
    sort_by_label, sort_by_label_desc, absent, absent_over_time and info.

    A derived label set is memoised per call node and input set, so a range query computes
    label_replace's regex or label_join's value once per series rather than once per step.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fw_regex.h"
#include "tsdb_eval_int.h"

// A key for "this node's regex compiled" in the memo (any unique address).
static const char s_regex_ok;

// ---------------------------------------------------------------------------------------
// absent, absent_over_time

// absent()/absent_over_time(): one element labelled from the argument's equality matchers.
int
tsdb_eval_fn_absent(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                    struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)na;
    if (args[0].vec.len > 0 || args[0].mat.len > 0)
        return 0;
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
    return 0;
}

// ---------------------------------------------------------------------------------------
// label_replace, label_join

int
tsdb_eval_fn_label_replace(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                           struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)t, (void)na;
    struct tsdb_eval_val *in = &args[0];
    const char *dst = args[1].str, *repl = args[2].str, *src = args[3].str, *regex = args[4].str;
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

int
tsdb_eval_fn_label_join(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                        struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)t;
    struct tsdb_eval_val *in = &args[0];
    const char *dst = args[1].str, *sep = args[2].str;
    const struct tsdb_eval_val *srcs = args + 3;
    size_t n_srcs = na - 3;
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

// ---------------------------------------------------------------------------------------
// sort, sort_desc, sort_by_label, sort_by_label_desc

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

int
tsdb_eval_fn_sort(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)t, (void)na;
    out->vec = args[0].vec;
    memset(&args[0].vec, 0, sizeof(args[0].vec));
    qsort(out->vec.items, out->vec.len, sizeof(*out->vec.items),
          e->func == FW_PQ_FN_SORT ? s_elem_cmp_asc : s_elem_cmp_desc);
    if (c->q_start != c->q_end)
        tsdb_eval_ctx_warn(c, e,
                           "sort is ineffective for range queries since results are always "
                           "ordered by labels");
    return 0;
}

// github.com/facette/natsort's Compare(a, b) (a sorts before b): the strings as runs of
// digits and of non-digits, runs that are both numbers compared as integers, others as
// strings; a string that runs out of runs first is not less.
static bool
s_natless(const char *a, const char *b)
{
    for (;;) {
        if (!*a)
            return false; // natsort: an empty string is never less
        if (!*b)
            return false;
        bool da = isdigit((unsigned char)*a), db = isdigit((unsigned char)*b);
        size_t la = 0, lb = 0;
        while (a[la] && (bool)isdigit((unsigned char)a[la]) == da)
            la++;
        while (b[lb] && (bool)isdigit((unsigned char)b[lb]) == db)
            lb++;
        bool last_a = !a[la], last_b = !b[lb];
        if (da && db && la <= 18 && lb <= 18) {
            long long x = strtoll(a, NULL, 10), y = strtoll(b, NULL, 10);
            if (x != y)
                return x < y;
        } else {
            size_t n = la < lb ? la : lb;
            int r = memcmp(a, b, n);
            if (r != 0 || la != lb)
                return r != 0 ? r < 0 : la < lb;
        }
        if (last_a)
            return true;
        if (last_b)
            return false;
        a += la;
        b += lb;
    }
}

// The label names sort_by_label orders by, for the qsort comparator (one query thread
// sorts at a time per context, but qsort has no argument: keep them in a thread local).
static _Thread_local const struct tsdb_eval_val *s_sort_labels;
static _Thread_local size_t s_sort_n;

static int
s_label_order(const struct tsdb_eval_elem *x, const struct tsdb_eval_elem *y)
{
    for (size_t k = 0; k < s_sort_n; k++) {
        const char *name = s_sort_labels[k].str ? s_sort_labels[k].str : "";
        const char *a = fw_labels_get(&x->ls->labels, name),
                   *b = fw_labels_get(&y->ls->labels, name);
        a = a ? a : "";
        b = b ? b : "";
        if (strcmp(a, b) == 0)
            continue;
        return s_natless(a, b) ? -1 : 1;
    }
    return fw_labels_cmp(&x->ls->labels, &y->ls->labels);
}

static int
s_by_label_asc(const void *a, const void *b)
{
    return s_label_order(a, b);
}

static int
s_by_label_desc(const void *a, const void *b)
{
    return -s_label_order(a, b);
}

int
tsdb_eval_fn_sort_by_label(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                           struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)t;
    out->vec = args[0].vec;
    memset(&args[0].vec, 0, sizeof(args[0].vec));
    s_sort_labels = args + 1;
    s_sort_n = na - 1;
    qsort(out->vec.items, out->vec.len, sizeof(*out->vec.items),
          e->func == FW_PQ_FN_SORT_BY_LABEL ? s_by_label_asc : s_by_label_desc);
    s_sort_labels = NULL;
    if (c->q_start != c->q_end)
        tsdb_eval_ctx_warn(c, e,
                           "sort is ineffective for range queries since results are always "
                           "ordered by labels");
    return 0;
}

// ---------------------------------------------------------------------------------------
// info

int
tsdb_eval_fn_info(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    (void)e, (void)t, (void)args, (void)na, (void)out;
    return tsdb_eval_ctx_fail(c, "function \"info\" is not supported by floorwatch yet");
}
