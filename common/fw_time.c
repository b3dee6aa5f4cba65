/*  fw_time.c — clocks, Prometheus durations and sizes, RFC 3339.

    Duration syntax follows Prometheus model.ParseDuration: units y w d h m s ms in
    decreasing order, each at most once, integers only; "0" alone is accepted.
*/
#include "fw_time.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t
fw_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
fw_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct {
    const char *name;
    int64_t ms;
} s_units[] = {
    {"y", 365LL * 24 * 3600 * 1000},
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
};
#define S_NUNITS (sizeof(s_units) / sizeof(s_units[0]))

int
fw_duration_parse(const char *s, int64_t *ms_out)
{
    if (!s || !*s)
        return -1;
    if (strcmp(s, "0") == 0) {
        *ms_out = 0;
        return 0;
    }
    int64_t total = 0;
    size_t next_unit = 0; // units must appear in decreasing order, each once
    const char *p = s;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return -1;
        errno = 0;
        char *end;
        long long n = strtoll(p, &end, 10);
        if (errno || n < 0)
            return -1;
        p = end;
        size_t u;
        for (u = next_unit; u < S_NUNITS; u++) {
            size_t len = strlen(s_units[u].name);
            // "m" must not swallow the "m" of "ms"
            if (strncmp(p, s_units[u].name, len) == 0 && !(u == 4 && p[1] == 's'))
                break;
        }
        if (u == S_NUNITS)
            return -1;
        if (n > INT64_MAX / s_units[u].ms || total > INT64_MAX - n * s_units[u].ms)
            return -1;
        total += n * s_units[u].ms;
        p += strlen(s_units[u].name);
        next_unit = u + 1;
    }
    *ms_out = total;
    return 0;
}

const char *
fw_duration_format(int64_t ms, char *buf, size_t size)
{
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    size_t off = 0;
    buf[0] = '\0';
    if (ms < 0) {
        off += (size_t)snprintf(buf, size, "-");
        ms = -ms;
    }
    for (size_t u = 0; u < S_NUNITS && off < size; u++) {
        if (ms >= s_units[u].ms) {
            off += (size_t)snprintf(buf + off, size - off, "%lld%s",
                                    (long long)(ms / s_units[u].ms), s_units[u].name);
            ms %= s_units[u].ms;
        }
    }
    return buf;
}

int
fw_size_parse(const char *s, int64_t *bytes_out)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {
        {"KiB", 1LL << 10},
        {"MiB", 1LL << 20},
        {"GiB", 1LL << 30},
        {"TiB", 1LL << 40},
        {"KB", 1000LL},
        {"MB", 1000000LL},
        {"GB", 1000000000LL},
        {"TB", 1000000000000LL},
        {"B", 1},
        {"", 1},
    };
    if (!s || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    char *end;
    long long n = strtoll(s, &end, 10);
    if (errno || n < 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (n > INT64_MAX / units[i].mult)
                return -1;
            *bytes_out = n * units[i].mult;
            return 0;
        }
    }
    return -1;
}

const char *
fw_time_rfc3339(int64_t ms, char *buf, size_t size)
{
    time_t secs = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)secs * 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return buf;
}

static int
s_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int
fw_time_from_secs(double secs, int64_t *ms_out)
{
    double ms = secs * 1000.0;
    // 2^63 is exact as a double; NaN fails both comparisons.
    if (!(ms >= -9223372036854775808.0 && ms < 9223372036854775808.0))
        return -1;
    *ms_out = (int64_t)llround(ms);
    return 0;
}

int
fw_time_parse(const char *s, int64_t *ms_out)
{
    if (!s || !*s)
        return -1;
    // Unix seconds, possibly fractional ("1435781451.781"); Go's ParseFloat takes no
    // leading space. A number that is no time (NaN, -1e308) is refused, not clamped.
    char *end;
    errno = 0;
    double secs = strtod(s, &end);
    if (*end == '\0' && !isspace((unsigned char)s[0]) && (errno == 0 || errno == ERANGE))
        return fw_time_from_secs(secs, ms_out);
    return fw_time_parse_rfc3339(s, ms_out);
}

int
fw_time_parse_rfc3339(const char *s, int64_t *ms_out)
{
    if (!s)
        return -1;
    const char *p = s;
    int y, mo, d, h, mi, sec;
    if (s_digits(&p, 4, &y) || *p++ != '-' || s_digits(&p, 2, &mo) || *p++ != '-' ||
        s_digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (s_digits(&p, 2, &h) || *p++ != ':' || s_digits(&p, 2, &mi) || *p++ != ':' ||
        s_digits(&p, 2, &sec))
        return -1;
    int64_t frac_ms = 0;
    if (*p == '.') {
        p++;
        int64_t scale = 100;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (s_digits(&p, 2, &oh) || *p++ != ':' || s_digits(&p, 2, &om))
            return -1;
        offset_s = sign * (oh * 3600 + om * 60);
    } else {
        return -1;
    }
    if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    // Days since the epoch by arithmetic (H. Hinnant's days_from_civil), as timegm would
    // give them (a day past the month's end carries over), without its time-zone lock.
    int64_t yy = y - (mo <= 2), era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400, doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
    int64_t t = days * 86400 + h * 3600 + mi * 60 + sec;
    *ms_out = (t - offset_s) * 1000 + frac_ms;
    return 0;
}
