/*  check_tsdb_index.c — the series and postings index on a real LMDB environment under
    test/tmp: add and find (hash collisions resolved by label sets), the last id, selection
    checked against a brute-force filter for every matcher kind over many series (postings
    lists long enough to span LMDB pages), label names and values, long values cut in their
    keys, damaged series records and label sets the index refuses.
*/
#include <check.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_hash.h"
#include "fw_mem.h"
#include "check_util.h"
#include "../tsdb/tsdb_index.h"

static char s_dir[128];
static MDB_env *s_env;
static tsdb_index_t s_ix;

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_index");
    ck_assert_int_eq(mdb_env_create(&s_env), 0);
    mdb_env_set_maxdbs(s_env, 8);
    mdb_env_set_mapsize(s_env, (size_t)64 << 20);
    ck_assert_int_eq(mdb_env_open(s_env, s_dir, MDB_NOTLS, 0644), 0);
    MDB_txn *txn;
    ck_assert_int_eq(mdb_txn_begin(s_env, NULL, 0, &txn), 0);
    ck_assert_int_eq(tsdb_index_open(&s_ix, txn, true), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
}

static void
s_teardown(void)
{
    mdb_env_close(s_env);
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

static MDB_txn *
s_txn(bool write)
{
    MDB_txn *txn;
    ck_assert_int_eq(mdb_txn_begin(s_env, NULL, write ? 0 : MDB_RDONLY, &txn), 0);
    return txn;
}

// The labels of test series i: job one of 5, inst unique, zone only on even i, big on some.
static void
s_series(struct fw_labels *l, int i)
{
    char v[64];
    fw_labels_clear(l);
    fw_labels_set(l, "__name__", i % 4 == 3 ? "down" : "up");
    snprintf(v, sizeof(v), "job%d", i % 5);
    fw_labels_set(l, "job", v);
    snprintf(v, sizeof(v), "host-%04d", i);
    fw_labels_set(l, "inst", v);
    if (i % 2 == 0)
        fw_labels_set(l, "zone", i % 3 == 0 ? "a" : "b");
}

enum { N = 3000 };

static void
s_fill(void)
{
    MDB_txn *txn = s_txn(true);
    struct fw_labels l = FW_LABELS_INIT;
    for (int i = 0; i < N; i++) {
        s_series(&l, i);
        ck_assert_int_eq(tsdb_index_add(&s_ix, txn, (uint64_t)i + 1, &l, fw_labels_hash(&l)), 0);
    }
    fw_labels_clear(&l);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
}

START_TEST(test_tsdb_index_add_find)
{
    struct fw_labels l = FW_LABELS_INIT, other = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "up");
    fw_labels_set(&l, "job", "a");
    fw_labels_set(&other, "__name__", "up");
    fw_labels_set(&other, "job", "b");
    MDB_txn *txn = s_txn(true);
    uint64_t id = 0;
    ck_assert_int_eq(tsdb_index_find(&s_ix, txn, &l, fw_labels_hash(&l), &id), MDB_NOTFOUND);
    ck_assert_int_eq(tsdb_index_add(&s_ix, txn, 1, &l, 42), 0);
    ck_assert_int_eq(tsdb_index_add(&s_ix, txn, 2, &other, 42), 0); // the same hash
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    txn = s_txn(false);
    ck_assert_int_eq(tsdb_index_find(&s_ix, txn, &l, 42, &id), 0);
    ck_assert_uint_eq(id, 1);
    ck_assert_int_eq(tsdb_index_find(&s_ix, txn, &other, 42, &id), 0);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(tsdb_index_last_id(&s_ix, txn, &id), 0);
    ck_assert_uint_eq(id, 2);
    ck_assert_int_eq(tsdb_index_count(&s_ix, txn), 2);
    struct fw_labels back = FW_LABELS_INIT;
    ck_assert_int_eq(tsdb_index_labels(&s_ix, txn, 2, &back), 0);
    ck_assert_int_eq(fw_labels_cmp(&back, &other), 0);
    ck_assert_int_eq(tsdb_index_labels(&s_ix, txn, 3, &back), MDB_NOTFOUND);
    mdb_txn_abort(txn);
    fw_labels_clear(&back);
    fw_labels_clear(&l);
    fw_labels_clear(&other);
}
END_TEST

static size_t
s_leaf_pages(MDB_dbi dbi, size_t *entries)
{
    MDB_txn *txn = s_txn(false);
    MDB_stat st;
    ck_assert_int_eq(mdb_stat(txn, dbi, &st), 0);
    mdb_txn_abort(txn);
    *entries = st.ms_entries;
    return st.ms_leaf_pages;
}

// Select through the index and compare with filtering every series by hand.
static void
s_check_select(const char *what, struct fw_matcher *ms, size_t n)
{
    MDB_txn *txn = s_txn(false);
    uint64_t *ids;
    size_t n_ids;
    ck_assert_int_eq(tsdb_index_select(&s_ix, txn, ms, n, &ids, &n_ids), 0);
    mdb_txn_abort(txn);
    size_t want = 0, j = 0;
    struct fw_labels l = FW_LABELS_INIT;
    for (int i = 0; i < N; i++) {
        s_series(&l, i);
        if (!fw_matchers_match(ms, n, &l))
            continue;
        want++;
        ck_assert_msg(j < n_ids && ids[j] == (uint64_t)i + 1, "%s: series %d missing", what, i);
        j++;
    }
    ck_assert_msg(n_ids == want, "%s: %zu ids, want %zu", what, n_ids, want);
    ck_assert_uint_gt(want + 1, 0);
    fw_labels_clear(&l);
    free(ids);
    for (size_t k = 0; k < n; k++)
        fw_matcher_clear(&ms[k]);
}

static struct fw_matcher
s_m(fw_match_op_t op, const char *name, const char *value)
{
    struct fw_matcher m;
    fw_err_t err;
    ck_assert_int_eq(fw_matcher_init(&m, op, name, value, FW_REGEX_PROMETHEUS, &err), 0);
    return m;
}

START_TEST(test_tsdb_index_select_matches_brute_force)
{
    s_fill();
    struct fw_matcher ms[3];
    ms[0] = s_m(FW_MATCH_EQ, "__name__", "up");
    s_check_select("name", ms, 1);
    ms[0] = s_m(FW_MATCH_EQ, "__name__", "up");
    ms[1] = s_m(FW_MATCH_EQ, "job", "job3");
    s_check_select("name and job", ms, 2);
    ms[0] = s_m(FW_MATCH_NE, "job", "job3");
    s_check_select("job !=", ms, 1);
    ms[0] = s_m(FW_MATCH_RE, "inst", "host-0(1|2).*");
    ms[1] = s_m(FW_MATCH_NRE, "job", "job[12]");
    s_check_select("regexes", ms, 2);
    ms[0] = s_m(FW_MATCH_EQ, "zone", "");
    s_check_select("zone = \"\"", ms, 1);
    ms[0] = s_m(FW_MATCH_NE, "zone", "");
    s_check_select("zone != \"\"", ms, 1);
    ms[0] = s_m(FW_MATCH_NE, "zone", "a");
    ms[1] = s_m(FW_MATCH_EQ, "__name__", "down");
    s_check_select("zone != a", ms, 2);
    ms[0] = s_m(FW_MATCH_RE, "zone", "a|");
    s_check_select("zone =~ a|", ms, 1);
    ms[0] = s_m(FW_MATCH_NRE, "zone", "b|");
    ms[1] = s_m(FW_MATCH_RE, "job", ".*4");
    ms[2] = s_m(FW_MATCH_NE, "inst", "host-0004");
    s_check_select("three kinds", ms, 3);
    ms[0] = s_m(FW_MATCH_EQ, "nope", "x");
    s_check_select("absent label", ms, 1);
    ms[0] = s_m(FW_MATCH_RE, "nope", ".*");
    s_check_select("matches everything", ms, 1);
}
END_TEST

// A batch puts its series in key order: into an empty index the pages come out full (put
// in arrival order, hashes and postings land all over their tables and LMDB splits pages in
// the middle), and a second batch whose keys fall before, among and after the stored ones
// (ids given out of order, an existing postings key, a hash shared by two series) answers
// exactly as series added one by one would.
START_TEST(test_tsdb_index_batch_in_key_order)
{
    tsdb_index_batch_t *b = tsdb_index_batch_new();
    struct fw_labels l = FW_LABELS_INIT;
    int order[N];
    for (int i = 0; i < N; i++)
        order[i] = i;
    uint32_t r = 12345;
    for (int i = N - 1; i > 0; i--) { // a fixed shuffle
        r = r * 1103515245u + 12345u;
        int j = (int)((r >> 8) % (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int half = 0; half < 2; half++) {
        MDB_txn *txn = s_txn(true);
        for (int k = 0; k < N; k++) {
            int i = order[k];
            if ((i < N / 2) != (half == 0))
                continue;
            s_series(&l, i);
            tsdb_index_batch_add(b, (uint64_t)i + 1, &l, fw_labels_hash(&l));
        }
        ck_assert_uint_eq(tsdb_index_batch_len(b), N / 2);
        ck_assert_int_eq(tsdb_index_batch_put(b, &s_ix, txn), 0);
        ck_assert_uint_eq(tsdb_index_batch_len(b), 0);
        ck_assert_int_eq(mdb_txn_commit(txn), 0);
        if (half == 0) {
            // by_hash rows are 26 bytes (8-byte key and id, 8-byte node header, 2-byte
            // pointer): a full 4 KiB page holds 156; the series rows about 60 bytes each
            size_t entries, pages = s_leaf_pages(s_ix.by_hash, &entries);
            ck_assert_uint_eq(entries, N / 2);
            ck_assert_msg(pages <= entries / 156 + 1, "by_hash: %zu pages for %zu", pages, entries);
            size_t ppages = s_leaf_pages(s_ix.postings, &entries);
            // 1,500 inst keys of about 32 bytes each fill 12 pages; the other keys hold their
            // ids in sub-databases of their own
            ck_assert_msg(ppages <= 13, "postings: %zu leaf pages", ppages);
        }
    }
    // two series under one hash, in a batch of their own, after the rest
    MDB_txn *txn = s_txn(true);
    struct fw_labels x = FW_LABELS_INIT, y = FW_LABELS_INIT;
    fw_labels_set(&x, "__name__", "up");
    fw_labels_set(&x, "inst", "collide-x");
    fw_labels_set(&y, "__name__", "up");
    fw_labels_set(&y, "inst", "collide-y");
    tsdb_index_batch_add(b, N + 2, &y, 7);
    tsdb_index_batch_add(b, N + 1, &x, 7);
    ck_assert_int_eq(tsdb_index_batch_put(b, &s_ix, txn), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    txn = s_txn(false);
    uint64_t id = 0;
    for (int i = 0; i < N; i++) {
        s_series(&l, i);
        ck_assert_int_eq(tsdb_index_find(&s_ix, txn, &l, fw_labels_hash(&l), &id), 0);
        ck_assert_uint_eq(id, (uint64_t)i + 1);
    }
    ck_assert_int_eq(tsdb_index_find(&s_ix, txn, &x, 7, &id), 0);
    ck_assert_uint_eq(id, N + 1);
    ck_assert_int_eq(tsdb_index_find(&s_ix, txn, &y, 7, &id), 0);
    ck_assert_uint_eq(id, N + 2);
    ck_assert_int_eq(tsdb_index_count(&s_ix, txn), N + 2);
    mdb_txn_abort(txn);
    // selection over the postings the two halves wrote (the collided pair is "up" too, so
    // the brute-force check leaves __name__ alone)
    struct fw_matcher ms[2];
    ms[0] = s_m(FW_MATCH_EQ, "job", "job3");
    s_check_select("job", ms, 1);
    ms[0] = s_m(FW_MATCH_RE, "inst", "host-0(1|2).*");
    ms[1] = s_m(FW_MATCH_NE, "zone", "a");
    s_check_select("inst and zone", ms, 2);
    fw_labels_clear(&l);
    fw_labels_clear(&x);
    fw_labels_clear(&y);
    tsdb_index_batch_destroy(&b);
    tsdb_index_batch_destroy(&b);
    ck_assert_ptr_null(b);
}
END_TEST

// A regex walk over the keys of a label that meets a key with one id right after a key with
// several: LMDB keeps the previous key's duplicates cursor, so MDB_GET_MULTIPLE there
// answered the earlier key's ids ({__name__=~"x_total"} selected every `up` series).
START_TEST(test_tsdb_index_select_single_after_duplicates)
{
    static const char *const names[] = {"up", "up", "x_total", "y_total", "y_total", "z"};
    MDB_txn *txn = s_txn(true);
    struct fw_labels l = FW_LABELS_INIT;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char inst[16];
        snprintf(inst, sizeof(inst), "i%zu", i);
        fw_labels_clear(&l);
        fw_labels_set(&l, "__name__", names[i]);
        fw_labels_set(&l, "instance", inst);
        ck_assert_int_eq(tsdb_index_add(&s_ix, txn, i + 1, &l, fw_labels_hash(&l)), 0);
    }
    fw_labels_clear(&l);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    static const struct {
        const char *re;
        size_t n;
        uint64_t first;
    } cases[] = {{"x_total", 1, 3}, {"x_total|z", 2, 3}, {"y.*|z", 3, 4}, {"u.*|x_total", 3, 1}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct fw_matcher m = s_m(FW_MATCH_RE, "__name__", cases[c].re);
        txn = s_txn(false);
        uint64_t *ids;
        size_t n_ids;
        ck_assert_int_eq(tsdb_index_select(&s_ix, txn, &m, 1, &ids, &n_ids), 0);
        mdb_txn_abort(txn);
        ck_assert_msg(n_ids == cases[c].n && ids[0] == cases[c].first, "%s: %zu ids, first %llu",
                      cases[c].re, n_ids, n_ids ? (unsigned long long)ids[0] : 0ULL);
        free(ids);
        fw_matcher_clear(&m);
    }
}
END_TEST

START_TEST(test_tsdb_index_names_values_and_long_values)
{
    s_fill();
    size_t len = 2000;
    char *big = fw_malloc(len + 1);
    memset(big, 'v', len);
    big[len] = '\0';
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", "big");
    fw_labels_set(&l, "zz", big);
    MDB_txn *txn = s_txn(true);
    ck_assert_int_eq(tsdb_index_add(&s_ix, txn, N + 1, &l, fw_labels_hash(&l)), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    txn = s_txn(false);
    char **out;
    size_t n;
    ck_assert_int_eq(tsdb_index_label_names(&s_ix, txn, &out, &n), 0);
    ck_assert_uint_eq(n, 5);
    const char *want[] = {"__name__", "inst", "job", "zone", "zz"};
    for (size_t k = 0; k < n; k++) {
        ck_assert_str_eq(out[k], want[k]);
        free(out[k]);
    }
    free(out);
    ck_assert_int_eq(tsdb_index_label_values(&s_ix, txn, "zone", &out, &n), 0);
    ck_assert_uint_eq(n, 2);
    for (size_t k = 0; k < n; k++)
        free(out[k]);
    free(out);
    ck_assert_int_eq(tsdb_index_label_values(&s_ix, txn, "zz", &out, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(out[0], big); // the whole value, not the cut key
    free(out[0]);
    free(out);
    uint64_t id;
    ck_assert_int_eq(tsdb_index_find(&s_ix, txn, &l, fw_labels_hash(&l), &id), 0);
    ck_assert_uint_eq(id, N + 1);
    mdb_txn_abort(txn);
    struct fw_matcher m = s_m(FW_MATCH_RE, "zz", "v+");
    txn = s_txn(false);
    uint64_t *ids;
    ck_assert_int_eq(tsdb_index_select(&s_ix, txn, &m, 1, &ids, &n), 0);
    ck_assert_uint_eq(n, 1);
    free(ids);
    fw_matcher_clear(&m);
    m = s_m(FW_MATCH_RE, "zz", "v+w");
    ck_assert_int_eq(tsdb_index_select(&s_ix, txn, &m, 1, &ids, &n), 0);
    ck_assert_uint_eq(n, 0);
    free(ids);
    fw_matcher_clear(&m);
    mdb_txn_abort(txn);
    fw_labels_clear(&l);
    free(big);
}
END_TEST

START_TEST(test_tsdb_index_damaged_record_and_refusals)
{
    s_fill();
    MDB_txn *txn = s_txn(true);
    unsigned char key[8] = {0, 0, 0, 0, 0, 0, 0, 5};
    MDB_val k = {8, key}, v = {3, (void *)"\x05\x01a"}; // a length past the end
    MDB_dbi dbi;
    ck_assert_int_eq(mdb_dbi_open(txn, "series", 0, &dbi), 0);
    ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
    ck_assert_int_eq(mdb_txn_commit(txn), 0);
    txn = s_txn(false);
    struct fw_labels l = FW_LABELS_INIT;
    ck_assert_int_eq(tsdb_index_labels(&s_ix, txn, 5, &l), TSDB_INDEX_EDAMAGED);
    ck_assert_uint_eq(l.len, 0);
    ck_assert_str_eq(tsdb_index_strerror(TSDB_INDEX_EDAMAGED), "damaged series record");
    mdb_txn_abort(txn);
    fw_err_t err;
    ck_assert_int_eq(tsdb_index_check(&l, &err), -1); // empty
    fw_labels_set(&l, "ok", "v");
    ck_assert_int_eq(tsdb_index_check(&l, &err), 0);
    fw_labels_set(&l, "0.ok-too", "v"); // any UTF-8 name, as Prometheus 3
    ck_assert_int_eq(tsdb_index_check(&l, &err), 0);
    fw_labels_set(&l, "bad\xff", "v");
    ck_assert_int_eq(tsdb_index_check(&l, &err), -1);
    fw_labels_clear(&l);
    fw_labels_setn(&l, "ok", "\xff\xfe", 2); // not UTF-8
    ck_assert_int_eq(tsdb_index_check(&l, &err), -1);
    fw_labels_clear(&l);
}
END_TEST

Suite *
tsdb_index_suite(void)
{
    Suite *s = suite_create("tsdb_index");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_index_add_find);
    tcase_add_test(tc, test_tsdb_index_select_matches_brute_force);
    tcase_add_test(tc, test_tsdb_index_batch_in_key_order);
    tcase_add_test(tc, test_tsdb_index_select_single_after_duplicates);
    tcase_add_test(tc, test_tsdb_index_names_values_and_long_values);
    tcase_add_test(tc, test_tsdb_index_damaged_record_and_refusals);
    suite_add_tcase(s, tc);
    return s;
}
