/*  alertd_api_notifications.h — GET /api/v2/notifications, the notification log queried by
    receiver, group, time range, result and status (a floorwatch extension).
*/
#ifndef ALERTD_API_NOTIFICATIONS_H
#define ALERTD_API_NOTIFICATIONS_H

#include "alertd.h"
#include "fw_http.h"

// Register the route on http, served with self.
void alertd_api_notifications_routes(fw_http_t *http, alertd_t *self);

#endif
