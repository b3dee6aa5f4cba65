/*  fw_promql_lex.h — PRIVATE to the PromQL parser (fw_promql.c, fw_promql_lex.c): the token
    types, the parser state they share, and the lexer. Nothing outside those files includes it;
    the public interface is fw_promql.h and fw_promql_ast.h.

    fw_promql_lex() turns the whole text into a token array in the parser state first, so the
    parser can look ahead freely. Errors from either stage go through fw_promql_lex_fail(),
    which keeps only the first one and turns its byte position into a line and column.
*/
#ifndef FW_PROMQL_LEX_H
#define FW_PROMQL_LEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <strings.h>

#include "fw_err.h"
#include "fw_promql_ast.h"

typedef enum {
    T_EOF,
    T_NUM,
    T_DUR,
    T_STR,
    T_IDENT,
    T_LPAREN,
    T_RPAREN,
    T_LBRACE,
    T_RBRACE,
    T_LBRACK,
    T_RBRACK,
    T_COMMA,
    T_COLON,
    T_AT,
    T_ADD,
    T_SUB,
    T_MUL,
    T_DIV,
    T_MOD,
    T_POW,
    T_EQL,
    T_NEQ,
    T_GTR,
    T_LSS,
    T_GTE,
    T_LTE,
    T_ASSIGN,
    T_EQL_RE,
    T_NEQ_RE,
} fw_promql_tok_type_t;

typedef struct {
    fw_promql_tok_type_t type;
    int pos;    // byte offset
    int len;    // bytes in the source
    double num; // T_NUM
    int64_t ms; // T_DUR
    char *str;  // owned: T_STR unquoted value, T_IDENT text
} fw_promql_tok_t;

typedef struct {
    const char *text;
    fw_promql_tok_t *toks;
    size_t n, cap, i;
    fw_err_t *err;
    bool failed;
    int depth;        // s_parse_expr calls under way: bounds the recursion
    bool info_labels; // parsing info()'s label selector: empty matchers are fine
} fw_promql_parser_t;

// What a token type is called in error messages ("number", "\"(\"", ...).
const char *fw_promql_lex_tok_desc(fw_promql_tok_type_t t);

// Record the error fmt at byte position pos of p->text, unless an error is already recorded;
// sets p->failed either way (p->err may be NULL).
void fw_promql_lex_fail(fw_promql_parser_t *p, int pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

// Tokenize p->text into p->toks (ending with T_EOF). Returns 0, or -1 after
// fw_promql_lex_fail. The token strings are owned by p->toks; the caller frees them.
int fw_promql_lex(fw_promql_parser_t *p);
// End a parse: free p's tokens, and record "parse error" when there is no result e and
// no error yet. Returns e.
fw_promql_expr_t *fw_promql_lex_done(fw_promql_parser_t *p, fw_promql_expr_t *e);

// ---------------------------------------------------------------------------------------
// Shared by the parser's files (fw_promql.c, fw_promql_dur.c)

static inline fw_promql_tok_t *
fw_promql_peek(fw_promql_parser_t *p)
{
    return &p->toks[p->i];
}

static inline fw_promql_tok_t *
fw_promql_peek2(fw_promql_parser_t *p)
{
    return &p->toks[p->i + 1 < p->n ? p->i + 1 : p->n - 1];
}

// The next token, consumed (T_EOF stays).
static inline fw_promql_tok_t *
fw_promql_next(fw_promql_parser_t *p)
{
    fw_promql_tok_t *t = &p->toks[p->i];
    if (p->i + 1 < p->n)
        p->i++;
    return t;
}

// Is t the keyword kw (case-insensitive, as Prometheus's keywords are)?
static inline bool
fw_promql_is_kw(const fw_promql_tok_t *t, const char *kw)
{
    return t->type == T_IDENT && strcasecmp(t->str, kw) == 0;
}

// The end of input at pos, as Prometheus's lexer names it when a delimiter is open:
// "unexpected end of input inside braces", "unclosed left parenthesis", "unclosed left
// bracket"; with nothing open, "unexpected end of input" (fw_promql_unexpected then gives
// the parser's message with its context, as Prometheus's parser does).
void fw_promql_eof_error(fw_promql_parser_t *p, int pos);
// fw_promql.c: a new node; a child added to e's args (and height); "unexpected <t> in
// <where>, expected <expected>" at t (where and expected may be NULL); consume a token of
// type or fail like that; a value type as Prometheus names it.
fw_promql_expr_t *fw_promql_node(fw_pq_kind_t kind, fw_pq_type_t type, int pos);
void fw_promql_add_arg(fw_promql_expr_t *e, fw_promql_expr_t *arg);
void fw_promql_unexpected(fw_promql_parser_t *p, const fw_promql_tok_t *t, const char *where,
                          const char *expected);
bool fw_promql_expect(fw_promql_parser_t *p, fw_promql_tok_type_t type, const char *where);
const char *fw_promql_type_str(fw_pq_type_t t);

// fw_promql_dur.c: a duration where a range, a subquery step or (with offset) an offset is
// written: a number or duration literal, or an expression of them with + - * / % ^,
// parentheses, step(), range(), min_of() and max_of() (Prometheus 3's experimental
// duration expressions); an offset takes a signed literal, call or parenthesised
// expression only, so `x offset 1m + 1` adds 1 to the selector. The result is a
// FW_PQ_NUMBER node (seconds) when the value is known now, else a tree the evaluator works
// out per query. NULL after fw_promql_lex_fail.
fw_promql_expr_t *fw_promql_parse_duration(fw_promql_parser_t *p, bool offset, const char *where);

// fw_promql_sel.c: a selector (`name{matchers}` or `{matchers}`, the next token starts
// it); the postfix modifiers after e ([range], [range:step], offset, @, anchored,
// smoothed), which consume e and return the result. NULL after fw_promql_lex_fail.
fw_promql_expr_t *fw_promql_parse_selector(fw_promql_parser_t *p);
fw_promql_expr_t *fw_promql_parse_postfix(fw_promql_parser_t *p, fw_promql_expr_t *e);

// fw_promql_info.c: check info()'s arguments (call, parsed) and build the selector of its
// info series into call->param. 0, or -1 after fw_promql_lex_fail.
int fw_promql_info_prepare(fw_promql_parser_t *p, fw_promql_expr_t *call);

#endif
