/*  scraper_work.c — a scrape's CPU work on worker threads (see scraper_work.h).
 */
#include "scraper_work.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_expfmt.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_zfd.h"
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

// A scrape's samples are encoded as they are listed, straight into one buffer (out) in the
// SAMPLES series form, a part after another: no per-sample record is built first. A part
// is cut (s_cut) before the sample that would make it hold SCRAPER_WORK_BATCH_SERIES
// series or about SCRAPER_WORK_BATCH_BYTES of labels; at the cut its definitions get their
// refs (in order, as they were written) and are marked defined, so a later part uses them
// bare. The frames are made from the buffer once the scrape's outcome is known (s_frames):
// a failed scrape's samples are dropped by truncating it.
struct s_part {
    size_t off, len; // of its series in out
    size_t n;        // series
    bool v4;         // one has a start time (OpenMetrics _created): SAMPLES v4
    unsigned kinds;  // FW_SENDER_REFS_DEFS and/or _USES
    bool failed;     // its refs could not be given: no frames (as an encode failure)
};

// A definition written with a kept entry: its ref goes at `at` once the part is cut.
struct s_def {
    size_t at;
    struct scraper_cache_entry *e;
};

struct scraper_work_state {
    fw_expfmt_t *parser;            // owned
    struct scraper_lset lset;       // owned scratch
    struct fw_labels relabeled;     // owned scratch: a new series' metric relabeling
    scraper_exemplars_t *exemplars; // owned: collects one scrape's exemplars
    scraper_meta_t *meta;           // owned: collects one scrape's metric metadata
    struct fw_batch *b;             // owned: stale markers and synthetic series
    unsigned char *out;             // owned: the scrape's encoded series (s_part)
    size_t out_len, out_cap;
    struct s_part *parts; // owned: the cut parts of out, then the open one at n_parts
    size_t n_parts, cap_parts;
    size_t part_est;    // the open part's label bytes, as the splitting counts them
    struct s_def *defs; // owned: the open part's definitions with a kept entry
    size_t n_defs, cap_defs;
    struct scraper_cache_entry **defined; // owned: entries defined by cut parts (s_drop)
    size_t n_defined, cap_defined;
    unsigned char *scratch; // owned: the encoded labels of a transient series
    size_t scratch_len, scratch_cap;
    struct scraper_cache_entry transient; // a series worked out but not kept (s_transient)
    size_t transient_off;                 // its encoded labels in the scratch
    struct scraper_work_job *job;         // borrowed: the job being run
    bool cpu_chained; // a worker's: its previous job's end reading is this one's start
    double cpu_end;   // the thread's CPU clock at the end of the previous job (chained)
};

struct scraper_work {
    zactor_t **workers; // owned
    size_t n;
    // finished jobs from every worker (each has a PUSH to it): one socket for the loop to
    // poll, however many workers there are
    zsock_t *done_sock; // owned: PULL
    char done_endpoint[64];
    zloop_t *loop;            // borrowed, while attached
    zmq_pollitem_t done_item; // done_sock's ZMQ_FD, polled by loop while attached
    int more_timer;           // loop's timer to read again after a full batch, or -1
    uint64_t checks;          // done_sock found empty or asked for ZMQ_EVENTS (s_done_read)
    scraper_work_done_fn *done;
    void *done_arg;
    size_t outstanding;
    uint64_t rounds;                   // scraper_work_read calls: the loop's wake-ups for them
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
    free(self->out);
    free(self->parts);
    free(self->defs);
    free(self->defined);
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

// ---------------------------------------------------------------------------------------
//  Encoding, straight into the state's buffer (struct s_part)

// Start the job's encoding: nothing written, one empty part open.
static void
s_out_begin(scraper_work_state_t *self, struct scraper_work_job *job)
{
    self->out_len = 0;
    self->n_parts = 0;
    self->part_est = 0;
    self->n_defs = 0;
    self->n_defined = 0;
    if (self->cap_parts == 0)
        fw_mem_grow((void **)&self->parts, &self->cap_parts, 1, sizeof(*self->parts));
    self->parts[0] = (struct s_part){0};
    job->refs_gen = job->refs ? fw_sender_refs_gen(job->refs) : 0;
}

// Close the open part: its definitions get their refs, in the order written (an entry
// without one gets the lowest free, 0 when none is left: labels alone), and count as
// defined under the job's generation from now on (every occurrence in this part carried
// the labels; the next parts use the ref alone). A new part opens.
static void
s_cut(scraper_work_state_t *self, struct scraper_work_job *job)
{
    struct s_part *pt = &self->parts[self->n_parts];
    pt->len = self->out_len - pt->off;
    for (size_t k = 0; k < self->n_defs; k++) {
        struct scraper_cache_entry *e = self->defs[k].e;
        if (!e->ref && job->refs)
            e->ref = fw_sender_refs_alloc(job->refs);
        (void)fw_samples_put_ref(self->out + self->defs[k].at, e->ref);
        if (e->ref)
            pt->kinds |= FW_SENDER_REFS_DEFS;
    }
    for (size_t k = 0; k < self->n_defs; k++) {
        struct scraper_cache_entry *e = self->defs[k].e;
        if (!e->ref || e->ref_gen == job->refs_gen)
            continue;
        e->ref_gen = job->refs_gen;
        fw_mem_grow((void **)&self->defined, &self->cap_defined, self->n_defined + 1,
                    sizeof(*self->defined));
        self->defined[self->n_defined++] = e;
    }
    self->n_defs = 0;
    self->n_parts++;
    if (self->n_parts == self->cap_parts)
        fw_mem_grow((void **)&self->parts, &self->cap_parts, self->n_parts + 1,
                    sizeof(*self->parts));
    self->parts[self->n_parts] = (struct s_part){.off = self->out_len};
    self->part_est = 0;
}

// Forget what the job encoded (its scrape failed: nothing of it is stored). Entries its cut
// parts defined were never sent: they are defined again by the next scrape that uses them.
static void
s_out_drop(scraper_work_state_t *self, struct scraper_work_job *job)
{
    for (size_t k = 0; k < self->n_defined; k++)
        self->defined[k]->ref_gen = 0;
    uint64_t gen = job->refs_gen;
    s_out_begin(self, job);
    job->refs_gen = gen;
}

// Write one series of one sample at the end of the open part, cutting the part first when
// it is full: kept entry e's ref alone once it was defined under the job's generation,
// otherwise the labels (enc_len bytes at enc: e's, or a series without an entry) after a
// ref given at the cut (e's; 0 without an entry). est: the splitting's count of the labels.
static inline void
s_put(scraper_work_state_t *self, struct scraper_work_job *job, struct scraper_cache_entry *e,
      const unsigned char *enc, size_t enc_len, size_t est, int64_t t, double v, int64_t st)
{
    if (self->parts[self->n_parts].n == SCRAPER_WORK_BATCH_SERIES ||
        self->part_est >= SCRAPER_WORK_BATCH_BYTES)
        s_cut(self, job);
    struct s_part *pt = &self->parts[self->n_parts];
    size_t need = 4 + enc_len + 28;
    if (self->out_len + need > self->out_cap) // grown once: a steady scrape never calls
        fw_mem_grow((void **)&self->out, &self->out_cap, self->out_len + need, 1);
    unsigned char *p = self->out + self->out_len;
    if (e && e->ref && e->ref_gen == job->refs_gen) {
        p = fw_samples_put_ref(p, e->ref);
        p[0] = p[1] = 0; // no labels: a use
        p += 2;
        pt->kinds |= FW_SENDER_REFS_USES;
    } else {
        if (e) {
            if (self->n_defs == self->cap_defs)
                fw_mem_grow((void **)&self->defs, &self->cap_defs, self->n_defs + 1,
                            sizeof(*self->defs));
            self->defs[self->n_defs++] = (struct s_def){self->out_len, e};
        }
        p = fw_samples_put_ref(p, 0); // e's ref: at the cut
        memcpy(p, enc, enc_len);
        p += enc_len;
    }
    p = fw_samples_put_one_st(p, t, v, st);
    self->out_len = (size_t)(p - self->out);
    pt->n++;
    pt->v4 = pt->v4 || st != 0;
    self->part_est += est + 16;
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
    struct fw_expfmt_tagged_view view;
    fw_expfmt_tagged_view(self->parser, &view);
    for (size_t i = 0; i < n; i++) {
        // The parser found most in the cache already (s_known, s_expect): for such a sample
        // only its tag, value and timestamp are read (q); the whole sample (s) otherwise.
        struct fw_expfmt_tagged q;
        bool whole = !fw_expfmt_tagged_get(&view, i, &q);
        if (whole) {
            fw_expfmt_get(self->parser, i, &s);
            q = (struct fw_expfmt_tagged){s.tag, s.v, s.has_t, s.t_ms};
        }
        // A text seen first in this scrape may have been learnt since, from an earlier sample.
        struct scraper_cache_entry *e = scraper_cache_entry_of(q.tag);
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
        // only drop_excess asks whether the series is remembered (a lookup per sample)
        bool tracked = limit > 0 && drop_excess &&
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
        int64_t st = q.has_t && t->honor_timestamps ? q.t_ms : job->ts;
        if (e != &self->transient)
            s_put(self, job, e, e->enc, e->enc_len, e->est, st, q.v, whole ? s.st_ms : 0);
        else
            s_put(self, job, NULL, self->scratch + self->transient_off, e->enc_len, e->est, st, q.v,
                  whole ? s.st_ms : 0);
        if (whole && s.has_exemplar)
            scraper_exemplars_add(self->exemplars, &lv, &s.exemplar, st);
        // A sample with its own timestamp gets no stale marker unless the job asks for one
        // (track_timestamps_staleness), as in Prometheus.
        if (q.has_t && t->honor_timestamps && !c->track_timestamps_staleness)
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

// Encode self->b's series (stale markers, synthetic series) after the scrape's, each
// series' labels once into the scratch.
static void
s_put_batch(scraper_work_state_t *self, struct scraper_work_job *job)
{
    const struct fw_batch *b = self->b;
    for (size_t i = 0; i < b->len; i++) {
        const struct fw_series *sr = &b->series[i];
        size_t len = fw_samples_labels_size(&sr->labels);
        if (len == 0 || sr->len == 0)
            continue; // never: these sets came through the cache or are the target's own
        fw_mem_grow((void **)&self->scratch, &self->scratch_cap, len, 1);
        fw_samples_labels_put(self->scratch, &sr->labels);
        for (size_t k = 0; k < sr->len; k++)
            s_put(self, job, NULL, self->scratch, len, len - 2 - 2 * sr->labels.len,
                  sr->samples[k].t_ms, sr->samples[k].v, 0);
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

// The job's frames from what it encoded: a SAMPLES v3 part (seq numbered on the loop) for
// each part, v4 when one of its series has a start time (OpenMetrics _created); at least
// one, even empty. Each body is sized from its part and the part copied in at once.
static void
s_frames(scraper_work_state_t *self, struct scraper_work_job *job)
{
    if (self->parts[self->n_parts].n > 0 || self->n_parts == 0)
        s_cut(self, job);
    for (size_t k = 0; k < self->n_parts; k++) {
        const struct s_part *pt = &self->parts[k];
        fw_err_t err;
        fw_err_clear(&err);
        unsigned char *p = NULL;
        zmsg_t *frames =
            fw_msg_samples_frames(pt->v4 ? FW_SAMPLES_V4 : FW_SAMPLES_V3,
                                  job->sender ? job->sender : "", 1, 1, pt->n, pt->len, &p, &err);
        if (!frames) {
            fw_warn("msg.encode.fail", "target=%s samples=%zu err=%s", job->target->url, pt->n,
                    err.msg);
            for (size_t d = 0; d < self->n_defined; d++) // not sent: define them again
                self->defined[d]->ref_gen = 0;
            continue;
        }
        memcpy(p, self->out + pt->off, pt->len);
        s_add_frames(job, frames, pt->n, pt->kinds);
    }
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
    // A worker's thread does nothing but its jobs and waiting for the next one in recv (no
    // CPU asleep; the DONE send and the JOB receive are a few microseconds against a
    // scrape's tens at least), so its CPU between the end of its previous job and the end of
    // this one is this job's: one read of the clock a job, not two (it is a system call:
    // the thread CPU clock has no vDSO path). A lane's thread, the fetch actor's, does
    // curl's work between jobs, and the tests and the bench call this directly: two reads.
    double cpu0 = self->cpu_chained ? self->cpu_end : s_thread_cpu_s();
    struct scraper_target *t = job->target;
    struct scraper_fetch_result *res = &job->res;
    self->job = job;
    if (!self->b)
        self->b = fw_batch_new();
    self->scratch_len = 0;
    s_out_begin(self, job);
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
        size_t n_expect;
        const struct fw_expfmt_text *const *expect = scraper_cache_expectations(cache, &n_expect);
        fw_expfmt_set_expect_list(self->parser, expect, n_expect);
        scraper_meta_begin(self->meta, self->parser, fmt);
        size_t len;
        const char *body = scraper_fetch_result_body(res, &len);
        n = fw_expfmt_parse_flags(self->parser, body, len, fmt,
                                  FW_EXPFMT_PROMETHEUS | FW_EXPFMT_START_TIMES, &perr);
        fw_expfmt_set_known(self->parser, NULL, NULL);
        fw_expfmt_set_expect_list(self->parser, NULL, 0);
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
            s_out_drop(self, job);
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
    s_put_batch(self, job);
    s_frames(self, job);
    if (cache) // the parts' definitions point into it: only now may it forget what this
               // scrape left out
        scraper_cache_iter_done(cache, !error);
    fw_batch_destroy(&self->b); // encoded: its labels and samples are not needed any more
    self->scratch_len = 0;
    self->job = NULL;
    self->cpu_end = s_thread_cpu_s();
    job->work_s = self->cpu_end - cpu0;
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
    state->cpu_chained = true; // scraper_work_run: one clock read a job
    state->cpu_end = s_thread_cpu_s();
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
        // read: a big body (given by the fetch actor) is freed here, not on the loop
        scraper_fetch_result_drop_body(&((struct scraper_work_job *)job)->res);
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
    self->more_timer = -1;
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
    for (size_t i = 0; i < self->n; i++) {
        self->workers[i] = fw_thread_actor_new(s_worker, self->done_endpoint);
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

// ---------------------------------------------------------------------------------------
//  Finished jobs back on the loop
//
// The loop polls done_sock by its ZMQ_FD (fw_zfd: why, and why each read takes messages
// until one finds none and asks no ZMQ_EVENTS after it). Only the loop's thread reads here
// and nothing sends on done_sock from it, so nothing else takes the descriptor's signal.
// The empty read costs two system calls (libzmq's getpid and poll): counted
// (scraper_work_checks).

// At most this many jobs a read (the loop's other work is not held up): jobs sent together
// cost the loop one wake-up and one poll, not one each.
#define S_DONE_BATCH 256

// One message off done_sock: 1 with *job_p (NULL when malformed: not a job's), 0 when none
// was waiting, -1 when the socket cannot be read (the context is closing).
static int
s_done_recv(scraper_work_t *self, void **job_p)
{
    void *h = zsock_resolve(self->done_sock);
    char cmd[8];
    int n = zmq_recv(h, cmd, sizeof(cmd), ZMQ_DONTWAIT); // without allocating: a copy
    if (n < 0)
        return errno == EAGAIN ? 0 : -1;
    bool ok = n == 4 && memcmp(cmd, "DONE", 4) == 0; // zsock_send's "sp": "DONE", the job
    void *job = NULL;
    int more = 0;
    size_t size = sizeof(more);
    for (int part = 0; part < 16 && zmq_getsockopt(h, ZMQ_RCVMORE, &more, &size) == 0 && more;
         part++) {
        void *p = NULL;
        int m = zmq_recv(h, &p, sizeof(p), ZMQ_DONTWAIT); // the rest of a message is there
        if (part == 0 && m == (int)sizeof(p))
            job = p;
        else
            ok = false;
    }
    *job_p = ok ? job : NULL;
    return 1;
}

// fw_zfd_drain's read: one message off done_sock, its job to the done function.
static int
s_done_take(void *arg)
{
    scraper_work_t *self = arg;
    void *job = NULL;
    int rc = s_done_recv(self, &job);
    if (rc == 1 && job && zhashx_lookup(self->out, job)) {
        zhashx_delete(self->out, job);
        self->outstanding--;
        self->done(job, self->done_arg);
    }
    return rc;
}

bool
scraper_work_read(scraper_work_t *self)
{
    bool emptied;
    size_t read = fw_zfd_drain(s_done_take, self, S_DONE_BATCH, &emptied);
    if (emptied)
        self->checks++; // the read that found none: it asked what ZMQ_EVENTS asks
    if (read == 0)      // the fd signalled a command of libzmq's own (a worker connecting)
        return false;
    self->rounds++;
    if (self->round_done)
        self->round_done(self->done_arg);
    return read >= S_DONE_BATCH;
}

static int s_on_done_more(zloop_t *loop, int timer_id, void *arg);

// A full batch was read: the rest do not signal the fd again, so a timer comes back for them.
static void
s_done_read(scraper_work_t *self)
{
    if (scraper_work_read(self) && self->loop && self->more_timer < 0)
        self->more_timer = zloop_timer(self->loop, 0, 1, s_on_done_more, self);
}

static int
s_on_done_more(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    scraper_work_t *self = arg;
    self->more_timer = -1;
    s_done_read(self);
    return 0;
}

static int
s_on_done(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    s_done_read(arg);
    return 0;
}

int
scraper_work_fd(const scraper_work_t *self)
{
    return self ? fw_zfd_fd(self->done_sock) : -1;
}

uint64_t
scraper_work_checks(const scraper_work_t *self)
{
    return self ? self->checks : 0;
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
    if (!loop)
        return 0;
    return fw_zfd_poller(loop, self->done_sock, &self->done_item, s_on_done, self);
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
    zloop_poller_end(loop, &self->done_item);
    if (self->more_timer >= 0)
        zloop_timer_end(loop, self->more_timer);
    self->more_timer = -1;
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
    job->res.lender = NULL;
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
