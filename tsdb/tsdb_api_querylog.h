/*  tsdb_api_querylog.h — the query log (prometheus.yml global.query_log_file).

    One JSON line per query evaluated (HTTP or ZeroMQ; not those refused before evaluation:
    unparsable, over the 11,000 points), shaped as Prometheus 3 writes its query log:
    {"time":"...","level":"INFO","msg":"promql query logged","params":{"end":"...",
    "query":"...","start":"...","step":N},["error":"...",]"stats":{"timings":{...},
    "samples":{"totalQueryableSamples":N,"peakSamples":N}}[,"httpRequest":{"clientIP":"...",
    "method":"...","path":"..."}]} (step in seconds; an instant query has start = end = its
    time and step 0; timings in seconds, to the microsecond). Each line is one write(2) on a
    file opened O_APPEND, so lines never interleave. Opening again (a reload or SIGHUP)
    reopens the file by name, so a rotated log is followed. Thread-safe.
*/
#ifndef TSDB_API_QUERYLOG_H
#define TSDB_API_QUERYLOG_H

#include <stdbool.h>
#include <stdint.h>

#include "fw_err.h"
#include "tsdb_eval.h"
#include "fw_json_out.h"

typedef struct tsdb_api_querylog tsdb_api_querylog_t;

struct tsdb_api_querylog_entry {
    const char *query; // borrowed
    bool range;
    int64_t start_ms, end_ms, step_ms; // an instant query: start = end = its time, step 0
    const char *error;                 // borrowed; NULL when it succeeded
    struct tsdb_eval_stats stats;
    int64_t queue_us, prepare_us, eval_us, total_us; // waiting at the gate, parsing, evaluating
    const char *client_ip, *method, *path;           // borrowed; NULL: not an HTTP query
};

// A log writing nowhere yet. Cannot fail.
tsdb_api_querylog_t *tsdb_api_querylog_new(void);
void tsdb_api_querylog_destroy(tsdb_api_querylog_t **self_p);

// Write to path from now on (appending, created 0666 as Prometheus creates it), closing the
// file written before; NULL or "": write nowhere. 0, or -1 with err (then the file written
// before stays).
int tsdb_api_querylog_open(tsdb_api_querylog_t *self, const char *path, fw_err_t *err);

// Whether a file is open (entries are worth building).
bool tsdb_api_querylog_enabled(tsdb_api_querylog_t *self);

// e's "stats" object, {"timings":{...},"samples":{...}} as above: the query log's, and the
// answer's with the stats parameter (Prometheus's stats.QueryStats).
void tsdb_api_querylog_put_stats(struct fw_json_out *b, const struct tsdb_api_querylog_entry *e);
// Append e as one line; a failed write is logged (tsdb.querylog.fail), never fatal.
void tsdb_api_querylog_write(tsdb_api_querylog_t *self, const struct tsdb_api_querylog_entry *e);

#endif
