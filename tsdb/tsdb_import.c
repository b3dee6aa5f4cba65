/*  tsdb_import.c — `tsdb import`: text files into the store, checked first, then imported.

    Design (tsdb_import.h has the contract): a file is read through a buffer of 1 MiB that
    grows only for a longer line, split into lines, and each line given to the exposition
    parser in its line-at-a-time mode. Series are interned in two open-addressing tables
    over one array: by the hash of their text as written (one hash and one memcmp per
    sample, no allocation, whether the input is series-major or time-major) and by the
    hash of their sorted label set (so `a{x="1",y="2"}` and `a{y="2",x="1"}` meet). The
    check pass builds both tables; the import pass only looks up. Each series buffers its
    samples until the next flush, which sorts the buffers that arrived out of order, hands
    them to the store and commits: memory is max_samples samples plus the series tables.
*/
#include "tsdb_import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fw_expfmt.h"
#include "fw_flags.h"
#include "fw_hash.h"
#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_index.h"
#include "tsdb_rollup.h"

#define S_DEFAULT_MAX_SAMPLES 1000000
#define S_READ_CHUNK ((size_t)1 << 20)
#define S_PROGRESS_US 250000

static int64_t
s_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

// ---------------------------------------------------------------------------------------
//  Reading lines

struct s_reader {
    int fd;
    char *buf; // owned
    size_t cap, start, end;
    bool eof;
    int lineno;      // lines handed out
    size_t consumed; // bytes handed out (lines and their '\n')
};

static int
s_reader_open(struct s_reader *r, const char *path, size_t *size, fw_err_t *err)
{
    memset(r, 0, sizeof(*r));
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        fw_err_set(err, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(r->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        // Both passes read the file, so a pipe or a terminal cannot be imported.
        fw_err_set(err, "%s: not a regular file (tsdb import reads each file twice)", path);
        close(r->fd);
        r->fd = -1;
        return -1;
    }
    *size = (size_t)sb.st_size;
    return 0;
}

static void
s_reader_close(struct s_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    free(r->buf);
    r->buf = NULL;
}

// The next line (without its '\n') in *line, *len: 1, 0 at the end of the file, or -1.
static int
s_reader_line(struct s_reader *r, const char *path, const char **line, size_t *len, fw_err_t *err)
{
    for (;;) {
        char *nl = r->end > r->start ? memchr(r->buf + r->start, '\n', r->end - r->start) : NULL;
        if (nl || (r->eof && r->start < r->end)) {
            *line = r->buf + r->start;
            *len = nl ? (size_t)(nl - *line) : r->end - r->start;
            r->start += *len + (nl ? 1 : 0);
            r->consumed += *len + (nl ? 1 : 0);
            r->lineno++;
            return 1;
        }
        if (r->eof)
            return 0;
        if (r->start > 0) {
            memmove(r->buf, r->buf + r->start, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        if (r->end == r->cap) {
            if (r->cap >= TSDB_IMPORT_MAX_LINE) {
                fw_err_set_at(err, path, r->lineno + 1, 1, "line longer than %zu bytes",
                              TSDB_IMPORT_MAX_LINE);
                return -1;
            }
            r->cap = r->cap ? r->cap * 2 : S_READ_CHUNK;
            r->buf = fw_realloc(r->buf, r->cap);
        }
        ssize_t got = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            fw_err_set(err, "%s: read: %s", path, strerror(errno));
            return -1;
        }
        if (got == 0)
            r->eof = true;
        r->end += (size_t)got;
    }
}

// OpenMetrics when the file's last line is "# EOF" (the format's mandatory end).
static fw_expfmt_fmt_t
s_detect(int fd, size_t size)
{
    char tail[16];
    size_t n = size < sizeof(tail) ? size : sizeof(tail);
    if (n == 0 || pread(fd, tail, n, (off_t)(size - n)) != (ssize_t)n)
        return FW_EXPFMT_TEXT;
    while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r'))
        n--;
    if (n >= 5 && memcmp(tail + n - 5, "# EOF", 5) == 0 &&
        (n == 5 || tail[n - 6] == '\n' || tail[n - 6] == '\r'))
        return FW_EXPFMT_OPENMETRICS;
    return FW_EXPFMT_TEXT;
}

// ---------------------------------------------------------------------------------------
//  Series tables

struct s_series {
    struct fw_labels labels; // owned, sorted
    uint64_t hash;           // fw_labels_hash(labels)
    struct fw_sample *buf;   // owned: samples since the last flush
    size_t len, cap;
    bool unsorted; // buf is not in time order
    bool listed;   // on the dirty list
    bool bad;      // the index cannot hold the label set
};

// Series text as written -> series (key in the key arena).
struct s_raw {
    uint64_t hash;
    size_t key_off;
    uint32_t key_len;
    uint32_t series; // index + 1; 0 is an empty slot
};

struct s_imp {
    tsdb_store_t *store; // borrowed
    const struct tsdb_import_opts *opts;
    FILE *errout;
    struct tsdb_import_stats *st;
    fw_expfmt_t *parser; // owned
    struct s_series *series;
    size_t n_series, cap_series;
    struct s_raw *raw; // owned table, raw_cap a power of two
    size_t raw_cap, raw_len;
    uint32_t *canon; // owned table of series index + 1
    size_t canon_cap;
    char *keys; // owned arena of series texts
    size_t keys_len, keys_cap;
    uint32_t *dirty; // owned: series with buffered samples
    size_t n_dirty, cap_dirty;
    size_t buffered;
    struct fw_labels scratch;
    struct fw_sample *tmp; // owned: merge sort scratch
    size_t tmp_cap;
    // progress
    size_t total_bytes, done_bytes;
    int64_t t0, last_progress;
    bool progress_shown;
    size_t reported;
    struct tsdb_store_counters counters0; // the store's counters before the import
};

static void
s_raw_put(struct s_imp *imp, uint64_t h, size_t off, uint32_t len, uint32_t idx)
{
    if ((imp->raw_len + 1) * 2 > imp->raw_cap) {
        struct s_raw *old = imp->raw;
        size_t old_cap = imp->raw_cap;
        imp->raw_cap = old_cap ? old_cap * 2 : 1024;
        imp->raw = fw_calloc(imp->raw_cap, sizeof(*imp->raw));
        imp->raw_len = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].series)
                s_raw_put(imp, old[i].hash, old[i].key_off, old[i].key_len, old[i].series - 1);
        free(old);
    }
    size_t mask = imp->raw_cap - 1;
    size_t i = (size_t)h & mask;
    while (imp->raw[i].series)
        i = (i + 1) & mask;
    imp->raw[i] = (struct s_raw){h, off, len, idx + 1};
    imp->raw_len++;
}

static void
s_canon_put(struct s_imp *imp, uint32_t idx)
{
    if ((imp->n_series + 1) * 2 > imp->canon_cap) {
        free(imp->canon);
        imp->canon_cap = imp->canon_cap ? imp->canon_cap * 2 : 1024;
        imp->canon = fw_calloc(imp->canon_cap, sizeof(*imp->canon));
        for (size_t k = 0; k < imp->n_series; k++)
            if (k != idx)
                s_canon_put(imp, (uint32_t)k);
    }
    size_t mask = imp->canon_cap - 1;
    size_t i = (size_t)imp->series[idx].hash & mask;
    while (imp->canon[i])
        i = (i + 1) & mask;
    imp->canon[i] = idx + 1;
}

// The series of sample s: found by its text, then by its label set, or added. The index of
// the series, or -1 when there are too many (the caller reports it).
static ssize_t
s_series_of(struct s_imp *imp, const struct fw_expfmt_sample *s)
{
    uint64_t h = fw_hash64(s->series, s->series_len);
    if (imp->raw_cap) {
        size_t mask = imp->raw_cap - 1;
        for (size_t i = (size_t)h & mask; imp->raw[i].series; i = (i + 1) & mask) {
            const struct s_raw *e = &imp->raw[i];
            if (e->hash == h && e->key_len == s->series_len &&
                memcmp(imp->keys + e->key_off, s->series, s->series_len) == 0)
                return (ssize_t)e->series - 1;
        }
    }
    if (imp->n_series >= UINT32_MAX - 1 || s->series_len > UINT32_MAX)
        return -1;
    struct fw_labels *l = &imp->scratch;
    fw_labels_clear(l);
    fw_labels_set(l, "__name__", s->name);
    for (size_t k = 0; k < s->n_labels; k++)
        fw_labels_set(l, s->label_names[k], s->label_values[k]);
    uint64_t ch = fw_labels_hash(l);
    ssize_t idx = -1;
    if (imp->canon_cap) {
        size_t mask = imp->canon_cap - 1;
        for (size_t i = (size_t)ch & mask; imp->canon[i]; i = (i + 1) & mask) {
            struct s_series *c = &imp->series[imp->canon[i] - 1];
            if (c->hash == ch && fw_labels_cmp(&c->labels, l) == 0) {
                idx = (ssize_t)imp->canon[i] - 1;
                break;
            }
        }
    }
    if (idx < 0) {
        fw_mem_grow((void **)&imp->series, &imp->cap_series, imp->n_series + 1,
                    sizeof(*imp->series));
        idx = (ssize_t)imp->n_series;
        struct s_series *n = &imp->series[idx];
        memset(n, 0, sizeof(*n));
        n->labels = *l; // the scratch set moves into the series
        *l = (struct fw_labels)FW_LABELS_INIT;
        n->hash = ch;
        n->bad = tsdb_index_check(&n->labels, NULL) != 0;
        s_canon_put(imp, (uint32_t)idx);
        imp->n_series++;
    }
    fw_mem_grow((void **)&imp->keys, &imp->keys_cap, imp->keys_len + s->series_len, 1);
    memcpy(imp->keys + imp->keys_len, s->series, s->series_len);
    s_raw_put(imp, h, imp->keys_len, (uint32_t)s->series_len, (uint32_t)idx);
    imp->keys_len += s->series_len;
    return idx;
}

// ---------------------------------------------------------------------------------------
//  Reporting

static void
s_progress_clear(struct s_imp *imp)
{
    if (imp->progress_shown) {
        fputs("\r\033[K", imp->errout);
        imp->progress_shown = false;
    }
}

static void
s_progress(struct s_imp *imp, bool importing, bool force)
{
    if (!imp->opts->progress)
        return;
    int64_t now = s_now_us();
    if (!force && now - imp->last_progress < S_PROGRESS_US)
        return;
    imp->last_progress = now;
    double pct =
        imp->total_bytes ? 100.0 * (double)imp->done_bytes / (double)imp->total_bytes : 100.0;
    if (!importing) {
        fprintf(imp->errout, "\rtsdb import: checking %5.1f%% of %.1f MB, %zu series", pct,
                (double)imp->total_bytes / 1e6, imp->n_series);
    } else {
        double secs = (double)(now - imp->t0) / 1e6;
        size_t done = imp->st->store.samples + imp->buffered;
        fprintf(imp->errout, "\rtsdb import: importing %5.1f%%, %zu samples, %.0f samples/s ", pct,
                done, secs > 0 ? (double)done / secs : 0.0);
    }
    fflush(imp->errout);
    imp->progress_shown = true;
}

// A bad line: "file:line:col: error: reason", the first TSDB_IMPORT_MAX_REPORTED of them.
static void
s_bad(struct s_imp *imp, const char *path, int line, int col, const char *why)
{
    imp->st->bad_lines++;
    if (imp->reported >= TSDB_IMPORT_MAX_REPORTED)
        return;
    imp->reported++;
    s_progress_clear(imp);
    fw_err_t e;
    char buf[512];
    fw_err_set_at(&e, path, line, col, "%s", why);
    fprintf(imp->errout, "%s\n", fw_err_format(&e, buf, sizeof(buf)));
}

// ---------------------------------------------------------------------------------------
//  The two passes

static fw_expfmt_fmt_t
s_format(const struct s_imp *imp, const struct s_reader *r, size_t size)
{
    switch (imp->opts->format) {
    case TSDB_IMPORT_OPENMETRICS: return FW_EXPFMT_OPENMETRICS;
    case TSDB_IMPORT_TEXT: return FW_EXPFMT_TEXT;
    case TSDB_IMPORT_AUTO: break;
    }
    return s_detect(r->fd, size);
}

// Stable merge sort of samples by time (the first of equal timestamps stays first).
static void
s_sort(struct s_imp *imp, struct fw_sample *a, size_t n)
{
    if (n < 2)
        return;
    fw_mem_grow((void **)&imp->tmp, &imp->tmp_cap, n, sizeof(*imp->tmp));
    struct fw_sample *src = a, *dst = imp->tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = src[j].t_ms < src[i].t_ms ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct fw_sample *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof(*a));
}

// Hand every buffered sample to the store and commit them in one transaction. The last
// flush also seals every open chunk first, so that they are stored in their smallest form.
static int
s_flush(struct s_imp *imp, bool last, fw_err_t *err)
{
    for (size_t k = 0; k < imp->n_dirty; k++) {
        struct s_series *s = &imp->series[imp->dirty[k]];
        if (s->unsorted)
            s_sort(imp, s->buf, s->len);
        if (tsdb_store_append_series(imp->store, &s->labels, s->buf, s->len, &imp->st->store,
                                     err) != 0)
            return -1;
        // Series-major input touches a series once: keep no buffer for it.
        free(s->buf);
        s->buf = NULL;
        s->len = s->cap = 0;
        s->unsorted = s->listed = false;
    }
    size_t sealed = last ? tsdb_store_seal_all(imp->store) : 0;
    if (imp->n_dirty == 0 && sealed == 0)
        return 0;
    imp->n_dirty = 0;
    imp->buffered = 0;
    if (tsdb_store_commit(imp->store, err) != 0)
        return -1;
    struct tsdb_store_counters c;
    tsdb_store_counters(imp->store, &c);
    struct tsdb_import_stats *st = imp->st;
    st->commits++;
    st->committed = st->store.samples;
    st->late_duplicates = (size_t)(c.late_duplicates - imp->counters0.late_duplicates);
    st->late_conflicts = (size_t)(c.late_conflicts - imp->counters0.late_conflicts);
    st->stored = st->committed - st->late_duplicates - st->late_conflicts;
    return 0;
}

static void
s_buffer(struct s_imp *imp, size_t idx, int64_t t, double v)
{
    struct s_series *s = &imp->series[idx];
    if (s->len == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->buf = fw_realloc(s->buf, s->cap * sizeof(*s->buf));
    }
    if (s->len > 0 && t < s->buf[s->len - 1].t_ms)
        s->unsorted = true;
    s->buf[s->len++] = (struct fw_sample){t, v};
    if (!s->listed) {
        fw_mem_grow((void **)&imp->dirty, &imp->cap_dirty, imp->n_dirty + 1, sizeof(*imp->dirty));
        imp->dirty[imp->n_dirty++] = (uint32_t)idx;
        s->listed = true;
    }
    imp->buffered++;
}

// One pass over one file: check (importing false) or import. -1 with err only for what
// stops the import (unreadable file, store failure, a file changed since its check).
static int
s_pass_file(struct s_imp *imp, const char *path, bool importing, fw_err_t *err)
{
    struct s_reader r;
    size_t size;
    if (s_reader_open(&r, path, &size, err) != 0)
        return -1;
    fw_expfmt_fmt_t fmt = s_format(imp, &r, size);
    fw_expfmt_begin(imp->parser, fmt, FW_EXPFMT_LAX_FAMILIES);
    size_t base = imp->done_bytes;
    const char *line;
    size_t len;
    int rc;
    while ((rc = s_reader_line(&r, path, &line, &len, err)) == 1) {
        struct fw_expfmt_sample s;
        fw_err_t perr;
        int got = fw_expfmt_line(imp->parser, line, len, &s, &perr);
        if ((r.lineno & 8191) == 0) {
            imp->done_bytes = base + r.consumed;
            s_progress(imp, importing, false);
        }
        if (got == 0)
            continue;
        if (importing)
            imp->st->lines++;
        if (got < 0) {
            if (importing) {
                fw_err_set_at(err, path, perr.line, perr.col, "%s (did the file change?)",
                              perr.msg);
                goto fail;
            }
            s_bad(imp, path, perr.line, perr.col, perr.msg);
            continue;
        }
        if (!s.has_t) {
            if (importing) {
                fw_err_set_at(err, path, r.lineno, (int)len + 1, "no timestamp");
                goto fail;
            }
            s_bad(imp, path, r.lineno, (int)len + 1,
                  "sample without a timestamp (tsdb import needs one on every sample)");
            continue;
        }
        ssize_t idx = s_series_of(imp, &s);
        if (idx < 0) {
            fw_err_set_at(err, path, r.lineno, 1, "too many series");
            goto fail;
        }
        if (imp->series[idx].bad) {
            fw_err_t why;
            tsdb_index_check(&imp->series[idx].labels, &why);
            if (importing) {
                fw_err_set_at(err, path, r.lineno, 1, "%s", why.msg);
                goto fail;
            }
            s_bad(imp, path, r.lineno, 1, why.msg);
            continue;
        }
        if (!importing) {
            imp->st->read++;
            if (s.t_ms < imp->st->mint)
                imp->st->mint = s.t_ms;
            if (s.t_ms > imp->st->maxt)
                imp->st->maxt = s.t_ms;
            continue;
        }
        s_buffer(imp, (size_t)idx, s.t_ms, s.v);
        if (imp->buffered >= imp->opts->max_samples && s_flush(imp, false, err) != 0)
            goto fail;
    }
    if (rc < 0)
        goto fail;
    fw_err_t perr;
    if (fw_expfmt_end(imp->parser, &perr) != 0) {
        if (importing) {
            fw_err_set_at(err, path, perr.line, perr.col, "%s", perr.msg);
            goto fail;
        }
        s_bad(imp, path, perr.line, perr.col, perr.msg);
    }
    imp->done_bytes = base + size;
    s_reader_close(&r);
    return 0;
fail:
    s_reader_close(&r);
    return -1;
}

static void
s_imp_free(struct s_imp *imp)
{
    for (size_t k = 0; k < imp->n_series; k++) {
        fw_labels_clear(&imp->series[k].labels);
        free(imp->series[k].buf);
    }
    free(imp->series);
    free(imp->raw);
    free(imp->canon);
    free(imp->keys);
    free(imp->dirty);
    free(imp->tmp);
    fw_labels_clear(&imp->scratch);
    fw_expfmt_destroy(&imp->parser);
}

int
tsdb_import_files(tsdb_store_t *store, const char *const *paths, size_t n,
                  const struct tsdb_import_opts *opts, struct tsdb_import_stats *st, fw_err_t *err)
{
    struct tsdb_import_stats local;
    if (!st)
        st = &local;
    memset(st, 0, sizeof(*st));
    st->mint = INT64_MAX;
    st->maxt = INT64_MIN;
    struct tsdb_import_opts o = *opts;
    if (o.max_samples == 0)
        o.max_samples = S_DEFAULT_MAX_SAMPLES;
    struct s_imp imp = {.store = store,
                        .opts = &o,
                        .errout = o.errout ? o.errout : stderr,
                        .st = st,
                        .parser = fw_expfmt_new(),
                        .scratch = FW_LABELS_INIT};
    int rc = -1;
    for (size_t k = 0; k < n; k++) {
        struct stat sb;
        if (stat(paths[k], &sb) == 0)
            imp.total_bytes += (size_t)sb.st_size;
    }
    st->files = n;
    st->bytes = imp.total_bytes;

    int64_t t = s_now_us();
    for (size_t k = 0; k < n; k++)
        if (s_pass_file(&imp, paths[k], false, err) != 0)
            goto out;
    st->check_us = s_now_us() - t;
    st->series = imp.n_series;
    s_progress_clear(&imp);
    if (st->bad_lines > 0) {
        if (st->bad_lines > imp.reported)
            fprintf(imp.errout, "... and %zu more bad lines\n", st->bad_lines - imp.reported);
        fw_err_set(err, "%zu bad line%s: nothing was imported", st->bad_lines,
                   st->bad_lines == 1 ? "" : "s");
        goto out;
    }

    imp.t0 = s_now_us();
    imp.done_bytes = 0;
    tsdb_store_counters(store, &imp.counters0);
    for (size_t k = 0; k < n; k++)
        if (s_pass_file(&imp, paths[k], true, err) != 0)
            goto out;
    if (s_flush(&imp, true, err) != 0)
        goto out;
    s_progress(&imp, true, true);
    rc = 0;
out:
    st->import_us = imp.t0 ? s_now_us() - imp.t0 : 0;
    s_progress_clear(&imp);
    s_imp_free(&imp);
    return rc;
}

// ---------------------------------------------------------------------------------------
//  The command line

struct s_cli {
    const char *path;
    int64_t map_size;
    const char *format;
    int64_t max_samples;
    int64_t keep_5m, keep_1h;
    bool quiet;
};

static const struct fw_flag s_flags[] = {
    {"storage.tsdb.path", FW_FLAG_STR, offsetof(struct s_cli, path), "data/tsdb",
     "data directory to import into (tsdb's; not while a tsdb runs on it)"},
    {"storage.tsdb.map-size", FW_FLAG_SIZE, offsetof(struct s_cli, map_size), "8GiB",
     "LMDB map size: the largest the database may grow"},
    {"format", FW_FLAG_STR, offsetof(struct s_cli, format), "auto",
     "auto (a file whose last line is \"# EOF\" is OpenMetrics, any other text), openmetrics "
     "(timestamps in seconds, as promtool reads) or text (timestamps in milliseconds)"},
    {"max-samples-in-memory", FW_FLAG_INT, offsetof(struct s_cli, max_samples), "1000000",
     "samples buffered between two commits (bounds memory: 16 bytes each)"},
    {"storage.tsdb.rollup-5m-retention", FW_FLAG_DURATION, offsetof(struct s_cli, keep_5m), "30d",
     "as tsdb's: the 5-minute rollups written after the import are kept this long (0: none "
     "written, the level off; else at least 5m)"},
    {"storage.tsdb.rollup-1h-retention", FW_FLAG_DURATION, offsetof(struct s_cli, keep_1h), "400d",
     "as tsdb's: the 1-hour rollups written after the import are kept this long (0: none "
     "written, the level off; else at least 1h)"},
    {"quiet", FW_FLAG_BOOL, offsetof(struct s_cli, quiet), "false",
     "no progress display (it is shown only on a terminal anyway)"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

// Is arg a flag of the table that takes its value from the next argument?
static bool
s_takes_next(const char *arg)
{
    if (strncmp(arg, "--", 2) != 0 || strchr(arg, '='))
        return false;
    for (const struct fw_flag *f = s_flags; f->name; f++)
        if (strcmp(arg + 2, f->name) == 0)
            return f->type != FW_FLAG_BOOL;
    return false;
}

static void
s_summary(FILE *out, const struct tsdb_import_stats *st)
{
    const struct tsdb_store_stats *s = &st->store;
    double secs = (double)st->import_us / 1e6;
    fprintf(out,
            "imported %zu samples of %zu read, %zu series (%zu new) from %zu file%s "
            "(%.1f MB) in %.2f s: %.0f samples/s (check pass %.2f s)\n",
            st->stored, st->read, st->series, s->new_series, st->files, st->files == 1 ? "" : "s",
            (double)st->bytes / 1e6, secs, secs > 0 ? (double)st->read / secs : 0.0,
            (double)st->check_us / 1e6);
    if (st->read > 0) {
        char a[40], b[40];
        fprintf(out, "time range %s .. %s; %zu commit%s\n", fw_time_rfc3339(st->mint, a, sizeof(a)),
                fw_time_rfc3339(st->maxt, b, sizeof(b)), st->commits, st->commits == 1 ? "" : "s");
    }
    fprintf(out,
            "late (older than their series' newest, merged): %zu; not stored: %zu duplicates "
            "(already stored, same value), %zu conflicting (same timestamp, other value: the "
            "first stays), %zu out of order, %zu too old\n",
            s->late - st->late_duplicates - st->late_conflicts, s->duplicates + st->late_duplicates,
            s->conflicts + st->late_conflicts, s->out_of_order, s->too_old);
}

int
tsdb_import_main(int argc, char **argv, FILE *out, FILE *errout)
{
    char **fargv = fw_calloc((size_t)argc + 1, sizeof(char *));
    const char **files = fw_calloc((size_t)argc + 1, sizeof(char *));
    int fargc = 0, nfiles = 0, code = 2;
    fargv[fargc++] = argv[0];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (++i < argc)
                files[nfiles++] = argv[i];
            break;
        }
        if (strncmp(argv[i], "--", 2) == 0 || strcmp(argv[i], "-h") == 0) {
            fargv[fargc++] = argv[i];
            if (s_takes_next(argv[i]) && i + 1 < argc)
                fargv[fargc++] = argv[++i];
        } else {
            files[nfiles++] = argv[i];
        }
    }
    struct s_cli cli = {0};
    int rc = fw_flags_parse(fargc, fargv, "tsdb import",
                            "import OpenMetrics or Prometheus text files with timestamps "
                            "(tsdb import [flags] FILE...) into a tsdb data directory",
                            s_flags, &cli);
    if (rc != 0) {
        code = rc > 0 ? 0 : 2;
        goto out;
    }
    struct tsdb_import_opts opts = {.errout = errout};
    if (strcmp(cli.format, "auto") == 0)
        opts.format = TSDB_IMPORT_AUTO;
    else if (strcmp(cli.format, "openmetrics") == 0)
        opts.format = TSDB_IMPORT_OPENMETRICS;
    else if (strcmp(cli.format, "text") == 0)
        opts.format = TSDB_IMPORT_TEXT;
    else {
        fprintf(errout, "tsdb import: --format must be auto, openmetrics or text, not \"%s\"\n",
                cli.format);
        goto out;
    }
    if (cli.max_samples < 1) {
        fprintf(errout, "tsdb import: --max-samples-in-memory must be at least 1\n");
        goto out;
    }
    fw_err_t kerr = {0};
    if (tsdb_rollup_check_keep(0, cli.keep_5m, "storage.tsdb.rollup-5m-retention", &kerr) != 0 ||
        tsdb_rollup_check_keep(1, cli.keep_1h, "storage.tsdb.rollup-1h-retention", &kerr) != 0) {
        fprintf(errout, "tsdb import: %s\n", kerr.msg);
        goto out;
    }
    if (nfiles == 0) {
        fprintf(errout, "tsdb import: no FILE given (tsdb import [flags] FILE...; see --help)\n");
        goto out;
    }
    opts.max_samples = (size_t)cli.max_samples;
    opts.progress = !cli.quiet && isatty(fileno(errout)) == 1;
    fw_log_init("tsdb", FW_LOG_WARN, FW_LOG_LOGFMT);

    code = 1;
    fw_err_t err = {0};
    tsdb_store_t *store = tsdb_store_new();
    tsdb_store_set_mapsize(store, (size_t)cli.map_size);
    tsdb_store_set_ooo_window(store, INT64_MAX); // backfill: older samples are merged
    if (tsdb_store_open(store, cli.path, &err) != 0) {
        fprintf(errout, "tsdb import: %s\n", err.msg);
        tsdb_store_destroy(&store);
        goto out;
    }
    struct tsdb_import_stats st;
    char buf[512];
    if (tsdb_import_files(store, files, (size_t)nfiles, &opts, &st, &err) == 0)
        code = 0;
    else if (err.file[0])
        fprintf(errout, "%s\n", fw_err_format(&err, buf, sizeof(buf)));
    else
        fprintf(errout, "tsdb import: %s\n", err.msg);
    if (code == 0) {
        s_summary(out, &st);
        // the rollups of what was imported, so queries over it answer from them at once
        // (tsdb would write them too, in the background)
        // with the levels (and retentions) tsdb is to run with
        tsdb_rollup_t *ru =
            tsdb_rollup_new(store, (const int64_t[TSDB_ROLLUP_LEVELS]){cli.keep_5m, cli.keep_1h});
        tsdb_rollup_set_bulk(ru, true);
        int64_t t0 = s_now_us();
        int on = 0;
        if (tsdb_rollup_levels(ru, &on, &err) != 0 ||
            tsdb_rollup_run(ru, fw_time_now_ms(), &err) != 0) {
            fprintf(errout, "tsdb import: rollups: %s (tsdb writes them when it runs)\n", err.msg);
        } else if (on == 0) {
            fprintf(out, "rollups: off (both --storage.tsdb.rollup-*-retention are 0)\n");
        } else {
            struct tsdb_rollup_counters ruc;
            tsdb_rollup_counters(ru, &ruc);
            fprintf(out, "rollups: %llu buckets in %.2f s, pages of %.1f bytes a bucket\n",
                    (unsigned long long)ruc.buckets, (double)(s_now_us() - t0) / 1e6,
                    ruc.buckets ? (double)ruc.bytes / (double)ruc.buckets : 0.0);
        }
        tsdb_rollup_destroy(&ru);
    } else if (st.committed > 0)
        fprintf(errout,
                "tsdb import: %zu samples were committed before the failure and stay; run the "
                "import again to complete it (stored samples are not stored twice)\n",
                st.committed);
    tsdb_store_destroy(&store);
out:
    free(fargv);
    free(files);
    return code;
}
