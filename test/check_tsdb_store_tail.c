/*  check_tsdb_store_tail.c — tsdb_store_tail_read, the remote-write shards' read of their
    series' newest samples straight from the head: window after window it must give exactly
    what an iterator over the window gives (the reference: tsdb_store_samples), through
    appends, chunk cuts, a decimal chunk recoded, a late sample merged into the open chunk,
    commits and head gc (the cached series pointer), and a mark put back to an older one. A
    counter with start times (chunk encoding 4) is read in place as the others are.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "../tsdb/tsdb_chunk.h"
#include "../tsdb/tsdb_store.h"

#define S_SERIES 5 // tail_4 carries start times

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

static void
s_put_st(tsdb_store_t *st, int k, int64_t t, int64_t start, double v)
{
    struct fw_labels l = FW_LABELS_INIT;
    char name[24]; // "tail_" and any int
    snprintf(name, sizeof(name), "tail_%d", k);
    fw_labels_set(&l, "__name__", name);
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series_st(st, &l, &(struct fw_sample){t, v},
                                              start ? &start : NULL, 1, NULL, &err) == 0,
                  "%s", err.msg);
    fw_labels_clear(&l);
}

static void
s_put(tsdb_store_t *st, int k, int64_t t, double v)
{
    s_put_st(st, k, t, 0, v);
}

struct s_got {
    struct fw_sample v[S_SERIES][512];
    size_t n[S_SERIES];
};

static void
s_fn(void *arg, size_t k, int64_t t, double v)
{
    struct s_got *g = arg;
    ck_assert_uint_lt(g->n[k], 512);
    g->v[k][g->n[k]++] = (struct fw_sample){t, v};
}

// One window (from, to] of every series as a shard reads it: fast where it can, else an
// iterator with the same mark; compared with a plain read. Returns how many were fast;
// fast_k[k] counts series k's.
static size_t
s_window(tsdb_store_t *st, struct tsdb_store_tail *tails, int64_t from, int64_t to, size_t *fast_k)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    struct s_got *got = calloc(1, sizeof(*got));
    bool slow[S_SERIES];
    tsdb_store_tail_read(r, tails, S_SERIES, from, to, slow, s_fn, got);
    size_t fast = 0;
    for (size_t k = 0; k < S_SERIES; k++) {
        if (!slow[k]) {
            fast++;
            fast_k[k]++;
        } else {
            struct tsdb_store_iter it;
            tsdb_store_iter_init(&it, r, tails[k].id, from + 1, to);
            tsdb_store_iter_resume(&it, &tails[k].res);
            while (tsdb_store_iter_next(&it))
                s_fn(got, k, it.t, it.v);
        }
        struct fw_sample *want = NULL;
        size_t len = 0, cap = 0;
        ck_assert_int_eq(tsdb_store_samples(r, tails[k].id, from + 1, to, &want, &len, &cap, &err),
                         0);
        ck_assert_msg(got->n[k] == len, "series %zu window (%lld, %lld]: %zu samples, want %zu", k,
                      (long long)from, (long long)to, got->n[k], len);
        for (size_t i = 0; i < len; i++) {
            ck_assert_int_eq(got->v[k][i].t_ms, want[i].t_ms);
            ck_assert_mem_eq(&got->v[k][i].v, &want[i].v, sizeof(double));
        }
        free(want);
    }
    free(got);
    tsdb_store_reader_destroy(&r);
    return fast;
}

START_TEST(test_tsdb_store_tail_like_an_iterator)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    tsdb_store_set_ooo_window(st, 3600 * 1000);
    for (int k = 0; k < S_SERIES; k++)
        s_put(st, k, 0, 1);
    fw_err_t err;
    ck_assert_int_eq(tsdb_store_commit(st, &err), 0);
    struct tsdb_store_tail tails[S_SERIES];
    memset(tails, 0, sizeof(tails));
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    uint64_t *ids;
    size_t n_ids;
    struct fw_matcher all;
    ck_assert_int_eq(
        fw_matcher_init(&all, FW_MATCH_RE, "__name__", "tail_.*", FW_REGEX_PROMETHEUS, &err), 0);
    ck_assert_int_eq(tsdb_store_select_ids(r, &all, 1, &ids, &n_ids, &err), 0);
    ck_assert_uint_eq(n_ids, S_SERIES);
    for (size_t k = 0; k < S_SERIES; k++)
        tails[k].id = ids[k]; // in id order: tail_0 .. tail_4
    free(ids);
    fw_matcher_clear(&all);
    tsdb_store_reader_destroy(&r);

    size_t fast = 0, fast_k[S_SERIES] = {0};
    int64_t from = -1, t = 0;
    // 400 windows of 1 s; the series get samples at different steps and values
    for (int w = 1; w <= 400; w++) {
        int64_t to = (int64_t)w * 1000;
        for (t = to - 999; t <= to + 2000; t += 250) { // some past the window's end
            if (t <= (int64_t)(w - 1) * 1000 + 2000)
                continue;                                // appended by the last window already
            s_put(st, 0, t, (double)(t % 7));            // small decimals
            s_put(st, 1, t, (double)t / 1000.0);         // one decimal
            s_put(st, 2, t, w == 200 ? 1.0 / 3.0 : 2.5); // a recode in window 200
            if (t % 1000 == 0)
                s_put(st, 3, t, (double)w); // a slower series
            // a counter with a start time, reset (a new start) every 100 windows
            s_put_st(st, 4, t, (t / 100000) * 100000 + 1, (double)(t % 100000) / 250);
        }
        if (w == 150) // a late sample in the next window's range, merged into the open chunk
            s_put(st, 1, to + 1100, 42);
        if (w % 50 == 0) {
            ck_assert_int_eq(tsdb_store_commit(st, &err), 0);
            tsdb_store_head_gc(st, 0); // nothing is old enough: the epoch may still move
        }
        if (w == 300) {
            ck_assert_int_eq(tsdb_store_commit(st, &err), 0);
            ck_assert_uint_gt(tsdb_store_head_gc(st, INT64_MAX), 0); // every pointer gone
        }
        if (w == 320)
            memset(&tails[0].res, 0, sizeof(tails[0].res)); // a mark lost: read again
        fast += s_window(st, tails, from, to, fast_k);
        from = to;
    }
    ck_assert_uint_gt(fast, 300 * S_SERIES); // mostly in place, or the test tests nothing
    // start times do not send a series to the iterator (they did: no mark in encoding 4)
    ck_assert_msg(fast_k[4] > 300, "the series with start times was read in place %zu times",
                  fast_k[4]);
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_store_tail_suite(void)
{
    Suite *s = suite_create("tsdb_store_tail");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_tsdb_store_tail_like_an_iterator);
    suite_add_tcase(s, tc);
    return s;
}
