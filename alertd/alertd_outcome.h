/*  alertd_outcome.h — notifyd's outcomes of alertd's notifications, made reliable.

    notifyd publishes each NOTIFY_RESULT until alertd acknowledges it (notifyd_results.h).
    alertd_outcome_on_fd records each result in the notification log (alertd_nflog_result),
    commits it (fsync'd ALERTD_STATE_SYNC_DELAY_MS later by the state's syncer, off the
    loop), and then acknowledges it with a NOTIFY_ACK on the PUSH socket that carries
    the NOTIFYs; results for ids alertd has no record of (another replica's) are not
    acknowledged. alertd_outcome_ask, from the 1 Hz housekeeping, asks notifyd about the
    records still "sent" ALERTD_OUTCOME_ASK_AFTER_MS after they were made (or made before
    this alertd started): ALERTD_OUTCOME_ASK_FIRST_MS after start, then every
    ALERTD_OUTCOME_ASK_AFTER_MS, doubling up to ALERTD_OUTCOME_ASK_MAX_MS while no result
    arrives between two asks (so a notifyd that is away does not fill the PUSH queue).
    docs/wire.md (NOTIFY_ACK) has the protocol.
*/
#ifndef ALERTD_OUTCOME_H
#define ALERTD_OUTCOME_H

#include <czmq.h>
#include <stdint.h>

#include "alertd.h"

#define ALERTD_OUTCOME_ASK_FIRST_MS 1000
#define ALERTD_OUTCOME_ASK_AFTER_MS 5000
#define ALERTD_OUTCOME_ASK_MAX_MS 300000
// Most ids one NOTIFY_ACK asks about.
#define ALERTD_OUTCOME_ASK_MAX_IDS 1000

// zloop poller of the SUB socket on notifyd's PUB by its ZMQ_FD (fw_zfd.h; arg: the
// alertd_t): reads every NOTIFY_RESULT waiting (the socket's rcvtimeo is 0) until a read
// finds none.
int alertd_outcome_on_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg);
// Ask notifyd about unanswered notifications when it is time (see above).
void alertd_outcome_ask(alertd_t *self, int64_t now);

#endif
