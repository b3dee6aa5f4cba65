/*  check_alertd_state_full.c — alertd's state on a full disk: a write the disk cannot hold
    fails with a reason, and never kills the process (issue 8).

    LMDB writes a transaction's pages at its commit, and a commit the disk cannot hold fails
    whole: alertd reserves the blocks ahead, so a full disk stops an operation before it is
    made and keeps what was committed before. The full disk here is real: a child process
    makes its own mount namespace, mounts a small tmpfs there (gone with the namespace when
    the child ends, whatever happens to it), opens the state on it and fills the rest of the
    filesystem with a file. It then writes more than alertd's reservation (32-48 MiB) in one
    batch, or one value larger than it. The parent expects the child to exit 0; a child that
    dies is reported with its signal (with the writable map alertd once used, and the
    reservation checked only as a transaction began, it died of SIGBUS). Where mount
    namespaces are not allowed (not root) these cases are skipped: nothing else here makes a
    commit meet a full disk.

    test_alertd_state_full_bounds_hold needs no full disk: over a random mix of batches (small
    and overflow values, deletes, expiry) no commit takes more new pages than its charge.
*/
#define _GNU_SOURCE // unshare, CLONE_NEWNS
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../alertd/alertd_state.h"
#include "check_util.h"

static const char *const s_dir = check_util_tmpdir;

// --- the child on a small filesystem: reports through a pipe, exits 0, 1 (a check failed)
// or 77 (no namespace or mount here) ---

static int s_report = -1; // the pipe's write end, in the child

static void __attribute__((format(printf, 2, 3), noreturn))
s_child_exit(int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)!write(s_report, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    _exit(code);
}

#define S_EXPECT(cond, fmt, ...)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            s_child_exit(1, "line %d: %s: " fmt, __LINE__, #cond, __VA_ARGS__);                    \
    } while (0)

// Fill the filesystem holding dir with dir/filler until the disk gives no more.
static void
s_fill(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    S_EXPECT(fd >= 0, "%s", strerror(errno));
    static char chunk[1 << 16];
    for (size_t n = 65536; n >= 512; n /= 2)
        for (int i = 0; i < 100000 && write(fd, chunk, n) == (ssize_t)n; i++)
            ;
    close(fd);
}

static void
s_unfill(const char *dir)
{
    char path[256];
    snprintf(path, sizeof path, "%s/filler", dir);
    S_EXPECT(unlink(path) == 0, "%s", strerror(errno));
}

static alertd_state_t *
s_open(const char *dir)
{
    alertd_state_t *st = alertd_state_new();
    fw_err_t err;
    fw_err_clear(&err);
    S_EXPECT(alertd_state_open(st, dir, &err) == 0, "open: %s", err.msg);
    return st;
}

struct s_count {
    size_t n, bad;
    size_t len; // every value's expected length
};

// Count the records; a value that is not `len` bytes of its key's first byte is bad.
static int
s_count_fn(const char *key, size_t key_len, int64_t expires_at, const char *val, size_t len,
           void *arg)
{
    (void)key_len;
    (void)expires_at;
    struct s_count *c = arg;
    c->n++;
    if (len != c->len || val[0] != key[0] || val[len - 1] != key[0])
        c->bad++;
    return 0;
}

// Run fn(dir) in a child with a tmpfs of mib MiB on dir, in the child's own mount namespace.
static void
s_on_small_fs(int mib, void (*fn)(const char *dir))
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        s_report = fds[1];
        char opts[32];
        snprintf(opts, sizeof opts, "size=%dm", mib);
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", s_dir, "tmpfs", 0, opts) != 0)
            s_child_exit(77, "no tmpfs of %d MiB in a mount namespace here: %s", mib,
                         strerror(errno));
        char dir[256];
        snprintf(dir, sizeof dir, "%s/state", s_dir);
        fn(dir);
        _exit(0);
    }
    close(fds[1]);
    char msg[512] = "";
    ssize_t n, got = 0;
    while ((n = read(fds[0], msg + got, sizeof msg - 1 - (size_t)got)) > 0)
        got += n;
    msg[got > 0 ? got : 0] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        check_util_skip("alertd state on a full disk: %s", msg);
        return;
    }
    ck_assert_msg(!WIFSIGNALED(status), "the child was killed by signal %d (%s)", WTERMSIG(status),
                  strsignal(WTERMSIG(status)));
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child: %s", msg);
}

// --- the cases ---

#define S_VAL (48 * 1024) // overflow pages: 13 a value
#define S_MANY 2000       // 94 MiB in one batch: twice alertd's reservation

// One batch of S_MANY puts of S_VAL bytes on a full 64 MiB filesystem: the first parts are
// committed, then the batch fails "No space left on device"; what was committed reads back
// intact (also after a restart), and once the disk has room the state writes again.
static void
s_big_batch(const char *dir)
{
    alertd_state_t *st = s_open(dir);
    s_fill(dir);
    char *val = malloc(S_VAL);
    char key[16];
    fw_err_t err;
    fw_err_clear(&err);
    S_EXPECT(alertd_state_begin(st, &err) == 0, "begin: %s", err.msg);
    for (int i = 0; i < S_MANY; i++) {
        snprintf(key, sizeof key, "%c%05d", 'a' + i % 26, i);
        memset(val, key[0], S_VAL);
        alertd_state_put(st, ALERTD_STATE_ALERTS, key, 1, val, S_VAL);
    }
    S_EXPECT(alertd_state_commit(st, false, &err) == -1, "a 94 MiB batch fitted a full disk%s", "");
    S_EXPECT(strstr(err.msg, "cannot reserve disk for a write") &&
                 strstr(err.msg, "No space left on device") && strstr(err.msg, "parts were"),
             "%s", err.msg);
    struct s_count c = {0, 0, S_VAL};
    S_EXPECT(alertd_state_load(st, ALERTD_STATE_ALERTS, s_count_fn, &c, NULL) == (ssize_t)c.n, "%s",
             "load");
    S_EXPECT(c.n > 0 && c.n < S_MANY && c.bad == 0, "%zu records, %zu bad", c.n, c.bad);
    S_EXPECT(alertd_state_overruns(st) == 0, "%llu overruns",
             (unsigned long long)alertd_state_overruns(st));
    alertd_state_destroy(&st);
    // A restart reads the same; with room again, a write goes through.
    st = s_open(dir);
    struct s_count c2 = {0, 0, S_VAL};
    S_EXPECT(alertd_state_load(st, ALERTD_STATE_ALERTS, s_count_fn, &c2, NULL) == (ssize_t)c.n &&
                 c2.bad == 0,
             "after the restart: %zu records (%zu before), %zu bad", c2.n, c.n, c2.bad);
    s_unfill(dir);
    S_EXPECT(alertd_state_begin(st, &err) == 0, "begin: %s", err.msg);
    memset(val, 'z', S_VAL);
    alertd_state_put(st, ALERTD_STATE_ALERTS, "zz", 1, val, S_VAL);
    S_EXPECT(alertd_state_commit(st, true, &err) == 0, "with room: %s", err.msg);
    alertd_state_destroy(&st);
    free(val);
    fprintf(stderr, "alertd state, full disk: %zu of %d records committed in parts\n", c.n, S_MANY);
}

START_TEST(test_alertd_state_full_big_batch)
{
    s_on_small_fs(64, s_big_batch);
}
END_TEST

#define S_HUGE ((size_t)64 << 20) // one value larger than the reservation

// One 64 MiB value (a silence table can be that large) on a full 96 MiB filesystem: refused
// "No space left on device"; the state then still writes what fits, and once the disk has
// room the value is stored (the reservation grows past its usual headroom for it).
static void
s_huge_value(const char *dir)
{
    alertd_state_t *st = s_open(dir);
    s_fill(dir);
    char *val = malloc(S_HUGE);
    memset(val, 't', S_HUGE);
    fw_err_t err;
    fw_err_clear(&err);
    S_EXPECT(alertd_state_begin(st, &err) == 0, "begin: %s", err.msg);
    alertd_state_put(st, ALERTD_STATE_SILENCES, "table", INT64_MAX, val, S_HUGE);
    S_EXPECT(alertd_state_commit(st, true, &err) == -1, "64 MiB fitted a full disk%s", "");
    S_EXPECT(strstr(err.msg, "No space left on device"), "%s", err.msg);
    // A small write fits in the reservation still there.
    S_EXPECT(alertd_state_begin(st, &err) == 0, "begin: %s", err.msg);
    alertd_state_put(st, ALERTD_STATE_NFLOG, "n", 1, "nn", 2);
    S_EXPECT(alertd_state_commit(st, true, &err) == 0, "small write: %s", err.msg);
    s_unfill(dir);
    S_EXPECT(alertd_state_begin(st, &err) == 0, "begin: %s", err.msg);
    alertd_state_put(st, ALERTD_STATE_SILENCES, "table", INT64_MAX, val, S_HUGE);
    S_EXPECT(alertd_state_commit(st, true, &err) == 0, "with room: %s", err.msg);
    struct s_count c = {0, 0, S_HUGE};
    S_EXPECT(alertd_state_load(st, ALERTD_STATE_SILENCES, s_count_fn, &c, NULL) == 1 && c.bad == 0,
             "%zu records, %zu bad", c.n, c.bad);
    alertd_state_destroy(&st);
    free(val);
}

START_TEST(test_alertd_state_full_huge_value)
{
    s_on_small_fs(96, s_huge_value);
}
END_TEST

// Deterministic pseudo-random numbers (xorshift), so a failure can be replayed.
static uint64_t
s_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

struct s_lens {
    const size_t *lens; // by key number
    size_t bad;
};

// A record of test_alertd_state_full_bounds_hold ("<c>-<8 digits>") is as last written.
static int
s_lens_fn(const char *key, size_t key_len, int64_t expires_at, const char *val, size_t len,
          void *arg)
{
    (void)expires_at;
    struct s_lens *l = arg;
    char digits[9] = ""; // the key is not NUL-terminated
    if (key_len == 10)
        memcpy(digits, key + 2, 8);
    int k = key_len == 10 ? atoi(digits) : -1;
    if (k < 0 || l->lens[k] != len || val[0] != key[0] || val[len - 1] != key[0])
        l->bad++;
    return 0;
}

// Random batches of puts (small values and overflow ones, new keys and overwrites), deletes
// and expiry, on a disk with room: every commit (the parts of large batches counted apart)
// takes no more new pages than charged, large batches are committed in parts, and the
// records read back as last written.
START_TEST(test_alertd_state_full_bounds_hold)
{
    alertd_state_t *st = alertd_state_new();
    fw_err_t err;
    fw_err_clear(&err);
    ck_assert_msg(alertd_state_open(st, s_dir, &err) == 0, "open: %s", err.msg);
    enum { KEYS = 3000, BATCHES = 40 };
    static size_t lens[KEYS]; // 0: absent
    static char val[200000];
    uint64_t x = 88172645463325252ULL;
    char key[32];
    for (int b = 0; b < BATCHES; b++) {
        ck_assert_int_eq(alertd_state_begin(st, NULL), 0);
        int ops = (int)(s_rand(&x) % 3000) + 1;
        for (int i = 0; i < ops; i++) {
            int k = (int)(s_rand(&x) % KEYS);
            snprintf(key, sizeof key, "%c-%08d", 'a' + k % 26, k);
            uint64_t r = s_rand(&x) % 100;
            if (r < 20) {
                alertd_state_del(st, ALERTD_STATE_NFLOG, key);
                lens[k] = 0;
                continue;
            }
            size_t len = r < 95 ? 1 + s_rand(&x) % 3000 : 1 + s_rand(&x) % sizeof val;
            memset(val, key[0], len);
            alertd_state_put(st, ALERTD_STATE_NFLOG, key, r < 30 ? 1 : INT64_MAX, val, len);
            lens[k] = r < 30 ? 0 : len; // expiring at 1: the gc below drops it
        }
        if (b % 4 == 3)
            ck_assert_int_ge(alertd_state_gc(st, ALERTD_STATE_NFLOG, 2, NULL), 0);
        ck_assert_msg(alertd_state_commit(st, false, &err) == 0, "batch %d: %s", b, err.msg);
    }
    // Expire what expires at 1 that the last batches wrote.
    ck_assert_int_ge(alertd_state_gc(st, ALERTD_STATE_NFLOG, 2, NULL), 0);
    size_t want = 0;
    for (int k = 0; k < KEYS; k++)
        want += lens[k] > 0;
    struct s_lens l = {lens, 0};
    ck_assert_int_eq(alertd_state_load(st, ALERTD_STATE_NFLOG, s_lens_fn, &l, NULL), (ssize_t)want);
    ck_assert_uint_eq(l.bad, 0);
    ck_assert_uint_eq(alertd_state_overruns(st), 0);
    ck_assert_uint_gt(alertd_state_txns(st), BATCHES + 10 + 1); // large batches went in parts
    fprintf(stderr, "alertd state: %d batches in %llu transactions, no overrun\n", BATCHES + 1,
            (unsigned long long)alertd_state_txns(st));
    alertd_state_destroy(&st);
}
END_TEST

Suite *
alertd_state_full_suite(void)
{
    Suite *s = suite_create("alertd_state_full");
    TCase *tc = tcase_create("full");
    tcase_add_checked_fixture(tc, check_util_tmpdir_setup, check_util_tmpdir_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_alertd_state_full_big_batch);
    tcase_add_test(tc, test_alertd_state_full_huge_value);
    tcase_add_test(tc, test_alertd_state_full_bounds_hold);
    suite_add_tcase(s, tc);
    return s;
}
