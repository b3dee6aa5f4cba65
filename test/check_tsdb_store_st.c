/*  check_tsdb_store_st.c — start times (Prometheus's start timestamps) through the store: the
    write-ahead log's version 2 entries (a record without start times stays version 1, byte
    for byte), and samples appended with start times coming back from tsdb_store_iter after a
    commit, a restart that replays the log, a checkpoint and restart, a chunk cut (sealed
    chunks), a late sample merged into the open chunk or into a stored chunk, and a stored
    chunk rewritten without deleted samples.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_err.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "fw_mem.h"
#include "../tsdb/tsdb_store.h"
#include "../tsdb/tsdb_wal.h"

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

START_TEST(test_tsdb_store_st_wal_codec)
{
    struct tsdb_wal_buf w = {0};
    struct fw_sample a[4] = {{1000, 1.0}, {2000, 2.0}, {3000, -0.0}, {INT64_MAX, 4.0}};
    int64_t none[4] = {0, 0, 0, 0};
    int64_t sts[4] = {500, 0, INT64_MIN, INT64_MAX};
    // no start times: version 1, the same bytes as tsdb_wal_add
    tsdb_wal_add_st(&w, 7, a, none, 4);
    tsdb_wal_add_st(&w, 8, a, NULL, 2);
    struct tsdb_wal_buf plain = {0};
    tsdb_wal_add(&plain, 7, a, 4);
    tsdb_wal_add(&plain, 8, a, 2);
    ck_assert_uint_eq(w.len, plain.len);
    ck_assert_int_eq(memcmp(w.p, plain.p, w.len), 0);
    ck_assert_uint_eq(w.p[0], TSDB_WAL_VERSION);
    // with them: version 2, the earlier entries read as before
    tsdb_wal_add_st(&w, 9, a, sts, 4);
    tsdb_wal_add(&w, 10, a + 1, 1);
    ck_assert_uint_eq(w.p[0], TSDB_WAL_VERSION_ST);
    struct tsdb_wal_iter it;
    struct fw_sample *out = NULL;
    int64_t *st = NULL;
    size_t cap = 0, st_cap = 0, n;
    uint64_t id;
    tsdb_wal_iter_init(&it, w.p, w.len);
    const uint64_t ids[] = {7, 8, 9, 10};
    const size_t ns[] = {4, 2, 4, 1};
    for (int e = 0; e < 4; e++) {
        ck_assert(tsdb_wal_next_st(&it, &id, &out, &cap, &st, &st_cap, &n));
        ck_assert_uint_eq(id, ids[e]);
        ck_assert_uint_eq(n, ns[e]);
        for (size_t k = 0; k < n; k++) {
            const struct fw_sample *want = e == 3 ? &a[1] : &a[k];
            ck_assert_int_eq(out[k].t_ms, want->t_ms);
            ck_assert_int_eq(memcmp(&out[k].v, &want->v, sizeof(double)), 0);
            ck_assert_int_eq(st[k], e == 2 ? sts[k] : 0);
        }
    }
    ck_assert(!tsdb_wal_next_st(&it, &id, &out, &cap, &st, &st_cap, &n));
    ck_assert_int_eq(tsdb_wal_iter_err(&it), 0);
    // every cut inside the start-time entry is an error, never a read past the end
    for (size_t len = 1; len < w.len; len++) {
        unsigned char *cut = fw_malloc(len);
        memcpy(cut, w.p, len);
        tsdb_wal_iter_init(&it, cut, len);
        size_t entries = 0;
        while (tsdb_wal_next_st(&it, &id, &out, &cap, &st, &st_cap, &n) && entries < 5)
            entries++;
        ck_assert_uint_le(entries, 3);
        free(cut);
    }
    // a start-time entry in a version 1 record is damage
    w.p[0] = TSDB_WAL_VERSION;
    tsdb_wal_iter_init(&it, w.p, w.len);
    while (tsdb_wal_next(&it, &id, &out, &cap, &n))
        ;
    ck_assert_int_eq(tsdb_wal_iter_err(&it), FW_EPARSE);
    free(out);
    free(st);
    tsdb_wal_buf_clear(&w);
    tsdb_wal_buf_clear(&plain);
}
END_TEST

static tsdb_store_t *
s_open(void)
{
    tsdb_store_t *st = tsdb_store_new();
    tsdb_store_set_mapsize(st, (size_t)64 << 20);
    tsdb_store_set_wal(st, true, 0);
    tsdb_store_set_ooo_window(st, 24 * 3600 * 1000);
    fw_err_t err;
    ck_assert_msg(tsdb_store_open(st, s_dir, &err) == 0, "open: %s", err.msg);
    return st;
}

// Sample k of series "kind": t = 60 s * (k + 1), value k; its start time by kind: 0 none,
// 1 a counter started at 1000, 2 a delta series (the previous sample's time), 3 mixed.
static int64_t
s_st(int kind, int k)
{
    int64_t t = 60000 * (int64_t)(k + 1);
    switch (kind) {
    case 1: return 1000;
    case 2: return t - 60000;
    case 3: return k % 3 == 0 ? 0 : t - 30000 * (k % 5);
    default: return 0;
    }
}

static void
s_append(tsdb_store_t *st, int kind, int from, int to)
{
    struct fw_labels l = FW_LABELS_INIT;
    char v[16];
    snprintf(v, sizeof(v), "%d", kind);
    fw_labels_set(&l, "__name__", "c_total");
    fw_labels_set(&l, "kind", v);
    struct fw_sample smp[256];
    int64_t sts[256];
    int n = 0;
    for (int k = from; k < to; k++, n++) {
        smp[n] = (struct fw_sample){60000 * (int64_t)(k + 1), (double)k};
        sts[n] = s_st(kind, k);
    }
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series_st(st, &l, smp, sts, (size_t)n, NULL, &err) == 0, "%s",
                  err.msg);
    fw_labels_clear(&l);
}

static void
s_commit(tsdb_store_t *st)
{
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(st, &err) == 0, "commit: %s", err.msg);
}

// Series kind holds samples 0..n-1 (but skip) with their start times.
static void
s_check(tsdb_store_t *st, int kind, int n, int skip)
{
    fw_err_t err;
    tsdb_store_reader_t *rd = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(rd);
    struct fw_matcher m;
    char v[16];
    snprintf(v, sizeof(v), "%d", kind);
    ck_assert_int_eq(fw_matcher_init(&m, FW_MATCH_EQ, "kind", v, FW_REGEX_PROMETHEUS, &err), 0);
    uint64_t *ids;
    size_t n_ids;
    ck_assert_int_eq(tsdb_store_select_ids(rd, &m, 1, &ids, &n_ids, &err), 0);
    ck_assert_uint_eq(n_ids, 1);
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, rd, ids[0], INT64_MIN, INT64_MAX);
    int k = 0;
    while (tsdb_store_iter_next(&it)) {
        if (k == skip)
            k++;
        ck_assert_msg(k < n, "kind %d: more than %d samples", kind, n);
        ck_assert_msg(it.t == 60000 * (int64_t)(k + 1), "kind %d n %d sample %d: t %lld", kind, n,
                      k, (long long)it.t);
        ck_assert(it.v == (double)k);
        ck_assert_msg(it.st == s_st(kind, k), "kind %d sample %d: st %lld", kind, k,
                      (long long)it.st);
        k++;
    }
    ck_assert_int_eq(tsdb_store_iter_err(&it), 0);
    ck_assert_int_eq(k, n);
    // seek lands on a sample with its start time too
    tsdb_store_iter_init(&it, rd, ids[0], INT64_MIN, INT64_MAX);
    ck_assert(tsdb_store_iter_seek(&it, 60000 * (int64_t)n));
    ck_assert_int_eq(it.st, s_st(kind, n - 1));
    free(ids);
    fw_matcher_clear(&m);
    tsdb_store_reader_destroy(&rd);
}

START_TEST(test_tsdb_store_st_round_trip_restart)
{
    tsdb_store_t *st = s_open();
    for (int kind = 0; kind < 4; kind++) {
        s_append(st, kind, 0, 10);
        s_append(st, kind, 11, 20); // 10 comes late, below
    }
    s_commit(st);
    for (int kind = 0; kind < 4; kind++)
        s_check(st, kind, 20, 10);
    tsdb_store_destroy(&st);

    st = s_open(); // the log is replayed
    for (int kind = 0; kind < 4; kind++) {
        s_check(st, kind, 20, 10);
        s_append(st, kind, 10, 11); // late, into the open chunk: re-coded with its start time
    }
    s_commit(st);
    for (int kind = 0; kind < 4; kind++)
        s_check(st, kind, 20, -1);
    tsdb_store_checkpoint_next(st);
    s_commit(st);
    tsdb_store_destroy(&st);

    st = s_open(); // the open chunks from the checkpoint
    for (int kind = 0; kind < 4; kind++) {
        s_check(st, kind, 20, -1);
        s_append(st, kind, 20, 250); // cuts chunks: sealed ones with start times
    }
    s_commit(st);
    for (int kind = 0; kind < 4; kind++)
        s_check(st, kind, 250, -1);
    tsdb_store_checkpoint_next(st);
    s_commit(st);
    tsdb_store_destroy(&st);
    st = s_open();
    for (int kind = 0; kind < 4; kind++)
        s_check(st, kind, 250, -1);
    tsdb_store_destroy(&st);
}
END_TEST

// The id of series kind.
static uint64_t
s_id(tsdb_store_t *st, int kind)
{
    fw_err_t err;
    tsdb_store_reader_t *rd = tsdb_store_reader_new(st, &err);
    struct fw_matcher m;
    char v[16];
    snprintf(v, sizeof(v), "%d", kind);
    ck_assert_int_eq(fw_matcher_init(&m, FW_MATCH_EQ, "kind", v, FW_REGEX_PROMETHEUS, &err), 0);
    uint64_t *ids, id;
    size_t n_ids;
    ck_assert_int_eq(tsdb_store_select_ids(rd, &m, 1, &ids, &n_ids, &err), 0);
    ck_assert_uint_eq(n_ids, 1);
    id = ids[0];
    free(ids);
    fw_matcher_clear(&m);
    tsdb_store_reader_destroy(&rd);
    return id;
}

// A late sample merged into a stored chunk, and a chunk rewritten without deleted samples,
// keep the other samples' start times (the late sample has none: the late list keeps none).
START_TEST(test_tsdb_store_st_late_merge_and_delete)
{
    tsdb_store_t *st = s_open();
    for (int kind = 1; kind < 4; kind++) {
        s_append(st, kind, 0, 5);
        s_append(st, kind, 6, 200); // 5 is missing; samples 0..119 are sealed
    }
    s_commit(st);
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "c_total");
    fw_labels_set(&l, "kind", "1");
    fw_err_t err;
    struct fw_sample late = {60000 * 6, 5.0}; // sample 5, into the sealed chunk at commit
    ck_assert_int_eq(tsdb_store_append_series(st, &l, &late, 1, NULL, &err), 0);
    fw_labels_clear(&l);
    s_commit(st);
    // kind 1 now has all 200; sample 5's start time is 0, the others' are kept
    fw_err_t e2;
    tsdb_store_reader_t *rd = tsdb_store_reader_new(st, &e2);
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, rd, s_id(st, 1), INT64_MIN, INT64_MAX);
    int k = 0;
    while (tsdb_store_iter_next(&it)) {
        ck_assert_int_eq(it.t, 60000 * (int64_t)(k + 1));
        ck_assert_int_eq(it.st, k == 5 ? 0 : s_st(1, k));
        k++;
    }
    ck_assert_int_eq(k, 200);
    tsdb_store_reader_destroy(&rd);
    // delete sample 5 of kinds 2 and 3 from the sealed chunk: the rest keep their starts
    uint64_t ids[2] = {s_id(st, 2), s_id(st, 3)};
    ck_assert_int_eq(tsdb_store_delete_series(st, ids, 2, 60000 * 3, 60000 * 3, &err), 0);
    size_t cleaned;
    ck_assert_int_eq(tsdb_store_clean_tombstones(st, &cleaned, &err), 0);
    for (int kind = 2; kind < 4; kind++) {
        rd = tsdb_store_reader_new(st, &e2);
        tsdb_store_iter_init(&it, rd, s_id(st, kind), INT64_MIN, INT64_MAX);
        k = 0;
        while (tsdb_store_iter_next(&it)) {
            if (k == 2 || k == 5)
                k++; // deleted, and never there
            ck_assert_int_eq(it.t, 60000 * (int64_t)(k + 1));
            ck_assert_int_eq(it.st, s_st(kind, k));
            k++;
        }
        ck_assert_int_eq(k, 200);
        tsdb_store_reader_destroy(&rd);
    }
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_store_st_suite(void)
{
    Suite *s = suite_create("tsdb_store_st");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tsdb_store_st_wal_codec);
    tcase_add_test(tc, test_tsdb_store_st_round_trip_restart);
    tcase_add_test(tc, test_tsdb_store_st_late_merge_and_delete);
    suite_add_tcase(s, tc);
    return s;
}
