/*  tsdb_ingest.c — the per-sender table of exactly-once ingest (see tsdb_ingest.h).

    Senders live in a zhashx keyed by their id (the entry owns the key string). Entries
    with a batch accepted since the last commit are also on the `dirty` list, which
    tsdb_ingest_committed walks; they are never evicted or expired, so the list's pointers
    stay valid. Eviction scans the table for the sender seen longest ago: O(n) per new
    sender when the table is full, at most TSDB_INGEST_MAX_SENDERS steps.

    Blob format (little-endian): "FWIG", u8 version 1, u32 count, then count times: u8 id
    length (1..255), the id, u64 next, i64 last seen (ms).
*/
#include "tsdb_ingest.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"

#define S_MAGIC "FWIG"
#define S_VERSION 1

struct s_sender {
    char id[TSDB_INGEST_SENDER_MAX + 1];
    uint64_t next;    // the next seq expected, counting batches accepted but not committed
    uint64_t durable; // next as of the last commit: every seq below it is durable
    int64_t last_ms;  // last batch seen
    bool dirty;       // on the dirty list
};

struct tsdb_ingest {
    zhashx_t *senders;         // owned: id -> struct s_sender (owned)
    struct s_sender **dirty;   // borrowed entries with batches pending commit
    size_t n_dirty, cap_dirty; //
    size_t pending;            // batches accepted since the last commit
    size_t max_senders;
    int64_t idle_ms;
};

static void
s_sender_free(void **item)
{
    free(*item);
    *item = NULL;
}

tsdb_ingest_t *
tsdb_ingest_new(size_t max_senders, int64_t idle_ms)
{
    tsdb_ingest_t *self = fw_calloc(1, sizeof(*self));
    self->senders = zhashx_new();
    zhashx_set_destructor(self->senders, s_sender_free);
    // The entry holds its id, which is the key: the table neither copies nor frees keys.
    zhashx_set_key_duplicator(self->senders, NULL);
    zhashx_set_key_destructor(self->senders, NULL);
    self->max_senders = max_senders ? max_senders : TSDB_INGEST_MAX_SENDERS;
    self->idle_ms = idle_ms > 0 ? idle_ms : TSDB_INGEST_IDLE_MS;
    return self;
}

void
tsdb_ingest_destroy(tsdb_ingest_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_ingest_t *self = *self_p;
    zhashx_destroy(&self->senders);
    free(self->dirty);
    free(self);
    *self_p = NULL;
}

// Make room for one more sender: drop the one seen longest ago among those with nothing
// pending (none such: the table grows past its bound until the next commit).
static void
s_evict_one(tsdb_ingest_t *self)
{
    struct s_sender *victim = NULL;
    for (struct s_sender *s = zhashx_first(self->senders); s; s = zhashx_next(self->senders))
        if (!s->dirty && (!victim || s->last_ms < victim->last_ms))
            victim = s;
    if (victim)
        zhashx_delete(self->senders, victim->id);
}

static struct s_sender *
s_add(tsdb_ingest_t *self, const char *id, uint64_t next, int64_t last_ms)
{
    if (zhashx_size(self->senders) >= self->max_senders)
        s_evict_one(self);
    struct s_sender *s = fw_calloc(1, sizeof(*s));
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->next = s->durable = next;
    s->last_ms = last_ms;
    zhashx_insert(self->senders, s->id, s);
    return s;
}

tsdb_ingest_verdict_t
tsdb_ingest_offer(tsdb_ingest_t *self, const char *sender, uint64_t seq, uint64_t oldest,
                  int64_t now_ms)
{
    size_t len = strnlen(sender, TSDB_INGEST_SENDER_MAX + 1);
    if (len == 0 || len > TSDB_INGEST_SENDER_MAX || oldest == 0 || oldest > seq)
        return TSDB_INGEST_INVALID;
    struct s_sender *s = zhashx_lookup(self->senders, sender);
    if (!s)
        s = s_add(self, sender, oldest, now_ms);
    if (now_ms > s->last_ms)
        s->last_ms = now_ms;
    // The sender no longer holds anything before oldest: waiting for those is futile.
    if (oldest > s->next)
        s->next = oldest;
    if (seq < s->next)
        return TSDB_INGEST_DUPLICATE;
    if (seq > s->next)
        return TSDB_INGEST_GAP;
    s->next = seq + 1;
    self->pending++;
    if (!s->dirty) {
        s->dirty = true;
        fw_mem_grow((void **)&self->dirty, &self->cap_dirty, self->n_dirty + 1,
                    sizeof(*self->dirty));
        self->dirty[self->n_dirty++] = s;
    }
    return TSDB_INGEST_ACCEPT;
}

uint64_t
tsdb_ingest_acked(const tsdb_ingest_t *self, const char *sender)
{
    const struct s_sender *s = zhashx_lookup(self->senders, sender);
    return s ? s->durable - 1 : 0;
}

uint64_t
tsdb_ingest_next(const tsdb_ingest_t *self, const char *sender)
{
    const struct s_sender *s = zhashx_lookup(self->senders, sender);
    return s ? s->next : 0;
}

bool
tsdb_ingest_pending(const tsdb_ingest_t *self)
{
    return self->pending > 0;
}

size_t
tsdb_ingest_pending_batches(const tsdb_ingest_t *self)
{
    return self->pending;
}

void
tsdb_ingest_committed(tsdb_ingest_t *self)
{
    for (size_t i = 0; i < self->n_dirty; i++) {
        self->dirty[i]->durable = self->dirty[i]->next;
        self->dirty[i]->dirty = false;
    }
    self->n_dirty = 0;
    self->pending = 0;
}

size_t
tsdb_ingest_expire(tsdb_ingest_t *self, int64_t now_ms)
{
    int64_t before = now_ms - self->idle_ms;
    // Collect first: deleting while iterating a zhashx is not allowed.
    const char **ids = NULL;
    size_t n = 0, cap = 0;
    for (struct s_sender *s = zhashx_first(self->senders); s; s = zhashx_next(self->senders))
        if (!s->dirty && s->last_ms < before) {
            fw_mem_grow((void **)&ids, &cap, n + 1, sizeof(*ids));
            ids[n++] = s->id;
        }
    for (size_t i = 0; i < n; i++)
        zhashx_delete(self->senders, ids[i]);
    free(ids);
    return n;
}

size_t
tsdb_ingest_count(const tsdb_ingest_t *self)
{
    return zhashx_size(self->senders);
}

// --- blob ---------------------------------------------------------------------------------

static void
s_put_u(unsigned char **p, uint64_t v, size_t bytes)
{
    fw_bytes_put_le(*p, v, bytes);
    *p += bytes;
}

static uint64_t
s_get_u(const unsigned char **p, size_t bytes)
{
    uint64_t v = fw_bytes_get_le(*p, bytes);
    *p += bytes;
    return v;
}

void *
tsdb_ingest_save(const tsdb_ingest_t *self, size_t *len)
{
    size_t n = zhashx_size(self->senders);
    size_t size = 4 + 1 + 4;
    // zhashx's cursor is not const; walking it changes no entry.
    zhashx_t *t = self->senders;
    for (struct s_sender *s = zhashx_first(t); s; s = zhashx_next(t))
        size += 1 + strlen(s->id) + 8 + 8;
    unsigned char *blob = fw_malloc(size), *p = blob;
    memcpy(p, S_MAGIC, 4);
    p += 4;
    *p++ = S_VERSION;
    s_put_u(&p, n, 4);
    for (struct s_sender *s = zhashx_first(t); s; s = zhashx_next(t)) {
        size_t l = strlen(s->id);
        *p++ = (unsigned char)l;
        memcpy(p, s->id, l);
        p += l;
        s_put_u(&p, s->next, 8);
        s_put_u(&p, (uint64_t)s->last_ms, 8);
    }
    *len = size;
    return blob;
}

static void
s_clear(tsdb_ingest_t *self)
{
    zhashx_purge(self->senders);
    self->n_dirty = 0;
    self->pending = 0;
}

int
tsdb_ingest_load(tsdb_ingest_t *self, const void *blob, size_t len, fw_err_t *err)
{
    s_clear(self);
    if (len == 0)
        return 0;
    const unsigned char *p = blob, *end = p + len;
    if (len < 9 || memcmp(p, S_MAGIC, 4) != 0 || p[4] != S_VERSION) {
        fw_err_set(err, "ingest state: not a version %d table (%zu bytes)", S_VERSION, len);
        return -1;
    }
    p += 5;
    uint64_t n = s_get_u(&p, 4);
    for (uint64_t i = 0; i < n; i++) {
        size_t l = p < end ? *p : 0;
        if (l == 0 || (size_t)(end - p) < 1 + l + 16) {
            fw_err_set(err, "ingest state: sender %llu of %llu truncated or empty",
                       (unsigned long long)i, (unsigned long long)n);
            goto fail;
        }
        p++;
        char id[TSDB_INGEST_SENDER_MAX + 1];
        memcpy(id, p, l);
        id[l] = '\0';
        p += l;
        uint64_t next = s_get_u(&p, 8);
        int64_t last = (int64_t)s_get_u(&p, 8);
        if (strlen(id) != l || next == 0 || zhashx_lookup(self->senders, id)) {
            fw_err_set(err, "ingest state: sender %llu is damaged or repeated",
                       (unsigned long long)i);
            goto fail;
        }
        // Loading never evicts: a table saved under a larger bound is kept whole.
        struct s_sender *s = fw_calloc(1, sizeof(*s));
        memcpy(s->id, id, l + 1);
        s->next = s->durable = next;
        s->last_ms = last;
        zhashx_insert(self->senders, s->id, s);
    }
    if (p != end) {
        fw_err_set(err, "ingest state: %zu trailing bytes", (size_t)(end - p));
        goto fail;
    }
    return 0;
fail:
    s_clear(self);
    return -1;
}
