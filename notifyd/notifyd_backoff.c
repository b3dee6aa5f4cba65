/*  notifyd_backoff.c — retry waits: exponential backoff, jitter from a per-deliverer
    xorshift64* (Vigna, "An experimental exploration of Marsaglia's xorshift generators",
    2016) seeded from getrandom(2).

    rand() without srand() gave every notifyd the same jitter sequence, so replicas that
    failed together retried together; a process-wide srand would still be global state shared
    by every deliverer. xorshift64* is 3 shifts and a multiply a draw, good enough for jitter
    (its top 53 bits make the factor), and its state fits in the deliverer.
*/
#include <errno.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "notifyd_backoff.h"

// splitmix64's finaliser: spreads a weak seed (clock, pid) over all 64 bits.
static uint64_t
s_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
notifyd_backoff_seed(struct notifyd_backoff *self)
{
    uint64_t seed = 0;
    ssize_t n;
    do
        n = getrandom(&seed, sizeof seed, GRND_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof seed) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        seed = s_mix((uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec) ^
               s_mix(((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)self);
    }
    self->state = seed ? seed : 0x9e3779b97f4a7c15ull; // xorshift's state must not be 0
}

// The next draw, uniform in [0, 1).
static double
s_uniform(struct notifyd_backoff *self)
{
    if (self->state == 0) // never seeded: seed now rather than draw zeros forever
        notifyd_backoff_seed(self);
    uint64_t x = self->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    self->state = x;
    return (double)((x * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0; // 2^53
}

int64_t
notifyd_backoff_next(struct notifyd_backoff *self, const struct notifyd_cfg_retry *retry,
                     int attempts)
{
    double max = (double)retry->max_backoff;
    double b = (double)retry->initial_backoff;
    for (int i = 1; i < attempts && b < max; i++)
        b *= 2;
    if (b > max)
        b = max;
    return (int64_t)(b * (0.5 + 0.5 * s_uniform(self)));
}
