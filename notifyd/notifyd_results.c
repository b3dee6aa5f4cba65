/*  notifyd_results.c — outcomes kept in a zlistx in the order they were made (so the
    oldest go first past NOTIFYD_RESULTS_MAX), indexed by id in a zhashx; with
    notifyd_results_open, also in LMDB: key the id, value "<made_at> <acked_at> <body JSON>",
    one commit per change.
*/
#include <czmq.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

#include "fw_lmdb.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "notifyd_results.h"

// The map: 100,000 outcomes of a few KiB fit many times over.
#define S_MAPSIZE ((size_t)1 << 30)

struct s_res {
    json_t *body;     // owned: the NOTIFY_RESULT body
    const char *id;   // borrowed from body
    int64_t made_at;  // when it was made, or asked for again
    int64_t next_at;  // its next re-publication (unacknowledged)
    int64_t backoff;  // the interval after next_at
    int64_t acked_at; // when alertd acknowledged it, 0: not yet
    void *handle;     // its place in the list
};

struct notifyd_results {
    zlistx_t *order; // owned: struct s_res *, oldest first
    zhashx_t *by_id; // id -> struct s_res * (borrowed from order)
    size_t unacked;
    MDB_env *env; // owned: NULL without notifyd_results_open
    MDB_dbi dbi;
};

// Write r (or, with gone, delete it) in its own commit. A failure is logged: the outcome
// stays in memory, as without a storage path.
static void
s_save(notifyd_results_t *self, const struct s_res *r, bool gone)
{
    if (!self->env)
        return;
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0) {
        fw_warn("results.save.fail", "id=%s err=%s", r->id, mdb_strerror(rc));
        return;
    }
    MDB_val k = {strlen(r->id), (void *)r->id};
    if (gone) {
        rc = mdb_del(txn, self->dbi, &k, NULL);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    } else {
        char *body = json_dumps(r->body, JSON_COMPACT);
        char *v = fw_asprintf("%" PRId64 " %" PRId64 " %s", r->made_at, r->acked_at, body);
        MDB_val val = {strlen(v), v};
        rc = mdb_put(txn, self->dbi, &k, &val, 0);
        free(v);
        free(body);
    }
    if (rc != 0) {
        mdb_txn_abort(txn);
    } else {
        rc = mdb_txn_commit(txn);
    }
    if (rc != 0)
        fw_warn("results.save.fail", "id=%s err=%s", r->id, mdb_strerror(rc));
}

static void
s_res_free(void **item)
{
    struct s_res *r = *item;
    if (r) {
        json_decref(r->body);
        free(r);
    }
    *item = NULL;
}

notifyd_results_t *
notifyd_results_new(void)
{
    notifyd_results_t *self = fw_calloc(1, sizeof *self);
    self->order = zlistx_new();
    zlistx_set_destructor(self->order, s_res_free);
    self->by_id = zhashx_new();
    return self;
}

void
notifyd_results_destroy(notifyd_results_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->by_id);
    zlistx_destroy(&(*self_p)->order);
    if ((*self_p)->env)
        mdb_env_close((*self_p)->env);
    free(*self_p);
    *self_p = NULL;
}

static void
s_forget(notifyd_results_t *self, struct s_res *r)
{
    s_save(self, r, true);
    if (!r->acked_at)
        self->unacked--;
    zhashx_delete(self->by_id, r->id);
    zlistx_delete(self->order, r->handle);
}

// Keep body (taken) as made at made_at, acknowledged at acked_at (0: not), next published
// NOTIFYD_RESULTS_RESEND_MS after now; written through unless loading.
static void
s_keep(notifyd_results_t *self, json_t *body, int64_t made_at, int64_t acked_at, int64_t now,
       bool loading)
{
    const char *id = json_string_value(json_object_get(body, "id"));
    if (!id) {
        json_decref(body);
        return;
    }
    struct s_res *old = zhashx_lookup(self->by_id, id);
    if (old)
        s_forget(self, old);
    struct s_res *r = fw_calloc(1, sizeof *r);
    r->body = body;
    r->id = id;
    r->made_at = made_at;
    r->acked_at = acked_at;
    r->next_at = now + NOTIFYD_RESULTS_RESEND_MS;
    r->backoff = NOTIFYD_RESULTS_RESEND_MS;
    r->handle = zlistx_add_end(self->order, r);
    zhashx_insert(self->by_id, id, r);
    self->unacked += acked_at ? 0 : 1;
    if (!loading)
        s_save(self, r, false);
    while (zlistx_size(self->order) > NOTIFYD_RESULTS_MAX)
        s_forget(self, zlistx_first(self->order));
}

void
notifyd_results_add(notifyd_results_t *self, json_t *body, int64_t now)
{
    s_keep(self, body, now, 0, now, false);
}

int
notifyd_results_open(notifyd_results_t *self, const char *dir, int64_t now, fw_err_t *err)
{
    if (fw_lmdb_env_open(&self->env, dir, 2, S_MAPSIZE, MDB_NOTLS | MDB_NOSYNC, NULL,
                         "notifyd results", "--storage.path", "notifyd", err) != 0)
        return -1;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc == 0 && (rc = mdb_dbi_open(txn, "results", MDB_CREATE, &self->dbi)) == 0)
        rc = mdb_cursor_open(txn, self->dbi, &cur);
    MDB_val k, v;
    size_t bad = 0;
    for (int op = MDB_FIRST; rc == 0 && (rc = mdb_cursor_get(cur, &k, &v, op)) == 0;
         op = MDB_NEXT) {
        char *text = fw_strndup(v.mv_data, v.mv_size);
        int64_t made_at = 0, acked_at = 0;
        int used = 0;
        json_t *body = NULL;
        if (sscanf(text, "%" SCNd64 " %" SCNd64 " %n", &made_at, &acked_at, &used) == 2 && used)
            body = json_loads(text + used, 0, NULL);
        free(text);
        if (json_is_string(json_object_get(body, "id")))
            s_keep(self, body, made_at, acked_at, now, true);
        else {
            json_decref(body);
            bad++;
        }
    }
    rc = rc == MDB_NOTFOUND ? 0 : rc;
    if (cur)
        mdb_cursor_close(cur);
    if (rc == 0) {
        rc = mdb_txn_commit(txn);
    } else if (txn) {
        mdb_txn_abort(txn);
    }
    if (rc != 0) {
        fw_err_set(err, "%s: notifyd results: %s", dir, mdb_strerror(rc));
        mdb_env_close(self->env);
        self->env = NULL;
        return -1;
    }
    if (bad)
        fw_warn("results.load.skip", "dir=%s records=%zu err=unreadable", dir, bad);
    return 0;
}

const json_t *
notifyd_results_get(notifyd_results_t *self, const char *id)
{
    struct s_res *r = zhashx_lookup(self->by_id, id);
    return r ? r->body : NULL;
}

int
notifyd_results_ack(notifyd_results_t *self, const char *id, int64_t now)
{
    struct s_res *r = zhashx_lookup(self->by_id, id);
    if (!r)
        return -1;
    if (!r->acked_at)
        self->unacked--;
    r->acked_at = now > 0 ? now : 1;
    s_save(self, r, false);
    return 0;
}

int
notifyd_results_unack(notifyd_results_t *self, const char *id, int64_t now)
{
    struct s_res *r = zhashx_lookup(self->by_id, id);
    if (!r)
        return -1;
    if (r->acked_at)
        self->unacked++;
    r->acked_at = 0;
    r->made_at = now;
    r->next_at = now + NOTIFYD_RESULTS_RESEND_MS;
    r->backoff = NOTIFYD_RESULTS_RESEND_MS;
    s_save(self, r, false);
    return 0;
}

size_t
notifyd_results_due(notifyd_results_t *self, int64_t now,
                    void (*send)(void *arg, const json_t *body), void *arg, size_t *expired)
{
    size_t sent = 0, gone = 0;
    struct s_res *r = zlistx_first(self->order);
    while (r) {
        struct s_res *next = zlistx_next(self->order);
        if (r->acked_at ? now - r->acked_at >= NOTIFYD_RESULTS_KEEP_ACKED_MS
                        : now - r->made_at >= NOTIFYD_RESULTS_KEEP_MS) {
            gone += r->acked_at ? 0 : 1;
            s_forget(self, r);
        } else if (!r->acked_at && r->next_at <= now && sent < NOTIFYD_RESULTS_BURST) {
            send(arg, r->body);
            sent++;
            r->backoff = r->backoff * 2 > NOTIFYD_RESULTS_RESEND_MAX_MS
                             ? NOTIFYD_RESULTS_RESEND_MAX_MS
                             : r->backoff * 2;
            r->next_at = now + r->backoff;
        }
        r = next;
    }
    if (expired)
        *expired = gone;
    return sent;
}

size_t
notifyd_results_size(notifyd_results_t *self)
{
    return zlistx_size(self->order);
}

size_t
notifyd_results_unacked(notifyd_results_t *self)
{
    return self->unacked;
}
