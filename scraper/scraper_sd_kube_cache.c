/*  scraper_sd_kube_cache.c — Kubernetes objects by kind and key (see the header). */
#include "scraper_sd_kube_cache.h"

#include <stdio.h>
#include <string.h>

static void
s_json_free(void **item)
{
    json_t *j = *item;
    json_decref(j);
    *item = NULL;
}

void
scraper_sd_kube_cache_init(struct scraper_sd_kube_cache *c)
{
    for (int k = 0; k < SCRAPER_KUBE_KINDS; k++) {
        c->objs[k] = zhashx_new();
        zhashx_set_destructor(c->objs[k], s_json_free);
    }
}

void
scraper_sd_kube_cache_clear(struct scraper_sd_kube_cache *c)
{
    for (int k = 0; k < SCRAPER_KUBE_KINDS; k++)
        zhashx_destroy(&c->objs[k]);
}

const char *
scraper_sd_kube_cache_key(const json_t *obj, char *buf, size_t size)
{
    const json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    if (!name || !*name)
        return NULL;
    if (ns && *ns)
        snprintf(buf, size, "%s/%s", ns, name);
    else
        snprintf(buf, size, "%s", name);
    return buf;
}

int
scraper_sd_kube_cache_put(struct scraper_sd_kube_cache *c, scraper_kube_kind_t kind, json_t *obj)
{
    char key[512];
    if (!json_is_object(obj) || !scraper_sd_kube_cache_key(obj, key, sizeof(key)))
        return -1;
    zhashx_update(c->objs[kind], key, json_incref(obj));
    return 0;
}

void
scraper_sd_kube_cache_del(struct scraper_sd_kube_cache *c, scraper_kube_kind_t kind,
                          const char *key)
{
    zhashx_delete(c->objs[kind], key);
}

const json_t *
scraper_sd_kube_cache_get(const struct scraper_sd_kube_cache *c, scraper_kube_kind_t kind,
                          const char *key)
{
    return zhashx_lookup(c->objs[kind], key);
}

void
scraper_sd_kube_cache_purge(struct scraper_sd_kube_cache *c, scraper_kube_kind_t kind,
                            const char *ns)
{
    if (!ns || !*ns) {
        zhashx_purge(c->objs[kind]);
        return;
    }
    zlistx_t *keys = zhashx_keys(c->objs[kind]);
    size_t n = strlen(ns);
    for (const char *k = zlistx_first(keys); k; k = zlistx_next(keys))
        if (strncmp(k, ns, n) == 0 && k[n] == '/')
            zhashx_delete(c->objs[kind], k);
    zlistx_destroy(&keys);
}
