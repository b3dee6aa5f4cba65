/*  fw_hash.h — the project's one hash function: XXH3-64 (Debian libxxhash-dev).

    Label sets, series lookups, posting keys and parser tables all hash through here, so
    there is one function to reason about, and some of its values are on disk (tsdb's
    series index). XXH3's output is frozen since xxHash 0.8.0, so a stored hash stays valid
    across library upgrades. It is several times faster than the byte-at-a-time FNV-1a it
    replaces on label-sized inputs, and distributes well enough for open addressing.
    Not for security: a hostile peer can build collisions, so every user of a hash compares
    the full key on a hit.
*/
#ifndef FW_HASH_H
#define FW_HASH_H

#include <stddef.h>
#include <stdint.h>

// The 64-bit hash of data[0..len).
uint64_t fw_hash64(const void *data, size_t len);

// The hash of data[0..len) continuing from a previous value `seed`: hashing a sequence of
// pieces this way is deterministic for the same pieces (not equal to hashing them joined).
uint64_t fw_hash64_seed(const void *data, size_t len, uint64_t seed);

// XXH64 (seed 0) of data[0..len): not the project's hash, but Prometheus's (Go's
// cespare/xxhash Sum64, labels.Labels.Hash), for results that must match Prometheus's
// (limit_ratio's sampling).
uint64_t fw_hash_xxh64(const void *data, size_t len);

#endif
