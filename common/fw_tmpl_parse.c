/*  fw_tmpl_parse.c — lexer and parser of Go's text/template language (see fw_tmpl.h).

    One pass over the text: text runs become TEXT nodes, each action is tokenized on the fly
    and parsed by recursive descent. Nesting (blocks, parentheses) is bounded by
    FW_TMPL_MAX_DEPTH so a hostile template cannot exhaust the stack. Error texts are Go's
    (text/template/parse): "template: NAME:LINE: MSG".
*/
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_tmpl_int.h"

typedef enum {
    T_EOF,
    T_RDELIM,
    T_IDENT,
    T_FIELD,
    T_VAR,
    T_DOT,
    T_STRING,
    T_NUMBER,
    T_CHAR,
    T_BOOL,
    T_NIL,
    T_PIPE,
    T_LPAREN,
    T_RPAREN,
    T_DECLARE,
    T_ASSIGN,
    T_COMMA,
    T_PUNCT, // any other printable ASCII: Go's itemChar, refused by the parser
    T_KEYWORD,
} s_tok_kind_t;

typedef struct {
    s_tok_kind_t kind;
    size_t start, len;
    bool space; // blank before it
    bool trim;  // RDELIM: -}}
} s_tok_t;

typedef struct {
    const fw_tmpl_set_t *set;
    const char *src;
    size_t n, i;
    const char *name;      // parse name (the top template's)
    const char *tree_name; // the template being parsed
    fw_err_t *err;
    bool failed;
    int depth;
    char **vars;
    size_t nvars, capvars;
    size_t var_floor;           // a define's body sees only the variables above this
    struct fw_tmpl_tree **defs; // defines, in order
    size_t ndefs, capdefs;
    bool trim_next;
    s_tok_t peeked;
    bool has_peek;
} s_p_t;

static int
s_line_of(const s_p_t *p, size_t pos)
{
    int line = 1;
    for (size_t i = 0; i < pos && i < p->n; i++)
        line += p->src[i] == '\n';
    return line;
}

static void s_fail(s_p_t *p, size_t pos, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
s_fail(s_p_t *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = true;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int line = s_line_of(p, pos);
    size_t ls = pos;
    while (ls > 0 && p->src[ls - 1] != '\n')
        ls--;
    fw_err_set_at(p->err, p->name, line, (int)(pos - ls) + 1, "template: %s:%d: %s", p->name, line,
                  msg);
}

// ---- lexer ----

static bool
s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool
s_is_alnum(char c)
{
    return c == '_' || isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

static const char *const s_keywords[] = {"if",       "else",  "end",   "range",    "with", "define",
                                         "template", "block", "break", "continue", NULL};

static bool
s_tok_is(const s_p_t *p, const s_tok_t *t, const char *word)
{
    return t->len == strlen(word) && memcmp(p->src + t->start, word, t->len) == 0;
}

static void
s_lex(s_p_t *p, s_tok_t *t)
{
    if (p->has_peek) {
        *t = p->peeked;
        p->has_peek = false;
        return;
    }
    memset(t, 0, sizeof(*t));
    size_t b = p->i;
    while (p->i < p->n && s_is_space(p->src[p->i]))
        p->i++;
    t->space = p->i > b;
    const char *s = p->src + p->i;
    size_t left = p->n - p->i;
    t->start = p->i;
    if (left == 0) {
        t->kind = T_EOF;
        return;
    }
    if (t->space && left >= 3 && memcmp(s, "-}}", 3) == 0) {
        t->kind = T_RDELIM;
        t->trim = true;
        p->i += 3;
        return;
    }
    if (left >= 2 && memcmp(s, "}}", 2) == 0) {
        t->kind = T_RDELIM;
        p->i += 2;
        return;
    }
    char c = s[0];
    size_t k = 1;
    switch (c) {
    case '|': t->kind = T_PIPE; break;
    case '(': t->kind = T_LPAREN; break;
    case ')': t->kind = T_RPAREN; break;
    case ',': t->kind = T_COMMA; break;
    case '=': t->kind = T_ASSIGN; break;
    case ':':
        if (left < 2 || s[1] != '=') {
            s_fail(p, p->i, "expected :=");
            t->kind = T_EOF;
            return;
        }
        t->kind = T_DECLARE;
        k = 2;
        break;
    case '"':
    case '`':
    case '\'':
        while (k < left && s[k] != c) {
            if (c != '`' && s[k] == '\\' && k + 1 < left)
                k++;
            else if (c != '`' && s[k] == '\n')
                break;
            k++;
        }
        if (k >= left || s[k] != c) {
            s_fail(p, p->i,
                   c == '`'   ? "unterminated raw quoted string"
                   : c == '"' ? "unterminated quoted string"
                              : "unterminated character constant");
            t->kind = T_EOF;
            return;
        }
        k++;
        t->kind = c == '\'' ? T_CHAR : T_STRING;
        break;
    case '$':
        while (k < left && s_is_alnum(s[k]))
            k++;
        t->kind = T_VAR;
        break;
    case '.':
        if (left > 1 && isdigit((unsigned char)s[1]))
            goto number;
        while (k < left && s_is_alnum(s[k]))
            k++;
        t->kind = k == 1 ? T_DOT : T_FIELD;
        break;
    default:
        if (c == '+' || c == '-' || isdigit((unsigned char)c)) {
        number:
            while (k < left && (s_is_alnum(s[k]) || s[k] == '.' || s[k] == '_' ||
                                ((s[k] == '+' || s[k] == '-') && strchr("eEpP", s[k - 1]))))
                k++;
            t->kind = T_NUMBER;
            break;
        }
        if (s_is_alnum(c)) {
            while (k < left && s_is_alnum(s[k]))
                k++;
            t->kind = T_IDENT;
            t->len = k;
            if (s_tok_is(p, t, "true") || s_tok_is(p, t, "false"))
                t->kind = T_BOOL;
            else if (s_tok_is(p, t, "nil"))
                t->kind = T_NIL;
            else
                for (int w = 0; s_keywords[w]; w++)
                    if (s_tok_is(p, t, s_keywords[w]))
                        t->kind = T_KEYWORD;
            break;
        }
        if (c > ' ' && c < 0x7f) {
            t->kind = T_PUNCT;
            break;
        }
        s_fail(p, p->i, "unrecognized character in action: U+%04X", (unsigned char)c);
        t->kind = T_EOF;
        return;
    }
    t->len = k;
    p->i += k;
}

static void
s_peek(s_p_t *p, s_tok_t *t)
{
    if (!p->has_peek) {
        s_lex(p, &p->peeked);
        p->has_peek = true;
    }
    *t = p->peeked;
}

static char *
s_tok_text(const s_p_t *p, const s_tok_t *t)
{
    return fw_strndup(p->src + t->start, t->len);
}

static const char *
s_tok_desc(const s_p_t *p, const s_tok_t *t, char *buf, size_t size)
{
    switch (t->kind) {
    case T_EOF: return "EOF";
    case T_RDELIM: return "<}}>"; // Go: unexpected "}}" / <right delim>
    default:
        snprintf(buf, size, "%s%.*s%s", t->kind == T_KEYWORD ? "<" : "\"", (int)t->len,
                 p->src + t->start, t->kind == T_KEYWORD ? ">" : "\"");
        return buf;
    }
}

// ---- variables ----

static void
s_var_push(s_p_t *p, const char *name)
{
    fw_mem_grow((void **)&p->vars, &p->capvars, p->nvars + 1, sizeof(char *));
    p->vars[p->nvars++] = fw_strdup(name);
}

static void
s_var_pop(s_p_t *p, size_t mark)
{
    while (p->nvars > mark)
        free(p->vars[--p->nvars]);
}

static bool
s_var_known(const s_p_t *p, const char *name)
{
    for (size_t i = p->nvars; i-- > p->var_floor;)
        if (strcmp(p->vars[i], name) == 0)
            return true;
    return false;
}

// ---- parser ----

static struct fw_tmpl_pipe *s_pipeline(s_p_t *p, const char *context, bool in_paren);

static void
s_arg_text(s_p_t *p, struct fw_tmpl_arg *a, size_t start, size_t end)
{
    (void)p;
    fw_tmpl_buf_t b = {0};
    if (a->kind == FW_TMPL_ARG_PIPE) {
        fw_tmpl_buf_add(&b, "(", 1);
        for (int c = 0; c < a->pipe->ncmds; c++) {
            if (c)
                fw_tmpl_buf_add(&b, " | ", 3);
            for (int i = 0; i < a->pipe->cmds[c].nargs; i++) {
                if (i)
                    fw_tmpl_buf_add(&b, " ", 1);
                const char *t = a->pipe->cmds[c].args[i].text;
                fw_tmpl_buf_add(&b, t, strlen(t));
            }
        }
        fw_tmpl_buf_add(&b, ")", 1);
        for (int i = 0; i < a->nchain; i++) {
            fw_tmpl_buf_add(&b, ".", 1);
            fw_tmpl_buf_add(&b, a->chain[i], strlen(a->chain[i]));
        }
    } else {
        while (end > start && s_is_space(p->src[end - 1]))
            end--;
        fw_tmpl_buf_add(&b, p->src + start, end - start);
    }
    fw_tmpl_buf_add(&b, "", 0);
    a->text = b.s;
}

// Fields directly after an operand (no blank): .A.B
static void
s_chain(s_p_t *p, struct fw_tmpl_arg *a)
{
    size_t cap = (size_t)a->nchain;
    for (bool first = true;; first = false) {
        s_tok_t t;
        s_peek(p, &t);
        if (t.kind != T_FIELD || t.space)
            return;
        if (first) // Go's chain node (and the field made of it) is at the chained field
            a->pos = (int)t.start;
        s_lex(p, &t);
        fw_mem_grow((void **)&a->chain, &cap, (size_t)a->nchain + 1, sizeof(char *));
        a->chain[a->nchain++] = fw_strndup(p->src + t.start + 1, t.len - 1);
    }
}

// One operand; 0 when the next token is not one (left unread), 1 when parsed, -1 on error.
static int
s_operand(s_p_t *p, struct fw_tmpl_arg *a, const char *context)
{
    s_tok_t t;
    s_peek(p, &t);
    memset(a, 0, sizeof(*a));
    a->pos = (int)t.start;
    size_t start = t.start;
    char buf[96];
    switch (t.kind) {
    case T_FIELD:
    case T_DOT:
        a->kind = FW_TMPL_ARG_FIELD;
        s_lex(p, &t);
        if (t.kind == T_FIELD) {
            a->chain = fw_malloc(sizeof(char *));
            a->chain[a->nchain++] = fw_strndup(p->src + t.start + 1, t.len - 1);
        }
        s_chain(p, a);
        break;
    case T_VAR: {
        s_lex(p, &t);
        a->kind = FW_TMPL_ARG_VAR;
        a->name = s_tok_text(p, &t);
        if (!s_var_known(p, a->name)) {
            s_fail(p, t.start, "undefined variable \"%s\"", a->name);
            return -1;
        }
        s_chain(p, a);
        break;
    }
    case T_IDENT:
        s_lex(p, &t);
        a->kind = FW_TMPL_ARG_IDENT;
        a->name = s_tok_text(p, &t);
        if (!fw_tmpl_func_find(p->set, a->name, false) && !fw_tmpl_is_builtin(a->name)) {
            s_fail(p, t.start, "function \"%s\" not defined", a->name);
            return -1;
        }
        break;
    case T_STRING:
    case T_CHAR: {
        s_lex(p, &t);
        fw_tmpl_buf_t b = {0};
        fw_tmpl_buf_add(&b, "", 0);
        if (fw_tmpl_unquote(p->src + t.start, t.len, &b) < 0) {
            free(b.s);
            s_fail(p, t.start, "invalid syntax");
            return -1;
        }
        a->kind = FW_TMPL_ARG_LIT;
        if (t.kind == T_STRING) {
            a->lit = json_stringn_nocheck(b.s, b.len);
        } else {
            const unsigned char *u = (const unsigned char *)b.s;
            long long cp = u[0];
            if (b.len >= 2 && u[0] >= 0xC0)
                cp = b.len == 2   ? ((u[0] & 0x1F) << 6) | (u[1] & 0x3F)
                     : b.len == 3 ? ((u[0] & 0x0F) << 12) | ((u[1] & 0x3F) << 6) | (u[2] & 0x3F)
                                  : ((u[0] & 0x07) << 18) | ((u[1] & 0x3F) << 12) |
                                        ((u[2] & 0x3F) << 6) | (u[3] & 0x3F);
            a->lit = json_integer(cp);
        }
        free(b.s);
        break;
    }
    case T_NUMBER:
        s_lex(p, &t);
        a->kind = FW_TMPL_ARG_LIT;
        a->lit = fw_tmpl_number(p->src + t.start, t.len);
        if (!a->lit) {
            s_fail(p, t.start, "bad number syntax: \"%.*s\"", (int)t.len, p->src + t.start);
            return -1;
        }
        break;
    case T_BOOL:
        s_lex(p, &t);
        a->kind = FW_TMPL_ARG_LIT;
        a->lit = json_boolean(p->src[t.start] == 't');
        break;
    case T_NIL:
        s_lex(p, &t);
        a->kind = FW_TMPL_ARG_NIL;
        break;
    case T_LPAREN: {
        s_lex(p, &t);
        if (++p->depth > FW_TMPL_MAX_DEPTH) {
            s_fail(p, t.start, "max expression depth exceeded");
            return -1;
        }
        a->kind = FW_TMPL_ARG_PIPE;
        a->pipe = s_pipeline(p, "parenthesized pipeline", true);
        p->depth--;
        if (!a->pipe)
            return -1;
        s_chain(p, a);
        break;
    }
    default: (void)buf; return 0;
    }
    s_arg_text(p, a, start, p->has_peek ? p->peeked.start : p->i);
    (void)context;
    return 1;
}

// pipeline: [decl] command { '|' command } up to }} (or ')' when in_paren).
static struct fw_tmpl_pipe *
s_pipeline(s_p_t *p, const char *context, bool in_paren)
{
    struct fw_tmpl_pipe *pp = fw_calloc(1, sizeof(*pp));
    s_tok_t t;
    s_peek(p, &t);
    pp->pos = (int)t.start;
    char buf[96];
    // declarations: $x := / $x = / $i, $v :=
    if (t.kind == T_VAR && !in_paren) {
        size_t save = p->i;
        s_tok_t v1;
        s_lex(p, &v1);
        s_tok_t nx;
        s_peek(p, &nx);
        bool ok = false;
        if (nx.kind == T_DECLARE || nx.kind == T_ASSIGN) {
            s_lex(p, &nx);
            pp->vars[pp->nvars++] = s_tok_text(p, &v1);
            pp->decl = nx.kind == T_DECLARE;
            pp->assign = !pp->decl;
            ok = true;
        } else if (nx.kind == T_COMMA && strcmp(context, "range") == 0) {
            s_lex(p, &nx);
            s_tok_t v2, d;
            s_lex(p, &v2);
            s_lex(p, &d);
            if (v2.kind != T_VAR || (d.kind != T_DECLARE && d.kind != T_ASSIGN)) {
                s_fail(p, v2.start, "range can only initialize variables");
                fw_tmpl_pipe_free(pp);
                return NULL;
            }
            pp->vars[pp->nvars++] = s_tok_text(p, &v1);
            pp->vars[pp->nvars++] = s_tok_text(p, &v2);
            pp->decl = d.kind == T_DECLARE;
            pp->assign = !pp->decl;
            ok = true;
        }
        if (ok) {
            for (int i = 0; i < pp->nvars; i++) {
                if (pp->assign && !s_var_known(p, pp->vars[i])) {
                    s_fail(p, v1.start, "undefined variable \"%s\"", pp->vars[i]);
                    fw_tmpl_pipe_free(pp);
                    return NULL;
                }
            }
            // Go's pipeline(): a declared variable is in scope from its own commands on
            // ({{$x := f $x}} parses; executing it finds $x undefined)
            for (int i = 0; pp->decl && i < pp->nvars; i++)
                s_var_push(p, pp->vars[i]);
        } else {
            p->i = save; // re-read from the variable
            p->has_peek = false;
            p->i = v1.start;
        }
    }
    size_t capcmds = 0;
    for (;;) {
        struct fw_tmpl_cmd cmd = {0};
        size_t capargs = 0;
        s_peek(p, &t);
        cmd.pos = (int)t.start;
        for (;;) {
            struct fw_tmpl_arg a;
            int r = s_operand(p, &a, context);
            if (r < 0) {
                fw_tmpl_arg_free(&a);
                goto fail_cmd;
            }
            if (r == 0)
                break;
            fw_mem_grow((void **)&cmd.args, &capargs, (size_t)cmd.nargs + 1, sizeof(a));
            cmd.args[cmd.nargs++] = a;
            s_peek(p, &t);
            if (!t.space && t.kind != T_RDELIM && t.kind != T_PIPE && t.kind != T_RPAREN &&
                t.kind != T_EOF) {
                s_fail(p, t.start, "missing space?");
                goto fail_cmd;
            }
        }
        s_lex(p, &t);
        if (t.kind == T_PIPE || (in_paren ? t.kind == T_RPAREN : t.kind == T_RDELIM)) {
            if (cmd.nargs == 0) {
                if (t.kind == T_PIPE || pp->ncmds > 0) {
                    s_fail(p, t.start, "missing command");
                    goto fail_cmd;
                }
                if (in_paren) {
                    s_fail(p, t.start, "missing value for parenthesized pipeline");
                    goto fail_cmd;
                }
            }
            if (cmd.nargs > 0) {
                if (pp->ncmds > 0 && cmd.args[0].kind == FW_TMPL_ARG_LIT) {
                    s_fail(p, (size_t)cmd.pos, "non executable command in pipeline stage %d",
                           pp->ncmds + 1);
                    goto fail_cmd;
                }
                fw_mem_grow((void **)&pp->cmds, &capcmds, (size_t)pp->ncmds + 1, sizeof(cmd));
                pp->cmds[pp->ncmds++] = cmd;
            }
            if (t.kind != T_PIPE) {
                if (!in_paren)
                    p->trim_next = t.trim;
                break;
            }
            continue;
        }
        if (t.kind == T_EOF && !p->failed)
            s_fail(p, t.start, in_paren ? "unclosed left paren" : "unclosed action");
        else if (t.kind == T_RPAREN)
            s_fail(p, t.start, "unexpected right paren");
        else if (t.kind == T_RDELIM)
            s_fail(p, t.start, "unclosed left paren");
        else // Go's command() names what follows an operand "operand"
            s_fail(p, t.start, "unexpected %s in %s", s_tok_desc(p, &t, buf, sizeof(buf)),
                   cmd.nargs > 0 ? "operand" : context);
    fail_cmd:
        for (int a = 0; a < cmd.nargs; a++)
            fw_tmpl_arg_free(&cmd.args[a]);
        free(cmd.args);
        fw_tmpl_pipe_free(pp);
        return NULL;
    }
    if (pp->ncmds == 0 && pp->nvars == 0 && strcmp(context, "command") != 0 &&
        strcmp(context, "template clause") != 0) {
        s_fail(p, (size_t)pp->pos, "missing value for %s", context);
        fw_tmpl_pipe_free(pp);
        return NULL;
    }
    if (pp->ncmds == 0 && pp->nvars > 0) {
        s_fail(p, (size_t)pp->pos, "missing value for %s", context);
        fw_tmpl_pipe_free(pp);
        return NULL;
    }
    return pp;
}

typedef enum { END_EOF, END_END, END_ELSE } s_end_t;

static struct fw_tmpl_node *s_list(s_p_t *p, s_end_t *how, size_t *end_pos, bool top);

static void
s_expect_rdelim(s_p_t *p, const char *context)
{
    s_tok_t t;
    char buf[96];
    s_lex(p, &t);
    if (t.kind != T_RDELIM)
        s_fail(p, t.start, "unexpected %s in %s", s_tok_desc(p, &t, buf, sizeof(buf)), context);
    else
        p->trim_next = t.trim;
}

// if / range / with, after the keyword. Else-if chains become a nested node in alt.
static struct fw_tmpl_node *
s_control(s_p_t *p, fw_tmpl_node_kind_t kind, const char *ctx, size_t pos)
{
    if (++p->depth > FW_TMPL_MAX_DEPTH) {
        s_fail(p, pos, "max expression depth exceeded");
        return NULL;
    }
    struct fw_tmpl_node *n = fw_calloc(1, sizeof(*n));
    n->kind = kind;
    n->pos = (int)pos;
    size_t mark = p->nvars;
    n->pipe = s_pipeline(p, ctx, false);
    if (!n->pipe)
        goto out;
    s_end_t how;
    size_t end_pos;
    n->list = s_list(p, &how, &end_pos, false);
    if (p->failed)
        goto out;
    if (how == END_EOF) {
        s_fail(p, p->n, "unexpected EOF");
        goto out;
    }
    if (how == END_ELSE) {
        // {{else if ...}} / {{else with ...}}: the rest of the chain is one nested node
        s_tok_t t;
        s_peek(p, &t);
        if (t.kind == T_KEYWORD && ((kind == FW_TMPL_NODE_IF && s_tok_is(p, &t, "if")) ||
                                    (kind == FW_TMPL_NODE_WITH && s_tok_is(p, &t, "with")))) {
            s_lex(p, &t);
            n->alt = s_control(p, kind, ctx, t.start);
            goto out; // the nested node consumed the {{end}}
        }
        s_expect_rdelim(p, "else");
        if (p->failed)
            goto out;
        n->alt = s_list(p, &how, &end_pos, false);
        if (p->failed)
            goto out;
        if (how != END_END) {
            if (how == END_ELSE)
                s_fail(p, end_pos, "expected end; found {{else}}");
            else
                s_fail(p, p->n, "unexpected EOF");
        }
    }
out:
    s_var_pop(p, mark);
    p->depth--;
    return n;
}

// {{template "name" [pipeline]}} / {{block "name" pipeline}}...{{end}}
// A define not yet given its parse's source (fw_tmpl_trees_free needs that).
static void
s_def_free(struct fw_tmpl_tree *tr)
{
    fw_tmpl_list_free(tr->root);
    free(tr->name);
    free(tr);
}

// The body of a {{define}} or {{block}} up to its {{end}}, as a new template named name
// (taken): its own variable scope starting with "$".
static void
s_define_body(s_p_t *p, char *name)
{
    size_t mark = p->nvars, floor = p->var_floor;
    p->var_floor = p->nvars;
    s_var_push(p, "$");
    s_end_t how;
    size_t end_pos;
    struct fw_tmpl_node *body = s_list(p, &how, &end_pos, false);
    s_var_pop(p, mark);
    p->var_floor = floor;
    if (!p->failed && how != END_END)
        s_fail(p, how == END_ELSE ? end_pos : p->n,
               how == END_ELSE ? "unexpected {{else}}" : "unexpected EOF");
    struct fw_tmpl_tree *tr = fw_calloc(1, sizeof(*tr));
    tr->name = name;
    tr->root = body;
    // Go's Tree.add: within one parse, an empty body yields to a non-empty one and a second
    // non-empty body is an error (across parses the later one wins, fw_tmpl_parse)
    for (size_t i = 0; i < p->ndefs; i++) {
        if (strcmp(p->defs[i]->name, name) != 0)
            continue;
        if (!fw_tmpl_list_empty(p->defs[i]->root) && !fw_tmpl_list_empty(body)) {
            s_fail(p, end_pos, "template: multiple definition of template \"%s\"", name);
        } else if (fw_tmpl_list_empty(p->defs[i]->root)) {
            struct fw_tmpl_tree *old = p->defs[i];
            p->defs[i] = tr;
            tr = old;
        }
        s_def_free(tr);
        return;
    }
    fw_mem_grow((void **)&p->defs, &p->capdefs, p->ndefs + 1, sizeof(*p->defs));
    p->defs[p->ndefs++] = tr;
}

static struct fw_tmpl_node *
s_template(s_p_t *p, bool block, size_t pos)
{
    s_tok_t t;
    char buf[96];
    const char *ctx = block ? "block clause" : "template clause";
    s_lex(p, &t);
    if (t.kind != T_STRING) {
        s_fail(p, t.start, "unexpected %s in %s", s_tok_desc(p, &t, buf, sizeof(buf)), ctx);
        return NULL;
    }
    fw_tmpl_buf_t b = {0};
    fw_tmpl_buf_add(&b, "", 0);
    fw_tmpl_unquote(p->src + t.start, t.len, &b);
    struct fw_tmpl_node *n = fw_calloc(1, sizeof(*n));
    n->kind = FW_TMPL_NODE_TEMPLATE;
    n->pos = (int)t.start; // Go's TemplateNode is at its name
    n->text = b.s;
    s_peek(p, &t);
    if (t.kind == T_RDELIM) {
        if (block) {
            s_fail(p, t.start, "missing value for block clause");
            return n;
        }
        s_lex(p, &t);
        p->trim_next = t.trim;
    } else {
        n->pipe = s_pipeline(p, ctx, false);
    }
    if (block && !p->failed) {
        if (++p->depth > FW_TMPL_MAX_DEPTH) {
            s_fail(p, pos, "max expression depth exceeded");
            return n;
        }
        s_define_body(p, fw_strdup(n->text));
        p->depth--;
    }
    return n;
}

// Text up to the next action, trimmed as the markers ask.
static struct fw_tmpl_node *
s_text(s_p_t *p, size_t *action_at, bool *found)
{
    size_t start = p->i;
    const char *hit = NULL;
    for (size_t k = p->i; k + 1 < p->n; k++)
        if (p->src[k] == '{' && p->src[k + 1] == '{') {
            hit = p->src + k;
            break;
        }
    size_t end = hit ? (size_t)(hit - p->src) : p->n;
    *found = hit != NULL;
    *action_at = end;
    size_t ts = start, te = end;
    if (p->trim_next)
        while (ts < te && s_is_space(p->src[ts]))
            ts++;
    p->trim_next = false;
    if (hit && end + 3 < p->n + 1 && p->src[end + 2] == '-' && end + 3 < p->n &&
        s_is_space(p->src[end + 3]))
        while (te > ts && s_is_space(p->src[te - 1]))
            te--;
    p->i = hit ? end + 2 : p->n;
    if (hit && p->src[end + 2] == '-' && end + 3 < p->n && s_is_space(p->src[end + 3]))
        p->i = end + 3;
    if (te == ts)
        return NULL;
    struct fw_tmpl_node *n = fw_calloc(1, sizeof(*n));
    n->kind = FW_TMPL_NODE_TEXT;
    n->pos = (int)ts;
    n->text = fw_strndup(p->src + ts, te - ts);
    n->len = te - ts;
    return n;
}

// A comment right after {{ (and the trim marker): /* ... */ then }} or -}}. 1 when it was.
static int
s_comment(s_p_t *p)
{
    size_t k = p->i;
    while (k < p->n && s_is_space(p->src[k]) && k > 0 && p->src[k - 1] == '-')
        k++;
    if (k + 1 >= p->n || p->src[k] != '/' || p->src[k + 1] != '*')
        return 0;
    const char *e = NULL;
    for (size_t j = k + 2; j + 1 < p->n; j++)
        if (p->src[j] == '*' && p->src[j + 1] == '/') {
            e = p->src + j;
            break;
        }
    if (!e) {
        s_fail(p, k, "unclosed comment");
        return -1;
    }
    size_t j = (size_t)(e - p->src) + 2;
    if (j + 2 <= p->n && memcmp(p->src + j, "}}", 2) == 0) {
        p->i = j + 2;
        return 1;
    }
    if (j + 4 <= p->n && memcmp(p->src + j, " -}}", 4) == 0) {
        p->i = j + 4;
        p->trim_next = true;
        return 1;
    }
    s_fail(p, j, "comment ends before closing delimiter");
    return -1;
}

static void
s_define(s_p_t *p, size_t pos)
{
    s_tok_t t;
    char buf[96];
    s_lex(p, &t);
    if (t.kind != T_STRING) {
        s_fail(p, t.start, "unexpected %s in define clause", s_tok_desc(p, &t, buf, sizeof(buf)));
        return;
    }
    fw_tmpl_buf_t b = {0};
    fw_tmpl_buf_add(&b, "", 0);
    fw_tmpl_unquote(p->src + t.start, t.len, &b);
    s_expect_rdelim(p, "define clause");
    if (p->failed) {
        free(b.s);
        return;
    }
    (void)pos;
    s_define_body(p, b.s);
}

static struct fw_tmpl_node *
s_list(s_p_t *p, s_end_t *how, size_t *end_pos, bool top)
{
    struct fw_tmpl_node *head = NULL, **tail = &head;
    *how = END_EOF;
    while (!p->failed) {
        size_t at;
        bool found;
        struct fw_tmpl_node *txt = s_text(p, &at, &found);
        if (txt) {
            *tail = txt;
            tail = &txt->next;
        }
        if (!found)
            break;
        int c = s_comment(p);
        if (c < 0)
            break;
        if (c > 0)
            continue;
        s_tok_t t;
        s_peek(p, &t);
        struct fw_tmpl_node *n = NULL;
        char buf[96];
        if (t.kind == T_KEYWORD) {
            s_lex(p, &t);
            if (s_tok_is(p, &t, "end") || s_tok_is(p, &t, "else")) {
                bool end = s_tok_is(p, &t, "end");
                if (top) {
                    s_fail(p, t.start, "unexpected {{%s}}", end ? "end" : "else");
                    break;
                }
                if (end)
                    s_expect_rdelim(p, "end");
                *how = end ? END_END : END_ELSE;
                *end_pos = t.start;
                return head;
            }
            if (s_tok_is(p, &t, "if"))
                n = s_control(p, FW_TMPL_NODE_IF, "if", t.start);
            else if (s_tok_is(p, &t, "range"))
                n = s_control(p, FW_TMPL_NODE_RANGE, "range", t.start);
            else if (s_tok_is(p, &t, "with"))
                n = s_control(p, FW_TMPL_NODE_WITH, "with", t.start);
            else if (s_tok_is(p, &t, "template") || s_tok_is(p, &t, "block"))
                n = s_template(p, s_tok_is(p, &t, "block"), t.start);
            else if (s_tok_is(p, &t, "define")) {
                if (!top || p->depth > 0) {
                    s_fail(p, t.start, "unexpected <define> in command");
                    break;
                }
                s_define(p, t.start);
                continue;
            } else { // break, continue
                n = fw_calloc(1, sizeof(*n));
                n->kind = s_tok_is(p, &t, "break") ? FW_TMPL_NODE_BREAK : FW_TMPL_NODE_CONTINUE;
                n->pos = (int)t.start;
                s_expect_rdelim(p, n->kind == FW_TMPL_NODE_BREAK ? "break" : "continue");
            }
        } else {
            n = fw_calloc(1, sizeof(*n));
            n->kind = FW_TMPL_NODE_ACTION;
            n->pos = (int)t.start;
            n->pipe = s_pipeline(p, "command", false);
            if (n->pipe && n->pipe->ncmds == 0)
                s_fail(p, t.start, "missing value for command");
        }
        (void)buf;
        if (n) {
            *tail = n;
            tail = &n->next;
        }
    }
    return head;
}

// break/continue outside range: Go refuses them at parse time.
static int
s_check_loops(s_p_t *p, const struct fw_tmpl_node *n, int in_range, int depth)
{
    for (; n && depth < FW_TMPL_MAX_DEPTH + 2; n = n->next) {
        if ((n->kind == FW_TMPL_NODE_BREAK || n->kind == FW_TMPL_NODE_CONTINUE) && !in_range) {
            s_fail(p, (size_t)n->pos, "{{%s}} outside {{range}}",
                   n->kind == FW_TMPL_NODE_BREAK ? "break" : "continue");
            return -1;
        }
        if (s_check_loops(p, n->list, in_range || n->kind == FW_TMPL_NODE_RANGE, depth + 1) < 0 ||
            s_check_loops(p, n->alt, in_range, depth + 1) < 0)
            return -1;
    }
    return 0;
}

int
fw_tmpl_parse_trees(const fw_tmpl_set_t *set, const char *name, const char *text,
                    struct fw_tmpl_tree **trees, fw_err_t *err)
{
    s_p_t p = {.set = set, .src = text, .n = strlen(text), .name = name, .err = err};
    *trees = NULL;
    s_var_push(&p, "$");
    s_end_t how;
    size_t end_pos;
    struct fw_tmpl_node *root = s_list(&p, &how, &end_pos, true);
    s_var_pop(&p, 0);
    free(p.vars);
    struct fw_tmpl_tree *top = fw_calloc(1, sizeof(*top));
    top->name = fw_strdup(name);
    top->root = root;
    int *refs = fw_malloc(sizeof(int));
    *refs = 1;
    top->src = fw_strdup(text);
    top->src_refs = refs;
    top->parse_name = fw_strdup(name);
    struct fw_tmpl_tree **tail = &top->next;
    for (size_t i = 0; i < p.ndefs; i++) {
        struct fw_tmpl_tree *d = p.defs[i];
        d->src = top->src;
        d->src_refs = refs;
        ++*refs;
        d->parse_name = fw_strdup(name);
        *tail = d;
        tail = &d->next;
    }
    free(p.defs);
    for (struct fw_tmpl_tree *t = top; t && !p.failed; t = t->next)
        s_check_loops(&p, t->root, 0, 0);
    if (p.failed) {
        fw_tmpl_trees_free(top);
        return -1;
    }
    *trees = top;
    return 0;
}
