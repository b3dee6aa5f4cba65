/*  check_tsdb_chunk.c — the chunk codec on its own: append/iterate/seal, bit-exact special
    values, the decimal choice, timestamp edge cases, seek, every truncation and a catalogue
    of damaged chunks rejected cleanly, reopening, and size bounds that hold the format to
    its promise. Every chunk decoded with next is decoded again with tsdb_chunk_iter_read
    (batches), which must give the same samples and stop at the same error.
*/
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_err.h"
#include "fw_mem.h"
#include "../tsdb/tsdb_chunk.h"

#define T0 1767225600000LL // 2026-01-01T00:00:00Z in ms

static uint64_t
s_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double
s_from_bits(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

// A deterministic generator (xorshift64*), so failures reproduce.
static uint64_t s_rng = 88172645463325252ULL;

static uint64_t
s_rand(void)
{
    return check_util_rand(&s_rng);
}

// Append n samples, each of which must be accepted.
static void
s_fill(struct tsdb_chunk_app *a, const int64_t *t, const double *v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (tsdb_chunk_app_append(a, t[i], v[i]) != 0) // plain if, as in s_expect_read
            ck_abort_msg("append %u (t=%lld)", i, (long long)t[i]);
}

// tsdb_chunk_iter_read, in batches of every size from 1 to 9 and of 32 and 200 (the fast
// decimal loop, its hand-over to next at the end, batches ending anywhere), gives exactly
// these samples and leaves it->t and it->v on the last one of each batch.
static void
s_expect_read(const unsigned char *p, size_t len, const int64_t *t, const double *v, unsigned n)
{
    static const size_t sizes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 32, 200};
    int64_t bt[200];
    double bv[200];
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct tsdb_chunk_iter it;
        if (tsdb_chunk_iter_init(&it, p, len) != 0)
            ck_abort_msg("batch %zu: init failed", sizes[s]);
        unsigned i = 0;
        size_t got;
        while ((got = tsdb_chunk_iter_read(&it, bt, bv, sizes[s])) > 0) {
            // plain ifs: every ck_assert writes a checkpoint, too slow for every sample
            if (got > sizes[s] || i + got > n)
                ck_abort_msg("batch %zu: %zu samples after %u of %u", sizes[s], got, i, n);
            for (size_t k = 0; k < got; k++, i++)
                if (bt[k] != t[i] || s_bits(bv[k]) != s_bits(v[i]))
                    ck_abort_msg("batch %zu, sample %u: %lld %016llx, want %lld %016llx", sizes[s],
                                 i, (long long)bt[k], (unsigned long long)s_bits(bv[k]),
                                 (long long)t[i], (unsigned long long)s_bits(v[i]));
            if (it.t != bt[got - 1] || s_bits(it.v) != s_bits(bv[got - 1]))
                ck_abort_msg("batch %zu: it->t and it->v are not the last sample", sizes[s]);
            if (got < sizes[s])
                break;
        }
        // plain ifs here too: this runs 11 times a chunk, for 6000 chunks
        if (tsdb_chunk_iter_err(&it) != 0 || i != n)
            ck_abort_msg("batch %zu: error %d after %u samples of %u", sizes[s],
                         tsdb_chunk_iter_err(&it), i, n);
        if (tsdb_chunk_iter_read(&it, bt, bv, sizes[s]) != 0)
            ck_abort_msg("batch %zu: a sample after the end", sizes[s]);
    }
}

// The chunk at p[0..len) holds exactly these samples, bit for bit.
static void
s_expect(const unsigned char *p, size_t len, const int64_t *t, const double *v, unsigned n)
{
    struct tsdb_chunk_iter it;
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, p, len), 0);
    unsigned i = 0;
    while (tsdb_chunk_iter_next(&it)) {
        // plain ifs, as in s_expect_read
        if (i >= n)
            ck_abort_msg("more than %u samples (t %lld)", n, (long long)it.t);
        if (it.t != t[i])
            ck_abort_msg("sample %u: t %lld, want %lld", i, (long long)it.t, (long long)t[i]);
        if (s_bits(it.v) != s_bits(v[i]))
            ck_abort_msg("sample %u: bits %016llx, want %016llx", i,
                         (unsigned long long)s_bits(it.v), (unsigned long long)s_bits(v[i]));
        i++;
    }
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
    ck_assert_uint_eq(i, n);
    ck_assert(!tsdb_chunk_iter_next(&it)); // stays at the end
    s_expect_read(p, len, t, v, n);
    struct tsdb_chunk_info info;
    ck_assert_int_eq(tsdb_chunk_info(p, len, &info), 0);
    ck_assert_uint_eq(info.n, n);
    ck_assert_int_eq(info.mint, t[0]);
    ck_assert_int_eq(info.maxt, t[n - 1]);
}

// Append, check the open chunk, seal, check again; returns the sealed encoding and, in
// *len_out (may be NULL), the sealed size. The appender is left sealed.
static int
s_round_trip(struct tsdb_chunk_app *a, const int64_t *t, const double *v, unsigned n,
             size_t *len_out)
{
    tsdb_chunk_app_reset(a);
    s_fill(a, t, v, n);
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(a, &len);
    // open chunks are XOR, or decimal steps while every value is a decimal
    ck_assert(p[0] == TSDB_CHUNK_XOR || p[0] == TSDB_CHUNK_DECSTEP);
    s_expect(p, len, t, v, n);
    int enc = tsdb_chunk_app_seal(a);
    size_t slen;
    p = tsdb_chunk_app_bytes(a, &slen);
    ck_assert_uint_le(slen, len); // sealing never grows a chunk
    s_expect(p, slen, t, v, n);
    struct tsdb_chunk_info info;
    ck_assert_int_eq(tsdb_chunk_info(p, slen, &info), 0);
    ck_assert_int_eq(info.enc, enc);
    if (len_out)
        *len_out = slen;
    return enc;
}

// Regular timestamps: t0 + i * step.
static void
s_grid(int64_t *t, unsigned n, int64_t t0, int64_t step)
{
    for (unsigned i = 0; i < n; i++)
        t[i] = t0 + (int64_t)i * step;
}

// ---------------------------------------------------------------------------------------

START_TEST(test_tsdb_chunk_append_iterate_seal)
{
    // The head's open chunk: append samples as they come...
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0, 1), 0);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 15000, 2.5), 0);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 30000, -3), 0);
    ck_assert_uint_eq(tsdb_chunk_app_count(&a), 3);
    ck_assert_int_eq(tsdb_chunk_app_last_t(&a), T0 + 30000);

    // ...whose bytes are a complete chunk at any time (what a commit writes)...
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
    struct tsdb_chunk_info info;
    ck_assert_int_eq(tsdb_chunk_info(p, len, &info), 0);
    ck_assert_int_eq(info.enc, TSDB_CHUNK_DECSTEP); // decimals so far
    ck_assert_uint_eq(info.n, 3);
    ck_assert_int_eq(info.mint, T0);
    ck_assert_int_eq(info.maxt, T0 + 30000);

    // ...read with an iterator on the stack...
    struct tsdb_chunk_iter it;
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, p, len), 0);
    ck_assert(tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(it.t, T0);
    ck_assert(it.v == 1);
    ck_assert(tsdb_chunk_iter_next(&it));
    ck_assert(it.v == 2.5);
    ck_assert(tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(it.t, T0 + 30000);
    ck_assert(it.v == -3);
    ck_assert(!tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);

    // ...and sealed when full: these are decimals (tenths) with regular timestamps.
    ck_assert_int_eq(tsdb_chunk_app_seal(&a), TSDB_CHUNK_DECIMAL);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 45000, 4), -1);
    ck_assert(tsdb_chunk_app_full(&a, T0 + 45000));
    size_t slen;
    p = tsdb_chunk_app_bytes(&a, &slen);
    ck_assert_uint_lt(slen, len);
    int64_t t[3] = {T0, T0 + 15000, T0 + 30000};
    double v[3] = {1, 2.5, -3};
    s_expect(p, slen, t, v, 3);

    // The next chunk reuses the memory; clear frees it.
    tsdb_chunk_app_reset(&a);
    ck_assert_uint_eq(tsdb_chunk_app_count(&a), 0);
    p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 45000, 4), 0);
    tsdb_chunk_app_clear(&a);
    ck_assert_ptr_null(a.buf);
    tsdb_chunk_app_clear(&a);
    ck_assert_int_eq(tsdb_chunk_app_seal(&a), 0); // empty: nothing to seal
}
END_TEST

// Either decimal encoding: the Rice column (2), or the steps an open chunk uses (3) when
// sealing finds nothing smaller.
static bool
s_is_dec(int enc)
{
    return enc == TSDB_CHUNK_DECIMAL || enc == TSDB_CHUNK_DECSTEP;
}

START_TEST(test_tsdb_chunk_special_values_bit_exact)
{
    static const uint64_t specials[] = {
        0x7ff0000000000002ULL, // Prometheus's stale marker
        0x7ff8000000000000ULL, // the quiet NaN
        0xfff8000000000000ULL, // negative NaN
        0x7ff0000000000001ULL, // signalling NaN
        0x7fffffffffffffffULL, // NaN, every payload bit
        0xffffffffffffffffULL,
        0x8000000000000000ULL, // -0.0
        0x7ff0000000000000ULL, // +Inf
        0xfff0000000000000ULL, // -Inf
        0x0000000000000001ULL, // the smallest denormal
        0x800fffffffffffffULL, // the largest negative denormal
        0x7fefffffffffffffULL, // DBL_MAX
        0xffefffffffffffffULL, // -DBL_MAX
        0x0010000000000000ULL, // DBL_MIN
        0x4340000000000000ULL, // 2^53: an integer, but beyond decimal chunks
        0x3fd5555555555555ULL, // 1/3
        0x3fd3333333333334ULL, // 0.1 + 0.2, not a short decimal
    };
    size_t ns = sizeof(specials) / sizeof(specials[0]);
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[TSDB_CHUNK_MAX_SAMPLES];
    double v[TSDB_CHUNK_MAX_SAMPLES];
    s_grid(t, TSDB_CHUNK_MAX_SAMPLES, T0, 15000);
    // One special among integer counter values, at the start, middle and end: the chunk
    // would be decimal but for it, so it must stay XOR and come back bit-exactly.
    for (size_t k = 0; k < ns; k++) {
        for (unsigned at = 0; at < TSDB_CHUNK_MAX_SAMPLES; at += 59) {
            for (unsigned i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
                v[i] = 1000 + 7 * i;
            v[at] = s_from_bits(specials[k]);
            int enc = s_round_trip(&a, t, v, TSDB_CHUNK_MAX_SAMPLES, NULL);
            ck_assert_msg(enc == TSDB_CHUNK_XOR, "special %016llx at %u: encoding %d",
                          (unsigned long long)specials[k], at, enc);
        }
    }
    // All of them in a row, repeated (windows change at every step).
    for (unsigned i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
        v[i] = s_from_bits(specials[(i * 7) % ns]);
    ck_assert_int_eq(s_round_trip(&a, t, v, TSDB_CHUNK_MAX_SAMPLES, NULL), TSDB_CHUNK_XOR);
    // A chunk of stale markers only (a series that went away) is tiny.
    size_t len;
    for (unsigned i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
        v[i] = s_from_bits(0x7ff0000000000002ULL);
    ck_assert_int_eq(s_round_trip(&a, t, v, TSDB_CHUNK_MAX_SAMPLES, &len), TSDB_CHUNK_XOR);
    ck_assert_uint_le(len, 40);
    // +0.0 is a decimal (m = 0), -0.0 is not.
    for (unsigned i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
        v[i] = 0.0;
    ck_assert(s_is_dec(s_round_trip(&a, t, v, TSDB_CHUNK_MAX_SAMPLES, NULL)));
    v[5] = -0.0;
    ck_assert_int_eq(s_round_trip(&a, t, v, TSDB_CHUNK_MAX_SAMPLES, NULL), TSDB_CHUNK_XOR);
    // The largest decimal magnitude still fits; one past it does not.
    for (unsigned i = 0; i < 10; i++)
        v[i] = (double)((1LL << 53) - 1 - i);
    ck_assert_int_eq(s_round_trip(&a, t, v, 10, NULL), TSDB_CHUNK_DECIMAL);
    v[3] = 9007199254740992.0;
    ck_assert_int_eq(s_round_trip(&a, t, v, 10, NULL), TSDB_CHUNK_XOR);
    tsdb_chunk_app_clear(&a);
}
END_TEST

// Values as an exporter writes them with dec decimals, parsed back as the scraper does.
static double
s_decimal(double x, int dec)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.*f", dec, x);
    return strtod(buf, NULL);
}

START_TEST(test_tsdb_chunk_decimal_chosen_and_exact)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[TSDB_CHUNK_MAX_SAMPLES];
    double v[TSDB_CHUNK_MAX_SAMPLES];
    unsigned n = TSDB_CHUNK_MAX_SAMPLES;
    s_grid(t, n, T0, 15000);
    size_t len;
    struct {
        const char *what;
        int dec;
        double start, step, noise;
    } kinds[] = {
        {"integer counter", 0, 123456, 12, 10},    {"OEE, 4 decimals", 4, 0.7, 0, 0.01},
        {"temperature, 1 decimal", 1, 45, 0, 0.3}, {"CPU seconds, 2 decimals", 2, 81234.5, 10, 3},
        {"below zero, 1 decimal", 1, -20, 0, 0.5}, {"9 decimals", 9, 0.001, 0, 1e-5},
        {"bytes, drained", 0, 4.8e11, -507904, 0},
    };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        double x = kinds[k].start;
        for (unsigned i = 0; i < n; i++) {
            x += kinds[k].step + kinds[k].noise * ((double)(s_rand() % 2001) / 1000 - 1);
            v[i] = s_decimal(x, kinds[k].dec);
        }
        int enc = s_round_trip(&a, t, v, n, &len);
        ck_assert_msg(s_is_dec(enc), "%s: encoding %d", kinds[k].what, enc);
        ck_assert_msg(len < 2 * n, "%s: %zu bytes", kinds[k].what, len);
    }
    // Counters that reset and gauges that step keep decimal, paying for the jump only.
    for (unsigned i = 0; i < n; i++)
        v[i] = i < 70 ? 5e6 + 9 * i : 3 * (i - 70);
    ck_assert(s_is_dec(s_round_trip(&a, t, v, n, &len)));
    ck_assert_uint_le(len, 50);
    // Random doubles are not decimals.
    for (unsigned i = 0; i < n; i++)
        v[i] = (double)(s_rand() >> 11) / (double)(1ULL << 53);
    ck_assert_int_eq(s_round_trip(&a, t, v, n, NULL), TSDB_CHUNK_XOR);
    // One sample, two samples.
    ck_assert_int_eq(s_round_trip(&a, t, v + 7, 1, NULL), TSDB_CHUNK_XOR);
    double two[2] = {3, 4};
    ck_assert(s_is_dec(s_round_trip(&a, t, two, 1, NULL)));
    ck_assert(s_is_dec(s_round_trip(&a, t, two, 2, NULL)));
    tsdb_chunk_app_clear(&a);
}
END_TEST

START_TEST(test_tsdb_chunk_timestamp_edges)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[TSDB_CHUNK_MAX_SAMPLES];
    double v[TSDB_CHUNK_MAX_SAMPLES];
    unsigned n = TSDB_CHUNK_MAX_SAMPLES;
    for (unsigned i = 0; i < n; i++)
        v[i] = i % 3;
    // before 1970
    s_grid(t, n, -3600000, 1000);
    s_round_trip(&a, t, v, n, NULL);
    s_grid(t, n, -60000, 1000); // crossing zero
    s_round_trip(&a, t, v, n, NULL);
    // the int64 extremes
    s_grid(t, n, INT64_MIN, 1);
    s_round_trip(&a, t, v, n, NULL);
    s_grid(t, n, INT64_MAX - (int64_t)(n - 1) * 60000, 60000);
    s_round_trip(&a, t, v, n, NULL);
    // every dod bucket, both signs: jittered, irregular, with gaps up to the span limit
    static const int64_t gaps[] = {1,     2,     9, 8,       7, 200,    72,    15000, 15001, 14993,
                                   45000, 15000, 1, 6900000, 1, 100000, 33000, 1,     2,     3};
    size_t ng = sizeof(gaps) / sizeof(gaps[0]);
    t[0] = T0;
    for (unsigned i = 1; i < ng + 1; i++)
        t[i] = t[i - 1] + gaps[i - 1];
    ck_assert_int_lt(t[ng] - t[0], TSDB_CHUNK_MAX_SPAN_MS);
    s_round_trip(&a, t, v, (unsigned)ng + 1, NULL);
    // random jitter of up to +-10 ms around a 1 s grid
    for (unsigned i = 0; i < n; i++)
        t[i] = T0 + 1000 * (int64_t)i + (int64_t)(s_rand() % 21) - 10;
    s_round_trip(&a, t, v, n, NULL);

    // What the appender refuses changes nothing.
    tsdb_chunk_app_reset(&a);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0, 1), 0);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 1000, 2), 0);
    size_t len0, len;
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len0);
    unsigned char copy[64];
    memcpy(copy, p, len0);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 1000, 2), -1); // duplicate
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 999, 2), -1);  // older
    ck_assert(!tsdb_chunk_app_full(&a, T0 + 999));                 // out of order, not full
    ck_assert(!tsdb_chunk_app_full(&a, T0 + TSDB_CHUNK_MAX_SPAN_MS - 1));
    ck_assert(tsdb_chunk_app_full(&a, T0 + TSDB_CHUNK_MAX_SPAN_MS));
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + TSDB_CHUNK_MAX_SPAN_MS, 2), -1);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, INT64_MAX, 2), -1);
    p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_uint_eq(len, len0);
    ck_assert(memcmp(p, copy, len) == 0);
    ck_assert_uint_eq(tsdb_chunk_app_count(&a), 2);
    // A sample more than 2^32 ms after the first one starts a new chunk, of course.
    tsdb_chunk_app_reset(&a);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, INT64_MIN, 1), 0);
    ck_assert(tsdb_chunk_app_full(&a, INT64_MAX));
    ck_assert_int_eq(tsdb_chunk_app_append(&a, INT64_MAX, 1), -1);
    // The sample count limit.
    tsdb_chunk_app_reset(&a);
    s_grid(t, n, T0, 1000);
    s_fill(&a, t, v, n);
    ck_assert(tsdb_chunk_app_full(&a, T0 + 1000 * (int64_t)n));
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 1000 * (int64_t)n, 1), -1);
    tsdb_chunk_app_clear(&a);
}
END_TEST

START_TEST(test_tsdb_chunk_seek)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[100];
    double v[100];
    for (unsigned i = 0; i < 100; i++) {
        t[i] = T0 + 10000 * (int64_t)i;
        v[i] = i;
    }
    s_fill(&a, t, v, 100);
    for (int sealed = 0; sealed < 2; sealed++) {
        if (sealed)
            tsdb_chunk_app_seal(&a);
        size_t len;
        const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
        struct tsdb_chunk_iter it;
        tsdb_chunk_iter_init(&it, p, len);
        ck_assert(tsdb_chunk_iter_seek(&it, INT64_MIN)); // before the chunk: the first
        ck_assert_int_eq(it.t, T0);
        ck_assert(tsdb_chunk_iter_seek(&it, T0 + 55000)); // between samples: the next
        ck_assert_int_eq(it.t, T0 + 60000);
        ck_assert(it.v == 6);
        ck_assert(tsdb_chunk_iter_seek(&it, T0 + 60000)); // exact: stays
        ck_assert_int_eq(it.t, T0 + 60000);
        ck_assert(tsdb_chunk_iter_seek(&it, T0)); // never backwards
        ck_assert_int_eq(it.t, T0 + 60000);
        ck_assert(tsdb_chunk_iter_next(&it));
        ck_assert_int_eq(it.t, T0 + 70000);
        ck_assert(tsdb_chunk_iter_seek(&it, T0 + 990000)); // the last one
        ck_assert(it.v == 99);
        ck_assert(!tsdb_chunk_iter_seek(&it, T0 + 990001)); // past the end
        ck_assert(!tsdb_chunk_iter_seek(&it, T0));          // and it stays there
        ck_assert(!tsdb_chunk_iter_next(&it));
        ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
        // seek first, without a next before it
        tsdb_chunk_iter_init(&it, p, len);
        ck_assert(!tsdb_chunk_iter_seek(&it, INT64_MAX));
        ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
        tsdb_chunk_iter_init(&it, p, len);
        ck_assert(tsdb_chunk_iter_seek(&it, T0 + 1));
        ck_assert_int_eq(it.t, T0 + 10000);
    }
    tsdb_chunk_app_clear(&a);
}
END_TEST

// Chunks of every shape, for the damage tests: each is built, sealed or not, into out.
static size_t
s_sample_chunk(unsigned kind, unsigned char *out, size_t cap, int *enc)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    unsigned n = kind == 5 ? 1 : kind == 6 ? 2 : 40;
    for (unsigned i = 0; i < n; i++) {
        int64_t t = T0 + 15000 * (int64_t)i + (kind == 3 || kind == 4 ? (int64_t)(i * i % 7) : 0);
        double v = kind == 0 || kind == 3 ? 0.1 * (double)(i * i) + 1e-9 * (double)i // XOR
                   : kind == 2            ? 4.8e11 - 507904.0 * i                    // dod
                                          : (double)(1000 + 7 * i + i % 5);                     // delta
        ck_assert_int_eq(tsdb_chunk_app_append(&a, t, v), 0);
    }
    if (kind != 1)
        *enc = tsdb_chunk_app_seal(&a);
    else
        *enc = TSDB_CHUNK_XOR; // open
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_uint_le(len, cap);
    memcpy(out, p, len);
    tsdb_chunk_app_clear(&a);
    return len;
}
#define S_KINDS 7

// Iterate to the end; returns the error and the number of samples seen.
static int
s_drain(const unsigned char *p, size_t len, unsigned *seen)
{
    struct tsdb_chunk_iter it;
    *seen = 0;
    if (tsdb_chunk_iter_init(&it, p, len) != 0) {
        ck_assert(!tsdb_chunk_iter_next(&it));
        ck_assert(!tsdb_chunk_iter_seek(&it, INT64_MIN));
        return tsdb_chunk_iter_err(&it);
    }
    static int64_t t[65536];
    static double v[65536];
    while (tsdb_chunk_iter_next(&it)) {
        if (++*seen > 65535)
            ck_abort_msg("more than 65535 samples");
        t[*seen - 1] = it.t;
        v[*seen - 1] = it.v;
    }
    ck_assert(!tsdb_chunk_iter_next(&it));
    // tsdb_chunk_iter_read in batches of 5 stops at the same sample with the same error
    struct tsdb_chunk_iter rd;
    ck_assert_int_eq(tsdb_chunk_iter_init(&rd, p, len), 0);
    int64_t bt[5];
    double bv[5];
    unsigned i = 0;
    size_t got;
    while ((got = tsdb_chunk_iter_read(&rd, bt, bv, 5)) > 0) {
        for (size_t k = 0; k < got; k++, i++)
            if (i >= *seen || bt[k] != t[i] || s_bits(bv[k]) != s_bits(v[i]))
                ck_abort_msg("read: sample %u of %u differs from next's", i, *seen);
        if (got < 5)
            break;
    }
    ck_assert_uint_eq(i, *seen);
    ck_assert_int_eq(tsdb_chunk_iter_err(&rd), tsdb_chunk_iter_err(&it));
    return tsdb_chunk_iter_err(&it);
}

START_TEST(test_tsdb_chunk_every_truncation_rejected)
{
    unsigned char buf[2048];
    for (unsigned kind = 0; kind < S_KINDS; kind++) {
        int enc;
        size_t len = s_sample_chunk(kind, buf, sizeof(buf), &enc);
        struct tsdb_chunk_info info;
        ck_assert_int_eq(tsdb_chunk_info(buf, len, &info), 0);
        unsigned seen;
        ck_assert_int_eq(s_drain(buf, len, &seen), 0);
        ck_assert_uint_eq(seen, info.n);
        for (size_t cut = 0; cut < len; cut++) {
            // a copy of exactly cut bytes, so that ASan sees any read past it
            unsigned char *p = malloc(cut ? cut : 1);
            memcpy(p, buf, cut);
            int rc = s_drain(p, cut, &seen);
            ck_assert_msg(rc == FW_ETRUNC, "kind %u (enc %d), %zu of %zu bytes: rc %d", kind, enc,
                          cut, len, rc);
            ck_assert_uint_lt(seen, info.n);
            free(p);
        }
        // and one byte too many
        buf[len] = 0;
        ck_assert_int_eq(s_drain(buf, len + 1, &seen), FW_EPARSE);
    }
}
END_TEST

// A bit builder for hand-made chunks: header {enc, n, span, min t 0}, then bits.
struct s_bb {
    unsigned char b[64];
    size_t pos;
};

static void
s_bb_put(struct s_bb *w, uint64_t v, unsigned n)
{
    for (unsigned k = n; k-- > 0; w->pos++)
        if ((v >> k) & 1)
            w->b[w->pos / 8] |= (unsigned char)(0x80 >> (w->pos % 8));
}

static void
s_bb_header(struct s_bb *w, unsigned enc, unsigned n, uint32_t span)
{
    memset(w, 0, sizeof(*w));
    unsigned char h[8] = {(unsigned char)enc,          (unsigned char)n,
                          (unsigned char)(n >> 8),     (unsigned char)span,
                          (unsigned char)(span >> 8),  (unsigned char)(span >> 16),
                          (unsigned char)(span >> 24), 0};
    memcpy(w->b, h, sizeof(h));
    w->pos = 64;
}

// Drop the bits from pos on.
static void
s_bb_cut(struct s_bb *w, size_t pos)
{
    for (size_t k = pos; k < sizeof(w->b) * 8; k++)
        w->b[k / 8] &= (unsigned char)~(0x80 >> (k % 8));
    w->pos = pos;
}

static size_t
s_bb_len(const struct s_bb *w)
{
    return (w->pos + 7) / 8;
}

START_TEST(test_tsdb_chunk_damage_rejected)
{
    unsigned char buf[2048], bad[2048];
    unsigned seen;
    struct tsdb_chunk_info info;
    // Every single bit flip of every kind of chunk: decoding ends, cleanly.
    for (unsigned kind = 0; kind < S_KINDS; kind++) {
        int enc;
        size_t len = s_sample_chunk(kind, buf, sizeof(buf), &enc);
        for (size_t bit = 0; bit < len * 8; bit++) {
            memcpy(bad, buf, len);
            bad[bit / 8] ^= (unsigned char)(0x80 >> (bit % 8));
            int rc = s_drain(bad, len, &seen);
            ck_assert(rc == 0 || rc == FW_ETRUNC || rc == FW_EPARSE || rc == FW_ETYPE);
        }
    }
    size_t len = s_sample_chunk(0, buf, sizeof(buf), &(int){0});
    // unknown encodings, later types among them (4 is XOR with start times: check_tsdb_chunk_st)
    static const unsigned char encs[] = {0, 5, 6, 0x3f, 0x40, 0x7f, 0x80, 0x85, 0xc1, 0xc3, 0xff};
    for (size_t k = 0; k < sizeof(encs); k++) {
        memcpy(bad, buf, len);
        bad[0] = encs[k];
        ck_assert_int_eq(tsdb_chunk_info(bad, len, &info), FW_ETYPE);
        ck_assert_int_eq(s_drain(bad, len, &seen), FW_ETYPE);
    }
    // no samples; span too short for n; one sample with a span
    memcpy(bad, buf, len);
    bad[1] = bad[2] = 0;
    ck_assert_int_eq(tsdb_chunk_info(bad, len, &info), FW_EPARSE);
    memcpy(bad, buf, len);
    bad[3] = 5, bad[4] = bad[5] = bad[6] = 0; // 40 samples in 5 ms
    ck_assert_int_eq(tsdb_chunk_info(bad, len, &info), FW_EPARSE);
    static const unsigned char one[] = {1, 1, 0, 1, 0, 0, 0, 0, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(tsdb_chunk_info(one, sizeof(one), &info), FW_EPARSE);
    // min t + span past INT64_MAX; an overlong varint
    static const unsigned char over[] = {1,    2,    0,    9,    0,    0,    0,    0xfe,
                                         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                         0x01, 0,    0,    0,    0,    0,    0,    0};
    ck_assert_int_eq(tsdb_chunk_info(over, sizeof(over), &info), FW_EPARSE);
    static const unsigned char longv[] = {1,    1,    0,    0,    0,    0,    0,    0x80,
                                          0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                          0x80, 0x01, 0,    0,    0,    0,    0,    0};
    ck_assert_int_eq(tsdb_chunk_info(longv, sizeof(longv), &info), FW_EPARSE);
    // regular timestamps whose step is not whole ms: 3 samples over 5 ms
    static const unsigned char frac[] = {0x81, 3, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    ck_assert_int_eq(tsdb_chunk_info(frac, sizeof(frac), &info), FW_EPARSE);

    // Hand-made streams, one defect each.
    struct s_bb w;
    s_bb_header(&w, 1, 2, 1000);
    s_bb_put(&w, s_bits(1.0), 64);
    s_bb_put(&w, 9, 5), s_bb_put(&w, 1000, 9); // first delta 1000 (bit length 10)
    size_t ok_pos = w.pos;
    s_bb_put(&w, 0, 1); // same value: a valid chunk, 79 bits, one bit of padding
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), 0);
    ck_assert_uint_eq(seen, 2);
    w.b[s_bb_len(&w) - 1] |= 1; // the padding bit set
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    s_bb_cut(&w, ok_pos);
    s_bb_put(&w, 2, 2); // '10': reuse a window before any was set
    s_bb_put(&w, 0, 16);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    s_bb_cut(&w, ok_pos);
    s_bb_put(&w, 3, 2), s_bb_put(&w, 31, 5), s_bb_put(&w, 40, 6); // lead 31 + 40 bits > 64
    s_bb_put(&w, 0, 40);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);

    s_bb_header(&w, 1, 2, 1000); // the chunk ends before max t
    s_bb_put(&w, s_bits(1.0), 64);
    s_bb_put(&w, 9, 5), s_bb_put(&w, 999, 9), s_bb_put(&w, 0, 1);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    s_bb_header(&w, 1, 2, 1000); // a sample after max t
    s_bb_put(&w, s_bits(1.0), 64);
    s_bb_put(&w, 9, 5), s_bb_put(&w, 1001, 9), s_bb_put(&w, 0, 1);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    s_bb_header(&w, 1, 3, 2000); // a step of 0 ms (dod -1000 after 1000)
    s_bb_put(&w, s_bits(1.0), 64);
    s_bb_put(&w, 9, 5), s_bb_put(&w, 1000, 9), s_bb_put(&w, 0, 1);
    s_bb_put(&w, 14, 4), s_bb_put(&w, (uint64_t)-1000, 16), s_bb_put(&w, 0, 1);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    // decimal: d 0, m0 2^53 - 1 (zigzag 2^54 - 2), order 0, k 0, base +1: m1 = 2^53
    s_bb_header(&w, 2, 2, 1000);
    s_bb_put(&w, 0, 4), s_bb_put(&w, 54, 6), s_bb_put(&w, (1ULL << 54) - 2, 54);
    s_bb_put(&w, 0, 1), s_bb_put(&w, 0, 6), s_bb_put(&w, 2, 6), s_bb_put(&w, 2, 2);
    s_bb_put(&w, 9, 5), s_bb_put(&w, 1000, 9), s_bb_put(&w, 0, 1);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    ck_assert_uint_eq(seen, 1); // m0 itself was fine
    // base -1 instead: m1 = 2^53 - 2, valid
    s_bb_header(&w, 2, 2, 1000);
    s_bb_put(&w, 0, 4), s_bb_put(&w, 54, 6), s_bb_put(&w, (1ULL << 54) - 2, 54);
    s_bb_put(&w, 0, 1), s_bb_put(&w, 0, 6), s_bb_put(&w, 1, 6), s_bb_put(&w, 1, 1);
    s_bb_put(&w, 9, 5), s_bb_put(&w, 1000, 9), s_bb_put(&w, 0, 1);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), 0);
    ck_assert_uint_eq(seen, 2);
    // decimal m0 beyond 2^53: 63 bits of zigzag
    s_bb_header(&w, 2, 1, 0);
    s_bb_put(&w, 0, 4), s_bb_put(&w, 63, 6), s_bb_put(&w, ~0ULL, 63), s_bb_put(&w, 0, 7);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    // a Rice time column (byte 0 = 0x41): order 0, k 2, median step 1000, then residuals
    // 0, +1, -1 (zigzag 0, 2, 1: '0' 00, '0' 10, '0' 01), each with the XOR value code '0'
    s_bb_header(&w, 0x41, 4, 3000);
    s_bb_put(&w, 0, 1), s_bb_put(&w, 2, 6), s_bb_put(&w, 11, 6), s_bb_put(&w, 2000, 11);
    s_bb_put(&w, s_bits(1.0), 64);
    ok_pos = w.pos;
    s_bb_put(&w, 0, 3), s_bb_put(&w, 0, 1), s_bb_put(&w, 2, 3), s_bb_put(&w, 0, 1);
    s_bb_put(&w, 1, 3), s_bb_put(&w, 0, 1);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), 0);
    ck_assert_uint_eq(seen, 4);
    s_bb_cut(&w, ok_pos); // a step of 0 ms: residual -1000 (zigzag 1999, an escape)
    s_bb_put(&w, 0xffff, 16), s_bb_put(&w, 11, 6), s_bb_put(&w, 1999, 11), s_bb_put(&w, 0, 1);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_EPARSE);
    // a Rice escape longer than the bytes
    s_bb_header(&w, 2, 2, 1000);
    s_bb_put(&w, 0, 11), s_bb_put(&w, 0, 6), s_bb_put(&w, 0, 6);
    s_bb_put(&w, 9, 5), s_bb_put(&w, 1000, 9), s_bb_put(&w, 0xffff, 16), s_bb_put(&w, 60, 6);
    ck_assert_int_eq(s_drain(w.b, s_bb_len(&w), &seen), FW_ETRUNC);
}
END_TEST

START_TEST(test_tsdb_chunk_open_decimal_steps)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[16];
    s_grid(t, 16, T0, 1000);
    // More places re-code the open chunk at the larger scale; every step is a chunk.
    double v[16] = {1, 1.5, 1.25, 1.125, 2, -7, 1e-3, 123456.789, 0.1, 0.2, 0.3};
    for (unsigned i = 0; i < 11; i++) {
        ck_assert_int_eq(tsdb_chunk_app_append(&a, t[i], v[i]), 0);
        size_t len;
        const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
        ck_assert_int_eq(p[0], TSDB_CHUNK_DECSTEP);
        s_expect(p, len, t, v, i + 1);
    }
    // A value that is no decimal (the stale marker) re-codes it as XOR, for good.
    v[11] = s_from_bits(0x7ff0000000000002ULL);
    v[12] = 4.5;
    v[13] = -0.0;
    for (unsigned i = 11; i < 14; i++) {
        ck_assert_int_eq(tsdb_chunk_app_append(&a, t[i], v[i]), 0);
        size_t len;
        const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
        ck_assert_int_eq(p[0], TSDB_CHUNK_XOR);
        s_expect(p, len, t, v, i + 1);
    }
    ck_assert_int_eq(tsdb_chunk_app_seal(&a), TSDB_CHUNK_XOR);
    // -0.0, 0.1 + 0.2 (17 places) and a value whose m at the scale needed passes 2^53 are no
    // decimals: XOR from there on.
    double firsts[3][2] = {{-0.0, 1}, {0.1 + 0.2, 1}, {1e15, 1e15 + 0.5}};
    for (unsigned k = 0; k < 3; k++) {
        tsdb_chunk_app_reset(&a);
        s_fill(&a, t, firsts[k], 2);
        size_t len;
        const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
        ck_assert_msg(p[0] == TSDB_CHUNK_XOR, "case %u: encoding %d", k, p[0]);
        s_expect(p, len, t, firsts[k], 2);
    }
    // The step widths: the same value costs 1 bit, a step that fits the width 2 + w.
    tsdb_chunk_app_reset(&a);
    double w[4] = {100, 100, 103, 101};
    s_fill(&a, t, w, 4);
    size_t len;
    tsdb_chunk_app_bytes(&a, &len);
    // header 13 bytes (T0 takes a 6-byte varint); d 4 bits, U(100) 14; sample 1: first delta
    // 14, same value 1; sample 2: dod 1, a new width 2 + 6 + 3; sample 3: dod 1, the width
    // reused 2 + 3; 51 bits in all
    ck_assert_uint_eq(len, 13 + (4 + 14 + 14 + 1 + 1 + 11 + 1 + 5 + 7) / 8);
    s_expect(tsdb_chunk_app_bytes(&a, &len), len, t, w, 4);
    tsdb_chunk_app_clear(&a);

    // Hand-made steps, one defect each: a reused width before any; width 0; width 56.
    unsigned seen;
    static const uint64_t bad_ctl[][2] = {{2, 2}, {3 << 6 | 0, 8}, {3 << 6 | 56, 8}};
    for (unsigned k = 0; k < 3; k++) {
        struct s_bb b;
        s_bb_header(&b, TSDB_CHUNK_DECSTEP, 2, 1000);
        s_bb_put(&b, 2, 4);                        // d = 2
        s_bb_put(&b, 9, 6), s_bb_put(&b, 400, 9);  // U(200)
        s_bb_put(&b, 9, 5), s_bb_put(&b, 1000, 9); // first delta 1000
        s_bb_put(&b, bad_ctl[k][0], (unsigned)bad_ctl[k][1]);
        s_bb_put(&b, 0, 64);
        ck_assert_int_eq(s_drain(b.b, s_bb_len(&b), &seen), FW_EPARSE);
    }
}
END_TEST

START_TEST(test_tsdb_chunk_reopen)
{
    struct tsdb_chunk_app a, b;
    tsdb_chunk_app_init(&a);
    tsdb_chunk_app_init(&b);
    int64_t t[TSDB_CHUNK_MAX_SAMPLES];
    double v[TSDB_CHUNK_MAX_SAMPLES];
    s_grid(t, TSDB_CHUNK_MAX_SAMPLES, T0, 15000);
    for (unsigned i = 0; i < TSDB_CHUNK_MAX_SAMPLES; i++)
        v[i] = 100 + i;
    // a sealed decimal chunk of 60 samples, reopened after a "restart", continued to 120
    ck_assert_int_eq(s_round_trip(&a, t, v, 60, NULL), TSDB_CHUNK_DECIMAL);
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_int_eq(tsdb_chunk_app_reopen(&b, p, len), 0);
    ck_assert_uint_eq(tsdb_chunk_app_count(&b), 60);
    ck_assert_int_eq(tsdb_chunk_app_last_t(&b), t[59]);
    s_fill(&b, t + 60, v + 60, 60);
    p = tsdb_chunk_app_bytes(&b, &len);
    s_expect(p, len, t, v, TSDB_CHUNK_MAX_SAMPLES);
    // a damaged chunk leaves the appender empty
    unsigned char bad[512];
    memcpy(bad, p, len);
    ck_assert_int_eq(tsdb_chunk_app_reopen(&a, bad, len - 1), FW_ETRUNC);
    ck_assert_uint_eq(tsdb_chunk_app_count(&a), 0);
    // a valid chunk longer than an open chunk may be: 200 samples, regular, all 1.0
    memset(bad, 0, sizeof(bad));
    bad[0] = TSDB_CHUNK_XOR | 0x80, bad[1] = 200, bad[3] = 199; // span 199 ms
    bad[8] = 0x3f, bad[9] = 0xf0;                               // min t 0 (bad[7]), 1.0
    size_t blen = 8 + 8 + (199 + 7) / 8;
    unsigned seen;
    ck_assert_int_eq(s_drain(bad, blen, &seen), 0);
    ck_assert_uint_eq(seen, 200);
    ck_assert_int_eq(tsdb_chunk_app_reopen(&a, bad, blen), FW_EPARSE);
    ck_assert_uint_eq(tsdb_chunk_app_count(&a), 0);
    tsdb_chunk_app_clear(&a);
    tsdb_chunk_app_clear(&b);
}
END_TEST

START_TEST(test_tsdb_chunk_size_bounds)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[TSDB_CHUNK_MAX_SAMPLES];
    double v[TSDB_CHUNK_MAX_SAMPLES];
    unsigned n = TSDB_CHUNK_MAX_SAMPLES;
    size_t len;
    s_grid(t, n, T0, 15000);
    // An integer counter scraped every 15 s, 0..30 more each time: ~5 bits a sample.
    double c = 98765;
    for (unsigned i = 0; i < n; i++)
        v[i] = c += (double)(s_rand() % 31);
    ck_assert(s_is_dec(s_round_trip(&a, t, v, n, &len)));
    ck_assert_msg(len <= 110, "counter: %zu bytes", len);
    // A constant: the header, the value and 1 bit a sample.
    for (unsigned i = 0; i < n; i++)
        v[i] = 1;
    s_round_trip(&a, t, v, n, &len);
    ck_assert_msg(len <= 36, "constant: %zu bytes", len);
    // An OEE gauge with 4 decimals walking by ~0.01: ~10 bits a sample.
    double g = 0.75;
    for (unsigned i = 0; i < n; i++)
        v[i] = s_decimal(g += 0.01 * ((double)(s_rand() % 2001) / 1000 - 1), 4);
    ck_assert(s_is_dec(s_round_trip(&a, t, v, n, &len)));
    ck_assert_msg(len <= 180, "OEE: %zu bytes", len);
    // Open, it is decimal steps of ~16 bits a sample; the same as XOR would be some 6 bytes
    // a sample (a NaN first makes the chunk XOR): decimals are what make it small.
    tsdb_chunk_app_reset(&a);
    s_fill(&a, t, v, n);
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_int_eq(p[0], TSDB_CHUNK_DECSTEP);
    ck_assert_msg(len <= 270, "OEE, open: %zu bytes", len);
    tsdb_chunk_app_reset(&a);
    ck_assert_int_eq(tsdb_chunk_app_append(&a, t[0] - 1000, NAN), 0);
    s_fill(&a, t, v, n - 1);
    p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_int_eq(p[0], TSDB_CHUNK_XOR);
    ck_assert_msg(len >= 500, "OEE as XOR: %zu bytes", len);
    // Timestamps with 0..3 ms of jitter cost about 6 bits each in the open chunk and half
    // that once sealed (a Rice-coded column, time encoding 1).
    for (unsigned i = 0; i < n; i++) {
        t[i] = T0 + 15000 * (int64_t)i + (int64_t)(s_rand() % 4);
        v[i] = 1;
    }
    tsdb_chunk_app_reset(&a);
    s_fill(&a, t, v, n);
    p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_msg(len >= 10 + n * 5 / 8, "jitter, open: %zu bytes", len);
    s_round_trip(&a, t, v, n, &len);
    p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_int_eq(p[0] >> 6, 1);
    ck_assert_msg(len <= 36 + n * 7 / 16, "jitter, sealed: %zu bytes", len);
    // Random doubles: no worse than raw plus a little.
    s_grid(t, n, T0, 15000);
    for (unsigned i = 0; i < n; i++)
        v[i] = s_from_bits(s_rand());
    s_round_trip(&a, t, v, n, &len);
    ck_assert_msg(len <= n * 10 + 20, "random: %zu bytes", len);
    tsdb_chunk_app_clear(&a);
}
END_TEST

// An open chunk's buffer at least doubles when it grows: a chunk of scrapes (the OEE gauge
// of ~150-250 bytes open) costs 3 or 4 allocations, where growing by half took 4-5 and copied
// more each time.
START_TEST(test_tsdb_chunk_buffer_doubles)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[TSDB_CHUNK_MAX_SAMPLES];
    unsigned n = TSDB_CHUNK_MAX_SAMPLES;
    s_grid(t, n, T0, 15000);
    double g = 0.75;
    unsigned long before = fw_mem_allocations(), grown = 0;
    uint32_t cap = 0;
    for (unsigned i = 0; i < n; i++) {
        double v = s_decimal(g += 0.01 * ((double)(s_rand() % 2001) / 1000 - 1), 4);
        ck_assert_int_eq(tsdb_chunk_app_append(&a, t[i], v), 0);
        if (a.cap != cap) {
            ck_assert_msg(a.cap >= 2 * cap, "grew from %u to %u bytes", cap, a.cap);
            cap = a.cap;
            grown++;
        }
    }
    size_t len;
    (void)tsdb_chunk_app_bytes(&a, &len);
    ck_assert_uint_ge(len, 150); // 64, 128, 256 (512 for a long one)
    ck_assert_uint_eq(fw_mem_allocations() - before, grown);
    ck_assert_uint_le(grown, 4);
    tsdb_chunk_app_clear(&a);
}
END_TEST

START_TEST(test_tsdb_chunk_random_round_trips)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int64_t t[TSDB_CHUNK_MAX_SAMPLES];
    double v[TSDB_CHUNK_MAX_SAMPLES];
    unsigned decimal = 0;
    for (unsigned round = 0; round < 3000; round++) {
        uint64_t r = s_rand();
        unsigned n = 1 + (unsigned)(r % TSDB_CHUNK_MAX_SAMPLES);
        unsigned vkind = (unsigned)(r >> 8) % 4, d = (unsigned)(r >> 12) % 16;
        int64_t step = (int64_t)1 << ((r >> 20) % 16), jitter = (int64_t)((r >> 24) % 3);
        t[0] = (int64_t)s_rand() >> 2;
        for (unsigned i = 1; i < n; i++)
            t[i] = t[i - 1] + step + (jitter ? (int64_t)(s_rand() % (uint64_t)(1 << jitter)) : 0);
        int64_t m = (int64_t)(s_rand() % 2000000) - 1000000;
        for (unsigned i = 0; i < n; i++) {
            uint64_t x = s_rand();
            switch (vkind) {
            case 0: v[i] = s_from_bits(x); break;                         // any bits
            case 1: v[i] = (double)(m += (int64_t)(x % 101) - 50); break; // integers
            default:                                                      // decimals
                m += (int64_t)(x % 2001) - 1000;
                v[i] = (double)m / pow(10, d);
                break;
            }
        }
        decimal += s_round_trip(&a, t, v, n, NULL) == TSDB_CHUNK_DECIMAL;
    }
    ck_assert_uint_gt(decimal, 1000); // the decimal path was exercised
    tsdb_chunk_app_clear(&a);
}
END_TEST

Suite *
tsdb_chunk_suite(void)
{
    Suite *s = suite_create("tsdb_chunk");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tsdb_chunk_append_iterate_seal);
    tcase_add_test(tc, test_tsdb_chunk_special_values_bit_exact);
    tcase_add_test(tc, test_tsdb_chunk_decimal_chosen_and_exact);
    tcase_add_test(tc, test_tsdb_chunk_open_decimal_steps);
    tcase_add_test(tc, test_tsdb_chunk_timestamp_edges);
    tcase_add_test(tc, test_tsdb_chunk_seek);
    tcase_add_test(tc, test_tsdb_chunk_every_truncation_rejected);
    tcase_add_test(tc, test_tsdb_chunk_damage_rejected);
    tcase_add_test(tc, test_tsdb_chunk_reopen);
    tcase_add_test(tc, test_tsdb_chunk_size_bounds);
    tcase_add_test(tc, test_tsdb_chunk_buffer_doubles);
    tcase_add_test(tc, test_tsdb_chunk_random_round_trips);
    suite_add_tcase(s, tc);
    return s;
}
