/*  fw_http_int.h — fw_http's insides, shared by fw_http.c (the server, its routes and
    libmicrohttpd callbacks) and fw_http_loop.c (serving from a daemon's zloop). Not for other
    modules.
*/
#ifndef FW_HTTP_INT_H
#define FW_HTTP_INT_H

#include <czmq.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "fw_http.h"
#include "fw_http_auth.h"
#include "fw_webcfg.h"

// Stack of each connection thread, set rather than inherited from RLIMIT_STACK (glibc gives
// threads 2 MiB when it is unlimited): recursive walks such as tsdb's PromQL evaluator are
// bounded for this size (FW_PROMQL_MAX_DEPTH). Untouched stack pages cost no memory.
#define FW_HTTP_THREAD_STACK (8u * 1024u * 1024u)

struct fw_http_route {
    char *methods; // owned, "GET,POST"
    char *path;    // owned
    size_t path_len;
    bool prefix;  // path ends in '/'
    bool on_loop; // fw_http_route_loop: runs on the loop thread in loop mode
    fw_http_handler_fn fn;
    void *arg;       // borrowed
    char label[160]; // handler="<path>", the request counters' label, built once (s_count)
};

struct fw_http_kv {
    const char *key;   // borrowed from the request's decoded form copy
    const char *value; // borrowed likewise
    size_t value_len;  // bytes in value, more than strlen() when it holds a decoded %00
};

struct fw_http_request {
    fw_http_t *http;             // borrowed
    struct MHD_Connection *conn; // borrowed
    char *method;                // method_buf, or owned when longer
    char *path;                  // path_buf, or owned when longer
    char method_buf[16];         // most methods, without an allocation a request
    char path_buf[64];           // most paths (routes', with a short query) likewise
    char *body;                  // owned, NUL-terminated, may be NULL
    size_t body_len;
    size_t body_cap;
    size_t body_want;           // Content-Length when it came and is small, else 0
    bool too_big;               // body exceeded FW_HTTP_BODY_MAX
    char *form;                 // owned: decoded copy of a form body
    struct fw_http_kv *form_kv; // owned array; strings point into form
    size_t form_len;
    size_t form_cap;
    struct timespec start;
    const char *denied;                   // NULL, else why --web.config.file refuses it
    char *sec_headers[FW_WEBCFG_HEADERS]; // owned: the web config's response headers
    // Loop mode: a request whose handler runs on a thread of its own (fw_http_loop.c).
    const struct fw_http_route *route; // borrowed: the route it runs, NULL: none
    struct fw_http_response resp;      // that handler's answer, sent once it is done
    atomic_bool done;                  // the handler returned; the connection was resumed
};

struct fw_http {
    char *daemon;           // owned
    char *title;            // owned: daemon with a capital first letter
    char *probe_ok;         // owned: /-/healthy and ready /-/ready body; NULL: Prometheus's
    fw_metrics_t *metrics;  // borrowed
    struct MHD_Daemon *mhd; // owned
    int port;
    struct fw_http_route *routes; // owned
    size_t routes_len;
    size_t routes_cap;
    atomic_bool ready;
    size_t conn_memory;           // per-connection pool, 0: FW_HTTP_CONN_MEMORY
    fw_http_handler_fn too_large; // with too_large_arg: the 413 answer, NULL: plain text
    void *too_large_arg;
    char *web_config;     // owned: --web.config.file, NULL: none
    fw_http_auth_t *auth; // owned: NULL without a web config
    char *tls_pem[3];     // owned: certificate, key, client CA (PEM) while TLS serves
    // owned: an empty answer of each content type, queued for every connection that answers
    // nothing else (no body, no extra header): text, JSON. Built in fw_http_new, read-only.
    struct MHD_Response *empty[2];
    // Loop mode (fw_http_set_loop): libmicrohttpd runs from this zloop, on its thread.
    zloop_t *loop;                 // borrowed, NULL: libmicrohttpd's own threads
    bool on_loop;                  // serving from the loop (set by fw_http_start)
    zmq_pollitem_t poll_item;      // libmicrohttpd's epoll descriptor in the loop
    int timer;                     // the one-shot timer for MHD_get_timeout, -1: none
    int64_t timer_at;              // when it fires (zclock_mono)
    int resume_fd;                 // eventfd: handler threads resumed connections
    zmq_pollitem_t resume_item;    // resume_fd in the loop
    atomic_uint_fast64_t accepted; // connections libmicrohttpd accepted (s_on_connection)
    uint64_t run_polls;            // poll()s s_run made after a run (loop thread; tests read)

    pthread_mutex_t lock; // guards everything below
    pthread_cond_t cond;
    bool stopping;
    uint64_t reload_req_gen;   // tickets handed to /-/reload requests
    uint64_t reload_taken_gen; // last ticket seen by fw_http_reload_requested()
    uint64_t reload_done_gen;  // tickets up to this one are answered
    int reload_rc;
    char reload_msg[1024];
    char unready_reason[512]; // why /-/ready answers 503, when the daemon said
    size_t workers;           // loop mode: handler threads running
};

// Queue the answer for req and count it under handler. Takes ownership of resp->body (and
// resp->stream). The thread libmicrohttpd calls back on (the connection's, or the loop's).
enum MHD_Result fw_http_send(fw_http_request_t *req, const char *handler,
                             struct fw_http_response *resp, const char *allow);

// Loop mode (fw_http_loop.c). After MHD_start_daemon: put libmicrohttpd's epoll descriptor
// and its timeout into self->loop. 0 or -1 with err.
int fw_http_loop_attach(fw_http_t *self, fw_err_t *err);
// Before MHD_stop_daemon: wait (bounded by the handlers: /-/reload answers 503 once
// stopping is set) until no handler thread runs, and take libmicrohttpd out of the loop.
void fw_http_loop_detach(fw_http_t *self);
// Run route's handler for req on a thread of its own, the connection suspended meanwhile;
// once resumed, fw_http_loop_answer sends what it answered.
enum MHD_Result fw_http_loop_offload(fw_http_request_t *req, const struct fw_http_route *route);
// The answer of a handler that ran on its own thread (req->done), sent on the loop.
enum MHD_Result fw_http_loop_answer(fw_http_request_t *req);

#endif
