/*  fuzz_tsdb_chunk.c — the chunk codec both ways on every input.

    Decode: the input is a chunk. The header and the iterator must end cleanly with one of
    the documented errors, yield strictly increasing timestamps inside the header's range
    (start times only in encoding 4), and, when they report success, exactly n samples
    ending at max t; seek and reopen (start times included) must agree with them.

    Encode: the input is samples. Byte 0 picks the shape (bits 0-3: decimal scale, bit 4:
    raw float64 values, bits 5-6: the time step, bit 7: a first timestamp from the next 8
    bytes); then each sample is a signed byte of jitter on the step and either 8 bytes of
    float64 or 3 bytes of a scaled integer (0x800000 is the stale marker). The samples are
    appended, chunks cut when full, and every chunk, open and sealed, must give back exactly
    what went in, and reject its own truncation.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_err.h"
#include "tsdb_chunk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX TSDB_CHUNK_MAX_SAMPLES

static uint64_t
s_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static bool
s_known_err(int rc)
{
    return rc == FW_ETRUNC || rc == FW_EPARSE || rc == FW_ETYPE;
}

// The chunk at p[0..len) holds exactly n samples t[], vb[] (bits).
static void
s_expect(const unsigned char *p, size_t len, const int64_t *t, const uint64_t *vb, unsigned n)
{
    struct tsdb_chunk_iter it;
    if (tsdb_chunk_iter_init(&it, p, len) != 0)
        abort();
    unsigned i = 0;
    while (tsdb_chunk_iter_next(&it)) {
        if (i >= n || it.t != t[i] || s_bits(it.v) != vb[i])
            abort();
        i++;
    }
    if (tsdb_chunk_iter_err(&it) != 0 || i != n)
        abort();
    // its own truncation is an error, never a shorter chunk
    if (len > 0) {
        unsigned char *cut = malloc(len - 1 ? len - 1 : 1);
        memcpy(cut, p, len - 1);
        tsdb_chunk_iter_init(&it, cut, len - 1);
        while (tsdb_chunk_iter_next(&it))
            ;
        if (tsdb_chunk_iter_err(&it) != FW_ETRUNC)
            abort();
        free(cut);
    }
}

// The chunk at p[0..len), which decodes cleanly, has the start times st[0..n).
static void
s_expect_st(const unsigned char *p, size_t len, const int64_t *st, unsigned n)
{
    struct tsdb_chunk_iter it;
    tsdb_chunk_iter_init(&it, p, len);
    for (unsigned i = 0; i < n; i++)
        if (!tsdb_chunk_iter_next(&it) || it.st != st[i])
            abort();
}

static void
s_decode(const uint8_t *data, size_t size)
{
    unsigned char *p = malloc(size ? size : 1); // exactly size bytes, for ASan
    memcpy(p, data, size);
    struct tsdb_chunk_info info;
    int rc = tsdb_chunk_info(p, size, &info);
    struct tsdb_chunk_iter it;
    int irc = tsdb_chunk_iter_init(&it, p, size);
    if (rc != irc || (rc && !s_known_err(rc)))
        abort();
    if (rc) {
        if (tsdb_chunk_iter_next(&it) || tsdb_chunk_iter_err(&it) != rc)
            abort();
        free(p);
        return;
    }
    if (info.n < 1 || info.mint > info.maxt)
        abort();
    int64_t t[S_MAX], st[S_MAX];
    uint64_t vb[S_MAX];
    unsigned n = 0;
    int64_t prev = 0;
    while (tsdb_chunk_iter_next(&it)) {
        if (n >= info.n || it.t < info.mint || it.t > info.maxt || (n && it.t <= prev))
            abort();
        if (info.enc != TSDB_CHUNK_XOR_ST && it.st != 0)
            abort(); // only encoding 4 has start times
        if (n < S_MAX) {
            t[n] = it.t;
            st[n] = it.st;
            vb[n] = s_bits(it.v);
        }
        prev = it.t;
        n++;
    }
    rc = tsdb_chunk_iter_err(&it);
    if (rc && !s_known_err(rc))
        abort();
    if (!rc && (n != info.n || prev != info.maxt))
        abort();
    // seek to the middle of the range lands on the first sample at or after it
    int64_t mid = info.mint + (info.maxt - info.mint) / 2;
    tsdb_chunk_iter_init(&it, p, size);
    if (tsdb_chunk_iter_seek(&it, mid)) {
        if (it.t < mid)
            abort();
        for (unsigned i = 0; i < n && i < S_MAX; i++) {
            if (t[i] < mid)
                continue;
            if (t[i] != it.t || vb[i] != s_bits(it.v))
                abort();
            break;
        }
    } else if (!rc && tsdb_chunk_iter_err(&it) == 0 && prev >= mid) {
        abort();
    }
    // reopen takes exactly the good chunks an open chunk can hold
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int orc = tsdb_chunk_app_reopen(&a, p, size);
    if (orc == 0) {
        if (rc || n > S_MAX)
            abort();
        size_t len;
        const unsigned char *q = tsdb_chunk_app_bytes(&a, &len);
        s_expect(q, len, t, vb, n);
        s_expect_st(q, len, st, n);
        tsdb_chunk_app_seal(&a);
        q = tsdb_chunk_app_bytes(&a, &len);
        s_expect(q, len, t, vb, n);
        s_expect_st(q, len, st, n);
    } else if (!s_known_err(orc) || tsdb_chunk_app_count(&a) != 0) {
        abort();
    }
    tsdb_chunk_app_clear(&a);
    free(p);
}

// Check the open chunk, seal it, check it again, and start the next.
static void
s_cut(struct tsdb_chunk_app *a, const int64_t *t, const uint64_t *vb, unsigned n)
{
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(a, &len);
    if (tsdb_chunk_app_count(a) != n)
        abort();
    if (n == 0)
        return;
    s_expect(p, len, t, vb, n);
    size_t open_len = len;
    tsdb_chunk_app_seal(a);
    p = tsdb_chunk_app_bytes(a, &len);
    if (len > open_len)
        abort();
    s_expect(p, len, t, vb, n);
    tsdb_chunk_app_reset(a);
}

static void
s_encode(const uint8_t *data, size_t size)
{
    static const int64_t steps[4] = {1, 1000, 15000, 600000};
    if (size < 1)
        return;
    unsigned mode = data[0], scale = mode & 15;
    bool raw = mode & 16;
    int64_t step = steps[(mode >> 5) & 3], now = 1767225600000LL;
    size_t off = 1;
    if ((mode & 128) && size >= 9) {
        uint64_t u = 0;
        for (int k = 0; k < 8; k++)
            u = u << 8 | data[1 + k];
        memcpy(&now, &u, sizeof(now));
        off = 9;
    }
    double pow10 = 1;
    for (unsigned k = 0; k < scale; k++)
        pow10 *= 10;
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[S_MAX];
    uint64_t vb[S_MAX];
    unsigned n = 0;
    size_t rec = raw ? 9 : 4;
    for (bool first = true; size - off >= rec; off += rec, first = false) {
        int64_t dt = step + (int8_t)data[off];
        if (dt < 1)
            dt = 1;
        if (!first) {
            if (now > INT64_MAX - dt)
                break;
            now += dt;
        }
        uint64_t bits;
        if (raw) {
            bits = 0;
            for (int k = 0; k < 8; k++)
                bits = bits << 8 | data[off + 1 + (size_t)k];
        } else {
            uint32_t u =
                (uint32_t)data[off + 1] << 16 | (uint32_t)data[off + 2] << 8 | data[off + 3];
            int32_t m = (int32_t)(u ^ 0x800000) - 0x800000;
            double v = (double)m / pow10;
            bits = u == 0x800000 ? 0x7ff0000000000002ULL : s_bits(v);
        }
        double v;
        memcpy(&v, &bits, sizeof(v));
        if (tsdb_chunk_app_full(&a, now)) {
            s_cut(&a, t, vb, n);
            n = 0;
        }
        if (tsdb_chunk_app_append(&a, now, v) != 0)
            abort(); // strictly increasing and not full: must be taken
        t[n] = now;
        vb[n++] = bits;
    }
    s_cut(&a, t, vb, n);
    tsdb_chunk_app_clear(&a);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode(data, size);
    s_encode(data, size);
    return 0;
}
