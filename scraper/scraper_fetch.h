/*  scraper_fetch.h — the HTTP fetch actor: every scrape's transfer, on one libcurl multi.

    A zactor owns one CURLM and drives all transfers with curl_multi_socket_action() from
    its own poll() over the actor pipe and curl's sockets (STYLE.md "Hot paths"), so
    scraping many targets needs one thread, never one per target, and the zloop thread
    never blocks on the network. The owner (the zloop thread) queues each request with its
    due time (scraper_fetch_schedule: the actor keeps the schedule, so starting a scrape
    wakes neither thread) and may cancel it until it starts; each answer goes to the hand-off
   function given at scraper_fetch_new(), called on the actor's thread (the scraper hands the body
   straight to a worker, so a scrape does not pass through the loop between fetch and work), or,
   when there is none or it refuses, is read with scraper_fetch_recv() from a zloop reader on the
   actor.

    Requests carry Prometheus's headers: an Accept preferring OpenMetrics then text 0.0.4,
    Accept-Encoding (gzip, decoded by curl, or identity when the job disables compression),
    X-Prometheus-Scrape-Timeout-Seconds and User-Agent floorwatch-scraper/<version>, and the
    job's HTTP client settings (fw_promcfg_http.h): basic auth, an Authorization header, TLS
    (CA, client certificate, server name, verification, versions), a proxy, redirects. Secret
    files (password_file, credentials_file, username_file) are read by the actor when each
    request starts, as Prometheus re-reads them per request. A transfer fails on a
    connection or TLS error, on the per-request timeout (which also cuts off a slow
    trickle), on an HTTP status other than 2xx, on an unreadable secret file, or when the
    decoded body exceeds the request's body size limit: the bytes are counted as curl
    decodes them, so a gzip bomb stops at the limit, never inflated in memory.
*/
#ifndef SCRAPER_FETCH_H
#define SCRAPER_FETCH_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "fw_promcfg_http.h"

// The body size limit of a request that sets none.
#define SCRAPER_FETCH_MAX_BODY (256 * 1024 * 1024)
#define SCRAPER_FETCH_ACCEPT                                                                       \
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,"             \
    "*/*;q=0.1"
// The same with Prometheus 3's escaping= (metric_name_escaping_scheme) on both formats: a
// printf format taking the scheme twice.
#define SCRAPER_FETCH_ACCEPT_ESCAPING                                                              \
    "Accept: application/openmetrics-text;version=1.0.0;escaping=%s;q=0.5,"                        \
    "text/plain;version=0.0.4;escaping=%s;q=0.4,*/*;q=0.1"

struct scraper_fetch_result {
    uint64_t id;
    char *error;        // owned; NULL when the transfer succeeded
    char *content_type; // owned; "" when the server sent none
    zframe_t *body;     // owned; the (decoded) body, empty on error; NULL in a hand-off
                        // (see data)
    const char *data;   // borrowed: in a hand-off, the body until the hand-off returns
    size_t len;         // (scraper_fetch_result_keep takes it over into buf); else NULL, 0
    char *buf;          // owned: the buffer data points into once kept; else NULL
    char **lender;      // borrowed, during a hand-off only: the actor's slot holding the
                        // buffer data lies in, for scraper_fetch_result_keep; else NULL
    double duration_s;  // from start to the last byte (or the failure)
    void *job;          // borrowed: the request's scraper_fetch_opts.job
    int64_t start_ms;   // wall clock when the request started (or was cancelled)
    bool cancelled;     // scraper_fetch_cancel took it before it started (error says so)
    bool skipped;       // not started: due before its after_seq was settled (error says so)
    size_t others;      // transfers the actor had in flight beside this one when it answered
};

// Called on the actor's thread with each answer whose request carried a job (never a
// cancelled one): 0 when it took *res (moved out), else the answer is sent on the pipe for
// scraper_fetch_recv(). The body is lent (res->data, len), not copied: a hand-off that
// keeps the answer past its return calls scraper_fetch_result_keep first, which takes the
// actor's buffer over rather than copying it (the actor makes a new one for its next
// transfer), so a 40 MB body costs the actor's thread no copy and no free: the other
// targets' scrapes start on time however big one target's answer is.
typedef int(scraper_fetch_handoff_fn)(struct scraper_fetch_result *res, void *arg);

typedef struct scraper_fetch scraper_fetch_t;

// Start the actor (it signals once its CURLM is ready); takes a reference on libcurl's
// global state. handoff (with arg) may be NULL. NULL only if czmq fails.
scraper_fetch_t *scraper_fetch_new(scraper_fetch_handoff_fn *handoff, void *arg);
// Stop the actor (transfers in flight and requests scheduled are dropped, their jobs
// untouched) and release libcurl's global state.
void scraper_fetch_destroy(scraper_fetch_t **self_p);
// The actor's pipe: readable when an answer waits for scraper_fetch_recv (a zloop reader).
zsock_t *scraper_fetch_sock(scraper_fetch_t *self);

// How one request is made.
struct scraper_fetch_opts {
    int64_t timeout_ms;
    int64_t body_size_limit; // bytes of the decoded body; <= 0: SCRAPER_FETCH_MAX_BODY
    bool enable_compression; // Accept-Encoding: gzip (else identity)
    const char *escaping;    // Accept's escaping= (fw_names_escaping_str); NULL: none
    const struct fw_http_client_config *http; // borrowed (copied); NULL: plain GET
    const char *error; // NULL, or answer at once with this error and make no request
    // 0, or: when due, the request starts only if the owner's last scraper_fetch_set_settled
    // is at least this; else it is answered at once on the pipe with `skipped` set (never
    // handed off) and makes no request. The scraper gives a big scrape's last batch seq, so
    // a target's next scrape waits until tsdb has its previous one.
    uint64_t after_seq;
    void *job; // opaque, carried to the answer (scraper_fetch_result.job)
};

// Ask the actor to GET url as o says at monotonic time due_mono (ms; now or past: at
// once); the answer carries id, which must be unique among the requests not answered yet.
// Call these three on one thread only (the owner's). The request is queued without waking
// the actor unless it is due before the actor looks at its queue again anyway (when a
// transfer or its own deadline wakes it, at least once a second): scheduling a target's next
// scrape costs neither thread a wake-up. Never blocks. 0 (cannot fail).
int scraper_fetch_schedule(scraper_fetch_t *self, uint64_t id, const char *url,
                           const struct scraper_fetch_opts *o, int64_t due_mono);
// The same, due now.
int scraper_fetch_start(scraper_fetch_t *self, uint64_t id, const char *url,
                        const struct scraper_fetch_opts *o);
// Cancel request id if it has not started: it is answered on the pipe at once with
// `cancelled` set, never handed off. A request already started, or answered, is not
// affected (its answer comes as usual), nor is an unknown id. The actor is woken only when
// no earlier cancel's WAKE is still on its way (those cancels not yet taken): cancels
// queued meanwhile ride on it. 0, or -1 when the actor could not be woken (the cancel
// then happens within a second).
int scraper_fetch_cancel(scraper_fetch_t *self, uint64_t id);
// The same for the n ids (copied; n 0 does nothing), with at most one WAKE for them all:
// a reload that cancels the scrapes of 10,000 targets sends the actor one message.
int scraper_fetch_cancel_n(scraper_fetch_t *self, const uint64_t *ids, size_t n);
// Called on the actor's thread at the end of each round of its loop, after that round's
// answers were handed off and before it waits (arg: the one given here): a hand-off that
// defers work, or its hand-back to the owner, flushes it there, so answers that came
// together cost the owner one wake-up. Set it before the first request.
typedef void(scraper_fetch_round_fn)(void *arg);
void scraper_fetch_on_round(scraper_fetch_t *self, scraper_fetch_round_fn *fn, void *arg);
// How many times the actor called poll() (each a wait, unless something was ready): any
// thread, for the scraper's self-metrics and tests.
uint64_t scraper_fetch_polls(const scraper_fetch_t *self);
// How many easy handles the actor set up from scratch (new, or reset for a request its
// settings did not fit), counted before the request is sent: any thread, for tests. A target
// scraped again with the same URL and settings reuses its handle as it is.
uint64_t scraper_fetch_setups(const scraper_fetch_t *self);
// How many times the owner woke the actor (schedules due early, cancels): for tests.
uint64_t scraper_fetch_wakes(const scraper_fetch_t *self);
// Of those, the wakes for cancels (any thread: the scraper's self-metrics).
uint64_t scraper_fetch_wakes_cancel(scraper_fetch_t *self);

// Publish settled (the owner's thread; read by the actor when a request is due): requests
// whose after_seq is at most this may start. It only grows in use (fw_sender_settled).
void scraper_fetch_set_settled(scraper_fetch_t *self, uint64_t settled);

// Read one answer from the actor (call when it is readable). 0, or -1 when the message was
// not an answer (out is then empty). Release out with scraper_fetch_result_clear().
int scraper_fetch_recv(scraper_fetch_t *self, struct scraper_fetch_result *out);
void scraper_fetch_result_clear(struct scraper_fetch_result *r);
// Make r's lent body (data, len) its own; nothing when it has one already. In a hand-off
// (r->lender set) the actor's buffer is taken over, not copied (r->buf; data and len stay
// and now point into it); else the body is copied (r->body). Constant time in a hand-off.
void scraper_fetch_result_keep(struct scraper_fetch_result *r);
// Free r's body (owned or lent: then only forgotten), keeping the rest of the answer: a
// worker frees a big body on its own thread once it has read it.
void scraper_fetch_result_drop_body(struct scraper_fetch_result *r);
// r's body, whether owned or lent, and its length.
const char *scraper_fetch_result_body(const struct scraper_fetch_result *r, size_t *len);

#endif
