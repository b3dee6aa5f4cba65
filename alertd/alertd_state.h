/*  alertd_state.h — alertd's durable state: one LMDB environment under --storage.path.

    Three databases hold what must survive a restart: "alerts" (the alerts received, by
    fingerprint), "silences" and "nflog" (the notification log: what each group last told
    each receiver). Every record carries the time it may be dropped (expires_at, ms since the
    epoch), so alertd_state_gc() can expire any database without decoding its values; the
    values themselves are the owning module's text (alertd_store, alertd_silence,
    alertd_nflog). "meta" holds the format ("1"); an environment holding another format, a
    damaged or truncated data file, another LMDB database or a directory with other files is
    refused at open with what to do, as tsdb's store does.

    Durability: the environment is opened MDB_NOSYNC, so a commit is one write() and no
    fsync: nothing committed is lost when alertd is killed (the kernel holds the pages).
    alertd_state_commit(self, true, ...) adds an fsync (mdb_env_sync), used for silences
    before the API answers; alertd_state_sync_later() has the syncer thread fsync off the
    caller's loop, used for the notification log right after a notification went out or
    notifyd reported its outcome, and for the alerts once a second. A power loss may thus
    lose up to a second of received alerts (ruled and Prometheus send them again), the log
    entries of the last moments (a notification then sent again), and outcomes not yet
    acknowledged (alertd acknowledges one once its generation is durable, see below, so
    notifyd publishes a lost one again).

    Writes are batched: alertd_state_begin() opens one write transaction, _put/_del add to
    it, _commit ends it (a POST of many alerts is one commit). Not thread-safe (but for
    sync_later, synced, sync_failures and the durable calls): alertd calls it under its lock, and
   one batch is begun and committed by the same thread. A NULL self (no --storage.path) makes every
   call a no-op that succeeds.

    A full disk fails a write, never alertd, and loses no batch whole (a commit the disk
    cannot hold would fail with all its records). Every put and delete is charged an
    upper bound of the pages it can make LMDB allocate, and goes ahead only when the disk
    blocks of all the transaction's charges are reserved (posix_fallocate, 32-48 MiB ahead;
    more for one value larger than that). A batch whose charges pass the reservation is
    committed in parts, each a transaction that fits (every record stands alone: an alert,
    the silence table, a log entry). When the disk cannot give the blocks, the operation is
    not made, the rest of the batch is dropped and _commit returns -1 with "cannot reserve
    disk for a write in DIR: No space left on device" (saying how many parts were committed
    before); what fits in the reservation still left is written by the next batches.
*/
#ifndef ALERTD_STATE_H
#define ALERTD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"

#define ALERTD_STATE_FORMAT 1

enum alertd_state_db {
    ALERTD_STATE_ALERTS,
    ALERTD_STATE_SILENCES,
    ALERTD_STATE_NFLOG,
    ALERTD_STATE_DBS
};

typedef struct alertd_state alertd_state_t;

alertd_state_t *alertd_state_new(void);
// Open (creating the directory and an empty environment when needed). 0, or -1 with err.
int alertd_state_open(alertd_state_t *self, const char *dir, fw_err_t *err);
void alertd_state_destroy(alertd_state_t **self_p);
const char *alertd_state_dir(const alertd_state_t *self);

// A write batch. begin is idempotent while a batch is open. put/del errors are kept and
// returned by commit (the rest of the batch is then dropped; see above for the parts of a
// large batch). 0, or -1 with err (the batch stays open: its commit returns the error).
int alertd_state_begin(alertd_state_t *self, fw_err_t *err);
void alertd_state_put(alertd_state_t *self, enum alertd_state_db db, const char *key,
                      int64_t expires_at, const void *val, size_t len);
void alertd_state_del(alertd_state_t *self, enum alertd_state_db db, const char *key);
// Commit the batch; with sync, also fsync the environment before returning.
int alertd_state_commit(alertd_state_t *self, bool sync, fw_err_t *err);
// Write transactions committed (a batch's parts counted apart), and those that took more new
// pages than they were charged (never, unless the bounds are wrong; each is also logged as
// event=storage.overrun). For the tests.
uint64_t alertd_state_txns(const alertd_state_t *self);
uint64_t alertd_state_overruns(const alertd_state_t *self);
// fsync what was committed without sync. 0, or -1 with err.
int alertd_state_sync(alertd_state_t *self, fw_err_t *err);
// fsync what is committed soon, on the state's syncer thread, so the caller's loop does not
// wait for the disk; requests made while it syncs are served by one more fsync. destroy
// serves the requests made before it. alertd_state_synced: the fsyncs the syncer has done.
// alertd_state_sync_failures: how many of them failed since the last call (the last
// failure's reason into err).
// The syncer fsyncs ALERTD_STATE_SYNC_DELAY_MS after the first request of a round (destroy
// does not wait): requests made meanwhile share it. A request only arms the syncer's timerfd;
// the thread is not woken until the delay is over.
#define ALERTD_STATE_SYNC_DELAY_MS 5
//
// Generations say when a commit is on disk (alertd acknowledges notifyd's outcomes only then):
// sync_later returns the generation of its round (1, 2, ...; requests sharing a round share
// it), which the sync serving the round covers, with every commit made before the request.
// alertd_state_durable: the highest generation fsync'd successfully (by the syncer, or by
// alertd_state_sync and a commit with sync, which cover every generation requested before
// them); a failed fsync publishes nothing, and the next successful one covers its
// generations. durable_wake(gen) makes durable_fd (an eventfd opened with the state, owned by
// it; read it to reset it) readable once gen is durable, at once when it is already; it
// replaces the generation asked for before. A NULL self, or one not open: sync_later returns
// 0, durable UINT64_MAX (nothing to wait for), durable_fd -1, durable_wake does nothing.
uint64_t alertd_state_sync_later(alertd_state_t *self);
// The tests' delay before the syncer's fsync instead of ALERTD_STATE_SYNC_DELAY_MS (from the
// next round; ms > 0).
void alertd_state_set_sync_delay(alertd_state_t *self, long ms);
uint64_t alertd_state_durable(alertd_state_t *self);
int alertd_state_durable_fd(const alertd_state_t *self);
void alertd_state_durable_wake(alertd_state_t *self, uint64_t gen);
uint64_t alertd_state_synced(alertd_state_t *self);
size_t alertd_state_sync_failures(alertd_state_t *self, fw_err_t *err);

// Call fn for every record of db in key order (val borrowed for the call); a nonzero return
// stops. Returns how many records were visited, or -1 with err.
typedef int (*alertd_state_fn)(const char *key, size_t key_len, int64_t expires_at, const char *val,
                               size_t len, void *arg);
ssize_t alertd_state_load(alertd_state_t *self, enum alertd_state_db db, alertd_state_fn fn,
                          void *arg, fw_err_t *err);
// Delete the records of db that expire before `before`, in the open batch, or in one of its
// own (parts when large). Returns how many, or -1 with err.
ssize_t alertd_state_gc(alertd_state_t *self, enum alertd_state_db db, int64_t before,
                        fw_err_t *err);

#endif
