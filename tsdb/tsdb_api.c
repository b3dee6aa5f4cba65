/*  tsdb_api.c — the Prometheus HTTP API v1 subset and its JSON (see tsdb_api.h).

    JSON is written by hand into a growing buffer rather than through jansson: the exact
    spelling matters (Go's float and timestamp formats, Go's HTML-safe string escaping,
    label order), and query answers can be large. Parameter parsing and error texts follow
    Prometheus's web/api/v1/api.go so clients that match on them keep working.
*/
#include "tsdb_api.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_flags.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_time.h"
#include "tsdb_api_int.h"
#include "fw_json_out.h"

// ---------------------------------------------------------------------------------------
// JSON

// A JSON string as Go's encoding/json writes it (HTML-safe).
void
tsdb_api_put_str(struct fw_json_out *b, const char *s)
{
    fw_json_out_str(b, s, FW_JSON_OUT_GO);
}

static void
s_put_point(struct fw_json_out *b, int64_t t, double v)
{
    fw_mem_grow((void **)&b->p, &b->cap, b->len + TSDB_API_FORMAT_POINT_MAX, 1);
    b->len += tsdb_api_format_point(t, v, b->p + b->len);
}

void
tsdb_api_put_labels(struct fw_json_out *b, const struct fw_labels *l)
{
    fw_json_out_puts(b, "{");
    for (size_t k = 0; k < l->len; k++) {
        if (k)
            fw_json_out_puts(b, ",");
        tsdb_api_put_str(b, l->items[k].name);
        fw_json_out_puts(b, ":");
        tsdb_api_put_str(b, l->items[k].value);
    }
    fw_json_out_puts(b, "}");
}

// The "data" of r into b. With consume, each series' labels and points are freed once
// written (tsdb_eval_result_clear frees the rest), so a large answer does not hold its
// series and its text at once.
static void
s_put_result(struct fw_json_out *b, struct tsdb_eval_result *r, bool consume)
{
    char tb[48];
    switch (r->type) {
    case FW_PQ_SCALAR:
        fw_json_out_puts(b, "{\"resultType\":\"scalar\",\"result\":");
        s_put_point(b, r->t_ms, r->scalar);
        fw_json_out_puts(b, "}");
        break;
    case FW_PQ_STRING:
        fw_json_out_puts(b, "{\"resultType\":\"string\",\"result\":[");
        fw_json_out_puts(b, tsdb_api_format_time(r->t_ms, tb, sizeof(tb)));
        fw_json_out_puts(b, ",");
        tsdb_api_put_str(b, r->str ? r->str : "");
        fw_json_out_puts(b, "]}");
        break;
    case FW_PQ_VECTOR:
    case FW_PQ_MATRIX: {
        bool vec = r->type == FW_PQ_VECTOR;
        fw_json_out_puts(b, vec ? "{\"resultType\":\"vector\",\"result\":["
                                : "{\"resultType\":\"matrix\",\"result\":[");
        for (size_t k = 0; k < r->len; k++) {
            struct tsdb_eval_series *s = &r->series[k];
            if (k)
                fw_json_out_puts(b, ",");
            fw_json_out_puts(b, "{\"metric\":");
            tsdb_api_put_labels(b, &s->labels);
            if (vec) {
                fw_json_out_puts(b, ",\"value\":");
                if (s->len > 0)
                    s_put_point(b, s->pts[0].t_ms, s->pts[0].v);
                else
                    s_put_point(b, r->t_ms, NAN);
            } else {
                fw_json_out_puts(b, ",\"values\":[");
                for (size_t j = 0; j < s->len; j++) {
                    if (j)
                        fw_json_out_puts(b, ",");
                    s_put_point(b, s->pts[j].t_ms, s->pts[j].v);
                }
                fw_json_out_puts(b, "]");
            }
            fw_json_out_puts(b, "}");
            if (consume) {
                tsdb_eval_series_clear_labels(s);
                free(s->pts);
                s->pts = NULL;
                s->len = s->cap = 0;
            }
        }
        fw_json_out_puts(b, "]}");
        break;
    }
    }
}

char *
tsdb_api_result_json(const struct tsdb_eval_result *r)
{
    struct fw_json_out b = {0};
    s_put_result(&b, (struct tsdb_eval_result *)r, false); // not consumed: r stays as it was
    return b.p;
}

char *
tsdb_api_error_json(const char *type, const char *msg)
{
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{\"status\":\"error\",\"errorType\":");
    tsdb_api_put_str(&b, type);
    fw_json_out_puts(&b, ",\"error\":");
    tsdb_api_put_str(&b, msg);
    fw_json_out_puts(&b, "}");
    return b.p;
}

char *
tsdb_api_success(const char *data, const char *const *warnings, size_t n)
{
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{\"status\":\"success\",\"data\":");
    fw_json_out_puts(&b, data);
    if (n > 0) {
        fw_json_out_puts(&b, ",\"warnings\":[");
        for (size_t k = 0; k < n; k++) {
            if (k)
                fw_json_out_puts(&b, ",");
            tsdb_api_put_str(&b, warnings[k]);
        }
        fw_json_out_puts(&b, "]");
    }
    fw_json_out_puts(&b, "}");
    return b.p;
}

// A query's success answer: r's data (each series freed once written), then
// "warnings" (warn, when not NULL, and the evaluation's) and "infos" when there are any
// (Prometheus omits empty ones), the evaluation's annotations worded with their positions
// in text.
static char *
s_success_annotated(struct tsdb_eval_result *r, const struct tsdb_api_querylog_entry *stats,
                    const char *const *warns, size_t n_warns, const char *text)
{
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{\"status\":\"success\",\"data\":");
    s_put_result(&b, r, true);
    if (stats) {
        b.len--; // the data object's closing brace
        fw_json_out_puts(&b, ",\"stats\":");
        tsdb_api_querylog_put_stats(&b, stats);
        fw_json_out_puts(&b, "}");
    }
    for (int info = 0; info < 2; info++) {
        bool any = false;
        for (size_t k = 0; !info && k < n_warns; k++) {
            fw_json_out_puts(&b, any ? "," : ",\"warnings\":[");
            tsdb_api_put_str(&b, warns[k]);
            any = true;
        }
        for (size_t k = 0; k < r->n_annos; k++) {
            if (r->annos[k].info != (info == 1))
                continue;
            fw_json_out_puts(&b, any ? "," : info ? ",\"infos\":[" : ",\"warnings\":[");
            any = true;
            char *msg = tsdb_eval_anno_text(&r->annos[k], text);
            tsdb_api_put_str(&b, msg);
            free(msg);
        }
        if (any)
            fw_json_out_puts(&b, "]");
    }
    fw_json_out_puts(&b, "}");
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
    self->start_ms = fw_time_now_ms();
    pthread_mutex_init(&self->lock, NULL);
    self->qlog = tsdb_api_querylog_new();
    tsdb_api_set_limits(self, NULL);
    if (metrics) {
        fw_metrics_declare(metrics, "fw_tsdb_rollup_buckets_read_total", FW_METRIC_COUNTER,
                           "Stored rollup buckets queries read instead of raw samples.");
        fw_metrics_add(metrics, "fw_tsdb_rollup_buckets_read_total", "", 0);
        fw_metrics_declare(metrics, "fw_tsdb_queries_total", FW_METRIC_COUNTER,
                           "Queries evaluated, by API (query, query_range, zmq).");
        fw_metrics_declare(metrics, "fw_tsdb_queries_limited_total", FW_METRIC_COUNTER,
                           "Queries failed by a limit (limit: timeout, queue_timeout, "
                           "max_samples).");
    }
    return self;
}

void
tsdb_api_set_limits(tsdb_api_t *self, const struct tsdb_api_limits *limits)
{
    struct tsdb_api_limits l = limits ? *limits : (struct tsdb_api_limits){0};
    if (l.timeout_ms <= 0)
        l.timeout_ms = TSDB_API_DEFAULT_TIMEOUT_MS;
    if (!limits || l.max_samples < 0)
        l.max_samples = TSDB_API_DEFAULT_MAX_SAMPLES;
    if (l.max_concurrency <= 0)
        l.max_concurrency = TSDB_API_DEFAULT_MAX_CONCURRENCY;
    self->limits = l;
    tsdb_gate_destroy(&self->gate);
    self->gate = tsdb_gate_new(l.max_concurrency);
}

int
tsdb_api_set_features(tsdb_api_t *self, const struct fw_flag_list *features, fw_err_t *err)
{
    static const char *const always_on[] = {
        "promql-experimental-functions", "promql-duration-expr", "promql-extended-range-selectors",
        "promql-binop-fill-modifiers",   "st-storage",           "use-start-timestamps"};
    for (size_t k = 0; features && k < features->n; k++) {
        const char *p = features->items[k];
        while (p) {
            const char *comma = strchr(p, ',');
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            bool known = len == 0;
            if (len == strlen("promql-delayed-name-removal") &&
                strncmp(p, "promql-delayed-name-removal", len) == 0) {
                self->delay_names = known = true;
                fw_info("tsdb.feature", "option=promql-delayed-name-removal");
            }
            for (size_t j = 0; j < sizeof(always_on) / sizeof(*always_on); j++)
                known |= strlen(always_on[j]) == len && strncmp(p, always_on[j], len) == 0;
            if (!known) {
                fw_err_set(err, "--enable-feature: option \"%.*s\" not supported", (int)len, p);
                return -1;
            }
            p = comma ? comma + 1 : NULL;
        }
    }
    return 0;
}

int
tsdb_api_set_query_log(tsdb_api_t *self, const char *path, fw_err_t *err)
{
    return tsdb_api_querylog_open(self->qlog, path, err);
}

void
tsdb_api_destroy(tsdb_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_api_t *self = *self_p;
    pthread_mutex_destroy(&self->lock);
    tsdb_gate_destroy(&self->gate);
    tsdb_api_querylog_destroy(&self->qlog);
    free(self->config_text);
    free(self->flags_json);
    free(self->retention);
    free(self);
    *self_p = NULL;
}

void
tsdb_api_set_config_text(tsdb_api_t *self, const char *yaml)
{
    pthread_mutex_lock(&self->lock);
    free(self->config_text);
    self->config_text = fw_strdup(yaml ? yaml : "");
    self->reload_ok = true;
    self->last_reload_ms = fw_time_now_ms();
    pthread_mutex_unlock(&self->lock);
}

void
tsdb_api_set_reload_failed(tsdb_api_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->reload_ok = false;
    pthread_mutex_unlock(&self->lock);
}

void
tsdb_api_set_info(tsdb_api_t *self, const char *flags_json, const char *retention)
{
    pthread_mutex_lock(&self->lock);
    free(self->flags_json);
    free(self->retention);
    self->flags_json = fw_strdup(flags_json ? flags_json : "{}");
    self->retention = fw_strdup(retention ? retention : "");
    pthread_mutex_unlock(&self->lock);
}

char *
tsdb_api_parse_error(const char *query, const fw_err_t *err)
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
    return fw_asprintf("%d:%d: parse error: %s", line, col, err->msg);
}

static int64_t
s_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
s_count_limit(tsdb_api_t *self, const char *limit)
{
    if (!self->metrics)
        return;
    char lbl[64];
    snprintf(lbl, sizeof(lbl), "limit=\"%s\"", limit);
    fw_metrics_add(self->metrics, "fw_tsdb_queries_limited_total", lbl, 1);
}

char *
tsdb_api_query_json(tsdb_api_t *self, const struct tsdb_api_query *q, const char *api,
                    int *http_status)
{
    fw_err_t err;
    int64_t t_start = s_mono_us(), t_in = 0;
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
        char *pos = tsdb_api_parse_error(text, &err);
        msg = fw_asprintf("invalid parameter \"query\": %s", pos);
        free(pos);
        *http_status = 400;
        body = tsdb_api_error_json("bad_data", msg);
        goto out;
    }
    e = fw_promql_parse(text, &err);
    if (!e) {
        char *pos = tsdb_api_parse_error(text, &err);
        msg = fw_asprintf("invalid parameter \"query\": %s", pos);
        free(pos);
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
    // A timeout parameter of 0 or less has passed already (timeout_ms -1), as Prometheus's
    // context deadline has; a shorter one than --query.timeout wins.
    int64_t timeout = self->limits.timeout_ms;
    if (q->timeout_ms < 0)
        timeout = -1;
    else if (q->timeout_ms > 0 && q->timeout_ms < timeout)
        timeout = q->timeout_ms;
    int64_t deadline = fw_time_mono_ms() + timeout, t_parsed = s_mono_us();
    struct tsdb_eval_stats stats = {0};
    struct tsdb_eval_result r;
    int rc;
    if (tsdb_gate_enter(self->gate, deadline, q->cancel) != 0) {
        // Prometheus 2's text and code (Prometheus 3 answers 422 "context deadline exceeded")
        rc = FW_ETIMEOUT;
        fw_err_set(&err, "query timed out in query queue");
        s_count_limit(self, "queue_timeout");
    } else {
        // --query.max-samples=0: as in Prometheus, no sample at all
        int64_t max_samples =
            self->limits.max_samples ? self->limits.max_samples : TSDB_EVAL_NO_SAMPLES;
        // the answer's stats and the query log count samples as Prometheus does; the
        // answer's exactly (raw samples: Prometheus has no rollups), the log's unless
        // rollups answered part of the query
        bool want_stats = q->stats && *q->stats;
        struct tsdb_eval_limit limit = {
            .deadline_mono_ms = deadline,
            .cancel = q->cancel,
            .max_samples = max_samples,
            .stats = &stats,
            .delay_names = self->delay_names,
            .no_rollups = self->limits.no_rollups || q->no_rollups || want_stats,
            .sample_stats = want_stats || tsdb_api_querylog_enabled(self->qlog)};
        t_in = s_mono_us();
        rc = q->range ? tsdb_eval_range(self->store, e, q->start_ms, q->end_ms, q->step_ms, &limit,
                                        &r, &err)
                      : tsdb_eval_instant(self->store, e, q->time_ms, &limit, &r, &err);
        tsdb_gate_leave(self->gate);
        if (stats.rollup_buckets > 0 && self->metrics)
            fw_metrics_add(self->metrics, "fw_tsdb_rollup_buckets_read_total", "",
                           (double)stats.rollup_buckets);
        if (rc == FW_ETIMEOUT) {
            fw_err_set(&err, "query timed out in expression evaluation");
            s_count_limit(self, "timeout");
        } else if (rc == -1 && strcmp(err.msg, TSDB_EVAL_TOO_MANY_SAMPLES) == 0) {
            s_count_limit(self, "max_samples");
        }
    }
    int64_t now = s_mono_us();
    const struct tsdb_api_querylog_entry le = {
        .query = text,
        .range = q->range,
        .start_ms = q->range ? q->start_ms : q->time_ms,
        .end_ms = q->range ? q->end_ms : q->time_ms,
        .step_ms = q->step_ms,
        .error = rc == 0 ? NULL : err.msg,
        .stats = stats,
        .queue_us = (t_in ? t_in : now) - t_parsed,
        .prepare_us = t_parsed - t_start,
        .eval_us = t_in ? now - t_in : 0,
        .total_us = now - t_start,
        .client_ip = q->client_ip,
        .method = q->method,
        .path = q->path,
    };
    if (tsdb_api_querylog_enabled(self->qlog))
        tsdb_api_querylog_write(self->qlog, &le);
    if (rc == 0) {
        const char *warns[2];
        size_t n_warns = 0;
        if (q->limit > 0 && (r.type == FW_PQ_VECTOR || r.type == FW_PQ_MATRIX) &&
            r.len > q->limit) {
            // Prometheus 3 (truncateResults): the first `limit` series, and a warning.
            for (size_t k = q->limit; k < r.len; k++) {
                tsdb_eval_series_clear_labels(&r.series[k]);
                free(r.series[k].pts);
            }
            r.len = q->limit;
            warns[n_warns++] = "results truncated due to limit";
        }
        char *stats_warn = NULL;
        if (q->stats && *q->stats && strcmp(q->stats, "true") != 0 &&
            strcmp(q->stats, "all") != 0) {
            // Prometheus 3's DefaultStatsRenderer: any value shows the stats ("all" adds
            // per-step ones only with a feature flag), and values other than "true" and
            // "all" are warned about.
            char *quoted = fw_promql_quote(q->stats, strlen(q->stats));
            stats_warn = fw_asprintf("value %s for parameter \"stats\" is deprecated and will be "
                                     "rejected in the next major release, use \"true\" or "
                                     "\"all\"",
                                     quoted);
            free(quoted);
            warns[n_warns++] = stats_warn;
        }
        body = s_success_annotated(&r, q->stats && *q->stats ? &le : NULL, warns, n_warns, text);
        free(stats_warn);
        tsdb_eval_result_clear(&r);
        *http_status = 200;
    } else if (rc == FW_ETIMEOUT) {
        *http_status = 503;
        body = tsdb_api_error_json("timeout", err.msg);
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

void
tsdb_api_respond(struct fw_http_response *resp, int status, char *body)
{
    resp->status = status;
    resp->body = body; // fw_http frees it
    resp->body_len = 0;
    resp->content_type = "application/json";
}

int
tsdb_api_bad(struct fw_http_response *resp, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tsdb_api_respond(resp, 400, tsdb_api_error_json("bad_data", msg));
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
    char *quoted = fw_promql_quote(s ? s : "", s ? len : 0);
    if (wrap)
        tsdb_api_bad(
            resp,
            "invalid parameter \"%s\": invalid time value for '%s': cannot parse %s to a valid "
            "timestamp",
            name, name, quoted);
    else
        tsdb_api_bad(resp, "invalid parameter \"%s\": cannot parse %s to a valid timestamp", name,
                     quoted);
    free(quoted);
    return -1;
}

int
tsdb_api_time_param(const fw_http_request_t *req, struct fw_http_response *resp, const char *name,
                    int64_t def, int64_t *out, bool *given)
{
    size_t len;
    const char *s = fw_http_arg_n(req, name, &len);
    if (given)
        *given = s && len > 0;
    if (!s || len == 0) {
        *out = def;
        return 0;
    }
    return s_parse_time(resp, name, s, len, true, out);
}

int
tsdb_api_limit_param(const fw_http_request_t *req, struct fw_http_response *resp, size_t *out)
{
    size_t len;
    const char *s = fw_http_arg_n(req, "limit", &len);
    *out = 0;
    if (!s || len == 0)
        return 0;
    // Go's strconv.Atoi: an optional sign and decimal digits, nothing else, within int64.
    const char *p = s + (*s == '+' || *s == '-');
    bool digits = *p != '\0' && len == strlen(s);
    for (const char *c = p; digits && *c; c++)
        digits = *c >= '0' && *c <= '9';
    char *quoted = fw_promql_quote(s, len);
    errno = 0;
    long long v = digits ? strtoll(s, NULL, 10) : 0;
    if (!digits || errno == ERANGE) {
        tsdb_api_bad(resp, "invalid parameter \"limit\": strconv.Atoi: parsing %s: %s", quoted,
                     digits ? "value out of range" : "invalid syntax");
        free(quoted);
        return -1;
    }
    free(quoted);
    if (v < 0)
        return tsdb_api_bad(resp, "invalid parameter \"limit\": limit must be non-negative"), -1;
    *out = (size_t)v;
    return 0;
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
    char *quoted = fw_promql_quote(s ? s : "", s ? len : 0);
    tsdb_api_bad(resp, "invalid parameter \"%s\": cannot parse %s to a valid duration%s", name,
                 quoted, rc == -2 ? ". It overflows int64" : "");
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
    if (s_duration_param(resp, "timeout", s, len, out) != 0)
        return -1;
    // A timeout of 0 or less (or under a millisecond) has passed already, as Prometheus's
    // context deadline has: the query times out instead of running without one.
    if (*out <= 0)
        *out = -1;
    return 0;
}

// rollups=false (or 0): the floorwatch extension that makes a query read raw samples only,
// e.g. to compare; true (1) or absent: rollups answer where they are exact.
static int
s_rollups_param(const fw_http_request_t *req, struct fw_http_response *resp, bool *no_rollups)
{
    const char *s = fw_http_arg(req, "rollups");
    *no_rollups = false;
    if (!s || strcmp(s, "true") == 0 || strcmp(s, "1") == 0)
        return 0;
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *no_rollups = true;
        return 0;
    }
    tsdb_api_bad(resp, "invalid parameter \"rollups\": not true or false");
    return -1;
}

static int
s_on_query(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    struct tsdb_api_query q = {0};
    q.query = fw_http_arg_n(req, "query", &q.query_len);
    q.stats = fw_http_arg(req, "stats");
    if (tsdb_api_limit_param(req, resp, &q.limit) != 0 ||
        s_rollups_param(req, resp, &q.no_rollups) != 0 ||
        tsdb_api_time_param(req, resp, "time", fw_time_now_ms(), &q.time_ms, NULL) != 0 ||
        s_timeout_param(req, resp, &q.timeout_ms) != 0)
        return 0;
    char ip[64];
    q.client_ip = fw_http_client_ip(req, ip, sizeof(ip));
    q.method = fw_http_method(req);
    q.path = fw_http_path(req);
    int status;
    char *body = tsdb_api_query_json(self, &q, "query", &status);
    tsdb_api_respond(resp, status, body);
    return 0;
}

static int
s_on_query_range(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    struct tsdb_api_query q = {.range = true};
    q.query = fw_http_arg_n(req, "query", &q.query_len);
    q.stats = fw_http_arg(req, "stats");
    size_t start_len, end_len, step_len;
    const char *start = fw_http_arg_n(req, "start", &start_len);
    const char *end = fw_http_arg_n(req, "end", &end_len);
    const char *step = fw_http_arg_n(req, "step", &step_len);
    if (tsdb_api_limit_param(req, resp, &q.limit) != 0 ||
        s_rollups_param(req, resp, &q.no_rollups) != 0)
        return 0;
    if (s_parse_time(resp, "start", start, start_len, false, &q.start_ms) != 0 ||
        s_parse_time(resp, "end", end, end_len, false, &q.end_ms) != 0)
        return 0;
    if (q.end_ms < q.start_ms)
        return tsdb_api_bad(resp, "invalid parameter \"end\": end timestamp must not be before "
                                  "start time");
    if (s_duration_param(resp, "step", step, step_len, &q.step_ms) != 0)
        return 0;
    if (q.step_ms <= 0)
        return tsdb_api_bad(resp, "invalid parameter \"step\": zero or negative query resolution "
                                  "step widths are not accepted. Try a positive integer");
    // end - start can exceed INT64_MAX (both ends are int64 ms): count in unsigned.
    if (((uint64_t)q.end_ms - (uint64_t)q.start_ms) / (uint64_t)q.step_ms > TSDB_API_MAX_POINTS)
        return tsdb_api_bad(resp,
                            "exceeded maximum resolution of 11,000 points per timeseries. Try "
                            "decreasing the query resolution (?step=XX)");
    if (s_timeout_param(req, resp, &q.timeout_ms) != 0)
        return 0;
    char ip[64];
    q.client_ip = fw_http_client_ip(req, ip, sizeof(ip));
    q.method = fw_http_method(req);
    q.path = fw_http_path(req);
    int status;
    char *body = tsdb_api_query_json(self, &q, "query_range", &status);
    tsdb_api_respond(resp, status, body);
    return 0;
}

void
tsdb_api_put_str_array(struct fw_json_out *b, char **v, size_t n)
{
    fw_json_out_puts(b, "[");
    for (size_t k = 0; k < n; k++) {
        if (k)
            fw_json_out_puts(b, ",");
        tsdb_api_put_str(b, v[k]);
    }
    fw_json_out_puts(b, "]");
}

int
tsdb_api_internal(struct fw_http_response *resp, const fw_err_t *err)
{
    fw_warn("tsdb.api.fail", "err=%s", err->msg);
    tsdb_api_respond(resp, 500, tsdb_api_error_json("internal", err->msg));
    return 0;
}

void
tsdb_api_routes(tsdb_api_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET,POST", "/api/v1/query", s_on_query, self);
    fw_http_route(http, "GET,POST", "/api/v1/query_range", s_on_query_range, self);
    tsdb_api_labels_routes(self, http);
    tsdb_api_status_routes(self, http);
}
