/*  tsdb_api_status.c — /api/v1/status/{buildinfo,config,flags,runtimeinfo,tsdb} and
    /api/v1/format_query, shaped as Prometheus 3's (web/api/v1/api.go, web/web.go).

    status/tsdb walks the postings once (tsdb_store_postings_walk: each name=value pair
    with its number of series) and keeps the top `limit` of each list as Prometheus's
    maxHeap does (ties in any order). Floorwatch has no two-hour head block: the "head" it
    describes is every stored series, chunkCount the open chunks in memory, minTime and
    maxTime the first and last samples of the stored series. memoryInBytesByLabelName
    uses Prometheus 3's label size (stringlabels: varint length and bytes of name and value,
    per series). Everything here runs on the HTTP thread; what the loop thread sets (config
    text, reload outcome) is read under the API's mutex.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_promql.h"
#include "fw_promql_ast.h"
#include "fw_time.h"
#include "tsdb_api_int.h"

#define S_TSDB_LIMIT_DEFAULT 10
#define S_TSDB_LIMIT_MAX 10000

static int
s_on_buildinfo(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    (void)arg;
    tsdb_api_respond(resp, 200,
                     fw_strdup("{\"status\":\"success\",\"data\":{\"version\":\"2.42.0\","
                               "\"revision\":\"floorwatch\",\"branch\":\"floorwatch\","
                               "\"buildUser\":\"floorwatch\",\"buildDate\":\"20261127-00:00:00\","
                               "\"goVersion\":\"floorwatch-tsdb\"}}"));
    return 0;
}

static int
s_on_config(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    (void)req;
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{\"status\":\"success\",\"data\":{\"yaml\":");
    pthread_mutex_lock(&self->lock);
    tsdb_api_put_str(&b, self->config_text ? self->config_text : "");
    pthread_mutex_unlock(&self->lock);
    fw_json_out_puts(&b, "}}");
    tsdb_api_respond(resp, 200, b.p);
    return 0;
}

static int
s_on_flags(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    (void)req;
    pthread_mutex_lock(&self->lock);
    char *body = tsdb_api_success(self->flags_json ? self->flags_json : "{}", NULL, 0);
    pthread_mutex_unlock(&self->lock);
    tsdb_api_respond(resp, 200, body);
    return 0;
}

// Go's time.Time in JSON: RFC 3339 with the fraction's trailing zeros dropped.
static void
s_put_time(struct fw_json_out *b, int64_t ms)
{
    char buf[64];
    fw_time_rfc3339(ms, buf, sizeof(buf));
    char *dot = strchr(buf, '.');
    if (dot) {
        char *z = strchr(dot, 'Z'), *e = z;
        while (e > dot + 1 && e[-1] == '0')
            e--;
        if (e == dot + 1)
            e = dot;
        memmove(e, z, strlen(z) + 1);
    }
    fw_json_out_puts(b, "\"");
    fw_json_out_puts(b, buf);
    fw_json_out_puts(b, "\"");
}

// Threads of this process (Prometheus shows goroutines), from /proc; 0 when unknown.
static long
s_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long n = 0;
    while (f && fgets(line, sizeof(line), f))
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

static int
s_on_runtimeinfo(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    (void)req;
    char cwd[PATH_MAX], host[256];
    if (!getcwd(cwd, sizeof(cwd)))
        cwd[0] = '\0';
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    struct tsdb_store_counters c;
    tsdb_store_counters(self->store, &c);
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{\"startTime\":");
    s_put_time(&b, self->start_ms);
    fw_json_out_puts(&b, ",\"CWD\":");
    tsdb_api_put_str(&b, cwd);
    fw_json_out_puts(&b, ",\"hostname\":");
    tsdb_api_put_str(&b, host);
    fw_json_out_puts(&b, ",\"serverTime\":");
    s_put_time(&b, fw_time_now_ms());
    pthread_mutex_lock(&self->lock);
    fw_json_out_puts(&b, self->reload_ok ? ",\"reloadConfigSuccess\":true,\"lastConfigTime\":"
                                         : ",\"reloadConfigSuccess\":false,\"lastConfigTime\":");
    s_put_time(&b, self->last_reload_ms / 1000 * 1000); // whole seconds, as Prometheus
    char tail[256];
    snprintf(tail, sizeof(tail),
             ",\"corruptionCount\":%llu,\"goroutineCount\":%ld,\"GOMAXPROCS\":%ld,"
             "\"GOMEMLIMIT\":9223372036854775807,\"GOGC\":\"\",\"GODEBUG\":\"\","
             "\"storageRetention\":",
             (unsigned long long)c.damaged_chunks, s_threads(), sysconf(_SC_NPROCESSORS_ONLN));
    fw_json_out_puts(&b, tail);
    tsdb_api_put_str(&b, self->retention ? self->retention : "");
    pthread_mutex_unlock(&self->lock);
    fw_json_out_puts(&b, "}");
    tsdb_api_respond(resp, 200, tsdb_api_success(b.p, NULL, 0));
    free(b.p);
    return 0;
}

// ---------------------------------------------------------------------------------------
// status/tsdb

struct s_stat {
    char *name; // owned
    uint64_t count;
};

// The `limit` largest counts seen, as Prometheus's maxHeap (index/postingsstats.go).
struct s_top {
    struct s_stat *items; // owned
    size_t n, limit, min_index;
    uint64_t min_value;
};

static void
s_top_push(struct s_top *t, const char *name, size_t name_len, uint64_t count)
{
    if (t->n < t->limit) {
        if (t->n == 0 || count < t->min_value) {
            t->min_value = count;
            t->min_index = t->n;
        }
        t->items[t->n++] = (struct s_stat){fw_strndup(name, name_len), count};
        return;
    }
    if (count < t->min_value)
        return;
    free(t->items[t->min_index].name);
    t->items[t->min_index] = (struct s_stat){fw_strndup(name, name_len), count};
    t->min_value = count;
    for (size_t k = 0; k < t->n; k++)
        if (t->items[k].count < t->min_value) {
            t->min_value = t->items[k].count;
            t->min_index = k;
        }
}

static int
s_stat_cmp(const void *a, const void *b)
{
    const struct s_stat *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name); // Prometheus leaves ties in any order; ours are stable
}

// Write t as a JSON list, largest first, and free it.
static void
s_top_put(struct fw_json_out *b, struct s_top *t)
{
    qsort(t->items, t->n, sizeof(*t->items), s_stat_cmp);
    fw_json_out_puts(b, "[");
    for (size_t k = 0; k < t->n; k++) {
        char num[32];
        fw_json_out_puts(b, k ? ",{\"name\":" : "{\"name\":");
        tsdb_api_put_str(b, t->items[k].name);
        snprintf(num, sizeof(num), ",\"value\":%llu}", (unsigned long long)t->items[k].count);
        fw_json_out_puts(b, num);
        free(t->items[k].name);
    }
    fw_json_out_puts(b, "]");
    free(t->items);
    t->items = NULL;
}

struct s_walk {
    struct s_top metrics, names, bytes, pairs;
    char *cur; // owned: the label name whose values are being walked
    size_t cur_len;
    uint64_t cur_values, cur_bytes, label_pairs;
};

static size_t
s_varint_size(size_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void
s_walk_flush(struct s_walk *w)
{
    if (!w->cur)
        return;
    s_top_push(&w->names, w->cur, w->cur_len, w->cur_values);
    s_top_push(&w->bytes, w->cur, w->cur_len, w->cur_bytes);
    free(w->cur);
    w->cur = NULL;
}

static int
s_walk_pair(const char *name, size_t nl, const char *value, size_t vl, size_t series, void *arg)
{
    struct s_walk *w = arg;
    if (!w->cur || w->cur_len != nl || memcmp(w->cur, name, nl) != 0) {
        s_walk_flush(w);
        w->cur = fw_strndup(name, nl);
        w->cur_len = nl;
        w->cur_values = w->cur_bytes = 0;
    }
    w->cur_values++;
    w->label_pairs++;
    w->cur_bytes += (s_varint_size(nl) + nl + s_varint_size(vl) + vl) * series;
    if (nl == 8 && memcmp(name, "__name__", 8) == 0)
        s_top_push(&w->metrics, value, vl, series);
    char *pair = fw_asprintf("%.*s=%.*s", (int)nl, name, (int)vl, value);
    s_top_push(&w->pairs, pair, strlen(pair), series);
    free(pair);
    return 0;
}

// The first and last sample times of every stored series (INT64_MAX and INT64_MIN when
// none), each series' chunks read as far as its last sample.
static int
s_time_bounds(tsdb_store_reader_t *r, int64_t *mint, int64_t *maxt, fw_err_t *err)
{
    *mint = INT64_MAX;
    *maxt = INT64_MIN;
    struct fw_matcher any = {0};
    uint64_t *ids = NULL;
    size_t n = 0;
    if (fw_matcher_init(&any, FW_MATCH_RE, "__name__", ".+", FW_REGEX_PROMETHEUS, err) != 0)
        return -1;
    int rc = tsdb_store_select_ids(r, &any, 1, &ids, &n, err);
    fw_matcher_clear(&any);
    for (size_t k = 0; rc == 0 && k < n; k++) {
        struct tsdb_store_iter it;
        tsdb_store_iter_init(&it, r, ids[k], INT64_MIN, INT64_MAX);
        if (!tsdb_store_iter_next(&it))
            continue;
        if (it.t < *mint)
            *mint = it.t;
        // Chunks before the newest time seen so far are skipped by their headers.
        if (it.t <= *maxt && !tsdb_store_iter_seek(&it, *maxt + 1))
            continue;
        int64_t last = it.t;
        while (tsdb_store_iter_next(&it))
            last = it.t;
        if (last > *maxt)
            *maxt = last;
    }
    free(ids);
    return rc;
}

static int
s_on_tsdb(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_api_t *self = arg;
    size_t limit = S_TSDB_LIMIT_DEFAULT;
    const char *ls = fw_http_arg(req, "limit");
    if (ls && *ls) {
        char *end;
        long long v = strtoll(ls, &end, 10);
        if (*end || v < 1)
            return tsdb_api_bad(resp, "limit must be a positive number");
        if (v > S_TSDB_LIMIT_MAX)
            return tsdb_api_bad(resp, "limit must not exceed %d", S_TSDB_LIMIT_MAX);
        limit = (size_t)v;
    }
    struct s_walk w = {0};
    struct s_top *tops[] = {&w.metrics, &w.names, &w.bytes, &w.pairs};
    for (size_t k = 0; k < 4; k++)
        *tops[k] = (struct s_top){fw_calloc(limit, sizeof(struct s_stat)), 0, limit, 0, 0};
    fw_err_t err;
    int64_t mint = INT64_MAX, maxt = INT64_MIN;
    tsdb_store_reader_t *r = tsdb_store_reader_new(self->store, &err);
    int rc = r ? tsdb_store_postings_walk(r, s_walk_pair, &w, &err) : -1;
    s_walk_flush(&w);
    if (rc == 0)
        rc = s_time_bounds(r, &mint, &maxt, &err);
    tsdb_store_reader_destroy(&r);
    ssize_t series = tsdb_store_series_count(self->store);
    struct fw_json_out b = {0};
    char head[256];
    snprintf(head, sizeof(head),
             "{\"headStats\":{\"numSeries\":%lld,\"numLabelPairs\":%llu,\"chunkCount\":%zu,"
             "\"minTime\":%lld,\"maxTime\":%lld},\"seriesCountByMetricName\":",
             (long long)(series < 0 ? 0 : series), (unsigned long long)w.label_pairs,
             tsdb_store_head_series(self->store), (long long)mint, (long long)maxt);
    fw_json_out_puts(&b, head);
    s_top_put(&b, &w.metrics);
    fw_json_out_puts(&b, ",\"labelValueCountByLabelName\":");
    s_top_put(&b, &w.names);
    fw_json_out_puts(&b, ",\"memoryInBytesByLabelName\":");
    s_top_put(&b, &w.bytes);
    fw_json_out_puts(&b, ",\"seriesCountByLabelValuePair\":");
    s_top_put(&b, &w.pairs);
    fw_json_out_puts(&b, "}");
    if (rc != 0) {
        free(b.p);
        return tsdb_api_internal(resp, &err);
    }
    tsdb_api_respond(resp, 200, tsdb_api_success(b.p, NULL, 0));
    free(b.p);
    return 0;
}

// ---------------------------------------------------------------------------------------
// format_query

static int
s_on_format_query(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)arg;
    size_t len;
    const char *q = fw_http_arg_n(req, "query", &len);
    fw_err_t err;
    if (!q)
        q = "";
    fw_promql_expr_t *e = NULL;
    if (len > strlen(q))
        fw_err_set_at(&err, "query", 1, (int)strlen(q) + 1, "unexpected character: '\\x00'");
    else
        e = fw_promql_parse(q, &err);
    if (!e) {
        char *pos = tsdb_api_parse_error(q, &err);
        char *msg = fw_asprintf("invalid parameter \"query\": %s", pos);
        free(pos);
        tsdb_api_respond(resp, 400, tsdb_api_error_json("bad_data", msg));
        free(msg);
        return 0;
    }
    char *text = fw_promql_pretty(e);
    fw_promql_expr_destroy(&e);
    struct fw_json_out b = {0};
    tsdb_api_put_str(&b, text);
    free(text);
    tsdb_api_respond(resp, 200, tsdb_api_success(b.p, NULL, 0));
    free(b.p);
    return 0;
}

void
tsdb_api_status_routes(tsdb_api_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET", "/api/v1/status/buildinfo", s_on_buildinfo, self);
    fw_http_route(http, "GET", "/api/v1/status/config", s_on_config, self);
    fw_http_route(http, "GET", "/api/v1/status/flags", s_on_flags, self);
    fw_http_route(http, "GET", "/api/v1/status/runtimeinfo", s_on_runtimeinfo, self);
    fw_http_route(http, "GET", "/api/v1/status/tsdb", s_on_tsdb, self);
    fw_http_route(http, "GET,POST", "/api/v1/format_query", s_on_format_query, self);
}
