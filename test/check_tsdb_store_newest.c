/*  check_tsdb_store_newest.c — tsdb_store_newest, what the remote-write receiver judges a
    request's samples against before it appends any: the head's newest in-order sample, and
    the stored one for a series the head does not hold (after a restart or head gc).
*/
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "check_util.h"
#include "fw_labels.h"
#include "../tsdb/tsdb_store.h"

static const char *const s_dir = check_util_tmpdir; // the fixture's, fresh for each test

static void
s_put(tsdb_store_t *st, const char *name, int64_t t0, size_t n, double v)
{
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", name);
    struct fw_sample *s = calloc(n, sizeof(*s));
    for (size_t k = 0; k < n; k++)
        s[k] = (struct fw_sample){t0 + (int64_t)k * 1000, v + (double)k};
    fw_err_t err;
    ck_assert_msg(tsdb_store_append_series(st, &l, s, n, NULL, &err) == 0, "%s", err.msg);
    free(s);
    fw_labels_clear(&l);
}

static struct tsdb_store_newest
s_newest(tsdb_store_t *st, const char *name)
{
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(st, &err);
    ck_assert_ptr_nonnull(r);
    struct fw_labels l = FW_LABELS_INIT;
    fw_labels_set(&l, "__name__", name);
    struct tsdb_store_newest n;
    ck_assert_msg(tsdb_store_newest(r, &l, &n, &err) == 0, "%s", err.msg);
    fw_labels_clear(&l);
    tsdb_store_reader_destroy(&r);
    return n;
}

START_TEST(test_tsdb_store_newest_head_and_disk)
{
    tsdb_store_t *st = check_util_store_open(s_dir, (size_t)64 << 20);
    tsdb_store_set_ooo_window(st, 30000);
    // sealed chunks and an open one (more than a chunk's samples), and a short series
    s_put(st, "long", 0, 300, 1);
    s_put(st, "short", 100000, 3, 7);
    struct tsdb_store_newest n = s_newest(st, "long");
    ck_assert(n.has && n.v_known);
    ck_assert_int_eq(n.t, 299000);
    ck_assert(n.v == 300);
    ck_assert_int_eq(n.ooo_window, 30000);
    ck_assert_int_eq(n.head_maxt, 299000);
    ck_assert(!s_newest(st, "absent").has);
    fw_err_t err;
    ck_assert_int_eq(tsdb_store_commit(st, &err), 0);
    // the head forgets both: the newest comes from the chunks on disk
    ck_assert_uint_eq(tsdb_store_head_gc(st, INT64_MAX), 2);
    n = s_newest(st, "long");
    ck_assert(n.has && n.v_known);
    ck_assert_int_eq(n.t, 299000);
    ck_assert(n.v == 300);
    n = s_newest(st, "short");
    ck_assert(n.has && n.v_known);
    ck_assert_int_eq(n.t, 102000);
    ck_assert(n.v == 9);
    ck_assert(!s_newest(st, "absent").has);
    // and after a restart
    tsdb_store_destroy(&st);
    st = check_util_store_open(s_dir, (size_t)64 << 20);
    n = s_newest(st, "long");
    ck_assert(n.has && n.t == 299000 && n.v == 300);
    s_put(st, "long", 300000, 1, 5); // back in the head
    n = s_newest(st, "long");
    ck_assert(n.has && n.t == 300000 && n.v == 5);
    tsdb_store_destroy(&st);
}
END_TEST

Suite *
tsdb_store_newest_suite(void)
{
    Suite *s = suite_create("tsdb_store_newest");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_tsdb_store_newest_head_and_disk);
    suite_add_tcase(s, tc);
    return s;
}
