/*  fw_msg_samples.h — the SAMPLES body, versions 2, 3 and 4 (layout in docs/wire.md):
    encoded, decoded into a batch, or read in place.

    Version 4 is version 3 where a series may carry its samples' start times (Prometheus's
    start timestamps): the high bit of its sample count says so, and the start times (i64
    each) follow its samples. A batch none of whose series has start times is encoded as
    version 3, byte for byte as before; receivers read 2, 3 and 4.

    Version 3 puts a u32 `ref` in front of each series: the sender's number for the label
    set (0: none). A series with a ref and labels defines the ref; one with a ref and no
    labels uses the labels the ref was last defined with, in an earlier batch of the same
    sender (docs/wire.md "Series refs"). Version 2 has no refs; receivers read both.

    fw_msg_encode and fw_msg_decode use the first two. tsdb's ingest uses the third: a
    scrape sends the same series in the same order every time, and tsdb already holds
    them, so it compares each series' label bytes in the body with the labels of the series
    it found at that position last time (fw_samples_series_equal) and reads the samples
    where they lie, instead of copying every label into a decoded batch first. Only a series
    that differs is checked (fw_samples_series_check) and decoded.

    Checks are split accordingly: fw_samples_view_init checks the header and the structure
    (every length inside the body, no trailing byte); the labels of each series (names
    valid, sorted and unique, values UTF-8) are checked by fw_samples_series_check. A body
    passes fw_msg_decode exactly when it passes both for every series.
*/
#ifndef FW_MSG_SAMPLES_H
#define FW_MSG_SAMPLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_msg.h"
#include "fw_sample.h"

#define FW_SAMPLES_V2 2
#define FW_SAMPLES_V3 3
#define FW_SAMPLES_V4 4 // v3, and a series may carry its samples' start times
// v4: a series' sample count with this bit set has its samples' start times (i64 ms each, 0:
// none) after its samples.
#define FW_SAMPLES_ST_FLAG 0x80000000u
// The largest ref a v3 series may carry (receivers keep a table indexed by ref).
#define FW_SAMPLES_REF_MAX ((1u << 22) - 1)

// The SAMPLES version batch is encoded in: FW_SAMPLES_V4 when a series has start times
// (fw_series.st), else FW_SAMPLES_V3.
int fw_msg_samples_version(const struct fw_batch *batch);
// The body of batch as SAMPLES v3 (v4: fw_msg_samples_version) bytes (each series' ref from
// fw_series.ref) in *out (caller frees) and *len. 0, or -1 with err (a bad sender id or sequence
// numbers, a label or series too large to encode).
int fw_msg_samples_encode(const struct fw_batch *batch, unsigned char **out, size_t *len,
                          fw_err_t *err);
// The encoded labels of one series as SAMPLES v2 lays them out (u16 count, then per label
// u16 name length, name, u32 value length, value): their size in bytes, or 0 when the set
// cannot be encoded (more than 65535 labels, a name over 65535 bytes).
size_t fw_samples_labels_size(const struct fw_labels *l);
// Write them at dst (room for fw_samples_labels_size(l) bytes, which must not be 0).
void fw_samples_labels_put(unsigned char *dst, const struct fw_labels *l);
// v little-endian at p (n bytes of it: 4 or 8). One store on a little-endian machine: the
// scraper writes a few of these for every sample it sends.
static inline void
fw_samples_put_le(unsigned char *p, uint64_t v, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) {
        memcpy(p, &v, 8);
    } else {
        uint32_t w = (uint32_t)v;
        memcpy(p, &w, 4);
    }
#else
    for (int i = 0; i < n; i++)
        p[i] = (unsigned char)(v >> (8 * i));
#endif
}
// A series' ref (v3) at p: 4 bytes.
static inline unsigned char *
fw_samples_put_ref(unsigned char *p, uint32_t ref)
{
    fw_samples_put_le(p, ref, 4);
    return p + 4;
}
// One series of one sample after its encoded labels (u32 1, i64 t_ms, f64 bits): 20 bytes.
static inline unsigned char *
fw_samples_put_one(unsigned char *p, int64_t t_ms, double v)
{
    uint64_t t = (uint64_t)t_ms, bits;
    memcpy(&bits, &v, sizeof(bits));
    fw_samples_put_le(p, 1, 4);
    fw_samples_put_le(p + 4, t, 8);
    fw_samples_put_le(p + 12, bits, 8);
    return p + 20;
}
// The same with its start time st_ms (v4; 0: none, then as fw_samples_put_one): u32 1 (with
// FW_SAMPLES_ST_FLAG), i64 t_ms, f64 bits, i64 st_ms: 28 bytes.
static inline unsigned char *
fw_samples_put_one_st(unsigned char *p, int64_t t_ms, double v, int64_t st_ms)
{
    unsigned char *q = fw_samples_put_one(p, t_ms, v);
    if (st_ms == 0)
        return q;
    p[3] = (unsigned char)(FW_SAMPLES_ST_FLAG >> 24);
    fw_samples_put_le(q, (uint64_t)st_ms, 8);
    return q + 8;
}
// The frames of a SAMPLES message of version (FW_SAMPLES_V2 or _V3) whose header (sender,
// seq, oldest, nseries) is written and whose series_bytes of encoded series the caller
// writes at *series, in the body frame, so a batch built from pre-encoded label blocks is
// written once and never copied. NULL with err on a bad sender id, seq or oldest.
zmsg_t *fw_msg_samples_frames(int version, const char *sender, uint64_t seq, uint64_t oldest,
                              size_t nseries, size_t series_bytes, unsigned char **series,
                              fw_err_t *err);
// Decode body[0..size) of SAMPLES version into a new batch (one arena, see fw_msg.h); a
// series that uses a ref gets the ref and no labels. 0, or -1 with err.
int fw_msg_samples_decode(int version, const unsigned char *body, size_t size,
                          struct fw_batch **out, fw_err_t *err);

// A body read in place: its header, and where its series start.
struct fw_samples_view {
    char sender[FW_MSG_SENDER_MAX + 1];
    uint64_t seq, oldest;
    uint32_t nseries;
    int version;               // FW_SAMPLES_V2, _V3 or _V4
    const unsigned char *body; // borrowed
    size_t size, first;
};

// One series of a view: its encoded labels and samples, pointing into the body.
struct fw_samples_series {
    const unsigned char *labels;  // nlabels times: u16 name_len, name, u32 value_len, value
    size_t labels_len;            // bytes
    const unsigned char *samples; // nsamples times 16 bytes: i64 t_ms, f64 bits
    const unsigned char *st;      // v4: nsamples times i64 start time, or NULL: none
    uint32_t nsamples;
    uint32_t ref; // v3: the sender's ref (0: none); nlabels 0 with a ref: a use of it
    uint16_t nlabels;
};

// Read the header and check the structure of body[0..size) (borrowed; it must outlive v),
// a SAMPLES body of version (FW_SAMPLES_V2, _V3 or _V4).
// When series is not NULL, *series (grown with fw_mem_grow and *cap; the caller frees it)
// gets every series in order, as fw_samples_view_next would give them, from the same
// pass. 0, or -1 with err ("SAMPLES body truncated ...", "... trailing bytes", a bad
// header).
int fw_samples_view_init(struct fw_samples_view *v, int version, const unsigned char *body,
                         size_t size, struct fw_samples_series **series, size_t *cap,
                         fw_err_t *err);
// The series at *off (start with v->first) into *s, moving *off past it. False after the
// last. Only on a view fw_samples_view_init accepted.
bool fw_samples_view_next(const struct fw_samples_view *v, size_t *off,
                          struct fw_samples_series *s);

// Check s's labels; index names the series in err. 0, or -1 with err. *labels and *bytes
// (may be NULL) get the number of labels with a value and their names' and values' bytes,
// NULs included: what fw_samples_series_labels needs.
int fw_samples_series_check(const struct fw_samples_series *s, uint64_t index, size_t *labels,
                            size_t *bytes, fw_err_t *err);
// True when s holds exactly the label set l, with no label of empty value (such a series
// is never taken as equal: it goes through the check). Checked or not.
bool fw_samples_series_equal(const struct fw_samples_series *s, const struct fw_labels *l);
// The same against a label set kept as its text: nlabels names and values, each followed by
// a NUL ("name\0value\0..."), text_len bytes in all. No strlen: two memcmp a label.
bool fw_samples_series_equal_text(const struct fw_samples_series *s, size_t nlabels,
                                  const char *text, size_t text_len);
// s's labels (checked) as views into items[] (room for the count fw_samples_series_check
// gave) and NUL-terminated copies in text (room for its byte count). Returns the set.
struct fw_labels fw_samples_series_labels(const struct fw_samples_series *s, struct fw_label *items,
                                          char *text);

// The start time of sample k of s (0: none).
static inline int64_t
fw_samples_series_st_at(const struct fw_samples_series *s, size_t k)
{
    if (!s->st)
        return 0;
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = (u << 8) | s->st[8 * k + (size_t)i];
    return (int64_t)u;
}

// Sample k of s.
static inline struct fw_sample
fw_samples_series_at(const struct fw_samples_series *s, size_t k)
{
    const unsigned char *p = s->samples + 16 * k;
    uint64_t t = 0, bits = 0;
    for (int i = 7; i >= 0; i--) {
        t = (t << 8) | p[i];
        bits = (bits << 8) | p[8 + i];
    }
    struct fw_sample out = {(int64_t)t, 0};
    memcpy(&out.v, &bits, sizeof(bits));
    return out;
}

#endif
