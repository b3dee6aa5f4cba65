/*  scraper_cache.h — a target's scrape cache: what each series text of its body becomes.

    A target serves the same series every scrape, written the same way. What a sample's
    series text ("name{labels}" as written, fw_expfmt_sample.series) turns into — the merge
    with the target labels, the job's metric_relabel_configs, the label limits, the final
    set's hash and its SAMPLES encoding — depends on nothing else while the target and the
    config generation stay, so the worker works it out on a series' first sight and keeps
    it here, as Prometheus's scrape cache does (keyed by the raw series bytes). A known
    series then costs one hash of its text and one comparison: no label merge, relabeling,
    label hashing or encoding.

    An entry also holds the series' SAMPLES ref (scraper_work.c gives it on the first
    encode; fw_sender_refs.h), released when the entry is forgotten.

    An entry holds its key, the final label set (packed, fw_labels_pack.h) or "dropped",
    that set's fw_labels_hash and its encoded labels (fw_samples_labels_put) with the byte
    estimate the batch splitting uses, and a hint where the target's staleness memory keeps
    the set (scraper_target_track_hint). Entries never move during a scrape, so a scrape may
    keep pointers to them until scraper_cache_iter_done() ends it, which forgets the entries
    a successful scrape did not use (bounding the cache by one scrape's series, and by
    SCRAPER_CACHE_MAX entries). An entry, its key, encoded and packed labels lie in one run
    of memory, and a scrape's new entries one after the other in the body's order: the next
    scrapes read a known series' memory forward instead of chasing scattered allocations
    (with many targets the work is memory-bound). Once series went, the next successful
    scrape that adds none packs the entries (moving them, in the body's order) and gives
    the forgotten ones' memory back. Empty it when the relabel rules or the exposition
    format change.

    One cache per target; the worker holding the target's scrape owns it (scraper_work.h).
*/
#ifndef SCRAPER_CACHE_H
#define SCRAPER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_expfmt.h"
#include "fw_labels.h"
#include "fw_sender_refs.h"

struct scraper_cache_entry {
    // first: the parser's expectation list (fw_expfmt_set_expect_list) points here, and a
    // matched sample's tag is this address
    struct fw_expfmt_text text; // the series text, its key (in this entry's block), and its
                                // metric name's length (0: never expected)
    uint64_t key_hash;
    uint32_t iter;            // the last scrape that used the entry
    bool dropped;             // the rules dropped the series (or left it without labels)
    bool checked;             // the label limits passed
    uint8_t mark;             // scraper_cache_iter_done's, while it packs
    uint32_t len;             // labels
    struct fw_label *items;   // packed (in this entry's memory); NULL when dropped
    uint64_t hash;            // fw_labels_hash of the labels
    const unsigned char *enc; // the encoded labels (in this entry's block)
    uint32_t enc_len;
    size_t est; // the batch splitting's byte estimate: name and value bytes + 4 per label
    uint32_t seen_slot, seen_epoch; // scraper_target_track_hint's hint; epoch 0: none
    uint32_t ref;                   // the series' SAMPLES ref (fw_sender_refs.h), 0: none yet
    uint64_t ref_gen; // the refs generation its definition was last encoded under, 0: never
};

typedef struct scraper_cache scraper_cache_t;

// The cache (scraper_cache.c's; its definition is here only so that the per-sample
// scraper_cache_use below is inline: nothing else reads its fields).
struct scraper_cache_slot;
struct scraper_cache_chunk;
struct scraper_cache {
    struct scraper_cache_slot *slots; // owned
    size_t cap;                       // power of two
    size_t len;
    size_t used; // entries used by the current scrape
    size_t max;
    uint32_t iter;
    // the entry of each sample of the last scrape and of this one, in body order: a target
    // serves its series in the same order every time, so sample i is first looked for
    // where it was last time, without hashing, and the next ones are fetched ahead
    const struct fw_expfmt_text **prev, **cur; // owned arrays of borrowed entries' texts
    size_t n_prev, n_cur, cap_prev, cap_cur;
    fw_sender_refs_t *refs;             // borrowed, or NULL: where forgotten entries' refs go back
    struct scraper_cache_chunk *chunks; // owned list, the newest first: records and keys
    struct scraper_cache_chunk *cold;   // owned list, the newest first: encoded, packed labels
    size_t live, dead; // bytes of the chunks the entries use, and that forgotten ones did
    size_t added;      // entries the current scrape added
    size_t packs;
};

// The entries a target's cache holds at most (SCRAPER_CACHE_MAX for the scraper's): past
// it, new series are worked out without being kept (scraper_cache_full).
#define SCRAPER_CACHE_MAX 500000
scraper_cache_t *scraper_cache_new(size_t max);
void scraper_cache_destroy(scraper_cache_t **self_p);
// Give the entries' refs back to refs (borrowed; it must outlive the cache) when they are
// forgotten. Set it before the first entry.
void scraper_cache_set_refs(scraper_cache_t *self, fw_sender_refs_t *refs);
// Forget every entry (new rules, another format).
void scraper_cache_clear(scraper_cache_t *self);
size_t scraper_cache_len(const scraper_cache_t *self);
// True when the cache holds its maximum: add nothing more this scrape.
bool scraper_cache_full(const scraper_cache_t *self);

// The hash of a series text, for find and add.
uint64_t scraper_cache_key_hash(const char *key, size_t len);
// The entry of sample i's key (len bytes), marked used by this scrape as sample i; NULL
// when unknown, with *h set to the key's hash for scraper_cache_add. The entry the last
// good scrape had at sample i is tried first (no hash when it matches), and later ones are
// fetched ahead.
struct scraper_cache_entry *scraper_cache_lookup(scraper_cache_t *self, size_t i, const char *key,
                                                 size_t len, uint64_t *h);
// The entry the last good scrape had at sample i (a guess, to fetch memory ahead), or NULL.
struct scraper_cache_entry *scraper_cache_peek(const scraper_cache_t *self, size_t i);
// The parser's expectation list (fw_expfmt_set_expect_list), n entries: the series text
// the last good scrape had at sample i (NULL: none), the entry itself as the tag (from
// which scraper_cache_entry_of gives it back). Valid, unchanged, until
// scraper_cache_iter_done or scraper_cache_clear. Nothing is marked: scraper_cache_use
// does when a sample matched.
const struct fw_expfmt_text *const *scraper_cache_expectations(const scraper_cache_t *self,
                                                               size_t *n);
// The entry whose text a parser's tag is (a pointer from scraper_cache_expectations).
static inline struct scraper_cache_entry *
scraper_cache_entry_of(const void *tag)
{
    return (struct scraper_cache_entry *)(uintptr_t)tag; // text is its first member
}
// scraper_cache_use when sample i does not follow the last one marked, or its array is full.
void scraper_cache_use_grow(scraper_cache_t *self, struct scraper_cache_entry *e, size_t i);
// Mark e (an entry of this cache) used by this scrape as sample i, as a lookup that found
// it does. Inline: samples come in order (i the next), so a known series costs a few stores.
static inline void
scraper_cache_use(scraper_cache_t *self, struct scraper_cache_entry *e, size_t i)
{
    if (__builtin_expect(i == self->n_cur && i < self->cap_cur, 1)) {
        if (e->iter != self->iter) {
            e->iter = self->iter;
            self->used++;
        }
        self->cur[i] = &e->text;
        self->n_cur = i + 1;
        return;
    }
    scraper_cache_use_grow(self, e, i);
}
// Add key (not present; hash h; its metric name the first name_len bytes, 0 when unknown:
// then never expected) as sample i's, with its final labels (copied; NULL or
// empty: dropped) and their hash. The entry, marked used; NULL only when the labels cannot
// be encoded (more than 65535 labels, a name over 65535 bytes: then nothing is kept).
struct scraper_cache_entry *scraper_cache_add(scraper_cache_t *self, size_t i, const char *key,
                                              size_t len, size_t name_len, uint64_t h,
                                              const struct fw_labels *labels, uint64_t labels_hash);
// A scrape is over: when `forget` (it succeeded), forget the entries it did not use and
// take its order as the next scrape's guess, and when some were forgotten since the last
// packing and it added none (or more memory is dead than live), pack them (entry pointers
// change: scraper_cache_packs counts it); then start the next.
void scraper_cache_iter_done(scraper_cache_t *self, bool forget);
// How many times the entries were packed (scraper_cache_iter_done), for tests.
size_t scraper_cache_packs(const scraper_cache_t *self);

#endif
