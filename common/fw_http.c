/*  fw_http.c — every daemon's HTTP endpoint, on libmicrohttpd.

    We bind the listening socket ourselves (fw_http_listen.c) and hand it to libmicrohttpd, which
   runs one thread per connection. A thread per connection, rather than one polling thread, lets a
   handler block — /-/reload waits up to 30 s for the zloop thread, a tsdb query may take seconds —
   without stalling /metrics or /-/healthy for everybody else.

    A request goes through the access callback several times: first to allocate our
    per-request record, then once per chunk of body (accumulated, bounded by FW_HTTP_BODY_MAX,
    else 413), then once more to dispatch. Dispatch picks the latest route whose path matches
    (exactly, or as a prefix when the route ends in '/') and whose methods include the
    request's (HEAD counts as GET); a path match with no method match is 405, no match 404.
    Every answer is counted in fw_http_requests_total{handler,code} and timed in the
    histogram fw_http_request_duration_seconds{handler}, handler being the route path or
    "other". Query arguments come from libmicrohttpd; an application/x-www-form-urlencoded
    body is decoded here once, before the handler runs, so the accessors stay read-only.

    With --web.config.file (fw_http_auth.c), the first call also decides whether the request
    may proceed (client certificate, then basic auth); a refused request's body is drained
    unread and dispatch answers 401 (403, 500) for whatever route it named. With TLS,
    libmicrohttpd runs GnuTLS with the file's certificate, key, versions and client CA.

    /-/reload is a generation handshake under one mutex: each request takes a ticket
    (reload_req_gen), the zloop thread sees fw_http_reload_requested() true while a ticket
    is unanswered, reloads, and fw_http_reload_done() publishes the result for every ticket
    issued up to its last fw_http_reload_requested() call, then broadcasts. fw_http_destroy()
    wakes any waiter with 503 before stopping the daemon.
*/
#include "fw_http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fw_ascii.h"
#include "fw_http_auth.h"
#include "fw_http_int.h"
#include "fw_http_listen.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"

#define FW_HTTP_RELOAD_WAIT_S 30           // /-/reload gives up after this (503)
#define FW_HTTP_CONN_LIMIT 512u            // concurrent connections (threads)
#define FW_HTTP_CONN_TIMEOUT_S 300u        // idle keep-alive connections are closed
#define FW_HTTP_CONN_MEMORY (512u * 1024u) // per-connection pool: long GET query strings
// A body whose Content-Length is at most S_BODY_EXACT_MAX gets one buffer of that size at its
// first chunk; a larger or unannounced one grows by doubling from S_BODY_FIRST_CAP, so a client
// that announces much and sends little does not make us allocate it.
#define S_BODY_EXACT_MAX (64u * 1024u)
#define S_BODY_FIRST_CAP 4096u

#define FW_HTTP_CT_TEXT "text/plain; charset=utf-8"
#define FW_HTTP_CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define FW_HTTP_CT_JSON "application/json"

// =========================================================================================
//  Helpers
// =========================================================================================

static double
s_elapsed(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

// URL-decode s in place ('+' is a space, %XX a byte; a bad escape stays as written).
// Returns the decoded length, which a decoded %00 makes more than strlen().
static size_t
s_url_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p == '+') {
            *o++ = ' ';
        } else if (*p == '%' && fw_ascii_hex(p[1]) >= 0 && fw_ascii_hex(p[2]) >= 0) {
            *o++ = (char)(fw_ascii_hex(p[1]) * 16 + fw_ascii_hex(p[2]));
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return (size_t)(o - s);
}

// True when the comma-separated list `methods` allows `method` (HEAD rides on GET).
static bool
s_method_allowed(const char *methods, const char *method)
{
    size_t mlen = strlen(method);
    bool head = strcmp(method, "HEAD") == 0;
    const char *p = methods;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ',' && *end != ' ')
            end++;
        size_t n = (size_t)(end - p);
        if (n == mlen && strncmp(p, method, n) == 0)
            return true;
        if (head && n == 3 && strncmp(p, "GET", 3) == 0)
            return true;
        p = end;
    }
    return false;
}

// The route for path and method, latest first. *path_route gets the latest route whose path
// matches regardless of method (for 405), or NULL.
static const struct fw_http_route *
s_route_match(const fw_http_t *self, const char *path, const char *method,
              const struct fw_http_route **path_route)
{
    *path_route = NULL;
    size_t len = strlen(path);
    for (size_t i = self->routes_len; i-- > 0;) {
        const struct fw_http_route *r = &self->routes[i];
        // The lengths first: most routes differ in length from the path, and a call to
        // strcmp/strncmp for each of a daemon's twenty-odd routes was 600 instructions of
        // alertd's single-alert POST (callgrind).
        bool match = r->prefix ? len >= r->path_len && memcmp(path, r->path, r->path_len) == 0
                               : len == r->path_len && memcmp(path, r->path, len) == 0;
        if (!match)
            continue;
        if (!*path_route)
            *path_route = r;
        if (s_method_allowed(r->methods, method))
            return r;
    }
    return NULL;
}

// Decode an application/x-www-form-urlencoded body into req->form_kv.
static void
s_form_parse(fw_http_request_t *req)
{
    const char *ct =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    static const char form_ct[] = "application/x-www-form-urlencoded";
    if (!ct || !req->body_len || strncasecmp(ct, form_ct, sizeof(form_ct) - 1) != 0)
        return;
    char next = ct[sizeof(form_ct) - 1];
    if (next != '\0' && next != ';' && next != ' ')
        return;
    req->form = fw_strndup(req->body, req->body_len);
    char *save = NULL;
    for (char *pair = strtok_r(req->form, "&", &save); pair; pair = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(pair, '=');
        char *value = pair + strlen(pair); // no '=': the empty string at the end of pair
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        }
        s_url_decode(pair);
        size_t value_len = s_url_decode(value);
        fw_mem_grow((void **)&req->form_kv, &req->form_cap, req->form_len + 1,
                    sizeof(*req->form_kv));
        req->form_kv[req->form_len].key = pair;
        req->form_kv[req->form_len].value = value;
        req->form_kv[req->form_len].value_len = value_len;
        req->form_len++;
    }
}

static void
s_request_free(fw_http_request_t *req)
{
    if (!req)
        return;
    for (int i = 0; i < FW_WEBCFG_HEADERS; i++)
        free(req->sec_headers[i]);
    // An answer made on a handler thread that was never sent (the client went away).
    if (req->resp.stream && req->resp.stream_free)
        req->resp.stream_free(req->resp.stream_arg);
    free(req->resp.body);
    free(req->form_kv);
    free(req->form);
    free(req->body);
    if (req->path != req->path_buf)
        free(req->path);
    if (req->method != req->method_buf)
        free(req->method);
    free(req);
}

// s copied into buf (size bytes) when it fits, else into an allocation of its own (the caller
// frees what is not buf): two allocations less a request (callgrind: 370 instructions of
// alertd's single-alert POST with their frees).
static char *
s_keep_str(char *buf, size_t size, const char *s)
{
    size_t n = strlen(s);
    if (n >= size)
        return fw_strndup(s, n);
    memcpy(buf, s, n + 1);
    return buf;
}

// Counts one answered request (status 100-599). The labels are built on the stack (handler
// names are the routes' own short names; fw_metrics_label cuts a longer one): this runs once
// a request, and the three allocations and two vasprintf calls it made were 2,400
// instructions of alertd's single-alert POST (callgrind). A route's handler label is built
// once (s_route_add) and the code is written here, not by snprintf: fw_metrics_label and
// snprintf were 1,900 more.
static void
s_count(fw_http_t *self, const char *handler, int status, double seconds)
{
    if (!self->metrics)
        return;
    char own[sizeof(self->routes[0].label)], labels[sizeof(own) + 16];
    const char *h = NULL;
    for (size_t i = 0; i < self->routes_len && !h; i++)
        if (self->routes[i].path == handler)
            h = self->routes[i].label;
    if (!h) {
        fw_metrics_label(own, sizeof(own), "handler", handler);
        h = own;
    }
    fw_metrics_observe(self->metrics, "fw_http_request_duration_seconds", h, seconds);
    size_t n = strlen(h);
    memcpy(labels, h, n);
    memcpy(labels + n, ",code=\"", 7);
    labels[n + 7] = (char)('0' + status / 100 % 10);
    labels[n + 8] = (char)('0' + status / 10 % 10);
    labels[n + 9] = (char)('0' + status % 10);
    memcpy(labels + n + 10, "\"", 2);
    fw_metrics_add(self->metrics, "fw_http_requests_total", labels, 1);
}

// =========================================================================================
//  Built-in routes
// =========================================================================================

static int
s_on_metrics(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    fw_http_t *self = arg;
    resp->status = 200;
    resp->body = self->metrics ? fw_metrics_render(self->metrics) : fw_strdup("");
    resp->content_type = FW_HTTP_CT_METRICS;
    return 0;
}

static int
s_on_healthy(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    fw_http_t *self = arg;
    resp->status = 200;
    resp->body =
        self->probe_ok ? fw_strdup(self->probe_ok) : fw_asprintf("%s is Healthy.\n", self->title);
    return 0;
}

static int
s_on_ready(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    fw_http_t *self = arg;
    if (atomic_load(&self->ready)) {
        resp->status = 200;
        resp->body =
            self->probe_ok ? fw_strdup(self->probe_ok) : fw_asprintf("%s is Ready.\n", self->title);
    } else {
        pthread_mutex_lock(&self->lock);
        char *body = self->unready_reason[0]
                         ? fw_asprintf("Service Unavailable: %s\n", self->unready_reason)
                         : fw_strdup("Service Unavailable");
        pthread_mutex_unlock(&self->lock);
        fw_http_respond(resp, 503, NULL, body);
        free(body);
    }
    return 0;
}

static int
s_on_reload(const fw_http_request_t *req, struct fw_http_response *resp, void *arg)
{
    (void)req;
    fw_http_t *self = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += FW_HTTP_RELOAD_WAIT_S;

    pthread_mutex_lock(&self->lock);
    uint64_t ticket = ++self->reload_req_gen;
    while (self->reload_done_gen < ticket && !self->stopping) {
        if (pthread_cond_timedwait(&self->cond, &self->lock, &deadline) == ETIMEDOUT)
            break;
    }
    if (self->reload_done_gen >= ticket) {
        if (self->reload_rc == 0) {
            fw_http_respond(resp, 200, NULL, "");
        } else {
            resp->status = 500;
            resp->body = fw_asprintf("failed to reload config: %s\n", self->reload_msg);
        }
    } else if (self->stopping) {
        fw_http_respond(resp, 503, NULL, "server is shutting down\n");
    } else {
        fw_http_respond(resp, 503, NULL, "reload timed out\n");
    }
    pthread_mutex_unlock(&self->lock);
    return 0;
}

// =========================================================================================
//  libmicrohttpd callbacks
// =========================================================================================

// A streamed answer (struct fw_http_response's stream).
struct s_stream {
    long (*fn)(void *arg, char *buf, size_t max);
    void (*free_fn)(void *arg);
    void *arg;
};

static ssize_t
s_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    struct s_stream *st = cls;
    long n = st->fn(st->arg, buf, max);
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    return (ssize_t)n;
}

static void
s_stream_free(void *cls)
{
    struct s_stream *st = cls;
    if (st->free_fn)
        st->free_fn(st->arg);
    free(st);
}

// The shared empty answer (fw_http_t's empty) for resp, or NULL when resp or req adds a
// header of its own or has a content type without one.
static struct MHD_Response *
s_empty_shared(const fw_http_request_t *req, const struct fw_http_response *resp)
{
    if (resp->headers[0].name)
        return NULL;
    for (int i = 0; i < FW_WEBCFG_HEADERS; i++)
        if (req->sec_headers[i])
            return NULL;
    const char *ct = resp->content_type ? resp->content_type : FW_HTTP_CT_TEXT;
    if (strcmp(ct, FW_HTTP_CT_TEXT) == 0)
        return req->http->empty[0];
    if (strcmp(ct, FW_HTTP_CT_JSON) == 0)
        return req->http->empty[1];
    return NULL;
}

// An answer queued: count and log it.
static void
s_sent(fw_http_request_t *req, const char *handler, int status)
{
    double seconds = s_elapsed(&req->start);
    s_count(req->http, handler, status, seconds);
    fw_debug("http.request", "method=%s path=%s handler=%s code=%d dur_ms=%.3f", req->method,
             req->path, handler, status, seconds * 1000.0);
}

// An empty answer with only a Content-Type (a shared one: s_empty_shared), or NULL.
static struct MHD_Response *
s_empty_new(const char *content_type)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (r && MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type) != MHD_YES) {
        MHD_destroy_response(r);
        r = NULL;
    }
    return r;
}

enum MHD_Result
fw_http_send(fw_http_request_t *req, const char *handler, struct fw_http_response *resp,
             const char *allow)
{
    if (resp->status < 100 || resp->status > 599)
        resp->status = 500;
    size_t len = resp->body ? (resp->body_len ? resp->body_len : strlen(resp->body)) : 0;
    struct MHD_Response *r;
    if (resp->stream) {
        struct s_stream *st = fw_calloc(1, sizeof(*st));
        st->fn = resp->stream;
        st->free_fn = resp->stream_free;
        st->arg = resp->stream_arg;
        free(resp->body);
        resp->body = NULL;
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, s_stream_read, st,
                                              s_stream_free);
        if (!r)
            s_stream_free(st);
    } else if (len == 0) {
        free(resp->body);
        resp->body = NULL;
        struct MHD_Response *shared = allow ? NULL : s_empty_shared(req, resp);
        if (shared) {
            // Queued as it is (libmicrohttpd counts its references): building, heading and
            // freeing a response object of its own were 1,800 instructions of alertd's
            // single-alert POST (callgrind).
            enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned int)resp->status, shared);
            s_sent(req, handler, resp->status);
            return ok;
        }
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    } else {
        r = MHD_create_response_from_buffer(len, resp->body, MHD_RESPMEM_MUST_FREE);
        if (r)
            resp->body = NULL; // libmicrohttpd frees it now
    }
    if (!r) {
        free(resp->body);
        resp->body = NULL;
        fw_warn("http.response.fail", "path=%s", req->path);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            resp->content_type ? resp->content_type : FW_HTTP_CT_TEXT);
    if (allow)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    for (size_t i = 0; i < FW_HTTP_HEADERS_MAX && resp->headers[i].name; i++)
        MHD_add_response_header(r, resp->headers[i].name, resp->headers[i].value);
    for (int i = 0; i < FW_WEBCFG_HEADERS; i++)
        if (req->sec_headers[i])
            MHD_add_response_header(r, fw_webcfg_header_name(i), req->sec_headers[i]);
    enum MHD_Result ok = MHD_queue_response(req->conn, (unsigned int)resp->status, r);
    MHD_destroy_response(r);
    s_sent(req, handler, resp->status);
    return ok;
}

// Before the body is read: the web config's verdict on this request into req->denied
// (NULL: go on) and its response headers into req->sec_headers.
static void
s_authorize(fw_http_request_t *req)
{
    fw_http_t *self = req->http;
    if (!self->auth)
        return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    const char *cert = fw_http_auth_client_cert(self->auth, ci ? ci->tls_session : NULL);
    if (*cert) {
        req->denied = cert;
        return;
    }
    const char *authz =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    switch (fw_http_auth_check(self->auth, authz, req->sec_headers)) {
    case FW_HTTP_AUTH_OK: break;
    case FW_HTTP_AUTH_MISSING: req->denied = "missing"; break;
    case FW_HTTP_AUTH_WRONG: req->denied = "wrong"; break;
    case FW_HTTP_AUTH_CONFIG_ERROR: req->denied = "config"; break;
    }
}

// Answer a request the web config refuses: 401 with a Basic challenge for credentials
// (as Prometheus), 403 for a client certificate that does not verify, 500 while the file
// does not load. Counted by reason in fw_http_auth_failures_total.
static enum MHD_Result
s_deny(fw_http_request_t *req, const char *handler)
{
    struct fw_http_response resp = {.status = 401};
    if (strcmp(req->denied, "config") == 0) {
        fw_http_respond(&resp, 500, NULL, "Internal Server Error\n");
        return fw_http_send(req, handler, &resp, NULL);
    }
    if (strcmp(req->denied, "client_certificate") == 0) {
        fw_http_respond(&resp, 403, NULL, "Forbidden: no verified client certificate\n");
    } else {
        fw_http_respond(&resp, 401, NULL, "Unauthorized\n");
        resp.headers[0].name = "WWW-Authenticate";
        snprintf(resp.headers[0].value, sizeof(resp.headers[0].value), "Basic");
    }
    if (req->http->metrics) {
        char labels[64];
        snprintf(labels, sizeof(labels), "reason=\"%s\"", req->denied);
        fw_metrics_add(req->http->metrics, "fw_http_auth_failures_total", labels, 1);
    }
    char ip[64];
    fw_debug("http.auth.fail", "method=%s path=%s reason=%s client=%s", req->method, req->path,
             req->denied, fw_http_client_ip(req, ip, sizeof(ip)));
    return fw_http_send(req, handler, &resp, NULL);
}

// The Allow header of a 405: the methods of every route with path_route's path (a path may
// have a route on the loop and one off it), comma-separated, into buf.
static const char *
s_allow(const fw_http_t *self, const struct fw_http_route *path_route, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < self->routes_len; i++) {
        const struct fw_http_route *r = &self->routes[i];
        if (strcmp(r->path, path_route->path) != 0)
            continue;
        int w = snprintf(buf + n, size - n, "%s%s", n ? "," : "", r->methods);
        if (w < 0 || (size_t)w >= size - n)
            return path_route->methods;
        n += (size_t)w;
    }
    return buf;
}

static enum MHD_Result
s_dispatch(fw_http_request_t *req)
{
    fw_http_t *self = req->http;
    struct fw_http_response resp = {.status = 200};
    const struct fw_http_route *path_route;
    const struct fw_http_route *route = s_route_match(self, req->path, req->method, &path_route);
    if (req->denied)
        return s_deny(req, route ? route->path : path_route ? path_route->path : "other");
    if (!route && !path_route) {
        fw_http_respond(&resp, 404, NULL, "404 page not found\n");
        return fw_http_send(req, "other", &resp, NULL);
    }
    if (!route) {
        char allow[128];
        fw_http_respond(&resp, 405, NULL, "Method Not Allowed\n");
        return fw_http_send(req, path_route->path, &resp,
                            s_allow(self, path_route, allow, sizeof(allow)));
    }
    if (req->too_big) {
        resp.status = 413;
        if (!self->too_large || self->too_large(req, &resp, self->too_large_arg) != 0)
            fw_http_respond(&resp, 413, NULL, "request body too large\n");
        return fw_http_send(req, route->path, &resp, NULL);
    }
    s_form_parse(req);
    if (self->on_loop && !route->on_loop)
        return fw_http_loop_offload(req, route);
    if (route->fn(req, &resp, route->arg) != 0) {
        if (resp.stream && resp.stream_free)
            resp.stream_free(resp.stream_arg);
        resp.stream = NULL;
        fw_http_respond(&resp, 500, NULL, "internal server error\n");
    }
    return fw_http_send(req, route->path, &resp, NULL);
}

static enum MHD_Result
s_on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
             const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    fw_http_t *self = cls;
    fw_http_request_t *req = *con_cls;
    if (!req) {
        req = fw_calloc(1, sizeof(*req));
        req->http = self;
        req->conn = conn;
        req->method = s_keep_str(req->method_buf, sizeof(req->method_buf), method);
        req->path = s_keep_str(req->path_buf, sizeof(req->path_buf), url);
        clock_gettime(CLOCK_MONOTONIC, &req->start);
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        unsigned long long want = cl ? strtoull(cl, NULL, 10) : 0;
        if (want > FW_HTTP_BODY_MAX)
            req->too_big = true;
        else if (want <= S_BODY_EXACT_MAX)
            req->body_want = (size_t)want;
        *con_cls = req;
        s_authorize(req);
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (req->denied || req->too_big || req->body_len + n > FW_HTTP_BODY_MAX) {
            req->too_big = true; // drain the rest, answer 413 at the end
            return MHD_YES;
        }
        if (req->body_len + n + 1 > req->body_cap) {
            // The announced size at once: a small alert POST then takes a small block
            // (usually the one the last request freed) where a 4 KiB one, a large request to
            // glibc, first consolidated its fastbins and often took fresh heap pages, whose
            // faults are dear under virtualisation (about 55 of alertd's ~280 us per POST).
            size_t cap = req->body_cap;
            if (cap == 0)
                cap = req->body_want >= n ? req->body_want + 1 : S_BODY_FIRST_CAP;
            while (cap < req->body_len + n + 1)
                cap *= 2;
            req->body = fw_realloc(req->body, cap);
            req->body_cap = cap;
        }
        memcpy(req->body + req->body_len, upload_data, n);
        req->body_len += n;
        req->body[req->body_len] = '\0';
        return MHD_YES;
    }
    if (atomic_load(&req->done))
        return fw_http_loop_answer(req);
    return s_dispatch(req);
}

// A connection was accepted (or closed). Counted for fw_http_loop's s_run, which looks again
// at once only after an accept; on the loop's thread in loop mode, libmicrohttpd's otherwise.
static void
s_on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                enum MHD_ConnectionNotificationCode toe)
{
    (void)conn;
    (void)socket_context;
    fw_http_t *self = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&self->accepted, 1);
}

static void
s_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
               enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    s_request_free(*con_cls);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void
s_on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    fw_warn("http.mhd", "msg=%s", buf);
}

// =========================================================================================
//  Public API
// =========================================================================================

void
fw_http_set_probe_body(fw_http_t *self, const char *body)
{
    free(self->probe_ok);
    self->probe_ok = body ? fw_strdup(body) : NULL;
}

fw_http_t *
fw_http_new(const char *daemon, fw_metrics_t *metrics)
{
    fw_http_t *self = fw_calloc(1, sizeof(*self));
    self->daemon = fw_strdup(daemon ? daemon : "floorwatch");
    self->title = fw_strdup(self->daemon);
    self->title[0] = (char)toupper((unsigned char)self->title[0]);
    self->metrics = metrics;
    self->port = -1;
    self->timer = -1;
    self->resume_fd = -1;
    atomic_init(&self->ready, false);
    atomic_init(&self->accepted, 0);
    pthread_mutex_init(&self->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&self->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (metrics) {
        fw_metrics_declare(metrics, "fw_http_requests_total", FW_METRIC_COUNTER,
                           "HTTP requests answered, by route and status code.");
        fw_metrics_declare(metrics, "fw_http_auth_failures_total", FW_METRIC_COUNTER,
                           "HTTP requests refused by --web.config.file, by reason: missing or "
                           "wrong basic-auth credentials, client_certificate, config (the file "
                           "does not load).");
        // Prometheus's prometheus_http_request_duration_seconds buckets
        static const double bounds[] = {0.1, 0.2, 0.4, 1, 3, 8, 20, 60, 120};
        fw_metrics_declare_histogram(metrics, "fw_http_request_duration_seconds",
                                     "Time spent answering HTTP requests, by route.", bounds,
                                     sizeof(bounds) / sizeof(bounds[0]));
    }
    self->empty[0] = s_empty_new(FW_HTTP_CT_TEXT);
    self->empty[1] = s_empty_new(FW_HTTP_CT_JSON);
    fw_http_route(self, "GET", "/metrics", s_on_metrics, self);
    fw_http_route(self, "GET", "/-/healthy", s_on_healthy, self);
    fw_http_route(self, "GET", "/-/ready", s_on_ready, self);
    fw_http_route(self, "POST,PUT", "/-/reload", s_on_reload, self);
    return self;
}

void
fw_http_destroy(fw_http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    fw_http_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
    if (self->on_loop)
        fw_http_loop_detach(self); // no handler thread left, nothing suspended
    if (self->mhd)
        MHD_stop_daemon(self->mhd); // closes the listening socket, joins every thread
    for (size_t i = 0; i < self->routes_len; i++) {
        free(self->routes[i].path);
        free(self->routes[i].methods);
    }
    free(self->routes);
    for (int i = 0; i < 2; i++)
        if (self->empty[i])
            MHD_destroy_response(self->empty[i]);
    fw_http_auth_destroy(&self->auth);
    free(self->web_config);
    for (int i = 0; i < 3; i++)
        free(self->tls_pem[i]);
    pthread_cond_destroy(&self->cond);
    pthread_mutex_destroy(&self->lock);
    free(self->title);
    free(self->probe_ok);
    free(self->daemon);
    free(self);
    *self_p = NULL;
}

static void
s_route_add(fw_http_t *self, const char *methods, const char *path, fw_http_handler_fn fn,
            void *arg, bool on_loop)
{
    if (!self || !methods || !path || !fn)
        return;
    fw_mem_grow((void **)&self->routes, &self->routes_cap, self->routes_len + 1,
                sizeof(*self->routes));
    struct fw_http_route *r = &self->routes[self->routes_len++];
    r->methods = fw_strdup(methods);
    r->path = fw_strdup(path);
    size_t n = strlen(path);
    r->path_len = n;
    r->prefix = n > 0 && path[n - 1] == '/';
    r->on_loop = on_loop;
    r->fn = fn;
    r->arg = arg;
    fw_metrics_label(r->label, sizeof(r->label), "handler", path);
}

void
fw_http_route(fw_http_t *self, const char *methods, const char *path, fw_http_handler_fn fn,
              void *arg)
{
    s_route_add(self, methods, path, fn, arg, false);
}

void
fw_http_route_loop(fw_http_t *self, const char *methods, const char *path, fw_http_handler_fn fn,
                   void *arg)
{
    s_route_add(self, methods, path, fn, arg, true);
}

void
fw_http_set_loop(fw_http_t *self, zloop_t *loop)
{
    if (self && !self->mhd)
        self->loop = loop;
}

bool
fw_http_on_loop(const fw_http_t *self)
{
    return self && self->on_loop;
}

void
fw_http_set_conn_memory(fw_http_t *self, size_t bytes)
{
    if (self)
        self->conn_memory = bytes;
}

void
fw_http_set_too_large(fw_http_t *self, fw_http_handler_fn fn, void *arg)
{
    if (self) {
        self->too_large = fn;
        self->too_large_arg = arg;
    }
}

void
fw_http_set_web_config(fw_http_t *self, const char *path)
{
    if (!self)
        return;
    free(self->web_config);
    self->web_config = path && *path ? fw_strdup(path) : NULL;
}

// Load --web.config.file and, when it asks for TLS, its certificate, key and client CA
// into self. 0 or -1 with err.
static int
s_web_open(fw_http_t *self, fw_err_t *err)
{
    self->auth = fw_http_auth_new(self->web_config);
    if (fw_http_auth_open(self->auth, err) != 0)
        return -1;
    if (!fw_webcfg_tls_enabled(fw_http_auth_config(self->auth)))
        return 0;
    if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
        fw_err_set(err, "%s: tls_server_config: this libmicrohttpd has no TLS", self->web_config);
        return -1;
    }
    return fw_http_auth_tls_pem(self->auth, self->tls_pem, err);
}

int
fw_http_start(fw_http_t *self, const char *listen_address, fw_err_t *err)
{
    if (!self || !listen_address) {
        fw_err_set(err, "http: no listen address");
        return -1;
    }
    if (self->mhd) {
        fw_err_set(err, "http: already listening on port %d", self->port);
        return -1;
    }
    if (!fw_http_listen_valid(listen_address)) {
        fw_err_set(err, "http: invalid listen address '%s' (want host:port)", listen_address);
        return -1;
    }
    if (self->web_config && !self->auth && s_web_open(self, err) != 0) {
        fw_http_auth_destroy(&self->auth);
        return -1;
    }
    int bound;
    int fd = fw_http_listen(listen_address, &bound, err);
    if (fd < 0)
        return -1;
    // From the loop only without a web config: its bcrypt checks and TLS handshakes would
    // take the loop's time.
    bool on_loop = self->loop && !self->web_config;
    unsigned int flags = on_loop ? MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG
                                 : MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                                       MHD_USE_AUTO | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    // TLS from --web.config.file: certificate and key, the versions as a GnuTLS priority
    // string, and the client CA (whose presence makes libmicrohttpd ask for client
    // certificates; fw_http_auth_client_cert verifies them).
    char prio[160];
    struct MHD_OptionItem tls[5];
    size_t nt = 0;
    if (self->tls_pem[0]) {
        flags |= MHD_USE_TLS;
        const struct fw_webcfg *c = fw_http_auth_config(self->auth);
        tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, self->tls_pem[0]};
        tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, self->tls_pem[1]};
        tls[nt++] =
            (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0,
                                    (void *)fw_webcfg_tls_priorities(c, prio, sizeof(prio))};
        if (self->tls_pem[2])
            tls[nt++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, self->tls_pem[2]};
    }
    tls[nt] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    // libmicrohttpd's threads (threads mode) inherit this mask: the daemon's signals stay
    // with the main thread's loop (fw_thread.h).
    sigset_t old_mask;
    fw_thread_block_signals(&old_mask);
    self->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, s_on_request, self, MHD_OPTION_EXTERNAL_LOGGER, s_on_mhd_log, self,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_NOTIFY_COMPLETED, s_on_completed, self,
        MHD_OPTION_NOTIFY_CONNECTION, s_on_connection, self, MHD_OPTION_CONNECTION_LIMIT,
        FW_HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT, FW_HTTP_CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        self->conn_memory ? self->conn_memory : (size_t)FW_HTTP_CONN_MEMORY,
        MHD_OPTION_THREAD_STACK_SIZE, (size_t)FW_HTTP_THREAD_STACK, MHD_OPTION_ARRAY, tls,
        MHD_OPTION_END);
    fw_thread_restore_signals(&old_mask);
    if (!self->mhd) {
        close(fd);
        fw_err_set(err, "http: cannot start libmicrohttpd on %s", listen_address);
        return -1;
    }
    self->port = bound;
    self->on_loop = on_loop;
    if (on_loop && fw_http_loop_attach(self, err) < 0) {
        self->on_loop = false;
        MHD_stop_daemon(self->mhd);
        self->mhd = NULL;
        return -1;
    }
    fw_info("http.listen", "address=%s port=%d tls=%s auth=%s serve=%s", listen_address, bound,
            self->tls_pem[0] ? "true" : "false", self->auth ? "web.config.file" : "none",
            on_loop ? "loop" : "threads");
    return 0;
}

int
fw_http_port(const fw_http_t *self)
{
    return self ? self->port : -1;
}

void
fw_http_set_ready(fw_http_t *self, bool ready)
{
    if (self)
        atomic_store(&self->ready, ready);
}

void
fw_http_set_unready(fw_http_t *self, const char *reason)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    snprintf(self->unready_reason, sizeof(self->unready_reason), "%s", reason ? reason : "");
    pthread_mutex_unlock(&self->lock);
    atomic_store(&self->ready, false);
}

bool
fw_http_reload_requested(fw_http_t *self)
{
    if (!self)
        return false;
    pthread_mutex_lock(&self->lock);
    self->reload_taken_gen = self->reload_req_gen;
    bool pending = self->reload_req_gen > self->reload_done_gen;
    pthread_mutex_unlock(&self->lock);
    return pending;
}

void
fw_http_reload_done(fw_http_t *self, int rc, const char *errmsg)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    // Answer the tickets this reload saw; if the caller never asked, answer all of them.
    uint64_t upto = self->reload_taken_gen > self->reload_done_gen ? self->reload_taken_gen
                                                                   : self->reload_req_gen;
    if (upto > self->reload_done_gen)
        self->reload_done_gen = upto;
    self->reload_rc = rc;
    snprintf(self->reload_msg, sizeof(self->reload_msg), "%s",
             errmsg ? errmsg : (rc == 0 ? "" : "unknown error"));
    pthread_cond_broadcast(&self->cond);
    pthread_mutex_unlock(&self->lock);
}

const char *
fw_http_method(const fw_http_request_t *req)
{
    return req ? req->method : NULL;
}

const char *
fw_http_path(const fw_http_request_t *req)
{
    return req ? req->path : NULL;
}

const char *
fw_http_client_ip(const fw_http_request_t *req, char *buf, size_t size)
{
    buf[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        req ? MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS) : NULL;
    if (!ci || !ci->client_addr)
        return buf;
    socklen_t len = ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in);
    if (getnameinfo(ci->client_addr, len, buf, (socklen_t)size, NULL, 0, NI_NUMERICHOST) != 0)
        buf[0] = '\0';
    return buf;
}

struct s_argq {
    const char *name;
    const char **out;
    size_t max;
    size_t n;
    bool first_only;
    size_t *len; // first_only: the value's length in bytes; else NULL or one per value
};

static enum MHD_Result
s_on_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size, const char *value,
         size_t value_size)
{
    (void)kind;
    struct s_argq *q = cls;
    if (!key || key_size != strlen(q->name) || memcmp(key, q->name, key_size) != 0)
        return MHD_YES;
    if (q->n < q->max)
        q->out[q->n] = value ? value : "";
    if (q->len && q->first_only)
        *q->len = value ? value_size : 0;
    else if (q->len && q->n < q->max)
        q->len[q->n] = value ? value_size : 0;
    q->n++;
    return q->first_only ? MHD_NO : MHD_YES;
}

const char *
fw_http_arg(const fw_http_request_t *req, const char *name)
{
    size_t len;
    return fw_http_arg_n(req, name, &len);
}

const char *
fw_http_arg_n(const fw_http_request_t *req, const char *name, size_t *len)
{
    const char *v = NULL;
    *len = 0;
    if (!req || !name)
        return NULL;
    struct s_argq q = {name, &v, 1, 0, true, len};
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, s_on_arg, &q);
    if (q.n > 0)
        return v;
    for (size_t i = 0; i < req->form_len; i++)
        if (strcmp(req->form_kv[i].key, name) == 0) {
            *len = req->form_kv[i].value_len;
            return req->form_kv[i].value;
        }
    return NULL;
}

size_t
fw_http_args_n(const fw_http_request_t *req, const char *name, const char **out, size_t *lens,
               size_t max)
{
    if (!req || !name)
        return 0;
    struct s_argq q = {name, out, out ? max : 0, 0, false, lens};
    MHD_get_connection_values_n(req->conn, MHD_GET_ARGUMENT_KIND, s_on_arg, &q);
    for (size_t i = 0; i < req->form_len; i++) {
        if (strcmp(req->form_kv[i].key, name) != 0)
            continue;
        if (q.n < q.max) {
            out[q.n] = req->form_kv[i].value;
            if (lens)
                lens[q.n] = req->form_kv[i].value_len;
        }
        q.n++;
    }
    return q.n;
}

size_t
fw_http_args(const fw_http_request_t *req, const char *name, const char **out, size_t max)
{
    return fw_http_args_n(req, name, out, NULL, max);
}

const char *
fw_http_body(const fw_http_request_t *req, size_t *len)
{
    if (len)
        *len = req && req->body ? req->body_len : 0;
    return req && req->body ? req->body : "";
}

const char *
fw_http_header(const fw_http_request_t *req, const char *name)
{
    if (!req || !name)
        return NULL;
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void
fw_http_respond(struct fw_http_response *resp, int status, const char *content_type,
                const char *body)
{
    if (!resp)
        return;
    free(resp->body);
    resp->status = status;
    resp->body = fw_strdup(body ? body : "");
    resp->body_len = 0;
    resp->content_type = content_type ? content_type : FW_HTTP_CT_TEXT;
}
