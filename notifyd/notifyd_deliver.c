/*  notifyd_deliver.c — delivery on notifyd's zloop: a queue, libcurl multi, retry timers.

    libcurl's multi socket interface runs on the caller's zloop: each socket libcurl wants
    watched is a zloop poller (s_on_fd), and one one-shot zloop timer (s_arm) stands for the
    earlier of libcurl's own timeout and the next queued job due. Nothing here blocks: libcurl
    connects, sends and reads without blocking, and the resolver is libcurl's threaded one
    (receivers are loopback or names). notifyd_deliver_send starts a due job's transfer at
    once, so on a kept-alive connection the request is written before it returns; finished
    transfers are read on the loop's next turn (s_pump), never inside send.
    Due jobs wait in `queue` for a free slot (and a token), jobs in their retry backoff in
    `waiting` (notifyd_retryq.h: a pass over the queue looks at them only once due); running
    ones are attached to the multi handle with the job as CURLOPT_PRIVATE. What differs between HTTP
    and SMTP is only how a transfer is set up (s_setup_http, s_setup_smtp) and how its end is
    judged (s_judge_http, s_judge_smtp).
    A finished transfer's easy handle is reset and kept in `idle` (at most max_in_flight) for
    the next attempt: a new handle costs its allocations (the struct and a 16 KiB buffer)
    and, when freed, a malloc_consolidate on the next large allocation — a tenth of the time
    from NOTIFY to request on the wire (perf, tools/bench-first-notify.sh). curl_easy_reset
    clears every option, so nothing of one job (SMTP upload, credentials, headers) carries
    into the next; connections and the DNS cache live in the multi handle either way.

    Per receiver (struct s_limit, created at its first job): how many of its jobs are in
    flight, at most half of max_in_flight (at least 1), so a receiver that hangs never holds
    every slot; and, with a rate limit, a token bucket (`requests` tokens, refilled evenly
    over `interval_ms`, one taken per attempt). A due job without a token waits in the
    queue; a new job finding `queue` of its receiver's jobs already waiting fails without
    an attempt (rate_limited), reported on the loop's next turn when found inside
    notifyd_deliver_send (as every outcome is). Each pass over the queue counts the waiting
    jobs anew, in queue order (oldest first), so a job once admitted to wait keeps its place.
*/
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_secret.h"
#include "fw_time.h"
#include "notifyd_am_metrics.h"
#include "notifyd_backoff.h"
#include "notifyd_retryq.h"
#include "notifyd_deliver.h"
#include "notifyd_http.h"
#include "notifyd_oauth2.h"

struct s_job {
    uint64_t id;
    char *receiver;         // owned
    char *integration;      // owned: "webhook", "slack", "email", ... (metrics label)
    struct notifyd_req req; // owned
    int attempts;
    size_t step;                // which of req's `then` chain is on its way (0: req itself)
    int64_t chain_us;           // the chain's time so far in this attempt
    int64_t next_at;            // mono ms of the next attempt
    uint64_t seq;               // the order it was queued in (s_enqueue), oldest first
    CURL *easy;                 // owned while running
    struct curl_slist *headers; // owned while running: HTTP headers or SMTP recipients
    char *answer;               // owned: this attempt's HTTP answer body (bounded), or NULL
    size_t answer_len;
    bool truncated; // the answer was longer than NOTIFYD_REQ_MAX_ANSWER
    // http_config.oauth2: the token request on its way (its style), or NONE; whether the
    // style is being probed; whether the attempt's token is in req's headers already.
    enum notifyd_oauth2_style token;
    bool token_probe, token_ready;
    // owned while running: the lists libcurl reads for http_config (notifyd_http)
    struct notifyd_http_lists http_lists;
    size_t sent; // SMTP: bytes of the message libcurl read in this attempt
    char errbuf[CURL_ERROR_SIZE];
};

// One receiver's share of the deliverer (see the header comment).
struct s_limit {
    int64_t inflight;
    double tokens;   // rate limit: tokens left at last_ms
    int64_t last_ms; // mono ms of the last refill; 0 before the first
    uint64_t pass;   // the pass `waiting` counts for
    int64_t waiting; // jobs waiting for a token in that pass
};

struct notifyd_deliver {
    struct notifyd_cfg_retry retry;
    struct notifyd_backoff backoff; // this deliverer's jitter generator (own seed)
    int64_t timeout_ms, max_in_flight;
    fw_metrics_t *metrics;        // borrowed
    zloop_t *loop;                // borrowed
    notifyd_deliver_fn on_result; // with arg
    void *arg;
    CURLM *multi;              // owned
    zlist_t *queue;            // owned jobs due, waiting for a token or a free slot, by seq
    notifyd_retryq_t *waiting; // owned: jobs waiting out their backoff (notifyd_retryq.h)
    uint64_t seq;              // the last job's seq
    zlist_t *inflight;         // owned jobs attached to multi
    CURL **idle;               // owned: reset easy handles for the next attempts
    size_t idle_len;           // at most max_in_flight
    zhashx_t *limits;          // owned: receiver -> struct s_limit *
    notifyd_oauth2_t *oauth2;  // owned: http_config.oauth2 tokens
    int64_t running;
    uint64_t pass;
    int64_t curl_at;  // mono ms libcurl wants its timeout handled at, INT64_MAX: never
    int64_t queue_at; // mono ms the queue needs a pass at, INT64_MAX: never
    int timer;        // the zloop timer for min(curl_at, queue_at), -1: none
    int64_t timer_at;
    bool sending; // inside notifyd_deliver_send: no outcome is reported (s_start_due)
};

// How one attempt ended.
struct s_verdict {
    bool ok, retry;
    bool next;           // the answer function made the request its next step (send now)
    const char *reason;  // class: metrics label and RESULT reason ("" when ok)
    char own_reason[32]; // an answer function's reason, which reason may point to
    char detail[256];    // what the peer said, or ""
};

static void
s_job_free(struct s_job **jp)
{
    struct s_job *j = *jp;
    if (!j)
        return;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    curl_slist_free_all(j->headers);
    notifyd_http_lists_free(&j->http_lists);
    free(j->receiver);
    free(j->integration);
    notifyd_req_clear(&j->req);
    free(j->answer);
    free(j);
    *jp = NULL;
}

// --- setting up a transfer ---

// Keep the answer body only for a request that reads it (an answer function's, or a token
// request's), and at most NOTIFYD_REQ_MAX_ANSWER bytes of it: a hostile peer's endless
// answer is read and dropped, never held (`truncated` says it was cut).
static size_t
s_keep(char *ptr, size_t size, size_t n, void *arg)
{
    struct s_job *j = arg;
    size_t len = size * n;
    if (!j->req.answer && !j->token)
        return len;
    if (j->answer_len >= NOTIFYD_REQ_MAX_ANSWER) {
        j->truncated = j->truncated || len > 0;
        return len;
    }
    j->truncated = j->truncated || len > NOTIFYD_REQ_MAX_ANSWER - j->answer_len;
    size_t room = NOTIFYD_REQ_MAX_ANSWER - j->answer_len;
    size_t k = len < room ? len : room;
    j->answer = fw_realloc(j->answer, j->answer_len + k + 1);
    memcpy(j->answer + j->answer_len, ptr, k);
    j->answer_len += k;
    j->answer[j->answer_len] = '\0';
    return len;
}

// Feed the message to libcurl's SMTP upload.
static size_t
s_read(char *buf, size_t size, size_t n, void *arg)
{
    struct s_job *j = arg;
    size_t left = strlen(j->req.body) - j->sent, want = size * n;
    size_t k = left < want ? left : want;
    memcpy(buf, j->req.body + j->sent, k);
    j->sent += k;
    return k;
}

// The request of j's chain on its way now.
static const struct notifyd_req *
s_cur(const struct s_job *j)
{
    const struct notifyd_req *r = &j->req;
    for (size_t i = 0; i < j->step && r->then; i++)
        r = r->then;
    return r;
}

static void
s_setup_http(struct s_job *j)
{
    CURL *e = j->easy;
    const struct notifyd_req *cur = s_cur(j);
    bool own_type = false;
    for (size_t i = 0; i < j->req.headers_len; i++) {
        j->headers = curl_slist_append(j->headers, j->req.headers[i]);
        own_type = own_type || strncasecmp(j->req.headers[i], "Content-Type:", 13) == 0;
    }
    if (!own_type && !cur->get)
        j->headers = curl_slist_append(j->headers, "Content-Type: application/json");
    notifyd_http_apply(e, j->req.http, cur->url, &j->headers, &j->http_lists);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, j->req.follow_redirects ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "floorwatch-notifyd/0.1.0");
    if (cur->get) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, cur->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(cur->body));
    }
    if (cur->method)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, cur->method);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
}

static void
s_opt_str(CURL *e, CURLoption o, const char *v)
{
    if (v && *v)
        curl_easy_setopt(e, o, v);
}

static void
s_setup_smtp(struct s_job *j)
{
    CURL *e = j->easy;
    const struct notifyd_req_smtp *m = &j->req.smtp;
    j->sent = 0;
    char *from = fw_asprintf("<%s>", m->from ? m->from : "");
    curl_easy_setopt(e, CURLOPT_MAIL_FROM, from); // libcurl copies strings
    free(from);
    for (size_t i = 0; m->rcpts && m->rcpts[i]; i++) {
        char *one = fw_asprintf("<%s>", m->rcpts[i]);
        j->headers = curl_slist_append(j->headers, one);
        free(one);
    }
    curl_easy_setopt(e, CURLOPT_MAIL_RCPT, j->headers);
    curl_easy_setopt(e, CURLOPT_READFUNCTION, s_read);
    curl_easy_setopt(e, CURLOPT_READDATA, j);
    curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)strlen(j->req.body));
    if (m->username && *m->username) {
        curl_easy_setopt(e, CURLOPT_USERNAME, m->username);
        curl_easy_setopt(e, CURLOPT_PASSWORD, m->password ? m->password : "");
        s_opt_str(e, CURLOPT_SASL_AUTHZID, m->authzid);
    }
    // One connection per delivery, closed after it, as Alertmanager dials and QUITs for each
    // notification. libcurl would otherwise reuse another receiver's idle connection to the
    // same smarthost (it matches host, port and credentials, not USE_SSL nor the EHLO name):
    // a require_tls delivery then went out in clear over a connection without STARTTLS.
    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    // STARTTLS required, or none at all (Alertmanager does not use it when not required).
    curl_easy_setopt(e, CURLOPT_USE_SSL,
                     m->starttls ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_NONE);
    s_opt_str(e, CURLOPT_CAINFO, m->ca_file);
    s_opt_str(e, CURLOPT_SSLCERT, m->cert_file);
    s_opt_str(e, CURLOPT_SSLKEY, m->key_file);
    if (m->insecure_skip_verify) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
}

// An easy handle for an attempt: a kept one when there is one (already reset).
static CURL *
s_easy_take(notifyd_deliver_t *self)
{
    return self->idle_len ? self->idle[--self->idle_len] : curl_easy_init();
}

// Keep e (taken, removed from the multi handle) for a later attempt, reset, or free it.
static void
s_easy_give(notifyd_deliver_t *self, CURL *e)
{
    if (self->idle_len < (size_t)self->max_in_flight) {
        curl_easy_reset(e);
        self->idle[self->idle_len++] = e;
    } else {
        curl_easy_cleanup(e);
    }
}

// Before an attempt's first request: the http_config.oauth2 token, from the cache into req's
// Authorization header, or else the token request to make first (j->token).
static void
s_token_needed(notifyd_deliver_t *self, struct s_job *j)
{
    const json_t *o = json_object_get(j->req.http, "oauth2");
    if (!o)
        return;
    const char *auth = notifyd_oauth2_cached(self->oauth2, o, fw_time_mono_ms());
    if (auth && notifyd_req_header(&j->req, "Authorization", auth) == 0)
        return;
    j->token = notifyd_oauth2_style(self->oauth2, o, &j->token_probe);
}

static void
s_start(notifyd_deliver_t *self, struct s_job *j)
{
    const notifyd_deliver_t *a = self;
    // A token request, or the request after it, goes on with the same attempt.
    bool goes_on = j->token != NOTIFYD_OAUTH2_NONE || j->token_ready;
    if (j->step == 0 && !goes_on) {
        j->attempts++;
        j->chain_us = 0;
        if (j->attempts > 1 && j->req.resign)
            (void)j->req.resign(&j->req, fw_time_now_ms());
        if (j->req.kind == NOTIFYD_REQ_HTTP)
            s_token_needed(self, j);
    }
    j->token_ready = false;
    j->easy = s_easy_take(self);
    free(j->answer);
    j->answer = NULL;
    j->answer_len = 0;
    j->truncated = false;
    j->errbuf[0] = '\0';
    curl_easy_setopt(j->easy, CURLOPT_URL, s_cur(j)->url);
    if (j->token) {
        notifyd_oauth2_setup(j->easy, json_object_get(j->req.http, "oauth2"), j->token, &j->headers,
                             &j->http_lists);
        curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, s_keep); // bounded
        curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
    } else if (j->req.kind == NOTIFYD_REQ_SMTP)
        s_setup_smtp(j);
    else
        s_setup_http(j);
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS,
                     (long)(j->req.timeout_ms > 0 ? j->req.timeout_ms : a->timeout_ms));
    curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
    curl_multi_add_handle(self->multi, j->easy);
}

// --- judging a finished transfer ---

// A 2xx answer to a request with an answer function: count its parts and judge it.
static void
s_read_answer(struct s_job *j, struct s_verdict *v, const notifyd_deliver_t *a)
{
    struct notifyd_answer an;
    memset(&an, 0, sizeof an);
    j->req.answer(&j->req, j->answer ? j->answer : "", &an);
    char labels[512];
    for (int k = 0; k < 2; k++) {
        size_t n = k ? an.failed : an.delivered;
        snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"%s\",result=\"%s\"",
                 j->receiver, j->integration, k ? "failed" : "delivered");
        if (n)
            fw_metrics_add(a->metrics, "fw_notifyd_recipients_total", labels, (double)n);
    }
    snprintf(v->detail, sizeof v->detail, "%s", an.detail);
    snprintf(v->own_reason, sizeof v->own_reason, "%s", *an.reason ? an.reason : "recipient");
    v->reason = v->own_reason;
    if (an.verdict == NOTIFYD_ANSWER_NEXT) {
        v->next = true;
    } else if (an.verdict == NOTIFYD_ANSWER_RESEND) {
        v->retry = true;
    } else if (an.verdict == NOTIFYD_ANSWER_FAILED || j->req.failed) {
        if (j->req.failed)
            snprintf(v->detail, sizeof v->detail, "%s", j->req.failed);
    } else {
        v->ok = true;
        v->reason = "";
    }
}

static void
s_judge_http(struct s_job *j, CURLcode res, long code, struct s_verdict *v,
             const notifyd_deliver_t *a)
{
    if (res == CURLE_OK && code >= 200 && code < 300) {
        v->ok = true;
        v->reason = "";
        if (j->req.answer) {
            v->ok = false;
            s_read_answer(j, v, a);
        }
    } else if (res == CURLE_OPERATION_TIMEDOUT) {
        v->reason = "timeout";
        v->retry = true;
    } else if (res != CURLE_OK) {
        v->reason = "connection";
        v->retry = true;
    } else if (code == 429) {
        v->reason = "http_429";
        v->retry = true;
    } else if (code >= 500) {
        v->reason = "http_5xx";
        v->retry = true;
    } else if (j->req.retry_4xx) {
        v->reason = code >= 400 ? "http_4xx" : "http_other";
        v->retry = true;
    } else {
        v->reason = code >= 400 ? "http_4xx" : "http_other";
    }
}

// Why an SMTP attempt failed, in Alertmanager's words where it has its own
// (notify/email/email.go): a server that does not offer STARTTLS when require_tls, a refused
// STARTTLS; else libcurl's.
static void
s_smtp_detail(const struct s_job *j, CURLcode res, struct s_verdict *v)
{
    const char *e = *j->errbuf ? j->errbuf : curl_easy_strerror(res);
    if (res == CURLE_USE_SSL_FAILED && strstr(e, "STARTTLS not supported"))
        snprintf(v->detail, sizeof v->detail,
                 "'require_tls' is true (default) but \"%.160s\" does not advertise the STARTTLS "
                 "extension",
                 j->req.smtp.smarthost);
    else if (res == CURLE_USE_SSL_FAILED)
        snprintf(v->detail, sizeof v->detail, "send STARTTLS command: %.200s", e);
    else
        snprintf(v->detail, sizeof v->detail, "%s", e);
}

static void
s_judge_smtp(const struct s_job *j, CURLcode res, struct s_verdict *v)
{
    v->ok = res == CURLE_OK;
    v->retry = !v->ok;
    if (!v->ok)
        s_smtp_detail(j, res, v);
    switch (res) {
    case CURLE_OK: v->reason = ""; break;
    case CURLE_OPERATION_TIMEDOUT: v->reason = "timeout"; break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT: v->reason = "connection"; break;
    case CURLE_LOGIN_DENIED: v->reason = "auth"; break;
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE: v->reason = "tls"; break;
    default: v->reason = "smtp"; break;
    }
}

int64_t
notifyd_deliver_backoff(notifyd_deliver_t *self, int attempts)
{
    return notifyd_backoff_next(&self->backoff, &self->retry, attempts);
}

static void
s_report(notifyd_deliver_t *a, const struct s_job *j, const struct s_verdict *v)
{
    char labels[512];
    if (v->ok) {
        snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"%s\"", j->receiver,
                 j->integration);
        fw_metrics_add(a->metrics, "fw_notifyd_notifications_total", labels, 1);
    } else {
        snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"%s\",reason=\"%s\"",
                 j->receiver, j->integration, v->reason);
        fw_metrics_add(a->metrics, "fw_notifyd_notifications_failed_total", labels, 1);
    }
    struct notifyd_result r = {
        .id = j->id,
        .receiver = j->receiver,
        .ok = v->ok,
        .reason = (char *)v->reason,
        .detail = (char *)v->detail,
        .attempts = j->attempts,
    };
    a->on_result(a->arg, &r);
}

// Log one attempt's end. HTTP URLs are secrets (they may carry a token, as Alertmanager
// holds them): logs name only their origin; SMTP logs name the smarthost.
static void
s_log(const struct s_job *j, CURLcode res, long code, const struct s_verdict *v)
{
    const char *err = *v->detail        ? v->detail
                      : res != CURLE_OK ? (*j->errbuf ? j->errbuf : curl_easy_strerror(res))
                                        : v->reason;
    if (j->req.kind == NOTIFYD_REQ_SMTP && v->ok)
        fw_debug("email.ok", "receiver=%s smarthost=%s attempts=%d", j->receiver,
                 j->req.smtp.smarthost, j->attempts);
    else if (j->req.kind == NOTIFYD_REQ_SMTP)
        fw_warn("email.fail", "receiver=%s smarthost=%s reason=%s smtp_code=%ld err=%s attempt=%d",
                j->receiver, j->req.smtp.smarthost, v->reason, code, err, j->attempts);
    if (j->req.kind == NOTIFYD_REQ_SMTP)
        return;
    char *origin = fw_secret_url_origin(s_cur(j)->url);
    if (v->ok)
        fw_debug("webhook.ok", "receiver=%s integration=%s origin=%s status=%ld attempts=%d",
                 j->receiver, j->integration, origin, code, j->attempts);
    else
        fw_warn("webhook.fail",
                "receiver=%s integration=%s origin=%s status=%ld reason=%s err=%s attempt=%d",
                j->receiver, j->integration, origin, code, v->reason, err, j->attempts);
    free(origin);
}

static struct s_limit *
s_limit_of(notifyd_deliver_t *st, const struct s_job *j)
{
    struct s_limit *l = zhashx_lookup(st->limits, j->receiver);
    if (!l) {
        l = fw_calloc(1, sizeof *l);
        zhashx_insert(st->limits, j->receiver, l);
    }
    return l;
}

// Take a token of j's receiver at now: 0, or the ms until one is due.
static int64_t
s_take_token(struct s_limit *l, const struct notifyd_req_rate *r, int64_t now)
{
    double max = (double)r->requests;
    if (l->last_ms == 0)
        l->tokens = max; // a receiver starts with a full bucket
    else
        l->tokens += (double)(now - l->last_ms) * max / (double)r->interval_ms;
    if (l->tokens > max)
        l->tokens = max;
    l->last_ms = now;
    if (l->tokens >= 1) {
        l->tokens -= 1;
        return 0;
    }
    int64_t due = (int64_t)((1 - l->tokens) * (double)r->interval_ms / max) + 1;
    return due > 0 ? due : 1;
}

// A new job found its receiver's queue full: it fails at once, never sent.
static void
s_refuse(notifyd_deliver_t *st, struct s_job *j)
{
    struct s_verdict v = {.reason = "rate_limited"};
    snprintf(v.detail, sizeof v.detail,
             "%lld notifications already wait for the receiver's rate limit (%lld per %lld ms)",
             (long long)j->req.rate.queue, (long long)j->req.rate.requests,
             (long long)j->req.rate.interval_ms);
    fw_warn("delivery.rate_limited", "receiver=%s integration=%s err=%s", j->receiver,
            j->integration, v.detail);
    s_report(st, j, &v);
    s_job_free(&j);
}

// Start j's next request of the same attempt at once, in the slot it had.
static void
s_go_on(notifyd_deliver_t *st, struct s_job *j)
{
    s_start(st, j);
    zlist_append(st->inflight, j);
    st->running++;
    s_limit_of(st, j)->inflight++;
}

// j's token request ended (notifyd_oauth2.h): true when the attempt went on (with the token,
// or with the next client authentication style to probe); else false with v the attempt's
// failure, retried as a failed request is (Alertmanager's notifiers retry a client error).
static bool
s_token_done(notifyd_deliver_t *st, struct s_job *j, CURLcode res, long code, const char *ctype,
             int64_t took_us, struct s_verdict *v)
{
    const json_t *o = json_object_get(j->req.http, "oauth2");
    char *auth = NULL;
    fw_err_t err;
    fw_err_clear(&err);
    enum notifyd_oauth2_style style = j->token;
    j->token = NOTIFYD_OAUTH2_NONE;
    j->chain_us += took_us;
    int rc =
        notifyd_oauth2_answer(st->oauth2, o, style, j->token_probe, res, code, j->answer,
                              j->truncated, *ctype ? ctype : NULL, fw_time_mono_ms(), &auth, &err);
    if (rc == 0 && notifyd_req_header(&j->req, "Authorization", auth) == 0) {
        free(auth);
        j->token_ready = true;
        s_go_on(st, j);
        return true;
    }
    if (auth) {
        memset(auth, 0, strlen(auth));
        free(auth);
        fw_err_set(&err, "oauth2: no room for the Authorization header");
    }
    if (j->token_probe && style == NOTIFYD_OAUTH2_HEADER) {
        // x/oauth2's AuthStyleAutoDetect: any failure with HTTP Basic, then in the body.
        fw_debug("oauth2.probe", "receiver=%s integration=%s err=%s", j->receiver, j->integration,
                 err.msg);
        j->token = NOTIFYD_OAUTH2_PARAMS;
        s_go_on(st, j);
        return true;
    }
    v->reason = "oauth2";
    v->retry = true;
    snprintf(v->detail, sizeof v->detail, "%s", err.msg);
    return false;
}

// Queue j for its next attempt: in the queue when due, else with the jobs waiting out their
// backoff, which a pass over the queue does not look at until they are due (s_take_due).
static void
s_enqueue(notifyd_deliver_t *st, struct s_job *j)
{
    j->seq = ++st->seq;
    if (j->next_at > fw_time_mono_ms())
        notifyd_retryq_push(st->waiting, j->next_at, j->seq, j);
    else
        zlist_append(st->queue, j);
}

// A transfer finished: report, or schedule a retry by putting the job back on the queue.
static void
s_done(notifyd_deliver_t *st, CURLMsg *m)
{
    const notifyd_deliver_t *a = st;
    struct s_job *j = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
    zlist_remove(st->inflight, j);
    st->running--;
    s_limit_of(st, j)->inflight--;
    long code = 0;
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t took_us = 0; // the attempt's latency (Alertmanager observes each request)
    curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &took_us);
    CURLcode res = m->data.result;
    char ctype[128] = "";
    const char *ct = NULL;
    if (j->token && curl_easy_getinfo(m->easy_handle, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(ctype, sizeof ctype, "%s", ct);
    curl_multi_remove_handle(st->multi, j->easy);
    s_easy_give(st, j->easy);
    j->easy = NULL;
    curl_slist_free_all(j->headers);
    j->headers = NULL;
    notifyd_http_lists_free(&j->http_lists);
    struct s_verdict v = {.reason = ""};
    bool token_failed = false;
    if (j->token) {
        if (s_token_done(st, j, res, code, ctype, (int64_t)took_us, &v))
            return;
        token_failed = true;
    } else if (j->req.kind == NOTIFYD_REQ_SMTP) {
        s_judge_smtp(j, res, &v);
    } else {
        s_judge_http(j, res, code, &v, a);
    }
    if (v.next) {
        // The same attempt goes on with its next request (notifyd_req.h): at once, and not
        // counted as another attempt.
        fw_debug("delivery.next", "receiver=%s integration=%s status=%ld", j->receiver,
                 j->integration, code);
        j->attempts--;
        j->next_at = fw_time_mono_ms();
        s_enqueue(st, j);
        return;
    }
    s_log(j, res, code, &v);
    j->chain_us += (int64_t)took_us;
    if (v.ok && s_cur(j)->then) {
        // The next request of the chain, at once: one notification attempt, as
        // Alertmanager counts one Notify call however many requests it sends.
        j->step++;
        j->next_at = fw_time_mono_ms();
        s_enqueue(st, j);
        return;
    }
    j->step = 0;
    notifyd_am_request(a->metrics, j->integration,
                       !token_failed && res == CURLE_OK &&
                           (j->req.kind == NOTIFYD_REQ_SMTP || code / 100 == 2),
                       (double)j->chain_us / 1e6);
    if (!v.ok && v.retry && j->attempts < a->retry.max_attempts) {
        char labels[300];
        snprintf(labels, sizeof labels, "receiver=\"%s\"", j->receiver);
        fw_metrics_add(a->metrics, "fw_notifyd_retries_total", labels, 1);
        j->next_at = fw_time_mono_ms() + notifyd_deliver_backoff(st, j->attempts);
        s_enqueue(st, j);
        return;
    }
    s_report(st, j, &v);
    s_job_free(&j);
}

// --- the queue, on the loop ---

static int
s_by_seq(const void *x, const void *y)
{
    uint64_t a = (*(struct s_job *const *)x)->seq, b = (*(struct s_job *const *)y)->seq;
    return a < b ? -1 : a > b;
}

// Move the jobs whose backoff is over into the queue, each at its place by seq (the queue
// stays in the order jobs were queued: a rate-limited receiver's waiting jobs are counted
// oldest first).
static void
s_take_due(notifyd_deliver_t *st, int64_t now)
{
    size_t n = 0, cap = 0;
    struct s_job **due = NULL, *j;
    while ((j = notifyd_retryq_pop_due(st->waiting, now, NULL))) {
        if (n == cap)
            fw_mem_grow((void **)&due, &cap, n + 1, sizeof *due);
        due[n++] = j;
    }
    qsort(due, n, sizeof *due, s_by_seq);
    zlist_t *merged = zlist_new();
    struct s_job *q = zlist_pop(st->queue);
    for (size_t i = 0; i < n || q;) {
        if (q && (i == n || q->seq < due[i]->seq)) {
            zlist_append(merged, q);
            q = zlist_pop(st->queue);
        } else {
            zlist_append(merged, due[i++]);
        }
    }
    zlist_destroy(&st->queue);
    st->queue = merged;
    free(due);
}

// One pass over the queue: start every job that is due and finds a slot (and a token); the
// earliest time something waits for goes into *next. Returns how many started. Jobs in
// their backoff are not looked at (notifyd_retryq.h).
static size_t
s_start_due(notifyd_deliver_t *st, int64_t now, int64_t *next)
{
    const notifyd_deliver_t *a = st;
    size_t started = 0;
    if (notifyd_retryq_next_at(st->waiting) <= now)
        s_take_due(st, now);
    if (notifyd_retryq_next_at(st->waiting) < *next)
        *next = notifyd_retryq_next_at(st->waiting);
    int64_t per_receiver = a->max_in_flight / 2 > 0 ? a->max_in_flight / 2 : 1;
    st->pass++;
    size_t n = zlist_size(st->queue);
    for (size_t i = 0; i < n; i++) {
        struct s_job *j = zlist_pop(st->queue);
        struct s_limit *l = s_limit_of(st, j);
        if (j->next_at > now) {
            if (j->next_at < *next)
                *next = j->next_at;
            zlist_append(st->queue, j);
            continue;
        }
        if (st->running >= a->max_in_flight || l->inflight >= per_receiver) {
            zlist_append(st->queue, j);
            continue;
        }
        if (j->req.rate.requests > 0) {
            int64_t wait = s_take_token(l, &j->req.rate, now);
            if (wait > 0) {
                if (l->pass != st->pass) {
                    l->pass = st->pass;
                    l->waiting = 0;
                }
                if (j->attempts == 0 && l->waiting >= j->req.rate.queue) {
                    // Inside send the caller has not recorded the job yet: refused (and
                    // reported) on the loop's next turn, as every outcome is.
                    if (st->sending) {
                        *next = now;
                        zlist_append(st->queue, j);
                    } else {
                        s_refuse(st, j);
                    }
                    continue;
                }
                l->waiting++;
                if (now + wait < *next)
                    *next = now + wait;
                zlist_append(st->queue, j);
                continue;
            }
        }
        s_start(st, j);
        zlist_append(st->inflight, j);
        st->running++;
        l->inflight++;
        started++;
    }
    return started;
}

static void
s_limit_free(void **item)
{
    free(*item);
    *item = NULL;
}

static int s_on_timer(zloop_t *loop, int timer_id, void *arg);

// One timer for the earlier of libcurl's timeout and the queue's next pass.
static void
s_arm(notifyd_deliver_t *self)
{
    int64_t at = self->curl_at < self->queue_at ? self->curl_at : self->queue_at;
    if (self->timer >= 0 && self->timer_at == at)
        return;
    if (self->timer >= 0)
        zloop_timer_end(self->loop, self->timer);
    self->timer = -1;
    if (at == INT64_MAX)
        return;
    int64_t now = fw_time_mono_ms();
    self->timer = zloop_timer(self->loop, at > now ? (size_t)(at - now) : 0, 1, s_on_timer, self);
    self->timer_at = at;
}

// Start what is due, read what finished (reporting it), again while something finished (a
// freed slot, a retry due at once), then arm the timer.
static void
s_pump(notifyd_deliver_t *self)
{
    int rounds = 0;
    for (;;) {
        int64_t now = fw_time_mono_ms(), next = INT64_MAX;
        int still = 0;
        if (s_start_due(self, now, &next) > 0)
            curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &still);
        self->queue_at = next;
        size_t done = 0;
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(self->multi, &left))) {
            if (m->msg == CURLMSG_DONE) {
                s_done(self, m);
                done++;
            }
        }
        if (done == 0)
            break;
        if (++rounds == 8) {
            self->queue_at = now; // the rest on the loop's next turn
            break;
        }
    }
    s_arm(self);
}

static int
s_on_timer(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    notifyd_deliver_t *self = arg;
    self->timer = -1; // one-shot: zloop removes it after this handler
    if (self->curl_at <= fw_time_mono_ms()) {
        int still = 0;
        self->curl_at = INT64_MAX;
        curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    }
    s_pump(self);
    return 0;
}

static int
s_on_fd(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    notifyd_deliver_t *self = arg;
    int flags = (item->revents & ZMQ_POLLIN ? CURL_CSELECT_IN : 0) |
                (item->revents & ZMQ_POLLOUT ? CURL_CSELECT_OUT : 0) |
                (item->revents & ZMQ_POLLERR ? CURL_CSELECT_ERR : 0);
    int still = 0;
    curl_multi_socket_action(self->multi, item->fd, flags, &still);
    s_pump(self);
    return 0;
}

// CURLMOPT_SOCKETFUNCTION: watch s as libcurl asks, as a zloop poller.
static int
s_curl_socket(CURL *easy, curl_socket_t s, int what, void *arg, void *socketp)
{
    (void)easy;
    (void)socketp;
    notifyd_deliver_t *self = arg;
    zmq_pollitem_t item = {.socket = NULL, .fd = s};
    zloop_poller_end(self->loop, &item);
    if (what == CURL_POLL_REMOVE)
        return 0;
    item.events =
        (short)((what & CURL_POLL_IN ? ZMQ_POLLIN : 0) | (what & CURL_POLL_OUT ? ZMQ_POLLOUT : 0));
    if (zloop_poller(self->loop, &item, s_on_fd, self) < 0) {
        fw_error("delivery.poll.fail", "fd=%d", (int)s);
        return -1;
    }
    zloop_poller_set_tolerant(self->loop, &item); // libcurl judges a socket's errors
    return 0;
}

// CURLMOPT_TIMERFUNCTION: when libcurl wants its timeout handled (-1: never). The timer is
// armed by whoever called into libcurl (s_pump, send, s_on_timer).
static int
s_curl_timer(CURLM *multi, long timeout_ms, void *arg)
{
    (void)multi;
    notifyd_deliver_t *self = arg;
    self->curl_at = timeout_ms < 0 ? INT64_MAX : fw_time_mono_ms() + timeout_ms;
    return 0;
}

notifyd_deliver_t *
notifyd_deliver_new(const struct notifyd_cfg *cfg, fw_metrics_t *metrics, zloop_t *loop,
                    notifyd_deliver_fn on_result, void *arg)
{
    static bool curl_ready;
    if (!curl_ready) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl_ready = true;
    }
    fw_metrics_declare(metrics, "fw_notifyd_notifications_total", FW_METRIC_COUNTER,
                       "Notifications delivered, by receiver and integration.");
    fw_metrics_declare(metrics, "fw_notifyd_notifications_failed_total", FW_METRIC_COUNTER,
                       "Notifications that failed for good, by receiver, integration, reason.");
    fw_metrics_declare(metrics, "fw_notifyd_retries_total", FW_METRIC_COUNTER,
                       "Delivery attempts retried, by receiver.");
    fw_metrics_declare(metrics, "fw_notifyd_recipients_total", FW_METRIC_COUNTER,
                       "Recipients an answer reported delivered or failed (azuresms), by "
                       "receiver, integration, result.");
    notifyd_deliver_t *self = fw_calloc(1, sizeof *self);
    self->retry = cfg->retry;
    notifyd_backoff_seed(&self->backoff);
    self->timeout_ms = cfg->timeout;
    self->max_in_flight = cfg->max_in_flight;
    self->metrics = metrics;
    self->loop = loop;
    self->on_result = on_result;
    self->arg = arg;
    self->curl_at = self->queue_at = INT64_MAX;
    self->timer = -1;
    self->queue = zlist_new();
    self->waiting = notifyd_retryq_new();
    self->inflight = zlist_new();
    self->idle =
        fw_calloc(self->max_in_flight > 0 ? (size_t)self->max_in_flight : 1, sizeof *self->idle);
    self->oauth2 = notifyd_oauth2_new();
    self->limits = zhashx_new();
    zhashx_set_destructor(self->limits, s_limit_free);
    self->multi = curl_multi_init();
    // Few keep-alive connections per host, reused, rather than a burst of new ones: a flush
    // of many groups must not overflow a receiver's listen backlog (SYN retries cost 1 s).
    curl_multi_setopt(self->multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, s_curl_socket);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, s_curl_timer);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    return self;
}

void
notifyd_deliver_destroy(notifyd_deliver_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    notifyd_deliver_t *self = *self_p;
    // Abandon what is left: running transfers and queued jobs. libcurl takes its sockets
    // off the loop (CURL_POLL_REMOVE) as it lets them go.
    struct s_job *j;
    while ((j = zlist_pop(self->inflight))) {
        curl_multi_remove_handle(self->multi, j->easy);
        s_job_free(&j);
    }
    while ((j = zlist_pop(self->queue)))
        s_job_free(&j);
    while ((j = notifyd_retryq_pop_due(self->waiting, INT64_MAX, NULL)))
        s_job_free(&j);
    notifyd_retryq_destroy(&self->waiting);
    curl_multi_cleanup(self->multi);
    while (self->idle_len)
        curl_easy_cleanup(self->idle[--self->idle_len]);
    free(self->idle);
    if (self->timer >= 0)
        zloop_timer_end(self->loop, self->timer);
    zlist_destroy(&self->inflight);
    zlist_destroy(&self->queue);
    zhashx_destroy(&self->limits);
    notifyd_oauth2_destroy(&self->oauth2);
    free(self);
    *self_p = NULL;
}

int
notifyd_deliver_send(notifyd_deliver_t *self, uint64_t id, const char *receiver,
                     const char *integration, struct notifyd_req *req)
{
    struct s_job *j = fw_calloc(1, sizeof *j);
    j->id = id;
    j->receiver = fw_strdup(receiver);
    j->integration = fw_strdup(integration);
    notifyd_req_move(&j->req, req);
    s_enqueue(self, j); // next_at 0: due
    // Started here, not on the loop's next turn: on a kept-alive connection the request is
    // on the wire when this returns. What finished is read (and reported) on the next turn.
    int64_t now = fw_time_mono_ms(), next = INT64_MAX;
    int still = 0;
    self->sending = true;
    if (s_start_due(self, now, &next) > 0)
        curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    self->sending = false;
    self->queue_at = now;
    s_arm(self);
    return 0;
}

void
notifyd_deliver_counts(const notifyd_deliver_t *self, size_t *queued, size_t *backing_off)
{
    *queued = zlist_size(self->queue);
    *backing_off = notifyd_retryq_size(self->waiting);
}
