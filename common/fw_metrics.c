/*  fw_metrics.c — a daemon's own metrics, rendered in Prometheus text format 0.0.4.

    The registry is two levels of sorted arrays: families sorted by name, and in each family
    its series sorted by label string. Both are found by binary search, so an update costs a
    few string compares under the mutex and allocates only when a series is new; rendering
    walks the arrays in order, which gives the stable, name-sorted output Prometheus's own
    client libraries produce. Self-metrics are a few dozen families with a handful of series
    each, so arrays beat hash tables here.

    The three process_* families are declared by fw_metrics_new() and refreshed at render time
    from /proc/self/statm and getrusage(); the start time comes from /proc/self/stat and the
    boot time in /proc/stat, falling back to the registry's creation time. Values are printed
    as Prometheus's Go client does: exact integers without exponent, otherwise the shortest
    text that reads back as the same double, and +Inf, -Inf, NaN spelled that way.
*/
#include "fw_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_mem.h"

struct s_series {
    char *labels;    // owned, exposition form without braces
    double value;    // a histogram's count
    double *buckets; // owned, histograms only: per bucket (not cumulative), +Inf last
    double sum;      // histograms only
    unsigned holds;  // fw_metrics_hold's holders not yet released
};

struct s_family {
    char *name; // owned
    char *help; // owned
    fw_metric_type_t type;
    double *bounds; // owned, histograms only: upper bounds, ascending, +Inf not included
    size_t nbounds;
    struct s_series *series; // owned, sorted by labels
    size_t len;
    size_t cap;
};

struct fw_metrics {
    pthread_mutex_t lock;
    struct s_family *families; // owned, sorted by name
    size_t len;
    size_t cap;
    char **warned; // owned: undeclared names already warned about
    size_t warned_len;
    size_t warned_cap;
    double start_time; // process start, Unix seconds
};

// A growing string for the renderer.
struct s_buf {
    char *data; // owned
    size_t len;
    size_t cap;
};

// =========================================================================================
//  Helpers
// =========================================================================================

static void
s_buf_reserve(struct s_buf *b, size_t more)
{
    if (b->len + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + more + 1)
        cap *= 2;
    b->data = fw_realloc(b->data, cap);
    b->cap = cap;
}

static void
s_buf_add(struct s_buf *b, const char *s, size_t n)
{
    s_buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void
s_buf_puts(struct s_buf *b, const char *s)
{
    s_buf_add(b, s, strlen(s));
}

// Format v as Prometheus does: integers exactly, else the shortest round-trip form.
static void
s_format_value(double v, char *out, size_t size)
{
    if (isnan(v)) {
        snprintf(out, size, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, size, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) { // 2^53: every integer is exact
        snprintf(out, size, "%.0f", v);
        return;
    }
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

// HELP text escapes backslash and newline (text format 0.0.4).
static void
s_buf_help(struct s_buf *b, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            s_buf_add(b, "\\\\", 2);
        else if (*p == '\n')
            s_buf_add(b, "\\n", 2);
        else
            s_buf_add(b, p, 1);
    }
}

// Binary search of the n records of size bytes at base, sorted by the string their char *
// member at off points to: the index of key, or where it would go (*found false).
static size_t
s_find(const void *base, size_t n, size_t size, size_t off, const char *key, bool *found)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k;
        memcpy(&k, (const char *)base + mid * size + off, sizeof(k));
        int c = strcmp(k, key);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

// Index of name, or where it would go (*found false).
static size_t
s_family_find(const fw_metrics_t *self, const char *name, bool *found)
{
    return s_find(self->families, self->len, sizeof(struct s_family),
                  offsetof(struct s_family, name), name, found);
}

static size_t
s_series_find(const struct s_family *fam, const char *labels, bool *found)
{
    return s_find(fam->series, fam->len, sizeof(struct s_series), offsetof(struct s_series, labels),
                  labels, found);
}

// The series for labels in family fam, created at 0 when absent.
static struct s_series *
s_series_get(struct s_family *fam, const char *labels)
{
    bool found;
    size_t i = s_series_find(fam, labels, &found);
    if (found)
        return &fam->series[i];
    fw_mem_grow((void **)&fam->series, &fam->cap, fam->len + 1, sizeof(*fam->series));
    memmove(&fam->series[i + 1], &fam->series[i], (fam->len - i) * sizeof(*fam->series));
    memset(&fam->series[i], 0, sizeof(fam->series[i]));
    fam->series[i].labels = fw_strdup(labels);
    if (fam->type == FW_METRIC_HISTOGRAM)
        fam->series[i].buckets = fw_calloc(fam->nbounds + 1, sizeof(double));
    fam->len++;
    return &fam->series[i];
}

// The family called name, or NULL after warning once per name. Called with the lock held.
static struct s_family *
s_family_lookup(fw_metrics_t *self, const char *name)
{
    bool found;
    size_t i = s_family_find(self, name, &found);
    if (found)
        return &self->families[i];
    for (size_t k = 0; k < self->warned_len; k++)
        if (strcmp(self->warned[k], name) == 0)
            return NULL;
    fw_mem_grow((void **)&self->warned, &self->warned_cap, self->warned_len + 1,
                sizeof(*self->warned));
    self->warned[self->warned_len++] = fw_strdup(name);
    fw_warn("metrics.undeclared", "name=%s", name);
    return NULL;
}

// Process start time from /proc: boot time plus the start tick of this process.
static double
s_process_start_time(void)
{
    double fallback = (double)time(NULL);
    char buf[4096];
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f)
        return fallback;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    // The command name may contain spaces and parentheses: fields restart after the last ')'.
    char *p = strrchr(buf, ')');
    if (!p)
        return fallback;
    p++;
    unsigned long long start_ticks = 0;
    // After ')' comes field 3 (state); starttime is field 22, the 20th after the ')'.
    for (int field = 3; field <= 22; field++) {
        while (*p == ' ')
            p++;
        if (field == 22) {
            start_ticks = strtoull(p, NULL, 10);
            break;
        }
        while (*p && *p != ' ')
            p++;
    }
    long hz = sysconf(_SC_CLK_TCK);
    f = fopen("/proc/stat", "r");
    if (!f || hz <= 0) {
        if (f)
            fclose(f);
        return fallback;
    }
    double btime = 0;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        unsigned long long bt;
        if (sscanf(line, "btime %llu", &bt) == 1) {
            btime = (double)bt;
            break;
        }
    }
    fclose(f);
    if (btime <= 0)
        return fallback;
    return btime + (double)start_ticks / (double)hz;
}

static double
s_resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return 0;
    unsigned long long size = 0, resident = 0;
    int n = fscanf(f, "%llu %llu", &size, &resident);
    fclose(f);
    if (n != 2)
        return 0;
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

static double
s_cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

// =========================================================================================
//  Public API
// =========================================================================================

fw_metrics_t *
fw_metrics_new(void)
{
    fw_metrics_t *self = fw_calloc(1, sizeof(*self));
    pthread_mutex_init(&self->lock, NULL);
    self->start_time = s_process_start_time();
    fw_metrics_declare(self, "process_start_time_seconds", FW_METRIC_GAUGE,
                       "Start time of the process since unix epoch in seconds.");
    fw_metrics_declare(self, "process_resident_memory_bytes", FW_METRIC_GAUGE,
                       "Resident memory size in bytes.");
    fw_metrics_declare(self, "process_cpu_seconds_total", FW_METRIC_COUNTER,
                       "Total user and system CPU time spent in seconds.");
    return self;
}

void
fw_metrics_destroy(fw_metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_metrics_t *self = *self_p;
    for (size_t i = 0; i < self->len; i++) {
        struct s_family *fam = &self->families[i];
        for (size_t k = 0; k < fam->len; k++) {
            free(fam->series[k].labels);
            free(fam->series[k].buckets);
        }
        free(fam->series);
        free(fam->bounds);
        free(fam->help);
        free(fam->name);
    }
    free(self->families);
    for (size_t k = 0; k < self->warned_len; k++)
        free(self->warned[k]);
    free(self->warned);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void
fw_metrics_declare(fw_metrics_t *self, const char *name, fw_metric_type_t type, const char *help)
{
    if (!self || !name)
        return;
    pthread_mutex_lock(&self->lock);
    bool found;
    size_t i = s_family_find(self, name, &found);
    if (!found) {
        fw_mem_grow((void **)&self->families, &self->cap, self->len + 1, sizeof(*self->families));
        memmove(&self->families[i + 1], &self->families[i],
                (self->len - i) * sizeof(*self->families));
        struct s_family *fam = &self->families[i];
        memset(fam, 0, sizeof(*fam));
        fam->name = fw_strdup(name);
        fam->help = fw_strdup(help ? help : "");
        fam->type = type;
        self->len++;
    }
    pthread_mutex_unlock(&self->lock);
}

// Add v to a counter or gauge series (created at 0), or set it to v.
static void
s_update(fw_metrics_t *self, const char *name, const char *labels, double v, bool add)
{
    if (!self || !name)
        return;
    pthread_mutex_lock(&self->lock);
    struct s_family *fam = s_family_lookup(self, name);
    if (fam) {
        struct s_series *s = s_series_get(fam, labels ? labels : "");
        if (fam->type != FW_METRIC_HISTOGRAM && fam->type != FW_METRIC_SUMMARY)
            s->value = add ? s->value + v : v;
    }
    pthread_mutex_unlock(&self->lock);
}

void
fw_metrics_add(fw_metrics_t *self, const char *name, const char *labels, double delta)
{
    s_update(self, name, labels, delta, true);
}

void
fw_metrics_declare_histogram(fw_metrics_t *self, const char *name, const char *help,
                             const double *bounds, size_t n)
{
    if (!self || !name)
        return;
    fw_metrics_declare(self, name, FW_METRIC_HISTOGRAM, help);
    pthread_mutex_lock(&self->lock);
    bool found;
    struct s_family *fam = &self->families[s_family_find(self, name, &found)];
    if (found && fam->type == FW_METRIC_HISTOGRAM && fam->len == 0 && !fam->bounds && n > 0) {
        fam->bounds = fw_calloc(n, sizeof(double));
        memcpy(fam->bounds, bounds, n * sizeof(double));
        fam->nbounds = n;
    }
    pthread_mutex_unlock(&self->lock);
}

void
fw_metrics_observe(fw_metrics_t *self, const char *name, const char *labels, double v)
{
    if (!self || !name)
        return;
    pthread_mutex_lock(&self->lock);
    struct s_family *fam = s_family_lookup(self, name);
    if (fam && fam->type == FW_METRIC_SUMMARY) {
        struct s_series *s = s_series_get(fam, labels ? labels : "");
        s->sum += v;
        s->value += 1;
    } else if (fam && fam->type == FW_METRIC_HISTOGRAM) {
        struct s_series *s = s_series_get(fam, labels ? labels : "");
        size_t b = 0;
        while (b < fam->nbounds && v > fam->bounds[b])
            b++;
        s->buckets[b] += 1;
        s->sum += v;
        s->value += 1;
    }
    pthread_mutex_unlock(&self->lock);
}

void
fw_metrics_hold(fw_metrics_t *self, const char *name, const char *labels)
{
    if (!self || !name)
        return;
    pthread_mutex_lock(&self->lock);
    struct s_family *fam = s_family_lookup(self, name);
    if (fam)
        s_series_get(fam, labels ? labels : "")->holds++;
    pthread_mutex_unlock(&self->lock);
}

void
fw_metrics_release(fw_metrics_t *self, const char *name, const char *labels)
{
    if (!self || !name)
        return;
    pthread_mutex_lock(&self->lock);
    struct s_family *fam = s_family_lookup(self, name);
    bool found = false;
    size_t i = fam ? s_series_find(fam, labels ? labels : "", &found) : 0;
    if (found && fam->series[i].holds > 1) {
        fam->series[i].holds--;
    } else if (found) {
        free(fam->series[i].labels);
        free(fam->series[i].buckets);
        memmove(&fam->series[i], &fam->series[i + 1], (fam->len - i - 1) * sizeof(*fam->series));
        fam->len--;
    }
    pthread_mutex_unlock(&self->lock);
}

void
fw_metrics_set(fw_metrics_t *self, const char *name, const char *labels, double value)
{
    s_update(self, name, labels, value, false);
}

double
fw_metrics_get(fw_metrics_t *self, const char *name, const char *labels)
{
    if (!self || !name)
        return 0;
    double v = 0;
    pthread_mutex_lock(&self->lock);
    bool found;
    size_t i = s_family_find(self, name, &found);
    if (found) {
        struct s_family *fam = &self->families[i];
        size_t k = s_series_find(fam, labels ? labels : "", &found);
        if (found)
            v = fam->series[k].value;
    }
    pthread_mutex_unlock(&self->lock);
    return v;
}

void
fw_metrics_label(char *buf, size_t size, const char *name, const char *value)
{
    size_t w = (size_t)snprintf(buf, size, "%s=\"", name);
    for (const char *p = value; *p && w + 4 < size; p++) {
        if (*p == '"' || *p == '\\')
            buf[w++] = '\\';
        if (*p == '\n') {
            buf[w++] = '\\';
            buf[w++] = 'n';
            continue;
        }
        buf[w++] = *p;
    }
    if (w + 2 <= size) {
        buf[w++] = '"';
        buf[w] = '\0';
    } else {
        buf[size - 1] = '\0';
    }
}

// One line "name<suffix>{labels[,extra]} value".
static void
s_render_line(struct s_buf *b, const char *name, const char *suffix, const char *labels,
              const char *extra, double v)
{
    char num[64];
    s_buf_puts(b, name);
    s_buf_puts(b, suffix);
    if (labels[0] || extra) {
        s_buf_puts(b, "{");
        s_buf_puts(b, labels);
        if (extra) {
            if (labels[0])
                s_buf_puts(b, ",");
            s_buf_puts(b, extra);
        }
        s_buf_puts(b, "}");
    }
    s_format_value(v, num, sizeof(num));
    s_buf_puts(b, " ");
    s_buf_puts(b, num);
    s_buf_puts(b, "\n");
}

// A histogram series as Prometheus's Go client renders it: cumulative buckets, +Inf, sum,
// count.
static void
s_render_histogram(struct s_buf *b, const struct s_family *fam, const struct s_series *s)
{
    char le[80], num[64];
    double cum = 0;
    for (size_t i = 0; i <= fam->nbounds; i++) {
        cum += s->buckets[i];
        s_format_value(i < fam->nbounds ? fam->bounds[i] : INFINITY, num, sizeof(num));
        snprintf(le, sizeof le, "le=\"%s\"", num);
        s_render_line(b, fam->name, "_bucket", s->labels, le, cum);
    }
    s_render_line(b, fam->name, "_sum", s->labels, NULL, s->sum);
    s_render_line(b, fam->name, "_count", s->labels, NULL, s->value);
}

char *
fw_metrics_render(fw_metrics_t *self)
{
    if (!self)
        return fw_strdup("");
    // Read /proc before taking the lock; the set calls take it themselves.
    fw_metrics_set(self, "process_start_time_seconds", "", self->start_time);
    fw_metrics_set(self, "process_resident_memory_bytes", "", s_resident_bytes());
    fw_metrics_set(self, "process_cpu_seconds_total", "", s_cpu_seconds());

    struct s_buf b = {NULL, 0, 0};
    s_buf_reserve(&b, 4096);
    b.data[0] = '\0';
    char num[64];
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->len; i++) {
        const struct s_family *fam = &self->families[i];
        s_buf_puts(&b, "# HELP ");
        s_buf_puts(&b, fam->name);
        s_buf_puts(&b, " ");
        s_buf_help(&b, fam->help);
        s_buf_puts(&b, "\n# TYPE ");
        s_buf_puts(&b, fam->name);
        s_buf_puts(&b, fam->type == FW_METRIC_COUNTER     ? " counter\n"
                       : fam->type == FW_METRIC_HISTOGRAM ? " histogram\n"
                       : fam->type == FW_METRIC_SUMMARY   ? " summary\n"
                                                          : " gauge\n");
        if (fam->type == FW_METRIC_HISTOGRAM || fam->type == FW_METRIC_SUMMARY) {
            for (size_t k = 0; k < fam->len; k++) {
                const struct s_series *s = &fam->series[k];
                if (fam->type == FW_METRIC_HISTOGRAM) {
                    s_render_histogram(&b, fam, s);
                    continue;
                }
                s_render_line(&b, fam->name, "_sum", s->labels, NULL, s->sum);
                s_render_line(&b, fam->name, "_count", s->labels, NULL, s->value);
            }
            continue;
        }
        for (size_t k = 0; k < fam->len; k++) {
            const struct s_series *s = &fam->series[k];
            s_buf_puts(&b, fam->name);
            if (s->labels[0]) {
                s_buf_puts(&b, "{");
                s_buf_puts(&b, s->labels);
                s_buf_puts(&b, "}");
            }
            s_format_value(s->value, num, sizeof(num));
            s_buf_puts(&b, " ");
            s_buf_puts(&b, num);
            s_buf_puts(&b, "\n");
        }
    }
    pthread_mutex_unlock(&self->lock);
    return b.data;
}
