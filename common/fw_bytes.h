/*  fw_bytes.h — fixed-width and variable-width integers in byte buffers, one copy for the
    storage keys and records (tsdb_store, tsdb_index), the chunk codec (tsdb_chunk) and the
    ingest state blob (tsdb_ingest).

    Big-endian 64-bit words sort as their values under memcmp, which is what LMDB keys need;
    little-endian n-byte words are the records' fixed fields; uvarints (7 bits a byte, low
    group first, high bit set on every byte but the last, as Go's encoding/binary) are the
    lengths and first timestamps. Static inline: these sit on the hot paths of ingest and
    query, where a call per byte group would show.
*/
#ifndef FW_BYTES_H
#define FW_BYTES_H

#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

// The longest uvarint of a uint64_t, in bytes.
#define FW_BYTES_UVARINT_MAX 10

// Write v into p[0..8) big-endian.
static inline void
fw_bytes_put_u64be(unsigned char *p, uint64_t v)
{
    for (int k = 7; k >= 0; k--) {
        p[k] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

// Read p[0..8) big-endian.
static inline uint64_t
fw_bytes_get_u64be(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = (v << 8) | p[k];
    return v;
}

// Write the n (0..8) low bytes of v into p[0..n) little-endian.
static inline void
fw_bytes_put_le(unsigned char *p, uint64_t v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        p[k] = (unsigned char)(v >> (8 * k));
}

// Read p[0..n) (n 0..8) little-endian.
static inline uint64_t
fw_bytes_get_le(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++)
        v |= (uint64_t)p[k] << (8 * k);
    return v;
}

// Write u as a uvarint at p (room for FW_BYTES_UVARINT_MAX bytes); returns the bytes used.
static inline size_t
fw_bytes_put_uvarint(unsigned char *p, uint64_t u)
{
    size_t n = 0;
    while (u >= 0x80) {
        p[n++] = (unsigned char)(u | 0x80);
        u >>= 7;
    }
    p[n++] = (unsigned char)u;
    return n;
}

// Read the uvarint at p[*off..len) into *out and move *off past it. 0; FW_ETRUNC when the
// buffer ends inside it; FW_EPARSE when it holds more than 64 bits (*out and *off are then
// undefined).
static inline int
fw_bytes_get_uvarint(const unsigned char *p, size_t len, size_t *off, uint64_t *out)
{
    uint64_t u = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (*off >= len)
            return FW_ETRUNC;
        unsigned char b = p[(*off)++];
        if (shift == 63 && b > 1)
            return FW_EPARSE;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *out = u;
            return 0;
        }
    }
}

#endif
