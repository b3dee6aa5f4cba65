/*  notifyd_retryq.c — notifyd_retryq.h: a binary min-heap on (at, seq). */
#include "notifyd_retryq.h"

#include <stdbool.h>
#include <stdlib.h>

#include "fw_mem.h"

struct s_slot {
    int64_t at;
    uint64_t seq;
    void *item;
};

struct notifyd_retryq {
    struct s_slot *v; // owned, cap slots, len used
    size_t len, cap;
};

notifyd_retryq_t *
notifyd_retryq_new(void)
{
    return fw_calloc(1, sizeof(notifyd_retryq_t));
}

void
notifyd_retryq_destroy(notifyd_retryq_t **self_p)
{
    if (!*self_p)
        return;
    free((*self_p)->v);
    free(*self_p);
    *self_p = NULL;
}

static bool
s_before(const struct s_slot *a, const struct s_slot *b)
{
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void
notifyd_retryq_push(notifyd_retryq_t *self, int64_t at, uint64_t seq, void *item)
{
    if (self->len == self->cap)
        fw_mem_grow((void **)&self->v, &self->cap, self->len + 1, sizeof *self->v);
    size_t i = self->len++;
    struct s_slot s = {at, seq, item};
    while (i > 0) { // sift up
        size_t up = (i - 1) / 2;
        if (!s_before(&s, &self->v[up]))
            break;
        self->v[i] = self->v[up];
        i = up;
    }
    self->v[i] = s;
}

int64_t
notifyd_retryq_next_at(const notifyd_retryq_t *self)
{
    return self->len ? self->v[0].at : INT64_MAX;
}

void *
notifyd_retryq_pop_due(notifyd_retryq_t *self, int64_t now, uint64_t *seq)
{
    if (!self->len || self->v[0].at > now)
        return NULL;
    struct s_slot top = self->v[0], last = self->v[--self->len];
    size_t i = 0, n = self->len;
    for (;;) { // sift the last slot down from the root
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && s_before(&self->v[c + 1], &self->v[c]))
            c++;
        if (!s_before(&self->v[c], &last))
            break;
        self->v[i] = self->v[c];
        i = c;
    }
    if (n)
        self->v[i] = last;
    if (seq)
        *seq = top.seq;
    return top.item;
}

size_t
notifyd_retryq_size(const notifyd_retryq_t *self)
{
    return self->len;
}
