/*  check_tsdb_store_replay.c — a restart after commits that sealed chunks, with no checkpoint
    since (tsdb_store_destroy writes nothing: it is what a SIGKILL after the last commit
    leaves): the log replay seals the same chunks again, and every sample must still come
    back exactly once, before and after the next commit and the next restart. Covers chunks
    stored in slices (more than a commit's first slice of sealed chunks), checkpoints in
    slices (more series than one checkpoint txn writes), and late samples merged into stored
    chunks, one of them older than the series' first chunk.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "fw_promql.h"
#include "../tsdb/tsdb_eval.h"
#include "../tsdb/tsdb_store.h"

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

static tsdb_store_t *
s_open(int64_t ooo_ms)
{
    tsdb_store_t *st = tsdb_store_new();
    tsdb_store_set_mapsize(st, (size_t)256 << 20);
    tsdb_store_set_wal(st, true, 0);
    tsdb_store_set_ooo_window(st, ooo_ms);
    fw_err_t err;
    ck_assert_msg(tsdb_store_open(st, s_dir, &err) == 0, "open: %s", err.msg);
    return st;
}

static void
s_commit(tsdb_store_t *st)
{
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(st, &err) == 0, "commit: %s", err.msg);
}

static void
s_checkpoint(tsdb_store_t *st)
{
    tsdb_store_checkpoint_next(st);
    s_commit(st);
}

static void
s_labels(struct fw_labels *l, int series)
{
    char v[16];
    snprintf(v, sizeof(v), "%d", series);
    fw_labels_set(l, "__name__", "r_total");
    fw_labels_set(l, "s", v);
}

// Samples from..to-1 of series: t = 1 s * (k + 1), value k.
static void
s_append(tsdb_store_t *st, int series, int from, int to)
{
    struct fw_labels l = FW_LABELS_INIT;
    s_labels(&l, series);
    struct fw_sample smp[512];
    ck_assert_int_le(to - from, 512);
    int n = 0;
    for (int k = from; k < to; k++)
        smp[n++] = (struct fw_sample){1000 * (int64_t)(k + 1), (double)k};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series(st, &l, smp, (size_t)n, NULL, &err) == 0, "%s", err.msg);
    fw_labels_clear(&l);
}

// Every series in [0, n_series) holds samples from..to-1, each exactly once, in order.
static void
s_check(tsdb_store_t *st, int n_series, int from, int to, const char *when)
{
    fw_err_t err;
    tsdb_store_reader_t *rd = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(rd);
    for (int s = 0; s < n_series; s++) {
        struct fw_matcher m[2];
        char v[16];
        snprintf(v, sizeof(v), "%d", s);
        ck_assert_int_eq(
            fw_matcher_init(&m[0], FW_MATCH_EQ, "__name__", "r_total", FW_REGEX_PROMETHEUS, &err),
            0);
        ck_assert_int_eq(fw_matcher_init(&m[1], FW_MATCH_EQ, "s", v, FW_REGEX_PROMETHEUS, &err), 0);
        uint64_t *ids;
        size_t n_ids;
        ck_assert_int_eq(tsdb_store_select_ids(rd, m, 2, &ids, &n_ids, &err), 0);
        ck_assert_uint_eq(n_ids, 1);
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, rd, ids[0], INT64_MIN, INT64_MAX);
        int k = from;
        // Per sample, plain ifs: a passing ck_assert writes its location to Check's pipe
        // (a system call), and this loop reads 3 million samples (196 s under ASan).
        while (tsdb_store_iter_next(&it)) {
            if (k >= to)
                ck_abort_msg("%s: series %d: more than %d samples (t %lld again)", when, s,
                             to - from, (long long)it.t);
            if (it.t != 1000 * (int64_t)(k + 1))
                ck_abort_msg("%s: series %d sample %d: t %lld (a sample twice, or lost)", when, s,
                             k, (long long)it.t);
            if (it.v != (double)k)
                ck_abort_msg("%s: series %d sample %d: v %g, not %d", when, s, k, it.v, k);
            k++;
        }
        ck_assert_int_eq(tsdb_store_iter_err(&it), 0);
        ck_assert_msg(k == to, "%s: series %d: %d samples, not %d", when, s, k - from, to - from);
        free(ids);
        fw_matcher_clear(&m[0]);
        fw_matcher_clear(&m[1]);
    }
    tsdb_store_reader_destroy(&rd);
    // what the HTTP API answers: count_over_time over all of them, through the evaluator
    const char *q = "sum(count_over_time(r_total[1h]))";
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_ptr_nonnull(e);
    struct tsdb_eval_result r;
    ck_assert_int_eq(tsdb_eval_instant(st, e, 1000 * (int64_t)to, NULL, &r, &err), 0);
    fw_promql_expr_destroy(&e);
    ck_assert_uint_eq(r.len, 1);
    ck_assert_msg(r.series[0].pts[0].v == (double)n_series * (to - from), "%s: %s = %g, not %d",
                  when, q, r.series[0].pts[0].v, n_series * (to - from));
    tsdb_eval_result_clear(&r);
}

// Crash (no commit, no checkpoint), reopen, check; commit, check; crash again, check.
static tsdb_store_t *
s_crash_and_check(tsdb_store_t *st, int64_t ooo_ms, int n_series, int from, int to)
{
    tsdb_store_destroy(&st);
    st = s_open(ooo_ms);
    s_check(st, n_series, from, to, "after the replay");
    s_commit(st);
    s_check(st, n_series, from, to, "after the replay and a commit");
    tsdb_store_destroy(&st);
    st = s_open(ooo_ms);
    s_check(st, n_series, from, to, "after a second restart");
    return st;
}

// One series never checkpointed: the replay starts from its last stored chunk.
START_TEST(test_tsdb_store_replay_sealed_no_checkpoint)
{
    tsdb_store_t *st = s_open(0);
    s_append(st, 0, 0, 10);
    s_commit(st);             // the log; the series has no open chunk on disk
    s_append(st, 0, 10, 300); // 2 chunks sealed, an open one
    s_commit(st);
    s_check(st, 1, 0, 300, "before the restart");
    st = s_crash_and_check(st, 0, 1, 0, 300);
    tsdb_store_destroy(&st);
}
END_TEST

// Several series, open chunks checkpointed; then commits that seal them and start more.
START_TEST(test_tsdb_store_replay_sealed_after_checkpoint)
{
    tsdb_store_t *st = s_open(0);
    for (int s = 0; s < 5; s++)
        s_append(st, s, 0, 50);
    s_checkpoint(st);
    for (int round = 0; round < 4; round++) {
        for (int s = 0; s < 5; s++)
            s_append(st, s, 50 + 100 * round, 150 + 100 * round);
        s_commit(st);
    }
    st = s_crash_and_check(st, 0, 5, 0, 450);
    // appends go on where the replay left the series
    for (int s = 0; s < 5; s++)
        s_append(st, s, 450, 700);
    s_commit(st);
    st = s_crash_and_check(st, 0, 5, 0, 700);
    tsdb_store_destroy(&st);
}
END_TEST

// More sealed chunks than one commit stores (S_CHUNK_SLICE, 1024: the rest go in further
// write txns), and more open chunks than one checkpoint txn writes (S_CHECKPOINT_SLICE,
// 4096).
START_TEST(test_tsdb_store_replay_sliced)
{
    enum { N = 4200 };
    tsdb_store_t *st = s_open(0);
    for (int s = 0; s < N; s++)
        s_append(st, s, 0, 10);
    s_checkpoint(st); // sliced: more than 4096 open chunks
    for (int s = 0; s < N; s++)
        s_append(st, s, 10, 130); // each series seals a chunk: 4200 in slices of 1024
    s_commit(st);
    st = s_crash_and_check(st, 0, N, 0, 130);
    s_checkpoint(st);
    for (int s = 0; s < N; s++)
        s_append(st, s, 130, 260);
    s_commit(st);
    st = s_crash_and_check(st, 0, N, 0, 260);
    tsdb_store_destroy(&st);
}
END_TEST

// Late samples merged into stored chunks between checkpoints: one inside a stored chunk,
// one older than the series' first chunk (the merge stores the chunk under a new key).
START_TEST(test_tsdb_store_replay_late_merge)
{
    const int64_t ooo = 24 * 3600 * 1000;
    tsdb_store_t *st = s_open(ooo);
    s_append(st, 0, 1, 3);
    s_append(st, 1, 1, 3);
    s_checkpoint(st); // the open chunks on disk: the replay seals the chunks again
    s_append(st, 0, 3, 5);
    s_append(st, 0, 6, 300); // 0 and 5 missing; chunks sealed
    s_append(st, 1, 3, 300); // 0 missing
    s_commit(st);
    s_append(st, 0, 5, 6); // late, into the first sealed chunk
    s_append(st, 0, 0, 1); // late, before the first chunk
    s_append(st, 1, 0, 1); // late, before the first chunk
    s_append(st, 1, 300, 310);
    s_append(st, 0, 300, 310);
    s_commit(st);
    s_check(st, 2, 0, 310, "before the restart");
    st = s_crash_and_check(st, ooo, 2, 0, 310);
    s_checkpoint(st);
    st = s_crash_and_check(st, ooo, 2, 0, 310);
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_store_replay_suite(void)
{
    Suite *s = suite_create("tsdb_store_replay");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tsdb_store_replay_sealed_no_checkpoint);
    tcase_add_test(tc, test_tsdb_store_replay_sealed_after_checkpoint);
    tcase_add_test(tc, test_tsdb_store_replay_sliced);
    tcase_add_test(tc, test_tsdb_store_replay_late_merge);
    suite_add_tcase(s, tc);
    return s;
}
