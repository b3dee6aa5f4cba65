/*  alertd_json.h — the hot JSON of alertd without jansson trees: postable alerts read
    straight into struct alertd_alert, and the stored form of an alert written as text.

    The reader takes the plain form that Prometheus, ruled, slod and amtool send: an array of
    objects whose keys are labels and annotations (objects of strings), startsAt, endsAt and
    generatorURL (strings), every alert valid (label names, times, start before end). Anything
    else — another key, a null, a number, a duplicate key, an invalid label name or time, a
    malformed document — makes it give up (-1) without a reason: the caller then takes the
    jansson path (alertd_alert_parse, fw_msg_decode), which accepts or rejects it and says
    why exactly as before. So for any input the result is the jansson path's, only faster
    for the common case.
*/
#ifndef ALERTD_JSON_H
#define ALERTD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "alertd_store.h"

// A growable array of parsed alerts, owned.
struct alertd_json_alerts {
    struct alertd_alert *items;
    size_t len, cap;
};

// Parse text (len bytes) — a JSON array of postable alerts, or with `message` an ALERTS
// message body {"source": "...", "alerts": [...]} — appending each alert to out as
// alertd_alert_parse would give it at now. Returns how many were appended, or -1 (nothing
// appended) when text is not in the plain form above.
ssize_t alertd_json_alerts_parse(const char *text, size_t len, bool message, int64_t now,
                                 int64_t resolve_timeout_ms, struct alertd_json_alerts *out);

// Clear every alert of a and empty it (keeps its memory for reuse); free releases it too.
void alertd_json_alerts_reset(struct alertd_json_alerts *a);
void alertd_json_alerts_free(struct alertd_json_alerts *a);

// The stored form of a: {"labels","annotations","startsAt","endsAt","updatedAt" (ms),
// "timeout"[, "generatorURL"]}, as text into *buf (grown with fw_realloc as needed, *cap its
// size). Returns the length.
size_t alertd_json_alert_record(const struct alertd_alert *a, char **buf, size_t *cap);

#endif
