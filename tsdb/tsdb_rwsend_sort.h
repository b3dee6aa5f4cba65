/*  tsdb_rwsend_sort.h — the remote-write shards' samples, sorted by time (to cut a window into
    requests in time order) and, within a request, by series (one TimeSeries each).

    A window's samples are gathered series by series, each in time order, and span at most
    TSDB_RWSEND_WINDOW_MS; a request holds at most max_samples_per_send of them. An LSD radix
    sort (8 bits a pass, as many passes as the largest key needs: two for a minute of
    milliseconds or 65,536 series) moves each sample a few times, where qsort moved it log n
    times through memcpy calls (a fifth of the sender's CPU by perf). Both sorts are stable:
    by time, a timestamp's samples stay in series order; by series, a series' samples stay
    in time order.
*/
#ifndef TSDB_RWSEND_SORT_H
#define TSDB_RWSEND_SORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// A sample read for sending: which series (the shard's index of its labels), when, what.
struct tsdb_rwsend_entry {
    uint32_t series;
    int64_t t;
    double v;
};

// Sort e[0..n) stably by t (by_series false) or by series (true), through tmp[0..n).
void tsdb_rwsend_sort(struct tsdb_rwsend_entry *e, struct tsdb_rwsend_entry *tmp, size_t n,
                      bool by_series);

#endif
