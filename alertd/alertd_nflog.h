/*  alertd_nflog.h — the notification log: what each aggregation group last notified to its
    receiver (Alertmanager's nflog).

    One entry per (receiver, group key): the sorted fingerprints of the firing and of the
    resolved alerts the last notification carried, and when it was sent. Entries expire
    --data.retention after they were written (Alertmanager's default 120h). The dispatcher
    asks it whether a flush needs a notification (alertd_dispatch.h) and logs each one it
    makes. With a state (alertd_state.h) every log is also written into the state's open
    batch, so the caller commits it (with sync) before the notification leaves; _load reads
    the entries back after a restart. Not thread-safe: alertd guards it with its lock.
*/
#ifndef ALERTD_NFLOG_H
#define ALERTD_NFLOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "alertd_state.h"
#include "fw_err.h"

struct alertd_nflog_entry {
    uint64_t *firing, *resolved; // owned: sorted fingerprints
    size_t firing_len, resolved_len;
    int64_t at;         // when the notification was made (ms)
    int64_t expires_at; // at + retention
};

typedef struct alertd_nflog alertd_nflog_t;

// state is borrowed and may be NULL (memory only).
alertd_nflog_t *alertd_nflog_new(alertd_state_t *state, int64_t retention_ms);
void alertd_nflog_destroy(alertd_nflog_t **self_p);
// Read the state's entries not expired at now. Returns how many, or -1 with err. A record
// that does not decode is skipped and counted in *bad (may be NULL).
ssize_t alertd_nflog_load(alertd_nflog_t *self, int64_t now, size_t *bad, fw_err_t *err);
// The entry for (receiver, group key), or NULL when none (or expired at now).
const struct alertd_nflog_entry *alertd_nflog_get(alertd_nflog_t *self, const char *receiver,
                                                  const char *group_key, int64_t now);
// Record a notification: takes ownership of firing and resolved (sorted, fw_malloc'd).
void alertd_nflog_log(alertd_nflog_t *self, const char *receiver, const char *group_key,
                      uint64_t *firing, size_t firing_len, uint64_t *resolved, size_t resolved_len,
                      int64_t now);
// Drop entries expired at now (also from the state's open batch). Returns how many.
size_t alertd_nflog_gc(alertd_nflog_t *self, int64_t now);
size_t alertd_nflog_size(alertd_nflog_t *self);

#endif
