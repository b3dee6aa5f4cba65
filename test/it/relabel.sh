#!/usr/bin/env bash
# relabel.sh — the real Debian prometheus and floorwatch's scraper + tsdb scrape the same
# local targets with the same relabel_configs and metric_relabel_configs, and must keep the
# same targets, drop the same ones and store the same series.
#
# The targets: one local python3 HTTP server on four ports, serving fixed metrics at
# /metrics and /alt/metrics (plus a series naming the path and `module` parameter it was
# asked for, so the scrape URL shows in the data). The rules use replace with ${1},
# labelmap, labeldrop, labelkeep, keep/drop (on target labels and on __name__), dropequal,
# keepequal, hashmod, uppercase/lowercase, __metrics_path__ and __param_ from labels, __tmp_
# labels.
# Compared: /api/v1/targets (active targets' labels and scrapeUrl, dropped targets'
# discoveredLabels), every series of the jobs from /api/v1/series (sorted label sets, one
# assertion per series, both ways), and scrape_samples_post_metric_relabeling and
# scrape_series_added (the most and the latest) per target.
#
# Debian's prometheus is 2.42 (prometheus --version): it has keepequal/dropequal (2.41+) and
# lowercase/uppercase (2.36+). Everything here avoids what differs between 2.42 and 3.x:
# every address has a port (2.x appends :80/:443 to a bare host, 3.x does not), no group
# label shadows a __param_ default (2.42 overwrites it, 3.x keeps it), no labelmap maps two
# names onto one, and no label name or value is outside the legacy character set. An active
# target's discoveredLabels are not compared: 2.42 shows them after relabeling (its
# relabel.Process rewrote the pre-relabel set in place), where the API documentation and 3.x
# show the set before, as floorwatch does (asserted on its own).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb
it_need_cmds python3 jq curl prometheus
it_tmpdir
jqe() { jq -e "$@" >/dev/null; }

P1=$(it_free_port); P2=$(it_free_port); P3=$(it_free_port); P4=$(it_free_port)
WEB=$(it_free_port); PROM=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
S_PUB=$(it_free_port)

cat > "$IT_DIR/targets.py" <<'PY'
import http.server, socketserver, sys, threading, time, urllib.parse

BODY = """# TYPE http_requests_total counter
http_requests_total{code="200",path="/a",trace_id="abc"} 10
http_requests_total{code="404",path="/a",trace_id="def"} 2
http_requests_total{code="503",path="/b",trace_id="ghi"} 1
# TYPE go_goroutines gauge
go_goroutines 7
# TYPE junk_metric gauge
junk_metric{x="1"} 1
# TYPE temperature_celsius gauge
temperature_celsius{Sensor="Probe-A"} 21.5
temperature_celsius{Sensor="Probe-B"} 19
"""

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path not in ("/metrics", "/alt/metrics"):
            self.send_error(404)
            return
        q = urllib.parse.parse_qs(u.query)
        module = q.get("module", [""])[0]
        target = q.get("target", [""])[0].replace("\\", "").replace('"', "")
        body = (BODY + 'probe_request{path="%s",module="%s",target="%s",port="%d"} 1\n'
                % (u.path, module, target, self.server.server_address[1])).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

servers = [S(("127.0.0.1", int(p)), H) for p in sys.argv[1:]]
for s in servers:
    s.timeout = 0.5
    threading.Thread(target=s.serve_forever, daemon=True).start()
time.sleep(600)  # bounded: the script stops us long before
PY

# The same scrape config for both. Job blackbox is the blackbox exporter's recipe: URLs as
# static targets (accepted only because the job has relabel_configs) moved into
# __param_target, __address__ set to the "exporter". Groups: two web pods kept; a db pod kept, scraped at
# /alt/metrics?module=tcp; one dropped by keep (scrape: false), one by drop (drop_me), one
# by dropequal (app == tier).
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: relabel
    static_configs:
      - targets: ["127.0.0.1:$P1", "127.0.0.1:$P2"]
        labels: {__meta_pod_label_app: web, __meta_pod_label_tier: front, __tmp_env: prod,
                 scrape: "true"}
      - targets: ["127.0.0.1:$P3"]
        labels: {__meta_pod_label_app: db, __meta_path: /alt/metrics, module: tcp,
                 scrape: "true", __tmp_env: Test}
      - targets: ["127.0.0.1:$P4"]
        labels: {scrape: "false", __meta_pod_label_app: idle}
      - targets: ["127.0.0.1:$P4"]
        labels: {scrape: "true", drop_me: "yes"}
      - targets: ["127.0.0.1:$P4"]
        labels: {scrape: "true", __meta_pod_label_app: same, __meta_pod_label_tier: same}
    relabel_configs:
      - {source_labels: [scrape], regex: "true", action: keep}
      - {source_labels: [drop_me], regex: "yes", action: drop}
      - {source_labels: [__meta_pod_label_app], target_label: __meta_pod_label_tier,
         action: dropequal}
      - source_labels: [__address__]
        regex: '127\.0\.0\.1:(\d+)'
        replacement: 'port-\${1}'
        target_label: port
      - {action: labelmap, regex: "__meta_pod_label_(.+)", replacement: "pod_\${1}"}
      - {source_labels: [__meta_path], regex: "(.+)", target_label: __metrics_path__}
      - {source_labels: [module], regex: "(.+)", target_label: __param_module}
      - {source_labels: [__tmp_env], target_label: env, action: uppercase}
      - {source_labels: [__address__], target_label: shard, modulus: 4, action: hashmod}
      - {source_labels: [shard, pod_app], separator: "-", target_label: __tmp_key}
      - {source_labels: [__tmp_key], regex: "(.*)", replacement: "k-\$1", target_label: key}
      - {action: labeldrop, regex: "scrape|module"}
    metric_relabel_configs:
      - {source_labels: [__name__], regex: "go_.*|junk_.*", action: drop}
      - {action: labeldrop, regex: trace_id}
      - source_labels: [__name__, code]
        regex: 'http_requests_total;(\d)\d\d'
        replacement: '\${1}xx'
        target_label: code_class
      - {source_labels: [Sensor], target_label: sensor, action: lowercase}
      - {action: labeldrop, regex: Sensor}
      - {source_labels: [__name__], regex: "http_.*|temperature_.*|probe_.*", action: keep}
      - {source_labels: [path], target_label: path_bucket, modulus: 8, action: hashmod}
      - {action: labelmap, regex: "pod_(app|tier)", replacement: "app_\${1}"}
      - {action: labeldrop, regex: "pod_tier"}
  - job_name: blackbox
    params: {module: [http_2xx]}
    static_configs:
      - targets: ["https://plant.example/healthz?a=b&c=d e", "andon.plant.example:8443"]
    relabel_configs:
      - {source_labels: [__address__], target_label: __param_target}
      - {source_labels: [__param_target], target_label: instance}
      - {target_label: __address__, replacement: "127.0.0.1:$P4"}
    metric_relabel_configs:
      # keepequal: only the series whose path is /metrics (probe_request); labelkeep then
      # drops module, target and __tmp_expect
      - {target_label: __tmp_expect, replacement: /metrics}
      - {source_labels: [path], target_label: __tmp_expect, action: keepequal}
      - {action: labelkeep, regex: "__name__|job|instance|path|port"}
YML

promtool_ok() { promtool check config "$1" >"$IT_DIR/promtool.log" 2>&1; }
if command -v promtool >/dev/null; then
    it_check "promtool check config accepts the relabel config" promtool_ok "$IT_DIR/prometheus.yml"
fi
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/prometheus.yml" 2>&1) || true
it_check "scraper --check-config accepts it" [ "$out" = "configuration OK" ]

it_start targets python3 "$IT_DIR/targets.py" "$P1" "$P2" "$P3" "$P4"
it_wait_http "http://127.0.0.1:$P1/metrics"
it_wait_http "http://127.0.0.1:$P4/alt/metrics"

it_start prometheus prometheus --config.file="$IT_DIR/prometheus.yml" \
    --storage.tsdb.path="$IT_DIR/prom" --web.listen-address="127.0.0.1:$PROM"
it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=64MiB
it_wait_http "http://127.0.0.1:$T_HTTP/-/ready" 150
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address="127.0.0.1:$WEB" --zmq.tsdb-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.pub-address="tcp://127.0.0.1:$S_PUB"
it_wait_http "http://127.0.0.1:$WEB/-/ready" 150
it_wait_http "http://127.0.0.1:$PROM/-/ready" 300

PROM_URL="http://127.0.0.1:$PROM"
FW_URL="http://127.0.0.1:$T_HTTP"
SCR_URL="http://127.0.0.1:$WEB"

# Both have scraped each of the 3 kept targets up, at least twice (bounded: 30 s).
up5() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query=count(count_over_time(up[1m]) >= 2)' |
        jq -e '.data.result[0].value[1] == "5"' >/dev/null
}
it_check "prometheus scraped the 3 kept targets and 2 probes" it_until 150 0.2 up5 "$PROM_URL"
it_check "floorwatch scraped the 3 kept targets and 2 probes" it_until 150 0.2 up5 "$FW_URL"

# --- targets ---
targets() { curl -fsS "$1/api/v1/targets"; }
targets "$PROM_URL" > "$IT_DIR/prom-targets.json"
targets "$SCR_URL" > "$IT_DIR/fw-targets.json"
active() { jq -c -S '[.data.activeTargets[] | {labels, scrapeUrl, health}] | sort_by(.scrapeUrl)' "$1"; }
dropped() { jq -c -S '[.data.droppedTargets[] | .discoveredLabels] | sort_by(tostring)' "$1"; }
it_check "5 active targets, all up, at Prometheus" \
    jqe '[.data.activeTargets[] | select(.health == "up")] | length == 5' "$IT_DIR/prom-targets.json"
it_check "active targets: the same labels, scrapeUrl and health" \
    [ "$(active "$IT_DIR/prom-targets.json")" = "$(active "$IT_DIR/fw-targets.json")" ]
it_check "a probe is scraped with the URL in target= (Go's query encoding)" \
    jqe --arg u "http://127.0.0.1:$P4/metrics?module=http_2xx&target=https%3A%2F%2Fplant.example%2Fhealthz%3Fa%3Db%26c%3Dd+e" \
    '[.data.activeTargets[] | select(.scrapeUrl == $u)] | length == 1' "$IT_DIR/fw-targets.json"
it_check "the db target is scraped at /alt/metrics?module=tcp" \
    jqe --arg u "http://127.0.0.1:$P3/alt/metrics?module=tcp" \
    '[.data.activeTargets[] | select(.scrapeUrl == $u)] | length == 1' "$IT_DIR/fw-targets.json"
# 2.42 shows an active target's discoveredLabels after relabeling (its relabel.Process
# rewrote the pre-relabel set in place); the API documents, and 3.x shows, the set before.
it_check "an active target's discoveredLabels are the set before relabeling" \
    jqe --arg a "127.0.0.1:$P3" '[.data.activeTargets[] | .discoveredLabels |
        select(.__address__ == $a and .module == "tcp" and .scrape == "true" and
               .__metrics_path__ == "/metrics" and .__scrape_interval__ == "1s" and
               .__meta_path == "/alt/metrics" and (has("__param_module") | not))] | length == 1' \
    "$IT_DIR/fw-targets.json"
it_check "3 dropped targets at Prometheus" \
    jqe '.data.droppedTargets | length == 3' "$IT_DIR/prom-targets.json"
it_check "dropped targets: the same discoveredLabels" \
    [ "$(dropped "$IT_DIR/prom-targets.json")" = "$(dropped "$IT_DIR/fw-targets.json")" ]
it_check "droppedTargetCounts says 3 for the job" \
    jqe '.data.droppedTargetCounts.relabel == 3' "$IT_DIR/fw-targets.json"
it_check "no dropped target logged as invalid" \
    bash -c "! grep -q 'target.invalid' '$IT_DIR/scraper.log'"

# --- series ---
now=$(date +%s)
series() {
    curl -fsS "$1/api/v1/series" --data-urlencode 'match[]={job=~"relabel|blackbox"}' \
        --data-urlencode "start=$((now - 300))" --data-urlencode "end=$((now + 60))" |
        jq -c -S '.data[]' | sort
}
series "$PROM_URL" > "$IT_DIR/prom-series.txt"
series "$FW_URL" > "$IT_DIR/fw-series.txt"
n=$(wc -l < "$IT_DIR/prom-series.txt")
# relabel: 3 targets x (3 http_requests_total + 2 temperature_celsius + 1 probe_request + 5
# synthetic); blackbox: 2 x (1 probe_request, the one keepequal keeps, + 5)
it_check "prometheus stored 45 series for the jobs ($n)" [ "$n" = 45 ]
while IFS= read -r s; do
    it_check "floorwatch has $s" grep -qxF -- "$s" "$IT_DIR/fw-series.txt"
done < "$IT_DIR/prom-series.txt"
while IFS= read -r s; do
    grep -qxF -- "$s" "$IT_DIR/prom-series.txt" || it_fail "floorwatch has a series prometheus lacks: $s"
done < "$IT_DIR/fw-series.txt"
it_check "job relabel: no go_*/junk_* series and no trace_id/Sensor label" \
    it_lacks -E 'go_goroutines|junk_metric|trace_id|"Sensor"' grep -F '"job":"relabel"' "$IT_DIR/fw-series.txt"
it_check "job blackbox: keepequal kept probe_request alone" \
    [ "$(grep -F '"job":"blackbox"' "$IT_DIR/fw-series.txt" | grep -vE '"__name__":"(up|scrape_[a-z_]+)"' |
        grep -o '"__name__":"[a-z_]*"' | sort -u)" = '"__name__":"probe_request"' ]
probes() { # the blackbox job's probe_request series with a path and a port
    grep -F '"__name__":"probe_request"' "$IT_DIR/fw-series.txt" | grep -F '"job":"blackbox"' |
        grep '"path":"/metrics"' | grep '"port":'
}
it_check "job blackbox: labelkeep left path and port, not module and target" \
    it_has -vE '"(module|target|__tmp_expect)"' probes
it_check "code_class from \${1} (2xx, 4xx, 5xx) on http_requests_total" \
    [ "$(grep -o '"code_class":"[0-9]xx"' "$IT_DIR/fw-series.txt" | sort -u | tr -d '\n')" \
      = '"code_class":"2xx""code_class":"4xx""code_class":"5xx"' ]

# The same number of samples after metric relabeling, target by target.
post() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query=scrape_samples_post_metric_relabeling{job="relabel"}' |
        jq -c '[.data.result[] | [.metric.instance, .value[1]]] | sort'
}
post_same() {
    [ "$(post "$PROM_URL")" = "$(post "$FW_URL")" ] && [ "$(post "$FW_URL" | grep -o '"6"' | wc -l)" = 3 ]
}
it_check "scrape_samples_post_metric_relabeling is 6 per target in both" post_same
# scrape_series_added: the most any scrape added (the first: every series) and the latest
# (0 once nothing is new), target by target.
added() {
    curl -fsS "$1/api/v1/query" --data-urlencode \
        'query=max_over_time(scrape_series_added{job=~"relabel|blackbox"}[10m])' |
        jq -c '[.data.result[] | [.metric.job, .metric.instance, .value[1]]] | sort'
}
last_added() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query=scrape_series_added{job=~"relabel|blackbox"}' |
        jq -c '[.data.result[] | [.metric.job, .metric.instance, .value[1]]] | sort'
}
echo "    scrape_series_added, most: prometheus $(added "$PROM_URL"), floorwatch $(added "$FW_URL")"
it_check "scrape_series_added: the same most per target in both" [ "$(added "$PROM_URL")" = "$(added "$FW_URL")" ]
it_check "scrape_series_added: the same latest per target in both" \
    [ "$(last_added "$PROM_URL")" = "$(last_added "$FW_URL")" ]

it_term "$PID_scraper"
it_check "scraper exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
