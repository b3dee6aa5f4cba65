#!/usr/bin/env bash
# e2e.sh — the whole stack, end to end, on free loopback ports.
#
# factorysim → scraper → tsdb ← ruled (OEE recording rules + LineOEELow alert) → alertd →
# notifyd → fwsink. Forces line2 into trouble and asserts that the webhook sink receives the
# alert group with the right labels within a bounded time, and that tsdb's query API returns
# the recorded OEE series. Where the Debian packages are installed, the real Prometheus
# scrapes every daemon's /metrics and must find every target healthy, and the real
# `promtool query instant` against tsdb must list the targets' `up` series.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/it/lib.sh
BIN=${BUILD:-build}/bin
it_tmpdir

for v in FACTORY SINK TSDB_HTTP ALERTD_HTTP SCRAPER_HTTP RULED_HTTP SLOD_HTTP NOTIFYD_HTTP \
         Z_SAMPLES Z_QUERY Z_TSDB_PUB Z_SCRAPER_PUB Z_RULED_PUB Z_SLOD_PUB Z_ALERTS Z_ALERTD_PUB \
         Z_NOTIFY Z_NOTIFYD_PUB PROM; do
    eval "$v=$(it_free_port)"
done
L=127.0.0.1

cat > "$IT_DIR/prometheus.yml" <<EOT
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [rules.yml]
scrape_configs:
  - job_name: factory
    static_configs: [{targets: ["$L:$FACTORY"], labels: {site: plant1}}]
  - job_name: tsdb
    static_configs: [{targets: ["$L:$TSDB_HTTP"]}]
  - job_name: alertd
    static_configs: [{targets: ["$L:$ALERTD_HTTP"]}]
EOT
cat > "$IT_DIR/rules.yml" <<'EOT'
groups:
  - name: oee
    interval: 1s
    rules:
      - record: line:availability:ratio
        expr: sum by (line) (rate(factory_runtime_actual_seconds_total[5s])) / sum by (line) (rate(factory_runtime_planned_seconds_total[5s]))
      - record: line:performance:ratio
        expr: sum by (line) (factory_ideal_cycle_time_seconds) * sum by (line) (rate(factory_units_produced_total[5s])) / sum by (line) (rate(factory_runtime_actual_seconds_total[5s]))
      - record: line:quality:ratio
        expr: sum by (line) (rate(factory_units_good_total[5s])) / sum by (line) (rate(factory_units_produced_total[5s]))
      - record: line:oee:ratio
        expr: line:availability:ratio * line:performance:ratio * line:quality:ratio
      - alert: LineOEELow
        expr: line:oee:ratio < 0.6
        for: 2s
        labels: {severity: page}
        annotations: {summary: "OEE on {{ $labels.line }} is below 60%"}
EOT
cat > "$IT_DIR/alertmanager.yml" <<EOT
route:
  receiver: sink
  group_by: [alertname, line]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
receivers:
  - name: sink
    webhook_configs: [{url: "http://$L:$SINK/hook"}]
EOT

it_start factorysim "$BIN/factorysim" --web.listen-address=$L:$FACTORY
it_start fwsink "$BIN/fwsink" --web.listen-address=$L:$SINK --output="$IT_DIR/hooks.jsonl"
it_start tsdb "$BIN/tsdb" --web.listen-address=$L:$TSDB_HTTP --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address=tcp://$L:$Z_SAMPLES --zmq.query-address=tcp://$L:$Z_QUERY \
    --zmq.pub-address=tcp://$L:$Z_TSDB_PUB
it_start notifyd "$BIN/notifyd" --web.listen-address=$L:$NOTIFYD_HTTP \
    --zmq.notify-address=tcp://$L:$Z_NOTIFY --zmq.pub-address=tcp://$L:$Z_NOTIFYD_PUB
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/alertmanager.yml" \
    --web.listen-address=$L:$ALERTD_HTTP --storage.path="$IT_DIR/alertd" \
    --zmq.alerts-address=tcp://$L:$Z_ALERTS --zmq.notifyd-address=tcp://$L:$Z_NOTIFY \
    --zmq.pub-address=tcp://$L:$Z_ALERTD_PUB
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=$L:$SCRAPER_HTTP --zmq.tsdb-address=tcp://$L:$Z_SAMPLES \
    --zmq.pub-address=tcp://$L:$Z_SCRAPER_PUB
it_start ruled "$BIN/ruled" --storage.path="$IT_DIR/ruled-state" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=$L:$RULED_HTTP --zmq.tsdb-address=tcp://$L:$Z_SAMPLES \
    --zmq.query-address=tcp://$L:$Z_QUERY --zmq.alertd-address=tcp://$L:$Z_ALERTS \
    --zmq.pub-address=tcp://$L:$Z_RULED_PUB
it_start slod "$BIN/slod" --web.listen-address=$L:$SLOD_HTTP --storage.path="$IT_DIR/slod" \
    --zmq.tsdb-address=tcp://$L:$Z_SAMPLES --zmq.query-address=tcp://$L:$Z_QUERY \
    --zmq.alertd-address=tcp://$L:$Z_ALERTS --zmq.pub-address=tcp://$L:$Z_SLOD_PUB

echo "e2e: waiting for every daemon's /-/healthy"
for p in $FACTORY $TSDB_HTTP $ALERTD_HTTP $SCRAPER_HTTP $RULED_HTTP $SLOD_HTTP $NOTIFYD_HTTP; do
    url=http://$L:$p/-/healthy; [ $p = $FACTORY ] && url=http://$L:$p/metrics
    it_check "$url answers" it_wait_http "$url" 100
done

q() { curl -fsS --max-time 5 "http://$L:$TSDB_HTTP/api/v1/query" --data-urlencode "query=$1"; }
oee_has_all_lines() { [ "$(q 'line:oee:ratio' | jq '.data.result | length')" -ge 3 ]; }
it_check "recorded OEE series for 3 lines appear in tsdb (<= 30 s)" it_until 150 0.2 oee_has_all_lines

curl -fsS -X POST "http://$L:$FACTORY/trouble?line=line2" >/dev/null
echo "e2e: forced line2 into trouble"

line2_low() { [ "$(q 'line:oee:ratio{line="line2"} < 0.6' | jq '.data.result | length')" = 1 ]; }
it_check "line2 OEE falls below 0.6 in tsdb (<= 30 s)" it_until 150 0.2 line2_low

alert_delivered() {
    [ -s "$IT_DIR/hooks.jsonl" ] && jq -e -s 'map(select(.groupLabels.alertname == "LineOEELow"
        and .groupLabels.line == "line2" and .status == "firing")) | length > 0' \
        "$IT_DIR/hooks.jsonl" >/dev/null
}
it_check "webhook sink receives the LineOEELow group for line2 (<= 60 s)" it_until 300 0.2 alert_delivered
if alert_delivered; then
    hook=$(jq -c -s 'map(select(.groupLabels.line == "line2")) | .[0]' "$IT_DIR/hooks.jsonl")
    it_check "payload is webhook v4 with the receiver name" \
        test "$(echo "$hook" | jq -r '.version + "/" + .receiver')" = "4/sink"
    it_check "alert labels carry alertname, line, severity and job" \
        test "$(echo "$hook" | jq -r '.alerts[0].labels | [.alertname, .line, .severity] | join(",")')" = "LineOEELow,line2,page"
    it_check "annotation template expanded" \
        test "$(echo "$hook" | jq -r '.alerts[0].annotations.summary')" = "OEE on line2 is below 60%"
    it_check "healthy lines did not alert" \
        test "$(jq -s 'map(select(.groupLabels.line == "line1" or .groupLabels.line == "line3")) | length' "$IT_DIR/hooks.jsonl")" = 0
fi

# fwtail: any daemon's stream as JSON lines, filtered by type and label
tail_samples=$(timeout 15 "$BIN/fwtail" --type=SAMPLES --label=job=factory --count=1 --timeout=10s \
    tcp://$L:$Z_SCRAPER_PUB || true)
it_check "fwtail shows a scraped SAMPLES batch filtered to job=factory" \
    test "$(echo "$tail_samples" | jq -r '[.type, (.body.series | length > 0),
        ([.body.series[].labels.job] | unique == ["factory"])] | map(tostring) | join(",")' 2>/dev/null)" = "SAMPLES,true,true"
tail_alerts=$(timeout 15 "$BIN/fwtail" --type=ALERTS --count=1 --timeout=10s tcp://$L:$Z_RULED_PUB || true)
it_check "fwtail shows ruled's ALERTS with LineOEELow firing for line2" \
    test "$(echo "$tail_alerts" | jq -r '.body.alerts[] | select(.labels.alertname == "LineOEELow") | .labels.line' 2>/dev/null | head -1)" = line2

oee_rng() { curl -fsS --max-time 5 "http://$L:$TSDB_HTTP/api/v1/query_range" --data-urlencode 'query=line:oee:ratio{line="line1"}' \
    --data-urlencode "start=$(( $(date +%s) - 20 ))" --data-urlencode "end=$(date +%s)" --data-urlencode step=1 |
    jq -e '.status == "success" and .data.resultType == "matrix" and (.data.result[0].values | length) > 3' >/dev/null; }
it_check "query_range returns the recorded OEE series as a matrix" oee_rng
line1_ok() { q 'line:oee:ratio{line="line1"}' | jq -e '(.data.result[0].value[1] | tonumber) > 0.6' >/dev/null; }
it_check "line1 OEE stays healthy (> 0.6)" line1_ok

if command -v promtool >/dev/null; then
    up_targets() { promtool query instant "http://$L:$TSDB_HTTP" up | grep -c 'up{' ; }
    it_check "promtool query instant lists the 3 targets' up series" test "$(up_targets)" -ge 3
else
    echo "e2e: promtool not installed, skipped its check"
fi

if command -v prometheus >/dev/null; then
    cat > "$IT_DIR/peer.yml" <<EOT
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: floorwatch
    static_configs:
      - targets: ["$L:$TSDB_HTTP", "$L:$ALERTD_HTTP", "$L:$SCRAPER_HTTP", "$L:$RULED_HTTP",
                  "$L:$SLOD_HTTP", "$L:$NOTIFYD_HTTP", "$L:$FACTORY"]
EOT
    it_start prometheus prometheus --config.file="$IT_DIR/peer.yml" --storage.tsdb.path="$IT_DIR/prom" \
        --web.listen-address=$L:$PROM
    all_up() { curl -fsS "http://$L:$PROM/api/v1/targets" |
        jq -e '[.data.activeTargets[] | select(.health == "up" and .lastError == "")] | length == 7' >/dev/null; }
    if it_until 150 0.2 all_up; then it_pass "real Prometheus scrapes all 7 /metrics endpoints without errors"
    else it_fail "real Prometheus scrapes all 7 /metrics endpoints without errors"
        curl -fsS "http://$L:$PROM/api/v1/targets" | jq -c '.data.activeTargets[] | {scrapeUrl, health, lastError}'
    fi
else
    echo "e2e: prometheus not installed, skipped the peer scrape check"
fi

# SIGTERM: every daemon exits 0 and promptly
for d in scraper ruled slod alertd notifyd tsdb; do
    eval "pid=\$PID_$d"
    it_term "$pid"
    it_check "$d exits 0 on SIGTERM (rc=$IT_RC)" test "$IT_RC" = 0
done
it_finish
