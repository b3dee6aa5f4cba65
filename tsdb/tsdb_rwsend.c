/*  tsdb_rwsend.c — remote_write: shards that read the store and send (see tsdb_rwsend.h).

    This file holds the queues: their positions on disk, their lock's helpers (stopping,
    sleeping, counting), the manager thread that decides the shards and reshards, and the
    public API. The rest of the sender (tsdb_rwsend_int.h holds the structs they share):
      tsdb_rwsend_read.c   a shard's window: its series, relabeled once, and their samples
      tsdb_rwsend_shard.c  a shard's thread: windows cut into requests, sent and retried,
                           positions moved, late samples drained (tsdb_rwsend_late.h)
      tsdb_rwsend_http.c   one POST to the receiver: headers, azuread token, basic_auth
*/
#include "tsdb_rwsend.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fw_hash.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_thread.h"
#include "fw_time.h"
#include "tsdb_rwsend_int.h"
#include "tsdb_rwsend_meta.h"
#include "tsdb_rwsend_shards.h"

// ---------------------------------------------------------------------------------------
// Positions

void
tsdb_rwsend_int_pos_save(struct tsdb_rwsend_queue *q)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", q->path);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fw_warn("remote_write.pos.fail", "file=%s err=\"%s\"", tmp, strerror(errno));
        return;
    }
    fprintf(f, "1 %zu\n", q->n_shards);
    for (size_t i = 0; i < q->n_shards; i++)
        fprintf(f, "%lld\n", (long long)q->pos[i]);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (!ok || rename(tmp, q->path) != 0)
        fw_warn("remote_write.pos.fail", "file=%s err=\"%s\"", q->path, strerror(errno));
}

// The positions on disk, with their number of shards when within min_shards and max_shards;
// a file for another number resumes min_shards shards from the lowest (what a shard already
// sent again is the receiver's no-op). No file: now.
static void
s_pos_load(struct tsdb_rwsend_queue *q)
{
    int64_t start = fw_time_now_ms() - TSDB_RWSEND_DELAY_MS;
    for (size_t i = 0; i < q->max_shards; i++)
        q->pos[i] = start;
    FILE *f = fopen(q->path, "r");
    if (!f)
        return;
    size_t n = 0;
    long long v, min = 0;
    bool ok = fscanf(f, "1 %zu", &n) == 1 && n > 0 && n <= TSDB_RWSEND_SHARDS_MAX;
    int64_t *got = fw_calloc(n ? n : 1, sizeof(*got));
    for (size_t i = 0; ok && i < n; i++) {
        ok = fscanf(f, "%lld", &v) == 1;
        got[i] = v;
        if (i == 0 || v < min)
            min = v;
    }
    fclose(f);
    if (!ok) {
        fw_warn("remote_write.pos.damaged", "file=%s action=\"starting from now\"", q->path);
    } else {
        if (n >= q->min_shards && n <= q->max_shards)
            q->n_shards = n;
        for (size_t i = 0; i < q->n_shards; i++)
            q->pos[i] = n == q->n_shards ? got[i] : min;
        fw_info("remote_write.resume", "remote_name=%s from_ms=%lld shards=%zu", q->conf->name, min,
                q->n_shards);
    }
    free(got);
}

// ---------------------------------------------------------------------------------------
// The queue's lock

bool
tsdb_rwsend_int_stopping(struct tsdb_rwsend_queue *q)
{
    pthread_mutex_lock(&q->lock);
    bool s = q->stopping;
    pthread_mutex_unlock(&q->lock);
    return s;
}

// Sleep up to ms, or less when the queue stops (or, when drain, a barrier is set). False
// when it stops.
bool
tsdb_rwsend_int_sleep_until(struct tsdb_rwsend_queue *q, int64_t ms, bool drain)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&q->lock);
    while (!q->stopping && !(drain && q->barrier != INT64_MAX) &&
           pthread_cond_timedwait(&q->wake, &q->lock, &until) == 0)
        ;
    bool going = !q->stopping;
    pthread_mutex_unlock(&q->lock);
    return going;
}

bool
tsdb_rwsend_int_sleep(struct tsdb_rwsend_queue *q, int64_t ms)
{
    return tsdb_rwsend_int_sleep_until(q, ms, false);
}

void
tsdb_rwsend_int_count(struct tsdb_rwsend_queue *q, const char *name, double n)
{
    fw_metrics_add(q->owner->metrics, name, q->metric_labels, n);
}

// metadata_config's sender posts through the queue (tsdb_rwsend_meta_post_fn).
static long
s_meta_post(void *arg, struct tsdb_rwsend_meta_conn *c, const char *body, size_t len, fw_err_t *err)
{
    return tsdb_rwsend_int_post(arg, c, body, len, err);
}

// ---------------------------------------------------------------------------------------
// Queues

// Start shards 0..n_shards (fresh: the queue's first).
static void
s_shards_start(struct tsdb_rwsend_queue *q, bool fresh)
{
    for (size_t i = 0; i < q->n_shards; i++) {
        struct tsdb_rwsend_shard *s = &q->shards[i];
        s->q = q;
        s->index = i;
        s->fresh = fresh;
        if (!s->conn.easy)
            s->conn.easy = curl_easy_init();
        s->started =
            s->conn.easy && fw_thread_create(&s->thread, NULL, tsdb_rwsend_int_shard_run, s) == 0;
        if (!s->started)
            fw_error("remote_write.start.fail", "remote_name=%s shard=%zu", q->conf->name, i);
    }
}

static void
s_shards_join(struct tsdb_rwsend_queue *q)
{
    for (size_t i = 0; i < q->max_shards; i++) {
        if (q->shards[i].started)
            pthread_join(q->shards[i].thread, NULL);
        q->shards[i].started = false;
    }
}

// The lowest and highest shard positions (under the lock).
static void
s_pos_range(const struct tsdb_rwsend_queue *q, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MAX;
    *hi = INT64_MIN;
    for (size_t i = 0; i < q->n_shards; i++) {
        *lo = q->pos[i] < *lo ? q->pos[i] : *lo;
        *hi = q->pos[i] > *hi ? q->pos[i] : *hi;
    }
}

// Move to n shards: every shard sends up to the highest position (a barrier) and stops,
// then n shards start from there, so no series is sent out of order nor twice. A shard
// that was mid-read when the barrier was set may pass it: then the others catch up to it
// too (once more, with no shard running when the barrier is set). False when stopped.
static bool
s_reshard(struct tsdb_rwsend_queue *q, size_t n)
{
    for (int round = 0; round < 3; round++) {
        int64_t lo, hi;
        pthread_mutex_lock(&q->lock);
        s_pos_range(q, &lo, &hi);
        q->barrier = hi;
        pthread_cond_broadcast(&q->wake);
        pthread_mutex_unlock(&q->lock);
        s_shards_join(q);
        if (tsdb_rwsend_int_stopping(q))
            return false;
        pthread_mutex_lock(&q->lock);
        s_pos_range(q, &lo, &hi);
        bool even = lo == hi;
        if (even) {
            q->n_shards = n;
            for (size_t i = 0; i < n; i++)
                q->pos[i] = hi;
            tsdb_rwsend_int_pos_save(q);
        }
        q->barrier = INT64_MAX;
        pthread_mutex_unlock(&q->lock);
        s_shards_start(q, false);
        if (even)
            return true;
    }
    return true; // not even yet: the next decision tries again
}

// The queue's manager: every TSDB_RWSEND_RESHARD_MS, Prometheus's decision of how many
// shards to run (tsdb_rwsend_shards.h), applied.
static void *
s_queue_run(void *arg)
{
    struct tsdb_rwsend_queue *q = arg;
    const struct fw_rw_queue_config *qc = &q->conf->queue_config;
    s_shards_start(q, true);
    int64_t last = fw_time_now_ms();
    while (tsdb_rwsend_int_sleep(q, TSDB_RWSEND_RESHARD_MS)) {
        int64_t now = fw_time_now_ms(), lo, hi;
        double interval_s = (double)(now - last) / 1000.0;
        last = now;
        pthread_mutex_lock(&q->lock);
        size_t current = q->n_shards;
        if (q->in_span_ms > 0) { // samples per second of their timestamps, all shards
            double in = q->in_samples / (q->in_span_ms / 1000.0) * (double)current;
            tsdb_rwsend_ewma_add(&q->in, in * interval_s);
            tsdb_rwsend_ewma_tick(&q->in, interval_s);
        }
        q->in_samples = q->in_span_ms = 0;
        tsdb_rwsend_ewma_tick(&q->out, interval_s);
        tsdb_rwsend_ewma_tick(&q->dropped, interval_s);
        tsdb_rwsend_ewma_tick(&q->send, interval_s);
        s_pos_range(q, &lo, &hi);
        int64_t behind = now - TSDB_RWSEND_DELAY_MS - lo;
        struct tsdb_rwsend_rates r = {q->in.rate, q->out.rate, q->dropped.rate, q->send.rate,
                                      behind > 0 ? (double)behind / 1000.0 : 0};
        bool sending = q->last_send_ms >= now - 2 * qc->batch_send_deadline_ms;
        pthread_mutex_unlock(&q->lock);
        size_t want = tsdb_rwsend_desired_shards(&r, current, q->min_shards, q->max_shards);
        fw_debug("remote_write.shards",
                 "remote_name=%s in=%.1f out=%.1f dropped=%.1f send_s=%.3f delay_s=%.1f "
                 "shards=%zu desired=%zu",
                 q->conf->name, r.in, r.out, r.dropped, r.send_s, r.delay_s, current, want);
        if (want == current || !sending) // as Prometheus: not while sends fail
            continue;
        fw_info("remote_write.reshard", "remote_name=%s from=%zu to=%zu", q->conf->name, current,
                want);
        if (!s_reshard(q, want))
            break;
        fw_metrics_set(q->owner->metrics, "fw_tsdb_remote_storage_shards", q->metric_labels,
                       (double)q->n_shards);
    }
    s_shards_join(q);
    return NULL;
}

static void
s_queue_stop(struct tsdb_rwsend_queue **qp)
{
    struct tsdb_rwsend_queue *q = *qp;
    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    q->stopping = true;
    pthread_cond_broadcast(&q->wake);
    pthread_mutex_unlock(&q->lock);
    tsdb_rwsend_meta_destroy(&q->meta);
    if (q->manager_started)
        pthread_join(q->manager, NULL);
    for (size_t i = 0; i < q->max_shards; i++)
        curl_easy_cleanup(q->shards[i].conn.easy); // NULL-safe
    pthread_mutex_lock(&q->lock);
    tsdb_rwsend_int_pos_save(q);
    pthread_mutex_unlock(&q->lock);
    pthread_cond_destroy(&q->wake);
    pthread_mutex_destroy(&q->lock);
    fw_labels_clear(&q->external);
    free(q->shards);
    free(q->pos);
    free(q->path);
    free(q->metric_labels);
    free(q->token);
    fw_tlsfiles_destroy(&q->tls_files);
    free(q);
    *qp = NULL;
}

// Watch for samples stored at or below what the queue read (tsdb_store.h, "Late samples"),
// keyed by its name as its position file is: from its highest position on disk.
static void
s_late_watch(struct tsdb_rwsend_queue *q)
{
    uint64_t key = fw_hash64(q->conf->name, strlen(q->conf->name));
    key = key ? key : 1; // 0 is the store's "none"
    int64_t hi = INT64_MIN;
    for (size_t i = 0; i < q->n_shards; i++)
        hi = q->pos[i] > hi ? q->pos[i] : hi;
    fw_err_t err;
    if (tsdb_store_late_watch(q->owner->store, key, hi, &err) == 0)
        q->late_key = key;
    else
        fw_warn("remote_write.late.off", "remote_name=%s err=\"%s\"", q->conf->name, err.msg);
}

static struct tsdb_rwsend_queue *
s_queue_start(tsdb_rwsend_t *self, const struct fw_remote_write_config *rw,
              const struct fw_labels *external)
{
    struct tsdb_rwsend_queue *q = fw_calloc(1, sizeof(*q));
    q->owner = self;
    q->conf = rw;
    q->external = (struct fw_labels)FW_LABELS_INIT;
    fw_labels_copy(&q->external, external);
    char *safe = fw_strdup(rw->name);
    for (char *p = safe; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-' || *p == '_' || *p == '.'))
            *p = '_';
    q->path = fw_asprintf("%s/%s.pos", self->dir, safe);
    free(safe);
    q->metric_labels = fw_asprintf("remote_name=\"%s\"", rw->name);
    pthread_mutex_init(&q->lock, NULL);
    q->tls_files = fw_tlsfiles_new();
    pthread_cond_init(&q->wake, NULL);
    int64_t lo = rw->queue_config.min_shards, hi = rw->queue_config.max_shards;
    lo = lo < 1 ? 1 : lo > TSDB_RWSEND_SHARDS_MAX ? TSDB_RWSEND_SHARDS_MAX : lo;
    hi = hi < lo ? lo : hi > TSDB_RWSEND_SHARDS_MAX ? TSDB_RWSEND_SHARDS_MAX : hi;
    q->min_shards = q->n_shards = (size_t)lo;
    q->max_shards = (size_t)hi;
    q->barrier = INT64_MAX;
    q->pos = fw_calloc(q->max_shards, sizeof(*q->pos));
    q->shards = fw_calloc(q->max_shards, sizeof(*q->shards));
    s_pos_load(q);
    s_late_watch(q);
    fw_metrics_set(self->metrics, "fw_tsdb_remote_storage_shards", q->metric_labels,
                   (double)q->n_shards);
    static const char *const counters[] = {"fw_tsdb_remote_storage_samples_total",
                                           "fw_tsdb_remote_storage_samples_failed_total",
                                           "fw_tsdb_remote_storage_samples_retried_total",
                                           "fw_tsdb_remote_storage_samples_dropped_total",
                                           "fw_tsdb_remote_storage_late_samples_total",
                                           "fw_tsdb_remote_storage_samples_read_total"};
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        tsdb_rwsend_int_count(q, counters[i], 0);
    if (rw->metadata_config.send && self->metadata) {
        struct tsdb_rwsend_meta_opts mo = {rw->metadata_config,
                                           rw->queue_config.min_backoff_ms,
                                           rw->queue_config.max_backoff_ms,
                                           rw->queue_config.retry_on_http_429,
                                           rw->name,
                                           q->metric_labels};
        q->meta = tsdb_rwsend_meta_new(self->metadata, self->metrics, &mo, s_meta_post, q);
    }
    q->manager_started = fw_thread_create(&q->manager, NULL, s_queue_run, q) == 0;
    if (!q->manager_started)
        fw_error("remote_write.start.fail", "remote_name=%s", rw->name);
    fw_info("remote_write.start", "remote_name=%s shards=%zu min_shards=%zu max_shards=%zu",
            rw->name, q->n_shards, q->min_shards, q->max_shards);
    return q;
}

// The late-sample records of queues no longer configured go (nobody would send them).
static int
s_late_keep(tsdb_rwsend_t *self, fw_err_t *err)
{
    uint64_t *keys = fw_calloc(self->n_queues + 1, sizeof(*keys));
    size_t n = 0;
    for (size_t i = 0; i < self->n_queues; i++)
        if (self->queues[i]->late_key)
            keys[n++] = self->queues[i]->late_key;
    int rc = tsdb_store_late_keep(self->store, keys, n, err);
    free(keys);
    return rc;
}

tsdb_rwsend_t *
tsdb_rwsend_new(tsdb_store_t *store, const char *dir, fw_metrics_t *metrics)
{
    tsdb_rwsend_t *self = fw_calloc(1, sizeof(*self));
    self->store = store;
    self->dir = fw_strdup(dir);
    self->metrics = metrics;
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_total", FW_METRIC_COUNTER,
                       "Samples remote_write sent and the receiver accepted, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_failed_total", FW_METRIC_COUNTER,
                       "Samples the receiver refused for good (4xx), dropped, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_retried_total", FW_METRIC_COUNTER,
                       "Samples sent again after a 5xx, a 429 or a transport error.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_dropped_total", FW_METRIC_COUNTER,
                       "Samples not sent: older than sample_age_limit, or their series dropped "
                       "by write_relabel_configs.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_late_samples_total", FW_METRIC_COUNTER,
                       "Samples stored after the queue had read past their timestamp (late, "
                       "backfilled, imported) that the receiver accepted, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_samples_read_total", FW_METRIC_COUNTER,
                       "Samples the shards read from the store, by remote_name: those past a "
                       "window cut at queue_config.capacity are read again by the next window.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_highest_sent_timestamp_seconds",
                       FW_METRIC_GAUGE, "The newest sample a receiver accepted, by remote_name.");
    fw_metrics_declare(metrics, "fw_tsdb_remote_storage_shards", FW_METRIC_GAUGE,
                       "Shards sending, by remote_name.");
    tsdb_rwsend_meta_declare(metrics);
    return self;
}

void
tsdb_rwsend_set_metadata(tsdb_rwsend_t *self, tsdb_metadata_t *md)
{
    self->metadata = md;
}

int
tsdb_rwsend_apply(tsdb_rwsend_t *self, const struct fw_promcfg *cfg, fw_err_t *err)
{
    for (size_t i = 0; i < self->n_queues; i++)
        s_queue_stop(&self->queues[i]);
    free(self->queues);
    self->queues = NULL;
    self->n_queues = 0;
    if (cfg->n_remote_writes == 0)
        return s_late_keep(self, err);
    if (mkdir(self->dir, 0755) != 0 && errno != EEXIST) {
        fw_err_set(err, "cannot create %s: %s", self->dir, strerror(errno));
        return -1;
    }
    self->queues = fw_calloc(cfg->n_remote_writes, sizeof(*self->queues));
    for (size_t i = 0; i < cfg->n_remote_writes; i++)
        self->queues[self->n_queues++] =
            s_queue_start(self, &cfg->remote_writes[i], &cfg->global.external_labels);
    return s_late_keep(self, err);
}

void
tsdb_rwsend_destroy(tsdb_rwsend_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_rwsend_t *self = *self_p;
    for (size_t i = 0; i < self->n_queues; i++)
        s_queue_stop(&self->queues[i]);
    free(self->queues);
    free(self->dir);
    free(self);
    *self_p = NULL;
}
