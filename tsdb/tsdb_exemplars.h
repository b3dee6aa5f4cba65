/*  tsdb_exemplars.h — exemplars kept in memory, as Prometheus's CircularExemplarStorage
    (tsdb/exemplar.go) keeps them.

    One ring of at most max exemplars (prometheus.yml storage.exemplars.max_exemplars,
    default 100000; 0 or less keeps none) shared by all series: when it is full the oldest
    exemplar of all is overwritten. Each series with an exemplar in the ring has a record
    (its labels, found by their hash) with its oldest and newest slot; a series' exemplars
    are linked oldest to newest. An exemplar is added as Prometheus's scrape adds it:
    refused when its labels are longer than 128 characters (names and values, in code
    points), ignored when it equals the series' newest (the same exemplar scraped again), and
    dropped as out of order when older than the newest (or, at the same time, smaller in
    value). Nothing is written to disk: a restart of tsdb starts with an empty ring
    (Prometheus also replays exemplars from its WAL; floorwatch does not).

    The ring grows as exemplars come, up to max entries, so a large max costs memory only when
    used; each entry holds its exemplar's labels (at most 128 characters of them), and a
    series record lives only while one of its exemplars is in the ring, so memory is bounded
    by max. Thread-safe: one writer (the zloop) and any number of readers (HTTP threads)
    under a read-write lock.
*/
#ifndef TSDB_EXEMPLARS_H
#define TSDB_EXEMPLARS_H

#include <stddef.h>
#include <stdint.h>

#include "fw_labels.h"
#include "fw_matcher.h"

#define TSDB_EXEMPLARS_DEFAULT_MAX 100000
#define TSDB_EXEMPLARS_MAX_LABEL_RUNES 128

typedef struct tsdb_exemplars tsdb_exemplars_t;

// tsdb_exemplars_add results.
enum {
    TSDB_EXEMPLARS_ADDED = 0,
    TSDB_EXEMPLARS_DUPLICATE = 1,    // the series' newest again: nothing to do
    TSDB_EXEMPLARS_OUT_OF_ORDER = 2, // older than the series' newest: dropped
    TSDB_EXEMPLARS_TOO_LONG = -1,    // labels over 128 characters: refused
    TSDB_EXEMPLARS_DISABLED = -2,    // max is 0
};

// A store of at most max exemplars (<= 0: none kept). Cannot fail.
tsdb_exemplars_t *tsdb_exemplars_new(int64_t max);
void tsdb_exemplars_destroy(tsdb_exemplars_t **self_p);

// A new max (a reload): the newest min(held, max) exemplars are kept.
void tsdb_exemplars_resize(tsdb_exemplars_t *self, int64_t max);

// Add the exemplar (labels ex, value v, time t_ms) of the series (labels borrowed, copied
// when kept). Returns a TSDB_EXEMPLARS_* result.
int tsdb_exemplars_add(tsdb_exemplars_t *self, const struct fw_labels *series,
                       const struct fw_labels *ex, double v, int64_t t_ms);

// Exemplars held now, and series that have some.
size_t tsdb_exemplars_len(tsdb_exemplars_t *self);
size_t tsdb_exemplars_series(tsdb_exemplars_t *self);
int64_t tsdb_exemplars_max(tsdb_exemplars_t *self);

// One matcher set: a series is selected when it matches every matcher of some set.
struct tsdb_exemplars_sel {
    const struct fw_matcher *matchers; // borrowed
    size_t n_matchers;
};

// The "data" of /api/v1/query_exemplars as Prometheus writes it (caller frees): a JSON array
// of {"seriesLabels":{..},"exemplars":[{"labels":{..},"value":"v","timestamp":secs},..]}
// for the series matching one of the n sets with exemplars in [start_ms, end_ms], series
// sorted by their labels, each series' exemplars oldest first.
char *tsdb_exemplars_select_json(tsdb_exemplars_t *self, const struct tsdb_exemplars_sel *sets,
                                 size_t n, int64_t start_ms, int64_t end_ms);

#endif
