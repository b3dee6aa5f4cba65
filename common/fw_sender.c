/*  fw_sender.c — acknowledged SAMPLES delivery (see fw_sender.h).

    The unacknowledged batches are a queue of encoded frames, oldest first, whose seqs are
    consecutive: acknowledgements and drops remove from the front, new batches go to the
    back. `next_send` is the seq of the next batch to put on the socket; Go-Back-N sets it
    back to the front's seq. Each send writes the current oldest into the stored frames
    (fw_msg_samples_set_oldest) and gives libzmq a reference to them, not a copy
    (ZFRAME_REUSE: zmq_msg_copy shares the buffer), so the stored frames are never given
    away and a batch's bytes are not copied per send. Frames libzmq may still hold are
    never written: before writing a resent batch's oldest, the entry takes a private copy. Seqs stay
   consecutive because a batch that fails to encode does not take one: a hole would be a gap tsdb
   waits for forever.

    Series refs (fw_sender_refs.h): each v3 batch's definitions are learnt as it is taken;
    each entry remembers the refs generation it was encoded under. When tsdb answers
    `unknown_refs`, the generation moves on, every held entry from an older one is rewritten
    with the labels of every ref it uses, and everything held is sent again; a batch encoded
    under an older generation that arrives later is rewritten as it is taken.
*/
#include "fw_sender.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_msg_samples.h"
#include "fw_sender_refs.h"
#include "fw_time.h"
#include "fw_zfd.h"
#include "fw_zsock.h"

#define S_DROP_LOG_MS 10000 // one event=sender.drop line per 10 s at most

struct s_entry {
    uint64_t seq;
    zmsg_t *frames; // owned: the encoded SAMPLES message
    size_t bytes;
    size_t samples;
    uint64_t gen; // the refs generation its uses of refs were encoded under
    bool shared;  // libzmq was given references to frames' buffers
    bool defs;    // it defines refs (SAMPLES v3)
    bool uses;    // it uses refs without their labels
};

struct fw_sender {
    struct fw_sender_opts opts; // strings borrowed
    char id[FW_MSG_SENDER_MAX + 1];
    fw_metrics_t *metrics; // borrowed, may be NULL
    zsock_t *sock;         // owned: DEALER to tsdb
    zloop_t *loop;         // borrowed while attached
    int timer_id;

    struct s_entry *q; // owned: live entries are q[head..len)
    size_t head, len, cap;
    size_t bytes;            // of the live entries
    uint64_t seq;            // the last seq given out
    uint64_t acked;          // the highest seq acknowledged
    fw_sender_ack_fn on_ack; // called when acked moves forward; may be NULL
    void *on_ack_arg;
    uint64_t next_send; // the seq of the next batch to send
    uint64_t sent_high; // the highest seq ever sent (a lower one is a resend)
    size_t held_bytes;  // opts.hold: bytes of the batches taken since the last send
    uint64_t flushes;   // s_pump calls that put batches on the socket

    int64_t progress_ms;     // last acknowledgement that moved forward, or last go-back
    int64_t timeout_ms;      // current resend timeout (grows while nothing moves)
    uint64_t goback_from;    // where the last go-back on request started
    int64_t goback_ms;       // and when
    uint64_t drops_unlogged; // batches dropped since the last event=sender.drop line
    size_t drop_samples_unlogged;
    int64_t drop_log_ms;
    fw_sender_refs_t *refs;   // owned: series refs (fw_sender_refs.h)
    uint64_t refs_reset_from; // where the last rewrite on unknown_refs started
    int64_t refs_reset_ms;    // and when
    bool refs_dropped;        // a batch with definitions was dropped unsent or unacknowledged
};

// ---------------------------------------------------------------------------------------
//  Queue

static size_t
s_count(const fw_sender_t *self)
{
    return self->len - self->head;
}

static struct s_entry *
s_front(fw_sender_t *self)
{
    return self->head < self->len ? &self->q[self->head] : NULL;
}

static struct s_entry *
s_at(fw_sender_t *self, uint64_t seq)
{
    struct s_entry *f = s_front(self);
    if (!f || seq < f->seq || seq - f->seq >= s_count(self))
        return NULL;
    return &self->q[self->head + (size_t)(seq - f->seq)];
}

// Free the released refs no held batch can use any more.
static void
s_settle(fw_sender_t *self)
{
    struct s_entry *f = s_front(self);
    fw_sender_refs_settle(self->refs, self->seq, f ? f->seq : self->seq + 1);
}

static void
s_gauges(fw_sender_t *self)
{
    s_settle(self);
    if (!self->metrics)
        return;
    fw_metrics_set(self->metrics, "fw_sender_refs", "", (double)fw_sender_refs_count(self->refs));
    fw_metrics_set(self->metrics, "fw_sender_unacked_batches", "", (double)s_count(self));
    fw_metrics_set(self->metrics, "fw_sender_unacked_bytes", "", (double)self->bytes);
}

// Remove the front entry; the next batch to send is never before the new front.
static void
s_pop(fw_sender_t *self)
{
    struct s_entry *e = &self->q[self->head++];
    self->bytes -= e->bytes;
    zmsg_destroy(&e->frames);
    if (self->head == self->len)
        self->head = self->len = 0;
    struct s_entry *f = s_front(self);
    uint64_t first = f ? f->seq : self->seq + 1;
    if (self->next_send < first)
        self->next_send = first;
}

static void
s_push(fw_sender_t *self, struct s_entry *e)
{
    if (self->len == self->cap && self->head > 0) {
        memmove(self->q, self->q + self->head, s_count(self) * sizeof(*self->q));
        self->len -= self->head;
        self->head = 0;
    }
    fw_mem_grow((void **)&self->q, &self->cap, self->len + 1, sizeof(*self->q));
    self->q[self->len++] = *e;
    self->bytes += e->bytes;
}

static void
s_drop_oldest(fw_sender_t *self)
{
    struct s_entry *e = s_front(self);
    self->refs_dropped = self->refs_dropped || e->defs;
    self->drops_unlogged++;
    self->drop_samples_unlogged += e->samples;
    if (self->metrics) {
        fw_metrics_add(self->metrics, "fw_sender_dropped_batches_total", "", 1);
        fw_metrics_add(self->metrics, "fw_sender_dropped_samples_total", "", (double)e->samples);
    }
    s_pop(self);
}

static void
s_log_drops(fw_sender_t *self, int64_t now)
{
    if (self->drops_unlogged == 0 || (self->drop_log_ms && now - self->drop_log_ms < S_DROP_LOG_MS))
        return;
    fw_warn("sender.drop",
            "sender=%s endpoint=%s batches=%llu samples=%zu unacked=%zu "
            "reason=\"send buffer full: tsdb has not acknowledged (see --zmq.send-buffer)\"",
            self->id, self->opts.endpoint, (unsigned long long)self->drops_unlogged,
            self->drop_samples_unlogged, s_count(self));
    self->drops_unlogged = 0;
    self->drop_samples_unlogged = 0;
    self->drop_log_ms = now;
}

// ---------------------------------------------------------------------------------------
//  Sending

// Send from next_send on until the socket refuses one (tsdb away, or libzmq's queue full);
// the timer tries again. A batch lost with a connection is found by tsdb (the next batch
// shows a gap, and it asks for a resend) or by the resend timeout.
// Send frames on sock by reference (each frame's buffer shared with libzmq). 0, or -1
// when the socket refuses the message (nothing of it was sent).
static int
s_send_shared(zmsg_t *frames, zsock_t *sock)
{
    size_t n = zmsg_size(frames), i = 0;
    for (zframe_t *f = zmsg_first(frames); f; f = zmsg_next(frames), i++) {
        // libzmq takes a multipart message whole once its first part is accepted
        if (zframe_send(&f, sock, ZFRAME_REUSE | (i + 1 < n ? ZFRAME_MORE : 0)) != 0 && i == 0)
            return -1;
    }
    return 0;
}

static void
s_pump(fw_sender_t *self)
{
    struct s_entry *f = s_front(self);
    uint64_t from = self->next_send;
    while (f && self->next_send <= self->seq) {
        struct s_entry *e = s_at(self, self->next_send);
        if (!e)
            break;
        if (e->shared) { // a resend: libzmq may still hold the bytes we are about to write
            zmsg_t *own = zmsg_dup(e->frames);
            zmsg_destroy(&e->frames);
            e->frames = own;
            e->shared = false;
        }
        fw_msg_samples_set_oldest(e->frames, f->seq);
        if (s_send_shared(e->frames, self->sock) != 0)
            break; // refused: the timer tries again
        e->shared = true;
        bool again = e->seq <= self->sent_high;
        if (!again)
            self->sent_high = e->seq;
        if (self->metrics)
            fw_metrics_add(
                self->metrics,
                again ? "fw_sender_batches_resent_total" : "fw_sender_batches_sent_total", "", 1);
        self->next_send++;
    }
    if (self->next_send != from) // back to back: libzmq's I/O thread wakes once for them
        self->flushes++;
    if (self->next_send > self->seq)
        self->held_bytes = 0;
}

// Batches numbered and not yet put on the socket (held, refused, or to be sent again).
static size_t
s_waiting(const fw_sender_t *self)
{
    return self->next_send <= self->seq ? (size_t)(self->seq - self->next_send + 1) : 0;
}

// opts.hold: what waits is sent at once past a quarter of the buffer (batches or bytes,
// the bytes at most FW_SENDER_HOLD_BYTES), so that holding never makes the buffer drop a
// batch that was never sent, and a big scrape's parts do not pile up.
static bool
s_hold_full(const fw_sender_t *self)
{
    size_t batches = (size_t)self->opts.buffer_batches / 4;
    size_t bytes = (size_t)self->opts.buffer_bytes / 4;
    if (bytes > FW_SENDER_HOLD_BYTES)
        bytes = FW_SENDER_HOLD_BYTES;
    return s_waiting(self) >= (batches ? batches : 1) || self->held_bytes >= bytes;
}

// Go-Back-N: everything unacknowledged again, from the oldest held.
static void
s_go_back(fw_sender_t *self, const char *reason)
{
    struct s_entry *f = s_front(self);
    if (!f)
        return;
    fw_info("sender.resend", "sender=%s from=%llu to=%llu reason=%s", self->id,
            (unsigned long long)f->seq, (unsigned long long)self->seq, reason);
    self->next_send = f->seq;
    self->progress_ms = fw_time_mono_ms();
}

// Rewrite e (held) so that it defines every ref it uses, when it was encoded under an
// older refs generation.
static void
s_rewrite(fw_sender_t *self, struct s_entry *e, uint64_t gen)
{
    if (e->gen >= gen)
        return;
    e->gen = gen;
    if (!e->uses)
        return; // nothing relies on tsdb's refs
    e->uses = false;
    e->defs = true;
    size_t lost;
    zmsg_t *z = fw_sender_refs_rewrite(self->refs, e->frames, &lost);
    if (!z)
        return;               // not v3 or v4: no refs to define
    zmsg_destroy(&e->frames); // libzmq keeps its own references to what it still sends
    e->frames = z;
    e->shared = false;
    e->bytes = zmsg_content_size(z);
    if (lost) { // never expected: every definition passes here before its uses
        fw_warn("sender.refs.lost", "sender=%s seq=%llu samples=%zu reason=%s", self->id,
                (unsigned long long)e->seq, lost, "a ref whose labels were never sent");
        if (self->metrics)
            fw_metrics_add(self->metrics, "fw_sender_dropped_samples_total", "", (double)lost);
    }
}

// A new refs generation: every held batch that uses refs rewritten with their labels.
static void
s_refs_renew(fw_sender_t *self)
{
    fw_sender_refs_reset(self->refs);
    uint64_t gen = fw_sender_refs_gen(self->refs);
    for (size_t i = self->head; i < self->len; i++) {
        self->bytes -= self->q[i].bytes;
        s_rewrite(self, &self->q[i], gen);
        self->bytes += self->q[i].bytes;
    }
    if (self->metrics)
        fw_metrics_add(self->metrics, "fw_sender_refs_resets_total", "", 1);
}

// tsdb does not know a ref a batch uses: a new generation, and everything held sent again.
static void
s_refs_reset(fw_sender_t *self)
{
    s_refs_renew(self);
    s_go_back(self, "tsdb_unknown_refs");
}

// ---------------------------------------------------------------------------------------
//  Acknowledgements

static void
s_on_ack_msg(fw_sender_t *self, struct fw_msg *msg)
{
    const char *sender = json_string_value(json_object_get(msg->body, "sender"));
    json_t *acked_j = json_object_get(msg->body, "acked");
    json_t *resend = json_object_get(msg->body, "resend");
    json_t *unknown_refs = json_object_get(msg->body, "unknown_refs");
    if (!sender || strcmp(sender, self->id) != 0) {
        fw_zsock_reject(self->metrics, "SAMPLES_ACK", "acknowledgement for another sender");
        return;
    }
    if (!json_is_integer(acked_j) || json_integer_value(acked_j) < 0 ||
        (uint64_t)json_integer_value(acked_j) > self->seq) {
        fw_zsock_reject(self->metrics, "SAMPLES_ACK", "acked is not a seq this sender gave out");
        return;
    }
    uint64_t acked = (uint64_t)json_integer_value(acked_j);
    int64_t now = fw_time_mono_ms();
    if (acked > self->acked) {
        size_t n = 0;
        for (struct s_entry *f = s_front(self); f && f->seq <= acked; f = s_front(self)) {
            s_pop(self);
            n++;
        }
        if (self->metrics && n)
            fw_metrics_add(self->metrics, "fw_sender_batches_acked_total", "", (double)n);
        self->acked = acked;
        self->progress_ms = now;
        self->timeout_ms = self->opts.resend_ms;
        if (self->on_ack)
            self->on_ack(self->on_ack_arg, acked);
    }
    if (json_is_true(unknown_refs)) {
        // one rewrite serves every answer about the batches in flight
        struct s_entry *f = s_front(self);
        if (f && !(self->refs_reset_from == f->seq &&
                   now - self->refs_reset_ms < self->opts.resend_ms)) {
            self->refs_reset_from = f->seq;
            self->refs_reset_ms = now;
            s_refs_reset(self);
        }
    } else if (json_is_true(resend)) {
        // tsdb answers resend for each batch past a gap; one go-back serves them all
        struct s_entry *f = s_front(self);
        if (f && !(self->goback_from == f->seq && now - self->goback_ms < self->opts.resend_ms)) {
            self->goback_from = f->seq;
            self->goback_ms = now;
            s_go_back(self, "tsdb_gap");
        }
    }
    s_pump(self);
    s_gauges(self);
}

// Acknowledgements are read without waiting (the socket's receive timeout is 0, set at
// open) until a read finds none: that empty read is the check ZMQ_EVENTS would make
// (fw_zfd.h), so a wake-up that gets one acknowledgement costs that read's two system
// calls, not a ZMQ_EVENTS before each message and one after the last (four more).
#define S_ACKS_MAX 100000 // a bound, never reached: each read is a message

struct s_acks {
    fw_sender_t *self;
    int n; // acknowledgements handled
};

// fw_zfd_drain's read: one message off the socket, handled when it is an acknowledgement.
static int
s_ack_take(void *arg)
{
    struct s_acks *a = arg;
    zmsg_t *frames = zmsg_recv(a->self->sock);
    if (!frames)
        return errno == EAGAIN ? 0 : -1;
    struct fw_msg *msg = NULL;
    if (fw_zsock_decode(&frames, FW_MSG_SAMPLES_ACK, a->self->metrics, &msg) == 0) {
        s_on_ack_msg(a->self, msg);
        a->n++;
    }
    fw_msg_destroy(&msg);
    return 1;
}

// Handle every acknowledgement waiting on the socket; returns how many.
static int
s_read_acks(fw_sender_t *self)
{
    struct s_acks a = {self, 0};
    bool emptied;
    (void)fw_zfd_drain(s_ack_take, &a, S_ACKS_MAX, &emptied);
    return a.n;
}

// acks_read: the caller has just read them (fw_sender_poll), so no second empty read.
static void
s_tick(fw_sender_t *self, bool acks_read)
{
    if (self->opts.lazy_acks && !acks_read) // nothing read them since: progress first
        s_read_acks(self);
    int64_t now = fw_time_mono_ms();
    if (s_count(self) > 0 && now - self->progress_ms >= self->timeout_ms) {
        s_go_back(self, "timeout");
        self->timeout_ms *= 2;
        if (self->timeout_ms > FW_SENDER_RESEND_MAX_MS)
            self->timeout_ms = FW_SENDER_RESEND_MAX_MS;
        if (self->timeout_ms < self->opts.resend_ms)
            self->timeout_ms = self->opts.resend_ms;
    }
    s_pump(self);
    s_log_drops(self, now);
    s_gauges(self);
}

static int
s_on_readable(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    (void)sock;
    s_read_acks(arg);
    return 0;
}

static int
s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    s_tick(arg, false);
    return 0;
}

// ---------------------------------------------------------------------------------------
//  Lifecycle and API

fw_sender_t *
fw_sender_new(const struct fw_sender_opts *opts, fw_metrics_t *metrics)
{
    fw_sender_t *self = fw_calloc(1, sizeof(*self));
    self->opts = *opts;
    if (self->opts.buffer_batches == 0)
        self->opts.buffer_batches = FW_SENDER_BUFFER_BATCHES;
    if (self->opts.buffer_bytes == 0)
        self->opts.buffer_bytes = FW_SENDER_BUFFER_BYTES;
    if (self->opts.resend_ms == 0)
        self->opts.resend_ms = FW_SENDER_RESEND_MS;
    if (self->opts.tick_ms <= 0)
        self->opts.tick_ms = FW_SENDER_TICK_MS;
    self->timeout_ms = self->opts.resend_ms;
    self->timer_id = -1;
    self->next_send = 1;
    if (opts->id) {
        snprintf(self->id, sizeof(self->id), "%s", opts->id);
    } else {
        char host[65] = "localhost";
        if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
            snprintf(host, sizeof(host), "localhost");
        host[sizeof(host) - 1] = '\0';
        // the wire allows printable ASCII without spaces; anything else becomes '_'
        for (char *p = host; *p; p++)
            if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e || *p == '/')
                *p = '_';
        snprintf(self->id, sizeof(self->id), "%s/%s/%ld.%lld", opts->name ? opts->name : "fw", host,
                 (long)getpid(), (long long)fw_time_now_ms());
    }
    self->metrics = metrics;
    self->refs = fw_sender_refs_new();
    if (metrics) {
        fw_zsock_declare_metrics(metrics);
        fw_metrics_declare(metrics, "fw_sender_batches_sent_total", FW_METRIC_COUNTER,
                           "SAMPLES batches sent to tsdb the first time.");
        fw_metrics_declare(metrics, "fw_sender_batches_resent_total", FW_METRIC_COUNTER,
                           "SAMPLES batches sent to tsdb again (Go-Back-N).");
        fw_metrics_declare(metrics, "fw_sender_batches_acked_total", FW_METRIC_COUNTER,
                           "SAMPLES batches tsdb acknowledged as durably stored.");
        fw_metrics_declare(metrics, "fw_sender_dropped_batches_total", FW_METRIC_COUNTER,
                           "SAMPLES batches dropped unacknowledged because the send buffer "
                           "was full.");
        fw_metrics_declare(metrics, "fw_sender_dropped_samples_total", FW_METRIC_COUNTER,
                           "Samples in the batches dropped unacknowledged.");
        fw_metrics_declare(metrics, "fw_sender_unacked_batches", FW_METRIC_GAUGE,
                           "SAMPLES batches held until tsdb acknowledges them.");
        fw_metrics_declare(metrics, "fw_sender_unacked_bytes", FW_METRIC_GAUGE,
                           "Bytes of the SAMPLES batches held until tsdb acknowledges them.");
        fw_metrics_declare(metrics, "fw_sender_refs", FW_METRIC_GAUGE,
                           "Series refs whose labels the sender keeps (SAMPLES v3).");
        fw_metrics_declare(metrics, "fw_sender_refs_resets_total", FW_METRIC_COUNTER,
                           "Times tsdb did not know a ref, and the held batches were sent "
                           "again with labels.");
        const char *zero[] = {"fw_sender_batches_sent_total",    "fw_sender_batches_resent_total",
                              "fw_sender_batches_acked_total",   "fw_sender_dropped_batches_total",
                              "fw_sender_dropped_samples_total", "fw_sender_refs_resets_total"};
        for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++)
            fw_metrics_add(metrics, zero[i], "", 0);
        fw_metrics_add(metrics, "fw_msg_rejected_total", "type=\"SAMPLES_ACK\"", 0);
        s_gauges(self);
    }
    return self;
}

int
fw_sender_open(fw_sender_t *self, fw_err_t *err)
{
    if (self->opts.buffer_batches < 1 || self->opts.buffer_bytes < 1024 ||
        self->opts.resend_ms < 10) {
        fw_err_set(err, "invalid send buffer (--zmq.send-buffer at least 1, "
                        "--zmq.send-buffer-bytes at least 1KiB, --zmq.resend-timeout at least "
                        "10ms)");
        return -1;
    }
    self->sock = fw_zsock_dealer(self->opts.endpoint, err);
    if (!self->sock)
        return -1;
    zsock_set_rcvtimeo(self->sock, 0); // every read is s_read_acks': never waits
    return 0;
}

void
fw_sender_destroy(fw_sender_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_sender_t *self = *self_p;
    fw_sender_detach(self);
    while (s_count(self) > 0)
        s_pop(self);
    free(self->q);
    fw_sender_refs_destroy(&self->refs);
    zsock_destroy(&self->sock);
    free(self);
    *self_p = NULL;
}

int
fw_sender_attach(fw_sender_t *self, zloop_t *loop)
{
    if (!self->sock || self->loop)
        return -1;
    if (!self->opts.lazy_acks && zloop_reader(loop, self->sock, s_on_readable, self) != 0)
        return -1;
    self->timer_id = zloop_timer(loop, (size_t)self->opts.tick_ms, 0, s_on_timer, self);
    if (self->timer_id == -1) {
        if (!self->opts.lazy_acks)
            zloop_reader_end(loop, self->sock);
        return -1;
    }
    self->loop = loop;
    return 0;
}

void
fw_sender_detach(fw_sender_t *self)
{
    if (!self || !self->loop)
        return;
    if (!self->opts.lazy_acks)
        zloop_reader_end(self->loop, self->sock);
    zloop_timer_end(self->loop, self->timer_id);
    self->loop = NULL;
    self->timer_id = -1;
}

int
fw_sender_send(fw_sender_t *self, struct fw_batch **batch_p, zsock_t *pub)
{
    struct fw_batch *b = *batch_p;
    size_t samples = fw_batch_samples(b);
    snprintf(b->sender, sizeof(b->sender), "%s", self->id);
    b->seq = self->seq + 1;
    b->oldest = b->seq; // set again before every send
    struct fw_msg *msg = fw_msg_new_samples(batch_p);
    fw_err_t err;
    fw_err_clear(&err);
    zmsg_t *frames = fw_msg_encode(msg, &err);
    fw_msg_destroy(&msg);
    if (!frames) {
        fw_warn("msg.encode.fail", "sender=%s samples=%zu err=%s", self->id, samples, err.msg);
        if (self->metrics) {
            fw_metrics_add(self->metrics, "fw_sender_dropped_batches_total", "", 1);
            fw_metrics_add(self->metrics, "fw_sender_dropped_samples_total", "", (double)samples);
        }
        return -1;
    }
    return fw_sender_send_frames(self, &frames, samples, fw_sender_refs_gen(self->refs), pub);
}

// What a body holds is not known: it is read (fw_sender_send_frames).
#define S_KINDS_UNKNOWN (~0u)

int
fw_sender_send_frames(fw_sender_t *self, zmsg_t **frames_p, size_t samples, uint64_t gen,
                      zsock_t *pub)
{
    return fw_sender_send_frames_kinds(self, frames_p, samples, gen, S_KINDS_UNKNOWN, pub);
}

int
fw_sender_send_frames_kinds(fw_sender_t *self, zmsg_t **frames_p, size_t samples, uint64_t gen,
                            unsigned kinds, zsock_t *pub)
{
    zmsg_t *frames = *frames_p;
    *frames_p = NULL;
    if (fw_msg_samples_set_seq(frames, self->seq + 1, self->seq + 1) != 0) {
        fw_warn("msg.encode.fail", "sender=%s samples=%zu err=%s", self->id, samples,
                "not a SAMPLES v2, v3 or v4 message");
        zmsg_destroy(&frames);
        if (self->metrics) {
            fw_metrics_add(self->metrics, "fw_sender_dropped_batches_total", "", 1);
            fw_metrics_add(self->metrics, "fw_sender_dropped_samples_total", "", (double)samples);
        }
        return -1;
    }
    struct s_entry e = {++self->seq, frames, 0, samples, gen, false, false, false};
    zframe_t *fv = zframe_streq(zmsg_first(e.frames), "SAMPLES") ? zmsg_next(e.frames) : NULL;
    int version = !fv                     ? 0
                  : zframe_streq(fv, "3") ? FW_SAMPLES_V3
                  : zframe_streq(fv, "4") ? FW_SAMPLES_V4
                                          : 0;
    if (version) { // v3 and v4 carry refs
        zframe_t *body = zmsg_next(e.frames);
        if (kinds & FW_SENDER_REFS_DEFS) // unknown, or definitions to learn
            kinds = fw_sender_refs_learn(self->refs, version, zframe_data(body), zframe_size(body));
        e.defs = kinds & FW_SENDER_REFS_DEFS;
        e.uses = kinds & FW_SENDER_REFS_USES;
    }
    s_rewrite(self, &e, fw_sender_refs_gen(self->refs)); // encoded before tsdb lost its refs
    frames = e.frames;
    e.bytes = zmsg_content_size(frames);
    if (pub) { // taps see every series with its labels: they may have missed a definition
        size_t lost;
        zmsg_t *copy = e.uses ? fw_sender_refs_rewrite(self->refs, frames, &lost) : NULL;
        if (!copy)
            copy = zmsg_dup(frames);
        if (zmsg_send(&copy, pub) != 0)
            zmsg_destroy(&copy);
    }
    // Make room: the oldest batches go first; the new one is always kept.
    while (s_count(self) > 0 && (s_count(self) + 1 > (size_t)self->opts.buffer_batches ||
                                 self->bytes + e.bytes > (size_t)self->opts.buffer_bytes))
        s_drop_oldest(self);
    if (self->refs_dropped) {
        // A dropped batch may have been the only one to define a ref that a held one uses;
        // tsdb may know that ref with an older meaning (refs are reused), so every use held
        // gets its labels, and encoders define their refs again. The byte bound was checked
        // before this rewrite, which may grow the held batches past it once.
        self->refs_dropped = false;
        s_refs_renew(self);
        s_rewrite(self, &e, fw_sender_refs_gen(self->refs));
        e.bytes = zmsg_content_size(e.frames);
    }
    if (s_count(self) == 0)
        self->progress_ms = fw_time_mono_ms(); // the resend timeout starts now
    s_push(self, &e);
    self->held_bytes += e.bytes;
    if (!self->opts.hold || s_hold_full(self))
        s_pump(self);
    s_log_drops(self, fw_time_mono_ms());
    s_gauges(self);
    return 0;
}

int
fw_sender_pump(fw_sender_t *self)
{
    if (!self->sock)
        return 0;
    int n = s_read_acks(self); // each answer pumps too; this covers none waiting
    s_pump(self);
    s_gauges(self);
    return n;
}

int
fw_sender_poll(fw_sender_t *self, int timeout_ms)
{
    int n = 0;
    if (timeout_ms > 0 && !(zsock_events(self->sock) & ZMQ_POLLIN)) {
        zpoller_t *p = zpoller_new(self->sock, NULL);
        (void)zpoller_wait(p, timeout_ms);
        zpoller_destroy(&p);
    }
    n = s_read_acks(self);
    s_tick(self, true);
    return n;
}

size_t
fw_sender_flush(fw_sender_t *self, int timeout_ms)
{
    if (!self->sock)
        return s_count(self);
    int64_t deadline = fw_time_mono_ms() + timeout_ms;
    if (s_count(self) > 0)
        s_go_back(self, "shutdown");
    for (int64_t now = fw_time_mono_ms(); s_count(self) > 0 && now < deadline;
         now = fw_time_mono_ms()) {
        int64_t wait = deadline - now < FW_SENDER_TICK_MS ? deadline - now : FW_SENDER_TICK_MS;
        fw_sender_poll(self, (int)wait);
    }
    if (s_count(self) > 0)
        fw_warn("sender.flush.incomplete", "sender=%s unacked=%zu endpoint=%s err=%s", self->id,
                s_count(self), self->opts.endpoint,
                "tsdb did not acknowledge these batches before shutdown; they are lost");
    return s_count(self);
}

const char *
fw_sender_id(const fw_sender_t *self)
{
    return self->id;
}

int
fw_sender_sync(fw_sender_t *self)
{
    if (!self->sock)
        return -1;
    s_pump(self); // held batches go first: the SYNC is about them too
    struct fw_msg *m = fw_msg_new_json(FW_MSG_SAMPLES_SYNC, json_pack("{s:s}", "sender", self->id));
    fw_err_t err;
    return fw_msg_send(&m, self->sock, &err) < 0 ? -1 : 0;
}

void
fw_sender_on_ack(fw_sender_t *self, fw_sender_ack_fn fn, void *arg)
{
    self->on_ack = fn;
    self->on_ack_arg = arg;
}

size_t
fw_sender_unacked(const fw_sender_t *self)
{
    return s_count(self);
}

size_t
fw_sender_unacked_bytes(const fw_sender_t *self)
{
    return self->bytes;
}

uint64_t
fw_sender_acked(const fw_sender_t *self)
{
    return self->acked;
}

uint64_t
fw_sender_last_seq(const fw_sender_t *self)
{
    return self->seq;
}

uint64_t
fw_sender_settled(const fw_sender_t *self)
{
    const struct s_entry *f = s_count(self) > 0 ? &self->q[self->head] : NULL;
    return f ? f->seq - 1 : self->seq;
}

size_t
fw_sender_waiting(const fw_sender_t *self)
{
    return s_waiting(self);
}

uint64_t
fw_sender_flushes(const fw_sender_t *self)
{
    return self->flushes;
}

fw_sender_refs_t *
fw_sender_refs(fw_sender_t *self)
{
    return self->refs;
}
