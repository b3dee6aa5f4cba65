/*  fw_sender_refs.h — a sender's series refs (SAMPLES v3 and v4, docs/wire.md "Series refs").

    A sender gives each label set it sends often a ref, a small number unique among its
    live series. The first batch that carries a ref carries its labels too (a definition);
    later batches carry the ref alone (a use), so tsdb neither reads nor compares the labels
    of a series it already knows. tsdb keeps the refs in memory only: when it does not know
    a ref a batch uses (it restarted, it freed the series, it forgot the sender), it stores
    nothing of the batch and answers `unknown_refs`. The sender must then send that batch
    and every later one again with the labels of every ref they use. This module makes that
    possible wherever the batches were encoded:

    - allocation (any thread): fw_sender_refs_alloc gives the lowest free ref; a released
      ref (fw_sender_refs_release, any thread) is free again only once no batch the sender
      holds can still use it with its old meaning;
    - the generation (any thread): fw_sender_refs_gen changes each time tsdb asked for
      labels again; an encoder defines every ref whose definition it last sent under
      another generation, so batches encoded later carry labels again;
    - the labels (the sender's thread): fw_sender_refs_learn keeps a copy of each
      definition that passes (the encoded labels, fw_samples_labels_put), and
      fw_sender_refs_rewrite turns a held batch into one that defines every ref it uses.

    A ref is never reused while a held batch may use it: a batch rewritten after tsdb lost
    its refs therefore always gets the labels the ref had when the batch was encoded. A ref
    is reused once its old meaning is gone from the buffer, so tsdb may still know that
    meaning: a batch defining a ref must reach tsdb before a use of the new meaning does.
    Batches go in order, so only a batch dropped from a full buffer can break that; the
    sender then starts a new generation and rewrites the uses it holds (fw_sender.c).
*/
#ifndef FW_SENDER_REFS_H
#define FW_SENDER_REFS_H

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fw_sender_refs fw_sender_refs_t;

fw_sender_refs_t *fw_sender_refs_new(void);
void fw_sender_refs_destroy(fw_sender_refs_t **self_p);

// Any thread. A free ref (1..FW_SAMPLES_REF_MAX), or 0 when all are taken (send the
// labels without a ref then).
uint32_t fw_sender_refs_alloc(fw_sender_refs_t *self);
// Any thread. The caller will not use ref again; it becomes free once every batch that the
// sender numbered before fw_sender_refs_settle next runs is acknowledged or dropped.
void fw_sender_refs_release(fw_sender_refs_t *self, uint32_t ref);
// Any thread. The current generation (starts at 1).
uint64_t fw_sender_refs_gen(const fw_sender_refs_t *self);

// The sender's thread: the releases so far wait for seq `last_seq` (the last seq given out)
// and those whose seq is below `lowest_held` (the lowest seq still held; last_seq + 1 when
// none is) are freed, with their labels.
void fw_sender_refs_settle(fw_sender_refs_t *self, uint64_t last_seq, uint64_t lowest_held);
// The sender's thread: keep the definitions of a SAMPLES body (borrowed) of version
// FW_SAMPLES_V3 or _V4 (v4: v3 with start times). Returns what the body holds:
// FW_SENDER_REFS_DEFS (definitions), FW_SENDER_REFS_USES (uses), or both.
#define FW_SENDER_REFS_DEFS 1u
#define FW_SENDER_REFS_USES 2u
unsigned fw_sender_refs_learn(fw_sender_refs_t *self, int version, const unsigned char *body,
                              size_t size);
// The sender's thread: tsdb asked for labels again; the generation moves on.
void fw_sender_refs_reset(fw_sender_refs_t *self);
// The sender's thread: SAMPLES frames (borrowed) as a new message whose every use of a
// ref is a definition, from the labels learnt; a use whose labels were never learnt is
// left out, its samples counted in *lost; start times (v4) are kept. NULL when frames are
// no valid SAMPLES v3 or v4 message (nothing to rewrite).
zmsg_t *fw_sender_refs_rewrite(const fw_sender_refs_t *self, zmsg_t *frames, size_t *lost);
// Refs defined and learnt, and those released but not yet free.
size_t fw_sender_refs_count(const fw_sender_refs_t *self);
size_t fw_sender_refs_pending(const fw_sender_refs_t *self);

#endif
