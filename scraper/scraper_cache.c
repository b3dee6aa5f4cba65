/*  scraper_cache.c — a target's scrape cache (see scraper_cache.h).

    Design: an open-addressing table (linear probing, power-of-two size, at most half full)
    of {key hash, entry pointer}. Each entry is two runs of memory cut from the cache's own
    chunks (mapped apart from the heap, S_CHUNK bytes or one entry's) one after the other:
    the record and the key text, all a scrape of known series reads, from the hot chunks,
    and the encoded labels and the packed label set, read only for a series new to the
    staleness memory or defined again, from the cold ones. A target's series learnt in one
    scrape lie in the body's order, which the next scrapes read forward, the prefetcher
    ahead, through about a third of the bytes the whole entries take. Entries are reached through
   pointers so they never move when the table grows. Forgetting unused entries rebuilds the table
   from the survivors, which happens only after a scrape whose series changed; their memory is dead
    until the cache is packed (s_pack: the live entries copied, in the body's order, into
    one new hot and one new cold chunk, the old chunks unmapped), after the next scrape that adds
   nothing, or at once when more than half the memory is dead. Chunks are unmapped whole, so a
   target's cache leaves no holes in the heap when it is packed, emptied or destroyed.
*/
#include "scraper_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fw_hash.h"
#include "fw_labels_pack.h"
#include "fw_mem.h"
#include "fw_msg_samples.h"

// How many samples ahead scraper_cache_lookup fetches the last scrape's entries.
#define S_AHEAD 8
// The size of the chunks entries are cut from (one entry larger than this gets its own).
#define S_CHUNK (256u << 10)

// A run of entries, mapped (never malloc'd: unmapping gives the memory back whole).
struct scraper_cache_chunk {
    struct scraper_cache_chunk *next; // owned
    size_t size;                      // mapped bytes, this header included
    size_t used;                      // bytes cut, this header included
};

struct scraper_cache_slot {
    uint64_t h;
    struct scraper_cache_entry *e; // owned; NULL: free
};

#define S_ALIGN(n) (((n) + 15) & ~(size_t)15)

// A fresh chunk of at least need bytes after its header.
static struct scraper_cache_chunk *
s_chunk_new(size_t need)
{
    size_t size = S_ALIGN(sizeof(struct scraper_cache_chunk)) + need;
    if (size < S_CHUNK)
        size = S_CHUNK;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { // out of memory: as fw_malloc
        fprintf(stderr, "level=error event=oom bytes=%zu\n", size);
        abort();
    }
    struct scraper_cache_chunk *c = p;
    c->next = NULL;
    c->size = size;
    c->used = S_ALIGN(sizeof(*c));
    return c;
}

static void
s_chunks_free(struct scraper_cache_chunk *c)
{
    while (c) {
        struct scraper_cache_chunk *next = c->next;
        munmap(c, c->size);
        c = next;
    }
}

// bytes (a multiple of 16) cut from the newest chunk of *list, or from a new one.
static void *
s_cut(struct scraper_cache_chunk **list, size_t bytes)
{
    struct scraper_cache_chunk *c = *list;
    if (!c || c->size - c->used < bytes) {
        c = s_chunk_new(bytes);
        c->next = *list;
        *list = c;
    }
    void *p = (unsigned char *)c + c->used;
    c->used += bytes;
    return p;
}

// The bytes an entry takes in the hot chunks (its record and key)...
static size_t
s_hot_size(size_t key_len)
{
    return S_ALIGN(sizeof(struct scraper_cache_entry) + key_len);
}

// ...and in the cold ones: its encoded labels, then its packed labels (none when dropped).
static size_t
s_cold_size(size_t enc_len, size_t pack_len)
{
    return (enc_len ? S_ALIGN(enc_len) : 0) + (pack_len ? S_ALIGN(pack_len) : 0);
}

static size_t
s_cold_size_of(const struct scraper_cache_entry *e)
{
    struct fw_labels v = fw_labels_pack_view(e->items, e->len);
    return s_cold_size(e->enc_len, e->items ? fw_labels_pack_size(&v) : 0);
}

static size_t
s_packed_size(const struct scraper_cache_entry *e)
{
    return s_hot_size(e->text.len) + s_cold_size_of(e);
}

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
    size_t size = s_packed_size(e);
    self->live -= size;
    self->dead += size; // its chunk goes as a whole, at the next packing or clear
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
    s_chunks_free(self->chunks);
    s_chunks_free(self->cold);
    self->chunks = self->cold = NULL;
    self->live = self->dead = 0;
    self->added = 0;
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
s_put(struct scraper_cache_slot *slots, size_t cap, uint64_t h, struct scraper_cache_entry *e)
{
    size_t j = (size_t)h & (cap - 1);
    while (slots[j].e)
        j = (j + 1) & (cap - 1);
    slots[j] = (struct scraper_cache_slot){h, e};
}

// Move the live entries into a fresh table of cap slots (keep: only those of this scrape).
static void
s_rebuild(scraper_cache_t *self, size_t cap, bool keep_used_only)
{
    struct scraper_cache_slot *slots = fw_calloc(cap, sizeof(*slots));
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

// e is sample i's entry in this scrape (scraper_cache_use, inline, in the common case).
void
scraper_cache_use_grow(scraper_cache_t *self, struct scraper_cache_entry *e, size_t i)
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
    self->cur[i] = &e->text;
}

static struct scraper_cache_entry *
s_find(scraper_cache_t *self, const char *key, size_t len, uint64_t h)
{
    for (size_t j = (size_t)h & (self->cap - 1); self->slots[j].e; j = (j + 1) & (self->cap - 1)) {
        struct scraper_cache_entry *e = self->slots[j].e;
        if (self->slots[j].h == h && e->text.len == len && memcmp(e->text.series, key, len) == 0)
            return e;
    }
    return NULL;
}

// Fetch the record and key text of the entry S_AHEAD samples after i, which follows it in
// its block (no load of the record itself, which would wait for it). A macro: GCC finds a
// function doing only this free of side effects and drops the call, prefetches and all.
#define S_FETCH_AHEAD(self, i)                                                                     \
    do {                                                                                           \
        if ((i) + S_AHEAD < (self)->n_prev && (self)->prev[(i) + S_AHEAD]) {                       \
            const char *ahead_ = (const char *)(self)->prev[(i) + S_AHEAD];                        \
            __builtin_prefetch(ahead_);                                                            \
            __builtin_prefetch(ahead_ + 64);                                                       \
            __builtin_prefetch(ahead_ + 128);                                                      \
        }                                                                                          \
    } while (0)

const struct fw_expfmt_text *const *
scraper_cache_expectations(const scraper_cache_t *self, size_t *n)
{
    *n = self->n_prev;
    return (const struct fw_expfmt_text *const *)self->prev;
}

// Sample i's entry in the last good scrape, or NULL.
static inline struct scraper_cache_entry *
s_prev(const scraper_cache_t *self, size_t i)
{
    return i < self->n_prev ? scraper_cache_entry_of(self->prev[i]) : NULL;
}

struct scraper_cache_entry *
scraper_cache_lookup(scraper_cache_t *self, size_t i, const char *key, size_t len, uint64_t *h)
{
    S_FETCH_AHEAD(self, i);
    struct scraper_cache_entry *e = s_prev(self, i);
    if (!e || e->text.len != len || memcmp(e->text.series, key, len) != 0) {
        *h = scraper_cache_key_hash(key, len);
        if (!(e = s_find(self, key, len, *h)))
            return NULL;
    }
    scraper_cache_use(self, e, i);
    return e;
}

struct scraper_cache_entry *
scraper_cache_peek(const scraper_cache_t *self, size_t i)
{
    return s_prev(self, i);
}

struct scraper_cache_entry *
scraper_cache_add(scraper_cache_t *self, size_t i, const char *key, size_t len, size_t name_len,
                  uint64_t h, const struct fw_labels *labels, uint64_t labels_hash)
{
    bool dropped = !labels || labels->len == 0;
    size_t enc_len = dropped ? 0 : fw_samples_labels_size(labels);
    if ((!dropped && enc_len == 0) || len > UINT32_MAX || enc_len > UINT32_MAX)
        return NULL;
    if (name_len > len)
        name_len = 0;
    if ((self->len + 1) * 2 > self->cap)
        s_rebuild(self, self->cap * 2, false);
    size_t pack_len = dropped ? 0 : fw_labels_pack_size(labels);
    size_t cold = s_cold_size(enc_len, pack_len);
    size_t size = s_hot_size(len) + cold;
    struct scraper_cache_entry *e = s_cut(&self->chunks, s_hot_size(len));
    memset(e, 0, sizeof(*e));
    char *text = (char *)(e + 1);
    memcpy(text, key, len);
    e->text = (struct fw_expfmt_text){text, (uint32_t)len, (uint32_t)name_len};
    e->key_hash = h;
    e->dropped = dropped;
    if (!dropped) {
        unsigned char *enc = s_cut(&self->cold, cold);
        fw_samples_labels_put(enc, labels);
        e->enc = enc;
        e->enc_len = (uint32_t)enc_len;
        e->items = fw_labels_pack_into(enc + S_ALIGN(enc_len), labels);
        e->len = (uint32_t)labels->len;
        e->hash = labels_hash;
        // as the batch splitting counts a label: name, value and 4 bytes
        e->est = enc_len - 2 - 2 * labels->len;
    }
    s_put(self->slots, self->cap, h, e);
    self->len++;
    self->added++;
    self->live += size;
    scraper_cache_use(self, e, i);
    return e;
}

// ---------------------------------------------------------------------------------------
//  Packing

// Copy e (mark 1) to *hot and *cold in the new chunks, advancing both; e then forwards to
// its copy (mark 2, its key the copy).
static void
s_pack_one(struct scraper_cache_entry *e, unsigned char **hot, unsigned char **cold)
{
    struct scraper_cache_entry *n = (struct scraper_cache_entry *)*hot;
    *n = *e;
    char *key = (char *)(n + 1);
    memcpy(key, e->text.series, e->text.len);
    n->text.series = key;
    *hot += s_hot_size(e->text.len);
    if (e->enc) {
        memcpy(*cold, e->enc, e->enc_len);
        n->enc = *cold;
        *cold += S_ALIGN(e->enc_len);
    }
    if (e->items) {
        struct fw_labels v = fw_labels_pack_view(e->items, e->len);
        n->items = fw_labels_pack_into(*cold, &v);
        *cold += S_ALIGN(fw_labels_pack_size(&v));
    }
    n->mark = 0;
    e->mark = 2;
    e->text.series = (const char *)n;
}

static inline struct scraper_cache_entry *
s_forwarded(struct scraper_cache_entry *e)
{
    return e && e->mark == 2 ? (struct scraper_cache_entry *)(uintptr_t)e->text.series : e;
}

// Move every entry into one new chunk: those of the last scrape in its order first (each
// once), then any other; unmap the old chunks.
static void
s_pack(scraper_cache_t *self)
{
    size_t hot_bytes = 0, cold_bytes = 0;
    for (size_t k = 0; k < self->n_prev; k++) {
        struct scraper_cache_entry *e = scraper_cache_entry_of(self->prev[k]);
        if (e && e->mark == 0) {
            e->mark = 1;
            hot_bytes += s_hot_size(e->text.len);
            cold_bytes += s_cold_size_of(e);
        }
    }
    for (size_t j = 0; j < self->cap; j++) {
        struct scraper_cache_entry *e = self->slots[j].e;
        if (e && e->mark == 0) {
            e->mark = 1;
            hot_bytes += s_hot_size(e->text.len);
            cold_bytes += s_cold_size_of(e);
        }
    }
    struct scraper_cache_chunk *chunk = s_chunk_new(hot_bytes), *cold = s_chunk_new(cold_bytes);
    unsigned char *hp = (unsigned char *)chunk + chunk->used,
                  *cp = (unsigned char *)cold + cold->used;
    chunk->used += hot_bytes;
    cold->used += cold_bytes;
    for (size_t k = 0; k < self->n_prev; k++) {
        struct scraper_cache_entry *e = scraper_cache_entry_of(self->prev[k]);
        if (e && e->mark == 1)
            s_pack_one(e, &hp, &cp);
    }
    for (size_t j = 0; j < self->cap; j++) {
        struct scraper_cache_entry *e = self->slots[j].e;
        if (e && e->mark == 1)
            s_pack_one(e, &hp, &cp);
    }
    for (size_t k = 0; k < self->n_prev; k++)
        if (self->prev[k])
            self->prev[k] = &s_forwarded(scraper_cache_entry_of(self->prev[k]))->text;
    for (size_t j = 0; j < self->cap; j++)
        self->slots[j].e = s_forwarded(self->slots[j].e);
    s_chunks_free(self->chunks);
    s_chunks_free(self->cold);
    self->chunks = chunk;
    self->cold = cold;
    self->live = hot_bytes + cold_bytes;
    self->dead = 0;
    self->packs++;
}

size_t
scraper_cache_packs(const scraper_cache_t *self)
{
    return self->packs;
}

void
scraper_cache_iter_done(scraper_cache_t *self, bool forget)
{
    if (!forget) { // the last good scrape's order stays the guess; nothing was freed since
        self->n_cur = 0;
        self->used = 0;
        self->added = 0;
        if (++self->iter == 0)
            self->iter = 1;
        return;
    }
    if (self->used < self->len)
        s_rebuild(self, self->cap, true);
    // every entry this scrape used is still there: they are the next one's guesses
    const struct fw_expfmt_text **tmp = self->prev;
    size_t cap = self->cap_prev;
    self->prev = self->cur;
    self->cap_prev = self->cap_cur;
    self->n_prev = self->n_cur;
    self->cur = tmp;
    self->cap_cur = cap;
    self->n_cur = 0;
    self->used = 0;
    // Forgotten entries' memory back: after a scrape that added nothing (the target's series
    // stay: one block in the body's order), or when most of it is dead.
    if (self->dead > 0 && (self->added == 0 || self->dead > self->live))
        s_pack(self);
    self->added = 0;
    self->iter++;
    if (self->iter == 0)
        self->iter = 1;
}
