/*  fw_cfg_vpos.c — where a config's scalar values sit in their file (FW_CFG_VALUE_POS), so
    a check made after loading can point inside a value: a template's parse error at the
    line and column of the file where the faulty text is, not at its key.

    A value's text maps back to the file byte for byte only in some styles: a one-line plain
    or quoted scalar without escapes (text_col), a literal block (block_indent); any other
    style (folded, escapes, non-ASCII, tabs) points at the value's start. fw_cfg.c records
    the values as it loads; this file holds the mapping and the lookups (fw_cfg.h).
*/
#include "fw_cfg.h"
#include "fw_cfg_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"

// The column of byte 0 of scalar v's text when the file holds the text byte for byte on one
// line (plain or quoted, no escape, no folding, ASCII), else 0: the source span must be
// exactly the text (plus its two quotes).
static int
s_text_col(const yaml_node_t *v)
{
    yaml_scalar_style_t st = v->data.scalar.style;
    size_t q = st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
    if (!q && st != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    size_t len = v->data.scalar.length;
    for (size_t i = 0; i < len; i++)
        if (v->data.scalar.value[i] >= 0x80 || v->data.scalar.value[i] < 0x20)
            return 0;
    if (v->start_mark.line != v->end_mark.line ||
        v->end_mark.index - v->start_mark.index != len + 2 * q)
        return 0;
    return (int)(v->start_mark.column + 1 + q);
}

// The column before the content of literal block scalar v (`key: |` then indented lines),
// when every line of its text is on the file's next lines, indented by the same spaces and
// otherwise byte for byte (ASCII): line k of the text at line start + k, byte c at column
// indent + 1 + c. 0 otherwise (folded, indentation indicators that change it, a tab...).
static int
s_block_indent(struct fw_cfg_src *src, const yaml_node_t *v)
{
    if (v->data.scalar.style != YAML_LITERAL_SCALAR_STYLE || !src->text)
        return 0;
    if (!src->lines) { // libyaml's marks count characters, not bytes: find lines by number
        size_t n = 1;
        for (size_t i = 0; i < src->len; i++)
            n += src->text[i] == '\n';
        src->lines = fw_malloc(n * sizeof(size_t));
        src->lines[src->n_lines++] = 0;
        for (size_t i = 0; i < src->len; i++)
            if (src->text[i] == '\n')
                src->lines[src->n_lines++] = i + 1;
    }
    const char *t = (const char *)v->data.scalar.value, *end = t + v->data.scalar.length;
    // the source from the line after the indicator's
    if (v->start_mark.line + 1 >= src->n_lines)
        return 0;
    const char *at = src->text + src->lines[v->start_mark.line + 1], *send = src->text + src->len;
    int indent = -1;
    while (t < end) {
        const char *te = memchr(t, '\n', (size_t)(end - t));
        size_t tl = (size_t)((te ? te : end) - t);
        const char *se = memchr(at, '\n', (size_t)(send - at));
        size_t sl = (size_t)((se ? se : send) - at);
        size_t sp = 0;
        while (sp < sl && at[sp] == ' ')
            sp++;
        if (tl == 0) {
            if (sp != sl) // an empty text line must be a blank source line
                return 0;
        } else {
            if (indent < 0)
                indent = (int)sp;
            if ((size_t)indent + tl != sl || sp < (size_t)indent || memcmp(at + indent, t, tl) != 0)
                return 0;
            for (size_t i = 0; i < tl; i++)
                if ((unsigned char)t[i] >= 0x80 || (unsigned char)t[i] < 0x20)
                    return 0;
        }
        if (!te || !se)
            break;
        t = te + 1;
        at = se + 1;
    }
    return indent > 0 ? indent : 0;
}

void
fw_cfg_vpos_add(struct fw_cfg_src *src, struct fw_cfg_vpos_list *l, const char *key,
                const char *name, const yaml_node_t *v)
{
    if (!l || v->type != YAML_SCALAR_NODE)
        return;
    l->items = fw_realloc(l->items, (l->len + 1) * sizeof(*l->items));
    struct fw_cfg_vpos *p = &l->items[l->len++];
    p->key = name ? fw_asprintf("%s.%s", key, name) : fw_strdup(key);
    p->pos = (struct fw_cfg_pos){(int)v->start_mark.line + 1, (int)v->start_mark.column + 1};
    p->text_col = s_text_col(v);
    p->block_indent = s_block_indent(src, v);
}

void
fw_cfg_vpos_list_free(struct fw_cfg_vpos_list *l)
{
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i].key);
    free(l->items);
    l->items = NULL;
    l->len = 0;
}

void
fw_cfg_src_free(struct fw_cfg_src *src)
{
    free(src->lines);
    src->lines = NULL;
    src->n_lines = 0;
}

const struct fw_cfg_vpos *
fw_cfg_vpos_find(const struct fw_cfg_vpos_list *l, const char *key)
{
    for (size_t i = 0; l && key && i < l->len; i++)
        if (strcasecmp(l->items[i].key, key) == 0)
            return &l->items[i];
    return NULL;
}

struct fw_cfg_pos
fw_cfg_vpos_at(const struct fw_cfg_vpos *v, int line, int col, struct fw_cfg_pos fallback)
{
    if (!v)
        return fallback;
    struct fw_cfg_pos p = v->pos;
    if (v->text_col > 0 && line == 1 && col >= 0) {
        p.col = v->text_col + col;
    } else if (v->block_indent > 0 && line >= 1 && col >= 0) {
        p.line = v->pos.line + line;
        p.col = v->block_indent + 1 + col;
    }
    return p;
}
