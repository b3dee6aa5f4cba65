/*  tsdb_migrate.h — `tsdb migrate`: a Prometheus server's history, pulled through its
    remote-read API, into a tsdb data directory.

    tsdb migrate --from=URL --start=TIME --end=TIME [--storage.tsdb.path=DIR | --data=DIR]
                 [--match=SELECTOR] [--slice=2h] [--timeout=5m] [--quiet]
      URL is the server's remote-read endpoint (http://prometheus:9090/api/v1/read; a URL
      without a path gets /api/v1/read); TIME is RFC 3339 or Unix seconds, as the HTTP API
      takes them; SELECTOR (default {__name__=~".+"}: everything) chooses the series.
    The range [start, end] is read in time slices of --slice, one remote-read request each,
    oldest first. Each request accepts STREAMED_XOR_CHUNKS first and SAMPLES second, so a
    Prometheus 2.13 or later streams: frames are read one at a time as they arrive
    (tsdb_rread_proto.h), each chunk decoded (tsdb_xor.h; a chunk reaches past the slice
    whole, so only its samples inside the slice are kept) and its series' samples appended
    to the store at once. A server answering SAMPLES sends one snappy ReadResponse a slice,
    held until it is read (at most TSDB_MIGRATE_MAX_SAMPLES_BODY bytes: a smaller --slice
    keeps under it). So memory is one frame, or one slice's samples answer, plus the
    store's open chunks; the store commits after each slice and whenever
    TSDB_MIGRATE_COMMIT_SAMPLES samples were appended since the last commit. The last
    commit seals every open chunk, as `tsdb import` does.
    The store's out-of-order window is opened wide as for an import: a sample older than
    what its series holds is merged, one already stored (same timestamp and value) is a
    no-op, so a migration that failed half-way is completed by running it again; what was
    committed before the failure stays. Series keep the labels the server sends (a
    Prometheus adds its global.external_labels).
    Progress (slice, samples, samples/s) is shown on stderr when it is a terminal; the
    summary goes to stdout. Exit codes: 0 done, 1 failed (the server's status and text, a
    malformed answer, a storage error: said on stderr), 2 usage.
*/
#ifndef TSDB_MIGRATE_H
#define TSDB_MIGRATE_H

#include <stdio.h>

#define TSDB_MIGRATE_MAX_FRAME ((size_t)50000000)         // Prometheus's chunked-read limit
#define TSDB_MIGRATE_MAX_SAMPLES_BODY ((size_t)512 << 20) // a SAMPLES answer
#define TSDB_MIGRATE_MAX_SLICES 1000000 // requests of one run (a smaller range or a longer slice)
#define TSDB_MIGRATE_COMMIT_SAMPLES ((size_t)2000000) // samples between commits

int tsdb_migrate_main(int argc, char **argv, FILE *out, FILE *errout);

#endif
