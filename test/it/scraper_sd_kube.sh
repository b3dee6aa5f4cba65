#!/usr/bin/env bash
# scraper_sd_kube.sh — kubernetes_sd_configs (role pod) against a played API server.
#
# No Kubernetes cluster can run here: test/it/kube_api.py plays the API server's documented
# list and watch responses (PodList/NodeList/NamespaceList with resourceVersion, served in
# pages of 2 with continue tokens; a chunked watch stream of ADDED/MODIFIED/DELETED/
# BOOKMARK/ERROR events; 410 Gone for an expired continue token). The real Debian
# prometheus cannot be compared here: Debian builds 2.42 without kubernetes_sd_configs
# ("field kubernetes_sd_configs not found in type config.ScrapeConfig"), so the expected
# labels are those Prometheus's discovery/kubernetes documents and tests (pod_test.go).
# Asserts: the scraper lists in pages (limit=500, then continue=) and watches from the
# list's resourceVersion with allowWatchBookmarks and the selector; its pod targets have
# Prometheus's labels and __meta_kubernetes_* discovered labels, with the node's name,
# labels and annotations (attach_metadata.node, as Prometheus 3's addNodeLabels; 2.42
# attached no annotations); a pod on an unknown node gets no node labels;
# attach_metadata.namespace adds the namespace's
# labels and annotations; a node's label change reaches its pods' targets; a pod added
# during the watch becomes a target and a pod deleted during it stops being one; a 410 Gone
# ERROR event makes it list again, and a continue token answered 410 makes that list one
# unpaged request, with the targets unchanged; the bearer token file is read again per
# request (rotated token used); the discovery metrics count under Prometheus's names, with
# the pod role's work queue; the API server going away keeps the last targets and counts in
# prometheus_sd_kubernetes_failures_total (not prometheus_sd_failed_configs, as in
# Prometheus); a config that cannot be set up (in-cluster, its own namespace unknown)
# counts in prometheus_sd_failed_configs until a reload sets it up. Each LIST request (each
# page), not a WATCH, is timed in prometheus_sd_kubernetes_http_request_duration_seconds
# {endpoint} under client-go's URL template (the namespace as %7Bnamespace%7D), and
# prometheus_sd_last_update_timestamp_seconds{config,name} says when the scraper last took
# the targets.
# Then over HTTPS (kube_api.py --tls, certificates from CAs this test makes with openssl,
# test/it/lib.sh it_tls_*), a second scraper: api_server https:// with tls_config.ca_file,
# a server requiring a client certificate (given), and in-cluster (the service account's
# ca.crt and token) all discover the pods; the CA files and the server's certificate
# replaced during the watches: the scraper ends each watch set up under the old CA within
# about a second and watches on a new connection served with the new certificate (no
# relist, no failure, targets kept; the untouched job's watch runs on); a wrong CA: the
# certificate error logged and counted in prometheus_sd_kubernetes_failures_total, the
# last good targets kept; the right CA back: watching again.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds curl jq /usr/bin/python3 openssl sha256sum
it_tmpdir

API_PORT=$(it_free_port)
WEB_PORT=$(it_free_port)
echo tok1 > "$IT_DIR/token"
it_start kube /usr/bin/python3 test/it/kube_api.py "$API_PORT" "$IT_DIR/token" 2
it_wait_for "fake API server" curl -sf "http://127.0.0.1:$API_PORT/control/stats"

cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: k8s
    kubernetes_sd_configs:
      - role: pod
        api_server: http://127.0.0.1:$API_PORT
        authorization:
          credentials_file: $IT_DIR/token
        namespaces:
          names: [default]
        selectors:
          - role: pod
            label: "app=web"
        attach_metadata:
          node: true
  - job_name: k8s-ns
    kubernetes_sd_configs:
      - role: pod
        api_server: http://127.0.0.1:$API_PORT
        authorization:
          credentials_file: $IT_DIR/token
        namespaces:
          names: [default]
        attach_metadata:
          namespace: true
YML
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml")
[ "$out" = "configuration OK" ] || it_die "check-config: $out"
it_ok "kubernetes_sd_configs with attach_metadata accepted by --check-config"

# In-cluster settings for the k8s-in job added at the end (the configs above name their
# api_server, so these do not touch them): the service account's files in $IT_DIR/sa.
mkdir -p "$IT_DIR/sa"
echo tok1 > "$IT_DIR/sa/token"
export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$API_PORT
export FLOORWATCH_KUBE_SERVICEACCOUNT_DIR=$IT_DIR/sa
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT"

# targets URL POOL: the active targets of POOL as {address: discoveredLabels}.
targets() {
    curl -sf "$1" | jq -S --arg p "$2" \
        '[.data.activeTargets[] | select(.scrapePool == $p) | {key: .discoveredLabels.__address__, value: .discoveredLabels}] | from_entries'
}
count_targets() { targets "$API" "${1:-k8s}" | jq 'length'; }
targets_have() { targets "$API" "${2:-k8s}" | jq -e --arg a "$1" 'has($a)' >/dev/null; }
label_of() { targets "$API" "$3" | jq -r --arg a "$1" --arg l "$2" '.[$a][$l] // "(absent)"'; }
stat() { curl -sf "http://127.0.0.1:$API_PORT/control/stats" | jq -r ".$1"; }
five() { [ "$(count_targets k8s)" = 5 ] && [ "$(count_targets k8s-ns)" = 5 ]; }

it_wait_for "5 pods as targets of k8s and k8s-ns" five

# client-go times each request of Request.request (the LIST pages), labelled by its URL
# template, and not a WATCH: as many pod observations as pod list requests the server saw,
# with watches open.
kmetric() { curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
DUR=prometheus_sd_kubernetes_http_request_duration_seconds
PODS_EP='endpoint="/api/v1/namespaces/%7Bnamespace%7D/pods"'
lists_timed() {
    [ "$(kmetric "${DUR}_count{$PODS_EP}")" = "$(stat pages)" ] && [ "$(stat watches)" -ge 2 ] \
        && [ "$(kmetric "${DUR}_count{endpoint=\"/api/v1/nodes\"}")" -ge "$(stat node_lists)" ] \
        && [ "$(kmetric "${DUR}_count{endpoint=\"/api/v1/namespaces\"}")" -ge "$(stat namespace_lists)" ]
}
it_wait_for "list requests timed" lists_timed
python3 -c 'import sys; sys.exit(0 if 0 < float(sys.argv[1]) < 60 else 1)' "$(kmetric "${DUR}_sum{$PODS_EP}")" \
    || it_die "duration sum: $(curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | grep "^$DUR")"
durs() { curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | grep "^$DUR"; }
it_lacks -vE '%7Bnamespace%7D/pods"|endpoint="/api/v1/(nodes|namespaces)"' durs \
    || it_die "unexpected endpoints: $(durs)"
it_ok "$DUR: $(stat pages) pod list requests timed as {$PODS_EP} (sum $(kmetric "${DUR}_sum{$PODS_EP}") s), node and namespace lists, $(stat watches) watches not timed"
lu=$(kmetric 'prometheus_sd_last_update_timestamp_seconds{config="k8s",name="scrape"}')
python3 -c 'import sys, time; t = float(sys.argv[1]); sys.exit(0 if time.time() - 60 < t <= time.time() else 1)' "${lu:-0}" \
    || it_die "last update timestamp: ${lu:-none}"
it_ok "prometheus_sd_last_update_timestamp_seconds{config=\"k8s\",name=\"scrape\"} $lu (now: $(date +%s))"

curl -sf "$API" | jq -e '.data.activeTargets[] | select(.scrapePool == "k8s" and .discoveredLabels.__address__ == "127.0.0.2:9100") | .labels == {"job": "k8s", "instance": "127.0.0.2:9100"}' >/dev/null \
    || it_die "target labels of web-a"
targets "$API" k8s | jq -e '.["127.0.0.2:9100"] as $d | {
    "__address__": "127.0.0.2:9100",
    "__meta_kubernetes_namespace": "default",
    "__meta_kubernetes_pod_name": "web-a",
    "__meta_kubernetes_pod_ip": "127.0.0.2",
    "__meta_kubernetes_pod_ready": "true",
    "__meta_kubernetes_pod_phase": "Running",
    "__meta_kubernetes_pod_node_name": "node-1",
    "__meta_kubernetes_pod_host_ip": "192.0.2.1",
    "__meta_kubernetes_pod_uid": "uid-web-a",
    "__meta_kubernetes_pod_label_app": "web",
    "__meta_kubernetes_pod_labelpresent_app": "true",
    "__meta_kubernetes_pod_label_app_kubernetes_io_name": "web-a",
    "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
    "__meta_kubernetes_pod_controller_kind": "ReplicaSet",
    "__meta_kubernetes_pod_container_port_number": "9100",
    "__meta_kubernetes_node_name": "node-1",
    "__meta_kubernetes_node_label_topology_kubernetes_io_zone": "z1",
    "__meta_kubernetes_node_labelpresent_kubernetes_io_hostname": "true",
    "__meta_kubernetes_node_annotation_node_alpha_kubernetes_io_ttl": "0",
    "__meta_kubernetes_node_annotationpresent_node_alpha_kubernetes_io_ttl": "true",
    "job": "k8s"} | to_entries | all(.value == $d[.key])' >/dev/null \
    || it_die "discovered labels of web-a: $(targets "$API" k8s | jq -c '.["127.0.0.2:9100"]')"
it_ok "pod web-a: labels, __meta_kubernetes_* and node metadata (labels, annotations)"

[ "$(label_of 127.0.0.5:9100 __meta_kubernetes_node_label_topology_kubernetes_io_zone k8s)" = z2 ] \
    || it_die "web-d: node-2's labels"
[ "$(label_of 127.0.0.7:9100 __meta_kubernetes_node_name k8s)" = "(absent)" ] \
    || it_die "a pod on an unknown node got node labels"
it_ok "each pod has its own node's metadata; none for a pod on an unknown node"

[ "$(stat lists)" = 2 ] || it_die "expected one pod list per job, got $(stat lists)"
[ "$(stat pages)" = 6 ] || it_die "expected 3 pages per pod list, got $(stat pages)"
[ "$(stat node_lists)" = 1 ] && [ "$(stat namespace_lists)" = 1 ] \
    || it_die "node/namespace lists: $(stat node_lists) $(stat namespace_lists)"
q=$(stat watch_queries)
jq -e 'any(.[]; test("watch=true") and test("allowWatchBookmarks=true") and test("resourceVersion=100")
    and test("labelSelector=app%3Dweb"))' <<<"$q" >/dev/null || it_die "watch queries: $q"
grep -q 'event=sd.kube.list .*resource=pods .*objects=5 pages=3 expired_continue=0' "$IT_DIR/scraper.log" \
    || it_die "no paged list logged"
it_ok "listed in 3 pages of 2 (limit, continue), nodes and namespaces once, then watching from resourceVersion 100"

[ "$(label_of 127.0.0.2:9100 __meta_kubernetes_namespace_label_team k8s-ns)" = shop ] \
    && [ "$(label_of 127.0.0.2:9100 __meta_kubernetes_namespace_annotation_owner k8s-ns)" = ops@example.com ] \
    && [ "$(label_of 127.0.0.2:9100 __meta_kubernetes_namespace_labelpresent_team k8s-ns)" = true ] \
    && [ "$(label_of 127.0.0.2:9100 __meta_kubernetes_node_name k8s-ns)" = "(absent)" ] \
    || it_die "namespace metadata: $(targets "$API" k8s-ns | jq -c '.["127.0.0.2:9100"]')"
it_ok "attach_metadata.namespace: the namespace's labels and annotations"

curl -sf -X POST "http://127.0.0.1:$API_PORT/control/label_node?name=node-1&key=team&value=blue" >/dev/null
relabeled() { [ "$(label_of 127.0.0.2:9100 __meta_kubernetes_node_label_team k8s)" = blue ]; }
it_wait_for "node-1's new label on web-a" relabeled
[ "$(label_of 127.0.0.5:9100 __meta_kubernetes_node_label_team k8s)" = "(absent)" ] \
    || it_die "node-2's pod got node-1's label"
it_ok "a node's label change reaches the targets of its pods only"

curl -sf -X POST "http://127.0.0.1:$API_PORT/control/add?name=web-b&ip=127.0.0.3&port=9200" >/dev/null
it_wait_for "pod web-b added during the watch" targets_have 127.0.0.3:9200
it_ok "a pod added during the watch becomes a target"
curl -sf -X POST "http://127.0.0.1:$API_PORT/control/delete?name=web-a" >/dev/null
gone_a() { ! targets_have 127.0.0.2:9100; }
it_wait_for "pod web-a deleted during the watch" gone_a
[ "$(count_targets)" = 5 ] || it_die "expected 5 targets, got $(count_targets)"
[ "$(stat lists)" = 2 ] || it_die "add/delete must not relist"
it_ok "a pod deleted during the watch stops being a target (no relist)"

# 410 Gone on the watch: both jobs list again; the first continue token asked for is
# answered 410 Expired, so that list is redone unpaged.
echo tok2 > "$IT_DIR/token"
curl -sf -X POST "http://127.0.0.1:$API_PORT/control/expire" >/dev/null
curl -sf -X POST "http://127.0.0.1:$API_PORT/control/gone" >/dev/null
relisted() { [ "$(stat lists)" -ge 5 ] && [ "$(stat watches)" -ge 8 ]; }
it_wait_for "new lists and watches after 410 Gone" relisted
[ "$(stat expired)" = 1 ] && [ "$(stat unpaged)" = 1 ] \
    || it_die "expired continue: expired=$(stat expired) unpaged=$(stat unpaged)"
[ "$(stat auth)" = "Bearer tok2" ] || it_die "rotated token not used: $(stat auth)"
grep -q 'event=sd.kube.relist .*continue token expired' "$IT_DIR/scraper.log" \
    && grep -q 'event=sd.kube.list .*resource=pods .*objects=5 pages=1 expired_continue=1' "$IT_DIR/scraper.log" \
    || it_die "expired continue token not logged"
sleep 1
targets_have 127.0.0.3:9200 && [ "$(count_targets)" = 5 ] && [ "$(count_targets k8s-ns)" = 5 ] \
    || it_die "targets after relist: $(count_targets) $(count_targets k8s-ns)"
it_ok "410 Gone: listed again with the rotated token; an expired continue token: one unpaged list; targets unchanged"

# Events: list items are adds the first time, updates on a relist (known objects), as
# informers report them: pods 2 x 5 + web-b (in both jobs) added, 2 x 5 updated by the
# relists, web-a deleted from both jobs; nodes watched for attach_metadata are not counted
# (Prometheus's pod role counts only pods).
m=$(curl -sf "http://127.0.0.1:$WEB_PORT/metrics")
grep -qx 'prometheus_sd_discovered_targets{config="k8s",name="scrape"} 5' <<<"$m" \
    && grep -qx 'prometheus_sd_kubernetes_events_total{event="delete",role="pod"} 2' <<<"$m" \
    && grep -qx 'prometheus_sd_kubernetes_events_total{event="update",role="node"} 0' <<<"$m" \
    && grep -qx 'prometheus_sd_kubernetes_events_total{event="add",role="node"} 0' <<<"$m" \
    && grep -qx 'prometheus_sd_kubernetes_events_total{event="update",role="pod"} 10' <<<"$m" \
    && grep -qx 'prometheus_sd_kubernetes_http_request_total{status_code="410"} 1' <<<"$m" \
    && grep -qx 'prometheus_sd_kubernetes_events_total{event="add",role="pod"} 12' <<<"$m" \
    && grep -q '^prometheus_target_sync_length_seconds_count{scrape_job="k8s"} [1-9]' <<<"$m" \
    && grep -qx 'prometheus_sd_failed_configs{name="scrape"} 0' <<<"$m" \
    && grep -qx 'prometheus_sd_kubernetes_failures_total 0' <<<"$m" \
    || it_die "discovery metrics: $(grep '^prometheus_' <<<"$m")"
it_ok "discovery metrics under Prometheus's names (discovered targets, events, HTTP codes, sync, no failed config, no failed request)"

# The pod role's work queue (client-go's, by queue name): the keys of the pods whose
# groups were rebuilt, each counted when queued and not queued already, at least the 5 +
# 5 listed first, the added web-b and deleted web-a of both jobs and the 2 x 5 relisted;
# nothing left queued once the changes are sent.
metric() { curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
items=$(metric 'prometheus_sd_kubernetes_workqueue_items_total{queue_name="pod"}')
[ "${items:-0}" -ge 24 ] && [ "$(metric 'prometheus_sd_kubernetes_workqueue_depth{queue_name="pod"}')" = 0 ] \
    || it_die "work queue: $(grep '^prometheus_sd_kubernetes_workqueue' <<<"$m")"
it_ok "the pod role's work queue: $items items added, depth 0 once sent"
if command -v promtool >/dev/null; then
    lint=$(curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | promtool check metrics 2>&1) \
        || it_die "promtool check metrics with kubernetes discovery: $lint"
    it_ok "promtool check metrics accepts /metrics with the kubernetes discovery series"
fi

it_term "$PID_kube"
failing() { [ "$(metric prometheus_sd_kubernetes_failures_total)" -ge 1 ]; }
it_wait_for "a failed LIST/WATCH counted" failing
grep -q "event=sd.kube.fail" "$IT_DIR/scraper.log" || it_die "no sd.kube.fail logged"
targets_have 127.0.0.3:9200 && [ "$(count_targets)" = 5 ] || it_die "API server down: the last targets must stay"
[ "$(metric 'prometheus_sd_failed_configs{name="scrape"}')" = 0 ] \
    || it_die "an API server that is down is not a failed config (Prometheus counts it in failures_total)"
it_ok "API server down: failure logged and counted (prometheus_sd_kubernetes_failures_total), last good targets kept"

# A config whose discovery cannot be set up (in-cluster with own_namespace, and the
# service account's namespace file missing) is failed: prometheus_sd_failed_configs 1 after
# the reload that brings it; once the file is there, the next reload sets it up (0).
cp "$IT_DIR/prometheus.yml" "$IT_DIR/prometheus-in.yml"
cat >> "$IT_DIR/prometheus-in.yml" <<YML
  - job_name: k8s-in
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          own_namespace: true
YML
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus-in.yml")
[ "$out" = "configuration OK" ] || it_die "check-config: $out"
cp "$IT_DIR/prometheus-in.yml" "$IT_DIR/prometheus.yml"
reloads() { grep -c 'event=config.reload ' "$IT_DIR/scraper.log" || true; }
kill -HUP "$PID_scraper"
failed_is() { [ "$(metric 'prometheus_sd_failed_configs{name="scrape"}')" = "$1" ] && [ "$(reloads)" -ge "$2" ]; }
it_wait_for "the k8s-in config failed" failed_is 1 1
grep -q 'event=sd.kube.fail job=k8s-in .*unable to read file .*/sa/namespace' "$IT_DIR/scraper.log" \
    || it_die "the failed config's reason is not logged"
echo default > "$IT_DIR/sa/namespace"
kill -HUP "$PID_scraper"
it_wait_for "the k8s-in config set up on the next reload" failed_is 0 2
targets_have 127.0.0.3:9200 || it_die "the k8s job's targets must stay across the reloads"
it_ok "a config that cannot be set up: prometheus_sd_failed_configs 1, logged; fixed and reloaded: 0"

it_term "$PID_scraper"
[ "$IT_RC" = 0 ] || it_die "scraper exit status $IT_RC"
it_ok "scraper stops cleanly"

# --- HTTPS -------------------------------------------------------------------------------
# Every real API server speaks HTTPS; none can run here, so kube_api.py plays the same
# documented list and watch responses over TLS, with certificates from CAs made here
# (it_tls_ca, it_tls_cert), read again for each connection so they can be replaced while
# it runs. A second scraper, with its own metrics, runs three jobs: k8s-tls (api_server
# https:// with tls_config.ca_file), k8s-mtls (a server that requires a client
# certificate: cert_file and key_file given) and k8s-in (in-cluster: KUBERNETES_SERVICE_HOST
# and _PORT, and the service account's token, namespace and ca.crt in the directory
# FLOORWATCH_KUBE_SERVICEACCOUNT_DIR points to).
it_tls_ca kubeca; it_tls_ca kubeca2; it_tls_ca otherca
it_tls_cert apiserver kubeca IP:127.0.0.1
it_tls_cert apiserver2 kubeca2 IP:127.0.0.1 # the rotation's
it_tls_cert client kubeca
cp "$IT_DIR/apiserver.pem" "$IT_DIR/tls.pem"; cp "$IT_DIR/apiserver.key" "$IT_DIR/tls.key" # kube_tls's
cp "$IT_DIR/kubeca.pem" "$IT_DIR/ca.pem"                                                   # k8s-tls's ca_file
cp "$IT_DIR/kubeca.pem" "$IT_DIR/sa/ca.crt"
echo tls-tok > "$IT_DIR/token_tls"; cp "$IT_DIR/token_tls" "$IT_DIR/sa/token"
TLS_PORT=$(it_free_port); MTLS_PORT=$(it_free_port); WEB2=$(it_free_port)
# kube_tls's watches last up to 300 s whatever the client asks, so that only the scraper
# ends them within this test.
it_start kube_tls /usr/bin/python3 test/it/kube_api.py "$TLS_PORT" "$IT_DIR/token_tls" 2 \
    --tls "$IT_DIR/tls" --watch-max 300
it_start kube_mtls /usr/bin/python3 test/it/kube_api.py "$MTLS_PORT" "$IT_DIR/token_tls" 2 \
    --tls "$IT_DIR/apiserver" --client-ca "$IT_DIR/kubeca.pem"
C="$IT_DIR/client"
it_wait_for "HTTPS API server" curl -sf --cacert "$IT_DIR/kubeca.pem" "https://127.0.0.1:$TLS_PORT/control/stats"
it_wait_for "HTTPS API server requiring a client certificate" \
    curl -sf --cacert "$IT_DIR/kubeca.pem" --cert "$C.pem" --key "$C.key" "https://127.0.0.1:$MTLS_PORT/control/stats"
! curl -sf --cacert "$IT_DIR/kubeca.pem" "https://127.0.0.1:$MTLS_PORT/control/stats" >/dev/null 2>&1 \
    || it_die "kube_mtls answered without a client certificate"
it_ok "HTTPS API servers up; kube_mtls refuses a client without a certificate"

cat > "$IT_DIR/prometheus-tls.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: k8s-tls
    kubernetes_sd_configs:
      - role: pod
        api_server: https://127.0.0.1:$TLS_PORT
        authorization:
          credentials_file: $IT_DIR/token_tls
        tls_config:
          ca_file: $IT_DIR/ca.pem
        namespaces:
          names: [default]
  - job_name: k8s-mtls
    kubernetes_sd_configs:
      - role: pod
        api_server: https://127.0.0.1:$MTLS_PORT
        authorization:
          credentials_file: $IT_DIR/token_tls
        tls_config:
          ca_file: $IT_DIR/kubeca.pem
          cert_file: $C.pem
          key_file: $C.key
        namespaces:
          names: [default]
  - job_name: k8s-in
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          own_namespace: true
YML
export KUBERNETES_SERVICE_PORT=$TLS_PORT # in-cluster: https://127.0.0.1:$TLS_PORT
it_start_scraper "$IT_DIR/prometheus-tls.yml" "$WEB2"
WEB_PORT=$WEB2 # metric, kmetric
cat "$IT_DIR/kubeca.pem" "$IT_DIR/kubeca2.pem" > "$IT_DIR/both.pem" # the test's own requests, across the rotation
tstat() { curl -sf --cacert "$IT_DIR/both.pem" "https://127.0.0.1:$TLS_PORT/control/stats" | jq -c "$1"; }
mstat() { curl -sf --cacert "$IT_DIR/kubeca.pem" --cert "$C.pem" --key "$C.key" "https://127.0.0.1:$MTLS_PORT/control/stats" | jq -c "$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }
tls_five() { [ "$(count_targets k8s-tls)" = 5 ] && [ "$(count_targets k8s-mtls)" = 5 ] && [ "$(count_targets k8s-in)" = 5 ]; }
it_wait_for "5 pods as targets of k8s-tls, k8s-mtls and k8s-in" tls_five
# Both pod watches of kube_tls (k8s-tls's and k8s-in's) and k8s-mtls's on kube_mtls.
open_watches() { # SHA: kube_tls's running pod watches on connections served with that certificate
    tstat "[.watch_log[] | select(.end == null and .cert == \"$1\")] | length"
}
watching() { [ "$(open_watches "$(sha "$IT_DIR/apiserver.pem")")" = 2 ] && [ "$(mstat '[.watch_log[] | select(.end == null)] | length')" = 1 ]; }
it_wait_for "the pod watches running over TLS" watching
[ "$(mstat .client_cn)" = '"client"' ] || it_die "client certificate: $(mstat .client_cn)"
[ "$(tstat .auth)" = '"Bearer tls-tok"' ] || it_die "in-cluster/k8s-tls token: $(tstat .auth)"
[ "$(metric prometheus_sd_kubernetes_failures_total)" = 0 ] \
    || it_die "failures over TLS: $(grep 'sd.kube.fail' "$IT_DIR/scraper.log")"
it_has -x web-a label_of 127.0.0.2:9100 __meta_kubernetes_pod_name k8s-in \
    || it_die "k8s-in's targets: $(targets "$API" k8s-in | jq -c 'keys')"
it_ok "over HTTPS: api_server with tls_config.ca_file; a client certificate required and given (CN=client); in-cluster with the service account's ca.crt and token; 5 targets each, no failure"

# CA and server certificate rotated, no reload: the running watches were set up under the
# old CA, so the scraper ends them and watches again, from their resourceVersion, on new
# connections served with the new certificate; no relist, no failure, targets unchanged.
# k8s-mtls's files did not change: its watch runs on. (A scraper that keeps its watches
# keeps them here for up to 300 s and the wait below times out.)
OLD=$(sha "$IT_DIR/apiserver.pem"); NEW=$(sha "$IT_DIR/apiserver2.pem")
lists0=$(tstat .lists)
t0=$(date +%s.%N)
mv "$IT_DIR/apiserver2.pem" "$IT_DIR/tls.pem"; mv "$IT_DIR/apiserver2.key" "$IT_DIR/tls.key"
cp "$IT_DIR/kubeca2.pem" "$IT_DIR/ca.pem.new"; mv "$IT_DIR/ca.pem.new" "$IT_DIR/ca.pem"
cp "$IT_DIR/kubeca2.pem" "$IT_DIR/sa/ca.crt.new"; mv "$IT_DIR/sa/ca.crt.new" "$IT_DIR/sa/ca.crt"
rotated() { [ "$(open_watches "$NEW")" = 2 ] && [ "$(open_watches "$OLD")" = 0 ]; }
it_wait_for "the watches on the new certificate, the old ones ended" rotated
[ "$(tstat "[.watch_log[] | select(.cert == \"$OLD\") | .closed_by_client] | all")" = true ] \
    || it_die "old watches not ended by the scraper: $(tstat .watch_log)"
took=$(tstat "[.watch_log[] | select(.cert == \"$OLD\") | .end] | max - $t0 | . * 10 | round / 10")
[ "$(tstat .lists)" = "$lists0" ] || it_die "relisted after the rotation: $(tstat .lists) lists, $lists0 before"
[ "$(mstat '[.watch_log[] | select(.end != null)] | length')" = 0 ] || it_die "k8s-mtls's watch ended: $(mstat .watch_log)"
sleep 1
[ "$(count_targets k8s-tls)" = 5 ] && [ "$(count_targets k8s-in)" = 5 ] \
    || it_die "targets after the rotation: $(count_targets k8s-tls) $(count_targets k8s-in)"
[ "$(metric prometheus_sd_kubernetes_failures_total)" = 0 ] \
    || it_die "failures after the rotation: $(grep 'sd.kube.fail' "$IT_DIR/scraper.log")"
[ "$(grep -c 'event=sd.kube.reconnect job=k8s-.* reason="TLS files changed' "$IT_DIR/scraper.log")" = 2 ] \
    || it_die "reconnects logged: $(grep 'sd.kube.reconnect' "$IT_DIR/scraper.log")"
it_ok "CA and server certificate rotated (k8s-tls's ca_file, the service account's ca.crt): the 2 watches ended by the scraper ${took}s after, watching again on the new certificate; no relist, no failure, targets kept; k8s-mtls's watch untouched"

# A wrong CA (ca_file now another CA's): the watch ends, and the new connections fail the
# server's certificate with a certificate error (curl's words, as the scrapes give them;
# Prometheus says "x509: certificate signed by unknown authority"), counted in
# prometheus_sd_kubernetes_failures_total; the last good targets stay.
cp "$IT_DIR/otherca.pem" "$IT_DIR/ca.pem.new"; mv "$IT_DIR/ca.pem.new" "$IT_DIR/ca.pem"
refused() { [ "$(metric prometheus_sd_kubernetes_failures_total)" -ge 1 ]; }
it_wait_for "a failure counted with the wrong CA" refused
grep -q 'event=sd.kube.fail job=k8s-tls resource=pods namespace=default .*err="SSL certificate problem: ' "$IT_DIR/scraper.log" \
    || it_die "no certificate error logged: $(grep 'sd.kube.fail' "$IT_DIR/scraper.log")"
it_lacks -v 'job=k8s-tls ' grep 'event=sd.kube.fail' "$IT_DIR/scraper.log" \
    || it_die "another job failed: $(grep 'sd.kube.fail' "$IT_DIR/scraper.log")"
sleep 1
[ "$(count_targets k8s-tls)" = 5 ] && [ "$(count_targets k8s-in)" = 5 ] \
    || it_die "targets with the wrong CA: $(count_targets k8s-tls) $(count_targets k8s-in)"
it_ok "wrong CA: $(grep -m1 -o 'err="SSL certificate problem: [^"]*"' "$IT_DIR/scraper.log"), failures_total $(metric prometheus_sd_kubernetes_failures_total), the last good targets kept"
cp "$IT_DIR/kubeca2.pem" "$IT_DIR/ca.pem.new"; mv "$IT_DIR/ca.pem.new" "$IT_DIR/ca.pem"
fixed() { [ "$(open_watches "$NEW")" = 2 ]; }
it_until 300 0.1 fixed || it_die "k8s-tls did not watch again with the right CA: $(tstat .watch_log)"
[ "$(count_targets k8s-tls)" = 5 ] || it_die "targets after the fix: $(count_targets k8s-tls)"
it_ok "the right CA back: watching again (after the backoff), 5 targets"

it_term "$PID_scraper"
[ "$IT_RC" = 0 ] || it_die "scraper exit status $IT_RC"
it_ok "the HTTPS scraper stops cleanly"
echo "$(basename "$0"): ${IT_PASSES} passed"
