/*  scraper_sd_kube.c — the kubernetes_sd_configs provider actor (see the header).

    Design: one thread, one CURLM. Each (resource, namespace) pair is a watcher, a small
    state machine: IDLE (until retry_at) -> LIST -> WATCH -> WATCH ... and back to IDLE on a
    failure or a resync. The actor waits in curl_multi_poll() on curl's sockets plus the
    pipe's ZMQ_FD (edge-triggered, so the pipe is also checked with zsock_events() after
    every wake and at least once a second). Watch bodies are split into lines as they
    arrive and each event is applied at once; the changed group keys collect in `dirty`,
    and one update goes out per wake.
*/
#include "scraper_sd_kube.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_metrics.h"
#include "fw_time.h"
#include "fw_tlsfiles.h"
#include "scraper_sd.h"
#include "scraper_sd_kube_api.h"
#include "scraper_sd_kube_cache.h"
#include "scraper_sd_kube_list.h"
#include "scraper_sd_kube_role.h"

typedef enum { S_IDLE, S_LIST, S_WATCH } s_state_t;

typedef struct s_actor s_actor_t;

typedef struct {
    s_actor_t *owner;
    scraper_kube_kind_t kind;
    char *ns;       // owned; "" for all namespaces (and for nodes)
    char *selector; // owned; "&labelSelector=...&fieldSelector=..." escaped, or ""
    s_state_t state;
    CURL *easy;                 // owned while a request runs
    struct curl_slist *headers; // owned while a request runs
    char *buf;                  // owned: the list page's body, or the watch's partial line
    size_t len, cap;
    struct scraper_sd_kube_list list; // owned: the list being paged
    char *rv;                         // owned: resourceVersion to watch from
    bool synced, relist, failed;
    bool fresh; // the next request opens a new connection (its watch ended for new TLS files)
    uint64_t tls_gen[FW_TLSFILES_N]; // the TLS files' generations the request was set up with
    char why[256];
    int64_t retry_at, backoff_ms, resync_at;
    int64_t start_us; // monotonic, when the request started
    char errbuf[CURL_ERROR_SIZE];
} s_watch_t;

struct s_actor {
    zsock_t *pipe; // borrowed
    char *job;     // owned
    fw_kube_role_t role;
    struct fw_kube_attach_metadata attach;
    fw_metrics_t *metrics; // borrowed: outlives the actor
    struct scraper_sd_kube_api api;
    CURLM *multi;
    s_watch_t *w; // owned
    size_t n_w;
    struct scraper_sd_kube_cache cache;
    zhashx_t *dirty; // keys of primary objects to rebuild: the role's work queue
    bool all_dirty, stopped, term;
    int64_t tls_checked_at; // monotonic ms: the last look at the TLS files for the watches
    char queue[64];         // 'queue_name="<role>"'
    double depth_shown;     // what this actor has added to the shared depth gauge
};

static const char *const s_kind_role[SCRAPER_KUBE_KINDS] = {
    "pod", "service", "endpoints", "endpointslice", "node", "ingress", "namespace"};
static const char *const s_kind_path[SCRAPER_KUBE_KINDS][2] = {
    {"/api/v1", "pods"},      {"/api/v1", "services"},
    {"/api/v1", "endpoints"}, {"/apis/discovery.k8s.io/v1", "endpointslices"},
    {"/api/v1", "nodes"},     {"/apis/networking.k8s.io/v1", "ingresses"},
    {"/api/v1", "namespaces"}};

// prometheus_sd_kubernetes_events_total{event, role}: Prometheus counts what its informers
// hand over (list items as adds, then watch events) for the role's own objects, the
// Services of endpoints and endpointslice, and Pod updates of endpoints; not the nodes and
// namespaces watched for attach_metadata.
static void
s_count(s_actor_t *self, scraper_kube_kind_t kind, const char *event, double n)
{
    fw_kube_role_t r = self->role;
    bool endpoints = r == FW_KUBE_ROLE_ENDPOINTS || r == FW_KUBE_ROLE_ENDPOINTSLICE;
    bool counted =
        kind == scraper_sd_kube_role_kind(r) || (kind == SCRAPER_KUBE_SERVICES && endpoints) ||
        (kind == SCRAPER_KUBE_PODS && r == FW_KUBE_ROLE_ENDPOINTS && strcmp(event, "update") == 0);
    if (!counted || n == 0)
        return;
    char labels[64];
    snprintf(labels, sizeof(labels), "event=\"%s\",role=\"%s\"", event, s_kind_role[kind]);
    fw_metrics_add(self->metrics, "prometheus_sd_kubernetes_events_total", labels, n);
}

// Queue the group of key for a rebuild. client-go's workqueue counts an item only when it
// is not queued already; so does this.
static void
s_enqueue(s_actor_t *self, const char *key)
{
    if (zhashx_lookup(self->dirty, key))
        return;
    zhashx_insert(self->dirty, key, (void *)1);
    fw_metrics_add(self->metrics, "prometheus_sd_kubernetes_workqueue_items_total", self->queue, 1);
}

// The depth gauge is shared by every provider of the role (client-go's are global by queue
// name, so Prometheus's sum them too): each actor adds the change of its own depth.
static void
s_show_depth(s_actor_t *self)
{
    zhashx_t *prim = self->cache.objs[scraper_sd_kube_role_kind(self->role)];
    double depth = (double)(self->all_dirty ? zhashx_size(prim) : zhashx_size(self->dirty));
    if (depth != self->depth_shown)
        fw_metrics_add(self->metrics, "prometheus_sd_kubernetes_workqueue_depth", self->queue,
                       depth - self->depth_shown);
    self->depth_shown = depth;
}

// ---------------------------------------------------------------------------------------
//  Groups

static void
s_mark_ns(s_actor_t *self, const char *ns)
{
    zhashx_t *prim = self->cache.objs[scraper_sd_kube_role_kind(self->role)];
    size_t n = strlen(ns);
    for (void *o = zhashx_first(prim); o; o = zhashx_next(prim)) {
        const char *k = zhashx_cursor(prim);
        if (strncmp(k, ns, n) == 0 && k[n] == '/')
            s_enqueue(self, k);
    }
}

// Node metadata changed: mark the groups of the objects on that node.
static void
s_mark_node(s_actor_t *self, const char *node)
{
    zhashx_t *prim = self->cache.objs[scraper_sd_kube_role_kind(self->role)];
    for (const json_t *o = zhashx_first(prim); o; o = zhashx_next(prim))
        if (scraper_sd_kube_role_on_node(self->role, o, node))
            s_enqueue(self, zhashx_cursor(prim));
}

// An object of kind changed (or went): mark the groups it shows in.
static void
s_mark(s_actor_t *self, scraper_kube_kind_t kind, const char *key, const char *ns)
{
    if (kind == scraper_sd_kube_role_kind(self->role)) {
        s_enqueue(self, key);
        return;
    }
    if (kind == SCRAPER_KUBE_NODES) { // attach_metadata.node
        s_mark_node(self, key);
        return;
    }
    if (kind == SCRAPER_KUBE_NAMESPACES) { // attach_metadata.namespace
        s_mark_ns(self, key);
        return;
    }
    // A Service or Pod that Endpoints/EndpointSlices of its namespace may point to.
    s_mark_ns(self, ns);
    if (kind == SCRAPER_KUBE_SERVICES && self->role == FW_KUBE_ROLE_ENDPOINTS)
        s_enqueue(self, key); // the same-named Endpoints, even if gone
}

static bool
s_all_synced(const s_actor_t *self)
{
    for (size_t i = 0; i < self->n_w; i++)
        if (!self->w[i].synced)
            return false;
    return true;
}

static void
s_flush(s_actor_t *self)
{
    if (self->stopped || !s_all_synced(self) || (!self->all_dirty && !zhashx_size(self->dirty)))
        return;
    scraper_kube_kind_t kind = scraper_sd_kube_role_kind(self->role);
    struct scraper_sd_update *u = scraper_sd_update_new(self->all_dirty);
    if (self->all_dirty) {
        zhashx_t *prim = self->cache.objs[kind];
        for (const json_t *o = zhashx_first(prim); o; o = zhashx_next(prim))
            scraper_sd_kube_role_group(self->role, zhashx_cursor(prim), o, &self->cache,
                                       &self->attach, u);
    } else {
        for (void *d = zhashx_first(self->dirty); d; d = zhashx_next(self->dirty)) {
            const char *key = zhashx_cursor(self->dirty);
            scraper_sd_kube_role_group(self->role, key,
                                       scraper_sd_kube_cache_get(&self->cache, kind, key),
                                       &self->cache, &self->attach, u);
        }
    }
    fw_debug("sd.kube.update", "job=%s role=%s groups=%zu full=%d", self->job,
             fw_kube_role_name(self->role), u->n_groups, u->full);
    self->all_dirty = false;
    zhashx_purge(self->dirty);
    scraper_sd_update_send(self->pipe, &u);
}

// ---------------------------------------------------------------------------------------
//  Events and lists

static const char *
s_rv_of(const json_t *obj)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));
}

static void
s_set_rv(s_watch_t *w, const char *rv)
{
    if (!rv)
        return;
    free(w->rv);
    w->rv = fw_strdup(rv);
}

static void
s_fail(s_watch_t *w, const char *what, const char *detail)
{
    w->failed = true;
    snprintf(w->why, sizeof(w->why), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
}

// Whether kind is watched only for the metadata it attaches (nodes of a role other than
// node, namespaces).
static bool
s_meta_only(const s_actor_t *self, scraper_kube_kind_t kind)
{
    return kind == SCRAPER_KUBE_NAMESPACES ||
           (kind == SCRAPER_KUBE_NODES && self->role != FW_KUBE_ROLE_NODE);
}

// Whether a and b have the same name, labels and annotations: all attached metadata shows
// (a node's status heartbeats then rebuild nothing).
static bool
s_same_meta(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return false;
    const json_t *ma = json_object_get(a, "metadata"), *mb = json_object_get(b, "metadata");
    static const char *const keys[] = {"name", "labels", "annotations"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *x = json_object_get(ma, keys[i]), *y = json_object_get(mb, keys[i]);
        if (!(x == y || (x && y && json_equal((json_t *)x, (json_t *)y))))
            return false;
    }
    return true;
}

// Apply one watch event line. false to end the watch (an ERROR event).
static bool
s_event(s_watch_t *w, const char *line, size_t len)
{
    s_actor_t *self = w->owner;
    json_error_t je;
    json_t *ev = json_loadb(line, len, 0, &je);
    if (!ev) {
        s_fail(w, "watch event is not JSON", je.text);
        return false;
    }
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    bool go_on = true;
    char key[512];
    if (!type || !json_is_object(obj)) {
        s_fail(w, "watch event without type or object", NULL);
        go_on = false;
    } else if (strcmp(type, "BOOKMARK") == 0) {
        s_set_rv(w, s_rv_of(obj));
    } else if (strcmp(type, "ERROR") == 0) {
        json_int_t code = json_integer_value(json_object_get(obj, "code"));
        if (code == 410) {
            w->relist = true; // Gone: our resourceVersion is too old
            fw_info("sd.kube.relist", "job=%s resource=%s namespace=%s reason=%s", self->job,
                    s_kind_path[w->kind][1], w->ns, "410 Gone");
        } else {
            s_fail(w, "watch ERROR event", json_string_value(json_object_get(obj, "message")));
        }
        go_on = false;
    } else if (!scraper_sd_kube_cache_key(obj, key, sizeof(key))) {
        s_fail(w, "watch event object without a name", NULL);
        go_on = false;
    } else {
        const char *ns =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "namespace"));
        bool changed = !s_meta_only(self, w->kind) ||
                       !s_same_meta(scraper_sd_kube_cache_get(&self->cache, w->kind, key), obj);
        if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
            s_count(self, w->kind, type[0] == 'A' ? "add" : "update", 1);
            scraper_sd_kube_cache_put(&self->cache, w->kind, obj);
        } else if (strcmp(type, "DELETED") == 0) {
            s_count(self, w->kind, "delete", 1);
            scraper_sd_kube_cache_del(&self->cache, w->kind, key);
            changed = true;
        } else {
            fw_debug("sd.kube.event.unknown", "job=%s type=%s", self->job, type);
        }
        if (changed)
            s_mark(self, w->kind, key, ns ? ns : "");
        s_set_rv(w, s_rv_of(obj));
    }
    json_decref(ev);
    return go_on;
}

// The list of w is complete: it replaces what the cache held of that resource and
// namespace. Counted as Prometheus's informers report a relist: known objects as updates,
// new ones as adds, the missing ones as deletes.
static void
s_list_done(s_watch_t *w)
{
    s_actor_t *self = w->owner;
    json_t *items = w->list.items;
    zhashx_t *objs = self->cache.objs[w->kind];
    size_t before = 0, known = 0, n = strlen(w->ns);
    for (void *o = zhashx_first(objs); o; o = zhashx_next(objs)) {
        const char *k = zhashx_cursor(objs);
        before += !n || (strncmp(k, w->ns, n) == 0 && k[n] == '/');
    }
    size_t i;
    json_t *o;
    char key[512];
    json_array_foreach(items, i, o)
    {
        if (scraper_sd_kube_cache_key(o, key, sizeof(key)) &&
            scraper_sd_kube_cache_get(&self->cache, w->kind, key))
            known++;
    }
    scraper_sd_kube_cache_purge(&self->cache, w->kind, w->ns);
    json_array_foreach(items, i, o)
    {
        scraper_sd_kube_cache_put(&self->cache, w->kind, o);
        // An informer hands every listed object of the role to its handlers, which queue it.
        if (w->kind == scraper_sd_kube_role_kind(self->role) &&
            scraper_sd_kube_cache_key(o, key, sizeof(key)))
            s_enqueue(self, key);
    }
    s_count(self, w->kind, "add", (double)(json_array_size(items) - known));
    s_count(self, w->kind, "update", (double)known);
    s_count(self, w->kind, "delete", (double)(before - known));
    s_set_rv(w, w->list.rv);
    if (!w->synced || w->backoff_ms > SCRAPER_SD_KUBE_BACKOFF_MIN_MS || w->list.expired)
        fw_info("sd.kube.list",
                "job=%s resource=%s namespace=%s objects=%zu pages=%zu expired_continue=%zu",
                self->job, s_kind_path[w->kind][1], w->ns[0] ? w->ns : "(all)",
                json_array_size(items), w->list.pages, w->list.expired);
    w->synced = true;
    w->backoff_ms = 0;
    self->all_dirty = true;
    scraper_sd_kube_list_clear(&w->list);
}

// ---------------------------------------------------------------------------------------
//  Requests

static size_t
s_on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    s_watch_t *w = userp;
    size_t n = size * nmemb;
    long code = 0;
    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
    size_t limit =
        w->state == S_LIST || code != 200 ? SCRAPER_SD_KUBE_MAX_LIST : SCRAPER_SD_KUBE_MAX_EVENT;
    if (w->len + n > limit) {
        s_fail(w, w->state == S_LIST ? "list body over the limit" : "watch event too large", NULL);
        return 0;
    }
    fw_mem_grow((void **)&w->buf, &w->cap, w->len + n + 1, 1);
    memcpy(w->buf + w->len, data, n);
    w->len += n;
    w->buf[w->len] = '\0';
    if (w->state != S_WATCH || code != 200)
        return n;
    // Apply every complete line; keep the partial one.
    size_t start = 0;
    for (;;) {
        char *nl = memchr(w->buf + start, '\n', w->len - start);
        if (!nl)
            break;
        size_t ll = (size_t)(nl - (w->buf + start));
        if (ll > 0 && !s_event(w, w->buf + start, ll))
            return 0; // ends the watch; s_done decides what next
        start += ll + 1;
    }
    memmove(w->buf, w->buf + start, w->len - start);
    w->len -= start;
    return n;
}

static char *
s_path(const s_watch_t *w, bool watch, int timeout_s)
{
    const char *const *kp = s_kind_path[w->kind];
    char ns[300] = "";
    if (w->ns[0])
        snprintf(ns, sizeof(ns), "/namespaces/%s", w->ns);
    if (!watch) {
        char *page = scraper_sd_kube_list_query(&w->list);
        char *q = fw_asprintf("%s%s", page, w->selector);
        char *path = fw_asprintf("%s%s/%s?%s", kp[0], ns, kp[1], q[0] == '&' ? q + 1 : q);
        free(q);
        free(page);
        return path;
    }
    return fw_asprintf("%s%s/%s?watch=true&resourceVersion=%s&allowWatchBookmarks=true"
                       "&timeoutSeconds=%d%s",
                       kp[0], ns, kp[1], w->rv ? w->rv : "0", timeout_s, w->selector);
}

// prometheus_sd_kubernetes_http_request_duration_seconds{endpoint}: client-go observes the
// latency of each request made through Request.request (a LIST, each page; not a WATCH,
// which has no end to time), labelled with its finalURLTemplate's escaped path: the API
// server's path prefix, then the resource path with the namespace as "{namespace}"
// (escaped "%7Bnamespace%7D"), the query left out.
static void
s_observe_list(s_watch_t *w)
{
    s_actor_t *self = w->owner;
    const char *base = self->api.base ? self->api.base : "";
    const char *host = strstr(base, "://");
    const char *prefix = host ? strchr(host + 3, '/') : NULL;
    char endpoint[512], labels[600];
    snprintf(endpoint, sizeof(endpoint), "%s%s%s/%s", prefix ? prefix : "", s_kind_path[w->kind][0],
             w->ns[0] ? "/namespaces/%7Bnamespace%7D" : "", s_kind_path[w->kind][1]);
    fw_metrics_label(labels, sizeof(labels), "endpoint", endpoint);
    fw_metrics_observe(self->metrics, "prometheus_sd_kubernetes_http_request_duration_seconds",
                       labels, (double)(zclock_usecs() - w->start_us) / 1e6);
}

static void
s_start(s_watch_t *w, s_state_t state)
{
    s_actor_t *self = w->owner;
    w->state = state;
    w->len = 0;
    w->relist = w->failed = false;
    w->why[0] = '\0';
    w->start_us = zclock_usecs();
    w->easy = curl_easy_init();
    int timeout_s = 300 + (int)(random() % 300); // as client-go: 5 to 10 minutes
    char *path = s_path(w, state == S_WATCH, timeout_s);
    fw_err_t err = {0};
    if (!w->easy || scraper_sd_kube_api_setup(&self->api, w->easy, path, &w->headers, &err) != 0) {
        fw_warn("sd.kube.fail", "job=%s resource=%s err=%s", self->job, s_kind_path[w->kind][1],
                err.msg);
        fw_metrics_add(self->metrics, "prometheus_sd_kubernetes_failures_total", "", 1);
        if (state == S_LIST) // client-go times a request that fails before it is sent too
            s_observe_list(w);
        free(path);
        if (w->easy)
            curl_easy_cleanup(w->easy);
        curl_slist_free_all(w->headers);
        w->easy = NULL;
        w->headers = NULL;
        w->state = S_IDLE;
        w->retry_at = fw_time_mono_ms() + SCRAPER_SD_KUBE_BACKOFF_MAX_MS;
        return;
    }
    free(path);
    memcpy(w->tls_gen, self->api.tls_gen, sizeof(w->tls_gen));
    if (w->fresh) // not a connection another watch may still hold under the old files
        curl_easy_setopt(w->easy, CURLOPT_FRESH_CONNECT, 1L);
    w->fresh = false;
    curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, s_on_write);
    curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w);
    curl_easy_setopt(w->easy, CURLOPT_ERRORBUFFER, w->errbuf);
    curl_easy_setopt(w->easy, CURLOPT_ACCEPT_ENCODING, "");
    // A list has two minutes; a watch its own timeout and half a minute of grace.
    curl_easy_setopt(w->easy, CURLOPT_TIMEOUT_MS,
                     state == S_LIST ? 120000L : (long)(timeout_s + 30) * 1000L);
    w->errbuf[0] = '\0';
    curl_multi_add_handle(self->multi, w->easy);
}

static void
s_backoff(s_watch_t *w)
{
    w->backoff_ms = w->backoff_ms ? w->backoff_ms * 2 : SCRAPER_SD_KUBE_BACKOFF_MIN_MS;
    if (w->backoff_ms > SCRAPER_SD_KUBE_BACKOFF_MAX_MS)
        w->backoff_ms = SCRAPER_SD_KUBE_BACKOFF_MAX_MS;
    w->retry_at = fw_time_mono_ms() + w->backoff_ms;
}

// Take w's request off the multi handle (an unfinished HTTP/1.1 transfer closes its
// connection, an HTTP/2 one resets its stream) and count it in
// prometheus_sd_kubernetes_http_request_total: its HTTP status, or "<error>" when none
// came. Its response code.
static long
s_release(s_watch_t *w, CURLcode rc)
{
    s_actor_t *self = w->owner;
    long code = 0;
    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
    curl_multi_remove_handle(self->multi, w->easy);
    curl_easy_cleanup(w->easy);
    curl_slist_free_all(w->headers);
    w->easy = NULL;
    w->headers = NULL;
    w->state = S_IDLE;
    char status[32];
    snprintf(status, sizeof(status), "status_code=\"%ld\"", code);
    fw_metrics_add(self->metrics, "prometheus_sd_kubernetes_http_request_total",
                   rc == CURLE_OK || code ? status : "status_code=\"<error>\"", 1);
    return code;
}

static void
s_done(s_watch_t *w, CURLcode rc)
{
    s_actor_t *self = w->owner;
    s_state_t was = w->state;
    long code = s_release(w, rc);
    if (was == S_LIST)
        s_observe_list(w);
    if (!w->failed && !w->relist) {
        if (rc != CURLE_OK) {
            s_fail(w, w->errbuf[0] ? w->errbuf : curl_easy_strerror(rc), NULL);
        } else if (was == S_WATCH && code == 410) {
            w->relist = true; // the watch's resourceVersion is too old: list again now
            fw_info("sd.kube.relist", "job=%s resource=%s namespace=%s reason=%s", self->job,
                    s_kind_path[w->kind][1], w->ns, "watch HTTP 410 Gone");
        } else if (was == S_WATCH && code != 200) {
            char detail[200];
            snprintf(detail, sizeof(detail), "HTTP %ld: %.150s", code, w->buf ? w->buf : "");
            s_fail(w, detail, NULL);
        } else if (was == S_LIST) {
            fw_err_t err = {0};
            size_t expired = w->list.expired;
            switch (scraper_sd_kube_list_page(&w->list, code, w->buf, w->len, &err)) {
            case SCRAPER_KUBE_LIST_NEXT:
                if (w->list.expired != expired)
                    fw_info("sd.kube.relist", "job=%s resource=%s namespace=%s reason=%s",
                            self->job, s_kind_path[w->kind][1], w->ns,
                            "continue token expired (410 Gone): one list without limit");
                s_start(w, S_LIST); // the next page
                return;
            case SCRAPER_KUBE_LIST_DONE: s_list_done(w); break;
            case SCRAPER_KUBE_LIST_FAIL: s_fail(w, err.msg, NULL); break;
            }
        }
    }
    if (w->failed || w->relist)
        scraper_sd_kube_list_clear(&w->list);
    w->len = 0;
    int64_t now = fw_time_mono_ms();
    if (w->failed) {
        fw_metrics_add(self->metrics, "prometheus_sd_kubernetes_failures_total", "", 1);
        s_backoff(w);
        fw_warn("sd.kube.fail", "job=%s resource=%s namespace=%s request=%s err=%s retry_ms=%lld",
                self->job, s_kind_path[w->kind][1], w->ns[0] ? w->ns : "(all)",
                was == S_LIST ? "list" : "watch", w->why, (long long)w->backoff_ms);
        return; // relist after the backoff
    }
    if (w->relist || now >= w->resync_at) {
        w->resync_at = now + SCRAPER_SD_KUBE_RESYNC_MS;
        w->retry_at = now;
        return; // relist now
    }
    s_start(w, S_WATCH); // after a list, or a watch the server ended: watch on
}

// A CA, client certificate or key changed on disk (the files the requests read through
// fw_tlsfiles): end the watches set up under the old content, so that they reconnect with
// the new one at once rather than at their timeout (5 to 10 minutes), holding a TLS session
// the new files would not allow. Each resumes from its resourceVersion, so no event is
// lost and nothing is relisted; the new requests open new connections. A list still
// running ends by itself within its two minutes. At most once a second: a stat per file.
static void
s_check_tls(s_actor_t *self)
{
    int64_t now = fw_time_mono_ms();
    if (now - self->tls_checked_at < 1000)
        return;
    self->tls_checked_at = now;
    uint64_t gen[FW_TLSFILES_N];
    if (scraper_sd_kube_api_tls_check(&self->api, gen) != 0)
        return; // unreadable: the running watches keep the last good content
    for (size_t i = 0; i < self->n_w; i++) {
        s_watch_t *w = &self->w[i];
        if (w->state != S_WATCH || !fw_tlsfiles_changed(w->tls_gen, gen))
            continue;
        fw_info("sd.kube.reconnect", "job=%s resource=%s namespace=%s reason=%s", self->job,
                s_kind_path[w->kind][1], w->ns[0] ? w->ns : "(all)",
                "TLS files changed: the watch ends and starts again on a new connection");
        s_release(w, CURLE_ABORTED_BY_CALLBACK);
        w->len = 0; // a partial event line: the new watch sends it again
        w->fresh = true;
        s_start(w, S_WATCH);
    }
}

// ---------------------------------------------------------------------------------------
//  The actor

static void
s_add_watch(s_actor_t *self, scraper_kube_kind_t kind, const char *ns,
            const struct fw_kube_sd_config *c)
{
    s_watch_t *w = &self->w[self->n_w++];
    memset(w, 0, sizeof(*w));
    w->owner = self;
    w->kind = kind;
    w->ns = fw_strdup(ns);
    w->selector = fw_strdup("");
    for (size_t i = 0; i < c->n_selectors; i++) {
        const struct fw_kube_selector *s = &c->selectors[i];
        if (strcmp(fw_kube_role_name(s->role), s_kind_role[kind]) != 0)
            continue;
        const char *names[2] = {"labelSelector", "fieldSelector"};
        const char *vals[2] = {s->label, s->field};
        for (int k = 0; k < 2; k++) {
            if (!vals[k] || !*vals[k])
                continue;
            char *esc = curl_easy_escape(NULL, vals[k], 0);
            char *more = fw_asprintf("%s&%s=%s", w->selector, names[k], esc ? esc : "");
            curl_free(esc);
            free(w->selector);
            w->selector = more;
        }
    }
    w->retry_at = 0;
    w->resync_at = fw_time_mono_ms() + SCRAPER_SD_KUBE_RESYNC_MS;
}

static void
s_setup(s_actor_t *self, const struct fw_kube_sd_config *c)
{
    scraper_kube_kind_t kinds[3];
    size_t nk = 0;
    kinds[nk++] = scraper_sd_kube_role_kind(self->role);
    if (self->role == FW_KUBE_ROLE_ENDPOINTS || self->role == FW_KUBE_ROLE_ENDPOINTSLICE) {
        kinds[nk++] = SCRAPER_KUBE_SERVICES;
        kinds[nk++] = SCRAPER_KUBE_PODS;
    }
    size_t n_ns = c->namespaces.n_names + (self->api.own_namespace ? 1 : 0);
    const char **ns = fw_calloc(n_ns + 1, sizeof(*ns));
    for (size_t i = 0; i < c->namespaces.n_names; i++)
        ns[i] = c->namespaces.names[i];
    if (self->api.own_namespace)
        ns[c->namespaces.n_names] = self->api.own_namespace;
    if (n_ns == 0 || self->role == FW_KUBE_ROLE_NODE) {
        ns[0] = "";
        n_ns = 1;
    }
    // attach_metadata: cluster-wide watches of what the roles that take it attach.
    bool nodes = self->attach.node &&
                 (self->role == FW_KUBE_ROLE_POD || self->role == FW_KUBE_ROLE_ENDPOINTS ||
                  self->role == FW_KUBE_ROLE_ENDPOINTSLICE);
    bool namespaces = self->attach.namespace_ && self->role != FW_KUBE_ROLE_NODE;
    self->w = fw_calloc(nk * n_ns + 2, sizeof(*self->w));
    for (size_t k = 0; k < nk; k++)
        for (size_t i = 0; i < n_ns; i++)
            s_add_watch(self, kinds[k], ns[i], c);
    if (nodes)
        s_add_watch(self, SCRAPER_KUBE_NODES, "", c);
    if (namespaces)
        s_add_watch(self, SCRAPER_KUBE_NAMESPACES, "", c);
    free(ns);
}

// Handle what is on the pipe; false once $TERM came.
static bool
s_pipe(s_actor_t *self)
{
    while (zsock_events(self->pipe) & ZMQ_POLLIN) {
        char *cmd = zstr_recv(self->pipe);
        if (!cmd || strcmp(cmd, "$TERM") == 0) {
            zstr_free(&cmd);
            return false;
        }
        if (strcmp(cmd, "STOP") == 0) {
            self->stopped = true;
            zstr_send(self->pipe, "STOPPED");
        }
        zstr_free(&cmd);
    }
    return true;
}

struct s_args {
    struct fw_kube_sd_config cfg; // shallow: strings copied into the api below
    char *job;
    fw_metrics_t *metrics; // borrowed
    struct scraper_sd_kube_api api;
    bool api_ok;
    char why[256];
    // What s_setup reads, copied.
    char **names;
    size_t n_names;
    struct fw_kube_selector *selectors;
    size_t n_selectors;
};

static void
s_args_free(struct s_args *a)
{
    for (size_t i = 0; i < a->n_names; i++)
        free(a->names[i]);
    free(a->names);
    for (size_t i = 0; i < a->n_selectors; i++) {
        free(a->selectors[i].label);
        free(a->selectors[i].field);
    }
    free(a->selectors);
    free(a);
}

static void
s_actor(zsock_t *pipe, void *arg)
{
    struct s_args *a = arg;
    s_actor_t self = {.pipe = pipe,
                      .job = a->job,
                      .role = a->cfg.role,
                      .attach = a->cfg.attach_metadata,
                      .metrics = a->metrics,
                      .api = a->api};
    zsock_signal(pipe, 0);
    if (!a->api_ok) {
        fw_warn("sd.kube.fail", "job=%s role=%s err=%s", self.job, fw_kube_role_name(self.role),
                a->why);
        // Nothing to discover: wait for STOP and $TERM only.
        while (!self.term) {
            zsock_set_rcvtimeo(pipe, -1);
            char *cmd = zstr_recv(pipe);
            self.term = !cmd || strcmp(cmd, "$TERM") == 0;
            if (cmd && strcmp(cmd, "STOP") == 0)
                zstr_send(pipe, "STOPPED");
            zstr_free(&cmd);
        }
        goto out;
    }
    struct fw_kube_sd_config c = a->cfg;
    c.namespaces.names = a->names;
    c.namespaces.n_names = a->n_names;
    c.selectors = a->selectors;
    c.n_selectors = a->n_selectors;
    scraper_sd_kube_cache_init(&self.cache);
    self.dirty = zhashx_new();
    fw_metrics_label(self.queue, sizeof(self.queue), "queue_name", fw_kube_role_name(self.role));
    // The queue's series exist from its start, as client-go's do once a queue is named.
    fw_metrics_add(self.metrics, "prometheus_sd_kubernetes_workqueue_items_total", self.queue, 0);
    fw_metrics_add(self.metrics, "prometheus_sd_kubernetes_workqueue_depth", self.queue, 0);
    self.multi = curl_multi_init();
    s_setup(&self, &c);
    fw_info("sd.kube.start", "job=%s role=%s server=%s watchers=%zu", self.job,
            fw_kube_role_name(self.role), self.api.base, self.n_w);
    int fd = -1;
    size_t fd_size = sizeof(fd);
    zmq_getsockopt(zsock_resolve(pipe), ZMQ_FD, &fd, &fd_size);
    while (s_pipe(&self)) {
        int64_t now = fw_time_mono_ms(), wait = 1000;
        for (size_t i = 0; i < self.n_w; i++) {
            s_watch_t *w = &self.w[i];
            if (w->state != S_IDLE)
                continue;
            if (w->retry_at <= now) {
                scraper_sd_kube_list_begin(&w->list);
                s_start(w, S_LIST);
            } else if (w->retry_at - now < wait)
                wait = w->retry_at - now;
        }
        s_check_tls(&self);
        int running = 0;
        curl_multi_perform(self.multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(self.multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            s_watch_t *w = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&w);
            if (w)
                s_done(w, m->data.result);
        }
        s_flush(&self);
        s_show_depth(&self);
        struct curl_waitfd extra = {fd, CURL_WAIT_POLLIN, 0};
        curl_multi_poll(self.multi, &extra, fd >= 0 ? 1 : 0, (int)(wait > 0 ? wait : 1), NULL);
    }
    for (size_t i = 0; i < self.n_w; i++) {
        s_watch_t *w = &self.w[i];
        if (w->easy) {
            curl_multi_remove_handle(self.multi, w->easy);
            curl_easy_cleanup(w->easy);
        }
        curl_slist_free_all(w->headers);
        free(w->buf);
        scraper_sd_kube_list_clear(&w->list);
        free(w->rv);
        free(w->ns);
        free(w->selector);
    }
    free(self.w);
    curl_multi_cleanup(self.multi);
    // What this provider still had queued leaves the shared gauge with it.
    fw_metrics_add(self.metrics, "prometheus_sd_kubernetes_workqueue_depth", self.queue,
                   -self.depth_shown);
    zhashx_destroy(&self.dirty);
    scraper_sd_kube_cache_clear(&self.cache);
out:
    scraper_sd_kube_api_clear(&self.api);
    free(self.job);
    s_args_free(a);
    curl_global_cleanup();
}

zactor_t *
scraper_sd_kube_new(const struct fw_kube_sd_config *c, const char *job, fw_metrics_t *metrics,
                    fw_err_t *err)
{
    curl_global_init(CURL_GLOBAL_DEFAULT); // counted; released when the actor ends
    struct s_args *a = fw_calloc(1, sizeof(*a));
    a->cfg.role = c->role;
    a->cfg.attach_metadata = c->attach_metadata;
    a->metrics = metrics;
    a->cfg.namespaces.own_namespace = c->namespaces.own_namespace;
    a->job = fw_strdup(job);
    fw_err_t why = {0};
    a->api_ok = scraper_sd_kube_api_init(&a->api, c, &why) == 0;
    snprintf(a->why, sizeof(a->why), "%s", why.msg);
    if (!a->api_ok)
        fw_err_set(err, "%s", why.msg);
    a->n_names = c->namespaces.n_names;
    a->names = fw_calloc(a->n_names + 1, sizeof(char *));
    for (size_t i = 0; i < a->n_names; i++)
        a->names[i] = fw_strdup(c->namespaces.names[i]);
    a->n_selectors = c->n_selectors;
    a->selectors = fw_calloc(a->n_selectors + 1, sizeof(*a->selectors));
    for (size_t i = 0; i < a->n_selectors; i++) {
        a->selectors[i].role = c->selectors[i].role;
        a->selectors[i].label = c->selectors[i].label ? fw_strdup(c->selectors[i].label) : NULL;
        a->selectors[i].field = c->selectors[i].field ? fw_strdup(c->selectors[i].field) : NULL;
    }
    return fw_thread_actor_new(s_actor, a);
}
