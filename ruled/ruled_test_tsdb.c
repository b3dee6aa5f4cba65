/*  ruled_test_tsdb.c — a private tsdb process for `ruled test` (see ruled_test_tsdb.h).
 */
#include "ruled_test_tsdb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <czmq.h>

#include "fw_mem.h"
#include "fw_sender.h"
#include "fw_time.h"

#define S_START_MS 10000
#define S_PUSH_MS 30000
#define S_QUERY_MS 30000
#define S_STOP_MS 5000
#define S_MAX_MSG ((int64_t)1 << 30)

struct ruled_test_tsdb {
    pid_t pid;
    char *dir;
    char *samples, *query; // endpoints
    fw_sender_t *sender;
    fw_query_client_t *client;
};

char *
ruled_test_tsdb_binary(void)
{
    const char *env = getenv("FW_TSDB");
    if (env && *env)
        return fw_strdup(env);
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            char *p = fw_asprintf("%s/tsdb", self);
            if (access(p, X_OK) == 0)
                return p;
            free(p);
        }
    }
    return fw_strdup("tsdb");
}

static void
s_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

// Remove dir and what it holds, at most `depth` levels down (the data directory is two).
static void
s_rmtree(const char *dir, int depth)
{
    DIR *d = depth > 0 ? opendir(dir) : NULL;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *p = fw_asprintf("%s/%s", dir, e->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                s_rmtree(p, depth - 1);
            else
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

// Run bin with argv, stdin from /dev/null, stdout and stderr to log. The child gets SIGKILL
// when ruled dies (PR_SET_PDEATHSIG), so an interrupted `ruled test` leaves no tsdb behind.
// 0 with *pid, or an errno value (exec's own, passed back through a close-on-exec pipe).
static int
s_spawn(const char *bin, char *const argv[], const char *log, pid_t *pid)
{
    int fds[2];
    if (pipe(fds) < 0)
        return errno;
    if (fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 || fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    pid_t parent = getpid();
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return e;
    }
    if (child == 0) {
        // Only async-signal-safe calls from here: the parent may have threads (ZeroMQ's).
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0 ||
            prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent) {
            int e = errno ? errno : ESRCH;
            (void)!write(fds[1], &e, sizeof(e));
            _exit(127);
        }
        if (strchr(bin, '/'))
            execv(bin, argv);
        else
            execvp(bin, argv);
        int e = errno;
        (void)!write(fds[1], &e, sizeof(e));
        _exit(127);
    }
    close(fds[1]);
    int e = 0;
    ssize_t n;
    while ((n = read(fds[0], &e, sizeof(e))) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    if (n == (ssize_t)sizeof(e)) {
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR)
            ;
        return e ? e : ENOEXEC;
    }
    *pid = child;
    return 0;
}

ruled_test_tsdb_t *
ruled_test_tsdb_start(const char *bin, fw_err_t *err)
{
    // Every push waits for a commit, and a commit syncs: on a disk that is most of a test's
    // time (long-period.yml: 26 s on /tmp here, 8 s on /dev/shm), so RAM is preferred.
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" : "/tmp";
    char *templ = fw_asprintf("%s/ruled-test.XXXXXX", tmp);
    if (!mkdtemp(templ)) {
        fw_err_set(err, "cannot create a temporary directory %s: %s", templ, strerror(errno));
        free(templ);
        return NULL;
    }
    ruled_test_tsdb_t *self = fw_calloc(1, sizeof(*self));
    self->dir = templ;
    self->samples = fw_asprintf("ipc://%s/samples", templ);
    self->query = fw_asprintf("ipc://%s/query", templ);
    char *a_path = fw_asprintf("--storage.tsdb.path=%s/data", templ);
    char *a_samples = fw_asprintf("--zmq.samples-address=%s", self->samples);
    char *a_query = fw_asprintf("--zmq.query-address=%s", self->query);
    char *a_pub = fw_asprintf("--zmq.pub-address=ipc://%s/pub", templ);
    char *a_log = fw_asprintf("%s/tsdb.log", templ);
    static const char *const fixed[] = {
        "--web.listen-address=127.0.0.1:0",
        "--storage.tsdb.retention.time=0s",
        "--storage.tsdb.commit-interval=1ms",

        "--storage.tsdb.map-size=1GiB",
        "--scraper.url=",
        "--ruled.url=",
        "--log.level=error",
    };
    char *argv[6 + sizeof(fixed) / sizeof(fixed[0])];
    size_t ac = 0;
    argv[ac++] = (char *)bin;
    argv[ac++] = a_path;
    argv[ac++] = a_samples;
    argv[ac++] = a_query;
    argv[ac++] = a_pub;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        argv[ac++] = (char *)fixed[i];
    argv[ac] = NULL;
    int rc = s_spawn(bin, argv, a_log, &self->pid);
    free(a_path), free(a_samples), free(a_query), free(a_pub);
    if (rc != 0) {
        fw_err_set(err, "cannot run %s: %s", bin, strerror(rc));
        self->pid = 0;
        free(a_log);
        ruled_test_tsdb_stop(&self);
        return NULL;
    }
    self->client = fw_query_client_new(self->query, S_MAX_MSG, NULL);
    struct fw_sender_opts so = {.endpoint = self->samples, .name = "ruled-test"};
    self->sender = fw_sender_new(&so, NULL);
    if (!self->client || fw_sender_open(self->sender, err) < 0) {
        if (!self->client)
            fw_err_set(err, "bad query endpoint %s", self->query);
        free(a_log);
        ruled_test_tsdb_stop(&self);
        return NULL;
    }
    int64_t deadline = fw_time_mono_ms() + S_START_MS;
    struct fw_vector v = {0};
    for (;;) {
        fw_err_t qerr = {0};
        if (fw_query_vector(self->client, "1", 0, 200, &v, &qerr) == 0)
            break;
        int st;
        if (waitpid(self->pid, &st, WNOHANG) == self->pid) {
            self->pid = 0;
            fw_err_set(err, "%s exited at start (see its log: %s)", bin, a_log);
            break;
        }
        if (fw_time_mono_ms() > deadline) {
            fw_err_set(err, "%s did not answer within %d s: %s", bin, S_START_MS / 1000, qerr.msg);
            break;
        }
        s_sleep_ms(20);
    }
    fw_vector_clear(&v);
    free(a_log);
    if (err && err->msg[0]) {
        ruled_test_tsdb_stop(&self);
        return NULL;
    }
    return self;
}

int
ruled_test_tsdb_push(ruled_test_tsdb_t *self, struct fw_batch **batch_p, fw_err_t *err)
{
    if (fw_sender_send(self->sender, batch_p, NULL) < 0) {
        fw_err_set(err, "samples could not be encoded for tsdb");
        return -1;
    }
    // Poll for the acknowledgement (fw_sender_flush would send the batch again first).
    int64_t deadline = fw_time_mono_ms() + S_PUSH_MS;
    while (fw_sender_unacked(self->sender) > 0 && fw_time_mono_ms() < deadline && !zsys_interrupted)
        fw_sender_poll(self->sender, 100);
    if (fw_sender_unacked(self->sender) > 0) {
        fw_err_set(err, "tsdb did not acknowledge samples within %d s", S_PUSH_MS / 1000);
        return -1;
    }
    return 0;
}

const char *
ruled_test_tsdb_error_text(const char *msg)
{
    static const char *const types[] = {"bad_data: ", "execution: ", "internal: ", NULL};
    static const char param[] = "invalid parameter \"query\": ";
    for (size_t i = 0; types[i]; i++)
        if (strncmp(msg, types[i], strlen(types[i])) == 0) {
            msg += strlen(types[i]);
            break;
        }
    if (strncmp(msg, param, sizeof(param) - 1) == 0)
        msg += sizeof(param) - 1;
    return msg;
}

int
ruled_test_tsdb_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out,
                      fw_err_t *err)
{
    ruled_test_tsdb_t *self = arg;
    if (fw_query_vector(self->client, expr, t_ms, S_QUERY_MS, out, err) == 0)
        return 0;
    const char *m = ruled_test_tsdb_error_text(err->msg);
    memmove(err->msg, m, strlen(m) + 1);
    // fw_query's "query result is a matrix, not an instant vector": Prometheus's rules and
    // promtool say it this way for any result other than a vector or a scalar.
    if (strncmp(err->msg, "query result is a ", 18) == 0)
        fw_err_set(err, "rule result is not a vector or scalar");
    return -1;
}

int
ruled_test_tsdb_range(ruled_test_tsdb_t *self, const char *expr, int64_t start_ms, int64_t end_ms,
                      int64_t step_ms, struct fw_vector *out, fw_err_t *err)
{
    return fw_query_range(self->client, expr, start_ms, end_ms, step_ms, S_QUERY_MS, out, err);
}

void
ruled_test_tsdb_stop(ruled_test_tsdb_t **self_p)
{
    ruled_test_tsdb_t *self = *self_p;
    if (!self)
        return;
    fw_sender_destroy(&self->sender);
    fw_query_client_destroy(&self->client);
    if (self->pid > 0) {
        kill(self->pid, SIGTERM);
        int64_t deadline = fw_time_mono_ms() + S_STOP_MS;
        for (;;) {
            pid_t r = waitpid(self->pid, NULL, WNOHANG);
            if (r == self->pid || (r < 0 && errno != EINTR))
                break;
            if (fw_time_mono_ms() > deadline) {
                kill(self->pid, SIGKILL);
                waitpid(self->pid, NULL, 0);
                break;
            }
            s_sleep_ms(10);
        }
    }
    if (self->dir && getenv("FW_RULED_TEST_KEEP") == NULL)
        s_rmtree(self->dir, 4);
    free(self->dir);
    free(self->samples);
    free(self->query);
    free(self);
    *self_p = NULL;
}
