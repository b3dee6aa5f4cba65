/*  tsdb_exemplars.c — the in-memory exemplar ring (see tsdb_exemplars.h).

    Design: entries[] is the ring in insertion order; `next` is the slot the next exemplar
    takes once the ring is full (before that, entries are appended). Every live entry
    belongs to a series record; a series' entries are chained by slot (older -> newer), so
    the entry a full ring overwrites, the oldest of all, is always the oldest of its series.
    Series records sit in an array with a free list and are found through buckets[] by
    label hash (chains of record indexes), so adding an exemplar to a known series costs one
    hash of its labels, one bucket walk and no allocation beyond the exemplar's own labels.
*/
#include "tsdb_exemplars.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "tsdb_api.h"
#include "tsdb_api_int.h"
#include "fw_json_out.h"

#define S_NONE (-1)

struct s_entry {
    int32_t series; // record index; S_NONE: free slot
    int64_t next;   // the same series' next newer slot, or S_NONE
    int64_t t_ms;
    double v;
    char *labels; // owned: "name\0value\0" pairs, sorted by name
    uint32_t labels_len;
    uint32_t n_labels;
};

struct s_series {
    struct fw_labels labels; // owned
    uint64_t hash;
    int64_t oldest, newest; // slots; oldest S_NONE: a free record
    int32_t chain;          // next record in the bucket, or the free list
};

struct tsdb_exemplars {
    pthread_rwlock_t lock;
    int64_t max;
    struct s_entry *entries; // owned ring
    size_t len, cap;         // entries in use, allocated
    size_t next;             // the slot overwritten next once len == max
    struct s_series *series; // owned records
    size_t n_series, cap_series, live_series;
    int32_t free_series;
    int32_t *buckets; // owned: record chains by hash
    size_t n_buckets;
};

tsdb_exemplars_t *
tsdb_exemplars_new(int64_t max)
{
    tsdb_exemplars_t *self = fw_calloc(1, sizeof(*self));
    pthread_rwlock_init(&self->lock, NULL);
    self->max = max > 0 ? max : 0;
    self->free_series = S_NONE;
    return self;
}

static void
s_clear(tsdb_exemplars_t *self)
{
    for (size_t i = 0; i < self->len; i++)
        free(self->entries[i].labels);
    for (size_t i = 0; i < self->n_series; i++)
        fw_labels_clear(&self->series[i].labels);
    free(self->entries);
    free(self->series);
    free(self->buckets);
    self->entries = NULL;
    self->series = NULL;
    self->buckets = NULL;
    self->len = self->cap = self->next = 0;
    self->n_series = self->cap_series = self->live_series = 0;
    self->n_buckets = 0;
    self->free_series = S_NONE;
}

void
tsdb_exemplars_destroy(tsdb_exemplars_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_exemplars_t *self = *self_p;
    s_clear(self);
    pthread_rwlock_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------------------
//  Series records

static int32_t
s_series_find(const tsdb_exemplars_t *self, const struct fw_labels *l, uint64_t h)
{
    if (self->n_buckets == 0)
        return S_NONE;
    for (int32_t i = self->buckets[h % self->n_buckets]; i != S_NONE; i = self->series[i].chain)
        if (self->series[i].hash == h && fw_labels_cmp(&self->series[i].labels, l) == 0)
            return i;
    return S_NONE;
}

static void
s_rehash(tsdb_exemplars_t *self, size_t n)
{
    free(self->buckets);
    self->n_buckets = n;
    self->buckets = fw_malloc(n * sizeof(*self->buckets));
    for (size_t i = 0; i < n; i++)
        self->buckets[i] = S_NONE;
    for (size_t i = 0; i < self->n_series; i++) {
        struct s_series *s = &self->series[i];
        if (s->oldest == S_NONE)
            continue;
        s->chain = self->buckets[s->hash % n];
        self->buckets[s->hash % n] = (int32_t)i;
    }
}

static int32_t
s_series_add(tsdb_exemplars_t *self, const struct fw_labels *l, uint64_t h)
{
    int32_t i = self->free_series;
    if (i != S_NONE) {
        self->free_series = self->series[i].chain;
    } else {
        fw_mem_grow((void **)&self->series, &self->cap_series, self->n_series + 1,
                    sizeof(*self->series));
        i = (int32_t)self->n_series++;
        self->series[i] = (struct s_series){.labels = FW_LABELS_INIT};
    }
    struct s_series *s = &self->series[i];
    fw_labels_copy(&s->labels, l);
    s->hash = h;
    s->oldest = s->newest = S_NONE;
    self->live_series++;
    if (self->live_series > self->n_buckets) {
        s->oldest = 0; // counted live by s_rehash; set for real by the caller
        s_rehash(self, self->n_buckets ? self->n_buckets * 2 : 64);
    } else {
        s->chain = self->buckets[h % self->n_buckets];
        self->buckets[h % self->n_buckets] = i;
    }
    return i;
}

static void
s_series_remove(tsdb_exemplars_t *self, int32_t i)
{
    struct s_series *s = &self->series[i];
    int32_t *p = &self->buckets[s->hash % self->n_buckets];
    while (*p != i)
        p = &self->series[*p].chain;
    *p = s->chain;
    fw_labels_clear(&s->labels);
    s->oldest = s->newest = S_NONE;
    s->chain = self->free_series;
    self->free_series = i;
    self->live_series--;
}

// ---------------------------------------------------------------------------------------
//  Adding

// The exemplar labels' encoding ("name\0value\0"...; fw_labels are sorted) into a new
// buffer; *runes gets their length in code points.
static char *
s_encode(const struct fw_labels *ex, uint32_t *len_out, size_t *runes)
{
    size_t len = 0;
    *runes = 0;
    for (size_t i = 0; i < ex->len; i++) {
        for (const char *p = ex->items[i].name; *p; p++, len++)
            *runes += ((unsigned char)*p & 0xC0) != 0x80;
        for (const char *p = ex->items[i].value; *p; p++, len++)
            *runes += ((unsigned char)*p & 0xC0) != 0x80;
        len += 2;
    }
    char *buf = fw_malloc(len ? len : 1);
    char *w = buf;
    for (size_t i = 0; i < ex->len; i++) {
        size_t n = strlen(ex->items[i].name) + 1;
        memcpy(w, ex->items[i].name, n);
        w += n;
        n = strlen(ex->items[i].value) + 1;
        memcpy(w, ex->items[i].value, n);
        w += n;
    }
    *len_out = (uint32_t)len;
    return buf;
}

// Free slot `at` (the oldest of all, so the oldest of its series).
static void
s_evict(tsdb_exemplars_t *self, size_t at)
{
    struct s_entry *e = &self->entries[at];
    if (e->series == S_NONE)
        return;
    struct s_series *s = &self->series[e->series];
    if (e->next == S_NONE)
        s_series_remove(self, e->series);
    else
        s->oldest = e->next;
    free(e->labels);
    *e = (struct s_entry){.series = S_NONE, .next = S_NONE};
}

static int
s_add(tsdb_exemplars_t *self, const struct fw_labels *series, const char *enc, uint32_t enc_len,
      uint32_t n_labels, double v, int64_t t_ms)
{
    uint64_t h = fw_labels_hash(series);
    int32_t si = s_series_find(self, series, h);
    if (si != S_NONE) {
        const struct s_entry *nw = &self->entries[self->series[si].newest];
        bool same_labels = nw->labels_len == enc_len && memcmp(nw->labels, enc, enc_len) == 0;
        if (nw->t_ms == t_ms && same_labels &&
            (nw->v == v || (v != v && nw->v != nw->v))) // NaN equals NaN here
            return TSDB_EXEMPLARS_DUPLICATE;
        if (t_ms < nw->t_ms || (t_ms == nw->t_ms && v < nw->v))
            return TSDB_EXEMPLARS_OUT_OF_ORDER;
    }
    size_t at;
    if (self->len < (size_t)self->max) {
        fw_mem_grow((void **)&self->entries, &self->cap, self->len + 1, sizeof(*self->entries));
        at = self->len++;
        self->entries[at] = (struct s_entry){.series = S_NONE, .next = S_NONE};
    } else {
        at = self->next;
        self->next = (self->next + 1) % (size_t)self->max;
        s_evict(self, at);
        if (si != S_NONE && self->series[si].oldest == S_NONE)
            si = S_NONE; // that was the series' last exemplar
    }
    if (si == S_NONE)
        si = s_series_add(self, series, h);
    struct s_series *s = &self->series[si];
    struct s_entry *e = &self->entries[at];
    e->series = si;
    e->next = S_NONE;
    e->t_ms = t_ms;
    e->v = v;
    e->labels = fw_malloc(enc_len ? enc_len : 1);
    memcpy(e->labels, enc, enc_len);
    e->labels_len = enc_len;
    e->n_labels = n_labels;
    if (s->newest != S_NONE)
        self->entries[s->newest].next = (int64_t)at;
    else
        s->oldest = (int64_t)at;
    s->newest = (int64_t)at;
    return TSDB_EXEMPLARS_ADDED;
}

int
tsdb_exemplars_add(tsdb_exemplars_t *self, const struct fw_labels *series,
                   const struct fw_labels *ex, double v, int64_t t_ms)
{
    uint32_t len;
    size_t runes;
    char *enc = s_encode(ex, &len, &runes);
    int rc;
    pthread_rwlock_wrlock(&self->lock);
    if (self->max == 0)
        rc = TSDB_EXEMPLARS_DISABLED;
    else if (runes > TSDB_EXEMPLARS_MAX_LABEL_RUNES)
        rc = TSDB_EXEMPLARS_TOO_LONG;
    else
        rc = s_add(self, series, enc, len, (uint32_t)ex->len, v, t_ms);
    pthread_rwlock_unlock(&self->lock);
    free(enc);
    return rc;
}

void
tsdb_exemplars_resize(tsdb_exemplars_t *self, int64_t max)
{
    if (max < 0)
        max = 0;
    pthread_rwlock_wrlock(&self->lock);
    if (max == self->max) {
        pthread_rwlock_unlock(&self->lock);
        return;
    }
    // Move the ring out, oldest first, and add its newest min(len, max) back.
    tsdb_exemplars_t old = *self;
    size_t first = old.len == (size_t)old.max ? old.next : 0;
    self->entries = NULL;
    self->series = NULL;
    self->buckets = NULL;
    self->len = self->cap = self->next = 0;
    self->n_series = self->cap_series = self->live_series = 0;
    self->n_buckets = 0;
    self->free_series = S_NONE;
    self->max = max;
    size_t keep = old.len < (size_t)max ? old.len : (size_t)max;
    for (size_t k = old.len - keep; k < old.len; k++) {
        const struct s_entry *e = &old.entries[(first + k) % (old.len ? old.len : 1)];
        if (e->series != S_NONE)
            s_add(self, &old.series[e->series].labels, e->labels, e->labels_len, e->n_labels, e->v,
                  e->t_ms);
    }
    s_clear(&old);
    pthread_rwlock_unlock(&self->lock);
}

size_t
tsdb_exemplars_len(tsdb_exemplars_t *self)
{
    pthread_rwlock_rdlock(&self->lock);
    size_t n = self->len;
    pthread_rwlock_unlock(&self->lock);
    return n;
}

size_t
tsdb_exemplars_series(tsdb_exemplars_t *self)
{
    pthread_rwlock_rdlock(&self->lock);
    size_t n = self->live_series;
    pthread_rwlock_unlock(&self->lock);
    return n;
}

int64_t
tsdb_exemplars_max(tsdb_exemplars_t *self)
{
    pthread_rwlock_rdlock(&self->lock);
    int64_t n = self->max;
    pthread_rwlock_unlock(&self->lock);
    return n;
}

// ---------------------------------------------------------------------------------------
//  Selecting

static void
s_put_encoded(struct fw_json_out *b, const char *enc, uint32_t n_labels)
{
    fw_json_out_puts(b, "{");
    for (uint32_t i = 0; i < n_labels; i++) {
        if (i)
            fw_json_out_puts(b, ",");
        fw_json_out_str(b, enc, FW_JSON_OUT_GO);
        enc += strlen(enc) + 1;
        fw_json_out_puts(b, ":");
        fw_json_out_str(b, enc, FW_JSON_OUT_GO);
        enc += strlen(enc) + 1;
    }
    fw_json_out_puts(b, "}");
}

static const tsdb_exemplars_t *s_sort_self; // only under the read lock, for qsort

static int
s_series_cmp(const void *a, const void *b)
{
    const struct s_series *sa = &s_sort_self->series[*(const int32_t *)a];
    const struct s_series *sb = &s_sort_self->series[*(const int32_t *)b];
    return fw_labels_cmp(&sa->labels, &sb->labels);
}

static pthread_mutex_t s_sort_lock = PTHREAD_MUTEX_INITIALIZER;

char *
tsdb_exemplars_select_json(tsdb_exemplars_t *self, const struct tsdb_exemplars_sel *sets, size_t n,
                           int64_t start_ms, int64_t end_ms)
{
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "[");
    pthread_rwlock_rdlock(&self->lock);
    int32_t *pick = fw_malloc((self->n_series + 1) * sizeof(*pick));
    size_t n_pick = 0;
    for (size_t i = 0; i < self->n_series; i++) {
        const struct s_series *s = &self->series[i];
        if (s->oldest == S_NONE || self->entries[s->oldest].t_ms > end_ms ||
            self->entries[s->newest].t_ms < start_ms)
            continue;
        bool match = false;
        for (size_t k = 0; k < n && !match; k++)
            match = fw_matchers_match(sets[k].matchers, sets[k].n_matchers, &s->labels);
        if (match)
            pick[n_pick++] = (int32_t)i;
    }
    pthread_mutex_lock(&s_sort_lock);
    s_sort_self = self;
    qsort(pick, n_pick, sizeof(*pick), s_series_cmp);
    pthread_mutex_unlock(&s_sort_lock);
    bool first_series = true;
    for (size_t k = 0; k < n_pick; k++) {
        const struct s_series *s = &self->series[pick[k]];
        bool first = true;
        for (int64_t at = s->oldest; at != S_NONE; at = self->entries[at].next) {
            const struct s_entry *e = &self->entries[at];
            if (e->t_ms > end_ms)
                break;
            if (e->t_ms < start_ms)
                continue;
            if (first) {
                fw_json_out_puts(&b, first_series ? "{\"seriesLabels\":" : ",{\"seriesLabels\":");
                tsdb_api_put_labels(&b, &s->labels);
                fw_json_out_puts(&b, ",\"exemplars\":[");
                first_series = false;
            } else {
                fw_json_out_puts(&b, ",");
            }
            first = false;
            char num[64];
            fw_json_out_puts(&b, "{\"labels\":");
            s_put_encoded(&b, e->labels, e->n_labels);
            fw_json_out_puts(&b, ",\"value\":\"");
            fw_json_out_puts(&b, tsdb_api_format_value(e->v, num, sizeof(num)));
            fw_json_out_puts(&b, "\",\"timestamp\":");
            fw_json_out_puts(&b, tsdb_api_format_time(e->t_ms, num, sizeof(num)));
            fw_json_out_puts(&b, "}");
        }
        if (!first)
            fw_json_out_puts(&b, "]}");
    }
    pthread_rwlock_unlock(&self->lock);
    free(pick);
    fw_json_out_puts(&b, "]");
    return b.p;
}
