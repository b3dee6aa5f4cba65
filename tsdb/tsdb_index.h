/*  tsdb_index.h — the series and postings index: series id <-> label set, name=value -> ids.

    Three LMDB databases of the store's environment (tsdb_store.h has the whole layout):

        series     u64 id BE                 -> the label set: for each label by name order,
                                                uvarint name length, name, uvarint value
                                                length, value
        by_hash    u64 fw_labels_hash BE     -> u64 ids BE (MDB_DUPSORT | MDB_DUPFIXED)
        postings   name 0xff value           -> u64 ids BE (MDB_DUPSORT | MDB_DUPFIXED)

    A series is found from its labels by their hash (fw_labels_hash, whose values are on disk
    and so must never change) and the candidates' label sets compared, so a collision costs a
    compare, never a wrong series. Postings hold the ids of every series carrying name=value,
    sorted (big-endian, so byte order is numeric order), read a page at a time with
    MDB_GET_MULTIPLE. A value too long for an LMDB key (names and values together past
    TSDB_INDEX_KEY_MAX bytes) is cut and followed by 0xfe and the 16 hex digits of
    fw_hash64(value): 0xfe and 0xff never occur in UTF-8, so such keys sort among the
    others and name their value's series exactly; lookups that need the whole value read
    it from one of those series.

    Selection is exact from the postings alone, as Prometheus's PostingsForMatchers: a
    matcher that does not match "" intersects the union of the postings of the values it
    matches; one that matches "" (absent labels match as "") subtracts the union of the
    postings of the values it does not match; with no matcher of the first kind the start
    is every series. Ids come back sorted.

    Functions take the caller's transaction (read or write) and return 0 or an LMDB error
    code (mdb_strerror) unless they say otherwise; the index keeps no state but the database
    handles, so any thread may use it with its own transaction.
*/
#ifndef TSDB_INDEX_H
#define TSDB_INDEX_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_matcher.h"

// Longest postings key written (LMDB's default limit is 511 bytes).
#define TSDB_INDEX_KEY_MAX 480
// Longest label name that can be indexed (the rest of a key is left for the value).
#define TSDB_INDEX_NAME_MAX 400

// An id is damaged when its series record does not decode: TSDB_INDEX_EDAMAGED (in LMDB's
// error range's neighbourhood, not an LMDB code: tsdb_index_strerror describes both).
#define TSDB_INDEX_EDAMAGED (-30500)

typedef struct {
    MDB_dbi series, by_hash, postings;
} tsdb_index_t;

// Open the three databases in txn (a write transaction when create is true). 0 or an error.
int tsdb_index_open(tsdb_index_t *ix, MDB_txn *txn, bool create);

// A label set the index can hold: not empty, valid (fw_labels_validate) and every name at
// most TSDB_INDEX_NAME_MAX bytes. 0, or -1 with err naming the problem.
int tsdb_index_check(const struct fw_labels *l, fw_err_t *err);

// Find the series with exactly these labels (hash = fw_labels_hash(l)). 0 and *id, or
// MDB_NOTFOUND, or an error.
int tsdb_index_find(const tsdb_index_t *ix, MDB_txn *txn, const struct fw_labels *l, uint64_t hash,
                    uint64_t *id);

// Add the series id with labels l (checked with tsdb_index_check by the caller) to all
// three databases in the write transaction txn. 0 or an error.
int tsdb_index_add(const tsdb_index_t *ix, MDB_txn *txn, uint64_t id, const struct fw_labels *l,
                   uint64_t hash);

// A batch of new series to index in one write transaction, put in key order: LMDB splits
// a full page in the middle unless a key goes last (MDB_APPEND), so entries put in arrival
// order (postings and hashes land all over their tables) leave pages a half to four fifths
// full, where a bulk load in key order (tsdb import, a first scrape of many series) fills
// them. Keys past a table's last one are appended, the others put as tsdb_index_add does.
typedef struct tsdb_index_batch tsdb_index_batch_t;

tsdb_index_batch_t *tsdb_index_batch_new(void);
void tsdb_index_batch_destroy(tsdb_index_batch_t **self_p);
// Add series id with labels l (checked by the caller; copied) and hash to the batch.
void tsdb_index_batch_add(tsdb_index_batch_t *self, uint64_t id, const struct fw_labels *l,
                          uint64_t hash);
// Series in the batch.
size_t tsdb_index_batch_len(const tsdb_index_batch_t *self);
// Put every series of the batch into the write transaction txn (rows by id, by_hash by
// hash, postings by key and id), then empty the batch, keeping its memory. 0 or an error.
int tsdb_index_batch_put(tsdb_index_batch_t *self, const tsdb_index_t *ix, MDB_txn *txn);

// Remove series id from all three databases in the write transaction txn (retention, once
// it has no sample left). 0 (also when it is not there), or an error.
int tsdb_index_remove(const tsdb_index_t *ix, MDB_txn *txn, uint64_t id);

// The highest id stored (0 when none) in *id. 0 or an error.
int tsdb_index_last_id(const tsdb_index_t *ix, MDB_txn *txn, uint64_t *id);

// Number of series, or -1.
ssize_t tsdb_index_count(const tsdb_index_t *ix, MDB_txn *txn);

// The labels of series id into *out (cleared first; the caller clears it after). 0,
// MDB_NOTFOUND, TSDB_INDEX_EDAMAGED, or an error.
int tsdb_index_labels(const tsdb_index_t *ix, MDB_txn *txn, uint64_t id, struct fw_labels *out);

// The ids of every series matching all of ms[0..n), sorted ascending, into *ids (the
// caller frees it; NULL when none) and *n_ids. 0 or an error.
int tsdb_index_select(const tsdb_index_t *ix, MDB_txn *txn, const struct fw_matcher *ms, size_t n,
                      uint64_t **ids, size_t *n_ids);

// Sorted distinct label names; the caller frees each and the array. 0 or an error.
int tsdb_index_label_names(const tsdb_index_t *ix, MDB_txn *txn, char ***out, size_t *n_out);
// Sorted distinct values of label name; the caller frees each and the array. 0 or an error.
int tsdb_index_label_values(const tsdb_index_t *ix, MDB_txn *txn, const char *name, char ***out,
                            size_t *n_out);

// Called by tsdb_index_postings_walk for each postings key: the label name and value (not
// NUL-terminated; a cut value as the key holds it) and the number of series carrying them.
// Nonzero stops the walk.
typedef int (*tsdb_index_walk_fn)(const char *name, size_t name_len, const char *value,
                                  size_t value_len, size_t series, void *arg);
// Call fn for every postings key in key order (by name, then value) until it returns
// nonzero. 0 or an error.
int tsdb_index_postings_walk(const tsdb_index_t *ix, MDB_txn *txn, tsdb_index_walk_fn fn,
                             void *arg);

// mdb_strerror, plus TSDB_INDEX_EDAMAGED.
const char *tsdb_index_strerror(int rc);

#endif
