/*  notifyd_am_metrics.h — Alertmanager's notification metrics, beside floorwatch's own
    fw_notifyd_* families, with Alertmanager's names and labels (notify/notify.go):

    alertmanager_notifications_total{integration}          notifications attempted
    alertmanager_notifications_failed_total{integration,reason}
                                                           failed for good; reason as
                                                           Alertmanager's: clientError,
                                                           serverError, contextCanceled,
                                                           contextDeadlineExceeded, other
    alertmanager_notification_requests_total{integration}  requests (one per attempt)
    alertmanager_notification_requests_failed_total{integration}
    alertmanager_notification_latency_seconds{integration}  histogram of each request's
                                                           time, buckets 1, 5, 10, 15, 20

    The failure reasons are those of Alertmanager since 0.27 (label reason); the Debian
    0.25 names the label code with 4xx/5xx/other.

    Every integration's series exist from the start at 0, as Alertmanager initializes them.
*/
#ifndef NOTIFYD_AM_METRICS_H
#define NOTIFYD_AM_METRICS_H

#include <stdbool.h>

#include "fw_metrics.h"

void notifyd_am_declare(fw_metrics_t *metrics);
// A notification finished (delivered, or failed for good with floorwatch's reason).
void notifyd_am_notification(fw_metrics_t *metrics, const char *integration, bool ok,
                             const char *reason);
// One request (attempt) finished after seconds.
void notifyd_am_request(fw_metrics_t *metrics, const char *integration, bool ok, double seconds);

#endif
