/*  tsdb_store_refs.c — series refs of SAMPLES v3 senders (see tsdb_store.h, "Series refs").

    One table per sender incarnation, in a zhashx keyed by the sender id. A table is an
    array indexed by ref: the series id the ref's last definition named and the head series
    itself, valid while the head's epoch is the one the table was last checked in. When the
    epoch moved (the head freed series), every entry is looked up again by its id, which
    ids never repeat: an entry whose series left the head becomes unknown, and the sender is
    asked for its labels again (tsdb.c), so a ref never reaches another series.

    Refs are dense on the sender side (it reuses freed numbers), so the array is about as
    long as the sender's live series: 16 bytes a ref. A ref above TSDB_STORE_REF_MAX never
    gets here (fw_samples_view_init refuses it), which bounds one table at 64 MiB, and the
    slots of all tables together are bounded by a budget (TSDB_STORE_REFS_BUDGET): a table
    that would grow past it evicts the tables used longest ago (their senders define their
    refs again), and a definition that cannot fit even alone is refused.

    Writer thread only (tsdb's loop), like the head's changes.
*/
#include <czmq.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "tsdb_store_int.h"

#define S_REFUSED UINT64_MAX // id of a ref whose definition the store refused

struct s_ref {
    uint64_t id;                // the series' id; 0: unknown; S_REFUSED
    struct tsdb_head_series *s; // borrowed; valid in the table's epoch
};

struct tsdb_store_refs {
    char *sender; // owned: the key
    int64_t used_ms;
    uint64_t epoch;
    struct s_ref *at; // owned, indexed by ref
    size_t n;
};

// Every sender's table (the store's `refs`).
struct s_all {
    zhashx_t *by_sender; // owned: sender -> struct tsdb_store_refs (owned)
    size_t slots;        // of every table
    size_t budget;       // most slots
};

static void
s_refs_free(void **item)
{
    struct tsdb_store_refs *r = *item;
    if (r) {
        free(r->at);
        free(r->sender);
        free(r);
    }
    *item = NULL;
}

void
tsdb_store_int_refs_free(tsdb_store_t *self)
{
    struct s_all *all = self->refs;
    if (all) {
        zhashx_destroy(&all->by_sender);
        free(all);
        self->refs = NULL;
    }
}

static struct s_all *
s_all(tsdb_store_t *self)
{
    if (!self->refs) {
        struct s_all *all = fw_calloc(1, sizeof(*all));
        all->by_sender = zhashx_new();
        zhashx_set_destructor(all->by_sender, s_refs_free);
        all->budget = TSDB_STORE_REFS_BUDGET;
        self->refs = all;
    }
    return self->refs;
}

void
tsdb_store_refs_set_budget(tsdb_store_t *self, size_t slots)
{
    s_all(self)->budget = slots;
}

static void
s_drop(struct s_all *all, struct tsdb_store_refs *r)
{
    all->slots -= r->n;
    zhashx_delete(all->by_sender, r->sender);
}

// The table used longest ago other than keep, or NULL.
static struct tsdb_store_refs *
s_oldest(struct s_all *all, const struct tsdb_store_refs *keep)
{
    struct tsdb_store_refs *old = NULL;
    for (struct tsdb_store_refs *x = zhashx_first(all->by_sender); x;
         x = zhashx_next(all->by_sender))
        if (x != keep && (!old || x->used_ms < old->used_ms))
            old = x;
    return old;
}

// Look every entry up again after the head freed series.
static void
s_refresh(tsdb_store_t *self, struct tsdb_store_refs *r)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->at[i].id && r->at[i].id != S_REFUSED) {
            r->at[i].s = tsdb_head_find_id(self->head, r->at[i].id);
            if (!r->at[i].s)
                r->at[i].id = 0;
        }
    r->epoch = tsdb_head_epoch(self->head);
}

tsdb_store_refs_t *
tsdb_store_refs(tsdb_store_t *self, const char *sender, int64_t now_ms)
{
    struct s_all *all = s_all(self);
    struct tsdb_store_refs *r = zhashx_lookup(all->by_sender, sender);
    if (!r) {
        if (zhashx_size(all->by_sender) >= TSDB_STORE_REFS_SENDERS) // the longest unused goes
            s_drop(all, s_oldest(all, NULL));
        r = fw_calloc(1, sizeof(*r));
        r->sender = fw_strdup(sender);
        r->epoch = tsdb_head_epoch(self->head);
        zhashx_insert(all->by_sender, r->sender, r);
    }
    r->used_ms = now_ms;
    if (r->epoch != tsdb_head_epoch(self->head))
        s_refresh(self, r);
    return r;
}

size_t
tsdb_store_refs_expire(tsdb_store_t *self, int64_t before_ms)
{
    struct s_all *all = self->refs;
    if (!all)
        return 0;
    zlistx_t *gone = zlistx_new();
    for (struct tsdb_store_refs *r = zhashx_first(all->by_sender); r;
         r = zhashx_next(all->by_sender))
        if (r->used_ms < before_ms)
            zlistx_add_end(gone, r);
    size_t n = zlistx_size(gone);
    for (struct tsdb_store_refs *r = zlistx_first(gone); r; r = zlistx_next(gone))
        s_drop(all, r);
    zlistx_destroy(&gone);
    return n;
}

static struct tsdb_head_series *
s_at(const tsdb_store_refs_t *r, uint32_t ref)
{
    return ref < r->n ? r->at[ref].s : NULL;
}

bool
tsdb_store_refs_known(const tsdb_store_refs_t *refs, uint32_t ref)
{
    return ref < refs->n && refs->at[ref].id != 0;
}

const struct fw_labels *
tsdb_store_refs_labels(const tsdb_store_refs_t *refs, uint32_t ref, struct fw_labels *view)
{
    const struct tsdb_head_series *s = s_at(refs, ref);
    if (!s)
        return NULL;
    tsdb_head_labels(s, view);
    return view;
}

void
tsdb_store_refs_prefetch(const tsdb_store_refs_t *refs, uint32_t ref)
{
    // the record only: reading it here would wait for it (a batch's series are far apart).
    // Every cache line of the part an append touches (tsdb_head.h), from the line it starts
    // in: malloc aligns the record to 16 bytes only (prefetching from its start, 64 bytes
    // apart, missed the line of the flags in half the records).
    const char *s = (const char *)s_at(refs, ref);
    if (!s)
        return;
    uintptr_t line = (uintptr_t)s & ~(uintptr_t)63;
    uintptr_t end = (uintptr_t)s + TSDB_HEAD_SERIES_HOT;
    for (; line < end; line += 64)
        __builtin_prefetch((const void *)line, 1);
}

void
tsdb_store_refs_prefetch_chunk(const tsdb_store_refs_t *refs, uint32_t ref)
{
    const struct tsdb_head_series *s = s_at(refs, ref);
    if (!s || !s->app.buf)
        return;
    __builtin_prefetch(s->app.buf, 1);
    __builtin_prefetch(s->app.buf + (s->app.nbits >> 3), 1);
}

int
tsdb_store_append_ref_held(tsdb_store_t *self, const tsdb_store_refs_t *refs, uint32_t ref,
                           const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st)
{
    struct tsdb_head_series *s = s_at(refs, ref);
    if (!s) // refused, or (a caller bug) unknown: nothing appended
        return -1;
    tsdb_store_int_append(self, s, samples, n, st);
    return 0;
}

int
tsdb_store_append_series_ref(tsdb_store_t *self, tsdb_store_refs_t *refs, uint32_t ref,
                             const struct fw_labels *labels, const struct fw_sample *samples,
                             size_t n, struct tsdb_store_stats *st, fw_err_t *err)
{
    if (ref == 0 || ref > TSDB_STORE_REF_MAX) {
        fw_err_set(err, "series ref %u out of range", ref);
        return -1;
    }
    if (ref >= refs->n) {
        size_t cap = refs->n ? refs->n : 1024;
        while (cap <= ref)
            cap = cap + cap / 2;
        struct s_all *all = s_all(self);
        if (cap > all->budget) { // never with the default budget: TSDB_STORE_REF_MAX fits
            fw_err_set(err, "series ref %u: the refs tables would pass their budget of %zu", ref,
                       all->budget);
            return -1;
        }
        struct tsdb_store_refs *old;
        while (all->slots - refs->n + cap > all->budget && (old = s_oldest(all, refs)))
            s_drop(all, old); // its sender defines its refs again
        all->slots += cap - refs->n;
        refs->at = fw_realloc(refs->at, cap * sizeof(*refs->at));
        memset(refs->at + refs->n, 0, (cap - refs->n) * sizeof(*refs->at));
        refs->n = cap;
    }
    // A refused definition is remembered as such: its uses are refused too, instead of
    // asking the sender for labels that would be refused again.
    refs->at[ref] = (struct s_ref){S_REFUSED, NULL};
    struct tsdb_head_series *s = tsdb_store_int_series_append(self, labels, samples, n, st, err);
    if (!s)
        return -1;
    refs->at[ref] = (struct s_ref){s->id, s};
    return 0;
}
