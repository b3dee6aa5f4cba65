/*  alertd_api_order.h — the orders and the last filters Alertmanager 0.25's API v2 applies
    to its answers once collected (api/v2/api.go, dispatch.Groups), so that a client listing
    alertd and Alertmanager side by side (amtool, Grafana) sees the same arrays in the same
    order.

    Each function works on JSON built by alertd_api.c / alertd_api_silences.c in API v2
    shape and rearranges it in place; none fails (OOM aborts). Ties keep no particular order,
    as Go's sort.Slice keeps none.
*/
#ifndef ALERTD_API_ORDER_H
#define ALERTD_API_ORDER_H

#include <jansson.h>

#include "alertd_matcher.h"

// Sort gettable alerts by fingerprint (GET /api/v2/alerts).
void alertd_api_order_alerts(json_t *alerts);

// Sort gettable silences as Alertmanager's SortSilences: active ones first, soonest end
// first; then pending ones, soonest start first; then expired ones, latest end first.
void alertd_api_order_silences(json_t *silences);

// Finish GET /api/v2/alerts/groups from every group with its alerts already filtered
// (labels, active, silenced, inhibited): drop the groups whose receiver receiver (borrowed;
// an empty list keeps all; else its first matcher, a regex) does not match and the groups
// left without alerts; give each alert the sorted names of the receivers of the groups
// kept that hold it; sort each group's alerts (labels job, then instance, then the label
// sets) and the groups (by label set, then receiver name).
void alertd_api_order_groups(json_t *groups, const struct alertd_matchers *receiver);

#endif
