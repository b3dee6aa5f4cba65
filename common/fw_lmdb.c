/*  fw_lmdb.c — see fw_lmdb.h. */
#include "fw_lmdb.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "fw_mem.h"

int
fw_lmdb_mkdir_p(const char *dir)
{
    char *tmp = fw_strdup(dir);
    int rc = 0;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        rc = -1;
    free(tmp);
    return rc;
}

static int
s_allowed(const char *name, const char *const *also)
{
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, "lost+found") == 0 ||
        strcmp(name, "lock.mdb") == 0)
        return 1;
    for (size_t k = 0; also && also[k]; k++)
        if (strncmp(name, also[k], strlen(also[k])) == 0)
            return 1;
    return 0;
}

int
fw_lmdb_check_dir(const char *dir, const char *const *also, const char *what, const char *flag,
                  fw_err_t *err)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/data.mdb", dir);
    struct stat st;
    if (stat(p, &st) == 0)
        return 0;
    DIR *d = opendir(dir);
    if (!d) {
        fw_err_set(err, "cannot read storage directory %s: %s", dir, strerror(errno));
        return -1;
    }
    struct dirent *e;
    const char *other = NULL;
    while (!other && (e = readdir(d)) != NULL)
        if (!s_allowed(e->d_name, also))
            other = e->d_name;
    if (other)
        fw_err_set(err,
                   "storage directory %s is not empty (it holds \"%s\") and holds no %s "
                   "(data.mdb): give %s an empty or new directory",
                   dir, other, what, flag);
    closedir(d);
    return other ? -1 : 0;
}

int
fw_lmdb_check_size(MDB_env *env, int fd, const char *dir, fw_err_t *err)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0 || fstat(fd, &fs) != 0)
        return 0;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)fs.st_size >= need)
        return 0;
    fw_err_set(err,
               "data file %s/data.mdb is truncated: %lld bytes, but its database needs %llu: "
               "restore it from a backup, or move the directory away to start empty",
               dir, (long long)fs.st_size, (unsigned long long)need);
    return -1;
}

// Create and open an environment on dir; 0 and *env, or -1 with err (nothing left open).
static int
s_env_open(MDB_env **env, const char *dir, unsigned maxdbs, size_t mapsize, unsigned flags,
           fw_err_t *err)
{
    MDB_env *e;
    int rc = mdb_env_create(&e);
    if (rc != 0) {
        fw_err_set(err, "lmdb env_create in %s: %s", dir, mdb_strerror(rc));
        return -1;
    }
    mdb_env_set_maxdbs(e, maxdbs);
    if ((rc = mdb_env_set_mapsize(e, mapsize)) == 0 &&
        (rc = mdb_env_open(e, dir, flags, 0644)) != 0 &&
        (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED)) {
        fw_err_set(err,
                   "data file %s/data.mdb is damaged or not an LMDB database (%s): restore it "
                   "from a backup, or move the directory away to start empty",
                   dir, mdb_strerror(rc));
        mdb_env_close(e);
        return -1;
    }
    if (rc != 0) {
        fw_err_set(err, "lmdb open in %s: %s", dir, mdb_strerror(rc));
        mdb_env_close(e);
        return -1;
    }
    *env = e;
    return 0;
}

// MDB_WRITEMAP extends the data file to the map's size (ftruncate) as it opens it, which
// would hide a truncated copy behind zeroes: a data file already there is checked first
// through a read-only environment, closed again before the real one opens (LMDB's locks on
// lock.mdb are the process's, so two environments on one directory must not overlap).
static int
s_check_before_writemap(const char *dir, unsigned maxdbs, size_t mapsize, fw_err_t *err)
{
    char path[4096];
    struct stat fs;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (stat(path, &fs) != 0 || fs.st_size == 0)
        return 0; // a new environment (LMDB writes its meta pages into an empty file)
    MDB_env *e;
    int fd;
    if (s_env_open(&e, dir, maxdbs, mapsize, MDB_RDONLY, err) != 0)
        return -1;
    int rc = mdb_env_get_fd(e, &fd) == 0 ? fw_lmdb_check_size(e, fd, dir, err) : 0;
    mdb_env_close(e);
    return rc;
}

int
fw_lmdb_env_open(MDB_env **env, const char *dir, unsigned maxdbs, size_t mapsize, unsigned flags,
                 const char *const *also, const char *what, const char *flag, const char *daemon,
                 fw_err_t *err)
{
    *env = NULL;
    if (fw_lmdb_mkdir_p(dir) != 0) {
        fw_err_set(err, "cannot create storage directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (fw_lmdb_check_dir(dir, also, what, flag, err) != 0)
        return -1;
    if ((flags & MDB_WRITEMAP) && s_check_before_writemap(dir, maxdbs, mapsize, err) != 0)
        return -1;
    MDB_env *e;
    if (s_env_open(&e, dir, maxdbs, mapsize, flags, err) != 0)
        return -1;
    int fd;
    if (mdb_env_get_fd(e, &fd) != 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        fw_err_set(err, "storage directory %s is in use by another %s", dir, daemon);
        mdb_env_close(e);
        return -1;
    }
    if (fw_lmdb_check_size(e, fd, dir, err) != 0) {
        mdb_env_close(e); // also releases the flock
        return -1;
    }
    *env = e;
    return 0;
}
