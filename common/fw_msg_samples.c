/*  fw_msg_samples.c — the SAMPLES v2 body (see fw_msg_samples.h).

    Every field is read with a bounds check (s_reader); any shortfall, trailing byte or
    invalid label rejects the whole message, because a half-applied batch would be worse
    than a dropped one.

    Decoding into a batch takes two passes over the series. The first checks every label
    and counts the labels, samples and string bytes; the second fills one block (the
    batch's arena) with the series, their label views, samples and NUL-terminated strings.
    A batch of any size thus costs the message, the batch and one arena: three
    allocations, where a label set per series once cost about 28 (5 labels).
*/
#include "fw_msg_samples.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "fw_names.h"

// --- writing -------------------------------------------------------------------------------

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
    fw_bytes_put_le(b, v, bytes);
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
s_encode(const struct fw_batch *batch, struct s_writer *w, fw_err_t *err)
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
    bool v4 = fw_msg_samples_version(batch) == FW_SAMPLES_V4;
    for (size_t i = 0; i < batch->len; i++) {
        const struct fw_series *s = &batch->series[i];
        s_put_u(w, s->ref, 4);
        size_t lb = fw_samples_labels_size(&s->labels);
        if (s->labels.len > UINT16_MAX || s->len >= FW_SAMPLES_ST_FLAG) {
            fw_err_set(err, "series %zu too large to encode", i);
            return -1;
        }
        for (size_t j = 0; lb == 0 && j < s->labels.len; j++) {
            if (strlen(s->labels.items[j].name) > UINT16_MAX ||
                strlen(s->labels.items[j].value) > UINT32_MAX) {
                fw_err_set(err, "label %s too long to encode", s->labels.items[j].name);
                return -1;
            }
        }
        fw_mem_grow((void **)&w->p, &w->cap, w->len + lb, 1);
        fw_samples_labels_put(w->p + w->len, &s->labels);
        w->len += lb;
        s_put_u(w, s->len | (v4 && s->st ? FW_SAMPLES_ST_FLAG : 0), 4);
        for (size_t k = 0; k < s->len; k++) {
            uint64_t bits;
            memcpy(&bits, &s->samples[k].v, sizeof(bits));
            s_put_u(w, (uint64_t)s->samples[k].t_ms, 8);
            s_put_u(w, bits, 8);
        }
        for (size_t k = 0; v4 && s->st && k < s->len; k++)
            s_put_u(w, (uint64_t)s->st[k], 8);
    }
    return 0;
}

int
fw_msg_samples_version(const struct fw_batch *batch)
{
    for (size_t i = 0; i < batch->len; i++)
        for (size_t k = 0; batch->series[i].st && k < batch->series[i].len; k++)
            if (batch->series[i].st[k] != 0)
                return FW_SAMPLES_V4;
    return FW_SAMPLES_V3;
}

size_t
fw_samples_labels_size(const struct fw_labels *l)
{
    if (l->len > UINT16_MAX)
        return 0;
    size_t n = 2;
    for (size_t j = 0; j < l->len; j++) {
        size_t nl = strlen(l->items[j].name);
        size_t vl = strlen(l->items[j].value);
        if (nl > UINT16_MAX || vl > UINT32_MAX)
            return 0;
        n += 2 + nl + 4 + vl;
    }
    return n;
}

static unsigned char *
s_put_le(unsigned char *p, uint64_t v, size_t bytes)
{
    for (size_t i = 0; i < bytes; i++)
        p[i] = (unsigned char)(v >> (8 * i));
    return p + bytes;
}

void
fw_samples_labels_put(unsigned char *dst, const struct fw_labels *l)
{
    unsigned char *p = s_put_le(dst, l->len, 2);
    for (size_t j = 0; j < l->len; j++) {
        size_t nl = strlen(l->items[j].name);
        size_t vl = strlen(l->items[j].value);
        p = s_put_le(p, nl, 2);
        memcpy(p, l->items[j].name, nl);
        p = s_put_le(p + nl, vl, 4);
        memcpy(p, l->items[j].value, vl);
        p += vl;
    }
}

zmsg_t *
fw_msg_samples_frames(int version, const char *sender, uint64_t seq, uint64_t oldest,
                      size_t nseries, size_t series_bytes, unsigned char **series, fw_err_t *err)
{
    assert(version == FW_SAMPLES_V2 || version == FW_SAMPLES_V3 || version == FW_SAMPLES_V4);
    size_t sl = strnlen(sender, FW_MSG_SENDER_MAX + 1);
    if (!s_sender_ok(sender, sl)) {
        fw_err_set(err, "SAMPLES: sender id \"%.64s\" must be 1 to %d printable characters", sender,
                   FW_MSG_SENDER_MAX);
        return NULL;
    }
    if (seq == 0 || oldest == 0 || oldest > seq || nseries > UINT32_MAX) {
        fw_err_set(err, "SAMPLES: need 1 <= oldest (%llu) <= seq (%llu), at most 2^32-1 series",
                   (unsigned long long)oldest, (unsigned long long)seq);
        return NULL;
    }
    size_t head = 2 + sl + 8 + 8 + 4;
    zframe_t *body = zframe_new(NULL, head + series_bytes);
    unsigned char *p = s_put_le(zframe_data(body), sl, 2);
    memcpy(p, sender, sl);
    p = s_put_le(p + sl, seq, 8);
    p = s_put_le(p, oldest, 8);
    *series = s_put_le(p, nseries, 4);
    zmsg_t *z = zmsg_new();
    zmsg_addstr(z, "SAMPLES");
    zmsg_addstrf(z, "%d", version);
    zmsg_append(z, &body);
    return z;
}

int
fw_msg_samples_encode(const struct fw_batch *batch, unsigned char **out, size_t *len, fw_err_t *err)
{
    struct s_writer w = {NULL, 0, 0};
    if (s_encode(batch, &w, err) != 0) {
        free(w.p);
        return -1;
    }
    *out = w.p;
    *len = w.len;
    return 0;
}

// --- reading -------------------------------------------------------------------------------

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

static const unsigned char *
s_skip(struct s_reader *r, size_t n)
{
    if (r->left < n) {
        r->short_read = true;
        r->left = 0;
        return NULL;
    }
    const unsigned char *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

// strcmp's order for two names of known lengths.
static int
s_name_cmp(const char *a, size_t an, const char *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c ? c : (an > bn) - (an < bn);
}

int
fw_samples_view_init(struct fw_samples_view *v, int version, const unsigned char *body, size_t size,
                     struct fw_samples_series **series, size_t *cap, fw_err_t *err)
{
    memset(v, 0, sizeof(*v));
    if (version != FW_SAMPLES_V2 && version != FW_SAMPLES_V3 && version != FW_SAMPLES_V4) {
        fw_err_set(err, "SAMPLES: unsupported version %d", version);
        return -1;
    }
    size_t ref_len = version == FW_SAMPLES_V2 ? 0 : 4;
    struct s_reader r = {body, size, false};
    size_t sl = s_get_u(&r, 2);
    const char *sender = (const char *)s_skip(&r, sl);
    uint64_t seq = s_get_u(&r, 8);
    uint64_t oldest = s_get_u(&r, 8);
    uint64_t nseries = s_get_u(&r, 4);
    if (r.short_read)
        goto truncated;
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
    v->first = size - r.left;
    // every series needs 6 bytes at least: a huge count in a short body allocates nothing
    if (nseries > r.left / (6 + ref_len))
        goto truncated;
    if (series)
        fw_mem_grow((void **)series, cap, (size_t)nseries, sizeof(**series));
    // the structure: every length inside the body
    for (uint64_t i = 0; i < nseries && !r.short_read; i++) {
        uint64_t ref = s_get_u(&r, ref_len);
        if (ref > FW_SAMPLES_REF_MAX) {
            fw_err_set(err, "SAMPLES series %llu: ref %llu over %u", (unsigned long long)i,
                       (unsigned long long)ref, FW_SAMPLES_REF_MAX);
            return -1;
        }
        uint64_t nlabels = s_get_u(&r, 2);
        const unsigned char *labels = r.p;
        for (uint64_t j = 0; j < nlabels && !r.short_read; j++) {
            (void)s_skip(&r, s_get_u(&r, 2));
            (void)s_skip(&r, s_get_u(&r, 4));
        }
        size_t labels_len = (size_t)(r.p - labels);
        uint64_t nsamples = s_get_u(&r, 4);
        bool has_st = version == FW_SAMPLES_V4 && (nsamples & FW_SAMPLES_ST_FLAG);
        nsamples &= version == FW_SAMPLES_V4 ? ~(uint64_t)FW_SAMPLES_ST_FLAG : ~(uint64_t)0;
        size_t each = has_st ? 24 : 16;
        if (r.short_read || nsamples > r.left / each)
            goto truncated;
        if (series)
            (*series)[i] = (struct fw_samples_series){labels,
                                                      labels_len,
                                                      r.p,
                                                      has_st ? r.p + nsamples * 16 : NULL,
                                                      (uint32_t)nsamples,
                                                      (uint32_t)ref,
                                                      (uint16_t)nlabels};
        r.p += nsamples * each;
        r.left -= nsamples * each;
    }
    if (r.short_read)
        goto truncated;
    if (r.left != 0) {
        fw_err_set(err, "SAMPLES body has %zu trailing bytes", r.left);
        return -1;
    }
    memcpy(v->sender, sender, sl);
    v->sender[sl] = '\0';
    v->seq = seq;
    v->oldest = oldest;
    v->nseries = (uint32_t)nseries;
    v->version = version;
    v->body = body;
    v->size = size;
    return 0;
truncated:
    fw_err_set(err, "SAMPLES body truncated (%zu bytes)", size);
    return -1;
}

bool
fw_samples_view_next(const struct fw_samples_view *v, size_t *off, struct fw_samples_series *s)
{
    if (*off >= v->size)
        return false;
    // the structure was checked: no bounds checks needed here
    struct s_reader r = {v->body + *off, v->size - *off, false};
    s->ref = (uint32_t)s_get_u(&r, v->version == FW_SAMPLES_V2 ? 0 : 4);
    s->nlabels = (uint16_t)s_get_u(&r, 2);
    s->labels = r.p;
    for (uint16_t j = 0; j < s->nlabels; j++) {
        (void)s_skip(&r, s_get_u(&r, 2));
        (void)s_skip(&r, s_get_u(&r, 4));
    }
    s->labels_len = (size_t)(r.p - s->labels);
    uint32_t count = (uint32_t)s_get_u(&r, 4);
    bool has_st = v->version == FW_SAMPLES_V4 && (count & FW_SAMPLES_ST_FLAG);
    s->nsamples = has_st ? count & ~FW_SAMPLES_ST_FLAG : count;
    s->samples = r.p;
    s->st = has_st ? r.p + (size_t)s->nsamples * 16 : NULL;
    *off = v->size - r.left + (size_t)s->nsamples * (has_st ? 24 : 16);
    return true;
}

int
fw_samples_series_check(const struct fw_samples_series *s, uint64_t index, size_t *labels,
                        size_t *bytes, fw_err_t *err)
{
    struct s_reader r = {s->labels, s->labels_len, false};
    const char *prev = NULL; // the previous name, to enforce sorted unique names
    size_t prev_len = 0, n = 0, b = 0;
    for (uint16_t j = 0; j < s->nlabels; j++) {
        size_t nl = s_get_u(&r, 2);
        const char *name = (const char *)s_skip(&r, nl);
        size_t vl = s_get_u(&r, 4);
        const char *value = (const char *)s_skip(&r, vl);
        if (!fw_names_valid(name, nl) || (prev && s_name_cmp(prev, prev_len, name, nl) >= 0)) {
            fw_err_set(err, "SAMPLES series %llu: label name \"%.*s\" invalid or out of order",
                       (unsigned long long)index, (int)(nl < 64 ? nl : 64), name);
            return -1;
        }
        if (!fw_utf8_valid(value, vl)) {
            fw_err_set(err, "SAMPLES series %llu: label %.*s has invalid UTF-8",
                       (unsigned long long)index, (int)(nl < 64 ? nl : 64), name);
            return -1;
        }
        prev = name;
        prev_len = nl;
        if (vl > 0) { // an empty label is an absent one
            n++;
            b += nl + vl + 2;
        }
    }
    if (labels)
        *labels = n;
    if (bytes)
        *bytes = b;
    return 0;
}

bool
fw_samples_series_equal(const struct fw_samples_series *s, const struct fw_labels *l)
{
    if (s->nlabels != l->len)
        return false;
    const unsigned char *p = s->labels;
    for (size_t j = 0; j < l->len; j++) {
        size_t nl = (size_t)p[0] | (size_t)p[1] << 8;
        const char *name = l->items[j].name;
        if (strlen(name) != nl || memcmp(p + 2, name, nl) != 0)
            return false;
        p += 2 + nl;
        size_t vl = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        const char *value = l->items[j].value;
        // a stored value is never empty, so an empty one here differs
        if (vl == 0 || strlen(value) != vl || memcmp(p + 4, value, vl) != 0)
            return false;
        p += 4 + vl;
    }
    return true;
}

bool
fw_samples_series_equal_text(const struct fw_samples_series *s, size_t nlabels, const char *text,
                             size_t text_len)
{
    // The body's lengths were checked to add up to labels_len, so equal totals keep every
    // read below inside text.
    if (s->nlabels != nlabels || s->labels_len != text_len + 4 * nlabels)
        return false;
    const unsigned char *p = s->labels;
    size_t off = 0;
    for (size_t j = 0; j < nlabels; j++) {
        size_t nl = (size_t)p[0] | (size_t)p[1] << 8;
        if (memcmp(p + 2, text + off, nl) != 0 || text[off + nl] != '\0')
            return false;
        off += nl + 1;
        p += 2 + nl;
        size_t vl = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        // a stored value is never empty, so an empty one here differs
        if (vl == 0 || memcmp(p + 4, text + off, vl) != 0 || text[off + vl] != '\0')
            return false;
        off += vl + 1;
        p += 4 + vl;
    }
    return true;
}

struct fw_labels
fw_samples_series_labels(const struct fw_samples_series *s, struct fw_label *items, char *text)
{
    struct s_reader r = {s->labels, s->labels_len, false};
    size_t n = 0;
    for (uint16_t j = 0; j < s->nlabels; j++) {
        size_t nl = s_get_u(&r, 2);
        const unsigned char *name = s_skip(&r, nl);
        size_t vl = s_get_u(&r, 4);
        const unsigned char *value = s_skip(&r, vl);
        if (vl == 0)
            continue;
        items[n].name = text;
        memcpy(text, name, nl);
        text[nl] = '\0';
        text += nl + 1;
        items[n].value = text;
        memcpy(text, value, vl);
        text[vl] = '\0';
        text += vl + 1;
        n++;
    }
    return (struct fw_labels){items, n, n};
}

int
fw_msg_samples_decode(int version, const unsigned char *body, size_t size, struct fw_batch **out,
                      fw_err_t *err)
{
    struct fw_samples_view v;
    if (fw_samples_view_init(&v, version, body, size, NULL, NULL, err) != 0)
        return -1;
    size_t labels = 0, bytes = 0, samples = 0, st_samples = 0, off = v.first;
    struct fw_samples_series s;
    for (uint64_t i = 0; fw_samples_view_next(&v, &off, &s); i++) {
        size_t nl, nb;
        if (fw_samples_series_check(&s, i, &nl, &nb, err) != 0)
            return -1;
        labels += nl;
        bytes += nb;
        samples += s.nsamples;
        st_samples += s.st ? s.nsamples : 0;
    }
    // Every count is bounded by the body's size, so these sums cannot overflow on 64-bit;
    // refuse a body for which they could elsewhere.
    if (size > SIZE_MAX / 16) {
        fw_err_set(err, "SAMPLES body of %zu bytes too large", size);
        return -1;
    }
    size_t off_labels = (size_t)v.nseries * sizeof(struct fw_series);
    size_t off_samples = off_labels + labels * sizeof(struct fw_label);
    size_t off_st = off_samples + samples * sizeof(struct fw_sample);
    size_t off_strings = off_st + st_samples * sizeof(int64_t);
    struct fw_batch *b = fw_batch_new();
    b->arena = fw_malloc(off_strings + bytes + 1);
    char *a = b->arena;
    struct fw_series *series = (struct fw_series *)(void *)a;
    struct fw_label *items = (struct fw_label *)(void *)(a + off_labels);
    struct fw_sample *smp = (struct fw_sample *)(void *)(a + off_samples);
    int64_t *sts = (int64_t *)(void *)(a + off_st);
    char *text = a + off_strings;
    off = v.first;
    for (size_t i = 0; fw_samples_view_next(&v, &off, &s); i++) {
        struct fw_series *d = &series[i];
        memset(d, 0, sizeof(*d));
        d->labels = fw_samples_series_labels(&s, items, text);
        d->ref = s.ref;
        for (size_t j = 0; j < d->labels.len; j++)
            text += strlen(items[j].name) + strlen(items[j].value) + 2;
        items += d->labels.len;
        d->samples = smp;
        d->len = d->cap = s.nsamples;
        for (uint32_t k = 0; k < s.nsamples; k++)
            smp[k] = fw_samples_series_at(&s, k);
        smp += s.nsamples;
        if (s.st) {
            d->st = sts;
            for (uint32_t k = 0; k < s.nsamples; k++)
                sts[k] = fw_samples_series_st_at(&s, k);
            sts += s.nsamples;
        }
    }
    memcpy(b->sender, v.sender, sizeof(b->sender));
    b->seq = v.seq;
    b->oldest = v.oldest;
    b->series = series;
    b->len = b->cap = v.nseries;
    *out = b;
    return 0;
}

// The body of a SAMPLES v2 message (type, version, body frames) just past its sender
// string, where seq and oldest (8 bytes each, little-endian) start; NULL when frames are
// not such a message or the body ends before both. *seq gets the stored seq.
static unsigned char *
s_seq_at(zmsg_t *frames, uint64_t *seq)
{
    if (zmsg_size(frames) != 3)
        return NULL;
    zframe_t *ft = zmsg_first(frames);
    zframe_t *fv = zmsg_next(frames);
    zframe_t *fb = zmsg_next(frames);
    if (!zframe_streq(ft, "SAMPLES") ||
        (!zframe_streq(fv, "2") && !zframe_streq(fv, "3") && !zframe_streq(fv, "4")))
        return NULL;
    struct s_reader r = {zframe_data(fb), zframe_size(fb), false};
    size_t sl = s_get_u(&r, 2);
    (void)s_skip(&r, sl);
    *seq = s_get_u(&r, 8);
    if (r.short_read || r.left < 8)
        return NULL;
    return zframe_data(fb) + 2 + sl;
}

int
fw_msg_samples_set_seq(zmsg_t *frames, uint64_t seq, uint64_t oldest)
{
    uint64_t old_seq;
    unsigned char *p = s_seq_at(frames, &old_seq);
    if (!p || oldest == 0 || oldest > seq)
        return -1;
    fw_bytes_put_le(p, seq, 8);
    fw_bytes_put_le(p + 8, oldest, 8);
    return 0;
}

int
fw_msg_samples_set_oldest(zmsg_t *frames, uint64_t oldest)
{
    uint64_t seq;
    unsigned char *p = s_seq_at(frames, &seq);
    if (!p || oldest == 0 || oldest > seq)
        return -1;
    fw_bytes_put_le(p + 8, oldest, 8);
    return 0;
}
