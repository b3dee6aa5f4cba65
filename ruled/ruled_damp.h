/*  ruled_damp.h — flap damping for alerting rules (floorwatch's extension).

    Prometheus resolves a firing alert at the first evaluation whose expression no longer
    returns it, so a value that hovers around its threshold fires and resolves over and
    over. A rule may damp that with two reserved annotations (ruled_rules.h): a clear
    condition (hysteresis: `floorwatch_clear`, a PromQL expression that must return the
    alert before it resolves) and a minimum hold time (`floorwatch_hold`: a firing alert
    stays firing at least that long). ruled_group asks these predicates about every firing
    alert its expression no longer returns; a damped alert stays firing (same labels,
    activeAt, value and annotations as at its last return) and is sent as firing.
*/
#ifndef RULED_DAMP_H
#define RULED_DAMP_H

#include <stdbool.h>
#include <stdint.h>

#include "fw_labels.h"
#include "fw_query.h"
#include "ruled_rules.h"

// True when the rule damps at all (a clear expression or a hold time).
bool ruled_damp_enabled(const struct ruled_rule_cfg *c);

// True when clear (the clear expression's answer at this evaluation; borrowed) holds a
// sample whose labels, __name__ aside, all appear with the same values in alert_labels.
bool ruled_damp_cleared(const struct fw_vector *clear, const struct fw_labels *alert_labels);

// True when a firing alert (labels, fired at fired_at_ms) that the expression of rule c no
// longer returns stays firing at ts: within c->hold_ms of firing, or, when c has a clear
// expression, until that clears it. clear is the clear expression's answer at ts, or NULL
// when it could not be asked (the query failed): then the alert stays firing.
bool ruled_damp_holds(const struct ruled_rule_cfg *c, const struct fw_labels *labels,
                      int64_t fired_at_ms, int64_t ts, const struct fw_vector *clear);

#endif
