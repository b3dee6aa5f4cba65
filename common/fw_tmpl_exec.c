/*  fw_tmpl_exec.c — executes fw_tmpl parse trees over JSON data, and the set's API
    (see fw_tmpl.h). Semantics follow Go's text/template exec.go: evaluation of fields,
    variables, commands and pipelines, control structures, template calls, and its error
    texts ("template: NAME:LINE:COL: executing \"NAME\" at <CTX>: MSG").
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_tmpl_int.h"

typedef struct {
    const char *name;
    json_t *v; // owned (NULL: no value)
} s_var_t;

typedef struct {
    const fw_tmpl_set_t *set;
    const struct fw_tmpl_tree *extra; // fw_tmpl_exec_text's own trees
    const struct fw_tmpl_tree *tree;  // the template running (names, positions)
    fw_tmpl_buf_t out;
    s_var_t *vars;
    size_t nvars, capvars, frame;
    int depth;
    size_t iterations;
    fw_err_t *err;
    bool failed;
    bool html; // html/template's escaping (the set's mode, or fw_tmpl_exec_html)
    int loop;  // 1 break, 2 continue
    // The node Go's state.at() last named: a value's type is checked after its pipeline ran,
    // so Go reports a wrong one at the last word evaluated, not at the argument.
    int at_pos;
    const char *at_text;
} s_x_t;

static void s_fail(s_x_t *x, int pos, const char *ctx, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
s_fail(s_x_t *x, int pos, const char *ctx, const char *fmt, ...)
{
    if (x->failed)
        return;
    x->failed = true;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *src = x->tree->src;
    int line = 1, col = 0;
    for (int i = 0; i < pos && src[i]; i++) {
        if (src[i] == '\n')
            line++, col = 0;
        else
            col++;
    }
    // the node whole, as the Go of Alertmanager 0.25 and Prometheus 2.42 shows it (Go before
    // 1.18 cut it at 20 bytes)
    fw_err_set_at(x->err, x->tree->parse_name, line, col,
                  "template: %s:%d:%d: executing \"%s\" at <%s>: %s", x->tree->parse_name, line,
                  col, x->tree->name, ctx, msg);
}

static void
s_emit(s_x_t *x, const char *s, size_t n, int pos)
{
    if (x->out.len + n > x->set->max_output) {
        s_fail(x, pos, "", "template output too large (over %zu bytes)", x->set->max_output);
        return;
    }
    fw_tmpl_buf_add(&x->out, s, n);
}

static void
s_var_push(s_x_t *x, const char *name, json_t *v)
{
    fw_mem_grow((void **)&x->vars, &x->capvars, x->nvars + 1, sizeof(s_var_t));
    x->vars[x->nvars].name = name;
    x->vars[x->nvars].v = v;
    x->nvars++;
}

static void
s_var_pop(s_x_t *x, size_t mark)
{
    while (x->nvars > mark)
        json_decref(x->vars[--x->nvars].v);
}

static s_var_t *
s_var_find(s_x_t *x, const char *name)
{
    for (size_t i = x->nvars; i-- > x->frame;)
        if (strcmp(x->vars[i].name, name) == 0)
            return &x->vars[i];
    return NULL;
}

static json_t *
s_ref(json_t *v)
{
    return v ? json_incref(v) : NULL;
}

static json_t *s_pipe(s_x_t *x, const struct fw_tmpl_pipe *pp, json_t *dot);

const struct fw_tmpl_struct *
fw_tmpl_set_struct_of(const fw_tmpl_set_t *set, const json_t *v)
{
    if (!json_is_object(v))
        return NULL;
    for (const struct fw_tmpl_struct *st = set->structs; st; st = st->next) {
        if (json_object_size(v) != st->nfields)
            continue;
        size_t k = 0;
        while (k < st->nfields && json_object_get(v, st->fields[k]))
            k++;
        if (k == st->nfields)
            return st;
    }
    return NULL;
}

const char *
fw_tmpl_set_type_name(const fw_tmpl_set_t *set, const json_t *v)
{
    if (json_is_object(v) && json_object_size(v) == 1 && json_object_get(v, "\x01html"))
        return "template.HTML"; // safeHtml's
    const struct fw_tmpl_struct *st = fw_tmpl_set_struct_of(set, v);
    if (st)
        return st->name;
    if (json_is_array(v) && json_array_size(v) > 0) {
        st = fw_tmpl_set_struct_of(set, json_array_get(v, 0));
        for (size_t i = 1; st && i < json_array_size(v); i++)
            if (fw_tmpl_set_struct_of(set, json_array_get(v, i)) != st)
                st = NULL;
        if (st && st->slice_name)
            return st->slice_name;
    }
    if (set->map_name && json_is_array(v)) { // Alertmanager's other slices: stringSlice, Names
        size_t i = 0;
        while (i < json_array_size(v) && json_is_string(json_array_get(v, i)))
            i++;
        if (i == json_array_size(v))
            return "[]string";
    }
    if (set->map_name && json_is_object(v)) {
        const char *k;
        json_t *e;
        bool strings = true;
        json_object_foreach((json_t *)v, k, e) strings = strings && json_is_string(e);
        if (strings)
            return set->map_name;
    }
    return fw_tmpl_type_name(v);
}

// Field `name` of recv, with method arguments args (evaluated) and final.
static json_t *
s_field(s_x_t *x, json_t *recv, const char *name, json_t **args, size_t nargs, int pos,
        const char *ctx)
{
    const struct fw_tmpl_func *m = fw_tmpl_func_find(x->set, name, true);
    if (m && recv) {
        json_t **all = fw_calloc(nargs + 1, sizeof(json_t *));
        all[0] = recv;
        if (nargs)
            memcpy(all + 1, args, nargs * sizeof(json_t *));
        json_t *res = NULL;
        char ebuf[200] = "";
        int r = m->fn(m->user, all, nargs + 1, &res, ebuf, sizeof(ebuf));
        free(all);
        if (r == 0)
            return res;
        if (r == -2) {
            s_fail(x, pos, ctx, "%s", ebuf);
            return NULL;
        }
        if (r < 0) {
            s_fail(x, pos, ctx, "error calling %s: %s", name, ebuf);
            return NULL;
        }
    }
    if (json_is_object(recv) && fw_tmpl_set_struct_of(x->set, recv)) {
        // Go's evalField on a struct: a field, never a missing key
        json_t *v = json_object_get(recv, name);
        if (v && nargs > 0) {
            s_fail(x, pos, ctx, "%s has arguments but cannot be invoked as function", name);
            return NULL;
        }
        if (v)
            return json_incref(v);
    } else if (json_is_object(recv) &&
               strcmp(fw_tmpl_set_type_name(x->set, recv), "template.HTML")) {
        if (nargs > 0) {
            s_fail(x, pos, ctx, "%s is not a method but has arguments", name);
            return NULL;
        }
        json_t *v = json_object_get(recv, name);
        if (v)
            return json_incref(v);
        switch (x->set->missingkey) {
        case FW_TMPL_MISSINGKEY_ZERO: return json_string("");
        case FW_TMPL_MISSINGKEY_ERROR:
            s_fail(x, pos, ctx, "map has no entry for key \"%s\"", name);
            return NULL;
        default: return NULL;
        }
    }
    if (!recv) { // Go's evalField: no value (no data, a missing key) has no field, no error
        if (x->set->missingkey == FW_TMPL_MISSINGKEY_ERROR)
            s_fail(x, pos, ctx, "nil data; no entry for key \"%s\"", name);
        return NULL;
    }
    if (json_is_null(recv)) {
        s_fail(x, pos, ctx, "nil pointer evaluating interface {}.%s", name);
        return NULL;
    }
    s_fail(x, pos, ctx, "can't evaluate field %s in type %s", name,
           fw_tmpl_set_type_name(x->set, recv));
    return NULL;
}

// Walk a chain of fields from v (taking its reference); the last one gets args.
static json_t *
s_chain(s_x_t *x, json_t *v, char *const *chain, int nchain, json_t **args, size_t nargs, int pos,
        const char *ctx)
{
    for (int i = 0; i < nchain && !x->failed; i++) {
        bool last = i == nchain - 1;
        json_t *next = s_field(x, v, chain[i], last ? args : NULL, last ? nargs : 0, pos, ctx);
        json_decref(v);
        v = next;
    }
    if (x->failed) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static json_t *
s_arg(s_x_t *x, const struct fw_tmpl_arg *a, json_t *dot, json_t **args, size_t nargs,
      bool cmd_head)
{
    x->at_pos = a->pos;
    x->at_text = a->text;
    switch (a->kind) {
    case FW_TMPL_ARG_FIELD:
        if (a->nchain == 0) {
            if (nargs > 0)
                s_fail(x, a->pos, a->text, "can't give argument to non-function %s", a->text);
            return s_ref(dot);
        }
        return s_chain(x, s_ref(dot), a->chain, a->nchain, args, nargs, a->pos, a->text);
    case FW_TMPL_ARG_VAR: {
        s_var_t *v = s_var_find(x, a->name);
        if (!v) {
            s_fail(x, a->pos, a->text, "undefined variable: %s", a->name);
            return NULL;
        }
        if (a->nchain == 0 && nargs > 0) {
            s_fail(x, a->pos, a->text, "can't give argument to non-function %s", a->text);
            return NULL;
        }
        return s_chain(x, s_ref(v->v), a->chain, a->nchain, args, nargs, a->pos, a->text);
    }
    case FW_TMPL_ARG_PIPE: {
        if (a->nchain == 0 && nargs > 0) {
            s_fail(x, a->pos, a->text, "can't give argument to non-function %s", a->text);
            return NULL;
        }
        if (++x->depth > FW_TMPL_MAX_DEPTH) {
            s_fail(x, a->pos, a->text, "exceeded maximum template depth (%d)", FW_TMPL_MAX_DEPTH);
            return NULL;
        }
        json_t *v = s_pipe(x, a->pipe, dot);
        x->depth--;
        if (x->failed)
            return NULL;
        return s_chain(x, v, a->chain, a->nchain, args, nargs, a->pos, a->text);
    }
    case FW_TMPL_ARG_LIT:
        if (nargs > 0 || (cmd_head && false))
            s_fail(x, a->pos, a->text, "can't give argument to non-function %s", a->text);
        return json_incref(a->lit);
    case FW_TMPL_ARG_NIL:
        if (cmd_head)
            s_fail(x, a->pos, a->text, "nil is not a command");
        return json_null();
    case FW_TMPL_ARG_IDENT:
        if (!cmd_head) {
            // a function name as an argument is called without arguments (Go: evalArg)
            const struct fw_tmpl_func *f = fw_tmpl_func_find(x->set, a->name, false);
            if (f) {
                json_t *res = NULL;
                char ebuf[200] = "";
                if (f->nmin > 0) {
                    s_fail(x, a->pos, a->text, "wrong number of args for %s: want %d got 0",
                           a->name, f->nmin);
                    return NULL;
                }
                if (f->fn(f->user, NULL, 0, &res, ebuf, sizeof(ebuf)) < 0) {
                    s_fail(x, a->pos, a->text, "error calling %s: %s", a->name, ebuf);
                    return NULL;
                }
                return res;
            }
        }
        s_fail(x, a->pos, a->text, "can't call %s here", a->name);
        return NULL;
    }
    return NULL;
}

static void
s_cmd_text(const struct fw_tmpl_cmd *c, char *buf, size_t size)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < c->nargs && k + 1 < size; i++)
        k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? " " : "", c->args[i].text);
}

static void
s_free_args(json_t **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        json_decref(v[i]);
    free(v);
}

static bool
s_is_strings(const json_t *v)
{
    if (!json_is_array(v))
        return false;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i)))
            return false;
    return true;
}

// The type letter of f's parameter i ('s' string, 'S' []string, '.' any; the last repeats).
static char
s_param_type(const struct fw_tmpl_func *f, size_t i)
{
    size_t nt = strlen(f->types);
    return nt ? f->types[i < nt ? i : nt - 1] : '.';
}

// Go's evalArg/validateType on argument i (v) of f (f->types): 0, or -1 after s_fail.
static int
s_check_type(s_x_t *x, const struct fw_tmpl_func *f, const struct fw_tmpl_cmd *c, size_t i,
             const json_t *v)
{
    char t = s_param_type(f, i);
    if (t == '.' || (t == 's' && json_is_string(v)) || (t == 'S' && s_is_strings(v)))
        return 0;
    // Go's validateType gives a parameter that can be nil (a slice) its zero value for nil or
    // no value at all (a field of nil data, as a template called without data sees)
    if (t == 'S' && (!v || json_is_null(v)))
        return 0;
    // a word of the command, or the value piped in
    const struct fw_tmpl_arg *a = (int)i + 1 < c->nargs ? &c->args[i + 1] : &c->args[0];
    int pos = a->pos;
    const char *at = a->text;
    if (a == &c->args[0] || a->kind == FW_TMPL_ARG_PIPE)
        pos = x->at_pos, at = x->at_text; // Go's validateType after the evaluation
    if (a != &c->args[0] && a->kind == FW_TMPL_ARG_NIL) {
        s_fail(x, a->pos, a->text, "cannot assign nil to string");
    } else if (t == 'S' && a != &c->args[0] && a->kind == FW_TMPL_ARG_LIT)
        s_fail(x, a->pos, a->text, "can't handle %s for arg of type []string", a->text);
    else if (t == 's' && a != &c->args[0] && a->kind == FW_TMPL_ARG_LIT)
        s_fail(x, a->pos, a->text, "expected string; found %s", a->text);
    else if (!v || json_is_null(v))
        s_fail(x, pos, at, "invalid value; expected %s", t == 's' ? "string" : "[]string");
    else
        s_fail(x, pos, at, "wrong type for value; expected %s; got %s",
               t == 's' ? "string" : "[]string", fw_tmpl_set_type_name(x->set, v));
    return -1;
}

// A nil or missing argument i of f that s_check_type let through as a nil []string becomes an
// empty array, which the functions handle as Go's nil slice (it prints as [] too).
static void
s_nil_slice(const struct fw_tmpl_func *f, size_t i, json_t **arg)
{
    if (s_param_type(f, i) == 'S' && (!*arg || json_is_null(*arg))) {
        json_decref(*arg);
        *arg = json_array();
    }
}

// Go's builtins whose parameters are reflect.Values: a nil literal reaches them as no value at
// all (and, or: s_call), where print and printf get a nil interface.
static bool
s_reflect_builtin(const char *name)
{
    static const char *const names[] = {"eq",  "ne",    "lt",    "le",  "gt", "ge",
                                        "len", "index", "slice", "not", NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

// The values of the command's words after its first, then final when has_final: a new
// array of n (+1, never NULL) new references, or NULL when one failed (x->failed). With f
// (typed), each is checked as soon as it is evaluated, as Go's evalCall does.
static json_t **
s_cmd_args(s_x_t *x, const struct fw_tmpl_cmd *c, const struct fw_tmpl_func *f, json_t *dot,
           json_t *final, bool has_final, size_t n)
{
    json_t **args = fw_calloc(n + 1, sizeof(json_t *));
    bool reflect_args = f && s_reflect_builtin(f->name);
    for (int i = 1; i < c->nargs; i++) {
        args[i - 1] = s_arg(x, &c->args[i], dot, NULL, 0, false);
        if (reflect_args && c->args[i].kind == FW_TMPL_ARG_NIL) {
            json_decref(args[i - 1]);
            args[i - 1] = NULL;
        }
        if (!x->failed && f && f->types && s_check_type(x, f, c, (size_t)i - 1, args[i - 1]) == 0)
            s_nil_slice(f, (size_t)i - 1, &args[i - 1]);
        if (x->failed) {
            s_free_args(args, n);
            return NULL;
        }
    }
    if (has_final)
        args[n - 1] = s_ref(final);
    if (has_final && f && f->types && s_check_type(x, f, c, n - 1, final) < 0) {
        s_free_args(args, n);
        return NULL;
    }
    if (has_final && f && f->types)
        s_nil_slice(f, n - 1, &args[n - 1]);
    return args;
}

// A function call: args are the command's words after the name, then final.
static json_t *
s_call(s_x_t *x, const struct fw_tmpl_cmd *c, json_t *dot, json_t *final, bool has_final)
{
    const struct fw_tmpl_arg *fa = &c->args[0];
    char ctx[256];
    s_cmd_text(c, ctx, sizeof(ctx));
    size_t n = (size_t)(c->nargs - 1) + (has_final ? 1 : 0);
    bool and_ = strcmp(fa->name, "and") == 0, or_ = strcmp(fa->name, "or") == 0;
    if (and_ || or_) {
        if (n < 1) {
            s_fail(x, fa->pos, fa->text, "wrong number of args for %s: want at least 1 got 0",
                   fa->name);
            return NULL;
        }
        json_t *v = NULL;
        for (int i = 1; i < c->nargs; i++) {
            json_decref(v);
            // Go gives and/or a nil literal as no value (reflect.Value's zero)
            v = c->args[i].kind == FW_TMPL_ARG_NIL ? NULL
                                                   : s_arg(x, &c->args[i], dot, NULL, 0, false);
            if (x->failed)
                return NULL;
            if (fw_tmpl_truth(v) == or_)
                return v;
        }
        if (has_final) {
            json_decref(v);
            v = s_ref(final);
        }
        return v;
    }
    const struct fw_tmpl_func *f = fw_tmpl_func_find(x->set, fa->name, false);
    x->at_pos = fa->pos;
    x->at_text = fa->text;
    if (!f) {
        s_fail(x, fa->pos, fa->text, "\"%s\" is not a defined function", fa->name);
        return NULL;
    }
    // Go's evalFunction checks the count at the function's name, evalCall reports a failed
    // call at the whole command
    if ((int)n < f->nmin || (f->nmax >= 0 && (int)n > f->nmax)) {
        if (f->nmax < 0)
            s_fail(x, fa->pos, fa->text, "wrong number of args for %s: want at least %d got %zu",
                   fa->name, f->nmin, n);
        else
            s_fail(x, fa->pos, fa->text, "wrong number of args for %s: want %d got %zu", fa->name,
                   f->nmax, n);
        return NULL;
    }
    json_t **args = s_cmd_args(x, c, f, dot, final, has_final, n);
    if (!args)
        return NULL;
    json_t *res = NULL;
    char ebuf[256] = "";
    if (f->fn(f->user, args, n, &res, ebuf, sizeof(ebuf)) < 0)
        s_fail(x, c->pos, ctx, "error calling %s: %s", fa->name, ebuf);
    s_free_args(args, n);
    return res;
}

static json_t *
s_cmd(s_x_t *x, const struct fw_tmpl_cmd *c, json_t *dot, json_t *final, bool has_final)
{
    const struct fw_tmpl_arg *a = &c->args[0];
    if (a->kind == FW_TMPL_ARG_IDENT)
        return s_call(x, c, dot, final, has_final);
    size_t n = (size_t)(c->nargs - 1) + (has_final ? 1 : 0);
    if (n > 0 && (a->kind == FW_TMPL_ARG_LIT || a->kind == FW_TMPL_ARG_NIL ||
                  a->kind == FW_TMPL_ARG_PIPE || a->nchain == 0)) {
        // Go's evalCommand: at the first word
        s_fail(x, a->pos, a->text, "can't give argument to non-function %s", a->text);
        return NULL;
    }
    json_t **args = s_cmd_args(x, c, NULL, dot, final, has_final, n);
    if (!args)
        return NULL;
    int at_pos = x->at_pos;
    const char *at_text = x->at_text;
    json_t *v = s_arg(x, a, dot, args, n, true);
    if (c->nargs > 1 && !x->failed) { // Go evaluates a method's arguments after its name
        x->at_pos = at_pos;
        x->at_text = at_text;
    }
    s_free_args(args, n);
    return v;
}

static json_t *
s_pipe(s_x_t *x, const struct fw_tmpl_pipe *pp, json_t *dot)
{
    json_t *v = NULL;
    for (int i = 0; i < pp->ncmds && !x->failed; i++) {
        json_t *next = s_cmd(x, &pp->cmds[i], dot, v, i > 0);
        json_decref(v);
        v = next;
    }
    if (x->failed) {
        json_decref(v);
        return NULL;
    }
    for (int i = 0; i < pp->nvars; i++) {
        if (pp->decl) {
            s_var_push(x, pp->vars[i], s_ref(v));
        } else {
            s_var_t *var = s_var_find(x, pp->vars[i]);
            if (var) {
                json_decref(var->v);
                var->v = s_ref(v);
            }
        }
    }
    return v;
}

static void s_walk(s_x_t *x, const struct fw_tmpl_node *n, json_t *dot);

// A template node as Go's TemplateNode.String() shows it: {{template "name" PIPELINE}}.
static void
s_template_text(const struct fw_tmpl_node *n, char *buf, size_t size)
{
    fw_tmpl_buf_t b = {0};
    fw_tmpl_buf_add(&b, "{{template \"", 12);
    fw_tmpl_buf_add(&b, n->text, strlen(n->text));
    fw_tmpl_buf_add(&b, "\"", 1);
    for (int i = 0; n->pipe && i < n->pipe->ncmds; i++) {
        fw_tmpl_buf_add(&b, i ? " | " : " ", i ? 3 : 1);
        char cmd[256];
        s_cmd_text(&n->pipe->cmds[i], cmd, sizeof(cmd));
        fw_tmpl_buf_add(&b, cmd, strlen(cmd));
    }
    fw_tmpl_buf_add(&b, "}}", 2);
    snprintf(buf, size, "%s", b.s);
    free(b.s);
}

static const struct fw_tmpl_tree *
s_lookup(const s_x_t *x, const char *name)
{
    for (const struct fw_tmpl_tree *t = x->extra; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    for (const struct fw_tmpl_tree *t = x->set->trees; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

static int
s_keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
s_range(s_x_t *x, const struct fw_tmpl_node *n, json_t *v, json_t *dot)
{
    const struct fw_tmpl_pipe *pp = n->pipe;
    size_t count = json_is_array(v) ? json_array_size(v) : json_object_size(v);
    // Go 1.19 (Alertmanager 0.25, Prometheus 2.42) ranges over no integer; reported at the
    // last word of the pipeline
    if (v && ((!json_is_array(v) && !json_is_object(v)) || fw_tmpl_set_struct_of(x->set, v))) {
        char buf[64];
        fw_tmpl_buf_t b = {0};
        fw_tmpl_print(x->set, &b, v);
        snprintf(buf, sizeof(buf), "%.*s", (int)(b.len > 40 ? 40 : b.len), b.s ? b.s : "");
        free(b.s);
        s_fail(x, x->at_pos, x->at_text, "range can't iterate over %s", buf);
        return;
    }
    const char **keys = NULL;
    if (json_is_object(v) && count) {
        keys = fw_calloc(count, sizeof(char *));
        size_t k = 0;
        const char *key;
        json_t *val;
        json_object_foreach(v, key, val) keys[k++] = key;
        qsort(keys, count, sizeof(char *), s_keycmp); // Go ranges over a map's keys in order
    }
    for (size_t i = 0; i < count && !x->failed; i++) {
        if (++x->iterations > x->set->max_iterations) {
            s_fail(x, n->pos, "range", "too many range iterations (over %zu)",
                   x->set->max_iterations);
            break;
        }
        json_t *key = keys ? json_string(keys[i]) : json_integer((json_int_t)i);
        json_t *elem = keys ? s_ref(json_object_get(v, keys[i])) : s_ref(json_array_get(v, i));
        size_t mark = x->nvars;
        json_t *vals[2] = {pp->nvars == 2 ? key : elem, elem};
        for (int k = 0; k < pp->nvars; k++) {
            if (pp->decl) {
                s_var_push(x, pp->vars[k], s_ref(vals[k]));
            } else {
                s_var_t *var = s_var_find(x, pp->vars[k]);
                if (!var) {
                    s_fail(x, n->pos, "range", "undefined variable: %s", pp->vars[k]);
                    break;
                }
                json_decref(var->v);
                var->v = s_ref(vals[k]);
            }
        }
        s_walk(x, n->list, elem);
        s_var_pop(x, mark);
        json_decref(key);
        json_decref(elem);
        if (x->loop == 1) {
            x->loop = 0;
            break;
        }
        x->loop = 0;
    }
    free(keys);
    if (count == 0 && n->alt && !x->failed)
        s_walk(x, n->alt, dot);
    (void)dot;
}

static void
s_walk(s_x_t *x, const struct fw_tmpl_node *n, json_t *dot)
{
    for (; n && !x->failed && !x->loop; n = n->next) {
        switch (n->kind) {
        case FW_TMPL_NODE_TEXT:
            if (x->html) {
                fw_tmpl_buf_t t = {0};
                fw_tmpl_html_text(&x->out, &t, n->text, n->len);
                s_emit(x, t.s ? t.s : "", t.len, n->pos);
                free(t.s);
            } else {
                s_emit(x, n->text, n->len, n->pos);
            }
            break;
        case FW_TMPL_NODE_ACTION: {
            json_t *v = s_pipe(x, n->pipe, dot);
            if (!x->failed && n->pipe->nvars == 0) {
                fw_tmpl_buf_t b = {0};
                if (v)
                    fw_tmpl_print(x->set, &b, v);
                else if (!x->html) // html/template prints nothing for no value
                    fw_tmpl_buf_add(&b, "<no value>", 10);
                if (x->html) {
                    fw_tmpl_buf_t h = {0};
                    char ebuf[160];
                    if (fw_tmpl_html_escape(&x->out, v, b.s ? b.s : "", b.len, &h, ebuf,
                                            sizeof(ebuf)) < 0)
                        s_fail(x, n->pos, "", "%s", ebuf);
                    else
                        s_emit(x, h.s ? h.s : "", h.len, n->pos);
                    free(h.s);
                } else {
                    s_emit(x, b.s ? b.s : "", b.len, n->pos);
                }
                free(b.s);
            }
            json_decref(v);
            break;
        }
        case FW_TMPL_NODE_IF:
        case FW_TMPL_NODE_WITH:
        case FW_TMPL_NODE_RANGE: {
            if (++x->depth > FW_TMPL_MAX_DEPTH) {
                s_fail(x, n->pos, "", "exceeded maximum template depth (%d)", FW_TMPL_MAX_DEPTH);
                break;
            }
            size_t mark = x->nvars;
            if (n->kind == FW_TMPL_NODE_RANGE) {
                // the range's declarations are per element, so evaluate the commands only
                struct fw_tmpl_pipe tmp = *n->pipe;
                tmp.nvars = 0;
                json_t *v = s_pipe(x, &tmp, dot);
                // Go's evalPipeline declares them first with the range's value: that is what
                // the {{else}} branch sees ({{range $x := .Empty}}{{else}}{{$x}} prints it)
                for (int k = 0; !x->failed && n->pipe->decl && k < n->pipe->nvars; k++)
                    s_var_push(x, n->pipe->vars[k], s_ref(v));
                if (!x->failed)
                    s_range(x, n, v, dot);
                json_decref(v);
            } else {
                json_t *v = s_pipe(x, n->pipe, dot);
                if (!x->failed) {
                    if (fw_tmpl_truth(v))
                        s_walk(x, n->list, n->kind == FW_TMPL_NODE_WITH ? v : dot);
                    else if (n->alt)
                        s_walk(x, n->alt, dot);
                }
                json_decref(v);
            }
            s_var_pop(x, mark);
            x->depth--;
            break;
        }
        case FW_TMPL_NODE_TEMPLATE: {
            const struct fw_tmpl_tree *t = s_lookup(x, n->text);
            char ctx[300];
            s_template_text(n, ctx, sizeof(ctx));
            if (!t) {
                s_fail(x, n->pos, ctx, "template \"%s\" not defined", n->text);
                break;
            }
            if (++x->depth > FW_TMPL_MAX_DEPTH) {
                s_fail(x, n->pos, ctx, "exceeded maximum template depth (%d)", FW_TMPL_MAX_DEPTH);
                break;
            }
            json_t *v = n->pipe ? s_pipe(x, n->pipe, dot) : NULL;
            if (!x->failed) {
                const struct fw_tmpl_tree *saved = x->tree;
                size_t frame = x->frame, mark = x->nvars;
                x->frame = x->nvars;
                s_var_push(x, "$", s_ref(v));
                x->tree = t;
                s_walk(x, t->root, v);
                x->tree = saved;
                s_var_pop(x, mark);
                x->frame = frame;
            }
            json_decref(v);
            x->depth--;
            break;
        }
        case FW_TMPL_NODE_BREAK: x->loop = 1; break;
        case FW_TMPL_NODE_CONTINUE: x->loop = 2; break;
        }
    }
}

static int
s_run(const fw_tmpl_set_t *set, const struct fw_tmpl_tree *extra, const char *name, json_t *data,
      bool html, char **out, fw_err_t *err)
{
    *out = NULL;
    s_x_t x = {.set = set, .extra = extra, .err = err, .html = html};
    const struct fw_tmpl_tree *t = s_lookup(&x, name);
    if (!t) {
        fw_err_set(err, "template: no template \"%s\" associated with template \"%s\"", name, name);
        return -1;
    }
    x.tree = t;
    s_var_push(&x, "$", s_ref(data));
    s_walk(&x, t->root, data);
    s_var_pop(&x, 0);
    free(x.vars);
    if (x.failed) {
        free(x.out.s);
        return -1;
    }
    fw_tmpl_buf_add(&x.out, "", 0);
    *out = x.out.s;
    return 0;
}

// ---- set ----

fw_tmpl_set_t *
fw_tmpl_set_new(void)
{
    fw_tmpl_set_t *self = fw_calloc(1, sizeof(*self));
    self->max_output = 16u << 20;
    self->max_iterations = 1000000;
    fw_tmpl_funcs_builtin(self);
    return self;
}

void
fw_tmpl_set_destroy(fw_tmpl_set_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_tmpl_set_t *self = *self_p;
    fw_tmpl_trees_free(self->trees);
    while (self->funcs) {
        struct fw_tmpl_func *next = self->funcs->next;
        free(self->funcs->name);
        free(self->funcs);
        self->funcs = next;
    }
    while (self->structs) {
        struct fw_tmpl_struct *next = self->structs->next;
        free(self->structs);
        self->structs = next;
    }
    free(self->external_url);
    free(self);
    *self_p = NULL;
}

void
fw_tmpl_set_struct(fw_tmpl_set_t *self, const char *name, const char *slice_name,
                   const char *const *fields)
{
    struct fw_tmpl_struct *st = fw_calloc(1, sizeof(*st));
    st->name = name;
    st->slice_name = slice_name;
    st->fields = fields;
    while (st->nfields < 16 && fields[st->nfields])
        st->nfields++;
    st->next = self->structs;
    self->structs = st;
}

void
fw_tmpl_set_map_name(fw_tmpl_set_t *self, const char *name)
{
    self->map_name = name;
}

void
fw_tmpl_set_missingkey(fw_tmpl_set_t *self, fw_tmpl_missingkey_t mode)
{
    self->missingkey = mode;
}

void
fw_tmpl_set_html(fw_tmpl_set_t *self, bool on)
{
    self->html = on;
}

void
fw_tmpl_set_limits(fw_tmpl_set_t *self, size_t max_output, size_t max_iterations)
{
    if (max_output)
        self->max_output = max_output;
    if (max_iterations)
        self->max_iterations = max_iterations;
}

static void
s_register(fw_tmpl_set_t *self, const char *name, fw_tmpl_func_fn *fn, void *user, int nmin,
           int nmax, bool method)
{
    for (struct fw_tmpl_func *f = self->funcs; f; f = f->next)
        if (f->method == method && strcmp(f->name, name) == 0) {
            f->fn = fn, f->user = user, f->nmin = nmin, f->nmax = nmax;
            return;
        }
    struct fw_tmpl_func *f = fw_calloc(1, sizeof(*f));
    f->name = fw_strdup(name);
    f->fn = fn, f->user = user, f->nmin = nmin, f->nmax = nmax, f->method = method;
    f->next = self->funcs;
    self->funcs = f;
}

void
fw_tmpl_set_func(fw_tmpl_set_t *self, const char *name, fw_tmpl_func_fn *fn, void *user,
                 int nargs_min, int nargs_max)
{
    s_register(self, name, fn, user, nargs_min, nargs_max, false);
}

void
fw_tmpl_set_func_types(fw_tmpl_set_t *self, const char *name, const char *types)
{
    for (struct fw_tmpl_func *f = self->funcs; f; f = f->next)
        if (!f->method && strcmp(f->name, name) == 0)
            f->types = types;
}

void
fw_tmpl_set_method(fw_tmpl_set_t *self, const char *name, fw_tmpl_func_fn *fn, void *user)
{
    s_register(self, name, fn, user, 0, -1, true);
}

const struct fw_tmpl_func *
fw_tmpl_func_find(const fw_tmpl_set_t *set, const char *name, bool method)
{
    for (const struct fw_tmpl_func *f = set->funcs; f; f = f->next)
        if (f->method == method && strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

bool
fw_tmpl_is_builtin(const char *name)
{
    return strcmp(name, "and") == 0 || strcmp(name, "or") == 0;
}

int
fw_tmpl_parse(fw_tmpl_set_t *self, const char *name, const char *text, fw_err_t *err)
{
    struct fw_tmpl_tree *trees;
    if (fw_tmpl_parse_trees(self, name, text, &trees, err) < 0)
        return -1;
    while (trees) {
        struct fw_tmpl_tree *t = trees;
        trees = t->next;
        t->next = NULL;
        struct fw_tmpl_tree **pp = &self->trees;
        while (*pp && strcmp((*pp)->name, t->name) != 0)
            pp = &(*pp)->next;
        if (*pp && fw_tmpl_list_empty(t->root) && !fw_tmpl_list_empty((*pp)->root)) {
            fw_tmpl_trees_free(t); // Go keeps a non-empty definition over an empty one
            continue;
        }
        if (*pp) {
            t->next = (*pp)->next;
            (*pp)->next = NULL;
            fw_tmpl_trees_free(*pp);
            *pp = t;
        } else {
            *pp = t;
        }
    }
    return 0;
}

bool
fw_tmpl_has(const fw_tmpl_set_t *self, const char *name)
{
    for (const struct fw_tmpl_tree *t = self->trees; t; t = t->next)
        if (strcmp(t->name, name) == 0)
            return true;
    return false;
}

int
fw_tmpl_exec(const fw_tmpl_set_t *self, const char *name, json_t *data, char **out, fw_err_t *err)
{
    return s_run(self, NULL, name, data, self->html, out, err);
}

static int
s_exec_text(const fw_tmpl_set_t *self, const char *name, const char *text, json_t *data, bool html,
            char **out, fw_err_t *err)
{
    struct fw_tmpl_tree *trees;
    *out = NULL;
    if (fw_tmpl_parse_trees(self, name, text, &trees, err) < 0)
        return -1;
    int rc = s_run(self, trees, name, data, html, out, err);
    fw_tmpl_trees_free(trees);
    return rc;
}

int
fw_tmpl_exec_text(const fw_tmpl_set_t *self, const char *name, const char *text, json_t *data,
                  char **out, fw_err_t *err)
{
    return s_exec_text(self, name, text, data, self->html, out, err);
}

int
fw_tmpl_exec_html(const fw_tmpl_set_t *self, const char *name, const char *text, json_t *data,
                  char **out, fw_err_t *err)
{
    if (!text)
        return s_run(self, NULL, name, data, true, out, err);
    return s_exec_text(self, name, text, data, true, out, err);
}

int
fw_tmpl_check(const fw_tmpl_set_t *self, const char *name, const char *text, fw_err_t *err)
{
    struct fw_tmpl_tree *trees;
    if (fw_tmpl_parse_trees(self, name, text, &trees, err) < 0)
        return -1;
    fw_tmpl_trees_free(trees);
    return 0;
}
