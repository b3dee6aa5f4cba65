/*  tsdb_samples.c — a SAMPLES body read in place into the store (see tsdb_samples.h).

    A series that uses a ref (v3) is found in the sender's refs (tsdb_store.h "Series
    refs"). For the others, a sender sends a target's series in the same order every
    scrape, so the store's cache for the batches whose first such series is this one knows
    each one by position. Pass 1 (tsdb_samples_check) finds each ref, or compares each
    series' label bytes with the labels of the series the cache holds there (no decoding,
    no hashing) and checks only those that differ; a bad label rejects the whole batch
    before anything is stored. Pass 2 (tsdb_samples_append) appends: a known series
    straight from the body, another through a decoded label set.
*/
#include "tsdb_samples.h"

#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"

// How many series ahead of its appends pass 2 fetches a known ref's open chunk.
#define S_AHEAD 4

struct tsdb_samples {
    tsdb_store_t *store;   // borrowed
    fw_metrics_t *metrics; // borrowed
    // the batch last checked: its position cache and sender refs (borrowed from the store
    // until the next check)
    tsdb_store_cache_t *cache;
    tsdb_store_refs_t *refs;
    // scratch, reused batch to batch
    struct fw_samples_series *series; // the body's series, from fw_samples_view_init
    size_t cap_series;
    bool *hit; // per series: known (a ref in the sender's refs, or the cache's series at its
               // position has its labels)
    size_t cap_hit;
    struct fw_label *items; // a missed series' decoded labels
    size_t cap_items;
    char *text;
    size_t cap_text;
    struct fw_labels view; // a ref's labels (tsdb_store_refs_labels): owned items only
    struct fw_sample *smp; // a series' samples
    size_t cap_smp;
    int64_t *st; // a series' start times (SAMPLES v4)
    size_t cap_st;
};

tsdb_samples_t *
tsdb_samples_new(tsdb_store_t *store, fw_metrics_t *metrics)
{
    tsdb_samples_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    self->metrics = metrics;
    return self;
}

void
tsdb_samples_destroy(tsdb_samples_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_samples_t *self = *self_p;
    free(self->series);
    free(self->hit);
    free(self->items);
    free(self->text);
    free(self->view.items);
    free(self->smp);
    free(self->st);
    free(self);
    *self_p = NULL;
}

static void
s_count_stats(tsdb_samples_t *self, const struct tsdb_store_stats *st)
{
    fw_metrics_t *m = self->metrics;
    fw_metrics_add(m, "fw_tsdb_samples_appended_total", "", (double)st->samples);
    if (st->late)
        fw_metrics_add(m, "fw_tsdb_samples_late_total", "", (double)st->late);
    if (st->duplicates)
        fw_metrics_add(m, "fw_tsdb_samples_duplicate_total", "", (double)st->duplicates);
    if (st->out_of_order)
        fw_metrics_add(m, "fw_tsdb_samples_rejected_total", "reason=\"out_of_order\"",
                       (double)st->out_of_order);
    if (st->too_old)
        fw_metrics_add(m, "fw_tsdb_samples_rejected_total", "reason=\"too_old\"",
                       (double)st->too_old);
    if (st->conflicts)
        fw_metrics_add(m, "fw_tsdb_samples_rejected_total", "reason=\"duplicate_timestamp\"",
                       (double)st->conflicts);
    if (st->new_series)
        fw_debug("tsdb.series.new", "count=%zu", st->new_series);
}

static tsdb_store_cache_t *
s_view_cache(tsdb_samples_t *self, const struct fw_samples_view *v)
{
    for (size_t i = 0; i < v->nseries; i++) {
        const struct fw_samples_series *first = &self->series[i];
        if (first->ref == 0)
            return tsdb_store_cache(self->store, fw_hash64(first->labels, first->labels_len),
                                    fw_time_mono_ms());
    }
    return NULL;
}

// Pass 1. 0, 1 when a series uses a ref the store does not know (pass 1 then stops), or -1
// with err naming the first bad series.
static int
s_check_view(tsdb_samples_t *self, const struct fw_samples_view *v, tsdb_store_cache_t *cache,
             tsdb_store_refs_t **refs, fw_err_t *err)
{
    fw_mem_grow((void **)&self->hit, &self->cap_hit, v->nseries, sizeof(*self->hit));
    for (size_t i = 0; i < v->nseries; i++) {
        const struct fw_samples_series *s = &self->series[i];
        if (s->ref) {
            if (!*refs)
                *refs = tsdb_store_refs(self->store, v->sender, fw_time_mono_ms());
            self->hit[i] = s->nlabels == 0; // a use; else a definition, checked below
            if (self->hit[i] && !tsdb_store_refs_known(*refs, s->ref))
                return 1;
            if (self->hit[i])
                tsdb_store_refs_prefetch(*refs, s->ref);
            else if (fw_samples_series_check(s, i, NULL, NULL, err) != 0)
                return -1;
            continue;
        }
        size_t text_len, nlabels;
        const char *text = tsdb_store_cache_text(self->store, cache, i, &text_len, &nlabels);
        self->hit[i] = text && fw_samples_series_equal_text(s, nlabels, text, text_len);
        if (self->hit[i])
            tsdb_store_cache_prefetch(self->store, cache, i);
        else if (fw_samples_series_check(s, i, NULL, NULL, err) != 0)
            return -1;
    }
    return 0;
}

int
tsdb_samples_check(tsdb_samples_t *self, int version, const unsigned char *body, size_t size,
                   struct fw_samples_view *v, fw_err_t *err)
{
    self->cache = NULL;
    self->refs = NULL;
    if (fw_samples_view_init(v, version, body, size, &self->series, &self->cap_series, err) != 0)
        return -1;
    self->cache = s_view_cache(self, v);
    return s_check_view(self, v, self->cache, &self->refs, err);
}

static const struct fw_sample *
s_view_samples(tsdb_samples_t *self, const struct fw_samples_series *s)
{
    fw_mem_grow((void **)&self->smp, &self->cap_smp, s->nsamples, sizeof(*self->smp));
    for (uint32_t k = 0; k < s->nsamples; k++)
        self->smp[k] = fw_samples_series_at(s, k);
    return self->smp;
}

static void
s_count_bad_series(tsdb_samples_t *self, uint32_t nsamples)
{
    fw_metrics_add(self->metrics, "fw_tsdb_series_rejected_total", "", 1);
    fw_metrics_add(self->metrics, "fw_tsdb_samples_rejected_total", "reason=\"bad_series\"",
                   (double)nsamples);
}

static const struct fw_labels *s_ref_labels(tsdb_samples_t *self,
                                            const struct fw_samples_series *s);

// A series with start times (SAMPLES v4): appended by its labels, uncached
// (tsdb_store_append_series_st); a definition of a ref defines it first.
static void
s_append_st(tsdb_samples_t *self, const struct fw_samples_view *v, size_t i,
            const struct fw_samples_series *s, const struct fw_sample *smp,
            struct tsdb_store_stats *st)
{
    fw_mem_grow((void **)&self->st, &self->cap_st, s->nsamples, sizeof(*self->st));
    for (uint32_t k = 0; k < s->nsamples; k++)
        self->st[k] = fw_samples_series_st_at(s, k);
    fw_err_t err;
    struct fw_labels labels;
    const struct fw_labels *rl = s_ref_labels(self, s);
    if (rl) {
        labels = *rl;
    } else if (s->ref && s->nlabels == 0) {
        s_count_bad_series(self, s->nsamples); // a use of a refused definition
        return;
    } else {
        size_t n, bytes;
        (void)fw_samples_series_check(s, i, &n, &bytes, NULL); // passed in pass 1
        fw_mem_grow((void **)&self->items, &self->cap_items, n, sizeof(*self->items));
        fw_mem_grow((void **)&self->text, &self->cap_text, bytes + 1, 1);
        labels = fw_samples_series_labels(s, self->items, self->text);
    }
    int rc = 0;
    if (s->ref && s->nlabels > 0)
        rc = tsdb_store_append_series_ref(self->store, self->refs, s->ref, &labels, smp, 0, st,
                                          &err);
    if (rc == 0)
        rc =
            tsdb_store_append_series_st(self->store, &labels, smp, self->st, s->nsamples, st, &err);
    if (rc != 0) {
        s_count_bad_series(self, s->nsamples);
        fw_warn("tsdb.series.reject", "sender=%s seq=%llu err=%s", v->sender,
                (unsigned long long)v->seq, err.msg);
    }
}

// Pass 2: put an accepted batch into the head, series by series.
size_t
tsdb_samples_append(tsdb_samples_t *self, const struct fw_samples_view *v,
                    struct tsdb_store_stats *out)
{
    tsdb_store_cache_t *cache = self->cache;
    tsdb_store_refs_t *refs = self->refs;
    size_t samples = 0;
    struct tsdb_store_stats st = {0};
    bool held = false; // the head, over each run of known series
    // one batch for readers, however the head lock is taken and released below
    tsdb_store_batch_begin(self->store);
    for (size_t i = 0; i < v->nseries; i++) {
        const struct fw_samples_series s = self->series[i];
        if (i + S_AHEAD < v->nseries && self->hit[i + S_AHEAD] && self->series[i + S_AHEAD].ref)
            tsdb_store_refs_prefetch_chunk(refs, self->series[i + S_AHEAD].ref);
        const struct fw_sample *smp = s_view_samples(self, &s);
        samples += s.nsamples;
        if (s.st) {
            if (held)
                tsdb_store_release(self->store);
            held = false;
            s_append_st(self, v, i, &s, smp, &st);
            continue;
        }
        if (self->hit[i]) {
            if (!held)
                tsdb_store_hold(self->store);
            held = true;
            if (!s.ref)
                tsdb_store_append_cached_held(self->store, cache, i, smp, s.nsamples, &st);
            else if (tsdb_store_append_ref_held(self->store, refs, s.ref, smp, s.nsamples, &st))
                s_count_bad_series(self, s.nsamples); // its definition was refused
            continue;
        }
        if (held)
            tsdb_store_release(self->store);
        held = false;
        size_t n, bytes;
        (void)fw_samples_series_check(&s, i, &n, &bytes, NULL); // passed in pass 1
        fw_mem_grow((void **)&self->items, &self->cap_items, n, sizeof(*self->items));
        fw_mem_grow((void **)&self->text, &self->cap_text, bytes + 1, 1);
        struct fw_labels labels = fw_samples_series_labels(&s, self->items, self->text);
        fw_err_t err;
        int rc = s.ref ? tsdb_store_append_series_ref(self->store, refs, s.ref, &labels, smp,
                                                      s.nsamples, &st, &err)
                       : tsdb_store_append_series_at(self->store, cache, i, &labels, smp,
                                                     s.nsamples, &st, &err);
        if (rc != 0) {
            s_count_bad_series(self, s.nsamples);
            fw_warn("tsdb.series.reject", "sender=%s seq=%llu err=%s", v->sender,
                    (unsigned long long)v->seq, err.msg);
        }
    }
    if (held)
        tsdb_store_release(self->store);
    tsdb_store_batch_end(self->store);
    s_count_stats(self, &st);
    if (out)
        *out = st;
    return samples;
}

// The labels of a use of a ref, series s of the batch just stored, in self's view (valid
// until the next call), or NULL: s has its own labels, or the ref is unknown or refused.
static const struct fw_labels *
s_ref_labels(tsdb_samples_t *self, const struct fw_samples_series *s)
{
    return s->ref && s->nlabels == 0 ? tsdb_store_refs_labels(self->refs, s->ref, &self->view)
                                     : NULL;
}

zmsg_t *
tsdb_samples_labelled(tsdb_samples_t *self, const struct fw_samples_view *v)
{
    size_t bytes = 0, n = 0;
    for (size_t i = 0; i < v->nseries; i++) {
        const struct fw_samples_series *s = &self->series[i];
        const struct fw_labels *l = s_ref_labels(self, s);
        size_t lb = l ? fw_samples_labels_size(l) : 2 + s->labels_len;
        if ((s->ref && s->nlabels == 0 && !l) || lb == 0)
            continue; // a use of a refused definition: not stored
        bytes += 4 + lb + 4 + (size_t)s->nsamples * (s->st ? 24 : 16);
        n++;
    }
    unsigned char *p;
    zmsg_t *z = fw_msg_samples_frames(v->version == FW_SAMPLES_V4 ? FW_SAMPLES_V4 : FW_SAMPLES_V3,
                                      v->sender, v->seq, v->oldest, n, bytes, &p, NULL);
    if (!z)
        return NULL;
    for (size_t i = 0; i < v->nseries; i++) {
        const struct fw_samples_series *s = &self->series[i];
        const struct fw_labels *l = s_ref_labels(self, s);
        size_t lb = l ? fw_samples_labels_size(l) : 2 + s->labels_len;
        if ((s->ref && s->nlabels == 0 && !l) || lb == 0)
            continue;
        p = fw_samples_put_ref(p, s->ref);
        if (l)
            fw_samples_labels_put(p, l);
        else
            memcpy(p, s->labels - 2, lb);
        p += lb;
        uint32_t count = s->nsamples | (s->st ? FW_SAMPLES_ST_FLAG : 0);
        for (int k = 0; k < 4; k++)
            p[k] = (unsigned char)(count >> (8 * k));
        memcpy(p + 4, s->samples, (size_t)s->nsamples * (s->st ? 24 : 16)); // start times too
        p += 4 + (size_t)s->nsamples * (s->st ? 24 : 16);
    }
    return z;
}
