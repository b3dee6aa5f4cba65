/*  ruled_test_plan.h — `ruled test` answers most rule queries ahead with range queries.

    promtool evaluates every rule of the files at every step of a test group, in order, each
    seeing what earlier rules wrote at that step. Asked one by one over ZeroMQ that is two
    round trips (query, store) per rule per step. Most rules read only input series, or
    records of rules before them: for those, one range query over the test's whole span
    gives the same vector at every step as the instant queries would (a range query is an
    instant query at each step), provided the expression has no @ modifier, negative offset
    or duration expression (ruled_deps_matrix) — which could see the future or the query's
    own range.

    The plan: a rule is answered ahead when it is safe so and every rule it may read comes
    before it and is answered ahead; a rule evaluated step by step never reads a later rule
    that is answered ahead (it would see that rule's value of this step, not the previous
    one's). Stage s holds the rules whose reads are all in stages below s. ruled_test_plan_run
    then, stage by stage, range-queries each rule of the stage and evaluates a fresh copy of
    its group at every step from those answers, storing what it writes, so the next stage's
    range queries see it. The test's own groups are then evaluated step by step as before
    (alert state, rule errors, alert_rule_test checks at their times), the planned rules from
    the stored answers with nothing stored twice, the others by instant queries. When any
    rule is unsafe, or the span has more than RULED_TEST_PLAN_MAX_STEPS steps, nothing is
    planned; when a range query fails, the caller starts the group over without a plan (the
    instant queries then give promtool's error at its step).
*/
#ifndef RULED_TEST_PLAN_H
#define RULED_TEST_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_query.h"
#include "ruled_group.h"
#include "ruled_rules.h"
#include "ruled_test_tsdb.h"

#define RULED_TEST_PLAN_MAX_STEPS 10000 // tsdb answers range queries of up to 11,000 points

typedef struct ruled_test_plan ruled_test_plan_t;

// A plan for rules[0..n) (borrowed; one group each, in evaluation order) evaluated every
// step_ms from 0 to maxt_ms. Never NULL.
ruled_test_plan_t *ruled_test_plan_new(const struct ruled_rule_cfg *const *rules, size_t n,
                                       int64_t step_ms, int64_t maxt_ms);
void ruled_test_plan_destroy(ruled_test_plan_t **self_p);
// Whether rule i is answered ahead.
bool ruled_test_plan_ahead(const ruled_test_plan_t *self, size_t i);
// Whether any rule is.
bool ruled_test_plan_active(const ruled_test_plan_t *self);

// Make a fresh group for rule i (the caller's; destroyed by the plan).
typedef ruled_group_t *(*ruled_test_plan_group_fn)(void *arg, size_t i);

// Answer the planned rules ahead against db (inputs already stored up to maxt_ms), storing
// what they write. 0, or -1 with err.
int ruled_test_plan_run(ruled_test_plan_t *self, ruled_test_tsdb_t *db,
                        ruled_test_plan_group_fn make, void *make_arg, fw_err_t *err);

// ruled_query_fn for the step-by-step pass: rule `rule`'s queries from the answers when it
// is planned, else asked of db.
struct ruled_test_plan_query {
    ruled_test_plan_t *plan;
    ruled_test_tsdb_t *db;
    size_t rule;
};
int ruled_test_plan_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out,
                          fw_err_t *err);

#endif
