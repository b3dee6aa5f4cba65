/*  tsdb_api.c — the Prometheus HTTP API v1 subset and its JSON (see tsdb_api.h).

    JSON is written by hand into a growing buffer rather than through jansson: the exact
    spelling matters (Go's float and timestamp formats, Go's HTML-safe string escaping,
    label order), and query answers can be large. Parameter parsing and error texts follow
    Prometheus's web/api/v1/api.go so clients that match on them keep working.
*/
#include "tsdb_api.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_time.h"
#include "tsdb_json.h"

struct tsdb_api {
    tsdb_store_t *store;   // borrowed
    fw_metrics_t *metrics; // borrowed
    pthread_mutex_t lock;  // guards config_text
    char *config_text;     // owned
};

// ---------------------------------------------------------------------------------------
// JSON

// Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0 when invalid.
static size_t
s_utf8_len(const unsigned char *p)
{
    size_t n;
    uint32_t cp;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2;
        cp = p[0] & 0x1F;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3;
        cp = p[0] & 0x0F;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4;
        cp = p[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t k = 1; k < n; k++) {
        if ((p[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[k] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp < 0xE000))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0;
    return n;
}

// A JSON string as Go's encoding/json writes it (HTML-safe).
static void
s_put_str(struct tsdb_json *b, const char *s)
{
    tsdb_json_put(b, "\"", 1);
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0;
    for (size_t i = 0;; i++) {
        unsigned char c = p[i];
        const char *esc = NULL;
        char tmp[8];
        if (c == '\0')
            break;
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            esc = tmp;
        } else if (c >= 0x80 && s_utf8_len(p + i) == 0) {
            esc = "\\ufffd"; // invalid UTF-8, as Go's encoding/json writes it
        } else if (c == 0xE2 && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
            snprintf(tmp, sizeof(tmp), "\\u202%c", p[i + 2] == 0xA8 ? '8' : '9');
            tsdb_json_put(b, s + run, i - run);
            tsdb_json_puts(b, tmp);
            i += 2;
            run = i + 1;
            continue;
        }
        if (esc) {
            tsdb_json_put(b, s + run, i - run);
            tsdb_json_puts(b, esc);
            run = i + 1;
        } else if (c >= 0x80) {
            i += s_utf8_len(p + i) - 1; // a valid sequence: copy it as is
        }
    }
    tsdb_json_puts(b, s + run);
    tsdb_json_put(b, "\"", 1);
}

// The n bytes at s (NUL-terminated after them) quoted as Go's %q does, the way Prometheus
// quotes a parameter it cannot parse: control bytes and invalid UTF-8 escaped, so a NUL
// shows as \x00. Caller frees.
static char *
s_go_quote(const char *s, size_t n)
{
    struct tsdb_json b = {0};
    tsdb_json_put(&b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        const char *esc = NULL;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\a': esc = "\\a"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\v': esc = "\\v"; break;
        default: break;
        }
        size_t seq = c >= 0x80 ? s_utf8_len((const unsigned char *)s + i) : 1;
        if (!esc && (c < 0x20 || c == 0x7f || seq == 0 || i + seq > n)) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            esc = tmp;
        }
        if (esc) {
            tsdb_json_puts(&b, esc);
        } else {
            tsdb_json_put(&b, s + i, seq);
            i += seq - 1;
        }
    }
    tsdb_json_put(&b, "\"", 1);
    return b.p;
}

static void
s_put_point(struct tsdb_json *b, int64_t t, double v)
{
    fw_mem_grow((void **)&b->p, &b->cap, b->len + TSDB_API_FORMAT_POINT_MAX, 1);
    b->len += tsdb_api_format_point(t, v, b->p + b->len);
}

static void
s_put_labels(struct tsdb_json *b, const struct fw_labels *l)
{
    tsdb_json_puts(b, "{");
    for (size_t k = 0; k < l->len; k++) {
        if (k)
            tsdb_json_puts(b, ",");
        s_put_str(b, l->items[k].name);
        tsdb_json_puts(b, ":");
        s_put_str(b, l->items[k].value);
    }
    tsdb_json_puts(b, "}");
}

char *
tsdb_api_result_json(const struct tsdb_eval_result *r)
{
    struct tsdb_json b = {0};
    char tb[48];
    switch (r->type) {
    case FW_PQ_SCALAR:
        tsdb_json_puts(&b, "{\"resultType\":\"scalar\",\"result\":");
        s_put_point(&b, r->t_ms, r->scalar);
        tsdb_json_puts(&b, "}");
        break;
    case FW_PQ_STRING:
        tsdb_json_puts(&b, "{\"resultType\":\"string\",\"result\":[");
        tsdb_json_puts(&b, tsdb_api_format_time(r->t_ms, tb, sizeof(tb)));
        tsdb_json_puts(&b, ",");
        s_put_str(&b, r->str ? r->str : "");
        tsdb_json_puts(&b, "]}");
        break;
    case FW_PQ_VECTOR:
    case FW_PQ_MATRIX: {
        bool vec = r->type == FW_PQ_VECTOR;
        tsdb_json_puts(&b, vec ? "{\"resultType\":\"vector\",\"result\":["
                               : "{\"resultType\":\"matrix\",\"result\":[");
        for (size_t k = 0; k < r->len; k++) {
            const struct tsdb_eval_series *s = &r->series[k];
            if (k)
                tsdb_json_puts(&b, ",");
            tsdb_json_puts(&b, "{\"metric\":");
            s_put_labels(&b, &s->labels);
            if (vec) {
                tsdb_json_puts(&b, ",\"value\":");
                if (s->len > 0)
                    s_put_point(&b, s->pts[0].t_ms, s->pts[0].v);
                else
                    s_put_point(&b, r->t_ms, NAN);
            } else {
                tsdb_json_puts(&b, ",\"values\":[");
                for (size_t j = 0; j < s->len; j++) {
                    if (j)
                        tsdb_json_puts(&b, ",");
                    s_put_point(&b, s->pts[j].t_ms, s->pts[j].v);
                }
                tsdb_json_puts(&b, "]");
            }
            tsdb_json_puts(&b, "}");
        }
        tsdb_json_puts(&b, "]}");
        break;
    }
    }
    return b.p;
}

char *
tsdb_api_error_json(const char *type, const char *msg)
{
    struct tsdb_json b = {0};
    tsdb_json_puts(&b, "{\"status\":\"error\",\"errorType\":");
    s_put_str(&b, type);
    tsdb_json_puts(&b, ",\"error\":");
    s_put_str(&b, msg);
    tsdb_json_puts(&b, "}");
    return b.p;
}

static char *
s_success(const char *data)
{
    struct tsdb_json b = {0};
    tsdb_json_puts(&b, "{\"status\":\"success\",\"data\":");
    tsdb_json_puts(&b, data);
    tsdb_json_puts(&b, "}");
    return b.p;
}

// ---------------------------------------------------------------------------------------
// Queries

tsdb_api_t *
tsdb_api_new(tsdb_store_t *store, fw_metrics_t *metrics)
{
    tsdb_api_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    self->metrics = metrics;
    pthread_mutex_init(&self->lock, NULL);
    if (metrics)
        fw_metrics_declare(metrics, "fw_tsdb_queries_total", FW_METRIC_COUNTER,
                           "Queries evaluated, by API (query, query_range, zmq).");
    return self;
}

void
tsdb_api_destroy(tsdb_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_api_t *self = *self_p;
    pthread_mutex_destroy(&self->lock);
    free(self->config_text);
    free(self);
    *self_p = NULL;
}

void
tsdb_api_set_config_text(tsdb_api_t *self, const char *yaml)
{
    pthread_mutex_lock(&self->lock);
    free(self->config_text);
    self->config_text = fw_strdup(yaml ? yaml : "");
    pthread_mutex_unlock(&self->lock);
}

// "1:14: parse error: ..." with line and column counted in the query text.
static char *
s_parse_error_text(const char *query, const fw_err_t *err)
{
    int pos = err->col > 0 ? err->col - 1 : 0, line = 1, col = 1;
    for (int k = 0; k < pos && query[k]; k++) {
        if (query[k] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    return fw_asprintf("invalid parameter \"query\": %d:%d: parse error: %s", line, col, err->msg);
}

char *
tsdb_api_query_json(tsdb_api_t *self, const struct tsdb_api_query *q, const char *api,
                    int *http_status)
{
    fw_err_t err;
    char *msg = NULL, *body = NULL;
    fw_promql_expr_t *e = NULL;
    if (self->metrics) {
        char lbl[64];
        snprintf(lbl, sizeof(lbl), "api=\"%s\"", api);
        fw_metrics_add(self->metrics, "fw_tsdb_queries_total", lbl, 1);
    }
    const char *text = q->query ? q->query : "";
    size_t nul = strlen(text);
    if (q->query_len > nul) {
        // A decoded %00: Prometheus's lexer stops on it; parsing the text before it would
        // answer a different query.
        fw_err_set_at(&err, "query", 1, (int)nul + 1, "unexpected character: '\\x00'");
        msg = s_parse_error_text(text, &err);
        *http_status = 400;
        body = tsdb_api_error_json("bad_data", msg);
        goto out;
    }
    e = fw_promql_parse(text, &err);
    if (!e) {
        msg = s_parse_error_text(text, &err);
        *http_status = 400;
        body = tsdb_api_error_json("bad_data", msg);
        goto out;
    }
    if (q->range && e->type != FW_PQ_SCALAR && e->type != FW_PQ_VECTOR) {
        msg = fw_asprintf("invalid expression type \"%s\" for range query, must be Scalar or "
                          "instant Vector",
                          e->type == FW_PQ_MATRIX ? "range vector" : "string");
        *http_status = 400;
        body = tsdb_api_error_json("bad_data", msg);
        goto out;
    }
    int64_t timeout = q->timeout_ms > 0 ? q->timeout_ms : TSDB_API_DEFAULT_TIMEOUT_MS;
    struct tsdb_eval_limit limit = {fw_time_mono_ms() + timeout, q->cancel};
    struct tsdb_eval_result r;
    int rc = q->range ? tsdb_eval_range(self->store, e, q->start_ms, q->end_ms, q->step_ms, &limit,
                                        &r, &err)
                      : tsdb_eval_instant(self->store, e, q->time_ms, &limit, &r, &err);
    if (rc == 0) {
        char *data = tsdb_api_result_json(&r);
        body = s_success(data);
        free(data);
        tsdb_eval_result_clear(&r);
        *http_status = 200;
    } else if (rc == FW_ETIMEOUT) {
        *http_status = 503;
        body = tsdb_api_error_json("timeout", "query timed out in expression evaluation");
    } else if (rc == FW_ESTORE) {
        *http_status = 500;
        fw_warn("tsdb.query.fail", "query=%s err=%s", text, err.msg);
        body = tsdb_api_error_json("internal", err.msg);
    } else {
        *http_status = 422;
        body = tsdb_api_error_json("execution", err.msg);
    }
out:
    fw_promql_expr_destroy(&e);
    free(msg);
    return body;
}

// ---------------------------------------------------------------------------------------
// HTTP routes

static void
s_respond_json(struct fw_http_response *resp, int status, char *body)
{
    resp->status = status;
    resp->body = body; // fw_http frees it
    resp->body_len = 0;
    resp->content_type = "application/json";
}

static int s_bad(struct fw_http_response *resp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
s_bad(struct fw_http_response *resp, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s_respond_json(resp, 400, tsdb_api_error_json("bad_data", msg));
    return 0;
}

// Prometheus's parseTime: RFC 3339 or float seconds. A value holding a NUL byte, or a
// number that is no int64 millisecond timestamp (NaN, Inf, -1e308), is refused with
// Prometheus's text where Prometheus itself would go on with a garbage time. wrap adds
// parseTimeParam's prefix, as /api/v1/query's time and the optional ranges have it.
// 0, or -1 after answering 400.
static int
s_parse_time(struct fw_http_response *resp, const char *name, const char *s, size_t len, bool wrap,
             int64_t *out)
{
    if (s && len == strlen(s) && fw_time_parse(s, out) == 0)
        return 0;
    char *quoted = s_go_quote(s ? s : "", s ? len : 0);
    if (wrap)
        s_bad(resp,
              "invalid parameter \"%s\": invalid time value for '%s': cannot parse %s to a valid "
              "timestamp",
              name, name, quoted);
    else
        s_bad(resp, "invalid parameter \"%s\": cannot parse %s to a valid timestamp", name, quoted);
    free(quoted);
    return -1;
}

// An optional time parameter; def when absent. 0, or -1 after answering 400.
static int
s_time_param(const fw_http_request_t *req, struct fw_http_response *resp, const char *name,
             int64_t def, int64_t *out)
{
    size_t len;
    const char *s = fw_http_arg_n(req, name, &len);
    if (!s || len == 0) {
        *out = def;
        return 0;
    }
    return s_parse_time(resp, name, s, len, true, out);
}

// Prometheus's parseDuration: float seconds or a Prometheus duration, into ms. 0, -1 when
// not a duration, -2 when the seconds overflow int64 nanoseconds as in Go.
static int
s_duration(const char *s, size_t len, int64_t *ms)
{
    if (len != strlen(s) || !*s || isspace((unsigned char)*s))
        return -1;
    char *end;
    double d = strtod(s, &end);
    if (*end == '\0') {
        if (isnan(d))
            return -1;
        if (d * 1e9 >= 9223372036854775808.0 || d * 1e9 < -9223372036854775808.0)
            return -2;
        *ms = (int64_t)llround(d * 1000.0);
        return 0;
    }
    return fw_duration_parse(s, ms);
}

// A duration parameter named name. 0, or -1 after answering 400.
static int
s_duration_param(struct fw_http_response *resp, const char *name, const char *s, size_t len,
                 int64_t *out)
{
    int rc = s_duration(s ? s : "", s ? len : 0, out);
    if (rc == 0)
        return 0;
    char *quoted = s_go_quote(s ? s : "", s ? len : 0);
    s_bad(resp, "invalid parameter \"%s\": cannot parse %s to a valid duration%s", name, quoted,
          rc == -2 ? ". It overflows int64" : "");
    free(quoted);
    return -1;
}

static int
s_timeout_param(const fw_http_request_t *req, struct fw_http_response *resp, int64_t *out)
{
    size_t len;
    const char *s = fw_http_arg_n(req, "timeout", &len);
    *out = 0;
    if (!s || len == 0)
        return 0;
    return s_duration_param(resp, "timeout", s, len, out);
}

static int
s_on_query(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    struct tsdb_api_query q = {0};
    q.query = fw_http_arg_n(req, "query", &q.query_len);
    if (s_time_param(req, resp, "time", fw_time_now_ms(), &q.time_ms) != 0 ||
        s_timeout_param(req, resp, &q.timeout_ms) != 0)
        return 0;
    int status;
    char *body = tsdb_api_query_json(self, &q, "query", &status);
    s_respond_json(resp, status, body);
    return 0;
}

static int
s_on_query_range(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    struct tsdb_api_query q = {.range = true};
    q.query = fw_http_arg_n(req, "query", &q.query_len);
    size_t start_len, end_len, step_len;
    const char *start = fw_http_arg_n(req, "start", &start_len);
    const char *end = fw_http_arg_n(req, "end", &end_len);
    const char *step = fw_http_arg_n(req, "step", &step_len);
    if (s_parse_time(resp, "start", start, start_len, false, &q.start_ms) != 0 ||
        s_parse_time(resp, "end", end, end_len, false, &q.end_ms) != 0)
        return 0;
    if (q.end_ms < q.start_ms)
        return s_bad(resp, "invalid parameter \"end\": end timestamp must not be before "
                           "start time");
    if (s_duration_param(resp, "step", step, step_len, &q.step_ms) != 0)
        return 0;
    if (q.step_ms <= 0)
        return s_bad(resp, "invalid parameter \"step\": zero or negative query resolution "
                           "step widths are not accepted. Try a positive integer");
    // end - start can exceed INT64_MAX (both ends are int64 ms): count in unsigned.
    if (((uint64_t)q.end_ms - (uint64_t)q.start_ms) / (uint64_t)q.step_ms > TSDB_API_MAX_POINTS)
        return s_bad(resp, "exceeded maximum resolution of 11,000 points per timeseries. Try "
                           "decreasing the query resolution (?step=XX)");
    if (s_timeout_param(req, resp, &q.timeout_ms) != 0)
        return 0;
    int status;
    char *body = tsdb_api_query_json(self, &q, "query_range", &status);
    s_respond_json(resp, status, body);
    return 0;
}

static void
s_put_str_array(struct tsdb_json *b, char **v, size_t n)
{
    tsdb_json_puts(b, "[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            tsdb_json_puts(b, ",");
        s_put_str(b, v[k]);
    }
    tsdb_json_puts(b, "]");
}

static void
s_strv_free(char **v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        free(v[k]);
    free(v);
}

static int
s_internal(struct fw_http_response *resp, const fw_err_t *err)
{
    fw_warn("tsdb.api.fail", "err=%s", err->msg);
    s_respond_json(resp, 500, tsdb_api_error_json("internal", err->msg));
    return 0;
}

static int
s_on_labels(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    fw_err_t err;
    (void)req;
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, &err);
    char **names;
    size_t n;
    if (!r || tsdb_store_label_names(r, &names, &n, &err) != 0) {
        tsdb_store_reader_destroy(&r);
        return s_internal(resp, &err);
    }
    tsdb_store_reader_destroy(&r);
    struct tsdb_json b = {0};
    tsdb_json_puts(&b, "{\"status\":\"success\",\"data\":");
    s_put_str_array(&b, names, n);
    tsdb_json_puts(&b, "}");
    s_strv_free(names, n);
    s_respond_json(resp, 200, b.p);
    return 0;
}

static int
s_on_label_values(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    const char *path = fw_http_path(req);
    const char *name = path + strlen("/api/v1/label/");
    const char *slash = strchr(name, '/');
    if (!slash || strcmp(slash, "/values") != 0) {
        resp->status = 404;
        resp->body = fw_strdup("404 page not found\n");
        return 0;
    }
    char *ln = fw_strndup(name, (size_t)(slash - name));
    if (!fw_label_name_valid(ln)) {
        s_bad(resp, "invalid label name: \"%s\"", ln);
        free(ln);
        return 0;
    }
    fw_err_t err;
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, &err);
    char **vals;
    size_t n;
    if (!r || tsdb_store_label_values(r, ln, &vals, &n, &err) != 0) {
        tsdb_store_reader_destroy(&r);
        free(ln);
        return s_internal(resp, &err);
    }
    tsdb_store_reader_destroy(&r);
    free(ln);
    struct tsdb_json b = {0};
    tsdb_json_puts(&b, "{\"status\":\"success\",\"data\":");
    s_put_str_array(&b, vals, n);
    tsdb_json_puts(&b, "}");
    s_strv_free(vals, n);
    s_respond_json(resp, 200, b.p);
    return 0;
}

static int
s_labels_cmp(const void *a, const void *b)
{
    return fw_labels_cmp(&((const struct tsdb_store_series *)a)->labels,
                         &((const struct tsdb_store_series *)b)->labels);
}

#define S_MAX_MATCH 64

static int
s_on_series(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    const char *match[S_MAX_MATCH];
    size_t match_len[S_MAX_MATCH];
    size_t n_match = fw_http_args_n(req, "match[]", match, match_len, S_MAX_MATCH);
    if (n_match == 0)
        return s_bad(resp, "no match[] parameter provided");
    if (n_match > S_MAX_MATCH)
        n_match = S_MAX_MATCH;
    for (size_t k = 0; k < n_match; k++) {
        // A %00 would cut the selector short: refuse it as the parser does for a query.
        size_t nul = strlen(match[k]);
        if (match_len[k] > nul)
            return s_bad(resp,
                         "invalid parameter \"match[]\": 1:%zu: parse error: unexpected "
                         "character: '\\x00'",
                         nul + 1);
    }
    int64_t ignored;
    if (s_time_param(req, resp, "start", 0, &ignored) != 0 ||
        s_time_param(req, resp, "end", 0, &ignored) != 0)
        return 0;
    fw_err_t err;
    struct tsdb_store_series *all = NULL;
    size_t n_all = 0, cap = 0;
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, &err);
    if (!r)
        return s_internal(resp, &err);
    for (size_t k = 0; k < n_match; k++) {
        fw_promql_expr_t *e = fw_promql_parse(match[k], &err);
        if (!e || e->kind != FW_PQ_SELECTOR || e->range_ms > 0) {
            if (e)
                fw_err_set(&err, "expected instant vector selector");
            fw_promql_expr_destroy(&e);
            tsdb_store_reader_destroy(&r);
            tsdb_store_series_free(all, n_all);
            return s_bad(resp, "invalid parameter \"match[]\": %s", err.msg);
        }
        struct tsdb_store_series *found;
        size_t n_found;
        int rc = tsdb_store_select(r, e->matchers, e->n_matchers, &found, &n_found, &err);
        fw_promql_expr_destroy(&e);
        if (rc != 0) {
            tsdb_store_reader_destroy(&r);
            tsdb_store_series_free(all, n_all);
            return s_internal(resp, &err);
        }
        fw_mem_grow((void **)&all, &cap, n_all + n_found + 1, sizeof(*all));
        memcpy(all + n_all, found, n_found * sizeof(*found));
        n_all += n_found;
        free(found); // the labels moved into all
    }
    tsdb_store_reader_destroy(&r);
    if (n_all > 1)
        qsort(all, n_all, sizeof(*all), s_labels_cmp);
    struct tsdb_json b = {0};
    tsdb_json_puts(&b, "{\"status\":\"success\",\"data\":[");
    bool first = true;
    for (size_t k = 0; k < n_all; k++) {
        if (k > 0 && fw_labels_cmp(&all[k].labels, &all[k - 1].labels) == 0)
            continue;
        if (!first)
            tsdb_json_puts(&b, ",");
        first = false;
        s_put_labels(&b, &all[k].labels);
    }
    tsdb_json_puts(&b, "]}");
    tsdb_store_series_free(all, n_all);
    s_respond_json(resp, 200, b.p);
    return 0;
}

static int
s_on_buildinfo(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    s_respond_json(resp, 200,
                   fw_strdup("{\"status\":\"success\",\"data\":{\"version\":\"2.42.0\","
                             "\"revision\":\"floorwatch\",\"branch\":\"floorwatch\","
                             "\"buildUser\":\"floorwatch\",\"buildDate\":\"20261127-00:00:00\","
                             "\"goVersion\":\"floorwatch-tsdb\"}}"));
    return 0;
}

static int
s_on_static(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    s_respond_json(resp, 200, fw_strdup(arg));
    return 0;
}

static int
s_on_config(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    (void)req;
    struct tsdb_json b = {0};
    tsdb_json_puts(&b, "{\"status\":\"success\",\"data\":{\"yaml\":");
    pthread_mutex_lock(&self->lock);
    s_put_str(&b, self->config_text ? self->config_text : "");
    pthread_mutex_unlock(&self->lock);
    tsdb_json_puts(&b, "}}");
    s_respond_json(resp, 200, b.p);
    return 0;
}

void
tsdb_api_routes(tsdb_api_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET,POST", "/api/v1/query", s_on_query, self);
    fw_http_route(http, "GET,POST", "/api/v1/query_range", s_on_query_range, self);
    fw_http_route(http, "GET,POST", "/api/v1/labels", s_on_labels, self);
    fw_http_route(http, "GET", "/api/v1/label/", s_on_label_values, self);
    fw_http_route(http, "GET,POST", "/api/v1/series", s_on_series, self);
    fw_http_route(http, "GET", "/api/v1/status/buildinfo", s_on_buildinfo, self);
    fw_http_route(http, "GET", "/api/v1/status/config", s_on_config, self);
    fw_http_route(http, "GET", "/api/v1/metadata", s_on_static,
                  (void *)"{\"status\":\"success\",\"data\":{}}");
    fw_http_route(http, "GET", "/api/v1/rules", s_on_static,
                  (void *)"{\"status\":\"success\",\"data\":{\"groups\":[]}}");
    fw_http_route(http, "GET", "/api/v1/alerts", s_on_static,
                  (void *)"{\"status\":\"success\",\"data\":{\"alerts\":[]}}");
}
