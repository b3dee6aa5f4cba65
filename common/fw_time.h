/*  fw_time.h — clocks and Prometheus durations.

    Sample timestamps are int64 milliseconds since the Unix epoch, as in Prometheus. Durations
    use Prometheus's syntax: one or more <number><unit> with units y w d h m s ms, largest
    first ("1h30m", "15s", "100ms").
*/
#ifndef FW_TIME_H
#define FW_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// Wall-clock time in milliseconds since the epoch.
int64_t fw_time_now_ms(void);
// Monotonic time in milliseconds, for timeouts and durations.
int64_t fw_time_mono_ms(void);

// Parse a Prometheus duration into milliseconds. Returns 0, or -1 when s is not a duration.
int fw_duration_parse(const char *s, int64_t *ms_out);
// Format ms as a Prometheus duration ("1h30m", "0s") into buf; returns buf.
const char *fw_duration_format(int64_t ms, char *buf, size_t size);

// Parse a byte size: a plain number or one with B KB MB GB TB KiB MiB GiB TiB. 0 or -1.
int fw_size_parse(const char *s, int64_t *bytes_out);

// Format ms since epoch as RFC 3339 UTC with milliseconds ("2026-11-27T00:29:01.123Z").
const char *fw_time_rfc3339(int64_t ms, char *buf, size_t size);
// Parse RFC 3339 (with optional fraction and offset) or a float of Unix seconds, as the
// Prometheus API accepts for time parameters. Returns 0, or -1 when not a time, which
// includes numbers whose milliseconds do not fit int64 (NaN, Inf, -1e308).
int fw_time_parse(const char *s, int64_t *ms_out);
// Parse RFC 3339 only (years 0000-9999, optional fraction, Z or an offset), as Alertmanager's
// API (strfmt.DateTime) does: a bare number is not a time there. 0 or -1.
int fw_time_parse_rfc3339(const char *s, int64_t *ms_out);
// Unix seconds to milliseconds, rounded. Returns 0, or -1 when secs is NaN, infinite or
// out of the int64 millisecond range (Prometheus's timestamps).
int fw_time_from_secs(double secs, int64_t *ms_out);

#endif
