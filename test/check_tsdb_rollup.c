/*  check_tsdb_rollup.c — rollups (tsdb_rollup.h): queries answered from them give the raw
    samples' answers bit for bit, and they follow late samples, tombstones, retention and
    series removal.

    Synthetic data over two days, scraped every 15 s with a few ms of jitter: counters with
    resets (several in one bucket, too), whole and fractional; gauges with NaNs, -0.0 and
    stale markers; values too large for exact sums; gaps of an hour and more; a sparse
    series. Each query is evaluated twice, with rollups and with raw samples only
    (tsdb_eval_limit.no_rollups), and the two answers must be identical bit for bit; the
    stats show the rollups were used (fewer samples loaded) where they apply.
*/
#include <check.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_promql.h"
#include "fw_time.h"
#include "../tsdb/tsdb_eval.h"
#include "../tsdb/tsdb_rollup.h"
#include "../tsdb/tsdb_store.h"
#include "check_util.h"

#define H_MS ((int64_t)3600000)
#define T0 ((int64_t)1700000000000 - 1700000000000 % (24 * H_MS)) // a day boundary
#define DAYS 2

static char s_dir[128];
static tsdb_store_t *s_st;
static uint64_t s_rng = 88172645463325252ULL;
static bool s_delay; // evaluate with delayed name removal

static uint64_t
s_rand(void)
{
    return check_util_xorshift64(&s_rng);
}

static void
s_setup(void)
{
    s_rng = 88172645463325252ULL;
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_rollup");
    s_st = check_util_store_open(s_dir, 0);
}

static void
s_teardown(void)
{
    tsdb_store_destroy(&s_st);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

enum { K_COUNTER, K_FCOUNTER, K_GAUGE, K_STALE, K_BIG, K_SPARSE, K_N };
static const char *const s_names[K_N] = {"c_int",   "c_float", "g_frac",
                                         "g_stale", "g_big",   "sparse"};

// The next value of series kind k after prev (i: the sample's index).
static double
s_next(int k, double prev, size_t i)
{
    uint64_t r = s_rand();
    switch (k) {
    case K_COUNTER: // whole increments, resets now and then (bursts of them too)
        if (r % 97 == 0 || (i % 2000 > 1990 && r % 3 == 0))
            return (double)(r % 5);
        return prev + (double)(r % 11);
    case K_FCOUNTER:
        if (r % 211 == 0)
            return 0.25 * (double)(r % 4);
        return prev + (double)(r % 1000) / 7.0;
    case K_GAUGE:
        if (r % 101 == 0)
            return NAN;
        return (double)(r % 1000) / 1000.0;
    case K_STALE:
        if (r % 53 == 0)
            return fw_stale_nan();
        if (r % 41 == 0)
            return -0.0;
        return (double)(int64_t)(r % 200) - 100;
    case K_BIG: return 4503599627370496.0 + (double)(r % 4096);
    default: return (double)(r % 50);
    }
}

// Append DAYS of every kind, committing every hour of data, then seal and commit.
static void
s_load(void)
{
    fw_err_t err;
    double prev[K_N] = {0};
    struct fw_labels l[K_N];
    for (int k = 0; k < K_N; k++) {
        l[k] = (struct fw_labels)FW_LABELS_INIT;
        fw_labels_set(&l[k], "__name__", s_names[k]);
        fw_labels_set(&l[k], "job", "rollup");
        fw_labels_set(&l[k], "kind", s_names[k]);
    }
    size_t n = (size_t)(DAYS * 24 * 240);
    for (size_t i = 0; i < n; i++) {
        int64_t t = T0 + 7 + (int64_t)i * 15000 + (int64_t)(s_rand() % 5);
        bool gap = (i / 240) % 17 == 5 || ((i / 240) % 29 == 11 && (i % 240) < 100);
        for (int k = 0; k < K_N && !gap; k++) {
            if (k == K_SPARSE && i % 480 != 3)
                continue;
            double v = s_next(k, prev[k], i);
            if (!fw_sample_is_stale(v))
                prev[k] = v;
            struct fw_sample smp = {t, v};
            // plain ifs in the loaders and comparisons: a passing ck_assert is a write to
            // Check's pipe, and they go over hundreds of thousands of samples
            if (tsdb_store_append_series(s_st, &l[k], &smp, 1, NULL, &err) != 0)
                ck_abort_msg("append %s sample %zu: %s", s_names[k], i, err.msg);
        }
        if (i % 240 == 239)
            ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "%s", err.msg);
    }
    tsdb_store_seal_all(s_st);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "%s", err.msg);
    for (int k = 0; k < K_N; k++)
        fw_labels_clear(&l[k]);
}

#define S_KEEP ((int64_t)1 << 62) // a retention longer than any test's span

// Run the writer until idle with the levels kept keep5m and keep1h (0: off); the buckets
// it wrote.
static uint64_t
s_rollup_keep(int64_t now_ms, int64_t keep5m, int64_t keep1h)
{
    fw_err_t err;
    tsdb_rollup_t *r = tsdb_rollup_new(s_st, (const int64_t[TSDB_ROLLUP_LEVELS]){keep5m, keep1h});
    int on = -1;
    ck_assert_msg(tsdb_rollup_levels(r, &on, &err) == 0, "%s", err.msg);
    ck_assert_int_eq(on, (keep5m > 0) + (keep1h > 0));
    ck_assert_msg(tsdb_rollup_run(r, now_ms, &err) == 0, "%s", err.msg);
    struct tsdb_rollup_counters c;
    tsdb_rollup_counters(r, &c);
    ck_assert_uint_eq(c.failures, 0);
    tsdb_rollup_destroy(&r);
    return c.buckets;
}

// The writer with the 5m level kept keep5m (0: for the test's span), the 1h one for good.
static void
s_rollup(int64_t now_ms, int64_t keep5m)
{
    s_rollup_keep(now_ms, keep5m > 0 ? keep5m : S_KEEP, S_KEEP);
}

// Evaluate q over [start, end] by step (step 0: instant at start) with or without rollups.
static void
s_eval(const char *q, int64_t start, int64_t end, int64_t step, bool raw,
       struct tsdb_eval_result *out, int64_t *samples)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    ck_assert_msg(e != NULL, "%s: %s", q, err.msg);
    struct tsdb_eval_stats st = {0};
    struct tsdb_eval_limit lim = {.stats = &st, .no_rollups = raw, .delay_names = s_delay};
    int rc = step == 0 ? tsdb_eval_instant(s_st, e, start, &lim, out, &err)
                       : tsdb_eval_range(s_st, e, start, end, step, &lim, out, &err);
    ck_assert_msg(rc == 0, "%s: %s", q, err.msg);
    fw_promql_expr_destroy(&e);
    *samples = st.rollup_buckets;
}

// q with and without rollups: the same answer bit for bit. *roll_s, *raw_s: the stored
// rollup buckets each read (the raw one none).
static void
s_same(const char *q, int64_t start, int64_t end, int64_t step, int64_t *roll_s, int64_t *raw_s)
{
    struct tsdb_eval_result a, b;
    s_eval(q, start, end, step, false, &a, roll_s);
    s_eval(q, start, end, step, true, &b, raw_s);
    ck_assert_int_eq(a.type, b.type);
    ck_assert_msg(a.len == b.len, "%s: %zu series with rollups, %zu raw", q, a.len, b.len);
    for (size_t k = 0; k < a.len; k++) {
        ck_assert_int_eq(fw_labels_cmp(&a.series[k].labels, &b.series[k].labels), 0);
        ck_assert_msg(a.series[k].len == b.series[k].len, "%s series %zu: %zu points, raw %zu", q,
                      k, a.series[k].len, b.series[k].len);
        for (size_t i = 0; i < a.series[k].len; i++) {
            const struct fw_sample *x = &a.series[k].pts[i], *y = &b.series[k].pts[i];
            if (x->t_ms != y->t_ms || memcmp(&x->v, &y->v, 8) != 0)
                ck_abort_msg("%s series %zu point %zu: %.17g at %lld, raw %.17g at %lld", q, k, i,
                             x->v, (long long)x->t_ms, y->v, (long long)y->t_ms);
        }
    }
    tsdb_eval_result_clear(&a);
    tsdb_eval_result_clear(&b);
}

static const char *const s_funcs[] = {
    "count_over_time",
    "sum_over_time",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "first_over_time",
    "last_over_time",
    "present_over_time",
    "increase",
    "rate",
    "delta",
    "resets",
    "changes",
    "ts_of_first_over_time",
    "ts_of_last_over_time",
};

// Every function over every series, at hour steps over ranges of 1h, 3h and 1d, at 5m
// steps over 5m and 10m, and off the boundaries (raw): all equal. *used counts the queries
// that read stored buckets.
static void
s_all_same(int *used, int *total)
{
    static const struct {
        const char *range;
        int64_t step, off;
    } rs[] = {
        {"1h]", H_MS, 0},    {"3h]", H_MS, 0},    {"1d]", H_MS, 0},           {"5m]", 300000, 0},
        {"10m]", 300000, 0}, {"1h]", H_MS, 7000}, {"1h] offset 5m", H_MS, 0},
    };
    for (size_t f = 0; f < sizeof(s_funcs) / sizeof(*s_funcs); f++)
        for (size_t r = 0; r < sizeof(rs) / sizeof(*rs); r++) {
            char q[160];
            snprintf(q, sizeof(q), "%s({job=\"rollup\"}[%s)", s_funcs[f], rs[r].range);
            int64_t a, b;
            int64_t end = rs[r].step == H_MS ? T0 + DAYS * 24 * H_MS : T0 + 10 * H_MS;
            s_same(q, T0 + rs[r].off, end + rs[r].off, rs[r].step, &a, &b);
            (*total)++;
            ck_assert_int_eq(b, 0);
            if (a > 0)
                (*used)++;
        }
}

START_TEST(test_tsdb_rollup_same_answers)
{
    s_load();
    int used = 0, total = 0;
    s_all_same(&used, &total); // before any rollup: the raw path both ways
    ck_assert_int_eq(used, 0);
    s_rollup(T0 + DAYS * 24 * H_MS, 0);
    used = total = 0;
    s_all_same(&used, &total);
    // every aligned query over ranges of a bucket or more loads fewer samples; the off-
    // boundary ones (1 of 7 per function) read raw
    ck_assert_msg(used == total - (int)(sizeof(s_funcs) / sizeof(*s_funcs)), "%d of %d", used,
                  total);
    // instant queries on and off the boundaries, @ and offset, and a nested call
    int64_t a, b;
    s_same("max_over_time(c_int[1d] @ 1700006400)", T0 + 30 * H_MS, 0, 0, &a, &b);
    s_same("increase(c_int[2h])", T0 + 30 * H_MS, 0, 0, &a, &b);
    ck_assert_int_gt(a, 0);
    s_same("increase(c_int[2h])", T0 + 30 * H_MS + 1, 0, 0, &a, &b);
    ck_assert_int_eq(a, 0);
    s_same("sum by (job) (rate(c_int[1h]))", T0, T0 + DAYS * 24 * H_MS, H_MS, &a, &b);
    s_same("max_over_time(rate(c_int[5m])[1h:5m])", T0, T0 + 12 * H_MS, H_MS, &a, &b);
    // a range query whose steps land on the buckets' boundaries only now and then reads raw
    // throughout (the raw samples are read for the other steps anyway); at 5m steps it
    // reads buckets, and with @ every step reads them (the ref does not move)
    s_same("rate(c_int[5m])", T0, T0 + 2 * H_MS, 60000, &a, &b);
    ck_assert_int_eq(a, 0);
    s_same("rate(c_int[1h])", T0, T0 + 2 * H_MS, 300000, &a, &b);
    ck_assert_int_gt(a, 0);
    s_same("rate(c_int[1h] @ 1700006400)", T0, T0 + 2 * H_MS, 60000, &a, &b);
    ck_assert_int_gt(a, 0);
    s_delay = true; // Prometheus 3's delayed name removal: the same
    s_same("sum by (__name__) (last_over_time(c_int[1h]) + increase(c_int[1h]))", T0,
           T0 + 12 * H_MS, H_MS, &a, &b);
    ck_assert_int_gt(a, 0);
    s_delay = false;
}
END_TEST

// A late sample (out-of-order window) merged into a sealed chunk whose rollups were written,
// and delete_series: the answers stay the raw ones before and after the writer catches up.
START_TEST(test_tsdb_rollup_late_and_deleted)
{
    fw_err_t err;
    s_load();
    int64_t end = T0 + DAYS * 24 * H_MS;
    s_rollup(end, 0);
    const char *q = "sum_over_time(c_int[1h])";
    int64_t a, b;
    s_same(q, T0, end, H_MS, &a, &b);
    ck_assert_int_gt(a, 0);
    tsdb_store_set_ooo_window(s_st, 3 * 24 * H_MS);
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "c_int");
    fw_labels_set(&l, "job", "rollup");
    fw_labels_set(&l, "kind", "c_int");
    struct fw_sample late = {T0 + 10 * H_MS + 1234, 1e6};
    struct tsdb_store_stats st = {0};
    ck_assert_int_eq(tsdb_store_append_series(s_st, &l, &late, 1, &st, &err), 0);
    ck_assert_uint_eq(st.late, 1);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "%s", err.msg);
    s_same(q, T0, end, H_MS, &a, &b);
    s_same("max_over_time(c_int[1h])", T0, end, H_MS, &a, &b);
    s_rollup(end, 0);
    s_same(q, T0, end, H_MS, &a, &b);
    s_same("max_over_time(c_int[1h])", T0, end, H_MS, &a, &b);
    ck_assert_int_gt(a, 0);

    // delete_series over a span, then clean_tombstones
    tsdb_store_reader_t *r = tsdb_store_reader_new(s_st, &err);
    uint64_t *ids;
    size_t n;
    struct fw_matcher m;
    ck_assert_int_eq(fw_matcher_init(&m, FW_MATCH_EQ, "job", "rollup", FW_REGEX_PROMETHEUS, &err),
                     0);
    ck_assert_int_eq(tsdb_store_select_ids(r, &m, 1, &ids, &n, &err), 0);
    tsdb_store_reader_destroy(&r);
    ck_assert_int_eq(
        tsdb_store_delete_series(s_st, ids, n, T0 + 20 * H_MS + 5, T0 + 23 * H_MS, &err), 0);
    int used = 0, total = 0;
    s_all_same(&used, &total);
    s_rollup(end, 0);
    s_all_same(&used, &total);
    size_t cleaned;
    ck_assert_int_eq(tsdb_store_clean_tombstones(s_st, &cleaned, &err), 0);
    s_all_same(&used, &total);
    s_same("count_over_time(c_int[2h])", T0 + 24 * H_MS, 0, 0, &a, &b);
    ck_assert_int_gt(a, 0);
    free(ids);
    fw_matcher_clear(&m);
    fw_labels_clear(&l);
}
END_TEST

// The levels' own retention, and series removal: rollups go with their series.
START_TEST(test_tsdb_rollup_retention)
{
    fw_err_t err;
    s_load();
    int64_t end = T0 + DAYS * 24 * H_MS;
    // 5m rollups kept 12h: older 5m buckets are read raw, the answers stay equal
    s_rollup(end, 12 * H_MS);
    int64_t a, b;
    s_same("max_over_time(c_int[10m])", T0, end, 300000, &a, &b);
    s_same("max_over_time(c_int[10m])", end - 6 * H_MS, end, 300000, &a, &b);
    ck_assert_int_gt(a, 0);
    tsdb_store_reader_t *r = tsdb_store_reader_new(s_st, &err);
    int64_t cut, w;
    ck_assert_int_eq(tsdb_rollup_cut(r, 0, &cut), 0);
    ck_assert_int_eq(cut, end - 12 * H_MS);
    ck_assert_int_eq(tsdb_rollup_cut(r, 1, &cut), 0);
    ck_assert_int_eq(cut, INT64_MIN);
    ck_assert_int_eq(tsdb_rollup_mark(r, 1, &w), 0);
    ck_assert_int_gt(w, end - H_MS);
    tsdb_store_reader_destroy(&r);
    // raw retention removes everything (nothing newer than the cutoff): the series leave
    // the index and their rollups with them
    size_t deleted;
    tsdb_store_head_gc(s_st, INT64_MAX);
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(tsdb_store_delete_before(s_st, end + H_MS, 1000, &deleted, &err), 0);
        if (deleted == 0)
            break;
    }
    r = tsdb_store_reader_new(s_st, &err);
    for (uint64_t id = 1; id <= K_N; id++) {
        ck_assert_int_eq(tsdb_rollup_mark(r, id, &w), 0);
        ck_assert_int_eq(w, INT64_MIN);
    }
    tsdb_store_reader_destroy(&r);
}
END_TEST

// Rollups kept longer than the raw chunks answer for the time the chunks no longer cover:
// the answers raw samples gave before retention deleted them.
START_TEST(test_tsdb_rollup_outlive_raw)
{
    fw_err_t err;
    s_load();
    int64_t end = T0 + DAYS * 24 * H_MS;
    s_rollup(end, 0);
    const char *q = "max_over_time(c_int[12h])";
    struct tsdb_eval_result before, after, raw;
    int64_t n;
    s_eval(q, T0 + 12 * H_MS, 0, 0, true, &before, &n);
    ck_assert_uint_eq(before.len, 1);
    size_t deleted = 0, total = 0;
    for (int i = 0; i < 100; i++) { // the first day's chunks
        ck_assert_int_eq(tsdb_store_delete_before(s_st, T0 + 24 * H_MS, 1000, &deleted, &err), 0);
        total += deleted;
        if (deleted == 0)
            break;
    }
    ck_assert_uint_gt(total, 0);
    s_eval(q, T0 + 12 * H_MS, 0, 0, true, &raw, &n);
    ck_assert_uint_eq(raw.len, 0); // gone from the chunks
    s_eval(q, T0 + 12 * H_MS, 0, 0, false, &after, &n);
    ck_assert_int_gt(n, 0);
    ck_assert_uint_eq(after.len, 1);
    ck_assert_uint_eq(after.series[0].len, 1);
    ck_assert(memcmp(&after.series[0].pts[0], &before.series[0].pts[0], sizeof(struct fw_sample)) ==
              0);
    tsdb_eval_result_clear(&before);
    tsdb_eval_result_clear(&after);
    tsdb_eval_result_clear(&raw);
}
END_TEST

// A damaged page (here: an unknown version) is reported and its buckets computed raw.
// Close the store and open its data.mdb's rollups database with LMDB (flags 0 or
// MDB_RDONLY): a cursor in a transaction of *env.
static MDB_cursor *
s_rollups_open(unsigned flags, MDB_env **env, MDB_txn **txn)
{
    tsdb_store_destroy(&s_st);
    MDB_dbi ru;
    MDB_cursor *cur;
    ck_assert_int_eq(mdb_env_create(env), 0);
    mdb_env_set_maxdbs(*env, 16);
    ck_assert_int_eq(mdb_env_open(*env, s_dir, flags, 0644), 0);
    ck_assert_int_eq(mdb_txn_begin(*env, NULL, flags, txn), 0);
    ck_assert_int_eq(mdb_dbi_open(*txn, "rollups", 0, &ru), 0);
    ck_assert_int_eq(mdb_cursor_open(*txn, ru, &cur), 0);
    return cur;
}

START_TEST(test_tsdb_rollup_damaged_page)
{
    s_load();
    int64_t end = T0 + DAYS * 24 * H_MS;
    s_rollup(end, 0);
    MDB_env *env;
    MDB_txn *txn;
    MDB_cursor *cur = s_rollups_open(0, &env, &txn);
    MDB_val k, v;
    int damaged = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 17 || ((const unsigned char *)k.mv_data)[8] != 1)
            continue; // every 1h page of every series
        unsigned char *copy = fw_malloc(v.mv_size);
        memcpy(copy, v.mv_data, v.mv_size);
        copy[0] = 9;
        MDB_val nv = {v.mv_size, copy};
        ck_assert_int_eq(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT), 0);
        free(copy);
        damaged++;
    }
    mdb_cursor_close(cur);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    mdb_env_close(env);
    ck_assert_int_gt(damaged, 0);
    s_st = check_util_store_open(s_dir, 0);
    int64_t a, b;
    s_same("increase(c_int[1d])", T0, end, H_MS, &a, &b);
    ck_assert_int_eq(a, 0); // every 1h page damaged: all raw
    s_same("increase(c_int[10m])", T0, T0 + 6 * H_MS, 300000, &a, &b);
    ck_assert_int_gt(a, 0); // the 5m pages are fine
    struct tsdb_store_counters c;
    tsdb_store_counters(s_st, &c);
    ck_assert_uint_gt(c.damaged_chunks, 0);
    // the writer writes the pages the queries found damaged again
    s_rollup(end, 0);
    s_same("increase(c_int[1d])", T0, end, H_MS, &a, &b);
    ck_assert_int_gt(a, 0);
    uint64_t n_damaged = c.damaged_chunks;
    tsdb_store_counters(s_st, &c);
    ck_assert_uint_eq(c.damaged_chunks, n_damaged);
}
END_TEST

// A format 4 directory (no rollups database) is upgraded at open and its rollups written
// from its chunks.
START_TEST(test_tsdb_rollup_upgrades_format_4)
{
    s_load();
    tsdb_store_destroy(&s_st);
    check_util_store_set_format(s_dir, '4', "rollups");
    s_st = check_util_store_open(s_dir, 0);
    int64_t a, b, end = T0 + DAYS * 24 * H_MS;
    s_same("increase(c_int[1d])", T0, end, H_MS, &a, &b);
    ck_assert_int_eq(a, 0); // nothing written yet: raw
    s_rollup(end, 0);
    s_same("increase(c_int[1d])", T0, end, H_MS, &a, &b);
    ck_assert_int_gt(a, 0);
    tsdb_store_destroy(&s_st);
    ck_assert_int_eq(check_util_store_format(s_dir), '6');
    ck_assert_int_eq(TSDB_STORE_FORMAT, 6);
    s_st = check_util_store_open(s_dir, 0);
}
END_TEST

// The writer's thread catches up on its own beside commits, and stops promptly.
START_TEST(test_tsdb_rollup_thread)
{
    fw_err_t err;
    s_load();
    tsdb_rollup_t *r = tsdb_rollup_new(s_st, (const int64_t[TSDB_ROLLUP_LEVELS]){S_KEEP, S_KEEP});
    ck_assert_int_eq(tsdb_rollup_start(r, 50, &err), 0);
    int64_t end = T0 + DAYS * 24 * H_MS, w = INT64_MIN;
    for (int i = 0; i < 200 && w < end - H_MS; i++) { // at most 10 s
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
        tsdb_store_reader_t *rd = tsdb_store_reader_new(s_st, &err);
        ck_assert_int_eq(tsdb_rollup_mark(rd, 1, &w), 0);
        tsdb_store_reader_destroy(&rd);
    }
    ck_assert_int_ge(w, end - H_MS);
    int64_t t0 = fw_time_mono_ms();
    tsdb_rollup_destroy(&r);
    ck_assert_int_lt(fw_time_mono_ms() - t0, 2000);
    int64_t a, b;
    s_same("rate(c_int[1d])", T0, end, H_MS, &a, &b);
    ck_assert_int_gt(a, 0);
}
END_TEST

// The rollups database's pages of each level and the groups' marks records, counted in
// data.mdb.
static void
s_keys(size_t pages[TSDB_ROLLUP_LEVELS], size_t *marks)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_cursor *cur = s_rollups_open(MDB_RDONLY, &env, &txn);
    MDB_val k, v;
    pages[0] = pages[1] = *marks = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data;
        if (k.mv_size == 17)
            pages[kp[8] & 1]++;
        else if (k.mv_size == 9 && kp[8] == 0xfe)
            (*marks)++;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    s_st = check_util_store_open(s_dir, 0);
}

static int64_t
s_cut(int level)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(s_st, &err);
    int64_t cut;
    ck_assert_int_eq(tsdb_rollup_cut(r, level, &cut), 0);
    tsdb_store_reader_destroy(&r);
    return cut;
}

// A retention of 0 turns a level off: its pages go, none are written, queries use the other
// level or raw samples (answers equal); both off: nothing at all; back on: rebuilt.
START_TEST(test_tsdb_rollup_levels_off)
{
    s_load();
    int64_t end = T0 + DAYS * 24 * H_MS;
    const int nf = (int)(sizeof(s_funcs) / sizeof(*s_funcs));
    size_t pages[2], marks;
    int used, total;
    ck_assert_uint_gt(s_rollup_keep(end, S_KEEP, S_KEEP), 0);
    s_keys(pages, &marks);
    ck_assert(pages[0] > 0 && pages[1] > 0 && marks > 0);
    // 1h off: its pages deleted; the hour-aligned calls are answered at 5m
    s_rollup_keep(end, S_KEEP, 0);
    s_keys(pages, &marks);
    ck_assert(pages[0] > 0 && pages[1] == 0 && marks > 0);
    ck_assert_int_eq(s_cut(1), TSDB_ROLLUP_OFF);
    used = total = 0;
    s_all_same(&used, &total);
    ck_assert_msg(used == total - nf, "%d of %d", used, total);
    // 5m off, 1h back on: everything rebuilt from the chunks, 1h only; 5m ranges read raw
    s_rollup_keep(end, 0, S_KEEP);
    s_keys(pages, &marks);
    ck_assert(pages[0] == 0 && pages[1] > 0 && marks > 0);
    ck_assert_int_eq(s_cut(0), TSDB_ROLLUP_OFF);
    ck_assert_int_eq(s_cut(1), INT64_MIN);
    used = total = 0;
    s_all_same(&used, &total);
    ck_assert_msg(used == 3 * nf, "%d of %d", used, total);
    // both off: no page, no mark, nothing written, every query raw and equal
    ck_assert_uint_eq(s_rollup_keep(end, 0, 0), 0);
    s_keys(pages, &marks);
    ck_assert(pages[0] == 0 && pages[1] == 0 && marks == 0);
    used = total = 0;
    s_all_same(&used, &total);
    ck_assert_int_eq(used, 0);
    // both back on: rebuilt
    ck_assert_uint_gt(s_rollup_keep(end, S_KEEP, S_KEEP), 0);
    s_keys(pages, &marks);
    ck_assert(pages[0] > 0 && pages[1] > 0 && marks > 0);
    used = total = 0;
    s_all_same(&used, &total);
    ck_assert_msg(used == total - nf, "%d of %d", used, total);
}
END_TEST

// 150 series (ids 1..150: groups 0, 1 and 2) over 4 hours at 15 s: whole counters and
// 4-decimal gauges.
#define S_NG 150
static void
s_load_many(void)
{
    fw_err_t err;
    struct fw_labels l[S_NG];
    double v[S_NG];
    for (int k = 0; k < S_NG; k++) {
        char b[16];
        snprintf(b, sizeof(b), "%d", k);
        l[k] = (struct fw_labels)FW_LABELS_INIT;
        fw_labels_set(&l[k], "__name__", k % 2 ? "grp_g" : "grp_c");
        fw_labels_set(&l[k], "job", "rollup");
        fw_labels_set(&l[k], "k", b);
        v[k] = k % 2 ? 0.5 : (double)(k * 1000);
    }
    for (int i = 0; i < 4 * 240; i++) {
        for (int k = 0; k < S_NG; k++) {
            uint64_t r = s_rand();
            v[k] = k % 2 ? round((v[k] + (double)((int)(r % 201) - 100) / 10000.0) * 1e4) / 1e4
                         : v[k] + (double)(r % 13);
            struct fw_sample smp = {T0 + 7 + (int64_t)i * 15000, v[k]};
            if (tsdb_store_append_series(s_st, &l[k], &smp, 1, NULL, &err) != 0)
                ck_abort_msg("append grp %d sample %d: %s", k, i, err.msg);
        }
        if (i % 240 == 239)
            ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "%s", err.msg);
    }
    tsdb_store_seal_all(s_st);
    ck_assert_msg(tsdb_store_commit(s_st, &err) == 0, "%s", err.msg);
    for (int k = 0; k < S_NG; k++)
        fw_labels_clear(&l[k]);
}

static void
s_many_same(void)
{
    static const char *const q[] = {"increase(grp_c[1h])",        "avg_over_time(grp_c[1h])",
                                    "max_over_time(grp_g[1h])",   "changes(grp_g[5m])",
                                    "first_over_time(grp_g[1h])", "resets(grp_c[5m])"};
    for (size_t i = 0; i < sizeof(q) / sizeof(*q); i++) {
        int64_t a, b, step = strstr(q[i], "[5m]") ? 300000 : H_MS;
        s_same(q[i], T0 + H_MS, T0 + 4 * H_MS, step, &a, &b);
        ck_assert_msg(a > 0, "%s read no stored bucket", q[i]);
    }
}

// Rollups are kept a record per group of 64 series, page span and level (and one marks
// record per group), not one per series: 150 series of 4 hours (every bucket in one page
// span per level) take 3 pages of each level and 3 marks records (format 5 took 150 of
// each); answers stay the raw ones.
START_TEST(test_tsdb_rollup_group_records)
{
    s_load_many();
    ck_assert_uint_gt(s_rollup_keep(T0 + 4 * H_MS, S_KEEP, S_KEEP), 0);
    size_t pages[2], marks;
    s_keys(pages, &marks);
    int64_t span1 = 72 * H_MS, p1 = tsdb_rollup_floor(T0, span1);
    size_t spans1 = tsdb_rollup_floor(T0 + 4 * H_MS - 1, span1) == p1 ? 1 : 2;
    ck_assert_uint_eq(pages[0], 3);
    ck_assert_uint_eq(pages[1], 3 * spans1);
    ck_assert_uint_eq(marks, 3);
    s_many_same();
}
END_TEST

// A format 5 directory (a record per series page, a mark per series: (u64 id, 0xff) -> W)
// is upgraded at open into groups, byte for byte: the marks are kept (the writer then has
// nothing to do) and queries read the same buckets with the same answers.
START_TEST(test_tsdb_rollup_upgrades_format_5)
{
    fw_err_t err;
    s_load_many();
    s_rollup_keep(T0 + 4 * H_MS, S_KEEP, S_KEEP);
    int64_t w_before[S_NG + 1];
    tsdb_store_reader_t *rd = tsdb_store_reader_new(s_st, &err);
    for (uint64_t id = 1; id <= S_NG; id++)
        ck_assert_int_eq(tsdb_rollup_mark(rd, id, &w_before[id]), 0);
    tsdb_store_reader_destroy(&rd);
    ck_assert_int_gt(w_before[S_NG], INT64_MIN);
    // rewrite the rollups as format 5 keeps them
    MDB_env *env;
    MDB_txn *txn;
    MDB_cursor *cur = s_rollups_open(0, &env, &txn); // closes the store
    struct {
        unsigned char key[17];
        size_t klen, vlen;
        unsigned char *val;
    } rec[64];
    size_t n = 0, old_pages = 0;
    MDB_val k, v;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data;
        if (k.mv_size == 9 && kp[8] < TSDB_ROLLUP_LEVELS)
            continue; // a cut: stays
        ck_assert_uint_lt(n, 64);
        memcpy(rec[n].key, k.mv_data, k.mv_size);
        rec[n].klen = k.mv_size;
        rec[n].vlen = v.mv_size;
        rec[n].val = fw_malloc(v.mv_size);
        memcpy(rec[n].val, v.mv_data, v.mv_size);
        n++;
    }
    mdb_cursor_close(cur);
    MDB_dbi ru;
    ck_assert_int_eq(mdb_dbi_open(txn, "rollups", 0, &ru), 0);
    for (size_t r = 0; r < n; r++) {
        MDB_val dk = {rec[r].klen, rec[r].key};
        ck_assert_int_eq(mdb_del(txn, ru, &dk, NULL), 0);
    }
    for (size_t r = 0; r < n; r++) {
        uint64_t g = fw_bytes_get_u64be(rec[r].key);
        if (rec[r].klen == 9) { // a group's marks: one (id, 0xff) record each
            int64_t m[TSDB_ROLLUP_GROUP];
            ck_assert_int_eq(tsdb_rollup_marks_decode(rec[r].val, rec[r].vlen, m), 0);
            for (unsigned sl = 0; sl < TSDB_ROLLUP_GROUP; sl++) {
                if (m[sl] == INT64_MIN)
                    continue;
                unsigned char mk[9], mv[8];
                fw_bytes_put_u64be(mk, g * TSDB_ROLLUP_GROUP + sl);
                mk[8] = 0xff;
                fw_bytes_put_le(mv, (uint64_t)m[sl], 8);
                MDB_val a = {9, mk}, b = {8, mv};
                ck_assert_int_eq(mdb_put(txn, ru, &a, &b, 0), 0);
            }
        } else { // a group page: one page per series
            struct tsdb_rollup_group gp;
            ck_assert_int_eq(tsdb_rollup_group_parse(rec[r].val, rec[r].vlen, &gp), 0);
            for (unsigned i = 0; i < gp.n; i++) {
                unsigned char pk[17];
                memcpy(pk, rec[r].key, 17);
                fw_bytes_put_u64be(pk, g * TSDB_ROLLUP_GROUP + gp.slot[i]);
                MDB_val a = {17, pk}, b = {gp.len[i], rec[r].val + gp.off[i]};
                ck_assert_int_eq(mdb_put(txn, ru, &a, &b, 0), 0);
                old_pages++;
            }
        }
        free(rec[r].val);
    }
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    // LMDB leaves pages this transaction allocated and freed again past the file's end
    // (tsdb_store_int_rollup_cover): cover them as tsdb does
    MDB_envinfo info;
    ck_assert_int_eq(mdb_env_info(env, &info), 0);
    mdb_env_close(env);
    char path[160];
    snprintf(path, sizeof(path), "%s/data.mdb", s_dir);
    struct stat fs;
    ck_assert_int_eq(stat(path, &fs), 0);
    if ((size_t)fs.st_size < (info.me_last_pgno + 1) * 4096)
        ck_assert_int_eq(truncate(path, (off_t)((info.me_last_pgno + 1) * 4096)), 0);
    ck_assert_uint_ge(old_pages, 2 * S_NG);
    check_util_store_set_format(s_dir, '5', NULL);
    // opened: upgraded; nothing for the writer to do; the same marks and answers
    s_st = check_util_store_open(s_dir, 0);
    rd = tsdb_store_reader_new(s_st, &err);
    for (uint64_t id = 1; id <= S_NG; id++) {
        int64_t w;
        ck_assert_int_eq(tsdb_rollup_mark(rd, id, &w), 0);
        ck_assert_int_eq(w, w_before[id]);
    }
    tsdb_store_reader_destroy(&rd);
    s_many_same();
    ck_assert_uint_eq(s_rollup_keep(T0 + 4 * H_MS, S_KEEP, S_KEEP), 0);
    size_t pages[2], marks;
    s_keys(pages, &marks);
    ck_assert_uint_eq(pages[0], 3);
    ck_assert_uint_eq(marks, 3);
    tsdb_store_destroy(&s_st);
    ck_assert_int_eq(check_util_store_format(s_dir), '6');
    s_st = check_util_store_open(s_dir, 0);
}
END_TEST

Suite *
tsdb_rollup_suite(void)
{
    Suite *s = suite_create("tsdb_rollup");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tsdb_rollup_same_answers);
    tcase_add_test(tc, test_tsdb_rollup_late_and_deleted);
    tcase_add_test(tc, test_tsdb_rollup_retention);
    tcase_add_test(tc, test_tsdb_rollup_outlive_raw);
    tcase_add_test(tc, test_tsdb_rollup_damaged_page);
    tcase_add_test(tc, test_tsdb_rollup_upgrades_format_4);
    tcase_add_test(tc, test_tsdb_rollup_thread);
    tcase_add_test(tc, test_tsdb_rollup_levels_off);
    tcase_add_test(tc, test_tsdb_rollup_group_records);
    tcase_add_test(tc, test_tsdb_rollup_upgrades_format_5);
    suite_add_tcase(s, tc);
    return s;
}
