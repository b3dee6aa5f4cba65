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

#endif
