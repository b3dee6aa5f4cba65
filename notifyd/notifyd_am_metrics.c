/*  notifyd_am_metrics.c — Alertmanager's notification metric families over fw_metrics. */
#include <stdio.h>
#include <string.h>

#include "notifyd_am_metrics.h"

// Alertmanager's integration names (its receiver config keys without _configs) plus
// floorwatch's azuresms.
static const char *const s_integrations[] = {
    "email",    "msteams",    "msteamsv2", "opsgenie",   "pagerduty", "slack",
    "webhook",  "azuresms",   "discord",   "webex",      "wechat",    "victorops",
    "pushover", "rocketchat", "sns",       "mattermost", "telegram",
};

static const char *const s_reasons[] = {"clientError", "serverError", "contextCanceled",
                                        "contextDeadlineExceeded", "other"};

// Alertmanager's failure reason for floorwatch's (notifyd_deliver.h).
static const char *
s_am_reason(const char *reason)
{
    if (!reason)
        return "other";
    if (strcmp(reason, "http_4xx") == 0 || strcmp(reason, "http_429") == 0 ||
        strcmp(reason, "client_error") == 0)
        return "clientError";
    if (strcmp(reason, "http_5xx") == 0)
        return "serverError";
    if (strcmp(reason, "timeout") == 0)
        return "contextDeadlineExceeded";
    return "other";
}

void
notifyd_am_declare(fw_metrics_t *m)
{
    fw_metrics_declare(m, "alertmanager_notifications_total", FW_METRIC_COUNTER,
                       "The total number of attempted notifications.");
    fw_metrics_declare(m, "alertmanager_notifications_failed_total", FW_METRIC_COUNTER,
                       "The total number of failed notifications.");
    fw_metrics_declare(m, "alertmanager_notification_requests_total", FW_METRIC_COUNTER,
                       "The total number of attempted notification requests.");
    fw_metrics_declare(m, "alertmanager_notification_requests_failed_total", FW_METRIC_COUNTER,
                       "The total number of failed notification requests.");
    static const double buckets[] = {1, 5, 10, 15, 20}; // Alertmanager's
    fw_metrics_declare_histogram(m, "alertmanager_notification_latency_seconds",
                                 "The latency of notifications in seconds.", buckets,
                                 sizeof buckets / sizeof buckets[0]);
    char l[128];
    for (size_t i = 0; i < sizeof s_integrations / sizeof s_integrations[0]; i++) {
        snprintf(l, sizeof l, "integration=\"%s\"", s_integrations[i]);
        fw_metrics_add(m, "alertmanager_notifications_total", l, 0);
        fw_metrics_add(m, "alertmanager_notification_requests_total", l, 0);
        fw_metrics_add(m, "alertmanager_notification_requests_failed_total", l, 0);
        fw_metrics_add(m, "alertmanager_notification_latency_seconds", l, 0);
        for (size_t k = 0; k < sizeof s_reasons / sizeof s_reasons[0]; k++) {
            snprintf(l, sizeof l, "integration=\"%s\",reason=\"%s\"", s_integrations[i],
                     s_reasons[k]);
            fw_metrics_add(m, "alertmanager_notifications_failed_total", l, 0);
        }
    }
}

void
notifyd_am_notification(fw_metrics_t *m, const char *integration, bool ok, const char *reason)
{
    char l[160];
    snprintf(l, sizeof l, "integration=\"%s\"", integration);
    fw_metrics_add(m, "alertmanager_notifications_total", l, 1);
    if (!ok) {
        snprintf(l, sizeof l, "integration=\"%s\",reason=\"%s\"", integration, s_am_reason(reason));
        fw_metrics_add(m, "alertmanager_notifications_failed_total", l, 1);
    }
}

void
notifyd_am_request(fw_metrics_t *m, const char *integration, bool ok, double seconds)
{
    char l[160];
    snprintf(l, sizeof l, "integration=\"%s\"", integration);
    fw_metrics_observe(m, "alertmanager_notification_latency_seconds", l, seconds);
    fw_metrics_add(m, "alertmanager_notification_requests_total", l, 1);
    if (!ok)
        fw_metrics_add(m, "alertmanager_notification_requests_failed_total", l, 1);
}
