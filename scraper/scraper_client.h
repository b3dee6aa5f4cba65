/*  scraper_client.h — one target's scrape client settings and limits.

    A target keeps its own copy of what its job says about how to scrape it (the HTTP client
    settings of fw_promcfg_http.h, compression, timestamp staleness) and how much to take
    from it (the limits, Prometheus's and the floorwatch sample_limit_mode extension), so a
    reload can free the old configuration while the target lives on. Effective limits are
    the job's, else global's (resolved when loading), else the scraper's defaults (flags
    --scrape.default-*), so one target can never take the whole pod.

    Also here: the query string of a target's URL (the job's `params`, each overridden by a
    `__param_<name>` label, sorted by name and escaped as Go's url.Values.Encode does), and
    the label limit checks with Prometheus's error texts.
*/
#ifndef SCRAPER_CLIENT_H
#define SCRAPER_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_labels.h"
#include "fw_promcfg.h"

struct scraper_client {
    struct fw_http_client_config http; // owned copy
    bool enable_compression;
    bool track_timestamps_staleness;
    int64_t sample_limit; // 0: the scraper's default
    int sample_limit_mode;
    int64_t label_limit;
    int64_t label_name_length_limit;
    int64_t label_value_length_limit; // 0: the scraper's default
    int64_t body_size_limit;          // 0: the scraper's default
    int64_t target_limit;
};

// The scraper's defaults for limits a configuration leaves at 0 (0 here: none).
struct scraper_client_defaults {
    int64_t body_size_limit;
    int64_t sample_limit;
    int64_t label_value_length_limit;
};

void scraper_client_init(struct scraper_client *c, const struct fw_scrape_config *sc);
void scraper_client_clear(struct scraper_client *c);
bool scraper_client_equal(const struct scraper_client *a, const struct scraper_client *b);

// Set `__param_<name>` in lb to the first value of each of the job's params, unless set
// (Prometheus's PopulateLabels).
void scraper_client_param_defaults(struct fw_labels *lb, const struct fw_scrape_config *sc);
// url + "?" (or "&") + the query from the job's params, each name's first value replaced
// by lb's `__param_<name>` and names only in lb added; url itself when there is none. A new
// string.
char *scraper_client_url(const char *url, const struct fw_scrape_config *sc,
                         const struct fw_labels *lb);

// Check a sample's final label set (after metric relabeling) against the label limits,
// label_value_length_limit falling back to def. 0, or -1 with Prometheus's text in err
// ("label_limit exceeded (metric: up, number of labels: 4, limit: 3)").
int scraper_client_check_labels(const struct scraper_client *c, int64_t def_value_len,
                                const struct fw_labels *lset, char *err, size_t size);

#endif
