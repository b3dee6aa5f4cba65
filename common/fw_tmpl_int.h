/*  fw_tmpl_int.h — fw_tmpl's parse tree and set, shared by its parser (fw_tmpl_parse.c),
    executor (fw_tmpl_exec.c) and function library (fw_tmpl_funcs.c). Not a public API.
*/
#ifndef FW_TMPL_INT_H
#define FW_TMPL_INT_H

#include "fw_tmpl.h"

typedef enum {
    FW_TMPL_ARG_FIELD, // .A.B: chain on the dot (nchain 0: the dot itself)
    FW_TMPL_ARG_VAR,   // $x.A: name, then chain
    FW_TMPL_ARG_IDENT, // a function name
    FW_TMPL_ARG_PIPE,  // (pipeline).A
    FW_TMPL_ARG_LIT,   // string, number, bool: lit
    FW_TMPL_ARG_NIL,   // nil
} fw_tmpl_arg_kind_t;

struct fw_tmpl_pipe;

struct fw_tmpl_arg {
    fw_tmpl_arg_kind_t kind;
    int pos;
    char *name; // var or ident
    char **chain;
    int nchain;
    json_t *lit;               // LIT: owned
    struct fw_tmpl_pipe *pipe; // PIPE: owned
    char *text;                // as Go's String() shows it
};

struct fw_tmpl_cmd {
    int pos;
    struct fw_tmpl_arg *args;
    int nargs;
};

struct fw_tmpl_pipe {
    int pos;
    bool decl;   // :=
    bool assign; // =
    char *vars[2];
    int nvars;
    struct fw_tmpl_cmd *cmds;
    int ncmds;
};

typedef enum {
    FW_TMPL_NODE_TEXT,
    FW_TMPL_NODE_ACTION,
    FW_TMPL_NODE_IF,
    FW_TMPL_NODE_RANGE,
    FW_TMPL_NODE_WITH,
    FW_TMPL_NODE_TEMPLATE,
    FW_TMPL_NODE_BREAK,
    FW_TMPL_NODE_CONTINUE,
} fw_tmpl_node_kind_t;

struct fw_tmpl_node {
    fw_tmpl_node_kind_t kind;
    int pos;
    char *text; // TEXT: bytes; TEMPLATE: the template's name
    size_t len;
    struct fw_tmpl_pipe *pipe;       // may be NULL for TEMPLATE
    struct fw_tmpl_node *list, *alt; // body, else
    struct fw_tmpl_node *next;
};

// A parsed template: its name, the text it came from (for positions) and its body.
struct fw_tmpl_tree {
    char *name;
    char *parse_name; // the name of the top-level template it was parsed in
    char *src;        // shared by the trees of one parse (refcounted by src_refs)
    int *src_refs;
    struct fw_tmpl_node *root;
    struct fw_tmpl_tree *next;
};

struct fw_tmpl_func {
    char *name;
    fw_tmpl_func_fn *fn;
    void *user;
    int nmin, nmax;
    const char *types; // fw_tmpl_set_func_types (static), or NULL
    bool method;
    struct fw_tmpl_func *next;
};

struct fw_tmpl_struct {
    const char *name, *slice_name;
    const char *const *fields;
    size_t nfields;
    struct fw_tmpl_struct *next;
};

struct fw_tmpl_set {
    struct fw_tmpl_tree *trees;
    struct fw_tmpl_func *funcs;
    struct fw_tmpl_struct *structs; // fw_tmpl_set_struct
    const char *map_name;           // fw_tmpl_set_map_name, or NULL
    fw_tmpl_missingkey_t missingkey;
    size_t max_output, max_iterations;
    char *external_url;
    bool html; // html/template's escaping (fw_tmpl_html.c)
};

typedef struct {
    char *s;
    size_t len, cap;
} fw_tmpl_buf_t;

// Parse text; the trees (the top one named name, then every define) go to *trees. The
// functions of set (and the builtins) are the known ones. 0 or -1 with err.
int fw_tmpl_parse_trees(const fw_tmpl_set_t *set, const char *name, const char *text,
                        struct fw_tmpl_tree **trees, fw_err_t *err);
void fw_tmpl_trees_free(struct fw_tmpl_tree *t);
void fw_tmpl_list_free(struct fw_tmpl_node *n);
// Go's IsEmptyTree: only white-space text (an empty definition another may replace).
bool fw_tmpl_list_empty(const struct fw_tmpl_node *n);
void fw_tmpl_pipe_free(struct fw_tmpl_pipe *pp);
void fw_tmpl_arg_free(struct fw_tmpl_arg *a);
// Decode a Go string, raw string or character literal (quotes included) into out: 0, or -1
// on a bad escape. A number literal as Go's idealConstant makes it (int unless it has a
// '.', exponent or is hex with 'p'); NULL when it is not one.
int fw_tmpl_unquote(const char *s, size_t n, fw_tmpl_buf_t *out);
json_t *fw_tmpl_number(const char *s, size_t n);
bool fw_tmpl_is_builtin(const char *name);
const struct fw_tmpl_func *fw_tmpl_func_find(const fw_tmpl_set_t *set, const char *name,
                                             bool method);

// Go's %v of a value appended to a growing buffer (set: its structs print as Go's, {a b}; may
// be NULL); truthiness; type name for errors.
void fw_tmpl_buf_add(fw_tmpl_buf_t *b, const char *s, size_t n);
void fw_tmpl_print(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, const json_t *v);
const char *fw_tmpl_type_name(const json_t *v);
// v's Go type name in set's data: its declared structs (fw_tmpl_set_struct) and slices of them,
// safeHtml's template.HTML, and with Alertmanager's (a map name set) []string for string
// arrays; else fw_tmpl_type_name. Static storage.
const char *fw_tmpl_set_type_name(const fw_tmpl_set_t *set, const json_t *v);
// The struct type v is in set (fw_tmpl_set_struct: an object with exactly its fields), or NULL.
const struct fw_tmpl_struct *fw_tmpl_set_struct_of(const fw_tmpl_set_t *set, const json_t *v);
bool fw_tmpl_truth(const json_t *v);
// Go's fmt.Sprintf / Sprint / Sprintln over values (set as for fw_tmpl_print).
void fw_tmpl_sprintf(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, const char *fmt,
                     json_t *const *args, size_t nargs);
void fw_tmpl_sprint(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, json_t *const *args, size_t nargs,
                    bool ln);

// HTML mode: escape s (v printed) for where it lands after out into dst (0), or -1 with err;
// template text without HTML comments into dst.
int fw_tmpl_html_escape(const fw_tmpl_buf_t *out, const json_t *v, const char *s, size_t n,
                        fw_tmpl_buf_t *dst, char *err, size_t errsize);
void fw_tmpl_html_text(const fw_tmpl_buf_t *out, fw_tmpl_buf_t *dst, const char *s, size_t n);

// The builtin functions with lazy arguments are handled by the executor (and, or); the rest
// are registered into every new set.
void fw_tmpl_funcs_builtin(fw_tmpl_set_t *set);

#endif
