/*  check_tsdb_store_read.c — tsdb's storage engine on real LMDB files under test/tmp, the
    read side and what removes data (tsdb_store_read.c, tsdb_store_retain.c,
    tsdb_store_tombs.c): iterators (seek, batches, no copy), damaged chunk records skipped
    with a report and a fault in a damaged file named, selection by every matcher kind, long
    label values, retention (whole chunks, by size, per-matcher policies), tombstones,
    sealing and the compacting copy. The write side is in check_tsdb_store.c. Some tests
    damage the files with raw LMDB calls, as an operator's tools would
    (check_util_store_raw_*).
*/
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_sample.h"
#include "check_util.h"
#include "../tsdb/tsdb_store.h"

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

// ---------------------------------------------------------------------------------------

START_TEST(test_tsdb_store_iterator_seek_and_no_copy)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    check_util_store_grid(st, "g", 0, 1000, 1000, 5);
    check_util_store_commit(st);
    uint64_t id = check_util_store_id(st, "g");
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
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    enum { N = 1000, STEP = 1000 };
    int64_t t[N];
    double v[2][N];
    for (int k = 0; k < N; k++) {
        t[k] = (int64_t)k * STEP + (k % 5 == 2 ? 3 : 0); // jitter: Rice-coded timestamps
        v[0][k] = k % 97 == 3 ? fw_stale_nan() : 10 + (double)(k % 13) * 0.25; // XOR
        v[1][k] = 10 + (double)(k % 13) * 0.25;                                // decimal
    }
    check_util_store_put(st, "x", N, t, v[0]);
    check_util_store_put(st, "d", N, t, v[1]);
    check_util_store_commit(st);
    uint64_t ids[2] = {check_util_store_id(st, "x"), check_util_store_id(st, "d")};
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
            if (it.t != t[k] || check_util_store_bits(it.v) != check_util_store_bits(v[s][k]))
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

START_TEST(test_tsdb_store_damaged_chunk_skipped_and_reported)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    check_util_store_grid(st, "d{k=\"1\"}", 0, 1000, 400, 1); // three sealed chunks and an open one
    check_util_store_grid(st, "d{k=\"2\"}", 0, 1000, 400, 2);
    check_util_store_commit(st);
    uint64_t id = check_util_store_id(st, "d{k=\"1\"}");
    tsdb_store_destroy(&st);
    check_util_store_raw_damage(s_dir, "chunks", id, "\x01\x05\x00",
                                3); // the first chunk: truncated
    // a reserved encoding, in a head record padded as tsdb writes them (8 bytes after it)
    check_util_store_raw_damage(s_dir, "head", id,
                                "\x3f\x01\x00\x00\x00\x00\x00\x00\0\0\0\0\0\0\0\x08", 16);
    st = check_util_store_open(s_dir, 0);
    struct fw_sample *p;
    size_t n = check_util_store_read(st, id, INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 240); // chunks 2 and 3 of 120; the first and the open one skipped
    ck_assert_int_eq(p[0].t_ms, 120000);
    free(p);
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.damaged_chunks, 2);
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "d{k=\"2\"}"), INT64_MIN, INT64_MAX, &p),
        400);
    free(p);
    // ingest goes on: the damaged open chunk is replaced, its time range stays closed
    struct tsdb_store_stats s =
        check_util_store_put(st, "d{k=\"1\"}", 2, (int64_t[]){350000, 400000}, (double[]){1, 2});
    ck_assert_uint_eq(s.samples, 1);
    ck_assert_uint_eq(s.out_of_order, 1);
    check_util_store_commit(st);
    ck_assert_uint_eq(check_util_store_read(st, id, 390000, INT64_MAX, &p), 1);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_fault_in_damaged_file_is_named)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    check_util_store_grid(st, "f", 0, 1000, 400, 1);
    check_util_store_commit(st);
    uint64_t id = check_util_store_id(st, "f");
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
        st = check_util_store_open(s_dir, 0);
        if (truncate(data, 8192) != 0)
            _exit(3);
        struct fw_sample *p;
        check_util_store_read(st, id, INT64_MIN, INT64_MAX, &p);
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
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    const char *series[] = {
        "up{job=\"api\",env=\"prod\",zone=\"a\"}", "up{job=\"api\",env=\"dev\"}",
        "up{job=\"db\",env=\"prod\",zone=\"b\"}",  "up{job=\"web\"}",
        "down{job=\"api\",env=\"prod\"}",
    };
    for (size_t k = 0; k < 5; k++)
        check_util_store_put(st, series[k], 1, (int64_t[]){1000}, (double[]){1});
    check_util_store_commit(st);
    ck_assert_uint_eq(check_util_store_select_count(st, "up"), 4);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{job=\"api\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{job!=\"api\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{job=~\"a.*|d.\"}"), 3);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{job!~\"a.*\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "{job=\"api\"}"), 3);
    ck_assert_uint_eq(check_util_store_select_count(st, "{__name__=~\"up|down\",env=\"prod\"}"), 3);
    // matchers that match the empty string: absent labels match as ""
    ck_assert_uint_eq(check_util_store_select_count(st, "up{zone=\"\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{zone!=\"a\"}"), 3);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{zone=~\"a|\"}"), 3);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{zone!~\"a|b\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{zone!=\"\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{zone=~\".+\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{nope=\"\"}"), 4);
    ck_assert_uint_eq(check_util_store_select_count(st, "up{nope=\"x\"}"), 0);
    ck_assert_uint_eq(
        check_util_store_select_count(st, "{env=~\"prod|dev\",job!=\"db\",zone!=\"a\"}"), 2);
    ck_assert_uint_eq(check_util_store_select_count(st, "nothing"), 0);
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
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
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
    check_util_store_commit(st);
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

START_TEST(test_tsdb_store_retention_deletes_whole_chunks)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    uint64_t gen = tsdb_store_index_gen(st);
    check_util_store_grid(st, "r{a=\"1\"}", 0, 1000, 400,
                          1); // chunks [0,119s] [120,239s] [240,359s] + open
    check_util_store_grid(st, "r{a=\"2\"}", 0, 1000, 100, 2); // only an open chunk, [0, 99s]
    check_util_store_commit(st);
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
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "r{a=\"1\"}"), INT64_MIN, INT64_MAX, &p),
        160);
    ck_assert_int_eq(p[0].t_ms, 240000); // the chunk holding the cut-off stays whole
    free(p);
    // r2 has no sample left: it left the head and the index, so label lookups no longer
    // offer it and a selector finds nothing
    ck_assert_uint_eq(check_util_store_id(st, "r{a=\"2\"}"), 0);
    ck_assert_uint_eq(s_label_values_n(st, "a"), 1);
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    ck_assert_uint_ne(tsdb_store_index_gen(st), gen); // a series was removed
    struct tsdb_store_counters c;
    tsdb_store_counters(st, &c);
    ck_assert_uint_eq(c.series_removed, 1);
    uint64_t old_id = check_util_store_id(st, "r{a=\"1\"}") + 1; // r2 was added after r1
    // it starts afresh, as a new series with a new id, when it returns
    struct tsdb_store_stats s =
        check_util_store_put(st, "r{a=\"2\"}", 1, (int64_t[]){5000}, (double[]){3});
    ck_assert_uint_eq(s.samples, 1);
    ck_assert_uint_eq(s.new_series, 1);
    check_util_store_commit(st);
    ck_assert_uint_gt(check_util_store_id(st, "r{a=\"2\"}"), old_id);
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "r{a=\"2\"}"), INT64_MIN, INT64_MAX, &p),
        1);
    free(p);
    ck_assert_uint_eq(s_label_values_n(st, "a"), 2);
    tsdb_store_destroy(&st);
    // an id once removed is not given again after a restart either
    st = check_util_store_open(s_dir, 0);
    ck_assert_uint_eq(
        check_util_store_put(st, "r{a=\"3\"}", 1, (int64_t[]){6000}, (double[]){1}).new_series, 1);
    check_util_store_commit(st);
    ck_assert_uint_gt(check_util_store_id(st, "r{a=\"3\"}"), check_util_store_id(st, "r{a=\"2\"}"));
    tsdb_store_destroy(&st);
}
END_TEST

// Retention by size: the cutoff moves forward from the oldest sample until the data takes
// less than the limit; the newest samples stay, and each series' oldest goes.
START_TEST(test_tsdb_store_retention_by_size)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    enum { S = 200, N = 2880 }; // 12 h at 15 s: 24 sealed chunks and an open one each
    char sel[32];
    for (int i = 0; i < S; i++) {
        snprintf(sel, sizeof(sel), "z{i=\"%d\"}", i);
        check_util_store_grid(st, sel, 0, 15000, N, i);
    }
    check_util_store_commit(st);
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
        size_t n =
            check_util_store_read(st, check_util_store_id(st, sel), INT64_MIN, INT64_MAX, &p);
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
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    const int64_t day = 86400000;
    check_util_store_grid(st, "ms5:oee{line=\"1\"}", 0, 60000, 3 * 1440, 1); // 3 days at 1 m
    check_util_store_grid(st, "up{job=\"x\"}", 0, 60000, 3 * 1440, 1);
    check_util_store_grid(st, "up{job=\"keep\"}", 0, 60000, 3 * 1440, 1);
    check_util_store_commit(st);
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
    size_t n = check_util_store_read(st, check_util_store_id(st, "ms5:oee{line=\"1\"}"), INT64_MIN,
                                     INT64_MAX, &p);
    ck_assert_uint_eq(n, 3 * 1440); // all kept
    free(p);
    n = check_util_store_read(st, check_util_store_id(st, "up{job=\"x\"}"), INT64_MIN, INT64_MAX,
                              &p);
    ck_assert_uint_lt(n, 1440 + 120); // the last day and the chunk holding the cutoff
    ck_assert_int_ge(p[0].t_ms, 2 * day - 120 * 60000);
    free(p);
    n = check_util_store_read(st, check_util_store_id(st, "up{job=\"keep\"}"), INT64_MIN, INT64_MAX,
                              &p);
    ck_assert_int_ge(p[0].t_ms, day - 120 * 60000);
    ck_assert_int_lt(p[0].t_ms, day + 1);
    free(p);
    // the size floor cuts through every policy
    c.floor_ms = 3 * day - 60 * 60000;
    deleted = 1;
    for (int k = 0; k < 100 && deleted > 0; k++)
        ck_assert_int_eq(tsdb_store_retain(st, &c, 100000, &deleted, &err), 0);
    n = check_util_store_read(st, check_util_store_id(st, "ms5:oee{line=\"1\"}"), INT64_MIN,
                              INT64_MAX, &p);
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
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    check_util_store_grid(st, "d{a=\"1\"}", 0, 1000, 400,
                          1); // chunks [0,119s] [120,239s] [240,359s] + open
    check_util_store_grid(st, "d{a=\"2\"}", 0, 1000, 400, 2);
    check_util_store_commit(st);
    uint64_t id1 = check_util_store_id(st, "d{a=\"1\"}"),
             id2 = check_util_store_id(st, "d{a=\"2\"}");
    fw_err_t err;
    // 100 s .. 149.5 s (a sealed chunk's end and the next one's start) and 380 s .. 389 s
    // (in the open chunk)
    ck_assert_int_eq(tsdb_store_delete_series(st, &id1, 1, 100000, 149500, &err), 0);
    ck_assert_int_eq(tsdb_store_delete_series(st, &id1, 1, 380000, 389000, &err), 0);
    struct fw_sample *p;
    size_t n = check_util_store_read(st, id1, INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 400 - 50 - 10);
    for (size_t k = 0; k < n; k++)
        ck_assert(!(p[k].t_ms >= 100000 && p[k].t_ms <= 149500) &&
                  !(p[k].t_ms >= 380000 && p[k].t_ms <= 389000));
    free(p);
    ck_assert_uint_eq(check_util_store_read(st, id2, INT64_MIN, INT64_MAX, &p),
                      400); // the other untouched
    free(p);
    // a window that starts and ends inside a deleted range
    ck_assert_uint_eq(check_util_store_read(st, id1, 110000, 140000, &p), 0);
    free(p);
    // overlapping ranges merge into one record
    ck_assert_int_eq(tsdb_store_delete_series(st, &id1, 1, 140000, 160000, &err), 0);
    ck_assert_uint_eq(check_util_store_read(st, id1, INT64_MIN, INT64_MAX, &p), 400 - 61 - 10);
    free(p);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "tombstones"), 1);

    // cleaning: the sealed chunks lose the samples on disk; the tombstone reaching into the
    // open chunk keeps the record
    size_t cleaned;
    uint64_t chunks_before = check_util_store_raw_entries(s_dir, "chunks");
    ck_assert_int_eq(tsdb_store_clean_tombstones(st, &cleaned, &err), 0);
    ck_assert_uint_eq(cleaned, 0);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "tombstones"), 1);
    ck_assert_uint_ge(check_util_store_raw_entries(s_dir, "chunks"),
                      chunks_before); // [0,119] and [120,239] rewritten
    ck_assert_uint_eq(check_util_store_read(st, id1, INT64_MIN, INT64_MAX, &p), 400 - 61 - 10);
    free(p);
    // once the series has moved on to a later open chunk, checkpointed, the record goes
    check_util_store_grid(st, "d{a=\"1\"}", 400000, 1000, 120, 1);
    tsdb_store_checkpoint_next(st);
    check_util_store_commit(st);
    ck_assert_int_eq(tsdb_store_clean_tombstones(st, &cleaned, &err), 0);
    ck_assert_uint_eq(cleaned, 1);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "tombstones"), 0);
    n = check_util_store_read(st, id1, INT64_MIN, INT64_MAX, &p);
    ck_assert_uint_eq(n, 400 - 61 - 10 + 120); // the deleted samples are gone from disk
    for (size_t k = 1; k < n; k++)
        ck_assert_int_gt(p[k].t_ms, p[k - 1].t_ms);
    free(p);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_seal_all)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    check_util_store_grid(st, "s{a=\"1\"}", 0, 1000, 50, 1);
    check_util_store_grid(st, "s{a=\"2\"}", 0, 1000, 120, 1); // sealed already
    ck_assert_uint_eq(tsdb_store_seal_all(st), 1);
    check_util_store_commit(st);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "chunks"), 2);
    ck_assert_uint_eq(check_util_store_raw_entries(s_dir, "head"), 0);
    check_util_store_grid(st, "s{a=\"1\"}", 50000, 1000, 10, 1); // a new chunk after the sealed one
    check_util_store_commit(st);
    struct fw_sample *p;
    ck_assert_uint_eq(
        check_util_store_read(st, check_util_store_id(st, "s{a=\"1\"}"), INT64_MIN, INT64_MAX, &p),
        60);
    free(p);
    tsdb_store_destroy(&st);
    st = check_util_store_open(
        s_dir, 0); // and after a restart, its newest sample comes from the sealed chunk
    struct tsdb_store_stats s =
        check_util_store_put(st, "s{a=\"2\"}", 1, (int64_t[]){100000}, (double[]){1});
    ck_assert_uint_eq(s.out_of_order, 1);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_compact_copy)
{
    tsdb_store_t *st = check_util_store_open(s_dir, 0);
    for (int k = 0; k < 30; k++) { // many small commits leave free pages behind
        char sel[32];
        snprintf(sel, sizeof(sel), "c{i=\"%d\"}", k);
        check_util_store_grid(st, sel, 0, 1000, 240, k);
        check_util_store_commit(st);
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
    ck_assert_uint_eq(check_util_store_read(copy, check_util_store_id(copy, "c{i=\"29\"}"),
                                            INT64_MIN, INT64_MAX, &pts),
                      240);
    free(pts);
    ck_assert_int_eq(tsdb_store_series_count(copy), 30);
    tsdb_store_destroy(&copy);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", dst);
    unlink(p);
    rmdir(dst);
}
END_TEST

Suite *
tsdb_store_read_suite(void)
{
    Suite *s = suite_create("tsdb_store_read");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_tsdb_store_iterator_seek_and_no_copy);
    tcase_add_test(tc, test_tsdb_store_iterator_batches);
    tcase_add_test(tc, test_tsdb_store_damaged_chunk_skipped_and_reported);
    tcase_add_test(tc, test_tsdb_store_fault_in_damaged_file_is_named);
    tcase_add_test(tc, test_tsdb_store_select_every_matcher_kind);
    tcase_add_test(tc, test_tsdb_store_long_label_values);
    tcase_add_test(tc, test_tsdb_store_retention_deletes_whole_chunks);
    tcase_add_test(tc, test_tsdb_store_retention_by_size);
    tcase_add_test(tc, test_tsdb_store_retention_policies);
    tcase_add_test(tc, test_tsdb_store_tombstones);
    tcase_add_test(tc, test_tsdb_store_seal_all);
    tcase_add_test(tc, test_tsdb_store_compact_copy);
    suite_add_tcase(s, tc);
    return s;
}
