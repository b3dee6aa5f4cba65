/*  alertd_inhibit.c — inhibit rules and their index of firing source alerts.

    Per rule, two zhashx maps keyed by the `equal` label values joined with 0xff: every
    source alert's key, and the keys of those sources that do not match the rule's target
    matchers (used when the target is itself a source). Each key maps to its sources'
    fingerprints in ascending order with their endsAt, so a lookup at `now` names the lowest
    fingerprint still firing (the one inhibitedBy names) and an alert that resolves by the
    clock stops inhibiting without a rebuild.

    A stored alert changes the index by itself (alertd_inhibit_note: its labels, hence its
    keys, never change; only its endsAt does), so a POST costs one look per rule, where a
    rebuild per store change looked at every alert. Rebuilds remain for the store's GC (to
    drop entries of removed alerts), a reload and the start.
*/
#include <czmq.h>
#include <string.h>

#include "alertd_inhibit.h"
#include "alertd_matcher.h"
#include "fw_mem.h"

struct s_rule {
    struct alertd_matchers source, target; // owned
    char **equal;                          // owned
    size_t equal_len;
    bool equal_required;  // a side lacking an `equal` label takes no part
    zhashx_t *any;        // owned: key -> struct s_sources *
    zhashx_t *not_target; // owned
};

// One key's sources, ascending by fingerprint.
struct s_source {
    uint64_t fp;
    int64_t ends_at; // 0: open-ended
};
struct s_sources {
    struct s_source *items; // owned
    size_t len, cap;
};

struct alertd_inhibit {
    struct s_rule *rules; // owned
    size_t len;
    size_t visits; // alerts looked at while indexing (alertd_inhibit_visits)
};

static void
s_add_side(struct alertd_matchers *ms, const struct fw_labels *eq, const struct fw_labels *re,
           char **strs, size_t n)
{
    for (size_t i = 0; i < eq->len; i++)
        (void)alertd_matchers_add(ms, FW_MATCH_EQ, eq->items[i].name, eq->items[i].value, NULL);
    for (size_t i = 0; i < re->len; i++)
        (void)alertd_matchers_add(ms, FW_MATCH_RE, re->items[i].name, re->items[i].value, NULL);
    for (size_t i = 0; i < n; i++)
        (void)alertd_matchers_parse(ms, strs[i], NULL);
}

static void
s_sources_free(void **item)
{
    struct s_sources *ss = *item;
    if (ss)
        free(ss->items);
    free(ss);
    *item = NULL;
}

alertd_inhibit_t *
alertd_inhibit_new(const struct alertd_cfg *cfg)
{
    alertd_inhibit_t *self = fw_calloc(1, sizeof *self);
    self->len = cfg->inhibit_rules_len;
    self->rules = fw_calloc(self->len + 1, sizeof *self->rules);
    for (size_t i = 0; i < self->len; i++) {
        const struct alertd_cfg_inhibit *c = &cfg->inhibit_rules[i];
        struct s_rule *r = &self->rules[i];
        s_add_side(&r->source, &c->source_match, &c->source_match_re, c->source_matchers,
                   c->source_matchers_len);
        s_add_side(&r->target, &c->target_match, &c->target_match_re, c->target_matchers,
                   c->target_matchers_len);
        r->equal_len = c->equal_len;
        r->equal = fw_calloc(c->equal_len + 1, sizeof(char *));
        for (size_t k = 0; k < c->equal_len; k++)
            r->equal[k] = fw_strdup(c->equal[k]);
        r->equal_required = c->equal_required;
        r->any = zhashx_new();
        r->not_target = zhashx_new();
        zhashx_set_destructor(r->any, s_sources_free);
        zhashx_set_destructor(r->not_target, s_sources_free);
    }
    return self;
}

void
alertd_inhibit_destroy(alertd_inhibit_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_inhibit_t *self = *self_p;
    for (size_t i = 0; i < self->len; i++) {
        struct s_rule *r = &self->rules[i];
        alertd_matchers_clear(&r->source);
        alertd_matchers_clear(&r->target);
        for (size_t k = 0; k < r->equal_len; k++)
            free(r->equal[k]);
        free(r->equal);
        zhashx_destroy(&r->any);
        zhashx_destroy(&r->not_target);
    }
    free(self->rules);
    free(self);
    *self_p = NULL;
}

// The rule's equal-label key of l; the caller frees.
static char *
s_key(const struct s_rule *r, const struct fw_labels *l)
{
    size_t len = 1;
    for (size_t k = 0; k < r->equal_len; k++) {
        const char *v = fw_labels_get(l, r->equal[k]);
        len += (v ? strlen(v) : 0) + 2;
    }
    char *key = fw_malloc(len), *p = key;
    for (size_t k = 0; k < r->equal_len; k++) {
        const char *v = fw_labels_get(l, r->equal[k]);
        size_t n = v ? strlen(v) : 0;
        *p++ = v ? '=' : '-'; // absent differs from any value, including ""
        memcpy(p, v ? v : "", n);
        p += n;
        *p++ = '\xff';
    }
    *p = '\0';
    return key;
}

// Whether l carries every `equal` label of r (always true unless equal_required).
static bool
s_has_equal(const struct s_rule *r, const struct fw_labels *l)
{
    if (!r->equal_required)
        return true;
    for (size_t k = 0; k < r->equal_len; k++)
        if (!fw_labels_get(l, r->equal[k]))
            return false;
    return true;
}

// Add fp under key, or move its endsAt when it is there already. A resolved alert that is
// not there is left out (it would inhibit nothing).
static void
s_index(zhashx_t *h, const char *key, uint64_t fp, int64_t ends_at, int64_t now)
{
    struct s_sources *ss = zhashx_lookup(h, key);
    size_t lo = 0, hi = ss ? ss->len : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ss->items[mid].fp < fp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (ss && lo < ss->len && ss->items[lo].fp == fp) {
        ss->items[lo].ends_at = ends_at;
        return;
    }
    if (ends_at != 0 && ends_at <= now)
        return;
    if (!ss) {
        ss = fw_calloc(1, sizeof *ss);
        zhashx_insert(h, key, ss);
    }
    if (ss->len == ss->cap) {
        ss->cap = ss->cap ? 2 * ss->cap : 2;
        ss->items = fw_realloc(ss->items, ss->cap * sizeof *ss->items);
    }
    memmove(&ss->items[lo + 1], &ss->items[lo], (ss->len - lo) * sizeof *ss->items);
    ss->items[lo] = (struct s_source){.fp = fp, .ends_at = ends_at};
    ss->len++;
}

// Index a under every rule it is a source of.
static void
s_note(alertd_inhibit_t *self, const struct alertd_alert *a, int64_t now)
{
    self->visits++;
    for (size_t i = 0; i < self->len; i++) {
        struct s_rule *r = &self->rules[i];
        if (!alertd_matchers_match(&r->source, &a->labels) || !s_has_equal(r, &a->labels))
            continue;
        char *key = s_key(r, &a->labels);
        s_index(r->any, key, a->fp, a->ends_at, now);
        if (!alertd_matchers_match(&r->target, &a->labels))
            s_index(r->not_target, key, a->fp, a->ends_at, now);
        free(key);
    }
}

void
alertd_inhibit_update(alertd_inhibit_t *self, alertd_store_t *store, int64_t now)
{
    for (size_t i = 0; i < self->len; i++) {
        zhashx_purge(self->rules[i].any);
        zhashx_purge(self->rules[i].not_target);
    }
    if (self->len == 0)
        return;
    for (const struct alertd_alert *a = alertd_store_first(store); a; a = alertd_store_next(store))
        s_note(self, a, now);
}

void
alertd_inhibit_note(alertd_inhibit_t *self, const struct alertd_alert *a, int64_t now)
{
    if (self->len > 0)
        s_note(self, a, now);
}

// The lowest fingerprint under key still firing at now, or NULL.
static const struct s_source *
s_firing(zhashx_t *h, const char *key, int64_t now)
{
    const struct s_sources *ss = zhashx_lookup(h, key);
    for (size_t k = 0; ss && k < ss->len; k++)
        if (ss->items[k].ends_at == 0 || ss->items[k].ends_at > now)
            return &ss->items[k];
    return NULL;
}

bool
alertd_inhibit_mutes(alertd_inhibit_t *self, const struct fw_labels *l, int64_t now)
{
    return alertd_inhibit_mutes_by(self, l, now, NULL);
}

bool
alertd_inhibit_mutes_by(alertd_inhibit_t *self, const struct fw_labels *l, int64_t now,
                        uint64_t *by)
{
    for (size_t i = 0; i < self->len; i++) {
        struct s_rule *r = &self->rules[i];
        if (zhashx_size(r->any) == 0 || !alertd_matchers_match(&r->target, l) || !s_has_equal(r, l))
            continue;
        char *key = s_key(r, l);
        bool two_sided = alertd_matchers_match(&r->source, l);
        const struct s_source *src = s_firing(two_sided ? r->not_target : r->any, key, now);
        free(key);
        if (src) {
            if (by)
                *by = src->fp;
            return true;
        }
    }
    return false;
}

size_t
alertd_inhibit_visits(const alertd_inhibit_t *self)
{
    return self->visits;
}

size_t
alertd_inhibit_rules(const alertd_inhibit_t *self)
{
    return self->len;
}
