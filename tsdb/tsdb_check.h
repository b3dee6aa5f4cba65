/*  tsdb_check.h — `tsdb check`: walk a data directory offline and report what is damaged.

    LMDB keeps no page checksums and trusts its pages, so a damaged data.mdb can make LMDB's
    own code fault (tsdb then logs event=tsdb.storage.damaged and dies, tsdb_store_guard.c).
    `tsdb check` finds such damage without risking anything: it opens the environment
    read-only (beside a running tsdb too: it reads one consistent snapshot) and walks every
    database (meta, series, by_hash, postings, chunks, head, wal) in a forked child, so a
    fault in LMDB on a damaged page kills only the child. The child checks every record:

        meta      format "2" or "3"
        series    u64 key; the label set decodes (sorted, unique, non-empty) and is valid
        by_hash   u64 key; each id names a series whose labels hash to the key
        postings  name 0xff value key; each id names a series
        chunks    16-byte key; its series exists; the chunk decodes to its last sample
                  (tsdb_chunk_iter: header, every code, max t, zero padding); the key's
                  start is the chunk's first timestamp; a series' chunks do not overlap
        head      u64 key; its series exists; the open chunk decodes
        wal       u64 key; the log record decodes (tsdb_wal.h); each id names a series

    and LMDB's answers themselves: an error from a cursor (MDB_CORRUPTED, MDB_PAGE_NOTFOUND)
    or keys that do not come in ascending order end that database's walk as damage. Each
    damaged record is printed on out as one line: the database, the series id and its
    labels where they are readable, a chunk's start, and the decoder's or LMDB's reason.

    The parent watches the child through a page of shared memory (which database, how many
    records, the last good key). When the child dies of a signal, the parent reports the
    signal and how far the child got, and starts a new child at the next database, so one
    damaged page hides no more than the rest of its own database. A child that makes no
    progress for TSDB_CHECK_STALL_MS is killed and reported the same way.

    Exit status: 0 nothing damaged, 1 damage found (or a data file LMDB refuses), 2 usage,
    or no floorwatch storage in the directory.
*/
#ifndef TSDB_CHECK_H
#define TSDB_CHECK_H

#include <stdio.h>

// A walk that reads no record for this long is taken as stuck (a loop in damaged pages).
#define TSDB_CHECK_STALL_MS 30000
// Damaged records printed at most (the rest are counted).
#define TSDB_CHECK_MAX_REPORTED 1000

// `tsdb check [--storage.tsdb.path=DIR] [--records]` (argv[0] is "check"). Reports on out,
// errors on errout. Returns the exit status (see above).
int tsdb_check_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
