/*  fw_log.c — one line per event, logfmt or JSON, on stderr.

    The kv template ("key=%s n=%d") is walked one conversion at a time: each value is
    formatted alone with vsnprintf-style calls, then quoted/escaped for the output format.
    va_arg is taken by the conversion's length modifier, so the template's printf types
    (checked by the compiler through the format attribute) drive the walk. Each line is built
    in a stack buffer and written with one write(2), so lines from threads do not interleave.
*/
#include "fw_log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "fw_json_out.h"
#include "fw_time.h"

#define S_LINE_MAX 8192

static struct {
    const char *daemon;
    fw_log_level_t level;
    fw_log_format_t format;
    int fd;
} s_log = {"floorwatch", FW_LOG_INFO, FW_LOG_LOGFMT, 2};

static const char *const s_level_names[] = {"debug", "info", "warn", "error"};

void
fw_log_init(const char *daemon, fw_log_level_t level, fw_log_format_t format)
{
    s_log.daemon = daemon;
    s_log.level = level;
    s_log.format = format;
}

int
fw_log_level_parse(const char *s, fw_log_level_t *out)
{
    for (int i = 0; i < 4; i++)
        if (s && strcmp(s, s_level_names[i]) == 0) {
            *out = (fw_log_level_t)i;
            return 0;
        }
    return -1;
}

int
fw_log_format_parse(const char *s, fw_log_format_t *out)
{
    if (s && strcmp(s, "logfmt") == 0)
        *out = FW_LOG_LOGFMT;
    else if (s && strcmp(s, "json") == 0)
        *out = FW_LOG_JSON;
    else
        return -1;
    return 0;
}

bool
fw_log_enabled(fw_log_level_t level)
{
    return level >= s_log.level;
}

int
fw_log_set_fd(int fd)
{
    int old = s_log.fd;
    s_log.fd = fd;
    return old;
}

// --- line buffer -------------------------------------------------------------------------

struct s_line {
    char buf[S_LINE_MAX];
    size_t len;
    bool first; // JSON: no comma before the first field
};

static void
s_put(struct s_line *l, const char *s, size_t n)
{
    if (l->len + n > S_LINE_MAX - 2) // keep room for "}\n"
        n = S_LINE_MAX - 2 - l->len;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
}

static void
s_putc(struct s_line *l, char c)
{
    s_put(l, &c, 1);
}

// Write a value, quoted when needed. JSON always quotes strings; numeric values stay bare
// when `bare` (a number conversion) is set.
static void
s_put_value(struct s_line *l, const char *v, bool bare)
{
    bool json = s_log.format == FW_LOG_JSON;
    bool quote = json ? !bare : (*v == '\0');
    if (!json)
        for (const char *p = v; *p && !quote; p++)
            if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\' || (unsigned char)*p < 0x20)
                quote = true;
    if (bare && json && (strcmp(v, "nan") == 0 || strstr(v, "inf")))
        quote = true; // JSON has no NaN/Inf literals
    if (!quote) {
        s_put(l, v, strlen(v));
        return;
    }
    // Escaped straight into the line, cut where the line is full (no entry spans lines).
    struct fw_json_out o = {.p = l->buf, .len = l->len, .cap = S_LINE_MAX - 1, .fixed = true};
    fw_json_out_str(&o, v, 0);
    l->len = o.len;
}

static void
s_put_field(struct s_line *l, const char *key, size_t key_len, const char *value, bool bare)
{
    if (s_log.format == FW_LOG_JSON) {
        s_put(l, l->first ? "" : ",", l->first ? 0 : 1);
        s_putc(l, '"');
        s_put(l, key, key_len);
        s_put(l, "\":", 2);
    } else {
        s_put(l, l->first ? "" : " ", l->first ? 0 : 1);
        s_put(l, key, key_len);
        s_putc(l, '=');
    }
    l->first = false;
    s_put_value(l, value, bare);
}

// The conversion spec is rebuilt from the caller's template, which the compiler already
// checked through fw_log's format attribute; only this copy is non-literal.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
// Format one printf conversion starting at *fmt (just after '%'); returns via *bare whether
// the value is numeric. Advances *fmt past the conversion.
static void
s_format_one(const char **fmt, va_list *ap, char *out, size_t size, bool *bare)
{
    char spec[32] = "%";
    size_t n = 1;
    const char *p = *fmt;
    while (*p && strchr("0123456789.-+# ", *p) && n < 20)
        spec[n++] = *p++;
    int lmod = 0; // 0 none, 1 l, 2 ll, 3 z
    if (p[0] == 'l' && p[1] == 'l') {
        lmod = 2;
        spec[n++] = 'l';
        spec[n++] = 'l';
        p += 2;
    } else if (*p == 'l') {
        lmod = 1;
        spec[n++] = *p++;
    } else if (*p == 'z') {
        lmod = 3;
        spec[n++] = *p++;
    }
    char conv = *p ? *p++ : 's';
    spec[n++] = conv;
    spec[n] = '\0';
    *fmt = p;
    *bare = true;
    switch (conv) {
    case 'd':
    case 'i':
        if (lmod == 2)
            snprintf(out, size, spec, va_arg(*ap, long long));
        else if (lmod == 1)
            snprintf(out, size, spec, va_arg(*ap, long));
        else if (lmod == 3)
            snprintf(out, size, spec, va_arg(*ap, ssize_t));
        else
            snprintf(out, size, spec, va_arg(*ap, int));
        break;
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        if (lmod == 2)
            snprintf(out, size, spec, va_arg(*ap, unsigned long long));
        else if (lmod == 1)
            snprintf(out, size, spec, va_arg(*ap, unsigned long));
        else if (lmod == 3)
            snprintf(out, size, spec, va_arg(*ap, size_t));
        else
            snprintf(out, size, spec, va_arg(*ap, unsigned int));
        *bare = conv == 'u';
        break;
    case 'f':
    case 'g':
    case 'e':
    case 'G':
    case 'E': snprintf(out, size, spec, va_arg(*ap, double)); break;
    case 'c':
        snprintf(out, size, "%c", (char)va_arg(*ap, int));
        *bare = false;
        break;
    case 'p':
        snprintf(out, size, "%p", va_arg(*ap, void *));
        *bare = false;
        break;
    default: { // 's' and anything unknown
        const char *s = va_arg(*ap, const char *);
        snprintf(out, size, "%s", s ? s : "");
        *bare = false;
        break;
    }
    }
}

#pragma GCC diagnostic pop

static void
s_vlog(fw_log_level_t level, const char *event, const char *extra_err, const char *kvfmt,
       va_list ap0)
{
    struct s_line l = {.len = 0, .first = true};
    char ts[40], pid[24];
    fw_time_rfc3339(fw_time_now_ms(), ts, sizeof(ts));
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    if (s_log.format == FW_LOG_JSON)
        s_putc(&l, '{');
    s_put_field(&l, "ts", 2, ts, false);
    s_put_field(&l, "level", 5, s_level_names[level], false);
    s_put_field(&l, "daemon", 6, s_log.daemon, false);
    s_put_field(&l, "pid", 3, pid, true);
    s_put_field(&l, "event", 5, event, false);

    va_list ap;
    va_copy(ap, ap0);
    const char *p = kvfmt ? kvfmt : "";
    char value[2048];
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *key = p;
        while (*p && *p != '=' && *p != ' ')
            p++;
        size_t key_len = (size_t)(p - key);
        bool keyless = false;
        if (*p != '=') {
            if (!memchr(key, '%', key_len)) { // a bare word: a flag-like key, empty value
                s_put_field(&l, key, key_len, "", false);
                continue;
            }
            // A conversion without a key ("%s" alone): format it under the key "_" so that
            // it takes its argument and every later value keeps its own.
            keyless = true;
            p = key;
        } else {
            p++;
        }
        // The value: literal text and conversions up to the next space, or, when it opens
        // with a double quote, up to the closing one (spaces included; the quotes are
        // the caller's, and the value is quoted again below as it needs).
        bool in_quotes = !keyless && *p == '"';
        if (in_quotes)
            p++;
        size_t vlen = 0;
        bool bare = !in_quotes, any_conv = false;
        while (*p && (in_quotes ? *p != '"' : *p != ' ') && vlen < sizeof(value) - 1) {
            if (*p == '%' && p[1] == '%') {
                value[vlen++] = '%';
                p += 2;
            } else if (*p == '%') {
                p++;
                char one[1024];
                bool b;
                s_format_one(&p, &ap, one, sizeof(one), &b);
                size_t ol = strlen(one);
                if (ol > sizeof(value) - 1 - vlen)
                    ol = sizeof(value) - 1 - vlen;
                memcpy(value + vlen, one, ol);
                vlen += ol;
                bare = bare && b;
                any_conv = true;
            } else {
                value[vlen++] = *p++;
                bare = false;
            }
        }
        value[vlen] = '\0';
        if (in_quotes && *p == '"')
            p++;
        if (keyless) {
            key = "_";
            key_len = 1;
        }
        s_put_field(&l, key, key_len, value, any_conv && bare);
    }
    va_end(ap);
    if (extra_err)
        s_put_field(&l, "err", 3, extra_err, false);
    if (s_log.format == FW_LOG_JSON)
        s_putc(&l, '}');
    l.buf[l.len++] = '\n';
    ssize_t w = write(s_log.fd, l.buf, l.len);
    (void)w;
}

void
fw_log(fw_log_level_t level, const char *event, const char *kvfmt, ...)
{
    if (!fw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, kvfmt);
    s_vlog(level, event, NULL, kvfmt, ap);
    va_end(ap);
}

void
fw_log_errno(fw_log_level_t level, const char *event, const char *kvfmt, ...)
{
    int saved = errno;
    if (!fw_log_enabled(level))
        return;
    va_list ap;
    va_start(ap, kvfmt);
    s_vlog(level, event, strerror(saved), kvfmt, ap);
    va_end(ap);
    errno = saved;
}

void
fw_fatal(int code, const char *event, const char *kvfmt, ...)
{
    va_list ap;
    va_start(ap, kvfmt);
    s_vlog(FW_LOG_ERROR, event, NULL, kvfmt, ap);
    va_end(ap);
    exit(code);
}
