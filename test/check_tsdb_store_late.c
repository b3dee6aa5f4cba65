/*  check_tsdb_store_late.c — the store's late-sample records for remote-write queues
    (tsdb_store.h, "Late samples"): which commits record what for which watcher, widening,
    dropping only what was not widened since, surviving a restart, forgetting a queue.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_labels.h"
#include "../tsdb/tsdb_store.h"

#define S_A 0xA1u
#define S_B 0xB2u

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

// Append n samples of series name from t0 every step ms.
static void
s_put(tsdb_store_t *st, const char *name, int64_t t0, int64_t step, size_t n)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", name);
    struct fw_sample *s = calloc(n, sizeof(*s));
    for (size_t k = 0; k < n; k++)
        s[k] = (struct fw_sample){t0 + (int64_t)k * step, (double)k};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series(st, &l, s, n, NULL, &err) == 0, "%s", err.msg);
    free(s);
    fw_labels_clear(&l);
}

static void
s_commit(tsdb_store_t *st)
{
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(st, &err) == 0, "%s", err.msg);
}

// key's records, all of them.
static size_t
s_list(tsdb_store_t *st, uint64_t key, struct tsdb_store_late *out, size_t max)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    uint64_t after = 0;
    size_t n = 0;
    ck_assert_msg(tsdb_store_late_list(r, key, 1, 0, &after, out, max, &n, &err) == 0, "%s",
                  err.msg);
    ck_assert_uint_eq(after, 0); // read to the end
    tsdb_store_reader_destroy(&r);
    return n;
}

static void
s_watch(tsdb_store_t *st, uint64_t key, int64_t mark)
{
    fw_err_t err;
    ck_assert_msg(tsdb_store_late_watch(st, key, mark, &err) == 0, "%s", err.msg);
}

START_TEST(test_tsdb_store_late_records)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    struct tsdb_store_late recs[8];
    // nobody watches: nothing recorded
    s_put(st, "old", 1000, 1000, 5);
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 8), 0);
    // A has read up to 100 s: samples at or below are recorded, newer ones are not
    s_watch(st, S_A, 100000);
    s_put(st, "x", 50000, 1000, 3); // 50..52 s
    s_put(st, "y", 200000, 1000, 3);
    s_put(st, "z", 99000, 1000, 3); // 99 and 100 s below, 101 s above
    s_commit(st);
    size_t n = s_list(st, S_A, recs, 8);
    ck_assert_uint_eq(n, 2);
    ck_assert(recs[0].id < recs[1].id);
    ck_assert_int_eq(recs[0].mint, 50000);
    ck_assert_int_eq(recs[0].maxt, 52000);
    ck_assert_int_eq(recs[1].mint, 99000);
    ck_assert_int_eq(recs[1].maxt, 100000);
    ck_assert_uint_eq(s_list(st, S_B, recs + 2, 6), 0);
    // they survive a restart as their samples do (watches do not: the queue watches again)
    tsdb_store_destroy(&st);
    st = check_util_store_open(s_dir, (size_t)64 << 20);
    ck_assert_uint_eq(s_list(st, S_A, recs, 8), 2);
    s_put(st, "v", 40000, 1000, 1); // not watched now: nothing recorded
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 8), 2);
    ck_assert_int_eq(recs[0].mint, 50000);
    // done drops them
    fw_err_t err;
    ck_assert_msg(tsdb_store_late_done(st, S_A, recs, 2, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(s_list(st, S_A, recs, 8), 0);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_late_per_watcher)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    struct tsdb_store_late recs[8];
    s_watch(st, S_A, 100000);
    s_watch(st, S_B, 60000); // B is behind: it reads 60..100 s in its windows
    s_put(st, "p", 80000, 1000, 2);
    s_put(st, "q", 30000, 1000, 2);
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 8), 2);
    ck_assert_uint_eq(s_list(st, S_B, recs, 8), 1);
    ck_assert_int_eq(recs[0].mint, 30000);
    // a mark only rises
    s_watch(st, S_B, 10000);
    s_put(st, "r", 50000, 1000, 1);
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_B, recs, 8), 2);
    // more than TSDB_STORE_LATE_KEYS watchers are refused
    fw_err_t err;
    for (uint64_t k = 1; k <= TSDB_STORE_LATE_KEYS - 2; k++)
        s_watch(st, 0x1000 + k, 0);
    ck_assert_int_eq(tsdb_store_late_watch(st, 0x9999, 0, &err), -1);
    ck_assert_int_eq(tsdb_store_late_watch(st, 0, 0, &err), -1);
    // keeping only B: A no longer watched, its records deleted; B's kept
    ck_assert_msg(tsdb_store_late_keep(st, (uint64_t[]){S_B}, 1, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(s_list(st, S_A, recs, 8), 0);
    ck_assert_uint_eq(s_list(st, S_B, recs, 8), 2);
    s_put(st, "s", 90000, 1000, 1); // above B's mark, and A is gone
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 8), 0);
    ck_assert_uint_eq(s_list(st, S_B, recs, 8), 2);
    s_watch(st, 0x9999, 0); // a slot is free again
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_late_widened_kept)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    struct tsdb_store_late recs[4], again[4];
    s_watch(st, S_A, 100000);
    s_put(st, "x", 50000, 1000, 2);
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 4), 1);
    // a commit widens it after the queue read it: done keeps it
    s_put(st, "x", 70000, 1000, 2);
    s_commit(st);
    fw_err_t err;
    ck_assert_msg(tsdb_store_late_done(st, S_A, recs, 1, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(s_list(st, S_A, again, 4), 1);
    ck_assert_int_eq(again[0].mint, 50000);
    ck_assert_int_eq(again[0].maxt, 71000);
    ck_assert_uint_ne(again[0].gen, recs[0].gen);
    ck_assert_msg(tsdb_store_late_done(st, S_A, again, 1, &err) == 0, "%s", err.msg);
    ck_assert_uint_eq(s_list(st, S_A, again, 4), 0);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_late_out_of_order)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    tsdb_store_set_ooo_window(st, 3600 * 1000);
    struct tsdb_store_late recs[4];
    // 300 s of one series: sealed chunks, and an open one from 240 s
    s_put(st, "w", 1000, 1000, 300);
    s_commit(st);
    s_watch(st, S_A, 200000);
    // late into the open chunk (readers see it at once): judged at the append
    s_put(st, "w", 250500, 0, 1);
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 4), 0); // above the mark: the windows read it
    // late before the open chunk: readers see it only once committed, so the mark at the
    // commit decides; the queue's reader here raises it past the sample between the append
    // and the commit
    s_put(st, "w", 230500, 0, 1);
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_late_reader(st, S_A, 240000, &err);
    ck_assert_ptr_nonnull(r);
    tsdb_store_reader_destroy(&r);
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 4), 1);
    ck_assert_int_eq(recs[0].mint, 230500);
    ck_assert_int_eq(recs[0].maxt, 230500);
    // more late ones widen the record
    s_put(st, "w", 10500, 0, 1);
    s_put(st, "w", 150500, 0, 1);
    s_commit(st);
    ck_assert_uint_eq(s_list(st, S_A, recs, 4), 1);
    ck_assert_int_eq(recs[0].mint, 10500);
    ck_assert_int_eq(recs[0].maxt, 230500);
    // the samples are there for the queue to send
    r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, recs[0].id, recs[0].mint, recs[0].maxt);
    size_t n = 0;
    bool late = false;
    while (tsdb_store_iter_next(&it)) {
        n++;
        late |= it.t == 150500;
    }
    ck_assert(late);
    ck_assert_uint_eq(n, 220 + 3); // 11..230 s, and the three late ones
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_late_list_slices)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    s_watch(st, S_A, 100000);
    s_watch(st, S_B, 100000);
    char name[32];
    for (int i = 0; i < 10; i++) {
        snprintf(name, sizeof(name), "m%d", i);
        s_put(st, name, 1000, 1000, 2);
    }
    s_commit(st);
    // by shard (id % 3), in slices of 2, going on where the last call stopped
    fw_err_t err;
    size_t total = 0;
    for (uint64_t rem = 0; rem < 3; rem++) {
        uint64_t after = 0;
        for (int call = 0; call < 20; call++) {
            struct tsdb_store_late recs[2];
            size_t n;
            tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
            ck_assert_int_eq(tsdb_store_late_list(r, S_A, 3, rem, &after, recs, 2, &n, &err), 0);
            tsdb_store_reader_destroy(&r);
            for (size_t k = 0; k < n; k++) {
                ck_assert_uint_eq(recs[k].id % 3, rem);
                ck_assert_uint_gt(recs[k].id, k ? recs[k - 1].id : 0);
            }
            total += n;
            if (after == 0)
                break;
        }
    }
    ck_assert_uint_eq(total, 10);
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_store_late_suite(void)
{
    Suite *s = suite_create("tsdb_store_late");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_tsdb_store_late_records);
    tcase_add_test(tc, test_tsdb_store_late_per_watcher);
    tcase_add_test(tc, test_tsdb_store_late_widened_kept);
    tcase_add_test(tc, test_tsdb_store_late_out_of_order);
    tcase_add_test(tc, test_tsdb_store_late_list_slices);
    suite_add_tcase(s, tc);
    return s;
}
