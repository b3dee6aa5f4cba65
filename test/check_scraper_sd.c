/*  check_scraper_sd.c — service discovery: file_sd file parsing, Kubernetes role mapping
    (fixtures in test/data/kube/, labels as Prometheus's discovery/kubernetes sets them),
    targets built from groups, and the SD config checks.
*/
#include <check.h>
#include <czmq.h>
#include <stdlib.h>
#include <jansson.h>
#include <string.h>

#include "check_util.h"
#include "fw_metrics.h"
#include "fw_promcfg.h"
#include "../scraper/scraper_sd.h"
#include "../scraper/scraper_sd_file.h"
#include "../scraper/scraper_sd_kube_cache.h"
#include "../scraper/scraper_sd_kube_role.h"
#include "../scraper/scraper_target.h"

Suite *scraper_sd_suite(void);

static const char *
s_get(const struct fw_labels *l, const char *name)
{
    const char *v = fw_labels_get(l, name);
    return v ? v : "(absent)";
}

// ---------------------------------------------------------------------------------------
//  file_sd

START_TEST(test_scraper_sd_file_parse_json)
{
    const char *text =
        "[{\"targets\": [\"h1:9100\", \"h2:9100\"], \"labels\": {\"env\": \"prod\"}},"
        " {\"targets\": [\"h3:1\"], \"unknown\": 1}]";
    fw_err_t err = {0};
    struct scraper_sd_update *u = scraper_sd_file_parse("d/t.json", text, strlen(text), &err);
    ck_assert_msg(u != NULL, "%s", err.msg);
    ck_assert_uint_eq(u->n_groups, 2);
    ck_assert_str_eq(u->groups[0].source, "d/t.json:0");
    ck_assert_str_eq(u->groups[1].source, "d/t.json:1");
    ck_assert_uint_eq(u->groups[0].n_targets, 2);
    ck_assert_str_eq(s_get(&u->groups[0].targets[1], "__address__"), "h2:9100");
    ck_assert_str_eq(s_get(&u->groups[0].labels, "env"), "prod");
    ck_assert_str_eq(s_get(&u->groups[0].labels, "__meta_filepath"), "d/t.json");
    ck_assert_str_eq(s_get(&u->groups[1].labels, "__meta_filepath"), "d/t.json");
    scraper_sd_update_destroy(&u);
    ck_assert_ptr_null(u);
}
END_TEST

START_TEST(test_scraper_sd_file_parse_yaml)
{
    const char *text = "# groups\n- targets: [a:1]\n  labels:\n    team: x\n- targets:\n    - b:2\n"
                       "    - c:3\n";
    fw_err_t err = {0};
    struct scraper_sd_update *u = scraper_sd_file_parse("t.yml", text, strlen(text), &err);
    ck_assert_msg(u != NULL, "%s", err.msg);
    ck_assert_uint_eq(u->n_groups, 2);
    ck_assert_str_eq(s_get(&u->groups[0].labels, "team"), "x");
    ck_assert_uint_eq(u->groups[1].n_targets, 2);
    ck_assert_str_eq(s_get(&u->groups[1].targets[1], "__address__"), "c:3");
    scraper_sd_update_destroy(&u);
    // An empty file is no groups, as in Prometheus.
    u = scraper_sd_file_parse("t.yaml", "", 0, &err);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(u->n_groups, 0);
    scraper_sd_update_destroy(&u);
}
END_TEST

START_TEST(test_scraper_sd_file_parse_errors)
{
    static const struct {
        const char *path, *text, *msg;
        int line, col;
    } cases[] = {
        {"t.json", "[{\"targets\": [\"a:1\"],\n \"labels\": {\"env\": }}]", "", 2, 0},
        {"t.json", "{\"targets\": []}", "expected a list of target groups", 1, 1},
        {"t.json", "[null]", "nil target group item found", 0, 0},
        {"t.json", "[{\"targets\": [1]}]", "target 0 is not a string", 0, 0},
        {"t.json", "[{\"targets\": [], \"labels\": {\"\": \"x\"}}]", "not a valid label name", 0,
         0},
        {"t.yml", "- targets: [a:1]\n  lables: {}\n", "field lables not found", 2, 3},
        {"t.yml", "- targets: [a:1\n", "", 2, 1},
        {"t.yml", "- labels: {\"\": x}\n", "\"\" is not a valid label name", 1, 12},
        {"t.yml", "targets: [a]\n", "expected a list of target groups", 1, 1},
        {"t.yml", "- targets: {a: 1}\n", "\"targets\" must be a list", 1, 12},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        fw_err_t err = {0};
        struct scraper_sd_update *u =
            scraper_sd_file_parse(cases[i].path, cases[i].text, strlen(cases[i].text), &err);
        ck_assert_msg(u == NULL, "case %zu parsed", i);
        ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
        ck_assert_str_eq(err.file, cases[i].path);
        if (cases[i].line)
            ck_assert_msg(err.line == cases[i].line, "case %zu: line %d", i, err.line);
        if (cases[i].col)
            ck_assert_msg(err.col == cases[i].col, "case %zu: col %d", i, err.col);
    }
}
END_TEST

// ---------------------------------------------------------------------------------------
//  Kubernetes roles

static json_t *
s_fixture(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "test/data/kube/%s", name);
    json_error_t je;
    json_t *j = json_load_file(path, 0, &je);
    ck_assert_msg(j != NULL, "%s: %s", path, je.text);
    return j;
}

// The group for fixture `name` in role, with the other fixtures put into a cache first.
static struct scraper_sd_update *
s_group(fw_kube_role_t role, const char *name, struct scraper_sd_kube_cache *cache)
{
    json_t *obj = s_fixture(name);
    char key[256];
    ck_assert_ptr_nonnull(scraper_sd_kube_cache_key(obj, key, sizeof(key)));
    struct scraper_sd_update *u = scraper_sd_update_new(false);
    ck_assert(scraper_sd_kube_role_group(role, key, obj, cache, NULL, u));
    json_decref(obj);
    ck_assert_uint_eq(u->n_groups, 1);
    return u;
}

static const struct fw_labels *
s_target(const struct scraper_sd_group *g, const char *address)
{
    for (size_t i = 0; i < g->n_targets; i++)
        if (strcmp(s_get(&g->targets[i], "__address__"), address) == 0)
            return &g->targets[i];
    ck_abort_msg("no target %s", address);
    return NULL;
}

START_TEST(test_scraper_sd_kube_sanitize)
{
    char out[64];
    scraper_sd_kube_role_sanitize("app.kubernetes.io/name", out, sizeof(out));
    ck_assert_str_eq(out, "app_kubernetes_io_name");
    scraper_sd_kube_role_sanitize("ünïcode-key", out, sizeof(out));
    ck_assert_str_eq(out, "_n_code_key"); // one '_' per character, not per byte
}
END_TEST

START_TEST(test_scraper_sd_kube_pod)
{
    struct scraper_sd_update *u = s_group(FW_KUBE_ROLE_POD, "pod.json", NULL);
    const struct scraper_sd_group *g = &u->groups[0];
    ck_assert_str_eq(g->source, "pod/shop/web-0");
    const struct fw_labels *l = &g->labels;
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_namespace"), "shop");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_name"), "web-0");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_ip"), "fd00::5");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_ready"), "false");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_phase"), "Running");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_node_name"), "n1");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_host_ip"), "10.0.0.1");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_uid"), "u-1");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_controller_kind"), "StatefulSet");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_controller_name"), "web");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_label_app_kubernetes_io_name"), "web");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name"), "true");
    // An empty value is no label (as once Prometheus builds the target); its presence shows.
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_label_tier"), "(absent)");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_labelpresent_tier"), "true");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_annotation_prometheus_io_port"), "9102");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_annotationpresent_prometheus_io_port"),
                     "true");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_pod_annotation__n_code_key"), "x");
    // app: two ports; sidecar: no port (the bare pod IP); init: one port.
    ck_assert_uint_eq(g->n_targets, 4);
    const struct fw_labels *t = s_target(g, "[fd00::5]:9102");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_name"), "app");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_id"), "docker://aa");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_image"), "img:1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_port_name"), "metrics");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_port_number"), "9102");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_port_protocol"), "TCP");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_init"), "false");
    t = s_target(g, "fd00::5");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_name"), "sidecar");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_id"), "(absent)");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_port_number"), "(absent)");
    t = s_target(g, "[fd00::5]:7000");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_init"), "true");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_id"), "docker://ii");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_port_protocol"), "UDP");
    scraper_sd_update_destroy(&u);

    // Gone: an empty group under the same source removes it.
    u = scraper_sd_update_new(false);
    ck_assert(scraper_sd_kube_role_group(FW_KUBE_ROLE_POD, "shop/web-0", NULL, NULL, NULL, u));
    ck_assert_str_eq(u->groups[0].source, "pod/shop/web-0");
    ck_assert_uint_eq(u->groups[0].n_targets, 0);
    scraper_sd_update_destroy(&u);
}
END_TEST

START_TEST(test_scraper_sd_kube_service)
{
    struct scraper_sd_update *u = s_group(FW_KUBE_ROLE_SERVICE, "service.json", NULL);
    const struct scraper_sd_group *g = &u->groups[0];
    ck_assert_str_eq(g->source, "service/shop/web");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_service_name"), "web");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_service_label_app"), "web");
    ck_assert_uint_eq(g->n_targets, 1);
    const struct fw_labels *t = s_target(g, "web.shop.svc:80");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_service_port_name"), "http");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_service_port_number"), "80");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_service_port_protocol"), "TCP");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_service_type"), "LoadBalancer");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_service_cluster_ip"), "10.96.0.10");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_service_loadbalancer_ip"),
                     "198.51.100.1,198.51.100.2");
    scraper_sd_update_destroy(&u);
}
END_TEST

START_TEST(test_scraper_sd_kube_endpoints)
{
    struct scraper_sd_kube_cache cache;
    scraper_sd_kube_cache_init(&cache);
    json_t *svc = s_fixture("service.json"), *pod = s_fixture("endpoints-pod.json");
    ck_assert_int_eq(scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_SERVICES, svc), 0);
    ck_assert_int_eq(scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_PODS, pod), 0);
    json_decref(svc);
    json_decref(pod);
    struct scraper_sd_update *u = s_group(FW_KUBE_ROLE_ENDPOINTS, "endpoints.json", &cache);
    const struct scraper_sd_group *g = &u->groups[0];
    ck_assert_str_eq(g->source, "endpoints/shop/web");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_endpoints_name"), "web");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_endpoints_label_svc"), "yes");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_service_name"), "web");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_namespace"), "shop");
    // Ready address (a pod, port matched), not-ready address, and the pod's other port.
    ck_assert_uint_eq(g->n_targets, 3);
    const struct fw_labels *t = s_target(g, "10.1.0.5:8080");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_ready"), "true");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_port_name"), "http");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_port_protocol"), "TCP");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_node_name"), "n1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_hostname"), "web-0");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_address_target_kind"), "Pod");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_address_target_name"), "web-1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_name"), "web-1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_name"), "app");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_port_name"), "http");
    t = s_target(g, "10.1.0.6:8080");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_ready"), "false");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_name"), "(absent)");
    t = s_target(g, "10.1.0.5:9102");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_port_name"), "metrics");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpoint_ready"), "(absent)");
    scraper_sd_update_destroy(&u);
    scraper_sd_kube_cache_clear(&cache);
}
END_TEST

START_TEST(test_scraper_sd_kube_endpointslice)
{
    struct scraper_sd_kube_cache cache;
    scraper_sd_kube_cache_init(&cache);
    json_t *svc = s_fixture("service.json"), *pod = s_fixture("endpoints-pod.json");
    scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_SERVICES, svc);
    scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_PODS, pod);
    json_decref(svc);
    json_decref(pod);
    struct scraper_sd_update *u = s_group(FW_KUBE_ROLE_ENDPOINTSLICE, "endpointslice.json", &cache);
    const struct scraper_sd_group *g = &u->groups[0];
    ck_assert_str_eq(g->source, "endpointslice/shop/web-abc");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_endpointslice_name"), "web-abc");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_endpointslice_address_type"), "IPv4");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_service_name"), "web");
    ck_assert_str_eq(
        s_get(&g->labels, "__meta_kubernetes_endpointslice_label_kubernetes_io_service_name"),
        "web");
    ck_assert_uint_eq(g->n_targets, 2);
    const struct fw_labels *t = s_target(g, "10.1.0.5:8080");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_port"), "8080");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_port_name"), "http");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_port_app_protocol"), "http");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_endpoint_conditions_ready"), "true");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_endpoint_conditions_terminating"),
                     "false");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_endpoint_zone"), "z1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_endpoint_node_name"), "n1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_endpointslice_address_target_kind"), "Pod");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_pod_container_name"), "app");
    s_target(g, "10.1.0.5:9102");
    scraper_sd_update_destroy(&u);
    scraper_sd_kube_cache_clear(&cache);
}
END_TEST

// attach_metadata: node (name, labels, annotations; pod on the group, endpoints and
// endpointslice per target) and namespace (labels, annotations) from the cache, as
// Prometheus 3's addNodeLabels and addNamespaceLabels; nothing without it or when the
// object is not known.
START_TEST(test_scraper_sd_kube_attach_metadata)
{
    struct scraper_sd_kube_cache cache;
    scraper_sd_kube_cache_init(&cache);
    json_t *node = s_fixture("node.json");
    json_object_set_new(json_object_get(node, "metadata"), "annotations",
                        json_pack("{s:s}", "node.alpha/ttl", "0"));
    json_t *ns = json_pack("{s:{s:s,s:{s:s},s:{s:s}}}", "metadata", "name", "shop", "labels",
                           "team.io/name", "web", "annotations", "owner", "ops");
    json_t *svc = s_fixture("service.json"), *pod = s_fixture("endpoints-pod.json");
    scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_NODES, node);
    scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_NAMESPACES, ns);
    scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_SERVICES, svc);
    scraper_sd_kube_cache_put(&cache, SCRAPER_KUBE_PODS, pod);
    json_decref(svc);
    json_decref(pod);
    json_decref(ns);
    const struct fw_kube_attach_metadata both = {.node = true, .namespace_ = true};

    json_t *obj = s_fixture("pod.json");
    struct scraper_sd_update *u = scraper_sd_update_new(false);
    ck_assert(scraper_sd_kube_role_group(FW_KUBE_ROLE_POD, "shop/web-0", obj, &cache, &both, u));
    const struct fw_labels *l = &u->groups[0].labels;
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_node_name"), "n1");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_node_label_kubernetes_io_hostname"), "n1");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_node_labelpresent_kubernetes_io_hostname"),
                     "true");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_node_annotation_node_alpha_ttl"), "0");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_node_annotationpresent_node_alpha_ttl"), "true");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_namespace_label_team_io_name"), "web");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_namespace_labelpresent_team_io_name"), "true");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_namespace_annotation_owner"), "ops");
    ck_assert_str_eq(s_get(l, "__meta_kubernetes_namespace"), "shop");
    ck_assert_str_eq(s_get(&u->groups[0].targets[0], "__meta_kubernetes_node_name"), "(absent)");
    scraper_sd_update_destroy(&u);
    // Without attach_metadata, and with an unknown node: nothing attached.
    u = scraper_sd_update_new(false);
    ck_assert(scraper_sd_kube_role_group(FW_KUBE_ROLE_POD, "shop/web-0", obj, &cache, NULL, u));
    ck_assert_str_eq(s_get(&u->groups[0].labels, "__meta_kubernetes_node_name"), "(absent)");
    ck_assert_str_eq(s_get(&u->groups[0].labels, "__meta_kubernetes_namespace_label_team_io_name"),
                     "(absent)");
    scraper_sd_update_destroy(&u);
    json_object_set_new(json_object_get(obj, "spec"), "nodeName", json_string("n9"));
    u = scraper_sd_update_new(false);
    ck_assert(scraper_sd_kube_role_group(FW_KUBE_ROLE_POD, "shop/web-0", obj, &cache, &both, u));
    ck_assert_str_eq(s_get(&u->groups[0].labels, "__meta_kubernetes_node_name"), "(absent)");
    scraper_sd_update_destroy(&u);
    ck_assert(scraper_sd_kube_role_on_node(FW_KUBE_ROLE_POD, obj, "n9"));
    ck_assert(!scraper_sd_kube_role_on_node(FW_KUBE_ROLE_POD, obj, "n1"));
    json_decref(obj);

    // Endpoints: per target, by the address's nodeName; the not-ready address has none.
    obj = s_fixture("endpoints.json");
    u = scraper_sd_update_new(false);
    ck_assert(
        scraper_sd_kube_role_group(FW_KUBE_ROLE_ENDPOINTS, "shop/web", obj, &cache, &both, u));
    const struct scraper_sd_group *g = &u->groups[0];
    ck_assert_str_eq(s_get(s_target(g, "10.1.0.5:8080"), "__meta_kubernetes_node_name"), "n1");
    ck_assert_str_eq(
        s_get(s_target(g, "10.1.0.5:8080"), "__meta_kubernetes_node_annotation_node_alpha_ttl"),
        "0");
    ck_assert_str_eq(s_get(s_target(g, "10.1.0.6:8080"), "__meta_kubernetes_node_name"),
                     "(absent)");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_namespace_annotation_owner"), "ops");
    ck_assert(scraper_sd_kube_role_on_node(FW_KUBE_ROLE_ENDPOINTS, obj, "n1"));
    ck_assert(!scraper_sd_kube_role_on_node(FW_KUBE_ROLE_ENDPOINTS, obj, "n2"));
    scraper_sd_update_destroy(&u);
    json_decref(obj);

    // EndpointSlice: per target, by the endpoint's nodeName.
    obj = s_fixture("endpointslice.json");
    u = scraper_sd_update_new(false);
    ck_assert(scraper_sd_kube_role_group(FW_KUBE_ROLE_ENDPOINTSLICE, "shop/web-abc", obj, &cache,
                                         &both, u));
    ck_assert_str_eq(s_get(s_target(&u->groups[0], "10.1.0.5:8080"),
                           "__meta_kubernetes_node_label_kubernetes_io_hostname"),
                     "n1");
    ck_assert(scraper_sd_kube_role_on_node(FW_KUBE_ROLE_ENDPOINTSLICE, obj, "n1"));
    ck_assert(!scraper_sd_kube_role_on_node(FW_KUBE_ROLE_SERVICE, obj, "n1"));
    scraper_sd_update_destroy(&u);
    json_decref(obj);

    // The node role itself takes no namespace metadata (nodes have no namespace).
    u = scraper_sd_update_new(false);
    ck_assert(scraper_sd_kube_role_group(FW_KUBE_ROLE_NODE, "n1", node, &cache, &both, u));
    ck_assert_str_eq(s_get(&u->groups[0].labels, "__meta_kubernetes_namespace_label_team_io_name"),
                     "(absent)");
    scraper_sd_update_destroy(&u);
    json_decref(node);
    scraper_sd_kube_cache_clear(&cache);
}
END_TEST

START_TEST(test_scraper_sd_kube_node_ingress)
{
    struct scraper_sd_update *u = s_group(FW_KUBE_ROLE_NODE, "node.json", NULL);
    const struct scraper_sd_group *g = &u->groups[0];
    ck_assert_str_eq(g->source, "node/n1");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_node_name"), "n1");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_node_provider_id"), "azure:///n1");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_node_condition_ready"), "true");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_node_condition_memorypressure"), "false");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_node_label_kubernetes_io_hostname"),
                     "n1");
    const struct fw_labels *t = s_target(g, "10.0.0.1:10250"); // InternalIP first
    ck_assert_str_eq(s_get(t, "instance"), "n1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_node_address_InternalIP"), "10.0.0.1");
    ck_assert_str_eq(s_get(t, "__meta_kubernetes_node_address_Hostname"), "n1");
    scraper_sd_update_destroy(&u);

    u = s_group(FW_KUBE_ROLE_INGRESS, "ingress.json", NULL);
    g = &u->groups[0];
    ck_assert_str_eq(g->source, "ingress/shop/shop");
    ck_assert_str_eq(s_get(&g->labels, "__meta_kubernetes_ingress_class_name"), "nginx");
    ck_assert_uint_eq(g->n_targets, 3);
    ck_assert_str_eq(s_get(&g->targets[0], "__meta_kubernetes_ingress_scheme"), "https");
    ck_assert_str_eq(s_get(&g->targets[1], "__meta_kubernetes_ingress_path"), "/");
    ck_assert_str_eq(s_get(&g->targets[2], "__address__"), "b.example.org");
    ck_assert_str_eq(s_get(&g->targets[2], "__meta_kubernetes_ingress_scheme"), "http");
    ck_assert_str_eq(s_get(&g->targets[2], "__meta_kubernetes_ingress_path"), "/");
    scraper_sd_update_destroy(&u);
}
END_TEST

// ---------------------------------------------------------------------------------------
//  Targets from groups, and the config

START_TEST(test_scraper_sd_target_from_group)
{
    struct fw_scrape_config sc = check_util_scrape_job("k8s", false);
    struct fw_labels group = FW_LABELS_INIT, target = FW_LABELS_INIT;
    fw_labels_set(&group, "__meta_kubernetes_namespace", "shop");
    fw_labels_set(&group, "env", "prod");
    fw_labels_set(&group, "empty", "");
    fw_labels_set(&target, "__address__", "10.0.0.1:9100");
    fw_labels_set(&target, "env", "target-wins");
    fw_labels_set(&target, "__metrics_path__", "/probe");
    fw_err_t err = {0};
    struct scraper_target *t = scraper_target_from_group(&sc, &group, &target, NULL, &err);
    ck_assert_msg(t != NULL, "%s", err.msg);
    ck_assert_str_eq(t->url, "http://10.0.0.1:9100/probe");
    ck_assert_uint_eq(t->labels.len, 3); // job, instance, env: no __*, no empty label
    ck_assert_str_eq(s_get(&t->labels, "env"), "target-wins");
    ck_assert_str_eq(s_get(&t->labels, "instance"), "10.0.0.1:9100");
    ck_assert_str_eq(s_get(&t->discovered, "__meta_kubernetes_namespace"), "shop");
    ck_assert_str_eq(s_get(&t->discovered, "__scrape_interval__"), "15s");
    scraper_target_destroy(&t);
    // No usable __address__: dropped with Prometheus's reason.
    fw_labels_set(&target, "__address__", "http://x/metrics");
    ck_assert_ptr_null(scraper_target_from_group(&sc, &group, &target, NULL, &err));
    ck_assert_ptr_nonnull(strstr(err.msg, "is not a valid hostname"));
    fw_labels_clear(&group);
    fw_labels_clear(&target);
}
END_TEST

static bool
s_has_error(const struct fw_cfg_errors *errs, const char *text, int line)
{
    for (size_t i = 0; i < errs->len; i++)
        if (strstr(errs->items[i].msg, text) && (!line || errs->items[i].line == line))
            return true;
    return false;
}

START_TEST(test_scraper_sd_config_checks)
{
    const char *yml = "scrape_configs:\n"
                      "  - job_name: f\n"
                      "    file_sd_configs:\n"
                      "      - files: [a/b*/c.json]\n" // 4
                      "      - refresh_interval: 1m\n" // 5
                      "  - job_name: k\n"
                      "    kubernetes_sd_configs:\n"
                      "      - role: endpoints\n" // 8
                      "        bearer_token: x\n"
                      "        selectors:\n"
                      "          - role: node\n" // 11
                      "      - role: pod\n"      // 12
                      "        api_server: http://k:6443\n"
                      "        namespaces: {own_namespace: true}\n"
                      "        attach_metadata: {node: true, deployment: true}\n" // 15
                      "        kubeconfig_file: k.yml\n";                         // 16
    struct fw_promcfg cfg;
    struct fw_cfg_errors errs = {0};
    ck_assert_int_eq(fw_promcfg_load("p.yml", yml, &cfg, &errs), -1);
    ck_assert(s_has_error(&errs, "path name \"a/b*/c.json\" is not valid for file discovery", 4));
    ck_assert(s_has_error(&errs, "must contain at least one path name", 5));
    ck_assert(s_has_error(&errs, "provide the 'api_server' URL explicitly", 8));
    ck_assert(
        s_has_error(&errs, "endpoints role supports only pod, service, endpoints selectors", 11));
    ck_assert(s_has_error(&errs, "cannot use 'api_server' and 'namespaces.own_namespace'", 12));
    ck_assert(s_has_error(&errs, "attach_metadata.deployment: 'true' is not supported", 15));
    ck_assert(s_has_error(&errs, "kubeconfig_file: not supported by floorwatch", 16));
    fw_promcfg_free(&cfg);

    const char *ok =
        "scrape_configs:\n"
        "  - job_name: k\n"
        "    kubernetes_sd_configs:\n"
        "      - role: pod\n"
        "        api_server: https://k:6443\n"
        "        basic_auth: {username: u, password_file: pw}\n"
        "        tls_config: {insecure_skip_verify: true}\n"
        "        selectors: [{role: pod, label: 'app=web', field: 'spec.nodeName=n1'}]\n"
        "    file_sd_configs:\n"
        "      - files: ['sd/*.json', sd/x.yml]\n";
    ck_assert_int_eq(fw_promcfg_load("dir/p.yml", ok, &cfg, &errs), 0);
    const struct fw_kube_sd_config *k = &cfg.scrape_configs[0].kubernetes_sd_configs[0];
    ck_assert_int_eq(k->role, FW_KUBE_ROLE_POD);
    ck_assert_str_eq(k->http.basic_auth.password_file, "dir/pw");
    ck_assert_str_eq(cfg.scrape_configs[0].file_sd_configs[0].files[0], "dir/sd/*.json");
    ck_assert_int_eq(cfg.scrape_configs[0].file_sd_configs[0].refresh_interval_ms, 300000);
    fw_promcfg_free(&cfg);
}
END_TEST

// prometheus_sd_failed_configs{name="scrape"}: a kubernetes_sd_config whose discovery cannot
// be set up (in-cluster, outside a cluster) counts, as Prometheus's NewDiscoverer failing
// does; a reload to a config that sets up brings it back to 0, and one whose API server is
// merely unreachable is not failed (that is prometheus_sd_kubernetes_failures_total).
START_TEST(test_scraper_sd_failed_configs)
{
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    const char *bad = "scrape_configs:\n"
                      "  - job_name: k\n"
                      "    kubernetes_sd_configs: [{role: pod}, {role: node}]\n"
                      "    file_sd_configs: [{files: [nowhere.json]}]\n";
    const char *good = "scrape_configs:\n"
                       "  - job_name: k\n"
                       "    kubernetes_sd_configs:\n"
                       "      - {role: pod, api_server: 'http://127.0.0.1:1'}\n";
    struct fw_promcfg cfg1, cfg2;
    struct fw_cfg_errors errs = {0};
    ck_assert_int_eq(fw_promcfg_load("p.yml", bad, &cfg1, &errs), 0);
    ck_assert_int_eq(fw_promcfg_load("p.yml", good, &cfg2, &errs), 0);
    fw_metrics_t *m = fw_metrics_new();
    zloop_t *loop = zloop_new();
    const char *failed = "prometheus_sd_failed_configs";
    const char *name = "name=\"scrape\"";

    scraper_sd_t *sd1 = scraper_sd_new(m);
    ck_assert_double_eq(fw_metrics_get(m, failed, name), 0);
    fw_err_t err = {0};
    ck_assert_int_eq(scraper_sd_start(sd1, &cfg1, NULL, loop, &err), 0);
    ck_assert_uint_eq(scraper_sd_providers(sd1), 3);
    ck_assert_double_eq(fw_metrics_get(m, failed, name), 2);

    scraper_sd_t *sd2 = scraper_sd_new(m);
    ck_assert_int_eq(scraper_sd_start(sd2, &cfg2, sd1, loop, &err), 0);
    ck_assert_double_eq(fw_metrics_get(m, failed, name), 0);
    char *body = fw_metrics_render(m);
    ck_assert_ptr_nonnull(strstr(body, "# TYPE prometheus_sd_failed_configs gauge\n"));
    ck_assert_ptr_nonnull(strstr(body, "prometheus_sd_failed_configs{name=\"scrape\"} 0\n"));
    // sd2's actor may already have failed to reach 127.0.0.1:1: only the family is certain.
    ck_assert_ptr_nonnull(strstr(body, "# TYPE prometheus_sd_kubernetes_failures_total counter\n"));
    free(body);

    scraper_sd_destroy(&sd1);
    scraper_sd_destroy(&sd2);
    zloop_destroy(&loop);
    fw_metrics_destroy(&m);
    fw_promcfg_free(&cfg1);
    fw_promcfg_free(&cfg2);
}
END_TEST

START_TEST(test_scraper_sd_secrets_masked)
{
    const char *yml = "scrape_configs:\n"
                      "  - job_name: k\n"
                      "    kubernetes_sd_configs:\n"
                      "      - role: pod\n"
                      "        api_server: https://user:pass@k:6443\n"
                      "        basic_auth: {username: u, password: hunter2}\n"
                      "      - role: node\n"
                      "        api_server: https://k:6443\n"
                      "        authorization: {credentials: tok123}\n"
                      "      - role: service\n"
                      "        api_server: https://k:6443\n"
                      "        bearer_token: tok456\n"
                      "        tls_config: {key: PRIVATEKEY}\n";
    fw_err_t err = {0};
    char *shown = fw_promcfg_shown(yml, &err);
    ck_assert_msg(shown != NULL, "%s", err.msg);
    ck_assert_ptr_null(strstr(shown, "hunter2"));
    ck_assert_ptr_null(strstr(shown, "tok123"));
    ck_assert_ptr_null(strstr(shown, "tok456"));
    ck_assert_ptr_null(strstr(shown, "PRIVATEKEY"));
    ck_assert_ptr_null(strstr(shown, ":pass@"));
    ck_assert_ptr_nonnull(strstr(shown, "<secret>"));
    free(shown);
}
END_TEST

Suite *
scraper_sd_suite(void)
{
    Suite *s = suite_create("scraper_sd");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_scraper_sd_file_parse_json);
    tcase_add_test(tc, test_scraper_sd_file_parse_yaml);
    tcase_add_test(tc, test_scraper_sd_file_parse_errors);
    tcase_add_test(tc, test_scraper_sd_kube_sanitize);
    tcase_add_test(tc, test_scraper_sd_kube_pod);
    tcase_add_test(tc, test_scraper_sd_kube_service);
    tcase_add_test(tc, test_scraper_sd_kube_endpoints);
    tcase_add_test(tc, test_scraper_sd_kube_endpointslice);
    tcase_add_test(tc, test_scraper_sd_kube_node_ingress);
    tcase_add_test(tc, test_scraper_sd_kube_attach_metadata);
    tcase_add_test(tc, test_scraper_sd_target_from_group);
    tcase_add_test(tc, test_scraper_sd_config_checks);
    tcase_add_test(tc, test_scraper_sd_secrets_masked);
    tcase_add_test(tc, test_scraper_sd_failed_configs);
    suite_add_tcase(s, tc);
    return s;
}
