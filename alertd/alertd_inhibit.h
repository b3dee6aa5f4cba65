/*  alertd_inhibit.h — inhibit rules: a firing source alert mutes matching target alerts.

    Alertmanager's semantics (inhibit/inhibit.go): a target alert is muted when some rule's
    target matchers match it and a firing alert matching the rule's source matchers has
    the same values for every `equal` label (absent equals absent). When the target also
    matches the source matchers, only sources that do not themselves match the target
    matchers count, so an alert never inhibits itself.

    floorwatch's extension, `equal_required: true` on a rule: an alert (source or target)
    lacking any of the rule's `equal` labels takes no part in it, where Alertmanager counts
    two absent labels as equal (so a source without `line` inhibits every target without
    `line`). Alertmanager refuses a config with this key.

    Matching is O(1) per alert: alertd_inhibit_update() indexes the store's firing source
    alerts by their `equal` values, and alertd_inhibit_mutes() looks the target up. Call
    update after the store changed or time moved on (alerts resolve by the clock).
*/
#ifndef ALERTD_INHIBIT_H
#define ALERTD_INHIBIT_H

#include <stdbool.h>
#include <stdint.h>

#include "alertd_cfg.h"
#include "alertd_store.h"
#include "fw_labels.h"

typedef struct alertd_inhibit alertd_inhibit_t;

// Rules from cfg (copied; cfg may go away). Regexes were checked at load.
alertd_inhibit_t *alertd_inhibit_new(const struct alertd_cfg *cfg);
void alertd_inhibit_destroy(alertd_inhibit_t **self_p);
// Re-index the firing source alerts of store (borrowed during the call) at now.
void alertd_inhibit_update(alertd_inhibit_t *self, alertd_store_t *store, int64_t now);
// True when l is inhibited according to the last update.
bool alertd_inhibit_mutes(alertd_inhibit_t *self, const struct fw_labels *l);
// As _mutes; when inhibited and by is not NULL, *by is the fingerprint of an inhibiting
// alert (API v2 inhibitedBy): of the first rule that mutes, the lowest fingerprint among its
// sources with l's `equal` values (Alertmanager names the first it finds, in no set order).
bool alertd_inhibit_mutes_by(alertd_inhibit_t *self, const struct fw_labels *l, uint64_t *by);
size_t alertd_inhibit_rules(const alertd_inhibit_t *self);
// Alerts looked at while indexing since new (tests and profiles: the index's cost per POST).
size_t alertd_inhibit_visits(const alertd_inhibit_t *self);

#endif
