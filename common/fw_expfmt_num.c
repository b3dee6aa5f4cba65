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

// A plain decimal, all of s[0, n): fw_expfmt_int_decimal (fw_expfmt_int.h) reading it whole.
static int
s_parse_decimal_fast(const char *s, size_t n, double *out)
{
    return n > 0 && fw_expfmt_int_decimal(s, n, out) == n;
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
