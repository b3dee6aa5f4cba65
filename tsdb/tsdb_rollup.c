/*  tsdb_rollup.c — rollup buckets: the aggregates, the page codec and the read side (see
    tsdb_rollup.h). The writer is tsdb_rollup_write.c, the query side tsdb_rollup_eval.c.
*/
#include <lmdb.h>
#include <math.h>
#include <string.h>

#include "fw_bytes.h"
#include "fw_mem.h"
#include "tsdb_chunk.h"
#include "tsdb_rollup.h"
#include "tsdb_store_int.h"

// ---------------------------------------------------------------------------------------
// Aggregates

static bool
s_whole(double v)
{
    return v == trunc(v) && fabs(v) <= 9007199254740992.0; // false for NaN and infinities
}

void
tsdb_rollup_agg_add(struct tsdb_rollup_agg *a, int64_t t, double v)
{
    if (a->count == 0) {
        *a = (struct tsdb_rollup_agg){t, t, v, v, v, v, v, 0, 1, 0, 0, s_whole(v)};
        return;
    }
    double prev = a->last_v;
    if (v < prev) {
        a->reset_sum = a->n_resets == 0 ? prev : a->reset_sum + prev;
        a->n_resets++;
    }
    if (v != prev && !(isnan(v) && isnan(prev)))
        a->n_changes++;
    if (v < a->min || isnan(a->min))
        a->min = v;
    if (v > a->max || isnan(a->max))
        a->max = v;
    a->sum += v;
    a->ints = a->ints && s_whole(v);
    a->last_t = t;
    a->last_v = v;
    a->count++;
}

// ---------------------------------------------------------------------------------------
// Pages

static uint64_t
s_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    return u;
}

static double
s_double(uint64_t u)
{
    double v;
    memcpy(&v, &u, 8);
    return v;
}

// v as its XOR with ref: a byte (0x80: the same bits; else the XOR's zero bytes, leading
// << 4 | trailing), then the bytes between.
static size_t
s_put_xor(unsigned char *p, double v, double ref)
{
    uint64_t x = s_bits(v) ^ s_bits(ref);
    if (x == 0) {
        p[0] = 0x80;
        return 1;
    }
    unsigned lead = 0, trail = 0;
    while (((x >> (56 - 8 * lead)) & 0xff) == 0)
        lead++;
    while (((x >> (8 * trail)) & 0xff) == 0)
        trail++;
    size_t n = 8 - lead - trail;
    p[0] = (unsigned char)(lead << 4 | trail);
    for (size_t k = 0; k < n; k++)
        p[1 + k] = (unsigned char)(x >> (8 * (7 - lead - k)));
    return 1 + n;
}

static int
s_get_xor(const unsigned char *p, size_t len, size_t *off, double ref, double *out)
{
    if (*off >= len)
        return FW_ETRUNC;
    unsigned h = p[(*off)++];
    uint64_t x = 0;
    if (h != 0x80) {
        unsigned lead = h >> 4, trail = h & 15;
        if (lead + trail >= 8)
            return FW_EPARSE;
        size_t n = 8 - lead - trail;
        if (len - *off < n)
            return FW_ETRUNC;
        for (size_t k = 0; k < n; k++)
            x |= (uint64_t)p[*off + k] << (8 * (7 - lead - k));
        *off += n;
    }
    *out = s_double(s_bits(ref) ^ x);
    return 0;
}

static uint64_t
s_zigzag(int64_t x)
{
    return ((uint64_t)x << 1) ^ (uint64_t)(x >> 63);
}

static int64_t
s_unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

// Version 3 codes a value as the shorter of its XOR with a reference and, when it is a
// rounded decimal (m / 10^d bit for bit, as the chunk codec's decimals), a tag 0x90 | d and
// the zigzag varint of m less the reference scaled by 10^d and rounded; and stores a bucket's
// sum only when its values are whole (the only sums queries use: s_exact in
// tsdb_rollup_eval.c; the others decode as NaN). Version 2 (XOR only, every sum, reset_sum
// before first_v) is still read.
// Version 4 (| 0x80: the times below in whole seconds) codes a bucket's times as their
// distances from its edges (the first sample after the start, the last before the end: a
// regular scrape makes them the same in every bucket), each as the zigzag of its difference
// from the previous bucket's, and a single sample's once; the changes as count - 1 less
// them (a gauge that changes at every sample: 0); the sum against count * (first + last) / 2
// (a steady counter's sum); and a single sample's value once. Version 3 is still read.
#define S_PAGE_VERSION 4
#define S_PAGE_SECONDS 0x80
#define S_DEC_TAG 0x90

// Version 4's reference for a bucket's sum: the same operations on both sides.
static double
s_sum_ref(uint32_t count, double first, double last)
{
    double r = (double)count * (first + last) * 0.5;
    return isfinite(r) ? r : 0;
}

// The base of a decimal value at scale d: ref * 10^d rounded (0 out of range); the same
// operations on both sides.
static int64_t
s_dec_ref(double ref, unsigned d)
{
    int64_t p = 1;
    for (unsigned k = 0; k < d; k++)
        p *= 10;
    double x = ref * (double)p;
    return x > -0x1p53 && x < 0x1p53 ? (int64_t)llround(x) : 0;
}

static size_t
s_put_val(unsigned char *p, double v, double ref)
{
    size_t n = s_put_xor(p, v, ref);
    if (n <= 2)
        return n;
    for (unsigned d = 0; d <= TSDB_CHUNK_MAX_SCALE; d++) {
        int64_t m;
        if (!tsdb_chunk_dec_fit(v, d, &m))
            continue;
        unsigned char tmp[12];
        tmp[0] = (unsigned char)(S_DEC_TAG | d);
        size_t k = 1 + fw_bytes_put_uvarint(tmp + 1, s_zigzag(m - s_dec_ref(ref, d)));
        if (k < n) {
            memcpy(p, tmp, k);
            n = k;
        }
        break; // a larger scale only makes m longer
    }
    return n;
}

static int
s_get_val(const unsigned char *p, size_t len, size_t *off, double ref, double *out)
{
    if (*off >= len)
        return FW_ETRUNC;
    if ((p[*off] & 0xf0) != S_DEC_TAG)
        return s_get_xor(p, len, off, ref, out);
    unsigned d = p[(*off)++] & 15;
    uint64_t u;
    int rc = fw_bytes_get_uvarint(p, len, off, &u);
    if (rc != 0)
        return rc;
    int64_t delta = s_unzigzag(u), base = s_dec_ref(ref, d);
    if (delta > ((int64_t)1 << 55) || delta < -((int64_t)1 << 55) || d > TSDB_CHUNK_MAX_SCALE)
        return FW_EPARSE;
    int64_t m = base + delta;
    if (m > ((int64_t)1 << 53) || m < -((int64_t)1 << 53))
        return FW_EPARSE;
    *out = tsdb_chunk_dec_value(m, d);
    return 0;
}

enum {
    S_F_INTS = 1,
    S_F_MIN_FIRST = 2,
    S_F_MIN_LAST = 4,
    S_F_MAX_FIRST = 8,
    S_F_MAX_LAST = 16,
    S_F_RESETS = 32,
    S_F_CHANGES = 64,
};

// The flags of bucket a (min and max told as first or last where they are).
static unsigned
s_flags(const struct tsdb_rollup_agg *a)
{
    uint64_t mn = s_bits(a->min), mx = s_bits(a->max);
    unsigned f = (a->ints ? S_F_INTS : 0) | (a->n_resets ? S_F_RESETS : 0) |
                 (a->n_changes ? S_F_CHANGES : 0);
    if (mn == s_bits(a->first_v))
        f |= S_F_MIN_FIRST;
    else if (mn == s_bits(a->last_v))
        f |= S_F_MIN_LAST;
    if (mx == s_bits(a->first_v))
        f |= S_F_MAX_FIRST;
    else if (mx == s_bits(a->last_v))
        f |= S_F_MAX_LAST;
    return f;
}

size_t
tsdb_rollup_page_encode(const struct tsdb_rollup_bucket *b, size_t n, int64_t page_start,
                        int64_t step, unsigned char *out)
{
    bool secs = true;
    for (size_t k = 0; k < n && secs; k++)
        secs = (b[k].a.first_t - (b[k].end - step)) % 1000 == 0 &&
               (b[k].end - b[k].a.last_t) % 1000 == 0;
    int64_t u = secs ? 1000 : 1;
    size_t o = 0;
    out[o++] = (unsigned char)(S_PAGE_VERSION | (secs ? S_PAGE_SECONDS : 0));
    double prev_last = 0;
    int64_t prev_lead = 0, prev_tail = 0;
    for (size_t k = 0; k < n; k++) {
        const struct tsdb_rollup_agg *a = &b[k].a;
        unsigned f = s_flags(a);
        // in (0, step] and [0, step)
        int64_t lead = (a->first_t - (b[k].end - step)) / u, tail = (b[k].end - a->last_t) / u;
        o += fw_bytes_put_uvarint(out + o, (uint64_t)((b[k].end - page_start) / step - 1));
        o += fw_bytes_put_uvarint(out + o, a->count);
        out[o++] = (unsigned char)f;
        o += fw_bytes_put_uvarint(out + o, s_zigzag(tail - prev_tail));
        prev_tail = tail;
        if (a->count > 1) {
            o += fw_bytes_put_uvarint(out + o, s_zigzag(lead - prev_lead));
            prev_lead = lead;
        }
        if (a->n_resets)
            o += fw_bytes_put_uvarint(out + o, a->n_resets);
        if (a->n_changes)
            o += fw_bytes_put_uvarint(out + o, a->count - 1 - a->n_changes);
        o += s_put_val(out + o, a->first_v, prev_last);
        if (a->count > 1)
            o += s_put_val(out + o, a->last_v, a->first_v);
        if (!(f & (S_F_MIN_FIRST | S_F_MIN_LAST)))
            o += s_put_val(out + o, a->min, a->first_v);
        if (!(f & (S_F_MAX_FIRST | S_F_MAX_LAST)))
            o += s_put_val(out + o, a->max, a->first_v);
        if (a->count > 1 && a->ints)
            o += s_put_val(out + o, a->sum, s_sum_ref(a->count, a->first_v, a->last_v));
        if (a->n_resets)
            o += s_put_val(out + o, a->reset_sum, a->first_v);
        prev_last = a->last_v;
    }
    return o;
}

// Version 4 (see S_PAGE_VERSION).

// A bucket's min and max after its first and last values: each is one of those (flagged)
// or coded against the first. 0 or an error, as s_get_val.
static int
s_get_min_max(const unsigned char *p, size_t len, size_t *o, unsigned f, struct tsdb_rollup_agg *a)
{
    int rc = 0;
    if (f & S_F_MIN_FIRST)
        a->min = a->first_v;
    else if (f & S_F_MIN_LAST)
        a->min = a->last_v;
    else if ((rc = s_get_val(p, len, o, a->first_v, &a->min)) != 0)
        return rc;
    if (f & S_F_MAX_FIRST)
        a->max = a->first_v;
    else if (f & S_F_MAX_LAST)
        a->max = a->last_v;
    else
        rc = s_get_val(p, len, o, a->first_v, &a->max);
    return rc;
}
static int
s_decode_v4(const unsigned char *p, size_t len, int64_t page_start, int64_t step,
            struct tsdb_rollup_bucket **arr, size_t *n, size_t *cap)
{
    int64_t u = (p[0] & S_PAGE_SECONDS) ? 1000 : 1, lim = step / u;
    size_t o = 1;
    double prev_last = 0;
    int64_t last_end = page_start, prev_lead = 0, prev_tail = 0;
    while (o < len) {
        uint64_t idx, count, z, nres = 0, nch = 0;
        int rc;
        if ((rc = fw_bytes_get_uvarint(p, len, &o, &idx)) != 0 ||
            (rc = fw_bytes_get_uvarint(p, len, &o, &count)) != 0)
            return rc;
        if (o >= len)
            return FW_ETRUNC;
        unsigned f = p[o++];
        if (idx >= TSDB_ROLLUP_PAGE || count == 0 || count > UINT32_MAX || f >= 128)
            return FW_EPARSE;
        if ((rc = fw_bytes_get_uvarint(p, len, &o, &z)) != 0)
            return rc;
        int64_t d = s_unzigzag(z); // checked before the sum: no overflow from damage
        if (d < -lim || d > lim || prev_tail + d < 0 || prev_tail + d >= lim)
            return FW_EPARSE;
        int64_t tail = prev_tail + d, lead = lim - tail;
        if (count > 1) {
            if ((rc = fw_bytes_get_uvarint(p, len, &o, &z)) != 0)
                return rc;
            d = s_unzigzag(z);
            if (d < -lim || d > lim || prev_lead + d <= 0 || prev_lead + d + tail > lim)
                return FW_EPARSE;
            lead = prev_lead + d;
            prev_lead = lead;
        }
        prev_tail = tail;
        int64_t end = page_start + ((int64_t)idx + 1) * step;
        if (end <= last_end)
            return FW_EPARSE;
        struct tsdb_rollup_agg a = {0};
        a.count = (uint32_t)count;
        a.first_t = end - step + lead * u;
        a.last_t = end - tail * u;
        a.ints = f & S_F_INTS;
        if ((f & S_F_RESETS) && (rc = fw_bytes_get_uvarint(p, len, &o, &nres)) != 0)
            return rc;
        if ((f & S_F_CHANGES) && (rc = fw_bytes_get_uvarint(p, len, &o, &nch)) != 0)
            return rc;
        if ((nres == 0) != !(f & S_F_RESETS) || nres >= count ||
            nch + 1 >= count + !(f & S_F_CHANGES))
            return FW_EPARSE;
        a.n_resets = (uint32_t)nres;
        a.n_changes = (f & S_F_CHANGES) ? (uint32_t)(count - 1 - nch) : 0;
        if ((rc = s_get_val(p, len, &o, prev_last, &a.first_v)) != 0)
            return rc;
        a.last_v = a.first_v;
        if (count > 1 && (rc = s_get_val(p, len, &o, a.first_v, &a.last_v)) != 0)
            return rc;
        if ((rc = s_get_min_max(p, len, &o, f, &a)) != 0)
            return rc;
        a.sum = count > 1 ? NAN : a.first_v; // not stored unless whole: no query uses it
        if (count > 1 && a.ints &&
            (rc = s_get_val(p, len, &o, s_sum_ref(a.count, a.first_v, a.last_v), &a.sum)) != 0)
            return rc;
        if ((f & S_F_RESETS) && (rc = s_get_val(p, len, &o, a.first_v, &a.reset_sum)) != 0)
            return rc;
        fw_mem_grow((void **)arr, cap, *n + 1, sizeof(**arr));
        (*arr)[(*n)++] = (struct tsdb_rollup_bucket){end, a};
        last_end = end;
        prev_last = a.last_v;
    }
    return 0;
}

int
tsdb_rollup_page_decode(const unsigned char *p, size_t len, int64_t page_start, int64_t step,
                        struct tsdb_rollup_bucket **arr, size_t *n, size_t *cap)
{
    if (len < 1)
        return FW_ETRUNC;
    if ((p[0] & ~S_PAGE_SECONDS) == S_PAGE_VERSION)
        return s_decode_v4(p, len, page_start, step, arr, n, cap);
    if (p[0] != 3 && p[0] != 2)
        return FW_EPARSE; // version 1 (its first weeks) is written again from the chunks
    bool v2 = p[0] == 2;
    size_t o = 1;
    double prev_last = 0, prev_sum = 0;
    int64_t last_end = page_start, prev_dfirst = 0, prev_dlast = 0;
    while (o < len) {
        uint64_t idx, count, zfirst, zlast, nres = 0, nch = 0;
        int rc;
        if ((rc = fw_bytes_get_uvarint(p, len, &o, &idx)) != 0 ||
            (rc = fw_bytes_get_uvarint(p, len, &o, &count)) != 0)
            return rc;
        if (o >= len)
            return FW_ETRUNC;
        unsigned f = p[o++];
        if ((rc = fw_bytes_get_uvarint(p, len, &o, &zfirst)) != 0 ||
            (rc = fw_bytes_get_uvarint(p, len, &o, &zlast)) != 0)
            return rc;
        if (idx >= TSDB_ROLLUP_PAGE || count == 0 || count > UINT32_MAX || f >= 128)
            return FW_EPARSE;
        int64_t end = page_start + ((int64_t)idx + 1) * step;
        // both stay within a step: no overflow from a damaged delta
        int64_t dfirst = prev_dfirst + s_unzigzag(zfirst), dlast = prev_dlast + s_unzigzag(zlast);
        if (end <= last_end || dfirst < 0 || dfirst >= step || dlast < 0 || dlast > dfirst)
            return FW_EPARSE;
        struct tsdb_rollup_agg a = {0};
        a.count = (uint32_t)count;
        a.first_t = end - dfirst;
        a.last_t = a.first_t + dlast;
        a.ints = f & S_F_INTS;
        double reset_sum = 0;
        if (f & S_F_RESETS) {
            if ((rc = fw_bytes_get_uvarint(p, len, &o, &nres)) != 0)
                return rc;
            // version 2: coded against first_v, which comes later: the XOR alone for now
            if (v2 && (rc = s_get_xor(p, len, &o, 0, &reset_sum)) != 0)
                return rc;
        }
        if ((f & S_F_CHANGES) && (rc = fw_bytes_get_uvarint(p, len, &o, &nch)) != 0)
            return rc;
        if ((nres == 0) != !(f & S_F_RESETS) || nres >= count || nch >= count)
            return FW_EPARSE;
        a.n_resets = (uint32_t)nres;
        a.n_changes = (uint32_t)nch;
        // version 2's values are all XOR-coded: s_get_val reads those too
        if ((rc = s_get_val(p, len, &o, prev_last, &a.first_v)) != 0 ||
            (rc = s_get_val(p, len, &o, a.first_v, &a.last_v)) != 0)
            return rc;
        if (v2 && (f & S_F_RESETS))
            a.reset_sum = s_double(s_bits(reset_sum) ^ s_bits(a.first_v));
        if ((rc = s_get_min_max(p, len, &o, f, &a)) != 0)
            return rc;
        if (count > 1 && (v2 || a.ints)) {
            if ((rc = s_get_val(p, len, &o, prev_sum, &a.sum)) != 0)
                return rc;
            prev_sum = a.sum;
        } else {
            a.sum = count > 1 ? NAN : a.first_v; // not stored: no query uses it
        }
        if (!v2 && (f & S_F_RESETS) && (rc = s_get_val(p, len, &o, a.first_v, &a.reset_sum)) != 0)
            return rc;
        fw_mem_grow((void **)arr, cap, *n + 1, sizeof(**arr));
        (*arr)[(*n)++] = (struct tsdb_rollup_bucket){end, a};
        last_end = end;
        prev_last = a.last_v;
        prev_dfirst = dfirst;
        prev_dlast = dlast;
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Group pages and marks

#define S_GROUP_VERSION 4
#define S_MARKS_VERSION 1

int
tsdb_rollup_group_parse(const unsigned char *p, size_t len, struct tsdb_rollup_group *g)
{
    g->n = 0;
    if (len < 2)
        return FW_ETRUNC;
    if (p[0] != S_GROUP_VERSION)
        return FW_EPARSE;
    size_t o = 1;
    uint64_t n;
    int rc = fw_bytes_get_uvarint(p, len, &o, &n);
    if (rc != 0)
        return rc;
    if (n == 0 || n > TSDB_ROLLUP_GROUP)
        return FW_EPARSE;
    size_t total = 0;
    for (unsigned k = 0; k < n; k++) {
        uint64_t sl;
        if (o >= len)
            return FW_ETRUNC;
        unsigned slot = p[o++];
        if ((rc = fw_bytes_get_uvarint(p, len, &o, &sl)) != 0)
            return rc;
        if (slot >= TSDB_ROLLUP_GROUP || (k > 0 && slot <= g->slot[k - 1]) || sl == 0 || sl > len)
            return FW_EPARSE;
        g->slot[k] = (unsigned char)slot;
        g->len[k] = (size_t)sl;
        total += (size_t)sl;
    }
    if (total != len - o)
        return total > len - o ? FW_ETRUNC : FW_EPARSE;
    for (unsigned k = 0; k < n; k++) {
        g->off[k] = o;
        o += g->len[k];
    }
    g->n = (unsigned)n;
    return 0;
}

bool
tsdb_rollup_group_find(const struct tsdb_rollup_group *g, const unsigned char *p, unsigned slot,
                       const unsigned char **seg, size_t *seglen)
{
    for (unsigned k = 0; k < g->n; k++)
        if (g->slot[k] == slot) {
            *seg = p + g->off[k];
            *seglen = g->len[k];
            return true;
        }
    return false;
}

size_t
tsdb_rollup_group_splice(const struct tsdb_rollup_group *g, const unsigned char *p, unsigned slot,
                         const unsigned char *seg, size_t seglen, unsigned char *out)
{
    // the segments after the splice: the others, and slot's when seglen > 0
    unsigned n = 0;
    const unsigned char *src[TSDB_ROLLUP_GROUP + 1];
    size_t len[TSDB_ROLLUP_GROUP + 1];
    unsigned char sl[TSDB_ROLLUP_GROUP + 1];
    bool placed = seglen == 0;
    for (unsigned k = 0; k <= (g ? g->n : 0); k++) {
        bool last = !g || k == g->n;
        if (!placed && (last || g->slot[k] >= slot)) {
            src[n] = seg;
            len[n] = seglen;
            sl[n++] = (unsigned char)slot;
            placed = true;
        }
        if (last)
            break;
        if (g->slot[k] == slot)
            continue;
        src[n] = p + g->off[k];
        len[n] = g->len[k];
        sl[n++] = g->slot[k];
    }
    if (n == 0)
        return 0;
    size_t o = 0;
    out[o++] = S_GROUP_VERSION;
    o += fw_bytes_put_uvarint(out + o, n);
    for (unsigned k = 0; k < n; k++) {
        out[o++] = sl[k];
        o += fw_bytes_put_uvarint(out + o, len[k]);
    }
    for (unsigned k = 0; k < n; k++) {
        memmove(out + o, src[k], len[k]); // src may lie in out's old bytes: never here
        o += len[k];
    }
    return o;
}

int
tsdb_rollup_marks_decode(const unsigned char *p, size_t len, int64_t w[TSDB_ROLLUP_GROUP])
{
    for (unsigned k = 0; k < TSDB_ROLLUP_GROUP; k++)
        w[k] = INT64_MIN;
    if (len < 1)
        return FW_ETRUNC;
    if (p[0] != S_MARKS_VERSION)
        return FW_EPARSE;
    size_t o = 1;
    int64_t prev = 0;
    int last = -1;
    while (o < len) {
        unsigned slot = p[o++];
        uint64_t z;
        int rc = fw_bytes_get_uvarint(p, len, &o, &z);
        if (rc != 0)
            return rc;
        if (slot >= TSDB_ROLLUP_GROUP || (int)slot <= last)
            return FW_EPARSE;
        prev = (int64_t)((uint64_t)prev + (uint64_t)s_unzigzag(z)); // wraps like the encoder
        if (prev == INT64_MIN)
            return FW_EPARSE;
        w[slot] = prev;
        last = (int)slot;
    }
    return 0;
}

size_t
tsdb_rollup_marks_encode(const int64_t w[TSDB_ROLLUP_GROUP], unsigned char *out)
{
    size_t o = 0;
    int64_t prev = 0;
    out[o++] = S_MARKS_VERSION;
    for (unsigned k = 0; k < TSDB_ROLLUP_GROUP; k++) {
        if (w[k] == INT64_MIN)
            continue;
        out[o++] = (unsigned char)k;
        o += fw_bytes_put_uvarint(out + o, s_zigzag((int64_t)((uint64_t)w[k] - (uint64_t)prev)));
        prev = w[k];
    }
    return o > 1 ? o : 0;
}

// ---------------------------------------------------------------------------------------
// Reading

int
tsdb_rollup_mark(tsdb_store_reader_t *r, uint64_t id, int64_t *w)
{
    return tsdb_store_int_rollup_mark(r->store, r->txn, id, w);
}

int
tsdb_rollup_cut(tsdb_store_reader_t *r, int level, int64_t *cut)
{
    unsigned char key[9];
    fw_bytes_put_u64be(key, 0);
    key[8] = (unsigned char)level;
    MDB_val k = {9, key}, v;
    int rc = mdb_get(r->txn, r->store->rollups_db, &k, &v);
    *cut = INT64_MIN;
    if (rc == 0 && v.mv_size == 8)
        *cut = (int64_t)fw_bytes_get_le(v.mv_data, 8);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

// Buckets of (lo, hi] computed from the raw samples.
static int
s_raw(tsdb_store_reader_t *r, uint64_t id, int64_t step, int64_t lo, int64_t hi,
      struct tsdb_rollup_bucket **arr, size_t *len, size_t *cap, int64_t *raw)
{
    if (lo >= hi)
        return 0;
    struct tsdb_store_iter it;
    tsdb_store_iter_init(&it, r, id, lo + 1, hi);
    struct tsdb_rollup_bucket cur = {INT64_MIN, {0}};
    while (tsdb_store_iter_next(&it)) {
        if (fw_sample_is_stale(it.v))
            continue;
        (*raw)++;
        int64_t end = tsdb_rollup_floor(it.t - 1, step) + step;
        if (end != cur.end && cur.a.count > 0) {
            fw_mem_grow((void **)arr, cap, *len + 1, sizeof(**arr));
            (*arr)[(*len)++] = cur;
            cur.a.count = 0;
        }
        cur.end = end;
        tsdb_rollup_agg_add(&cur.a, it.t, it.v);
    }
    if (cur.a.count > 0) {
        fw_mem_grow((void **)arr, cap, *len + 1, sizeof(**arr));
        (*arr)[(*len)++] = cur;
    }
    return tsdb_store_iter_err(&it);
}

// Stored buckets of (lo, hi]. A damaged page is reported and its span read raw.
static int
s_stored(tsdb_store_reader_t *r, uint64_t id, int level, int64_t lo, int64_t hi,
         struct tsdb_rollup_bucket **arr, size_t *len, size_t *cap, int64_t *raw)
{
    if (lo >= hi)
        return 0;
    int64_t step = tsdb_rollup_step_ms(level), span = step * TSDB_ROLLUP_PAGE;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(r->txn, r->store->rollups_db, &cur);
    if (rc != 0)
        return rc;
    unsigned char key[17];
    uint64_t g = id / TSDB_ROLLUP_GROUP;
    unsigned slot = (unsigned)(id % TSDB_ROLLUP_GROUP);
    tsdb_store_int_rollup_key(key, g, level, tsdb_rollup_floor(lo, span));
    MDB_val k = {17, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data;
        if (k.mv_size != 17 || fw_bytes_get_u64be(kp) != g || kp[8] != level)
            break;
        int64_t ps = tsdb_store_int_unflip(fw_bytes_get_u64be(kp + 9));
        if (ps >= hi)
            break;
        size_t before = *len;
        struct tsdb_rollup_group gp;
        const unsigned char *seg;
        size_t seglen;
        int e = tsdb_rollup_group_parse(v.mv_data, v.mv_size, &gp);
        if (e == 0 && !tsdb_rollup_group_find(&gp, v.mv_data, slot, &seg, &seglen))
            continue; // no bucket of the series in this page
        if (e == 0)
            e = tsdb_rollup_page_decode(seg, seglen, ps, step, arr, len, cap);
        if (e != 0) {
            tsdb_store_int_report_damage(r->store, r->txn, id, "rollup page", ps, e);
            tsdb_store_int_rollup_damaged(r->store, id, ps);
            *len = before;
            int64_t a = ps > lo ? ps : lo, b = ps + span < hi ? ps + span : hi;
            if ((rc = s_raw(r, id, step, a, b, arr, len, cap, raw)) != 0)
                break;
            continue;
        }
        // keep those in (lo, hi]
        size_t w = before;
        for (size_t i = before; i < *len; i++)
            if ((*arr)[i].end > lo && (*arr)[i].end <= hi)
                (*arr)[w++] = (*arr)[i];
        *len = w;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int
tsdb_rollup_buckets(tsdb_store_reader_t *r, uint64_t id, int level, int64_t lo, int64_t hi,
                    int64_t w, int64_t cut, struct tsdb_rollup_bucket **arr, size_t *len,
                    size_t *cap, int64_t *raw, int64_t *stored)
{
    int64_t step = tsdb_rollup_step_ms(level);
    // (lo, hi] = raw (lo, a] + stored (a, b] + raw (b, hi]
    int64_t a = cut > lo ? (cut < hi ? tsdb_rollup_floor(cut, step) : hi) : lo;
    if (a < lo)
        a = lo;
    int64_t b = w < hi ? w : hi;
    if (b <= a)
        b = a;
    else
        b = tsdb_rollup_floor(b, step); // a 1h bucket needs all of it; still >= a
    int rc = s_raw(r, id, step, lo, a, arr, len, cap, raw);
    size_t before = *len;
    int64_t raw_before = *raw;
    if (rc == 0)
        rc = s_stored(r, id, level, a, b, arr, len, cap, raw);
    if (rc == 0 && *raw == raw_before)
        *stored += (int64_t)(*len - before);
    if (rc == 0)
        rc = s_raw(r, id, step, b, hi, arr, len, cap, raw);
    return rc;
}
