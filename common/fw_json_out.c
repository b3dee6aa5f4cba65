/*  fw_json_out.c — the one JSON string escaper (see fw_json_out.h for the dialects).

    A 256-entry table gives each byte the flags under which it needs escaping, so the loop
    over a plain label value is one load and test a byte, and runs between escapes are
    copied with one memcpy: tsdb's query answers send every label name and value through
    here.
*/
#include "fw_json_out.h"

#include <stdbool.h>
#include <stdint.h>

enum {
    S_CTL = 1,  // always: '"', '\\', C0 controls
    S_HTML = 2, // with FW_JSON_OUT_HTML
    S_JS = 4,   // with FW_JSON_OUT_JS
    S_HI = 8,   // with FW_JSON_OUT_UTF8: a byte >= 0x80 starts a sequence to check
};

#define C S_CTL
#define H S_HTML
#define J S_JS
#define U S_HI
// clang-format off
static const unsigned char s_class[256] = {
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, // 0x00
    C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, C, // 0x10
    0, 0, C, 0, 0, 0, H, J, 0, 0, 0, 0, 0, 0, 0, 0, // 0x20 " & '
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, H, J, H, 0, // 0x30 < = >
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0x40
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, C, 0, 0, 0, // 0x50 backslash
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0x60
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0x70
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, // 0x80
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
};
// clang-format on
#undef C
#undef H
#undef J
#undef U

// Length of the valid UTF-8 sequence at p (lead byte >= 0x80, n bytes left), 0 if invalid.
static size_t
s_utf8_len(const unsigned char *p, size_t n)
{
    size_t len;
    uint32_t cp;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        len = 2;
        cp = p[0] & 0x1F;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        len = 3;
        cp = p[0] & 0x0F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        len = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return len;
}

// The escape for ASCII byte c (one s_class says needs it) into tmp.
static const char *
s_esc_ascii(unsigned char c, unsigned flags, char tmp[8])
{
    bool js = flags & FW_JSON_OUT_JS, bf = flags & FW_JSON_OUT_BF;
    switch (c) {
    case '"': return "\\\"";
    case '\\': return "\\\\";
    case '\'': return "\\'"; // only reached with FW_JSON_OUT_JS
    case '\n':
        if (!js)
            return "\\n";
        break;
    case '\r':
        if (!js)
            return "\\r";
        break;
    case '\t':
        if (!js)
            return "\\t";
        break;
    case '\b':
        if (bf)
            return "\\b";
        break;
    case '\f':
        if (bf)
            return "\\f";
        break;
    default: break;
    }
    static const char lower[] = "0123456789abcdef", upper[] = "0123456789ABCDEF";
    const char *hex = (flags & FW_JSON_OUT_UPPER) ? upper : lower;
    memcpy(tmp, "\\u00", 4);
    tmp[4] = hex[c >> 4];
    tmp[5] = hex[c & 0xF];
    tmp[6] = '\0';
    return tmp;
}

// The escaper: n bytes at s, or up to the NUL with n SIZE_MAX (one pass, no strlen: the
// NUL is a byte s_class marks, so plain bytes cost one test each either way).
static inline void
s_esc(struct fw_json_out *b, const char *s, size_t n, unsigned flags)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned mask = S_CTL | ((flags & FW_JSON_OUT_HTML) ? S_HTML : 0) |
                    ((flags & FW_JSON_OUT_JS) ? S_JS : 0) | ((flags & FW_JSON_OUT_UTF8) ? S_HI : 0);
    size_t run = 0, i = 0; // run: start of the bytes not yet copied
    for (; i < n; i++) {
        unsigned char c = p[i];
        if (!(s_class[c] & mask))
            continue;
        if (c == '\0' && n == SIZE_MAX)
            break;
        char tmp[8];
        const char *esc;
        size_t skip = 0; // further input bytes the escape stands for
        if (c < 0x80) {
            esc = s_esc_ascii(c, flags, tmp);
        } else {
            size_t len = s_utf8_len(p + i, n - i);
            if (len == 0) {
                esc = "\\ufffd"; // as Go's encoding/json writes each invalid byte
            } else if (c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] & 0xFE) == 0xA8) {
                esc = p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029"; // JavaScript line ends
                skip = 2;
            } else {
                i += len - 1; // a valid sequence: copied as it is
                continue;
            }
        }
        fw_json_out_put(b, s + run, i - run);
        fw_json_out_puts(b, esc);
        i += skip;
        run = i + 1;
    }
    fw_json_out_put(b, s + run, i - run);
}

void
fw_json_out_esc(struct fw_json_out *b, const char *s, size_t n, unsigned flags)
{
    s_esc(b, s, n, flags);
}

void
fw_json_out_strn(struct fw_json_out *b, const char *s, size_t n, unsigned flags)
{
    fw_json_out_put(b, "\"", 1);
    s_esc(b, s, n, flags);
    fw_json_out_put(b, "\"", 1);
}

void
fw_json_out_str(struct fw_json_out *b, const char *s, unsigned flags)
{
    fw_json_out_put(b, "\"", 1);
    s_esc(b, s, SIZE_MAX, flags);
    fw_json_out_put(b, "\"", 1);
}
