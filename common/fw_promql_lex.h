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

#include "fw_err.h"

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
    int depth; // s_parse_expr calls under way: bounds the recursion
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

#endif
