/*  tsdb_rwproto.h — the Prometheus remote-write 1.0 WriteRequest (prompb), read in place.

    The subset of prompb's remote.proto and types.proto that remote write 1.0 carries:

        message WriteRequest { repeated TimeSeries timeseries = 1; reserved 2;
                               repeated MetricMetadata metadata = 3; }
        message TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2;
                               repeated Exemplar exemplars = 3; repeated Histogram histograms = 4; }
        message Label        { string name = 1; string value = 2; }
        message Sample       { double value = 1; int64 timestamp = 2; }

    Remote write 2.0's io.prometheus.write.v2.Request is read too (see below).

    Written by hand instead of generated with protobuf-c (README "Libraries"): four messages
    of two field kinds each; a generated unpacker copies every label into its own allocation
    (a 32 MiB body is millions of them), while this reader points into the decompressed body
    and allocates nothing, and a pure function of a byte string is easy to fuzz
    (test/fuzz/fuzz_tsdb_rwproto.c). Unknown fields are skipped as protobuf requires;
    exemplars and histograms are counted and not read (floorwatch stores float samples
    only); metadata (1.0's MetricMetadata { MetricType type = 1; string
    metric_family_name = 2; string help = 4; string unit = 5; }, 2.0's per-series
    Metadata { MetricType type = 1; uint32 help_ref = 3; uint32 unit_ref = 4; }) is read
    by tsdb_rwproto_next_meta and tsdb_rwproto_series_meta.

    tsdb_rwproto_check walks the whole body once and refuses it with the text Prometheus's
    gogo-protobuf unmarshaller gives ("unexpected EOF", "proto: wrong wireType = 0 for
    field Labels", ...), so that the iterators after it cannot fail. Pure: no I/O, one
    thread per body.
*/
#ifndef TSDB_RWPROTO_H
#define TSDB_RWPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_sample.h"
#include "fw_json_out.h"

// What a checked WriteRequest holds.
struct tsdb_rwproto_counts {
    size_t series, labels, samples;
    size_t symbols, refs;                   // remote write 2.0
    size_t exemplars, histograms, metadata; // skipped
};

// One label, pointing into the body (not NUL-terminated).
struct tsdb_rwproto_label {
    const char *name, *value;
    size_t name_len, value_len;
};

// One TimeSeries of a checked body: its bytes, to read its labels and samples from.
struct tsdb_rwproto_series {
    const unsigned char *p; // borrowed: the TimeSeries message
    size_t len;
};

// Which message: remote write 1.0's prometheus.WriteRequest, or 2.0's
// io.prometheus.write.v2.Request { repeated string symbols = 4; repeated TimeSeries
// timeseries = 5; } with TimeSeries { repeated uint32 labels_refs = 1 (pairs of indexes
// into symbols); repeated Sample samples = 2; histograms = 3; exemplars = 4; metadata = 5;
// int64 created_timestamp = 6; }.
enum { TSDB_RWPROTO_V1 = 1, TSDB_RWPROTO_V2 = 2 };

// Check body[0..len) as that version's request; *c (may be NULL) gets its counts. 0, or -1
// with err.
int tsdb_rwproto_check(const unsigned char *body, size_t len, int version,
                       struct tsdb_rwproto_counts *c, fw_err_t *err);

// The TimeSeries of a checked body in order: start with *off 0. False after the last.
bool tsdb_rwproto_next_series(const unsigned char *body, size_t len, int version, size_t *off,
                              struct tsdb_rwproto_series *s);

// A 2.0 request's symbols, pointing into the body (the arrays are owned).
struct tsdb_rwproto_symbols {
    const char **p;
    size_t *len, n;
};
void tsdb_rwproto_symbols(const unsigned char *body, size_t len, struct tsdb_rwproto_symbols *out);
void tsdb_rwproto_symbols_free(struct tsdb_rwproto_symbols *sym);

// Where tsdb_rwproto_next_label is in a series: zero it to start.
struct tsdb_rwproto_cursor {
    size_t off, in, end;
};
// The next label of s in the order sent: 1.0's Label messages (sym NULL), or 2.0's
// labels_refs resolved in sym. 1, 0 after the last, -1 when a 2.0 ref is outside the
// symbols or lacks its value ref.
int tsdb_rwproto_next_label(const struct tsdb_rwproto_series *s,
                            const struct tsdb_rwproto_symbols *sym, struct tsdb_rwproto_cursor *cur,
                            struct tsdb_rwproto_label *l);
// The samples of s in the order sent (start with *off 0); false after the last.
bool tsdb_rwproto_next_sample(const struct tsdb_rwproto_series *s, size_t *off,
                              struct fw_sample *out);

// One family's metadata as sent, pointing into the body (or the symbols): type is the
// MetricType number as sent (0 unknown/unspecified, 1 counter, 2 gauge, 3 histogram,
// 4 gaugehistogram, 5 summary, 6 info, 7 stateset; anything else is the caller's to refuse).
struct tsdb_rwproto_meta {
    uint64_t type;
    const char *name, *help, *unit;
    size_t name_len, help_len, unit_len;
};
// The name of MetricType number type ("unknown", "counter", ... "stateset"), NULL past 7.
const char *tsdb_rwproto_meta_type_name(uint64_t type);
// The MetricType number of a type name; 0 (unknown) for a name it does not know.
uint64_t tsdb_rwproto_meta_type(const char *name);
// The MetricMetadata of a checked 1.0 body in order: start with *off 0. False after the last.
bool tsdb_rwproto_next_meta(const unsigned char *body, size_t len, size_t *off,
                            struct tsdb_rwproto_meta *m);
// A checked 2.0 series' labels_refs in the order sent: the first max of them into refs[];
// returns how many it holds (more than max when refs was too short).
size_t tsdb_rwproto_series_refs(const struct tsdb_rwproto_series *s, uint64_t *refs, size_t max);
// How many histograms a checked series of that version holds.
size_t tsdb_rwproto_series_histograms(const struct tsdb_rwproto_series *s, int version);
// A checked 2.0 series' created_timestamp (ms; 0: none, as the spec says). Not for 1.0.
int64_t tsdb_rwproto_series_created(const struct tsdb_rwproto_series *s);
// The metadata of a checked 2.0 series (the last one sent), its name the series' __name__
// (empty when it has none): 1; 0 when the series has none (or an empty one: type 0, no
// help, no unit); -1 when a ref is outside the symbols.
int tsdb_rwproto_series_meta(const struct tsdb_rwproto_series *s,
                             const struct tsdb_rwproto_symbols *sym, struct tsdb_rwproto_meta *m);

// --- encoding (the remote-write sender) ---

// Append to b (fw_json_out.h's growing buffer, used for bytes here) a WriteRequest's TimeSeries of
// n labels (names and values NUL-terminated, in the order given: sorted by name, as remote
// write 1.0 requires) and samples[0..ns).
void tsdb_rwproto_put_series(struct fw_json_out *b, const char *const *names,
                             const char *const *values, size_t n, const struct fw_sample *samples,
                             size_t ns);

// Append to b one WriteRequest.metadata (MetricMetadata) holding m (type, name, help, unit).
void tsdb_rwproto_put_meta(struct fw_json_out *b, const struct tsdb_rwproto_meta *m);

#endif
