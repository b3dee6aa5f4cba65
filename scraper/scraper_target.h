/*  scraper_target.h — one scrape target: its settings, labels, health and series memory.

    A target is one target of one target group (a static_config, or one a discovery source
    found) of one scrape job. Its target labels are `job` (the job name), `instance` (the
    address) and the group's labels, which win over the first two as in Prometheus. Scraped samples
   get the target labels through scraper_target_merge(): a clash renames the scraped label to
   exported_<name> (again prefixed while that name is taken), unless honor_labels keeps the scraped
   value.

    For staleness the target remembers the label sets it sent in its last successful scrape
    (packed copies, fw_labels_pack.h: one allocation per series, in the order first seen,
    with an index by label hash). scraper_target_track() marks one as seen in this scrape
    and says whether it is new; scraper_target_sweep() then emits a stale marker for every
    remembered series that was not seen, in the order first seen, and forgets it;
    scraper_target_stale_all() does the same for all of them (target down or removed).

    Health fields are written by the zloop thread under the scraper's state mutex and read
    by the HTTP thread under the same mutex.
*/
#ifndef SCRAPER_TARGET_H
#define SCRAPER_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "fw_expfmt.h"
#include "fw_labels.h"
#include "fw_msg.h"
#include "fw_promcfg.h"
#include "fw_relabel.h"
#include "scraper_client.h"

typedef enum { SCRAPER_HEALTH_UNKNOWN, SCRAPER_HEALTH_UP, SCRAPER_HEALTH_DOWN } scraper_health_t;

// The staleness memory (scraper_target.c's; its definition is here only so that the
// per-sample scraper_target_track_hint below is inline: nothing else reads its fields).
// Records in the order they were first tracked (a target's body order, so a scrape reads
// them forward), the scrapes that tracked them in a parallel array of words (all a steady
// scrape writes: four bytes a sample, in order), and an index for lookups by label set.
// Records move only when a sweep forgets some (compaction): the epoch changes then, and
// hints taken before are void.
struct scraper_seen_rec { // a remembered series: its labels' hash and packed copy
    uint64_t hash;
    struct fw_label *items; // owned, packed (fw_labels_pack.h)
    uint32_t len;
};
struct scraper_seen {
    struct scraper_seen_rec *recs; // owned, len used
    uint32_t *gens; // owned, len used: the generation that last tracked it, _FRESH bit
    size_t len, cap_recs;
    uint32_t *index; // owned: record + 1, 0 free; open addressing, power-of-two cap
    size_t cap;      // of index; at most half full
    uint32_t epoch;  // changes whenever records move or go (never 0)
    size_t n_gen;    // records tracked by the current scrape (each counted once)
    size_t n_fresh;  // records with SCRAPER_SEEN_FRESH set
};
// Tracked in the current scrape and not in an earlier one: never sent.
#define SCRAPER_SEEN_FRESH 0x80000000u
#define SCRAPER_SEEN_GEN_MASK 0x7fffffffu

struct scraper_target {
    char *job;                   // owned
    char *address;               // owned: "host:port"
    char *url;                   // owned: scheme://address + metrics_path
    struct fw_labels labels;     // owned: target labels (job, instance, static labels)
    struct fw_labels discovered; // owned: __address__, __scheme__, ... for /api/v1/targets
    int64_t interval_ms;
    int64_t timeout_ms;
    int64_t sample_limit;
    bool honor_labels;
    bool legacy_names; // metric_name_validation_scheme legacy: other names fail the scrape
    int name_escaping; // metric_name_escaping_scheme (FW_NAME_ESCAPING_*): Accept's escaping=
    bool honor_timestamps;
    struct scraper_client client; // owned: HTTP client settings and limits (scraper_client.h)
    char forced_error[128];       // "": scrape; else fail every scrape with it (target_limit)

    // scrape state, zloop thread only
    void *owner;               // borrowed: the scraper running this target
    uint64_t inflight;         // fetch id of its scrape out (scheduled, fetched or worked on)
    bool working;              // its scrape's job is out (scraper_work.h): hands off
    int64_t next_mono;         // monotonic ms the scrape out is (or was) due
    uint64_t after_seq;        // its next scrape waits for this batch seq to settle (0: none)
    struct scraper_seen *seen; // owned
    uint32_t gen;
    // the scrape cache (scraper_cache.h: what each series text of the body becomes, after
    // the merge and the job's metric_relabel_configs; owned, or NULL), from config
    // generation cache_gen and body format cache_fmt; the worker holding a scrape owns it,
    // as `seen`.
    struct scraper_cache *cache;
    uint64_t cache_gen;
    int cache_fmt;
    // the metadata last sent to tsdb (scraper_meta.h): its hash and when; the worker
    // holding a scrape owns them, as `seen`
    uint64_t meta_hash;
    int64_t meta_sent_ms;

    // health, under the scraper's state mutex
    scraper_health_t health;
    char last_error[256];
    int64_t last_scrape_ms; // 0: never
    double last_duration_s;
};

// A target of job sc from one target of a target group (static_configs or discovery,
// scraper_sd.h), built as Prometheus's PopulateLabels does. Its discovered labels are
// `target` (borrowed; holds __address__ and, from discovery, __meta_* labels) over `group`
// (borrowed, the group's labels; may be NULL), empty values dropped, plus job, __scheme__,
// __metrics_path__, __scrape_interval__, __scrape_timeout__ and __param_<name> (the first
// value of each of sc's params) from sc where they are not set; that set is kept in
// `discovered`. Then sc's relabel_configs apply to it: they may drop the target, or change
// any label, the __ ones included. The scrape URL (__scheme__://__address____metrics_path__
// with sc's params, each __param_<name> replacing the first value of <name> or adding it),
// interval and timeout come from the relabeled __ labels; the target labels are every label
// not starting with "__" (__meta_*, __tmp* and the settings are dropped), with instance
// defaulting to __address__.
// NULL when relabeling drops the target: `dropped` (when not NULL; empty on entry) then
// receives the discovered labels (the caller clears them), and err is left alone. NULL with
// err, dropped left empty, when the relabeled set has no __address__ ("no address") or one
// that is not host[:port], or a duration label does not parse or is 0, or the timeout
// exceeds the interval (Prometheus logs such a target's error and forgets it).
struct scraper_target *scraper_target_from_group(const struct fw_scrape_config *sc,
                                                 const struct fw_labels *group,
                                                 const struct fw_labels *target,
                                                 struct fw_labels *dropped, fw_err_t *err);
// A target for one address of job sc with the static_config labels static_labels
// (borrowed; may be NULL): scraper_target_from_group() with __address__ = address. NULL
// when relabel_configs drop it or make it invalid.
struct scraper_target *scraper_target_new(const struct fw_scrape_config *sc, const char *address,
                                          const struct fw_labels *static_labels);
void scraper_target_destroy(struct scraper_target **self_p);

// Targets that relabel_configs dropped, for /api/v1/targets (droppedTargets with their
// discovered labels, droppedTargetCounts): every job registered with its count, and every
// dropped target's discovered labels (at most the job's keep_dropped_targets, 0: all; the
// counts count every one, as Prometheus).
struct scraper_target_drop {
    size_t job;              // index into jobs
    struct fw_labels labels; // owned: the discovered labels
};
struct scraper_target_drops {
    char **jobs;    // owned
    size_t *counts; // owned, per job
    size_t n_jobs, cap_jobs;
    struct scraper_target_drop *items; // owned
    size_t n, cap;
};
// Index of job in d, registering it with a count of 0 when new.
size_t scraper_target_drops_job(struct scraper_target_drops *d, const char *job);
// Record a target of job dropped by relabeling, taking its discovered labels (left empty).
void scraper_target_drops_add(struct scraper_target_drops *d, const char *job,
                              struct fw_labels *labels);
void scraper_target_drops_clear(struct scraper_target_drops *d);

// True when a and b scrape the same URL with the same settings and labels, so a reload
// can keep a's state.
bool scraper_target_same(const struct scraper_target *a, const struct scraper_target *b);

// Scratch space for merging one sample's labels without allocating. `view` is a sorted
// struct fw_labels whose items array is owned by the scratch but whose strings are
// BORROWED (from the parser, the target and the scratch's interned names): read it, hash
// it, copy it (fw_batch_add_series copies), but never fw_labels_set/del/clear it.
struct scraper_lset {
    struct fw_labels view;
    char **interned; // owned: "exported_..." names
    size_t n_interned, cap_interned;
    const char **conflicts; // owned array, borrowed strings: clashing scraped pairs
    size_t cap_conflicts;
};
void scraper_lset_free(struct scraper_lset *l);

// Build in out->view the labels of sample s scraped from a target with target_labels:
// __name__, the sample's labels (empty values dropped) and the target labels, with the
// honor_labels rule above. The view lives until the next merge or until s or target_labels
// change.
void scraper_target_merge(struct scraper_lset *out, const struct fw_labels *target_labels,
                          bool honor_labels, const struct fw_expfmt_sample *s);

// Mark labels as sent in the current scrape; true when the series was not in the last one.
bool scraper_target_track(struct scraper_target *self, const struct fw_labels *labels);
// The same with the labels' fw_labels_hash h given (the scrape has it already).
bool scraper_target_track_hashed(struct scraper_target *self, const struct fw_labels *labels,
                                 uint64_t h);
// Whether a hint names a record, while the memory's layout is the one it was taken in (the
// memory's epoch is never 0, a hint's 0 is none). Records go only at a sweep, which changes
// the epoch, so the slot is below len while it stays; the bound is checked all the same,
// for the hint that survives the 32-bit epoch's wrap.
static inline bool
scraper_seen_hinted(const struct scraper_seen *s, uint32_t slot, uint32_t epoch)
{
    return epoch == s->epoch && slot < s->len;
}
// Record r tracked by the current scrape (gen).
static inline void
scraper_seen_mark(struct scraper_seen *s, size_t r, uint32_t gen)
{
    uint32_t w = s->gens[r];
    if ((w & SCRAPER_SEEN_GEN_MASK) != gen) {
        s->gens[r] = (w & SCRAPER_SEEN_FRESH) | gen;
        s->n_gen++;
    }
}
// scraper_target_track_hint without a good hint: the lookup (and the record's addition).
bool scraper_target_track_miss(struct scraper_target *self, const struct fw_labels *labels,
                               uint64_t h, uint32_t *slot, uint32_t *epoch);
// As scraper_target_track_hashed, with a hint where the set was last found (*slot and
// *epoch, which it refreshes; epoch 0: none): while the memory's layout stays (no series
// forgotten; new ones may come) the hint finds the entry without a comparison. Inline: a
// known series of a steady scrape costs the hint's check and one word written.
static inline bool
scraper_target_track_hint(struct scraper_target *self, const struct fw_labels *labels, uint64_t h,
                          uint32_t *slot, uint32_t *epoch)
{
    struct scraper_seen *s = self->seen;
    if (__builtin_expect(scraper_seen_hinted(s, *slot, *epoch), 1)) {
        scraper_seen_mark(s, *slot, self->gen & SCRAPER_SEEN_GEN_MASK);
        return false;
    }
    return scraper_target_track_miss(self, labels, h, slot, epoch);
}
// End the current scrape: add a stale marker at t_ms to batch for every remembered series
// not tracked since the last sweep, and forget those. Returns how many were marked.
size_t scraper_target_sweep(struct scraper_target *self, struct fw_batch *batch, int64_t t_ms);
// Add a stale marker for every remembered series and forget them all. Returns how many.
size_t scraper_target_stale_all(struct scraper_target *self, struct fw_batch *batch, int64_t t_ms);
// Whether labels is among the series remembered from the last scrape (or tracked in this
// one): a lookup that marks nothing.
bool scraper_target_tracked(const struct scraper_target *self, const struct fw_labels *labels);
bool scraper_target_tracked_hashed(const struct scraper_target *self,
                                   const struct fw_labels *labels, uint64_t h);
// scraper_target_tracked_hashed with a hint as scraper_target_track_hint's.
bool scraper_target_tracked_hint(const struct scraper_target *self, const struct fw_labels *labels,
                                 uint64_t h, uint32_t *slot, uint32_t *epoch);
// How many series the target remembers.
size_t scraper_target_series(const struct scraper_target *self);

#endif
