/*  check_tsdb_resume.c — resuming the decoding of a grown open chunk (tsdb_chunk_iter_mark
    and tsdb_chunk_iter_resume, tsdb_store_iter_resume), as the remote-write shards read each
    series' newest samples window after window: the samples after the mark come out exactly
    as a decoding from the chunk's start gives them, and a chunk that was re-encoded (a
    recode to another scale or to XOR, a late sample merged in, damage) is not resumed; a
    chunk with start times (encoding 4) resumes with them.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "fw_mem.h"
#include "fw_sample.h"
#include "check_util.h"
#include "../tsdb/tsdb_chunk.h"
#include "../tsdb/tsdb_store.h"

#define T0 1767225600000LL // 2026-01-01T00:00:00Z in ms

// Decode the chunk a holds from mark m (or its start when resume says no): *resumed tells
// which; the samples after the mark go to t[], v[]; returns their count, and marks the end.
static unsigned
s_from_mark(const struct tsdb_chunk_app *a, struct tsdb_chunk_mark *m, bool have, bool *resumed,
            int64_t *t, double *v)
{
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(a, &len);
    struct tsdb_chunk_iter it;
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, p, len), 0);
    *resumed = have && tsdb_chunk_iter_resume(&it, m);
    unsigned n = 0;
    while (tsdb_chunk_iter_next(&it)) {
        ck_assert_uint_lt(n, 200);
        t[n] = it.t;
        v[n] = it.v;
        n++;
    }
    ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
    ck_assert(tsdb_chunk_iter_mark(&it, m));
    return n;
}

// An open chunk grown one to three samples at a time, read from the last mark each time:
// every read resumes, and gives exactly the samples appended since.
static void
s_grow_and_resume(double (*value)(unsigned))
{
    struct tsdb_chunk_app a = {0};
    struct tsdb_chunk_mark m;
    int64_t t[200];
    double v[200];
    bool have = false, resumed;
    unsigned appended = 0, steps = 0;
    while (appended < TSDB_CHUNK_MAX_SAMPLES) {
        unsigned from = appended, add = 1 + steps++ % 3;
        for (unsigned k = 0; k < add && appended < TSDB_CHUNK_MAX_SAMPLES; k++, appended++)
            ck_assert_int_eq(
                tsdb_chunk_app_append(&a, T0 + appended * 15000 + (appended % 3), value(appended)),
                0);
        unsigned n = s_from_mark(&a, &m, have, &resumed, t, v);
        ck_assert_msg(resumed == have, "step %u appended %u v0 %g", steps, appended, value(0));
        unsigned first = have ? from : 0;
        ck_assert_uint_eq(n, appended - first);
        for (unsigned k = 0; k < n; k++) {
            ck_assert_int_eq(t[k], T0 + (first + k) * 15000 + ((first + k) % 3));
            ck_assert(memcmp(&v[k], &(double){value(first + k)}, sizeof(double)) == 0);
        }
        have = true;
    }
    tsdb_chunk_app_clear(&a);
}

static double
s_xor_value(unsigned k)
{
    return k % 5 == 0 ? 1.0 / (k + 3) : (double)k * 1.1e9 + 0.123456789;
}

static double
s_dec_value(unsigned k)
{
    return (double)(k * 7 % 13 + 1) / 100.0 + 20; // two places from the first: no recode
}

START_TEST(test_tsdb_resume_chunk_grows)
{
    s_grow_and_resume(s_xor_value);
    s_grow_and_resume(s_dec_value);
}
END_TEST

START_TEST(test_tsdb_resume_chunk_recoded_not_resumed)
{
    struct tsdb_chunk_app a = {0};
    struct tsdb_chunk_mark m;
    int64_t t[200];
    double v[200];
    bool resumed;
    for (unsigned k = 0; k < 10; k++)
        ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + k * 1000, 1.5 + k), 0);
    ck_assert_uint_eq(s_from_mark(&a, &m, false, &resumed, t, v), 10);
    // more places than so far: the chunk is re-coded at a larger scale
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 10000, 1.125), 0);
    ck_assert_uint_eq(s_from_mark(&a, &m, true, &resumed, t, v), 11);
    ck_assert(!resumed);
    ck_assert(t[10] == T0 + 10000 && v[10] == 1.125 && v[0] == 1.5);
    // no decimal at all: re-coded as XOR
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 11000, 1.0 / 3), 0);
    ck_assert_uint_eq(s_from_mark(&a, &m, true, &resumed, t, v), 12);
    ck_assert(!resumed);
    ck_assert(v[11] == 1.0 / 3 && v[10] == 1.125);
    // a byte the mark covers changed: not resumed
    ck_assert_int_eq(tsdb_chunk_app_append(&a, T0 + 12000, 2.0 / 3), 0);
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
    unsigned char *copy = fw_malloc(len);
    memcpy(copy, p, len);
    copy[10] ^= 0x10;
    struct tsdb_chunk_iter it;
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, copy, len), 0);
    ck_assert(!tsdb_chunk_iter_resume(&it, &m));
    // the same bytes: resumed, the new sample only
    memcpy(copy, p, len);
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, copy, len), 0);
    ck_assert(tsdb_chunk_iter_resume(&it, &m));
    ck_assert(tsdb_chunk_iter_next(&it) && it.t == T0 + 12000 && it.v == 2.0 / 3);
    ck_assert(!tsdb_chunk_iter_next(&it) && tsdb_chunk_iter_err(&it) == 0);
    free(copy);
    // sealed into a regular-time form: not resumable
    tsdb_chunk_app_seal(&a);
    p = tsdb_chunk_app_bytes(&a, &len);
    ck_assert_int_eq(tsdb_chunk_iter_init(&it, p, len), 0);
    ck_assert(!tsdb_chunk_iter_resume(&it, &m));
    tsdb_chunk_app_clear(&a);
}
END_TEST

// A counter with start times (value encoding 4), as a remote-write shard reads it: its
// first samples without one (XOR: thirds), then a start time that stays put (the chunk is re-coded
// to encoding 4 once: not resumed then), a reset (a new start), delta samples (the start is
// the previous timestamp) and a start going back to none. Grown 1 to 3 samples at a time
// and read from the last mark each time: every other read resumes, and gives exactly the
// (t, start, v) a decoding from the chunk's start gives.
static int64_t
s_st_of(unsigned k)
{
    return k < 5     ? 0
           : k < 40  ? T0 - 3600000
           : k < 70  ? T0 + 39 * 15000 + 7
           : k < 100 ? T0 + (k - 1) * 15000 // delta samples
                     : 0;
}

START_TEST(test_tsdb_resume_chunk_start_times)
{
    struct tsdb_chunk_app a = {0};
    struct tsdb_chunk_mark m;
    bool have = false;
    unsigned appended = 0, steps = 0, resumed = 0;
    while (appended < TSDB_CHUNK_MAX_SAMPLES) {
        unsigned from = appended, add = 1 + steps++ % 3;
        for (unsigned k = 0; k < add && appended < TSDB_CHUNK_MAX_SAMPLES; k++, appended++)
            ck_assert_int_eq(tsdb_chunk_app_append_st(&a, T0 + appended * 15000, s_st_of(appended),
                                                      (double)(appended % 40) + 1.0 / 3),
                             0);
        size_t len;
        const unsigned char *p = tsdb_chunk_app_bytes(&a, &len);
        struct tsdb_chunk_iter it, ref;
        ck_assert_int_eq(tsdb_chunk_iter_init(&it, p, len), 0);
        ck_assert_int_eq(tsdb_chunk_iter_init(&ref, p, len), 0);
        bool res = have && tsdb_chunk_iter_resume(&it, &m);
        // a chunk is re-coded (not resumed) only when its first start time arrives
        ck_assert_msg(res == (have && !(from <= 5 && appended > 5)), "step %u", steps);
        resumed += res;
        unsigned first = res ? from : 0;
        for (unsigned k = 0; k < first; k++)
            ck_assert(tsdb_chunk_iter_next(&ref));
        unsigned n = 0;
        while (tsdb_chunk_iter_next(&it)) {
            ck_assert_uint_lt(n, 200);
            ck_assert(tsdb_chunk_iter_next(&ref));
            ck_assert_int_eq(it.t, T0 + (first + n) * 15000);
            ck_assert_int_eq(it.st, s_st_of(first + n));
            ck_assert_int_eq(it.st, ref.st);
            ck_assert(memcmp(&it.v, &ref.v, sizeof(double)) == 0);
            n++;
        }
        ck_assert_int_eq(tsdb_chunk_iter_err(&it), 0);
        ck_assert_uint_eq(n, appended - first);
        ck_assert(tsdb_chunk_iter_mark(&it, &m));
        have = true;
    }
    ck_assert_uint_gt(resumed, 40);
    tsdb_chunk_app_clear(&a);
}
END_TEST

// ---------------------------------------------------------------------------------------
// The store: window after window, with and without a resume record

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

static void
s_put(tsdb_store_t *st, int64_t t, double v)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "r");
    struct fw_sample s = {t, v};
    struct tsdb_store_stats stats = {0};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series(st, &l, &s, 1, &stats, &err) == 0, "%s", err.msg);
    fw_labels_clear(&l);
}

// Series 'r''s samples in [mint, maxt] into t[] (at most max), through res when not NULL.
static size_t
s_window(tsdb_store_t *st, int64_t mint, int64_t maxt, struct tsdb_store_resume *res, int64_t *t,
         double *v, size_t max)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    struct fw_matcher m;
    ck_assert_int_eq(fw_matcher_init(&m, FW_MATCH_EQ, "__name__", "r", FW_REGEX_PROMETHEUS, &err),
                     0);
    uint64_t *ids;
    size_t n_ids, n = 0;
    ck_assert_int_eq(tsdb_store_select_ids(r, &m, 1, &ids, &n_ids, &err), 0);
    ck_assert_uint_eq(n_ids, 1);
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, ids[0], mint, maxt);
    if (res)
        tsdb_store_iter_resume(&it, res);
    while (tsdb_store_iter_next(&it)) {
        ck_assert_uint_lt(n, max);
        t[n] = it.t;
        v[n++] = it.v;
    }
    ck_assert_int_eq(tsdb_store_iter_err(&it), 0);
    free(ids);
    fw_matcher_clear(&m);
    tsdb_store_reader_destroy(&r);
    return n;
}

START_TEST(test_tsdb_resume_store_windows)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    tsdb_store_set_ooo_window(st, 3600 * 1000);
    struct tsdb_store_resume res = {0};
    int64_t t1[400], t2[400];
    double v1[400], v2[400];
    int64_t from = T0 - 1, k = 0;
    unsigned resumed = 0;
    // 300 samples at 1 s, read in windows of 1 to 4 s that end before the newest sample
    // now and then (the shard's window lags ingest); a late sample merged into the open
    // chunk once, and commits (sealed chunks) along the way
    for (int round = 0; round < 150; round++) {
        for (int a = 0; a < 2 && k < 300; a++, k++)
            s_put(st, T0 + k * 1000, (double)(k % 11) / 4);
        if (round == 40) // late, in the open chunk before the mark: the bytes change
            s_put(st, from - 500, 99.5);
        if (round % 37 == 0) {
            fw_err_t err;
            ck_assert_msg(tsdb_store_commit(st, &err) == 0, "%s", err.msg);
        }
        int64_t to = T0 + (k - 1 - round % 3) * 1000;
        if (to <= from)
            continue;
        bool had = res.valid && res.m.t <= from;
        size_t n2 = s_window(st, from + 1, to, NULL, t2, v2, 400);
        size_t n1 = s_window(st, from + 1, to, &res, t1, v1, 400);
        ck_assert_uint_eq(n1, n2);
        for (size_t j = 0; j < n1; j++) {
            ck_assert_int_eq(t1[j], t2[j]);
            ck_assert(memcmp(&v1[j], &v2[j], sizeof(double)) == 0);
        }
        ck_assert(res.valid);
        resumed += had;
        from = to;
    }
    ck_assert_uint_gt(resumed, 100);
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_resume_suite(void)
{
    Suite *s = suite_create("tsdb_resume");
    TCase *tc = tcase_create("chunk");
    tcase_add_test(tc, test_tsdb_resume_chunk_grows);
    tcase_add_test(tc, test_tsdb_resume_chunk_recoded_not_resumed);
    tcase_add_test(tc, test_tsdb_resume_chunk_start_times);
    suite_add_tcase(s, tc);
    tc = tcase_create("store");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_tsdb_resume_store_windows);
    suite_add_tcase(s, tc);
    return s;
}
