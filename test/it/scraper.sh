#!/usr/bin/env bash
# scraper.sh — the scraper against real targets: prometheus-node-exporter and a garbage file.
#
# Asserts that promtool and the scraper accept scraper.example.yml, that a bad config gives
# file:line:col: error: and exit 2 (at start too, for a key floorwatch does not implement),
# that remote_write is checked but left to tsdb (none sent) and remote_read refused, that /api/v1/targets reports the node exporter up and
# the garbage target down with the parser's line/column, that /metrics counts scrapes and
# failures, that scraped batches reach the PUB socket (fwtail) with job/instance labels,
# that SIGHUP reloads (the garbage job disappears) and that SIGTERM exits 0.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_tmpdir

# --- configuration checks ---
if command -v promtool >/dev/null; then
    promtool_ok() { promtool check config "$1" >"$IT_DIR/promtool.log" 2>&1; }
    it_check "promtool check config scraper/scraper.example.yml" \
        promtool_ok scraper/scraper.example.yml
fi
out=$("$BIN/scraper" --check-config --config.file=scraper/scraper.example.yml)
it_check "scraper --check-config accepts the example" [ "$out" = "configuration OK" ]
out=$("$BIN/scraper" --check-config)
it_check "scraper --check-config accepts the embedded default" [ "$out" = "configuration OK" ]
cat > "$IT_DIR/bad.yml" <<'YML'
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: x
    scrape_intervall: 1s
    static_configs:
      - targets: ["127.0.0.1:notaport"]
YML
set +e
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/bad.yml" 2>&1 >/dev/null)
rc=$?
set -e
it_check "bad config exits 2" [ "$rc" = 2 ]
it_check "bad config names file:line:col (unknown key)" \
    grep -q "^$IT_DIR/bad.yml:5:5: error: .*scrape_intervall" <<<"$out"
it_check "bad config names file:line:col (bad target)" \
    grep -Eq "^$IT_DIR/bad.yml:7:[0-9]+: error: .*notaport" <<<"$out"

# A key floorwatch does not implement stops the scraper at start too (not only
# --check-config): exit 2, file:line:col and "not supported", no port bound.
cat > "$IT_DIR/unsup.yml" <<'YML'
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: x
    consul_sd_configs:
      - server: 127.0.0.1:8500
YML
set +e
timeout 20 "$BIN/scraper" --config.file="$IT_DIR/unsup.yml" --web.listen-address="127.0.0.1:$(it_free_port)" \
    --zmq.tsdb-address="tcp://127.0.0.1:$(it_free_port)" --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)" \
    >"$IT_DIR/unsup.out" 2>&1
rc=$?
set -e
it_check "a scraper started with an unsupported key exits 2 ($rc)" [ "$rc" = 2 ]
it_check "and names it at file:line:col as not supported" \
    grep -q "^$IT_DIR/unsup.yml:5:5: error: scrape_configs\[0\]\.consul_sd_configs: not supported by floorwatch" "$IT_DIR/unsup.out"
# remote_write is tsdb's (tsdb(8) REMOTE WRITE): the scraper checks it as tsdb does and
# sends nothing itself (the live scraper below has one pointing at the garbage server, which
# logs every request); remote_read is refused.
cat > "$IT_DIR/rw.yml" <<'YML'
remote_write:
  - url: ftp://tsdb/api/v1/write
remote_read:
  - url: http://prometheus/api/v1/read
YML
set +e
out=$("$BIN/scraper" --check-config --config.file="$IT_DIR/rw.yml" 2>&1 >/dev/null)
set -e
it_check "remote_write is checked as tsdb checks it (file:line:col)" \
    grep -q "^$IT_DIR/rw.yml:2:5: error: unsupported scheme for remote_write url" <<<"$out"
it_check "remote_read is refused (file:line:col)" \
    grep -q "^$IT_DIR/rw.yml:3:1: error: remote_read: not supported by floorwatch" <<<"$out"

# --- live scraping ---
NODE_PORT=$(it_free_port)
GARBAGE_PORT=$(it_free_port)
WEB_PORT=$(it_free_port)
PUSH_PORT=$(it_free_port)
PUB_PORT=$(it_free_port)
mkdir -p "$IT_DIR/www"
printf '# TYPE ok gauge\nok 1\nnot valid{{{ 1\n' > "$IT_DIR/www/metrics.txt"

it_start node prometheus-node-exporter --web.listen-address="127.0.0.1:$NODE_PORT"
it_start garbage python3 -m http.server "$GARBAGE_PORT" --bind 127.0.0.1 --directory "$IT_DIR/www"
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:$NODE_PORT"]
        labels:
          env: it
  - job_name: garbage
    metrics_path: /metrics.txt
    static_configs:
      - targets: ["127.0.0.1:$GARBAGE_PORT"]
remote_write:
  - url: http://127.0.0.1:$GARBAGE_PORT/api/v1/write
YML
it_wait_http "http://127.0.0.1:$NODE_PORT/metrics"
it_wait_http "http://127.0.0.1:$GARBAGE_PORT/metrics.txt"
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB_PORT" "$PUSH_PORT" "$PUB_PORT"

health() { curl -fsS "$API" | jq -r --arg j "$1" '.data.activeTargets[] | select(.labels.job==$j) | .health'; }
health_is() { [ "$(health "$1")" = "$2" ]; }
it_check "node exporter target is up" it_until 50 0.1 health_is node up
it_check "garbage target is down" it_until 50 0.1 health_is garbage down
targets=$(curl -fsS "$API")
it_check "garbage lastError has line and column" \
    [ "$(jq -r '.data.activeTargets[] | select(.labels.job=="garbage") | .lastError' <<<"$targets")" \
      = "line 3: invalid value at column 5" ]
it_check "node target labels (job, instance, static label)" \
    [ "$(jq -c '.data.activeTargets[] | select(.labels.job=="node") | .labels' <<<"$targets")" \
      = "{\"env\":\"it\",\"instance\":\"127.0.0.1:$NODE_PORT\",\"job\":\"node\"}" ]
it_check "node target scrapeUrl and interval" \
    [ "$(jq -r '.data.activeTargets[] | select(.labels.job=="node") | .scrapeUrl + " " + .scrapeInterval' <<<"$targets")" \
      = "http://127.0.0.1:$NODE_PORT/metrics 1s" ]
sleep 2.2 # a few more scrapes of each
metric() { curl -fsS "http://127.0.0.1:$WEB_PORT/metrics" | awk -v k="$1" '$1 == k {print $2}'; }
it_check "fw_scraper_scrapes_total{job=\"node\"} >= 2" \
    awk -v v="$(metric 'fw_scraper_scrapes_total{job="node"}')" 'BEGIN {exit !(v >= 2)}'
it_check "fw_scraper_scrape_failures_total{job=\"garbage\"} >= 2" \
    awk -v v="$(metric 'fw_scraper_scrape_failures_total{job="garbage"}')" 'BEGIN {exit !(v >= 2)}'
it_check "fw_scraper_scrape_failures_total{job=\"node\"} is absent or 0" \
    awk -v v="$(metric 'fw_scraper_scrape_failures_total{job="node"}')" 'BEGIN {exit !(v + 0 == 0)}'
it_check "fw_scraper_samples_total > 100" \
    awk -v v="$(metric fw_scraper_samples_total)" 'BEGIN {exit !(v > 100)}'
it_check "fw_scraper_targets 2" [ "$(metric fw_scraper_targets)" = 2 ]
it_check "no remote write from the scraper (tsdb's job): nothing but GETs at the garbage server" \
    bash -c "grep -q '\"GET /metrics.txt' '$IT_DIR/garbage.log' && ! grep -q '/api/v1/write' '$IT_DIR/garbage.log'"
it_check "scrape.fail logged with the parse error" \
    grep -q 'event=scrape.fail target=http://127.0.0.1:'"$GARBAGE_PORT"'/metrics.txt err="line 3: ' \
    "$IT_DIR/scraper.log"

if [ -x "$BIN/fwtail" ]; then
    "$BIN/fwtail" --type=SAMPLES --count=4 --timeout=6s "tcp://127.0.0.1:$PUB_PORT" \
        > "$IT_DIR/tail.jsonl" 2>"$IT_DIR/fwtail.log" || true
    it_check "PUB carries node_exporter samples with job/instance labels" \
        grep -q "\"job\":\"node\"" "$IT_DIR/tail.jsonl"
    garbage_up0() {
        jq -e -s --arg i "127.0.0.1:$GARBAGE_PORT" \
            '[.[].body.series[] | select(.labels.__name__=="up" and .labels.instance==$i)
              | .samples[0][1]] | any(. == "0" or . == 0)' "$IT_DIR/tail.jsonl" >/dev/null
    }
    it_check "PUB carries up=0 for the garbage target" garbage_up0
fi

# --- reload on SIGHUP: drop the garbage job ---
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: node
    static_configs:
      - targets: ["127.0.0.1:$NODE_PORT"]
        labels:
          env: it
YML
kill -HUP "$PID_scraper"
ntargets() { [ "$(curl -fsS "$API" | jq '.data.activeTargets | length')" = "$1" ]; }
it_check "SIGHUP reload leaves one target" it_until 50 0.1 ntargets 1
it_check "the node target kept its state across the reload" health_is node up
echo 'scrape_configs: [' > "$IT_DIR/prometheus.yml"
code=$(curl -s -o "$IT_DIR/reload.txt" -w '%{http_code}' -X POST "http://127.0.0.1:$WEB_PORT/-/reload")
it_check "bad config on /-/reload answers 500" [ "$code" = 500 ]
it_check "and the old targets stay" ntargets 1

# --- SIGTERM: clean exit ---
it_term "$PID_scraper"
it_check "SIGTERM exits 0" [ "$IT_RC" = 0 ]

it_finish
