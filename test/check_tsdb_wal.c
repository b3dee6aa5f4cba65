/*  check_tsdb_wal.c — the write-ahead log: its record codec (bit-exact values, any
    timestamps, every truncation refused), and the store with the log on, on real LMDB
    files under test/tmp: commits between checkpoints write log records and no open chunk,
    a reopen after a SIGKILL-like close replays them (every committed sample back, nothing
    twice), a checkpoint empties the log, readers see what was appended, a reader older
    than the commit that stored a sealed chunk still finds the chunk's samples (in the
    head) and a newer one finds them once, and a format 2 directory is upgraded in place.
*/
#include <check.h>
#include <lmdb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "fw_mem.h"
#include "check_util.h"
#include "../tsdb/tsdb_store.h"
#include "../tsdb/tsdb_wal.h"

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

static char s_saved_dir[128]; // a second directory a test may make; removed here too

static void
s_teardown(void)
{
    check_util_tmpdir_teardown();
    if (s_saved_dir[0])
        ck_assert_int_eq(check_util_tmpdir_remove(s_saved_dir), 0);
    s_saved_dir[0] = '\0';
}

static uint64_t
s_bits(double v)
{
    uint64_t b;
    memcpy(&b, &v, sizeof(b));
    return b;
}

// --- the codec ---

START_TEST(test_tsdb_wal_codec_round_trip_and_truncation)
{
    const double stale = (union {
                             uint64_t u;
                             double d;
                         }){0x7ff0000000000002ULL}
                             .d;
    struct fw_sample a[] = {{1700000000000, 1.5},
                            {1700000015000, stale},
                            {INT64_MIN, -0.0},
                            {INT64_MAX, INFINITY},
                            {-5, NAN},
                            {0, -INFINITY}};
    struct fw_sample b[] = {{1700000000001, 0.1}};
    struct tsdb_wal_buf w = {0};
    tsdb_wal_add(&w, 7, a, 6);
    tsdb_wal_add(&w, UINT64_MAX, b, 1);
    tsdb_wal_add(&w, 9, b, 0); // nothing
    ck_assert_uint_eq(w.samples, 7);

    struct tsdb_wal_iter it;
    struct fw_sample *out = NULL;
    size_t cap = 0, n;
    uint64_t id;
    tsdb_wal_iter_init(&it, w.p, w.len);
    ck_assert(tsdb_wal_next(&it, &id, &out, &cap, &n));
    ck_assert_uint_eq(id, 7);
    ck_assert_uint_eq(n, 6);
    for (size_t k = 0; k < 6; k++) {
        ck_assert_int_eq(out[k].t_ms, a[k].t_ms);
        ck_assert_uint_eq(s_bits(out[k].v), s_bits(a[k].v));
    }
    ck_assert(tsdb_wal_next(&it, &id, &out, &cap, &n));
    ck_assert_uint_eq(id, UINT64_MAX);
    ck_assert_uint_eq(n, 1);
    ck_assert(!tsdb_wal_next(&it, &id, &out, &cap, &n));
    ck_assert_int_eq(tsdb_wal_iter_err(&it), 0);

    // every shorter record ends in an error (after the whole entries it holds), never a
    // read past its end (ASan watches)
    for (size_t len = 0; len < w.len; len++) {
        unsigned char *cut = fw_malloc(len ? len : 1);
        memcpy(cut, w.p, len);
        tsdb_wal_iter_init(&it, cut, len);
        size_t entries = 0;
        while (tsdb_wal_next(&it, &id, &out, &cap, &n))
            entries++;
        // a cut at an entry's end (the version byte alone, or after the first entry) is a
        // shorter valid record; any other cut is an error
        bool boundary = len == 1 || entries == 1;
        ck_assert_msg(tsdb_wal_iter_err(&it) != 0 || boundary, "len %zu", len);
        ck_assert_msg(tsdb_wal_iter_err(&it) == 0 || len != 1, "len %zu", len);
        ck_assert_uint_le(entries, 1);
        free(cut);
    }
    // another version
    w.p[0] = 3;
    tsdb_wal_iter_init(&it, w.p, w.len);
    ck_assert(!tsdb_wal_next(&it, &id, &out, &cap, &n));
    ck_assert_int_eq(tsdb_wal_iter_err(&it), FW_EPARSE);
    free(out);
    tsdb_wal_buf_clear(&w);
}
END_TEST

// A commit's samples past TSDB_WAL_RECORD_MAX go in several records, each read alone; a
// series' samples that do not fit are split over two; a reset buffer starts one record again
// (reused from commit to commit, whatever their sizes).
START_TEST(test_tsdb_wal_codec_records_bounded)
{
    enum { S_SERIES = 12000, S_LONG = 20000 };
    struct fw_sample *a = fw_malloc(S_LONG * sizeof(*a));
    int64_t *sts = fw_malloc(S_LONG * sizeof(*sts));
    for (size_t k = 0; k < S_LONG; k++) {
        a[k] = (struct fw_sample){1700000000000 + (int64_t)k * 15000, (double)k + 0.5};
        sts[k] = k % 3 ? 1699999999000 : 0;
    }
    struct tsdb_wal_buf w = {0};
    struct fw_sample *out = NULL;
    int64_t *st = NULL;
    size_t cap = 0, st_cap = 0, n;
    uint64_t id;
    for (int round = 0; round < 3; round++) {
        // round 0 and 2: many series of one sample, one long series, start times; round 1
        // a small commit in the same buffer
        size_t series = round == 1 ? 3 : S_SERIES;
        for (size_t s = 0; s < series; s++)
            tsdb_wal_add(&w, s + 1, &a[s % 7], 1);
        if (round != 1) {
            tsdb_wal_add(&w, 999999, a, S_LONG);
            tsdb_wal_add_st(&w, 777777, a, sts, S_LONG);
        }
        size_t nrec = tsdb_wal_buf_records(&w);
        ck_assert_uint_eq(nrec > 1, round != 1);
        // every record is at most the bound and reads alone; together they hold every
        // sample in order (a series split over records comes as two entries)
        size_t next_series = 0, long_got = 0, st_got = 0, total = 0;
        for (size_t r = 0; r < nrec; r++) {
            size_t len;
            const unsigned char *p = tsdb_wal_buf_record(&w, r, &len);
            ck_assert_uint_le(len, TSDB_WAL_RECORD_MAX);
            ck_assert_uint_gt(len, 1);
            struct tsdb_wal_iter it;
            tsdb_wal_iter_init(&it, p, len);
            while (tsdb_wal_next_st(&it, &id, &out, &cap, &st, &st_cap, &n)) {
                total += n;
                if (id == 999999 || id == 777777) {
                    size_t *got = id == 999999 ? &long_got : &st_got;
                    // plain ifs: a passing ck_assert is a write to Check's pipe
                    for (size_t k = 0; k < n; k++)
                        if (out[k].t_ms != a[*got + k].t_ms || out[k].v != a[*got + k].v ||
                            st[k] != (id == 777777 ? sts[*got + k] : 0))
                            ck_abort_msg("round %d series %llu sample %zu: t %lld v %g st %lld",
                                         round, (unsigned long long)id, *got + k,
                                         (long long)out[k].t_ms, out[k].v, (long long)st[k]);
                    *got += n;
                    continue;
                }
                if (id != ++next_series || n != 1 || out[0].t_ms != a[(id - 1) % 7].t_ms)
                    ck_abort_msg("round %d: series %llu (want %zu), %zu samples, t %lld", round,
                                 (unsigned long long)id, next_series, n, (long long)out[0].t_ms);
            }
            ck_assert_int_eq(tsdb_wal_iter_err(&it), 0);
        }
        ck_assert_uint_eq(next_series, series);
        ck_assert_uint_eq(long_got, round == 1 ? 0 : S_LONG);
        ck_assert_uint_eq(st_got, round == 1 ? 0 : S_LONG);
        ck_assert_uint_eq(total, w.samples);
        tsdb_wal_buf_reset(&w);
        ck_assert_uint_eq(tsdb_wal_buf_records(&w), 0);
    }
    free(out);
    free(st);
    free(a);
    free(sts);
    tsdb_wal_buf_clear(&w);
}
END_TEST

// --- the store with the log on ---

static tsdb_store_t *
s_open_wal(void)
{
    tsdb_store_t *st = tsdb_store_new();
    tsdb_store_set_mapsize(st, (size_t)64 << 20);
    tsdb_store_set_wal(st, true, 0);
    fw_err_t err;
    ck_assert_msg(tsdb_store_open(st, s_dir, &err) == 0, "open: %s", err.msg);
    return st;
}

// Sample k of series s: t = k * 1000, a value that tells them apart.
static void
s_append(tsdb_store_t *st, int s, int k)
{
    struct fw_labels l = FW_LABELS_INIT;
    char v[16];
    snprintf(v, sizeof(v), "%d", s);
    fw_labels_set(&l, "__name__", "w");
    fw_labels_set(&l, "s", v);
    struct fw_sample smp = {(int64_t)k * 1000, s * 1000.0 + k};
    fw_err_t err;
    // a plain if: the suite appends 460 thousand samples, and a passing ck_assert is a
    // write to Check's pipe
    if (tsdb_store_append_series(st, &l, &smp, 1, NULL, &err) != 0)
        ck_abort_msg("append series %d sample %d: %s", s, k, err.msg);
    fw_labels_clear(&l);
}

static void
s_commit(tsdb_store_t *st)
{
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(st, &err) == 0, "commit: %s", err.msg);
}

// Series s's samples through reader r (NULL: a new one), checked to be k = 0..n-1.
static void
s_check_series(tsdb_store_t *st, tsdb_store_reader_t *r, int s, int n)
{
    fw_err_t err;
    tsdb_store_reader_t *own = r ? NULL : tsdb_store_reader_new(st, &err);
    tsdb_store_reader_t *rd = r ? r : own;
    ck_assert_ptr_nonnull(rd);
    struct fw_matcher m[2];
    char v[16];
    snprintf(v, sizeof(v), "%d", s);
    ck_assert_int_eq(
        fw_matcher_init(&m[0], FW_MATCH_EQ, "__name__", "w", FW_REGEX_PROMETHEUS, &err), 0);
    ck_assert_int_eq(fw_matcher_init(&m[1], FW_MATCH_EQ, "s", v, FW_REGEX_PROMETHEUS, &err), 0);
    uint64_t *ids;
    size_t n_ids;
    ck_assert_int_eq(tsdb_store_select_ids(rd, m, 2, &ids, &n_ids, &err), 0);
    ck_assert_uint_eq(n_ids, 1);
    struct fw_sample *pts = NULL;
    size_t len = 0, cap = 0;
    ck_assert_int_eq(tsdb_store_samples(rd, ids[0], INT64_MIN, INT64_MAX, &pts, &len, &cap, &err),
                     0);
    ck_assert_uint_eq(len, (size_t)n);
    for (int k = 0; k < n; k++)
        if (pts[k].t_ms != (int64_t)k * 1000 || pts[k].v != s * 1000.0 + k)
            ck_abort_msg("series %d sample %d: t %lld v %g", s, k, (long long)pts[k].t_ms,
                         pts[k].v);
    free(pts);
    free(ids);
    fw_matcher_clear(&m[0]);
    fw_matcher_clear(&m[1]);
    tsdb_store_reader_destroy(&own);
}

START_TEST(test_tsdb_wal_replay_after_kill)
{
    tsdb_store_t *st = s_open_wal();
    // 3 series, 50 samples each, a commit every 10 samples: 5 log records, no checkpoint
    for (int k = 0; k < 50; k++) {
        for (int s = 0; s < 3; s++)
            s_append(st, s, k);
        if (k % 10 == 9)
            s_commit(st);
    }
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.wal_records, 5);
    ck_assert_uint_eq(c.checkpoints, 0);
    s_append(st, 0, 50); // appended, never committed: lost with the process
    tsdb_store_destroy(&st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "wal"), 5);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"), 0); // no open chunk written yet

    st = s_open_wal(); // SIGKILL-like: only commits stay; the start replays the log
    ck_assert_uint_eq(tsdb_store_head_series(st), 3);
    for (int s = 0; s < 3; s++)
        s_check_series(st, NULL, s, 50);
    // the replayed head goes on where it was: the next sample continues each series, a
    // resent one is a duplicate
    struct tsdb_store_stats stats = {0};
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "w");
    fw_labels_set(&l, "s", "1");
    fw_err_t err;
    ck_assert_int_eq(
        tsdb_store_append_series(st, &l, &(struct fw_sample){49000, 1049.0}, 1, &stats, &err), 0);
    ck_assert_uint_eq(stats.duplicates, 1);
    fw_labels_clear(&l);
    for (int s = 0; s < 3; s++)
        s_append(st, s, 50);
    s_commit(st);
    // a checkpoint writes the open chunks and empties the log
    tsdb_store_checkpoint_next(st);
    s_commit(st);
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.checkpoints, 1);
    tsdb_store_destroy(&st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "wal"), 0);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"), 3);
    st = s_open_wal();
    ck_assert_uint_eq(tsdb_store_head_series(st), 0); // nothing to replay: filled lazily
    for (int s = 0; s < 3; s++)
        s_check_series(st, NULL, s, 51);
    tsdb_store_destroy(&st);
}
END_TEST

// A whole file copied (the data file of a stopped store).
static void
s_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    ck_assert_int_eq(fclose(in), 0);
    ck_assert_int_eq(fclose(out), 0);
}

// The log database's records, read with raw LMDB: how many, and the biggest one's bytes.
static size_t
s_raw_wal(size_t *biggest)
{
    MDB_env *env = check_util_store_raw_open(s_dir);
    MDB_txn *txn;
    MDB_dbi dbi;
    MDB_cursor *cur;
    ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
    ck_assert_int_eq(mdb_dbi_open(txn, "wal", 0, &dbi), 0);
    ck_assert_int_eq(mdb_cursor_open(txn, dbi, &cur), 0);
    MDB_val k, v;
    size_t n = 0;
    *biggest = 0;
    for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
        n++;
        if (v.mv_size > *biggest)
            *biggest = v.mv_size;
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return n;
}

#define S_WIDE 12000 // series whose one sample each fill more than one log record

// Commits of different sizes in a row, one big, one small, one bigger, write records of at
// most TSDB_WAL_RECORD_MAX bytes each, and a SIGKILL-like close and reopen replays them
// all: every committed sample back once.
START_TEST(test_tsdb_wal_commit_records_bounded_and_replayed)
{
    tsdb_store_t *st = s_open_wal();
    for (int s = 0; s < S_WIDE; s++)
        s_append(st, s, 0);
    s_commit(st);
    for (int s = 0; s < 3; s++)
        s_append(st, s, 1);
    s_commit(st);
    for (int s = 3; s < S_WIDE; s++)
        s_append(st, s, 1);
    for (int s = 0; s < S_WIDE; s++)
        s_append(st, s, 2);
    s_commit(st);
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.wal_records, 3); // commits that wrote log records
    ck_assert_uint_eq(c.checkpoints, 0);
    tsdb_store_destroy(&st);
    size_t biggest, records = s_raw_wal(&biggest);
    ck_assert_uint_ge(records, 6); // 2 + 1 + 3
    ck_assert_uint_le(biggest, TSDB_WAL_RECORD_MAX);

    st = s_open_wal();
    ck_assert_uint_eq(tsdb_store_head_series(st), S_WIDE);
    for (int s = 0; s < S_WIDE; s += 997)
        s_check_series(st, NULL, s, 3);
    s_check_series(st, NULL, S_WIDE - 1, 3);
    // the next record goes after the replayed ones
    s_append(st, 5, 3);
    s_commit(st);
    tsdb_store_destroy(&st);
    ck_assert_uint_eq(s_raw_wal(&biggest), records + 1);
    st = s_open_wal();
    s_check_series(st, NULL, 5, 4);
    tsdb_store_destroy(&st);
}
END_TEST

#define S_MANY 5000 // more series than one write txn of a checkpoint takes (4096)

START_TEST(test_tsdb_wal_sliced_checkpoint_and_crash_between_slices)
{
    tsdb_store_t *st = s_open_wal();
    for (int k = 0; k < 10; k++) {
        for (int s = 0; s < S_MANY; s++)
            s_append(st, s, k);
        if (k == 4 || k == 9)
            s_commit(st);
    }
    tsdb_store_destroy(&st);
    // two commits of 25,000 samples: 3 records each
    size_t records = check_util_store_raw_entries(s_dir, "wal");
    ck_assert_uint_ge(records, 2);
    char *saved_dir = s_saved_dir, path[256], saved[256];
    check_util_tmpdir_new(s_saved_dir, sizeof(s_saved_dir), "tsdb_wal_saved");
    snprintf(path, sizeof(path), "%s/data.mdb", s_dir);
    snprintf(saved, sizeof(saved), "%s/data.mdb", saved_dir);
    s_copy_file(path, saved); // the log, no open chunk yet: the state before a checkpoint

    // a checkpoint of 5000 series takes two write txns; the second empties the log
    st = s_open_wal();
    tsdb_store_checkpoint_next(st);
    s_commit(st);
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.checkpoints, 1);
    ck_assert_uint_eq(c.commits, 1); // the slices count as one commit
    tsdb_store_destroy(&st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "wal"), 0);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"), S_MANY);
    st = s_open_wal();
    for (int s = 0; s < S_MANY; s += 7)
        s_check_series(st, NULL, s, 10);
    tsdb_store_destroy(&st);

    // A crash after the first slice: the saved log, and the open chunks of the first 4096
    // series (in key order) already written over it. Replaying the log over them stores
    // every sample once.
    MDB_env *done = check_util_store_raw_open(s_dir),
            *crashed = check_util_store_raw_open(saved_dir);
    MDB_txn *rt, *wt;
    MDB_dbi rh, wh;
    MDB_cursor *cur;
    MDB_val k, v;
    ck_assert_int_eq(mdb_txn_begin(done, NULL, MDB_RDONLY, &rt), 0);
    ck_assert_int_eq(mdb_txn_begin(crashed, NULL, 0, &wt), 0);
    ck_assert_int_eq(mdb_dbi_open(rt, "head", 0, &rh), 0);
    ck_assert_int_eq(mdb_dbi_open(wt, "head", MDB_CREATE, &wh), 0);
    ck_assert_int_eq(mdb_cursor_open(rt, rh, &cur), 0);
    size_t copied = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && copied < 4096;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), copied++)
        ck_assert_int_eq(mdb_put(wt, wh, &k, &v, 0), 0);
    ck_assert_uint_eq(copied, 4096);
    mdb_cursor_close(cur);
    mdb_txn_abort(rt);
    ck_assert_int_eq(mdb_txn_commit(wt), 0);
    mdb_env_close(done);
    mdb_env_close(crashed);
    s_copy_file(saved, path);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "wal"), records);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"), 4096);
    st = s_open_wal();
    for (int s = 0; s < S_MANY; s++)
        s_check_series(st, NULL, s, 10);
    tsdb_store_destroy(&st);
}
END_TEST

// The last committed write txn of the (closed) store in s_dir, read with raw LMDB.
static size_t
s_raw_last_txn(void)
{
    MDB_env *env = check_util_store_raw_open(s_dir);
    MDB_envinfo info;
    ck_assert_int_eq(mdb_env_info(env, &info), 0);
    mdb_env_close(env);
    return info.me_last_txnid;
}

// 3000 series cut their chunks in the same scrape: a commit stores the 3000 sealed chunks in
// write txns of 1024 (LMDB keeps the dirty pages of its largest txn allocated for good, and
// each chunk dirties about one leaf page), after the log record; every sample is stored
// once, also across a SIGKILL-like close before the next checkpoint.
START_TEST(test_tsdb_wal_sealed_chunks_in_slices)
{
    enum { N = 3000 };
    tsdb_store_t *st = s_open_wal();
    for (int k = 0; k < 119; k++) {
        for (int s = 0; s < N; s++)
            s_append(st, s, k);
        if (k % 40 == 39 || k == 118)
            s_commit(st); // log records; the new series into the index
    }
    tsdb_store_destroy(&st);
    size_t before = s_raw_last_txn();
    st = s_open_wal(); // replays the log: 119 samples a series
    for (int s = 0; s < N; s++)
        s_append(st, s, 119); // the 120th: every chunk is sealed
    s_commit(st);
    tsdb_store_destroy(&st);
    ck_assert_uint_eq(s_raw_last_txn() - before, 3); // the log record and 1024, then 1024, 952
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), N);
    st = s_open_wal();
    for (int s = 0; s < N; s += 7)
        s_check_series(st, NULL, s, 120);
    for (int s = 0; s < N; s++)
        s_append(st, s, 120);
    s_commit(st);
    tsdb_store_destroy(&st);
    st = s_open_wal();
    for (int s = 0; s < N; s += 7)
        s_check_series(st, NULL, s, 121);
    tsdb_store_destroy(&st);
}
END_TEST

// KiB of dir/data.mdb resident in this process's mapping (smaps "Rss"), and the file's size.
static size_t
s_map_rss_kb(const char *dir, size_t *file_kb)
{
    char path[256], line[512];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    *file_kb = (size_t)sb.st_size / 1024;
    const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    char tail[160];
    snprintf(tail, sizeof(tail), "/%s/data.mdb\n", base);
    FILE *f = fopen("/proc/self/smaps", "r");
    ck_assert_ptr_nonnull(f);
    size_t rss = 0;
    bool in = false, seen = false;
    for (int lines = 0; lines < 1000000 && fgets(line, sizeof(line), f); lines++) {
        size_t n = strlen(line), t = strlen(tail);
        if (n > t && strcmp(line + n - t, tail) == 0) { // the mapping's header line
            in = seen = true;
            continue;
        }
        unsigned long kb;
        if (in && sscanf(line, "Rss: %lu kB", &kb) == 1) {
            rss += kb;
            in = false;
        }
    }
    fclose(f);
    ck_assert_msg(seen, "no mapping of %s in /proc/self/smaps", path);
    return rss;
}

// A commit leaves none of data.mdb's pages in the process's mapping, not even those of a
// checkpoint or of many new series: they stay in the page cache, and readers map what they
// read again (tsdb_store.h, "Memory").
START_TEST(test_tsdb_wal_commits_unmap_the_data_file)
{
    tsdb_store_t *st = s_open_wal();
    size_t file_kb, rss;
    for (int k = 0; k < 3; k++) {
        for (int s = 0; s < S_MANY; s++)
            s_append(st, s, k);
        s_commit(st); // the new series into the index (two txns), then log records
        rss = s_map_rss_kb(s_dir, &file_kb);
        ck_assert_msg(rss <= 64, "%zu KiB of %zu KiB still mapped after commit %d", rss, file_kb,
                      k);
    }
    tsdb_store_checkpoint_next(st);
    s_commit(st); // two slices: every open chunk's page copied
    rss = s_map_rss_kb(s_dir, &file_kb);
    ck_assert_uint_ge(file_kb, 1024);
    ck_assert_msg(rss <= 64, "%zu KiB of %zu KiB still mapped after a checkpoint", rss, file_kb);
    for (int s = 0; s < S_MANY; s += 97)
        s_check_series(st, NULL, s, 3);
    ck_assert_uint_gt(s_map_rss_kb(s_dir, &file_kb), rss);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_wal_readers_and_sealed_chunks)
{
    tsdb_store_t *st = s_open_wal();
    s_append(st, 0, 0);
    s_commit(st);
    fw_err_t err;
    // 130 samples: the first 120 make a chunk that is sealed, then committed after `old`
    // began, so old's snapshot lacks it (it sees what was appended before it began: the
    // batches that had ended, README "Isolation")
    for (int k = 1; k < 130; k++)
        s_append(st, 0, k);
    tsdb_store_reader_t *old = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(old);
    s_check_series(st, NULL, 0, 130); // appended, not committed: readers see it
    s_commit(st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), 1);
    s_check_series(st, old, 0, 130);  // the sealed chunk from the head
    s_check_series(st, NULL, 0, 130); // from LMDB, and not twice
    tsdb_store_reader_destroy(&old);
    // with the old reader gone the next commit frees the kept chunk; reads stay whole
    s_append(st, 0, 130);
    s_commit(st);
    s_check_series(st, NULL, 0, 131);
    // the log off (tsdb import): every commit is a checkpoint
    tsdb_store_destroy(&st);
    st = tsdb_store_new();
    fw_err_t e2;
    ck_assert_int_eq(tsdb_store_open(st, s_dir, &e2), 0); // replays the log, off from now
    s_append(st, 0, 131);
    s_commit(st);
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.checkpoints, 1);
    ck_assert_uint_eq(c.wal_records, 0);
    tsdb_store_destroy(&st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "wal"), 0);
    st = s_open_wal();
    s_check_series(st, NULL, 0, 132);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_wal_upgrades_format_2)
{
    tsdb_store_t *st = s_open_wal();
    s_append(st, 4, 0);
    tsdb_store_checkpoint_next(st);
    s_commit(st);
    tsdb_store_destroy(&st);
    // make it what format 2 wrote: format "2" and no log database
    check_util_store_set_format(s_dir, '2', "wal");

    st = s_open_wal();
    s_check_series(st, NULL, 4, 1);
    tsdb_store_destroy(&st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "wal"), 0); // created
    ck_assert_int_eq(check_util_store_format(s_dir), '0' + TSDB_STORE_FORMAT);

    // format 3 (the log, no decimal steps) is upgraded the same way, its data kept
    check_util_store_set_format(s_dir, '3', NULL);
    st = s_open_wal();
    s_check_series(st, NULL, 4, 1);
    tsdb_store_destroy(&st);
    ck_assert_int_eq(check_util_store_format(s_dir), '0' + TSDB_STORE_FORMAT);
}
END_TEST

Suite *
tsdb_wal_suite(void)
{
    Suite *s = suite_create("tsdb_wal");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, s_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_tsdb_wal_codec_round_trip_and_truncation);
    tcase_add_test(tc, test_tsdb_wal_codec_records_bounded);
    tcase_add_test(tc, test_tsdb_wal_commit_records_bounded_and_replayed);
    tcase_add_test(tc, test_tsdb_wal_replay_after_kill);
    tcase_add_test(tc, test_tsdb_wal_sliced_checkpoint_and_crash_between_slices);
    tcase_add_test(tc, test_tsdb_wal_commits_unmap_the_data_file);
    tcase_add_test(tc, test_tsdb_wal_readers_and_sealed_chunks);
    tcase_add_test(tc, test_tsdb_wal_sealed_chunks_in_slices);
    tcase_add_test(tc, test_tsdb_wal_upgrades_format_2);
    suite_add_tcase(s, tc);
    return s;
}
