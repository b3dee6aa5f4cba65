/*  ruled_group_state.c — a rule group's alerts as durable records and back (ruled_group.h
    ruled_group_state_export / _import; the records: ruled_state.h).

    Each alert is one record, keyed "<rule index>/<label hash>", holding its labels,
    annotations, state, value and times as compact JSON. Importing them after a restart
    follows Prometheus's RestoreForState (ruled_group.h says what comes back and how its
    activeAt moves); records that no longer fit a rule are skipped.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "ruled_group.h"
#include "ruled_group_int.h"
#include "ruled_state.h"

static const char *const s_state_names[] = {"inactive", "pending", "firing"};

struct ruled_state_rec *
ruled_group_state_export(const ruled_group_t *self, size_t *n_out)
{
    size_t n = 0;
    for (size_t i = 0; i < self->n_rules; i++)
        n += self->rules[i].n_alerts;
    struct ruled_state_rec *recs = fw_calloc(n ? n : 1, sizeof(*recs));
    size_t k = 0;
    for (size_t i = 0; i < self->n_rules; i++) {
        const struct ruled_group_rule *r = &self->rules[i];
        for (size_t j = 0; j < r->n_alerts; j++) {
            const struct ruled_group_alert *a = &r->alerts[j];
            recs[k].key = fw_asprintf("%zu/%016llx", i, (unsigned long long)a->hash);
            json_t *o = json_pack(
                "{s:s, s:o, s:o, s:s, s:f, s:I, s:I, s:I, s:I, s:I}", "rule", r->cfg->alert,
                "labels", fw_labels_json(&a->labels), "annotations",
                fw_labels_json(&a->annotations), "state", s_state_names[a->state], "value",
                isfinite(a->value) ? a->value : 0.0, "activeAt", (json_int_t)a->active_at_ms,
                "firedAt", (json_int_t)a->fired_at_ms, "resolvedAt", (json_int_t)a->resolved_at_ms,
                "keepFiringSince", (json_int_t)a->keep_firing_since_ms, "lastSentAt",
                (json_int_t)a->last_sent_ms);
            recs[k++].val = json_dumps(o, JSON_COMPACT);
            json_decref(o);
        }
    }
    *n_out = k;
    return recs;
}

// Labels from a JSON object of strings. 0, or -1 when o is not one.
static int
s_labels_from_json(json_t *o, struct fw_labels *l)
{
    const char *name;
    json_t *v;
    if (!json_is_object(o))
        return -1;
    json_object_foreach(o, name, v)
    {
        if (!json_is_string(v))
            return -1;
        fw_labels_set(l, name, json_string_value(v));
    }
    return 0;
}

// Decode rec into a (zeroed by the caller) for self's rules; the rule index, or -1 when
// rec does not parse or matches no alerting rule of that index and name.
static ssize_t
s_import_one(ruled_group_t *self, const struct ruled_state_rec *rec, struct ruled_group_alert *a)
{
    char *end;
    unsigned long idx = strtoul(rec->key, &end, 10);
    if (end == rec->key || *end != '/' || idx >= self->n_rules)
        return -1;
    struct ruled_group_rule *r = &self->rules[idx];
    json_t *o = json_loads(rec->val, 0, NULL);
    const char *rule = NULL, *state = NULL;
    json_t *labels = NULL, *annotations = NULL;
    json_int_t act = 0, fired = 0, resolved = 0, keep = 0, sent = 0;
    double value = 0;
    int rc = o ? json_unpack(o, "{s:s, s:o, s:o, s:s, s:F, s:I, s:I, s:I, s:I, s:I}", "rule", &rule,
                             "labels", &labels, "annotations", &annotations, "state", &state,
                             "value", &value, "activeAt", &act, "firedAt", &fired, "resolvedAt",
                             &resolved, "keepFiringSince", &keep, "lastSentAt", &sent)
               : -1;
    ssize_t ret = -1;
    if (rc != 0 || !ruled_rules_is_alert(r->cfg) || strcmp(rule, r->cfg->alert) != 0)
        goto out;
    for (int st = 0; st < 3; st++)
        if (strcmp(state, s_state_names[st]) == 0)
            a->state = (ruled_alert_state_t)st, ret = (ssize_t)idx;
    if (ret < 0 || s_labels_from_json(labels, &a->labels) != 0 ||
        s_labels_from_json(annotations, &a->annotations) != 0 || act <= 0) {
        ret = -1;
        goto out;
    }
    a->hash = fw_labels_hash(&a->labels);
    a->value = value;
    a->active_at_ms = act;
    a->fired_at_ms = fired;
    a->resolved_at_ms = resolved;
    a->keep_firing_since_ms = keep;
    a->last_sent_ms = sent;
out:
    if (o)
        json_decref(o);
    return ret;
}

// Prometheus's RestoreForState for one alert a of rule r; false: drop it.
static bool
s_restore_alert(const ruled_group_t *self, const struct ruled_group_rule *r,
                struct ruled_group_alert *a, int64_t saved_at_ms, int64_t now_ms)
{
    int64_t hold = r->cfg->for_ms, grace = self->env.for_grace_ms;
    if (a->state == RULED_ALERT_INACTIVE)
        return a->resolved_at_ms != 0 && now_ms - a->resolved_at_ms <= RULED_RESOLVED_RETENTION_MS;
    if (a->state == RULED_ALERT_FIRING)
        return true;
    if (hold < grace)
        return false;
    int64_t remaining = hold - (saved_at_ms - a->active_at_ms);
    if (remaining <= 0)
        return true;
    if (remaining < grace)
        a->active_at_ms = now_ms + grace - hold;
    else
        a->active_at_ms += now_ms - saved_at_ms;
    return true;
}

size_t
ruled_group_state_import(ruled_group_t *self, const struct ruled_state_rec *recs, size_t n,
                         int64_t saved_at_ms, int64_t now_ms)
{
    if (saved_at_ms <= 0)
        return 0;
    ruled_group_skip_restore(self); // the store knows this group: it is the source
    int64_t down = now_ms > saved_at_ms ? now_ms - saved_at_ms : 0;
    if (down > self->env.outage_tolerance_ms) {
        fw_info("rule.state.expired", "group=%s down_ms=%lld records=%zu", self->key,
                (long long)down, n);
        return 0;
    }
    size_t restored = 0;
    for (size_t i = 0; i < n; i++) {
        struct ruled_group_alert a = {0};
        ssize_t idx = s_import_one(self, &recs[i], &a);
        struct ruled_group_rule *r = idx >= 0 ? &self->rules[idx] : NULL;
        if (!r || ruled_group_int_find_alert(r, &a.labels, a.hash) ||
            !s_restore_alert(self, r, &a, saved_at_ms, now_ms)) {
            if (!r)
                fw_warn("rule.state.skip", "group=%s key=%s", self->key, recs[i].key);
            ruled_group_int_alert_free(&a);
            continue;
        }
        fw_mem_grow((void **)&r->alerts, &r->cap_alerts, r->n_alerts + 1, sizeof(*r->alerts));
        r->alerts[r->n_alerts++] = a;
        restored++;
    }
    fw_info("rule.state.restore", "group=%s down_ms=%lld alerts=%zu", self->key, (long long)down,
            restored);
    return restored;
}
