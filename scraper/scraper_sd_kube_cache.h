/*  scraper_sd_kube_cache.h — the Kubernetes objects one kubernetes_sd_config knows.

    What the list and watch calls of scraper_sd_kube.c return, by kind, keyed
    "<namespace>/<name>" ("<name>" for nodes and namespaces), each a jansson object as the API
   server sent it. The role mapping (scraper_sd_kube_role.h) reads it to build target groups, and
    looks up related objects (an Endpoints' Service and Pods) in it. One thread only.
*/
#ifndef SCRAPER_SD_KUBE_CACHE_H
#define SCRAPER_SD_KUBE_CACHE_H

#include <czmq.h>
#include <jansson.h>

typedef enum {
    SCRAPER_KUBE_PODS,
    SCRAPER_KUBE_SERVICES,
    SCRAPER_KUBE_ENDPOINTS,
    SCRAPER_KUBE_ENDPOINTSLICES,
    SCRAPER_KUBE_NODES,
    SCRAPER_KUBE_INGRESSES,
    SCRAPER_KUBE_NAMESPACES, // only with attach_metadata.namespace
    SCRAPER_KUBE_KINDS
} scraper_kube_kind_t;

struct scraper_sd_kube_cache {
    zhashx_t *objs[SCRAPER_KUBE_KINDS]; // owned: key -> json_t * (one reference each)
};

void scraper_sd_kube_cache_init(struct scraper_sd_kube_cache *c);
void scraper_sd_kube_cache_clear(struct scraper_sd_kube_cache *c);

// The key of obj ("ns/name", or "name" without a namespace) into buf; NULL when obj has no
// metadata.name.
const char *scraper_sd_kube_cache_key(const json_t *obj, char *buf, size_t size);
// Store obj (a new reference is taken) under its key, replacing what was there. 0, or -1
// when obj has no name.
int scraper_sd_kube_cache_put(struct scraper_sd_kube_cache *c, scraper_kube_kind_t kind,
                              json_t *obj);
void scraper_sd_kube_cache_del(struct scraper_sd_kube_cache *c, scraper_kube_kind_t kind,
                               const char *key);
// The object of kind under key (borrowed: valid until it is replaced or deleted), or NULL.
const json_t *scraper_sd_kube_cache_get(const struct scraper_sd_kube_cache *c,
                                        scraper_kube_kind_t kind, const char *key);
// Delete every object of kind in namespace ns ("" or NULL: all of that kind).
void scraper_sd_kube_cache_purge(struct scraper_sd_kube_cache *c, scraper_kube_kind_t kind,
                                 const char *ns);

#endif
