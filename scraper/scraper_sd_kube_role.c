/*  scraper_sd_kube_role.c — Kubernetes objects to target groups (see the header).

    Written from the behaviour of Prometheus's discovery/kubernetes (pod.go, service.go,
    endpoints.go, endpointslice.go, node.go, ingress.go): which labels each role sets, when
    a label is set only if a field is present, container ports, and the source names. The
    objects are read straight from the API server's JSON with jansson; a missing field reads
    as "" or 0, as Go's zero values do.
*/
#include "scraper_sd_kube_role.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fw_mem.h"

#define S_META "__meta_kubernetes_"
#define S_NAME_MAX 512  // a sanitized key (Kubernetes keys are at most 317 bytes)
#define S_LABEL_MAX 768 // a label name built from one

static const json_t *
s_get(const json_t *o, const char *k)
{
    return o ? json_object_get(o, k) : NULL;
}

static const char *
s_str(const json_t *o, const char *k)
{
    const char *s = json_string_value(s_get(o, k));
    return s ? s : "";
}

static void
s_set(struct fw_labels *l, const char *suffix, const char *v)
{
    char name[S_LABEL_MAX + 32];
    snprintf(name, sizeof(name), S_META "%s", suffix);
    fw_labels_set(l, name, v ? v : "");
}

static const char *
s_bool(bool b)
{
    return b ? "true" : "false";
}

// net.JoinHostPort: an IPv6 host goes in brackets.
static void
s_join(char *buf, size_t size, const char *host, long long port)
{
    if (strchr(host, ':'))
        snprintf(buf, size, "[%s]:%lld", host, port);
    else
        snprintf(buf, size, "%s:%lld", host, port);
}

void
scraper_sd_kube_role_sanitize(const char *in, char *out, size_t size)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && w + 1 < size; p++) {
        if (isalnum(*p) || *p == '_') {
            out[w++] = (char)*p;
        } else if ((*p & 0xC0) != 0x80) { // one '_' per character, not per byte
            out[w++] = '_';
        }
    }
    out[w] = '\0';
}

// Labels and annotations of an object's metadata, as addObjectAnnotationsAndLabels.
static void
s_labels_annotations(struct fw_labels *l, const json_t *md, const char *res)
{
    static const char *const kinds[][3] = {{"labels", "_label_", "_labelpresent_"},
                                           {"annotations", "_annotation_", "_annotationpresent_"}};
    for (int k = 0; k < 2; k++) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)s_get(md, kinds[k][0]), key, v)
        {
            char san[S_NAME_MAX], name[S_LABEL_MAX];
            scraper_sd_kube_role_sanitize(key, san, sizeof(san));
            snprintf(name, sizeof(name), "%s%s%s", res, kinds[k][1], san);
            s_set(l, name, json_string_value(v));
            snprintf(name, sizeof(name), "%s%s%s", res, kinds[k][2], san);
            s_set(l, name, "true");
        }
    }
}

// addObjectMetaLabels: <res>_name and the labels and annotations.
static void
s_object_meta(struct fw_labels *l, const json_t *obj, const char *res)
{
    const json_t *md = s_get(obj, "metadata");
    char name[64];
    snprintf(name, sizeof(name), "%s_name", res);
    s_set(l, name, s_str(md, "name"));
    s_labels_annotations(l, md, res);
}

static struct scraper_sd_group *
s_group(struct scraper_sd_update *u, const char *role, const char *key)
{
    char *source = fw_asprintf("%s/%s", role, key);
    struct scraper_sd_group *g = scraper_sd_update_add(u, source);
    free(source);
    return g;
}

// ---------------------------------------------------------------------------------------
//  attach_metadata

// addNodeLabels (Prometheus 3): the name, labels and annotations of the node, if known.
static void
s_node_meta(struct fw_labels *l, const struct scraper_sd_kube_cache *cache, const char *node)
{
    const json_t *n =
        cache && *node ? scraper_sd_kube_cache_get(cache, SCRAPER_KUBE_NODES, node) : NULL;
    if (n)
        s_object_meta(l, n, "node");
}

// addNamespaceLabels: the labels and annotations of the namespace, if known.
static void
s_namespace_meta(struct fw_labels *l, const struct scraper_sd_kube_cache *cache, const char *ns)
{
    const json_t *n =
        cache && *ns ? scraper_sd_kube_cache_get(cache, SCRAPER_KUBE_NAMESPACES, ns) : NULL;
    if (n)
        s_labels_annotations(l, s_get(n, "metadata"), "namespace");
}

// Whether a list of addresses (Endpoints) or endpoints (EndpointSlice) names node.
static bool
s_refs_node(const json_t *list, const char *node)
{
    size_t i;
    json_t *a;
    json_array_foreach((json_t *)list, i, a)
    {
        const json_t *ref = s_get(a, "targetRef");
        if (strcmp(s_str(a, "nodeName"), node) == 0 ||
            (strcmp(s_str(ref, "kind"), "Node") == 0 && strcmp(s_str(ref, "name"), node) == 0))
            return true;
    }
    return false;
}

bool
scraper_sd_kube_role_on_node(fw_kube_role_t role, const json_t *obj, const char *node)
{
    size_t i;
    json_t *ss;
    switch (role) {
    case FW_KUBE_ROLE_POD: return strcmp(s_str(s_get(obj, "spec"), "nodeName"), node) == 0;
    case FW_KUBE_ROLE_ENDPOINTS:
        json_array_foreach((json_t *)s_get(obj, "subsets"), i, ss)
        {
            if (s_refs_node(s_get(ss, "addresses"), node) ||
                s_refs_node(s_get(ss, "notReadyAddresses"), node))
                return true;
        }
        return false;
    case FW_KUBE_ROLE_ENDPOINTSLICE: return s_refs_node(s_get(obj, "endpoints"), node);
    default: return false;
    }
}

// ---------------------------------------------------------------------------------------
//  Pods

// The pod's containers then its init containers: i < n_containers are the former.
static size_t
s_containers(const json_t *pod, const json_t **c, const json_t **init)
{
    const json_t *spec = s_get(pod, "spec");
    *c = s_get(spec, "containers");
    *init = s_get(spec, "initContainers");
    return json_array_size(*c) + json_array_size(*init);
}

static const json_t *
s_container_at(const json_t *c, const json_t *init, size_t i, bool *is_init)
{
    *is_init = i >= json_array_size(c);
    return *is_init ? json_array_get(init, i - json_array_size(c)) : json_array_get(c, i);
}

// podLabels: pod_ip, ready, phase, node, host IP, uid, name, labels, annotations, controller.
static void
s_pod_labels(struct fw_labels *l, const json_t *pod)
{
    const json_t *status = s_get(pod, "status");
    const json_t *spec = s_get(pod, "spec");
    const json_t *md = s_get(pod, "metadata");
    s_set(l, "pod_ip", s_str(status, "podIP"));
    const char *ready = "unknown";
    size_t i;
    json_t *cond;
    json_array_foreach((json_t *)s_get(status, "conditions"), i, cond)
    {
        if (strcmp(s_str(cond, "type"), "Ready") == 0) {
            ready = s_str(cond, "status");
            break;
        }
    }
    char lower[64];
    size_t n = 0;
    for (; ready[n] && n + 1 < sizeof(lower); n++)
        lower[n] = (char)tolower((unsigned char)ready[n]);
    lower[n] = '\0';
    s_set(l, "pod_ready", lower);
    s_set(l, "pod_phase", s_str(status, "phase"));
    s_set(l, "pod_node_name", s_str(spec, "nodeName"));
    s_set(l, "pod_host_ip", s_str(status, "hostIP"));
    s_set(l, "pod_uid", s_str(md, "uid"));
    s_object_meta(l, pod, "pod");
    json_t *ref;
    json_array_foreach((json_t *)s_get(md, "ownerReferences"), i, ref)
    {
        if (!json_is_true(s_get(ref, "controller")))
            continue;
        if (*s_str(ref, "kind"))
            s_set(l, "pod_controller_kind", s_str(ref, "kind"));
        if (*s_str(ref, "name"))
            s_set(l, "pod_controller_name", s_str(ref, "name"));
        break;
    }
}

static const char *
s_container_id(const json_t *pod, const char *name, bool is_init)
{
    const json_t *st =
        s_get(s_get(pod, "status"), is_init ? "initContainerStatuses" : "containerStatuses");
    size_t i;
    json_t *cs;
    json_array_foreach((json_t *)st, i, cs)
    {
        if (strcmp(s_str(cs, "name"), name) == 0)
            return s_str(cs, "containerID");
    }
    return "";
}

static void
s_role_pod(struct scraper_sd_group *g, const json_t *pod)
{
    const char *ip = s_str(s_get(pod, "status"), "podIP");
    if (!*ip)
        return; // starting or evicted: no targets
    s_pod_labels(&g->labels, pod);
    s_set(&g->labels, "namespace", s_str(s_get(pod, "metadata"), "namespace"));
    const json_t *cs, *init;
    size_t n = s_containers(pod, &cs, &init);
    for (size_t i = 0; i < n; i++) {
        bool is_init;
        const json_t *c = s_container_at(cs, init, i, &is_init);
        const char *cname = s_str(c, "name");
        const char *cid = s_container_id(pod, cname, is_init);
        const json_t *ports = s_get(c, "ports");
        if (json_array_size(ports) == 0) {
            struct fw_labels *t = scraper_sd_group_add_target(g);
            fw_labels_set(t, "__address__", ip);
            s_set(t, "pod_container_name", cname);
            s_set(t, "pod_container_id", cid);
            s_set(t, "pod_container_image", s_str(c, "image"));
            s_set(t, "pod_container_init", s_bool(is_init));
            continue;
        }
        size_t k;
        json_t *p;
        json_array_foreach((json_t *)ports, k, p)
        {
            long long port = json_integer_value(s_get(p, "containerPort"));
            char addr[300], num[32];
            s_join(addr, sizeof(addr), ip, port);
            snprintf(num, sizeof(num), "%lld", port);
            struct fw_labels *t = scraper_sd_group_add_target(g);
            fw_labels_set(t, "__address__", addr);
            s_set(t, "pod_container_name", cname);
            s_set(t, "pod_container_id", cid);
            s_set(t, "pod_container_image", s_str(c, "image"));
            s_set(t, "pod_container_port_number", num);
            s_set(t, "pod_container_port_name", s_str(p, "name"));
            s_set(t, "pod_container_port_protocol", s_str(p, "protocol"));
            s_set(t, "pod_container_init", s_bool(is_init));
        }
    }
}

// ---------------------------------------------------------------------------------------
//  Services

static void
s_service_labels(struct fw_labels *l, const json_t *svc)
{
    s_set(l, "namespace", s_str(s_get(svc, "metadata"), "namespace"));
    s_object_meta(l, svc, "service");
}

static void
s_role_service(struct scraper_sd_group *g, const json_t *svc)
{
    s_service_labels(&g->labels, svc);
    const json_t *md = s_get(svc, "metadata");
    const json_t *spec = s_get(svc, "spec");
    const char *type = s_str(spec, "type");
    size_t i;
    json_t *p;
    json_array_foreach((json_t *)s_get(spec, "ports"), i, p)
    {
        long long port = json_integer_value(s_get(p, "port"));
        char host[300], addr[320], num[32];
        snprintf(host, sizeof(host), "%s.%s.svc", s_str(md, "name"), s_str(md, "namespace"));
        s_join(addr, sizeof(addr), host, port);
        snprintf(num, sizeof(num), "%lld", port);
        struct fw_labels *t = scraper_sd_group_add_target(g);
        fw_labels_set(t, "__address__", addr);
        s_set(t, "service_port_name", s_str(p, "name"));
        s_set(t, "service_port_number", num);
        s_set(t, "service_port_protocol", s_str(p, "protocol"));
        s_set(t, "service_type", type);
        if (strcmp(type, "ExternalName") == 0)
            s_set(t, "service_external_name", s_str(spec, "externalName"));
        else
            s_set(t, "service_cluster_ip", s_str(spec, "clusterIP"));
        if (strcmp(type, "LoadBalancer") == 0) {
            char ips[1024] = "";
            size_t w = 0, k;
            json_t *ing;
            json_array_foreach(
                (json_t *)s_get(s_get(s_get(svc, "status"), "loadBalancer"), "ingress"), k, ing)
            {
                const char *ip = s_str(ing, "ip");
                if (*ip && w < sizeof(ips))
                    w += (size_t)snprintf(ips + w, sizeof(ips) - w, "%s%s", w ? "," : "", ip);
            }
            s_set(t, "service_loadbalancer_ip", w ? ips : s_str(spec, "loadBalancerIP"));
        }
    }
}

// ---------------------------------------------------------------------------------------
//  Endpoints and EndpointSlices

// A pod a targetRef names, from the cache.
static const json_t *
s_pod_ref(const json_t *ref, const struct scraper_sd_kube_cache *cache)
{
    if (!ref || strcmp(s_str(ref, "kind"), "Pod") != 0)
        return NULL;
    char key[512];
    snprintf(key, sizeof(key), "%s/%s", s_str(ref, "namespace"), s_str(ref, "name"));
    return scraper_sd_kube_cache_get(cache, SCRAPER_KUBE_PODS, key);
}

// The pods seen through an Endpoints or EndpointSlice, and the ports they were seen on.
struct s_seen_pod {
    const json_t *pod;
    long long *ports;
    size_t n_ports, cap_ports;
};

struct s_seen {
    struct s_seen_pod *items;
    size_t len, cap;
};

static void
s_seen_add(struct s_seen *s, const json_t *pod, bool has_port, long long port)
{
    size_t i = 0;
    while (i < s->len && s->items[i].pod != pod)
        i++;
    if (i == s->len) {
        fw_mem_grow((void **)&s->items, &s->cap, s->len + 1, sizeof(*s->items));
        memset(&s->items[s->len], 0, sizeof(s->items[0]));
        s->items[s->len++].pod = pod;
    }
    struct s_seen_pod *sp = &s->items[i];
    if (!has_port)
        return;
    fw_mem_grow((void **)&sp->ports, &sp->cap_ports, sp->n_ports + 1, sizeof(*sp->ports));
    sp->ports[sp->n_ports++] = port;
}

static void
s_seen_free(struct s_seen *s)
{
    for (size_t i = 0; i < s->len; i++)
        free(s->items[i].ports);
    free(s->items);
}

// The container port of pod matching port: sets the pod_container_* labels on t.
static void
s_match_container(struct fw_labels *t, const json_t *pod, long long port, const char *protocol)
{
    const json_t *cs, *init;
    size_t n = s_containers(pod, &cs, &init);
    for (size_t i = 0; i < n; i++) {
        bool is_init;
        const json_t *c = s_container_at(cs, init, i, &is_init);
        size_t k;
        json_t *cp;
        json_array_foreach((json_t *)s_get(c, "ports"), k, cp)
        {
            if (json_integer_value(s_get(cp, "containerPort")) != port)
                continue;
            char num[32];
            snprintf(num, sizeof(num), "%lld", port);
            s_set(t, "pod_container_name", s_str(c, "name"));
            s_set(t, "pod_container_image", s_str(c, "image"));
            s_set(t, "pod_container_port_name", s_str(cp, "name"));
            s_set(t, "pod_container_port_number", num);
            s_set(t, "pod_container_port_protocol", protocol ? protocol : s_str(cp, "protocol"));
            s_set(t, "pod_container_init", s_bool(is_init));
            break;
        }
    }
}

// Targets for the container ports of seen pods that no endpoint port covered.
static void
s_unseen_ports(struct scraper_sd_group *g, const struct s_seen *seen)
{
    for (size_t s = 0; s < seen->len; s++) {
        const struct s_seen_pod *sp = &seen->items[s];
        const char *ip = s_str(s_get(sp->pod, "status"), "podIP");
        if (!*ip)
            continue;
        const json_t *cs, *init;
        size_t n = s_containers(sp->pod, &cs, &init);
        for (size_t i = 0; i < n; i++) {
            bool is_init;
            const json_t *c = s_container_at(cs, init, i, &is_init);
            size_t k;
            json_t *cp;
            json_array_foreach((json_t *)s_get(c, "ports"), k, cp)
            {
                long long port = json_integer_value(s_get(cp, "containerPort"));
                bool covered = false;
                for (size_t j = 0; j < sp->n_ports && !covered; j++)
                    covered = sp->ports[j] == port;
                if (covered)
                    continue;
                char addr[300], num[32];
                s_join(addr, sizeof(addr), ip, port);
                snprintf(num, sizeof(num), "%lld", port);
                struct fw_labels *t = scraper_sd_group_add_target(g);
                fw_labels_set(t, "__address__", addr);
                s_set(t, "pod_container_name", s_str(c, "name"));
                s_set(t, "pod_container_image", s_str(c, "image"));
                s_set(t, "pod_container_port_name", s_str(cp, "name"));
                s_set(t, "pod_container_port_number", num);
                s_set(t, "pod_container_port_protocol", s_str(cp, "protocol"));
                s_set(t, "pod_container_init", s_bool(is_init));
                s_pod_labels(t, sp->pod);
            }
        }
    }
}

static void
s_endpoints_add(struct scraper_sd_group *g, struct s_seen *seen, const json_t *addr,
                const json_t *port, const char *ready, const struct scraper_sd_kube_cache *cache,
                bool with_node)
{
    long long pnum = json_integer_value(s_get(port, "port"));
    char a[300];
    s_join(a, sizeof(a), s_str(addr, "ip"), pnum);
    struct fw_labels *t = scraper_sd_group_add_target(g);
    fw_labels_set(t, "__address__", a);
    s_set(t, "endpoint_port_name", s_str(port, "name"));
    s_set(t, "endpoint_port_protocol", s_str(port, "protocol"));
    s_set(t, "endpoint_ready", ready);
    const json_t *ref = s_get(addr, "targetRef");
    if (json_is_object(ref)) {
        s_set(t, "endpoint_address_target_kind", s_str(ref, "kind"));
        s_set(t, "endpoint_address_target_name", s_str(ref, "name"));
    }
    if (json_is_string(s_get(addr, "nodeName")))
        s_set(t, "endpoint_node_name", s_str(addr, "nodeName"));
    if (*s_str(addr, "hostname"))
        s_set(t, "endpoint_hostname", s_str(addr, "hostname"));
    if (with_node && json_is_string(s_get(addr, "nodeName")))
        s_node_meta(t, cache, s_str(addr, "nodeName"));
    else if (with_node && strcmp(s_str(ref, "kind"), "Node") == 0)
        s_node_meta(t, cache, s_str(ref, "name"));
    const json_t *pod = s_pod_ref(ref, cache);
    if (!pod)
        return;
    s_seen_add(seen, pod, true, pnum);
    s_pod_labels(t, pod);
    s_match_container(t, pod, pnum, s_str(port, "protocol"));
}

static void
s_role_endpoints(struct scraper_sd_group *g, const char *key, const json_t *eps,
                 const struct scraper_sd_kube_cache *cache, bool with_node)
{
    s_set(&g->labels, "namespace", s_str(s_get(eps, "metadata"), "namespace"));
    const json_t *svc = scraper_sd_kube_cache_get(cache, SCRAPER_KUBE_SERVICES, key);
    if (svc)
        s_service_labels(&g->labels, svc);
    s_object_meta(&g->labels, eps, "endpoints");
    struct s_seen seen = {0};
    size_t i;
    json_t *ss;
    json_array_foreach((json_t *)s_get(eps, "subsets"), i, ss)
    {
        size_t k;
        json_t *port;
        json_array_foreach((json_t *)s_get(ss, "ports"), k, port)
        {
            size_t j;
            json_t *addr;
            json_array_foreach((json_t *)s_get(ss, "addresses"), j, addr)
                s_endpoints_add(g, &seen, addr, port, "true", cache, with_node);
            json_array_foreach((json_t *)s_get(ss, "notReadyAddresses"), j, addr)
                s_endpoints_add(g, &seen, addr, port, "false", cache, with_node);
        }
    }
    s_unseen_ports(g, &seen);
    s_seen_free(&seen);
}

static void
s_slice_add(struct scraper_sd_group *g, struct s_seen *seen, const char *addr, const json_t *ep,
            const json_t *port, const struct scraper_sd_kube_cache *cache, bool with_node)
{
    const json_t *pn = s_get(port, "port");
    bool has_port = json_is_integer(pn);
    long long pnum = json_integer_value(pn);
    char a[300], num[32];
    if (has_port)
        s_join(a, sizeof(a), addr, pnum);
    else
        snprintf(a, sizeof(a), "%s", addr);
    struct fw_labels *t = scraper_sd_group_add_target(g);
    fw_labels_set(t, "__address__", a);
    if (json_is_string(s_get(port, "name")))
        s_set(t, "endpointslice_port_name", s_str(port, "name"));
    if (json_is_string(s_get(port, "protocol")))
        s_set(t, "endpointslice_port_protocol", s_str(port, "protocol"));
    if (has_port) {
        snprintf(num, sizeof(num), "%lld", pnum);
        s_set(t, "endpointslice_port", num);
    }
    if (json_is_string(s_get(port, "appProtocol")))
        s_set(t, "endpointslice_port_app_protocol", s_str(port, "appProtocol"));
    const json_t *cond = s_get(ep, "conditions");
    static const char *const conds[][2] = {
        {"ready", "endpointslice_endpoint_conditions_ready"},
        {"serving", "endpointslice_endpoint_conditions_serving"},
        {"terminating", "endpointslice_endpoint_conditions_terminating"}};
    for (int i = 0; i < 3; i++)
        if (json_is_boolean(s_get(cond, conds[i][0])))
            s_set(t, conds[i][1], s_bool(json_is_true(s_get(cond, conds[i][0]))));
    if (json_is_string(s_get(ep, "hostname")))
        s_set(t, "endpointslice_endpoint_hostname", s_str(ep, "hostname"));
    const json_t *ref = s_get(ep, "targetRef");
    if (json_is_object(ref)) {
        s_set(t, "endpointslice_address_target_kind", s_str(ref, "kind"));
        s_set(t, "endpointslice_address_target_name", s_str(ref, "name"));
    }
    if (json_is_string(s_get(ep, "nodeName")))
        s_set(t, "endpointslice_endpoint_node_name", s_str(ep, "nodeName"));
    if (json_is_string(s_get(ep, "zone")))
        s_set(t, "endpointslice_endpoint_zone", s_str(ep, "zone"));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)s_get(ep, "deprecatedTopology"), k, v)
    {
        char san[S_NAME_MAX], name[S_LABEL_MAX];
        scraper_sd_kube_role_sanitize(k, san, sizeof(san));
        snprintf(name, sizeof(name), "endpointslice_endpoint_topology_%s", san);
        s_set(t, name, json_string_value(v));
        snprintf(name, sizeof(name), "endpointslice_endpoint_topology_present_%s", san);
        s_set(t, name, "true");
    }
    if (with_node && strcmp(s_str(ref, "kind"), "Node") == 0)
        s_node_meta(t, cache, s_str(ref, "name"));
    else if (with_node && json_is_string(s_get(ep, "nodeName")))
        s_node_meta(t, cache, s_str(ep, "nodeName"));
    const json_t *pod = s_pod_ref(ref, cache);
    if (!pod)
        return;
    s_seen_add(seen, pod, has_port, pnum);
    s_pod_labels(t, pod);
    if (has_port)
        s_match_container(t, pod, pnum, NULL);
}

// A dual-stack Service's slices of its secondary family are skipped (nonPrimaryIPFamilySlice).
static bool
s_non_primary_family(const json_t *svc, const json_t *slice)
{
    const json_t *spec = s_get(svc, "spec");
    const char *policy = s_str(spec, "ipFamilyPolicy");
    if (strcmp(policy, "PreferDualStack") != 0 && strcmp(policy, "RequireDualStack") != 0)
        return false;
    const json_t *fams = s_get(spec, "ipFamilies");
    if (json_array_size(fams) == 0)
        return false;
    const char *first = json_string_value(json_array_get(fams, 0));
    return strcmp(s_str(slice, "addressType"), first ? first : "") != 0;
}

static void
s_role_endpointslice(struct scraper_sd_group *g, const json_t *slice,
                     const struct scraper_sd_kube_cache *cache, bool with_node)
{
    const json_t *md = s_get(slice, "metadata");
    const char *ns = s_str(md, "namespace");
    s_set(&g->labels, "namespace", ns);
    s_set(&g->labels, "endpointslice_address_type", s_str(slice, "addressType"));
    s_object_meta(&g->labels, slice, "endpointslice");
    const json_t *svc_name = s_get(s_get(md, "labels"), "kubernetes.io/service-name");
    const json_t *svc = NULL;
    if (json_is_string(svc_name)) {
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", ns, json_string_value(svc_name));
        svc = scraper_sd_kube_cache_get(cache, SCRAPER_KUBE_SERVICES, key);
        if (svc)
            s_service_labels(&g->labels, svc);
    }
    if (svc && s_non_primary_family(svc, slice))
        return;
    struct s_seen seen = {0};
    size_t i;
    json_t *ep;
    json_array_foreach((json_t *)s_get(slice, "endpoints"), i, ep)
    {
        size_t k;
        json_t *port;
        json_array_foreach((json_t *)s_get(slice, "ports"), k, port)
        {
            size_t j;
            json_t *addr;
            json_array_foreach((json_t *)s_get(ep, "addresses"), j, addr)
            {
                if (json_is_string(addr))
                    s_slice_add(g, &seen, json_string_value(addr), ep, port, cache, with_node);
            }
        }
    }
    s_unseen_ports(g, &seen);
    s_seen_free(&seen);
}

// ---------------------------------------------------------------------------------------
//  Nodes and Ingresses

static bool
s_role_node(struct scraper_sd_group *g, const json_t *node)
{
    const json_t *status = s_get(node, "status");
    const json_t *addrs = s_get(status, "addresses");
    static const char *const order[] = {"InternalIP",  "InternalDNS",  "ExternalIP",
                                        "ExternalDNS", "LegacyHostIP", "Hostname"};
    const char *host = NULL;
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]) && !host; o++) {
        size_t i;
        json_t *a;
        json_array_foreach((json_t *)addrs, i, a)
        {
            if (strcmp(s_str(a, "type"), order[o]) == 0) {
                host = s_str(a, "address");
                break;
            }
        }
    }
    if (!host)
        return false; // "No node address found": Prometheus sends no group
    s_set(&g->labels, "node_provider_id", s_str(s_get(node, "spec"), "providerID"));
    size_t i;
    json_t *c;
    json_array_foreach((json_t *)s_get(status, "conditions"), i, c)
    {
        char type[S_NAME_MAX], san[S_NAME_MAX], name[S_LABEL_MAX], st[64];
        snprintf(type, sizeof(type), "%s", s_str(c, "type"));
        for (char *p = type; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        scraper_sd_kube_role_sanitize(type, san, sizeof(san));
        snprintf(name, sizeof(name), "node_condition_%s", san);
        snprintf(st, sizeof(st), "%s", s_str(c, "status"));
        for (char *p = st; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        s_set(&g->labels, name, st);
    }
    s_object_meta(&g->labels, node, "node");
    long long port = json_integer_value(
        s_get(s_get(s_get(status, "daemonEndpoints"), "kubeletEndpoint"), "Port"));
    char addr[300];
    s_join(addr, sizeof(addr), host, port);
    struct fw_labels *t = scraper_sd_group_add_target(g);
    fw_labels_set(t, "__address__", addr);
    fw_labels_set(t, "instance", s_str(s_get(node, "metadata"), "name"));
    json_t *a;
    json_array_foreach((json_t *)addrs, i, a)
    {
        char raw[S_LABEL_MAX], name[S_LABEL_MAX];
        snprintf(raw, sizeof(raw), S_META "node_address_%s", s_str(a, "type"));
        scraper_sd_kube_role_sanitize(raw, name, sizeof(name));
        if (!fw_labels_get(t, name)) // the first address of each type
            fw_labels_set(t, name, s_str(a, "address"));
    }
    return true;
}

// matchesHostnamePattern: equal, or "*.rest" matching a host with the same rest.
// matchesHostnamePattern: equal, or a first label "*" and the same remaining labels.
static bool
s_host_matches(const char *pattern, const char *host)
{
    if (strcmp(pattern, host) == 0)
        return true;
    if (pattern[0] != '*' || (pattern[1] != '.' && pattern[1] != '\0'))
        return false;
    const char *prest = strchr(pattern, '.');
    const char *hrest = strchr(host, '.');
    if (!prest || !hrest)
        return !prest && !hrest;
    return strcmp(prest, hrest) == 0;
}

static void
s_role_ingress(struct scraper_sd_group *g, const json_t *ing)
{
    const json_t *spec = s_get(ing, "spec");
    s_set(&g->labels, "namespace", s_str(s_get(ing, "metadata"), "namespace"));
    if (json_is_string(s_get(spec, "ingressClassName")))
        s_set(&g->labels, "ingress_class_name", s_str(spec, "ingressClassName"));
    s_object_meta(&g->labels, ing, "ingress");
    size_t i;
    json_t *rule;
    json_array_foreach((json_t *)s_get(spec, "rules"), i, rule)
    {
        const char *host = s_str(rule, "host");
        const char *scheme = "http";
        size_t k, h;
        json_t *tls, *th;
        json_array_foreach((json_t *)s_get(spec, "tls"), k, tls)
        {
            json_array_foreach((json_t *)s_get(tls, "hosts"), h, th)
            {
                if (json_is_string(th) && s_host_matches(json_string_value(th), host))
                    scheme = "https";
            }
        }
        const json_t *http = s_get(rule, "http");
        const json_t *paths = s_get(http, "paths");
        size_t np = json_is_object(http) ? json_array_size(paths) : 0;
        for (size_t p = 0; p < (json_is_object(http) ? np : 1); p++) {
            const char *path = json_is_object(http) ? s_str(json_array_get(paths, p), "path") : "/";
            struct fw_labels *t = scraper_sd_group_add_target(g);
            fw_labels_set(t, "__address__", host);
            s_set(t, "ingress_scheme", scheme);
            s_set(t, "ingress_host", host);
            s_set(t, "ingress_path", *path ? path : "/");
        }
    }
}

// ---------------------------------------------------------------------------------------

scraper_kube_kind_t
scraper_sd_kube_role_kind(fw_kube_role_t role)
{
    switch (role) {
    case FW_KUBE_ROLE_POD: return SCRAPER_KUBE_PODS;
    case FW_KUBE_ROLE_SERVICE: return SCRAPER_KUBE_SERVICES;
    case FW_KUBE_ROLE_ENDPOINTS: return SCRAPER_KUBE_ENDPOINTS;
    case FW_KUBE_ROLE_ENDPOINTSLICE: return SCRAPER_KUBE_ENDPOINTSLICES;
    case FW_KUBE_ROLE_NODE: return SCRAPER_KUBE_NODES;
    case FW_KUBE_ROLE_INGRESS: return SCRAPER_KUBE_INGRESSES;
    default: return SCRAPER_KUBE_PODS;
    }
}

bool
scraper_sd_kube_role_group(fw_kube_role_t role, const char *key, const json_t *obj,
                           const struct scraper_sd_kube_cache *cache,
                           const struct fw_kube_attach_metadata *attach,
                           struct scraper_sd_update *u)
{
    bool with_node = attach && attach->node;
    if (role == FW_KUBE_ROLE_NODE && obj) {
        struct scraper_sd_update *tmp = scraper_sd_update_new(false);
        struct scraper_sd_group *g = s_group(tmp, "node", key);
        bool ok = s_role_node(g, obj);
        if (ok) { // moved into u
            struct scraper_sd_group *dst = scraper_sd_update_add(u, g->source);
            free(dst->source);
            *dst = *g;
            memset(g, 0, sizeof(*g));
        }
        scraper_sd_update_destroy(&tmp);
        return ok;
    }
    struct scraper_sd_group *g = s_group(u, fw_kube_role_name(role), key);
    if (!obj)
        return true;
    switch (role) {
    case FW_KUBE_ROLE_POD:
        s_role_pod(g, obj);
        if (with_node && g->n_targets)
            s_node_meta(&g->labels, cache, s_str(s_get(obj, "spec"), "nodeName"));
        break;
    case FW_KUBE_ROLE_SERVICE: s_role_service(g, obj); break;
    case FW_KUBE_ROLE_ENDPOINTS: s_role_endpoints(g, key, obj, cache, with_node); break;
    case FW_KUBE_ROLE_ENDPOINTSLICE: s_role_endpointslice(g, obj, cache, with_node); break;
    case FW_KUBE_ROLE_INGRESS: s_role_ingress(g, obj); break;
    default: break;
    }
    // Added last, as Prometheus merges them in; no name clashes with the role's labels.
    if (attach && attach->namespace_ && g->n_targets)
        s_namespace_meta(&g->labels, cache, s_str(s_get(obj, "metadata"), "namespace"));
    return true;
}
