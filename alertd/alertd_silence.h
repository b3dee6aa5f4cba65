/*  alertd_silence.h — silences, in memory, in Alertmanager API v2 shape.

    A silence mutes alerts whose labels match all its matchers between startsAt and
    endsAt. Deleting one expires it (endsAt = now), as Alertmanager does. alertd persists
    the table as JSON (alertd_silences_dump / _restore) under --storage.path whenever it
    changed. Not thread-safe: alertd guards it with its lock.
*/
#ifndef ALERTD_SILENCE_H
#define ALERTD_SILENCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"

typedef struct alertd_silences alertd_silences_t;

alertd_silences_t *alertd_silences_new(void);
void alertd_silences_destroy(alertd_silences_t **self_p);

// Create or update from a postable silence (borrowed). Returns a new id string (caller
// frees), or NULL with err (bad matchers, bad times, unknown id).
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
// Add the silences of a dump (kept as they were, expired ones included); entries that do
// not parse are skipped. Returns how many were restored, or -1 with err when text is not
// a JSON array.
ssize_t alertd_silences_restore(alertd_silences_t *self, const char *text, fw_err_t *err);

#endif
