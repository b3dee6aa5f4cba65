/*  alertd_store.c — alert parsing, merging and the fingerprint-keyed store.

    The store is an alertd_fptab: a lookup hashes no string.
*/
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "alertd_fptab.h"
#include "alertd_json.h"
#include "alertd_store.h"
#include "fw_gotime.h"
#include "fw_mem.h"
#include "fw_names.h"
#include "fw_time.h"

struct alertd_store {
    alertd_fptab_t *alerts; // owned
    char *scratch;          // owned: alertd_store_persist's record text
    size_t scratch_cap;
};

const char *
alertd_fp_str(uint64_t fp, char buf[17])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; i--, fp >>= 4)
        buf[i] = hex[fp & 15];
    buf[16] = '\0';
    return buf;
}

const char *
alertd_time_str(int64_t ms, char *buf, size_t size)
{
    if (ms == 0) {
        snprintf(buf, size, "0001-01-01T00:00:00Z");
        return buf;
    }
    return fw_time_rfc3339(ms, buf, size);
}

const char *
alertd_time_str_go(int64_t ms, char *buf, size_t size)
{
    alertd_time_str(ms, buf, size);
    char *dot = strrchr(buf, '.');
    size_t len = strlen(buf);
    if (!dot || len < 2 || buf[len - 1] != 'Z')
        return buf;
    char *end = buf + len - 1; // the 'Z'
    while (end > dot + 1 && end[-1] == '0')
        end--;
    if (end == dot + 1)
        end = dot; // a zero fraction: none
    memmove(end, "Z", 2);
    return buf;
}

void
alertd_alert_clear(struct alertd_alert *a)
{
    fw_labels_clear(&a->labels);
    json_decref(a->annotations);
    json_decref(a->webhook);
    free(a->generator_url);
    memset(a, 0, sizeof *a);
}

void
alertd_alert_copy(struct alertd_alert *dst, const struct alertd_alert *src)
{
    *dst = *src;
    dst->labels = (struct fw_labels)FW_LABELS_INIT;
    fw_labels_copy(&dst->labels, &src->labels);
    // Annotations are never changed once parsed: the copy shares them.
    dst->annotations = src->annotations ? json_incref(src->annotations) : json_object();
    dst->generator_url = src->generator_url ? fw_strdup(src->generator_url) : NULL;
    dst->webhook = NULL;
    dst->refs = 0;
    dst->grouped = 0; // the groups hold src, not this copy
}

struct alertd_alert *
alertd_alert_hold(const struct alertd_alert *a)
{
    if (a->refs > 0) {
        struct alertd_alert *shared = (struct alertd_alert *)a; // only refs changes
        shared->refs++;
        return shared;
    }
    struct alertd_alert *copy = fw_malloc(sizeof *copy);
    alertd_alert_copy(copy, a);
    copy->refs = 1;
    return copy;
}

bool
alertd_alert_resolved(const struct alertd_alert *a, int64_t now)
{
    return a->ends_at != 0 && a->ends_at <= now;
}

int
alertd_alert_time(const char *key, const char *s, int64_t *out, fw_err_t *err)
{
    *out = 0;
    // Go's zero time means "unset".
    if (strncmp(s, "0001-01-01", 10) == 0 || !*s)
        return 0;
    char gerr[8];
    if (fw_gotime_parse_strfmt(s, out, gerr, sizeof gerr) < 0) {
        fw_err_set(err, "%s: invalid time \"%s\"", key, s);
        return -1;
    }
    return 0;
}

static int
s_time(const json_t *j, const char *key, int64_t *out, fw_err_t *err)
{
    const json_t *v = json_object_get(j, key);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    const char *s = json_string_value(v);
    if (!s) {
        fw_err_set(err, "%s is not a string", key);
        return -1;
    }
    return alertd_alert_time(key, s, out, err);
}

int
alertd_alert_times(int64_t *starts_at, int64_t *ends_at, bool *timeout, int64_t now,
                   int64_t resolve_timeout_ms, fw_err_t *err)
{
    // Alertmanager api/v2: missing startsAt is now (or endsAt when that is in the past).
    if (*starts_at == 0)
        *starts_at = (*ends_at && *ends_at < now) ? *ends_at : now;
    if (*ends_at == 0) {
        *ends_at = now + resolve_timeout_ms;
        *timeout = true;
    }
    if (*ends_at < *starts_at) {
        fw_err_set(err, "start time must be before end time");
        return -1;
    }
    return 0;
}

int
alertd_alert_finish(struct alertd_alert *out, int64_t now, int64_t resolve_timeout_ms,
                    fw_err_t *err)
{
    if (alertd_alert_times(&out->starts_at, &out->ends_at, &out->timeout, now, resolve_timeout_ms,
                           err) < 0)
        return -1;
    out->updated_at = now;
    out->fp = fw_labels_fingerprint(&out->labels);
    return 0;
}

int
alertd_alert_parse(const json_t *j, int64_t now, int64_t resolve_timeout_ms,
                   struct alertd_alert *out, fw_err_t *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j)) {
        fw_err_set(err, "alert is not an object");
        return -1;
    }
    const json_t *labels = json_object_get(j, "labels");
    if (!json_is_object(labels) || json_object_size(labels) == 0) {
        fw_err_set(err, "at least one label pair required");
        return -1;
    }
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)labels, k, v)
    {
        if (!json_is_string(v)) {
            fw_err_set(err, "label %s: value is not a string", k);
            goto fail;
        }
        if (!fw_names_label_valid(k, FW_NAMES_UTF8)) {
            fw_err_set(err, "invalid label set: invalid name \"%s\"", k);
            goto fail;
        }
        fw_labels_set(&out->labels, k, json_string_value(v));
    }
    if (out->labels.len == 0) {
        fw_err_set(err, "at least one label pair required");
        goto fail;
    }
    out->annotations = json_object();
    const json_t *ann = json_object_get(j, "annotations");
    if (ann && !json_is_null(ann)) {
        if (!json_is_object(ann)) {
            fw_err_set(err, "annotations is not an object");
            goto fail;
        }
        json_object_foreach((json_t *)ann, k, v)
        {
            if (!json_is_string(v)) {
                fw_err_set(err, "annotation %s: value is not a string", k);
                goto fail;
            }
            if (!fw_names_label_valid(k, FW_NAMES_UTF8)) {
                fw_err_set(err, "invalid annotations: invalid name \"%s\"", k);
                goto fail;
            }
            json_object_set(out->annotations, k, (json_t *)v);
        }
    }
    const json_t *gu = json_object_get(j, "generatorURL");
    if (json_is_string(gu))
        out->generator_url = fw_strdup(json_string_value(gu));
    if (s_time(j, "startsAt", &out->starts_at, err) < 0 ||
        s_time(j, "endsAt", &out->ends_at, err) < 0)
        goto fail;
    if (alertd_alert_finish(out, now, resolve_timeout_ms, err) < 0)
        goto fail;
    return 0;
fail:
    alertd_alert_clear(out);
    return -1;
}

// --- store ---

void
alertd_alert_free(void **item)
{
    struct alertd_alert *a = *item;
    if (a && a->refs > 1) {
        a->refs--;
    } else if (a) {
        alertd_alert_clear(a);
        free(a);
    }
    *item = NULL;
}

alertd_store_t *
alertd_store_new(void)
{
    alertd_store_t *self = fw_calloc(1, sizeof *self);
    self->alerts = alertd_fptab_new();
    return self;
}

void
alertd_store_destroy(alertd_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_fptab_destroy(&(*self_p)->alerts);
    free((*self_p)->scratch);
    free(*self_p);
    *self_p = NULL;
}

void
alertd_store_merge(const struct alertd_alert *old, int64_t now, bool timeout, int64_t *starts_at,
                   int64_t *ends_at)
{
    if (old && !alertd_alert_resolved(old, now) &&
        !(*ends_at < old->starts_at || old->ends_at < *starts_at)) {
        // Overlapping: one alert, merged (types.Alert.Merge with a newer update).
        if (*starts_at > old->starts_at)
            *starts_at = old->starts_at;
        if (timeout && !old->timeout && old->ends_at > *ends_at && old->ends_at > now)
            *ends_at = old->ends_at;
    }
}

const struct alertd_alert *
alertd_store_refresh(alertd_store_t *self, const struct alertd_alert *stored, int64_t ends_at,
                     int64_t updated_at)
{
    (void)self;
    struct alertd_alert *a = (struct alertd_alert *)stored; // one of self's: times move on
    a->ends_at = ends_at;
    a->updated_at = updated_at;
    return a;
}

// True when the update a (merged) of the stored alert old changes nothing but its endsAt
// and updatedAt.
static bool
s_times_only(const struct alertd_alert *old, const struct alertd_alert *a)
{
    if (old->starts_at != a->starts_at || old->timeout != a->timeout ||
        fw_labels_cmp(&old->labels, &a->labels) != 0)
        return false;
    if (!old->generator_url != !a->generator_url ||
        (a->generator_url && strcmp(old->generator_url, a->generator_url) != 0))
        return false;
    return old->annotations == a->annotations || json_equal(old->annotations, a->annotations);
}

const struct alertd_alert *
alertd_store_put(alertd_store_t *self, struct alertd_alert *a, int64_t now)
{
    struct alertd_alert *old = alertd_fptab_get(self->alerts, a->fp);
    alertd_store_merge(old, now, a->timeout, &a->starts_at, &a->ends_at);
    if (old && s_times_only(old, a)) {
        // A re-sent alert (ruled, Prometheus): the shared stored alert moves on in place.
        alertd_store_refresh(self, old, a->ends_at, a->updated_at);
        alertd_alert_clear(a);
        return old;
    }
    struct alertd_alert *copy = fw_malloc(sizeof *copy);
    *copy = *a;
    copy->refs = 1;
    copy->persisted_ends_at = 0;
    copy->grouped = 0;
    memset(a, 0, sizeof *a);
    alertd_fptab_set(self->alerts, copy);
    return copy;
}

const struct alertd_alert *
alertd_store_get(alertd_store_t *self, uint64_t fp)
{
    return alertd_fptab_get(self->alerts, fp);
}

size_t
alertd_store_size(alertd_store_t *self)
{
    return alertd_fptab_size(self->alerts);
}

const struct alertd_alert *
alertd_store_first(alertd_store_t *self)
{
    return alertd_fptab_first(self->alerts);
}

const struct alertd_alert *
alertd_store_next(alertd_store_t *self)
{
    return alertd_fptab_next(self->alerts);
}

static bool
s_ended_before(const struct alertd_alert *a, void *arg)
{
    return a->ends_at < *(const int64_t *)arg;
}

size_t
alertd_store_gc(alertd_store_t *self, int64_t before)
{
    return alertd_fptab_drop_if(self->alerts, s_ended_before, &before);
}

// --- persistence: {"labels","annotations","startsAt","endsAt","updatedAt" (ms),
// "timeout", "generatorURL"} ---

bool
alertd_store_persist(alertd_store_t *self, const struct alertd_alert *a, alertd_state_t *state,
                     int64_t now)
{
    if (!state)
        return false;
    // Only a re-sent alert (alertd_store_put in place) keeps persisted_ends_at.
    if (a->persisted_ends_at != 0 && a->ends_at >= a->persisted_ends_at &&
        a->persisted_ends_at - now >= (a->ends_at - now) / 2)
        return false;
    char key[17];
    if (!self->scratch) {
        self->scratch_cap = 512;
        self->scratch = fw_malloc(self->scratch_cap);
    }
    size_t len = alertd_json_alert_record(a, &self->scratch, &self->scratch_cap);
    alertd_state_put(state, ALERTD_STATE_ALERTS, alertd_fp_str(a->fp, key), a->ends_at,
                     self->scratch, len);
    // a is one of self's alerts (alertd_store_put's answer): only this field changes.
    ((struct alertd_alert *)a)->persisted_ends_at = a->ends_at;
    return true;
}

static int
s_decode(const char *val, size_t len, struct alertd_alert *out)
{
    memset(out, 0, sizeof *out);
    json_t *j = json_loadb(val, len, 0, NULL);
    const json_t *labels = json_object_get(j, "labels"), *ann = json_object_get(j, "annotations");
    const json_t *s = json_object_get(j, "startsAt"), *e = json_object_get(j, "endsAt");
    const json_t *u = json_object_get(j, "updatedAt");
    int rc = -1;
    if (!json_is_object(labels) || json_object_size(labels) == 0 || !json_is_object(ann) ||
        !json_is_integer(s) || !json_is_integer(e) || !json_is_integer(u))
        goto out;
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)labels, k, v)
    {
        if (!json_is_string(v))
            goto out;
        fw_labels_set(&out->labels, k, json_string_value(v));
    }
    out->annotations = json_deep_copy(ann);
    out->starts_at = json_integer_value(s);
    out->ends_at = json_integer_value(e);
    out->updated_at = json_integer_value(u);
    out->timeout = json_is_true(json_object_get(j, "timeout"));
    const char *gu = json_string_value(json_object_get(j, "generatorURL"));
    out->generator_url = gu ? fw_strdup(gu) : NULL;
    out->fp = fw_labels_fingerprint(&out->labels);
    rc = 0;
out:
    json_decref(j);
    if (rc < 0)
        alertd_alert_clear(out);
    return rc;
}

struct s_load {
    alertd_store_t *self;
    size_t bad;
};

static int
s_load_one(const char *key, size_t key_len, int64_t expires_at, const char *val, size_t len,
           void *arg)
{
    (void)key;
    (void)key_len;
    (void)expires_at;
    struct s_load *l = arg;
    struct alertd_alert a;
    if (s_decode(val, len, &a) < 0) {
        l->bad++;
        return 0;
    }
    struct alertd_alert *copy = fw_malloc(sizeof *copy);
    *copy = a;
    copy->refs = 1;
    copy->persisted_ends_at = a.ends_at;
    alertd_fptab_set(l->self->alerts, copy);
    return 0;
}

ssize_t
alertd_store_load(alertd_store_t *self, alertd_state_t *state, size_t *bad, fw_err_t *err)
{
    struct s_load l = {self, 0};
    ssize_t n = alertd_state_load(state, ALERTD_STATE_ALERTS, s_load_one, &l, err);
    if (bad)
        *bad = l.bad;
    return n < 0 ? -1 : n - (ssize_t)l.bad;
}
