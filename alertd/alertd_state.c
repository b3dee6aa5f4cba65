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
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "alertd_state.h"
#include "fw_lmdb.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"

// 1 GiB of address space (the data file grows as pages are written and reserved).
#define S_MAPSIZE ((size_t)1 << 30)
// Disk kept allocated (posix_fallocate) past the pages in use. LMDB writes a transaction's
// pages at its commit (pwrite64); a commit that finds the disk full fails whole, losing a
// batch's every record. So every page LMDB may write has its block before LMDB writes it,
// and a full disk stops an operation before it is made, keeping what was committed before:
//
//  - LMDB writes only pages it allocates in the write transaction (the meta pages 0-1 and
//    the pages below the committed last page were written before, so they have blocks), and
//    it allocates them from the free list (pages below the committed last page) or at the
//    end (mt_next_pgno, growing from the committed last page + 1). So a transaction that
//    allocates at most N pages writes nothing past page used + N, used = the committed last
//    page + 1 as it began (mdb_env_info; alertd is the only writer).
//  - Before each put or delete, s_room charges the transaction an upper bound of the pages
//    that operation can allocate (s_put_pages, s_del_pages: LMDB 0.9's B-tree, doubled),
//    and adds s_commit_pages for what the commit allocates (the free-list records). While
//    used + charged + s_commit_pages fits the reservation, every page written has a block.
//  - When the next operation does not fit: a transaction that already holds operations is
//    committed and a new one begun (it starts from the pages actually used, which are far
//    fewer than charged, as most of a batch's charge is the same path copied again); one
//    that holds none first extends the reservation (one value larger than the headroom: a
//    large silence table). When the disk cannot give the blocks, the operation is not made,
//    the batch is aborted and its commit reports "No space left on device". So a batch is
//    committed in parts when it is large, and a failure keeps the parts committed before it.
//
// Splitting is cheaper than sizing the reservation by the charge: a POST of 10,000 alerts
// is charged about 700 MiB (a path and a split chain per alert, 72 KiB) and writes about
// 10. The headroom only decides how often the reservation grows (once per S_GROW) and the
// parts' size (about 400 puts each). Tested on a real full disk by check_alertd_state_full.
#define S_HEADROOM ((off_t)32 << 20)
#define S_GROW ((off_t)16 << 20)

static const char *const s_db_names[ALERTD_STATE_DBS] = {"alerts", "silences", "nflog"};

struct alertd_state {
    char *dir; // owned
    MDB_env *env;
    MDB_dbi meta, main, dbs[ALERTD_STATE_DBS];
    bool batch;         // a batch is open (begin called, commit not yet)
    MDB_txn *txn;       // the batch's write transaction, NULL when none or it failed
    int batch_rc;       // first error of the batch, reported by its commit
    const char *failed; // what failed: "write", "reserve disk for a write", ...
    int fd;             // the data file (LMDB's), for the reservation
    unsigned psize;     // LMDB's page size
    off_t reserved;     // bytes of the data file with blocks allocated, from 0
    size_t used;        // pages in use (committed last page + 1) as the transaction began
    size_t charged;     // pages the transaction's operations may have allocated (s_room)
    size_t parts;       // transactions of the batch committed before the open one
    uint64_t txns;      // write transactions committed (parts of batches counted apart)
    uint64_t overruns;  // commits that used more new pages than they were charged
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
    // Generations (alertd_state_sync_later): requested, the last round's number (the one a
    // request joins while sync_wanted); durable, the highest whose fsync succeeded; wake_at,
    // the generation whose durability makes durable_fd readable (0: none asked for).
    uint64_t requested, durable, wake_at;
    int durable_fd;     // owned eventfd, -1 until open
    long sync_delay_ms; // ALERTD_STATE_SYNC_DELAY_MS, but in the tests
};

alertd_state_t *
alertd_state_new(void)
{
    alertd_state_t *self = fw_calloc(1, sizeof(alertd_state_t));
    pthread_mutex_init(&self->sync_lock, NULL);
    self->sync_fd = -1;
    self->fd = -1;
    self->durable_fd = -1;
    self->sync_delay_ms = ALERTD_STATE_SYNC_DELAY_MS;
    return self;
}

static int s_lmdb_fail(fw_err_t *err, const char *dir, const char *what, int rc);
static int s_reserve(alertd_state_t *self, size_t need);
static bool s_fits(const alertd_state_t *self, size_t pages);
// What the open's own transaction may allocate (the databases' first pages; far less).
#define S_OPEN_PAGES 64
static void s_reserve_lock_file(const char *dir);

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

// Generation gen is fsync'd: publish it, and ring durable_fd when it is the one asked for.
// Called with sync_lock held.
static void
s_durable_locked(alertd_state_t *self, uint64_t gen)
{
    if (gen > self->durable)
        self->durable = gen;
    if (self->wake_at != 0 && self->durable >= self->wake_at) {
        self->wake_at = 0;
        uint64_t one = 1;
        if (write(self->durable_fd, &one, sizeof one) < 0 && errno != EAGAIN)
            fw_warn("storage.wake.fail", "path=%s err=\"%s\"", self->dir, strerror(errno));
    }
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
        uint64_t gen = self->requested; // every request of it was made after its commit
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
            } else {
                s_durable_locked(self, gen);
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

uint64_t
alertd_state_sync_later(alertd_state_t *self)
{
    if (!self || !self->env)
        return 0;
    uint64_t gen;
    pthread_mutex_lock(&self->sync_lock);
    if (!self->syncer_started)
        s_syncer_start(self);
    if (self->syncer_started) {
        // The first request of a round opens a generation and arms the timer; the ones
        // until it fires share both.
        if (!self->sync_wanted) {
            self->sync_wanted = true;
            self->requested++;
        }
        gen = self->requested;
        if (!self->sync_armed)
            s_sync_arm(self, self->sync_delay_ms);
    } else {
        gen = ++self->requested;
    }
    pthread_mutex_unlock(&self->sync_lock);
    if (!self->syncer_started)
        (void)alertd_state_sync(self, NULL); // no thread: at once, as before
    return gen;
}

void
alertd_state_set_sync_delay(alertd_state_t *self, long ms)
{
    pthread_mutex_lock(&self->sync_lock);
    self->sync_delay_ms = ms;
    pthread_mutex_unlock(&self->sync_lock);
}

uint64_t
alertd_state_durable(alertd_state_t *self)
{
    if (!self || !self->env)
        return UINT64_MAX;
    pthread_mutex_lock(&self->sync_lock);
    uint64_t gen = self->durable;
    pthread_mutex_unlock(&self->sync_lock);
    return gen;
}

int
alertd_state_durable_fd(const alertd_state_t *self)
{
    return self && self->env ? self->durable_fd : -1;
}

void
alertd_state_durable_wake(alertd_state_t *self, uint64_t gen)
{
    if (!self || !self->env)
        return;
    pthread_mutex_lock(&self->sync_lock);
    self->wake_at = gen;
    s_durable_locked(self, 0); // rings at once when gen is durable already
    pthread_mutex_unlock(&self->sync_lock);
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
    // Not MDB_WRITEMAP: through a writable map a commit made no system call, but each of the
    // syncer's msyncs left the map's pages clean and write-protected, and the next commit
    // (the one before a NOTIFY leaves) took a page fault on every page it wrote
    // (ext4_page_mkwrite): 283 us a commit against 74 with pwrite64 (docs/benchmarks.md,
    // check_alertd_state commit_after_sync_faults). A SIGKILL loses nothing committed either
    // way (the page cache); the syncer's mdb_env_sync bounds what a machine crash can lose.
    if (fw_lmdb_env_open(&self->env, dir, 8, S_MAPSIZE, MDB_NOTLS | MDB_NOSYNC, also,
                         "alertd state", "--storage.path", "alertd", err) != 0)
        return -1;
    MDB_stat ms;
    if (mdb_env_get_fd(self->env, &self->fd) != 0 || mdb_env_stat(self->env, &ms) != 0) {
        fw_err_set(err, "lmdb open in %s: no data file descriptor", dir);
        goto fail_quiet;
    }
    self->psize = ms.ms_psize;
    if (self->durable_fd < 0 && (self->durable_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        fw_err_set(err, "storage %s: eventfd: %s", dir, strerror(errno));
        goto fail_quiet;
    }
    if (s_check_format(self, &fresh, err) != 0)
        goto fail_quiet;
    // The transaction below writes only the databases it creates: when the disk cannot give
    // their pages, an environment that has them all still opens (alertd starts on a full
    // disk, and its writes fail until there is room).
    self->reserved = 0;
    self->charged = 0;
    int reserve_rc = s_reserve(self, 0);
    unsigned create = s_fits(self, S_OPEN_PAGES) ? MDB_CREATE : 0;
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
        goto fail_env;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &self->main)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", create, &self->meta)) != 0)
        goto fail_reserve;
    for (int i = 0; i < ALERTD_STATE_DBS; i++)
        if ((rc = mdb_dbi_open(txn, s_db_names[i], create, &self->dbs[i])) != 0)
            goto fail_reserve;
    s_reserve_lock_file(dir);
    if (fresh && !create) {
        rc = MDB_NOTFOUND;
        goto fail_reserve;
    }
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
    return 0;
fail_reserve:
    if (rc == MDB_NOTFOUND && !create) { // a database to make, and no disk for it
        mdb_txn_abort(txn);
        fw_err_set(err, "cannot reserve disk for the state in %s: %s", dir,
                   strerror(reserve_rc ? reserve_rc : ENOSPC));
        goto fail_quiet;
    }
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
    if (self->durable_fd >= 0)
        close(self->durable_fd);
    pthread_mutex_destroy(&self->sync_lock);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

// --- the reservation (see S_HEADROOM) ---

// Pages a commit may allocate on top of its operations': LMDB saves the free list, 8 bytes
// a page (the pages the transaction freed, at most those in use and those it allocated, and
// the reclaimed ones it did not use, at most those in use) in records of the free database,
// deletes the records it reclaimed and rewrites the changed databases' records in the main
// one. 1/64 of those pages is 8 times the list's pages; 4 MiB covers the paths and splits.
static size_t
s_commit_pages(size_t used, size_t charged)
{
    return (used + charged) / 64 + 1024;
}

// Whether `pages` more fit the transaction's share of the reservation.
static bool
s_fits(const alertd_state_t *self, size_t pages)
{
    if (self->reserved >= (off_t)S_MAPSIZE)
        return true; // LMDB stops at the map's end itself (MDB_MAP_FULL)
    size_t charged = self->charged + pages;
    size_t need = self->used + charged + s_commit_pages(self->used, charged);
    return need <= (size_t)(self->reserved / self->psize);
}

// Make the reservation cover S_HEADROOM (or `need` pages when more) past the pages in use
// (self->used, set here), with the commit's share: 0, or an errno value when it could not,
// s_fits then says whether `need` fits what there is. A system call only when the headroom
// is short; it then reserves S_GROW more, or just the headroom when the disk has no more, or
// at least `need` (a disk this full may still hold it in the blocks allocated before: alertd
// then starts, and writes what fits).
static int
s_reserve(alertd_state_t *self, size_t need)
{
    MDB_envinfo info;
    if (mdb_env_info(self->env, &info) != 0)
        return EIO;
    self->used = info.me_last_pgno + 1;
    size_t used = self->used, head = (size_t)S_HEADROOM / self->psize;
    if (need > head)
        head = need;
    off_t full = (off_t)(used + head + s_commit_pages(used, head)) * self->psize;
    off_t least = (off_t)(used + need + s_commit_pages(used, need)) * self->psize;
    if (full > (off_t)S_MAPSIZE)
        full = (off_t)S_MAPSIZE;
    if (full <= self->reserved)
        return 0;
    off_t tries[3] = {full + S_GROW > (off_t)S_MAPSIZE ? (off_t)S_MAPSIZE : full + S_GROW, full,
                      least < full ? least : full};
    int rc = 0;
    for (int i = 0; i < 3 && tries[i] > self->reserved; i++)
        if ((rc = posix_fallocate(self->fd, self->reserved, tries[i] - self->reserved)) == 0) {
            self->reserved = tries[i];
            return i < 2 ? 0 : ENOSPC;
        }
    return rc;
}

// The lock file's reader table is a writable map too (8 KiB, written at the first open):
// its blocks are allocated as well. Best effort: LMDB wrote its first page as it made it.
static void
s_reserve_lock_file(const char *dir)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return;
    if (fstat(fd, &st) == 0 && st.st_size > 0)
        (void)posix_fallocate(fd, 0, st.st_size);
    close(fd);
}

// A database's depth in the open transaction (its splits so far counted).
static size_t
s_depth(alertd_state_t *self, MDB_dbi dbi)
{
    MDB_stat st;
    return mdb_stat(self->txn, dbi, &st) == 0 ? st.ms_depth : 32; // 32: LMDB's deepest
}

// Upper bound of the pages a put allocates (LMDB 0.9 mdb_cursor_put), doubled: the main
// database's path to the record of db (m pages) and db's path (d) copied, a split on every
// level and a new root (d + 1), a new database's first leaf (1), and the value's overflow
// pages when the node does not fit half a page (LMDB's node maximum is just under it).
static size_t
s_put_pages(alertd_state_t *self, enum alertd_state_db db, size_t klen, size_t vlen)
{
    size_t d = s_depth(self, self->dbs[db]), m = s_depth(self, self->main), ov = 0;
    if (8 + klen + vlen > (self->psize - 16) / 2 - 8)
        ov = (vlen + 16) / self->psize + 1;
    return 2 * (m + d + (d + 1) + 1) + ov;
}

// Upper bound of the pages a delete allocates (mdb_cursor_del, mdb_rebalance), doubled: the
// paths copied (m + d), and on every level a rebalance that copies a sibling and updates up
// to three separator keys, each of which may split every level up to a new root (3(d + 1)).
static size_t
s_del_pages(alertd_state_t *self, enum alertd_state_db db)
{
    size_t d = s_depth(self, self->dbs[db]), m = s_depth(self, self->main);
    return 2 * (m + d + d * (1 + 3 * (d + 1)));
}

// Keep the batch's first failure (what, an LMDB or errno code): -1.
static int
s_batch_fail(alertd_state_t *self, const char *what, int rc)
{
    if (self->batch_rc == 0) {
        self->batch_rc = rc;
        self->failed = what;
    }
    return -1;
}

// The batch's failure into err: -1.
static int
s_batch_err(alertd_state_t *self, fw_err_t *err)
{
    if (self->parts > 0)
        fw_err_set(err, "%s in %s: %s (the batch's first %zu parts were committed)", self->failed,
                   self->dir, mdb_strerror(self->batch_rc), self->parts);
    else
        fw_err_set(err, "%s in %s: %s", self->failed, self->dir, mdb_strerror(self->batch_rc));
    return -1;
}

// Begin the batch's (next) write transaction, able to take `need` pages at once: 0, or -1
// (the batch's error kept). A reservation that cannot grow still serves what fits in it.
static int
s_txn_open(alertd_state_t *self, size_t need)
{
    self->charged = 0;
    int rc = s_reserve(self, need);
    if (rc == EIO)
        return s_batch_fail(self, "lmdb write txn", EIO);
    if (rc != 0 && !s_fits(self, need))
        return s_batch_fail(self, "cannot reserve disk for a write", rc);
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &self->txn)) != 0) {
        self->txn = NULL;
        return s_batch_fail(self, "lmdb write txn", rc);
    }
    return 0;
}

// Commit txn; counts it, and (never seen: the bounds are generous) a commit that took more
// new pages than charged.
static int
s_txn_commit(alertd_state_t *self, MDB_txn *txn)
{
    int rc = mdb_txn_commit(txn);
    MDB_envinfo info;
    if (rc != 0 || mdb_env_info(self->env, &info) != 0)
        return rc;
    self->txns++;
    size_t grew = info.me_last_pgno + 1 - self->used;
    if (grew > self->charged + s_commit_pages(self->used, self->charged)) {
        self->overruns++;
        fw_warn("storage.overrun", "path=%s pages=%zu charged=%zu", self->dir, grew, self->charged);
    }
    return 0;
}

// Charge the open transaction `pages` (an operation's bound) before the operation: 0 when
// they fit; 1 when they fit once the transaction was committed and a new one begun (the
// batch goes on in it: cursors of the old one are gone); -1 when the disk cannot give them
// (the batch's error kept).
static int
s_room(alertd_state_t *self, size_t pages)
{
    if (s_fits(self, pages)) {
        self->charged += pages;
        return 0;
    }
    int rolled = 0, rc;
    if (self->charged > 0) {
        MDB_txn *txn = self->txn;
        self->txn = NULL;
        if ((rc = s_txn_commit(self, txn)) != 0)
            return s_batch_fail(self, "lmdb commit", rc);
        self->parts++;
        if (s_txn_open(self, pages) != 0)
            return -1;
        rolled = 1;
    } else {
        rc = s_reserve(self, pages);
    }
    if (!s_fits(self, pages))
        return s_batch_fail(self, "cannot reserve disk for a write", rc ? rc : ENOSPC);
    self->charged += pages;
    return rolled;
}

// --- batches ---

int
alertd_state_begin(alertd_state_t *self, fw_err_t *err)
{
    if (!self || !self->env || self->batch)
        return 0;
    self->batch = true;
    self->batch_rc = 0;
    self->parts = 0;
    return s_txn_open(self, 0) == 0 ? 0 : s_batch_err(self, err);
}

void
alertd_state_put(alertd_state_t *self, enum alertd_state_db db, const char *key, int64_t expires_at,
                 const void *val, size_t len)
{
    if (!self || !self->txn || self->batch_rc != 0)
        return;
    size_t klen = strlen(key);
    if (s_room(self, s_put_pages(self, db, klen, len + 8)) < 0)
        return;
    MDB_val k = {klen, (void *)key}, v = {len + 8, NULL};
    int rc = mdb_put(self->txn, self->dbs[db], &k, &v, MDB_RESERVE);
    if (rc != 0) {
        (void)s_batch_fail(self, "lmdb write", rc);
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
    if (!self || !self->txn || self->batch_rc != 0)
        return;
    if (s_room(self, s_del_pages(self, db)) < 0)
        return;
    MDB_val k = {strlen(key), (void *)key};
    int rc = mdb_del(self->txn, self->dbs[db], &k, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        (void)s_batch_fail(self, "lmdb write", rc);
}

int
alertd_state_commit(alertd_state_t *self, bool sync, fw_err_t *err)
{
    if (!self || !self->batch)
        return 0;
    self->batch = false;
    MDB_txn *txn = self->txn;
    self->txn = NULL;
    if (txn && self->batch_rc != 0)
        mdb_txn_abort(txn);
    else if (txn) {
        int rc = s_txn_commit(self, txn);
        if (rc != 0)
            (void)s_batch_fail(self, "lmdb commit", rc);
    }
    if (self->batch_rc != 0)
        return s_batch_err(self, err);
    return sync ? alertd_state_sync(self, err) : 0;
}

uint64_t
alertd_state_txns(const alertd_state_t *self)
{
    return self ? self->txns : 0;
}

uint64_t
alertd_state_overruns(const alertd_state_t *self)
{
    return self ? self->overruns : 0;
}

int
alertd_state_sync(alertd_state_t *self, fw_err_t *err)
{
    if (!self || !self->env)
        return 0;
    // Every generation requested so far had its commits made before its request.
    pthread_mutex_lock(&self->sync_lock);
    uint64_t gen = self->requested;
    pthread_mutex_unlock(&self->sync_lock);
    int rc = mdb_env_sync(self->env, 1);
    if (rc != 0)
        return s_lmdb_fail(err, self->dir, "sync", rc);
    pthread_mutex_lock(&self->sync_lock);
    s_durable_locked(self, gen);
    pthread_mutex_unlock(&self->sync_lock);
    return 0;
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

// Delete db's records expiring before `before` in the open transaction, each charged through
// s_room; when that begins a new transaction, the cursor is opened again at the record. 0 at
// the end, -1 when s_room failed (the batch's error), or LMDB's error.
static int
s_gc(alertd_state_t *self, enum alertd_state_db db, int64_t before, ssize_t *n)
{
    MDB_cursor *cur;
    MDB_val k, v;
    char key[512]; // LMDB's longest key is 511 bytes
    int rc = mdb_cursor_open(self->txn, self->dbs[db], &cur);
    if (rc != 0)
        return rc;
    MDB_cursor_op op = MDB_FIRST;
    while ((rc = mdb_cursor_get(cur, &k, &v, op)) == 0) {
        op = MDB_NEXT;
        if (v.mv_size >= 8 && s_expiry(&v) >= before)
            continue;
        size_t klen = k.mv_size < sizeof key ? k.mv_size : sizeof key;
        memcpy(key, k.mv_data, klen);
        int room = s_room(self, s_del_pages(self, db));
        if (room < 0)
            return -1; // the cursor went with the aborted or committed transaction
        if (room > 0) {
            k.mv_size = klen;
            k.mv_data = key;
            if ((rc = mdb_cursor_open(self->txn, self->dbs[db], &cur)) != 0)
                return rc;
            if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET)) != 0)
                break;
        }
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        (*n)++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

ssize_t
alertd_state_gc(alertd_state_t *self, enum alertd_state_db db, int64_t before, fw_err_t *err)
{
    if (!self || !self->env)
        return 0;
    bool own = !self->batch;
    if (own && alertd_state_begin(self, err) != 0) {
        (void)alertd_state_commit(self, false, NULL); // ends the failed batch
        return -1;
    }
    ssize_t n = 0;
    if (self->txn && self->batch_rc == 0) {
        int rc = s_gc(self, db, before, &n);
        if (rc > 0 || rc < -1)
            (void)s_batch_fail(self, "lmdb write", rc);
    }
    if (own && alertd_state_commit(self, false, err) != 0)
        return -1;
    return n;
}
