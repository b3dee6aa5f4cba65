/*  alertd_silence.c — the in-memory silence table.

    A zlist of records, scanned per alert: silences are few and matching is cheap.
*/
#include <czmq.h>
#include <stdio.h>
#include <string.h>

#include "alertd_matcher.h"
#include "alertd_silence.h"
#include "alertd_store.h"
#include "fw_gotime.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_names.h"
#include "fw_regex.h"
#include "fw_time.h"

struct s_silence {
    char *id;                        // owned
    struct alertd_matchers matchers; // owned
    int64_t starts_at, ends_at, updated_at;
    char *created_by, *comment; // owned
};

struct alertd_silences {
    zlist_t *items; // owned: struct s_silence *
    uint64_t version;
    zhashx_t *changed; // owned, or NULL when not tracking: ids changed here (put, expire)
    int64_t max_silences, max_size; // limits (alertd_silences_set_limits); <= 0: none
};

// Note that the silence id changed here (when tracking changes for the cluster).
static void
s_changed(alertd_silences_t *self, const char *id)
{
    if (self->changed)
        zhashx_update(self->changed, id, (void *)"");
}

static void
s_free(struct s_silence **sp)
{
    struct s_silence *s = *sp;
    if (!s)
        return;
    free(s->id);
    alertd_matchers_clear(&s->matchers);
    free(s->created_by);
    free(s->comment);
    free(s);
    *sp = NULL;
}

alertd_silences_t *
alertd_silences_new(void)
{
    alertd_silences_t *self = fw_calloc(1, sizeof *self);
    self->items = zlist_new();
    self->max_silences = ALERTD_SILENCES_MAX_DEFAULT;
    self->max_size = ALERTD_SILENCE_SIZE_MAX_DEFAULT;
    return self;
}

void
alertd_silences_set_limits(alertd_silences_t *self, int64_t max_silences, int64_t max_size)
{
    self->max_silences = max_silences;
    self->max_size = max_size;
}

void
alertd_silences_destroy(alertd_silences_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    alertd_silences_t *self = *self_p;
    struct s_silence *s;
    while ((s = zlist_pop(self->items)))
        s_free(&s);
    zlist_destroy(&self->items);
    zhashx_destroy(&self->changed);
    free(self);
    *self_p = NULL;
}

static struct s_silence *
s_find(alertd_silences_t *self, const char *id)
{
    for (struct s_silence *s = zlist_first(self->items); s; s = zlist_next(self->items))
        if (strcmp(s->id, id) == 0)
            return s;
    return NULL;
}

static json_t *s_json(const struct s_silence *s, int64_t now);
static const char *s_state(const struct s_silence *s, int64_t now);
static void s_expire_one(alertd_silences_t *self, struct s_silence *s, int64_t now);

// Alertmanager's count limit (checkSizeLimits' sibling in Silences.Set): every silence held
// counts, expired ones too until the GC drops them, as Alertmanager counts its whole state
// (alertmanager#3862), so creating and expiring in a loop cannot grow the table either.
// 0, or -1 with its message in err.
static int
s_check_count(alertd_silences_t *self, fw_err_t *err)
{
    size_t n = zlist_size(self->items);
    if (self->max_silences > 0 && (int64_t)n + 1 > self->max_silences) {
        fw_err_set(err, "exceeded maximum number of silences: %zu (limit: %lld)", n,
                   (long long)self->max_silences);
        return -1;
    }
    return 0;
}

// Alertmanager's size limit (checkSizeLimits), measured on the silence as alertd stores and
// gossips it: its compact JSON (Alertmanager measures its protobuf). 0, or -1 with its message.
static int
s_check_size(alertd_silences_t *self, const struct s_silence *s, fw_err_t *err)
{
    if (self->max_size <= 0)
        return 0;
    json_t *j = s_json(s, 0);
    size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT);
    json_decref(j);
    if ((int64_t)n > self->max_size) {
        fw_err_set(err, "silence exceeded maximum size: %zu bytes (limit: %lld bytes)", n,
                   (long long)self->max_size);
        return -1;
    }
    return 0;
}

static int
s_time(const json_t *j, const char *key, int64_t *out, fw_err_t *err)
{
    const char *s = json_string_value(json_object_get(j, key));
    char gerr[8];
    if (!s || fw_gotime_parse_strfmt(s, out, gerr, sizeof gerr) < 0) {
        fw_err_set(err, "%s: missing or invalid time", key);
        return -1;
    }
    return 0;
}

// A matcher matches the empty string when it would match an alert without that label.
// Alertmanager counts only = and =~ (a negative matcher never makes a silence global).
static bool
s_matches_empty(const struct fw_matcher *m)
{
    if (m->op != FW_MATCH_EQ && m->op != FW_MATCH_RE)
        return false;
    return fw_matcher_matches(m, "");
}

// True (err set) when re does not compile as written: Alertmanager's validateMatcher
// compiles the pattern unanchored, so its message quotes the pattern, not ^(?:re)$.
static bool
s_regex_bad(const char *re, fw_err_t *err)
{
    fw_regex_t *c = fw_regex_new(re, FW_REGEX_UNANCHORED, err);
    if (!c)
        return true;
    fw_regex_destroy(&c);
    return false;
}

// Read a silence's `matchers` (API v2 shape) into ms and apply Alertmanager's rules to them
// (validateSilence). 0, or -1 with its message in err (without the "silence invalid: " prefix).
static int
s_matchers_read(const json_t *arr, struct alertd_matchers *ms, fw_err_t *err)
{
    if (json_array_size(arr) == 0) {
        fw_err_set(err, "at least one matcher required");
        return -1;
    }
    size_t i;
    const json_t *m;
    json_array_foreach(arr, i, m)
    {
        const char *name = json_string_value(json_object_get(m, "name"));
        const char *value = json_string_value(json_object_get(m, "value"));
        const json_t *iseq = json_object_get(m, "isEqual");
        bool re = json_is_true(json_object_get(m, "isRegex"));
        bool eq = !iseq || json_is_true(iseq);
        if (!name || !value) {
            fw_err_set(err, "invalid label matcher %zu: name and value are required", i);
            return -1;
        }
        if (!fw_names_label_valid(name, FW_NAMES_UTF8)) {
            fw_err_set(err, "invalid label matcher %zu: invalid label name \"%s\"", i, name);
            return -1;
        }
        if (!re && !fw_utf8_valid(value, strlen(value))) {
            fw_err_set(err, "invalid label matcher %zu: invalid label value \"%s\"", i, value);
            return -1;
        }
        fw_match_op_t t = re ? (eq ? FW_MATCH_RE : FW_MATCH_NRE) : (eq ? FW_MATCH_EQ : FW_MATCH_NE);
        fw_err_t rerr;
        fw_err_clear(&rerr);
        if (re && s_regex_bad(value, &rerr)) {
            char *q = alertd_quote_append(fw_strdup(""), value);
            fw_err_set(err, "invalid label matcher %zu: invalid regular expression %s: %s", i, q,
                       rerr.msg);
            free(q);
            return -1;
        }
        if (alertd_matchers_add(ms, t, name, value, &rerr) < 0) {
            fw_err_set(err, "invalid label matcher %zu: %s", i, rerr.msg);
            return -1;
        }
    }
    for (i = 0; i < ms->len; i++)
        if (!s_matches_empty(&ms->items[i]))
            return 0;
    fw_err_set(err, "at least one matcher must not match the empty string");
    return -1;
}

// Whole seconds of a time in ms, rounded down (Go's Time.Unix).
static int64_t
s_unix(int64_t ms)
{
    return ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
}

// Alertmanager's canUpdate (silence.go): whether silence a can become b (as posted, start not
// yet moved to now) in place "without affecting the historic view of silencing". The
// matchers must be the same, in the same order; then by a's state: an active one keeps its
// start (to the second) and may not end in the past; a pending one may not start in the
// past; an expired one never changes.
static bool
s_can_update(const struct s_silence *a, const struct s_silence *b, int64_t now)
{
    if (a->matchers.len != b->matchers.len)
        return false;
    for (size_t i = 0; i < a->matchers.len; i++) {
        const struct fw_matcher *x = &a->matchers.items[i], *y = &b->matchers.items[i];
        if (x->op != y->op || strcmp(x->name, y->name) != 0 || strcmp(x->value, y->value) != 0)
            return false;
    }
    const char *st = s_state(a, now);
    if (strcmp(st, "active") == 0)
        return s_unix(a->starts_at) == s_unix(b->starts_at) && b->ends_at >= now;
    if (strcmp(st, "pending") == 0)
        return b->starts_at >= now;
    return false;
}

char *
alertd_silences_put(alertd_silences_t *self, const json_t *j, int64_t now, fw_err_t *err)
{
    struct s_silence tmp = {0};
    if (!json_is_object(j)) {
        fw_err_set(err, "silence is not a JSON object");
        return NULL;
    }
    // Alertmanager's order: the times (API handler), then the matchers (validateSilence),
    // then the id.
    if (s_time(j, "startsAt", &tmp.starts_at, err) < 0 ||
        s_time(j, "endsAt", &tmp.ends_at, err) < 0)
        return NULL;
    if (tmp.starts_at >= tmp.ends_at) {
        fw_err_set(err, "Failed to create silence: start time must be before end time");
        return NULL;
    }
    if (tmp.ends_at < now) {
        fw_err_set(err, "Failed to create silence: end time can't be in the past");
        return NULL;
    }
    fw_err_t merr;
    fw_err_clear(&merr);
    if (s_matchers_read(json_object_get(j, "matchers"), &tmp.matchers, &merr) < 0) {
        fw_err_set(err, "silence invalid: %s", merr.msg);
        goto fail;
    }
    tmp.updated_at = now;
    const char *cb = json_string_value(json_object_get(j, "createdBy"));
    const char *cm = json_string_value(json_object_get(j, "comment"));
    tmp.created_by = fw_strdup(cb ? cb : "");
    tmp.comment = fw_strdup(cm ? cm : "");
    // Alertmanager's order (Silences.Set): an unknown id; an update it allows in place
    // (s_can_update) needs only the size; anything else is a new silence, which needs room
    // (the count, refused before the old one is touched) and then the size.
    const char *id = json_string_value(json_object_get(j, "id"));
    struct s_silence *prev = NULL;
    if (id && *id) {
        prev = s_find(self, id);
        if (!prev) {
            fw_err_set(err, ALERTD_SILENCE_NOT_FOUND);
            goto fail;
        }
    }
    if (prev && s_can_update(prev, &tmp, now)) {
        tmp.id = fw_strdup(prev->id);
        if (s_check_size(self, &tmp, err) < 0)
            goto fail;
        // in place: the silence keeps its id and its position in the list
        alertd_matchers_clear(&prev->matchers);
        free(prev->id);
        free(prev->created_by);
        free(prev->comment);
        *prev = tmp;
        self->version++;
        s_changed(self, prev->id);
        return fw_strdup(prev->id);
    }
    if (s_check_count(self, err) < 0)
        goto fail;
    zuuid_t *u = zuuid_new();
    tmp.id = fw_strdup(zuuid_str_canonical(u));
    zuuid_destroy(&u);
    if (tmp.starts_at < now)
        tmp.starts_at = now;
    if (s_check_size(self, &tmp, err) < 0)
        goto fail;
    // A replacement: the old silence is expired (unless it already is), so its history stays
    // as it was; both then gossip (s_changed), and a peer takes the new id and the old one's
    // later updatedAt alike.
    if (prev && strcmp(s_state(prev, now), "expired") != 0)
        s_expire_one(self, prev, now);
    struct s_silence *s = fw_malloc(sizeof *s);
    *s = tmp;
    zlist_append(self->items, s);
    self->version++;
    s_changed(self, s->id);
    return fw_strdup(s->id);
fail:
    alertd_matchers_clear(&tmp.matchers);
    free(tmp.id);
    free(tmp.created_by);
    free(tmp.comment);
    return NULL;
}

int
alertd_silences_expire(alertd_silences_t *self, const char *id, int64_t now)
{
    struct s_silence *s = s_find(self, id);
    if (!s)
        return -1;
    s_expire_one(self, s, now);
    return 0;
}

static void
s_expire_one(alertd_silences_t *self, struct s_silence *s, int64_t now)
{
    if (s->ends_at > now)
        s->ends_at = now;
    if (s->starts_at > now)
        s->starts_at = now;
    s->updated_at = now;
    self->version++;
    s_changed(self, s->id);
}

static const char *
s_state(const struct s_silence *s, int64_t now)
{
    if (s->ends_at <= now)
        return "expired";
    if (s->starts_at > now)
        return "pending";
    return "active";
}

static json_t *
s_json(const struct s_silence *s, int64_t now)
{
    char a[40], b[40], c[40];
    json_t *ms = json_array();
    for (size_t i = 0; i < s->matchers.len; i++) {
        const struct fw_matcher *m = &s->matchers.items[i];
        bool re = m->op == FW_MATCH_RE || m->op == FW_MATCH_NRE;
        bool eq = m->op == FW_MATCH_EQ || m->op == FW_MATCH_RE;
        json_array_append_new(ms, json_pack("{s:s, s:s, s:b, s:b}", "name", m->name, "value",
                                            m->value, "isRegex", re, "isEqual", eq)); // steals
    }
    return json_pack("{s:s, s:{s:s}, s:s, s:s, s:s, s:s, s:s, s:o}", "id", s->id, "status", "state",
                     s_state(s, now), "updatedAt", fw_time_rfc3339(s->updated_at, a, sizeof a),
                     "startsAt", fw_time_rfc3339(s->starts_at, b, sizeof b), "endsAt",
                     fw_time_rfc3339(s->ends_at, c, sizeof c), "createdBy", s->created_by,
                     "comment", s->comment, "matchers", ms); // "o" steals
}

json_t *
alertd_silences_get_json(alertd_silences_t *self, const char *id, int64_t now)
{
    struct s_silence *s = s_find(self, id);
    return s ? s_json(s, now) : NULL;
}

json_t *
alertd_silences_list_json(alertd_silences_t *self, int64_t now)
{
    json_t *arr = json_array();
    for (struct s_silence *s = zlist_first(self->items); s; s = zlist_next(self->items))
        json_array_append_new(arr, s_json(s, now)); // steals
    return arr;
}

json_t *
alertd_silences_muting(alertd_silences_t *self, const struct fw_labels *l, int64_t now)
{
    json_t *ids = json_array();
    for (struct s_silence *s = zlist_first(self->items); s; s = zlist_next(self->items))
        if (s->starts_at <= now && now < s->ends_at && alertd_matchers_match(&s->matchers, l))
            json_array_append_new(ids, json_string(s->id)); // steals
    return ids;
}

size_t
alertd_silences_active(alertd_silences_t *self, int64_t now)
{
    size_t n = 0;
    for (struct s_silence *s = zlist_first(self->items); s; s = zlist_next(self->items))
        n += s->starts_at <= now && now < s->ends_at;
    return n;
}

void
alertd_silences_gc(alertd_silences_t *self, int64_t before)
{
    zlist_t *keep = zlist_new();
    struct s_silence *s;
    while ((s = zlist_pop(self->items))) {
        if (s->ends_at < before) {
            s_free(&s);
            self->version++;
        } else
            zlist_append(keep, s);
    }
    zlist_destroy(&self->items);
    self->items = keep;
}

uint64_t
alertd_silences_version(alertd_silences_t *self)
{
    return self->version;
}

char *
alertd_silences_dump(alertd_silences_t *self, int64_t now)
{
    json_t *all = alertd_silences_list_json(self, now);
    char *text = json_dumps(all, JSON_INDENT(1));
    json_decref(all);
    char *out = fw_strdup(text ? text : "[]");
    free(text);
    return out;
}

// Parse one stored or gossiped silence (gettable form) into tmp; 0, or -1 with the reason
// in err.
static int
s_restore_one(const json_t *j, struct s_silence *tmp, fw_err_t *err)
{
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!id || !*id) {
        fw_err_set(err, "no id");
        return -1;
    }
    if (s_time(j, "startsAt", &tmp->starts_at, err) < 0 ||
        s_time(j, "endsAt", &tmp->ends_at, err) < 0 ||
        s_time(j, "updatedAt", &tmp->updated_at, err) < 0)
        return -1;
    // An expired silence may end when it starts (expiring a pending one sets both to now).
    if (tmp->ends_at < tmp->starts_at) {
        fw_err_set(err, "end time must not be before start time");
        return -1;
    }
    if (s_matchers_read(json_object_get(j, "matchers"), &tmp->matchers, err) < 0)
        return -1;
    const char *cb = json_string_value(json_object_get(j, "createdBy"));
    const char *cm = json_string_value(json_object_get(j, "comment"));
    tmp->id = fw_strdup(id);
    tmp->created_by = fw_strdup(cb ? cb : "");
    tmp->comment = fw_strdup(cm ? cm : "");
    return 0;
}

ssize_t
alertd_silences_restore(alertd_silences_t *self, const char *text, size_t *skipped, fw_err_t *err)
{
    if (skipped)
        *skipped = 0;
    json_error_t jerr;
    json_t *all = json_loads(text, 0, &jerr);
    if (!json_is_array(all)) {
        fw_err_set(err, "not a JSON array of silences (line %d: %s)", jerr.line, jerr.text);
        json_decref(all);
        return -1;
    }
    ssize_t n = 0;
    size_t i;
    json_t *j;
    json_array_foreach(all, i, j)
    {
        struct s_silence tmp = {0};
        fw_err_t e;
        fw_err_clear(&e);
        const char *id = json_string_value(json_object_get(j, "id"));
        if (id && s_find(self, id))
            fw_err_set(&e, "duplicate id");
        if (e.msg[0] || s_restore_one(j, &tmp, &e) < 0) {
            fw_warn("silence.invalid", "index=%zu id=%s err=%s", i, id ? id : "", e.msg);
            struct s_silence *t = fw_malloc(sizeof *t);
            *t = tmp;
            s_free(&t);
            if (skipped)
                (*skipped)++;
            continue;
        }
        struct s_silence *s = fw_malloc(sizeof *s);
        *s = tmp;
        zlist_append(self->items, s);
        n++;
    }
    json_decref(all);
    return n;
}

// --- the cluster (alertd_cluster.h) ---

void
alertd_silences_track_changes(alertd_silences_t *self, bool on)
{
    if (on && !self->changed)
        self->changed = zhashx_new();
    else if (!on)
        zhashx_destroy(&self->changed);
}

json_t *
alertd_silences_take_changes(alertd_silences_t *self, int64_t now)
{
    json_t *out = json_array();
    if (!self->changed)
        return out;
    for (void *v = zhashx_first(self->changed); v; v = zhashx_next(self->changed)) {
        json_t *j = alertd_silences_get_json(self, zhashx_cursor(self->changed), now);
        if (j)
            json_array_append_new(out, j); // steals
    }
    zhashx_purge(self->changed);
    return out;
}

int
alertd_silences_merge(alertd_silences_t *self, const json_t *j, int64_t now, int64_t retention_ms,
                      fw_err_t *err)
{
    struct s_silence *in = fw_calloc(1, sizeof *in);
    if (s_restore_one(j, in, err) < 0) {
        s_free(&in);
        return -1;
    }
    struct s_silence *prev = s_find(self, in->id);
    // Alertmanager's silence merge: one expired past the retention is ignored, the one
    // updated last wins.
    if (in->ends_at + retention_ms < now || (prev && in->updated_at <= prev->updated_at)) {
        s_free(&in);
        return 0;
    }
    // Alertmanager merges a peer's silences without its limits; here they hold too, so a
    // peer (or anything speaking on the cluster port) cannot grow this table past them.
    if ((!prev && s_check_count(self, err) < 0) || s_check_size(self, in, err) < 0) {
        s_free(&in);
        return -1;
    }
    if (prev) {
        zlist_remove(self->items, prev);
        s_free(&prev);
    }
    zlist_append(self->items, in);
    self->version++;
    return 1;
}

void
alertd_silences_persist(alertd_silences_t *self, alertd_state_t *state, int64_t now)
{
    if (!state)
        return;
    char *text = alertd_silences_dump(self, now);
    alertd_state_put(state, ALERTD_STATE_SILENCES, "table", INT64_MAX, text, strlen(text));
    free(text);
}

struct s_load {
    alertd_silences_t *self;
    size_t *skipped;
    fw_err_t *err;
    ssize_t got;
};

static int
s_load_table(const char *key, size_t key_len, int64_t expires_at, const char *val, size_t len,
             void *arg)
{
    (void)expires_at;
    struct s_load *l = arg;
    if (key_len != 5 || memcmp(key, "table", 5) != 0)
        return 0;
    char *text = fw_malloc(len + 1);
    memcpy(text, val, len);
    text[len] = '\0';
    l->got = alertd_silences_restore(l->self, text, l->skipped, l->err);
    free(text);
    return 1;
}

static char *
s_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = NULL;
    size_t cap = 0, len = 0, n;
    do {
        fw_mem_grow((void **)&text, &cap, len + 65536, 1);
        n = fread(text + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    text[len] = '\0';
    fclose(f);
    return text;
}

ssize_t
alertd_silences_load(alertd_silences_t *self, alertd_state_t *state, const char *legacy_file,
                     size_t *skipped, fw_err_t *err)
{
    struct s_load l = {self, skipped, err, -2};
    if (alertd_state_load(state, ALERTD_STATE_SILENCES, s_load_table, &l, err) < 0)
        return -1;
    if (l.got != -2 || !legacy_file)
        return l.got == -2 ? 0 : l.got;
    char *text = s_read_file(legacy_file);
    if (!text)
        return 0;
    ssize_t got = alertd_silences_restore(self, text, skipped, err);
    free(text);
    if (got < 0 || !state)
        return got;
    if (alertd_state_begin(state, err) < 0) {
        (void)alertd_state_commit(state, false, NULL); // ends the batch that did not begin
        return -1;
    }
    alertd_silences_persist(self, state, fw_time_now_ms());
    if (alertd_state_commit(state, true, err) < 0)
        return -1;
    char *done = fw_asprintf("%s.imported", legacy_file);
    if (rename(legacy_file, done) == 0)
        fw_info("silences.import", "file=%s count=%zd renamed=%s", legacy_file, got, done);
    free(done);
    return got;
}
