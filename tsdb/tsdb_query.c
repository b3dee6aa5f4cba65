/*  tsdb_query.c — QUERY answered by worker threads (see tsdb_query.h).

    A query is a job: the asker's identity frame and the decoded QUERY stay with the loop
    thread until the job is handed over a worker's pipe ("QUERY", pointer); the worker
    evaluates, encodes the answer into the job and hands it back ("DONE", pointer); the
    loop thread prepends the identity and sends it on the ROUTER. A job belongs to exactly
    one thread at a time, and the pipe's messages order the hand-overs, so nothing else is
    shared but the api (thread-safe), the metrics (thread-safe) and the stop flag (atomic).
    Waiting jobs sit in a ring in arrival order, so the oldest is always first: the 100 ms
    tick answers those whose budget ran out while they waited. The tick runs only while a job
    waits (a running one's budget is enforced by its evaluation), so an idle query side never
    wakes the ingest loop it shares.
*/
#include "tsdb_query.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"

#define S_TICK_MS 100

struct s_job {
    zframe_t *identity; // owned: the asker (loop thread only)
    struct fw_msg *m;   // owned: the QUERY
    char *id;           // owned: its id
    int64_t arrived;    // fw_time_mono_ms()
    int64_t budget_ms;  // min(--zmq.query-timeout, the QUERY's timeout_ms), from arrival
    zmsg_t *reply;      // owned: the QUERY_RESULT frames, made by the worker
};

struct s_worker {
    tsdb_query_t *owner;
    zsock_t *pipe; // owned: the loop's end
    zsock_t *peer; // owned: the worker's end
    pthread_t thread;
    bool started;
    struct s_job *job; // being evaluated (owned by the worker meanwhile); NULL when idle
};

struct tsdb_query {
    tsdb_api_t *api;       // borrowed
    fw_metrics_t *metrics; // borrowed
    struct tsdb_query_opts o;
    zloop_t *loop;            // borrowed
    zsock_t *router;          // borrowed
    struct s_worker *workers; // owned
    size_t n_workers, running;
    struct s_job **queue; // owned: a ring of o.queue jobs, oldest at head
    size_t head, len, cap;
    int tick_id; // the expiry tick's zloop timer, or -1: none (nothing waits)
    atomic_bool stopping;
};

static void
s_job_free(struct s_job **job_p)
{
    struct s_job *job = *job_p;
    if (!job)
        return;
    zframe_destroy(&job->identity);
    fw_msg_destroy(&job->m);
    free(job->id);
    zmsg_destroy(&job->reply);
    free(job);
    *job_p = NULL;
}

// ---------------------------------------------------------------------------------------
// Answers (any thread)

static bool
s_num(json_t *body, const char *key, double *out)
{
    json_t *v = json_object_get(body, key);
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

// The API's JSON answer to the QUERY body, within budget_ms.
static char *
s_run(tsdb_query_t *self, json_t *body, int64_t budget_ms)
{
    struct tsdb_api_query q = {.query = json_string_value(json_object_get(body, "query")),
                               .timeout_ms = budget_ms,
                               .cancel = &self->stopping};
    double t, start, end, step;
    if (s_num(body, "start", &start) || s_num(body, "end", &end) || s_num(body, "step", &step)) {
        if (!s_num(body, "start", &start) || !s_num(body, "end", &end) ||
            !s_num(body, "step", &step))
            return tsdb_api_error_json("bad_data", "a range query needs start, end and step");
        q.range = true;
        // A number that is no int64 ms time is refused, as the HTTP API refuses it.
        if (fw_time_from_secs(start, &q.start_ms) != 0 || fw_time_from_secs(end, &q.end_ms) != 0 ||
            fw_time_from_secs(step, &q.step_ms) != 0)
            return tsdb_api_error_json("bad_data", "start, end and step must be times in "
                                                   "seconds within the int64 millisecond range");
        if (q.end_ms < q.start_ms)
            return tsdb_api_error_json("bad_data", "invalid parameter \"end\": end timestamp "
                                                   "must not be before start time");
        if (q.step_ms <= 0)
            return tsdb_api_error_json("bad_data", "invalid parameter \"step\": zero or "
                                                   "negative query resolution step widths are "
                                                   "not accepted. Try a positive integer");
        if (((uint64_t)q.end_ms - (uint64_t)q.start_ms) / (uint64_t)q.step_ms > TSDB_API_MAX_POINTS)
            return tsdb_api_error_json("bad_data", "exceeded maximum resolution of 11,000 "
                                                   "points per timeseries. Try decreasing the "
                                                   "query resolution (?step=XX)");
    } else {
        q.time_ms = fw_time_now_ms();
        if (s_num(body, "time", &t) && fw_time_from_secs(t, &q.time_ms) != 0)
            return tsdb_api_error_json("bad_data", "time must be in seconds within the int64 "
                                                   "millisecond range");
    }
    int status;
    return tsdb_api_query_json(self->api, &q, "zmq", &status);
}

static zmsg_t *
s_encode_error(const char *id, const char *type, const char *why)
{
    fw_err_t err;
    struct fw_msg *m = fw_msg_new_json( // steals the packed body
        FW_MSG_QUERY_RESULT, json_pack("{s:s, s:s, s:s, s:s}", "id", id, "status", "error",
                                       "errorType", type, "error", why));
    zmsg_t *out = fw_msg_encode(m, &err);
    fw_msg_destroy(&m);
    if (!out)
        fw_error("tsdb.query.fail", "err=%s", err.msg);
    return out;
}

// The QUERY_RESULT frames for id carrying answer (API JSON text), or an execution error
// when they would not fit the asker's frame limit. NULL only when encoding failed (logged).
static zmsg_t *
s_encode(const tsdb_query_t *self, const char *id, const char *answer)
{
    json_error_t jerr;
    json_t *body = json_loads(answer, 0, &jerr);
    if (!body) {
        fw_error("tsdb.query.fail", "err=%s", jerr.text);
        return s_encode_error(id, "internal", "the answer is not JSON");
    }
    json_object_set_new(body, "id", json_string(id));                  // steals the string
    struct fw_msg *reply = fw_msg_new_json(FW_MSG_QUERY_RESULT, body); // steals body
    fw_err_t err;
    zmsg_t *out = fw_msg_encode(reply, &err);
    fw_msg_destroy(&reply);
    if (!out) {
        fw_error("tsdb.query.fail", "err=%s", err.msg);
        return s_encode_error(id, "internal", err.msg);
    }
    size_t bytes = 0;
    for (zframe_t *f = zmsg_first(out); f; f = zmsg_next(out))
        if (zframe_size(f) > bytes)
            bytes = zframe_size(f);
    if (self->o.max_msg_size > 0 && (uint64_t)bytes > (uint64_t)self->o.max_msg_size) {
        // The asker's DEALER has the same --zmq.max-msg-size and would drop the connection
        // instead of reading it: answer with the reason.
        zmsg_destroy(&out);
        char why[160];
        snprintf(why, sizeof(why), "query result of %zu bytes exceeds --zmq.max-msg-size (%lld)",
                 bytes, (long long)self->o.max_msg_size);
        fw_warn("tsdb.query.too_large", "bytes=%zu err=%s", bytes, why);
        return s_encode_error(id, "execution", why);
    }
    return out;
}

// ---------------------------------------------------------------------------------------
// Workers

static void *
s_worker_main(void *arg)
{
    struct s_worker *w = arg;
    tsdb_query_t *self = w->owner;
    zsock_signal(w->peer, 0);
    for (;;) {
        char *cmd = NULL;
        void *p = NULL;
        if (zsock_recv(w->peer, "sp", &cmd, &p) != 0) {
            if (zmq_errno() == EINTR)
                continue; // a signal for the loop thread landed here
            break;
        }
        bool term = !cmd || streq(cmd, "$TERM");
        if (!term && streq(cmd, "QUERY") && p) {
            struct s_job *job = p;
            int64_t left = job->arrived + job->budget_ms - fw_time_mono_ms();
            if (left > 0) {
                char *answer = s_run(self, job->m->body, left);
                job->reply = s_encode(self, job->id, answer);
                free(answer);
            } else {
                job->reply = s_encode_error(job->id, "timeout", "query timed out in query queue");
            }
            zsock_send(w->peer, "sp", "DONE", job);
        }
        free(cmd);
        if (term)
            break;
    }
    return NULL;
}

static int
s_worker_start(struct s_worker *w, fw_err_t *err)
{
    w->pipe = zsys_create_pipe(&w->peer);
    if (!w->pipe) {
        fw_err_set(err, "query worker pipe: %s", zmq_strerror(zmq_errno()));
        return -1;
    }
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, TSDB_QUERY_THREAD_STACK);
    int rc = fw_thread_create(&w->thread, &attr, s_worker_main, w);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fw_err_set(err, "query worker thread: %s", strerror(rc));
        return -1;
    }
    w->started = true;
    zsock_wait(w->pipe); // the actor's ready signal
    return 0;
}

// ---------------------------------------------------------------------------------------
// The loop thread

static int s_on_tick(zloop_t *loop, int timer_id, void *arg);

// Publish the gauges, and keep the expiry tick running exactly while a job waits.
static void
s_gauges(tsdb_query_t *self)
{
    fw_metrics_set(self->metrics, "fw_tsdb_zmq_queries_running", "", (double)self->running);
    fw_metrics_set(self->metrics, "fw_tsdb_zmq_queries_queued", "", (double)self->len);
    if (!self->loop)
        return;
    if (self->len > 0 && self->tick_id < 0)
        self->tick_id = zloop_timer(self->loop, S_TICK_MS, 0, s_on_tick, self);
    else if (self->len == 0 && self->tick_id >= 0) {
        zloop_timer_end(self->loop, self->tick_id);
        self->tick_id = -1;
    }
}

// Send *reply (taken) to the asker of job.
static void
s_send(tsdb_query_t *self, struct s_job *job, zmsg_t **reply)
{
    if (!*reply)
        return;
    zmsg_prepend(*reply, &job->identity);
    if (zmsg_send(reply, self->router) != 0) {
        fw_warn("tsdb.query.send.fail", "err=%s", zmq_strerror(zmq_errno()));
        zmsg_destroy(reply);
    }
}

// Answer job (taken) with an error without evaluating it.
static void
s_refuse(tsdb_query_t *self, struct s_job **job_p, const char *reason, const char *type,
         const char *why)
{
    struct s_job *job = *job_p;
    char lbl[48];
    snprintf(lbl, sizeof(lbl), "reason=\"%s\"", reason);
    fw_metrics_add(self->metrics, "fw_tsdb_zmq_queries_refused_total", lbl, 1);
    zmsg_t *reply = s_encode_error(job->id, type, why);
    s_send(self, job, &reply);
    s_job_free(job_p);
}

static struct s_worker *
s_idle(tsdb_query_t *self)
{
    for (size_t k = 0; k < self->n_workers; k++)
        if (!self->workers[k].job)
            return &self->workers[k];
    return NULL;
}

static void
s_dispatch(tsdb_query_t *self, struct s_worker *w, struct s_job **job_p)
{
    struct s_job *job = *job_p;
    *job_p = NULL;
    w->job = job;
    self->running++;
    if (zsock_send(w->pipe, "sp", "QUERY", job) != 0) {
        w->job = NULL;
        self->running--;
        s_refuse(self, &job, "internal", "internal", "no query worker could take the query");
    }
}

// Answer the queued jobs whose budget has run out. Budgets differ (timeout_ms), so every
// waiting job is looked at; the others keep their arrival order.
static void
s_expire(tsdb_query_t *self, int64_t now)
{
    size_t kept = 0, n = self->len;
    for (size_t k = 0; k < n; k++) {
        struct s_job *job = self->queue[(self->head + k) % self->cap];
        if (job->arrived + job->budget_ms > now) {
            self->queue[(self->head + kept++) % self->cap] = job;
            continue;
        }
        self->len--;
        s_refuse(self, &job, "queue_timeout", "timeout", "query timed out in query queue");
    }
}

// Hand queued jobs to idle workers.
static void
s_pump(tsdb_query_t *self)
{
    s_expire(self, fw_time_mono_ms());
    struct s_worker *w;
    while (self->len > 0 && (w = s_idle(self))) {
        struct s_job *job = self->queue[self->head];
        self->head = (self->head + 1) % self->cap;
        self->len--;
        s_dispatch(self, w, &job);
    }
    s_gauges(self);
}

static int
s_on_router(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    tsdb_query_t *self = arg;
    zmsg_t *z = zmsg_recv(sock);
    if (!z)
        return 0;
    zframe_t *identity = zmsg_pop(z);
    fw_err_t err;
    struct fw_msg *m = NULL;
    // Not fw_zsock_recv: the ROUTER's identity frame comes first and is needed for the reply.
    if (!identity || fw_msg_decode(z, &m, &err) != 0) {
        fw_zsock_reject(self->metrics, "unknown", identity ? err.msg : "no identity frame");
        goto out;
    }
    if (m->type != FW_MSG_QUERY) {
        fw_zsock_reject(self->metrics, fw_msg_type_str(m->type), "unexpected message type");
        goto out;
    }
    struct s_job *job = fw_calloc(1, sizeof(*job));
    job->identity = identity;
    identity = NULL;
    job->id = fw_strdup(json_string_value(json_object_get(m->body, "id")));
    job->m = m;
    m = NULL;
    job->arrived = fw_time_mono_ms();
    job->budget_ms = self->o.timeout_ms;
    json_t *asked = json_object_get(job->m->body, "timeout_ms");
    if (asked) {
        double ms = json_number_value(asked);
        if (!(ms >= 1)) { // NaN too
            s_refuse(self, &job, "bad_timeout", "bad_data",
                     "timeout_ms must be a positive number of milliseconds");
            goto gauges;
        }
        if (ms < (double)job->budget_ms)
            job->budget_ms = (int64_t)ms;
    }
    struct s_worker *w = self->len == 0 ? s_idle(self) : NULL;
    if (w) {
        s_dispatch(self, w, &job);
    } else if (self->len < (size_t)self->o.queue) {
        self->queue[(self->head + self->len) % self->cap] = job;
        self->len++;
    } else {
        char why[160];
        snprintf(why, sizeof(why),
                 "too many queries: %zu running and %zu waiting (--zmq.query-queue); try again "
                 "later",
                 self->running, self->len);
        s_refuse(self, &job, "queue_full", "unavailable", why);
    }
gauges:
    s_gauges(self);
out:
    fw_msg_destroy(&m);
    zframe_destroy(&identity);
    zmsg_destroy(&z);
    return 0;
}

static int
s_on_worker(zloop_t *loop, zsock_t *pipe, void *arg)
{
    (void)loop;
    struct s_worker *w = arg;
    tsdb_query_t *self = w->owner;
    char *cmd = NULL;
    void *p = NULL;
    if (zsock_recv(pipe, "sp", &cmd, &p) != 0)
        return 0;
    if (cmd && streq(cmd, "DONE") && p && p == w->job) {
        struct s_job *job = p;
        w->job = NULL;
        self->running--;
        s_send(self, job, &job->reply);
        s_job_free(&job);
    }
    free(cmd);
    s_pump(self);
    return 0;
}

static int
s_on_tick(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsdb_query_t *self = arg;
    fw_metrics_add(self->metrics, "fw_tsdb_zmq_query_ticks_total", "", 1);
    s_expire(self, fw_time_mono_ms());
    s_gauges(self);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

void
tsdb_query_declare_metrics(fw_metrics_t *m)
{
    fw_metrics_declare(m, "fw_tsdb_zmq_queries_running", FW_METRIC_GAUGE,
                       "QUERY messages being evaluated by the query workers.");
    fw_metrics_declare(m, "fw_tsdb_zmq_queries_queued", FW_METRIC_GAUGE,
                       "QUERY messages waiting for a query worker.");
    fw_metrics_declare(m, "fw_tsdb_zmq_queries_refused_total", FW_METRIC_COUNTER,
                       "QUERY messages answered with an error without evaluation, by reason "
                       "(queue_full, queue_timeout, bad_timeout, shutdown).");
    fw_metrics_declare(m, "fw_tsdb_zmq_query_ticks_total", FW_METRIC_COUNTER,
                       "Expiry checks of the QUERY queue: every 100 ms while a query waits, "
                       "none while none does.");
}

tsdb_query_t *
tsdb_query_new(tsdb_api_t *api, fw_metrics_t *metrics, const struct tsdb_query_opts *opts)
{
    tsdb_query_t *self = fw_calloc(1, sizeof(*self));
    self->api = api;
    self->metrics = metrics;
    self->o = *opts;
    self->tick_id = -1;
    atomic_init(&self->stopping, false);
    tsdb_query_declare_metrics(metrics);
    return self;
}

int
tsdb_query_start(tsdb_query_t *self, zloop_t *loop, zsock_t *router, fw_err_t *err)
{
    if (self->o.workers < 0 || self->o.workers > TSDB_QUERY_MAX_WORKERS || self->o.queue < 0 ||
        self->o.queue > TSDB_QUERY_MAX_QUEUE || self->o.timeout_ms < 0) {
        fw_err_set(err,
                   "invalid query settings: --zmq.query-workers must be 1..%d, "
                   "--zmq.query-queue 1..%d and --zmq.query-timeout positive",
                   TSDB_QUERY_MAX_WORKERS, TSDB_QUERY_MAX_QUEUE);
        return -1;
    }
    if (self->o.workers == 0)
        self->o.workers = TSDB_QUERY_DEFAULT_WORKERS;
    if (self->o.queue == 0)
        self->o.queue = TSDB_QUERY_DEFAULT_QUEUE;
    if (self->o.timeout_ms == 0)
        self->o.timeout_ms = TSDB_QUERY_DEFAULT_TIMEOUT_MS;
    self->cap = (size_t)self->o.queue;
    self->queue = fw_calloc(self->cap, sizeof(*self->queue));
    self->loop = loop;
    self->router = router;
    self->workers = fw_calloc((size_t)self->o.workers, sizeof(*self->workers));
    for (int k = 0; k < self->o.workers; k++) {
        struct s_worker *w = &self->workers[k];
        w->owner = self;
        self->n_workers++;
        if (s_worker_start(w, err) != 0)
            return -1;
        zloop_reader(loop, w->pipe, s_on_worker, w);
    }
    zloop_reader(loop, router, s_on_router, self);
    fw_metrics_add(self->metrics, "fw_tsdb_zmq_query_ticks_total", "", 0);
    s_gauges(self);
    return 0;
}

void
tsdb_query_destroy(tsdb_query_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_query_t *self = *self_p;
    atomic_store(&self->stopping, true); // running evaluations end at their next check
    for (size_t k = 0; k < self->n_workers; k++)
        if (self->workers[k].started)
            zstr_send(self->workers[k].pipe, "$TERM");
    for (size_t k = 0; k < self->n_workers; k++) {
        struct s_worker *w = &self->workers[k];
        if (w->started)
            pthread_join(w->thread, NULL);
        // a worker answers its job before it reads $TERM: send what it finished
        while (w->pipe && (zsock_events(w->pipe) & ZMQ_POLLIN)) {
            char *cmd = NULL;
            void *p = NULL;
            if (zsock_recv(w->pipe, "sp", &cmd, &p) != 0)
                break;
            if (cmd && streq(cmd, "DONE") && p == w->job && p) {
                struct s_job *job = p;
                w->job = NULL;
                if (self->router)
                    s_send(self, job, &job->reply);
                s_job_free(&job);
            }
            free(cmd);
        }
        s_job_free(&w->job); // never handed back (the worker did not start)
        zsock_destroy(&w->pipe);
        zsock_destroy(&w->peer);
    }
    while (self->len > 0) {
        struct s_job *job = self->queue[self->head];
        self->head = (self->head + 1) % self->cap;
        self->len--;
        if (self->router)
            s_refuse(self, &job, "shutdown", "unavailable", "tsdb is shutting down");
        else
            s_job_free(&job);
    }
    free(self->queue);
    free(self->workers);
    free(self);
    *self_p = NULL;
}

size_t
tsdb_query_running(const tsdb_query_t *self)
{
    return self->running;
}

size_t
tsdb_query_queued(const tsdb_query_t *self)
{
    return self->len;
}
