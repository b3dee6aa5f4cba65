/*  fw_expfmt_meta.c — comment lines of the exposition formats: # HELP, # TYPE, # UNIT, # EOF.

    Design: fw_expfmt.c's line loop hands every line that starts with '#' here. The text
    format (0.0.4) ignores free comments and takes blanks freely; OpenMetrics knows only
    HELP, TYPE, UNIT and EOF, each token separated by exactly one space, and its types
    (unknown, gaugehistogram, stateset, info). With FW_EXPFMT_PROMETHEUS the line also
    gets Prometheus's own checks and texts (fw_expfmt_int_prom_metadata). A metadata line
    that parsed goes to the caller's fw_expfmt_meta_fn (fw_expfmt_set_meta), its name
    unquoted. Quoted UTF-8 names (Prometheus 3) are read by fw_expfmt_quoted, which the
    family rules (fw_expfmt_om.c) use too.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_expfmt_int.h"
#include "fw_labels.h"
#include "fw_mem.h"

// Returns 0, 1 when the line is OpenMetrics' "# EOF", or -1.
int
fw_expfmt_int_parse_comment(struct fw_expfmt_scan *l, fw_expfmt_fmt_t fmt)
{
    // OpenMetrics knows no free comments and separates every token by exactly one space.
    bool om = fmt == FW_EXPFMT_OPENMETRICS;
    l->pos++; // '#'
    if (fw_expfmt_int_at_end(l) || !fw_expfmt_int_blank(l->p[l->pos]))
        return om ? fw_expfmt_fail(l, "expected \"# HELP\", \"# TYPE\", \"# UNIT\" or \"# EOF\"")
                  : 0;
    if (!om)
        fw_expfmt_int_skip_blanks(l);
    else if (fw_expfmt_int_om_sep(l, "expected a single space after '#'") != 0)
        return -1;
    size_t kw_start;
    size_t kw_len = fw_expfmt_int_scan_token(l, &kw_start);
    const char *kw = l->p + kw_start;
    bool help = kw_len == 4 && memcmp(kw, "HELP", 4) == 0;
    bool type = kw_len == 4 && memcmp(kw, "TYPE", 4) == 0;
    bool unit = om && kw_len == 4 && memcmp(kw, "UNIT", 4) == 0;
    if (om && kw_len == 3 && memcmp(kw, "EOF", 3) == 0 && fw_expfmt_int_at_end(l))
        return 1;
    if (!help && !type && !unit) {
        if (!om)
            return 0;
        l->pos = kw_start;
        return fw_expfmt_fail(l, "unknown metadata keyword");
    }
    if (om) {
        if (fw_expfmt_int_om_sep(l, "expected a single space before the metric name") != 0)
            return -1;
    } else if (fw_expfmt_int_at_end(l) || !fw_expfmt_int_blank(l->p[l->pos])) {
        return fw_expfmt_fail(l, help   ? "expected metric name after HELP"
                                 : type ? "expected metric name after TYPE"
                                        : "expected metric name after UNIT");
    } else {
        fw_expfmt_int_skip_blanks(l);
    }
    if (!fw_expfmt_int_at_end(l) && l->p[l->pos] == '"') { // a quoted UTF-8 name (Prometheus 3)
        size_t q = fw_expfmt_quoted(l->p + l->pos, l->len - l->pos, NULL);
        if (q == 0)
            return fw_expfmt_fail(l, "invalid quoted metric name in comment");
        l->pos += q;
    } else if (fw_expfmt_int_scan_name(l, true) == 0) {
        return fw_expfmt_fail(l, "invalid metric name in comment");
    }
    if (!fw_expfmt_int_at_end(l) && !fw_expfmt_int_blank(l->p[l->pos]))
        return fw_expfmt_fail(l, "invalid metric name in comment");
    if (om) {
        if (fw_expfmt_int_at_end(l) || l->p[l->pos] != ' ')
            return fw_expfmt_fail(l, help   ? "expected a space and help text after the metric name"
                                     : type ? "expected a space and the metric type"
                                            : "expected a space and unit after the metric name");
        l->pos++;
        if (help)
            return 0; // the docstring is free text, possibly empty
        if (unit) {
            for (; l->pos < l->len; l->pos++)
                if (fw_expfmt_int_blank(l->p[l->pos]))
                    return fw_expfmt_fail(l, "blank in unit");
            return 0;
        }
    } else {
        fw_expfmt_int_skip_blanks(l);
        if (help || unit)
            return 0; // the docstring is free text
    }
    static const char *const types[] = {"counter", "gauge",   "histogram",
                                        "summary", "untyped", NULL};
    static const char *const om_types[] = {"unknown", "gaugehistogram", "stateset", "info", NULL};
    size_t t_start;
    size_t t_len = fw_expfmt_int_scan_token(l, &t_start);
    bool ok = false;
    for (size_t i = 0; types[i] && !ok; i++)
        ok = strlen(types[i]) == t_len && memcmp(types[i], l->p + t_start, t_len) == 0 &&
             !(om && strcmp(types[i], "untyped") == 0); // OpenMetrics says "unknown"
    for (size_t i = 0; om_types[i] && !ok && om; i++)
        ok = strlen(om_types[i]) == t_len && memcmp(om_types[i], l->p + t_start, t_len) == 0;
    if (!ok) {
        l->pos = t_start;
        return fw_expfmt_fail(l, "invalid metric type");
    }
    if (fmt != FW_EXPFMT_OPENMETRICS)
        fw_expfmt_int_skip_blanks(l);
    if (!fw_expfmt_int_at_end(l))
        return fw_expfmt_fail(l, "unexpected text after metric type");
    return 0;
}

size_t
fw_expfmt_quoted(const char *p, size_t n, char **out)
{
    size_t end = 1;
    while (end < n && p[end] != '"')
        end += p[end] == '\\' ? 2 : 1;
    if (end >= n || end == 1 || memchr(p, '\0', end) || !fw_utf8_valid(p + 1, end - 1))
        return 0;
    if (out) {
        char *w = *out = fw_malloc(end);
        for (size_t i = 1; i < end; i++) {
            if (p[i] == '\\' && (p[i + 1] == '\\' || p[i + 1] == '"' || p[i + 1] == 'n')) {
                *w++ = p[i + 1] == 'n' ? '\n' : p[i + 1];
                i++;
            } else {
                *w++ = p[i];
            }
        }
        *w = '\0';
    }
    return end + 1;
}

// The checks Prometheus's OpenMetrics parser makes on a metadata line that scanned
// ("# HELP|TYPE|UNIT name rest"), with its texts.
int
fw_expfmt_int_prom_metadata(struct fw_expfmt_scan *l)
{
    char kw = l->p[2];
    size_t start = 7, end = start;
    while (end < l->len && l->p[end] != ' ')
        end++;
    const char *name = l->p + start, *rest = l->p + end + 1;
    size_t name_len = end - start, rest_len = end < l->len ? l->len - end - 1 : 0;
    char msg[200];
    if (kw == 'H' && !fw_utf8_valid(rest, rest_len)) {
        l->pos = end + 1;
        snprintf(msg, sizeof(msg), "help text \"%.*s\" is not a valid utf8 string",
                 (int)(rest_len > 100 ? 100 : rest_len), rest);
        return fw_expfmt_fail(l, msg);
    }
    if (kw == 'U' && rest_len > 0 &&
        (name_len <= rest_len + 1 || name[name_len - rest_len - 1] != '_' ||
         memcmp(name + name_len - rest_len, rest, rest_len) != 0)) {
        l->pos = end + 1;
        snprintf(msg, sizeof(msg), "unit \"%.*s\" not a suffix of metric \"%.*s\"",
                 (int)(rest_len > 80 ? 80 : rest_len), rest, (int)(name_len > 80 ? 80 : name_len),
                 name);
        return fw_expfmt_fail(l, msg);
    }
    return 0;
}

// Give the metadata line that parsed at p[hash] ('#') to the caller's fw_expfmt_meta_fn.
void
fw_expfmt_int_emit_meta(fw_expfmt_t *self, const struct fw_expfmt_scan *l, size_t hash)
{
    const char *p = l->p, *end = l->p + l->len;
    const char *q = p + hash + 1;
    while (q < end && fw_expfmt_int_blank(*q))
        q++;
    bool meta =
        end - q >= 5 && fw_expfmt_int_blank(q[4]) &&
        (memcmp(q, "HELP", 4) == 0 || memcmp(q, "TYPE", 4) == 0 || memcmp(q, "UNIT", 4) == 0);
    if (!meta)
        return; // a free comment
    char kind = q[0];
    q += 4;
    while (q < end && fw_expfmt_int_blank(*q))
        q++;
    const char *name = q;
    char *unquoted = NULL;
    size_t qlen = *q == '"' ? fw_expfmt_quoted(q, (size_t)(end - q), &unquoted) : 0;
    q += qlen;
    while (q < end && !fw_expfmt_int_blank(*q))
        q++;
    size_t name_len = unquoted ? strlen(unquoted) : (size_t)(q - name);
    if (unquoted)
        name = unquoted;
    if (q < end)
        q++; // the one separating blank: a HELP text may start with more
    if (kind != 'H')
        while (q < end && fw_expfmt_int_blank(*q))
            q++;
    const char *text_end = end;
    while (kind != 'H' && text_end > q && fw_expfmt_int_blank(text_end[-1]))
        text_end--;
    self->meta(self->meta_arg, kind, name, name_len, q, (size_t)(text_end - q));
    free(unquoted);
}

void
fw_expfmt_set_meta(fw_expfmt_t *self, fw_expfmt_meta_fn *fn, void *arg)
{
    self->meta = fn;
    self->meta_arg = arg;
}
