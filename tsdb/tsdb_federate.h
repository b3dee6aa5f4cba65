/*  tsdb_federate.h — GET /federate, as Prometheus's web/federate.go answers it.

    For the series matching any of the match[] selectors, the latest sample within the
    lookback (TSDB_FEDERATE_LOOKBACK_MS before now, now included) is written in the text
    exposition format 0.0.4: one `# TYPE name untyped` per run of a metric name, series
    sorted by name (then by labels), `name{labels} value timestamp_ms`. A series whose
    latest sample is a stale marker is left out; so is a nameless one. The labels are the
    series' own (sorted, __name__ aside), then global.external_labels not already on the
    series, in name order; `instance` is always among them (empty when not an external
    label), so a series without one says instance="" as Prometheus's does. No match[] answers
    200 with an empty body; a selector that does not parse is 400 with "L:C: parse error:
    ...\n" as text/plain. The format is negotiated from the Accept header as Prometheus's
    expfmt.Negotiate does (never OpenMetrics): delimited protobuf when asked, else text
    0.0.4 (protobuf's text and compact-text encodings are answered with text 0.0.4).
    The HTTP thread selects through one short store read transaction, as the query routes
    do: ingest never waits for it. The external labels are shared with the zloop thread
    (reload) behind a mutex.
*/
#ifndef TSDB_FEDERATE_H
#define TSDB_FEDERATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_http.h"
#include "fw_labels.h"
#include "fw_names.h"
#include "fw_promql.h"
#include "tsdb_store.h"

#define TSDB_FEDERATE_LOOKBACK_MS (5 * 60 * 1000) // Prometheus's --query.lookback-delta
#define TSDB_FEDERATE_MAX_MATCH 64                // match[] selectors of one request
// The answer's Content-Type is one of these followed by "; escaping=" and the name escaping
// used (Prometheus 3's expfmt.Negotiate: the Accept header's escaping=, else underscores).
#define TSDB_FEDERATE_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TSDB_FEDERATE_PROTO_TYPE                                                                   \
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "                   \
    "encoding=delimited"

typedef struct tsdb_federate tsdb_federate_t;

// A federation endpoint over store (borrowed; must outlive it). Cannot fail.
tsdb_federate_t *tsdb_federate_new(tsdb_store_t *store);
void tsdb_federate_destroy(tsdb_federate_t **self_p);

// Use l (copied; NULL: none) as global.external_labels from now on. Thread-safe.
void tsdb_federate_set_external_labels(tsdb_federate_t *self, const struct fw_labels *l);

// The /federate body for the n selectors sets (borrowed, each a FW_PQ_SELECTOR) at now_ms
// into *out (caller frees; "" when nothing matched) and its length into *len: text 0.0.4,
// or with proto the varint-delimited io.prometheus.client.MetricFamily messages Prometheus
// writes (one per run of a name, type UNTYPED, each Metric's labels, untyped value and
// timestamp_ms). 0, or -1 with err (storage error).
int tsdb_federate_body(tsdb_federate_t *self, fw_promql_expr_t *const *sets, size_t n,
                       int64_t now_ms, bool proto, char **out, size_t *len, fw_err_t *err);
// The same with names escaped as esc says (the Accept header's escaping=, Prometheus 3):
// FW_NAMES_ESC_NONE writes UTF-8 names quoted ({"my.metric","a.b"="c"}); tsdb_federate_body
// is FW_NAMES_ESC_UNDERSCORES, Prometheus 3's default.
int tsdb_federate_body_esc(tsdb_federate_t *self, fw_promql_expr_t *const *sets, size_t n,
                           int64_t now_ms, bool proto, fw_names_escaping_t esc, char **out,
                           size_t *len, fw_err_t *err);

// Add GET /federate to http (before fw_http_start).
void tsdb_federate_routes(tsdb_federate_t *self, fw_http_t *http);

#endif
