/*  tsdb_xor.h — Prometheus's XOR chunk encoding (Gorilla-style), as remote read's
    STREAMED_XOR_CHUNKS responses carry it (prompb Chunk.Encoding XOR = 1).

    floorwatch stores its own chunk encodings (tsdb_chunk.h); remote read answers are
    re-encoded into this format, and `tsdb migrate` decodes it. Written from the format's
    documentation (Prometheus's tsdb/docs/format/chunks.md and bstream.md) and checked
    byte for byte against chunks a real Prometheus 2.42 sent (check_tsdb_xor):

        2 bytes    the number of samples, big-endian
        sample 1   t as a signed (zig-zag) varint, then the 64 bits of v
        sample 2   t - t1 as a uvarint, then v XOR-encoded
        then       t's delta of delta: '0' (0), '10' + 14 bits, '110' + 17 bits, '1110' + 20
                   bits (two's complement, in [-(2^(n-1)-1), 2^(n-1)]) or '1111' + 64 bits;
                   then v XOR-encoded against the previous value: '0' (same bits), or '1',
                   then '0' and the meaningful bits within the previous window, or '1', 5
                   bits of leading zeros (at most 31), 6 bits of meaningful bits (0 for 64)
                   and those bits.
    Bits are written most significant first. As Prometheus's bstream, a byte written whole
    always opens a new last byte, so a chunk ends with an empty byte when its last write
    was byte-aligned (a one-sample chunk): the bytes are Prometheus's exactly.

    Pure; an encoder or iterator belongs to one thread.
*/
#ifndef TSDB_XOR_H
#define TSDB_XOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Samples a chunk cut by floorwatch holds at most: Prometheus's head cuts at 120.
#define TSDB_XOR_CHUNK_SAMPLES 120
#define TSDB_XOR_ENCODING 1 // prompb Chunk.Encoding XOR

struct tsdb_xor_enc {
    unsigned char *p; // owned: the chunk's bytes so far
    size_t len, cap;
    unsigned count; // free bits of the last byte
    uint16_t n;     // samples
    int64_t t, mint;
    uint64_t t_delta, v;
    uint8_t leading, trailing;
};

// An empty chunk (the two count bytes). Cannot fail.
void tsdb_xor_enc_init(struct tsdb_xor_enc *e);
// Empty it again, keeping its buffer.
void tsdb_xor_enc_reset(struct tsdb_xor_enc *e);
void tsdb_xor_enc_free(struct tsdb_xor_enc *e);
// Append a sample (t after the previous one; at most 65535 samples a chunk).
void tsdb_xor_enc_append(struct tsdb_xor_enc *e, int64_t t, double v);

struct tsdb_xor_iter {
    int64_t t; // the current sample after tsdb_xor_iter_next returned true
    double v;

    const unsigned char *p; // borrowed
    size_t len, bit;        // bit: position in p, past the count
    uint16_t total, read;
    uint64_t t_delta, vbits;
    uint8_t leading, trailing;
    bool err;
};

// Iterate over chunk p[0..len) (borrowed). False (and err set) when it is too short.
bool tsdb_xor_iter_init(struct tsdb_xor_iter *it, const unsigned char *p, size_t len);
// The next sample; false after the last, or when the chunk is damaged (it->err).
bool tsdb_xor_iter_next(struct tsdb_xor_iter *it);

#endif
