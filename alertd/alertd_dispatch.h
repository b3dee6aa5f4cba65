/*  alertd_dispatch.h — aggregation groups, their timers, and the notifications they make.

    Alerts inserted here are routed down the tree to one aggregation group per (route,
    group_by label values) — Alertmanager's dispatcher and aggrGroup. Time is injected:
    every call takes `now` (ms since epoch), so tests drive group_wait, group_interval and
    repeat_interval without sleeping. alertd_dispatch_tick() flushes every group that is
    due: a new group first after group_wait (at once when its alert is already older than
    that), then every group_interval; a flush notifies an integration of the receiver when
    the group's firing alerts are not a subset of that integration's last notification's,
    when it went from firing to all-resolved, when resolved alerts changed and the
    integration wants them (send_resolved), when its last notification failed, or when
    repeat_interval passed (Alertmanager's DedupStage, one log entry per integration). Nothing is
   sent while one of the route's mute_time_intervals holds or, when it has active_time_intervals,
   while none does. Resolved alerts leave the group once flushed, and an empty group is dropped.

    Not thread-safe: alertd guards it with its lock.
*/
#ifndef ALERTD_DISPATCH_H
#define ALERTD_DISPATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "alertd_cfg.h"
#include "alertd_nflog.h"
#include "alertd_route.h"
#include "alertd_store.h"

typedef struct alertd_dispatch alertd_dispatch_t;

// True when the alert must not be notified (silenced or inhibited) at now.
typedef bool (*alertd_muted_fn)(const struct alertd_alert *a, int64_t now, void *arg);

// A dispatcher over cfg and its tree (both borrowed; must outlive it). external_url is
// copied.
alertd_dispatch_t *alertd_dispatch_new(const struct alertd_cfg *cfg,
                                       const struct alertd_route *tree, const char *external_url);
void alertd_dispatch_destroy(alertd_dispatch_t **self_p);
void alertd_dispatch_set_muted(alertd_dispatch_t *self, alertd_muted_fn fn, void *arg);
// Decide and log notifications with nflog (borrowed; NULL: the dispatcher's own, in memory).
// Each notification tick() makes is logged there before tick() returns.
void alertd_dispatch_set_nflog(alertd_dispatch_t *self, alertd_nflog_t *nflog);

// How long a due group waits before it is flushed (its notification decided against the
// log) at now: a cluster replica's position x --cluster.peer-timeout (alertd_cluster.h;
// Alertmanager's WaitStage). NULL fn (the default): no wait. The group's next flush stays
// group_interval after it fell due (at once when the wait was longer).
typedef int64_t (*alertd_wait_fn)(void *arg, int64_t now);
void alertd_dispatch_set_wait(alertd_dispatch_t *self, alertd_wait_fn fn, void *arg);

// Name each notification tick() makes: fn writes a new id (a NUL-terminated string of at most
// ALERTD_NOTIFY_ID_MAX - 1 bytes, unique across reloads and restarts) into out. tick() puts it
// in the NOTIFY body as "id" and logs the notification's entries with it, so each entry is
// written once per flush (alertd_nflog_record then finds them named and writes nothing). NULL
// fn (the default): no "id", and the entries are named when the notification is recorded.
#define ALERTD_NOTIFY_ID_MAX 48
typedef void (*alertd_id_fn)(void *arg, char out[ALERTD_NOTIFY_ID_MAX]);
void alertd_dispatch_set_ids(alertd_dispatch_t *self, alertd_id_fn fn, void *arg);

// Route a (borrowed, copied) alert into its groups. A shared alert (refs > 0) that each of
// its groups already holds, all of them flushed once, is marked (its grouped field): routing
// it again returns at once until a group lets an alert go (a re-sent alert then costs no
// route match nor group lookup).
void alertd_dispatch_insert(alertd_dispatch_t *self, const struct alertd_alert *a, int64_t now);

// Flush due groups. Appends one NOTIFY body ({"receiver","webhook_configs","payload",
// "integrations"} and the receiver's other *_configs arrays and "delivery",
// alertd_cfg_receivers_notify) per notification to `out` (a JSON array). Each
// webhook_config is {"url", "send_resolved", "max_alerts", "follow_redirects"} plus
// "authorization" (the header value) when the effective http_config has credentials. As
// Alertmanager, each integration config is deduplicated on its own log entry
// ("<receiver>/<integration>/<index>"): the arrays carry only the configs that need this
// flush, "integrations" their indexes. Returns how many were appended.
size_t alertd_dispatch_tick(alertd_dispatch_t *self, int64_t now, json_t *out);

// The earliest scheduled flush, or INT64_MAX when none.
int64_t alertd_dispatch_next(alertd_dispatch_t *self);
size_t alertd_dispatch_groups(alertd_dispatch_t *self);
// How many groups the last tick looked at: only the due ones (a heap on their next flush),
// however many groups there are.
size_t alertd_dispatch_visited(alertd_dispatch_t *self);

// The receivers of the routes an alert matches, in route order, one per route (a receiver
// two routes name comes twice, as Alertmanager lists it), as a new JSON array of
// {"name":..}. Used by the API.
json_t *alertd_dispatch_receivers_of(alertd_dispatch_t *self, const struct fw_labels *l);

// API v2 /alerts/groups: a new JSON array of {"labels","receiver":{"name"},"alerts":[..]};
// alert_fn renders one alert (gettable form) and returns a new reference.
typedef json_t *(*alertd_alert_render_fn)(const struct alertd_alert *a, void *arg);
json_t *alertd_dispatch_groups_json(alertd_dispatch_t *self, alertd_alert_render_fn fn, void *arg);

// The group key Alertmanager would give: "<route key>:<group labels>" with the labels
// rendered as Go's model.LabelSet ({a="b", c="d"}). Caller frees.
char *alertd_group_key(const struct alertd_route *route, const struct fw_labels *group_labels);

// The webhook v4 alert object for a (firing alerts get endsAt 0001-01-01T00:00:00Z): a new
// reference. A firing alert's object is made once and kept on the alert (a->webhook), so a
// group's every flush does not build it again; do not change it. Lock held (it writes
// a->webhook).
json_t *alertd_alert_webhook_json(const struct alertd_alert *a, int64_t now);

#endif
