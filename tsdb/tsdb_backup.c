/*  tsdb_backup.c — `tsdb backup` and `tsdb restore` (see tsdb_backup.h).
 */
#include "tsdb_backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_err.h"
#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_time.h"
#include "tsdb_azblob.h"

struct s_cli {
    const char *path;     // --storage.tsdb.path
    const char *to;       // backup: --to
    const char *from;     // restore: --from
    const char *key_file; // --azure.account-key-file
    const char *sas_file; // --azure.sas-file
    const char *account;  // --azure.account-name
    int64_t block_size;   // --azure.block-size
    int64_t timeout_ms;   // --azure.timeout
    int64_t retries;      // --azure.retries
    const char *log_level;
};

// clang-format off
#define S_AZURE_FLAGS                                                                          \
    {"azure.account-key-file", FW_FLAG_STR, offsetof(struct s_cli, key_file), NULL,            \
     "file holding the storage account's key (base64): sign with Shared Key instead of a SAS"},\
    {"azure.sas-file", FW_FLAG_STR, offsetof(struct s_cli, sas_file), NULL,                    \
     "file holding the SAS (one line, sv=...&sig=...): keeps it off the command line"},        \
    {"azure.account-name", FW_FLAG_STR, offsetof(struct s_cli, account), NULL,                 \
     "storage account for Shared Key (default: the first label of the URL's host)"},           \
    {"azure.block-size", FW_FLAG_SIZE, offsetof(struct s_cli, block_size), "4MiB",             \
     "bytes per Put Block (at most 100MiB)"},                                                  \
    {"azure.timeout", FW_FLAG_DURATION, offsetof(struct s_cli, timeout_ms), "5m",              \
     "longest one upload request may take; a download fails after stalling this long"},                                                    \
    {"azure.retries", FW_FLAG_INT, offsetof(struct s_cli, retries), "4",                       \
     "retries of a request that failed to connect, timed out or got 408, 429 or 5xx"},         \
    {"log.level", FW_FLAG_STR, offsetof(struct s_cli, log_level), "warn",                      \
     "debug, info, warn, error"}
// clang-format on

static const struct fw_flag s_backup_flags[] = {
    {"storage.tsdb.path", FW_FLAG_STR, offsetof(struct s_cli, path), "data/tsdb",
     "data directory to back up (read-only; a tsdb may run and ingest on it)"},
    {"to", FW_FLAG_STR, offsetof(struct s_cli, to), NULL,
     "an empty or new directory, or an Azure blob URL (https://ACCOUNT.blob.core.windows.net/"
     "CONTAINER/NAME, with ?SAS, --azure.sas-file or --azure.account-key-file)"},
    S_AZURE_FLAGS,
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

static const struct fw_flag s_restore_flags[] = {
    {"from", FW_FLAG_STR, offsetof(struct s_cli, from), NULL,
     "a backup directory or Azure blob URL written by tsdb backup"},
    {"storage.tsdb.path", FW_FLAG_STR, offsetof(struct s_cli, path), NULL,
     "an empty or new directory to restore into"},
    S_AZURE_FLAGS,
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

// The blob client for url with the command line's --azure.* flags. NULL with err.
static tsdb_azblob_t *
s_azblob_open(const struct s_cli *cli, const char *url, fw_err_t *err)
{
    return tsdb_azblob_open(&(struct tsdb_azblob_opts){.url = url,
                                                       .key_file = cli->key_file,
                                                       .sas_file = cli->sas_file,
                                                       .account = cli->account,
                                                       .timeout_ms = cli->timeout_ms,
                                                       .retries = cli->retries},
                            err);
}

// An empty (lost+found aside) or new directory, made when missing. 0 or -1 with err.
static int
s_empty_dir(const char *dir, fw_err_t *err)
{
    if (mkdir(dir, 0755) == 0)
        return 0;
    if (errno != EEXIST) {
        fw_err_set(err, "cannot make %s: %s", dir, strerror(errno));
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d) {
        fw_err_set(err, "cannot read %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    const char *other = NULL;
    while (!other && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strcmp(e->d_name, "lost+found") != 0)
            other = e->d_name;
    if (other)
        fw_err_set(err, "%s is not empty (it holds \"%s\"): give an empty or new directory", dir,
                   other);
    closedir(d);
    return other ? -1 : 0;
}

// dir's environment, read-only, holding floorwatch storage. NULL with err. Without write
// access to lock.mdb, LMDB can only read without its lock (MDB_NOLOCK), which is safe only
// when nobody writes there: a backup (idle: false) beside a running tsdb refuses it, as the
// writer could reuse pages the copy is reading; a restore's source (idle: true) allows it.
static MDB_env *
s_env_open(const char *dir, bool idle, fw_err_t *err)
{
    char p[4096];
    struct stat st;
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    if (stat(p, &st) != 0) {
        fw_err_set(err, "%s: %s: no floorwatch storage here", p, strerror(errno));
        return NULL;
    }
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi dbi;
    MDB_val k = {6, (void *)"format"}, v;
    int rc = mdb_env_create(&env);
    if (rc == 0) {
        mdb_env_set_maxdbs(env, 16);
        rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS, 0644);
        if ((rc == EACCES || rc == EROFS) && idle)
            rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0644);
        else if (rc == EACCES || rc == EROFS) {
            fw_err_set(err,
                       "cannot open %s: %s: a backup needs write access to its lock.mdb "
                       "(LMDB's reader table, which keeps a running tsdb from reusing the "
                       "pages being copied)",
                       dir, mdb_strerror(rc));
            mdb_env_close(env);
            return NULL;
        }
    }
    if (rc == 0 && (rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) == 0) {
        if (mdb_dbi_open(txn, "meta", 0, &dbi) != 0 || mdb_get(txn, dbi, &k, &v) != 0)
            rc = MDB_NOTFOUND;
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND) {
            fw_err_set(err, "%s holds an LMDB database but no floorwatch storage", dir);
            mdb_env_close(env);
            return NULL;
        }
    }
    if (rc != 0) {
        fw_err_set(err, "cannot open %s: %s", dir, mdb_strerror(rc));
        if (env)
            mdb_env_close(env);
        return NULL;
    }
    return env;
}

// LMDB's compacting copy of src (idle: see s_env_open) into dst (an empty or new
// directory). 0 or -1 with err.
static int
s_copy_dir(const char *src, bool idle, const char *dst, fw_err_t *err)
{
    MDB_env *env = s_env_open(src, idle, err);
    if (!env)
        return -1;
    int rc = s_empty_dir(dst, err);
    if (rc == 0 && (rc = mdb_env_copy2(env, dst, MDB_CP_COMPACT)) != 0) {
        fw_err_set(err, "copy of %s to %s: %s", src, dst, mdb_strerror(rc));
        char p[4096];
        snprintf(p, sizeof(p), "%s/data.mdb", dst);
        unlink(p);
        rc = -1;
    }
    mdb_env_close(env);
    return rc;
}

struct s_writer {
    MDB_env *env;
    int fd;
    int rc;
};

static void *
s_write_copy(void *arg)
{
    struct s_writer *w = arg;
    w->rc = mdb_env_copyfd2(w->env, w->fd, MDB_CP_COMPACT);
    close(w->fd);
    return NULL;
}

// Read up to len bytes, short only at the end. -1 on error.
static ssize_t
s_read_full(int fd, char *buf, size_t len)
{
    size_t n = 0;
    while (n < len) {
        ssize_t r = read(fd, buf + n, len - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        n += (size_t)r;
    }
    return (ssize_t)n;
}

// Stream the compacted copy of src into blocks of the blob. 0 or -1 with err.
static int
s_backup_blob(const struct s_cli *cli, const char *src, fw_err_t *err)
{
    tsdb_azblob_t *az = s_azblob_open(cli, cli->to, err);
    if (!az)
        return -1;
    MDB_env *env = s_env_open(src, false, err);
    if (!env) {
        tsdb_azblob_destroy(&az);
        return -1;
    }
    int pfd[2];
    if (pipe(pfd) != 0) {
        fw_err_set(err, "pipe: %s", strerror(errno));
        mdb_env_close(env);
        tsdb_azblob_destroy(&az);
        return -1;
    }
    struct s_writer w = {env, pfd[1], 0};
    pthread_t th;
    fw_thread_create(&th, NULL, s_write_copy, &w);
    char *buf = fw_malloc((size_t)cli->block_size);
    int rc = 0;
    uint64_t total = 0;
    for (;;) {
        ssize_t n = s_read_full(pfd[0], buf, (size_t)cli->block_size);
        if (n < 0) {
            fw_err_set(err, "reading the copy: %s", strerror(errno));
            rc = -1;
            break;
        }
        if (n == 0)
            break;
        if (tsdb_azblob_put_block(az, buf, (size_t)n, err) != 0) {
            rc = -1;
            break;
        }
        total += (uint64_t)n;
    }
    close(pfd[0]); // a writer still copying gets EPIPE and stops
    pthread_join(th, NULL);
    free(buf);
    if (rc == 0 && w.rc != 0) {
        fw_err_set(err, "copy of %s: %s", src, mdb_strerror(w.rc));
        rc = -1;
    }
    if (rc == 0)
        rc = tsdb_azblob_commit(az, err);
    if (rc == 0)
        fw_info("tsdb.backup.done", "to=\"%s\" bytes=%llu", tsdb_azblob_shown(az),
                (unsigned long long)total);
    mdb_env_close(env);
    tsdb_azblob_destroy(&az);
    return rc;
}

static int
s_parse(int argc, char **argv, const char *name, const char *about, const struct fw_flag *flags,
        struct s_cli *cli, FILE *errout)
{
    int rc = fw_flags_parse(argc, argv, name, about, flags, cli);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    struct fw_common_opts common = {.log_level = cli->log_level, .log_format = "logfmt"};
    if (fw_flags_init_log("tsdb", &common) < 0)
        return 2;
    if (cli->block_size > 100 * 1024 * 1024) {
        fprintf(errout, "%s: --azure.block-size: at most 100MiB\n", name);
        return 2;
    }
    if (cli->retries < 0 || cli->retries > 100) {
        fprintf(errout, "%s: --azure.retries: 0 to 100\n", name);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN); // a failed upload closes the pipe under the copy
    return -1;
}

int
tsdb_backup_main(int argc, char **argv, FILE *errout)
{
    struct s_cli cli = {0};
    int rc = s_parse(argc, argv, "tsdb backup",
                     "write a consistent, compacted copy of a data directory (a tsdb may run on "
                     "it) to a directory or an Azure blob",
                     s_backup_flags, &cli, errout);
    if (rc >= 0)
        return rc;
    if (!cli.to || !*cli.to) {
        fprintf(errout, "tsdb backup: --to=DIR or --to=https://ACCOUNT.blob.core.windows.net/"
                        "CONTAINER/NAME?SAS is required\n");
        return 2;
    }
    fw_err_t err = {0};
    int64_t t0 = fw_time_now_ms();
    if (tsdb_azblob_is_url(cli.to))
        rc = s_backup_blob(&cli, cli.path, &err);
    else
        rc = s_copy_dir(cli.path, false, cli.to, &err);
    if (rc != 0) {
        fprintf(errout, "tsdb backup: %s (the database at %s is untouched)\n", err.msg, cli.path);
        return 1;
    }
    fprintf(errout, "tsdb backup: %s backed up in %lld ms\n", cli.path,
            (long long)(fw_time_now_ms() - t0));
    return 0;
}

// Download the blob into dir/data.mdb.part, check it, rename it data.mdb. 0 or -1 with err.
static int
s_restore_blob(const struct s_cli *cli, fw_err_t *err)
{
    tsdb_azblob_t *az = s_azblob_open(cli, cli->from, err);
    if (!az)
        return -1;
    char part[4096], final[4096];
    snprintf(part, sizeof(part), "%s/data.mdb.part", cli->path);
    snprintf(final, sizeof(final), "%s/data.mdb", cli->path);
    int rc = -1;
    uint64_t bytes = 0;
    int fd = open(part, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        fw_err_set(err, "%s: %s", part, strerror(errno));
        goto out;
    }
    if (tsdb_azblob_get(az, fd, &bytes, err) != 0)
        goto out_unlink;
    if (fsync(fd) != 0) {
        fw_err_set(err, "%s: fsync: %s", part, strerror(errno));
        goto out_unlink;
    }
    close(fd);
    fd = -1;
    if (rename(part, final) != 0) {
        fw_err_set(err, "rename %s: %s", part, strerror(errno));
        goto out_unlink;
    }
    MDB_env *env = s_env_open(cli->path, true, err);
    if (!env) {
        char msg[sizeof(err->msg)];
        snprintf(msg, sizeof(msg), "%s", err->msg);
        fw_err_set(err, "the blob %s is no tsdb backup: %s", tsdb_azblob_shown(az), msg);
        unlink(final);
        char lock[4096];
        snprintf(lock, sizeof(lock), "%s/lock.mdb", cli->path);
        unlink(lock);
        goto out;
    }
    mdb_env_close(env);
    char lock[4096];
    snprintf(lock, sizeof(lock), "%s/lock.mdb", cli->path);
    unlink(lock); // the check's; tsdb makes its own
    rc = 0;
    goto out;
out_unlink:
    unlink(part);
out:
    if (fd >= 0)
        close(fd);
    tsdb_azblob_destroy(&az);
    return rc;
}

int
tsdb_restore_main(int argc, char **argv, FILE *errout)
{
    struct s_cli cli = {0};
    int rc = s_parse(argc, argv, "tsdb restore",
                     "restore a backup written by tsdb backup into an empty directory",
                     s_restore_flags, &cli, errout);
    if (rc >= 0)
        return rc;
    if (!cli.from || !*cli.from || !cli.path || !*cli.path) {
        fprintf(errout, "tsdb restore: --from=DIR|URL and --storage.tsdb.path=EMPTYDIR are "
                        "required\n");
        return 2;
    }
    fw_err_t err = {0};
    if (tsdb_azblob_is_url(cli.from)) {
        rc = s_empty_dir(cli.path, &err);
        if (rc == 0)
            rc = s_restore_blob(&cli, &err);
    } else {
        rc = s_copy_dir(cli.from, true, cli.path, &err);
        if (rc == 0) {
            char lock[4096];
            snprintf(lock, sizeof(lock), "%s/lock.mdb", cli.path);
            unlink(lock);
        }
    }
    if (rc != 0) {
        fprintf(errout, "tsdb restore: %s\n", err.msg);
        return 1;
    }
    fprintf(errout, "tsdb restore: restored into %s\n", cli.path);
    return 0;
}
