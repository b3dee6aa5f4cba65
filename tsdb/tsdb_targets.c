/*  tsdb_targets.c — the target API on tsdb, asked of the scrapers over HTTP (tsdb_targets.h).

    Design: each request asks every scraper at once through tsdb_fanout (on the HTTP
    thread, each transfer bounded in time by --scraper.timeout and in size); nothing is
    cached or shared between requests but the URL list, which never changes after start.
*/
#include "tsdb_targets.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_fanout.h"

#define S_AGENT "floorwatch-tsdb/targets"

struct tsdb_targets {
    tsdb_fanout_t *peers; // owned
};

tsdb_targets_t *
tsdb_targets_new(const char *urls, int64_t timeout_ms, fw_err_t *err)
{
    tsdb_fanout_t *peers = tsdb_fanout_new(urls, "scraper.url", timeout_ms, err);
    if (!peers)
        return NULL;
    tsdb_targets_t *self = fw_calloc(1, sizeof(*self));
    self->peers = peers;
    return self;
}

void
tsdb_targets_destroy(tsdb_targets_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_fanout_destroy(&(*self_p)->peers);
    free(*self_p);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------------------
//  Merging

struct s_item {
    json_t *v; // borrowed
    size_t order;
};

static int
s_item_cmp(const void *a, const void *b)
{
    const struct s_item *x = a, *y = b;
    const char *px = json_string_value(json_object_get(x->v, "scrapePool"));
    const char *py = json_string_value(json_object_get(y->v, "scrapePool"));
    int c = strcmp(px ? px : "", py ? py : "");
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

// A new array of list's items sorted by scrapePool, stable.
static json_t *
s_sorted(json_t *list)
{
    size_t n = json_array_size(list);
    struct s_item *items = fw_calloc(n + 1, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i] = (struct s_item){json_array_get(list, i), i};
    qsort(items, n, sizeof(*items), s_item_cmp);
    json_t *out = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append(out, items[i].v); // takes its own reference
    free(items);
    return out;
}

static void
s_extend(json_t *dst, json_t *src)
{
    if (json_is_array(src))
        json_array_extend(dst, src);
}

char *
tsdb_targets_merge(const struct tsdb_targets_answer *answers, size_t n, bool show_dropped)
{
    json_t *active = json_array(), *dropped = json_array(), *scrapers = json_array();
    json_t *warnings = json_array();
    json_t *counts = show_dropped ? json_object() : json_null();
    for (size_t i = 0; i < n; i++) {
        char why[512];
        snprintf(why, sizeof(why), "%s", answers[i].error ? answers[i].error : "");
        json_t *root = NULL, *data = NULL;
        if (!why[0]) {
            json_error_t jerr;
            root = answers[i].body ? json_loads(answers[i].body, 0, &jerr) : NULL;
            data = json_object_get(root, "data");
            const char *st = json_string_value(json_object_get(root, "status"));
            if (!root)
                snprintf(why, sizeof(why), "answer is not JSON: %s",
                         answers[i].body ? jerr.text : "empty");
            else if (!st || strcmp(st, "success") != 0 || !json_is_object(data))
                snprintf(why, sizeof(why), "answer is not a success: %.400s",
                         json_string_value(json_object_get(root, "error"))
                             ? json_string_value(json_object_get(root, "error"))
                             : "no data");
        }
        json_t *entry = json_object(); // set_new steals each value
        json_object_set_new(entry, "url", json_string(answers[i].url));
        json_object_set_new(entry, "health", json_string(why[0] ? "down" : "up"));
        json_object_set_new(entry, "lastError", json_string(why));
        if (why[0]) {
            char w[768];
            snprintf(w, sizeof(w), "scraper %s: %s", answers[i].url, why);
            json_array_append_new(warnings, json_string(w));
        } else {
            s_extend(active, json_object_get(data, "activeTargets"));
            s_extend(dropped, json_object_get(data, "droppedTargets"));
            json_t *c = json_object_get(data, "droppedTargetCounts");
            const char *pool;
            json_t *v;
            if (show_dropped && json_is_object(c))
                json_object_foreach(c, pool, v)
                {
                    json_int_t sum = json_integer_value(json_object_get(counts, pool));
                    json_object_set_new(counts, pool, json_integer(sum + json_integer_value(v)));
                }
            json_t *shard = json_object_get(data, "shard");
            if (shard)
                json_object_set(entry, "shard", shard); // takes its own reference
        }
        json_array_append_new(scrapers, entry);
        json_decref(root);
    }
    json_t *data = json_object(); // set_new steals each value
    json_object_set_new(data, "activeTargets", s_sorted(active));
    json_object_set_new(data, "droppedTargets", s_sorted(dropped));
    json_object_set_new(data, "droppedTargetCounts", counts);
    json_object_set_new(data, "scrapers", scrapers);
    json_decref(active);
    json_decref(dropped);
    json_t *root = json_object();
    json_object_set_new(root, "status", json_string("success"));
    json_object_set_new(root, "data", data);
    if (json_array_size(warnings) > 0)
        json_object_set_new(root, "warnings", warnings);
    else
        json_decref(warnings);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text ? text
                : fw_strdup("{\"status\":\"error\",\"errorType\":\"internal\","
                            "\"error\":\"cannot encode the answer\"}");
}

// ---------------------------------------------------------------------------------------
//  Routes

static void
s_respond(struct fw_http_response *resp, int status, char *body)
{
    resp->status = status;
    resp->body = body;
    resp->content_type = "application/json";
}

static int
s_on_targets(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_targets_t *self = arg;
    static const char *const args[] = {"state", "scrapePool", NULL};
    const char *state = fw_http_arg(req, "state");
    bool show_dropped =
        !state || !*state || strcasecmp(state, "any") == 0 || strcasecmp(state, "dropped") == 0;
    char *pq = tsdb_fanout_path_query(req, "/api/v1/targets", args);
    struct tsdb_fanout_reply *reqs =
        tsdb_fanout_ask(self->peers, pq, S_AGENT, fw_http_header(req, "Authorization"));
    size_t n = tsdb_fanout_count(self->peers);
    free(pq);
    struct tsdb_targets_answer *ans = fw_calloc(n + 1, sizeof(*ans));
    for (size_t i = 0; i < n; i++) {
        struct tsdb_fanout_reply *r = &reqs[i];
        if (!r->error[0] && r->status != 200)
            snprintf(r->error, sizeof(r->error), "HTTP status %ld", r->status);
        ans[i] = (struct tsdb_targets_answer){tsdb_fanout_url(self->peers, i), r->body, r->error};
        if (r->error[0])
            fw_warn("targets.scraper.down", "url=%s err=\"%s\"", r->url, r->error);
    }
    s_respond(resp, 200, tsdb_targets_merge(ans, n, show_dropped));
    free(ans);
    tsdb_fanout_replies_free(reqs, n);
    return 0;
}

static char *
s_error_json(const char *type, const char *msg)
{
    json_t *root = json_object(); // set_new steals each value
    json_object_set_new(root, "status", json_string("error"));
    json_object_set_new(root, "errorType", json_string(type));
    json_object_set_new(root, "error", json_string(msg));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return text ? text : fw_strdup("{\"status\":\"error\"}");
}

static int
s_on_relabel_steps(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    tsdb_targets_t *self = arg;
    static const char *const args[] = {"scrapePool", "labels", NULL};
    char *pq = tsdb_fanout_path_query(req, "/api/v1/targets/relabel_steps", args);
    struct tsdb_fanout_reply *reqs =
        tsdb_fanout_ask(self->peers, pq, S_AGENT, fw_http_header(req, "Authorization"));
    size_t n = tsdb_fanout_count(self->peers);
    free(pq);
    ssize_t ok = -1, refused = -1;
    char why[1024] = "";
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        struct tsdb_fanout_reply *r = &reqs[i];
        if (!r->error[0] && r->status == 200 && r->body && ok < 0)
            ok = (ssize_t)i;
        else if (!r->error[0] && r->status >= 400 && r->status < 500 && r->body && refused < 0)
            refused = (ssize_t)i;
        else if (w < sizeof(why))
            w += (size_t)snprintf(why + w, sizeof(why) - w, "%s%s: %s", w ? "; " : "",
                                  tsdb_fanout_url(self->peers, i),
                                  r->error[0] ? r->error : "unexpected answer");
    }
    if (ok >= 0 || refused >= 0) {
        struct tsdb_fanout_reply *r = &reqs[ok >= 0 ? ok : refused];
        s_respond(resp, (int)r->status, r->body);
        r->body = NULL; // moved into the response
    } else {
        char msg[1200];
        snprintf(msg, sizeof(msg), "no scraper answered%s%s", w ? ": " : " (no --scraper.url)",
                 why);
        s_respond(resp, 503, s_error_json("unavailable", msg));
    }
    tsdb_fanout_replies_free(reqs, n);
    return 0;
}

void
tsdb_targets_routes(tsdb_targets_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET", "/api/v1/targets", s_on_targets, self);
    fw_http_route(http, "GET", "/api/v1/targets/relabel_steps", s_on_relabel_steps, self);
}
