/*  tsdb_store.c — LMDB storage for series, postings and samples (see tsdb_store.h).

    Keys are big-endian so LMDB's byte order is numeric order; sample timestamps have their
    sign bit flipped so negative times sort before positive ones. A postings key is
    "name\xffvalue" (0xff never occurs in UTF-8); when that would exceed LMDB's key limit
    the value is cut and "\xfe" plus a hash of the whole value is appended, and such keys
    are treated as "may match" by regex lookups — every candidate series is verified
    against all matchers on its real labels anyway, so the index only has to
    over-approximate. Series ids come from the last id in `series` plus one.
*/
#include "tsdb_store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fw_mem.h"

#define S_KEY_MAX 480

struct tsdb_store {
    MDB_env *env; // owned
    MDB_dbi series, by_labels, postings, samples, meta;
    size_t mapsize;
    uint64_t next_id;
    uint64_t retention_resume; // series id where the next retention pass starts
    bool open;
    unsigned char *state; // owned: what the last commit wrote (or open found)
    size_t state_len;
    unsigned char *pending; // owned: written by the next commit
    size_t pending_len;
    bool has_pending;
};

struct tsdb_store_reader {
    tsdb_store_t *store; // borrowed
    MDB_txn *txn;        // owned
};

// ---------------------------------------------------------------------------------------
// Encoding

static void
s_put_u64be(unsigned char *p, uint64_t v)
{
    for (int k = 7; k >= 0; k--) {
        p[k] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t
s_get_u64be(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = (v << 8) | p[k];
    return v;
}

static void
s_sample_key(unsigned char key[16], uint64_t id, int64_t t)
{
    s_put_u64be(key, id);
    s_put_u64be(key + 8, (uint64_t)t ^ 0x8000000000000000ULL);
}

static int64_t
s_key_ts(const unsigned char *key)
{
    return (int64_t)(s_get_u64be(key + 8) ^ 0x8000000000000000ULL);
}

static uint64_t
s_fnv(const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t k = 0; k < n; k++) {
        h ^= p[k];
        h *= 1099511628211ULL;
    }
    return h;
}

// Encode labels as repeated (u32 name_len, name, u32 value_len, value), little-endian.
static unsigned char *
s_labels_encode(const struct fw_labels *l, size_t *len)
{
    size_t n = 0;
    for (size_t k = 0; k < l->len; k++)
        n += 8 + strlen(l->items[k].name) + strlen(l->items[k].value);
    unsigned char *buf = fw_malloc(n ? n : 1), *p = buf;
    for (size_t k = 0; k < l->len; k++) {
        const char *parts[2] = {l->items[k].name, l->items[k].value};
        for (int j = 0; j < 2; j++) {
            uint32_t m = (uint32_t)strlen(parts[j]);
            for (int b = 0; b < 4; b++)
                *p++ = (unsigned char)(m >> (8 * b));
            memcpy(p, parts[j], m);
            p += m;
        }
    }
    *len = n;
    return buf;
}

static int
s_labels_decode(const unsigned char *p, size_t n, struct fw_labels *out)
{
    fw_labels_clear(out);
    size_t off = 0;
    while (off < n) {
        const char *parts[2];
        uint32_t lens[2];
        for (int j = 0; j < 2; j++) {
            if (n - off < 4)
                return -1;
            uint32_t m = 0;
            for (int b = 0; b < 4; b++)
                m |= (uint32_t)p[off + (size_t)b] << (8 * b);
            off += 4;
            if (n - off < m)
                return -1;
            parts[j] = (const char *)p + off;
            lens[j] = m;
            off += m;
        }
        char *name = fw_strndup(parts[0], lens[0]);
        fw_labels_setn(out, name, parts[1], lens[1]);
        free(name);
    }
    return 0;
}

// The postings key of name=value into buf (at least S_KEY_MAX + 32 bytes); returns length.
static size_t
s_posting_key(char *buf, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    memcpy(buf, name, nl);
    buf[nl] = '\xff';
    if (nl + 1 + vl <= S_KEY_MAX) {
        memcpy(buf + nl + 1, value, vl);
        return nl + 1 + vl;
    }
    size_t cut = S_KEY_MAX - nl - 1 - 17; // names are at most 200 bytes here
    memcpy(buf + nl + 1, value, cut);
    int w = snprintf(buf + nl + 1 + cut, 32, "\xfe%016llx", (unsigned long long)s_fnv(value, vl));
    return nl + 1 + cut + (size_t)w;
}

static int
s_lmdb_fail(fw_err_t *err, const char *what, int rc)
{
    fw_err_set(err, "lmdb %s: %s", what, mdb_strerror(rc));
    return -1;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

tsdb_store_t *
tsdb_store_new(void)
{
    tsdb_store_t *self = fw_calloc(1, sizeof(*self));
    self->mapsize = (size_t)8 << 30;
    self->next_id = 1;
    return self;
}

void
tsdb_store_set_mapsize(tsdb_store_t *self, size_t bytes)
{
    self->mapsize = bytes;
}

static int
s_mkdir_p(const char *dir)
{
    char *tmp = fw_strdup(dir);
    int rc = 0;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
            rc = -1;
        *p = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        rc = -1;
    free(tmp);
    return rc;
}

int
tsdb_store_open(tsdb_store_t *self, const char *dir, fw_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    if (s_mkdir_p(dir) != 0) {
        fw_err_set(err, "cannot create storage directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if ((rc = mdb_env_create(&self->env)) != 0)
        return s_lmdb_fail(err, "env_create", rc);
    mdb_env_set_maxdbs(self->env, 8);
    mdb_env_set_maxreaders(self->env, 1024); // one per concurrent HTTP query
    if ((rc = mdb_env_set_mapsize(self->env, self->mapsize)) != 0)
        goto fail_env;
    if ((rc = mdb_env_open(self->env, dir, MDB_NOTLS, 0644)) != 0)
        goto fail_env;
    if ((rc = mdb_txn_begin(self->env, NULL, 0, &txn)) != 0)
        goto fail_env;
    if ((rc = mdb_dbi_open(txn, "series", MDB_CREATE, &self->series)) != 0 ||
        (rc = mdb_dbi_open(txn, "series_by_labels", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED,
                           &self->by_labels)) != 0 ||
        (rc = mdb_dbi_open(txn, "postings", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED,
                           &self->postings)) != 0 ||
        (rc = mdb_dbi_open(txn, "samples", MDB_CREATE, &self->samples)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &self->meta)) != 0)
        goto fail_txn;
    MDB_val sk = {5, (void *)"state"}, sv;
    if (mdb_get(txn, self->meta, &sk, &sv) == 0 && sv.mv_size > 0) {
        self->state = fw_malloc(sv.mv_size);
        memcpy(self->state, sv.mv_data, sv.mv_size);
        self->state_len = sv.mv_size;
    }
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, self->series, &cur)) != 0)
        goto fail_txn;
    MDB_val k, v;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size == 8)
        self->next_id = s_get_u64be(k.mv_data) + 1;
    mdb_cursor_close(cur);
    if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        goto fail_env;
    }
    self->open = true;
    return 0;
fail_txn:
    mdb_txn_abort(txn);
fail_env:
    fw_err_set(err, "lmdb open %s: %s", dir, mdb_strerror(rc));
    mdb_env_close(self->env);
    self->env = NULL;
    return -1;
}

void
tsdb_store_destroy(tsdb_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_store_t *self = *self_p;
    if (self->env)
        mdb_env_close(self->env);
    free(self->state);
    free(self->pending);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------------------
// Writing

void
tsdb_store_set_state(tsdb_store_t *self, const void *blob, size_t len)
{
    free(self->pending);
    self->pending = len ? fw_malloc(len) : NULL;
    if (len)
        memcpy(self->pending, blob, len);
    self->pending_len = len;
    self->has_pending = true;
}

int
tsdb_store_get_state(tsdb_store_t *self, void **blob, size_t *len)
{
    *blob = NULL;
    *len = self->state_len;
    if (self->state_len) {
        *blob = fw_malloc(self->state_len);
        memcpy(*blob, self->state, self->state_len);
    }
    return 0;
}

// Write the pending state blob into txn. 0 or an LMDB error.
static int
s_state_put(tsdb_store_t *self, MDB_txn *txn)
{
    if (!self->has_pending)
        return 0;
    MDB_val k = {5, (void *)"state"}, v = {self->pending_len, self->pending};
    if (self->pending_len == 0) {
        int rc = mdb_del(txn, self->meta, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    return mdb_put(txn, self->meta, &k, &v, 0);
}

// After a commit that held the pending state: it is now the committed one.
static void
s_state_committed(tsdb_store_t *self)
{
    if (!self->has_pending)
        return;
    free(self->state);
    self->state = self->pending;
    self->state_len = self->pending_len;
    self->pending = NULL;
    self->pending_len = 0;
    self->has_pending = false;
}

// Find or create the series with these labels; *id receives it.
static int
s_series_id(tsdb_store_t *self, MDB_txn *txn, const struct fw_labels *labels, uint64_t *id,
            bool *created, fw_err_t *err)
{
    size_t elen;
    unsigned char *enc = s_labels_encode(labels, &elen);
    unsigned char hkey[8];
    s_put_u64be(hkey, s_fnv(enc, elen));
    MDB_val hk = {8, hkey}, hv;
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(txn, self->by_labels, &cur);
    if (rc != 0)
        goto lmdb_fail;
    *created = false;
    for (rc = mdb_cursor_get(cur, &hk, &hv, MDB_SET_KEY); rc == 0;
         rc = mdb_cursor_get(cur, &hk, &hv, MDB_NEXT_DUP)) {
        MDB_val sk = {8, hv.mv_data}, sv;
        if (mdb_get(txn, self->series, &sk, &sv) == 0 && sv.mv_size == elen &&
            memcmp(sv.mv_data, enc, elen) == 0) {
            *id = s_get_u64be(hv.mv_data);
            mdb_cursor_close(cur);
            free(enc);
            return 0;
        }
    }
    if (rc != MDB_NOTFOUND)
        goto lmdb_fail;
    mdb_cursor_close(cur);
    cur = NULL;

    unsigned char idb[8];
    uint64_t nid = self->next_id;
    s_put_u64be(idb, nid);
    MDB_val ik = {8, idb}, ev = {elen, enc};
    if ((rc = mdb_put(txn, self->series, &ik, &ev, 0)) != 0)
        goto lmdb_fail;
    hk = (MDB_val){8, hkey};
    MDB_val iv = {8, idb};
    if ((rc = mdb_put(txn, self->by_labels, &hk, &iv, 0)) != 0)
        goto lmdb_fail;
    char pk[S_KEY_MAX + 64];
    for (size_t k = 0; k < labels->len; k++) {
        if (strlen(labels->items[k].name) > 200)
            continue; // not indexable; such names are invalid anyway
        MDB_val key = {s_posting_key(pk, labels->items[k].name, labels->items[k].value), pk};
        if ((rc = mdb_put(txn, self->postings, &key, &iv, 0)) != 0)
            goto lmdb_fail;
    }
    self->next_id++;
    *id = nid;
    *created = true;
    free(enc);
    return 0;
lmdb_fail:
    if (cur)
        mdb_cursor_close(cur);
    free(enc);
    return s_lmdb_fail(err, "series write", rc);
}

int
tsdb_store_append(tsdb_store_t *self, const struct fw_batch *const *batches, size_t n,
                  struct tsdb_store_stats *stats, fw_err_t *err)
{
    struct tsdb_store_stats st = {0, 0};
    uint64_t saved_next = self->next_id;
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return s_lmdb_fail(err, "txn_begin", rc);
    for (size_t b = 0; b < n; b++) {
        const struct fw_batch *batch = batches[b];
        for (size_t s = 0; s < batch->len; s++) {
            const struct fw_series *ser = &batch->series[s];
            if (ser->len == 0)
                continue;
            uint64_t id;
            bool created;
            if (s_series_id(self, txn, &ser->labels, &id, &created, err) != 0)
                goto fail;
            st.new_series += created;
            for (size_t k = 0; k < ser->len; k++) {
                unsigned char key[16];
                s_sample_key(key, id, ser->samples[k].t_ms);
                double v = ser->samples[k].v;
                MDB_val mk = {16, key}, mv = {sizeof(v), &v};
                if ((rc = mdb_put(txn, self->samples, &mk, &mv, 0)) != 0) {
                    s_lmdb_fail(err, "sample write", rc);
                    goto fail;
                }
                st.samples++;
            }
        }
    }
    if ((rc = s_state_put(self, txn)) != 0) {
        s_lmdb_fail(err, "state write", rc);
        goto fail;
    }
    if ((rc = mdb_txn_commit(txn)) != 0) {
        self->next_id = saved_next;
        return s_lmdb_fail(err, "commit", rc);
    }
    s_state_committed(self);
    if (stats)
        *stats = st;
    return 0;
fail:
    mdb_txn_abort(txn);
    self->next_id = saved_next;
    return -1;
}

int
tsdb_store_delete_before(tsdb_store_t *self, int64_t cutoff_ms, size_t max_deletes, size_t *deleted,
                         fw_err_t *err)
{
    *deleted = 0;
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (rc != 0)
        return s_lmdb_fail(err, "txn_begin", rc);
    if ((rc = mdb_cursor_open(txn, self->samples, &cur)) != 0) {
        mdb_txn_abort(txn);
        return s_lmdb_fail(err, "cursor_open", rc);
    }
    uint64_t id = self->retention_resume;
    size_t visited = 0;
    while (*deleted < max_deletes && visited < 20000) {
        unsigned char key[16];
        s_sample_key(key, id, INT64_MIN);
        MDB_val k = {16, key}, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND) {
            id = 0; // wrapped around: the next pass starts over
            break;
        }
        if (rc != 0 || k.mv_size != 16)
            goto fail;
        uint64_t kid = s_get_u64be(k.mv_data);
        if (kid != id) {
            id = kid;
            visited++;
            continue;
        }
        if (s_key_ts(k.mv_data) < cutoff_ms) {
            if ((rc = mdb_cursor_del(cur, 0)) != 0)
                goto fail;
            (*deleted)++;
            continue;
        }
        id++;
        visited++;
    }
    mdb_cursor_close(cur);
    if ((rc = mdb_txn_commit(txn)) != 0)
        return s_lmdb_fail(err, "commit", rc);
    self->retention_resume = id;
    return 0;
fail:
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    *deleted = 0;
    return s_lmdb_fail(err, "retention", rc ? rc : MDB_CORRUPTED);
}

ssize_t
tsdb_store_series_count(tsdb_store_t *self)
{
    MDB_txn *txn;
    MDB_stat st;
    if (!self->env || mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn) != 0)
        return -1;
    int rc = mdb_stat(txn, self->series, &st);
    mdb_txn_abort(txn);
    return rc == 0 ? (ssize_t)st.ms_entries : -1;
}

// ---------------------------------------------------------------------------------------
// Reading

tsdb_store_reader_t *
tsdb_store_reader_new(tsdb_store_t *self, fw_err_t *err)
{
    if (!self->env) {
        fw_err_set(err, "store is not open");
        return NULL;
    }
    tsdb_store_reader_t *r = fw_calloc(1, sizeof(*r));
    r->store = self;
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &r->txn);
    if (rc != 0) {
        s_lmdb_fail(err, "read txn", rc);
        free(r);
        return NULL;
    }
    return r;
}

void
tsdb_store_reader_destroy(tsdb_store_reader_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mdb_txn_abort((*self_p)->txn);
    free(*self_p);
    *self_p = NULL;
}

typedef struct {
    uint64_t *ids;
    size_t len, cap;
} s_ids_t;

static void
s_ids_push(s_ids_t *s, uint64_t id)
{
    fw_mem_grow((void **)&s->ids, &s->cap, s->len + 1, sizeof(uint64_t));
    s->ids[s->len++] = id;
}

static int
s_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void
s_ids_sort_uniq(s_ids_t *s)
{
    if (s->len < 2)
        return;
    qsort(s->ids, s->len, sizeof(uint64_t), s_u64_cmp);
    size_t w = 1;
    for (size_t k = 1; k < s->len; k++)
        if (s->ids[k] != s->ids[w - 1])
            s->ids[w++] = s->ids[k];
    s->len = w;
}

// Append every id under exact postings key.
static int
s_postings_add(MDB_cursor *cur, MDB_val key, s_ids_t *out)
{
    MDB_val v;
    int rc;
    for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_KEY); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT_DUP))
        if (v.mv_size == 8)
            s_ids_push(out, s_get_u64be(v.mv_data));
    return rc == MDB_NOTFOUND ? 0 : rc;
}

// Candidates for one matcher that does not match "": ids of series whose label value
// (maybe) matches. Sorted, unique.
static int
s_matcher_candidates(tsdb_store_reader_t *r, MDB_cursor *cur, const struct fw_matcher *m,
                     s_ids_t *out)
{
    char pk[S_KEY_MAX + 64];
    int rc;
    size_t nl = strlen(m->name);
    if (nl > 200)
        return 0;
    if (m->op == FW_MATCH_EQ) {
        MDB_val key = {s_posting_key(pk, m->name, m->value), pk};
        rc = s_postings_add(cur, key, out);
        s_ids_sort_uniq(out);
        return rc;
    }
    memcpy(pk, m->name, nl);
    pk[nl] = '\xff';
    MDB_val key = {nl + 1, pk}, v;
    for (rc = mdb_cursor_get(cur, &key, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &v, MDB_NEXT_NODUP)) {
        if (key.mv_size < nl + 1 || memcmp(key.mv_data, pk, nl + 1) != 0)
            break;
        const char *val = (const char *)key.mv_data + nl + 1;
        size_t vl = key.mv_size - nl - 1;
        bool truncated = memchr(val, '\xfe', vl) != NULL;
        bool hit = truncated;
        if (!truncated) {
            char *z = fw_strndup(val, vl);
            hit = fw_matcher_matches(m, z);
            free(z);
        }
        if (!hit)
            continue;
        MDB_val dk = key;
        for (int d = mdb_cursor_get(cur, &dk, &v, MDB_GET_CURRENT); d == 0;
             d = mdb_cursor_get(cur, &dk, &v, MDB_NEXT_DUP))
            if (v.mv_size == 8)
                s_ids_push(out, s_get_u64be(v.mv_data));
    }
    (void)r;
    s_ids_sort_uniq(out);
    return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

static void
s_ids_intersect(s_ids_t *a, const s_ids_t *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->len && j < b->len) {
        if (a->ids[i] < b->ids[j])
            i++;
        else if (a->ids[i] > b->ids[j])
            j++;
        else {
            a->ids[w++] = a->ids[i];
            i++;
            j++;
        }
    }
    a->len = w;
}

int
tsdb_store_select(tsdb_store_reader_t *r, const struct fw_matcher *matchers, size_t n,
                  struct tsdb_store_series **out, size_t *n_out, fw_err_t *err)
{
    *out = NULL;
    *n_out = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(r->txn, r->store->postings, &cur);
    if (rc != 0)
        return s_lmdb_fail(err, "cursor_open", rc);
    s_ids_t acc = {0}, tmp = {0};
    bool have = false;
    // equality matchers first: they are the most selective
    for (int pass = 0; pass < 2; pass++) {
        for (size_t k = 0; k < n; k++) {
            const struct fw_matcher *m = &matchers[k];
            if ((pass == 0) != (m->op == FW_MATCH_EQ) || fw_matcher_matches(m, ""))
                continue;
            if (have && acc.len == 0)
                break;
            tmp.len = 0;
            if ((rc = s_matcher_candidates(r, cur, m, &tmp)) != 0)
                goto lmdb_fail;
            if (!have) {
                s_ids_t t = acc;
                acc = tmp;
                tmp = t;
                have = true;
            } else {
                s_ids_intersect(&acc, &tmp);
            }
        }
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if (!have) {
        // every matcher matches "": scan all series
        MDB_cursor *sc;
        if ((rc = mdb_cursor_open(r->txn, r->store->series, &sc)) != 0)
            goto lmdb_fail;
        MDB_val k, v;
        for (rc = mdb_cursor_get(sc, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(sc, &k, &v, MDB_NEXT))
            if (k.mv_size == 8)
                s_ids_push(&acc, s_get_u64be(k.mv_data));
        mdb_cursor_close(sc);
    }
    struct tsdb_store_series *res = NULL;
    size_t len = 0, cap = 0;
    for (size_t k = 0; k < acc.len; k++) {
        unsigned char idb[8];
        s_put_u64be(idb, acc.ids[k]);
        MDB_val key = {8, idb}, val;
        if (mdb_get(r->txn, r->store->series, &key, &val) != 0)
            continue;
        struct fw_labels l = FW_LABELS_INIT;
        if (s_labels_decode(val.mv_data, val.mv_size, &l) != 0) {
            fw_labels_clear(&l);
            continue;
        }
        bool ok = true;
        for (size_t j = 0; j < n && ok; j++)
            ok = fw_matcher_matches(&matchers[j], fw_labels_get(&l, matchers[j].name));
        if (!ok) {
            fw_labels_clear(&l);
            continue;
        }
        fw_mem_grow((void **)&res, &cap, len + 1, sizeof(*res));
        res[len].id = acc.ids[k];
        res[len].labels = l;
        len++;
    }
    free(acc.ids);
    free(tmp.ids);
    *out = res;
    *n_out = len;
    return 0;
lmdb_fail:
    if (cur)
        mdb_cursor_close(cur);
    free(acc.ids);
    free(tmp.ids);
    return s_lmdb_fail(err, "select", rc);
}

void
tsdb_store_series_free(struct tsdb_store_series *s, size_t n)
{
    for (size_t k = 0; k < n; k++)
        fw_labels_clear(&s[k].labels);
    free(s);
}

int
tsdb_store_samples(tsdb_store_reader_t *r, uint64_t id, int64_t mint, int64_t maxt,
                   struct fw_sample **pts, size_t *len, size_t *cap, fw_err_t *err)
{
    if (mint > maxt)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(r->txn, r->store->samples, &cur);
    if (rc != 0)
        return s_lmdb_fail(err, "cursor_open", rc);
    unsigned char key[16];
    s_sample_key(key, id, mint);
    MDB_val k = {16, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || s_get_u64be(k.mv_data) != id)
            break;
        int64_t t = s_key_ts(k.mv_data);
        if (t > maxt)
            break;
        double val;
        if (v.mv_size != sizeof(val))
            continue;
        memcpy(&val, v.mv_data, sizeof(val));
        fw_mem_grow((void **)pts, cap, *len + 1, sizeof(**pts));
        (*pts)[*len].t_ms = t;
        (*pts)[*len].v = val;
        (*len)++;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return s_lmdb_fail(err, "samples", rc);
    return 0;
}

static int
s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int
tsdb_store_label_names(tsdb_store_reader_t *r, char ***out, size_t *n_out, fw_err_t *err)
{
    *out = NULL;
    *n_out = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(r->txn, r->store->postings, &cur);
    if (rc != 0)
        return s_lmdb_fail(err, "cursor_open", rc);
    size_t cap = 0;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        const char *sep = memchr(k.mv_data, '\xff', k.mv_size);
        if (!sep)
            break;
        size_t nl = (size_t)(sep - (const char *)k.mv_data);
        char *name = fw_strndup(k.mv_data, nl);
        fw_mem_grow((void **)out, &cap, *n_out + 1, sizeof(char *));
        (*out)[(*n_out)++] = name;
        // skip to the first key of the next name: name followed by 0xff 0xff... sorts last
        char next[256];
        if (nl + 2 > sizeof(next))
            break;
        memcpy(next, name, nl);
        next[nl] = '\xff';
        next[nl + 1] = '\xff';
        k = (MDB_val){nl + 2, next};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return s_lmdb_fail(err, "label names", rc);
    qsort(*out, *n_out, sizeof(char *), s_str_cmp);
    return 0;
}

int
tsdb_store_label_values(tsdb_store_reader_t *r, const char *name, char ***out, size_t *n_out,
                        fw_err_t *err)
{
    *out = NULL;
    *n_out = 0;
    size_t nl = strlen(name);
    if (nl > 200)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(r->txn, r->store->postings, &cur);
    if (rc != 0)
        return s_lmdb_fail(err, "cursor_open", rc);
    char pk[256];
    memcpy(pk, name, nl);
    pk[nl] = '\xff';
    MDB_val k = {nl + 1, pk}, v;
    size_t cap = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP)) {
        if (k.mv_size < nl + 1 || memcmp(k.mv_data, pk, nl + 1) != 0)
            break;
        const char *val = (const char *)k.mv_data + nl + 1;
        size_t vl = k.mv_size - nl - 1;
        char *s = NULL;
        if (memchr(val, '\xfe', vl) && v.mv_size == 8) {
            // a cut value: read the real one from the first series carrying it
            MDB_val sk = {8, v.mv_data}, sv;
            struct fw_labels l = FW_LABELS_INIT;
            if (mdb_get(r->txn, r->store->series, &sk, &sv) == 0 &&
                s_labels_decode(sv.mv_data, sv.mv_size, &l) == 0 && fw_labels_get(&l, name))
                s = fw_strdup(fw_labels_get(&l, name));
            fw_labels_clear(&l);
        }
        if (!s)
            s = fw_strndup(val, vl);
        fw_mem_grow((void **)out, &cap, *n_out + 1, sizeof(char *));
        (*out)[(*n_out)++] = s;
    }
    mdb_cursor_close(cur);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return s_lmdb_fail(err, "label values", rc);
    qsort(*out, *n_out, sizeof(char *), s_str_cmp);
    return 0;
}
