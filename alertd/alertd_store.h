/*  alertd_store.h — alerts as Alertmanager holds them, and the store keyed by fingerprint.

    An alert is identified by its label set's fingerprint (fw_labels_fingerprint). Posting an
    alert again merges it into the stored one (Alertmanager types.Alert.Merge): the
    earlier startsAt is kept, the newer update's endsAt and annotations win, and an alert
    that had already resolved is replaced by the new one. Times are ms since the epoch;
    endsAt 0 never happens in the store (an absent endsAt becomes now + resolve_timeout).
    The store is not thread-safe: alertd guards it with its lock.
*/
#ifndef ALERTD_STORE_H
#define ALERTD_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "alertd_state.h"
#include "fw_err.h"
#include "fw_labels.h"

struct alertd_alert {
    uint64_t fp;
    struct fw_labels labels; // owned
    json_t *annotations;     // owned reference: object of strings, never changed (shared)
    int64_t starts_at, ends_at, updated_at;
    bool timeout;              // ends_at was set from resolve_timeout
    char *generator_url;       // owned, may be NULL
    int64_t persisted_ends_at; // store only: the endsAt of its record in the state, 0: none
    json_t *webhook; // owned reference, may be NULL: its webhook v4 object while firing, made
                     // once (alertd_alert_webhook_json); nothing it shows changes in place
    // Holders of a heap alert shared by the store and the groups (alertd_alert_free drops
    // one; changed under the daemon lock only); 0 for one that is not shared (on a stack).
    unsigned refs;
    // Dispatch only: the dispatcher epoch in which every group this alert routes to holds it
    // and has flushed once, so routing it again changes nothing (alertd_dispatch_insert
    // returns at once while that epoch lasts); 0: none. A copy starts at 0.
    uint64_t grouped;
};

typedef struct alertd_store alertd_store_t;

// Parse one API v2 postable alert (borrowed) into out (zeroed by the caller). Missing
// startsAt is now; missing endsAt is now + resolve_timeout_ms. 0, or -1 with err, in
// Alertmanager's words where it has them ("at least one label pair required", "invalid label
// set: invalid name \"1a\"", "start time must be before end time"). out is cleared on failure.
int alertd_alert_parse(const json_t *j, int64_t now, int64_t resolve_timeout_ms,
                       struct alertd_alert *out, fw_err_t *err);
// The parts of alertd_alert_parse that alertd_json shares. alertd_alert_time: the time text
// s of key into *out (0 for Go's zero time or ""); 0, or -1 with err. alertd_alert_finish:
// once labels, annotations, starts_at and ends_at (0: absent) are read, the defaults, the
// order check, updated_at and fp; 0, or -1 with err.
int alertd_alert_time(const char *key, const char *s, int64_t *out, fw_err_t *err);
int alertd_alert_finish(struct alertd_alert *out, int64_t now, int64_t resolve_timeout_ms,
                        fw_err_t *err);
// The times part of alertd_alert_finish (the defaults and the order check), for readers that
// hold no struct alertd_alert yet (alertd_json's views). 0, or -1 with err.
int alertd_alert_times(int64_t *starts_at, int64_t *ends_at, bool *timeout, int64_t now,
                       int64_t resolve_timeout_ms, fw_err_t *err);
void alertd_alert_clear(struct alertd_alert *a);
// zhashx destructor for items that are heap-allocated struct alertd_alert: drops one holder
// (refs), clears and frees *item with the last (NULL ok), and sets *item to NULL.
void alertd_alert_free(void **item);
void alertd_alert_copy(struct alertd_alert *dst, const struct alertd_alert *src);
// One more holder of a: a itself when it is a shared heap alert (refs > 0; stored alerts
// never change), else a new heap copy with refs 1. Release with alertd_alert_free.
struct alertd_alert *alertd_alert_hold(const struct alertd_alert *a);
bool alertd_alert_resolved(const struct alertd_alert *a, int64_t now);
// The fingerprint as 16 hex digits into buf (17 bytes); returns buf.
const char *alertd_fp_str(uint64_t fp, char buf[17]);
// Alertmanager's JSON time text ("0001-01-01T00:00:00Z" for 0) into buf; returns buf.
const char *alertd_time_str(int64_t ms, char *buf, size_t size);
// The same as Go's encoding/json writes a time.Time (RFC 3339 with the fraction's trailing
// zeros dropped, and no fraction when it is zero: "2027-01-15T08:00:00Z",
// "2027-01-15T08:00:00.12Z"), as Alertmanager's webhook payload carries startsAt and endsAt
// (its API v2 writes strfmt.DateTime, always with milliseconds, as alertd_time_str does).
const char *alertd_time_str_go(int64_t ms, char *buf, size_t size);

alertd_store_t *alertd_store_new(void);
void alertd_store_destroy(alertd_store_t **self_p);
// Merge *a into the store (a's contents are moved; *a is cleared). Returns the stored
// alert (borrowed until the next change). An update that changes nothing but endsAt and
// updatedAt (a re-sent alert) moves the stored alert's times in place: it stays the same
// object, which the groups holding it see.
const struct alertd_alert *alertd_store_put(alertd_store_t *self, struct alertd_alert *a,
                                            int64_t now);
const struct alertd_alert *alertd_store_get(alertd_store_t *self, uint64_t fp);
// How alertd_store_put merges an update (startsAt *starts_at, endsAt *ends_at, timeout) into
// the stored alert old (NULL: none) at now: both times adjusted in place.
void alertd_store_merge(const struct alertd_alert *old, int64_t now, bool timeout,
                        int64_t *starts_at, int64_t *ends_at);
// Move the stored alert's endsAt and updatedAt (an update that changes nothing else, merged
// with alertd_store_merge), in place as alertd_store_put does. Returns it.
const struct alertd_alert *alertd_store_refresh(alertd_store_t *self,
                                                const struct alertd_alert *stored, int64_t ends_at,
                                                int64_t updated_at);
size_t alertd_store_size(alertd_store_t *self);
// Iterate: first/next return borrowed alerts, NULL at the end. Do not modify meanwhile.
const struct alertd_alert *alertd_store_first(alertd_store_t *self);
const struct alertd_alert *alertd_store_next(alertd_store_t *self);
// Drop alerts resolved before `before`; returns how many.
size_t alertd_store_gc(alertd_store_t *self, int64_t before);

// Write a (one of self's alerts, as alertd_store_put returned it) into the state's open batch
// (key: its fingerprint; expires at its endsAt, so alertd_state_gc with the store's gc bound
// drops it with the store's copy); true when written. A re-sent alert is written only when
// its record is old: its record's endsAt is earlier than its own and has less than half of
// the time to its own endsAt left at now. So at a high rate of re-sends most cost no write,
// and after a SIGKILL an alert is read back firing until at least half-way to the endsAt
// of its last update (it is refreshed by its next re-send).
bool alertd_store_persist(alertd_store_t *self, const struct alertd_alert *a, alertd_state_t *state,
                          int64_t now);
// Put every alert the state holds into the store as it was stored (no merge). Returns how
// many, or -1 with err; a record that does not decode is skipped and counted in *bad.
ssize_t alertd_store_load(alertd_store_t *self, alertd_state_t *state, size_t *bad, fw_err_t *err);

#endif
