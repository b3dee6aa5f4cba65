/*  alertd_outcome.h — notifyd's outcomes of alertd's notifications, made reliable.

    notifyd publishes each NOTIFY_RESULT until alertd acknowledges it (notifyd_results.h).
    alertd_outcome_on_fd records each result in the notification log (alertd_nflog_result)
    and commits it, fsync'd ALERTD_STATE_SYNC_DELAY_MS later by the state's syncer, off the
    loop. Only once that fsync is done does it acknowledge the result with a NOTIFY_ACK on the
    PUSH socket that carries the NOTIFYs (notifyd then forgets it, so an acknowledged outcome
    must survive a power loss): each result waits with the state generation its commit asked
    for (alertd_state_sync_later), and alertd_outcome_on_durable, woken by the state's
    durable_fd, sends those whose generation is durable, many ids in one NOTIFY_ACK (one
    fsync covers every result committed before it). Results for ids alertd has no record of
    (another replica's), and results whose commit failed or whose fsync fails, are not
    acknowledged: notifyd publishes them again (1 s, doubling to 60 s). Without
    --storage.path there is nothing to wait for: the results a read of the SUB took are
    acknowledged at its end. Acknowledgements still waiting when alertd stops are not sent
    (notifyd publishes those results again to the next alertd). alertd_outcome_ask, from the 1 Hz
   housekeeping, asks notifyd about the records still "sent" ALERTD_OUTCOME_ASK_AFTER_MS after they
   were made (or made before this alertd started): ALERTD_OUTCOME_ASK_FIRST_MS after start, then
   every ALERTD_OUTCOME_ASK_AFTER_MS, doubling up to ALERTD_OUTCOME_ASK_MAX_MS while no result
    arrives between two asks (so a notifyd that is away does not fill the PUSH queue).
    docs/wire.md (NOTIFY_ACK) has the protocol.
*/
#ifndef ALERTD_OUTCOME_H
#define ALERTD_OUTCOME_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "alertd.h"

#define ALERTD_OUTCOME_ASK_FIRST_MS 1000
#define ALERTD_OUTCOME_ASK_AFTER_MS 5000
#define ALERTD_OUTCOME_ASK_MAX_MS 300000
// Most ids one NOTIFY_ACK asks about, or acknowledges.
#define ALERTD_OUTCOME_ASK_MAX_IDS 1000
// Most acknowledgements waiting for their fsync (notifyd's NOTIFYD_RESULTS_MAX): past it the
// oldest is dropped and notifyd publishes its result again.
#define ALERTD_OUTCOME_ACKS_MAX 100000

// zloop poller of the SUB socket on notifyd's PUB by its ZMQ_FD (fw_zfd.h; arg: the
// alertd_t): reads every NOTIFY_RESULT waiting (the socket's rcvtimeo is 0) until a read
// finds none, then sends the acknowledgements already durable (see above).
int alertd_outcome_on_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg);
// zloop poller of the state's durable_fd (arg: the alertd_t): resets it, sends the
// acknowledgements whose generation is durable, and asks the state to ring again for the
// first one left.
int alertd_outcome_on_durable(zloop_t *loop, zmq_pollitem_t *item, void *arg);
// Register both pollers in self->loop (durable_fd's only with a state). 0, or -1.
int alertd_outcome_attach(alertd_t *self);
// Acknowledgements waiting for their fsync (for the tests).
size_t alertd_outcome_waiting(const alertd_t *self);
// Free the acknowledgements still waiting, unsent (alertd_destroy).
void alertd_outcome_clear(alertd_t *self);
// Ask notifyd about unanswered notifications when it is time (see above).
void alertd_outcome_ask(alertd_t *self, int64_t now);

#endif
