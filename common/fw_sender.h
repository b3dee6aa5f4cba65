/*  fw_sender.h — acknowledged delivery of SAMPLES batches to tsdb (scraper, ruled, slod).

    The sender side of docs/wire.md "Acknowledged ingest". A sender has an id unique to
    its incarnation ("<name>/<hostname>/<pid>.<start ms>"), numbers its batches 1, 2, 3...,
    and keeps each encoded batch until tsdb's SAMPLES_ACK says a commit holds it. It sends
    on a DEALER (fw_zsock_dealer: send timeout 0 and ZMQ_IMMEDIATE, so a send while tsdb is
    away fails at once instead of queueing in libzmq): fw_sender_send never blocks the
    caller's zloop, and a send that failed is retried by the sender's timer.

    Go-Back-N: everything unacknowledged is sent again, in order, from the oldest batch
    held, when tsdb answers `resend` (it saw a gap; repeated requests for the same gap
    within the resend timeout are one), when a send goes through after sends had failed
    (tsdb is back: what it had may be lost), and after the resend timeout passes without
    an acknowledgement moving forward (the timeout then doubles, up to 60 s, until one
    does). Every batch sent carries the sender's current `oldest`. tsdb stores a batch
    once however often it arrives (tsdb/tsdb_ingest.h).

    The buffer is bounded by batches and by bytes (--zmq.send-buffer,
    --zmq.send-buffer-bytes). A new batch that does not fit drops the oldest ones: counted
    in fw_sender_dropped_batches_total and fw_sender_dropped_samples_total and logged as
    event=sender.drop (at most one line per 10 s, with the count since the last line).
    The buffer lives in memory: a sender that is killed loses what it holds; one that is
    stopped (SIGTERM) waits a bounded time for tsdb to acknowledge it (fw_sender_flush).

    Series refs (SAMPLES v3 and v4, fw_sender_refs.h): a batch encoded with refs is kept with the
    refs generation it was encoded under; tsdb's `unknown_refs` answer moves the generation
    on, rewrites every held batch with the labels of the refs it uses, and sends them all
    again (fw_sender_refs_resets_total).

    Metrics, in the registry given to fw_sender_new: fw_sender_batches_sent_total,
    fw_sender_batches_resent_total, fw_sender_batches_acked_total,
    fw_sender_dropped_batches_total, fw_sender_dropped_samples_total, and the gauges
    fw_sender_unacked_batches and fw_sender_unacked_bytes. Acknowledgements that fail to
    decode or name another sender are counted in fw_msg_rejected_total{type}.

    Threads: one, the owner's loop (or the caller of fw_sender_poll).
*/
#ifndef FW_SENDER_H
#define FW_SENDER_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_flags.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_sender_refs.h"

struct fw_sender_opts {
    const char *endpoint;   // tsdb's samples endpoint (DEALER connects); borrowed
    const char *name;       // the daemon's name, first part of the id; borrowed
    const char *id;         // a fixed id instead (tests); NULL: derived from name
    int64_t buffer_batches; // batches kept unacknowledged (at least 1)
    int64_t buffer_bytes;   // bytes kept unacknowledged (at least 1KiB)
    int64_t resend_ms;      // resend after this long without progress (at least 10 ms)
    bool hold;              // new batches wait for the next tick (FW_SENDER_TICK_MS), which
                            // sends all that came meanwhile back to back: tsdb's libzmq
                            // then reads them in one wake-up instead of one each; past a
                            // quarter of the buffer (FW_SENDER_HOLD_BYTES at most) they go
                            // at once
    int64_t tick_ms;        // the timer's period; 0: FW_SENDER_TICK_MS. With hold, a batch
                            // waits at most this long unless the owner calls fw_sender_pump
    bool lazy_acks;         // no reader in the loop: acknowledgements are read when the owner
                            // calls fw_sender_pump (it is awake anyway) and at each tick,
                            // before the resend timeout is checked, so a late read never
                            // looks like a lost batch; the loop is not woken for each
};

// The sender's flags, for struct T with a struct fw_sender_opts member m (the daemon's
// --zmq.tsdb-address fills m.endpoint).
// clang-format off
#define FW_SENDER_FLAGS(T, m)                                                                \
    {"zmq.send-buffer", FW_FLAG_INT, offsetof(T, m.buffer_batches), "1000",                  \
     "SAMPLES batches kept until tsdb acknowledges them; when full the oldest is dropped"},  \
    {"zmq.send-buffer-bytes", FW_FLAG_SIZE, offsetof(T, m.buffer_bytes), "256MiB",           \
     "bytes of SAMPLES batches kept until tsdb acknowledges them"},                          \
    {"zmq.resend-timeout", FW_FLAG_DURATION, offsetof(T, m.resend_ms), "5s",                 \
     "resend unacknowledged batches after this long without an acknowledgement"}
// clang-format on

// Defaults for opts fields left zero (what the flags default to).
#define FW_SENDER_BUFFER_BATCHES 1000
#define FW_SENDER_BUFFER_BYTES (256LL << 20)
#define FW_SENDER_RESEND_MS 5000
#define FW_SENDER_RESEND_MAX_MS 60000
// How often the timer retries failed sends and checks the resend timeout.
#define FW_SENDER_TICK_MS 100
// opts.hold: held bytes past this (or a quarter of the buffer, if less) are sent at once.
#define FW_SENDER_HOLD_BYTES (8LL << 20)

typedef struct fw_sender fw_sender_t;

// A sender for opts (copied; strings borrowed, they must outlive it) counting into
// metrics (borrowed, may be NULL; it must outlive the sender). Cannot fail.
fw_sender_t *fw_sender_new(const struct fw_sender_opts *opts, fw_metrics_t *metrics);
// Connect to opts->endpoint. 0, or -1 with err (a bad option or endpoint).
int fw_sender_open(fw_sender_t *self, fw_err_t *err);
// Free everything, unacknowledged batches included (NULL-safe; sets *self_p to NULL).
// Detach from a loop first.
void fw_sender_destroy(fw_sender_t **self_p);

// Drive the sender from loop: a reader for acknowledgements (none with opts.lazy_acks) and a
// timer every opts.tick_ms.
// 0 or -1.
int fw_sender_attach(fw_sender_t *self, zloop_t *loop);
// Remove the reader and timer from the loop attached to. Safe when not attached, and on
// NULL. Call it before destroying the loop.
void fw_sender_detach(fw_sender_t *self);

// Number *batch_p (taken; set to NULL), keep it and send it; publish the encoded frames
// on pub (may be NULL; PUB never blocks). Never blocks. Returns 0 when the batch is kept
// (sent now or by the timer), -1 when it could not be encoded (logged as
// event=msg.encode.fail and counted as dropped; no number is used up).
int fw_sender_send(fw_sender_t *self, struct fw_batch **batch_p, zsock_t *pub);
// The same for a batch already encoded (fw_msg_encode, by another thread, with this sender's
// id and any seq/oldest) holding `samples` samples, its uses of refs encoded under refs
// generation gen (fw_sender_refs_gen when the encoder started; older: the batch is rewritten
// with labels first): *frames_p (taken; set to NULL) gets the next seq. -1 when the frames
// are no SAMPLES v2, v3 or v4 message (dropped and counted as above).
int fw_sender_send_frames(fw_sender_t *self, zmsg_t **frames_p, size_t samples, uint64_t gen,
                          zsock_t *pub);
// The same from an encoder that knows what a SAMPLES v3 or v4 body holds: kinds is
// FW_SENDER_REFS_DEFS and/or FW_SENDER_REFS_USES (fw_sender_refs.h), or 0 for neither. A body
// without definitions is not read to learn them (fw_sender_send_frames reads every body), so
// a scrape of known series costs the sender's thread no walk over its series. Claiming no
// DEFS for a body that has some loses the labels a rewrite would need.
int fw_sender_send_frames_kinds(fw_sender_t *self, zmsg_t **frames_p, size_t samples, uint64_t gen,
                                unsigned kinds, zsock_t *pub);

// For an owner that is awake anyway (the scraper after reading finished scrapes): handle the
// acknowledgements waiting, without waiting for more, and send what is held or was refused.
// Never blocks. Returns the number of acknowledgements handled.
int fw_sender_pump(fw_sender_t *self);

// Without a loop (tests, shutdown): handle acknowledgements arriving within timeout_ms,
// then do the timer's work once. Returns the number of acknowledgements handled.
int fw_sender_poll(fw_sender_t *self, int timeout_ms);

// Before stopping: send what is unacknowledged and wait for acknowledgements, at most
// timeout_ms. Returns the number of batches still unacknowledged (logged when not 0).
size_t fw_sender_flush(fw_sender_t *self, int timeout_ms);

// Call fn(arg, acked) on the owner's thread each time the highest seq acknowledged moves
// forward (fn NULL: no more calls).
typedef void (*fw_sender_ack_fn)(void *arg, uint64_t acked);
void fw_sender_on_ack(fw_sender_t *self, fw_sender_ack_fn fn, void *arg);

// Ask tsdb to commit, at once, the batches sent so far (SAMPLES_SYNC), so that their
// acknowledgement comes without waiting for its commit interval: for a sender that waits
// for an acknowledgement before going on (ruled's rules reading records of their group).
// 0 when sent; -1 when the socket refused it (tsdb away: the batches are resent anyway,
// and the interval commits them).
int fw_sender_sync(fw_sender_t *self);

// The id (borrowed, lives as long as the sender).
const char *fw_sender_id(const fw_sender_t *self);
// Batches held unacknowledged, and their bytes.
size_t fw_sender_unacked(const fw_sender_t *self);
size_t fw_sender_unacked_bytes(const fw_sender_t *self);
// The highest seq acknowledged (0: none), and the last seq given out.
uint64_t fw_sender_acked(const fw_sender_t *self);
uint64_t fw_sender_last_seq(const fw_sender_t *self);
// The highest seq at and below which no batch is held any more (each acknowledged, or
// dropped unacknowledged): every batch up to it is settled. Grows only; the last seq when
// nothing is held.
uint64_t fw_sender_settled(const fw_sender_t *self);
// Batches numbered and not yet put on the socket: held (opts.hold), refused by it, or to be
// sent again (Go-Back-N).
size_t fw_sender_waiting(const fw_sender_t *self);
// How many times batches were put on the socket, back to back, by one send, pump or tick:
// each such flush wakes libzmq's I/O thread about once, however many batches it carried.
uint64_t fw_sender_flushes(const fw_sender_t *self);
// The sender's series refs (borrowed, lives as long as the sender): encoders on any thread
// allocate, release and read the generation (fw_sender_refs.h); the rest is the sender's.
fw_sender_refs_t *fw_sender_refs(fw_sender_t *self);

#endif
