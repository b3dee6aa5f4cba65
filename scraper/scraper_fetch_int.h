/*  scraper_fetch_int.h — private to the fetch actor: what scraper_fetch.c (the owner's side:
    queueing requests and cancels, reading answers) and scraper_fetch_actor.c (the actor's
    thread: the libcurl multi, the schedule, the transfers) share. Nothing else includes it;
    the rest of the scraper uses scraper_fetch.h.
*/
#ifndef SCRAPER_FETCH_INT_H
#define SCRAPER_FETCH_INT_H

#include <czmq.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_promcfg_http.h"
#include "scraper_fetch.h"

// A request's settings, copied on the owner's thread and freed by the actor.
struct scraper_fetch_req {
    uint64_t id;
    char *url;   // owned
    int64_t due; // monotonic ms: start it then (or at once when past)
    int64_t timeout_ms;
    int64_t body_size_limit;
    bool enable_compression;
    char escaping[16]; // Accept's escaping= value, "" for none
    bool has_http;
    struct fw_http_client_config http; // owned copy
    char *error;                       // owned, or NULL: answer this at once
    uint64_t after_seq;                // skipped when due unless settled >= it (0: never)
    void *job;                         // opaque
};

// What the owner and the actor share: the requests and cancels not yet taken by the actor.
struct scraper_fetch_shared {
    pthread_mutex_t mu;
    struct scraper_fetch_req **queue; // owned: scheduled, not yet in the actor's heap
    size_t n_queue, cap_queue;
    uint64_t *cancels; // ids to cancel
    size_t n_cancels, cap_cancels;
    bool cancel_woken;     // a WAKE for the queued cancels was sent and they are not yet taken
    int64_t wake_mono;     // the actor looks at the queue again by then at the latest
    uint64_t wakes;        // WAKE messages the owner sent
    uint64_t wakes_cancel; // of which for cancels
    uint64_t polls;        // the actor's poll() calls (atomic: written by the actor)
    uint64_t setups;       // handles the actor set up from scratch (atomic, likewise)
    uint64_t settled;      // scraper_fetch_set_settled (atomic: written by the owner)
    scraper_fetch_round_fn *round; // or NULL: called at the end of each round
    void *round_arg;
};

// What the actor is started with (copied before it signals).
struct scraper_fetch_args {
    scraper_fetch_handoff_fn *handoff;
    void *arg;
    struct scraper_fetch_shared *share;
};

// Free *req_p (NULL ok) and set it to NULL.
void scraper_fetch_req_free(struct scraper_fetch_req **req_p);
// The actor's body (zactor_fn; args: a struct scraper_fetch_args).
void scraper_fetch_actor_run(zsock_t *pipe, void *args);

#endif
