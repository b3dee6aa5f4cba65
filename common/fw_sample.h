/*  fw_sample.h — one sample (a millisecond timestamp and a float64) and the stale marker.

    The smallest shared vocabulary of floorwatch's data path: the wire codec (fw_msg), the
    storage engine (tsdb_store) and the evaluator all speak it, and none of them needs the
    others' headers for it.
*/
#ifndef FW_SAMPLE_H
#define FW_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct fw_sample {
    int64_t t_ms;
    double v;
};

// Prometheus's staleness marker, a NaN with this exact bit pattern.
#define FW_STALE_NAN_BITS 0x7ff0000000000002ULL
double fw_stale_nan(void);
bool fw_is_stale_nan(double v);

// fw_is_stale_nan inline, for loops over samples (the evaluator's windows).
static inline bool
fw_sample_is_stale(double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    return bits == FW_STALE_NAN_BITS;
}

#endif
