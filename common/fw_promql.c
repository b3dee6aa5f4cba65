/*  fw_promql.c — the PromQL parser: text to a typed syntax tree (fw_promql_ast.h).

    A lexer turns the whole text into a token array first (so the parser can look ahead
    freely), then a recursive-descent parser with precedence climbing builds the tree. The
    operator precedence and associativity are Prometheus's: `or` < `and unless` <
    comparisons < `+ -` < `* / % atan2` < unary minus < `^` (right-associative), so
    `-2^2` is -4 and `2^-1` parses. Types are checked while building, with Prometheus's
    messages, and every error carries the byte position of the offending token.
    Label regexes are compiled here through fw_regex (RE2), anchored as Prometheus 3 does,
    `^(?s:re)$`; matching them is linear in the value and always decides.
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
#include "fw_promql_ast.h"
#include "fw_time.h"

// ---------------------------------------------------------------------------------------
// Tokens

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
} s_tok_type_t;

typedef struct {
    s_tok_type_t type;
    int pos;    // byte offset
    int len;    // bytes in the source
    double num; // T_NUM
    int64_t ms; // T_DUR
    char *str;  // owned: T_STR unquoted value, T_IDENT text
} s_tok_t;

typedef struct {
    const char *text;
    s_tok_t *toks;
    size_t n, cap, i;
    fw_err_t *err;
    bool failed;
    int depth; // s_parse_expr calls under way: bounds the recursion
} s_parser_t;

static const char *
s_tok_desc(s_tok_type_t t)
{
    switch (t) {
    case T_EOF: return "end of input";
    case T_NUM: return "number";
    case T_DUR: return "duration";
    case T_STR: return "string";
    case T_IDENT: return "identifier";
    case T_LPAREN: return "\"(\"";
    case T_RPAREN: return "\")\"";
    case T_LBRACE: return "\"{\"";
    case T_RBRACE: return "\"}\"";
    case T_LBRACK: return "\"[\"";
    case T_RBRACK: return "\"]\"";
    case T_COMMA: return "\",\"";
    case T_COLON: return "\":\"";
    case T_AT: return "\"@\"";
    case T_ADD: return "\"+\"";
    case T_SUB: return "\"-\"";
    case T_MUL: return "\"*\"";
    case T_DIV: return "\"/\"";
    case T_MOD: return "\"%\"";
    case T_POW: return "\"^\"";
    case T_EQL: return "\"==\"";
    case T_NEQ: return "\"!=\"";
    case T_GTR: return "\">\"";
    case T_LSS: return "\"<\"";
    case T_GTE: return "\">=\"";
    case T_LTE: return "\"<=\"";
    case T_ASSIGN: return "\"=\"";
    case T_EQL_RE: return "\"=~\"";
    case T_NEQ_RE: return "\"!~\"";
    }
    return "token";
}

static void s_fail(s_parser_t *p, int pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_fail(s_parser_t *p, int pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    if (!p->err)
        return;
    char msg[sizeof(p->err->msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int line = 1;
    for (int k = 0; k < pos && p->text[k]; k++)
        if (p->text[k] == '\n')
            line++;
    fw_err_set_at(p->err, "query", line, pos + 1, "%s", msg);
}

static s_tok_t *
s_push(s_parser_t *p, s_tok_type_t type, int pos, int len)
{
    fw_mem_grow((void **)&p->toks, &p->cap, p->n + 1, sizeof(s_tok_t));
    s_tok_t *t = &p->toks[p->n++];
    memset(t, 0, sizeof(*t));
    t->type = type;
    t->pos = pos;
    t->len = len;
    return t;
}

static bool
s_ident_start(int c)
{
    return isalpha(c) || c == '_' || c == ':';
}

static bool
s_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == ':';
}

static void
s_utf8_put(char *buf, size_t *n, unsigned long cp)
{
    if (cp < 0x80) {
        buf[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        buf[(*n)++] = (char)(0xC0 | (cp >> 6));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        buf[(*n)++] = (char)(0xE0 | (cp >> 12));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        buf[(*n)++] = (char)(0xF0 | (cp >> 18));
        buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

// Lex a quoted string starting at text[i] (the quote). Returns the index after the closing
// quote, or -1 after s_fail.
static int
s_lex_string(s_parser_t *p, int i)
{
    const char *s = p->text;
    char q = s[i];
    int start = i;
    // Grown as it fills: sizing it from the rest of the text made a query of many short
    // strings allocate quadratically.
    size_t cap = 0;
    char *buf = NULL;
    size_t n = 0;
    i++;
    for (;;) {
        fw_mem_grow((void **)&buf, &cap, n + 5, 1); // room for one UTF-8 sequence and the NUL
        char c = s[i];
        if (c == '\0' || (c == '\n' && q != '`')) {
            s_fail(p, start, "unterminated quoted string");
            free(buf);
            return -1;
        }
        if (c == q) {
            i++;
            break;
        }
        if (c == '\\' && q != '`') {
            char e = s[i + 1];
            int digits = 0, base = 16;
            i += 2;
            switch (e) {
            case 'a': buf[n++] = '\a'; continue;
            case 'b': buf[n++] = '\b'; continue;
            case 'f': buf[n++] = '\f'; continue;
            case 'n': buf[n++] = '\n'; continue;
            case 'r': buf[n++] = '\r'; continue;
            case 't': buf[n++] = '\t'; continue;
            case 'v': buf[n++] = '\v'; continue;
            case '\\': buf[n++] = '\\'; continue;
            case 'x': digits = 2; break;
            case 'u': digits = 4; break;
            case 'U': digits = 8; break;
            default:
                if (e == q) {
                    buf[n++] = q;
                    continue;
                }
                if (e >= '0' && e <= '7') {
                    digits = 3;
                    base = 8;
                    i--;
                    break;
                }
                s_fail(p, i - 2, "unknown escape sequence");
                free(buf);
                return -1;
            }
            unsigned long v = 0;
            for (int k = 0; k < digits; k++, i++) {
                char h = s[i];
                int d;
                if (h >= '0' && h <= '9')
                    d = h - '0';
                else if (base == 16 && h >= 'a' && h <= 'f')
                    d = h - 'a' + 10;
                else if (base == 16 && h >= 'A' && h <= 'F')
                    d = h - 'A' + 10;
                else
                    d = 99;
                if (d >= base) {
                    s_fail(p, i, "illegal character in escape sequence");
                    free(buf);
                    return -1;
                }
                v = v * (unsigned long)base + (unsigned long)d;
            }
            if (e == 'x' || base == 8) {
                if (v > 255) {
                    s_fail(p, i, "escape sequence is an invalid Unicode code point");
                    free(buf);
                    return -1;
                }
                buf[n++] = (char)v;
            } else {
                if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
                    s_fail(p, i, "escape sequence is an invalid Unicode code point");
                    free(buf);
                    return -1;
                }
                s_utf8_put(buf, &n, v);
            }
            continue;
        }
        buf[n++] = c;
        i++;
    }
    buf[n] = '\0';
    s_tok_t *t = s_push(p, T_STR, start, i - start);
    t->str = buf;
    return i;
}

// Is text[i..] a duration ("5m", "1h30m", "100ms")? Returns its length, 0 if not.
static int
s_duration_len(const char *s, int i)
{
    int j = i;
    bool any = false;
    while (isdigit((unsigned char)s[j])) {
        while (isdigit((unsigned char)s[j]))
            j++;
        if (s[j] == 'm' && s[j + 1] == 's')
            j += 2;
        else if (strchr("smhdwy", s[j]) && s[j] != '\0')
            j++;
        else
            return 0;
        any = true;
    }
    if (!any || isalnum((unsigned char)s[j]) || s[j] == '_')
        return 0;
    return j - i;
}

static int
s_lex(s_parser_t *p)
{
    const char *s = p->text;
    int i = 0, brackets = 0;
    for (;;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            break;
        if (isspace(c)) {
            i++;
            continue;
        }
        if (c == '#') {
            while (s[i] && s[i] != '\n')
                i++;
            continue;
        }
        if (c == '"' || c == '\'' || c == '`') {
            i = s_lex_string(p, i);
            if (i < 0)
                return -1;
            continue;
        }
        if (isdigit(c) || (c == '.' && isdigit((unsigned char)s[i + 1]))) {
            int dl = s_duration_len(s, i);
            if (dl > 0) {
                char tmp[64];
                if (dl >= (int)sizeof(tmp) || (memcpy(tmp, s + i, (size_t)dl), tmp[dl] = '\0',
                                               fw_duration_parse(tmp, &(int64_t){0}) != 0)) {
                    s_fail(p, i, "bad duration syntax: \"%.*s\"", dl, s + i);
                    return -1;
                }
                s_tok_t *t = s_push(p, T_DUR, i, dl);
                fw_duration_parse(tmp, &t->ms);
                i += dl;
                continue;
            }
            char *end;
            errno = 0;
            double v;
            if (c == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X'))
                v = (double)strtoull(s + i, &end, 16);
            else
                v = strtod(s + i, &end);
            int len = (int)(end - (s + i));
            unsigned char after = (unsigned char)s[i + len];
            if (len == 0 || isalnum(after) || after == '_' || after == '.' ||
                (after == ':' && brackets == 0)) {
                int j = i + (len > 0 ? len : 1);
                while (s_ident_char((unsigned char)s[j]) || s[j] == '.')
                    j++;
                s_fail(p, i, "bad number or duration syntax: \"%.*s\"", j - i, s + i);
                return -1;
            }
            s_tok_t *t = s_push(p, T_NUM, i, len);
            t->num = v;
            i += len;
            continue;
        }
        if (s_ident_start(c) && !(c == ':' && brackets > 0)) {
            int j = i;
            while (s_ident_char((unsigned char)s[j]))
                j++;
            if (j - i == 3 && strncasecmp(s + i, "inf", 3) == 0) {
                s_push(p, T_NUM, i, 3)->num = INFINITY;
            } else if (j - i == 3 && strncasecmp(s + i, "nan", 3) == 0) {
                s_push(p, T_NUM, i, 3)->num = NAN;
            } else {
                s_tok_t *t = s_push(p, T_IDENT, i, j - i);
                t->str = fw_strndup(s + i, (size_t)(j - i));
            }
            i = j;
            continue;
        }
        s_tok_type_t t;
        int len = 1;
        char d = s[i + 1];
        switch (c) {
        case '(': t = T_LPAREN; break;
        case ')': t = T_RPAREN; break;
        case '{': t = T_LBRACE; break;
        case '}': t = T_RBRACE; break;
        case '[':
            t = T_LBRACK;
            brackets++;
            break;
        case ']':
            t = T_RBRACK;
            brackets--;
            break;
        case ',': t = T_COMMA; break;
        case ':': t = T_COLON; break;
        case '@': t = T_AT; break;
        case '+': t = T_ADD; break;
        case '-': t = T_SUB; break;
        case '*': t = T_MUL; break;
        case '/': t = T_DIV; break;
        case '%': t = T_MOD; break;
        case '^': t = T_POW; break;
        case '=':
            if (d == '=') {
                t = T_EQL;
                len = 2;
            } else if (d == '~') {
                t = T_EQL_RE;
                len = 2;
            } else
                t = T_ASSIGN;
            break;
        case '!':
            if (d == '=') {
                t = T_NEQ;
                len = 2;
            } else if (d == '~') {
                t = T_NEQ_RE;
                len = 2;
            } else {
                s_fail(p, i, "unexpected character after '!': %s",
                       d ? (char[]){'\'', d, '\'', 0} : "end of input");
                return -1;
            }
            break;
        case '>':
            if (d == '=') {
                t = T_GTE;
                len = 2;
            } else
                t = T_GTR;
            break;
        case '<':
            if (d == '=') {
                t = T_LTE;
                len = 2;
            } else
                t = T_LSS;
            break;
        default: s_fail(p, i, "unexpected character: '%c'", c); return -1;
        }
        s_push(p, t, i, len);
        i += len;
    }
    s_push(p, T_EOF, i, 0);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Tables

static const struct {
    const char *name;
    fw_pq_func_t fn;
    fw_pq_type_t args[5];   // the last listed type repeats for variadic functions
    int min_args, max_args; // max_args -1: variadic
    fw_pq_type_t ret;
} s_funcs[] = {
    {"abs", FW_PQ_FN_ABS, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"ceil", FW_PQ_FN_CEIL, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"floor", FW_PQ_FN_FLOOR, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"sqrt", FW_PQ_FN_SQRT, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"exp", FW_PQ_FN_EXP, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"ln", FW_PQ_FN_LN, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"log2", FW_PQ_FN_LOG2, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"log10", FW_PQ_FN_LOG10, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"sgn", FW_PQ_FN_SGN, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"round", FW_PQ_FN_ROUND, {FW_PQ_VECTOR, FW_PQ_SCALAR}, 1, 2, FW_PQ_VECTOR},
    {"clamp", FW_PQ_FN_CLAMP, {FW_PQ_VECTOR, FW_PQ_SCALAR, FW_PQ_SCALAR}, 3, 3, FW_PQ_VECTOR},
    {"clamp_min", FW_PQ_FN_CLAMP_MIN, {FW_PQ_VECTOR, FW_PQ_SCALAR}, 2, 2, FW_PQ_VECTOR},
    {"clamp_max", FW_PQ_FN_CLAMP_MAX, {FW_PQ_VECTOR, FW_PQ_SCALAR}, 2, 2, FW_PQ_VECTOR},
    {"time", FW_PQ_FN_TIME, {FW_PQ_SCALAR}, 0, 0, FW_PQ_SCALAR},
    {"vector", FW_PQ_FN_VECTOR, {FW_PQ_SCALAR}, 1, 1, FW_PQ_VECTOR},
    {"scalar", FW_PQ_FN_SCALAR, {FW_PQ_VECTOR}, 1, 1, FW_PQ_SCALAR},
    {"timestamp", FW_PQ_FN_TIMESTAMP, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"absent", FW_PQ_FN_ABSENT, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"rate", FW_PQ_FN_RATE, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"irate", FW_PQ_FN_IRATE, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"increase", FW_PQ_FN_INCREASE, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"delta", FW_PQ_FN_DELTA, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"idelta", FW_PQ_FN_IDELTA, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"deriv", FW_PQ_FN_DERIV, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"changes", FW_PQ_FN_CHANGES, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"resets", FW_PQ_FN_RESETS, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"avg_over_time", FW_PQ_FN_AVG_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"min_over_time", FW_PQ_FN_MIN_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"max_over_time", FW_PQ_FN_MAX_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"sum_over_time", FW_PQ_FN_SUM_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"count_over_time", FW_PQ_FN_COUNT_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"last_over_time", FW_PQ_FN_LAST_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"present_over_time", FW_PQ_FN_PRESENT_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"absent_over_time", FW_PQ_FN_ABSENT_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"stddev_over_time", FW_PQ_FN_STDDEV_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"stdvar_over_time", FW_PQ_FN_STDVAR_OVER_TIME, {FW_PQ_MATRIX}, 1, 1, FW_PQ_VECTOR},
    {"quantile_over_time",
     FW_PQ_FN_QUANTILE_OVER_TIME,
     {FW_PQ_SCALAR, FW_PQ_MATRIX},
     2,
     2,
     FW_PQ_VECTOR},
    {"predict_linear", FW_PQ_FN_PREDICT_LINEAR, {FW_PQ_MATRIX, FW_PQ_SCALAR}, 2, 2, FW_PQ_VECTOR},
    {"histogram_quantile",
     FW_PQ_FN_HISTOGRAM_QUANTILE,
     {FW_PQ_SCALAR, FW_PQ_VECTOR},
     2,
     2,
     FW_PQ_VECTOR},
    {"label_replace",
     FW_PQ_FN_LABEL_REPLACE,
     {FW_PQ_VECTOR, FW_PQ_STRING, FW_PQ_STRING, FW_PQ_STRING, FW_PQ_STRING},
     5,
     5,
     FW_PQ_VECTOR},
    {"label_join",
     FW_PQ_FN_LABEL_JOIN,
     {FW_PQ_VECTOR, FW_PQ_STRING, FW_PQ_STRING, FW_PQ_STRING},
     3,
     -1,
     FW_PQ_VECTOR},
    {"sort", FW_PQ_FN_SORT, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"sort_desc", FW_PQ_FN_SORT_DESC, {FW_PQ_VECTOR}, 1, 1, FW_PQ_VECTOR},
    {"year", FW_PQ_FN_YEAR, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"month", FW_PQ_FN_MONTH, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"day_of_month", FW_PQ_FN_DAY_OF_MONTH, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"day_of_week", FW_PQ_FN_DAY_OF_WEEK, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"day_of_year", FW_PQ_FN_DAY_OF_YEAR, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"days_in_month", FW_PQ_FN_DAYS_IN_MONTH, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"hour", FW_PQ_FN_HOUR, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
    {"minute", FW_PQ_FN_MINUTE, {FW_PQ_VECTOR}, 0, 1, FW_PQ_VECTOR},
};

// Prometheus functions we know by name but do not evaluate yet: a clear parse error.
static const char *const s_unsupported_funcs[] = {
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "cos",
    "cosh",
    "count_values",
    "deg",
    "histogram_count",
    "histogram_sum",
    "histogram_fraction",
    "histogram_avg",
    "histogram_stddev",
    "histogram_stdvar",
    "holt_winters",
    "pi",
    "rad",
    "sin",
    "sinh",
    "sort_by_label",
    "sort_by_label_desc",
    "tan",
    "tanh",
    "double_exponential_smoothing",
    "mad_over_time",
    "first_over_time",
    "limitk",
    "limit_ratio",
    "info",
    NULL,
};

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
    {"quantile", FW_PQ_AGG_QUANTILE, true},
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

static const char *
s_type_str(fw_pq_type_t t)
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

static fw_promql_expr_t *
s_node(fw_pq_kind_t kind, fw_pq_type_t type, int pos)
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

static void
s_add_arg(fw_promql_expr_t *e, fw_promql_expr_t *arg)
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

static s_tok_t *
s_peek(s_parser_t *p)
{
    return &p->toks[p->i];
}

static s_tok_t *
s_peek2(s_parser_t *p)
{
    return &p->toks[p->i + 1 < p->n ? p->i + 1 : p->n - 1];
}

static s_tok_t *
s_next(s_parser_t *p)
{
    s_tok_t *t = &p->toks[p->i];
    if (p->i + 1 < p->n)
        p->i++;
    return t;
}

static bool
s_is_kw(const s_tok_t *t, const char *kw)
{
    return t->type == T_IDENT && strcasecmp(t->str, kw) == 0;
}

static void
s_unexpected(s_parser_t *p, const s_tok_t *t, const char *where, const char *expected)
{
    char what[128];
    if (t->type == T_IDENT)
        snprintf(what, sizeof(what), "identifier \"%s\"", t->str);
    else if (t->type == T_NUM || t->type == T_DUR || t->type == T_STR)
        snprintf(what, sizeof(what), "%s \"%.*s\"", s_tok_desc(t->type), t->len > 60 ? 60 : t->len,
                 p->text + t->pos);
    else
        snprintf(what, sizeof(what), "%s", s_tok_desc(t->type));
    s_fail(p, t->pos, "unexpected %s%s%s%s%s", what, where ? " in " : "", where ? where : "",
           expected ? ", expected " : "", expected ? expected : "");
}

static bool
s_expect(s_parser_t *p, s_tok_type_t type, const char *where)
{
    if (s_peek(p)->type == type) {
        s_next(p);
        return true;
    }
    s_unexpected(p, s_peek(p), where, s_tok_desc(type));
    return false;
}

static fw_promql_expr_t *s_parse_expr(s_parser_t *p, int min_prec);

static int
s_binop_of(const s_tok_t *t, fw_pq_binop_t *op)
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
        if (s_is_kw(t, "and")) {
            *op = FW_PQ_AND;
            return 2;
        }
        if (s_is_kw(t, "unless")) {
            *op = FW_PQ_UNLESS;
            return 2;
        }
        if (s_is_kw(t, "or")) {
            *op = FW_PQ_OR;
            return 1;
        }
        if (s_is_kw(t, "atan2")) {
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

// A parenthesised list of label names: "(a, b,)" — labels are identifiers or keywords.
static int
s_parse_label_list(s_parser_t *p, char ***out, size_t *n_out, const char *where)
{
    if (!s_expect(p, T_LPAREN, where))
        return -1;
    for (;;) {
        s_tok_t *t = s_peek(p);
        if (t->type == T_RPAREN) {
            s_next(p);
            return 0;
        }
        if (t->type != T_IDENT || strchr(t->str, ':')) {
            s_unexpected(p, t, where, "label");
            return -1;
        }
        s_next(p);
        *out = fw_realloc(*out, (*n_out + 1) * sizeof(char *));
        (*out)[(*n_out)++] = fw_strdup(t->str);
        t = s_peek(p);
        if (t->type == T_COMMA) {
            s_next(p);
            continue;
        }
        if (t->type != T_RPAREN) {
            s_unexpected(p, t, where, "\",\" or \")\"");
            return -1;
        }
    }
}

static int
s_add_matcher(s_parser_t *p, fw_promql_expr_t *e, const char *name, fw_match_op_t op,
              const char *value, int pos)
{
    struct fw_matcher m;
    fw_err_t rerr;
    if (fw_matcher_init(&m, op, name, value, FW_REGEX_PROMETHEUS, &rerr) != 0) {
        s_fail(p, pos, "%s", rerr.msg);
        return -1;
    }
    e->matchers = fw_realloc(e->matchers, (e->n_matchers + 1) * sizeof(*e->matchers));
    e->matchers[e->n_matchers++] = m;
    return 0;
}

// `{a="b", c=~"d"}` after an optional metric name; e is the selector being built.
static int
s_parse_matchers(s_parser_t *p, fw_promql_expr_t *e)
{
    s_next(p); // {
    for (;;) {
        s_tok_t *t = s_peek(p);
        if (t->type == T_RBRACE) {
            s_next(p);
            return 0;
        }
        const char *name;
        int npos = t->pos;
        if (t->type == T_IDENT && !strchr(t->str, ':')) {
            name = t->str;
        } else if (t->type == T_STR) {
            name = t->str; // quoted label names (UTF-8 names, Prometheus 3)
        } else {
            s_unexpected(p, t, "label matching", "label matching operator");
            return -1;
        }
        s_next(p);
        s_tok_t *opt = s_peek(p);
        fw_match_op_t op;
        switch (opt->type) {
        case T_ASSIGN: op = FW_MATCH_EQ; break;
        case T_NEQ: op = FW_MATCH_NE; break;
        case T_EQL_RE: op = FW_MATCH_RE; break;
        case T_NEQ_RE: op = FW_MATCH_NRE; break;
        default:
            if (t->type == T_STR && (opt->type == T_COMMA || opt->type == T_RBRACE)) {
                // {"metric_name"}: a quoted metric name
                if (e->metric) {
                    s_fail(p, npos, "metric name must not be set twice: \"%s\" or \"%s\"",
                           e->metric, name);
                    return -1;
                }
                e->metric = fw_strdup(name);
                if (s_add_matcher(p, e, "__name__", FW_MATCH_EQ, name, npos) != 0)
                    return -1;
                if (opt->type == T_COMMA)
                    s_next(p);
                continue;
            }
            s_unexpected(p, opt, "label matching", "label matching operator");
            return -1;
        }
        s_next(p);
        s_tok_t *v = s_peek(p);
        if (v->type != T_STR) {
            s_unexpected(p, v, "label matching", "string");
            return -1;
        }
        s_next(p);
        if (s_add_matcher(p, e, name, op, v->str, v->pos) != 0)
            return -1;
        t = s_peek(p);
        if (t->type == T_COMMA) {
            s_next(p);
            continue;
        }
        if (t->type != T_RBRACE) {
            s_unexpected(p, t, "label matching", "\",\" or \"}\"");
            return -1;
        }
    }
}

static fw_promql_expr_t *
s_parse_selector(s_parser_t *p)
{
    s_tok_t *t = s_peek(p);
    fw_promql_expr_t *e = s_node(FW_PQ_SELECTOR, FW_PQ_VECTOR, t->pos);
    if (t->type == T_IDENT) {
        e->metric = fw_strdup(t->str);
        s_next(p);
        if (s_add_matcher(p, e, "__name__", FW_MATCH_EQ, e->metric, t->pos) != 0)
            goto fail;
    }
    if (s_peek(p)->type == T_LBRACE && s_parse_matchers(p, e) != 0)
        goto fail;
    if (!e->metric) {
        bool nonempty = false;
        for (size_t k = 0; k < e->n_matchers; k++)
            if (!fw_matcher_matches(&e->matchers[k], ""))
                nonempty = true;
        if (!nonempty) {
            s_fail(p, e->pos, "vector selector must contain at least one non-empty matcher");
            goto fail;
        }
    } else {
        for (size_t k = 1; k < e->n_matchers; k++)
            if (strcmp(e->matchers[k].name, "__name__") == 0) {
                s_fail(p, e->pos, "metric name must not be set twice: \"%s\" or \"%s\"", e->metric,
                       e->matchers[k].value);
                goto fail;
            }
    }
    return e;
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

// A duration where one is required: "5m", or a plain number of seconds (Prometheus 3).
static int
s_parse_duration(s_parser_t *p, int64_t *ms, const char *where)
{
    s_tok_t *t = s_peek(p);
    if (t->type == T_DUR) {
        *ms = t->ms;
        s_next(p);
        return 0;
    }
    if (t->type == T_NUM && isfinite(t->num) && t->num >= 0 && t->num < 1e15) {
        *ms = (int64_t)llround(t->num * 1000.0);
        s_next(p);
        return 0;
    }
    s_unexpected(p, t, where, "duration");
    return -1;
}

static fw_promql_expr_t *
s_parse_call(s_parser_t *p)
{
    s_tok_t *t = s_next(p);
    size_t fi;
    for (fi = 0; fi < sizeof(s_funcs) / sizeof(s_funcs[0]); fi++)
        if (strcmp(s_funcs[fi].name, t->str) == 0)
            break;
    if (fi == sizeof(s_funcs) / sizeof(s_funcs[0])) {
        for (size_t k = 0; s_unsupported_funcs[k]; k++)
            if (strcmp(s_unsupported_funcs[k], t->str) == 0) {
                s_fail(p, t->pos, "function \"%s\" is not supported by floorwatch yet", t->str);
                return NULL;
            }
        s_fail(p, t->pos, "unknown function with name \"%s\"", t->str);
        return NULL;
    }
    fw_promql_expr_t *e = s_node(FW_PQ_CALL, s_funcs[fi].ret, t->pos);
    e->func = s_funcs[fi].fn;
    e->func_name = s_funcs[fi].name;
    s_next(p); // (
    if (s_peek(p)->type != T_RPAREN) {
        for (;;) {
            fw_promql_expr_t *a = s_parse_expr(p, 0);
            if (!a)
                goto fail;
            s_add_arg(e, a);
            if (s_peek(p)->type == T_COMMA) {
                s_next(p);
                continue;
            }
            break;
        }
    }
    if (!s_expect(p, T_RPAREN, "function call"))
        goto fail;
    int n = (int)e->n_args, max = s_funcs[fi].max_args;
    if (n < s_funcs[fi].min_args) {
        s_fail(p, e->pos, "expected at least %d argument(s) in call to \"%s\", got %d",
               s_funcs[fi].min_args, e->func_name, n);
        goto fail;
    }
    if (max >= 0 && n > max) {
        if (s_funcs[fi].min_args == max)
            s_fail(p, e->pos, "expected %d argument(s) in call to \"%s\", got %d", max,
                   e->func_name, n);
        else
            s_fail(p, e->pos, "expected at most %d argument(s) in call to \"%s\", got %d", max,
                   e->func_name, n);
        goto fail;
    }
    if (n > 64) {
        s_fail(p, e->pos, "too many arguments in call to \"%s\"", e->func_name);
        goto fail;
    }
    for (size_t k = 0; k < e->n_args; k++) {
        size_t ti = k;
        if (max < 0 && ti > 3)
            ti = 3; // label_join's source labels
        if (e->args[k]->type != s_funcs[fi].args[ti]) {
            s_fail(p, e->args[k]->pos, "expected type %s in call to function \"%s\", got %s",
                   s_type_str(s_funcs[fi].args[ti]), e->func_name, s_type_str(e->args[k]->type));
            goto fail;
        }
    }
    return e;
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

// An aggregation's "by (...)" or "without (...)", when the next token starts one, into e;
// *grouped is set when there was one. 0, or -1 on a parse error.
static int
s_parse_grouping(s_parser_t *p, fw_promql_expr_t *e, bool *grouped)
{
    if (!s_is_kw(s_peek(p), "by") && !s_is_kw(s_peek(p), "without"))
        return 0;
    e->without = s_is_kw(s_peek(p), "without");
    s_next(p);
    *grouped = true;
    return s_parse_label_list(p, &e->labels, &e->n_labels, "grouping opts") != 0 ? -1 : 0;
}

static fw_promql_expr_t *
s_parse_agg(s_parser_t *p, size_t ai)
{
    s_tok_t *t = s_next(p);
    fw_promql_expr_t *e = s_node(FW_PQ_AGG, FW_PQ_VECTOR, t->pos);
    e->agg = s_aggs[ai].op;
    bool grouped = false;
    if (s_parse_grouping(p, e, &grouped) != 0)
        goto fail;
    if (!s_expect(p, T_LPAREN, "aggregation"))
        goto fail;
    if (s_aggs[ai].param) {
        e->param = s_parse_expr(p, 0);
        if (!e->param)
            goto fail;
        s_grow_height(e, e->param);
        if (!s_expect(p, T_COMMA, "aggregation"))
            goto fail;
    }
    fw_promql_expr_t *a = s_parse_expr(p, 0);
    if (!a)
        goto fail;
    s_add_arg(e, a);
    if (!s_expect(p, T_RPAREN, "aggregation"))
        goto fail;
    if (!grouped && s_parse_grouping(p, e, &grouped) != 0)
        goto fail;
    if (a->type != FW_PQ_VECTOR) {
        s_fail(p, a->pos, "expected type instant vector in aggregation expression, got %s",
               s_type_str(a->type));
        goto fail;
    }
    if (e->param && e->param->type != FW_PQ_SCALAR) {
        s_fail(p, e->param->pos, "expected type scalar in aggregation parameter, got %s",
               s_type_str(e->param->type));
        goto fail;
    }
    return e;
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

static fw_promql_expr_t *
s_parse_primary(s_parser_t *p)
{
    s_tok_t *t = s_peek(p);
    fw_promql_expr_t *e;
    switch (t->type) {
    case T_NUM:
        e = s_node(FW_PQ_NUMBER, FW_PQ_SCALAR, t->pos);
        e->num = t->num;
        s_next(p);
        return e;
    case T_DUR:
        e = s_node(FW_PQ_NUMBER, FW_PQ_SCALAR, t->pos);
        e->num = (double)t->ms / 1000.0;
        s_next(p);
        return e;
    case T_STR:
        e = s_node(FW_PQ_STR, FW_PQ_STRING, t->pos);
        e->str = fw_strdup(t->str);
        s_next(p);
        return e;
    case T_LPAREN: {
        s_next(p);
        fw_promql_expr_t *in = s_parse_expr(p, 0);
        if (!in)
            return NULL;
        if (!s_expect(p, T_RPAREN, "paren expression")) {
            fw_promql_expr_destroy(&in);
            return NULL;
        }
        e = s_node(FW_PQ_PAREN, in->type, t->pos);
        s_add_arg(e, in);
        return e;
    }
    case T_LBRACE: return s_parse_selector(p);
    case T_IDENT: {
        for (size_t k = 0; k < sizeof(s_aggs) / sizeof(s_aggs[0]); k++)
            if (strcasecmp(t->str, s_aggs[k].name) == 0) {
                s_tok_t *n = s_peek2(p);
                if (n->type == T_LPAREN || s_is_kw(n, "by") || s_is_kw(n, "without"))
                    return s_parse_agg(p, k);
            }
        if (strcasecmp(t->str, "count_values") == 0 || strcasecmp(t->str, "limitk") == 0 ||
            strcasecmp(t->str, "limit_ratio") == 0) {
            s_fail(p, t->pos, "aggregation \"%s\" is not supported by floorwatch yet", t->str);
            return NULL;
        }
        if (s_peek2(p)->type == T_LPAREN)
            return s_parse_call(p);
        if (s_is_keyword(t->str)) {
            s_unexpected(p, t, NULL, NULL);
            return NULL;
        }
        return s_parse_selector(p);
    }
    default: s_unexpected(p, t, NULL, NULL); return NULL;
    }
}

// Postfix: [range], [range:step] (unsupported), offset d, @ (unsupported).
static fw_promql_expr_t *
s_parse_postfix(s_parser_t *p, fw_promql_expr_t *e)
{
    for (;;) {
        s_tok_t *t = s_peek(p);
        if (t->type == T_LBRACK) {
            bool plain = e->kind == FW_PQ_SELECTOR && e->range_ms == 0 && e->offset_ms == 0;
            s_next(p);
            int64_t ms;
            if (s_parse_duration(p, &ms, plain ? "range selector" : "subquery selector") != 0)
                goto fail;
            if (s_peek(p)->type != T_COLON) {
                if (!plain) {
                    s_fail(p, t->pos,
                           e->kind == FW_PQ_SELECTOR
                               ? "no offset or range modifiers allowed before range"
                               : "ranges only allowed for vector selectors");
                    goto fail;
                }
                if (!s_expect(p, T_RBRACK, "range selector"))
                    goto fail;
                if (ms <= 0) {
                    s_fail(p, t->pos, "range selector must be positive");
                    goto fail;
                }
                e->range_ms = ms;
                e->type = FW_PQ_MATRIX;
                continue;
            }
            s_next(p); // :
            int64_t step = 0;
            if (s_peek(p)->type != T_RBRACK && s_parse_duration(p, &step, "subquery selector") != 0)
                goto fail;
            if (!s_expect(p, T_RBRACK, "subquery selector"))
                goto fail;
            if (e->type != FW_PQ_VECTOR) {
                s_fail(p, e->pos, "subquery is only allowed on instant vector, got %s",
                       s_type_str(e->type));
                goto fail;
            }
            if (ms <= 0) {
                s_fail(p, t->pos, "subquery range must be positive");
                goto fail;
            }
            fw_promql_expr_t *sq = s_node(FW_PQ_SUBQUERY, FW_PQ_MATRIX, e->pos);
            sq->range_ms = ms;
            sq->step_ms = step;
            s_add_arg(sq, e);
            e = sq;
            continue;
        }
        if (s_is_kw(t, "offset")) {
            if (e->kind != FW_PQ_SELECTOR && e->kind != FW_PQ_SUBQUERY) {
                s_fail(p, t->pos,
                       "offset modifier must be preceded by an instant vector "
                       "selector or range vector selector or a subquery");
                goto fail;
            }
            if (e->offset_ms != 0) {
                s_fail(p, t->pos, "offset may not be set multiple times");
                goto fail;
            }
            s_next(p);
            bool neg = false;
            if (s_peek(p)->type == T_SUB) {
                neg = true;
                s_next(p);
            }
            int64_t ms;
            if (s_parse_duration(p, &ms, "offset") != 0)
                goto fail;
            e->offset_ms = neg ? -ms : ms;
            continue;
        }
        if (t->type == T_AT) {
            s_fail(p, t->pos, "the @ modifier is not supported by floorwatch yet");
            goto fail;
        }
        return e;
    }
fail:
    fw_promql_expr_destroy(&e);
    return NULL;
}

// A run of signs is read in one loop rather than one recursion per sign, so `-----…1`
// cannot exhaust the stack. As in Prometheus a number absorbs its signs; other operands
// keep one negation, or two for an even count (-(-x) drops the metric name, so it is not x).
static fw_promql_expr_t *
s_parse_unary(s_parser_t *p)
{
    const s_tok_t *last = NULL;
    int first_neg = -1, last_neg = -1;
    size_t n_neg = 0;
    while (s_peek(p)->type == T_SUB || s_peek(p)->type == T_ADD) {
        last = s_next(p);
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
        return s_parse_postfix(p, e);
    }
    fw_promql_expr_t *in = s_parse_expr(p, S_PREC_POW);
    if (!in)
        return NULL;
    if (in->type != FW_PQ_SCALAR && in->type != FW_PQ_VECTOR) {
        s_fail(p, last->pos,
               "unary expression only allowed on expressions of type scalar or "
               "instant vector, got %s",
               s_type_str(in->type));
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
        fw_promql_expr_t *inner = s_node(FW_PQ_NEG, in->type, last_neg);
        s_add_arg(inner, in);
        in = inner;
    }
    fw_promql_expr_t *e = s_node(FW_PQ_NEG, in->type, first_neg);
    s_add_arg(e, in);
    return e;
}

// Binary operator modifiers: bool, on/ignoring(...), group_left/right(...).
static int
s_parse_modifiers(s_parser_t *p, fw_promql_expr_t *e)
{
    if (s_is_kw(s_peek(p), "bool")) {
        if (!fw_promql_binop_is_comparison(e->op)) {
            s_fail(p, s_peek(p)->pos, "bool modifier can only be used on comparison operators");
            return -1;
        }
        s_next(p);
        e->return_bool = true;
    }
    if (s_is_kw(s_peek(p), "on") || s_is_kw(s_peek(p), "ignoring")) {
        e->on = s_is_kw(s_peek(p), "on");
        e->has_matching = true;
        s_next(p);
        if (s_parse_label_list(p, &e->labels, &e->n_labels, "grouping opts") != 0)
            return -1;
        if (s_is_kw(s_peek(p), "group_left") || s_is_kw(s_peek(p), "group_right")) {
            s_tok_t *g = s_next(p);
            if (fw_promql_binop_is_set(e->op)) {
                s_fail(p, g->pos, "no grouping allowed for \"%s\" operation",
                       fw_promql_binop_str(e->op));
                return -1;
            }
            e->card = s_is_kw(g, "group_left") ? FW_PQ_CARD_MANY_TO_ONE : FW_PQ_CARD_ONE_TO_MANY;
            if (s_peek(p)->type == T_LPAREN &&
                s_parse_label_list(p, &e->include, &e->n_include, "grouping opts") != 0)
                return -1;
        }
    }
    return 0;
}

// Is e taller than FW_PROMQL_MAX_DEPTH? Then fail at pos: every walk of the tree (the
// evaluator, formatting, freeing) recurses once per level.
static bool
s_too_deep(s_parser_t *p, const fw_promql_expr_t *e, int pos)
{
    if (e->height <= FW_PROMQL_MAX_DEPTH)
        return false;
    s_fail(p, pos, "expression nests too deeply (more than %d levels)", FW_PROMQL_MAX_DEPTH);
    return true;
}

static fw_promql_expr_t *
s_parse_expr_at(s_parser_t *p, int min_prec)
{
    fw_promql_expr_t *lhs = s_parse_unary(p);
    if (!lhs)
        return NULL;
    for (;;) {
        fw_pq_binop_t op;
        s_tok_t *t = s_peek(p);
        int prec = s_binop_of(t, &op);
        if (prec == 0 || prec < min_prec)
            return lhs;
        s_next(p);
        fw_promql_expr_t *e = s_node(FW_PQ_BINARY, FW_PQ_SCALAR, lhs->pos);
        e->op = op;
        e->card = fw_promql_binop_is_set(op) ? FW_PQ_CARD_MANY_TO_MANY : FW_PQ_CARD_ONE_TO_ONE;
        s_add_arg(e, lhs);
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
        s_add_arg(e, rhs);
        if (s_too_deep(p, e, t->pos)) {
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        fw_pq_type_t lt = lhs->type, rt = rhs->type;
        if ((lt != FW_PQ_SCALAR && lt != FW_PQ_VECTOR) ||
            (rt != FW_PQ_SCALAR && rt != FW_PQ_VECTOR)) {
            s_fail(p, e->pos,
                   "binary expression must contain only scalar and instant vector "
                   "types");
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        if (fw_promql_binop_is_set(op) && (lt == FW_PQ_SCALAR || rt == FW_PQ_SCALAR)) {
            s_fail(p, e->pos, "set operator \"%s\" not allowed in binary scalar expression",
                   fw_promql_binop_str(op));
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        if (fw_promql_binop_is_comparison(op) && !e->return_bool && lt == FW_PQ_SCALAR &&
            rt == FW_PQ_SCALAR) {
            s_fail(p, e->pos, "comparisons between scalars must use BOOL modifier");
            fw_promql_expr_destroy(&e);
            return NULL;
        }
        if (e->has_matching && (lt != FW_PQ_VECTOR || rt != FW_PQ_VECTOR)) {
            s_fail(p, e->pos, "vector matching only allowed between instant vectors");
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
s_parse_expr(s_parser_t *p, int min_prec)
{
    int pos = s_peek(p)->pos;
    if (p->depth >= FW_PROMQL_MAX_DEPTH) {
        s_fail(p, pos, "expression nests too deeply (more than %d levels)", FW_PROMQL_MAX_DEPTH);
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
    s_parser_t p = {.text = text ? text : "", .err = err};
    fw_promql_expr_t *e = NULL;
    if (s_lex(&p) != 0)
        goto out;
    if (s_peek(&p)->type == T_EOF) {
        s_fail(&p, 0, "no expression found in input");
        goto out;
    }
    e = s_parse_expr(&p, 0);
    if (e && s_peek(&p)->type != T_EOF) {
        s_unexpected(&p, s_peek(&p), NULL, NULL);
        fw_promql_expr_destroy(&e);
    }
out:
    for (size_t k = 0; k < p.n; k++)
        free(p.toks[k].str);
    free(p.toks);
    if (!e && !p.failed)
        s_fail(&p, 0, "parse error");
    return e;
}

// ---------------------------------------------------------------------------------------
// Formatting (for logs and tests)

static void
s_cat(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    fw_mem_grow((void **)buf, cap, *len + n + 1, 1);
    memcpy(*buf + *len, s, n + 1);
    *len += n;
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
            s_cat(b, l, c, e->matchers[k].name);
            s_cat(b, l, c, ops[e->matchers[k].op]);
            s_cat(b, l, c, "\"");
            s_cat(b, l, c, e->matchers[k].value);
            s_cat(b, l, c, "\"");
        }
        if (any)
            s_cat(b, l, c, "}");
        if (e->range_ms) {
            s_cat(b, l, c, "[");
            s_cat(b, l, c, fw_duration_format(e->range_ms, tmp, sizeof(tmp)));
            s_cat(b, l, c, "]");
        }
        if (e->offset_ms) {
            s_cat(b, l, c, " offset ");
            if (e->offset_ms < 0)
                s_cat(b, l, c, "-");
            s_cat(b, l, c, fw_duration_format(llabs(e->offset_ms), tmp, sizeof(tmp)));
        }
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
                s_cat(b, l, c, e->labels[k]);
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
                s_cat(b, l, c, e->labels[k]);
            }
            s_cat(b, l, c, ")");
            if (e->card == FW_PQ_CARD_MANY_TO_ONE || e->card == FW_PQ_CARD_ONE_TO_MANY) {
                s_cat(b, l, c,
                      e->card == FW_PQ_CARD_MANY_TO_ONE ? " group_left (" : " group_right (");
                for (size_t k = 0; k < e->n_include; k++) {
                    if (k)
                        s_cat(b, l, c, ", ");
                    s_cat(b, l, c, e->include[k]);
                }
                s_cat(b, l, c, ")");
            }
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
        s_cat(b, l, c, fw_duration_format(e->range_ms, tmp, sizeof(tmp)));
        s_cat(b, l, c, ":");
        if (e->step_ms)
            s_cat(b, l, c, fw_duration_format(e->step_ms, tmp, sizeof(tmp)));
        s_cat(b, l, c, "]");
        if (e->offset_ms) {
            s_cat(b, l, c, " offset ");
            if (e->offset_ms < 0)
                s_cat(b, l, c, "-");
            s_cat(b, l, c, fw_duration_format(llabs(e->offset_ms), tmp, sizeof(tmp)));
        }
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
