/*  scraper_fetch.c — the HTTP fetch actor's owner side: starting and stopping it, queueing
    requests and cancels for it, reading its answers. The actor's thread is in
    scraper_fetch_actor.c.

    Requests do not travel on the pipe: the owner's thread appends a heap copy of each
    request's settings (struct scraper_fetch_req, with its due time) to a queue under a
    mutex, and the actor moves the queue into its own min-heap by due time each time round
    its loop, before it polls. The actor publishes (under the same mutex) when it will next
    look at the queue at the latest; the owner sends a "WAKE" on the pipe only when a
    request is due earlier than that. A target scraped every interval is thus queued about
    one interval ahead, when its previous scrape ends, and the actor, woken anyway by other
    transfers or by its own deadline, starts it on time: neither the owner nor the actor is
    woken per scrape just to start it. Cancels go through the same queue: the owner wakes
    the actor only when the queue held no cancel it had not already woken it for, so a
    batch of cancels (a reload dropping 10,000 targets) costs one WAKE, not one each. The
    actor takes every cancel queued at once (swapping the array), sorts the ids and answers
    each request of its heap that is among them on the pipe, cancelled, in one pass over
    the heap. "$TERM" ends the actor, dropping what is in flight and scheduled; the requests
    left are freed with the actor.
*/
#include "scraper_fetch.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_time.h"
#include "scraper_fetch_int.h"

struct scraper_fetch {
    zactor_t *actor;                   // owned
    struct scraper_fetch_shared share; // the actor borrows it (args) until $TERM
};

void
scraper_fetch_req_free(struct scraper_fetch_req **req_p)
{
    struct scraper_fetch_req *req = *req_p;
    if (!req)
        return;
    fw_promcfg_http_free(&req->http);
    free(req->error);
    free(req->url);
    free(req);
    *req_p = NULL;
}

scraper_fetch_t *
scraper_fetch_new(scraper_fetch_handoff_fn *handoff, void *arg)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    scraper_fetch_t *self = fw_calloc(1, sizeof(*self));
    pthread_mutex_init(&self->share.mu, NULL);
    self->share.wake_mono = INT64_MAX;
    struct scraper_fetch_args a = {handoff, arg, &self->share}; // copied before zactor_new returns
    self->actor = fw_thread_actor_new(scraper_fetch_actor_run, &a);
    if (!self->actor)
        scraper_fetch_destroy(&self);
    return self;
}

void
scraper_fetch_destroy(scraper_fetch_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_fetch_t *self = *self_p;
    zactor_destroy(&self->actor);
    for (size_t i = 0; i < self->share.n_queue; i++)
        scraper_fetch_req_free(&self->share.queue[i]);
    free(self->share.queue);
    free(self->share.cancels);
    pthread_mutex_destroy(&self->share.mu);
    free(self);
    *self_p = NULL;
    curl_global_cleanup();
}

zsock_t *
scraper_fetch_sock(scraper_fetch_t *self)
{
    return zactor_sock(self->actor);
}

// Wake the actor (the owner's thread only: the pipe is not thread-safe).
static int
s_wake(scraper_fetch_t *self)
{
    self->share.wakes++;
    return zstr_send(self->actor, "WAKE");
}

int
scraper_fetch_schedule(scraper_fetch_t *self, uint64_t id, const char *url,
                       const struct scraper_fetch_opts *o, int64_t due_mono)
{
    struct scraper_fetch_req *req = fw_calloc(1, sizeof(*req));
    req->id = id;
    req->url = fw_strdup(url);
    req->due = due_mono;
    req->timeout_ms = o->timeout_ms;
    req->body_size_limit = o->body_size_limit;
    req->enable_compression = o->enable_compression;
    snprintf(req->escaping, sizeof(req->escaping), "%s", o->escaping ? o->escaping : "");
    req->error = o->error ? fw_strdup(o->error) : NULL;
    req->job = o->job;
    req->after_seq = o->after_seq;
    if (o->http) {
        req->has_http = true;
        fw_promcfg_http_copy(&req->http, o->http);
    }
    struct scraper_fetch_shared *sh = &self->share;
    pthread_mutex_lock(&sh->mu);
    fw_mem_grow((void **)&sh->queue, &sh->cap_queue, sh->n_queue + 1, sizeof(*sh->queue));
    sh->queue[sh->n_queue++] = req; // the actor takes req over
    bool wake = due_mono < sh->wake_mono;
    if (wake)
        sh->wake_mono = due_mono; // later requests before it need no second WAKE
    pthread_mutex_unlock(&sh->mu);
    if (wake)
        (void)s_wake(self); // on failure the actor's own deadline takes it, a second late
    return 0;
}

int
scraper_fetch_start(scraper_fetch_t *self, uint64_t id, const char *url,
                    const struct scraper_fetch_opts *o)
{
    return scraper_fetch_schedule(self, id, url, o, fw_time_mono_ms());
}

int
scraper_fetch_cancel_n(scraper_fetch_t *self, const uint64_t *ids, size_t n)
{
    if (n == 0)
        return 0;
    struct scraper_fetch_shared *sh = &self->share;
    pthread_mutex_lock(&sh->mu);
    fw_mem_grow((void **)&sh->cancels, &sh->cap_cancels, sh->n_cancels + n, sizeof(*sh->cancels));
    memcpy(sh->cancels + sh->n_cancels, ids, n * sizeof(*ids));
    sh->n_cancels += n;
    sh->wake_mono = INT64_MIN;     // the actor sets it again when it has taken the cancels
    bool wake = !sh->cancel_woken; // else a WAKE is on its way and the actor takes these too
    sh->cancel_woken = true;
    if (wake)
        sh->wakes_cancel++;
    pthread_mutex_unlock(&sh->mu);
    return wake ? s_wake(self) : 0;
}

int
scraper_fetch_cancel(scraper_fetch_t *self, uint64_t id)
{
    return scraper_fetch_cancel_n(self, &id, 1);
}

void
scraper_fetch_on_round(scraper_fetch_t *self, scraper_fetch_round_fn *fn, void *arg)
{
    pthread_mutex_lock(&self->share.mu);
    self->share.round = fn;
    self->share.round_arg = arg;
    pthread_mutex_unlock(&self->share.mu);
}

uint64_t
scraper_fetch_polls(const scraper_fetch_t *self)
{
    return __atomic_load_n(&self->share.polls, __ATOMIC_RELAXED);
}

uint64_t
scraper_fetch_setups(const scraper_fetch_t *self)
{
    return __atomic_load_n(&self->share.setups, __ATOMIC_RELAXED);
}

void
scraper_fetch_set_settled(scraper_fetch_t *self, uint64_t settled)
{
    __atomic_store_n(&self->share.settled, settled, __ATOMIC_RELEASE);
}

uint64_t
scraper_fetch_wakes(const scraper_fetch_t *self)
{
    return self->share.wakes;
}

uint64_t
scraper_fetch_wakes_cancel(scraper_fetch_t *self)
{
    pthread_mutex_lock(&self->share.mu);
    uint64_t n = self->share.wakes_cancel;
    pthread_mutex_unlock(&self->share.mu);
    return n;
}

int
scraper_fetch_recv(scraper_fetch_t *self, struct scraper_fetch_result *out)
{
    memset(out, 0, sizeof(*out));
    zmsg_t *m = zmsg_recv(self->actor);
    if (!m)
        return -1;
    int rc = -1;
    char *cmd = zmsg_popstr(m);
    if (!cmd || strcmp(cmd, "DONE") != 0 || zmsg_size(m) != 9)
        goto out;
    zframe_t *idf = zmsg_pop(m);
    if (zframe_size(idf) == sizeof(out->id))
        memcpy(&out->id, zframe_data(idf), sizeof(out->id));
    zframe_destroy(&idf);
    char *error = zmsg_popstr(m);
    if (error && *error)
        out->error = error;
    else
        zstr_free(&error);
    out->content_type = zmsg_popstr(m);
    char *dur = zmsg_popstr(m);
    out->duration_s = dur ? strtod(dur, NULL) : 0;
    zstr_free(&dur);
    out->body = zmsg_pop(m);
    zframe_t *f = zmsg_pop(m);
    if (zframe_size(f) == sizeof(out->job))
        memcpy(&out->job, zframe_data(f), sizeof(out->job));
    zframe_destroy(&f);
    f = zmsg_pop(m);
    if (zframe_size(f) == sizeof(out->start_ms))
        memcpy(&out->start_ms, zframe_data(f), sizeof(out->start_ms));
    zframe_destroy(&f);
    f = zmsg_pop(m);
    if (zframe_size(f) == sizeof(out->cancelled))
        memcpy(&out->cancelled, zframe_data(f), sizeof(out->cancelled));
    zframe_destroy(&f);
    f = zmsg_pop(m);
    if (zframe_size(f) == sizeof(out->skipped))
        memcpy(&out->skipped, zframe_data(f), sizeof(out->skipped));
    zframe_destroy(&f);
    rc = 0;
out:
    zstr_free(&cmd);
    zmsg_destroy(&m);
    return rc;
}

void
scraper_fetch_result_clear(struct scraper_fetch_result *r)
{
    zstr_free(&r->error);
    zstr_free(&r->content_type);
    zframe_destroy(&r->body);
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

void
scraper_fetch_result_keep(struct scraper_fetch_result *r)
{
    if (!r->body && !r->buf) {
        if (r->lender && r->data && *r->lender == r->data) { // the actor's: taken over
            r->buf = *r->lender;
            *r->lender = NULL;
            r->lender = NULL;
            return;
        }
        r->body = zframe_new(r->data, r->data ? r->len : 0);
    }
    if (!r->buf) {
        r->data = NULL;
        r->len = 0;
    }
    r->lender = NULL;
}

void
scraper_fetch_result_drop_body(struct scraper_fetch_result *r)
{
    zframe_destroy(&r->body);
    free(r->buf);
    r->buf = NULL;
    r->data = NULL;
    r->len = 0;
    r->lender = NULL;
}

const char *
scraper_fetch_result_body(const struct scraper_fetch_result *r, size_t *len)
{
    if (r->body) {
        *len = zframe_size(r->body);
        return (const char *)zframe_data(r->body);
    }
    *len = r->data ? r->len : 0;
    return r->data ? r->data : "";
}
