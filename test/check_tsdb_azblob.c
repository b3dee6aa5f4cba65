/*  check_tsdb_azblob.c — the Azure blob client's checks before any request (URL, SAS or
    account key, account name), and tsdb backup / restore's usage and refusal exits. The
    requests themselves are tested against a local server playing Azure's documented API in
    test/it/backup.sh.
*/
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_err.h"
#include "../tsdb/tsdb_azblob.h"
#include "../tsdb/tsdb_backup.h"

#define S_DIR "test/tmp/check_tsdb_azblob"

static void
s_setup(void)
{
    mkdir("test/tmp", 0755);
    mkdir(S_DIR, 0755);
}

static void
s_teardown(void)
{
    unlink(S_DIR "/key");
    unlink(S_DIR "/target/x");
    rmdir(S_DIR "/target");
    rmdir(S_DIR);
    rmdir("test/tmp");
}

static void
s_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

// tsdb_azblob_open's error for opts, or "" when it opened.
static const char *
s_open_err_sas(const char *url, const char *key_file, const char *sas_file, const char *account)
{
    static fw_err_t err;
    memset(&err, 0, sizeof(err));
    tsdb_azblob_t *az = tsdb_azblob_open(
        &(struct tsdb_azblob_opts){
            .url = url, .key_file = key_file, .sas_file = sas_file, .account = account},
        &err);
    if (az) {
        tsdb_azblob_destroy(&az);
        ck_assert_ptr_null(az);
        return "";
    }
    return err.msg;
}

static const char *
s_open_err(const char *url, const char *key_file, const char *account)
{
    return s_open_err_sas(url, key_file, NULL, account);
}

START_TEST(test_tsdb_azblob_open_sas)
{
    fw_err_t err = {0};
    tsdb_azblob_t *az = tsdb_azblob_open(
        &(struct tsdb_azblob_opts){
            .url = "https://acct.blob.core.windows.net/c/b?sv=2021-08-06&sig=SECRET"},
        &err);
    ck_assert_ptr_nonnull(az);
    ck_assert_str_eq(tsdb_azblob_shown(az), "https://acct.blob.core.windows.net/c/b?<secret>");
    tsdb_azblob_destroy(&az);
    tsdb_azblob_destroy(&az); // twice is fine
    ck_assert(tsdb_azblob_is_url("http://x/y"));
    ck_assert(tsdb_azblob_is_url("https://x/y"));
    ck_assert(!tsdb_azblob_is_url("/var/backups/tsdb"));
    ck_assert(!tsdb_azblob_is_url("ftp://x/y"));
}
END_TEST

START_TEST(test_tsdb_azblob_open_refuses)
{
    ck_assert_ptr_nonnull(strstr(s_open_err("https://acct.blob.core.windows.net/c/b", NULL, NULL),
                                 "no authorisation"));
    ck_assert_ptr_nonnull(
        strstr(s_open_err("https://acct.blob.core.windows.net", NULL, NULL), "needs a path"));
    ck_assert_ptr_nonnull(strstr(
        s_open_err("https://acct.blob.core.windows.net/?sig=x", NULL, NULL), "needs a path"));
    ck_assert_ptr_nonnull(strstr(s_open_err("/dir", NULL, NULL), "no http"));
    // key files: missing, not base64, fine, and with a SAS too
    ck_assert_ptr_nonnull(
        strstr(s_open_err("https://acct.blob.core.windows.net/c/b", S_DIR "/nokey", NULL),
               "No such file"));
    s_write(S_DIR "/key", "not a key!\n");
    ck_assert_ptr_nonnull(
        strstr(s_open_err("https://acct.blob.core.windows.net/c/b", S_DIR "/key", NULL),
               "not an account key"));
    s_write(S_DIR "/key", "c2VjcmV0LWtleS1ieXRlcw==\n");
    ck_assert_str_eq(s_open_err("https://acct.blob.core.windows.net/c/b", S_DIR "/key", NULL), "");
    ck_assert_ptr_nonnull(
        strstr(s_open_err("https://acct.blob.core.windows.net/c/b?sig=x", S_DIR "/key", NULL),
               "not both"));
    // no account in a path-style host unless given
    ck_assert_ptr_nonnull(strstr(s_open_err("http://127.0.0.1:10000/acct/c/b", S_DIR "/key", NULL),
                                 "--azure.account-name"));
    ck_assert_str_eq(s_open_err("http://127.0.0.1:10000/acct/c/b", S_DIR "/key", "acct"), "");
    // the SAS never shows in an error
    ck_assert_ptr_null(strstr(
        s_open_err("http://127.0.0.1:1/c/b?sig=TOPSECRET", S_DIR "/key", "acct"), "TOPSECRET"));
}
END_TEST

// --azure.sas-file: the SAS from a file (a Kubernetes Secret), never on the command line.
START_TEST(test_tsdb_azblob_sas_file)
{
    const char *url = "https://acct.blob.core.windows.net/c/b";
    s_write(S_DIR "/sas", "?sv=2021-08-06&sr=b&sp=cw&sig=FILESECRET\n");
    fw_err_t err = {0};
    tsdb_azblob_t *az =
        tsdb_azblob_open(&(struct tsdb_azblob_opts){.url = url, .sas_file = S_DIR "/sas"}, &err);
    ck_assert_msg(az != NULL, "%s", err.msg);
    ck_assert_str_eq(tsdb_azblob_shown(az), "https://acct.blob.core.windows.net/c/b?<secret>");
    tsdb_azblob_destroy(&az);
    s_write(S_DIR "/sas", "sv=2021-08-06&sig=FILESECRET"); // no '?', no newline
    ck_assert_str_eq(s_open_err_sas(url, NULL, S_DIR "/sas", NULL), "");
    // one authorisation only
    ck_assert_ptr_nonnull(strstr(
        s_open_err_sas("https://acct.blob.core.windows.net/c/b?sig=x", NULL, S_DIR "/sas", NULL),
        "give one authorisation"));
    s_write(S_DIR "/key", "c2VjcmV0LWtleS1ieXRlcw==\n");
    ck_assert_ptr_nonnull(
        strstr(s_open_err_sas(url, S_DIR "/key", S_DIR "/sas", NULL), "give one authorisation"));
    // missing, empty, two lines, no signature: refused, and the file's text never shown
    ck_assert_ptr_nonnull(strstr(s_open_err_sas(url, NULL, S_DIR "/nosas", NULL), "No such file"));
    const char *bad[] = {"", "\n", "sv=1&sig=FILESECRET\nsv=2&sig=FILESECRET\n",
                         "sv=2021-08-06&sp=cw FILESECRET", "sv=2021-08-06&sp=FILESECRET"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s_write(S_DIR "/sas", bad[i]);
        const char *msg = s_open_err_sas(url, NULL, S_DIR "/sas", NULL);
        ck_assert_msg(strstr(msg, "not a SAS") != NULL, "case %zu: %s", i, msg);
        ck_assert_ptr_null(strstr(msg, "FILESECRET"));
    }
    unlink(S_DIR "/sas");
}
END_TEST

// fn on a copy of args (NULL-terminated), its messages in out.
static int
s_run(int (*fn)(int, char **, FILE *), const char *const *args, char *out, size_t size)
{
    char *argv[16];
    int argc = 0;
    while (args[argc] && argc < 15) {
        argv[argc] = strdup(args[argc]);
        argc++;
    }
    argv[argc] = NULL;
    FILE *f = fmemopen(out, size, "w");
    ck_assert_ptr_nonnull(f);
    int rc = fn(argc, argv, f);
    fclose(f);
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    return rc;
}

START_TEST(test_tsdb_azblob_backup_restore_exits)
{
    char out[1024] = "";
    // usage: no --to, no --from, an unknown flag, a block size over 100MiB
    ck_assert_int_eq(
        s_run(tsdb_backup_main, (const char *const[]){"backup", NULL}, out, sizeof(out)), 2);
    ck_assert_ptr_nonnull(strstr(out, "--to="));
    ck_assert_int_eq(
        s_run(tsdb_restore_main, (const char *const[]){"restore", NULL}, out, sizeof(out)), 2);
    ck_assert_int_eq(
        s_run(tsdb_backup_main,
              (const char *const[]){"backup", "--to=" S_DIR "/b", "--azure.block-size=1GiB", NULL},
              out, sizeof(out)),
        2);
    // nothing to back up: 1, said clearly, nothing made
    ck_assert_int_eq(s_run(tsdb_backup_main,
                           (const char *const[]){"backup", "--storage.tsdb.path=" S_DIR "/none",
                                                 "--to=" S_DIR "/b", NULL},
                           out, sizeof(out)),
                     1);
    ck_assert_ptr_nonnull(strstr(out, "no floorwatch storage here"));
    ck_assert_int_ne(access(S_DIR "/b", F_OK), 0);
    // a restore into a directory holding anything is refused
    mkdir(S_DIR "/target", 0755);
    s_write(S_DIR "/target/x", "");
    ck_assert_int_eq(
        s_run(tsdb_restore_main,
              (const char *const[]){"restore", "--from=https://a.blob.core.windows.net/c/b?sig=s",
                                    "--storage.tsdb.path=" S_DIR "/target", NULL},
              out, sizeof(out)),
        1);
    ck_assert_ptr_nonnull(strstr(out, "is not empty"));
}
END_TEST

Suite *
tsdb_azblob_suite(void)
{
    Suite *s = suite_create("tsdb_azblob");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, s_setup, s_teardown);
    tcase_add_test(tc, test_tsdb_azblob_open_sas);
    tcase_add_test(tc, test_tsdb_azblob_open_refuses);
    tcase_add_test(tc, test_tsdb_azblob_sas_file);
    tcase_add_test(tc, test_tsdb_azblob_backup_restore_exits);
    suite_add_tcase(s, tc);
    return s;
}
