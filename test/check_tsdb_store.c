/*  check_tsdb_store.c — tsdb's storage engine on real LMDB files under test/tmp: round trips
    of many series over many chunks, open chunks continued across a reopen, out-of-order,
    duplicate and conflicting samples, the out-of-order window, the format-version and
    other refusals at open, a full map (nothing committed lost, the commit retried after a
    resize), damaged chunk records skipped with a report, selection by every matcher kind,
    retention and the ingest state blob. Some tests look at or damage the files with raw
    LMDB calls, as an operator's tools would.
*/
#include <check.h>
#include <fcntl.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_sample.h"
#include "check_util.h"
#include "../tsdb/tsdb_store.h"

static char s_dir[128];

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_store");
}

// Remove the file name of the test's directory (mid-test; the teardown removes everything).
static void
s_rm(const char *name)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", s_dir, name);
    unlink(p);
}

static void
s_teardown(void)
{
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

static tsdb_store_t *
s_open_size(size_t mapsize)
{
    return check_util_store_open(s_dir, mapsize);
}

static tsdb_store_t *
s_open(void)
{
    return s_open_size((size_t)64 << 20);
}

// Labels from "name{a=\"b\"}".
static void
s_labels(struct fw_labels *l, const char *sel)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_msg(e != NULL, "%s: %s", sel, err.msg);
    fw_labels_clear(l);
    for (size_t k = 0; k < e->n_matchers; k++)
        fw_labels_set(l, e->matchers[k].name, e->matchers[k].value);
    fw_promql_expr_destroy(&e);
}

// Append n samples (t, v) to the series sel; returns the stats of the call.
static struct tsdb_store_stats
s_put(tsdb_store_t *st, const char *sel, size_t n, const int64_t *t, const double *v)
{
    struct fw_labels l = FW_LABELS_INIT;
    s_labels(&l, sel);
    struct fw_sample *s = fw_calloc(n ? n : 1, sizeof(*s));
    for (size_t k = 0; k < n; k++)
        s[k] = (struct fw_sample){t[k], v[k]};
    struct tsdb_store_stats stats = {0};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series(st, &l, s, n, &stats, &err) == 0, "append: %s", err.msg);
    free(s);
    fw_labels_clear(&l);
    return stats;
}

static void
s_commit(tsdb_store_t *st)
{
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(st, &err) == 0, "commit: %s", err.msg);
}

// The id of the one series matching sel, or 0.
static uint64_t
s_id(tsdb_store_t *st, const char *sel)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_ptr_nonnull(e);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    uint64_t *ids;
    size_t n;
    ck_assert_int_eq(tsdb_store_select_ids(r, e->matchers, e->n_matchers, &ids, &n, &err), 0);
    uint64_t id = n == 1 ? ids[0] : 0;
    free(ids);
    tsdb_store_reader_destroy(&r);
    fw_promql_expr_destroy(&e);
    return id;
}

// Every sample of series id in [mint, maxt] through the window copy.
static size_t
s_read(tsdb_store_t *st, uint64_t id, int64_t mint, int64_t maxt, struct fw_sample **pts)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    size_t len = 0, cap = 0;
    *pts = NULL;
    ck_assert_int_eq(tsdb_store_samples(r, id, mint, maxt, pts, &len, &cap, &err), 0);
    tsdb_store_reader_destroy(&r);
    return len;
}

static size_t
s_select_count(tsdb_store_t *st, const char *sel)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_msg(e != NULL, "%s: %s", sel, err.msg);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    struct tsdb_store_series *out;
    size_t n;
    ck_assert_int_eq(tsdb_store_select(r, e->matchers, e->n_matchers, &out, &n, &err), 0);
    for (size_t k = 0; k < n; k++) // every answer really matches
        ck_assert_msg(fw_matchers_match(e->matchers, e->n_matchers, &out[k].labels), "%s", sel);
    tsdb_store_series_free(out, n);
    tsdb_store_reader_destroy(&r);
    fw_promql_expr_destroy(&e);
    return n;
}

static uint64_t
s_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

// --- raw LMDB, as an operator's tool sees the files ---

static MDB_env *
s_raw_open(void)
{
    MDB_env *env;
    ck_assert_int_eq(mdb_env_create(&env), 0);
    mdb_env_set_maxdbs(env, 16);
    mdb_env_set_mapsize(env, (size_t)64 << 20);
    ck_assert_int_eq(mdb_env_open(env, s_dir, 0, 0644), 0);
    return env;
}

static size_t
s_raw_entries(const char *db)
{
    MDB_env *env = s_raw_open();
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_stat stat;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    ck_assert_int_eq(mdb_stat(txn, dbi, &stat), 0);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return stat.ms_entries;
}

// Overwrite the value of the first record of db whose key starts with the id (8 bytes BE).
static void
s_raw_damage(const char *db, uint64_t id, const void *bytes, size_t len)
{
    MDB_env *env = s_raw_open();
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, db, 0, &dbi), 0);
    ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
    unsigned char key[8];
    for (int k = 0; k < 8; k++)
        key[k] = (unsigned char)(id >> (56 - 8 * k));
    MDB_val k = {8, key}, v;
    ck_assert_int_eq(mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE), 0);
    ck_assert_int_eq(memcmp(k.mv_data, key, 8), 0);
    v = (MDB_val){len, (void *)bytes};
    ck_assert_int_eq(mdb_cursor_put(cur, &k, &v, MDB_CURRENT), 0);
    mdb_cursor_close(cur);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
}

// A grid series: n samples every step ms from t0, value f(k).
static void
s_grid(tsdb_store_t *st, const char *sel, int64_t t0, int64_t step, size_t n, double base)
{
    int64_t *t = fw_malloc(n * sizeof(*t));
    double *v = fw_malloc(n * sizeof(*v));
    for (size_t k = 0; k < n; k++) {
        t[k] = t0 + (int64_t)k * step;
        v[k] = base + (double)(k % 7) * 0.25;
    }
    s_put(st, sel, n, t, v);
    free(t);
    free(v);
}

// ---------------------------------------------------------------------------------------

START_TEST(test_tsdb_store_new_open_destroy)
{
    tsdb_store_t *st = s_open();
    ck_assert_int_eq(tsdb_store_series_count(st), 0);
    struct tsdb_store_stats stats =
        s_put(st, "up{job=\"a\"}", 2, (int64_t[]){1000, 2000}, (double[]){1, 0});
    ck_assert_uint_eq(stats.samples, 2);
    ck_assert_uint_eq(stats.new_series, 1);
    ck_assert_int_eq(tsdb_store_series_count(st), 0); // nothing on disk before the commit
    s_commit(st);
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "up"), 0, 5000, &p), 2);
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
    tsdb_store_t *st = s_open();
    enum { SERIES = 100, SAMPLES = 1000, STEP = 15000 };
    char sel[64];
    // appended in scrape order, committed every 50 scrapes
    for (int k = 0; k < SAMPLES; k++) {
        for (int s = 0; s < SERIES; s++) {
            snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s);
            double v = k % 97 == 3 ? fw_stale_nan() : s * 1000.0 + k * 0.1;
            s_put(st, sel, 1, (int64_t[]){(int64_t)k * STEP + s}, &v);
        }
        if (k % 50 == 49)
            s_commit(st);
    }
    s_commit(st);
    ck_assert_uint_ge(s_raw_entries("chunks"), SERIES * (SAMPLES / 120));
    tsdb_store_destroy(&st);
    st = s_open();
    ck_assert_int_eq(tsdb_store_series_count(st), SERIES);
    for (int s = 0; s < SERIES; s += 7) {
        snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s);
        uint64_t id = s_id(st, sel);
        struct fw_sample *p;
        ck_assert_uint_eq(s_read(st, id, INT64_MIN, INT64_MAX, &p), SAMPLES);
        for (int k = 0; k < SAMPLES; k++) {
            ck_assert_int_eq(p[k].t_ms, (int64_t)k * STEP + s);
            double v = k % 97 == 3 ? fw_stale_nan() : s * 1000.0 + k * 0.1;
            ck_assert_uint_eq(s_bits(p[k].v), s_bits(v));
        }
        free(p);
        // windows cutting chunks anywhere: [a, b] inclusive at both ends
        int64_t a = 123 * STEP + s, b = 777 * STEP + s;
        ck_assert_uint_eq(s_read(st, id, a, b, &p), 777 - 123 + 1);
        ck_assert_int_eq(p[0].t_ms, a);
        free(p);
        ck_assert_uint_eq(s_read(st, id, a + 1, a + STEP - 1, &p), 0);
        free(p);
        ck_assert_uint_eq(s_read(st, id, (SAMPLES - 1) * STEP + s, INT64_MAX, &p), 1);
        free(p);
        ck_assert_uint_eq(s_read(st, id, 5, 4, &p), 0); // empty range
        free(p);
    }
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_iterator_seek_and_no_copy)
{
    tsdb_store_t *st = s_open();
    s_grid(st, "g", 0, 1000, 1000, 5);
    s_commit(st);
    uint64_t id = s_id(st, "g");
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    struct tsdb_store_iter it, it2;
    tsdb_store_iter_init(&it, r, id, 100500, 600000);
    tsdb_store_iter_init(&it2, r, id, 0, 10);
    ck_assert(tsdb_store_iter_next(&it));
    ck_assert_int_eq(it.t, 101000);
    ck_assert(tsdb_store_iter_next(&it2)); // two iterators of one reader, interleaved
    ck_assert_int_eq(it2.t, 0);
    ck_assert(tsdb_store_iter_seek(&it, 101000)); // stays
    ck_assert_int_eq(it.t, 101000);
    ck_assert(tsdb_store_iter_seek(&it, 450001)); // forward across chunks
    ck_assert_int_eq(it.t, 451000);
    ck_assert(tsdb_store_iter_next(&it));
    ck_assert_int_eq(it.t, 452000);
    ck_assert(!tsdb_store_iter_seek(&it, 600001)); // past maxt
    ck_assert(!tsdb_store_iter_next(&it));
    ck_assert(!tsdb_store_iter_next(&it2) || it2.t == 1000);
    ck_assert_int_eq(tsdb_store_iter_err(&it), 0);
    // a series that does not exist, and the open chunk alone
    tsdb_store_iter_init(&it, r, 999, INT64_MIN, INT64_MAX);
    ck_assert(!tsdb_store_iter_next(&it));
    tsdb_store_iter_init(&it, r, id, 999000, INT64_MAX);
    ck_assert(tsdb_store_iter_next(&it));
    ck_assert_int_eq(it.t, 999000);
    ck_assert(!tsdb_store_iter_next(&it));
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
}
END_TEST

// The iterator decodes TSDB_STORE_ITER_BATCH samples at a time: windows and seeks landing
// anywhere (inside a batch, on batch and chunk boundaries, between samples, before and after
// the data) give exactly the samples in range, stale markers included, decimal and XOR
// chunks alike, sealed and open.
START_TEST(test_tsdb_store_iterator_batches)
{
    tsdb_store_t *st = s_open();
    enum { N = 1000, STEP = 1000 };
    int64_t t[N];
    double v[2][N];
    for (int k = 0; k < N; k++) {
        t[k] = (int64_t)k * STEP + (k % 5 == 2 ? 3 : 0); // jitter: Rice-coded timestamps
        v[0][k] = k % 97 == 3 ? fw_stale_nan() : 10 + (double)(k % 13) * 0.25; // XOR
        v[1][k] = 10 + (double)(k % 13) * 0.25;                                // decimal
    }
    s_put(st, "x", N, t, v[0]);
    s_put(st, "d", N, t, v[1]);
    s_commit(st);
    uint64_t ids[2] = {s_id(st, "x"), s_id(st, "d")};
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    uint64_t rng = 12345;
    for (int round = 0; round < 400; round++) {
        int s = round & 1;
        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        int64_t a = (int64_t)(rng >> 33) % (N * STEP + 20000) - 10000;
        int64_t b = a + (int64_t)(rng >> 13) % 300000;
        if (round < 8) // batch and chunk boundaries exactly
            a = t[(round % 4) * 32 + (round < 4 ? 0 : 120 - 32)], b = a + 64 * STEP;
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, ids[s], a, b);
        int k = 0;
        while (k < N && t[k] < a)
            k++;
        for (int step = 0;; step++) {
            bool ok;
            if (step % 3 == 2) { // seek forward by a few samples, or to where it is
                int64_t x = it.t + (int64_t)((rng >> (step % 40)) % 50) * STEP / 2;
                if (x == it.t)
                    k--; // stays on the current sample
                while (k < N && t[k] < x)
                    k++;
                ok = tsdb_store_iter_seek(&it, x);
            } else {
                ok = tsdb_store_iter_next(&it);
            }
            bool want = k < N && t[k] <= b;
            if (ok != want)
                ck_abort_msg("round %d [%lld, %lld] step %d: %d, want %d", round, (long long)a,
                             (long long)b, step, ok, want);
            if (!ok)
                break;
            if (it.t != t[k] || s_bits(it.v) != s_bits(v[s][k]))
                ck_abort_msg("round %d step %d: t %lld, want %lld", round, step, (long long)it.t,
                             (long long)t[k]);
            k++;
        }
        ck_assert_int_eq(tsdb_store_iter_err(&it), 0);
    }
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_reopen_continues_open_chunk)
{
    tsdb_store_t *st = s_open();
    s_grid(st, "c{x=\"1\"}", 0, 15000, 50, 1);
    s_commit(st);
    ck_assert_uint_eq(s_raw_entries("head"), 1);
    ck_assert_uint_eq(s_raw_entries("chunks"), 0);
    tsdb_store_destroy(&st); // SIGKILL-like: nothing but the commits stays
    st = s_open();
    ck_assert_uint_eq(tsdb_store_head_series(st), 0); // filled lazily
    // the resend of the newest sample is a duplicate, an older one out of order, another
    // value at the newest timestamp a conflict: the newest sample was read back
    struct tsdb_store_stats s1 =
        s_put(st, "c{x=\"1\"}", 3, (int64_t[]){49 * 15000, 10 * 15000, 49 * 15000},
              (double[]){1 + (49 % 7) * 0.25, 7, 99});
    ck_assert_uint_eq(s1.duplicates, 1);
    ck_assert_uint_eq(s1.out_of_order, 1);
    ck_assert_uint_eq(s1.conflicts, 1);
    ck_assert_uint_eq(s1.samples, 0);
    ck_assert_uint_eq(s1.new_series, 0);
    s_grid(st, "c{x=\"1\"}", 50 * 15000, 15000, 69, 1);
    s_commit(st);
    // 50 + 69 = 119 samples: the same open chunk continued, still one record
    ck_assert_uint_eq(s_raw_entries("chunks"), 0);
    ck_assert_uint_eq(s_raw_entries("head"), 1);
    s_grid(st, "c{x=\"1\"}", 119 * 15000, 15000, 2, 1);
    s_commit(st);
    ck_assert_uint_eq(s_raw_entries("chunks"), 1); // full at 120: sealed
    ck_assert_uint_eq(s_raw_entries("head"), 1);   // the 121st opened the next one
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "c"), INT64_MIN, INT64_MAX, &p), 121);
    for (int k = 0; k < 121; k++)
        ck_assert_int_eq(p[k].t_ms, (int64_t)k * 15000);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_out_of_order_and_duplicates)
{
    tsdb_store_t *st = s_open();
    struct tsdb_store_stats a =
        s_put(st, "o", 3, (int64_t[]){1000, 2000, 3000}, (double[]){1, 2, 3});
    ck_assert_uint_eq(a.samples, 3);
    // a resent batch is stored once; older samples are rejected; a new value at the
    // newest timestamp is a conflict; NaN payloads compare by bits
    struct tsdb_store_stats b =
        s_put(st, "o", 5, (int64_t[]){1000, 3000, 3000, 2500, 4000}, (double[]){1, 3, 3.5, 9, NAN});
    ck_assert_uint_eq(b.samples, 1);
    ck_assert_uint_eq(b.out_of_order, 2);
    ck_assert_uint_eq(b.duplicates, 1);
    ck_assert_uint_eq(b.conflicts, 1);
    struct tsdb_store_stats c =
        s_put(st, "o", 2, (int64_t[]){4000, 4000}, (double[]){NAN, fw_stale_nan()});
    ck_assert_uint_eq(c.duplicates, 1);
    ck_assert_uint_eq(c.conflicts, 1);
    s_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "o"), INT64_MIN, INT64_MAX, &p), 4);
    ck_assert(p[2].v == 3);
    ck_assert(isnan(p[3].v));
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_ooo_window)
{
    tsdb_store_t *st = s_open();
    tsdb_store_set_ooo_window(st, 3600 * 1000);
    // 300 samples at 10 s: two sealed chunks and an open one
    int64_t t[300];
    double v[300];
    for (int k = 0; k < 300; k++) {
        t[k] = 1000000 + (int64_t)k * 10000;
        v[k] = k;
    }
    s_put(st, "w", 300, t, v);
    s_commit(st);
    ck_assert_uint_eq(s_raw_entries("chunks"), 2);
    // late samples: in the open chunk's range, in a sealed chunk's, before the first,
    // a repeat of a stored one, a conflicting one, and one before the window
    int64_t newest = t[299];
    struct tsdb_store_stats s = s_put(st, "w", 7,
                                      (int64_t[]){t[280] + 5, t[50] + 5, t[0] - 5, t[100], t[101],
                                                  t[150] + 1, newest - 3600 * 1000 - 1},
                                      (double[]){0.5, 0.25, -1, 100, 555, 0.75, 1});
    ck_assert_uint_eq(s.too_old, 1);
    ck_assert_uint_eq(s.late, 6); // t[100] and t[101] wait for the commit to compare
    ck_assert_uint_eq(s.samples, 6);
    s_commit(st);
    struct tsdb_store_counters cnt;
    tsdb_store_counters(st, &cnt);
    ck_assert_uint_eq(cnt.late_duplicates, 1);
    ck_assert_uint_eq(cnt.late_conflicts, 1);
    struct fw_sample *p;
    size_t n = s_read(st, s_id(st, "w"), INT64_MIN, INT64_MAX, &p);
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
    tsdb_store_iter_init(&it, r, s_id(st, "w"), t[50], t[50] + 5);
    ck_assert(tsdb_store_iter_next(&it) && it.t == t[50]);
    ck_assert(tsdb_store_iter_next(&it) && it.t == t[50] + 5 && it.v == 0.25);
    ck_assert(!tsdb_store_iter_next(&it));
    tsdb_store_reader_destroy(&r);
    // window off again: late samples are rejected
    tsdb_store_set_ooo_window(st, 0);
    s = s_put(st, "w", 1, (int64_t[]){newest - 1}, (double[]){1});
    ck_assert_uint_eq(s.out_of_order, 1);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_refuses_old_and_unknown_formats)
{
    fw_err_t err;
    // format 1: the per-sample layout (named databases series ... samples)
    MDB_env *env = s_raw_open();
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
    ck_assert_uint_eq(s_raw_entries("samples"), 1);

    // an unknown (future) format
    env = s_raw_open();
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
    env = s_raw_open();
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
    tsdb_store_t *st = s_open();
    for (int s = 0; s < 200; s++) {
        char sel[32];
        snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s);
        s_grid(st, sel, 0, 1000, 300, s);
    }
    s_commit(st);
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
    tsdb_store_t *st = s_open_size((size_t)1 << 20);
    s_grid(st, "first", 0, 1000, 10, 1);
    s_commit(st);
    ck_assert(tsdb_store_writable(st));
    fw_err_t err;
    int rc = 0;
    char sel[300];
    int s;
    // series with long labels fill the 1 MiB map within a few hundred series
    for (s = 0; s < 5000 && rc == 0; s++) {
        snprintf(sel, sizeof(sel), "m{i=\"%d\",pad=\"%0200d\"}", s, s);
        s_grid(st, sel, 0, 1000, 20, s);
        if (s % 50 == 49)
            rc = tsdb_store_commit(st, &err);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(err.msg, "full") && strstr(err.msg, "--storage.tsdb.map-size"), "%s",
                  err.msg);
    ck_assert(!tsdb_store_writable(st));
    // what was committed is all there; the failed commit stored nothing
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "first"), INT64_MIN, INT64_MAX, &p), 10);
    free(p);
    ssize_t stored = tsdb_store_series_count(st);
    ck_assert_int_lt(stored, s + 1);
    ck_assert_int_eq(tsdb_store_commit(st, &err), -1); // still full: retried, still refused
    ck_assert_int_eq(tsdb_store_series_count(st), stored);
    // raise the map: the same commit goes through with everything the head kept
    ck_assert_int_eq(tsdb_store_resize(st, (size_t)64 << 20, &err), 0);
    s_commit(st);
    ck_assert(tsdb_store_writable(st));
    ck_assert_int_eq(tsdb_store_series_count(st), s + 1);
    snprintf(sel, sizeof(sel), "m{i=\"%d\"}", s - 1);
    ck_assert_uint_eq(s_read(st, s_id(st, sel), INT64_MIN, INT64_MAX, &p), 20);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_damaged_chunk_skipped_and_reported)
{
    tsdb_store_t *st = s_open();
    s_grid(st, "d{k=\"1\"}", 0, 1000, 400, 1); // three sealed chunks and an open one
    s_grid(st, "d{k=\"2\"}", 0, 1000, 400, 2);
    s_commit(st);
    uint64_t id = s_id(st, "d{k=\"1\"}");
    tsdb_store_destroy(&st);
    s_raw_damage("chunks", id, "\x01\x05\x00", 3); // the first chunk: truncated
    // a reserved encoding, in a head record padded as tsdb writes them (8 bytes after it)
    s_raw_damage("head", id, "\x3f\x01\x00\x00\x00\x00\x00\x00\0\0\0\0\0\0\0\x08", 16);
    st = s_open();
    struct fw_sample *p;
    size_t n = s_read(st, id, INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 240); // chunks 2 and 3 of 120; the first and the open one skipped
    ck_assert_int_eq(p[0].t_ms, 120000);
    free(p);
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.damaged_chunks, 2);
    ck_assert_uint_eq(s_read(st, s_id(st, "d{k=\"2\"}"), INT64_MIN, INT64_MAX, &p), 400);
    free(p);
    // ingest goes on: the damaged open chunk is replaced, its time range stays closed
    struct tsdb_store_stats s =
        s_put(st, "d{k=\"1\"}", 2, (int64_t[]){350000, 400000}, (double[]){1, 2});
    ck_assert_uint_eq(s.samples, 1);
    ck_assert_uint_eq(s.out_of_order, 1);
    s_commit(st);
    ck_assert_uint_eq(s_read(st, id, 390000, INT64_MAX, &p), 1);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_fault_in_damaged_file_is_named)
{
    tsdb_store_t *st = s_open();
    s_grid(st, "f", 0, 1000, 400, 1);
    s_commit(st);
    uint64_t id = s_id(st, "f");
    tsdb_store_destroy(&st);
    char log[256], data[256];
    snprintf(log, sizeof(log), "%s/other.txt", s_dir);
    snprintf(data, sizeof(data), "%s/data.mdb", s_dir);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        // the data file loses its pages under a running store, as a disk may lose blocks
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 2);
        st = s_open();
        if (truncate(data, 8192) != 0)
            _exit(3);
        struct fw_sample *p;
        s_read(st, id, INT64_MIN, INT64_MAX, &p);
        _exit(0); // not reached: LMDB faults on the missing pages
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 3),
                  "status %d", status);
    char text[4096] = "";
    FILE *f = fopen(log, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    ck_assert_msg(strstr(text, "event=tsdb.storage.damaged") && strstr(text, "data.mdb") &&
                      strstr(text, "backup"),
                  "%s", text);
}
END_TEST

START_TEST(test_tsdb_store_select_every_matcher_kind)
{
    tsdb_store_t *st = s_open();
    const char *series[] = {
        "up{job=\"api\",env=\"prod\",zone=\"a\"}", "up{job=\"api\",env=\"dev\"}",
        "up{job=\"db\",env=\"prod\",zone=\"b\"}",  "up{job=\"web\"}",
        "down{job=\"api\",env=\"prod\"}",
    };
    for (size_t k = 0; k < 5; k++)
        s_put(st, series[k], 1, (int64_t[]){1000}, (double[]){1});
    s_commit(st);
    ck_assert_uint_eq(s_select_count(st, "up"), 4);
    ck_assert_uint_eq(s_select_count(st, "up{job=\"api\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "up{job!=\"api\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "up{job=~\"a.*|d.\"}"), 3);
    ck_assert_uint_eq(s_select_count(st, "up{job!~\"a.*\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "{job=\"api\"}"), 3);
    ck_assert_uint_eq(s_select_count(st, "{__name__=~\"up|down\",env=\"prod\"}"), 3);
    // matchers that match the empty string: absent labels match as ""
    ck_assert_uint_eq(s_select_count(st, "up{zone=\"\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "up{zone!=\"a\"}"), 3);
    ck_assert_uint_eq(s_select_count(st, "up{zone=~\"a|\"}"), 3);
    ck_assert_uint_eq(s_select_count(st, "up{zone!~\"a|b\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "up{zone!=\"\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "up{zone=~\".+\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "up{nope=\"\"}"), 4);
    ck_assert_uint_eq(s_select_count(st, "up{nope=\"x\"}"), 0);
    ck_assert_uint_eq(s_select_count(st, "{env=~\"prod|dev\",job!=\"db\",zone!=\"a\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "nothing"), 0);
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    char **names;
    size_t n;
    ck_assert_int_eq(tsdb_store_label_names(r, &names, &n, &err), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_str_eq(names[0], "__name__");
    ck_assert_str_eq(names[3], "zone");
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    ck_assert_int_eq(tsdb_store_label_values(r, "job", &names, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(names[0], "api");
    ck_assert_str_eq(names[2], "web");
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_long_label_values)
{
    tsdb_store_t *st = s_open();
    size_t len = 3000;
    char *big1 = fw_malloc(len + 1), *big2 = fw_malloc(len + 1);
    memset(big1, 'x', len);
    memset(big2, 'x', len);
    big1[len] = big2[len] = '\0';
    big2[len - 1] = 'y'; // same 460-byte prefix, different values
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "m");
    fw_err_t err;
    const char *bigs[2] = {big1, big2};
    for (int k = 0; k < 2; k++) {
        fw_labels_set(&l, "big", bigs[k]);
        ck_assert_int_eq(
            tsdb_store_append_series(st, &l, &(struct fw_sample){1000, k}, 1, NULL, &err), 0);
    }
    s_commit(st);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    char **vals;
    size_t n;
    ck_assert_int_eq(tsdb_store_label_values(r, "big", &vals, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(vals[0], big1);
    ck_assert_str_eq(vals[1], big2);
    for (size_t k = 0; k < n; k++)
        free(vals[k]);
    free(vals);
    struct fw_matcher m[2];
    fw_matcher_init(&m[0], FW_MATCH_EQ, "big", big2, FW_REGEX_PROMETHEUS, &err);
    fw_matcher_init(&m[1], FW_MATCH_RE, "big", "x*y", FW_REGEX_PROMETHEUS, &err);
    struct tsdb_store_series *out;
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(tsdb_store_select(r, &m[k], 1, &out, &n, &err), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(fw_labels_get(&out[0].labels, "big"), big2);
        tsdb_store_series_free(out, n);
        fw_matcher_clear(&m[k]);
    }
    tsdb_store_reader_destroy(&r);
    fw_labels_clear(&l);
    free(big1);
    free(big2);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_refuses_bad_label_sets)
{
    tsdb_store_t *st = s_open();
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
    s_commit(st);
    ck_assert_int_eq(tsdb_store_series_count(st), 0);
    tsdb_store_destroy(&st);
}
END_TEST

// How many values label name has in the index.
static size_t
s_label_values_n(tsdb_store_t *st, const char *name)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    char **vals;
    size_t n;
    ck_assert_int_eq(tsdb_store_label_values(r, name, &vals, &n, &err), 0);
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    tsdb_store_reader_destroy(&r);
    return n;
}

// tsdb counts the stored series (a read transaction) only when tsdb_store_index_gen moved:
// commits of known series' samples, checkpoints included, leave it alone; a new series
// moves it (a removal: test_tsdb_store_retention_deletes_whole_chunks).
START_TEST(test_tsdb_store_index_gen)
{
    tsdb_store_t *st = s_open();
    uint64_t gen = tsdb_store_index_gen(st);
    s_grid(st, "g{a=\"1\"}", 0, 1000, 10, 1);
    s_commit(st);
    ck_assert_uint_ne(tsdb_store_index_gen(st), gen);
    gen = tsdb_store_index_gen(st);
    for (int k = 1; k <= 3; k++) {
        s_grid(st, "g{a=\"1\"}", k * 10000, 1000, 10, 1);
        s_commit(st);
    }
    tsdb_store_checkpoint_next(st);
    s_grid(st, "g{a=\"1\"}", 40000, 1000, 10, 1);
    s_commit(st);
    ck_assert_uint_eq(tsdb_store_index_gen(st), gen);
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    s_grid(st, "g{a=\"2\"}", 0, 1000, 10, 1);
    s_commit(st);
    ck_assert_uint_ne(tsdb_store_index_gen(st), gen);
    ck_assert_int_eq(tsdb_store_series_count(st), 2);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_retention_deletes_whole_chunks)
{
    tsdb_store_t *st = s_open();
    uint64_t gen = tsdb_store_index_gen(st);
    s_grid(st, "r{a=\"1\"}", 0, 1000, 400, 1); // chunks [0,119s] [120,239s] [240,359s] + open
    s_grid(st, "r{a=\"2\"}", 0, 1000, 100, 2); // only an open chunk, [0, 99s]
    s_commit(st);
    // series were added: the count may have changed (tsdb counts again only then)
    ck_assert_uint_ne(tsdb_store_index_gen(st), gen);
    gen = tsdb_store_index_gen(st);
    size_t deleted = 0, total = 0;
    fw_err_t err;
    for (int k = 0; k < 10; k++) {
        ck_assert_int_eq(tsdb_store_delete_before(st, 250000, 1, &deleted, &err), 0);
        ck_assert_uint_le(deleted, 1);
        total += deleted;
    }
    ck_assert_uint_eq(total, 3); // two sealed chunks of r1, and r2's open chunk
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "r{a=\"1\"}"), INT64_MIN, INT64_MAX, &p), 160);
    ck_assert_int_eq(p[0].t_ms, 240000); // the chunk holding the cut-off stays whole
    free(p);
    // r2 has no sample left: it left the head and the index, so label lookups no longer
    // offer it and a selector finds nothing
    ck_assert_uint_eq(s_id(st, "r{a=\"2\"}"), 0);
    ck_assert_uint_eq(s_label_values_n(st, "a"), 1);
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    ck_assert_uint_ne(tsdb_store_index_gen(st), gen); // a series was removed
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.series_removed, 1);
    uint64_t old_id = s_id(st, "r{a=\"1\"}") + 1; // r2 was added after r1
    // it starts afresh, as a new series with a new id, when it returns
    struct tsdb_store_stats s = s_put(st, "r{a=\"2\"}", 1, (int64_t[]){5000}, (double[]){3});
    ck_assert_uint_eq(s.samples, 1);
    ck_assert_uint_eq(s.new_series, 1);
    s_commit(st);
    ck_assert_uint_gt(s_id(st, "r{a=\"2\"}"), old_id);
    ck_assert_uint_eq(s_read(st, s_id(st, "r{a=\"2\"}"), INT64_MIN, INT64_MAX, &p), 1);
    free(p);
    ck_assert_uint_eq(s_label_values_n(st, "a"), 2);
    tsdb_store_destroy(&st);
    // an id once removed is not given again after a restart either
    st = s_open();
    ck_assert_uint_eq(s_put(st, "r{a=\"3\"}", 1, (int64_t[]){6000}, (double[]){1}).new_series, 1);
    s_commit(st);
    ck_assert_uint_gt(s_id(st, "r{a=\"3\"}"), s_id(st, "r{a=\"2\"}"));
    tsdb_store_destroy(&st);
}
END_TEST

// Retention by size: the cutoff moves forward from the oldest sample until the data takes
// less than the limit; the newest samples stay, and each series' oldest goes.
START_TEST(test_tsdb_store_retention_by_size)
{
    tsdb_store_t *st = s_open();
    enum { S = 200, N = 2880 }; // 12 h at 15 s: 24 sealed chunks and an open one each
    char sel[32];
    for (int i = 0; i < S; i++) {
        snprintf(sel, sizeof(sel), "z{i=\"%d\"}", i);
        s_grid(st, sel, 0, 15000, N, i);
    }
    s_commit(st);
    fw_err_t err;
    uint64_t used0, used;
    ck_assert_int_eq(tsdb_store_used_bytes(st, &used0, &err), 0);
    ck_assert_uint_gt(used0, 100 * 4096);
    uint64_t limit = used0 / 2;
    int64_t now = (int64_t)N * 15000, cutoff = INT64_MIN;
    bool moved = true;
    int steps = 0;
    for (; moved && steps < 100; steps++) {
        ck_assert_int_eq(tsdb_store_size_cutoff(st, limit, now, &cutoff, &moved, &err), 0);
        size_t deleted = 1;
        for (int k = 0; k < 1000 && deleted > 0; k++)
            ck_assert_int_eq(tsdb_store_delete_before(st, cutoff, 100000, &deleted, &err), 0);
    }
    ck_assert_msg(!moved, "still over the limit after %d steps", steps);
    ck_assert_int_eq(tsdb_store_used_bytes(st, &used, &err), 0);
    ck_assert_msg(used <= limit, "used %llu > limit %llu", (unsigned long long)used,
                  (unsigned long long)limit);
    ck_assert_int_gt(cutoff, 0);
    ck_assert_int_lt(cutoff, now);
    for (int i = 0; i < S; i += 37) {
        snprintf(sel, sizeof(sel), "z{i=\"%d\"}", i);
        struct fw_sample *p;
        size_t n = s_read(st, s_id(st, sel), INT64_MIN, INT64_MAX, &p);
        ck_assert_uint_gt(n, 0);
        ck_assert_uint_lt(n, N);
        ck_assert_int_eq(p[n - 1].t_ms, (int64_t)(N - 1) * 15000); // the newest stays
        ck_assert_int_gt(p[0].t_ms, 0);                            // the oldest went
        free(p);
    }
    tsdb_store_destroy(&st);
}
END_TEST

// Per-matcher retention: the first policy a series matches decides its cutoff; one that
// matches none takes the default; the size floor cuts every series.
START_TEST(test_tsdb_store_retention_policies)
{
    tsdb_store_t *st = s_open();
    const int64_t day = 86400000;
    s_grid(st, "ms5:oee{line=\"1\"}", 0, 60000, 3 * 1440, 1); // 3 days at 1 m
    s_grid(st, "up{job=\"x\"}", 0, 60000, 3 * 1440, 1);
    s_grid(st, "up{job=\"keep\"}", 0, 60000, 3 * 1440, 1);
    s_commit(st);
    fw_err_t err;
    struct fw_matcher m1, m2;
    ck_assert_int_eq(
        fw_matcher_init(&m1, FW_MATCH_RE, "__name__", "ms5:.*", FW_REGEX_PROMETHEUS, &err), 0);
    ck_assert_int_eq(fw_matcher_init(&m2, FW_MATCH_EQ, "job", "keep", FW_REGEX_PROMETHEUS, &err),
                     0);
    struct tsdb_store_policy pol[2] = {{&m1, 1, 10 * day}, {&m2, 1, 2 * day}};
    tsdb_store_set_policies(st, pol, 2);
    fw_matcher_clear(&m1);
    fw_matcher_clear(&m2);
    // now = day 3; the default keeps one day, ms5:* ten days, job="keep" two
    struct tsdb_store_cutoffs c = {.now_ms = 3 * day, .cutoff_ms = 2 * day, .floor_ms = INT64_MIN};
    size_t deleted = 1;
    for (int k = 0; k < 100 && deleted > 0; k++)
        ck_assert_int_eq(tsdb_store_retain(st, &c, 100000, &deleted, &err), 0);
    struct fw_sample *p;
    size_t n = s_read(st, s_id(st, "ms5:oee{line=\"1\"}"), INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 3 * 1440); // all kept
    free(p);
    n = s_read(st, s_id(st, "up{job=\"x\"}"), INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_lt(n, 1440 + 120); // the last day and the chunk holding the cutoff
    ck_assert_int_ge(p[0].t_ms, 2 * day - 120 * 60000);
    free(p);
    n = s_read(st, s_id(st, "up{job=\"keep\"}"), INT64_MIN, INT64_MAX, &p);
    ck_assert_int_ge(p[0].t_ms, day - 120 * 60000);
    ck_assert_int_lt(p[0].t_ms, day + 1);
    free(p);
    // the size floor cuts through every policy
    c.floor_ms = 3 * day - 60 * 60000;
    deleted = 1;
    for (int k = 0; k < 100 && deleted > 0; k++)
        ck_assert_int_eq(tsdb_store_retain(st, &c, 100000, &deleted, &err), 0);
    n = s_read(st, s_id(st, "ms5:oee{line=\"1\"}"), INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_lt(n, 200);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

// delete_series hides a range at once through tombstones, in sealed and open chunks, for
// that series only; clean_tombstones then deletes it from the sealed chunks and drops the
// tombstone once it ends before the stored open chunk.
START_TEST(test_tsdb_store_tombstones)
{
    tsdb_store_t *st = s_open();
    s_grid(st, "d{a=\"1\"}", 0, 1000, 400, 1); // chunks [0,119s] [120,239s] [240,359s] + open
    s_grid(st, "d{a=\"2\"}", 0, 1000, 400, 2);
    s_commit(st);
    uint64_t id1 = s_id(st, "d{a=\"1\"}"), id2 = s_id(st, "d{a=\"2\"}");
    fw_err_t err;
    // 100 s .. 149.5 s (a sealed chunk's end and the next one's start) and 380 s .. 389 s
    // (in the open chunk)
    ck_assert_int_eq(tsdb_store_delete_series(st, &id1, 1, 100000, 149500, &err), 0);
    ck_assert_int_eq(tsdb_store_delete_series(st, &id1, 1, 380000, 389000, &err), 0);
    struct fw_sample *p;
    size_t n = s_read(st, id1, INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 400 - 50 - 10);
    for (size_t k = 0; k < n; k++)
        ck_assert(!(p[k].t_ms >= 100000 && p[k].t_ms <= 149500) &&
                  !(p[k].t_ms >= 380000 && p[k].t_ms <= 389000));
    free(p);
    ck_assert_uint_eq(s_read(st, id2, INT64_MIN, INT64_MAX, &p), 400); // the other untouched
    free(p);
    // a window that starts and ends inside a deleted range
    ck_assert_uint_eq(s_read(st, id1, 110000, 140000, &p), 0);
    free(p);
    // overlapping ranges merge into one record
    ck_assert_int_eq(tsdb_store_delete_series(st, &id1, 1, 140000, 160000, &err), 0);
    ck_assert_uint_eq(s_read(st, id1, INT64_MIN, INT64_MAX, &p), 400 - 61 - 10);
    free(p);
    ck_assert_uint_eq(s_raw_entries("tombstones"), 1);

    // cleaning: the sealed chunks lose the samples on disk; the tombstone reaching into the
    // open chunk keeps the record
    size_t cleaned;
    uint64_t chunks_before = s_raw_entries("chunks");
    ck_assert_int_eq(tsdb_store_clean_tombstones(st, &cleaned, &err), 0);
    ck_assert_uint_eq(cleaned, 0);
    ck_assert_uint_eq(s_raw_entries("tombstones"), 1);
    ck_assert_uint_ge(s_raw_entries("chunks"), chunks_before); // [0,119] and [120,239] rewritten
    ck_assert_uint_eq(s_read(st, id1, INT64_MIN, INT64_MAX, &p), 400 - 61 - 10);
    free(p);
    // once the series has moved on to a later open chunk, checkpointed, the record goes
    s_grid(st, "d{a=\"1\"}", 400000, 1000, 120, 1);
    tsdb_store_checkpoint_next(st);
    s_commit(st);
    ck_assert_int_eq(tsdb_store_clean_tombstones(st, &cleaned, &err), 0);
    ck_assert_uint_eq(cleaned, 1);
    ck_assert_uint_eq(s_raw_entries("tombstones"), 0);
    n = s_read(st, id1, INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 400 - 61 - 10 + 120); // the deleted samples are gone from disk
    for (size_t k = 1; k < n; k++)
        ck_assert_int_gt(p[k].t_ms, p[k - 1].t_ms);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_seal_all)
{
    tsdb_store_t *st = s_open();
    s_grid(st, "s{a=\"1\"}", 0, 1000, 50, 1);
    s_grid(st, "s{a=\"2\"}", 0, 1000, 120, 1); // sealed already
    ck_assert_uint_eq(tsdb_store_seal_all(st), 1);
    s_commit(st);
    ck_assert_uint_eq(s_raw_entries("chunks"), 2);
    ck_assert_uint_eq(s_raw_entries("head"), 0);
    s_grid(st, "s{a=\"1\"}", 50000, 1000, 10, 1); // a new chunk after the sealed one
    s_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "s{a=\"1\"}"), INT64_MIN, INT64_MAX, &p), 60);
    free(p);
    tsdb_store_destroy(&st);
    st = s_open(); // and after a restart, its newest sample comes from the sealed chunk
    struct tsdb_store_stats s = s_put(st, "s{a=\"2\"}", 1, (int64_t[]){100000}, (double[]){1});
    ck_assert_uint_eq(s.out_of_order, 1);
    tsdb_store_destroy(&st);
}
END_TEST

// The leaf pages of db and the bytes its records need (LMDB's node: 8-byte header, key and
// value, 2-byte pointer, even-aligned) in *need.
static size_t
s_raw_leaf_pages(const char *db, size_t *need)
{
    MDB_env *env = s_raw_open();
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
    tsdb_store_t *st = s_open();
    for (int i = 0; i < 300; i++) {
        char sel[32];
        snprintf(sel, sizeof(sel), "s{i=\"%03d\"}", i);
        s_grid(st, sel, 0, 15000, 200, i); // one full chunk, one open
    }
    ck_assert_uint_eq(tsdb_store_seal_all(st), 300);
    s_commit(st);
    tsdb_store_destroy(&st);
    size_t need, pages = s_raw_leaf_pages("chunks", &need);
    ck_assert_uint_eq(s_raw_entries("chunks"), 600);
    ck_assert_msg(pages <= need / 4080 + 2, "%zu leaf pages for %zu bytes", pages, need);
    st = s_open();
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "s{i=\"123\"}"), INT64_MIN, INT64_MAX, &p), 200);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_compact_copy)
{
    tsdb_store_t *st = s_open();
    for (int k = 0; k < 30; k++) { // many small commits leave free pages behind
        char sel[32];
        snprintf(sel, sizeof(sel), "c{i=\"%d\"}", k);
        s_grid(st, sel, 0, 1000, 240, k);
        s_commit(st);
    }
    char dst[200], p[300];
    snprintf(dst, sizeof(dst), "%s/copy", s_dir);
    ck_assert_int_eq(mkdir(dst, 0755), 0);
    fw_err_t err;
    ck_assert_msg(tsdb_store_copy(st, dst, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(tsdb_store_copy(st, dst, &err), -1); // never over a data file
    ck_assert_msg(strstr(err.msg, "already holds"), "%s", err.msg);
    tsdb_store_destroy(&st);
    struct stat a, b;
    snprintf(p, sizeof(p), "%s/data.mdb", s_dir);
    ck_assert_int_eq(stat(p, &a), 0);
    snprintf(p, sizeof(p), "%s/data.mdb", dst);
    ck_assert_int_eq(stat(p, &b), 0);
    ck_assert_int_lt(b.st_size, a.st_size);
    tsdb_store_t *copy = tsdb_store_new();
    ck_assert_msg(tsdb_store_open(copy, dst, &err) == 0, "%s", err.msg);
    struct fw_sample *pts;
    ck_assert_uint_eq(s_read(copy, s_id(copy, "c{i=\"29\"}"), INT64_MIN, INT64_MAX, &pts), 240);
    free(pts);
    ck_assert_int_eq(tsdb_store_series_count(copy), 30);
    tsdb_store_destroy(&copy);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dst);
    unlink(p);
    rmdir(dst);
}
END_TEST

START_TEST(test_tsdb_store_head_gc_reloads)
{
    tsdb_store_t *st = s_open();
    s_grid(st, "h{a=\"1\"}", 0, 1000, 10, 1);
    s_grid(st, "h{a=\"2\"}", 500000, 1000, 10, 1);
    ck_assert_uint_eq(tsdb_store_head_gc(st, 100000), 0); // nothing committed yet
    s_commit(st);
    ck_assert_uint_eq(tsdb_store_head_gc(st, 100000), 1);
    ck_assert_uint_eq(tsdb_store_head_series(st), 1);
    struct tsdb_store_stats s =
        s_put(st, "h{a=\"1\"}", 2, (int64_t[]){9000, 10000}, (double[]){1 + 2 * 0.25, 4});
    ck_assert_uint_eq(s.duplicates, 1); // its newest sample was read back
    ck_assert_uint_eq(s.samples, 1);
    s_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "h{a=\"1\"}"), INT64_MIN, INT64_MAX, &p), 11);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

// Append one sample (t, v) to the series sel at position pos of cache's batches.
static void
s_put_at(tsdb_store_t *st, tsdb_store_cache_t *c, size_t pos, const char *sel, int64_t t, double v)
{
    struct fw_labels l = FW_LABELS_INIT;
    s_labels(&l, sel);
    fw_err_t err;
    ck_assert_msg(
        tsdb_store_append_series_at(st, c, pos, &l, &(struct fw_sample){t, v}, 1, NULL, &err) == 0,
        "append: %s", err.msg);
    fw_labels_clear(&l);
}

START_TEST(test_tsdb_store_cache_by_position)
{
    tsdb_store_t *st = s_open();
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
    s_commit(st);
    // the head frees every series: no cached pointer may be used after that
    ck_assert_uint_eq(tsdb_store_head_gc(st, INT64_MAX), 3);
    s_put_at(st, c, 1, "c{a=\"1\"}", 4000, 1000);
    s_put_at(st, c, 0, "c{a=\"2\"}", 4000, 200);
    s_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(s_read(st, s_id(st, "c{a=\"1\"}"), INT64_MIN, INT64_MAX, &p), 4);
    ck_assert(p[0].v == 1 && p[1].v == 10 && p[2].v == 100 && p[3].v == 1000);
    free(p);
    ck_assert_uint_eq(s_read(st, s_id(st, "c{a=\"2\"}"), INT64_MIN, INT64_MAX, &p), 3);
    ck_assert(p[0].v == 2 && p[1].v == 20 && p[2].v == 200);
    free(p);
    ck_assert_uint_eq(s_read(st, s_id(st, "c{a=\"3\"}"), INT64_MIN, INT64_MAX, &p), 1);
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
    tsdb_store_t *st = s_open();
    void *blob;
    size_t len;
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_ptr_null(blob);
    ck_assert_uint_eq(len, 0);
    tsdb_store_set_state(st, "seq=1", 5);
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_uint_eq(len, 0); // not committed yet
    s_put(st, "m", 1, (int64_t[]){1000}, (double[]){1});
    s_commit(st);
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(blob, "seq=1", 5);
    free(blob);
    tsdb_store_set_state(st, "seq=2", 5);
    s_commit(st);                         // a commit with nothing but the state
    tsdb_store_set_state(st, "seq=3", 5); // never committed: lost with the process
    tsdb_store_destroy(&st);
    st = s_open();
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
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_store_new_open_destroy);
    tcase_add_test(tc, test_tsdb_store_round_trip_many_series_and_chunks);
    tcase_add_test(tc, test_tsdb_store_iterator_seek_and_no_copy);
    tcase_add_test(tc, test_tsdb_store_iterator_batches);
    tcase_add_test(tc, test_tsdb_store_reopen_continues_open_chunk);
    tcase_add_test(tc, test_tsdb_store_out_of_order_and_duplicates);
    tcase_add_test(tc, test_tsdb_store_ooo_window);
    tcase_add_test(tc, test_tsdb_store_refuses_old_and_unknown_formats);
    tcase_add_test(tc, test_tsdb_store_refuses_truncated_file_and_second_process);
    tcase_add_test(tc, test_tsdb_store_map_full_keeps_samples);
    tcase_add_test(tc, test_tsdb_store_damaged_chunk_skipped_and_reported);
    tcase_add_test(tc, test_tsdb_store_fault_in_damaged_file_is_named);
    tcase_add_test(tc, test_tsdb_store_select_every_matcher_kind);
    tcase_add_test(tc, test_tsdb_store_long_label_values);
    tcase_add_test(tc, test_tsdb_store_refuses_bad_label_sets);
    tcase_add_test(tc, test_tsdb_store_retention_deletes_whole_chunks);
    tcase_add_test(tc, test_tsdb_store_index_gen);
    tcase_add_test(tc, test_tsdb_store_retention_by_size);
    tcase_add_test(tc, test_tsdb_store_retention_policies);
    tcase_add_test(tc, test_tsdb_store_tombstones);
    tcase_add_test(tc, test_tsdb_store_seal_all);
    tcase_add_test(tc, test_tsdb_store_chunks_put_in_key_order);
    tcase_add_test(tc, test_tsdb_store_compact_copy);
    tcase_add_test(tc, test_tsdb_store_head_gc_reloads);
    tcase_add_test(tc, test_tsdb_store_cache_by_position);
    tcase_add_test(tc, test_tsdb_store_state_written_by_commit);
    tcase_add_test(tc, test_tsdb_store_open_fails_on_file);
    suite_add_tcase(s, tc);
    return s;
}
