/*  alertd_nflog.h — the notification log: what each aggregation group last notified to its
    receiver (Alertmanager's nflog).

    One entry per (receiver, group key): the sorted fingerprints of the firing and of the
    resolved alerts the last notification carried, and when it was sent. Entries expire
    --data.retention after they were written (Alertmanager's default 120h). The dispatcher
    asks it whether a flush needs a notification (alertd_dispatch.h) and logs each one it
    makes. With a state (alertd_state.h) every log is also written into the state's open
    batch, so the caller commits it (with sync) before the notification leaves; _load reads
    the entries back after a restart. Not thread-safe: alertd guards it with its lock.

    Beside that state, the log keeps the history of the notifications themselves, queryable
    (GET /api/v2/notifications, alertd_api_notifications.c): one record per NOTIFY alertd
    made, with when, the receiver, the group (key and labels), the status, the alerts'
    fingerprints and statuses, the integrations, and the result. Records expire with the
    retention; at most ALERTD_NFLOG_HISTORY_MAX are kept (the oldest go first). With a state
    they are written to the same database (keys "h" + time + sequence) and read back by
    _load.
*/
#ifndef ALERTD_NFLOG_H
#define ALERTD_NFLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <stdbool.h>

#include "alertd_matcher.h"
#include "alertd_state.h"
#include "fw_err.h"

// Most notification records kept (memory and state).
#define ALERTD_NFLOG_HISTORY_MAX 10000

// The NOTIFY arrays that name an integration and the integration's name, in the order of
// Alertmanager's config docs. An entry's receiver is "<receiver>/<integration>/<index>"
// (Alertmanager's nflog receiver key: one entry per integration), or the receiver's name
// for a receiver without integrations (and in logs older alertd wrote).
#define ALERTD_NFLOG_INTEGRATIONS 17
extern const char *const alertd_nflog_integrations[ALERTD_NFLOG_INTEGRATIONS][2];

struct alertd_nflog_entry {
    uint64_t *firing, *resolved; // owned: sorted fingerprints
    size_t firing_len, resolved_len;
    int64_t at;         // when the notification was made (ms)
    int64_t expires_at; // at + retention
    bool failed;        // notifyd reported the notification failed: notify again at the next
                        // flush (Alertmanager logs only successful notifications)
};

typedef struct alertd_nflog alertd_nflog_t;

// state is borrowed and may be NULL (memory only).
alertd_nflog_t *alertd_nflog_new(alertd_state_t *state, int64_t retention_ms);
void alertd_nflog_destroy(alertd_nflog_t **self_p);
// Read the state's entries and records not expired at now. Returns how many entries, or -1
// with err. A record that does not decode is skipped and counted in *bad (may be NULL). A
// notification whose entries were committed and whose record was not (alertd died in
// between) gets a "sent" record rebuilt from its entries ({"recovered": true}, empty
// groupLabels; kept in memory until its result writes it), so alertd_nflog_unanswered names
// it and alertd_nflog_result finds it. Only entries at least as new as the newest record
// count: an older one lost its record to ALERTD_NFLOG_HISTORY_MAX.
ssize_t alertd_nflog_load(alertd_nflog_t *self, int64_t now, size_t *bad, fw_err_t *err);
// The entry for (receiver, group key), or NULL when none (or expired at now).
const struct alertd_nflog_entry *alertd_nflog_get(alertd_nflog_t *self, const char *receiver,
                                                  const char *group_key, int64_t now);
// Record a notification: takes ownership of firing and resolved (sorted, fw_malloc'd). nid
// (borrowed, may be NULL) is the id of the NOTIFY that carries it, written with the entry.
void alertd_nflog_log(alertd_nflog_t *self, const char *receiver, const char *group_key,
                      uint64_t *firing, size_t firing_len, uint64_t *resolved, size_t resolved_len,
                      const char *nid, int64_t now);
// Drop entries expired at now (also from the state's open batch). Returns how many.
size_t alertd_nflog_gc(alertd_nflog_t *self, int64_t now);
size_t alertd_nflog_size(alertd_nflog_t *self);
// How many entry records this log has written into the state (alertd_nflog_log, the naming of
// a notification's entries, _result, _merge) since it was made; 0 without a state.
uint64_t alertd_nflog_entry_writes(alertd_nflog_t *self);

// Record the notification body (a NOTIFY body: receiver, payload, *_configs; borrowed) made
// at now, with its result ("sent": handed to notifyd; "dropped": it could not be queued;
// alertd_nflog_result turns "sent" into "delivered" or "failed"). With an "id" the record
// keeps it (and "reason" once failed) and the entries it logged are named by it: one per
// config of its arrays ("integrations" gives their indexes; without it, their positions),
// or the receiver's own when it has none; an entry already logged with that id and state is
// not written again. The entries of a "dropped" notification are marked failed, so the next
// flush sends it again.
void alertd_nflog_record(alertd_nflog_t *self, const json_t *notify, const char *result,
                         int64_t now);

// notifyd's outcome (NOTIFY_RESULT) of the notification whose NOTIFY carried id: the
// record's result becomes result ("delivered" or "failed") with reason, and the entries it
// logged (unless a later notification replaced them) are marked failed or not: with
// `failed` (NOTIFY_RESULT's failed_integrations, "<integration>/<index>" strings; borrowed,
// may be NULL) only those fail, so the next flush re-sends them alone. Writes into the
// state's open batch. The same result again changes nothing. -1 when no record has that id.
int alertd_nflog_result(alertd_nflog_t *self, const char *id, const char *result,
                        const char *reason, const json_t *failed);

// --- the cluster (alertd_cluster.h) ---
// A mesh entry is the JSON a peer gets: {"receiver", "groupKey", "at" (ms), "expiresAt"
// (ms), "firing", "resolved" (sorted fingerprints, 16 hex digits each), "failed" (optional
// bool)}. The notification history (records) stays with the replica that notified.

// Track the entries this replica changes (alertd_nflog_log, _record, _result), not those
// merged from peers, for alertd_nflog_take_changes. Off by default (nothing is kept).
void alertd_nflog_track_changes(alertd_nflog_t *self, bool on);
// The tracked entries changed since the last call and not expired at now, as a new JSON
// array of mesh entries; the set is emptied.
json_t *alertd_nflog_take_changes(alertd_nflog_t *self, int64_t now);
// Every entry not expired at now, as a new JSON array of mesh entries.
json_t *alertd_nflog_entries_json(alertd_nflog_t *self, int64_t now);
// Merge a peer's mesh entry (borrowed) as Alertmanager's nflog does: ignored when expired at
// now; taken when this log has none for (receiver, group key) or its own is older ("at"),
// and on a tie when the peer's is marked failed and ours is not. 1 taken (written into the
// state's open batch), 0 ours kept, -1 not a valid entry (err).
int alertd_nflog_merge(alertd_nflog_t *self, const json_t *entry, int64_t now, fw_err_t *err);

// Which records a query keeps; a field left zero or NULL keeps everything.
struct alertd_nflog_filter {
    const struct alertd_matchers *receiver; // matched against {receiver="<name>"}
    const char *group_key;                  // exact
    const struct alertd_matchers *group;    // matched against the group labels
    int64_t since, until;                   // at within [since, until] (until 0: none)
    const char *result;                     // exact
    const char *status;                     // "firing" or "resolved"
};

// The records f keeps, oldest first, as a JSON array (new reference): each {"timestamp",
// "receiver":{"name"}, "groupKey", "groupLabels", "status", "result", "integrations":[...],
// "alerts":[{"fingerprint","status"}]}.
json_t *alertd_nflog_query(alertd_nflog_t *self, const struct alertd_nflog_filter *f);
size_t alertd_nflog_history_size(alertd_nflog_t *self);
// The ids (a new JSON array of strings, oldest first, at most max) of the records made at or
// before `before` that are still "sent": notifyd's outcome has not arrived.
json_t *alertd_nflog_unanswered(alertd_nflog_t *self, int64_t before, size_t max);

#endif
