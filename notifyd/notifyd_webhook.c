/*  notifyd_webhook.c — the delivery actor: a queue, libcurl multi, and retry timers.

    The actor's loop waits in curl_multi_wait() with the pipe's ZMQ_FD as an extra
    descriptor and a timeout of at most 50 ms (ZMQ_FD is edge-triggered, so the pipe is
    also drained on every pass). Jobs wait in `queue` until their next attempt time and a
    free slot; running ones are attached to the multi handle with the job as CURLOPT_PRIVATE.
*/
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_secret.h"
#include "fw_time.h"
#include "notifyd_am_metrics.h"
#include "notifyd_webhook.h"

struct notifyd_webhook {
    zactor_t *actor; // owned
};

struct s_job {
    uint64_t id;
    char *receiver;         // owned
    char *integration;      // owned: "webhook", "slack", ... (metrics label)
    struct notifyd_req req; // owned: url, body, headers, answer
    bool follow_redirects;
    int attempts;
    int64_t next_at;            // mono ms of the next attempt
    CURL *easy;                 // owned while running
    struct curl_slist *headers; // owned while running
    char *answer;               // owned: this attempt's answer body (bounded), or NULL
    size_t answer_len;
    char errbuf[CURL_ERROR_SIZE];
};

struct s_args {
    struct notifyd_cfg_retry retry;
    int64_t timeout_ms, max_in_flight;
    fw_metrics_t *metrics; // borrowed
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
    free(j->receiver);
    free(j->integration);
    notifyd_req_clear(&j->req);
    free(j->answer);
    free(j);
    *jp = NULL;
}

// Keep the answer body only for an integration that reads it, and at most
// NOTIFYD_REQ_MAX_ANSWER bytes of it.
static size_t
s_keep(char *ptr, size_t size, size_t n, void *arg)
{
    struct s_job *j = arg;
    size_t len = size * n;
    if (!j->req.answer || j->answer_len >= NOTIFYD_REQ_MAX_ANSWER)
        return len;
    size_t room = NOTIFYD_REQ_MAX_ANSWER - j->answer_len;
    size_t k = len < room ? len : room;
    j->answer = fw_realloc(j->answer, j->answer_len + k + 1);
    memcpy(j->answer + j->answer_len, ptr, k);
    j->answer_len += k;
    j->answer[j->answer_len] = '\0';
    return len;
}

static void
s_start(CURLM *multi, struct s_job *j, const struct s_args *a)
{
    j->attempts++;
    j->easy = curl_easy_init();
    free(j->answer);
    j->answer = NULL;
    j->answer_len = 0;
    j->headers = curl_slist_append(NULL, "Content-Type: application/json");
    for (size_t i = 0; i < j->req.headers_len; i++)
        j->headers = curl_slist_append(j->headers, j->req.headers[i]);
    curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, j->follow_redirects ? 1L : 0L);
    curl_easy_setopt(j->easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(j->easy, CURLOPT_URL, j->req.url);
    curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(j->easy, CURLOPT_USERAGENT,
                     "floorwatch-notifyd/"
                     "0.1.0");
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->req.body);
    curl_easy_setopt(j->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(j->req.body));
    curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, (long)a->timeout_ms);
    curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, s_keep);
    curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
    curl_multi_add_handle(multi, j->easy);
}

static int64_t
s_backoff(const struct s_args *a, int attempts)
{
    double b = (double)a->retry.initial_backoff;
    for (int i = 1; i < attempts && b < (double)a->retry.max_backoff; i++)
        b *= 2;
    if (b > (double)a->retry.max_backoff)
        b = (double)a->retry.max_backoff;
    double jitter = 0.5 + 0.5 * ((double)rand() / (double)RAND_MAX);
    return (int64_t)(b * jitter);
}

static void
s_report(zsock_t *pipe, const struct s_job *j, bool ok, const char *reason, const char *detail,
         const struct s_args *a)
{
    char labels[512];
    if (ok) {
        snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"%s\"", j->receiver,
                 j->integration);
        fw_metrics_add(a->metrics, "fw_notifyd_notifications_total", labels, 1);
    } else {
        snprintf(labels, sizeof labels, "receiver=\"%s\",integration=\"%s\",reason=\"%s\"",
                 j->receiver, j->integration, reason);
        fw_metrics_add(a->metrics, "fw_notifyd_notifications_failed_total", labels, 1);
    }
    zsock_send(pipe, "s8ssssi", "RESULT", j->id, j->receiver, ok ? "ok" : "fail", reason,
               detail ? detail : "", j->attempts);
}

// A 2xx answer to a request with an answer function: count its parts and say whether it
// was delivered (""), is to be sent again (*retry) or failed (the reason class).
static const char *
s_read_answer(struct s_job *j, bool *retry, char *detail, size_t detail_size,
              const struct s_args *a)
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
    snprintf(detail, detail_size, "%s", an.detail);
    const char *reason = *an.reason ? an.reason : "recipient";
    if (an.verdict == NOTIFYD_ANSWER_RESEND) {
        *retry = true;
        return reason;
    }
    if (an.verdict == NOTIFYD_ANSWER_FAILED || j->req.failed) {
        if (j->req.failed)
            snprintf(detail, detail_size, "%s", j->req.failed);
        return reason;
    }
    return "";
}

// A transfer finished: report, or schedule a retry by putting the job back on the queue.
static void
s_done(CURLM *multi, CURLMsg *m, zlist_t *queue, zsock_t *pipe, const struct s_args *a)
{
    struct s_job *j = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&j);
    long code = 0;
    curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
    curl_off_t took_us = 0; // the attempt's latency (Alertmanager observes each request)
    curl_easy_getinfo(m->easy_handle, CURLINFO_TOTAL_TIME_T, &took_us);
    CURLcode res = m->data.result;
    curl_multi_remove_handle(multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    curl_slist_free_all(j->headers);
    j->headers = NULL;
    bool http_ok = res == CURLE_OK && code >= 200 && code < 300;
    notifyd_am_request(a->metrics, j->integration, http_ok, (double)took_us / 1e6);
    const char *reason = "";
    char detail[256] = "";
    bool retry = false;
    // The webhook URL is a secret (it may carry a token, as Alertmanager holds it): logs
    // name only its origin.
    char *origin = fw_secret_url_origin(j->req.url);
    if (http_ok && j->req.answer)
        reason = s_read_answer(j, &retry, detail, sizeof detail, a);
    if (http_ok && !*reason) {
        fw_debug("webhook.ok", "receiver=%s integration=%s origin=%s status=%ld attempts=%d",
                 j->receiver, j->integration, origin, code, j->attempts);
        free(origin);
        s_report(pipe, j, true, "", "", a);
        s_job_free(&j);
        return;
    }
    if (http_ok) {
        // reason, detail and retry come from the answer
    } else if (res == CURLE_OPERATION_TIMEDOUT) {
        reason = "timeout";
        retry = true;
    } else if (res != CURLE_OK) {
        reason = "connection";
        retry = true;
    } else if (code == 429) {
        reason = "http_429";
        retry = true;
    } else if (code >= 500) {
        reason = "http_5xx";
        retry = true;
    } else {
        reason = code >= 400 ? "http_4xx" : "http_other";
    }
    const char *err = res != CURLE_OK ? (*j->errbuf ? j->errbuf : curl_easy_strerror(res))
                      : *detail       ? detail
                                      : reason;
    fw_warn("webhook.fail", "receiver=%s integration=%s origin=%s status=%ld err=%s attempt=%d",
            j->receiver, j->integration, origin, code, err, j->attempts);
    free(origin);
    if (retry && j->attempts < a->retry.max_attempts) {
        char labels[300];
        snprintf(labels, sizeof labels, "receiver=\"%s\"", j->receiver);
        fw_metrics_add(a->metrics, "fw_notifyd_retries_total", labels, 1);
        j->next_at = fw_time_mono_ms() + s_backoff(a, j->attempts);
        zlist_append(queue, j);
        return;
    }
    s_report(pipe, j, false, reason, detail, a);
    s_job_free(&j);
}

// Read every pending command from the pipe; returns false on $TERM.
static bool
s_drain_pipe(zsock_t *pipe, zlist_t *queue)
{
    while (zsock_events(pipe) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv(pipe);
        if (!msg)
            return false;
        char *cmd = zmsg_popstr(msg);
        bool term = cmd && strcmp(cmd, "$TERM") == 0;
        if (cmd && strcmp(cmd, "SEND") == 0 && zmsg_size(msg) == 1) {
            zframe_t *f = zmsg_pop(msg);
            struct s_job *j = NULL;
            if (zframe_size(f) == sizeof j)
                memcpy(&j, zframe_data(f), sizeof j); // the actor owns the job from here
            zframe_destroy(&f);
            if (j)
                zlist_append(queue, j);
        }
        free(cmd);
        zmsg_destroy(&msg);
        if (term)
            return false;
    }
    return true;
}

static void
s_actor(zsock_t *pipe, void *arg)
{
    struct s_args *a = arg;
    CURLM *multi = curl_multi_init();
    // Few keep-alive connections per host, reused, rather than a burst of new ones: a flush
    // of many groups must not overflow a receiver's listen backlog (SYN retries cost 1 s).
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, 8L);
    zlist_t *queue = zlist_new();    // jobs waiting for their time or a free slot
    zlist_t *inflight = zlist_new(); // jobs attached to multi
    int running = 0;
    zsock_signal(pipe, 0);
    int fd = zsock_fd(pipe);
    for (;;) {
        if (!s_drain_pipe(pipe, queue))
            break;
        // Start due jobs while there is room.
        int64_t now = fw_time_mono_ms(), next = now + 50;
        size_t n = zlist_size(queue);
        for (size_t i = 0; i < n; i++) {
            struct s_job *j = zlist_pop(queue);
            if (j->next_at <= now && running < a->max_in_flight) {
                s_start(multi, j, a);
                zlist_append(inflight, j);
                running++;
            } else {
                if (j->next_at > now && j->next_at < next)
                    next = j->next_at;
                zlist_append(queue, j);
            }
        }
        struct curl_waitfd extra = {.fd = fd, .events = CURL_WAIT_POLLIN};
        int wait_ms = (int)(next - now);
        if (wait_ms < 0)
            wait_ms = 0;
        curl_multi_wait(multi, &extra, 1, wait_ms, NULL);
        int still = 0;
        curl_multi_perform(multi, &still);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            running--;
            struct s_job *done = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&done);
            zlist_remove(inflight, done);
            s_done(multi, m, queue, pipe, a);
        }
    }
    // Abandon what is left: running transfers and queued jobs.
    struct s_job *j;
    while ((j = zlist_pop(inflight))) {
        curl_multi_remove_handle(multi, j->easy);
        s_job_free(&j);
    }
    while ((j = zlist_pop(queue)))
        s_job_free(&j);
    curl_multi_cleanup(multi);
    zlist_destroy(&inflight);
    zlist_destroy(&queue);
    free(a);
}

notifyd_webhook_t *
notifyd_webhook_new(const struct notifyd_cfg *cfg, fw_metrics_t *metrics)
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
    struct s_args *a = fw_calloc(1, sizeof *a);
    a->retry = cfg->retry;
    a->timeout_ms = cfg->timeout;
    a->max_in_flight = cfg->max_in_flight;
    a->metrics = metrics;
    notifyd_webhook_t *self = fw_calloc(1, sizeof *self);
    self->actor = zactor_new(s_actor, a);
    return self;
}

void
notifyd_webhook_destroy(notifyd_webhook_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zactor_destroy(&(*self_p)->actor);
    free(*self_p);
    *self_p = NULL;
}

int
notifyd_webhook_send(notifyd_webhook_t *self, uint64_t id, const char *receiver, const char *url,
                     const char *body, const char *authorization, bool follow_redirects)
{
    struct notifyd_req req = {.url = fw_strdup(url), .body = fw_strdup(body)};
    if (authorization)
        (void)notifyd_req_header(&req, "Authorization", authorization);
    return notifyd_webhook_post(self, id, receiver, "webhook", &req, follow_redirects);
}

int
notifyd_webhook_post(notifyd_webhook_t *self, uint64_t id, const char *receiver,
                     const char *integration, struct notifyd_req *req, bool follow_redirects)
{
    struct s_job *j = fw_calloc(1, sizeof *j);
    j->id = id;
    j->receiver = fw_strdup(receiver);
    j->integration = fw_strdup(integration);
    notifyd_req_move(&j->req, req);
    j->follow_redirects = follow_redirects;
    // The job's address travels in one frame. The pipe is ordered, so the actor reads every
    // SEND before the $TERM that destroy sends, and none is left behind.
    if (zsock_send(self->actor, "sb", "SEND", &j, sizeof j) < 0) {
        s_job_free(&j);
        return -1;
    }
    return 0;
}

zsock_t *
notifyd_webhook_sock(notifyd_webhook_t *self)
{
    return zactor_sock(self->actor);
}

int
notifyd_webhook_recv(notifyd_webhook_t *self, struct notifyd_result *out)
{
    memset(out, 0, sizeof *out);
    char *cmd = NULL, *ok = NULL;
    if (zsock_recv(self->actor, "s8ssssi", &cmd, &out->id, &out->receiver, &ok, &out->reason,
                   &out->detail, &out->attempts) < 0)
        return -1;
    bool good = cmd && strcmp(cmd, "RESULT") == 0 && ok;
    out->ok = good && strcmp(ok, "ok") == 0;
    free(cmd);
    free(ok);
    if (!good) {
        notifyd_result_clear(out);
        return -1;
    }
    return 0;
}

void
notifyd_result_clear(struct notifyd_result *r)
{
    free(r->receiver);
    free(r->reason);
    free(r->detail);
    memset(r, 0, sizeof *r);
}
