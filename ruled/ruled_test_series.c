/*  ruled_test_series.c — input series notation of rule unit tests (see ruled_test_series.h).
 */
#include "ruled_test_series.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_sample.h"

int
ruled_test_series_parse_metric(const char *text, struct fw_labels *out, fw_err_t *err)
{
    fw_labels_clear(out);
    fw_err_t perr = {0};
    fw_promql_expr_t *e = fw_promql_parse(text, &perr);
    if (!e) {
        fw_err_set(err, "1:%d: parse error: %s", perr.col, perr.msg);
        return -1;
    }
    int rc = 0;
    if (e->kind != FW_PQ_SELECTOR || e->range_ms != 0 || e->offset_ms != 0 ||
        e->at != FW_PQ_AT_NONE || e->offset_expr) {
        fw_err_set(err, "1:1: parse error: %s is not a metric", text);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < e->n_matchers; i++) {
        const struct fw_matcher *m = &e->matchers[i];
        if (m->op != FW_MATCH_EQ) {
            fw_err_set(err, "1:1: parse error: %s: only = matchers describe a series", text);
            rc = -1;
        } else if (m->value[0] != '\0') {
            fw_labels_set(out, m->name, m->value);
        }
    }
    if (rc < 0)
        fw_labels_clear(out);
    fw_promql_expr_destroy(&e);
    return rc;
}

static void
s_push(struct ruled_test_points *p, int64_t t, double v)
{
    if (p->len == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->t = fw_realloc(p->t, p->cap * sizeof(*p->t));
        p->v = fw_realloc(p->v, p->cap * sizeof(*p->v));
    }
    p->t[p->len] = t;
    p->v[p->len++] = v;
}

// A number at *s (optional sign, decimal float or Inf/NaN, no hexadecimal). 0 or -1.
static int
s_number(const char **s, double *out)
{
    const char *p = *s;
    double sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (strncasecmp(p, "inf", 3) == 0) {
        *out = sign * INFINITY;
        *s = p + 3;
        return 0;
    }
    if (strncasecmp(p, "nan", 3) == 0) {
        *out = NAN;
        *s = p + 3;
        return 0;
    }
    const char *q = p;
    while (isdigit((unsigned char)*q))
        q++;
    if (*q == '.')
        for (q++; isdigit((unsigned char)*q);)
            q++;
    if (q == p || (q == p + 1 && *p == '.'))
        return -1;
    if (*q == 'e' || *q == 'E') {
        const char *r = q + 1;
        if (*r == '+' || *r == '-')
            r++;
        if (isdigit((unsigned char)*r)) {
            while (isdigit((unsigned char)*r))
                r++;
            q = r;
        }
    }
    char buf[64];
    if ((size_t)(q - p) >= sizeof(buf))
        return -1;
    memcpy(buf, p, (size_t)(q - p));
    buf[q - p] = '\0';
    *out = sign * strtod(buf, NULL);
    *s = q;
    return 0;
}

// "xK" at *s: K into *k. 0 or -1.
static int
s_times(const char **s, uint64_t *k)
{
    const char *p = *s;
    if (*p != 'x' || !isdigit((unsigned char)p[1]))
        return -1;
    errno = 0;
    char *end;
    unsigned long long n = strtoull(p + 1, &end, 10);
    if (errno || n > RULED_TEST_SERIES_MAX_VALUES)
        return -1;
    *k = n;
    *s = end;
    return 0;
}

// One item (len n at s) at step *step; advances *step. 0 or -1.
static int
s_item(const char *s, size_t n, int64_t interval_ms, int64_t *step, struct ruled_test_points *out)
{
    char buf[128];
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    const char *p = buf;
    uint64_t k = 0;
    if (*p == '_') {
        p++;
        if (*p == '\0')
            k = 1;
        else if (s_times(&p, &k) < 0 || *p != '\0')
            return -1;
        *step += (int64_t)k;
        return 0;
    }
    double a, d = 0;
    if (strcmp(p, "stale") == 0) {
        a = fw_stale_nan();
        p += 5;
    } else if (s_number(&p, &a) < 0) {
        return -1;
    }
    if (*p == '\0') {
        s_push(out, *step * interval_ms, a);
        (*step)++;
        return 0;
    }
    if (*p == '+' || *p == '-') {
        if (s_number(&p, &d) < 0)
            return -1;
    }
    if (s_times(&p, &k) < 0 || *p != '\0')
        return -1;
    if (out->len + k + 1 > RULED_TEST_SERIES_MAX_VALUES)
        return -1;
    for (uint64_t i = 0; i <= k; i++) {
        s_push(out, *step * interval_ms, a);
        (*step)++;
        a += d;
    }
    return 0;
}

int
ruled_test_series_expand(const char *values, int64_t interval_ms, struct ruled_test_points *out,
                         fw_err_t *err)
{
    ruled_test_points_clear(out);
    int64_t step = 0;
    const char *p = values ? values : "";
    while (*p) {
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *q = p;
        while (*q && !isspace((unsigned char)*q))
            q++;
        if (s_item(p, (size_t)(q - p), interval_ms, &step, out) < 0 ||
            step > RULED_TEST_SERIES_MAX_VALUES) {
            fw_err_set(err, "1:%d: parse error: bad series value %.*s", (int)(p - values) + 1,
                       (int)(q - p > 64 ? 64 : q - p), p);
            ruled_test_points_clear(out);
            return -1;
        }
        p = q;
    }
    return 0;
}

void
ruled_test_points_clear(struct ruled_test_points *p)
{
    free(p->t);
    free(p->v);
    memset(p, 0, sizeof(*p));
}
