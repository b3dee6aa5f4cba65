/*  scraper_parse.h — the Prometheus text exposition parser (format 0.0.4, and the part of
    OpenMetrics 1.0 that the text format shares).

    A parser object owns reusable buffers: one arena for every string of a scrape (metric
    names, label names, unescaped label values, each NUL-terminated) and one array of sample
    and label records. scraper_parse_run() resets them and parses a whole body; after the
    first few scrapes of a target no parse allocates. The body is parsed completely before
    any sample is handed out, because a syntax error anywhere fails the whole scrape (as in
    Prometheus): the caller then sees no samples at all.

    Accepted: blank lines, leading and trailing blanks, "\r\n" line ends, comments, "# HELP
    name text" and "# TYPE name type" (validated), metric names, label sets with escapes
    (\\ \" \n; other escapes are kept verbatim, as Prometheus does) and a trailing comma,
    values as Go's ParseFloat reads them (+Inf, -Inf, NaN, exponents), and an optional
    integer timestamp in milliseconds. In OpenMetrics mode timestamps are float seconds,
    "# UNIT" lines are accepted, exemplars (" # {...} v") are skipped and "# EOF" ends the
    body. In text mode "# EOF" is an ordinary comment.
*/
#ifndef SCRAPER_PARSE_H
#define SCRAPER_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fw_err.h"

typedef struct scraper_parse scraper_parse_t;

typedef enum { SCRAPER_FMT_TEXT, SCRAPER_FMT_OPENMETRICS } scraper_fmt_t;

// One parsed sample. Strings are borrowed from the parser, valid until its next run or
// destroy; labels are in exposition order (not sorted), names unique.
struct scraper_sample {
    const char *name;
    const char *const *label_names;  // n_labels entries
    const char *const *label_values; // n_labels entries
    size_t n_labels;
    double v;
    bool has_t;
    int64_t t_ms;
};

scraper_parse_t *scraper_parse_new(void);
void scraper_parse_destroy(scraper_parse_t **self_p);

// The format a Content-Type header announces (NULL or unknown: text).
scraper_fmt_t scraper_parse_format(const char *content_type);

// Parse body (len bytes; need not be NUL-terminated). Returns the number of samples, or -1
// with err->msg like "line 3: expected '=' after label name at column 17" (err->line and
// err->col set too); after an error the parser holds no samples.
ssize_t scraper_parse_run(scraper_parse_t *self, const char *body, size_t len, scraper_fmt_t fmt,
                          fw_err_t *err);

// Samples of the last successful run.
size_t scraper_parse_count(const scraper_parse_t *self);
// Fill out with sample i (< count). The label arrays are borrowed as above.
void scraper_parse_get(scraper_parse_t *self, size_t i, struct scraper_sample *out);

#endif
