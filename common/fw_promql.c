/*  fw_promql.c — the PromQL parser: text to a typed syntax tree (fw_promql_ast.h).

    A lexer (fw_promql_lex.c) turns the whole text into a token array first (so the parser
    can look ahead freely), then a recursive-descent parser with precedence climbing builds the
   tree. The operator precedence and associativity are Prometheus's: `or` < `and unless` <
    comparisons < `+ -` < `* / % atan2` < unary minus < `^` (right-associative), so
    `-2^2` is -4 and `2^-1` parses. Types are checked while building, with Prometheus's
    messages, and every error carries the byte position of the offending token.
    Selectors and their modifiers are parsed in fw_promql_sel.c (label regexes compiled
    through fw_regex, RE2, anchored as Prometheus 3 does, `^(?s:re)$`, so matching is linear
    and always decides), durations in fw_promql_dur.c, info()'s arguments in
    fw_promql_info.c; the function table is fw_promql_funcs.def.
*/
#include "fw_promql.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"
#include "fw_names.h"
#include "fw_promql_ast.h"
#include "fw_promql_funcs.h"
#include "fw_promql_lex.h"
#include "fw_time.h"

// ---------------------------------------------------------------------------------------
// Tables

static const struct {
    const char *name;
    fw_pq_aggop_t op;
    bool param;
} s_aggs[] = {
    {"sum", FW_PQ_AGG_SUM, false},          {"avg", FW_PQ_AGG_AVG, false},
    {"min", FW_PQ_AGG_MIN, false},          {"max", FW_PQ_AGG_MAX, false},
    {"count", FW_PQ_AGG_COUNT, false},      {"group", FW_PQ_AGG_GROUP, false},
    {"stddev", FW_PQ_AGG_STDDEV, false},    {"stdvar", FW_PQ_AGG_STDVAR, false},
    {"topk", FW_PQ_AGG_TOPK, true},         {"bottomk", FW_PQ_AGG_BOTTOMK, true},
    {"quantile", FW_PQ_AGG_QUANTILE, true}, {"count_values", FW_PQ_AGG_COUNT_VALUES, true},
    {"limitk", FW_PQ_AGG_LIMITK, true},     {"limit_ratio", FW_PQ_AGG_LIMIT_RATIO, true},
};

static const char *const s_binop_names[] = {
    "+", "-", "*", "/", "%", "^", "atan2", "==", "!=", ">", "<", ">=", "<=", "and", "or", "unless",
};

const char *
fw_promql_binop_str(fw_pq_binop_t op)
{
    return (size_t)op < sizeof(s_binop_names) / sizeof(s_binop_names[0]) ? s_binop_names[op] : "?";
}

const char *
fw_promql_aggop_str(fw_pq_aggop_t op)
{
    for (size_t k = 0; k < sizeof(s_aggs) / sizeof(s_aggs[0]); k++)
        if (s_aggs[k].op == op)
            return s_aggs[k].name;
    return "?";
}

bool
fw_promql_binop_is_comparison(fw_pq_binop_t op)
{
    return op >= FW_PQ_EQL && op <= FW_PQ_LTE;
}

bool
fw_promql_binop_is_set(fw_pq_binop_t op)
{
    return op == FW_PQ_AND || op == FW_PQ_OR || op == FW_PQ_UNLESS;
}

const char *
fw_promql_type_str(fw_pq_type_t t)
{
    switch (t) {
    case FW_PQ_SCALAR: return "scalar";
    case FW_PQ_VECTOR: return "instant vector";
    case FW_PQ_MATRIX: return "range vector";
    case FW_PQ_STRING: return "string";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------
// Nodes

fw_promql_expr_t *
fw_promql_node(fw_pq_kind_t kind, fw_pq_type_t type, int pos)
{
    fw_promql_expr_t *e = fw_calloc(1, sizeof(*e));
    e->kind = kind;
    e->type = type;
    e->pos = pos;
    e->height = 1;
    return e;
}

// Account for child (an argument or the aggregation parameter) in e's height.
static void
s_grow_height(fw_promql_expr_t *e, const fw_promql_expr_t *child)
{
    if (child->height + 1 > e->height)
        e->height = child->height + 1;
}

void
fw_promql_add_arg(fw_promql_expr_t *e, fw_promql_expr_t *arg)
{
    e->args = fw_realloc(e->args, (e->n_args + 1) * sizeof(*e->args));
    e->args[e->n_args++] = arg;
    s_grow_height(e, arg);
}

static void
s_strv_free(char **v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(v[k]);
    free(v);
}

void
fw_promql_expr_destroy(fw_promql_expr_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_promql_expr_t *e = *self_p;
    for (size_t k = 0; k < e->n_args; k++)
        fw_promql_expr_destroy(&e->args[k]);
    free(e->args);
    fw_promql_expr_destroy(&e->param);
    fw_promql_expr_destroy(&e->range_expr);
    fw_promql_expr_destroy(&e->offset_expr);
    fw_promql_expr_destroy(&e->step_expr);
    for (size_t k = 0; k < e->n_matchers; k++)
        fw_matcher_clear(&e->matchers[k]);
    free(e->matchers);
    s_strv_free(e->labels, e->n_labels);
    s_strv_free(e->include, e->n_include);
    free(e->metric);
    free(e->str);
    free(e);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------------------
// Parser

// Which delimiters are open at the end of p's tokens: the message Prometheus's lexer gives
// at the end of input then, or NULL with none open (the parser's own message stands).
static const char *
s_eof_open(const fw_promql_parser_t *p)
{
    // Prometheus's lexer reports the end of input by what is still open: braces first, then
    // parentheses, then a bracket; only with nothing open does the parser's text show
    int paren = 0, brace = 0, brack = 0;
    for (size_t k = 0; k < p->n; k++)
        switch (p->toks[k].type) {
        case T_LPAREN: paren++; break;
        case T_RPAREN: paren--; break;
        case T_LBRACE: brace++; break;
        case T_RBRACE: brace--; break;
        case T_LBRACK: brack++; break;
        case T_RBRACK: brack--; break;
        default: break;
        }
    return brace > 0   ? "unexpected end of input inside braces"
           : paren > 0 ? "unclosed left parenthesis"
           : brack > 0 ? "unclosed left bracket"
                       : NULL;
}

void
fw_promql_eof_error(fw_promql_parser_t *p, int pos)
{
    const char *open = s_eof_open(p);
    fw_promql_lex_fail(p, pos, "%s", open ? open : "unexpected end of input");
}

void
fw_promql_unexpected(fw_promql_parser_t *p, const fw_promql_tok_t *t, const char *where,
                     const char *expected)
{
    if (t->type == T_EOF && s_eof_open(p)) {
        fw_promql_eof_error(p, t->pos);
        return;
    }
    char what[128];
    if (t->type == T_IDENT)
        snprintf(what, sizeof(what), "identifier \"%s\"", t->str);
    else if (t->type == T_NUM || t->type == T_DUR || t->type == T_STR)
        snprintf(what, sizeof(what), "%s \"%.*s\"", fw_promql_lex_tok_desc(t->type),
                 t->len > 60 ? 60 : t->len, p->text + t->pos);
    else
        snprintf(what, sizeof(what), "%s", fw_promql_lex_tok_desc(t->type));
    fw_promql_lex_fail(p, t->pos, "unexpected %s%s%s%s%s", what, where ? " in " : "",
                       where ? where : "", expected ? ", expected " : "", expected ? expected : "");
}

bool
fw_promql_expect(fw_promql_parser_t *p, fw_promql_tok_type_t type, const char *where)
{
    if (fw_promql_peek(p)->type == type) {
        fw_promql_next(p);
        return true;
    }
    fw_promql_unexpected(p, fw_promql_peek(p), where, fw_promql_lex_tok_desc(type));
    return false;
}

static fw_promql_expr_t *s_parse_expr(fw_promql_parser_t *p, int min_prec);

static int
s_binop_of(const fw_promql_tok_t *t, fw_pq_binop_t *op)
{
    switch (t->type) {
    case T_ADD: *op = FW_PQ_ADD; return 4;
    case T_SUB: *op = FW_PQ_SUB; return 4;
    case T_MUL: *op = FW_PQ_MUL; return 5;
    case T_DIV: *op = FW_PQ_DIV; return 5;
    case T_MOD: *op = FW_PQ_MOD; return 5;
    case T_POW: *op = FW_PQ_POW; return 7;
    case T_EQL: *op = FW_PQ_EQL; return 3;
    case T_NEQ: *op = FW_PQ_NEQ; return 3;
    case T_GTR: *op = FW_PQ_GTR; return 3;
    case T_LSS: *op = FW_PQ_LSS; return 3;
    case T_GTE: *op = FW_PQ_GTE; return 3;
    case T_LTE: *op = FW_PQ_LTE; return 3;
    case T_IDENT:
        if (fw_promql_is_kw(t, "and")) {
            *op = FW_PQ_AND;
            return 2;
        }
        if (fw_promql_is_kw(t, "unless")) {
            *op = FW_PQ_UNLESS;
            return 2;
        }
        if (fw_promql_is_kw(t, "or")) {
            *op = FW_PQ_OR;
            return 1;
        }
        if (fw_promql_is_kw(t, "atan2")) {
            *op = FW_PQ_ATAN2;
            return 5;
        }
        return 0;
    default: return 0;
    }
}

#define S_PREC_UNARY 6
#define S_PREC_POW 7

static bool
s_is_keyword(const char *s)
{
    static const char *const kws[] = {"and",    "or",       "unless",     "by",          "without",
                                      "on",     "ignoring", "group_left", "group_right", "bool",
                                      "offset", "atan2",    NULL};
    for (size_t k = 0; kws[k]; k++)
        if (strcasecmp(s, kws[k]) == 0)
            return true;
    return false;
}

// A parenthesised list of label names: "(a, b,)" — labels are identifiers or keywords, or
// quoted UTF-8 names ("a.b"), as Prometheus 3 reads them.
static int
s_parse_label_list(fw_promql_parser_t *p, char ***out, size_t *n_out, const char *where)
{
    if (!fw_promql_expect(p, T_LPAREN, where))
        return -1;
    for (;;) {
        fw_promql_tok_t *t = fw_promql_peek(p);
        if (t->type == T_RPAREN) {
            fw_promql_next(p);
            return 0;
        }
        if ((t->type != T_IDENT && t->type != T_STR) ||
            (t->type == T_IDENT && strchr(t->str, ':'))) {
            fw_promql_unexpected(p, t, where, "label");
            return -1;
        }
        if (t->type == T_STR && !fw_names_label_valid(t->str, FW_NAMES_UTF8)) {
            // a quoted label name (Prometheus 3): any UTF-8 name
            char *q = fw_promql_quote(t->str, strlen(t->str));
            fw_promql_lex_fail(p, t->pos, "invalid label name for grouping: %s", q);
            free(q);
            return -1;
        }
        fw_promql_next(p);
        *out = fw_realloc(*out, (*n_out + 1) * sizeof(char *));
        (*out)[(*n_out)++] = fw_strdup(t->str);
        t = fw_promql_peek(p);
        if (t->type == T_COMMA) {
            fw_promql_next(p);
            continue;
        }
        if (t->type != T_RPAREN) {
            fw_promql_unexpected(p, t, where, "\",\" or \")\"");
            return -1;
        }
    }
}

static fw_promql_expr_t *
s_parse_call(fw_promql_parser_t *p)
{
    fw_promql_tok_t *t = fw_promql_next(p);
    const fw_promql_func_info_t *f = fw_promql_funcs_find(t->str);
    if (fw_promql_funcs_unsupported(t->str)) {
        fw_promql_lex_fail(p, t->pos, "function \"%s\" is not supported by floorwatch yet", t->str);
        return NULL;
    }
    if (!f) {
        fw_promql_lex_fail(p, t->pos, "unknown function with name \"%s\"", t->str);
        return NULL;
    }
    fw_promql_expr_t *e = fw_promql_node(FW_PQ_CALL, f->ret, t->pos);
    e->func = f->fn;
    e->func_name = f->name;
    fw_promql_next(p); // (
    if (fw_promql_peek(p)->type != T_RPAREN) {
        for (;;) {
            // info()'s second argument is a label selector that may match empty values
            p->info_labels = f->fn == FW_PQ_FN_INFO && e->n_args == 1;
            fw_promql_expr_t *a = s_parse_expr(p, 0);
            p->info_labels = false;
            if (!a)
                goto fail;
            fw_promql_add_arg(e, a);
            if (fw_promql_peek(p)->type == T_COMMA) {
                fw_promql_next(p);
                continue;
            }
            break;
        }
    }
    if (!fw_promql_expect(p, T_RPAREN, "function call"))
        goto fail;
    int n = (int)e->n_args, max = f->max_args;
    if (n < f->min_args) {
        fw_promql_lex_fail(p, e->pos, "expected at least %d argument(s) in call to \"%s\", got %d",
                           f->min_args, e->func_name, n);
        goto fail;
    }
    if (max >= 0 && n > max) {
        if (f->min_args == max)
            fw_promql_lex_fail(p, e->pos, "expected %d argument(s) in call to \"%s\", got %d", max,
                               e->func_name, n);
        else
            fw_promql_lex_fail(p, e->pos,
                               "expected at most %d argument(s) in call to \"%s\", got %d", max,
                               e->func_name, n);
        goto fail;
    }
    if (n > 64) {
        fw_promql_lex_fail(p, e->pos, "too many arguments in call to \"%s\"", e->func_name);
        goto fail;
    }
    if (f->fn == FW_PQ_FN_INFO && e->n_args > 1 && e->args[1]->type == FW_PQ_VECTOR &&
        fw_promql_info_prepare(p, e) != 0)
        goto fail;
    for (size_t k = 0; k < e->n_args; k++) {
        size_t ti = k < (size_t)f->n_types ? k : (size_t)f->n_types - 1; // variadic: the last
        if (e->args[k]->type != f->args[ti]) {
            fw_promql_lex_fail(p, e->args[k]->pos,
                               "expected type %s in call to function \"%s\", got %s",
                               fw_promql_type_str(f->args[ti]), e->func_name,
                               fw_promql_type_str(e->args[k]->type));
            goto fail;
        }
    }
    if (f->fn == FW_PQ_FN_INFO && !e->param && fw_promql_info_prepare(p, e) != 0)
        goto fail;
    return e;
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

// An aggregation's "by (...)" or "without (...)", when the next token starts one, into e;
// *grouped is set when there was one. 0, or -1 on a parse error.
static int
s_parse_grouping(fw_promql_parser_t *p, fw_promql_expr_t *e, bool *grouped)
{
    if (!fw_promql_is_kw(fw_promql_peek(p), "by") && !fw_promql_is_kw(fw_promql_peek(p), "without"))
        return 0;
    e->without = fw_promql_is_kw(fw_promql_peek(p), "without");
    fw_promql_next(p);
    *grouped = true;
    return s_parse_label_list(p, &e->labels, &e->n_labels, "grouping opts") != 0 ? -1 : 0;
}

static fw_promql_expr_t *
s_parse_agg(fw_promql_parser_t *p, size_t ai)
{
    fw_promql_tok_t *t = fw_promql_next(p);
    fw_promql_expr_t *e = fw_promql_node(FW_PQ_AGG, FW_PQ_VECTOR, t->pos);
    e->agg = s_aggs[ai].op;
    bool grouped = false;
    if (s_parse_grouping(p, e, &grouped) != 0)
        goto fail;
    if (!fw_promql_expect(p, T_LPAREN, "aggregation"))
        goto fail;
    if (s_aggs[ai].param) {
        e->param = s_parse_expr(p, 0);
        if (!e->param)
            goto fail;
        s_grow_height(e, e->param);
        if (!fw_promql_expect(p, T_COMMA, "aggregation"))
            goto fail;
    }
    fw_promql_expr_t *a = s_parse_expr(p, 0);
    if (!a)
        goto fail;
    fw_promql_add_arg(e, a);
    if (!fw_promql_expect(p, T_RPAREN, "aggregation"))
        goto fail;
    if (!grouped && s_parse_grouping(p, e, &grouped) != 0)
        goto fail;
    if (a->type != FW_PQ_VECTOR) {
        fw_promql_lex_fail(p, a->pos,
                           "expected type instant vector in aggregation expression, got %s",
                           fw_promql_type_str(a->type));
        goto fail;
    }
    fw_pq_type_t want = e->agg == FW_PQ_AGG_COUNT_VALUES ? FW_PQ_STRING : FW_PQ_SCALAR;
    if (e->param && e->param->type != want) {
        fw_promql_lex_fail(p, e->param->pos, "expected type %s in aggregation parameter, got %s",
                           fw_promql_type_str(want), fw_promql_type_str(e->param->type));
        goto fail;
    }
    return e;
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

static fw_promql_expr_t *
s_parse_primary(fw_promql_parser_t *p)
{
    fw_promql_tok_t *t = fw_promql_peek(p);
    fw_promql_expr_t *e;
    switch (t->type) {
    case T_NUM:
        e = fw_promql_node(FW_PQ_NUMBER, FW_PQ_SCALAR, t->pos);
        e->num = t->num;
        fw_promql_next(p);
        return e;
    case T_DUR:
        e = fw_promql_node(FW_PQ_NUMBER, FW_PQ_SCALAR, t->pos);
        e->num = (double)t->ms / 1000.0;
        fw_promql_next(p);
        return e;
    case T_STR:
        e = fw_promql_node(FW_PQ_STR, FW_PQ_STRING, t->pos);
        e->str = fw_strdup(t->str);
        fw_promql_next(p);
        return e;
    case T_LPAREN: {
        fw_promql_next(p);
        fw_promql_expr_t *in = s_parse_expr(p, 0);
        if (!in)
            return NULL;
        if (!fw_promql_expect(p, T_RPAREN, "paren expression")) {
            fw_promql_expr_destroy(&in);
            return NULL;
        }
        e = fw_promql_node(FW_PQ_PAREN, in->type, t->pos);
        fw_promql_add_arg(e, in);
        return e;
    }
    case T_LBRACE: return fw_promql_parse_selector(p);
    case T_IDENT: {
        for (size_t k = 0; k < sizeof(s_aggs) / sizeof(s_aggs[0]); k++)
            if (strcasecmp(t->str, s_aggs[k].name) == 0) {
                fw_promql_tok_t *n = fw_promql_peek2(p);
                if (n->type == T_LPAREN || fw_promql_is_kw(n, "by") ||
                    fw_promql_is_kw(n, "without"))
                    return s_parse_agg(p, k);
            }
        if (fw_promql_peek2(p)->type == T_LPAREN)
            return s_parse_call(p);
        if (s_is_keyword(t->str)) {
            fw_promql_unexpected(p, t, NULL, NULL);
            return NULL;
        }
        return fw_promql_parse_selector(p);
    }
    default: fw_promql_unexpected(p, t, NULL, NULL); return NULL;
    }
}

// A run of signs is read in one loop rather than one recursion per sign, so `-----…1`
// cannot exhaust the stack. As in Prometheus a number absorbs its signs; other operands
// keep one negation, or two for an even count (-(-x) drops the metric name, so it is not x).
static fw_promql_expr_t *
s_parse_unary(fw_promql_parser_t *p)
{
    const fw_promql_tok_t *last = NULL;
    int first_neg = -1, last_neg = -1;
    size_t n_neg = 0;
    while (fw_promql_peek(p)->type == T_SUB || fw_promql_peek(p)->type == T_ADD) {
        last = fw_promql_next(p);
        if (last->type == T_SUB) {
            if (first_neg < 0)
                first_neg = last->pos;
            last_neg = last->pos;
            n_neg++;
        }
    }
    if (!last) {
        fw_promql_expr_t *e = s_parse_primary(p);
        if (!e)
            return NULL;
        return fw_promql_parse_postfix(p, e);
    }
    fw_promql_expr_t *in = s_parse_expr(p, S_PREC_POW);
    if (!in)
        return NULL;
    if (in->type != FW_PQ_SCALAR && in->type != FW_PQ_VECTOR) {
        fw_promql_lex_fail(p, last->pos,
                           "unary expression only allowed on expressions of type scalar or "
                           "instant vector, got %s",
                           fw_promql_type_str(in->type));
        fw_promql_expr_destroy(&in);
        return NULL;
    }
    if (n_neg == 0)
        return in;
    if (in->kind == FW_PQ_NUMBER) {
        if (n_neg % 2)
            in->num = -in->num;
        in->pos = first_neg;
        return in;
    }
    if (n_neg % 2 == 0) {
        fw_promql_expr_t *inner = fw_promql_node(FW_PQ_NEG, in->type, last_neg);
        fw_promql_add_arg(inner, in);
        in = inner;
    }
    fw_promql_expr_t *e = fw_promql_node(FW_PQ_NEG, in->type, first_neg);
    fw_promql_add_arg(e, in);
    return e;
}

// "(v)" after fill, fill_left or fill_right: a signed number or duration into *v.
static int
s_parse_fill_value(fw_promql_parser_t *p, double *v)
{
    if (!fw_promql_expect(p, T_LPAREN, "fill modifier"))
        return -1;
    double sign = 1;
    if (fw_promql_peek(p)->type == T_ADD || fw_promql_peek(p)->type == T_SUB)
        sign = fw_promql_next(p)->type == T_SUB ? -1 : 1;
    fw_promql_tok_t *t = fw_promql_peek(p);
    if (t->type != T_NUM && t->type != T_DUR) {
        fw_promql_unexpected(p, t, "fill modifier", "number or duration");
        return -1;
    }
    fw_promql_next(p);
    *v = sign * (t->type == T_NUM ? t->num : (double)t->ms / 1000.0);
    return fw_promql_expect(p, T_RPAREN, "fill modifier") ? 0 : -1;
}

// fill(v), fill_left(v), fill_right(v) or fill_left(v) fill_right(v) (either order) after
// the other modifiers (Prometheus 3's experimental fill modifiers, enabled in floorwatch).
static int
s_parse_fill(fw_promql_parser_t *p, fw_promql_expr_t *e)
{
    for (int n = 0; n < 2; n++) {
        fw_promql_tok_t *t = fw_promql_peek(p);
        if (fw_promql_peek2(p)->type != T_LPAREN)
            return 0;
        bool both = fw_promql_is_kw(t, "fill"), left = fw_promql_is_kw(t, "fill_left"),
             right = fw_promql_is_kw(t, "fill_right");
        if (!both && !left && !right)
            return 0;
        if (both && n > 0) // fill() after fill_left()/fill_right(): the right operand "fill"
            return 0;
        if ((left && e->fill_l) || (right && e->fill_r)) {
            fw_promql_unexpected(p, t, "fill modifier", NULL);
            return -1;
        }
        if (fw_promql_binop_is_set(e->op)) {
            fw_promql_lex_fail(p, t->pos,
                               "filling in missing series not allowed for set operators");
            return -1;
        }
        fw_promql_next(p);
        double v;
        if (s_parse_fill_value(p, &v) != 0)
            return -1;
        if (both || left) {
            e->fill_l = true;
            e->fill_lv = v;
        }
        if (both || right) {
            e->fill_r = true;
            e->fill_rv = v;
        }
        if (both)
            return 0;
    }
    return 0;
}

// Binary operator modifiers: bool, on/ignoring(...), group_left/right(...), fill(...).
static int
s_parse_modifiers(fw_promql_parser_t *p, fw_promql_expr_t *e)
{
    if (fw_promql_is_kw(fw_promql_peek(p), "bool")) {
        if (!fw_promql_binop_is_comparison(e->op)) {
            fw_promql_lex_fail(p, fw_promql_peek(p)->pos,
                               "bool modifier can only be used on comparison operators");
            return -1;
        }
        fw_promql_next(p);
        e->return_bool = true;
    }
    if (fw_promql_is_kw(fw_promql_peek(p), "on") ||
        fw_promql_is_kw(fw_promql_peek(p), "ignoring")) {
        e->on = fw_promql_is_kw(fw_promql_peek(p), "on");
        e->has_matching = true;
        fw_promql_next(p);
        if (s_parse_label_list(p, &e->labels, &e->n_labels, "grouping opts") != 0)
            return -1;
        if (fw_promql_is_kw(fw_promql_peek(p), "group_left") ||
            fw_promql_is_kw(fw_promql_peek(p), "group_right")) {
            fw_promql_tok_t *g = fw_promql_next(p);
            if (fw_promql_binop_is_set(e->op)) {
                fw_promql_lex_fail(p, g->pos, "no grouping allowed for \"%s\" operation",
                                   fw_promql_binop_str(e->op));
                return -1;
            }
            e->card =
                fw_promql_is_kw(g, "group_left") ? FW_PQ_CARD_MANY_TO_ONE : FW_PQ_CARD_ONE_TO_MANY;
            if (fw_promql_peek(p)->type == T_LPAREN &&
                s_parse_label_list(p, &e->include, &e->n_include, "grouping opts") != 0)
                return -1;
        }
    }
    return s_parse_fill(p, e);
}

// Is e taller than FW_PROMQL_MAX_DEPTH? Then fail at pos: every walk of the tree (the
// evaluator, formatting, freeing) recurses once per level.
static bool
s_too_deep(fw_promql_parser_t *p, const fw_promql_expr_t *e, int pos)
{
    if (e->height <= FW_PROMQL_MAX_DEPTH)
        return false;
    fw_promql_lex_fail(p, pos, "expression nests too deeply (more than %d levels)",
                       FW_PROMQL_MAX_DEPTH);
    return true;
}

static fw_promql_expr_t *
s_parse_expr_at(fw_promql_parser_t *p, int min_prec)
{
    fw_promql_expr_t *lhs = s_parse_unary(p);
    if (!lhs)
        return NULL;
    for (;;) {
        fw_pq_binop_t op;
        fw_promql_tok_t *t = fw_promql_peek(p);
        int prec = s_binop_of(t, &op);
        if (prec == 0 || prec < min_prec)
            return lhs;
        fw_promql_next(p);
        fw_promql_expr_t *e = fw_promql_node(FW_PQ_BINARY, FW_PQ_SCALAR, lhs->pos);
        e->op = op;
        e->card = fw_promql_binop_is_set(op) ? FW_PQ_CARD_MANY_TO_MANY : FW_PQ_CARD_ONE_TO_ONE;
        fw_promql_add_arg(e, lhs);
        // A chain `a + b + c …` grows the tree without recursing: check every link.
        if (s_too_deep(p, e, t->pos) || s_parse_modifiers(p, e) != 0) {
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        // ^ is right-associative; everything else left-associative
        fw_promql_expr_t *rhs = s_parse_expr(p, op == FW_PQ_POW ? prec : prec + 1);
        if (!rhs) {
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        fw_promql_add_arg(e, rhs);
        if (s_too_deep(p, e, t->pos)) {
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        fw_pq_type_t lt = lhs->type, rt = rhs->type;
        if ((lt != FW_PQ_SCALAR && lt != FW_PQ_VECTOR) ||
            (rt != FW_PQ_SCALAR && rt != FW_PQ_VECTOR)) {
            fw_promql_lex_fail(p, e->pos,
                               "binary expression must contain only scalar and instant vector "
                               "types");
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        if (fw_promql_binop_is_set(op) && (lt == FW_PQ_SCALAR || rt == FW_PQ_SCALAR)) {
            fw_promql_lex_fail(p, e->pos,
                               "set operator \"%s\" not allowed in binary scalar expression",
                               fw_promql_binop_str(op));
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        if (fw_promql_binop_is_comparison(op) && !e->return_bool && lt == FW_PQ_SCALAR &&
            rt == FW_PQ_SCALAR) {
            fw_promql_lex_fail(p, e->pos, "comparisons between scalars must use BOOL modifier");
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        if ((e->fill_l || e->fill_r) && (lt != FW_PQ_VECTOR || rt != FW_PQ_VECTOR)) {
            fw_promql_lex_fail(p, e->pos,
                               "filling in missing series only allowed between instant vectors");
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        if (e->has_matching && (lt != FW_PQ_VECTOR || rt != FW_PQ_VECTOR)) {
            fw_promql_lex_fail(p, e->pos, "vector matching only allowed between instant vectors");
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        e->type = (lt == FW_PQ_VECTOR || rt == FW_PQ_VECTOR) ? FW_PQ_VECTOR : FW_PQ_SCALAR;
        lhs = e;
    }
}

// Every recursion of the parser passes through here: parentheses, call and aggregation
// arguments, the operands of unary and binary operators. Past FW_PROMQL_MAX_DEPTH nested
// calls it fails where the too-deep subexpression starts, and what it returns is never
// taller than the limit.
static fw_promql_expr_t *
s_parse_expr(fw_promql_parser_t *p, int min_prec)
{
    int pos = fw_promql_peek(p)->pos;
    if (p->depth >= FW_PROMQL_MAX_DEPTH) {
        fw_promql_lex_fail(p, pos, "expression nests too deeply (more than %d levels)",
                           FW_PROMQL_MAX_DEPTH);
        return NULL;
    }
    p->depth++;
    fw_promql_expr_t *e = s_parse_expr_at(p, min_prec);
    p->depth--;
    if (e && s_too_deep(p, e, pos))
        fw_promql_expr_destroy(&e);
    return e;
}

fw_promql_expr_t *
fw_promql_parse(const char *text, fw_err_t *err)
{
    fw_err_clear(err);
    fw_promql_parser_t p = {.text = text ? text : "", .err = err};
    fw_promql_expr_t *e = NULL;
    if (fw_promql_lex(&p) != 0)
        goto out;
    if (fw_promql_peek(&p)->type == T_EOF) {
        fw_promql_lex_fail(&p, 0, "no expression found in input");
        goto out;
    }
    e = s_parse_expr(&p, 0);
    if (e && fw_promql_peek(&p)->type != T_EOF) {
        fw_promql_unexpected(&p, fw_promql_peek(&p), NULL, NULL);
        fw_promql_expr_destroy(&e);
    }
out:
    return fw_promql_lex_done(&p, e);
}
