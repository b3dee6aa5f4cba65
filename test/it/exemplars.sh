#!/usr/bin/env bash
# exemplars.sh — OpenMetrics exemplars end to end: scraper -> EXEMPLARS -> tsdb's ring ->
# /api/v1/query_exemplars, compared with the real Debian prometheus (started with
# --enable-feature=exemplar-storage) scraping the same target with the same prometheus.yml.
#
# The target is test/it/serve_metrics.py answering OpenMetrics with
# exemplars on two histogram buckets and a counter, each with its own timestamp, and one
# counter whose exemplar has none (it takes the scrape's time, so each scrape adds one;
# left out of the comparison, checked on its own). Prometheus 2.42 refuses exemplars on other
# samples than _total/_bucket (allowed since 2.43), so the target has none there.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb
it_need_cmds curl jq python3
it_tmpdir
L=127.0.0.1

NOW=$(date +%s)
T1=$((NOW - 10)) T2=$((NOW - 5)) T3=$((NOW - 3))
cat > "$IT_DIR/metrics.om" <<OM
# TYPE rq_seconds histogram
# HELP rq_seconds Request latency.
rq_seconds_bucket{path="/a",le="0.1"} 1 # {trace_id="aaa111"} 0.05 $T1
rq_seconds_bucket{path="/a",le="0.5"} 3 # {trace_id="4bf92f3577b34da6",span_id="00f067aa"} 0.25 $T2.5
rq_seconds_bucket{path="/a",le="+Inf"} 4
rq_seconds_count{path="/a"} 4
rq_seconds_sum{path="/a"} 10.25
# TYPE jobs counter
jobs_total{queue="x"} 7 # {trace_id="ccc333"} 1e3 $T3.25
# TYPE nots counter
nots_total 1 # {trace_id="ddd444"} 2
# EOF
OM

SRV=$(it_free_port) SCR=$(it_free_port) TSDB=$(it_free_port) PROM=$(it_free_port)
ZS=$(it_free_port) ZQ=$(it_free_port) ZP=$(it_free_port) ZSP=$(it_free_port)
it_start target python3 test/it/serve_metrics.py "$SRV" /metrics="$IT_DIR/metrics.om"
cat > "$IT_DIR/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
storage:
  exemplars:
    max_exemplars: 1000
scrape_configs:
  - job_name: om
    static_configs: [{targets: ["$L:$SRV"]}]
YML
it_start tsdb "$BIN/tsdb" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=$L:$TSDB --storage.tsdb.path="$IT_DIR/tsdb" \
    --storage.tsdb.map-size=256MiB --zmq.samples-address=tcp://$L:$ZS \
    --zmq.query-address=tcp://$L:$ZQ --zmq.pub-address=tcp://$L:$ZP
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=$L:$SCR --zmq.tsdb-address=tcp://$L:$ZS --zmq.pub-address=tcp://$L:$ZSP
it_wait_http "http://$L:$TSDB/-/ready"
it_wait_http "http://$L:$SRV/metrics"

FW="http://$L:$TSDB/api/v1/query_exemplars"
ex() { curl -fsS "$1" --data-urlencode "query=$2" --data-urlencode "start=$3" \
    --data-urlencode "end=$4"; }
have_all() { ex "$FW" '{job="om"}' $((NOW - 60)) $((NOW + 600)) |
    jq -e '[.data[].exemplars[]] | length >= 4' >/dev/null; }
it_check "tsdb serves the scraped exemplars" it_until 100 0.1 have_all

got=$(ex "$FW" '{job="om"}' $((NOW - 60)) $((NOW + 600)))
pick() { jq -c --arg n "$1" --arg le "${2:-}" \
    '[.data[] | select(.seriesLabels.__name__ == $n and ($le == "" or .seriesLabels.le == $le))]'; }
it_check "histogram bucket le=0.5: series labels, exemplar labels, value and timestamp" \
    [ "$(pick rq_seconds_bucket 0.5 <<<"$got")" = \
      "[{\"seriesLabels\":{\"__name__\":\"rq_seconds_bucket\",\"instance\":\"$L:$SRV\",\"job\":\"om\",\"le\":\"0.5\",\"path\":\"/a\"},\"exemplars\":[{\"labels\":{\"span_id\":\"00f067aa\",\"trace_id\":\"4bf92f3577b34da6\"},\"value\":\"0.25\",\"timestamp\":$T2.5}]}]" ]
it_check "counter: value 1e3 as \"1000\", timestamp with milliseconds" \
    [ "$(pick jobs_total <<<"$got")" = \
      "[{\"seriesLabels\":{\"__name__\":\"jobs_total\",\"instance\":\"$L:$SRV\",\"job\":\"om\",\"queue\":\"x\"},\"exemplars\":[{\"labels\":{\"trace_id\":\"ccc333\"},\"value\":\"1000\",\"timestamp\":$T3.25}]}]" ]
it_check "the raw answer writes .500 milliseconds as Prometheus's MarshalTimestamp" \
    grep -q "\"timestamp\":$T2.500}" <<<"$got"
it_check "an exemplar scraped again (same timestamp) is kept once" \
    [ "$(pick rq_seconds_bucket 0.1 <<<"$got" | jq '.[0].exemplars | length')" = 1 ]
nots_ok() { ex "$FW" nots_total $((NOW - 60)) $((NOW + 600)) | jq -e --argjson now "$NOW" \
    '[.data[0].exemplars[].timestamp] | length >= 2 and all(. >= $now - 1 and . < $now + 600)' \
    >/dev/null; }
it_check "an exemplar without timestamp takes each scrape's time" it_until 50 0.1 nots_ok
it_check "selectors pick series: two selectors of one query, others left out" \
    [ "$(ex "$FW" 'rq_seconds_bucket{le="0.1"} + on() jobs_total' 0 $((NOW + 600)) |
        jq -c '[.data[].seriesLabels.__name__]')" = '["jobs_total","rq_seconds_bucket"]' ]
it_check "a time range before the exemplars gives []" \
    [ "$(ex "$FW" '{job="om"}' 1 $((NOW - 100)) | jq -c .data)" = '[]' ]
it_check "a query without selectors is 204 No Content, as Prometheus answers it" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$FW?query=1%2B1")" = 204 ]
code=$(curl -s -o "$IT_DIR/bad.json" -w '%{http_code}' "$FW?query=up&start=100&end=50")
it_check "end before start is 400 bad_data with Prometheus's text" \
    [ "$code $(jq -r '.errorType + ": " + .error' "$IT_DIR/bad.json")" = \
      "400 bad_data: end timestamp must not be before start timestamp" ]

if command -v prometheus >/dev/null; then
    it_start prometheus prometheus --config.file="$IT_DIR/prometheus.yml" \
        --storage.tsdb.path="$IT_DIR/prom" --web.listen-address=$L:$PROM \
        --enable-feature=exemplar-storage
    it_wait_http "http://$L:$PROM/-/ready" 200
    PR="http://$L:$PROM/api/v1/query_exemplars"
    prom_has() { ex "$PR" '{job="om"}' $((NOW - 60)) $((NOW + 600)) |
        jq -e '[.data[].exemplars[]] | length >= 4' >/dev/null; }
    it_check "prometheus has the exemplars too" it_until 150 0.2 prom_has
    # The same queries against both; nots_total (scrape-time exemplars) aside.
    norm='.data | if . == null then null else
        map(select(.seriesLabels.__name__ != "nots_total")) | sort_by(.seriesLabels | tostring)
        end'
    for q in '{job="om"}' 'rq_seconds_bucket' 'jobs_total{queue="x"}' \
        'rate(rq_seconds_bucket[5m])'; do
        a=$(ex "$FW" "$q" $((NOW - 60)) $((NOW + 600)) | jq -cS "$norm")
        b=$(ex "$PR" "$q" $((NOW - 60)) $((NOW + 600)) | jq -cS "$norm")
        if [ "$a" = "$b" ]; then it_pass "same exemplars as prometheus for $q"
        else it_fail "same exemplars as prometheus for $q"; echo "  tsdb: $a"; echo "  prom: $b"; fi
    done
    a=$(curl -s "$FW?query=up&start=100&end=50" | jq -cS .)
    b=$(curl -s "$PR?query=up&start=100&end=50" | jq -cS .)
    it_check "same error as prometheus for end before start" [ "$a" = "$b" ]
else
    echo "exemplars.sh: prometheus is not installed: the comparison with it is skipped"
fi

it_term "$PID_scraper"
it_check "scraper exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
