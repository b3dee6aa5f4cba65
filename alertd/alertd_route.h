/*  alertd_route.h — the routing tree built from a config's `route:` block.

    Each node holds its effective settings: receiver, group_by and timers are inherited
    from the parent when the node leaves them unset (Alertmanager dispatch/route.go). Its
    matchers come from match, match_re and matchers, sorted as Alertmanager sorts them, and
    its key ({}/{team="db"}) is the route part of a group key. Alertmanager 0.25's key holds
    no position, so siblings with the same matchers share it; id (the child indexes from the
    root, "" for the root, "0/2" for the root's first child's third) tells them apart, as
    0.25's dispatcher keeps aggregation groups per route object.
*/
#ifndef ALERTD_ROUTE_H
#define ALERTD_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alertd_cfg.h"
#include "alertd_matcher.h"
#include "fw_labels.h"

struct alertd_route {
    struct alertd_route *parent; // borrowed; NULL for the root
    char *receiver;              // owned
    char **group_by;             // owned, sorted
    size_t group_by_len;
    bool group_by_all; // group_by: ['...']
    int64_t group_wait_ms, group_interval_ms, repeat_interval_ms;
    bool cont;
    struct alertd_matchers matchers; // owned
    char *key;                       // owned
    char *id;                        // owned: position path, unique in the tree
    char **mute_time_intervals;      // owned names; not inherited (Alertmanager)
    size_t mute_time_intervals_len;
    char **active_time_intervals; // owned names; not inherited
    size_t active_time_intervals_len;
    struct alertd_route *routes; // owned children
    size_t routes_len;
};

// Build the tree (root plus descendants) from cfg (borrowed only during the call).
struct alertd_route *alertd_route_build(const struct alertd_cfg_route *cfg);
void alertd_route_destroy(struct alertd_route **self_p);

// Depth-first match (first matching child wins unless it has `continue`); fills out with
// borrowed nodes (at most max) and returns how many matched. An alert always matches at
// least the root.
size_t alertd_route_match(const struct alertd_route *root, const struct fw_labels *l,
                          const struct alertd_route **out, size_t max);

#endif
