/*  alertd_state.c — the LMDB environment behind alertd_state.h.

    A record's value is 8 bytes of expires_at (little-endian) followed by the module's text.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "alertd_state.h"
#include "fw_lmdb.h"
#include "fw_mem.h"
#include "fw_thread.h"

// 1 GiB of address space. With MDB_WRITEMAP the data file's size is the map's from the
// first open (a sparse file: only the pages used take disk blocks).
#define S_MAPSIZE ((size_t)1 << 30)
// Disk kept allocated (posix_fallocate) past the pages in use, checked as each transaction
// begins. Through a writable map a page written where the file has no block gets SIGBUS
// when the disk is full, not an error; with the blocks reserved, a full disk fails the
// reservation instead, and the transaction is not begun. 32 MiB is more than one
// transaction writes (the largest: one 16 MiB POST body's alerts); the reservation grows
// S_GROW past that at a time, so fallocate runs once per 16 MiB of growth.
#define S_HEADROOM ((off_t)32 << 20)
#define S_GROW ((off_t)16 << 20)

static const char *const s_db_names[ALERTD_STATE_DBS] = {"alerts", "silences", "nflog"};

struct alertd_state {
    char *dir; // owned
    MDB_env *env;
    MDB_dbi meta, dbs[ALERTD_STATE_DBS];
    MDB_txn *txn;   // the open batch, NULL when none
    int txn_rc;     // first error of the batch
    int begin_rc;   // why the last begin failed, reported by the commit that follows it
    int fd;         // the data file (LMDB's), for the reservation
    unsigned psize; // LMDB's page size
    off_t reserved; // bytes of the data file with blocks allocated, from 0
    // The syncer thread (alertd_state_sync_later), started at the first request, sleeps in
    // a read of sync_fd, a timerfd the first request of a round arms; sync_lock guards the
    // fields below it.
    pthread_t syncer;
    bool syncer_started;
    int sync_fd; // owned once the syncer started, else -1
    pthread_mutex_t sync_lock;
    bool sync_wanted, sync_armed, sync_stop;
    uint64_t synced;      // fsyncs done by the syncer
    size_t sync_failures; // since alertd_state_sync_failures last took them
    int sync_rc;          // the last failure's code
};

alertd_state_t *
alertd_state_new(void)
{
    alertd_state_t *self = fw_calloc(1, sizeof(alertd_state_t));
    pthread_mutex_init(&self->sync_lock, NULL);
    self->sync_fd = -1;
    self->fd = -1;
    return self;
}

static int s_lmdb_fail(fw_err_t *err, const char *dir, const char *what, int rc);
static int s_reserve(alertd_state_t *self);

// Arm the syncer's timer to fire after ms (0: at once). Called with sync_lock held.
static void
s_sync_arm(alertd_state_t *self, long ms)
{
    struct itimerspec at = {{0, 0}, {ms / 1000, ms % 1000 * 1000000L}};
    if (ms == 0)
        at.it_value.tv_nsec = 1; // 0 would disarm it
    (void)timerfd_settime(self->sync_fd, 0, &at, NULL);
    self->sync_armed = true;
}

// The syncer: one mdb_env_sync per round of requests, when the round's timer fires, until
// asked to stop with none left. It sleeps in read() on the timerfd rather than on a condition
// variable: the request (alertd_state_sync_later, on alertd's loop right after a flush's
// NOTIFYs were handed to ZeroMQ) then only programs a kernel timer. A signal woke this
// thread at once, only for it to wait out the delay; on 2 busy cores that wake-up (and the
// lock it took back from the loop) ran while the NOTIFY was on its way to notifyd.
static void *
s_syncer(void *arg)
{
    alertd_state_t *self = arg;
    (void)prctl(PR_SET_NAME, "alertd-sync", 0, 0, 0);
    for (;;) {
        uint64_t fired;
        if (read(self->sync_fd, &fired, sizeof fired) < 0 && errno != EINTR && errno != EAGAIN)
            break; // cannot happen with a valid timerfd; destroy then syncs itself
        pthread_mutex_lock(&self->sync_lock);
        bool wanted = self->sync_wanted, stop = self->sync_stop;
        self->sync_wanted = false;
        self->sync_armed = false;
        pthread_mutex_unlock(&self->sync_lock);
        if (wanted) {
            int rc = mdb_env_sync(self->env, 1);
            pthread_mutex_lock(&self->sync_lock);
            self->synced++;
            if (rc != 0) {
                self->sync_failures++;
                self->sync_rc = rc;
            }
            pthread_mutex_unlock(&self->sync_lock);
        }
        if (stop)
            break;
    }
    return NULL;
}

// Start the syncer with its timerfd. Called with sync_lock held.
static void
s_syncer_start(alertd_state_t *self)
{
    self->sync_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (self->sync_fd < 0)
        return;
    self->syncer_started = fw_thread_create(&self->syncer, NULL, s_syncer, self) == 0;
    if (!self->syncer_started) {
        close(self->sync_fd);
        self->sync_fd = -1;
    }
}

void
alertd_state_sync_later(alertd_state_t *self)
{
    if (!self || !self->env)
        return;
    pthread_mutex_lock(&self->sync_lock);
    if (!self->syncer_started)
        s_syncer_start(self);
    if (self->syncer_started) {
        self->sync_wanted = true;
        // The first request of a round arms the timer; the ones until it fires share it.
        if (!self->sync_armed)
            s_sync_arm(self, ALERTD_STATE_SYNC_DELAY_MS);
    }
    pthread_mutex_unlock(&self->sync_lock);
    if (!self->syncer_started)
        (void)alertd_state_sync(self, NULL); // no thread: at once, as before
}

uint64_t
alertd_state_synced(alertd_state_t *self)
{
    if (!self)
        return 0;
    pthread_mutex_lock(&self->sync_lock);
    uint64_t n = self->synced;
    pthread_mutex_unlock(&self->sync_lock);
    return n;
}

size_t
alertd_state_sync_failures(alertd_state_t *self, fw_err_t *err)
{
    if (!self)
        return 0;
    pthread_mutex_lock(&self->sync_lock);
    size_t n = self->sync_failures;
    int rc = self->sync_rc;
    self->sync_failures = 0;
    pthread_mutex_unlock(&self->sync_lock);
    if (n > 0)
        (void)s_lmdb_fail(err, self->dir, "sync", rc);
    return n;
}

const char *
alertd_state_dir(const alertd_state_t *self)
{
    return self ? self->dir : NULL;
}

static int
s_lmdb_fail(fw_err_t *err, const char *dir, const char *what, int rc)
{
    fw_err_set(err, "lmdb %s in %s: %s", what, dir, mdb_strerror(rc));
    return -1;
}

// 0 with *fresh for an empty environment, 0 for our format, -1 with err otherwise.
static int
s_check_format(alertd_state_t *self, bool *fresh, fw_err_t *err)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    *fresh = false;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return s_lmdb_fail(err, self->dir, "read txn", rc);
    rc = mdb_dbi_open(txn, "meta", 0, &dbi);
    if (rc == 0) {
        MDB_val k = {6, (void *)"format"}, v;
        rc = mdb_get(txn, dbi, &k, &v);
        char fmt[32] = "";
        if (rc == 0)
            snprintf(fmt, sizeof fmt, "%.*s", (int)(v.mv_size < 16 ? v.mv_size : 16),
                     (const char *)v.mv_data);
        mdb_txn_abort(txn);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return s_lmdb_fail(err, self->dir, "format", rc);
        char want[8];
        snprintf(want, sizeof want, "%d", ALERTD_STATE_FORMAT);
        if (rc == 0 && strcmp(fmt, want) == 0)
            return 0;
        fw_err_set(err,
                   "storage directory %s holds alertd state format \"%s\"; this alertd reads "
                   "format %d: run the alertd release that wrote it, or move the directory "
                   "away to start empty",
                   self->dir, fmt, ALERTD_STATE_FORMAT);
        return -1;
    }
    MDB_cursor *cur;
    MDB_val k, v;
    bool empty = true;
    if (rc == MDB_NOTFOUND && (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0 &&
        (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        empty = rc == MDB_NOTFOUND;
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    mdb_txn_abort(txn);
    if (rc != 0)
        return s_lmdb_fail(err, self->dir, "format", rc);
    if (empty) {
        *fresh = true;
        return 0;
    }
    fw_err_set(err,
               "storage directory %s holds an LMDB database that is not alertd state: give "
               "--storage.path another directory",
               self->dir);
    return -1;
}

int
alertd_state_open(alertd_state_t *self, const char *dir, fw_err_t *err)
{
    int rc;
    bool fresh;
    MDB_txn *txn = NULL;
    free(self->dir);
    self->dir = fw_strdup(dir);
    // silences.json: what older alertd releases kept, imported at start
    static const char *const also[] = {"silences.json", NULL};
    // MDB_WRITEMAP: a transaction writes its pages in the shared map, so a commit makes no
    // system call (it made 5-6 pwrite64, one per dirty page and the meta page, on every
    // alert POST's commit). A SIGKILL loses nothing committed: the pages are the kernel's
    // page cache either way, and the syncer's mdb_env_sync (an msync) still bounds what a
    // machine crash can lose, as MDB_NOSYNC did without the map. The cost: a stray write
    // through a pointer into the map could damage the file; values are copied in only by
    // alertd_state_put.
    if (fw_lmdb_env_open(&self->env, dir, 8, S_MAPSIZE, MDB_NOTLS | MDB_NOSYNC | MDB_WRITEMAP, also,
                         "alertd state", "--storage.path", "alertd", err) != 0)
        return -1;
    if (s_check_format(self, &fresh, err) != 0)
        goto fail_quiet;
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
        goto fail_env;
    if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta)) != 0)
        goto fail_txn;
    for (int i = 0; i < ALERTD_STATE_DBS; i++)
        if ((rc = mdb_dbi_open(txn, s_db_names[i], MDB_CREATE, &self->dbs[i])) != 0)
            goto fail_txn;
    if (fresh) {
        char f[8];
        snprintf(f, sizeof f, "%d", ALERTD_STATE_FORMAT);
        MDB_val k = {6, (void *)"format"}, v = {strlen(f), f};
        if ((rc = mdb_put(txn, self->meta, &k, &v, 0)) != 0)
            goto fail_txn;
    }
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc != 0 || (rc = mdb_env_sync(self->env, 1)) != 0)
        goto fail_env;
    MDB_stat ms;
    if (mdb_env_get_fd(self->env, &self->fd) != 0 || mdb_env_stat(self->env, &ms) != 0)
        self->fd = -1;
    else
        self->psize = ms.ms_psize;
    self->reserved = 0;
    if ((rc = s_reserve(self)) != 0) {
        fw_err_set(err, "cannot reserve disk for the state in %s: %s", dir, strerror(rc));
        goto fail_quiet;
    }
    return 0;
fail_txn:
    mdb_txn_abort(txn);
fail_env:
    s_lmdb_fail(err, dir, "open", rc);
fail_quiet:
    mdb_env_close(self->env); // also releases the flock
    self->env = NULL;
    return -1;
}

void
alertd_state_destroy(alertd_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_state_t *self = *self_p;
    if (self->syncer_started) { // it syncs what was asked for, then ends
        pthread_mutex_lock(&self->sync_lock);
        self->sync_stop = true;
        s_sync_arm(self, 0);
        pthread_mutex_unlock(&self->sync_lock);
        pthread_join(self->syncer, NULL);
        close(self->sync_fd);
    }
    if (self->txn)
        mdb_txn_abort(self->txn);
    if (self->env) {
        (void)mdb_env_sync(self->env, 1);
        mdb_env_close(self->env);
    }
    pthread_mutex_destroy(&self->sync_lock);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

// Keep S_HEADROOM allocated past the last page in use: 0, or an errno value. A system call
// only when the used pages come within S_HEADROOM of the reservation.
static int
s_reserve(alertd_state_t *self)
{
    MDB_envinfo info;
    if (self->fd < 0 || mdb_env_info(self->env, &info) != 0)
        return 0;
    off_t used = (off_t)(info.me_last_pgno + 1) * self->psize;
    if (used + S_HEADROOM <= self->reserved)
        return 0;
    off_t want = used + S_HEADROOM + S_GROW;
    if (want > (off_t)S_MAPSIZE)
        want = (off_t)S_MAPSIZE;
    if (want <= self->reserved)
        return 0; // the whole map is reserved
    int rc = posix_fallocate(self->fd, self->reserved, want - self->reserved);
    if (rc == 0)
        self->reserved = want;
    return rc;
}

int
alertd_state_begin(alertd_state_t *self, fw_err_t *err)
{
    if (!self || !self->env || self->txn)
        return 0;
    self->txn_rc = 0;
    int rc = s_reserve(self);
    if (rc != 0) {
        self->begin_rc = rc;
        fw_err_set(err, "cannot reserve disk for the state in %s: %s", self->dir, strerror(rc));
        return -1;
    }
    rc = mdb_txn_begin(self->env, NULL, 0, &self->txn);
    if (rc != 0) {
        self->txn = NULL;
        self->begin_rc = rc;
        return s_lmdb_fail(err, self->dir, "write txn", rc);
    }
    return 0;
}

void
alertd_state_put(alertd_state_t *self, enum alertd_state_db db, const char *key, int64_t expires_at,
                 const void *val, size_t len)
{
    if (!self || !self->txn || self->txn_rc != 0)
        return;
    MDB_val k = {strlen(key), (void *)key}, v = {len + 8, NULL};
    int rc = mdb_put(self->txn, self->dbs[db], &k, &v, MDB_RESERVE);
    if (rc != 0) {
        self->txn_rc = rc;
        return;
    }
    uint64_t e = (uint64_t)expires_at;
    unsigned char *p = v.mv_data;
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(e >> (8 * i));
    if (len)
        memcpy(p + 8, val, len);
}

void
alertd_state_del(alertd_state_t *self, enum alertd_state_db db, const char *key)
{
    if (!self || !self->txn || self->txn_rc != 0)
        return;
    MDB_val k = {strlen(key), (void *)key};
    int rc = mdb_del(self->txn, self->dbs[db], &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        self->txn_rc = rc;
}

int
alertd_state_commit(alertd_state_t *self, bool sync, fw_err_t *err)
{
    if (self && !self->txn && self->begin_rc != 0) { // the batch never began: say why
        int rc = self->begin_rc;
        self->begin_rc = 0;
        return s_lmdb_fail(err, self->dir, "write txn", rc);
    }
    if (!self || !self->txn)
        return 0;
    MDB_txn *txn = self->txn;
    self->txn = NULL;
    if (self->txn_rc != 0) {
        mdb_txn_abort(txn);
        return s_lmdb_fail(err, self->dir, "write", self->txn_rc);
    }
    int rc = mdb_txn_commit(txn);
    if (rc != 0)
        return s_lmdb_fail(err, self->dir, "commit", rc);
    return sync ? alertd_state_sync(self, err) : 0;
}

int
alertd_state_sync(alertd_state_t *self, fw_err_t *err)
{
    if (!self || !self->env)
        return 0;
    int rc = mdb_env_sync(self->env, 1);
    return rc == 0 ? 0 : s_lmdb_fail(err, self->dir, "sync", rc);
}

static int64_t
s_expiry(const MDB_val *v)
{
    const unsigned char *p = v->mv_data;
    uint64_t e = 0;
    for (int i = 0; i < 8; i++)
        e |= (uint64_t)p[i] << (8 * i);
    return (int64_t)e;
}

ssize_t
alertd_state_load(alertd_state_t *self, enum alertd_state_db db, alertd_state_fn fn, void *arg,
                  fw_err_t *err)
{
    if (!self || !self->env)
        return 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    ssize_t n = 0;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return s_lmdb_fail(err, self->dir, "read txn", rc);
    if ((rc = mdb_cursor_open(txn, self->dbs[db], &cur)) != 0) {
        mdb_txn_abort(txn);
        return s_lmdb_fail(err, self->dir, "cursor", rc);
    }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size < 8)
            continue; // not a record of ours: skipped (check_alertd_state)
        n++;
        if (fn(k.mv_data, k.mv_size, s_expiry(&v), (const char *)v.mv_data + 8, v.mv_size - 8,
               arg) != 0) {
            rc = MDB_NOTFOUND;
            break;
        }
    }
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND)
        return s_lmdb_fail(err, self->dir, "read", rc);
    return n;
}

ssize_t
alertd_state_gc(alertd_state_t *self, enum alertd_state_db db, int64_t before, fw_err_t *err)
{
    if (!self || !self->env)
        return 0;
    bool own = !self->txn;
    if (own && alertd_state_begin(self, err) != 0)
        return -1;
    MDB_cursor *cur;
    MDB_val k, v;
    ssize_t n = 0;
    int rc = mdb_cursor_open(self->txn, self->dbs[db], &cur);
    if (rc == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
            if ((v.mv_size < 8 || s_expiry(&v) < before) && (rc = mdb_cursor_del(cur, 0)) == 0)
                n++;
            else if (rc != 0)
                break;
        mdb_cursor_close(cur);
    }
    if (rc != MDB_NOTFOUND && self->txn_rc == 0)
        self->txn_rc = rc;
    if (own && alertd_state_commit(self, false, err) != 0)
        return -1;
    return n;
}
