#!/usr/bin/env bash
# scraper_sd_kube_incluster.sh — kubernetes_sd_configs in-cluster (no api_server): the
# service account's token, CA and namespace, against a played API server over HTTPS.
#
# No Kubernetes cluster can run here: test/it/kube_api.py --tls plays the API server's list
# and watch responses over HTTPS with a certificate for 127.0.0.1 signed by a test CA, and
# answers 401 unless the request's Authorization is "Bearer <its token file>". In-cluster,
# the scraper reaches https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT with the
# token, ca.crt and namespace of /var/run/secrets/kubernetes.io/serviceaccount/, which
# FLOORWATCH_KUBE_SERVICEACCOUNT_DIR moves here for tests (scraper_sd_kube_api.h).
# Asserts: the token file's content is sent as "Authorization: Bearer" (the server checks
# it: targets come only with it); a rotated token file is sent from the next request on
# (the server then accepts only the new one, and the targets stay); own_namespace lists
# and watches only the namespace the namespace file names, so only that namespace's pod is a
# target; a config with namespaces.names lists those as well (Prometheus's
# getNamespaces: names plus its own).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper
it_need_cmds curl jq openssl /usr/bin/python3
it_tmpdir

API_PORT=$(it_free_port)
WEB_PORT=$(it_free_port)
it_tls_ca kubeca
it_tls_cert apiserver kubeca "IP:127.0.0.1"
SA=$IT_DIR/sa
mkdir -p "$SA"
cp "$IT_DIR/kubeca.pem" "$SA/ca.crt"
printf 'sa-token-1' >"$SA/token" # as Kubernetes writes it: no newline
printf 'other' >"$SA/namespace"
printf 'sa-token-1' >"$IT_DIR/server-token" # what the played server accepts
it_start kube /usr/bin/python3 test/it/kube_api.py "$API_PORT" "$IT_DIR/server-token" 2 \
    --tls "$IT_DIR/apiserver"
it_wait_for "played API server (HTTPS)" curl -sf --cacert "$IT_DIR/kubeca.pem" \
    "https://127.0.0.1:$API_PORT/control/stats"

cat >"$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: k8s-own
    relabel_configs: [{source_labels: [__address__], regex: .+, action: drop}]
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          own_namespace: true
  - job_name: k8s-own-and-default
    relabel_configs: [{source_labels: [__address__], regex: .+, action: drop}]
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          own_namespace: true
          names: [default]
YML
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml")
[ "$out" = "configuration OK" ] || it_die "check-config: $out"
export KUBERNETES_SERVICE_HOST=127.0.0.1 KUBERNETES_SERVICE_PORT=$API_PORT
export FLOORWATCH_KUBE_SERVICEACCOUNT_DIR=$SA
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT" || it_die "scraper did not come up"

stat() { curl -sf --cacert "$IT_DIR/kubeca.pem" "https://127.0.0.1:$API_PORT/control/stats" | jq -r ".$1"; }
post() { curl -sf --cacert "$IT_DIR/kubeca.pem" -X POST "https://127.0.0.1:$API_PORT/control/$1" >/dev/null; }
addrs() {
    curl -sf "$API" | jq -c --arg p "$1" '[.data.droppedTargets[] | select(.scrapePool == $p)
        | .discoveredLabels.__address__] | sort'
}
metric() { curl -sf "http://127.0.0.1:$WEB_PORT/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
has_addrs() { [ "$(addrs "$1")" = "$2" ]; }

it_wait_for "the pod of namespace other" has_addrs k8s-own '["127.0.0.8:9100"]'
[ "$(stat res.pods.auth)" = "Bearer sa-token-1" ] || it_die "Authorization sent: $(stat res.pods.auth)"
it_ok "in-cluster over HTTPS (the service account's ca.crt): the token file sent as Authorization: Bearer sa-token-1"

requests=$(stat res.pods.requests)
jq -e 'all(.[]; startswith("/api/v1/namespaces/other/pods") or startswith("/api/v1/namespaces/default/pods"))
    and any(.[]; startswith("/api/v1/namespaces/other/pods?limit="))
    and any(.[]; startswith("/api/v1/namespaces/other/pods?watch=true"))' <<<"$requests" >/dev/null \
    || it_die "pod requests: $requests"
it_wait_for "own namespace and default" has_addrs k8s-own-and-default \
    '["127.0.0.2:9100","127.0.0.4:9100","127.0.0.5:9100","127.0.0.6:9100","127.0.0.7:9100","127.0.0.8:9100"]'
it_ok "own_namespace (namespace file: other): only namespace other listed and watched, its pod the only target; with names [default] both namespaces"

post 'add?name=other-b&ip=127.0.0.11&port=9100&namespace=other'
post 'add?name=web-b&ip=127.0.0.3&port=9200'
it_wait_for "pod other-b added in namespace other" has_addrs k8s-own '["127.0.0.11:9100","127.0.0.8:9100"]'
sleep 1
has_addrs k8s-own '["127.0.0.11:9100","127.0.0.8:9100"]' || it_die "a default pod reached k8s-own: $(addrs k8s-own)"
it_ok "own_namespace: a pod added in namespace other becomes a target, one added in default does not"

# Rotate: the server accepts only the new token from now on; the scraper's next requests
# (a 410 Gone on every watch makes them list again) must send it.
printf 'sa-token-2' >"$SA/token"
printf 'sa-token-2' >"$IT_DIR/server-token"
lists0=$(stat res.pods.lists)
post gone
rotated() { [ "$(stat res.pods.lists)" -ge $((lists0 + 2)) ] && [ "$(stat res.pods.auth)" = "Bearer sa-token-2" ]; }
it_wait_for "lists with the rotated token" rotated
sleep 1
[ "$(metric 'prometheus_sd_kubernetes_http_request_total{status_code="401"}')" = "" ] \
    || [ "$(metric 'prometheus_sd_kubernetes_http_request_total{status_code="401"}')" = 0 ] \
    || it_die "a request was refused (401) after the rotation"
has_addrs k8s-own '["127.0.0.11:9100","127.0.0.8:9100"]' || it_die "targets after the rotation: $(addrs k8s-own)"
it_ok "a rotated token file: the next lists send Bearer sa-token-2 (none refused), targets unchanged"

it_term "$PID_scraper"
[ "$IT_RC" = 0 ] || it_die "scraper exit status $IT_RC"
it_ok "scraper stops cleanly"
echo "$(basename "$0"): ${IT_PASSES} passed"
