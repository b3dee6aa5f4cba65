/*  notifyd_results.c — outcomes kept in a zlistx in the order they were made (so the
    oldest go first past NOTIFYD_RESULTS_MAX), indexed by id in a zhashx.
*/
#include <czmq.h>
#include <string.h>

#include "fw_mem.h"
#include "notifyd_results.h"

struct s_res {
    json_t *body;     // owned: the NOTIFY_RESULT body
    const char *id;   // borrowed from body
    int64_t made_at;  // when it was made, or asked for again
    int64_t next_at;  // its next re-publication (unacknowledged)
    int64_t backoff;  // the interval after next_at
    int64_t acked_at; // when alertd acknowledged it, 0: not yet
    void *handle;     // its place in the list
};

struct notifyd_results {
    zlistx_t *order; // owned: struct s_res *, oldest first
    zhashx_t *by_id; // id -> struct s_res * (borrowed from order)
    size_t unacked;
};

static void
s_res_free(void **item)
{
    struct s_res *r = *item;
    if (r) {
        json_decref(r->body);
        free(r);
    }
    *item = NULL;
}

notifyd_results_t *
notifyd_results_new(void)
{
    notifyd_results_t *self = fw_calloc(1, sizeof *self);
    self->order = zlistx_new();
    zlistx_set_destructor(self->order, s_res_free);
    self->by_id = zhashx_new();
    return self;
}

void
notifyd_results_destroy(notifyd_results_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->by_id);
    zlistx_destroy(&(*self_p)->order);
    free(*self_p);
    *self_p = NULL;
}

static void
s_forget(notifyd_results_t *self, struct s_res *r)
{
    if (!r->acked_at)
        self->unacked--;
    zhashx_delete(self->by_id, r->id);
    zlistx_delete(self->order, r->handle);
}

void
notifyd_results_add(notifyd_results_t *self, json_t *body, int64_t now)
{
    const char *id = json_string_value(json_object_get(body, "id"));
    if (!id) {
        json_decref(body);
        return;
    }
    struct s_res *old = zhashx_lookup(self->by_id, id);
    if (old)
        s_forget(self, old);
    struct s_res *r = fw_calloc(1, sizeof *r);
    r->body = body;
    r->id = id;
    r->made_at = now;
    r->next_at = now + NOTIFYD_RESULTS_RESEND_MS;
    r->backoff = NOTIFYD_RESULTS_RESEND_MS;
    r->handle = zlistx_add_end(self->order, r);
    zhashx_insert(self->by_id, id, r);
    self->unacked++;
    while (zlistx_size(self->order) > NOTIFYD_RESULTS_MAX)
        s_forget(self, zlistx_first(self->order));
}

const json_t *
notifyd_results_get(notifyd_results_t *self, const char *id)
{
    struct s_res *r = zhashx_lookup(self->by_id, id);
    return r ? r->body : NULL;
}

int
notifyd_results_ack(notifyd_results_t *self, const char *id, int64_t now)
{
    struct s_res *r = zhashx_lookup(self->by_id, id);
    if (!r)
        return -1;
    if (!r->acked_at)
        self->unacked--;
    r->acked_at = now > 0 ? now : 1;
    return 0;
}

int
notifyd_results_unack(notifyd_results_t *self, const char *id, int64_t now)
{
    struct s_res *r = zhashx_lookup(self->by_id, id);
    if (!r)
        return -1;
    if (r->acked_at)
        self->unacked++;
    r->acked_at = 0;
    r->made_at = now;
    r->next_at = now + NOTIFYD_RESULTS_RESEND_MS;
    r->backoff = NOTIFYD_RESULTS_RESEND_MS;
    return 0;
}

size_t
notifyd_results_due(notifyd_results_t *self, int64_t now,
                    void (*send)(void *arg, const json_t *body), void *arg, size_t *expired)
{
    size_t sent = 0, gone = 0;
    struct s_res *r = zlistx_first(self->order);
    while (r) {
        struct s_res *next = zlistx_next(self->order);
        if (r->acked_at ? now - r->acked_at >= NOTIFYD_RESULTS_KEEP_ACKED_MS
                        : now - r->made_at >= NOTIFYD_RESULTS_KEEP_MS) {
            gone += r->acked_at ? 0 : 1;
            s_forget(self, r);
        } else if (!r->acked_at && r->next_at <= now && sent < NOTIFYD_RESULTS_BURST) {
            send(arg, r->body);
            sent++;
            r->backoff = r->backoff * 2 > NOTIFYD_RESULTS_RESEND_MAX_MS
                             ? NOTIFYD_RESULTS_RESEND_MAX_MS
                             : r->backoff * 2;
            r->next_at = now + r->backoff;
        }
        r = next;
    }
    if (expired)
        *expired = gone;
    return sent;
}

size_t
notifyd_results_size(notifyd_results_t *self)
{
    return zlistx_size(self->order);
}

size_t
notifyd_results_unacked(notifyd_results_t *self)
{
    return self->unacked;
}
