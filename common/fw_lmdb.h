/*  fw_lmdb.h — the checks a daemon runs before and after opening its LMDB environment
    (tsdb's store, alertd's state): the directory is made, holds floorwatch's data.mdb or
    nothing else, and the data file is not truncated. One place, so both refuse a wrong
    directory with the same words.

    Threads: no state; call from any thread.
*/
#ifndef FW_LMDB_H
#define FW_LMDB_H

#include <lmdb.h>

#include "fw_err.h"

// Make dir and its parents (mode 0755). 0, or -1 with errno set.
int fw_lmdb_mkdir_p(const char *dir);

// A directory without data.mdb may hold only lost+found, lock.mdb and names starting with
// one of also[] (NULL-terminated; may be NULL): anything else is somebody else's data,
// which LMDB would happily share the directory with. 0, or -1 with err naming what is there
// and saying to give flag an empty or new directory; what names the data ("floorwatch
// storage").
int fw_lmdb_check_dir(const char *dir, const char *const *also, const char *what, const char *flag,
                      fw_err_t *err);

// The data file (open as fd) must hold every page env's meta page names: a truncated copy
// would fault when read. 0 (also when the sizes cannot be read), or -1 with err.
int fw_lmdb_check_size(MDB_env *env, int fd, const char *dir, fw_err_t *err);

// Make dir (fw_lmdb_mkdir_p), check it (fw_lmdb_check_dir with also, what and flag), and
// open an environment on it (maxdbs named databases, a map of mapsize bytes, LMDB flags
// flags) that this process alone holds (an exclusive flock on the data file: "in use by
// another <daemon>") and whose data file is whole (fw_lmdb_check_size). A file LMDB cannot
// read is refused saying to restore it or move the directory away. With MDB_WRITEMAP in
// flags, LMDB grows the data file to mapsize (sparse) as it opens it, so an existing file is
// checked before that. 0 and *env, or -1 with err (nothing left open).
int fw_lmdb_env_open(MDB_env **env, const char *dir, unsigned maxdbs, size_t mapsize,
                     unsigned flags, const char *const *also, const char *what, const char *flag,
                     const char *daemon, fw_err_t *err);

#endif
