/*  alertd_api_silences.h — alertd's HTTP API v2 for silences: GET and POST /api/v2/silences,
    GET and DELETE /api/v2/silence/{id}.
*/
#ifndef ALERTD_API_SILENCES_H
#define ALERTD_API_SILENCES_H

#include "alertd.h"
#include "fw_http.h"

// Register the silence routes on http, served with self.
void alertd_api_silences_routes(fw_http_t *http, alertd_t *self);

#endif
