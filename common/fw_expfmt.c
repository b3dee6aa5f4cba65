/*  fw_expfmt.c — Prometheus text exposition parser into reused buffers.

    Design: a hand-written line scanner. Each line is classified (blank, comment, sample)
    and a sample line is scanned left to right with a cursor; every error names the line
    and the 1-based byte column where the scanner stopped. Strings go into one arena as
    offsets (the arena may move while it grows); once the body has parsed, a last pass turns
    the offsets into pointer arrays for fw_expfmt_get(). The arena, the records and the
    pointer arrays keep their capacity between runs, so steady-state scrapes allocate
    nothing. The same line scanner serves the line-at-a-time mode (fw_expfmt_line, for
    files too large to hold: tsdb import), which resets the arena at every line and keeps
    only the metric-family state between lines.

    OpenMetrics mode is strict, as the upstream OpenMetrics parser suite demands
    (test/conformance/openmetrics.c runs it): single spaces between tokens, no blank lines
    or free comments, decimal numbers only, exemplars (" # {labels} value [timestamp]", at
    most 128 characters of label names and values) parsed and handed out, "# EOF" required
    and nothing after it. The rules that need a metric family's state (metadata, types,
    groups, histogram buckets) live in fw_expfmt_om.c. The text format (0.0.4) stays as
    lenient as Prometheus's parser.

    Files: this one holds the object, the runs and the sample lines, the hot loop, in one
    translation unit so that its helpers inline; comment lines are fw_expfmt_meta.c, numbers
    fw_expfmt_num.c, `_created` start times fw_expfmt_st.c; fw_expfmt_int.h says who does
    what.

    Timestamps in OpenMetrics are float seconds; they become milliseconds as Prometheus's
    parser makes them, int64(ts * 1000), truncated toward zero (so an imported file and
    promtool's blocks of it hold the same times).
*/
#include "fw_expfmt.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fw_expfmt_int.h"
#include "fw_hash.h"
#include "fw_labels.h"
#include "fw_mem.h"

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
    fw_expfmt_om_free(self);
    fw_expfmt_st_free(self);
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

int
fw_expfmt_fail(struct fw_expfmt_scan *l, const char *what)
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

// Append n bytes and a NUL to the arena; returns the offset. Inline: every sample line
// puts its name.
static inline size_t
s_arena_put(fw_expfmt_t *self, const char *s, size_t n)
{
    if (self->arena_len + n + 1 > self->arena_cap) // grown once: a steady run never calls
        fw_mem_grow((void **)&self->arena, &self->arena_cap, self->arena_len + n + 1, 1);
    size_t off = self->arena_len;
    memcpy(self->arena + off, s, n);
    self->arena[off + n] = '\0';
    self->arena_len += n + 1;
    return off;
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

// FW_EXPFMT_PROMETHEUS: read OpenMetrics as Prometheus's scrape does.
static bool
s_prom(const fw_expfmt_t *self)
{
    return (self->scan_flags & FW_EXPFMT_PROMETHEUS) == FW_EXPFMT_PROMETHEUS;
}

// ---------------------------------------------------------------------------------------
//  Samples

// Scan a quoted label value (cursor on the opening quote) into the arena; with name, a
// quoted label or metric name (Prometheus 3's UTF-8 names), which may not be empty.
static int
s_parse_quoted(fw_expfmt_t *self, struct fw_expfmt_scan *l, size_t *off, bool name)
{
    size_t open = l->pos;
    l->pos++;
    size_t start = l->pos;
    bool escaped = false;
    for (;;) {
        if (fw_expfmt_int_at_end(l)) {
            l->pos = open;
            return fw_expfmt_fail(l,
                                  name ? "unterminated quoted name" : "unterminated label value");
        }
        char c = l->p[l->pos];
        if (c == '\\') {
            escaped = true;
            l->pos += 2;
            if (l->pos > l->len) {
                l->pos = open;
                return fw_expfmt_fail(l, name ? "unterminated quoted name"
                                              : "unterminated label value");
            }
            continue;
        }
        if (c == '"')
            break;
        if (c == '\0')
            return fw_expfmt_fail(l, name ? "NUL byte in quoted name" : "NUL byte in label value");
        l->pos++;
    }
    size_t end = l->pos;
    l->pos++; // closing quote
    if (!fw_utf8_valid(l->p + start, end - start)) {
        l->pos = open;
        return fw_expfmt_fail(l, name ? "invalid UTF-8 in quoted name"
                                      : "invalid UTF-8 in label value");
    }
    if (name && end == start) {
        l->pos = open;
        return fw_expfmt_fail(l, "empty quoted name");
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

// Blanks inside a label set: the text format allows them, OpenMetrics (and Prometheus's
// parser of it) does not.
static void
s_label_blanks(struct fw_expfmt_scan *l, fw_expfmt_fmt_t fmt)
{
    if (fmt != FW_EXPFMT_OPENMETRICS)
        fw_expfmt_int_skip_blanks(l);
}

// Scan a label set (cursor on '{') into labels[first, first + *n): *n counts the labels
// added. With lsum, each label's hash (over "name\0value" in the arena) is added to it.
// Label names may be quoted ("a.b"="c"); with qname, a quoted name first in the set and not
// followed by '=' is the metric name ({"my.metric",a="b"}): its arena offset goes to
// *qname, which is SIZE_MAX when there was none.
static int
s_parse_labels(fw_expfmt_t *self, struct fw_expfmt_scan *l, size_t first, uint32_t *n,
               uint64_t *lsum, fw_expfmt_fmt_t fmt, size_t *qname)
{
    l->pos++; // '{'
    if (qname)
        *qname = SIZE_MAX;
    for (;;) {
        s_label_blanks(l, fmt);
        if (fw_expfmt_int_at_end(l))
            return fw_expfmt_fail(l, "expected label name or '}'");
        if (l->p[l->pos] == '}') {
            // OpenMetrics allows no trailing comma ("a{b=\"1\",}").
            // Prometheus 3's parser allows it ("free trailing commas are allowed").
            if (fmt == FW_EXPFMT_OPENMETRICS && *n > 0 && l->p[l->pos - 1] == ',' && !s_prom(self))
                return fw_expfmt_fail(l, "trailing comma in label set");
            l->pos++;
            return 0;
        }
        size_t name_col = l->pos;
        size_t name_len, qoff = SIZE_MAX;
        const char *name;
        if (l->p[l->pos] == '"') {
            if (s_parse_quoted(self, l, &qoff, true) != 0)
                return -1;
            s_label_blanks(l, fmt);
            if (qname && *qname == SIZE_MAX && *n == 0 && !fw_expfmt_int_at_end(l) &&
                (l->p[l->pos] == ',' || l->p[l->pos] == '}')) {
                *qname = qoff; // the metric name
                if (l->p[l->pos] == ',')
                    l->pos++;
                continue;
            }
            name = self->arena + qoff;
            name_len = strlen(name);
        } else {
            name_len = fw_expfmt_int_scan_name(l, false);
            if (name_len == 0)
                return fw_expfmt_fail(l, "expected label name");
            name = l->p + name_col;
        }
        if (name_len == 8 && memcmp(name, "__name__", 8) == 0) {
            l->pos = name_col;
            return fw_expfmt_fail(l, "reserved label name \"__name__\"");
        }
        for (size_t i = 0; i < *n; i++) {
            const char *prev = self->arena + self->labels[first + i].name_off;
            if (strlen(prev) == name_len && memcmp(prev, name, name_len) == 0) {
                if (self->scan_ex_dup) { // an exemplar's, that Prometheus keeps: dropped
                    *self->scan_ex_dup = true;
                    break;
                }
                l->pos = name_col;
                return fw_expfmt_fail(l, "duplicate label name");
            }
        }
        s_label_blanks(l, fmt);
        if (fw_expfmt_int_at_end(l) || l->p[l->pos] != '=')
            return fw_expfmt_fail(l, "expected '=' after label name");
        l->pos++;
        s_label_blanks(l, fmt);
        if (fw_expfmt_int_at_end(l) || l->p[l->pos] != '"')
            return fw_expfmt_fail(l, "expected '\"' to open label value");
        fw_mem_grow((void **)&self->labels, &self->labels_cap, self->labels_len + 1,
                    sizeof(*self->labels));
        struct fw_expfmt_lab *lab = &self->labels[self->labels_len];
        lab->name_off = qoff != SIZE_MAX ? qoff : s_arena_put(self, name, name_len);
        if (s_parse_quoted(self, l, &lab->value_off, false) != 0)
            return -1;
        if (lsum)
            *lsum += fw_hash64(self->arena + lab->name_off, self->arena_len - 1 - lab->name_off);
        self->labels_len++;
        (*n)++;
        s_label_blanks(l, fmt);
        if (fw_expfmt_int_at_end(l))
            return fw_expfmt_fail(l, "expected ',' or '}' after label value");
        if (l->p[l->pos] == ',') {
            l->pos++;
            continue;
        }
        if (l->p[l->pos] != '}')
            return fw_expfmt_fail(l, "expected ',' or '}' after label value");
    }
}

// An OpenMetrics timestamp token: finite float seconds, decimal. *secs and *ms (as
// Prometheus makes them: int64(secs * 1000), toward zero). 0 or -1.
static int
s_om_timestamp(const char *p, size_t n, double *secs, int64_t *ms)
{
    if (fw_expfmt_om_number(p, n, secs) != 0 || !isfinite(*secs))
        return -1;
    // Any finite float is a valid OpenMetrics timestamp (the upstream "timestamps" case has
    // 12345678901234567890.1); beyond the int64 millisecond range saturate.
    if (*secs >= 9.2e15)
        *ms = INT64_MAX;
    else if (*secs <= -9.2e15)
        *ms = INT64_MIN;
    else
        *ms = (int64_t)(*secs * 1000.0);
    return 0;
}

// The combined length of an exemplar's label names and values may not exceed this many
// UTF-8 code points (OpenMetrics 1.0, "Exemplars").
#define S_EXEMPLAR_MAX_RUNES 128

// An exemplar (cursor on the '#' of " # {labels} value[ timestamp]") up to the end of line.
static int
s_parse_exemplar(fw_expfmt_t *self, struct fw_expfmt_scan *l, struct fw_expfmt_rec *s)
{
    if (l->pos + 2 >= l->len || l->p[l->pos + 1] != ' ' || l->p[l->pos + 2] != '{')
        return fw_expfmt_fail(l, "expected \"# {\" to start an exemplar");
    l->pos += 2;
    size_t open = l->pos, first = self->labels_len;
    bool dup = false;
    self->scan_ex_dup = s_prom(self) ? &dup : NULL;
    int rc = s_parse_labels(self, l, first, &s->ex_n_labels, NULL, FW_EXPFMT_OPENMETRICS, NULL);
    self->scan_ex_dup = NULL;
    if (rc != 0)
        return -1;
    size_t runes = 0;
    for (size_t i = first; i < self->labels_len; i++) {
        runes += strlen(self->arena + self->labels[i].name_off); // names are ASCII
        for (const char *c = self->arena + self->labels[i].value_off; *c; c++)
            runes += ((unsigned char)*c & 0xC0) != 0x80;
    }
    // Prometheus parses it and its exemplar storage refuses it; the sample stays.
    bool drop = (runes > S_EXEMPLAR_MAX_RUNES && s_prom(self)) || dup;
    if (runes > S_EXEMPLAR_MAX_RUNES && !drop) {
        l->pos = open;
        return fw_expfmt_fail(l, "exemplar labels longer than 128 characters");
    }
    if (fw_expfmt_int_om_sep(l, "expected a single space before the exemplar value") != 0)
        return -1;
    size_t v_start;
    size_t v_len = fw_expfmt_int_scan_token(l, &v_start);
    if (fw_expfmt_om_number(l->p + v_start, v_len, &s->ex_v) != 0) {
        l->pos = v_start;
        return fw_expfmt_fail(l, "invalid exemplar value");
    }
    if (!fw_expfmt_int_at_end(l)) {
        if (fw_expfmt_int_om_sep(l, "expected a single space before the exemplar timestamp") != 0)
            return -1;
        size_t t_start;
        size_t t_len = fw_expfmt_int_scan_token(l, &t_start);
        double secs;
        if (s_om_timestamp(l->p + t_start, t_len, &secs, &s->ex_t_ms) != 0) {
            l->pos = t_start;
            return fw_expfmt_fail(l, "invalid exemplar timestamp");
        }
        s->ex_has_t = true;
        if (!fw_expfmt_int_at_end(l))
            return fw_expfmt_fail(l, "unexpected text after exemplar");
    }
    s->has_ex = !drop;
    if (drop) {
        self->labels_len = first; // the exemplar's labels go
        s->ex_n_labels = 0;
        self->ex_dropped++;
    }
    return 0;
}

// The end of the label set at the cursor ('{'): the position after its closing brace,
// quotes and escapes respected, or 0 when the line ends first.
static size_t
s_skip_labels(const struct fw_expfmt_scan *l)
{
    bool quoted = false;
    for (size_t i = l->pos + 1; i < l->len; i++) {
        char c = l->p[i];
        if (quoted && c == '\\')
            i++;
        else if (c == '"')
            quoted = !quoted;
        else if (!quoted && c == '}')
            return i + 1;
    }
    return 0;
}

// Ask the known-series callback about the series text at name_start (the cursor after the
// name): its answer, with the cursor after the text; NULL with the cursor left alone.
static void *
s_known(fw_expfmt_t *self, struct fw_expfmt_scan *l, size_t name_start, bool om)
{
    size_t pos = l->pos;
    if (!om)
        while (pos < l->len && fw_expfmt_int_blank(l->p[pos]))
            pos++;
    size_t end = l->pos; // no label set: the name alone
    if (!om && pos == l->pos && pos < l->len && l->p[pos] != '{')
        return NULL; // the name runs into another character: the parser's error
    if (pos < l->len && l->p[pos] == '{') {
        struct fw_expfmt_scan at = *l;
        at.pos = pos;
        if ((end = s_skip_labels(&at)) == 0)
            return NULL;
    }
    void *tag =
        self->known(self->known_arg, self->samples_len, l->p + name_start, end - name_start);
    if (tag)
        l->pos = end;
    return tag;
}

void
fw_expfmt_set_known(fw_expfmt_t *self, fw_expfmt_known_fn *fn, void *arg)
{
    self->known = fn;
    self->known_arg = arg;
}

static inline int s_parse_value(fw_expfmt_t *self, struct fw_expfmt_scan *l, bool om,
                                size_t name_start, struct fw_expfmt_rec *s, bool quoted,
                                bool created);

void
fw_expfmt_set_expect(fw_expfmt_t *self, fw_expfmt_expect_fn *fn)
{
    self->expect = fn;
}

void
fw_expfmt_set_expect_list(fw_expfmt_t *self, const struct fw_expfmt_text *const *x, size_t n)
{
    self->expect_list = x;
    self->expect_n = x ? n : 0;
}

// How many samples ahead a list's texts are fetched.
#define S_EXPECT_AHEAD 8

// Start loading the expectation S_EXPECT_AHEAD samples on (its first three cache lines: the
// series text a line is compared with), so it is in cache when its line comes.
static inline void
s_expect_prefetch(const fw_expfmt_t *self, size_t i)
{
    if (i + S_EXPECT_AHEAD >= self->expect_n)
        return;
    const char *ahead = (const char *)self->expect_list[i + S_EXPECT_AHEAD];
    if (ahead) {
        __builtin_prefetch(ahead);
        __builtin_prefetch(ahead + 64);
        __builtin_prefetch(ahead + 128);
    }
}

// The caller's expectation for sample i, from its list or its callback, into *buf: NULL
// when none.
static inline const struct fw_expfmt_expect *
s_expect(fw_expfmt_t *self, size_t i, struct fw_expfmt_expect *buf)
{
    if (self->expect_list) {
        if (i >= self->expect_n)
            return NULL;
        s_expect_prefetch(self, i);
        const struct fw_expfmt_text *t = self->expect_list[i];
        if (!t)
            return NULL;
        *buf = (struct fw_expfmt_expect){t->series, t->len, t->name_len, (void *)(uintptr_t)t};
        return buf;
    }
    return self->expect && self->expect(self->known_arg, i, buf) ? buf : NULL;
}

// Whether the line at the cursor starts with x's series text, followed by what ends a
// series text: then it scans as that text did (the scan depends on these bytes alone). An
// OpenMetrics series text is followed by one space; in the text format blanks may also
// come between a name and its label set, so a name alone must not be followed by one.
static bool
s_expected(const struct fw_expfmt_scan *l, const struct fw_expfmt_expect *x, bool om)
{
    size_t left = l->len - l->pos;
    if (x->len == 0 || x->name_len == 0 || x->len >= left ||
        memcmp(l->p + l->pos, x->series, x->len) != 0)
        return false;
    size_t at = l->pos + x->len;
    if (om)
        return l->p[at] == ' ';
    if (!fw_expfmt_int_blank(l->p[at]))
        return false;
    if (x->series[x->len - 1] == '}')
        return true;
    while (at < l->len && fw_expfmt_int_blank(l->p[at]))
        at++;
    return at < l->len && l->p[at] != '{';
}

// The record of the sample line being scanned, in place: the next free one of self->samples
// (counted by s_parse_value once the line scanned), so it is written once and never copied.
static inline struct fw_expfmt_rec *
s_new_rec(fw_expfmt_t *self, size_t name_off)
{
    if (self->samples_len == self->samples_cap)
        fw_mem_grow((void **)&self->samples, &self->samples_cap, self->samples_len + 1,
                    sizeof(*self->samples));
    struct fw_expfmt_rec *s = &self->samples[self->samples_len];
    *s = (struct fw_expfmt_rec){.name_off = name_off, .label_first = self->labels_len};
    return s;
}

static int
s_parse_sample(fw_expfmt_t *self, struct fw_expfmt_scan *l, fw_expfmt_fmt_t fmt, bool families)
{
    bool om = fmt == FW_EXPFMT_OPENMETRICS;
    size_t name_start = l->pos;
    struct fw_expfmt_expect buf;
    const struct fw_expfmt_expect *x = NULL;
    if ((self->expect_list || self->expect) && self->known && s_prom(self) && !families &&
        (x = s_expect(self, self->samples_len, &buf)) && s_expected(l, x, om) &&
        !(self->st_on && fw_expfmt_st_is_created(self, l->p + name_start, x->name_len))) {
        // the series text the caller expected: its name and labels scan as they did
        // its name stays in the body (fw_expfmt_get copies it, in the room kept here)
        struct fw_expfmt_rec *s = s_new_rec(self, FW_EXPFMT_NAME_DEFERRED | x->name_len);
        self->name_defer += x->name_len + 1;
        self->line_name_len = x->name_len;
        self->line_qname = SIZE_MAX;
        self->line_lsum = 0;
        s->tag = x->tag;
        l->pos += x->len;
        return s_parse_value(self, l, om, name_start, s, false, false);
    }
    size_t name_len = fw_expfmt_int_scan_name(l, true);
    // no name in front: Prometheus 3's quoted metric name inside the braces, {"my.metric"}
    bool quoted = name_len == 0 && !fw_expfmt_int_at_end(l) && l->p[l->pos] == '{';
    if (name_len == 0 && !quoted)
        return fw_expfmt_fail(l, "expected metric name");
    size_t qname = SIZE_MAX, *qp = quoted ? &qname : NULL;
    struct fw_expfmt_rec *s =
        s_new_rec(self, quoted ? 0 : s_arena_put(self, l->p + name_start, name_len));
    self->line_name_len = name_len;
    self->line_qname = SIZE_MAX;
    self->line_lsum = 0;
    size_t after_name = l->pos;
    bool created = self->st_on && fw_expfmt_st_is_created(self, l->p + name_start, name_len);
    if (self->known && s_prom(self) && !families && !quoted && !created)
        s->tag = s_known(self, l, name_start, om);
    if (s->tag) {
        // the value's separator: s_parse_value
    } else if (om) {
        if (!fw_expfmt_int_at_end(l) && l->p[l->pos] == '{' &&
            s_parse_labels(self, l, s->label_first, &s->n_labels,
                           families ? &self->line_lsum : NULL, fmt, qp) != 0)
            return -1;
        if (fw_expfmt_int_om_sep(l, "expected a single space before the value") != 0)
            return -1;
    } else {
        fw_expfmt_int_skip_blanks(l);
        if (!fw_expfmt_int_at_end(l) && l->p[l->pos] == '{') {
            if (s_parse_labels(self, l, s->label_first, &s->n_labels, NULL, fmt, qp) != 0)
                return -1;
            fw_expfmt_int_skip_blanks(l);
        } else if (l->pos == after_name && !fw_expfmt_int_at_end(l)) {
            return fw_expfmt_fail(l, "invalid character in metric name");
        }
    }
    if (quoted) {
        if (qname == SIZE_MAX) {
            l->pos = name_start;
            return fw_expfmt_fail(l, "expected metric name");
        }
        s->name_off = qname;
        self->line_name_len = strlen(self->arena + qname);
        self->line_qname = qname;
    }
    return s_parse_value(self, l, om, name_start, s, quoted, created);
}

// The rest of a sample line after its series text (cursor after it): blanks, the value, a
// timestamp, an exemplar, into record s (s_new_rec's); then the sample is kept, or a
// `_created` line's start time.
// Inlined (always): the hot loop's two callers end with it, and a call costs a tenth of it.
static inline __attribute__((always_inline)) int
s_parse_value(fw_expfmt_t *self, struct fw_expfmt_scan *l, bool om, size_t name_start,
              struct fw_expfmt_rec *s, bool quoted, bool created)
{
    s->series = l->p + name_start;
    if (s->tag) {
        // the cursor is right after the series text: nothing to trim
        s->series_len = l->pos - name_start;
        if (om && fw_expfmt_int_om_sep(l, "expected a single space before the value") != 0)
            return -1;
        if (!om)
            fw_expfmt_int_skip_blanks(l);
        if (fw_expfmt_int_at_end(l))
            return fw_expfmt_fail(l, "expected value");
    } else {
        if (fw_expfmt_int_at_end(l))
            return fw_expfmt_fail(l, "expected value");
        s->series_len = l->pos - name_start;
        while (s->series_len > 0 && fw_expfmt_int_blank(s->series[s->series_len - 1]))
            s->series_len--;
    }
    // A plain decimal that is the whole token (a blank or the line's end after it, and
    // shorter than the 128 bytes the full conversion takes) is read in place; any other
    // token as a token (both read a decimal the same way).
    size_t v_start = l->pos;
    size_t v_len = fw_expfmt_int_decimal(l->p + v_start, l->len - v_start, &s->v);
    if (v_len > 0 && v_len < 128 &&
        (v_start + v_len == l->len || fw_expfmt_int_blank(l->p[v_start + v_len]))) {
        l->pos = v_start + v_len;
    } else {
        v_len = fw_expfmt_int_scan_token(l, &v_start);
        if (om ? fw_expfmt_om_number(l->p + v_start, v_len, &s->v) != 0
               : fw_expfmt_int_parse_float(l->p + v_start, v_len, &s->v) != 0) {
            l->pos = v_start;
            return fw_expfmt_fail(l, "invalid value");
        }
    }
    if (!om)
        fw_expfmt_int_skip_blanks(l);
    else if (!fw_expfmt_int_at_end(l) &&
             fw_expfmt_int_om_sep(l, "expected a single space after the value") != 0)
        return -1;
    if (!fw_expfmt_int_at_end(l) && !(om && l->p[l->pos] == '#')) {
        size_t t_start;
        size_t t_len = fw_expfmt_int_scan_token(l, &t_start);
        if (om ? s_om_timestamp(l->p + t_start, t_len, &self->line_t, &s->t_ms) != 0
               : s_parse_int64(l->p + t_start, t_len, &s->t_ms) != 0) {
            l->pos = t_start;
            return fw_expfmt_fail(l, "invalid timestamp");
        }
        s->has_t = true;
        if (!om)
            fw_expfmt_int_skip_blanks(l);
        else if (!fw_expfmt_int_at_end(l) &&
                 fw_expfmt_int_om_sep(l, "expected a single space after the timestamp") != 0)
            return -1;
    }
    if (om && !fw_expfmt_int_at_end(l) && l->p[l->pos] == '#' && s_parse_exemplar(self, l, s) != 0)
        return -1;
    if (!fw_expfmt_int_at_end(l))
        return fw_expfmt_fail(l, "unexpected text after sample");
    if (self->st_on) {
        s->st_block = (uint32_t)(self->st_blocks_len - 1);
        if (quoted)
            created = fw_expfmt_st_is_created(self, self->arena + s->name_off, self->line_name_len);
        if (created) { // a start time, not a sample: its record is not counted
            fw_expfmt_st_created(self, s);
            return 0;
        }
    }
    self->samples_len++;
    return 0;
}

// ---------------------------------------------------------------------------------------

static void
s_reset(fw_expfmt_t *self)
{
    self->arena_len = 0;
    self->name_defer = 0;
    self->labels_len = 0;
    self->samples_len = 0;
    fw_expfmt_om_reset(self);
    fw_expfmt_st_reset(self);
    self->st_on = false;
}

// Scan one line (line end removed, a trailing '\r' still there). 0 (a sample, if the line
// held one, appended to samples), 1 at OpenMetrics' "# EOF", or -1 with err. OpenMetrics'
// metric-family rules apply unless self->scan_flags has FW_EXPFMT_LAX_FAMILIES.
static int
s_scan_line(fw_expfmt_t *self, struct fw_expfmt_scan *l, fw_expfmt_fmt_t fmt)
{
    bool om = fmt == FW_EXPFMT_OPENMETRICS;
    bool families = !(self->scan_flags & FW_EXPFMT_LAX_FAMILIES);
    // OpenMetrics lines end with '\n' alone; Prometheus's parser reads a '\r' as part of the
    // line's last token, which then fails.
    if (l->len > 0 && l->p[l->len - 1] == '\r' && !(om && s_prom(self)))
        l->len--;
    if (om && l->len > 0 && fw_expfmt_int_blank(l->p[0]))
        return fw_expfmt_fail(l, "leading blank in OpenMetrics line");
    fw_expfmt_int_skip_blanks(l);
    if (fw_expfmt_int_at_end(l)) {
        if (!om)
            return 0;
        // OpenMetrics has no blank lines (upstream case bad_blank_line).
        return fw_expfmt_fail(l, "blank line in OpenMetrics body");
    }
    int rc;
    if (l->p[l->pos] == '#') {
        size_t hash = l->pos;
        rc = fw_expfmt_int_parse_comment(l, fmt);
        if (rc == 1)
            return families && fw_expfmt_om_eof(self, l) != 0 ? -1 : 1;
        if (rc == 0 && om && s_prom(self) && l->len > 7)
            rc = fw_expfmt_int_prom_metadata(l);
        if (rc == 0 && self->st_on)
            fw_expfmt_st_meta(self, l);
        if (rc == 0 && self->meta)
            fw_expfmt_int_emit_meta(self, l, hash);
    } else {
        rc = s_parse_sample(self, l, fmt, om && families);
    }
    if (rc == 0 && om && families)
        rc = fw_expfmt_om_line(self, l);
    return rc;
}

// The arena no longer moves: hand out pointers.
static void
s_publish(fw_expfmt_t *self)
{
    if (self->name_defer > 0) // fw_expfmt_get's copies of deferred names never move it
        fw_mem_grow((void **)&self->arena, &self->arena_cap, self->arena_len + self->name_defer, 1);
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
    return fw_expfmt_parse_flags(self, body, len, fmt, 0, err);
}

size_t
fw_expfmt_exemplars_dropped(const fw_expfmt_t *self)
{
    return self->ex_dropped;
}

// A whole sample line at body[at] that is sample i's expected series text (the caller's
// list, fw_expfmt_set_expect_list) and a plain decimal value, read straight from the body:
// no search for the line's end first, no line state. Returns the position after the line
// (after its '\n', or len), or 0 when the line is anything else (a timestamp, an exemplar,
// another text, a value the decimal reader does not take, an error): then nothing was
// written, and the caller scans it the ordinary way, which gives the same record for the
// lines taken here (s_parse_sample's expected branch and s_parse_value) and the errors for
// the others. What it takes: the text, then blanks (OpenMetrics: one space), the decimal,
// then (text format) blanks and a '\r' the text format drops at the line's end.
static inline size_t
s_fast_line(fw_expfmt_t *self, const char *body, size_t len, size_t at, bool om)
{
    size_t i = self->samples_len;
    if (i >= self->expect_n)
        return 0;
    s_expect_prefetch(self, i);
    const struct fw_expfmt_text *x = self->expect_list[i];
    // the text never holds a '\n' (it came from one line), so a match stays on this line
    if (!x || x->name_len == 0 || x->len == 0 || x->len >= len - at ||
        memcmp(body + at, x->series, x->len) != 0)
        return 0;
    size_t p = at + x->len;
    if (om) {
        if (body[p] != ' ')
            return 0;
        p++;
    } else {
        if (!fw_expfmt_int_blank(body[p]))
            return 0;
        while (++p < len && fw_expfmt_int_blank(body[p]))
            ;
    }
    // a '{' after the blanks (a name alone, then a label set) is no decimal: refused here
    double v;
    size_t n = fw_expfmt_int_decimal(body + p, len - p, &v);
    if (n == 0 || n >= 128)
        return 0;
    p += n;
    if (!om) {
        while (p < len && fw_expfmt_int_blank(body[p]))
            p++;
        if (p < len && body[p] == '\r' && (p + 1 == len || body[p + 1] == '\n'))
            p++;
    }
    if (p < len && body[p] != '\n')
        return 0;
    // the record written once, whole (s_new_rec's zeros, then the fields, stored each twice);
    // the line_* fields are for the family rules, which a fast run has none of
    if (self->samples_len == self->samples_cap)
        fw_mem_grow((void **)&self->samples, &self->samples_cap, self->samples_len + 1,
                    sizeof(*self->samples));
    self->samples[self->samples_len++] =
        (struct fw_expfmt_rec){.name_off = FW_EXPFMT_NAME_DEFERRED | x->name_len,
                               .label_first = self->labels_len,
                               .series = body + at,
                               .series_len = x->len,
                               .v = v,
                               .tag = (void *)(uintptr_t)x};
    self->name_defer += x->name_len + 1;
    self->fast_lines++;
    return p < len ? p + 1 : len;
}

size_t
fw_expfmt_fast_lines(const fw_expfmt_t *self)
{
    return self->fast_lines;
}

ssize_t
fw_expfmt_parse_flags(fw_expfmt_t *self, const char *body, size_t len, fw_expfmt_fmt_t fmt,
                      unsigned flags, fw_err_t *err)
{
    s_reset(self);
    self->scan_flags = flags;
    self->ex_dropped = 0;
    self->st_on = (flags & FW_EXPFMT_START_TIMES) && fmt == FW_EXPFMT_OPENMETRICS &&
                  (flags & FW_EXPFMT_PROMETHEUS) == FW_EXPFMT_PROMETHEUS;
    self->fast_lines = 0;
    size_t at = 0;
    int lineno = 0;
    bool eof = false;
    // s_parse_sample's conditions for an expected series, for the whole run (start times
    // would need each sample's family: not taken)
    bool om = fmt == FW_EXPFMT_OPENMETRICS;
    bool fast = self->expect_list && self->known && s_prom(self) && !self->st_on &&
                !(om && !(flags & FW_EXPFMT_LAX_FAMILIES));
    while (at < len) {
        if (fast) {
            size_t next = s_fast_line(self, body, len, at, om);
            if (next) {
                at = next;
                lineno++;
                continue;
            }
        }
        const char *nl = memchr(body + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - body) : len;
        struct fw_expfmt_scan l = {body + at, end - at, 0, ++lineno, false, err};
        at = nl ? end + 1 : len;
        int rc = s_scan_line(self, &l, fmt);
        if (rc == 1) {
            eof = true;
            break;
        }
        if (rc != 0) {
            s_reset(self);
            return -1;
        }
    }
    if (fmt == FW_EXPFMT_OPENMETRICS && (!eof || at < len)) {
        // An OpenMetrics body must end with "# EOF": without it the scrape may be truncated,
        // and after it nothing may follow (not even a blank line).
        struct fw_expfmt_scan l = {body,  0,  0, eof ? lineno + 1 : lineno > 0 ? lineno : 1,
                                   false, err};
        if (s_prom(self)) // Prometheus's texts, without a position
            fw_err_set(err, "%s",
                       eof ? "unexpected data after # EOF" : "data does not end with # EOF");
        else
            fw_expfmt_fail(&l, eof ? "unexpected data after \"# EOF\""
                                   : "missing \"# EOF\" at the end of an OpenMetrics body");
        s_reset(self);
        return -1;
    }
    if (self->st_on)
        fw_expfmt_st_resolve(self);
    s_publish(self);
    return (ssize_t)self->samples_len;
}

size_t
fw_expfmt_count(const fw_expfmt_t *self)
{
    return self->samples_len;
}

// Copy record s's deferred name into the arena room s_publish kept (it cannot move: the
// label pointers are handed out).
static void
s_name_copy(fw_expfmt_t *self, struct fw_expfmt_rec *s)
{
    size_t len = s->name_off & ~FW_EXPFMT_NAME_DEFERRED;
    assert(self->arena_len + len + 1 <= self->arena_cap && len + 1 <= self->name_defer);
    s->name_off = self->arena_len;
    memcpy(self->arena + self->arena_len, s->series, len);
    self->arena[self->arena_len + len] = '\0';
    self->arena_len += len + 1;
    self->name_defer -= len + 1;
}

void
fw_expfmt_get(fw_expfmt_t *self, size_t i, struct fw_expfmt_sample *out)
{
    struct fw_expfmt_rec *s = &self->samples[i];
    if (s->name_off & FW_EXPFMT_NAME_DEFERRED)
        s_name_copy(self, s);
    out->name = self->arena + s->name_off;
    out->label_names = self->names + s->label_first;
    out->label_values = self->values + s->label_first;
    out->n_labels = s->n_labels;
    out->series = s->series;
    out->series_len = s->series_len;
    out->v = s->v;
    out->has_t = s->has_t;
    out->t_ms = s->t_ms;
    out->has_exemplar = s->has_ex;
    out->tag = s->tag;
    out->st_ms = fw_expfmt_st_get(self, i);
    size_t ex_first = s->label_first + s->n_labels;
    out->exemplar = (struct fw_expfmt_exemplar){
        .label_names = self->names + ex_first,
        .label_values = self->values + ex_first,
        .n_labels = s->ex_n_labels,
        .v = s->ex_v,
        .has_t = s->ex_has_t,
        .t_ms = s->ex_t_ms,
    };
}

void
fw_expfmt_tagged_view(const fw_expfmt_t *self, struct fw_expfmt_tagged_view *v)
{
    v->samples = self->samples;
    v->st = self->st_valid ? self->st : NULL; // as fw_expfmt_st_get reads them
}

bool
fw_expfmt_get_tagged(const fw_expfmt_t *self, size_t i, struct fw_expfmt_tagged *out)
{
    struct fw_expfmt_tagged_view v;
    fw_expfmt_tagged_view(self, &v);
    return fw_expfmt_tagged_get(&v, i, out);
}

// ---------------------------------------------------------------------------------------
//  Line at a time

void
fw_expfmt_begin(fw_expfmt_t *self, fw_expfmt_fmt_t fmt, unsigned flags)
{
    s_reset(self);
    self->line_fmt = fmt;
    self->line_flags = flags;
    self->scan_flags = flags;
    self->lineno = 0;
    self->line_eof = false;
}

int
fw_expfmt_line(fw_expfmt_t *self, const char *line, size_t len, struct fw_expfmt_sample *out,
               fw_err_t *err)
{
    struct fw_expfmt_scan l = {line, len, 0, ++self->lineno, true, err};
    if (self->line_eof) {
        // As Prometheus's parser: nothing may follow "# EOF" (not even a blank line).
        return fw_expfmt_fail(&l, "unexpected data after \"# EOF\"");
    }
    self->arena_len = 0;
    self->name_defer = 0;
    self->labels_len = 0;
    self->samples_len = 0;
    int rc = s_scan_line(self, &l, self->line_fmt);
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
    struct fw_expfmt_scan l = {"", 0, 0, self->lineno > 0 ? self->lineno : 1, true, err};
    return fw_expfmt_fail(&l, "missing \"# EOF\" at the end of an OpenMetrics file");
}
