/*  tsdb_chunk.c — the chunk codec (byte layout in tsdb_chunk.h).

    This file appends and seals; tsdb_chunk_read.c reads (header, iterator), and
    tsdb_chunk_int.h holds what both use. Bits are written most significant first by OR-ing
    a big-endian 64-bit window into buffers whose spare bytes are zero and that keep 8 bytes
    of slack past the last bit, so a put is a load, an OR and a store: the appender trusts
    its own state, while the decoder never trusts the bytes.

    Sealing decodes the open chunk into arrays on the stack and prices every form exactly
    before writing one: timestamps as they are (dod buckets), as a Rice-coded column or, when
    all steps are equal, not at all; values as they are (XOR) or, when every one of them is
    exactly (double)m / 10^d (the expression the decoder uses, so the check is the round trip
    itself), as a Rice-coded column of the m. A column is coded as deltas from their median
    or as deltas of deltas, whichever is smaller, with the best of a few Rice parameters. The
    cheapest form is written over the open bytes when it is smaller, which also means it fits.
    On the bench data (1000 series x 2 h at 15 s) chunks take 0.75 bytes a sample against 3.0
    for plain XOR; appending costs ~9 ns a sample, sealing ~30, decoding ~7.
*/
#include "tsdb_chunk.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_err.h"
#include "fw_mem.h"
#include "tsdb_chunk_int.h"

// ---------------------------------------------------------------------------------------
// Bit writer (trusted state; the buffer has zero bytes and 8 bytes of slack past pos)

struct s_bw {
    unsigned char *p;
    size_t pos; // bits
};

// Put the n (1..56) low bits of v.
static inline void
s_put56(struct s_bw *w, uint64_t v, unsigned n)
{
    v &= (1ULL << n) - 1;
    unsigned char *b = w->p + (w->pos >> 3);
    unsigned off = (unsigned)(w->pos & 7);
    s_store_be64(b, s_load_be64(b) | v << (64 - off - n));
    w->pos += n;
}

// Put the n (0..64) low bits of v.
static inline void
s_put(struct s_bw *w, uint64_t v, unsigned n)
{
    if (n > 56) {
        s_put56(w, v >> 32, n - 32);
        n = 32;
    }
    if (n)
        s_put56(w, v, n);
}

// The dod bucket of a timestamp code (0 for dod = 0).
static unsigned
s_dod_bucket(int64_t dod)
{
    if (dod == 0)
        return 0;
    for (unsigned b = 1; b < S_DOD_BUCKETS - 1; b++) {
        int64_t lim = (int64_t)1 << (s_dod_bits[b] - 1);
        if (dod >= -lim && dod < lim)
            return b;
    }
    return S_DOD_BUCKETS - 1;
}

// Bits of the dod-bucket timestamp code of sample i >= 1 (first delta, or dod).
static unsigned
s_ts_cost(unsigned i, uint64_t delta, uint64_t prev_delta)
{
    if (i == 1)
        return 4 + s_bitlen(delta);
    unsigned b = s_dod_bucket((int64_t)delta - (int64_t)prev_delta);
    return (b < S_DOD_BUCKETS - 1 ? b + 1 : b) + s_dod_bits[b];
}

// The dod-bucket timestamp code of sample i >= 1: delta after the previous sample,
// prev_delta before it.
static void
s_put_ts(struct s_bw *w, unsigned i, uint64_t delta, uint64_t prev_delta)
{
    if (i == 1) {
        unsigned l = s_bitlen(delta); // 5 bits L-1, then L-1 bits
        s_put(w, l - 1, 5);
        s_put(w, delta, l - 1);
        return;
    }
    int64_t dod = (int64_t)delta - (int64_t)prev_delta;
    unsigned b = s_dod_bucket(dod);
    if (b < S_DOD_BUCKETS - 1)
        s_put(w, (1ULL << (b + 1)) - 2, b + 1); // b '1's then a '0'
    else
        s_put(w, (1ULL << b) - 1, b);
    s_put(w, (uint64_t)dod, s_dod_bits[b]);
}

// U(x): 6 bits of bit length, then the bits of zigzag(x).
static void
s_put_u(struct s_bw *w, int64_t x)
{
    uint64_t u = s_zz(x);
    unsigned l = s_bitlen(u);
    s_put(w, l, 6);
    s_put(w, u, l);
}

static inline unsigned
s_rice_cost(uint64_t u, unsigned k)
{
    uint64_t q = u >> k;
    return q < S_RICE_ESC ? (unsigned)q + 1 + k : S_RICE_ESC + 6 + s_bitlen(u);
}

static void
s_put_rice(struct s_bw *w, uint64_t u, unsigned k)
{
    uint64_t q = u >> k;
    if (q < S_RICE_ESC) {
        s_put(w, (1ULL << (q + 1)) - 2, (unsigned)q + 1);
        s_put(w, u, k);
    } else {
        unsigned l = s_bitlen(u);
        s_put(w, (1ULL << S_RICE_ESC) - 1, S_RICE_ESC);
        s_put(w, l, 6);
        s_put(w, u, l);
    }
}

// The XOR code of a value whose predecessor's bits are prev; *wlead and *wtrail hold the
// current window (*wlead 0xff: none yet).
static void
s_put_xor(struct s_bw *w, uint64_t prev, uint8_t *wlead, uint8_t *wtrail, uint64_t bits)
{
    uint64_t x = bits ^ prev;
    if (x == 0) {
        s_put(w, 0, 1);
        return;
    }
    unsigned lead = (unsigned)__builtin_clzll(x), trail = (unsigned)__builtin_ctzll(x);
    if (lead > 31)
        lead = 31;
    // reuse the window when x fits and that is not dearer than a new one (13 + its width)
    unsigned reuse = 64u - *wlead - *wtrail;
    if (*wlead != 0xff && lead >= *wlead && trail >= *wtrail && reuse <= 75 - lead - trail) {
        s_put(w, 2, 2);
        s_put(w, x >> *wtrail, reuse);
        return;
    }
    unsigned sig = 64 - lead - trail;
    s_put(w, 3, 2);
    s_put(w, lead, 5);
    s_put(w, sig & 63, 6);
    s_put(w, x >> trail, sig);
    *wlead = (uint8_t)lead;
    *wtrail = (uint8_t)trail;
}

// The decimal-step code of m after prev (encoding 3); *width holds the current width (0xff:
// none yet). Both |m| and |prev| are below 2^53.
static void
s_put_decstep(struct s_bw *w, int64_t prev, uint8_t *width, int64_t m)
{
    uint64_t u = s_zz(m - prev);
    if (u == 0) {
        s_put(w, 0, 1);
        return;
    }
    unsigned l = s_bitlen(u);
    // keep the width while it costs no more than a new one (6 bits dearer)
    if (*width != 0xff && l <= *width && *width <= l + 6) {
        s_put(w, 2, 2);
        s_put(w, u, *width);
        return;
    }
    s_put(w, 3, 2);
    s_put(w, l, 6);
    s_put(w, u, l);
    *width = (uint8_t)l;
}

// The start time code of a sample of encoding 4 after its value code: st after prev_st,
// the previous sample's start time, and prev_t its timestamp (has_prev false: sample 0).
static void
s_put_st(struct s_bw *w, int64_t prev_st, int64_t prev_t, bool has_prev, int64_t st)
{
    if (st == prev_st) {
        s_put(w, 0, 1);
        return;
    }
    if (has_prev && st == prev_t) {
        s_put(w, 2, 2);
        return;
    }
    uint64_t u = s_zz((int64_t)((uint64_t)st - (uint64_t)prev_st));
    unsigned l = s_bitlen(u); // 1..64: u != 0
    s_put(w, 3, 2);
    s_put(w, l - 1, 6);
    s_put(w, u, l);
}

// ---------------------------------------------------------------------------------------
// Decimals

// m with s_dec_value(m, d) bit-identical to v (whose bits are bits), or false.
static bool
s_dec_fit(double v, uint64_t bits, unsigned d, int64_t *m)
{
    double x = v * s_pow10[d];
    if (!(x >= -0x1p53 && x <= 0x1p53))
        return false; // also NaN and the infinities; the candidates are checked below
    int64_t c = (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
    // x carries the rounding of v and of the product: the m sought is c or next to it
    for (int64_t dc = 0; dc <= 2; dc++) {
        int64_t cand = dc == 2 ? c + 1 : c - dc;
        if (cand >= -S_M_MAX && cand <= S_M_MAX && s_f2u(s_dec_value(cand, d)) == bits) {
            *m = cand;
            return true;
        }
    }
    return false;
}

bool
tsdb_chunk_dec_fit(double v, unsigned d, int64_t *m)
{
    return d <= TSDB_CHUNK_MAX_SCALE && s_dec_fit(v, s_f2u(v), d, m);
}

double
tsdb_chunk_dec_value(int64_t m, unsigned d)
{
    return s_dec_value(m, d);
}

// The smallest scale d >= from at which v is exact, with its m; false when there is none.
static bool
s_dec_first(double v, uint64_t bits, unsigned from, unsigned *d, int64_t *m)
{
    for (unsigned k = from; k <= TSDB_CHUNK_MAX_SCALE; k++)
        if (s_dec_fit(v, bits, k, m)) {
            *d = k;
            return true;
        }
    return false;
}

// ---------------------------------------------------------------------------------------
// Appender

void
tsdb_chunk_app_init(struct tsdb_chunk_app *a)
{
    memset(a, 0, sizeof(*a));
}

static void
s_reserve(struct tsdb_chunk_app *a, size_t need)
{
    if (need <= a->cap)
        return;
    // doubling: a chunk's buffer grows from 64 bytes about twice before the chunk is cut (it
    // is freed then, tsdb_head.c), where growing by half took four reallocs, each a copy
    size_t ncap = 2 * (size_t)a->cap;
    if (ncap < 64)
        ncap = 64;
    if (ncap < need)
        ncap = need;
    a->buf = fw_realloc(a->buf, ncap);
    memset(a->buf + a->cap, 0, ncap - a->cap);
    a->cap = (uint32_t)ncap;
}

bool
tsdb_chunk_app_full(const struct tsdb_chunk_app *a, int64_t t)
{
    if (a->sealed)
        return true;
    if (a->n == 0)
        return false;
    if (a->n >= TSDB_CHUNK_MAX_SAMPLES)
        return true;
    if (t <= a->t)
        return false; // out of order, not full
    uint64_t span = s_get_u32(a->buf + 3), gap = (uint64_t)t - (uint64_t)a->t;
    return gap >= TSDB_CHUNK_MAX_SPAN_MS - span;
}

// Append (t, v), whose bits are bits, in value encoding enc: XOR, or decimal steps at scale
// d (then m is v's scaled integer there). The caller has checked t and reserved the bytes.
// In the decimal steps a->vbits holds the last m, a->lead the width and a->trail d.
// The start time of an XOR_ST chunk's last sample: kept as an offset from its timestamp
// when within +-24 days of it (a delta series, a counter started recently), else decoded
// (an appender has no room for another 8 bytes: it lives in every series of the head).
static int64_t
s_last_st(const struct tsdb_chunk_app *a)
{
    if (a->st_off != INT32_MIN)
        return (int64_t)((uint64_t)a->t + (uint64_t)(int64_t)a->st_off);
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(a, &len);
    struct tsdb_chunk_iter it;
    tsdb_chunk_iter_init(&it, p, len);
    int64_t st = 0;
    while (tsdb_chunk_iter_next(&it))
        st = it.st;
    assert(!tsdb_chunk_iter_err(&it)); // our own bytes
    return st;
}

// In XOR_ST, st is the sample's start time.
static void
s_append(struct tsdb_chunk_app *a, int64_t t, int64_t st, uint64_t bits, unsigned enc, unsigned d,
         int64_t m)
{
    struct s_bw w = {a->buf, a->nbits};
    if (enc == TSDB_CHUNK_XOR_ST) {
        int64_t prev_t = a->t;
        bool has_prev = a->n > 0;
        int64_t prev_st = has_prev ? s_last_st(a) : 0;
        s_append(a, t, 0, bits, TSDB_CHUNK_XOR, 0, 0);
        a->buf[0] = (unsigned char)(a->buf[0] & ~S_VENC_MASK) | TSDB_CHUNK_XOR_ST;
        w.pos = a->nbits;
        s_put_st(&w, prev_st, prev_t, has_prev, st);
        a->nbits = (uint32_t)w.pos;
        int64_t off = (int64_t)((uint64_t)st - (uint64_t)t);
        a->st_off = off > INT32_MIN && off <= INT32_MAX ? (int32_t)off : INT32_MIN;
        return;
    }
    if (a->n == 0) {
        a->buf[0] = (unsigned char)enc;
        s_set_u16(a->buf + 1, 1);
        s_set_u32(a->buf + 3, 0);
        a->hlen = (uint8_t)(S_HDR_FIXED + fw_bytes_put_uvarint(a->buf + S_HDR_FIXED, s_zz(t)));
        w.pos = (size_t)a->hlen * 8;
        a->lead = 0xff;
        if (enc == TSDB_CHUNK_XOR) {
            s_put(&w, bits, 64);
        } else {
            s_put(&w, d, 4);
            s_put_u(&w, m);
            a->trail = (uint8_t)d;
        }
    } else {
        uint64_t delta = (uint64_t)t - (uint64_t)a->t; // < TSDB_CHUNK_MAX_SPAN_MS (not full)
        s_put_ts(&w, a->n, delta, a->delta);
        if (enc == TSDB_CHUNK_XOR)
            s_put_xor(&w, a->vbits, &a->lead, &a->trail, bits);
        else
            s_put_decstep(&w, s_i64(a->vbits), &a->lead, m);
        s_set_u16(a->buf + 1, a->n + 1u);
        s_set_u32(a->buf + 3, s_get_u32(a->buf + 3) + (uint32_t)delta);
        a->delta = (uint32_t)delta;
    }
    a->n++;
    a->t = t;
    a->vbits = enc == TSDB_CHUNK_XOR ? bits : (uint64_t)m;
    a->nbits = (uint32_t)w.pos;
}

// Code the open chunk again with the value v (bits bits) at t appended: at the smallest
// scale that takes every value when there is one, else as XOR.
static void
s_recode(struct tsdb_chunk_app *a, int64_t t, uint64_t bits)
{
    int64_t ts[TSDB_CHUNK_MAX_SAMPLES];
    uint64_t vb[TSDB_CHUNK_MAX_SAMPLES], mm[TSDB_CHUNK_MAX_SAMPLES];
    unsigned n = 0;
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(a, &len);
    struct tsdb_chunk_iter it;
    tsdb_chunk_iter_init(&it, p, len);
    while (n < TSDB_CHUNK_MAX_SAMPLES - 1 && tsdb_chunk_iter_next(&it)) {
        ts[n] = it.t;
        vb[n++] = s_f2u(it.v);
    }
    assert(n == a->n && !tsdb_chunk_iter_err(&it)); // our own bytes
    ts[n] = t;
    vb[n++] = bits;
    unsigned enc = TSDB_CHUNK_XOR, d = 0;
    int64_t m = 0;
    if (s_dec_first(s_u2f(bits), bits, a->trail, &d, &m)) {
        enc = TSDB_CHUNK_DECSTEP;
        for (unsigned i = 0; i < n && enc != TSDB_CHUNK_XOR; i++)
            if (s_dec_fit(s_u2f(vb[i]), vb[i], d, &m))
                mm[i] = (uint64_t)m;
            else
                enc = TSDB_CHUNK_XOR;
    }
    tsdb_chunk_app_reset(a);
    for (unsigned i = 0; i < n; i++) {
        // XOR takes at most 13 + 64 bits a sample over the decimal steps' 64 + 10
        s_reserve(a, (a->nbits >> 3) + S_APP_SLACK);
        s_append(a, ts[i], 0, vb[i], enc, d, enc == TSDB_CHUNK_XOR ? 0 : s_i64(mm[i]));
    }
}

// Code the open chunk again as XOR with start times (every sample so far without one) with
// the sample (t, st, bits) appended.
static void
s_recode_st(struct tsdb_chunk_app *a, int64_t t, int64_t st, uint64_t bits)
{
    int64_t ts[TSDB_CHUNK_MAX_SAMPLES];
    uint64_t vb[TSDB_CHUNK_MAX_SAMPLES];
    unsigned n = 0;
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(a, &len);
    struct tsdb_chunk_iter it;
    tsdb_chunk_iter_init(&it, p, len);
    while (n < TSDB_CHUNK_MAX_SAMPLES - 1 && tsdb_chunk_iter_next(&it)) {
        ts[n] = it.t;
        vb[n++] = s_f2u(it.v);
    }
    assert(n == a->n && !tsdb_chunk_iter_err(&it)); // our own bytes
    tsdb_chunk_app_reset(a);
    for (unsigned i = 0; i <= n; i++) {
        // a sample takes at most 115 bits and its start time 72
        s_reserve(a, (a->nbits >> 3) + S_APP_SLACK + 10);
        if (i < n)
            s_append(a, ts[i], 0, vb[i], TSDB_CHUNK_XOR_ST, 0, 0);
        else
            s_append(a, t, st, bits, TSDB_CHUNK_XOR_ST, 0, 0);
    }
}

int
tsdb_chunk_app_append(struct tsdb_chunk_app *a, int64_t t, double v)
{
    return tsdb_chunk_app_append_st(a, t, 0, v);
}

int
tsdb_chunk_app_append_st(struct tsdb_chunk_app *a, int64_t t, int64_t st, double v)
{
    if (a->sealed || (a->n > 0 && (t <= a->t || tsdb_chunk_app_full(a, t))))
        return -1;
    uint64_t bits = s_f2u(v);
    // a sample takes at most the header, 115 bits and a start time's 72; the writer needs 8
    // bytes of slack
    s_reserve(a, (a->nbits >> 3) + S_APP_SLACK + 10);
    unsigned d = 0;
    int64_t m = 0;
    if (a->n > 0 && (a->buf[0] & S_VENC_MASK) == TSDB_CHUNK_XOR_ST) {
        s_append(a, t, st, bits, TSDB_CHUNK_XOR_ST, 0, 0);
    } else if (st != 0) {
        if (a->n == 0)
            s_append(a, t, st, bits, TSDB_CHUNK_XOR_ST, 0, 0);
        else
            s_recode_st(a, t, st, bits);
    } else if (a->n == 0) {
        bool dec = s_dec_first(v, bits, 0, &d, &m);
        s_append(a, t, 0, bits, dec ? TSDB_CHUNK_DECSTEP : TSDB_CHUNK_XOR, d, m);
    } else if ((a->buf[0] & S_VENC_MASK) == TSDB_CHUNK_XOR) {
        s_append(a, t, 0, bits, TSDB_CHUNK_XOR, 0, 0);
    } else if (s_dec_fit(v, bits, a->trail, &m)) {
        s_append(a, t, 0, bits, TSDB_CHUNK_DECSTEP, a->trail, m);
    } else {
        s_recode(a, t, bits); // more places than so far, or no decimal at all
    }
    return 0;
}

unsigned
tsdb_chunk_app_count(const struct tsdb_chunk_app *a)
{
    return a->n;
}

int64_t
tsdb_chunk_app_last_t(const struct tsdb_chunk_app *a)
{
    return a->t;
}

const unsigned char *
tsdb_chunk_app_bytes(const struct tsdb_chunk_app *a, size_t *len)
{
    *len = a->n ? (a->nbits + 7u) / 8 : 0;
    return a->buf;
}

void
tsdb_chunk_app_reset(struct tsdb_chunk_app *a)
{
    unsigned char *buf = a->buf;
    uint32_t cap = a->cap;
    if (buf)
        memset(buf, 0, cap);
    memset(a, 0, sizeof(*a));
    a->buf = buf;
    a->cap = cap;
}

void
tsdb_chunk_app_clear(struct tsdb_chunk_app *a)
{
    free(a->buf);
    memset(a, 0, sizeof(*a));
}

int
tsdb_chunk_app_reopen(struct tsdb_chunk_app *a, const void *p, size_t len)
{
    struct tsdb_chunk_iter it;
    tsdb_chunk_app_reset(a);
    int rc = tsdb_chunk_iter_init(&it, p, len);
    while (rc == 0 && tsdb_chunk_iter_next(&it))
        if (tsdb_chunk_app_append_st(a, it.t, it.st, it.v) != 0)
            rc = FW_EPARSE; // longer or wider than an open chunk may be
    if (rc == 0)
        rc = tsdb_chunk_iter_err(&it);
    if (rc)
        tsdb_chunk_app_reset(a);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Sealing

// The smallest scale d at which every value is exact; m[] gets the scaled integers.
static bool
s_dec_scale(const uint64_t *vb, unsigned n, int64_t *m, unsigned *d_out)
{
    unsigned d = 0, first_at_d = 0;
    for (unsigned i = 0; i < n; i++) {
        double v = s_u2f(vb[i]);
        while (!s_dec_fit(v, vb[i], d, &m[i])) {
            if (++d > TSDB_CHUNK_MAX_SCALE)
                return false;
            first_at_d = i;
        }
    }
    // values before the last raise of d were scaled by less
    for (unsigned i = 0; i < first_at_d; i++)
        if (!s_dec_fit(s_u2f(vb[i]), vb[i], d, &m[i]))
            return false;
    *d_out = d;
    return true;
}

// The median of a[0..n) (n >= 1), reordering a (Hoare's selection).
static int64_t
s_median(int64_t *a, int n)
{
    int lo = 0, hi = n - 1, want = n / 2;
    while (lo < hi) {
        int64_t pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i <= j) {
                int64_t tmp = a[i];
                a[i++] = a[j];
                a[j--] = tmp;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            break; // a[j+1..i-1] all equal the pivot
    }
    return a[want];
}

// The cheapest Rice parameter for u[0..n) and its cost in bits. The best k sits a little
// below the bit length of a typical u; the median's, not the mean's, so that a counter
// reset or a step does not drag it up (they pay an escape instead).
static unsigned
s_rice_best(const uint64_t *u, unsigned n, size_t *cost_out)
{
    unsigned hist[65] = {0}, lmed = 0, best_k = 0;
    for (unsigned i = 0; i < n; i++)
        hist[s_bitlen(u[i])]++;
    for (unsigned seen = 0; lmed < 64 && (seen += hist[lmed]) < (n + 1) / 2;)
        lmed++;
    size_t best = SIZE_MAX;
    for (unsigned k = lmed > 3 ? lmed - 3 : 0; k <= lmed + 1 && k <= 57; k++) {
        size_t c = 0;
        for (unsigned i = 0; i < n; i++)
            c += s_rice_cost(u[i], k);
        if (c < best) {
            best = c;
            best_k = k;
        }
    }
    *cost_out = best;
    return best_k;
}

// A column of integers (timestamps, or decimal m) coded as Rice residuals.
struct s_col {
    unsigned order, k; // 0: steps minus the median step; 1: steps minus the previous step
    int64_t p;         // the median step (order 0) or the first step (order 1)
    size_t bits;       // parameters and residuals
    uint64_t u[TSDB_CHUNK_MAX_SAMPLES]; // zigzag residuals by sample (from 1 or 2)
};

// Choose the cheaper way to code x[0..n) (n >= 1; steps below 2^55).
static void
s_col_plan(struct s_col *c, const int64_t *x, unsigned n)
{
    int64_t dx[TSDB_CHUNK_MAX_SAMPLES], tmp[TSDB_CHUNK_MAX_SAMPLES];
    uint64_t u1[TSDB_CHUNK_MAX_SAMPLES];
    c->order = c->k = 0;
    c->p = 0;
    c->bits = 7;
    if (n < 2)
        return;
    for (unsigned i = 1; i < n; i++)
        dx[i] = tmp[i] = x[i] - x[i - 1];
    int64_t base = s_median(tmp + 1, (int)n - 1);
    for (unsigned i = 1; i < n; i++)
        c->u[i] = s_zz(dx[i] - base);
    for (unsigned i = 2; i < n; i++)
        u1[i] = s_zz(dx[i] - dx[i - 1]);
    size_t c0, c1;
    unsigned k0 = s_rice_best(c->u + 1, n - 1, &c0);
    unsigned k1 = s_rice_best(u1 + 2, n - 2, &c1);
    c0 += 13 + s_bitlen(s_zz(base));
    c1 += 13 + s_bitlen(s_zz(dx[1]));
    if (c1 < c0) {
        c->order = 1;
        c->k = k1;
        c->p = dx[1];
        c->bits = c1;
        memcpy(c->u + 2, u1 + 2, (n - 2) * sizeof(u1[0]));
    } else {
        c->k = k0;
        c->p = base;
        c->bits = c0;
    }
}

static void
s_col_put_params(struct s_bw *w, const struct s_col *c, unsigned n)
{
    s_put(w, c->order, 1);
    s_put(w, c->k, 6);
    if (n >= 2)
        s_put_u(w, c->p);
}

static void
s_col_put(struct s_bw *w, const struct s_col *c, unsigned i)
{
    if (c->order == 0 || i >= 2)
        s_put_rice(w, c->u[i], c->k);
}

// A sealed chunk's form and the samples it holds.
struct s_form {
    unsigned n, tenc, venc, d;
    const int64_t *ts, *m;
    const uint64_t *vb;
    const struct s_col *tc, *vc;
};

// Write the chunk of form f after the header hdr[0..hlen) into out (zeroed, with 8 bytes of
// slack past the result); returns its length in bits.
static size_t
s_write(unsigned char *out, const unsigned char *hdr, size_t hlen, const struct s_form *f)
{
    memcpy(out, hdr, hlen);
    out[0] = (unsigned char)(f->venc | f->tenc << S_TENC_SHIFT);
    struct s_bw w = {out, hlen * 8};
    uint8_t lead = 0xff, trail = 0;
    if (f->tenc == S_T_RICE)
        s_col_put_params(&w, f->tc, f->n);
    if (f->venc == TSDB_CHUNK_XOR) {
        s_put(&w, f->vb[0], 64);
    } else {
        s_put(&w, f->d, 4);
        s_put_u(&w, f->m[0]);
        if (f->venc == TSDB_CHUNK_DECIMAL)
            s_col_put_params(&w, f->vc, f->n);
    }
    for (unsigned i = 1; i < f->n; i++) {
        if (f->tenc == S_T_DOD)
            s_put_ts(&w, i, (uint64_t)(f->ts[i] - f->ts[i - 1]),
                     i >= 2 ? (uint64_t)(f->ts[i - 1] - f->ts[i - 2]) : 0);
        else if (f->tenc == S_T_RICE)
            s_col_put(&w, f->tc, i);
        if (f->venc == TSDB_CHUNK_XOR)
            s_put_xor(&w, f->vb[i - 1], &lead, &trail, f->vb[i]);
        else if (f->venc == TSDB_CHUNK_DECIMAL)
            s_col_put(&w, f->vc, i);
        else
            s_put_decstep(&w, f->m[i - 1], &lead, f->m[i]);
    }
    return w.pos;
}

int
tsdb_chunk_app_seal(struct tsdb_chunk_app *a)
{
    if (a->n == 0)
        return 0;
    if (a->sealed)
        return a->buf[0] & S_VENC_MASK;
    a->sealed = true;
    if ((a->buf[0] & S_VENC_MASK) == TSDB_CHUNK_XOR_ST)
        return TSDB_CHUNK_XOR_ST; // kept as it is
    int64_t ts[TSDB_CHUNK_MAX_SAMPLES], m[TSDB_CHUNK_MAX_SAMPLES];
    uint64_t vb[TSDB_CHUNK_MAX_SAMPLES];
    struct s_col tc, vc;
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(a, &len);
    struct tsdb_chunk_iter it;
    unsigned n = 0;
    tsdb_chunk_iter_init(&it, p, len);
    while (n < TSDB_CHUNK_MAX_SAMPLES && tsdb_chunk_iter_next(&it)) {
        ts[n] = it.t;
        vb[n++] = s_f2u(it.v);
    }
    unsigned open_enc = a->buf[0] & S_VENC_MASK;
    if (n != a->n || tsdb_chunk_iter_err(&it))
        return (int)open_enc; // cannot be: these are our own bytes

    // Price the forms. The open chunk is the header, dod-bucket timestamps and its values
    // (XOR or decimal steps, which keep their cost in any time encoding).
    struct s_form f = {.n = n, .ts = ts, .m = m, .vb = vb, .tc = &tc, .vc = &vc};
    size_t hbits = (size_t)a->hlen * 8, tbits = 0;
    bool regular = n >= 2;
    for (unsigned i = 1; i < n; i++) {
        uint64_t delta = (uint64_t)(ts[i] - ts[i - 1]);
        tbits += s_ts_cost(i, delta, i >= 2 ? (uint64_t)(ts[i - 1] - ts[i - 2]) : 0);
        regular = regular && delta == (uint64_t)(ts[1] - ts[0]);
    }
    size_t vbits = a->nbits - hbits - tbits, best_t = tbits;
    f.tenc = S_T_DOD;
    f.venc = open_enc;
    if (regular) {
        f.tenc = S_T_REGULAR;
        best_t = 0;
    } else if (n >= 3) {
        s_col_plan(&tc, ts, n);
        if (tc.bits < best_t) {
            f.tenc = S_T_RICE;
            best_t = tc.bits;
        }
    }
    // decimal steps have the smallest scale that takes every value: s_dec_scale's
    bool dec = s_dec_scale(vb, n, m, &f.d);
    if (!dec && open_enc == TSDB_CHUNK_DECSTEP)
        return (int)open_enc; // cannot be: its values are decimals
    if (dec) {
        s_col_plan(&vc, m, n);
        size_t dbits = 10 + s_bitlen(s_zz(m[0])) + vc.bits;
        // Decimal steps decode a sample at a time; the Rice column has the readers' batch
        // path (tsdb_chunk_iter_read), several times faster: take it unless it costs more than
        // two bytes over. (A count over 1,000 imported series ran 40% slower when the short
        // last chunks stayed decimal steps.)
        size_t slack = f.venc == TSDB_CHUNK_DECSTEP ? 16 : 0;
        if (dbits < vbits + slack) {
            f.venc = TSDB_CHUNK_DECIMAL;
            vbits = dbits;
        }
    }
    size_t bits = hbits + best_t + vbits;
    if ((bits + 7) / 8 >= len)
        return (int)open_enc;
    // Smaller, so it fits where the open chunk was, slack included.
    unsigned char hdr[S_HDR_MAX];
    memcpy(hdr, a->buf, a->hlen);
    memset(a->buf, 0, len);
    a->nbits = (uint32_t)s_write(a->buf, hdr, a->hlen, &f);
    assert(a->nbits == bits); // the prices are exact
    return (int)f.venc;
}
