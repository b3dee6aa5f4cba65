/*  tsdb_pb.c — protobuf's wire format and snappy blocks (see tsdb_pb.h).

    The reading side follows the unmarshallers gogo-protobuf generates for prompb
    (types.pb.go, remote.pb.go) and their skipTypes, error text for error text.
*/
#include "tsdb_pb.h"

#include <snappy-c.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"

#define S_EOF "unexpected EOF"
#define S_OVERFLOW "proto: integer overflow"
#define S_NEGATIVE "proto: negative length found during unmarshaling"

int
tsdb_pb_varint(struct tsdb_pb_reader *r, uint64_t *v, fw_err_t *err)
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

int
tsdb_pb_bytes(struct tsdb_pb_reader *r, struct tsdb_pb_reader *sub, fw_err_t *err)
{
    uint64_t n;
    if (tsdb_pb_varint(r, &n, err) != 0)
        return -1;
    if ((int64_t)n < 0) // a Go int: negative when the top bit is set
        return fw_err_set(err, S_NEGATIVE), -1;
    if (n > r->len - r->off)
        return fw_err_set(err, S_EOF), -1;
    sub->p = r->p + r->off;
    sub->len = (size_t)n;
    sub->off = 0;
    r->off += (size_t)n;
    return 0;
}

int
tsdb_pb_tag(struct tsdb_pb_reader *r, const char *msg, int32_t *field, int *wt, fw_err_t *err)
{
    uint64_t wire;
    if (tsdb_pb_varint(r, &wire, err) != 0)
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

int
tsdb_pb_skip(struct tsdb_pb_reader *r, fw_err_t *err)
{
    int depth = 0;
    while (r->off < r->len) {
        uint64_t wire, v;
        struct tsdb_pb_reader sub;
        if (tsdb_pb_varint(r, &wire, err) != 0)
            return -1;
        switch (wire & 7) {
        case 0:
            if (tsdb_pb_varint(r, &v, err) != 0)
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
            if (tsdb_pb_bytes(r, &sub, err) != 0)
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

bool
tsdb_pb_next_of(struct tsdb_pb_reader *r, int32_t want, struct tsdb_pb_reader *sub)
{
    while (r->off < r->len) {
        size_t at = r->off;
        int32_t f;
        int wt;
        if (tsdb_pb_tag(r, "", &f, &wt, NULL) != 0)
            return false;
        if (f == want && wt == 2)
            return tsdb_pb_bytes(r, sub, NULL) == 0;
        r->off = at;
        if (tsdb_pb_skip(r, NULL) != 0)
            return false;
    }
    return false;
}

uint64_t
tsdb_pb_get_varint(const struct tsdb_pb_reader *msg, int32_t want, uint64_t dflt)
{
    struct tsdb_pb_reader r = *msg;
    uint64_t v = dflt, x;
    while (r.off < r.len) {
        size_t at = r.off;
        int32_t f;
        int wt;
        if (tsdb_pb_tag(&r, "", &f, &wt, NULL) != 0)
            break;
        if (f == want && wt == 0) {
            if (tsdb_pb_varint(&r, &x, NULL) != 0)
                break;
            v = x;
            continue;
        }
        r.off = at;
        if (tsdb_pb_skip(&r, NULL) != 0)
            break;
    }
    return v;
}

// ---------------------------------------------------------------------------------------
// Checking against a table

static void
s_count(void *counts, size_t at)
{
    if (counts && at != TSDB_PB_NONE)
        (*(size_t *)((char *)counts + at))++;
}

// A packed repeated varint field's bytes (gogo's loop: each a varint, none cut short).
static int
s_check_packed(struct tsdb_pb_reader *r, void *counts, size_t at, fw_err_t *err)
{
    uint64_t v;
    while (r->off < r->len) {
        if (tsdb_pb_varint(r, &v, err) != 0)
            return -1;
        s_count(counts, at);
    }
    return 0;
}

int
tsdb_pb_check(struct tsdb_pb_reader *r, const struct tsdb_pb_msg *msgs, size_t m, void *counts,
              fw_err_t *err)
{
    const struct tsdb_pb_msg *msg = &msgs[m];
    while (r->off < r->len) {
        size_t at = r->off;
        int32_t f;
        int wt;
        if (tsdb_pb_tag(r, msg->name, &f, &wt, err) != 0)
            return -1;
        const struct tsdb_pb_field *fd = NULL;
        for (size_t i = 0; i < msg->n && !fd; i++)
            if (msg->fields[i].num == f)
                fd = &msg->fields[i];
        if (!fd) {
            r->off = at;
            if (tsdb_pb_skip(r, err) != 0)
                return -1;
            continue;
        }
        bool packed = fd->sub == TSDB_PB_PACKED;
        if (wt != fd->wt && !(packed && wt == 0))
            return fw_err_set(err, "proto: wrong wireType = %d for field %s", wt, fd->name), -1;
        if (!(packed && wt == 2))
            s_count(counts, fd->count);
        struct tsdb_pb_reader sub;
        uint64_t v;
        if (wt == 0 && tsdb_pb_varint(r, &v, err) != 0)
            return -1;
        if (wt == 1) {
            if (r->len - r->off < 8)
                return fw_err_set(err, S_EOF), -1;
            r->off += 8;
        }
        if (wt == 2 && tsdb_pb_bytes(r, &sub, err) != 0)
            return -1;
        if (wt == 2 && packed && s_check_packed(&sub, counts, fd->count, err) != 0)
            return -1;
        if (wt == 2 && fd->sub != TSDB_PB_NONE && !packed &&
            tsdb_pb_check(&sub, msgs, fd->sub, counts, err) != 0)
            return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Writing

size_t
tsdb_pb_varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void
tsdb_pb_put_varint(struct fw_json_out *b, uint64_t v)
{
    unsigned char tmp[FW_BYTES_UVARINT_MAX];
    fw_json_out_put(b, (const char *)tmp, fw_bytes_put_uvarint(tmp, v));
}

void
tsdb_pb_put_tag(struct fw_json_out *b, unsigned f, unsigned wt)
{
    tsdb_pb_put_varint(b, (uint64_t)f << 3 | wt);
}

void
tsdb_pb_put_bytes(struct fw_json_out *b, unsigned f, const void *s, size_t n)
{
    tsdb_pb_put_tag(b, f, 2);
    tsdb_pb_put_varint(b, n);
    fw_json_out_put(b, n ? s : "", n);
}

void
tsdb_pb_put_uint(struct fw_json_out *b, unsigned f, uint64_t v)
{
    if (v == 0)
        return;
    tsdb_pb_put_tag(b, f, 0);
    tsdb_pb_put_varint(b, v);
}

void
tsdb_pb_put_double(struct fw_json_out *b, unsigned f, double v, bool always)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    if (bits == 0 && !always)
        return;
    unsigned char le[8];
    fw_bytes_put_le(le, bits, 8);
    tsdb_pb_put_tag(b, f, 1);
    fw_json_out_put(b, (const char *)le, sizeof(le));
}

// ---------------------------------------------------------------------------------------
// Snappy

int
tsdb_pb_unsnappy(const unsigned char *body, size_t len, size_t max, char **out, size_t *n,
                 fw_err_t *err)
{
    *out = NULL;
    *n = 0;
    size_t want;
    if (snappy_uncompressed_length((const char *)body, len, &want) != SNAPPY_OK)
        return fw_err_set(err, "snappy: corrupt input"), 400;
    if (want > max)
        return fw_err_set(err, "decompressed body of %zu bytes is over the limit of %zu bytes",
                          want, max),
               413;
    char *p = fw_malloc(want + 1);
    size_t got = want;
    if (snappy_uncompress((const char *)body, len, p, &got) != SNAPPY_OK || got != want) {
        free(p);
        return fw_err_set(err, "snappy: corrupt input"), 400;
    }
    p[got] = '\0';
    *out = p;
    *n = got;
    return 0;
}

void
tsdb_pb_snappy(const char *in, size_t n, char **out, size_t *out_len)
{
    size_t cap = snappy_max_compressed_length(n);
    char *z = fw_malloc(cap ? cap : 1);
    snappy_compress(n ? in : "", n, z, &cap);
    *out = z;
    *out_len = cap;
}
