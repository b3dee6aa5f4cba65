/*  check_tsdb_iso.c — isolation of batches against readers (tsdb_store_batch_begin, README
    "Isolation"): a reader, and so a query, reads every series as of the last batch that had
    ended when it started, never part of one.

    The reads of one query copy each series' newest samples from the head one series at a
    time; a batch that lands between two of those copies used to show in the second series
    and not in the first (plant_stack.sh's 2.16 against 2.76, caea1bb). The store's read
    hook runs right after each copy, so these tests put a batch exactly there, on purpose,
    every time: no timing, no luck.
*/
#include <check.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "fw_msg.h"
#include "fw_msg_samples.h"
#include "fw_metrics.h"
#include "fw_promql_ast.h"
#include "fw_time.h"
#include "../tsdb/tsdb_eval.h"
#include "../tsdb/tsdb_samples.h"
#include "../tsdb/tsdb_store.h"

static char s_dir[128];

static void
s_setup(void)
{
    check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_iso");
}

static void
s_teardown(void)
{
    ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
}

// Append samples (t0, v0), (t0 + 1000, v0 + 1), ... n of them, to the series named name.
static void
s_put(tsdb_store_t *st, const char *name, int64_t t0, size_t n, double v0)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", name);
    struct fw_sample *s = calloc(n, sizeof(*s));
    for (size_t k = 0; k < n; k++)
        s[k] = (struct fw_sample){t0 + (int64_t)k * 1000, v0 + (double)k};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series(st, &l, s, n, NULL, &err) == 0, "%s", err.msg);
    free(s);
    fw_labels_clear(&l);
}

// The id of the series named name (in r's snapshot).
static uint64_t
s_id(tsdb_store_reader_t *r, const char *name)
{
    fw_err_t err;
    struct fw_matcher m;
    ck_assert_int_eq(fw_matcher_init(&m, FW_MATCH_EQ, "__name__", name, FW_REGEX_PROMETHEUS, &err),
                     0);
    uint64_t *ids = NULL;
    size_t n = 0;
    ck_assert_msg(tsdb_store_select_ids(r, &m, 1, &ids, &n, &err) == 0, "%s", err.msg);
    fw_matcher_clear(&m);
    ck_assert_uint_eq(n, 1);
    uint64_t id = ids[0];
    free(ids);
    return id;
}

// The newest timestamp r reads of series id (INT64_MIN: none), and how many samples.
static int64_t
s_newest(tsdb_store_reader_t *r, uint64_t id, size_t *count)
{
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, id, INT64_MIN, INT64_MAX);
    int64_t t = INT64_MIN;
    size_t n = 0;
    while (tsdb_store_iter_next(&it)) {
        t = it.t;
        n++;
    }
    ck_assert_int_eq(tsdb_store_iter_err(&it), 0);
    if (count)
        *count = n;
    return t;
}

static tsdb_store_t *
s_open_ab(size_t n)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    s_put(st, "a", 1000, n, 1);
    s_put(st, "b", 1000, n, 1);
    fw_err_t err;
    ck_assert_msg(tsdb_store_commit(st, &err) == 0, "%s", err.msg); // into the index
    return st;
}

// A reader reads a, a batch (here: each series' append its own) lands, then it reads b:
// it must not see b's new sample, having not seen a's. Also when the new sample seals the
// open chunk (the 120th), so that it lies in a chunk the head keeps, not the open one.
START_TEST(test_tsdb_iso_reader_as_of_its_start)
{
    for (size_t n = 1; n <= TSDB_CHUNK_MAX_SAMPLES; n += TSDB_CHUNK_MAX_SAMPLES - 2) {
        tsdb_store_t *st = s_open_ab(n);
        int64_t last = 1000 + (int64_t)(n - 1) * 1000;
        fw_err_t err;
        tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
        ck_assert_ptr_nonnull(r);
        uint64_t a = s_id(r, "a"), b = s_id(r, "b");
        size_t na, nb;
        ck_assert_int_eq(s_newest(r, a, &na), last);
        s_put(st, "a", last + 1000, 1, 50);
        s_put(st, "b", last + 1000, 1, 50);
        ck_assert_msg(s_newest(r, b, &nb) == last, "n=%zu: b read %lld after a read %lld", n,
                      (long long)s_newest(r, b, NULL), (long long)last);
        ck_assert_uint_eq(na, nb);
        ck_assert_int_eq(s_newest(r, a, NULL), last); // read again: the same
        tsdb_store_reader_destroy(&r);
        // a reader started after sees both
        r = tsdb_store_reader_new(st, &err);
        ck_assert_int_eq(s_newest(r, a, &na), last + 1000);
        ck_assert_int_eq(s_newest(r, b, &nb), last + 1000);
        ck_assert_uint_eq(na, n + 1);
        ck_assert_uint_eq(nb, n + 1);
        tsdb_store_reader_destroy(&r);
        // and after a commit stored the sealed chunk, a reader on the new snapshot
        ck_assert_msg(tsdb_store_commit(st, &err) == 0, "%s", err.msg);
        r = tsdb_store_reader_new(st, &err);
        ck_assert_int_eq(s_newest(r, b, &nb), last + 1000);
        ck_assert_uint_eq(nb, n + 1);
        tsdb_store_reader_destroy(&r);
        tsdb_store_destroy(&st);
        ck_assert_int_eq(check_util_tmpdir_remove(s_dir), 0);
        check_util_tmpdir_new(s_dir, sizeof(s_dir), "tsdb_iso");
    }
}
END_TEST

// A reader that starts while a batch is half appended sees none of it, also after its end;
// one that starts after its end sees all of it, and none of the next batch.
START_TEST(test_tsdb_iso_reader_mid_batch)
{
    tsdb_store_t *st = s_open_ab(2); // 1000, 2000
    fw_err_t err;
    tsdb_store_batch_begin(st);
    s_put(st, "a", 3000, 1, 9);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    uint64_t a = s_id(r, "a"), b = s_id(r, "b");
    ck_assert_int_eq(s_newest(r, a, NULL), 2000);
    // a remote-write sender's reader reads what was appended, batch ended or not
    tsdb_store_reader_t *all = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(all);
    tsdb_store_reader_see_all(all);
    ck_assert_int_eq(s_newest(all, a, NULL), 3000);
    tsdb_store_reader_destroy(&all);
    s_put(st, "b", 3000, 1, 9);
    tsdb_store_batch_end(st);
    ck_assert_int_eq(s_newest(r, b, NULL), 2000);
    ck_assert_int_eq(s_newest(r, a, NULL), 2000);
    tsdb_store_reader_t *r2 = tsdb_store_reader_new(st, &err);
    tsdb_store_batch_begin(st);
    s_put(st, "a", 4000, 1, 10);
    s_put(st, "b", 4000, 1, 10);
    tsdb_store_batch_end(st);
    ck_assert_int_eq(s_newest(r2, a, NULL), 3000);
    ck_assert_int_eq(s_newest(r2, b, NULL), 3000);
    tsdb_store_reader_destroy(&r2);
    tsdb_store_reader_destroy(&r);
    r = tsdb_store_reader_new(st, &err);
    ck_assert_int_eq(s_newest(r, a, NULL), 4000);
    ck_assert_int_eq(s_newest(r, b, NULL), 4000);
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
}
END_TEST

// ---------------------------------------------------------------------------------------
// Queries: `a - b` while batches land between its reads

struct s_lander {
    tsdb_store_t *st;
    tsdb_samples_t *smp; // NULL: append through the store
    fw_metrics_t *metrics;
    int64_t t;  // the next batch's timestamp
    double v;   // and value (both series the same)
    bool armed; // land a batch at the next head copy
    size_t landed;
    uint64_t seq;
};

// One batch: a and b at (t, v), through a SAMPLES body when smp is set.
static void
s_land(struct s_lander *l)
{
    if (!l->smp) {
        tsdb_store_batch_begin(l->st);
        s_put(l->st, "a", l->t, 1, l->v);
        s_put(l->st, "b", l->t, 1, l->v);
        tsdb_store_batch_end(l->st);
    } else {
        struct fw_batch *batch = fw_batch_new();
        snprintf(batch->sender, sizeof(batch->sender), "iso");
        batch->seq = batch->oldest = ++l->seq;
        const char *names[] = {"a", "b", "c"};
        for (int k = 0; k < 3; k++) {
            struct fw_labels lb = FW_LABELS_INIT;
            fw_labels_set(&lb, "__name__", names[k]);
            if (k == 2) // a series new every batch: the store's lock is let go around it
                fw_labels_set(&lb, "n", l->seq % 2 ? "odd" : "even");
            fw_series_add(fw_batch_add_series(batch, &lb), l->t, l->v);
            fw_labels_clear(&lb);
        }
        unsigned char *body;
        size_t len;
        fw_err_t err;
        ck_assert_msg(fw_msg_samples_encode(batch, &body, &len, &err) == 0, "%s", err.msg);
        struct fw_samples_view v;
        ck_assert_msg(tsdb_samples_check(l->smp, FW_SAMPLES_V3, body, len, &v, &err) == 0, "%s",
                      err.msg);
        ck_assert_uint_eq(tsdb_samples_append(l->smp, &v, NULL), 3);
        free(body);
        fw_batch_destroy(&batch);
    }
    l->t += 1000;
    l->v += 1;
    l->landed++;
}

// The read hook: the first head copy of a query lands a batch (this thread is the only
// writer while the query runs: the appends are the test's, between two reads).
static void
s_hook(void *arg, uint64_t id)
{
    (void)id;
    struct s_lander *l = arg;
    if (!l->armed)
        return;
    l->armed = false;
    s_land(l);
}

static void
s_query_loop(struct s_lander *l)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse("a - b", &err);
    ck_assert_msg(e != NULL, "%s", err.msg);
    for (int i = 0; i < 20; i++) {
        l->armed = true;
        struct tsdb_eval_result res;
        int64_t at = l->t + 60000; // after the batch landing meanwhile: a and b both in range
        ck_assert_msg(tsdb_eval_instant(l->st, e, at, NULL, &res, &err) == 0, "%s", err.msg);
        ck_assert_msg(!l->armed, "no batch landed during query %d", i);
        ck_assert_uint_eq(res.type, FW_PQ_VECTOR);
        ck_assert_uint_eq(res.len, 1);
        double d = res.series[0].pts[0].v;
        tsdb_eval_result_clear(&res);
        ck_assert_msg(d == 0, "query %d: a - b = %g: it read a batch in b but not in a", i, d);
    }
    fw_promql_expr_destroy(&e);
    ck_assert_uint_eq(l->landed, 20 + 1);
}

START_TEST(test_tsdb_iso_query_between_reads)
{
    tsdb_store_t *st = s_open_ab(5); // 1000..5000, values 1..5
    struct s_lander l = {.st = st, .t = 6000, .v = 6};
    tsdb_store_set_read_hook(st, s_hook, &l);
    s_land(&l); // a batch before the loop, so that batches are what the store last saw
    s_query_loop(&l);
    tsdb_store_set_read_hook(st, NULL, NULL);
    tsdb_store_destroy(&st);
}
END_TEST

// The same through the ingest path (tsdb_samples: a SAMPLES body of a, b and a new series,
// so the head lock is taken and let go within the batch).
START_TEST(test_tsdb_iso_query_samples_batches)
{
    tsdb_store_t *st = s_open_ab(5);
    fw_metrics_t *m = fw_metrics_new();
    struct s_lander l = {.st = st, .t = 6000, .v = 6, .metrics = m};
    l.smp = tsdb_samples_new(st, m);
    tsdb_store_set_read_hook(st, s_hook, &l);
    s_land(&l);
    s_query_loop(&l);
    tsdb_store_set_read_hook(st, NULL, NULL);
    tsdb_samples_destroy(&l.smp);
    fw_metrics_destroy(&m);
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_iso_suite(void)
{
    Suite *s = suite_create("tsdb_iso");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_iso_reader_as_of_its_start);
    tcase_add_test(tc, test_tsdb_iso_reader_mid_batch);
    tcase_add_test(tc, test_tsdb_iso_query_between_reads);
    tcase_add_test(tc, test_tsdb_iso_query_samples_batches);
    suite_add_tcase(s, tc);
    return s;
}
