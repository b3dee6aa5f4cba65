/*  tsdb_exemplars_api.c — EXEMPLARS into the ring, /api/v1/query_exemplars out of it (see
    tsdb_exemplars_api.h).
*/
#include "tsdb_exemplars_api.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_labels.h"
#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_time.h"
#include "tsdb_api.h"

// Most selectors of one query used as matcher sets.
#define S_MAX_SETS 256

// A JSON object of string values into l (cleared first): 0, or -1 (not such an object, an
// invalid label name or value).
static int
s_labels(const json_t *o, struct fw_labels *l)
{
    fw_labels_clear(l);
    if (!json_is_object(o))
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        if (!json_is_string(v) || !fw_label_name_valid(k))
            return -1;
        if (json_string_length(v) > 0)
            fw_labels_set(l, k, json_string_value(v));
    }
    return fw_labels_validate(l, NULL) == 0 ? 0 : -1;
}

ssize_t
tsdb_exemplars_ingest(tsdb_exemplars_t *x, const json_t *body, size_t *dropped, fw_err_t *err)
{
    *dropped = 0;
    const json_t *arr = json_object_get(body, "exemplars");
    if (!json_is_array(arr)) {
        fw_err_set(err, "exemplars: not an array");
        return -1;
    }
    struct fw_labels series = FW_LABELS_INIT, ex = FW_LABELS_INIT;
    ssize_t added = 0;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e)
    {
        const json_t *jv = json_object_get(e, "value");
        const json_t *jt = json_object_get(e, "timestamp");
        double v;
        char *end = NULL;
        if (!json_is_object(e) || json_object_size(e) != 4 ||
            s_labels(json_object_get(e, "series"), &series) != 0 || series.len == 0 ||
            s_labels(json_object_get(e, "labels"), &ex) != 0 || !json_is_string(jv) ||
            !json_is_integer(jt) ||
            ((v = strtod(json_string_value(jv), &end)),
             !end || *end != '\0' || end == json_string_value(jv))) {
            fw_err_set(err, "exemplars[%zu]: expected {series, labels, value, timestamp}", i);
            added = -1;
            break;
        }
        int rc = tsdb_exemplars_add(x, &series, &ex, v, (int64_t)json_integer_value(jt));
        if (rc == TSDB_EXEMPLARS_ADDED)
            added++;
        else if (rc != TSDB_EXEMPLARS_DUPLICATE)
            (*dropped)++;
    }
    fw_labels_clear(&series);
    fw_labels_clear(&ex);
    return added;
}

// ---------------------------------------------------------------------------------------
//  GET/POST /api/v1/query_exemplars

static int
s_answer(struct fw_http_response *resp, int status, char *body)
{
    resp->status = status;
    resp->body = body; // fw_http frees it
    resp->body_len = 0;
    resp->content_type = "application/json";
    return 0;
}

static int
s_bad(struct fw_http_response *resp, const char *msg)
{
    return s_answer(resp, 400, tsdb_api_error_json("bad_data", msg));
}

// Prometheus's parseTimeParam with a default. 0, or -1 after answering 400.
static int
s_time(const fw_http_request_t *req, struct fw_http_response *resp, const char *name, int64_t def,
       int64_t *out)
{
    size_t len;
    const char *s = fw_http_arg_n(req, name, &len);
    if (!s || len == 0) {
        *out = def;
        return 0;
    }
    if (len == strlen(s) && fw_time_parse(s, out) == 0)
        return 0;
    char msg[400];
    snprintf(msg, sizeof(msg),
             "invalid parameter \"%s\": invalid time value for '%s': cannot parse \"%.200s\" to "
             "a valid timestamp",
             name, name, s);
    s_bad(resp, msg);
    return -1;
}

// Every selector of e (parser.ExtractSelectors), in the order written.
static void
s_selectors(const fw_promql_expr_t *e, struct tsdb_exemplars_sel *sets, size_t *n)
{
    if (!e)
        return;
    if (e->kind == FW_PQ_SELECTOR && *n < S_MAX_SETS) {
        sets[*n].matchers = e->matchers;
        sets[(*n)++].n_matchers = e->n_matchers;
    }
    s_selectors(e->param, sets, n);
    for (size_t i = 0; i < e->n_args; i++)
        s_selectors(e->args[i], sets, n);
}

static int
s_on_query_exemplars(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_exemplars_t *x = arg;
    int64_t start, end;
    if (s_time(req, resp, "start", INT64_MIN, &start) != 0 ||
        s_time(req, resp, "end", INT64_MAX, &end) != 0)
        return 0;
    if (end < start)
        return s_bad(resp, "end timestamp must not be before start timestamp");
    size_t qlen;
    const char *q = fw_http_arg_n(req, "query", &qlen);
    if (!q)
        q = "";
    if (qlen > strlen(q))
        return s_bad(resp, "1:1: parse error: unexpected character: '\\x00'");
    fw_err_t err = {0};
    fw_promql_expr_t *e = fw_promql_parse(q, &err);
    if (!e)
        return s_bad(resp, err.msg);
    struct tsdb_exemplars_sel *sets = fw_malloc(S_MAX_SETS * sizeof(*sets));
    size_t n = 0;
    s_selectors(e, sets, &n);
    char *data = n ? tsdb_exemplars_select_json(x, sets, n, start, end) : NULL;
    free(sets);
    fw_promql_expr_destroy(&e);
    if (!data) { // no selector: Prometheus answers no data, 204 No Content
        resp->status = 204;
        resp->body = NULL;
        return 0;
    }
    size_t len = strlen(data) + 40;
    char *body = fw_malloc(len);
    snprintf(body, len, "{\"status\":\"success\",\"data\":%s}", data);
    free(data);
    return s_answer(resp, 200, body);
}

void
tsdb_exemplars_routes(tsdb_exemplars_t *x, fw_http_t *http)
{
    fw_http_route(http, "GET,POST", "/api/v1/query_exemplars", s_on_query_exemplars, x);
}
