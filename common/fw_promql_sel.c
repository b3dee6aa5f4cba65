/*  fw_promql_sel.c — the parser's selectors and what may follow an expression: label
    matchers, `[range]` and `[range:step]`, `offset`, `@`, and the `anchored` and `smoothed`
    modifiers, with Prometheus's errors. Split from fw_promql.c (the expression grammar),
    which calls fw_promql_parse_selector() for a selector and fw_promql_parse_postfix() after
    every operand; ranges, steps and offsets are read by fw_promql_dur.c.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_promql_lex.h"

static int
s_add_matcher(fw_promql_parser_t *p, fw_promql_expr_t *e, const char *name, fw_match_op_t op,
              const char *value, int pos)
{
    struct fw_matcher m;
    fw_err_t rerr;
    if (fw_matcher_init(&m, op, name, value, FW_REGEX_PROMETHEUS, &rerr) != 0) {
        fw_promql_lex_fail(p, pos, "%s", rerr.msg);
        return -1;
    }
    e->matchers = fw_realloc(e->matchers, (e->n_matchers + 1) * sizeof(*e->matchers));
    e->matchers[e->n_matchers++] = m;
    return 0;
}

// `{a="b", c=~"d"}` after an optional metric name; e is the selector being built.
static int
s_parse_matchers(fw_promql_parser_t *p, fw_promql_expr_t *e)
{
    fw_promql_next(p); // {
    for (;;) {
        fw_promql_tok_t *t = fw_promql_peek(p);
        if (t->type == T_RBRACE) {
            fw_promql_next(p);
            return 0;
        }
        const char *name;
        int npos = t->pos;
        if (t->type == T_IDENT && !strchr(t->str, ':')) {
            name = t->str;
        } else if (t->type == T_STR) {
            name = t->str; // quoted label names (UTF-8 names, Prometheus 3)
        } else {
            fw_promql_unexpected(p, t, "label matching", "label matching operator");
            return -1;
        }
        fw_promql_next(p);
        fw_promql_tok_t *opt = fw_promql_peek(p);
        fw_match_op_t op;
        switch (opt->type) {
        case T_ASSIGN: op = FW_MATCH_EQ; break;
        case T_NEQ: op = FW_MATCH_NE; break;
        case T_EQL_RE: op = FW_MATCH_RE; break;
        case T_NEQ_RE: op = FW_MATCH_NRE; break;
        default:
            if (t->type == T_STR && (opt->type == T_COMMA || opt->type == T_RBRACE)) {
                // {"metric_name"}: a quoted metric name. As in Prometheus 3 it is only a
                // __name__ matcher (the selector keeps no name outside the braces), so it
                // prints back as {__name__="metric_name"}; two of them select nothing.
                if (s_add_matcher(p, e, "__name__", FW_MATCH_EQ, name, npos) != 0)
                    return -1;
                if (opt->type == T_COMMA)
                    fw_promql_next(p);
                continue;
            }
            fw_promql_unexpected(p, opt, "label matching", "label matching operator");
            return -1;
        }
        fw_promql_next(p);
        fw_promql_tok_t *v = fw_promql_peek(p);
        if (v->type != T_STR) {
            fw_promql_unexpected(p, v, "label matching", "string");
            return -1;
        }
        fw_promql_next(p);
        if (s_add_matcher(p, e, name, op, v->str, v->pos) != 0)
            return -1;
        t = fw_promql_peek(p);
        if (t->type == T_COMMA) {
            fw_promql_next(p);
            continue;
        }
        if (t->type != T_RBRACE) {
            fw_promql_unexpected(p, t, "label matching", "\",\" or \"}\"");
            return -1;
        }
    }
}

fw_promql_expr_t *
fw_promql_parse_selector(fw_promql_parser_t *p)
{
    fw_promql_tok_t *t = fw_promql_peek(p);
    fw_promql_expr_t *e = fw_promql_node(FW_PQ_SELECTOR, FW_PQ_VECTOR, t->pos);
    if (t->type == T_IDENT) {
        e->metric = fw_strdup(t->str);
        fw_promql_next(p);
        if (s_add_matcher(p, e, "__name__", FW_MATCH_EQ, e->metric, t->pos) != 0)
            goto fail;
    }
    if (fw_promql_peek(p)->type == T_LBRACE && s_parse_matchers(p, e) != 0)
        goto fail;
    if (!e->metric) {
        bool nonempty = false;
        for (size_t k = 0; k < e->n_matchers; k++)
            if (!fw_matcher_matches(&e->matchers[k], ""))
                nonempty = true;
        if (!nonempty && !p->info_labels) {
            fw_promql_lex_fail(p, e->pos,
                               "vector selector must contain at least one non-empty matcher");
            goto fail;
        }
    } else {
        for (size_t k = 1; k < e->n_matchers; k++)
            if (strcmp(e->matchers[k].name, "__name__") == 0) {
                fw_promql_lex_fail(p, e->pos, "metric name must not be set twice: \"%s\" or \"%s\"",
                                   e->metric, e->matchers[k].value);
                goto fail;
            }
    }
    return e;
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

// A duration where one is required (fw_promql_parse_duration): a value known now into
// *ms, or the expression the evaluator works out per query into *expr (*ms 0). 0 or -1.
static int
s_parse_duration(fw_promql_parser_t *p, bool offset, const char *where, int64_t *ms,
                 fw_promql_expr_t **expr)
{
    fw_promql_expr_t *d = fw_promql_parse_duration(p, offset, where);
    if (!d)
        return -1;
    *ms = 0;
    *expr = NULL;
    if (d->kind != FW_PQ_NUMBER) {
        *expr = d;
        return 0;
    }
    double v = round(d->num * 1000.0);
    fw_promql_expr_destroy(&d);
    // times saturate at the ends of int64 milliseconds (tsdb_eval_ctx_tsub), so may durations
    *ms = v >= 9223372036854775807.0    ? INT64_MAX
          : v <= -9223372036854775808.0 ? INT64_MIN
                                        : (int64_t)v;
    return 0;
}

// A range (or subquery range) must be positive: a literal one now, an expression when the
// evaluator works it out. 0, or -1 after fw_promql_lex_fail.
static int
s_positive(fw_promql_parser_t *p, int pos, const char *what, int64_t ms,
           const fw_promql_expr_t *expr)
{
    if (expr || ms > 0)
        return 0;
    fw_promql_lex_fail(p, pos, "%s must be positive", what);
    return -1;
}

// "@ <time>", "@ start()" or "@ end()" after a selector or subquery e (the "@" is next).
static int
s_parse_at(fw_promql_parser_t *p, fw_promql_expr_t *e)
{
    fw_promql_next(p); // @
    if (e->kind != FW_PQ_SELECTOR && e->kind != FW_PQ_SUBQUERY) {
        fw_promql_lex_fail(p, e->pos,
                           "@ modifier must be preceded by an instant vector selector or range "
                           "vector selector or a subquery");
        return -1;
    }
    if (e->at != FW_PQ_AT_NONE) {
        fw_promql_lex_fail(p, e->pos, "@ <timestamp> may not be set multiple times");
        return -1;
    }
    fw_promql_tok_t *t = fw_promql_peek(p);
    if (t->type == T_IDENT && (strcmp(t->str, "start") == 0 || strcmp(t->str, "end") == 0) &&
        fw_promql_peek2(p)->type == T_LPAREN) {
        e->at = strcmp(t->str, "start") == 0 ? FW_PQ_AT_START : FW_PQ_AT_END;
        fw_promql_next(p);
        fw_promql_next(p);
        return fw_promql_expect(p, T_RPAREN, "@") ? 0 : -1;
    }
    double sign = 1;
    if (t->type == T_ADD || t->type == T_SUB) {
        sign = t->type == T_SUB ? -1 : 1;
        fw_promql_next(p);
        t = fw_promql_peek(p);
    }
    double secs;
    if (t->type == T_NUM)
        secs = t->num;
    else if (t->type == T_DUR)
        secs = (double)t->ms / 1000.0;
    else {
        fw_promql_unexpected(p, t, "@", "timestamp");
        return -1;
    }
    fw_promql_next(p);
    secs *= sign;
    if (!isfinite(secs) || secs >= 9223372036854775807.0 || secs <= -9223372036854775808.0) {
        char num[64]; // Go's %f
        if (isnan(secs) || isinf(secs))
            snprintf(num, sizeof(num), "%s", isnan(secs) ? "NaN" : secs > 0 ? "+Inf" : "-Inf");
        else
            snprintf(num, sizeof(num), "%f", secs);
        fw_promql_lex_fail(p, e->pos, "timestamp out of bounds for @ modifier: %s", num);
        return -1;
    }
    double ms = round(secs * 1000.0); // Prometheus's timestamp.FromFloatSeconds
    e->at = FW_PQ_AT_TIME;
    e->at_ms = ms >= 9.2e18 ? INT64_MAX : ms <= -9.2e18 ? INT64_MIN : (int64_t)ms;
    return 0;
}

// "anchored" or "smoothed" after e (Prometheus 3's experimental extended range selectors,
// enabled in floorwatch): the range is read beyond its ends, from the sample before it
// (anchored) or interpolated at both ends (smoothed). 0, or -1 after fw_promql_lex_fail.
static int
s_parse_extended(fw_promql_parser_t *p, fw_promql_expr_t *e)
{
    fw_promql_tok_t *t = fw_promql_next(p);
    bool anchored = fw_promql_is_kw(t, "anchored");
    const char *what = anchored ? "anchored" : "smoothed";
    if (e->kind == FW_PQ_SUBQUERY) {
        fw_promql_lex_fail(p, e->pos, "%s modifier is not supported for subqueries", what);
        return -1;
    }
    if (e->kind != FW_PQ_SELECTOR) {
        fw_promql_lex_fail(p, e->pos, "%s modifier not implemented", what);
        return -1;
    }
    if (anchored ? e->smoothed : e->anchored) {
        fw_promql_lex_fail(p, e->pos, "anchored and smoothed modifiers cannot be used together");
        return -1;
    }
    if (anchored)
        e->anchored = true;
    else
        e->smoothed = true;
    return 0;
}

// Postfix: [range], [range:step], offset d, @ t, anchored, smoothed.
fw_promql_expr_t *
fw_promql_parse_postfix(fw_promql_parser_t *p, fw_promql_expr_t *e)
{
    for (;;) {
        fw_promql_tok_t *t = fw_promql_peek(p);
        if (t->type == T_LBRACK) {
            bool plain = e->kind == FW_PQ_SELECTOR && e->range_ms == 0 && !e->range_expr &&
                         e->offset_ms == 0 && !e->offset_expr && e->at == FW_PQ_AT_NONE;
            fw_promql_next(p);
            int64_t ms;
            fw_promql_expr_t *rexpr = NULL, *sexpr = NULL;
            if (s_parse_duration(p, false, "subquery or range selector", &ms, &rexpr) != 0)
                goto fail;
            if (fw_promql_peek(p)->type != T_COLON) {
                if (!plain) {
                    fw_promql_expr_destroy(&rexpr);
                    fw_promql_lex_fail(p, t->pos, "%s",
                                       e->kind != FW_PQ_SELECTOR ? "ranges only allowed for vector "
                                                                   "selectors"
                                       : e->range_ms || e->range_expr
                                           ? "no range modifiers allowed before range"
                                       : e->offset_ms || e->offset_expr
                                           ? "no offset modifiers allowed before range"
                                           : "no @ modifiers allowed before range");
                    goto fail;
                }
                if (!fw_promql_expect(p, T_RBRACK, "range selector") ||
                    s_positive(p, t->pos, "range selector", ms, rexpr) != 0) {
                    fw_promql_expr_destroy(&rexpr);
                    goto fail;
                }
                e->range_ms = ms;
                e->range_expr = rexpr;
                e->type = FW_PQ_MATRIX;
                continue;
            }
            fw_promql_next(p); // :
            int64_t step = 0;
            if ((fw_promql_peek(p)->type != T_RBRACK &&
                 s_parse_duration(p, false, "subquery selector", &step, &sexpr) != 0) ||
                !fw_promql_expect(p, T_RBRACK, "subquery selector") ||
                s_positive(p, t->pos, "subquery range", ms, rexpr) != 0) {
                fw_promql_expr_destroy(&rexpr);
                fw_promql_expr_destroy(&sexpr);
                goto fail;
            }
            if (e->type != FW_PQ_VECTOR) {
                fw_promql_lex_fail(p, e->pos, "subquery is only allowed on instant vector, got %s",
                                   fw_promql_type_str(e->type));
                fw_promql_expr_destroy(&rexpr);
                fw_promql_expr_destroy(&sexpr);
                goto fail;
            }
            fw_promql_expr_t *sq = fw_promql_node(FW_PQ_SUBQUERY, FW_PQ_MATRIX, e->pos);
            sq->range_ms = ms;
            sq->range_expr = rexpr;
            sq->step_ms = step;
            sq->step_expr = sexpr;
            fw_promql_add_arg(sq, e);
            e = sq;
            continue;
        }
        if (fw_promql_is_kw(t, "offset")) {
            if (e->kind != FW_PQ_SELECTOR && e->kind != FW_PQ_SUBQUERY) {
                fw_promql_lex_fail(p, t->pos,
                                   "offset modifier must be preceded by an instant vector "
                                   "selector or range vector selector or a subquery");
                goto fail;
            }
            if (e->offset_ms != 0 || e->offset_expr) {
                fw_promql_lex_fail(p, t->pos, "offset may not be set multiple times");
                goto fail;
            }
            fw_promql_next(p);
            if (s_parse_duration(p, true, "offset", &e->offset_ms, &e->offset_expr) != 0)
                goto fail;
            continue;
        }
        if (t->type == T_AT) {
            if (s_parse_at(p, e) != 0)
                goto fail;
            continue;
        }
        if ((fw_promql_is_kw(t, "anchored") || fw_promql_is_kw(t, "smoothed")) &&
            fw_promql_peek2(p)->type != T_LPAREN) {
            if (s_parse_extended(p, e) != 0)
                goto fail;
            continue;
        }
        return e;
    }
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}
