/*  alertd_api.h — alertd's HTTP API v2 (Alertmanager's, as amtool and Grafana use it).

    alertd_api_routes registers every /api/v2 handler on http; they run on the HTTP thread and
    take self->lock. The rest are the answers the handlers share (alertd_api_silences.c).
*/
#ifndef ALERTD_API_H
#define ALERTD_API_H

#include <jansson.h>

#include "alertd.h"
#include "alertd_matcher.h"
#include "fw_http.h"

// Register the API v2 routes on http, served with self.
void alertd_api_routes(fw_http_t *http, alertd_t *self);

// Answer j (stolen) as JSON with status.
void alertd_api_json_respond(struct fw_http_response *resp, int status, json_t *j);
// Answer msg as a bare JSON string, as Alertmanager's handlers answer errors.
void alertd_api_json_error(struct fw_http_response *resp, int status, const char *msg);
// Answer {"code", "message"} as go-swagger does before a handler runs.
void alertd_api_error(struct fw_http_response *resp, int status, int code, const char *msg);
// The request body as JSON (new reference), or NULL once answered 400 as go-swagger does.
json_t *alertd_api_body_json(const fw_http_request_t *req, const char *what,
                             struct fw_http_response *resp);
// The request's filter=... matchers (at most 32) added to m. 0, or -1 after a 400 answer
// naming the bad one (m is then cleared).
int alertd_api_filters_parse(const fw_http_request_t *req, struct fw_http_response *resp,
                             struct alertd_matchers *m);

#endif
