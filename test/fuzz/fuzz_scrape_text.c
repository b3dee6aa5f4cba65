/*  fuzz_scrape_text.c — the exposition parser (fw_expfmt) on arbitrary bodies, in both the
    text and OpenMetrics modes (the first byte picks the mode), whole (a scrape) and line at
    a time (tsdb import; the second bit picks lax families). Every sample handed out must
    have a name; an exemplar only comes from OpenMetrics, with named labels of at most 128
    characters in all; every failure must say where.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fw_expfmt.h"
#include "fuzz_util.h"

// Abort unless s's exemplar (if any) is one OpenMetrics allows.
static void
s_check_exemplar(const struct fw_expfmt_sample *s, fw_expfmt_fmt_t fmt)
{
    if (!s->has_exemplar)
        return;
    if (fmt != FW_EXPFMT_OPENMETRICS)
        abort();
    size_t runes = 0;
    for (size_t i = 0; i < s->exemplar.n_labels; i++) {
        const char *n = s->exemplar.label_names[i], *v = s->exemplar.label_values[i];
        if (!n || !v || !n[0])
            abort();
        runes += strlen(n);
        for (; *v; v++)
            runes += ((unsigned char)*v & 0xC0) != 0x80;
    }
    if (runes > 128)
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_util_init();
    if (size == 0)
        return 0;
    fw_expfmt_fmt_t fmt = data[0] & 1 ? FW_EXPFMT_OPENMETRICS : FW_EXPFMT_TEXT;
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    ssize_t n = fw_expfmt_parse(p, body, len, fmt, &err);
    if (n < 0 && err.line <= 0)
        abort(); // a parse error must say where
    for (ssize_t i = 0; i < n; i++) {
        struct fw_expfmt_sample s;
        fw_expfmt_get(p, (size_t)i, &s);
        if (!s.name || !s.name[0] || s.series_len == 0)
            abort();
        s_check_exemplar(&s, fmt);
    }
    fw_expfmt_begin(p, fmt, data[0] & 2 ? FW_EXPFMT_LAX_FAMILIES : 0);
    for (size_t at = 0; at < len;) {
        const char *nl = memchr(body + at, '\n', len - at);
        size_t end = nl ? (size_t)(nl - body) : len;
        struct fw_expfmt_sample s;
        int rc = fw_expfmt_line(p, body + at, end - at, &s, &err);
        if (rc < 0 && (err.line <= 0 || err.col <= 0))
            abort();
        if (rc == 1 && (!s.name[0] || s.series_len == 0 || s.series_len > end - at))
            abort();
        if (rc == 1)
            s_check_exemplar(&s, fmt);
        at = end + 1;
    }
    if (fw_expfmt_end(p, &err) < 0 && err.line <= 0)
        abort();
    fw_expfmt_destroy(&p);
    return 0;
}
