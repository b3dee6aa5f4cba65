/*  fw_json_dump.c — fw_json_dump.h: a jansson value as compact JSON text. */
#include "fw_json_dump.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h" // fw_utf8_valid

// Deeper than any tree the daemons build or decode (jansson's parser stops at 2048): past
// it jansson dumps the value itself, which also finds a value nested in itself.
#define S_MAX_DEPTH 2048

// s_value and its parts: 0 written, -1 refused, S_FULL a fixed buffer filled (the rest is
// not written: fw_json_dump_buf dumps again into a growing one, so a large value is not
// escaped to the end only to be cut).
#define S_FULL 1

static int s_value(struct fw_json_out *b, const json_t *v, int depth);

static bool
s_full(const struct fw_json_out *b)
{
    return b->fixed && b->len + 1 >= b->cap;
}

static int
s_string(struct fw_json_out *b, const char *s, size_t n)
{
    if (!fw_utf8_valid(s, n))
        return -1; // jansson's dumper refuses it too
    fw_json_out_strn(b, s, n, FW_JSON_OUT_JANSSON);
    return 0;
}

// What jansson itself writes for v (a real's digits, or a tree past S_MAX_DEPTH).
static int
s_by_jansson(struct fw_json_out *b, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!text)
        return -1;
    fw_json_out_puts(b, text);
    free(text);
    return 0;
}

static int
s_object(struct fw_json_out *b, const json_t *v, int depth)
{
    fw_json_out_put(b, "{", 1);
    bool first = true;
    for (void *it = json_object_iter((json_t *)v); it;
         it = json_object_iter_next((json_t *)v, it)) {
        if (!first)
            fw_json_out_put(b, ",", 1);
        first = false;
        if (s_string(b, json_object_iter_key(it), json_object_iter_key_len(it)) < 0)
            return -1;
        fw_json_out_put(b, ":", 1);
        int rc = s_value(b, json_object_iter_value(it), depth + 1);
        if (rc != 0)
            return rc;
        if (s_full(b))
            return S_FULL;
    }
    fw_json_out_put(b, "}", 1);
    return 0;
}

static int
s_array(struct fw_json_out *b, const json_t *v, int depth)
{
    fw_json_out_put(b, "[", 1);
    size_t n = json_array_size(v);
    for (size_t i = 0; i < n; i++) {
        if (i)
            fw_json_out_put(b, ",", 1);
        int rc = s_value(b, json_array_get(v, i), depth + 1);
        if (rc != 0)
            return rc;
        if (s_full(b))
            return S_FULL;
    }
    fw_json_out_put(b, "]", 1);
    return 0;
}

static int
s_value(struct fw_json_out *b, const json_t *v, int depth)
{
    if (!v)
        return -1;
    if (depth > S_MAX_DEPTH)
        return s_by_jansson(b, v);
    switch (json_typeof(v)) {
    case JSON_OBJECT: return s_object(b, v, depth);
    case JSON_ARRAY: return s_array(b, v, depth);
    case JSON_STRING: return s_string(b, json_string_value(v), json_string_length(v));
    case JSON_INTEGER: {
        char num[32];
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        fw_json_out_put(b, num, (size_t)n);
        return 0;
    }
    case JSON_REAL: return s_by_jansson(b, v);
    case JSON_TRUE: fw_json_out_put(b, "true", 4); return 0;
    case JSON_FALSE: fw_json_out_put(b, "false", 5); return 0;
    case JSON_NULL: fw_json_out_put(b, "null", 4); return 0;
    }
    return -1;
}

int
fw_json_dump(struct fw_json_out *b, const json_t *v)
{
    size_t start = b->len;
    if (s_value(b, v, 0) >= 0)
        return 0; // written, or cut where a fixed buffer filled
    b->len = start;
    if (b->p)
        b->p[start] = '\0';
    return -1;
}

const char *
fw_json_dump_buf(const json_t *v, char *stack, size_t cap, size_t *len, char **heap)
{
    *heap = NULL;
    struct fw_json_out b = fw_json_out_fixed(stack, cap);
    if (fw_json_dump(&b, v) < 0)
        return NULL;
    if (b.len + 1 < cap) { // not cut: a fixed buffer stops at cap - 1
        *len = b.len;
        return stack;
    }
    struct fw_json_out g = {0};
    if (fw_json_dump(&g, v) < 0) {
        free(g.p);
        return NULL;
    }
    *len = g.len;
    *heap = g.p;
    return g.p;
}

char *
fw_json_dumps(const json_t *v, size_t *len)
{
    char stack[8192], *heap;
    size_t n;
    const char *text = fw_json_dump_buf(v, stack, sizeof stack, &n, &heap);
    if (!text)
        return NULL;
    if (len)
        *len = n;
    if (heap)
        return heap;
    char *out = fw_malloc(n + 1);
    memcpy(out, text, n + 1);
    return out;
}
