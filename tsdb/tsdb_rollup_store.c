/*  tsdb_rollup_store.c — the store's rollup hooks (see tsdb_rollup.h, "Layout" and
    "Writing"; declared in tsdb_store_int.h): keys, the groups' marks, lowering a mark, a
    series' removal, the upgrade from storage format 5, and covering LMDB's unwritten pages.
*/
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_bytes.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_rollup.h"
#include "tsdb_store_int.h"

#define S_MARK_MIN (-((int64_t)1 << 61)) // as tsdb_rollup_write.c's: samples beyond get none

void
tsdb_store_int_rollup_key(unsigned char key[17], uint64_t id, int level, int64_t page_start)
{
    fw_bytes_put_u64be(key, id);
    key[8] = (unsigned char)level;
    fw_bytes_put_u64be(key + 9, tsdb_store_int_flip(page_start));
}

void
tsdb_store_int_rollup_marks_key(unsigned char key[9], uint64_t g)
{
    fw_bytes_put_u64be(key, g);
    key[8] = 0xfe;
}

int
tsdb_store_int_rollup_marks(tsdb_store_t *self, MDB_txn *txn, uint64_t g, int64_t *w)
{
    unsigned char key[9];
    tsdb_store_int_rollup_marks_key(key, g);
    MDB_val k = {9, key}, v;
    int rc = mdb_get(txn, self->rollups_db, &k, &v);
    if (rc != 0 || tsdb_rollup_marks_decode(v.mv_data, v.mv_size, w) != 0)
        for (unsigned i = 0; i < TSDB_ROLLUP_GROUP; i++)
            w[i] = INT64_MIN;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
s_marks_put(tsdb_store_t *self, MDB_txn *txn, uint64_t g, const int64_t w[TSDB_ROLLUP_GROUP])
{
    unsigned char key[9], b[TSDB_ROLLUP_MARKS_MAX];
    tsdb_store_int_rollup_marks_key(key, g);
    size_t n = tsdb_rollup_marks_encode(w, b);
    MDB_val k = {9, key}, v = {n, b};
    int rc = n > 0 ? mdb_put(txn, self->rollups_db, &k, &v, 0)
                   : mdb_del(txn, self->rollups_db, &k, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

// Set series id's mark to w (INT64_MIN: none).
static int
s_mark_set(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t w)
{
    int64_t m[TSDB_ROLLUP_GROUP];
    int rc = tsdb_store_int_rollup_marks(self, txn, id / TSDB_ROLLUP_GROUP, m);
    if (rc != 0)
        return rc;
    m[id % TSDB_ROLLUP_GROUP] = w;
    return s_marks_put(self, txn, id / TSDB_ROLLUP_GROUP, m);
}

int
tsdb_store_int_rollup_mark(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t *w)
{
    int64_t m[TSDB_ROLLUP_GROUP];
    int rc = tsdb_store_int_rollup_marks(self, txn, id / TSDB_ROLLUP_GROUP, m);
    *w = m[id % TSDB_ROLLUP_GROUP];
    return rc;
}

int
tsdb_store_int_rollup_lower(tsdb_store_t *self, MDB_txn *txn, uint64_t id, int64_t t)
{
    int64_t w;
    int rc = tsdb_store_int_rollup_mark(self, txn, id, &w);
    if (rc != 0 || w == INT64_MIN)
        return rc;
    // the bucket holding t ends after floor(t - 1); the ones before stay
    int64_t nw = t <= S_MARK_MIN ? S_MARK_MIN : tsdb_rollup_floor(t - 1, tsdb_rollup_step_ms(0));
    if (nw >= w)
        return 0;
    return s_mark_set(self, txn, id, nw);
}

void
tsdb_store_int_rollup_damaged(tsdb_store_t *self, uint64_t id, int64_t t)
{
    pthread_mutex_lock(&self->rollup_mu);
    size_t n = self->n_rollup_fix;
    bool known = false;
    for (size_t k = 0; k < n; k++)
        known |= self->rollup_fix[k].id == id && self->rollup_fix[k].t == t;
    if (!known && n < sizeof(self->rollup_fix) / sizeof(*self->rollup_fix))
        self->rollup_fix[self->n_rollup_fix++] = (struct s_rollup_fix){id, t};
    pthread_mutex_unlock(&self->rollup_mu);
}

int
tsdb_store_int_rollup_fixes(tsdb_store_t *self, MDB_txn *txn)
{
    struct s_rollup_fix fix[sizeof(self->rollup_fix) / sizeof(*self->rollup_fix)];
    pthread_mutex_lock(&self->rollup_mu);
    size_t n = self->n_rollup_fix;
    memcpy(fix, self->rollup_fix, n * sizeof(*fix));
    self->n_rollup_fix = 0;
    pthread_mutex_unlock(&self->rollup_mu);
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) // the page's first bucket on
        rc = tsdb_store_int_rollup_lower(self, txn, fix[k].id, fix[k].t + 1);
    return rc;
}

// Remove slot's segment from every page of group g (both levels) from page start p0 on
// (INT64_MIN: all), writing the pages through buf (*cap; fw_mem_grow). A page that does not
// parse is left as it is and reported in *bad_level, *bad_ps (when not NULL: then the walk
// stops with FW_EPARSE). 0, FW_EPARSE or an LMDB error.
static int
s_remove_slot(tsdb_store_t *self, MDB_txn *txn, uint64_t g, unsigned slot, int level, int64_t p0,
              unsigned char **buf, size_t *cap, int *bad_level, int64_t *bad_ps)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->rollups_db, &cur);
    if (rc != 0)
        return rc;
    unsigned char key[17];
    tsdb_store_int_rollup_key(key, g, level < 0 ? 0 : level, p0);
    MDB_val k = {17, key}, v;
    bool moved = false; // the cursor is on the next record already (after a delete)
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, moved ? MDB_GET_CURRENT : MDB_NEXT)) {
        moved = false;
        const unsigned char *kp = k.mv_data;
        if (k.mv_size != 17 || fw_bytes_get_u64be(kp) != g || (level >= 0 && kp[8] != level))
            break;
        struct tsdb_rollup_group gp;
        const unsigned char *seg;
        size_t seglen;
        if (tsdb_rollup_group_parse(v.mv_data, v.mv_size, &gp) != 0) {
            if (!bad_ps)
                continue;
            *bad_level = kp[8];
            *bad_ps = tsdb_store_int_unflip(fw_bytes_get_u64be(kp + 9));
            rc = FW_EPARSE;
            break;
        }
        if (!tsdb_rollup_group_find(&gp, v.mv_data, slot, &seg, &seglen))
            continue;
        fw_mem_grow((void **)buf, cap, v.mv_size + 16, 1);
        size_t n = tsdb_rollup_group_splice(&gp, v.mv_data, slot, NULL, 0, *buf);
        if (n == 0) {
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            moved = true;
        } else {
            MDB_val nv = {n, *buf};
            if ((rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT)) != 0)
                break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
tsdb_store_int_rollup_drop(tsdb_store_t *self, MDB_txn *txn, uint64_t id)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = s_remove_slot(self, txn, id / TSDB_ROLLUP_GROUP, (unsigned)(id % TSDB_ROLLUP_GROUP),
                           -1, INT64_MIN, &buf, &cap, NULL, NULL);
    free(buf);
    return rc == 0 ? s_mark_set(self, txn, id, INT64_MIN) : rc;
}

void
tsdb_store_int_rollup_cover(tsdb_store_t *self)
{
    // under LMDB's writer lock (an empty write transaction): no commit writes pages past the
    // end meanwhile, which a stale size would cut off
    MDB_txn *txn;
    if (self->lock_fd < 0 || mdb_txn_begin(self->env, NULL, 0, &txn) != 0)
        return;
    MDB_envinfo info;
    MDB_stat ms;
    struct stat fs;
    if (mdb_env_info(self->env, &info) == 0 && mdb_env_stat(self->env, &ms) == 0 &&
        fstat(self->lock_fd, &fs) == 0) {
        off_t need = (off_t)(info.me_last_pgno + 1) * (off_t)ms.ms_psize;
        if (fs.st_size < need && ftruncate(self->lock_fd, need) != 0)
            fw_warn("tsdb.rollup.cover", "err=%s", strerror(errno));
    }
    mdb_txn_abort(txn);
}

// Storage format 5 to 6: each series' pages (u64 id, u8 level, u64 flipped start) become
// the segments of its group's pages, byte for byte, and its mark (u64 id, 0xff) goes into its
// group's marks. Series are taken in ascending id order: group g = id / 64 < id, so every
// key written sorts before the next id's keys, whose pages are all still format 5's.
int
tsdb_store_int_rollup_upgrade(tsdb_store_t *self, MDB_txn *txn, uint64_t *moved)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->rollups_db, &cur);
    if (rc != 0)
        return rc;
    unsigned char *buf = NULL, *val = NULL;
    size_t cap = 0, vcap = 0;
    uint64_t next = 1;
    *moved = 0;
    for (;;) {
        unsigned char key[17];
        fw_bytes_put_u64be(key, next);
        MDB_val k = {8, key}, v;
        if ((rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE)) != 0)
            break;
        const unsigned char *kp = k.mv_data;
        uint64_t id = fw_bytes_get_u64be(kp);
        bool page = k.mv_size == 17 && kp[8] < TSDB_ROLLUP_LEVELS;
        bool mark = k.mv_size == 9 && kp[8] == 0xff && v.mv_size == 8;
        next = id; // the record is deleted below: the next one is found again from here
        unsigned char okey[17];
        memcpy(okey, kp, k.mv_size);
        size_t oklen = k.mv_size;
        fw_mem_grow((void **)&val, &vcap, v.mv_size + 1, 1);
        memcpy(val, v.mv_data, v.mv_size);
        size_t vlen = v.mv_size;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        if (!page && !mark)
            continue; // not format 5's: dropped (the writer rewrites what is missing)
        if (mark) {
            if ((rc = s_mark_set(self, txn, id, (int64_t)fw_bytes_get_le(val, 8))) != 0)
                break;
            (*moved)++;
            continue;
        }
        if (vlen == 0)
            continue;
        unsigned char gkey[17];
        memcpy(gkey, okey, oklen);
        fw_bytes_put_u64be(gkey, id / TSDB_ROLLUP_GROUP);
        MDB_val gk = {17, gkey}, gv;
        struct tsdb_rollup_group gp;
        rc = mdb_get(txn, self->rollups_db, &gk, &gv);
        if (rc != 0 && rc != MDB_NOTFOUND)
            break;
        bool have = rc == 0 && tsdb_rollup_group_parse(gv.mv_data, gv.mv_size, &gp) == 0;
        fw_mem_grow((void **)&buf, &cap, (have ? gv.mv_size : 0) + vlen + 16, 1);
        size_t n = tsdb_rollup_group_splice(have ? &gp : NULL, have ? gv.mv_data : NULL,
                                            (unsigned)(id % TSDB_ROLLUP_GROUP), val, vlen, buf);
        MDB_val nv = {n, buf};
        if ((rc = mdb_put(txn, self->rollups_db, &gk, &nv, 0)) != 0)
            break;
        (*moved)++;
    }
    mdb_cursor_close(cur);
    free(buf);
    free(val);
    return rc == MDB_NOTFOUND ? 0 : rc;
}
