/*  tsdb_rwsend_shard.c — a remote-write shard's thread (tsdb_rwsend_int.h).

    Window after window (tsdb_rwsend.h says how far one reaches), it first sends the
    queue's late samples of its series (tsdb_rwsend_late.h), then reads the window
    (tsdb_rwsend_read.c) and sends it in requests of at most max_samples_per_send samples,
    each retried until accepted, refused for good, or stopped; after each answer its
    position moves past the request and is written down.
*/
#include <pthread.h>
#include <stdlib.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_pb.h"
#include "tsdb_rwproto.h"
#include "tsdb_rwsend_int.h"
#include "tsdb_rwsend_late.h"
#include "tsdb_rwsend_shards.h"
#include "tsdb_rwsend_sort.h"

#define S_IDLE_MS 1000 // a shard that caught up looks again after this at least

static long
s_post(struct tsdb_rwsend_shard *s, const char *body, size_t len, fw_err_t *err)
{
    return tsdb_rwsend_int_post(s->q, &s->conn, body, len, err);
}

// Send entries[0..n) (one request), retrying until accepted, refused for good, or stopped.
// 1 accepted, 0 refused for good, -1 stopped.
static int
s_send(struct tsdb_rwsend_shard *s, struct tsdb_rwsend_cycle *c, struct tsdb_rwsend_entry *entries,
       size_t n)
{
    struct tsdb_rwsend_queue *q = s->q;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    tsdb_rwsend_sort(entries, c->tmp, n, true);
    struct fw_json_out *pb = &c->pb;
    pb->len = 0;
    fw_mem_grow((void **)&c->smp, &c->cap_smp, n, sizeof(*c->smp));
    struct fw_sample *smp = c->smp;
    int64_t newest = INT64_MIN;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a; b < n && entries[b].series == entries[a].series; b++) {
            smp[b - a] = (struct fw_sample){entries[b].t, entries[b].v};
            newest = entries[b].t > newest ? entries[b].t : newest;
        }
        const struct fw_labels *l = &c->sets[entries[a].series];
        fw_mem_grow((void **)&c->names, &c->cap_names, l->len, sizeof(*c->names));
        fw_mem_grow((void **)&c->values, &c->cap_values, l->len, sizeof(*c->values));
        for (size_t k = 0; k < l->len; k++) {
            c->names[k] = l->items[k].name;
            c->values[k] = l->items[k].value;
        }
        tsdb_rwproto_put_series(pb, c->names, c->values, l->len, smp, b - a);
    }
    char *z;
    size_t zlen;
    tsdb_pb_snappy(pb->p, pb->len, &z, &zlen);
    int64_t backoff = qc->min_backoff_ms, began = fw_time_now_ms();
    int rc = 0;
    for (;;) {
        fw_err_t err;
        fw_err_clear(&err);
        long code = s_post(s, z, zlen, &err);
        if (code < 0) {
            rc = -1;
            break;
        }
        if (code >= 200 && code < 300) {
            pthread_mutex_lock(&q->lock);
            tsdb_rwsend_ewma_add(&q->out, (double)n);
            q->last_send_ms = fw_time_now_ms();
            pthread_mutex_unlock(&q->lock);
            tsdb_rwsend_int_count(q, "fw_tsdb_remote_storage_samples_total", (double)n);
            fw_metrics_set(q->owner->metrics,
                           "fw_tsdb_remote_storage_highest_sent_timestamp_seconds",
                           q->metric_labels, (double)newest / 1000.0);
            rc = 1;
            break;
        }
        bool retry = code == 0 || code >= 500 || (code == 429 && qc->retry_on_http_429);
        if (!retry) {
            pthread_mutex_lock(&q->lock);
            tsdb_rwsend_ewma_add(&q->dropped, (double)n);
            pthread_mutex_unlock(&q->lock);
            tsdb_rwsend_int_count(q, "fw_tsdb_remote_storage_samples_failed_total", (double)n);
            fw_warn("remote_write.fail", "remote_name=%s samples=%zu err=\"%s\" action=dropped",
                    q->conf->name, n, err.msg);
            break;
        }
        tsdb_rwsend_int_count(q, "fw_tsdb_remote_storage_samples_retried_total", (double)n);
        fw_debug("remote_write.retry", "remote_name=%s samples=%zu backoff_ms=%lld err=\"%s\"",
                 q->conf->name, n, (long long)backoff, err.msg);
        if (!tsdb_rwsend_int_sleep(q, backoff)) {
            rc = -1;
            break;
        }
        backoff = backoff * 2 > qc->max_backoff_ms ? qc->max_backoff_ms : backoff * 2;
    }
    free(z);
    pthread_mutex_lock(&q->lock);
    tsdb_rwsend_ewma_add(&q->send, (double)(fw_time_now_ms() - began) / 1000.0);
    pthread_mutex_unlock(&q->lock);
    return rc;
}

// Move shard s's position to pos and write the queue's positions down.
static void
s_advance(struct tsdb_rwsend_shard *s, int64_t pos)
{
    struct tsdb_rwsend_queue *q = s->q;
    pthread_mutex_lock(&q->lock);
    q->pos[s->index] = pos;
    tsdb_rwsend_int_pos_save(q);
    pthread_mutex_unlock(&q->lock);
}

// ---------------------------------------------------------------------------------------
// Late samples (tsdb_rwsend_late.h)

struct s_late_arg {
    struct tsdb_rwsend_shard *s;
    struct tsdb_rwsend_cycle *c;
};

// tsdb_rwsend_late_ops.set_of: the series' labels as sent, relabeled once (tsdb_rwsend_known).
static uint32_t
s_late_set(void *arg, tsdb_store_reader_t *r, uint64_t id)
{
    struct s_late_arg *a = arg;
    struct tsdb_rwsend_known *kn = tsdb_rwsend_int_known_find(a->c, id);
    struct fw_labels stored = FW_LABELS_INIT;
    struct tsdb_store_resume fresh = {0};
    if (!kn)
        kn = tsdb_rwsend_int_known_add(a->s->q, r, a->c, id, &stored, &fresh);
    fw_labels_clear(&stored);
    return kn && kn->set != TSDB_RWSEND_INT_DROPPED ? kn->set : TSDB_RWSEND_LATE_DROPPED;
}

// tsdb_rwsend_late_ops.send
static int
s_late_send(void *arg, struct tsdb_rwsend_entry *e, size_t n)
{
    struct s_late_arg *a = arg;
    fw_mem_grow((void **)&a->c->tmp, &a->c->cap_tmp, n, sizeof(*a->c->tmp));
    return s_send(a->s, a->c, e, n);
}

// Send shard s's late samples at or below pos (the store's records of samples stored after
// its window passed them). 0, or -1 when stopped; a store error is logged (every 10 s at
// most) and tried again later.
static int
s_late(struct tsdb_rwsend_shard *s, struct tsdb_rwsend_cycle *c, int64_t pos, uint64_t *after,
       int64_t *log_ms)
{
    struct tsdb_rwsend_queue *q = s->q;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    pthread_mutex_lock(&q->lock);
    uint64_t mod = q->n_shards;
    pthread_mutex_unlock(&q->lock);
    size_t per = (size_t)qc->max_samples_per_send, cap = (size_t)qc->capacity;
    struct tsdb_rwsend_late_job job = {
        .store = q->owner->store,
        .key = q->late_key,
        .mod = mod,
        .rem = s->index,
        .pos = pos,
        .age_min =
            qc->sample_age_limit_ms > 0 ? fw_time_now_ms() - qc->sample_age_limit_ms : INT64_MIN,
        .per = per,
        .cap = cap > per ? cap : per,
        .after = after,
        .e = &c->e,
        .cap_e = &c->cap,
    };
    struct s_late_arg a = {s, c};
    struct tsdb_rwsend_late_ops ops = {s_late_set, s_late_send, &a};
    struct tsdb_rwsend_late_count n = {0};
    fw_err_t err;
    fw_err_clear(&err);
    int rc = tsdb_rwsend_late_drain(&job, &ops, &n, &err);
    if (n.sent)
        tsdb_rwsend_int_count(q, "fw_tsdb_remote_storage_late_samples_total", (double)n.sent);
    if (n.dropped)
        tsdb_rwsend_int_count(q, "fw_tsdb_remote_storage_samples_dropped_total", (double)n.dropped);
    if (n.records)
        fw_debug("remote_write.late", "remote_name=%s shard=%zu records=%zu sent=%zu failed=%zu",
                 q->conf->name, s->index, n.records, n.sent, n.failed);
    if (rc == 0 || tsdb_rwsend_int_stopping(q))
        return rc;
    int64_t now = fw_time_now_ms();
    if (now - *log_ms >= 10000) {
        fw_warn("remote_write.late.fail", "remote_name=%s err=\"%s\"", q->conf->name, err.msg);
        *log_ms = now;
    }
    return 0;
}

void *
tsdb_rwsend_int_shard_run(void *arg)
{
    struct tsdb_rwsend_shard *s = arg;
    struct tsdb_rwsend_queue *q = s->q;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    struct tsdb_rwsend_cycle c = {0};
    int64_t log_ms = 0;
    uint64_t late_after = 0; // where the late drain goes on
    // How far past its position a window reaches (tsdb_rwsend_window_span): a window cut
    // at capacity decodes and sorts what lies past the cut for nothing, and a catching-up
    // shard's windows of TSDB_RWSEND_WINDOW_MS held several capacities.
    int64_t span = TSDB_RWSEND_WINDOW_MS;
    // What the senders resend once tsdb is back (after a restart) is committed meanwhile.
    if (s->fresh)
        tsdb_rwsend_int_sleep(q, TSDB_RWSEND_DELAY_MS);
    while (!tsdb_rwsend_int_stopping(q)) {
        pthread_mutex_lock(&q->lock);
        int64_t pos = q->pos[s->index], barrier = q->barrier;
        pthread_mutex_unlock(&q->lock);
        if (pos >= barrier)
            break; // resharding: this shard is done up to the barrier
        if (q->late_key && s_late(s, &c, pos, &late_after, &log_ms) != 0)
            break; // stopped
        int64_t now = fw_time_now_ms(), end = now - TSDB_RWSEND_DELAY_MS;
        if (end - pos > span)
            end = pos + span;
        end = end < barrier ? end : barrier;
        if (end <= pos) {
            tsdb_rwsend_int_sleep(q, S_IDLE_MS);
            continue;
        }
        size_t dropped = 0;
        fw_err_t err;
        int64_t asked = end - pos;
        if (tsdb_rwsend_int_read(s, pos, &end, &c, &dropped, &err) != 0) {
            if (now - log_ms >= 10000)
                fw_warn("remote_write.read.fail", "remote_name=%s err=\"%s\"", q->conf->name,
                        err.msg);
            log_ms = now;
            tsdb_rwsend_int_sleep(q, S_IDLE_MS);
            continue;
        }
        tsdb_rwsend_int_count(q, "fw_tsdb_remote_storage_samples_read_total", (double)c.read);
        span = tsdb_rwsend_window_span(span, (double)qc->capacity, c.read, asked,
                                       TSDB_RWSEND_WINDOW_MS);
        pthread_mutex_lock(&q->lock);
        q->in_samples += (double)(c.n + dropped);
        q->in_span_ms += (double)(end - pos);
        tsdb_rwsend_ewma_add(&q->dropped, (double)dropped);
        pthread_mutex_unlock(&q->lock);
        if (dropped)
            tsdb_rwsend_int_count(q, "fw_tsdb_remote_storage_samples_dropped_total",
                                  (double)dropped);
        size_t per = (size_t)qc->max_samples_per_send;
        bool stopped = false;
        for (size_t a = 0; a < c.n && !stopped; a += per) {
            size_t b = a + per < c.n ? a + per : c.n;
            int64_t next = b < c.n ? c.e[b].t - 1 : end;
            stopped = s_send(s, &c, c.e + a, b - a) < 0;
            if (!stopped)
                s_advance(s, next);
        }
        if (stopped)
            break;
        if (c.n == 0) {
            pthread_mutex_lock(&q->lock);
            q->pos[s->index] = end; // nothing to say: written with the next send
            pthread_mutex_unlock(&q->lock);
        }
        if (end >= now - TSDB_RWSEND_DELAY_MS && c.n < per)
            tsdb_rwsend_int_sleep_until(
                q, qc->batch_send_deadline_ms > S_IDLE_MS ? qc->batch_send_deadline_ms : S_IDLE_MS,
                true);
    }
    tsdb_rwsend_int_cycle_forget(&c);
    free(c.sets);
    free(c.known);
    free(c.tails);
    free(c.prev);
    free(c.slow);
    free(c.pb.p);
    free(c.smp);
    free(c.names);
    free(c.values);
    free(c.map_id);
    free(c.map_val);
    free(c.e);
    free(c.tmp);
    return NULL;
}
