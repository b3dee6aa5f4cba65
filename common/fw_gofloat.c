/*  fw_gofloat.c — Go's shortest float64 spellings (fw_gofloat.h).

    The digits come from the C library, whose printf rounds correctly and whose strtod
    reads correctly (round half to even, as Go's ParseFloat): for n = 1, 2, ... 17 digits,
    the nearest n-digit decimal (%.*e) is taken when it reads back as v. When it does not,
    the n-digit decimal on v's other side may still: the values that read as v reach
    further on one side where v is a power of two (the gap below it is half the gap
    above), and Go's shortest then takes that one, so it is tried too; elsewhere the values
    that read as v lie symmetrically around it, so when the nearest does not read back the
    farther one cannot either, and it is not tried. Seventeen digits always read back. Not
    for the hottest paths (tsdb_api_format is): up to 6 printf and strtod calls a value.
*/
#include "fw_gofloat.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A decimal d[0] . d[1..nd) x 10^exp, d[0] != '0'.
struct s_dec {
    char d[24];
    int nd;
    int exp;
};

// The decimal as a string strtod reads.
static double
s_dec_value(const struct s_dec *x)
{
    char s[48];
    snprintf(s, sizeof(s), "%c.%se%d", x->d[0], x->nd > 1 ? x->d + 1 : "0", x->exp);
    return strtod(s, NULL);
}

// x plus (up) or minus one unit in its last digit, with as many digits (a carry out of the
// first digit or a borrow into it moves the exponent).
static void
s_dec_step(struct s_dec *x, bool up)
{
    int i = x->nd - 1;
    if (up) {
        while (i >= 0 && x->d[i] == '9')
            x->d[i--] = '0';
        if (i >= 0) {
            x->d[i]++;
        } else { // 9.99 -> 1.00, an exponent up
            x->d[0] = '1';
            x->exp++;
        }
        return;
    }
    while (i >= 0 && x->d[i] == '0')
        x->d[i--] = '9';
    x->d[i]--;            // i >= 0: d[0] != '0'
    if (x->d[0] == '0') { // 1.00 -> 0.99: 9.99, an exponent down
        for (int k = 0; k < x->nd; k++)
            x->d[k] = '9';
        x->exp--;
    }
}

// The nearest n-digit decimal to v (finite, > 0) that reads back as v: true and x filled
// when there is one. The decimals that read as v form an interval around v, so the only
// n-digit candidates are the nearest and its neighbour on v's other side; that one is tried
// only where the interval is lopsided (v a power of two).
static bool
s_digits(double v, int n, bool pow2, struct s_dec *x)
{
    char e[48];
    snprintf(e, sizeof(e), "%.*e", n - 1, v);
    *x = (struct s_dec){.nd = n};
    x->d[0] = e[0];
    if (n > 1)
        memcpy(x->d + 1, e + 2, (size_t)n - 1);
    x->d[n] = '\0';
    x->exp = atoi(strchr(e, 'e') + 1);
    double back = strtod(e, NULL);
    if (back != v && n < 17) { // seventeen digits always read back
        if (!pow2)
            return false;
        s_dec_step(x, back < v); // the neighbour on v's other side
        if (s_dec_value(x) != v)
            return false;
    }
    while (x->nd > 1 && x->d[x->nd - 1] == '0') // a carry can leave trailing zeros
        x->d[--x->nd] = '\0';
    return true;
}

// The shortest digits of v (finite, > 0) that read back as v, the nearest of them to v.
// Every n-digit decimal is also an (n+1)-digit one, so once some n digits read back every
// longer count does: a binary search over 1..17 finds the shortest in at most 5 tries (a sixth for
// 17), where counting up took up to 17 printf and strtod calls.
static void
s_shortest(double v, struct s_dec *out)
{
    if (v < 9007199254740992.0 && v == floor(v)) {
        // An integer below 2^53: its neighbours are at most 1 away, so any other decimal
        // with fewer digits (a multiple of 10 or more apart) reads as another value; its
        // own digits less trailing zeros are the shortest. Counters mostly take this way.
        char d[24];
        int n = snprintf(d, sizeof(d), "%llu", (unsigned long long)v);
        *out = (struct s_dec){.nd = n, .exp = n - 1};
        memcpy(out->d, d, (size_t)n + 1);
        while (out->nd > 1 && out->d[out->nd - 1] == '0')
            out->d[--out->nd] = '\0';
        return;
    }
    int e2;
    bool pow2 = frexp(v, &e2) == 0.5; // the gap below v is half the gap above
    int lo = 1, hi = 17;              // 17 always reads back
    bool found = false;               // out holds hi's digits
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        struct s_dec x;
        if (s_digits(v, mid, pow2, &x)) {
            *out = x;
            found = true;
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    if (!found)
        (void)s_digits(v, 17, pow2, out);
}

const char *
fw_gofloat_format(double v, char fmt, char *buf, size_t size)
{
    if (isnan(v)) {
        snprintf(buf, size, "NaN");
        return buf;
    }
    if (isinf(v)) {
        snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
        return buf;
    }
    const char *sign = signbit(v) ? "-" : "";
    struct s_dec x = {.d = "0", .nd = 1, .exp = 0};
    if (v != 0)
        s_shortest(fabs(v), &x);
    if (fmt == 'e' || fmt == 'E' || (fmt != 'f' && (x.exp < -4 || x.exp >= 6))) {
        char mark = fmt == 'E' ? 'E' : 'e';
        snprintf(buf, size, "%s%c%s%s%c%c%02d", sign, x.d[0], x.nd > 1 ? "." : "", x.d + 1, mark,
                 x.exp < 0 ? '-' : '+', abs(x.exp));
        return buf;
    }
    // %f of exactly those digits: the point after exp + 1 of them, zeros to fill
    char f[FW_GOFLOAT_F_MAX];
    size_t k = 0;
    if (x.exp < 0) {
        f[k++] = '0';
        f[k++] = '.';
        for (int i = -1; i > x.exp; i--)
            f[k++] = '0';
        for (int i = 0; i < x.nd; i++)
            f[k++] = x.d[i];
    } else {
        for (int i = 0; i <= x.exp || i < x.nd; i++) {
            if (i == x.exp + 1)
                f[k++] = '.';
            f[k++] = i < x.nd ? x.d[i] : '0';
        }
    }
    f[k] = '\0';
    snprintf(buf, size, "%s%s", sign, f);
    return buf;
}
