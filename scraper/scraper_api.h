/*  scraper_api.h — the scraper's Prometheus-compatible target API, as JSON text.

    GET /api/v1/targets answers as Prometheus's web/api/v1 does: activeTargets (sorted by
    scrape pool) with discoveredLabels, labels, scrapePool, scrapeUrl, globalUrl, lastError,
    lastScrape, lastScrapeDuration, health, scrapeInterval and scrapeTimeout; droppedTargets
    (targets relabel_configs dropped) with discoveredLabels and scrapePool; and
    droppedTargetCounts, every scrape pool's number of dropped targets. `state` is active,
    dropped or any (case-insensitive; another value shows neither, as Prometheus), and
    `scrapePool` keeps one pool's targets. A sharded scraper (scraper_shard.h) lists only its
    own shard's targets, as active or dropped; the targets of other shards are scraped by
    another replica and appear in neither list, only counted in the floorwatch extension
    data.shard = {"index", "count", "otherShardTargets"}.

    GET /api/v1/targets/relabel_steps?scrapePool=<job>&labels=<JSON object> answers as
    Prometheus 3: data.steps, one {"rule", "output", "keep"} per rule of the pool's
    relabel_configs, the rule as Prometheus marshals a relabel.Config (source_labels,
    separator, regex, modulus, target_label, replacement, action; empty ones left out as
    its omitempty tags do), output the label set after that rule ({} once dropped).

    The functions only read what they are given; the caller holds whatever lock guards it.
*/
#ifndef SCRAPER_API_H
#define SCRAPER_API_H

#include <jansson.h>
#include <stddef.h>

#include "fw_labels.h"
#include "fw_promcfg.h"
#include "fw_relabel.h"
#include "scraper_shard.h"
#include "scraper_target.h"

// What the target API shows, all borrowed.
struct scraper_api_view {
    struct scraper_target *const *active;
    size_t n_active;
    const struct scraper_target_drops *drops; // may be NULL: what relabeling dropped, and
                                              // every scrape pool
    const struct scraper_shard *shard;        // NULL or count <= 1: not sharded
    size_t n_other_shards;                    // targets left to the other shards
};

// The body of GET /api/v1/targets for the filters state and pool (NULL or "": none).
// Caller frees.
char *scraper_api_targets(const struct scraper_api_view *v, const char *state, const char *pool);

// The body of GET /api/v1/targets/relabel_steps, and its HTTP status in *status: 200, or
// 400 with Prometheus's bad_data errors (no scrapePool parameter provided, no labels
// parameter provided, error parsing labels: ..., error retrieving scrape config: scrape
// pool "x" not found). Caller frees.
char *scraper_api_relabel_steps(const struct fw_promcfg *cfg, const char *pool,
                                const char *labels_json, int *status);

// One relabel rule as Prometheus's JSON for a relabel.Config (new reference).
json_t *scraper_api_rule_json(const struct fw_relabel_config *rc);

#endif
