/*  fw_promql_pretty.c — PromQL trees as Prometheus 3 prints them: fw_promql_string (its
    String()) and fw_promql_pretty (its Prettify, what /api/v1/format_query answers).

    Unlike fw_promql_format (logs and tests), the spelling here is Prometheus's exactly
    (promql/parser/printer.go, prettier.go): numbers as strconv.FormatFloat(v, 'f', -1),
    strings and matcher values as strconv.Quote, a selector's matchers sorted and joined
    by ",", aggregations as `sum by (a) (x)`. Pretty splits a node over lines, indented two
    spaces a level, only when its one-line text is longer than 100 characters. Each node's
    one-line text is rebuilt at each level, so the cost is the tree's size times its height,
    which the parser bounds (FW_PROMQL_MAX_DEPTH).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"
#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_promql_ast.h"
#include "fw_time.h"

#define S_LINE_MAX 100

struct s_buf {
    char *p;
    size_t len, cap;
};

static void
s_put(struct s_buf *b, const char *s, size_t n)
{
    fw_mem_grow((void **)&b->p, &b->cap, b->len + n + 1, 1);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
s_puts(struct s_buf *b, const char *s)
{
    s_put(b, s, strlen(s));
}

// Go's strconv.Quote of s.
static void
s_quote(struct s_buf *b, const char *s)
{
    char *q = fw_promql_quote(s, strlen(s));
    s_puts(b, q);
    free(q);
}

char *
fw_promql_quote(const char *s, size_t n)
{
    struct s_buf b = {0};
    s_puts(&b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\a': esc = "\\a"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\v': esc = "\\v"; break;
        default: break;
        }
        size_t seq = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        bool valid = c < 0x80 || (seq > 1 && i + seq <= n && fw_utf8_valid(s + i, seq));
        if (!esc && (c < 0x20 || c == 0x7f || !valid)) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            esc = tmp;
        }
        if (esc) {
            s_puts(&b, esc);
        } else {
            s_put(&b, s + i, c < 0x80 ? 1 : seq);
            i += (c < 0x80 ? 1 : seq) - 1;
        }
    }
    s_puts(&b, "\"");
    return b.p;
}

// strconv.FormatFloat(v, 'f', -1, 64): the shortest digits that read back as v, never in
// exponent form.
static void
s_float(struct s_buf *b, double v)
{
    char out[FW_GOFLOAT_F_MAX];
    s_puts(b, fw_gofloat_format(v, 'f', out, sizeof(out)));
}

static void
s_duration(struct s_buf *b, int64_t ms)
{
    char tmp[64];
    s_puts(b, fw_duration_format(ms, tmp, sizeof(tmp)));
}

static void
s_offset(struct s_buf *b, int64_t ms)
{
    if (ms > 0) {
        s_puts(b, " offset ");
        s_duration(b, ms);
    } else if (ms < 0) {
        s_puts(b, " offset -");
        s_duration(b, -ms);
    }
}

// writeLabels: names joined by ", ", quoted when not a legacy label name.
static void
s_labels(struct s_buf *b, char **names, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (k)
            s_puts(b, ", ");
        if (fw_label_name_valid(names[k]))
            s_puts(b, names[k]);
        else
            s_quote(b, names[k]);
    }
}

static int
s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
s_selector(struct s_buf *b, const fw_promql_expr_t *e)
{
    static const char *const ops[] = {"=", "!=", "=~", "!~"};
    char **ms = fw_calloc(e->n_matchers + 1, sizeof(*ms));
    size_t n = 0;
    for (size_t k = 0; k < e->n_matchers; k++) {
        const struct fw_matcher *m = &e->matchers[k];
        if (e->metric && m->op == FW_MATCH_EQ && strcmp(m->name, "__name__") == 0 &&
            strcmp(m->value, e->metric) == 0 && *m->value)
            continue;
        struct s_buf one = {0};
        if (fw_label_name_valid(m->name))
            s_puts(&one, m->name);
        else
            s_quote(&one, m->name);
        s_puts(&one, ops[m->op]);
        s_quote(&one, m->value);
        ms[n++] = one.p;
    }
    qsort(ms, n, sizeof(*ms), s_str_cmp);
    if (e->metric)
        s_puts(b, e->metric);
    for (size_t k = 0; k < n; k++) {
        s_puts(b, k ? "," : "{");
        s_puts(b, ms[k]);
        free(ms[k]);
    }
    if (n)
        s_puts(b, "}");
    free(ms);
    if (e->range_ms) {
        s_puts(b, "[");
        s_duration(b, e->range_ms);
        s_puts(b, "]");
    }
    s_offset(b, e->offset_ms);
}

// AggregateExpr.writeAggOpStr: "sum", "sum by (a) ", "sum without () ".
static void
s_agg_op(struct s_buf *b, const fw_promql_expr_t *e)
{
    s_puts(b, fw_promql_aggop_str(e->agg));
    if (e->without || e->n_labels) {
        s_puts(b, e->without ? " without (" : " by (");
        s_labels(b, e->labels, e->n_labels);
        s_puts(b, ") ");
    }
}

// BinaryExpr's operator, " bool" and matching: "+ on (a) group_left (b)".
static void
s_bin_op(struct s_buf *b, const fw_promql_expr_t *e)
{
    s_puts(b, fw_promql_binop_str(e->op));
    if (e->return_bool)
        s_puts(b, " bool");
    bool grouped = e->card == FW_PQ_CARD_MANY_TO_ONE || e->card == FW_PQ_CARD_ONE_TO_MANY;
    if (e->n_labels > 0 || (e->has_matching && e->on) || grouped) {
        s_puts(b, e->on ? " on (" : " ignoring (");
        s_labels(b, e->labels, e->n_labels);
        s_puts(b, ")");
    }
    if (grouped) {
        s_puts(b, e->card == FW_PQ_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
        s_labels(b, e->include, e->n_include);
        s_puts(b, ")");
    }
}

// "[range:step] offset d" after a subquery's expression.
static void
s_subquery_suffix(struct s_buf *b, const fw_promql_expr_t *e)
{
    s_puts(b, "[");
    s_duration(b, e->range_ms);
    s_puts(b, ":");
    if (e->step_ms)
        s_duration(b, e->step_ms);
    s_puts(b, "]");
    s_offset(b, e->offset_ms);
}

static void
s_string(struct s_buf *b, const fw_promql_expr_t *e)
{
    switch (e->kind) {
    case FW_PQ_NUMBER: s_float(b, e->num); return;
    case FW_PQ_STR: s_quote(b, e->str); return;
    case FW_PQ_SELECTOR: s_selector(b, e); return;
    case FW_PQ_CALL:
        s_puts(b, e->func_name);
        s_puts(b, "(");
        for (size_t k = 0; k < e->n_args; k++) {
            if (k)
                s_puts(b, ", ");
            s_string(b, e->args[k]);
        }
        s_puts(b, ")");
        return;
    case FW_PQ_AGG:
        s_agg_op(b, e);
        s_puts(b, "(");
        if (e->param) {
            s_string(b, e->param);
            s_puts(b, ", ");
        }
        s_string(b, e->args[0]);
        s_puts(b, ")");
        return;
    case FW_PQ_BINARY:
        s_string(b, e->args[0]);
        s_puts(b, " ");
        s_bin_op(b, e);
        s_puts(b, " ");
        s_string(b, e->args[1]);
        return;
    case FW_PQ_NEG:
        s_puts(b, "-");
        s_string(b, e->args[0]);
        return;
    case FW_PQ_PAREN:
        s_puts(b, "(");
        s_string(b, e->args[0]);
        s_puts(b, ")");
        return;
    case FW_PQ_SUBQUERY:
        s_string(b, e->args[0]);
        s_subquery_suffix(b, e);
        return;
    }
}

char *
fw_promql_string(const fw_promql_expr_t *e)
{
    struct s_buf b = {0};
    s_puts(&b, "");
    s_string(&b, e);
    return b.p;
}

static void
s_indent(struct s_buf *b, int level)
{
    for (int k = 0; k < level; k++)
        s_puts(b, "  ");
}

// The one-line text of e, and whether it is longer than a line.
static bool
s_needs_split(const fw_promql_expr_t *e)
{
    char *s = fw_promql_string(e);
    bool split = strlen(s) > S_LINE_MAX;
    free(s);
    return split;
}

static void
s_pretty(struct s_buf *b, const fw_promql_expr_t *e, int level)
{
    if (e->kind == FW_PQ_NEG) {
        // UnaryExpr: the operator at this level's indent, then the child without its own.
        struct s_buf child = {0};
        s_puts(&child, "");
        s_pretty(&child, e->args[0], level);
        const char *c = child.p;
        while (*c == ' ' || *c == '\n' || *c == '\t')
            c++;
        size_t n = strlen(c);
        while (n > 0 && (c[n - 1] == ' ' || c[n - 1] == '\n' || c[n - 1] == '\t'))
            n--;
        s_indent(b, level);
        s_puts(b, "-");
        s_put(b, c, n);
        free(child.p);
        return;
    }
    if (e->kind == FW_PQ_SUBQUERY) {
        if (!s_needs_split(e)) {
            s_string(b, e); // Prometheus adds no indent here
            return;
        }
        s_pretty(b, e->args[0], level);
        s_subquery_suffix(b, e);
        return;
    }
    s_indent(b, level);
    bool leaf = e->kind == FW_PQ_NUMBER || e->kind == FW_PQ_STR || e->kind == FW_PQ_SELECTOR;
    if (leaf || !s_needs_split(e)) {
        s_string(b, e);
        return;
    }
    switch (e->kind) {
    case FW_PQ_AGG:
        s_agg_op(b, e);
        s_puts(b, "(\n");
        if (e->param) {
            s_pretty(b, e->param, level + 1);
            s_puts(b, ",\n");
        }
        s_pretty(b, e->args[0], level + 1);
        s_puts(b, "\n");
        s_indent(b, level);
        s_puts(b, ")");
        return;
    case FW_PQ_BINARY: {
        // BinaryExpr.Pretty does not indent its own first line: its LHS does.
        b->len -= (size_t)level * 2;
        b->p[b->len] = '\0';
        s_pretty(b, e->args[0], level + 1);
        s_puts(b, "\n");
        s_indent(b, level);
        s_bin_op(b, e);
        s_puts(b, "\n");
        s_pretty(b, e->args[1], level + 1);
        return;
    }
    case FW_PQ_CALL:
        s_puts(b, e->func_name);
        s_puts(b, "(\n");
        for (size_t k = 0; k < e->n_args; k++) {
            if (k)
                s_puts(b, ",\n");
            s_pretty(b, e->args[k], level + 1);
        }
        s_puts(b, "\n");
        s_indent(b, level);
        s_puts(b, ")");
        return;
    case FW_PQ_PAREN:
        s_puts(b, "(\n");
        s_pretty(b, e->args[0], level + 1);
        s_puts(b, "\n");
        s_indent(b, level);
        s_puts(b, ")");
        return;
    default: s_string(b, e); return;
    }
}

char *
fw_promql_pretty(const fw_promql_expr_t *e)
{
    struct s_buf b = {0};
    s_puts(&b, "");
    s_pretty(&b, e, 0);
    return b.p;
}
