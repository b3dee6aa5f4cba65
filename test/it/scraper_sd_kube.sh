#!/usr/bin/env bash
# scraper_sd_kube.sh — kubernetes_sd_configs (role pod) against a played API server.
#
# No Kubernetes cluster can run here: test/it/kube_api.py plays the API server's documented
# list and watch responses (PodList with resourceVersion, a chunked watch stream of
# ADDED/DELETED/BOOKMARK/ERROR events). Asserts that the scraper lists, then watches from
# the list's resourceVersion with allowWatchBookmarks; that the pod's target shows in
# /api/v1/targets with Prometheus's labels (job, instance) and __meta_kubernetes_* discovered
# labels (namespace, pod name, sanitized label/annotation names, _labelpresent_, container
# port, controller); that a pod added during the watch becomes a target and a pod deleted
# during it stops being one; that a 410 Gone ERROR event makes it list again and the
# targets stay; that the bearer token file is read again per request (rotated token used);
# and that the API server going away keeps the last targets.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds curl /usr/bin/python3
it_tmpdir

API_PORT=$(it_free_port)
WEB_PORT=$(it_free_port)
echo tok1 > "$IT_DIR/token"
it_start kube /usr/bin/python3 test/it/kube_api.py "$API_PORT" "$IT_DIR/token"
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
YML
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml")
[ "$out" = "configuration OK" ] || it_die "check-config: $out"
it_ok "kubernetes_sd_configs accepted by --check-config"

it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT"

# targets_have ADDRESS: /api/v1/targets lists a target with __address__ ADDRESS.
targets_have() {
    curl -sf "$API" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)["data"]["activeTargets"]
sys.exit(0 if any(t["discoveredLabels"].get("__address__") == sys.argv[1] for t in d) else 1)' "$1"
}
count_targets() {
    curl -sf "$API" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["activeTargets"]))'
}
stat() { curl -sf "http://127.0.0.1:$API_PORT/control/stats" | /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

it_wait_for "pod web-a as a target" targets_have 127.0.0.2:9100
curl -sf "$API" | /usr/bin/python3 -c '
import json, sys
t = json.load(sys.stdin)["data"]["activeTargets"][0]
want_labels = {"job": "k8s", "instance": "127.0.0.2:9100"}
assert t["labels"] == want_labels, t["labels"]
d = t["discoveredLabels"]
want = {
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
    "__meta_kubernetes_pod_labelpresent_app_kubernetes_io_name": "true",
    "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
    "__meta_kubernetes_pod_annotationpresent_prometheus_io_scrape": "true",
    "__meta_kubernetes_pod_controller_kind": "ReplicaSet",
    "__meta_kubernetes_pod_controller_name": "web-5d9",
    "__meta_kubernetes_pod_container_name": "app",
    "__meta_kubernetes_pod_container_id": "containerd://abcweb-a",
    "__meta_kubernetes_pod_container_image": "example/app:1",
    "__meta_kubernetes_pod_container_port_name": "metrics",
    "__meta_kubernetes_pod_container_port_number": "9100",
    "__meta_kubernetes_pod_container_port_protocol": "TCP",
    "__meta_kubernetes_pod_container_init": "false",
    "job": "k8s",
    "__scheme__": "http",
    "__metrics_path__": "/metrics",
}
for k, v in want.items():
    assert d.get(k) == v, (k, d.get(k), v)
' || it_die "labels of the pod target"
it_ok "pod web-a: labels and __meta_kubernetes_* discovered labels as Prometheus"
[ "$(stat lists)" = 1 ] || it_die "expected one list, got $(stat lists)"
q=$(stat query)
grep -q "watch=true" <<<"$q" && grep -q "allowWatchBookmarks=true" <<<"$q" && grep -q "resourceVersion=100" <<<"$q" \
    && grep -q "labelSelector=app%3Dweb" <<<"$q" || it_die "watch query: $q"
it_ok "listed once, then watching from resourceVersion 100 with bookmarks and the selector"

curl -sf -X POST "http://127.0.0.1:$API_PORT/control/add?name=web-b&ip=127.0.0.3&port=9200" >/dev/null
it_wait_for "pod web-b added during the watch" targets_have 127.0.0.3:9200
it_ok "a pod added during the watch becomes a target"
curl -sf -X POST "http://127.0.0.1:$API_PORT/control/delete?name=web-a" >/dev/null
gone_a() { ! targets_have 127.0.0.2:9100; }
it_wait_for "pod web-a deleted during the watch" gone_a
[ "$(count_targets)" = 1 ] || it_die "expected 1 target, got $(count_targets)"
[ "$(stat lists)" = 1 ] || it_die "add/delete must not relist"
it_ok "a pod deleted during the watch stops being a target (no relist)"

echo tok2 > "$IT_DIR/token"
curl -sf -X POST "http://127.0.0.1:$API_PORT/control/gone" >/dev/null
relisted() { [ "$(stat lists)" -ge 2 ] && [ "$(stat watches)" -ge 2 ]; }
it_wait_for "a new list and watch after 410 Gone" relisted
[ "$(stat auth)" = "Bearer tok2" ] || it_die "rotated token not used: $(stat auth)"
targets_have 127.0.0.3:9200 && [ "$(count_targets)" = 1 ] || it_die "targets after relist"
it_ok "410 Gone: listed again with the rotated token, targets unchanged"

it_term "$PID_kube"
sleep 2
targets_have 127.0.0.3:9200 || it_die "API server down: the last targets must stay"
grep -q "event=sd.kube.fail" "$IT_DIR/scraper.log" || it_die "no sd.kube.fail logged"
it_ok "API server down: failure logged, last good targets kept"

it_term "$PID_scraper"
[ "$IT_RC" = 0 ] || it_die "scraper exit status $IT_RC"
it_ok "scraper stops cleanly"
echo "$(basename "$0"): ${IT_PASSES} passed"
