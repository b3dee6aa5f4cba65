/*  tsdb_check.c — `tsdb check` (see tsdb_check.h): a forked child walks the data directory,
    the parent survives whatever LMDB does on a damaged page and says how far it got.
*/
#include "tsdb_check.h"

#include <errno.h>
#include <lmdb.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fw_bytes.h"
#include "fw_err.h"
#include "fw_flags.h"
#include "fw_labels.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_chunk.h"
#include "tsdb_store.h"
#include "tsdb_index.h"
#include "tsdb_rollup.h"
#include "tsdb_wal.h"

enum { S_META, S_SERIES, S_BY_HASH, S_POSTINGS, S_CHUNKS, S_HEAD, S_WAL, S_ROLLUPS, S_NDB };
static const char *const s_db_names[S_NDB] = {"meta",   "series", "by_hash", "postings",
                                              "chunks", "head",   "wal",     "rollups"};
#define S_SETUP (-1) // progress.db while opening the environment

// What the child got through, in a page shared with the parent. The child writes, the
// parent reads once the child is gone (or stalled), so plain fields do.
struct s_progress {
    volatile int db;         // database being walked, S_SETUP while opening
    volatile uint64_t beat;  // bumped per record (the parent's stall watch)
    uint64_t records[S_NDB]; // records read per database
    uint64_t damaged;        // damaged records reported
    bool walked[S_NDB];      // walk finished (cleanly or with damage found)
    size_t key_len;          // the last good key of db
    unsigned char key[512];
};

// The child's state.
struct s_walk {
    FILE *out;
    struct s_progress *pg;
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi[S_NDB];
    bool has[S_NDB];
    tsdb_index_t ix;
    bool head_padded;
    bool records; // --records: print every record's place in data.mdb
    uintptr_t map_lo, map_hi;
    uint64_t map_off; // the file offset of map_lo
    struct fw_labels labels;
    struct fw_sample *buf; // wal decoding
    size_t cap;
    struct tsdb_rollup_bucket *rb; // rollup page decoding
    char format;                   // meta's format ('6': this build's)
    size_t rb_cap;
};

// ---------------------------------------------------------------------------------------
// Reports

// Print s, its control bytes (and every byte past ASCII when it is not UTF-8) as \xNN:
// damaged labels may hold anything, and a report is read on a terminal.
static void
s_print_safe(FILE *out, const char *s)
{
    bool utf8 = fw_utf8_valid(s, strlen(s));
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8))
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
}

// Print one damaged record of database db: the series (labels when readable), a chunk's
// start when mint is not INT64_MIN, and why.
static void
s_damaged(struct s_walk *w, int db, uint64_t id, bool has_id, int64_t mint, const char *why)
{
    w->pg->damaged++;
    if (w->pg->damaged > TSDB_CHECK_MAX_REPORTED)
        return;
    fprintf(w->out, "damaged: %s:", s_db_names[db]);
    if (has_id) {
        fprintf(w->out, " series %llu", (unsigned long long)id);
        struct fw_labels l = FW_LABELS_INIT;
        int rc = w->has[S_SERIES] ? tsdb_index_labels(&w->ix, w->txn, id, &l) : MDB_NOTFOUND;
        if (rc == 0) {
            char *s = fw_labels_format(&l);
            fputc(' ', w->out);
            s_print_safe(w->out, s);
            free(s);
        } else {
            fprintf(w->out, " (labels unreadable: %s)", tsdb_index_strerror(rc));
        }
        fw_labels_clear(&l);
    }
    if (mint != INT64_MIN) {
        char ts[40];
        fprintf(w->out, " chunk mint %lld (%s)", (long long)mint,
                fw_time_rfc3339(mint, ts, sizeof(ts)));
    }
    fprintf(w->out, ": %s\n", why);
    fflush(w->out);
}

// The last good key, readably, for database db.
static void
s_key_text(int db, const unsigned char *k, size_t n, char *buf, size_t size)
{
    if ((db == S_SERIES || db == S_BY_HASH || db == S_HEAD || db == S_WAL) && n == 8) {
        snprintf(buf, size, "%s %llu",
                 db == S_WAL       ? "record"
                 : db == S_BY_HASH ? "hash"
                                   : "series",
                 (unsigned long long)fw_bytes_get_u64be(k));
        return;
    }
    if (db == S_CHUNKS && n == 16) {
        int64_t mint = (int64_t)(fw_bytes_get_u64be(k + 8) ^ 0x8000000000000000ULL);
        snprintf(buf, size, "series %llu chunk mint %lld",
                 (unsigned long long)fw_bytes_get_u64be(k), (long long)mint);
        return;
    }
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < size; i++)
        o += (size_t)snprintf(buf + o, size - o,
                              k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\' ? "%c" : "\\x%02x", k[i]);
    buf[o] = 0;
}

// ---------------------------------------------------------------------------------------
// The child: per-database checks

static bool
s_series_exists(struct s_walk *w, uint64_t id)
{
    unsigned char kb[8];
    fw_bytes_put_u64be(kb, id);
    MDB_val k = {8, kb}, v;
    return w->has[S_SERIES] && mdb_get(w->txn, w->dbi[S_SERIES], &k, &v) == 0;
}

// The codec's error, as said of a chunk or a log record.
static const char *
s_codec_err(int rc)
{
    return rc == FW_ETYPE    ? "a reserved or unknown encoding"
           : rc == FW_ETRUNC ? "truncated (the bits end before the samples do)"
           : rc == FW_EPARSE ? "malformed (a code, the last timestamp or the padding is wrong)"
                             : fw_strerror(rc);
}

// Decode the chunk p[0..n) to its end: 0, or a reason in why.
static int
s_chunk(const void *p, size_t n, struct tsdb_chunk_info *info, char *why, size_t size)
{
    int rc = tsdb_chunk_info(p, n, info);
    if (rc != 0) {
        snprintf(why, size, "chunk header: %s", s_codec_err(rc));
        return -1;
    }
    struct tsdb_chunk_iter it;
    tsdb_chunk_iter_init(&it, p, n);
    unsigned got = 0;
    int64_t prev = INT64_MIN;
    while (tsdb_chunk_iter_next(&it)) {
        if (got > 0 && it.t <= prev) {
            snprintf(why, size, "chunk: sample %u at %lld is not after the previous one", got,
                     (long long)it.t);
            return -1;
        }
        prev = it.t;
        got++;
    }
    if ((rc = tsdb_chunk_iter_err(&it)) != 0) {
        snprintf(why, size, "chunk: %s after %u of %u samples", s_codec_err(rc), got, info->n);
        return -1;
    }
    return 0;
}

static void
s_check_meta(struct s_walk *w, const MDB_val *k, const MDB_val *v)
{
    // the formats this build reads: 2 to 5 (upgraded at open) and TSDB_STORE_FORMAT
    if (k->mv_size == 6 && memcmp(k->mv_data, "format", 6) == 0 &&
        !(v->mv_size == 1 && *(const char *)v->mv_data >= '2' &&
          *(const char *)v->mv_data <= '0' + TSDB_STORE_FORMAT))
        s_damaged(w, S_META, 0, false, INT64_MIN, "format is not one of 2 to 6");
    if (k->mv_size == 6 && memcmp(k->mv_data, "format", 6) == 0 && v->mv_size == 1)
        w->format = *(const char *)v->mv_data;
    if (k->mv_size == 7 && memcmp(k->mv_data, "next_id", 7) == 0 && v->mv_size != 8)
        s_damaged(w, S_META, 0, false, INT64_MIN, "next_id is not 8 bytes");
}

static void
s_check_series(struct s_walk *w, const MDB_val *k)
{
    if (k->mv_size != 8) {
        s_damaged(w, S_SERIES, 0, false, INT64_MIN, "key is not a series id (8 bytes)");
        return;
    }
    uint64_t id = fw_bytes_get_u64be(k->mv_data);
    int rc = tsdb_index_labels(&w->ix, w->txn, id, &w->labels);
    fw_err_t err = {0};
    if (rc != 0)
        s_damaged(w, S_SERIES, id, true, INT64_MIN, tsdb_index_strerror(rc));
    else if (fw_labels_validate(&w->labels, &err) != 0)
        s_damaged(w, S_SERIES, id, true, INT64_MIN, err.msg);
    fw_labels_clear(&w->labels);
}

static void
s_check_id(struct s_walk *w, int db, const MDB_val *k, const MDB_val *v)
{
    if (v->mv_size != 8) {
        s_damaged(w, db, 0, false, INT64_MIN, "value is not a series id (8 bytes)");
        return;
    }
    uint64_t id = fw_bytes_get_u64be(v->mv_data);
    if (!s_series_exists(w, id)) {
        s_damaged(w, db, id, true, INT64_MIN, "names a series that is not in the index");
        return;
    }
    if (db == S_POSTINGS) {
        if (!memchr(k->mv_data, 0xff, k->mv_size))
            s_damaged(w, db, id, true, INT64_MIN, "key is not name 0xff value");
        return;
    }
    if (k->mv_size != 8) {
        s_damaged(w, db, id, true, INT64_MIN, "key is not a hash (8 bytes)");
        return;
    }
    if (tsdb_index_labels(&w->ix, w->txn, id, &w->labels) == 0 &&
        fw_labels_hash(&w->labels) != fw_bytes_get_u64be(k->mv_data))
        s_damaged(w, db, id, true, INT64_MIN, "the series' labels do not hash to the key");
    fw_labels_clear(&w->labels);
}

static void
s_check_chunk(struct s_walk *w, int db, const MDB_val *k, const MDB_val *v, uint64_t *prev_id,
              int64_t *prev_maxt)
{
    size_t klen = db == S_CHUNKS ? 16 : 8;
    if (k->mv_size != klen) {
        s_damaged(w, db, 0, false, INT64_MIN, "key has the wrong length");
        return;
    }
    uint64_t id = fw_bytes_get_u64be(k->mv_data);
    int64_t kmint = db == S_CHUNKS
                        ? (int64_t)(fw_bytes_get_u64be((const unsigned char *)k->mv_data + 8) ^
                                    0x8000000000000000ULL)
                        : INT64_MIN;
    size_t n = v->mv_size;
    if (db == S_HEAD && w->head_padded) {
        size_t pad = n ? ((const unsigned char *)v->mv_data)[n - 1] : 0;
        if (pad < 1 || pad > 16 || pad > n) {
            s_damaged(w, db, id, true, INT64_MIN, "open chunk: padding length out of range");
            return;
        }
        n -= pad;
    }
    char why[160];
    struct tsdb_chunk_info info;
    if (s_chunk(v->mv_data, n, &info, why, sizeof(why)) != 0) {
        s_damaged(w, db, id, true, kmint, why);
        return;
    }
    if (!s_series_exists(w, id))
        s_damaged(w, db, id, true, info.mint, "chunk of a series that is not in the index");
    else if (db == S_CHUNKS && info.mint != kmint)
        s_damaged(w, db, id, true, kmint, "the chunk's first sample is not at the key's start");
    else if (db == S_CHUNKS && *prev_id == id && info.mint <= *prev_maxt)
        s_damaged(w, db, id, true, info.mint, "overlaps the series' previous chunk");
    *prev_id = id;
    *prev_maxt = info.maxt;
}

static void
s_check_wal(struct s_walk *w, const MDB_val *k, const MDB_val *v)
{
    if (k->mv_size != 8) {
        s_damaged(w, S_WAL, 0, false, INT64_MIN, "key is not a record number (8 bytes)");
        return;
    }
    struct tsdb_wal_iter it;
    tsdb_wal_iter_init(&it, v->mv_data, v->mv_size);
    uint64_t id;
    size_t n;
    while (tsdb_wal_next(&it, &id, &w->buf, &w->cap, &n))
        if (!s_series_exists(w, id))
            s_damaged(w, S_WAL, id, true, INT64_MIN, "log entry of a series not in the index");
    if (tsdb_wal_iter_err(&it) != 0) {
        char why[120];
        snprintf(why, sizeof(why), "log record %llu: %s",
                 (unsigned long long)fw_bytes_get_u64be(k->mv_data),
                 s_codec_err(tsdb_wal_iter_err(&it)));
        s_damaged(w, S_WAL, 0, false, INT64_MIN, why);
    }
}

// A rollups record (tsdb_rollup.h): a group page whose segments decode, each of a series in
// the index; a group's marks that decode, each of a series in the index; a cut of 8 bytes.
// Storage format 5's (upgraded at open): a page of a series, its mark of 8 bytes, a cut.
static void
s_check_rollup5(struct s_walk *w, const MDB_val *k, const MDB_val *v)
{
    const unsigned char *kp = k->mv_data;
    uint64_t id = k->mv_size >= 9 ? fw_bytes_get_u64be(kp) : 0;
    bool page = k->mv_size == 17 && id != 0 && kp[8] < TSDB_ROLLUP_LEVELS;
    bool mark = k->mv_size == 9 && id != 0 && kp[8] == 0xff;
    bool cut = k->mv_size == 9 && id == 0 && kp[8] < TSDB_ROLLUP_LEVELS;
    if (!page && !mark && !cut) {
        s_damaged(w, S_ROLLUPS, 0, false, INT64_MIN, "key is not a rollup page, mark or cut");
        return;
    }
    if (id != 0 && !s_series_exists(w, id))
        s_damaged(w, S_ROLLUPS, id, true, INT64_MIN, "rollups of a series not in the index");
    if (!page) {
        if (v->mv_size != 8)
            s_damaged(w, S_ROLLUPS, id, id != 0, INT64_MIN, "a rollup mark or cut is not 8 bytes");
        return;
    }
    int64_t ps = (int64_t)(fw_bytes_get_u64be(kp + 9) ^ 0x8000000000000000ULL);
    size_t n = 0;
    int rc = tsdb_rollup_page_decode(v->mv_data, v->mv_size, ps, tsdb_rollup_step_ms(kp[8]), &w->rb,
                                     &n, &w->rb_cap);
    if (rc != 0) {
        char why[120];
        snprintf(why, sizeof(why), "rollup page of level %u starting %lld: %s", kp[8],
                 (long long)ps, s_codec_err(rc));
        s_damaged(w, S_ROLLUPS, id, true, INT64_MIN, why);
    }
}

static void
s_check_rollup(struct s_walk *w, const MDB_val *k, const MDB_val *v)
{
    if (w->format == '5') {
        s_check_rollup5(w, k, v);
        return;
    }
    const unsigned char *kp = k->mv_data;
    uint64_t g = k->mv_size >= 9 ? fw_bytes_get_u64be(kp) : 0;
    bool page = k->mv_size == 17 && kp[8] < TSDB_ROLLUP_LEVELS;
    bool marks = k->mv_size == 9 && kp[8] == 0xfe;
    bool cut = k->mv_size == 9 && g == 0 && kp[8] < TSDB_ROLLUP_LEVELS;
    if (!page && !marks && !cut) {
        s_damaged(w, S_ROLLUPS, 0, false, INT64_MIN, "key is not a rollup page, marks or cut");
        return;
    }
    uint64_t base = g * TSDB_ROLLUP_GROUP;
    char why[120];
    if (cut) {
        if (v->mv_size != 8)
            s_damaged(w, S_ROLLUPS, 0, false, INT64_MIN, "a rollup cut is not 8 bytes");
        return;
    }
    if (marks) {
        int64_t m[TSDB_ROLLUP_GROUP];
        int rc = tsdb_rollup_marks_decode(v->mv_data, v->mv_size, m);
        if (rc != 0) {
            snprintf(why, sizeof(why), "rollup marks of series %llu to %llu: %s",
                     (unsigned long long)base, (unsigned long long)(base + TSDB_ROLLUP_GROUP - 1),
                     s_codec_err(rc));
            s_damaged(w, S_ROLLUPS, 0, false, INT64_MIN, why);
        }
        for (unsigned s = 0; s < TSDB_ROLLUP_GROUP && rc == 0; s++)
            if (m[s] != INT64_MIN && !s_series_exists(w, base + s))
                s_damaged(w, S_ROLLUPS, base + s, true, INT64_MIN,
                          "rollups of a series not in the index");
        return;
    }
    int64_t ps = (int64_t)(fw_bytes_get_u64be(kp + 9) ^ 0x8000000000000000ULL);
    struct tsdb_rollup_group gp;
    int rc = tsdb_rollup_group_parse(v->mv_data, v->mv_size, &gp);
    if (rc != 0) {
        snprintf(why, sizeof(why), "rollup page of series %llu to %llu, level %u starting %lld: %s",
                 (unsigned long long)base, (unsigned long long)(base + TSDB_ROLLUP_GROUP - 1),
                 kp[8], (long long)ps, s_codec_err(rc));
        s_damaged(w, S_ROLLUPS, 0, false, INT64_MIN, why);
        return;
    }
    for (unsigned s = 0; s < gp.n; s++) {
        uint64_t id = base + gp.slot[s];
        if (!s_series_exists(w, id))
            s_damaged(w, S_ROLLUPS, id, true, INT64_MIN, "rollups of a series not in the index");
        size_t n = 0;
        rc = tsdb_rollup_page_decode((const unsigned char *)v->mv_data + gp.off[s], gp.len[s], ps,
                                     tsdb_rollup_step_ms(kp[8]), &w->rb, &n, &w->rb_cap);
        if (rc != 0) {
            snprintf(why, sizeof(why), "rollup page of level %u starting %lld: %s", kp[8],
                     (long long)ps, s_codec_err(rc));
            s_damaged(w, S_ROLLUPS, id, true, INT64_MIN, why);
        }
    }
}

// --records: where value v lies in data.mdb.
static void
s_record_place(struct s_walk *w, int db, const MDB_val *k, const MDB_val *v)
{
    uintptr_t a = (uintptr_t)v->mv_data;
    if (a < w->map_lo || a >= w->map_hi)
        return;
    fprintf(w->out, "record %s ", s_db_names[db]);
    for (size_t i = 0; i < k->mv_size; i++)
        fprintf(w->out, "%02x", ((const unsigned char *)k->mv_data)[i]);
    fprintf(w->out, " %llu %zu\n", (unsigned long long)(w->map_off + (a - w->map_lo)), v->mv_size);
}

// Walk database db: every record (every duplicate of DUPSORT ones) in key order.
static void
s_walk_db(struct s_walk *w, int db)
{
    struct s_progress *pg = w->pg;
    pg->db = db;
    pg->key_len = 0;
    if (!w->has[db]) {
        if (db != S_WAL && db != S_ROLLUPS) // format 2 has no log, format 4 no rollups
            s_damaged(w, db, 0, false, INT64_MIN, "the database is missing");
        pg->walked[db] = true;
        return;
    }
    MDB_cursor *cur = NULL;
    int rc = mdb_cursor_open(w->txn, w->dbi[db], &cur);
    if (rc != 0)
        cur = NULL;
    MDB_val k, v, pk = {0, NULL}, pv = {0, NULL};
    uint64_t prev_id = 0;
    int64_t prev_maxt = INT64_MIN;
    bool dup = db == S_BY_HASH || db == S_POSTINGS;
    unsigned char *last = NULL; // previous key and value, for the order check
    size_t last_cap = 0;
    for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (pk.mv_data) {
            int c = mdb_cmp(w->txn, w->dbi[db], &pk, &k);
            if (c > 0 || (c == 0 && (!dup || mdb_dcmp(w->txn, w->dbi[db], &pv, &v) >= 0))) {
                s_damaged(w, db, 0, false, INT64_MIN,
                          "keys out of order: a B-tree page is damaged; the rest of this "
                          "database is not checked");
                rc = MDB_NOTFOUND;
                break;
            }
        }
        if (w->records)
            s_record_place(w, db, &k, &v);
        switch (db) {
        case S_META: s_check_meta(w, &k, &v); break;
        case S_SERIES: s_check_series(w, &k); break;
        case S_BY_HASH:
        case S_POSTINGS: s_check_id(w, db, &k, &v); break;
        case S_CHUNKS:
        case S_HEAD: s_check_chunk(w, db, &k, &v, &prev_id, &prev_maxt); break;
        case S_ROLLUPS: s_check_rollup(w, &k, &v); break;
        default: s_check_wal(w, &k, &v); break;
        }
        // keep copies: LMDB's pointers stay valid in a read txn, but a damaged page may
        // alias them
        size_t need = k.mv_size + v.mv_size;
        if (need > last_cap)
            fw_mem_grow((void **)&last, &last_cap, need, 1);
        memcpy(last, k.mv_data, k.mv_size);
        memcpy(last + k.mv_size, v.mv_data, v.mv_size);
        pk = (MDB_val){k.mv_size, last};
        pv = (MDB_val){v.mv_size, last + k.mv_size};
        size_t kl = k.mv_size < sizeof(pg->key) ? k.mv_size : sizeof(pg->key);
        memcpy(pg->key, k.mv_data, kl);
        pg->key_len = kl;
        pg->records[db]++;
        pg->beat++;
    }
    free(last);
    if (rc != MDB_NOTFOUND) {
        char why[200];
        snprintf(why, sizeof(why), "LMDB: %s; the rest of this database is not checked",
                 mdb_strerror(rc));
        s_damaged(w, db, 0, false, INT64_MIN, why);
    }
    if (cur)
        mdb_cursor_close(cur);
    pg->walked[db] = true;
}

// The mapping of this process holding p, from /proc/self/maps, with its file offset.
static void
s_find_map(struct s_walk *w, const void *p)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return;
    char line[512];
    unsigned long lo, hi, off;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) == 3 && (uintptr_t)p >= lo &&
            (uintptr_t)p < hi) {
            w->map_lo = lo;
            w->map_hi = hi;
            w->map_off = off;
        }
    fclose(f);
}

static void
s_lmdb_assert(MDB_env *env, const char *msg)
{
    (void)env;
    fprintf(stderr, "tsdb check: LMDB assertion failed on the data file: %s\n", msg);
}

// Open dir read-only; 0, 1 (damaged: reported) or 2 (not floorwatch storage, or unusable).
static int
s_open(struct s_walk *w, const char *dir, FILE *errout)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (stat(path, &st) != 0) {
        fprintf(errout, "tsdb check: %s: %s: no floorwatch storage here\n", path, strerror(errno));
        return 2;
    }
    int rc = mdb_env_create(&w->env);
    if (rc == 0) {
        mdb_env_set_maxdbs(w->env, 16);
        mdb_env_set_assert(w->env, s_lmdb_assert);
        rc = mdb_env_open(w->env, dir, MDB_RDONLY | MDB_NOTLS, 0644);
        if (rc == EACCES || rc == EROFS) // no writable lock file: read without one
            rc = mdb_env_open(w->env, dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0644);
    }
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED) {
        char why[160];
        snprintf(why, sizeof(why), "LMDB refuses the data file: %s", mdb_strerror(rc));
        s_damaged(w, S_META, 0, false, INT64_MIN, why);
        return 1;
    }
    if (rc != 0) {
        fprintf(errout, "tsdb check: cannot open %s: %s\n", dir, mdb_strerror(rc));
        return 2;
    }
    MDB_envinfo info;
    MDB_stat ms;
    if (mdb_env_info(w->env, &info) == 0 && mdb_env_stat(w->env, &ms) == 0 &&
        ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize > (uint64_t)st.st_size) {
        char why[200];
        snprintf(why, sizeof(why),
                 "the data file is truncated: %lld bytes, but its database needs "
                 "%llu",
                 (long long)st.st_size,
                 (unsigned long long)(((uint64_t)info.me_last_pgno + 1) * ms.ms_psize));
        s_damaged(w, S_META, 0, false, INT64_MIN, why);
        return 1;
    }
    if ((rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &w->txn)) != 0) {
        char why[160];
        snprintf(why, sizeof(why), "LMDB: %s", mdb_strerror(rc));
        s_damaged(w, S_META, 0, false, INT64_MIN, why);
        return 1;
    }
    for (int db = 0; db < S_NDB; db++) {
        rc = mdb_dbi_open(w->txn, s_db_names[db], 0, &w->dbi[db]);
        w->has[db] = rc == 0;
        if (rc != 0 && rc != MDB_NOTFOUND) {
            char why[160];
            snprintf(why, sizeof(why), "LMDB: %s", mdb_strerror(rc));
            s_damaged(w, db, 0, false, INT64_MIN, why);
            return 1;
        }
    }
    if (!w->has[S_META]) {
        fprintf(errout, "tsdb check: %s holds no floorwatch storage (no meta database)\n", dir);
        return 2;
    }
    w->ix = (tsdb_index_t){w->dbi[S_SERIES], w->dbi[S_BY_HASH], w->dbi[S_POSTINGS]};
    MDB_val hk = {4, (void *)"head"}, hv;
    w->head_padded = mdb_get(w->txn, w->dbi[S_META], &hk, &hv) == 0 && hv.mv_size == 6 &&
                     memcmp(hv.mv_data, "padded", 6) == 0;
    if (w->records)
        s_find_map(w, hv.mv_data);
    return 0;
}

// The child: open, then walk the databases from `from` on. Its exit status.
static int
s_child(const char *dir, int from, bool records, struct s_progress *pg, FILE *out, FILE *errout)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); // a fault here is expected, not a bug to dump
    struct s_walk w = {.out = out, .pg = pg, .records = records};
    pg->db = S_SETUP;
    int rc = s_open(&w, dir, errout);
    for (int db = from; rc == 0 && db < S_NDB; db++)
        s_walk_db(&w, db);
    if (w.txn)
        mdb_txn_abort(w.txn);
    if (w.env)
        mdb_env_close(w.env);
    free(w.buf);
    free(w.rb);
    fflush(out);
    return rc != 0 ? rc : pg->damaged > 0 ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// The parent

static int64_t
s_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// Run a child from database `from`; its wait status, or -1 when it stalled (killed).
static int
s_run_child(const char *dir, int from, bool records, struct s_progress *pg, FILE *out, FILE *errout)
{
    fflush(out);
    fflush(errout);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(errout, "tsdb check: fork: %s\n", strerror(errno));
        return 2 << 8;
    }
    if (pid == 0)
        _exit(s_child(dir, from, records, pg, out, errout));
    uint64_t beat = pg->beat;
    int64_t seen = s_mono_ms();
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return 2 << 8;
        if (pg->beat != beat) {
            beat = pg->beat;
            seen = s_mono_ms();
        } else if (s_mono_ms() - seen > TSDB_CHECK_STALL_MS) {
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            return -1;
        }
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
}

struct s_cli {
    const char *path;
    bool records;
};

static const struct fw_flag s_flags[] = {
    {"storage.tsdb.path", FW_FLAG_STR, offsetof(struct s_cli, path), "data/tsdb",
     "data directory to check (read-only; a tsdb may run on it)"},
    {"records", FW_FLAG_BOOL, offsetof(struct s_cli, records), "false",
     "also print every record as \"record DB KEY-HEX OFFSET LENGTH\": where its value lies in "
     "data.mdb"},
    {NULL, FW_FLAG_STR, 0, NULL, NULL},
};

int
tsdb_check_main(int argc, char **argv, FILE *out, FILE *errout)
{
    struct s_cli cli = {0};
    int rc = fw_flags_parse(argc, argv, "tsdb check",
                            "walk a tsdb data directory read-only and report damaged records "
                            "(exit 0 clean, 1 damage found, 2 usage)",
                            s_flags, &cli);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    fw_log_init("tsdb", FW_LOG_WARN, FW_LOG_LOGFMT);
    struct s_progress *pg =
        mmap(NULL, sizeof(*pg), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (pg == MAP_FAILED) {
        fprintf(errout, "tsdb check: mmap: %s\n", strerror(errno));
        return 2;
    }
    memset(pg, 0, sizeof(*pg));
    bool damage = false;
    int code = 0, from = 0;
    for (int round = 0; round <= S_NDB && from < S_NDB; round++) {
        int status = s_run_child(cli.path, from, cli.records, pg, out, errout);
        if (status >= 0 && WIFEXITED(status)) {
            code = WEXITSTATUS(status);
            damage |= code == 1;
            break;
        }
        damage = true;
        int db = pg->db;
        char key[600] = "none: it died on the first record";
        if (db >= 0 && pg->key_len > 0)
            s_key_text(db, pg->key, pg->key_len, key, sizeof(key));
        fprintf(out,
                "damaged: %s: the walk %s after %llu records of it (last good key: %s): a "
                "B-tree page of data.mdb is damaged (LMDB keeps no checksums); the rest of "
                "this database is not checked\n",
                db >= 0 ? s_db_names[db] : "data.mdb (opening)",
                status < 0                    ? "stalled (no record for 30 s) and was stopped"
                : WTERMSIG(status) == SIGSEGV ? "died of SIGSEGV in LMDB"
                : WTERMSIG(status) == SIGBUS  ? "died of SIGBUS in LMDB"
                : WTERMSIG(status) == SIGABRT ? "died of SIGABRT (an LMDB assertion)"
                                              : "died of a signal",
                (unsigned long long)(db >= 0 ? pg->records[db] : 0), key);
        pg->damaged++;
        if (db < from) // opening or meta: nothing after it can be trusted
            break;
        from = db + 1;
    }
    if (code == 2) {
        munmap(pg, sizeof(*pg));
        return 2;
    }
    uint64_t total = 0;
    for (int db = 0; db < S_NDB; db++)
        total += pg->records[db];
    fprintf(out,
            "checked %s: %llu records (%llu series, %llu chunks, %llu open chunks, %llu log "
            "records, %llu rollup records); %llu damaged\n",
            cli.path, (unsigned long long)total, (unsigned long long)pg->records[S_SERIES],
            (unsigned long long)pg->records[S_CHUNKS], (unsigned long long)pg->records[S_HEAD],
            (unsigned long long)pg->records[S_WAL], (unsigned long long)pg->records[S_ROLLUPS],
            (unsigned long long)pg->damaged);
    if (damage)
        fprintf(out,
                "the data file is damaged: restore data.mdb from a backup (a consistent copy, "
                "also while tsdb runs: mdb_copy %s BACKUPDIR, Debian package lmdb-utils), or "
                "move the directory away to start empty; tsdb skips damaged chunks and series "
                "records, but damaged LMDB pages can stop it (event=tsdb.storage.damaged)\n",
                cli.path);
    munmap(pg, sizeof(*pg));
    return damage ? 1 : 0;
}
