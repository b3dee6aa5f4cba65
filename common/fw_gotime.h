/*  fw_gotime.h — date-times as Alertmanager's API reads them: go-openapi's strfmt.DateTime,
    which tries ten layouts in turn with Go's time.Parse and reports the last one's error.

    So "2026-12-03 10:00:00", "2026-12-03T10:00" (no zone: UTC), "...T10:00:00.123456+0100"
    and "...T10:00:00,5Z" are times there, and "2026-12-03t10:00:00z", a 31 February or a
    leap second are not. alertd's API v2 takes startsAt and endsAt this way so that whatever
    a client posts to Alertmanager it can post to alertd, and a refusal reads as Go's:
        parsing time "yesterday" as "2006-01-02 15:04:05": cannot parse "yesterday" as "2006"
    Go's rules are followed where they surprise: an hour of one digit, any count of fraction
    digits after the seconds of a layout that has none (cut at nine), a comma for the point,
    any zone offset of two-digit hours and minutes.
*/
#ifndef FW_GOTIME_H
#define FW_GOTIME_H

#include <stddef.h>
#include <stdint.h>

// Parse s (NUL-terminated) as strfmt.ParseDateTime does: 0 and *ms_out (Unix milliseconds,
// the fraction cut to them), or -1 and err (cap bytes, cut to fit) holding Go's error for the
// last layout tried. The empty string is Go's zero time there: the caller decides what it
// means (Alertmanager: unset); here it is -1 with err "empty".
int fw_gotime_parse_strfmt(const char *s, int64_t *ms_out, char *err, size_t cap);

#endif
