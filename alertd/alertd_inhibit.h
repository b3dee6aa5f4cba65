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
    alerts by their `equal` values with their endsAt, alertd_inhibit_note() moves one stored
    alert's entry (so a POST does not rebuild), and alertd_inhibit_mutes() looks the target
    up at a time: a source whose endsAt passed stops inhibiting without an update. Call
    update after alerts left the store (GC) and note after each alert stored.
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
// Index a (borrowed during the call), just stored or with new times, as of now: its entry's
// endsAt moves, or it is added when it fires. One look per rule, the store is not walked.
void alertd_inhibit_note(alertd_inhibit_t *self, const struct alertd_alert *a, int64_t now);
// True when l is inhibited at now by the sources indexed (resolved ones do not count).
bool alertd_inhibit_mutes(alertd_inhibit_t *self, const struct fw_labels *l, int64_t now);
// As _mutes; when inhibited and by is not NULL, *by is the fingerprint of an inhibiting
// alert (API v2 inhibitedBy): of the first rule that mutes, the lowest fingerprint among its
// sources with l's `equal` values (Alertmanager names the first it finds, in no set order).
bool alertd_inhibit_mutes_by(alertd_inhibit_t *self, const struct fw_labels *l, int64_t now,
                             uint64_t *by);
size_t alertd_inhibit_rules(const alertd_inhibit_t *self);
// Alerts looked at while indexing since new (tests and profiles: the index's cost per POST).
size_t alertd_inhibit_visits(const alertd_inhibit_t *self);

#endif
