/*  check_fw_tlsfiles.c — tls_config's files as they are on disk at each request
    (common/fw_tlsfiles.c).

    A file is read once while it stays as it was (one stat per check), again when it was
    written or replaced; the same bytes keep their generation (Prometheus compares hashes),
    other bytes take a new one; a write that sets mtime back is still seen (ctime); a read
    close to the file's change is done again (racy); a file that cannot be read keeps the
    last good content with Prometheus's error text; unused entries expire.
*/
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check_util.h"
#include "fw_time.h"
#include "fw_tlsfiles.h"

Suite *fw_tlsfiles_suite(void);

// Now, far enough after any write of this test for a read not to be racy.
static int64_t
s_later(void)
{
    return fw_time_now_ms() + 10000;
}

START_TEST(test_fw_tlsfiles_new_check_destroy)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/ca.pem", check_util_tmpdir);
    check_util_write_file(path, "CA-1\n");
    fw_tlsfiles_t *f = fw_tlsfiles_new();
    uint64_t gen = 0, gen2 = 0;
    fw_err_t err = {0};
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &gen, &err), 0);
    ck_assert_uint_ne(gen, 0);
    size_t len = 0;
    ck_assert_str_eq(fw_tlsfiles_data(f, path, &len), "CA-1\n");
    ck_assert_uint_eq(len, 5);
    ck_assert_uint_eq(fw_tlsfiles_reads(f), 1);
    // unchanged on disk: a stat, no read, the same generation
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &gen2, &err), 0);
    ck_assert_uint_eq(gen2, gen);
    ck_assert_uint_eq(fw_tlsfiles_reads(f), 1);
    ck_assert_ptr_null(fw_tlsfiles_data(f, "/nonexistent", NULL));
    fw_tlsfiles_destroy(&f);
    ck_assert_ptr_null(f);
    fw_tlsfiles_destroy(&f);
}
END_TEST

START_TEST(test_fw_tlsfiles_change)
{
    char path[300], tmp[310];
    snprintf(path, sizeof(path), "%s/ca.pem", check_util_tmpdir);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    check_util_write_file(path, "CA-1\n");
    fw_tlsfiles_t *f = fw_tlsfiles_new();
    uint64_t g1 = 0, g = 0;
    fw_err_t err = {0};
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g1, &err), 0);
    // written in place with the same bytes: read again (ctime moved), the same generation
    usleep(20 * 1000);
    check_util_write_file(path, "CA-1\n");
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), 0);
    ck_assert_uint_eq(fw_tlsfiles_reads(f), 2);
    ck_assert_uint_eq(g, g1);
    // replaced by rename (another inode), other bytes: a new generation and content
    check_util_write_file(tmp, "CA-2\n");
    ck_assert_int_eq(rename(tmp, path), 0);
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), 0);
    ck_assert_uint_ne(g, g1);
    ck_assert_str_eq(fw_tlsfiles_data(f, path, NULL), "CA-2\n");
    uint64_t g2 = g;
    // rewritten in place, same size, mtime set back to what it was: ctime still tells
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    usleep(20 * 1000);
    check_util_write_file(path, "CA-3\n");
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ck_assert_int_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), 0);
    ck_assert_uint_ne(g, g2);
    ck_assert_uint_ne(g, g1);
    ck_assert_str_eq(fw_tlsfiles_data(f, path, NULL), "CA-3\n");
    fw_tlsfiles_destroy(&f);
}
END_TEST

// A read within the file system clock's tick of the file's change may have missed a write
// in the same tick: the next check reads again although stat reads the same.
START_TEST(test_fw_tlsfiles_racy)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/cert.pem", check_util_tmpdir);
    check_util_write_file(path, "CERT\n");
    fw_tlsfiles_t *f = fw_tlsfiles_new();
    uint64_t g = 0;
    fw_err_t err = {0};
    int64_t now = fw_time_now_ms();
    ck_assert_int_eq(fw_tlsfiles_check(f, path, now, &g, &err), 0);
    ck_assert_int_eq(fw_tlsfiles_check(f, path, now, &g, &err), 0);
    ck_assert_uint_eq(fw_tlsfiles_reads(f), 2); // racy: read again
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), 0);
    ck_assert_uint_eq(fw_tlsfiles_reads(f), 3); // the racy read, done once more
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), 0);
    ck_assert_uint_eq(fw_tlsfiles_reads(f), 3); // settled: stat only
    fw_tlsfiles_destroy(&f);
}
END_TEST

// A file that cannot be read: -1 with the reason, the last good content and its generation
// stay; the same content back is the same generation (no new connections).
START_TEST(test_fw_tlsfiles_unreadable)
{
    char path[300], big_path[300];
    snprintf(path, sizeof(path), "%s/key.pem", check_util_tmpdir);
    check_util_write_file(path, "KEY\n");
    fw_tlsfiles_t *f = fw_tlsfiles_new();
    uint64_t g1 = 0, g = 0;
    fw_err_t err = {0};
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g1, &err), 0);
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), -1);
    ck_assert_uint_eq(g, g1);
    char want[400];
    snprintf(want, sizeof(want), "unable to read file %s: No such file or directory", path);
    ck_assert_str_eq(err.msg, want);
    ck_assert_str_eq(fw_tlsfiles_data(f, path, NULL), "KEY\n");
    check_util_write_file(path, ""); // empty: refused too
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty file"));
    ck_assert_str_eq(fw_tlsfiles_data(f, path, NULL), "KEY\n");
    check_util_write_file(path, "KEY\n");
    ck_assert_int_eq(fw_tlsfiles_check(f, path, s_later(), &g, &err), 0);
    ck_assert_uint_eq(g, g1);
    // larger than the bound
    snprintf(big_path, sizeof(big_path), "%s/big.pem", check_util_tmpdir);
    char *big = malloc(FW_TLSFILES_MAX + 2);
    memset(big, 'a', FW_TLSFILES_MAX + 1);
    big[FW_TLSFILES_MAX + 1] = '\0';
    check_util_write_file(big_path, big);
    free(big);
    ck_assert_int_eq(fw_tlsfiles_check(f, big_path, s_later(), &g, &err), -1);
    ck_assert_uint_eq(g, 0);
    ck_assert_ptr_nonnull(strstr(err.msg, "larger than 1 MiB"));
    ck_assert_ptr_null(fw_tlsfiles_data(f, big_path, NULL));
    fw_tlsfiles_destroy(&f);
}
END_TEST

// An entry not checked for FW_TLSFILES_IDLE_MS is dropped at the next check of any path.
START_TEST(test_fw_tlsfiles_idle)
{
    char a[300], b[300];
    snprintf(a, sizeof(a), "%s/a.pem", check_util_tmpdir);
    snprintf(b, sizeof(b), "%s/b.pem", check_util_tmpdir);
    check_util_write_file(a, "A\n");
    check_util_write_file(b, "B\n");
    fw_tlsfiles_t *f = fw_tlsfiles_new();
    uint64_t g = 0;
    fw_err_t err = {0};
    int64_t t = s_later();
    ck_assert_int_eq(fw_tlsfiles_check(f, a, t, &g, &err), 0);
    ck_assert_int_eq(fw_tlsfiles_check(f, b, t + FW_TLSFILES_IDLE_MS / 2, &g, &err), 0);
    ck_assert_int_eq(fw_tlsfiles_check(f, b, t + FW_TLSFILES_IDLE_MS + 1, &g, &err), 0);
    ck_assert_ptr_null(fw_tlsfiles_data(f, a, NULL));
    ck_assert_str_eq(fw_tlsfiles_data(f, b, NULL), "B\n");
    fw_tlsfiles_destroy(&f);
}
END_TEST

Suite *
fw_tlsfiles_suite(void)
{
    Suite *s = suite_create("fw_tlsfiles");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_add_test(tc, test_fw_tlsfiles_new_check_destroy);
    tcase_add_test(tc, test_fw_tlsfiles_change);
    tcase_add_test(tc, test_fw_tlsfiles_racy);
    tcase_add_test(tc, test_fw_tlsfiles_unreadable);
    tcase_add_test(tc, test_fw_tlsfiles_idle);
    suite_add_tcase(s, tc);
    return s;
}
