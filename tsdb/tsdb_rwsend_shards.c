/*  tsdb_rwsend_shards.c — the resharding rule (see tsdb_rwsend_shards.h).
 */
#include "tsdb_rwsend_shards.h"

#include <math.h>

#define S_EWMA_WEIGHT 0.2
#define S_TOLERANCE 0.3     // changes smaller than this fraction are not made
#define S_CATCHUP 0.05      // of the backlog, per second
#define S_BEHIND_MAX_S 10.0 // never fewer shards while this far behind

void
tsdb_rwsend_ewma_add(struct tsdb_rwsend_ewma *self, double n)
{
    self->pending += n;
}

void
tsdb_rwsend_ewma_tick(struct tsdb_rwsend_ewma *self, double interval_s)
{
    double instant = interval_s > 0 ? self->pending / interval_s : 0;
    self->pending = 0;
    if (self->init) {
        self->rate += S_EWMA_WEIGHT * (instant - self->rate);
    } else {
        self->init = true;
        self->rate = instant;
    }
}

size_t
tsdb_rwsend_desired_shards(const struct tsdb_rwsend_rates *r, size_t current, size_t min,
                           size_t max)
{
    if (r->out <= 0)
        return current;
    double kept = r->out / (r->dropped + r->out);
    double pending = r->delay_s * r->in * kept;
    double per_sample = r->send_s / r->out;
    double want = ceil(per_sample * (r->in * kept + S_CATCHUP * pending));
    if (want >= (double)current * (1 - S_TOLERANCE) && want <= (double)current * (1 + S_TOLERANCE))
        return current;
    size_t n = want > (double)max ? max : want < 1 ? 1 : (size_t)want;
    if (n < current && r->delay_s > S_BEHIND_MAX_S)
        return current;
    return n > max ? max : n < min ? min : n;
}

int64_t
tsdb_rwsend_window_span(int64_t span, double capacity, size_t read, int64_t asked, int64_t max_ms)
{
    if (read == 0)
        return max_ms;
    if (asked <= 0)
        return span;
    double next = 0.9 * capacity * (double)asked / (double)read;
    if (next < 1000)
        return 1000 < max_ms ? 1000 : max_ms;
    return next > (double)max_ms ? max_ms : (int64_t)next;
}
