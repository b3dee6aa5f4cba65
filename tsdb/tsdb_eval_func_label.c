/*  tsdb_eval_func_label.c — the PromQL functions of labels and order (kind call in
    fw_promql_funcs.def; see tsdb_eval_int.h): label_replace, label_join, sort, sort_desc,
    sort_by_label, sort_by_label_desc, absent, absent_over_time and info.

    A derived label set is memoised per call node and input set, so a range query computes
    label_replace's regex or label_join's value once per series rather than once per step.
*/
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fw_names.h"
#include "fw_regex.h"
#include "tsdb_eval_int.h"

// Keys in the memo (any unique addresses): "this node's regex compiled", "the regex matched
// this set".
static const char s_regex_ok, s_matched;

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
        if (!fw_names_label_valid(dst, FW_NAMES_UTF8))
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
                struct fw_labels v = tsdb_eval_ctx_view_of(c, el->ls, 1);
                tsdb_eval_ctx_view_set(&v, dst, res);
                r = tsdb_eval_ctx_intern(c, &v);
                free(res);
                tsdb_eval_ctx_memo_put(c, e, el->ls, &s_matched, r);
            }
            tsdb_eval_ctx_memo_put(c, e, el->ls, NULL, r);
        }
        // a __name__ set here is kept: its delayed removal no longer applies
        if (el->drop && strcmp(dst, "__name__") == 0 &&
            tsdb_eval_ctx_memo_get(c, e, el->ls, &s_matched))
            el->drop = false;
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
    if (!fw_names_label_valid(dst, FW_NAMES_UTF8))
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
            struct fw_labels v = tsdb_eval_ctx_view_of(c, el->ls, 1);
            tsdb_eval_ctx_view_set(&v, dst, joined);
            r = tsdb_eval_ctx_intern(c, &v);
            tsdb_eval_ctx_memo_put(c, e, el->ls, NULL, r);
        }
        el->ls = r;
        if (strcmp(dst, "__name__") == 0)
            el->drop = false;
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
    if (out->vec.len > 1) // an empty vector has no items array
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
    if (out->vec.len > 1)
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

// Is the __name__ of ls matched by every __name__ matcher of sel (an info metric itself)?
static bool
s_is_info(const fw_promql_expr_t *sel, const struct tsdb_eval_lset *ls)
{
    const char *name = fw_labels_get(&ls->labels, "__name__");
    for (size_t k = 0; k < sel->n_matchers; k++)
        if (strcmp(sel->matchers[k].name, "__name__") == 0 &&
            !fw_matcher_matches(&sel->matchers[k], name))
            return false;
    return true;
}

// An info series' join key: {__name__=name, instance, job} from ls's identifying labels.
static const struct tsdb_eval_lset *
s_info_sig(tsdb_eval_ctx_t *c, const char *name, const struct tsdb_eval_lset *ls)
{
    struct fw_labels v = tsdb_eval_ctx_view(c, 3);
    const char *inst = fw_labels_get(&ls->labels, "instance");
    const char *job = fw_labels_get(&ls->labels, "job");
    v.items[v.len++] = (struct fw_label){(char *)"__name__", (char *)name};
    if (inst)
        v.items[v.len++] = (struct fw_label){(char *)"instance", (char *)inst};
    if (job)
        v.items[v.len++] = (struct fw_label){(char *)"job", (char *)job};
    return tsdb_eval_ctx_intern(c, &v);
}

// Is name a data label info() was asked for (any, when it named none but __name__)?
static bool
s_wanted(const fw_promql_expr_t *labels, const char *name)
{
    bool any = false;
    for (size_t k = 0; labels && k < labels->n_matchers; k++) {
        if (strcmp(labels->matchers[k].name, "__name__") == 0)
            continue;
        any = true;
        if (strcmp(labels->matchers[k].name, name) == 0)
            return true;
    }
    return !any;
}

// Does every data-label matcher (not __name__) match an absent label?
static bool
s_all_match_empty(const fw_promql_expr_t *labels)
{
    for (size_t k = 0; labels && k < labels->n_matchers; k++)
        if (strcmp(labels->matchers[k].name, "__name__") != 0 &&
            !fw_matcher_matches(&labels->matchers[k], ""))
            return false;
    return true;
}

// The newest info sample per join key into tab (index into in); distinct names into names.
static int
s_info_index(tsdb_eval_ctx_t *c, const struct tsdb_eval_vec *in, struct tsdb_eval_tab *tab,
             const char ***names, size_t *n_names, size_t *cap_names)
{
    for (size_t k = 0; k < in->len; k++) {
        const struct tsdb_eval_elem *el = &in->items[k];
        const char *name = fw_labels_get(&el->ls->labels, "__name__");
        const struct tsdb_eval_lset *sig = s_info_sig(c, name ? name : "", el->ls);
        size_t prev = tsdb_eval_ctx_tab_get(tab, sig);
        if (prev == SIZE_MAX) {
            tsdb_eval_ctx_tab_put(c, tab, sig, k);
            bool known = false;
            for (size_t j = 0; j < *n_names; j++)
                known |= strcmp((*names)[j], name ? name : "") == 0;
            if (!known) {
                tsdb_eval_ctx_grow(c, (void **)names, cap_names, *n_names + 1, sizeof(**names));
                (*names)[(*n_names)++] = name ? name : "";
            }
            continue;
        }
        const struct tsdb_eval_elem *old = &in->items[prev];
        if (old->t == el->t) {
            char *a = fw_labels_format(&old->ls->labels), *b = fw_labels_format(&el->ls->labels);
            tsdb_eval_ctx_fail(c,
                               "found duplicate series for info metric: existing %s @ %lld, new "
                               "%s @ %lld",
                               a, (long long)old->t, b, (long long)el->t);
            free(a);
            free(b);
            return -1;
        }
        if (el->t > old->t) // the newest sample wins: overwrite the slot's index
            for (size_t s = 0; s < tab->cap; s++)
                if (tab->slots[s].key == sig)
                    tab->slots[s].idx = k;
    }
    return 0;
}

// info(v [, {labels}]): v's elements with the data labels of the info series that share
// their instance and job (target_info by default), as Prometheus's info.go: an info metric
// in v passes as it is; an element no info series joins keeps its labels when every data
// matcher accepts an absent label, else it is dropped; two info series giving one label
// different values is an error.
int
tsdb_eval_fn_info(tsdb_eval_ctx_t *c, const fw_promql_expr_t *e, int64_t t,
                  struct tsdb_eval_val *args, size_t na, struct tsdb_eval_val *out)
{
    const fw_promql_expr_t *sel = e->param, *labels = na > 1 ? e->args[1] : NULL;
    const struct tsdb_eval_vec *base = &args[0].vec;
    struct tsdb_eval_val info;
    memset(&info, 0, sizeof(info));
    bool ids = false; // some element that is no info metric has an instance or a job
    for (size_t k = 0; k < base->len && !ids; k++)
        ids = !s_is_info(sel, base->items[k].ls) &&
              (fw_labels_get(&base->items[k].ls->labels, "instance") ||
               fw_labels_get(&base->items[k].ls->labels, "job"));
    if (ids && tsdb_eval_node(c, sel, t, &info) != 0)
        return -1;
    struct tsdb_eval_tab tab;
    tsdb_eval_ctx_tab_init(c, &tab, info.vec.len);
    const char **names = NULL;
    size_t n_names = 0, cap_names = 0, cap_added = 0, cap_joined = 0, *joined = NULL;
    const struct fw_label **added = NULL;
    int rc = s_info_index(c, &info.vec, &tab, &names, &n_names, &cap_names);
    for (size_t k = 0; k < base->len && rc == 0; k++) {
        const struct tsdb_eval_elem *b = &base->items[k];
        if (s_is_info(sel, b->ls)) {
            tsdb_eval_ctx_push_drop(c, &out->vec, b->ls, t, b->v, b->drop);
            continue;
        }
        // the joined info samples first: s_info_sig uses the scratch view the result needs
        size_t n_added = 0, seen = 0, room = b->ls->labels.len;
        tsdb_eval_ctx_grow(c, (void **)&joined, &cap_joined, n_names + 1, sizeof(*joined));
        for (size_t j = 0; j < n_names; j++) {
            size_t i = tsdb_eval_ctx_tab_get(&tab, s_info_sig(c, names[j], b->ls));
            if (i != SIZE_MAX) {
                joined[seen++] = i;
                room += info.vec.items[i].ls->labels.len;
            }
        }
        struct fw_labels v = tsdb_eval_ctx_view_of(c, b->ls, room - b->ls->labels.len);
        for (size_t j = 0; j < seen && rc == 0; j++) {
            size_t i = joined[j];
            const struct fw_labels *il = &info.vec.items[i].ls->labels;
            for (size_t q = 0; q < il->len && rc == 0; q++) {
                const struct fw_label *l = &il->items[q];
                if (strcmp(l->name, "__name__") == 0 || !s_wanted(labels, l->name))
                    continue;
                for (size_t a = 0; a < n_added; a++)
                    if (strcmp(added[a]->name, l->name) == 0 &&
                        strcmp(added[a]->value, l->value) != 0)
                        rc = tsdb_eval_ctx_fail(c, "conflicting label: %s", l->name);
                if (rc != 0 || fw_labels_get(&b->ls->labels, l->name))
                    continue;
                tsdb_eval_ctx_grow(c, (void **)&added, &cap_added, n_added + 1, sizeof(*added));
                added[n_added++] = l;
                tsdb_eval_ctx_view_set(&v, l->name, l->value);
            }
        }
        if (rc == 0 && (seen > 0 || s_all_match_empty(labels)))
            tsdb_eval_ctx_push_drop(c, &out->vec, tsdb_eval_ctx_intern(c, &v), t, b->v, b->drop);
    }
    tsdb_eval_ctx_release(c, (void **)&added, &cap_added, sizeof(*added));
    tsdb_eval_ctx_release(c, (void **)&joined, &cap_joined, sizeof(*joined));
    tsdb_eval_ctx_release(c, (void **)&names, &cap_names, sizeof(*names));
    tsdb_eval_ctx_tab_free(c, &tab);
    tsdb_eval_ctx_val_clear(c, &info);
    return rc;
}
