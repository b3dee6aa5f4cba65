/*  fw_promql_dur.c — duration expressions: what may stand for a range, a subquery step or
    an offset (Prometheus 3's experimental duration expressions, enabled in floorwatch).

    A small precedence-climbing parser over the same tokens as fw_promql.c: `+ -` bind
    loosest, then `* / %`, then unary signs, then `^` (right-associative); operands are
    number and duration literals (seconds), parentheses, step(), range(), min_of(a, b) and
    max_of(a, b). Nodes are ordinary syntax-tree nodes (NUMBER, BINARY, NEG, PAREN, CALL), so
    they print and free like the rest. A tree without step() or range() is folded to one
    NUMBER here; the others are worked out per query by fw_promql_duration_eval().
*/
#include <math.h>
#include <string.h>

#include "fw_promql_funcs.h"
#include "fw_promql_lex.h"

#define S_PREC_ADD 1
#define S_PREC_MUL 2
#define S_PREC_UNARY 3
#define S_PREC_POW 4

static fw_promql_expr_t *s_dur(fw_promql_parser_t *p, int min_prec, const char *where);

double
fw_promql_duration_eval(const fw_promql_expr_t *d, double step_s, double range_s)
{
    switch (d->kind) {
    case FW_PQ_NUMBER: return d->num;
    case FW_PQ_PAREN: return fw_promql_duration_eval(d->args[0], step_s, range_s);
    case FW_PQ_NEG: return -fw_promql_duration_eval(d->args[0], step_s, range_s);
    case FW_PQ_CALL:
        switch (d->func) {
        case FW_PQ_FN_STEP: return step_s;
        case FW_PQ_FN_RANGE: return range_s;
        case FW_PQ_FN_MIN_OF:
        case FW_PQ_FN_MAX_OF: {
            double a = fw_promql_duration_eval(d->args[0], step_s, range_s);
            double b = fw_promql_duration_eval(d->args[1], step_s, range_s);
            if (isnan(a) || isnan(b))
                return NAN;
            return d->func == FW_PQ_FN_MIN_OF ? fmin(a, b) : fmax(a, b);
        }
        default: return NAN;
        }
    case FW_PQ_BINARY: {
        double a = fw_promql_duration_eval(d->args[0], step_s, range_s);
        double b = fw_promql_duration_eval(d->args[1], step_s, range_s);
        switch (d->op) {
        case FW_PQ_ADD: return a + b;
        case FW_PQ_SUB: return a - b;
        case FW_PQ_MUL: return a * b;
        case FW_PQ_DIV: return b == 0 ? NAN : a / b;
        case FW_PQ_MOD: return b == 0 ? NAN : fmod(a, b);
        case FW_PQ_POW: return pow(a, b);
        default: return NAN;
        }
    }
    default: return NAN;
    }
}

// Does d use step() or range()?
static bool
s_depends(const fw_promql_expr_t *d)
{
    if (d->kind == FW_PQ_CALL && (d->func == FW_PQ_FN_STEP || d->func == FW_PQ_FN_RANGE))
        return true;
    for (size_t k = 0; k < d->n_args; k++)
        if (s_depends(d->args[k]))
            return true;
    return false;
}

static fw_promql_expr_t *
s_number(double v, int pos)
{
    fw_promql_expr_t *e = fw_promql_node(FW_PQ_NUMBER, FW_PQ_SCALAR, pos);
    e->num = v;
    return e;
}

// step(), range(), min_of(a, b), max_of(a, b); t is the name, followed by "(".
static fw_promql_expr_t *
s_call(fw_promql_parser_t *p, const char *where)
{
    fw_promql_tok_t *t = fw_promql_next(p);
    char name[16];
    size_t n = strlen(t->str);
    for (size_t k = 0; k <= n && k < sizeof(name); k++)
        name[k] = (char)(t->str[k] >= 'A' && t->str[k] <= 'Z' ? t->str[k] + 32 : t->str[k]);
    name[sizeof(name) - 1] = '\0';
    const fw_promql_func_info_t *f = fw_promql_funcs_find(name);
    fw_promql_expr_t *e = fw_promql_node(FW_PQ_CALL, FW_PQ_SCALAR, t->pos);
    e->func = f->fn;
    e->func_name = f->name;
    fw_promql_next(p); // (
    for (int k = 0; k < f->max_args; k++) {
        if (k > 0 && !fw_promql_expect(p, T_COMMA, where))
            goto fail;
        fw_promql_expr_t *a = s_dur(p, 0, where);
        if (!a)
            goto fail;
        fw_promql_add_arg(e, a);
    }
    if (!fw_promql_expect(p, T_RPAREN, where))
        goto fail;
    return e;
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

static bool
s_is_call(fw_promql_parser_t *p)
{
    fw_promql_tok_t *t = fw_promql_peek(p);
    return (fw_promql_is_kw(t, "step") || fw_promql_is_kw(t, "range") ||
            fw_promql_is_kw(t, "min_of") || fw_promql_is_kw(t, "max_of")) &&
           fw_promql_peek2(p)->type == T_LPAREN;
}

static fw_promql_expr_t *
s_primary(fw_promql_parser_t *p, const char *where)
{
    fw_promql_tok_t *t = fw_promql_peek(p);
    if (t->type == T_NUM || t->type == T_DUR) {
        fw_promql_next(p);
        return s_number(t->type == T_NUM ? t->num : (double)t->ms / 1000.0, t->pos);
    }
    if (t->type == T_LPAREN) {
        fw_promql_next(p);
        fw_promql_expr_t *in = s_dur(p, 0, where);
        if (!in)
            return NULL;
        if (!fw_promql_expect(p, T_RPAREN, where)) {
            fw_promql_expr_destroy(&in);
            return NULL;
        }
        fw_promql_expr_t *e = fw_promql_node(FW_PQ_PAREN, FW_PQ_SCALAR, t->pos);
        fw_promql_add_arg(e, in);
        return e;
    }
    if (s_is_call(p))
        return s_call(p, where);
    fw_promql_unexpected(p, t, where, "number, duration, step(), or range()");
    return NULL;
}

// A sign before operand (parsed at prec); -x is a NEG node, +x x itself.
static fw_promql_expr_t *
s_signed(fw_promql_parser_t *p, int prec, const char *where)
{
    fw_promql_tok_t *t = fw_promql_peek(p);
    if (t->type != T_ADD && t->type != T_SUB)
        return s_primary(p, where);
    if (p->depth >= FW_PROMQL_MAX_DEPTH) {
        fw_promql_lex_fail(p, t->pos, "expression nests too deeply (more than %d levels)",
                           FW_PROMQL_MAX_DEPTH);
        return NULL;
    }
    fw_promql_next(p);
    p->depth++;
    fw_promql_expr_t *in = prec ? s_dur(p, prec, where) : s_signed(p, 0, where);
    p->depth--;
    if (!in || t->type == T_ADD)
        return in;
    fw_promql_expr_t *e = fw_promql_node(FW_PQ_NEG, FW_PQ_SCALAR, t->pos);
    fw_promql_add_arg(e, in);
    return e;
}

static int
s_binop(const fw_promql_tok_t *t, fw_pq_binop_t *op)
{
    switch (t->type) {
    case T_ADD: *op = FW_PQ_ADD; return S_PREC_ADD;
    case T_SUB: *op = FW_PQ_SUB; return S_PREC_ADD;
    case T_MUL: *op = FW_PQ_MUL; return S_PREC_MUL;
    case T_DIV: *op = FW_PQ_DIV; return S_PREC_MUL;
    case T_MOD: *op = FW_PQ_MOD; return S_PREC_MUL;
    case T_POW: *op = FW_PQ_POW; return S_PREC_POW;
    default: return 0;
    }
}

static fw_promql_expr_t *
s_dur(fw_promql_parser_t *p, int min_prec, const char *where)
{
    if (p->depth >= FW_PROMQL_MAX_DEPTH) {
        fw_promql_lex_fail(p, fw_promql_peek(p)->pos,
                           "expression nests too deeply (more than %d levels)",
                           FW_PROMQL_MAX_DEPTH);
        return NULL;
    }
    p->depth++;
    fw_promql_expr_t *lhs = s_signed(p, S_PREC_UNARY, where);
    for (;;) {
        fw_pq_binop_t op;
        fw_promql_tok_t *t = fw_promql_peek(p);
        int prec = lhs ? s_binop(t, &op) : 0;
        if (prec == 0 || prec < min_prec)
            break;
        fw_promql_next(p);
        fw_promql_expr_t *rhs = s_dur(p, op == FW_PQ_POW ? prec : prec + 1, where);
        if (!rhs) {
            fw_promql_expr_destroy(&lhs);
            break;
        }
        if ((op == FW_PQ_DIV || op == FW_PQ_MOD) && rhs->kind == FW_PQ_NUMBER && rhs->num == 0) {
            fw_promql_lex_fail(p, t->pos, op == FW_PQ_DIV ? "division by zero" : "modulo by zero");
            fw_promql_expr_destroy(&lhs);
            fw_promql_expr_destroy(&rhs);
            break;
        }
        fw_promql_expr_t *e = fw_promql_node(FW_PQ_BINARY, FW_PQ_SCALAR, lhs->pos);
        e->op = op;
        fw_promql_add_arg(e, lhs);
        fw_promql_add_arg(e, rhs);
        lhs = e;
    }
    p->depth--;
    return lhs;
}

fw_promql_expr_t *
fw_promql_parse_duration(fw_promql_parser_t *p, bool offset, const char *where)
{
    fw_promql_expr_t *d;
    if (offset) {
        // a signed literal, call or parenthesised expression: operators after it belong to
        // the expression the offset is part of
        d = s_signed(p, 0, where);
    } else {
        d = s_dur(p, 0, where);
    }
    if (!d || s_depends(d))
        return d;
    double v = fw_promql_duration_eval(d, 0, 0);
    int pos = d->pos;
    fw_promql_expr_destroy(&d);
    if (!isfinite(v)) {
        fw_promql_lex_fail(p, pos, "duration is NaN or infinite");
        return NULL;
    }
    return s_number(v, pos);
}
