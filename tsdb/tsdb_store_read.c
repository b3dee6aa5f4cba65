/*  tsdb_store_read.c — the storage engine's read side: readers, selection, iteration.

    A reader (tsdb_store_reader_t) is one LMDB read transaction, a snapshot that commits
    do not disturb, and one cursor on the chunks database shared by its iterators. Series
    are selected through the index (tsdb_index.c) by matchers, and their labels, label
    names and values read from it. An iterator walks one series' samples in [mint, maxt]:
    first its sealed chunks, found by key (series id, then first timestamp with its sign
    bit flipped) and decoded one at a time, then the chunks newer than the snapshot's
    from the in-memory head (the sealed chunks the snapshot lacks, and the open chunk), or,
    for a series the head does not hold, its stored open chunk from the head database.
    Chunks are decoded a batch at a time (tsdb_chunk_iter_read) into the iterator's
    buffer, which tsdb_store_iter_next (inline) serves. A damaged chunk is reported
    (tsdb_store_int_report_damage) and skipped, never an error; only an LMDB failure ends
    an iteration with one.
*/
#include <lmdb.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "tsdb_store_int.h"

tsdb_store_reader_t *
tsdb_store_reader_new(tsdb_store_t *self, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return NULL;
    }
    tsdb_store_reader_t *r = fw_calloc(1, sizeof(*r));
    r->store = self;
    int rc = tsdb_store_int_reader_begin(self, r);
    if (rc == 0 && (rc = mdb_cursor_open(r->txn, self->chunks, &r->cur)) != 0)
        mdb_txn_abort(r->txn);
    if (rc == 0)
        tsdb_store_int_tombs_reader(r);
    if (rc != 0) {
        tsdb_store_int_lmdb_fail(err, "read txn", rc);
        tsdb_store_int_reader_end(self, r);
        free(r);
        return NULL;
    }
    return r;
}

void
tsdb_store_reader_see_all(tsdb_store_reader_t *r)
{
    r->visible = UINT64_MAX;
}

int
tsdb_store_int_reader_wrap(tsdb_store_t *self, MDB_txn *txn, tsdb_store_reader_t *r)
{
    memset(r, 0, sizeof(*r));
    r->store = self;
    r->txn = txn;
    r->slot = TSDB_STORE_READERS; // not registered: it never copies from the head
    r->sealed_only = true;
    int rc = mdb_cursor_open(txn, self->chunks, &r->cur);
    if (rc == 0)
        tsdb_store_int_tombs_reader(r);
    return rc;
}

void
tsdb_store_int_reader_unwrap(tsdb_store_reader_t *r)
{
    if (r->cur)
        mdb_cursor_close(r->cur);
    r->cur = NULL;
}

void
tsdb_store_reader_destroy(tsdb_store_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdb_cursor_close((*self_p)->cur);
    mdb_txn_abort((*self_p)->txn);
    tsdb_store_int_reader_end((*self_p)->store, *self_p);
    free(*self_p);
    *self_p = NULL;
}

int
tsdb_store_select_ids(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                      uint64_t **ids, size_t *n_ids, fw_err_t *err)
{
    int rc = tsdb_index_select(&r->store->ix, r->txn, matchers, n, ids, n_ids);
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "select", rc);
}

int
tsdb_store_select_each(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                       tsdb_store_series_fn *fn, void *arg, fw_err_t *err)
{
    uint64_t *ids;
    size_t n_ids;
    if (tsdb_store_select_ids(r, matchers, n, &ids, &n_ids, err) != 0)
        return -1;
    struct fw_labels labels = FW_LABELS_INIT;
    int ret = 0;
    for (size_t k = 0; k < n_ids && ret == 0; k++) {
        int rc = tsdb_index_labels(&r->store->ix, r->txn, ids[k], &labels);
        if (rc == TSDB_INDEX_EDAMAGED || rc == MDB_NOTFOUND) {
            tsdb_store_int_report_damage(r->store, r->txn, ids[k], "series", 0, FW_EPARSE);
            continue;
        }
        if (rc != 0)
            ret = tsdb_store_int_lmdb_fail(err, "series read", rc);
        else if (fn(arg, ids[k], &labels) != 0)
            ret = -1;
    }
    fw_labels_clear(&labels);
    free(ids);
    return ret;
}

struct s_collect {
    struct tsdb_store_series *res;
    size_t len, cap;
};

static int
s_collect(void *arg, uint64_t id, const struct fw_labels *labels)
{
    struct s_collect *c = arg;
    fw_mem_grow((void **)&c->res, &c->cap, c->len + 1, sizeof(*c->res));
    c->res[c->len].id = id;
    c->res[c->len].labels = (struct fw_labels)FW_LABELS_INIT;
    fw_labels_copy(&c->res[c->len].labels, labels);
    c->len++;
    return 0;
}

int
tsdb_store_select(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                  struct tsdb_store_series **out, size_t *n_out, fw_err_t *err)
{
    struct s_collect c = {0};
    *out = NULL;
    *n_out = 0;
    if (tsdb_store_select_each(r, matchers, n, s_collect, &c, err) != 0) {
        tsdb_store_series_free(c.res, c.len);
        return -1;
    }
    *out = c.res;
    *n_out = c.len;
    return 0;
}

void
tsdb_store_series_free(struct tsdb_store_series *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        fw_labels_clear(&s[k].labels);
    free(s);
}

int
tsdb_store_series_labels(tsdb_store_reader_t *r, uint64_t id, struct fw_labels *out, fw_err_t *err)
{
    int rc = tsdb_index_labels(&r->store->ix, r->txn, id, out);
    if (rc == MDB_NOTFOUND) {
        fw_err_set(err, "no series %llu", (unsigned long long)id);
        return -1;
    }
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "series read", rc);
}

// ---------------------------------------------------------------------------------------
// Iterating

void
tsdb_store_iter_init(struct tsdb_store_iter *it, tsdb_store_reader_t *r, uint64_t id, int64_t mint,
                     int64_t maxt)
{
    // everything but the sample buffers, which only hold what bi..bn says
    memset(it, 0, offsetof(struct tsdb_store_iter, bt));
    it->r = r;
    it->id = id;
    it->mint = mint;
    it->maxt = maxt;
    it->next_key = 0; // 0: not positioned yet
    it->phase = mint > maxt ? 2 : 0;
    tsdb_store_int_tombs_load(it);
}

// Enter the chunk p[0..len) (key min t kmint) if it may hold samples in range: 1 entered,
// 0 skipped, -1 past the range (nothing later can be in it).
static int
s_enter(struct tsdb_store_iter *it, const void *p, size_t len, int64_t kmint)
{
    struct tsdb_chunk_info info;
    int rc = tsdb_chunk_info(p, len, &info);
    if (rc != 0) {
        tsdb_store_int_report_damage(it->r->store, it->r->txn, it->id, "chunk", kmint, rc);
        return 0;
    }
    if (info.mint > it->maxt)
        return -1;
    if (info.maxt < it->mint)
        return 0;
    it->chunk_mint = info.mint;
    tsdb_chunk_iter_init(&it->ci, p, len);
    it->in_chunk = true;
    it->fresh = true;
    struct tsdb_store_resume *res = it->res;
    if (res && res->valid && res->chunk_mint == info.mint && res->m.t < it->mint)
        tsdb_chunk_iter_resume(&it->ci, &res->m); // else decoded from the start
    return 1;
}

// Position on the next chunk that may hold samples in range. False when there is none.
static bool
s_next_chunk(struct tsdb_store_iter *it)
{
    tsdb_store_reader_t *r = it->r;
    while (it->phase == 0) {
        unsigned char key[16];
        MDB_val k, v;
        int rc;
        if (it->next_key == 0) {
            // first: the chunk with the greatest key <= mint may span mint
            tsdb_store_int_chunk_key(key, it->id, tsdb_store_int_flip(it->mint));
            k = (MDB_val){16, key};
            rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
            bool exact = rc == 0 && k.mv_size == 16 && memcmp(k.mv_data, key, 16) == 0;
            if (!exact && (rc == 0 || rc == MDB_NOTFOUND)) {
                int p = mdb_cursor_get(r->cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
                if (p == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == it->id) {
                    rc = 0;
                } else {
                    k = (MDB_val){16, key};
                    rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
                }
            }
        } else {
            tsdb_store_int_chunk_key(key, it->id, it->next_key);
            k = (MDB_val){16, key};
            rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
        }
        if (rc != 0 || k.mv_size != 16 || fw_bytes_get_u64be(k.mv_data) != it->id) {
            if (rc != 0 && rc != MDB_NOTFOUND) {
                it->err = rc;
                it->phase = 2;
                return false;
            }
            it->phase = 1;
            break;
        }
        uint64_t fk = fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8);
        if (fk == UINT64_MAX)
            it->phase = 1; // the last possible key: nothing after it
        else
            it->next_key = fk + 1;
        int e = s_enter(it, v.mv_data, v.mv_size, tsdb_store_int_unflip(fk));
        if (e == 1)
            return true;
        if (e == -1) {
            it->phase = 2;
            return false;
        }
    }
    if (it->phase == 1 && r->sealed_only) {
        it->phase = 2;
        return false;
    }
    if (it->phase == 1 && !it->view) {
        // the chunks newer than the snapshot's: from the head (tsdb_store_int_head_chunks)
        int64_t vmaxt;
        int rc = tsdb_store_int_head_chunks(r, it->id, &it->view, &it->view_len, &vmaxt);
        if (vmaxt < it->maxt)
            it->maxt = vmaxt; // the samples of batches after the reader's are not its own
        if (rc != 0) {
            it->err = rc;
            it->phase = 2;
            return false;
        }
        it->view_off = 0;
    }
    while (it->phase == 1 && it->view_len - it->view_off >= 4) {
        size_t len = (size_t)fw_bytes_get_le(it->view + it->view_off, 4);
        const unsigned char *p = it->view + it->view_off + 4;
        it->view_off += 4 + len; // the head wrote it: len fits
        int e = s_enter(it, p, len, INT64_MIN);
        if (e == 1)
            return true;
        if (e == -1)
            break;
    }
    it->phase = 2;
    return false;
}

// Decode the current chunk's next samples in range into the buffer (on first entry from
// the first at or after mint, skipping the ones before it a batch at a time): true when
// there is at least one.
static bool s_chunk_fill_raw(struct tsdb_store_iter *it);

// s_chunk_fill_raw without the samples tombstones cover, on until some are left or the
// chunk is done.
static bool
s_chunk_fill(struct tsdb_store_iter *it)
{
    for (;;) {
        bool any = s_chunk_fill_raw(it);
        if (any && it->n_tomb > 0) {
            it->bn = tsdb_store_int_tombs_filter(it, it->bt, it->bv, it->has_st ? it->bst : NULL,
                                                 it->bi, it->bn);
            any = it->bn > it->bi;
        }
        if (any || !it->in_chunk)
            return any;
    }
}

// Record in it->res where the chunk iterator ci stopped, when it can be resumed from.
static void
s_mark(struct tsdb_store_iter *it, const struct tsdb_chunk_iter *ci)
{
    struct tsdb_chunk_mark m;
    if (!tsdb_chunk_iter_mark(ci, &m))
        return; // the old mark stays: tsdb_chunk_iter_resume checks it against the bytes
    it->res->m = m;
    it->res->chunk_mint = it->chunk_mint;
    it->res->valid = true;
}

// s_chunk_fill_raw for an iterator that keeps a resume mark: sample by sample, so that the
// mark is the position after the last sample in range, not after a batch that went past.
static bool
s_chunk_fill_res(struct tsdb_store_iter *it)
{
    struct tsdb_chunk_iter before;
    unsigned n = 0;
    bool past = false, more = true;
    while (n < TSDB_STORE_ITER_BATCH) {
        before = it->ci;
        if (!(more = tsdb_chunk_iter_next(&it->ci)))
            break;
        if (it->ci.t > it->maxt) {
            past = true;
            break;
        }
        if (it->ci.t >= it->mint) {
            it->bt[n] = it->ci.t;
            it->bv[n] = it->ci.v;
            it->bst[n] = it->ci.st;
            n++;
        }
    }
    it->has_st = true;
    it->fresh = false;
    it->bi = 0;
    it->bn = n;
    if (past) {
        s_mark(it, &before);
        it->in_chunk = false;
        it->phase = 2; // past maxt: so is everything after it
    } else if (!more) {
        s_mark(it, &it->ci);
        it->in_chunk = false;
        if (tsdb_chunk_iter_err(&it->ci) != 0)
            tsdb_store_int_report_damage(it->r->store, it->r->txn, it->id, "chunk", it->chunk_mint,
                                         tsdb_chunk_iter_err(&it->ci));
    }
    return n > 0;
}

static bool
s_chunk_fill_raw(struct tsdb_store_iter *it)
{
    if (it->res)
        return s_chunk_fill_res(it);
    unsigned n, lo;
    it->has_st = it->ci.enc == TSDB_CHUNK_XOR_ST;
    do {
        n = it->has_st
                ? (unsigned)tsdb_chunk_iter_read_st(&it->ci, it->bt, it->bst, it->bv,
                                                    TSDB_STORE_ITER_BATCH)
                : (unsigned)tsdb_chunk_iter_read(&it->ci, it->bt, it->bv, TSDB_STORE_ITER_BATCH);
        lo = 0;
        if (it->fresh)
            while (lo < n && it->bt[lo] < it->mint)
                lo++;
    } while (lo == n && n == TSDB_STORE_ITER_BATCH);
    it->fresh = false;
    unsigned in = n;
    while (in > lo && it->bt[in - 1] > it->maxt)
        in--;
    it->bi = lo;
    it->bn = in;
    if (in < n) {
        it->in_chunk = false;
        it->phase = 2; // past maxt: so is everything after it
    } else if (n < TSDB_STORE_ITER_BATCH) {
        it->in_chunk = false;
        if (tsdb_chunk_iter_err(&it->ci) != 0)
            tsdb_store_int_report_damage(it->r->store, it->r->txn, it->id, "chunk", it->chunk_mint,
                                         tsdb_chunk_iter_err(&it->ci));
    }
    return in > lo;
}

bool
tsdb_store_reader_start_times(const tsdb_store_reader_t *r)
{
    return atomic_load(&r->store->st_seen);
}

bool
tsdb_store_iter_next_batch(struct tsdb_store_iter *it)
{
    for (;;) {
        if (it->bi < it->bn) {
            it->t = it->bt[it->bi];
            it->v = it->bv[it->bi];
            it->st = it->has_st ? it->bst[it->bi] : 0;
            it->bi++;
            it->cur = true;
            return true;
        }
        if (it->in_chunk && s_chunk_fill(it))
            continue;
        if (it->phase == 2 || !s_next_chunk(it)) {
            it->cur = false;
            return false;
        }
    }
}

void
tsdb_store_iter_resume(struct tsdb_store_iter *it, struct tsdb_store_resume *res)
{
    it->res = res;
}

bool
tsdb_store_iter_seek(struct tsdb_store_iter *it, int64_t x)
{
    if (it->cur && it->t >= x)
        return true;
    if (x > it->mint)
        it->mint = x;
    while (it->bi < it->bn && it->bt[it->bi] < x)
        it->bi++;
    if (it->bi == it->bn && it->in_chunk)
        it->fresh = true; // s_chunk_fill seeks forward to it->mint in the current chunk
    return tsdb_store_iter_next(it);
}

int
tsdb_store_iter_err(const struct tsdb_store_iter *it)
{
    return it->err;
}

int
tsdb_store_samples(tsdb_store_reader_t *r, uint64_t id, int64_t mint, int64_t maxt,
                   struct fw_sample **pts, size_t *len, size_t *cap, fw_err_t *err)
{
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, id, mint, maxt);
    while (tsdb_store_iter_next(&it)) {
        fw_mem_grow((void **)pts, cap, *len + 1, sizeof(**pts));
        (*pts)[*len].t_ms = it.t;
        (*pts)[*len].v = it.v;
        (*len)++;
    }
    if (tsdb_store_iter_err(&it) != 0)
        return tsdb_store_int_lmdb_fail(err, "samples", tsdb_store_iter_err(&it));
    return 0;
}

int
tsdb_store_label_names(tsdb_store_reader_t *r, char ***out, size_t *n_out, fw_err_t *err)
{
    int rc = tsdb_index_label_names(&r->store->ix, r->txn, out, n_out);
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "label names", rc);
}

int
tsdb_store_label_values(tsdb_store_reader_t *r, const char *name, char ***out, size_t *n_out,
                        fw_err_t *err)
{
    int rc = tsdb_index_label_values(&r->store->ix, r->txn, name, out, n_out);
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "label values", rc);
}

int
tsdb_store_postings_walk(tsdb_store_reader_t *r, tsdb_index_walk_fn fn, void *arg, fw_err_t *err)
{
    int rc = tsdb_index_postings_walk(&r->store->ix, r->txn, fn, arg);
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "postings walk", rc);
}

// ---------------------------------------------------------------------------------------
// Readers: registration and the head's chunks

int
tsdb_store_int_reader_begin(tsdb_store_t *self, tsdb_store_reader_t *r)
{
    // Registered as 0 before the snapshot is taken: a commit meanwhile frees no kept chunk
    // this reader may still need.
    pthread_mutex_lock(&self->readers_mu);
    size_t k = 0;
    while (k < TSDB_STORE_READERS && self->reader_txn[k] != UINT64_MAX)
        k++;
    if (k < TSDB_STORE_READERS)
        self->reader_txn[k] = 0;
    pthread_mutex_unlock(&self->readers_mu);
    r->slot = k; // TSDB_STORE_READERS: none
    if (k == TSDB_STORE_READERS)
        return MDB_READERS_FULL;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &r->txn);
    pthread_mutex_lock(&self->readers_mu);
    self->reader_txn[k] = rc == 0 ? (uint64_t)mdb_txn_id(r->txn) : UINT64_MAX;
    pthread_mutex_unlock(&self->readers_mu);
    if (rc != 0)
        r->slot = TSDB_STORE_READERS;
    r->txn_id = rc == 0 ? (uint64_t)mdb_txn_id(r->txn) : 0;
    // After the snapshot: commits run between batches, so the snapshot holds no batch after
    // this one, and bounding the head's samples at it (tsdb_head_view) bounds the reader.
    r->visible = tsdb_head_visible(self->head);
    return rc;
}

void
tsdb_store_int_reader_end(tsdb_store_t *self, tsdb_store_reader_t *r)
{
    if (r->slot < TSDB_STORE_READERS) {
        pthread_mutex_lock(&self->readers_mu);
        self->reader_txn[r->slot] = UINT64_MAX;
        pthread_mutex_unlock(&self->readers_mu);
        r->slot = TSDB_STORE_READERS;
    }
    while (r->block) {
        struct tsdb_store_block *b = r->block;
        r->block = b->next;
        free(b);
    }
    free(r->view.p);
}

// Room for len bytes that stay put while the reader lives.
static unsigned char *
s_block_alloc(tsdb_store_reader_t *r, size_t len)
{
    struct tsdb_store_block *b = r->block;
    if (!b || b->cap - b->len < len) {
        size_t cap = len > ((size_t)64 << 10) ? len : ((size_t)64 << 10);
        b = fw_malloc(sizeof(*b) + cap);
        b->len = 0;
        b->cap = cap;
        b->next = r->block;
        r->block = b;
    }
    unsigned char *p = b->bytes + b->len;
    b->len += len;
    return p;
}

int
tsdb_store_int_head_chunks(tsdb_store_reader_t *r, uint64_t id, const unsigned char **p,
                           size_t *len, int64_t *maxt)
{
    tsdb_store_t *self = r->store;
    *p = NULL;
    *len = 0;
    *maxt = INT64_MAX;
    pthread_mutex_lock(&self->head_mu);
    bool held = tsdb_head_view(self->head, id, r->txn_id, r->visible, &r->view);
    pthread_mutex_unlock(&self->head_mu);
    if (self->read_hook)
        self->read_hook(self->read_hook_arg, id);
    if (held) {
        *maxt = r->view.maxt;
        if (r->view.len > 0) {
            unsigned char *d = s_block_alloc(r, r->view.len);
            memcpy(d, r->view.p, r->view.len);
            *p = d;
            *len = r->view.len;
        }
        return 0;
    }
    // Not in the head: nothing was appended since it was last stored.
    unsigned char idb[8];
    fw_bytes_put_u64be(idb, id);
    MDB_val k = {8, idb}, v;
    int rc = mdb_get(r->txn, self->head_db, &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc != 0)
        return rc;
    tsdb_store_int_head_val(self, &v);
    unsigned char *d = s_block_alloc(r, v.mv_size + 4);
    fw_bytes_put_le(d, v.mv_size, 4);
    memcpy(d + 4, v.mv_data, v.mv_size);
    *p = d;
    *len = v.mv_size + 4;
    return 0;
}
