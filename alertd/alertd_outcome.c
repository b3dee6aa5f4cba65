/*  alertd_outcome.c — NOTIFY_RESULT into the notification log, NOTIFY_ACK back to notifyd.

    The acknowledgements waiting for their fsync are an array in the order they were made,
    live from acks_head for acks_n entries; their generations never decrease along it, so the
    ones due are always a prefix. The loop alone touches it.
 */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "alertd_int.h"
#include "alertd_nflog.h"
#include "alertd_outcome.h"
#include "fw_log.h"
#include "fw_mem.h"
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

// An outcome recorded in the notification log, acknowledged once its commit is fsync'd.
struct alertd_outcome_ack {
    char *id;     // owned
    uint64_t gen; // the state generation whose fsync covers the commit holding it
};

// Acknowledge id once generation gen is durable. The oldest acknowledgement is dropped when
// ALERTD_OUTCOME_ACKS_MAX wait (a disk whose fsyncs fail): notifyd publishes it again.
static void
s_ack_later(alertd_t *self, const char *id, uint64_t gen)
{
    if (self->acks_n == ALERTD_OUTCOME_ACKS_MAX) {
        fw_warn("notify.ack.drop", "id=%s err=\"%d acknowledgements wait for an fsync\"",
                self->acks[self->acks_head].id, ALERTD_OUTCOME_ACKS_MAX);
        free(self->acks[self->acks_head].id);
        self->acks_head++;
        self->acks_n--;
    }
    if (self->acks_head + self->acks_n == self->acks_cap) {
        if (self->acks_head > 0) { // reuse the room the sent ones left
            memmove(self->acks, self->acks + self->acks_head, self->acks_n * sizeof *self->acks);
            self->acks_head = 0;
        }
        if (self->acks_n == self->acks_cap) {
            self->acks_cap = self->acks_cap ? self->acks_cap * 2 : 64;
            self->acks = fw_realloc(self->acks, self->acks_cap * sizeof *self->acks);
        }
    }
    self->acks[self->acks_head + self->acks_n++] = (struct alertd_outcome_ack){fw_strdup(id), gen};
}

// Send the acknowledgements whose generation is durable, ALERTD_OUTCOME_ASK_MAX_IDS ids a
// NOTIFY_ACK, and ask the state to ring when the first one left is.
static void
s_ack_durable(alertd_t *self)
{
    uint64_t durable = alertd_state_durable(self->state);
    json_t *ids = NULL;
    while (self->acks_n > 0 && self->acks[self->acks_head].gen <= durable) {
        if (!ids)
            ids = json_array();
        json_array_append_new(ids, json_string(self->acks[self->acks_head].id)); // steals
        free(self->acks[self->acks_head].id);
        self->acks_head++;
        self->acks_n--;
        if (json_array_size(ids) == ALERTD_OUTCOME_ASK_MAX_IDS || self->acks_n == 0 ||
            self->acks[self->acks_head].gen > durable) {
            s_send_ack(self, ids, NULL);
            ids = NULL;
        }
    }
    if (self->acks_n == 0)
        self->acks_head = 0;
    else
        alertd_state_durable_wake(self->state, self->acks[self->acks_head].gen);
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
    // A recorded outcome is fsync'd ALERTD_STATE_SYNC_DELAY_MS later, off the loop, and
    // acknowledged only then: notifyd forgets what is acknowledged, and an outcome lost with
    // a power loss after that would leave the record "sent" (a delivered notification sent
    // again after the restart, a failed one left waiting for repeat_interval). One that
    // cannot be committed is not acknowledged: notifyd publishes it again.
    uint64_t gen = 0;
    bool durable_later = alertd_commit_locked(self, rc == 0) == 0 && rc == 0;
    if (durable_later)
        gen = alertd_state_sync_later(self->state); // the round the commit just asked for
    pthread_mutex_unlock(&self->lock);
    if (result[0] == 'f')
        fw_warn("notify.failed", "id=%s receiver=%s reason=\"%s\" known=%d", id,
                json_string_value(json_object_get(msg->body, "receiver")), reason ? reason : "",
                rc == 0);
    if (durable_later) // notifyd may stop publishing it once the fsync is done
        s_ack_later(self, id, gen);
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
    s_ack_durable(arg); // without --storage.path, all of them at once
    return 0;
}

int
alertd_outcome_on_durable(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    uint64_t n;
    if (read(item->fd, &n, sizeof n) < 0 && errno != EAGAIN)
        fw_warn("notify.ack.wake.fail", "err=\"%s\"", strerror(errno));
    s_ack_durable(arg);
    return 0;
}

int
alertd_outcome_attach(alertd_t *self)
{
    if (fw_zfd_poller(self->loop, self->notifyd_sub, &self->sub_item, alertd_outcome_on_fd, self) <
        0)
        return -1;
    zmq_pollitem_t durable = {NULL, alertd_state_durable_fd(self->state), ZMQ_POLLIN, 0};
    return durable.fd < 0 ? 0 : zloop_poller(self->loop, &durable, alertd_outcome_on_durable, self);
}

size_t
alertd_outcome_waiting(const alertd_t *self)
{
    return self->acks_n;
}

void
alertd_outcome_clear(alertd_t *self)
{
    for (size_t i = 0; i < self->acks_n; i++)
        free(self->acks[self->acks_head + i].id);
    free(self->acks);
    self->acks = NULL;
    self->acks_head = self->acks_n = self->acks_cap = 0;
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
