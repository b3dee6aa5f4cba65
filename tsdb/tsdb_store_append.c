/*  tsdb_store_append.c — the writer's side of the head: series lookup, caches, appends.

    A series the head does not hold is looked up in the index in the writer's short read
    transaction and, when found, loaded: its stored open chunk reopened, or its newest
    sample learnt from its last sealed chunk; otherwise it is new, and the next commit
    indexes it. A sender's series cache maps positions in its batches to head series, so a
    repeated batch skips the label lookup. Every append goes into the head under the head
    lock and, with the log on, into the next commit's log record.
*/
#include "tsdb_store.h"

#include <lmdb.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "tsdb_head.h"
#include "tsdb_index.h"
#include "tsdb_store_int.h"

// ---------------------------------------------------------------------------------------
// Writing: the head

// The writer's read transaction, renewed for a lookup; tsdb_store_append_series resets it.
static int
s_rtxn(tsdb_store_t *self, MDB_txn **out)
{
    int rc = self->rtxn ? mdb_txn_renew(self->rtxn)
                        : mdb_txn_begin(self->env, NULL, MDB_RDONLY, &self->rtxn);
    *out = self->rtxn;
    return rc;
}

// The newest stored sample of series id when it has no open chunk on disk: the last
// sealed chunk's last sample.
static void
s_load_last_sealed(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *s)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, self->chunks, &cur) != 0)
        return;
    unsigned char key[16];
    tsdb_store_int_chunk_key(key, s->id + 1, 0);
    MDB_val k = {16, key}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == s->id) {
        int64_t kmint =
            tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
        struct tsdb_chunk_iter it;
        struct tsdb_chunk_info info;
        bool any = false;
        struct fw_sample last = {0, 0};
        tsdb_chunk_iter_init(&it, v.mv_data, v.mv_size);
        while (tsdb_chunk_iter_next(&it)) {
            last = (struct fw_sample){it.t, it.v};
            any = true;
        }
        if (tsdb_chunk_iter_err(&it) == 0 && any) {
            tsdb_head_load_last(self->head, s, last.t_ms, last.v, true);
        } else {
            tsdb_store_int_report_damage(self, txn, s->id, "chunk", kmint,
                                         tsdb_chunk_iter_err(&it));
            bool hdr = tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0;
            tsdb_head_load_last(self->head, s, hdr ? info.maxt : kmint, 0, false);
        }
    }
    mdb_cursor_close(cur);
}

// A series found in the index but not in the head: reopen its open chunk, or learn its
// newest sample from its last sealed chunk.
static void
s_load_series(tsdb_store_t *self, MDB_txn *txn, struct tsdb_head_series *s)
{
    unsigned char idb[8];
    fw_bytes_put_u64be(idb, s->id);
    MDB_val k = {8, idb}, v;
    if (mdb_get(txn, self->head_db, &k, &v) == 0) {
        tsdb_store_int_head_val(self, &v);
        int rc = tsdb_head_load_open(self->head, s, v.mv_data, v.mv_size);
        if (rc == 0)
            return;
        struct tsdb_chunk_info info;
        bool hdr = tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0;
        tsdb_store_int_report_damage(self, txn, s->id, "open chunk", hdr ? info.mint : INT64_MIN,
                                     rc);
        if (hdr) {
            // the damaged open chunk is replaced by the next commit; its range stays closed
            tsdb_head_load_last(self->head, s, info.maxt, 0, false);
            s->dirty = false;
            return;
        }
    }
    s_load_last_sealed(self, txn, s);
}

// The head series with labels: found, read back from the index, or new. NULL with err.
static struct tsdb_head_series *
s_series(tsdb_store_t *self, const struct fw_labels *labels, struct tsdb_store_stats *st,
         fw_err_t *err)
{
    uint64_t hash = fw_labels_hash(labels);
    struct tsdb_head_series *s = tsdb_head_find(self->head, labels, hash);
    if (!s) {
        if (tsdb_index_check(labels, err) != 0)
            return NULL;
        MDB_txn *txn;
        uint64_t id;
        int rc = s_rtxn(self, &txn);
        if (rc == 0)
            rc = tsdb_index_find(&self->ix, txn, labels, hash, &id);
        if (rc == 0) {
            s = tsdb_head_add(self->head, labels, hash, id, false);
            s_load_series(self, txn, s);
        } else if (rc == MDB_NOTFOUND) {
            s = tsdb_head_add(self->head, labels, hash, self->next_id++, true);
            st->new_series++;
        }
        if (txn)
            mdb_txn_reset(txn);
        if (!s)
            (void)tsdb_store_int_lmdb_fail(err, "series lookup", rc);
    }
    return s;
}

// The head series with this id: in the head, or read back from the index (the log names
// series by id). NULL when the index does not hold it (*rc then says why: MDB_NOTFOUND, or
// an LMDB error, or TSDB_INDEX_EDAMAGED).
struct tsdb_head_series *
tsdb_store_int_series_by_id(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int *rc)
{
    struct tsdb_head_series *s = tsdb_head_find_id(self->head, id);
    if (s)
        return s;
    struct fw_labels l = FW_LABELS_INIT;
    *rc = tsdb_index_labels(&self->ix, txn, id, &l);
    if (*rc == 0) {
        uint64_t hash = fw_labels_hash(&l);
        s = tsdb_head_find(self->head, &l, hash);
        if (!s) {
            s = tsdb_head_add(self->head, &l, hash, id, false);
            s_load_series(self, txn, s);
        }
    }
    fw_labels_clear(&l);
    return s;
}

int
tsdb_store_append_series(tsdb_store_t *self, const struct fw_labels *labels,
                         const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st,
                         fw_err_t *err)
{
    return tsdb_store_append_series_at(self, NULL, 0, labels, samples, n, st, err);
}

// ---------------------------------------------------------------------------------------
// Writing: series caches

#define S_CACHE_POS_MAX (1u << 20) // positions past this are not cached

static void
s_caches_put(tsdb_store_t *self, struct tsdb_store_cache *c)
{
    size_t i = (size_t)c->key & self->caches_mask;
    while (self->caches[i])
        i = (i + 1) & self->caches_mask;
    self->caches[i] = c;
}

// Rebuild the table with room for n caches, keeping those in old[0..old_cap) (taken).
static void
s_caches_rebuild(tsdb_store_t *self, size_t n)
{
    struct tsdb_store_cache **old = self->caches;
    size_t old_cap = old ? self->caches_mask + 1 : 0, cap = 16;
    while (cap < 2 * (n + 1))
        cap *= 2;
    self->caches = fw_calloc(cap, sizeof(*self->caches));
    self->caches_mask = cap - 1;
    for (size_t k = 0; k < old_cap; k++)
        if (old[k])
            s_caches_put(self, old[k]);
    free(old);
}

static void
s_cache_free(struct tsdb_store_cache *c)
{
    free(c->at);
    free(c);
}

tsdb_store_cache_t *
tsdb_store_cache(tsdb_store_t *self, uint64_t key, int64_t now_ms)
{
    if (self->caches)
        for (size_t i = (size_t)key & self->caches_mask; self->caches[i];
             i = (i + 1) & self->caches_mask)
            if (self->caches[i]->key == key) {
                self->caches[i]->used_ms = now_ms;
                return self->caches[i];
            }
    if (self->n_caches >= TSDB_STORE_CACHES) {
        int64_t oldest = INT64_MAX;
        for (size_t k = 0; k <= self->caches_mask; k++)
            if (self->caches[k] && self->caches[k]->used_ms < oldest)
                oldest = self->caches[k]->used_ms;
        (void)tsdb_store_cache_expire(self, oldest == INT64_MAX ? oldest : oldest + 1);
    }
    if (!self->caches || 2 * (self->n_caches + 1) > self->caches_mask + 1)
        s_caches_rebuild(self, self->n_caches + 1);
    struct tsdb_store_cache *c = fw_calloc(1, sizeof(*c));
    c->key = key;
    c->epoch = tsdb_head_epoch(self->head);
    c->used_ms = now_ms;
    s_caches_put(self, c);
    self->n_caches++;
    return c;
}

size_t
tsdb_store_cache_expire(tsdb_store_t *self, int64_t before_ms)
{
    size_t n = 0;
    for (size_t k = 0; self->caches && k <= self->caches_mask; k++)
        if (self->caches[k] && self->caches[k]->used_ms < before_ms) {
            s_cache_free(self->caches[k]);
            self->caches[k] = NULL;
            n++;
        }
    if (n) {
        self->n_caches -= n;
        s_caches_rebuild(self, self->n_caches); // no tombstones: re-place the rest
    }
    return n;
}

// The series cache holds at pos, or NULL (also when series were freed since it was filled).
static struct tsdb_head_series *
s_cached(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos)
{
    if (!cache || pos >= S_CACHE_POS_MAX)
        return NULL;
    uint64_t epoch = tsdb_head_epoch(self->head);
    if (cache->epoch != epoch) { // series were freed: no kept pointer can be trusted
        memset(cache->at, 0, cache->n * sizeof(*cache->at));
        cache->epoch = epoch;
    }
    return pos < cache->n ? cache->at[pos] : NULL;
}

const char *
tsdb_store_cache_text(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos, size_t *len,
                      size_t *nlabels)
{
    struct tsdb_head_series *s = s_cached(self, cache, pos);
    if (!s || s->n_labels == 0)
        return NULL;
    *len = s->text_len;
    *nlabels = s->n_labels;
    return s->text;
}

void
tsdb_store_cache_prefetch(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos)
{
    struct tsdb_head_series *s = s_cached(self, cache, pos);
    if (!s || !s->app.buf)
        return;
    __builtin_prefetch(s->app.buf, 1);
    __builtin_prefetch(s->app.buf + (s->app.nbits >> 3), 1);
}

static void s_append(tsdb_store_t *self, struct tsdb_head_series *s,
                     const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st);

void
tsdb_store_append_cached(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                         const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st)
{
    struct tsdb_store_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    pthread_mutex_lock(&self->head_mu);
    tsdb_store_append_cached_held(self, cache, pos, samples, n, st);
    pthread_mutex_unlock(&self->head_mu);
}

void
tsdb_store_batch_begin(tsdb_store_t *self)
{
    tsdb_head_batch_begin(self->head);
}

void
tsdb_store_batch_end(tsdb_store_t *self)
{
    tsdb_head_batch_end(self->head);
}

void
tsdb_store_set_read_hook(tsdb_store_t *self, void (*fn)(void *arg, uint64_t id), void *arg)
{
    self->read_hook = fn;
    self->read_hook_arg = arg;
}

void
tsdb_store_hold(tsdb_store_t *self)
{
    pthread_mutex_lock(&self->head_mu);
}

void
tsdb_store_release(tsdb_store_t *self)
{
    pthread_mutex_unlock(&self->head_mu);
}

void
tsdb_store_append_cached_held(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                              const struct fw_sample *samples, size_t n,
                              struct tsdb_store_stats *st)
{
    struct tsdb_head_series *s = s_cached(self, cache, pos);
    if (s) // the caller's check made sure; a miss here is a caller bug, and appends nothing
        s_append(self, s, samples, n, st);
}

static int s_append_locked(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                           const struct fw_labels *labels, const struct fw_sample *samples,
                           size_t n, struct tsdb_store_stats *st, fw_err_t *err);

int
tsdb_store_append_series_at(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                            const struct fw_labels *labels, const struct fw_sample *samples,
                            size_t n, struct tsdb_store_stats *st, fw_err_t *err)
{
    struct tsdb_store_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    pthread_mutex_lock(&self->head_mu);
    int rc = s_append_locked(self, cache, pos, labels, samples, n, st, err);
    pthread_mutex_unlock(&self->head_mu);
    return rc;
}

// Append to series s, logging what was appended when the log is on.
static void
s_append(tsdb_store_t *self, struct tsdb_head_series *s, const struct fw_sample *samples, size_t n,
         struct tsdb_store_stats *st)
{
    tsdb_head_append(self->head, s, samples, n, st);
    if (self->wal_on)
        tsdb_wal_add(&self->wal, s->id, samples, n);
}

int
tsdb_store_append_series_st(tsdb_store_t *self, const struct fw_labels *labels,
                            const struct fw_sample *samples, const int64_t *start, size_t n,
                            struct tsdb_store_stats *st, fw_err_t *err)
{
    struct tsdb_store_stats dummy;
    if (!st) {
        memset(&dummy, 0, sizeof(dummy));
        st = &dummy;
    }
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    for (size_t k = 0; start && k < n && !atomic_load(&self->st_seen); k++)
        if (start[k] != 0)
            atomic_store(&self->st_seen, true);
    pthread_mutex_lock(&self->head_mu);
    struct tsdb_head_series *s = s_series(self, labels, st, err);
    if (s) {
        tsdb_head_append_st(self->head, s, samples, start, n, st);
        if (self->wal_on)
            tsdb_wal_add_st(&self->wal, s->id, samples, start, n);
    }
    pthread_mutex_unlock(&self->head_mu);
    return s ? 0 : -1;
}

void
tsdb_store_int_append(tsdb_store_t *self, struct tsdb_head_series *s,
                      const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st)
{
    s_append(self, s, samples, n, st);
}

struct tsdb_head_series *
tsdb_store_int_series_append(tsdb_store_t *self, const struct fw_labels *labels,
                             const struct fw_sample *samples, size_t n, struct tsdb_store_stats *st,
                             fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return NULL;
    }
    pthread_mutex_lock(&self->head_mu);
    struct tsdb_head_series *s = s_series(self, labels, st, err);
    if (s)
        s_append(self, s, samples, n, st);
    pthread_mutex_unlock(&self->head_mu);
    return s;
}

static int
s_append_locked(tsdb_store_t *self, tsdb_store_cache_t *cache, size_t pos,
                const struct fw_labels *labels, const struct fw_sample *samples, size_t n,
                struct tsdb_store_stats *st, fw_err_t *err)
{
    struct tsdb_head_series *cached = s_cached(self, cache, pos);
    if (cached && tsdb_head_labels_equal(cached, labels)) {
        s_append(self, cached, samples, n, st);
        return 0;
    }
    struct tsdb_head_series *s = s_series(self, labels, st, err);
    if (!s)
        return -1;
    s_append(self, s, samples, n, st);
    if (!cache || pos >= S_CACHE_POS_MAX)
        return 0;
    if (pos >= cache->n) {
        size_t cap = cache->n ? cache->n : 64;
        while (cap <= pos)
            cap *= 2;
        cache->at = fw_realloc(cache->at, cap * sizeof(*cache->at));
        memset(cache->at + cache->n, 0, (cap - cache->n) * sizeof(*cache->at));
        cache->n = cap;
    }
    cache->at[pos] = s;
    return 0;
}
