/*  tsdb_api_int.h — what tsdb_api's route files share (private to tsdb_api*.c).

    tsdb_api.c holds the query routes and the JSON writers; tsdb_api_labels.c the label and
    series routes; tsdb_api_status.c the status routes and format_query. They answer with
    the same JSON spelling and the same parameter errors as Prometheus's web/api/v1/api.go,
    so these helpers are written once, here.
*/
#ifndef TSDB_API_INT_H
#define TSDB_API_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_http.h"
#include "fw_labels.h"
#include "fw_metrics.h"
#include "tsdb_api.h"
#include "tsdb_api_querylog.h"
#include "tsdb_gate.h"
#include "fw_json_out.h"
#include "tsdb_store.h"

// Prometheus's MinTime and MaxTime (the defaults of optional start and end), in ms.
#define TSDB_API_MIN_TIME_MS ((int64_t)(-9223372036854775807LL / 1000 + 62135596801LL) * 1000)
#define TSDB_API_MAX_TIME_MS ((int64_t)(9223372036854775807LL / 1000 - 62135596801LL) * 1000 + 999)

struct tsdb_api {
    tsdb_store_t *store;    // borrowed
    fw_metrics_t *metrics;  // borrowed
    int64_t start_ms;       // when the API was made (runtimeinfo's startTime)
    pthread_mutex_t lock;   // guards the members below
    char *config_text;      // owned
    char *flags_json;       // owned: the data of /api/v1/status/flags, a JSON object
    char *retention;        // owned: runtimeinfo's storageRetention ("15d", "")
    int64_t last_reload_ms; // the last config loaded (runtimeinfo's lastConfigTime)
    bool reload_ok;         // the last reload succeeded

    // the query limits (tsdb_api_set_limits, before the first query, then read-only)
    struct tsdb_api_limits limits;
    bool delay_names;          // --enable-feature=promql-delayed-name-removal
    tsdb_gate_t *gate;         // owned: --query.max-concurrency
    tsdb_api_querylog_t *qlog; // owned: global.query_log_file
};

// A JSON string as Go's encoding/json writes it (HTML-safe).
void tsdb_api_put_str(struct fw_json_out *b, const char *s);
// {"name":"value",...} in l's order.
void tsdb_api_put_labels(struct fw_json_out *b, const struct fw_labels *l);
// ["a","b"].
void tsdb_api_put_str_array(struct fw_json_out *b, char **v, size_t n);

// "L:C: parse error: msg" for err (a parse error at err->col of text), line and column
// counted in text as Prometheus's parser does; caller frees.
char *tsdb_api_parse_error(const char *text, const fw_err_t *err);

// resp answers status with body (taken: fw_http frees it), as application/json.
void tsdb_api_respond(struct fw_http_response *resp, int status, char *body);
// 400 bad_data with the formatted message; returns 0 (a handler's return value).
int tsdb_api_bad(struct fw_http_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
// 500 internal with err's message (logged); returns 0.
int tsdb_api_internal(struct fw_http_response *resp, const fw_err_t *err);
// {"status":"success","data":DATA[,"warnings":[...]]} of data (borrowed) and the n
// warnings; caller frees.
char *tsdb_api_success(const char *data, const char *const *warnings, size_t n);

// An optional time parameter (Prometheus's parseTimeParam): def when absent or empty, and
// *given says whether it was there (may be NULL). 0, or -1 after answering 400.
int tsdb_api_time_param(const fw_http_request_t *req, struct fw_http_response *resp,
                        const char *name, int64_t def, int64_t *out, bool *given);
// The `limit` parameter of the query, label and series routes (Prometheus 3's
// parseLimitParam): 0 when absent (no limit). 0, or -1 after answering 400.
int tsdb_api_limit_param(const fw_http_request_t *req, struct fw_http_response *resp, size_t *out);

// A request's selection (tsdb_api_labels.c): its match[] selectors and time range.
#define TSDB_API_MAX_MATCH 64 // match[] selectors of one request
struct tsdb_api_sel {
    fw_promql_expr_t *sets[TSDB_API_MAX_MATCH]; // owned: parsed selectors
    size_t n_sets;
    bool ranged; // start or end given: keep only series with a sample in [mint, maxt]
    int64_t mint, maxt;
};
// Parse limit (limit may be NULL: none taken), start, end and match[] in Prometheus's order.
// prefix is put before a match[] error ("" or `invalid parameter "match[]": `). 0, or -1
// after answering 400.
int tsdb_api_sel_parse(const fw_http_request_t *req, struct fw_http_response *resp,
                       const char *prefix, struct tsdb_api_sel *sel, size_t *limit);
void tsdb_api_sel_clear(struct tsdb_api_sel *sel);

// Add the label, label values and series routes (tsdb_api_labels.c).
void tsdb_api_labels_routes(tsdb_api_t *self, fw_http_t *http);
// Add the /api/v1/status/... routes and format_query (tsdb_api_status.c).
void tsdb_api_status_routes(tsdb_api_t *self, fw_http_t *http);

#endif
