/*  scraper.c — the scraper daemon class.

    Design: the zloop thread keeps the target list and the sender; the network and the
    scrape schedule run on the fetch actor and a scrape's CPU work on the worker pool. Each
    target has exactly one scrape out at any time: when one ends (its job is back on the
    loop), the next is made and queued with the fetch actor for its due time (start + k *
    interval, so the cadence does not drift; slots that passed while the previous scrape was
    still being fetched or processed are skipped and counted, as Prometheus skips
    overlapping scrapes). The actor starts it when due without waking the loop
    (scraper_fetch_schedule). The request carries the scrape's job, made and held by the pool
    on the loop; the actor hands the fetched body straight to the target's worker
    (s_on_fetched, on the actor's thread, so the loop wakes once per scrape, when the job is
    done; scraper_work.h; a small scrape is worked on right there, in a lane, rather than
    waking a worker), which parses it, merges target labels,
    applies metric_relabel_configs and the limits, adds stale markers and the synthetic up /
    scrape_* series and encodes the SAMPLES batch in parts. The finished job comes back to
    the loop, whose fw_sender numbers the parts, publishes them on the PUB socket (drops when
    slow), sends them to tsdb once every scrape of the start slot is back (struct scraper_slot)
    and keeps them until tsdb acknowledges them, resending as needed; its buffer is
    bounded (--zmq.send-buffer), and it never blocks the loop. So a target of 400,000
    series costs the loop a few pointer hand-overs, not a second of parsing.

    The HTTP thread reads the target list and health for /api/v1/targets under `mu`; the
    zloop thread takes `mu` only to swap the list (reload) and to write health fields.

    A target removed by a reload or by discovery waits among the zombies until its job is
    back (a worker may use its series memory), then is retired: its scheduled scrape is
    cancelled, so at once unless the scrape had started. A reload also cancels the
    scheduled scrapes of the targets it keeps, and a target whose target_limit state
    changes has its own cancelled (all in one batch, one wake-up of the fetch actor:
    scraper_fetch_cancel_n): a cancelled job comes back on the actor's pipe and is made
    again for the same due time, with the current config and state. The config a job's metric
   relabel rules come from is kept until that generation's jobs are all back.

    The target list is built and swapped in scraper_targets.c; the struct both files share is
    in scraper_int.h.
*/
#include "scraper.h"

#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_daemon.h"
#include "fw_expfmt.h"
#include "fw_http.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_names.h"
#include "fw_sender.h"
#include "fw_relabel.h"
#include "fw_time.h"
#include "fw_zfd.h"
#include "fw_zsock.h"
#include "scraper_api.h"
#include "scraper_exemplars.h"
#include "scraper_meta.h"
#include "scraper_fetch.h"
#include "scraper_sd.h"
#include "scraper_shard.h"
#include "scraper_target.h"
#include "scraper_work.h"
#include "scraper_int.h"

#define S_FLUSH_MS 2000       // at shutdown, how long tsdb gets to acknowledge what is held
#define S_SENDER_TICK_MS 1000 // the sender's safety tick: refused sends, resend timeout, acks

static const char *const s_auto_names[] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};
#define S_N_AUTO (sizeof(s_auto_names) / sizeof(s_auto_names[0]))

// ---------------------------------------------------------------------------------------
//  Sending

// The tap socket when a tap wants messages of type, else NULL: a batch nobody listens to
// is not copied for the PUB socket (which would drop it). What the taps subscribed to is
// read when pub's ZMQ_FD signals and after a round that published (s_loop_settle), not
// asked here: asking libzmq costs two system calls (its fork check's getpid and a poll of
// the socket's mailbox), three times a scrape if asked every time.
static zsock_t *
s_pub(scraper_t *self, const char *type)
{
    if (!fw_zsock_topics_want(&self->topics, type))
        return NULL;
    self->pub_used = true; // a send may take the signal of a subscription meanwhile
    return self->pub;
}

static void
s_send_batch(scraper_t *self, struct fw_batch **batch_p)
{
    if (fw_sender_send(self->sender, batch_p, s_pub(self, "SAMPLES")) == 0)
        fw_metrics_add(self->metrics, "fw_scraper_batches_sent_total", "", 1);
}

static void
s_add_auto(scraper_t *self, struct fw_batch *b, const struct scraper_target *t, size_t i, double v,
           int64_t ts)
{
    struct fw_expfmt_sample s = {.name = s_auto_names[i]};
    scraper_target_merge(&self->lset, &t->labels, false, &s);
    fw_series_add(fw_batch_add_series(b, &self->lset.view), ts, v);
}

// A scrape due at due (ms, monotonic) is out: made, until its job is back or dropped.
static void
s_slot_add(scraper_t *self, int64_t due)
{
    for (size_t i = 0; i < self->n_slots; i++)
        if (self->slots[i].due == due) {
            self->slots[i].out++;
            return;
        }
    fw_mem_grow((void **)&self->slots, &self->cap_slots, self->n_slots + 1, sizeof(*self->slots));
    self->slots[self->n_slots++] = (struct scraper_slot){due, 1};
}

// A scrape due at due is back (or dropped): the last of its slot sets slot_ended.
static void
s_slot_end(scraper_t *self, int64_t due)
{
    for (size_t i = 0; i < self->n_slots; i++)
        if (self->slots[i].due == due) {
            if (--self->slots[i].out == 0) {
                self->slots[i] = self->slots[--self->n_slots];
                self->slot_ended = true;
            }
            return;
        }
}

// A slot ended: what its scrapes gave is sent, back to back, and what tsdb answered
// meanwhile is read (fw_sender_pump), in the wake-up the scrapes cost anyway.
static void
s_send_held(scraper_t *self)
{
    if (!self->slot_ended)
        return;
    self->slot_ended = false;
    (void)fw_sender_pump(self->sender);
}

// ---------------------------------------------------------------------------------------
//  Scraping

static struct scraper_work_job *s_job_new(scraper_t *self, struct scraper_target *t);

// Queue t's scrape due at t->next_mono with the fetch actor, its job made now (t is busy
// until the job is back: s_on_work_done, or s_on_fetch when it was cancelled or refused).
static void
s_target_schedule(scraper_t *self, struct scraper_target *t)
{
    t->inflight = ++self->next_fetch_id;
    struct scraper_work_job *job = s_job_new(self, t);
    struct scraper_fetch_opts o = {
        .timeout_ms = t->timeout_ms,
        .body_size_limit = t->client.body_size_limit > 0 ? t->client.body_size_limit
                                                         : self->opts->limits.body_size_limit,
        .enable_compression = t->client.enable_compression,
        .escaping = t->name_escaping ? fw_names_escaping_str(t->name_escaping - 1) : NULL,
        .http = &t->client.http,
        // target_limit exceeded: fail the scrape without asking the target, as Prometheus.
        .error = t->forced_error[0] ? t->forced_error : NULL,
        .after_seq = t->after_seq,
        .job = job,
    };
    (void)scraper_fetch_schedule(self->fetch, t->inflight, t->url, &o, t->next_mono);
}

// t's scrape is over: schedule the next at the next slot of its interval still ahead; the
// slots that passed meanwhile are skipped scrapes (the previous one still running).
static void
s_target_next(scraper_t *self, struct scraper_target *t)
{
    int64_t now = fw_time_mono_ms();
    t->next_mono += t->interval_ms;
    if (t->next_mono <= now) {
        int64_t missed = (now - t->next_mono) / t->interval_ms + 1;
        t->next_mono += missed * t->interval_ms;
        char job[320];
        fw_metrics_label(job, sizeof(job), "job", t->job);
        fw_metrics_add(self->metrics, "fw_scraper_scrapes_skipped_total", job, (double)missed);
        fw_debug("scrape.skip", "target=%s scrapes=%lld reason=%s", t->url, (long long)missed,
                 "previous scrape still running");
    }
    s_target_schedule(self, t);
}

int64_t
scraper_slot_offset(const struct fw_labels *labels, int64_t interval_ms)
{
    if (interval_ms <= 0)
        return 0;
    uint64_t h = fw_labels_hash(labels) ^ (uint64_t)interval_ms;
    int64_t offset = (int64_t)(h % (uint64_t)interval_ms);
    int64_t slot = interval_ms / SCRAPER_SLOTS;
    if (slot > SCRAPER_SLOT_MAX_MS)
        slot = SCRAPER_SLOT_MAX_MS;
    return slot > 1 ? offset - offset % slot : offset;
}

// The offset is taken from the start of the interval on a grid of the monotonic clock, not
// from now: targets of one interval and slot share their due times however far apart they
// were started (at start-up, by discovery), so each slot is one slot (s_slot_add).
void
scraper_int_target_start(scraper_t *self, struct scraper_target *t)
{
    int64_t now = fw_time_mono_ms(), iv = t->interval_ms;
    t->owner = self;
    t->next_mono = iv > 0 ? now - now % iv + scraper_slot_offset(&t->labels, iv) : now;
    if (t->next_mono < now)
        t->next_mono += iv;
    s_target_schedule(self, t);
}

// Send stale markers for everything t (no scrape out) exposed.
void
scraper_int_target_retire(scraper_t *self, struct scraper_target *t)
{
    if (t->health == SCRAPER_HEALTH_UNKNOWN && scraper_target_series(t) == 0)
        return;
    struct fw_batch *b = fw_batch_new();
    int64_t now = fw_time_now_ms();
    size_t n = scraper_target_stale_all(t, b, now);
    for (size_t i = 0; i < S_N_AUTO; i++)
        s_add_auto(self, b, t, i, fw_stale_nan(), now);
    fw_metrics_add(self->metrics, "fw_scraper_stale_markers_total", "", (double)(n + S_N_AUTO));
    s_send_batch(self, &b);
}

// The metric_relabel_configs of job t->job (index *index in cfg), or NULL when it has none.
static const struct fw_scrape_config *
s_job_config(const scraper_t *self, const struct scraper_target *t, size_t *index)
{
    for (size_t j = 0; j < self->cfg.n_scrape_configs; j++) {
        const struct fw_scrape_config *sc = &self->cfg.scrape_configs[j];
        if (sc->job_name && t->job && strcmp(sc->job_name, t->job) == 0) {
            *index = j;
            return sc->n_metric_relabel_configs ? sc : NULL;
        }
    }
    return NULL;
}

// A new job for t's scrape, held by the pool (freed with it): the target is in flight
// (inflight, working) until the job is back (s_on_work_done) or dropped (s_job_drop).
static struct scraper_work_job *
s_job_new(scraper_t *self, struct scraper_target *t)
{
    struct scraper_work_job *job = scraper_work_job_new();
    job->target = t;
    const struct fw_scrape_config *sc = s_job_config(self, t, &job->job_index);
    if (sc) {
        job->mrc = sc->metric_relabel_configs;
        job->n_mrc = sc->n_metric_relabel_configs;
    }
    job->gen = self->cfg_gen;
    job->sample_limit = self->opts->limits.sample_limit;
    job->label_value_length_limit = self->opts->limits.label_value_length_limit;
    job->sender = fw_sender_id(self->sender);
    job->refs = fw_sender_refs(self->sender);
    scraper_work_hold(self->work, job);
    t->working = true;
    self->cfg_jobs++;
    s_slot_add(self, t->next_mono); // t->next_mono stays put until the job is back
    return job;
}

static void s_config_release(scraper_t *self, uint64_t gen);
static bool s_zombie_retire(scraper_t *self, struct scraper_target *t);

// Give up *job_p, never handed to a worker: its target is free again (why: a skipped scrape's
// reason, counted; NULL: nothing to say). The caller retires it or schedules its next scrape.
static void
s_job_drop(scraper_t *self, struct scraper_work_job **job_p, const char *why)
{
    struct scraper_work_job *job = *job_p;
    struct scraper_target *t = job->target;
    if (why) {
        char lj[320];
        fw_metrics_label(lj, sizeof(lj), "job", t->job);
        fw_metrics_add(self->metrics, "fw_scraper_scrapes_skipped_total", lj, 1);
        fw_warn("scrape.skip", "target=%s reason=%s", t->url, why);
    }
    scraper_work_unhold(self->work, job);
    s_config_release(self, job->gen);
    s_slot_end(self, t->next_mono);
    scraper_work_job_destroy(job_p);
    t->working = false;
    t->inflight = 0;
}

// On the fetch actor's thread: hand a fetched body to its target's worker, so the scrape
// does not pass through the loop. Only this thread hands jobs over.
static int
s_on_fetched(struct scraper_fetch_result *res, void *arg)
{
    scraper_t *self = arg;
    struct scraper_work_job *job = res->job;
    job->ts = res->start_ms;
    job->res = *res;
    memset(res, 0, sizeof(*res));
    // A small scrape is worked on here, where its body was just received, rather than
    // waking a worker for it; a big one must not hold the other transfers up.
    if (scraper_work_small(job) && scraper_work_lane_run(self->lane, job) == 0)
        return 0; // the body was only lent: the lane is done with it
    // The worker reads the body after this returns: the actor's buffer is taken over, not
    // copied, so a big body costs this thread nothing while other scrapes fall due.
    scraper_fetch_result_keep(&job->res);
    if (scraper_work_hand(self->work, job) != 0) { // more jobs queued than targets
        *res = job->res;                           // the caller's again
        memset(&job->res, 0, sizeof(job->res));
        return -1; // s_on_fetch drops it on the loop
    }
    return 0;
}

// On the fetch actor's thread, at the end of each round: the jobs the lane ran go back to
// the loop together (one wake-up of it for the answers that came in one round).
static void
s_on_round(void *arg)
{
    scraper_t *self = arg;
    scraper_work_lane_flush(self->lane);
}

// A job of config generation gen is back: free a retired config nobody uses any more.
static void
s_config_release(scraper_t *self, uint64_t gen)
{
    if (gen == self->cfg_gen) {
        self->cfg_jobs--;
        return;
    }
    for (size_t i = 0; i < self->n_retired; i++) {
        struct scraper_retired *r = &self->retired[i];
        if (r->gen != gen)
            continue;
        if (--r->jobs == 0) {
            fw_promcfg_free(&r->cfg);
            self->retired[i] = self->retired[--self->n_retired];
        }
        return;
    }
}

static void
s_on_work_done(struct scraper_work_job *job, void *arg)
{
    scraper_t *self = arg;
    struct scraper_target *t = job->target;
    struct scraper_fetch_result *res = &job->res;
    const char *error = job->failed ? job->error : NULL;
    const struct scraper_work_tally *tally = &job->tally;
    t->working = false;
    t->inflight = 0;
    s_config_release(self, job->gen);
    s_slot_end(self, t->next_mono);

    char lj[320];
    fw_metrics_label(lj, sizeof(lj), "job", t->job);
    fw_metrics_add(self->metrics, "fw_scraper_scrapes_total", lj, 1);
    fw_metrics_add(self->metrics, "fw_scraper_work_seconds_total", "", job->work_s);
    fw_metrics_add(self->metrics, "fw_scraper_samples_total", "",
                   error ? 0 : (double)(tally->post - tally->dropped));
    if (tally->dropped)
        fw_metrics_add(self->metrics, "fw_scraper_samples_dropped_excess_total", lj,
                       (double)tally->dropped);
    if (tally->limit || (error && res->error && strncmp(res->error, "body size limit", 15) == 0)) {
        char lim[400];
        snprintf(lim, sizeof(lim), "%s,limit=\"%s\"", lj,
                 tally->limit ? tally->limit : "body_size");
        fw_metrics_add(self->metrics, "fw_scraper_limit_exceeded_total", lim, 1);
    }
    if (job->stale)
        fw_metrics_add(self->metrics, "fw_scraper_stale_markers_total", "", (double)job->stale);
    if (error) {
        fw_metrics_add(self->metrics, "fw_scraper_scrape_failures_total", lj, 1);
        // Warn on a change of state or error, so a dead target does not flood the log.
        if (t->health != SCRAPER_HEALTH_DOWN || strcmp(t->last_error, error) != 0)
            fw_warn("scrape.fail", "target=%s err=%s dur_ms=%.0f", t->url, error,
                    res->duration_s * 1000);
        else
            fw_debug("scrape.fail", "target=%s err=%s", t->url, error);
    } else if (t->health == SCRAPER_HEALTH_DOWN) {
        fw_info("scrape.recover", "target=%s samples=%zd", t->url, job->n);
    }
    pthread_mutex_lock(&self->mu);
    t->health = error ? SCRAPER_HEALTH_DOWN : SCRAPER_HEALTH_UP;
    snprintf(t->last_error, sizeof(t->last_error), "%s", error ? error : "");
    t->last_scrape_ms = job->ts;
    t->last_duration_s = res->duration_s;
    pthread_mutex_unlock(&self->mu);
    size_t batches = 0;
    zsock_t *pub = s_pub(self, "SAMPLES");
    for (size_t i = 0; i < job->n_frames; i++)
        if (fw_sender_send_frames_kinds(self->sender, &job->frames[i], job->frame_samples[i],
                                        job->refs_gen, job->frame_kinds[i], pub) == 0)
            batches++;
    if (batches)
        fw_metrics_add(self->metrics, "fw_scraper_batches_sent_total", "", (double)batches);
    // A scrape of more than one batch is over for its target when tsdb has it: its next
    // scrape starts only once these batches are settled (else that slot is skipped), so a
    // target bigger than tsdb can take in an interval is scraped as often as tsdb takes it
    // rather than filling the send buffer, whose drops would take the other targets'
    // batches too. A scrape of one batch does not wait: it cannot fill the buffer, and its
    // batch may sit behind a big one's.
    t->after_seq = job->n_frames > 1 ? fw_sender_last_seq(self->sender) : 0;
    scraper_fetch_set_settled(self->fetch, fw_sender_settled(self->sender));
    if (job->exemplars_dropped)
        fw_metrics_add(self->metrics, "fw_scraper_exemplars_total", "result=\"parse_dropped\"",
                       (double)job->exemplars_dropped);
    scraper_exemplars_give(self->exemplars, &job->exemplars);
    scraper_exemplars_send(self->exemplars, fw_sender_id(self->sender), s_pub(self, "EXEMPLARS"));
    if (job->metadata) {
        char *target = fw_asprintf("%s %s", t->job, t->url);
        int sent =
            scraper_meta_send(scraper_exemplars_sock(self->exemplars), s_pub(self, "METADATA"),
                              fw_sender_id(self->sender), target, &job->metadata);
        fw_metrics_add(self->metrics, "fw_scraper_metadata_messages_total",
                       sent == 0 ? "result=\"sent\"" : "result=\"dropped\"", 1);
        // A dropped message (no connection to tsdb yet: the DEALER is ZMQ_IMMEDIATE) is
        // sent again by the target's next scrape, not SCRAPER_META_RESEND_MS later. The
        // loop holds the target until s_target_next, so the worker's fields are ours here.
        if (sent != 0)
            t->meta_sent_ms = 0;
        free(target);
    }
    scraper_work_job_destroy(&job);
    if (!s_zombie_retire(self, t))
        s_target_next(self, t);
}

static void s_loop_settle(scraper_t *self);

// tsdb acknowledged batches: the targets waiting for them (after_seq) may scrape again.
static void
s_on_ack(void *arg, uint64_t acked)
{
    scraper_t *self = arg;
    (void)acked;
    if (self->fetch)
        scraper_fetch_set_settled(self->fetch, fw_sender_settled(self->sender));
}

// After a read of finished scrapes: if one ended a slot, the batches held go (s_send_held).
static void
s_on_work_round(void *arg)
{
    s_send_held(arg);
    s_loop_settle(arg);
}

// t's scrape is over: if a reload removed t meanwhile, retire and free it now (true).
static bool
s_zombie_retire(scraper_t *self, struct scraper_target *t)
{
    for (size_t i = 0; i < self->n_zombies; i++) {
        if (self->zombies[i] == t) {
            self->zombies[i] = self->zombies[--self->n_zombies];
            scraper_int_target_retire(self, t);
            scraper_target_destroy(&t);
            return true;
        }
    }
    return false;
}

// Queue the cancel of scheduled scrape id; scraper_int_cancel_flush hands the queue to the fetch
// actor in one batch: one wake-up of it, however many targets a reload or discovery change drops.
void
scraper_int_cancel_add(scraper_t *self, uint64_t id)
{
    fw_mem_grow((void **)&self->cancels, &self->cap_cancels, self->n_cancels + 1,
                sizeof(*self->cancels));
    self->cancels[self->n_cancels++] = id;
}

void
scraper_int_cancel_flush(scraper_t *self)
{
    if (self->n_cancels == 0)
        return;
    uint64_t before = scraper_fetch_wakes_cancel(self->fetch);
    (void)scraper_fetch_cancel_n(self->fetch, self->cancels, self->n_cancels);
    uint64_t woke = scraper_fetch_wakes_cancel(self->fetch) - before;
    fw_metrics_add(self->metrics, "fw_scraper_fetch_wakes_total", "reason=\"cancel\"",
                   (double)woke);
    fw_metrics_add(self->metrics, "fw_scraper_fetch_cancels_total", "", (double)self->n_cancels);
    self->n_cancels = 0;
}

// target_limit: every target of a job with more targets than its limit fails each scrape
// with Prometheus's error, without a request, until the job is back under it. Run on each
// housekeeping tick (and at start), so it follows discovery within a second.
static void
s_apply_target_limits(scraper_t *self)
{
    zhashx_t *count = zhashx_new(); // job -> number of targets, as a pointer-sized integer
    zhashx_set_destructor(count, NULL);
    zhashx_set_duplicator(count, NULL);
    for (size_t i = 0; i < self->n_targets; i++) {
        const struct scraper_target *t = self->targets[i];
        if (t->client.target_limit <= 0)
            continue;
        uintptr_t c = (uintptr_t)zhashx_lookup(count, t->job);
        zhashx_update(count, t->job, (void *)(c + 1));
    }
    pthread_mutex_lock(&self->mu);
    for (size_t i = 0; i < self->n_targets; i++) {
        struct scraper_target *t = self->targets[i];
        uintptr_t c = t->client.target_limit > 0 ? (uintptr_t)zhashx_lookup(count, t->job) : 0;
        char was[sizeof(t->forced_error)];
        memcpy(was, t->forced_error, sizeof(was));
        if (t->client.target_limit > 0 && (int64_t)c > t->client.target_limit)
            snprintf(t->forced_error, sizeof(t->forced_error),
                     "target_limit exceeded (number of targets: %zu, limit: %lld)", (size_t)c,
                     (long long)t->client.target_limit);
        else
            t->forced_error[0] = '\0';
        // a scheduled scrape carries the old state: made again (s_on_fetch)
        if (t->inflight && strcmp(was, t->forced_error) != 0)
            scraper_int_cancel_add(self, t->inflight);
    }
    pthread_mutex_unlock(&self->mu);
    zhashx_destroy(&count);
    scraper_int_cancel_flush(self);
}

// An answer the fetch actor could not hand to a worker (its queue was full: the scrape is
// skipped), or a scheduled scrape cancelled (made again for the same due time, unless its
// target is gone).
static void
s_on_fetch(scraper_t *self)
{
    struct scraper_fetch_result res;
    if (scraper_fetch_recv(self->fetch, &res) != 0 || !res.job) {
        fw_warn("scrape.actor.bad_reply", "reason=%s", "unexpected message from fetch actor");
        scraper_fetch_result_clear(&res);
        return;
    }
    struct scraper_work_job *job = res.job;
    struct scraper_target *t = job->target;
    bool cancelled = res.cancelled, skipped = res.skipped;
    if (skipped) { // the previous scrape's batches not yet settled (after_seq): expected
        char lj[320];
        fw_metrics_label(lj, sizeof(lj), "job", t->job);
        fw_metrics_add(self->metrics, "fw_scraper_scrapes_skipped_total", lj, 1);
        fw_metrics_add(self->metrics, "fw_scraper_scrapes_waited_total", lj, 1);
        fw_debug("scrape.skip", "target=%s reason=%s", t->url,
                 res.error ? res.error : "previous scrape not stored");
    }
    scraper_fetch_result_clear(&res);
    s_job_drop(self, &job, cancelled || skipped ? NULL : "worker queue full");
    if (!s_zombie_retire(self, t)) {
        if (cancelled)
            s_target_schedule(self, t); // made again for the same due time, in the same slot
        else
            s_target_next(self, t);
    }
}

// ---------------------------------------------------------------------------------------
//  The loop's sockets
//
// The loop polls its own ZeroMQ sockets (the fetch actor's pipe, pub, an actor's pipe) by
// their ZMQ_FD (fw_zfd_poller; fw_zfd.h says why: no ZMQ_EVENTS asked of every socket on
// every wake-up). The pool's socket of finished scrapes is polled the same way, by
// scraper_work_attach (its reads are counted there, scraper_work_checks). A ZMQ_FD only
// signals that something came since libzmq last looked, and any use of the socket may look
// and take the signal: so each socket is read until ZMQ_EVENTS says it is empty, when its
// fd signals and at the end of every round of the loop that used it (s_loop_settle).

#define S_LOOP_READ_MAX 100000 // a bound, never reached: each read is a message

// Read the fetch actor's answers until none is left.
static void
s_loop_fetch(scraper_t *self)
{
    zsock_t *sock = scraper_fetch_sock(self->fetch);
    bool read = false;
    for (int i = 0; i < S_LOOP_READ_MAX; i++) {
        self->loop_checks++;
        if (!(zsock_events(sock) & ZMQ_POLLIN))
            break;
        s_on_fetch(self); // may send a WAKE on the same pipe: asked again next turn
        read = true;
    }
    self->fetch_wakes_seen = scraper_fetch_wakes(self->fetch);
    if (read)
        s_send_held(self); // a dropped scrape may have been the last of its slot
}

// Read what the taps subscribed to until nothing is left.
static void
s_loop_topics(scraper_t *self)
{
    for (int i = 0; i < S_LOOP_READ_MAX; i++) {
        self->loop_checks++;
        if (!(zsock_events(self->pub) & ZMQ_POLLIN))
            break;
        fw_zsock_topics_read(self->pub, &self->topics);
    }
    self->pub_used = false;
}

// The end of a round of the loop: a socket this thread used may hold a message whose signal
// the use took (a WAKE sent to the fetch actor, a batch published). Asked only then, so a
// round that used neither costs no system call here.
static void
s_loop_settle(scraper_t *self)
{
    for (int i = 0; i < 16 && scraper_fetch_wakes(self->fetch) != self->fetch_wakes_seen; i++)
        s_loop_fetch(self);
    if (self->pub_used)
        s_loop_topics(self);
}

static int
s_on_fetch_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    s_loop_fetch(arg);
    s_loop_settle(arg);
    return 0;
}

static int
s_on_pub_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    s_loop_topics(arg);
    s_loop_settle(arg);
    return 0;
}

// ---------------------------------------------------------------------------------------
//  Housekeeping

// The fetch actor's poll() calls and the loop's reads of finished jobs: what a scrape costs
// the two threads in wake-ups (docs/benchmarks.md), published each second.
static void
s_publish_wakes(scraper_t *self)
{
    fw_metrics_set(self->metrics, "fw_scraper_fetch_polls_total", "",
                   (double)scraper_fetch_polls(self->fetch));
    fw_metrics_set(self->metrics, "fw_scraper_work_returns_total", "",
                   (double)scraper_work_rounds(self->work));
    fw_metrics_set(self->metrics, "fw_scraper_sends_total", "",
                   (double)fw_sender_flushes(self->sender));
    fw_metrics_set(self->metrics, "fw_scraper_loop_socket_checks_total", "",
                   (double)(self->loop_checks + scraper_work_checks(self->work)));
}

// Each second: the sender's tick (refused sends, the resend timeout, acknowledgements; run
// here rather than on a timer of its own, which woke the loop a millisecond apart from this
// one), a reload asked for, discovery's changes, target_limit, the gauges.
static int
s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    scraper_t *self = arg;
    (void)fw_sender_poll(self->sender, 0);
    (void)fw_daemon_reload_step(self->http, scraper_int_reload, self);
    if (self->sd && scraper_sd_take_changed(self->sd))
        scraper_int_sync_discovered(self);
    s_apply_target_limits(self);
    fw_metrics_set(self->metrics, "fw_scraper_targets", "", (double)self->n_targets);
    s_publish_wakes(self);
    s_loop_settle(self);
    return 0;
}

// scraper_run's pipe (an actor's): $TERM, or the pipe gone, ends the loop. The loop never
// sends on it, so its ZMQ_FD is asked only when it signals.
static int
s_on_pipe(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    scraper_t *self = arg;
    for (int i = 0; i < S_LOOP_READ_MAX; i++) {
        self->loop_checks++;
        if (!(zsock_events(self->pipe) & ZMQ_POLLIN))
            break;
        char *cmd = zstr_recv(self->pipe);
        bool term = !cmd || strcmp(cmd, "$TERM") == 0;
        zstr_free(&cmd);
        if (term)
            return -1;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
//  GET /api/v1/targets and /api/v1/targets/relabel_steps (JSON in scraper_api.c)

static int
s_on_api_targets(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    scraper_t *self = arg;
    pthread_mutex_lock(&self->mu);
    struct scraper_api_view v = {.active = self->targets,
                                 .n_active = self->n_targets,
                                 .drops = &self->drops,
                                 .shard = &self->opts->shard,
                                 .n_other_shards = self->n_other_shards};
    char *text = scraper_api_targets(&v, fw_http_arg(req, "state"), fw_http_arg(req, "scrapePool"));
    pthread_mutex_unlock(&self->mu);
    resp->status = 200;
    resp->body = text; // moved
    resp->content_type = "application/json";
    return 0;
}

static int
s_on_api_relabel_steps(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    scraper_t *self = arg;
    int status = 200;
    pthread_mutex_lock(&self->mu); // the config a reload may swap
    char *text = scraper_api_relabel_steps(&self->cfg, fw_http_arg(req, "scrapePool"),
                                           fw_http_arg(req, "labels"), &status);
    pthread_mutex_unlock(&self->mu);
    resp->status = status;
    resp->body = text; // moved
    resp->content_type = "application/json";
    return 0;
}

// ---------------------------------------------------------------------------------------
//  Lifecycle

scraper_t *
scraper_new(const struct scraper_opts *opts)
{
    scraper_t *self = fw_calloc(1, sizeof(*self));
    self->opts = opts;
    pthread_mutex_init(&self->mu, NULL);
    self->metrics = fw_metrics_new();
    fw_metrics_t *m = self->metrics;
    fw_metrics_declare(m, "fw_scraper_scrapes_total", FW_METRIC_COUNTER, "Scrapes finished.");
    fw_metrics_declare(m, "fw_scraper_scrape_failures_total", FW_METRIC_COUNTER,
                       "Scrapes that failed (connection, HTTP status, timeout, parse error).");
    fw_metrics_declare(m, "fw_scraper_samples_total", FW_METRIC_COUNTER,
                       "Samples scraped and sent (excluding up and scrape_* series).");
    fw_metrics_declare(m, "fw_scraper_targets", FW_METRIC_GAUGE, "Targets configured.");
    fw_metrics_declare(m, "fw_scraper_limit_exceeded_total", FW_METRIC_COUNTER,
                       "Scrapes failed by a limit (limit: sample_limit, label, body_size).");
    fw_metrics_declare(m, "fw_scraper_samples_dropped_excess_total", FW_METRIC_COUNTER,
                       "Samples dropped by sample_limit_mode: drop_excess (series beyond a "
                       "target's sample_limit).");
    fw_metrics_declare(m, "fw_scraper_batches_sent_total", FW_METRIC_COUNTER,
                       "SAMPLES batches handed to the sender (fw_sender_* count what became "
                       "of them).");
    fw_metrics_declare(m, "fw_scraper_metadata_messages_total", FW_METRIC_COUNTER,
                       "METADATA messages (a target's HELP, TYPE and UNIT, when they change "
                       "and every 5m) by result: sent, dropped (tsdb's queue full or away).");
    fw_metrics_declare(m, "fw_scraper_stale_markers_total", FW_METRIC_COUNTER,
                       "Staleness markers sent for series that disappeared.");
    fw_metrics_declare(m, "fw_scraper_scrapes_skipped_total", FW_METRIC_COUNTER,
                       "Scrapes skipped because the target's previous scrape was still being "
                       "fetched or processed, or its samples not yet stored (waited).");
    fw_metrics_declare(m, "fw_scraper_scrapes_waited_total", FW_METRIC_COUNTER,
                       "Of the skipped scrapes, those of a target whose previous scrape (more "
                       "than one batch) tsdb had not yet acknowledged.");
    fw_metrics_declare(
        m, "fw_scraper_fetch_wakes_total", FW_METRIC_COUNTER,
        "Wake-ups of the fetch thread by the loop, by reason (cancel: one a batch).");
    fw_metrics_declare(m, "fw_scraper_fetch_polls_total", FW_METRIC_COUNTER,
                       "The fetch thread's waits for its sockets (poll calls).");
    fw_metrics_declare(m, "fw_scraper_work_returns_total", FW_METRIC_COUNTER,
                       "The loop's reads of finished scrapes (each takes every one waiting).");
    fw_metrics_declare(m, "fw_scraper_sends_total", FW_METRIC_COUNTER,
                       "Times SAMPLES batches went to tsdb's socket back to back (a start "
                       "slot's scrapes all back, the 1 s tick, a full hold): each wakes "
                       "libzmq's I/O thread once.");
    fw_metrics_declare(m, "fw_scraper_loop_socket_checks_total", FW_METRIC_COUNTER,
                       "The loop's own asks of its ZeroMQ sockets' state (ZMQ_EVENTS, or a "
                       "read that found nothing; two system calls each): when a socket's fd "
                       "signals and after a round that used it.");
    fw_metrics_declare(m, "fw_scraper_fetch_cancels_total", FW_METRIC_COUNTER,
                       "Scheduled scrapes cancelled (reload, discovery, target_limit).");
    fw_metrics_declare(m, "fw_scraper_work_seconds_total", FW_METRIC_COUNTER,
                       "CPU seconds the workers spent on scrapes (parse, relabel, limits, "
                       "encode).");
    fw_metrics_declare(m, "prometheus_target_sync_length_seconds", FW_METRIC_SUMMARY,
                       "Actual interval to sync the scrape pool.");
    fw_metrics_declare(m, "fw_scraper_config_last_reload_successful", FW_METRIC_GAUGE,
                       "Whether the last configuration reload succeeded.");
    fw_zsock_declare_metrics(m);
    fw_metrics_add(m, "fw_msg_rejected_total", "type=\"SAMPLES\"", 0);
    fw_metrics_add(m, "fw_scraper_samples_total", "", 0);
    fw_metrics_add(m, "fw_scraper_fetch_wakes_total", "reason=\"cancel\"", 0);
    fw_metrics_add(m, "fw_scraper_fetch_cancels_total", "", 0);
    fw_metrics_add(m, "fw_scraper_fetch_polls_total", "", 0);
    fw_metrics_add(m, "fw_scraper_work_returns_total", "", 0);
    fw_metrics_add(m, "fw_scraper_sends_total", "", 0);
    fw_metrics_add(m, "fw_scraper_loop_socket_checks_total", "", 0);
    fw_metrics_set(m, "fw_scraper_config_last_reload_successful", "", 1);
    return self;
}

int
scraper_open(scraper_t *self, struct fw_promcfg *cfg, fw_err_t *err)
{
    self->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));

    struct fw_sender_opts so = self->opts->sender;
    so.endpoint = self->opts->zmq_tsdb_address;
    so.name = "scraper";
    // A batch a target a scrape: held, and sent together once every scrape of the start slot
    // is back (s_slot_end, s_send_held), when the loop is awake anyway; acknowledgements are
    // read then too. The tick is a safety net (a slow scrape, refused sends, the resend
    // timeout): the loop is not woken 10 times a second for it, nor once for each
    // acknowledgement (fw_sender.h).
    so.hold = true;
    so.lazy_acks = true;
    so.tick_ms = S_SENDER_TICK_MS;
    self->sender = fw_sender_new(&so, self->metrics);
    fw_sender_on_ack(self->sender, s_on_ack, self);
    self->exemplars = scraper_exemplars_new(self->metrics);
    if (fw_sender_open(self->sender, err) != 0 ||
        scraper_exemplars_open(self->exemplars, self->opts->zmq_tsdb_address, err) != 0 ||
        !(self->pub = fw_zsock_xpub(self->opts->zmq_pub_address, err)))
        return -1;
    self->work = scraper_work_new(self->opts->workers > 0 ? (size_t)self->opts->workers : 1);
    self->lane = scraper_work_lane_new(self->work); // before the thread that uses it
    self->fetch = self->work ? scraper_fetch_new(s_on_fetched, self) : NULL;
    if (!self->work || !self->fetch) {
        fw_err_set(err, "cannot start the fetch actor");
        return -1;
    }
    scraper_fetch_on_round(self->fetch, s_on_round, self);
    self->http = fw_http_new("scraper", self->metrics);
    fw_http_set_web_config(self->http, self->opts->common.web_config_file);
    fw_http_route(self->http, "GET", "/api/v1/targets", s_on_api_targets, self);
    fw_http_route(self->http, "GET", "/api/v1/targets/relabel_steps", s_on_api_relabel_steps, self);
    if (fw_http_start(self->http, self->opts->common.web_listen_address, err) != 0)
        return -1;

    self->loop = zloop_new();
    if (fw_zfd_poller(self->loop, scraper_fetch_sock(self->fetch), &self->fetch_item, s_on_fetch_fd,
                      self) != 0 ||
        fw_zfd_poller(self->loop, self->pub, &self->pub_item, s_on_pub_fd, self) != 0) {
        fw_err_set(err, "cannot poll the loop's sockets");
        return -1;
    }
    scraper_work_on_round(self->work, s_on_work_round);
    if (scraper_work_attach(self->work, self->loop, s_on_work_done, self) != 0) {
        fw_err_set(err, "cannot attach the scrape workers to the loop");
        return -1;
    }
    // The sender is not attached: its tick runs in this one (s_on_housekeeping).
    zloop_timer(self->loop, S_SENDER_TICK_MS, 0, s_on_housekeeping, self);
    self->sd = scraper_sd_new(self->metrics);
    if (scraper_sd_start(self->sd, &self->cfg, NULL, self->loop, err) != 0)
        return -1;
    struct scraper_target **targets;
    size_t n_targets;
    struct scraper_target_drops drops;
    size_t other;
    scraper_int_build_targets(self->metrics, &self->cfg, self->sd, &self->opts->shard, &targets,
                              &n_targets, &drops, &other);
    pthread_mutex_lock(&self->mu); // the HTTP thread is already serving /api/v1/targets
    self->targets = targets;
    self->n_targets = self->cap_targets = n_targets;
    self->drops = drops;
    self->n_other_shards = other;
    pthread_mutex_unlock(&self->mu);
    s_apply_target_limits(self);
    for (size_t i = 0; i < self->n_targets; i++)
        scraper_int_target_start(self, self->targets[i]);
    fw_metrics_set(self->metrics, "fw_scraper_targets", "", (double)self->n_targets);
    fw_http_set_ready(self->http, true);
    fw_info("scraper.start", "targets=%zu listen=%s tsdb=%s pub=%s sender=%s", self->n_targets,
            self->opts->common.web_listen_address, self->opts->zmq_tsdb_address,
            self->opts->zmq_pub_address, fw_sender_id(self->sender));
    return 0;
}

int
scraper_run(scraper_t *self, zsock_t *pipe)
{
    if (!self->loop)
        return -1;
    self->pipe = pipe;
    if (pipe && fw_zfd_poller(self->loop, pipe, &self->pipe_item, s_on_pipe, self) != 0)
        return -1;
    // What came before the loop polls the fds may have had its signal taken already.
    s_loop_fetch(self);
    s_loop_topics(self);
    int rc = pipe ? s_on_pipe(self->loop, &self->pipe_item, self) : 0;
    if (rc == 0)
        (void)fw_zloop_run(self->loop); // survives SIGHUP; SIGINT/SIGTERM or a -1 end it
    if (pipe)
        zloop_poller_end(self->loop, &self->pipe_item);
    self->pipe = NULL;
    // Detached, so that zloop_destroy does not touch the sender's socket afterwards.
    fw_sender_detach(self->sender);
    size_t left = fw_sender_flush(self->sender, S_FLUSH_MS);
    fw_info("scraper.stop", "batches=%llu unacked=%zu",
            (unsigned long long)fw_sender_last_seq(self->sender), left);
    return 0;
}

int
scraper_http_port(const scraper_t *self)
{
    return self->http ? fw_http_port(self->http) : -1;
}

void
scraper_destroy(scraper_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_t *self = *self_p;
    fw_http_destroy(&self->http);
    fw_sender_detach(self->sender);
    scraper_work_detach(self->work, self->loop);
    if (self->loop) {
        zloop_poller_end(self->loop, &self->fetch_item);
        zloop_poller_end(self->loop, &self->pub_item);
    }
    // The fetch actor hands jobs to the pool, so it goes first; the jobs it held are the
    // pool's, which frees those not back: before the targets go.
    scraper_fetch_destroy(&self->fetch);
    scraper_work_lane_destroy(&self->lane);
    scraper_work_destroy(&self->work);
    scraper_sd_destroy(&self->sd); // its readers leave the loop
    zloop_destroy(&self->loop);
    for (size_t i = 0; i < self->n_targets; i++)
        scraper_target_destroy(&self->targets[i]);
    free(self->targets);
    for (size_t i = 0; i < self->n_zombies; i++)
        scraper_target_destroy(&self->zombies[i]);
    free(self->zombies);
    free(self->cancels);
    free(self->slots);
    for (size_t i = 0; i < self->n_retired; i++)
        fw_promcfg_free(&self->retired[i].cfg);
    free(self->retired);
    scraper_target_drops_clear(&self->drops);
    zsock_destroy(&self->pub);
    fw_zsock_topics_clear(&self->topics);
    fw_sender_destroy(&self->sender);
    scraper_exemplars_destroy(&self->exemplars);
    scraper_lset_free(&self->lset);
    fw_metrics_destroy(&self->metrics);
    fw_promcfg_free(&self->cfg);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}
