/*  fw_msg.c — encode and strictly decode every floorwatch message.

    The type enum, type names, versions and JSON field tables all come from fw_msg.def, so a
    message cannot be added in one place and forgotten in another. The SAMPLES body is
    encoded and decoded by fw_msg_samples.c.
*/
#include "fw_msg.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_json_dump.h"
#include "fw_mem.h"
#include "fw_msg_samples.h"
#include "fw_secret.h"

// --- schema tables from fw_msg.def ------------------------------------------------------

typedef enum {
    FW_JSON_STRING,
    FW_JSON_NUMBER,
    FW_JSON_BOOL,
    FW_JSON_OBJECT,
    FW_JSON_ARRAY,
    FW_JSON_LABELS,
    FW_JSON_ALERTS,
} s_json_type_t;

typedef enum { FW_BODY_BINARY, FW_BODY_JSON } s_body_t;

struct s_field {
    fw_msg_type_t msg;
    const char *key;
    s_json_type_t type;
    bool required;
};

struct s_type {
    const char *name;
    int version;
    s_body_t body;
};

static const struct s_type s_types[] = {
#define FW_MSG(name, ver, from, to, pattern, body, doc) {#name, ver, body},
#define FW_FIELD(msg, key, type, req)
#include "fw_msg.def"
#undef FW_MSG
#undef FW_FIELD
};

static const struct s_field s_fields[] = {
#define FW_MSG(name, ver, from, to, pattern, body, doc)
#define FW_FIELD(msg, key, type, req) {FW_MSG_##msg, #key, type, req},
#include "fw_msg.def"
#undef FW_MSG
#undef FW_FIELD
};
#define S_NFIELDS (sizeof(s_fields) / sizeof(s_fields[0]))

struct s_secret {
    fw_msg_type_t msg;
    struct fw_secret_path path;
};

static const struct s_secret s_secrets[] = {
#define FW_MSG(name, ver, from, to, pattern, body, doc)
#define FW_FIELD(msg, key, type, req)
#define FW_SECRET(msg, path) {FW_MSG_##msg, {path, FW_SECRET_VALUE}},
#include "fw_msg.def"
#undef FW_MSG
#undef FW_FIELD
#undef FW_SECRET
    {FW_MSG_COUNT, {NULL, FW_SECRET_VALUE}},
};

const char *
fw_msg_type_str(fw_msg_type_t type)
{
    return (unsigned)type < FW_MSG_COUNT ? s_types[type].name : "UNKNOWN";
}

int
fw_msg_type_parse(const char *token, fw_msg_type_t *out)
{
    for (int i = 0; i < FW_MSG_COUNT; i++)
        if (strcmp(token, s_types[i].name) == 0) {
            *out = (fw_msg_type_t)i;
            return 0;
        }
    return -1;
}

int
fw_msg_type_version(fw_msg_type_t type)
{
    return (unsigned)type < FW_MSG_COUNT ? s_types[type].version : 0;
}

double
fw_stale_nan(void)
{
    uint64_t bits = FW_STALE_NAN_BITS;
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

bool
fw_is_stale_nan(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == FW_STALE_NAN_BITS;
}

// --- batches ------------------------------------------------------------------------------

#define S_BLOCK_SIZE (64 * 1024)

struct s_block {
    struct s_block *next;
    size_t used, cap;
    _Alignas(8) char data[];
};

struct fw_batch *
fw_batch_new(void)
{
    return fw_calloc(1, sizeof(struct fw_batch));
}

void
fw_batch_destroy(struct fw_batch **self_p)
{
    if (!self_p || !*self_p)
        return;
    struct fw_batch *self = *self_p;
    if (self->arena) {
        free(self->arena); // holds the series, their labels and samples
    } else {
        for (size_t i = 0; i < self->len; i++) {
            if (!self->series[i].samples_in_block)
                free(self->series[i].samples);
            free(self->series[i].st);
        }
        free(self->series);
    }
    for (struct s_block *b = self->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(self);
    *self_p = NULL;
}

// Room for n bytes (8-aligned) in the batch's blocks: a scrape's labels take a few blocks
// instead of one allocation per label name and value.
static void *
s_block_alloc(struct fw_batch *self, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    struct s_block *b = self->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > S_BLOCK_SIZE ? n : S_BLOCK_SIZE;
        b = fw_malloc(sizeof(*b) + cap);
        b->next = self->blocks;
        b->used = 0;
        b->cap = cap;
        self->blocks = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static char *
s_block_str(struct fw_batch *self, const char *str)
{
    size_t n = strlen(str) + 1;
    char *p = s_block_alloc(self, n);
    memcpy(p, str, n);
    return p;
}

struct fw_series *
fw_batch_add_series(struct fw_batch *self, const struct fw_labels *labels)
{
    assert(!self->arena && "a decoded batch is read-only");
    fw_mem_grow((void **)&self->series, &self->cap, self->len + 1, sizeof(*self->series));
    struct fw_series *s = &self->series[self->len++];
    memset(s, 0, sizeof(*s));
    if (labels->len > 0) {
        struct fw_label *items = s_block_alloc(self, labels->len * sizeof(*items));
        for (size_t i = 0; i < labels->len; i++) {
            items[i].name = s_block_str(self, labels->items[i].name);
            items[i].value = s_block_str(self, labels->items[i].value);
        }
        s->labels = (struct fw_labels){items, labels->len, labels->len};
    }
    // most series of a scrape or an evaluation get one sample: its slot comes from the blocks
    s->samples = s_block_alloc(self, sizeof(*s->samples));
    s->cap = 1;
    s->samples_in_block = true;
    return s;
}

void
fw_series_add(struct fw_series *s, int64_t t_ms, double v)
{
    fw_series_add_st(s, t_ms, 0, v);
}

void
fw_series_add_st(struct fw_series *s, int64_t t_ms, int64_t st_ms, double v)
{
    size_t had = s->cap;
    if (s->samples_in_block && s->len + 1 > s->cap) {
        struct fw_sample *a = fw_malloc(2 * s->cap * sizeof(*a));
        memcpy(a, s->samples, s->len * sizeof(*a));
        s->samples = a;
        s->cap *= 2;
        s->samples_in_block = false;
    }
    fw_mem_grow((void **)&s->samples, &s->cap, s->len + 1, sizeof(*s->samples));
    if (s->st && s->cap > had)
        s->st = fw_realloc(s->st, s->cap * sizeof(*s->st));
    else if (!s->st && st_ms != 0)
        s->st = fw_calloc(s->cap, sizeof(*s->st)); // the samples so far have none
    if (s->st)
        s->st[s->len] = st_ms;
    s->samples[s->len].t_ms = t_ms;
    s->samples[s->len].v = v;
    s->len++;
}

size_t
fw_batch_samples(const struct fw_batch *self)
{
    size_t n = 0;
    for (size_t i = 0; i < self->len; i++)
        n += self->series[i].len;
    return n;
}

// --- messages -----------------------------------------------------------------------------

struct fw_msg *
fw_msg_new_samples(struct fw_batch **batch_p)
{
    struct fw_msg *m = fw_calloc(1, sizeof(*m));
    m->type = FW_MSG_SAMPLES;
    m->version = s_types[FW_MSG_SAMPLES].version;
    m->batch = *batch_p;
    *batch_p = NULL;
    return m;
}

struct fw_msg *
fw_msg_new_json(fw_msg_type_t type, json_t *body)
{
    struct fw_msg *m = fw_calloc(1, sizeof(*m));
    m->type = type;
    m->version = fw_msg_type_version(type);
    m->body = body; // the caller's reference is stolen
    return m;
}

void
fw_msg_destroy(struct fw_msg **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_batch_destroy(&(*self_p)->batch);
    json_decref((*self_p)->body);
    free(*self_p);
    *self_p = NULL;
}

// --- JSON bodies --------------------------------------------------------------------------

static const char *
s_json_type_name(s_json_type_t t)
{
    static const char *const names[] = {
        "string", "number", "bool", "object", "array", "object of strings", "array of alerts"};
    return names[t];
}

static bool
s_is_string_map(json_t *v)
{
    if (!json_is_object(v))
        return false;
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        if (!json_is_string(x))
            return false;
    }
    return true;
}

static int
s_check_alerts(json_t *alerts, fw_err_t *err)
{
    if (!json_is_array(alerts))
        return -1;
    size_t i;
    json_t *a;
    json_array_foreach(alerts, i, a)
    {
        if (!json_is_object(a)) {
            fw_err_set(err, "alerts[%zu] is not an object", i);
            return -1;
        }
        const char *k;
        json_t *v;
        bool has_labels = false;
        json_object_foreach(a, k, v)
        {
            bool ok;
            if (strcmp(k, "labels") == 0)
                ok = has_labels = s_is_string_map(v) && json_object_size(v) > 0;
            else if (strcmp(k, "annotations") == 0)
                ok = s_is_string_map(v);
            else if (strcmp(k, "startsAt") == 0 || strcmp(k, "endsAt") == 0 ||
                     strcmp(k, "generatorURL") == 0)
                ok = json_is_string(v);
            else {
                fw_err_set(err, "alerts[%zu]: unknown key \"%s\"", i, k);
                return -1;
            }
            if (!ok) {
                fw_err_set(err, "alerts[%zu]: key \"%s\" has the wrong type", i, k);
                return -1;
            }
        }
        if (!has_labels) {
            fw_err_set(err, "alerts[%zu]: labels are required", i);
            return -1;
        }
    }
    return 0;
}

static bool
s_type_ok(json_t *v, s_json_type_t t)
{
    switch (t) {
    case FW_JSON_STRING: return json_is_string(v);
    case FW_JSON_NUMBER: return json_is_number(v);
    case FW_JSON_BOOL: return json_is_boolean(v);
    case FW_JSON_OBJECT: return json_is_object(v);
    case FW_JSON_ARRAY: return json_is_array(v);
    case FW_JSON_LABELS: return s_is_string_map(v);
    case FW_JSON_ALERTS: return json_is_array(v);
    }
    return false;
}

// Check a JSON body against the schema of type: known keys only, right types, required
// keys present.
static int
s_check_json(fw_msg_type_t type, json_t *body, fw_err_t *err)
{
    const char *name = fw_msg_type_str(type);
    if (!json_is_object(body)) {
        fw_err_set(err, "%s body is not a JSON object", name);
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(body, k, v)
    {
        const struct s_field *f = NULL;
        for (size_t i = 0; i < S_NFIELDS && !f; i++)
            if (s_fields[i].msg == type && strcmp(s_fields[i].key, k) == 0)
                f = &s_fields[i];
        if (!f) {
            fw_err_set(err, "%s: unknown key \"%s\"", name, k);
            return -1;
        }
        if (!s_type_ok(v, f->type)) {
            fw_err_set(err, "%s: key \"%s\" must be a %s", name, k, s_json_type_name(f->type));
            return -1;
        }
        if (f->type == FW_JSON_ALERTS && s_check_alerts(v, err) < 0) {
            char inner[sizeof(err->msg)];
            snprintf(inner, sizeof(inner), "%s", err ? err->msg : "");
            fw_err_set(err, "%s: %s", name, inner);
            return -1;
        }
    }
    for (size_t i = 0; i < S_NFIELDS; i++)
        if (s_fields[i].msg == type && s_fields[i].required &&
            !json_object_get(body, s_fields[i].key)) {
            fw_err_set(err, "%s: required key \"%s\" is missing", name, s_fields[i].key);
            return -1;
        }
    return 0;
}

// --- frames -------------------------------------------------------------------------------

// Most JSON bodies (a NOTIFY is about 1 KiB) are dumped on the stack and copied once into
// their frame; json_dumps grew a heap buffer by doubling, then the frame copied it again
// (allocations and fresh heap pages on the first notification's path). fw_json_dump writes
// jansson's bytes in less than half of json_dumpb's time (a 50-alert NOTIFY 49 us, not 122).
#define S_JSON_STACK 8192

// body (an object or array, as json_dumpb's JSON_COMPACT takes) as compact JSON, appended
// to z as one frame. 0, or -1 when it cannot be serialised.
static int
s_add_json(zmsg_t *z, const json_t *body)
{
    char stack[S_JSON_STACK], *heap;
    size_t n;
    const char *text = json_is_object(body) || json_is_array(body)
                           ? fw_json_dump_buf(body, stack, sizeof stack, &n, &heap)
                           : NULL;
    if (!text)
        return -1; // jansson would refuse it
    zmsg_addmem(z, text, n);
    free(heap);
    return 0;
}

zmsg_t *
fw_msg_encode(const struct fw_msg *self, fw_err_t *err)
{
    if ((unsigned)self->type >= FW_MSG_COUNT) {
        fw_err_set(err, "cannot encode message of unknown type %d", (int)self->type);
        return NULL;
    }
    zmsg_t *z = zmsg_new();
    zmsg_addstr(z, s_types[self->type].name);
    char ver[16];
    snprintf(ver, sizeof ver, "%d",
             self->type == FW_MSG_SAMPLES && self->batch ? fw_msg_samples_version(self->batch)
                                                         : s_types[self->type].version);
    zmsg_addstr(z, ver);
    if (s_types[self->type].body == FW_BODY_BINARY) {
        unsigned char *body = NULL;
        size_t len = 0;
        if (!self->batch || fw_msg_samples_encode(self->batch, &body, &len, err) < 0) {
            if (!self->batch)
                fw_err_set(err, "SAMPLES message without a batch");
            zmsg_destroy(&z);
            return NULL;
        }
        zmsg_addmem(z, body, len);
        free(body);
    } else {
        if (s_check_json(self->type, self->body, err) < 0) {
            zmsg_destroy(&z);
            return NULL;
        }
        if (s_add_json(z, self->body) < 0) {
            fw_err_set(err, "%s: body cannot be serialised", s_types[self->type].name);
            zmsg_destroy(&z);
            return NULL;
        }
    }
    return z;
}

int
fw_msg_decode(zmsg_t *frames, struct fw_msg **out, fw_err_t *err)
{
    *out = NULL;
    if (zmsg_size(frames) != 3) {
        fw_err_set(err, "expected 3 frames, got %zu", zmsg_size(frames));
        return -1;
    }
    zframe_t *ft = zmsg_first(frames);
    zframe_t *fv = zmsg_next(frames);
    zframe_t *fb = zmsg_next(frames);
    char token[32], ver[16];
    size_t tl = zframe_size(ft), vl = zframe_size(fv);
    if (tl == 0 || tl >= sizeof(token) || vl == 0 || vl >= sizeof(ver)) {
        fw_err_set(err, "malformed type or version frame");
        return -1;
    }
    memcpy(token, zframe_data(ft), tl);
    token[tl] = '\0';
    memcpy(ver, zframe_data(fv), vl);
    ver[vl] = '\0';
    fw_msg_type_t type;
    if (fw_msg_type_parse(token, &type) < 0) {
        fw_err_set(err, "unknown message type \"%.31s\"", token);
        return -1;
    }
    char *end;
    long version = strtol(ver, &end, 10);
    // SAMPLES v2 is still read; v4 is v3 with start times
    bool samples_other =
        type == FW_MSG_SAMPLES && (version == FW_SAMPLES_V2 || version == FW_SAMPLES_V4);
    if (*end || (version != s_types[type].version && !samples_other)) {
        fw_err_set(err, "%s: unsupported version \"%.15s\" (want %d)", token, ver,
                   s_types[type].version);
        return -1;
    }
    struct fw_msg *m = fw_calloc(1, sizeof(*m));
    m->type = type;
    m->version = (int)version;
    if (s_types[type].body == FW_BODY_BINARY) {
        if (fw_msg_samples_decode((int)version, zframe_data(fb), zframe_size(fb), &m->batch, err) <
            0)
            goto fail;
    } else {
        json_error_t jerr;
        m->body = json_loadb((const char *)zframe_data(fb), zframe_size(fb), 0, &jerr);
        if (!m->body) {
            fw_err_set(err, "%s: invalid JSON at position %d: %s", token, jerr.position, jerr.text);
            goto fail;
        }
        if (s_check_json(type, m->body, err) < 0)
            goto fail;
    }
    *out = m;
    return 0;
fail:
    fw_msg_destroy(&m);
    return -1;
}

int
fw_msg_send(struct fw_msg **self_p, zsock_t *sock, fw_err_t *err)
{
    zmsg_t *z = fw_msg_encode(*self_p, err);
    fw_msg_destroy(self_p);
    if (!z)
        return -1;
    if (zmsg_send(&z, sock) < 0) {
        zmsg_destroy(&z);
        fw_err_set(err, "send failed: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

int
fw_msg_recv(zsock_t *sock, struct fw_msg **out, fw_err_t *err)
{
    *out = NULL;
    zmsg_t *z = zmsg_recv(sock);
    if (!z) {
        fw_err_set(err, "receive interrupted");
        return -1;
    }
    int rc = fw_msg_decode(z, out, err);
    zmsg_destroy(&z);
    return rc;
}

// --- JSON for people ----------------------------------------------------------------------

static json_t *
s_batch_to_json(const struct fw_batch *b)
{
    json_t *series = json_array();
    for (size_t i = 0; i < b->len; i++) {
        const struct fw_series *s = &b->series[i];
        json_t *labels = json_object();
        for (size_t j = 0; j < s->labels.len; j++)
            json_object_set_new(labels, s->labels.items[j].name, // steals the new string
                                json_string(s->labels.items[j].value));
        json_t *samples = json_array();
        for (size_t k = 0; k < s->len; k++) {
            char v[40];
            double x = s->samples[k].v;
            if (fw_is_stale_nan(x))
                snprintf(v, sizeof(v), "stale");
            else if (isnan(x))
                snprintf(v, sizeof(v), "NaN");
            else if (isinf(x))
                snprintf(v, sizeof(v), x > 0 ? "+Inf" : "-Inf");
            else
                snprintf(v, sizeof(v), "%.17g", x);
            json_array_append_new(samples, // steals the pair
                                  json_pack("[Is]", (json_int_t)s->samples[k].t_ms, v));
        }
        json_t *one = json_pack("{soso}", "labels", labels, "samples", samples);
        if (s->ref)
            json_object_set_new(one, "ref", json_integer((json_int_t)s->ref)); // steals
        if (s->st) { // SAMPLES v4: the samples' start times, in order (0: none)
            json_t *st = json_array();
            for (size_t k = 0; k < s->len; k++)
                json_array_append_new(st, json_integer((json_int_t)s->st[k]));
            json_object_set_new(one, "st", st);
        }
        json_array_append_new(series, one);
    }
    return json_pack("{sssIsIso}", "sender", b->sender, "seq", (json_int_t)b->seq, "oldest",
                     (json_int_t)b->oldest, "series", series);
}

char *
fw_msg_to_json(const struct fw_msg *self)
{
    json_t *body = self->batch ? s_batch_to_json(self->batch) : json_incref(self->body);
    json_t *o = json_pack("{sssiso}", "type", fw_msg_type_str(self->type), "version", self->version,
                          "body", body ? body : json_null());
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return text ? text : fw_strdup("{}");
}

json_t *
fw_msg_redacted(fw_msg_type_t type, const json_t *body)
{
    struct fw_secret_path paths[sizeof s_secrets / sizeof *s_secrets];
    size_t n = 0;
    for (size_t i = 0; s_secrets[i].path.path; i++)
        if (s_secrets[i].msg == type)
            paths[n++] = s_secrets[i].path;
    paths[n] = (struct fw_secret_path){NULL, FW_SECRET_VALUE};
    if (n == 0)
        return json_incref((json_t *)body);
    json_t *copy = json_deep_copy(body);
    fw_secret_redact_json(copy, paths);
    return copy;
}
