/*  fw_promql_selector.c — one metric selector alone (fw_promql_parse_match).

    Prometheus parses /federate's match[] with ParseMetricSelector: its grammar's
    START_METRIC_SELECTOR takes `vector_selector` and nothing more, skips the check that a
    selector has a non-empty matcher, and reports any other token with its generic
    `unexpected ""` rule, naming the token by its lexer item (Item.desc in
    promql/parser/lex.go): operators `<op:->`, keywords `<by>`, aggregators `<aggr:sum>`,
    punctuation `"("`, identifiers `identifier "x"`, literals `number "5"`. The selector
    itself is the expression parser's (fw_promql_parse_selector, fw_promql_sel.c), so label
    matching reads and fails the same way in both; its empty-matcher check is skipped as for
    info()'s label selector (p->info_labels).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_promql.h"
#include "fw_promql_lex.h"

static const char *const s_ops[] = {"and", "or", "unless", "atan2", NULL};
static const char *const s_aggs[] = {"sum",          "avg",      "count",  "min",  "max",
                                     "group",        "stddev",   "stdvar", "topk", "bottomk",
                                     "count_values", "quantile", NULL};
static const char *const s_kws[] = {"offset",     "by",          "without", "on", "ignoring",
                                    "group_left", "group_right", "bool",    NULL};

static bool
s_in(const char *s, const char *const *list)
{
    for (size_t k = 0; list[k]; k++)
        if (strcasecmp(s, list[k]) == 0)
            return true;
    return false;
}

// "unexpected <item>" at t, the item named as Prometheus's lexer names it.
static void
s_unexpected(fw_promql_parser_t *p, const fw_promql_tok_t *t)
{
    const char *src = p->text + t->pos;
    int len = t->len > 60 ? 60 : t->len;
    switch (t->type) {
    case T_EOF: fw_promql_eof_error(p, t->pos); return;
    case T_IDENT:
        if (s_in(t->str, s_ops))
            fw_promql_lex_fail(p, t->pos, "unexpected <op:%s>", t->str);
        else if (s_in(t->str, s_aggs))
            fw_promql_lex_fail(p, t->pos, "unexpected <aggr:%s>", t->str);
        else if (s_in(t->str, s_kws))
            fw_promql_lex_fail(p, t->pos, "unexpected <%s>", t->str);
        else if (strcasecmp(t->str, "start") == 0 || strcasecmp(t->str, "end") == 0)
            fw_promql_lex_fail(p, t->pos, "unexpected \"%s\"", t->str);
        else
            fw_promql_lex_fail(p, t->pos, "unexpected %sidentifier \"%s\"",
                               strchr(t->str, ':') ? "metric " : "", t->str);
        return;
    case T_STR: {
        char q[160]; // Go's %q of the quoted source text
        size_t w = 0;
        for (int k = 0; k < len && w + 3 < sizeof(q); k++) {
            if (src[k] == '"' || src[k] == '\\')
                q[w++] = '\\';
            q[w++] = src[k];
        }
        q[w] = '\0';
        fw_promql_lex_fail(p, t->pos, "unexpected string \"%s\"", q);
        return;
    }
    case T_NUM:
    case T_DUR:
        fw_promql_lex_fail(p, t->pos, "unexpected %s \"%.*s\"", fw_promql_lex_tok_desc(t->type),
                           len, src);
        return;
    case T_LPAREN:
    case T_RPAREN:
    case T_LBRACE:
    case T_RBRACE:
    case T_LBRACK:
    case T_RBRACK:
    case T_COMMA:
    case T_COLON:
    case T_ASSIGN: fw_promql_lex_fail(p, t->pos, "unexpected \"%.*s\"", len, src); return;
    default: fw_promql_lex_fail(p, t->pos, "unexpected <op:%.*s>", len, src); return;
    }
}

fw_promql_expr_t *
fw_promql_parse_match(const char *text, fw_err_t *err)
{
    fw_err_clear(err);
    fw_promql_parser_t p = {.text = text ? text : "", .err = err, .info_labels = true};
    fw_promql_expr_t *e = NULL;
    if (fw_promql_lex(&p) != 0)
        goto out;
    fw_promql_tok_t *t = fw_promql_peek(&p);
    if (t->type != T_IDENT && t->type != T_LBRACE) {
        s_unexpected(&p, t);
        goto out;
    }
    static const char *const not_names[] = {"atan2",       "on",   "ignoring", "group_left",
                                            "group_right", "bool", NULL};
    if (t->type == T_IDENT && s_in(t->str, not_names)) {
        s_unexpected(&p, t); // the keywords Prometheus's metric_identifier leaves out
        goto out;
    }
    e = fw_promql_parse_selector(&p);
    if (e && fw_promql_peek(&p)->type != T_EOF) {
        s_unexpected(&p, fw_promql_peek(&p));
        fw_promql_expr_destroy(&e);
    }
out:
    return fw_promql_lex_done(&p, e);
}
