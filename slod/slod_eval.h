/*  slod_eval.h — SLO arithmetic and one evaluation of every SLO.

    For each SLO and each window W in {5m, 1h, 6h, the SLO window} (duplicates once):

        sli        = good(W) / total(W)       no sample when total is 0 or has no data
        burn_rate  = (1 - sli) / (1 - objective/100)

    and over the SLO window: error_budget_remaining = 1 - (1 - sli) / (1 - objective/100).
    The series written (labels slo, service, the SLO's labels, and window where it applies):

        slo:sli_ratio{window}  slo:burn_rate{window}  slo:error_budget_remaining:ratio
        slo:objective:ratio

    With alerting.page, the alert SLOBurnRateHigh (severity=page) fires while burn_rate(1h)
    and burn_rate(5m) both exceed alerting.burn_rate (14.4 by default: 2% of a 30-day budget
    in one hour, the Google SRE workbook's fast-burn page). It is sent every evaluation
    while firing (endsAt = now + 4 × max(interval, 1m)) and, once it clears, sent resolved
    (endsAt = the time it cleared) for 15 minutes. A failed query leaves the alert as it was.
    An SLI query yielding several series is summed to one value.
*/
#ifndef SLOD_EVAL_H
#define SLOD_EVAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_msg.h"
#include "fw_query.h"
#include "slod_cfg.h"

typedef struct slod_eval slod_eval_t;

// Evaluate expr at t_ms into out (cleared by the callee). 0, or -1 with err.
typedef int (*slod_query_fn)(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out,
                             fw_err_t *err);

// sli = good / total; false (no value) when total is 0, negative or not a number.
bool slod_eval_sli(double good, double total, double *sli);
// (1 - sli) / (1 - objective_pct / 100).
double slod_eval_burn_rate(double sli, double objective_pct);
// 1 - (1 - sli) / (1 - objective_pct / 100).
double slod_eval_budget_remaining(double sli, double objective_pct);

struct slod_eval_result {
    struct fw_batch *batch; // owned by the caller: every series to store
    json_t *alerts;         // owned by the caller: postable alerts (may be empty)
    size_t queries_failed;
};

// An evaluator for cfg (borrowed; must outlive it). interval_ms is for endsAt.
slod_eval_t *slod_eval_new(const struct slod_cfg *cfg);
void slod_eval_destroy(slod_eval_t **self_p);

// Move alert state of SLOs with the same name from old (reload).
void slod_eval_take_state(slod_eval_t *self, slod_eval_t *old);

// Evaluate every SLO at t_ms. Failed queries are logged and counted (per window) in
// res->queries_failed and per SLO in failed_per_slo (may be NULL; n_slos entries). After a
// query timeout the remaining windows fail without querying.
void slod_eval_run(slod_eval_t *self, int64_t t_ms, slod_query_fn fn, void *arg,
                   struct slod_eval_result *res, size_t *failed_per_slo);
void slod_eval_result_clear(struct slod_eval_result *res);

// Whether SLO i's page alert is firing.
bool slod_eval_firing(const slod_eval_t *self, size_t i);

#endif
