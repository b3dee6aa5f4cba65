/*  tsdb_store_guard.c — the storage engine's last word on a damaged data file.

    LMDB keeps no page checksums, so a damaged data.mdb can crash it in ways that cannot
    become error returns: a fault reading outside its map or through a wild pointer, or one
    of its own assertions. This file is the part of the store (tsdb_store*.c) that makes such
    a death say which data file is to blame: a SIGSEGV/SIGBUS handler that prints a
    prewritten line for the store whose map (or LMDB's code) holds the fault, then lets the
    previous disposition take it again, and LMDB's assert callback. Its state is a few static
    slots filled when stores open, resize and close (tsdb_store_int_guard_set).
*/
#include <lmdb.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "fw_log.h"
#include "tsdb_store_int.h"

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

void
tsdb_store_int_assert(MDB_env *env, const char *msg)
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
void
tsdb_store_int_guard_set(tsdb_store_t *self, int mode)
{
    if (self->guard) {
        struct s_guard *g = &s_guards[self->guard - 1];
        g->len = 0;
        g->start = g->end = 0;
        self->guard = 0;
    }
    self->map = NULL;
    if (mode == 0)
        return;
    uintptr_t start = 0, end = 0;
    MDB_txn *txn;
    if (mode == 2 && mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn) == 0) {
        MDB_val fk = {6, (void *)"format"}, fv;
        if (mdb_get(txn, self->meta, &fk, &fv) != 0 || s_mapping(fv.mv_data, &start, &end) != 0)
            start = end = 0;
        mdb_txn_abort(txn);
        self->map = (void *)start;
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
