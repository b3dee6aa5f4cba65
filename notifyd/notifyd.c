/*  notifyd.c — the notifyd daemon class: PULL NOTIFY, deliver, publish outcomes until
    alertd acknowledges them.

    One zloop: s_on_pull reads the PULL socket, where alertd sends NOTIFY (s_on_notify turns
    each integration config into one request, notifyd_req, for the deliverer,
    notifyd_deliver, HTTP and SMTP alike, which runs libcurl on this same loop and starts the
    request before the bookkeeping below is done; a NOTIFY whose id is known is not
    delivered twice) and NOTIFY_ACK (s_on_ack). s_on_result gets each delivery's outcome from
    the deliverer and publishes each NOTIFY's outcome, kept in notifyd_results until
    acknowledged. s_on_housekeeping (1 Hz) re-publishes unacknowledged outcomes, handles
    SIGHUP and /-/reload (a new config restarts the deliverer; deliveries in flight at that
    moment are abandoned and logged as such). Pending deliveries
    are kept by id so a success can be re-published with its webhook_config.
*/
#include <czmq.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fw_daemon.h"
#include "fw_http.h"
#include "fw_json_dump.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_zsock.h"
#include "notifyd.h"
#include "notifyd_am_metrics.h"
#include "fw_time.h"
#include "fw_zfd.h"
#include "notifyd_build.h"
#include "notifyd_deliver.h"
#include "notifyd_http.h"
#include "notifyd_results.h"
#include "notifyd_tmpl.h"
#include "notifyd_wechat.h"

struct notifyd {
    const struct notifyd_opts *opts;   // borrowed
    struct notifyd_cfg *cfg;           // owned
    zsock_t *pull, *pub;               // owned (pub is an XPUB)
    struct fw_zsock_topics pub_topics; // what taps subscribed to (s_pub_wants)
    zmq_pollitem_t pull_item;          // the PULL's ZMQ_FD as the loop polls it (fw_zfd)
    int pull_more;                     // the zero timer back for a full drain's rest, -1: none
    fw_zsock_guard_t *pull_guard;      // owned: counts oversized messages
    notifyd_deliver_t *deliver;        // owned: the delivery actor
    zloop_t *loop;                     // owned
    fw_metrics_t *metrics;             // owned
    fw_http_t *http;                   // owned
    zhashx_t *pending;                 // owned: id text -> json_t * (NOTIFY body to publish,
                                       // its secrets still in)
    zhashx_t *owner;                   // owned: id text -> struct s_owner * (its NOTIFY's outcome)
    zhashx_t *outcomes;                // owned: NOTIFY id -> struct s_outcome * (NOTIFY_RESULT due)
    notifyd_results_t *results;        // owned: outcomes made, re-published until acknowledged
    struct s_outcome *current;         // the outcome of the NOTIFY s_on_notify is handling
    const json_t *delivery;            // borrowed: that NOTIFY's `delivery` settings, or NULL
    const json_t *integrations;        // borrowed: that NOTIFY's `integrations` indexes, or NULL
    uint64_t next_id;
    char hostname[256]; // for email Message-Ids
};

// The outcome of one NOTIFY with an id: deliveries still out, the first failure.
struct s_outcome {
    char *id, *receiver; // owned
    char *reason;        // owned: "<integration>: <reason>" of the first failure, or NULL
    json_t *failed;      // owned: "<integration>/<index>" of each failed config; NULL once
                         // a failure cannot be named (then alertd counts them all failed)
    size_t outstanding;
};

// Which outcome a queued delivery counts towards, its integration (metrics label) and the
// config's name in NOTIFY_RESULT's failed_integrations.
struct s_owner {
    char *nid;         // owned, NULL when its NOTIFY had no id
    char *integration; // owned
    char *ikey;        // owned: "<integration>/<index>"
};

static void
s_outcome_free(void **item)
{
    struct s_outcome *o = *item;
    if (o) {
        free(o->id);
        free(o->receiver);
        free(o->reason);
        json_decref(o->failed);
        free(o);
    }
    *item = NULL;
}

static void
s_owner_free(void **item)
{
    struct s_owner *o = *item;
    if (o) {
        free(o->nid);
        free(o->integration);
        free(o->ikey);
        free(o);
    }
    *item = NULL;
}

// The delivery key was queued for integration (config ikey): count it towards the current
// NOTIFY.
static void
s_owned(notifyd_t *self, const char *key, const char *integration, const char *ikey)
{
    struct s_owner *o = fw_calloc(1, sizeof *o);
    o->integration = fw_strdup(integration);
    o->ikey = fw_strdup(ikey);
    if (self->current) {
        o->nid = fw_strdup(self->current->id);
        self->current->outstanding++;
    }
    zhashx_update(self->owner, key, o);
}

// The config ikey (NULL: one that cannot be named) of o failed with reason.
static void
s_outcome_failed(struct s_outcome *o, const char *integration, const char *reason, const char *ikey)
{
    if (!o)
        return;
    if (!o->reason)
        o->reason = fw_asprintf("%s: %s", integration, reason);
    if (ikey && o->failed)
        json_array_append_new(o->failed, json_string(ikey)); // steals
    else
        json_decref(o->failed), o->failed = NULL;
}

// The name in failed_integrations of the config at position pos of the current NOTIFY's
// array (its index in the receiver's config, from `integrations`), into out.
static void
s_ikey(const notifyd_t *self, const char *array, const char *integration, size_t pos, char out[64])
{
    const json_t *i = json_array_get(json_object_get(self->integrations, array), pos);
    snprintf(out, 64, "%s/%lld", integration,
             i ? (long long)json_integer_value(i) : (long long)pos);
}

// True when a tap subscribed to messages of type (fw_zsock_topics). The XPUB's subscription
// messages are read here, when a message is to be published, not by the loop polling the
// socket (as alertd's s_pub_wants).
static bool
s_pub_wants(notifyd_t *self, const char *type)
{
    while (zsock_events(self->pub) & ZMQ_POLLIN)
        fw_zsock_topics_read(self->pub, &self->pub_topics);
    return fw_zsock_topics_want(&self->pub_topics, type);
}

static void
s_publish_result(void *arg, const json_t *body)
{
    notifyd_t *self = arg;
    struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY_RESULT, json_incref((json_t *)body));
    (void)fw_msg_send(&m, self->pub, NULL);
}

// PUBlish NOTIFY_RESULT for o when nothing of it is out any more, keep it until alertd
// acknowledges it (notifyd_results), and forget o.
static void
s_outcome_maybe_done(notifyd_t *self, struct s_outcome *o)
{
    if (!o || o->outstanding > 0)
        return;
    json_t *b = json_pack("{s:s, s:s, s:s}", "id", o->id, "receiver", o->receiver, "result",
                          o->reason ? "failed" : "delivered");
    if (o->reason)
        json_object_set_new(b, "reason", json_string(o->reason)); // steals
    if (o->reason && json_array_size(o->failed) > 0)
        json_object_set(b, "failed_integrations", o->failed);
    // Kept (committed with --storage.path) before it leaves: a notifyd killed after this
    // answers alertd's question about the id with this outcome, not "lost".
    notifyd_results_add(self->results, json_incref(b), fw_time_now_ms()); // takes a ref
    s_publish_result(self, b);
    json_decref(b);
    zhashx_delete(self->outcomes, o->id);
}

// Whether an alert of a webhook payload fires (notifyd_tmpl_firing's test).
static bool
s_is_firing(const json_t *alert)
{
    const char *st = json_string_value(json_object_get(alert, "status"));
    return !st || strcmp(st, "resolved") != 0;
}

// Bodies (a webhook payload is about 1 KiB) are dumped on the stack and copied once into a
// string of their length (fw_json_dumps), as fw_msg's frames are: json_dumps grew its buffer
// by doubling and copied it, and the body was then copied again.
// j as compact JSON in a new string; NULL when jansson cannot dump it.
static char *
s_dump(const json_t *j)
{
    return json_is_object(j) || json_is_array(j) ? fw_json_dumps(j, NULL) : NULL;
}

char *
notifyd_prepare_body(const json_t *payload, const json_t *webhook_config)
{
    const json_t *sr = json_object_get(webhook_config, "send_resolved");
    bool send_resolved = !sr || json_is_true(sr);
    json_int_t max_alerts = json_integer_value(json_object_get(webhook_config, "max_alerts"));
    const json_t *given = json_object_get(payload, "alerts");
    if (!json_is_array(given))
        return NULL;
    // The common case sends the payload as it came: written out without a copy.
    bool cut = max_alerts > 0 && json_array_size(given) > (size_t)max_alerts;
    bool drop = false;
    size_t k;
    const json_t *al;
    json_array_foreach(given, k, al) drop = drop || (!send_resolved && !s_is_firing(al));
    if (!cut && !drop)
        return s_dump(payload);
    json_t *p = json_deep_copy(payload);
    json_t *alerts = json_object_get(p, "alerts");
    if (!send_resolved) {
        json_t *firing = notifyd_tmpl_firing(alerts);
        if (json_array_size(firing) == 0) {
            json_decref(firing);
            json_decref(p);
            return NULL;
        }
        json_object_set_new(p, "alerts", firing); // steals
        alerts = firing;
    }
    size_t n = json_array_size(alerts);
    if (max_alerts > 0 && n > (size_t)max_alerts) {
        while (json_array_size(alerts) > (size_t)max_alerts)
            json_array_remove(alerts, json_array_size(alerts) - 1);
        json_object_set_new(p, "truncatedAlerts",
                            json_integer((json_int_t)(n - (size_t)max_alerts)));
    }
    // Alertmanager builds the webhook's data from the alerts it sends, after both cuts.
    notifyd_tmpl_common_set(p);
    char *body = s_dump(p);
    json_decref(p);
    return body;
}

// A config (ikey) of integration could not be made a request: log, count failed, never
// delivered.
static void
s_bad_config(notifyd_t *self, const char *receiver, const char *integration, const char *ikey,
             const char *why)
{
    char labels[300];
    snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"%s\",reason=\"bad_config\"",
             receiver, integration);
    fw_metrics_add(self->metrics, "fw_notifyd_notifications_failed_total", labels, 1);
    fw_warn("notify.fail", "receiver=%s integration=%s err=%s", receiver, integration, why);
    s_outcome_failed(self->current, integration, "bad_config", ikey);
}

// The current NOTIFY's `delivery` (the receiver's fw_timeout and fw_rate_limit) into req.
// Values alertd would never send are logged and ignored.
static void
s_delivery_settings(notifyd_t *self, const char *receiver, struct notifyd_req *req)
{
    if (!self->delivery)
        return;
    const json_t *t = json_object_get(self->delivery, "timeout_ms");
    const json_t *rl = json_object_get(self->delivery, "rate_limit");
    struct notifyd_req_rate r = {
        .requests = json_integer_value(json_object_get(rl, "requests")),
        .interval_ms = json_integer_value(json_object_get(rl, "interval_ms")),
        .queue = json_integer_value(json_object_get(rl, "queue")),
    };
    if (t && json_integer_value(t) > 0)
        req->timeout_ms = json_integer_value(t);
    else if (t)
        fw_warn("notify.delivery.ignored", "receiver=%s err=%s", receiver,
                "timeout_ms is not a positive integer");
    if (rl && r.requests > 0 && r.interval_ms > 0 && r.queue >= 0)
        req->rate = r;
    else if (rl)
        fw_warn("notify.delivery.ignored", "receiver=%s err=%s", receiver,
                "rate_limit needs positive requests and interval_ms, queue >= 0");
}

// Queue req (taken) for integration (config ikey), which starts it at once; then remember
// the one-config NOTIFY (array: [config]) to re-PUBlish when it is delivered, and count it
// towards the current NOTIFY's outcome (its outcome comes on a later loop turn).
static void
s_queue(notifyd_t *self, const char *receiver, const char *integration, const char *ikey,
        const char *array, const json_t *config, const json_t *payload, struct notifyd_req *req)
{
    fw_err_t herr;
    fw_err_clear(&herr);
    if (notifyd_http_take(req, config, &herr) < 0) { // tls, proxy (notifyd_http)
        notifyd_req_clear(req);
        s_bad_config(self, receiver, integration, ikey, herr.msg);
        return;
    }
    uint64_t id = ++self->next_id;
    s_delivery_settings(self, receiver, req);
    (void)notifyd_deliver_send(self->deliver, id, receiver, integration, req);
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)id);
    // References to the payload and config, not copies: the copy without secrets for taps
    // is made when the delivery succeeded (s_on_result), not while this request is on its
    // way to the receiver, whose process needs the CPU then on a busy machine.
    json_t *one =
        json_pack("{s:s, s:O, s:[]}", "receiver", receiver, "payload", payload, "webhook_configs");
    json_object_set_new(one, array, json_pack("[O]", config)); // steals
    zhashx_insert(self->pending, key, one);                    // takes one
    s_owned(self, key, integration, ikey);
}

// What s_on_built needs of the NOTIFY being handled.
struct s_built_ctx {
    notifyd_t *self;
    const json_t *body;
};

// A config of the NOTIFY made into req (notifyd_build_each): queued, or, when it could not
// be built, logged and counted as failed, never as delivered.
static void
s_on_built(void *arg, const char *array, const char *integration, size_t pos, const json_t *config,
           struct notifyd_req *req, const char *why)
{
    struct s_built_ctx *ctx = arg;
    const char *receiver = json_string_value(json_object_get(ctx->body, "receiver"));
    char ikey[64];
    s_ikey(ctx->self, array, integration, pos, ikey);
    if (!req)
        s_bad_config(ctx->self, receiver, integration, ikey, why);
    else
        s_queue(ctx->self, receiver, integration, ikey, array, config,
                json_object_get(ctx->body, "payload"), req);
}

// A NOTIFY whose id is being delivered, or has an outcome: not delivered again (its outcome
// is published again). True when msg is such a duplicate.
static bool
s_duplicate(notifyd_t *self, const struct fw_msg *msg)
{
    const char *nid = json_string_value(json_object_get(msg->body, "id"));
    if (!nid)
        return false;
    const json_t *done = notifyd_results_get(self->results, nid);
    if (!done && !zhashx_lookup(self->outcomes, nid))
        return false;
    fw_warn("notify.duplicate", "id=%s receiver=%s state=%s", nid,
            json_string_value(json_object_get(msg->body, "receiver")), done ? "done" : "in_flight");
    fw_metrics_add(self->metrics, "fw_notifyd_duplicates_total", "", 1);
    if (done) {
        s_publish_result(self, done);
        (void)notifyd_results_unack(self->results, nid, fw_time_now_ms());
    }
    return true;
}

static void
s_on_notify(notifyd_t *self, struct fw_msg *msg)
{
    if (s_duplicate(self, msg)) {
        fw_msg_destroy(&msg);
        return;
    }
    const char *receiver = json_string_value(json_object_get(msg->body, "receiver"));
    json_t *payload = json_object_get(msg->body, "payload");
    json_t *configs = json_object_get(msg->body, "webhook_configs");
    const char *nid = json_string_value(json_object_get(msg->body, "id"));
    self->current = NULL;
    self->delivery = json_object_get(msg->body, "delivery");
    self->integrations = json_object_get(msg->body, "integrations");
    if (nid && !zhashx_lookup(self->outcomes, nid)) {
        struct s_outcome *o = fw_calloc(1, sizeof *o);
        o->id = fw_strdup(nid);
        o->failed = json_array();
        o->receiver = fw_strdup(receiver ? receiver : "");
        zhashx_insert(self->outcomes, nid, o);
        self->current = o;
    }
    size_t i;
    json_t *wc;
    json_array_foreach(configs, i, wc)
    {
        const char *url = json_string_value(json_object_get(wc, "url"));
        char ikey[64];
        s_ikey(self, "webhook_configs", "webhook", i, ikey);
        if (!url || !*url) {
            fw_warn("notify.skip", "receiver=%s err=%s", receiver, "webhook_config without url");
            s_outcome_failed(self->current, "webhook", "bad_config", ikey);
            continue;
        }
        char *body = notifyd_prepare_body(payload, wc);
        if (!body)
            continue;
        const char *auth = json_string_value(json_object_get(wc, "authorization"));
        const json_t *fr = json_object_get(wc, "follow_redirects");
        struct notifyd_req req = {.url = fw_strdup(url), .body = body};
        req.follow_redirects = !fr || json_is_true(fr);
        if (auth)
            (void)notifyd_req_header(&req, "Authorization", auth);
        s_queue(self, receiver, "webhook", ikey, "webhook_configs", wc, payload, &req);
    }
    notifyd_tmpl_use(json_object_get(msg->body, "templates"));
    struct s_built_ctx ctx = {self, msg->body};
    notifyd_build_each(msg->body, self->hostname, fw_time_now_ms(), s_on_built, &ctx);
    struct s_outcome *o = self->current;
    self->current = NULL;
    self->delivery = NULL;
    self->integrations = NULL;
    s_outcome_maybe_done(self, o); // nothing queued (all skipped or failed at once)
    fw_msg_destroy(&msg);
}

// alertd's NOTIFY_ACK: stop re-publishing what it recorded; answer what it asks about.
static void
s_on_ack(notifyd_t *self, struct fw_msg *msg)
{
    int64_t now = fw_time_now_ms();
    size_t i;
    const json_t *id;
    json_array_foreach(json_object_get(msg->body, "acked"), i, id)
    {
        if (json_is_string(id))
            (void)notifyd_results_ack(self->results, json_string_value(id), now);
    }
    json_array_foreach(json_object_get(msg->body, "unanswered"), i, id)
    {
        const char *nid = json_string_value(id);
        if (!nid || zhashx_lookup(self->outcomes, nid))
            continue; // in delivery: its outcome comes when it is done
        const json_t *done = notifyd_results_get(self->results, nid);
        if (done) {
            (void)notifyd_results_unack(self->results, nid, now);
            s_publish_result(self, done);
            continue;
        }
        fw_warn("notify.lost", "id=%s", nid);
        json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "id", nid, "receiver", "", "result", "failed",
                              "reason", "notifyd: lost");
        s_publish_result(self, b);
        notifyd_results_add(self->results, b, now); // takes b
    }
    fw_msg_destroy(&msg);
}

// The PULL socket carries alertd's NOTIFY and NOTIFY_ACK. The loop polls its ZMQ_FD
// (fw_zfd.h), not the socket: zmq_poll() would ask the socket for its events (libzmq's
// getpid() and a poll() of its mailbox) before and after every wait of the loop, whatever woke
// it, and most wake-ups are libcurl's sockets and timers while a webhook is on its way.

// Most messages read in one loop turn; the rest come back on a zero timer (s_on_pull_more),
// as the descriptor does not signal for messages that were already waiting.
#define S_PULL_DRAIN 64

// fw_zfd_drain's read: one message off the PULL (rcvtimeo 0: never waits), handled.
static int
s_pull_take(void *arg)
{
    notifyd_t *self = arg;
    zmsg_t *frames = zmsg_recv(self->pull);
    if (!frames)
        return errno == EAGAIN ? 0 : -1;
    zframe_t *first = zmsg_first(frames);
    static const char ack[] = "NOTIFY_ACK";
    bool is_ack = first && zframe_size(first) == sizeof ack - 1 &&
                  memcmp(zframe_data(first), ack, sizeof ack - 1) == 0;
    struct fw_msg *msg = NULL;
    if (fw_zsock_decode(&frames, is_ack ? FW_MSG_NOTIFY_ACK : FW_MSG_NOTIFY, self->metrics, &msg) <
        0)
        return 1; // rejected, logged and counted
    if (is_ack)
        s_on_ack(self, msg);
    else
        s_on_notify(self, msg);
    return 1;
}

static int s_on_pull_more(zloop_t *loop, int timer_id, void *arg);

static void
s_pull_drain(notifyd_t *self)
{
    bool emptied;
    (void)fw_zfd_drain(s_pull_take, self, S_PULL_DRAIN, &emptied);
    if (!emptied && self->pull_more < 0)
        self->pull_more = zloop_timer(self->loop, 0, 1, s_on_pull_more, self);
}

static int
s_on_pull_more(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    notifyd_t *self = arg;
    self->pull_more = -1; // one-shot: zloop removes it after this handler
    s_pull_drain(self);
    return 0;
}

static int
s_on_pull(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    s_pull_drain(arg);
    return 0;
}

// The deliverer's outcome of one delivery (on the loop).
static void
s_on_result(void *arg, const struct notifyd_result *res)
{
    notifyd_t *self = arg;
    const struct notifyd_result r = *res;
    char key[24];
    snprintf(key, sizeof key, "%llu", (unsigned long long)r.id);
    json_t *body = zhashx_lookup(self->pending, key);
    if (r.ok) {
        fw_info("notify.ok", "receiver=%s attempts=%d", r.receiver, r.attempts);
        // taps never see the secrets (fw_msg.def's FW_SECRET list); the redacted copy (a deep
        // copy of the whole NOTIFY) is made only when a tap subscribed to NOTIFY: alertd
        // subscribes to NOTIFY_RESULT only, and the copy and its encoding were about a quarter
        // of notifyd's CPU a notification, for a message libzmq then dropped.
        if (body && s_pub_wants(self, "NOTIFY")) {
            struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY, fw_msg_redacted(FW_MSG_NOTIFY, body));
            (void)fw_msg_send(&m, self->pub, NULL);
        }
    } else {
        fw_warn("notify.fail", "receiver=%s reason=%s detail=%s attempts=%d", r.receiver, r.reason,
                r.detail, r.attempts);
    }
    zhashx_delete(self->pending, key);
    struct s_owner *own = zhashx_lookup(self->owner, key);
    struct s_outcome *o = own && own->nid ? zhashx_lookup(self->outcomes, own->nid) : NULL;
    if (own)
        notifyd_am_notification(self->metrics, own->integration, r.ok, r.reason);
    if (o) {
        if (!r.ok && *r.detail) {
            char *why = fw_asprintf("%s (%s)", r.reason, r.detail);
            s_outcome_failed(o, own->integration, why, own->ikey);
            free(why);
        } else if (!r.ok) {
            s_outcome_failed(o, own->integration, r.reason, own->ikey);
        }
        o->outstanding--;
        s_outcome_maybe_done(self, o);
    }
    zhashx_delete(self->owner, key);
}

// Every outcome still due fails: its deliveries were abandoned (reload).
static void
s_outcomes_abandon(notifyd_t *self)
{
    zlistx_t *keys = zhashx_keys(self->outcomes);
    for (char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
        struct s_outcome *o = zhashx_lookup(self->outcomes, k);
        s_outcome_failed(o, "notifyd", "abandoned", NULL); // which ones: unknown
        o->outstanding = 0;
        s_outcome_maybe_done(self, o);
    }
    zlistx_destroy(&keys);
}

static void
s_start_deliver(notifyd_t *self)
{
    self->deliver = notifyd_deliver_new(self->cfg, self->metrics, self->loop, s_on_result, self);
}

static int
s_reload(void *arg, char *errbuf, size_t errsize)
{
    notifyd_t *self = arg;
    struct fw_cfg_errors errs = {0};
    struct notifyd_cfg *cfg = notifyd_cfg_load(self->opts->common.config_file, &errs);
    if (!cfg) {
        fw_daemon_reload_failed(&errs, errbuf, errsize);
        return -1;
    }
    notifyd_deliver_destroy(&self->deliver);
    if (zhashx_size(self->pending) > 0)
        fw_warn("notify.abandon", "count=%zu reason=%s", zhashx_size(self->pending), "reload");
    zhashx_purge(self->pending);
    zhashx_purge(self->owner);
    s_outcomes_abandon(self);
    notifyd_cfg_destroy(&self->cfg);
    self->cfg = cfg;
    s_start_deliver(self);
    fw_info("config.reload", "file=%s", self->opts->common.config_file);
    return 0;
}

static int
s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    notifyd_t *self = arg;
    (void)fw_daemon_reload_step(self->http, s_reload, self);
    fw_metrics_set(self->metrics, "fw_notifyd_pending", "", (double)zhashx_size(self->pending));
    size_t expired = 0;
    size_t resent =
        notifyd_results_due(self->results, fw_time_now_ms(), s_publish_result, self, &expired);
    if (expired > 0)
        fw_warn("notify.result.expired", "count=%zu", expired);
    fw_metrics_add(self->metrics, "fw_notifyd_results_resent_total", "", (double)resent);
    fw_metrics_add(self->metrics, "fw_notifyd_results_expired_total", "", (double)expired);
    fw_metrics_set(self->metrics, "fw_notifyd_results_unacknowledged", "",
                   (double)notifyd_results_unacked(self->results));
    return 0;
}

static void
s_json_free(void **item)
{
    json_decref(*item);
    *item = NULL;
}

notifyd_t *
notifyd_new(const struct notifyd_opts *opts, struct notifyd_cfg **cfg_p)
{
    notifyd_t *self = fw_calloc(1, sizeof *self);
    self->pull_more = -1;
    self->opts = opts;
    self->cfg = *cfg_p;
    *cfg_p = NULL;
    self->pending = zhashx_new();
    zhashx_set_destructor(self->pending, s_json_free);
    self->owner = zhashx_new();
    zhashx_set_destructor(self->owner, s_owner_free);
    self->outcomes = zhashx_new();
    zhashx_set_destructor(self->outcomes, s_outcome_free);
    self->results = notifyd_results_new();
    if (gethostname(self->hostname, sizeof self->hostname - 1) < 0 || !*self->hostname)
        strcpy(self->hostname, "localhost");
    self->metrics = fw_metrics_new();
    fw_zsock_declare_metrics(self->metrics);
    notifyd_am_declare(self->metrics);
    fw_metrics_declare(self->metrics, "fw_notifyd_pending", FW_METRIC_GAUGE,
                       "Deliveries queued or in flight.");
    fw_metrics_declare(self->metrics, "fw_notifyd_duplicates_total", FW_METRIC_COUNTER,
                       "NOTIFYs not delivered because their id was in delivery or done.");
    fw_metrics_declare(self->metrics, "fw_notifyd_results_resent_total", FW_METRIC_COUNTER,
                       "NOTIFY_RESULTs published again because alertd had not acknowledged "
                       "them.");
    fw_metrics_declare(self->metrics, "fw_notifyd_results_expired_total", FW_METRIC_COUNTER,
                       "NOTIFY_RESULTs forgotten unacknowledged (kept 24 h).");
    fw_metrics_declare(self->metrics, "fw_notifyd_results_unacknowledged", FW_METRIC_GAUGE,
                       "NOTIFY_RESULTs alertd has not acknowledged yet.");
    fw_err_t err;
    fw_err_clear(&err);
    if (opts->storage_path && *opts->storage_path &&
        notifyd_results_open(self->results, opts->storage_path, fw_time_now_ms(), &err) < 0) {
        fw_error("storage.open.fail", "err=%s", err.msg);
        goto fail;
    }
    if (!(self->pull = fw_zsock_pull(opts->zmq_notify, opts->common.zmq_max_msg_size, &err)) ||
        !(self->pub = fw_zsock_xpub(opts->zmq_pub, &err))) {
        fw_error("zmq.attach.fail", "err=%s", err.msg);
        goto fail;
    }
    self->pull_guard = fw_zsock_guard_new(self->pull, "notify", self->metrics);
    self->http = fw_http_new("notifyd", self->metrics);
    fw_http_set_web_config(self->http, opts->common.web_config_file);
    if (fw_http_start(self->http, opts->common.web_listen_address, &err) < 0) {
        fw_error("http.start.fail", "address=%s err=%s", opts->common.web_listen_address, err.msg);
        goto fail;
    }
    self->loop = zloop_new();
    zsock_set_rcvtimeo(self->pull, 0); // every read is s_pull_take's: never waits
    if (fw_zfd_poller(self->loop, self->pull, &self->pull_item, s_on_pull, self) < 0) {
        fw_error("zmq.attach.fail", "err=%s", "the NOTIFY socket has no descriptor to poll");
        goto fail;
    }
    zloop_timer(self->loop, 1000, 0, s_on_housekeeping, self);
    s_start_deliver(self);
    fw_http_set_ready(self->http, true);
    fw_info("notifyd.start", "listen=%s notify=%s pub=%s", opts->common.web_listen_address,
            opts->zmq_notify, opts->zmq_pub);
    return self;
fail:
    notifyd_destroy(&self);
    return NULL;
}

int
notifyd_run(notifyd_t *self)
{
    int rc = fw_zloop_run(self->loop); // survives SIGHUP; SIGINT/SIGTERM or a -1 end it
    if (zhashx_size(self->pending) > 0)
        fw_warn("notify.abandon", "count=%zu reason=%s", zhashx_size(self->pending), "shutdown");
    return rc == 0 || zsys_interrupted ? 0 : -1;
}

void
notifyd_destroy(notifyd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    notifyd_t *self = *self_p;
    fw_http_destroy(&self->http);
    notifyd_deliver_destroy(&self->deliver);
    zloop_destroy(&self->loop);
    fw_zsock_guard_destroy(&self->pull_guard);
    zsock_destroy(&self->pub);
    fw_zsock_topics_clear(&self->pub_topics);
    zsock_destroy(&self->pull);
    zhashx_destroy(&self->pending);
    zhashx_destroy(&self->owner);
    zhashx_destroy(&self->outcomes);
    notifyd_results_destroy(&self->results);
    notifyd_cfg_destroy(&self->cfg);
    fw_metrics_destroy(&self->metrics);
    notifyd_tmpl_shutdown();
    notifyd_wechat_forget();
    free(self);
    *self_p = NULL;
}
