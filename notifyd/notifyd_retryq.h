/*  notifyd_retryq.h — jobs waiting out their retry backoff, earliest first.

    A binary min-heap of (at, seq, item): notifyd_deliver keeps the jobs whose next attempt
    is in the future here instead of in its queue, so a pass over the queue (at every new
    notification and every finished transfer) looks only at jobs that are due. With every
    job in the queue, 400 retrying ones were popped and appended again, a list node freed
    and allocated each, at every pass: most of notifyd's CPU while a receiver was down, and
    the new notifications' wait. seq breaks ties of `at` (the order the jobs were queued).
    Items are the caller's; the heap only orders them.
*/
#ifndef NOTIFYD_RETRYQ_H
#define NOTIFYD_RETRYQ_H

#include <stddef.h>
#include <stdint.h>

typedef struct notifyd_retryq notifyd_retryq_t;

notifyd_retryq_t *notifyd_retryq_new(void);
// Frees the heap, not its items (take them first with notifyd_retryq_pop_due(q, INT64_MAX)).
void notifyd_retryq_destroy(notifyd_retryq_t **self_p);

void notifyd_retryq_push(notifyd_retryq_t *self, int64_t at, uint64_t seq, void *item);
// The earliest item's at, INT64_MAX when empty.
int64_t notifyd_retryq_next_at(const notifyd_retryq_t *self);
// Remove and return the earliest item when its at <= now (*seq its seq), else NULL.
void *notifyd_retryq_pop_due(notifyd_retryq_t *self, int64_t now, uint64_t *seq);
size_t notifyd_retryq_size(const notifyd_retryq_t *self);

#endif
