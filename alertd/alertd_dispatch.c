/*  alertd_dispatch.c — aggregation groups and the notification decision.

    Groups live in a zhashx keyed by their route's id and their group key (two sibling
    routes with the same matchers give the same group key, yet each has its groups, as in
    Alertmanager's aggrGroupsPerRoute); each holds copies of its alerts keyed
    by fingerprint, the time of its next flush, and what its last notification contained
    (looked up in the notification log, alertd_nflog, which outlives groups, reloads and,
    with a state, restarts). Nothing here blocks or reads the clock.
    Groups are also in `due`, a binary min-heap on next_flush, so a tick pops only the groups
    that are due and the next flush time is the heap's top: a tick after a new group's
    group_wait touches that group alone, not every group alertd holds (it walked them all
    twice before, a third of the flush's CPU with a few hundred groups).
*/
#include <czmq.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "alertd_cfg_receivers.h"
#include "alertd_dispatch.h"
#include "alertd_fptab.h"
#include "fw_hash.h"
#include "fw_mem.h"

#define S_MAX_ROUTES 64

// A group's key in groups: its route and its labels. A lookup passes an alert's labels
// instead, which hash and compare alike (s_slot_hash, s_slot_cmp), so finding an alert's
// group allocates nothing.
struct s_slot {
    const struct alertd_route *route;
    const struct fw_labels *labels;
};

struct s_group {
    const struct alertd_route *route; // borrowed from the tree
    char *key;                        // owned: the group key (payload, notification log)
    struct s_slot slot;               // the key in groups (route, &labels)
    struct fw_labels labels;          // owned: the group labels
    alertd_fptab_t *alerts;           // owned: the group's alerts (shared with the store)
    int64_t next_flush;
    bool has_flushed;
    bool waiting;   // due since due_at, waiting out the cluster wait
    int64_t due_at; // when it fell due (waiting)
    size_t heap_at; // its index in the dispatcher's due heap
};

struct alertd_dispatch {
    const struct alertd_cfg *cfg;    // borrowed
    const struct alertd_route *tree; // borrowed
    char *external_url;              // owned
    zhashx_t *groups;                // owned: struct s_slot -> struct s_group *
    alertd_muted_fn muted;
    void *muted_arg;
    struct s_group **due; // owned array of borrowed groups: min-heap on next_flush
    size_t due_len, due_cap;
    struct s_group **work; // owned scratch for a tick's due groups (cap due_cap)
    size_t visited;        // groups the last tick looked at
    alertd_nflog_t *nflog; // borrowed (set_nflog) or own_nflog
    alertd_nflog_t *own_nflog;
    // What a mark on an alert (its grouped field) means: every group it routes to holds it
    // and has flushed. A new one (s_next_epoch) whenever a group lets an alert go.
    uint64_t epoch;
    alertd_wait_fn wait; // NULL: no wait
    void *wait_arg;
    alertd_id_fn id; // NULL: notifications get no id here
    void *id_arg;
};

// Epochs come from one counter for the process, so a mark left by a dispatcher replaced on
// reload never matches its successor's epoch (which could sit at the same address).
static atomic_uint_fast64_t s_epochs = 1;

static uint64_t
s_next_epoch(void)
{
    return (uint64_t)atomic_fetch_add(&s_epochs, 1);
}

static void
s_group_free(void **item)
{
    struct s_group *g = *item;
    if (g) {
        free(g->key);
        fw_labels_clear(&g->labels);
        alertd_fptab_destroy(&g->alerts);
        free(g);
    }
    *item = NULL;
}

// The value of group_by[i] in l, "" when absent (an empty label is an absent one).
static const char *
s_group_value(const struct alertd_route *r, const struct fw_labels *l, size_t i)
{
    const char *v = fw_labels_get(l, r->group_by[i]);
    return v ? v : "";
}

static size_t
s_slot_hash(const void *key)
{
    const struct s_slot *k = key;
    const struct alertd_route *r = k->route;
    uint64_t h = fw_hash64(&r, sizeof r);
    if (r->group_by_all) {
        for (size_t i = 0; i < k->labels->len; i++) {
            const struct fw_label *l = &k->labels->items[i];
            h = fw_hash64_seed(l->name, strlen(l->name) + 1, h);
            h = fw_hash64_seed(l->value, strlen(l->value) + 1, h);
        }
        return (size_t)h;
    }
    for (size_t i = 0; i < r->group_by_len; i++) {
        const char *v = s_group_value(r, k->labels, i);
        h = fw_hash64_seed(v, strlen(v) + 1, h);
    }
    return (size_t)h;
}

static int
s_slot_cmp(const void *a, const void *b)
{
    const struct s_slot *x = a, *y = b;
    if (x->route != y->route)
        return x->route < y->route ? -1 : 1;
    const struct alertd_route *r = x->route;
    if (r->group_by_all)
        return fw_labels_cmp(x->labels, y->labels);
    for (size_t i = 0; i < r->group_by_len; i++) {
        int c = strcmp(s_group_value(r, x->labels, i), s_group_value(r, y->labels, i));
        if (c)
            return c;
    }
    return 0;
}

alertd_dispatch_t *
alertd_dispatch_new(const struct alertd_cfg *cfg, const struct alertd_route *tree,
                    const char *external_url)
{
    alertd_dispatch_t *self = fw_calloc(1, sizeof *self);
    self->cfg = cfg;
    self->tree = tree;
    self->external_url = fw_strdup(external_url ? external_url : "");
    self->groups = zhashx_new();
    zhashx_set_destructor(self->groups, s_group_free);
    zhashx_set_key_duplicator(self->groups, NULL); // the key lives in its group
    zhashx_set_key_destructor(self->groups, NULL);
    zhashx_set_key_hasher(self->groups, s_slot_hash);
    zhashx_set_key_comparator(self->groups, s_slot_cmp);
    self->own_nflog = alertd_nflog_new(NULL, INT64_MAX / 4);
    self->nflog = self->own_nflog;
    self->epoch = s_next_epoch();
    return self;
}

void
alertd_dispatch_set_nflog(alertd_dispatch_t *self, alertd_nflog_t *nflog)
{
    self->nflog = nflog ? nflog : self->own_nflog;
}

void
alertd_dispatch_destroy(alertd_dispatch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_dispatch_t *self = *self_p;
    zhashx_destroy(&self->groups);
    free(self->due);
    free(self->work);
    alertd_nflog_destroy(&self->own_nflog);
    free(self->external_url);
    free(self);
    *self_p = NULL;
}

void
alertd_dispatch_set_wait(alertd_dispatch_t *self, alertd_wait_fn fn, void *arg)
{
    self->wait = fn;
    self->wait_arg = arg;
}

void
alertd_dispatch_set_ids(alertd_dispatch_t *self, alertd_id_fn fn, void *arg)
{
    self->id = fn;
    self->id_arg = arg;
}

void
alertd_dispatch_set_muted(alertd_dispatch_t *self, alertd_muted_fn fn, void *arg)
{
    self->muted = fn;
    self->muted_arg = arg;
}

char *
alertd_group_key(const struct alertd_route *route, const struct fw_labels *group_labels)
{
    char *buf = fw_asprintf("%s:{", route->key);
    for (size_t i = 0; i < group_labels->len; i++) {
        char *pre = fw_asprintf("%s%s%s=", buf, i ? ", " : "", group_labels->items[i].name);
        free(buf);
        buf = alertd_quote_append(pre, group_labels->items[i].value);
    }
    char *out = fw_asprintf("%s}", buf);
    free(buf);
    return out;
}

static void
s_group_labels(const struct alertd_route *r, const struct fw_labels *l, struct fw_labels *out)
{
    if (r->group_by_all) {
        fw_labels_copy(out, l);
        return;
    }
    for (size_t i = 0; i < r->group_by_len; i++) {
        const char *v = fw_labels_get(l, r->group_by[i]);
        if (v)
            fw_labels_set(out, r->group_by[i], v);
    }
}

// --- the due heap ---

static void
s_heap_place(alertd_dispatch_t *self, struct s_group *g, size_t i)
{
    self->due[i] = g;
    g->heap_at = i;
}

// Move the group at i up while it is due before its parent.
static void
s_heap_up(alertd_dispatch_t *self, size_t i)
{
    struct s_group *g = self->due[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (self->due[parent]->next_flush <= g->next_flush)
            break;
        s_heap_place(self, self->due[parent], i);
        i = parent;
    }
    s_heap_place(self, g, i);
}

// Move the group at i down while a child is due before it.
static void
s_heap_down(alertd_dispatch_t *self, size_t i)
{
    struct s_group *g = self->due[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= self->due_len)
            break;
        if (c + 1 < self->due_len && self->due[c + 1]->next_flush < self->due[c]->next_flush)
            c++;
        if (g->next_flush <= self->due[c]->next_flush)
            break;
        s_heap_place(self, self->due[c], i);
        i = c;
    }
    s_heap_place(self, g, i);
}

static void
s_heap_push(alertd_dispatch_t *self, struct s_group *g)
{
    if (self->due_len == self->due_cap) {
        self->due_cap = self->due_cap ? 2 * self->due_cap : 16;
        self->due = fw_realloc(self->due, self->due_cap * sizeof *self->due);
        self->work = fw_realloc(self->work, self->due_cap * sizeof *self->work);
    }
    self->due[self->due_len++] = g;
    s_heap_up(self, self->due_len - 1);
}

static struct s_group *
s_heap_pop(alertd_dispatch_t *self)
{
    struct s_group *top = self->due[0];
    if (--self->due_len > 0) {
        s_heap_place(self, self->due[self->due_len], 0);
        s_heap_down(self, 0);
    }
    return top;
}

void
alertd_dispatch_insert(alertd_dispatch_t *self, const struct alertd_alert *a, int64_t now)
{
    if (a->grouped == self->epoch)
        return; // each of its groups holds it, and none can flush early for it
    const struct alertd_route *routes[S_MAX_ROUTES];
    size_t n = alertd_route_match(self->tree, &a->labels, routes, S_MAX_ROUTES);
    bool settled = n > 0 && a->refs > 0; // the groups hold a itself, not a copy
    for (size_t i = 0; i < n; i++) {
        const struct alertd_route *r = routes[i];
        struct s_slot want = {r, &a->labels};
        struct s_group *g = zhashx_lookup(self->groups, &want);
        if (!g) {
            g = fw_calloc(1, sizeof *g);
            g->route = r;
            s_group_labels(r, &a->labels, &g->labels);
            g->key = alertd_group_key(r, &g->labels);
            g->slot = (struct s_slot){r, &g->labels};
            g->alerts = alertd_fptab_new();
            g->next_flush = now + r->group_wait_ms;
            zhashx_insert(self->groups, &g->slot, g);
            s_heap_push(self, g);
        }
        if (alertd_fptab_get(g->alerts, a->fp) != a) // a re-sent alert is held already
            alertd_fptab_set(g->alerts, alertd_alert_hold(a));
        // An alert older than group_wait is not held back (aggrGroup.insert).
        if (!g->has_flushed && !g->waiting && a->starts_at + r->group_wait_ms < now &&
            g->next_flush > now) {
            g->next_flush = now;
            s_heap_up(self, g->heap_at);
        }
        settled = settled && g->has_flushed;
    }
    if (settled)
        ((struct alertd_alert *)a)->grouped = self->epoch; // only the mark changes
}

// --- flush ---

static int
s_u64cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

// True when every element of sub is in set (both sorted).
static bool
s_subset(const uint64_t *set, size_t set_len, const uint64_t *sub, size_t sub_len)
{
    size_t i = 0;
    for (size_t j = 0; j < sub_len; j++) {
        while (i < set_len && set[i] < sub[j])
            i++;
        if (i == set_len || set[i] != sub[j])
            return false;
    }
    return true;
}

static int
s_alert_order(const void *pa, const void *pb)
{
    const struct alertd_alert *a = *(const struct alertd_alert *const *)pa;
    const struct alertd_alert *b = *(const struct alertd_alert *const *)pb;
    static const char *const keys[] = {"job", "instance"};
    for (size_t i = 0; i < 2; i++) {
        const char *x = fw_labels_get(&a->labels, keys[i]);
        const char *y = fw_labels_get(&b->labels, keys[i]);
        if (x && y && strcmp(x, y) != 0)
            return strcmp(x, y);
    }
    return fw_labels_cmp(&a->labels, &b->labels);
}

json_t *
alertd_alert_webhook_json(const struct alertd_alert *a, int64_t now)
{
    char sb[40], eb[40], fp[17];
    bool resolved = alertd_alert_resolved(a, now);
    if (!resolved && a->webhook)
        return json_incref(a->webhook);
    // Label names and values were checked (names, UTF-8) as the alert came in: no check here.
    json_t *labels = json_object();
    for (size_t i = 0; i < a->labels.len; i++)
        json_object_set_new_nocheck(labels, a->labels.items[i].name, // steals
                                    json_string_nocheck(a->labels.items[i].value));
    // The alert's annotations object is never changed (alertd_store.h), so the webhook
    // object shares it, as alerts of one rule share theirs (alertd_json): a copy was an
    // object, its table and three allocations a pair, for each new alert's first flush.
    // json_pack's "o" steals labels and the annotations reference.
    json_t *j = json_pack(
        "{s:s, s:o, s:o, s:s, s:s, s:s, s:s}", "status", resolved ? "resolved" : "firing", "labels",
        labels, "annotations", a->annotations ? json_incref(a->annotations) : json_object(),
        "startsAt", alertd_time_str_go(a->starts_at, sb, sizeof sb), "endsAt",
        alertd_time_str_go(resolved ? a->ends_at : 0, eb, sizeof eb), "generatorURL",
        a->generator_url ? a->generator_url : "", "fingerprint", alertd_fp_str(a->fp, fp));
    // Only refs and this cache change on a shared alert (the daemon lock is held).
    if (!resolved && a->refs > 0)
        ((struct alertd_alert *)a)->webhook = json_incref(j);
    return j;
}

static json_t *
s_common_annotations(struct alertd_alert **v, size_t n)
{
    json_t *common = json_object();
    if (n == 0)
        return common;
    const char *k;
    json_t *val;
    json_object_foreach(v[0]->annotations, k, val)
    {
        bool all = true;
        for (size_t i = 1; i < n && all; i++) {
            json_t *o = json_object_get(v[i]->annotations, k);
            all = o && json_equal(o, val);
        }
        if (all)
            json_object_set(common, k, val);
    }
    return common;
}

static json_t *
s_payload(alertd_dispatch_t *self, struct s_group *g, struct alertd_alert **v, size_t n,
          bool firing, int64_t now)
{
    struct fw_labels common = FW_LABELS_INIT;
    if (n > 0)
        fw_labels_copy(&common, &v[0]->labels);
    for (size_t i = 1; i < n; i++)
        for (size_t j = common.len; j-- > 0;) {
            const char *x = fw_labels_get(&v[i]->labels, common.items[j].name);
            if (!x || strcmp(x, common.items[j].value) != 0)
                fw_labels_del(&common, common.items[j].name);
        }
    json_t *alerts = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(alerts, alertd_alert_webhook_json(v[i], now)); // steals
    json_t *p = json_pack(
        "{s:s, s:s, s:i, s:s, s:s, s:o, s:o, s:o, s:s, s:o}", "version", "4", "groupKey", g->key,
        "truncatedAlerts", 0, "status", firing ? "firing" : "resolved", "receiver",
        g->route->receiver, "groupLabels", fw_labels_json(&g->labels), "commonLabels",
        fw_labels_json(&common), "commonAnnotations", s_common_annotations(v, n), "externalURL",
        self->external_url, "alerts", alerts); // "o" steals each object
    fw_labels_clear(&common);
    return p;
}

static json_t *
s_webhook_configs(const struct alertd_cfg_receiver *rcv)
{
    json_t *arr = json_array();
    for (size_t i = 0; rcv && i < rcv->webhooks_len; i++) {
        const struct alertd_cfg_webhook *w = &rcv->webhooks[i];
        json_t *wc = json_pack("{s:s, s:b, s:I, s:b}", "url", w->url ? w->url : "", "send_resolved",
                               w->send_resolved, "max_alerts", (json_int_t)w->max_alerts,
                               "follow_redirects", w->follow_redirects);
        if (w->authorization)
            json_object_set_new(wc, "authorization", json_string(w->authorization)); // steals
        if (w->http_json) // tls, proxy: the rest of the effective http_config (alertd_cfg_http)
            json_object_set(wc, "http_config", w->http_json);
        json_array_append_new(arr, wc); // steals
    }
    return arr;
}

// True when the route's time intervals mute notifications at now (TimeMuteStage and
// TimeActiveStage).
static bool
s_route_time_muted(alertd_dispatch_t *self, const struct alertd_route *r, int64_t now)
{
    for (size_t i = 0; i < r->mute_time_intervals_len; i++)
        if (alertd_cfg_in_interval(self->cfg, r->mute_time_intervals[i], now))
            return true;
    if (r->active_time_intervals_len == 0)
        return false;
    for (size_t i = 0; i < r->active_time_intervals_len; i++)
        if (alertd_cfg_in_interval(self->cfg, r->active_time_intervals[i], now))
            return false;
    return true;
}

static void *
s_key_dup(const void *item)
{
    return fw_strdup(item);
}

static void
s_key_free(void **item)
{
    free(*item);
    *item = NULL;
}

// Whether an integration whose log entry is e (NULL: none) needs this flush's notification
// (Alertmanager's DedupStage.needsUpdate).
static bool
s_needs(const struct alertd_nflog_entry *e, bool send_resolved, const uint64_t *firing, size_t nf,
        const uint64_t *resolved, size_t nr, int64_t repeat_ms, int64_t now)
{
    if (!e)
        return nf > 0;
    if (e->failed)
        return true; // the last notification failed: as if it had not been logged
    if (!s_subset(e->firing, e->firing_len, firing, nf))
        return true;
    if (nf == 0)
        return e->firing_len > 0;
    if (send_resolved && !s_subset(e->resolved, e->resolved_len, resolved, nr))
        return true;
    return e->at + repeat_ms <= now;
}

// Keep in notify's integration arrays only the configs whose own log entry (receiver +
// "/" + integration + "/" + index, Alertmanager's nflog receiver key; before it, an entry
// of the whole receiver, which is what older alertd logged) says they need this flush, and
// set "integrations" to each kept array's config indexes. A receiver without integrations
// is judged by its own entry. Appends the log keys of what is kept to keys; returns how many.
static size_t
s_due(alertd_dispatch_t *self, const struct s_group *g, json_t *notify, const uint64_t *firing,
      size_t nf, const uint64_t *resolved, size_t nr, int64_t now, zlistx_t *keys)
{
    const char *receiver = g->route->receiver;
    int64_t repeat = g->route->repeat_interval_ms;
    const struct alertd_nflog_entry *legacy = alertd_nflog_get(self->nflog, receiver, g->key, now);
    json_t *map = json_object();
    size_t configs = 0;
    for (size_t k = 0; k < ALERTD_NFLOG_INTEGRATIONS; k++) {
        const char *array = alertd_nflog_integrations[k][0];
        json_t *arr = json_object_get(notify, array);
        if (json_array_size(arr) == 0)
            continue;
        json_t *kept = json_array(), *idx = json_array();
        size_t i;
        json_t *c;
        json_array_foreach(arr, i, c)
        {
            configs++;
            char *key = fw_asprintf("%s/%s/%zu", receiver, alertd_nflog_integrations[k][1], i);
            const struct alertd_nflog_entry *e = alertd_nflog_get(self->nflog, key, g->key, now);
            const json_t *sr = json_object_get(c, "send_resolved");
            if (s_needs(e ? e : legacy, !sr || json_is_true(sr), firing, nf, resolved, nr, repeat,
                        now)) {
                json_array_append(kept, c);
                json_array_append_new(idx, json_integer((json_int_t)i)); // steals
                zlistx_add_end(keys, key);
            }
            free(key);
        }
        json_object_set_new(notify, array, kept); // steals
        if (json_array_size(idx) > 0)
            json_object_set_new(map, array, idx); // steals
        else
            json_decref(idx);
    }
    if (configs == 0 && s_needs(legacy, true, firing, nf, resolved, nr, repeat, now))
        zlistx_add_end(keys, (void *)receiver);
    json_object_set_new(notify, "integrations", map); // steals
    return zlistx_size(keys);
}

static bool
s_resolved_at(const struct alertd_alert *a, void *now)
{
    return alertd_alert_resolved(a, *(const int64_t *)now);
}

// Flush one group; returns true when it is now empty.
static bool
s_flush(alertd_dispatch_t *self, struct s_group *g, int64_t now, json_t *out, size_t *count)
{
    // Alertmanager resets the group's timer before the flush's wait, so the next flush comes
    // group_interval after the group fell due, or at once when the wait took longer.
    int64_t base = g->waiting ? g->due_at : now;
    g->next_flush = base + g->route->group_interval_ms;
    if (g->next_flush < now)
        g->next_flush = now;
    g->waiting = false;
    g->has_flushed = true;
    size_t total = alertd_fptab_size(g->alerts), n = 0, nf = 0, nr = 0;
    struct alertd_alert **v = fw_calloc(total + 1, sizeof *v);
    uint64_t *firing = fw_calloc(total + 1, sizeof *firing);
    uint64_t *resolved = fw_calloc(total + 1, sizeof *resolved);
    for (struct alertd_alert *a = alertd_fptab_first(g->alerts); a;
         a = alertd_fptab_next(g->alerts)) {
        if (self->muted && self->muted(a, now, self->muted_arg))
            continue;
        v[n++] = a;
        if (alertd_alert_resolved(a, now))
            resolved[nr++] = a->fp;
        else
            firing[nf++] = a->fp;
    }
    qsort(firing, nf, sizeof *firing, s_u64cmp);
    qsort(resolved, nr, sizeof *resolved, s_u64cmp);
    const struct alertd_cfg_receiver *rcv = alertd_cfg_receiver(self->cfg, g->route->receiver);
    zlistx_t *keys = zlistx_new();
    zlistx_set_duplicator(keys, s_key_dup);
    zlistx_set_destructor(keys, s_key_free);
    json_t *notify = json_pack("{s:s, s:o}", "receiver", g->route->receiver, "webhook_configs",
                               s_webhook_configs(rcv)); // "o" steals
    alertd_cfg_email_notify(rcv, notify);
    alertd_cfg_receivers_notify(rcv, notify);
    // A muted time drops the notification without recording it, so it goes out once the
    // interval ends (if still relevant).
    if (n > 0 && !s_route_time_muted(self, g->route, now) &&
        s_due(self, g, notify, firing, nf, resolved, nr, now, keys) > 0) {
        qsort(v, n, sizeof *v, s_alert_order);
        json_object_set_new(notify, "payload", s_payload(self, g, v, n, nf > 0, now)); // steals
        // Named here, so its log entries are written once, with the id, in the commit before
        // the NOTIFY leaves; naming them later rewrote each one.
        char id[ALERTD_NOTIFY_ID_MAX] = "";
        if (self->id) {
            self->id(self->id_arg, id);
            json_object_set_new(notify, "id", json_string(id)); // steals
        }
        json_array_append(out, notify);
        (*count)++;
        for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys)) {
            uint64_t *f = fw_calloc(nf + 1, sizeof *f), *r = fw_calloc(nr + 1, sizeof *r);
            memcpy(f, firing, nf * sizeof *f);
            memcpy(r, resolved, nr * sizeof *r);
            alertd_nflog_log(self->nflog, k, g->key, f, nf, r, nr, *id ? id : NULL, now);
        }
    }
    json_decref(notify);
    zlistx_destroy(&keys);
    free(firing);
    free(resolved);
    free(v);
    // Resolved alerts leave the group once flushed (aggrGroup.flush DeleteIfNotModified).
    if (alertd_fptab_drop_if(g->alerts, s_resolved_at, &now) > 0)
        self->epoch = s_next_epoch(); // a dropped alert sent again must come back in
    return alertd_fptab_size(g->alerts) == 0;
}

size_t
alertd_dispatch_tick(alertd_dispatch_t *self, int64_t now, json_t *out)
{
    // Take the due groups off the heap first, so a group flushed with next_flush == now
    // (group_interval 0) is looked at once per tick, as before.
    size_t n = 0;
    while (self->due_len > 0 && self->due[0]->next_flush <= now)
        self->work[n++] = s_heap_pop(self);
    self->visited = n;
    size_t count = 0;
    int64_t wait = -1; // asked once per tick, when a group falls due
    for (size_t i = 0; i < n; i++) {
        struct s_group *g = self->work[i];
        if (!g->waiting && self->wait) {
            if (wait < 0)
                wait = self->wait(self->wait_arg, now);
            if (wait > 0) {
                g->waiting = true;
                g->due_at = now;
                g->next_flush = now + wait;
                s_heap_push(self, g);
                continue;
            }
        }
        if (s_flush(self, g, now, out, &count))
            zhashx_delete(self->groups, &g->slot); // frees g
        else
            s_heap_push(self, g);
    }
    return count;
}

int64_t
alertd_dispatch_next(alertd_dispatch_t *self)
{
    return self->due_len > 0 ? self->due[0]->next_flush : INT64_MAX;
}

size_t
alertd_dispatch_visited(alertd_dispatch_t *self)
{
    return self->visited;
}

size_t
alertd_dispatch_groups(alertd_dispatch_t *self)
{
    return zhashx_size(self->groups);
}

json_t *
alertd_dispatch_receivers_of(alertd_dispatch_t *self, const struct fw_labels *l)
{
    const struct alertd_route *routes[S_MAX_ROUTES];
    size_t n = alertd_route_match(self->tree, l, routes, S_MAX_ROUTES);
    json_t *arr = json_array();
    // One a matched route, twice when two routes name the same receiver, as Alertmanager's
    // getAlerts lists them (route.Match, then each route's RouteOpts.Receiver).
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:s}", "name", routes[i]->receiver)); // steals
    return arr;
}

json_t *
alertd_dispatch_groups_json(alertd_dispatch_t *self, alertd_alert_render_fn fn, void *arg)
{
    json_t *arr = json_array();
    for (struct s_group *g = zhashx_first(self->groups); g; g = zhashx_next(self->groups)) {
        json_t *alerts = json_array();
        for (struct alertd_alert *a = alertd_fptab_first(g->alerts); a;
             a = alertd_fptab_next(g->alerts)) {
            json_t *j = fn(a, arg);
            if (j)
                json_array_append_new(alerts, j); // steals
        }
        json_array_append_new(arr,
                              json_pack("{s:o, s:{s:s}, s:o}", "labels", fw_labels_json(&g->labels),
                                        "receiver", "name", g->route->receiver, "alerts", alerts));
    }
    return arr;
}
