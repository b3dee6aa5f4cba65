/*  tsdb_api_querylog.c — the query log (see tsdb_api_querylog.h).

    The line is built outside the lock; the lock only guards the descriptor, so a reopen
    never closes a file another thread is writing to.
*/
#include "tsdb_api_querylog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_time.h"
#include "tsdb_api_int.h"
#include "fw_json_out.h"

struct tsdb_api_querylog {
    pthread_mutex_t lock;
    int fd;     // -1: none
    char *path; // owned
};

tsdb_api_querylog_t *
tsdb_api_querylog_new(void)
{
    tsdb_api_querylog_t *self = fw_calloc(1, sizeof(*self));
    self->fd = -1;
    pthread_mutex_init(&self->lock, NULL);
    return self;
}

void
tsdb_api_querylog_destroy(tsdb_api_querylog_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_api_querylog_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    free(self->path);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

int
tsdb_api_querylog_open(tsdb_api_querylog_t *self, const char *path, fw_err_t *err)
{
    int fd = -1;
    if (path && *path) {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) {
            fw_err_set(err, "can't create json log file: open %s: %s", path, strerror(errno));
            return -1;
        }
    }
    pthread_mutex_lock(&self->lock);
    int old = self->fd;
    self->fd = fd;
    free(self->path);
    self->path = fd >= 0 ? fw_strdup(path) : NULL;
    pthread_mutex_unlock(&self->lock);
    if (old >= 0)
        close(old);
    return 0;
}

bool
tsdb_api_querylog_enabled(tsdb_api_querylog_t *self)
{
    pthread_mutex_lock(&self->lock);
    bool on = self->fd >= 0;
    pthread_mutex_unlock(&self->lock);
    return on;
}

static void
s_put_secs(struct fw_json_out *b, const char *key, int64_t us)
{
    char num[64];
    snprintf(num, sizeof(num), "\"%s\":%lld.%06lld", key, (long long)(us / 1000000),
             (long long)(us % 1000000));
    // Go writes the shortest form: no trailing zeros, no "." for a whole number.
    size_t n = strlen(num);
    while (num[n - 1] == '0')
        num[--n] = '\0';
    if (num[n - 1] == '.')
        num[--n] = '\0';
    fw_json_out_puts(b, num);
}

static void
s_put_kv(struct fw_json_out *b, const char *key, const char *value, bool comma)
{
    if (comma)
        fw_json_out_puts(b, ",");
    tsdb_api_put_str(b, key);
    fw_json_out_puts(b, ":");
    tsdb_api_put_str(b, value);
}

void
tsdb_api_querylog_put_stats(struct fw_json_out *b, const struct tsdb_api_querylog_entry *e)
{
    char num[96];
    fw_json_out_puts(b, "{\"timings\":{");
    s_put_secs(b, "evalTotalTime", e->eval_us);
    fw_json_out_puts(b, ",\"resultSortTime\":0,");
    s_put_secs(b, "queryPreparationTime", e->prepare_us);
    fw_json_out_puts(b, ",");
    s_put_secs(b, "innerEvalTime", e->eval_us);
    fw_json_out_puts(b, ",");
    s_put_secs(b, "execQueueTime", e->queue_us);
    fw_json_out_puts(b, ",");
    s_put_secs(b, "execTotalTime", e->total_us);
    snprintf(num, sizeof(num), "},\"samples\":{\"totalQueryableSamples\":%lld,",
             (long long)e->stats.total_samples);
    fw_json_out_puts(b, num);
    snprintf(num, sizeof(num), "\"peakSamples\":%lld}}", (long long)e->stats.peak_samples);
    fw_json_out_puts(b, num);
}

void
tsdb_api_querylog_write(tsdb_api_querylog_t *self, const struct tsdb_api_querylog_entry *e)
{
    char tb[48], num[64];
    struct fw_json_out b = {0};
    fw_json_out_puts(&b, "{");
    s_put_kv(&b, "time", fw_time_rfc3339(fw_time_now_ms(), tb, sizeof(tb)), false);
    s_put_kv(&b, "level", "INFO", true);
    s_put_kv(&b, "msg", "promql query logged", true);
    fw_json_out_puts(&b, ",\"params\":{"); // Go writes a map's keys sorted
    s_put_kv(&b, "end", fw_time_rfc3339(e->end_ms, tb, sizeof(tb)), false);
    s_put_kv(&b, "query", e->query ? e->query : "", true);
    s_put_kv(&b, "start", fw_time_rfc3339(e->start_ms, tb, sizeof(tb)), true);
    snprintf(num, sizeof(num), ",\"step\":%lld}", (long long)(e->range ? e->step_ms / 1000 : 0));
    fw_json_out_puts(&b, num);
    if (e->error)
        s_put_kv(&b, "error", e->error, true);
    fw_json_out_puts(&b, ",\"stats\":");
    tsdb_api_querylog_put_stats(&b, e);
    if (e->method) {
        fw_json_out_puts(&b, ",\"httpRequest\":{");
        s_put_kv(&b, "clientIP", e->client_ip ? e->client_ip : "", false);
        s_put_kv(&b, "method", e->method, true);
        s_put_kv(&b, "path", e->path ? e->path : "", true);
        fw_json_out_puts(&b, "}");
    }
    fw_json_out_puts(&b, "}\n");
    pthread_mutex_lock(&self->lock);
    ssize_t w = self->fd >= 0 ? write(self->fd, b.p, b.len) : (ssize_t)b.len;
    int saved = errno;
    pthread_mutex_unlock(&self->lock);
    if (w != (ssize_t)b.len)
        fw_warn("tsdb.querylog.fail", "err=%s", w < 0 ? strerror(saved) : "short write");
    free(b.p);
}
