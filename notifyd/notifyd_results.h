/*  notifyd_results.h — the outcomes of finished NOTIFYs, kept until alertd acknowledges them.

    NOTIFY_RESULT travels over PUB/SUB, which drops what is sent while alertd is down or not
    yet subscribed. So notifyd keeps each outcome (a NOTIFY_RESULT body) and re-publishes it
    until alertd answers NOTIFY_ACK with its id: the first time NOTIFYD_RESULTS_RESEND_MS
    after it was made, then at doubling intervals up to NOTIFYD_RESULTS_RESEND_MAX_MS.
    Acknowledged outcomes are kept NOTIFYD_RESULTS_KEEP_ACKED_MS more, so a NOTIFY sent again
    with the same id is not delivered twice and a question about it (NOTIFY_ACK's
    `unanswered`) still gets the true answer; unacknowledged ones are kept
    NOTIFYD_RESULTS_KEEP_MS. At most NOTIFYD_RESULTS_MAX are held (the oldest go first). With
    notifyd_results_open every change is also committed to LMDB (no fsync: a killed notifyd
    loses nothing, a power loss the last moments) before the caller publishes, and a
    restarted notifyd answers with the outcomes it made before. Not thread-safe: notifyd's
    loop owns it.
*/
#ifndef NOTIFYD_RESULTS_H
#define NOTIFYD_RESULTS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"

#define NOTIFYD_RESULTS_RESEND_MS 1000
#define NOTIFYD_RESULTS_RESEND_MAX_MS 60000
#define NOTIFYD_RESULTS_KEEP_MS (24 * 3600 * 1000LL)
#define NOTIFYD_RESULTS_KEEP_ACKED_MS (3600 * 1000LL)
#define NOTIFYD_RESULTS_MAX 100000
// Most outcomes re-published by one notifyd_results_due call.
#define NOTIFYD_RESULTS_BURST 1000

typedef struct notifyd_results notifyd_results_t;

notifyd_results_t *notifyd_results_new(void);
// Keep the outcomes in an LMDB environment under dir (made when missing) from now on, after
// reading back those kept there (unacknowledged ones are re-published from
// NOTIFYD_RESULTS_RESEND_MS after now). 0, or -1 with err.
int notifyd_results_open(notifyd_results_t *self, const char *dir, int64_t now, fw_err_t *err);
void notifyd_results_destroy(notifyd_results_t **self_p);

// Keep body (taken: a NOTIFY_RESULT body, its "id" a string), made at now and just
// published, unacknowledged. An outcome already kept under that id is replaced.
void notifyd_results_add(notifyd_results_t *self, json_t *body, int64_t now);
// The outcome kept for id (borrowed), or NULL.
const json_t *notifyd_results_get(notifyd_results_t *self, const char *id);
// alertd recorded id's outcome: stop re-publishing it. 0, or -1 when none is kept.
int notifyd_results_ack(notifyd_results_t *self, const char *id, int64_t now);
// alertd asks for id's outcome again (it has none): re-publish it from now on until it is
// acknowledged, the next time NOTIFYD_RESULTS_RESEND_MS after now. 0, or -1 when none is
// kept.
int notifyd_results_unack(notifyd_results_t *self, const char *id, int64_t now);
// Call send(arg, body) for each unacknowledged outcome due at now (at most
// NOTIFYD_RESULTS_BURST; the others stay due) and schedule its next re-publication; forget
// the outcomes kept too long (see above). Returns how many were sent; *expired (may be NULL)
// gets how many unacknowledged outcomes were forgotten.
size_t notifyd_results_due(notifyd_results_t *self, int64_t now,
                           void (*send)(void *arg, const json_t *body), void *arg, size_t *expired);
size_t notifyd_results_size(notifyd_results_t *self);
// How many kept outcomes alertd has not acknowledged.
size_t notifyd_results_unacked(notifyd_results_t *self);

#endif
