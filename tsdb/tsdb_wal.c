/*  tsdb_wal.c — the write-ahead log's record codec (see tsdb_wal.h). */
#include "tsdb_wal.h"

#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_err.h"
#include "fw_mem.h"

#define S_KEEP_MAX ((size_t)4 << 20) // a reset buffer bigger than this gives its memory back
#define S_SAMPLE_MAX (FW_BYTES_UVARINT_MAX + 8)
#define S_SAMPLE_ST_MAX (S_SAMPLE_MAX + FW_BYTES_UVARINT_MAX)
#define S_ENTRY_HDR (3 * FW_BYTES_UVARINT_MAX) // id, count, and the start times' 0 before it

static uint64_t
s_zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static int64_t
s_unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

// The start of the last record.
static size_t
s_start(const struct tsdb_wal_buf *b)
{
    return b->n_ends ? b->ends[b->n_ends - 1] : 0;
}

// Make room for an entry of at least one sample of sample_max bytes in a record of this
// version (a record of version 1 becomes version 2 with its first start time), ending the
// last record first when it cannot take one. Returns how many samples the entry may hold.
static size_t
s_begin(struct tsdb_wal_buf *b, unsigned char version, size_t sample_max)
{
    size_t start = s_start(b);
    if (b->len > start && b->len - start + S_ENTRY_HDR + sample_max > TSDB_WAL_RECORD_MAX) {
        fw_mem_grow((void **)&b->ends, &b->cap_ends, b->n_ends + 1, sizeof(*b->ends));
        b->ends[b->n_ends++] = b->len;
        start = b->len;
    }
    if (b->len == start) {
        fw_mem_grow((void **)&b->p, &b->cap, b->len + 1, 1);
        b->p[b->len++] = version;
        b->prev_t = 0;
    } else if (version == TSDB_WAL_VERSION_ST) {
        b->p[start] = TSDB_WAL_VERSION_ST;
    }
    return (TSDB_WAL_RECORD_MAX - (b->len - start) - S_ENTRY_HDR) / sample_max;
}

void
tsdb_wal_add(struct tsdb_wal_buf *b, uint64_t id, const struct fw_sample *samples, size_t n)
{
    while (n > 0) {
        size_t m = s_begin(b, TSDB_WAL_VERSION, S_SAMPLE_MAX);
        if (m > n)
            m = n;
        fw_mem_grow((void **)&b->p, &b->cap, b->len + S_ENTRY_HDR + m * S_SAMPLE_MAX, 1);
        unsigned char *p = b->p + b->len;
        p += fw_bytes_put_uvarint(p, id);
        p += fw_bytes_put_uvarint(p, m);
        for (size_t k = 0; k < m; k++) {
            // wrap-around subtraction: any two int64 timestamps have a delta the decoder
            // undoes
            int64_t dt = (int64_t)((uint64_t)samples[k].t_ms - (uint64_t)b->prev_t);
            p += fw_bytes_put_uvarint(p, s_zigzag(dt));
            uint64_t bits;
            memcpy(&bits, &samples[k].v, sizeof(bits));
            fw_bytes_put_le(p, bits, 8);
            p += 8;
            b->prev_t = samples[k].t_ms;
        }
        b->len = (size_t)(p - b->p);
        b->samples += m;
        samples += m;
        n -= m;
    }
}

void
tsdb_wal_add_st(struct tsdb_wal_buf *b, uint64_t id, const struct fw_sample *samples,
                const int64_t *start, size_t n)
{
    size_t k = 0;
    while (start && k < n && start[k] == 0)
        k++;
    if (!start || k == n) {
        tsdb_wal_add(b, id, samples, n);
        return;
    }
    while (n > 0) {
        size_t m = s_begin(b, TSDB_WAL_VERSION_ST, S_SAMPLE_ST_MAX);
        if (m > n)
            m = n;
        fw_mem_grow((void **)&b->p, &b->cap, b->len + S_ENTRY_HDR + m * S_SAMPLE_ST_MAX, 1);
        unsigned char *p = b->p + b->len;
        p += fw_bytes_put_uvarint(p, id);
        p += fw_bytes_put_uvarint(p, 0);
        p += fw_bytes_put_uvarint(p, m);
        for (k = 0; k < m; k++) {
            int64_t t = samples[k].t_ms;
            p += fw_bytes_put_uvarint(p, s_zigzag((int64_t)((uint64_t)t - (uint64_t)b->prev_t)));
            uint64_t bits;
            memcpy(&bits, &samples[k].v, sizeof(bits));
            fw_bytes_put_le(p, bits, 8);
            p += 8;
            p += fw_bytes_put_uvarint(p, s_zigzag((int64_t)((uint64_t)start[k] - (uint64_t)t)));
            b->prev_t = t;
        }
        b->len = (size_t)(p - b->p);
        b->samples += m;
        samples += m;
        start += m;
        n -= m;
    }
}

size_t
tsdb_wal_buf_records(const struct tsdb_wal_buf *b)
{
    return b->len ? b->n_ends + 1 : 0;
}

const unsigned char *
tsdb_wal_buf_record(const struct tsdb_wal_buf *b, size_t k, size_t *len)
{
    size_t from = k ? b->ends[k - 1] : 0, to = k < b->n_ends ? b->ends[k] : b->len;
    *len = to - from;
    return b->p + from;
}

void
tsdb_wal_buf_reset(struct tsdb_wal_buf *b)
{
    if (b->cap > S_KEEP_MAX) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
    b->len = 0;
    b->n_ends = 0;
    b->prev_t = 0;
    b->samples = 0;
}

void
tsdb_wal_buf_clear(struct tsdb_wal_buf *b)
{
    free(b->p);
    free(b->ends);
    memset(b, 0, sizeof(*b));
}

void
tsdb_wal_iter_init(struct tsdb_wal_iter *it, const void *p, size_t len)
{
    it->p = p;
    it->len = len;
    it->off = 1;
    it->prev_t = 0;
    it->ver = len ? it->p[0] : 0;
    it->err = it->ver != TSDB_WAL_VERSION && it->ver != TSDB_WAL_VERSION_ST ? FW_EPARSE : 0;
}

bool
tsdb_wal_next_st(struct tsdb_wal_iter *it, uint64_t *id, struct fw_sample **out, size_t *cap,
                 int64_t **st, size_t *st_cap, size_t *n)
{
    *n = 0;
    if (it->err || it->off >= it->len)
        return false;
    uint64_t count;
    bool has_st = false;
    int rc = fw_bytes_get_uvarint(it->p, it->len, &it->off, id);
    if (rc == 0)
        rc = fw_bytes_get_uvarint(it->p, it->len, &it->off, &count);
    if (rc == 0 && count == 0 && it->ver == TSDB_WAL_VERSION_ST) {
        has_st = true;
        rc = fw_bytes_get_uvarint(it->p, it->len, &it->off, &count);
    }
    // every sample takes at least 9 bytes (10 with a start time): a count the rest cannot
    // hold is damage
    if (rc == 0 && (count == 0 || count > (it->len - it->off) / (has_st ? 10 : 9)))
        rc = FW_EPARSE;
    if (rc != 0) {
        it->err = rc;
        return false;
    }
    fw_mem_grow((void **)out, cap, (size_t)count, sizeof(**out));
    if (st)
        fw_mem_grow((void **)st, st_cap, (size_t)count, sizeof(**st));
    for (size_t k = 0; k < count; k++) {
        uint64_t zz, szz = 0;
        if ((rc = fw_bytes_get_uvarint(it->p, it->len, &it->off, &zz)) != 0 ||
            it->len - it->off < 8) {
            it->err = rc ? rc : FW_ETRUNC;
            return false;
        }
        int64_t t = (int64_t)((uint64_t)it->prev_t + (uint64_t)s_unzigzag(zz));
        uint64_t bits = fw_bytes_get_le(it->p + it->off, 8);
        it->off += 8;
        if (has_st && (rc = fw_bytes_get_uvarint(it->p, it->len, &it->off, &szz)) != 0) {
            it->err = rc;
            return false;
        }
        (*out)[k].t_ms = t;
        memcpy(&(*out)[k].v, &bits, sizeof(bits));
        if (st)
            (*st)[k] = has_st ? (int64_t)((uint64_t)t + (uint64_t)s_unzigzag(szz)) : 0;
        it->prev_t = t;
    }
    *n = (size_t)count;
    return true;
}

bool
tsdb_wal_next(struct tsdb_wal_iter *it, uint64_t *id, struct fw_sample **out, size_t *cap,
              size_t *n)
{
    return tsdb_wal_next_st(it, id, out, cap, NULL, NULL, n);
}

int
tsdb_wal_iter_err(const struct tsdb_wal_iter *it)
{
    return it->err;
}
