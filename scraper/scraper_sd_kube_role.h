/*  scraper_sd_kube_role.h — Kubernetes objects to target groups, as Prometheus's roles.

    One function per role turns one object (a Pod, Service, Endpoints, EndpointSlice, Node
    or Ingress, as the API server's JSON) into the target group Prometheus's
    discovery/kubernetes builds for it: the same source ("pod/<ns>/<name>"), the same
    targets and __address__ (host:port joined as net.JoinHostPort does), and the same
    __meta_kubernetes_* labels, including `_label_`/`_labelpresent_` and
    `_annotation_`/`_annotationpresent_` for every label and annotation, names sanitized
    (every character outside [a-zA-Z0-9_] becomes '_'). The endpoints and endpointslice
    roles look up the Service and Pods they point to in the cache. attach_metadata adds,
    from the cache too, the node's name, labels and annotations (node: true; the pod role on
    the group, endpoints and endpointslice on each target, as Prometheus 3's addNodeLabels;
    Prometheus 2.42 adds no node annotations) and the namespace's labels and annotations
    (namespace: true, every role but node, as Prometheus 3). An object whose node or
    namespace is not in the cache gets none, as in Prometheus.
*/
#ifndef SCRAPER_SD_KUBE_ROLE_H
#define SCRAPER_SD_KUBE_ROLE_H

#include <jansson.h>
#include <stdbool.h>

#include "fw_promcfg_sd.h"
#include "scraper_sd.h"
#include "scraper_sd_kube_cache.h"

// The kind whose objects make the role's groups (pods for pod, ...).
scraper_kube_kind_t scraper_sd_kube_role_kind(fw_kube_role_t role);

// Append to u the group of the object obj of the role's kind stored under key (NULL obj:
// the object is gone, so an empty group, which removes the source). Related objects come
// from cache (borrowed). Returns false, appending nothing, where Prometheus sends nothing
// for the object (a node without any address).
// attach (may be NULL: none) says which metadata to add.
bool scraper_sd_kube_role_group(fw_kube_role_t role, const char *key, const json_t *obj,
                                const struct scraper_sd_kube_cache *cache,
                                const struct fw_kube_attach_metadata *attach,
                                struct scraper_sd_update *u);

// Whether obj, an object of the role's kind, runs on or points at the node named node (so
// its group shows that node's metadata): a Pod's spec.nodeName, an Endpoints address's or
// EndpointSlice endpoint's nodeName or Node targetRef. false for other roles.
bool scraper_sd_kube_role_on_node(fw_kube_role_t role, const json_t *obj, const char *node);

// Prometheus's strutil.SanitizeLabelName: every character (UTF-8 sequence) outside
// [a-zA-Z0-9_] becomes one '_'. Writes at most size bytes, NUL included.
void scraper_sd_kube_role_sanitize(const char *in, char *out, size_t size);

#endif
