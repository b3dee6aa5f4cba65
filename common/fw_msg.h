/*  fw_msg.h — the one codec for every message between floorwatch daemons.

    The schema is common/fw_msg.def; docs/wire.md describes it for people. On the wire a
    message is a ZeroMQ multipart of exactly three frames:

        frame 1  type token, e.g. "SAMPLES" (PUB/SUB subscribers filter on it)
        frame 2  version, decimal text, e.g. "1"
        frame 3  body: packed binary for SAMPLES, a JSON object for the others

    (A ROUTER socket prepends the peer identity frame; the ROUTER side pops it before
    fw_msg_decode and pushes it back before sending.)

    SAMPLES v3 body, little-endian, no padding (v2, still read: the same without `ref`):

        u16 sender_len               1..FW_MSG_SENDER_MAX
        sender bytes                 printable ASCII without spaces (0x21..0x7e), unique
                                     per sender incarnation, e.g. scraper/host/812.1764201
        u64 seq                      this batch's number: 1, 2, 3... per sender
        u64 oldest                   lowest seq the sender still holds unacknowledged;
                                     1 <= oldest <= seq
        u32 series_count
        series_count times:
            u32 ref                  the sender's number for the label set, 0: none
            u16 label_count          labels sorted by name, __name__ included; 0 with a
                                     ref: the labels the ref was defined with earlier
            label_count times:  u16 name_len, name bytes, u32 value_len, value bytes
            u32 sample_count
            sample_count times: i64 timestamp_ms, f64 value (IEEE 754 bits, NaNs kept)

    tsdb answers each batch with SAMPLES_ACK (JSON) once the commit holding it is durable;
    the sender side of that protocol is fw_sender.h, tsdb's is tsdb/tsdb_ingest.h.

    A decoded batch is one arena: its series, their label views (NUL-terminated copies of
    the names and values) and samples sit in one block allocated per message (a label with
    an empty value is absent, as in Prometheus). Such a batch is read-only: add to batches
    you built with fw_batch_new, never to decoded ones.

    fw_msg_decode() is strict (OpenSMTPD m_end): an unknown type, another version, a
    missing, mistyped or unknown JSON key, a truncated or over-long binary body, invalid
    label names or UTF-8, or extra frames are all rejected with a reason in err. The caller
    logs event=msg.reject, counts it, drops the message and carries on.
*/
#ifndef FW_MSG_H
#define FW_MSG_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_sample.h"

typedef enum {
#define FW_MSG(name, ver, from, to, pattern, body, doc) FW_MSG_##name,
#define FW_FIELD(msg, key, type, req)
#include "fw_msg.def"
#undef FW_MSG
#undef FW_FIELD
    FW_MSG_COUNT
} fw_msg_type_t;

// Longest sender id of a SAMPLES batch.
#define FW_MSG_SENDER_MAX 128

struct fw_series {
    uint32_t ref;              // SAMPLES v3 ref (0: none); with no labels, a use of it
    struct fw_labels labels;   // borrowed from the batch's arena or blocks: never modify them
    struct fw_sample *samples; // owned (idem), or in the batch's blocks while samples_in_block
    size_t len, cap;
    bool samples_in_block; // a built series' first sample slot, until it grows
    int64_t *st; // the samples' start times (0: none; cap of them), or NULL when none has one:
                 // owned by a built series, in the arena of a decoded one (SAMPLES v4)
};

struct fw_batch {
    char sender[FW_MSG_SENDER_MAX + 1]; // NUL-terminated; set by the sender (fw_sender)
    uint64_t seq, oldest;
    struct fw_series *series; // owned (in the arena in a decoded batch)
    size_t len, cap;
    void *arena;  // owned: a decoded batch's series, labels and samples; NULL when built
    void *blocks; // owned: a built batch's label arrays and text (blocks that never move)
};

struct fw_msg {
    fw_msg_type_t type;
    int version;
    struct fw_batch *batch; // owned; SAMPLES only
    json_t *body;           // owned reference; JSON messages only
};

// --- batches ---
struct fw_batch *fw_batch_new(void);
void fw_batch_destroy(struct fw_batch **self_p);
// Append a series with a copy of labels; returns it (borrowed, valid until the batch grows).
// The copy lives in the batch's blocks (a few allocations per batch, none per label) and is
// read-only. Not on a decoded batch (programmer error: asserted).
struct fw_series *fw_batch_add_series(struct fw_batch *self, const struct fw_labels *labels);
void fw_series_add(struct fw_series *s, int64_t t_ms, double v);
// Append a sample with its start time st_ms (Prometheus's start timestamp; 0: none).
void fw_series_add_st(struct fw_series *s, int64_t t_ms, int64_t st_ms, double v);
// Total samples across the series.
size_t fw_batch_samples(const struct fw_batch *self);

// --- messages ---
// Take ownership of *batch_p (set to NULL).
struct fw_msg *fw_msg_new_samples(struct fw_batch **batch_p);
// Take ownership of body (a reference is stolen, as jansson's *_new functions do).
struct fw_msg *fw_msg_new_json(fw_msg_type_t type, json_t *body);
void fw_msg_destroy(struct fw_msg **self_p);

// Encode to frames. Returns a new zmsg_t, or NULL with err (a label too long to encode, a
// JSON body that fails the schema).
zmsg_t *fw_msg_encode(const struct fw_msg *self, fw_err_t *err);
// Decode frames (borrowed; not modified) into a new message. 0, or -1 with err.
int fw_msg_decode(zmsg_t *frames, struct fw_msg **out, fw_err_t *err);

// In encoded SAMPLES frames (fw_msg_encode), set the body's `oldest` field in place, so a
// sender can resend a stored batch with what it holds now. 0, or -1 when frames are no
// SAMPLES v2 or v3 message or oldest is not in 1..seq.
int fw_msg_samples_set_oldest(zmsg_t *frames, uint64_t oldest);
// The same for `seq` and `oldest` together, for frames encoded before their number was known
// (the scraper encodes on worker threads; its sender numbers them). 0, or -1 when frames are
// no SAMPLES v2 or v3 message or oldest is not in 1..seq.
int fw_msg_samples_set_seq(zmsg_t *frames, uint64_t seq, uint64_t oldest);

// Encode and send on sock; *self_p is destroyed either way. 0, or -1 with err.
int fw_msg_send(struct fw_msg **self_p, zsock_t *sock, fw_err_t *err);
// Receive one multipart from sock and decode it. 0, or -1 with err (interrupted: err says so
// and *out is NULL).
int fw_msg_recv(zsock_t *sock, struct fw_msg **out, fw_err_t *err);

// The body to PUBlish for taps: body itself (a new reference) when the type carries no
// secret, else a deep copy with every FW_SECRET path of fw_msg.def shown as "<secret>".
json_t *fw_msg_redacted(fw_msg_type_t type, const json_t *body);

// One-line JSON for people (fwtail): {"type":..,"version":..,"body":..}; SAMPLES bodies are
// decoded to {"sender":..,"seq":..,"oldest":..,"series":[{"labels":{..},"samples":[[t_ms,
// "v"],..]}]}. Caller frees.
char *fw_msg_to_json(const struct fw_msg *self);

const char *fw_msg_type_str(fw_msg_type_t type);
// Parse a type token; returns 0 or -1.
int fw_msg_type_parse(const char *token, fw_msg_type_t *out);
// The version this build speaks for type.
int fw_msg_type_version(fw_msg_type_t type);

#endif
