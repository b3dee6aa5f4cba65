/*  alertd_timeinterval.h — Alertmanager time intervals: when a route is muted or active.

    A named interval (top-level `time_intervals:` or the legacy `mute_time_intervals:`)
    holds specs; a time is in the interval when any spec matches it, and a spec matches
    when every field it gives does (an absent field matches everything):
        times:          [{start_time: "HH:MM", end_time: "HH:MM"}]  start inclusive, end
                        exclusive, end may be 24:00
        weekdays:       ["monday:friday", "sunday"]                 inclusive ranges
        days_of_month:  ["1:5", "-3:-1"]                            negative: from month end
        months:         ["january:march", "12"]
        years:          ["2026:2027"]
        location:       "Europe/Berlin"                             default UTC
    alertd_ti_parse_spec() validates the text forms at load; alertd_ti_match() evaluates.
*/
#ifndef ALERTD_TIMEINTERVAL_H
#define ALERTD_TIMEINTERVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fw_cfg.h"
#include "fw_err.h"

struct alertd_cfg_ti_times {
    char *start_time, *end_time; // owned
};

struct alertd_cfg_ti_spec {
    struct alertd_cfg_ti_times *times; // owned
    size_t times_len;
    char **weekdays, **days_of_month, **months, **years; // owned
    size_t weekdays_len, days_of_month_len, months_len, years_len;
    char *location; // owned
    struct fw_cfg_pos pos;
};

// Check every field of spec; 0, or -1 with err naming the bad value.
int alertd_ti_check_spec(const struct alertd_cfg_ti_spec *spec, fw_err_t *err);
// True when t_ms falls in spec (a spec that failed alertd_ti_check_spec never matches).
bool alertd_ti_match(const struct alertd_cfg_ti_spec *spec, int64_t t_ms);

#endif
