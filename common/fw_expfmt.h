/*  fw_expfmt.h — the Prometheus text exposition parser (format 0.0.4, and the part of
    OpenMetrics 1.0 that the text format shares).

    A parser object owns reusable buffers: one arena for every string of a scrape (metric
    names, label names, unescaped label values, each NUL-terminated) and one array of sample
    and label records. fw_expfmt_parse() resets them and parses a whole body; after the
    first few scrapes of a target no parse allocates. The body is parsed completely before
    any sample is handed out, because a syntax error anywhere fails the whole scrape (as in
    Prometheus): the caller then sees no samples at all.

    Accepted: blank lines, leading and trailing blanks, "\r\n" line ends, comments, "# HELP
    name text" and "# TYPE name type" (validated), metric names, label sets with escapes
    (\\ \" \n; other escapes are kept verbatim, as Prometheus does) and a trailing comma,
    values as Go's ParseFloat reads them (+Inf, -Inf, NaN, exponents), and an optional
    integer timestamp in milliseconds. In text mode "# EOF" is an ordinary comment.

    OpenMetrics (1.0) is parsed strictly, as its specification and the upstream parser suite
    say: timestamps are float seconds, "# UNIT" lines are accepted, "# EOF" ends the body and
    nothing may follow it; each metric family's metadata comes once and before its samples,
    its lines are contiguous, its names clash with no other family's, and its type's rules
    hold (sample names, le/quantile/stateset labels, counter-like values neither NaN nor
    negative, histogram buckets in order with a +Inf bucket equal to _count, info values 1,
    stateset values 0 or 1, a group's timestamps present on all or none of its samples and
    never going back). Exemplars (" # {labels} value [timestamp]") are parsed, checked (on
    counter _total and histogram _bucket samples only, at most 128 characters of label names
    and values) and handed out with their sample. OpenMetrics timestamps become
    milliseconds as Prometheus makes them: int64(seconds * 1000), truncated toward zero.

    Line at a time: fw_expfmt_begin(), then fw_expfmt_line() for each line of a file too
    large to hold, then fw_expfmt_end(). The same scanner and rules apply, each sample is
    handed out as its line is read, and nothing but the metric-family state is kept between
    lines (tsdb import reads files of any size this way).
*/
#ifndef FW_EXPFMT_H
#define FW_EXPFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"

typedef struct fw_expfmt fw_expfmt_t;

typedef enum { FW_EXPFMT_TEXT, FW_EXPFMT_OPENMETRICS } fw_expfmt_fmt_t;

// An OpenMetrics exemplar of a sample: labels borrowed as the sample's.
struct fw_expfmt_exemplar {
    const char *const *label_names;  // n_labels entries
    const char *const *label_values; // n_labels entries
    size_t n_labels;
    double v;
    bool has_t;
    int64_t t_ms; // as the sample's: int64(seconds * 1000)
};

// One parsed sample. Strings are borrowed from the parser, valid until its next run or
// destroy; labels are in exposition order (not sorted), names unique.
struct fw_expfmt_sample {
    const char *name;
    const char *const *label_names;  // n_labels entries
    const char *const *label_values; // n_labels entries
    size_t n_labels;
    const char *series; // the sample's "name{labels}" text as written (blanks trimmed),
    size_t series_len;  // borrowed from the body or line (a cheap key for a series cache)
    double v;
    bool has_t;
    int64_t t_ms;
    bool has_exemplar;                  // OpenMetrics only
    struct fw_expfmt_exemplar exemplar; // valid when has_exemplar
    void *tag;     // fw_expfmt_set_known's answer for the series text; NULL: labels parsed
    int64_t st_ms; // FW_EXPFMT_START_TIMES: the start time (its `_created`), ms; 0: none
};

// fw_expfmt_begin flags.
enum {
    // OpenMetrics without the metric-family rules (metadata once and before the samples, a
    // family's lines contiguous, the type rules): Prometheus's own parser, and so promtool's
    // backfill, does not make them, and backfill files interleave families by time. The
    // syntax (exemplars included) is checked as strictly as without the flag.
    FW_EXPFMT_LAX_FAMILIES = 1,
    // OpenMetrics as Prometheus 3's scrape reads it (model/textparse/openmetricsparse.go and
    // the scrape loop): LAX_FAMILIES, plus the few rules that parser does make and the few
    // freedoms it takes. Failed with Prometheus's texts: a body not ending with "# EOF" ("data
    // does not end with # EOF"), data after it ("unexpected data after # EOF"), a UNIT that is
    // not the name's suffix ("unit \"u\" not a suffix of metric \"m\""), HELP text that is
    // not UTF-8. Accepted: a trailing comma in a label set; an exemplar whose labels are
    // longer than 128 characters loses its exemplar (Prometheus's exemplar storage refuses
    // it and the scrape goes on), as does one with a repeated label name; both are counted
    // (fw_expfmt_exemplars_dropped).
    FW_EXPFMT_PROMETHEUS = 2 | FW_EXPFMT_LAX_FAMILIES,
    // With FW_EXPFMT_PROMETHEUS, OpenMetrics, fw_expfmt_parse_flags only (not the line mode):
    // `_created` lines are start times, as Prometheus 3 reads them when it keeps start
    // timestamps (its ParseST: st-storage, created-timestamp-zero-ingestion). In a family
    // whose last TYPE is counter, summary or histogram, a "<name>_created" sample is not
    // handed out (nor counted); its value in seconds, as int64(v * 1000) ms, is the
    // st_ms of the samples of the same series (labels as written, in order, without le
    // or quantile) before it, when it is the first `_created` line after them and no
    // metadata line comes between (fw_expfmt_st.c has the details).
    FW_EXPFMT_START_TIMES = 4,
};

fw_expfmt_t *fw_expfmt_new(void);
void fw_expfmt_destroy(fw_expfmt_t **self_p);

// The format a Content-Type header announces (NULL or unknown: text).
fw_expfmt_fmt_t fw_expfmt_format(const char *content_type);

// Parse body (len bytes; need not be NUL-terminated). Returns the number of samples, or -1
// with err->msg like "line 3: expected '=' after label name at column 17" (err->line and
// err->col set too); after an error the parser holds no samples.
ssize_t fw_expfmt_parse(fw_expfmt_t *self, const char *body, size_t len, fw_expfmt_fmt_t fmt,
                        fw_err_t *err);
// fw_expfmt_parse with flags (FW_EXPFMT_*; fw_expfmt_parse is flags 0, every rule).
ssize_t fw_expfmt_parse_flags(fw_expfmt_t *self, const char *body, size_t len, fw_expfmt_fmt_t fmt,
                              unsigned flags, fw_err_t *err);
// A caller that remembers the series texts it has seen (a scrape cache) may spare the
// parser their labels: fw_expfmt_parse_flags with FW_EXPFMT_PROMETHEUS asks known(arg, i,
// series, len) about sample i's series text (as fw_expfmt_sample.series) before parsing
// its labels. A non-NULL answer says the caller parsed exactly this text before: its labels
// are then only skipped (to the closing brace, quotes and escapes respected), and the
// sample comes with that answer as `tag`, its name and no labels. Only a text that parsed
// once may be answered for (it then parses the same way: label syntax and checks depend on
// the text alone; the metric-family rules of strict OpenMetrics do not, so they never ask).
// NULL fn: every label is parsed (the default).
typedef void *(fw_expfmt_known_fn)(void *arg, size_t i, const char *series, size_t len);
void fw_expfmt_set_known(fw_expfmt_t *self, fw_expfmt_known_fn *fn, void *arg);

// With a known-series callback set, a caller that also expects sample i to be written as
// some earlier sample was (a target serves its series in the same order every time) may
// spare the parser even the scan of the name and of the label set: expect(arg, i, &x) (arg
// is fw_expfmt_set_known's) fills x with that earlier sample's series text, its metric
// name's length and known's answer for it, or returns false. When the line starts with
// exactly that text and a blank follows (in the text format, a blank not followed by '{'),
// the sample is parsed as if known had given x.tag for it, and known is not asked; the
// caller must then take x.tag as its own answer for sample i. x.series is borrowed for the
// call. NULL fn (the default): none expected.
struct fw_expfmt_expect {
    const char *series;
    size_t len, name_len;
    void *tag;
};
typedef bool(fw_expfmt_expect_fn)(void *arg, size_t i, struct fw_expfmt_expect *x);
void fw_expfmt_set_expect(fw_expfmt_t *self, fw_expfmt_expect_fn *fn);
// A series text a caller expects (fw_expfmt_set_expect_list).
struct fw_expfmt_text {
    const char *series; // borrowed
    uint32_t len;
    uint32_t name_len; // its metric name's length (its first bytes); 0: never expected
};
// The same expectations as a list the caller keeps, rather than a call per sample: x[i]
// for sample i < n (NULL: none), whose tag is x[i] itself when the line matches. Borrowed,
// unchanged until set again (NULL: none); a list wins over fn. The parser fetches the 192
// bytes at x[i + 8] ahead of sample i (a caller whose record starts with the text and holds
// the series bytes after it reads them next).
void fw_expfmt_set_expect_list(fw_expfmt_t *self, const struct fw_expfmt_text *const *x, size_t n);
// How many samples of the last fw_expfmt_parse_flags run were read whole at once: a line
// that is exactly its list entry's text (with a known-series callback set, Prometheus's
// flags and no strict OpenMetrics families), blanks, a plain decimal value and the line's
// end. They come as an expected sample of the ordinary scan does; for tests and benchmarks.
size_t fw_expfmt_fast_lines(const fw_expfmt_t *self);

// A caller that wants the metric families' metadata sets fn (NULL: none, the default): it
// is called for each "# HELP", "# TYPE" or "# UNIT" line that parsed, with kind 'H', 'T' or
// 'U', the family name and the rest of the line as written (HELP text still escaped: "\\"
// and "\n", in OpenMetrics also "\""; the type as written, "untyped" included). Both are
// borrowed for the call. Only comment lines call it: samples cost nothing more.
typedef void(fw_expfmt_meta_fn)(void *arg, char kind, const char *name, size_t name_len,
                                const char *text, size_t text_len);
void fw_expfmt_set_meta(fw_expfmt_t *self, fw_expfmt_meta_fn *fn, void *arg);

// FW_EXPFMT_PROMETHEUS: the exemplars the last run dropped (too long, or a repeated name).
size_t fw_expfmt_exemplars_dropped(const fw_expfmt_t *self);

// Samples of the last successful run.
size_t fw_expfmt_count(const fw_expfmt_t *self);
// Fill out with sample i (< count). The label arrays are borrowed as above.
void fw_expfmt_get(fw_expfmt_t *self, size_t i, struct fw_expfmt_sample *out);

// What a caller that keeps its series (fw_expfmt_set_known) needs of a tagged sample: its
// tag, value and timestamp, read from the parser's record without filling a whole
// struct fw_expfmt_sample (the scrape's steady state: every sample tagged).
struct fw_expfmt_tagged {
    void *tag;
    double v;
    bool has_t;
    int64_t t_ms;
};
// Fill out with sample i (< count) when it is tagged and has nothing more to hand out (no
// exemplar, no start time): true. False otherwise, out untouched: read it with fw_expfmt_get.
bool fw_expfmt_get_tagged(const fw_expfmt_t *self, size_t i, struct fw_expfmt_tagged *out);

// The parser's record of a sample (fw_expfmt.c's; its definition is here only so that
// fw_expfmt_tagged_get below is inline: nothing else reads its fields). Its exemplar's
// labels (ex_n_labels) follow its own labels in the parser's label array.
struct fw_expfmt_rec {
    size_t name_off;    // into arena; or FW_EXPFMT_NAME_DEFERRED | its length (_int.h)
    size_t label_first; // index into labels
    const char *series; // borrowed from the body or line: "name{...}" as written
    size_t series_len;
    double v;
    int64_t t_ms;
    double ex_v;
    int64_t ex_t_ms;
    uint32_t n_labels;
    uint32_t ex_n_labels;
    bool has_t, has_ex, ex_has_t;
    uint32_t st_block; // FW_EXPFMT_START_TIMES: the metadata block it is in (st_blocks)
    void *tag;         // what the known-series callback gave (its labels were then not parsed)
};
// The same read without a call per sample (a scrape's steady loop): a view of the last run's
// records, taken once after the run, valid until the parser's next run or its destruction
// (fw_expfmt_get between does not void it).
struct fw_expfmt_tagged_view {
    const struct fw_expfmt_rec *samples; // borrowed
    const int64_t *st;                   // borrowed: each sample's start time, or NULL: none
};
void fw_expfmt_tagged_view(const fw_expfmt_t *self, struct fw_expfmt_tagged_view *v);
// fw_expfmt_get_tagged through a view.
static inline bool
fw_expfmt_tagged_get(const struct fw_expfmt_tagged_view *v, size_t i, struct fw_expfmt_tagged *out)
{
    const struct fw_expfmt_rec *s = &v->samples[i];
    if (!s->tag || s->has_ex || (v->st && v->st[i] != 0))
        return false;
    *out = (struct fw_expfmt_tagged){s->tag, s->v, s->has_t, s->t_ms};
    return true;
}

// --- line at a time ---

// Start a stream of lines in format fmt (flags: FW_EXPFMT_*); forgets any earlier run.
void fw_expfmt_begin(fw_expfmt_t *self, fw_expfmt_fmt_t fmt, unsigned flags);
// Parse the next line (len bytes without the '\n'; need not be NUL-terminated; a trailing
// '\r' is dropped). Lines are numbered from 1 since fw_expfmt_begin. Returns 1 with *out
// filled (its strings and series text borrowed until the next call), 0 for a line without
// a sample (blank, comment, metadata, "# EOF"), or -1 with err: msg is the bare reason
// ("invalid timestamp"), err->line and err->col the position. An error does not end the
// stream: the next line may be given (to report every bad line of a file). In OpenMetrics
// any line after "# EOF" is an error.
int fw_expfmt_line(fw_expfmt_t *self, const char *line, size_t len, struct fw_expfmt_sample *out,
                   fw_err_t *err);
// The stream is over: 0, or -1 with err (the last line's number) when an OpenMetrics stream
// did not end with "# EOF".
int fw_expfmt_end(fw_expfmt_t *self, fw_err_t *err);

#endif
