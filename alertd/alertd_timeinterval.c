/*  alertd_timeinterval.c — parse and evaluate time interval specs.

    Broken-down time in the spec's location comes from gmtime_r for UTC, localtime_r for
    "Local", and for any other zone from localtime_r with TZ set for the call (alertd
    evaluates intervals only on its zloop thread; TZ is restored afterwards).
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alertd_timeinterval.h"
#include "fw_mem.h"

static const char *const s_days[] = {"sunday",   "monday", "tuesday", "wednesday",
                                     "thursday", "friday", "saturday"};
static const char *const s_months[] = {"january",   "february", "march",    "april",
                                       "may",       "june",     "july",     "august",
                                       "september", "october",  "november", "december"};

// Parse an integer or (when names) a name (case-insensitive) giving index + base.
static int
s_value(const char *s, size_t n, const char *const *names, size_t count, int base, int *out)
{
    char buf[32];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    for (size_t i = 0; names && i < count; i++)
        if (strcasecmp(buf, names[i]) == 0) {
            *out = (int)i + base;
            return 0;
        }
    char *end;
    long v = strtol(buf, &end, 10);
    if (*end || end == buf)
        return -1;
    *out = (int)v;
    return 0;
}

// Parse "a" or "a:b" into [lo, hi].
static int
s_range(const char *s, const char *const *names, size_t count, int base, int *lo, int *hi)
{
    const char *colon = strchr(s, ':');
    if (!colon) {
        if (s_value(s, strlen(s), names, count, base, lo) < 0)
            return -1;
        *hi = *lo;
        return 0;
    }
    if (s_value(s, (size_t)(colon - s), names, count, base, lo) < 0 ||
        s_value(colon + 1, strlen(colon + 1), names, count, base, hi) < 0)
        return -1;
    return 0;
}

static int
s_minutes(const char *s, int *out)
{
    int h, m;
    char extra;
    if (!s || sscanf(s, "%d:%d%c", &h, &m, &extra) != 2 || h < 0 || m < 0 || m > 59 || h > 24 ||
        (h == 24 && m != 0))
        return -1;
    *out = h * 60 + m;
    return 0;
}

static int
s_check_list(char **items, size_t n, const char *const *names, size_t count, int base, int min,
             int max, bool negative, const char *what, fw_err_t *err)
{
    for (size_t i = 0; i < n; i++) {
        int lo, hi;
        bool ok = s_range(items[i], names, count, base, &lo, &hi) == 0;
        if (ok && negative) {
            // "1:-1" (first to last day) is fine; a negative start with a positive end is
            // not (Alertmanager).
            ok = lo != 0 && hi != 0 && lo >= -31 && hi >= -31 && lo <= 31 && hi <= 31 &&
                 !(lo < 0 && hi > 0) && ((lo < 0) != (hi < 0) || lo <= hi);
        } else if (ok) {
            ok = lo >= min && hi <= max && lo <= hi;
        }
        if (!ok) {
            fw_err_set(err, "invalid %s \"%s\" in time interval", what, items[i]);
            return -1;
        }
    }
    return 0;
}

int
alertd_ti_check_spec(const struct alertd_cfg_ti_spec *spec, fw_err_t *err)
{
    for (size_t i = 0; i < spec->times_len; i++) {
        int a, b;
        if (s_minutes(spec->times[i].start_time, &a) < 0 ||
            s_minutes(spec->times[i].end_time, &b) < 0 || a >= b) {
            fw_err_set(err, "invalid time range %s-%s in time interval",
                       spec->times[i].start_time ? spec->times[i].start_time : "?",
                       spec->times[i].end_time ? spec->times[i].end_time : "?");
            return -1;
        }
    }
    if (s_check_list(spec->weekdays, spec->weekdays_len, s_days, 7, 0, 0, 6, false, "weekday",
                     err) < 0 ||
        s_check_list(spec->days_of_month, spec->days_of_month_len, NULL, 0, 0, 1, 31, true,
                     "day of month", err) < 0 ||
        s_check_list(spec->months, spec->months_len, s_months, 12, 1, 1, 12, false, "month", err) <
            0 ||
        s_check_list(spec->years, spec->years_len, NULL, 0, 0, 1, 9999, false, "year", err) < 0)
        return -1;
    if (spec->location && strcmp(spec->location, "UTC") != 0 &&
        strcmp(spec->location, "Local") != 0) {
        char path[512];
        snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", spec->location);
        FILE *f = strstr(spec->location, "..") ? NULL : fopen(path, "r");
        if (!f) {
            fw_err_set(err, "unknown time zone location \"%s\"", spec->location);
            return -1;
        }
        fclose(f);
    }
    return 0;
}

static void
s_broken_down(const char *location, time_t t, struct tm *tm)
{
    if (!location || strcmp(location, "UTC") == 0) {
        gmtime_r(&t, tm);
        return;
    }
    if (strcmp(location, "Local") == 0) {
        localtime_r(&t, tm);
        return;
    }
    const char *old = getenv("TZ");
    char *saved = old ? fw_strdup(old) : NULL;
    setenv("TZ", location, 1);
    tzset();
    localtime_r(&t, tm);
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

static bool
s_in_list(char **items, size_t n, const char *const *names, size_t count, int base, int v)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++) {
        int lo, hi;
        if (s_range(items[i], names, count, base, &lo, &hi) == 0 && lo <= v && v <= hi)
            return true;
    }
    return false;
}

static int
s_days_in_month(int year, int mon0)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return d[mon0] + (mon0 == 1 && leap);
}

bool
alertd_ti_match(const struct alertd_cfg_ti_spec *spec, int64_t t_ms)
{
    fw_err_t err;
    if (alertd_ti_check_spec(spec, &err) < 0)
        return false;
    struct tm tm;
    s_broken_down(spec->location, (time_t)(t_ms / 1000), &tm);
    if (spec->times_len > 0) {
        int minute = tm.tm_hour * 60 + tm.tm_min;
        bool in = false;
        for (size_t i = 0; i < spec->times_len && !in; i++) {
            int a, b;
            s_minutes(spec->times[i].start_time, &a);
            s_minutes(spec->times[i].end_time, &b);
            in = a <= minute && minute < b;
        }
        if (!in)
            return false;
    }
    if (!s_in_list(spec->weekdays, spec->weekdays_len, s_days, 7, 0, tm.tm_wday) ||
        !s_in_list(spec->months, spec->months_len, s_months, 12, 1, tm.tm_mon + 1) ||
        !s_in_list(spec->years, spec->years_len, NULL, 0, 0, tm.tm_year + 1900))
        return false;
    if (spec->days_of_month_len > 0) {
        int dim = s_days_in_month(tm.tm_year + 1900, tm.tm_mon);
        bool in = false;
        for (size_t i = 0; i < spec->days_of_month_len && !in; i++) {
            int lo, hi;
            if (s_range(spec->days_of_month[i], NULL, 0, 0, &lo, &hi) < 0)
                continue;
            if (lo < 0)
                lo = dim + lo + 1;
            if (hi < 0)
                hi = dim + hi + 1;
            in = lo <= tm.tm_mday && tm.tm_mday <= hi;
        }
        if (!in)
            return false;
    }
    return true;
}
