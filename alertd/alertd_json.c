/*  alertd_json.c — postable alerts read without jansson trees, and alerts' stored form.

    The reader is a small recursive descent over the plain form of alertd_json.h; it copies
    strings only where an escape must be decoded (into a scratch buffer), checks UTF-8 as
    jansson does, and gives up (-1) at the first thing outside the plain form.
*/
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "alertd_json.h"
#include "fw_labels.h"
#include "fw_mem.h"

// Longest time text taken (RFC 3339 with nanoseconds and an offset is 35 bytes).
#define S_TIME_MAX 64

struct s_in {
    const char *p, *end;
    char *scratch; // owned: decoded strings with escapes
    size_t scratch_cap;
    struct alertd_json_views *out; // borrowed: where the alerts read go
};

// A string of the input: borrowed from the text or from scratch, valid until the next read
// into scratch. s is NUL-terminated only when from scratch, so use len.
struct s_str {
    const char *s;
    size_t len;
};

static void
s_ws(struct s_in *in)
{
    while (in->p < in->end && (*in->p == ' ' || *in->p == '\n' || *in->p == '\r' || *in->p == '\t'))
        in->p++;
}

// Skip whitespace, then take c. False when the next character is not c.
static bool
s_take(struct s_in *in, char c)
{
    if (in->p < in->end && *in->p == c) { // compact JSON (Prometheus, alertload): no space
        in->p++;
        return true;
    }
    s_ws(in);
    if (in->p >= in->end || *in->p != c)
        return false;
    in->p++;
    return true;
}

static int
s_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

// Decode the escapes of the raw string body [p, q) into scratch. 0, or -1 where jansson
// refuses (a bad escape, a lone surrogate, \u0000).
static int
s_unescape(struct s_in *in, const char *p, const char *q, struct s_str *out)
{
    fw_mem_grow((void **)&in->scratch, &in->scratch_cap, (size_t)(q - p) + 1, 1);
    char *o = in->scratch;
    while (p < q) {
        if (*p != '\\') {
            *o++ = *p++;
            continue;
        }
        if (q - p < 2)
            return -1;
        char e = p[1];
        p += 2;
        switch (e) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '/': *o++ = '/'; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (q - p < 4 || s_hex4(p, &cp) < 0)
                return -1;
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (q - p < 6 || p[0] != '\\' || p[1] != 'u' || s_hex4(p + 2, &lo) < 0 ||
                    lo < 0xDC00 || lo > 0xDFFF)
                    return -1;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if ((cp >= 0xDC00 && cp <= 0xDFFF) || cp == 0) {
                return -1;
            }
            o += fw_utf8_put(cp, o); // 6 or 12 input bytes make at most 4
            break;
        }
        default: return -1;
        }
    }
    *o = '\0';
    out->s = in->scratch;
    out->len = (size_t)(o - in->scratch);
    return 0;
}

// The bytes a string's scan stops at (1): control characters, '"', '\\' and every byte over
// 0x7f, so the common run of plain ASCII costs one load and one test a byte, and the UTF-8
// check runs only on a string that has a byte over 0x7f.
// clang-format off
#define S_ROW(a) a, a, a, a, a, a, a, a, a, a, a, a, a, a, a, a
static const unsigned char s_stop[256] = {
    S_ROW(1), S_ROW(1),                             // 0x00-0x1f
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 0x20-0x2f: '"'
    S_ROW(0), S_ROW(0),                             // 0x30-0x4f
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, // 0x50-0x5f: '\\'
    S_ROW(0), S_ROW(0),                             // 0x60-0x7f
    S_ROW(1), S_ROW(1), S_ROW(1), S_ROW(1),         // 0x80-0xbf
    S_ROW(1), S_ROW(1), S_ROW(1), S_ROW(1)};        // 0xc0-0xff
#undef S_ROW
// clang-format on

// The first byte at or after p (before end) that s_stop holds, or end. Eight bytes at a time
// while eight remain: a word's bytes under 0x20, equal to '"' or '\\', or over 0x7f set
// their high bit in m (borrows can also mark bytes above a marked one, never below it, so
// the lowest mark is exact), then byte by byte.
static const char *
s_plain(const char *p, const char *end)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    while (end - p >= 8) {
        uint64_t x, q, b;
        memcpy(&x, p, sizeof x);
        q = x ^ (ones * '"');
        b = x ^ (ones * '\\');
        uint64_t m = (((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) & high;
        if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + __builtin_ctzll(m) / 8; // the lowest address is the lowest byte
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && !s_stop[(unsigned char)*p])
        p++;
    return p;
}

// A string token. 0, or -1 (not a string, or one jansson refuses).
static int
s_string(struct s_in *in, struct s_str *out)
{
    if (!s_take(in, '"'))
        return -1;
    const char *p = in->p, *q = p;
    bool escaped = false, ascii = true;
    for (;;) {
        q = s_plain(q, in->end);
        if (q >= in->end || *q == '"')
            break;
        unsigned char c = (unsigned char)*q;
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            escaped = true;
            if (++q == in->end)
                return -1;
            c = (unsigned char)*q; // taken whatever it is; s_unescape judges it
        }
        ascii = ascii && c < 0x80;
        q++;
    }
    if (q >= in->end || (!ascii && !fw_utf8_valid(p, (size_t)(q - p))))
        return -1;
    in->p = q + 1;
    if (!escaped) {
        out->s = p;
        out->len = (size_t)(q - p);
        return 0;
    }
    return s_unescape(in, p, q, out);
}

static bool
s_is(const struct s_str *s, const char *lit)
{
    return s->len == strlen(lit) && memcmp(s->s, lit, s->len) == 0;
}

// Copy s into the views' arena, NUL-terminated; its offset.
static size_t
s_keep(struct alertd_json_views *vs, const struct s_str *s)
{
    fw_mem_grow((void **)&vs->arena, &vs->arena_cap, vs->arena_len + s->len + 1, 1);
    size_t off = vs->arena_len;
    memcpy(vs->arena + off, s->s, s->len);
    vs->arena[off + s->len] = '\0';
    vs->arena_len += s->len + 1;
    return off;
}

static const char *
s_at(const struct alertd_json_views *vs, size_t off)
{
    return vs->arena + off;
}

// An object of strings into pairs from *first on (*count of them): labels (an empty value
// is no label, as fw_labels_set has it; duplicates are found once sorted) or annotations
// (in order, every value, no duplicate name). -1 on an invalid label name or anything but
// strings.
static int
s_pairs(struct s_in *in, bool labels, size_t *first, size_t *count)
{
    struct alertd_json_views *vs = in->out;
    *first = vs->pairs_len;
    *count = 0;
    if (!s_take(in, '{'))
        return -1;
    if (s_take(in, '}'))
        return 0;
    do {
        struct s_str k, v;
        // A valid name (fw_names_label_valid, FW_NAMES_UTF8) is non-empty UTF-8 without NUL:
        // s_string gives valid UTF-8 only (checked raw; escapes decode to scalar values, never
        // \u0000), so what is left to check is the length and a raw NUL.
        if (s_string(in, &k) < 0 || k.len == 0 || memchr(k.s, '\0', k.len))
            return -1;
        size_t name = s_keep(vs, &k); // before the value reuses scratch
        if (!s_take(in, ':') || s_string(in, &v) < 0)
            return -1;
        if (labels && v.len == 0) {
            vs->arena_len = name; // no label
            continue;
        }
        for (size_t i = *first; !labels && i < vs->pairs_len; i++)
            if (strcmp(s_at(vs, vs->pairs[i].name), s_at(vs, name)) == 0)
                return -1;
        fw_mem_grow((void **)&vs->pairs, &vs->pairs_cap, vs->pairs_len + 1, sizeof *vs->pairs);
        vs->pairs[vs->pairs_len++] = (struct alertd_json_pair){name, k.len, s_keep(vs, &v), v.len};
    } while (s_take(in, ','));
    *count = vs->pairs_len - *first;
    return s_take(in, '}') ? 0 : -1;
}

// Sort the labels of v by name (insertion: a handful); -1 on a duplicate name.
static int
s_sort_labels(struct alertd_json_views *vs, const struct alertd_json_view *v)
{
    struct alertd_json_pair *p = vs->pairs + v->labels;
    for (size_t i = 1; i < v->labels_len; i++) {
        struct alertd_json_pair x = p[i];
        size_t j = i;
        while (j > 0 && strcmp(s_at(vs, p[j - 1].name), s_at(vs, x.name)) > 0) {
            p[j] = p[j - 1];
            j--;
        }
        p[j] = x;
    }
    for (size_t i = 1; i < v->labels_len; i++)
        if (strcmp(s_at(vs, p[i - 1].name), s_at(vs, p[i].name)) == 0)
            return -1;
    return 0;
}

static int
s_time(struct s_in *in, const char *key, int64_t *out)
{
    struct s_str v;
    char text[S_TIME_MAX];
    if (s_string(in, &v) < 0 || v.len >= sizeof text)
        return -1;
    memcpy(text, v.s, v.len);
    text[v.len] = '\0';
    return alertd_alert_time(key, text, out, NULL);
}

// One postable alert into v (zeroed). -1 when not plain or not valid.
static int
s_alert(struct s_in *in, int64_t now, int64_t resolve_timeout_ms, struct alertd_json_view *v)
{
    bool seen[5] = {false};
    static const char *const keys[] = {"labels", "annotations", "startsAt", "endsAt",
                                       "generatorURL"};
    struct alertd_json_views *vs = in->out;
    v->generator_url = SIZE_MAX;
    if (!s_take(in, '{'))
        return -1;
    if (!s_take(in, '}')) {
        do {
            struct s_str k;
            if (s_string(in, &k) < 0 || !s_take(in, ':'))
                return -1;
            size_t i = 0;
            while (i < 5 && !s_is(&k, keys[i]))
                i++;
            if (i == 5 || seen[i])
                return -1;
            seen[i] = true;
            int rc;
            struct s_str u;
            switch (i) {
            case 0: rc = s_pairs(in, true, &v->labels, &v->labels_len); break;
            case 1: rc = s_pairs(in, false, &v->annotations, &v->annotations_len); break;
            case 2: rc = s_time(in, keys[i], &v->starts_at); break;
            case 3: rc = s_time(in, keys[i], &v->ends_at); break;
            default:
                rc = s_string(in, &u);
                if (rc == 0 && !memchr(u.s, '\0', u.len)) {
                    v->generator_url = s_keep(vs, &u);
                    v->generator_url_len = u.len;
                } else {
                    rc = -1;
                }
            }
            if (rc < 0)
                return -1;
        } while (s_take(in, ','));
        if (!s_take(in, '}'))
            return -1;
    }
    if (v->labels_len == 0 || s_sort_labels(vs, v) < 0 ||
        alertd_alert_times(&v->starts_at, &v->ends_at, &v->timeout, now, resolve_timeout_ms, NULL) <
            0)
        return -1;
    v->updated_at = now;
    v->fp = FW_LABELS_FINGERPRINT_INIT;
    for (size_t i = 0; i < v->labels_len; i++) {
        const struct alertd_json_pair *p = &vs->pairs[v->labels + i];
        v->fp = fw_labels_fingerprint_pair(v->fp, s_at(vs, p->name), s_at(vs, p->value));
    }
    return 0;
}

static int
s_alerts(struct s_in *in, int64_t now, int64_t resolve_timeout_ms)
{
    struct alertd_json_views *vs = in->out;
    if (!s_take(in, '['))
        return -1;
    if (s_take(in, ']'))
        return 0;
    do {
        fw_mem_grow((void **)&vs->items, &vs->cap, vs->len + 1, sizeof *vs->items);
        struct alertd_json_view *v = &vs->items[vs->len];
        memset(v, 0, sizeof *v);
        if (s_alert(in, now, resolve_timeout_ms, v) < 0)
            return -1;
        vs->len++;
    } while (s_take(in, ','));
    return s_take(in, ']') ? 0 : -1;
}

// {"source": "...", "alerts": [...]} in either order, both once, nothing else.
static int
s_message(struct s_in *in, int64_t now, int64_t resolve_timeout_ms)
{
    bool source = false, alerts = false;
    if (!s_take(in, '{'))
        return -1;
    do {
        struct s_str k, v;
        if (s_string(in, &k) < 0 || !s_take(in, ':'))
            return -1;
        if (s_is(&k, "source") && !source) {
            source = true;
            if (s_string(in, &v) < 0)
                return -1;
        } else if (s_is(&k, "alerts") && !alerts) {
            alerts = true;
            if (s_alerts(in, now, resolve_timeout_ms) < 0)
                return -1;
        } else {
            return -1;
        }
    } while (s_take(in, ','));
    return s_take(in, '}') && source && alerts ? 0 : -1;
}

ssize_t
alertd_json_views_parse(const char *text, size_t len, bool message, int64_t now,
                        int64_t resolve_timeout_ms, struct alertd_json_views *out)
{
    struct s_in in = {text, text + len, NULL, 0, out};
    size_t before = out->len, pairs = out->pairs_len, arena = out->arena_len;
    int rc =
        message ? s_message(&in, now, resolve_timeout_ms) : s_alerts(&in, now, resolve_timeout_ms);
    s_ws(&in);
    free(in.scratch);
    if (rc < 0 || in.p != in.end) {
        out->len = before;
        out->pairs_len = pairs;
        out->arena_len = arena;
        return -1;
    }
    return (ssize_t)(out->len - before);
}

void
alertd_json_views_share_annotations(struct alertd_json_views *vs)
{
    if (!vs->annotations)
        vs->annotations = fw_calloc(ALERTD_JSON_ANNOTATIONS_CACHE, sizeof *vs->annotations);
}

void
alertd_json_views_reset(struct alertd_json_views *vs)
{
    vs->len = vs->pairs_len = vs->arena_len = 0;
}

void
alertd_json_views_free(struct alertd_json_views *vs)
{
    free(vs->items);
    free(vs->pairs);
    free(vs->arena);
    for (size_t i = 0; vs->annotations && i < ALERTD_JSON_ANNOTATIONS_CACHE; i++)
        json_decref(vs->annotations[i].obj);
    free(vs->annotations);
    memset(vs, 0, sizeof *vs);
}

// The annotations of v as an object: the cached one when vs built the same pairs in the same
// order before (a new reference), else a new one, then cached. A new alert's annotations
// were an object, a hashtable and three allocations a pair (8 for the bench's two).
static json_t *
s_annotations(const struct alertd_json_views *vs, const struct alertd_json_view *v)
{
    uint64_t h = 14695981039346656037ull; // FNV-1a over name NUL value NUL ...
    for (size_t i = 0; i < v->annotations_len; i++) {
        const struct alertd_json_pair *p = &vs->pairs[v->annotations + i];
        for (size_t k = 0; k <= p->name_len; k++)
            h = (h ^ (unsigned char)s_at(vs, p->name)[k]) * 1099511628211ull;
        for (size_t k = 0; k < p->value_len; k++)
            h = (h ^ (unsigned char)s_at(vs, p->value)[k]) * 1099511628211ull;
        h = (h ^ 0xff) * 1099511628211ull; // the end of a value
    }
    struct alertd_json_annotations *slot =
        vs->annotations ? &vs->annotations[h % ALERTD_JSON_ANNOTATIONS_CACHE] : NULL;
    if (slot && slot->obj && slot->hash == h && json_object_size(slot->obj) == v->annotations_len) {
        const char *k;
        json_t *val;
        size_t i = 0;
        bool same = true;
        json_object_foreach(slot->obj, k, val)
        {
            const struct alertd_json_pair *p = &vs->pairs[v->annotations + i++];
            same = strcmp(k, s_at(vs, p->name)) == 0 && json_string_length(val) == p->value_len &&
                   memcmp(json_string_value(val), s_at(vs, p->value), p->value_len) == 0;
            if (!same)
                break;
        }
        if (same)
            return json_incref(slot->obj);
    }
    json_t *o = json_object();
    for (size_t i = 0; i < v->annotations_len; i++) {
        const struct alertd_json_pair *p = &vs->pairs[v->annotations + i];
        json_object_set_new_nocheck(o, s_at(vs, p->name),
                                    json_stringn_nocheck(s_at(vs, p->value), p->value_len));
    }
    if (slot) { // the cache is vs's own memory, not the views it describes
        json_decref(slot->obj);
        slot->obj = json_incref(o);
        slot->hash = h;
    }
    return o;
}

void
alertd_json_view_build(const struct alertd_json_views *vs, const struct alertd_json_view *v,
                       struct alertd_alert *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < v->labels_len; i++) {
        const struct alertd_json_pair *p = &vs->pairs[v->labels + i];
        fw_labels_setn(&out->labels, s_at(vs, p->name), s_at(vs, p->value), p->value_len);
    }
    out->annotations = s_annotations(vs, v);
    if (v->generator_url != SIZE_MAX)
        out->generator_url = fw_strndup(s_at(vs, v->generator_url), v->generator_url_len);
    out->starts_at = v->starts_at;
    out->ends_at = v->ends_at;
    out->updated_at = v->updated_at;
    out->timeout = v->timeout;
    out->fp = v->fp;
}

bool
alertd_json_view_times_only(const struct alertd_json_views *vs, const struct alertd_json_view *v,
                            const struct alertd_alert *old, int64_t now, int64_t *ends_at)
{
    int64_t starts = v->starts_at, ends = v->ends_at;
    alertd_store_merge(old, now, v->timeout, &starts, &ends);
    if (starts != old->starts_at || v->timeout != old->timeout ||
        old->labels.len != v->labels_len ||
        json_object_size(old->annotations) != v->annotations_len ||
        (v->generator_url == SIZE_MAX) != (old->generator_url == NULL))
        return false;
    // The labels are not compared: old was found by v's fingerprint, and an alert of the same
    // fingerprint is the same alert, whose labels Alertmanager keeps (types.Alert.Merge: "the
    // labels are assumed to be equal"). Comparing them was a third of this function's time,
    // each stored label a cache miss.
    for (size_t i = 0; i < v->annotations_len; i++) {
        const struct alertd_json_pair *p = &vs->pairs[v->annotations + i];
        const json_t *s = json_object_get(old->annotations, s_at(vs, p->name));
        if (!json_is_string(s) || json_string_length(s) != p->value_len ||
            memcmp(json_string_value(s), s_at(vs, p->value), p->value_len) != 0)
            return false;
    }
    if (old->generator_url && strcmp(old->generator_url, s_at(vs, v->generator_url)) != 0)
        return false;
    *ends_at = ends;
    return true;
}

ssize_t
alertd_json_alerts_parse(const char *text, size_t len, bool message, int64_t now,
                         int64_t resolve_timeout_ms, struct alertd_json_alerts *out)
{
    struct alertd_json_views vs = {0};
    ssize_t n = alertd_json_views_parse(text, len, message, now, resolve_timeout_ms, &vs);
    for (ssize_t i = 0; i < n; i++) {
        fw_mem_grow((void **)&out->items, &out->cap, out->len + 1, sizeof *out->items);
        alertd_json_view_build(&vs, &vs.items[i], &out->items[out->len++]);
    }
    alertd_json_views_free(&vs);
    return n;
}

void
alertd_json_alerts_reset(struct alertd_json_alerts *a)
{
    for (size_t i = 0; i < a->len; i++)
        alertd_alert_clear(&a->items[i]);
    a->len = 0;
}

void
alertd_json_alerts_free(struct alertd_json_alerts *a)
{
    alertd_json_alerts_reset(a);
    free(a->items);
    a->items = NULL;
    a->cap = 0;
}

// --- the stored form ---

struct s_out {
    char **buf;
    size_t *cap, len;
};

static void
s_put(struct s_out *o, const char *s, size_t n)
{
    fw_mem_grow((void **)o->buf, o->cap, o->len + n + 1, 1);
    memcpy(*o->buf + o->len, s, n);
    o->len += n;
    (*o->buf)[o->len] = '\0';
}

static void
s_put_str(struct s_out *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    fw_mem_grow((void **)o->buf, o->cap, o->len + strlen(s) * 6 + 3, 1);
    char *p = *o->buf + o->len;
    *p++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *p++ = '\\';
            *p++ = (char)*c;
        } else if (*c < 0x20) {
            memcpy(p, "\\u00", 4);
            p[4] = hex[*c >> 4];
            p[5] = hex[*c & 15];
            p += 6;
        } else {
            *p++ = (char)*c;
        }
    }
    *p++ = '"';
    *p = '\0';
    o->len = (size_t)(p - *o->buf);
}

// ,"key":v. The digits are written here, not by snprintf: its format parsing was half of
// the record's cost (4 % of the loop's samples for new alerts, three times an alert).
static void
s_put_int(struct s_out *o, const char *key, long long v)
{
    char num[24], *p = num + sizeof num;
    // In unsigned arithmetic, so LLONG_MIN's magnitude fits.
    unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    size_t klen = strlen(key), n = (size_t)(num + sizeof num - p);
    fw_mem_grow((void **)o->buf, o->cap, o->len + klen + n + 5, 1);
    char *w = *o->buf + o->len;
    *w++ = ',';
    *w++ = '"';
    memcpy(w, key, klen);
    w += klen;
    *w++ = '"';
    *w++ = ':';
    memcpy(w, p, n);
    w += n;
    *w = '\0';
    o->len = (size_t)(w - *o->buf);
}

size_t
alertd_json_alert_record(const struct alertd_alert *a, char **buf, size_t *cap)
{
    struct s_out o = {buf, cap, 0};
    s_put(&o, "{\"labels\":{", 11);
    for (size_t i = 0; i < a->labels.len; i++) {
        if (i)
            s_put(&o, ",", 1);
        s_put_str(&o, a->labels.items[i].name);
        s_put(&o, ":", 1);
        s_put_str(&o, a->labels.items[i].value);
    }
    s_put(&o, "},\"annotations\":{", 17);
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach(a->annotations, k, v)
    {
        if (!first)
            s_put(&o, ",", 1);
        first = false;
        s_put_str(&o, k);
        s_put(&o, ":", 1);
        s_put_str(&o, json_string_value(v) ? json_string_value(v) : "");
    }
    s_put(&o, "}", 1);
    s_put_int(&o, "startsAt", (long long)a->starts_at);
    s_put_int(&o, "endsAt", (long long)a->ends_at);
    s_put_int(&o, "updatedAt", (long long)a->updated_at);
    s_put(&o, a->timeout ? ",\"timeout\":true" : ",\"timeout\":false", a->timeout ? 15 : 16);
    if (a->generator_url) {
        s_put(&o, ",\"generatorURL\":", 16);
        s_put_str(&o, a->generator_url);
    }
    s_put(&o, "}", 1);
    return o.len;
}
