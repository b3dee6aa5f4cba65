/*  fw_cfg.c — YAML configuration loaded into validated structs through field tables.

    The file is parsed by libyaml's loader into a node graph (yaml_parser_load), which
    resolves anchors and aliases for us; the graph is then walked against the caller's
    table. Every node carries its start mark, so each problem is reported at its own
    file:line:column (marks are 0-based, we print them 1-based). Nothing stops the walk:
    each bad key or value adds an error and the walk moves on, so one run shows every
    problem (up to FW_CFG_MAX_ERRORS, the rest counted in `dropped`).

    Absent keys and YAML nulls get the table default, which is YAML scalar text converted
    by the same code as file values, so a default is written once and parsed once. Nested
    FW_CFG_STRUCT tables get their defaults even when the whole parent mapping is absent.
    YAML 1.1 merge keys (`<<: *anchor`) are honoured, with explicit keys taking priority,
    as Go's yaml.v2 (and so Prometheus) does. A node budget bounds the work a hostile
    document can cause through aliases ("billion laughs").

    Error texts (tests and users rely on them):
        unknown key 'k'[ in section]
        duplicate key 'k'[ in section]
        key 'k' is required[ in section]
        expected a mapping for key 'k', got a sequence
        'abc' is not a duration for key 'k'
        value 0 out of range [1, 100] for key 'k'
        invalid label name '1abc'
        scrape_configs[0].consul_sd_configs: not supported by floorwatch[ (note)]
        section.key: 'v' is not supported by floorwatch (only 'a', 'b'[; note])
    where section is a path like `scrape_configs[0].static_configs[1]`. The errors are
    collected by fw_cfg_errors.c.
*/
#include "fw_cfg.h"
#include "fw_cfg_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"

// Most nodes one load may visit (aliases can make a small file expand enormously).
#define S_NODE_BUDGET 500000L
// Deepest chain of merge keys followed.
#define S_MERGE_DEPTH 16
// Longest section path kept for messages.
#define S_SECT_MAX 256

typedef struct {
    const char *file;           // borrowed: name used in messages
    yaml_document_t *doc;       // borrowed
    struct fw_cfg_errors *errs; // borrowed
    long budget;                // nodes left to visit
    bool exhausted;             // budget error already reported
    int depth;                  // mappings being walked: s_map recursion
    bool too_deep;              // depth error already reported
    struct fw_cfg_src src;      // the document's source, for values' positions (vpos)
} s_ctx_t;

struct s_pair {
    yaml_node_t *key;   // borrowed from the document
    yaml_node_t *value; // borrowed from the document
    bool merged;        // came through a `<<` merge key
};

struct s_pairs {
    struct s_pair *items; // owned
    size_t len;
    size_t cap;
};

static void s_map(s_ctx_t *ctx, const struct fw_cfg_field *table, void *base, yaml_node_t *node,
                  struct fw_cfg_pos pos, const char *sect);

// ---------------------------------------------------------------------------------------
//  Node helpers

static struct fw_cfg_pos
s_pos(const yaml_node_t *n)
{
    struct fw_cfg_pos p = {(int)n->start_mark.line + 1, (int)n->start_mark.column + 1};
    return p;
}

static const char *
s_text(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

static bool
s_is_null(const yaml_node_t *n)
{
    if (!n)
        return true;
    if (n->type != YAML_SCALAR_NODE)
        return false;
    if (n->tag && strcmp((const char *)n->tag, YAML_NULL_TAG) == 0)
        return true;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *s = s_text(n);
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 ||
           strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0;
}

static const char *
s_kind(const yaml_node_t *n)
{
    if (s_is_null(n))
        return "null";
    switch (n->type) {
    case YAML_SCALAR_NODE: return "a scalar";
    case YAML_SEQUENCE_NODE: return "a sequence";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static const char *
s_in(const char *sect)
{
    return sect[0] ? " in " : "";
}

// Count one visited node; false once the budget is spent (reported once).
static bool
s_spend(s_ctx_t *ctx, struct fw_cfg_pos pos)
{
    if (ctx->budget-- > 0)
        return true;
    if (!ctx->exhausted) {
        ctx->exhausted = true;
        fw_cfg_errors_add(ctx->errs, ctx->file, pos,
                          "document too large (more than %ld nodes after expanding aliases)",
                          S_NODE_BUDGET);
    }
    return false;
}

// ---------------------------------------------------------------------------------------
//  Scalars

static bool
s_parse_int(const char *s, int64_t *out)
{
    if (!*s || *s == ' ')
        return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

static bool
s_parse_float(const char *s, double *out)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
    for (int i = 0; inf[i]; i++)
        if (strcmp(s, inf[i]) == 0)
            return *out = INFINITY, true;
    for (int i = 0; ninf[i]; i++)
        if (strcmp(s, ninf[i]) == 0)
            return *out = -INFINITY, true;
    for (int i = 0; nan[i]; i++)
        if (strcmp(s, nan[i]) == 0)
            return *out = NAN, true;
    if (!*s || *s == ' ')
        return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno == ERANGE || end == s || *end != '\0')
        return false;
    *out = v;
    return true;
}

// YAML 1.1 booleans, as Go's yaml.v2 reads them.
static bool
s_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "y", NULL};
    static const char *const no[] = {"false", "no", "off", "n", NULL};
    for (int i = 0; yes[i]; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, true;
    for (int i = 0; no[i]; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, true;
    return false;
}

static bool
s_out_of_range(const struct fw_cfg_field *f, double v)
{
    return f->max > f->min && (v < f->min || v > f->max);
}

// Convert scalar text for a scalar-typed field and store it. Used for file values and for
// table defaults alike.
static void
s_scalar(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, const char *s,
         struct fw_cfg_pos pos)
{
    void *p = (char *)base + f->off;
    const char *file = ctx->file;
    struct fw_cfg_errors *errs = ctx->errs;

    switch (f->type) {
    case FW_CFG_STR: {
        char **dst = p;
        free(*dst);
        *dst = fw_strdup(s);
        if (f->check)
            f->check(*dst, file, pos, errs);
        break;
    }
    case FW_CFG_INT: {
        int64_t v;
        if (!s_parse_int(s, &v)) {
            fw_cfg_errors_add(errs, file, pos, "'%s' is not an integer for key '%s'", s, f->key);
        } else if (s_out_of_range(f, (double)v)) {
            fw_cfg_errors_add(errs, file, pos, "value %lld out of range [%.0f, %.0f] for key '%s'",
                              (long long)v, f->min, f->max, f->key);
        } else {
            *(int64_t *)p = v;
        }
        break;
    }
    case FW_CFG_FLOAT: {
        double v;
        if (!s_parse_float(s, &v)) {
            fw_cfg_errors_add(errs, file, pos, "'%s' is not a number for key '%s'", s, f->key);
        } else if (s_out_of_range(f, v) || (f->max > f->min && isnan(v))) {
            fw_cfg_errors_add(errs, file, pos, "value %s out of range [%g, %g] for key '%s'", s,
                              f->min, f->max, f->key);
        } else {
            *(double *)p = v;
        }
        break;
    }
    case FW_CFG_BOOL: {
        bool v;
        if (!s_parse_bool(s, &v))
            fw_cfg_errors_add(errs, file, pos, "'%s' is not a boolean for key '%s'", s, f->key);
        else
            *(bool *)p = v;
        break;
    }
    case FW_CFG_DURATION: {
        int64_t v;
        if (fw_duration_parse(s, &v) != 0) {
            fw_cfg_errors_add(errs, file, pos, "'%s' is not a duration for key '%s'", s, f->key);
        } else if (s_out_of_range(f, (double)v)) {
            char lo[32], hi[32];
            fw_cfg_errors_add(errs, file, pos, "value %s out of range [%s, %s] for key '%s'", s,
                              fw_duration_format((int64_t)f->min, lo, sizeof(lo)),
                              fw_duration_format((int64_t)f->max, hi, sizeof(hi)), f->key);
        } else {
            *(int64_t *)p = v;
        }
        break;
    }
    case FW_CFG_SIZE: {
        int64_t v;
        if (fw_size_parse(s, &v) != 0) {
            fw_cfg_errors_add(errs, file, pos, "'%s' is not a size for key '%s'", s, f->key);
        } else if (s_out_of_range(f, (double)v)) {
            fw_cfg_errors_add(errs, file, pos,
                              "value %s out of range [%.0f, %.0f] bytes for key '%s'", s, f->min,
                              f->max, f->key);
        } else {
            *(int64_t *)p = v;
        }
        break;
    }
    case FW_CFG_ENUM: {
        int i = 0;
        for (; f->enum_names && f->enum_names[i]; i++)
            if (strcmp(s, f->enum_names[i]) == 0)
                break;
        if (!f->enum_names || !f->enum_names[i]) {
            char list[200] = "";
            size_t n = 0;
            for (int j = 0; f->enum_names && f->enum_names[j] && n < sizeof(list); j++)
                n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", j ? ", " : "",
                                      f->enum_names[j]);
            fw_cfg_errors_add(errs, file, pos, "'%s' is not one of %s for key '%s'", s, list,
                              f->key);
        } else {
            *(int *)p = i;
        }
        break;
    }
    default: break;
    }
}

// ---------------------------------------------------------------------------------------
//  Collections

static void
s_str_list(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, yaml_node_t *v, const char *sect)
{
    if (v->type != YAML_SEQUENCE_NODE) {
        fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(v),
                          "expected a sequence for key '%s', got %s", f->key, s_kind(v));
        return;
    }
    char ***items = (char ***)((char *)base + f->off);
    size_t *count = (size_t *)((char *)base + f->count_off);
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0)
        return;
    *items = fw_realloc(*items, (*count + n) * sizeof(char *));
    struct fw_cfg_pos **where =
        f->pos_off ? (struct fw_cfg_pos **)((char *)base + f->pos_off) : NULL;
    if (where)
        *where = fw_realloc(*where, (*count + n) * sizeof(**where));
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = yaml_document_get_node(ctx->doc, v->data.sequence.items.start[i]);
        if (!it || !s_spend(ctx, s_pos(v)))
            return;
        const char *s;
        if (s_is_null(it)) {
            s = "";
        } else if (it->type != YAML_SCALAR_NODE) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(it),
                              "expected a scalar for %s%s%s[%zu], got %s", sect, sect[0] ? "." : "",
                              f->key, i, s_kind(it));
            continue;
        } else {
            s = s_text(it);
        }
        char *copy = fw_strdup(s);
        if (where)
            (*where)[*count] = s_pos(it);
        (*items)[(*count)++] = copy;
        if (f->check)
            f->check(copy, ctx->file, s_pos(it), ctx->errs);
    }
}

static void
s_labels(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE) {
        fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(v), "expected a mapping for key '%s', got %s",
                          f->key, s_kind(v));
        return;
    }
    struct fw_labels *l = (struct fw_labels *)((char *)base + f->off);
    yaml_node_pair_t *start = v->data.mapping.pairs.start;
    yaml_node_pair_t *top = v->data.mapping.pairs.top;
    for (yaml_node_pair_t *pr = start; pr < top; pr++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, pr->key);
        yaml_node_t *val = yaml_document_get_node(ctx->doc, pr->value);
        if (!k || !val || !s_spend(ctx, s_pos(v)))
            return;
        if (k->type != YAML_SCALAR_NODE) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k),
                              "expected a scalar label name in '%s', got %s", f->key, s_kind(k));
            continue;
        }
        const char *name = s_text(k);
        bool dup = false;
        for (yaml_node_pair_t *q = start; q < pr && !dup; q++) {
            yaml_node_t *qk = yaml_document_get_node(ctx->doc, q->key);
            dup = qk && qk->type == YAML_SCALAR_NODE && strcmp(s_text(qk), name) == 0;
        }
        if (dup) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k), "duplicate key '%s' in %s", name,
                              f->key);
            continue;
        }
        if (f->type == FW_CFG_LABELS && f->check) { // its own name rule (UTF-8 names)
            if (f->check(name, ctx->file, s_pos(k), ctx->errs) != 0)
                continue;
        } else if (f->type == FW_CFG_LABELS && !fw_label_name_valid(name)) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k), "invalid label name '%s'", name);
            continue;
        }
        const char *value = "";
        if (!s_is_null(val)) {
            if (val->type != YAML_SCALAR_NODE) {
                fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(val),
                                  "expected a scalar for label '%s', got %s", name, s_kind(val));
                continue;
            }
            value = s_text(val);
            if (f->type == FW_CFG_STR_MAP && f->check &&
                f->check(value, ctx->file, s_pos(val), ctx->errs) != 0)
                continue;
            if (f->type == FW_CFG_LABELS && !fw_utf8_valid(value, val->data.scalar.length)) {
                fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(val),
                                  "invalid UTF-8 in value of label '%s'", name);
                continue;
            }
        }
        fw_labels_set(l, name, value);
    }
}

// A mapping of sequences of scalars, stored flat as name, value pairs.
static void
s_str_list_map(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, yaml_node_t *v)
{
    if (v->type != YAML_MAPPING_NODE) {
        fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(v), "expected a mapping for key '%s', got %s",
                          f->key, s_kind(v));
        return;
    }
    char ***items = (char ***)((char *)base + f->off);
    size_t *count = (size_t *)((char *)base + f->count_off);
    size_t cap = *count;
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, pr->key);
        yaml_node_t *seq = yaml_document_get_node(ctx->doc, pr->value);
        if (!k || !seq || !s_spend(ctx, s_pos(v)))
            return;
        if (k->type != YAML_SCALAR_NODE) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k),
                              "expected a scalar name in '%s', got %s", f->key, s_kind(k));
            continue;
        }
        if (s_is_null(seq))
            continue;
        if (seq->type != YAML_SEQUENCE_NODE) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(seq),
                              "expected a sequence for '%s' in '%s', got %s", s_text(k), f->key,
                              s_kind(seq));
            continue;
        }
        for (yaml_node_item_t *it = seq->data.sequence.items.start;
             it < seq->data.sequence.items.top; it++) {
            yaml_node_t *val = yaml_document_get_node(ctx->doc, *it);
            if (!val || !s_spend(ctx, s_pos(seq)))
                return;
            if (!s_is_null(val) && val->type != YAML_SCALAR_NODE) {
                fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(val),
                                  "expected a scalar for '%s' in '%s', got %s", s_text(k), f->key,
                                  s_kind(val));
                continue;
            }
            fw_mem_grow((void **)items, &cap, *count + 2, sizeof(char *));
            (*items)[(*count)++] = fw_strdup(s_text(k));
            (*items)[(*count)++] = fw_strdup(s_is_null(val) ? "" : s_text(val));
        }
    }
}

static void
s_list(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, yaml_node_t *v, const char *sect)
{
    if (v->type != YAML_SEQUENCE_NODE) {
        fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(v),
                          "expected a sequence for key '%s', got %s", f->key, s_kind(v));
        return;
    }
    void **items = (void **)((char *)base + f->off);
    size_t *count = (size_t *)((char *)base + f->count_off);
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (n == 0 || f->elem_size == 0)
        return;
    // Zeroed up front and filled in place, so fw_cfg_free() finds a consistent list at
    // every point, even after errors.
    char *arr = fw_realloc(*items, (*count + n) * f->elem_size);
    memset(arr + *count * f->elem_size, 0, n * f->elem_size);
    *items = arr;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *it = yaml_document_get_node(ctx->doc, v->data.sequence.items.start[i]);
        if (!it || !s_spend(ctx, s_pos(v)))
            return;
        char sub[S_SECT_MAX];
        snprintf(sub, sizeof(sub), "%s%s%s[%zu]", sect, sect[0] ? "." : "", f->key, i);
        if (it->type != YAML_MAPPING_NODE) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(it), "expected a mapping for %s, got %s",
                              sub, s_kind(it));
            continue;
        }
        void *elem = arr + (*count)++ * f->elem_size;
        s_map(ctx, f->child, elem, it, s_pos(it), sub);
    }
}

// ---------------------------------------------------------------------------------------
//  Mappings

static void
s_pairs_push(struct s_pairs *ps, yaml_node_t *k, yaml_node_t *v, bool merged)
{
    fw_mem_grow((void **)&ps->items, &ps->cap, ps->len + 1, sizeof(*ps->items));
    ps->items[ps->len++] = (struct s_pair){k, v, merged};
}

static bool
s_is_merge_key(const yaml_node_t *k)
{
    return k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           strcmp(s_text(k), "<<") == 0;
}

// Collect the pairs of mapping m: explicit ones first, then those of merged mappings (in
// order of priority), so the first occurrence of a key wins.
static void
s_collect(s_ctx_t *ctx, yaml_node_t *m, struct s_pairs *ps, bool merged, int depth)
{
    struct s_pairs later = {NULL, 0, 0};
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, pr->key);
        yaml_node_t *v = yaml_document_get_node(ctx->doc, pr->value);
        if (!k || !v)
            continue;
        if (s_is_merge_key(k))
            s_pairs_push(&later, k, v, true);
        else
            s_pairs_push(ps, k, v, merged);
    }
    for (size_t i = 0; i < later.len; i++) {
        yaml_node_t *v = later.items[i].value;
        if (depth >= S_MERGE_DEPTH) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(later.items[i].key),
                              "merge keys nested too deeply");
            continue;
        }
        if (v->type == YAML_MAPPING_NODE) {
            s_collect(ctx, v, ps, true, depth + 1);
        } else if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = v->data.sequence.items.start;
                 it < v->data.sequence.items.top; it++) {
                yaml_node_t *mv = yaml_document_get_node(ctx->doc, *it);
                if (mv && mv->type == YAML_MAPPING_NODE)
                    s_collect(ctx, mv, ps, true, depth + 1);
                else if (mv)
                    fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(mv),
                                      "expected a mapping to merge, got %s", s_kind(mv));
            }
        } else {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(v), "expected a mapping to merge, got %s",
                              s_kind(v));
        }
    }
    free(later.items);
}

static const struct fw_cfg_field *
s_lookup(const struct fw_cfg_field *table, const char *key, size_t *idx)
{
    for (size_t i = 0; table[i].key; i++) {
        if (table[i].type == FW_CFG_POS || table[i].type == FW_CFG_VALUE_POS)
            continue;
        if (strcmp(table[i].key, key) == 0) {
            *idx = i;
            return &table[i];
        }
    }
    return NULL;
}

// Walk the nested struct of field f in base against mapping v (NULL: absent, defaults only),
// in section sect.f->key.
static void
s_struct(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, yaml_node_t *v,
         struct fw_cfg_pos pos, const char *sect)
{
    char sub[S_SECT_MAX];
    snprintf(sub, sizeof(sub), "%s%s%s", sect, sect[0] ? "." : "", f->key);
    s_map(ctx, f->child, (char *)base + f->off, v, pos, sub);
}

// Whether a field of type t holds one scalar value (read by s_scalar).
static bool
s_is_scalar(fw_cfg_type_t t)
{
    switch (t) {
    case FW_CFG_STR:
    case FW_CFG_INT:
    case FW_CFG_FLOAT:
    case FW_CFG_BOOL:
    case FW_CFG_DURATION:
    case FW_CFG_SIZE:
    case FW_CFG_ENUM: return true;
    default: return false;
    }
}

static void
s_value(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, yaml_node_t *v, const char *sect)
{
    if (s_is_scalar(f->type)) {
        if (v->type != YAML_SCALAR_NODE)
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(v),
                              "expected a scalar for key '%s', got %s", f->key, s_kind(v));
        else
            s_scalar(ctx, f, base, s_text(v), s_pos(v));
        return;
    }
    switch (f->type) {
    case FW_CFG_STR_LIST: s_str_list(ctx, f, base, v, sect); break;
    case FW_CFG_LABELS:
    case FW_CFG_STR_MAP: s_labels(ctx, f, base, v); break;
    case FW_CFG_STR_LIST_MAP: s_str_list_map(ctx, f, base, v); break;
    case FW_CFG_STRUCT: {
        if (v->type != YAML_MAPPING_NODE) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(v),
                              "expected a mapping for key '%s', got %s", f->key, s_kind(v));
            s_struct(ctx, f, base, NULL, s_pos(v), sect); // still give it its defaults
            break;
        }
        s_struct(ctx, f, base, v, s_pos(v), sect);
        break;
    }
    case FW_CFG_LIST: s_list(ctx, f, base, v, sect); break;
    default: break; // scalars above; FW_CFG_POS, _IGNORE and _UNSUPPORTED take no value
    }
}

// A key the program knows but does not do: refused at the key, naming it with its section,
// unless the value is one the field lists as matching what the program does anyway.
static void
s_unsupported(s_ctx_t *ctx, const struct fw_cfg_field *f, yaml_node_t *k, yaml_node_t *v,
              const char *sect)
{
    const char *dot = sect[0] ? "." : "";
    const char *open = f->note ? " (" : "", *note = f->note ? f->note : "";
    const char *close = f->note ? ")" : "";
    if (!f->enum_names) {
        fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k),
                          "%s%s%s: not supported by floorwatch%s%s%s", sect, dot, f->key, open,
                          note, close);
        return;
    }
    if (v->type == YAML_SCALAR_NODE)
        for (int i = 0; f->enum_names[i]; i++)
            if (strcmp(s_text(v), f->enum_names[i]) == 0)
                return;
    char list[200] = "";
    size_t n = 0;
    for (int j = 0; f->enum_names[j] && n < sizeof(list); j++) {
        const char *sep = j ? ", " : "";
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s'%s'", sep, f->enum_names[j]);
    }
    if (v->type == YAML_SCALAR_NODE)
        fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k),
                          "%s%s%s: '%.64s' is not supported by floorwatch (only %s%s%s)", sect, dot,
                          f->key, s_text(v), list, f->note ? "; " : "", note);
    else
        fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k),
                          "%s%s%s: %s is not supported by floorwatch (only %s%s%s)", sect, dot,
                          f->key, s_kind(v), list, f->note ? "; " : "", note);
}

// An absent (or null) key: the required error, the default, or a nested struct's defaults.
static void
s_absent(s_ctx_t *ctx, const struct fw_cfg_field *f, void *base, struct fw_cfg_pos pos,
         const char *sect)
{
    if (f->required) {
        fw_cfg_errors_add(ctx->errs, ctx->file, pos, "key '%s' is required%s%s", f->key, s_in(sect),
                          sect);
        return;
    }
    if (s_is_scalar(f->type) && f->def)
        s_scalar(ctx, f, base, f->def, pos);
    else if (f->type == FW_CFG_STRUCT)
        s_struct(ctx, f, base, NULL, pos, sect);
}

// Record where value v of key sits (a scalar, or the scalars of a mapping for a STR_MAP).
static void
s_vpos_record(s_ctx_t *ctx, struct fw_cfg_vpos_list *l, const struct fw_cfg_field *f,
              const char *key, yaml_node_t *v)
{
    if (!l)
        return;
    if (v->type == YAML_SCALAR_NODE) {
        fw_cfg_vpos_add(&ctx->src, l, key, NULL, v);
        return;
    }
    if (f->type != FW_CFG_STR_MAP || v->type != YAML_MAPPING_NODE)
        return;
    for (yaml_node_pair_t *pr = v->data.mapping.pairs.start; pr < v->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = yaml_document_get_node(ctx->doc, pr->key);
        yaml_node_t *val = yaml_document_get_node(ctx->doc, pr->value);
        if (k && val && k->type == YAML_SCALAR_NODE)
            fw_cfg_vpos_add(&ctx->src, l, key, s_text(k), val);
    }
}

// Walk mapping node (NULL: absent) against table, filling base. pos is the mapping's own
// position, or the enclosing one's when it is absent.
static void
s_map(s_ctx_t *ctx, const struct fw_cfg_field *table, void *base, yaml_node_t *node,
      struct fw_cfg_pos pos, const char *sect)
{
    // The document's own nesting was checked before loading, but an alias can name its own
    // ancestor (`&r {routes: [*r]}`) and tables that nest (alertd's routes) follow it down.
    if (node && ctx->depth >= FW_CFG_MAX_DEPTH) {
        if (!ctx->too_deep)
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(node),
                              "exceeded max depth of %d (an alias inside its own anchor?)",
                              FW_CFG_MAX_DEPTH);
        ctx->too_deep = true;
        return;
    }
    size_t n = 0;
    while (table[n].key)
        n++;
    bool *seen = fw_calloc(n + 1, sizeof(bool));
    struct fw_cfg_vpos_list *vl = NULL;
    for (size_t i = 0; i < n && !vl; i++)
        if (table[i].type == FW_CFG_VALUE_POS)
            vl = (struct fw_cfg_vpos_list *)((char *)base + table[i].off);
    struct s_pairs ps = {NULL, 0, 0};
    if (node)
        s_collect(ctx, node, &ps, false, 0);
    ctx->depth++;

    for (size_t i = 0; i < ps.len; i++) {
        yaml_node_t *k = ps.items[i].key;
        yaml_node_t *v = ps.items[i].value;
        if (!s_spend(ctx, s_pos(k)))
            break;
        if (k->type != YAML_SCALAR_NODE) {
            if (!ps.items[i].merged)
                fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k),
                                  "expected a scalar key%s%s, got %s", s_in(sect), sect, s_kind(k));
            continue;
        }
        const char *key = s_text(k);
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++) {
            yaml_node_t *pk = ps.items[j].key;
            dup = pk->type == YAML_SCALAR_NODE && strcmp(s_text(pk), key) == 0;
        }
        if (dup) {
            // A merged key is overridden by an earlier one; only explicit repeats are errors.
            if (!ps.items[i].merged)
                fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k), "duplicate key '%s'%s%s", key,
                                  s_in(sect), sect);
            continue;
        }
        size_t idx = 0;
        const struct fw_cfg_field *f = s_lookup(table, key, &idx);
        if (!f) {
            fw_cfg_errors_add(ctx->errs, ctx->file, s_pos(k), "unknown key '%s'%s%s", key,
                              s_in(sect), sect);
            continue;
        }
        if (s_is_null(v))
            continue; // absent: handled below with the defaults
        seen[idx] = true;
        s_vpos_record(ctx, vl, f, key, v);
        if (f->type == FW_CFG_UNSUPPORTED)
            s_unsupported(ctx, f, k, v, sect);
        else
            s_value(ctx, f, base, v, sect);
    }

    for (size_t i = 0; i < n; i++) {
        const struct fw_cfg_field *f = &table[i];
        if (f->type == FW_CFG_POS)
            *(struct fw_cfg_pos *)((char *)base + f->off) = pos;
        else if (!seen[i])
            s_absent(ctx, f, base, pos, sect);
    }
    ctx->depth--;
    free(ps.items);
    free(seen);
}

// ---------------------------------------------------------------------------------------
//  Loading

static char *
s_read_file(const char *name, size_t *len_out, struct fw_cfg_errors *errs)
{
    FILE *fp = fopen(name, "rb");
    struct fw_cfg_pos nopos = {0, 0};
    if (!fp) {
        fw_cfg_errors_add(errs, name, nopos, "cannot open %s: %s", name, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = fw_malloc(cap + 1);
    for (;;) {
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (len < cap)
            break;
        cap *= 2;
        buf = fw_realloc(buf, cap + 1);
    }
    if (ferror(fp)) {
        fw_cfg_errors_add(errs, name, nopos, "cannot read %s: %s", name, strerror(errno));
        fclose(fp);
        free(buf);
        return NULL;
    }
    fclose(fp);
    buf[len] = '\0';
    *len_out = len;
    return buf;
}

// libyaml reader errors carry a byte offset, not a mark: turn it into line:col.
static struct fw_cfg_pos
s_offset_pos(const char *text, size_t len, size_t off)
{
    struct fw_cfg_pos p = {1, 1};
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            p.line++;
            p.col = 1;
        } else {
            p.col++;
        }
    }
    return p;
}

static void
s_syntax_error(const yaml_parser_t *parser, const char *file, const char *text, size_t len,
               struct fw_cfg_errors *errs)
{
    const char *problem = parser->problem ? parser->problem : "invalid YAML";
    struct fw_cfg_pos pos;
    if (parser->error == YAML_READER_ERROR) {
        pos = s_offset_pos(text, len, parser->problem_offset);
        fw_cfg_errors_add(errs, file, pos, "%s", problem);
        return;
    }
    pos.line = (int)parser->problem_mark.line + 1;
    pos.col = (int)parser->problem_mark.column + 1;
    if (parser->context)
        fw_cfg_errors_add(errs, file, pos, "%s (%s at line %d)", problem, parser->context,
                          (int)parser->context_mark.line + 1);
    else
        fw_cfg_errors_add(errs, file, pos, "%s", problem);
}

bool
fw_cfg_too_deep(const char *text, size_t len, struct fw_cfg_pos *pos)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return false;
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    int depth = 0;
    bool deep = false, done = false;
    while (!deep && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev))
            break; // a syntax error: the load reports it
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (++depth > FW_CFG_MAX_DEPTH) {
                deep = true;
                if (pos)
                    *pos = (struct fw_cfg_pos){(int)ev.start_mark.line + 1,
                                               (int)ev.start_mark.column + 1};
            }
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    return deep;
}

int
fw_cfg_load(const char *name, const char *text, const struct fw_cfg_field *table, void *out,
            struct fw_cfg_errors *errs)
{
    struct fw_cfg_errors local;
    if (!errs)
        errs = &local;
    memset(errs, 0, sizeof(*errs));
    if (!name)
        name = "config";

    char *owned = NULL;
    size_t len;
    if (text) {
        len = strlen(text);
    } else {
        owned = s_read_file(name, &len, errs);
        if (!owned)
            return -1;
        text = owned;
    }

    struct fw_cfg_pos deep;
    if (fw_cfg_too_deep(text, len, &deep)) {
        fw_cfg_errors_add(errs, name, deep, "exceeded max depth of %d", FW_CFG_MAX_DEPTH);
        free(owned);
        return -1;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) {
        fw_cfg_errors_add(errs, name, (struct fw_cfg_pos){0, 0}, "cannot initialise libyaml");
        free(owned);
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        s_syntax_error(&parser, name, text, len, errs);
        yaml_parser_delete(&parser);
        free(owned);
        return -1;
    }

    s_ctx_t ctx = {name, &doc, errs, S_NODE_BUDGET, false, 0, false, {text, len, NULL, 0}};
    struct fw_cfg_pos top = {1, 1};
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root || s_is_null(root)) {
        s_map(&ctx, table, out, NULL, top, "");
    } else if (root->type != YAML_MAPPING_NODE) {
        fw_cfg_errors_add(errs, name, s_pos(root), "expected a mapping at the top level, got %s",
                          s_kind(root));
    } else {
        s_map(&ctx, table, out, root, s_pos(root), "");
    }

    fw_cfg_src_free(&ctx.src);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(owned);
    return errs->len > 0 || errs->dropped > 0 ? -1 : 0;
}

// ---------------------------------------------------------------------------------------
//  Freeing

void
fw_cfg_free(const struct fw_cfg_field *table, void *out)
{
    if (!table || !out)
        return;
    for (const struct fw_cfg_field *f = table; f->key; f++) {
        void *p = (char *)out + f->off;
        switch (f->type) {
        case FW_CFG_STR: {
            char **s = p;
            free(*s);
            *s = NULL;
            break;
        }
        case FW_CFG_STR_LIST:
        case FW_CFG_STR_LIST_MAP: {
            char ***items = p;
            size_t *count = (size_t *)((char *)out + f->count_off);
            for (size_t i = 0; *items && i < *count; i++)
                free((*items)[i]);
            free(*items);
            *items = NULL;
            *count = 0;
            if (f->type == FW_CFG_STR_LIST && f->pos_off) {
                struct fw_cfg_pos **where = (struct fw_cfg_pos **)((char *)out + f->pos_off);
                free(*where);
                *where = NULL;
            }
            break;
        }
        case FW_CFG_LABELS:
        case FW_CFG_STR_MAP: fw_labels_clear(p); break;
        case FW_CFG_STRUCT: fw_cfg_free(f->child, p); break;
        case FW_CFG_VALUE_POS: fw_cfg_vpos_list_free(p); break;
        case FW_CFG_LIST: {
            char **items = p;
            size_t *count = (size_t *)((char *)out + f->count_off);
            for (size_t i = 0; *items && i < *count; i++)
                fw_cfg_free(f->child, *items + i * f->elem_size);
            free(*items);
            *items = NULL;
            *count = 0;
            break;
        }
        default: break;
        }
    }
}
