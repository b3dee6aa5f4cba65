/*  alertd.c — the alertd daemon class: sockets, zloop and timers (the API v2 handlers are in
    alertd_api.c and alertd_api_silences.c).

    One zloop on the main thread: s_on_alerts reads the PULL socket, s_on_flush flushes due
    aggregation groups into NOTIFY messages (at once after alerts came, on a one-shot timer
    armed for the next group due, and every 50 ms as a backstop), s_on_housekeeping (1 Hz) reloads
    the config on SIGHUP or /-/reload, garbage-collects resolved alerts and expired
    silences, and sets the gauges. libmicrohttpd is served from this loop too
    (fw_http_set_loop; without --web.config.file, else from its threads): an alert POST is
    handled on the loop, which flushes a group due at once and sends its NOTIFY before it
    answers; every other /api/v2/... handler runs on a thread of its own. Everything the
    loop and those threads touch (store, dispatcher, silences, config) sits behind
    self->lock, taken for short, non-blocking sections only. Sockets are used by the zloop
    thread alone.

    State that must survive a restart (alerts, silences, the notification log) is written
    through alertd_state (LMDB under --storage.path): alerts in one batch per loop turn of
    ALERTS messages or per POST, the notification log of a flush committed before its
    NOTIFY messages leave and fsync'd 5 ms later by the state's syncer thread (the loop
    never waits for the disk; the fsync stays out of the notifications' way), their history
    record 2 ms after they left, silences committed with fsync before the API answers.
*/
#include <czmq.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "alertd.h"
#include "alertd_api.h"
#include "alertd_cluster.h"
#include "alertd_dispatch.h"
#include "alertd_heap.h"
#include "alertd_inhibit.h"
#include "alertd_int.h"
#include "alertd_json.h"
#include "alertd_matcher.h"
#include "alertd_nflog.h"
#include "alertd_outcome.h"
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
#include "fw_zfd.h"
#include "fw_zsock.h"

extern const char fw_embed_alertd_default[];

#define S_RESOLVED_RETENTION_MS (15 * 60 * 1000)

struct alertd_cfg *
alertd_config_load(const char *file, struct fw_cfg_errors *errs)
{
    if (file)
        return alertd_cfg_load(file, NULL, errs);
    return alertd_cfg_load("alertd.example.yml (embedded)", fw_embed_alertd_default, errs);
}

// --- shared state (called with the lock held) ---

// Rebuild the inhibit index when alerts left the store, the config changed or alertd
// started; a stored alert updates it by itself (s_stored_locked) and alerts resolve by the
// clock inside it (alertd_inhibit.h).
void
alertd_refresh_inhibit_locked(alertd_t *self, int64_t now)
{
    if (self->inhibit_generation == self->generation)
        return;
    alertd_inhibit_update(self->inhibit, self->store, now);
    self->inhibit_generation = self->generation;
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
    return alertd_inhibit_mutes(self->inhibit, &a->labels, now) || s_silenced(self, a, now);
}

// Persist and group an alert just stored.
static void
s_stored_locked(alertd_t *self, const struct alertd_alert *stored, int64_t now)
{
    alertd_inhibit_note(self->inhibit, stored, now);
    (void)alertd_store_persist(self->store, stored, self->state, now);
    alertd_dispatch_insert(self->dispatch, stored, now);
}

// Store and group one alert (taken: a is left empty); true when it is resolved.
static bool
s_ingest_locked(alertd_t *self, struct alertd_alert *a, int64_t now)
{
    bool resolved = alertd_alert_resolved(a, now);
    s_stored_locked(self, alertd_store_put(self->store, a, now), now);
    return resolved;
}

static void
s_count_received(alertd_t *self, size_t firing, size_t resolved)
{
    if (firing)
        fw_metrics_add(self->metrics, "fw_alertd_alerts_received_total", "status=\"firing\"",
                       (double)firing);
    if (resolved)
        fw_metrics_add(self->metrics, "fw_alertd_alerts_received_total", "status=\"resolved\"",
                       (double)resolved);
}

int
alertd_commit_locked(alertd_t *self, bool sync)
{
    fw_err_t err;
    fw_err_clear(&err);
    if (alertd_state_commit(self->state, false, &err) < 0) {
        fw_warn("storage.fail", "err=%s", err.msg);
        fw_metrics_add(self->metrics, "fw_alertd_storage_failures_total", "", 1);
        return -1;
    }
    if (sync)
        (void)alertd_state_sync_later(self->state);
    else
        self->state_unsynced = true;
    return 0;
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

// Commit the alerts just ingested (lock held). On the loop thread, which flushes right after
// (s_on_alerts, the alert POST served from the loop), they go with the flush's commit instead:
// one LMDB commit per loop turn, still before any NOTIFY leaves or the POST is answered.
static void
s_ingested_locked(alertd_t *self)
{
    if (self->loop_running && pthread_equal(pthread_self(), self->loop_thread))
        self->commit_pending = true;
    else
        alertd_commit_locked(self, false);
}

// Parse and ingest an array of postable alerts; the valid ones are kept. Returns how many
// were rejected; their reasons go into *reasons (may be NULL; caller frees).
size_t
alertd_ingest_array(alertd_t *self, const json_t *arr, const char *source, char **reasons)
{
    size_t bad = 0, resolved = 0, i;
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
        resolved += s_ingest_locked(self, &a, now);
    }
    s_ingested_locked(self);
    pthread_mutex_unlock(&self->lock);
    s_count_received(self, json_array_size(arr) - bad - resolved, resolved);
    return bad;
}

// Ingest alerts that alertd_json read at now (takes the lock); vs is left empty. A re-sent
// alert (nothing changed but its times) moves the stored one in place: nothing is built.
static void
s_ingest_parsed(alertd_t *self, struct alertd_json_views *vs, int64_t now)
{
    if (vs->len == 0)
        return;
    size_t resolved = 0;
    pthread_mutex_lock(&self->lock);
    (void)alertd_state_begin(self->state, NULL);
    for (size_t i = 0; i < vs->len; i++) {
        const struct alertd_json_view *v = &vs->items[i];
        const struct alertd_alert *old = alertd_store_get(self->store, v->fp);
        int64_t ends_at;
        if (old && alertd_json_view_times_only(vs, v, old, now, &ends_at)) {
            resolved += v->ends_at <= now;
            s_stored_locked(self, alertd_store_refresh(self->store, old, ends_at, v->updated_at),
                            now);
            continue;
        }
        struct alertd_alert a;
        alertd_json_view_build(vs, v, &a);
        resolved += s_ingest_locked(self, &a, now);
    }
    s_ingested_locked(self);
    pthread_mutex_unlock(&self->lock);
    s_count_received(self, vs->len - resolved, resolved);
    alertd_json_views_reset(vs);
}

bool
alertd_ingest_text(alertd_t *self, const char *text, size_t len, bool on_loop)
{
    pthread_mutex_lock(&self->lock);
    int64_t resolve_timeout = self->cfg->global.resolve_timeout;
    pthread_mutex_unlock(&self->lock);
    // On the loop the POST reads into the loop's views, whose memory stays for the next
    // request; a fresh set grew its arrays from nothing on every POST (about 8 reallocs for
    // one alert). A connection's thread keeps its own.
    struct alertd_json_views own = {0}, *v = on_loop ? &self->views : &own;
    int64_t now = fw_time_now_ms();
    bool plain = alertd_json_views_parse(text, len, false, now, resolve_timeout, v) >= 0;
    if (plain)
        s_ingest_parsed(self, v, now);
    alertd_json_views_reset(v);
    alertd_json_views_free(&own);
    return plain;
}

// --- zloop handlers ---

static int s_on_flush(zloop_t *loop, int timer_id, void *arg);
static void s_arm_flush(alertd_t *self);

// Whether a tap subscribes to messages of type on the PUB (an XPUB): the subscriptions
// waiting are read first, so a tap that subscribed before this gets it, as from a PUB. They
// are read only here, not by a reader in the loop: zmq_poll() asks every ZeroMQ socket it
// polls for its events (a poll() and a getpid() in libzmq) twice each time the loop wakes,
// a cost every alert POST paid for a socket that has something to read once per tap.
static bool
s_pub_wants(alertd_t *self, const char *type)
{
    while (zsock_events(self->pub) & ZMQ_POLLIN)
        fw_zsock_topics_read(self->pub, &self->pub_topics);
    return fw_zsock_topics_want(&self->pub_topics, type);
}

// Each HTTP connection's memory pool: request line, headers, read buffer. It bounds the
// request head (a URL over about 16 KiB is answered 414, headers 431: README, alertd.8), not
// the body, which streams through the read buffer up to FW_HTTP_BODY_MAX.
#define S_HTTP_CONN_MEMORY (16u * 1024u)

// Most ALERTS messages read in one loop turn (one state commit, one flush).
#define S_ALERTS_DRAIN 64

// Append the alerts of an ALERTS message in the plain form (alertd_json.h) to v; false,
// with v as it was, for anything else.
static bool
s_alerts_plain(alertd_t *self, zmsg_t *frames, int64_t now, struct alertd_json_views *v)
{
    char version[8];
    snprintf(version, sizeof version, "%d", fw_msg_type_version(FW_MSG_ALERTS));
    zframe_t *type = zmsg_first(frames), *ver = zmsg_next(frames), *body = zmsg_next(frames);
    return zmsg_size(frames) == 3 && zframe_streq(type, "ALERTS") && zframe_streq(ver, version) &&
           alertd_json_views_parse((const char *)zframe_data(body), zframe_size(body), true, now,
                                   self->cfg->global.resolve_timeout, v) >= 0;
}

// ALERTS from ruled and slod: every message waiting (up to S_ALERTS_DRAIN) is read, then
// stored in one batch and flushed once. Each is re-published as received for taps (fwtail).
// The loop polls the PULL and the SUB by their ZMQ_FD (fw_zfd.h), not as sockets: zmq_poll()
// asked each socket it polled for its events (libzmq's getpid() and a poll() of its mailbox)
// before and after every wait of the loop, whatever woke it, an alert POST's wake-up too.
// So each is read until a read finds it empty (rcvtimeo 0), which is itself that check.
static int s_on_alerts_more(zloop_t *loop, int timer_id, void *arg);

// fw_zfd_drain's read: one ALERTS message off the PULL (rcvtimeo 0: never waits), handled.
struct s_alerts_read {
    alertd_t *self;
    int64_t now;
};

static int
s_alerts_take(void *arg)
{
    struct s_alerts_read *r = arg;
    alertd_t *self = r->self;
    struct alertd_json_views *v = &self->views;
    zmsg_t *frames = zmsg_recv(self->pull);
    if (!frames)
        return errno == EAGAIN ? 0 : -1;
    if (s_alerts_plain(self, frames, r->now, v)) {
        if (s_pub_wants(self, "ALERTS"))
            (void)zmsg_send(&frames, self->pub);
        zmsg_destroy(&frames);
        return 1;
    }
    // Anything else takes the jansson path, which rejects (logged and counted) or ingests
    // it as before; what came earlier is stored first.
    struct fw_msg *msg = NULL;
    if (fw_zsock_decode(&frames, FW_MSG_ALERTS, self->metrics, &msg) < 0)
        return 1;
    s_ingest_parsed(self, v, r->now);
    const char *source = json_string_value(json_object_get(msg->body, "source"));
    alertd_ingest_array(self, json_object_get(msg->body, "alerts"), source ? source : "zmq", NULL);
    if (s_pub_wants(self, "ALERTS"))
        (void)fw_msg_send(&msg, self->pub, NULL);
    fw_msg_destroy(&msg);
    return 1;
}

static void
s_read_alerts(alertd_t *self)
{
    struct s_alerts_read r = {self, fw_time_now_ms()};
    bool emptied;
    size_t n = fw_zfd_drain(s_alerts_take, &r, S_ALERTS_DRAIN, &emptied);
    // A full drain leaves the rest unsignalled: a zero timer comes back for them.
    if (!emptied && n == S_ALERTS_DRAIN && self->alerts_more < 0)
        self->alerts_more = zloop_timer(self->loop, 0, 1, s_on_alerts_more, self);
    if (n == 0) // the descriptor signalled libzmq's own commands
        return;
    s_ingest_parsed(self, &self->views, r.now);
    s_on_flush(self->loop, 0, self);
}

static int
s_on_alerts(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    s_read_alerts(arg);
    return 0;
}

static int
s_on_alerts_more(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    alertd_t *self = arg;
    self->alerts_more = -1; // one-shot: zloop removes it after this handler
    s_read_alerts(self);
    return 0;
}

// Hand one notification to notifyd: "sent", or "dropped" (logged and counted).
static const char *
s_send_notify(alertd_t *self, json_t *body)
{
    const char *receiver = json_string_value(json_object_get(body, "receiver"));
    if (json_array_size(self->cfg->template_files)) // the `templates:` files' texts
        json_object_set(body, "templates", self->cfg->template_files);
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
    // Its "id" (s_notify_id) was given at the flush, which logged it with the entries.
    struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY, json_incref(body));
    if (fw_msg_send(&m, self->push, &err) < 0) {
        fw_warn("notify.drop", "receiver=%s err=%s", receiver, err.msg);
        fw_metrics_add(self->metrics, "fw_alertd_notifications_dropped_total", labels, 1);
        return "dropped";
    }
    return "sent";
}

// Notifications sent and not yet in the queryable log: a flush's bodies and results.
struct s_unlogged {
    json_t *out;
    const char **results;
    int64_t at;
};

// How long sent notifications wait for their log commit (ms): that commit's CPU then comes
// after the notifications reached notifyd and the receiver, not while they are on their
// way (it took the first notification's median from about 1.2 to 1.1 ms).
#define S_LOG_DELAY_MS 2

void
alertd_log_sent_locked(alertd_t *self)
{
    struct s_unlogged *u;
    if (!self->unlogged || zlist_size(self->unlogged) == 0)
        return;
    (void)alertd_state_begin(self->state, NULL);
    while ((u = zlist_pop(self->unlogged))) {
        size_t i;
        json_t *body;
        json_array_foreach(u->out, i, body)
            alertd_nflog_record(self->nflog, body, u->results[i], u->at);
        json_decref(u->out);
        free(u->results);
        free(u);
    }
}

static void
s_log_sent(alertd_t *self)
{
    pthread_mutex_lock(&self->lock);
    alertd_log_sent_locked(self);
    alertd_commit_locked(self, false);
    pthread_mutex_unlock(&self->lock);
}

static int
s_on_log_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    alertd_t *self = arg;
    self->log_timer = -1;
    s_log_sent(self);
    return 0;
}

// Send a flush's notifications to notifyd, show them to taps without their secrets
// (fw_msg.def's FW_SECRET list), and have them recorded in the queryable log (GET
// /api/v2/notifications; one commit, no fsync: it is history, not state) S_LOG_DELAY_MS
// later, or before a NOTIFY_RESULT or a query reads the log.
static void
s_send_notifications(alertd_t *self, json_t *out)
{
    size_t n = json_array_size(out), i;
    if (n == 0)
        return;
    const char **results = fw_calloc(n, sizeof *results);
    json_t *body;
    json_array_foreach(out, i, body) results[i] = s_send_notify(self, body);
    struct s_unlogged *u = fw_calloc(1, sizeof *u);
    u->out = json_incref(out);
    u->results = results;
    u->at = fw_time_now_ms();
    pthread_mutex_lock(&self->lock);
    zlist_append(self->unlogged, u);
    pthread_mutex_unlock(&self->lock);
    if (self->log_timer < 0)
        self->log_timer = zloop_timer(self->loop, S_LOG_DELAY_MS, 1, s_on_log_timer, self);
    if (!s_pub_wants(self, "NOTIFY"))
        return;
    json_array_foreach(out, i, body)
    {
        struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY, fw_msg_redacted(FW_MSG_NOTIFY, body));
        (void)fw_msg_send(&m, self->pub, NULL);
    }
}

static int
s_on_flush(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    alertd_t *self = arg;
    json_t *out = NULL; // the notifications, built only when a group is due
    int64_t now = fw_time_now_ms();
    // A replica that has not heard its peers' state yet could repeat what they sent.
    bool settled = !self->cluster || alertd_cluster_settled(self->cluster, now);
    bool sent = false;
    pthread_mutex_lock(&self->lock);
    if (settled && alertd_dispatch_next(self->dispatch) <= now) {
        out = json_array();
        alertd_refresh_inhibit_locked(self, now);
        (void)alertd_state_begin(self->state, NULL);
        // The log entries of these notifications are committed before they leave (a killed
        // alertd does not send them again), with the alerts this loop turn stored.
        sent = alertd_dispatch_tick(self->dispatch, now, out) > 0;
        alertd_commit_locked(self, false);
        self->commit_pending = false;
    } else if (self->commit_pending) {
        alertd_commit_locked(self, false);
        self->commit_pending = false;
    }
    pthread_mutex_unlock(&self->lock);
    if (out) {
        s_send_notifications(self, out);
        json_decref(out);
    }
    // fsync'd off the loop, asked for once the NOTIFYs left: waking the syncer thread would
    // take the CPU from them on a busy machine.
    if (sent) {
        alertd_state_sync_later(self->state); // covers every commit so far
        pthread_mutex_lock(&self->lock);
        self->state_unsynced = false;
        pthread_mutex_unlock(&self->lock);
    }
    if (settled)
        s_arm_flush(self);
    return 0;
}

void
alertd_flush(alertd_t *self)
{
    (void)s_on_flush(self->loop, 0, self);
}

static int
s_on_flush_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    alertd_t *self = arg;
    uint64_t expirations;
    if (read(item->fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
        fw_warn("flush.timer.fail", "err=\"%s\"", strerror(errno));
    pthread_mutex_lock(&self->lock);
    self->flush_at = INT64_MAX;
    pthread_mutex_unlock(&self->lock);
    return s_on_flush(loop, 0, arg);
}

// Arm the flush timer for the next group due (group_wait, group_interval, repeat) when it
// comes before the one armed, so a flush comes at its millisecond rather than on the next
// 50 ms tick, which stays as a backstop. A timerfd at that wall-clock millisecond, not a
// zloop timer: zloop counts whole milliseconds of the monotonic clock and polls for whole
// milliseconds, so its timer fired up to a millisecond before the due millisecond of the
// wall clock (the flush then found nothing due and waited one more) or up to one after:
// group_wait 100ms notified 101.5 ms after the POST (median), 0.6 ms more than group_wait 0s.
static void
s_arm_flush(alertd_t *self)
{
    int64_t now = fw_time_now_ms();
    pthread_mutex_lock(&self->lock);
    int64_t next = alertd_dispatch_next(self->dispatch);
    bool arm = self->flush_fd >= 0 && next != INT64_MAX && next > now && next < self->flush_at;
    if (arm)
        self->flush_at = next;
    pthread_mutex_unlock(&self->lock);
    if (!arm)
        return;
    struct itimerspec at = {{0, 0}, {(time_t)(next / 1000), (long)(next % 1000) * 1000000L}};
    if (timerfd_settime(self->flush_fd, TFD_TIMER_ABSTIME, &at, NULL) < 0) {
        fw_warn("flush.timer.fail", "err=\"%s\"", strerror(errno));
        pthread_mutex_lock(&self->lock);
        self->flush_at = INT64_MAX; // the 50 ms tick flushes it
        pthread_mutex_unlock(&self->lock);
    }
}

static int
s_on_wake(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    uint64_t n;
    if (read(item->fd, &n, sizeof n) < 0 && errno != EAGAIN)
        fw_warn("alertd.wake.fail", "err=\"%s\"", strerror(errno));
    return s_on_flush(loop, 0, arg);
}

// --- the cluster (alertd_cluster.h) ---

static int64_t
s_cluster_wait(void *arg, int64_t now)
{
    return alertd_cluster_wait(arg, now);
}

static void
s_cluster_full_state(void *arg, json_t **silences, json_t **nflog)
{
    alertd_t *self = arg;
    int64_t now = fw_time_now_ms();
    pthread_mutex_lock(&self->lock);
    *silences = alertd_silences_list_json(self->silences, now);
    *nflog = alertd_nflog_entries_json(self->nflog, now);
    pthread_mutex_unlock(&self->lock);
}

static void
s_cluster_changes(void *arg, json_t **silences, json_t **nflog)
{
    alertd_t *self = arg;
    int64_t now = fw_time_now_ms();
    pthread_mutex_lock(&self->lock);
    *silences = alertd_silences_take_changes(self->silences, now);
    *nflog = alertd_nflog_take_changes(self->nflog, now);
    pthread_mutex_unlock(&self->lock);
}

// A peer's silences and log entries: newest wins (alertd_silences_merge, alertd_nflog_merge);
// what was taken is committed (silences fsync'd) before the next message is read.
static void
s_cluster_merge(void *arg, const char *peer, const json_t *silences, const json_t *nflog)
{
    alertd_t *self = arg;
    int64_t now = fw_time_now_ms();
    size_t i, taken = 0, bad = 0;
    const json_t *j;
    fw_err_t err;
    pthread_mutex_lock(&self->lock);
    (void)alertd_state_begin(self->state, NULL);
    json_array_foreach(nflog, i, j)
    {
        fw_err_clear(&err);
        int rc = alertd_nflog_merge(self->nflog, j, now, &err);
        taken += rc > 0;
        bad += rc < 0;
    }
    alertd_commit_locked(self, false);
    json_array_foreach(silences, i, j)
    {
        fw_err_clear(&err);
        int rc = alertd_silences_merge(self->silences, j, now, S_RESOLVED_RETENTION_MS, &err);
        taken += rc > 0;
        if (rc < 0) {
            bad++;
            fw_warn("cluster.silence.invalid", "peer=%s id=%s err=%s", peer,
                    json_string_value(json_object_get(j, "id")), err.msg);
        }
    }
    alertd_save_silences_locked(self);
    pthread_mutex_unlock(&self->lock);
    if (bad > 0)
        fw_metrics_add(self->metrics, "fw_alertd_cluster_invalid_total", "", (double)bad);
    if (taken > 0)
        fw_debug("cluster.merge", "peer=%s taken=%zu", peer, taken);
}

// A notification's id, the one notifyd's NOTIFY_RESULT answers (unique across restarts: the
// start time; across reloads: the sequence is alertd's, not the dispatcher's).
static void
s_notify_id(void *arg, char out[ALERTD_NOTIFY_ID_MAX])
{
    alertd_t *self = arg;
    snprintf(out, ALERTD_NOTIFY_ID_MAX, "%llx-%llu", (unsigned long long)self->start_ms,
             (unsigned long long)++self->notify_seq);
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
    alertd_dispatch_set_ids(self->dispatch, s_notify_id, self);
    if (self->cluster)
        alertd_dispatch_set_wait(self->dispatch, s_cluster_wait, self->cluster);
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
        // The gauge first: whoever reads the log's config.error then finds it set.
        fw_metrics_set(self->metrics, "fw_config_last_reload_successful", "", 0);
        fw_daemon_reload_failed(&errs, errmsg, size);
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
void
alertd_save_silences_locked(alertd_t *self)
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
    alertd_save_silences_locked(self);
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
    if (self->state_unsynced) {
        alertd_state_sync_later(self->state);
        self->state_unsynced = false;
    }
    fw_err_t err;
    fw_err_clear(&err);
    size_t failed = alertd_state_sync_failures(self->state, &err);
    if (failed > 0) {
        fw_warn("storage.fail", "what=sync err=%s", err.msg);
        fw_metrics_add(self->metrics, "fw_alertd_storage_failures_total", "", (double)failed);
    }
    alertd_refresh_inhibit_locked(self, now);
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
    // The next flush's blocks come from pages already present (alertd_heap.h): a fault
    // costs 11-15 us on a VM, and the heap grows a little with every new group.
    (void)alertd_heap_prefault(ALERTD_HEAP_PREFAULT_MAX);
    fw_metrics_set(self->metrics, "fw_alertd_alerts", "state=\"active\"", (double)active);
    fw_metrics_set(self->metrics, "fw_alertd_alerts", "state=\"suppressed\"", (double)suppressed);
    fw_metrics_set(self->metrics, "fw_alertd_groups", "", (double)groups);
    fw_metrics_set(self->metrics, "fw_alertd_silences", "state=\"active\"", (double)silences);
    s_silences_save(self);
    alertd_outcome_ask(self, now);
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
    fw_metrics_declare(m, "fw_alertd_silences_refused_total", FW_METRIC_COUNTER,
                       "Silences refused by POST /api/v2/silences, by reason.");
    fw_metrics_declare(m, "fw_alertd_silences_invalid_total", FW_METRIC_COUNTER,
                       "Stored silences refused when loading the state file (invalid, e.g. "
                       "matching every alert).");
    fw_metrics_declare(m, "fw_alertd_cluster_invalid_total", FW_METRIC_COUNTER,
                       "Silences and notification log entries from peers refused as invalid.");
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
    self->start_ms = fw_time_now_ms();
    self->opts = opts;
    pthread_mutex_init(&self->lock, NULL);
    self->started_ms = fw_time_now_ms();
    self->flush_fd = -1;
    self->wake_fd = -1;
    self->flush_at = INT64_MAX;
    self->log_timer = -1;
    self->alerts_more = -1;
    // The loop's views (ZeroMQ batches, POSTs served on the loop): one rule's alerts share
    // their annotations object.
    alertd_json_views_share_annotations(&self->views);
    self->unlogged = zlist_new();
    self->store = alertd_store_new();
    self->silences = alertd_silences_new();
    alertd_silences_set_limits(self->silences, opts->silences_max, opts->silence_size_max);
    self->metrics = fw_metrics_new();
    s_declare_metrics(self->metrics);
    if (s_state_open(self) < 0) {
        alertd_cfg_destroy(cfg_p);
        goto fail;
    }
    fw_err_t err;
    fw_err_clear(&err);
    if (opts->cluster.listen && *opts->cluster.listen) {
        self->cluster = alertd_cluster_new(&opts->cluster, self->metrics);
        if (alertd_cluster_open(self->cluster, &err) < 0) {
            fw_error("cluster.open.fail", "err=%s", err.msg);
            alertd_cfg_destroy(cfg_p);
            goto fail;
        }
        alertd_silences_track_changes(self->silences, true);
        alertd_nflog_track_changes(self->nflog, true);
    }
    s_apply_config_locked(self, *cfg_p);
    *cfg_p = NULL;
    fw_metrics_set(self->metrics, "fw_config_last_reload_successful", "", 1);
    if (!(self->pull = fw_zsock_pull(opts->zmq_alerts, opts->common.zmq_max_msg_size, &err)) ||
        !(self->push = fw_zsock_push(opts->zmq_notifyd, &err)) ||
        !(self->pub = fw_zsock_xpub(opts->zmq_pub, &err)) ||
        !(self->notifyd_sub = zsock_new(ZMQ_SUB)) ||
        zsock_attach(self->notifyd_sub, opts->zmq_notifyd_pub, false) < 0) {
        if (!err.msg[0])
            fw_err_set(&err, "cannot connect SUB to \"%s\"", opts->zmq_notifyd_pub);
        fw_error("zmq.attach.fail", "err=%s", err.msg);
        goto fail;
    }
    self->pull_guard = fw_zsock_guard_new(self->pull, "alerts", self->metrics);
    // The HTTP threads' doorbell: an eventfd, a plain descriptor in zmq_poll()'s one poll(),
    // where an inproc PULL socket cost a poll() and a getpid() in libzmq twice every time the
    // loop woke (s_pub_wants says why). Rings coalesce in its counter.
    self->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (self->wake_fd < 0) {
        fw_error("wake.fail", "err=\"%s\"", strerror(errno));
        goto fail;
    }
    self->loop = zloop_new();
    self->http = fw_http_new("alertd", self->metrics);
    fw_http_set_probe_body(self->http, "OK"); // Alertmanager's /-/healthy and /-/ready
    fw_http_set_web_config(self->http, opts->common.web_config_file);
    // HTTP from the loop: an alert POST is read, stored and its due group flushed in one
    // loop turn, with no thread to wake on its way to notifyd (fw_http.h; the other routes
    // still run on threads of their own).
    fw_http_set_loop(self->http, self->loop);
    // Its requests are small (alerts, silences, filters), and libmicrohttpd zeroes the pool
    // after each request on a keep-alive connection (all of it, and the read buffer's unused
    // half again when the answer is built): 64 KiB, not 512, took a single-alert POST from
    // about 25 to 16 us of CPU (perf: memset was 13% of the samples); 16 KiB, not 64, zeroes
    // 24 KiB a POST instead of 96 (callgrind: 131,000 to 56,000 instructions a POST).
    fw_http_set_conn_memory(self->http, S_HTTP_CONN_MEMORY);
    alertd_api_routes(self->http, self);
    if (fw_http_start(self->http, opts->common.web_listen_address, &err) < 0) {
        fw_error("http.start.fail", "address=%s err=%s", opts->common.web_listen_address, err.msg);
        goto fail;
    }
    self->flush_fd = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK | TFD_CLOEXEC);
    zmq_pollitem_t flush_item = {NULL, self->flush_fd, ZMQ_POLLIN, 0};
    if (self->flush_fd < 0 || zloop_poller(self->loop, &flush_item, s_on_flush_fd, self) < 0) {
        fw_error("flush.timer.fail", "err=\"%s\"", strerror(errno));
        goto fail;
    }
    zsock_set_rcvtimeo(self->pull, 0); // every read is the loop's, until one finds none
    zsock_set_rcvtimeo(self->notifyd_sub, 0);
    if (fw_zfd_poller(self->loop, self->pull, &self->pull_item, s_on_alerts, self) < 0)
        goto fail;
    zmq_pollitem_t wake_item = {NULL, self->wake_fd, ZMQ_POLLIN, 0};
    if (zloop_poller(self->loop, &wake_item, s_on_wake, self) < 0)
        goto fail;
    zsock_set_subscribe(self->notifyd_sub, "NOTIFY_RESULT");
    if (alertd_outcome_attach(self) < 0) // the SUB, and the state's durable_fd
        goto fail;
    zloop_timer(self->loop, 50, 0, s_on_flush, self);
    zloop_timer(self->loop, 1000, 0, s_on_housekeeping, self);
    if (self->cluster) {
        struct alertd_cluster_hooks hooks = {s_cluster_full_state, s_cluster_changes,
                                             s_cluster_merge, self};
        alertd_cluster_attach(self->cluster, self->loop, &hooks);
    }
    (void)alertd_heap_prefault(ALERTD_HEAP_PREFAULT_MAX); // then every housekeeping
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
    pthread_mutex_lock(&self->lock);
    self->loop_thread = pthread_self();
    self->loop_running = true;
    pthread_mutex_unlock(&self->lock);
    int rc = fw_zloop_run(self->loop); // survives SIGHUP; SIGINT/SIGTERM or a -1 end it
    pthread_mutex_lock(&self->lock);
    self->loop_running = false;
    pthread_mutex_unlock(&self->lock);
    fw_info("alertd.stop", "reason=%s", rc == 0 ? "signal" : "handler");
    // Flush what is due before leaving so nothing already decided is lost.
    s_on_flush(self->loop, 0, self);
    s_log_sent(self);
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
    if (self->flush_fd >= 0)
        close(self->flush_fd);
    alertd_cluster_destroy(&self->cluster);
    fw_zsock_guard_destroy(&self->pull_guard);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    zsock_destroy(&self->pub);
    fw_zsock_topics_clear(&self->pub_topics);
    zsock_destroy(&self->notifyd_sub);
    alertd_outcome_clear(self);
    alertd_json_views_free(&self->views);
    zsock_destroy(&self->push);
    zsock_destroy(&self->pull);
    alertd_dispatch_destroy(&self->dispatch);
    alertd_route_destroy(&self->tree);
    alertd_inhibit_destroy(&self->inhibit);
    alertd_cfg_destroy(&self->cfg);
    alertd_silences_destroy(&self->silences);
    alertd_store_destroy(&self->store);
    struct s_unlogged *u; // none after alertd_run, which logs what it sent
    while (self->unlogged && (u = zlist_pop(self->unlogged))) {
        json_decref(u->out);
        free(u->results);
        free(u);
    }
    zlist_destroy(&self->unlogged);
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
