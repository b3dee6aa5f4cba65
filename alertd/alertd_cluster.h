/*  alertd_cluster.h — high availability: alertd replicas that share their silences and
    notification log over ZeroMQ, as Alertmanager's cluster (memberlist gossip) does.

    Each replica binds one ROUTER at --cluster.listen-address and connects one DEALER to
    each --cluster.peer (one port per replica, as memberlist's one port). Everything a
    replica says goes out on its DEALERs; what it hears comes in on its ROUTER, except the
    answers to its own pulls, which come back on the DEALER that asked:

      - CLUSTER_GOSSIP: the silences and log entries this replica changed (never those it
        merged from peers: every replica talks to every other), every
        --cluster.gossip-interval; empty, as a heartbeat, every --cluster.probe-interval.
      - CLUSTER_SYNC: the full state, asking for the peer's (memberlist's push/pull): at
        start every probe interval until the peer answers, then every
        --cluster.pushpull-interval. Answered with CLUSTER_STATE on the same connection.

    The DEALERs are ZMQ_IMMEDIATE with a zero send timeout: while a peer is away nothing is
    queued for it (it pulls the full state when it comes back) and the loop never blocks.
    Merging is the callers' (alertd_silences_merge, alertd_nflog_merge: newest wins), so a
    message that arrives twice or late changes nothing.

    Members are the replicas heard from (any message names its sender); one not heard for
    5 probe intervals is down. A replica's name is --cluster.advertise-address (default:
    the listen address, a wildcard host replaced by the host name); its position is the
    number of live members whose names sort before it. Notifications wait position x
    --cluster.peer-timeout before the notification log is checked (Alertmanager's
    WaitStage), so the first replica notifies and the others find its log entry.

    Settling: after start the cluster is "settling" until every peer answered a pull, a
    peer that never accepted a connection counting as answered after 5 probe intervals,
    and at most --cluster.settle-timeout; alertd sends no notification before, so a
    restarted replica does not repeat what its peers sent while it was down.

    Threads: open, attach, _settled and the hooks run on the loop thread; _position, _wait
    and _status_json may be called from any thread (the members sit behind a mutex).
*/
#ifndef ALERTD_CLUSTER_H
#define ALERTD_CLUSTER_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_flags.h"
#include "fw_metrics.h"

struct alertd_cluster_opts {
    const char *listen;               // host:port (Alertmanager's form) or a ZeroMQ endpoint
    const char *advertise;            // this replica's name and address; NULL or "": derived
    const struct fw_flag_list *peers; // host:port or endpoints; each may be a comma list
    int64_t peer_timeout_ms;
    int64_t gossip_interval_ms;
    int64_t pushpull_interval_ms;
    int64_t probe_interval_ms;
    int64_t settle_timeout_ms;
    int64_t max_msg_size; // inbound limit per frame (--zmq.max-msg-size)
};

// What the cluster asks of alertd, on the loop thread. Each fills *silences and *nflog
// with new JSON arrays (gettable silences; mesh entries, alertd_nflog.h).
struct alertd_cluster_hooks {
    void (*full_state)(void *arg, json_t **silences, json_t **nflog);
    void (*changes)(void *arg, json_t **silences, json_t **nflog);
    // Merge what peer sent (borrowed arrays, not yet checked element by element).
    void (*merge)(void *arg, const char *peer, const json_t *silences, const json_t *nflog);
    void *arg;
};

typedef struct alertd_cluster alertd_cluster_t;

// opts (borrowed: must outlive the cluster) and metrics (borrowed, may be NULL).
alertd_cluster_t *alertd_cluster_new(const struct alertd_cluster_opts *opts, fw_metrics_t *metrics);
// Bind the ROUTER and connect a DEALER to each peer (this replica's own address skipped).
// 0, or -1 with err (an address that is no endpoint, a bind that fails).
int alertd_cluster_open(alertd_cluster_t *self, fw_err_t *err);
// Read the sockets and run the gossip and probe timers on loop (borrowed: destroy the loop
// before the cluster). hooks is copied.
void alertd_cluster_attach(alertd_cluster_t *self, zloop_t *loop,
                           const struct alertd_cluster_hooks *hooks);
void alertd_cluster_destroy(alertd_cluster_t **self_p);

// This replica's name ("host:port").
const char *alertd_cluster_name(const alertd_cluster_t *self);
// Live members whose names sort before this replica's.
int alertd_cluster_position(alertd_cluster_t *self, int64_t now);
// How long a notification waits before the log is checked: position x peer timeout.
int64_t alertd_cluster_wait(alertd_cluster_t *self, int64_t now);
// True once settled (see above); stays true. Loop thread only (it reads the peers).
bool alertd_cluster_settled(alertd_cluster_t *self, int64_t now);
// /api/v2/status's cluster: {"name", "status": "settling" or "ready", "peers": [{"name",
// "address"}]} (this replica and every live member). New reference.
json_t *alertd_cluster_status_json(alertd_cluster_t *self, int64_t now);

// Turn an Alertmanager-style "host:port" (":9094" binds every interface) into a ZeroMQ tcp
// endpoint; an endpoint ("tcp://...") is kept. Caller frees; NULL when addr is empty.
char *alertd_cluster_endpoint(const char *addr);

#endif
