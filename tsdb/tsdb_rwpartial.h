/*  tsdb_rwpartial.h — the answer to a remote write 2.0 request that was partly refused, as
    Prometheus 3's receiver writes it.

    Prometheus 3 (storage/remote/write_handler.go, writeV2/appendV2, 3.0 to 3.14) stores
    what it can of a 2.0 request and answers 400 with one line per refusal, in request order:
    a series it cannot take (invalid labels, a duplicated label name, labels refs outside the
    symbols, neither samples nor histograms) or a sample its appender refuses ("out of order
    sample", "duplicate sample for timestamp ...", "too old sample", "out of bounds: ...",
    each followed by " for series {labels}"); the lines are Go's errors.Join of them, and
    http.Error adds a newline. Prometheus bounds nothing; this text stops at
    TSDB_RWPARTIAL_MAX_TEXT bytes (a Prometheus sender reads the first 1 KiB of an error
    answer) and says how many lines it left out.

    A plain record, one per request, on the request's thread; allocates per line added,
    never per sample stored.
*/
#ifndef TSDB_RWPARTIAL_H
#define TSDB_RWPARTIAL_H

#include <stddef.h>

#include "fw_json_out.h"
#include "tsdb_rwproto.h"

#define TSDB_RWPARTIAL_MAX_TEXT ((size_t)64 << 10)

struct tsdb_rwpartial {
    struct fw_json_out text; // owned: the lines kept, separated by '\n'
    size_t lines;            // lines added
    size_t omitted;          // of those, left out past TSDB_RWPARTIAL_MAX_TEXT
};

// Add one refusal's line (printf format; no newline).
void tsdb_rwpartial_add(struct tsdb_rwpartial *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

// Add the line of a 2.0 series whose labels_refs are not pairs of indexes into the
// n_symbols symbols (Prometheus 3.7+'s "parsing labels for series [refs]: ...").
void tsdb_rwpartial_add_refs(struct tsdb_rwpartial *p, const struct tsdb_rwproto_series *s,
                             size_t n_symbols);

// The answer's body (the caller frees it): the lines, a line saying how many were left out
// when some were, and a final newline. NULL when no line was added.
char *tsdb_rwpartial_text(const struct tsdb_rwpartial *p);

// Free the text; p holds no line after.
void tsdb_rwpartial_clear(struct tsdb_rwpartial *p);

#endif
