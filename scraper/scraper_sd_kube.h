/*  scraper_sd_kube.h — kubernetes_sd_configs: the provider actor (list, then watch).

    One actor per kubernetes_sd_config runs every request of that config on one libcurl
    multi handle: for each resource the role needs (pod: pods; service: services;
    endpoints: endpoints, services, pods; endpointslice: endpointslices, services, pods;
    node: nodes; ingress: ingresses; plus, cluster-wide, nodes with attach_metadata.node for
    pod, endpoints and endpointslice, and namespaces with attach_metadata.namespace for all
    roles but node) in each namespace (`namespaces.names`, the pod's own with
    `own_namespace`, or all), with that resource's selector, it LISTs in pages of 500
    (GET .../pods?limit=500&labelSelector=...&fieldSelector=..., then &continue=TOKEN while
    the server returns one; scraper_sd_kube_list.h, which also says what an expired token
    does), keeps the objects (scraper_sd_kube_cache.h), then WATCHes from the list's
    resourceVersion (?watch=true&resourceVersion=N&allowWatchBookmarks=true&timeoutSeconds=T),
    applying ADDED, MODIFIED and DELETED events as they stream in and moving its
    resourceVersion on with every event and BOOKMARK. A watch the server ends normally is
    resumed from there; an ERROR event with code 410 (Gone: the version is too old), or a
    watch answered 410, relists at once; any other failure (connection, HTTP status, ERROR
    event, a body over the limits) logs event=sd.kube.fail and relists after a backoff
    (1 s doubling to 30 s). Every
    SCRAPER_SD_KUBE_RESYNC_MS a resource is relisted anyway (resync). When a TLS file the
    requests read changes on disk (tls_config's ca_file, cert_file, key_file; in-cluster,
    the service account's ca.crt: scraper_sd_kube_api.h), every watch set up under the old
    content ends within a second (event=sd.kube.reconnect) and resumes from its
    resourceVersion on a new connection made with the new files: nothing is relisted or
    lost, and no old TLS session outlives a rotated CA. (Prometheus's client-go would keep
    such a watch until its timeout, 5 to 10 minutes.)

    A node's or namespace's change rebuilds the groups that show its metadata, and only when
    its name, labels or annotations changed (status updates rebuild nothing).

    Metrics (Prometheus's names): prometheus_sd_kubernetes_events_total{event,role} (list
    items and watch events, of the objects Prometheus's informers count for the role),
    prometheus_sd_kubernetes_http_request_total{status_code},
    prometheus_sd_kubernetes_failures_total (every failed LIST or WATCH, as Prometheus's
    informers' watch error handler counts them), and the role's work queue as client-go's:
    the keys of the objects whose groups wait to be rebuilt (`dirty` below; a key queued
    twice is one item) in prometheus_sd_kubernetes_workqueue_depth{queue_name=<role>} and
    _items_total{queue_name}. A config whose API server cannot even be set up is not an
    actor's failure but the manager's: prometheus_sd_failed_configs (scraper_sd.h).

    Groups go to the scraper once every resource has listed: all of them (a full update)
    after any list, otherwise only those whose objects (or, for endpoints and
    endpointslice, whose Service or Pods) changed. While the API server is unreachable
    nothing is sent, so the last good targets stay.
*/
#ifndef SCRAPER_SD_KUBE_H
#define SCRAPER_SD_KUBE_H

#include <czmq.h>

#include "fw_metrics.h"
#include "fw_promcfg.h"

#define SCRAPER_SD_KUBE_RESYNC_MS (10 * 60 * 1000)
#define SCRAPER_SD_KUBE_BACKOFF_MIN_MS 1000
#define SCRAPER_SD_KUBE_BACKOFF_MAX_MS 30000
#define SCRAPER_SD_KUBE_MAX_LIST (512u * 1024 * 1024) // largest list body
#define SCRAPER_SD_KUBE_MAX_EVENT (64u * 1024 * 1024) // largest watch event line

// Start the provider actor for c (copied: the actor owns what it needs) of job (for logs),
// counting into metrics (borrowed, may be NULL; must outlive the actor; the families are
// declared by scraper_sd_new). NULL only if czmq fails. A config that cannot reach a server
// (not in a cluster, its own namespace unknown) sets err (may be NULL), logs
// event=sd.kube.fail, and the actor produces nothing: Prometheus's NewDiscoverer failing.
zactor_t *scraper_sd_kube_new(const struct fw_kube_sd_config *c, const char *job,
                              fw_metrics_t *metrics, fw_err_t *err);

#endif
