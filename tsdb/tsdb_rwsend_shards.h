/*  tsdb_rwsend_shards.h — how many shards a remote_write queue runs: Prometheus's rule; and
    how far a shard's window of time reaches.

    Every TSDB_RWSEND_RESHARD_MS the queue ticks its moving averages (weight 0.2, as
    Prometheus's ewmaRate) of samples coming in (read from the store, per second of their
    timestamps), sent, dropped and the time spent sending, and asks for
    time per sample sent × (samples in per second × kept ratio + 5 % of the backlog), the
    backlog being the delay of the oldest shard position behind the newest sendable
    timestamp times the incoming rate. Rounded up; kept when within 30 % of the current
    number; never lowered while more than 10 s behind; bounded by min_shards and max_shards.
*/
#ifndef TSDB_RWSEND_SHARDS_H
#define TSDB_RWSEND_SHARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TSDB_RWSEND_RESHARD_MS 10000 // how often the number of shards is decided

// An exponentially weighted moving rate of events per second.
struct tsdb_rwsend_ewma {
    double rate;
    double pending; // events since the last tick
    bool init;
};

// Count n events.
void tsdb_rwsend_ewma_add(struct tsdb_rwsend_ewma *self, double n);
// Fold the pending events, over interval_s seconds, into the rate.
void tsdb_rwsend_ewma_tick(struct tsdb_rwsend_ewma *self, double interval_s);

struct tsdb_rwsend_rates {
    double in;      // samples per second coming in (to be sent or dropped)
    double out;     // samples per second sent
    double dropped; // samples per second dropped
    double send_s;  // seconds spent sending per second (all shards)
    double delay_s; // how far the oldest shard is behind what can be sent
};

// The number of shards to run, given the rates, the current number and the bounds.
size_t tsdb_rwsend_desired_shards(const struct tsdb_rwsend_rates *r, size_t current, size_t min,
                                  size_t max);

// The span in ms of a shard's next window: as far as 90% of capacity samples reached at
// the rate of the last window (read samples in its asked ms), within 1 s and max_ms;
// max_ms when the last read nothing, span when it asked for no time.
int64_t tsdb_rwsend_window_span(int64_t span, double capacity, size_t read, int64_t asked,
                                int64_t max_ms);

#endif
