/*  tsdb_store.c — the storage engine: LMDB environment, commits, readers (see tsdb_store.h).

    The store glues three parts together: the index (tsdb_index.c: series and postings),
    the head (tsdb_head.c: open chunks in memory) and the chunk codec (tsdb_chunk.c). It
    owns the environment and its transactions: the open checks (format, truncation, a
    second process), the one write transaction per commit, the writer's short read
    transactions for index lookups of series the head does not hold yet, and the readers'
    snapshots. Chunk keys are 16 bytes: the series id, then the chunk's first timestamp
    with its sign bit flipped, both big-endian.

    A late-sample merge (commit) finds the stored chunk whose key is the greatest at or
    before the sample, takes every late sample up to the next chunk's key, decodes that
    chunk, merges (a stored sample wins a tie, counted as a late duplicate or conflict) and
    writes the result back as chunks of at most TSDB_CHUNK_MAX_SAMPLES, so keys stay the
    first timestamps and chunks never overlap.
*/
#include "tsdb_store.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <ucontext.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_bytes.h"
#include "fw_hash.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_head.h"
#include "tsdb_index.h"

#define S_RETENTION_VISITS 20000 // records looked at per tsdb_store_delete_before call
#define S_HEAD_PAD 16            // head records are padded to a multiple of this many bytes
#define S_DAMAGE_LOG_FIRST 20    // damaged chunks logged one by one, then one in S_DAMAGE_LOG_EVERY
#define S_DAMAGE_LOG_EVERY 1000

struct tsdb_store {
    MDB_env *env; // owned
    MDB_dbi meta, chunks, head_db;
    bool head_padded; // head records end in padding (meta "head" = "padded"; see s_head_val)
    tsdb_index_t ix;
    char *dir; // owned
    size_t mapsize;
    tsdb_head_t *head;    // owned
    MDB_txn *rtxn;        // owned: the writer's read transaction for lookups, reset when idle
    uint64_t next_id;     // the next series id
    int lock_fd;          // data.mdb, flocked
    int guard;            // 1 + the s_guards slot watching the map, 0 none
    unsigned char *state; // owned: what the last commit wrote (or open found)
    size_t state_len;
    unsigned char *pending; // owned: written by the next commit
    size_t pending_len;
    bool has_pending;
    struct tsdb_chunk_app scratch; // late merges: re-encoding
    struct fw_sample *merge;       // owned: late merges: decoded samples
    size_t merge_cap;
    // retention: where the next call resumes
    int ret_phase; // 0 chunks, 1 head
    unsigned char ret_key[16];
    size_t ret_key_len;
    _Atomic bool writable;
    _Atomic uint64_t damaged, late_dups, late_conflicts, commits, commit_failures;
    struct tsdb_store_cache **caches; // owned: open addressing by key, NULL empty
    size_t caches_mask;               // capacity - 1, or 0 before the first
    size_t n_caches;
};

// Position in a sender's batches -> head series (see tsdb_store_cache in tsdb_store.h).
struct tsdb_store_cache {
    uint64_t key;
    uint64_t epoch; // the head's epoch the entries were taken in
    int64_t used_ms;
    struct tsdb_head_series **at; // owned array of borrowed series (NULL: unknown)
    size_t n;
};

struct tsdb_store_reader {
    tsdb_store_t *store; // borrowed
    MDB_txn *txn;        // owned
    MDB_cursor *cur;     // owned: on chunks, shared by the reader's iterators
};

// ---------------------------------------------------------------------------------------
// Keys

static uint64_t
s_flip(int64_t t)
{
    return (uint64_t)t ^ 0x8000000000000000ULL;
}

static int64_t
s_unflip(uint64_t u)
{
    return (int64_t)(u ^ 0x8000000000000000ULL);
}

static void
s_chunk_key(unsigned char key[16], uint64_t id, uint64_t flipped_mint)
{
    fw_bytes_put_u64be(key, id);
    fw_bytes_put_u64be(key + 8, flipped_mint);
}

static int
s_lmdb_fail(fw_err_t *err, const char *what, int rc)
{
    fw_err_set(err, "lmdb %s: %s", what, tsdb_index_strerror(rc));
    return -1;
}

// ---------------------------------------------------------------------------------------
// Damage reports

// Count a damaged chunk or series record and log it (the first ones, then a sample).
static void
s_report_damage(tsdb_store_t *self, MDB_txn *txn, uint64_t id, const char *what, int64_t mint,
                int code)
{
    uint64_t n = atomic_fetch_add(&self->damaged, 1) + 1;
    if (n > S_DAMAGE_LOG_FIRST && n % S_DAMAGE_LOG_EVERY != 0)
        return;
    struct fw_labels l = FW_LABELS_INIT;
    char *labels = NULL;
    if (txn && strcmp(what, "series") != 0 && tsdb_index_labels(&self->ix, txn, id, &l) == 0)
        labels = fw_labels_format(&l);
    fw_labels_clear(&l);
    fw_warn("tsdb.chunk.damaged",
            "what=%s series_id=%llu labels=%s mint=%lld err=%s damaged_total=%llu", what,
            (unsigned long long)id, labels ? labels : "?", (long long)mint, fw_strerror(code),
            (unsigned long long)n);
    free(labels);
}

// ---------------------------------------------------------------------------------------
// Damaged data files

// LMDB keeps no page checksums and trusts its pages: garbage inside data.mdb (a truncation
// is refused at open) can make it read outside its map, follow a wild pointer or fail one of
// its assertions. None of these can become an error return, but tsdb says what happened
// before it dies: a fault whose address lies in (or just past) an open store's map, or whose
// instruction is in LMDB's code, prints a line naming the data file, then the previous
// disposition (a core dump by default) takes the fault again; an LMDB assertion is logged
// before LMDB aborts. The handler needs its state outside any object, like a signal flag:
// a few slots written when stores open and close.
#define S_GUARDS 8
#define S_GUARD_SLACK ((uintptr_t)1 << 20) // wild reads just past the map count too

struct s_guard {
    uintptr_t start, end; // the map (0, 0 while opening)
    char msg[640];
    size_t len; // 0: a free slot
};

static struct s_guard s_guards[S_GUARDS];
static struct sigaction s_old_segv, s_old_bus;
static uintptr_t s_lmdb_lo, s_lmdb_hi; // LMDB's code
static bool s_guard_installed;

// The instruction that faulted, where this platform says (0 elsewhere).
static uintptr_t
s_fault_pc(const void *uc)
{
#if defined(__linux__) && defined(__x86_64__)
    return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.gregs[16]; // REG_RIP
#elif defined(__linux__) && defined(__aarch64__)
    return (uintptr_t)((const ucontext_t *)uc)->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

static void
s_fault(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr, pc = s_fault_pc(uc);
    bool in_lmdb = pc && pc >= s_lmdb_lo && pc < s_lmdb_hi;
    const struct s_guard *hit = NULL;
    for (int k = 0; k < S_GUARDS && !hit; k++)
        if (s_guards[k].len && a >= s_guards[k].start && a < s_guards[k].end)
            hit = &s_guards[k];
    for (int k = 0; k < S_GUARDS && !hit && in_lmdb; k++)
        if (s_guards[k].len)
            hit = &s_guards[k];
    if (hit) {
        ssize_t w = write(2, hit->msg, hit->len);
        (void)w;
    }
    sigaction(sig, sig == SIGBUS ? &s_old_bus : &s_old_segv, NULL);
}

static void
s_assert(MDB_env *env, const char *msg)
{
    const char *path = "?";
    mdb_env_get_path(env, &path);
    fw_error("tsdb.storage.damaged", "path=%s err=%s hint=%s", path, msg,
             "LMDB found the data file inconsistent: restore data.mdb from a backup, or move "
             "the directory away to start empty");
}

// The mapping of this process that holds address p, from /proc/self/maps. 0 or -1.
static int
s_mapping(const void *p, uintptr_t *start, uintptr_t *end)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[512];
    int rc = -1;
    uintptr_t a = (uintptr_t)p;
    while (rc != 0 && fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi) {
            *start = lo;
            *end = hi;
            rc = 0;
        }
    }
    fclose(f);
    return rc;
}

// LMDB's executable mappings, from /proc/self/maps.
static void
s_lmdb_code(uintptr_t *lo, uintptr_t *hi)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[512], perms[8];
    unsigned long a, b;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%lx-%lx %7s", &a, &b, perms) == 3 && strchr(perms, 'x') &&
            strstr(line, "/liblmdb")) {
            *lo = *lo && *lo < a ? *lo : a;
            *hi = *hi > b ? *hi : b;
        }
    fclose(f);
}

// Watch the store: mode 0 stops, 1 names it for faults in LMDB's code (while it opens and
// its map is not known yet), 2 also watches its map (again after a resize, which may move
// it). LMDB does not say where its map is, but a value read in a read transaction points
// into it.
static void
s_guard_set(tsdb_store_t *self, int mode)
{
    if (self->guard) {
        struct s_guard *g = &s_guards[self->guard - 1];
        g->len = 0;
        g->start = g->end = 0;
        self->guard = 0;
    }
    if (mode == 0)
        return;
    uintptr_t start = 0, end = 0;
    MDB_txn *txn;
    if (mode == 2 && mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn) == 0) {
        MDB_val fk = {6, (void *)"format"}, fv;
        if (mdb_get(txn, self->meta, &fk, &fv) != 0 || s_mapping(fv.mv_data, &start, &end) != 0)
            start = end = 0;
        mdb_txn_abort(txn);
    }
    for (int k = 0; k < S_GUARDS && !self->guard; k++) {
        struct s_guard *g = &s_guards[k];
        if (g->len)
            continue;
        int n = snprintf(g->msg, sizeof(g->msg),
                         "level=error daemon=tsdb event=tsdb.storage.damaged path=\"%s/data.mdb\" "
                         "err=\"LMDB faulted reading the data file: it is damaged (LMDB keeps no "
                         "checksums): restore it from a backup, or move the directory away to "
                         "start empty\"\n",
                         self->dir);
        g->start = start;
        g->end = end ? end + S_GUARD_SLACK : 0;
        g->len = n > 0 && (size_t)n < sizeof(g->msg) ? (size_t)n : 0;
        self->guard = k + 1;
    }
    if (s_guard_installed)
        return;
    s_lmdb_code(&s_lmdb_lo, &s_lmdb_hi);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = s_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &s_old_segv);
    sigaction(SIGBUS, &sa, &s_old_bus);
    s_guard_installed = true;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

tsdb_store_t *
tsdb_store_new(void)
{
    tsdb_store_t *self = fw_calloc(1, sizeof(*self));
    self->mapsize = (size_t)8 << 30;
    self->next_id = 1;
    self->lock_fd = -1;
    self->head = tsdb_head_new();
    tsdb_chunk_app_init(&self->scratch);
    atomic_init(&self->writable, true);
    return self;
}

void
tsdb_store_set_mapsize(tsdb_store_t *self, size_t bytes)
{
    self->mapsize = bytes;
}

int
tsdb_store_resize(tsdb_store_t *self, size_t bytes, fw_err_t *err)
{
    if (!self->env) {
        self->mapsize = bytes;
        return 0;
    }
    if (self->rtxn)
        mdb_txn_reset(self->rtxn);
    int rc = mdb_env_set_mapsize(self->env, bytes);
    if (rc != 0)
        return s_lmdb_fail(err, "resize", rc);
    self->mapsize = bytes;
    s_guard_set(self, 2); // the map may have moved
    return 0;
}

void
tsdb_store_set_ooo_window(tsdb_store_t *self, int64_t ms)
{
    tsdb_head_set_ooo_window(self->head, ms);
}

static int
s_mkdir_p(const char *dir)
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

// A directory without data.mdb must be empty (a volume's lost+found aside): anything else
// is somebody else's data, which LMDB would happily share the directory with.
static int
s_check_dir(const char *dir, fw_err_t *err)
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
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
            strcmp(e->d_name, "lost+found") != 0 && strcmp(e->d_name, "lock.mdb") != 0)
            other = e->d_name;
    if (other)
        fw_err_set(err,
                   "storage directory %s is not empty (it holds \"%s\") and holds no floorwatch "
                   "storage (data.mdb): give --storage.tsdb.path an empty or new directory",
                   dir, other);
    closedir(d);
    return other ? -1 : 0;
}

// Which format does the environment hold? 0 ok (existing format 2, or *fresh set for an
// empty one); -1 with err saying what to do.
static int
s_check_format(tsdb_store_t *self, bool *fresh, fw_err_t *err)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    *fresh = false;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return s_lmdb_fail(err, "read txn", rc);
    rc = mdb_dbi_open(txn, "meta", 0, &dbi);
    if (rc == 0) {
        MDB_val k = {6, (void *)"format"}, v;
        rc = mdb_get(txn, dbi, &k, &v);
        char fmt[32] = "";
        if (rc == 0)
            snprintf(fmt, sizeof(fmt), "%.*s", (int)(v.mv_size < 16 ? v.mv_size : 16),
                     (const char *)v.mv_data);
        mdb_txn_abort(txn);
        if (rc == MDB_NOTFOUND)
            goto format1; // format 1 kept only the ingest state in meta
        if (rc != 0)
            return s_lmdb_fail(err, "format", rc);
        char want[8];
        snprintf(want, sizeof(want), "%d", TSDB_STORE_FORMAT);
        if (strcmp(fmt, want) == 0)
            return 0;
        fw_err_set(err,
                   "data directory %s holds floorwatch storage format \"%s\"; this tsdb reads "
                   "format %d: run the tsdb release that wrote it, or move the directory away "
                   "to start empty",
                   self->dir, fmt, TSDB_STORE_FORMAT);
        return -1;
    }
    if (rc != MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        return s_lmdb_fail(err, "format", rc);
    }
    // no meta: an empty environment, format 1, or not ours
    MDB_cursor *cur;
    MDB_val k, v;
    bool empty = true, samples = false;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) == 0 &&
        (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            empty = false;
            samples |= k.mv_size == 7 && memcmp(k.mv_data, "samples", 7) == 0;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return s_lmdb_fail(err, "format", rc);
    if (empty) {
        *fresh = true;
        return 0;
    }
    if (samples)
        goto format1;
    fw_err_set(err,
               "data directory %s holds an LMDB database that is not floorwatch storage: "
               "give --storage.tsdb.path another directory",
               self->dir);
    return -1;
format1:
    fw_err_set(err,
               "data directory %s holds floorwatch storage format 1 (one record per sample); "
               "this tsdb reads format %d: move it away (tsdb then starts empty) or run an "
               "older tsdb on it to query or export its data",
               self->dir, TSDB_STORE_FORMAT);
    return -1;
}

// The data file must hold every page LMDB's meta page says it has: a truncated copy would
// otherwise fault (SIGBUS) on the first read past its end.
static int
s_check_size(tsdb_store_t *self, fw_err_t *err)
{
    MDB_envinfo info;
    MDB_stat st;
    struct stat fs;
    if (mdb_env_info(self->env, &info) != 0 || mdb_env_stat(self->env, &st) != 0 ||
        fstat(self->lock_fd, &fs) != 0)
        return 0;
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    if ((uint64_t)fs.st_size >= need)
        return 0;
    fw_err_set(err,
               "data file %s/data.mdb is truncated: %lld bytes, but its database needs %llu: "
               "restore it from a backup, or move the directory away to start empty",
               self->dir, (long long)fs.st_size, (unsigned long long)need);
    return -1;
}

int
tsdb_store_open(tsdb_store_t *self, const char *dir, fw_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    bool fresh;
    free(self->dir);
    self->dir = fw_strdup(dir);
    if (s_mkdir_p(dir) != 0) {
        fw_err_set(err, "cannot create storage directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (s_check_dir(dir, err) != 0)
        return -1;
    if ((rc = mdb_env_create(&self->env)) != 0)
        return s_lmdb_fail(err, "env_create", rc);
    mdb_env_set_maxdbs(self->env, 16);
    mdb_env_set_maxreaders(self->env, 1024); // one per concurrent query
    if ((rc = mdb_env_set_mapsize(self->env, self->mapsize)) != 0)
        goto fail_env;
    if ((rc = mdb_env_open(self->env, dir, MDB_NOTLS, 0644)) != 0) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED) {
            fw_err_set(err,
                       "data file %s/data.mdb is damaged or not an LMDB database (%s): restore "
                       "it from a backup, or move the directory away to start empty",
                       dir, mdb_strerror(rc));
            goto fail_quiet;
        }
        goto fail_env;
    }
    mdb_env_set_assert(self->env, s_assert);
    s_guard_set(self, 1);
    if (mdb_env_get_fd(self->env, &self->lock_fd) != 0 ||
        flock(self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        fw_err_set(err, "data directory %s is in use by another process (tsdb or tsdb import)",
                   dir);
        self->lock_fd = -1;
        goto fail_quiet;
    }
    if (s_check_size(self, err) != 0 || s_check_format(self, &fresh, err) != 0)
        goto fail_quiet;
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
        goto fail_env;
    unsigned c = fresh ? MDB_CREATE : 0;
    if ((rc = mdb_dbi_open(txn, "meta", c, &self->meta)) != 0 ||
        (rc = mdb_dbi_open(txn, "chunks", c, &self->chunks)) != 0 ||
        (rc = mdb_dbi_open(txn, "head", c, &self->head_db)) != 0 ||
        (rc = tsdb_index_open(&self->ix, txn, fresh)) != 0)
        goto fail_txn;
    if (fresh) {
        char f[8];
        snprintf(f, sizeof(f), "%d", TSDB_STORE_FORMAT);
        MDB_val k = {6, (void *)"format"}, v = {strlen(f), f};
        MDB_val hk = {4, (void *)"head"}, hv = {6, (void *)"padded"};
        if ((rc = mdb_put(txn, self->meta, &k, &v, 0)) != 0 ||
            (rc = mdb_put(txn, self->meta, &hk, &hv, 0)) != 0)
            goto fail_txn;
    }
    MDB_val hk = {4, (void *)"head"}, hv;
    self->head_padded = mdb_get(txn, self->meta, &hk, &hv) == 0 && hv.mv_size == 6 &&
                        memcmp(hv.mv_data, "padded", 6) == 0;
    MDB_val sk = {5, (void *)"state"}, sv;
    if (mdb_get(txn, self->meta, &sk, &sv) == 0 && sv.mv_size > 0) {
        self->state = fw_malloc(sv.mv_size);
        memcpy(self->state, sv.mv_data, sv.mv_size);
        self->state_len = sv.mv_size;
    }
    uint64_t last;
    if ((rc = tsdb_index_last_id(&self->ix, txn, &last)) != 0)
        goto fail_txn;
    self->next_id = last + 1;
    if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        goto fail_env;
    }
    s_guard_set(self, 2);
    return 0;
fail_txn:
    mdb_txn_abort(txn);
fail_env:
    fw_err_set(err, "lmdb open %s: %s", dir, mdb_strerror(rc));
fail_quiet:
    s_guard_set(self, 0);
    mdb_env_close(self->env); // also releases the flock with the file
    self->env = NULL;
    self->lock_fd = -1;
    return -1;
}

void
tsdb_store_destroy(tsdb_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_store_t *self = *self_p;
    if (self->rtxn)
        mdb_txn_abort(self->rtxn);
    if (self->env) {
        s_guard_set(self, 0);
        mdb_env_close(self->env);
    }
    (void)tsdb_store_cache_expire(self, INT64_MAX);
    free(self->caches);
    tsdb_head_destroy(&self->head);
    tsdb_chunk_app_clear(&self->scratch);
    free(self->merge);
    free(self->state);
    free(self->pending);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------------------
// Writing: the head

// The writer's read transaction, renewed for a lookup; tsdb_store_append_series resets it.
static int
s_rtxn(tsdb_store_t *self, MDB_txn **out)
{
    int rc = self->rtxn ? mdb_txn_renew(self->rtxn)
                        : mdb_txn_begin(self->env, NULL, MDB_RDONLY, &self->rtxn);
    *out = self->rtxn;
    return rc;
}

// The newest stored sample of series id when it has no open chunk on disk: the last
// sealed chunk's last sample.
static void
s_load_last_sealed(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *s)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, self->chunks, &cur) != 0)
        return;
    unsigned char key[16];
    s_chunk_key(key, s->id + 1, 0);
    MDB_val k = {16, key}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == s->id) {
        int64_t kmint = s_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
        struct tsdb_chunk_iter it;
        struct tsdb_chunk_info info;
        bool any = false;
        struct fw_sample last = {0, 0};
        tsdb_chunk_iter_init(&it, v.mv_data, v.mv_size);
        while (tsdb_chunk_iter_next(&it)) {
            last = (struct fw_sample){it.t, it.v};
            any = true;
        }
        if (tsdb_chunk_iter_err(&it) == 0 && any) {
            tsdb_head_load_last(self->head, s, last.t_ms, last.v, true);
        } else {
            s_report_damage(self, txn, s->id, "chunk", kmint, tsdb_chunk_iter_err(&it));
            bool hdr = tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0;
            tsdb_head_load_last(self->head, s, hdr ? info.maxt : kmint, 0, false);
        }
    }
    mdb_cursor_close(cur);
}

// The open chunk in head record v (in place). A padded record (S_HEAD_PAD) is the chunk,
// zero bytes, and a last byte counting the bytes after the chunk, itself included: a commit
// then overwrites most records in place (LMDB moves nothing when the size stays), instead
// of deleting and inserting each one as its chunk grows by a byte. A damaged count leaves
// an empty chunk, which the chunk decoder reports as truncated.
static void
s_head_val(const tsdb_store_t *self, MDB_val *v)
{
    if (!self->head_padded)
        return;
    size_t pad = v->mv_size ? ((const unsigned char *)v->mv_data)[v->mv_size - 1] : 0;
    v->mv_size = pad > 0 && pad <= v->mv_size ? v->mv_size - pad : 0;
}

// A series found in the index but not in the head: reopen its open chunk, or learn its
// newest sample from its last sealed chunk.
static void
s_load_series(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *s)
{
    unsigned char idb[8];
    fw_bytes_put_u64be(idb, s->id);
    MDB_val k = {8, idb}, v;
    if (mdb_get(txn, self->head_db, &k, &v) == 0) {
        s_head_val(self, &v);
        int rc = tsdb_head_load_open(self->head, s, v.mv_data, v.mv_size);
        if (rc == 0)
            return;
        struct tsdb_chunk_info info;
        bool hdr = tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0;
        s_report_damage(self, txn, s->id, "open chunk", hdr ? info.mint : INT64_MIN, rc);
        if (hdr) {
            // the damaged open chunk is replaced by the next commit; its range stays closed
            tsdb_head_load_last(self->head, s, info.maxt, 0, false);
            s->dirty = false;
            return;
        }
    }
    s_load_last_sealed(self, txn, s);
}

// The head series with labels: found, read back from the index, or new. NULL with err.
static struct tsdb_head_series *
s_series(tsdb_store_t *self, const struct fw_labels *labels, struct tsdb_store_stats *st,
         fw_err_t *err)
{
    uint64_t hash = fw_labels_hash(labels);
    struct tsdb_head_series *s = tsdb_head_find(self->head, labels, hash);
    if (!s) {
        if (tsdb_index_check(labels, err) != 0)
            return NULL;
        MDB_txn *txn;
        uint64_t id;
        int rc = s_rtxn(self, &txn);
        if (rc == 0)
            rc = tsdb_index_find(&self->ix, txn, labels, hash, &id);
        if (rc == 0) {
            s = tsdb_head_add(self->head, labels, hash, id, false);
            s_load_series(self, txn, s);
        } else if (rc == MDB_NOTFOUND) {
            s = tsdb_head_add(self->head, labels, hash, self->next_id++, true);
            st->new_series++;
        }
        if (txn)
            mdb_txn_reset(txn);
        if (!s)
            (void)s_lmdb_fail(err, "series lookup", rc);
    }
    return s;
}

int
tsdb_store_append_series(tsdb_store_t *self, const struct fw_labels *labels,
                         const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st,
                         fw_err_t *err)
{
    return tsdb_store_append_series_at(self, NULL, 0, labels, samples, n, st, err);
}

// ---------------------------------------------------------------------------------------
// Writing: series caches

#define S_CACHE_POS_MAX (1u << 20) // positions past this are not cached

static void
s_caches_put(tsdb_store_t *self, struct tsdb_store_cache *c)
{
    size_t i = (size_t)c->key & self->caches_mask;
    while (self->caches[i])
        i = (i + 1) & self->caches_mask;
    self->caches[i] = c;
}

// Rebuild the table with room for n caches, keeping those in old[0..old_cap) (taken).
static void
s_caches_rebuild(tsdb_store_t *self, size_t n)
{
    struct tsdb_store_cache **old = self->caches;
    size_t old_cap = old ? self->caches_mask + 1 : 0, cap = 16;
    while (cap < 2 * (n + 1))
        cap *= 2;
    self->caches = fw_calloc(cap, sizeof(*self->caches));
    self->caches_mask = cap - 1;
    for (size_t k = 0; k < old_cap; k++)
        if (old[k])
            s_caches_put(self, old[k]);
    free(old);
}

static void
s_cache_free(struct tsdb_store_cache *c)
{
    free(c->at);
    free(c);
}

tsdb_store_cache_t *
tsdb_store_cache(tsdb_store_t *self, uint64_t key, int64_t now_ms)
{
    if (self->caches)
        for (size_t i = (size_t)key & self->caches_mask; self->caches[i];
             i = (i + 1) & self->caches_mask)
            if (self->caches[i]->key == key) {
                self->caches[i]->used_ms = now_ms;
                return self->caches[i];
            }
    if (self->n_caches >= TSDB_STORE_CACHES) {
        int64_t oldest = INT64_MAX;
        for (size_t k = 0; k <= self->caches_mask; k++)
            if (self->caches[k] && self->caches[k]->used_ms < oldest)
                oldest = self->caches[k]->used_ms;
        (void)tsdb_store_cache_expire(self, oldest == INT64_MAX ? oldest : oldest + 1);
    }
    if (!self->caches || 2 * (self->n_caches + 1) > self->caches_mask + 1)
        s_caches_rebuild(self, self->n_caches + 1);
    struct tsdb_store_cache *c = fw_calloc(1, sizeof(*c));
    c->key = key;
    c->epoch = tsdb_head_epoch(self->head);
    c->used_ms = now_ms;
    s_caches_put(self, c);
    self->n_caches++;
    return c;
}

size_t
tsdb_store_cache_expire(tsdb_store_t *self, int64_t before_ms)
{
    size_t n = 0;
    for (size_t k = 0; self->caches && k <= self->caches_mask; k++)
        if (self->caches[k] && self->caches[k]->used_ms < before_ms) {
            s_cache_free(self->caches[k]);
            self->caches[k] = NULL;
            n++;
        }
    if (n) {
        self->n_caches -= n;
        s_caches_rebuild(self, self->n_caches); // no tombstones: re-place the rest
    }
    return n;
}

int
tsdb_store_append_series_at(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                            const struct fw_labels *labels, const struct fw_sample *samples,
                            size_t n, struct tsdb_store_stats *st, fw_err_t *err)
{
    struct tsdb_store_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    if (cache && pos < S_CACHE_POS_MAX) {
        uint64_t epoch = tsdb_head_epoch(self->head);
        if (cache->epoch != epoch) { // series were freed: no kept pointer can be trusted
            memset(cache->at, 0, cache->n * sizeof(*cache->at));
            cache->epoch = epoch;
        }
        struct tsdb_head_series *s = pos < cache->n ? cache->at[pos] : NULL;
        if (s && fw_labels_cmp(&s->labels, labels) == 0) {
            tsdb_head_append(self->head, s, samples, n, st);
            return 0;
        }
    }
    struct tsdb_head_series *s = s_series(self, labels, st, err);
    if (!s)
        return -1;
    tsdb_head_append(self->head, s, samples, n, st);
    if (!cache || pos >= S_CACHE_POS_MAX)
        return 0;
    if (pos >= cache->n) {
        size_t cap = cache->n ? cache->n : 64;
        while (cap <= pos)
            cap *= 2;
        cache->at = fw_realloc(cache->at, cap * sizeof(*cache->at));
        memset(cache->at + cache->n, 0, (cap - cache->n) * sizeof(*cache->at));
        cache->n = cap;
    }
    cache->at[pos] = s;
    return 0;
}

// ---------------------------------------------------------------------------------------
// Writing: the commit

static void
s_state_clear_pending(tsdb_store_t *self)
{
    free(self->pending);
    self->pending = NULL;
    self->pending_len = 0;
    self->has_pending = false;
}

void
tsdb_store_set_state(tsdb_store_t *self, const void *blob, size_t len)
{
    s_state_clear_pending(self);
    if (len) {
        self->pending = fw_malloc(len);
        memcpy(self->pending, blob, len);
    }
    self->pending_len = len;
    self->has_pending = true;
}

int
tsdb_store_get_state(tsdb_store_t *self, void **blob, size_t *len)
{
    *blob = NULL;
    *len = self->state_len;
    if (self->state_len) {
        *blob = fw_malloc(self->state_len);
        memcpy(*blob, self->state, self->state_len);
    }
    return 0;
}

static int
s_put_chunk(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t mint, const void *p, size_t len)
{
    unsigned char key[16];
    s_chunk_key(key, id, s_flip(mint));
    MDB_val k = {16, key}, v = {len, (void *)p};
    return mdb_put(txn, self->chunks, &k, &v, 0);
}

// Write a[0..n) (sorted, unique t) as sealed chunks of series id.
static int
s_put_samples(tsdb_store_t *self, MDB_txn *txn, uint64_t id, const struct fw_sample *a, size_t n)
{
    struct tsdb_chunk_app *app = &self->scratch;
    int64_t mint = 0;
    int rc = 0;
    tsdb_chunk_app_reset(app);
    for (size_t k = 0; k <= n && rc == 0; k++) {
        if (tsdb_chunk_app_count(app) > 0 && (k == n || tsdb_chunk_app_full(app, a[k].t_ms))) {
            tsdb_chunk_app_seal(app);
            size_t len;
            const unsigned char *p = tsdb_chunk_app_bytes(app, &len);
            rc = s_put_chunk(self, txn, id, mint, p, len);
            tsdb_chunk_app_reset(app);
        }
        if (k == n)
            break;
        if (tsdb_chunk_app_count(app) == 0)
            mint = a[k].t_ms;
        (void)tsdb_chunk_app_append(app, a[k].t_ms, a[k].v); // sorted and unique: accepted
    }
    return rc;
}

static void
s_merge_push(tsdb_store_t *self, size_t *n, struct fw_sample smp)
{
    fw_mem_grow((void **)&self->merge, &self->merge_cap, *n + 1, sizeof(*self->merge));
    self->merge[(*n)++] = smp;
}

static bool
s_same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof(a)) == 0;
}

// Merge s's late samples into its stored chunks (see the top of this file).
static int
s_merge_late(tsdb_store_t *self, MDB_txn *txn, const struct tsdb_head_series *s)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    if (rc != 0)
        return rc;
    for (uint32_t i = 0; i < s->n_late && rc == 0;) {
        int64_t t = s->late[i].t_ms;
        unsigned char key[16], ckey[16];
        s_chunk_key(key, s->id, s_flip(t));
        MDB_val k = {16, key}, v, cv = {0, NULL};
        bool have_c = false;
        int64_t bound = INT64_MAX;
        // C: the chunk with the greatest key <= (id, t); N: the one after it
        int r = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (r == 0 && k.mv_size == 16 && memcmp(k.mv_data, key, 16) == 0) {
            have_c = true;
        } else {
            if (r == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == s->id)
                bound = s_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
            if (r != 0 && r != MDB_NOTFOUND) {
                rc = r;
                break;
            }
            r = mdb_cursor_get(cur, &k, &v, r == 0 ? MDB_PREV : MDB_LAST);
            have_c = r == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == s->id;
        }
        if (have_c) {
            memcpy(ckey, k.mv_data, 16);
            cv = v;
            MDB_val nk, nv;
            r = mdb_cursor_get(cur, &nk, &nv, MDB_NEXT);
            bound = INT64_MAX;
            if (r == 0 && nk.mv_size == 16 && fw_bytes_get_u64be(nk.mv_data) == s->id)
                bound = s_unflip(fw_bytes_get_u64be((const unsigned char *)nk.mv_data + 8));
        }
        uint32_t j = i;
        while (j < s->n_late && s->late[j].t_ms < bound)
            j++;
        if (j == i)
            j = i + 1; // cannot happen (bound > t); never loop forever
        // merge C's samples with late[i..j)
        size_t n = 0, stored = 0;
        struct tsdb_chunk_iter it;
        bool more = false;
        if (have_c) {
            tsdb_chunk_iter_init(&it, cv.mv_data, cv.mv_size);
            more = tsdb_chunk_iter_next(&it);
        }
        uint32_t l = i;
        while (more || l < j) {
            if (more && (l == j || it.t <= s->late[l].t_ms)) {
                if (l < j && it.t == s->late[l].t_ms) {
                    if (s_same_bits(it.v, s->late[l].v))
                        atomic_fetch_add(&self->late_dups, 1);
                    else
                        atomic_fetch_add(&self->late_conflicts, 1);
                    l++;
                }
                s_merge_push(self, &n, (struct fw_sample){it.t, it.v});
                stored++;
                more = tsdb_chunk_iter_next(&it);
            } else {
                s_merge_push(self, &n, s->late[l++]);
            }
        }
        if (have_c && tsdb_chunk_iter_err(&it) != 0) {
            // the stored chunk is damaged: keep it as it is, the late samples are lost
            s_report_damage(self, txn, s->id, "chunk", s_unflip(fw_bytes_get_u64be(ckey + 8)),
                            tsdb_chunk_iter_err(&it));
            atomic_fetch_add(&self->late_conflicts, j - i);
        } else if (n > stored) {
            if (have_c) {
                MDB_val dk = {16, ckey};
                rc = mdb_del(txn, self->chunks, &dk, NULL);
            }
            if (rc == 0)
                rc = s_put_samples(self, txn, s->id, self->merge, n);
        }
        i = j;
    }
    mdb_cursor_close(cur);
    return rc;
}

// Write everything the head holds for the commit into txn.
static int
s_write_head(tsdb_store_t *self, MDB_txn *txn, const char **what)
{
    size_t np, ns;
    struct tsdb_head_series *const *pending = tsdb_head_pending(self->head, &np);
    const struct tsdb_head_sealed *sealed = tsdb_head_sealed(self->head, &ns);
    int rc = 0;
    *what = "series write";
    for (size_t k = 0; k < np && rc == 0; k++)
        if (pending[k]->is_new)
            rc = tsdb_index_add(&self->ix, txn, pending[k]->id, &pending[k]->labels,
                                pending[k]->hash);
    *what = "chunk write";
    for (size_t k = 0; k < ns && rc == 0; k++)
        rc = s_put_chunk(self, txn, sealed[k].id, sealed[k].mint,
                         tsdb_head_sealed_bytes(self->head, &sealed[k]), sealed[k].len);
    // One cursor for every head record: the series of a batch come in ascending ids, and
    // LMDB then finds the next key on the leaf page the cursor is on, without a descent
    // from the root.
    MDB_cursor *cur = NULL;
    if (rc == 0)
        rc = mdb_cursor_open(txn, self->head_db, &cur);
    for (size_t k = 0; k < np && rc == 0; k++) {
        const struct tsdb_head_series *s = pending[k];
        if (!s->dirty)
            continue;
        unsigned char idb[8];
        fw_bytes_put_u64be(idb, s->id);
        MDB_val key = {8, idb};
        size_t len;
        const unsigned char *p = tsdb_chunk_app_bytes(&s->app, &len);
        if (len > 0 && self->head_padded) {
            size_t total = (len + S_HEAD_PAD) / S_HEAD_PAD * S_HEAD_PAD; // len + 1 .. len + 16
            MDB_val val = {total, NULL};
            if ((rc = mdb_cursor_put(cur, &key, &val, MDB_RESERVE)) == 0) {
                unsigned char *d = val.mv_data;
                memcpy(d, p, len);
                memset(d + len, 0, total - len - 1);
                d[total - 1] = (unsigned char)(total - len);
            }
        } else if (len > 0) {
            MDB_val val = {len, (void *)p};
            rc = mdb_cursor_put(cur, &key, &val, 0);
        } else {
            rc = mdb_del(txn, self->head_db, &key, NULL); // the cursor is adjusted by LMDB
            if (rc == MDB_NOTFOUND)
                rc = 0;
        }
    }
    if (cur)
        mdb_cursor_close(cur);
    *what = "late sample merge";
    for (size_t k = 0; k < np && rc == 0; k++)
        if (pending[k]->n_late > 0)
            rc = s_merge_late(self, txn, pending[k]);
    *what = "state write";
    if (rc == 0 && self->has_pending) {
        MDB_val k = {5, (void *)"state"}, v = {self->pending_len, self->pending};
        rc = self->pending_len ? mdb_put(txn, self->meta, &k, &v, 0)
                               : mdb_del(txn, self->meta, &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    return rc;
}

static int
s_commit_fail(tsdb_store_t *self, fw_err_t *err, const char *what, int rc)
{
    atomic_fetch_add(&self->commit_failures, 1);
    if (rc == MDB_MAP_FULL) {
        atomic_store(&self->writable, false);
        fw_err_set(err,
                   "storage full: the LMDB map of %zu MiB in %s is full (%s); nothing of this "
                   "commit is stored, the samples wait in memory: raise "
                   "--storage.tsdb.map-size (and restart tsdb) or shorten retention",
                   self->mapsize >> 20, self->dir, what);
        return -1;
    }
    if (rc == ENOSPC || rc == EDQUOT || rc == EIO) {
        atomic_store(&self->writable, false);
        fw_err_set(err,
                   "cannot write %s/data.mdb: %s (%s); nothing of this commit is stored, the "
                   "samples wait in memory: free disk space",
                   self->dir, strerror(rc), what);
        return -1;
    }
    return s_lmdb_fail(err, what, rc);
}

int
tsdb_store_commit(tsdb_store_t *self, fw_err_t *err)
{
    size_t np, ns;
    tsdb_head_pending(self->head, &np);
    tsdb_head_sealed(self->head, &ns);
    if (np == 0 && ns == 0 && !self->has_pending)
        return 0;
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    MDB_txn *txn;
    const char *what = "txn begin";
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return s_commit_fail(self, err, what, rc);
    if ((rc = s_write_head(self, txn, &what)) != 0) {
        mdb_txn_abort(txn);
        return s_commit_fail(self, err, what, rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return s_commit_fail(self, err, "commit", rc);
    tsdb_head_committed(self->head);
    if (self->has_pending) {
        free(self->state);
        self->state = self->pending;
        self->state_len = self->pending_len;
        self->pending = NULL;
        s_state_clear_pending(self);
    }
    atomic_fetch_add(&self->commits, 1);
    atomic_store(&self->writable, true);
    return 0;
}

bool
tsdb_store_writable(tsdb_store_t *self)
{
    return atomic_load(&self->writable);
}

// ---------------------------------------------------------------------------------------
// Retention and housekeeping

// One bounded pass over chunks from ret_key: delete sealed chunks older than cutoff.
// Returns 0 and sets *wrapped when the end was reached.
static int
s_retain_chunks(tsdb_store_t *self, MDB_txn *txn, int64_t cutoff, size_t max_deletes,
                size_t *deleted, size_t *visits, bool *wrapped)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {self->ret_key_len, self->ret_key}, v;
    rc = mdb_cursor_get(cur, &k, &v, self->ret_key_len ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && *deleted < max_deletes && *visits < S_RETENTION_VISITS) {
        (*visits)++;
        if (k.mv_size != 16) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        uint64_t id = fw_bytes_get_u64be(k.mv_data);
        int64_t kmint = s_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
        if (kmint >= cutoff) {
            // this and every later chunk of the series are newer: on to the next series
            if (id == UINT64_MAX)
                break;
            s_chunk_key(self->ret_key, id + 1, 0);
            k = (MDB_val){16, self->ret_key};
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            continue;
        }
        struct tsdb_chunk_info info;
        if (tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0 && info.maxt < cutoff) {
            // deleting under a cursor: MDB_NEXT then returns the record after this one
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            (*deleted)++;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && k.mv_size <= sizeof(self->ret_key)) {
        memmove(self->ret_key, k.mv_data, k.mv_size);
        self->ret_key_len = k.mv_size;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *wrapped = true;
        self->ret_key_len = 0;
        return 0;
    }
    return rc;
}

// One bounded pass over head records from ret_key: drop open chunks older than cutoff with
// their head series (unless it has something to commit).
static int
s_retain_head(tsdb_store_t *self, MDB_txn *txn, int64_t cutoff, size_t max_deletes, size_t *deleted,
              size_t *visits, bool *wrapped)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->head_db, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {self->ret_key_len, self->ret_key}, v;
    rc = mdb_cursor_get(cur, &k, &v, self->ret_key_len ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && *deleted < max_deletes && *visits < S_RETENTION_VISITS) {
        (*visits)++;
        s_head_val(self, &v);
        struct tsdb_chunk_info info;
        struct tsdb_head_series *s =
            k.mv_size == 8 ? tsdb_head_find_id(self->head, fw_bytes_get_u64be(k.mv_data)) : NULL;
        if (k.mv_size == 8 && tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0 &&
            info.maxt < cutoff && (!s || tsdb_head_remove(self->head, s))) {
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            (*deleted)++;
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == 0 && k.mv_size <= sizeof(self->ret_key)) {
        memmove(self->ret_key, k.mv_data, k.mv_size);
        self->ret_key_len = k.mv_size;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *wrapped = true;
        self->ret_key_len = 0;
        return 0;
    }
    return rc;
}

int
tsdb_store_delete_before(tsdb_store_t *self, int64_t cutoff_ms, size_t max_deletes, size_t *deleted,
                         fw_err_t *err)
{
    *deleted = 0;
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return s_lmdb_fail(err, "txn_begin", rc);
    size_t visits = 0;
    for (int pass = 0; pass < 2 && rc == 0 && *deleted < max_deletes; pass++) {
        bool wrapped = false;
        if (self->ret_phase == 0)
            rc = s_retain_chunks(self, txn, cutoff_ms, max_deletes, deleted, &visits, &wrapped);
        else
            rc = s_retain_head(self, txn, cutoff_ms, max_deletes, deleted, &visits, &wrapped);
        if (rc != 0 || !wrapped)
            break;
        self->ret_phase ^= 1;
        if (self->ret_phase == 0)
            break; // a whole round done: the next call starts over
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
        *deleted = 0;
        self->ret_key_len = 0;
        return s_lmdb_fail(err, "retention", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        *deleted = 0;
        return s_commit_fail(self, err, "retention commit", rc);
    }
    return 0;
}

int
tsdb_store_copy(tsdb_store_t *self, const char *dst_dir, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    char p[4096];
    struct stat st;
    snprintf(p, sizeof(p), "%s/data.mdb", dst_dir);
    if (stat(p, &st) == 0) {
        fw_err_set(err, "%s already holds a data file: copy into an empty directory", dst_dir);
        return -1;
    }
    int rc = mdb_env_copy2(self->env, dst_dir, MDB_CP_COMPACT);
    if (rc != 0) {
        fw_err_set(err, "copy of %s to %s: %s", self->dir, dst_dir, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

size_t
tsdb_store_seal_all(tsdb_store_t *self)
{
    return tsdb_head_seal_all(self->head);
}

size_t
tsdb_store_head_gc(tsdb_store_t *self, int64_t before_ms)
{
    return tsdb_head_gc(self->head, before_ms, NULL, NULL);
}

ssize_t
tsdb_store_series_count(tsdb_store_t *self)
{
    MDB_txn *txn;
    if (!self->env || mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    ssize_t n = tsdb_index_count(&self->ix, txn);
    mdb_txn_abort(txn);
    return n;
}

size_t
tsdb_store_head_series(tsdb_store_t *self)
{
    return tsdb_head_count(self->head);
}

void
tsdb_store_counters(tsdb_store_t *self, struct tsdb_store_counters *out)
{
    out->damaged_chunks = atomic_load(&self->damaged);
    out->late_duplicates = atomic_load(&self->late_dups);
    out->late_conflicts = atomic_load(&self->late_conflicts);
    out->commits = atomic_load(&self->commits);
    out->commit_failures = atomic_load(&self->commit_failures);
}

// ---------------------------------------------------------------------------------------
// Reading

tsdb_store_reader_t *
tsdb_store_reader_new(tsdb_store_t *self, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return NULL;
    }
    tsdb_store_reader_t *r = fw_calloc(1, sizeof(*r));
    r->store = self;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &r->txn);
    if (rc == 0 && (rc = mdb_cursor_open(r->txn, self->chunks, &r->cur)) != 0)
        mdb_txn_abort(r->txn);
    if (rc != 0) {
        s_lmdb_fail(err, "read txn", rc);
        free(r);
        return NULL;
    }
    return r;
}

void
tsdb_store_reader_destroy(tsdb_store_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdb_cursor_close((*self_p)->cur);
    mdb_txn_abort((*self_p)->txn);
    free(*self_p);
    *self_p = NULL;
}

int
tsdb_store_select_ids(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                      uint64_t **ids, size_t *n_ids, fw_err_t *err)
{
    int rc = tsdb_index_select(&r->store->ix, r->txn, matchers, n, ids, n_ids);
    return rc == 0 ? 0 : s_lmdb_fail(err, "select", rc);
}

int
tsdb_store_select(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                  struct tsdb_store_series **out, size_t *n_out, fw_err_t *err)
{
    *out = NULL;
    *n_out = 0;
    uint64_t *ids;
    size_t n_ids;
    if (tsdb_store_select_ids(r, matchers, n, &ids, &n_ids, err) != 0)
        return -1;
    struct tsdb_store_series *res = n_ids ? fw_malloc(n_ids * sizeof(*res)) : NULL;
    size_t len = 0;
    for (size_t k = 0; k < n_ids; k++) {
        res[len].id = ids[k];
        res[len].labels = (struct fw_labels)FW_LABELS_INIT;
        int rc = tsdb_index_labels(&r->store->ix, r->txn, ids[k], &res[len].labels);
        if (rc == TSDB_INDEX_EDAMAGED || rc == MDB_NOTFOUND) {
            s_report_damage(r->store, r->txn, ids[k], "series", 0, FW_EPARSE);
            continue;
        }
        if (rc != 0) {
            free(ids);
            tsdb_store_series_free(res, len);
            return s_lmdb_fail(err, "series read", rc);
        }
        len++;
    }
    free(ids);
    if (len == 0) {
        free(res);
        res = NULL;
    }
    *out = res;
    *n_out = len;
    return 0;
}

void
tsdb_store_series_free(struct tsdb_store_series *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        fw_labels_clear(&s[k].labels);
    free(s);
}

int
tsdb_store_series_labels(tsdb_store_reader_t *r, uint64_t id, struct fw_labels *out, fw_err_t *err)
{
    int rc = tsdb_index_labels(&r->store->ix, r->txn, id, out);
    if (rc == MDB_NOTFOUND) {
        fw_err_set(err, "no series %llu", (unsigned long long)id);
        return -1;
    }
    return rc == 0 ? 0 : s_lmdb_fail(err, "series read", rc);
}

// ---------------------------------------------------------------------------------------
// Iterating

void
tsdb_store_iter_init(struct tsdb_store_iter *it, tsdb_store_reader_t *r, uint64_t id, int64_t mint,
                     int64_t maxt)
{
    memset(it, 0, sizeof(*it));
    it->r = r;
    it->id = id;
    it->mint = mint;
    it->maxt = maxt;
    it->next_key = 0; // 0: not positioned yet
    it->phase = mint > maxt ? 2 : 0;
}

// Enter the chunk p[0..len) (key min t kmint) if it may hold samples in range: 1 entered,
// 0 skipped, -1 past the range (nothing later can be in it).
static int
s_enter(struct tsdb_store_iter *it, const void *p, size_t len, int64_t kmint)
{
    struct tsdb_chunk_info info;
    int rc = tsdb_chunk_info(p, len, &info);
    if (rc != 0) {
        s_report_damage(it->r->store, it->r->txn, it->id, "chunk", kmint, rc);
        return 0;
    }
    if (info.mint > it->maxt)
        return -1;
    if (info.maxt < it->mint)
        return 0;
    it->chunk_mint = info.mint;
    tsdb_chunk_iter_init(&it->ci, p, len);
    it->in_chunk = true;
    it->fresh = true;
    return 1;
}

// Position on the next chunk that may hold samples in range. False when there is none.
static bool
s_next_chunk(struct tsdb_store_iter *it)
{
    tsdb_store_reader_t *r = it->r;
    while (it->phase == 0) {
        unsigned char key[16];
        MDB_val k, v;
        int rc;
        if (it->next_key == 0) {
            // first: the chunk with the greatest key <= mint may span mint
            s_chunk_key(key, it->id, s_flip(it->mint));
            k = (MDB_val){16, key};
            rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
            bool exact = rc == 0 && k.mv_size == 16 && memcmp(k.mv_data, key, 16) == 0;
            if (!exact && (rc == 0 || rc == MDB_NOTFOUND)) {
                int p = mdb_cursor_get(r->cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
                if (p == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == it->id) {
                    rc = 0;
                } else {
                    k = (MDB_val){16, key};
                    rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
                }
            }
        } else {
            s_chunk_key(key, it->id, it->next_key);
            k = (MDB_val){16, key};
            rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
        }
        if (rc != 0 || k.mv_size != 16 || fw_bytes_get_u64be(k.mv_data) != it->id) {
            if (rc != 0 && rc != MDB_NOTFOUND) {
                it->err = rc;
                it->phase = 2;
                return false;
            }
            it->phase = 1;
            break;
        }
        uint64_t fk = fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8);
        if (fk == UINT64_MAX)
            it->phase = 1; // the last possible key: nothing after it
        else
            it->next_key = fk + 1;
        int e = s_enter(it, v.mv_data, v.mv_size, s_unflip(fk));
        if (e == 1)
            return true;
        if (e == -1) {
            it->phase = 2;
            return false;
        }
    }
    if (it->phase == 1) {
        it->phase = 2;
        unsigned char idb[8];
        fw_bytes_put_u64be(idb, it->id);
        MDB_val k = {8, idb}, v;
        int rc = mdb_get(r->txn, r->store->head_db, &k, &v);
        if (rc == 0)
            s_head_val(r->store, &v);
        if (rc == 0)
            return s_enter(it, v.mv_data, v.mv_size, INT64_MIN) == 1;
        if (rc != MDB_NOTFOUND)
            it->err = rc;
    }
    return false;
}

// The current chunk's next sample in range (first entry: the first at or after mint).
static bool
s_chunk_step(struct tsdb_store_iter *it)
{
    bool ok = it->fresh ? tsdb_chunk_iter_seek(&it->ci, it->mint) : tsdb_chunk_iter_next(&it->ci);
    it->fresh = false;
    if (ok && it->ci.t <= it->maxt) {
        it->t = it->ci.t;
        it->v = it->ci.v;
        it->cur = true;
        return true;
    }
    it->in_chunk = false;
    if (ok) {
        it->phase = 2; // past maxt: so is everything after it
    } else if (tsdb_chunk_iter_err(&it->ci) != 0) {
        s_report_damage(it->r->store, it->r->txn, it->id, "chunk", it->chunk_mint,
                        tsdb_chunk_iter_err(&it->ci));
    }
    return false;
}

bool
tsdb_store_iter_next(struct tsdb_store_iter *it)
{
    for (;;) {
        if (it->in_chunk && s_chunk_step(it))
            return true;
        if (it->phase == 2 || !s_next_chunk(it)) {
            it->cur = false;
            return false;
        }
    }
}

bool
tsdb_store_iter_seek(struct tsdb_store_iter *it, int64_t x)
{
    if (it->cur && it->t >= x)
        return true;
    if (x > it->mint)
        it->mint = x;
    if (it->in_chunk)
        it->fresh = true; // s_chunk_step seeks forward to it->mint in the current chunk
    return tsdb_store_iter_next(it);
}

int
tsdb_store_iter_err(const struct tsdb_store_iter *it)
{
    return it->err;
}

int
tsdb_store_samples(tsdb_store_reader_t *r, uint64_t id, int64_t mint, int64_t maxt,
                   struct fw_sample **pts, size_t *len, size_t *cap, fw_err_t *err)
{
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, id, mint, maxt);
    while (tsdb_store_iter_next(&it)) {
        fw_mem_grow((void **)pts, cap, *len + 1, sizeof(**pts));
        (*pts)[*len].t_ms = it.t;
        (*pts)[*len].v = it.v;
        (*len)++;
    }
    if (tsdb_store_iter_err(&it) != 0)
        return s_lmdb_fail(err, "samples", tsdb_store_iter_err(&it));
    return 0;
}

int
tsdb_store_label_names(tsdb_store_reader_t *r, char ***out, size_t *n_out, fw_err_t *err)
{
    int rc = tsdb_index_label_names(&r->store->ix, r->txn, out, n_out);
    return rc == 0 ? 0 : s_lmdb_fail(err, "label names", rc);
}

int
tsdb_store_label_values(tsdb_store_reader_t *r, const char *name, char ***out, size_t *n_out,
                        fw_err_t *err)
{
    int rc = tsdb_index_label_values(&r->store->ix, r->txn, name, out, n_out);
    return rc == 0 ? 0 : s_lmdb_fail(err, "label values", rc);
}
