/*  fw_names.c — Prometheus 3's name validation schemes and name escaping (fw_names.h).
 */
#include "fw_names.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_mem.h"

bool
fw_names_valid(const char *name, size_t n)
{
    return n > 0 && !memchr(name, '\0', n) && fw_utf8_valid(name, n);
}

bool
fw_names_label_valid(const char *name, fw_names_scheme_t scheme)
{
    if (scheme == FW_NAMES_LEGACY)
        return fw_label_name_valid(name);
    return name && fw_names_valid(name, strlen(name));
}

bool
fw_names_metric_valid(const char *name, fw_names_scheme_t scheme)
{
    if (scheme == FW_NAMES_LEGACY)
        return fw_metric_name_valid(name);
    return name && fw_names_valid(name, strlen(name));
}

int
fw_names_scheme_parse(const char *s, fw_names_scheme_t *out)
{
    if (!s || !*s || strcmp(s, "utf8") == 0)
        *out = FW_NAMES_UTF8;
    else if (strcmp(s, "legacy") == 0)
        *out = FW_NAMES_LEGACY;
    else
        return -1;
    return 0;
}

static const char *const s_escapings[] = {"allow-utf-8", "underscores", "dots", "values"};

int
fw_names_escaping_parse(const char *s, fw_names_escaping_t *out)
{
    for (size_t k = 0; k < sizeof(s_escapings) / sizeof(*s_escapings); k++) {
        if (s && strcmp(s, s_escapings[k]) == 0) {
            *out = (fw_names_escaping_t)k;
            return 0;
        }
    }
    return -1;
}

const char *
fw_names_escaping_str(fw_names_escaping_t e)
{
    return s_escapings[e];
}

// The code point at s (n bytes left) and its length; an invalid sequence is S_BAD_RUNE of
// one byte (Go's range over a string gives U+FFFD; EscapeName writes it as _FFFD_).
#define S_BAD_RUNE 0xffffffffu

static uint32_t
s_rune(const unsigned char *s, size_t n, size_t *len)
{
    size_t want = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : 4;
    if ((s[0] & 0xf8) == 0xf8 || (s[0] & 0xc0) == 0x80 || want > n ||
        !fw_utf8_valid((const char *)s, want)) {
        *len = 1;
        return S_BAD_RUNE;
    }
    *len = want;
    if (want == 1)
        return s[0];
    uint32_t cp = s[0] & (0x7f >> want);
    for (size_t k = 1; k < want; k++)
        cp = (cp << 6) | (s[k] & 0x3f);
    return cp;
}

// Go's isValidLegacyRune: a character a legacy metric name may hold at byte offset i.
static bool
s_legacy_rune(uint32_t r, size_t i)
{
    return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || r == '_' || r == ':' ||
           (r >= '0' && r <= '9' && i > 0);
}

static void
s_put(char **b, size_t *len, size_t *cap, const char *s, size_t n)
{
    fw_mem_grow((void **)b, cap, *len + n + 1, 1);
    memcpy(*b + *len, s, n);
    *len += n;
    (*b)[*len] = '\0';
}

char *
fw_names_escape(const char *name, fw_names_escaping_t e)
{
    if (e == FW_NAMES_ESC_NONE || (e != FW_NAMES_ESC_DOTS && fw_metric_name_valid(name)))
        return fw_strdup(name);
    char *b = NULL;
    size_t len = 0, cap = 0, n = strlen(name);
    if (e == FW_NAMES_ESC_VALUES)
        s_put(&b, &len, &cap, "U__", 3);
    s_put(&b, &len, &cap, "", 0);
    for (size_t i = 0; i < n;) {
        size_t rl;
        uint32_t r = s_rune((const unsigned char *)name + i, n - i, &rl);
        char hex[16];
        if (e == FW_NAMES_ESC_UNDERSCORES) {
            s_legacy_rune(r, i) ? s_put(&b, &len, &cap, name + i, rl)
                                : s_put(&b, &len, &cap, "_", 1);
        } else if (e == FW_NAMES_ESC_DOTS) {
            if (r == '_')
                s_put(&b, &len, &cap, "__", 2);
            else if (r == '.')
                s_put(&b, &len, &cap, "_dot_", 5);
            else if (s_legacy_rune(r, i))
                s_put(&b, &len, &cap, name + i, rl);
            else
                s_put(&b, &len, &cap, "__", 2);
        } else if (r == '_') {
            s_put(&b, &len, &cap, "__", 2);
        } else if (s_legacy_rune(r, i)) {
            s_put(&b, &len, &cap, name + i, rl);
        } else if (r == S_BAD_RUNE) {
            s_put(&b, &len, &cap, "_FFFD_", 6);
        } else {
            int m = snprintf(hex, sizeof(hex), "_%x_", (unsigned)r);
            s_put(&b, &len, &cap, hex, (size_t)m);
        }
        i += rl;
    }
    return b;
}

// One code point as UTF-8 into out (4 bytes of room); its length.
char *
fw_names_unescape(const char *name)
{
    if (strncmp(name, "U__", 3) != 0)
        return fw_strdup(name);
    const char *s = name + 3;
    size_t n = strlen(s);
    char *b = NULL;
    size_t len = 0, cap = 0;
    s_put(&b, &len, &cap, "", 0);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '_') {
            s_put(&b, &len, &cap, s + i, 1);
            continue;
        }
        if (++i >= n)
            goto asis;
        if (s[i] == '_') {
            s_put(&b, &len, &cap, "_", 1);
            continue;
        }
        uint32_t cp = 0;
        size_t digits = 0;
        for (; i < n && s[i] != '_'; i++, digits++) {
            char c = s[i] | 0x20;
            if (digits >= 6 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
                goto asis;
            cp = cp * 16 + (uint32_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        // a closing '_' is needed; a NUL is no name character here (C strings)
        if (i >= n || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            goto asis;
        char enc[4];
        s_put(&b, &len, &cap, enc, fw_utf8_put(cp, enc));
    }
    return b;
asis:
    free(b);
    return fw_strdup(name);
}
