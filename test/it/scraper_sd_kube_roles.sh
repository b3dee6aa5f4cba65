#!/usr/bin/env bash
# scraper_sd_kube_roles.sh — kubernetes_sd_configs roles service, endpoints, endpointslice,
# ingress and node against a played API server, and reconnecting after an outage.
#
# No Kubernetes cluster can run here: test/it/kube_api.py plays the API server's documented
# list and watch responses (lists with resourceVersion, chunked watch streams of ADDED/
# MODIFIED/DELETED/BOOKMARK events, namespaced paths, labelSelector) for Services,
# Endpoints, EndpointSlices (discovery.k8s.io/v1), Ingresses (networking.k8s.io/v1), Nodes
# and Pods. Debian's prometheus 2.42 is built without kubernetes_sd_configs, so the
# expected targets and labels are written here from Prometheus's discovery/kubernetes
# (service.go, endpoints.go, endpointslice.go, ingress.go, node.go, pod.go podLabels,
# addObjectMetaLabels, addNodeLabels; node_condition_* as Prometheus 3.12+, tag v3.12.0). Every
# target is dropped by relabel_configs so that nothing is scraped and no name is resolved
# (traffic stays on 127.0.0.1): what discovery produced is read from droppedTargets'
# discoveredLabels, and compared whole (__address__, instance and every
# __meta_kubernetes_* label: a label missing or extra fails).
# Asserts, for each role: its targets and labels after the list; an object added during
# the watch becomes targets and one deleted stops being any, without a relist; the
# endpoints role's cross-watch: a Pod's new label and a Service's new label reach the
# endpoints targets (endpointslice likewise for the Pod); a selector reaches the request
# and its result; then the API server is stopped (last good targets kept, failures
# counted) and started again on the same port: discovery resumes (lists again) and a pod
# added after the restart becomes a target. Watches the server ends (every 3 s here) resume
# from the last resourceVersion without a list, and from a BOOKMARK's.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds curl jq /usr/bin/python3
it_tmpdir

API_PORT=$(it_free_port)
WEB_PORT=$(it_free_port)
echo tok1 >"$IT_DIR/token"
it_start kube /usr/bin/python3 test/it/kube_api.py "$API_PORT" "$IT_DIR/token" 2 --watch-max 3
it_wait_for "played API server" curl -sf "http://127.0.0.1:$API_PORT/control/stats"

job() { # job NAME ROLE [extra YAML lines, indented 8]
    cat <<YML
  - job_name: $1
    relabel_configs:
      - source_labels: [__address__]
        regex: .+
        action: drop
    kubernetes_sd_configs:
      - role: $2
        api_server: http://127.0.0.1:$API_PORT
        authorization:
          credentials_file: $IT_DIR/token
        namespaces:
          names: [default]
${3:-}
YML
}
{
    printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n'
    job k8s-svc service
    job k8s-svc-sel service '        selectors:
          - role: service
            label: "app=web"'
    job k8s-ep endpoints '        attach_metadata:
          node: true'
    job k8s-eps endpointslice
    job k8s-ing ingress
    job k8s-node node
    job k8s-pod pod
} >"$IT_DIR/prometheus.yml"
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml")
[ "$out" = "configuration OK" ] || it_die "check-config: $out"
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT" || it_die "scraper did not come up"

# A canonical order for sets of label sets (keys sorted before comparing).
SORT='sort_by(.__address__, (to_entries | sort_by(.key) | tostring))'
# found POOL: the discovered targets of POOL, each reduced to __address__, instance and the
# __meta_kubernetes_* labels, sorted.
found() {
    curl -sf "$API" | jq -S --arg p "$1" '[.data.droppedTargets[] | select(.scrapePool == $p)
        | .discoveredLabels | with_entries(select(.key == "__address__" or .key == "instance"
        or (.key | startswith("__meta_kubernetes_"))))] | '"$SORT"
}
addrs() { found "$1" | jq -c '[.[].__address__] | sort'; }
stat() { curl -sf "http://127.0.0.1:$API_PORT/control/stats" | jq -r ".$1"; }
post() { curl -sf -X POST "http://127.0.0.1:$API_PORT/control/$1" "${@:2}" >/dev/null; }
put() { post "put?resource=$1" -H 'Content-Type: application/json' --data-binary "$2"; }
# same POOL EXPECTED_JSON: the discovered targets of POOL are exactly EXPECTED_JSON's.
same() {
    local want got
    want=$(jq -S "$SORT" <<<"$2")
    got=$(found "$1")
    [ "$want" = "$got" ] && return 0
    echo "$1: want $(jq -c . <<<"$want")" >&2
    echo "$1: got  $(jq -c . <<<"$got")" >&2
    diff <(jq . <<<"$want") <(jq . <<<"$got") >&2 || true
    return 1
}
has_addrs() { [ "$(addrs "$1")" = "$2" ]; }

it_wait_for "every role's targets" eval '[ "$(addrs k8s-node)" != "[]" ] && [ "$(addrs k8s-ep)" != "[]" ] && [ "$(addrs k8s-eps)" != "[]" ] && [ "$(addrs k8s-ing)" != "[]" ] && [ "$(addrs k8s-svc)" != "[]" ] && [ "$(addrs k8s-pod)" != "[]" ]'

# --- role service ------------------------------------------------------------------------
M=__meta_kubernetes_
SVC_WEB='{"'$M'namespace": "default", "'$M'service_name": "web",
  "'$M'service_label_app": "web", "'$M'service_labelpresent_app": "true",
  "'$M'service_annotation_prometheus_io_scrape": "true",
  "'$M'service_annotationpresent_prometheus_io_scrape": "true"}'
want=$(jq -n --argjson w "$SVC_WEB" --arg m "$M" '
  def svc($n; $app): {($m + "namespace"): "default", ($m + "service_name"): $n,
    ($m + "service_label_app"): $app, ($m + "service_labelpresent_app"): "true",
    ($m + "service_annotation_prometheus_io_scrape"): "true",
    ($m + "service_annotationpresent_prometheus_io_scrape"): "true"};
  def port($n; $num; $proto): {($m + "service_port_name"): $n,
    ($m + "service_port_number"): $num, ($m + "service_port_protocol"): $proto};
  [ $w + port("metrics"; "9100"; "TCP") + {"__address__": "web.default.svc:9100",
      ($m + "service_type"): "ClusterIP", ($m + "service_cluster_ip"): "10.0.0.10"},
    svc("ext"; "db") + port("pg"; "5432"; "TCP") + {"__address__": "ext.default.svc:5432",
      ($m + "service_type"): "ExternalName", ($m + "service_external_name"): "db.example.com"},
    svc("edge"; "edge") + port("http"; "80"; "TCP") + {"__address__": "edge.default.svc:80",
      ($m + "service_type"): "LoadBalancer", ($m + "service_cluster_ip"): "10.0.0.12",
      ($m + "service_loadbalancer_ip"): "203.0.113.5,203.0.113.6"},
    svc("edge"; "edge") + port("dns"; "53"; "UDP") + {"__address__": "edge.default.svc:53",
      ($m + "service_type"): "LoadBalancer", ($m + "service_cluster_ip"): "10.0.0.12",
      ($m + "service_loadbalancer_ip"): "203.0.113.5,203.0.113.6"} ]')
same k8s-svc "$want" || it_die "role service: targets and labels"
it_ok "role service: ClusterIP, ExternalName and LoadBalancer services, one target a port, Prometheus's labels"

[ "$(addrs k8s-svc-sel)" = '["web.default.svc:9100"]' ] || it_die "selector: $(addrs k8s-svc-sel)"
stat 'res.services.requests' | jq -e 'any(.[]; test("watch=true") and test("labelSelector=app%3Dweb"))' >/dev/null \
    || it_die "selector not in the service watch: $(stat res.services.requests)"
it_ok "role service with selectors (label app=web): the selector is sent, only web is a target"

put services '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "new",
  "namespace": "default", "uid": "uid-new"}, "spec": {"type": "ClusterIP",
  "clusterIP": "10.0.0.13", "ports": [{"name": "m", "port": 8080, "protocol": "TCP"}]}}'
post 'remove?resource=services&name=ext'
it_wait_for "service new added, ext deleted" has_addrs k8s-svc \
    '["edge.default.svc:53","edge.default.svc:80","new.default.svc:8080","web.default.svc:9100"]'
same k8s-svc "$(jq --arg m "$M" '[.[] | select(.["__address__"] | startswith("ext.") | not)] + [{
  "__address__": "new.default.svc:8080", ($m + "namespace"): "default",
  ($m + "service_name"): "new", ($m + "service_port_name"): "m",
  ($m + "service_port_number"): "8080", ($m + "service_port_protocol"): "TCP",
  ($m + "service_type"): "ClusterIP", ($m + "service_cluster_ip"): "10.0.0.13"}]' <<<"$want")" \
    || it_die "role service after the watch events"
it_ok "role service: a service added during the watch is a target, one deleted is none"

# --- role endpoints (with attach_metadata.node) ------------------------------------------
# podb NAME IP NODE: the labels podLabels gives a seeded pod; podl: those and its container's
# for port 9100 (contl); nodel NODE ZONE: addNodeLabels' (node name, labels, annotations).
JQ_DEFS='
  def podb($n; $ip; $node): {($m + "pod_name"): $n, ($m + "pod_ip"): $ip,
    ($m + "pod_label_app"): "web", ($m + "pod_labelpresent_app"): "true",
    ($m + "pod_label_app_kubernetes_io_name"): $n,
    ($m + "pod_labelpresent_app_kubernetes_io_name"): "true",
    ($m + "pod_annotation_prometheus_io_scrape"): "true",
    ($m + "pod_annotationpresent_prometheus_io_scrape"): "true",
    ($m + "pod_ready"): "true", ($m + "pod_phase"): "Running", ($m + "pod_node_name"): $node,
    ($m + "pod_host_ip"): "192.0.2.1", ($m + "pod_uid"): ("uid-" + $n),
    ($m + "pod_controller_kind"): "ReplicaSet", ($m + "pod_controller_name"): "web-5d9"};
  def contl: {($m + "pod_container_name"): "app", ($m + "pod_container_image"): "example/app:1",
    ($m + "pod_container_port_name"): "metrics", ($m + "pod_container_port_number"): "9100",
    ($m + "pod_container_port_protocol"): "TCP", ($m + "pod_container_init"): "false"};
  def podl($n; $ip; $node): podb($n; $ip; $node) + contl;
  def nodel($n; $zone): {($m + "node_name"): $n,
    ($m + "node_label_kubernetes_io_hostname"): $n,
    ($m + "node_labelpresent_kubernetes_io_hostname"): "true",
    ($m + "node_label_topology_kubernetes_io_zone"): $zone,
    ($m + "node_labelpresent_topology_kubernetes_io_zone"): "true",
    ($m + "node_annotation_node_alpha_kubernetes_io_ttl"): "0",
    ($m + "node_annotationpresent_node_alpha_kubernetes_io_ttl"): "true"};'
EP_GROUP=$(jq -n --argjson w "$SVC_WEB" --arg m "$M" '$w + {($m + "endpoints_name"): "web",
  ($m + "endpoints_label_app"): "web", ($m + "endpoints_labelpresent_app"): "true",
  ($m + "endpoints_annotation_team"): "shop", ($m + "endpoints_annotationpresent_team"): "true"}')
want=$(jq -n --argjson g "$EP_GROUP" --arg m "$M" "$JQ_DEFS"'
  def ep($addr; $ready): {"__address__": $addr, ($m + "endpoint_port_name"): "metrics",
    ($m + "endpoint_port_protocol"): "TCP", ($m + "endpoint_ready"): $ready};
  def podep($n; $ip; $node; $zone; $ready): $g + ep($ip + ":9100"; $ready) + podl($n; $ip; $node)
    + nodel($node; $zone) + {($m + "endpoint_address_target_kind"): "Pod",
      ($m + "endpoint_address_target_name"): $n, ($m + "endpoint_node_name"): $node};
  [ podep("web-a"; "127.0.0.2"; "node-1"; "z1"; "true"),
    podep("web-c"; "127.0.0.4"; "node-1"; "z1"; "true"),
    podep("web-d"; "127.0.0.5"; "node-2"; "z2"; "false") + {($m + "pod_ready"): "true"},
    $g + ep("127.0.0.9:9100"; "true") + {($m + "endpoint_hostname"): "ext-1"} ]')
same k8s-ep "$want" || it_die "role endpoints: targets and labels"
it_ok "role endpoints: ready and not-ready pod addresses with the Service's, Pod's, container's and node's labels; an address without a pod"

# Cross-watch: a Pod's label, then the Service's label change; the endpoints role's groups
# are rebuilt from its watched pods and services (no new list). One at a time: a Service
# change rebuilds its Endpoints' whole group, which would show a Pod change too.
lists0=$(stat res | jq -c 'map_values(.lists)')
post 'label_pod?name=web-a&key=version&value=v2'
pod_crossed() {
    found k8s-ep | jq -e --arg m "$M" 'map(select(.["__address__"] == "127.0.0.2:9100"))[0] as $a
        | map(select(.["__address__"] == "127.0.0.4:9100"))[0] as $c
        | $a[$m + "pod_label_version"] == "v2" and $c[$m + "pod_label_version"] == null' >/dev/null
}
it_wait_for "the pod's change on its endpoints target" pod_crossed
put services '{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web",
  "namespace": "default", "uid": "uid-web", "labels": {"app": "web", "tier": "front"},
  "annotations": {"prometheus.io/scrape": "true"}}, "spec": {"type": "ClusterIP",
  "clusterIP": "10.0.0.10", "ports": [{"name": "metrics", "port": 9100, "protocol": "TCP"}]}}'
svc_crossed() {
    found k8s-ep | jq -e --arg m "$M" 'all(.[]; .[$m + "service_label_tier"] == "front")' >/dev/null
}
it_wait_for "the service's change on the endpoints targets" svc_crossed
want_ep=$(jq --arg m "$M" 'map(. + {($m + "service_label_tier"): "front",
    ($m + "service_labelpresent_tier"): "true"}
  | if .["__address__"] == "127.0.0.2:9100" then . + {($m + "pod_label_version"): "v2",
    ($m + "pod_labelpresent_version"): "true"} else . end)' <<<"$want")
same k8s-ep "$want_ep" || it_die "role endpoints after the pod and service changes"
[ "$(stat res | jq -c 'map_values(.lists)')" = "$lists0" ] \
    || it_die "a watch event made a relist: $lists0 -> $(stat res | jq -c 'map_values(.lists)')"
it_ok "role endpoints cross-watch: a Pod's new label reaches its target only, a Service's new label every target, without a relist"

# Endpoints api: a port none of its pod's containers has (8080 of pod web-e): the address's
# target has the pod's labels but no container's, and the container port the endpoints do not
# name (9100) is a target of its own with the pod's and container's labels only (endpoints.go
# "For all seen pods, check all container ports").
put endpoints '{"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "api",
  "namespace": "default", "uid": "uid-api"}, "subsets": [{"addresses": [{"ip": "127.0.0.20"},
  {"ip": "127.0.0.6", "nodeName": "node-2", "targetRef": {"kind": "Pod", "name": "web-e",
  "namespace": "default"}}], "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}]}'
post 'remove?resource=endpoints&name=web'
it_wait_for "endpoints api added, web deleted" has_addrs k8s-ep \
    '["127.0.0.20:8080","127.0.0.6:8080","127.0.0.6:9100"]'
want=$(jq -n --arg m "$M" "$JQ_DEFS"'
  {($m + "namespace"): "default", ($m + "endpoints_name"): "api"} as $g
  | {($m + "endpoint_port_name"): "http", ($m + "endpoint_port_protocol"): "TCP",
     ($m + "endpoint_ready"): "true"} as $ep
  | [ $g + $ep + {"__address__": "127.0.0.20:8080"},
      $g + $ep + podb("web-e"; "127.0.0.6"; "node-2") + nodel("node-2"; "z2")
        + {"__address__": "127.0.0.6:8080", ($m + "endpoint_address_target_kind"): "Pod",
           ($m + "endpoint_address_target_name"): "web-e", ($m + "endpoint_node_name"): "node-2"},
      $g + podl("web-e"; "127.0.0.6"; "node-2") + {"__address__": "127.0.0.6:9100"} ]')
same k8s-ep "$want" || it_die "role endpoints after the watch events"
it_ok "role endpoints: Endpoints added during the watch are targets (no Service: no service labels; a pod's container port the endpoints do not name is a target too), deleted ones none"

# --- role endpointslice ------------------------------------------------------------------
want=$(jq -n --argjson w "$SVC_WEB" --arg m "$M" "$JQ_DEFS"'
  def es($n; $ip; $ready; $serving; $term): $w + {($m + "endpointslice_name"): "web-abc12",
    ($m + "endpointslice_address_type"): "IPv4",
    ($m + "endpointslice_label_kubernetes_io_service_name"): "web",
    ($m + "endpointslice_labelpresent_kubernetes_io_service_name"): "true",
    ($m + "endpointslice_label_endpointslice_kubernetes_io_managed_by"):
      "endpointslice-controller.k8s.io",
    ($m + "endpointslice_labelpresent_endpointslice_kubernetes_io_managed_by"): "true",
    "__address__": ($ip + ":9100"), ($m + "endpointslice_port_name"): "metrics",
    ($m + "endpointslice_port_protocol"): "TCP", ($m + "endpointslice_port"): "9100",
    ($m + "endpointslice_port_app_protocol"): "http",
    ($m + "endpointslice_endpoint_conditions_ready"): $ready,
    ($m + "endpointslice_endpoint_conditions_serving"): $serving,
    ($m + "endpointslice_endpoint_conditions_terminating"): $term,
    ($m + "endpointslice_address_target_kind"): "Pod",
    ($m + "endpointslice_address_target_name"): $n,
    ($m + "endpointslice_endpoint_node_name"): "node-1"} + podl($n; $ip; "node-1");
  [ es("web-a"; "127.0.0.2"; "true"; "true"; "false")
      + {($m + "endpointslice_endpoint_zone"): "z1"},
    es("web-c"; "127.0.0.4"; "false"; "true"; "true")
      + {($m + "endpointslice_endpoint_hostname"): "web-c"} ]')
# The service web and pod web-a changed above (tier, version): the slice shows them too.
want=$(jq --arg m "$M" 'map(. + {($m + "service_label_tier"): "front",
    ($m + "service_labelpresent_tier"): "true"}
  | if .["__address__"] == "127.0.0.2:9100" then . + {($m + "pod_label_version"): "v2",
    ($m + "pod_labelpresent_version"): "true"} else . end)' <<<"$want")
same k8s-eps "$want" || it_die "role endpointslice: targets and labels"
it_ok "role endpointslice (discovery.k8s.io/v1): conditions, zone, hostname, app protocol, the Service's and Pods' labels (after their changes)"

put endpointslices '{"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
  "metadata": {"name": "api-x1", "namespace": "default", "uid": "uid-api-x1"},
  "addressType": "IPv4", "endpoints": [{"addresses": ["127.0.0.21"],
  "conditions": {"ready": true}}], "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}'
post 'remove?resource=endpointslices&name=web-abc12'
it_wait_for "slice api-x1 added, web-abc12 deleted" has_addrs k8s-eps '["127.0.0.21:8080"]'
same k8s-eps '[{"__address__": "127.0.0.21:8080", "'$M'namespace": "default",
  "'$M'endpointslice_name": "api-x1", "'$M'endpointslice_address_type": "IPv4",
  "'$M'endpointslice_port_name": "http", "'$M'endpointslice_port_protocol": "TCP",
  "'$M'endpointslice_port": "8080", "'$M'endpointslice_endpoint_conditions_ready": "true"}]' \
    || it_die "role endpointslice after the watch events"
it_ok "role endpointslice: a slice added during the watch is targets, one deleted none"

# --- role ingress ------------------------------------------------------------------------
want=$(jq -n --arg m "$M" '
  def ing($host; $scheme; $path): {"__address__": $host, ($m + "namespace"): "default",
    ($m + "ingress_name"): "web", ($m + "ingress_class_name"): "nginx",
    ($m + "ingress_label_app"): "web", ($m + "ingress_labelpresent_app"): "true",
    ($m + "ingress_annotation_ingress_example_rewrite"): "/",
    ($m + "ingress_annotationpresent_ingress_example_rewrite"): "true",
    ($m + "ingress_scheme"): $scheme, ($m + "ingress_host"): $host, ($m + "ingress_path"): $path};
  [ ing("shop.secure.test"; "https"; "/"), ing("shop.secure.test"; "https"; "/api"),
    ing("plain.test"; "http"; "/metrics"), ing("nopaths.test"; "http"; "/") ]')
same k8s-ing "$want" || it_die "role ingress: targets and labels"
it_ok "role ingress (networking.k8s.io/v1): a target a rule path, https for a host the TLS wildcard covers, / for a rule without paths"

put ingresses '{"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "api",
  "namespace": "default", "uid": "uid-api"}, "spec": {"rules": [{"host": "api.test",
  "http": {"paths": [{"path": "/v1", "pathType": "Prefix", "backend": {"service":
  {"name": "api", "port": {"number": 80}}}}]}}]}}'
post 'remove?resource=ingresses&name=web'
it_wait_for "ingress api added, web deleted" has_addrs k8s-ing '["api.test"]'
same k8s-ing '[{"__address__": "api.test", "'$M'namespace": "default", "'$M'ingress_name": "api",
  "'$M'ingress_scheme": "http", "'$M'ingress_host": "api.test", "'$M'ingress_path": "/v1"}]' \
    || it_die "role ingress after the watch events"
it_ok "role ingress: an ingress added during the watch is targets, one deleted none"

# --- role node ---------------------------------------------------------------------------
NODE_DEFS='def node($n; $ip; $zone): {"__address__": ($ip + ":10250"), "instance": $n,
    ($m + "node_provider_id"): ("kind://" + $n), ($m + "node_condition_ready"): "true",
    ($m + "node_condition_memorypressure"): "false",
    ($m + "node_address_InternalIP"): $ip, ($m + "node_address_Hostname"): $n,
    ($m + "node_name"): $n, ($m + "node_label_kubernetes_io_hostname"): $n,
    ($m + "node_labelpresent_kubernetes_io_hostname"): "true",
    ($m + "node_label_topology_kubernetes_io_zone"): $zone,
    ($m + "node_labelpresent_topology_kubernetes_io_zone"): "true",
    ($m + "node_annotation_node_alpha_kubernetes_io_ttl"): "0",
    ($m + "node_annotationpresent_node_alpha_kubernetes_io_ttl"): "true"};'
same k8s-node "$(jq -n --arg m "$M" "$NODE_DEFS"'[node("node-1"; "192.0.2.1"; "z1"),
    node("node-2"; "192.0.2.1"; "z2")]')" || it_die "role node: targets and labels"
it_ok "role node: the InternalIP with the kubelet port, instance = node name, addresses, conditions, labels, annotations"

lists0=$(stat res | jq -c 'map_values(.lists)')
post 'add_node?name=node-3&ip=192.0.2.3&zone=z3'
post 'delete_node?name=node-2'
nodes_moved() { [ "$(found k8s-node | jq -c '[.[].instance]')" = '["node-1","node-3"]' ]; }
it_wait_for "node-3 added, node-2 deleted" nodes_moved
same k8s-node "$(jq -n --arg m "$M" "$NODE_DEFS"'[node("node-1"; "192.0.2.1"; "z1"),
    node("node-3"; "192.0.2.3"; "z3")]')" || it_die "role node after the watch events"
[ "$(stat res | jq -c 'map_values(.lists)')" = "$lists0" ] \
    || it_die "node events made a relist: $lists0 -> $(stat res | jq -c 'map_values(.lists)')"
it_ok "role node: a node added during the watch is a target, one deleted none"

for r in services endpoints endpointslices ingresses; do
    [ "$(stat "res.$r.lists")" -ge 1 ] && [ "$(stat "res.$r.watches")" -ge 1 ] \
        || it_die "$r: lists $(stat "res.$r.lists") watches $(stat "res.$r.watches")"
done
[ "$(stat res.endpointslices.requests | jq -r '.[0]')" = \
    /apis/discovery.k8s.io/v1/namespaces/default/endpointslices?limit=500 ] \
    && [ "$(stat res.ingresses.requests | jq -r '.[0]')" = \
        /apis/networking.k8s.io/v1/namespaces/default/ingresses?limit=500 ] \
    || it_die "API group paths: $(stat res.endpointslices.requests) $(stat res.ingresses.requests)"
it_ok "each resource listed, then watched, under its API group's path"

# --- bookmarks and watches that end ------------------------------------------------------
# The played server ends every watch after 3 s (--watch-max 3, as an API server ends one at
# its timeout): each is resumed from the last resourceVersion seen, never by a new list. A
# BOOKMARK moves that version on without an object: the services watchers (of k8s-svc,
# k8s-svc-sel, k8s-ep, k8s-eps) resume from the bookmark's version.
lists0=$(stat res | jq -c 'map_values(.lists)')
rv=$(curl -sf -X POST "http://127.0.0.1:$API_PORT/control/bookmark?resource=services" | jq -r .rv)
[ "${rv:-0}" -gt 1000 ] || it_die "bookmark: $rv"
from_bookmark() {
    [ "$(stat res.services.requests | jq --arg rv "resourceVersion=$rv&" \
        '[.[] | select(contains("watch=true") and contains($rv))] | length')" -ge 4 ]
}
it_wait_for "4 service watches resumed from the bookmark's resourceVersion $rv" from_bookmark
[ "$(stat res | jq -c 'map_values(.lists)')" = "$lists0" ] \
    || it_die "watches ending made a relist: $lists0 -> $(stat res | jq -c 'map_values(.lists)')"
[ "$(stat res.services.watches)" -ge 8 ] || it_die "services watches: $(stat res.services.watches)"
it_ok "watches ended by the server resume from their resourceVersion ($(stat res.services.watches) service watches, lists unchanged); a BOOKMARK's version ($rv) is where the next watches start"

# --- reconnect after an outage -----------------------------------------------------------
metric() { curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
pods_before=$(addrs k8s-pod)
fails0=$(metric prometheus_sd_kubernetes_failures_total)
it_term "$PID_kube"
failing() { [ "$(metric prometheus_sd_kubernetes_failures_total)" -gt "$fails0" ]; }
it_wait_for "a failed LIST/WATCH counted" failing
# Down long enough for the pod watcher to fail three times (retries after 1, 2, then 4 s):
# the reconnect below then shows retrying goes on past a few failures. Each failure is
# logged with what failed, why and when it is retried.
retried() {
    grep -Eq 'event=sd.kube.fail job=k8s-pod resource=pods namespace=default request=list err="[^"\]+" retry_ms=4000$' \
        "$IT_DIR/scraper.log"
}
it_until 150 0.1 retried || it_die "the pod watcher did not retry three times"
[ "$(addrs k8s-pod)" = "$pods_before" ] && has_addrs k8s-ing '["api.test"]' \
    && has_addrs k8s-node '["192.0.2.1:10250","192.0.2.3:10250"]' \
    || it_die "API server down: the last targets must stay"
it_ok "API server down: failures counted ($(metric prometheus_sd_kubernetes_failures_total)), every job's last targets kept"

# The same port again, a fresh server (its seed: the objects as first listed).
it_start kube /usr/bin/python3 test/it/kube_api.py "$API_PORT" "$IT_DIR/token" 2 --watch-max 3
it_wait_for "played API server again" curl -sf "http://127.0.0.1:$API_PORT/control/stats"
# Backoff doubles from 1 s to 30 s: allow 60 s for the lists to come.
relisted() { [ "$(stat res.pods.lists)" -ge 1 ] && [ "$(stat res.pods.watches)" -ge 1 ]; }
it_until 600 0.1 relisted || it_die "no pod list and watch after the restart"
post 'add?name=web-z&ip=127.0.0.30&port=9300'
has_z() { found k8s-pod | jq -e 'any(.[]; .["__address__"] == "127.0.0.30:9300")' >/dev/null; }
it_until 300 0.1 has_z || it_die "pod added after the restart: $(addrs k8s-pod)"
# The relisted server has node-2 and not node-3 again, and the ingress web again.
it_until 600 0.1 has_addrs k8s-node '["192.0.2.1:10250","192.0.2.1:10250"]' \
    || it_die "node role after the restart: $(addrs k8s-node)"
it_until 600 0.1 eval '[ "$(found k8s-ing | jq length)" = 4 ]' \
    || it_die "ingress role after the restart: $(addrs k8s-ing)"
grep -q 'event=sd.kube.list .*resource=pods' "$IT_DIR/scraper.log" || it_die "relist not logged"
it_ok "API server back on the same port: discovery lists and watches again, a pod added after the restart is a target, the other roles show the server's objects"

it_term "$PID_scraper"
[ "$IT_RC" = 0 ] || it_die "scraper exit status $IT_RC"
it_ok "scraper stops cleanly"
echo "$(basename "$0"): ${IT_PASSES} passed"
