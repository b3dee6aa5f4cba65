/*  tsdb_index.c — the series and postings index on LMDB (see tsdb_index.h).

    Selection works on sorted id vectors: postings lists come out of LMDB sorted, a union of
    several values' lists is sorted and made unique once, and intersection and difference
    are linear merges. Matching a label value against a matcher needs it NUL-terminated,
    so values are copied into one reused buffer, never allocated per value.
*/
#include "tsdb_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_hash.h"
#include "fw_mem.h"

// ---------------------------------------------------------------------------------------
// Encoding

// The series record of l into a new buffer; *len gets its size.
static unsigned char *
s_labels_encode(const struct fw_labels *l, size_t *len)
{
    size_t n = 0;
    for (size_t k = 0; k < l->len; k++)
        n += 20 + strlen(l->items[k].name) + strlen(l->items[k].value);
    unsigned char *buf = fw_malloc(n ? n : 1), *p = buf;
    for (size_t k = 0; k < l->len; k++) {
        const char *parts[2] = {l->items[k].name, l->items[k].value};
        for (int j = 0; j < 2; j++) {
            size_t m = strlen(parts[j]);
            p += fw_bytes_put_uvarint(p, m);
            memcpy(p, parts[j], m);
            p += m;
        }
    }
    *len = (size_t)(p - buf);
    return buf;
}

// Decode a series record into *out (cleared first). Names must come sorted and unique, as
// they were written; anything else is a damaged record.
static int
s_labels_decode(const unsigned char *p, size_t n, struct fw_labels *out)
{
    fw_labels_clear(out);
    size_t off = 0;
    while (off < n) {
        uint64_t lens[2];
        size_t starts[2];
        for (int j = 0; j < 2; j++) {
            if (fw_bytes_get_uvarint(p, n, &off, &lens[j]) != 0 || lens[j] > n - off)
                goto damaged;
            starts[j] = off;
            off += lens[j];
        }
        // a name or value with a NUL byte in it comes back shorter than written
        char *name = fw_strndup((const char *)p + starts[0], lens[0]);
        char *value = fw_strndup((const char *)p + starts[1], lens[1]);
        if (!*name || strlen(name) != lens[0] || !*value || strlen(value) != lens[1] ||
            (out->len > 0 && strcmp(out->items[out->len - 1].name, name) >= 0)) {
            free(name);
            free(value);
            goto damaged;
        }
        fw_mem_grow((void **)&out->items, &out->cap, out->len + 1, sizeof(*out->items));
        out->items[out->len].name = name;
        out->items[out->len].value = value;
        out->len++;
    }
    return out->len > 0 ? 0 : TSDB_INDEX_EDAMAGED;
damaged:
    fw_labels_clear(out);
    return TSDB_INDEX_EDAMAGED;
}

// The postings key of name=value into buf (TSDB_INDEX_KEY_MAX bytes at least); returns
// its length. name is at most TSDB_INDEX_NAME_MAX bytes.
static size_t
s_posting_key(char *buf, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    memcpy(buf, name, nl);
    buf[nl] = '\xff';
    if (nl + 1 + vl <= TSDB_INDEX_KEY_MAX) {
        memcpy(buf + nl + 1, value, vl);
        return nl + 1 + vl;
    }
    size_t cut = TSDB_INDEX_KEY_MAX - nl - 1 - 17;
    memcpy(buf + nl + 1, value, cut);
    char tail[24];
    snprintf(tail, sizeof(tail), "\xfe%016llx", (unsigned long long)fw_hash64(value, vl));
    memcpy(buf + nl + 1 + cut, tail, 17);
    return nl + 1 + cut + 17;
}

const char *
tsdb_index_strerror(int rc)
{
    if (rc == TSDB_INDEX_EDAMAGED)
        return "damaged series record";
    return mdb_strerror(rc);
}

// ---------------------------------------------------------------------------------------
// Writing

int
tsdb_index_open(tsdb_index_t *ix, MDB_txn *txn, bool create)
{
    unsigned c = create ? MDB_CREATE : 0;
    int rc;
    if ((rc = mdb_dbi_open(txn, "series", c, &ix->series)) != 0 ||
        (rc = mdb_dbi_open(txn, "by_hash", c | MDB_DUPSORT | MDB_DUPFIXED, &ix->by_hash)) != 0 ||
        (rc = mdb_dbi_open(txn, "postings", c | MDB_DUPSORT | MDB_DUPFIXED, &ix->postings)) != 0)
        return rc;
    return 0;
}

int
tsdb_index_check(const struct fw_labels *l, fw_err_t *err)
{
    if (l->len == 0) {
        fw_err_set(err, "empty label set");
        return -1;
    }
    for (size_t k = 0; k < l->len; k++) {
        if (strlen(l->items[k].name) > TSDB_INDEX_NAME_MAX) {
            fw_err_set(err, "label name of %zu bytes is longer than %d: cannot be indexed",
                       strlen(l->items[k].name), TSDB_INDEX_NAME_MAX);
            return -1;
        }
        if (k > 0 && strcmp(l->items[k - 1].name, l->items[k].name) >= 0) {
            fw_err_set(err, "labels not sorted by name or repeated: \"%s\"", l->items[k].name);
            return -1;
        }
        if (!*l->items[k].value) {
            fw_err_set(err, "label \"%s\" has an empty value", l->items[k].name);
            return -1;
        }
    }
    return fw_labels_validate(l, err);
}

int
tsdb_index_find(const tsdb_index_t *ix, MDB_txn *txn, const struct fw_labels *l, uint64_t hash,
                uint64_t *id)
{
    unsigned char hkey[8];
    fw_bytes_put_u64be(hkey, hash);
    MDB_val hk = {8, hkey}, hv;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->by_hash, &cur);
    if (rc != 0)
        return rc;
    size_t elen;
    unsigned char *enc = s_labels_encode(l, &elen);
    for (rc = mdb_cursor_get(cur, &hk, &hv, MDB_SET_KEY); rc == 0;
         rc = mdb_cursor_get(cur, &hk, &hv, MDB_NEXT_DUP)) {
        if (hv.mv_size != 8)
            continue;
        MDB_val sk = {8, hv.mv_data}, sv;
        if (mdb_get(txn, ix->series, &sk, &sv) == 0 && sv.mv_size == elen &&
            memcmp(sv.mv_data, enc, elen) == 0) {
            *id = fw_bytes_get_u64be(hv.mv_data);
            break;
        }
    }
    mdb_cursor_close(cur);
    free(enc);
    return rc;
}

int
tsdb_index_add(const tsdb_index_t *ix, MDB_txn *txn, uint64_t id, const struct fw_labels *l,
               uint64_t hash)
{
    unsigned char idb[8], hkey[8];
    fw_bytes_put_u64be(idb, id);
    fw_bytes_put_u64be(hkey, hash);
    size_t elen;
    unsigned char *enc = s_labels_encode(l, &elen);
    MDB_val ik = {8, idb}, ev = {elen, enc}, hk = {8, hkey}, iv = {8, idb};
    int rc = mdb_put(txn, ix->series, &ik, &ev, 0);
    free(enc);
    if (rc == 0)
        rc = mdb_put(txn, ix->by_hash, &hk, &iv, MDB_NODUPDATA);
    char pk[TSDB_INDEX_KEY_MAX + 32];
    for (size_t k = 0; rc == 0 && k < l->len; k++) {
        MDB_val key = {s_posting_key(pk, l->items[k].name, l->items[k].value), pk};
        iv = (MDB_val){8, idb};
        rc = mdb_put(txn, ix->postings, &key, &iv, MDB_NODUPDATA);
    }
    return rc == MDB_KEYEXIST ? 0 : rc;
}

// --- batches of new series -------------------------------------------------------------

struct s_batch_row {
    uint64_t id;
    size_t off, len; // the encoded record in the arena
};

struct s_batch_post {
    const unsigned char *key; // into the arena, set once the batch is complete
    size_t off, len;
    uint64_t id;
};

struct s_batch_hash {
    uint64_t hash, id;
};

struct tsdb_index_batch {
    unsigned char *arena; // owned: records and postings keys
    size_t len, cap;
    struct s_batch_row *rows; // owned
    size_t n_rows, cap_rows;
    struct s_batch_hash *hashes; // owned: n_rows of them
    size_t cap_hashes;
    struct s_batch_post *posts; // owned
    size_t n_posts, cap_posts;
};

tsdb_index_batch_t *
tsdb_index_batch_new(void)
{
    return fw_calloc(1, sizeof(tsdb_index_batch_t));
}

void
tsdb_index_batch_destroy(tsdb_index_batch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_index_batch_t *self = *self_p;
    free(self->posts);
    free(self->hashes);
    free(self->rows);
    free(self->arena);
    free(self);
    *self_p = NULL;
}

size_t
tsdb_index_batch_len(const tsdb_index_batch_t *self)
{
    return self->n_rows;
}

static size_t
s_batch_put_bytes(tsdb_index_batch_t *self, const void *p, size_t n)
{
    fw_mem_grow((void **)&self->arena, &self->cap, self->len + n, 1);
    size_t off = self->len;
    memcpy(self->arena + off, p, n);
    self->len += n;
    return off;
}

void
tsdb_index_batch_add(tsdb_index_batch_t *self, uint64_t id, const struct fw_labels *l,
                     uint64_t hash)
{
    size_t elen;
    unsigned char *enc = s_labels_encode(l, &elen);
    fw_mem_grow((void **)&self->rows, &self->cap_rows, self->n_rows + 1, sizeof(*self->rows));
    fw_mem_grow((void **)&self->hashes, &self->cap_hashes, self->n_rows + 1, sizeof(*self->hashes));
    self->rows[self->n_rows] = (struct s_batch_row){id, s_batch_put_bytes(self, enc, elen), elen};
    self->hashes[self->n_rows++] = (struct s_batch_hash){hash, id};
    free(enc);
    char pk[TSDB_INDEX_KEY_MAX + 32];
    for (size_t k = 0; k < l->len; k++) {
        size_t n = s_posting_key(pk, l->items[k].name, l->items[k].value);
        fw_mem_grow((void **)&self->posts, &self->cap_posts, self->n_posts + 1,
                    sizeof(*self->posts));
        self->posts[self->n_posts++] =
            (struct s_batch_post){NULL, s_batch_put_bytes(self, pk, n), n, id};
    }
}

static int
s_row_cmp(const void *a, const void *b)
{
    const struct s_batch_row *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int
s_hash_cmp(const void *a, const void *b)
{
    const struct s_batch_hash *x = a, *y = b;
    if (x->hash != y->hash)
        return x->hash < y->hash ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

// LMDB's default key order: bytes, then the shorter first.
static int
s_key_cmp(const void *a, size_t al, const void *b, size_t bl)
{
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : (al > bl) - (al < bl);
}

static int
s_post_cmp(const void *a, const void *b)
{
    const struct s_batch_post *x = a, *y = b;
    int c = s_key_cmp(x->key, x->len, y->key, y->len);
    return c ? c : (x->id > y->id) - (x->id < y->id);
}

// Puts keys in increasing order into one table: those past the table's last key (as it was
// when the walk began) are appended.
struct s_sorted_put {
    MDB_cursor *cur;
    unsigned char last[TSDB_INDEX_KEY_MAX + 32];
    size_t last_len;
    bool empty, appending;
};

static int
s_sorted_begin(struct s_sorted_put *sp, MDB_txn *txn, MDB_dbi dbi)
{
    memset(sp, 0, sizeof(*sp));
    int rc = mdb_cursor_open(txn, dbi, &sp->cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(sp->cur, &k, &v, MDB_LAST);
    if (rc == MDB_NOTFOUND) {
        sp->empty = true;
        return 0;
    }
    if (rc == 0) {
        sp->last_len = k.mv_size < sizeof(sp->last) ? k.mv_size : sizeof(sp->last);
        memcpy(sp->last, k.mv_data, sp->last_len);
    }
    return rc;
}

// Put key -> val; same_key: the previous put had this key. Duplicate data is no error.
static int
s_sorted_put(struct s_sorted_put *sp, MDB_val *key, MDB_val *val, bool same_key, unsigned int flags)
{
    bool was = sp->appending;
    sp->appending = sp->appending || sp->empty ||
                    s_key_cmp(key->mv_data, key->mv_size, sp->last, sp->last_len) > 0;
    unsigned int f = flags;
    if (sp->appending && !same_key)
        f |= MDB_APPEND;
    else if (was && same_key && (flags & MDB_NODUPDATA))
        f |= MDB_APPENDDUP; // a key this walk appended: its ids come in increasing order
    int rc = mdb_cursor_put(sp->cur, key, val, f);
    return rc == MDB_KEYEXIST && (flags & MDB_NODUPDATA) ? 0 : rc;
}

int
tsdb_index_batch_put(tsdb_index_batch_t *self, const tsdb_index_t *ix, MDB_txn *txn)
{
    qsort(self->rows, self->n_rows, sizeof(*self->rows), s_row_cmp);
    qsort(self->hashes, self->n_rows, sizeof(*self->hashes), s_hash_cmp);
    for (size_t k = 0; k < self->n_posts; k++)
        self->posts[k].key = self->arena + self->posts[k].off;
    qsort(self->posts, self->n_posts, sizeof(*self->posts), s_post_cmp);
    struct s_sorted_put sp;
    unsigned char idb[8], hk[8];
    int rc = s_sorted_begin(&sp, txn, ix->series);
    for (size_t k = 0; rc == 0 && k < self->n_rows; k++) {
        fw_bytes_put_u64be(idb, self->rows[k].id);
        MDB_val key = {8, idb}, val = {self->rows[k].len, self->arena + self->rows[k].off};
        rc = s_sorted_put(&sp, &key, &val, false, 0);
    }
    if (sp.cur)
        mdb_cursor_close(sp.cur);
    if (rc == 0)
        rc = s_sorted_begin(&sp, txn, ix->by_hash);
    for (size_t k = 0; rc == 0 && k < self->n_rows; k++) {
        fw_bytes_put_u64be(hk, self->hashes[k].hash);
        fw_bytes_put_u64be(idb, self->hashes[k].id);
        MDB_val key = {8, hk}, val = {8, idb};
        bool same = k > 0 && self->hashes[k - 1].hash == self->hashes[k].hash;
        rc = s_sorted_put(&sp, &key, &val, same, MDB_NODUPDATA);
    }
    if (sp.cur)
        mdb_cursor_close(sp.cur);
    if (rc == 0)
        rc = s_sorted_begin(&sp, txn, ix->postings);
    for (size_t k = 0; rc == 0 && k < self->n_posts; k++) {
        const struct s_batch_post *p = &self->posts[k];
        fw_bytes_put_u64be(idb, p->id);
        MDB_val key = {p->len, (void *)p->key}, val = {8, idb};
        bool same = k > 0 && s_key_cmp(p[-1].key, p[-1].len, p->key, p->len) == 0;
        rc = s_sorted_put(&sp, &key, &val, same, MDB_NODUPDATA);
    }
    if (sp.cur)
        mdb_cursor_close(sp.cur);
    self->len = self->n_rows = self->n_posts = 0;
    return rc;
}

int
tsdb_index_remove(const tsdb_index_t *ix, MDB_txn *txn, uint64_t id)
{
    struct fw_labels l = FW_LABELS_INIT;
    int rc = tsdb_index_labels(ix, txn, id, &l);
    if (rc == MDB_NOTFOUND)
        return 0;
    unsigned char idb[8], hkey[8];
    fw_bytes_put_u64be(idb, id);
    MDB_val ik = {8, idb}, iv = {8, idb};
    if (rc == 0) { // a damaged entry loses only the series row: its postings cannot be named
        fw_bytes_put_u64be(hkey, fw_labels_hash(&l));
        MDB_val hk = {8, hkey};
        rc = mdb_del(txn, ix->by_hash, &hk, &iv);
        char pk[TSDB_INDEX_KEY_MAX + 32];
        for (size_t k = 0; (rc == 0 || rc == MDB_NOTFOUND) && k < l.len; k++) {
            MDB_val key = {s_posting_key(pk, l.items[k].name, l.items[k].value), pk};
            rc = mdb_del(txn, ix->postings, &key, &iv);
        }
    }
    fw_labels_clear(&l);
    if (rc == 0 || rc == MDB_NOTFOUND || rc == TSDB_INDEX_EDAMAGED)
        rc = mdb_del(txn, ix->series, &ik, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
tsdb_index_last_id(const tsdb_index_t *ix, MDB_txn *txn, uint64_t *id)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->series, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    *id = 0;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 8)
        *id = fw_bytes_get_u64be(k.mv_data);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

ssize_t
tsdb_index_count(const tsdb_index_t *ix, MDB_txn *txn)
{
    MDB_stat st;
    return mdb_stat(txn, ix->series, &st) == 0 ? (ssize_t)st.ms_entries : -1;
}

int
tsdb_index_labels(const tsdb_index_t *ix, MDB_txn *txn, uint64_t id, struct fw_labels *out)
{
    unsigned char idb[8];
    fw_bytes_put_u64be(idb, id);
    MDB_val k = {8, idb}, v;
    int rc = mdb_get(txn, ix->series, &k, &v);
    if (rc != 0) {
        fw_labels_clear(out);
        return rc;
    }
    return s_labels_decode(v.mv_data, v.mv_size, out);
}

// ---------------------------------------------------------------------------------------
// Id vectors

typedef struct {
    uint64_t *ids;
    size_t len, cap;
} s_ids_t;

static void
s_ids_add_be(s_ids_t *s, const unsigned char *p, size_t count)
{
    fw_mem_grow((void **)&s->ids, &s->cap, s->len + count, sizeof(uint64_t));
    for (size_t k = 0; k < count; k++)
        s->ids[s->len++] = fw_bytes_get_u64be(p + 8 * k);
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

// a = a ∩ b (both sorted, unique).
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

// a = a \ b (both sorted, unique).
static void
s_ids_subtract(s_ids_t *a, const s_ids_t *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->len) {
        while (j < b->len && b->ids[j] < a->ids[i])
            j++;
        if (j < b->len && b->ids[j] == a->ids[i])
            i++;
        else
            a->ids[w++] = a->ids[i++];
    }
    a->len = w;
}

// Every id of the postings entry the cursor is on (the first duplicate of its key).
static int
s_postings_here(MDB_cursor *cur, s_ids_t *out)
{
    MDB_val k, v = {0, NULL};
    // A key with a single id keeps it inline, and MDB_GET_MULTIPLE cannot be asked there:
    // after MDB_NEXT_NODUP from a key with duplicates, LMDB's duplicates cursor still
    // points into that key's ids and GET_MULTIPLE answers them. mdb_cursor_count tells.
    size_t count = 0;
    int rc = mdb_cursor_count(cur, &count);
    if (rc == 0 && count <= 1) {
        rc = mdb_cursor_get(cur, &k, &v, MDB_GET_CURRENT);
        if (rc == 0 && v.mv_size == 8)
            s_ids_add_be(out, v.mv_data, 1);
        return rc;
    }
    if (rc == 0)
        rc = mdb_cursor_get(cur, &k, &v, MDB_GET_MULTIPLE);
    while (rc == 0) {
        s_ids_add_be(out, v.mv_data, v.mv_size / 8);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_MULTIPLE);
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

// Every series id, from the series database's keys.
static int
s_all_ids(const tsdb_index_t *ix, MDB_txn *txn, s_ids_t *out)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->series, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        if (k.mv_size == 8)
            s_ids_add_be(out, k.mv_data, 1);
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

// A reused NUL-terminated copy of a label value.
typedef struct {
    char *p;
    size_t cap;
} s_buf_t;

static const char *
s_buf_set(s_buf_t *b, const void *p, size_t n)
{
    fw_mem_grow((void **)&b->p, &b->cap, n + 1, 1);
    memcpy(b->p, p, n);
    b->p[n] = '\0';
    return b->p;
}

// The whole value behind the postings key k (name is nl bytes): the key's own text, or for
// a cut key the value read from the first series it lists. NULL when that series is gone
// or damaged (the caller then treats the key as unknown).
static const char *
s_key_value(const tsdb_index_t *ix, MDB_txn *txn, const MDB_val *k, const MDB_val *first_id,
            size_t nl, s_buf_t *buf)
{
    const char *val = (const char *)k->mv_data + nl + 1;
    size_t vl = k->mv_size - nl - 1;
    if (!memchr(val, '\xfe', vl))
        return s_buf_set(buf, val, vl);
    if (first_id->mv_size != 8)
        return NULL;
    struct fw_labels l = FW_LABELS_INIT;
    const char *out = NULL;
    char *name = fw_strndup(k->mv_data, nl);
    if (tsdb_index_labels(ix, txn, fw_bytes_get_u64be(first_id->mv_data), &l) == 0 &&
        fw_labels_get(&l, name))
        out = s_buf_set(buf, fw_labels_get(&l, name), strlen(fw_labels_get(&l, name)));
    free(name);
    fw_labels_clear(&l);
    return out;
}

// The union of the postings of every value v of m's label with matches(m, v) == want,
// sorted and unique, into out.
static int
s_values_postings(const tsdb_index_t *ix, MDB_txn *txn, MDB_cursor *cur, const struct fw_matcher *m,
                  bool want, s_ids_t *out, s_buf_t *buf)
{
    char pk[TSDB_INDEX_KEY_MAX + 32];
    size_t nl = strlen(m->name);
    if (nl > TSDB_INDEX_NAME_MAX)
        return 0; // no such label can be stored
    if (m->op == FW_MATCH_EQ || m->op == FW_MATCH_NE) {
        // one key decides: the postings of the literal, when it is the wanted side
        if ((m->op == FW_MATCH_EQ) == want && *m->value) {
            MDB_val k = {s_posting_key(pk, m->name, m->value), pk}, v;
            int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
            if (rc == 0)
                rc = s_postings_here(cur, out);
            return rc == MDB_NOTFOUND ? 0 : rc;
        }
        if ((m->op == FW_MATCH_EQ) == want)
            return 0; // = "" wanted: no stored value is ""
        // every value but the literal (all values when it is "")
    }
    memcpy(pk, m->name, nl);
    pk[nl] = '\xff';
    MDB_val k = {nl + 1, pk}, v;
    int rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP)) {
        if (k.mv_size < nl + 1 || memcmp(k.mv_data, pk, nl + 1) != 0)
            break;
        const char *val = s_key_value(ix, txn, &k, &v, nl, buf);
        if (!val)
            continue;
        if (fw_matcher_matches(m, val) != want)
            continue;
        if ((rc = s_postings_here(cur, out)) != 0)
            return rc;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    s_ids_sort_uniq(out);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Reading

int
tsdb_index_select(const tsdb_index_t *ix, MDB_txn *txn, const struct fw_matcher *ms, size_t n,
                  uint64_t **ids, size_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->postings, &cur);
    if (rc != 0)
        return rc;
    s_ids_t acc = {0}, tmp = {0};
    s_buf_t buf = {0};
    bool have = false;
    // Intersections first, equality before regex (cheapest and usually most selective),
    // then subtractions from what is left.
    for (int pass = 0; pass < 3 && rc == 0; pass++) {
        if (pass == 2 && !have) {
            if ((rc = s_all_ids(ix, txn, &acc)) != 0)
                break;
            have = true;
        }
        for (size_t k = 0; k < n && rc == 0; k++) {
            const struct fw_matcher *m = &ms[k];
            bool empty = fw_matcher_matches_empty(m);
            if ((pass == 2) != empty || (pass == 0) != (!empty && m->op == FW_MATCH_EQ))
                continue;
            if (have && acc.len == 0)
                break;
            tmp.len = 0;
            if ((rc = s_values_postings(ix, txn, cur, m, !empty, &tmp, &buf)) != 0)
                break;
            if (empty) {
                s_ids_subtract(&acc, &tmp);
            } else if (!have) {
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
    free(tmp.ids);
    free(buf.p);
    if (rc != 0) {
        free(acc.ids);
        return rc;
    }
    *ids = acc.ids;
    *n_ids = acc.len;
    return 0;
}

static int
s_str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// Free the n strings of *v and *v, and empty both (an answer abandoned on an error).
static void
s_strv_free(char ***v, size_t *n)
{
    for (size_t j = 0; j < *n; j++)
        free((*v)[j]);
    free(*v);
    *v = NULL;
    *n = 0;
}

int
tsdb_index_label_names(const tsdb_index_t *ix, MDB_txn *txn, char ***out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->postings, &cur);
    if (rc != 0)
        return rc;
    size_t cap = 0;
    MDB_val k, v;
    char next[TSDB_INDEX_NAME_MAX + 2];
    rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == 0) {
        const char *sep = memchr(k.mv_data, '\xff', k.mv_size);
        size_t nl = sep ? (size_t)(sep - (const char *)k.mv_data) : 0;
        if (!sep || nl > TSDB_INDEX_NAME_MAX) {
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP); // not ours: step over it
            continue;
        }
        fw_mem_grow((void **)out, &cap, *n_out + 1, sizeof(char *));
        (*out)[(*n_out)++] = fw_strndup(k.mv_data, nl);
        // name 0xff 0xff sorts after every value of name (values never hold 0xff)
        memcpy(next, k.mv_data, nl);
        next[nl] = '\xff';
        next[nl + 1] = '\xff';
        k = (MDB_val){nl + 2, next};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    }
    mdb_cursor_close(cur);
    if (rc != MDB_NOTFOUND) {
        s_strv_free(out, n_out);
        return rc;
    }
    if (*n_out > 1) // none: *out is NULL, which qsort may not take
        qsort(*out, *n_out, sizeof(char *), s_str_cmp);
    return 0;
}

int
tsdb_index_postings_walk(const tsdb_index_t *ix, MDB_txn *txn, tsdb_index_walk_fn fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->postings, &cur);
    if (rc != 0)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP)) {
        const char *key = k.mv_data, *sep = memchr(key, '\xff', k.mv_size);
        size_t n = 0;
        if (!sep || (rc = mdb_cursor_count(cur, &n)) != 0)
            continue; // not ours: step over it
        size_t nl = (size_t)(sep - key);
        if (fn(key, nl, sep + 1, k.mv_size - nl - 1, n, arg) != 0) {
            rc = MDB_NOTFOUND; // stopped by fn: done
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
tsdb_index_label_values(const tsdb_index_t *ix, MDB_txn *txn, const char *name, char ***out,
                        size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t nl = strlen(name);
    if (nl > TSDB_INDEX_NAME_MAX)
        return 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ix->postings, &cur);
    if (rc != 0)
        return rc;
    char pk[TSDB_INDEX_NAME_MAX + 1];
    memcpy(pk, name, nl);
    pk[nl] = '\xff';
    MDB_val k = {nl + 1, pk}, v;
    size_t cap = 0;
    s_buf_t buf = {0};
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_NODUP)) {
        if (k.mv_size < nl + 1 || memcmp(k.mv_data, pk, nl + 1) != 0)
            break;
        const char *val = s_key_value(ix, txn, &k, &v, nl, &buf);
        if (!val)
            continue;
        fw_mem_grow((void **)out, &cap, *n_out + 1, sizeof(char *));
        (*out)[(*n_out)++] = fw_strdup(val);
    }
    mdb_cursor_close(cur);
    free(buf.p);
    if (rc != 0 && rc != MDB_NOTFOUND) {
        s_strv_free(out, n_out);
        return rc;
    }
    // cut keys sort by their prefix, not by the whole value
    if (*n_out > 1) // none: *out is NULL, which qsort may not take
        qsort(*out, *n_out, sizeof(char *), s_str_cmp);
    return 0;
}
