/*  slod.c — the slod daemon class: sockets, zloop, evaluation timer, HTTP, reload.

    One zloop on the main thread with one evaluation timer (evaluation_interval, plus a
    one-shot soon after start and after each reload) and the 1 Hz housekeeping timer for
    SIGHUP and /-/reload. A reload builds a new evaluator for the new configuration and
    moves each SLO's alert state over by name.

    The timers carry the daemon, which outlives them; a timer whose id is no longer one of
    ours was ended by a reload and does nothing. (czmq's zloop_timer_end() only queues the
    id until the loop iteration ends, so a timer ended by a reload run from the housekeeping
    timer can still fire later in the same iteration.) Queries are synchronous and matched
    by request id (fw_query.h), so a late answer never reaches a replaced evaluator.

    /api/v1/slos runs on libmicrohttpd's threads and only reads a JSON snapshot string that
    the zloop thread rebuilds after each evaluation under `lock`.
*/
#include "slod.h"

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
#include "slod_eval.h"
#include "slod_report.h"

#define S_FIRST_EVAL_MS 500
#define S_FLUSH_MS 2000 // at shutdown, how long tsdb gets to acknowledge what is held

extern const char fw_embed_slod_default[];

struct slod {
    struct slod_opts opts; // strings borrowed
    struct slod_cfg *cfg;  // owned
    slod_eval_t *eval;     // owned
    zloop_t *loop;         // owned
    int timer_id, first_timer_id;
    struct fw_daemon_links links; // owned: sender to tsdb, PUSH alertd, PUB, query client
    fw_metrics_t *metrics;        // owned
    fw_http_t *http;              // owned
    pthread_mutex_t lock;         // guards snapshot
    char *snapshot;               // owned: the /api/v1/slos body
};

int
slod_load_config(const char *config_file, struct slod_cfg *out, struct fw_cfg_errors *errs)
{
    if (config_file)
        return slod_cfg_load(config_file, NULL, out, errs);
    return slod_cfg_load("slod.example.yml", fw_embed_slod_default, out, errs);
}

slod_t *
slod_new(const struct slod_opts *opts, struct slod_cfg **cfg_p)
{
    slod_t *self = fw_calloc(1, sizeof(*self));
    self->opts = *opts;
    self->cfg = *cfg_p;
    *cfg_p = NULL;
    self->cfg->external_url = opts->external_url;
    self->eval = slod_eval_new(self->cfg, (size_t)opts->backfill_buckets);
    self->timer_id = self->first_timer_id = -1;
    pthread_mutex_init(&self->lock, NULL);
    self->snapshot = fw_strdup("{\"status\":\"success\",\"data\":{\"slos\":[]}}");
    fw_metrics_t *m = self->metrics = fw_metrics_new();
    fw_metrics_declare(m, "fw_slod_evaluations_total", FW_METRIC_COUNTER,
                       "SLO evaluations, by slo.");
    fw_metrics_declare(m, "fw_slod_evaluation_failures_total", FW_METRIC_COUNTER,
                       "SLI queries that failed, by slo.");
    fw_metrics_declare(m, "fw_slod_last_duration_seconds", FW_METRIC_GAUGE,
                       "Duration of the last evaluation of all SLOs.");
    fw_metrics_declare(m, "fw_slod_samples_total", FW_METRIC_COUNTER, "Samples sent to tsdb.");
    fw_metrics_declare(m, "fw_slod_alerts_firing", FW_METRIC_GAUGE,
                       "Firing burn-rate alerts, by severity.");
    fw_metrics_declare(m, "fw_slod_send_dropped_total", FW_METRIC_COUNTER,
                       "Messages dropped because a peer's queue was full, by socket.");
    fw_metrics_declare(m, "fw_slod_config_last_reload_successful", FW_METRIC_GAUGE,
                       "Whether the last configuration reload succeeded.");
    fw_zsock_declare_metrics(m);
    fw_metrics_set(m, "fw_slod_config_last_reload_successful", "", 1);
    return self;
}

void
slod_destroy(slod_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    slod_t *self = *self_p;
    fw_http_destroy(&self->http);
    fw_sender_detach(self->links.sender);
    zloop_destroy(&self->loop);
    fw_daemon_links_close(&self->links);
    slod_eval_destroy(&self->eval);
    if (self->cfg) {
        slod_cfg_free(self->cfg);
        free(self->cfg);
    }
    fw_metrics_destroy(&self->metrics);
    free(self->snapshot);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

// =================================================================================
//  Evaluation
// =================================================================================

static char *
s_slo_label(const char *name)
{
    json_t *js = json_string(name);
    char *q = json_dumps(js, JSON_ENCODE_ANY);
    json_decref(js);
    char *lbl = fw_asprintf("slo=%s", q ? q : "\"\"");
    free(q);
    return lbl;
}

// The /api/v1/slos body from the last evaluation.
static char *
s_build_snapshot(const slod_t *self)
{
    json_t *top = json_pack("{s:s, s:o}", "status", "success", "data",
                            slod_report_json(self->cfg, self->eval)); // o steals
    char *out = json_dumps(top, JSON_COMPACT | JSON_REAL_PRECISION(12));
    json_decref(top);
    return out;
}

static int
s_on_eval(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    slod_t *self = arg;
    if (timer_id != self->timer_id && timer_id != self->first_timer_id)
        return 0; // ended by a reload earlier in this loop iteration
    if (timer_id == self->first_timer_id)
        self->first_timer_id = -1; // one-shot: zloop forgets it when this returns
    int64_t start = fw_time_mono_ms();
    size_t *failed = fw_calloc(self->cfg->n_slos + 1, sizeof(size_t));
    struct slod_eval_result res;
    struct slod_query_client qc = {self->links.query, self->links.query_timeout_ms};
    slod_eval_run(self->eval, fw_time_now_ms(), slod_eval_query, &qc, &res, failed);
    size_t firing[SLOD_N_SEVERITIES] = {0};
    for (size_t i = 0; i < self->cfg->n_slos; i++) {
        char *lbl = s_slo_label(self->cfg->slos[i].id);
        fw_metrics_add(self->metrics, "fw_slod_evaluations_total", lbl, 1);
        fw_metrics_add(self->metrics, "fw_slod_evaluation_failures_total", lbl, (double)failed[i]);
        free(lbl);
        for (int sev = 0; sev < SLOD_N_SEVERITIES; sev++)
            firing[sev] += slod_eval_firing(self->eval, i, sev);
    }
    free(failed);
    fw_metrics_set(self->metrics, "fw_slod_alerts_firing", "severity=\"page\"",
                   (double)firing[SLOD_PAGE]);
    fw_metrics_set(self->metrics, "fw_slod_alerts_firing", "severity=\"ticket\"",
                   (double)firing[SLOD_TICKET]);
    fw_metrics_set(self->metrics, "fw_slod_last_duration_seconds", "",
                   (double)(fw_time_mono_ms() - start) / 1000.0);

    char *snap = s_build_snapshot(self);
    pthread_mutex_lock(&self->lock);
    free(self->snapshot);
    self->snapshot = snap;
    pthread_mutex_unlock(&self->lock);

    if (res.batch->len > 0) {
        fw_metrics_add(self->metrics, "fw_slod_samples_total", "",
                       (double)fw_batch_samples(res.batch));
        (void)fw_sender_send(self->links.sender, &res.batch, self->links.pub);
    }
    if (json_array_size(res.alerts) > 0) {
        json_t *body = json_object();
        json_object_set_new(body, "source", json_string("slod"));
        json_object_set(body, "alerts", res.alerts); // not stolen: res keeps its reference
        struct fw_msg *m = fw_msg_new_json(FW_MSG_ALERTS, body); // steals body
        (void)fw_daemon_links_send_alerts(&self->links, &m, self->metrics,
                                          "fw_slod_send_dropped_total");
    }
    slod_eval_result_clear(&res);
    return 0;
}

static void
s_timers_start(slod_t *self)
{
    self->timer_id =
        zloop_timer(self->loop, (size_t)self->cfg->evaluation_interval_ms, 0, s_on_eval, self);
    self->first_timer_id = zloop_timer(self->loop, S_FIRST_EVAL_MS, 1, s_on_eval, self);
}

// Never call this from s_on_eval: once a signal has interrupted zloop_start, czmq ends
// timers at once, and the running one would be freed under it.
static void
s_timers_stop(slod_t *self)
{
    if (self->timer_id >= 0)
        zloop_timer_end(self->loop, self->timer_id);
    if (self->first_timer_id >= 0)
        zloop_timer_end(self->loop, self->first_timer_id);
    self->timer_id = self->first_timer_id = -1;
}

static int
s_reload(void *arg, char *errbuf, size_t errsize)
{
    slod_t *self = arg;
    struct slod_cfg *cfg = fw_calloc(1, sizeof(*cfg));
    struct fw_cfg_errors *errs = fw_calloc(1, sizeof(*errs));
    if (slod_load_config(self->opts.common.config_file, cfg, errs) < 0) {
        fw_daemon_reload_failed(errs, errbuf, errsize);
        slod_cfg_free(cfg);
        free(cfg);
        free(errs);
        fw_metrics_set(self->metrics, "fw_slod_config_last_reload_successful", "", 0);
        return -1;
    }
    free(errs);
    cfg->external_url = self->opts.external_url;
    slod_eval_t *eval = slod_eval_new(cfg, (size_t)self->opts.backfill_buckets);
    slod_eval_take_state(eval, self->eval);
    slod_eval_destroy(&self->eval);
    slod_cfg_free(self->cfg);
    free(self->cfg);
    self->cfg = cfg;
    self->eval = eval;
    s_timers_stop(self);
    s_timers_start(self);
    fw_metrics_set(self->metrics, "fw_slod_config_last_reload_successful", "", 1);
    fw_info("config.reload", "slos=%zu", cfg->n_slos);
    return 0;
}

static int
s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    slod_t *self = arg;
    (void)fw_daemon_reload_step(self->http, s_reload, self);
    return 0;
}

static int
s_api_slos(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    slod_t *self = arg;
    pthread_mutex_lock(&self->lock);
    char *body = fw_strdup(self->snapshot);
    pthread_mutex_unlock(&self->lock);
    resp->status = 200;
    resp->body = body;
    resp->content_type = "application/json";
    return 0;
}

// =================================================================================
//  Open and run
// =================================================================================

int
slod_open(slod_t *self, fw_err_t *err)
{
    const struct slod_opts *o = &self->opts;
    self->opts.eval.sender.name = "slod";
    if (fw_daemon_links_open(&self->links, &o->eval, o->common.zmq_max_msg_size, self->metrics,
                             err) < 0)
        return -1;
    if (o->storage_path && o->storage_path[0] &&
        slod_eval_open_journal(self->eval, o->storage_path, err) < 0)
        return -1;
    self->http = fw_http_new("slod", self->metrics);
    fw_http_set_web_config(self->http, o->common.web_config_file);
    fw_http_route(self->http, "GET", "/api/v1/slos", s_api_slos, self);
    if (fw_http_start(self->http, o->common.web_listen_address, err) < 0)
        return -1;
    fw_http_set_ready(self->http, true);
    fw_info("slod.start", "listen=%s port=%d slos=%zu", o->common.web_listen_address,
            fw_http_port(self->http), self->cfg->n_slos);
    return 0;
}

int
slod_run(slod_t *self)
{
    self->loop = zloop_new();
    s_timers_start(self);
    zloop_timer(self->loop, 1000, 0, s_on_housekeeping, self);
    if (fw_sender_attach(self->links.sender, self->loop) != 0) {
        fw_error("slod.start.fail", "err=%s", "cannot attach the samples sender to the loop");
        return -1;
    }
    (void)fw_zloop_run(self->loop); // survives SIGHUP; SIGINT/SIGTERM end it
    fw_sender_detach(self->links.sender);
    size_t left = fw_sender_flush(self->links.sender, S_FLUSH_MS);
    fw_info("slod.stop", "slos=%zu unacked=%zu", self->cfg->n_slos, left);
    return 0;
}
