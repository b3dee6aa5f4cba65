/*  alertd_silence.h — silences, in memory, in Alertmanager API v2 shape.

    A silence mutes alerts whose labels match all its matchers between startsAt and
    endsAt. Deleting one expires it (endsAt = now), as Alertmanager does. alertd persists
    the table as JSON (alertd_silences_dump / _restore) in its state (alertd_state.h, LMDB
    under --storage.path) whenever it changed. Not thread-safe: alertd guards it with its lock.

    Validation is Alertmanager's (silence.validateSilence and the API v2 handler), with its
    error texts: every matcher needs a valid label name and, for = and !=, a valid UTF-8
    value; regexes must compile; and at least one matcher must not match the empty string,
    so a silence can never mute every alert (`a=~.*`, `a=~""`, `a=""`). Whether a matcher
    matches the empty string is asked of the matcher module (fw_matcher_matches on ""),
    so it follows whatever regex engine that module uses. The same rules apply to silences
    read back from the state file; a stored silence that breaks them is skipped.
*/
#ifndef ALERTD_SILENCE_H
#define ALERTD_SILENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "alertd_state.h"
#include "fw_err.h"
#include "fw_labels.h"

typedef struct alertd_silences alertd_silences_t;

// The limits' defaults (--silences.max-silences, --silences.max-silence-size-bytes).
// Alertmanager's are 0 (no limit); alertd's bound the table's memory and the record it
// rewrites on every change: 10000 x 32 KiB of JSON at most.
#define ALERTD_SILENCES_MAX_DEFAULT 10000
#define ALERTD_SILENCE_SIZE_MAX_DEFAULT 32768

// A table with the default limits.
alertd_silences_t *alertd_silences_new(void);
void alertd_silences_destroy(alertd_silences_t **self_p);
// Set Alertmanager's limits; <= 0 means no limit (as in Alertmanager). max_silences counts
// every silence held, expired ones too until alertd_silences_gc drops them (Alertmanager
// counts its whole state the same way); max_size is in bytes of the silence's compact JSON
// (gettable form). They apply to alertd_silences_put and _merge, not to _restore/_load,
// which take back what the table held when it was written.
void alertd_silences_set_limits(alertd_silences_t *self, int64_t max_silences, int64_t max_size);

// The message alertd_silences_put leaves in err when the id names no silence (API: 404).
#define ALERTD_SILENCE_NOT_FOUND "silence not found"

// Create or update from a postable silence (borrowed). Returns the id (caller frees), or NULL
// with Alertmanager's message in err, checked in its order: "Failed to create silence: start
// time must be before end time", "Failed to create silence: end time can't be in the past",
// "silence invalid: <matcher problem>" (e.g. "silence invalid: at least one matcher must not
// match the empty string"), then ALERTD_SILENCE_NOT_FOUND for an unknown id, then the limits
// (Alertmanager's texts, API: 400): a new silence when the table is full, "exceeded maximum
// number of silences: N (limit: M)"; a new or updated one too large, "silence exceeded
// maximum size: N bytes (limit: M bytes)". An update (id given) follows Alertmanager's
// Silences.Set: in place (same id returned) only when its canUpdate allows it (same matchers
// in the same order; an active silence keeps its start, to the second, and does not end in the
// past; a pending one does not start in the past; never an expired one). Otherwise it is a
// replacement: a new silence with a new id (returned; start moved to now when past), which
// needs room like any new one (at the limit it is refused and the old one left untouched),
// and the old one is expired unless it already was. Both are tracked as changed.
char *alertd_silences_put(alertd_silences_t *self, const json_t *j, int64_t now, fw_err_t *err);
// Expire a silence; 0, or -1 when there is none with that id.
int alertd_silences_expire(alertd_silences_t *self, const char *id, int64_t now);
// A gettable silence (new reference), or NULL when unknown.
json_t *alertd_silences_get_json(alertd_silences_t *self, const char *id, int64_t now);
// Every silence as a new JSON array.
json_t *alertd_silences_list_json(alertd_silences_t *self, int64_t now);
// The ids of active silences that mute l, as a new JSON array (empty when none).
json_t *alertd_silences_muting(alertd_silences_t *self, const struct fw_labels *l, int64_t now);
// Drop silences expired before `before`.
void alertd_silences_gc(alertd_silences_t *self, int64_t before);
size_t alertd_silences_active(alertd_silences_t *self, int64_t now);
// A counter bumped by every change; persist when it differs from the one last saved.
uint64_t alertd_silences_version(alertd_silences_t *self);
// Every silence as one JSON text (the list form). Caller frees.
char *alertd_silences_dump(alertd_silences_t *self, int64_t now);
// Add the silences of a dump (kept as they were, expired ones included). An entry that does
// not parse or breaks the silence rules (see above) is skipped, logged (event=silence.invalid
// with its index, id and reason) and counted in *skipped (may be NULL). Returns how many
// were restored, or -1 with err when text is not a JSON array.
ssize_t alertd_silences_restore(alertd_silences_t *self, const char *text, size_t *skipped,
                                fw_err_t *err);

// --- the cluster (alertd_cluster.h): silences travel in their gettable form ---

// Track the ids this table changes (alertd_silences_put, _expire), not those merged from
// peers, for alertd_silences_take_changes. Off by default (nothing is kept).
void alertd_silences_track_changes(alertd_silences_t *self, bool on);
// The tracked silences changed since the last call, as a new JSON array of gettable
// silences; the set is emptied.
json_t *alertd_silences_take_changes(alertd_silences_t *self, int64_t now);
// Merge a peer's silence (gettable form, borrowed) as Alertmanager's silences do: ignored
// when it ended more than retention_ms before now; taken when the id is new here or the
// peer's updatedAt is later than ours (the table's version is bumped, so alertd persists
// it). 1 taken, 0 ours kept, -1 invalid (err: the silence rules above, as for restore) or
// over a limit (err: put's texts; a new id when the table is full, or one too large).
int alertd_silences_merge(alertd_silences_t *self, const json_t *j, int64_t now,
                          int64_t retention_ms, fw_err_t *err);

// Write the table into the state's open batch (one record, "table"; alertd commits it with
// sync before the API answers). A NULL state does nothing.
void alertd_silences_persist(alertd_silences_t *self, alertd_state_t *state, int64_t now);
// Restore the table from the state. When the state holds none and legacy_file (the
// silences.json of older releases; may be NULL) exists, restore that instead and write it
// into the state (committed); the file is then renamed to legacy_file + ".imported".
// Returns how many silences were restored, or -1 with err.
ssize_t alertd_silences_load(alertd_silences_t *self, alertd_state_t *state,
                             const char *legacy_file, size_t *skipped, fw_err_t *err);

#endif
