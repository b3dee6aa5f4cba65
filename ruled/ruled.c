/*  ruled.c — the ruled daemon class: sockets, zloop, group timers, HTTP API, reload.

    One zloop on the main thread. Each rule group has its own repeating timer at its
    interval (plus a one-shot timer shortly after start or reload, so the first evaluation
    does not wait a whole interval); a 1 Hz housekeeping timer handles SIGHUP and /-/reload.
    Groups live in `slots`, one array per configuration generation, so a reload builds the
    new groups, moves alert state over from the groups with the same file;name key, ends the
    old timers, frees the old generation and starts new timers in one step.

    A due group is handed to the worker pool (ruled_pool.h) as the job embedded in its
    slot; while it is out (slot->running) the loop thread reads nothing of the group but
    the slot's own copies (snapshot strings, alert counts), and skips the group's timer.
    Finished jobs come back through the pool's pipe (s_on_pool), and everything that
    touches shared state (sender, PUSH, LMDB, metrics) happens there. A reload and the
    shutdown first wait for the jobs in progress (s_quiesce).

    The timers carry the daemon, never a slot: a timer finds its slot by timer id, and one
    that finds none was ended by a reload and does nothing. czmq's zloop_timer_end() only
    queues the id until the loop iteration ends, so a timer ended by a reload (run from the
    housekeeping timer) can still fire later in the same iteration. Queries are synchronous
    on each worker's own query client and matched by request id (fw_query.h), so no answer
    can reach a freed group either.

    The HTTP handlers run on libmicrohttpd's threads, so they never touch groups. After
    each evaluation the zloop thread serialises the group's /api/v1/rules object and its
    alerts into the slot's snapshot strings under `lock`; handlers only join those strings.

    Sends never block evaluation. Recorded series go to tsdb through fw_sender, which keeps
    each batch until tsdb acknowledges it (bounded by --zmq.send-buffer, resent as needed;
    at shutdown tsdb gets S_FLUSH_MS to acknowledge what is held). ALERTS go on a PUSH
    socket with a zero send timeout (a full queue drops the message and counts it in
    fw_ruled_send_dropped_total) and a 2 s linger.
*/
#include "ruled.h"

#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_daemon.h"
#include "fw_http.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"
#include "ruled_group.h"
#include "ruled_pool.h"
#include "ruled_state.h"

#define S_FIRST_EVAL_MS 500
#define S_FLUSH_MS 2000 // at shutdown, how long tsdb gets to acknowledge what is held

struct s_slot {
    ruled_t *self;        // borrowed: the owner
    ruled_group_t *group; // owned
    int timer_id;         // repeating evaluation timer, -1 when none
    int first_timer_id;   // one-shot first evaluation, -1 when none or once it has fired
    char *rules_json;     // owned, under self->lock: the group's /api/v1/rules object
    char *alerts_json;    // owned, under self->lock: its alerts, comma-joined, no brackets
    bool running;         // job is with the pool: the group is the worker's until taken back
    struct ruled_pool_job job;
    size_t n_pending, n_firing; // the group's alerts when it was last quiet (for gauges)
};

struct ruled {
    struct ruled_opts opts;   // strings borrowed from argv / flag defaults
    struct ruled_config *cfg; // owned
    struct s_slot *slots;     // owned
    size_t n_slots;
    zloop_t *loop;                // owned
    struct fw_daemon_links links; // owned: sender to tsdb, PUSH alertd, PUB, query client
    fw_metrics_t *metrics;        // owned
    fw_http_t *http;              // owned
    pthread_mutex_t lock;         // guards the slots' snapshot strings and n_slots for HTTP
    ruled_state_t *state;         // owned; NULL without --storage.path
    ruled_pool_t *pool;           // owned: evaluates due groups on worker threads
};

// =================================================================================
//  Lifecycle
// =================================================================================

static void
s_declare_metrics(fw_metrics_t *m)
{
    fw_metrics_declare(m, "fw_ruled_rule_evaluations_total", FW_METRIC_COUNTER,
                       "Rule evaluations, by rule group.");
    fw_metrics_declare(m, "fw_ruled_rule_evaluation_failures_total", FW_METRIC_COUNTER,
                       "Rule evaluations that failed, by rule group.");
    fw_metrics_declare(m, "fw_ruled_rule_group_last_duration_seconds", FW_METRIC_GAUGE,
                       "Duration of the last evaluation of each rule group.");
    fw_metrics_declare(m, "fw_ruled_rule_group_rules", FW_METRIC_GAUGE,
                       "Rules in each rule group.");
    fw_metrics_declare(m, "fw_ruled_rule_group_last_evaluation_timestamp_seconds", FW_METRIC_GAUGE,
                       "Time of the last evaluation of each rule group.");
    fw_metrics_declare(m, "fw_ruled_rule_group_iterations_missed_total", FW_METRIC_COUNTER,
                       "Evaluations skipped because the previous one of the group still ran.");
    fw_metrics_declare(m, "fw_ruled_rule_group_syncs_total", FW_METRIC_COUNTER,
                       "Times a rule waited for tsdb to store what earlier rules of its group "
                       "wrote in the same evaluation, by rule group.");
    fw_metrics_declare(m, "fw_ruled_alerts", FW_METRIC_GAUGE,
                       "Active alerts, by state (pending, firing).");
    fw_metrics_declare(m, "fw_ruled_samples_total", FW_METRIC_COUNTER,
                       "Samples sent to tsdb (recorded series, ALERTS, staleness markers).");
    fw_metrics_declare(m, "fw_ruled_alert_messages_total", FW_METRIC_COUNTER,
                       "ALERTS messages sent to alertd.");
    fw_metrics_declare(m, "fw_ruled_send_dropped_total", FW_METRIC_COUNTER,
                       "Messages dropped because a peer's queue was full, by socket.");
    fw_metrics_declare(m, "fw_ruled_config_last_reload_successful", FW_METRIC_GAUGE,
                       "Whether the last configuration reload succeeded.");
    fw_metrics_declare(m, "fw_ruled_state_save_failures_total", FW_METRIC_COUNTER,
                       "Alert state writes to --storage.path that failed.");
    fw_zsock_declare_metrics(m);
}

ruled_t *
ruled_new(const struct ruled_opts *opts, struct ruled_config **cfg_p)
{
    ruled_t *self = fw_calloc(1, sizeof(*self));
    self->opts = *opts;
    self->cfg = *cfg_p;
    *cfg_p = NULL;
    pthread_mutex_init(&self->lock, NULL);
    self->metrics = fw_metrics_new();
    s_declare_metrics(self->metrics);
    fw_metrics_set(self->metrics, "fw_ruled_config_last_reload_successful", "", 1);
    return self;
}

static void
s_slots_free(struct s_slot *slots, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ruled_group_destroy(&slots[i].group);
        free(slots[i].rules_json);
        free(slots[i].alerts_json);
    }
    free(slots);
}

void
ruled_destroy(ruled_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ruled_t *self = *self_p;
    fw_http_destroy(&self->http);
    ruled_pool_destroy(&self->pool); // waits for running jobs: no worker holds a group
    fw_sender_detach(self->links.sender);
    zloop_destroy(&self->loop);
    s_slots_free(self->slots, self->n_slots);
    fw_daemon_links_close(&self->links);
    ruled_state_destroy(&self->state);
    if (self->cfg) {
        ruled_rules_config_free(self->cfg);
        free(self->cfg);
    }
    fw_metrics_destroy(&self->metrics);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int
ruled_http_port(const ruled_t *self)
{
    return self->http ? fw_http_port(self->http) : 0;
}

// =================================================================================
//  Groups and timers
// =================================================================================

static void
s_snapshot(struct s_slot *slot)
{
    json_t *rules = ruled_group_rules_json(slot->group);
    json_t *alerts = json_array();
    ruled_group_alerts_json(slot->group, alerts);
    char *r = json_dumps(rules, JSON_COMPACT | JSON_REAL_PRECISION(12));
    char *a = json_dumps(alerts, JSON_COMPACT);
    json_decref(rules);
    json_decref(alerts);
    // Keep the array's contents only, so handlers can join groups with commas.
    size_t alen = strlen(a);
    memmove(a, a + 1, alen - 1);
    a[alen - 2] = '\0';
    pthread_mutex_lock(&slot->self->lock);
    free(slot->rules_json);
    free(slot->alerts_json);
    slot->rules_json = r;
    slot->alerts_json = a;
    pthread_mutex_unlock(&slot->self->lock);
}

// Count the alerts of a quiet group (not with the pool) into its slot.
static void
s_count_alerts(struct s_slot *slot)
{
    slot->n_pending = ruled_group_count_alerts(slot->group, RULED_ALERT_PENDING);
    slot->n_firing = ruled_group_count_alerts(slot->group, RULED_ALERT_FIRING);
}

// From the slots' counts: groups being evaluated are not read.
static void
s_update_alert_gauges(ruled_t *self)
{
    size_t pending = 0, firing = 0;
    for (size_t i = 0; i < self->n_slots; i++) {
        pending += self->slots[i].n_pending;
        firing += self->slots[i].n_firing;
    }
    fw_metrics_set(self->metrics, "fw_ruled_alerts", "state=\"pending\"", (double)pending);
    fw_metrics_set(self->metrics, "fw_ruled_alerts", "state=\"firing\"", (double)firing);
}

// 'rule_group="file;name"' with the value escaped as the exposition format wants.
static char *
s_group_label(const ruled_group_t *group)
{
    json_t *js = json_string(ruled_group_key(group));
    char *q = json_dumps(js, JSON_ENCODE_ANY);
    json_decref(js);
    char *lbl = fw_asprintf("rule_group=%s", q ? q : "\"\"");
    free(q);
    return lbl;
}

// At start: the group's alerts from the store, as they were when ruled stopped.
static void
s_state_restore(ruled_t *self, ruled_group_t *group)
{
    if (!self->state)
        return;
    struct ruled_state_rec *recs;
    int64_t saved_at;
    fw_err_t err = {0};
    ssize_t n = ruled_state_load(self->state, ruled_group_key(group), &saved_at, &recs, &err);
    if (n < 0) {
        fw_error("rule.state.load.fail", "group=%s err=%s", ruled_group_key(group), err.msg);
        return;
    }
    (void)ruled_group_state_import(group, recs, (size_t)n, saved_at, fw_time_now_ms());
    ruled_state_recs_free(recs, (size_t)n);
}

// After an evaluation at t_ms: the group's alerts into the store, one write transaction
// (no fsync: see ruled_state.h), on the loop thread that evaluates groups.
static void
s_state_save(ruled_t *self, ruled_group_t *group, int64_t t_ms)
{
    if (!self->state)
        return;
    size_t n;
    struct ruled_state_rec *recs = ruled_group_state_export(group, &n);
    fw_err_t err = {0};
    if (ruled_state_save(self->state, ruled_group_key(group), t_ms, recs, n, &err) < 0) {
        fw_error("rule.state.save.fail", "group=%s err=%s", ruled_group_key(group), err.msg);
        fw_metrics_add(self->metrics, "fw_ruled_state_save_failures_total", "", 1);
    }
    ruled_state_recs_free(recs, n);
}

// The current slot whose timer this is, or NULL for a timer ended by a reload.
static struct s_slot *
s_slot_by_timer(ruled_t *self, int timer_id)
{
    for (size_t i = 0; i < self->n_slots; i++) {
        struct s_slot *s = &self->slots[i];
        if (s->timer_id == timer_id || s->first_timer_id == timer_id)
            return s;
    }
    return NULL;
}

// A job is back from the pool: send what the evaluation produced and update the state,
// metrics and snapshots, on the loop thread.
static void
s_group_done(ruled_t *self, struct s_slot *slot)
{
    struct ruled_pool_job *job = &slot->job;
    struct ruled_group_result *res = &job->res;
    slot->running = false;
    s_state_save(self, slot->group, job->t_ms);

    char *lbl = s_group_label(slot->group);
    fw_metrics_add(self->metrics, "fw_ruled_rule_evaluations_total", lbl,
                   (double)ruled_group_n_rules(slot->group));
    fw_metrics_add(self->metrics, "fw_ruled_rule_evaluation_failures_total", lbl,
                   (double)res->rules_failed);
    fw_metrics_add(self->metrics, "fw_ruled_rule_group_syncs_total", lbl, (double)res->syncs);
    fw_metrics_set(self->metrics, "fw_ruled_rule_group_last_duration_seconds", lbl,
                   ruled_group_last_duration(slot->group));
    fw_metrics_set(self->metrics, "fw_ruled_rule_group_last_evaluation_timestamp_seconds", lbl,
                   (double)job->t_ms / 1000.0);
    free(lbl);

    if (res->batch->len > 0) {
        fw_metrics_add(self->metrics, "fw_ruled_samples_total", "",
                       (double)fw_batch_samples(res->batch));
        (void)fw_sender_send(self->links.sender, &res->batch, self->links.pub);
    }
    if (json_array_size(res->alerts) > 0) {
        json_t *body = json_object();
        json_object_set_new(body, "source", json_string("ruled"));
        json_object_set(body, "alerts", res->alerts); // not stolen: res keeps its reference
        struct fw_msg *m = fw_msg_new_json(FW_MSG_ALERTS, body); // steals body
        fw_metrics_add(self->metrics, "fw_ruled_alert_messages_total", "", 1);
        (void)fw_daemon_links_send_alerts(&self->links, &m, self->metrics,
                                          "fw_ruled_send_dropped_total");
    }
    ruled_group_result_clear(res);
    s_snapshot(slot);
    s_count_alerts(slot);
    s_update_alert_gauges(self);
}

// Send the partial batches workers wait to have stored (ruled_pool.h, syncs).
static void
s_serve_syncs(ruled_t *self)
{
    uint64_t ticket;
    struct fw_batch *batch;
    bool sent = false;
    while ((batch = ruled_pool_take_sync(self->pool, &ticket))) {
        fw_metrics_add(self->metrics, "fw_ruled_samples_total", "",
                       (double)fw_batch_samples(batch));
        uint64_t seq = 0;
        if (fw_sender_send(self->links.sender, &batch, self->links.pub) == 0)
            seq = fw_sender_last_seq(self->links.sender);
        ruled_pool_sync_sent(self->pool, ticket, seq);
        sent |= seq != 0;
    }
    if (sent) // a worker waits for these: tsdb commits them now, not at its interval
        (void)fw_sender_sync(self->links.sender);
}

static void
s_on_acked(void *arg, uint64_t acked)
{
    ruled_t *self = arg;
    ruled_pool_acked(self->pool, acked);
}

// Take back every finished job. A job's partial batches were queued before it finished:
// they go out first, so tsdb gets a group's samples in the order they were written.
static void
s_collect(ruled_t *self)
{
    struct ruled_pool_job *job;
    while (self->pool && (job = ruled_pool_take(self->pool))) {
        s_serve_syncs(self);
        s_group_done(self, job->arg);
    }
    if (self->pool)
        s_serve_syncs(self);
}

static int
s_on_pool(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    s_collect(arg);
    return 0;
}

// Wait until no worker holds a group, then take their jobs back: before a reload replaces
// the groups and at shutdown. Blocks the loop for at most the evaluations in progress.
static void
s_quiesce(ruled_t *self)
{
    if (!self->pool)
        return;
    ruled_pool_wait_idle(self->pool);
    s_collect(self);
}

static int
s_on_group(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    ruled_t *self = arg;
    struct s_slot *slot = s_slot_by_timer(self, timer_id);
    if (!slot)
        return 0;
    if (timer_id == slot->first_timer_id)
        slot->first_timer_id = -1; // one-shot: zloop forgets it when this returns
    if (slot->running) {
        // The previous evaluation is still out: skip this one, as Prometheus does.
        char *lbl = s_group_label(slot->group);
        fw_metrics_add(self->metrics, "fw_ruled_rule_group_iterations_missed_total", lbl, 1);
        free(lbl);
        return 0;
    }
    slot->running = true;
    slot->job.group = slot->group;
    slot->job.t_ms = fw_time_now_ms();
    slot->job.arg = slot;
    ruled_pool_submit(self->pool, &slot->job);
    return 0;
}

// Never call this from a group timer's handler: once a signal has interrupted zloop_start,
// czmq ends timers at once, and the running one would be freed under it.
static void
s_timers_stop(ruled_t *self)
{
    for (size_t i = 0; i < self->n_slots && self->loop; i++) {
        if (self->slots[i].timer_id >= 0)
            zloop_timer_end(self->loop, self->slots[i].timer_id);
        if (self->slots[i].first_timer_id >= 0)
            zloop_timer_end(self->loop, self->slots[i].first_timer_id);
        self->slots[i].timer_id = self->slots[i].first_timer_id = -1;
    }
}

static void
s_timers_start(ruled_t *self)
{
    for (size_t i = 0; i < self->n_slots; i++) {
        struct s_slot *s = &self->slots[i];
        s->timer_id =
            zloop_timer(self->loop, (size_t)ruled_group_interval_ms(s->group), 0, s_on_group, self);
        s->first_timer_id = zloop_timer(self->loop, S_FIRST_EVAL_MS, 1, s_on_group, self);
    }
}

// Build the slots for cfg (borrowed); alert state moves over from old slots (may be NULL).
static struct s_slot *
s_slots_build(ruled_t *self, const struct ruled_config *cfg, struct s_slot *old, size_t n_old,
              size_t *n_out)
{
    size_t n = 0;
    for (size_t f = 0; f < cfg->n_files; f++)
        n += cfg->files[f].n_groups;
    struct s_slot *slots = fw_calloc(n ? n : 1, sizeof(*slots));
    struct ruled_group_env env = {&cfg->prom.global.external_labels, self->opts.external_url,
                                  cfg->prom.global.evaluation_interval_ms, self->opts.for_grace_ms,
                                  self->opts.outage_tolerance_ms};
    size_t k = 0;
    for (size_t f = 0; f < cfg->n_files; f++) {
        const struct ruled_rulefile *rf = &cfg->files[f];
        for (size_t g = 0; g < rf->n_groups; g++, k++) {
            struct s_slot *s = &slots[k];
            s->self = self;
            s->timer_id = s->first_timer_id = -1;
            s->group = ruled_group_new(rf->name, &rf->groups[g], &env);
            for (size_t o = 0; o < n_old; o++)
                if (old[o].group &&
                    strcmp(ruled_group_key(old[o].group), ruled_group_key(s->group)) == 0)
                    ruled_group_take_state(s->group, old[o].group);
            if (!old)
                s_state_restore(self, s->group);
            fw_info("group.load", "group=%s rules=%zu interval_ms=%lld", ruled_group_key(s->group),
                    rf->groups[g].n_rules, (long long)ruled_group_interval_ms(s->group));
        }
    }
    *n_out = n;
    return slots;
}

// Make slots current and free the previous ones, with old_cfg (which they borrow from;
// may be NULL).
static void
s_install(ruled_t *self, struct s_slot *slots, size_t n, struct ruled_config *old_cfg)
{
    s_timers_stop(self);
    pthread_mutex_lock(&self->lock);
    struct s_slot *old = self->slots;
    size_t n_old = self->n_slots;
    self->slots = slots;
    self->n_slots = n;
    pthread_mutex_unlock(&self->lock);
    s_slots_free(old, n_old);
    if (old_cfg) {
        ruled_rules_config_free(old_cfg);
        free(old_cfg);
    }
    for (size_t i = 0; i < n; i++) {
        s_snapshot(&slots[i]);
        s_count_alerts(&slots[i]);
        char *lbl = s_group_label(slots[i].group);
        fw_metrics_set(self->metrics, "fw_ruled_rule_group_rules", lbl,
                       (double)ruled_group_n_rules(slots[i].group));
        free(lbl);
    }
    if (self->loop)
        s_timers_start(self);
    s_update_alert_gauges(self);
}

// After a reload moved the state of surviving rules into the new groups, whatever series
// the old groups still track belong to removed rules or groups: write staleness markers
// for them, so queries stop seeing them at once.
static void
s_mark_removed_stale(ruled_t *self)
{
    struct fw_batch *batch = fw_batch_new();
    int64_t now = fw_time_now_ms();
    for (size_t o = 0; o < self->n_slots; o++)
        ruled_group_mark_stale(self->slots[o].group, now, batch);
    if (batch->len > 0) {
        fw_metrics_add(self->metrics, "fw_ruled_samples_total", "",
                       (double)fw_batch_samples(batch));
        (void)fw_sender_send(self->links.sender, &batch, self->links.pub);
    }
    fw_batch_destroy(&batch);
}

static int
s_reload(void *arg, char *errbuf, size_t errsize)
{
    ruled_t *self = arg;
    struct ruled_config *cfg = fw_calloc(1, sizeof(*cfg));
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    int rc = ruled_rules_config_load(self->opts.common.config_file, cfg, errs);
    if (rc < 0) {
        fw_daemon_reload_failed(errs, errbuf, errsize);
        ruled_rules_config_free(cfg);
        free(cfg);
        free(errs);
        fw_metrics_set(self->metrics, "fw_ruled_config_last_reload_successful", "", 0);
        return -1;
    }
    free(errs);
    s_quiesce(self); // the old groups give their state to the new ones: no worker may hold one
    size_t n = 0;
    struct s_slot *slots = s_slots_build(self, cfg, self->slots, self->n_slots, &n);
    s_mark_removed_stale(self);
    struct ruled_config *old_cfg = self->cfg;
    self->cfg = cfg;
    s_install(self, slots, n, old_cfg);
    fw_metrics_set(self->metrics, "fw_ruled_config_last_reload_successful", "", 1);
    fw_info("config.reload", "groups=%zu", n);
    return 0;
}

static int
s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ruled_t *self = arg;
    (void)fw_daemon_reload_step(self->http, s_reload, self);
    return 0;
}

// =================================================================================
//  HTTP API (libmicrohttpd threads: snapshot strings only, under lock)
// =================================================================================

#define S_MAX_FILTER 32

struct s_rules_filter {
    const char *type;                // "alert", "record" or NULL
    const char *names[S_MAX_FILTER]; // rule_name[]
    size_t n_names;
    const char *groups[S_MAX_FILTER]; // rule_group[]
    size_t n_groups;
    const char *files[S_MAX_FILTER]; // file[]
    size_t n_files;
    bool exclude_alerts;
};

// True when s is one of list (or list is empty).
static bool
s_in(const char *s, const char *const *list, size_t n)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (s && strcmp(s, list[i]) == 0)
            return true;
    return false;
}

static bool
s_rule_matches(json_t *rule, const struct s_rules_filter *f)
{
    const char *t = json_string_value(json_object_get(rule, "type"));
    if (f->type && t &&
        !((strcmp(f->type, "alert") == 0 && strcmp(t, "alerting") == 0) ||
          (strcmp(f->type, "record") == 0 && strcmp(t, "recording") == 0)))
        return false;
    return s_in(json_string_value(json_object_get(rule, "name")), f->names, f->n_names);
}

// Prometheus's GET /api/v1/rules: type, rule_name[], rule_group[], file[], exclude_alerts.
static int
s_api_rules(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    ruled_t *self = arg;
    struct s_rules_filter f = {.type = fw_http_arg(req, "type")};
    f.n_names = fw_http_args(req, "rule_name[]", f.names, S_MAX_FILTER);
    f.n_groups = fw_http_args(req, "rule_group[]", f.groups, S_MAX_FILTER);
    f.n_files = fw_http_args(req, "file[]", f.files, S_MAX_FILTER);
    const char *ex = fw_http_arg(req, "exclude_alerts");
    f.exclude_alerts = ex && strcmp(ex, "true") == 0;
    if (f.n_names > S_MAX_FILTER || f.n_groups > S_MAX_FILTER || f.n_files > S_MAX_FILTER ||
        (f.type && strcmp(f.type, "alert") != 0 && strcmp(f.type, "record") != 0)) {
        fw_http_respond(resp, 400, "application/json",
                        "{\"status\":\"error\",\"errorType\":\"bad_data\","
                        "\"error\":\"invalid rule type or too many filter values\"}");
        return 0;
    }
    bool filtered = f.type || f.n_names > 0;
    json_t *groups = json_array();
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_slots; i++) {
        json_t *g =
            self->slots[i].rules_json ? json_loads(self->slots[i].rules_json, 0, NULL) : NULL;
        if (!g)
            continue;
        if (!s_in(json_string_value(json_object_get(g, "name")), f.groups, f.n_groups) ||
            !s_in(json_string_value(json_object_get(g, "file")), f.files, f.n_files)) {
            json_decref(g);
            continue;
        }
        json_t *rules = json_object_get(g, "rules");
        for (size_t r = json_array_size(rules); r-- > 0;) {
            json_t *rule = json_array_get(rules, r);
            if (!s_rule_matches(rule, &f))
                json_array_remove(rules, r);
            else if (f.exclude_alerts)
                json_object_del(rule, "alerts");
        }
        if (filtered && json_array_size(rules) == 0)
            json_decref(g);
        else
            json_array_append_new(groups, g); // steals g
    }
    pthread_mutex_unlock(&self->lock);
    json_t *data = json_object();
    json_object_set_new(data, "groups", groups); // steals groups
    json_t *top = json_object();
    json_object_set_new(top, "status", json_string("success"));
    json_object_set_new(top, "data", data); // steals data
    resp->status = 200;
    resp->body = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(12));
    resp->content_type = "application/json";
    json_decref(top);
    return 0;
}

static int
s_api_alerts(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    ruled_t *self = arg;
    size_t cap = 64;
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->n_slots; i++)
        cap += (self->slots[i].alerts_json ? strlen(self->slots[i].alerts_json) : 0) + 1;
    char *body = fw_malloc(cap);
    size_t len = (size_t)snprintf(body, cap, "{\"status\":\"success\",\"data\":{\"alerts\":[");
    bool first = true;
    for (size_t i = 0; i < self->n_slots; i++) {
        const char *a = self->slots[i].alerts_json;
        if (!a || !a[0])
            continue;
        if (!first)
            body[len++] = ',';
        first = false;
        size_t n = strlen(a);
        memcpy(body + len, a, n);
        len += n;
    }
    pthread_mutex_unlock(&self->lock);
    memcpy(body + len, "]}}", 4);
    resp->status = 200;
    resp->body = body;
    resp->content_type = "application/json";
    return 0;
}

// =================================================================================
//  Open and run
// =================================================================================

int
ruled_open(ruled_t *self, fw_err_t *err)
{
    const struct ruled_opts *o = &self->opts;
    self->opts.eval.sender.name = "ruled";
    if (fw_daemon_links_open(&self->links, &o->eval, o->common.zmq_max_msg_size, self->metrics,
                             err) < 0)
        return -1;
    self->pool =
        ruled_pool_new((size_t)o->group_workers, o->eval.query_address, o->common.zmq_max_msg_size,
                       (int)o->eval.query_timeout_ms, self->metrics, err);
    if (!self->pool)
        return -1;
    if (o->storage_path && o->storage_path[0]) {
        self->state = ruled_state_new();
        if (ruled_state_open(self->state, o->storage_path, err) < 0)
            return -1;
    }
    size_t n = 0;
    struct s_slot *slots = s_slots_build(self, self->cfg, NULL, 0, &n);
    s_install(self, slots, n, NULL);

    self->http = fw_http_new("ruled", self->metrics);
    fw_http_set_web_config(self->http, o->common.web_config_file);
    fw_http_route(self->http, "GET,POST", "/api/v1/rules", s_api_rules, self);
    fw_http_route(self->http, "GET,POST", "/api/v1/alerts", s_api_alerts, self);
    if (fw_http_start(self->http, o->common.web_listen_address, err) < 0)
        return -1;
    fw_http_set_ready(self->http, true);
    fw_info("ruled.start", "listen=%s port=%d groups=%zu", o->common.web_listen_address,
            fw_http_port(self->http), self->n_slots);
    return 0;
}

int
ruled_run(ruled_t *self)
{
    self->loop = zloop_new();
    s_timers_start(self);
    zloop_timer(self->loop, 1000, 0, s_on_housekeeping, self);
    zmq_pollitem_t done = {NULL, ruled_pool_fd(self->pool), ZMQ_POLLIN, 0};
    if (zloop_poller(self->loop, &done, s_on_pool, self) != 0) {
        fw_error("ruled.start.fail", "err=%s", "cannot watch the rule group pool");
        return -1;
    }
    if (fw_sender_attach(self->links.sender, self->loop) != 0) {
        fw_error("ruled.start.fail", "err=%s", "cannot attach the samples sender to the loop");
        return -1;
    }
    fw_sender_on_ack(self->links.sender, s_on_acked, self);
    (void)fw_zloop_run(self->loop); // survives SIGHUP; SIGINT/SIGTERM end it
    s_timers_stop(self);
    s_quiesce(self); // what is being evaluated is sent and saved before the flush
    fw_sender_on_ack(self->links.sender, NULL, NULL);
    fw_sender_detach(self->links.sender);
    size_t left = fw_sender_flush(self->links.sender, S_FLUSH_MS);
    fw_info("ruled.stop", "groups=%zu unacked=%zu", self->n_slots, left);
    return 0;
}
