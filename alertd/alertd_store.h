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
    json_t *annotations;     // owned reference: object of strings
    int64_t starts_at, ends_at, updated_at;
    bool timeout;        // ends_at was set from resolve_timeout
    char *generator_url; // owned, may be NULL
};

typedef struct alertd_store alertd_store_t;

// Parse one API v2 postable alert (borrowed) into out (zeroed by the caller). Missing
// startsAt is now; missing endsAt is now + resolve_timeout_ms. 0, or -1 with err, in
// Alertmanager's words where it has them ("at least one label pair required", "invalid label
// set: invalid name \"1a\"", "start time must be before end time"). out is cleared on failure.
int alertd_alert_parse(const json_t *j, int64_t now, int64_t resolve_timeout_ms,
                       struct alertd_alert *out, fw_err_t *err);
void alertd_alert_clear(struct alertd_alert *a);
// zhashx destructor for items that are heap-allocated struct alertd_alert: clears and frees
// *item (NULL ok) and sets it to NULL.
void alertd_alert_free(void **item);
void alertd_alert_copy(struct alertd_alert *dst, const struct alertd_alert *src);
bool alertd_alert_resolved(const struct alertd_alert *a, int64_t now);
// The fingerprint as 16 hex digits into buf (17 bytes); returns buf.
const char *alertd_fp_str(uint64_t fp, char buf[17]);
// Alertmanager's JSON time text ("0001-01-01T00:00:00Z" for 0) into buf; returns buf.
const char *alertd_time_str(int64_t ms, char *buf, size_t size);

alertd_store_t *alertd_store_new(void);
void alertd_store_destroy(alertd_store_t **self_p);
// Merge *a into the store (a's contents are moved; *a is cleared). Returns the stored
// alert (borrowed until the next change).
const struct alertd_alert *alertd_store_put(alertd_store_t *self, struct alertd_alert *a,
                                            int64_t now);
const struct alertd_alert *alertd_store_get(alertd_store_t *self, uint64_t fp);
size_t alertd_store_size(alertd_store_t *self);
// Iterate: first/next return borrowed alerts, NULL at the end. Do not modify meanwhile.
const struct alertd_alert *alertd_store_first(alertd_store_t *self);
const struct alertd_alert *alertd_store_next(alertd_store_t *self);
// Drop alerts resolved before `before`; returns how many.
size_t alertd_store_gc(alertd_store_t *self, int64_t before);

// Write a stored alert into the state's open batch (key: its fingerprint; expires at its
// endsAt, so alertd_state_gc with the store's gc bound drops it with the store's copy).
void alertd_store_persist(const struct alertd_alert *a, alertd_state_t *state);
// Put every alert the state holds into the store as it was stored (no merge). Returns how
// many, or -1 with err; a record that does not decode is skipped and counted in *bad.
ssize_t alertd_store_load(alertd_store_t *self, alertd_state_t *state, size_t *bad, fw_err_t *err);

#endif
