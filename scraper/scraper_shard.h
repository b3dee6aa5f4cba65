/*  scraper_shard.h — horizontal scaling: which targets this replica of N scrapes.

    N scrapers with the same configuration split the targets between them: each target
    belongs to exactly one shard, decided by a stable hash of its final label set (after
    target relabeling, the labels its series carry: job, instance and the rest, sorted by
    name). The hash is floorwatch's own, not Prometheus's hashmod (md5): XXH3-64 (seed 0,
    through fw_hash) of the bytes name 0xff value 0xff for each label in name order, taken
    modulo N. So a target keeps its shard across restarts, reloads and versions, and only
    changes shard when its labels change or N does.

    The replica's index I comes from --shard=I/N, or from a StatefulSet pod name (the
    digits after the last '-' of --shard.pod-name, default the HOSTNAME variable, so
    `scraper-2` is 2) with N from --shard.count. Without either, one shard scrapes all.
*/
#ifndef SCRAPER_SHARD_H
#define SCRAPER_SHARD_H

#include <stdbool.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"

struct scraper_shard {
    uint64_t index; // this replica, < count
    uint64_t count; // replicas; 0 or 1: not sharded
};

// The shard from the flags: `spec` "I/N" (NULL or "": absent); else `count` > 0 with I from
// `pod_name` (NULL or "": the HOSTNAME environment variable). Neither: {0, 1}. 0, or -1 with
// err (both given, malformed, I >= N, N = 0, no ordinal in the pod name).
int scraper_shard_setup(const char *spec, const char *pod_name, int64_t count,
                        struct scraper_shard *out, fw_err_t *err);

// The shard hash of a label set (sorted, as struct fw_labels always is).
uint64_t scraper_shard_hash(const struct fw_labels *labels);

// Whether this replica scrapes a target with these final labels.
bool scraper_shard_owns(const struct scraper_shard *self, const struct fw_labels *labels);

#endif
