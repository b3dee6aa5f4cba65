/*  tsdb_chunk.h — the chunk codec: up to 120 samples of one series in a few bytes each.

    A chunk is the unit tsdb stores (one LMDB record, keyed by series id and chunk start) and
    keeps open in the head. This module is pure: it knows nothing of LMDB, series or the wire,
    allocates nothing per sample, and never trusts the bytes it decodes.

    Byte layout (every multi-byte integer little-endian; "uvarint" is LEB128, "zvarint" a
    uvarint of the zigzag-mapped value, at most 10 bytes either way):

        off 0   u8       bits 0-5, the value encoding: 1 = XOR (Gorilla floats),
                         2 = decimal (scaled integers), 3 = decimal steps (scaled
                         integers, appendable), 4 = XOR with start times, 0 and 5..63
                         reserved (native histograms, ...); bits
   6-7, the time encoding: 0 = dod buckets, 1 = a Rice-coded column, 2 = regular, 3 reserved. This
   build refuses reserved ones with FW_ETYPE. off 1   u16      n, the number of samples, 1..65535
        off 3   u32      span = max t - min t in ms (0 when n = 1)
        off 7   zvarint  min t, the first sample's timestamp in ms
        then    a bit stream, most significant bit first, padded with 0 bits to a byte;
                nothing follows it

    The fixed-width fields come first so that the open chunk can update n and span in place
    after every append: the bytes of an open chunk are a complete, decodable chunk at all
    times. max t = min t + span is in the header, so a reader skips a chunk by time range
    without decoding it (tsdb_chunk_info). Open chunks use dod-bucket timestamps and decimal
    steps while every value so far is a rounded decimal, XOR otherwise; sealing picks the
    smallest form.

    The bit stream: the time column's parameters (time encoding 1), the value column's
    parameters (decimal), 4 bits d and U(m_0) (decimal steps) or sample 0's 64 value bits
    (XOR), then for each sample i >= 1 its
    timestamp code and its value code. Sample 0's timestamp is min t.

    Integer columns (time encoding 1 over the timestamps, decimal over the m_i):
        parameters      1 bit order, 6 bits k, then for n >= 2 U(p): order 0, p is the
                        median step and sample i >= 1 is R(x_i - x_(i-1) - p); order 1, p is
                        the first step x_1 - x_0, sample 1 has no code and sample i >= 2 is
                        R(step_i - step_(i-1))
    where U(x) is 6 bits L, the bit length of zigzag(x), then those L bits; and R(x) is the
    Rice code of u = zigzag(x): q = u >> k; q < 16 is written as q '1's, a '0' and the k low
    bits of u; q >= 16 as sixteen '1's, then 6 bits L and the L bits of u. Grid timestamps
    with a few ms of jitter take ~3 bits a sample this way.

    Timestamps, time encoding 2 (regular): no codes; every step is span / (n - 1), which must
    be whole ms. Time encoding 0 (dod buckets, the only one an open chunk can use):

        sample 1        first delta t1 - t0 (1 .. 2^32-1): 5 bits L-1, where L is its bit
                        length, then its L-1 low bits (the top bit is implied)
        sample i >= 2   dod = delta_i - delta_(i-1), in the first bucket that holds it
                        (two's complement fields):
                          '0'                     dod = 0
                          '10'    + 4 bits        -8 .. 7        (ms jitter)
                          '110'   + 8 bits        -128 .. 127
                          '1110'  + 16 bits       +-32 s         (a missed 15 s scrape)
                          '11110' + 24 bits       +-2.3 h        (anything in a 2 h chunk)
                          '11111' + 33 bits       any dod of deltas below 2^32

    A regular scrape costs 1 bit per timestamp in an open chunk and none once sealed; a
    scraper that aligns its timestamps within a few ms (as Prometheus's 2 ms tolerance
    does) keeps them regular.

    Values, encoding 1 (XOR; bit-exact for every float64 by construction):

        sample 0        the 64 bits of the double
        sample i >= 1   x = bits(v_i) XOR bits(v_(i-1)):
                          '0'                     x = 0, same value
                          '10' + w bits           x's significant bits fit the previous
                                                  window of w = 64 - lead - trail bits
                          '11' + 5 bits lead + 6 bits w (0 means 64) + w bits
                                                  a new window; lead + w <= 64

    Values, encoding 2 (decimal): v_i = (double)m_i / 10^d, with every |m_i| < 2^53. The
    parameters are 4 bits d (0..15), U(m_0), then the integer column of the m_i. The
    encoder chooses it only when every value of the chunk comes back bit-exactly through that
    very expression, so it is as exact as XOR; NaNs (the stale marker among them), -0.0,
    +-Inf, denormals and non-decimal floats make a chunk stay XOR.

    Values, encoding 3 (decimal steps): the same v_i = (double)m_i / 10^d, but coded one by
    one so that an open chunk can take the next sample without knowing the later ones (the
    median a Rice column needs): 4 bits d and U(m_0), then for each sample i >= 1, with
    u = zigzag(m_i - m_(i-1)) and w the current width (none at first):
                          '0'                     u = 0, same value
                          '10' + w bits           u < 2^w
                          '11' + 6 bits w' + w' bits   a new width w' = bit length of u
    A gauge with 2 decimals walking by a few units takes ~12 bits a sample, against ~40 as
    XOR. The appender starts a chunk this way when its first value is a decimal with up to
    15 places; a later value with more places re-codes the chunk at the larger d, and one
    that is no decimal at all (a NaN, the stale marker) re-codes it as XOR.

    Values, encoding 4 (XOR with start times): the values as encoding 1, and after each
    sample's value code (sample 0's 64 bits included) the code of its start time st, the
    time its cumulative count started from (Prometheus's start timestamp, OpenMetrics's
    _created; 0 means none), after the previous sample's st (0 before sample 0):
                          '0'                     the previous st (sample 0: none, 0)
                          '10'                    the previous sample's timestamp (a delta
                                                  sample; not for sample 0)
                          '11' + 6 bits L-1 + L bits   u = zigzag(st - previous st), the
                                                  64-bit difference wrapping, u != 0
    A counter whose start stays put costs one bit a sample more than XOR, a delta series two.
    The appender switches a chunk to this encoding (re-coding it, every earlier sample
    without a start time) when the first sample with a start time arrives, and keeps it
    until the chunk is cut; sealing leaves such a chunk as it is. Builds before this
    encoding refuse such chunks with FW_ETYPE; chunks without start times are unchanged.

    Errors (FW_E* from fw_err.h): FW_ETRUNC, the bytes end before the chunk does (every
    truncation of a chunk is one); FW_ETYPE, an encoding this build does not know; FW_EPARSE,
    anything else that cannot be a chunk (non-increasing or out-of-span timestamps, a window
    wider than 64 bits, |m| >= 2^53, an overlong varint, bytes after the stream, a last
    timestamp that is not max t). Decoding never reads outside [p, p + len) and every loop is
    bounded by n, whatever the bytes.

    Threads: no shared state; an appender or iterator belongs to one thread at a time.
*/
#ifndef TSDB_CHUNK_H
#define TSDB_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Value encodings (bits 0-5 of byte 0).
enum tsdb_chunk_enc {
    TSDB_CHUNK_XOR = 1,     // float64 values XOR-ed with their predecessor (Gorilla)
    TSDB_CHUNK_DECIMAL = 2, // values as scaled integers m / 10^d
    TSDB_CHUNK_DECSTEP = 3, // the same, each m coded after its predecessor (open chunks)
    TSDB_CHUNK_XOR_ST = 4,  // XOR values, each sample with its start time
};

// The appender cuts no chunk itself: it refuses a sample once the chunk holds this many
// samples or the sample lies TSDB_CHUNK_MAX_SPAN_MS or more after the first
// (tsdb_chunk_app_full says so beforehand). A reader accepts any n up to 65535.
#define TSDB_CHUNK_MAX_SAMPLES 120
#define TSDB_CHUNK_MAX_SPAN_MS (2 * 3600 * 1000)

// The largest decimal scale d: values with up to 15 decimals can be decimal chunks.
#define TSDB_CHUNK_MAX_SCALE 15

// The decimals of the chunk codec, for other codecs (the rollup pages): m with
// tsdb_chunk_dec_value(m, d) bit-identical to v (d <= TSDB_CHUNK_MAX_SCALE, |m| < 2^53), or
// false (also for NaN and the infinities).
bool tsdb_chunk_dec_fit(double v, unsigned d, int64_t *m);
double tsdb_chunk_dec_value(int64_t m, unsigned d);

// A chunk's header, read without decoding its samples.
struct tsdb_chunk_info {
    int enc;      // enum tsdb_chunk_enc
    unsigned n;   // samples, >= 1
    int64_t mint; // first sample's timestamp (ms)
    int64_t maxt; // last sample's timestamp (ms)
};

// Read the header of the chunk at p[0..len) into *out. 0, or FW_ETRUNC, FW_ETYPE or
// FW_EPARSE (see the top of this file); *out is unspecified on error. Only the header is
// checked: the samples may still turn out damaged when iterated.
int tsdb_chunk_info(const void *p, size_t len, struct tsdb_chunk_info *out);

// ---------------------------------------------------------------------------------------
// Appending: the open chunk

// The open chunk of one series. The struct and the buffer it holds belong to the caller
// (embed it in the head's series; zero it or tsdb_chunk_app_init it before use); the codec
// grows the buffer with fw_realloc in steps, never per sample, and tsdb_chunk_app_clear
// frees it. Fields are private to tsdb_chunk.c: read them through the functions below.
struct tsdb_chunk_app {
    unsigned char *buf; // owned: the chunk; spare bytes after it are kept zero
    uint32_t cap;       // bytes allocated
    uint32_t nbits;     // bits written, header included
    int64_t t;          // last timestamp
    uint64_t vbits;     // last value's bits
    uint32_t delta;     // last timestamp delta
    int32_t st_off;     // XOR_ST: last start time - t, INT32_MIN when that does not fit
    uint16_t n;         // samples
    uint8_t hlen;       // header bytes
    uint8_t lead;       // XOR window: leading zeros, 0xff before the first window
    uint8_t trail;      // XOR window: trailing zeros
    bool sealed;        // tsdb_chunk_app_seal ran; no more appends
};

// An empty appender holding no memory (same as zeroing it).
void tsdb_chunk_app_init(struct tsdb_chunk_app *a);

// Append the sample (t ms, v) to the open chunk, XOR-encoded. 0, or -1 when nothing was
// appended because t is not after the last sample, the chunk is full (tsdb_chunk_app_full)
// or sealed. Any float64 is accepted and comes back bit-exactly.
int tsdb_chunk_app_append(struct tsdb_chunk_app *a, int64_t t, double v);

// Append the sample (t ms, v) whose start time is st ms (0: none; any other int64 is kept
// as it is, also one after t: the readers judge it). A chunk holding a start time is
// TSDB_CHUNK_XOR_ST (see the top of this file). 0 or -1 as tsdb_chunk_app_append, which is
// this with st 0.
int tsdb_chunk_app_append_st(struct tsdb_chunk_app *a, int64_t t, int64_t st, double v);

// True when a sample at t cannot join this chunk because it already holds
// TSDB_CHUNK_MAX_SAMPLES samples, t - min t >= TSDB_CHUNK_MAX_SPAN_MS, or it is sealed:
// the caller seals it and starts the next one. False for an empty chunk.
bool tsdb_chunk_app_full(const struct tsdb_chunk_app *a, int64_t t);

// Samples in the open chunk, and its last timestamp (undefined when the count is 0).
unsigned tsdb_chunk_app_count(const struct tsdb_chunk_app *a);
int64_t tsdb_chunk_app_last_t(const struct tsdb_chunk_app *a);

// The chunk's bytes; *len gets their count (0 for an empty appender, and the result may then
// be NULL). Borrowed: valid until the next call that changes the appender. After every
// append they are a complete chunk that tsdb_chunk_iter and tsdb_chunk_info accept.
const unsigned char *tsdb_chunk_app_bytes(const struct tsdb_chunk_app *a, size_t *len);

// Close the chunk to appends and re-encode it in its smallest form: decimal values when every
// one comes back bit-exactly from them, timestamps as a column or not at all when they are
// regular. Allocates nothing; the bytes never grow. Sealing an empty or sealed appender does
// nothing. Returns the value encoding now in use (0 when empty).
int tsdb_chunk_app_seal(struct tsdb_chunk_app *a);

// Start a new empty chunk, keeping the buffer's memory for it.
void tsdb_chunk_app_reset(struct tsdb_chunk_app *a);

// Free the buffer; the appender is empty and may be reused or dropped.
void tsdb_chunk_app_clear(struct tsdb_chunk_app *a);

// Make a the open chunk holding the samples of the chunk at p[0..len) (borrowed, and not a's
// own bytes), of any encoding, to continue appending after a restart. The new bytes are XOR, so
// they may differ from p's. 0, or an FW_E* error of the chunk (FW_EPARSE too when it holds more
// than TSDB_CHUNK_MAX_SAMPLES samples or spans TSDB_CHUNK_MAX_SPAN_MS); a is then empty.
int tsdb_chunk_app_reopen(struct tsdb_chunk_app *a, const void *p, size_t len);

// ---------------------------------------------------------------------------------------
// Reading

// An iterator over one chunk's samples, on the caller's stack; fields other than t and v are
// private. It borrows the bytes, which must stay unchanged while it is used (the LMDB read
// transaction or the head's lock that holds them outlives it). It allocates nothing.
struct tsdb_chunk_iter {
    int64_t t; // the current sample, valid after next or seek returned true
    double v;
    int64_t st; // its start time: 0 for none (always in encodings other than XOR_ST)

    const unsigned char *p; // borrowed
    size_t nbits;           // 8 * len
    size_t pos;             // next bit to read
    int64_t maxt;
    uint64_t vbits; // XOR: last value bits; decimal: m (two's complement)
    uint64_t vd;    // decimal: the median step (order 0) or the last step (order 1)
    uint64_t td;    // time: the step (regular), the median step (Rice order 0), else the last
    unsigned n, i;  // samples in the chunk, samples returned
    int err;
    uint8_t enc, lead, trail, scale, order, k; // value encoding, XOR window, decimal column
    uint8_t tenc, torder, tk;                  // time encoding, time column
};

// Position it before the first sample of the chunk at p[0..len). 0, or the header's FW_E*
// error (then next and seek return false and tsdb_chunk_iter_err returns it).
int tsdb_chunk_iter_init(struct tsdb_chunk_iter *it, const void *p, size_t len);

// Move to the next sample (it->t, it->v). False at the end or on damage: tell them apart
// with tsdb_chunk_iter_err. Once false, it stays false.
bool tsdb_chunk_iter_next(struct tsdb_chunk_iter *it);

// Decode up to max of the next samples into t[0..) and v[0..), as that many calls of next
// would (it->t and it->v end on the last one). Returns how many; fewer than max only at the
// end or on damage (tsdb_chunk_iter_err tells them apart).
size_t tsdb_chunk_iter_read(struct tsdb_chunk_iter *it, int64_t *t, double *v, size_t max);
// The same with the start times into st[0..) too.
size_t tsdb_chunk_iter_read_st(struct tsdb_chunk_iter *it, int64_t *t, int64_t *st, double *v,
                               size_t max);

// Move forward to the first sample with t >= mint; stay when the current one already is.
// False when there is none (or on damage), as for next. Never moves backwards.
bool tsdb_chunk_iter_seek(struct tsdb_chunk_iter *it, int64_t mint);

// 0 while the chunk decodes cleanly (and at a clean end), else FW_ETRUNC, FW_ETYPE or
// FW_EPARSE.
int tsdb_chunk_iter_err(const struct tsdb_chunk_iter *it);

// Resuming on a grown open chunk. An open chunk (XOR, decimal-step or XOR-with-start-time
// values, dod-bucket timestamps) only ever gets bits appended after its last sample and its
// n and span updated, so a reader that decoded it once can go on from where it stopped when
// it looks again, instead of decoding it from its start. A mark is that position: the
// iterator's state (with the last start time, which the next one is coded against) plus a
// 64-bit hash of every byte it decoded (the header's n and span left out). A
// chunk re-encoded since (a recode to another scale or to XOR, a late sample merged in,
// sealing in another form) no longer matches the hash, or its encoding, and is decoded
// from its start.
struct tsdb_chunk_mark {
    uint64_t sum;   // hash of byte 0 and bytes 7 .. pos of the chunk
    int64_t t;      // the last sample decoded
    uint64_t vbits; // its value's bits (XOR) or m (decimal steps)
    int64_t st;     // its start time (XOR with start times; the next code is relative to it)
    uint64_t td;    // the last timestamp delta
    uint32_t pos;   // bits decoded
    uint16_t i;     // samples decoded, >= 1
    uint8_t head;   // byte 0: the encodings
    uint8_t lead, trail, scale;
};

// Save it's position into *m: true when it can be resumed from (a resumable encoding,
// at least one sample decoded, no damage), else false and *m unspecified. it's bytes must
// still be valid.
bool tsdb_chunk_iter_mark(const struct tsdb_chunk_iter *it, struct tsdb_chunk_mark *m);

// it was just tsdb_chunk_iter_init-ed on a chunk's current bytes: when they are the marked
// chunk grown (same encodings, at least as many samples, the same decoded bytes), move it
// to the mark, so that next returns the samples after it, and return true. Otherwise
// return false and leave it at the chunk's start.
bool tsdb_chunk_iter_resume(struct tsdb_chunk_iter *it, const struct tsdb_chunk_mark *m);

#endif
