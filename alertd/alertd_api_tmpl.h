/*  alertd_api_tmpl.h — POST /api/v2/template/render: the running config's notification
    templates rendered with sample alerts (a floorwatch extension; alertd_tmpl.h).
*/
#ifndef ALERTD_API_TMPL_H
#define ALERTD_API_TMPL_H

#include "alertd.h"
#include "fw_http.h"

// Register the route on http, served with self.
void alertd_api_tmpl_routes(fw_http_t *http, alertd_t *self);

#endif
