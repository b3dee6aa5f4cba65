/*  fw_sender_refs.c — a sender's series refs (see fw_sender_refs.h).

    Refs are dense: a stack of free numbers, then `next`. The labels learnt are an array
    indexed by ref (a copy of each definition's encoded labels). A released ref waits on a
    list, first for the seq it is stamped with (fw_sender_refs_settle stamps what arrived
    since its last call with the last seq given out: every batch that used the ref was
    numbered by then, since the encoder releases a ref only after its batches were handed
    over), then until every batch up to that seq is acknowledged or dropped.

    The mutex covers allocation and the release list, which encoder threads touch; the
    labels and the waiting list belong to the sender's thread.
*/
#include "fw_sender_refs.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "fw_msg_samples.h"

struct s_def {
    unsigned char *enc; // owned: the encoded labels, NULL: none learnt
    uint32_t len;
};

struct s_wait {
    uint32_t ref;
    uint64_t seq; // free once every batch up to this one left the buffer; 0: not stamped
};

struct fw_sender_refs {
    pthread_mutex_t mu;
    uint32_t *free_refs; // owned stack (mu)
    size_t n_free, cap_free;
    uint32_t next;      // the next ref never given (mu)
    uint32_t *released; // owned: released since the last settle (mu)
    size_t n_released, cap_released;
    _Atomic uint64_t gen;
    struct s_def *defs; // owned, indexed by ref (sender thread)
    size_t n_defs, count;
    struct s_wait *wait; // owned: released refs by stamp (sender thread)
    size_t n_wait, cap_wait;
};

fw_sender_refs_t *
fw_sender_refs_new(void)
{
    fw_sender_refs_t *self = fw_calloc(1, sizeof(*self));
    pthread_mutex_init(&self->mu, NULL);
    self->next = 1;
    atomic_store(&self->gen, 1);
    return self;
}

void
fw_sender_refs_destroy(fw_sender_refs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_sender_refs_t *self = *self_p;
    for (size_t i = 0; i < self->n_defs; i++)
        free(self->defs[i].enc);
    free(self->defs);
    free(self->wait);
    free(self->released);
    free(self->free_refs);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

uint32_t
fw_sender_refs_alloc(fw_sender_refs_t *self)
{
    uint32_t ref = 0;
    pthread_mutex_lock(&self->mu);
    if (self->n_free > 0)
        ref = self->free_refs[--self->n_free];
    else if (self->next <= FW_SAMPLES_REF_MAX)
        ref = self->next++;
    pthread_mutex_unlock(&self->mu);
    return ref;
}

void
fw_sender_refs_release(fw_sender_refs_t *self, uint32_t ref)
{
    if (ref == 0)
        return;
    pthread_mutex_lock(&self->mu);
    fw_mem_grow((void **)&self->released, &self->cap_released, self->n_released + 1,
                sizeof(*self->released));
    self->released[self->n_released++] = ref;
    pthread_mutex_unlock(&self->mu);
}

uint64_t
fw_sender_refs_gen(const fw_sender_refs_t *self)
{
    return atomic_load(&((fw_sender_refs_t *)self)->gen);
}

static void
s_forget(fw_sender_refs_t *self, uint32_t ref)
{
    if (ref < self->n_defs && self->defs[ref].enc) {
        free(self->defs[ref].enc);
        self->defs[ref] = (struct s_def){NULL, 0};
        self->count--;
    }
}

void
fw_sender_refs_settle(fw_sender_refs_t *self, uint64_t last_seq, uint64_t lowest_held)
{
    pthread_mutex_lock(&self->mu);
    fw_mem_grow((void **)&self->wait, &self->cap_wait, self->n_wait + self->n_released,
                sizeof(*self->wait));
    for (size_t i = 0; i < self->n_released; i++)
        self->wait[self->n_wait++] = (struct s_wait){self->released[i], last_seq};
    self->n_released = 0;
    // stamps only grow along the list: the free ones are a prefix
    size_t k = 0;
    while (k < self->n_wait && self->wait[k].seq < lowest_held)
        k++;
    if (k > 0) {
        fw_mem_grow((void **)&self->free_refs, &self->cap_free, self->n_free + k,
                    sizeof(*self->free_refs));
        for (size_t i = 0; i < k; i++) {
            s_forget(self, self->wait[i].ref);
            self->free_refs[self->n_free++] = self->wait[i].ref;
        }
        memmove(self->wait, self->wait + k, (self->n_wait - k) * sizeof(*self->wait));
        self->n_wait -= k;
    }
    pthread_mutex_unlock(&self->mu);
}

unsigned
fw_sender_refs_learn(fw_sender_refs_t *self, int version, const unsigned char *body, size_t size)
{
    struct fw_samples_view v;
    if ((version != FW_SAMPLES_V3 && version != FW_SAMPLES_V4) ||
        fw_samples_view_init(&v, version, body, size, NULL, NULL, NULL) != 0)
        return 0;
    unsigned kinds = 0;
    size_t off = v.first;
    struct fw_samples_series s;
    while (fw_samples_view_next(&v, &off, &s)) {
        if (s.ref == 0)
            continue;
        if (s.nlabels == 0) {
            kinds |= FW_SENDER_REFS_USES;
            continue;
        }
        kinds |= FW_SENDER_REFS_DEFS;
        if (s.ref >= self->n_defs) {
            size_t n = self->n_defs ? self->n_defs : 1024;
            while (n <= s.ref)
                n *= 2;
            self->defs = fw_realloc(self->defs, n * sizeof(*self->defs));
            memset(self->defs + self->n_defs, 0, (n - self->n_defs) * sizeof(*self->defs));
            self->n_defs = n;
        }
        struct s_def *d = &self->defs[s.ref];
        size_t len = 2 + s.labels_len; // the u16 count in front of the labels
        if (d->enc && d->len == len && memcmp(d->enc, s.labels - 2, len) == 0)
            continue;
        if (!d->enc)
            self->count++;
        free(d->enc);
        d->enc = fw_malloc(len);
        memcpy(d->enc, s.labels - 2, len);
        d->len = (uint32_t)len;
    }
    return kinds;
}

void
fw_sender_refs_reset(fw_sender_refs_t *self)
{
    atomic_fetch_add(&self->gen, 1);
}

static const struct s_def *
s_def(const fw_sender_refs_t *self, uint32_t ref)
{
    return ref < self->n_defs && self->defs[ref].enc ? &self->defs[ref] : NULL;
}

zmsg_t *
fw_sender_refs_rewrite(const fw_sender_refs_t *self, zmsg_t *frames, size_t *lost)
{
    *lost = 0;
    if (zmsg_size(frames) != 3)
        return NULL;
    zframe_t *ft = zmsg_first(frames), *fv = zmsg_next(frames), *fb = zmsg_next(frames);
    int version = zframe_streq(fv, "4") ? FW_SAMPLES_V4 : FW_SAMPLES_V3;
    if (!zframe_streq(ft, "SAMPLES") || (!zframe_streq(fv, "3") && version != FW_SAMPLES_V4))
        return NULL;
    struct fw_samples_view v;
    if (fw_samples_view_init(&v, version, zframe_data(fb), zframe_size(fb), NULL, NULL, NULL) != 0)
        return NULL;
    // size first, then write each series once
    size_t bytes = 0, nseries = 0, off = v.first;
    struct fw_samples_series s;
    while (fw_samples_view_next(&v, &off, &s)) {
        bool use = s.ref && s.nlabels == 0;
        const struct s_def *d = use ? s_def(self, s.ref) : NULL;
        if (use && !d) {
            *lost += s.nsamples;
            continue;
        }
        bytes += 4 + (d ? d->len : 2 + s.labels_len) + 4 + (size_t)s.nsamples * (s.st ? 24 : 16);
        nseries++;
    }
    unsigned char *p;
    zmsg_t *out =
        fw_msg_samples_frames(version, v.sender, v.seq, v.oldest, nseries, bytes, &p, NULL);
    if (!out)
        return NULL;
    off = v.first;
    while (fw_samples_view_next(&v, &off, &s)) {
        bool use = s.ref && s.nlabels == 0;
        const struct s_def *d = use ? s_def(self, s.ref) : NULL;
        if (use && !d)
            continue;
        p = fw_samples_put_ref(p, s.ref);
        if (d) {
            memcpy(p, d->enc, d->len);
            p += d->len;
        } else {
            memcpy(p, s.labels - 2, 2 + s.labels_len);
            p += 2 + s.labels_len;
        }
        fw_bytes_put_le(p, s.nsamples | (s.st ? FW_SAMPLES_ST_FLAG : 0), 4);
        memcpy(p + 4, s.samples, (size_t)s.nsamples * 16);
        p += 4 + (size_t)s.nsamples * 16;
        if (s.st) { // v4: the start times follow the samples
            memcpy(p, s.st, (size_t)s.nsamples * 8);
            p += (size_t)s.nsamples * 8;
        }
    }
    return out;
}

size_t
fw_sender_refs_count(const fw_sender_refs_t *self)
{
    return self->count;
}

size_t
fw_sender_refs_pending(const fw_sender_refs_t *self)
{
    fw_sender_refs_t *me = (fw_sender_refs_t *)self;
    pthread_mutex_lock(&me->mu);
    size_t n = me->n_wait + me->n_released;
    pthread_mutex_unlock(&me->mu);
    return n;
}
