/*  slod_ring.c — 5-minute bucket rings for long SLO windows, and their journal.

    A ring is an array of slots indexed by (end_ms / 5m) mod capacity; a slot holds the end
    time it was filled for, so stale slots read as absent. slod_ring_sum() caches its last
    few answers, keyed by (end, window) and the ring's generation, which every put bumps.
*/
#include "slod_ring.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fw_log.h"
#include "fw_mem.h"

#define S_CACHE 4

struct s_slot {
    int64_t end_ms; // 0: empty
    double bad, total;
};

struct s_cached {
    int64_t end_ms, window_ms;
    uint64_t gen;
    double bad, total;
    size_t n;
};

struct slod_ring {
    char *key;            // owned
    struct s_slot *slots; // owned
    size_t cap;
    uint64_t gen;
    struct s_cached cache[S_CACHE];
    size_t cache_next;
};

slod_ring_t *
slod_ring_new(const char *key, int64_t span_ms)
{
    slod_ring_t *self = fw_calloc(1, sizeof(*self));
    self->key = fw_strdup(key);
    self->cap = (size_t)((span_ms + SLOD_RING_STEP_MS - 1) / SLOD_RING_STEP_MS);
    if (self->cap == 0)
        self->cap = 1;
    self->slots = fw_calloc(self->cap, sizeof(*self->slots));
    self->gen = 1;
    return self;
}

void
slod_ring_destroy(slod_ring_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->slots);
    free((*self_p)->key);
    free(*self_p);
    *self_p = NULL;
}

const char *
slod_ring_key(const slod_ring_t *self)
{
    return self->key;
}

size_t
slod_ring_capacity(const slod_ring_t *self)
{
    return self->cap;
}

static struct s_slot *
s_slot(const slod_ring_t *self, int64_t end_ms)
{
    if (end_ms <= 0 || end_ms % SLOD_RING_STEP_MS != 0)
        return NULL;
    return &self->slots[(size_t)(end_ms / SLOD_RING_STEP_MS) % self->cap];
}

bool
slod_ring_has(const slod_ring_t *self, int64_t end_ms)
{
    const struct s_slot *s = s_slot(self, end_ms);
    return s && s->end_ms == end_ms;
}

bool
slod_ring_get(const slod_ring_t *self, int64_t end_ms, double *bad, double *total)
{
    const struct s_slot *s = s_slot(self, end_ms);
    bool have = s && s->end_ms == end_ms;
    *bad = have ? s->bad : 0;
    *total = have ? s->total : 0;
    return have;
}

void
slod_ring_put(slod_ring_t *self, int64_t end_ms, double bad, double total)
{
    struct s_slot *s = s_slot(self, end_ms);
    if (!s || s->end_ms > end_ms)
        return; // never let an older bucket displace a newer one
    s->end_ms = end_ms;
    s->bad = bad;
    s->total = total;
    self->gen++;
}

void
slod_ring_sum(slod_ring_t *self, int64_t end_ms, int64_t window_ms, double *bad, double *total,
              size_t *n)
{
    for (size_t i = 0; i < S_CACHE; i++) {
        const struct s_cached *c = &self->cache[i];
        if (c->gen == self->gen && c->end_ms == end_ms && c->window_ms == window_ms) {
            *bad = c->bad, *total = c->total, *n = c->n;
            return;
        }
    }
    double b = 0, t = 0;
    size_t k = 0, buckets = (size_t)(window_ms / SLOD_RING_STEP_MS);
    if (buckets > self->cap)
        buckets = self->cap;
    for (size_t i = 0; i < buckets; i++) {
        int64_t e = end_ms - (int64_t)i * SLOD_RING_STEP_MS;
        const struct s_slot *s = s_slot(self, e);
        if (!s || s->end_ms != e)
            continue;
        b += s->bad;
        t += s->total;
        k++;
    }
    struct s_cached *c = &self->cache[self->cache_next++ % S_CACHE];
    *c = (struct s_cached){end_ms, window_ms, self->gen, b, t, k};
    *bad = b, *total = t, *n = k;
}

// =================================================================================
//  Journal
// =================================================================================

struct slod_ring_journal {
    char *path, *tmp_path;     // owned
    FILE *f;                   // owned: append stream
    slod_ring_t *const *rings; // borrowed
    size_t n_rings;
    size_t lines, limit;
};

static size_t
s_limit(slod_ring_t *const *rings, size_t n)
{
    size_t cap = 0;
    for (size_t i = 0; i < n; i++)
        cap += rings[i]->cap;
    return 2 * cap + 1024;
}

static slod_ring_t *
s_find(slod_ring_t *const *rings, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(rings[i]->key, key) == 0)
            return rings[i];
    return NULL;
}

static void
s_replay(FILE *f, slod_ring_t *const *rings, size_t n)
{
    char line[1200], key[1024];
    while (fgets(line, sizeof(line), f)) {
        int64_t end = 0;
        double bad = 0, total = 0;
        if (sscanf(line, "%1023s %" SCNd64 " %lf %lf", key, &end, &bad, &total) != 4)
            continue; // a torn last line after a crash
        slod_ring_t *r = s_find(rings, n, key);
        if (r)
            slod_ring_put(r, end, bad, total);
    }
}

// Rewrite the journal with the rings' present buckets, then reopen it for appending.
static int
s_compact(slod_ring_journal_t *self)
{
    if (self->f)
        fclose(self->f);
    self->f = NULL;
    FILE *t = fopen(self->tmp_path, "w");
    if (!t)
        return -1;
    size_t lines = 0;
    for (size_t i = 0; i < self->n_rings; i++) {
        const slod_ring_t *r = self->rings[i];
        for (size_t j = 0; j < r->cap; j++) {
            const struct s_slot *s = &r->slots[j];
            if (s->end_ms == 0)
                continue;
            fprintf(t, "%s %" PRId64 " %.17g %.17g\n", r->key, s->end_ms, s->bad, s->total);
            lines++;
        }
    }
    if (fclose(t) != 0 || rename(self->tmp_path, self->path) != 0)
        return -1;
    self->lines = lines;
    self->f = fopen(self->path, "a");
    return self->f ? 0 : -1;
}

slod_ring_journal_t *
slod_ring_journal_open(const char *dir, slod_ring_t *const *rings, size_t n, fw_err_t *err)
{
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        fw_err_set(err, "mkdir %s: %s", dir, strerror(errno));
        return NULL;
    }
    slod_ring_journal_t *self = fw_calloc(1, sizeof(*self));
    self->path = fw_asprintf("%s/slod.ring", dir);
    self->tmp_path = fw_asprintf("%s/slod.ring.tmp", dir);
    FILE *f = fopen(self->path, "r");
    if (f) {
        s_replay(f, rings, n);
        fclose(f);
    }
    self->rings = rings;
    self->n_rings = n;
    self->limit = s_limit(rings, n);
    if (s_compact(self) < 0) {
        fw_err_set(err, "write %s: %s", self->path, strerror(errno));
        slod_ring_journal_close(&self);
    }
    return self;
}

void
slod_ring_journal_load(const char *dir, slod_ring_t *const *rings, size_t n)
{
    char *path = fw_asprintf("%s/slod.ring", dir);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return;
    s_replay(f, rings, n);
    fclose(f);
}

int
slod_ring_journal_rebind(slod_ring_journal_t *self, slod_ring_t *const *rings, size_t n)
{
    self->rings = rings;
    self->n_rings = n;
    self->limit = s_limit(rings, n);
    return self->f ? 0 : s_compact(self);
}

void
slod_ring_journal_close(slod_ring_journal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    slod_ring_journal_t *self = *self_p;
    if (self->f)
        fclose(self->f);
    free(self->path);
    free(self->tmp_path);
    free(self);
    *self_p = NULL;
}

void
slod_ring_journal_add(slod_ring_journal_t *self, const slod_ring_t *ring, int64_t end_ms,
                      double bad, double total)
{
    if (!self || !self->f)
        return;
    fprintf(self->f, "%s %" PRId64 " %.17g %.17g\n", ring->key, end_ms, bad, total);
    if (++self->lines > self->limit && s_compact(self) < 0)
        fw_warn("slo.journal.fail", "path=%s err=%s", self->path, strerror(errno));
}

int
slod_ring_journal_flush(slod_ring_journal_t *self)
{
    if (!self || !self->f)
        return 0;
    return fflush(self->f) == 0 ? 0 : -1;
}
