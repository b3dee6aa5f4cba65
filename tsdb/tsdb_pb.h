/*  tsdb_pb.h — protobuf's wire format and snappy blocks, as Prometheus's remote protocols
    use them: one copy for remote write (tsdb_rwproto), remote read (tsdb_rread_proto) and
    /federate's protobuf answer (tsdb_federate).

    Reading is in place: a reader is a window on the caller's bytes, and a length-delimited
    field gives a sub-reader pointing into them, so nothing is copied or allocated. The
    errors are the texts of the unmarshallers gogo-protobuf generates for prompb ("unexpected
    EOF", "proto: wrong wireType = 0 for field Labels", ...), so a peer sees what a Prometheus
    would have told it. tsdb_pb_check walks a whole message against a table of the messages
    it may hold (their known fields, wire types and names) and fails with such a text; after
    a successful check the plain walkers (tsdb_pb_next_of) cannot fail on it.

    Writing appends to fw_json_out.h's growing buffer (used for bytes here). Snappy is the
    block format through libsnappy's C API (Debian's libsnappy), as remote write and read
    send it. Pure functions: any thread.
*/
#ifndef TSDB_PB_H
#define TSDB_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_err.h"
#include "fw_json_out.h"

// A window p[off..len) on bytes the caller owns.
struct tsdb_pb_reader {
    const unsigned char *p;
    size_t len, off;
};

// A varint (Go's loop: at most ten bytes, "proto: integer overflow" past 64 bits). 0 or -1.
int tsdb_pb_varint(struct tsdb_pb_reader *r, uint64_t *v, fw_err_t *err);
// A length and the bytes after it, as *sub (pointing into r's bytes). 0 or -1.
int tsdb_pb_bytes(struct tsdb_pb_reader *r, struct tsdb_pb_reader *sub, fw_err_t *err);
// A field's tag: its number and wire type; msg names the message in gogo's errors. 0 or -1.
int tsdb_pb_tag(struct tsdb_pb_reader *r, const char *msg, int32_t *field, int *wt, fw_err_t *err);
// Skip the field whose tag starts at r->off (gogo's skipTypes, groups included). 0 or -1.
int tsdb_pb_skip(struct tsdb_pb_reader *r, fw_err_t *err);
// The next field numbered want with wire type 2 of a checked message, as *sub. False after
// the last.
bool tsdb_pb_next_of(struct tsdb_pb_reader *r, int32_t want, struct tsdb_pb_reader *sub);
// The last value of varint field want of a checked message (protobuf: the last one wins),
// or dflt when it has none.
uint64_t tsdb_pb_get_varint(const struct tsdb_pb_reader *msg, int32_t want, uint64_t dflt);

// --- checking a message against a table ---

#define TSDB_PB_NONE ((size_t)-1)   // sub: a field not looked into; count: not counted
#define TSDB_PB_PACKED ((size_t)-2) // sub: a repeated varint, packed or not (count: each)
#define TSDB_PB_FIELDS 8

// A known field: its number, wire type and name (for the errors), the message it holds (an
// index in the table, TSDB_PB_NONE or TSDB_PB_PACKED) and where it is counted (a size_t at
// that offset of the caller's counts, or TSDB_PB_NONE).
struct tsdb_pb_field {
    int32_t num;
    int wt;
    const char *name;
    size_t sub, count;
};

struct tsdb_pb_msg {
    const char *name;
    struct tsdb_pb_field fields[TSDB_PB_FIELDS];
    size_t n;
};

// Check r as message m of table msgs (and what it holds), adding to the size_t counters
// of counts (may be NULL when the table counts nothing). Unknown fields are skipped as
// protobuf requires. 0, or -1 with gogo-protobuf's text.
int tsdb_pb_check(struct tsdb_pb_reader *r, const struct tsdb_pb_msg *msgs, size_t m, void *counts,
                  fw_err_t *err);

// --- writing ---

size_t tsdb_pb_varint_size(uint64_t v);
void tsdb_pb_put_varint(struct fw_json_out *b, uint64_t v);
// Field f's tag with wire type wt.
void tsdb_pb_put_tag(struct fw_json_out *b, unsigned f, unsigned wt);
// Field f as length-delimited bytes s[0..n).
void tsdb_pb_put_bytes(struct fw_json_out *b, unsigned f, const void *s, size_t n);
// Field f as a varint (proto3: nothing when v is 0).
void tsdb_pb_put_uint(struct fw_json_out *b, unsigned f, uint64_t v);
// Field f as a fixed 64-bit double (proto3: nothing when its bits are 0, unless always).
void tsdb_pb_put_double(struct fw_json_out *b, unsigned f, double v, bool always);

// --- snappy blocks ---

// Decompress the snappy block body[0..len) into *out (caller frees; NUL-terminated) and *n.
// 0; 400 with err "snappy: corrupt input" (the Go library's text) when it is not one; 413
// with err when it would decompress to more than max bytes (nothing is allocated then).
int tsdb_pb_unsnappy(const unsigned char *body, size_t len, size_t max, char **out, size_t *n,
                     fw_err_t *err);
// Compress in[0..n) as one snappy block into *out (caller frees) and *out_len.
void tsdb_pb_snappy(const char *in, size_t n, char **out, size_t *out_len);

#endif
