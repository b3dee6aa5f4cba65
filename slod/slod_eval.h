/*  slod_eval.h — SLO arithmetic and one evaluation of every SLO.

    For each SLO and each window W in {5m, 30m, 1h, 2h, 6h, 1d, 3d, the SLO's period}:

        error_ratio(W) = bad(W) / total(W)        (raw SLIs: the error ratio query)
        burn_rate(W)   = error_ratio(W) / (1 - objective/100)

    Windows under 1d are queried from tsdb each evaluation. Windows of 1d and more come from
    the SLO's ring of 5-minute sums (slod_ring.h), whose newest bucket ends at the last
    5-minute boundary at least a minute old, plus the span since (1 to 6 minutes: one instant
    query pair over it, minus as much of the oldest bucket, taken as even), so they end at
    t_ms; their cost does not grow with the window. Each evaluation fills the new bucket (an
    instant query pair), and up to backfill_buckets missing older ones, newest first, each run of
    missing buckets with one range query pair at a 5-minute step (a first start backfills
    the period).

    Series (names as Sloth's where Sloth has one; labels: the SLO's labels, sloth_id,
    sloth_service, sloth_slo):

        slo:sli_error:ratio_rate<W>{sloth_window="<W>"}   error_ratio(W), when total > 0
        slo:burn_rate:ratio{sloth_window="<W>"}           burn_rate(W)
        slo:current_burn_rate:ratio                       burn_rate(5m)
        slo:period_burn_rate:ratio                        burn_rate(period)
        slo:period_error_budget_remaining:ratio           1 - burn_rate(period)
        slo:period_error_budget_consumed:ratio            burn_rate(period)
        slo:objective:ratio  slo:error_budget:ratio  slo:time_period:days  sloth_slo_info

    Alerts (multiwindow, multi-burn-rate): severity S fires while, for some alert window of
    S, error_ratio(long) and error_ratio(short) both exceed burn_rate x (1 - objective/100).
    It is sent every evaluation while firing (endsAt = now + 4 x max(interval, 1m)) and, once
    it clears, sent resolved (endsAt = the time it cleared) for 15 minutes. A failed query
    of a window an alert needs leaves that alert as it was.
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

// Evaluate expr into out (cleared by the callee): at end_ms when step_ms is 0, else over
// [start_ms, end_ms] every step_ms, every point of every series (fw_query_range). 0, or -1
// with err.
typedef int (*slod_query_fn)(void *arg, const char *expr, int64_t start_ms, int64_t end_ms,
                             int64_t step_ms, struct fw_vector *out, fw_err_t *err);

// The slod_query_fn of a tsdb query client.
struct slod_query_client {
    fw_query_client_t *client; // borrowed
    int timeout_ms;
};
int slod_eval_query(void *client, const char *expr, int64_t start_ms, int64_t end_ms,
                    int64_t step_ms, struct fw_vector *out, fw_err_t *err);

// sli = good / total; false (no value) when total is 0, negative or not a number.
bool slod_eval_sli(double good, double total, double *sli);
// error_ratio / (1 - objective_pct / 100).
double slod_eval_burn_rate(double error_ratio, double objective_pct);

// One SLO's last evaluation.
struct slod_status {
    bool have[SLOD_MAX_WINDOWS]; // a value for the window
    double error_ratio[SLOD_MAX_WINDOWS];
    double burn_rate[SLOD_MAX_WINDOWS];
    size_t period_buckets; // 5-minute buckets the period's ratio covers
    bool firing[SLOD_N_SEVERITIES];
    int64_t since_ms[SLOD_N_SEVERITIES]; // when it started firing
};

struct slod_eval_result {
    struct fw_batch *batch; // owned by the caller: every series to store
    json_t *alerts;         // owned by the caller: postable alerts (may be empty)
    size_t queries_failed;
};

// An evaluator for cfg (borrowed; must outlive it). Filling at most backfill_buckets
// missing ring buckets per run (0: no limit).
slod_eval_t *slod_eval_new(const struct slod_cfg *cfg, size_t backfill_buckets);
void slod_eval_destroy(slod_eval_t **self_p);

// Keep the rings in a journal under dir (see slod_ring.h): replayed now, appended as
// buckets fill. 0, or -1 with err.
int slod_eval_open_journal(slod_eval_t *self, const char *dir, fw_err_t *err);
// Read the rings from dir's journal without writing it (slod report). Missing: nothing read.
void slod_eval_load_journal(slod_eval_t *self, const char *dir);

// Move alert state and rings of SLOs with the same id (and same queries, for rings) from
// old, and its journal (reload).
void slod_eval_take_state(slod_eval_t *self, slod_eval_t *old);

// Evaluate every SLO at t_ms. Failed queries are logged and counted (per window) in
// res->queries_failed and per SLO in failed_per_slo (may be NULL; n_slos entries). After a
// query timeout the remaining queries fail without being sent.
void slod_eval_run(slod_eval_t *self, int64_t t_ms, slod_query_fn fn, void *arg,
                   struct slod_eval_result *res, size_t *failed_per_slo);
void slod_eval_result_clear(struct slod_eval_result *res);

// SLO i's last evaluation (i < n_slos).
const struct slod_status *slod_eval_status(const slod_eval_t *self, size_t i);
// Whether SLO i's page (SLOD_PAGE) or ticket alert is firing.
bool slod_eval_firing(const slod_eval_t *self, size_t i, int severity);

#endif
