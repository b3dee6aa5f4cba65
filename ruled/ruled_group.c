/*  ruled_group.c — evaluation and alert state of one rule group.

    Each rule keeps what must survive between evaluations: for alerting rules the active
    alerts (pending, firing, or resolved and retained), keyed by their label set; for every
    rule the label sets it wrote last time, so that a series which disappears gets a
    staleness marker (Prometheus writes StaleNaN so queries stop seeing it at once rather
    than after the 5-minute lookback). Alert lists are small, so lookups are linear with a
    hash pre-check. The alerts' durable state (export to, import from tsdb's records) is
    ruled_group_state.c's; ruled_group_int.h holds the structs both files read.
*/
#include "ruled_group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_names.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_time.h"
#include "fw_tmpl_alert.h"
#include "fw_url.h"
#include "ruled_damp.h"
#include "ruled_deps.h"
#include "ruled_group_int.h"
#include "ruled_state.h"

// =================================================================================
//  Lifecycle
// =================================================================================

// Which rules read what an earlier rule wrote (ruled_deps.h): those are synced before.
static void
s_plan_sync(ruled_group_t *self)
{
    bool *reads = fw_calloc(self->n_rules + 1, sizeof(*reads));
    ruled_deps_plan(self->cfg, reads);
    for (size_t i = 0; i < self->n_rules; i++)
        self->rules[i].sync_before = reads[i];
    free(reads);
}

ruled_group_t *
ruled_group_new(const char *file, const struct ruled_group_cfg *cfg,
                const struct ruled_group_env *env)
{
    ruled_group_t *self = fw_calloc(1, sizeof(*self));
    self->cfg = cfg;
    self->file = fw_strdup(file);
    self->key = fw_asprintf("%s;%s", file, cfg->name);
    self->env = *env;
    if (self->env.for_grace_ms <= 0)
        self->env.for_grace_ms = RULED_FOR_GRACE_MS;
    if (self->env.outage_tolerance_ms <= 0)
        self->env.outage_tolerance_ms = RULED_OUTAGE_TOLERANCE_MS;
    self->interval_ms = cfg->interval_ms > 0 ? cfg->interval_ms : env->default_interval_ms;
    if (self->interval_ms <= 0)
        self->interval_ms = 60000;
    self->n_rules = cfg->n_rules;
    self->rules = fw_calloc(cfg->n_rules ? cfg->n_rules : 1, sizeof(*self->rules));
    for (size_t i = 0; i < cfg->n_rules; i++) {
        struct ruled_group_rule *r = &self->rules[i];
        r->cfg = &cfg->rules[i];
        r->healthy = true;
        // the rules API shows rule.Query().String(): Prometheus 3 quotes UTF-8 names there
        fw_err_t perr;
        fw_promql_expr_t *e = fw_promql_parse(r->cfg->expr ? r->cfg->expr : "", &perr);
        r->query = e ? fw_promql_string(e) : fw_strdup(r->cfg->expr ? r->cfg->expr : "");
        fw_promql_expr_destroy(&e);
        fw_labels_copy(&r->labels, &cfg->labels);
        for (size_t j = 0; j < r->cfg->labels.len; j++)
            fw_labels_set(&r->labels, r->cfg->labels.items[j].name, r->cfg->labels.items[j].value);
    }
    s_plan_sync(self);
    return self;
}

void
ruled_group_int_alert_free(struct ruled_group_alert *a)
{
    fw_labels_clear(&a->labels);
    fw_labels_clear(&a->annotations);
}

static void
s_prev_clear(struct ruled_group_rule *r)
{
    for (size_t i = 0; i < r->n_prev; i++)
        fw_labels_clear(&r->prev[i]);
    free(r->prev);
    r->prev = NULL;
    r->n_prev = r->cap_prev = 0;
}

static void
s_rule_free(struct ruled_group_rule *r)
{
    for (size_t i = 0; i < r->n_alerts; i++)
        ruled_group_int_alert_free(&r->alerts[i]);
    free(r->alerts);
    s_prev_clear(r);
    fw_labels_clear(&r->labels);
    free(r->query);
}

void
ruled_group_destroy(ruled_group_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ruled_group_t *self = *self_p;
    for (size_t i = 0; i < self->n_rules; i++)
        s_rule_free(&self->rules[i]);
    free(self->rules);
    free(self->key);
    free(self->file);
    free(self);
    *self_p = NULL;
}

const char *
ruled_group_key(const ruled_group_t *self)
{
    return self->key;
}

int64_t
ruled_group_interval_ms(const ruled_group_t *self)
{
    return self->interval_ms;
}

size_t
ruled_group_n_rules(const ruled_group_t *self)
{
    return self->n_rules;
}

double
ruled_group_last_duration(const ruled_group_t *self)
{
    return self->last_duration_s;
}

static const char *
s_rule_name(const struct ruled_group_rule *r)
{
    return ruled_rules_is_alert(r->cfg) ? r->cfg->alert : r->cfg->record;
}

static bool
s_same_rule(const struct ruled_group_rule *a, const struct ruled_group_rule *b)
{
    return ruled_rules_is_alert(a->cfg) == ruled_rules_is_alert(b->cfg) &&
           strcmp(s_rule_name(a), s_rule_name(b)) == 0 &&
           fw_labels_cmp(&a->labels, &b->labels) == 0;
}

void
ruled_group_skip_restore(ruled_group_t *self)
{
    for (size_t i = 0; i < self->n_rules; i++)
        self->rules[i].restored = true;
}

void
ruled_group_take_state(ruled_group_t *self, ruled_group_t *old)
{
    if (!old)
        return;
    bool *used = fw_calloc(old->n_rules + 1, sizeof(bool));
    for (size_t i = 0; i < self->n_rules; i++) {
        struct ruled_group_rule *r = &self->rules[i];
        for (size_t j = 0; j < old->n_rules; j++) {
            struct ruled_group_rule *o = &old->rules[j];
            if (used[j] || !s_same_rule(r, o))
                continue;
            used[j] = true;
            // Swap, so old keeps nothing that self now owns.
            struct ruled_group_alert *alerts = r->alerts;
            size_t na = r->n_alerts, ca = r->cap_alerts;
            r->alerts = o->alerts, r->n_alerts = o->n_alerts, r->cap_alerts = o->cap_alerts;
            o->alerts = alerts, o->n_alerts = na, o->cap_alerts = ca;
            struct fw_labels *prev = r->prev;
            size_t np = r->n_prev, cp = r->cap_prev;
            r->prev = o->prev, r->n_prev = o->n_prev, r->cap_prev = o->cap_prev;
            o->prev = prev, o->n_prev = np, o->cap_prev = cp;
            r->evaluated = o->evaluated;
            r->restored = o->restored;
            r->healthy = o->healthy;
            memcpy(r->last_error, o->last_error, sizeof(r->last_error));
            r->last_eval_ms = o->last_eval_ms;
            r->eval_seconds = o->eval_seconds;
            break;
        }
    }
    self->last_eval_ms = old->last_eval_ms;
    self->last_duration_s = old->last_duration_s;
    free(used);
}

// =================================================================================
//  Evaluation helpers
// =================================================================================

static bool
s_labels_in(const struct fw_labels *set, size_t n, const struct fw_labels *l)
{
    for (size_t i = 0; i < n; i++)
        if (fw_labels_cmp(&set[i], l) == 0)
            return true;
    return false;
}

// Record the series written this evaluation, and add staleness markers for those of the
// previous evaluation that are gone. cur (owned array, n entries) is taken over.
static void
s_track_series(struct ruled_group_rule *r, struct fw_labels *cur, size_t n, size_t cap,
               int64_t t_ms, struct fw_batch *batch)
{
    for (size_t i = 0; i < r->n_prev; i++) {
        if (s_labels_in(cur, n, &r->prev[i]))
            continue;
        struct fw_series *s = fw_batch_add_series(batch, &r->prev[i]);
        fw_series_add(s, t_ms, fw_stale_nan());
    }
    s_prev_clear(r);
    r->prev = cur;
    r->n_prev = n;
    r->cap_prev = cap;
}

struct s_series_list {
    struct fw_labels *items; // owned
    size_t len, cap;
};

static void
s_emit(struct s_series_list *list, struct fw_batch *batch, const struct fw_labels *l, int64_t t_ms,
       double v)
{
    struct fw_series *s = fw_batch_add_series(batch, l);
    fw_series_add(s, t_ms, v);
    fw_mem_grow((void **)&list->items, &list->cap, list->len + 1, sizeof(*list->items));
    struct fw_labels *dst = &list->items[list->len++];
    memset(dst, 0, sizeof(*dst));
    fw_labels_copy(dst, l);
}

// Recorded series may carry any UTF-8 name (Prometheus 3; tsdb stores them) and alertd takes
// any non-empty valid UTF-8 label name (Alertmanager 0.27+), so only a name that is not valid
// UTF-8 fails its rule alone instead of being refused by alertd on the way.
static int
s_check_alert_labels(const struct fw_labels *l, fw_err_t *err)
{
    for (size_t i = 0; i < l->len; i++) {
        if (!fw_names_label_valid(l->items[i].name, FW_NAMES_UTF8)) {
            fw_err_set(err, "alert label name \"%s\" is not valid UTF-8", l->items[i].name);
            return -1;
        }
    }
    return 0;
}

static int
s_eval_record(ruled_group_t *self, struct ruled_group_rule *r, struct fw_vector *vec, int64_t t_ms,
              struct fw_batch *batch, fw_err_t *err)
{
    struct s_series_list out = {0};
    for (size_t i = 0; i < vec->len; i++) {
        struct fw_labels *l = &vec->items[i].labels;
        fw_labels_set(l, "__name__", r->cfg->record);
        for (size_t j = 0; j < r->labels.len; j++)
            fw_labels_set(l, r->labels.items[j].name, r->labels.items[j].value);
        for (size_t j = 0; j < i; j++) {
            if (fw_labels_cmp(&vec->items[j].labels, l) == 0) {
                fw_err_set(err, "vector contains metrics with the same labelset after applying "
                                "rule labels");
                return -1;
            }
        }
    }
    if (self->cfg->limit > 0 && (int64_t)vec->len > self->cfg->limit) {
        fw_err_set(err, "exceeded limit of %lld with %zu series", (long long)self->cfg->limit,
                   vec->len);
        return -1;
    }
    for (size_t i = 0; i < vec->len; i++)
        s_emit(&out, batch, &vec->items[i].labels, t_ms, vec->items[i].v);
    s_track_series(r, out.items, out.len, out.cap, t_ms, batch);
    return 0;
}

struct ruled_group_alert *
ruled_group_int_find_alert(struct ruled_group_rule *r, const struct fw_labels *l, uint64_t h)
{
    for (size_t i = 0; i < r->n_alerts; i++)
        if (r->alerts[i].hash == h && fw_labels_cmp(&r->alerts[i].labels, l) == 0)
            return &r->alerts[i];
    return NULL;
}

// The `query` of a rule's templates at one evaluation: the group's query function (the
// worker's client, each query bounded by --query.timeout), at the evaluation time as
// Prometheus's template expander queries. Once one times out, the rule's later template
// queries fail at once, as the group's rules do, so a silent tsdb costs one timeout per
// rule, not one per alert and annotation.
struct s_tmpl_query {
    ruled_query_fn fn;
    void *arg;
    char timed_out[sizeof(((fw_err_t *)0)->msg)];
};

static int
s_tmpl_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    struct s_tmpl_query *q = arg;
    if (q->timed_out[0]) {
        fw_err_set(err, "%.200s (skipped: an earlier template query timed out)", q->timed_out);
        return -1;
    }
    int rc = q->fn(q->arg, expr, t_ms, out, err);
    if (rc < 0 && strstr(err->msg, "timed out"))
        snprintf(q->timed_out, sizeof q->timed_out, "%s", err->msg);
    return rc;
}

// Expand a template; on failure the text says so, as Prometheus does.
static char *
s_expand(const ruled_group_t *self, const char *rule, const char *text,
         const struct fw_labels *labels, double value, struct s_tmpl_query *q, int64_t ts)
{
    struct fw_tmpl_alert_data d = {
        labels, self->env.external_labels, self->env.external_url, value, rule, s_tmpl_query, q,
        ts};
    fw_err_t err = {0};
    char *s = fw_tmpl_alert_render(text, &d, &err);
    if (err.msg[0])
        fw_warn("rule.template.fail", "group=%s rule=%s err=%s", self->key, rule, err.msg);
    return s;
}

// After a restart, give new pending alerts of a rule with a long `for` back the activeAt
// they had, from the ALERTS_FOR_STATE series written before (rules/group.go
// RestoreForState). The time ruled was down is taken as zero: an instant query gives the
// last value, not when it was written. Rules with `for` under the grace period are not
// restored (they would wait the grace period anyway).
static void
s_restore_for_state(ruled_group_t *self, struct ruled_group_rule *r, int64_t ts, int64_t t_q,
                    ruled_query_fn fn, void *arg)
{
    int64_t hold = r->cfg->for_ms, grace = self->env.for_grace_ms;
    if (hold < grace || r->n_alerts == 0)
        return;
    // The alert name is a label value: escape it for the selector.
    char name[512];
    size_t n = 0;
    for (const char *p = r->cfg->alert; *p && n + 2 < sizeof(name); p++) {
        if (*p == '"' || *p == '\\')
            name[n++] = '\\';
        name[n++] = *p;
    }
    name[n] = '\0';
    int64_t tol = self->env.outage_tolerance_ms;
    char range[32];
    if (tol % 3600000 == 0)
        snprintf(range, sizeof range, "%lldh", (long long)(tol / 3600000));
    else
        snprintf(range, sizeof range, "%lldms", (long long)tol);
    char *q = fw_asprintf("last_over_time(ALERTS_FOR_STATE{alertname=\"%s\"}[%s])", name, range);
    struct fw_vector vec = {0};
    fw_err_t err = {0};
    if (fn(arg, q, t_q, &vec, &err) < 0) {
        fw_warn("rule.restore.fail", "group=%s rule=%s err=%s", self->key, r->cfg->alert, err.msg);
        free(q);
        return;
    }
    free(q);
    for (size_t i = 0; i < vec.len; i++) {
        struct fw_labels *l = &vec.items[i].labels;
        fw_labels_del(l, "__name__");
        struct ruled_group_alert *a = ruled_group_int_find_alert(r, l, fw_labels_hash(l));
        if (!a || a->state != RULED_ALERT_PENDING || a->active_at_ms != ts)
            continue;
        int64_t restored = (int64_t)vec.items[i].v * 1000;
        if (restored <= 0 || restored > ts)
            continue;
        int64_t remaining = hold - (ts - restored);
        if (remaining > 0 && remaining < grace)
            restored = ts + grace - hold; // about to fire: wait the grace period
        a->active_at_ms = restored;
        fw_info("rule.restore", "group=%s rule=%s active_at_ms=%lld", self->key, r->cfg->alert,
                (long long)restored);
    }
    fw_vector_clear(&vec);
}

static size_t
s_count_firing(const struct ruled_group_rule *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_alerts; i++)
        n += r->alerts[i].state == RULED_ALERT_FIRING;
    return n;
}

// One fresh result of the alert's query, as a candidate alert.
struct s_candidate {
    struct fw_labels labels;
    struct fw_labels annotations;
    uint64_t hash;
    double value;
};

static int
s_eval_alert(ruled_group_t *self, struct ruled_group_rule *r, struct fw_vector *vec, int64_t ts,
             int64_t t_q, ruled_query_fn fn, void *arg, struct fw_batch *batch, fw_err_t *err)
{
    const struct ruled_rule_cfg *c = r->cfg;
    struct s_candidate *cand = fw_calloc(vec->len + 1, sizeof(*cand));
    struct s_tmpl_query q = {.fn = fn, .arg = arg};
    int rc = 0;
    for (size_t i = 0; i < vec->len && rc == 0; i++) {
        const struct fw_labels *ml = &vec->items[i].labels;
        double v = vec->items[i].v;
        struct s_candidate *k = &cand[i];
        fw_labels_copy(&k->labels, ml);
        fw_labels_del(&k->labels, "__name__");
        for (size_t j = 0; j < r->labels.len; j++) {
            char *val = s_expand(self, c->alert, r->labels.items[j].value, ml, v, &q, ts);
            fw_labels_set(&k->labels, r->labels.items[j].name, val);
            free(val);
        }
        fw_labels_set(&k->labels, "alertname", c->alert);
        for (size_t j = 0; j < c->annotations.len; j++) {
            char *val = s_expand(self, c->alert, c->annotations.items[j].value, ml, v, &q, ts);
            fw_labels_set(&k->annotations, c->annotations.items[j].name, val);
            free(val);
        }
        k->hash = fw_labels_hash(&k->labels);
        k->value = v;
        if (s_check_alert_labels(&k->labels, err) < 0)
            rc = -1;
        for (size_t j = 0; j < i; j++) {
            if (cand[j].hash == k->hash && fw_labels_cmp(&cand[j].labels, &k->labels) == 0) {
                fw_err_set(err, "vector contains metrics with the same labelset after applying "
                                "alert labels");
                rc = -1;
            }
        }
    }
    if (rc == 0 && self->cfg->limit > 0 && (int64_t)vec->len > self->cfg->limit) {
        fw_err_set(err, "exceeded limit of %lld with %zu alerts", (long long)self->cfg->limit,
                   vec->len);
        rc = -1;
    }
    if (rc < 0)
        goto out;

    // Merge: an active alert keeps its state and activeAt, taking the new value and
    // annotations; anything else becomes a new pending alert.
    for (size_t i = 0; i < vec->len; i++) {
        struct s_candidate *k = &cand[i];
        struct ruled_group_alert *a = ruled_group_int_find_alert(r, &k->labels, k->hash);
        if (a && a->state != RULED_ALERT_INACTIVE) {
            a->value = k->value;
            fw_labels_copy(&a->annotations, &k->annotations);
            continue;
        }
        if (!a) {
            fw_mem_grow((void **)&r->alerts, &r->cap_alerts, r->n_alerts + 1, sizeof(*r->alerts));
            a = &r->alerts[r->n_alerts++];
        } else {
            ruled_group_int_alert_free(a);
        }
        memset(a, 0, sizeof(*a));
        fw_labels_copy(&a->labels, &k->labels);
        fw_labels_copy(&a->annotations, &k->annotations);
        a->hash = k->hash;
        a->value = k->value;
        a->state = RULED_ALERT_PENDING;
        a->active_at_ms = ts;
    }

    if (!r->restored) {
        r->restored = true;
        s_restore_for_state(self, r, ts, t_q, fn, arg);
    }

    // Flap damping: the clear expression is asked once, when some alert fires.
    struct fw_vector clear = {0};
    bool clear_ok = true;
    if (c->clear_expr && s_count_firing(r) > 0) {
        fw_err_t cerr = {0};
        if (fn(arg, c->clear_expr, t_q, &clear, &cerr) < 0) {
            clear_ok = false;
            fw_err_set(err, "floorwatch_clear: %s", cerr.msg);
        }
    }

    // Advance every alert; drop the ones that are gone for good.
    struct s_series_list out = {0};
    size_t w = 0;
    for (size_t i = 0; i < r->n_alerts; i++) {
        struct ruled_group_alert *a = &r->alerts[i];
        bool present = false;
        for (size_t j = 0; j < vec->len && !present; j++)
            present = cand[j].hash == a->hash && fw_labels_cmp(&cand[j].labels, &a->labels) == 0;
        // A damped alert stays firing as it was at its last return.
        if (!present && a->state == RULED_ALERT_FIRING && ruled_damp_enabled(c))
            present = ruled_damp_holds(c, &a->labels, a->fired_at_ms, ts, clear_ok ? &clear : NULL);
        bool keep = true;
        if (!present) {
            bool keep_firing = false;
            if (a->state == RULED_ALERT_FIRING && c->keep_firing_for_ms > 0) {
                if (a->keep_firing_since_ms == 0)
                    a->keep_firing_since_ms = ts;
                keep_firing = ts - a->keep_firing_since_ms < c->keep_firing_for_ms;
            }
            if (a->state == RULED_ALERT_PENDING ||
                (a->resolved_at_ms != 0 && ts - a->resolved_at_ms > RULED_RESOLVED_RETENTION_MS))
                keep = false;
            if (a->state != RULED_ALERT_INACTIVE && !keep_firing) {
                a->state = RULED_ALERT_INACTIVE;
                a->resolved_at_ms = ts;
            }
            if (!keep_firing) {
                if (!keep) {
                    ruled_group_int_alert_free(a);
                    continue;
                }
                r->alerts[w++] = *a;
                continue;
            }
        } else {
            a->keep_firing_since_ms = 0;
        }
        if (a->state == RULED_ALERT_PENDING && ts - a->active_at_ms >= c->for_ms) {
            a->state = RULED_ALERT_FIRING;
            a->fired_at_ms = ts;
        }
        // ALERTS and ALERTS_FOR_STATE, as Prometheus writes them.
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_copy(&l, &a->labels);
        fw_labels_set(&l, "__name__", "ALERTS");
        fw_labels_set(&l, "alertstate", a->state == RULED_ALERT_FIRING ? "firing" : "pending");
        s_emit(&out, batch, &l, t_q, 1);
        fw_labels_copy(&l, &a->labels);
        fw_labels_set(&l, "__name__", "ALERTS_FOR_STATE");
        s_emit(&out, batch, &l, t_q, (double)(a->active_at_ms / 1000));
        fw_labels_clear(&l);
        r->alerts[w++] = *a;
    }
    r->n_alerts = w;
    s_track_series(r, out.items, out.len, out.cap, t_q, batch);
    fw_vector_clear(&clear);
    if (!clear_ok)
        rc = -1; // the alerts advanced; the rule shows the clear query's error
out:
    for (size_t i = 0; i < vec->len; i++) {
        fw_labels_clear(&cand[i].labels);
        fw_labels_clear(&cand[i].annotations);
    }
    free(cand);
    return rc;
}

// jansson: json_object_set_new steals the new string/object references below.
static json_t *
s_time_json(int64_t ms)
{
    char buf[40];
    return json_string(fw_time_rfc3339(ms, buf, sizeof(buf)));
}

static void
s_collect_alerts(const ruled_group_t *self, struct ruled_group_rule *r, int64_t ts, json_t *arr)
{
    int64_t delta =
        self->interval_ms > RULED_RESEND_DELAY_MS ? self->interval_ms : RULED_RESEND_DELAY_MS;
    char *esc = NULL;
    for (size_t i = 0; i < r->n_alerts; i++) {
        struct ruled_group_alert *a = &r->alerts[i];
        bool firing = a->state == RULED_ALERT_FIRING;
        bool resolved =
            a->state == RULED_ALERT_INACTIVE && a->resolved_at_ms != 0 && a->fired_at_ms != 0;
        if (!firing && !resolved)
            continue;
        if (!esc)
            esc = fw_url_query_escaped(r->cfg->expr);
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_copy(&l, &a->labels);
        // External labels are added when absent, as Prometheus's notifier does.
        fw_labels_add_absent(&l, self->env.external_labels);
        json_t *o = json_object();
        json_object_set_new(o, "labels", fw_labels_json(&l));
        json_object_set_new(o, "annotations", fw_labels_json(&a->annotations));
        json_object_set_new(o, "startsAt", s_time_json(a->active_at_ms));
        json_object_set_new(o, "endsAt", s_time_json(firing ? ts + 4 * delta : a->resolved_at_ms));
        char *url = fw_asprintf("%s/graph?g0.expr=%s&g0.tab=1",
                                self->env.external_url ? self->env.external_url : "", esc);
        json_object_set_new(o, "generatorURL", json_string(url));
        free(url);
        json_array_append_new(arr, o); // steals o
        a->last_sent_ms = ts;
        fw_labels_clear(&l);
    }
    free(esc);
}

size_t
ruled_group_eval(ruled_group_t *self, int64_t t_ms, ruled_query_fn fn, void *arg,
                 struct ruled_group_result *res)
{
    return ruled_group_eval_sync(self, t_ms, fn, arg, NULL, NULL, res);
}

bool
ruled_group_rule_syncs(const ruled_group_t *self, size_t i)
{
    return i < self->n_rules && self->rules[i].sync_before;
}

size_t
ruled_group_eval_sync(ruled_group_t *self, int64_t t_ms, ruled_query_fn fn, void *arg,
                      ruled_sync_fn sync, void *sync_arg, struct ruled_group_result *res)
{
    memset(res, 0, sizeof(*res));
    res->batch = fw_batch_new();
    res->alerts = json_array();
    int64_t t_q = t_ms - self->cfg->query_offset_ms;
    int64_t start = fw_time_mono_ms();
    struct fw_vector vec = {0};
    char unreachable[sizeof(((fw_err_t *)0)->msg)] = "";
    for (size_t i = 0; i < self->n_rules; i++) {
        struct ruled_group_rule *r = &self->rules[i];
        int64_t rstart = fw_time_mono_ms();
        fw_err_t err = {0};
        int rc = -1;
        // Once tsdb did not answer in time, the rest of the group fails at once with the
        // same error rather than blocking the loop for a timeout per rule.
        bool synced = true;
        if (!unreachable[0] && sync && r->sync_before && res->batch->len > 0) {
            fw_err_t serr = {0};
            struct fw_batch *part = res->batch;
            res->batch = fw_batch_new();
            res->syncs++;
            if (sync(sync_arg, &part, &serr) < 0) {
                fw_err_set(&err, "earlier rules' samples not stored: %s", serr.msg);
                synced = false;
            }
            fw_batch_destroy(&part); // NULL when sync took it
        }
        if (unreachable[0])
            fw_err_set(&err, "%s (skipped: an earlier rule of the group timed out)", unreachable);
        else if (synced)
            rc = fn(arg, r->cfg->expr, t_q, &vec, &err);
        if (rc < 0 && !unreachable[0] && strstr(err.msg, "timed out"))
            snprintf(unreachable, sizeof(unreachable), "%s", err.msg);
        if (rc == 0) {
            if (ruled_rules_is_alert(r->cfg))
                rc = s_eval_alert(self, r, &vec, t_ms, t_q, fn, arg, res->batch, &err);
            else
                rc = s_eval_record(self, r, &vec, t_q, res->batch, &err);
        }
        r->evaluated = true;
        r->last_eval_ms = t_ms;
        r->eval_seconds = (double)(fw_time_mono_ms() - rstart) / 1000.0;
        r->healthy = rc == 0;
        if (rc < 0) {
            snprintf(r->last_error, sizeof(r->last_error), "%s", err.msg);
            res->rules_failed++;
            fw_warn("rule.eval.fail", "group=%s rule=%s err=%s", self->key, s_rule_name(r),
                    err.msg);
        } else {
            r->last_error[0] = '\0';
        }
        if (ruled_rules_is_alert(r->cfg))
            s_collect_alerts(self, r, t_ms, res->alerts);
        fw_vector_clear(&vec);
    }
    self->last_eval_ms = t_ms;
    self->last_duration_s = (double)(fw_time_mono_ms() - start) / 1000.0;
    return res->rules_failed;
}

void
ruled_group_result_clear(struct ruled_group_result *res)
{
    fw_batch_destroy(&res->batch);
    if (res->alerts)
        json_decref(res->alerts);
    res->alerts = NULL;
}

void
ruled_group_mark_stale(ruled_group_t *self, int64_t t_ms, struct fw_batch *batch)
{
    for (size_t i = 0; i < self->n_rules; i++) {
        struct ruled_group_rule *r = &self->rules[i];
        for (size_t j = 0; j < r->n_prev; j++) {
            struct fw_series *s = fw_batch_add_series(batch, &r->prev[j]);
            fw_series_add(s, t_ms, fw_stale_nan());
        }
        s_prev_clear(r);
    }
}

size_t
ruled_group_count_alerts(const ruled_group_t *self, ruled_alert_state_t state)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_rules; i++)
        for (size_t j = 0; j < self->rules[i].n_alerts; j++)
            n += self->rules[i].alerts[j].state == state;
    return n;
}

// =================================================================================
//  API views
// =================================================================================

static const char *
s_state_str(ruled_alert_state_t s)
{
    return s == RULED_ALERT_FIRING ? "firing" : s == RULED_ALERT_PENDING ? "pending" : "inactive";
}

// strconv.FormatFloat(v, 'e', -1, 64), as Prometheus's API writes an alert's value.
static json_t *
s_value_json(double v)
{
    char buf[FW_GOFLOAT_MAX];
    return json_string(fw_gofloat_format(v, 'e', buf, sizeof(buf)));
}

static json_t *
s_alert_json(const struct ruled_group_alert *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "labels", fw_labels_json(&a->labels));
    json_object_set_new(o, "annotations", fw_labels_json(&a->annotations));
    json_object_set_new(o, "state", json_string(s_state_str(a->state)));
    json_object_set_new(o, "activeAt", s_time_json(a->active_at_ms));
    if (a->keep_firing_since_ms)
        json_object_set_new(o, "keepFiringSince", s_time_json(a->keep_firing_since_ms));
    json_object_set_new(o, "value", s_value_json(a->value));
    return o;
}

static json_t *
s_rule_json(const struct ruled_group_rule *r)
{
    json_t *o = json_object();
    bool alert = ruled_rules_is_alert(r->cfg);
    json_object_set_new(o, "name", json_string(s_rule_name(r)));
    json_object_set_new(o, "query", json_string(r->query));
    json_object_set_new(o, "labels", fw_labels_json(&r->labels));
    if (alert) {
        ruled_alert_state_t st = RULED_ALERT_INACTIVE;
        json_t *alerts = json_array();
        for (size_t i = 0; i < r->n_alerts; i++) {
            if (r->alerts[i].state == RULED_ALERT_INACTIVE)
                continue;
            if (r->alerts[i].state > st)
                st = r->alerts[i].state;
            json_array_append_new(alerts, s_alert_json(&r->alerts[i]));
        }
        json_object_set_new(o, "state", json_string(s_state_str(st)));
        json_object_set_new(o, "duration", json_real((double)r->cfg->for_ms / 1000.0));
        json_object_set_new(o, "keepFiringFor",
                            json_real((double)r->cfg->keep_firing_for_ms / 1000.0));
        json_object_set_new(o, "annotations", fw_labels_json(&r->cfg->annotations));
        json_object_set_new(o, "alerts", alerts);
    }
    json_object_set_new(o, "health",
                        json_string(!r->evaluated ? "unknown"
                                    : r->healthy  ? "ok"
                                                  : "err"));
    if (r->last_error[0])
        json_object_set_new(o, "lastError", json_string(r->last_error));
    json_object_set_new(o, "evaluationTime", json_real(r->eval_seconds));
    json_object_set_new(o, "lastEvaluation", s_time_json(r->last_eval_ms));
    json_object_set_new(o, "type", json_string(alert ? "alerting" : "recording"));
    return o;
}

json_t *
ruled_group_rules_json(const ruled_group_t *self)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(self->cfg->name));
    json_object_set_new(o, "file", json_string(self->file));
    json_t *rules = json_array();
    for (size_t i = 0; i < self->n_rules; i++)
        json_array_append_new(rules, s_rule_json(&self->rules[i]));
    json_object_set_new(o, "rules", rules);
    json_object_set_new(o, "interval", json_real((double)self->interval_ms / 1000.0));
    json_object_set_new(o, "limit", json_integer(self->cfg->limit));
    json_object_set_new(o, "evaluationTime", json_real(self->last_duration_s));
    json_object_set_new(o, "lastEvaluation", s_time_json(self->last_eval_ms));
    return o;
}

void
ruled_group_alerts_json(const ruled_group_t *self, json_t *array)
{
    for (size_t i = 0; i < self->n_rules; i++)
        for (size_t j = 0; j < self->rules[i].n_alerts; j++)
            if (self->rules[i].alerts[j].state != RULED_ALERT_INACTIVE)
                json_array_append_new(array, s_alert_json(&self->rules[i].alerts[j]));
}
