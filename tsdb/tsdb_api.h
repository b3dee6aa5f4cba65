/*  tsdb_api.h — tsdb's Prometheus-compatible HTTP API and the JSON it answers with.

    tsdb_api_query_json() is the one producer of query answers: the HTTP routes
    (/api/v1/query, /api/v1/query_range) and the ZeroMQ QUERY handler both call it, so both
    give byte-for-byte the JSON Prometheus gives: {"status":"success","data":{"resultType":
    ...,"result":...}} or {"status":"error","errorType":"bad_data","error":"..."}. Values
    are formatted like Prometheus's jsonutil.MarshalValue (Go's FormatFloat), timestamps as seconds
   with millisecond precision. The routes only read (short LMDB read transactions), so they run on
   the HTTP thread; the state they share with the zloop thread (the config text) is behind a mutex.
*/
#ifndef TSDB_API_H
#define TSDB_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_http.h"
#include "fw_metrics.h"
#include "tsdb_api_format.h"
#include "tsdb_eval.h"
#include "tsdb_store.h"

#define TSDB_API_MAX_POINTS 11000
#define TSDB_API_DEFAULT_TIMEOUT_MS (2 * 60 * 1000)
#define TSDB_API_DEFAULT_MAX_SAMPLES 50000000
#define TSDB_API_DEFAULT_MAX_CONCURRENCY 20

// The limits every query is held to, HTTP and ZeroMQ alike (Prometheus's --query.* flags);
// 0 in a field means its default.
struct tsdb_api_limits {
    int64_t timeout_ms;  // --query.timeout: a query's time at most, waiting at the gate
                         // included ("query timed out in query queue" / "... in expression
                         // evaluation", 503 timeout); a shorter timeout parameter wins
    int64_t max_samples; // --query.max-samples: samples held in memory at once (422
                         // execution, "query processing would load too many samples ...");
                         // 0 fails every query that holds a sample, as Prometheus's 0 does
    int max_concurrency; // --query.max-concurrency: queries evaluated at once; more wait
    bool no_rollups;     // --query.rollups=false: never answer from rollups (tsdb_rollup.h)
};

typedef struct tsdb_api tsdb_api_t;

struct tsdb_api_query {
    const char *query; // borrowed
    size_t query_len;  // bytes in query when more than strlen(query): a NUL byte inside (a
                       // decoded %00) is refused as Prometheus's lexer does; 0 otherwise
    bool range;        // query_range (start/end/step) rather than instant (time)
    int64_t time_ms;
    int64_t start_ms, end_ms, step_ms;
    int64_t timeout_ms;        // 0: --query.timeout; < 0: already passed
    size_t limit;              // > 0: answer the first `limit` series, and warn when cut
    const char *stats;         // borrowed, may be NULL: the stats parameter; non-empty adds
                               // data.stats (timings and samples) as Prometheus 3 does
    const atomic_bool *cancel; // borrowed, may be NULL: another thread sets it to stop the
                               // evaluation (answered as a timeout)
    const char *client_ip, *method, *path; // borrowed, NULL but for HTTP: for the query log
    bool no_rollups; // the rollups=false parameter (a floorwatch extension): raw samples only
};

// An API over store and metrics (both borrowed; must outlive the API).
tsdb_api_t *tsdb_api_new(tsdb_store_t *store, fw_metrics_t *metrics);
void tsdb_api_destroy(tsdb_api_t **self_p);

// Set the query limits (before the first query; NULL: the defaults).
void tsdb_api_set_limits(tsdb_api_t *self, const struct tsdb_api_limits *limits);

// Take the PromQL options of --enable-feature (each item a comma-separated list, as
// Prometheus's flag): promql-delayed-name-removal turns Prometheus 3's delayed removal of
// __name__ on (tsdb_eval_limit); promql-experimental-functions, promql-duration-expr,
// promql-extended-range-selectors and promql-binop-fill-modifiers are always on and
// accepted as no-ops. Any other option is refused: -1 with err naming it ("not
// supported"), else 0. Before the first query.
struct fw_flag_list;
int tsdb_api_set_features(tsdb_api_t *self, const struct fw_flag_list *features, fw_err_t *err);

// Log every query evaluated to path from now on (global.query_log_file; NULL or "": none),
// reopening it when it is the same file (a reload). 0, or -1 with err (Prometheus's "can't
// create json log file: ..."; the log before stays). Thread-safe.
int tsdb_api_set_query_log(tsdb_api_t *self, const char *path, fw_err_t *err);

// Add the /api/v1/... routes to http (before fw_http_start).
void tsdb_api_routes(tsdb_api_t *self, fw_http_t *http);

// The YAML shown by /api/v1/status/config (copied). Thread-safe.
void tsdb_api_set_config_text(tsdb_api_t *self, const char *yaml);

// /-/reload failed: status/runtimeinfo's reloadConfigSuccess turns false until the next
// tsdb_api_set_config_text. Thread-safe.
void tsdb_api_set_reload_failed(tsdb_api_t *self);

// What status/flags and status/runtimeinfo show: the flags as a JSON object of strings
// (fw_flags_json) and the retention ("15d", "" for none); both copied. Thread-safe.
void tsdb_api_set_info(tsdb_api_t *self, const char *flags_json, const char *retention);

// Run q within the limits and return the complete Prometheus JSON answer (caller frees);
// *http_status gets 200, 400 (bad_data), 422 (execution), 503 (timeout) or 500 (internal).
// `api` names the caller for fw_tsdb_queries_total{api=...} ("query", "query_range", "zmq").
char *tsdb_api_query_json(tsdb_api_t *self, const struct tsdb_api_query *q, const char *api,
                          int *http_status);

// {"status":"error","errorType":type,"error":msg}; caller frees.
char *tsdb_api_error_json(const char *type, const char *msg);

// The JSON "data" member of a successful query answer for r; caller frees.
char *tsdb_api_result_json(const struct tsdb_eval_result *r);

#endif
