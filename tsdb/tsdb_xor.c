/*  tsdb_xor.c — Prometheus's XOR chunk encoding (see tsdb_xor.h).
 */
#include "tsdb_xor.h"

#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"

// ---------------------------------------------------------------------------------------
// Writing: Prometheus's bstream (the last byte has `count` free bits)

static void
s_append_byte(struct tsdb_xor_enc *e, unsigned char b)
{
    fw_mem_grow((void **)&e->p, &e->cap, e->len + 1, 1);
    e->p[e->len++] = b;
}

static void
s_write_bit(struct tsdb_xor_enc *e, bool bit)
{
    if (e->count == 0) {
        s_append_byte(e, 0);
        e->count = 8;
    }
    if (bit)
        e->p[e->len - 1] |= (unsigned char)(1u << (e->count - 1));
    e->count--;
}

static void
s_write_byte(struct tsdb_xor_enc *e, unsigned char b)
{
    if (e->count == 0) {
        s_append_byte(e, 0);
        e->count = 8;
    }
    e->p[e->len - 1] |= (unsigned char)(b >> (8 - e->count));
    s_append_byte(e, (unsigned char)((unsigned)b << e->count));
}

// The nbits (0..64) low bits of u, most significant first.
static void
s_write_bits(struct tsdb_xor_enc *e, uint64_t u, unsigned nbits)
{
    if (nbits == 0)
        return;
    u <<= 64 - nbits;
    for (; nbits >= 8; nbits -= 8) {
        s_write_byte(e, (unsigned char)(u >> 56));
        u <<= 8;
    }
    for (; nbits > 0; nbits--) {
        s_write_bit(e, (u >> 63) == 1);
        u <<= 1;
    }
}

void
tsdb_xor_enc_init(struct tsdb_xor_enc *e)
{
    memset(e, 0, sizeof(*e));
    tsdb_xor_enc_reset(e);
}

void
tsdb_xor_enc_reset(struct tsdb_xor_enc *e)
{
    e->len = 0;
    s_append_byte(e, 0);
    s_append_byte(e, 0);
    e->count = 0;
    e->n = 0;
    e->t = e->mint = 0;
    e->t_delta = e->v = 0;
    e->leading = 0xff;
    e->trailing = 0;
}

void
tsdb_xor_enc_free(struct tsdb_xor_enc *e)
{
    free(e->p);
    memset(e, 0, sizeof(*e));
}

static bool
s_bit_range(int64_t x, unsigned nbits)
{
    int64_t half = (int64_t)1 << (nbits - 1);
    return -(half - 1) <= x && x <= half;
}

static void
s_write_value(struct tsdb_xor_enc *e, uint64_t vbits)
{
    uint64_t delta = vbits ^ e->v;
    if (delta == 0) {
        s_write_bit(e, false);
        return;
    }
    s_write_bit(e, true);
    uint8_t lead = (uint8_t)__builtin_clzll(delta), trail = (uint8_t)__builtin_ctzll(delta);
    if (lead >= 32)
        lead = 31;
    if (e->leading != 0xff && lead >= e->leading && trail >= e->trailing) {
        s_write_bit(e, false);
        s_write_bits(e, delta >> e->trailing, 64u - e->leading - e->trailing);
        return;
    }
    e->leading = lead;
    e->trailing = trail;
    s_write_bit(e, true);
    s_write_bits(e, lead, 5);
    unsigned sig = 64u - lead - trail; // 64 is written as 0 (6 bits), read back as 64
    s_write_bits(e, sig, 6);
    s_write_bits(e, delta >> trail, sig);
}

void
tsdb_xor_enc_append(struct tsdb_xor_enc *e, int64_t t, double v)
{
    uint64_t vbits, t_delta = 0;
    memcpy(&vbits, &v, sizeof(vbits));
    unsigned char buf[FW_BYTES_UVARINT_MAX];
    if (e->n == 0) {
        uint64_t zz = ((uint64_t)t << 1) ^ (uint64_t)(t >> 63); // Go's PutVarint
        size_t k = fw_bytes_put_uvarint(buf, zz);
        for (size_t i = 0; i < k; i++)
            s_write_byte(e, buf[i]);
        s_write_bits(e, vbits, 64);
        e->mint = t;
    } else if (e->n == 1) {
        t_delta = (uint64_t)t - (uint64_t)e->t;
        size_t k = fw_bytes_put_uvarint(buf, t_delta);
        for (size_t i = 0; i < k; i++)
            s_write_byte(e, buf[i]);
        s_write_value(e, vbits);
    } else {
        t_delta = (uint64_t)t - (uint64_t)e->t;
        int64_t dod = (int64_t)(t_delta - e->t_delta);
        if (dod == 0) {
            s_write_bit(e, false);
        } else if (s_bit_range(dod, 14)) {
            s_write_bits(e, 0x2, 2);
            s_write_bits(e, (uint64_t)dod, 14);
        } else if (s_bit_range(dod, 17)) {
            s_write_bits(e, 0x6, 3);
            s_write_bits(e, (uint64_t)dod, 17);
        } else if (s_bit_range(dod, 20)) {
            s_write_bits(e, 0xe, 4);
            s_write_bits(e, (uint64_t)dod, 20);
        } else {
            s_write_bits(e, 0xf, 4);
            s_write_bits(e, (uint64_t)dod, 64);
        }
        s_write_value(e, vbits);
    }
    e->t = t;
    e->v = vbits;
    e->t_delta = t_delta;
    e->n++;
    e->p[0] = (unsigned char)(e->n >> 8);
    e->p[1] = (unsigned char)e->n;
}

// ---------------------------------------------------------------------------------------
// Reading

// The next nbits (0..64) bits, most significant first; false past the end.
static bool
s_read_bits(struct tsdb_xor_iter *it, unsigned nbits, uint64_t *out)
{
    uint64_t u = 0;
    if (nbits > (it->len * 8) - it->bit)
        return false;
    while (nbits > 0) {
        size_t byte = it->bit >> 3;
        unsigned off = (unsigned)(it->bit & 7), avail = 8 - off;
        unsigned take = nbits < avail ? nbits : avail;
        unsigned chunk = ((unsigned)it->p[byte] >> (avail - take)) & ((1u << take) - 1);
        u = (u << take) | chunk;
        it->bit += take;
        nbits -= take;
    }
    *out = u;
    return true;
}

// A Go varint read from the bit stream, one byte (8 bits) at a time.
static bool
s_read_uvarint(struct tsdb_xor_iter *it, uint64_t *out)
{
    uint64_t x = 0, b;
    for (unsigned shift = 0; shift < 70; shift += 7) {
        if (!s_read_bits(it, 8, &b))
            return false;
        if (shift == 63 && b > 1)
            return false; // overflows 64 bits
        x |= (b & 0x7f) << shift;
        if (b < 0x80) {
            *out = x;
            return true;
        }
    }
    return false;
}

bool
tsdb_xor_iter_init(struct tsdb_xor_iter *it, const unsigned char *p, size_t len)
{
    memset(it, 0, sizeof(*it));
    it->p = p;
    it->len = len;
    if (len < 2) {
        it->err = true;
        return false;
    }
    it->total = (uint16_t)(p[0] << 8 | p[1]);
    it->bit = 16;
    return true;
}

static bool
s_read_value(struct tsdb_xor_iter *it)
{
    uint64_t bit, bits, lead, sig;
    if (!s_read_bits(it, 1, &bit))
        return false;
    if (bit == 0)
        return true;
    if (!s_read_bits(it, 1, &bit))
        return false;
    if (bit == 0) {
        if (it->leading + it->trailing > 64)
            return false;
        sig = 64u - it->leading - it->trailing;
    } else {
        if (!s_read_bits(it, 5, &lead) || !s_read_bits(it, 6, &sig))
            return false;
        if (sig == 0)
            sig = 64;
        if (lead + sig > 64)
            return false;
        it->leading = (uint8_t)lead;
        it->trailing = (uint8_t)(64 - lead - sig);
    }
    if (!s_read_bits(it, (unsigned)sig, &bits))
        return false;
    it->vbits ^= it->trailing < 64 ? bits << it->trailing : 0;
    return true;
}

static bool
s_next(struct tsdb_xor_iter *it)
{
    uint64_t u;
    if (it->read == 0) {
        if (!s_read_uvarint(it, &u) || !s_read_bits(it, 64, &it->vbits))
            return false;
        it->t = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
        return true;
    }
    if (it->read == 1) {
        if (!s_read_uvarint(it, &it->t_delta))
            return false;
        it->t = (int64_t)((uint64_t)it->t + it->t_delta);
        return s_read_value(it);
    }
    unsigned d = 0;
    for (int i = 0; i < 4; i++) {
        if (!s_read_bits(it, 1, &u))
            return false;
        d <<= 1;
        if (u == 0)
            break;
        d |= 1;
    }
    unsigned sz = d == 0x2 ? 14 : d == 0x6 ? 17 : d == 0xe ? 20 : d == 0xf ? 64 : 0;
    int64_t dod = 0;
    if (sz == 64) {
        if (!s_read_bits(it, 64, &u))
            return false;
        dod = (int64_t)u;
    } else if (sz) {
        if (!s_read_bits(it, sz, &u))
            return false;
        if (u > ((uint64_t)1 << (sz - 1)))
            u -= (uint64_t)1 << sz;
        dod = (int64_t)u;
    }
    it->t_delta += (uint64_t)dod;
    it->t = (int64_t)((uint64_t)it->t + it->t_delta);
    return s_read_value(it);
}

bool
tsdb_xor_iter_next(struct tsdb_xor_iter *it)
{
    if (it->err || it->read >= it->total)
        return false;
    if (!s_next(it)) {
        it->err = true;
        return false;
    }
    it->read++;
    memcpy(&it->v, &it->vbits, sizeof(it->v));
    return true;
}
