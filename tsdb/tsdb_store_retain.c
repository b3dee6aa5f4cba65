/*  tsdb_store_retain.c — the storage engine's housekeeping: retention, copy, seal, head gc.

    Retention deletes sealed chunks and open-chunk records whose newest sample is older
    than a cutoff, and then removes from the index (series, by_hash, postings) every series
    it deleted from that has nothing left: no chunk, no open-chunk record, not in the head.
    Label lookups then stop offering a pod that went away; its id is never given again
    (meta "next_id"). It works in bounded passes: each tsdb_store_delete_before call looks at no
   more than S_RETENTION_VISITS records in one write transaction and remembers where it stopped (the
   store's ret_phase and ret_key), so a large deletion is spread over many calls and never holds the
   writer for long. A failed retention commit is reported like any other
    (tsdb_store_int_commit_fail: a full map makes the store read-only). A copy is LMDB's
    compacting copy into an empty directory; sealing and head gc are the head's.
*/
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fw_matcher.h"
#include "fw_mem.h"
#include "tsdb_store_int.h"

#define S_RETENTION_VISITS 20000 // records looked at per tsdb_store_delete_before call

// Series id's cutoff in this step: its policy's, or the default, raised to the floor. The
// labels are read from the index once per run of the series' records.
static int64_t
s_cutoff_for(tsdb_store_t *self, MDB_txn *txn, uint64_t id)
{
    const struct tsdb_store_cutoffs *c = self->ret_cut;
    if (self->ret_cut_id == id && id != 0)
        return self->ret_cut_ms;
    int64_t cut = c->cutoff_ms;
    if (self->n_policies > 0 && c->now_ms != INT64_MIN) {
        struct fw_labels l = FW_LABELS_INIT;
        if (tsdb_index_labels(&self->ix, txn, id, &l) == 0)
            for (size_t k = 0; k < self->n_policies; k++)
                if (fw_matchers_match(self->policies[k].ms, self->policies[k].n, &l)) {
                    cut = c->now_ms - self->policies[k].keep_ms;
                    break;
                }
        fw_labels_clear(&l);
    }
    if (cut < c->floor_ms)
        cut = c->floor_ms;
    self->ret_cut_id = id;
    self->ret_cut_ms = cut;
    return cut;
}

void
tsdb_store_set_policies(tsdb_store_t *self, const struct tsdb_store_policy *p, size_t n)
{
    for (size_t k = 0; k < self->n_policies; k++) {
        for (size_t j = 0; j < self->policies[k].n; j++)
            fw_matcher_clear(&self->policies[k].ms[j]);
        free(self->policies[k].ms);
    }
    free(self->policies);
    self->policies = n ? fw_calloc(n, sizeof(*self->policies)) : NULL;
    self->n_policies = n;
    for (size_t k = 0; k < n; k++) {
        self->policies[k].ms = fw_calloc(p[k].n ? p[k].n : 1, sizeof(struct fw_matcher));
        for (size_t j = 0; j < p[k].n; j++)
            fw_matcher_copy(&self->policies[k].ms[j], &p[k].ms[j]);
        self->policies[k].n = p[k].n;
        self->policies[k].keep_ms = p[k].keep_ms;
    }
}

// Note that a pass deleted from series id (once per run of its records).
static void
s_emptied(tsdb_store_t *self, uint64_t id)
{
    if (self->n_ret_emptied && self->ret_emptied[self->n_ret_emptied - 1] == id)
        return;
    fw_mem_grow((void **)&self->ret_emptied, &self->cap_ret_emptied, self->n_ret_emptied + 1,
                sizeof(*self->ret_emptied));
    self->ret_emptied[self->n_ret_emptied++] = id;
}

// Remove from the index the series the pass deleted from that have nothing left. 0, or an
// LMDB error.
static int
s_remove_emptied(tsdb_store_t *self, MDB_txn *txn, size_t *removed)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    for (size_t i = 0; rc == 0 && i < self->n_ret_emptied; i++) {
        uint64_t id = self->ret_emptied[i];
        unsigned char key[16], idb[8];
        tsdb_store_int_chunk_key(key, id, 0); // its first chunk, if any
        MDB_val k = {16, key}, v;
        int crc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (crc == 0 && k.mv_size == 16 && fw_bytes_get_u64be(k.mv_data) == id)
            continue; // chunks left
        if (crc != 0 && crc != MDB_NOTFOUND) {
            rc = crc;
            break;
        }
        fw_bytes_put_u64be(idb, id);
        MDB_val hk = {8, idb};
        if ((crc = mdb_get(txn, self->head_db, &hk, &v)) != MDB_NOTFOUND) {
            rc = crc == 0 ? 0 : crc; // an open chunk left
            continue;
        }
        pthread_mutex_lock(&self->head_mu);
        bool in_head = tsdb_head_find_id(self->head, id) != NULL;
        pthread_mutex_unlock(&self->head_mu);
        if (in_head)
            continue;
        self->index_gen++;
        if ((rc = tsdb_index_remove(&self->ix, txn, id)) == 0 &&
            (rc = mdb_del(txn, self->tombs_db, &hk, NULL)) == MDB_NOTFOUND)
            rc = 0;
        if (rc == 0)
            rc = tsdb_store_int_rollup_drop(self, txn, id);
        if (rc == 0)
            (*removed)++;
    }
    mdb_cursor_close(cur);
    if (rc == 0 && *removed > 0) {
        unsigned char nb[8];
        fw_bytes_put_u64be(nb, self->next_id);
        MDB_val nk = {7, (void *)"next_id"}, nv = {8, nb};
        rc = mdb_put(txn, self->meta, &nk, &nv, 0);
    }
    self->n_ret_emptied = 0;
    return rc;
}

// End a bounded pass: remember where to resume (the key the cursor stopped at), close the
// cursor, and turn "ran off the end" into a wrap to the start for the next pass.
static int
s_pass_end(tsdb_store_t *self, MDB_cursor *cur, int rc, const MDB_val *k, bool *wrapped)
{
    if (rc == 0 && k->mv_size <= sizeof(self->ret_key)) {
        memmove(self->ret_key, k->mv_data, k->mv_size);
        self->ret_key_len = k->mv_size;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) {
        *wrapped = true;
        self->ret_key_len = 0;
        return 0;
    }
    return rc;
}

// One bounded pass over chunks from ret_key: delete sealed chunks older than cutoff.
// Returns 0 and sets *wrapped when the end was reached.
static int
s_retain_chunks(tsdb_store_t *self, MDB_txn *txn, size_t max_deletes, size_t *deleted,
                size_t *visits, bool *wrapped)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {self->ret_key_len, self->ret_key}, v;
    rc = mdb_cursor_get(cur, &k, &v, self->ret_key_len ? MDB_SET_RANGE : MDB_FIRST);
    while (rc == 0 && *deleted < max_deletes && *visits < S_RETENTION_VISITS) {
        (*visits)++;
        if (k.mv_size != 16) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        uint64_t id = fw_bytes_get_u64be(k.mv_data);
        int64_t kmint =
            tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
        int64_t cutoff = s_cutoff_for(self, txn, id);
        if (kmint >= cutoff) {
            // this and every later chunk of the series are newer: on to the next series
            if (id == UINT64_MAX)
                break;
            tsdb_store_int_chunk_key(self->ret_key, id + 1, 0);
            k = (MDB_val){16, self->ret_key};
            rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
            continue;
        }
        struct tsdb_chunk_info info;
        if (tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0 && info.maxt < cutoff) {
            // deleting under a cursor: MDB_NEXT then returns the record after this one
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            (*deleted)++;
            s_emptied(self, id);
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    return s_pass_end(self, cur, rc, &k, wrapped);
}

// One bounded pass over head records from ret_key: drop open chunks older than cutoff with
// their head series (unless it has something to commit).
static int
s_retain_head(tsdb_store_t *self, MDB_txn *txn, size_t max_deletes, size_t *deleted, size_t *visits,
              bool *wrapped)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->head_db, &cur);
    if (rc != 0)
        return rc;
    MDB_val k = {self->ret_key_len, self->ret_key}, v;
    rc = mdb_cursor_get(cur, &k, &v, self->ret_key_len ? MDB_SET_RANGE : MDB_FIRST);
    pthread_mutex_lock(&self->head_mu); // head series may be removed: readers must wait
    while (rc == 0 && *deleted < max_deletes && *visits < S_RETENTION_VISITS) {
        (*visits)++;
        tsdb_store_int_head_val(self, &v);
        struct tsdb_chunk_info info;
        struct tsdb_head_series *s =
            k.mv_size == 8 ? tsdb_head_find_id(self->head, fw_bytes_get_u64be(k.mv_data)) : NULL;
        if (k.mv_size == 8 && tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0 &&
            info.maxt < s_cutoff_for(self, txn, fw_bytes_get_u64be(k.mv_data)) &&
            (!s || tsdb_head_remove(self->head, s))) {
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                break;
            (*deleted)++;
            s_emptied(self, fw_bytes_get_u64be(k.mv_data));
        }
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    pthread_mutex_unlock(&self->head_mu);
    return s_pass_end(self, cur, rc, &k, wrapped);
}

int
tsdb_store_delete_before(tsdb_store_t *self, int64_t cutoff_ms, size_t max_deletes, size_t *deleted,
                         fw_err_t *err)
{
    struct tsdb_store_cutoffs c = {
        .now_ms = INT64_MIN, .cutoff_ms = cutoff_ms, .floor_ms = INT64_MIN}; // no policies
    return tsdb_store_retain(self, &c, max_deletes, deleted, err);
}

int
tsdb_store_retain(tsdb_store_t *self, const struct tsdb_store_cutoffs *c, size_t max_deletes,
                  size_t *deleted, fw_err_t *err)
{
    *deleted = 0;
    self->ret_cut = c;
    self->ret_cut_id = 0;
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "txn_begin", rc);
    size_t visits = 0;
    for (int pass = 0; pass < 2 && rc == 0 && *deleted < max_deletes; pass++) {
        bool wrapped = false;
        if (self->ret_phase == 0)
            rc = s_retain_chunks(self, txn, max_deletes, deleted, &visits, &wrapped);
        else
            rc = s_retain_head(self, txn, max_deletes, deleted, &visits, &wrapped);
        if (rc != 0 || !wrapped)
            break;
        self->ret_phase ^= 1;
        if (self->ret_phase == 0)
            break; // a whole round done: the next call starts over
    }
    size_t removed = 0;
    if (rc == 0)
        rc = s_remove_emptied(self, txn, &removed);
    self->n_ret_emptied = 0;
    if (rc != 0) {
        mdb_txn_abort(txn);
        *deleted = 0;
        self->ret_key_len = 0;
        return tsdb_store_int_lmdb_fail(err, "retention", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        *deleted = 0;
        return tsdb_store_int_commit_fail(self, err, "retention commit", rc);
    }
    atomic_fetch_add(&self->series_removed, removed);
    return 0;
}

int
tsdb_store_used_bytes(tsdb_store_t *self, uint64_t *bytes, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "read txn", rc);
    const MDB_dbi dbis[] = {0,
                            self->meta,
                            self->chunks,
                            self->head_db,
                            self->wal_db,
                            self->ix.series,
                            self->ix.by_hash,
                            self->ix.postings};
    uint64_t pages = 0;
    MDB_stat st;
    for (size_t k = 0; rc == 0 && k < sizeof(dbis) / sizeof(dbis[0]); k++)
        if ((rc = mdb_stat(txn, dbis[k], &st)) == 0) {
            pages += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
            *bytes = pages * st.ms_psize;
        }
    mdb_txn_abort(txn);
    return rc == 0 ? 0 : tsdb_store_int_lmdb_fail(err, "stat", rc);
}

// The oldest first timestamp of any stored chunk or open-chunk record (INT64_MAX: none):
// one cursor seek per series.
static int
s_oldest(tsdb_store_t *self, MDB_txn *txn, int64_t *oldest)
{
    *oldest = INT64_MAX;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, self->chunks, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
        if (k.mv_size != 16) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
            continue;
        }
        uint64_t id = fw_bytes_get_u64be(k.mv_data);
        int64_t mint =
            tsdb_store_int_unflip(fw_bytes_get_u64be((const unsigned char *)k.mv_data + 8));
        if (mint < *oldest)
            *oldest = mint; // a series' first chunk is its oldest
        if (id == UINT64_MAX)
            break;
        unsigned char next[16];
        tsdb_store_int_chunk_key(next, id + 1, 0);
        k = (MDB_val){16, next};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    if ((rc = mdb_cursor_open(txn, self->head_db, &cur)) != 0)
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        tsdb_store_int_head_val(self, &v);
        struct tsdb_chunk_info info;
        if (tsdb_chunk_info(v.mv_data, v.mv_size, &info) == 0 && info.mint < *oldest)
            *oldest = info.mint;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
tsdb_store_size_cutoff(tsdb_store_t *self, uint64_t limit, int64_t now_ms, int64_t *cutoff,
                       bool *moved, fw_err_t *err)
{
    uint64_t used;
    *moved = false;
    if (tsdb_store_used_bytes(self, &used, err) != 0)
        return -1;
    if (used <= limit)
        return 0;
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "read txn", rc);
    int64_t oldest;
    rc = s_oldest(self, txn, &oldest);
    mdb_txn_abort(txn);
    if (rc != 0)
        return tsdb_store_int_lmdb_fail(err, "oldest sample", rc);
    if (oldest == INT64_MAX)
        return 0; // only the index and the log are left
    int64_t from = *cutoff > oldest ? *cutoff : oldest;
    int64_t step = (now_ms - from) / 16;
    if (step < 60000)
        step = 60000;
    int64_t next = from > now_ms - step ? now_ms : from + step;
    if (next > *cutoff) {
        *cutoff = next;
        *moved = true;
    }
    return 0;
}

int
tsdb_store_copy(tsdb_store_t *self, const char *dst_dir, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return -1;
    }
    char p[4096];
    struct stat st;
    snprintf(p, sizeof(p), "%s/data.mdb", dst_dir);
    if (stat(p, &st) == 0) {
        fw_err_set(err, "%s already holds a data file: copy into an empty directory", dst_dir);
        return -1;
    }
    int rc = mdb_env_copy2(self->env, dst_dir, MDB_CP_COMPACT);
    if (rc != 0) {
        fw_err_set(err, "copy of %s to %s: %s", self->dir, dst_dir, mdb_strerror(rc));
        return -1;
    }
    return 0;
}

size_t
tsdb_store_seal_all(tsdb_store_t *self)
{
    pthread_mutex_lock(&self->head_mu);
    size_t n = tsdb_head_seal_all(self->head);
    pthread_mutex_unlock(&self->head_mu);
    return n;
}

size_t
tsdb_store_head_gc(tsdb_store_t *self, int64_t before_ms)
{
    pthread_mutex_lock(&self->head_mu);
    size_t n = tsdb_head_gc(self->head, before_ms, NULL, NULL);
    pthread_mutex_unlock(&self->head_mu);
    return n;
}
