/*  fw_labels.c — sorted label sets.

    Sets are small (typically under 15 pairs), so a sorted array with binary search and
    memmove on insert beats any tree or hash, and keeps comparison and hashing a linear walk.
*/
#include "fw_labels.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_mem.h"
#include "fw_names.h"

void
fw_labels_clear(struct fw_labels *l)
{
    for (size_t i = 0; i < l->len; i++) {
        free(l->items[i].name);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->len = l->cap = 0;
}

ssize_t
fw_labels_index(const struct fw_labels *l, const char *name)
{
    size_t lo = 0, hi = l->len;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->items[mid].name, name);
        if (c == 0)
            return (ssize_t)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(ssize_t)lo - 1;
}

void
fw_labels_setn(struct fw_labels *l, const char *name, const char *value, size_t n)
{
    if (n == 0) {
        fw_labels_del(l, name);
        return;
    }
    ssize_t at = fw_labels_index(l, name);
    if (at >= 0) {
        free(l->items[at].value);
        l->items[at].value = fw_strndup(value, n);
        return;
    }
    size_t pos = (size_t)(-at - 1);
    fw_mem_grow((void **)&l->items, &l->cap, l->len + 1, sizeof(*l->items));
    memmove(&l->items[pos + 1], &l->items[pos], (l->len - pos) * sizeof(*l->items));
    l->items[pos].name = fw_strdup(name);
    l->items[pos].value = fw_strndup(value, n);
    l->len++;
}

void
fw_labels_set(struct fw_labels *l, const char *name, const char *value)
{
    fw_labels_setn(l, name, value, value ? strlen(value) : 0);
}

void
fw_labels_del(struct fw_labels *l, const char *name)
{
    ssize_t at = fw_labels_index(l, name);
    if (at < 0)
        return;
    free(l->items[at].name);
    free(l->items[at].value);
    memmove(&l->items[at], &l->items[at + 1], (l->len - (size_t)at - 1) * sizeof(*l->items));
    l->len--;
}

const char *
fw_labels_get(const struct fw_labels *l, const char *name)
{
    ssize_t at = fw_labels_index(l, name);
    return at >= 0 ? l->items[at].value : NULL;
}

void
fw_labels_copy(struct fw_labels *dst, const struct fw_labels *src)
{
    if (dst == src)
        return;
    fw_labels_clear(dst);
    if (src->len == 0)
        return;
    dst->items = fw_calloc(src->len, sizeof(*dst->items));
    dst->cap = dst->len = src->len;
    for (size_t i = 0; i < src->len; i++) {
        dst->items[i].name = fw_strdup(src->items[i].name);
        dst->items[i].value = fw_strdup(src->items[i].value);
    }
}

void
fw_labels_add_absent(struct fw_labels *dst, const struct fw_labels *src)
{
    for (size_t i = 0; src && i < src->len; i++)
        if (!fw_labels_get(dst, src->items[i].name))
            fw_labels_set(dst, src->items[i].name, src->items[i].value);
}

int
fw_labels_cmp(const struct fw_labels *a, const struct fw_labels *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        int c = strcmp(a->items[i].name, b->items[i].name);
        if (c)
            return c;
        c = strcmp(a->items[i].value, b->items[i].value);
        if (c)
            return c;
    }
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

uint64_t
fw_labels_fingerprint_pair(uint64_t h, const char *name, const char *value)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    h = (h ^ 0xff) * 1099511628211ULL;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (h ^ 0xff) * 1099511628211ULL;
}

uint64_t
fw_labels_fingerprint(const struct fw_labels *l)
{
    // Prometheus's model.LabelSet.Fingerprint: FNV-1a 64 (offset basis 14695981039346656037)
    // over name 0xff value 0xff in name order. Not a hash choice but a format users see:
    // Alertmanager's API shows it, and amtool and Grafana match alerts by it.
    uint64_t h = FW_LABELS_FINGERPRINT_INIT;
    for (size_t i = 0; i < l->len; i++)
        h = fw_labels_fingerprint_pair(h, l->items[i].name, l->items[i].value);
    return h;
}

uint64_t
fw_labels_hash(const struct fw_labels *l)
{
    // The pairs as name 0xff value 0xff ... (0xff cannot occur in UTF-8, so ("ab","c") and
    // ("a","bc") differ), hashed in stack-sized pieces chained through the seed.
    unsigned char buf[512];
    size_t n = 0;
    uint64_t h = 0;
    for (size_t i = 0; i < l->len; i++) {
        const char *parts[2] = {l->items[i].name, l->items[i].value};
        for (int j = 0; j < 2; j++) {
            for (const char *p = parts[j];; p++) {
                if (n == sizeof buf) {
                    h = fw_hash64_seed(buf, n, h);
                    n = 0;
                }
                if (!*p) {
                    buf[n++] = 0xff;
                    break;
                }
                buf[n++] = (unsigned char)*p;
            }
        }
    }
    return fw_hash64_seed(buf, n, h);
}

struct s_buf {
    char *p;
    size_t len, cap;
};

static void
s_buf_put(struct s_buf *b, const char *s, size_t n)
{
    fw_mem_grow((void **)&b->p, &b->cap, b->len + n + 1, 1);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

json_t *
fw_labels_json(const struct fw_labels *l)
{
    json_t *o = json_object();
    for (size_t i = 0; i < l->len; i++) // json_object_set_new steals the new string
        json_object_set_new(o, l->items[i].name, json_string(l->items[i].value));
    return o;
}

// s in double quotes, '"', '\\' and newline escaped.
static void
s_buf_quoted(struct s_buf *b, const char *s)
{
    s_buf_put(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\')
            s_buf_put(b, "\\", 1);
        if (*p == '\n')
            s_buf_put(b, "\\n", 2);
        else
            s_buf_put(b, p, 1);
    }
    s_buf_put(b, "\"", 1);
}

char *
fw_labels_format(const struct fw_labels *l)
{
    struct s_buf b = {NULL, 0, 0};
    s_buf_put(&b, "", 0);
    const char *name = fw_labels_get(l, "__name__");
    bool name_out = name && fw_metric_name_valid(name); // else quoted inside the braces
    if (name_out)
        s_buf_put(&b, name, strlen(name));
    bool first = true;
    s_buf_put(&b, "{", 1);
    if (name && !name_out) {
        s_buf_quoted(&b, name);
        first = false;
    }
    for (size_t i = 0; i < l->len; i++) {
        if (strcmp(l->items[i].name, "__name__") == 0)
            continue;
        if (!first)
            s_buf_put(&b, ", ", 2);
        first = false;
        if (fw_label_name_valid(l->items[i].name))
            s_buf_put(&b, l->items[i].name, strlen(l->items[i].name));
        else
            s_buf_quoted(&b, l->items[i].name);
        s_buf_put(&b, "=", 1);
        s_buf_quoted(&b, l->items[i].value);
    }
    s_buf_put(&b, "}", 1);
    if (name_out && first) { // just a metric name: no braces, as Prometheus prints it
        b.len -= 2;
        b.p[b.len] = '\0';
    }
    return b.p;
}

bool
fw_label_name_valid(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(p != name && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

bool
fw_metric_name_valid(const char *name)
{
    if (!name || !*name)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(p != name && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

size_t
fw_utf8_put(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

bool
fw_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned char c = *p;
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        // reject overlong forms, surrogates and values past U+10FFFF
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

int
fw_labels_validate(const struct fw_labels *l, fw_err_t *err)
{
    for (size_t i = 0; i < l->len; i++) {
        const struct fw_label *lb = &l->items[i];
        bool is_name = strcmp(lb->name, "__name__") == 0;
        if (!fw_names_valid(lb->name, strlen(lb->name))) {
            fw_err_set(err, "invalid label name \"%s\" (not valid UTF-8, or empty)", lb->name);
            return -1;
        }
        if (is_name && !fw_names_valid(lb->value, strlen(lb->value))) {
            fw_err_set(err, "invalid metric name \"%s\" (not valid UTF-8, or empty)", lb->value);
            return -1;
        }
        if (!fw_utf8_valid(lb->value, strlen(lb->value))) {
            fw_err_set(err, "invalid UTF-8 in value of label \"%s\"", lb->name);
            return -1;
        }
    }
    return 0;
}
