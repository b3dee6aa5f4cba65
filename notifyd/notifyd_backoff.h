/*  notifyd_backoff.h — the wait before a delivery's next attempt: exponential backoff with
    jitter drawn from a generator each deliverer owns.

    The wait after attempt n (1-based) is min(initial_backoff * 2^(n-1), max_backoff) times a
    factor drawn uniformly from [0.5, 1), so it never exceeds max_backoff and never falls
    below half of the un-jittered value. The factor comes from a xorshift64* generator whose
    state lives in struct notifyd_backoff (no global state): notifyd_backoff_seed takes its
    seed from getrandom(2), so two notifyd processes (replicas) or two deliverers in one
    process draw different sequences and do not retry in lockstep. Not thread-safe: one
    state per deliverer, used on its loop.
*/
#ifndef NOTIFYD_BACKOFF_H
#define NOTIFYD_BACKOFF_H

#include <stdint.h>

#include "notifyd_cfg.h"

// The generator's state; fields private to notifyd_backoff.c.
struct notifyd_backoff {
    uint64_t state; // never 0 once seeded
};

// Seed self from getrandom(2); when the kernel gives nothing (no entropy yet with
// GRND_NONBLOCK, an old kernel), from the clock, the pid and self's address mixed, which
// still differs between processes and between states.
void notifyd_backoff_seed(struct notifyd_backoff *self);

// The wait in ms after attempt `attempts` (1 or more; below 1 counts as 1) under retry
// (borrowed): see the header comment. Advances self.
int64_t notifyd_backoff_next(struct notifyd_backoff *self, const struct notifyd_cfg_retry *retry,
                             int attempts);

#endif
