/*  ruled_group.h — one rule group at run time: its rules, their alert state, evaluation.

    A group is built from a validated struct ruled_group_cfg (borrowed: the configuration
    must outlive the group). ruled_group_eval() evaluates the rules in file order at one
    timestamp through a query callback (fw_query_vector in the daemon, a fake in tests) and
    returns what the daemon must send: one SAMPLES batch (recorded series, the ALERTS and
    ALERTS_FOR_STATE series, staleness markers for series that disappeared) and the list of
    alerts for alertd.

    Alert state follows Prometheus's rules/alerting.go: a new result is pending from its
    first evaluation (activeAt) and fires once it has been active for `for`; when its series
    disappears a pending alert is dropped and a firing one resolves (or keeps firing for
    keep_firing_for, or stays firing while flap damping holds it: ruled_damp.h); resolved
    alerts are remembered, and sent with endsAt = resolvedAt, for
    15 minutes. Firing alerts are sent every evaluation with startsAt = activeAt and endsAt =
    now + 4 × max(interval, 1m), so alertd expires them if ruled goes away. After a restart,
    alerts of rules with `for` >= 10m get their activeAt back from ALERTS_FOR_STATE (with
    Prometheus's 10m grace period), so a long `for` does not start over.

    Rules see each other's results through tsdb. As in Prometheus, a rule that reads what an
    earlier rule of the group wrote in the same evaluation sees this evaluation's value: at
    load, a rule with a selector whose __name__ matchers accept an earlier rule's record name
    (or ALERTS / ALERTS_FOR_STATE after an alerting rule; a selector without a __name__
    matcher counts, as does its floorwatch_clear expression) is marked, and
    ruled_group_eval_sync() hands what the group wrote so far to a sync callback, which
    returns once tsdb has stored it, before that rule's query runs. Groups without such
    rules cost nothing more: their samples go out in one batch after the group.
*/
#ifndef RULED_GROUP_H
#define RULED_GROUP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_msg.h"
#include "fw_query.h"
#include "ruled_rules.h"

typedef struct ruled_group ruled_group_t;

typedef enum { RULED_ALERT_INACTIVE, RULED_ALERT_PENDING, RULED_ALERT_FIRING } ruled_alert_state_t;

// How long a resolved alert is remembered and re-sent (Prometheus's resolvedRetention).
#define RULED_RESOLVED_RETENTION_MS (15 * 60 * 1000)
// Prometheus's default --rules.alert.resend-delay, used for endsAt.
#define RULED_RESEND_DELAY_MS (60 * 1000)

// Evaluate expr at t_ms into out (cleared by the callee). 0, or -1 with err.
typedef int (*ruled_query_fn)(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out,
                              fw_err_t *err);

// Prometheus's --rules.alert.for-grace-period and --rules.alert.for-outage-tolerance.
#define RULED_FOR_GRACE_MS (10 * 60 * 1000)
#define RULED_OUTAGE_TOLERANCE_MS (60 * 60 * 1000)

struct ruled_group_env {
    const struct fw_labels *external_labels; // borrowed; may be NULL
    const char *external_url;                // borrowed; for generatorURL and templates
    int64_t default_interval_ms;             // global.evaluation_interval
    int64_t for_grace_ms;                    // 0: RULED_FOR_GRACE_MS
    int64_t outage_tolerance_ms;             // 0: RULED_OUTAGE_TOLERANCE_MS
};

struct ruled_state_rec;

// What one evaluation produced. The caller owns both members and frees them.
struct ruled_group_result {
    struct fw_batch *batch; // every sample to store (may have no series)
    json_t *alerts;         // array of Alertmanager v2 postable alerts (may be empty)
    size_t rules_failed;
    size_t syncs; // partial batches handed to the sync callback (ruled_group_eval_sync)
};

// A group for cfg (borrowed) from rule file `file` (copied). env is copied (its pointers
// stay borrowed and must outlive the group).
ruled_group_t *ruled_group_new(const char *file, const struct ruled_group_cfg *cfg,
                               const struct ruled_group_env *env);
void ruled_group_destroy(ruled_group_t **self_p);

// "file;name", as Prometheus's rule_group label. Borrowed for the group's life.
const char *ruled_group_key(const ruled_group_t *self);
int64_t ruled_group_interval_ms(const ruled_group_t *self);
size_t ruled_group_n_rules(const ruled_group_t *self);
// Seconds the last evaluation took (0 before the first).
double ruled_group_last_duration(const ruled_group_t *self);

// Move alert state, staleness tracking and health from the rules of old that still exist
// in self (same kind, name and labels, in order) — used on reload.
void ruled_group_take_state(ruled_group_t *self, ruled_group_t *old);

// Never restore `for` state from ALERTS_FOR_STATE (rule unit tests start from nothing, as
// promtool marks its rules restored).
void ruled_group_skip_restore(ruled_group_t *self);

// The group's alerts (pending, firing, and resolved ones still retained) as records for
// ruled_state (a new array of *n_out; free with ruled_state_recs_free): key "<rule index>/
// <label hash>", value a JSON object with the rule name, labels, annotations, value, state
// and activeAt, firedAt, resolvedAt, keepFiringSince, lastSentAt (ms; 0 for none).
struct ruled_state_rec *ruled_group_state_export(const ruled_group_t *self, size_t *n_out);

// Restore alerts saved at saved_at_ms (0: never saved: nothing happens) at now_ms, at start.
// The group then never asks ALERTS_FOR_STATE. As Prometheus restores `for` state: after a
// downtime over the outage tolerance nothing is restored; a firing alert comes back firing
// with its activeAt (our addition: Prometheus re-derives it from ALERTS_FOR_STATE), and a
// resolved one comes back resolved; a pending alert of a rule whose `for` is under the
// grace period is dropped (it starts over), else with R the `for` left at saved_at_ms:
// R <= 0 keeps activeAt (fires at the next evaluation), R < grace moves activeAt so that it
// fires a grace period after now, otherwise activeAt moves by the downtime (the downtime
// does not count toward `for`). Records that no longer match a rule (by index, alerting,
// same name) or do not parse are skipped. Returns the alerts restored.
size_t ruled_group_state_import(ruled_group_t *self, const struct ruled_state_rec *recs, size_t n,
                                int64_t saved_at_ms, int64_t now_ms);

// Evaluate every rule at t_ms. A rule whose query fails (or whose result breaks the rules:
// duplicate label sets, over the group limit) is counted in res->rules_failed and logged;
// the others go on — except after a query timeout, when the group's remaining rules fail
// at once with that error, so an unreachable tsdb costs one timeout per group evaluation. res is
// filled by the callee; returns res->rules_failed.
size_t ruled_group_eval(ruled_group_t *self, int64_t t_ms, ruled_query_fn fn, void *arg,
                        struct ruled_group_result *res);
void ruled_group_result_clear(struct ruled_group_result *res);

// Store *batch_p (taken: set it to NULL, or leave it to the caller, who frees it) and return
// 0 once tsdb holds it, or -1 with err (the rule that needed it then fails with err; one that
// says "timed out" fails the rest of the group as a query timeout does).
typedef int (*ruled_sync_fn)(void *arg, struct fw_batch **batch_p, fw_err_t *err);

// ruled_group_eval, and before the query of each rule that may read an earlier rule's output
// (ruled_group_rule_syncs), the samples written so far (if any) go to sync(sync_arg) and
// leave res->batch, which then holds only the rest. sync NULL: ruled_group_eval.
size_t ruled_group_eval_sync(ruled_group_t *self, int64_t t_ms, ruled_query_fn fn, void *arg,
                             ruled_sync_fn sync, void *sync_arg, struct ruled_group_result *res);
// Whether rule i (file order) is one that ruled_group_eval_sync stores samples before.
bool ruled_group_rule_syncs(const ruled_group_t *self, size_t i);

// Add a staleness marker at t_ms to batch for every series the group wrote at its last
// evaluation, and forget them: for groups removed by a reload (as Prometheus does).
void ruled_group_mark_stale(ruled_group_t *self, int64_t t_ms, struct fw_batch *batch);

// Alerts of the group in state (pending or firing).
size_t ruled_group_count_alerts(const ruled_group_t *self, ruled_alert_state_t state);

// The group as /api/v1/rules shows it (a new reference).
json_t *ruled_group_rules_json(const ruled_group_t *self);
// Append the group's pending and firing alerts as /api/v1/alerts shows them to array.
void ruled_group_alerts_json(const ruled_group_t *self, json_t *array);

#endif
