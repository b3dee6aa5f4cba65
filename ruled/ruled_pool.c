/*  ruled_pool.c — the worker pool that evaluates rule groups (see ruled_pool.h).

    One mutex guards two singly linked FIFO queues (queued, done) and the counters; one
    condition wakes workers for new jobs, another wakes ruled_pool_wait_idle(). Each worker
    makes its own query client on its own thread and keeps it for its life. The wake-up
    pipe is non-blocking at both ends: a full pipe already wakes the loop, which then takes
    every finished job, so a lost byte loses nothing.

    Syncs (ruled_group_eval_sync): a worker queues the group's partial batch with the next
    ticket, wakes the loop through the same pipe and waits on `synced` until stored_ticket
    reaches its ticket, the pool drains, or the query timeout passes. The loop sends the
    batches in ticket order, so their sender seqs grow with the tickets; `sent` maps the
    tickets still waiting to their seqs, and an acknowledgement of seq N stores every ticket
    sent as N or lower.
*/
#include "ruled_pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_query.h"
#include "fw_time.h"

struct s_sync {
    struct fw_batch *batch; // owned
    uint64_t ticket;
    struct s_sync *next;
};

struct s_sent {
    uint64_t ticket, seq;
};

#define S_SYNC_TIMEOUT_MS 10000 // for pools without a query timeout (tests)

struct s_queue {
    struct ruled_pool_job *head, *tail;
};

struct s_worker {
    ruled_pool_t *pool; // borrowed: the owner
    pthread_t thread;
    fw_query_client_t *client; // owned, made and used on the worker's thread
};

struct ruled_pool {
    pthread_mutex_t lock;
    pthread_cond_t work; // a job was queued, or stop
    pthread_cond_t idle; // a job finished
    struct s_queue queued, done;
    size_t running;     // jobs being evaluated
    size_t outstanding; // submitted and not taken back
    bool stop;
    bool sync;             // workers may hand partial batches to the loop (ruled_pool_new)
    bool draining;         // in ruled_pool_wait_idle / destroy: syncs do not wait
    pthread_cond_t synced; // stored_ticket moved, or draining
    struct s_sync *syncs, *syncs_tail; // owned: partial batches for the loop to send
    uint64_t next_ticket, stored_ticket;
    struct s_sent *sent; // owned: tickets sent and not yet stored, in order
    size_t n_sent, cap_sent;
    int pipe[2];
    struct s_worker *workers; // owned
    size_t n_workers;         // threads started
    // how workers query: tsdb through their own client, or fn(arg) in tests
    char *query_address; // owned; NULL with fn
    int64_t max_msg_size;
    int timeout_ms;
    fw_metrics_t *metrics; // borrowed
    ruled_query_fn fn;
    void *fn_arg;
};

static void
s_push(struct s_queue *q, struct ruled_pool_job *job)
{
    job->next = NULL;
    if (q->tail)
        q->tail->next = job;
    else
        q->head = job;
    q->tail = job;
}

static struct ruled_pool_job *
s_pop(struct s_queue *q)
{
    struct ruled_pool_job *job = q->head;
    if (job) {
        q->head = job->next;
        if (!q->head)
            q->tail = NULL;
        job->next = NULL;
    }
    return job;
}

static int
s_client_query(void *arg, const char *expr, int64_t t_ms, struct fw_vector *out, fw_err_t *err)
{
    struct s_worker *w = arg;
    if (!w->client) {
        fw_err_set(err, "bad query endpoint %s", w->pool->query_address);
        return -1;
    }
    return fw_query_vector(w->client, expr, t_ms, w->pool->timeout_ms, out, err);
}

static void
s_wake_loop(ruled_pool_t *self)
{
    ssize_t nw = write(self->pipe[1], "j", 1); // EAGAIN: the pipe already wakes the loop
    (void)nw;
}

// The worker's ruled_sync_fn: queue the batch for the loop and wait until tsdb stored it.
static int
s_worker_sync(void *arg, struct fw_batch **batch_p, fw_err_t *err)
{
    struct s_worker *w = arg;
    ruled_pool_t *self = w->pool;
    int timeout_ms = self->timeout_ms > 0 ? self->timeout_ms : S_SYNC_TIMEOUT_MS;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    struct s_sync *q = fw_calloc(1, sizeof(*q));
    q->batch = *batch_p;
    *batch_p = NULL;
    pthread_mutex_lock(&self->lock);
    q->ticket = ++self->next_ticket;
    if (self->syncs_tail)
        self->syncs_tail->next = q;
    else
        self->syncs = q;
    self->syncs_tail = q;
    uint64_t ticket = q->ticket;
    s_wake_loop(self);
    int rc = 0;
    while (!self->draining && self->stored_ticket < ticket && rc == 0)
        rc = pthread_cond_timedwait(&self->synced, &self->lock, &until);
    bool stored = self->draining || self->stored_ticket >= ticket;
    pthread_mutex_unlock(&self->lock);
    if (!stored) {
        fw_err_set(err, "tsdb did not acknowledge them within %d ms (timed out)", timeout_ms);
        return -1;
    }
    return 0;
}

static void *
s_worker_run(void *arg)
{
    struct s_worker *w = arg;
    ruled_pool_t *self = w->pool;
    if (self->query_address)
        w->client = fw_query_client_new(self->query_address, self->max_msg_size, self->metrics);
    ruled_query_fn fn = self->fn ? self->fn : s_client_query;
    void *fn_arg = self->fn ? self->fn_arg : w;
    pthread_mutex_lock(&self->lock);
    for (;;) {
        while (!self->stop && !self->queued.head)
            pthread_cond_wait(&self->work, &self->lock);
        if (self->stop)
            break;
        struct ruled_pool_job *job = s_pop(&self->queued);
        self->running++;
        pthread_mutex_unlock(&self->lock);

        int64_t start = fw_time_mono_ms();
        ruled_group_eval_sync(job->group, job->t_ms, fn, fn_arg, self->sync ? s_worker_sync : NULL,
                              w, &job->res);
        job->wall_s = (double)(fw_time_mono_ms() - start) / 1000.0;

        pthread_mutex_lock(&self->lock);
        self->running--;
        s_push(&self->done, job);
        pthread_cond_broadcast(&self->idle);
        s_wake_loop(self);
    }
    pthread_mutex_unlock(&self->lock);
    fw_query_client_destroy(&w->client);
    return NULL;
}

static ruled_pool_t *
s_new(size_t n, fw_err_t *err, ruled_pool_t *self)
{
    if (n < 1 || n > RULED_POOL_MAX) {
        fw_err_set(err, "--rules.group-workers must be 1..%d, not %zu", RULED_POOL_MAX, n);
        goto fail;
    }
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->work, NULL);
    pthread_cond_init(&self->idle, NULL);
    pthread_cond_init(&self->synced, NULL);
    self->pipe[0] = self->pipe[1] = -1;
    if (pipe(self->pipe) != 0 || fcntl(self->pipe[0], F_SETFL, O_NONBLOCK) != 0 ||
        fcntl(self->pipe[1], F_SETFL, O_NONBLOCK) != 0) {
        fw_err_set(err, "rule group pool: pipe: %s", strerror(errno));
        ruled_pool_destroy(&self);
        return NULL;
    }
    self->workers = fw_calloc(n, sizeof(*self->workers));
    for (size_t i = 0; i < n; i++) {
        self->workers[i].pool = self;
        int rc = fw_thread_create(&self->workers[i].thread, NULL, s_worker_run, &self->workers[i]);
        if (rc != 0) {
            fw_err_set(err, "rule group pool: thread %zu: %s", i + 1, strerror(rc));
            ruled_pool_destroy(&self);
            return NULL;
        }
        self->n_workers++;
    }
    return self;
fail:
    free(self->query_address);
    free(self);
    return NULL;
}

ruled_pool_t *
ruled_pool_new(size_t n, const char *query_address, int64_t max_msg_size, int timeout_ms,
               fw_metrics_t *metrics, fw_err_t *err)
{
    ruled_pool_t *self = fw_calloc(1, sizeof(*self));
    self->query_address = fw_strdup(query_address);
    self->max_msg_size = max_msg_size;
    self->timeout_ms = timeout_ms;
    self->metrics = metrics;
    self->sync = true;
    return s_new(n, err, self);
}

ruled_pool_t *
ruled_pool_new_fn(size_t n, ruled_query_fn fn, void *arg, fw_err_t *err)
{
    ruled_pool_t *self = fw_calloc(1, sizeof(*self));
    self->fn = fn;
    self->fn_arg = arg;
    return s_new(n, err, self);
}

void
ruled_pool_destroy(ruled_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ruled_pool_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stop = true;
    self->draining = true;
    pthread_cond_broadcast(&self->work);
    pthread_cond_broadcast(&self->synced);
    pthread_mutex_unlock(&self->lock);
    for (size_t i = 0; i < self->n_workers; i++)
        pthread_join(self->workers[i].thread, NULL);
    struct ruled_pool_job *job;
    while ((job = s_pop(&self->queued)))
        memset(&job->res, 0, sizeof(job->res)); // never evaluated
    while ((job = s_pop(&self->done)))
        ruled_group_result_clear(&job->res);
    for (int i = 0; i < 2; i++)
        if (self->pipe[i] >= 0)
            close(self->pipe[i]);
    while (self->syncs) {
        struct s_sync *q = self->syncs;
        self->syncs = q->next;
        fw_batch_destroy(&q->batch);
        free(q);
    }
    free(self->sent);
    free(self->workers);
    free(self->query_address);
    pthread_cond_destroy(&self->synced);
    pthread_cond_destroy(&self->idle);
    pthread_cond_destroy(&self->work);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

void
ruled_pool_submit(ruled_pool_t *self, struct ruled_pool_job *job)
{
    memset(&job->res, 0, sizeof(job->res));
    job->wall_s = 0;
    pthread_mutex_lock(&self->lock);
    s_push(&self->queued, job);
    self->outstanding++;
    pthread_cond_signal(&self->work);
    pthread_mutex_unlock(&self->lock);
}

int
ruled_pool_fd(const ruled_pool_t *self)
{
    return self->pipe[0];
}

struct ruled_pool_job *
ruled_pool_take(ruled_pool_t *self)
{
    char buf[256];
    while (read(self->pipe[0], buf, sizeof(buf)) > 0)
        ;
    pthread_mutex_lock(&self->lock);
    struct ruled_pool_job *job = s_pop(&self->done);
    if (job)
        self->outstanding--;
    pthread_mutex_unlock(&self->lock);
    return job;
}

void
ruled_pool_wait_idle(ruled_pool_t *self)
{
    pthread_mutex_lock(&self->lock);
    self->draining = true; // the loop waits here: a worker waiting for it would stall both
    pthread_cond_broadcast(&self->synced);
    while (self->queued.head || self->running > 0)
        pthread_cond_wait(&self->idle, &self->lock);
    self->draining = false;
    pthread_mutex_unlock(&self->lock);
}

size_t
ruled_pool_outstanding(const ruled_pool_t *self)
{
    pthread_mutex_lock((pthread_mutex_t *)&self->lock);
    size_t n = self->outstanding;
    pthread_mutex_unlock((pthread_mutex_t *)&self->lock);
    return n;
}

struct fw_batch *
ruled_pool_take_sync(ruled_pool_t *self, uint64_t *ticket)
{
    pthread_mutex_lock(&self->lock);
    struct s_sync *q = self->syncs;
    if (q) {
        self->syncs = q->next;
        if (!self->syncs)
            self->syncs_tail = NULL;
    }
    pthread_mutex_unlock(&self->lock);
    if (!q)
        return NULL;
    struct fw_batch *batch = q->batch;
    *ticket = q->ticket;
    free(q);
    return batch;
}

void
ruled_pool_sync_sent(ruled_pool_t *self, uint64_t ticket, uint64_t seq)
{
    pthread_mutex_lock(&self->lock);
    if (seq == 0 && self->n_sent > 0)
        seq = self->sent[self->n_sent - 1].seq; // stored with the one before it
    if (seq == 0) {
        self->stored_ticket = ticket;
        pthread_cond_broadcast(&self->synced);
    } else {
        fw_mem_grow((void **)&self->sent, &self->cap_sent, self->n_sent + 1, sizeof(*self->sent));
        self->sent[self->n_sent++] = (struct s_sent){ticket, seq};
    }
    pthread_mutex_unlock(&self->lock);
}

void
ruled_pool_acked(ruled_pool_t *self, uint64_t acked)
{
    pthread_mutex_lock(&self->lock);
    size_t k = 0;
    while (k < self->n_sent && self->sent[k].seq <= acked)
        self->stored_ticket = self->sent[k++].ticket;
    if (k > 0) {
        memmove(self->sent, self->sent + k, (self->n_sent - k) * sizeof(*self->sent));
        self->n_sent -= k;
        pthread_cond_broadcast(&self->synced);
    }
    pthread_mutex_unlock(&self->lock);
}
