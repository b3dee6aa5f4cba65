/*  slod_eval.c — evaluate SLOs: SLIs per window, burn rates, error budget, page alert.

    Per SLO the evaluator keeps only the page alert's state (firing since, resolved at).
    Everything else is recomputed from tsdb each evaluation, so a restart loses nothing but
    the alert's start time.
*/
#include "slod_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"

#define S_RESOLVED_RETENTION_MS (15 * 60 * 1000)
#define S_RESEND_DELAY_MS (60 * 1000)

struct s_state {
    int64_t firing_since_ms; // 0: not firing
    int64_t resolved_at_ms;  // 0: nothing to report
    int64_t resolved_start_ms;
    double burn_1h;
};

struct slod_eval {
    const struct slod_cfg *cfg; // borrowed
    struct s_state *state;      // owned, one per SLO
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
slod_eval_burn_rate(double sli, double objective_pct)
{
    return (1.0 - sli) / (1.0 - objective_pct / 100.0);
}

double
slod_eval_budget_remaining(double sli, double objective_pct)
{
    return 1.0 - slod_eval_burn_rate(sli, objective_pct);
}

slod_eval_t *
slod_eval_new(const struct slod_cfg *cfg)
{
    slod_eval_t *self = fw_calloc(1, sizeof(*self));
    self->cfg = cfg;
    self->state = fw_calloc(cfg->n_slos ? cfg->n_slos : 1, sizeof(*self->state));
    return self;
}

void
slod_eval_destroy(slod_eval_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->state);
    free(*self_p);
    *self_p = NULL;
}

void
slod_eval_take_state(slod_eval_t *self, slod_eval_t *old)
{
    if (!old)
        return;
    for (size_t i = 0; i < self->cfg->n_slos; i++)
        for (size_t j = 0; j < old->cfg->n_slos; j++)
            if (strcmp(self->cfg->slos[i].name, old->cfg->slos[j].name) == 0)
                self->state[i] = old->state[j];
}

bool
slod_eval_firing(const slod_eval_t *self, size_t i)
{
    return i < self->cfg->n_slos && self->state[i].firing_since_ms != 0;
}

static void
s_base_labels(const struct slod_slo_cfg *s, const char *metric, struct fw_labels *l)
{
    fw_labels_clear(l);
    fw_labels_copy(l, &s->labels);
    fw_labels_set(l, "__name__", metric);
    fw_labels_set(l, "slo", s->name);
    fw_labels_set(l, "service", s->service);
}

static void
s_push(struct fw_batch *batch, const struct fw_labels *l, int64_t t_ms, double v)
{
    struct fw_series *series = fw_batch_add_series(batch, l);
    fw_series_add(series, t_ms, v);
}

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

// Query one window's good and total. 1: sli set; 0: no data; -1: a query failed. Once a
// query has timed out (*timed_out), the others of this evaluation fail without asking, so an
// unreachable tsdb costs one timeout per evaluation, not eight per SLO.
static int
s_window_sli(const struct slod_slo_cfg *s, const char *window, int64_t t_ms, slod_query_fn fn,
             void *arg, double *sli, bool *timed_out)
{
    if (*timed_out)
        return -1;
    const char *queries[2] = {s->sli.good, s->sli.total};
    double vals[2] = {0, 0};
    bool have[2] = {false, false};
    struct fw_vector vec = {0};
    for (size_t i = 0; i < 2; i++) {
        char *q = slod_cfg_expand(queries[i], window);
        fw_err_t err = {0};
        int rc = fn(arg, q, t_ms, &vec, &err);
        if (rc < 0) {
            *timed_out = strstr(err.msg, "timed out") != NULL;
            fw_warn("slo.query.fail", "slo=%s window=%s query=%s err=%s", s->name, window, q,
                    err.msg);
            free(q);
            fw_vector_clear(&vec);
            return -1;
        }
        free(q);
        have[i] = s_sum(&vec, &vals[i]);
        fw_vector_clear(&vec);
    }
    if (!have[0] || !have[1])
        return 0;
    return slod_eval_sli(vals[0], vals[1], sli) ? 1 : 0;
}

static json_t *
s_time_json(int64_t ms)
{
    char buf[40];
    return json_string(fw_time_rfc3339(ms, buf, sizeof(buf)));
}

static void
s_alert(const struct slod_eval *self, size_t i, int64_t t_ms, json_t *alerts)
{
    const struct slod_slo_cfg *s = &self->cfg->slos[i];
    const struct s_state *st = &self->state[i];
    bool firing = st->firing_since_ms != 0;
    if (!firing && st->resolved_at_ms == 0)
        return;
    int64_t delta = self->cfg->evaluation_interval_ms > S_RESEND_DELAY_MS
                        ? self->cfg->evaluation_interval_ms
                        : S_RESEND_DELAY_MS;
    // jansson: every json_object_set_new below steals the new value.
    json_t *labels = json_object();
    for (size_t j = 0; j < s->labels.len; j++)
        json_object_set_new(labels, s->labels.items[j].name, json_string(s->labels.items[j].value));
    json_object_set_new(labels, "alertname", json_string("SLOBurnRateHigh"));
    json_object_set_new(labels, "slo", json_string(s->name));
    if (s->service[0])
        json_object_set_new(labels, "service", json_string(s->service));
    json_object_set_new(labels, "severity", json_string("page"));
    char summary[512], desc[512];
    snprintf(summary, sizeof(summary), "SLO %s is burning its error budget too fast", s->name);
    snprintf(desc, sizeof(desc),
             "Burn rate over 1h is %.4g (and over 5m too), above %.4g; at "
             "this rate the %s error budget of SLO %s (objective %g%%) will be exhausted early.",
             st->burn_1h, s->alerting.burn_rate, s->window, s->name, s->objective);
    json_t *ann = json_object();
    json_object_set_new(ann, "summary", json_string(summary));
    json_object_set_new(ann, "description", json_string(desc));
    json_t *a = json_object();
    json_object_set_new(a, "labels", labels);
    json_object_set_new(a, "annotations", ann);
    json_object_set_new(a, "startsAt",
                        s_time_json(firing ? st->firing_since_ms : st->resolved_start_ms));
    json_object_set_new(a, "endsAt", s_time_json(firing ? t_ms + 4 * delta : st->resolved_at_ms));
    json_array_append_new(alerts, a); // steals a
}

void
slod_eval_run(slod_eval_t *self, int64_t t_ms, slod_query_fn fn, void *arg,
              struct slod_eval_result *res, size_t *failed_per_slo)
{
    memset(res, 0, sizeof(*res));
    res->batch = fw_batch_new();
    res->alerts = json_array();
    struct fw_labels l = FW_LABELS_INIT;
    bool timed_out = false;
    for (size_t i = 0; i < self->cfg->n_slos; i++) {
        const struct slod_slo_cfg *s = &self->cfg->slos[i];
        struct s_state *st = &self->state[i];
        const char *windows[4] = {"5m", "1h", "6h", s->window};
        const int64_t window_ms[4] = {300000, 3600000, 21600000, s->window_ms};
        double burn[4] = {0};
        int got[4] = {0};
        size_t failed = 0;
        for (size_t w = 0; w < 4; w++) {
            bool dup = false;
            for (size_t k = 0; k < w; k++)
                dup |= window_ms[k] == window_ms[w];
            if (dup) {
                for (size_t k = 0; k < w; k++)
                    if (window_ms[k] == window_ms[w])
                        got[w] = got[k], burn[w] = burn[k];
                continue;
            }
            double sli = 0;
            got[w] = s_window_sli(s, windows[w], t_ms, fn, arg, &sli, &timed_out);
            if (got[w] < 0) {
                failed++;
                continue;
            }
            if (got[w] == 0)
                continue;
            burn[w] = slod_eval_burn_rate(sli, s->objective);
            s_base_labels(s, "slo:sli_ratio", &l);
            fw_labels_set(&l, "window", windows[w]);
            s_push(res->batch, &l, t_ms, sli);
            s_base_labels(s, "slo:burn_rate", &l);
            fw_labels_set(&l, "window", windows[w]);
            s_push(res->batch, &l, t_ms, burn[w]);
            if (w == 3 || window_ms[w] == s->window_ms) {
                s_base_labels(s, "slo:error_budget_remaining:ratio", &l);
                s_push(res->batch, &l, t_ms, slod_eval_budget_remaining(sli, s->objective));
            }
        }
        s_base_labels(s, "slo:objective:ratio", &l);
        s_push(res->batch, &l, t_ms, s->objective / 100.0);

        // Page alert: both the 1h and the 5m burn rates above the threshold.
        if (s->alerting.page && got[0] >= 0 && got[1] >= 0) {
            bool burning = got[0] == 1 && got[1] == 1 && burn[0] > s->alerting.burn_rate &&
                           burn[1] > s->alerting.burn_rate;
            if (got[1] == 1)
                st->burn_1h = burn[1];
            if (burning && st->firing_since_ms == 0) {
                st->firing_since_ms = t_ms;
                st->resolved_at_ms = 0;
                fw_info("slo.alert.firing", "slo=%s burn_1h=%g burn_5m=%g", s->name, burn[1],
                        burn[0]);
            } else if (!burning && st->firing_since_ms != 0) {
                st->resolved_start_ms = st->firing_since_ms;
                st->firing_since_ms = 0;
                st->resolved_at_ms = t_ms;
                fw_info("slo.alert.resolved", "slo=%s", s->name);
            }
        } else if (!s->alerting.page && st->firing_since_ms != 0) {
            // Paging switched off by a reload: resolve what was firing.
            st->resolved_start_ms = st->firing_since_ms;
            st->firing_since_ms = 0;
            st->resolved_at_ms = t_ms;
        }
        if (st->resolved_at_ms != 0 && t_ms - st->resolved_at_ms > S_RESOLVED_RETENTION_MS)
            st->resolved_at_ms = 0;
        s_alert(self, i, t_ms, res->alerts);
        res->queries_failed += failed;
        if (failed_per_slo)
            failed_per_slo[i] = failed;
    }
    fw_labels_clear(&l);
}

void
slod_eval_result_clear(struct slod_eval_result *res)
{
    fw_batch_destroy(&res->batch);
    if (res->alerts)
        json_decref(res->alerts);
    res->alerts = NULL;
}
