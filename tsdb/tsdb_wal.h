/*  tsdb_wal.h — the write-ahead log's record codec: the samples one commit appended.

    Between checkpoints a commit does not rewrite the open chunks of every series it
    touched (a few hundred bytes each, one LMDB page per ~20 series): it writes ONE log
    record holding just the samples appended since the previous commit, about 10 bytes a
    sample, in the same transaction as everything else (tsdb_store.h, "Durability"). A
    start replays the records written since the last checkpoint into the head.

    A record is what tsdb_store_append_series* was given, in order, series by series:

        record  := version(1 byte, = 1) entry*
        entry   := uvarint(series id) uvarint(n >= 1) sample{n}
        sample  := svarint(t - previous t) value(8 bytes, little-endian IEEE 754 bits)

    Samples with start times (Prometheus's start timestamps, tsdb_chunk.h encoding 4) make
    the record version 2, which adds one entry form; a record without them stays version 1,
    byte for byte:

        entry   := uvarint(series id) uvarint(0) uvarint(n >= 1) st_sample{n}
        st_sample := sample svarint(st - t)        (st 0, none, is written as 0 - t)

    "previous t" is the record's previous sample's timestamp (0 before the first), so the
    timestamps of one scrape, close to one another, take a byte or two; svarint is the
    zigzag form of a signed delta as a uvarint. Values are kept bit for bit (stale markers,
    NaN payloads, -0.0), uncompressed: the log lives only until the next checkpoint.

    A commit's samples go in records of at most TSDB_WAL_RECORD_MAX bytes each (a series'
    samples may then span two records, as two entries): LMDB copies a value bigger than a
    page into overflow pages it mallocs for the txn and frees after it, and a block past
    128 KiB (tsdb_main's M_MMAP_THRESHOLD) is mmapped, faulted in page by page and unmapped
    again at every commit. The records go under consecutive keys (tsdb_store.c), and each
    reads alone: a replay reads them one after the other as it reads the records of
    consecutive commits.

    Pure code: no LMDB, no allocation but the buffer's own growth. The decoder checks every
    length against the record's end, so a damaged record ends with an error, never a read
    past it (fuzzed: test/fuzz/fuzz_tsdb_wal.c).
*/
#ifndef TSDB_WAL_H
#define TSDB_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_sample.h"

#define TSDB_WAL_VERSION 1
#define TSDB_WAL_VERSION_ST 2 // records holding start times
// The most bytes a record holds: with LMDB's page header, 30 pages of 4 KiB, which glibc
// serves from its heap (reused from commit to commit) rather than a fresh mapping.
#define TSDB_WAL_RECORD_MAX ((size_t)120 << 10)

// The records of one commit being built: p[0..len) holds them back to back, record k ending
// at ends[k] (the last one at len). Zero it to start; tsdb_wal_buf_clear frees it.
struct tsdb_wal_buf {
    unsigned char *p; // owned
    size_t len, cap;
    size_t *ends; // owned: the ends of the records before the last
    size_t n_ends, cap_ends;
    int64_t prev_t;
    size_t samples; // in the records
};

// Append series id's samples[0..n) (n > 0) to the records, in a new record when the last
// one would pass TSDB_WAL_RECORD_MAX (splitting the samples over records when they must).
void tsdb_wal_add(struct tsdb_wal_buf *b, uint64_t id, const struct fw_sample *samples, size_t n);
// The same with each sample's start time start[k] (0: none); start NULL or all 0 is
// tsdb_wal_add.
void tsdb_wal_add_st(struct tsdb_wal_buf *b, uint64_t id, const struct fw_sample *samples,
                     const int64_t *start, size_t n);
// Records in b: 0 when it is empty.
size_t tsdb_wal_buf_records(const struct tsdb_wal_buf *b);
// Record k (k < tsdb_wal_buf_records(b)); *len gets its bytes (at most TSDB_WAL_RECORD_MAX).
// Borrowed: valid until the next change to b.
const unsigned char *tsdb_wal_buf_record(const struct tsdb_wal_buf *b, size_t k, size_t *len);
// Empty the records, keeping their memory (bounded: a big buffer is freed).
void tsdb_wal_buf_reset(struct tsdb_wal_buf *b);
void tsdb_wal_buf_clear(struct tsdb_wal_buf *b);

// Reading a record p[0..len) (borrowed).
struct tsdb_wal_iter {
    const unsigned char *p;
    size_t len, off;
    int64_t prev_t;
    int err;     // 0, or the FW_E* code that ended the walk
    uint8_t ver; // the record's version
};

// Start reading; a record of a version other than 1 and 2, or none, fails the first next with
// FW_EPARSE.
void tsdb_wal_iter_init(struct tsdb_wal_iter *it, const void *p, size_t len);
// The next entry: its series id, and its samples in (*out)[0..*n), *out grown as needed
// (fw_mem_grow with *cap; the caller frees *out). False at the end or on damage
// (tsdb_wal_iter_err then says which).
bool tsdb_wal_next(struct tsdb_wal_iter *it, uint64_t *id, struct fw_sample **out, size_t *cap,
                   size_t *n);
// tsdb_wal_next with the samples' start times in (*st)[0..*n) too (all 0 for an entry
// without them), *st grown as needed with *st_cap (the caller frees it).
bool tsdb_wal_next_st(struct tsdb_wal_iter *it, uint64_t *id, struct fw_sample **out, size_t *cap,
                      int64_t **st, size_t *st_cap, size_t *n);
int tsdb_wal_iter_err(const struct tsdb_wal_iter *it);

#endif
