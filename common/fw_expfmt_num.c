/*  fw_expfmt_num.c — numbers in the exposition formats, as Go's strconv.ParseFloat reads them.

    Design: a value is a decimal most of the time, so a plain decimal takes Clinger's exact
    fast path and only the rest (hex, long significands, large exponents) goes through
    strtod, behind a character check that keeps strtod's wider syntax out. Inf/Infinity/NaN
    are read case-insensitively with an optional sign. OpenMetrics numbers are decimal
    only (fw_expfmt_om_number). The callers (fw_expfmt.c's sample lines, fw_expfmt_om.c)
    are in fw_expfmt_int.h.
*/
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_expfmt_int.h"

static bool
s_ieq(const char *a, size_t n, const char *lit)
{
    if (strlen(lit) != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != lit[i])
            return false;
    }
    return true;
}

// Clinger's fast path for the common case: a plain decimal ([+-]digits[.digits][e[+-]digits])
// whose significand has at most 19 significant digits and stays below 2^53, scaled by a
// power of ten within +-22. Both operands are then exact doubles, so one correctly rounded
// multiplication or division gives the very double strtod returns, at a tenth of its cost.
// 1 when done, 0 when the text needs the full conversion (or is no plain decimal).
static int
s_parse_decimal_fast(const char *s, size_t n, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    // The integer digits, then the fraction's (each counts in scale); leading zeros are no
    // significant digits. Two tight loops: this runs for every sample of every scrape.
    uint64_t w = 0;
    int digits = 0, scale = 0;
    size_t first = i;
    for (unsigned d; i < n && (d = (unsigned)(unsigned char)s[i] - '0') < 10; i++) {
        if ((w | d) == 0)
            continue; // a leading zero
        if (++digits > 19)
            return 0;
        w = w * 10 + d;
    }
    bool any = i > first;
    if (i < n && s[i] == '.') {
        size_t frac = ++i;
        for (unsigned d; i < n && (d = (unsigned)(unsigned char)s[i] - '0') < 10; i++) {
            if ((w | d) == 0)
                continue;
            if (++digits > 19)
                return 0;
            w = w * 10 + d;
        }
        scale = (int)(i - frac);
        any = any || i > frac;
    }
    if (!any)
        return 0;
    int e = 0;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false;
        if (++i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i == n)
            return 0;
        for (; i < n && s[i] >= '0' && s[i] <= '9' && e < 1000; i++)
            e = e * 10 + (s[i] - '0');
        e = eneg ? -e : e;
    }
    if (i != n || w > (UINT64_C(1) << 53))
        return 0;
    int q = e - scale;
    if (w != 0 && (q < -22 || q > 22))
        return 0;
    double v = (double)w;
    if (w != 0)
        v = q < 0 ? v / pow10[-q] : v * pow10[q];
    *out = neg ? -v : v;
    return 1;
}

// Parse a float as Go's strconv.ParseFloat does for exposition values: decimal or hex
// notation, or Inf/Infinity/NaN with an optional sign, case-insensitive. 0 or -1.
int
fw_expfmt_int_parse_float(const char *s, size_t n, double *out)
{
    char buf[128];
    if (n == 0 || n >= sizeof(buf))
        return -1;
    if (s_parse_decimal_fast(s, n, out))
        return 0;
    const char *t = s;
    size_t tn = n;
    bool neg = false;
    if (*t == '+' || *t == '-') {
        neg = *t == '-';
        t++;
        tn--;
    }
    if (s_ieq(t, tn, "inf") || s_ieq(t, tn, "infinity")) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    if (s_ieq(t, tn, "nan")) {
        *out = NAN;
        return 0;
    }
    // Only digits, '.', exponent markers, signs and hex digits reach strtod, so its wider
    // syntax ("nan(...)", leading blanks) cannot slip through.
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || c == '.' || c == '+' || c == '-' || c == 'e' ||
                  c == 'E' || c == 'x' || c == 'X' || c == 'p' || c == 'P' ||
                  (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok)
            return -1;
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end = NULL;
    errno = 0;
    double v = strtod(buf, &end);
    if (end != buf + n || end == buf)
        return -1;
    // Overflow to ±Inf is what Go reports as a range error: refuse it like Prometheus.
    if (errno == ERANGE && isinf(v))
        return -1;
    *out = v;
    return 0;
}

// OpenMetrics numbers are decimal; Go's ParseFloat would also take hex ("0x1p-3").
static bool
s_om_hex(const char *p, size_t len)
{
    return memchr(p, 'x', len) != NULL || memchr(p, 'X', len) != NULL;
}

int
fw_expfmt_om_number(const char *s, size_t n, double *out)
{
    if (n > 0 && n < 128 && s_parse_decimal_fast(s, n, out))
        return 0;
    return s_om_hex(s, n) || fw_expfmt_int_parse_float(s, n, out) != 0 ? -1 : 0;
}
