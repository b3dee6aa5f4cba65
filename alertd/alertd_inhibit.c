/*  alertd_inhibit.c — inhibit rules and their index of firing source alerts.

    Per rule, two zhashx maps keyed by the `equal` label values joined with 0xff: every
    firing source alert's key, and the keys of those sources that do not match the rule's
    target matchers (used when the target is itself a source). Each key maps to the lowest
    fingerprint of its sources, the one inhibitedBy names.
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
    zhashx_t *any;        // owned: key -> uint64_t * (lowest source fingerprint)
    zhashx_t *not_target; // owned
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
s_fp_free(void **item)
{
    free(*item);
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
        zhashx_set_destructor(r->any, s_fp_free);
        zhashx_set_destructor(r->not_target, s_fp_free);
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

// Keep the lowest fingerprint seen under key.
static void
s_index(zhashx_t *h, const char *key, uint64_t fp)
{
    uint64_t *have = zhashx_lookup(h, key);
    if (have) {
        if (fp < *have)
            *have = fp;
        return;
    }
    uint64_t *v = fw_malloc(sizeof *v);
    *v = fp;
    zhashx_insert(h, key, v);
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
    for (const struct alertd_alert *a = alertd_store_first(store); a;
         a = alertd_store_next(store)) {
        self->visits++;
        if (alertd_alert_resolved(a, now))
            continue;
        for (size_t i = 0; i < self->len; i++) {
            struct s_rule *r = &self->rules[i];
            if (!alertd_matchers_match(&r->source, &a->labels) || !s_has_equal(r, &a->labels))
                continue;
            char *key = s_key(r, &a->labels);
            s_index(r->any, key, a->fp);
            if (!alertd_matchers_match(&r->target, &a->labels))
                s_index(r->not_target, key, a->fp);
            free(key);
        }
    }
}

bool
alertd_inhibit_mutes(alertd_inhibit_t *self, const struct fw_labels *l)
{
    return alertd_inhibit_mutes_by(self, l, NULL);
}

bool
alertd_inhibit_mutes_by(alertd_inhibit_t *self, const struct fw_labels *l, uint64_t *by)
{
    for (size_t i = 0; i < self->len; i++) {
        struct s_rule *r = &self->rules[i];
        if (zhashx_size(r->any) == 0 || !alertd_matchers_match(&r->target, l) || !s_has_equal(r, l))
            continue;
        char *key = s_key(r, l);
        bool two_sided = alertd_matchers_match(&r->source, l);
        const uint64_t *fp = zhashx_lookup(two_sided ? r->not_target : r->any, key);
        free(key);
        if (fp) {
            if (by)
                *by = *fp;
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
