/*  tsdb_exemplars_api.h — exemplars in and out of tsdb: the EXEMPLARS message a scraper
    sends (docs/wire.md) into the ring, and GET/POST /api/v1/query_exemplars out of it, as
    Prometheus's web/api/v1 queryExemplars answers: start and end (RFC 3339 or float seconds,
    default the whole range; end before start is bad_data), query parsed as PromQL and every
    selector in it a matcher set (none: 204 No Content, as Prometheus), the series matching one
    set with their
    exemplars in [start, end].
*/
#ifndef TSDB_EXEMPLARS_API_H
#define TSDB_EXEMPLARS_API_H

#include <jansson.h>
#include <stddef.h>

#include "fw_err.h"
#include "fw_http.h"
#include "tsdb_exemplars.h"

// Every exemplar of an EXEMPLARS v1 body (borrowed) into x. Returns how many were added, or
// -1 with err when the body is malformed (nothing after the bad entry is added). *dropped
// gets the exemplars the ring refused (too long, out of order, disabled); duplicates are
// neither.
ssize_t tsdb_exemplars_ingest(tsdb_exemplars_t *x, const json_t *body, size_t *dropped,
                              fw_err_t *err);

// Add GET/POST /api/v1/query_exemplars over x (borrowed; must outlive http).
void tsdb_exemplars_routes(tsdb_exemplars_t *x, fw_http_t *http);

#endif
