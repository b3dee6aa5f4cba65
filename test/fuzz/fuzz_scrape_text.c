/*  fuzz_scrape_text.c — the exposition parser (fw_expfmt) on arbitrary bodies, in both the
    text and OpenMetrics modes (the first byte picks the mode), whole (a scrape) and line at
    a time (tsdb import; the second bit picks lax families). Every sample handed out must
    have a name; an exemplar only comes from OpenMetrics, with named labels of at most 128
    characters in all; every failure must say where. With Prometheus's flags, a body parsed
    again with its own series texts expected (the scraper's steady scrape) gives the same
    outcome through the expectation list (whose plain lines take the fast path) as through
    the expectation callback (which never does): count or error, and each sample.
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

static void *
s_known_none(void *arg, size_t i, const char *series, size_t len)
{
    (void)arg, (void)i, (void)series, (void)len;
    return NULL;
}

static const struct fw_expfmt_text *const *s_list;
static size_t s_list_n;

static bool
s_expect(void *arg, size_t i, struct fw_expfmt_expect *x)
{
    (void)arg;
    if (i >= s_list_n || !s_list[i])
        return false;
    const struct fw_expfmt_text *t = s_list[i];
    *x = (struct fw_expfmt_expect){t->series, t->len, t->name_len, (void *)(uintptr_t)t};
    return true;
}

// Parse body with list (n texts) as the list and as the callback: abort unless alike.
static void
s_same_both_ways(const char *body, size_t len, fw_expfmt_fmt_t fmt,
                 const struct fw_expfmt_text *const *list, size_t n)
{
    fw_expfmt_t *a = fw_expfmt_new(), *b = fw_expfmt_new();
    fw_err_t ea = {0}, eb = {0};
    s_list = list;
    s_list_n = n;
    fw_expfmt_set_known(a, s_known_none, NULL);
    fw_expfmt_set_expect_list(a, list, n);
    fw_expfmt_set_known(b, s_known_none, NULL);
    fw_expfmt_set_expect(b, s_expect);
    ssize_t na = fw_expfmt_parse_flags(a, body, len, fmt, FW_EXPFMT_PROMETHEUS, &ea);
    ssize_t nb = fw_expfmt_parse_flags(b, body, len, fmt, FW_EXPFMT_PROMETHEUS, &eb);
    if (na != nb || (na < 0 && strcmp(ea.msg, eb.msg) != 0))
        abort();
    for (ssize_t i = 0; i < na; i++) {
        struct fw_expfmt_sample sa, sb;
        fw_expfmt_get(a, (size_t)i, &sa);
        fw_expfmt_get(b, (size_t)i, &sb);
        if (sa.tag != sb.tag || strcmp(sa.name, sb.name) != 0 ||
            memcmp(&sa.v, &sb.v, sizeof(sa.v)) != 0 || sa.has_t != sb.has_t || sa.t_ms != sb.t_ms ||
            sa.series != sb.series || sa.series_len != sb.series_len ||
            sa.n_labels != sb.n_labels || sa.has_exemplar != sb.has_exemplar)
            abort();
    }
    fw_expfmt_destroy(&a);
    fw_expfmt_destroy(&b);
}

// The texts of body's samples (parsed with Prometheus's flags), expected in a second parse
// as they are and shifted by one sample (mismatches).
static void
s_check_expected(const char *body, size_t len, fw_expfmt_fmt_t fmt)
{
    fw_expfmt_t *p = fw_expfmt_new();
    fw_err_t err;
    ssize_t n = fw_expfmt_parse_flags(p, body, len, fmt, FW_EXPFMT_PROMETHEUS, &err);
    if (n <= 0) {
        fw_expfmt_destroy(&p);
        return;
    }
    struct fw_expfmt_text *texts = calloc((size_t)n, sizeof(*texts));
    const struct fw_expfmt_text **list = calloc((size_t)n + 1, sizeof(*list));
    if (!texts || !list)
        abort();
    for (ssize_t i = 0; i < n; i++) {
        struct fw_expfmt_sample s;
        fw_expfmt_get(p, (size_t)i, &s);
        size_t name_len = strlen(s.name); // as the scraper's cache: 0 unless the text's start
        if (name_len > s.series_len || memcmp(s.series, s.name, name_len) != 0)
            name_len = 0;
        texts[i] = (struct fw_expfmt_text){s.series, (uint32_t)s.series_len, (uint32_t)name_len};
        list[i + 1] = &texts[i];
    }
    s_same_both_ways(body, len, fmt, list + 1, (size_t)n);
    s_same_both_ways(body, len, fmt, list, (size_t)n + 1);
    free(list);
    free(texts);
    fw_expfmt_destroy(&p);
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
    s_check_expected(body, len, fmt);
    // the texts of the lines that parse alone, expected in the whole body (which may fail)
    struct fw_expfmt_text *texts = NULL;
    size_t n_texts = 0;
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
        if (rc == 1) {
            s_check_exemplar(&s, fmt);
            size_t name_len = strlen(s.name);
            if (name_len > s.series_len || memcmp(s.series, s.name, name_len) != 0)
                name_len = 0;
            texts = realloc(texts, (n_texts + 1) * sizeof(*texts));
            if (!texts)
                abort();
            texts[n_texts++] =
                (struct fw_expfmt_text){s.series, (uint32_t)s.series_len, (uint32_t)name_len};
        }
        at = end + 1;
    }
    if (n_texts > 0) {
        const struct fw_expfmt_text **list = calloc(n_texts, sizeof(*list));
        if (!list)
            abort();
        for (size_t i = 0; i < n_texts; i++)
            list[i] = &texts[i];
        s_same_both_ways(body, len, fmt, list, n_texts);
        free(list);
    }
    free(texts);
    if (fw_expfmt_end(p, &err) < 0 && err.line <= 0)
        abort();
    fw_expfmt_destroy(&p);
    return 0;
}
