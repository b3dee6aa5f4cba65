/*  tsdb_targets.c — the target API on tsdb, asked of the scrapers over HTTP (tsdb_targets.h).

    Design: each request runs on its own libmicrohttpd thread and asks every scraper at once
    through one curl multi handle, each transfer bounded in time (--scraper.timeout) and in
    size (S_MAX_BODY); nothing is cached or shared between requests but the URL list, which
    never changes after start.
*/
#include "tsdb_targets.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"

#define S_MAX_SCRAPERS 64
#define S_MAX_BODY (64u << 20) // bytes of one scraper's answer

struct tsdb_targets {
    char **urls; // owned: base URLs without a trailing '/'
    size_t n_urls;
    int64_t timeout_ms;
};

// One scraper's transfer.
struct s_req {
    CURL *h;
    char *url;  // owned: the full URL asked
    char *body; // owned
    size_t len, cap;
    bool too_big;
    long status;
    char error[CURL_ERROR_SIZE + 64];
};

tsdb_targets_t *
tsdb_targets_new(const char *urls, int64_t timeout_ms, fw_err_t *err)
{
    tsdb_targets_t *self = fw_calloc(1, sizeof(*self));
    self->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
    self->urls = fw_calloc(S_MAX_SCRAPERS, sizeof(*self->urls));
    for (const char *p = urls ? urls : ""; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n > 0 && (*p == ' ' || *p == '\t')) // trim blanks around the entry
            p++, n--;
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        char *u = fw_strndup(p, n);
        p += n;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == ',')
            p++;
        if (!*u) {
            free(u);
            continue;
        }
        char *full = strstr(u, "://") ? fw_strdup(u) : fw_asprintf("http://%s", u);
        char *host = strstr(full, "://") + 3;
        size_t len = strlen(full);
        while (len > (size_t)(host - full) && full[len - 1] == '/')
            full[--len] = '\0';
        bool bad = strpbrk(full, " \t\r\n") != NULL || !*host ||
                   (strncmp(full, "http://", 7) != 0 && strncmp(full, "https://", 8) != 0);
        if (bad || self->n_urls == S_MAX_SCRAPERS) {
            fw_err_set(err, "--scraper.url: \"%s\" %s", u,
                       bad ? "is not an http:// or https:// base URL"
                           : "is one scraper too many (at most 64)");
            free(u);
            free(full);
            tsdb_targets_destroy(&self);
            return NULL;
        }
        free(u);
        self->urls[self->n_urls++] = full;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT); // before any thread uses curl
    return self;
}

void
tsdb_targets_destroy(tsdb_targets_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_targets_t *self = *self_p;
    for (size_t i = 0; i < self->n_urls; i++)
        free(self->urls[i]);
    free(self->urls);
    free(self);
    *self_p = NULL;
}

// ---------------------------------------------------------------------------------------
//  Asking the scrapers

static size_t
s_on_data(char *data, size_t size, size_t nmemb, void *arg)
{
    struct s_req *r = arg;
    size_t n = size * nmemb;
    if (r->len + n > S_MAX_BODY) {
        r->too_big = true;
        return 0; // curl ends the transfer with CURLE_WRITE_ERROR
    }
    fw_mem_grow((void **)&r->body, &r->cap, r->len + n + 1, 1);
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

// path plus the arguments of req named in args (NULL-terminated), URL-encoded.
static char *
s_path_query(const fw_http_request_t *req, const char *path, const char *const *args)
{
    char *out = fw_strdup(path);
    char sep = '?';
    for (size_t i = 0; args[i]; i++) {
        const char *v = fw_http_arg(req, args[i]);
        if (!v)
            continue;
        char *esc = curl_easy_escape(NULL, v, 0);
        char *next = fw_asprintf("%s%c%s=%s", out, sep, args[i], esc ? esc : "");
        curl_free(esc);
        free(out);
        out = next;
        sep = '&';
    }
    return out;
}

// Ask every scraper for path_query at once; reqs[i] gets scraper i's answer.
static void
s_ask(const tsdb_targets_t *self, const char *path_query, struct s_req *reqs)
{
    CURLM *m = curl_multi_init();
    for (size_t i = 0; i < self->n_urls; i++) {
        struct s_req *r = &reqs[i];
        r->url = fw_asprintf("%s%s", self->urls[i], path_query);
        r->h = curl_easy_init();
        if (!r->h || !m) {
            snprintf(r->error, sizeof(r->error), "cannot start an HTTP request");
            continue;
        }
        curl_easy_setopt(r->h, CURLOPT_URL, r->url);
        curl_easy_setopt(r->h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, (long)self->timeout_ms);
        curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT_MS, (long)self->timeout_ms);
        curl_easy_setopt(r->h, CURLOPT_WRITEFUNCTION, s_on_data);
        curl_easy_setopt(r->h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(r->h, CURLOPT_PRIVATE, r);
        curl_easy_setopt(r->h, CURLOPT_ERRORBUFFER, r->error);
        curl_easy_setopt(r->h, CURLOPT_USERAGENT, "floorwatch-tsdb/targets");
        r->error[0] = '\0';
        curl_multi_add_handle(m, r->h);
    }
    int running = 1;
    // Each transfer ends by its own timeout; the deadline only guards against a stuck curl.
    int64_t deadline = fw_time_mono_ms() + self->timeout_ms + 1000;
    while (m && running && fw_time_mono_ms() < deadline) {
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    CURLMsg *msg;
    int left;
    while (m && (msg = curl_multi_info_read(m, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        struct s_req *r = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &r->status);
        CURLcode rc = msg->data.result;
        if (r->too_big)
            snprintf(r->error, sizeof(r->error), "answer larger than %u bytes", S_MAX_BODY);
        else if (rc != CURLE_OK && !r->error[0])
            snprintf(r->error, sizeof(r->error), "%s", curl_easy_strerror(rc));
        else if (rc == CURLE_OK)
            r->error[0] = '\0';
    }
    for (size_t i = 0; i < self->n_urls; i++) {
        struct s_req *r = &reqs[i];
        if (!r->h)
            continue;
        if (!r->error[0] && r->status == 0)
            snprintf(r->error, sizeof(r->error), "no answer within %lld ms",
                     (long long)self->timeout_ms);
        if (m)
            curl_multi_remove_handle(m, r->h);
        curl_easy_cleanup(r->h);
        r->h = NULL;
    }
    curl_multi_cleanup(m);
}

static void
s_reqs_free(struct s_req *reqs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(reqs[i].url);
        free(reqs[i].body);
    }
    free(reqs);
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
    char *pq = s_path_query(req, "/api/v1/targets", args);
    struct s_req *reqs = fw_calloc(self->n_urls + 1, sizeof(*reqs));
    s_ask(self, pq, reqs);
    free(pq);
    struct tsdb_targets_answer *ans = fw_calloc(self->n_urls + 1, sizeof(*ans));
    for (size_t i = 0; i < self->n_urls; i++) {
        struct s_req *r = &reqs[i];
        if (!r->error[0] && r->status != 200)
            snprintf(r->error, sizeof(r->error), "HTTP status %ld", r->status);
        ans[i] = (struct tsdb_targets_answer){self->urls[i], r->body, r->error};
        if (r->error[0])
            fw_warn("targets.scraper.down", "url=%s err=\"%s\"", r->url, r->error);
    }
    s_respond(resp, 200, tsdb_targets_merge(ans, self->n_urls, show_dropped));
    free(ans);
    s_reqs_free(reqs, self->n_urls);
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
    char *pq = s_path_query(req, "/api/v1/targets/relabel_steps", args);
    struct s_req *reqs = fw_calloc(self->n_urls + 1, sizeof(*reqs));
    s_ask(self, pq, reqs);
    free(pq);
    ssize_t ok = -1, refused = -1;
    char why[1024] = "";
    size_t w = 0;
    for (size_t i = 0; i < self->n_urls; i++) {
        struct s_req *r = &reqs[i];
        if (!r->error[0] && r->status == 200 && r->body && ok < 0)
            ok = (ssize_t)i;
        else if (!r->error[0] && r->status >= 400 && r->status < 500 && r->body && refused < 0)
            refused = (ssize_t)i;
        else if (w < sizeof(why))
            w += (size_t)snprintf(why + w, sizeof(why) - w, "%s%s: %s", w ? "; " : "",
                                  self->urls[i], r->error[0] ? r->error : "unexpected answer");
    }
    if (ok >= 0 || refused >= 0) {
        struct s_req *r = &reqs[ok >= 0 ? ok : refused];
        s_respond(resp, (int)r->status, r->body);
        r->body = NULL; // moved into the response
    } else {
        char msg[1200];
        snprintf(msg, sizeof(msg), "no scraper answered%s%s", w ? ": " : " (no --scraper.url)",
                 why);
        s_respond(resp, 503, s_error_json("unavailable", msg));
    }
    s_reqs_free(reqs, self->n_urls);
    return 0;
}

void
tsdb_targets_routes(tsdb_targets_t *self, fw_http_t *http)
{
    fw_http_route(http, "GET", "/api/v1/targets", s_on_targets, self);
    fw_http_route(http, "GET", "/api/v1/targets/relabel_steps", s_on_relabel_steps, self);
}
