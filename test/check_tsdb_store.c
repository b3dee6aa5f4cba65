/*  check_tsdb_store.c — tsdb's storage engine on real LMDB files under test/tmp, the write
    side (tsdb_store.c, tsdb_store_open.c, tsdb_store_append.c, tsdb_store_commit.c,
    tsdb_store_merge.c): round trips of many series over many chunks, open chunks continued
    across a reopen, out-of-order, duplicate and conflicting samples, the out-of-order window,
    the format-version and other refusals at open, a full map (nothing committed lost, the
    commit retried after a resize), bad label sets, series caches, chunks put in key order
    and the ingest state blob. The read side and retention are in check_tsdb_store_read.c.
    Some tests look at or damage the files with raw LMDB calls, as an operator's tools would
    (check_util_store_raw_*).
*/
#include <check.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_sample.h"
#include "check_util.h"
#include "../tsdb/tsdb_store.h"

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

// Remove the file name of the test's directory (mid-test; the teardown removes everything).
static void
s_rm(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", s_dir, name);
    unlink(p);
}

// ---------------------------------------------------------------------------------------

START_TEST(test_tsdb_store_new_open_destroy)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    ck_assert_int_eq(tsdb_store_series_count(st), 0);
    struct tsdb_store_stats stats =
        check_util_store_put(st, "up{job=\"a\"}", 2, (int64_t[]){1000, 2000}, (double[]){1, 0});
    ck_assert_uint_eq(stats.samples, 2);
    ck_assert_uint_eq(stats.new_series, 1);
    ck_assert_int_eq(tsdb_store_series_count(st), 0); // nothing on disk before the commit
    check_util_store_commit(st);
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    struct fw_sample *p;
    ck_assert_uint_eq(check_util_store_read(st, check_util_store_id(st, "up"), 0, 5000, &p), 2);
    ck_assert_int_eq(p[1].t_ms, 2000);
    ck_assert(p[1].v == 0);
    free(p);
    tsdb_store_destroy(&st);
    ck_assert_ptr_null(st);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_round_trip_many_series_and_chunks)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    enum { SERIES = 100, SAMPLES = 1000, STEP = 15000 };
    char sel[64];
    // appended in scrape order, committed every 50 scrapes
    for (int k = 0; k < SAMPLES; k++) {
        for (int s = 0; s < SERIES; s++) {
            snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s);
            double v = k % 97 == 3 ? fw_stale_nan() : s * 1000.0 + k * 0.1;
            check_util_store_put(st, sel, 1, (int64_t[]){(int64_t)k * STEP + s}, &v);
        }
        if (k % 50 == 49)
            check_util_store_commit(st);
    }
    check_util_store_commit(st);
    ck_assert_uint_ge(check_util_store_raw_entries(s_dir, "chunks"), SERIES * (SAMPLES / 120));
    tsdb_store_destroy(&st);
    st = check_util_store_open(s_dir, 0);
    ck_assert_int_eq(tsdb_store_series_count(st), SERIES);
    for (int s = 0; s < SERIES; s += 7) {
        snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s);
        uint64_t id = check_util_store_id(st, sel);
        struct fw_sample *p;
        ck_assert_uint_eq(check_util_store_read(st, id, INT64_MIN, INT64_MAX, &p), SAMPLES);
        for (int k = 0; k < SAMPLES; k++) {
            ck_assert_int_eq(p[k].t_ms, (int64_t)k * STEP + s);
            double v = k % 97 == 3 ? fw_stale_nan() : s * 1000.0 + k * 0.1;
            ck_assert_uint_eq(check_util_store_bits(p[k].v), check_util_store_bits(v));
        }
        free(p);
        // windows cutting chunks anywhere: [a, b] inclusive at both ends
        int64_t a = 123 * STEP + s, b = 777 * STEP + s;
        ck_assert_uint_eq(check_util_store_read(st, id, a, b, &p), 777 - 123 + 1);
        ck_assert_int_eq(p[0].t_ms, a);
        free(p);
        ck_assert_uint_eq(check_util_store_read(st, id, a + 1, a + STEP - 1, &p), 0);
        free(p);
        ck_assert_uint_eq(check_util_store_read(st, id, (SAMPLES - 1) * STEP + s, INT64_MAX, &p),
                          1);
        free(p);
        ck_assert_uint_eq(check_util_store_read(st, id, 5, 4, &p), 0); // empty range
        free(p);
    }
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_reopen_continues_open_chunk)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    check_util_store_grid(st, "c{x=\"1\"}", 0, 15000, 50, 1);
    check_util_store_commit(st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"), 1);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), 0);
    tsdb_store_destroy(&st); // SIGKILL-like: nothing but the commits stays
    st = check_util_store_open(s_dir, 0);
    ck_assert_uint_eq(tsdb_store_head_series(st), 0); // filled lazily
    // the resend of the newest sample is a duplicate, an older one out of order, another
    // value at the newest timestamp a conflict: the newest sample was read back
    struct tsdb_store_stats s1 =
        check_util_store_put(st, "c{x=\"1\"}", 3, (int64_t[]){49 * 15000, 10 * 15000, 49 * 15000},
                             (double[]){1 + (49 % 7) * 0.25, 7, 99});
    ck_assert_uint_eq(s1.duplicates, 1);
    ck_assert_uint_eq(s1.out_of_order, 1);
    ck_assert_uint_eq(s1.conflicts, 1);
    ck_assert_uint_eq(s1.samples, 0);
    ck_assert_uint_eq(s1.new_series, 0);
    check_util_store_grid(st, "c{x=\"1\"}", 50 * 15000, 15000, 69, 1);
    check_util_store_commit(st);
    // 50 + 69 = 119 samples: the same open chunk continued, still one record
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), 0);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"), 1);
    check_util_store_grid(st, "c{x=\"1\"}", 119 * 15000, 15000, 2, 1);
    check_util_store_commit(st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), 1); // full at 120: sealed
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"),
                      1); // the 121st opened the next one
    struct fw_sample *p;
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "c"), INT64_MIN, INT64_MAX, &p), 121);
    for (int k = 0; k < 121; k++)
        ck_assert_int_eq(p[k].t_ms, (int64_t)k * 15000);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_out_of_order_and_duplicates)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    struct tsdb_store_stats a =
        check_util_store_put(st, "o", 3, (int64_t[]){1000, 2000, 3000}, (double[]){1, 2, 3});
    ck_assert_uint_eq(a.samples, 3);
    // a resent batch is stored once; older samples are rejected; a new value at the
    // newest timestamp is a conflict; NaN payloads compare by bits
    struct tsdb_store_stats b = check_util_store_put(
        st, "o", 5, (int64_t[]){1000, 3000, 3000, 2500, 4000}, (double[]){1, 3, 3.5, 9, NAN});
    ck_assert_uint_eq(b.samples, 1);
    ck_assert_uint_eq(b.out_of_order, 2);
    ck_assert_uint_eq(b.duplicates, 1);
    ck_assert_uint_eq(b.conflicts, 1);
    struct tsdb_store_stats c =
        check_util_store_put(st, "o", 2, (int64_t[]){4000, 4000}, (double[]){NAN, fw_stale_nan()});
    ck_assert_uint_eq(c.duplicates, 1);
    ck_assert_uint_eq(c.conflicts, 1);
    check_util_store_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "o"), INT64_MIN, INT64_MAX, &p), 4);
    ck_assert(p[2].v == 3);
    ck_assert(isnan(p[3].v));
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_ooo_window)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    tsdb_store_set_ooo_window(st, 3600 * 1000);
    // 300 samples at 10 s: two sealed chunks and an open one
    int64_t t[300];
    double v[300];
    for (int k = 0; k < 300; k++) {
        t[k] = 1000000 + (int64_t)k * 10000;
        v[k] = k;
    }
    check_util_store_put(st, "w", 300, t, v);
    check_util_store_commit(st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), 2);
    // late samples: in the open chunk's range, in a sealed chunk's, before the first,
    // a repeat of a stored one, a conflicting one, and one before the window
    int64_t newest = t[299];
    struct tsdb_store_stats s =
        check_util_store_put(st, "w", 7,
                             (int64_t[]){t[280] + 5, t[50] + 5, t[0] - 5, t[100], t[101],
                                         t[150] + 1, newest - 3600 * 1000 - 1},
                             (double[]){0.5, 0.25, -1, 100, 555, 0.75, 1});
    ck_assert_uint_eq(s.too_old, 1);
    ck_assert_uint_eq(s.late, 6); // t[100] and t[101] wait for the commit to compare
    ck_assert_uint_eq(s.samples, 6);
    check_util_store_commit(st);
    struct tsdb_store_counters cnt;
    tsdb_store_counters(st, &cnt);
    ck_assert_uint_eq(cnt.late_duplicates, 1);
    ck_assert_uint_eq(cnt.late_conflicts, 1);
    struct fw_sample *p;
    size_t n = check_util_store_read(st, check_util_store_id(st, "w"), INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 300 + 4);
    for (size_t k = 1; k < n; k++)
        ck_assert_int_lt(p[k - 1].t_ms, p[k].t_ms);
    ck_assert_int_eq(p[0].t_ms, t[0] - 5);
    ck_assert(p[0].v == -1);
    ck_assert(p[102].t_ms == t[100] && p[102].v == 100); // the stored value won
    free(p);
    // chunks never overlap: each record's range ends before the next begins
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, check_util_store_id(st, "w"), t[50], t[50] + 5);
    ck_assert(tsdb_store_iter_next(&it) && it.t == t[50]);
    ck_assert(tsdb_store_iter_next(&it) && it.t == t[50] + 5 && it.v == 0.25);
    ck_assert(!tsdb_store_iter_next(&it));
    tsdb_store_reader_destroy(&r);
    // window off again: late samples are rejected
    tsdb_store_set_ooo_window(st, 0);
    s = check_util_store_put(st, "w", 1, (int64_t[]){newest - 1}, (double[]){1});
    ck_assert_uint_eq(s.out_of_order, 1);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_refuses_old_and_unknown_formats)
{
    fw_err_t err;
    // format 1: the per-sample layout (named databases series ... samples)
    MDB_env *env = check_util_store_raw_open(s_dir);
    MDB_txn *txn;
    MDB_dbi dbi;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "series", MDB_CREATE, &dbi), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "samples", MDB_CREATE, &dbi), 0);
    char kb[] = "0123456789abcdef", vb[] = "\0\0\0\0\0\0\xf0\x3f", fk[] = "format", f3[] = "9";
    MDB_val k = {16, kb}, v = {8, vb};
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    struct stat before, after;
    char data[256];
    snprintf(data, sizeof(data), "%s/data.mdb", s_dir);
    ck_assert_int_eq(stat(data, &before), 0);
    tsdb_store_t *st = tsdb_store_new();
    ck_assert_int_eq(tsdb_store_open(st, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "format 1") && strstr(err.msg, "reads format 6") &&
                      strstr(err.msg, "move it away"),
                  "%s", err.msg);
    tsdb_store_destroy(&st);
    ck_assert_int_eq(stat(data, &after), 0); // never reset
    ck_assert_int_eq(before.st_size, after.st_size);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "samples"), 1);

    // an unknown (future) format
    env = check_util_store_raw_open(s_dir);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "meta", MDB_CREATE, &dbi), 0);
    k = (MDB_val){6, fk};
    v = (MDB_val){1, f3};
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    st = tsdb_store_new();
    ck_assert_int_eq(tsdb_store_open(st, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "format \"9\""), "%s", err.msg);
    tsdb_store_destroy(&st);
    s_rm("data.mdb");
    s_rm("lock.mdb");

    // an LMDB database that is not ours
    env = check_util_store_raw_open(s_dir);
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "whatever", MDB_CREATE, &dbi), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    st = tsdb_store_new();
    ck_assert_int_eq(tsdb_store_open(st, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "not floorwatch storage"), "%s", err.msg);
    tsdb_store_destroy(&st);
    s_rm("data.mdb");
    s_rm("lock.mdb");

    // somebody else's files
    char p[256];
    snprintf(p, sizeof(p), "%s/other.txt", s_dir);
    FILE *f = fopen(p, "w");
    fputs("x", f);
    fclose(f);
    st = tsdb_store_new();
    ck_assert_int_eq(tsdb_store_open(st, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "not empty") && strstr(err.msg, "other.txt"), "%s", err.msg);
    tsdb_store_destroy(&st);
    unlink(p);
}
END_TEST

START_TEST(test_tsdb_store_refuses_truncated_file_and_second_process)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    for (int s = 0; s < 200; s++) {
        char sel[32];
        snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s);
        check_util_store_grid(st, sel, 0, 1000, 300, s);
    }
    check_util_store_commit(st);
    fw_err_t err;
    tsdb_store_t *two = tsdb_store_new();
    ck_assert_int_eq(tsdb_store_open(two, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "in use"), "%s", err.msg);
    tsdb_store_destroy(&two);
    tsdb_store_destroy(&st);
    char data[256];
    snprintf(data, sizeof(data), "%s/data.mdb", s_dir);
    struct stat sb;
    ck_assert_int_eq(stat(data, &sb), 0);
    ck_assert_int_eq(truncate(data, sb.st_size / 2), 0);
    st = tsdb_store_new();
    ck_assert_int_eq(tsdb_store_open(st, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "truncated") && strstr(err.msg, "backup"), "%s", err.msg);
    tsdb_store_destroy(&st);
    ck_assert_int_eq(truncate(data, 100), 0); // not even its meta pages
    st = tsdb_store_new();
    ck_assert_int_eq(tsdb_store_open(st, s_dir, &err), -1);
    ck_assert_msg(strstr(err.msg, "data.mdb"), "%s", err.msg);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_map_full_keeps_samples)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)1 << 20);
    check_util_store_grid(st, "first", 0, 1000, 10, 1);
    check_util_store_commit(st);
    ck_assert(tsdb_store_writable(st));
    fw_err_t err;
    int rc = 0;
    char sel[300];
    int s;
    // series with long labels fill the 1 MiB map within a few hundred series
    for (s = 0; s < 5000 && rc == 0; s++) {
        snprintf(sel, sizeof(sel), "m{i=\"%d\",pad=\"%0200d\"}", s, s);
        check_util_store_grid(st, sel, 0, 1000, 20, s);
        if (s % 50 == 49)
            rc = tsdb_store_commit(st, &err);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err.msg, "full") && strstr(err.msg, "--storage.tsdb.map-size"), "%s",
                  err.msg);
    ck_assert(!tsdb_store_writable(st));
    // what was committed is all there; the failed commit stored nothing
    struct fw_sample *p;
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "first"), INT64_MIN, INT64_MAX, &p), 10);
    free(p);
    ssize_t stored = tsdb_store_series_count(st);
    ck_assert_int_lt(stored, s + 1);
    ck_assert_int_eq(tsdb_store_commit(st, &err), -1); // still full: retried, still refused
    ck_assert_int_eq(tsdb_store_series_count(st), stored);
    // raise the map: the same commit goes through with everything the head kept
    ck_assert_int_eq(tsdb_store_resize(st, (size_t)64 << 20, &err), 0);
    check_util_store_commit(st);
    ck_assert(tsdb_store_writable(st));
    ck_assert_int_eq(tsdb_store_series_count(st), s + 1);
    snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s - 1);
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, sel), INT64_MIN, INT64_MAX, &p), 20);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_refuses_bad_label_sets)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    fw_err_t err;
    struct fw_labels l = FW_LABELS_INIT;
    struct fw_sample smp = {1000, 1};
    ck_assert_int_eq(tsdb_store_append_series(st, &l, &smp, 1, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "empty"), "%s", err.msg);
    char name[500];
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    fw_labels_set(&l, name, "v");
    ck_assert_int_eq(tsdb_store_append_series(st, &l, &smp, 1, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "longer"), "%s", err.msg);
    fw_labels_clear(&l);
    fw_labels_set(&l, "bad\xffname", "v"); // not UTF-8
    ck_assert_int_eq(tsdb_store_append_series(st, &l, &smp, 1, NULL, &err), -1);
    ck_assert_msg(strstr(err.msg, "UTF-8"), "%s", err.msg);
    fw_labels_clear(&l);
    check_util_store_commit(st);
    ck_assert_int_eq(tsdb_store_series_count(st), 0);
    tsdb_store_destroy(&st);
}
END_TEST

// tsdb counts the stored series (a read transaction) only when tsdb_store_index_gen moved:
// commits of known series' samples, checkpoints included, leave it alone; a new series
// moves it (a removal: test_tsdb_store_retention_deletes_whole_chunks).
START_TEST(test_tsdb_store_index_gen)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    uint64_t gen = tsdb_store_index_gen(st);
    check_util_store_grid(st, "g{a=\"1\"}", 0, 1000, 10, 1);
    check_util_store_commit(st);
    ck_assert_uint_ne(tsdb_store_index_gen(st), gen);
    gen = tsdb_store_index_gen(st);
    for (int k = 1; k <= 3; k++) {
        check_util_store_grid(st, "g{a=\"1\"}", k * 10000, 1000, 10, 1);
        check_util_store_commit(st);
    }
    tsdb_store_checkpoint_next(st);
    check_util_store_grid(st, "g{a=\"1\"}", 40000, 1000, 10, 1);
    check_util_store_commit(st);
    ck_assert_uint_eq(tsdb_store_index_gen(st), gen);
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    check_util_store_grid(st, "g{a=\"2\"}", 0, 1000, 10, 1);
    check_util_store_commit(st);
    ck_assert_uint_ne(tsdb_store_index_gen(st), gen);
    ck_assert_int_eq(tsdb_store_series_count(st), 2);
    tsdb_store_destroy(&st);
}
END_TEST

// The leaf pages of db and the bytes its records need (LMDB's node: 8-byte header, key and
// value, 2-byte pointer, even-aligned) in *need.
static size_t
s_raw_leaf_pages(const char *db, size_t *need)
{
    MDB_env *env = check_util_store_raw_open(s_dir);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat;
    MDB_cursor *cur;
    MDB_val k, v;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    ck_assert_int_eq(mdb_stat(txn, dbi, &stat), 0);
    ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
    *need = 0;
    while (mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0)
        *need += ((8 + k.mv_size + v.mv_size + 1) & ~(size_t)1) + 2;
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return stat.ms_leaf_pages;
}

// An import's last commit seals every series' open chunk after all the full ones: put in
// that order, each lands in the middle of a full page, which LMDB splits in two. Put in key
// order they fill the pages (within one page of the records' own bytes).
START_TEST(test_tsdb_store_chunks_put_in_key_order)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    for (int i = 0; i < 300; i++) {
        char sel[32];
        snprintf(sel, sizeof(sel), "s{i=\"%03d\"}", i);
        check_util_store_grid(st, sel, 0, 15000, 200, i); // one full chunk, one open
    }
    ck_assert_uint_eq(tsdb_store_seal_all(st), 300);
    check_util_store_commit(st);
    tsdb_store_destroy(&st);
    size_t need, pages = s_raw_leaf_pages("chunks", &need);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), 600);
    ck_assert_msg(pages <= need / 4080 + 2, "%zu leaf pages for %zu bytes", pages, need);
    st = check_util_store_open(s_dir, 0);
    struct fw_sample *p;
    ck_assert_uint_eq(check_util_store_read(st, check_util_store_id(st, "s{i=\"123\"}"), INT64_MIN,
                                            INT64_MAX, &p),
                      200);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_head_gc_reloads)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    check_util_store_grid(st, "h{a=\"1\"}", 0, 1000, 10, 1);
    check_util_store_grid(st, "h{a=\"2\"}", 500000, 1000, 10, 1);
    ck_assert_uint_eq(tsdb_store_head_gc(st, 100000), 0); // nothing committed yet
    check_util_store_commit(st);
    ck_assert_uint_eq(tsdb_store_head_gc(st, 100000), 1);
    ck_assert_uint_eq(tsdb_store_head_series(st), 1);
    struct tsdb_store_stats s = check_util_store_put(st, "h{a=\"1\"}", 2, (int64_t[]){9000, 10000},
                                                     (double[]){1 + 2 * 0.25, 4});
    ck_assert_uint_eq(s.duplicates, 1); // its newest sample was read back
    ck_assert_uint_eq(s.samples, 1);
    check_util_store_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "h{a=\"1\"}"), INT64_MIN, INT64_MAX, &p),
        11);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

// Append one sample (t, v) to the series sel at position pos of cache's batches.
static void
s_put_at(tsdb_store_t *st, tsdb_store_cache_t *c, size_t pos, const char *sel, int64_t t, double v)
{
    struct fw_labels l = FW_LABELS_INIT;
    check_util_store_labels(&l, sel);
    fw_err_t err;
    ck_assert_msg(
        tsdb_store_append_series_at(st, c, pos, &l, &(struct fw_sample){t, v}, 1, NULL, &err) == 0,
        "append: %s", err.msg);
    fw_labels_clear(&l);
}

START_TEST(test_tsdb_store_cache_by_position)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    tsdb_store_cache_t *c = tsdb_store_cache(st, 42, 1000);
    ck_assert_ptr_eq(tsdb_store_cache(st, 42, 2000), c);
    ck_assert_ptr_ne(tsdb_store_cache(st, 43, 2000), c);
    s_put_at(st, c, 0, "c{a=\"1\"}", 1000, 1);
    s_put_at(st, c, 1, "c{a=\"2\"}", 1000, 2);
    // the series swap places: each sample must still reach its own series
    s_put_at(st, c, 0, "c{a=\"2\"}", 2000, 20);
    s_put_at(st, c, 1, "c{a=\"1\"}", 2000, 10);
    s_put_at(st, c, 1, "c{a=\"1\"}", 3000, 100); // cached now
    s_put_at(st, c, 5000, "c{a=\"3\"}", 1000, 3);
    check_util_store_commit(st);
    // the head frees every series: no cached pointer may be used after that
    ck_assert_uint_eq(tsdb_store_head_gc(st, INT64_MAX), 3);
    s_put_at(st, c, 1, "c{a=\"1\"}", 4000, 1000);
    s_put_at(st, c, 0, "c{a=\"2\"}", 4000, 200);
    check_util_store_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "c{a=\"1\"}"), INT64_MIN, INT64_MAX, &p),
        4);
    ck_assert(p[0].v == 1 && p[1].v == 10 && p[2].v == 100 && p[3].v == 1000);
    free(p);
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "c{a=\"2\"}"), INT64_MIN, INT64_MAX, &p),
        3);
    ck_assert(p[0].v == 2 && p[1].v == 20 && p[2].v == 200);
    free(p);
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "c{a=\"3\"}"), INT64_MIN, INT64_MAX, &p),
        1);
    free(p);
    // expiry by last use, and a bound on the number of caches (the oldest go first)
    ck_assert_uint_eq(tsdb_store_cache_expire(st, 1500), 0);
    ck_assert_uint_eq(tsdb_store_cache_expire(st, 2001), 2);
    for (int64_t k = 0; k <= TSDB_STORE_CACHES; k++)
        (void)tsdb_store_cache(st, 1000 + (uint64_t)k, 10000 + k);
    ck_assert_uint_eq(tsdb_store_cache_expire(st, 10001), 0); // cache 1000 was dropped
    ck_assert_uint_eq(tsdb_store_cache_expire(st, INT64_MAX), TSDB_STORE_CACHES);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_state_written_by_commit)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    void *blob;
    size_t len;
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_ptr_null(blob);
    ck_assert_uint_eq(len, 0);
    tsdb_store_set_state(st, "seq=1", 5);
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_uint_eq(len, 0); // not committed yet
    check_util_store_put(st, "m", 1, (int64_t[]){1000}, (double[]){1});
    check_util_store_commit(st);
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(blob, "seq=1", 5);
    free(blob);
    tsdb_store_set_state(st, "seq=2", 5);
    check_util_store_commit(st);          // a commit with nothing but the state
    tsdb_store_set_state(st, "seq=3", 5); // never committed: lost with the process
    tsdb_store_destroy(&st);
    st = check_util_store_open(s_dir, 0);
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(blob, "seq=2", 5);
    free(blob);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_open_fails_on_file)
{
    char p[256];
    tsdb_store_t *st = tsdb_store_new();
    snprintf(p, sizeof(p), "%s/other.txt", s_dir);
    FILE *f = fopen(p, "w");
    fputs("x", f);
    fclose(f);
    fw_err_t err;
    ck_assert_int_eq(tsdb_store_open(st, p, &err), -1);
    ck_assert(strlen(err.msg) > 0);
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_store_suite(void)
{
    Suite *s = suite_create("tsdb_store");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_tsdb_store_new_open_destroy);
    tcase_add_test(tc, test_tsdb_store_round_trip_many_series_and_chunks);
    tcase_add_test(tc, test_tsdb_store_reopen_continues_open_chunk);
    tcase_add_test(tc, test_tsdb_store_out_of_order_and_duplicates);
    tcase_add_test(tc, test_tsdb_store_ooo_window);
    tcase_add_test(tc, test_tsdb_store_refuses_old_and_unknown_formats);
    tcase_add_test(tc, test_tsdb_store_refuses_truncated_file_and_second_process);
    tcase_add_test(tc, test_tsdb_store_map_full_keeps_samples);
    tcase_add_test(tc, test_tsdb_store_refuses_bad_label_sets);
    tcase_add_test(tc, test_tsdb_store_index_gen);
    tcase_add_test(tc, test_tsdb_store_chunks_put_in_key_order);
    tcase_add_test(tc, test_tsdb_store_head_gc_reloads);
    tcase_add_test(tc, test_tsdb_store_cache_by_position);
    tcase_add_test(tc, test_tsdb_store_state_written_by_commit);
    tcase_add_test(tc, test_tsdb_store_open_fails_on_file);
    suite_add_tcase(s, tc);
    return s;
}
