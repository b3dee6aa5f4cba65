/*  tsdb.c — the tsdb daemon class: ingest acknowledged samples, answer queries, publish.

    One zloop on the main thread. s_on_samples takes up to S_GROUP SAMPLES batches from the
    samples ROUTER at a time, then (--storage.tsdb.ingest-pace) leaves the socket alone for
    the pace and takes what queued meanwhile in one wake-up (s_on_pace): senders send a
    batch per scrape, spread over the interval, and a wake-up of this loop costs more than
    storing a small batch; tsdb_ingest decides for each whether it is new (appended to
    the head at once), a duplicate or past a gap (docs/wire.md "Acknowledged ingest"). A
    commit (group commit: one write transaction, the fsync shared by everything appended
    meanwhile) runs every --storage.tsdb.commit-interval, or sooner when S_COMMIT_BATCHES or
    S_COMMIT_SAMPLES are pending; it carries the ingest table too. Only after it returned 0
    are the batches acknowledged (SAMPLES_ACK to the DEALER they came from) and their
    original frames re-published on PUB. A failed commit acknowledges nothing, turns
    /-/ready to 503 with the reason, refuses new batches (their senders keep them) and is
    retried every interval until it succeeds. QUERY on the query ROUTER is answered off this
    loop by tsdb_query's worker threads, so a slow query never delays ingest.
    s_on_housekeeping (1 Hz) handles SIGHUP and /-/reload, updates the gauges, forgets idle
    senders and enforces retention in bounded chunks. The HTTP API runs on fw_http's threads
    and only reads. On SIGTERM the loop returns and tsdb_run handles what is already queued
    on the samples socket (bounded) and commits before the store is closed. Loading and
    checking the config (tsdb_config_load, the retention policies) is tsdb_config.c's.
*/
#include "tsdb.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_daemon.h"
#include "fw_http.h"
#include "fw_log.h"
#include "fw_hash.h"
#include "fw_mem.h"
#include "fw_msg_samples.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"
#include "tsdb_api.h"
#include "tsdb_metrics.h"
#include "tsdb_api_admin.h"
#include "tsdb_config.h"
#include "tsdb_exemplars.h"
#include "tsdb_exemplars_api.h"
#include "tsdb_targets.h"
#include "tsdb_ingest.h"
#include "tsdb_federate.h"
#include "tsdb_metadata.h"
#include "tsdb_query.h"
#include "tsdb_rules.h"
#include "tsdb_rollup.h"
#include "tsdb_rread.h"
#include "tsdb_rwrite.h"
#include "tsdb_rwsend.h"
#include "tsdb_samples.h"
#include "tsdb_store.h"

#define S_GROUP 64                       // SAMPLES messages handled per wake-up of the loop
#define S_COMMIT_BATCHES 512             // commit before the interval once this many batches wait
#define S_COMMIT_SAMPLES 100000          // or this many (bounds a write transaction's dirty pages)
#define S_DRAIN_MAX 10000                // messages drained after SIGTERM
#define S_RETENTION_CHUNK 20000          // chunks deleted per housekeeping tick
#define S_HEAD_IDLE_MS (60 * 60 * 1000)  // a series silent this long leaves the head
#define S_CACHE_IDLE_MS (15 * 60 * 1000) // a series cache unused this long is dropped
#define S_RETENTION_SIZE_MIN ((int64_t)32 << 20) // the smallest --storage.tsdb.retention.size
#define S_SAMPLES_QUEUE 64                       // batches queued per sender before tsdb reads them
#define S_RETENTION_EVERY 10                     // housekeeping ticks between retention passes
#define S_ROLLUP_INTERVAL_MS 30000               // --storage.tsdb.rollup-interval's default
// Each HTTP connection's libmicrohttpd pool (request line, headers, read buffer): a GET query
// string up to about 60 KiB; longer queries go in a POST body, which streams through it.
// libmicrohttpd zeroes the whole pool after each request, faulting in every page of a new
// connection's pool: with the 512 KiB default that was a third of tsdb's CPU for a small query.
#define S_HTTP_CONN_MEMORY (64u * 1024u)

// An acknowledgement to send once the commit holding the sender's batches returned.
// Samples of the acknowledged batches that the store refused (SAMPLES_ACK out_of_order,
// duplicate, too_old).
struct s_refused {
    size_t out_of_order, duplicate, too_old;
};

struct s_pending_ack {
    zframe_t *identity; // owned: the DEALER it goes to
    char sender[FW_MSG_SENDER_MAX + 1];
    struct s_refused refused; // in the batches it acknowledges
};

struct tsdb {
    const struct tsdb_opts *opts;                   // borrowed
    struct fw_promcfg cfg;                          // owned
    tsdb_store_t *store;                            // owned
    tsdb_rollup_t *rollup;                          // owned: writes rollups on its thread
    tsdb_api_t *api;                                // owned
    tsdb_exemplars_t *exemplars;                    // owned: EXEMPLARS, query_exemplars
    tsdb_metadata_t *metadata;                      // owned: METADATA, /api/v1/metadata
    tsdb_federate_t *federate;                      // owned: /federate
    tsdb_targets_t *targets;                        // owned: /api/v1/targets via scrapers
    tsdb_rules_t *rules;                            // owned: /api/v1/rules, alerts via ruled
    tsdb_query_t *query;                            // owned: QUERY workers
    tsdb_rwrite_t *rwrite;                          // owned: POST /api/v1/write
    tsdb_rread_t *rread;                            // owned: POST /api/v1/read
    tsdb_rwsend_t *rwsend;                          // owned: remote_write queues
    tsdb_api_admin_t *admin;                        // owned: /api/v1/admin/tsdb/...
    fw_metrics_t *metrics;                          // owned
    fw_http_t *http;                                // owned
    zsock_t *samples, *router, *pub;                // owned: ROUTERs for SAMPLES, QUERY
    fw_zsock_guard_t *samples_guard, *router_guard; // owned: count oversized messages
    zloop_t *loop;                                  // owned
    size_t pace_ms;                                 // --storage.tsdb.ingest-pace (0: off)
    bool sync_seen; // a SAMPLES_SYNC came in this wake-up: no pacing after it

    tsdb_ingest_t *ingest;         // owned: which batches to store and acknowledge
    struct s_pending_ack *acks;    // owned: answers due after the next commit
    size_t n_acks, cap_acks;       //
    zmsg_t **publish;              // owned: accepted batches, re-published after the commit
    size_t n_publish, cap_publish; //
    struct fw_zsock_topics topics; // subscribed on pub: none, and nothing is held to publish
    size_t pending_samples;        // samples appended since the last commit
    bool commit_failing;           // the last commit failed: not ready, refuse batches
    bool sync_asked;               // a SAMPLES_SYNC came: commit what is pending now
    bool retention_busy;           // the last retention pass deleted something
    uint64_t retention_bytes;      // --storage.tsdb.retention.size, 0: off
    int64_t size_cutoff;           // retention by size deletes what ends before this (ms)
    uint64_t ticks;                // housekeeping ticks
    uint64_t series_gen;           // tsdb_store_index_gen when fw_tsdb_series was counted
    int64_t last_commit_ms, fail_log_ms;
    tsdb_samples_t *reader; // owned: SAMPLES bodies read in place into the store
};

// ---------------------------------------------------------------------------------------
// Samples: acknowledged ingest (docs/wire.md "Acknowledged ingest")

// Answer sender on the samples ROUTER (identity borrowed) with what is durable of it, and
// what of it the store refused (refused: NULL for nothing).
static void
s_ack(tsdb_t *self, zframe_t *identity, const char *sender, bool resend, bool unknown_refs,
      const struct s_refused *refused)
{
    json_t *body = json_pack("{sssI}", "sender", sender, "acked",
                             (json_int_t)tsdb_ingest_acked(self->ingest, sender));
    if (!body)
        return;
    const char *keys[] = {"out_of_order", "duplicate", "too_old"};
    size_t counts[] = {refused ? refused->out_of_order : 0, refused ? refused->duplicate : 0,
                       refused ? refused->too_old : 0};
    for (size_t k = 0; k < 3; k++)
        if (counts[k])
            json_object_set_new(body, keys[k], json_integer((json_int_t)counts[k]));
    if (resend)
        json_object_set_new(body, "resend", json_true()); // steals the new value
    if (unknown_refs)
        json_object_set_new(body, "unknown_refs", json_true());   // steals the new value
    struct fw_msg *m = fw_msg_new_json(FW_MSG_SAMPLES_ACK, body); // steals body
    fw_err_t err;
    zmsg_t *z = fw_msg_encode(m, &err);
    fw_msg_destroy(&m);
    if (!z) {
        fw_error("tsdb.ack.fail", "sender=%s err=%s", sender, err.msg);
        return;
    }
    zframe_t *id = zframe_dup(identity);
    zmsg_prepend(z, &id);
    // A ROUTER never blocks: an answer to a peer that left, or whose queue is full, is
    // dropped, and the sender's timeout resends what the answer would have acknowledged.
    if (zmsg_send(&z, self->samples) != 0)
        zmsg_destroy(&z);
    else
        fw_metrics_add(self->metrics, "fw_tsdb_acks_sent_total", "", 1);
}

// Remember to acknowledge sender (to identity, taken) after the next successful commit,
// with the refusals in st (NULL: none) added to what it will report.
static void
s_ack_later(tsdb_t *self, zframe_t **identity_p, const char *sender,
            const struct tsdb_store_stats *st)
{
    struct s_pending_ack *a = NULL;
    for (size_t i = 0; i < self->n_acks && !a; i++)
        if (strcmp(self->acks[i].sender, sender) == 0 &&
            zframe_eq(self->acks[i].identity, *identity_p)) {
            zframe_destroy(identity_p);
            a = &self->acks[i];
        }
    if (!a) {
        fw_mem_grow((void **)&self->acks, &self->cap_acks, self->n_acks + 1, sizeof(*self->acks));
        a = &self->acks[self->n_acks++];
        a->identity = *identity_p;
        *identity_p = NULL;
        snprintf(a->sender, sizeof(a->sender), "%s", sender);
        a->refused = (struct s_refused){0};
    }
    if (st) {
        a->refused.out_of_order += st->out_of_order;
        a->refused.duplicate += st->conflicts;
        a->refused.too_old += st->too_old;
    }
}

// Write the ingest table and everything appended since the last commit in one transaction.
// Only when it is durable are the batches acknowledged and re-published. A failure keeps it
// all (the head retries it, the acknowledgements wait) and makes tsdb not ready.
static void
s_commit(tsdb_t *self)
{
    size_t len;
    void *state = tsdb_ingest_save(self->ingest, &len);
    tsdb_store_set_state(self->store, state, len);
    free(state);
    fw_err_t err;
    fw_err_clear(&err);
    int64_t start = fw_time_mono_ms();
    self->last_commit_ms = start;
    if (tsdb_store_commit(self->store, &err) != 0) {
        fw_metrics_add(self->metrics, "fw_tsdb_write_failures_total", "", 1);
        fw_metrics_set(self->metrics, "fw_tsdb_storage_writable", "", 0);
        char reason[sizeof(err.msg) + 64];
        snprintf(reason, sizeof(reason), "storage commit failed, nothing acknowledged: %s",
                 err.msg);
        fw_http_set_unready(self->http, reason);
        if (!self->commit_failing || start - self->fail_log_ms >= 10000) {
            fw_error("tsdb.write.fail", "batches=%zu samples=%zu err=%s",
                     tsdb_ingest_pending_batches(self->ingest), self->pending_samples, err.msg);
            self->fail_log_ms = start;
        }
        self->commit_failing = true;
        return;
    }
    tsdb_ingest_committed(self->ingest);
    fw_metrics_add(self->metrics, "fw_tsdb_commits_total", "", 1);
    fw_metrics_set(self->metrics, "fw_tsdb_storage_writable", "", 1);
    if (self->commit_failing) {
        fw_info("tsdb.write.recover", "samples=%zu", self->pending_samples);
        fw_http_set_ready(self->http, true);
        self->commit_failing = false;
    }
    for (size_t i = 0; i < self->n_acks; i++) {
        s_ack(self, self->acks[i].identity, self->acks[i].sender, false, false,
              &self->acks[i].refused);
        zframe_destroy(&self->acks[i].identity);
    }
    self->n_acks = 0;
    for (size_t i = 0; i < self->n_publish; i++) {
        if (zmsg_send(&self->publish[i], self->pub) != 0) // PUB drops without readers
            zmsg_destroy(&self->publish[i]);
        else
            fw_metrics_add(self->metrics, "fw_tsdb_batches_published_total", "", 1);
    }
    self->n_publish = 0;
    self->pending_samples = 0;
    self->sync_asked = false;
}

static bool
s_commit_due(const tsdb_t *self)
{
    return tsdb_ingest_pending_batches(self->ingest) >= S_COMMIT_BATCHES ||
           self->pending_samples >= S_COMMIT_SAMPLES ||
           (self->sync_asked && (tsdb_ingest_pending(self->ingest) || self->n_acks > 0));
}

// The body frame of a SAMPLES v4, v3 or v2 message, its version in *version, or NULL (then
// fw_msg_decode says what is wrong).
static zframe_t *
s_samples_body(zmsg_t *frames, int *version)
{
    if (zmsg_size(frames) != 3)
        return NULL;
    zframe_t *ft = zmsg_first(frames);
    zframe_t *fv = zmsg_next(frames);
    zframe_t *fb = zmsg_next(frames);
    if (!zframe_streq(ft, "SAMPLES"))
        return NULL;
    *version = zframe_streq(fv, "4")   ? FW_SAMPLES_V4
               : zframe_streq(fv, "3") ? FW_SAMPLES_V3
               : zframe_streq(fv, "2") ? FW_SAMPLES_V2
                                       : 0;
    return *version ? fb : NULL;
}

// One SAMPLES batch: decide, store, answer. The identity and the frames are taken when
// kept (for the acknowledgement, for re-publishing); the caller destroys what is left.
static void
s_ingest_samples(tsdb_t *self, zframe_t **identity_p, zmsg_t **frames_p, zframe_t *body,
                 int version)
{
    struct fw_samples_view v;
    fw_err_t err;
    int rc =
        tsdb_samples_check(self->reader, version, zframe_data(body), zframe_size(body), &v, &err);
    if (rc < 0) {
        fw_zsock_reject(self->metrics, "SAMPLES", err.msg);
        return;
    }
    bool unknown = rc == 1;
    if (self->commit_failing) {
        // Nothing more goes into the head until a commit succeeds: the sender keeps the
        // batch and sends it again.
        fw_metrics_add(self->metrics, "fw_tsdb_batches_total", "result=\"refused\"", 1);
        return;
    }
    // A ref tsdb does not know (restarted, series freed, sender forgotten): nothing of the
    // batch can be stored, so the sender resends it and what follows with the labels of
    // every ref. A batch stored before is still a duplicate: acknowledged again below.
    uint64_t next = unknown ? tsdb_ingest_next(self->ingest, v.sender) : 0;
    if (unknown && !(next && v.seq < next)) {
        fw_metrics_add(self->metrics, "fw_tsdb_batches_total", "result=\"unknown_refs\"", 1);
        s_ack(self, *identity_p, v.sender, false, true, NULL);
        return;
    }
    switch (tsdb_ingest_offer(self->ingest, v.sender, v.seq, v.oldest, fw_time_now_ms())) {
    case TSDB_INGEST_ACCEPT:
        fw_metrics_add(self->metrics, "fw_tsdb_batches_total", "result=\"accepted\"", 1);
        struct tsdb_store_stats st = {0};
        self->pending_samples += tsdb_samples_append(self->reader, &v, &st);
        s_ack_later(self, identity_p, v.sender, &st);
        if (fw_zsock_topics_want(&self->topics, "SAMPLES")) { // else nobody listens
            fw_mem_grow((void **)&self->publish, &self->cap_publish, self->n_publish + 1,
                        sizeof(*self->publish));
            // taps get every series with its labels (they cannot know the sender's refs)
            zmsg_t *z = version != FW_SAMPLES_V2 ? tsdb_samples_labelled(self->reader, &v) : NULL;
            if (!z) {
                z = *frames_p; // body and v stay valid: not freed
                *frames_p = NULL;
            }
            self->publish[self->n_publish++] = z;
        }
        break;
    case TSDB_INGEST_DUPLICATE:
        fw_metrics_add(self->metrics, "fw_tsdb_batches_total", "result=\"duplicate\"", 1);
        if (v.seq <= tsdb_ingest_acked(self->ingest, v.sender))
            s_ack(self, *identity_p, v.sender, false, false, NULL);
        else
            s_ack_later(self, identity_p, v.sender, NULL); // accepted, its commit to come
        break;
    case TSDB_INGEST_GAP:
        fw_metrics_add(self->metrics, "fw_tsdb_batches_total", "result=\"gap\"", 1);
        fw_debug("tsdb.ingest.gap", "sender=%s seq=%llu acked=%llu", v.sender,
                 (unsigned long long)v.seq,
                 (unsigned long long)tsdb_ingest_acked(self->ingest, v.sender));
        s_ack(self, *identity_p, v.sender, true, false, NULL);
        break;
    case TSDB_INGEST_INVALID:
        fw_zsock_reject(self->metrics, "SAMPLES", "invalid sender or sequence numbers");
        break;
    }
}

// One message from the samples ROUTER (taken): decide, store, answer.
static void
s_ingest(tsdb_t *self, zmsg_t **frames_p)
{
    zmsg_t *frames = *frames_p;
    zframe_t *identity = zmsg_pop(frames);
    int version = 0;
    zframe_t *body = identity ? s_samples_body(frames, &version) : NULL;
    if (body) {
        s_ingest_samples(self, &identity, frames_p, body, version);
        zframe_destroy(&identity);
        zmsg_destroy(frames_p);
        return;
    }
    // Not SAMPLES v2: decoded only to say why it is refused.
    struct fw_msg *m = NULL;
    fw_err_t err;
    if (!identity || fw_msg_decode(frames, &m, &err) != 0) {
        char *type = zmsg_size(frames) > 0 ? zframe_strdup(zmsg_first(frames)) : NULL;
        bool known = type && fw_msg_type_parse(type, &(fw_msg_type_t){0}) == 0;
        fw_zsock_reject(self->metrics, known ? type : "unknown",
                        identity ? err.msg : "no identity frame");
        free(type);
    } else if (m->type == FW_MSG_EXEMPLARS) {
        size_t dropped;
        if (tsdb_exemplars_ingest(self->exemplars, m->body, &dropped, &err) < 0)
            fw_zsock_reject(self->metrics, "EXEMPLARS", err.msg);
        else if (dropped)
            fw_debug("exemplars.drop", "n=%zu reason=%s", dropped,
                     "labels over 128 characters, out of order, or max_exemplars 0");
    } else if (m->type == FW_MSG_SAMPLES_SYNC) {
        // Messages of one DEALER arrive in order, so the batches it sent before are
        // pending now; s_ingest_some commits them without waiting for the interval.
        self->sync_asked = true;
        self->sync_seen = true;
        fw_metrics_add(self->metrics, "fw_tsdb_syncs_total", "", 1);
    } else if (m->type == FW_MSG_METADATA) {
        if (tsdb_metadata_ingest(self->metadata, m->body, fw_time_now_ms(), &err) < 0)
            fw_zsock_reject(self->metrics, "METADATA", err.msg);
    } else {
        fw_zsock_reject(self->metrics, fw_msg_type_str(m->type), "unexpected message type");
    }
    fw_msg_destroy(&m);
    zframe_destroy(&identity);
    zmsg_destroy(frames_p);
}

// Handle up to S_GROUP waiting messages, then commit if enough is pending.
static size_t
s_ingest_some(tsdb_t *self)
{
    size_t n = 0;
    while (n < S_GROUP && (zsock_events(self->samples) & ZMQ_POLLIN)) {
        zmsg_t *frames = zmsg_recv(self->samples);
        if (!frames)
            break;
        s_ingest(self, &frames);
        n++;
    }
    if (n > 0)
        fw_metrics_add(self->metrics, "fw_tsdb_ingest_wakeups_total", "", 1);
    if (s_commit_due(self))
        s_commit(self);
    return n;
}

// A subscription or unsubscription on pub.
static int
s_on_subscription(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    tsdb_t *self = arg;
    fw_zsock_topics_read(sock, &self->topics);
    return 0;
}

static int s_on_samples(zloop_t *loop, zsock_t *sock, void *arg);

// The pace's end: handle what queued meanwhile; stay paused while batches keep coming at
// less than S_GROUP a pace, else let the reader wake the loop again.
static int
s_on_pace(zloop_t *loop, int timer_id, void *arg)
{
    (void)timer_id;
    tsdb_t *self = arg;
    size_t n = s_ingest_some(self);
    if (!(n > 0 && n < S_GROUP && !self->sync_seen) ||
        zloop_timer(loop, self->pace_ms, 1, s_on_pace, self) < 0)
        zloop_reader(loop, self->samples, s_on_samples, self);
    self->sync_seen = false;
    return 0;
}

static int
s_on_samples(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)sock;
    tsdb_t *self = arg;
    size_t n = s_ingest_some(self);
    // Batches come one per scrape, spread over the interval: rather than one wake-up of
    // this loop for each, take those that queue in the next pace_ms at once (a SAMPLES_SYNC
    // asks for its answer now, so it ends the pacing).
    if (self->pace_ms > 0 && n > 0 && n < S_GROUP && !self->sync_seen &&
        zloop_timer(loop, self->pace_ms, 1, s_on_pace, self) >= 0)
        zloop_reader_end(loop, self->samples);
    self->sync_seen = false;
    return 0;
}

// The commit interval: commit what is pending, or retry a failed commit.
static int
s_on_commit_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsdb_t *self = arg;
    if (tsdb_ingest_pending(self->ingest) || self->n_acks > 0 || self->commit_failing)
        s_commit(self);
    return 0;
}

// The checkpoint interval: the next commit writes every changed open chunk and empties the
// log, which bounds what a start replays. It commits now, so that an idle tsdb checkpoints
// too.
static int
s_on_checkpoint_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsdb_t *self = arg;
    tsdb_store_checkpoint_next(self->store);
    if (!self->commit_failing)
        s_commit(self);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Housekeeping

static int
s_reload(void *arg, char *errbuf, size_t errsize)
{
    tsdb_t *self = arg;
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct fw_promcfg cfg;
    char *text = NULL;
    if (tsdb_config_load(self->opts->common.config_file, &cfg, &text, &errs) != 0) {
        fw_daemon_reload_failed(&errs, errbuf, errsize);
        fw_promcfg_free(&cfg);
        tsdb_api_set_reload_failed(self->api);
        return -1;
    }
    fw_err_t err;
    if (tsdb_api_set_query_log(self->api, cfg.global.query_log_file, &err) != 0) {
        snprintf(errbuf, errsize, "%s", err.msg);
        fw_error("config.reload.fail", "file=%s err=\"%s\"", self->opts->common.config_file,
                 err.msg);
        fw_promcfg_free(&cfg);
        free(text);
        tsdb_api_set_reload_failed(self->api);
        return -1;
    }
    if (tsdb_rwsend_apply(self->rwsend, &cfg, &err) != 0) // the old queues stop first
        fw_error("remote_write.reload.fail", "err=%s", err.msg);
    fw_promcfg_free(&self->cfg);
    self->cfg = cfg;
    tsdb_store_set_ooo_window(self->store, self->cfg.storage.out_of_order_time_window_ms);
    tsdb_exemplars_resize(self->exemplars, self->cfg.storage.max_exemplars);
    (void)tsdb_config_policies(&self->cfg, self->cfg.path, &errs,
                               self->store); // checked by the load
    tsdb_api_set_config_text(self->api, text);
    tsdb_federate_set_external_labels(self->federate, &self->cfg.global.external_labels);
    tsdb_rread_set_external_labels(self->rread, &self->cfg.global.external_labels);
    free(text);
    fw_info("config.reload", "file=%s", self->opts->common.config_file);
    return 0;
}

// The store's and the rollup writer's counters into /metrics: at start, so every series is
// there from the first scrape, and from then on each housekeeping tick.
static void
s_publish_counters(tsdb_t *self)
{
    struct tsdb_store_counters c;
    tsdb_store_counters(self->store, &c);
    fw_metrics_set(self->metrics, "fw_tsdb_chunks_damaged_total", "", (double)c.damaged_chunks);
    fw_metrics_set(self->metrics, "fw_tsdb_checkpoints_total", "", (double)c.checkpoints);
    fw_metrics_set(self->metrics, "fw_tsdb_wal_records_total", "", (double)c.wal_records);
    fw_metrics_set(self->metrics, "fw_tsdb_series_removed_total", "", (double)c.series_removed);
    struct tsdb_rollup_counters rc;
    tsdb_rollup_counters(self->rollup, &rc);
    fw_metrics_set(self->metrics, "fw_tsdb_rollup_buckets_written_total", "", (double)rc.buckets);
    fw_metrics_set(self->metrics, "fw_tsdb_rollup_pages_expired_total", "",
                   (double)rc.pages_expired);
    fw_metrics_set(self->metrics, "fw_tsdb_rollup_failures_total", "", (double)rc.failures);
    fw_metrics_set(self->metrics, "fw_tsdb_rollup_series_behind", "", (double)rc.lag_series);
}

static int
s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsdb_t *self = arg;
    (void)fw_daemon_reload_step(self->http, s_reload, self);
    // counting takes a read transaction (and faults in pages the commits released): only
    // when a write may have added or removed series since the last count
    uint64_t gen = tsdb_store_index_gen(self->store);
    ssize_t series = gen != self->series_gen ? tsdb_store_series_count(self->store) : -1;
    if (series >= 0) {
        fw_metrics_set(self->metrics, "fw_tsdb_series", "", (double)series);
        self->series_gen = gen;
    }
    (void)tsdb_store_cache_expire(self->store, fw_time_mono_ms() - S_CACHE_IDLE_MS);
    (void)tsdb_store_refs_expire(self->store, fw_time_mono_ms() - S_CACHE_IDLE_MS);
    (void)tsdb_metadata_expire(self->metadata, fw_time_now_ms());
    size_t forgotten = tsdb_ingest_expire(self->ingest, fw_time_now_ms());
    if (forgotten)
        fw_info("tsdb.ingest.expire", "senders=%zu reason=\"idle for 24h\"", forgotten);
    fw_metrics_set(self->metrics, "fw_tsdb_ingest_senders", "",
                   (double)tsdb_ingest_count(self->ingest));
    s_publish_counters(self);
    // A series silent for S_HEAD_IDLE_MS (deleted pods, retired lines) leaves memory; its
    // open chunk is on disk and comes back if it does.
    // Both walks below visit every head series or record: once a minute and once every
    // S_RETENTION_EVERY ticks (every tick while retention finds work) cost little per sample.
    self->ticks++;
    size_t dropped = self->ticks % 60 != 0
                         ? 0
                         : tsdb_store_head_gc(self->store, fw_time_now_ms() - S_HEAD_IDLE_MS);
    if (dropped)
        fw_metrics_add(self->metrics, "fw_tsdb_head_series_dropped_total", "", (double)dropped);
    fw_metrics_set(self->metrics, "fw_tsdb_head_series", "",
                   (double)tsdb_store_head_series(self->store));
    bool by_time = self->opts->retention_ms > 0, by_size = self->retention_bytes > 0,
         by_policy = self->cfg.storage.n_retention > 0;
    fw_err_t err;
    if (by_size && self->ticks % S_RETENTION_EVERY == 0) {
        bool moved;
        uint64_t used;
        if (tsdb_store_size_cutoff(self->store, self->retention_bytes, fw_time_now_ms(),
                                   &self->size_cutoff, &moved, &err) != 0)
            fw_warn("tsdb.retention.fail", "err=%s", err.msg);
        else if (moved)
            fw_metrics_add(self->metrics, "fw_tsdb_size_retentions_total", "", 1);
        if (tsdb_store_used_bytes(self->store, &used, &err) == 0)
            fw_metrics_set(self->metrics, "fw_tsdb_storage_used_bytes", "", (double)used);
    }
    if ((by_time || by_size || by_policy) &&
        (self->retention_busy || self->ticks % S_RETENTION_EVERY == 0)) {
        size_t deleted = 0;
        int64_t now = fw_time_now_ms();
        struct tsdb_store_cutoffs cut = {
            .now_ms = now,
            .cutoff_ms = by_time ? now - self->opts->retention_ms : INT64_MIN,
            .floor_ms = by_size && self->size_cutoff ? self->size_cutoff : INT64_MIN,
        };
        if (tsdb_store_retain(self->store, &cut, S_RETENTION_CHUNK, &deleted, &err) != 0)
            fw_warn("tsdb.retention.fail", "err=%s", err.msg);
        else if (deleted > 0)
            fw_metrics_add(self->metrics, "fw_tsdb_retention_deleted_total", "", (double)deleted);
        self->retention_busy = deleted > 0;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

// The ingest table the last commit wrote. A damaged one is not fatal: every sender is
// then unknown and resends from its oldest batch, which is stored (or found equal in the
// head) and nothing acknowledged is lost.
static void
s_load_ingest_state(tsdb_t *self)
{
    void *blob = NULL;
    size_t len = 0;
    fw_err_t err;
    fw_err_clear(&err);
    if (tsdb_store_get_state(self->store, &blob, &len) != 0 ||
        tsdb_ingest_load(self->ingest, blob, len, &err) != 0)
        fw_warn("tsdb.ingest.state.damaged", "bytes=%zu err=\"%s\" action=%s", len,
                err.msg[0] ? err.msg : "cannot read the ingest state",
                "starting with no senders known: they resend what they hold");
    free(blob);
}

tsdb_t *
tsdb_new(const struct tsdb_opts *opts, struct fw_promcfg *cfg, const char *cfg_text)
{
    tsdb_t *self = fw_calloc(1, sizeof(*self));
    self->opts = opts;
    self->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    self->metrics = fw_metrics_new();
    tsdb_metrics_declare(self->metrics);

    fw_err_t err;
    self->store = tsdb_store_new();
    if (opts->map_size && *opts->map_size) {
        int64_t bytes;
        if (fw_size_parse(opts->map_size, &bytes) != 0 || bytes < (1 << 20)) {
            fw_error("tsdb.start.fail", "err=%s value=%s",
                     "invalid --storage.tsdb.map-size (at least 1MiB)", opts->map_size);
            goto fail;
        }
        tsdb_store_set_mapsize(self->store, (size_t)bytes);
    }
    if (opts->retention_size && *opts->retention_size && strcmp(opts->retention_size, "0") != 0) {
        int64_t bytes;
        if (fw_size_parse(opts->retention_size, &bytes) != 0 || bytes <= 0) {
            fw_error("tsdb.start.fail", "err=%s value=%s",
                     "invalid --storage.tsdb.retention.size (bytes with a unit, e.g. 512MB)",
                     opts->retention_size);
            goto fail;
        }
        if (bytes < S_RETENTION_SIZE_MIN) {
            // the index and a full log alone can take that: retention would delete every
            // sample and still find the data too big
            fw_error("tsdb.start.fail", "err=%s value=%s",
                     "--storage.tsdb.retention.size below 32MiB would delete everything (the "
                     "index and the log alone can take that): give at least 32MiB, or 0 to "
                     "keep by time only",
                     opts->retention_size);
            goto fail;
        }
        self->retention_bytes = (uint64_t)bytes;
    }
    if (tsdb_rollup_check_keep(0, opts->rollup_5m_retention_ms, "storage.tsdb.rollup-5m-retention",
                               &err) != 0 ||
        tsdb_rollup_check_keep(1, opts->rollup_1h_retention_ms, "storage.tsdb.rollup-1h-retention",
                               &err) != 0) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    if (opts->rollup_interval_ms < 0 ||
        (opts->rollup_interval_ms > 0 && opts->rollup_interval_ms < 1000)) {
        fw_error("tsdb.start.fail", "err=%s",
                 "--storage.tsdb.rollup-interval must be at least 1s (0: the default, 30s)");
        goto fail;
    }
    int64_t commit_ms = opts->commit_interval_ms > 0 ? opts->commit_interval_ms : 1000;
    if (opts->ingest_pace_ms < 0) {
        fw_error("tsdb.start.fail", "err=%s", "--storage.tsdb.ingest-pace must not be negative");
        goto fail;
    }
    // A pace holds batches for at most half a commit interval, so the default (250ms) never
    // refuses or slows a short --storage.tsdb.commit-interval (10ms: a 5ms pace).
    self->pace_ms =
        (size_t)(opts->ingest_pace_ms < commit_ms / 2 ? opts->ingest_pace_ms : commit_ms / 2);
    if (opts->checkpoint_interval_ms > 0)
        tsdb_store_set_wal(self->store, true, 0);
    // before the open: its log replay judges late samples as their appends did (with no
    // window, those merged into an open chunk since the last checkpoint were lost)
    tsdb_store_set_ooo_window(self->store, self->cfg.storage.out_of_order_time_window_ms);
    if (tsdb_store_open(self->store, opts->storage_path, &err) != 0) {
        fw_error("tsdb.open.fail", "path=%s err=%s", opts->storage_path, err.msg);
        goto fail;
    }
    self->rollup = tsdb_rollup_new(
        self->store, (const int64_t[TSDB_ROLLUP_LEVELS]){opts->rollup_5m_retention_ms,
                                                         opts->rollup_1h_retention_ms});
    int levels_on = 0;
    if (tsdb_rollup_levels(self->rollup, &levels_on, &err) != 0 ||
        (levels_on > 0 && // both levels off: no thread, queries read raw
         tsdb_rollup_start(self->rollup,
                           opts->rollup_interval_ms > 0 ? opts->rollup_interval_ms
                                                        : S_ROLLUP_INTERVAL_MS,
                           &err) != 0)) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    struct fw_cfg_errors perrs = {0};
    (void)tsdb_config_policies(&self->cfg, self->cfg.path, &perrs,
                               self->store); // checked by the load
    self->ingest = tsdb_ingest_new(0, 0);
    self->reader = tsdb_samples_new(self->store, self->metrics);
    s_load_ingest_state(self);
    self->api = tsdb_api_new(self->store, self->metrics);
    tsdb_api_set_config_text(self->api, cfg_text);
    if (opts->query_timeout_ms < 0 || opts->query_max_samples < 0 ||
        opts->query_max_concurrency < 0 || opts->query_max_concurrency > 100000) {
        fw_error("tsdb.start.fail", "err=\"%s\"",
                 "--query.timeout and --query.max-samples must not be negative, "
                 "--query.max-concurrency 0 to 100000 (0: the default)");
        goto fail;
    }
    tsdb_api_set_limits(self->api, &(struct tsdb_api_limits){
                                       opts->query_timeout_ms, opts->query_max_samples,
                                       (int)opts->query_max_concurrency, !opts->query_rollups});
    if (tsdb_api_set_features(self->api, &opts->features, &err) != 0 ||
        tsdb_api_set_query_log(self->api, self->cfg.global.query_log_file, &err) != 0) {
        fw_error("tsdb.start.fail", "err=\"%s\"", err.msg);
        goto fail;
    }
    char *flags = opts->flags ? fw_flags_json(opts->flags, opts) : NULL;
    char retention[64] = "";
    if (opts->retention_ms > 0)
        fw_duration_format(opts->retention_ms, retention, sizeof(retention));
    tsdb_api_set_info(self->api, flags, retention);
    free(flags);

    if (!(self->samples =
              fw_zsock_router(opts->zmq_samples, opts->common.zmq_max_msg_size, &err)) ||
        !(self->router = fw_zsock_router(opts->zmq_query, opts->common.zmq_max_msg_size, &err)) ||
        !(self->pub = fw_zsock_xpub(opts->zmq_pub, &err))) {
        fw_error("zmq.attach.fail", "err=%s", err.msg);
        goto fail;
    }
    // Each sender's queue of batches tsdb has not read yet is bounded in messages: past it
    // libzmq stops reading that connection, the sender's sends fail and it keeps the
    // batches (fw_sender.h). Without it a slow commit (400,000 new series) let resent
    // copies of a sender's whole buffer pile up here, GBs of them. Pipes made after this
    // (every sender's, which connect later) take it.
    zsock_set_rcvhwm(self->samples, S_SAMPLES_QUEUE);
    self->samples_guard = fw_zsock_guard_new(self->samples, "samples", self->metrics);
    self->router_guard = fw_zsock_guard_new(self->router, "query", self->metrics);

    self->http = fw_http_new("tsdb", self->metrics);
    fw_http_set_web_config(self->http, opts->common.web_config_file);
    fw_http_set_conn_memory(self->http, S_HTTP_CONN_MEMORY);
    tsdb_api_routes(self->api, self->http);
    self->admin = tsdb_api_admin_new(self->store, opts->storage_path, opts->web_enable_admin_api);
    tsdb_api_admin_routes(self->admin, self->http);
    self->exemplars = tsdb_exemplars_new(self->cfg.storage.max_exemplars);
    tsdb_exemplars_routes(self->exemplars, self->http);
    self->metadata = tsdb_metadata_new();
    tsdb_metadata_routes(self->metadata, self->http);
    self->federate = tsdb_federate_new(self->store);
    tsdb_federate_set_external_labels(self->federate, &self->cfg.global.external_labels);
    tsdb_federate_routes(self->federate, self->http);
    struct tsdb_rread_opts rr = {opts->remote_read_sample_limit, opts->remote_read_concurrency,
                                 opts->remote_read_frame_bytes};
    self->rread = tsdb_rread_new(self->store, self->metrics, &rr);
    tsdb_rread_set_external_labels(self->rread, &self->cfg.global.external_labels);
    tsdb_rread_routes(self->rread, self->http);
    self->targets = tsdb_targets_new(opts->scraper_urls, opts->scraper_timeout_ms, &err);
    if (!self->targets) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    tsdb_targets_routes(self->targets, self->http);
    self->rules = tsdb_rules_new(opts->ruled_urls, opts->ruled_timeout_ms, &err);
    if (!self->rules) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    tsdb_rules_routes(self->rules, self->http);
    if (!(self->rwrite = tsdb_rwrite_new(self->samples, self->store, self->metrics, &err))) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    tsdb_rwrite_set_metadata(self->rwrite, self->metadata);
    tsdb_rwrite_routes(self->rwrite, self->http);
    char *rw_dir = fw_asprintf("%s/remote_write", opts->storage_path);
    self->rwsend = tsdb_rwsend_new(self->store, rw_dir, self->metrics);
    tsdb_rwsend_set_metadata(self->rwsend, self->metadata);
    free(rw_dir);
    if (tsdb_rwsend_apply(self->rwsend, &self->cfg, &err) != 0) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    if (fw_http_start(self->http, opts->common.web_listen_address, &err) != 0) {
        fw_error("http.start.fail", "address=%s err=%s", opts->common.web_listen_address, err.msg);
        goto fail;
    }
    self->loop = zloop_new();
    zloop_reader(self->loop, self->samples, s_on_samples, self);
    zloop_reader(self->loop, self->pub, s_on_subscription, self);
    self->query = tsdb_query_new(
        self->api, self->metrics,
        &(struct tsdb_query_opts){(int)opts->zmq_query_workers, (int)opts->zmq_query_queue,
                                  opts->zmq_query_timeout_ms, opts->common.zmq_max_msg_size});
    if (tsdb_query_start(self->query, self->loop, self->router, &err) != 0) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    s_publish_counters(self);
    zloop_timer(self->loop, 1000, 0, s_on_housekeeping, self);
    int64_t interval = opts->commit_interval_ms > 0 ? opts->commit_interval_ms : 1000;
    zloop_timer(self->loop, (size_t)interval, 0, s_on_commit_timer, self);
    if (opts->checkpoint_interval_ms > 0)
        zloop_timer(self->loop, (size_t)opts->checkpoint_interval_ms, 0, s_on_checkpoint_timer,
                    self);
    ssize_t series = tsdb_store_series_count(self->store);
    fw_metrics_set(self->metrics, "fw_tsdb_series", "", series > 0 ? (double)series : 0);
    self->series_gen = tsdb_store_index_gen(self->store);
    fw_http_set_ready(self->http, true);
    fw_info("tsdb.start", "listen=%s path=%s samples=%s query=%s pub=%s series=%zd senders=%zu",
            opts->common.web_listen_address, opts->storage_path, tsdb_samples_endpoint(self),
            tsdb_query_endpoint(self), tsdb_pub_endpoint(self), series,
            tsdb_ingest_count(self->ingest));
    return self;
fail:
    tsdb_destroy(&self);
    return NULL;
}

int
tsdb_run(tsdb_t *self)
{
    // fw_zloop_run, not zloop_start: a SIGHUP (reload) must not end the loop.
    int rc = fw_zloop_run(self->loop);
    // Take what is already queued, bounded, and commit it: an orderly shutdown leaves the
    // senders as little as possible to resend.
    size_t drained = 0, n;
    while (drained < S_DRAIN_MAX && (n = s_ingest_some(self)) > 0)
        drained += n;
    if (tsdb_ingest_pending(self->ingest) || self->n_acks > 0)
        s_commit(self);
    fw_info("tsdb.stop", "drained=%zu", drained);
    return rc == 0 || zsys_interrupted ? 0 : -1;
}

void
tsdb_destroy(tsdb_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_t *self = *self_p;
    zloop_destroy(&self->loop);
    tsdb_query_destroy(&self->query); // answers what it holds on the router
    fw_zsock_guard_destroy(&self->router_guard);
    fw_zsock_guard_destroy(&self->samples_guard);
    tsdb_rwrite_stop(self->rwrite);
    fw_http_destroy(&self->http); // waits for handlers, which read the store
    tsdb_rwrite_destroy(&self->rwrite);
    tsdb_rwsend_destroy(&self->rwsend); // its shards read the store
    tsdb_rollup_destroy(&self->rollup); // its thread writes the store
    zsock_destroy(&self->pub);
    zsock_destroy(&self->router);
    zsock_destroy(&self->samples);
    for (size_t i = 0; i < self->n_acks; i++)
        zframe_destroy(&self->acks[i].identity);
    free(self->acks);
    for (size_t i = 0; i < self->n_publish; i++)
        zmsg_destroy(&self->publish[i]);
    free(self->publish);
    fw_zsock_topics_clear(&self->topics);
    tsdb_samples_destroy(&self->reader);
    tsdb_ingest_destroy(&self->ingest);
    tsdb_api_destroy(&self->api);
    tsdb_api_admin_destroy(&self->admin);     // after the HTTP threads that use it
    tsdb_exemplars_destroy(&self->exemplars); // after the HTTP threads that read it
    tsdb_metadata_destroy(&self->metadata);
    tsdb_federate_destroy(&self->federate);
    tsdb_rread_destroy(&self->rread); // after the HTTP threads and streams that use it
    tsdb_targets_destroy(&self->targets);
    tsdb_rules_destroy(&self->rules);
    tsdb_store_destroy(&self->store);
    fw_metrics_destroy(&self->metrics);
    fw_promcfg_free(&self->cfg);
    free(self);
    *self_p = NULL;
}

size_t
tsdb_ingest_pace_ms(const tsdb_t *self)
{
    return self->pace_ms;
}

const char *
tsdb_samples_endpoint(tsdb_t *self)
{
    return self->samples ? zsock_endpoint(self->samples) : NULL;
}

const char *
tsdb_query_endpoint(tsdb_t *self)
{
    return self->router ? zsock_endpoint(self->router) : NULL;
}

const char *
tsdb_pub_endpoint(tsdb_t *self)
{
    return self->pub ? zsock_endpoint(self->pub) : NULL;
}

int
tsdb_http_port(tsdb_t *self)
{
    return self->http ? fw_http_port(self->http) : 0;
}
