/*  alertd_outcome.c — NOTIFY_RESULT into the notification log, NOTIFY_ACK back to notifyd.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>

#include "alertd_int.h"
#include "alertd_nflog.h"
#include "alertd_outcome.h"
#include "fw_log.h"
#include "fw_msg.h"
#include "fw_zfd.h"
#include "fw_zsock.h"

// Send NOTIFY_ACK {acked, unanswered} (both taken; unanswered may be NULL) to notifyd.
static void
s_send_ack(alertd_t *self, json_t *acked, json_t *unanswered)
{
    json_t *b = json_pack("{s:o}", "acked", acked); // steals
    if (unanswered)
        json_object_set_new(b, "unanswered", unanswered); // steals
    fw_err_t err;
    fw_err_clear(&err);
    struct fw_msg *m = fw_msg_new_json(FW_MSG_NOTIFY_ACK, b);
    if (fw_msg_send(&m, self->push, &err) < 0)
        fw_warn("notify.ack.drop", "err=%s", err.msg); // notifyd publishes it again
}

// fw_zfd_drain's read: one NOTIFY_RESULT off the SUB, recorded (or rejected: logged and
// counted): 1; 0 when none was waiting, -1 with errno otherwise.
static int
s_take(void *arg)
{
    alertd_t *self = arg;
    zmsg_t *frames = zmsg_recv(self->notifyd_sub);
    if (!frames)
        return errno == EAGAIN ? 0 : -1;
    struct fw_msg *msg = NULL;
    if (fw_zsock_decode(&frames, FW_MSG_NOTIFY_RESULT, self->metrics, &msg) < 0)
        return 1; // rejected, logged and counted
    const char *id = json_string_value(json_object_get(msg->body, "id"));
    const char *result = json_string_value(json_object_get(msg->body, "result"));
    const char *reason = json_string_value(json_object_get(msg->body, "reason"));
    if (strcmp(result, "delivered") != 0 && strcmp(result, "failed") != 0) {
        fw_warn("notify.result.reject", "id=%s err=unknown result \"%s\"", id, result);
        fw_msg_destroy(&msg);
        return 1;
    }
    self->answered = true;
    pthread_mutex_lock(&self->lock);
    (void)alertd_state_begin(self->state, NULL);
    alertd_log_sent_locked(self); // the record this answers may still wait
    int rc = alertd_nflog_result(self->nflog, id, result, reason,
                                 json_object_get(msg->body, "failed_integrations"));
    // A recorded outcome is fsync'd ALERTD_STATE_SYNC_DELAY_MS later, off the loop: it is
    // acknowledged below, and notifyd then no longer re-publishes it, so the next second's
    // sync would leave a power loss a second to lose it in. A failure must survive a
    // restart, or the group would wait for repeat_interval; a delivery, or the log would
    // show it "sent" (and alertd ask notifyd about it) for good.
    alertd_commit_locked(self, rc == 0);
    pthread_mutex_unlock(&self->lock);
    if (result[0] == 'f')
        fw_warn("notify.failed", "id=%s receiver=%s reason=\"%s\" known=%d", id,
                json_string_value(json_object_get(msg->body, "receiver")), reason ? reason : "",
                rc == 0);
    if (rc == 0) // recorded: notifyd may stop publishing it
        s_send_ack(self, json_pack("[s]", id), NULL);
    fw_msg_destroy(&msg);
    return 1;
}

#define S_RESULTS_DRAIN 100000 // a bound, never reached: each read is a message

int
alertd_outcome_on_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    (void)item;
    bool emptied;
    (void)fw_zfd_drain(s_take, arg, S_RESULTS_DRAIN, &emptied);
    return 0;
}

void
alertd_outcome_ask(alertd_t *self, int64_t now)
{
    if (self->ask_at == 0) {
        self->ask_at = self->start_ms + ALERTD_OUTCOME_ASK_FIRST_MS;
        self->ask_interval = ALERTD_OUTCOME_ASK_AFTER_MS;
    }
    if (now < self->ask_at)
        return;
    // Records made before this alertd started are old enough whatever their age.
    int64_t before = now - ALERTD_OUTCOME_ASK_AFTER_MS;
    if (before < self->start_ms - 1)
        before = self->start_ms - 1;
    pthread_mutex_lock(&self->lock);
    json_t *ids = alertd_nflog_unanswered(self->nflog, before, ALERTD_OUTCOME_ASK_MAX_IDS);
    pthread_mutex_unlock(&self->lock);
    if (json_array_size(ids) == 0) {
        json_decref(ids);
        self->ask_at = now + ALERTD_OUTCOME_ASK_AFTER_MS;
        self->ask_interval = ALERTD_OUTCOME_ASK_AFTER_MS;
        return;
    }
    if (self->answered)
        self->ask_interval = ALERTD_OUTCOME_ASK_AFTER_MS;
    fw_info("notify.ask", "unanswered=%zu next_ms=%lld", json_array_size(ids),
            (long long)self->ask_interval);
    s_send_ack(self, json_array(), ids);
    self->answered = false;
    self->ask_at = now + self->ask_interval;
    self->ask_interval = self->ask_interval * 2 > ALERTD_OUTCOME_ASK_MAX_MS
                             ? ALERTD_OUTCOME_ASK_MAX_MS
                             : self->ask_interval * 2;
}
