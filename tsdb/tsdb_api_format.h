/*  tsdb_api_format.h — sample values and timestamps as Prometheus's JSON writes them.

    Query answers are mostly numbers, so this is the API's hot path: values take the
    shortest digits that read back as the value (Go's strconv.FormatFloat(v, 'f' or 'e', -1,
    64)), found with exact integer arithmetic for the usual magnitudes and printf/strtod for
    the rest; timestamps are written digit by digit.
*/
#ifndef TSDB_API_FORMAT_H
#define TSDB_API_FORMAT_H

#include <stddef.h>
#include <stdint.h>

// Bytes tsdb_api_format_point may write, its NUL included.
#define TSDB_API_FORMAT_POINT_MAX 96

// Format v as Prometheus's JSON does: Go's strconv.FormatFloat(v, 'f', -1, 64) ("1", "0.5",
// "1000000"), or 'e' when |v| < 1e-6 or >= 1e21 ("1e-07", "1e+21"); "NaN", "+Inf", "-Inf".
// buf should hold 64 bytes; returns buf.
const char *tsdb_api_format_value(double v, char *buf, size_t size);
// Format ms as Prometheus's JSON timestamp (seconds, ".123" only when ms != 0); returns buf.
const char *tsdb_api_format_time(int64_t ms, char *buf, size_t size);
// Write the point [t,"v"] (time and value as above) and a NUL at buf, which has room for
// TSDB_API_FORMAT_POINT_MAX bytes; returns its length.
size_t tsdb_api_format_point(int64_t ms, double v, char *buf);

#endif
