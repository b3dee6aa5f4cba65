/*  tsdb_gate.c — the limit on queries evaluated at once (see tsdb_gate.h).

    A counter under a mutex and a condition variable on CLOCK_MONOTONIC, so deadlines on the
    fw_time_mono_ms() clock need no conversion and a change of the wall clock does not
    shorten or lengthen a wait.
*/
#include "tsdb_gate.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fw_mem.h"
#include "fw_time.h"

#define S_CANCEL_POLL_MS 100

struct tsdb_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int max;
    int running; // guarded by lock
};

tsdb_gate_t *
tsdb_gate_new(int max)
{
    tsdb_gate_t *self = fw_calloc(1, sizeof(*self));
    self->max = max > 0 ? max : 1;
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &ca);
    pthread_condattr_destroy(&ca);
    return self;
}

void
tsdb_gate_destroy(tsdb_gate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_gate_t *self = *self_p;
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int
tsdb_gate_enter(tsdb_gate_t *self, int64_t deadline_mono_ms, const atomic_bool *cancel)
{
    int rc = 0;
    pthread_mutex_lock(&self->lock);
    while (self->running >= self->max) {
        int64_t now = fw_time_mono_ms();
        if ((cancel && atomic_load(cancel)) || (deadline_mono_ms > 0 && now >= deadline_mono_ms)) {
            rc = -1;
            break;
        }
        int64_t until = now + S_CANCEL_POLL_MS;
        if (deadline_mono_ms > 0 && deadline_mono_ms < until)
            until = deadline_mono_ms;
        // fw_time_mono_ms() is CLOCK_MONOTONIC in ms, the clock the condition waits on.
        struct timespec ts = {(time_t)(until / 1000), (long)(until % 1000) * 1000000L};
        (void)pthread_cond_timedwait(&self->cond, &self->lock, &ts);
    }
    if (rc == 0)
        self->running++;
    pthread_mutex_unlock(&self->lock);
    return rc;
}

void
tsdb_gate_leave(tsdb_gate_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->running--;
    pthread_cond_signal(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

size_t
tsdb_gate_running(tsdb_gate_t *self)
{
    pthread_mutex_lock(&self->lock);
    size_t n = (size_t)self->running;
    pthread_mutex_unlock(&self->lock);
    return n;
}

int
tsdb_gate_max(const tsdb_gate_t *self)
{
    return self->max;
}
