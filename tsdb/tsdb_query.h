/*  tsdb_query.h — QUERY over ZeroMQ, answered by worker threads off the ingest loop.

    ruled and slod ask tsdb on its ROUTER. The loop thread that ingests samples also owns
    that socket (a ZeroMQ socket belongs to one thread), but it never evaluates: it reads a
    QUERY, hands it to an idle worker, or queues it when every worker is busy, and sends
    the workers' answers. A queue already holding --zmq.query-queue queries refuses the next
    one at once (errorType "unavailable"). Each query has --zmq.query-timeout from its
    arrival, or the QUERY's own timeout_ms when shorter (the asker's wait: no work for an
    asker that gave up; not a positive number: "bad_data"): one that waits that long in the
    queue is answered "query timed out in query queue" (errorType "timeout", Prometheus's
    text), one that runs out while evaluating gets the evaluator's timeout answer. Every
    QUERY gets exactly one QUERY_RESULT; none is ever dropped silently (a shutdown answers
    the queued ones "unavailable").

    Workers (--zmq.query-workers threads) follow the actor contract (czmq zactor: a PAIR
    pipe, a ready signal, $TERM), on threads of their own with an 8 MiB stack as fw_http's
    (the evaluator recurses up to FW_PROMQL_MAX_DEPTH). Each takes its own short read
    transaction through tsdb_api_query_json, the HTTP API's producer, so answers are byte
    for byte the API's, and encodes the QUERY_RESULT itself. A shutdown cancels running
    evaluations (tsdb_eval_limit.cancel) so it never waits for a slow query.
*/
#ifndef TSDB_QUERY_H
#define TSDB_QUERY_H

#include <czmq.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_metrics.h"
#include "tsdb_api.h"

#define TSDB_QUERY_THREAD_STACK (8u * 1024u * 1024u)
#define TSDB_QUERY_DEFAULT_WORKERS 4
#define TSDB_QUERY_DEFAULT_QUEUE 64
#define TSDB_QUERY_DEFAULT_TIMEOUT_MS 30000
#define TSDB_QUERY_MAX_WORKERS 256
#define TSDB_QUERY_MAX_QUEUE 100000

// 0 in any field means its default.
struct tsdb_query_opts {
    int workers;          // queries evaluated at once, 1..TSDB_QUERY_MAX_WORKERS
    int queue;            // queries waiting for a worker at most, 1..TSDB_QUERY_MAX_QUEUE
    int64_t timeout_ms;   // a query's budget from its arrival
    int64_t max_msg_size; // the askers' frame limit (--zmq.max-msg-size; <= 0: none): a
                          // larger answer is replaced by an execution error saying so
};

typedef struct tsdb_query tsdb_query_t;

// A query service over api and metrics (borrowed, thread-safe; they must outlive it).
// Cannot fail; nothing runs before tsdb_query_start.
tsdb_query_t *tsdb_query_new(tsdb_api_t *api, fw_metrics_t *metrics,
                             const struct tsdb_query_opts *opts);

// Start the workers and serve router (borrowed, a bound ROUTER) from loop (borrowed): both
// are the calling thread's from now on, and must outlive the service. 0, or -1 with err
// (settings out of range, a worker thread could not start).
int tsdb_query_start(tsdb_query_t *self, zloop_t *loop, zsock_t *router, fw_err_t *err);

// Stop: cancel running evaluations, join the workers, send the answers they finished and
// answer the queued queries "unavailable". Call it when the loop no longer runs (after
// zloop_destroy), before the router, api, metrics or store go. NULL-safe; sets *self_p NULL.
void tsdb_query_destroy(tsdb_query_t **self_p);

// Queries being evaluated and waiting now (loop thread; for tests and metrics).
size_t tsdb_query_running(const tsdb_query_t *self);
size_t tsdb_query_queued(const tsdb_query_t *self);

// Declare the service's metrics on m (before the first use).
void tsdb_query_declare_metrics(fw_metrics_t *m);

#endif
