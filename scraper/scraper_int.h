/*  scraper_int.h — private to the scraper daemon class: its struct and the functions its
    files share.

    Only scraper.c (the loop: scheduling, finished scrapes, sending, housekeeping, the class's
    life) and scraper_targets.c (the target list: building it from the config and
    discovery, swapping it on a reload or a discovery change) include this header; the rest
    of the scraper uses scraper.h, where scraper_t is opaque. The functions here are named
    scraper_int_*; each file keeps its own s_* statics. All run on the loop's thread; `mu`
    guards what the HTTP thread reads (scraper.c's opening comment).
*/
#ifndef SCRAPER_INT_H
#define SCRAPER_INT_H

#include <czmq.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_http.h"
#include "fw_metrics.h"
#include "fw_promcfg.h"
#include "fw_sender.h"
#include "fw_zsock.h"
#include "scraper.h"
#include "scraper_exemplars.h"
#include "scraper_fetch.h"
#include "scraper_sd.h"
#include "scraper_shard.h"
#include "scraper_target.h"
#include "scraper_work.h"

struct scraper {
    const struct scraper_opts *opts; // borrowed
    struct fw_promcfg cfg;           // owned
    scraper_sd_t *sd;                // owned: the discovery of cfg's SD configs
    zloop_t *loop;                   // owned
    fw_sender_t *sender;             // owned: SAMPLES to tsdb, acknowledged
    zsock_t *pub;                    // owned: XPUB, SAMPLES and EXEMPLARS to taps
    struct fw_zsock_topics topics;   // owned: what the taps subscribed to
    bool pub_used;                   // published in this round: its ZMQ_FD may not signal (s_pub)
    zmq_pollitem_t fetch_item;       // the fetch actor's pipe, polled by its ZMQ_FD (s_loop_*)
    zmq_pollitem_t pub_item;         // pub, polled by its ZMQ_FD
    zsock_t *pipe;                   // borrowed during scraper_run: an actor's pipe, or NULL
    zmq_pollitem_t pipe_item;        // pipe, polled by its ZMQ_FD
    uint64_t fetch_wakes_seen;       // the fetch actor's WAKEs sent when its pipe was last empty
    uint64_t loop_checks;            // ZMQ_EVENTS asked of the loop's sockets (s_loop_*)
    scraper_fetch_t *fetch;          // owned
    fw_metrics_t *metrics;           // owned
    fw_http_t *http;                 // owned
    scraper_work_t *work;            // owned: the scrapes' CPU work (scraper_work.h)
    scraper_work_lane_t *lane;       // owned: small scrapes' work, on the fetch actor's thread
    scraper_exemplars_t *exemplars;  // owned: a scrape's exemplars, to tsdb on their own DEALER
    uint64_t cfg_gen;                // generation of cfg, for the workers' caches
    size_t cfg_jobs;                 // jobs out with this generation's relabel rules
    struct scraper_retired *retired; // owned: older configs that jobs out still use
    size_t n_retired;
    struct scraper_target **zombies; // owned: removed targets whose scrape a worker holds
    size_t n_zombies, cap_zombies;
    struct scraper_lset lset;        // owned scratch
    pthread_mutex_t mu;              // guards targets (the array) and their health fields
    struct scraper_target **targets; // owned
    size_t n_targets, cap_targets;
    struct scraper_target_drops drops; // owned, under mu: what relabel_configs dropped
    size_t n_other_shards;             // under mu: targets left to the other shards
    uint64_t next_fetch_id;
    uint64_t *cancels; // owned: the scrapes to cancel, sent in one batch (scraper_int_cancel_flush)
    size_t n_cancels, cap_cancels;
    struct scraper_slot *slots; // owned: the start slots with scrapes out (s_slot_add)
    size_t n_slots, cap_slots;
    bool slot_ended; // a slot's last scrape came back: its batches go (s_send_held)
};

// A start slot: the scrapes due at one monotonic millisecond (scraper_int_target_start puts the
// targets of an interval and slot offset on one grid, so they share it), and how many of them are
// out. A slot's batches wait until its last scrape is back and go together, so libzmq's I/O
// thread wakes once a slot, not once for each read of finished scrapes; a slow scrape holds
// the others' batches at most until the sender's tick (S_SENDER_TICK_MS) or the end of any
// other slot, and the sender sends at once past a quarter of its buffer (fw_sender.h hold).
// A handful of slots are out at a time (each interval's next few), so a linear search.
struct scraper_slot {
    int64_t due;
    size_t out;
};

struct scraper_retired {
    struct fw_promcfg cfg; // owned
    uint64_t gen;
    size_t jobs; // jobs out that borrow its rules
};

// --- scraper.c ---

// Queue the cancel of scheduled scrape id (the batch goes with scraper_int_cancel_flush).
void scraper_int_cancel_add(scraper_t *self, uint64_t id);
// Hand the queued cancels to the fetch actor in one batch: one wake-up of it.
void scraper_int_cancel_flush(scraper_t *self);
// Schedule t's first scrape on its slot's grid; t becomes self's.
void scraper_int_target_start(scraper_t *self, struct scraper_target *t);
// Send stale markers for everything t (no scrape out) exposed.
void scraper_int_target_retire(scraper_t *self, struct scraper_target *t);

// --- scraper_targets.c ---

// Every target of cfg: its static_configs, then what sd (may be NULL) discovered for it;
// those relabel_configs dropped go to *drops (moved out, with every job's count). Only the
// targets of shard are kept; *other counts the rest. Each job's time goes to m's
// prometheus_target_sync_length_seconds{scrape_job}.
void scraper_int_build_targets(fw_metrics_t *m, const struct fw_promcfg *cfg, scraper_sd_t *sd,
                               const struct scraper_shard *shard, struct scraper_target ***out,
                               size_t *n_out, struct scraper_target_drops *drops, size_t *other);
// Discovery changed: rebuild the targets of the current config.
void scraper_int_sync_discovered(scraper_t *self);
// fw_daemon's reload step (arg is self): load the config file again, restart discovery and
// swap the targets; -1 with errmsg filled, the running config kept, when it does not load.
int scraper_int_reload(void *arg, char *errmsg, size_t size);

#endif
