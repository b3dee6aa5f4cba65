/*  fw_labels.h — label sets: sorted name/value pairs, hashed, validated.

    A struct fw_labels owns its strings. It stays sorted by name with unique names, so two
    sets with the same pairs compare equal with fw_labels_cmp() and hash alike. The metric
    name is the label "__name__". fw_labels_validate follows Prometheus 3: names (and the
    metric name) are any non-empty valid UTF-8 without NUL (fw_names.h), values any valid
    UTF-8. fw_label_name_valid and fw_metric_name_valid are the legacy character sets (label
    names [a-zA-Z_][a-zA-Z0-9_]*, metric names [a-zA-Z_:][a-zA-Z0-9_:]*), for places that
    still need them (alertd, relabel targets, the legacy validation scheme).
*/
#ifndef FW_LABELS_H
#define FW_LABELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"

struct json_t;

struct fw_label {
    char *name;  // owned
    char *value; // owned
};

struct fw_labels {
    struct fw_label *items; // owned, sorted by name, names unique
    size_t len;
    size_t cap;
};

#define FW_LABELS_INIT                                                                             \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

// Free every pair and reset to empty. Safe on an empty set.
void fw_labels_clear(struct fw_labels *l);
// Set name to value (copies both), replacing an existing value. An empty value removes the
// label, as in Prometheus where an empty label is an absent one.
void fw_labels_set(struct fw_labels *l, const char *name, const char *value);
// As fw_labels_set with a value of length n (need not be NUL-terminated).
void fw_labels_setn(struct fw_labels *l, const char *name, const char *value, size_t n);
// Remove name; no-op when absent.
void fw_labels_del(struct fw_labels *l, const char *name);
// Index of name in l->items, or -(insertion point) - 1 when absent (binary search; also for
// callers that keep their own label views in a struct fw_labels).
ssize_t fw_labels_index(const struct fw_labels *l, const char *name);
// The value of name, or NULL. Borrowed until the set changes.
const char *fw_labels_get(const struct fw_labels *l, const char *name);
// Replace dst's contents with a copy of src.
void fw_labels_copy(struct fw_labels *dst, const struct fw_labels *src);
// Set each pair of src (may be NULL) that dst lacks, as Prometheus's notifier adds external
// labels to alerts.
void fw_labels_add_absent(struct fw_labels *dst, const struct fw_labels *src);
// Order two sets (by pairs, lexicographically); 0 when equal.
int fw_labels_cmp(const struct fw_labels *a, const struct fw_labels *b);
// 64-bit hash of the pairs (fw_hash, with separators); equal sets hash alike.
uint64_t fw_labels_hash(const struct fw_labels *l);
// Prometheus's and Alertmanager's fingerprint of the set (model.LabelSet.Fingerprint, FNV-1a
// 64): only where the value is shown to users or peers (alert fingerprints); use
// fw_labels_hash for lookups.
uint64_t fw_labels_fingerprint(const struct fw_labels *l);
// The same, one pair at a time in name order, for pairs not held in a set: start from
// FW_LABELS_FINGERPRINT_INIT, feed each pair's hash to the next.
#define FW_LABELS_FINGERPRINT_INIT 14695981039346656037ULL
uint64_t fw_labels_fingerprint_pair(uint64_t h, const char *name, const char *value);
// Render as {a="b", c="d"} (with the __name__ value in front when present:
// up{job="x"}), escaping as Prometheus does. Names that are not legacy names are quoted as
// Prometheus 3 prints them (labels.String; a metric name first inside the braces):
// {"my.metric", "a.b"="c"}. Returns a new string the caller frees.
char *fw_labels_format(const struct fw_labels *l);
// The set as a JSON object {"name": "value", ...} in name order: a new jansson reference
// (json_t) the caller owns.
struct json_t *fw_labels_json(const struct fw_labels *l);
// Validate every name and value (UTF-8 names, as Prometheus 3); on failure err names the bad
// label.
int fw_labels_validate(const struct fw_labels *l, fw_err_t *err);

bool fw_label_name_valid(const char *name);
bool fw_metric_name_valid(const char *name);
bool fw_utf8_valid(const char *s, size_t n);
// Write code point cp (at most 0x10FFFF; callers refuse surrogates first) as UTF-8 into out,
// which has room for 4 bytes. Returns the bytes written, 1 to 4.
size_t fw_utf8_put(uint32_t cp, char *out);

#endif
