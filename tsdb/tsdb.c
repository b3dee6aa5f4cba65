/*  tsdb.c — the tsdb daemon class: PULL samples into LMDB, answer queries, publish.

    One zloop on the main thread. s_on_samples drains up to S_GROUP queued SAMPLES
    messages and stores them in ONE write transaction (group commit: the fsync cost is
    shared by everything that arrived meanwhile), then re-publishes the original frames on
    PUB. QUERY on the query ROUTER is answered off this loop by tsdb_query's worker
    threads, so a slow query never delays ingest. s_on_housekeeping (1 Hz) handles SIGHUP
    and /-/reload, updates the gauges and enforces retention in bounded chunks. The HTTP
    API runs on fw_http's threads and only reads. On SIGTERM the loop returns and tsdb_run
    drains what is already queued on the PULL socket (bounded) before the store is closed.
*/
#include "tsdb.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_daemon.h"
#include "fw_http.h"
#include "fw_log.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_msg.h"
#include "fw_time.h"
#include "fw_zsock.h"
#include "tsdb_api.h"
#include "tsdb_query.h"
#include "tsdb_store.h"

#define S_GROUP 64              // SAMPLES messages per write transaction
#define S_DRAIN_MAX 10000       // messages drained after SIGTERM
#define S_RETENTION_CHUNK 20000 // samples deleted per housekeeping tick

extern const char fw_embed_tsdb_default[];

struct tsdb {
    const struct tsdb_opts *opts;                // borrowed
    struct fw_promcfg cfg;                       // owned
    tsdb_store_t *store;                         // owned
    tsdb_api_t *api;                             // owned
    tsdb_query_t *query;                         // owned: QUERY workers
    fw_metrics_t *metrics;                       // owned
    fw_http_t *http;                             // owned
    zsock_t *pull, *router, *pub;                // owned
    fw_zsock_guard_t *pull_guard, *router_guard; // owned: count oversized messages
    zloop_t *loop;                               // owned
};

// ---------------------------------------------------------------------------------------
// Config

static char *
s_read_file(const char *path, fw_err_t *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fw_err_set(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        fw_mem_grow((void **)&buf, &cap, len + n + 1, 1);
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    fw_mem_grow((void **)&buf, &cap, len + 1, 1);
    buf[len] = '\0';
    return buf;
}

int
tsdb_config_load(const char *path, struct fw_promcfg *cfg, char **text_out,
                 struct fw_cfg_errors *errs)
{
    char *text;
    const char *name = path ? path : "tsdb.example.yml";
    if (path) {
        fw_err_t err;
        text = s_read_file(path, &err);
        if (!text) {
            memset(cfg, 0, sizeof(*cfg));
            fw_cfg_errors_add(errs, path, (struct fw_cfg_pos){0, 0}, "%s", err.msg);
            return -1;
        }
    } else {
        text = fw_strdup(fw_embed_tsdb_default);
    }
    int rc = fw_promcfg_load(name, text, cfg, errs);
    if (rc == 0 && text_out) {
        // What /api/v1/status/config shows: never the raw file, whose secrets it would leak.
        fw_err_t err;
        fw_err_clear(&err);
        *text_out = fw_promcfg_shown(text, &err);
        if (!*text_out) {
            fw_cfg_errors_add(errs, name, (struct fw_cfg_pos){1, 1},
                              "cannot show the configuration with its secrets masked: %s", err.msg);
            fw_promcfg_free(cfg);
            rc = -1;
        }
    }
    free(text);
    return rc;
}

// ---------------------------------------------------------------------------------------
// Samples

// Store the SAMPLES messages in frames[0..n) (owned) in one transaction and publish them.
static void
s_store_group(tsdb_t *self, zmsg_t **frames, size_t n)
{
    struct fw_msg *msgs[S_GROUP];
    const struct fw_batch *batches[S_GROUP];
    size_t nb = 0;
    // Not fw_zsock_recv: the raw frames are kept to re-publish without re-encoding.
    for (size_t k = 0; k < n; k++) {
        fw_err_t err;
        struct fw_msg *m = NULL;
        if (fw_msg_decode(frames[k], &m, &err) != 0) {
            char *type = zmsg_size(frames[k]) > 0 ? zframe_strdup(zmsg_first(frames[k])) : NULL;
            bool known = type && fw_msg_type_parse(type, &(fw_msg_type_t){0}) == 0;
            fw_zsock_reject(self->metrics, known ? type : "unknown", err.msg);
            free(type);
            zmsg_destroy(&frames[k]);
            continue;
        }
        if (m->type != FW_MSG_SAMPLES || !m->batch) {
            fw_zsock_reject(self->metrics, fw_msg_type_str(m->type), "unexpected message type");
            fw_msg_destroy(&m);
            zmsg_destroy(&frames[k]);
            continue;
        }
        msgs[nb] = m;
        batches[nb] = m->batch;
        frames[nb] = frames[k]; // keep the raw frames to republish, aligned with msgs
        if (nb != k)
            frames[k] = NULL;
        nb++;
    }
    if (nb > 0) {
        fw_err_t err;
        struct tsdb_store_stats st = {0};
        for (size_t b = 0; b < nb; b++)
            for (size_t s = 0; s < batches[b]->len; s++)
                if (tsdb_store_append_series(self->store, &batches[b]->series[s].labels,
                                             batches[b]->series[s].samples,
                                             batches[b]->series[s].len, &st, &err) != 0)
                    fw_warn("tsdb.series.reject", "err=%s", err.msg);
        if (tsdb_store_commit(self->store, &err) == 0) {
            fw_metrics_add(self->metrics, "fw_tsdb_samples_appended_total", "", (double)st.samples);
            fw_metrics_add(self->metrics, "fw_tsdb_commits_total", "", 1);
            if (st.new_series)
                fw_debug("tsdb.series.new", "count=%zu", st.new_series);
            for (size_t k = 0; k < nb; k++)
                zmsg_send(&frames[k], self->pub); // PUB never blocks: drops without readers
        } else {
            fw_metrics_add(self->metrics, "fw_tsdb_write_failures_total", "", 1);
            fw_error("tsdb.write.fail", "batches=%zu err=%s", nb, err.msg);
        }
    }
    for (size_t k = 0; k < nb; k++) {
        fw_msg_destroy(&msgs[k]);
        zmsg_destroy(&frames[k]);
    }
}

// Receive up to max messages without blocking (the first may be known to be ready).
static size_t
s_recv_some(zsock_t *sock, zmsg_t **out, size_t max)
{
    size_t n = 0;
    while (n < max && (zsock_events(sock) & ZMQ_POLLIN)) {
        zmsg_t *m = zmsg_recv(sock);
        if (!m)
            break;
        out[n++] = m;
    }
    return n;
}

static int
s_on_samples(zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    tsdb_t *self = arg;
    zmsg_t *frames[S_GROUP];
    size_t n = s_recv_some(sock, frames, S_GROUP);
    if (n > 0)
        s_store_group(self, frames, n);
    return 0;
}

// ---------------------------------------------------------------------------------------
// Housekeeping

static int
s_reload(void *arg, char *errbuf, size_t errsize)
{
    tsdb_t *self = arg;
    struct fw_cfg_errors errs;
    memset(&errs, 0, sizeof(errs));
    struct fw_promcfg cfg;
    char *text = NULL;
    if (tsdb_config_load(self->opts->common.config_file, &cfg, &text, &errs) != 0) {
        fw_daemon_reload_failed(&errs, errbuf, errsize);
        fw_promcfg_free(&cfg);
        return -1;
    }
    fw_promcfg_free(&self->cfg);
    self->cfg = cfg;
    tsdb_store_set_ooo_window(self->store, self->cfg.storage.out_of_order_time_window_ms);
    tsdb_api_set_config_text(self->api, text);
    free(text);
    fw_info("config.reload", "file=%s", self->opts->common.config_file);
    return 0;
}

static int
s_on_housekeeping(zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    tsdb_t *self = arg;
    (void)fw_daemon_reload_step(self->http, s_reload, self);
    ssize_t series = tsdb_store_series_count(self->store);
    if (series >= 0)
        fw_metrics_set(self->metrics, "fw_tsdb_series", "", (double)series);
    if (self->opts->retention_ms > 0) {
        size_t deleted = 0;
        fw_err_t err;
        if (tsdb_store_delete_before(self->store, fw_time_now_ms() - self->opts->retention_ms,
                                     S_RETENTION_CHUNK, &deleted, &err) != 0)
            fw_warn("tsdb.retention.fail", "err=%s", err.msg);
        else if (deleted > 0)
            fw_metrics_add(self->metrics, "fw_tsdb_retention_deleted_total", "", (double)deleted);
    }
    return 0;
}

// ---------------------------------------------------------------------------------------
// Lifecycle

static void
s_declare_metrics(fw_metrics_t *m)
{
    fw_zsock_declare_metrics(m);
    fw_metrics_declare(m, "fw_tsdb_samples_appended_total", FW_METRIC_COUNTER,
                       "Samples committed to storage.");
    fw_metrics_declare(m, "fw_tsdb_commits_total", FW_METRIC_COUNTER,
                       "Write transactions committed (each holds one or more batches).");
    fw_metrics_declare(m, "fw_tsdb_write_failures_total", FW_METRIC_COUNTER,
                       "Write transactions that failed; their batches were dropped.");
    fw_metrics_declare(m, "fw_tsdb_series", FW_METRIC_GAUGE, "Series in storage.");
    fw_metrics_declare(m, "fw_tsdb_retention_deleted_total", FW_METRIC_COUNTER,
                       "Samples deleted because they were older than the retention time.");
    fw_metrics_add(m, "fw_tsdb_samples_appended_total", "", 0);
    fw_metrics_add(m, "fw_tsdb_commits_total", "", 0);
}

tsdb_t *
tsdb_new(const struct tsdb_opts *opts, struct fw_promcfg *cfg, const char *cfg_text)
{
    tsdb_t *self = fw_calloc(1, sizeof(*self));
    self->opts = opts;
    self->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    self->metrics = fw_metrics_new();
    s_declare_metrics(self->metrics);

    fw_err_t err;
    self->store = tsdb_store_new();
    if (opts->map_size && *opts->map_size) {
        int64_t bytes;
        if (fw_size_parse(opts->map_size, &bytes) != 0 || bytes < (1 << 20)) {
            fw_error("tsdb.start.fail", "err=%s value=%s",
                     "invalid --storage.tsdb.map-size (at least 1MiB)", opts->map_size);
            goto fail;
        }
        tsdb_store_set_mapsize(self->store, (size_t)bytes);
    }
    if (tsdb_store_open(self->store, opts->storage_path, &err) != 0) {
        fw_error("tsdb.open.fail", "path=%s err=%s", opts->storage_path, err.msg);
        goto fail;
    }
    tsdb_store_set_ooo_window(self->store, self->cfg.storage.out_of_order_time_window_ms);
    self->api = tsdb_api_new(self->store, self->metrics);
    tsdb_api_set_config_text(self->api, cfg_text);

    if (!(self->pull = fw_zsock_pull(opts->zmq_samples, opts->common.zmq_max_msg_size, &err)) ||
        !(self->router = fw_zsock_router(opts->zmq_query, opts->common.zmq_max_msg_size, &err)) ||
        !(self->pub = fw_zsock_pub(opts->zmq_pub, &err))) {
        fw_error("zmq.attach.fail", "err=%s", err.msg);
        goto fail;
    }
    self->pull_guard = fw_zsock_guard_new(self->pull, "samples", self->metrics);
    self->router_guard = fw_zsock_guard_new(self->router, "query", self->metrics);

    self->http = fw_http_new("tsdb", self->metrics);
    tsdb_api_routes(self->api, self->http);
    if (fw_http_start(self->http, opts->common.web_listen_address, &err) != 0) {
        fw_error("http.start.fail", "address=%s err=%s", opts->common.web_listen_address, err.msg);
        goto fail;
    }
    self->loop = zloop_new();
    zloop_reader(self->loop, self->pull, s_on_samples, self);
    self->query = tsdb_query_new(
        self->api, self->metrics,
        &(struct tsdb_query_opts){(int)opts->zmq_query_workers, (int)opts->zmq_query_queue,
                                  opts->zmq_query_timeout_ms, opts->common.zmq_max_msg_size});
    if (tsdb_query_start(self->query, self->loop, self->router, &err) != 0) {
        fw_error("tsdb.start.fail", "err=%s", err.msg);
        goto fail;
    }
    zloop_timer(self->loop, 1000, 0, s_on_housekeeping, self);
    ssize_t series = tsdb_store_series_count(self->store);
    fw_metrics_set(self->metrics, "fw_tsdb_series", "", series > 0 ? (double)series : 0);
    fw_http_set_ready(self->http, true);
    fw_info("tsdb.start", "listen=%s path=%s samples=%s query=%s pub=%s series=%zd",
            opts->common.web_listen_address, opts->storage_path, tsdb_samples_endpoint(self),
            tsdb_query_endpoint(self), tsdb_pub_endpoint(self), series);
    return self;
fail:
    tsdb_destroy(&self);
    return NULL;
}

int
tsdb_run(tsdb_t *self)
{
    // fw_zloop_run, not zloop_start: a SIGHUP (reload) must not end the loop.
    int rc = fw_zloop_run(self->loop);
    // drain what is already queued, bounded, so an orderly shutdown loses nothing queued
    size_t drained = 0;
    zsock_set_rcvtimeo(self->pull, 0);
    while (drained < S_DRAIN_MAX) {
        zmsg_t *frames[S_GROUP];
        size_t n = 0;
        while (n < S_GROUP) {
            zmsg_t *m = zmsg_recv(self->pull);
            if (!m)
                break;
            frames[n++] = m;
        }
        if (n == 0)
            break;
        s_store_group(self, frames, n);
        drained += n;
    }
    fw_info("tsdb.stop", "drained=%zu", drained);
    return rc == 0 || zsys_interrupted ? 0 : -1;
}

void
tsdb_destroy(tsdb_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    tsdb_t *self = *self_p;
    zloop_destroy(&self->loop);
    tsdb_query_destroy(&self->query); // answers what it holds on the router
    fw_zsock_guard_destroy(&self->router_guard);
    fw_zsock_guard_destroy(&self->pull_guard);
    fw_http_destroy(&self->http); // waits for handlers, which read the store
    zsock_destroy(&self->pub);
    zsock_destroy(&self->router);
    zsock_destroy(&self->pull);
    tsdb_api_destroy(&self->api);
    tsdb_store_destroy(&self->store);
    fw_metrics_destroy(&self->metrics);
    fw_promcfg_free(&self->cfg);
    free(self);
    *self_p = NULL;
}

const char *
tsdb_samples_endpoint(tsdb_t *self)
{
    return self->pull ? zsock_endpoint(self->pull) : NULL;
}

const char *
tsdb_query_endpoint(tsdb_t *self)
{
    return self->router ? zsock_endpoint(self->router) : NULL;
}

const char *
tsdb_pub_endpoint(tsdb_t *self)
{
    return self->pub ? zsock_endpoint(self->pub) : NULL;
}

int
tsdb_http_port(tsdb_t *self)
{
    return self->http ? fw_http_port(self->http) : 0;
}
