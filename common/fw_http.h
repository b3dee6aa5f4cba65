/*  fw_http.h — every daemon's HTTP endpoint, on libmicrohttpd.

    One server per daemon serves /metrics (the daemon's fw_metrics registry, text format
    0.0.4), /-/healthy, /-/ready and /-/reload, plus the routes the daemon adds (tsdb's
    /api/v1/..., alertd's /api/v2/...). By default it runs on libmicrohttpd's threads (one per
    connection), so route handlers run there, never on the daemon's zloop thread: a handler may
    only touch state that is safe to share (LMDB read transactions, the metrics registry, data
    behind the daemon's own mutex). With fw_http_set_loop() it is served from the daemon's
    zloop instead (fw_http_loop.c): routes added with fw_http_route_loop() run on the loop
    thread, every other handler still on a thread of its own, one per request, as before.
    Every request is counted in
    fw_http_requests_total{handler,code} and timed in the histogram
    fw_http_request_duration_seconds{handler} (buckets 0.1 s to 120 s, as Prometheus's own).

    /-/reload (POST or PUT) asks the zloop thread to reload: the request waits (at most 30 s)
    until the daemon calls fw_http_reload_done(), and answers 200, or 500 with the error.
*/
#ifndef FW_HTTP_H
#define FW_HTTP_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_err.h"
#include "fw_metrics.h"

typedef struct fw_http fw_http_t;
typedef struct fw_http_request fw_http_request_t; // opaque; valid during the handler only

#define FW_HTTP_HEADERS_MAX 4 // extra headers a handler may add to its answer
// A request body longer than this (16 MiB) is not kept: the request is answered 413 without
// running its route (fw_http_set_too_large says how), and the connection serves on.
#define FW_HTTP_BODY_MAX (16u * 1024u * 1024u)

struct fw_http_response {
    int status;               // default 200
    char *body;               // owned: set with malloc'd text (fw_strdup); freed by fw_http
    size_t body_len;          // 0: strlen(body)
    const char *content_type; // borrowed literal; default "text/plain; charset=utf-8"
    // More response headers: name a borrowed literal (NULL: unused), value copied here.
    struct {
        const char *name;
        char value[64];
    } headers[FW_HTTP_HEADERS_MAX];
    // Instead of body: an answer made while it is sent (chunked transfer encoding, for
    // answers too large to hold). stream(stream_arg, buf, max) runs on the connection's
    // thread each time the socket takes more: it returns the bytes it put in buf (1..max),
    // 0 at the end, or -1 to break the answer off (the client sees it truncated).
    // stream_free(stream_arg) runs once, when the answer ends or the client goes away,
    // also when it never started. Set by the handler, owned by fw_http from its return.
    long (*stream)(void *arg, char *buf, size_t max);
    void (*stream_free)(void *arg);
    void *stream_arg;
};

// A route handler fills resp. Return 0; -1 answers 500 with a generic body.
typedef int (*fw_http_handler_fn)(const fw_http_request_t *req, struct fw_http_response *resp,
                                  void *arg);

// A server that will count into metrics (borrowed; must outlive the server).
fw_http_t *fw_http_new(const char *daemon, fw_metrics_t *metrics);
// The body of 200 answers to /-/healthy and /-/ready (copied; NULL: Prometheus's
// "<Daemon> is Healthy.\n" and "<Daemon> is Ready.\n", the default). Before fw_http_start().
void fw_http_set_probe_body(fw_http_t *self, const char *body);
// Stop serving (waits for handlers to return) and free. From a loop: on the loop's thread.
void fw_http_destroy(fw_http_t **self_p);

// Add a route before fw_http_start(). `path` matches exactly, or as a prefix when it ends
// in '/' ("/api/v2/silence/"). `methods` is e.g. "GET,POST". Later routes win over earlier.
void fw_http_route(fw_http_t *self, const char *methods, const char *path, fw_http_handler_fn fn,
                   void *arg);

// Like fw_http_route, for a handler that must run on the loop thread when the server is
// served from a loop (fw_http_on_loop): it may then use the loop's sockets and must not block.
// Without a loop (or with a web config) it runs on a connection's thread like any route, so
// the handler asks fw_http_on_loop() where it is. A path may have a route of each kind.
void fw_http_route_loop(fw_http_t *self, const char *methods, const char *path,
                        fw_http_handler_fn fn, void *arg);

// Before fw_http_start: serve from loop (borrowed; must outlive the server, which is
// destroyed before it) on the thread that runs it: libmicrohttpd's epoll descriptor becomes a
// poller of the loop, and its connection timeouts a timer. fw_http_route_loop handlers run on
// the loop; the others each on a thread of their own (the connection waits, the loop does
// not), so a slow handler still never stalls the loop. Ignored with a web config
// (fw_http_set_web_config): bcrypt checks and TLS handshakes stay off the loop, on
// libmicrohttpd's threads.
void fw_http_set_loop(fw_http_t *self, zloop_t *loop);
// True once fw_http_start serves from the loop.
bool fw_http_on_loop(const fw_http_t *self);

// Before fw_http_start: each connection's memory pool (request line, headers, read buffer)
// is bytes instead of 512 KiB; 0 keeps the default. libmicrohttpd zeroes a keep-alive
// connection's whole pool after every request, so a daemon whose requests are small (no
// long query strings) answers faster with a small pool; bodies stream through it at any size.
void fw_http_set_conn_memory(fw_http_t *self, size_t bytes);

// Before fw_http_start: serve as --web.config.file at path says (Prometheus's web
// configuration file, fw_webcfg.h; copied; NULL or "": none): basic authentication on
// every route, /metrics and /-/healthy included (401 with "WWW-Authenticate: Basic", counted
// in fw_http_requests_total and fw_http_auth_failures_total{reason}), its response headers,
// and TLS. fw_http_start() loads it and fails with its first error (file:line:col).
void fw_http_set_web_config(fw_http_t *self, const char *path);

// Before fw_http_start: answer a request whose body exceeds FW_HTTP_BODY_MAX (to a path some
// route serves) with fn(req, resp, arg) instead of the plain-text "request body too large",
// so a daemon answers in its API's error format. resp->status comes preset to 413; req has no
// body. fn runs where the route would have been dispatched (a connection's thread, or the
// loop with fw_http_set_loop), so it must not block. NULL, or fn returning -1: the plain text.
void fw_http_set_too_large(fw_http_t *self, fw_http_handler_fn fn, void *arg);

// Listen on "host:port" (":port" means all addresses; port 0 picks a free one). 0 or -1.
int fw_http_start(fw_http_t *self, const char *listen_address, fw_err_t *err);
// The port actually bound (useful with port 0).
int fw_http_port(const fw_http_t *self);

// /-/ready answers 200 once set, 503 before.
void fw_http_set_ready(fw_http_t *self, bool ready);
// Answer /-/ready with 503 "Service Unavailable: <reason>" (reason copied, up to 511 bytes)
// until fw_http_set_ready(self, true). Any thread.
void fw_http_set_unready(fw_http_t *self, const char *reason);

// True when a /-/reload request is waiting for the zloop thread.
bool fw_http_reload_requested(fw_http_t *self);
// Finish the waiting reload requests: rc 0 answers 200, else 500 with errmsg.
void fw_http_reload_done(fw_http_t *self, int rc, const char *errmsg);

// Request accessors. Strings are borrowed for the handler's duration.
const char *fw_http_method(const fw_http_request_t *req);
const char *fw_http_path(const fw_http_request_t *req);
// The client's address without the port ("127.0.0.1", "::1") into buf; "" when unknown.
const char *fw_http_client_ip(const fw_http_request_t *req, char *buf, size_t size);
// A query-string argument, else an application/x-www-form-urlencoded body field; or NULL.
const char *fw_http_arg(const fw_http_request_t *req, const char *name);
// The same, with the value's length in bytes in *len (0 when absent): more than strlen()
// when the decoded value holds a NUL byte (%00), which a caller must not silently cut.
const char *fw_http_arg_n(const fw_http_request_t *req, const char *name, size_t *len);
// Every value of a repeated argument (match[]=a&match[]=b), from query string then form
// body; fills at most max and returns how many there are.
size_t fw_http_args(const fw_http_request_t *req, const char *name, const char **out, size_t max);
// The same, with each value's length in bytes in lens[] (more than strlen() when it holds a
// NUL byte, which a caller must refuse rather than cut).
size_t fw_http_args_n(const fw_http_request_t *req, const char *name, const char **out,
                      size_t *lens, size_t max);
// The raw request body (JSON APIs); len may be 0.
const char *fw_http_body(const fw_http_request_t *req, size_t *len);
const char *fw_http_header(const fw_http_request_t *req, const char *name);

// Convenience: set resp to status with a copy of body and a content type.
void fw_http_respond(struct fw_http_response *resp, int status, const char *content_type,
                     const char *body);

#endif
