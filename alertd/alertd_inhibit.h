/*  alertd_inhibit.h — inhibit rules: a firing source alert mutes matching target alerts.

    Alertmanager's semantics (inhibit/inhibit.go): a target alert is muted when some rule's
    target matchers match it and a firing alert matching the rule's source matchers has
    the same values for every `equal` label (absent equals absent). When the target also
    matches the source matchers, only sources that do not themselves match the target
    matchers count, so an alert never inhibits itself.

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
size_t alertd_inhibit_rules(const alertd_inhibit_t *self);

#endif
