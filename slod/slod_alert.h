/*  slod_alert.h — one SLO alert's state machine and its Alertmanager-shaped JSON.

    An SLO has a page and a ticket alert (enum slod_severity). Labels: the SLO's labels,
    sloth_id, sloth_service, sloth_slo, alerting.labels, alertname = alerting.name,
    sloth_severity and severity = "page" or "ticket", then page_alert/ticket_alert labels
    (which may override severity, as Sloth specs do with `severity: critical`). Annotations:
    summary and title in Sloth's words, then alerting.annotations, then the severity's.
    Configured label and annotation values are Go templates expanded as Prometheus expands
    the rules `slod generate` writes (common/fw_tmpl_alert.h): $labels the SLO's labels with
    sloth_id, sloth_service and sloth_slo; $value the short window's error ratio;
    $externalLabels the configuration's external_labels, $externalURL --web.external-url.
    External labels the alert lacks are added last, as Prometheus's notifier does.
*/
#ifndef SLOD_ALERT_H
#define SLOD_ALERT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "slod_cfg.h"

struct slod_status;

struct slod_alert_state {
    int64_t firing_since_ms; // 0: not firing
    int64_t resolved_at_ms;  // 0: nothing to report
    int64_t resolved_start_ms;
    size_t window; // the alert window (index into alerting.windows) that fired last
    double burn_long, burn_short;
};

// Advance the state for this evaluation: burning (window `which` holds) or not.
void slod_alert_step(struct slod_alert_state *as, const struct slod_slo_cfg *s, int severity,
                     bool burning, size_t which, const struct slod_status *st, int64_t t_ms);

// Append the alert to alerts when firing or recently resolved.
// cfg gives the evaluation interval, external labels and external URL.
void slod_alert_json(const struct slod_alert_state *as, const struct slod_cfg *cfg,
                     const struct slod_slo_cfg *s, int severity, int64_t t_ms, json_t *alerts);

// "page" or "ticket".
const char *slod_alert_severity_name(int severity);

#endif
