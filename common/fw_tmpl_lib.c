/*  fw_tmpl_lib.c — Alertmanager's and Prometheus's template functions and methods for fw_tmpl
    (see fw_tmpl.h), and Alertmanager's template data from a webhook payload.

    Semantics from alertmanager template/template.go (DefaultFuncs, KV, Pairs, Alerts) and
    prometheus template/template.go (humanize*, first, label, value, ...).
*/
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wctype.h>

#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_regex.h"
#include "fw_tmpl_int.h"

#define S_FN(name)                                                                                 \
    static int name(void *user, json_t *const *a, size_t n, json_t **res, char *e, size_t es)

static int
s_str(const json_t *v, const char **out, char *e, size_t es)
{
    if (!json_is_string(v)) {
        snprintf(e, es, "wrong type for value; expected string; got %s", fw_tmpl_type_name(v));
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

// ---- strings ----

// Go's unicode.ToUpper and ToLower are Unicode's simple case mappings, which glibc's C.UTF-8
// locale carries whole (towupper_l): the locale is made once, read-only after, and shared by
// every thread. Without it (newlocale failed) only ASCII letters are mapped.
static locale_t s_utf8_locale;
static pthread_once_t s_utf8_once = PTHREAD_ONCE_INIT;

static void
s_utf8_init(void)
{
    s_utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

// The code point at *p, which moves past it; U+FFFD for a byte that starts no valid sequence
// (Go's utf8.RuneError, one byte), as strings.Map reads a string.
static uint32_t
s_utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    uint32_t cp;
    size_t n;
    if (s[0] < 0x80) {
        *p = s + 1;
        return s[0];
    } else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        cp = s[0] & 0x1fu, n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        cp = s[0] & 0x0fu, n = 3;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        cp = s[0] & 0x07u, n = 4;
    } else {
        *p = s + 1;
        return 0xfffd;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *p = s + 1;
            return 0xfffd;
        }
        cp = cp << 6 | (s[i] & 0x3fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        *p = s + 1;
        return 0xfffd;
    }
    *p = s + n;
    return cp;
}

// toUpper and toLower (strings.ToUpper, strings.ToLower): each code point mapped.
static int
s_map_case(json_t *a, json_t **res, char *e, size_t es, bool upper)
{
    const char *s;
    if (s_str(a, &s, e, es) < 0)
        return -1;
    (void)pthread_once(&s_utf8_once, s_utf8_init);
    size_t len = json_string_length(a);
    // A byte grows to at most 3 (an invalid one becomes U+FFFD; a 2-byte letter's mapping
    // can take 3: U+0250 -> U+2C6F).
    char *out = fw_malloc(len * 3 + 1), *o = out;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (p < end) {
        uint32_t cp = s_utf8_next(&p);
        if (s_utf8_locale)
            cp = (uint32_t)(upper ? towupper_l((wint_t)cp, s_utf8_locale)
                                  : towlower_l((wint_t)cp, s_utf8_locale));
        else if (cp < 0x80)
            cp = (uint32_t)(upper ? toupper((int)cp) : tolower((int)cp));
        o += fw_utf8_put(cp, o);
    }
    *res = json_stringn_nocheck(out, (size_t)(o - out));
    free(out);
    return 0;
}

S_FN(s_to_upper)
{
    (void)user, (void)n;
    return s_map_case(a[0], res, e, es, true);
}

S_FN(s_to_lower)
{
    (void)user, (void)n;
    return s_map_case(a[0], res, e, es, false);
}

// cp in title case: its upper case, but for the four Latin digraphs whose title case is a
// letter of its own (U+01C5 Dz with caron, U+01C8 Lj, U+01CB Nj, U+01F2 Dz).
static uint32_t
s_to_title(uint32_t cp)
{
    if (cp >= 0x1c4 && cp <= 0x1cc)
        return 0x1c5 + (cp - 0x1c4) / 3 * 3;
    if (cp >= 0x1f1 && cp <= 0x1f3)
        return 0x1f2;
    if (s_utf8_locale)
        return (uint32_t)towupper_l((wint_t)cp, s_utf8_locale);
    return cp < 0x80 ? (uint32_t)toupper((int)cp) : cp;
}

static uint32_t
s_to_lower_cp(uint32_t cp)
{
    if (s_utf8_locale)
        return (uint32_t)towlower_l((wint_t)cp, s_utf8_locale);
    return cp < 0x80 ? (uint32_t)tolower((int)cp) : cp;
}

// Word break properties as x/text/cases's title caser reads them: a mid-word character (',
// ., :, U+00B7, U+2019) joins two letters (a second one in a row ends the word); letters,
// digits, '_' and marks go on; any other ASCII character, white space and punctuation break.
static bool
s_mid(uint32_t cp)
{
    return cp == '\'' || cp == '.' || cp == ':' || cp == 0xb7 || cp == 0x2019;
}

static bool
s_break(uint32_t cp)
{
    if (cp < 0x80)
        return !isalnum((int)cp) && cp != '_' && !s_mid(cp);
    if (s_mid(cp) || !s_utf8_locale)
        return false;
    return iswspace_l((wint_t)cp, s_utf8_locale) || iswpunct_l((wint_t)cp, s_utf8_locale);
}

// The title case of a word's first letter where it is more than one letter (SpecialCasing's
// Latin ones: U+00DF sharp s -> Ss, U+0149 -> U+02BC N, U+01F0 -> J U+030C, the ligatures
// U+FB00-U+FB06), else NULL.
static const char *
s_title_full(uint32_t cp)
{
    static const char *const lig[] = {"Ff", "Fi", "Fl", "Ffi", "Ffl", "St", "St"};
    if (cp == 0xdf)
        return "Ss";
    if (cp == 0x149)
        return "\xca\xbcN";
    if (cp == 0x1f0)
        return "J\xcc\x8c";
    return cp >= 0xfb00 && cp <= 0xfb06 ? lig[cp - 0xfb00] : NULL;
}

// Whether cp has case (a mapping to other letters): what x/text/cases titles or lowers.
static bool
s_cased(uint32_t cp)
{
    return s_to_title(cp) != cp || s_to_lower_cp(cp) != cp || s_title_full(cp);
}

// title: each word's first cased letter in title case; user != NULL also lowers the word's
// other letters (Alertmanager's cases.Title, with a final sigma; Prometheus keeps them,
// cases.NoLower). Unicode's case mappings as toUpper's; a byte that is no UTF-8 is kept.
S_FN(s_title)
{
    (void)n;
    const char *s;
    if (s_str(a[0], &s, e, es) < 0)
        return -1;
    (void)pthread_once(&s_utf8_once, s_utf8_init);
    size_t len = json_string_length(a[0]);
    char *out = fw_malloc(len * 3 + 1), *o = out; // as s_map_case ("Ffi" is 3 bytes too)
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    bool mid_word = false, was_mid = false;
    while (p < end) {
        const unsigned char *at = p;
        uint32_t cp = s_utf8_next(&p), to = cp;
        const char *full = NULL;
        if (was_mid && s_mid(cp))
            mid_word = false; // two mid-word characters in a row end the word
        was_mid = s_mid(cp);
        if (s_cased(cp)) {
            if (!mid_word) {
                full = s_title_full(cp);
                to = s_to_title(cp);
                mid_word = true;
            } else if (user) {
                to = s_to_lower_cp(cp);
                const unsigned char *q = p;
                if (cp == 0x3a3 && (q >= end || !s_cased(s_utf8_next(&q))))
                    to = 0x3c2; // a final capital sigma lowers to the final form
            }
        } else if (s_break(cp)) {
            mid_word = false;
        }
        if (full) {
            o = stpcpy(o, full);
        } else if (to == cp) { // unchanged: its bytes as they were
            memcpy(o, at, (size_t)(p - at));
            o += p - at;
        } else {
            o += fw_utf8_put(to, o);
        }
    }
    *res = json_stringn_nocheck(out, (size_t)(o - out));
    free(out);
    return 0;
}

S_FN(s_trim_space)
{
    (void)user, (void)n;
    const char *s;
    if (s_str(a[0], &s, e, es) < 0)
        return -1;
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    *res = json_stringn_nocheck(s, len);
    return 0;
}

S_FN(s_join)
{
    (void)user, (void)n;
    const char *sep;
    if (s_str(a[0], &sep, e, es) < 0)
        return -1;
    if (!json_is_array(a[1])) {
        snprintf(e, es, "wrong type for value; expected []string; got %s", fw_tmpl_type_name(a[1]));
        return -1;
    }
    fw_tmpl_buf_t b = {0};
    fw_tmpl_buf_add(&b, "", 0);
    for (size_t i = 0; i < json_array_size(a[1]); i++) {
        const char *s;
        if (s_str(json_array_get(a[1], i), &s, e, es) < 0) {
            free(b.s);
            return -1;
        }
        if (i)
            fw_tmpl_buf_add(&b, sep, strlen(sep));
        fw_tmpl_buf_add(&b, s, strlen(s));
    }
    *res = json_stringn_nocheck(b.s, b.len);
    free(b.s);
    return 0;
}

S_FN(s_match)
{
    (void)user, (void)n;
    const char *pat, *text;
    if (s_str(a[0], &pat, e, es) < 0 || s_str(a[1], &text, e, es) < 0)
        return -1;
    fw_err_t err = {0};
    // regexp.MatchString: an unanchored search
    fw_regex_t *re = fw_regex_new(pat, FW_REGEX_UNANCHORED, &err);
    if (!re) {
        snprintf(e, es, "%s", err.msg);
        return -1;
    }
    char *out = NULL;
    bool hit = fw_regex_replace(re, text, "", &out);
    free(out);
    fw_regex_destroy(&re);
    *res = json_boolean(hit);
    return 0;
}

S_FN(s_re_replace_all)
{
    (void)user, (void)n;
    const char *pat, *repl, *text;
    if (s_str(a[0], &pat, e, es) < 0 || s_str(a[1], &repl, e, es) < 0 ||
        s_str(a[2], &text, e, es) < 0)
        return -1;
    fw_err_t err = {0};
    fw_regex_t *re = fw_regex_new(pat, FW_REGEX_UNANCHORED, &err);
    if (!re) {
        snprintf(e, es, "regexp: Compile(`%s`): %s", pat, err.msg);
        return -1;
    }
    char *out = fw_regex_replace_all(re, text, repl);
    fw_regex_destroy(&re);
    *res = json_string_nocheck(out);
    free(out);
    return 0;
}

S_FN(s_identity)
{
    (void)user, (void)n;
    const char *s;
    if (s_str(a[0], &s, e, es) < 0)
        return -1;
    *res = json_incref(a[0]);
    return 0;
}

// html/template's HTML type: printed as is, and not escaped in text by an HTML-mode set.
S_FN(s_safe_html)
{
    (void)user, (void)n;
    const char *s;
    if (s_str(a[0], &s, e, es) < 0)
        return -1;
    *res = json_pack("{s:O}", "\x01html", a[0]);
    return 0;
}

S_FN(s_string_slice)
{
    (void)user;
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *s;
        if (s_str(a[i], &s, e, es) < 0) {
            json_decref(out);
            return -1;
        }
        json_array_append(out, a[i]);
    }
    *res = out;
    return 0;
}

// ---- numbers (Prometheus's convertToFloat) ----

static int
s_float(const json_t *v, double *out, char *e, size_t es)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        double d = strtod(s, &end);
        bool inf = strcasecmp(s, "inf") == 0 || strcasecmp(s, "+inf") == 0 ||
                   strcasecmp(s, "-inf") == 0 || strcasecmp(s, "nan") == 0;
        if (*s && !*end && (!isinf(d) || inf) && !isspace((unsigned char)*s)) {
            *out = d;
            return 0;
        }
        snprintf(e, es, "strconv.ParseFloat: parsing \"%s\": invalid syntax", s);
        return -1;
    }
    snprintf(e, es, "can't convert %s to float", fw_tmpl_type_name(v));
    return -1;
}

static void
s_fmt_4g(double v, const char *suffix, char *buf, size_t size)
{
    if (isnan(v))
        snprintf(buf, size, "NaN%s", suffix);
    else if (isinf(v))
        snprintf(buf, size, "%sInf%s", v > 0 ? "+" : "-", suffix);
    else
        snprintf(buf, size, "%.4g%s", v, suffix);
}

S_FN(s_humanize)
{
    (void)user, (void)n;
    static const char *const big[] = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    double v;
    if (s_float(a[0], &v, e, es) < 0)
        return -1;
    const char *prefix = "";
    char buf[64];
    if (v != 0 && !isnan(v) && !isinf(v)) {
        if (fabs(v) >= 1)
            for (size_t i = 0; i < 8 && fabs(v) >= 1000; i++)
                prefix = big[i], v /= 1000;
        else
            for (size_t i = 0; i < 8 && fabs(v) < 1; i++)
                prefix = small[i], v *= 1000;
    }
    s_fmt_4g(v, prefix, buf, sizeof(buf));
    *res = json_string(buf);
    return 0;
}

S_FN(s_humanize1024)
{
    (void)user, (void)n;
    static const char *const big[] = {"ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"};
    double v;
    if (s_float(a[0], &v, e, es) < 0)
        return -1;
    const char *prefix = "";
    char buf[64];
    if (!(fabs(v) <= 1 || isnan(v) || isinf(v)))
        for (size_t i = 0; i < 8 && fabs(v) >= 1024; i++)
            prefix = big[i], v /= 1024;
    s_fmt_4g(v, prefix, buf, sizeof(buf));
    *res = json_string(buf);
    return 0;
}

S_FN(s_humanize_percentage)
{
    (void)user, (void)n;
    double v;
    char buf[64];
    if (s_float(a[0], &v, e, es) < 0)
        return -1;
    s_fmt_4g(v * 100, "%", buf, sizeof(buf));
    *res = json_string(buf);
    return 0;
}

S_FN(s_humanize_duration)
{
    (void)user, (void)n;
    static const char *const small[] = {"m", "u", "n", "p", "f", "a", "z", "y"};
    double v;
    char buf[96];
    if (s_float(a[0], &v, e, es) < 0)
        return -1;
    if (isnan(v) || isinf(v)) {
        s_fmt_4g(v, "", buf, sizeof(buf));
    } else if (v == 0) {
        s_fmt_4g(v, "s", buf, sizeof(buf));
    } else if (fabs(v) >= 1) {
        const char *sign = v < 0 ? "-" : "";
        v = fabs(v);
        long long d = (long long)v;
        long long secs = d % 60, mins = (d / 60) % 60, hours = (d / 3600) % 24, days = d / 86400;
        if (days != 0)
            snprintf(buf, sizeof(buf), "%s%lldd %lldh %lldm %llds", sign, days, hours, mins, secs);
        else if (hours != 0)
            snprintf(buf, sizeof(buf), "%s%lldh %lldm %llds", sign, hours, mins, secs);
        else if (mins != 0)
            snprintf(buf, sizeof(buf), "%s%lldm %llds", sign, mins, secs);
        else
            snprintf(buf, sizeof(buf), "%s%.4gs", sign, v);
    } else {
        const char *prefix = "";
        for (size_t i = 0; i < 8 && fabs(v) < 1; i++)
            prefix = small[i], v *= 1000;
        snprintf(buf, sizeof(buf), "%.4g%ss", v, prefix);
    }
    *res = json_string(buf);
    return 0;
}

// Go's time.Time String() of a Unix time in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC",
// through Prometheus's model.Time (milliseconds, truncated) as its floatToTime does.
static void
s_time_string(double t, char *buf, size_t size)
{
    double nsf = t * 1e9;
    if (!(nsf < 9.2e18 && nsf > -9.2e18)) {
        snprintf(buf, size, "%s", "");
        return;
    }
    long long ms = (long long)nsf / 1000000;
    long long sec = ms / 1000, ns = (ms % 1000) * 1000000;
    if (ns < 0)
        sec -= 1, ns += 1000000000;
    time_t tt = (time_t)sec;
    struct tm tm;
    gmtime_r(&tt, &tm);
    char frac[24] = "";
    if (ns) {
        snprintf(frac, sizeof(frac), ".%09lld", ns);
        for (size_t k = strlen(frac); k > 1 && frac[k - 1] == '0'; k--)
            frac[k - 1] = '\0';
    }
    snprintf(buf, size, "%04d-%02d-%02d %02d:%02d:%02d%s +0000 UTC", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

S_FN(s_humanize_timestamp)
{
    (void)user, (void)n;
    double v;
    char buf[96];
    if (s_float(a[0], &v, e, es) < 0)
        return -1;
    if (isnan(v) || isinf(v))
        s_fmt_4g(v, "", buf, sizeof(buf));
    else
        s_time_string(v, buf, sizeof(buf));
    *res = json_string(buf);
    return 0;
}

S_FN(s_to_time)
{
    (void)user, (void)n;
    double v;
    char buf[96];
    if (s_float(a[0], &v, e, es) < 0)
        return -1;
    s_time_string(v, buf, sizeof(buf));
    *res = json_string(buf);
    return 0;
}

S_FN(s_strip_port)
{
    (void)user, (void)n;
    const char *s;
    if (s_str(a[0], &s, e, es) < 0)
        return -1;
    // net.SplitHostPort: [v6]:port, host:port; anything else is returned as is
    const char *colon = strrchr(s, ':');
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close && close[1] == ':') {
            *res = json_stringn(s + 1, (size_t)(close - s - 1));
            return 0;
        }
    } else if (colon && strchr(s, ':') == colon) {
        *res = json_stringn(s, (size_t)(colon - s));
        return 0;
    }
    *res = json_incref(a[0]);
    return 0;
}

S_FN(s_strip_domain)
{
    (void)user, (void)n;
    const char *s;
    if (s_str(a[0], &s, e, es) < 0)
        return -1;
    // host (and :port kept): the part before the first dot, unless it is an IP address
    const char *colon = strrchr(s, ':');
    size_t hl = colon && s[0] != '[' && strchr(s, ':') == colon ? (size_t)(colon - s) : strlen(s);
    bool ip = true;
    for (size_t i = 0; i < hl; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != '.')
            ip = false;
    if (s[0] == '[' || ip) {
        *res = json_incref(a[0]);
        return 0;
    }
    const char *dot = memchr(s, '.', hl);
    if (!dot) {
        *res = json_incref(a[0]);
        return 0;
    }
    char *out = fw_asprintf("%.*s%s", (int)(dot - s), s, s + hl);
    *res = json_string(out);
    free(out);
    return 0;
}

S_FN(s_parse_duration)
{
    (void)user, (void)n;
    const char *s;
    if (s_str(a[0], &s, e, es) < 0)
        return -1;
    // Prometheus durations: [0-9]+(y|w|d|h|m|s|ms) units, largest first
    static const struct {
        const char *u;
        double secs;
    } units[] = {{"ms", 0.001}, {"y", 31536000}, {"w", 604800}, {"d", 86400},
                 {"h", 3600},   {"m", 60},       {"s", 1}};
    double total = 0;
    const char *p = s;
    if (!*p)
        goto bad;
    while (*p) {
        if (!isdigit((unsigned char)*p))
            goto bad;
        double v = 0;
        while (isdigit((unsigned char)*p))
            v = v * 10 + (*p++ - '0');
        size_t k = 0;
        for (; k < sizeof(units) / sizeof(units[0]); k++)
            if (strncmp(p, units[k].u, strlen(units[k].u)) == 0)
                break;
        if (k == sizeof(units) / sizeof(units[0]))
            goto bad;
        p += strlen(units[k].u);
        total += v * units[k].secs;
    }
    *res = json_real(total);
    return 0;
bad:
    snprintf(e, es, "not a valid duration string: \"%s\"", s);
    return -1;
}

// Query results are arrays of {"Labels": {...}, "Value": float}.
S_FN(s_first)
{
    (void)user, (void)n;
    if (!json_is_array(a[0]) || json_array_size(a[0]) == 0) {
        snprintf(e, es, "first() called on vector with no elements");
        return -1;
    }
    *res = json_incref(json_array_get(a[0], 0));
    return 0;
}

S_FN(s_label)
{
    (void)user, (void)n;
    const char *name;
    if (s_str(a[0], &name, e, es) < 0)
        return -1;
    json_t *l = json_object_get(json_object_get(a[1], "Labels"), name);
    *res = json_string(json_is_string(l) ? json_string_value(l) : "");
    return 0;
}

S_FN(s_value)
{
    (void)user, (void)n, (void)e, (void)es;
    json_t *v = json_object_get(a[0], "Value");
    *res = v ? json_incref(v) : json_real(0);
    return 0;
}

S_FN(s_strvalue)
{
    (void)user, (void)n, (void)e, (void)es;
    json_t *v = json_object_get(json_object_get(a[0], "Labels"), "__value__");
    *res = json_string(json_is_string(v) ? json_string_value(v) : "");
    return 0;
}

static int
s_sort_cmp(json_t *a, json_t *b, const char *label)
{
    json_t *la = json_object_get(json_object_get(a, "Labels"), label);
    json_t *lb = json_object_get(json_object_get(b, "Labels"), label);
    return strcmp(json_is_string(la) ? json_string_value(la) : "",
                  json_is_string(lb) ? json_string_value(lb) : "");
}

S_FN(s_sort_by_label)
{
    (void)user, (void)n;
    const char *name;
    if (s_str(a[0], &name, e, es) < 0)
        return -1;
    if (!json_is_array(a[1])) {
        snprintf(e, es, "wrong type for value; expected queryResult; got %s",
                 fw_tmpl_type_name(a[1]));
        return -1;
    }
    size_t k = json_array_size(a[1]);
    json_t **items = fw_calloc(k + 1, sizeof(json_t *));
    for (size_t i = 0; i < k; i++)
        items[i] = json_array_get(a[1], i);
    // qsort is not stable: insertion sort keeps equal labels in order (sort.Stable)
    for (size_t i = 1; i < k; i++)
        for (size_t j = i; j > 0 && s_sort_cmp(items[j - 1], items[j], name) > 0; j--) {
            json_t *t = items[j];
            items[j] = items[j - 1];
            items[j - 1] = t;
        }
    json_t *out = json_array();
    for (size_t i = 0; i < k; i++)
        json_array_append(out, items[i]);
    free(items);
    *res = out;
    return 0;
}

S_FN(s_args)
{
    (void)user, (void)e, (void)es;
    json_t *out = json_object();
    for (size_t i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "arg%zu", i);
        json_object_set(out, key, a[i] ? a[i] : json_null());
    }
    *res = out;
    return 0;
}

S_FN(s_external_url)
{
    (void)n, (void)e, (void)es, (void)a;
    const fw_tmpl_set_t *set = user;
    *res = json_string(set->external_url ? set->external_url : "");
    return 0;
}

S_FN(s_path_prefix)
{
    (void)n, (void)e, (void)es, (void)a;
    const fw_tmpl_set_t *set = user;
    const char *u = set->external_url ? set->external_url : "";
    const char *p = strstr(u, "://");
    p = p ? strchr(p + 3, '/') : NULL;
    *res = json_string(p ? p : "");
    return 0;
}

// ---- methods ----

static bool
s_is_kv(const json_t *v)
{
    if (!json_is_object(v))
        return false;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) if (!json_is_string(x)) return false;
    return true;
}

static bool
s_is_pairs(const json_t *v)
{
    if (!json_is_array(v))
        return false;
    for (size_t i = 0; i < json_array_size(v); i++)
        if (json_object_size(json_array_get(v, i)) != 2 ||
            !json_object_get(json_array_get(v, i), "Name"))
            return false;
    return true;
}

static int
s_keycmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

// KV.SortedPairs: alertname first, then the rest by name.
static json_t *
s_sorted_pairs(const json_t *kv)
{
    size_t n = json_object_size(kv), k = 0;
    const char **keys = fw_calloc(n + 1, sizeof(char *));
    const char *key;
    json_t *v;
    bool has_name = false;
    json_object_foreach((json_t *)kv, key, v)
    {
        if (strcmp(key, "alertname") == 0)
            has_name = true;
        else
            keys[k++] = key;
    }
    qsort(keys, k, sizeof(char *), s_keycmp);
    json_t *out = json_array();
    if (has_name)
        json_array_append_new(out, json_pack("{s:s,s:O}", "Name", "alertname", "Value",
                                             json_object_get(kv, "alertname")));
    for (size_t i = 0; i < k; i++)
        json_array_append_new(
            out, json_pack("{s:s,s:O}", "Name", keys[i], "Value", json_object_get(kv, keys[i])));
    free(keys);
    return out;
}

S_FN(s_m_sorted_pairs)
{
    (void)user, (void)e, (void)es;
    if (n != 1 || !s_is_kv(a[0]))
        return 1;
    *res = s_sorted_pairs(a[0]);
    return 0;
}

static int
s_names_values(json_t *const *a, size_t n, json_t **res, const char *field)
{
    json_t *pairs;
    if (n == 1 && s_is_kv(a[0]))
        pairs = s_sorted_pairs(a[0]);
    else if (n == 1 && s_is_pairs(a[0]))
        pairs = json_incref(a[0]);
    else
        return 1;
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(pairs); i++)
        json_array_append(out, json_object_get(json_array_get(pairs, i), field));
    json_decref(pairs);
    *res = out;
    return 0;
}

S_FN(s_m_names)
{
    (void)user, (void)e, (void)es;
    return s_names_values(a, n, res, "Name");
}

S_FN(s_m_values)
{
    (void)user, (void)e, (void)es;
    return s_names_values(a, n, res, "Value");
}

S_FN(s_m_remove)
{
    (void)user;
    if (!s_is_kv(a[0]))
        return 1;
    if (n != 2) {
        snprintf(e, es, "wrong number of args for Remove: want 1 got %zu", n - 1);
        return -2;
    }
    // nil (or no value) is a nil []string to Go's reflect: nothing to remove
    if (a[1] && !json_is_null(a[1]) && !json_is_array(a[1])) {
        snprintf(e, es, "wrong type for value; expected []string; got %s", fw_tmpl_type_name(a[1]));
        return -2;
    }
    json_t *out = json_deep_copy(a[0]);
    for (size_t i = 0; i < json_array_size(a[1]); i++) {
        json_t *k = json_array_get(a[1], i);
        if (json_is_string(k))
            json_object_del(out, json_string_value(k));
    }
    *res = out;
    return 0;
}

static int
s_filter_status(json_t *const *a, size_t n, json_t **res, const char *status)
{
    if (n != 1 || !json_is_array(a[0]))
        return 1;
    json_t *out = json_array();
    for (size_t i = 0; i < json_array_size(a[0]); i++) {
        json_t *al = json_array_get(a[0], i);
        json_t *st = json_object_get(al, "Status");
        if (!json_is_string(st)) {
            json_decref(out);
            return 1;
        }
        if (strcmp(json_string_value(st), status) == 0)
            json_array_append(out, al);
    }
    *res = out;
    return 0;
}

S_FN(s_m_firing)
{
    (void)user, (void)e, (void)es;
    return s_filter_status(a, n, res, "firing");
}

S_FN(s_m_resolved)
{
    (void)user, (void)e, (void)es;
    return s_filter_status(a, n, res, "resolved");
}

// ---- date / tz (times as Go's String() or RFC 3339 text) ----

static int
s_parse_time(const char *s, struct tm *tm, long *ns)
{
    memset(tm, 0, sizeof(*tm));
    *ns = 0;
    int y, mo, d, h, mi, sec, k = 0;
    if (sscanf(s, "%d-%d-%d%*1[ T]%d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &k) != 6)
        return -1;
    const char *p = s + k;
    if (*p == '.') {
        long mult = 100000000;
        for (p++; isdigit((unsigned char)*p); p++, mult /= 10)
            *ns += (*p - '0') * mult;
    }
    tm->tm_year = y - 1900, tm->tm_mon = mo - 1, tm->tm_mday = d;
    tm->tm_hour = h, tm->tm_min = mi, tm->tm_sec = sec;
    return 0; // offsets other than UTC are not applied (payload times are UTC)
}

S_FN(s_date)
{
    (void)user, (void)n;
    const char *layout, *ts;
    if (s_str(a[0], &layout, e, es) < 0 || s_str(a[1], &ts, e, es) < 0)
        return -1;
    struct tm tm;
    long ns;
    if (s_parse_time(ts, &tm, &ns) < 0) {
        snprintf(e, es, "wrong type for value; expected time.Time; got string");
        return -1;
    }
    static const char *const mon[] = {"January",   "February", "March",    "April",
                                      "May",       "June",     "July",     "August",
                                      "September", "October",  "November", "December"};
    static const char *const wday[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                       "Thursday", "Friday", "Saturday"};
    static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4}; // Sakamoto's weekday
    int yy = tm.tm_year + 1900 - (tm.tm_mon < 2);
    if (tm.tm_mon < 0 || tm.tm_mon > 11) {
        snprintf(e, es, "parsing time \"%s\": month out of range", ts);
        return -1;
    }
    tm.tm_wday = (yy + yy / 4 - yy / 100 + yy / 400 + t[tm.tm_mon] + tm.tm_mday) % 7;
    if (tm.tm_wday < 0)
        tm.tm_wday += 7;
    fw_tmpl_buf_t b = {0};
    fw_tmpl_buf_add(&b, "", 0);
    char x[32];
    for (const char *p = layout; *p;) {
#define S_TOK(t, ...)                                                                              \
    if (strncmp(p, t, strlen(t)) == 0) {                                                           \
        snprintf(x, sizeof(x), __VA_ARGS__);                                                       \
        fw_tmpl_buf_add(&b, x, strlen(x));                                                         \
        p += strlen(t);                                                                            \
        continue;                                                                                  \
    }
        S_TOK("January", "%s", mon[tm.tm_mon]);
        S_TOK("Jan", "%.3s", mon[tm.tm_mon]);
        S_TOK("Monday", "%s", wday[tm.tm_wday]);
        S_TOK("Mon", "%.3s", wday[tm.tm_wday]);
        S_TOK("2006", "%04d", tm.tm_year + 1900);
        S_TOK("-07:00", "+00:00");
        S_TOK("-0700", "+0000");
        S_TOK("Z07:00", "Z");
        S_TOK("MST", "UTC");
        S_TOK("01", "%02d", tm.tm_mon + 1);
        S_TOK("02", "%02d", tm.tm_mday);
        S_TOK("06", "%02d", tm.tm_year % 100);
        S_TOK("15", "%02d", tm.tm_hour);
        S_TOK("03", "%02d", tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
        S_TOK("04", "%02d", tm.tm_min);
        S_TOK("05", "%02d", tm.tm_sec);
        S_TOK(".000000000", ".%09ld", ns);
        S_TOK(".000000", ".%06ld", ns / 1000);
        S_TOK(".000", ".%03ld", ns / 1000000);
        S_TOK("PM", "%s", tm.tm_hour >= 12 ? "PM" : "AM");
        S_TOK("pm", "%s", tm.tm_hour >= 12 ? "pm" : "am");
        S_TOK("_2", "%2d", tm.tm_mday);
        S_TOK("1", "%d", tm.tm_mon + 1);
        S_TOK("2", "%d", tm.tm_mday);
        S_TOK("3", "%d", tm.tm_hour % 12 ? tm.tm_hour % 12 : 12);
        S_TOK("4", "%d", tm.tm_min);
        S_TOK("5", "%d", tm.tm_sec);
#undef S_TOK
        fw_tmpl_buf_add(&b, p, 1);
        p++;
    }
    *res = json_stringn_nocheck(b.s, b.len);
    free(b.s);
    return 0;
}

S_FN(s_tz)
{
    (void)user, (void)n;
    const char *zone, *ts;
    if (s_str(a[0], &zone, e, es) < 0 || s_str(a[1], &ts, e, es) < 0)
        return -1;
    if (strcmp(zone, "UTC") != 0 && strcmp(zone, "") != 0) {
        snprintf(e, es, "time zone \"%s\" is not supported (only UTC)", zone);
        return -1;
    }
    *res = json_incref(a[1]);
    return 0;
}

void
fw_tmpl_set_use_alertmanager(fw_tmpl_set_t *self)
{
    fw_tmpl_set_func(self, "toUpper", s_to_upper, NULL, 1, 1);
    fw_tmpl_set_func(self, "toLower", s_to_lower, NULL, 1, 1);
    fw_tmpl_set_func(self, "title", s_title, self, 1, 1);
    fw_tmpl_set_func(self, "trimSpace", s_trim_space, NULL, 1, 1);
    fw_tmpl_set_func(self, "join", s_join, NULL, 2, 2);
    fw_tmpl_set_func(self, "match", s_match, NULL, 2, 2);
    fw_tmpl_set_func(self, "reReplaceAll", s_re_replace_all, NULL, 3, 3);
    fw_tmpl_set_func(self, "safeHtml", s_safe_html, NULL, 1, 1);
    fw_tmpl_set_func(self, "safeUrl", s_identity, NULL, 1, 1);
    fw_tmpl_set_func(self, "stringSlice", s_string_slice, NULL, 0, -1);
    fw_tmpl_set_func(self, "date", s_date, NULL, 2, 2);
    fw_tmpl_set_func(self, "tz", s_tz, NULL, 2, 2);
    fw_tmpl_set_func(self, "humanizeDuration", s_humanize_duration, NULL, 1, 1);
    fw_tmpl_set_method(self, "SortedPairs", s_m_sorted_pairs, NULL);
    fw_tmpl_set_method(self, "Names", s_m_names, NULL);
    fw_tmpl_set_method(self, "Values", s_m_values, NULL);
    fw_tmpl_set_method(self, "Remove", s_m_remove, NULL);
    fw_tmpl_set_method(self, "Firing", s_m_firing, NULL);
    fw_tmpl_set_method(self, "Resolved", s_m_resolved, NULL);
    // Go's parameter types of Alertmanager's functions (template.go's DefaultFuncs)
    static const char *const typed[][2] = {
        {"toUpper", "s"}, {"toLower", "s"},     {"title", "s"},          {"trimSpace", "s"},
        {"join", "sS"},   {"match", "ss"},      {"reReplaceAll", "sss"}, {"safeHtml", "s"},
        {"safeUrl", "s"}, {"stringSlice", "s"},
    };
    for (size_t i = 0; i < sizeof typed / sizeof typed[0]; i++)
        fw_tmpl_set_func_types(self, typed[i][0], typed[i][1]);
    // Alertmanager's template.Data, Alert and Pair, as fw_tmpl_am_data and SortedPairs build
    // them
    static const char *const data[] = {
        "Receiver",          "Status",      "Alerts", "GroupLabels", "CommonLabels",
        "CommonAnnotations", "ExternalURL", NULL};
    static const char *const alert[] = {"Status", "Labels",       "Annotations", "StartsAt",
                                        "EndsAt", "GeneratorURL", "Fingerprint", NULL};
    static const char *const pair[] = {"Name", "Value", NULL};
    fw_tmpl_set_struct(self, "template.Data", NULL, data);
    fw_tmpl_set_struct(self, "template.Alert", "template.Alerts", alert);
    fw_tmpl_set_struct(self, "template.Pair", "template.Pairs", pair);
    fw_tmpl_set_map_name(self, "template.KV");
    fw_tmpl_set_missingkey(self, FW_TMPL_MISSINGKEY_ZERO);
}

void
fw_tmpl_set_use_prometheus(fw_tmpl_set_t *self, const char *external_url, fw_tmpl_func_fn *query,
                           void *query_user)
{
    free(self->external_url);
    self->external_url = fw_strdup(external_url ? external_url : "");
    fw_tmpl_set_func(self, "humanize", s_humanize, NULL, 1, 1);
    fw_tmpl_set_func(self, "humanize1024", s_humanize1024, NULL, 1, 1);
    fw_tmpl_set_func(self, "humanizeDuration", s_humanize_duration, NULL, 1, 1);
    fw_tmpl_set_func(self, "humanizePercentage", s_humanize_percentage, NULL, 1, 1);
    fw_tmpl_set_func(self, "humanizeTimestamp", s_humanize_timestamp, NULL, 1, 1);
    fw_tmpl_set_func(self, "toTime", s_to_time, NULL, 1, 1);
    fw_tmpl_set_func(self, "title", s_title, NULL, 1, 1);
    fw_tmpl_set_func(self, "toUpper", s_to_upper, NULL, 1, 1);
    fw_tmpl_set_func(self, "toLower", s_to_lower, NULL, 1, 1);
    fw_tmpl_set_func(self, "match", s_match, NULL, 2, 2);
    fw_tmpl_set_func(self, "reReplaceAll", s_re_replace_all, NULL, 3, 3);
    fw_tmpl_set_func(self, "safeHtml", s_identity, NULL, 1, 1);
    fw_tmpl_set_func(self, "stripPort", s_strip_port, NULL, 1, 1);
    fw_tmpl_set_func(self, "stripDomain", s_strip_domain, NULL, 1, 1);
    fw_tmpl_set_func(self, "parseDuration", s_parse_duration, NULL, 1, 1);
    fw_tmpl_set_func(self, "first", s_first, NULL, 1, 1);
    fw_tmpl_set_func(self, "label", s_label, NULL, 2, 2);
    fw_tmpl_set_func(self, "value", s_value, NULL, 1, 1);
    fw_tmpl_set_func(self, "strvalue", s_strvalue, NULL, 1, 1);
    fw_tmpl_set_func(self, "sortByLabel", s_sort_by_label, NULL, 2, 2);
    fw_tmpl_set_func(self, "args", s_args, NULL, 0, -1);
    fw_tmpl_set_func(self, "externalURL", s_external_url, self, 0, 0);
    fw_tmpl_set_func(self, "pathPrefix", s_path_prefix, self, 0, 0);
    if (query) {
        fw_tmpl_set_func(self, "query", query, query_user, 1, 1);
        fw_tmpl_set_func_types(self, "query", "s"); // template.go: func(q string)
    }
}

// ---- Alertmanager data ----

static json_t *
s_kv(const json_t *v)
{
    return json_is_object(v) ? json_deep_copy(v) : json_object();
}

static json_t *
s_go_time(const json_t *v)
{
    const char *s = json_string_value(v);
    struct tm tm;
    long ns;
    if (!s || s_parse_time(s, &tm, &ns) < 0)
        return json_string(s ? s : "0001-01-01 00:00:00 +0000 UTC");
    char frac[24] = "", buf[96];
    if (ns) {
        snprintf(frac, sizeof(frac), ".%09ld", ns);
        for (size_t k = strlen(frac); k > 1 && frac[k - 1] == '0'; k--)
            frac[k - 1] = '\0';
    }
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d%s +0000 UTC", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    return json_string(buf);
}

static json_t *
s_strfield(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return json_string(s ? s : "");
}

json_t *
fw_tmpl_am_data(const json_t *payload)
{
    json_t *d = json_object();
    json_object_set_new(d, "Receiver", s_strfield(payload, "receiver"));
    json_object_set_new(d, "Status", s_strfield(payload, "status"));
    json_t *alerts = json_array();
    json_t *in = json_object_get(payload, "alerts");
    for (size_t i = 0; i < json_array_size(in); i++) {
        json_t *a = json_array_get(in, i), *o = json_object();
        json_object_set_new(o, "Status", s_strfield(a, "status"));
        json_object_set_new(o, "Labels", s_kv(json_object_get(a, "labels")));
        json_object_set_new(o, "Annotations", s_kv(json_object_get(a, "annotations")));
        json_object_set_new(o, "StartsAt", s_go_time(json_object_get(a, "startsAt")));
        json_object_set_new(o, "EndsAt", s_go_time(json_object_get(a, "endsAt")));
        json_object_set_new(o, "GeneratorURL", s_strfield(a, "generatorURL"));
        json_object_set_new(o, "Fingerprint", s_strfield(a, "fingerprint"));
        json_array_append_new(alerts, o);
    }
    json_object_set_new(d, "Alerts", alerts);
    json_object_set_new(d, "GroupLabels", s_kv(json_object_get(payload, "groupLabels")));
    json_object_set_new(d, "CommonLabels", s_kv(json_object_get(payload, "commonLabels")));
    json_object_set_new(d, "CommonAnnotations",
                        s_kv(json_object_get(payload, "commonAnnotations")));
    json_object_set_new(d, "ExternalURL", s_strfield(payload, "externalURL"));
    return d;
}
