/*  ruled_state.h — ruled's durable alert state: one LMDB environment under --storage.path.

    After every evaluation of a group ruled writes the group's alerts (pending, firing, and
    resolved ones still retained) in one small write transaction, replacing what the group
    held before, and at start it reads them back, so a restart neither resets a firing
    alert nor loses its resolved notification. The records are opaque text made and read by
    ruled_group (ruled_group_state_export/_import); this module only stores them, keyed by
    group key ("file;name") and a per-alert key.

    Databases: "alerts" (group key, NUL, alert key → record), "groups" (group key → the time
    of its last save, ms since the epoch, as decimal text: when ruled went down, for the
    outage tolerance) and "meta" ("format" → "1"). A directory holding other files, another
    format, another LMDB database, or a damaged or truncated data file is refused at open
    (fw_lmdb.h), with what to do.

    Durability: MDB_NOSYNC, so a commit is one write() and no fsync: nothing committed is
    lost when ruled is killed; a power loss may lose the last evaluations (alerts then
    restart as Prometheus would). Records of groups removed from the configuration stay
    until the group comes back (then the outage tolerance applies) or the directory is
    cleared.

    Threads: not thread-safe; ruled calls it from its zloop thread only, which is the thread
    that evaluates groups (and already waits for tsdb's answers).
*/
#ifndef RULED_STATE_H
#define RULED_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"

#define RULED_STATE_FORMAT 1

typedef struct ruled_state ruled_state_t;

// One stored alert: key (unique within its group) and value, both NUL-terminated, owned.
struct ruled_state_rec {
    char *key;
    char *val;
};

ruled_state_t *ruled_state_new(void);
// Open dir (made when missing, with an empty environment). 0, or -1 with err.
int ruled_state_open(ruled_state_t *self, const char *dir, fw_err_t *err);
void ruled_state_destroy(ruled_state_t **self_p);

// Replace the records of group by recs[0..n) and record t_ms as its last save, in one
// write transaction. 0, or -1 with err (nothing changed).
int ruled_state_save(ruled_state_t *self, const char *group, int64_t t_ms,
                     const struct ruled_state_rec *recs, size_t n, fw_err_t *err);

// The records of group into *recs_p (a new array; free with ruled_state_recs_free) and its
// last save time into *saved_at_ms (0 when the group was never saved). The count, or -1
// with err.
ssize_t ruled_state_load(ruled_state_t *self, const char *group, int64_t *saved_at_ms,
                         struct ruled_state_rec **recs_p, fw_err_t *err);

void ruled_state_recs_free(struct ruled_state_rec *recs, size_t n);

#endif
