/*  tsdb_targets.h — /api/v1/targets and /api/v1/targets/relabel_steps on tsdb's :9090.

    Grafana and users look for targets where they query, so tsdb serves the target API too.
    tsdb knows nothing of targets (daemons meet only on the wire): it asks the scrapers
    named by --scraper.url (comma-separated base URLs; default the local scraper,
    http://127.0.0.1:9201) over HTTP, each at most --scraper.timeout (2s), all at once, on
    the HTTP request's own thread (libmicrohttpd runs one per connection; tsdb's loop never
    waits).

    /api/v1/targets merges the answers: activeTargets and droppedTargets are the union of
    the scrapers' lists (N shards list disjoint sets, so the union is every target once),
    sorted by scrape pool; droppedTargetCounts are summed per pool (null when state hides
    dropped targets, as Prometheus). A scraper that does not answer in time, or answers
    something else than a success, is named in the standard "warnings" list and in the
    floorwatch extension data.scrapers = [{"url", "health" ("up"|"down"), "lastError",
    "shard"}]; the others' targets are still shown. The filters (state, scrapePool) are
    passed on to each scraper.

    /api/v1/targets/relabel_steps goes to the scrapers in order and answers with the first
    success (each replica has the same config), else the first error a scraper gave (400,
    e.g. an unknown scrape pool), else 503 "unavailable" when none answered.
*/
#ifndef TSDB_TARGETS_H
#define TSDB_TARGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_http.h"

typedef struct tsdb_targets tsdb_targets_t;

// A proxy to the scrapers in `urls` (comma-separated; "host:port" means http://host:port;
// empty: none, the lists are empty), each asked for at most timeout_ms. NULL with err on a
// malformed list (an entry with spaces, a scheme other than http/https, more than 64).
tsdb_targets_t *tsdb_targets_new(const char *urls, int64_t timeout_ms, fw_err_t *err);
void tsdb_targets_destroy(tsdb_targets_t **self_p);

// Add GET /api/v1/targets and /api/v1/targets/relabel_steps to http (before it starts).
void tsdb_targets_routes(tsdb_targets_t *self, fw_http_t *http);

// One scraper's answer to GET /api/v1/targets: its body (NULL when none) and the reason it
// failed ("" when it answered 200).
struct tsdb_targets_answer {
    const char *url;   // borrowed
    const char *body;  // borrowed, may be NULL
    const char *error; // borrowed; "" when the request succeeded
};

// The merged /api/v1/targets body of n answers, as described above; droppedTargetCounts is
// null unless show_dropped (state any or dropped). Caller frees.
char *tsdb_targets_merge(const struct tsdb_targets_answer *answers, size_t n, bool show_dropped);

#endif
