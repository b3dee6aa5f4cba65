/*  slod_eval.c — evaluate SLOs: error ratios per window, burn rates, budget, alerts.

    Per SLO the evaluator keeps its ring of 5-minute sums (long windows), the page and
    ticket alerts' state, and the last evaluation's values (slod_status) for the API and
    `slod report`. Alert JSON is built in slod_alert.c.
*/
#include "slod_eval.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "slod_alert.h"
#include "slod_ring.h"

#define S_RESOLVED_RETENTION_MS (15 * 60 * 1000)
#define S_LONG_MS 86400000LL      // windows from this long on come from the ring
#define S_SETTLE_MS 60000LL       // a bucket is filled once its end is this old
#define S_MIN_SPAN_MS 259200000LL // rings hold at least 3d (the ticket windows)

struct s_state {
    slod_ring_t *ring; // owned
    struct slod_status st;
    struct slod_alert_state alert[SLOD_N_SEVERITIES];
};

struct slod_eval {
    const struct slod_cfg *cfg;   // borrowed
    struct s_state *state;        // owned, one per SLO
    slod_ring_t **rings;          // owned array (rings owned by state), for the journal
    slod_ring_journal_t *journal; // owned; NULL without --storage.path
    size_t backfill;
};

bool
slod_eval_sli(double good, double total, double *sli)
{
    if (!(total > 0) || isnan(good) || isinf(total))
        return false;
    *sli = good / total;
    return true;
}

double
slod_eval_burn_rate(double error_ratio, double objective_pct)
{
    return error_ratio / (1.0 - objective_pct / 100.0);
}

// The ring's key: the SLO id and a hash of what its buckets measure.
static char *
s_ring_key(const struct slod_slo_cfg *s)
{
    char *what =
        fw_asprintf("%s\n%s\n%s", s->id, s->sli.q_bad, s->sli.q_total ? s->sli.q_total : "");
    uint64_t h = fw_hash64(what, strlen(what));
    free(what);
    return fw_asprintf("%016" PRIx64, h);
}

slod_eval_t *
slod_eval_new(const struct slod_cfg *cfg, size_t backfill_buckets)
{
    slod_eval_t *self = fw_calloc(1, sizeof(*self));
    self->cfg = cfg;
    self->backfill = backfill_buckets;
    size_t n = cfg->n_slos ? cfg->n_slos : 1;
    self->state = fw_calloc(n, sizeof(*self->state));
    self->rings = fw_calloc(n, sizeof(*self->rings));
    for (size_t i = 0; i < cfg->n_slos; i++) {
        const struct slod_slo_cfg *s = &cfg->slos[i];
        char *key = s_ring_key(s);
        int64_t span = s->window_ms > S_MIN_SPAN_MS ? s->window_ms : S_MIN_SPAN_MS;
        self->rings[i] = self->state[i].ring = slod_ring_new(key, span);
        free(key);
    }
    return self;
}

void
slod_eval_destroy(slod_eval_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    slod_eval_t *self = *self_p;
    if (self->journal)
        (void)slod_ring_journal_flush(self->journal);
    slod_ring_journal_close(&self->journal);
    for (size_t i = 0; i < self->cfg->n_slos; i++)
        slod_ring_destroy(&self->state[i].ring);
    free(self->rings);
    free(self->state);
    free(self);
    *self_p = NULL;
}

int
slod_eval_open_journal(slod_eval_t *self, const char *dir, fw_err_t *err)
{
    self->journal = slod_ring_journal_open(dir, self->rings, self->cfg->n_slos, err);
    return self->journal ? 0 : -1;
}

void
slod_eval_load_journal(slod_eval_t *self, const char *dir)
{
    slod_ring_journal_load(dir, self->rings, self->cfg->n_slos);
}

void
slod_eval_take_state(slod_eval_t *self, slod_eval_t *old)
{
    if (!old)
        return;
    for (size_t i = 0; i < self->cfg->n_slos; i++)
        for (size_t j = 0; j < old->cfg->n_slos; j++) {
            if (strcmp(self->cfg->slos[i].id, old->cfg->slos[j].id) != 0)
                continue;
            memcpy(self->state[i].alert, old->state[j].alert, sizeof(self->state[i].alert));
            struct s_state *o = &old->state[j];
            if (o->ring &&
                strcmp(slod_ring_key(o->ring), slod_ring_key(self->state[i].ring)) == 0 &&
                slod_ring_capacity(o->ring) == slod_ring_capacity(self->state[i].ring)) {
                slod_ring_destroy(&self->state[i].ring);
                self->rings[i] = self->state[i].ring = o->ring;
                o->ring = NULL;
                old->rings[j] = NULL;
            }
        }
    if (old->journal) {
        self->journal = old->journal;
        old->journal = NULL;
        (void)slod_ring_journal_rebind(self->journal, self->rings, self->cfg->n_slos);
    }
}

const struct slod_status *
slod_eval_status(const slod_eval_t *self, size_t i)
{
    return &self->state[i].st;
}

bool
slod_eval_firing(const slod_eval_t *self, size_t i, int severity)
{
    return i < self->cfg->n_slos && self->state[i].alert[severity].firing_since_ms != 0;
}

// =================================================================================
//  Queries
// =================================================================================

struct s_ctx {
    slod_query_fn fn;
    void *arg;
    bool timed_out;
    size_t failed;
};

// Sum of the vector's values; false when it is empty.
static bool
s_sum(const struct fw_vector *v, double *out)
{
    if (v->len == 0)
        return false;
    double sum = 0;
    for (size_t i = 0; i < v->len; i++)
        sum += v->items[i].v;
    *out = sum;
    return true;
}

int
slod_eval_query(void *client, const char *expr, int64_t start_ms, int64_t end_ms, int64_t step_ms,
                struct fw_vector *out, fw_err_t *err)
{
    const struct slod_query_client *c = client;
    if (step_ms == 0)
        return fw_query_vector(c->client, expr, end_ms, c->timeout_ms, out, err);
    return fw_query_range(c->client, expr, start_ms, end_ms, step_ms, c->timeout_ms, out, err);
}

// Ask for q over window into vec: at end_ms, or with step_ms over [start_ms, end_ms]. 0 or
// -1 (logged, counted). Once a query has timed out, the others of this evaluation fail
// without asking, so an unreachable tsdb costs one timeout per evaluation.
static int
s_ask(struct s_ctx *c, const struct slod_slo_cfg *s, const char *q, const char *window,
      int64_t start_ms, int64_t end_ms, int64_t step_ms, struct fw_vector *vec)
{
    if (c->timed_out) {
        c->failed++;
        return -1;
    }
    char *expr = slod_cfg_expand(q, window);
    fw_err_t err = {0};
    int rc = c->fn(c->arg, expr, start_ms, end_ms, step_ms, vec, &err);
    if (rc < 0) {
        c->timed_out = strstr(err.msg, "timed out") != NULL;
        c->failed++;
        fw_warn("slo.query.fail", "slo=%s window=%s query=%s err=%s", s->id, window, expr, err.msg);
    }
    free(expr);
    return rc;
}

// One query of q over window at t_ms. 1: *v set; 0: no data; -1: failed.
static int
s_query(struct s_ctx *c, const struct slod_slo_cfg *s, const char *q, const char *window,
        int64_t t_ms, double *v)
{
    struct fw_vector vec = {0};
    int rc = s_ask(c, s, q, window, t_ms, t_ms, 0, &vec);
    if (rc == 0)
        rc = s_sum(&vec, v) ? 1 : 0;
    fw_vector_clear(&vec);
    return rc;
}

// Bad and total over window at t_ms (raw SLIs: the ratio, total 1). 1, 0 (no data), -1.
static int
s_bad_total(struct s_ctx *c, const struct slod_slo_cfg *s, const char *window, int64_t t_ms,
            double *bad, double *total)
{
    int rc = s_query(c, s, s->sli.q_bad, window, t_ms, bad);
    if (rc <= 0)
        return rc;
    if (s->sli.kind == SLOD_SLI_RAW) {
        *total = 1;
        return isnan(*bad) ? 0 : 1;
    }
    return s_query(c, s, s->sli.q_total, window, t_ms, total);
}

#define S_MAX_RUN 10000 // buckets per range query (tsdb's 11,000 points per series)

// Add each point of vec (a matrix over n steps from lo) to sums[(t - lo) / step].
static void
s_add_points(const struct fw_vector *vec, int64_t lo, size_t n, double *sums, bool *seen)
{
    for (size_t i = 0; i < vec->len; i++) {
        int64_t d = vec->items[i].t_ms - lo;
        if (d < 0 || d % SLOD_RING_STEP_MS != 0 || (size_t)(d / SLOD_RING_STEP_MS) >= n)
            continue;
        size_t k = (size_t)(d / SLOD_RING_STEP_MS);
        sums[k] += vec->items[i].v;
        seen[k] = true;
    }
}

// Fill the n buckets ending lo, lo + 5m, ... with one range query pair. 0 or -1.
static int
s_fill_run(slod_eval_t *self, size_t i, struct s_ctx *c, int64_t lo, size_t n)
{
    const struct slod_slo_cfg *s = &self->cfg->slos[i];
    slod_ring_t *ring = self->state[i].ring;
    bool raw = s->sli.kind == SLOD_SLI_RAW;
    int64_t hi = lo + (int64_t)(n - 1) * SLOD_RING_STEP_MS;
    double *bad = fw_calloc(n, sizeof(double)), *total = fw_calloc(n, sizeof(double));
    bool *seen_bad = fw_calloc(n, sizeof(bool)), *seen_total = fw_calloc(n, sizeof(bool));
    struct fw_vector vec = {0};
    int rc = s_ask(c, s, s->sli.q_bad, "5m", lo, hi, SLOD_RING_STEP_MS, &vec);
    if (rc == 0)
        s_add_points(&vec, lo, n, bad, seen_bad);
    if (rc == 0 && !raw) {
        rc = s_ask(c, s, s->sli.q_total, "5m", lo, hi, SLOD_RING_STEP_MS, &vec);
        if (rc == 0)
            s_add_points(&vec, lo, n, total, seen_total);
    }
    for (size_t k = 0; rc == 0 && k < n; k++) {
        double b = bad[k], t = raw ? 1.0 : total[k];
        if (!seen_bad[k] || (!raw && !seen_total[k]) || !(t > 0) || isnan(b))
            b = t = 0;
        int64_t end = lo + (int64_t)k * SLOD_RING_STEP_MS;
        slod_ring_put(ring, end, b, t);
        slod_ring_journal_add(self->journal, ring, end, b, t);
    }
    fw_vector_clear(&vec);
    free(bad);
    free(total);
    free(seen_bad);
    free(seen_total);
    return rc;
}

// Fill the newest settled bucket (one instant query pair) and up to *budget missing older
// ones, newest first, each run of missing buckets with one range query pair. Returns the
// newest settled bucket's end.
static int64_t
s_fill_ring(slod_eval_t *self, size_t i, struct s_ctx *c, int64_t t_ms, size_t *budget)
{
    const struct slod_slo_cfg *s = &self->cfg->slos[i];
    slod_ring_t *ring = self->state[i].ring;
    int64_t newest = (t_ms - S_SETTLE_MS) / SLOD_RING_STEP_MS * SLOD_RING_STEP_MS;
    if (newest <= 0)
        return newest;
    if (!slod_ring_has(ring, newest)) {
        double bad = 0, total = 0;
        int rc = s_bad_total(c, s, "5m", newest, &bad, &total);
        if (rc < 0)
            return newest; // tried again next evaluation
        if (rc == 0 || !(total > 0) || isnan(bad))
            bad = total = 0;
        slod_ring_put(ring, newest, bad, total);
        slod_ring_journal_add(self->journal, ring, newest, bad, total);
    }
    size_t cap = slod_ring_capacity(ring);
    for (size_t k = 1; k < cap && (!self->backfill || *budget > 0);) {
        int64_t end = newest - (int64_t)k * SLOD_RING_STEP_MS;
        if (end <= 0)
            break;
        if (slod_ring_has(ring, end)) {
            k++;
            continue;
        }
        // The run of missing buckets from end downwards, within the ring and the budget.
        size_t n = 1;
        while (k + n < cap && n < S_MAX_RUN && (!self->backfill || n < *budget) &&
               end - (int64_t)n * SLOD_RING_STEP_MS > 0 &&
               !slod_ring_has(ring, end - (int64_t)n * SLOD_RING_STEP_MS))
            n++;
        if (s_fill_run(self, i, c, end - (int64_t)(n - 1) * SLOD_RING_STEP_MS, n) < 0)
            break;
        if (self->backfill)
            *budget -= n;
        k += n;
    }
    return newest;
}

// =================================================================================
//  Series
// =================================================================================

static void
s_labels(const struct slod_slo_cfg *s, const char *metric, const char *window, struct fw_labels *l)
{
    fw_labels_clear(l);
    fw_labels_copy(l, &s->labels);
    fw_labels_set(l, "__name__", metric);
    fw_labels_set(l, "sloth_id", s->id);
    fw_labels_set(l, "sloth_service", s->service);
    fw_labels_set(l, "sloth_slo", s->name);
    if (window)
        fw_labels_set(l, "sloth_window", window);
}

static void
s_push(struct fw_batch *batch, const struct slod_slo_cfg *s, const char *metric, const char *window,
       int64_t t_ms, double v, struct fw_labels *l)
{
    s_labels(s, metric, window, l);
    fw_series_add(fw_batch_add_series(batch, l), t_ms, v);
}

static void
s_push_series(const struct slod_slo_cfg *s, const struct slod_status *st, int64_t t_ms,
              struct fw_batch *b)
{
    struct fw_labels l = FW_LABELS_INIT;
    char metric[96];
    for (size_t w = 0; w < s->n_windows; w++) {
        if (!st->have[w])
            continue;
        snprintf(metric, sizeof(metric), "slo:sli_error:ratio_rate%s", s->window_names[w]);
        s_push(b, s, metric, s->window_names[w], t_ms, st->error_ratio[w], &l);
        s_push(b, s, "slo:burn_rate:ratio", s->window_names[w], t_ms, st->burn_rate[w], &l);
    }
    if (st->have[0])
        s_push(b, s, "slo:current_burn_rate:ratio", NULL, t_ms, st->burn_rate[0], &l);
    if (st->have[s->period_i]) {
        double burn = st->burn_rate[s->period_i];
        s_push(b, s, "slo:period_burn_rate:ratio", NULL, t_ms, burn, &l);
        s_push(b, s, "slo:period_error_budget_remaining:ratio", NULL, t_ms, 1 - burn, &l);
        s_push(b, s, "slo:period_error_budget_consumed:ratio", NULL, t_ms, burn, &l);
    }
    s_push(b, s, "slo:objective:ratio", NULL, t_ms, s->objective / 100.0, &l);
    s_push(b, s, "slo:error_budget:ratio", NULL, t_ms, slod_cfg_budget(s), &l);
    s_push(b, s, "slo:time_period:days", NULL, t_ms, (double)s->window_ms / 86400000.0, &l);
    s_labels(s, "sloth_slo_info", NULL, &l);
    char obj[32];
    snprintf(obj, sizeof(obj), "%g", s->objective);
    fw_labels_set(&l, "sloth_objective", obj);
    fw_labels_set(&l, "sloth_mode", "slod");
    fw_labels_set(&l, "sloth_spec", "prometheus/v1");
    fw_series_add(fw_batch_add_series(b, &l), t_ms, 1);
    fw_labels_clear(&l);
}

// =================================================================================
//  Evaluation
// =================================================================================

// The part of a long window newer than the ring's newest bucket (60 s to 6 min): its bad and
// total rates from one instant query pair over exactly that span, weighed as a fraction of
// a bucket.
struct s_tail {
    bool have;
    double frac; // span / 5 minutes
    double bad, total;
};

static void
s_tail_ask(struct s_ctx *c, const struct slod_slo_cfg *s, int64_t newest, int64_t t_ms,
           struct s_tail *tail)
{
    memset(tail, 0, sizeof(*tail));
    int64_t span = t_ms - newest;
    if (newest <= 0 || span <= 0 || span > 2 * SLOD_RING_STEP_MS || s->window_ms < S_LONG_MS)
        return;
    char dur[32];
    fw_duration_format(span, dur, sizeof(dur));
    int rc = s_bad_total(c, s, dur, t_ms, &tail->bad, &tail->total);
    if (rc < 0)
        return; // the windows end at the newest bucket, as without a tail
    if (rc == 0 || !(tail->total > 0) || isnan(tail->bad))
        tail->bad = tail->total = 0;
    tail->have = true;
    tail->frac = (double)span / (double)SLOD_RING_STEP_MS;
}

// Move the window's sums (over buckets ending in (newest - window, newest]) to end at t_ms:
// add the tail, and drop as much of the oldest bucket (taken as even within it).
static void
s_tail_apply(const struct s_tail *tail, const slod_ring_t *ring, int64_t newest, int64_t window_ms,
             double *bad, double *total)
{
    if (!tail->have)
        return;
    double ob = 0, ot = 0;
    (void)slod_ring_get(ring, newest - window_ms + SLOD_RING_STEP_MS, &ob, &ot);
    *bad += tail->frac * (tail->bad - ob);
    *total += tail->frac * (tail->total - ot);
}

// Whether severity sev's condition holds: 1, 0, or -1 when a window it needs is unknown
// because its query failed (failed[w]).
static int
s_condition(const struct slod_slo_cfg *s, const struct slod_status *st, const bool *failed, int sev,
            size_t *which)
{
    int rc = 0;
    double budget = slod_cfg_budget(s);
    for (size_t k = 0; k < s->alerting.n_windows; k++) {
        const struct slod_window_cfg *aw = &s->alerting.windows[k];
        if (aw->severity != sev)
            continue;
        if (failed[aw->long_i] || failed[aw->short_i]) {
            rc = rc == 1 ? 1 : -1;
            continue;
        }
        double limit = aw->burn_rate * budget;
        if (st->have[aw->long_i] && st->have[aw->short_i] && st->error_ratio[aw->long_i] > limit &&
            st->error_ratio[aw->short_i] > limit) {
            *which = k;
            return 1;
        }
    }
    return rc;
}

void
slod_eval_run(slod_eval_t *self, int64_t t_ms, slod_query_fn fn, void *arg,
              struct slod_eval_result *res, size_t *failed_per_slo)
{
    memset(res, 0, sizeof(*res));
    res->batch = fw_batch_new();
    res->alerts = json_array();
    struct s_ctx c = {.fn = fn, .arg = arg};
    size_t budget = self->backfill;
    for (size_t i = 0; i < self->cfg->n_slos; i++) {
        const struct slod_slo_cfg *s = &self->cfg->slos[i];
        struct s_state *state = &self->state[i];
        struct slod_status *st = &state->st;
        size_t failed_before = c.failed;
        bool failed[SLOD_MAX_WINDOWS] = {false};
        memset(st->have, 0, sizeof(st->have));
        int64_t newest = s_fill_ring(self, i, &c, t_ms, &budget);
        struct s_tail tail;
        s_tail_ask(&c, s, newest, t_ms, &tail);
        for (size_t w = 0; w < s->n_windows; w++) {
            double bad = 0, total = 0;
            int rc = 1;
            if (s->window_ms_list[w] >= S_LONG_MS) {
                size_t n = 0;
                slod_ring_sum(state->ring, newest, s->window_ms_list[w], &bad, &total, &n);
                s_tail_apply(&tail, state->ring, newest, s->window_ms_list[w], &bad, &total);
                if (w == s->period_i)
                    st->period_buckets = n;
            } else {
                rc = s_bad_total(&c, s, s->window_names[w], t_ms, &bad, &total);
                failed[w] = rc < 0;
            }
            if (rc <= 0 || !(total > 0) || isnan(bad))
                continue;
            st->have[w] = true;
            st->error_ratio[w] = bad / total;
            st->burn_rate[w] = slod_eval_burn_rate(st->error_ratio[w], s->objective);
        }
        s_push_series(s, st, t_ms, res->batch);
        for (int sev = 0; sev < SLOD_N_SEVERITIES; sev++) {
            const struct slod_alert_cfg *ac =
                sev == SLOD_PAGE ? &s->alerting.page_alert : &s->alerting.ticket_alert;
            size_t which = 0;
            int cond = ac->disable ? 0 : s_condition(s, st, failed, sev, &which);
            struct slod_alert_state *as = &state->alert[sev];
            if (cond >= 0)
                slod_alert_step(as, s, sev, cond == 1, which, st, t_ms);
            if (as->resolved_at_ms != 0 && t_ms - as->resolved_at_ms > S_RESOLVED_RETENTION_MS)
                as->resolved_at_ms = 0;
            st->firing[sev] = as->firing_since_ms != 0;
            st->since_ms[sev] = as->firing_since_ms;
            slod_alert_json(as, self->cfg, s, sev, t_ms, res->alerts);
        }
        size_t failed_now = c.failed - failed_before;
        res->queries_failed += failed_now;
        if (failed_per_slo)
            failed_per_slo[i] = failed_now;
    }
    (void)slod_ring_journal_flush(self->journal);
}

void
slod_eval_result_clear(struct slod_eval_result *res)
{
    fw_batch_destroy(&res->batch);
    if (res->alerts)
        json_decref(res->alerts);
    res->alerts = NULL;
}
