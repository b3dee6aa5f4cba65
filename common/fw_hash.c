/*  fw_hash.c — XXH3-64 behind fw_hash.h, so no other file includes xxhash.h. */
#include "fw_hash.h"

#include <xxhash.h>

uint64_t
fw_hash64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}

uint64_t
fw_hash64_seed(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}

uint64_t
fw_hash_xxh64(const void *data, size_t len)
{
    return XXH64(data, len, 0);
}
