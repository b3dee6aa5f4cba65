/*  ruled_state.c — see ruled_state.h.
 */
#include "ruled_state.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

#include "fw_lmdb.h"
#include "fw_mem.h"

#define S_MAPSIZE ((size_t)256 << 20)

struct ruled_state {
    MDB_env *env;
    MDB_dbi alerts, groups, meta;
    char *dir;
};

ruled_state_t *
ruled_state_new(void)
{
    return fw_calloc(1, sizeof(ruled_state_t));
}

void
ruled_state_destroy(ruled_state_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ruled_state_t *self = *self_p;
    if (self->env) {
        (void)mdb_env_sync(self->env, 1);
        mdb_env_close(self->env); // also releases the flock
    }
    free(self->dir);
    free(self);
    *self_p = NULL;
}

static int
s_fail(fw_err_t *err, const char *dir, const char *what, int rc)
{
    fw_err_set(err, "lmdb %s in %s: %s", what, dir, mdb_strerror(rc));
    return -1;
}

// Is the unnamed database of txn empty (a new environment)? -1 with err on a read error.
static int
s_main_empty(MDB_txn *txn, const char *dir, bool *empty, fw_err_t *err)
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, NULL, 0, &dbi);
    if (rc == 0 && (rc = mdb_cursor_open(txn, dbi, &cur)) == 0) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        mdb_cursor_close(cur);
    }
    *empty = rc == MDB_NOTFOUND;
    if (rc != 0 && rc != MDB_NOTFOUND)
        return s_fail(err, dir, "read", rc);
    return 0;
}

// In the open write txn: create the databases, write the format into a new environment,
// refuse another one. 0, or -1 with err.
static int
s_setup(ruled_state_t *self, MDB_txn *txn, fw_err_t *err)
{
    char want[16];
    snprintf(want, sizeof want, "%d", RULED_STATE_FORMAT);
    MDB_val k = {6, (void *)"format"}, v;
    int rc = mdb_dbi_open(txn, "meta", 0, &self->meta);
    if (rc == MDB_NOTFOUND) {
        bool empty;
        if (s_main_empty(txn, self->dir, &empty, err) != 0)
            return -1;
        if (!empty) {
            fw_err_set(err,
                       "storage directory %s holds an LMDB database that is not ruled state: "
                       "give --storage.path another directory",
                       self->dir);
            return -1;
        }
        if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta)) != 0)
            return s_fail(err, self->dir, "open meta", rc);
        v = (MDB_val){strlen(want), want};
        if ((rc = mdb_put(txn, self->meta, &k, &v, 0)) != 0)
            return s_fail(err, self->dir, "write format", rc);
    } else if (rc != 0) {
        return s_fail(err, self->dir, "open meta", rc);
    } else {
        rc = mdb_get(txn, self->meta, &k, &v);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return s_fail(err, self->dir, "read format", rc);
        int len = rc == 0 ? (int)(v.mv_size < 16 ? v.mv_size : 16) : 0;
        const char *got = rc == 0 ? v.mv_data : "";
        if (len != (int)strlen(want) || memcmp(got, want, (size_t)len) != 0) {
            fw_err_set(err,
                       "storage directory %s holds ruled state format \"%.*s\"; this ruled "
                       "reads format %d: run the ruled release that wrote it, or move the "
                       "directory away to start empty",
                       self->dir, len, got, RULED_STATE_FORMAT);
            return -1;
        }
    }
    if ((rc = mdb_dbi_open(txn, "alerts", MDB_CREATE, &self->alerts)) != 0 ||
        (rc = mdb_dbi_open(txn, "groups", MDB_CREATE, &self->groups)) != 0)
        return s_fail(err, self->dir, "open databases", rc);
    return 0;
}

int
ruled_state_open(ruled_state_t *self, const char *dir, fw_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    free(self->dir);
    self->dir = fw_strdup(dir);
    if (fw_lmdb_env_open(&self->env, dir, 4, S_MAPSIZE, MDB_NOTLS | MDB_NOSYNC, NULL, "ruled state",
                         "--storage.path", "ruled", err) != 0)
        return -1;
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
        goto fail_rc;
    if (s_setup(self, txn, err) != 0) {
        mdb_txn_abort(txn);
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        goto fail_rc;
    return 0;
fail_rc:
    s_fail(err, dir, "open", rc);
fail:
    mdb_env_close(self->env);
    self->env = NULL;
    return -1;
}

// "group\0key" into buf (a new allocation); its length through *len.
static char *
s_key(const char *group, const char *key, size_t *len)
{
    size_t g = strlen(group), k = strlen(key);
    char *buf = fw_malloc(g + 1 + k);
    memcpy(buf, group, g + 1);
    memcpy(buf + g + 1, key, k);
    *len = g + 1 + k;
    return buf;
}

static bool
s_in_group(const MDB_val *k, const char *group, size_t glen)
{
    return k->mv_size > glen && memcmp(k->mv_data, group, glen) == 0 &&
           ((const char *)k->mv_data)[glen] == '\0';
}

int
ruled_state_save(ruled_state_t *self, const char *group, int64_t t_ms,
                 const struct ruled_state_rec *recs, size_t n, fw_err_t *err)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return s_fail(err, self->dir, "write txn", rc);
    size_t glen = strlen(group);
    if ((rc = mdb_cursor_open(txn, self->alerts, &cur)) != 0)
        goto fail;
    MDB_val k, v;
    // Seek the group's first record again after each delete: simple, and groups are small.
    for (;;) {
        k = (MDB_val){glen + 1, (void *)group};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc != 0 || !s_in_group(&k, group, glen) || (rc = mdb_cursor_del(cur, 0)) != 0)
            break;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        char *key = s_key(group, recs[i].key, &len);
        k = (MDB_val){len, key};
        v = (MDB_val){strlen(recs[i].val), recs[i].val};
        rc = mdb_put(txn, self->alerts, &k, &v, 0);
        free(key);
        if (rc != 0)
            goto fail;
    }
    char at[24];
    snprintf(at, sizeof at, "%" PRId64, t_ms);
    k = (MDB_val){glen, (void *)group};
    v = (MDB_val){strlen(at), at};
    if ((rc = mdb_put(txn, self->groups, &k, &v, 0)) != 0)
        goto fail;
    if ((rc = mdb_txn_commit(txn)) != 0)
        return s_fail(err, self->dir, "commit", rc);
    return 0;
fail:
    mdb_txn_abort(txn);
    return s_fail(err, self->dir, "save", rc);
}

static char *
s_dup(const MDB_val *v, size_t skip)
{
    size_t n = v->mv_size - skip;
    char *s = fw_malloc(n + 1);
    memcpy(s, (const char *)v->mv_data + skip, n);
    s[n] = '\0';
    return s;
}

ssize_t
ruled_state_load(ruled_state_t *self, const char *group, int64_t *saved_at_ms,
                 struct ruled_state_rec **recs_p, fw_err_t *err)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    *recs_p = NULL;
    *saved_at_ms = 0;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (rc != 0)
        return s_fail(err, self->dir, "read txn", rc);
    size_t glen = strlen(group), n = 0, cap = 0;
    struct ruled_state_rec *recs = NULL;
    MDB_val k = {glen, (void *)group}, v;
    if ((rc = mdb_get(txn, self->groups, &k, &v)) == 0) {
        char *at = s_dup(&v, 0);
        *saved_at_ms = strtoll(at, NULL, 10);
        free(at);
    }
    if ((rc == 0 || rc == MDB_NOTFOUND) && (rc = mdb_cursor_open(txn, self->alerts, &cur)) == 0) {
        k = (MDB_val){glen + 1, (void *)group};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        while (rc == 0 && s_in_group(&k, group, glen)) {
            fw_mem_grow((void **)&recs, &cap, n + 1, sizeof(*recs));
            recs[n].key = s_dup(&k, glen + 1);
            recs[n++].val = s_dup(&v, 0);
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        ruled_state_recs_free(recs, n);
        return s_fail(err, self->dir, "load", rc);
    }
    *recs_p = recs;
    return (ssize_t)n;
}

void
ruled_state_recs_free(struct ruled_state_rec *recs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(recs[i].key);
        free(recs[i].val);
    }
    free(recs);
}
