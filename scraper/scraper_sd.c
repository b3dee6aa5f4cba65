/*  scraper_sd.c — target groups, their updates, and the discovery manager.

    Design: each provider is one zactor (scraper_sd_file.h, scraper_sd_kube.h) whose pipe is
    a reader on the scraper's zloop. An update carries a heap pointer over the pipe (czmq's
    "p" picture: both ends are in this process), so a large group set crosses threads
    without copying. The reader applies it to the provider's table of groups by source and
    raises `changed`; the scraper rebuilds its targets from the tables on its next
    housekeeping tick, which bounds that work to once a second however often a cluster
    churns.
*/
#include "scraper_sd.h"

#include <stdlib.h>
#include <string.h>

#include "fw_log.h"
#include "fw_mem.h"
#include "fw_metrics.h"
#include "fw_time.h"
#include "scraper_sd_file.h"
#include "scraper_sd_kube.h"

// ---------------------------------------------------------------------------------------
//  Groups and updates

struct scraper_sd_update *
scraper_sd_update_new(bool full)
{
    struct scraper_sd_update *self = fw_calloc(1, sizeof(*self));
    self->full = full;
    return self;
}

void
scraper_sd_group_clear(struct scraper_sd_group *g)
{
    if (!g)
        return;
    free(g->source);
    fw_labels_clear(&g->labels);
    for (size_t i = 0; i < g->n_targets; i++)
        fw_labels_clear(&g->targets[i]);
    free(g->targets);
    memset(g, 0, sizeof(*g));
}

void
scraper_sd_update_destroy(struct scraper_sd_update **self_p)
{
    if (!self_p || !*self_p)
        return;
    struct scraper_sd_update *self = *self_p;
    for (size_t i = 0; i < self->n_groups; i++)
        scraper_sd_group_clear(&self->groups[i]);
    free(self->groups);
    free(self);
    *self_p = NULL;
}

struct scraper_sd_group *
scraper_sd_update_add(struct scraper_sd_update *self, const char *source)
{
    fw_mem_grow((void **)&self->groups, &self->cap_groups, self->n_groups + 1,
                sizeof(*self->groups));
    struct scraper_sd_group *g = &self->groups[self->n_groups++];
    memset(g, 0, sizeof(*g));
    g->source = fw_strdup(source);
    return g;
}

struct fw_labels *
scraper_sd_group_add_target(struct scraper_sd_group *g)
{
    fw_mem_grow((void **)&g->targets, &g->cap_targets, g->n_targets + 1, sizeof(*g->targets));
    struct fw_labels *t = &g->targets[g->n_targets++];
    memset(t, 0, sizeof(*t));
    return t;
}

int
scraper_sd_update_send(zsock_t *pipe, struct scraper_sd_update **update_p)
{
    struct scraper_sd_update *u = *update_p;
    *update_p = NULL;
    if (zsock_send(pipe, "sp", "UPDATE", (void *)u) != 0) {
        scraper_sd_update_destroy(&u);
        return -1;
    }
    return 0;
}

struct scraper_sd_update *
scraper_sd_update_recv(zsock_t *sock)
{
    zmsg_t *msg = zmsg_recv(sock);
    if (!msg)
        return NULL;
    if (zmsg_signal(msg) >= 0) {
        // A provider actor that ended by itself: this was its exit signal, which
        // zactor_destroy would wait for forever; from now on it must not wait.
        zsock_set_rcvtimeo(sock, 0);
        zmsg_destroy(&msg);
        return NULL;
    }
    struct scraper_sd_update *u = NULL;
    char *cmd = zmsg_popstr(msg);
    zframe_t *f = zmsg_pop(msg);
    if (cmd && strcmp(cmd, "UPDATE") == 0 && f && zframe_size(f) == sizeof(void *))
        memcpy(&u, zframe_data(f), sizeof(void *));
    zframe_destroy(&f);
    free(cmd);
    zmsg_destroy(&msg);
    return u;
}

// ---------------------------------------------------------------------------------------
//  The manager

typedef enum { S_FILE, S_KUBE } s_kind_t;

struct s_provider {
    scraper_sd_t *owner; // borrowed
    size_t job;          // index into cfg->scrape_configs
    const char *job_name;
    s_kind_t kind;
    size_t index;       // position in its job's list of this kind
    const void *config; // borrowed from the manager's cfg
    zactor_t *actor;    // owned
    zhashx_t *groups;   // owned: source -> struct scraper_sd_group * (owned)
    size_t n_targets;   // in groups
};

struct scraper_sd {
    const struct fw_promcfg *cfg; // borrowed
    zloop_t *loop;                // borrowed
    fw_metrics_t *metrics;        // borrowed, may be NULL
    struct s_provider **providers;
    size_t n_providers, cap_providers;
    size_t failed; // configs whose discovery could not be set up
    bool changed;
};

static void
s_group_free(void **item)
{
    struct scraper_sd_group *g = *item;
    if (g) {
        scraper_sd_group_clear(g);
        free(g);
    }
    *item = NULL;
}

static void
s_apply(struct s_provider *p, struct scraper_sd_update *u)
{
    if (u->full) {
        zhashx_purge(p->groups);
        p->n_targets = 0;
    }
    for (size_t i = 0; i < u->n_groups; i++) {
        struct scraper_sd_group *g = &u->groups[i];
        const struct scraper_sd_group *old = zhashx_lookup(p->groups, g->source);
        if (old)
            p->n_targets -= old->n_targets;
        if (g->n_targets == 0) {
            zhashx_delete(p->groups, g->source);
            continue;
        }
        struct scraper_sd_group *kept = fw_malloc(sizeof(*kept));
        *kept = *g; // moved: the update keeps an emptied group
        memset(g, 0, sizeof(*g));
        p->n_targets += kept->n_targets;
        zhashx_update(p->groups, kept->source, kept);
    }
}

static void
s_discovered(fw_metrics_t *m, const char *job, double n)
{
    char labels[400];
    fw_metrics_label(labels, sizeof(labels) - 16, "config", job);
    strcat(labels, ",name=\"scrape\"");
    fw_metrics_set(m, "prometheus_sd_discovered_targets", labels, n);
}

// prometheus_sd_last_update_timestamp_seconds{config=<job>,name="scrape"}: as Prometheus's
// allGroups, now for every job each time the scraper is handed the targets (at each load and
// reload, and at each housekeeping tick that takes changed targets).
static void
s_sent(scraper_sd_t *self)
{
    if (!self->metrics || !self->cfg)
        return;
    double now = (double)fw_time_now_ms() / 1000.0;
    for (size_t j = 0; j < self->cfg->n_scrape_configs; j++) {
        char labels[400];
        fw_metrics_label(labels, sizeof(labels) - 16, "config",
                         self->cfg->scrape_configs[j].job_name);
        strcat(labels, ",name=\"scrape\"");
        fw_metrics_set(self->metrics, "prometheus_sd_last_update_timestamp_seconds", labels, now);
    }
}

// prometheus_sd_discovered_targets{config=<job>,name="scrape"}: as in Prometheus, where
// static_configs are a provider too, every target of the job before relabeling.
static void
s_publish(scraper_sd_t *self, size_t job)
{
    if (!self->metrics || !self->cfg || job >= self->cfg->n_scrape_configs)
        return;
    const struct fw_scrape_config *sc = &self->cfg->scrape_configs[job];
    size_t n = 0;
    for (size_t i = 0; i < sc->n_static_configs; i++)
        n += sc->static_configs[i].n_targets;
    for (size_t i = 0; i < self->n_providers; i++)
        if (self->providers[i]->job == job && self->providers[i]->groups)
            n += self->providers[i]->n_targets;
    s_discovered(self->metrics, sc->job_name, (double)n);
}

static int
s_on_update(zloop_t *loop, zsock_t *reader, void *arg)
{
    (void)loop;
    (void)reader;
    struct s_provider *p = arg;
    struct scraper_sd_update *u = scraper_sd_update_recv((zsock_t *)p->actor);
    if (!u)
        return 0;
    s_apply(p, u);
    p->owner->changed = true;
    fw_metrics_add(p->owner->metrics, "prometheus_sd_received_updates_total", "name=\"scrape\"", 1);
    s_publish(p->owner, p->job);
    fw_debug("sd.update", "job=%s mechanism=%s groups=%zu full=%d total=%zu", p->job_name,
             p->kind == S_FILE ? "file" : "kubernetes", u->n_groups, u->full,
             zhashx_size(p->groups));
    scraper_sd_update_destroy(&u);
    return 0;
}

void
scraper_sd_declare_metrics(fw_metrics_t *m)
{
    if (!m)
        return;
    fw_metrics_declare(m, "prometheus_sd_failed_configs", FW_METRIC_GAUGE,
                       "Current number of service discovery configurations that failed to load.");
    fw_metrics_declare(m, "prometheus_sd_discovered_targets", FW_METRIC_GAUGE,
                       "Current number of discovered targets.");
    fw_metrics_declare(m, "prometheus_sd_received_updates_total", FW_METRIC_COUNTER,
                       "Total number of update events received from the SD providers.");
    fw_metrics_declare(m, "prometheus_sd_updates_total", FW_METRIC_COUNTER,
                       "Total number of update events sent to the SD consumers.");
    fw_metrics_declare(m, "prometheus_sd_kubernetes_events_total", FW_METRIC_COUNTER,
                       "The number of Kubernetes events handled.");
    fw_metrics_declare(m, "prometheus_sd_kubernetes_http_request_total", FW_METRIC_COUNTER,
                       "Total number of HTTP requests to the Kubernetes API by status code.");
    fw_metrics_declare(m, "prometheus_sd_kubernetes_failures_total", FW_METRIC_COUNTER,
                       "The number of failed WATCH/LIST requests.");
    fw_metrics_declare(m, "prometheus_sd_kubernetes_workqueue_depth", FW_METRIC_GAUGE,
                       "Current depth of the work queue.");
    fw_metrics_declare(m, "prometheus_sd_kubernetes_workqueue_items_total", FW_METRIC_COUNTER,
                       "Total number of items added to the work queue.");
    fw_metrics_declare(m, "prometheus_sd_file_read_errors_total", FW_METRIC_COUNTER,
                       "The number of File-SD read errors.");
    fw_metrics_declare(m, "prometheus_sd_file_scan_duration_seconds", FW_METRIC_SUMMARY,
                       "The duration of the File-SD scan in seconds.");
    fw_metrics_declare(m, "prometheus_sd_file_watcher_errors_total", FW_METRIC_COUNTER,
                       "The number of File-SD errors caused by filesystem watch failures.");
    fw_metrics_declare(m, "prometheus_sd_file_mtime_seconds", FW_METRIC_GAUGE,
                       "Timestamp (mtime) of files read by FileSD. Timestamp is set at read time.");
    fw_metrics_declare(m, "prometheus_sd_last_update_timestamp_seconds", FW_METRIC_GAUGE,
                       "Timestamp of the last update sent to the SD consumers.");
    fw_metrics_declare(m, "prometheus_sd_kubernetes_http_request_duration_seconds",
                       FW_METRIC_SUMMARY,
                       "Summary of latencies for HTTP requests to the Kubernetes API by endpoint.");
    // Present from the start, as Prometheus registers them.
    fw_metrics_add(m, "prometheus_sd_failed_configs", "name=\"scrape\"", 0);
    fw_metrics_add(m, "prometheus_sd_kubernetes_failures_total", "", 0);
    fw_metrics_add(m, "prometheus_sd_received_updates_total", "name=\"scrape\"", 0);
    fw_metrics_add(m, "prometheus_sd_updates_total", "name=\"scrape\"", 0);
    fw_metrics_add(m, "prometheus_sd_file_read_errors_total", "", 0);
    fw_metrics_add(m, "prometheus_sd_file_scan_duration_seconds", "", 0);
    fw_metrics_add(m, "prometheus_sd_file_watcher_errors_total", "", 0);
    static const char *const roles[] = {"endpointslice", "endpoints", "node",
                                        "pod",           "service",   "ingress"};
    static const char *const events[] = {"add", "delete", "update"};
    for (size_t r = 0; r < 6; r++)
        for (size_t e = 0; e < 3; e++) {
            char labels[64];
            snprintf(labels, sizeof(labels), "event=\"%s\",role=\"%s\"", events[e], roles[r]);
            fw_metrics_add(m, "prometheus_sd_kubernetes_events_total", labels, 0);
        }
}

scraper_sd_t *
scraper_sd_new(fw_metrics_t *metrics)
{
    scraper_sd_t *self = fw_calloc(1, sizeof(scraper_sd_t));
    self->metrics = metrics;
    scraper_sd_declare_metrics(metrics);
    return self;
}

static bool
s_same(const struct s_provider *a, const struct s_provider *b)
{
    if (a->kind != b->kind || a->index != b->index || strcmp(a->job_name, b->job_name) != 0)
        return false;
    if (a->kind == S_FILE)
        return fw_file_sd_same(a->config, b->config);
    return fw_kube_sd_same(a->config, b->config);
}

static int
s_add(scraper_sd_t *self, size_t job, s_kind_t kind, size_t index, const void *config,
      scraper_sd_t *prev, fw_err_t *err)
{
    const struct fw_scrape_config *sc = &self->cfg->scrape_configs[job];
    struct s_provider *p = fw_calloc(1, sizeof(*p));
    p->owner = self;
    p->job = job;
    p->job_name = sc->job_name;
    p->kind = kind;
    p->index = index;
    p->config = config;
    p->groups = zhashx_new();
    zhashx_set_destructor(p->groups, s_group_free);
    fw_mem_grow((void **)&self->providers, &self->cap_providers, self->n_providers + 1,
                sizeof(*self->providers));
    self->providers[self->n_providers++] = p;

    for (size_t i = 0; prev && i < prev->n_providers; i++) {
        struct s_provider *old = prev->providers[i];
        if (old->groups && s_same(old, p)) {
            zhashx_destroy(&p->groups);
            p->groups = old->groups; // carried over; the old provider keeps none
            p->n_targets = old->n_targets;
            old->groups = NULL;
            self->changed = true;
            break;
        }
    }
    fw_err_t why = {0};
    p->actor = kind == S_FILE ? scraper_sd_file_new(config, sc->job_name, self->metrics)
                              : scraper_sd_kube_new(config, sc->job_name, self->metrics, &why);
    // As Prometheus's registerProviders: a config whose discoverer cannot be made counts as
    // failed (its actor runs, idle, so a reload replaces it like any other).
    if (why.msg[0])
        self->failed++;
    if (!p->actor) {
        fw_err_set(err, "cannot start the discovery of job \"%s\"", sc->job_name);
        return -1;
    }
    if (zloop_reader(self->loop, (zsock_t *)p->actor, s_on_update, p) != 0) {
        fw_err_set(err, "cannot read the discovery of job \"%s\"", sc->job_name);
        return -1;
    }
    return 0;
}

int
scraper_sd_start(scraper_sd_t *self, const struct fw_promcfg *cfg, scraper_sd_t *prev,
                 zloop_t *loop, fw_err_t *err)
{
    self->cfg = cfg;
    self->loop = loop;
    for (size_t j = 0; j < cfg->n_scrape_configs; j++) {
        const struct fw_scrape_config *sc = &cfg->scrape_configs[j];
        for (size_t i = 0; i < sc->n_file_sd_configs; i++)
            if (s_add(self, j, S_FILE, i, &sc->file_sd_configs[i], prev, err) != 0)
                return -1;
        for (size_t i = 0; i < sc->n_kubernetes_sd_configs; i++)
            if (s_add(self, j, S_KUBE, i, &sc->kubernetes_sd_configs[i], prev, err) != 0)
                return -1;
    }
    // Set on every (re)load, as Prometheus's ApplyConfig does: a fixed config that loads
    // brings it back to 0.
    fw_metrics_set(self->metrics, "prometheus_sd_failed_configs", "name=\"scrape\"",
                   (double)self->failed);
    for (size_t j = 0; j < cfg->n_scrape_configs; j++)
        s_publish(self, j);
    // Jobs the previous config had and this one has not: nothing discovered any more.
    for (size_t j = 0; prev && prev->cfg && j < prev->cfg->n_scrape_configs; j++) {
        const char *name = prev->cfg->scrape_configs[j].job_name;
        bool kept = false;
        for (size_t k = 0; k < cfg->n_scrape_configs && !kept; k++)
            kept = strcmp(cfg->scrape_configs[k].job_name, name) == 0;
        if (!kept) {
            s_discovered(self->metrics, name, 0);
            char labels[400];
            fw_metrics_label(labels, sizeof(labels) - 16, "config", name);
            strcat(labels, ",name=\"scrape\"");
            // gone, as Prometheus deletes the job's series
            fw_metrics_release(self->metrics, "prometheus_sd_last_update_timestamp_seconds",
                               labels);
        }
    }
    s_sent(self);
    return 0;
}

bool
scraper_sd_take_changed(scraper_sd_t *self)
{
    bool c = self->changed;
    self->changed = false;
    if (c) {
        fw_metrics_add(self->metrics, "prometheus_sd_updates_total", "name=\"scrape\"", 1);
        s_sent(self);
    }
    return c;
}

static int
s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void
scraper_sd_each(scraper_sd_t *self, size_t job, scraper_sd_target_fn *fn, void *arg)
{
    for (size_t i = 0; i < self->n_providers; i++) {
        struct s_provider *p = self->providers[i];
        if (p->job != job || !p->groups)
            continue;
        // Sources in order, so the target list (and /api/v1/targets) is stable.
        size_t n = zhashx_size(p->groups), k = 0;
        const char **keys = fw_calloc(n + 1, sizeof(*keys));
        for (void *g = zhashx_first(p->groups); g && k < n; g = zhashx_next(p->groups))
            keys[k++] = zhashx_cursor(p->groups);
        qsort(keys, k, sizeof(*keys), s_cmp_str);
        for (size_t j = 0; j < k; j++) {
            const struct scraper_sd_group *g = zhashx_lookup(p->groups, keys[j]);
            for (size_t t = 0; g && t < g->n_targets; t++)
                fn(&g->labels, &g->targets[t], arg);
        }
        free(keys);
    }
}

// Updates still queued on a provider's pipe carry heap pointers, which zactor_destroy would
// drop: ask the actor to stop sending ("STOP"; it answers "STOPPED" last) and free what
// comes before, waiting SCRAPER_SD_STOP_MS at most.
static void
s_provider_stop(struct s_provider *p)
{
    if (!p->actor || zstr_send(p->actor, "STOP") != 0)
        return;
    zpoller_t *poller = zpoller_new(p->actor, NULL);
    zpoller_set_nonstop(poller, true); // runs at shutdown, after SIGTERM
    int64_t deadline = zclock_mono() + SCRAPER_SD_STOP_MS;
    while (zclock_mono() < deadline) {
        if (!zpoller_wait(poller, (int)(deadline - zclock_mono())))
            break;
        zmsg_t *msg = zmsg_recv(p->actor);
        if (!msg)
            break;
        if (zmsg_signal(msg) >= 0) {
            // The actor ended by itself and this was its exit signal: zactor_destroy's wait
            // for it would never end, so it must not wait.
            zsock_set_rcvtimeo(zactor_sock(p->actor), 0);
            zmsg_destroy(&msg);
            break;
        }
        char *cmd = zmsg_popstr(msg);
        zframe_t *f = zmsg_pop(msg);
        bool stopped = cmd && strcmp(cmd, "STOPPED") == 0;
        if (cmd && strcmp(cmd, "UPDATE") == 0 && f && zframe_size(f) == sizeof(void *)) {
            struct scraper_sd_update *u;
            memcpy(&u, zframe_data(f), sizeof(void *));
            scraper_sd_update_destroy(&u);
        }
        zframe_destroy(&f);
        free(cmd);
        zmsg_destroy(&msg);
        if (stopped)
            break;
    }
    zpoller_destroy(&poller);
}

size_t
scraper_sd_providers(const scraper_sd_t *self)
{
    return self ? self->n_providers : 0;
}

void
scraper_sd_destroy(scraper_sd_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    scraper_sd_t *self = *self_p;
    for (size_t i = self->n_providers; i-- > 0;) {
        struct s_provider *p = self->providers[i];
        if (p->actor && self->loop)
            zloop_reader_end(self->loop, (zsock_t *)p->actor);
        s_provider_stop(p);
        zactor_destroy(&p->actor);
        zhashx_destroy(&p->groups);
        free(p);
    }
    free(self->providers);
    free(self);
    *self_p = NULL;
}
