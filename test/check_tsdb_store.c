/*  check_tsdb_store.c — tsdb's LMDB storage on real files under test/tmp: durability across a
    reopen, series deduplication, postings lookups with every matcher type, stale markers,
    overwrite of a resent timestamp, retention deletes and label listings.
*/
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "fw_promql.h"
#include "../tsdb/tsdb_store.h"

static char s_dir[128];

static void
s_setup(void)
{
    mkdir("test", 0755);
    mkdir("test/tmp", 0755);
    snprintf(s_dir, sizeof(s_dir), "test/tmp/tsdb_store.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(s_dir));
}

static void
s_teardown(void)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/data.mdb", s_dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/lock.mdb", s_dir);
    unlink(p);
    rmdir(s_dir);
}

static tsdb_store_t *
s_open(void)
{
    tsdb_store_t *st = tsdb_store_new();
    tsdb_store_set_mapsize(st, (size_t)64 << 20);
    fw_err_t err;
    ck_assert_msg(tsdb_store_open(st, s_dir, &err) == 0, "open: %s", err.msg);
    return st;
}

// A batch from "name{a=\"b\"}" with samples (t, v) pairs.
static void
s_add(struct fw_batch *b, const char *sel, size_t n, const int64_t *t, const double *v)
{
    fw_err_t err;
    fw_promql_expr_t *e = fw_promql_parse(sel, &err);
    ck_assert_ptr_nonnull(e);
    struct fw_labels l = FW_LABELS_INIT;
    for (size_t k = 0; k < e->n_matchers; k++)
        fw_labels_set(&l, e->matchers[k].name, e->matchers[k].value);
    fw_promql_expr_destroy(&e);
    struct fw_series *s = fw_batch_add_series(b, &l);
    fw_labels_clear(&l);
    for (size_t k = 0; k < n; k++)
        fw_series_add(s, t[k], v[k]);
}

static void
s_append(tsdb_store_t *st, struct fw_batch *b)
{
    const struct fw_batch *bs[1] = {b};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append(st, bs, 1, NULL, &err) == 0, "append: %s", err.msg);
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
    tsdb_store_series_free(out, n);
    tsdb_store_reader_destroy(&r);
    fw_promql_expr_destroy(&e);
    return n;
}

START_TEST(test_tsdb_store_new_open_destroy)
{
    tsdb_store_t *st = s_open();
    ck_assert_int_eq(tsdb_store_series_count(st), 0);
    tsdb_store_destroy(&st);
    ck_assert_ptr_null(st);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_durable_across_reopen)
{
    tsdb_store_t *st = s_open();
    struct fw_batch *b = fw_batch_new();
    int64_t t[3] = {1000, 2000, 3000};
    double v[3] = {1, 2.5, -3};
    s_add(b, "m{job=\"a\"}", 3, t, v);
    s_append(st, b);
    fw_batch_destroy(&b);
    tsdb_store_destroy(&st);

    st = s_open();
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    struct fw_sample *pts = NULL;
    size_t len = 0, cap = 0;
    ck_assert_int_eq(tsdb_store_samples(r, 1, 0, 10000, &pts, &len, &cap, &err), 0);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(pts[1].t_ms, 2000);
    ck_assert(pts[1].v == 2.5);
    ck_assert(pts[2].v == -3);
    len = 0;
    ck_assert_int_eq(tsdb_store_samples(r, 1, 1500, 2500, &pts, &len, &cap, &err), 0);
    ck_assert_uint_eq(len, 1);
    free(pts);
    tsdb_store_reader_destroy(&r);
    // appending after the reopen continues the ids
    b = fw_batch_new();
    s_add(b, "m{job=\"b\"}", 1, t, v);
    s_append(st, b);
    fw_batch_destroy(&b);
    ck_assert_int_eq(tsdb_store_series_count(st), 2);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_series_dedup_and_overwrite)
{
    tsdb_store_t *st = s_open();
    int64_t t1[2] = {1000, 2000}, t2[2] = {2000, 500}; // a resend and an older sample
    double v1[2] = {1, 2}, v2[2] = {20, 0.5};
    struct fw_batch *b = fw_batch_new();
    s_add(b, "m{job=\"a\"}", 2, t1, v1);
    struct fw_batch *b2 = fw_batch_new();
    s_add(b2, "m{job=\"a\"}", 2, t2, v2);
    const struct fw_batch *bs[2] = {b, b2};
    fw_err_t err;
    struct tsdb_store_stats stats;
    ck_assert_int_eq(tsdb_store_append(st, bs, 2, &stats, &err), 0); // one transaction
    ck_assert_uint_eq(stats.samples, 4);
    ck_assert_uint_eq(stats.new_series, 1);
    ck_assert_int_eq(tsdb_store_series_count(st), 1);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    struct fw_sample *pts = NULL;
    size_t len = 0, cap = 0;
    tsdb_store_samples(r, 1, INT64_MIN, INT64_MAX, &pts, &len, &cap, &err);
    ck_assert_uint_eq(len, 3);
    ck_assert_int_eq(pts[0].t_ms, 500);
    ck_assert(pts[2].v == 20); // same timestamp overwrote
    free(pts);
    tsdb_store_reader_destroy(&r);
    fw_batch_destroy(&b);
    fw_batch_destroy(&b2);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_postings_matchers)
{
    tsdb_store_t *st = s_open();
    int64_t t[1] = {1000};
    double v[1] = {1};
    struct fw_batch *b = fw_batch_new();
    s_add(b, "http{job=\"api\",code=\"200\"}", 1, t, v);
    s_add(b, "http{job=\"api\",code=\"500\"}", 1, t, v);
    s_add(b, "http{job=\"web\",code=\"200\"}", 1, t, v);
    s_add(b, "up{job=\"api\"}", 1, t, v);
    s_append(st, b);
    fw_batch_destroy(&b);
    ck_assert_uint_eq(s_select_count(st, "http"), 3);
    ck_assert_uint_eq(s_select_count(st, "http{job=\"api\"}"), 2);
    ck_assert_uint_eq(s_select_count(st, "http{job!=\"api\"}"), 1);
    ck_assert_uint_eq(s_select_count(st, "http{code=~\"5..\"}"), 1);
    ck_assert_uint_eq(s_select_count(st, "http{code=~\"2.*|5.*\"}"), 3);
    ck_assert_uint_eq(s_select_count(st, "http{code!~\"2..\"}"), 1);
    ck_assert_uint_eq(s_select_count(st, "{job=\"api\"}"), 3);
    ck_assert_uint_eq(s_select_count(st, "{__name__=~\"h.*\"}"), 3);
    ck_assert_uint_eq(s_select_count(st, "up{code=\"\"}"), 1); // absent label is ""
    ck_assert_uint_eq(s_select_count(st, "http{code=\"\"}"), 0);
    ck_assert_uint_eq(s_select_count(st, "nothing"), 0);
    ck_assert_uint_eq(s_select_count(st, "{job=~\".+\"}"), 4);

    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    char **names;
    size_t n;
    ck_assert_int_eq(tsdb_store_label_names(r, &names, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(names[0], "__name__");
    ck_assert_str_eq(names[1], "code");
    ck_assert_str_eq(names[2], "job");
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    ck_assert_int_eq(tsdb_store_label_values(r, "job", &names, &n, &err), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(names[0], "api");
    ck_assert_str_eq(names[1], "web");
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_long_label_value)
{
    tsdb_store_t *st = s_open();
    char *sel = fw_malloc(2000);
    char *val = fw_malloc(1200);
    memset(val, 'x', 1199);
    val[1199] = '\0';
    snprintf(sel, 2000, "m{big=\"%s\"}", val);
    int64_t t[1] = {1};
    double v[1] = {1};
    struct fw_batch *b = fw_batch_new();
    s_add(b, sel, 1, t, v);
    s_append(st, b);
    fw_batch_destroy(&b);
    ck_assert_uint_eq(s_select_count(st, sel), 1);
    ck_assert_uint_eq(s_select_count(st, "m{big=~\"x+\"}"), 1);
    ck_assert_uint_eq(s_select_count(st, "m{big=~\"y+\"}"), 0);
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    char **vals;
    size_t n;
    ck_assert_int_eq(tsdb_store_label_values(r, "big", &vals, &n, &err), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(vals[0], val);
    free(vals[0]);
    free(vals);
    tsdb_store_reader_destroy(&r);
    free(sel);
    free(val);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_stale_markers_kept)
{
    tsdb_store_t *st = s_open();
    int64_t t[2] = {1000, 2000};
    double v[2] = {1, fw_stale_nan()};
    struct fw_batch *b = fw_batch_new();
    s_add(b, "m", 2, t, v);
    s_append(st, b);
    fw_batch_destroy(&b);
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    struct fw_sample *pts = NULL;
    size_t len = 0, cap = 0;
    tsdb_store_samples(r, 1, 0, 5000, &pts, &len, &cap, &err);
    ck_assert_uint_eq(len, 2);
    ck_assert(fw_is_stale_nan(pts[1].v));
    free(pts);
    tsdb_store_reader_destroy(&r);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_retention_deletes_old)
{
    tsdb_store_t *st = s_open();
    int64_t t[5] = {-5000, 1000, 2000, 3000, 4000};
    double v[5] = {0, 1, 2, 3, 4};
    struct fw_batch *b = fw_batch_new();
    s_add(b, "a", 5, t, v);
    s_add(b, "b", 5, t, v);
    s_append(st, b);
    fw_batch_destroy(&b);
    fw_err_t err;
    size_t deleted = 0, total = 0;
    for (int k = 0; k < 10; k++) {
        ck_assert_int_eq(tsdb_store_delete_before(st, 2500, 1, &deleted, &err), 0);
        total += deleted;
    }
    ck_assert_uint_eq(total, 6);
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    struct fw_sample *pts = NULL;
    size_t len = 0, cap = 0;
    tsdb_store_samples(r, 2, INT64_MIN, INT64_MAX, &pts, &len, &cap, &err);
    ck_assert_uint_eq(len, 2);
    ck_assert_int_eq(pts[0].t_ms, 3000);
    free(pts);
    tsdb_store_reader_destroy(&r);
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
    struct fw_batch *b = fw_batch_new();
    s_add(b, "m", 1, (int64_t[]){1000}, (double[]){1});
    s_append(st, b);
    fw_batch_destroy(&b);
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(blob, "seq=1", 5);
    free(blob);
    tsdb_store_set_state(st, "seq=2", 5); // never committed: lost with the process
    tsdb_store_destroy(&st);
    st = s_open();
    ck_assert_int_eq(tsdb_store_get_state(st, &blob, &len), 0);
    ck_assert_uint_eq(len, 5);
    ck_assert_mem_eq(blob, "seq=1", 5);
    free(blob);
    tsdb_store_destroy(&st);
}
END_TEST

START_TEST(test_tsdb_store_open_fails_on_file)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/data.mdb", s_dir);
    tsdb_store_t *st = tsdb_store_new();
    snprintf(p, sizeof(p), "%s/notadir", s_dir);
    FILE *f = fopen(p, "w");
    fputs("x", f);
    fclose(f);
    fw_err_t err;
    ck_assert_int_eq(tsdb_store_open(st, p, &err), -1);
    ck_assert(strlen(err.msg) > 0);
    tsdb_store_destroy(&st);
    unlink(p);
}
END_TEST

Suite *
tsdb_store_suite(void)
{
    Suite *s = suite_create("tsdb_store");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_store_new_open_destroy);
    tcase_add_test(tc, test_tsdb_store_durable_across_reopen);
    tcase_add_test(tc, test_tsdb_store_series_dedup_and_overwrite);
    tcase_add_test(tc, test_tsdb_store_postings_matchers);
    tcase_add_test(tc, test_tsdb_store_long_label_value);
    tcase_add_test(tc, test_tsdb_store_stale_markers_kept);
    tcase_add_test(tc, test_tsdb_store_retention_deletes_old);
    tcase_add_test(tc, test_tsdb_store_state_written_by_commit);
    tcase_add_test(tc, test_tsdb_store_open_fails_on_file);
    suite_add_tcase(s, tc);
    return s;
}
