/*  tsdb_store_tail.c — the newest samples of many series straight from the head's open
    chunks (tsdb_store_tail_read in tsdb_store.h), for the remote-write shards: one hold of
    the head lock for a slice of series, a head series pointer kept from window to window
    (checked against the head's epoch), the open chunk decoded in place from the mark.
*/
#include <string.h>

#include "tsdb_store_int.h"

#define S_AHEAD 8 // series prefetched ahead of the one read

// The open chunk of tail's series when the tail's mark lies in it at or before from: the
// chunk's bytes in *p, *len. NULL otherwise. Under the head lock.
static const unsigned char *
s_open_chunk(tsdb_store_t *self, struct tsdb_store_tail *tail, int64_t from, size_t *len)
{
    const struct tsdb_store_resume *res = &tail->res;
    if (!res->valid || res->m.t > from)
        return NULL;
    uint64_t epoch = tsdb_head_epoch(self->head);
    const struct tsdb_head_series *s = tail->hs;
    if (!s || tail->epoch != epoch) {
        s = tsdb_head_find_id(self->head, tail->id);
        tail->hs = s;
        tail->epoch = epoch;
    }
    if (!s || tsdb_chunk_app_count(&s->app) == 0 || tsdb_head_open_mint(s) != res->chunk_mint)
        return NULL;
    if (tsdb_chunk_app_count(&s->app) == res->m.i) {
        // as many samples as were decoded to the mark: none after it, whatever the chunk's
        // encoding now (a recode keeps the samples, a late one merged in adds one)
        *len = 0;
        return (const unsigned char *)"";
    }
    return tsdb_chunk_app_bytes(&s->app, len);
}

// Read tail's samples in (from, to] from the open chunk at p; false (nothing read, the
// mark unchanged) when the chunk is not the marked one grown.
static bool
s_read_open(struct tsdb_store_tail *tail, const unsigned char *p, size_t len, int64_t from,
            int64_t to, size_t k, tsdb_store_tail_fn *fn, void *arg)
{
    struct tsdb_chunk_iter ci, before;
    if (tsdb_chunk_iter_init(&ci, p, len) != 0 || !tsdb_chunk_iter_resume(&ci, &tail->res.m))
        return false;
    bool any = false;
    for (;;) {
        before = ci;
        if (!tsdb_chunk_iter_next(&ci)) {
            if (tsdb_chunk_iter_err(&ci) != 0 && !any)
                return false; // damaged past the mark: the iterator reports it
            if (tsdb_chunk_iter_err(&ci) == 0)
                before = ci;
            break;
        }
        if (ci.t > to)
            break;
        if (ci.t > from) {
            fn(arg, k, ci.t, ci.v);
            any = true;
        }
    }
    struct tsdb_chunk_mark m;
    if (tsdb_chunk_iter_mark(&before, &m))
        tail->res.m = m;
    return true;
}

void
tsdb_store_tail_read(tsdb_store_reader_t *r, struct tsdb_store_tail *tails, size_t n, int64_t from,
                     int64_t to, bool *slow, tsdb_store_tail_fn *fn, void *arg)
{
    tsdb_store_t *self = r->store;
    if (r->tombs || r->sealed_only) {
        for (size_t k = 0; k < n; k++)
            slow[k] = true;
        return;
    }
    pthread_mutex_lock(&self->head_mu);
    uint64_t epoch = tsdb_head_epoch(self->head);
    for (size_t k = 0; k < n; k++) {
        // The series and its open chunk are cache misses window after window (the writer's
        // thread wrote them last): the series 2 * S_AHEAD ahead, its chunk S_AHEAD ahead.
        if (k + 2 * S_AHEAD < n && tails[k + 2 * S_AHEAD].hs &&
            tails[k + 2 * S_AHEAD].epoch == epoch)
            __builtin_prefetch(tails[k + 2 * S_AHEAD].hs);
        if (k + S_AHEAD < n && tails[k + S_AHEAD].hs && tails[k + S_AHEAD].epoch == epoch) {
            const struct tsdb_head_series *a = tails[k + S_AHEAD].hs;
            size_t alen = 0;
            const unsigned char *ap = a->app.buf ? tsdb_chunk_app_bytes(&a->app, &alen) : NULL;
            for (size_t off = 0; ap && off < alen && off < 4 * 64; off += 64)
                __builtin_prefetch(ap + off);
        }
        size_t len = 0;
        const unsigned char *p = s_open_chunk(self, &tails[k], from, &len);
        slow[k] = !p || (len > 0 && !s_read_open(&tails[k], p, len, from, to, k, fn, arg));
    }
    pthread_mutex_unlock(&self->head_mu);
}
