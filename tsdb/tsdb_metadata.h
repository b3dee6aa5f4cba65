/*  tsdb_metadata.h — the metric metadata (HELP, TYPE, UNIT) of the scrapers' targets, and
    GET /api/v1/metadata over it, as Prometheus's web/api/v1 metricMetadata answers.

    Scrapers send METADATA v1 (docs/wire.md) for each target when its metadata changes and
    every 5 minutes; tsdb keeps the latest list of each (sender, target) in memory and
    forgets a target not heard of for ttl_ms (TSDB_METADATA_TTL_MS: three resends), the way
    Prometheus's answer covers only its active targets. Memory is bounded: at most
    TSDB_METADATA_MAX_ENTRIES families over all targets and TSDB_METADATA_MAX_TEXT bytes of
    help text each; a message that would pass the bound is refused whole (the target keeps
    what it had) and counted by the caller. The zloop thread ingests and expires, HTTP
    threads answer: one mutex, held only to copy or to answer.
    The answer: {"metric":[{"type","unit","help"},...]} with each distinct triple of the
    family once over all targets, metrics in name order; `metric` selects one family,
    `limit` (a number; negative: none) caps the metrics, `limit_per_metric` the triples of
    each; a parameter that is not a number is bad_data ("limit must be a number").

    Remote write (tsdb_rwrite) adds families one by one, as senders send them (1.0's
    WriteRequest.metadata, 2.0's per-series metadata): kept by family name, the last one
    sent wins, each forgotten TSDB_METADATA_TTL_MS after it was last sent (a Prometheus
    sender resends all of its metadata every metadata_config.send_interval, 1m by default).
    They count against the same TSDB_METADATA_MAX_ENTRIES bound as the targets' families.
*/
#ifndef TSDB_METADATA_H
#define TSDB_METADATA_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_http.h"

#define TSDB_METADATA_TTL_MS (15 * 60 * 1000)
#define TSDB_METADATA_MAX_ENTRIES 200000
#define TSDB_METADATA_MAX_TEXT 4096

typedef struct tsdb_metadata tsdb_metadata_t;

// An empty table. Cannot fail.
tsdb_metadata_t *tsdb_metadata_new(void);
void tsdb_metadata_destroy(tsdb_metadata_t **self_p);

// Replace the metadata of the body's (sender, target) with its list (borrowed; an empty
// list forgets the target), seen at now_ms. Returns the families stored, or -1 with err
// (a malformed entry, or the bound passed): nothing changed.
ssize_t tsdb_metadata_ingest(tsdb_metadata_t *self, const json_t *body, int64_t now_ms,
                             fw_err_t *err);
// One family as a remote-write sender sent it: views of n bytes (not NUL-terminated);
// type is one of counter, gauge, histogram, gaugehistogram, summary, info, stateset, unknown.
struct tsdb_metadata_family {
    const char *metric, *type, *unit, *help;
    size_t metric_len, unit_len, help_len;
};

// Store f[0..n) (borrowed, copied) as remote-written families seen at now_ms, replacing
// each family's earlier triple. A family whose name is empty, over 1024 bytes, not UTF-8
// or holding a NUL, whose unit is over 256 bytes or whose help is over
// TSDB_METADATA_MAX_TEXT bytes (or either not UTF-8 or holding a NUL), or a new one past
// TSDB_METADATA_MAX_ENTRIES, is refused alone and counted into *refused (may be NULL).
// Returns the families stored.
size_t tsdb_metadata_put(tsdb_metadata_t *self, const struct tsdb_metadata_family *f, size_t n,
                         int64_t now_ms, size_t *refused);

// Call fn(arg, f) for each distinct (metric, type, unit, help) of the targets and the
// remote-written families, in that order (name first), with the table locked: fn must not
// call into self, and f's views live until it returns. Returns how many.
typedef void (*tsdb_metadata_each_fn)(void *arg, const struct tsdb_metadata_family *f);
size_t tsdb_metadata_each(tsdb_metadata_t *self, tsdb_metadata_each_fn fn, void *arg);

// Forget the targets last heard of before now_ms - TSDB_METADATA_TTL_MS, and the
// remote-written families last sent before then; returns how many of both.
size_t tsdb_metadata_expire(tsdb_metadata_t *self, int64_t now_ms);
// Families stored over all targets.
size_t tsdb_metadata_size(tsdb_metadata_t *self);

// Add GET /api/v1/metadata over self (borrowed; must outlive http).
void tsdb_metadata_routes(tsdb_metadata_t *self, fw_http_t *http);

#endif
