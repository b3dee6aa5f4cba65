/*  fw_secret.c — mask secrets in YAML documents and JSON values by path lists.

    The YAML side loads the text with libyaml into a node graph (aliases resolved to shared
    nodes), walks it keeping the path of keys, rewrites each node at a secret path into the
    plain scalar "<secret>", and dumps the graph with libyaml's emitter. The walk spends one
    unit of a node budget per visit and refuses nesting past FW_SECRET_MAX_DEPTH, so neither
    an alias bomb nor a deep document can make it run long or overflow the stack. The JSON
    side is the same walk over jansson values (used on wire messages before they are
    published for taps).

    Patterns are split into tokens once per call ("a[].b" -> "a", "[]", "b"); a path is an
    array of key strings with "[]" for a sequence element. Matching is a glob over tokens
    where "**" spans any number of them; a subtree no pattern can reach is not descended.
*/
#include "fw_secret.h"

#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fw_cfg.h"
#include "fw_mem.h"

// Deepest chain of merge keys followed (as fw_cfg).
#define S_MERGE_DEPTH 16

static const char s_elem[] = "[]";

// ---------------------------------------------------------------------------------------
//  Patterns

struct s_pat {
    char **tok; // owned
    size_t n;
    bool any_depth; // holds "**": may match below any prefix
    fw_secret_kind_t kind;
};

struct s_pats {
    struct s_pat *items; // owned
    size_t len;
};

static void
s_tok_push(struct s_pat *p, size_t *cap, const char *s, size_t len)
{
    fw_mem_grow((void **)&p->tok, cap, p->n + 1, sizeof *p->tok);
    p->tok[p->n++] = fw_strndup(s, len);
}

static struct s_pats
s_pats_new(const struct fw_secret_path *secrets)
{
    struct s_pats ps = {NULL, 0};
    size_t n = 0;
    while (secrets && secrets[n].path)
        n++;
    ps.items = fw_calloc(n + 1, sizeof *ps.items);
    for (size_t i = 0; i < n; i++) {
        struct s_pat *p = &ps.items[ps.len++];
        size_t cap = 0;
        p->kind = secrets[i].kind;
        const char *s = secrets[i].path;
        while (*s) {
            const char *dot = strchr(s, '.');
            size_t len = dot ? (size_t)(dot - s) : strlen(s);
            size_t elems = 0;
            while (len >= 2 && s[len - 2] == '[' && s[len - 1] == ']') {
                len -= 2;
                elems++;
            }
            if (len > 0)
                s_tok_push(p, &cap, s, len);
            if (len == 2 && s[0] == '*' && s[1] == '*')
                p->any_depth = true;
            while (elems-- > 0)
                s_tok_push(p, &cap, s_elem, 2);
            s += dot ? (size_t)(dot - s) + 1 : strlen(s);
        }
    }
    return ps;
}

static void
s_pats_free(struct s_pats *ps)
{
    for (size_t i = 0; i < ps->len; i++) {
        for (size_t k = 0; k < ps->items[i].n; k++)
            free(ps->items[i].tok[k]);
        free(ps->items[i].tok);
    }
    free(ps->items);
    ps->items = NULL;
    ps->len = 0;
}

// '*' matches any run of characters; everything else itself.
static bool
s_glob(const char *p, const char *s)
{
    if (*p == '\0')
        return *s == '\0';
    if (*p == '*') {
        for (;; s++) {
            if (s_glob(p + 1, s))
                return true;
            if (*s == '\0')
                return false;
        }
    }
    return *p == *s && s_glob(p + 1, s + 1);
}

static bool
s_tok_eq(const char *tok, const char *key)
{
    bool tok_elem = strcmp(tok, s_elem) == 0, key_elem = strcmp(key, s_elem) == 0;
    if (tok_elem || key_elem)
        return tok_elem && key_elem;
    return s_glob(tok, key);
}

// Does tok[0..nt) match keys[0..nk) exactly (full) or as a prefix of a longer path?
static bool
s_match(char *const *tok, size_t nt, const char *const *keys, size_t nk, bool prefix)
{
    if (nk == 0)
        return nt == 0 || prefix;
    if (nt == 0)
        return false;
    if (strcmp(tok[0], "**") == 0)
        return s_match(tok + 1, nt - 1, keys, nk, prefix) ||
               s_match(tok, nt, keys + 1, nk - 1, prefix);
    return s_tok_eq(tok[0], keys[0]) && s_match(tok + 1, nt - 1, keys + 1, nk - 1, prefix);
}

static const struct s_pat *
s_find(const struct s_pats *ps, const char *const *keys, size_t nk)
{
    for (size_t i = 0; i < ps->len; i++)
        if (s_match(ps->items[i].tok, ps->items[i].n, keys, nk, false))
            return &ps->items[i];
    return NULL;
}

// Could some pattern match this path or one below it?
static bool
s_reachable(const struct s_pats *ps, const char *const *keys, size_t nk)
{
    for (size_t i = 0; i < ps->len; i++)
        if (ps->items[i].any_depth || s_match(ps->items[i].tok, ps->items[i].n, keys, nk, true))
            return true;
    return false;
}

bool
fw_secret_match(const struct fw_secret_path *secrets, const char *const *keys, size_t n,
                fw_secret_kind_t *kind)
{
    struct s_pats ps = s_pats_new(secrets);
    const struct s_pat *p = s_find(&ps, keys, n);
    if (p && kind)
        *kind = p->kind;
    s_pats_free(&ps);
    return p != NULL;
}

// ---------------------------------------------------------------------------------------
//  URLs

// The authority of url: [*start, *end) after "scheme://"; false when there is no scheme.
static bool
s_authority(const char *url, const char **start, const char **end)
{
    const char *sep = strstr(url, "://");
    if (!sep || sep == url)
        return false;
    for (const char *c = url; c < sep; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (c > url && ((*c >= '0' && *c <= '9') || *c == '+' || *c == '-' || *c == '.'))))
            return false;
    *start = sep + 3;
    *end = *start + strcspn(*start, "/?#");
    return true;
}

char *
fw_secret_url_redacted(const char *url)
{
    const char *a, *e;
    if (!s_authority(url, &a, &e))
        return fw_strdup(url);
    const char *at = NULL;
    for (const char *c = a; c < e; c++)
        if (*c == '@')
            at = c;
    const char *colon = at ? memchr(a, ':', (size_t)(at - a)) : NULL;
    if (!colon)
        return fw_strdup(url);
    return fw_asprintf("%.*s%s%s", (int)(colon + 1 - url), url, FW_SECRET_URL_PASSWORD, at);
}

char *
fw_secret_url_origin(const char *url)
{
    const char *a, *e;
    if (!url || !s_authority(url, &a, &e))
        return fw_strdup("");
    const char *host = a;
    for (const char *c = a; c < e; c++)
        if (*c == '@')
            host = c + 1;
    return fw_asprintf("%.*s%.*s", (int)(a - url), url, (int)(e - host), host);
}

char *
fw_secret_url_masked(const char *url)
{
    const char *a, *e;
    if (!url || !s_authority(url, &a, &e))
        return fw_strdup(FW_SECRET_TOKEN);
    char *origin = fw_secret_url_origin(url);
    bool userinfo = memchr(a, '@', (size_t)(e - a)) != NULL;
    bool rest = *e && strcmp(e, "/") != 0;
    char *out =
        userinfo || rest ? fw_asprintf("%s/%s", origin, FW_SECRET_TOKEN) : fw_strdup(origin);
    free(origin);
    return out;
}

// ---------------------------------------------------------------------------------------
//  YAML

typedef struct {
    yaml_document_t *doc;      // borrowed
    const struct s_pats *pats; // borrowed
    const char *keys[FW_SECRET_MAX_DEPTH];
    size_t depth;
    long budget;
    fw_err_t *err;
    bool failed;
} s_walk_t;

static bool
s_yaml_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE)
        return false;
    if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
        return true;
    const char *v = (const char *)n->data.scalar.value;
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
            strcmp(v, "NULL") == 0);
}

// Make n the plain string scalar `value`. Memory handed to libyaml comes from malloc, which
// is what yaml_document_delete() frees it with.
static bool
s_yaml_set(yaml_node_t *n, const char *value)
{
    char *v = strdup(value);
    char *tag = strdup(YAML_STR_TAG);
    if (!v || !tag) {
        free(v);
        free(tag);
        return false;
    }
    if (n->type == YAML_SCALAR_NODE)
        free(n->data.scalar.value);
    else if (n->type == YAML_MAPPING_NODE)
        free(n->data.mapping.pairs.start); // the pairs' nodes stay in the document, unreachable
    else if (n->type == YAML_SEQUENCE_NODE)
        free(n->data.sequence.items.start);
    free(n->tag);
    n->type = YAML_SCALAR_NODE;
    n->tag = (yaml_char_t *)tag;
    n->data.scalar.value = (yaml_char_t *)v;
    n->data.scalar.length = strlen(v);
    n->data.scalar.style = YAML_PLAIN_SCALAR_STYLE;
    return true;
}

static void
s_fail(s_walk_t *w, const char *msg)
{
    if (!w->failed)
        fw_err_set(w->err, "%s", msg);
    w->failed = true;
}

static void
s_yaml_mask(s_walk_t *w, yaml_node_t *n, fw_secret_kind_t kind)
{
    if (s_yaml_null(n))
        return;
    bool ok = true;
    if (n->type == YAML_SCALAR_NODE && n->data.scalar.length == 0)
        return;
    if (kind != FW_SECRET_VALUE && n->type == YAML_SCALAR_NODE) {
        const char *v = (const char *)n->data.scalar.value;
        char *r =
            kind == FW_SECRET_URL_USERINFO ? fw_secret_url_redacted(v) : fw_secret_url_masked(v);
        if (strcmp(r, v) != 0)
            ok = s_yaml_set(n, r);
        free(r);
    } else {
        ok = s_yaml_set(n, FW_SECRET_TOKEN);
    }
    if (!ok)
        s_fail(w, "out of memory masking a secret");
}

static void s_yaml_node(s_walk_t *w, yaml_node_t *n);

static bool
s_push(s_walk_t *w, const char *key)
{
    if (w->depth >= FW_SECRET_MAX_DEPTH) {
        s_fail(w, "document nested too deeply to show");
        return false;
    }
    w->keys[w->depth++] = key;
    return true;
}

static void
s_yaml_mapping(s_walk_t *w, yaml_node_t *m, int merges)
{
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
         p < m->data.mapping.pairs.top && !w->failed; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (!k || !v || k->type != YAML_SCALAR_NODE)
            continue;
        const char *key = (const char *)k->data.scalar.value;
        if (k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(key, "<<") == 0) {
            // A merge: its pairs count as this mapping's own.
            if (merges >= S_MERGE_DEPTH) {
                s_fail(w, "merge keys nested too deeply to show");
                return;
            }
            if (v->type == YAML_MAPPING_NODE) {
                s_yaml_mapping(w, v, merges + 1);
            } else if (v->type == YAML_SEQUENCE_NODE) {
                for (yaml_node_item_t *it = v->data.sequence.items.start;
                     it < v->data.sequence.items.top; it++) {
                    yaml_node_t *mv = yaml_document_get_node(w->doc, *it);
                    if (mv && mv->type == YAML_MAPPING_NODE)
                        s_yaml_mapping(w, mv, merges + 1);
                }
            }
            continue;
        }
        if (!s_push(w, key))
            return;
        s_yaml_node(w, v);
        w->depth--;
    }
}

static void
s_yaml_node(s_walk_t *w, yaml_node_t *n)
{
    if (w->failed)
        return;
    if (--w->budget < 0) {
        s_fail(w, "document too large to show (more nodes than the budget after aliases)");
        return;
    }
    const struct s_pat *p = w->depth > 0 ? s_find(w->pats, w->keys, w->depth) : NULL;
    if (p) {
        s_yaml_mask(w, n, p->kind);
        return;
    }
    if (!s_reachable(w->pats, w->keys, w->depth))
        return;
    if (n->type == YAML_MAPPING_NODE) {
        s_yaml_mapping(w, n, 0);
    } else if (n->type == YAML_SEQUENCE_NODE) {
        if (!s_push(w, s_elem))
            return;
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top && !w->failed; it++) {
            yaml_node_t *item = yaml_document_get_node(w->doc, *it);
            if (item)
                s_yaml_node(w, item);
        }
        w->depth--;
    }
}

struct s_buf {
    char *data; // owned
    size_t len, cap;
};

static int
s_write(void *arg, unsigned char *bytes, size_t size)
{
    struct s_buf *b = arg;
    fw_mem_grow((void **)&b->data, &b->cap, b->len + size + 1, 1);
    memcpy(b->data + b->len, bytes, size);
    b->len += size;
    b->data[b->len] = '\0';
    return 1;
}

int
fw_secret_redact_yaml(const char *text, const struct fw_secret_path *secrets, char **out,
                      fw_err_t *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    // libyaml's loader slows quadratically with nesting: refuse deep text before loading.
    struct fw_cfg_pos deep;
    if (fw_cfg_too_deep(text, strlen(text), &deep)) {
        fw_err_set(err, "%d:%d: exceeded max depth of %d", deep.line, deep.col, FW_CFG_MAX_DEPTH);
        return -1;
    }
    if (!yaml_parser_initialize(&parser)) {
        fw_err_set(err, "cannot initialise libyaml");
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    if (!yaml_parser_load(&parser, &doc)) {
        fw_err_set(err, "invalid YAML: %s", parser.problem ? parser.problem : "?");
        yaml_parser_delete(&parser);
        return -1;
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        yaml_document_delete(&doc);
        *out = fw_strdup("");
        return 0;
    }
    struct s_pats pats = s_pats_new(secrets);
    s_walk_t w = {.doc = &doc, .pats = &pats, .budget = FW_SECRET_NODE_BUDGET, .err = err};
    s_yaml_node(&w, root);
    s_pats_free(&pats);
    if (w.failed) {
        yaml_document_delete(&doc);
        return -1;
    }
    yaml_emitter_t e;
    struct s_buf b = {NULL, 0, 0};
    if (!yaml_emitter_initialize(&e)) {
        yaml_document_delete(&doc);
        fw_err_set(err, "cannot initialise libyaml");
        return -1;
    }
    yaml_emitter_set_output(&e, s_write, &b);
    yaml_emitter_set_unicode(&e, 1);
    yaml_emitter_set_width(&e, -1);
    yaml_emitter_set_indent(&e, 2);
    // yaml_emitter_dump() deletes the document, whether it succeeds or not.
    bool ok = yaml_emitter_open(&e) && yaml_emitter_dump(&e, &doc) && yaml_emitter_close(&e) &&
              yaml_emitter_flush(&e);
    if (!ok) {
        fw_err_set(err, "cannot emit YAML: %s", e.problem ? e.problem : "?");
        yaml_emitter_delete(&e);
        free(b.data);
        return -1;
    }
    yaml_emitter_delete(&e);
    *out = b.data ? b.data : fw_strdup("");
    return 0;
}

// ---------------------------------------------------------------------------------------
//  JSON

typedef struct {
    const struct s_pats *pats; // borrowed
    const char *keys[FW_SECRET_MAX_DEPTH];
    size_t depth;
} s_jwalk_t;

static json_t *
s_json_masked(const json_t *v, fw_secret_kind_t kind)
{
    if (kind != FW_SECRET_VALUE && json_is_string(v)) {
        char *r = kind == FW_SECRET_URL_USERINFO ? fw_secret_url_redacted(json_string_value(v))
                                                 : fw_secret_url_masked(json_string_value(v));
        json_t *out = json_string(r);
        free(r);
        return out;
    }
    return json_string(FW_SECRET_TOKEN);
}

static void s_json_node(s_jwalk_t *w, json_t *v);

// Visit child c of parent under key (NULL for an array element at index i).
static void
s_json_child(s_jwalk_t *w, json_t *parent, const char *key, size_t i, json_t *c)
{
    if (w->depth >= FW_SECRET_MAX_DEPTH) {
        // Deeper than any schema: mask rather than show what was not looked at.
        if (key)
            json_object_set_new(parent, key, json_string(FW_SECRET_TOKEN)); // steals
        else
            json_array_set_new(parent, i, json_string(FW_SECRET_TOKEN)); // steals
        return;
    }
    w->keys[w->depth++] = key ? key : s_elem;
    const struct s_pat *p = s_find(w->pats, w->keys, w->depth);
    bool empty = json_is_null(c) || (json_is_string(c) && json_string_length(c) == 0);
    if (p && !empty) {
        json_t *m = s_json_masked(c, p->kind);
        if (key)
            json_object_set_new(parent, key, m); // steals
        else
            json_array_set_new(parent, i, m); // steals
    } else if (!p) {
        s_json_node(w, c);
    }
    w->depth--;
}

static void
s_json_node(s_jwalk_t *w, json_t *v)
{
    if (!s_reachable(w->pats, w->keys, w->depth))
        return;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, c) s_json_child(w, v, k, 0, c);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach(v, i, c) s_json_child(w, v, NULL, i, c);
    }
}

void
fw_secret_redact_json(json_t *j, const struct fw_secret_path *secrets)
{
    if (!j)
        return;
    struct s_pats pats = s_pats_new(secrets);
    s_jwalk_t w = {.pats = &pats};
    s_json_node(&w, j);
    s_pats_free(&pats);
}
