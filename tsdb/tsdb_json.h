/*  tsdb_json.h — the growing buffer tsdb's hand-written JSON answers are written into, one
    copy for the HTTP API (tsdb_api) and the exemplar answers (tsdb_exemplars).

    Always NUL-terminated; p is the caller's to free (or to hand on as an answer's body).
    Static inline: a query answer's every label and point goes through it.
*/
#ifndef TSDB_JSON_H
#define TSDB_JSON_H

#include <stddef.h>
#include <string.h>

#include "fw_mem.h"

struct tsdb_json {
    char *p; // owned, or NULL while empty
    size_t len, cap;
};

// Append the n bytes at s.
static inline void
tsdb_json_put(struct tsdb_json *b, const char *s, size_t n)
{
    fw_mem_grow((void **)&b->p, &b->cap, b->len + n + 1, 1);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

// Append the string s.
static inline void
tsdb_json_puts(struct tsdb_json *b, const char *s)
{
    tsdb_json_put(b, s, strlen(s));
}

#endif
