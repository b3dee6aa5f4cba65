/*  check_tsdb_chunk_st.c — the chunk codec's start times (value encoding 4, XOR with start
    times): round trips of every kind of value with start times absent, present and mixed,
    the switch of an open chunk to the encoding, next, batch reads, seek, reopen and seal
    agreeing, every truncation rejected, damaged start time codes rejected, and the cost of
    the common shapes (a counter whose start stays put, a delta series).
*/
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_err.h"
#include "fw_sample.h"
#include "../tsdb/tsdb_chunk.h"

#define T0 1767225600000LL // 2026-01-01T00:00:00Z in ms
#define N TSDB_CHUNK_MAX_SAMPLES

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

// The chunk at p[0..len) holds exactly t[], st[], v[] (bit for bit) through next, through
// batch reads of several sizes, through seek to every sample, and its truncations fail.
static void
s_expect(const unsigned char *p, size_t len, const int64_t *t, const int64_t *st, const double *v,
         unsigned n)
{
    struct tsdb_chunk_iter it;
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, p, len), 0);
    unsigned i = 0;
    while (tsdb_chunk_iter_next(&it)) {
        ck_assert_uint_lt(i, n);
        ck_assert_int_eq(it.t, t[i]);
        ck_assert_msg(it.st == st[i], "st %u: %lld, want %lld", i, (long long)it.st,
                      (long long)st[i]);
        ck_assert_msg(s_bits(it.v) == s_bits(v[i]), "v %u", i);
        i++;
    }
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
    ck_assert_uint_eq(i, n);

    static const size_t sizes[] = {1, 3, 7, 200};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        int64_t bt[N], bst[N];
        double bv[N];
        unsigned got = 0;
        tsdb_chunk_iter_init(&it, p, len);
        for (unsigned rounds = 0; rounds <= n; rounds++) {
            size_t want = sizes[s] < (size_t)(N - got) ? sizes[s] : (size_t)(N - got);
            size_t k = tsdb_chunk_iter_read_st(&it, bt + got, bst + got, bv + got, want);
            got += (unsigned)k;
            if (k < want || got == N)
                break;
        }
        ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
        ck_assert_uint_eq(got, n);
        for (unsigned k = 0; k < n; k++) {
            ck_assert_int_eq(bt[k], t[k]);
            ck_assert_int_eq(bst[k], st[k]);
            ck_assert(s_bits(bv[k]) == s_bits(v[k]));
        }
    }

    for (unsigned k = 0; k < n; k++) {
        tsdb_chunk_iter_init(&it, p, len);
        ck_assert(tsdb_chunk_iter_seek(&it, t[k]));
        ck_assert_int_eq(it.t, t[k]);
        ck_assert_int_eq(it.st, st[k]);
    }

    unsigned char *cut = malloc(len);
    for (size_t l = 0; l < len; l++) {
        memcpy(cut, p, l);
        tsdb_chunk_iter_init(&it, cut, l);
        unsigned seen = 0;
        while (tsdb_chunk_iter_next(&it) && seen <= n)
            seen++;
        ck_assert_msg(tsdb_chunk_iter_err(&it) != 0, "truncation to %zu bytes accepted", l);
    }
    free(cut);
}

// Append t[], st[], v[] (each accepted), check the open chunk, reopen it into a second
// appender and check that, then seal and check again. Returns the open chunk's length.
static size_t
s_round_trip(const int64_t *t, const int64_t *st, const double *v, unsigned n, int want_enc)
{
    struct tsdb_chunk_app a, b;
    tsdb_chunk_app_init(&a);
    tsdb_chunk_app_init(&b);
    for (unsigned i = 0; i < n; i++)
        ck_assert_msg(tsdb_chunk_app_append_st(&a, t[i], st[i], v[i]) == 0, "append %u", i);
    size_t len, open_len;
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
    open_len = len;
    struct tsdb_chunk_info info;
    ck_assert_int_eq(tsdb_chunk_info(p, len, &info), 0);
    ck_assert_int_eq(info.enc, want_enc);
    ck_assert_uint_eq(info.n, n);
    s_expect(p, len, t, st, v, n);

    ck_assert_int_eq(tsdb_chunk_app_reopen(&b, p, len), 0);
    p = tsdb_chunk_app_bytes(&b, &len);
    s_expect(p, len, t, st, v, n);

    int enc = tsdb_chunk_app_seal(&a);
    if (want_enc == TSDB_CHUNK_XOR_ST)
        ck_assert_int_eq(enc, TSDB_CHUNK_XOR_ST);
    p = tsdb_chunk_app_bytes(&a, &len);
    s_expect(p, len, t, st, v, n);
    tsdb_chunk_app_clear(&a);
    tsdb_chunk_app_clear(&b);
    return open_len;
}

START_TEST(test_tsdb_chunk_st_special_values_mixed)
{
    int64_t t[N], st[N];
    double v[N];
    const double special[] = {
        NAN,
        -NAN,
        s_from_bits(0x7ff0000000000001ULL),
        s_from_bits(0xfff8dead00000000ULL),
        0.0,
        -0.0,
        INFINITY,
        -INFINITY,
        s_from_bits(FW_STALE_NAN_BITS),
        1.5,
        4.9e-324,
        1e308,
    };
    const int64_t sts[] = {
        0, T0 - 3600000, T0 - 3600000, INT64_MIN, INT64_MAX, -1, 1, T0 + 7200000,
    };
    for (unsigned i = 0; i < N; i++) {
        t[i] = T0 + 15000 * (int64_t)i + (int64_t)(i % 3);
        v[i] = special[i % (sizeof(special) / sizeof(special[0]))];
        // absent, constant, the previous timestamp (delta), far values, after t
        switch (i % 7) {
        case 0: st[i] = 0; break;
        case 1:
        case 2: st[i] = i ? t[i - 1] : 0; break;
        case 3: st[i] = i ? st[i - 1] : 0; break;
        default: st[i] = sts[(i / 7) % (sizeof(sts) / sizeof(sts[0]))] ^ (int64_t)(i % 2);
        }
    }
    for (unsigned n = 1; n <= N; n += n < 10 ? 1 : 37) {
        bool any = false;
        for (unsigned i = 0; i < n; i++)
            any = any || st[i] != 0;
        s_round_trip(t, st, v, n, any ? TSDB_CHUNK_XOR_ST : TSDB_CHUNK_XOR);
    }
}
END_TEST

// An open chunk without start times (decimal steps, XOR) switches to XOR_ST when the first
// start time arrives, keeping every earlier sample; appending without start times never
// switches.
START_TEST(test_tsdb_chunk_st_switch)
{
    int64_t t[N], st[N];
    double v[N];
    for (unsigned i = 0; i < N; i++) {
        t[i] = T0 + 10000 * (int64_t)i;
        v[i] = 0.25 * i;
        st[i] = 0;
    }
    s_round_trip(t, st, v, N, TSDB_CHUNK_DECSTEP);
    for (unsigned at = 1; at < N; at += 17) {
        memset(st, 0, sizeof(st));
        for (unsigned i = at; i < N; i++)
            st[i] = T0 - 1000;
        s_round_trip(t, st, v, N, TSDB_CHUNK_XOR_ST);
        // and an absent start time after present ones is kept absent
        st[N - 1] = 0;
        s_round_trip(t, st, v, N, TSDB_CHUNK_XOR_ST);
    }
    // an XOR chunk (a stale marker) switches too
    v[5] = s_from_bits(FW_STALE_NAN_BITS);
    memset(st, 0, sizeof(st));
    st[60] = t[59];
    s_round_trip(t, st, v, N, TSDB_CHUNK_XOR_ST);
}
END_TEST

// One bit a sample for a counter whose start stays put, two for a delta series.
START_TEST(test_tsdb_chunk_st_cost)
{
    int64_t t[N], st[N], none[N];
    double v[N];
    for (unsigned i = 0; i < N; i++) {
        t[i] = T0 + 15000 * (int64_t)i;
        v[i] = s_from_bits(s_bits(1000.0) + i * 0x123456789ULL); // not decimals: XOR
        none[i] = 0;
    }
    size_t plain = s_round_trip(t, none, v, N, TSDB_CHUNK_XOR);
    for (unsigned i = 0; i < N; i++)
        st[i] = T0 - 86400000;
    size_t cum = s_round_trip(t, st, v, N, TSDB_CHUNK_XOR_ST);
    ck_assert_uint_le(cum, plain + (N + 2 + 6 + 64) / 8 + 1);
    for (unsigned i = 0; i < N; i++)
        st[i] = i ? t[i - 1] : T0 - 15000;
    size_t delta = s_round_trip(t, st, v, N, TSDB_CHUNK_XOR_ST);
    ck_assert_uint_le(delta, plain + (2 * N + 2 + 6 + 64) / 8 + 1);
}
END_TEST

// Hand-made damaged start time codes: '10' on sample 0, a '11' code of difference 0, a
// code cut short. An unknown encoding (5) stays FW_ETYPE.
START_TEST(test_tsdb_chunk_st_damage)
{
    // header: enc 4, n 1, span 0, min t 0; then 64 bits of 1.0 and the st code
    unsigned char c[32];
    struct tsdb_chunk_iter it;
    memset(c, 0, sizeof(c));
    c[0] = TSDB_CHUNK_XOR_ST, c[1] = 1;
    c[8] = 0x3f, c[9] = 0xf0; // 1.0 at bytes 8..15
    c[16] = 0x80;             // '10': the previous timestamp, which sample 0 has not
    tsdb_chunk_iter_init(&it, c, 24);
    ck_assert(!tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), FW_EPARSE);
    c[16] = 0xc0; // '11', L-1 = 0, u = 0
    tsdb_chunk_iter_init(&it, c, 24);
    ck_assert(!tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), FW_EPARSE);
    c[16] = 0xc0 | 0x3f, c[17] = 0xff; // '11', L = 64: needs 64 more bits than there are
    tsdb_chunk_iter_init(&it, c, 18);
    ck_assert(!tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), FW_ETRUNC);
    c[16] = 0x00; // '0': none, then clean padding
    tsdb_chunk_iter_init(&it, c, 17);
    ck_assert(tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(it.st, 0);
    ck_assert(!tsdb_chunk_iter_next(&it));
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
    c[0] = 5;
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, c, 17), FW_ETYPE);
}
END_TEST

Suite *
tsdb_chunk_st_suite(void)
{
    Suite *s = suite_create("tsdb_chunk_st");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tsdb_chunk_st_special_values_mixed);
    tcase_add_test(tc, test_tsdb_chunk_st_switch);
    tcase_add_test(tc, test_tsdb_chunk_st_cost);
    tcase_add_test(tc, test_tsdb_chunk_st_damage);
    suite_add_tcase(s, tc);
    return s;
}
