/*  tsdb_api_format.c — values and timestamps for the JSON API (see tsdb_api_format.h).

    A value needs the fewest significant digits that read back as it. Integers below 10^15
    are their own digits. Other normal values in [1e-6, 1e21) that are not powers of two
    are done exactly in 128-bit integers: v = m * 2^q, scaled by 10^k to p digits (15, then
    16, then 17), is a fraction whose integer part and remainder give the correctly rounded
    digits (ties to even, as printf), and whether those digits read back as v is whether
    they lie within v's rounding interval, (2m - 1) * 2^(q-1) .. (2m + 1) * 2^(q-1), ends
    included when m is even (strtod's ties go to the even significand). Powers of two, whose
    interval is lopsided, and subnormals take fw_gofloat; the 'e' ranges printf and strtod.
*/
#include "tsdb_api_format.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"

__extension__ typedef unsigned __int128 s_u128;

// 10^0 .. 10^19
static const uint64_t s_p10[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

// 10^-7 .. 10^21 as the nearest doubles, to guess a value's decimal exponent.
static const double s_p10d[29] = {
    1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21,
};

// Bits of x (0 for 0).
static int
s_bits(s_u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64), lo = (uint64_t)x;
    if (hi)
        return 128 - __builtin_clzll(hi);
    return lo ? 64 - __builtin_clzll(lo) : 0;
}

// 5^j for 0 <= j <= 27 (5^27 < 2^63).
static uint64_t
s_pow5(int j)
{
    uint64_t r = 1;
    for (int i = 0; i < j; i++)
        r *= 5;
    return r;
}

// The p digits of v = m * 2^q (2^52 < m < 2^53) correctly rounded: 1 when they read back
// as v, 0 when they do not, -1 when the numbers would not fit 128 bits (never for the
// magnitudes the caller sends). *e is v's decimal exponent, guessed within one by the
// caller and made exact here; *n gets the digits as an integer and *exp the exponent of
// the first (*e, or *e + 1 when rounding carried into the next power of ten).
static int
s_digits(uint64_t m, int q, int p, int *e, uint64_t *n, int *exp)
{
    for (int tries = 0; tries < 3; tries++) {
        int k = p - 1 - *e; // scale by 10^k = 2^k 5^k
        int a = q - 1 + k;  // v = 2m * 2^(q-1): the power of two left after scaling
        if (k < -27 || k > 27 || a < -120 || a > 120)
            return -1;
        s_u128 f = k > 0 ? s_pow5(k) : 1, d = k < 0 ? s_pow5(-k) : 1;
        if (s_bits(f) + (a > 0 ? a : 0) > 70 || s_bits(d) + (a < 0 ? -a : 0) > 68)
            return -1;
        if (a > 0)
            f <<= a;
        else
            d <<= -a;
        // v * 10^k = 2m f / d
        s_u128 num = (s_u128)(2 * m) * f, quo, rem;
        if ((d & (d - 1)) == 0) { // a power of two: the common case, k >= 0
            int sh = s_bits(d) - 1;
            quo = num >> sh;
            rem = num & (d - 1);
        } else {
            quo = num / d;
            rem = num % d;
        }
        if (quo >> 64)
            return -1;
        uint64_t dig = (uint64_t)quo;
        if (dig >= s_p10[p]) {
            (*e)++; // e was guessed low
            continue;
        }
        if (dig < s_p10[p - 1]) {
            (*e)--;
            continue;
        }
        // *e is now v's decimal exponent exactly
        if (rem * 2 > d || (rem * 2 == d && (dig & 1)))
            dig++;
        *n = dig;
        *exp = *e;
        if (dig == s_p10[p]) { // rounded up to 10^p: p digits at the next power
            *n = s_p10[p - 1];
            *exp = *e + 1;
        }
        s_u128 at = (s_u128)dig * d, lo = (s_u128)(2 * m - 1) * f, hi = (s_u128)(2 * m + 1) * f;
        if (m & 1)
            return at > lo && at < hi;
        return at >= lo && at <= hi;
    }
    return -1;
}

// Does v printed with prec digits after the point in 'e' form read back as v? sci gets it.
static bool
s_round_trips(double v, int prec, char *sci, size_t size)
{
    snprintf(sci, size, "%.*e", prec, v);
    return strtod(sci, NULL) == v;
}

// The decimal digits of u at out; returns their number.
static size_t
s_uint(char *out, uint64_t u)
{
    char tmp[20];
    size_t n = 0;
    do
        tmp[n++] = (char)('0' + u % 10);
    while ((u /= 10) > 0);
    for (size_t k = 0; k < n; k++)
        out[k] = tmp[n - 1 - k];
    return n;
}

// tsdb_api_format_value into out (64 bytes); returns the length.
static size_t
s_value(double v, char *out)
{
    if (isnan(v)) {
        memcpy(out, "NaN", 4);
        return 3;
    }
    if (isinf(v)) {
        memcpy(out, v > 0 ? "+Inf" : "-Inf", 5);
        return 4;
    }
    double abs = fabs(v);
    size_t n = 0;
    if (abs < 1e15 && v == trunc(v)) {
        // an integer: its digits are the shortest form ("-0" for negative zero, as Go)
        if (signbit(v))
            out[n++] = '-';
        n += s_uint(out + n, (uint64_t)abs);
        out[n] = '\0';
        return n;
    }
    // The fewest digits that round-trip (Go's -1 precision). The decimals that read back as
    // v span one ulp, at most 2.2e-16 of v, and 15-digit decimals are at least 1e-15 of v
    // apart, so at most one of them reads back as v: when v rounded to 15 digits does, that
    // one is the shortest form once its trailing zeros go. Otherwise no shorter one does either
    // (the decimals reading back as v lie symmetrically around it), so it is 16 or 17 digits,
    // except below a power of two, where that interval is lopsided, and for subnormals, which have
    // fewer digits: there, try them all.
    char digits[24];
    size_t nd = 0;
    int exp = 0;
    bool neg = v < 0;
    uint64_t bits;
    memcpy(&bits, &abs, sizeof(bits));
    int biased = (int)(bits >> 52);
    uint64_t frac = bits & ((1ULL << 52) - 1);
    if (biased != 0 && frac != 0 && abs >= 1e-6 && abs < 1e21) {
        int e = (int)floor((double)(biased - 1023) * 0.30102999566398120);
        if (e + 8 >= 0 && e + 8 < 29 && abs >= s_p10d[e + 8])
            e++;
        int rc = 0, p = 15, de = 0;
        uint64_t dn = 0;
        for (; p <= 17; p++) {
            rc = s_digits(frac | (1ULL << 52), biased - 1075, p, &e, &dn, &de);
            if (rc != 0)
                break; // 1: round-trips (17 digits always do); -1: does not fit
        }
        if (rc == 1) {
            for (int k = p - 1; k >= 0; k--, dn /= 10)
                digits[k] = (char)('0' + dn % 10);
            nd = (size_t)p;
            exp = de;
            goto digits_done;
        }
    }
    char sci[40];
    int frexp_e;
    double m = frexp(v, &frexp_e);
    if (m == 0.5 || m == -0.5 || biased == 0) {
        // fw_gofloat also tries the decimal on v's far side, which reads back where the
        // nearest does not below a power of two: 2^-24 is 5.960464477539063e-08 (Go), not the
        // 17 digits of the nearest that does.
        (void)fw_gofloat_format(v, 'e', sci, sizeof(sci));
    } else if (!s_round_trips(v, 14, sci, sizeof(sci)) && !s_round_trips(v, 15, sci, sizeof(sci))) {
        s_round_trips(v, 16, sci, sizeof(sci));
    }
    // sci: [-]d[.ddd]e[+-]xx; its digits without trailing zeros are the shortest form
    const char *q = sci;
    if (*q == '-')
        q++;
    for (; *q && *q != 'e'; q++)
        if (*q != '.')
            digits[nd++] = *q;
    exp = atoi(q + 1);
digits_done:
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (neg)
        out[n++] = '-';
    if (abs != 0 && (abs < 1e-6 || abs >= 1e21)) {
        // Prometheus (jsonutil.MarshalValue) switches to 'e' for very small and large values
        out[n++] = digits[0];
        if (nd > 1) {
            out[n++] = '.';
            for (size_t k = 1; k < nd; k++)
                out[n++] = digits[k];
        }
        n +=
            (size_t)snprintf(out + n, 64 - n, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
        return n;
    }
    if (exp >= 0) {
        for (int k = 0; k <= exp; k++)
            out[n++] = (size_t)k < nd ? digits[k] : '0';
        if ((size_t)exp + 1 < nd) {
            out[n++] = '.';
            for (size_t k = (size_t)exp + 1; k < nd; k++)
                out[n++] = digits[k];
        }
    } else {
        out[n++] = '0';
        out[n++] = '.';
        for (int k = 0; k < -exp - 1; k++)
            out[n++] = '0';
        for (size_t k = 0; k < nd; k++)
            out[n++] = digits[k];
    }
    out[n] = '\0';
    return n;
}

// tsdb_api_format_time into out (32 bytes); returns the length.
static size_t
s_time(int64_t ms, char *out)
{
    size_t n = 0;
    uint64_t u = (uint64_t)ms;
    if (ms < 0) {
        out[n++] = '-';
        u = (uint64_t)0 - u;
    }
    unsigned frac = (unsigned)(u % 1000);
    n += s_uint(out + n, u / 1000);
    if (frac) {
        out[n++] = '.';
        out[n++] = (char)('0' + frac / 100);
        out[n++] = (char)('0' + frac / 10 % 10);
        out[n++] = (char)('0' + frac % 10);
    }
    out[n] = '\0';
    return n;
}

// Copy s (len n) into buf[0..size) as snprintf("%s") would.
static const char *
s_copy_out(char *buf, size_t size, const char *s, size_t n)
{
    if (n < size) {
        memcpy(buf, s, n + 1);
    } else if (size > 0) {
        memcpy(buf, s, size - 1);
        buf[size - 1] = '\0';
    }
    return buf;
}

const char *
tsdb_api_format_value(double v, char *buf, size_t size)
{
    char out[64];
    size_t n = s_value(v, out);
    return s_copy_out(buf, size, out, n);
}

const char *
tsdb_api_format_time(int64_t ms, char *buf, size_t size)
{
    char out[32];
    size_t n = s_time(ms, out);
    return s_copy_out(buf, size, out, n);
}

size_t
tsdb_api_format_point(int64_t ms, double v, char *buf)
{
    size_t n = 0;
    buf[n++] = '[';
    n += s_time(ms, buf + n);
    buf[n++] = ',';
    buf[n++] = '"';
    n += s_value(v, buf + n);
    buf[n++] = '"';
    buf[n++] = ']';
    buf[n] = '\0';
    return n;
}
