/*  check_tsdb_rollup_codec.c — the rollups' records on their own (tsdb_rollup.h): pages of
    buckets and group pages with their marks, encoded and decoded bit for bit; every
    truncation or damaged byte an error or a clean decode, never a crash. No store: the
    query-level checks are check_tsdb_rollup.c's.
*/
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "../tsdb/tsdb_rollup.h"
#include "check_util.h"

#define H_MS ((int64_t)3600000)
#define T0 ((int64_t)1700000000000 - 1700000000000 % (24 * H_MS)) // a day boundary

Suite *tsdb_rollup_codec_suite(void);

// check_util_xorshift64's state, seeded again before each test (s_setup), so a failing case
// reproduces.
static uint64_t s_rng = 88172645463325252ULL;

static void
s_setup(void)
{
    s_rng = 88172645463325252ULL;
}

// Group pages and marks records: segments spliced in and out in slot order, found again;
// every truncation or changed byte is an error or a clean parse, never a crash.
START_TEST(test_tsdb_rollup_group_codec)
{
    unsigned char page[512], out[512], seg[3][40];
    size_t len = 0;
    struct tsdb_rollup_group g;
    const unsigned slots[3] = {9, 2, 63};
    for (int i = 0; i < 3; i++) {
        memset(seg[i], 'a' + i, sizeof(seg[i]));
        size_t n = tsdb_rollup_group_splice(len ? &g : NULL, page, slots[i], seg[i],
                                            (size_t)(10 + 10 * i), out);
        memcpy(page, out, n);
        len = n;
        ck_assert_int_eq(tsdb_rollup_group_parse(page, len, &g), 0);
        ck_assert_uint_eq(g.n, (unsigned)i + 1);
    }
    ck_assert(g.slot[0] == 2 && g.slot[1] == 9 && g.slot[2] == 63);
    const unsigned char *p;
    size_t pl;
    ck_assert(tsdb_rollup_group_find(&g, page, 63, &p, &pl) && pl == 30 && p[0] == 'c');
    ck_assert(tsdb_rollup_group_find(&g, page, 2, &p, &pl) && pl == 20 && p[19] == 'b');
    ck_assert(!tsdb_rollup_group_find(&g, page, 3, &p, &pl));
    // replaced, then removed; the last one removed leaves nothing
    size_t n = tsdb_rollup_group_splice(&g, page, 9, seg[2], 5, out);
    ck_assert_int_eq(tsdb_rollup_group_parse(out, n, &g), 0);
    ck_assert(tsdb_rollup_group_find(&g, out, 9, &p, &pl) && pl == 5 && p[0] == 'c');
    ck_assert_int_eq(tsdb_rollup_group_parse(page, len, &g), 0);
    for (size_t cut = 0; cut < len; cut++) {
        struct tsdb_rollup_group h;
        ck_assert_int_ne(tsdb_rollup_group_parse(page, cut, &h), 0);
        ck_assert_uint_eq(h.n, 0);
    }
    for (size_t k = 0; k < len; k++) {
        unsigned char save = page[k];
        page[k] ^= (unsigned char)(1 + check_util_xorshift64(&s_rng) % 255);
        struct tsdb_rollup_group h;
        if (tsdb_rollup_group_parse(page, len, &h) == 0)
            for (unsigned i = 0; i < h.n; i++)
                ck_assert(h.off[i] + h.len[i] <= len && h.slot[i] < TSDB_ROLLUP_GROUP);
        page[k] = save;
    }
    unsigned char one[64];
    size_t l1 = tsdb_rollup_group_splice(NULL, NULL, 7, seg[0], 3, one);
    ck_assert_int_eq(tsdb_rollup_group_parse(one, l1, &g), 0);
    ck_assert_uint_eq(tsdb_rollup_group_splice(&g, one, 7, NULL, 0, out), 0);
    // marks: any int64 but INT64_MIN (none), in any slot
    int64_t w[TSDB_ROLLUP_GROUP], r[TSDB_ROLLUP_GROUP];
    for (unsigned i = 0; i < TSDB_ROLLUP_GROUP; i++)
        w[i] = INT64_MIN;
    unsigned char mb[TSDB_ROLLUP_MARKS_MAX];
    ck_assert_uint_eq(tsdb_rollup_marks_encode(w, mb), 0);
    w[0] = INT64_MAX;
    w[5] = INT64_MIN + 1;
    w[6] = T0;
    w[63] = -1;
    size_t ml = tsdb_rollup_marks_encode(w, mb);
    ck_assert_int_eq(tsdb_rollup_marks_decode(mb, ml, r), 0);
    ck_assert_int_eq(memcmp(w, r, sizeof(w)), 0);
    for (size_t cut = 0; cut < ml; cut++) {
        int rc = tsdb_rollup_marks_decode(mb, cut, r);
        ck_assert(rc != 0 || r[63] == INT64_MIN);
    }
}
END_TEST

static bool
s_same_bits(double x, double y)
{
    return memcmp(&x, &y, 8) == 0;
}

// Encode b[0..n) as a page, decode it: every field the same bits (the sum where queries use
// it: whole values, or a single sample); every truncation or damaged byte is an error or a
// clean decode, never a crash. The page's length.
static size_t
s_roundtrip(const struct tsdb_rollup_bucket *b, size_t n, int64_t ps, int64_t step)
{
    unsigned char *enc = fw_malloc(1 + n * TSDB_ROLLUP_BUCKET_MAX);
    size_t len = tsdb_rollup_page_encode(b, n, ps, step, enc);
    ck_assert_int_eq(enc[0] & 0x7f, 4);
    struct tsdb_rollup_bucket *out = NULL;
    size_t on = 0, cap = 0;
    ck_assert_int_eq(tsdb_rollup_page_decode(enc, len, ps, step, &out, &on, &cap), 0);
    ck_assert_uint_eq(on, n);
    for (size_t k = 0; k < n; k++) {
        const struct tsdb_rollup_agg *x = &b[k].a, *y = &out[k].a;
        ck_assert_int_eq(b[k].end, out[k].end);
        ck_assert(x->first_t == y->first_t && x->last_t == y->last_t && x->count == y->count &&
                  x->n_resets == y->n_resets && x->n_changes == y->n_changes && x->ints == y->ints);
        ck_assert_msg(s_same_bits(x->first_v, y->first_v) && s_same_bits(x->last_v, y->last_v) &&
                          s_same_bits(x->min, y->min) && s_same_bits(x->max, y->max),
                      "bucket %zu: %a %a %a %a", k, y->first_v, y->last_v, y->min, y->max);
        ck_assert((!x->ints && x->count > 1) || s_same_bits(x->sum, y->sum));
        ck_assert(x->n_resets == 0 || s_same_bits(x->reset_sum, y->reset_sum));
    }
    for (size_t cut = 0; cut < len; cut++) {
        on = 0;
        int rc = tsdb_rollup_page_decode(enc, cut, ps, step, &out, &on, &cap);
        ck_assert(rc != 0 || on < n);
    }
    for (size_t k = 0; k < len; k++) {
        unsigned char save = enc[k];
        enc[k] ^= (unsigned char)(1 + check_util_xorshift64(&s_rng) % 255);
        on = 0;
        (void)tsdb_rollup_page_decode(enc, len, ps, step, &out, &on, &cap);
        ck_assert_uint_le(on, TSDB_ROLLUP_PAGE);
        enc[k] = save;
    }
    free(out);
    free(enc);
    return len;
}

// Pages (version 4): random values, then the awkward ones (NaN payloads, -0, infinities,
// decimals of every scale, huge and tiny values) bit for bit; decimals cost fewer bytes than
// their XOR; version 2 and 3 pages are still read.
START_TEST(test_tsdb_rollup_page_codec)
{
    struct tsdb_rollup_bucket b[TSDB_ROLLUP_PAGE];
    size_t n = 0;
    int64_t ps = T0, step = 300000;
    for (int i = 0; i < TSDB_ROLLUP_PAGE; i += 1 + (int)(check_util_xorshift64(&s_rng) % 3)) {
        struct tsdb_rollup_agg a = {0};
        int64_t end = ps + (i + 1) * step;
        int m = 1 + (int)(check_util_xorshift64(&s_rng) % 30);
        for (int j = 0; j < m; j++) {
            double v = j % 7 == 3
                           ? NAN
                           : (double)(check_util_xorshift64(&s_rng) % 100) / (j % 2 ? 3.0 : 1.0);
            tsdb_rollup_agg_add(&a, end - step + 1 + j * 9000, v);
        }
        b[n++] = (struct tsdb_rollup_bucket){end, a};
    }
    s_roundtrip(b, n, ps, step);
    double nan_payload, nan_neg;
    uint64_t u = 0x7ff8000000000123ULL, w = 0xfff0000000000001ULL; // quiet and signalling
    memcpy(&nan_payload, &u, 8);
    memcpy(&nan_neg, &w, 8);
    const double odd[] = {
        -0.0,
        0.0,
        nan_payload,
        INFINITY,
        -INFINITY,
        nan_neg,
        0.1,
        0.7123,
        -12.5,
        40.1,
        1e300,
        -1e-300,
        3.14159e-5,
        4.9e-324,
        1e15,
        123456789012345.6,
        0.3,
        0.1 + 0.2,
        9007199254740993.0,
        -0.001,
        1e-15,
        2.5,
        NAN,
    };
    const size_t n_odd = sizeof(odd) / sizeof(*odd);
    n = 0;
    for (size_t i = 0; i < n_odd * 3 && i < TSDB_ROLLUP_PAGE; i++) {
        struct tsdb_rollup_agg a = {0};
        int64_t end = ps + ((int64_t)i + 1) * step;
        for (size_t j = 0; j < 1 + i % 4; j++)
            tsdb_rollup_agg_add(&a, end - step + 1 + (int64_t)j * 15000, odd[(i + j * 5) % n_odd]);
        b[n++] = (struct tsdb_rollup_bucket){end, a};
    }
    s_roundtrip(b, n, ps, step);
    // a factorysim-like gauge (two decimals, 20 samples a bucket): decimals beat the XORs
    n = 0;
    double v = 40.0;
    for (int i = 0; i < 24; i++) {
        struct tsdb_rollup_agg a = {0};
        int64_t end = ps + (i + 1) * step;
        for (int j = 0; j < 20; j++) {
            v = round((v + (double)((int)(check_util_xorshift64(&s_rng) % 21) - 10) / 100.0) *
                      100.0) /
                100.0;
            tsdb_rollup_agg_add(&a, end - step + 1 + j * 15000, v);
        }
        b[n++] = (struct tsdb_rollup_bucket){end, a};
    }
    size_t len = s_roundtrip(b, n, ps, step);
    ck_assert_msg(len < 24 * 20, "%zu bytes for 24 buckets of decimals", len);
    // version 2 (sessions before this one): XOR only, the sum always, reset_sum before first_v:
    // one bucket of 9 then 2 (a reset, a change), first at end - 200 s, last 100 s later
    const unsigned char v2[] = {2,    0x00, 0x02, 0x6d, 0x80, 0xb5, 0x18, 0xc0, 0x9a, 0x0c, 0x01,
                                0x80, 0x01, 0x06, 0x40, 0x22, 0x16, 0x22, 0x06, 0x40, 0x26};
    struct tsdb_rollup_bucket *out = NULL;
    size_t on = 0, cap = 0;
    ck_assert_int_eq(tsdb_rollup_page_decode(v2, sizeof(v2), ps, step, &out, &on, &cap), 0);
    ck_assert_uint_eq(on, 1);
    const struct tsdb_rollup_agg *y = &out[0].a;
    ck_assert_int_eq(out[0].end, ps + step);
    ck_assert(y->first_t == ps + step - 200000 && y->last_t == ps + step - 100000);
    ck_assert(y->count == 2 && y->n_resets == 1 && y->n_changes == 1 && y->ints);
    ck_assert(y->first_v == 9 && y->last_v == 2 && y->min == 2 && y->max == 9 && y->sum == 11 &&
              y->reset_sum == 9);
    // version 3 (storage format 5's pages, kept as segments): the same bucket
    const unsigned char v3[] = {3,    0x00, 0x02, 0x6d, 0x80, 0xb5, 0x18, 0xc0, 0x9a, 0x0c,
                                0x01, 0x01, 0x90, 0x12, 0x16, 0x22, 0x90, 0x16, 0x80};
    on = 0;
    ck_assert_int_eq(tsdb_rollup_page_decode(v3, sizeof(v3), ps, step, &out, &on, &cap), 0);
    ck_assert_uint_eq(on, 1);
    y = &out[0].a;
    ck_assert(y->first_t == ps + step - 200000 && y->last_t == ps + step - 100000);
    ck_assert(y->count == 2 && y->n_resets == 1 && y->n_changes == 1 && y->ints);
    ck_assert(y->first_v == 9 && y->last_v == 2 && y->min == 2 && y->max == 9 && y->sum == 11 &&
              y->reset_sum == 9);
    // version 4 at a 15 s scrape on whole seconds: times in seconds, one byte each; a lone
    // sample's bucket and a steady counter's hour cost a few bytes
    struct tsdb_rollup_agg a1 = {0}, a2 = {0};
    int64_t h = 3600000;
    tsdb_rollup_agg_add(&a1, T0, 1000);
    for (int j = 1; j <= 240; j++)
        tsdb_rollup_agg_add(&a2, T0 + j * 15000, 1000 + 7 * j + (j % 3));
    struct tsdb_rollup_bucket hb[2] = {{T0, a1}, {T0 + h, a2}};
    int64_t hps = T0 - h;
    len = s_roundtrip(hb, 2, hps, h);
    unsigned char enc[64];
    ck_assert_uint_eq(tsdb_rollup_page_encode(hb, 2, hps, h, enc), len);
    ck_assert_int_eq(enc[0], 0x84);
    ck_assert_msg(len <= 24, "%zu bytes (version 3: 33)", len);
    free(out);
}
END_TEST

Suite *
tsdb_rollup_codec_suite(void)
{
    Suite *s = suite_create("tsdb_rollup_codec");
    TCase *tc = tcase_create("codec");
    tcase_add_checked_fixture(tc, s_setup, NULL);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tsdb_rollup_page_codec);
    tcase_add_test(tc, test_tsdb_rollup_group_codec);
    suite_add_tcase(s, tc);
    return s;
}
