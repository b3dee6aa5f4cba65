/*  fw_json_out.h — a growing buffer for hand-written JSON, and the one JSON string escaper.

    Answers that are written often (tsdb's query and exemplar answers, alertd's notification
    log records) or must never allocate (log lines) are written as text instead of building
    a jansson tree. They all go through this buffer and escape strings with
    fw_json_out_str(), whose flags pick the dialect each reader expects: jansson's
    json_dumps (byte for byte, where records are compared with jansson's output), Go's
    encoding/json (what Prometheus's HTTP API clients see), or Go's text/template `js`.

    The buffer is always NUL-terminated once written to. Growing (the default) it owns p,
    which is the caller's to free or hand on; fixed (fw_json_out_fixed) p is the caller's
    storage and what does not fit is cut, so a writer that must not allocate can use it.
*/
#ifndef FW_JSON_OUT_H
#define FW_JSON_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "fw_mem.h"

struct fw_json_out {
    char *p; // owned (growing, NULL while empty), or borrowed (fixed)
    size_t len, cap;
    bool fixed; // p is cap bytes of the caller's storage: appends past cap - 1 are cut
};

// Escape flags for fw_json_out_str/_esc. Without flags: '"' and '\\' and \n \r \t get their
// short forms, the other C0 controls \u00xx (lower case), every other byte is copied (the
// caller vouches for UTF-8). No flag escapes '/': neither jansson (without
// JSON_ESCAPE_SLASH) nor Go does.
enum {
    FW_JSON_OUT_BF = 1 << 0,    // \b and \f short forms
    FW_JSON_OUT_UPPER = 1 << 1, // \u00XX in upper-case hex
    FW_JSON_OUT_HTML = 1 << 2,  // '<' '>' '&' as \u00xx
    FW_JSON_OUT_UTF8 = 1 << 3,  // invalid UTF-8 as \ufffd (a byte each), U+2028/9 escaped
    FW_JSON_OUT_JS = 1 << 4,    // '\'' as \', '=' as \u00xx, and \n \r \t as \u00xx too
};
// jansson's json_dumps (valid UTF-8 input: jansson refuses the rest).
#define FW_JSON_OUT_JANSSON (FW_JSON_OUT_BF | FW_JSON_OUT_UPPER)
// Go's encoding/json with HTML escaping on, before Go 1.22's \b \f (Prometheus's API).
#define FW_JSON_OUT_GO (FW_JSON_OUT_HTML | FW_JSON_OUT_UTF8)
// Go's text/template JSEscapeString (used without quotes, through fw_json_out_esc).
#define FW_JSON_OUT_GOJS (FW_JSON_OUT_UPPER | FW_JSON_OUT_HTML | FW_JSON_OUT_JS)

// A fixed buffer over the caller's cap bytes at p (cap >= 1), starting empty.
static inline struct fw_json_out
fw_json_out_fixed(char *p, size_t cap)
{
    p[0] = '\0';
    return (struct fw_json_out){.p = p, .len = 0, .cap = cap, .fixed = true};
}

// Append the n bytes at s (cut when fixed and full).
static inline void
fw_json_out_put(struct fw_json_out *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        if (b->fixed)
            n = b->cap - 1 - b->len;
        else
            fw_mem_grow((void **)&b->p, &b->cap, b->len + n + 1, 1);
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

// Append the string s.
static inline void
fw_json_out_puts(struct fw_json_out *b, const char *s)
{
    fw_json_out_put(b, s, strlen(s));
}

// Append the n bytes at s escaped as the inside of a JSON string (no quotes), as flags say.
// No allocation beyond the buffer's growth.
void fw_json_out_esc(struct fw_json_out *b, const char *s, size_t n, unsigned flags);

// Append the n bytes at s as a quoted JSON string, escaped as flags say.
void fw_json_out_strn(struct fw_json_out *b, const char *s, size_t n, unsigned flags);

// Append the NUL-terminated s as a quoted JSON string, escaped as flags say.
void fw_json_out_str(struct fw_json_out *b, const char *s, unsigned flags);

#endif
