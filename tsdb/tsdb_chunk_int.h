/*  tsdb_chunk_int.h — private to the chunk codec: the constants and small helpers that both
    tsdb_chunk.c (appending, sealing) and tsdb_chunk_read.c (header, iterator) use. Nobody
    else includes it. They keep the s_ and S_ names of the one file they came from: each
    includer gets its own static copy, as if they were its statics.
*/
#ifndef TSDB_CHUNK_INT_H
#define TSDB_CHUNK_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "tsdb_chunk.h"

#define S_VENC_MASK 0x3f                    // byte 0: the value encoding...
#define S_TENC_SHIFT 6                      // ...and the time encoding above it
#define S_T_DOD 0                           // time: dod buckets (open chunks)
#define S_T_RICE 1                          // time: a Rice-coded column
#define S_T_REGULAR 2                       // time: equal steps, no codes
#define S_HDR_FIXED 7                       // encoding, n, span
#define S_HDR_MAX (S_HDR_FIXED + 10)        // plus the longest zvarint
#define S_M_MAX ((int64_t)(1ULL << 53) - 1) // |m| bound of decimal chunks
#define S_RICE_ESC 16                       // unary quotients from here are escaped
#define S_APP_SLACK (S_HDR_MAX + 16 + 8)    // bytes an append may touch past the last bit

// The timestamp dod buckets: a prefix of b '1's and a '0' (the last has no '0'), then a
// two's complement field of this many bits.
static const unsigned s_dod_bits[] = {0, 4, 8, 16, 24, 33};
#define S_DOD_BUCKETS 6

static const double s_pow10[TSDB_CHUNK_MAX_SCALE + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
};

// ---------------------------------------------------------------------------------------
// Small helpers

static inline unsigned
s_bitlen(uint64_t u)
{
    return u ? 64 - (unsigned)__builtin_clzll(u) : 0;
}

static inline uint64_t
s_zz(int64_t x)
{
    return ((uint64_t)x << 1) ^ (0 - ((uint64_t)x >> 63));
}

// The two's complement bits of the zigzag-mapped u.
static inline uint64_t
s_unzz(uint64_t u)
{
    return (u >> 1) ^ (0 - (u & 1));
}

// Two's complement bits to int64 without implementation-defined conversions.
static inline int64_t
s_i64(uint64_t u)
{
    return u < (1ULL << 63) ? (int64_t)u : -(int64_t)(~u) - 1;
}

static inline uint64_t
s_f2u(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static inline double
s_u2f(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

// The value of a decimal sample: the encoder verifies with this very function.
static inline double
s_dec_value(int64_t m, unsigned d)
{
    return (double)m / s_pow10[d];
}

static inline bool
s_m_ok(uint64_t m)
{
    return m + (uint64_t)S_M_MAX <= 2 * (uint64_t)S_M_MAX;
}

static inline uint64_t
s_load_be64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

static inline void
s_store_be64(unsigned char *p, uint64_t w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    memcpy(p, &w, sizeof(w));
}

static inline unsigned
s_get_u16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static inline void
s_set_u16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline uint32_t
s_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void
s_set_u32(unsigned char *p, uint32_t v)
{
    for (int k = 0; k < 4; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

#endif
