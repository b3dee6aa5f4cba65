/*  alertd_int.h — the alertd daemon's insides, shared by alertd.c and the API handlers
    (alertd_api.c, alertd_api_silences.c). Not for other modules.
*/
#ifndef ALERTD_INT_H
#define ALERTD_INT_H

#include <czmq.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "alertd.h"
#include "alertd_cluster.h"
#include "alertd_dispatch.h"
#include "alertd_inhibit.h"
#include "alertd_json.h"
#include "alertd_nflog.h"
#include "alertd_route.h"
#include "alertd_silence.h"
#include "alertd_state.h"
#include "alertd_store.h"
#include "fw_http.h"
#include "fw_metrics.h"
#include "fw_zsock.h"

struct alertd {
    const struct alertd_opts *opts; // borrowed
    pthread_mutex_t lock;           // guards cfg, tree, store, dispatch, silences
    struct alertd_cfg *cfg;         // owned
    struct alertd_route *tree;      // owned
    alertd_store_t *store;          // owned
    alertd_dispatch_t *dispatch;    // owned
    alertd_silences_t *silences;    // owned
    alertd_inhibit_t *inhibit;      // owned
    uint64_t generation;            // bumped when alerts leave the store, on load and reload
    uint64_t inhibit_generation;    // generation the inhibit index was built at
    zsock_t *pull, *push, *pub;     // owned (pub is an XPUB: taps' subscriptions in pub_topics)
    struct fw_zsock_topics pub_topics;
    zsock_t *notifyd_sub;           // owned: NOTIFY_RESULT from notifyd's PUB
    zmq_pollitem_t pull_item;       // the PULL's ZMQ_FD as the loop polls it (fw_zfd)
    zmq_pollitem_t sub_item;        // notifyd_sub's, likewise
    int alerts_more;                // the zero timer back for a full drain's rest, -1: none
    struct alertd_json_views views; // owned: ALERTS read in one loop turn (kept for reuse)
    int64_t ask_at;                 // when to ask notifyd about unanswered NOTIFYs next
    int64_t ask_interval;           // the interval after that ask (alertd_outcome.h)
    bool answered;                  // a NOTIFY_RESULT arrived since the last ask
    int64_t start_ms;               // when alertd started (notification ids)
    uint64_t notify_seq;            // the last notification id's sequence
    fw_zsock_guard_t *pull_guard;   // owned: counts oversized messages
    int wake_fd;                    // owned eventfd, -1: none: HTTP threads wake the loop
    zloop_t *loop;                  // owned
    pthread_t loop_thread;          // the thread in alertd_run, while loop_running; lock
    bool loop_running;              // lock
    bool commit_pending;            // alerts stored on the loop, committed by its flush; lock
    int flush_fd;                   // timerfd (wall clock) of the next flush, -1: none
    int64_t flush_at;               // when it fires (INT64_MAX: none); under lock
    zlist_t *unlogged;              // sent, not yet in the notification log; under lock
    int log_timer;                  // the one-shot timer that logs them, -1: none (loop)
    fw_metrics_t *metrics;          // owned
    fw_http_t *http;                // owned
    int64_t started_ms;
    alertd_state_t *state;   // owned: NULL when not persisting
    alertd_nflog_t *nflog;   // owned
    bool state_unsynced;     // alerts committed without fsync since the last sync
    uint64_t silences_saved; // alertd_silences_version() of the last successful save

    alertd_cluster_t *cluster; // owned: NULL without --cluster.listen-address

    // Outcomes recorded and waiting for their fsync to be acknowledged (alertd_outcome.c;
    // loop only): acks_n of them from acks_head, in an array of acks_cap.
    struct alertd_outcome_ack *acks; // owned
    size_t acks_head, acks_n, acks_cap;
};

// Rebuild the inhibit index when the store changed or a second passed (alerts resolve by
// the clock). Lock held.
void alertd_refresh_inhibit_locked(alertd_t *self, int64_t now);
// Parse and ingest an array of postable alerts (takes the lock); the valid ones are kept.
// Returns how many were rejected; their reasons go into *reasons (may be NULL; caller frees).
size_t alertd_ingest_array(alertd_t *self, const json_t *arr, const char *source, char **reasons);
// Ingest a POST body (len bytes) when it is in alertd_json's plain form, every alert valid
// (takes the lock): true. False, with nothing ingested, for anything else: the caller then
// takes alertd_ingest_array, which accepts or rejects it as before. on_loop: called on the
// loop thread, whose views (self->views) it then reads into and keeps for reuse.
bool alertd_ingest_text(alertd_t *self, const char *text, size_t len, bool on_loop);
// Commit the open state batch (safe from a killed alertd); with sync, have it fsync'd soon
// off the loop (alertd_state_sync_later), else with the next second's sync. A failure is
// logged and counted, and alertd carries on from memory (a page is better sent twice than
// not at all): -1, else 0. Lock held.
int alertd_commit_locked(alertd_t *self, bool sync);
// Record the notifications sent and not yet logged in the notification log, in the open
// state batch (begun here when none is; the caller commits). Lock held.
void alertd_log_sent_locked(alertd_t *self);
// Flush the groups due now into NOTIFY messages and arm the timer for the next one due.
// Loop thread only (it sends on the loop's sockets); takes the lock.
void alertd_flush(alertd_t *self);
// Write the silences when they changed, fsync'd. Lock held.
void alertd_save_silences_locked(alertd_t *self);

#endif
