/*  tsdb_rwsend_late.h — a remote-write shard's late samples: those the store recorded as
    stored at or below what the shard's queue had already read (tsdb_store.h, "Late
    samples"), sent apart from the windows.

    Prometheus's sender reads its write-ahead log in append order, so it sends a late sample
    when it is appended. A shard reads the store in windows of time and would never see a
    sample stored after its window was read. So, before each window, it lists its queue's
    late records of the series it owns (id % shards == its index), reads each record's
    samples from mint up to its own position (what lies past its position the next windows
    read anyway), sends them, at most max_samples_per_send a request, holding at most the
    queue's capacity in memory at once, and drops the records once every request was
    answered (accepted, or refused for good). A stop before that keeps them: the next start
    sends them again, and a receiver takes an identical sample as a no-op (Prometheus
    stores a sample older than a series' newest only within its out-of-order window).
*/
#ifndef TSDB_RWSEND_LATE_H
#define TSDB_RWSEND_LATE_H

#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "tsdb_rwsend_sort.h"
#include "tsdb_store.h"

#define TSDB_RWSEND_LATE_RECORDS 256 // records one drain looks at
#define TSDB_RWSEND_LATE_DROPPED UINT32_MAX

// What the shard lends a drain.
struct tsdb_rwsend_late_ops {
    // The index of the labels series id is sent under, read through r the first time, or
    // TSDB_RWSEND_LATE_DROPPED (write_relabel_configs drop it, or it cannot be read).
    uint32_t (*set_of)(void *arg, tsdb_store_reader_t *r, uint64_t id);
    // Send e[0..n) (may reorder them) as one request, retrying as the windows do: 1
    // accepted, 0 refused for good, -1 stopped.
    int (*send)(void *arg, struct tsdb_rwsend_entry *e, size_t n);
    void *arg;
};

struct tsdb_rwsend_late_job {
    tsdb_store_t *store;          // borrowed
    uint64_t key;                 // the queue's (tsdb_store_late_watch)
    uint64_t mod, rem;            // the shard's series: id % mod == rem
    int64_t pos;                  // the shard's position: samples past it are not sent
    int64_t age_min;              // older samples are dropped (sample_age_limit)
    size_t per;                   // max_samples_per_send
    size_t cap;                   // samples held at once (the queue's capacity), >= per
    uint64_t *after;              // the shard's place in the records, kept between drains
    struct tsdb_rwsend_entry **e; // the shard's buffer, grown with fw_mem_grow
    size_t *cap_e;
};

// What a drain did.
struct tsdb_rwsend_late_count {
    size_t records; // records dropped as done
    size_t sent;    // samples the receiver accepted
    size_t failed;  // samples refused for good
    size_t dropped; // samples too old or of series relabeling drops
};

// Send the samples of up to TSDB_RWSEND_LATE_RECORDS of job's late records, then drop
// those records (see the top). Adds to *count. 0, or -1: stopped (nothing dropped), or a
// store error (err; the records stay for the next drain).
int tsdb_rwsend_late_drain(const struct tsdb_rwsend_late_job *job,
                           const struct tsdb_rwsend_late_ops *ops,
                           struct tsdb_rwsend_late_count *count, fw_err_t *err);

#endif
