/*  fw_tlsfiles.c — the content of tls_config's files as they are on disk at each request.

    Design: a small array of entries (a client names a handful of CA, certificate and key
    files), searched linearly. Each keeps the stat fields of its last read, the content, a
    generation and whether that read was racy (see the header for why stat is enough). A
    re-read that yields the same bytes keeps the generation; different bytes take the next
    one from the cache's counter, so generations never repeat.
*/
#include "fw_tlsfiles.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_mem.h"

// A read whose file changed less than this before it may have missed a write in the same
// tick of the file system's clock (2 s: FAT's tick; ext4 and tmpfs tick far finer).
#define S_RACY_MS 2000

struct s_entry {
    char *path; // owned
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    bool racy;  // the last read was too close to ctime: read again at the next check
    char *data; // owned, NUL-terminated, or NULL: never read
    size_t len;
    uint64_t gen;
    int64_t used_ms; // wall clock of the last check
};

struct fw_tlsfiles {
    struct s_entry *items; // owned
    size_t n, cap;
    uint64_t next_gen;
    uint64_t reads;
};

fw_tlsfiles_t *
fw_tlsfiles_new(void)
{
    fw_tlsfiles_t *self = fw_calloc(1, sizeof(*self));
    self->next_gen = 1;
    return self;
}

static void
s_entry_free(struct s_entry *e)
{
    free(e->path);
    free(e->data);
    *e = (struct s_entry){0};
}

void
fw_tlsfiles_destroy(fw_tlsfiles_t **self_p)
{
    fw_tlsfiles_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++)
        s_entry_free(&self->items[i]);
    free(self->items);
    free(self);
    *self_p = NULL;
}

static bool
s_ts_eq(struct timespec a, struct timespec b)
{
    return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static bool
s_same_file(const struct s_entry *e, const struct stat *st)
{
    return e->data && e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           s_ts_eq(e->mtime, st->st_mtim) && s_ts_eq(e->ctime, st->st_ctim);
}

// Read path into e (the stat fields from the open descriptor, so they describe what was
// read or something older). 0, or -1 with err and e unchanged.
static int
s_read(fw_tlsfiles_t *self, struct s_entry *e, int64_t now_ms, fw_err_t *err)
{
    int fd = open(e->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fw_err_set(err, "unable to read file %s: %s", e->path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        fw_err_set(err, "unable to read file %s: %s", e->path, strerror(errno));
        close(fd);
        return -1;
    }
    char *buf = fw_malloc(FW_TLSFILES_MAX + 2);
    size_t len = 0;
    int bad = 0;
    while (len <= FW_TLSFILES_MAX) {
        ssize_t n = read(fd, buf + len, FW_TLSFILES_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            bad = errno;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    self->reads++;
    if (bad || len == 0 || len > FW_TLSFILES_MAX) {
        fw_err_set(err, "unable to read file %s: %s", e->path,
                   bad   ? strerror(bad)
                   : len ? "larger than 1 MiB"
                         : "empty file");
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    if (!e->data || e->len != len || memcmp(e->data, buf, len) != 0) {
        free(e->data);
        e->data = fw_realloc(buf, len + 1);
        e->len = len;
        e->gen = self->next_gen++;
    } else {
        free(buf); // the same bytes: the same generation, as an equal hash in Prometheus
    }
    e->dev = st.st_dev;
    e->ino = st.st_ino;
    e->size = st.st_size;
    e->mtime = st.st_mtim;
    e->ctime = st.st_ctim;
    int64_t ctime_ms = (int64_t)st.st_ctim.tv_sec * 1000 + st.st_ctim.tv_nsec / 1000000;
    e->racy = now_ms - ctime_ms < S_RACY_MS;
    return 0;
}

int
fw_tlsfiles_check(fw_tlsfiles_t *self, const char *path, int64_t now_ms, uint64_t *gen,
                  fw_err_t *err)
{
    struct s_entry *e = NULL;
    for (size_t i = 0; i < self->n;) {
        struct s_entry *x = &self->items[i];
        if (strcmp(x->path, path) == 0) {
            e = x;
            i++;
        } else if (now_ms - x->used_ms > FW_TLSFILES_IDLE_MS) {
            // dropped by moving the last entry here, so e (found before i) stays valid
            s_entry_free(x);
            *x = self->items[--self->n];
        } else {
            i++;
        }
    }
    if (!e) {
        fw_mem_grow((void **)&self->items, &self->cap, self->n + 1, sizeof(*self->items));
        e = &self->items[self->n++];
        *e = (struct s_entry){.path = fw_strdup(path)};
    }
    e->used_ms = now_ms;
    *gen = e->gen;
    struct stat st;
    if (stat(path, &st) != 0) {
        fw_err_set(err, "unable to read file %s: %s", path, strerror(errno));
        return -1;
    }
    if (!e->racy && s_same_file(e, &st))
        return 0;
    if (s_read(self, e, now_ms, err) != 0)
        return -1;
    *gen = e->gen;
    return 0;
}

const char *
fw_tlsfiles_data(const fw_tlsfiles_t *self, const char *path, size_t *len)
{
    for (size_t i = 0; i < self->n; i++) {
        if (strcmp(self->items[i].path, path) == 0) {
            if (len)
                *len = self->items[i].len;
            return self->items[i].data;
        }
    }
    return NULL;
}

uint64_t
fw_tlsfiles_reads(const fw_tlsfiles_t *self)
{
    return self->reads;
}

int
fw_tlsfiles_check_tls(fw_tlsfiles_t *self, const struct fw_tls_config *t, int64_t now_ms,
                      uint64_t gen[FW_TLSFILES_N], fw_err_t *err)
{
    const char *const path[FW_TLSFILES_N] = {t->ca_file, t->cert_file, t->key_file};
    static const char *const what[FW_TLSFILES_N] = {"CA cert", "client cert", "client key"};
    for (size_t i = 0; i < FW_TLSFILES_N; i++) {
        gen[i] = 0;
        fw_err_t e = {0};
        if (path[i] && *path[i] && fw_tlsfiles_check(self, path[i], now_ms, &gen[i], &e) != 0) {
            fw_err_set(err, "unable to read %s: %s", what[i], e.msg);
            return -1;
        }
    }
    return 0;
}

struct fw_tls_config
fw_tlsfiles_tls(const fw_tlsfiles_t *self, const struct fw_tls_config *t)
{
    struct fw_tls_config out = *t; // shallow: the strings stay t's or self's
    if (t->ca_file && *t->ca_file)
        out.ca_file_pem = (char *)fw_tlsfiles_data(self, t->ca_file, NULL);
    if (t->cert_file && *t->cert_file) {
        out.cert = (char *)fw_tlsfiles_data(self, t->cert_file, NULL);
        out.cert_file = NULL;
    }
    if (t->key_file && *t->key_file) {
        out.key = (char *)fw_tlsfiles_data(self, t->key_file, NULL);
        out.key_file = NULL;
    }
    return out;
}

bool
fw_tlsfiles_changed(const uint64_t old[FW_TLSFILES_N], const uint64_t gen[FW_TLSFILES_N])
{
    for (size_t i = 0; i < FW_TLSFILES_N; i++)
        if (old[i] && old[i] != gen[i])
            return true;
    return false;
}
