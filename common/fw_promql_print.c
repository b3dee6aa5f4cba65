/*  fw_promql_print.c — PromQL syntax trees back to text: fw_promql_format (fw_promql_ast.h).

    Used for logs and tests. One recursive walk appends each node's text to a growing heap
    buffer that the caller frees; the depth of that walk is bounded by the parser's
    FW_PROMQL_MAX_DEPTH. Split from fw_promql.c, which builds the trees this prints.
*/
#include "fw_promql_ast.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_time.h"

static void
s_cat(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    fw_mem_grow((void **)buf, cap, *len + n + 1, 1);
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

// A label name, quoted when it is not a legacy one ("a.b"), so the text parses again.
static void
s_cat_name(const char *name, char **b, size_t *l, size_t *c)
{
    if (fw_label_name_valid(name)) {
        s_cat(b, l, c, name);
        return;
    }
    char *q = fw_promql_quote(name, strlen(name));
    s_cat(b, l, c, q);
    free(q);
}

static void s_format(const fw_promql_expr_t *e, char **b, size_t *l, size_t *c);

// A duration: the expression when there is one, else ms as "5m".
static void
s_cat_duration(int64_t ms, const fw_promql_expr_t *expr, char **b, size_t *l, size_t *c)
{
    char tmp[64];
    if (expr)
        s_format(expr, b, l, c);
    else
        s_cat(b, l, c, fw_duration_format(ms, tmp, sizeof(tmp)));
}

// " offset <d>" (with a minus for a negative offset), or nothing for none.
static void
s_cat_offset(const fw_promql_expr_t *e, char **b, size_t *l, size_t *c)
{
    if (e->offset_expr) {
        s_cat(b, l, c, " offset ");
        s_format(e->offset_expr, b, l, c);
        return;
    }
    if (!e->offset_ms)
        return;
    s_cat(b, l, c, e->offset_ms < 0 ? " offset -" : " offset ");
    s_cat_duration(llabs(e->offset_ms), NULL, b, l, c);
}

// " @ <t>" / " @ start()" / " @ end()" for e's @ modifier, or nothing.
static void
s_cat_at(const fw_promql_expr_t *e, char **b, size_t *l, size_t *c)
{
    char tmp[64];
    switch (e->at) {
    case FW_PQ_AT_NONE: return;
    case FW_PQ_AT_START: s_cat(b, l, c, " @ start()"); return;
    case FW_PQ_AT_END: s_cat(b, l, c, " @ end()"); return;
    case FW_PQ_AT_TIME:
        snprintf(tmp, sizeof(tmp), " @ %lld.%03lld", (long long)(e->at_ms / 1000),
                 (long long)llabs(e->at_ms % 1000));
        if (e->at_ms < 0 && e->at_ms > -1000)
            snprintf(tmp, sizeof(tmp), " @ -0.%03lld", (long long)llabs(e->at_ms));
        s_cat(b, l, c, tmp);
        return;
    }
}

// " fill(v)" and the like: what then v as a number.
static void
s_cat_fill(const char *what, double v, char **b, size_t *l, size_t *c)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.17g)", v);
    s_cat(b, l, c, what);
    s_cat(b, l, c, tmp);
}

static void
s_format(const fw_promql_expr_t *e, char **b, size_t *l, size_t *c)
{
    char tmp[64];
    switch (e->kind) {
    case FW_PQ_NUMBER:
        for (int prec = 1; prec <= 17; prec++) { // shortest text that reads back the same
            snprintf(tmp, sizeof(tmp), "%.*g", prec, e->num);
            if (strtod(tmp, NULL) == e->num || isnan(e->num))
                break;
        }
        if (e->num == floor(e->num) && fabs(e->num) < 1e15)
            snprintf(tmp, sizeof(tmp), "%.0f", e->num); // 60, not 6e+01
        s_cat(b, l, c, tmp);
        return;
    case FW_PQ_STR:
        s_cat(b, l, c, "\"");
        s_cat(b, l, c, e->str);
        s_cat(b, l, c, "\"");
        return;
    case FW_PQ_SELECTOR: {
        static const char *const ops[] = {"=", "!=", "=~", "!~"};
        if (e->metric)
            s_cat(b, l, c, e->metric);
        bool any = false;
        for (size_t k = e->metric ? 1 : 0; k < e->n_matchers; k++) {
            s_cat(b, l, c, any ? ", " : "{");
            any = true;
            s_cat_name(e->matchers[k].name, b, l, c);
            s_cat(b, l, c, ops[e->matchers[k].op]);
            s_cat(b, l, c, "\"");
            s_cat(b, l, c, e->matchers[k].value);
            s_cat(b, l, c, "\"");
        }
        if (any)
            s_cat(b, l, c, "}");
        if (e->range_ms || e->range_expr) {
            s_cat(b, l, c, "[");
            s_cat_duration(e->range_ms, e->range_expr, b, l, c);
            s_cat(b, l, c, "]");
        }
        s_cat_offset(e, b, l, c);
        s_cat_at(e, b, l, c);
        s_cat(b, l, c, e->anchored ? " anchored" : e->smoothed ? " smoothed" : "");
        return;
    }
    case FW_PQ_CALL:
        s_cat(b, l, c, e->func_name);
        s_cat(b, l, c, "(");
        for (size_t k = 0; k < e->n_args; k++) {
            if (k)
                s_cat(b, l, c, ", ");
            s_format(e->args[k], b, l, c);
        }
        s_cat(b, l, c, ")");
        return;
    case FW_PQ_AGG:
        s_cat(b, l, c, fw_promql_aggop_str(e->agg));
        if (e->n_labels || e->without) {
            s_cat(b, l, c, e->without ? " without (" : " by (");
            for (size_t k = 0; k < e->n_labels; k++) {
                if (k)
                    s_cat(b, l, c, ", ");
                s_cat_name(e->labels[k], b, l, c);
            }
            s_cat(b, l, c, ")");
        }
        s_cat(b, l, c, " (");
        if (e->param) {
            s_format(e->param, b, l, c);
            s_cat(b, l, c, ", ");
        }
        s_format(e->args[0], b, l, c);
        s_cat(b, l, c, ")");
        return;
    case FW_PQ_BINARY:
        s_format(e->args[0], b, l, c);
        s_cat(b, l, c, " ");
        s_cat(b, l, c, fw_promql_binop_str(e->op));
        if (e->return_bool)
            s_cat(b, l, c, " bool");
        if (e->has_matching) {
            s_cat(b, l, c, e->on ? " on (" : " ignoring (");
            for (size_t k = 0; k < e->n_labels; k++) {
                if (k)
                    s_cat(b, l, c, ", ");
                s_cat_name(e->labels[k], b, l, c);
            }
            s_cat(b, l, c, ")");
            if (e->card == FW_PQ_CARD_MANY_TO_ONE || e->card == FW_PQ_CARD_ONE_TO_MANY) {
                s_cat(b, l, c,
                      e->card == FW_PQ_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
                for (size_t k = 0; k < e->n_include; k++) {
                    if (k)
                        s_cat(b, l, c, ", ");
                    s_cat_name(e->include[k], b, l, c);
                }
                s_cat(b, l, c, ")");
            }
        }
        if (e->fill_l && e->fill_r && e->fill_lv == e->fill_rv) {
            s_cat_fill(" fill(", e->fill_lv, b, l, c);
        } else {
            if (e->fill_l)
                s_cat_fill(" fill_left(", e->fill_lv, b, l, c);
            if (e->fill_r)
                s_cat_fill(" fill_right(", e->fill_rv, b, l, c);
        }
        s_cat(b, l, c, " ");
        s_format(e->args[1], b, l, c);
        return;
    case FW_PQ_NEG:
        s_cat(b, l, c, "-");
        s_format(e->args[0], b, l, c);
        return;
    case FW_PQ_PAREN:
        s_cat(b, l, c, "(");
        s_format(e->args[0], b, l, c);
        s_cat(b, l, c, ")");
        return;
    case FW_PQ_SUBQUERY:
        s_format(e->args[0], b, l, c);
        s_cat(b, l, c, "[");
        s_cat_duration(e->range_ms, e->range_expr, b, l, c);
        s_cat(b, l, c, ":");
        if (e->step_ms || e->step_expr)
            s_cat_duration(e->step_ms, e->step_expr, b, l, c);
        s_cat(b, l, c, "]");
        s_cat_offset(e, b, l, c);
        s_cat_at(e, b, l, c);
        return;
    }
}

char *
fw_promql_format(const fw_promql_expr_t *e)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    s_cat(&buf, &len, &cap, "");
    s_format(e, &buf, &len, &cap);
    return buf;
}
