/*  alertd.c — the alertd daemon class: sockets, zloop, timers and the API v2 handlers.

    One zloop on the main thread: s_on_alerts reads the PULL socket, s_on_flush (50 ms)
    flushes due aggregation groups into NOTIFY messages, s_on_housekeeping (1 Hz) reloads
    the config on SIGHUP or /-/reload, garbage-collects resolved alerts and expired
    silences, and sets the gauges. The HTTP thread serves /api/v2/...; everything both
    threads touch (store, dispatcher, silences, config) sits behind self->lock, taken for
    short, non-blocking sections only. Sockets are used by the zloop thread alone.

    State that must survive a restart (alerts, silences, the notification log) is written
    through alertd_state (LMDB under --storage.path): alerts in one batch per ALERTS message
    or POST, the notification log of a flush committed with fsync before its NOTIFY messages
    leave, silences committed with fsync before the API answers.
*/
#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alertd.h"
#include "alertd_cfg_receivers.h"
#include "alertd_dispatch.h"
#include "alertd_inhibit.h"
#include "alertd_matcher.h"
#include "alertd_nflog.h"
#include "alertd_route.h"
#include "alertd_silence.h"
#include "alertd_state.h"
#include "alertd_store.h"
#include "fw_daemon.h"
#include "fw_http.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"

extern const char fw_embed_alertd_default[];

#define S_RESOLVED_RETENTION_MS (15 * 60 * 1000)

struct alertd {
    const struct alertd_opts *opts; // borrowed
    pthread_mutex_t lock;           // guards cfg, tree, store, dispatch, silences
    struct alertd_cfg *cfg;         // owned
    struct alertd_route *tree;      // owned
    alertd_store_t *store;          // owned
    alertd_dispatch_t *dispatch;    // owned
    alertd_silences_t *silences;    // owned
    alertd_inhibit_t *inhibit;      // owned
    uint64_t generation;            // bumped on every store change
    uint64_t inhibit_generation;    // generation the inhibit index was built at
    int64_t inhibit_at;             // when it was built
    zsock_t *pull, *push, *pub;     // owned
    fw_zsock_guard_t *pull_guard;   // owned: counts oversized messages
    zsock_t *wake_pull, *wake_push; // owned: the HTTP thread wakes the loop for due groups
    zloop_t *loop;                  // owned
    fw_metrics_t *metrics;          // owned
    fw_http_t *http;                // owned
    int64_t started_ms;
    alertd_state_t *state;   // owned: NULL when not persisting
    alertd_nflog_t *nflog;   // owned
    bool state_unsynced;     // alerts committed without fsync since the last sync
    uint64_t silences_saved; // alertd_silences_version() of the last successful save
};

struct alertd_cfg *
alertd_config_load(const char *file, struct fw_cfg_errors *errs)
{
    if (file)
        return alertd_cfg_load(file, NULL, errs);
    return alertd_cfg_load("alertd.example.yml (embedded)", fw_embed_alertd_default, errs);
}

// --- shared state (called with the lock held) ---

// Rebuild the inhibit index when the store changed or a second passed (alerts resolve by
// the clock).
static void
s_inhibit_refresh_locked(alertd_t *self, int64_t now)
{
    if (self->inhibit_generation == self->generation && now - self->inhibit_at < 1000)
        return;
    alertd_inhibit_update(self->inhibit, self->store, now);
    self->inhibit_generation = self->generation;
    self->inhibit_at = now;
}

static bool
s_silenced(alertd_t *self, const struct alertd_alert *a, int64_t now)
{
    json_t *ids = alertd_silences_muting(self->silences, &a->labels, now);
    bool muted = json_array_size(ids) > 0;
    json_decref(ids);
    return muted;
}

static bool
s_muted(const struct alertd_alert *a, int64_t now, void *arg)
{
    alertd_t *self = arg;
    return alertd_inhibit_mutes(self->inhibit, &a->labels) || s_silenced(self, a, now);
}

static void
s_ingest_locked(alertd_t *self, struct alertd_alert *a, int64_t now)
{
    fw_metrics_add(self->metrics, "fw_alertd_alerts_received_total",
                   alertd_alert_resolved(a, now) ? "status=\"resolved\"" : "status=\"firing\"", 1);
    self->generation++;
    const struct alertd_alert *stored = alertd_store_put(self->store, a, now);
    alertd_store_persist(stored, self->state);
    alertd_dispatch_insert(self->dispatch, stored, now);
}

// Commit the open state batch; a failure is logged and counted, and alertd carries on from
// memory (a page is better sent twice than not at all).
static void
s_state_commit_locked(alertd_t *self, bool sync)
{
    fw_err_t err;
    fw_err_clear(&err);
    if (alertd_state_commit(self->state, sync, &err) < 0) {
        fw_warn("storage.fail", "err=%s", err.msg);
        fw_metrics_add(self->metrics, "fw_alertd_storage_failures_total", "", 1);
    } else if (!sync) {
        self->state_unsynced = true;
    }
}

// Most bytes of rejection reasons one API answer carries.
#define S_REASONS_MAX 4096

// Append reason to *list (NULL or fw_malloc'd), "; "-separated as Alertmanager joins its
// validation errors, up to S_REASONS_MAX bytes.
static void
s_reason_append(char **list, const char *reason)
{
    if (!list)
        return;
    if (!*list) {
        *list = fw_strdup(reason);
        return;
    }
    size_t n = strlen(*list);
    if (n >= S_REASONS_MAX)
        return;
    char *more = fw_asprintf("%s; %s", *list, n + strlen(reason) < S_REASONS_MAX ? reason : "...");
    free(*list);
    *list = more;
}

// Parse and ingest an array of postable alerts; the valid ones are kept. Returns how many
// were rejected; their reasons go into *reasons (may be NULL; caller frees).
static size_t
s_ingest_array(alertd_t *self, const json_t *arr, const char *source, char **reasons)
{
    size_t bad = 0, i;
    const json_t *j;
    int64_t now = fw_time_now_ms();
    pthread_mutex_lock(&self->lock);
    (void)alertd_state_begin(self->state, NULL);
    json_array_foreach(arr, i, j)
    {
        struct alertd_alert a;
        fw_err_t e;
        fw_err_clear(&e);
        if (alertd_alert_parse(j, now, self->cfg->global.resolve_timeout, &a, &e) < 0) {
            bad++;
            s_reason_append(reasons, e.msg);
            fw_warn("alert.reject", "source=%s index=%zu err=%s", source, i, e.msg);
            fw_metrics_add(self->metrics, "fw_alertd_alerts_invalid_total", "", 1);
            continue;
        }
        s_ingest_locked(self, &a, now);
    }
    s_state_commit_locked(self, false);
    pthread_mutex_unlock(&self->lock);
    return bad;
}

// --- zloop handlers ---

static int s_on_flush(zloop_t *loop, int timer_id, void *arg);

static int
s_on_alerts(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    alertd_t *self = arg;
    struct fw_msg *msg = NULL;
    if (fw_zsock_recv(sock, FW_MSG_ALERTS, self->metrics, &msg) < 0)
        return 0; // rejected, logged and counted
    const char *source = json_string_value(json_object_get(msg->body, "source"));
    json_t *alerts = json_object_get(msg->body, "alerts");
    s_ingest_array(self, alerts, source ? source : "zmq", NULL);
    s_on_flush(loop, 0, self);
    if (self->pub) {
        // Re-publish what we handled for taps (fwtail).
        struct fw_msg *copy = fw_msg_new_json(FW_MSG_ALERTS, json_incref(msg->body));
        (void)fw_msg_send(&copy, self->pub, NULL);
    }
    fw_msg_destroy(&msg);
    return 0;
}

static void
s_send_notify(alertd_t *self, json_t *body)
{
    const char *receiver = json_string_value(json_object_get(body, "receiver"));
    // Slack, PagerDuty, ... configs (only this thread replaces self->cfg).
    alertd_cfg_receivers_notify(receiver ? alertd_cfg_receiver(self->cfg, receiver) : NULL, body);
    char labels[256];
    snprintf(labels, sizeof labels, "receiver=\"%s\"", receiver ? receiver : "");
    fw_metrics_add(self->metrics, "fw_alertd_notifications_total", labels, 1);
    json_t *payload = json_object_get(body, "payload");
    fw_info("notify.send", "receiver=%s group_key=%s status=%s alerts=%zu", receiver,
            json_string_value(json_object_get(payload, "groupKey")),
            json_string_value(json_object_get(payload, "status")),
            json_array_size(json_object_get(payload, "alerts")));
    fw_err_t err;
    fw_err_clear(&err);
    struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY, json_incref(body));
    if (fw_msg_send(&m, self->push, &err) < 0) {
        fw_warn("notify.drop", "receiver=%s err=%s", receiver, err.msg);
        fw_metrics_add(self->metrics, "fw_alertd_notifications_dropped_total", labels, 1);
    }
    // Taps see the notification without its secrets (fw_msg.def's FW_SECRET list).
    m = fw_msg_new_json(FW_MSG_NOTIFY, fw_msg_redacted(FW_MSG_NOTIFY, body));
    (void)fw_msg_send(&m, self->pub, NULL);
}

static int
s_on_flush(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    alertd_t *self = arg;
    json_t *out = json_array();
    int64_t now = fw_time_now_ms();
    pthread_mutex_lock(&self->lock);
    if (alertd_dispatch_next(self->dispatch) <= now) {
        s_inhibit_refresh_locked(self, now);
        (void)alertd_state_begin(self->state, NULL);
        // The log entries of these notifications reach the disk before they leave.
        s_state_commit_locked(self, alertd_dispatch_tick(self->dispatch, now, out) > 0);
    }
    pthread_mutex_unlock(&self->lock);
    size_t i;
    json_t *body;
    json_array_foreach(out, i, body) s_send_notify(self, body);
    json_decref(out);
    return 0;
}

static int
s_on_wake(zloop_t *loop, zsock_t *sock, void *arg)
{
    while (zsock_events(sock) & ZMQ_POLLIN) {
        char *w = zstr_recv(sock);
        if (!w)
            break;
        zstr_free(&w);
    }
    return s_on_flush(loop, 0, arg);
}

// Swap in a new config: rebuild the tree and the dispatcher, re-route every live alert.
static void
s_apply_config_locked(alertd_t *self, struct alertd_cfg *cfg)
{
    alertd_dispatch_destroy(&self->dispatch);
    alertd_route_destroy(&self->tree);
    alertd_inhibit_destroy(&self->inhibit);
    alertd_cfg_destroy(&self->cfg);
    self->cfg = cfg;
    self->inhibit = alertd_inhibit_new(cfg);
    self->generation++;
    self->tree = alertd_route_build(&cfg->route);
    self->dispatch = alertd_dispatch_new(cfg, self->tree, self->opts->external_url);
    alertd_dispatch_set_muted(self->dispatch, s_muted, self);
    alertd_dispatch_set_nflog(self->dispatch, self->nflog);
    // Resolved alerts too: one that resolved while alertd was down (or reloading) still owes
    // its group's resolved notification; the notification log says whether it went out.
    int64_t now = fw_time_now_ms();
    for (const struct alertd_alert *a = alertd_store_first(self->store); a;
         a = alertd_store_next(self->store))
        alertd_dispatch_insert(self->dispatch, a, now);
}

static int
s_reload(void *arg, char *errmsg, size_t size)
{
    alertd_t *self = arg;
    struct fw_cfg_errors errs = {0};
    struct alertd_cfg *cfg = alertd_config_load(self->opts->common.config_file, &errs);
    if (!cfg) {
        fw_daemon_reload_failed(&errs, errmsg, size);
        fw_metrics_set(self->metrics, "fw_config_last_reload_successful", "", 0);
        return -1;
    }
    pthread_mutex_lock(&self->lock);
    s_apply_config_locked(self, cfg);
    pthread_mutex_unlock(&self->lock);
    fw_metrics_set(self->metrics, "fw_config_last_reload_successful", "", 1);
    fw_info("config.reload", "file=%s", self->opts->common.config_file);
    return 0;
}

// --- persistence (alertd_state) ---

// Open the state and read it back: silences, the notification log, the alerts. -1 (logged)
// when the state cannot be used: alertd then refuses to start rather than forget.
static int
s_state_open(alertd_t *self)
{
    const char *dir = self->opts->storage_path;
    fw_err_t err;
    fw_err_clear(&err);
    if (!dir || !*dir) {
        self->nflog = alertd_nflog_new(NULL, self->opts->data_retention);
        return 0;
    }
    self->state = alertd_state_new();
    if (alertd_state_open(self->state, dir, &err) < 0) {
        fw_error("storage.open.fail", "path=%s err=%s", dir, err.msg);
        return -1;
    }
    self->nflog = alertd_nflog_new(self->state, self->opts->data_retention);
    char *legacy = fw_asprintf("%s/silences.json", dir);
    size_t skipped = 0, bad_nflog = 0, bad_alerts = 0;
    ssize_t sil = alertd_silences_load(self->silences, self->state, legacy, &skipped, &err);
    free(legacy);
    // Each skipped silence was logged (event=silence.invalid); the rest are in force.
    fw_metrics_add(self->metrics, "fw_alertd_silences_invalid_total", "", (double)skipped);
    self->silences_saved = alertd_silences_version(self->silences);
    ssize_t nfl = sil < 0 ? -1 : alertd_nflog_load(self->nflog, fw_time_now_ms(), &bad_nflog, &err);
    ssize_t alerts = nfl < 0 ? -1 : alertd_store_load(self->store, self->state, &bad_alerts, &err);
    if (alerts < 0) {
        fw_error("storage.open.fail", "path=%s err=%s", dir, err.msg);
        return -1;
    }
    fw_info("state.restore",
            "path=%s silences=%zd skipped=%zu nflog=%zd alerts=%zd undecodable=%zu", dir, sil,
            skipped, nfl, alerts, bad_nflog + bad_alerts);
    return 0;
}

// Write the silences when they changed, fsync'd. Called with the lock held.
static void
s_silences_save_locked(alertd_t *self)
{
    uint64_t version = alertd_silences_version(self->silences);
    if (!self->state || version == self->silences_saved)
        return;
    (void)alertd_state_begin(self->state, NULL);
    alertd_silences_persist(self->silences, self->state, fw_time_now_ms());
    fw_err_t err;
    fw_err_clear(&err);
    if (alertd_state_commit(self->state, true, &err) == 0)
        self->silences_saved = version;
    else
        fw_warn("storage.fail", "what=silences err=%s", err.msg);
}

static void
s_silences_save(alertd_t *self)
{
    pthread_mutex_lock(&self->lock);
    s_silences_save_locked(self);
    pthread_mutex_unlock(&self->lock);
}

static int
s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    alertd_t *self = arg;
    (void)fw_daemon_reload_step(self->http, s_reload, self);
    int64_t now = fw_time_now_ms();
    size_t active = 0, suppressed = 0;
    pthread_mutex_lock(&self->lock);
    if (alertd_store_gc(self->store, now - S_RESOLVED_RETENTION_MS) > 0) {
        self->generation++;
        (void)alertd_state_gc(self->state, ALERTD_STATE_ALERTS, now - S_RESOLVED_RETENTION_MS,
                              NULL);
    }
    alertd_nflog_gc(self->nflog, now);
    if (self->state_unsynced && alertd_state_sync(self->state, NULL) == 0)
        self->state_unsynced = false;
    s_inhibit_refresh_locked(self, now);
    alertd_silences_gc(self->silences, now - S_RESOLVED_RETENTION_MS);
    for (const struct alertd_alert *a = alertd_store_first(self->store); a;
         a = alertd_store_next(self->store)) {
        if (alertd_alert_resolved(a, now))
            continue;
        if (s_muted(a, now, self))
            suppressed++;
        else
            active++;
    }
    size_t groups = alertd_dispatch_groups(self->dispatch);
    size_t silences = alertd_silences_active(self->silences, now);
    pthread_mutex_unlock(&self->lock);
    fw_metrics_set(self->metrics, "fw_alertd_alerts", "state=\"active\"", (double)active);
    fw_metrics_set(self->metrics, "fw_alertd_alerts", "state=\"suppressed\"", (double)suppressed);
    fw_metrics_set(self->metrics, "fw_alertd_groups", "", (double)groups);
    fw_metrics_set(self->metrics, "fw_alertd_silences", "state=\"active\"", (double)silences);
    s_silences_save(self);
    return 0;
}

// --- HTTP API v2 (HTTP thread) ---

static void
s_json_respond(struct fw_http_response *resp, int status, json_t *j)
{
    // JSON_ENCODE_ANY: error bodies are bare JSON strings.
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    resp->status = status;
    resp->body = fw_strdup(text ? text : "null");
    free(text);
    resp->content_type = "application/json";
}

static void
s_json_error(struct fw_http_response *resp, int status, const char *msg)
{
    // Alertmanager's handlers answer errors as a JSON string.
    s_json_respond(resp, status, json_string(msg));
}

// The answer Alertmanager's generated API layer (go-swagger) gives before a handler runs: a
// body that does not parse (400, code 400) or breaks the schema (422, code 6xx).
static void
s_api_error(struct fw_http_response *resp, int status, int code, const char *msg)
{
    s_json_respond(resp, status, json_pack("{s:i, s:s}", "code", code, "message", msg));
}

// Parse a request body as JSON; on failure answer as go-swagger does and return NULL.
static json_t *
s_body_json(const fw_http_request_t *req, const char *what, struct fw_http_response *resp)
{
    size_t len = 0;
    const char *body = fw_http_body(req, &len);
    json_error_t jerr;
    json_t *j = body ? json_loadb(body, len, 0, &jerr) : NULL;
    if (!j) {
        char msg[512];
        snprintf(msg, sizeof msg, "parsing %s body from \"\" failed, because %s", what,
                 body ? jerr.text : "the body is empty");
        s_api_error(resp, 400, 400, msg);
    }
    return j;
}

struct s_render {
    alertd_t *self;
    int64_t now;
    bool active, silenced, inhibited, unprocessed;
    struct alertd_matchers filter;
    struct alertd_matchers receiver;
};

static json_t *
s_render_alert(const struct alertd_alert *a, void *arg)
{
    struct s_render *r = arg;
    if (alertd_alert_resolved(a, r->now))
        return NULL;
    if (!alertd_matchers_match(&r->filter, &a->labels))
        return NULL;
    json_t *silenced_by = alertd_silences_muting(r->self->silences, &a->labels, r->now);
    bool silenced = json_array_size(silenced_by) > 0;
    bool inhibited = alertd_inhibit_mutes(r->self->inhibit, &a->labels);
    bool suppressed = silenced || inhibited;
    if ((silenced && !r->silenced) || (inhibited && !r->inhibited) || (!suppressed && !r->active)) {
        json_decref(silenced_by);
        return NULL;
    }
    json_t *receivers = alertd_dispatch_receivers_of(r->self->dispatch, &a->labels);
    if (r->receiver.len > 0) {
        bool any = false;
        size_t i;
        json_t *rv;
        json_array_foreach(receivers, i, rv)
        {
            any = any || fw_matcher_matches(&r->receiver.items[0],
                                            json_string_value(json_object_get(rv, "name")));
        }
        if (!any) {
            json_decref(silenced_by);
            json_decref(receivers);
            return NULL;
        }
    }
    char sb[40], eb[40], ub[40], fp[17];
    json_t *labels = json_object();
    for (size_t i = 0; i < a->labels.len; i++)
        json_object_set_new(labels, a->labels.items[i].name, // steals
                            json_string(a->labels.items[i].value));
    // json_pack "o" steals each object.
    return json_pack("{s:o, s:s, s:s, s:o, s:s, s:{s:[], s:o, s:s}, s:s, s:s, s:o}", "annotations",
                     json_deep_copy(a->annotations), "endsAt",
                     alertd_time_str(a->ends_at, eb, sizeof eb), "fingerprint",
                     alertd_fp_str(a->fp, fp), "receivers", receivers, "startsAt",
                     alertd_time_str(a->starts_at, sb, sizeof sb), "status", "inhibitedBy",
                     "silencedBy", silenced_by, "state", suppressed ? "suppressed" : "active",
                     "updatedAt", alertd_time_str(a->updated_at, ub, sizeof ub), "generatorURL",
                     a->generator_url ? a->generator_url : "", "labels", labels);
}

static bool
s_bool_arg(const fw_http_request_t *req, const char *name, bool def)
{
    const char *v = fw_http_arg(req, name);
    if (!v)
        return def;
    return strcmp(v, "true") == 0 || strcmp(v, "1") == 0;
}

// A filter holding a NUL byte (%00) would be cut short and match more than asked: refuse it.
static bool
s_filter_has_nul(const char *filter, size_t len, fw_err_t *err)
{
    if (strlen(filter) == len)
        return false;
    fw_err_set(err, "bad matcher format: %s: unexpected character: '\\x00'", filter);
    return true;
}

// The request's filter=... matchers (at most 32) added to m. 0, or -1 after a 400 answer
// naming the bad one (m is then cleared).
static int
s_filters_parse(const fw_http_request_t *req, struct fw_http_response *resp,
                struct alertd_matchers *m)
{
    const char *filters[32];
    size_t filter_len[32];
    size_t n = fw_http_args_n(req, "filter", filters, filter_len, 32);
    for (size_t i = 0; i < n && i < 32; i++) {
        fw_err_t err;
        fw_err_clear(&err);
        if (s_filter_has_nul(filters[i], filter_len[i], &err) ||
            alertd_matchers_parse(m, filters[i], &err) < 0) {
            alertd_matchers_clear(m);
            s_json_error(resp, 400, err.msg);
            return -1;
        }
    }
    return 0;
}

static int
s_render_init(struct s_render *r, alertd_t *self, const fw_http_request_t *req,
              struct fw_http_response *resp)
{
    memset(r, 0, sizeof *r);
    r->self = self;
    r->now = fw_time_now_ms();
    r->active = s_bool_arg(req, "active", true);
    r->silenced = s_bool_arg(req, "silenced", true);
    r->inhibited = s_bool_arg(req, "inhibited", true);
    r->unprocessed = s_bool_arg(req, "unprocessed", true);
    pthread_mutex_lock(&self->lock);
    s_inhibit_refresh_locked(self, r->now);
    pthread_mutex_unlock(&self->lock);
    if (s_filters_parse(req, resp, &r->filter) < 0)
        return -1;
    const char *rcv = fw_http_arg(req, "receiver");
    if (rcv && *rcv) {
        fw_err_t err;
        fw_err_clear(&err);
        if (alertd_matchers_add(&r->receiver, FW_MATCH_RE, "receiver", rcv, &err) < 0) {
            char msg[320];
            snprintf(msg, sizeof msg, "failed to parse receiver param: %s", err.msg);
            s_json_error(resp, 400, msg);
            alertd_matchers_clear(&r->filter);
            return -1;
        }
    }
    return 0;
}

static void
s_render_fini(struct s_render *r)
{
    alertd_matchers_clear(&r->filter);
    alertd_matchers_clear(&r->receiver);
}

static int
s_api_alerts(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    if (strcmp(fw_http_method(req), "POST") == 0) {
        json_t *arr = s_body_json(req, "alerts", resp);
        if (!arr)
            return 0;
        if (!json_is_array(arr)) {
            json_decref(arr);
            s_api_error(resp, 400, 400,
                        "parsing alerts body from \"\" failed, because the body is not a JSON "
                        "array of alerts");
            return 0;
        }
        char *reasons = NULL;
        size_t bad = s_ingest_array(self, arr, "api", &reasons);
        json_decref(arr);
        // A group due now (group_wait 0s, or an old alert) is flushed at once, not on the
        // next 50 ms tick.
        pthread_mutex_lock(&self->lock);
        if (alertd_dispatch_next(self->dispatch) <= fw_time_now_ms())
            zstr_send(self->wake_push, "W");
        pthread_mutex_unlock(&self->lock);
        if (bad > 0)
            s_json_error(resp, 400, reasons);
        else
            fw_http_respond(resp, 200, "application/json", "");
        free(reasons);
        return 0;
    }
    struct s_render r;
    if (s_render_init(&r, self, req, resp) < 0)
        return 0;
    json_t *arr = json_array();
    pthread_mutex_lock(&self->lock);
    for (const struct alertd_alert *a = alertd_store_first(self->store); a;
         a = alertd_store_next(self->store)) {
        json_t *j = s_render_alert(a, &r);
        if (j)
            json_array_append_new(arr, j); // steals
    }
    pthread_mutex_unlock(&self->lock);
    s_render_fini(&r);
    s_json_respond(resp, 200, arr);
    return 0;
}

static int
s_api_groups(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    struct s_render r;
    if (s_render_init(&r, self, req, resp) < 0)
        return 0;
    pthread_mutex_lock(&self->lock);
    json_t *arr = alertd_dispatch_groups_json(self->dispatch, s_render_alert, &r);
    pthread_mutex_unlock(&self->lock);
    s_render_fini(&r);
    s_json_respond(resp, 200, arr);
    return 0;
}

static int
s_api_status(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    alertd_t *self = arg;
    char up[40];
    pthread_mutex_lock(&self->lock);
    json_t *j = json_pack("{s:{s:s, s:[], s:s}, s:{s:s}, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s}}",
                          "cluster", "name", "", "peers", "status", "disabled", "config",
                          "original", self->cfg->original ? self->cfg->original : "", "uptime",
                          fw_time_rfc3339(self->started_ms, up, sizeof up), "versionInfo", "branch",
                          "HEAD", "buildDate", "", "buildUser", "floorwatch", "goVersion",
                          "none (C)", "revision", "", "version", FW_VERSION);
    pthread_mutex_unlock(&self->lock);
    s_json_respond(resp, 200, j);
    return 0;
}

static int
s_api_receivers(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    alertd_t *self = arg;
    json_t *arr = json_array();
    pthread_mutex_lock(&self->lock);
    for (size_t i = 0; i < self->cfg->receivers_len; i++)
        json_array_append_new(arr, json_pack("{s:s}", "name", self->cfg->receivers[i].name));
    pthread_mutex_unlock(&self->lock);
    s_json_respond(resp, 200, arr);
    return 0;
}

// A field of a postable silence: its JSON type, and whether the schema requires it.
struct s_field {
    const char *key;
    json_type type;
    bool required;
};

// Check one object against fields as go-swagger does: a wrong type answers 400 (the body
// does not unmarshal), then a missing required field 422. 0, or -1 once answered.
static int
s_schema(const json_t *j, const struct s_field *fields, const char *prefix,
         struct fw_http_response *resp)
{
    char msg[256];
    for (const struct s_field *f = fields; f->key; f++) {
        const json_t *v = json_object_get(j, f->key);
        bool ok = !v || json_is_null(v) || json_typeof(v) == f->type ||
                  (f->type == JSON_TRUE && json_is_boolean(v));
        if (!ok) {
            snprintf(msg, sizeof msg,
                     "parsing silence body from \"\" failed, because %s%s has the wrong type",
                     prefix, f->key);
            s_api_error(resp, 400, 400, msg);
            return -1;
        }
    }
    for (const struct s_field *f = fields; f->key; f++) {
        const json_t *v = json_object_get(j, f->key);
        if (f->required && (!v || json_is_null(v))) {
            snprintf(msg, sizeof msg, "%s%s in body is required", prefix, f->key);
            s_api_error(resp, 422, 602, msg);
            return -1;
        }
    }
    return 0;
}

// Alertmanager's API schema for a postable silence (before its handler runs). 0, or -1
// once answered.
static int
s_silence_schema(const json_t *j, struct fw_http_response *resp)
{
    static const struct s_field silence[] = {
        {"comment", JSON_STRING, true},  {"createdBy", JSON_STRING, true},
        {"endsAt", JSON_STRING, true},   {"matchers", JSON_ARRAY, true},
        {"startsAt", JSON_STRING, true}, {"id", JSON_STRING, false},
        {NULL, JSON_NULL, false},
    };
    static const struct s_field matcher[] = {
        {"name", JSON_STRING, true},   {"value", JSON_STRING, true},
        {"isRegex", JSON_TRUE, true}, // JSON_TRUE stands for either boolean
        {"isEqual", JSON_TRUE, false}, {NULL, JSON_NULL, false},
    };
    if (!json_is_object(j)) {
        s_api_error(resp, 400, 400,
                    "parsing silence body from \"\" failed, because the body is not a JSON "
                    "object");
        return -1;
    }
    if (s_schema(j, silence, "", resp) < 0)
        return -1;
    static const char *const times[] = {"endsAt", "startsAt"};
    for (size_t i = 0; i < 2; i++) {
        const char *t = json_string_value(json_object_get(j, times[i]));
        int64_t ms;
        if (fw_time_parse_rfc3339(t, &ms) < 0) {
            char msg[320];
            snprintf(msg, sizeof msg,
                     "parsing silence body from \"\" failed, because %s \"%.200s\" is not an "
                     "RFC 3339 date-time",
                     times[i], t);
            s_api_error(resp, 400, 400, msg);
            return -1;
        }
    }
    const json_t *ms = json_object_get(j, "matchers");
    size_t i;
    const json_t *m;
    json_array_foreach(ms, i, m)
    {
        char prefix[48];
        snprintf(prefix, sizeof prefix, "matchers.%zu.", i);
        if (!json_is_object(m)) {
            char msg[160];
            snprintf(msg, sizeof msg,
                     "parsing silence body from \"\" failed, because matchers.%zu is not an "
                     "object",
                     i);
            s_api_error(resp, 400, 400, msg);
            return -1;
        }
        if (s_schema(m, matcher, prefix, resp) < 0)
            return -1;
    }
    if (json_array_size(ms) == 0) {
        s_api_error(resp, 422, 612, "matchers in body should have at least 1 items");
        return -1;
    }
    return 0;
}

static int
s_api_silences(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    int64_t now = fw_time_now_ms();
    if (strcmp(fw_http_method(req), "POST") == 0) {
        json_t *j = s_body_json(req, "silence", resp);
        if (!j)
            return 0;
        if (s_silence_schema(j, resp) < 0) {
            json_decref(j);
            return 0;
        }
        fw_err_t err;
        fw_err_clear(&err);
        pthread_mutex_lock(&self->lock);
        char *id = alertd_silences_put(self->silences, j, now, &err);
        if (id)
            s_silences_save_locked(self); // durable before the client hears of it
        pthread_mutex_unlock(&self->lock);
        json_decref(j);
        if (!id) {
            fw_info("silence.reject", "err=%s", err.msg);
            s_json_error(resp, strcmp(err.msg, ALERTD_SILENCE_NOT_FOUND) == 0 ? 404 : 400, err.msg);
            return 0;
        }
        s_json_respond(resp, 200, json_pack("{s:s}", "silenceID", id));
        free(id);
        return 0;
    }
    struct alertd_matchers filter = {0};
    if (s_filters_parse(req, resp, &filter) < 0)
        return 0;
    pthread_mutex_lock(&self->lock);
    json_t *all = alertd_silences_list_json(self->silences, now);
    pthread_mutex_unlock(&self->lock);
    // Keep silences whose equality matchers satisfy the filter (Alertmanager's rule).
    json_t *out = json_array();
    size_t i;
    json_t *s;
    json_array_foreach(all, i, s)
    {
        struct fw_labels l = FW_LABELS_INIT;
        size_t k;
        json_t *m;
        json_array_foreach(json_object_get(s, "matchers"), k, m)
        {
            fw_labels_set(&l, json_string_value(json_object_get(m, "name")),
                          json_string_value(json_object_get(m, "value")));
        }
        if (alertd_matchers_match(&filter, &l))
            json_array_append(out, s);
        fw_labels_clear(&l);
    }
    json_decref(all);
    alertd_matchers_clear(&filter);
    s_json_respond(resp, 200, out);
    return 0;
}

// A UUID as the API's path parameter must be: 8-4-4-4-12 hex digits.
static bool
s_uuid_valid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    for (size_t g = 0; g < 5; g++) {
        for (int k = 0; k < groups[g]; k++, s++)
            if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
                return false;
        if (g < 4 && *s++ != '-')
            return false;
    }
    return *s == '\0';
}

static int
s_api_silence(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    alertd_t *self = arg;
    const char *id = fw_http_path(req) + strlen("/api/v2/silence/");
    int64_t now = fw_time_now_ms();
    if (!s_uuid_valid(id)) {
        char msg[256];
        snprintf(msg, sizeof msg, "silenceID in path must be of type uuid: \"%.180s\"", id);
        s_api_error(resp, 422, 601, msg);
        return 0;
    }
    if (strcmp(fw_http_method(req), "DELETE") == 0) {
        pthread_mutex_lock(&self->lock);
        int rc = alertd_silences_expire(self->silences, id, now);
        if (rc == 0)
            s_silences_save_locked(self);
        pthread_mutex_unlock(&self->lock);
        if (rc < 0)
            s_json_error(resp, 404, "silence not found");
        else
            fw_http_respond(resp, 200, "application/json", "");
        return 0;
    }
    pthread_mutex_lock(&self->lock);
    json_t *j = alertd_silences_get_json(self->silences, id, now);
    pthread_mutex_unlock(&self->lock);
    if (!j)
        s_json_error(resp, 404, "silence not found");
    else
        s_json_respond(resp, 200, j);
    return 0;
}

// --- lifecycle ---

static void
s_declare_metrics(fw_metrics_t *m)
{
    fw_metrics_declare(m, "fw_alertd_alerts", FW_METRIC_GAUGE, "Alerts in the store by state.");
    fw_metrics_declare(m, "fw_alertd_alerts_received_total", FW_METRIC_COUNTER,
                       "Alerts received (ZMQ and API), by status.");
    fw_metrics_declare(m, "fw_alertd_alerts_invalid_total", FW_METRIC_COUNTER,
                       "Alerts rejected as invalid.");
    fw_metrics_declare(m, "fw_alertd_notifications_total", FW_METRIC_COUNTER,
                       "Notifications handed to notifyd, by receiver.");
    fw_metrics_declare(m, "fw_alertd_notifications_dropped_total", FW_METRIC_COUNTER,
                       "Notifications that could not be queued to notifyd.");
    fw_metrics_declare(m, "fw_alertd_groups", FW_METRIC_GAUGE, "Aggregation groups.");
    fw_metrics_declare(m, "fw_alertd_silences", FW_METRIC_GAUGE, "Silences by state.");
    fw_metrics_declare(m, "fw_alertd_silences_invalid_total", FW_METRIC_COUNTER,
                       "Stored silences refused when loading the state file (invalid, e.g. "
                       "matching every alert).");
    fw_metrics_declare(m, "fw_alertd_storage_failures_total", FW_METRIC_COUNTER,
                       "State writes (alerts, silences, notification log) that failed.");
    fw_zsock_declare_metrics(m);
    fw_metrics_declare(m, "fw_config_last_reload_successful", FW_METRIC_GAUGE,
                       "Whether the last configuration reload succeeded.");
}

alertd_t *
alertd_new(const struct alertd_opts *opts, struct alertd_cfg **cfg_p)
{
    alertd_t *self = fw_calloc(1, sizeof *self);
    self->opts = opts;
    pthread_mutex_init(&self->lock, NULL);
    self->started_ms = fw_time_now_ms();
    self->store = alertd_store_new();
    self->silences = alertd_silences_new();
    self->metrics = fw_metrics_new();
    s_declare_metrics(self->metrics);
    if (s_state_open(self) < 0) {
        alertd_cfg_destroy(cfg_p);
        goto fail;
    }
    s_apply_config_locked(self, *cfg_p);
    *cfg_p = NULL;
    fw_metrics_set(self->metrics, "fw_config_last_reload_successful", "", 1);
    fw_err_t err;
    fw_err_clear(&err);
    if (!(self->pull = fw_zsock_pull(opts->zmq_alerts, opts->common.zmq_max_msg_size, &err)) ||
        !(self->push = fw_zsock_push(opts->zmq_notifyd, &err)) ||
        !(self->pub = fw_zsock_pub(opts->zmq_pub, &err))) {
        fw_error("zmq.attach.fail", "err=%s", err.msg);
        goto fail;
    }
    self->pull_guard = fw_zsock_guard_new(self->pull, "alerts", self->metrics);
    // Not a house role: an in-process doorbell from the HTTP thread. A wake that finds the
    // queue full is redundant, so sends never wait and the queue stays short.
    char wake[64];
    snprintf(wake, sizeof wake, "@inproc://alertd-wake-%p", (void *)self);
    self->wake_pull = zsock_new_pull(wake);
    wake[0] = '>';
    self->wake_push = zsock_new_push(wake);
    if (!self->wake_pull || !self->wake_push)
        goto fail;
    zsock_set_sndtimeo(self->wake_push, 0);
    zsock_set_sndhwm(self->wake_push, 4);
    self->http = fw_http_new("alertd", self->metrics);
    fw_http_route(self->http, "GET,POST", "/api/v2/alerts", s_api_alerts, self);
    fw_http_route(self->http, "GET", "/api/v2/alerts/groups", s_api_groups, self);
    fw_http_route(self->http, "GET", "/api/v2/status", s_api_status, self);
    fw_http_route(self->http, "GET", "/api/v2/receivers", s_api_receivers, self);
    fw_http_route(self->http, "GET,POST", "/api/v2/silences", s_api_silences, self);
    fw_http_route(self->http, "GET,DELETE", "/api/v2/silence/", s_api_silence, self);
    if (fw_http_start(self->http, opts->common.web_listen_address, &err) < 0) {
        fw_error("http.start.fail", "address=%s err=%s", opts->common.web_listen_address, err.msg);
        goto fail;
    }
    self->loop = zloop_new();
    zloop_reader(self->loop, self->pull, s_on_alerts, self);
    zloop_reader(self->loop, self->wake_pull, s_on_wake, self);
    zloop_timer(self->loop, 50, 0, s_on_flush, self);
    zloop_timer(self->loop, 1000, 0, s_on_housekeeping, self);
    fw_http_set_ready(self->http, true);
    fw_info("alertd.start", "listen=%s alerts=%s notifyd=%s pub=%s storage=%s",
            opts->common.web_listen_address, opts->zmq_alerts, opts->zmq_notifyd, opts->zmq_pub,
            opts->storage_path);
    return self;
fail:
    alertd_destroy(&self);
    return NULL;
}

int
alertd_run(alertd_t *self)
{
    int rc = fw_zloop_run(self->loop); // survives SIGHUP; SIGINT/SIGTERM or a -1 end it
    fw_info("alertd.stop", "reason=%s", rc == 0 ? "signal" : "handler");
    // Flush what is due before leaving so nothing already decided is lost.
    s_on_flush(self->loop, 0, self);
    s_silences_save(self);
    return rc == 0 || zsys_interrupted ? 0 : -1;
}

void
alertd_destroy(alertd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_t *self = *self_p;
    fw_http_destroy(&self->http);
    zloop_destroy(&self->loop);
    fw_zsock_guard_destroy(&self->pull_guard);
    zsock_destroy(&self->wake_push);
    zsock_destroy(&self->wake_pull);
    zsock_destroy(&self->pub);
    zsock_destroy(&self->push);
    zsock_destroy(&self->pull);
    alertd_dispatch_destroy(&self->dispatch);
    alertd_route_destroy(&self->tree);
    alertd_inhibit_destroy(&self->inhibit);
    alertd_cfg_destroy(&self->cfg);
    alertd_silences_destroy(&self->silences);
    alertd_store_destroy(&self->store);
    alertd_nflog_destroy(&self->nflog);
    alertd_state_destroy(&self->state);
    fw_metrics_destroy(&self->metrics);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int
alertd_http_port(alertd_t *self)
{
    return fw_http_port(self->http);
}
