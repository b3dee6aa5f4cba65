/*  ruled_deps.h — rules of a group that read what an earlier rule of the group writes.

    Prometheus evaluates a group's rules in order against its storage, so a rule that reads
    an earlier rule's record sees this evaluation's value. ruled stores through tsdb, so it
    must have those samples stored first (ruled_group_eval_sync); to keep that cheap it is
    decided once, at load, which rules need it: a rule does when a selector of its expr (or
    of its floorwatch_clear annotation) may select a series an earlier rule writes, that is
    when every __name__ matcher of the selector accepts an earlier rule's record name, or
    ALERTS or ALERTS_FOR_STATE after an alerting rule. A selector without a __name__
    matcher (`{job="x"}`) may select anything, and so does an expression that does not parse.
    Other label matchers are not looked at: a rule may be marked without needing it, never
    the other way round.
*/
#ifndef RULED_DEPS_H
#define RULED_DEPS_H

#include <stdbool.h>

#include "ruled_rules.h"

// reads[i] (cfg->n_rules entries, filled by the callee): whether rule i may read what one of
// rules 0..i-1 writes.
void ruled_deps_plan(const struct ruled_group_cfg *cfg, bool *reads);

// For rules[0..n) (each borrowed): reads[i * n + j], whether rule i may read what rule j
// writes (the test above, j's record or ALERTS and ALERTS_FOR_STATE), and unsafe[i], whether
// rule i's value at a time may not be what a range query gives at that step: its expr or
// clear expr does not parse or has an @ modifier, a negative offset or a duration
// expression (ruled test answers the other rules' queries ahead with range queries).
void ruled_deps_matrix(const struct ruled_rule_cfg *const *rules, size_t n, bool *reads,
                       bool *unsafe);

#endif
