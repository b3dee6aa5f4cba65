/*  fuzz_tsdb_wal.c — the write-ahead log's record codec both ways on every input.

    Decode: the input is a record. The walk must end cleanly (at the end, or with FW_ETRUNC
    or FW_EPARSE), never reading past the input, with at least one sample per entry.

    Encode: the input is entries. Each is a byte for the series id's low bits and the count
    of samples (1 + its low 3 bits), then per sample 8 bytes of timestamp and 8 of value
    bits, taken as they come. The record built from them must give back exactly the same
    ids, timestamps and value bits, and every truncation of it must end in an error or at
    an entry boundary.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_err.h"
#include "tsdb_wal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_ENTRIES_MAX 64

static void
s_decode(const uint8_t *data, size_t size)
{
    struct tsdb_wal_iter it;
    struct fw_sample *out = NULL;
    size_t cap = 0, n;
    uint64_t id;
    tsdb_wal_iter_init(&it, data, size);
    while (tsdb_wal_next(&it, &id, &out, &cap, &n))
        if (n == 0 || it.off > size)
            abort();
    int rc = tsdb_wal_iter_err(&it);
    if (rc != 0 && rc != FW_ETRUNC && rc != FW_EPARSE)
        abort();
    free(out);
}

static void
s_encode(const uint8_t *data, size_t size)
{
    struct tsdb_wal_buf w = {0};
    uint64_t ids[S_ENTRIES_MAX];
    size_t counts[S_ENTRIES_MAX], ends[S_ENTRIES_MAX], n_entries = 0;
    struct fw_sample want[S_ENTRIES_MAX * 8];
    size_t n_want = 0, off = 0;
    while (off < size && n_entries < S_ENTRIES_MAX) {
        uint8_t b = data[off++];
        size_t n = 1 + (b & 7);
        struct fw_sample *s = &want[n_want];
        size_t k = 0;
        for (; k < n && size - off >= 16; k++) {
            s[k].t_ms = (int64_t)fw_bytes_get_le(data + off, 8);
            uint64_t bits = fw_bytes_get_le(data + off + 8, 8);
            memcpy(&s[k].v, &bits, sizeof(bits));
            off += 16;
        }
        if (k == 0)
            break;
        ids[n_entries] = (uint64_t)b * 0x9e3779b97f4a7c15ULL;
        tsdb_wal_add(&w, ids[n_entries], s, k);
        counts[n_entries] = k;
        ends[n_entries] = w.len;
        n_entries++;
        n_want += k;
    }
    if (n_entries == 0) {
        tsdb_wal_buf_clear(&w);
        return;
    }
    struct tsdb_wal_iter it;
    struct fw_sample *out = NULL;
    size_t cap = 0, n, got = 0;
    uint64_t id;
    tsdb_wal_iter_init(&it, w.p, w.len);
    for (size_t e = 0; e < n_entries; e++) {
        if (!tsdb_wal_next(&it, &id, &out, &cap, &n) || id != ids[e] || n != counts[e])
            abort();
        for (size_t k = 0; k < n; k++) {
            const struct fw_sample *x = &want[got + k];
            if (out[k].t_ms != x->t_ms || memcmp(&out[k].v, &x->v, sizeof(double)) != 0)
                abort();
        }
        got += n;
    }
    if (tsdb_wal_next(&it, &id, &out, &cap, &n) || tsdb_wal_iter_err(&it) != 0)
        abort();
    for (size_t len = 0; len < w.len; len++) {
        tsdb_wal_iter_init(&it, w.p, len);
        while (tsdb_wal_next(&it, &id, &out, &cap, &n))
            ;
        bool boundary = len == 1;
        for (size_t e = 0; e < n_entries; e++)
            boundary |= ends[e] == len;
        if ((tsdb_wal_iter_err(&it) == 0) != boundary)
            abort();
    }
    free(out);
    tsdb_wal_buf_clear(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_decode(data, size);
    s_encode(data, size);
    return 0;
}
