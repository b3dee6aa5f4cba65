/*  scraper_sd.h — service discovery: sources of target groups, and their manager.

    A discovery source (a provider: one file_sd_config or one kubernetes_sd_config of one
    job) runs in its own zactor and produces target groups as Prometheus's discovery does:
    a group has a `source` naming it uniquely within its provider ("dir/a.json:0",
    "pod/ns/name"), `labels` shared by its targets, and `targets`, one label set each with
    __address__ and the mechanism's __meta_* labels. The actor pushes each change to the
    zloop thread as one struct scraper_sd_update (over its pipe, ownership passing with
    it): the groups it sets, by source (a group without targets removes its source), or,
    with `full`, every group it has (sources it no longer lists are gone). So discovery
    never blocks the scraper's loop, and a source that fails sends nothing and its last
    good groups stay.

    The manager (scraper_sd_t) starts a provider for every SD config of a prometheus.yml,
    keeps each provider's groups on the zloop thread, and says when any changed; the scraper
    then rebuilds its targets (scraper_target_from_group() for every target of every group,
    the same path static_configs take) at most once per housekeeping tick. On a reload the
    new manager takes over the groups of providers whose job and config are unchanged, so
    their targets do not flap while the restarted source lists again.
*/
#ifndef SCRAPER_SD_H
#define SCRAPER_SD_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

#include "fw_labels.h"
#include "fw_metrics.h"
#include "fw_promcfg.h"

// How long stopping a provider waits for its actor to confirm it sends nothing more.
#define SCRAPER_SD_STOP_MS 2000

struct scraper_sd_group {
    char *source;              // owned
    struct fw_labels labels;   // owned: the group's labels
    struct fw_labels *targets; // owned: one label set per target, each with __address__
    size_t n_targets, cap_targets;
};

struct scraper_sd_update {
    bool full;                       // these are all the provider's groups
    struct scraper_sd_group *groups; // owned
    size_t n_groups, cap_groups;
};

// An empty update (full or not). Never NULL.
struct scraper_sd_update *scraper_sd_update_new(bool full);
void scraper_sd_update_destroy(struct scraper_sd_update **self_p);
// Append an empty group named source (copied) and return it (borrowed: valid until the next
// append or the update's destruction).
struct scraper_sd_group *scraper_sd_update_add(struct scraper_sd_update *self, const char *source);
// Append an empty target to g and return it (borrowed, as above).
struct fw_labels *scraper_sd_group_add_target(struct scraper_sd_group *g);
void scraper_sd_group_clear(struct scraper_sd_group *g);

// Hand *update_p to the other end of an actor pipe (sets *update_p to NULL); the reader
// takes it with scraper_sd_update_recv(). 0, or -1 when the pipe refused it (the update is
// then destroyed).
int scraper_sd_update_send(zsock_t *pipe, struct scraper_sd_update **update_p);
// A provider actor answers "STOP" on its pipe with "STOPPED" and sends nothing after it
// (updates queued before it are still read and freed by the manager).

// Read one message from a provider actor: an update (caller owns it), or NULL for anything
// else (consumed).
struct scraper_sd_update *scraper_sd_update_recv(zsock_t *sock);

typedef struct scraper_sd scraper_sd_t;

// Called for every target of every group of one job: group labels and target labels, both
// borrowed for the call.
typedef void(scraper_sd_target_fn)(const struct fw_labels *group, const struct fw_labels *target,
                                   void *arg);

// Declare in m (may be NULL) the discovery metrics Prometheus has, under its names, at their
// initial values: prometheus_sd_failed_configs{name}, prometheus_sd_discovered_targets
// {config,name}, _received_updates_total, _updates_total,
// prometheus_sd_kubernetes_events_total{event,role} (every role and event at 0),
// prometheus_sd_kubernetes_http_request_total{status_code}, _failures_total,
// _workqueue_depth{queue_name} and _workqueue_items_total{queue_name} (series made by each
// kubernetes provider for its role), prometheus_sd_file_read_errors_total,
// prometheus_sd_file_scan_duration_seconds (a summary without quantiles).
void scraper_sd_declare_metrics(fw_metrics_t *m);
// A manager with no providers, counting into metrics (borrowed, may be NULL; must outlive
// the manager; scraper_sd_declare_metrics is called on it). Never NULL.
scraper_sd_t *scraper_sd_new(fw_metrics_t *metrics);
// Start a provider for each file_sd_config and kubernetes_sd_config of cfg (borrowed: must
// outlive the manager) with its actor's pipe read on loop, and set
// prometheus_sd_failed_configs to the number of configs whose discovery could not be set
// up (a kubernetes_sd_config outside a cluster, or without its own namespace): as in
// Prometheus, an API server that is set up but down is not a failed config, it counts in
// prometheus_sd_kubernetes_failures_total. The groups of each provider of
// prev (may be NULL) whose job name, mechanism, position and config are the same carry over.
// 0, or -1 with err when an actor cannot start.
int scraper_sd_start(scraper_sd_t *self, const struct fw_promcfg *cfg, scraper_sd_t *prev,
                     zloop_t *loop, fw_err_t *err);
// Whether any provider's groups changed since the last call (and clear that).
bool scraper_sd_take_changed(scraper_sd_t *self);
// Call fn for every target of the groups discovered for cfg->scrape_configs[job], groups in
// order of provider then source.
void scraper_sd_each(scraper_sd_t *self, size_t job, scraper_sd_target_fn *fn, void *arg);
// How many providers run.
size_t scraper_sd_providers(const scraper_sd_t *self);
// Stop every provider (their readers leave the loop) and free.
void scraper_sd_destroy(scraper_sd_t **self_p);

#endif
