/*  scraper_sd_kube.h — kubernetes_sd_configs: the provider actor (list, then watch).

    One actor per kubernetes_sd_config runs every request of that config on one libcurl
    multi handle: for each resource the role needs (pod: pods; service: services;
    endpoints: endpoints, services, pods; endpointslice: endpointslices, services, pods;
    node: nodes; ingress: ingresses) in each namespace (`namespaces.names`, the pod's own
    with `own_namespace`, or all), with that resource's selector, it LISTs
    (GET .../pods?labelSelector=...&fieldSelector=...), keeps the objects
    (scraper_sd_kube_cache.h), then WATCHes from the list's resourceVersion
    (?watch=true&resourceVersion=N&allowWatchBookmarks=true&timeoutSeconds=T), applying
    ADDED, MODIFIED and DELETED events as they stream in and moving its resourceVersion on
    with every event and BOOKMARK. A watch the server ends normally is resumed from there;
    an ERROR event with code 410 (Gone: the version is too old) relists at once; any other
    failure (connection, HTTP status, ERROR event, a body over the limits) logs
    event=sd.kube.fail and relists after a backoff (1 s doubling to 30 s). Every
    SCRAPER_SD_KUBE_RESYNC_MS a resource is relisted anyway (resync).

    Groups go to the scraper once every resource has listed: all of them (a full update)
    after any list, otherwise only those whose objects (or, for endpoints and
    endpointslice, whose Service or Pods) changed. While the API server is unreachable
    nothing is sent, so the last good targets stay.
*/
#ifndef SCRAPER_SD_KUBE_H
#define SCRAPER_SD_KUBE_H

#include <czmq.h>

#include "fw_promcfg.h"

#define SCRAPER_SD_KUBE_RESYNC_MS (10 * 60 * 1000)
#define SCRAPER_SD_KUBE_BACKOFF_MIN_MS 1000
#define SCRAPER_SD_KUBE_BACKOFF_MAX_MS 30000
#define SCRAPER_SD_KUBE_MAX_LIST (512u * 1024 * 1024) // largest list body
#define SCRAPER_SD_KUBE_MAX_EVENT (64u * 1024 * 1024) // largest watch event line

// Start the provider actor for c (copied: the actor owns what it needs) of job (for logs).
// NULL only if czmq fails. A config that cannot reach a server (not in a cluster) logs
// event=sd.kube.fail and the actor produces nothing.
zactor_t *scraper_sd_kube_new(const struct fw_kube_sd_config *c, const char *job);

#endif
