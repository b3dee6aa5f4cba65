/*  scraper_sd_kube_role.h — Kubernetes objects to target groups, as Prometheus's roles.

    One function per role turns one object (a Pod, Service, Endpoints, EndpointSlice, Node
    or Ingress, as the API server's JSON) into the target group Prometheus's
    discovery/kubernetes builds for it: the same source ("pod/<ns>/<name>"), the same
    targets and __address__ (host:port joined as net.JoinHostPort does), and the same
    __meta_kubernetes_* labels, including `_label_`/`_labelpresent_` and
    `_annotation_`/`_annotationpresent_` for every label and annotation, names sanitized
    (every character outside [a-zA-Z0-9_] becomes '_'). The endpoints and endpointslice
    roles look up the Service and Pods they point to in the cache. attach_metadata is not
    implemented (refused by the config), so no node or namespace labels are attached.
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
bool scraper_sd_kube_role_group(fw_kube_role_t role, const char *key, const json_t *obj,
                                const struct scraper_sd_kube_cache *cache,
                                struct scraper_sd_update *u);

// Prometheus's strutil.SanitizeLabelName: every character (UTF-8 sequence) outside
// [a-zA-Z0-9_] becomes one '_'. Writes at most size bytes, NUL included.
void scraper_sd_kube_role_sanitize(const char *in, char *out, size_t size);

#endif
