/*  fw_msg.c — encode and strictly decode every floorwatch message.

    The type enum, type names, versions and JSON field tables all come from fw_msg.def, so a
    message cannot be added in one place and forgotten in another. The SAMPLES body is
    read with bounds checks on every field (s_reader); any shortfall, trailing byte or
    invalid label rejects the whole message, because a half-applied batch would be worse
    than a dropped one.

    Decoding a SAMPLES body takes two passes over it. The first validates everything and
    counts the series, labels, samples and string bytes; the second fills one block (the
    batch's arena) with the series, their label views, samples and NUL-terminated strings.
    A batch of any size thus costs the message, the batch and one arena: three
    allocations, where a label set per series once cost about 28 (5 labels).
*/
#include "fw_msg.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_secret.h"

// --- schema tables from fw_msg.def ------------------------------------------------------

typedef enum {
    FW_JSON_STRING,
    FW_JSON_NUMBER,
    FW_JSON_BOOL,
    FW_JSON_OBJECT,
    FW_JSON_ARRAY,
    FW_JSON_LABELS,
    FW_JSON_ALERTS,
} s_json_type_t;

typedef enum { FW_BODY_BINARY, FW_BODY_JSON } s_body_t;

struct s_field {
    fw_msg_type_t msg;
    const char *key;
    s_json_type_t type;
    bool required;
};

struct s_type {
    const char *name;
    int version;
    s_body_t body;
};

static const struct s_type s_types[] = {
#define FW_MSG(name, ver, from, to, pattern, body, doc) {#name, ver, body},
#define FW_FIELD(msg, key, type, req)
#include "fw_msg.def"
#undef FW_MSG
#undef FW_FIELD
};

static const struct s_field s_fields[] = {
#define FW_MSG(name, ver, from, to, pattern, body, doc)
#define FW_FIELD(msg, key, type, req) {FW_MSG_##msg, #key, type, req},
#include "fw_msg.def"
#undef FW_MSG
#undef FW_FIELD
};
#define S_NFIELDS (sizeof(s_fields) / sizeof(s_fields[0]))

struct s_secret {
    fw_msg_type_t msg;
    struct fw_secret_path path;
};

static const struct s_secret s_secrets[] = {
#define FW_MSG(name, ver, from, to, pattern, body, doc)
#define FW_FIELD(msg, key, type, req)
#define FW_SECRET(msg, path) {FW_MSG_##msg, {path, FW_SECRET_VALUE}},
#include "fw_msg.def"
#undef FW_MSG
#undef FW_FIELD
#undef FW_SECRET
    {FW_MSG_COUNT, {NULL, FW_SECRET_VALUE}},
};

const char *
fw_msg_type_str(fw_msg_type_t type)
{
    return (unsigned)type < FW_MSG_COUNT ? s_types[type].name : "UNKNOWN";
}

int
fw_msg_type_parse(const char *token, fw_msg_type_t *out)
{
    for (int i = 0; i < FW_MSG_COUNT; i++)
        if (strcmp(token, s_types[i].name) == 0) {
            *out = (fw_msg_type_t)i;
            return 0;
        }
    return -1;
}

int
fw_msg_type_version(fw_msg_type_t type)
{
    return (unsigned)type < FW_MSG_COUNT ? s_types[type].version : 0;
}

double
fw_stale_nan(void)
{
    uint64_t bits = FW_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

bool
fw_is_stale_nan(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == FW_STALE_NAN_BITS;
}

// --- batches ------------------------------------------------------------------------------

#define S_BLOCK_SIZE (64 * 1024)

struct s_block {
    struct s_block *next;
    size_t used, cap;
    _Alignas(8) char data[];
};

struct fw_batch *
fw_batch_new(void)
{
    return fw_calloc(1, sizeof(struct fw_batch));
}

void
fw_batch_destroy(struct fw_batch **self_p)
{
    if (!self_p || !*self_p)
        return;
    struct fw_batch *self = *self_p;
    if (self->arena) {
        free(self->arena); // holds the series, their labels and samples
    } else {
        for (size_t i = 0; i < self->len; i++)
            if (!self->series[i].samples_in_block)
                free(self->series[i].samples);
        free(self->series);
    }
    for (struct s_block *b = self->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(self);
    *self_p = NULL;
}

// Room for n bytes (8-aligned) in the batch's blocks: a scrape's labels take a few blocks
// instead of one allocation per label name and value.
static void *
s_block_alloc(struct fw_batch *self, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct s_block *b = self->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > S_BLOCK_SIZE ? n : S_BLOCK_SIZE;
        b = fw_malloc(sizeof(*b) + cap);
        b->next = self->blocks;
        b->used = 0;
        b->cap = cap;
        self->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static char *
s_block_str(struct fw_batch *self, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = s_block_alloc(self, n);
    memcpy(p, str, n);
    return p;
}

struct fw_series *
fw_batch_add_series(struct fw_batch *self, const struct fw_labels *labels)
{
    assert(!self->arena && "a decoded batch is read-only");
    fw_mem_grow((void **)&self->series, &self->cap, self->len + 1, sizeof(*self->series));
    struct fw_series *s = &self->series[self->len++];
    memset(s, 0, sizeof(*s));
    if (labels->len > 0) {
        struct fw_label *items = s_block_alloc(self, labels->len * sizeof(*items));
        for (size_t i = 0; i < labels->len; i++) {
            items[i].name = s_block_str(self, labels->items[i].name);
            items[i].value = s_block_str(self, labels->items[i].value);
        }
        s->labels = (struct fw_labels){items, labels->len, labels->len};
    }
    // most series of a scrape or an evaluation get one sample: its slot comes from the blocks
    s->samples = s_block_alloc(self, sizeof(*s->samples));
    s->cap = 1;
    s->samples_in_block = true;
    return s;
}

void
fw_series_add(struct fw_series *s, int64_t t_ms, double v)
{
    if (s->samples_in_block && s->len + 1 > s->cap) {
        struct fw_sample *a = fw_malloc(2 * s->cap * sizeof(*a));
        memcpy(a, s->samples, s->len * sizeof(*a));
        s->samples = a;
        s->cap *= 2;
        s->samples_in_block = false;
    }
    fw_mem_grow((void **)&s->samples, &s->cap, s->len + 1, sizeof(*s->samples));
    s->samples[s->len].t_ms = t_ms;
    s->samples[s->len].v = v;
    s->len++;
}

size_t
fw_batch_samples(const struct fw_batch *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->len; i++)
        n += self->series[i].len;
    return n;
}

// --- messages -----------------------------------------------------------------------------

struct fw_msg *
fw_msg_new_samples(struct fw_batch **batch_p)
{
    struct fw_msg *m = fw_calloc(1, sizeof(*m));
    m->type = FW_MSG_SAMPLES;
    m->version = s_types[FW_MSG_SAMPLES].version;
    m->batch = *batch_p;
    *batch_p = NULL;
    return m;
}

struct fw_msg *
fw_msg_new_json(fw_msg_type_t type, json_t *body)
{
    struct fw_msg *m = fw_calloc(1, sizeof(*m));
    m->type = type;
    m->version = fw_msg_type_version(type);
    m->body = body; // the caller's reference is stolen
    return m;
}

void
fw_msg_destroy(struct fw_msg **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_batch_destroy(&(*self_p)->batch);
    json_decref((*self_p)->body);
    free(*self_p);
    *self_p = NULL;
}

// --- SAMPLES binary body -------------------------------------------------------------------

struct s_writer {
    unsigned char *p;
    size_t len, cap;
};

static void
s_put(struct s_writer *w, const void *src, size_t n)
{
    fw_mem_grow((void **)&w->p, &w->cap, w->len + n, 1);
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void
s_put_u(struct s_writer *w, uint64_t v, size_t bytes)
{
    unsigned char b[8];
    for (size_t i = 0; i < bytes; i++)
        b[i] = (unsigned char)(v >> (8 * i));
    s_put(w, b, bytes);
}

// A sender id as the wire allows it: 1..FW_MSG_SENDER_MAX printable ASCII bytes, no space.
static bool
s_sender_ok(const char *p, size_t n)
{
    if (n == 0 || n > FW_MSG_SENDER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x21 || (unsigned char)p[i] > 0x7e)
            return false;
    return true;
}

static int
s_encode_batch(const struct fw_batch *batch, struct s_writer *w, fw_err_t *err)
{
    size_t sl = strnlen(batch->sender, sizeof(batch->sender));
    if (!s_sender_ok(batch->sender, sl)) {
        fw_err_set(err, "SAMPLES: sender id \"%.64s\" must be 1 to %d printable characters",
                   batch->sender, FW_MSG_SENDER_MAX);
        return -1;
    }
    if (batch->seq == 0 || batch->oldest == 0 || batch->oldest > batch->seq) {
        fw_err_set(err, "SAMPLES: need 1 <= oldest (%llu) <= seq (%llu)",
                   (unsigned long long)batch->oldest, (unsigned long long)batch->seq);
        return -1;
    }
    s_put_u(w, sl, 2);
    s_put(w, batch->sender, sl);
    s_put_u(w, batch->seq, 8);
    s_put_u(w, batch->oldest, 8);
    if (batch->len > UINT32_MAX) {
        fw_err_set(err, "too many series in one batch");
        return -1;
    }
    s_put_u(w, batch->len, 4);
    for (size_t i = 0; i < batch->len; i++) {
        const struct fw_series *s = &batch->series[i];
        if (s->labels.len > UINT16_MAX || s->len > UINT32_MAX) {
            fw_err_set(err, "series %zu too large to encode", i);
            return -1;
        }
        s_put_u(w, s->labels.len, 2);
        for (size_t j = 0; j < s->labels.len; j++) {
            size_t nl = strlen(s->labels.items[j].name);
            size_t vl = strlen(s->labels.items[j].value);
            if (nl > UINT16_MAX || vl > UINT32_MAX) {
                fw_err_set(err, "label %s too long to encode", s->labels.items[j].name);
                return -1;
            }
            s_put_u(w, nl, 2);
            s_put(w, s->labels.items[j].name, nl);
            s_put_u(w, vl, 4);
            s_put(w, s->labels.items[j].value, vl);
        }
        s_put_u(w, s->len, 4);
        for (size_t k = 0; k < s->len; k++) {
            uint64_t bits;
            memcpy(&bits, &s->samples[k].v, sizeof(bits));
            s_put_u(w, (uint64_t)s->samples[k].t_ms, 8);
            s_put_u(w, bits, 8);
        }
    }
    return 0;
}

struct s_reader {
    const unsigned char *p;
    size_t left;
    bool short_read;
};

static uint64_t
s_get_u(struct s_reader *r, size_t bytes)
{
    if (r->left < bytes) {
        r->short_read = true;
        r->left = 0;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++)
        v |= (uint64_t)r->p[i] << (8 * i);
    r->p += bytes;
    r->left -= bytes;
    return v;
}

static const char *
s_get_bytes(struct s_reader *r, size_t n)
{
    if (r->left < n) {
        r->short_read = true;
        r->left = 0;
        return NULL;
    }
    const char *p = (const char *)r->p;
    r->p += n;
    r->left -= n;
    return p;
}

// fw_label_name_valid for n bytes that are not NUL-terminated.
static bool
s_name_ok(const char *p, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

// strcmp's order for two names of known lengths.
static int
s_name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

// What the validating pass counts: the arena's contents.
struct s_counts {
    size_t labels, samples, strings;
};

// Where the filling pass puts them (NULL in the validating pass).
struct s_fill {
    struct fw_series *series;
    struct fw_label *labels;
    struct fw_sample *samples;
    char *strings;
};

static char *
s_fill_str(struct s_fill *f, const char *p, size_t n)
{
    char *s = f->strings;
    memcpy(s, p, n);
    s[n] = '\0';
    f->strings += n + 1;
    return s;
}

// One pass over the series of a SAMPLES body (r just past series_count). Without f, check
// everything and count into *c; with f, fill it (the body was checked by the first pass).
// 0, or -1 with err (r->short_read set for a truncation).
static int
s_walk_series(struct s_reader *r, uint64_t nseries, struct s_fill *f, struct s_counts *c,
              fw_err_t *err)
{
    for (uint64_t i = 0; i < nseries && !r->short_read; i++) {
        uint64_t nlabels = s_get_u(r, 2);
        struct fw_series *s = f ? &f->series[i] : NULL;
        if (s) {
            memset(s, 0, sizeof(*s));
            s->labels.items = f->labels;
        }
        const char *prev = NULL; // the previous name, to enforce sorted unique names
        size_t prev_len = 0;
        for (uint64_t j = 0; j < nlabels && !r->short_read; j++) {
            size_t nl = s_get_u(r, 2);
            const char *name = s_get_bytes(r, nl);
            size_t vl = s_get_u(r, 4);
            const char *value = s_get_bytes(r, vl);
            if (r->short_read)
                return -1;
            if (!f) {
                if (!s_name_ok(name, nl) || (prev && s_name_cmp(prev, prev_len, name, nl) >= 0)) {
                    fw_err_set(err,
                               "SAMPLES series %llu: label name \"%.*s\" invalid or out of "
                               "order",
                               (unsigned long long)i, (int)(nl < 64 ? nl : 64), name);
                    return -1;
                }
                if (!fw_utf8_valid(value, vl)) {
                    fw_err_set(err, "SAMPLES series %llu: label %.*s has invalid UTF-8",
                               (unsigned long long)i, (int)(nl < 64 ? nl : 64), name);
                    return -1;
                }
                prev = name;
                prev_len = nl;
            }
            if (vl == 0)
                continue; // an empty label is an absent one
            if (f) {
                struct fw_label *l = f->labels++;
                l->name = s_fill_str(f, name, nl);
                l->value = s_fill_str(f, value, vl);
                s->labels.len++;
            } else {
                c->labels++;
                c->strings += nl + vl + 2;
            }
        }
        uint64_t nsamples = s_get_u(r, 4);
        if (r->short_read || nsamples > r->left / 16) {
            r->short_read = true;
            return -1;
        }
        if (f) {
            s->labels.cap = s->labels.len;
            s->samples = f->samples;
            s->len = s->cap = nsamples;
            for (uint64_t k = 0; k < nsamples; k++) {
                f->samples[k].t_ms = (int64_t)s_get_u(r, 8);
                uint64_t bits = s_get_u(r, 8);
                memcpy(&f->samples[k].v, &bits, sizeof(double));
            }
            f->samples += nsamples;
        } else {
            r->p += nsamples * 16;
            r->left -= nsamples * 16;
            c->samples += nsamples;
        }
    }
    return r->short_read ? -1 : 0;
}

// The header of a SAMPLES v2 body into b (may be NULL: checked only) and *nseries.
static int
s_read_header(struct s_reader *r, struct fw_batch *b, uint64_t *nseries, fw_err_t *err)
{
    size_t sl = s_get_u(r, 2);
    const char *sender = s_get_bytes(r, sl);
    uint64_t seq = s_get_u(r, 8);
    uint64_t oldest = s_get_u(r, 8);
    *nseries = s_get_u(r, 4);
    if (r->short_read)
        return -1;
    if (!s_sender_ok(sender, sl)) {
        fw_err_set(err, "SAMPLES: sender id must be 1 to %d printable characters",
                   FW_MSG_SENDER_MAX);
        return -1;
    }
    if (seq == 0 || oldest == 0 || oldest > seq) {
        fw_err_set(err, "SAMPLES: need 1 <= oldest (%llu) <= seq (%llu)",
                   (unsigned long long)oldest, (unsigned long long)seq);
        return -1;
    }
    if (b) {
        memcpy(b->sender, sender, sl);
        b->sender[sl] = '\0';
        b->seq = seq;
        b->oldest = oldest;
    }
    return 0;
}

static int
s_decode_batch(const unsigned char *body, size_t size, struct fw_batch **out, fw_err_t *err)
{
    struct s_reader r = {body, size, false};
    uint64_t nseries;
    struct s_counts c = {0, 0, 0};
    if (s_read_header(&r, NULL, &nseries, err) < 0) {
        if (r.short_read)
            goto truncated;
        return -1;
    }
    // Each series needs at least 6 bytes, so a huge count in a short body is caught
    // before anything is allocated for it.
    if (nseries > r.left / 6 + 1)
        goto truncated;
    if (s_walk_series(&r, nseries, NULL, &c, err) < 0) {
        if (r.short_read)
            goto truncated;
        return -1;
    }
    if (r.left != 0) {
        fw_err_set(err, "SAMPLES body has %zu trailing bytes", r.left);
        return -1;
    }
    // Every count is bounded by the body's size, so these sums cannot overflow on 64-bit;
    // refuse a body for which they could elsewhere.
    if (size > SIZE_MAX / 16) {
        fw_err_set(err, "SAMPLES body of %zu bytes too large", size);
        return -1;
    }
    size_t off_labels = (size_t)nseries * sizeof(struct fw_series);
    size_t off_samples = off_labels + c.labels * sizeof(struct fw_label);
    size_t off_strings = off_samples + c.samples * sizeof(struct fw_sample);
    struct fw_batch *b = fw_batch_new();
    b->arena = fw_malloc(off_strings + c.strings);
    char *a = b->arena;
    struct s_fill f = {(struct fw_series *)(void *)a, (struct fw_label *)(void *)(a + off_labels),
                       (struct fw_sample *)(void *)(a + off_samples), a + off_strings};
    r = (struct s_reader){body, size, false};
    (void)s_read_header(&r, b, &nseries, err);
    (void)s_walk_series(&r, nseries, &f, &c, err);
    b->series = (struct fw_series *)(void *)a;
    b->len = b->cap = (size_t)nseries;
    *out = b;
    return 0;
truncated:
    fw_err_set(err, "SAMPLES body truncated (%zu bytes)", size);
    return -1;
}

int
fw_msg_samples_set_oldest(zmsg_t *frames, uint64_t oldest)
{
    if (zmsg_size(frames) != 3)
        return -1;
    zframe_t *ft = zmsg_first(frames);
    zframe_t *fv = zmsg_next(frames);
    zframe_t *fb = zmsg_next(frames);
    if (!zframe_streq(ft, "SAMPLES") || !zframe_streq(fv, "2"))
        return -1;
    struct s_reader r = {zframe_data(fb), zframe_size(fb), false};
    size_t sl = s_get_u(&r, 2);
    (void)s_get_bytes(&r, sl);
    uint64_t seq = s_get_u(&r, 8);
    if (r.short_read || r.left < 8 || oldest == 0 || oldest > seq)
        return -1;
    unsigned char *p = zframe_data(fb) + 2 + sl + 8;
    for (size_t i = 0; i < 8; i++)
        p[i] = (unsigned char)(oldest >> (8 * i));
    return 0;
}

// --- JSON bodies --------------------------------------------------------------------------

static const char *
s_json_type_name(s_json_type_t t)
{
    static const char *const names[] = {
        "string", "number", "bool", "object", "array", "object of strings", "array of alerts"};
    return names[t];
}

static bool
s_is_string_map(json_t *v)
{
    if (!json_is_object(v))
        return false;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        if (!json_is_string(x))
            return false;
    }
    return true;
}

static int
s_check_alerts(json_t *alerts, fw_err_t *err)
{
    if (!json_is_array(alerts))
        return -1;
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        if (!json_is_object(a)) {
            fw_err_set(err, "alerts[%zu] is not an object", i);
            return -1;
        }
        const char *k;
        json_t *v;
        bool has_labels = false;
        json_object_foreach(a, k, v)
        {
            bool ok;
            if (strcmp(k, "labels") == 0)
                ok = has_labels = s_is_string_map(v) && json_object_size(v) > 0;
            else if (strcmp(k, "annotations") == 0)
                ok = s_is_string_map(v);
            else if (strcmp(k, "startsAt") == 0 || strcmp(k, "endsAt") == 0 ||
                     strcmp(k, "generatorURL") == 0)
                ok = json_is_string(v);
            else {
                fw_err_set(err, "alerts[%zu]: unknown key \"%s\"", i, k);
                return -1;
            }
            if (!ok) {
                fw_err_set(err, "alerts[%zu]: key \"%s\" has the wrong type", i, k);
                return -1;
            }
        }
        if (!has_labels) {
            fw_err_set(err, "alerts[%zu]: labels are required", i);
            return -1;
        }
    }
    return 0;
}

static bool
s_type_ok(json_t *v, s_json_type_t t)
{
    switch (t) {
    case FW_JSON_STRING: return json_is_string(v);
    case FW_JSON_NUMBER: return json_is_number(v);
    case FW_JSON_BOOL: return json_is_boolean(v);
    case FW_JSON_OBJECT: return json_is_object(v);
    case FW_JSON_ARRAY: return json_is_array(v);
    case FW_JSON_LABELS: return s_is_string_map(v);
    case FW_JSON_ALERTS: return json_is_array(v);
    }
    return false;
}

// Check a JSON body against the schema of type: known keys only, right types, required
// keys present.
static int
s_check_json(fw_msg_type_t type, json_t *body, fw_err_t *err)
{
    const char *name = fw_msg_type_str(type);
    if (!json_is_object(body)) {
        fw_err_set(err, "%s body is not a JSON object", name);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        const struct s_field *f = NULL;
        for (size_t i = 0; i < S_NFIELDS && !f; i++)
            if (s_fields[i].msg == type && strcmp(s_fields[i].key, k) == 0)
                f = &s_fields[i];
        if (!f) {
            fw_err_set(err, "%s: unknown key \"%s\"", name, k);
            return -1;
        }
        if (!s_type_ok(v, f->type)) {
            fw_err_set(err, "%s: key \"%s\" must be a %s", name, k, s_json_type_name(f->type));
            return -1;
        }
        if (f->type == FW_JSON_ALERTS && s_check_alerts(v, err) < 0) {
            char inner[sizeof(err->msg)];
            snprintf(inner, sizeof(inner), "%s", err ? err->msg : "");
            fw_err_set(err, "%s: %s", name, inner);
            return -1;
        }
    }
    for (size_t i = 0; i < S_NFIELDS; i++)
        if (s_fields[i].msg == type && s_fields[i].required &&
            !json_object_get(body, s_fields[i].key)) {
            fw_err_set(err, "%s: required key \"%s\" is missing", name, s_fields[i].key);
            return -1;
        }
    return 0;
}

// --- frames -------------------------------------------------------------------------------

zmsg_t *
fw_msg_encode(const struct fw_msg *self, fw_err_t *err)
{
    if ((unsigned)self->type >= FW_MSG_COUNT) {
        fw_err_set(err, "cannot encode message of unknown type %d", (int)self->type);
        return NULL;
    }
    zmsg_t *z = zmsg_new();
    zmsg_addstr(z, s_types[self->type].name);
    zmsg_addstrf(z, "%d", s_types[self->type].version);
    if (s_types[self->type].body == FW_BODY_BINARY) {
        struct s_writer w = {NULL, 0, 0};
        if (!self->batch || s_encode_batch(self->batch, &w, err) < 0) {
            if (!self->batch)
                fw_err_set(err, "SAMPLES message without a batch");
            free(w.p);
            zmsg_destroy(&z);
            return NULL;
        }
        zmsg_addmem(z, w.p, w.len);
        free(w.p);
    } else {
        if (s_check_json(self->type, self->body, err) < 0) {
            zmsg_destroy(&z);
            return NULL;
        }
        char *text = json_dumps(self->body, JSON_COMPACT);
        if (!text) {
            fw_err_set(err, "%s: body cannot be serialised", s_types[self->type].name);
            zmsg_destroy(&z);
            return NULL;
        }
        zmsg_addstr(z, text);
        free(text);
    }
    return z;
}

int
fw_msg_decode(zmsg_t *frames, struct fw_msg **out, fw_err_t *err)
{
    *out = NULL;
    if (zmsg_size(frames) != 3) {
        fw_err_set(err, "expected 3 frames, got %zu", zmsg_size(frames));
        return -1;
    }
    zframe_t *ft = zmsg_first(frames);
    zframe_t *fv = zmsg_next(frames);
    zframe_t *fb = zmsg_next(frames);
    char token[32], ver[16];
    size_t tl = zframe_size(ft), vl = zframe_size(fv);
    if (tl == 0 || tl >= sizeof(token) || vl == 0 || vl >= sizeof(ver)) {
        fw_err_set(err, "malformed type or version frame");
        return -1;
    }
    memcpy(token, zframe_data(ft), tl);
    token[tl] = '\0';
    memcpy(ver, zframe_data(fv), vl);
    ver[vl] = '\0';
    fw_msg_type_t type;
    if (fw_msg_type_parse(token, &type) < 0) {
        fw_err_set(err, "unknown message type \"%.31s\"", token);
        return -1;
    }
    char *end;
    long version = strtol(ver, &end, 10);
    if (*end || version != s_types[type].version) {
        fw_err_set(err, "%s: unsupported version \"%.15s\" (want %d)", token, ver,
                   s_types[type].version);
        return -1;
    }
    struct fw_msg *m = fw_calloc(1, sizeof(*m));
    m->type = type;
    m->version = (int)version;
    if (s_types[type].body == FW_BODY_BINARY) {
        if (s_decode_batch(zframe_data(fb), zframe_size(fb), &m->batch, err) < 0)
            goto fail;
    } else {
        json_error_t jerr;
        m->body = json_loadb((const char *)zframe_data(fb), zframe_size(fb), 0, &jerr);
        if (!m->body) {
            fw_err_set(err, "%s: invalid JSON at position %d: %s", token, jerr.position, jerr.text);
            goto fail;
        }
        if (s_check_json(type, m->body, err) < 0)
            goto fail;
    }
    *out = m;
    return 0;
fail:
    fw_msg_destroy(&m);
    return -1;
}

int
fw_msg_send(struct fw_msg **self_p, zsock_t *sock, fw_err_t *err)
{
    zmsg_t *z = fw_msg_encode(*self_p, err);
    fw_msg_destroy(self_p);
    if (!z)
        return -1;
    if (zmsg_send(&z, sock) < 0) {
        zmsg_destroy(&z);
        fw_err_set(err, "send failed: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int
fw_msg_recv(zsock_t *sock, struct fw_msg **out, fw_err_t *err)
{
    *out = NULL;
    zmsg_t *z = zmsg_recv(sock);
    if (!z) {
        fw_err_set(err, "receive interrupted");
        return -1;
    }
    int rc = fw_msg_decode(z, out, err);
    zmsg_destroy(&z);
    return rc;
}

// --- JSON for people ----------------------------------------------------------------------

static json_t *
s_batch_to_json(const struct fw_batch *b)
{
    json_t *series = json_array();
    for (size_t i = 0; i < b->len; i++) {
        const struct fw_series *s = &b->series[i];
        json_t *labels = json_object();
        for (size_t j = 0; j < s->labels.len; j++)
            json_object_set_new(labels, s->labels.items[j].name, // steals the new string
                                json_string(s->labels.items[j].value));
        json_t *samples = json_array();
        for (size_t k = 0; k < s->len; k++) {
            char v[40];
            double x = s->samples[k].v;
            if (fw_is_stale_nan(x))
                snprintf(v, sizeof(v), "stale");
            else if (isnan(x))
                snprintf(v, sizeof(v), "NaN");
            else if (isinf(x))
                snprintf(v, sizeof(v), x > 0 ? "+Inf" : "-Inf");
            else
                snprintf(v, sizeof(v), "%.17g", x);
            json_array_append_new(samples, // steals the pair
                                  json_pack("[Is]", (json_int_t)s->samples[k].t_ms, v));
        }
        json_array_append_new(series, json_pack("{soso}", "labels", labels, "samples", samples));
    }
    return json_pack("{sssIsIso}", "sender", b->sender, "seq", (json_int_t)b->seq, "oldest",
                     (json_int_t)b->oldest, "series", series);
}

char *
fw_msg_to_json(const struct fw_msg *self)
{
    json_t *body = self->batch ? s_batch_to_json(self->batch) : json_incref(self->body);
    json_t *o = json_pack("{sssiso}", "type", fw_msg_type_str(self->type), "version", self->version,
                          "body", body ? body : json_null());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text ? text : fw_strdup("{}");
}

json_t *
fw_msg_redacted(fw_msg_type_t type, const json_t *body)
{
    struct fw_secret_path paths[sizeof s_secrets / sizeof *s_secrets];
    size_t n = 0;
    for (size_t i = 0; s_secrets[i].path.path; i++)
        if (s_secrets[i].msg == type)
            paths[n++] = s_secrets[i].path;
    paths[n] = (struct fw_secret_path){NULL, FW_SECRET_VALUE};
    if (n == 0)
        return json_incref((json_t *)body);
    json_t *copy = json_deep_copy(body);
    fw_secret_redact_json(copy, paths);
    return copy;
}
