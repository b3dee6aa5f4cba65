/*  tsdb_rwsend_sort.c — radix sorts of the remote-write shards' samples (see
    tsdb_rwsend_sort.h).
*/
#include "tsdb_rwsend_sort.h"

#include <string.h>

static inline uint64_t
s_key(const struct tsdb_rwsend_entry *x, bool by_series, int64_t base)
{
    return by_series ? x->series : (uint64_t)x->t - (uint64_t)base;
}

void
tsdb_rwsend_sort(struct tsdb_rwsend_entry *e, struct tsdb_rwsend_entry *tmp, size_t n,
                 bool by_series)
{
    if (n < 2)
        return;
    int64_t base = e[0].t;
    for (size_t i = 1; i < n; i++)
        base = e[i].t < base ? e[i].t : base;
    uint64_t max = 0;
    for (size_t i = 0; i < n; i++)
        max |= s_key(&e[i], by_series, base);
    struct tsdb_rwsend_entry *src = e, *dst = tmp;
    for (unsigned shift = 0; shift < 64 && (max >> shift) != 0; shift += 8) {
        size_t at[257] = {0};
        for (size_t i = 0; i < n; i++)
            at[((s_key(&src[i], by_series, base) >> shift) & 0xff) + 1]++;
        for (size_t d = 1; d < 257; d++)
            at[d] += at[d - 1];
        for (size_t i = 0; i < n; i++)
            dst[at[(s_key(&src[i], by_series, base) >> shift) & 0xff]++] = src[i];
        struct tsdb_rwsend_entry *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != e)
        memcpy(e, src, n * sizeof(*e));
}
