/*  tsdb_rwproto.c — prompb's WriteRequest read in place and written (see tsdb_rwproto.h).

    The checks follow the unmarshaller gogo-protobuf generates for prompb (types.pb.go,
    remote.pb.go) and its skipTypes, error text for error text, so a sender sees what the
    Prometheus receiver would have told it.
*/
#include "tsdb_rwproto.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"

#define S_EOF "unexpected EOF"
#define S_OVERFLOW "proto: integer overflow"
#define S_NEGATIVE "proto: negative length found during unmarshaling"

struct s_reader {
    const unsigned char *p;
    size_t len, off;
};

// A varint (Go's loop: at most ten bytes, "integer overflow" past 64 bits of shift).
static int
s_varint(struct s_reader *r, uint64_t *v, fw_err_t *err)
{
    uint64_t x = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (shift >= 64)
            return fw_err_set(err, S_OVERFLOW), -1;
        if (r->off >= r->len)
            return fw_err_set(err, S_EOF), -1;
        unsigned char b = r->p[r->off++];
        x |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80)
            break;
    }
    *v = x;
    return 0;
}

// A length (Go int: negative when the varint's top bit is set) and the bytes after it.
static int
s_bytes(struct s_reader *r, struct s_reader *sub, fw_err_t *err)
{
    uint64_t n;
    if (s_varint(r, &n, err) != 0)
        return -1;
    if ((int64_t)n < 0)
        return fw_err_set(err, S_NEGATIVE), -1;
    if (n > r->len - r->off)
        return fw_err_set(err, S_EOF), -1;
    sub->p = r->p + r->off;
    sub->len = (size_t)n;
    sub->off = 0;
    r->off += (size_t)n;
    return 0;
}

// A field's tag; msg names the message in gogo's errors.
static int
s_tag(struct s_reader *r, const char *msg, int32_t *field, int *wt, fw_err_t *err)
{
    uint64_t wire;
    if (s_varint(r, &wire, err) != 0)
        return -1;
    *field = (int32_t)(wire >> 3);
    *wt = (int)(wire & 7);
    if (*wt == 4)
        return fw_err_set(err, "proto: %s: wiretype end group for non-group", msg), -1;
    if (*field <= 0)
        return fw_err_set(err, "proto: %s: illegal tag %d (wire type %llu)", msg, (int)*field,
                          (unsigned long long)wire),
               -1;
    return 0;
}

// Skip an unknown field whose tag starts at r->off (gogo's skipTypes, groups included).
static int
s_skip(struct s_reader *r, fw_err_t *err)
{
    int depth = 0;
    while (r->off < r->len) {
        uint64_t wire, v;
        struct s_reader sub;
        if (s_varint(r, &wire, err) != 0)
            return -1;
        switch (wire & 7) {
        case 0:
            if (s_varint(r, &v, err) != 0)
                return -1;
            break;
        case 1:
        case 5: {
            size_t n = (wire & 7) == 1 ? 8 : 4;
            if (n > r->len - r->off)
                return fw_err_set(err, S_EOF), -1;
            r->off += n;
            break;
        }
        case 2:
            if (s_bytes(r, &sub, err) != 0)
                return -1;
            break;
        case 3: depth++; break;
        case 4:
            if (depth == 0)
                return fw_err_set(err, "proto: unexpected end of group"), -1;
            depth--;
            break;
        default: return fw_err_set(err, "proto: illegal wireType %d", (int)(wire & 7)), -1;
        }
        if (depth == 0)
            return 0;
    }
    return fw_err_set(err, S_EOF), -1;
}

// The messages checked, as a table: each known field's number, wire type and name (for
// gogo's errors), the message it holds (S_NONE: not read) and its counter in
// struct tsdb_rwproto_counts (S_NONE: none).
#define S_NONE ((size_t)-1)
#define S_PACKED ((size_t)-2) // a packed repeated varint (or one unpacked), not a message
enum { S_WRITE_REQUEST, S_TIME_SERIES, S_LABEL, S_SAMPLE, S_V2_REQUEST, S_V2_SERIES };

struct s_field {
    int32_t num;
    int wt;
    const char *name;
    size_t sub, count;
};

struct s_msg {
    const char *name;
    struct s_field fields[6];
    size_t n;
};

#define S_COUNT(m) offsetof(struct tsdb_rwproto_counts, m)

static const struct s_msg s_msgs[] = {
    [S_WRITE_REQUEST] = {"WriteRequest",
                         {{1, 2, "Timeseries", S_TIME_SERIES, S_COUNT(series)},
                          {3, 2, "Metadata", S_NONE, S_COUNT(metadata)}},
                         2},
    [S_TIME_SERIES] = {"TimeSeries",
                       {{1, 2, "Labels", S_LABEL, S_COUNT(labels)},
                        {2, 2, "Samples", S_SAMPLE, S_COUNT(samples)},
                        {3, 2, "Exemplars", S_NONE, S_COUNT(exemplars)},
                        {4, 2, "Histograms", S_NONE, S_COUNT(histograms)}},
                       4},
    [S_LABEL] = {"Label", {{1, 2, "Name", S_NONE, S_NONE}, {2, 2, "Value", S_NONE, S_NONE}}, 2},
    [S_SAMPLE] = {"Sample",
                  {{1, 1, "Value", S_NONE, S_NONE}, {2, 0, "Timestamp", S_NONE, S_NONE}},
                  2},
    // io.prometheus.write.v2 (remote write 2.0)
    [S_V2_REQUEST] = {"Request",
                      {{4, 2, "Symbols", S_NONE, S_COUNT(symbols)},
                       {5, 2, "Timeseries", S_V2_SERIES, S_COUNT(series)}},
                      2},
    [S_V2_SERIES] = {"TimeSeries",
                     {{1, 2, "LabelsRefs", S_PACKED, S_NONE},
                      {2, 2, "Samples", S_SAMPLE, S_COUNT(samples)},
                      {3, 2, "Histograms", S_NONE, S_COUNT(histograms)},
                      {4, 2, "Exemplars", S_NONE, S_COUNT(exemplars)},
                      {5, 2, "Metadata", S_NONE, S_COUNT(metadata)},
                      {6, 0, "CreatedTimestamp", S_NONE, S_NONE}},
                     6},
};

// A packed repeated varint field's bytes (gogo's loop: each a varint, none cut short),
// counting them as labels refs.
static int
s_check_packed(struct s_reader *r, struct tsdb_rwproto_counts *c, fw_err_t *err)
{
    uint64_t v;
    while (r->off < r->len) {
        if (s_varint(r, &v, err) != 0)
            return -1;
        c->refs++;
    }
    return 0;
}

// Check r as message m (and what it holds), counting into c.
static int
s_check_msg(struct s_reader *r, size_t m, struct tsdb_rwproto_counts *c, fw_err_t *err)
{
    const struct s_msg *msg = &s_msgs[m];
    while (r->off < r->len) {
        size_t at = r->off;
        int32_t f;
        int wt;
        if (s_tag(r, msg->name, &f, &wt, err) != 0)
            return -1;
        const struct s_field *fd = NULL;
        for (size_t i = 0; i < msg->n && !fd; i++)
            if (msg->fields[i].num == f)
                fd = &msg->fields[i];
        if (!fd) {
            r->off = at;
            if (s_skip(r, err) != 0)
                return -1;
            continue;
        }
        if (wt != fd->wt && !(fd->sub == S_PACKED && wt == 0))
            return fw_err_set(err, "proto: wrong wireType = %d for field %s", wt, fd->name), -1;
        if (fd->sub == S_PACKED && wt == 0)
            c->refs++;
        if (fd->count != S_NONE)
            (*(size_t *)((char *)c + fd->count))++;
        struct s_reader sub;
        uint64_t v;
        if (wt == 0 && s_varint(r, &v, err) != 0)
            return -1;
        if (wt == 1) {
            if (r->len - r->off < 8)
                return fw_err_set(err, S_EOF), -1;
            r->off += 8;
        }
        if (wt == 2 && s_bytes(r, &sub, err) != 0)
            return -1;
        if (wt == 2 && fd->sub == S_PACKED && s_check_packed(&sub, c, err) != 0)
            return -1;
        if (wt == 2 && fd->sub != S_NONE && fd->sub != S_PACKED &&
            s_check_msg(&sub, fd->sub, c, err) != 0)
            return -1;
    }
    return 0;
}

int
tsdb_rwproto_check(const unsigned char *body, size_t len, int version,
                   struct tsdb_rwproto_counts *c, fw_err_t *err)
{
    struct tsdb_rwproto_counts local;
    if (!c)
        c = &local;
    memset(c, 0, sizeof(*c));
    struct s_reader r = {body, len, 0};
    return s_check_msg(&r, version == TSDB_RWPROTO_V2 ? S_V2_REQUEST : S_WRITE_REQUEST, c, err);
}

// The next field numbered want (wire type 2) of a checked message: its bytes in *sub.
static bool
s_next_of(struct s_reader *r, int32_t want, struct s_reader *sub)
{
    while (r->off < r->len) {
        size_t at = r->off;
        int32_t f;
        int wt;
        if (s_tag(r, "", &f, &wt, NULL) != 0)
            return false;
        if (f == want && wt == 2)
            return s_bytes(r, sub, NULL) == 0;
        r->off = at;
        if (s_skip(r, NULL) != 0)
            return false;
    }
    return false;
}

bool
tsdb_rwproto_next_series(const unsigned char *body, size_t len, int version, size_t *off,
                         struct tsdb_rwproto_series *s)
{
    struct s_reader r = {body, len, *off}, sub;
    bool ok = s_next_of(&r, version == TSDB_RWPROTO_V2 ? 5 : 1, &sub);
    *off = r.off;
    if (ok) {
        s->p = sub.p;
        s->len = sub.len;
    }
    return ok;
}

void
tsdb_rwproto_symbols(const unsigned char *body, size_t len, struct tsdb_rwproto_symbols *out)
{
    memset(out, 0, sizeof(*out));
    size_t cap = 0, cap_len = 0;
    struct s_reader r = {body, len, 0}, sub;
    while (s_next_of(&r, 4, &sub)) {
        fw_mem_grow((void **)&out->p, &cap, out->n + 1, sizeof(*out->p));
        fw_mem_grow((void **)&out->len, &cap_len, out->n + 1, sizeof(*out->len));
        out->p[out->n] = (const char *)sub.p;
        out->len[out->n++] = sub.len;
    }
}

void
tsdb_rwproto_symbols_free(struct tsdb_rwproto_symbols *sym)
{
    free(sym->p);
    free(sym->len);
    memset(sym, 0, sizeof(*sym));
}

// The next labels ref of a checked v2 series (packed or not). False after the last.
static bool
s_next_ref(const struct tsdb_rwproto_series *s, struct tsdb_rwproto_cursor *cur, uint64_t *ref)
{
    for (;;) {
        if (cur->in < cur->end) {
            struct s_reader in = {s->p, cur->end, cur->in};
            if (s_varint(&in, ref, NULL) != 0)
                return false;
            cur->in = in.off;
            return true;
        }
        struct s_reader r = {s->p, s->len, cur->off}, sub;
        bool found = false;
        while (!found && r.off < r.len) {
            size_t at = r.off;
            int32_t f;
            int wt;
            if (s_tag(&r, "", &f, &wt, NULL) != 0)
                return false;
            if (f == 1 && wt == 0) {
                bool ok = s_varint(&r, ref, NULL) == 0;
                cur->off = r.off;
                return ok;
            }
            if (f == 1 && wt == 2) {
                if (s_bytes(&r, &sub, NULL) != 0)
                    return false;
                cur->in = (size_t)(sub.p - s->p);
                cur->end = cur->in + sub.len;
                found = true;
            } else {
                r.off = at;
                if (s_skip(&r, NULL) != 0)
                    return false;
            }
        }
        cur->off = r.off;
        if (!found)
            return false;
    }
}

int
tsdb_rwproto_next_label(const struct tsdb_rwproto_series *s, const struct tsdb_rwproto_symbols *sym,
                        struct tsdb_rwproto_cursor *cur, struct tsdb_rwproto_label *l)
{
    memset(l, 0, sizeof(*l));
    l->name = l->value = "";
    if (sym) {
        uint64_t n, v;
        if (!s_next_ref(s, cur, &n))
            return 0;
        if (!s_next_ref(s, cur, &v) || n >= sym->n || v >= sym->n)
            return -1;
        l->name = sym->p[n];
        l->name_len = sym->len[n];
        l->value = sym->p[v];
        l->value_len = sym->len[v];
        return 1;
    }
    struct s_reader r = {s->p, s->len, cur->off}, sub;
    bool ok = s_next_of(&r, 1, &sub);
    cur->off = r.off;
    if (!ok)
        return 0;
    // Last one wins for a repeated field, as in protobuf.
    struct s_reader str;
    while (sub.off < sub.len) {
        size_t at = sub.off;
        int32_t f;
        int wt;
        if (s_tag(&sub, "", &f, &wt, NULL) != 0)
            break;
        if ((f == 1 || f == 2) && wt == 2 && s_bytes(&sub, &str, NULL) == 0) {
            if (f == 1) {
                l->name = (const char *)str.p;
                l->name_len = str.len;
            } else {
                l->value = (const char *)str.p;
                l->value_len = str.len;
            }
            continue;
        }
        sub.off = at;
        if (s_skip(&sub, NULL) != 0)
            break;
    }
    return 1;
}

bool
tsdb_rwproto_next_sample(const struct tsdb_rwproto_series *s, size_t *off, struct fw_sample *out)
{
    struct s_reader r = {s->p, s->len, *off}, sub;
    bool ok = s_next_of(&r, 2, &sub);
    *off = r.off;
    if (!ok)
        return false;
    out->t_ms = 0;
    out->v = 0;
    while (sub.off < sub.len) {
        size_t at = sub.off;
        int32_t f;
        int wt;
        uint64_t v;
        if (s_tag(&sub, "", &f, &wt, NULL) != 0)
            break;
        if (f == 1 && wt == 1 && sub.len - sub.off >= 8) {
            uint64_t bits = fw_bytes_get_le(sub.p + sub.off, 8);
            memcpy(&out->v, &bits, sizeof(bits));
            sub.off += 8;
            continue;
        }
        if (f == 2 && wt == 0 && s_varint(&sub, &v, NULL) == 0) {
            out->t_ms = (int64_t)v;
            continue;
        }
        sub.off = at;
        if (s_skip(&sub, NULL) != 0)
            break;
    }
    return true;
}

// ---------------------------------------------------------------------------------------
// Encoding

static size_t
s_varint_size(uint64_t v)
{
    unsigned char tmp[FW_BYTES_UVARINT_MAX];
    return fw_bytes_put_uvarint(tmp, v);
}

static void
s_put_varint(struct tsdb_json *b, uint64_t v)
{
    unsigned char tmp[FW_BYTES_UVARINT_MAX];
    tsdb_json_put(b, (const char *)tmp, fw_bytes_put_uvarint(tmp, v));
}

// Field f as a length-delimited string of n bytes.
static void
s_put_str(struct tsdb_json *b, unsigned f, const char *s, size_t n)
{
    s_put_varint(b, (uint64_t)f << 3 | 2);
    s_put_varint(b, n);
    tsdb_json_put(b, s, n);
}

void
tsdb_rwproto_put_series(struct tsdb_json *b, const char *const *names, const char *const *values,
                        size_t n, const struct fw_sample *samples, size_t ns)
{
    size_t body = 0;
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        size_t lab = 1 + s_varint_size(nl) + nl + 1 + s_varint_size(vl) + vl;
        body += 1 + s_varint_size(lab) + lab;
    }
    for (size_t k = 0; k < ns; k++) {
        size_t smp = 9 + (samples[k].t_ms ? 1 + s_varint_size((uint64_t)samples[k].t_ms) : 0);
        body += 1 + s_varint_size(smp) + smp;
    }
    s_put_varint(b, 1 << 3 | 2); // WriteRequest.timeseries
    s_put_varint(b, body);
    for (size_t i = 0; i < n; i++) {
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        s_put_varint(b, 1 << 3 | 2); // TimeSeries.labels
        s_put_varint(b, 1 + s_varint_size(nl) + nl + 1 + s_varint_size(vl) + vl);
        s_put_str(b, 1, names[i], nl);
        s_put_str(b, 2, values[i], vl);
    }
    for (size_t k = 0; k < ns; k++) {
        uint64_t t = (uint64_t)samples[k].t_ms, bits;
        size_t smp = 9 + (t ? 1 + s_varint_size(t) : 0);
        s_put_varint(b, 2 << 3 | 2); // TimeSeries.samples
        s_put_varint(b, smp);
        unsigned char v[9] = {1 << 3 | 1};
        memcpy(&bits, &samples[k].v, sizeof(bits));
        fw_bytes_put_le(v + 1, bits, 8);
        tsdb_json_put(b, (const char *)v, sizeof(v));
        if (t) {
            s_put_varint(b, 2 << 3 | 0);
            s_put_varint(b, t);
        }
    }
}
