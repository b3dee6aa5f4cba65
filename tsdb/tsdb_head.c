/*  tsdb_head.c — the in-memory head (see tsdb_head.h).

    A series is one allocation: the struct, then its label text (names and values, a NUL
    after each; no array of pointers: a view is made when one is asked for), so a lookup
    touches adjacent memory. Two open-addressing tables with linear probing point at
    the same series: one keyed by the label hash (ingest), one by id (retention, garbage
    collection). Each slot caches its key, so a probe compares label sets only when the
    64-bit hashes are equal. Removal shifts the following entries back (no tombstones), so
    probe lengths never degrade.
    A sealed chunk is one allocation (struct tsdb_head_chunk) on its series' kept list: the
    commit writes it, and it stays until every reader that started before that commit is
    gone (tsdb_head_release), so such a reader, whose snapshot lacks the chunk, still finds
    its samples here (tsdb_head_view).
*/
#include "tsdb_head.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_store.h"

// A slot is one word: the series pointer in the low 48 bits (user-space addresses on x86-64
// and arm64 fit) and the top 16 bits of its key above them, so that a probe rejects most
// other keys without touching their series; 0 is empty. 8 bytes a slot instead of 16 save
// some 40 bytes a series at the tables' load.
#define S_PTR_BITS 48
#define S_PTR_MASK ((UINT64_C(1) << S_PTR_BITS) - 1)

typedef struct {
    uint64_t *slots; // owned
    size_t mask;     // capacity - 1 (a power of two), or 0 before the first insert
    bool ids;        // keyed by s_id_key(id), else by the label hash
} s_table_t;

static inline struct tsdb_head_series *
s_slot_series(uint64_t w)
{
    return (struct tsdb_head_series *)(uintptr_t)(w & S_PTR_MASK);
}

static inline bool
s_slot_tag_is(uint64_t w, uint64_t key)
{
    return (w >> S_PTR_BITS) == (key >> S_PTR_BITS);
}

struct tsdb_head {
    s_table_t by_hash, by_id;
    size_t count;
    uint64_t epoch; // bumped whenever a series is freed: pointers kept outside are checked
    struct tsdb_head_series **pending; // owned array of borrowed series
    size_t n_pending, cap_pending;
    bool pending_more; // a pending series is new or has late samples: not just a changed
                       // open chunk (between checkpoints a commit then need not walk them)
    struct tsdb_head_sealed *sealed; // owned: the chunks sealed since the last commit
    size_t n_sealed, cap_sealed;
    size_t sealed_done; // sealed[0..sealed_done) are committed (tsdb_head_sealed_committed)
    struct tsdb_head_series **kept; // owned array of borrowed series with kept chunks
    size_t n_kept, cap_kept;
    int64_t ooo_window;
    int64_t maxt;
    uint64_t batch;                      // the number of the open batch, or of the last one
    bool in_batch;                       // between tsdb_head_batch_begin and _end
    _Atomic uint64_t visible;            // the last batch ended (tsdb_head_visible)
    const struct tsdb_head_marks *marks; // borrowed, or NULL
    struct tsdb_head_note *notes;        // owned: tsdb_head_notes
    size_t n_notes, cap_notes;
};

// ---------------------------------------------------------------------------------------
// Tables

static uint64_t
s_id_key(uint64_t id)
{
    // splitmix64's finaliser: consecutive ids spread over the table
    id ^= id >> 30;
    id *= 0xbf58476d1ce4e5b9ULL;
    id ^= id >> 27;
    id *= 0x94d049bb133111ebULL;
    return id ^ (id >> 31);
}

// The key series s has in table t.
static inline uint64_t
s_table_key(const s_table_t *t, const struct tsdb_head_series *s)
{
    return t->ids ? s_id_key(s->id) : s->hash;
}

static void s_table_put(s_table_t *t, struct tsdb_head_series *s);

static void
s_table_grow(s_table_t *t, size_t count)
{
    if (t->mask && count + 1 <= (t->mask + 1) / 2)
        return;
    s_table_t old = *t;
    size_t cap = old.mask ? (old.mask + 1) * 2 : 64;
    t->slots = fw_calloc(cap, sizeof(*t->slots));
    t->mask = cap - 1;
    for (size_t k = 0; old.mask && k <= old.mask; k++)
        if (old.slots[k])
            s_table_put(t, s_slot_series(old.slots[k]));
    free(old.slots);
}

static void
s_table_put(s_table_t *t, struct tsdb_head_series *s)
{
    uint64_t key = s_table_key(t, s);
    if ((uintptr_t)s & ~S_PTR_MASK)
        fw_fatal(70, "tsdb.head.address", "series=%p: above the 48-bit addresses a slot holds",
                 (void *)s);
    size_t i = (size_t)key & t->mask;
    while (t->slots[i])
        i = (i + 1) & t->mask;
    t->slots[i] = (key >> S_PTR_BITS << S_PTR_BITS) | (uint64_t)(uintptr_t)s;
}

static void
s_table_del(s_table_t *t, const struct tsdb_head_series *s)
{
    size_t i = (size_t)s_table_key(t, s) & t->mask;
    while (s_slot_series(t->slots[i]) != s) {
        if (!t->slots[i])
            return; // not there
        i = (i + 1) & t->mask;
    }
    // backward-shift deletion: move up every later entry whose home is at or before the hole
    size_t hole = i;
    for (size_t j = (i + 1) & t->mask; t->slots[j]; j = (j + 1) & t->mask) {
        size_t home = (size_t)s_table_key(t, s_slot_series(t->slots[j])) & t->mask;
        if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
            t->slots[hole] = t->slots[j];
            hole = j;
        }
    }
    t->slots[hole] = 0;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

tsdb_head_t *
tsdb_head_new(void)
{
    tsdb_head_t *self = fw_calloc(1, sizeof(*self));
    self->by_id.ids = true;
    self->maxt = INT64_MIN;
    return self;
}

static void
s_series_free(struct tsdb_head_series *s)
{
    tsdb_chunk_app_clear(&s->app);
    while (s->kept) {
        struct tsdb_head_chunk *c = s->kept;
        s->kept = c->next;
        free(c);
    }
    free(s->late);
    free(s);
}

void
tsdb_head_destroy(tsdb_head_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_head_t *self = *self_p;
    for (size_t k = 0; self->by_id.mask && k <= self->by_id.mask; k++)
        if (self->by_id.slots[k])
            s_series_free(s_slot_series(self->by_id.slots[k]));
    free(self->by_id.slots);
    free(self->by_hash.slots);
    free(self->pending);
    free(self->sealed);
    free(self->kept);
    free(self->notes);
    free(self);
    *self_p = NULL;
}

void
tsdb_head_set_ooo_window(tsdb_head_t *self, int64_t ms)
{
    self->ooo_window = ms > 0 ? ms : 0;
}

int64_t
tsdb_head_ooo_window(const tsdb_head_t *self)
{
    return self->ooo_window;
}

size_t
tsdb_head_count(const tsdb_head_t *self)
{
    return self->count;
}

int64_t
tsdb_head_maxt(const tsdb_head_t *self)
{
    return self->maxt;
}

uint64_t
tsdb_head_epoch(const tsdb_head_t *self)
{
    return self->epoch;
}

// ---------------------------------------------------------------------------------------
// Series

void
tsdb_head_labels(const struct tsdb_head_series *s, struct fw_labels *view)
{
    fw_mem_grow((void **)&view->items, &view->cap, s->n_labels, sizeof(*view->items));
    const char *p = s->text;
    for (uint16_t k = 0; k < s->n_labels; k++) {
        view->items[k].name = (char *)p;
        p += strlen(p) + 1;
        view->items[k].value = (char *)p;
        p += strlen(p) + 1;
    }
    view->len = s->n_labels;
}

int64_t
tsdb_head_open_mint(const struct tsdb_head_series *s)
{
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(&s->app, &len);
    struct tsdb_chunk_info info;
    return len && tsdb_chunk_info(p, len, &info) == 0 ? info.mint : INT64_MIN;
}

bool
tsdb_head_labels_equal(const struct tsdb_head_series *s, const struct fw_labels *l)
{
    if (s->n_labels != l->len)
        return false;
    const char *p = s->text, *end = s->text + s->text_len;
    for (size_t k = 0; k < l->len; k++) {
        const char *parts[2] = {l->items[k].name, l->items[k].value};
        for (int j = 0; j < 2; j++) {
            size_t n = strlen(parts[j]) + 1; // the NUL too: "a" is not "ab"
            if ((size_t)(end - p) < n || memcmp(p, parts[j], n) != 0)
                return false;
            p += n;
        }
    }
    return true;
}

struct tsdb_head_series *
tsdb_head_find(const tsdb_head_t *self, const struct fw_labels *l, uint64_t hash)
{
    const s_table_t *t = &self->by_hash;
    if (!t->mask)
        return NULL;
    for (size_t i = (size_t)hash & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
        struct tsdb_head_series *s = s_slot_series(t->slots[i]);
        if (s_slot_tag_is(t->slots[i], hash) && s->hash == hash && tsdb_head_labels_equal(s, l))
            return s;
    }
    return NULL;
}

struct tsdb_head_series *
tsdb_head_find_id(const tsdb_head_t *self, uint64_t id)
{
    const s_table_t *t = &self->by_id;
    if (!t->mask)
        return NULL;
    uint64_t key = s_id_key(id);
    for (size_t i = (size_t)key & t->mask; t->slots[i]; i = (i + 1) & t->mask)
        if (s_slot_tag_is(t->slots[i], key) && s_slot_series(t->slots[i])->id == id)
            return s_slot_series(t->slots[i]);
    return NULL;
}

static void
s_queue(tsdb_head_t *self, struct tsdb_head_series *s)
{
    if (s->queued)
        return;
    fw_mem_grow((void **)&self->pending, &self->cap_pending, self->n_pending + 1,
                sizeof(*self->pending));
    self->pending[self->n_pending++] = s;
    s->queued = true;
}

struct tsdb_head_series *
tsdb_head_add(tsdb_head_t *self, const struct fw_labels *l, uint64_t hash, uint64_t id, bool is_new)
{
    // one allocation for the series and its label text: a lookup touches a few adjacent
    // cache lines, and a series costs one malloc
    if (l->len > UINT16_MAX)
        fw_fatal(70, "tsdb.head.labels", "labels=%zu: more than a series can hold", l->len);
    size_t text = 0;
    for (size_t k = 0; k < l->len; k++)
        text += strlen(l->items[k].name) + strlen(l->items[k].value) + 2;
    if (text > UINT32_MAX)
        fw_fatal(70, "tsdb.head.labels", "bytes=%zu: more than a series can hold", text);
    struct tsdb_head_series *s = fw_calloc(1, offsetof(struct tsdb_head_series, text) + text);
    char *p = s->text;
    for (size_t k = 0; k < l->len; k++) {
        const char *parts[2] = {l->items[k].name, l->items[k].value};
        for (int j = 0; j < 2; j++) {
            size_t n = strlen(parts[j]) + 1;
            memcpy(p, parts[j], n);
            p += n;
        }
    }
    s->n_labels = (uint16_t)l->len;
    s->text_len = (uint32_t)text;
    s->id = id;
    s->hash = hash;
    tsdb_chunk_app_init(&s->app);
    s->is_new = is_new;
    s_table_grow(&self->by_hash, self->count);
    s_table_grow(&self->by_id, self->count);
    s_table_put(&self->by_hash, s);
    s_table_put(&self->by_id, s);
    self->count++;
    if (is_new) {
        s_queue(self, s);
        self->pending_more = true;
    }
    return s;
}

static void
s_note_maxt(tsdb_head_t *self, int64_t t)
{
    if (t > self->maxt)
        self->maxt = t;
}

int
tsdb_head_load_open(tsdb_head_t *self, struct tsdb_head_series *s, const void *p, size_t len)
{
    struct tsdb_chunk_app a;
    tsdb_chunk_app_init(&a);
    int rc = tsdb_chunk_app_reopen(&a, p, len);
    if (rc != 0 || tsdb_chunk_app_count(&a) == 0) {
        tsdb_chunk_app_clear(&a);
        return rc ? rc : FW_EPARSE;
    }
    // the last value: iterate the chunk (at most TSDB_CHUNK_MAX_SAMPLES samples)
    struct tsdb_chunk_iter it;
    size_t n;
    const unsigned char *bytes = tsdb_chunk_app_bytes(&a, &n);
    tsdb_chunk_iter_init(&it, bytes, n);
    struct fw_sample last = {0, 0};
    while (tsdb_chunk_iter_next(&it))
        last = (struct fw_sample){it.t, it.v};
    tsdb_chunk_app_clear(&s->app);
    s->app = a;
    tsdb_head_load_last(self, s, last.t_ms, last.v, true);
    return 0;
}

void
tsdb_head_load_last(tsdb_head_t *self, struct tsdb_head_series *s, int64_t t, double v,
                    bool v_known)
{
    s->has_last = true;
    s->last_t = t;
    s->last_v = v;
    s->last_v_known = v_known;
    s_note_maxt(self, t);
}

// ---------------------------------------------------------------------------------------
// Appending

// Seal the open chunk, keep its bytes for the commit (and the readers) and start an empty
// one.
static void
s_cut(tsdb_head_t *self, struct tsdb_head_series *s)
{
    if (tsdb_chunk_app_count(&s->app) == 0)
        return;
    int64_t mint = tsdb_head_open_mint(s);
    tsdb_chunk_app_seal(&s->app);
    size_t len;
    const unsigned char *p = tsdb_chunk_app_bytes(&s->app, &len);
    struct tsdb_head_chunk *c = fw_malloc(sizeof(*c) + len);
    c->next = NULL;
    c->txn = TSDB_HEAD_UNCOMMITTED;
    c->mint = mint;
    c->len = (uint32_t)len;
    memcpy(c->bytes, p, len);
    struct tsdb_head_chunk **tail = &s->kept;
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    fw_mem_grow((void **)&self->sealed, &self->cap_sealed, self->n_sealed + 1,
                sizeof(*self->sealed));
    self->sealed[self->n_sealed++] = (struct tsdb_head_sealed){s->id, c->mint, c->len, c};
    // free the buffer rather than keep it: it grew for a whole chunk, and a series that
    // gets few or no more samples should not hold that (one malloc per chunk otherwise)
    tsdb_chunk_app_clear(&s->app);
    s->dirty = true;
    s_queue(self, s);
}

// Append (t, v) with start time st (0: none) after the open chunk's last sample, cutting
// first when it is full.
static void
s_push(tsdb_head_t *self, struct tsdb_head_series *s, int64_t t, int64_t st, double v)
{
    if (tsdb_chunk_app_count(&s->app) > 0 && tsdb_chunk_app_full(&s->app, t))
        s_cut(self, s);
    if (tsdb_chunk_app_append_st(&s->app, t, st, v) != 0) {
        // cannot happen after the checks above; an empty chunk takes any sample
        s_cut(self, s);
        (void)tsdb_chunk_app_append_st(&s->app, t, st, v);
    }
    s->dirty = true;
    s_queue(self, s);
    // a chunk that can take no more samples is sealed now, not when the next one comes:
    // it is stored in its smallest form at once and its memory is free for the next
    if (tsdb_chunk_app_count(&s->app) >= TSDB_CHUNK_MAX_SAMPLES)
        s_cut(self, s);
}

static bool
s_same_bits(double a, double b)
{
    uint64_t x, y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    return x == y;
}

// A late sample at or after the open chunk's first: re-encode the open chunk with it.
static void
s_late_open(tsdb_head_t *self, struct tsdb_head_series *s, int64_t t, int64_t start, double v,
            struct tsdb_store_stats *st)
{
    struct fw_sample a[TSDB_CHUNK_MAX_SAMPLES + 1];
    int64_t sts[TSDB_CHUNK_MAX_SAMPLES + 1];
    size_t n = 0, len;
    const unsigned char *p = tsdb_chunk_app_bytes(&s->app, &len);
    struct tsdb_chunk_iter it;
    tsdb_chunk_iter_init(&it, p, len);
    while (n < TSDB_CHUNK_MAX_SAMPLES && tsdb_chunk_iter_next(&it)) {
        sts[n] = it.st;
        a[n++] = (struct fw_sample){it.t, it.v};
    }
    size_t pos = 0;
    while (pos < n && a[pos].t_ms < t)
        pos++;
    if (pos < n && a[pos].t_ms == t) {
        if (s_same_bits(a[pos].v, v))
            st->duplicates++;
        else
            st->conflicts++;
        return;
    }
    memmove(&a[pos + 1], &a[pos], (n - pos) * sizeof(a[0]));
    memmove(&sts[pos + 1], &sts[pos], (n - pos) * sizeof(sts[0]));
    a[pos] = (struct fw_sample){t, v};
    sts[pos] = start;
    n++;
    tsdb_chunk_app_reset(&s->app);
    for (size_t k = 0; k < n; k++)
        s_push(self, s, a[k].t_ms, sts[k], a[k].v);
    st->samples++;
    st->late++;
}

// A late sample before the open chunk: into the sorted late list for the commit.
static void
s_late_list(tsdb_head_t *self, struct tsdb_head_series *s, int64_t t, double v,
            struct tsdb_store_stats *st)
{
    struct tsdb_head_late *late = s->late;
    uint32_t lo = 0, hi = late ? late->n : 0;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (late->v[mid].t_ms < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (late && lo < late->n && late->v[lo].t_ms == t) {
        if (s_same_bits(late->v[lo].v, v))
            st->duplicates++;
        else
            st->conflicts++;
        return;
    }
    if (!late || late->n == late->cap) {
        uint32_t cap = late ? late->cap * 2 : 8;
        late = fw_realloc(late, sizeof(*late) + cap * sizeof(late->v[0]));
        if (!s->late)
            late->n = 0;
        late->cap = cap;
        s->late = late;
    }
    memmove(&late->v[lo + 1], &late->v[lo], (late->n - lo) * sizeof(late->v[0]));
    late->v[lo] = (struct fw_sample){t, v};
    late->n++;
    s_queue(self, s);
    self->pending_more = true;
    st->samples++;
    st->late++;
}

void
tsdb_head_set_marks(tsdb_head_t *self, const struct tsdb_head_marks *marks)
{
    self->marks = marks;
}

const struct tsdb_head_note *
tsdb_head_notes(const tsdb_head_t *self, size_t *n)
{
    *n = self->n_notes;
    return self->notes;
}

void
tsdb_head_notes_clear(tsdb_head_t *self)
{
    self->n_notes = 0;
}

// Note series id's samples in [lo, hi] (tsdb_head_note); the buffer is reused from commit
// to commit.
static void
s_note(tsdb_head_t *self, uint64_t id, int64_t lo, int64_t hi, bool deferred)
{
    uint64_t mask = 0;
    for (size_t q = 0; !deferred && q < TSDB_HEAD_MARKS; q++)
        if (atomic_load_explicit(&self->marks->mark[q], memory_order_relaxed) >= lo)
            mask |= UINT64_C(1) << q;
    struct tsdb_head_note *last = self->n_notes ? &self->notes[self->n_notes - 1] : NULL;
    if (last && last->id == id && last->deferred == deferred) {
        last->lo = lo < last->lo ? lo : last->lo;
        last->hi = hi > last->hi ? hi : last->hi;
        last->mask |= mask;
        return;
    }
    fw_mem_grow((void **)&self->notes, &self->cap_notes, self->n_notes + 1, sizeof(*self->notes));
    self->notes[self->n_notes++] = (struct tsdb_head_note){id, lo, hi, mask, deferred};
}

void
tsdb_head_append(tsdb_head_t *self, struct tsdb_head_series *s, const struct fw_sample *samples,
                 size_t n, struct tsdb_store_stats *st)
{
    tsdb_head_append_st(self, s, samples, NULL, n, st);
}

void
tsdb_head_batch_begin(tsdb_head_t *self)
{
    assert(!self->in_batch);
    self->in_batch = true;
    self->batch++;
}

void
tsdb_head_batch_end(tsdb_head_t *self)
{
    assert(self->in_batch);
    self->in_batch = false;
    // release: a reader that loads this number sees every append of the batch
    atomic_store_explicit(&self->visible, self->batch, memory_order_release);
}

uint64_t
tsdb_head_visible(const tsdb_head_t *self)
{
    return atomic_load_explicit(&self->visible, memory_order_acquire);
}

bool
tsdb_head_in_batch(const tsdb_head_t *self)
{
    return self->in_batch;
}

// The first append of the open batch to s: note the batch and s's newest in-order sample
// before it (see "Batches" in tsdb_head.h).
static inline void
s_iso_note(const tsdb_head_t *self, struct tsdb_head_series *s)
{
    if (s->iso_seq == self->batch)
        return;
    s->iso_seq = self->batch;
    s->iso_t = s->has_last ? s->last_t : INT64_MIN;
}

static void s_append_st(tsdb_head_t *self, struct tsdb_head_series *s,
                        const struct fw_sample *samples, const int64_t *start, size_t n,
                        struct tsdb_store_stats *st);

void
tsdb_head_append_st(tsdb_head_t *self, struct tsdb_head_series *s, const struct fw_sample *samples,
                    const int64_t *start, size_t n, struct tsdb_store_stats *st)
{
    if (self->in_batch) {
        s_iso_note(self, s);
        s_append_st(self, s, samples, start, n, st);
        return;
    }
    tsdb_head_batch_begin(self); // an append of its own is a batch
    s_iso_note(self, s);
    s_append_st(self, s, samples, start, n, st);
    tsdb_head_batch_end(self);
}

static void
s_append_st(tsdb_head_t *self, struct tsdb_head_series *s, const struct fw_sample *samples,
            const int64_t *start, size_t n, struct tsdb_store_stats *st)
{
    // samples at or below a remote-write reader's mark: visible ones (vlo..vhi) now, late
    // ones for the commit (dlo..dhi)
    int64_t w =
        self->marks ? atomic_load_explicit(&self->marks->max, memory_order_relaxed) : INT64_MIN;
    int64_t vlo = INT64_MAX, vhi = INT64_MIN, dlo = INT64_MAX, dhi = INT64_MIN;
    for (size_t k = 0; k < n; k++) {
        int64_t t = samples[k].t_ms;
        double v = samples[k].v;
        int64_t sk = start ? start[k] : 0;
        if (!s->has_last || t > s->last_t) {
            if (t <= w) {
                vlo = t < vlo ? t : vlo;
                vhi = t > vhi ? t : vhi;
            }
            s_push(self, s, t, sk, v);
            s->has_last = true;
            s->last_t = t;
            s->last_v = v;
            s->last_v_known = true;
            s_note_maxt(self, t);
            st->samples++;
            continue;
        }
        if (t == s->last_t) {
            if (s->last_v_known && s_same_bits(v, s->last_v))
                st->duplicates++;
            else
                st->conflicts++;
            continue;
        }
        if (self->ooo_window == 0) {
            st->out_of_order++;
            continue;
        }
        int64_t oldest;
        if (__builtin_sub_overflow(self->maxt, self->ooo_window, &oldest))
            oldest = INT64_MIN;
        if (t < oldest) {
            st->too_old++;
            continue;
        }
        if (tsdb_chunk_app_count(&s->app) > 0 && t >= tsdb_head_open_mint(s)) {
            s_late_open(self, s, t, sk, v, st);
            if (t <= w) {
                vlo = t < vlo ? t : vlo;
                vhi = t > vhi ? t : vhi;
            }
        } else {
            s_late_list(self, s, t, v, st);
            if (self->marks) {
                dlo = t < dlo ? t : dlo;
                dhi = t > dhi ? t : dhi;
            }
        }
    }
    if (vlo <= vhi)
        s_note(self, s->id, vlo, vhi, false);
    if (dlo <= dhi)
        s_note(self, s->id, dlo, dhi, true);
}

// ---------------------------------------------------------------------------------------
// Commit and collection

bool
tsdb_head_pending_more(const tsdb_head_t *self)
{
    return self->pending_more;
}

struct tsdb_head_series *const *
tsdb_head_pending(const tsdb_head_t *self, size_t *n)
{
    *n = self->n_pending;
    return self->pending;
}

const struct tsdb_head_sealed *
tsdb_head_sealed(const tsdb_head_t *self, size_t *n)
{
    *n = self->n_sealed - self->sealed_done;
    return self->sealed + self->sealed_done;
}

const unsigned char *
tsdb_head_sealed_bytes(const tsdb_head_t *self, const struct tsdb_head_sealed *c)
{
    (void)self;
    return c->chunk->bytes;
}

static void
s_note_kept(tsdb_head_t *self, struct tsdb_head_series *s)
{
    if (s->on_kept)
        return;
    fw_mem_grow((void **)&self->kept, &self->cap_kept, self->n_kept + 1, sizeof(*self->kept));
    self->kept[self->n_kept++] = s;
    s->on_kept = true;
}

void
tsdb_head_indexed(tsdb_head_t *self, struct tsdb_head_series *s)
{
    (void)self;
    s->is_new = false;
}

void
tsdb_head_committed(tsdb_head_t *self, uint64_t txn, bool checkpoint, size_t n_sealed)
{
    size_t keep = 0;
    // Between checkpoints every pending series stays pending for its open chunk; only new
    // series and late samples need clearing, and often there are none.
    for (size_t k = 0; (checkpoint || self->pending_more) && k < self->n_pending; k++) {
        struct tsdb_head_series *s = self->pending[k];
        s->is_new = false;
        free(s->late); // late samples are rare: keep no memory for them
        s->late = NULL;
        if (!checkpoint && s->dirty) {
            self->pending[keep++] = s; // its open chunk waits for the checkpoint
            continue;
        }
        s->dirty = false;
        s->queued = false;
    }
    if (checkpoint || self->pending_more)
        self->n_pending = keep;
    self->pending_more = false;
    tsdb_head_sealed_committed(self, n_sealed, txn);
}

void
tsdb_head_sealed_committed(tsdb_head_t *self, size_t n, uint64_t txn)
{
    size_t end = self->sealed_done + n < self->n_sealed ? self->sealed_done + n : self->n_sealed;
    for (size_t k = self->sealed_done; k < end; k++) {
        self->sealed[k].chunk->txn = txn;
        struct tsdb_head_series *s = tsdb_head_find_id(self, self->sealed[k].id);
        if (s)
            s_note_kept(self, s);
    }
    self->sealed_done = end;
    if (self->sealed_done == self->n_sealed)
        self->n_sealed = self->sealed_done = 0;
}

size_t
tsdb_head_sealed_mark_stored(tsdb_head_t *self,
                             bool (*stored)(void *arg, const struct tsdb_head_sealed *c), void *arg,
                             uint64_t txn)
{
    size_t j = self->sealed_done;
    for (size_t k = self->sealed_done; k < self->n_sealed; k++) {
        if (!stored(arg, &self->sealed[k]))
            continue;
        struct tsdb_head_sealed t = self->sealed[j];
        self->sealed[j++] = self->sealed[k];
        self->sealed[k] = t;
    }
    size_t n = j - self->sealed_done;
    if (n > 0)
        tsdb_head_sealed_committed(self, n, txn);
    return n;
}

size_t
tsdb_head_release(tsdb_head_t *self, uint64_t oldest_reader_txn)
{
    size_t freed = 0, keep = 0;
    for (size_t k = 0; k < self->n_kept; k++) {
        struct tsdb_head_series *s = self->kept[k];
        while (s->kept && s->kept->txn <= oldest_reader_txn) {
            struct tsdb_head_chunk *c = s->kept;
            s->kept = c->next;
            free(c);
            freed++;
        }
        // a chunk sealed but not committed yet goes on the list again at its commit
        if (s->kept && s->kept->txn != TSDB_HEAD_UNCOMMITTED)
            self->kept[keep++] = s;
        else
            s->on_kept = false;
    }
    self->n_kept = keep;
    return freed;
}

// The newest timestamp of s that a reader seeing the batches up to visible may read: all
// when the last batch that appended to s is visible, else what s held before it (an
// earlier batch the reader must not see either is no longer known: README "Isolation").
static int64_t
s_iso_maxt(const struct tsdb_head_series *s, uint64_t visible)
{
    return s->iso_seq <= visible ? INT64_MAX : s->iso_t;
}

bool
tsdb_head_view(const tsdb_head_t *self, uint64_t id, uint64_t reader_txn, uint64_t visible,
               struct tsdb_head_view *out)
{
    out->len = 0;
    out->n = 0;
    out->maxt = INT64_MAX;
    const struct tsdb_head_series *s = tsdb_head_find_id(self, id);
    if (!s)
        return false;
    out->maxt = s_iso_maxt(s, visible);
    size_t open_len;
    const unsigned char *open = tsdb_chunk_app_bytes(&s->app, &open_len);
    if (tsdb_chunk_app_count(&s->app) == 0)
        open_len = 0;
    size_t need = open_len + 4;
    for (const struct tsdb_head_chunk *c = s->kept; c; c = c->next)
        need += c->len + 4;
    fw_mem_grow((void **)&out->p, &out->cap, need, 1);
    for (const struct tsdb_head_chunk *c = s->kept; c; c = c->next) {
        if (c->txn <= reader_txn)
            continue; // the reader's snapshot holds it
        fw_bytes_put_le(out->p + out->len, c->len, 4);
        memcpy(out->p + out->len + 4, c->bytes, c->len);
        out->len += 4 + (size_t)c->len;
        out->n++;
    }
    if (open_len > 0) {
        fw_bytes_put_le(out->p + out->len, open_len, 4);
        memcpy(out->p + out->len + 4, open, open_len);
        out->len += 4 + open_len;
        out->n++;
    }
    return true;
}

size_t
tsdb_head_seal_all(tsdb_head_t *self)
{
    size_t n = 0;
    for (size_t k = 0; self->by_id.mask && k <= self->by_id.mask; k++) {
        struct tsdb_head_series *s = s_slot_series(self->by_id.slots[k]);
        if (s && tsdb_chunk_app_count(&s->app) > 0) {
            s_cut(self, s);
            n++;
        }
    }
    return n;
}

bool
tsdb_head_remove(tsdb_head_t *self, struct tsdb_head_series *s)
{
    if (s->queued || s->kept)
        return false;
    s_table_del(&self->by_hash, s);
    s_table_del(&self->by_id, s);
    s_series_free(s);
    self->count--;
    self->epoch++;
    return true;
}

size_t
tsdb_head_gc(tsdb_head_t *self, int64_t before, void (*drop)(void *arg, uint64_t id), void *arg)
{
    size_t dropped = 0;
    s_table_t *t = &self->by_id;
    for (size_t k = 0; t->mask && k <= t->mask;) {
        struct tsdb_head_series *s = s_slot_series(t->slots[k]);
        if (!s || s->queued || s->kept || (s->has_last && s->last_t >= before)) {
            k++;
            continue;
        }
        if (drop)
            drop(arg, s->id);
        s_table_del(&self->by_hash, s);
        s_table_del(t, s); // may shift a later entry into slot k: look again
        s_series_free(s);
        self->count--;
        dropped++;
    }
    if (dropped)
        self->epoch++;
    return dropped;
}
