/*  fw_gotime.c — fw_gotime.h: Go's time.Parse (Go 1.19, as Debian builds Alertmanager 0.25)
    for the ten layouts of go-openapi/strfmt's DateTimeFormats.

    A layout is written out here as Go's nextStdChunk would cut it: a literal prefix, then one
    standard element ("2006", "01", ...), the last chunk's element being S_END. The loop in
    s_parse follows time.parse's: skip the prefix (a space matches any run of spaces), read the
    element, stop at the first range error or bad element, then check the day of the month.
*/
#include "fw_gotime.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

enum s_std {
    S_END,
    S_YEAR,     // "2006": four characters, Go's atoi
    S_MONTH,    // "01": two digits, 1-12
    S_DAY,      // "02": two digits (checked against the month at the end)
    S_HOUR,     // "15": one or two digits, 0-23
    S_MINUTE,   // "04": two digits, 0-59
    S_SECOND,   // "05": two digits, 0-59, then any fraction when the layout has none next
    S_FRAC0,    // ".000...": exactly that many digits
    S_FRAC9,    // ".999...": up to that many digits, or none
    S_TZ_COLON, // "Z07:00": Z, or +hh:mm / -hh:mm
    S_TZ,       // "Z0700": Z, or +hhmm / -hhmm
};

struct s_chunk {
    const char *prefix; // literal text before the element
    enum s_std std;
    const char *text; // the element as the layout writes it (Go's error names it)
    int digits;       // S_FRAC0, S_FRAC9: how many
};

#define S_CHUNKS_MAX 10

struct s_layout {
    const char *text;
    struct s_chunk chunk[S_CHUNKS_MAX];
};

#define S_DATE                                                                                     \
    {"", S_YEAR, "2006", 0}, {"-", S_MONTH, "01", 0},                                              \
    {                                                                                              \
        "-", S_DAY, "02", 0                                                                        \
    }
#define S_CLOCK(sep)                                                                               \
    {sep, S_HOUR, "15", 0},                                                                        \
    {                                                                                              \
        ":", S_MINUTE, "04", 0                                                                     \
    }
#define S_SECS                                                                                     \
    {                                                                                              \
        ":", S_SECOND, "05", 0                                                                     \
    }

// strfmt's DateTimeFormats, in its order.
static const struct s_layout s_layouts[] = {
    {"2006-01-02T15:04:05.000000Z07:00",
     {S_DATE,
      S_CLOCK("T"),
      S_SECS,
      {"", S_FRAC0, ".000000", 6},
      {"", S_TZ_COLON, "Z07:00", 0},
      {"", S_END, "", 0}}},
    {"2006-01-02T15:04:05.000000Z0700",
     {S_DATE,
      S_CLOCK("T"),
      S_SECS,
      {"", S_FRAC0, ".000000", 6},
      {"", S_TZ, "Z0700", 0},
      {"", S_END, "", 0}}},
    {"2006-01-02T15:04:05.000Z07:00",
     {S_DATE,
      S_CLOCK("T"),
      S_SECS,
      {"", S_FRAC0, ".000", 3},
      {"", S_TZ_COLON, "Z07:00", 0},
      {"", S_END, "", 0}}},
    {"2006-01-02T15:04:05.000Z0700",
     {S_DATE,
      S_CLOCK("T"),
      S_SECS,
      {"", S_FRAC0, ".000", 3},
      {"", S_TZ, "Z0700", 0},
      {"", S_END, "", 0}}},
    {"2006-01-02T15:04:05Z07:00",
     {S_DATE, S_CLOCK("T"), S_SECS, {"", S_TZ_COLON, "Z07:00", 0}, {"", S_END, "", 0}}},
    {"2006-01-02T15:04:05.999999999Z07:00",
     {S_DATE,
      S_CLOCK("T"),
      S_SECS,
      {"", S_FRAC9, ".999999999", 9},
      {"", S_TZ_COLON, "Z07:00", 0},
      {"", S_END, "", 0}}},
    {"2006-01-02T15:04:05", {S_DATE, S_CLOCK("T"), S_SECS, {"", S_END, "", 0}}},
    {"2006-01-02T15:04Z", {S_DATE, S_CLOCK("T"), {"Z", S_END, "", 0}}},
    {"2006-01-02T15:04", {S_DATE, S_CLOCK("T"), {"", S_END, "", 0}}},
    {"2006-01-02 15:04:05", {S_DATE, S_CLOCK(" "), S_SECS, {"", S_END, "", 0}}},
};

static bool
s_digit(const char *s, size_t i)
{
    return strnlen(s, i + 1) > i && s[i] >= '0' && s[i] <= '9';
}

// Go's getnum: one or two digits (two when fixed). -1 when bad.
static int
s_getnum(const char **v, bool fixed)
{
    const char *s = *v;
    if (!s_digit(s, 0))
        return -1;
    if (!s_digit(s, 1)) {
        if (fixed)
            return -1;
        *v = s + 1;
        return s[0] - '0';
    }
    *v = s + 2;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

// Go's atoi on s[0, n): an optional sign, then digits to the end. false when bad.
static bool
s_atoi(const char *s, size_t n, int64_t *out)
{
    bool neg = n > 0 && s[0] == '-';
    if (n > 0 && (s[0] == '-' || s[0] == '+'))
        s++, n--;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || x > (INT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *out = neg ? -x : x;
    return true;
}

static bool
s_comma_or_period(char c)
{
    return c == '.' || c == ',';
}

// Go's parseNanoseconds: v[0] a point, then nbytes - 1 characters (at most 9 read).
// 0, 1 when out of range (negative), -1 when bad.
static int
s_nanos(const char *v, size_t nbytes, int64_t *ns)
{
    if (!s_comma_or_period(v[0]))
        return -1;
    if (nbytes > 10)
        nbytes = 10;
    if (!s_atoi(v + 1, nbytes - 1, ns))
        return -1;
    if (*ns < 0)
        return 1;
    for (size_t i = nbytes; i < 10; i++)
        *ns *= 10;
    return 0;
}

// Go's skip: the literal prefix off v; a space matches any run of spaces. false when bad
// (*v is then where it stopped, as Go's error shows it).
static bool
s_skip(const char **v, const char *prefix)
{
    const char *s = *v;
    while (*prefix) {
        if (*prefix == ' ') {
            if (*s && *s != ' ') {
                *v = s;
                return false;
            }
            while (*prefix == ' ')
                prefix++;
            while (*s == ' ')
                s++;
            continue;
        }
        if (!*s || *s != *prefix) {
            *v = s;
            return false;
        }
        prefix++, s++;
    }
    *v = s;
    return true;
}

// Go's time.quote: in double quotes, '"' and '\' escaped, bytes below ' ' and non-ASCII as
// \xhh each.
static void
s_quote(char *out, size_t cap, size_t *len, const char *s)
{
    char buf[8];
#define S_PUT(str)                                                                                 \
    do {                                                                                           \
        for (const char *q_ = (str); *q_; q_++)                                                    \
            if (*len + 1 < cap)                                                                    \
                out[(*len)++] = *q_;                                                               \
    } while (0)
    S_PUT("\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < ' ' || *p >= 0x80)
            snprintf(buf, sizeof buf, "\\x%02x", *p);
        else if (*p == '"' || *p == '\\')
            snprintf(buf, sizeof buf, "\\%c", *p);
        else
            snprintf(buf, sizeof buf, "%c", *p);
        S_PUT(buf);
    }
    S_PUT("\"");
    out[*len < cap ? *len : cap - 1] = '\0';
#undef S_PUT
}

// Go's ParseError.Error(): with a message, `parsing time "value"<message>`; without,
// `parsing time "value" as "layout": cannot parse "elem" as "layout elem"`.
static void
s_error(char *err, size_t cap, const char *layout, const char *value, const char *value_elem,
        const char *layout_elem, const char *message)
{
    if (!cap)
        return;
    snprintf(err, cap, "parsing time ");
    size_t len = strlen(err);
    s_quote(err, cap, &len, value);
    if (message) {
        snprintf(err + len, cap - len, "%s", message);
        return;
    }
    snprintf(err + len, cap - len, " as ");
    len = strlen(err);
    s_quote(err, cap, &len, layout);
    snprintf(err + len, cap - len, ": cannot parse ");
    len = strlen(err);
    s_quote(err, cap, &len, value_elem);
    snprintf(err + len, cap - len, " as ");
    len = strlen(err);
    s_quote(err, cap, &len, layout_elem);
}

static bool
s_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int
s_days_in(int month, int64_t year)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && s_leap(year) ? 29 : days[month - 1];
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant's days_from_civil).
static int64_t
s_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

// A zone offset's sign, hours and minutes (two digits each) from v: seconds east, or false.
static bool
s_offset(const char *sign, const char *hh, const char *mm, int64_t *out)
{
    const char *h = hh, *m = mm;
    int hr = s_getnum(&h, true), mi = hr < 0 ? -1 : s_getnum(&m, true);
    if (mi < 0 || (*sign != '+' && *sign != '-'))
        return false;
    *out = (hr * 60 + mi) * 60 * (*sign == '-' ? -1 : 1);
    return true;
}

// time.Parse(l->text, value). 0 and *ms_out, or -1 with Go's error in err.
static int
s_parse(const struct s_layout *l, const char *value, int64_t *ms_out, char *err, size_t cap)
{
    const char *v = value;
    int64_t year = 0, nsec = 0, offset = 0;
    int month = -1, day = -1, hour = 0, minute = 0, second = 0;
    char message[64];
    for (size_t c = 0; c < S_CHUNKS_MAX; c++) {
        const struct s_chunk *k = &l->chunk[c];
        if (!s_skip(&v, k->prefix)) {
            s_error(err, cap, l->text, value, v, k->prefix, NULL);
            return -1;
        }
        if (k->std == S_END) {
            if (*v) {
                size_t len = 0;
                char q[128];
                s_quote(q, sizeof q, &len, v);
                char m[160];
                snprintf(m, sizeof m, ": extra text: %s", q);
                s_error(err, cap, l->text, value, NULL, NULL, m);
                return -1;
            }
            break;
        }
        const char *hold = v, *range = NULL;
        bool bad = false;
        switch (k->std) {
        case S_YEAR:
            if (strnlen(v, 4) < 4 || !s_digit(v, 0) || !s_atoi(v, 4, &year))
                bad = true;
            else
                v += 4;
            break;
        case S_MONTH:
            month = s_getnum(&v, true);
            bad = month < 0;
            if (!bad && (month <= 0 || month > 12))
                range = "month";
            break;
        case S_DAY:
            day = s_getnum(&v, true);
            bad = day < 0;
            break;
        case S_HOUR:
            hour = s_getnum(&v, false);
            bad = hour < 0;
            if (!bad && hour >= 24)
                range = "hour";
            break;
        case S_MINUTE:
            minute = s_getnum(&v, true);
            bad = minute < 0;
            if (!bad && minute >= 60)
                range = "minute";
            break;
        case S_SECOND: {
            second = s_getnum(&v, true);
            bad = second < 0;
            if (bad)
                break;
            if (second >= 60) {
                range = "second";
                break;
            }
            // A fraction in the value where the layout's next element is none: Go takes any
            // number of digits (reads nine).
            enum s_std next = l->chunk[c + 1].std;
            if (s_comma_or_period(v[0]) && s_digit(v, 1) && next != S_FRAC0 && next != S_FRAC9) {
                size_t n = 2;
                while (s_digit(v, n))
                    n++;
                int rc = s_nanos(v, n, &nsec);
                bad = rc<0, range = rc> 0 ? "fractional second" : NULL;
                v += n;
            }
            break;
        }
        case S_FRAC0: {
            size_t n = 1 + (size_t)k->digits;
            if (strnlen(v, n) < n) {
                bad = true;
                break;
            }
            int rc = s_nanos(v, n, &nsec);
            bad = rc<0, range = rc> 0 ? "fractional second" : NULL;
            v += n;
            break;
        }
        case S_FRAC9: {
            if (!s_comma_or_period(v[0]) || !s_digit(v, 1))
                break; // the fraction left out
            size_t i = 0;
            while (i < (size_t)k->digits && s_digit(v, i + 1))
                i++;
            int rc = s_nanos(v, 1 + i, &nsec);
            bad = rc<0, range = rc> 0 ? "fractional second" : NULL;
            v += 1 + i;
            break;
        }
        case S_TZ_COLON:
        case S_TZ:
            if (v[0] == 'Z') {
                v++;
                break;
            }
            if (k->std == S_TZ_COLON) {
                if (strnlen(v, 6) < 6 || v[3] != ':' || !s_offset(v, v + 1, v + 4, &offset))
                    bad = true;
                else
                    v += 6;
            } else {
                if (strnlen(v, 5) < 5 || !s_offset(v, v + 1, v + 3, &offset))
                    bad = true;
                else
                    v += 5;
            }
            break;
        case S_END: break;
        }
        if (range) {
            snprintf(message, sizeof message, ": %s out of range", range);
            s_error(err, cap, l->text, value, NULL, NULL, message);
            return -1;
        }
        if (bad) {
            s_error(err, cap, l->text, value, hold, k->text, NULL);
            return -1;
        }
    }
    if (month < 0)
        month = 1;
    if (day < 1 || day > s_days_in(month, year)) {
        s_error(err, cap, l->text, value, NULL, NULL, ": day out of range");
        return -1;
    }
    int64_t secs =
        s_days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offset;
    *ms_out = secs * 1000 + nsec / 1000000;
    return 0;
}

int
fw_gotime_parse_strfmt(const char *s, int64_t *ms_out, char *err, size_t cap)
{
    if (!s || !*s) {
        snprintf(err, cap, "empty");
        return -1;
    }
    int rc = -1;
    for (size_t i = 0; rc != 0 && i < sizeof s_layouts / sizeof s_layouts[0]; i++)
        rc = s_parse(&s_layouts[i], s, ms_out, err, cap);
    return rc;
}
