/*  alertd_nflog.c — the notification log in memory (a zhashx keyed "receiver\ngroup key")
    and its records in the state's "nflog" database.

    A record's key is the 16-hex-digit XXH3 of "receiver\0group key" (LMDB keys are short;
    group keys are not); its value is JSON: {"receiver","groupKey","at","firing":[fp hex],
    "resolved":[fp hex]}, so a record names its entry fully and a hash collision is harmless
    (the later entry replaces the earlier, which costs at most one repeated notification).

    The history's records are keyed "h" + 16 hex digits of the time (ms) + 8 of a sequence,
    so they sort after the entries and in time order; the value is the record's JSON as the
    query answers it. In memory they are a zlist in time order.
*/
#include <czmq.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "alertd_nflog.h"
#include "alertd_store.h"
#include "fw_hash.h"
#include "fw_json_dump.h"
#include "fw_json_out.h"
#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"

#define S_HISTORY_KEY_LEN 25 // "h" + 16 + 8

struct alertd_nflog {
    alertd_state_t *state; // borrowed, may be NULL
    int64_t retention_ms;
    zhashx_t *entries; // owned: "receiver\ngroup key" -> struct s_entry *
    zlist_t *history;  // owned: struct s_note *, oldest first
    zhashx_t *by_id;   // the history's notes by notification id (borrowed from history)
    uint32_t seq;      // the next history key's sequence
    zhashx_t *changed; // owned, or NULL when not tracking: keys of entries changed here
    char *text;        // owned: an entry's record as written, reused (s_entry_text)
    size_t text_len, text_cap;
    uint64_t entry_writes; // entry records written into the state
};

// One notification record of the history.
struct s_note {
    int64_t at, expires_at;
    char key[S_HISTORY_KEY_LEN + 1];
    json_t *j; // owned: the record as the query shows it
};

static void
s_note_free(void **item)
{
    struct s_note *n = *item;
    if (n) {
        json_decref(n->j);
        free(n);
    }
    *item = NULL;
}

struct s_entry {
    struct alertd_nflog_entry e;
    char *receiver, *group_key; // owned
    char *nid;                  // owned: the id of the NOTIFY that logged it, or NULL
};

static void
s_entry_free(void **item)
{
    struct s_entry *x = *item;
    if (x) {
        free(x->e.firing);
        free(x->e.resolved);
        free(x->receiver);
        free(x->group_key);
        free(x->nid);
        free(x);
    }
    *item = NULL;
}

alertd_nflog_t *
alertd_nflog_new(alertd_state_t *state, int64_t retention_ms)
{
    alertd_nflog_t *self = fw_calloc(1, sizeof *self);
    self->state = state;
    self->retention_ms = retention_ms;
    self->entries = zhashx_new();
    zhashx_set_destructor(self->entries, s_entry_free);
    self->history = zlist_new();
    self->by_id = zhashx_new();
    return self;
}

void
alertd_nflog_destroy(alertd_nflog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->entries);
    zhashx_destroy(&(*self_p)->by_id);
    zhashx_destroy(&(*self_p)->changed);
    zlist_t *h = (*self_p)->history;
    for (void *n = zlist_first(h); n; n = zlist_next(h))
        s_note_free(&n);
    zlist_destroy(&(*self_p)->history);
    free((*self_p)->text);
    free(*self_p);
    *self_p = NULL;
}

static void
s_record_key(const char *receiver, const char *group_key, char out[17])
{
    size_t rl = strlen(receiver), gl = strlen(group_key);
    char *buf = fw_malloc(rl + gl + 1);
    memcpy(buf, receiver, rl + 1);
    memcpy(buf + rl + 1, group_key, gl);
    snprintf(out, 17, "%016llx", (unsigned long long)fw_hash64(buf, rl + 1 + gl));
    free(buf);
}

static json_t *
s_fps_json(const uint64_t *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char b[17];
        snprintf(b, sizeof b, "%016llx", (unsigned long long)v[i]);
        json_array_append_new(a, json_string(b)); // steals
    }
    return a;
}

static int
s_u64cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

// Sorted fingerprints from a JSON array of hex strings; -1 when anything is off.
static int
s_fps_parse(const json_t *a, uint64_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!json_is_array(a))
        return -1;
    size_t n = json_array_size(a), i;
    uint64_t *v = fw_calloc(n + 1, sizeof *v);
    const json_t *s;
    json_array_foreach(a, i, s)
    {
        const char *t = json_string_value(s);
        char *end;
        if (!t || strlen(t) != 16) {
            free(v);
            return -1;
        }
        v[i] = strtoull(t, &end, 16);
        if (*end) {
            free(v);
            return -1;
        }
    }
    qsort(v, n, sizeof *v, s_u64cmp);
    *out = v;
    *len = n;
    return 0;
}

// The entries' key, receiver "\n" group key, into buf when it fits (*heap NULL), else into a
// copy the caller frees through *heap: a lookup on the flush path allocates and formats
// nothing.
static const char *
s_entry_key(char *buf, size_t cap, const char *receiver, const char *group_key, char **heap)
{
    size_t r = strlen(receiver), g = strlen(group_key);
    char *k = buf;
    *heap = NULL;
    if (r + g + 2 > cap)
        k = *heap = fw_malloc(r + g + 2);
    memcpy(k, receiver, r);
    k[r] = '\n';
    memcpy(k + r + 1, group_key, g + 1);
    return k;
}

static void
s_set(alertd_nflog_t *self, struct s_entry *x)
{
    char kb[256], *kh;
    const char *k = s_entry_key(kb, sizeof kb, x->receiver, x->group_key, &kh);
    zhashx_update(self->entries, k, x);
    free(kh);
}

// x as JSON: {"receiver","groupKey","at","firing","resolved"}, "failed" when it failed,
// and with local, the id of the NOTIFY that logged it; else (the mesh form) "expiresAt".
static json_t *
s_entry_json(const struct s_entry *x, bool local)
{
    json_t *j =
        json_pack("{s:s, s:s, s:I, s:o, s:o}", "receiver", x->receiver, "groupKey", x->group_key,
                  "at", (json_int_t)x->e.at, "firing", s_fps_json(x->e.firing, x->e.firing_len),
                  "resolved", s_fps_json(x->e.resolved, x->e.resolved_len)); // "o" steals
    if (local && x->nid)
        json_object_set_new(j, "id", json_string(x->nid)); // steals
    if (!local)
        json_object_set_new(j, "expiresAt", json_integer(x->e.expires_at)); // steals
    if (x->e.failed)
        json_object_set_new(j, "failed", json_true()); // steals
    return j;
}

// An entry from its JSON (s_entry_json's forms; local: the id may be there, else expiresAt
// must be), or NULL when anything is off.
static struct s_entry *
s_entry_parse(const json_t *j, bool local)
{
    const char *rcv = json_string_value(json_object_get(j, "receiver"));
    const char *gk = json_string_value(json_object_get(j, "groupKey"));
    const json_t *at = json_object_get(j, "at");
    const json_t *exp = json_object_get(j, "expiresAt");
    const json_t *failed = json_object_get(j, "failed");
    struct s_entry *x = fw_calloc(1, sizeof *x);
    if (!rcv || !gk || !json_is_integer(at) || (!local && !json_is_integer(exp)) ||
        (failed && !json_is_boolean(failed)) ||
        s_fps_parse(json_object_get(j, "firing"), &x->e.firing, &x->e.firing_len) < 0 ||
        s_fps_parse(json_object_get(j, "resolved"), &x->e.resolved, &x->e.resolved_len) < 0) {
        void *p = x;
        s_entry_free(&p);
        return NULL;
    }
    x->receiver = fw_strdup(rcv);
    x->group_key = fw_strdup(gk);
    x->e.at = json_integer_value(at);
    x->e.expires_at = local ? 0 : json_integer_value(exp);
    x->e.failed = json_is_true(failed);
    const char *nid = local ? json_string_value(json_object_get(j, "id")) : NULL;
    x->nid = nid ? fw_strdup(nid) : NULL;
    return x;
}

struct s_load {
    alertd_nflog_t *self;
    int64_t now;
    size_t bad;
};

static void s_history_append(alertd_nflog_t *self, struct s_note *n);

// Drop n from the id index (when it is the note indexed under its id).
static void
s_note_unindex(alertd_nflog_t *self, const struct s_note *n)
{
    const char *nid = json_string_value(json_object_get(n->j, "id"));
    if (nid && zhashx_lookup(self->by_id, nid) == n)
        zhashx_delete(self->by_id, nid);
}

// A history record read back: its time and sequence from the key, the JSON as stored.
static void
s_load_note(struct s_load *l, const char *key, int64_t expires_at, const char *val, size_t len)
{
    char at_hex[17], seq_hex[9], *end1, *end2;
    memcpy(at_hex, key + 1, 16);
    at_hex[16] = '\0';
    memcpy(seq_hex, key + 17, 8);
    seq_hex[8] = '\0';
    unsigned long long at = strtoull(at_hex, &end1, 16);
    unsigned long seq = strtoul(seq_hex, &end2, 16);
    json_t *j = json_loadb(val, len, 0, NULL);
    if (*end1 || *end2 || !json_is_object(j) ||
        !json_is_string(json_object_get(json_object_get(j, "receiver"), "name"))) {
        json_decref(j);
        l->bad++;
        return;
    }
    struct s_note *n = fw_calloc(1, sizeof *n);
    n->at = (int64_t)at;
    n->expires_at = expires_at;
    memcpy(n->key, key, S_HISTORY_KEY_LEN);
    n->j = j;
    s_history_append(l->self, n);
    if ((uint32_t)seq >= l->self->seq)
        l->self->seq = (uint32_t)seq + 1;
}

static int
s_load_one(const char *key, size_t key_len, int64_t expires_at, const char *val, size_t len,
           void *arg)
{
    struct s_load *l = arg;
    if (expires_at <= l->now)
        return 0;
    if (key_len == S_HISTORY_KEY_LEN && key[0] == 'h') {
        s_load_note(l, key, expires_at, val, len);
        return 0;
    }
    json_t *j = json_loadb(val, len, 0, NULL);
    struct s_entry *x = s_entry_parse(j, true);
    json_decref(j);
    if (!x) {
        l->bad++;
        return 0;
    }
    x->e.expires_at = expires_at;
    s_set(l->self, x);
    return 0;
}

static const char *s_str(const json_t *j, const char *key);

// The integration index (alertd_nflog_integrations) of an entry receiver
// "<receiver>/<integration>/<index>", its receiver's name's length in *name_len; -1 (and
// the whole length) for a receiver's own entry.
static int
s_entry_integration(const char *receiver, size_t *name_len)
{
    size_t len = strlen(receiver);
    *name_len = len;
    const char *last = strrchr(receiver, '/');
    if (!last || !last[1] || strspn(last + 1, "0123456789") != strlen(last + 1))
        return -1;
    const char *mid = last;
    while (mid > receiver && mid[-1] != '/')
        mid--;
    if (mid == receiver)
        return -1;
    for (int i = 0; i < ALERTD_NFLOG_INTEGRATIONS; i++) {
        const char *name = alertd_nflog_integrations[i][1];
        if ((size_t)(last - mid) == strlen(name) && memcmp(mid, name, strlen(name)) == 0) {
            *name_len = (size_t)(mid - 1 - receiver);
            return i;
        }
    }
    return -1;
}

// A record rebuilt from the entries of one unrecorded notification.
struct s_rebuilt {
    struct s_note *n;
    unsigned integrations; // bit i: alertd_nflog_integrations[i]
};

static void
s_rebuilt_free(void **item)
{
    free(*item); // its note went to the history
    *item = NULL;
}

static int
s_rebuilt_cmp(void *a, void *b)
{
    int64_t x = ((struct s_rebuilt *)a)->n->at, y = ((struct s_rebuilt *)b)->n->at;
    return x < y ? -1 : x > y;
}

// A record for the notification x's entry names, made from the entry (its receiver, group
// key and fingerprints; group labels unknown), "sent" and "recovered".
static struct s_note *
s_note_from_entry(alertd_nflog_t *self, const struct s_entry *x, size_t name_len)
{
    char ts[40];
    char *name = fw_asprintf("%.*s", (int)name_len, x->receiver);
    json_t *alerts = json_array();
    for (size_t i = 0; i < x->e.firing_len + x->e.resolved_len; i++) {
        bool firing = i < x->e.firing_len;
        char fp[17];
        snprintf(
            fp, sizeof fp, "%016llx",
            (unsigned long long)(firing ? x->e.firing[i] : x->e.resolved[i - x->e.firing_len]));
        json_array_append_new(alerts, json_pack("{s:s, s:s}", "fingerprint", fp, "status",
                                                firing ? "firing" : "resolved")); // steals
    }
    struct s_note *n = fw_calloc(1, sizeof *n);
    n->at = x->e.at;
    n->expires_at = x->e.expires_at;
    snprintf(n->key, sizeof n->key, "h%016llx%08lx", (unsigned long long)n->at,
             (unsigned long)self->seq++);
    // json_pack "o" steals.
    n->j = json_pack("{s:s, s:{s:s}, s:s, s:o, s:s, s:s, s:o, s:o, s:s, s:b}", "timestamp",
                     alertd_time_str(n->at, ts, sizeof ts), "receiver", "name", name, "groupKey",
                     x->group_key, "groupLabels", json_object(), "status",
                     x->e.firing_len > 0 ? "firing" : "resolved", "result", "sent", "integrations",
                     json_array(), "alerts", alerts, "id", x->nid, "recovered", 1);
    free(name);
    return n;
}

// Records for the notifications whose entries were committed and whose record was not:
// alertd died between the flush's commit and the record's (the ZeroMQ send plus up to 2 ms,
// alertd.c S_LOG_DELAY_MS), so nothing would ask notifyd whether the NOTIFY arrived and a
// lost one would wait for repeat_interval. Such entries carry an id no record has and are at
// least as new as the newest record (an older entry without its record lost it to
// ALERTD_NFLOG_HISTORY_MAX, and was answered long ago). Each gets a "sent" record made from
// its entries, marked "recovered", so alertd_nflog_unanswered names it and the answer
// (alertd_nflog_result) marks its entries. Kept in memory until the answer writes it.
static void
s_recover_unrecorded(alertd_nflog_t *self)
{
    const struct s_note *last = zlist_tail(self->history);
    int64_t newest = last ? last->at : INT64_MIN;
    zhashx_t *rebuilt = zhashx_new(); // id -> struct s_rebuilt (freed here)
    zhashx_set_destructor(rebuilt, s_rebuilt_free);
    for (struct s_entry *x = zhashx_first(self->entries); x; x = zhashx_next(self->entries)) {
        if (!x->nid || x->e.at < newest || zhashx_lookup(self->by_id, x->nid))
            continue;
        size_t name_len;
        int integration = s_entry_integration(x->receiver, &name_len);
        struct s_rebuilt *r = zhashx_lookup(rebuilt, x->nid);
        if (!r) {
            r = fw_calloc(1, sizeof *r);
            r->n = s_note_from_entry(self, x, name_len);
            zhashx_insert(rebuilt, x->nid, r);
        }
        if (integration >= 0)
            r->integrations |= 1u << integration;
    }
    zlist_t *order = zlist_new();
    for (struct s_rebuilt *r = zhashx_first(rebuilt); r; r = zhashx_next(rebuilt))
        zlist_append(order, r);
    zlist_sort(order, s_rebuilt_cmp); // the history stays oldest first
    for (struct s_rebuilt *r = zlist_first(order); r; r = zlist_next(order)) {
        json_t *integrations = json_object_get(r->n->j, "integrations");
        for (int i = 0; i < ALERTD_NFLOG_INTEGRATIONS; i++)
            if (r->integrations & (1u << i))
                json_array_append_new(integrations,
                                      json_string(alertd_nflog_integrations[i][1])); // steals
        fw_warn("nflog.recovered", "id=%s receiver=%s group_key=%s",
                json_string_value(json_object_get(r->n->j, "id")),
                s_str(json_object_get(r->n->j, "receiver"), "name"), s_str(r->n->j, "groupKey"));
        s_history_append(self, r->n);
    }
    zlist_destroy(&order);
    zhashx_destroy(&rebuilt);
}

ssize_t
alertd_nflog_load(alertd_nflog_t *self, int64_t now, size_t *bad, fw_err_t *err)
{
    struct s_load l = {self, now, 0};
    ssize_t n = alertd_state_load(self->state, ALERTD_STATE_NFLOG, s_load_one, &l, err);
    if (bad)
        *bad = l.bad;
    if (n < 0)
        return -1;
    s_recover_unrecorded(self);
    return (ssize_t)zhashx_size(self->entries);
}

const struct alertd_nflog_entry *
alertd_nflog_get(alertd_nflog_t *self, const char *receiver, const char *group_key, int64_t now)
{
    char kb[256], *kh;
    const char *k = s_entry_key(kb, sizeof kb, receiver, group_key, &kh);
    struct s_entry *x = zhashx_lookup(self->entries, k);
    free(kh);
    return x && x->e.expires_at > now ? &x->e : NULL;
}

// --- an entry's record, written as text into one reused buffer ---

static void
s_text_cat(alertd_nflog_t *self, const char *s, size_t n)
{
    fw_mem_grow((void **)&self->text, &self->text_cap, self->text_len + n + 1, 1);
    memcpy(self->text + self->text_len, s, n);
    self->text_len += n;
}

// s as a JSON string, escaped as jansson's json_dumps escapes it (the receiver and group key
// are valid UTF-8: config and label values are checked when read). self->text grows as a
// fw_json_out does (fw_mem_grow, bytes), so the escaper appends to it in place.
static void
s_text_str(alertd_nflog_t *self, const char *s)
{
    struct fw_json_out o = {.p = self->text, .len = self->text_len, .cap = self->text_cap};
    fw_json_out_str(&o, s, FW_JSON_OUT_JANSSON);
    self->text = o.p;
    self->text_len = o.len;
    self->text_cap = o.cap;
}

static void
s_text_fps(alertd_nflog_t *self, const uint64_t *v, size_t n)
{
    s_text_cat(self, "[", 1);
    for (size_t i = 0; i < n; i++) {
        char b[20];
        int len = snprintf(b, sizeof b, "%s\"%016llx\"", i ? "," : "", (unsigned long long)v[i]);
        s_text_cat(self, b, (size_t)len);
    }
    s_text_cat(self, "]", 1);
}

// x's record, the bytes json_dumps(s_entry_json(x, true), JSON_COMPACT) gives, written into
// self->text without a JSON tree: a flush logs one entry per integration, and their trees
// and dumps were a sixth of its allocations (perf: 157 of alertd's 692 page faults in the
// first-notification bench were there).
static void
s_entry_text(alertd_nflog_t *self, const struct s_entry *x)
{
    char num[32];
    self->text_len = 0;
    s_text_cat(self, "{\"receiver\":", 12);
    s_text_str(self, x->receiver);
    s_text_cat(self, ",\"groupKey\":", 12);
    s_text_str(self, x->group_key);
    int len = snprintf(num, sizeof num, ",\"at\":%lld", (long long)x->e.at);
    s_text_cat(self, num, (size_t)len);
    s_text_cat(self, ",\"firing\":", 10);
    s_text_fps(self, x->e.firing, x->e.firing_len);
    s_text_cat(self, ",\"resolved\":", 12);
    s_text_fps(self, x->e.resolved, x->e.resolved_len);
    if (x->nid) {
        s_text_cat(self, ",\"id\":", 6);
        s_text_str(self, x->nid);
    }
    if (x->e.failed)
        s_text_cat(self, ",\"failed\":true", 14);
    s_text_cat(self, "}", 1);
    self->text[self->text_len] = '\0';
}

// Write x into the state's open batch (when there is a state).
static void
s_entry_store(alertd_nflog_t *self, const struct s_entry *x)
{
    if (!self->state)
        return;
    s_entry_text(self, x);
    self->entry_writes++;
    char key[17];
    s_record_key(x->receiver, x->group_key, key);
    alertd_state_put(self->state, ALERTD_STATE_NFLOG, key, x->e.expires_at, self->text,
                     self->text_len);
}

// Write x into the state's open batch (when there is a state), and note it changed here
// (when tracking changes for the cluster).
static void
s_entry_put(alertd_nflog_t *self, const struct s_entry *x)
{
    if (self->changed) {
        char kb[256], *kh;
        const char *k = s_entry_key(kb, sizeof kb, x->receiver, x->group_key, &kh);
        zhashx_update(self->changed, k, (void *)"");
        free(kh);
    }
    s_entry_store(self, x);
}

void
alertd_nflog_log(alertd_nflog_t *self, const char *receiver, const char *group_key,
                 uint64_t *firing, size_t firing_len, uint64_t *resolved, size_t resolved_len,
                 const char *nid, int64_t now)
{
    struct s_entry *x = fw_calloc(1, sizeof *x);
    x->receiver = fw_strdup(receiver);
    x->group_key = fw_strdup(group_key);
    x->nid = nid ? fw_strdup(nid) : NULL;
    x->e.firing = firing;
    x->e.firing_len = firing_len;
    x->e.resolved = resolved;
    x->e.resolved_len = resolved_len;
    x->e.at = now;
    x->e.expires_at = now + self->retention_ms;
    s_entry_put(self, x);
    s_set(self, x);
}

size_t
alertd_nflog_gc(alertd_nflog_t *self, int64_t now)
{
    zlist_t *dead = zlist_new();
    zlist_autofree(dead);
    for (struct s_entry *x = zhashx_first(self->entries); x; x = zhashx_next(self->entries))
        if (x->e.expires_at <= now)
            zlist_append(dead, (void *)zhashx_cursor(self->entries));
    size_t n = zlist_size(dead);
    for (char *k = zlist_first(dead); k; k = zlist_next(dead))
        zhashx_delete(self->entries, k);
    zlist_destroy(&dead);
    for (struct s_note *x = zlist_first(self->history); x && x->expires_at <= now;
         x = zlist_first(self->history)) {
        void *p = zlist_pop(self->history);
        s_note_unindex(self, p);
        s_note_free(&p);
        n++;
    }
    if (n > 0)
        (void)alertd_state_gc(self->state, ALERTD_STATE_NFLOG, now + 1, NULL);
    return n;
}

size_t
alertd_nflog_size(alertd_nflog_t *self)
{
    return zhashx_size(self->entries);
}

uint64_t
alertd_nflog_entry_writes(alertd_nflog_t *self)
{
    return self->entry_writes;
}

// --- the cluster (alertd_cluster.h): what changed here, and merging a peer's entries ---

void
alertd_nflog_track_changes(alertd_nflog_t *self, bool on)
{
    if (on && !self->changed)
        self->changed = zhashx_new();
    else if (!on)
        zhashx_destroy(&self->changed);
}

json_t *
alertd_nflog_take_changes(alertd_nflog_t *self, int64_t now)
{
    json_t *out = json_array();
    if (!self->changed)
        return out;
    for (void *v = zhashx_first(self->changed); v; v = zhashx_next(self->changed)) {
        struct s_entry *x = zhashx_lookup(self->entries, zhashx_cursor(self->changed));
        if (x && x->e.expires_at > now)
            json_array_append_new(out, s_entry_json(x, false)); // steals
    }
    zhashx_purge(self->changed);
    return out;
}

json_t *
alertd_nflog_entries_json(alertd_nflog_t *self, int64_t now)
{
    json_t *out = json_array();
    for (struct s_entry *x = zhashx_first(self->entries); x; x = zhashx_next(self->entries))
        if (x->e.expires_at > now)
            json_array_append_new(out, s_entry_json(x, false)); // steals
    return out;
}

int
alertd_nflog_merge(alertd_nflog_t *self, const json_t *entry, int64_t now, fw_err_t *err)
{
    struct s_entry *x = s_entry_parse(entry, false);
    if (!x) {
        fw_err_set(err, "invalid notification log entry");
        return -1;
    }
    char kb[256], *kh;
    const char *k = s_entry_key(kb, sizeof kb, x->receiver, x->group_key, &kh);
    const struct s_entry *prev = zhashx_lookup(self->entries, k);
    free(kh);
    // Alertmanager's nflog merge: an expired entry is ignored, the newer one wins. A tie
    // goes to the one marked failed: a failure is only learnt after the notification.
    bool take =
        x->e.expires_at > now && (!prev || x->e.at > prev->e.at ||
                                  (x->e.at == prev->e.at && x->e.failed && !prev->e.failed));
    if (!take) {
        void *p = x;
        s_entry_free(&p);
        return 0;
    }
    s_entry_store(self, x);
    s_set(self, x);
    return 1;
}

// --- the history ---

// Append n (oldest first), dropping the oldest past ALERTD_NFLOG_HISTORY_MAX (also from
// the state's open batch when there is one).
static void
s_history_append(alertd_nflog_t *self, struct s_note *n)
{
    zlist_append(self->history, n);
    const char *nid = json_string_value(json_object_get(n->j, "id"));
    if (nid)
        zhashx_update(self->by_id, nid, n);
    while (zlist_size(self->history) > ALERTD_NFLOG_HISTORY_MAX) {
        void *p = zlist_pop(self->history);
        s_note_unindex(self, p);
        alertd_state_del(self->state, ALERTD_STATE_NFLOG, ((struct s_note *)p)->key);
        s_note_free(&p);
    }
}

const char *const alertd_nflog_integrations[ALERTD_NFLOG_INTEGRATIONS][2] = {
    {"email_configs", "email"},
    {"msteams_configs", "msteams"},
    {"msteamsv2_configs", "msteamsv2"},
    {"pagerduty_configs", "pagerduty"},
    {"slack_configs", "slack"},
    {"webhook_configs", "webhook"},
    {"azuresms_configs", "azuresms"},
    {"discord_configs", "discord"},
    {"webex_configs", "webex"},
    {"opsgenie_configs", "opsgenie"},
    {"victorops_configs", "victorops"},
    {"pushover_configs", "pushover"},
    {"rocketchat_configs", "rocketchat"},
    {"wechat_configs", "wechat"},
    {"sns_configs", "sns"},
    {"mattermost_configs", "mattermost"},
    {"telegram_configs", "telegram"},
};

// j's string member key, "" when absent or not a string.
static const char *
s_str(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

// Write the note into the state's open batch (when there is a state).
static void
s_note_put(alertd_nflog_t *self, const struct s_note *n)
{
    if (!self->state)
        return;
    char stack[8192], *heap;
    size_t len;
    const char *text = fw_json_dump_buf(n->j, stack, sizeof stack, &len, &heap);
    if (text)
        alertd_state_put(self->state, ALERTD_STATE_NFLOG, n->key, n->expires_at, text, len);
    free(heap);
}

// The entry of (receiver, group key), or NULL.
static struct s_entry *
s_entry_of(alertd_nflog_t *self, const char *receiver, const char *group_key)
{
    char kb[256], *kh;
    const char *k = s_entry_key(kb, sizeof kb, receiver, group_key, &kh);
    struct s_entry *x = zhashx_lookup(self->entries, k);
    free(kh);
    return x;
}

// Name x (may be NULL) by the notification nid that logged it, failed or not. An entry the
// dispatcher logged with that id (assigned at the flush) is written again only to mark it
// failed.
static void
s_name(alertd_nflog_t *self, struct s_entry *x, const char *nid, bool failed)
{
    if (!x || (x->nid && strcmp(x->nid, nid) == 0 && x->e.failed == failed))
        return;
    free(x->nid);
    x->nid = fw_strdup(nid);
    x->e.failed = failed;
    s_entry_put(self, x);
}

// Name by nid the entries the notification logged (the dispatcher logs them just before):
// one per config of its arrays, or the receiver's own when it has none; failed when the
// notification never left.
static void
s_name_entries(alertd_nflog_t *self, const json_t *notify, const char *receiver, const char *gk,
               const char *nid, bool failed)
{
    const json_t *map = json_object_get(notify, "integrations");
    size_t configs = 0;
    for (size_t k = 0; k < ALERTD_NFLOG_INTEGRATIONS; k++) {
        const json_t *idx = json_object_get(map, alertd_nflog_integrations[k][0]);
        size_t n = json_array_size(json_object_get(notify, alertd_nflog_integrations[k][0]));
        for (size_t p = 0; p < n; p++, configs++) {
            const json_t *i = json_array_get(idx, p);
            char *key = fw_asprintf("%s/%s/%lld", receiver, alertd_nflog_integrations[k][1],
                                    i ? (long long)json_integer_value(i) : (long long)p);
            s_name(self, s_entry_of(self, key, gk), nid, failed);
            free(key);
        }
    }
    if (configs == 0)
        s_name(self, s_entry_of(self, receiver, gk), nid, failed);
}

void
alertd_nflog_record(alertd_nflog_t *self, const json_t *notify, const char *result, int64_t now)
{
    const json_t *payload = json_object_get(notify, "payload");
    const char *receiver = json_string_value(json_object_get(notify, "receiver"));
    const char *gk = json_string_value(json_object_get(payload, "groupKey"));
    const char *status = json_string_value(json_object_get(payload, "status"));
    const json_t *gl = json_object_get(payload, "groupLabels");
    json_t *integrations = json_array();
    for (size_t i = 0; i < ALERTD_NFLOG_INTEGRATIONS; i++)
        if (json_array_size(json_object_get(notify, alertd_nflog_integrations[i][0])) > 0)
            json_array_append_new(integrations,
                                  json_string(alertd_nflog_integrations[i][1])); // steals
    json_t *alerts = json_array();
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(payload, "alerts"), i, a)
    {
        const char *fp = json_string_value(json_object_get(a, "fingerprint"));
        const char *st = json_string_value(json_object_get(a, "status"));
        json_array_append_new(alerts, json_pack("{s:s, s:s}", "fingerprint", fp ? fp : "", "status",
                                                st ? st : "")); // steals
    }
    char ts[40];
    struct s_note *n = fw_calloc(1, sizeof *n);
    n->at = now;
    n->expires_at = now + self->retention_ms;
    snprintf(n->key, sizeof n->key, "h%016llx%08lx", (unsigned long long)now,
             (unsigned long)self->seq++);
    // json_pack "o" steals.
    n->j = json_pack("{s:s, s:{s:s}, s:s, s:o, s:s, s:s, s:o, s:o}", "timestamp",
                     alertd_time_str(now, ts, sizeof ts), "receiver", "name",
                     receiver ? receiver : "", "groupKey", gk ? gk : "", "groupLabels",
                     json_is_object(gl) ? json_deep_copy(gl) : json_object(), "status",
                     status ? status : "", "result", result, "integrations", integrations, "alerts",
                     alerts);
    const char *nid = json_string_value(json_object_get(notify, "id"));
    if (nid) {
        json_object_set_new(n->j, "id", json_string(nid)); // steals
        s_name_entries(self, notify, receiver ? receiver : "", gk ? gk : "", nid,
                       strcmp(result, "dropped") == 0);
    }
    s_note_put(self, n);
    s_history_append(self, n);
}

// Mark x (when the notification id logged it) failed or not.
static void
s_mark(alertd_nflog_t *self, struct s_entry *x, const char *id, bool failed)
{
    if (x && x->nid && strcmp(x->nid, id) == 0 && x->e.failed != failed) {
        x->e.failed = failed;
        s_entry_put(self, x);
    }
}

int
alertd_nflog_result(alertd_nflog_t *self, const char *id, const char *result, const char *reason,
                    const json_t *failed)
{
    struct s_note *n = zhashx_lookup(self->by_id, id);
    if (!n)
        return -1;
    if (strcmp(s_str(n->j, "result"), result) == 0)
        return 0; // the same outcome again (notifyd re-publishes until acknowledged)
    json_object_set_new(n->j, "result", json_string(result)); // steals
    if (reason && *reason)
        json_object_set_new(n->j, "reason", json_string(reason)); // steals
    s_note_put(self, n);
    const char *receiver = s_str(json_object_get(n->j, "receiver"), "name");
    const char *gk = s_str(n->j, "groupKey");
    bool fail = strcmp(result, "failed") == 0;
    if (fail && json_array_size(failed) > 0) {
        size_t i;
        const json_t *f;
        json_array_foreach(failed, i, f)
        {
            if (!json_is_string(f))
                continue;
            char *key = fw_asprintf("%s/%s", receiver, json_string_value(f));
            s_mark(self, s_entry_of(self, key, gk), id, true);
            free(key);
        }
        return 0;
    }
    if (!fail)
        return 0; // its entries were logged (and named) as not failed
    // Without the list (a notifyd before it): every entry it logged failed.
    for (struct s_entry *x = zhashx_first(self->entries); x; x = zhashx_next(self->entries))
        if (strcmp(x->group_key, gk) == 0)
            s_mark(self, x, id, true);
    return 0;
}

// Whether the record n passes f.
static bool
s_note_keeps(const struct s_note *n, const struct alertd_nflog_filter *f)
{
    if (n->at < f->since || (f->until > 0 && n->at > f->until))
        return false;
    const json_t *j = n->j;
    if ((f->result && strcmp(f->result, s_str(j, "result")) != 0) ||
        (f->status && strcmp(f->status, s_str(j, "status")) != 0) ||
        (f->group_key && strcmp(f->group_key, s_str(j, "groupKey")) != 0))
        return false;
    bool keep = true;
    if (f->receiver && f->receiver->len > 0) {
        struct fw_labels l = FW_LABELS_INIT;
        fw_labels_set(&l, "receiver", s_str(json_object_get(j, "receiver"), "name"));
        keep = alertd_matchers_match(f->receiver, &l);
        fw_labels_clear(&l);
    }
    if (keep && f->group && f->group->len > 0) {
        struct fw_labels l = FW_LABELS_INIT;
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)json_object_get(j, "groupLabels"), k, v)
        {
            if (json_is_string(v))
                fw_labels_set(&l, k, json_string_value(v));
        }
        keep = alertd_matchers_match(f->group, &l);
        fw_labels_clear(&l);
    }
    return keep;
}

json_t *
alertd_nflog_query(alertd_nflog_t *self, const struct alertd_nflog_filter *f)
{
    json_t *out = json_array();
    for (struct s_note *n = zlist_first(self->history); n; n = zlist_next(self->history))
        if (s_note_keeps(n, f))
            json_array_append(out, n->j);
    return out;
}

json_t *
alertd_nflog_unanswered(alertd_nflog_t *self, int64_t before, size_t max)
{
    json_t *out = json_array();
    for (struct s_note *n = zlist_first(self->history); n && n->at <= before;
         n = zlist_next(self->history)) {
        const json_t *id = json_object_get(n->j, "id");
        if (json_is_string(id) && strcmp(s_str(n->j, "result"), "sent") == 0) {
            json_array_append(out, (json_t *)id);
            if (json_array_size(out) >= max)
                break;
        }
    }
    return out;
}

size_t
alertd_nflog_history_size(alertd_nflog_t *self)
{
    return zlist_size(self->history);
}
