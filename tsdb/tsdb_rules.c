/*  tsdb_rules.c — /api/v1/rules and /api/v1/alerts from ruled (see tsdb_rules.h).
 */
#include "tsdb_rules.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "tsdb_fanout.h"

#define S_AGENT "floorwatch-tsdb/rules"

struct tsdb_rules {
    tsdb_fanout_t *peers; // owned
};

tsdb_rules_t *
tsdb_rules_new(const char *urls, int64_t timeout_ms, fw_err_t *err)
{
    tsdb_fanout_t *peers = tsdb_fanout_new(urls, "ruled.url", timeout_ms, err);
    if (!peers)
        return NULL;
    tsdb_rules_t *self = fw_calloc(1, sizeof(*self));
    self->peers = peers;
    return self;
}

void
tsdb_rules_destroy(tsdb_rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_fanout_destroy(&(*self_p)->peers);
    free(*self_p);
    *self_p = NULL;
}

char *
tsdb_rules_merge(const struct tsdb_rules_answer *answers, size_t n, const char *list, int *status)
{
    json_t *items = json_array(), *warnings = json_array();
    char *refusal = NULL; // the first 4xx error answer, passed on as it is
    for (size_t i = 0; i < n && !refusal; i++) {
        const struct tsdb_rules_answer *a = &answers[i];
        char why[512];
        snprintf(why, sizeof(why), "%s", a->error ? a->error : "");
        json_error_t jerr;
        json_t *root = !why[0] && a->body ? json_loads(a->body, 0, &jerr) : NULL;
        const char *st = json_string_value(json_object_get(root, "status"));
        json_t *got = json_object_get(json_object_get(root, "data"), list);
        if (!why[0] && a->status >= 400 && a->status < 500 && st && strcmp(st, "error") == 0) {
            refusal = fw_strdup(a->body);
            *status = (int)a->status;
        } else if (!why[0] &&
                   (a->status != 200 || !st || strcmp(st, "success") != 0 || !json_is_array(got))) {
            snprintf(why, sizeof(why), "HTTP status %ld: %.300s", a->status,
                     root ? (json_string_value(json_object_get(root, "error"))
                                 ? json_string_value(json_object_get(root, "error"))
                                 : "no data")
                          : "answer is not JSON");
        } else if (!why[0]) {
            json_array_extend(items, got);
        }
        if (why[0]) {
            char w[900];
            snprintf(w, sizeof(w), "ruled %s: %s", a->url, why);
            json_array_append_new(warnings, json_string(w));
            fw_warn("rules.ruled.down", "url=%s err=\"%s\"", a->url, why);
        }
        json_decref(root);
    }
    if (refusal) {
        json_decref(items);
        json_decref(warnings);
        return refusal;
    }
    json_t *data = json_object(); // set_new steals each value
    json_object_set_new(data, list, items);
    json_t *root = json_object();
    json_object_set_new(root, "status", json_string("success"));
    json_object_set_new(root, "data", data);
    if (json_array_size(warnings) > 0)
        json_object_set_new(root, "warnings", warnings);
    else
        json_decref(warnings);
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    *status = 200;
    if (!text) {
        *status = 500;
        return fw_strdup("{\"status\":\"error\",\"errorType\":\"internal\","
                         "\"error\":\"cannot encode the answer\"}");
    }
    return text;
}

static int
s_proxy(tsdb_rules_t *self, const fw_http_request_t *req, struct fw_http_response *resp,
        const char *path, const char *list)
{
    static const char *const args[] = {"type",        "rule_name[]",      "rule_group[]",
                                       "file[]",      "match[]",          "exclude_alerts",
                                       "group_limit", "group_next_token", NULL};
    char *pq = tsdb_fanout_path_query(req, path, args);
    struct tsdb_fanout_reply *replies =
        tsdb_fanout_ask(self->peers, pq, S_AGENT, fw_http_header(req, "Authorization"));
    size_t n = tsdb_fanout_count(self->peers);
    free(pq);
    struct tsdb_rules_answer *ans = fw_calloc(n + 1, sizeof(*ans));
    for (size_t i = 0; i < n; i++)
        ans[i] = (struct tsdb_rules_answer){tsdb_fanout_url(self->peers, i), replies[i].status,
                                            replies[i].body, replies[i].error};
    int status;
    resp->body = tsdb_rules_merge(ans, n, list, &status);
    resp->status = status;
    resp->content_type = "application/json";
    free(ans);
    tsdb_fanout_replies_free(replies, n);
    return 0;
}

static int
s_on_rules(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    return s_proxy(arg, req, resp, "/api/v1/rules", "groups");
}

static int
s_on_alerts(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    return s_proxy(arg, req, resp, "/api/v1/alerts", "alerts");
}

void
tsdb_rules_routes(tsdb_rules_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET,POST", "/api/v1/rules", s_on_rules, self);
    fw_http_route(http, "GET,POST", "/api/v1/alerts", s_on_alerts, self);
}
