/*  fw_promql_lex.c — the PromQL lexer: query text to a token array (fw_promql_lex.h).

    The whole text is tokenized before parsing starts, so the parser in fw_promql.c can look
    ahead freely. Strings are unquoted here (Go's escape rules: \x, \u, \U, octal; invalid
    code points are errors), durations are read as milliseconds, and `inf`/`nan` become
    numbers. Every token keeps its byte position and length, so the parser's errors point at
    the offending text; fw_promql_lex_fail(), shared with the parser, records the first error.
*/
#include "fw_promql_lex.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_time.h"

const char *
fw_promql_lex_tok_desc(fw_promql_tok_type_t t)
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

void
fw_promql_lex_fail(fw_promql_parser_t *p, int pos, const char *fmt, ...)
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

static fw_promql_tok_t *
s_push(fw_promql_parser_t *p, fw_promql_tok_type_t type, int pos, int len)
{
    fw_mem_grow((void **)&p->toks, &p->cap, p->n + 1, sizeof(fw_promql_tok_t));
    fw_promql_tok_t *t = &p->toks[p->n++];
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

// Lex a quoted string starting at text[i] (the quote). Returns the index after the closing
// quote, or -1 after fw_promql_lex_fail.
static int
s_lex_string(fw_promql_parser_t *p, int i)
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
            fw_promql_lex_fail(p, start, "unterminated quoted string");
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
                fw_promql_lex_fail(p, i - 2, "unknown escape sequence");
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
                    fw_promql_lex_fail(p, i, "illegal character in escape sequence");
                    free(buf);
                    return -1;
                }
                v = v * (unsigned long)base + (unsigned long)d;
            }
            if (e == 'x' || base == 8) {
                if (v > 255) {
                    fw_promql_lex_fail(p, i, "escape sequence is an invalid Unicode code point");
                    free(buf);
                    return -1;
                }
                buf[n++] = (char)v;
            } else {
                if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
                    fw_promql_lex_fail(p, i, "escape sequence is an invalid Unicode code point");
                    free(buf);
                    return -1;
                }
                n += fw_utf8_put((uint32_t)v, buf + n);
            }
            continue;
        }
        buf[n++] = c;
        i++;
    }
    buf[n] = '\0';
    fw_promql_tok_t *t = s_push(p, T_STR, start, i - start);
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

int
fw_promql_lex(fw_promql_parser_t *p)
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
                    fw_promql_lex_fail(p, i, "bad duration syntax: \"%.*s\"", dl, s + i);
                    return -1;
                }
                fw_promql_tok_t *t = s_push(p, T_DUR, i, dl);
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
                fw_promql_lex_fail(p, i, "bad number or duration syntax: \"%.*s\"", j - i, s + i);
                return -1;
            }
            fw_promql_tok_t *t = s_push(p, T_NUM, i, len);
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
                fw_promql_tok_t *t = s_push(p, T_IDENT, i, j - i);
                t->str = fw_strndup(s + i, (size_t)(j - i));
            }
            i = j;
            continue;
        }
        fw_promql_tok_type_t t;
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
                fw_promql_lex_fail(p, i, "unexpected character after '!': %s",
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
        default: fw_promql_lex_fail(p, i, "unexpected character: '%c'", c); return -1;
        }
        s_push(p, t, i, len);
        i += len;
    }
    s_push(p, T_EOF, i, 0);
    return 0;
}

fw_promql_expr_t *
fw_promql_lex_done(fw_promql_parser_t *p, fw_promql_expr_t *e)
{
    for (size_t k = 0; k < p->n; k++)
        free(p->toks[k].str);
    free(p->toks);
    p->toks = NULL;
    p->n = 0;
    if (!e && !p->failed)
        fw_promql_lex_fail(p, 0, "parse error");
    return e;
}
