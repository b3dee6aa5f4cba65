/*  tsdb_rread_proto.h — Prometheus remote read's messages (prompb remote.proto), both ends:
    the server's (tsdb_rread.h) and the client's (`tsdb migrate`, tsdb_migrate.h).

        message ReadRequest { repeated Query queries = 1;
                              repeated ResponseType accepted_response_types = 2; }
                              // SAMPLES = 0, STREAMED_XOR_CHUNKS = 1
        message Query { int64 start_timestamp_ms = 1; int64 end_timestamp_ms = 2;
                        repeated LabelMatcher matchers = 3; ReadHints hints = 4; }
        message LabelMatcher { Type type = 1; string name = 2; string value = 3; }
                              // EQ = 0, NEQ = 1, RE = 2, NRE = 3
        message ReadHints { int64 step_ms = 1; string func = 2; int64 start_ms = 3;
                            int64 end_ms = 4; repeated string grouping = 5; bool by = 6;
                            int64 range_ms = 7; }
        message ReadResponse { repeated QueryResult results = 1; }
        message QueryResult { repeated TimeSeries timeseries = 1; }   // tsdb_rwproto.h's
        message ChunkedReadResponse { repeated ChunkedSeries chunked_series = 1;
                                      int64 query_index = 2; }
        message ChunkedSeries { repeated Label labels = 1; repeated Chunk chunks = 2; }
        message Chunk { int64 min_time_ms = 1; int64 max_time_ms = 2; Encoding type = 3;
                        bytes data = 4; }                             // XOR = 1

    A SAMPLES answer is one ReadResponse as a snappy block (Content-Encoding: snappy); a
    STREAMED_XOR_CHUNKS answer (Content-Type application/x-streamed-protobuf;
    proto=prometheus.ChunkedReadResponse) is a sequence of frames, each the uvarint size of
    one ChunkedReadResponse, its CRC-32 (Castagnoli) big-endian, then the message.
    The wire primitives are tsdb_pb.h's; a QueryResult's TimeSeries are remote write's and
    are read and written by tsdb_rwproto.h. Pure: no I/O.
*/
#ifndef TSDB_RREAD_PROTO_H
#define TSDB_RREAD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_labels.h"
#include "fw_matcher.h"
#include "fw_json_out.h"

enum { TSDB_RREAD_SAMPLES = 0, TSDB_RREAD_STREAMED_XOR_CHUNKS = 1 };

#define TSDB_RREAD_STREAMED_TYPE                                                                   \
    "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse"

#define TSDB_RREAD_MAX_QUERIES 1024  // queries of one request
#define TSDB_RREAD_MAX_MATCHERS 1024 // matchers of one query
#define TSDB_RREAD_MAX_ACCEPTED 64   // accepted_response_types of one request

struct tsdb_rread_hints {
    int64_t step_ms, start_ms, end_ms, range_ms;
    char func[64]; // cut to fit
    bool by;
};

struct tsdb_rread_query {
    int64_t start_ms, end_ms;
    struct fw_matcher *matchers; // owned; regexes not compiled (re NULL)
    size_t n_matchers;
    bool has_hints;
    struct tsdb_rread_hints hints;
};

struct tsdb_rread_request {
    struct tsdb_rread_query *queries; // owned
    size_t n;
    int accepted[TSDB_RREAD_MAX_ACCEPTED];
    size_t n_accepted;
};

// Read pb[0..len) as a ReadRequest into *req (zeroed first; tsdb_rread_request_clear frees
// it, also after a failure). A matcher type other than EQ..NRE is kept as -1 in op and is
// the caller's to refuse. 0, or -1 with gogo-protobuf's text, or a text naming the limit
// exceeded (TSDB_RREAD_MAX_*).
int tsdb_rread_request_decode(const unsigned char *pb, size_t len, struct tsdb_rread_request *req,
                              fw_err_t *err);
void tsdb_rread_request_clear(struct tsdb_rread_request *req);
// Append a ReadRequest of one query (start, end, matchers[0..n)) accepting types[0..nt) to b.
void tsdb_rread_request_encode(struct fw_json_out *b, int64_t start_ms, int64_t end_ms,
                               const struct fw_matcher *matchers, size_t n, const int *types,
                               size_t nt);

// --- SAMPLES ---

// Append to b one ReadResponse.results entry holding qr (the QueryResult's bytes: its
// TimeSeries, written with tsdb_rwproto_put_series).
void tsdb_rread_put_result(struct fw_json_out *b, const struct fw_json_out *qr);
// The QueryResults of a ReadResponse body in order: start with *off 0; false after the
// last or on a malformed body (then err, else err untouched). *qr points into body.
bool tsdb_rread_next_result(const unsigned char *body, size_t len, size_t *off,
                            const unsigned char **qr, size_t *qr_len, fw_err_t *err);

// --- STREAMED_XOR_CHUNKS ---

// One chunk of a ChunkedSeries.
struct tsdb_rread_chunk {
    int64_t mint, maxt;
    int type;                  // TSDB_XOR_ENCODING for XOR
    const unsigned char *data; // borrowed
    size_t len;
};

// The size prompb's Size() gives a label (the budget of a frame counts them) and a chunk.
size_t tsdb_rread_label_size(const char *name, const char *value);
size_t tsdb_rread_chunk_size(const struct tsdb_rread_chunk *c);
// Append to b one frame: a ChunkedReadResponse of one ChunkedSeries (labels l, then
// merged in name order with ext (may be NULL) where l lacks them; chunks[0..n)) for query
// index qi, with its size and CRC-32C in front.
void tsdb_rread_put_frame(struct fw_json_out *b, const struct fw_labels *l,
                          const struct fw_labels *ext, const struct tsdb_rread_chunk *chunks,
                          size_t n, int64_t qi);

// CRC-32 with the Castagnoli polynomial, as Go's crc32.MakeTable(crc32.Castagnoli).
uint32_t tsdb_rread_crc32c(const unsigned char *p, size_t n);

// A frame at buf[0..len): 1 with *msg/*msg_len (pointing into buf) and *used (the frame's
// bytes), 0 when more bytes are needed (*used: at least that many in all, when known, else
// 0), -1 with err when the size is over max or the checksum is wrong.
int tsdb_rread_frame(const unsigned char *buf, size_t len, size_t max, const unsigned char **msg,
                     size_t *msg_len, size_t *used, fw_err_t *err);

// One ChunkedSeries of a ChunkedReadResponse message, read in place.
struct tsdb_rread_series {
    const unsigned char *p;
    size_t len;
};
// Check msg as a ChunkedReadResponse (gogo's errors); *qi gets its query index.
int tsdb_rread_chunked_check(const unsigned char *msg, size_t len, int64_t *qi, fw_err_t *err);
// Its ChunkedSeries in order (start with *off 0); false after the last.
bool tsdb_rread_next_series(const unsigned char *msg, size_t len, size_t *off,
                            struct tsdb_rread_series *s);
// A series' labels into *l (cleared first). -1 with err when a label set is invalid.
int tsdb_rread_series_labels(const struct tsdb_rread_series *s, struct fw_labels *l, fw_err_t *err);
// A series' chunks in order (start with *off 0); false after the last.
bool tsdb_rread_next_chunk(const struct tsdb_rread_series *s, size_t *off,
                           struct tsdb_rread_chunk *c);

#endif
