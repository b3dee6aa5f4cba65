/*  ruled_group_int.h — private to the rule group: its structs and the helpers its files
    share.

    Only ruled_group.c (evaluation, alert state, API views) and ruled_group_state.c (the
    alerts' durable records) include this header; everyone else uses ruled_group.h, where
    ruled_group_t is opaque. A group is used by one thread at a time (ruled's loop).
*/
#ifndef RULED_GROUP_INT_H
#define RULED_GROUP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_labels.h"
#include "ruled_group.h"
#include "ruled_rules.h"

struct ruled_group_alert {
    struct fw_labels labels;      // owned
    struct fw_labels annotations; // owned
    uint64_t hash;
    ruled_alert_state_t state;
    double value;
    int64_t active_at_ms;
    int64_t fired_at_ms;
    int64_t resolved_at_ms;       // 0: not resolved
    int64_t keep_firing_since_ms; // 0: not keeping
    int64_t last_sent_ms;         // 0: never sent to alertd
};

struct ruled_group_rule {
    const struct ruled_rule_cfg *cfg; // borrowed from the configuration
    char *query;                      // owned: expr as Prometheus prints it (/api/v1/rules)
    struct fw_labels labels;          // owned: group labels, then rule labels
    struct ruled_group_alert *alerts; // owned; alerting rules
    size_t n_alerts, cap_alerts;
    struct fw_labels *prev; // owned: series written at the last evaluation
    size_t n_prev, cap_prev;
    bool evaluated;
    bool restored; // `for` state restore attempted (alerting rules)
    bool healthy;
    bool sync_before; // may read what an earlier rule of the group wrote: store that first
    char last_error[256];
    int64_t last_eval_ms;
    double eval_seconds;
};

struct ruled_group {
    const struct ruled_group_cfg *cfg; // borrowed
    char *file;                        // owned
    char *key;                         // owned: "file;name"
    struct ruled_group_env env;        // pointers borrowed
    int64_t interval_ms;
    struct ruled_group_rule *rules; // owned
    size_t n_rules;
    int64_t last_eval_ms;
    double last_duration_s;
};

// Free a's labels and annotations (a itself is the caller's).
void ruled_group_int_alert_free(struct ruled_group_alert *a);
// r's alert with labels l (hash h: fw_labels_hash of l), or NULL.
struct ruled_group_alert *ruled_group_int_find_alert(struct ruled_group_rule *r,
                                                     const struct fw_labels *l, uint64_t h);

#endif
