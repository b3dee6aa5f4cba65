/*  tsdb_metadata.c — METADATA into a table per target, /api/v1/metadata out of it (see
    tsdb_metadata.h).

    Targets are a plain array searched by key: METADATA arrives when a target's metadata
    changes and once every 5 minutes, so even thousands of targets cost little, and the
    answer walks every target anyway. Remote-written families live in one more table, rw,
    indexed by family name with open addressing (a sender resends every family each minute,
    in any order).
*/
#include "tsdb_metadata.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_labels.h"
#include "fw_mem.h"
#include "tsdb_api_int.h"

struct s_entry {
    char *metric, *type, *unit, *help; // owned
    int64_t seen_ms;                   // remote-written families only
};

struct s_target {
    char *key; // owned: sender, '\n', target
    int64_t seen_ms;
    struct s_entry *entries; // owned
    size_t n;
};

struct tsdb_metadata {
    pthread_mutex_t lock;
    struct s_target *targets; // owned
    size_t n_targets, cap_targets;
    struct s_target rw; // remote-written families in arrival order (key unused)
    size_t cap_rw;
    size_t *slots;    // owned: open-addressing index of rw by family name, entry index + 1
    size_t n_slots;   // a power of two, 0 before the first
    size_t n_entries; // over all targets and rw
};

tsdb_metadata_t *
tsdb_metadata_new(void)
{
    tsdb_metadata_t *self = fw_calloc(1, sizeof(*self));
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

static void
s_entries_free_one(struct s_entry *e)
{
    free(e->metric);
    free(e->type);
    free(e->unit);
    free(e->help);
}

static void
s_entries_free(struct s_entry *e, size_t n)
{
    for (size_t k = 0; k < n; k++)
        s_entries_free_one(&e[k]);
    free(e);
}

void
tsdb_metadata_destroy(tsdb_metadata_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_metadata_t *self = *self_p;
    for (size_t k = 0; k < self->n_targets; k++) {
        free(self->targets[k].key);
        s_entries_free(self->targets[k].entries, self->targets[k].n);
    }
    free(self->targets);
    s_entries_free(self->rw.entries, self->rw.n);
    free(self->slots);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

static const char *const s_types[] = {"counter",        "gauge",   "histogram",
                                      "gaugehistogram", "summary", "info",
                                      "stateset",       "unknown", NULL};

// The string member key of o, when it is one of at most max bytes; else NULL.
static const char *
s_str(const json_t *o, const char *key, size_t max)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_length(v) <= max ? json_string_value(v) : NULL;
}

// The index of the target key, or n_targets.
static size_t
s_find(const tsdb_metadata_t *self, const char *key)
{
    size_t k = 0;
    while (k < self->n_targets && strcmp(self->targets[k].key, key) != 0)
        k++;
    return k;
}

static void
s_remove(tsdb_metadata_t *self, size_t k)
{
    struct s_target *t = &self->targets[k];
    self->n_entries -= t->n;
    free(t->key);
    s_entries_free(t->entries, t->n);
    self->targets[k] = self->targets[--self->n_targets];
}

ssize_t
tsdb_metadata_ingest(tsdb_metadata_t *self, const json_t *body, int64_t now_ms, fw_err_t *err)
{
    const char *sender = s_str(body, "sender", 256), *target = s_str(body, "target", 4096);
    const json_t *list = json_object_get(body, "metadata");
    if (!sender || !target || !json_is_array(list)) {
        fw_err_set(err, "METADATA: sender, target or metadata missing or malformed");
        return -1;
    }
    size_t n = json_array_size(list);
    struct s_entry *entries = n ? fw_calloc(n, sizeof(*entries)) : NULL;
    for (size_t k = 0; k < n; k++) {
        const json_t *e = json_array_get(list, k);
        const char *metric = s_str(e, "metric", 1024), *type = s_str(e, "type", 32);
        const char *unit = s_str(e, "unit", 256), *help = s_str(e, "help", TSDB_METADATA_MAX_TEXT);
        bool known = false;
        for (size_t j = 0; type && s_types[j] && !known; j++)
            known = strcmp(type, s_types[j]) == 0;
        if (!metric || !*metric || !known || !unit || !help) {
            fw_err_set(err, "METADATA: entry %zu is not {metric, type, unit, help} within bounds",
                       k);
            s_entries_free(entries, k);
            return -1;
        }
        entries[k] = (struct s_entry){fw_strdup(metric), fw_strdup(type), fw_strdup(unit),
                                      fw_strdup(help), 0};
    }
    char *key = fw_asprintf("%s\n%s", sender, target);
    pthread_mutex_lock(&self->lock);
    size_t i = s_find(self, key);
    size_t old = i < self->n_targets ? self->targets[i].n : 0;
    if (self->n_entries - old + n > TSDB_METADATA_MAX_ENTRIES) {
        pthread_mutex_unlock(&self->lock);
        fw_err_set(err, "METADATA: more than %d metric families over all targets",
                   TSDB_METADATA_MAX_ENTRIES);
        s_entries_free(entries, n);
        free(key);
        return -1;
    }
    if (i < self->n_targets)
        s_remove(self, i);
    if (n > 0) {
        fw_mem_grow((void **)&self->targets, &self->cap_targets, self->n_targets + 1,
                    sizeof(*self->targets));
        self->targets[self->n_targets++] = (struct s_target){key, now_ms, entries, n};
        self->n_entries += n;
        key = NULL;
    }
    pthread_mutex_unlock(&self->lock);
    free(key);
    return (ssize_t)n;
}

// s[0..n) within max bytes, valid UTF-8 (empty allowed), no NUL.
static bool
s_view_ok(const char *s, size_t n, size_t max)
{
    return n <= max && !memchr(s, 0, n) && fw_utf8_valid(s, n);
}

// The slot of metric in the rw index: the one holding it, or the empty one where it goes.
static size_t
s_rw_slot(const tsdb_metadata_t *self, const char *metric)
{
    size_t mask = self->n_slots - 1, i = fw_hash64(metric, strlen(metric)) & mask;
    while (self->slots[i] && strcmp(self->rw.entries[self->slots[i] - 1].metric, metric) != 0)
        i = (i + 1) & mask;
    return i;
}

// Rebuild the rw index with room for at least twice want families.
static void
s_rw_reindex(tsdb_metadata_t *self, size_t want)
{
    size_t n = 16;
    while (n < 2 * want)
        n *= 2;
    free(self->slots);
    self->slots = fw_calloc(n, sizeof(*self->slots));
    self->n_slots = n;
    for (size_t k = 0; k < self->rw.n; k++)
        self->slots[s_rw_slot(self, self->rw.entries[k].metric)] = k + 1;
}

size_t
tsdb_metadata_put(tsdb_metadata_t *self, const struct tsdb_metadata_family *f, size_t n,
                  int64_t now_ms, size_t *refused)
{
    size_t stored = 0, bad = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t k = 0; k < n; k++) {
        bool known = false;
        for (size_t j = 0; f[k].type && s_types[j] && !known; j++)
            known = strcmp(f[k].type, s_types[j]) == 0;
        if (!known || f[k].metric_len == 0 || !s_view_ok(f[k].metric, f[k].metric_len, 1024) ||
            !s_view_ok(f[k].unit, f[k].unit_len, 256) ||
            !s_view_ok(f[k].help, f[k].help_len, TSDB_METADATA_MAX_TEXT)) {
            bad++;
            continue;
        }
        char *metric = fw_strndup(f[k].metric, f[k].metric_len);
        if (2 * (self->rw.n + 1) > self->n_slots)
            s_rw_reindex(self, self->rw.n + 1);
        size_t slot = s_rw_slot(self, metric), i = self->slots[slot] - 1;
        bool found = self->slots[slot] != 0;
        if (!found && self->n_entries >= TSDB_METADATA_MAX_ENTRIES) {
            free(metric);
            bad++;
            continue;
        }
        struct s_entry e = {metric, fw_strdup(f[k].type), fw_strndup(f[k].unit, f[k].unit_len),
                            fw_strndup(f[k].help, f[k].help_len), now_ms};
        if (found) {
            s_entries_free_one(&self->rw.entries[i]);
        } else {
            fw_mem_grow((void **)&self->rw.entries, &self->cap_rw, self->rw.n + 1,
                        sizeof(*self->rw.entries));
            i = self->rw.n++;
            self->slots[slot] = i + 1;
            self->n_entries++;
        }
        self->rw.entries[i] = e;
        stored++;
    }
    pthread_mutex_unlock(&self->lock);
    if (refused)
        *refused = bad;
    return stored;
}

size_t
tsdb_metadata_expire(tsdb_metadata_t *self, int64_t now_ms)
{
    size_t gone = 0;
    pthread_mutex_lock(&self->lock);
    for (size_t k = self->n_targets; k-- > 0;)
        if (self->targets[k].seen_ms < now_ms - TSDB_METADATA_TTL_MS) {
            s_remove(self, k);
            gone++;
        }
    size_t kept = 0;
    for (size_t k = 0; k < self->rw.n; k++) {
        if (self->rw.entries[k].seen_ms < now_ms - TSDB_METADATA_TTL_MS) {
            s_entries_free_one(&self->rw.entries[k]);
            gone++;
            self->n_entries--;
        } else {
            self->rw.entries[kept++] = self->rw.entries[k];
        }
    }
    if (kept < self->rw.n) {
        self->rw.n = kept;
        s_rw_reindex(self, kept);
    }
    pthread_mutex_unlock(&self->lock);
    return gone;
}

size_t
tsdb_metadata_size(tsdb_metadata_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = self->n_entries;
    pthread_mutex_unlock(&self->lock);
    return n;
}

// ---------------------------------------------------------------------------------------
// /api/v1/metadata

static int
s_entry_cmp(const void *a, const void *b)
{
    const struct s_entry *x = *(const struct s_entry *const *)a;
    const struct s_entry *y = *(const struct s_entry *const *)b;
    int c = strcmp(x->metric, y->metric);
    if (!c)
        c = strcmp(x->type, y->type);
    if (!c)
        c = strcmp(x->unit, y->unit);
    return c ? c : strcmp(x->help, y->help);
}

// Every entry (of family metric; NULL: all), sorted by metric, type, unit and help, as *n
// pointers (the array is the caller's to free). Under the lock.
static const struct s_entry **
s_gather(const tsdb_metadata_t *self, const char *metric, size_t *n)
{
    const struct s_entry **all = fw_calloc(self->n_entries + 1, sizeof(*all));
    *n = 0;
    for (size_t k = 0; k < self->n_targets; k++)
        for (size_t j = 0; j < self->targets[k].n; j++)
            if (!metric || strcmp(self->targets[k].entries[j].metric, metric) == 0)
                all[(*n)++] = &self->targets[k].entries[j];
    for (size_t j = 0; j < self->rw.n; j++)
        if (!metric || strcmp(self->rw.entries[j].metric, metric) == 0)
            all[(*n)++] = &self->rw.entries[j];
    qsort(all, *n, sizeof(*all), s_entry_cmp);
    return all;
}

size_t
tsdb_metadata_each(tsdb_metadata_t *self, tsdb_metadata_each_fn fn, void *arg)
{
    pthread_mutex_lock(&self->lock);
    size_t n, distinct = 0;
    const struct s_entry **all = s_gather(self, NULL, &n);
    for (size_t k = 0; k < n; k++) {
        if (k > 0 && s_entry_cmp(&all[k], &all[k - 1]) == 0)
            continue;
        const struct s_entry *e = all[k];
        struct tsdb_metadata_family f = {e->metric,      e->type,           e->unit,
                                         e->help,        strlen(e->metric), strlen(e->unit),
                                         strlen(e->help)};
        fn(arg, &f);
        distinct++;
    }
    pthread_mutex_unlock(&self->lock);
    free(all);
    return distinct;
}

// Prometheus's strconv.Atoi of a limit parameter: 0 and *out, or -1.
static int
s_int_param(const fw_http_request_t *req, const char *name, long long *out)
{
    const char *s = fw_http_arg(req, name);
    *out = -1;
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    const char *digits = s + (*s == '+' || *s == '-');
    if (*digits < '0' || *digits > '9')
        return -1;
    *out = strtoll(s, &end, 10);
    return *end || errno == ERANGE ? -1 : 0;
}

static int
s_on_metadata(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_metadata_t *self = arg;
    long long limit, per_metric;
    if (s_int_param(req, "limit", &limit) != 0)
        return tsdb_api_bad(resp, "limit must be a number");
    if (s_int_param(req, "limit_per_metric", &per_metric) != 0)
        return tsdb_api_bad(resp, "limit_per_metric must be a number");
    const char *metric = fw_http_arg(req, "metric");
    if (metric && !*metric)
        metric = NULL;
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{\"status\":\"success\",\"data\":{");
    pthread_mutex_lock(&self->lock);
    size_t n;
    const struct s_entry **all = s_gather(self, metric, &n);
    size_t metrics = 0, in_metric = 0;
    for (size_t k = 0; k < n; k++) {
        bool first = k == 0 || strcmp(all[k]->metric, all[k - 1]->metric) != 0;
        if (!first && s_entry_cmp(&all[k], &all[k - 1]) == 0)
            continue; // the same triple from another target
        if (first) {
            if (limit >= 0 && (long long)metrics >= limit)
                break;
            fw_json_out_puts(&b, metrics ? "]," : "");
            tsdb_api_put_str(&b, all[k]->metric);
            fw_json_out_puts(&b, ":[");
            metrics++;
            in_metric = 0;
        } else if (per_metric > 0 && (long long)in_metric >= per_metric) {
            continue;
        }
        fw_json_out_puts(&b, in_metric ? ",{\"type\":" : "{\"type\":");
        tsdb_api_put_str(&b, all[k]->type);
        fw_json_out_puts(&b, ",\"unit\":");
        tsdb_api_put_str(&b, all[k]->unit);
        fw_json_out_puts(&b, ",\"help\":");
        tsdb_api_put_str(&b, all[k]->help);
        fw_json_out_puts(&b, "}");
        in_metric++;
    }
    pthread_mutex_unlock(&self->lock);
    free(all);
    fw_json_out_puts(&b, metrics ? "]}}" : "}}");
    tsdb_api_respond(resp, 200, b.p);
    return 0;
}

void
tsdb_metadata_routes(tsdb_metadata_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET", "/api/v1/metadata", s_on_metadata, self);
}
