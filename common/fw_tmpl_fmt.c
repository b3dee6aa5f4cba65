/*  fw_tmpl_fmt.c — Go's fmt.Sprintf over fw_tmpl's JSON values (printf's body).

    It follows fmt's print.go as Go 1.19 has it, because Alertmanager 0.25's printf is
    fmt.Sprintf: the format is parsed into flags, a width, a precision and a verb; each
    argument is then printed by printValue, which walks slices, maps and structs and applies
    the verb and the flags to every element (["ale" "zon"] for %.3q of a []string, not the
    slice as one string), and pads each element, not the whole. A verb that does not suit an
    element prints "%!v(TYPE=value)" in its place, the value printed with %v under the same
    width, precision and flags (%!s(bool=true  ) for %-6s of true). Times are Go time.Time
    values in Alertmanager's data but strings here (fw_tmpl.h): they print as their String()
    text, which is what Go prints for the verbs v, s, q, x and X.
*/
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"
#include "fw_mem.h"
#include "fw_labels.h" // fw_utf8_put
#include "fw_tmpl_int.h"

// C formats are built from the template's flags (checked: only flags, a precision and one
// conversion of the right type each).
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

// fmt's fmtFlags, width and precision (-1: absent).
typedef struct {
    int width, prec;
    bool minus, plus, zero, space, sharp;
    bool plus_v, sharp_v; // %+v and %#v
} s_flags_t;

static void
s_adds(fw_tmpl_buf_t *b, const char *s)
{
    fw_tmpl_buf_add(b, s, strlen(s));
}

static const char *
s_tname(const fw_tmpl_set_t *set, const json_t *v)
{
    return set ? fw_tmpl_set_type_name(set, v) : fw_tmpl_type_name(v);
}

// The next UTF-8 rune of s[*i..n), U+FFFD for one bad byte (Go's utf8.DecodeRuneInString).
static uint32_t
s_rune(const char *s, size_t n, size_t *i)
{
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t left = n - *i;
    uint32_t c = p[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len <= 1 || len > left) {
        *i += 1;
        return len == 1 ? c : 0xFFFD;
    }
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xC0) != 0x80) {
            *i += 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *i += 1;
        return 0xFFFD;
    }
    *i += len;
    return cp;
}

static size_t
s_runes(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; k++)
        (void)s_rune(s, n, &i);
    return k;
}

static void
s_put_rune(fw_tmpl_buf_t *b, uint32_t cp)
{
    char u[4];
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD; // fw_utf8_put takes neither
    fw_tmpl_buf_add(b, u, fw_utf8_put(cp, u));
}

static void
s_padding(fw_tmpl_buf_t *b, size_t n, bool zero)
{
    for (size_t i = 0; i < n; i++)
        fw_tmpl_buf_add(b, zero ? "0" : " ", 1);
}

// fmt's pad: s to the width in runes, on the left unless '-', with zeros when '0' (and then
// after a number's sign: num).
static void
s_pad(fw_tmpl_buf_t *b, const char *s, size_t n, const s_flags_t *fl, bool num)
{
    size_t w = fl->width > 0 ? (size_t)fl->width : 0, r = s_runes(s, n);
    if (r >= w) {
        fw_tmpl_buf_add(b, s, n);
        return;
    }
    if (fl->minus) {
        fw_tmpl_buf_add(b, s, n);
        s_padding(b, w - r, false);
        return;
    }
    size_t lead = 0;
    if (fl->zero && num && n && (s[0] == '-' || s[0] == '+' || s[0] == ' ')) {
        fw_tmpl_buf_add(b, s, 1);
        lead = 1;
    }
    s_padding(b, w - r, fl->zero);
    fw_tmpl_buf_add(b, s + lead, n - lead);
}

static void
s_pads(fw_tmpl_buf_t *b, const char *s, const s_flags_t *fl)
{
    s_pad(b, s, strlen(s), fl, false);
}

// Go's unicode.IsPrint, close enough: controls, C1 controls and the invisible format
// characters are not printable.
static bool
s_printable(uint32_t c)
{
    if (c < 0x20 || (c >= 0x7F && c <= 0xA0) || c == 0xAD)
        return false;
    if ((c >= 0x200B && c <= 0x200F) || (c >= 0x2028 && c <= 0x202E) ||
        (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF || c == 0xFFFE || c == 0xFFFF ||
        (c >= 0xE000 && c <= 0xF8FF))
        return false;
    return true;
}

// strconv.Quote (ascii: QuoteToASCII) of s into b, between quote characters q.
static void
s_quote_with(fw_tmpl_buf_t *b, const char *s, size_t n, char q, bool ascii)
{
    fw_tmpl_buf_add(b, &q, 1);
    for (size_t i = 0; i < n;) {
        size_t at = i;
        uint32_t c = s_rune(s, n, &i);
        char esc[16];
        if (c == 0xFFFD && i - at == 1 && (unsigned char)s[at] >= 0x80) {
            snprintf(esc, sizeof(esc), "\\x%02x", (unsigned char)s[at]);
            s_adds(b, esc);
            continue;
        }
        if (c == (uint32_t)q || c == '\\') {
            fw_tmpl_buf_add(b, "\\", 1);
            s_put_rune(b, c);
            continue;
        }
        if (ascii ? (c >= 0x20 && c < 0x7F) : s_printable(c)) {
            s_put_rune(b, c);
            continue;
        }
        switch (c) {
        case '\a': s_adds(b, "\\a"); break;
        case '\b': s_adds(b, "\\b"); break;
        case '\f': s_adds(b, "\\f"); break;
        case '\n': s_adds(b, "\\n"); break;
        case '\r': s_adds(b, "\\r"); break;
        case '\t': s_adds(b, "\\t"); break;
        case '\v': s_adds(b, "\\v"); break;
        default:
            if (c < ' ' || c == 0x7F)
                snprintf(esc, sizeof(esc), "\\x%02x", (unsigned)c);
            else if (c < 0x10000)
                snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
            else
                snprintf(esc, sizeof(esc), "\\U%08x", (unsigned)c);
            s_adds(b, esc);
        }
    }
    fw_tmpl_buf_add(b, &q, 1);
}

// s cut to the precision in runes (fmt's truncateString): its new length.
static size_t
s_truncate(const char *s, size_t n, const s_flags_t *fl)
{
    if (fl->prec < 0)
        return n;
    size_t i = 0;
    for (int k = 0; k < fl->prec && i < n; k++)
        (void)s_rune(s, n, &i);
    return i;
}

// ---- leaves: fmt's fmtBool, fmtInteger, fmtFloat and fmtString; false for a bad verb ------

static bool
s_fmt_bool(fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl, bool v)
{
    if (verb != 't' && verb != 'v')
        return false;
    s_pads(b, v ? "true" : "false", fl);
    return true;
}

// fmt.fmtInteger: digits in base, a precision (or '0' with a width) as leading zeros, the '#'
// prefixes and the sign.
static void
s_fmt_integer(fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl, long long iv)
{
    bool neg = iv < 0;
    unsigned long long u = neg ? 0ULL - (unsigned long long)iv : (unsigned long long)iv;
    int base = verb == 'b'                  ? 2
               : verb == 'o' || verb == 'O' ? 8
               : verb == 'x' || verb == 'X' ? 16
                                            : 10;
    const char *digits = verb == 'X' ? "0123456789ABCDEFX" : "0123456789abcdefx";
    int prec = 0;
    s_flags_t sp = *fl;
    sp.zero = false; // zero padding is done here, as a precision
    if (fl->prec >= 0) {
        prec = fl->prec;
        if (prec == 0 && u == 0) { // nothing but the padding
            s_padding(b, fl->width > 0 ? (size_t)fl->width : 0, false);
            return;
        }
    } else if (fl->zero && fl->width > 0) {
        prec = fl->width;
        if (neg || fl->plus || fl->space)
            prec--;
    }
    size_t cap = (size_t)(prec > 0 ? prec : 0) + 80, i = cap;
    char *buf = fw_malloc(cap);
    do {
        buf[--i] = digits[u % (unsigned)base];
        u /= (unsigned)base;
    } while (u);
    while (cap - i < (size_t)prec)
        buf[--i] = '0';
    if (fl->sharp) {
        if (base == 2)
            buf[--i] = 'b', buf[--i] = '0';
        else if (base == 8 && buf[i] != '0')
            buf[--i] = '0';
        else if (base == 16)
            buf[--i] = digits[16], buf[--i] = '0';
    }
    if (verb == 'O')
        buf[--i] = 'o', buf[--i] = '0';
    if (neg)
        buf[--i] = '-';
    else if (fl->plus)
        buf[--i] = '+';
    else if (fl->space)
        buf[--i] = ' ';
    s_pad(b, buf + i, cap - i, &sp, false);
    free(buf);
}

static bool
s_fmt_int(fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl, long long iv)
{
    fw_tmpl_buf_t t = {0};
    switch (verb) {
    case 'v':
    case 'd':
    case 'b':
    case 'o':
    case 'O':
    case 'x':
    case 'X': s_fmt_integer(b, verb == 'v' ? 'd' : verb, fl, iv); return true;
    case 'c': // fmtC: the rune, U+FFFD when it is none
        s_put_rune(&t, iv < 0 || iv > 0x10FFFF ? 0xFFFD : (uint32_t)iv);
        break;
    case 'q': { // fmtQc: strconv.QuoteRune (QuoteRuneToASCII with '+')
        char r[4];
        fw_tmpl_buf_t one = {0};
        s_put_rune(&one, iv < 0 || iv > 0x10FFFF ? 0xFFFD : (uint32_t)iv);
        memcpy(r, one.s, one.len < 4 ? one.len : 4);
        s_quote_with(&t, r, one.len, '\'', fl->plus);
        free(one.s);
        break;
    }
    case 'U': { // fmtUnicode: U+%04X, with '#' the rune quoted after it when printable
        char u[64];
        int prec = fl->prec > 4 ? (fl->prec > 40 ? 40 : fl->prec) : 4;
        snprintf(u, sizeof(u), "U+%0*llX", prec, (unsigned long long)iv);
        s_adds(&t, u);
        if (fl->sharp && iv >= 0 && iv <= 0x10FFFF && s_printable((uint32_t)iv)) {
            s_adds(&t, " '");
            s_put_rune(&t, (uint32_t)iv);
            s_adds(&t, "'");
        }
        break;
    }
    default: return false;
    }
    s_flags_t sp = *fl;
    sp.zero = verb == 'U' ? false : fl->zero;
    s_pad(b, t.s, t.len, &sp, false);
    free(t.s);
    return true;
}

static bool
s_fmt_float(fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl, double d)
{
    char num[128], f[32];
    fw_tmpl_buf_t t = {0};
    switch (verb) {
    case 'v':
    case 'g':
    case 'G':
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'x':
    case 'X': break;
    default: return false;
    }
    char c = verb == 'v' ? 'g' : verb == 'F' ? 'f' : (char)verb;
    if (isnan(d) || isinf(d)) {
        s_adds(&t, isnan(d)    ? (fl->plus    ? "+NaN"
                                  : fl->space ? " NaN"
                                              : "NaN")
                   : d < 0     ? "-Inf"
                   : fl->plus  ? "+Inf"
                   : fl->space ? " Inf"
                               : "+Inf");
        if (isinf(d) && d > 0 && verb == 'v' && !fl->plus && !fl->space) {
            t.len = 0;
            s_adds(&t, "+Inf");
        }
        s_flags_t sp = *fl;
        sp.zero = false; // Go pads infinities and NaN with spaces
        s_pad(b, t.s, t.len, &sp, true);
        free(t.s);
        return true;
    }
    if ((c == 'g' || c == 'G') && fl->prec < 0 && !fl->sharp) {
        // the shortest text that reads back the same, as Go's strconv 'g' with -1
        s_adds(&t, fw_gofloat_format(d, 'g', num, sizeof(num)));
        if (c == 'G')
            for (size_t i = 0; i < t.len; i++)
                t.s[i] = (char)toupper((unsigned char)t.s[i]);
        if ((fl->plus || fl->space) && t.s[0] != '-') {
            fw_tmpl_buf_t u = {0};
            s_adds(&u, fl->plus ? "+" : " ");
            s_adds(&u, t.s);
            free(t.s);
            t = u;
        }
    } else if (c == 'x' || c == 'X') {
        // Go's %x of a float: C's %a with an exponent of two digits or more (p+00)
        if (fl->prec >= 0)
            snprintf(f, sizeof(f), "%%%s%s%s.%d%c", fl->plus ? "+" : "", fl->space ? " " : "",
                     fl->sharp ? "#" : "", fl->prec > 60 ? 60 : fl->prec, c == 'x' ? 'a' : 'A');
        else
            snprintf(f, sizeof(f), "%%%s%s%s%c", fl->plus ? "+" : "", fl->space ? " " : "",
                     fl->sharp ? "#" : "", c == 'x' ? 'a' : 'A');
        snprintf(num, sizeof(num), f, d);
        char *p = strpbrk(num, "pP");
        if (p && p[1] && isdigit((unsigned char)p[2]) && !p[3]) {
            memmove(p + 3, p + 2, 2);
            p[2] = '0';
        }
        s_adds(&t, num);
    } else {
        snprintf(f, sizeof(f), "%%%s%s%s.*%c", fl->plus ? "+" : "", fl->space ? " " : "",
                 fl->sharp ? "#" : "", c);
        char *big = fw_asprintf(f, fl->prec < 0 ? 6 : fl->prec, d);
        s_adds(&t, big);
        free(big);
    }
    s_pad(b, t.s, t.len, fl, true);
    free(t.s);
    return true;
}

static bool
s_fmt_string(fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl, const char *s, size_t n)
{
    fw_tmpl_buf_t t = {0};
    switch (verb) {
    case 'v':
    case 's':
    case 'q':
        n = s_truncate(s, n, fl);
        if (verb == 's' || (verb == 'v' && !fl->sharp_v)) {
            s_pad(b, s, n, fl, false);
            return true;
        }
        // fmtQ: a raw string with '#' when it can be one, else strconv.Quote
        bool raw = fl->sharp && verb == 'q';
        for (size_t i = 0; raw && i < n;) { // strconv.CanBackquote
            size_t at = i;
            uint32_t c = s_rune(s, n, &i);
            if (i - at > 1)
                raw = c != 0xFEFF;
            else
                raw = c != 0xFFFD && (c >= ' ' || c == '\t') && c != '`' && c != 0x7F;
        }
        if (raw) {
            s_adds(&t, "`");
            fw_tmpl_buf_add(&t, s, n);
            s_adds(&t, "`");
        } else {
            s_quote_with(&t, s, n, '"', fl->plus && verb == 'q');
        }
        break;
    case 'x':
    case 'X': {
        // fmtSbx: a precision takes that many bytes; the space flag puts a space between
        // bytes, and '#' a 0x before each of them then, else once.
        if (fl->prec >= 0 && (size_t)fl->prec < n)
            n = (size_t)fl->prec;
        const char *pfx = verb == 'x' ? "0x" : "0X";
        char hex[4];
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && fl->space)
                s_adds(&t, " ");
            if (fl->sharp && (fl->space || i == 0))
                s_adds(&t, pfx);
            snprintf(hex, sizeof(hex), verb == 'x' ? "%02x" : "%02X", (unsigned char)s[i]);
            s_adds(&t, hex);
        }
        break;
    }
    default: return false;
    }
    s_pad(b, t.s ? t.s : "", t.len, fl, false);
    free(t.s);
    return true;
}

// ---- printValue --------------------------------------------------------------------------

static void s_value(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl,
                    const json_t *v, int depth);

static void
s_verb_text(fw_tmpl_buf_t *b, uint32_t verb)
{
    s_adds(b, "%!");
    s_put_rune(b, verb);
}

// fmt's badVerb: %!c(TYPE=value), the value as %v under the same flags.
static void
s_bad_verb(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl,
           const json_t *v)
{
    s_verb_text(b, verb);
    s_adds(b, "(");
    if (!v || json_is_null(v)) {
        s_adds(b, "<nil>)");
        return;
    }
    s_adds(b, s_tname(set, v));
    s_adds(b, "=");
    s_value(set, b, 'v', fl, v, 0);
    s_adds(b, ")");
}

static int
s_keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
s_map(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl,
      const json_t *v, int depth)
{
    size_t n = json_object_size(v), k = 0;
    const char **keys = fw_calloc(n + 1, sizeof(char *));
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) keys[k++] = key;
    qsort(keys, n, sizeof(char *), s_keycmp);
    if (fl->sharp_v) {
        s_adds(b, s_tname(set, v));
        s_adds(b, "{");
    } else {
        s_adds(b, "map[");
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            s_adds(b, fl->sharp_v ? ", " : " ");
        json_t *kj = json_string(keys[i]);
        s_value(set, b, verb, fl, kj, depth + 1);
        json_decref(kj);
        s_adds(b, ":");
        s_value(set, b, verb, fl, json_object_get(v, keys[i]), depth + 1);
    }
    s_adds(b, fl->sharp_v ? "}" : "]");
    free(keys);
}

// A Go time.Time field printed with a verb its String method does not serve: the struct
// itself, {wall ext loc}, as a time parsed from JSON holds them (wall the nanoseconds, ext
// the seconds since January 1 of year 1, loc nil for UTC); with %#v its GoString. t is the
// String() text of fw_tmpl_am_data; false when it is not one.
static bool
s_time(fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl, const char *t)
{
    int y, mo, d, h, mi, sec, n = 0;
    if (sscanf(t, "%d-%d-%d %d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 || y < 1 || mo < 1 ||
        mo > 12)
        return false;
    long long ns = 0;
    int digits = 0;
    const char *p = t + n;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++, digits++)
            ns = ns * 10 + (*p - '0');
    for (; digits < 9; digits++)
        ns *= 10;
    if (strcmp(p, " +0000 UTC") != 0)
        return false;
    static const char *const months[] = {"January",   "February", "March",    "April",
                                         "May",       "June",     "July",     "August",
                                         "September", "October",  "November", "December"};
    if (fl->sharp_v) {
        char go[160];
        snprintf(go, sizeof(go), "time.Date(%d, time.%s, %d, %d, %d, %d, %lld, time.UTC)", y,
                 months[mo - 1], d, h, mi, sec, ns);
        s_adds(b, go);
        return true;
    }
    // days from civil (proleptic Gregorian), counted from 0001-01-01
    long long yy = mo <= 2 ? y - 1 : y;
    long long era = yy / 400, yoe = yy - era * 400;
    long long doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1;
    long long days = era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 306;
    long long ext = days * 86400 + h * 3600 + mi * 60 + sec;
    const long long field[2] = {ns, ext};
    static const char *const types[2] = {"uint64", "int64"};
    s_adds(b, "{");
    for (int i = 0; i < 2; i++) {
        if (!s_fmt_int(b, verb, fl, field[i])) {
            s_verb_text(b, verb);
            s_adds(b, "(");
            s_adds(b, types[i]);
            s_adds(b, "=");
            s_fmt_int(b, 'v', fl, field[i]);
            s_adds(b, ")");
        }
        s_adds(b, " ");
    }
    // loc, a nil *time.Location: fmtPointer prints 0 for the integer verbs
    if (verb == 'b' || verb == 'o' || verb == 'd' || verb == 'x' || verb == 'X') {
        s_fmt_integer(b, verb, fl, 0);
    } else {
        s_verb_text(b, verb);
        s_adds(b, "(*time.Location=");
        s_pads(b, "<nil>", fl);
        s_adds(b, ")");
    }
    s_adds(b, "}");
    return true;
}

// Go's Stringer verbs, which print a time.Time as its String() text.
static bool
s_stringer_verb(uint32_t verb, const s_flags_t *fl)
{
    return (verb == 'v' && !fl->sharp_v) || verb == 's' || verb == 'q' || verb == 'x' ||
           verb == 'X';
}

static void
s_struct(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl,
         const json_t *v, const char *name, const char *const *fields, size_t nfields, int depth)
{
    // Alertmanager's template.Alert holds time.Time values (strings here: fw_tmpl_am_data)
    bool alert = strcmp(name, "template.Alert") == 0;
    if (fl->sharp_v)
        s_adds(b, name);
    s_adds(b, "{");
    for (size_t i = 0; i < nfields; i++) {
        if (i)
            s_adds(b, fl->sharp_v ? ", " : " ");
        if (fl->plus_v || fl->sharp_v) {
            s_adds(b, fields[i]);
            s_adds(b, ":");
        }
        const json_t *f = json_object_get(v, fields[i]);
        if (alert && !s_stringer_verb(verb, fl) && json_is_string(f) &&
            (strcmp(fields[i], "StartsAt") == 0 || strcmp(fields[i], "EndsAt") == 0) &&
            s_time(b, verb, fl, json_string_value(f)))
            continue;
        s_value(set, b, verb, fl, f, depth + 1);
    }
    s_adds(b, "}");
}

static void
s_value(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, uint32_t verb, const s_flags_t *fl,
        const json_t *v, int depth)
{
    bool ok = true;
    if (!v || json_is_null(v)) {
        // a nil interface: <nil> for %v (and inside a value for any verb)
        if (verb == 'v' || depth > 0)
            s_pads(b, "<nil>", fl);
        else
            s_bad_verb(set, b, verb, fl, v);
        return;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        ok = s_fmt_string(b, verb, fl, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER: ok = s_fmt_int(b, verb, fl, (long long)json_integer_value(v)); break;
    case JSON_REAL: ok = s_fmt_float(b, verb, fl, json_real_value(v)); break;
    case JSON_TRUE:
    case JSON_FALSE: ok = s_fmt_bool(b, verb, fl, json_is_true(v)); break;
    case JSON_ARRAY:
        if (fl->sharp_v) {
            s_adds(b, s_tname(set, v));
            s_adds(b, "{");
        } else {
            s_adds(b, "[");
        }
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                s_adds(b, fl->sharp_v ? ", " : " ");
            s_value(set, b, verb, fl, json_array_get(v, i), depth + 1);
        }
        s_adds(b, fl->sharp_v ? "}" : "]");
        break;
    case JSON_OBJECT: {
        const json_t *safe = json_object_get(v, "\x01html");
        if (json_object_size(v) == 1 && json_is_string(safe)) { // template.HTML, a Go string
            ok = s_fmt_string(b, verb, fl, json_string_value(safe), json_string_length(safe));
            break;
        }
        const struct fw_tmpl_struct *st = set ? fw_tmpl_set_struct_of(set, v) : NULL;
        if (st) {
            s_struct(set, b, verb, fl, v, st->name, st->fields, st->nfields, depth);
            break;
        }
        static const char *const pair[] = {"Name", "Value"};
        if (!set && json_object_size(v) == 2 && json_is_string(json_object_get(v, "Name")) &&
            json_is_string(json_object_get(v, "Value"))) {
            s_struct(set, b, verb, fl, v, "template.Pair", pair, 2, depth);
            break;
        }
        s_map(set, b, verb, fl, v, depth);
        break;
    }
    default: break;
    }
    if (!ok)
        s_bad_verb(set, b, verb, fl, v);
}

// ---- Sprintf -----------------------------------------------------------------------------

// fmt's argNumber: an explicit argument index "[n]" at *pp moves *ai (0 when there is none,
// 1 when found and good, -1 when bad: BADINDEX).
static int
s_arg_index(const char **pp, size_t *ai, size_t nargs, bool *reordered)
{
    const char *p = *pp;
    if (*p != '[')
        return 0;
    *reordered = true;
    const char *close = strchr(p, ']');
    if (!close || !p[1] || !p[2]) {
        *pp = p + 1;
        return -1;
    }
    long n = 0;
    const char *q = p + 1;
    while (q < close && isdigit((unsigned char)*q) && n < 1000000)
        n = n * 10 + (*q++ - '0');
    *pp = close + 1;
    if (q != close || q == p + 1 || n < 1 || (size_t)n > nargs)
        return -1;
    *ai = (size_t)n - 1;
    return 1;
}

// fmt's intFromArg: a '*' width or precision from args[*ai] (an int), else false.
static bool
s_star(json_t *const *args, size_t nargs, size_t *ai, int *out)
{
    if (*ai >= nargs)
        return false;
    const json_t *v = args[(*ai)++];
    if (!json_is_integer(v) || json_integer_value(v) > 1000000 || json_integer_value(v) < -1000000)
        return false;
    *out = (int)json_integer_value(v);
    return true;
}

// One verb's argument v (fmt's printArg).
static void
s_arg(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, uint32_t verb, s_flags_t *fl, const json_t *v)
{
    if (verb == 'v') { // Go syntax and struct-field syntax take the '#' and '+' flags
        fl->sharp_v = fl->sharp, fl->sharp = false;
        fl->plus_v = fl->plus, fl->plus = false;
    }
    if (verb == 'T') {
        s_pads(b, !v || json_is_null(v) ? "<nil>" : s_tname(set, v), fl);
        return;
    }
    s_value(set, b, verb, fl, v, 0);
}

void
fw_tmpl_sprintf(const fw_tmpl_set_t *set, fw_tmpl_buf_t *b, const char *fmt, json_t *const *args,
                size_t nargs)
{
    size_t ai = 0, flen = strlen(fmt);
    bool reordered = false;
    s_adds(b, "");
    for (const char *p = fmt; *p;) {
        if (*p != '%') {
            const char *q = strchr(p, '%');
            size_t n = q ? (size_t)(q - p) : strlen(p);
            fw_tmpl_buf_add(b, p, n);
            p += n;
            continue;
        }
        p++;
        s_flags_t fl = {.width = -1, .prec = -1};
        for (;; p++) {
            if (*p == '-')
                fl.minus = true, fl.zero = false; // no zero padding on the right
            else if (*p == '+')
                fl.plus = true;
            else if (*p == '0')
                fl.zero = !fl.minus;
            else if (*p == ' ')
                fl.space = true;
            else if (*p == '#')
                fl.sharp = true;
            else
                break;
        }
        // fmt's doPrintf: [n] before a width, a precision or the verb; '*' takes an int
        int idx = s_arg_index(&p, &ai, nargs, &reordered);
        bool good = idx >= 0, after = idx > 0;
        if (*p == '*') {
            p++;
            if (!s_star(args, nargs, &ai, &fl.width)) {
                s_adds(b, "%!(BADWIDTH)");
                fl.width = -1;
            } else if (fl.width < 0) {
                fl.width = -fl.width > 10000 ? 10000 : -fl.width;
                fl.minus = true;
                fl.zero = false;
            } else if (fl.width > 10000) {
                fl.width = 10000;
            }
            after = false;
        } else if (isdigit((unsigned char)*p)) {
            fl.width = 0;
            while (isdigit((unsigned char)*p) && fl.width < 10000)
                fl.width = fl.width * 10 + (*p++ - '0');
            while (isdigit((unsigned char)*p))
                p++;
            good = good && !after; // "%[3]2d"
        }
        if (*p == '.' && p[1]) {
            p++;
            good = good && !after; // "%[3].2d"
            idx = s_arg_index(&p, &ai, nargs, &reordered);
            good = good && idx >= 0;
            after = idx > 0;
            fl.prec = 0;
            if (*p == '*') {
                p++;
                if (!s_star(args, nargs, &ai, &fl.prec) || fl.prec < 0) {
                    s_adds(b, "%!(BADPREC)");
                    fl.prec = -1;
                }
                fl.prec = fl.prec > 10000 ? 10000 : fl.prec;
                after = false;
            } else {
                while (isdigit((unsigned char)*p) && fl.prec < 10000)
                    fl.prec = fl.prec * 10 + (*p++ - '0');
                while (isdigit((unsigned char)*p))
                    p++;
            }
        }
        if (!after) {
            idx = s_arg_index(&p, &ai, nargs, &reordered);
            good = good && idx >= 0;
        }
        if (!*p) {
            s_adds(b, "%!(NOVERB)");
            break;
        }
        size_t at = (size_t)(p - fmt);
        uint32_t verb = s_rune(fmt, flen, &at); // a verb is a rune, not a byte
        p = fmt + at;
        if (verb == '%') {
            s_adds(b, "%");
            continue;
        }
        if (!good) {
            s_verb_text(b, verb);
            s_adds(b, "(BADINDEX)");
            continue;
        }
        if (ai >= nargs) {
            s_verb_text(b, verb);
            s_adds(b, "(MISSING)");
            continue;
        }
        s_arg(set, b, verb, &fl, args[ai++]);
    }
    if (ai < nargs && !reordered) {
        s_adds(b, "%!(EXTRA ");
        for (size_t i = ai; i < nargs; i++) {
            if (i > ai)
                s_adds(b, ", ");
            if (!args[i] || json_is_null(args[i])) {
                s_adds(b, "<nil>");
                continue;
            }
            s_adds(b, s_tname(set, args[i]));
            s_adds(b, "=");
            fw_tmpl_print(set, b, args[i]);
        }
        s_adds(b, ")");
    }
}
