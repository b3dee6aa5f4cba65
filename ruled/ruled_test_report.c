/*  ruled_test_report.c — promtool's texts for rule unit test results (ruled_test_report.h).
 */
#include "ruled_test_report.h"

#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_gofloat.h"
#include "fw_mem.h"

void
ruled_test_buf_printf(struct ruled_test_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = fw_realloc(b->s, b->cap);
    }
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    b->len += (size_t)n;
}

void
ruled_test_buf_clear(struct ruled_test_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof(*b));
}

const char *
ruled_test_go_duration(int64_t ms, char *buf, size_t size)
{
    if (ms == 0) {
        snprintf(buf, size, "0s");
        return buf;
    }
    const char *neg = ms < 0 ? "-" : "";
    uint64_t u = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
    if (u < 1000) {
        snprintf(buf, size, "%s%llums", neg, (unsigned long long)u);
        return buf;
    }
    unsigned long long h = u / 3600000, m = u / 60000 % 60, s = u / 1000 % 60, f = u % 1000;
    char frac[8] = "";
    if (f) {
        snprintf(frac, sizeof(frac), ".%03llu", f);
        for (size_t i = strlen(frac); i > 1 && frac[i - 1] == '0'; i--)
            frac[i - 1] = '\0';
    }
    if (h)
        snprintf(buf, size, "%s%lluh%llum%llu%ss", neg, h, m, s, frac);
    else if (m)
        snprintf(buf, size, "%s%llum%llu%ss", neg, m, s, frac);
    else
        snprintf(buf, size, "%s%llu%ss", neg, s, frac);
    return buf;
}

void
ruled_test_quote(struct ruled_test_buf *b, const char *s)
{
    ruled_test_buf_printf(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': ruled_test_buf_printf(b, "\\\""); break;
        case '\\': ruled_test_buf_printf(b, "\\\\"); break;
        case '\n': ruled_test_buf_printf(b, "\\n"); break;
        case '\t': ruled_test_buf_printf(b, "\\t"); break;
        case '\r': ruled_test_buf_printf(b, "\\r"); break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                ruled_test_buf_printf(b, "\\x%02x", *p);
            else
                ruled_test_buf_printf(b, "%c", *p);
        }
    }
    ruled_test_buf_printf(b, "\"");
}

void
ruled_test_labels_str(struct ruled_test_buf *b, const struct fw_labels *l)
{
    ruled_test_buf_printf(b, "{");
    for (size_t i = 0; i < l->len; i++) {
        ruled_test_buf_printf(b, "%s%s=", i ? ", " : "", l->items[i].name);
        ruled_test_quote(b, l->items[i].value);
    }
    ruled_test_buf_printf(b, "}");
}

static int
s_alert_cmp(const void *x, const void *y)
{
    const struct ruled_test_alert *a = x, *b = y;
    int c = fw_labels_cmp(&a->labels, &b->labels);
    return c ? c : fw_labels_cmp(&a->annotations, &b->annotations);
}

void
ruled_test_alerts_sort(struct ruled_test_alert *a, size_t n)
{
    if (n > 1)
        qsort(a, n, sizeof(*a), s_alert_cmp);
}

bool
ruled_test_alerts_equal(const struct ruled_test_alert *a, size_t na,
                        const struct ruled_test_alert *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (s_alert_cmp(&a[i], &b[i]) != 0)
            return false;
    return true;
}

void
ruled_test_alerts_str(struct ruled_test_buf *b, const struct ruled_test_alert *a, size_t n)
{
    // labelsAndAnnotations.String(), then indentLines(..., 12 spaces): every line after
    // the first gets the 12-space indent in front of its own.
    if (n == 0) {
        ruled_test_buf_printf(b, "[]");
        return;
    }
    const char *ind = "            ";
    ruled_test_buf_printf(b, "[");
    for (size_t i = 0; i < n; i++) {
        ruled_test_buf_printf(b, "%s\n%s%zu:\n%s  Labels:", i ? "," : "", ind, i, ind);
        ruled_test_labels_str(b, &a[i].labels);
        ruled_test_buf_printf(b, "\n%s  Annotations:", ind);
        ruled_test_labels_str(b, &a[i].annotations);
    }
    ruled_test_buf_printf(b, "\n%s]", ind);
}

static int
s_sample_cmp(const void *x, const void *y)
{
    const struct ruled_test_sample *a = x, *b = y;
    return fw_labels_cmp(&a->labels, &b->labels);
}

void
ruled_test_samples_sort(struct ruled_test_sample *s, size_t n)
{
    if (n > 1)
        qsort(s, n, sizeof(*s), s_sample_cmp);
}

bool
ruled_test_samples_equal(const struct ruled_test_sample *a, size_t na,
                         const struct ruled_test_sample *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (fw_labels_cmp(&a[i].labels, &b[i].labels) != 0 || !(a[i].v == b[i].v))
            return false;
    return true;
}

void
ruled_test_samples_str(struct ruled_test_buf *b, const struct ruled_test_sample *s, size_t n)
{
    if (n == 0) {
        ruled_test_buf_printf(b, "nil");
        return;
    }
    char num[FW_GOFLOAT_MAX];
    for (size_t i = 0; i < n; i++) {
        if (i)
            ruled_test_buf_printf(b, ", ");
        ruled_test_labels_str(b, &s[i].labels);
        ruled_test_buf_printf(b, " %s", fw_gofloat_format(s[i].v, 'E', num, sizeof(num)));
    }
}

// The Go type promtool 2.42 decodes the mapping at path (fw_cfg's "tests[0].input_series[1]")
// into, or NULL.
static const char *
s_go_type(const char *path, bool rule_file)
{
    static const char *const tests[][2] = {
        {"", "main.unitTestFile"},       {"tests", "main.testGroup"},
        {"input_series", "main.series"}, {"alert_rule_test", "main.alertTestCase"},
        {"exp_alerts", "main.alert"},    {"promql_expr_test", "main.promqlTestCase"},
        {"exp_samples", "main.sample"},
    };
    static const char *const rules[][2] = {
        {"", "rulefmt.RuleGroups"},
        {"groups", "rulefmt.RuleGroup"},
        {"rules", "rulefmt.RuleNode"},
    };
    const char *const(*map)[2] = rule_file ? rules : tests;
    size_t n_map = rule_file ? sizeof(rules) / sizeof(rules[0]) : sizeof(tests) / sizeof(tests[0]);
    const char *last = strrchr(path, '.');
    last = last ? last + 1 : path;
    size_t n = strcspn(last, "[");
    for (size_t i = 0; i < n_map; i++)
        if (strlen(map[i][0]) == n && strncmp(map[i][0], last, n) == 0)
            return map[i][1];
    return NULL;
}

// The key and path of an "unknown key 'K'[ in PATH]" message: 0, or -1 for another message.
static int
s_unknown_key(const char *msg, const char **key, int *key_len, const char **path)
{
    static const char prefix[] = "unknown key '";
    if (strncmp(msg, prefix, sizeof(prefix) - 1) != 0)
        return -1;
    const char *k = msg + sizeof(prefix) - 1, *q = strchr(k, '\'');
    if (!q || (q[1] != '\0' && strncmp(q + 1, " in ", 4) != 0))
        return -1;
    *key = k;
    *key_len = (int)(q - k);
    *path = q[1] ? q + 5 : "";
    return 0;
}

bool
ruled_test_yaml_unknown_keys(struct ruled_test_buf *b, const struct fw_cfg_errors *errs,
                             bool rule_file)
{
    const char *key, *path;
    int len;
    if (errs->len == 0 || errs->dropped)
        return false;
    for (size_t i = 0; i < errs->len; i++)
        if (s_unknown_key(errs->items[i].msg, &key, &len, &path) < 0 || !s_go_type(path, rule_file))
            return false;
    ruled_test_buf_printf(b, "yaml: unmarshal errors:");
    for (size_t i = 0; i < errs->len; i++) {
        s_unknown_key(errs->items[i].msg, &key, &len, &path);
        ruled_test_buf_printf(b, "\n  line %d: field %.*s not found in type %s",
                              errs->items[i].line, len, key, s_go_type(path, rule_file));
    }
    return true;
}
