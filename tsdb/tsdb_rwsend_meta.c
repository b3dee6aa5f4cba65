/*  tsdb_rwsend_meta.c — metric metadata over remote write (see tsdb_rwsend_meta.h).

    One thread per queue: it waits send_interval on its own condition variable (woken by
    destroy), encodes the whole table once per round into one buffer (tsdb_rwsend_meta_collect)
    and cuts it into requests, so a round costs one pass over the table and one snappy
    compression per request; nothing is kept between rounds but the buffers.
*/
#include "tsdb_rwsend_meta.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_time.h"
#include "tsdb_pb.h"
#include "tsdb_rwproto.h"

struct tsdb_rwsend_meta {
    tsdb_metadata_t *md;   // borrowed
    fw_metrics_t *metrics; // borrowed
    struct tsdb_rwsend_meta_opts o;
    tsdb_rwsend_meta_post_fn post;
    void *arg;
    struct tsdb_rwsend_meta_conn conn; // owned
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping;
};

void
tsdb_rwsend_meta_declare(fw_metrics_t *metrics)
{
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_metadata_total", FW_METRIC_COUNTER,
                       "Metric metadata families remote_write sent and the receiver accepted, by "
                       "remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_metadata_failed_total", FW_METRIC_COUNTER,
                       "Metadata families the receiver refused (4xx) or that still failed after "
                       "a send_interval of retries, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_metadata_retried_total", FW_METRIC_COUNTER,
                       "Metadata families sent again after a 5xx, a 429 or a transport error.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_metadata_bytes_total", FW_METRIC_COUNTER,
                       "Compressed bytes of metadata requests sent, by remote_name.");
}

struct s_collect {
    struct fw_json_out *all;
    size_t **ends, *cap, n;
};

static void
s_on_family(void *arg, const struct tsdb_metadata_family *f)
{
    struct s_collect *c = arg;
    struct tsdb_rwproto_meta m = {tsdb_rwproto_meta_type(f->type),
                                  f->metric,
                                  f->help,
                                  f->unit,
                                  f->metric_len,
                                  f->help_len,
                                  f->unit_len};
    tsdb_rwproto_put_meta(c->all, &m);
    fw_mem_grow((void **)c->ends, c->cap, c->n + 1, sizeof(**c->ends));
    (*c->ends)[c->n++] = c->all->len;
}

size_t
tsdb_rwsend_meta_collect(tsdb_metadata_t *md, struct fw_json_out *all, size_t **ends, size_t *cap)
{
    struct s_collect c = {all, ends, cap, 0};
    all->len = 0;
    tsdb_metadata_each(md, s_on_family, &c);
    return c.n;
}

// Wait ms or until stopped; false when stopped.
static bool
s_wait(tsdb_rwsend_meta_t *self, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&self->lock);
    while (!self->stopping && pthread_cond_timedwait(&self->wake, &self->lock, &until) == 0)
        ;
    bool going = !self->stopping;
    pthread_mutex_unlock(&self->lock);
    return going;
}

static void
s_count(tsdb_rwsend_meta_t *self, const char *name, double n)
{
    fw_metrics_add(self->metrics, name, self->o.metric_labels, n);
}

// Send one request of n families, retrying until accepted, refused, a send_interval spent,
// or stopped. False when stopped.
static bool
s_send(tsdb_rwsend_meta_t *self, const char *pb, size_t len, size_t n)
{
    char *body;
    size_t body_len;
    tsdb_pb_snappy(pb, len, &body, &body_len);
    int64_t backoff = self->o.min_backoff_ms, start = fw_time_now_ms();
    bool going = true;
    for (;;) {
        fw_err_t err;
        fw_err_clear(&err);
        long code = self->post(self->arg, &self->conn, body, body_len, &err);
        if (code < 0) {
            going = false;
            break;
        }
        s_count(self, "fw_tsdb_remote_storage_metadata_bytes_total", (double)body_len);
        if (code >= 200 && code < 300) {
            s_count(self, "fw_tsdb_remote_storage_metadata_total", (double)n);
            break;
        }
        bool retry = code == 0 || code >= 500 || (code == 429 && self->o.retry_on_http_429);
        if (!retry || fw_time_now_ms() - start + backoff > self->o.mc.send_interval_ms) {
            fw_warn("remote_write.metadata.fail", "remote_name=%s families=%zu err=\"%s\"",
                    self->o.name, n, err.msg);
            s_count(self, "fw_tsdb_remote_storage_metadata_failed_total", (double)n);
            break;
        }
        s_count(self, "fw_tsdb_remote_storage_metadata_retried_total", (double)n);
        if (!s_wait(self, backoff)) {
            going = false;
            break;
        }
        backoff = backoff * 2 > self->o.max_backoff_ms ? self->o.max_backoff_ms : backoff * 2;
    }
    free(body);
    return going;
}

static void *
s_run(void *arg)
{
    tsdb_rwsend_meta_t *self = arg;
    struct fw_json_out all = {0};
    size_t *ends = NULL, cap = 0;
    size_t per = (size_t)self->o.mc.max_samples_per_send;
    while (s_wait(self, self->o.mc.send_interval_ms)) {
        size_t n = tsdb_rwsend_meta_collect(self->md, &all, &ends, &cap);
        bool going = true;
        for (size_t k = 0; going && k < n; k += per) {
            size_t last = k + per < n ? k + per : n;
            size_t from = k ? ends[k - 1] : 0;
            going = s_send(self, all.p + from, ends[last - 1] - from, last - k);
        }
        if (!going)
            break;
        fw_debug("remote_write.metadata", "remote_name=%s families=%zu", self->o.name, n);
    }
    free(all.p);
    free(ends);
    return NULL;
}

tsdb_rwsend_meta_t *
tsdb_rwsend_meta_new(tsdb_metadata_t *md, fw_metrics_t *metrics,
                     const struct tsdb_rwsend_meta_opts *o, tsdb_rwsend_meta_post_fn post,
                     void *arg)
{
    tsdb_rwsend_meta_t *self = fw_calloc(1, sizeof(*self));
    self->md = md;
    self->metrics = metrics;
    self->o = *o;
    if (self->o.mc.max_samples_per_send < 1)
        self->o.mc.max_samples_per_send = 1;
    if (self->o.mc.send_interval_ms < 1)
        self->o.mc.send_interval_ms = 1;
    self->post = post;
    self->arg = arg;
    self->conn.easy = curl_easy_init();
    pthread_mutex_init(&self->lock, NULL);
    pthread_cond_init(&self->wake, NULL);
    static const char *const counters[] = {"fw_tsdb_remote_storage_metadata_total",
                                           "fw_tsdb_remote_storage_metadata_failed_total",
                                           "fw_tsdb_remote_storage_metadata_retried_total",
                                           "fw_tsdb_remote_storage_metadata_bytes_total"};
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        s_count(self, counters[i], 0);
    if (!self->conn.easy || fw_thread_create(&self->thread, NULL, s_run, self) != 0) {
        fw_error("remote_write.metadata.start.fail", "remote_name=%s", o->name);
        if (self->conn.easy)
            curl_easy_cleanup(self->conn.easy);
        pthread_cond_destroy(&self->wake);
        pthread_mutex_destroy(&self->lock);
        free(self);
        return NULL;
    }
    return self;
}

void
tsdb_rwsend_meta_destroy(tsdb_rwsend_meta_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_rwsend_meta_t *self = *self_p;
    pthread_mutex_lock(&self->lock);
    self->stopping = true;
    pthread_cond_broadcast(&self->wake);
    pthread_mutex_unlock(&self->lock);
    pthread_join(self->thread, NULL);
    curl_easy_cleanup(self->conn.easy); // NULL-safe: a post that could not renew it
    pthread_cond_destroy(&self->wake);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}
