/*  tsdb_store_newest.c — a series' newest in-order sample for a check before appending
    (tsdb_store_newest in tsdb_store.h), from the head when it holds the series, else from
    the reader's snapshot: the last sealed chunk and the stored open chunk after it.
*/
#include <lmdb.h>
#include <stdint.h>
#include <string.h>

#include "fw_bytes.h"
#include "tsdb_store_int.h"

// The newest sample on disk of series id in r's snapshot: decode from the last sealed
// chunk's first timestamp on (chunks never overlap, the open chunk comes after it).
static int
s_newest_stored(tsdb_store_reader_t *r, uint64_t id, struct tsdb_store_newest *out)
{
    unsigned char key[16];
    tsdb_store_int_chunk_key(key, id + 1, 0);
    MDB_val k = {16, key}, v;
    int rc = mdb_cursor_get(r->cur, &k, &v, MDB_SET_RANGE);
    rc = mdb_cursor_get(r->cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    int64_t from = INT64_MIN;
    if (rc == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == id)
        from = tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, id, from, INT64_MAX);
    while (tsdb_store_iter_next(&it)) {
        out->has = true;
        out->v_known = true;
        out->t = it.t;
        out->v = it.v;
    }
    return tsdb_store_iter_err(&it);
}

int
tsdb_store_newest(tsdb_store_reader_t *r, const struct fw_labels *l, struct tsdb_store_newest *out,
                  fw_err_t *err)
{
    tsdb_store_t *self = r->store;
    memset(out, 0, sizeof(*out));
    uint64_t hash = fw_labels_hash(l);
    pthread_mutex_lock(&self->head_mu);
    out->ooo_window = tsdb_head_ooo_window(self->head);
    out->head_maxt = tsdb_head_maxt(self->head);
    const struct tsdb_head_series *s = tsdb_head_find(self->head, l, hash);
    if (s) {
        out->has = s->has_last;
        out->v_known = s->last_v_known;
        out->t = s->last_t;
        out->v = s->last_v;
    }
    pthread_mutex_unlock(&self->head_mu);
    if (s)
        return 0;
    uint64_t id;
    int rc = tsdb_index_find(&self->ix, r->txn, l, hash, &id);
    if (rc == 0)
        rc = s_newest_stored(r, id, out);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "newest sample", rc);
}
