/*  ruled_pool.h — rule groups evaluated concurrently by a bounded pool of worker threads.

    The daemon's zloop thread owns every group. When a group is due it hands the pool a job
    (the group and the evaluation time); one of --rules.group-workers threads evaluates it
    with ruled_group_eval() through its own query client (a DEALER to tsdb: ZeroMQ sockets
    are not shared between threads), so a group whose queries are slow holds one worker and
    the others go on. The finished job, with its result, goes back on a done queue, and a
    byte on a pipe wakes the zloop (ruled_pool_fd()), which takes the jobs back and does
    everything that touches shared state: sending samples and alerts, the LMDB alert state,
    metrics and the HTTP snapshots.

    A group is in at most one job at a time (the daemon skips a due evaluation while the
    previous one runs, as Prometheus counts a missed iteration), and while a job is out the
    zloop thread leaves its group alone. The pool never blocks the caller except in
    ruled_pool_wait_idle(), which reload and shutdown use so that no worker still holds a
    group they are about to replace or free.
*/
#ifndef RULED_POOL_H
#define RULED_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_metrics.h"
#include "ruled_group.h"

typedef struct ruled_pool ruled_pool_t;

struct ruled_pool_job {
    ruled_group_t *group; // borrowed: the caller keeps it alive and untouched until taken back
    int64_t t_ms;         // evaluation time
    void *arg;            // the caller's
    struct ruled_group_result res; // filled by the worker; the caller clears it
    double wall_s;                 // seconds the evaluation took on the worker
    struct ruled_pool_job *next;   // the pool's
};

// A pool of n workers (1..RULED_POOL_MAX) querying tsdb at query_address (copied) with
// answers of up to max_msg_size bytes per part, each query bounded by timeout_ms; metrics
// (borrowed, may be NULL; thread-safe) counts dropped answers. NULL with err when the
// threads or the wake-up pipe cannot be made.
#define RULED_POOL_MAX 256
ruled_pool_t *ruled_pool_new(size_t n, const char *query_address, int64_t max_msg_size,
                             int timeout_ms, fw_metrics_t *metrics, fw_err_t *err);

// The same with every query answered by fn(arg) (thread-safe) instead of tsdb: for tests.
ruled_pool_t *ruled_pool_new_fn(size_t n, ruled_query_fn fn, void *arg, fw_err_t *err);

// Waits for the jobs being evaluated, drops the queued and finished ones (their results
// cleared; the jobs themselves are the caller's to free: it keeps a list), stops the
// threads. NULL-safe; sets *self_p to NULL.
void ruled_pool_destroy(ruled_pool_t **self_p);

// Queue job (borrowed until ruled_pool_take() gives it back). Never blocks.
void ruled_pool_submit(ruled_pool_t *self, struct ruled_pool_job *job);

// A descriptor that is readable while finished jobs wait to be taken (for zloop_poller).
int ruled_pool_fd(const ruled_pool_t *self);

// The next finished job, or NULL; empties the wake-up pipe first.
struct ruled_pool_job *ruled_pool_take(ruled_pool_t *self);

// Block until no job is queued or being evaluated (finished ones may wait to be taken).
void ruled_pool_wait_idle(ruled_pool_t *self);

// Syncs (ruled_group_eval_sync; pools of ruled_pool_new only): a worker evaluating a rule
// that reads an earlier rule's output queues the group's samples so far and waits, at most
// the query timeout, until tsdb acknowledges them; the wake-up pipe tells the loop. The
// loop takes each batch (in order, before the jobs that come back after it), sends it and
// reports the sender seq it got (0: the batch was dropped; nothing to wait for), and passes
// on every acknowledgement. While ruled_pool_wait_idle() runs, workers do not wait (the
// loop is not there to send): their batches are still queued, for the loop to send after.
struct fw_batch *ruled_pool_take_sync(ruled_pool_t *self, uint64_t *ticket);
void ruled_pool_sync_sent(ruled_pool_t *self, uint64_t ticket, uint64_t seq);
void ruled_pool_acked(ruled_pool_t *self, uint64_t acked);

// Jobs submitted and not yet taken back.
size_t ruled_pool_outstanding(const ruled_pool_t *self);

#endif
