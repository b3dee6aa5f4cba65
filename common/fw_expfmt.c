/*  fw_expfmt.c — Prometheus text exposition parser into reused buffers.

    Design: a hand-written line scanner. Each line is classified (blank, comment, sample)
    and a sample line is scanned left to right with a cursor; every error names the line
    and the 1-based byte column where the scanner stopped. Strings go into one arena as
    offsets (the arena may move while it grows); once the body has parsed, a last pass turns
    the offsets into pointer arrays for fw_expfmt_get(). The arena, the records and the
    pointer arrays keep their capacity between runs, so steady-state scrapes allocate
    nothing. The same line scanner serves the line-at-a-time mode (fw_expfmt_line, for
    files too large to hold: tsdb import), which resets the arena at every line and keeps
    only the metric-family state between lines; that is why family names are copied into
    their own arena instead of pointing into a body that may be gone.

    OpenMetrics mode is strict, as the upstream OpenMetrics parser suite demands
    (test/conformance/openmetrics.c runs it): single spaces between tokens, no blank lines
    or free comments, decimal numbers only, "# EOF" required; each metric family's metadata
    comes once and before its samples, and its lines are contiguous (a set of finished
    family names, borrowed from the body). The spec's value rules (no NaN or negative
    counts, stateset values 0/1) are not enforced, on purpose: Prometheus ingests such
    samples, and rejecting the scrape would drop the target's good samples with them.
    Exemplars and histogram bucket structure are not validated yet.

    Timestamps in OpenMetrics are float seconds; they become milliseconds as Prometheus's
    parser makes them, int64(ts * 1000), truncated toward zero (so an imported file and
    promtool's blocks of it hold the same times).
*/
#include "fw_expfmt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_hash.h"
#include "fw_labels.h"
#include "fw_mem.h"

struct s_label {
    size_t name_off; // into arena
    size_t value_off;
};

struct s_sample {
    size_t name_off;
    size_t label_first; // index into labels
    size_t n_labels;
    const char *series; // borrowed from the body or line: "name{...}" as written
    size_t series_len;
    double v;
    bool has_t;
    int64_t t_ms;
};

// A borrowed piece of the body.
struct s_span {
    const char *p;
    size_t len;
};

// A family name in fam_arena (off, len); len 0 is an empty slot or no family.
struct s_fam {
    size_t off, len;
};

enum { S_SEEN_HELP = 1, S_SEEN_TYPE = 2, S_SEEN_UNIT = 4, S_SEEN_SAMPLE = 8 };

// Per OpenMetrics type, the sample-name suffixes a family of that type may use ("" is the
// bare family name). Index 0 is "unknown" (also used for samples without metadata).
static const struct {
    const char *type;
    const char *suffixes[5];
} s_om_suffixes[] = {
    {"unknown", {"", NULL}},
    {"gauge", {"", NULL}},
    {"counter", {"_total", "_created", NULL}},
    {"histogram", {"_bucket", "_count", "_sum", "_created", NULL}},
    {"gaugehistogram", {"_bucket", "_gcount", "_gsum", NULL}},
    {"summary", {"", "_count", "_sum", "_created", NULL}},
    {"info", {"_info", NULL}},
    {"stateset", {"", NULL}},
};

struct fw_expfmt {
    char *arena; // owned
    size_t arena_len, arena_cap;
    struct s_label *labels; // owned
    size_t labels_len, labels_cap;
    struct s_sample *samples; // owned
    size_t samples_len, samples_cap;
    const char **names;  // owned array; entries borrowed from arena
    const char **values; // owned array; entries borrowed from arena
    size_t names_cap, values_cap;
    // OpenMetrics metric-family tracking, valid during one run or stream of lines.
    char *fam_arena; // owned: the names of the families seen
    size_t fam_arena_len, fam_arena_cap;
    struct s_fam *fams; // owned open-addressing set of finished families' names
    size_t fams_cap, fams_len;
    struct s_fam cur;  // the current family's name (len 0: none yet)
    int cur_type;      // index into s_om_suffixes
    unsigned cur_seen; // S_SEEN_* bits
    // Line-at-a-time mode (fw_expfmt_begin/line/end).
    fw_expfmt_fmt_t line_fmt;
    unsigned line_flags; // FW_EXPFMT_*
    int lineno;          // lines given so far
    bool line_eof;       // OpenMetrics "# EOF" seen
};

// The scan state of one line.
struct s_line {
    const char *p; // line start
    size_t len;    // without the line end
    size_t pos;    // cursor
    int lineno;
    bool bare; // line mode: the message leaves the position to err->line and err->col
    fw_err_t *err;
};

fw_expfmt_t *
fw_expfmt_new(void)
{
    return fw_calloc(1, sizeof(fw_expfmt_t));
}

void
fw_expfmt_destroy(fw_expfmt_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_expfmt_t *self = *self_p;
    free(self->fams);
    free(self->fam_arena);
    free(self->values);
    free(self->names);
    free(self->samples);
    free(self->labels);
    free(self->arena);
    free(self);
    *self_p = NULL;
}

fw_expfmt_fmt_t
fw_expfmt_format(const char *content_type)
{
    if (content_type && strncmp(content_type, "application/openmetrics-text", 28) == 0)
        return FW_EXPFMT_OPENMETRICS;
    return FW_EXPFMT_TEXT;
}

// ---------------------------------------------------------------------------------------
//  Scanning helpers

static int
s_fail(struct s_line *l, const char *what)
{
    int col = (int)l->pos + 1;
    if (l->bare)
        fw_err_set(l->err, "%s", what);
    else
        fw_err_set(l->err, "line %d: %s at column %d", l->lineno, what, col);
    if (l->err) {
        l->err->line = l->lineno;
        l->err->col = col;
    }
    return -1;
}

static bool
s_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void
s_skip_blanks(struct s_line *l)
{
    while (l->pos < l->len && s_blank(l->p[l->pos]))
        l->pos++;
}

static bool
s_at_end(const struct s_line *l)
{
    return l->pos >= l->len;
}

static bool
s_name_start(char c, bool metric)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (metric && c == ':');
}

static bool
s_name_char(char c, bool metric)
{
    return s_name_start(c, metric) || (c >= '0' && c <= '9');
}

// Scan a name at the cursor; returns its length (0: none there).
static size_t
s_scan_name(struct s_line *l, bool metric)
{
    size_t start = l->pos;
    if (s_at_end(l) || !s_name_start(l->p[l->pos], metric))
        return 0;
    while (l->pos < l->len && s_name_char(l->p[l->pos], metric))
        l->pos++;
    return l->pos - start;
}

// Append n bytes and a NUL to the arena; returns the offset.
static size_t
s_arena_put(fw_expfmt_t *self, const char *s, size_t n)
{
    fw_mem_grow((void **)&self->arena, &self->arena_cap, self->arena_len + n + 1, 1);
    size_t off = self->arena_len;
    memcpy(self->arena + off, s, n);
    self->arena[off + n] = '\0';
    self->arena_len += n + 1;
    return off;
}

// A token of non-blank characters at the cursor: [*start, *start + returned length).
static size_t
s_scan_token(struct s_line *l, size_t *start)
{
    *start = l->pos;
    while (l->pos < l->len && !s_blank(l->p[l->pos]))
        l->pos++;
    return l->pos - *start;
}

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

// Parse a float as Go's strconv.ParseFloat does for exposition values: decimal or hex
// notation, or Inf/Infinity/NaN with an optional sign, case-insensitive. 0 or -1.
static int
s_parse_float(const char *s, size_t n, double *out)
{
    char buf[128];
    if (n == 0 || n >= sizeof(buf))
        return -1;
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

static int
s_parse_int64(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '-' || s[0] == '+')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (i == n)
        return -1;
    uint64_t acc = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (neg ? acc > (uint64_t)INT64_MAX + 1 : acc > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

// ---------------------------------------------------------------------------------------
//  Comments: # HELP, # TYPE, # UNIT, # EOF

// Returns 0, 1 when the line is OpenMetrics' "# EOF", or -1.
// OpenMetrics separates the parts of a line by exactly one space: accept one ' ' followed
// by a non-blank character.
static int
s_om_sep(struct s_line *l, const char *what)
{
    if (l->pos + 1 >= l->len || l->p[l->pos] != ' ' || s_blank(l->p[l->pos + 1]))
        return s_fail(l, what);
    l->pos++;
    return 0;
}

// OpenMetrics numbers are decimal; Go's ParseFloat would also take hex ("0x1p-3").
static bool
s_om_hex(const char *p, size_t len)
{
    return memchr(p, 'x', len) != NULL || memchr(p, 'X', len) != NULL;
}

static int
s_parse_comment(struct s_line *l, fw_expfmt_fmt_t fmt)
{
    // OpenMetrics knows no free comments and separates every token by exactly one space.
    bool om = fmt == FW_EXPFMT_OPENMETRICS;
    l->pos++; // '#'
    if (s_at_end(l) || !s_blank(l->p[l->pos]))
        return om ? s_fail(l, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"") : 0;
    if (!om)
        s_skip_blanks(l);
    else if (s_om_sep(l, "expected a single space after '#'") != 0)
        return -1;
    size_t kw_start;
    size_t kw_len = s_scan_token(l, &kw_start);
    const char *kw = l->p + kw_start;
    bool help = kw_len == 4 && memcmp(kw, "HELP", 4) == 0;
    bool type = kw_len == 4 && memcmp(kw, "TYPE", 4) == 0;
    bool unit = om && kw_len == 4 && memcmp(kw, "UNIT", 4) == 0;
    if (om && kw_len == 3 && memcmp(kw, "EOF", 3) == 0)
        return 1;
    if (!help && !type && !unit) {
        if (!om)
            return 0;
        l->pos = kw_start;
        return s_fail(l, "unknown metadata keyword");
    }
    if (om) {
        if (s_om_sep(l, "expected a single space before the metric name") != 0)
            return -1;
    } else if (s_at_end(l) || !s_blank(l->p[l->pos])) {
        return s_fail(l, help   ? "expected metric name after HELP"
                         : type ? "expected metric name after TYPE"
                                : "expected metric name after UNIT");
    } else {
        s_skip_blanks(l);
    }
    if (s_scan_name(l, true) == 0)
        return s_fail(l, "invalid metric name in comment");
    if (!s_at_end(l) && !s_blank(l->p[l->pos]))
        return s_fail(l, "invalid metric name in comment");
    if (om) {
        if (s_at_end(l) || l->p[l->pos] != ' ')
            return s_fail(l, help   ? "expected a space and help text after the metric name"
                             : type ? "expected a space and the metric type"
                                    : "expected a space and unit after the metric name");
        l->pos++;
        if (help)
            return 0; // the docstring is free text, possibly empty
        if (unit) {
            for (; l->pos < l->len; l->pos++)
                if (s_blank(l->p[l->pos]))
                    return s_fail(l, "blank in unit");
            return 0;
        }
    } else {
        s_skip_blanks(l);
        if (help || unit)
            return 0; // the docstring is free text
    }
    static const char *const types[] = {"counter", "gauge",   "histogram",
                                        "summary", "untyped", NULL};
    static const char *const om_types[] = {"unknown", "gaugehistogram", "stateset", "info", NULL};
    size_t t_start;
    size_t t_len = s_scan_token(l, &t_start);
    bool ok = false;
    for (size_t i = 0; types[i] && !ok; i++)
        ok = strlen(types[i]) == t_len && memcmp(types[i], l->p + t_start, t_len) == 0 &&
             !(om && strcmp(types[i], "untyped") == 0); // OpenMetrics says "unknown"
    for (size_t i = 0; om_types[i] && !ok && om; i++)
        ok = strlen(om_types[i]) == t_len && memcmp(om_types[i], l->p + t_start, t_len) == 0;
    if (!ok) {
        l->pos = t_start;
        return s_fail(l, "invalid metric type");
    }
    if (fmt != FW_EXPFMT_OPENMETRICS)
        s_skip_blanks(l);
    if (!s_at_end(l))
        return s_fail(l, "unexpected text after metric type");
    return 0;
}

// ---------------------------------------------------------------------------------------
//  Samples

// Scan a quoted label value (cursor on the opening quote) into the arena.
static int
s_parse_label_value(fw_expfmt_t *self, struct s_line *l, size_t *off)
{
    size_t open = l->pos;
    l->pos++;
    size_t start = l->pos;
    bool escaped = false;
    for (;;) {
        if (s_at_end(l)) {
            l->pos = open;
            return s_fail(l, "unterminated label value");
        }
        char c = l->p[l->pos];
        if (c == '\\') {
            escaped = true;
            l->pos += 2;
            if (l->pos > l->len) {
                l->pos = open;
                return s_fail(l, "unterminated label value");
            }
            continue;
        }
        if (c == '"')
            break;
        if (c == '\0')
            return s_fail(l, "NUL byte in label value");
        l->pos++;
    }
    size_t end = l->pos;
    l->pos++; // closing quote
    if (!fw_utf8_valid(l->p + start, end - start)) {
        l->pos = open;
        return s_fail(l, "invalid UTF-8 in label value");
    }
    if (!escaped) {
        *off = s_arena_put(self, l->p + start, end - start);
        return 0;
    }
    // Unescaped text is never longer than the escaped text.
    fw_mem_grow((void **)&self->arena, &self->arena_cap, self->arena_len + (end - start) + 1, 1);
    *off = self->arena_len;
    char *w = self->arena + self->arena_len;
    for (size_t i = start; i < end; i++) {
        char c = l->p[i];
        if (c == '\\' && i + 1 < end) {
            char e = l->p[i + 1];
            if (e == '\\' || e == '"') {
                *w++ = e;
                i++;
                continue;
            }
            if (e == 'n') {
                *w++ = '\n';
                i++;
                continue;
            }
        }
        *w++ = c;
    }
    *w++ = '\0';
    self->arena_len = (size_t)(w - self->arena);
    return 0;
}

static int
s_parse_labels(fw_expfmt_t *self, struct s_line *l, struct s_sample *s, fw_expfmt_fmt_t fmt)
{
    l->pos++; // '{'
    for (;;) {
        s_skip_blanks(l);
        if (s_at_end(l))
            return s_fail(l, "expected label name or '}'");
        if (l->p[l->pos] == '}') {
            // OpenMetrics allows no trailing comma ("a{b=\"1\",}").
            if (fmt == FW_EXPFMT_OPENMETRICS && s->n_labels > 0 && l->p[l->pos - 1] == ',')
                return s_fail(l, "trailing comma in label set");
            l->pos++;
            return 0;
        }
        size_t name_col = l->pos;
        size_t name_len = s_scan_name(l, false);
        if (name_len == 0)
            return s_fail(l, "expected label name");
        const char *name = l->p + name_col;
        if (name_len == 8 && memcmp(name, "__name__", 8) == 0) {
            l->pos = name_col;
            return s_fail(l, "reserved label name \"__name__\"");
        }
        for (size_t i = 0; i < s->n_labels; i++) {
            const char *prev = self->arena + self->labels[s->label_first + i].name_off;
            if (strlen(prev) == name_len && memcmp(prev, name, name_len) == 0) {
                l->pos = name_col;
                return s_fail(l, "duplicate label name");
            }
        }
        s_skip_blanks(l);
        if (s_at_end(l) || l->p[l->pos] != '=')
            return s_fail(l, "expected '=' after label name");
        l->pos++;
        s_skip_blanks(l);
        if (s_at_end(l) || l->p[l->pos] != '"')
            return s_fail(l, "expected '\"' to open label value");
        fw_mem_grow((void **)&self->labels, &self->labels_cap, self->labels_len + 1,
                    sizeof(*self->labels));
        struct s_label *lab = &self->labels[self->labels_len];
        lab->name_off = s_arena_put(self, name, name_len);
        if (s_parse_label_value(self, l, &lab->value_off) != 0)
            return -1;
        self->labels_len++;
        s->n_labels++;
        s_skip_blanks(l);
        if (s_at_end(l))
            return s_fail(l, "expected ',' or '}' after label value");
        if (l->p[l->pos] == ',') {
            l->pos++;
            continue;
        }
        if (l->p[l->pos] != '}')
            return s_fail(l, "expected ',' or '}' after label value");
    }
}

static int
s_parse_sample(fw_expfmt_t *self, struct s_line *l, fw_expfmt_fmt_t fmt)
{
    struct s_sample s = {0};
    size_t name_start = l->pos;
    size_t name_len = s_scan_name(l, true);
    if (name_len == 0)
        return s_fail(l, "expected metric name");
    s.name_off = s_arena_put(self, l->p + name_start, name_len);
    s.label_first = self->labels_len;
    size_t after_name = l->pos;
    if (fmt == FW_EXPFMT_OPENMETRICS) {
        if (!s_at_end(l) && l->p[l->pos] == '{' && s_parse_labels(self, l, &s, fmt) != 0)
            return -1;
        if (s_om_sep(l, "expected a single space before the value") != 0)
            return -1;
    } else
        s_skip_blanks(l);
    if (fmt == FW_EXPFMT_OPENMETRICS) {
        // labels and separator done above
    } else if (!s_at_end(l) && l->p[l->pos] == '{') {
        if (s_parse_labels(self, l, &s, fmt) != 0)
            return -1;
        s_skip_blanks(l);
    } else if (l->pos == after_name && !s_at_end(l)) {
        return s_fail(l, "invalid character in metric name");
    }
    if (s_at_end(l))
        return s_fail(l, "expected value");
    s.series = l->p + name_start;
    s.series_len = l->pos - name_start;
    while (s.series_len > 0 && s_blank(s.series[s.series_len - 1]))
        s.series_len--;
    size_t v_start;
    size_t v_len = s_scan_token(l, &v_start);
    if (s_parse_float(l->p + v_start, v_len, &s.v) != 0 ||
        (fmt == FW_EXPFMT_OPENMETRICS && s_om_hex(l->p + v_start, v_len))) {
        l->pos = v_start;
        return s_fail(l, "invalid value");
    }
    if (fmt != FW_EXPFMT_OPENMETRICS)
        s_skip_blanks(l);
    else if (!s_at_end(l) && s_om_sep(l, "expected a single space after the value") != 0)
        return -1;
    if (!s_at_end(l) && !(fmt == FW_EXPFMT_OPENMETRICS && l->p[l->pos] == '#')) {
        size_t t_start;
        size_t t_len = s_scan_token(l, &t_start);
        if (fmt == FW_EXPFMT_OPENMETRICS) {
            double secs;
            if (s_parse_float(l->p + t_start, t_len, &secs) != 0 || !isfinite(secs) ||
                s_om_hex(l->p + t_start, t_len)) {
                l->pos = t_start;
                return s_fail(l, "invalid timestamp");
            }
            // Any finite float is a valid OpenMetrics timestamp (the upstream "timestamps"
            // case has 12345678901234567890.1); beyond the int64 millisecond range saturate.
            // Within it, truncate toward zero as Prometheus does (int64(ts * 1000)).
            if (secs >= 9.2e15)
                s.t_ms = INT64_MAX;
            else if (secs <= -9.2e15)
                s.t_ms = INT64_MIN;
            else
                s.t_ms = (int64_t)(secs * 1000.0);
        } else if (s_parse_int64(l->p + t_start, t_len, &s.t_ms) != 0) {
            l->pos = t_start;
            return s_fail(l, "invalid timestamp");
        }
        s.has_t = true;
        if (fmt != FW_EXPFMT_OPENMETRICS)
            s_skip_blanks(l);
        else if (!s_at_end(l) && s_om_sep(l, "expected a single space after the timestamp") != 0)
            return -1;
    }
    // OpenMetrics exemplars (" # {trace_id=\"..\"} 1") are not stored.
    if (!s_at_end(l) && !(fmt == FW_EXPFMT_OPENMETRICS && l->p[l->pos] == '#'))
        return s_fail(l, "unexpected text after sample");
    fw_mem_grow((void **)&self->samples, &self->samples_cap, self->samples_len + 1,
                sizeof(*self->samples));
    self->samples[self->samples_len++] = s;
    return 0;
}

// ---------------------------------------------------------------------------------------
//  OpenMetrics metric families: metadata once per family, before its samples; a family's
//  lines contiguous (a name may not come back after another family started).

static const char *
s_fam_name(const fw_expfmt_t *self, struct s_fam f)
{
    return self->fam_arena + f.off;
}

static bool
s_fam_eq(const fw_expfmt_t *self, struct s_fam f, struct s_span sp)
{
    return f.len == sp.len && memcmp(s_fam_name(self, f), sp.p, sp.len) == 0;
}

// Insert f (already in fam_arena) into the set; the caller checked it is not there.
static void
s_fams_add(fw_expfmt_t *self, struct s_fam f)
{
    if ((self->fams_len + 1) * 2 > self->fams_cap) {
        size_t old_cap = self->fams_cap;
        struct s_fam *old = self->fams;
        self->fams_cap = old_cap ? old_cap * 2 : 64;
        self->fams = fw_calloc(self->fams_cap, sizeof(*self->fams));
        self->fams_len = 0;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].len)
                s_fams_add(self, old[i]);
        free(old);
    }
    size_t mask = self->fams_cap - 1;
    size_t i = (size_t)fw_hash64(s_fam_name(self, f), f.len) & mask;
    while (self->fams[i].len)
        i = (i + 1) & mask;
    self->fams[i] = f;
    self->fams_len++;
}

// Is sp in the set of finished families?
static bool
s_fams_has(const fw_expfmt_t *self, struct s_span sp)
{
    if (self->fams_cap == 0)
        return false;
    size_t mask = self->fams_cap - 1;
    for (size_t i = (size_t)fw_hash64(sp.p, sp.len) & mask;; i = (i + 1) & mask) {
        if (self->fams[i].len == 0)
            return false;
        if (s_fam_eq(self, self->fams[i], sp))
            return true;
    }
}

// Close the current family and open the one named sp. Fails if sp had its turn already.
static int
s_om_family_start(fw_expfmt_t *self, struct s_line *l, struct s_span sp)
{
    if (self->cur.len)
        s_fams_add(self, self->cur);
    if (s_fams_has(self, sp))
        return s_fail(l, "metric family appears again after another family");
    fw_mem_grow((void **)&self->fam_arena, &self->fam_arena_cap, self->fam_arena_len + sp.len, 1);
    memcpy(self->fam_arena + self->fam_arena_len, sp.p, sp.len);
    self->cur = (struct s_fam){self->fam_arena_len, sp.len};
    self->fam_arena_len += sp.len;
    self->cur_type = 0;
    self->cur_seen = 0;
    return 0;
}

// Does sample name sp belong to the current family?
static bool
s_om_in_family(const fw_expfmt_t *self, struct s_span sp)
{
    if (!self->cur.len || sp.len < self->cur.len ||
        memcmp(sp.p, s_fam_name(self, self->cur), self->cur.len) != 0)
        return false;
    const char *const *suf = s_om_suffixes[self->cur_type].suffixes;
    for (size_t i = 0; suf[i]; i++)
        if (strlen(suf[i]) == sp.len - self->cur.len &&
            memcmp(sp.p + self->cur.len, suf[i], sp.len - self->cur.len) == 0)
            return true;
    return false;
}

// Book-keeping for one OpenMetrics line that already parsed (so its shape is strict:
// "# KW name[ rest]" or "name[{...}] value...").
static int
s_om_family(fw_expfmt_t *self, struct s_line *l)
{
    if (l->p[0] == '#') {
        if (l->len < 7)
            return 0; // "# EOF" is handled by the caller
        char kw = l->p[2];
        size_t start = 7, end = start;
        while (end < l->len && l->p[end] != ' ')
            end++;
        struct s_span sp = {l->p + start, end - start};
        l->pos = start;
        if (!s_fam_eq(self, self->cur, sp) && s_om_family_start(self, l, sp) != 0)
            return -1;
        unsigned bit = kw == 'H' ? S_SEEN_HELP : kw == 'T' ? S_SEEN_TYPE : S_SEEN_UNIT;
        if (self->cur_seen & S_SEEN_SAMPLE)
            return s_fail(l, "metadata after the family's samples");
        if (self->cur_seen & bit)
            return s_fail(l, "repeated metadata for one metric family");
        self->cur_seen |= bit;
        if (bit == S_SEEN_TYPE) {
            struct s_span t = {l->p + end + 1, l->len - end - 1};
            for (size_t i = 0; i < sizeof(s_om_suffixes) / sizeof(s_om_suffixes[0]); i++)
                if (strlen(s_om_suffixes[i].type) == t.len &&
                    memcmp(s_om_suffixes[i].type, t.p, t.len) == 0)
                    self->cur_type = (int)i;
        }
        return 0;
    }
    size_t end = 0;
    while (end < l->len && l->p[end] != '{' && l->p[end] != ' ')
        end++;
    struct s_span sp = {l->p, end};
    if (!s_om_in_family(self, sp)) {
        l->pos = 0;
        if (s_om_family_start(self, l, sp) != 0)
            return -1;
    }
    self->cur_seen |= S_SEEN_SAMPLE;
    // The spec's value rules (no NaN or negative counters, stateset values 0 or 1, ...) are
    // deliberately not enforced: Prometheus ingests such samples, and failing the whole
    // scrape for one odd value would lose every other sample of the target. A structurally
    // broken body (above) still fails.
    return 0;
}

// ---------------------------------------------------------------------------------------

static void
s_reset(fw_expfmt_t *self)
{
    self->arena_len = 0;
    self->labels_len = 0;
    self->samples_len = 0;
    if (self->fams_len)
        memset(self->fams, 0, self->fams_cap * sizeof(*self->fams));
    self->fams_len = 0;
    self->fam_arena_len = 0;
    self->cur.len = 0;
    self->cur_type = 0;
    self->cur_seen = 0;
}

// Scan one line (line end removed, a trailing '\r' still there). 0 (a sample, if the line
// held one, appended to samples), 1 at OpenMetrics' "# EOF", or -1 with err.
static int
s_scan_line(fw_expfmt_t *self, struct s_line *l, fw_expfmt_fmt_t fmt, bool families)
{
    if (l->len > 0 && l->p[l->len - 1] == '\r')
        l->len--;
    if (fmt == FW_EXPFMT_OPENMETRICS && l->len > 0 && s_blank(l->p[0]))
        return s_fail(l, "leading blank in OpenMetrics line");
    s_skip_blanks(l);
    if (s_at_end(l)) {
        if (fmt != FW_EXPFMT_OPENMETRICS)
            return 0;
        // OpenMetrics has no blank lines (upstream case bad_blank_line).
        return s_fail(l, "blank line in OpenMetrics body");
    }
    int rc;
    if (l->p[l->pos] == '#') {
        rc = s_parse_comment(l, fmt);
        if (rc == 1)
            return 1;
    } else {
        rc = s_parse_sample(self, l, fmt);
    }
    if (rc == 0 && fmt == FW_EXPFMT_OPENMETRICS && families)
        rc = s_om_family(self, l);
    return rc;
}

// The arena no longer moves: hand out pointers.
static void
s_publish(fw_expfmt_t *self)
{
    fw_mem_grow((void **)&self->names, &self->names_cap, self->labels_len + 1, sizeof(char *));
    fw_mem_grow((void **)&self->values, &self->values_cap, self->labels_len + 1, sizeof(char *));
    for (size_t i = 0; i < self->labels_len; i++) {
        self->names[i] = self->arena + self->labels[i].name_off;
        self->values[i] = self->arena + self->labels[i].value_off;
    }
}

ssize_t
fw_expfmt_parse(fw_expfmt_t *self, const char *body, size_t len, fw_expfmt_fmt_t fmt, fw_err_t *err)
{
    s_reset(self);
    size_t at = 0;
    int lineno = 0;
    bool eof = false;
    while (at < len) {
        const char *nl = memchr(body + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - body) : len;
        struct s_line l = {body + at, end - at, 0, ++lineno, false, err};
        at = nl ? end + 1 : len;
        int rc = s_scan_line(self, &l, fmt, true);
        if (rc == 1) {
            eof = true;
            break;
        }
        if (rc != 0) {
            s_reset(self);
            return -1;
        }
    }
    if (fmt == FW_EXPFMT_OPENMETRICS && !eof) {
        // An OpenMetrics body must end with "# EOF": without it the scrape may be truncated.
        struct s_line l = {body, 0, 0, lineno > 0 ? lineno : 1, false, err};
        s_fail(&l, "missing \"# EOF\" at the end of an OpenMetrics body");
        s_reset(self);
        return -1;
    }
    s_publish(self);
    return (ssize_t)self->samples_len;
}

size_t
fw_expfmt_count(const fw_expfmt_t *self)
{
    return self->samples_len;
}

void
fw_expfmt_get(fw_expfmt_t *self, size_t i, struct fw_expfmt_sample *out)
{
    const struct s_sample *s = &self->samples[i];
    out->name = self->arena + s->name_off;
    out->label_names = self->names + s->label_first;
    out->label_values = self->values + s->label_first;
    out->n_labels = s->n_labels;
    out->series = s->series;
    out->series_len = s->series_len;
    out->v = s->v;
    out->has_t = s->has_t;
    out->t_ms = s->t_ms;
}

// ---------------------------------------------------------------------------------------
//  Line at a time

void
fw_expfmt_begin(fw_expfmt_t *self, fw_expfmt_fmt_t fmt, unsigned flags)
{
    s_reset(self);
    self->line_fmt = fmt;
    self->line_flags = flags;
    self->lineno = 0;
    self->line_eof = false;
}

int
fw_expfmt_line(fw_expfmt_t *self, const char *line, size_t len, struct fw_expfmt_sample *out,
               fw_err_t *err)
{
    struct s_line l = {line, len, 0, ++self->lineno, true, err};
    if (self->line_eof) {
        // As Prometheus's parser: nothing may follow "# EOF" (not even a blank line).
        return s_fail(&l, "unexpected data after \"# EOF\"");
    }
    self->arena_len = 0;
    self->labels_len = 0;
    self->samples_len = 0;
    int rc = s_scan_line(self, &l, self->line_fmt, !(self->line_flags & FW_EXPFMT_LAX_FAMILIES));
    if (rc < 0) {
        self->samples_len = 0;
        return -1;
    }
    if (rc == 1) {
        self->line_eof = true;
        return 0;
    }
    if (self->samples_len == 0)
        return 0;
    s_publish(self);
    fw_expfmt_get(self, 0, out);
    return 1;
}

int
fw_expfmt_end(fw_expfmt_t *self, fw_err_t *err)
{
    if (self->line_fmt != FW_EXPFMT_OPENMETRICS || self->line_eof)
        return 0;
    struct s_line l = {"", 0, 0, self->lineno > 0 ? self->lineno : 1, true, err};
    return s_fail(&l, "missing \"# EOF\" at the end of an OpenMetrics file");
}
