/*  ruled_test_plan.c — rule queries answered ahead by range queries (see ruled_test_plan.h).
 */
#include "ruled_test_plan.h"

#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_msg.h"
#include "ruled_deps.h"

#define S_PUSH_SAMPLES 100000 // samples stored at once by a stage

struct s_rule {
    const struct ruled_rule_cfg *cfg; // borrowed
    int stage;                        // -1: evaluated step by step
    struct fw_vector *expr_at;        // owned: the expr's vector at each step, once answered
    struct fw_vector *clear_at;       // owned: the clear expr's, when it has one
};

struct ruled_test_plan {
    struct s_rule *rules; // owned
    size_t n;
    int64_t step_ms;
    size_t n_steps;
    int n_stages;
};

// Which rules are answered ahead, and their stages (see the header).
static void
s_plan(ruled_test_plan_t *self, const struct ruled_rule_cfg *const *rules)
{
    size_t n = self->n;
    bool *reads = fw_calloc(n * n + 1, sizeof(*reads));
    bool *unsafe = fw_calloc(n + 1, sizeof(*unsafe));
    bool *ahead = fw_calloc(n + 1, sizeof(*ahead));
    ruled_deps_matrix(rules, n, reads, unsafe);
    bool any_unsafe = false;
    for (size_t i = 0; i < n; i++)
        any_unsafe |= unsafe[i];
    for (size_t i = 0; i < n; i++)
        ahead[i] = !any_unsafe && self->n_steps <= RULED_TEST_PLAN_MAX_STEPS;
    // Each round turns at least one rule to step by step, so at most n + 1 rounds.
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                if (!reads[i * n + j])
                    continue;
                if (ahead[i] && (j >= i || !ahead[j]))
                    ahead[i] = false, changed = true; // reads itself, a later or a stepped rule
                if (!ahead[i] && j > i && ahead[j])
                    ahead[j] = false, changed = true; // a stepped rule reads a later one
            }
    }
    for (size_t i = 0; i < n; i++) {
        struct s_rule *r = &self->rules[i];
        r->stage = -1;
        if (!ahead[i])
            continue;
        r->stage = 0;
        for (size_t j = 0; j < i; j++)
            if (reads[i * n + j] && self->rules[j].stage + 1 > r->stage)
                r->stage = self->rules[j].stage + 1;
        if (r->stage + 1 > self->n_stages)
            self->n_stages = r->stage + 1;
    }
    free(reads);
    free(unsafe);
    free(ahead);
}

ruled_test_plan_t *
ruled_test_plan_new(const struct ruled_rule_cfg *const *rules, size_t n, int64_t step_ms,
                    int64_t maxt_ms)
{
    ruled_test_plan_t *self = fw_calloc(1, sizeof(*self));
    self->rules = fw_calloc(n + 1, sizeof(*self->rules));
    self->n = n;
    self->step_ms = step_ms;
    self->n_steps = step_ms > 0 && maxt_ms >= 0 ? (size_t)(maxt_ms / step_ms) + 1 : SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        self->rules[i].cfg = rules[i];
    s_plan(self, rules);
    return self;
}

static void
s_answers_free(struct fw_vector **at, size_t n_steps)
{
    for (size_t k = 0; *at && k < n_steps; k++)
        fw_vector_clear(&(*at)[k]);
    free(*at);
    *at = NULL;
}

void
ruled_test_plan_destroy(ruled_test_plan_t **self_p)
{
    ruled_test_plan_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->n; i++) {
        s_answers_free(&self->rules[i].expr_at, self->n_steps);
        s_answers_free(&self->rules[i].clear_at, self->n_steps);
    }
    free(self->rules);
    free(self);
    *self_p = NULL;
}

bool
ruled_test_plan_ahead(const ruled_test_plan_t *self, size_t i)
{
    return self && i < self->n && self->rules[i].stage >= 0;
}

bool
ruled_test_plan_active(const ruled_test_plan_t *self)
{
    return self && self->n_stages > 0;
}

// expr's vector at every step, from one range query. NULL with err.
static struct fw_vector *
s_answer(ruled_test_plan_t *self, ruled_test_tsdb_t *db, const char *expr, fw_err_t *err)
{
    struct fw_vector m = {0};
    int64_t end = (int64_t)(self->n_steps - 1) * self->step_ms;
    if (ruled_test_tsdb_range(db, expr, 0, end, self->step_ms, &m, err) < 0) {
        fw_vector_clear(&m);
        return NULL;
    }
    struct fw_vector *at = fw_calloc(self->n_steps, sizeof(*at));
    for (size_t i = 0; i < m.len; i++) {
        struct fw_vsample *p = &m.items[i];
        if (p->t_ms < 0 || p->t_ms % self->step_ms != 0 || p->t_ms > end)
            continue;
        struct fw_vector *v = &at[p->t_ms / self->step_ms];
        fw_mem_grow((void **)&v->items, &v->cap, v->len + 1, sizeof(*v->items));
        v->items[v->len++] = *p; // takes the labels
        p->labels = (struct fw_labels)FW_LABELS_INIT;
    }
    fw_vector_clear(&m);
    return at;
}

// Append src's samples to dst.
static void
s_merge(struct fw_batch *dst, const struct fw_batch *src)
{
    for (size_t i = 0; src && i < src->len; i++) {
        const struct fw_series *s = &src->series[i];
        if (s->len == 0)
            continue;
        struct fw_series *d = fw_batch_add_series(dst, &s->labels);
        for (size_t k = 0; k < s->len; k++)
            fw_series_add(d, s->samples[k].t_ms, s->samples[k].v);
    }
}

// Evaluate the stage's rules (fresh groups) at every step from their answers and store
// what they write. 0 or -1 with err.
static int
s_run_stage(ruled_test_plan_t *self, int stage, ruled_test_tsdb_t *db,
            ruled_test_plan_group_fn make, void *make_arg, fw_err_t *err)
{
    ruled_group_t **groups = fw_calloc(self->n + 1, sizeof(*groups));
    for (size_t i = 0; i < self->n; i++)
        if (self->rules[i].stage == stage)
            groups[i] = make(make_arg, i);
    struct fw_batch *pending = fw_batch_new();
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < self->n_steps; k++) {
        for (size_t i = 0; i < self->n; i++) {
            if (!groups[i])
                continue;
            struct ruled_test_plan_query q = {self, db, i};
            struct ruled_group_result res = {0};
            ruled_group_eval(groups[i], (int64_t)k * self->step_ms, ruled_test_plan_query, &q,
                             &res);
            s_merge(pending, res.batch);
            ruled_group_result_clear(&res);
        }
        if (fw_batch_samples(pending) >= S_PUSH_SAMPLES || k + 1 == self->n_steps) {
            if (fw_batch_samples(pending) > 0)
                rc = ruled_test_tsdb_push(db, &pending, err);
            fw_batch_destroy(&pending);
            pending = fw_batch_new();
        }
    }
    fw_batch_destroy(&pending);
    for (size_t i = 0; i < self->n; i++)
        ruled_group_destroy(&groups[i]);
    free(groups);
    return rc;
}

int
ruled_test_plan_run(ruled_test_plan_t *self, ruled_test_tsdb_t *db, ruled_test_plan_group_fn make,
                    void *make_arg, fw_err_t *err)
{
    for (int stage = 0; stage < self->n_stages; stage++) {
        for (size_t i = 0; i < self->n; i++) {
            struct s_rule *r = &self->rules[i];
            if (r->stage != stage)
                continue;
            r->expr_at = s_answer(self, db, r->cfg->expr, err);
            if (!r->expr_at)
                return -1;
            if (r->cfg->clear_expr && !(r->clear_at = s_answer(self, db, r->cfg->clear_expr, err)))
                return -1;
        }
        if (s_run_stage(self, stage, db, make, make_arg, err) < 0)
            return -1;
    }
    return 0;
}

int
ruled_test_plan_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out,
                      fw_err_t *err)
{
    const struct ruled_test_plan_query *q = arg;
    const ruled_test_plan_t *self = q->plan;
    const struct s_rule *r = self && q->rule < self->n ? &self->rules[q->rule] : NULL;
    const struct fw_vector *at = NULL;
    if (r && r->expr_at && strcmp(expr, r->cfg->expr) == 0)
        at = r->expr_at;
    else if (r && r->clear_at && strcmp(expr, r->cfg->clear_expr) == 0)
        at = r->clear_at;
    if (!at || t_ms < 0 || t_ms % self->step_ms != 0 ||
        (size_t)(t_ms / self->step_ms) >= self->n_steps)
        return ruled_test_tsdb_query(q->db, expr, t_ms, out, err);
    const struct fw_vector *v = &at[t_ms / self->step_ms];
    fw_vector_clear(out);
    fw_mem_grow((void **)&out->items, &out->cap, v->len + 1, sizeof(*out->items));
    for (size_t i = 0; i < v->len; i++) {
        out->items[i] = v->items[i];
        out->items[i].labels = (struct fw_labels)FW_LABELS_INIT;
        fw_labels_copy(&out->items[i].labels, &v->items[i].labels);
        out->items[i].t_ms = t_ms;
    }
    out->len = v->len;
    return 0;
}
