/*  tsdb_chunk_read.c — the chunk codec's reading half (byte layout in tsdb_chunk.h): the
    header, the bit reader and the iterator.

    Reads peek a 64-bit big-endian window at the bit position, or near the end the chunk's
    last 8 bytes shifted into place (every chunk is 8 bytes or more), so bits past the end
    read as 0; every length is checked against what is left: the decoder never trusts the
    bytes. tsdb_chunk_iter_read decodes a batch: decimal chunks with regular or Rice-coded
    timestamps (the common sealed form) through a loop that keeps the state in locals and
    reads each code with one load (s_read_dec), everything else sample by sample (s_next).
*/
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_err.h"
#include "tsdb_chunk.h"
#include "tsdb_chunk_int.h"

// ---------------------------------------------------------------------------------------
// Header

// Parse the header; *hlen gets its length in bytes and *tenc the time encoding.
static int
s_header(const unsigned char *p, size_t len, struct tsdb_chunk_info *out, size_t *hlen,
         unsigned *tenc)
{
    if (len < 1)
        return FW_ETRUNC;
    unsigned venc = p[0] & S_VENC_MASK;
    *tenc = p[0] >> S_TENC_SHIFT;
    if (venc < TSDB_CHUNK_XOR || venc > TSDB_CHUNK_XOR_ST || *tenc > S_T_REGULAR)
        return FW_ETYPE;
    if (len < S_HDR_FIXED)
        return FW_ETRUNC;
    unsigned n = s_get_u16(p + 1);
    uint32_t span = s_get_u32(p + 3);
    if (n == 0 || span < n - 1 || (n == 1 && span != 0))
        return FW_EPARSE; // timestamps strictly increase, in whole ms
    if (*tenc == S_T_REGULAR && n >= 2 && span % (n - 1))
        return FW_EPARSE; // the step would not be whole ms
    uint64_t u;
    size_t off = S_HDR_FIXED;
    int rc = fw_bytes_get_uvarint(p, len, &off, &u);
    if (rc != 0)
        return rc; // FW_ETRUNC, or FW_EPARSE for more than 64 bits
    int64_t mint = s_i64(s_unzz(u));
    if (mint > INT64_MAX - (int64_t)span)
        return FW_EPARSE;
    out->enc = (int)venc;
    out->n = n;
    out->mint = mint;
    out->maxt = mint + (int64_t)span;
    *hlen = off;
    return 0;
}

int
tsdb_chunk_info(const void *p, size_t len, struct tsdb_chunk_info *out)
{
    size_t hlen;
    unsigned tenc;
    return s_header(p, len, out, &hlen, &tenc);
}

// ---------------------------------------------------------------------------------------
// Bit reader (untrusted bytes)

// The next up to 57 bits, left-aligned; bits past the end read as 0.
static inline uint64_t
s_peek(const struct tsdb_chunk_iter *it)
{
    size_t byte = it->pos >> 3, len = it->nbits >> 3;
    uint64_t w;
    if (byte + 8 <= len)
        w = s_load_be64(it->p + byte);
    else if (byte < len && len >= 8)
        w = s_load_be64(it->p + len - 8) << (8 * (byte + 8 - len)); // the last bytes
    else
        w = 0;
    return w << (it->pos & 7);
}

static inline size_t
s_avail(const struct tsdb_chunk_iter *it)
{
    return it->nbits - it->pos;
}

// Read n <= 64 bits into *out; false when fewer are left.
static inline bool
s_get(struct tsdb_chunk_iter *it, unsigned n, uint64_t *out)
{
    if (n > s_avail(it))
        return false;
    if (n == 0) {
        *out = 0;
        return true;
    }
    uint64_t hi = 0;
    if (n > 57) {
        hi = s_peek(it) >> (96 - n) << 32; // the first n - 32 bits
        it->pos += n - 32;
        n = 32;
    }
    *out = hi | s_peek(it) >> (64 - n);
    it->pos += n;
    return true;
}

// Leading '1's of the next bits, at most max (<= 57).
static inline unsigned
s_ones(const struct tsdb_chunk_iter *it, unsigned max)
{
    uint64_t w = ~s_peek(it);
    unsigned q = w ? (unsigned)__builtin_clzll(w) : 64;
    return q < max ? q : max;
}

// U(x), as two's complement bits.
static int
s_get_u(struct tsdb_chunk_iter *it, uint64_t *out)
{
    uint64_t l;
    if (!s_get(it, 6, &l) || !s_get(it, (unsigned)l, out))
        return FW_ETRUNC;
    *out = s_unzz(*out);
    return 0;
}

static inline __attribute__((always_inline)) int
s_get_rice(struct tsdb_chunk_iter *it, unsigned k, uint64_t *u)
{
    uint64_t w = s_peek(it); // bits past the end read as 0, so q ends there at the latest
    unsigned q = ~w ? (unsigned)__builtin_clzll(~w) : 64;
    if (q < S_RICE_ESC && q + 1 + k <= 57) {
        if (q + 1 + k > s_avail(it))
            return FW_ETRUNC;
        *u = (uint64_t)q << k | (k ? w << (q + 1) >> (64 - k) : 0);
        it->pos += q + 1 + k;
        return 0;
    }
    q = s_ones(it, S_RICE_ESC);
    if (q < S_RICE_ESC) {
        uint64_t low;
        if ((size_t)q + 1 > s_avail(it))
            return FW_ETRUNC;
        it->pos += q + 1;
        if (!s_get(it, k, &low))
            return FW_ETRUNC;
        *u = (uint64_t)q << k | low;
        return 0;
    }
    uint64_t l;
    it->pos += S_RICE_ESC; // s_ones counted them, so they are there
    if (!s_get(it, 6, &l) || !s_get(it, (unsigned)l, u))
        return FW_ETRUNC;
    return 0;
}

// A column's parameters: 1 bit order, 6 bits k, and for n >= 2 U(base or first delta).
static int
s_get_col(struct tsdb_chunk_iter *it, uint8_t *order, uint8_t *k, uint64_t *p)
{
    uint64_t x;
    if (!s_get(it, 1, &x))
        return FW_ETRUNC;
    *order = (uint8_t)x;
    if (!s_get(it, 6, &x))
        return FW_ETRUNC;
    *k = (uint8_t)x;
    return it->n >= 2 ? s_get_u(it, p) : 0;
}

// The next step of a column at sample it->i >= 1, in *step; *d is the base (order 0) or the
// last step (order 1), as two's complement bits.
static inline __attribute__((always_inline)) int
s_col_step(struct tsdb_chunk_iter *it, unsigned order, unsigned k, uint64_t *d, uint64_t *step)
{
    uint64_t u;
    int rc;
    if (order == 0) {
        if ((rc = s_get_rice(it, k, &u)))
            return rc;
        *step = *d + s_unzz(u);
        return 0;
    }
    if (it->i >= 2) {
        if ((rc = s_get_rice(it, k, &u)))
            return rc;
        *d += s_unzz(u);
    }
    *step = *d;
    return 0;
}

// ---------------------------------------------------------------------------------------
// Iterator

int
tsdb_chunk_iter_init(struct tsdb_chunk_iter *it, const void *p, size_t len)
{
    struct tsdb_chunk_info info;
    size_t hlen = 0;
    unsigned tenc = 0;
    memset(it, 0, sizeof(*it));
    it->p = p;
    int rc = s_header(p, len, &info, &hlen, &tenc);
    if (rc) {
        it->err = rc;
        return rc;
    }
    it->nbits = len * 8;
    it->pos = hlen * 8;
    it->n = info.n;
    it->t = info.mint;
    it->maxt = info.maxt;
    it->enc = (uint8_t)info.enc;
    it->tenc = (uint8_t)tenc;
    if (tenc == S_T_REGULAR && info.n >= 2)
        it->td = (uint64_t)(info.maxt - info.mint) / (info.n - 1);
    it->lead = 0xff;
    return 0;
}

// The start time code of a sample of encoding 4 (XOR with start times), after its value
// code; prev_t is the previous sample's timestamp (has_prev false for sample 0).
static int
s_next_st(struct tsdb_chunk_iter *it, int64_t prev_t, bool has_prev)
{
    uint64_t ctl, l, u;
    if (!s_get(it, 1, &ctl))
        return FW_ETRUNC;
    if (ctl == 0)
        return 0; // the previous start time (none for sample 0)
    if (!s_get(it, 1, &ctl))
        return FW_ETRUNC;
    if (ctl == 0) {
        if (!has_prev)
            return FW_EPARSE; // sample 0 has no previous timestamp
        it->st = prev_t;
        return 0;
    }
    if (!s_get(it, 6, &l) || !s_get(it, (unsigned)l + 1, &u))
        return FW_ETRUNC;
    if (u == 0)
        return FW_EPARSE; // the same start time has the one-bit code
    it->st = (int64_t)((uint64_t)it->st + s_unzz(u));
    return 0;
}

// Sample 0: the columns' parameters and the first value.
static int
s_first(struct tsdb_chunk_iter *it)
{
    int rc;
    uint64_t x;
    if (it->tenc == S_T_RICE && (rc = s_get_col(it, &it->torder, &it->tk, &it->td)))
        return rc;
    if (it->enc == TSDB_CHUNK_XOR || it->enc == TSDB_CHUNK_XOR_ST) {
        if (!s_get(it, 64, &it->vbits))
            return FW_ETRUNC;
        it->v = s_u2f(it->vbits);
        return it->enc == TSDB_CHUNK_XOR_ST ? s_next_st(it, 0, false) : 0;
    }
    if (!s_get(it, 4, &x))
        return FW_ETRUNC;
    it->scale = (uint8_t)x;
    if ((rc = s_get_u(it, &it->vbits)))
        return rc;
    if (it->enc == TSDB_CHUNK_DECIMAL && (rc = s_get_col(it, &it->order, &it->k, &it->vd)))
        return rc;
    if (!s_m_ok(it->vbits))
        return FW_EPARSE;
    it->v = s_dec_value(s_i64(it->vbits), it->scale);
    return 0;
}

static inline __attribute__((always_inline)) int
s_next_t(struct tsdb_chunk_iter *it)
{
    uint64_t x, delta;
    int rc;
    if (it->tenc == S_T_REGULAR) {
        delta = it->td;
    } else if (it->tenc == S_T_RICE) {
        if ((rc = s_col_step(it, it->torder, it->tk, &it->td, &delta)))
            return rc;
    } else if (it->i == 1) {
        if (!s_get(it, 5, &x) || !s_get(it, (unsigned)x, &delta))
            return FW_ETRUNC;
        delta |= 1ULL << x;
        it->td = delta;
    } else {
        unsigned b = s_ones(it, S_DOD_BUCKETS - 1);
        unsigned prefix = b < S_DOD_BUCKETS - 1 ? b + 1 : b;
        if (prefix > s_avail(it))
            return FW_ETRUNC;
        it->pos += prefix;
        unsigned nb = s_dod_bits[b];
        if (!s_get(it, nb, &x))
            return FW_ETRUNC;
        if (nb && (x >> (nb - 1)) & 1)
            x |= ~0ULL << nb; // sign-extend
        delta = it->td += x;
    }
    // t <= maxt holds, so maxt - t is exact
    if (delta == 0 || delta > (uint64_t)it->maxt - (uint64_t)it->t)
        return FW_EPARSE;
    it->t += (int64_t)delta;
    return 0;
}

static inline __attribute__((always_inline)) int
s_next_xor(struct tsdb_chunk_iter *it)
{
    uint64_t ctl, x, lead, sig;
    if (!s_get(it, 1, &ctl))
        return FW_ETRUNC;
    if (ctl == 0)
        return 0; // same value
    if (!s_get(it, 1, &ctl))
        return FW_ETRUNC;
    if (ctl == 0) {
        if (it->lead == 0xff)
            return FW_EPARSE; // no window yet
        sig = 64u - it->lead - it->trail;
    } else {
        if (!s_get(it, 5, &lead) || !s_get(it, 6, &sig))
            return FW_ETRUNC;
        if (sig == 0)
            sig = 64;
        if (lead + sig > 64)
            return FW_EPARSE;
        it->lead = (uint8_t)lead;
        it->trail = (uint8_t)(64 - lead - sig);
    }
    if (!s_get(it, (unsigned)sig, &x))
        return FW_ETRUNC;
    it->vbits ^= x << it->trail;
    it->v = s_u2f(it->vbits);
    return 0;
}

static int
s_next_xor_st(struct tsdb_chunk_iter *it, int64_t prev_t)
{
    int rc = s_next_xor(it);
    return rc ? rc : s_next_st(it, prev_t, true);
}

static inline __attribute__((always_inline)) int
s_next_dec(struct tsdb_chunk_iter *it)
{
    uint64_t step;
    int rc = s_col_step(it, it->order, it->k, &it->vd, &step);
    if (rc)
        return rc;
    it->vbits += step;
    if (!s_m_ok(it->vbits))
        return FW_EPARSE;
    it->v = s_dec_value(s_i64(it->vbits), it->scale);
    return 0;
}

// A decimal step (encoding 3); it->lead holds the width, 0xff before the first.
static inline __attribute__((always_inline)) int
s_next_decstep(struct tsdb_chunk_iter *it)
{
    uint64_t ctl, w, u;
    if (!s_get(it, 1, &ctl))
        return FW_ETRUNC;
    if (ctl == 0)
        return 0; // same value
    if (!s_get(it, 1, &ctl))
        return FW_ETRUNC;
    if (ctl == 0) {
        if (it->lead == 0xff)
            return FW_EPARSE; // no width yet
        w = it->lead;
    } else {
        if (!s_get(it, 6, &w))
            return FW_ETRUNC;
        if (w == 0 || w > 55)
            return FW_EPARSE; // a step between two |m| < 2^53 has at most 55 bits zigzagged
        it->lead = (uint8_t)w;
    }
    if (!s_get(it, (unsigned)w, &u))
        return FW_ETRUNC;
    it->vbits += s_unzz(u);
    if (!s_m_ok(it->vbits))
        return FW_EPARSE;
    it->v = s_dec_value(s_i64(it->vbits), it->scale);
    return 0;
}

// After the last sample: it ends at max t and nothing but zero padding follows.
static int
s_end(const struct tsdb_chunk_iter *it)
{
    size_t left = s_avail(it);
    if (it->t != it->maxt || left >= 8)
        return FW_EPARSE;
    if (left && s_peek(it) >> (64 - left))
        return FW_EPARSE;
    return 0;
}

static inline bool
s_next(struct tsdb_chunk_iter *it)
{
    if (it->err || it->i >= it->n) {
        it->i = it->n + 1; // past the end: seek must not return the last sample again
        return false;
    }
    int rc;
    int64_t prev_t = it->t;
    if (it->i == 0)
        rc = s_first(it);
    else if (!(rc = s_next_t(it)))
        rc = it->enc == TSDB_CHUNK_XOR       ? s_next_xor(it)
             : it->enc == TSDB_CHUNK_DECIMAL ? s_next_dec(it)
             : it->enc == TSDB_CHUNK_DECSTEP ? s_next_decstep(it)
                                             : s_next_xor_st(it, prev_t);
    if (!rc && ++it->i == it->n)
        rc = s_end(it);
    if (rc) {
        it->err = rc;
        it->i = it->n + 1;
        return false;
    }
    return true;
}

bool
tsdb_chunk_iter_next(struct tsdb_chunk_iter *it)
{
    return s_next(it);
}

// A short Rice code at bit *pos of the chunk p[0..len) (len >= 8, as every chunk's is).
// False for an escaped, long or truncated code, which the caller leaves to s_get_rice.
static inline bool
s_rice_fast(const unsigned char *p, size_t len, size_t *pos, unsigned k, uint64_t *u)
{
    size_t byte = *pos >> 3;
    uint64_t w;
    if (byte + 8 <= len) {
        w = s_load_be64(p + byte) << (*pos & 7); // 57 bits or more of the chunk
    } else {
        if (byte >= len)
            return false;
        w = s_load_be64(p + len - 8) << (8 * (byte + 8 - len)) << (*pos & 7); // then zeros
    }
    unsigned q = ~w ? (unsigned)__builtin_clzll(~w) : 64;
    if (q >= S_RICE_ESC || q + 1 + k > 57 || (byte + 8 > len && *pos + q + 1 + k > 8 * len))
        return false;
    *u = (uint64_t)q << k | (k ? w << (q + 1) >> (64 - k) : 0);
    *pos += q + 1 + k;
    return true;
}

// The samples of a decimal chunk with regular or Rice-coded timestamps, from sample it->i
// >= 1 on, with the state in locals (stores to t[] and v[] may alias *it otherwise) and
// with one load per code. A sample is kept only when it decodes cleanly; whatever is left
// (the last sample and its end check, escapes, damage) is left to s_next. Returns how many
// it decoded.
static size_t
s_read_dec(struct tsdb_chunk_iter *it, int64_t *t, double *v, size_t max)
{
    const unsigned char *p = it->p;
    size_t pos = it->pos, len = it->nbits >> 3;
    int64_t tt = it->t, maxt = it->maxt;
    uint64_t td = it->td, m = it->vbits, vd = it->vd;
    unsigned i = it->i, last = it->n - 1, k = 0;
    const unsigned tk = it->tk, vk = it->k;
    const bool regular = it->tenc == S_T_REGULAR, t_o1 = it->torder == 1, v_o1 = it->order == 1;
    const double div = s_pow10[it->scale];
    while (k < max && i < last) {
        size_t np = pos;
        uint64_t u, ntd = td, delta, nvd = vd, step;
        if (regular) {
            delta = td;
        } else if (t_o1 && i < 2) {
            delta = td;
        } else {
            if (!s_rice_fast(p, len, &np, tk, &u))
                break;
            if (t_o1)
                delta = ntd = td + s_unzz(u);
            else
                delta = td + s_unzz(u);
        }
        if (delta == 0 || delta > (uint64_t)maxt - (uint64_t)tt)
            break;
        if (v_o1 && i < 2) {
            step = vd;
        } else {
            if (!s_rice_fast(p, len, &np, vk, &u))
                break;
            if (v_o1)
                step = nvd = vd + s_unzz(u);
            else
                step = vd + s_unzz(u);
        }
        uint64_t nm = m + step;
        if (!s_m_ok(nm))
            break;
        pos = np;
        td = ntd;
        vd = nvd;
        m = nm;
        tt += (int64_t)delta;
        t[k] = tt;
        v[k] = (double)s_i64(m) / div;
        k++;
        i++;
    }
    if (k > 0) {
        it->pos = pos;
        it->t = tt;
        it->td = td;
        it->vd = vd;
        it->vbits = m;
        it->i = i;
        it->v = v[k - 1];
    }
    return k;
}

size_t
tsdb_chunk_iter_read(struct tsdb_chunk_iter *it, int64_t *t, double *v, size_t max)
{
    size_t k = 0;
    if (it->i == 0 && k < max && s_next(it)) {
        t[k] = it->t;
        v[k] = it->v;
        k++;
    }
    if (it->i >= 1 && !it->err && it->enc == TSDB_CHUNK_DECIMAL && it->tenc != S_T_DOD)
        k += s_read_dec(it, t + k, v + k, max - k);
    while (k < max && s_next(it)) {
        t[k] = it->t;
        v[k] = it->v;
        k++;
    }
    return k;
}

size_t
tsdb_chunk_iter_read_st(struct tsdb_chunk_iter *it, int64_t *t, int64_t *st, double *v, size_t max)
{
    if (it->enc != TSDB_CHUNK_XOR_ST) {
        size_t k = tsdb_chunk_iter_read(it, t, v, max);
        memset(st, 0, k * sizeof(*st));
        return k;
    }
    size_t k = 0;
    while (k < max && s_next(it)) {
        t[k] = it->t;
        st[k] = it->st;
        v[k] = it->v;
        k++;
    }
    return k;
}

bool
tsdb_chunk_iter_seek(struct tsdb_chunk_iter *it, int64_t mint)
{
    if (it->err || it->i > it->n)
        return false;
    if (it->i > 0 && it->t >= mint)
        return true;
    if (mint > it->maxt) {
        it->i = it->n + 1;
        return false;
    }
    while (s_next(it))
        if (it->t >= mint)
            return true;
    return false;
}

int
tsdb_chunk_iter_err(const struct tsdb_chunk_iter *it)
{
    return it->err;
}

// ---------------------------------------------------------------------------------------
// Marks

// A hash of byte 0 and the bytes from 7 (after n and span, which appends rewrite) up to bit
// pos of p, the last partial byte's unread bits masked off.
static uint64_t
s_mark_sum(const unsigned char *p, size_t pos)
{
    const uint64_t mul = 0x9E3779B97F4A7C15ULL;
    uint64_t h = (p[0] + 1ULL) * mul;
    size_t full = pos / 8, k = 7;
    for (; k + 8 <= full; k += 8) {
        h = (h ^ s_load_be64(p + k)) * mul;
        h ^= h >> 29;
    }
    uint64_t w = 0;
    unsigned got = 0;
    for (; k < full; k++, got += 8)
        w = w << 8 | p[k];
    if (pos % 8) {
        w = w << 8 | (p[full] & (0xffu << (8 - pos % 8)) & 0xffu);
        got += 8;
    }
    h = (h ^ w ^ ((uint64_t)got << 56)) * mul;
    return h ^ (h >> 29);
}

bool
tsdb_chunk_iter_mark(const struct tsdb_chunk_iter *it, struct tsdb_chunk_mark *m)
{
    if (it->err || it->i == 0 || it->tenc != S_T_DOD ||
        (it->enc != TSDB_CHUNK_XOR && it->enc != TSDB_CHUNK_DECSTEP &&
         it->enc != TSDB_CHUNK_XOR_ST))
        return false;
    unsigned i = it->i;
    if (i > it->n) {
        if (it->t != it->maxt)
            return false; // passed over by seek, not decoded to the end
        i = it->n;
    }
    if (it->pos > UINT32_MAX || it->pos / 8 < 7 || i > UINT16_MAX)
        return false;
    *m = (struct tsdb_chunk_mark){
        .sum = s_mark_sum(it->p, it->pos),
        .t = it->t,
        .vbits = it->vbits,
        .st = it->st,
        .td = it->td,
        .pos = (uint32_t)it->pos,
        .i = (uint16_t)i,
        .head = it->p[0],
        .lead = it->lead,
        .trail = it->trail,
        .scale = it->scale,
    };
    return true;
}

bool
tsdb_chunk_iter_resume(struct tsdb_chunk_iter *it, const struct tsdb_chunk_mark *m)
{
    if (it->err || it->i != 0 || it->p[0] != m->head || m->i == 0 || it->n < m->i ||
        it->nbits < m->pos || m->pos / 8 < 7 || m->t > it->maxt ||
        s_mark_sum(it->p, m->pos) != m->sum)
        return false;
    it->pos = m->pos;
    it->i = m->i;
    it->t = m->t;
    it->vbits = m->vbits;
    it->st = m->st;
    it->td = m->td;
    it->lead = m->lead;
    it->trail = m->trail;
    it->scale = m->scale;
    it->v =
        it->enc == TSDB_CHUNK_DECSTEP ? s_dec_value(s_i64(m->vbits), m->scale) : s_u2f(m->vbits);
    if (it->i == it->n && s_end(it) != 0) {
        it->err = FW_EPARSE;
        it->i = it->n + 1;
    }
    return true;
}
