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

#include <jansson.h>

#include "alertd_store.h"

// Alerts as read, before anything is allocated for each: every string lives NUL-terminated
// in one arena, named by its offset. A view's labels are sorted by name (empty values
// dropped), its annotations in document order; its times, timeout, updatedAt and fp are as
// alertd_alert_parse would make them.
struct alertd_json_pair {
    size_t name, name_len, value, value_len; // offsets into the arena, lengths
};
struct alertd_json_view {
    uint64_t fp;
    int64_t starts_at, ends_at, updated_at;
    bool timeout;
    size_t labels, labels_len;           // index into pairs, count
    size_t annotations, annotations_len; // index into pairs, count
    size_t generator_url;                // offset into the arena, SIZE_MAX: none
    size_t generator_url_len;
};
// The annotation objects alertd_json_view_build made last, by a hash of their pairs (a
// direct-mapped table of ALERTD_JSON_ANNOTATIONS_CACHE slots), once asked for with
// alertd_json_views_share_annotations: alerts that carry the same annotations in the same
// order (one rule's alerts) then share one object, never changed once built. Each slot
// holds one reference; the objects' reference counts are atomic in jansson 2.14, so the
// alerts may be dropped on other threads.
#define ALERTD_JSON_ANNOTATIONS_CACHE 256
struct alertd_json_annotations {
    uint64_t hash;
    json_t *obj; // owned reference, NULL: empty slot
};
struct alertd_json_views {
    struct alertd_json_view *items; // owned
    size_t len, cap;
    struct alertd_json_pair *pairs; // owned
    size_t pairs_len, pairs_cap;
    char *arena; // owned
    size_t arena_len, arena_cap;
    struct alertd_json_annotations *annotations; // owned, NULL: no sharing
};

// As alertd_json_alerts_parse, appending views to out (nothing appended on -1).
ssize_t alertd_json_views_parse(const char *text, size_t len, bool message, int64_t now,
                                int64_t resolve_timeout_ms, struct alertd_json_views *out);
// Give vs the annotation table (above); it stays until free. For a set of views kept for
// reuse (alertd's loop), not one made per request.
void alertd_json_views_share_annotations(struct alertd_json_views *vs);
// Empty vs, keeping its memory (and its annotation objects) for reuse; free releases it.
void alertd_json_views_reset(struct alertd_json_views *vs);
void alertd_json_views_free(struct alertd_json_views *vs);
// The alert v (of vs) describes, into out: what alertd_alert_parse gives for it. Its
// annotations object may be shared (vs's cache: one reference more, no allocation).
void alertd_json_view_build(const struct alertd_json_views *vs, const struct alertd_json_view *v,
                            struct alertd_alert *out);
// True when v merged into the stored alert old (same fingerprint) at now, as
// alertd_store_put merges, changes nothing but endsAt and updatedAt: a re-sent alert, which
// then costs no allocation (alertd_store_refresh). *ends_at gets the merged endsAt.
bool alertd_json_view_times_only(const struct alertd_json_views *vs,
                                 const struct alertd_json_view *v, const struct alertd_alert *old,
                                 int64_t now, int64_t *ends_at);

// A growable array of parsed alerts, owned.
struct alertd_json_alerts {
    struct alertd_alert *items;
    size_t len, cap;
};

// Parse text (len bytes) — a JSON array of postable alerts, or with `message` an ALERTS
// message body {"source": "...", "alerts": [...]} — appending each alert to out as
// alertd_alert_parse would give it at now (views, then built). Returns how many were appended, or
// -1 (nothing appended) when text is not in the plain form above.
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
