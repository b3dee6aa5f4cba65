/*  scraper_cache.c — a target's scrape cache (see scraper_cache.h).

    Design: an open-addressing table (linear probing, power-of-two size, at most half full)
    of {key hash, entry pointer}; each entry is one block holding the record, the key text
    and the encoded labels, plus the packed label set, so an entry costs two allocations on
    a series' first sight and none after. Entries are reached through pointers so they never
    move when the table grows. Forgetting unused entries rebuilds the table from the
    survivors, which happens only after a scrape whose series changed.
*/
#include "scraper_cache.h"

#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_labels_pack.h"
#include "fw_mem.h"
#include "fw_msg_samples.h"

// How many samples ahead scraper_cache_lookup fetches the last scrape's entries.
#define S_AHEAD 8

struct s_slot {
    uint64_t h;
    struct scraper_cache_entry *e; // owned; NULL: free
};

struct scraper_cache {
    struct s_slot *slots; // owned
    size_t cap;           // power of two
    size_t len;
    size_t used; // entries used by the current scrape
    size_t max;
    uint32_t iter;
    // the entry of each sample of the last scrape and of this one, in body order: a target
    // serves its series in the same order every time, so sample i is first looked for
    // where it was last time, without hashing, and the next ones are fetched ahead
    struct scraper_cache_entry **prev, **cur; // owned arrays, borrowed entries
    size_t n_prev, n_cur, cap_prev, cap_cur;
    fw_sender_refs_t *refs; // borrowed, or NULL: where forgotten entries' refs go back
};

scraper_cache_t *
scraper_cache_new(size_t max)
{
    scraper_cache_t *self = fw_calloc(1, sizeof(*self));
    self->max = max ? max : 1;
    self->cap = 64;
    self->slots = fw_calloc(self->cap, sizeof(*self->slots));
    self->iter = 1;
    return self;
}

void
scraper_cache_set_refs(scraper_cache_t *self, fw_sender_refs_t *refs)
{
    self->refs = refs;
}

static void
s_entry_free(scraper_cache_t *self, struct scraper_cache_entry *e)
{
    if (e->ref && self->refs)
        fw_sender_refs_release(self->refs, e->ref);
    free(e->items);
    free(e);
}

void
scraper_cache_clear(scraper_cache_t *self)
{
    if (!self)
        return;
    for (size_t i = 0; i < self->cap; i++) {
        if (self->slots[i].e)
            s_entry_free(self, self->slots[i].e);
        self->slots[i].e = NULL;
    }
    self->len = self->used = 0;
    self->n_prev = self->n_cur = 0;
}

void
scraper_cache_destroy(scraper_cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_cache_t *self = *self_p;
    scraper_cache_clear(self);
    free(self->prev);
    free(self->cur);
    free(self->slots);
    free(self);
    *self_p = NULL;
}

size_t
scraper_cache_len(const scraper_cache_t *self)
{
    return self ? self->len : 0;
}

bool
scraper_cache_full(const scraper_cache_t *self)
{
    return self->len >= self->max;
}

uint64_t
scraper_cache_key_hash(const char *key, size_t len)
{
    return fw_hash64(key, len);
}

static void
s_put(struct s_slot *slots, size_t cap, uint64_t h, struct scraper_cache_entry *e)
{
    size_t j = (size_t)h & (cap - 1);
    while (slots[j].e)
        j = (j + 1) & (cap - 1);
    slots[j] = (struct s_slot){h, e};
}

// Move the live entries into a fresh table of cap slots (keep: only those of this scrape).
static void
s_rebuild(scraper_cache_t *self, size_t cap, bool keep_used_only)
{
    struct s_slot *slots = fw_calloc(cap, sizeof(*slots));
    size_t len = 0;
    for (size_t i = 0; i < self->cap; i++) {
        struct scraper_cache_entry *e = self->slots[i].e;
        if (!e)
            continue;
        if (keep_used_only && e->iter != self->iter) {
            s_entry_free(self, e);
            continue;
        }
        s_put(slots, cap, self->slots[i].h, e);
        len++;
    }
    free(self->slots);
    self->slots = slots;
    self->cap = cap;
    self->len = len;
}

// e is sample i's entry in this scrape.
static inline void
s_used(scraper_cache_t *self, struct scraper_cache_entry *e, size_t i)
{
    if (e->iter != self->iter) {
        e->iter = self->iter;
        self->used++;
    }
    if (i >= self->n_cur) {
        fw_mem_grow((void **)&self->cur, &self->cap_cur, i + 1, sizeof(*self->cur));
        memset(self->cur + self->n_cur, 0, (i + 1 - self->n_cur) * sizeof(*self->cur));
        self->n_cur = i + 1;
    }
    self->cur[i] = e;
}

static struct scraper_cache_entry *
s_find(scraper_cache_t *self, const char *key, size_t len, uint64_t h)
{
    for (size_t j = (size_t)h & (self->cap - 1); self->slots[j].e; j = (j + 1) & (self->cap - 1)) {
        struct scraper_cache_entry *e = self->slots[j].e;
        if (self->slots[j].h == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    }
    return NULL;
}

struct scraper_cache_entry *
scraper_cache_lookup(scraper_cache_t *self, size_t i, const char *key, size_t len, uint64_t *h)
{
    if (i + S_AHEAD < self->n_prev && self->prev[i + S_AHEAD]) {
        // the record and its key text, which follows it in the block (no load of the
        // record itself, which would wait for it)
        const char *ahead = (const char *)self->prev[i + S_AHEAD];
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
        __builtin_prefetch(ahead + 128);
    }
    struct scraper_cache_entry *e = i < self->n_prev ? self->prev[i] : NULL;
    if (!e || e->key_len != len || memcmp(e->key, key, len) != 0) {
        *h = scraper_cache_key_hash(key, len);
        if (!(e = s_find(self, key, len, *h)))
            return NULL;
    }
    s_used(self, e, i);
    return e;
}

struct scraper_cache_entry *
scraper_cache_peek(const scraper_cache_t *self, size_t i)
{
    return i < self->n_prev ? self->prev[i] : NULL;
}

struct scraper_cache_entry *
scraper_cache_add(scraper_cache_t *self, size_t i, const char *key, size_t len, uint64_t h,
                  const struct fw_labels *labels, uint64_t labels_hash)
{
    bool dropped = !labels || labels->len == 0;
    size_t enc_len = dropped ? 0 : fw_samples_labels_size(labels);
    if ((!dropped && enc_len == 0) || len > UINT32_MAX || enc_len > UINT32_MAX)
        return NULL;
    if ((self->len + 1) * 2 > self->cap)
        s_rebuild(self, self->cap * 2, false);
    struct scraper_cache_entry *e = fw_malloc(sizeof(*e) + len + enc_len);
    memset(e, 0, sizeof(*e));
    char *text = (char *)(e + 1);
    memcpy(text, key, len);
    e->key = text;
    e->key_len = (uint32_t)len;
    e->key_hash = h;
    e->dropped = dropped;
    if (!dropped) {
        unsigned char *enc = (unsigned char *)text + len;
        fw_samples_labels_put(enc, labels);
        e->enc = enc;
        e->enc_len = (uint32_t)enc_len;
        e->items = fw_labels_pack(labels);
        e->len = (uint32_t)labels->len;
        e->hash = labels_hash;
        // as the batch splitting counts a label: name, value and 4 bytes
        e->est = enc_len - 2 - 2 * labels->len;
    }
    s_put(self->slots, self->cap, h, e);
    self->len++;
    s_used(self, e, i);
    return e;
}

void
scraper_cache_iter_done(scraper_cache_t *self, bool forget)
{
    if (!forget) { // the last good scrape's order stays the guess; nothing was freed since
        self->n_cur = 0;
        self->used = 0;
        if (++self->iter == 0)
            self->iter = 1;
        return;
    }
    if (self->used < self->len)
        s_rebuild(self, self->cap, true);
    // every entry this scrape used is still there: they are the next one's guesses
    struct scraper_cache_entry **tmp = self->prev;
    size_t cap = self->cap_prev;
    self->prev = self->cur;
    self->cap_prev = self->cap_cur;
    self->n_prev = self->n_cur;
    self->cur = tmp;
    self->cap_cur = cap;
    self->n_cur = 0;
    self->used = 0;
    self->iter++;
    if (self->iter == 0)
        self->iter = 1;
}
