/*  scraper_work.c — a scrape's CPU work on worker threads (see scraper_work.h).
 */
#include "scraper_work.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_expfmt.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_labels_pack.h"
#include "scraper_meta.h"
#include "fw_msg.h"
#include "fw_msg_samples.h"
#include "fw_sample.h"
#include "scraper_cache.h"
#include "scraper_exemplars.h"

static const char *const s_auto_names[] = {
    "up", "scrape_duration_seconds", "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling", "scrape_series_added"};
#define S_N_AUTO (sizeof(s_auto_names) / sizeof(s_auto_names[0]))

// One series of one sample of the batch being built: its encoded labels (a cache entry's,
// or at off in the state's scratch when enc is NULL), the splitting estimate, the sample.
struct s_item {
    const unsigned char *enc;
    size_t off;
    uint32_t enc_len;
    uint32_t est;
    int64_t t;
    double v;
    struct scraper_cache_entry *e; // the kept cache entry (its ref), or NULL
    int64_t st;                    // start time (OpenMetrics _created), ms; 0: none
};

struct scraper_work_state {
    fw_expfmt_t *parser;            // owned
    struct scraper_lset lset;       // owned scratch
    struct fw_labels relabeled;     // owned scratch: a new series' metric relabeling
    scraper_exemplars_t *exemplars; // owned: collects one scrape's exemplars
    scraper_meta_t *meta;           // owned: collects one scrape's metric metadata
    struct fw_batch *b;             // owned: stale markers and synthetic series
    struct s_item *items;           // owned: the scrape's series, in order
    size_t n_items, cap_items;
    unsigned char *scratch; // owned: the encoded labels of b's series and of transient ones
    size_t scratch_len, scratch_cap;
    struct scraper_cache_entry transient; // a series worked out but not kept (s_transient)
    size_t transient_off;                 // its encoded labels in the scratch
    struct scraper_work_job *job;         // borrowed: the job being run
};

struct scraper_work {
    zactor_t **workers; // owned
    size_t n;
    // finished jobs from every worker (each has a PUSH to it): one socket for the loop to
    // poll, however many workers there are
    zsock_t *done_sock; // owned: PULL
    char done_endpoint[64];
    zloop_t *loop; // borrowed, while attached
    scraper_work_done_fn *done;
    void *done_arg;
    size_t outstanding;
    uint64_t rounds;                   // s_on_done calls: the loop's wake-ups for finished jobs
    scraper_work_round_fn *round_done; // or NULL: after each s_on_done, with done_arg
    zhashx_t *out;                     // job pointer -> itself: the jobs handed out
};

// ---------------------------------------------------------------------------------------
//  The work

scraper_work_state_t *
scraper_work_state_new(void)
{
    scraper_work_state_t *self = fw_calloc(1, sizeof(*self));
    self->parser = fw_expfmt_new();
    self->exemplars = scraper_exemplars_new(NULL);
    self->meta = scraper_meta_new();
    return self;
}

void
scraper_work_state_destroy(scraper_work_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_work_state_t *self = *self_p;
    fw_batch_destroy(&self->b);
    free(self->items);
    free(self->scratch);
    scraper_exemplars_destroy(&self->exemplars);
    scraper_meta_destroy(&self->meta);
    fw_labels_clear(&self->relabeled);
    scraper_lset_free(&self->lset);
    fw_expfmt_destroy(&self->parser);
    free(self);
    *self_p = NULL;
}

// The job's target's scrape cache, emptied when the config (the rules may have changed) or
// the body's format changed since its last scrape.
static scraper_cache_t *
s_cache(const struct scraper_work_job *job, fw_expfmt_fmt_t fmt)
{
    struct scraper_target *t = job->target;
    if (!t->cache) {
        t->cache = scraper_cache_new(SCRAPER_CACHE_MAX);
        scraper_cache_set_refs(t->cache, job->refs);
    } else if (t->cache_gen != job->gen || t->cache_fmt != (int)fmt)
        scraper_cache_clear(t->cache);
    t->cache_gen = job->gen;
    t->cache_fmt = (int)fmt;
    return t->cache;
}

// The parser's question (fw_expfmt_set_known): the cache entry of sample i's series text.
static void *
s_known(void *arg, size_t i, const char *series, size_t len)
{
    uint64_t h;
    return scraper_cache_lookup(arg, i, series, len, &h);
}

// The parser's other question (fw_expfmt_set_expect): the series text sample i had in the
// last good scrape.
static bool
s_expect(void *arg, size_t i, struct fw_expfmt_expect *x)
{
    struct scraper_cache_entry *e = scraper_cache_expect(arg, i);
    if (!e || e->name_len == 0)
        return false;
    *x = (struct fw_expfmt_expect){e->key, e->key_len, e->name_len, e};
    return true;
}

static inline void
s_item_add(scraper_work_state_t *self, struct scraper_cache_entry *e, const unsigned char *enc,
           size_t off, size_t enc_len, size_t est, int64_t t, double v, int64_t st)
{
    if (self->n_items == self->cap_items)
        fw_mem_grow((void **)&self->items, &self->cap_items, self->n_items + 1,
                    sizeof(*self->items));
    self->items[self->n_items++] = (struct s_item){
        enc, off, (uint32_t)enc_len, (uint32_t)(est > UINT32_MAX ? UINT32_MAX : est), t, v, e, st};
}

// metric_name_validation_scheme legacy: a name outside the legacy character sets fails the
// whole scrape, as in Prometheus 3 ("invalid metric name or label names"). false with
// job->error then.
static bool
s_names_ok(struct scraper_work_job *job, const struct fw_labels *l)
{
    if (!job->target->legacy_names || !l)
        return true;
    for (size_t k = 0; k < l->len; k++) {
        const struct fw_label *x = &l->items[k];
        if (!fw_label_name_valid(x->name) ||
            (strcmp(x->name, "__name__") == 0 && !fw_metric_name_valid(x->value))) {
            snprintf(job->error, sizeof(job->error),
                     "invalid metric name or label names (metric_name_validation_scheme "
                     "legacy): %.60s=\"%.100s\"",
                     x->name, x->value);
            return false;
        }
    }
    return true;
}

// A series text seen for the first time: merge it with the target labels, apply the job's
// metric_relabel_configs and remember the result in the cache. NULL with job->error when the
// result cannot be encoded.
static struct scraper_cache_entry *
s_learn(scraper_work_state_t *self, struct scraper_work_job *job, scraper_cache_t *cache, size_t i,
        const struct fw_expfmt_sample *s, uint64_t key_hash)
{
    struct scraper_target *t = job->target;
    scraper_target_merge(&self->lset, &t->labels, t->honor_labels, s);
    const struct fw_labels *lv = &self->lset.view;
    if (job->n_mrc > 0) {
        fw_labels_copy(&self->relabeled, lv);
        lv = fw_relabel_process(job->mrc, job->n_mrc, &self->relabeled) ? &self->relabeled : NULL;
    }
    if (!s_names_ok(job, lv)) {
        fw_labels_clear(&self->relabeled);
        return NULL;
    }
    // the name's length, for the parser's expectation (a quoted name is never expected)
    size_t name_len = strlen(s->name);
    if (name_len > s->series_len || memcmp(s->series, s->name, name_len) != 0)
        name_len = 0;
    struct scraper_cache_entry *e =
        scraper_cache_add(cache, i, s->series, s->series_len, name_len, key_hash, lv,
                          lv && lv->len ? fw_labels_hash(lv) : 0);
    fw_labels_clear(&self->relabeled);
    if (!e)
        snprintf(job->error, sizeof(job->error), "label set too large to encode (metric: %s)",
                 s->name);
    return e;
}

// A series the cache does not take (it is full, or the scrape already failed its sample
// limit and only counts): merged and relabeled as s_learn does, into self->transient (valid
// until the next call), its labels encoded into the scratch when `encode`. NULL with
// job->error when they cannot be encoded.
static struct scraper_cache_entry *
s_transient(scraper_work_state_t *self, struct scraper_work_job *job,
            const struct fw_expfmt_sample *s, bool encode)
{
    struct scraper_target *t = job->target;
    struct scraper_cache_entry *e = &self->transient;
    memset(e, 0, sizeof(*e));
    scraper_target_merge(&self->lset, &t->labels, t->honor_labels, s);
    fw_labels_copy(&self->relabeled, &self->lset.view);
    e->dropped = (job->n_mrc > 0 && !fw_relabel_process(job->mrc, job->n_mrc, &self->relabeled)) ||
                 self->relabeled.len == 0;
    if (e->dropped)
        return e;
    if (!s_names_ok(job, &self->relabeled))
        return NULL;
    e->items = self->relabeled.items;
    e->len = (uint32_t)self->relabeled.len;
    e->hash = fw_labels_hash(&self->relabeled);
    if (!encode)
        return e;
    size_t len = fw_samples_labels_size(&self->relabeled);
    if (len == 0) {
        snprintf(job->error, sizeof(job->error), "label set too large to encode (metric: %s)",
                 s->name);
        return NULL;
    }
    fw_mem_grow((void **)&self->scratch, &self->scratch_cap, self->scratch_len + len, 1);
    fw_samples_labels_put(self->scratch + self->scratch_len, &self->relabeled);
    self->transient_off = self->scratch_len;
    self->scratch_len += len;
    e->enc_len = (uint32_t)len;
    e->est = len - 2 - 2 * self->relabeled.len;
    return e;
}

// Merge, relabel, limit and list the n parsed samples of the job's target in self->items,
// through the target's scrape cache: a series text seen before costs a hash and a lookup.
// NULL, or the error (in job->error, or a constant) that fails the whole scrape; the items
// then hold junk and are dropped by the caller.
static const char *
s_append_samples(scraper_work_state_t *self, struct scraper_work_job *job, scraper_cache_t *cache,
                 size_t n)
{
    struct scraper_target *t = job->target;
    struct scraper_work_tally *tally = &job->tally;
    const struct scraper_client *c = &t->client;
    int64_t limit = c->sample_limit > 0 ? c->sample_limit : job->sample_limit;
    bool drop_excess = c->sample_limit_mode == FW_SAMPLE_LIMIT_DROP_EXCESS;
    // drop_excess keeps the series the target had (at most limit of them were kept) and
    // admits new ones into the room left, so the kept set is stable from scrape to scrape.
    size_t known = scraper_target_series(t);
    size_t room = limit > 0 && (size_t)limit > known ? (size_t)limit - known : 0;
    const char *error = NULL;
    struct fw_expfmt_sample s;
    for (size_t i = 0; i < n; i++) {
        fw_expfmt_get(self->parser, i, &s);
        // The parser found most in the cache already (s_known); a text seen first in this
        // scrape may have been learnt since, from an earlier sample.
        struct scraper_cache_entry *e = s.tag;
        uint64_t kh = 0;
        if (e)
            scraper_cache_use(cache, e, i); // found by the parser's lookup or expectation
        else if (!(e = scraper_cache_lookup(cache, i, s.series, s.series_len, &kh))) {
            // a new series: kept, unless the cache is full or the scrape only counts now
            e = error || scraper_cache_full(cache) ? s_transient(self, job, &s, !error)
                                                   : s_learn(self, job, cache, i, &s, kh);
            if (!e)
                return job->error;
        }
        // A sample the rules drop, or leave without labels, is not counted or stored.
        if (e->dropped)
            continue;
        struct fw_labels lv = fw_labels_pack_view(e->items, e->len);
        tally->post++;
        if (error)
            continue; // sample_limit failed: only counting, as Prometheus does
        if (!e->checked) {
            if (scraper_client_check_labels(c, job->label_value_length_limit, &lv, job->error,
                                            sizeof(job->error)) != 0) {
                tally->limit = "label";
                return job->error; // as Prometheus, the first bad label set ends the scrape
            }
            e->checked = true;
        }
        bool tracked = limit > 0 &&
                       scraper_target_tracked_hint(t, &lv, e->hash, &e->seen_slot, &e->seen_epoch);
        if (limit > 0 && !drop_excess && (int64_t)tally->post > limit) {
            error = "sample limit exceeded";
            tally->limit = "sample_limit";
            continue;
        }
        if (limit > 0 && drop_excess && !tracked) {
            if (room == 0) {
                tally->dropped++;
                continue;
            }
            room--;
        }
        int64_t st = s.has_t && t->honor_timestamps ? s.t_ms : job->ts;
        bool kept = e != &self->transient;
        s_item_add(self, kept ? e : NULL, e->enc, kept ? 0 : self->transient_off, e->enc_len,
                   e->est, st, s.v, s.st_ms);
        if (s.has_exemplar)
            scraper_exemplars_add(self->exemplars, &lv, &s.exemplar, st);
        // A sample with its own timestamp gets no stale marker unless the job asks for one
        // (track_timestamps_staleness), as in Prometheus.
        if (s.has_t && t->honor_timestamps && !c->track_timestamps_staleness)
            continue;
        if (scraper_target_track_hint(t, &lv, e->hash, &e->seen_slot, &e->seen_epoch))
            tally->added++;
    }
    return error;
}

static void
s_add_auto(scraper_work_state_t *self, const struct scraper_target *t, size_t i, double v,
           int64_t ts)
{
    struct fw_expfmt_sample s = {.name = s_auto_names[i]};
    scraper_target_merge(&self->lset, &t->labels, false, &s);
    fw_series_add(fw_batch_add_series(self->b, &self->lset.view), ts, v);
}

// List self->b's series (stale markers, synthetic series) after the scrape's, their labels
// encoded into the scratch.
static void
s_items_from_batch(scraper_work_state_t *self)
{
    const struct fw_batch *b = self->b;
    for (size_t i = 0; i < b->len; i++) {
        const struct fw_series *sr = &b->series[i];
        size_t len = fw_samples_labels_size(&sr->labels);
        if (len == 0 || sr->len == 0)
            continue; // never: these sets came through the cache or are the target's own
        fw_mem_grow((void **)&self->scratch, &self->scratch_cap, self->scratch_len + len, 1);
        fw_samples_labels_put(self->scratch + self->scratch_len, &sr->labels);
        for (size_t k = 0; k < sr->len; k++)
            s_item_add(self, NULL, NULL, self->scratch_len, len, len - 2 - 2 * sr->labels.len,
                       sr->samples[k].t_ms, sr->samples[k].v, 0);
        self->scratch_len += len;
    }
}

static void
s_add_frames(struct scraper_work_job *job, zmsg_t *frames, size_t samples, unsigned kinds)
{
    job->frames = realloc(job->frames, (job->n_frames + 1) * sizeof(*job->frames));
    job->frame_samples =
        realloc(job->frame_samples, (job->n_frames + 1) * sizeof(*job->frame_samples));
    job->frame_kinds = realloc(job->frame_kinds, (job->n_frames + 1) * sizeof(*job->frame_kinds));
    if (!job->frames || !job->frame_samples || !job->frame_kinds)
        abort();
    job->frames[job->n_frames] = frames;
    job->frame_kinds[job->n_frames] = kinds;
    job->frame_samples[job->n_frames++] = samples;
}

// Whether item it goes as a bare ref (its labels were sent under the job's refs generation):
// a kept entry gets a ref on its first encode, and is defined once per generation.
static inline bool
s_item_bare(const struct scraper_work_job *job, const struct s_item *it)
{
    return it->e && it->e->ref && it->e->ref_gen == job->refs_gen;
}

// Encode items [i0, i1) as one SAMPLES v3 part of the job (seq numbered on the loop): the
// body is sized first and each series written once, straight into its frame: a ref and its
// encoded labels (a cache entry's, or from the scratch), or the ref alone once defined. A
// part with a start time (OpenMetrics _created) is v4, each start after its sample.
static void
s_encode_part(scraper_work_state_t *self, struct scraper_work_job *job, size_t i0, size_t i1)
{
    bool v4 = false;
    size_t bytes = 0;
    for (size_t i = i0; i < i1; i++) {
        struct s_item *it = &self->items[i];
        if (it->e && !it->e->ref && job->refs)
            it->e->ref = fw_sender_refs_alloc(job->refs); // 0 when none is left: labels
        bytes += 4 + (s_item_bare(job, it) ? 2 : it->enc_len) + 20 + (it->st ? 8 : 0);
        v4 = v4 || it->st;
    }
    fw_err_t err;
    fw_err_clear(&err);
    unsigned char *p = NULL;
    zmsg_t *frames =
        fw_msg_samples_frames(v4 ? FW_SAMPLES_V4 : FW_SAMPLES_V3, job->sender ? job->sender : "", 1,
                              1, i1 - i0, bytes, &p, &err);
    if (!frames) {
        fw_warn("msg.encode.fail", "target=%s samples=%zu err=%s", job->target->url, i1 - i0,
                err.msg);
        return;
    }
    unsigned kinds = 0; // what the part holds, so the sender need not read it (fw_sender.h)
    for (size_t i = i0; i < i1; i++) {
        const struct s_item *it = &self->items[i];
        uint32_t ref = it->e ? it->e->ref : 0;
        p = fw_samples_put_ref(p, ref);
        if (s_item_bare(job, it)) {
            kinds |= FW_SENDER_REFS_USES;
            p[0] = p[1] = 0;
            p += 2;
        } else {
            if (ref)
                kinds |= FW_SENDER_REFS_DEFS;
            memcpy(p, it->enc ? it->enc : self->scratch + it->off, it->enc_len);
            p += it->enc_len;
        }
        p = fw_samples_put_one_st(p, it->t, it->v, it->st);
    }
    // defined now (every occurrence in this part carried the labels)
    for (size_t i = i0; i < i1; i++)
        if (self->items[i].e && self->items[i].e->ref)
            self->items[i].e->ref_gen = job->refs_gen;
    s_add_frames(job, frames, i1 - i0, kinds);
}

// Encode the items into the job's frames, in parts of at most SCRAPER_WORK_BATCH_SERIES
// series or about SCRAPER_WORK_BATCH_BYTES of label text each.
static void
s_encode(scraper_work_state_t *self, struct scraper_work_job *job)
{
    job->refs_gen = job->refs ? fw_sender_refs_gen(job->refs) : 0;
    size_t i0 = 0, bytes = 0;
    for (size_t i = 0; i < self->n_items; i++) {
        if (i - i0 == SCRAPER_WORK_BATCH_SERIES || bytes >= SCRAPER_WORK_BATCH_BYTES) {
            s_encode_part(self, job, i0, i);
            i0 = i;
            bytes = 0;
        }
        bytes += self->items[i].est + 16;
    }
    if (self->n_items > i0 || self->n_items == 0)
        s_encode_part(self, job, i0, self->n_items);
}

static double
s_thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
scraper_work_run(scraper_work_state_t *self, struct scraper_work_job *job)
{
    double cpu0 = s_thread_cpu_s();
    struct scraper_target *t = job->target;
    struct scraper_fetch_result *res = &job->res;
    self->job = job;
    if (!self->b)
        self->b = fw_batch_new();
    self->n_items = self->scratch_len = 0;
    int64_t ts = job->ts;
    const char *error = res->error;
    fw_err_t perr;
    ssize_t n = 0;
    scraper_cache_t *cache = NULL;
    if (!error) {
        // OpenMetrics as Prometheus reads it: what its scrape accepts stays up here too
        // (a NaN counter, families out of order); the strict rules are for conformance. The
        // labels of a series text the cache knows are not parsed again.
        fw_expfmt_fmt_t fmt = fw_expfmt_format(res->content_type);
        cache = s_cache(job, fmt);
        fw_expfmt_set_known(self->parser, s_known, cache);
        fw_expfmt_set_expect(self->parser, s_expect);
        scraper_meta_begin(self->meta, self->parser, fmt);
        size_t len;
        const char *body = scraper_fetch_result_body(res, &len);
        n = fw_expfmt_parse_flags(self->parser, body, len, fmt,
                                  FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &perr);
        fw_expfmt_set_known(self->parser, NULL, NULL);
        fw_expfmt_set_expect(self->parser, NULL);
        job->metadata = scraper_meta_finish(self->meta, self->parser, n >= 0, &t->meta_hash,
                                            &t->meta_sent_ms, ts);
        if (n < 0) {
            error = perr.msg;
            n = 0;
        }
    }
    if (!error) {
        error = s_append_samples(self, job, cache, (size_t)n);
        if (error) { // nothing of a failed scrape is stored: only the markers
            scraper_exemplars_reset(self->exemplars);
            self->n_items = 0;
            job->tally.added = 0;
        }
    }
    if (error)
        job->stale = scraper_target_stale_all(t, self->b, ts);
    else
        job->stale = scraper_target_sweep(t, self->b, ts);
    double vals[S_N_AUTO] = {error ? 0 : 1, res->duration_s, (double)n, (double)job->tally.post,
                             (double)job->tally.added};
    for (size_t i = 0; i < S_N_AUTO; i++)
        s_add_auto(self, t, i, vals[i], ts);
    job->failed = error != NULL;
    if (error && error != job->error)
        snprintf(job->error, sizeof(job->error), "%s", error);
    job->n = n;
    job->exemplars_dropped = n > 0 ? fw_expfmt_exemplars_dropped(self->parser) : 0;
    job->exemplars = scraper_exemplars_take(self->exemplars);
    s_items_from_batch(self);
    s_encode(self, job);
    if (cache) // the items pointed into it: only now may it forget what this scrape left out
        scraper_cache_iter_done(cache, !error);
    fw_batch_destroy(&self->b); // encoded: its labels and samples are not needed any more
    self->n_items = self->scratch_len = 0;
    self->job = NULL;
    job->work_s = s_thread_cpu_s() - cpu0;
}

// ---------------------------------------------------------------------------------------
//  Jobs

struct scraper_work_job *
scraper_work_job_new(void)
{
    return fw_calloc(1, sizeof(struct scraper_work_job));
}

void
scraper_work_job_destroy(struct scraper_work_job **job_p)
{
    if (!job_p || !*job_p)
        return;
    struct scraper_work_job *job = *job_p;
    scraper_fetch_result_clear(&job->res);
    for (size_t i = 0; i < job->n_frames; i++)
        zmsg_destroy(&job->frames[i]);
    free(job->frames);
    free(job->frame_samples);
    free(job->frame_kinds);
    json_decref(job->exemplars);
    json_decref(job->metadata);
    free(job);
    *job_p = NULL;
}

// ---------------------------------------------------------------------------------------
//  The pool

static void
s_worker(zsock_t *pipe, void *args)
{
    const char *done_endpoint = args; // lives in the pool, which waits for the signal
    zsock_t *done = zsock_new(ZMQ_PUSH);
    zsock_set_sndhwm(done, 0); // bounded by the jobs handed out (one per target)
    if (!done || zsock_connect(done, "%s", done_endpoint) != 0) {
        zsock_destroy(&done);
        zsock_signal(pipe, 1);
        return;
    }
    scraper_work_state_t *state = scraper_work_state_new();
    zsock_signal(pipe, 0);
    while (true) {
        char *cmd = NULL;
        void *job = NULL;
        if (zsock_recv(pipe, "sp", &cmd, &job) != 0)
            break; // interrupted
        bool term = !cmd || strcmp(cmd, "$TERM") == 0;
        zstr_free(&cmd);
        if (term)
            break;
        if (!job)
            continue;
        scraper_work_run(state, job);
        if (zsock_send(done, "sp", "DONE", job) != 0)
            break; // the pool is going; it frees the job
    }
    scraper_work_state_destroy(&state);
    zsock_destroy(&done);
}

static size_t
s_ptr_hash(const void *key)
{
    return (size_t)(uintptr_t)key >> 4;
}

static int
s_ptr_cmp(const void *a, const void *b)
{
    return (uintptr_t)a < (uintptr_t)b ? -1 : (uintptr_t)a > (uintptr_t)b;
}

scraper_work_t *
scraper_work_new(size_t n)
{
    scraper_work_t *self = fw_calloc(1, sizeof(*self));
    self->n = n ? n : 1;
    self->workers = fw_calloc(self->n, sizeof(*self->workers));
    self->out = zhashx_new();
    zhashx_set_key_duplicator(self->out, NULL);
    zhashx_set_key_destructor(self->out, NULL);
    zhashx_set_key_hasher(self->out, s_ptr_hash);
    zhashx_set_key_comparator(self->out, s_ptr_cmp);
    zhashx_set_destructor(self->out, NULL);
    zhashx_set_duplicator(self->out, NULL);
    snprintf(self->done_endpoint, sizeof(self->done_endpoint), "inproc://scraper-work-%p",
             (void *)self);
    self->done_sock = zsock_new(ZMQ_PULL);
    if (!self->done_sock || zsock_bind(self->done_sock, "%s", self->done_endpoint) != 0) {
        scraper_work_destroy(&self);
        return NULL;
    }
    zsock_set_rcvhwm(self->done_sock, 0);
    zsock_set_rcvtimeo(self->done_sock, 0); // s_on_done reads until none is left
    for (size_t i = 0; i < self->n; i++) {
        self->workers[i] = zactor_new(s_worker, self->done_endpoint);
        if (!self->workers[i]) {
            scraper_work_destroy(&self);
            return NULL;
        }
        zsock_set_sndtimeo(zactor_sock(self->workers[i]), 0); // submit never blocks
    }
    return self;
}

void
scraper_work_destroy(scraper_work_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_work_t *self = *self_p;
    for (size_t i = 0; i < self->n; i++)
        zactor_destroy(&self->workers[i]); // each finishes the job it is on
    free(self->workers);
    zsock_destroy(&self->done_sock); // with the pointers of jobs not read: freed below
    if (self->out) {
        for (void *j = zhashx_first(self->out); j; j = zhashx_next(self->out)) {
            struct scraper_work_job *job = j;
            scraper_work_job_destroy(&job);
        }
        zhashx_destroy(&self->out);
    }
    free(self);
    *self_p = NULL;
}

// Every finished job waiting (at most S_DONE_BATCH, so the loop's other work is not held
// up): jobs sent together cost the loop one wake-up and one poll, not one each.
#define S_DONE_BATCH 256
static int
s_on_done(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    scraper_work_t *self = arg;
    self->rounds++;
    for (int i = 0; i < S_DONE_BATCH; i++) {
        char *cmd = NULL;
        void *job = NULL;
        if (zsock_recv(reader, "sp", &cmd, &job) != 0) // reader: the pool's PULL, rcvtimeo 0
            break;
        bool ok = cmd && strcmp(cmd, "DONE") == 0 && job && zhashx_lookup(self->out, job);
        zstr_free(&cmd);
        if (!ok)
            continue;
        zhashx_delete(self->out, job);
        self->outstanding--;
        self->done(job, self->done_arg);
    }
    if (self->round_done)
        self->round_done(self->done_arg);
    return 0;
}

uint64_t
scraper_work_rounds(const scraper_work_t *self)
{
    return self ? self->rounds : 0;
}

int
scraper_work_attach(scraper_work_t *self, zloop_t *loop, scraper_work_done_fn *done, void *arg)
{
    self->loop = loop;
    self->done = done;
    self->done_arg = arg;
    return zloop_reader(loop, self->done_sock, s_on_done, self);
}

void
scraper_work_on_round(scraper_work_t *self, scraper_work_round_fn *fn)
{
    self->round_done = fn;
}

void
scraper_work_detach(scraper_work_t *self, zloop_t *loop)
{
    if (!self || !loop)
        return;
    zloop_reader_end(loop, self->done_sock);
    self->loop = NULL;
}

void
scraper_work_hold(scraper_work_t *self, struct scraper_work_job *job)
{
    job->worker = (size_t)(fw_labels_hash(&job->target->labels) % self->n);
    zhashx_insert(self->out, job, job);
    self->outstanding++;
}

void
scraper_work_unhold(scraper_work_t *self, struct scraper_work_job *job)
{
    if (zhashx_lookup(self->out, job)) {
        zhashx_delete(self->out, job);
        self->outstanding--;
    }
}

int
scraper_work_hand(scraper_work_t *self, struct scraper_work_job *job)
{
    return zsock_send(self->workers[job->worker], "sp", "JOB", job);
}

int
scraper_work_submit(scraper_work_t *self, struct scraper_work_job **job_p)
{
    struct scraper_work_job *job = *job_p;
    scraper_work_hold(self, job);
    if (scraper_work_hand(self, job) != 0) {
        scraper_work_unhold(self, job);
        return -1;
    }
    *job_p = NULL;
    return 0;
}

size_t
scraper_work_outstanding(const scraper_work_t *self)
{
    return self ? self->outstanding : 0;
}

// ---------------------------------------------------------------------------------------
//  Lanes

struct scraper_work_lane {
    scraper_work_t *pool;            // borrowed
    scraper_work_state_t *state;     // owned
    zsock_t *done;                   // owned: PUSH to the pool's PULL, made on the lane's thread
    uint64_t runs;                   // jobs run
    struct scraper_work_job **ready; // borrowed (held by the pool): run, not yet sent back
    size_t n_ready, cap_ready;
};

scraper_work_lane_t *
scraper_work_lane_new(scraper_work_t *pool)
{
    if (!pool)
        return NULL;
    scraper_work_lane_t *self = fw_calloc(1, sizeof(*self));
    self->pool = pool;
    return self;
}

void
scraper_work_lane_destroy(scraper_work_lane_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_work_lane_t *self = *self_p;
    free(self->ready); // the jobs not sent back are the pool's, which frees them
    zsock_destroy(&self->done);
    scraper_work_state_destroy(&self->state);
    free(self);
    *self_p = NULL;
}

bool
scraper_work_small(const struct scraper_work_job *job)
{
    size_t body;
    (void)scraper_fetch_result_body(&job->res, &body);
    return body <= SCRAPER_WORK_SMALL_BYTES && job->res.others <= SCRAPER_WORK_SMALL_OTHERS &&
           scraper_target_series(job->target) <= SCRAPER_WORK_SMALL_SERIES;
}

int
scraper_work_lane_run(scraper_work_lane_t *self, struct scraper_work_job *job)
{
    if (!self->done) {
        self->done = zsock_new(ZMQ_PUSH);
        if (!self->done)
            return -1;
        zsock_set_sndhwm(self->done, 0); // bounded by the jobs held (one per target)
        if (zsock_connect(self->done, "%s", self->pool->done_endpoint) != 0) {
            zsock_destroy(&self->done);
            return -1;
        }
    }
    if (!self->state)
        self->state = scraper_work_state_new();
    scraper_work_run(self->state, job);
    self->runs++;
    job->res.data = NULL; // a lent body (scraper_fetch.h) is not the job's past this call
    job->res.len = 0;
    fw_mem_grow((void **)&self->ready, &self->cap_ready, self->n_ready + 1, sizeof(*self->ready));
    self->ready[self->n_ready++] = job; // back to the loop at scraper_work_lane_flush
    return 0;
}

void
scraper_work_lane_flush(scraper_work_lane_t *self)
{
    // Sent back to back: the loop, woken by the first, reads them all in that wake-up. The
    // pool's PULL takes them (no high-water mark): this cannot fail but for a closing
    // context, when the pool frees the jobs anyway.
    for (size_t i = 0; self && i < self->n_ready; i++)
        (void)zsock_send(self->done, "sp", "DONE", self->ready[i]);
    if (self)
        self->n_ready = 0;
}

uint64_t
scraper_work_lane_runs(const scraper_work_lane_t *self)
{
    return self ? self->runs : 0;
}
