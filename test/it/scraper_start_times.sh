#!/usr/bin/env bash
# scraper_start_times.sh — OpenMetrics `_created` lines become start times, end to end:
# target -> scraper (SAMPLES v4) -> tsdb -> PromQL start_timestamp(), as Prometheus 3 does
# when it keeps start timestamps (st-storage or created-timestamp-zero-ingestion: its
# OpenMetrics parser then reads `<family>_created` of counters, summaries and histograms as
# the start timestamp of that series' samples and stores no `_created` series). floorwatch
# stores start times always (tsdb(8)), so the scraper always reads them so.
#
# The target (test/it/serve_metrics.py) serves a counter, a histogram and a summary with
# `_created` lines, a counter without one and a gauge named like one. Asserts, through tsdb's
# /api/v1/query: start_timestamp() of each series is its `_created` value (milliseconds
# kept); the bucket, count and sum series of the histogram and the quantile of the summary
# share their series' start; the counter without `_created` has none (0); no `_created`
# series is stored for the three families, the gauge's is; scrape_samples_scraped counts no
# `_created` line; when the target restarts (a new `_created`, the counter lower), the new
# start time is stored and resets() counts the restart; after a tsdb restart (series refs
# forgotten) the next one is stored too. The real prometheus of Debian (2.42)
# predates created timestamps, so there is no side-by-side comparison.
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

# body C1 C2 JOBS: the exposition with _created values C1 (counter, histogram) and C2
# (summary), seconds, and the counter at JOBS
body() {
    cat <<OM
# TYPE jobs counter
# HELP jobs Jobs done.
jobs_total{queue="x"} $3
jobs_created{queue="x"} $1
# TYPE plain counter
plain_total 3
# TYPE rq_seconds histogram
rq_seconds_bucket{path="/a",le="0.5"} 3
rq_seconds_bucket{path="/a",le="+Inf"} 4
rq_seconds_count{path="/a"} 4
rq_seconds_sum{path="/a"} 10.25
rq_seconds_created{path="/a"} $1
# TYPE lat summary
lat{quantile="0.9"} 0.5
lat_count 9
lat_sum 2.5
lat_created $2
# TYPE temp gauge
temp_created 21
# EOF
OM
}
body 1700000000.25 1600000000 7 > "$IT_DIR/metrics.om"

SRV=$(it_free_port) SCR=$(it_free_port) TSDB=$(it_free_port)
ZS=$(it_free_port) ZQ=$(it_free_port) ZP=$(it_free_port) ZSP=$(it_free_port)
it_start target python3 test/it/serve_metrics.py "$SRV" /metrics="$IT_DIR/metrics.om"
cat > "$IT_DIR/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: om
    static_configs: [{targets: ["$L:$SRV"]}]
YML
start_tsdb() {
    it_start tsdb "$BIN/tsdb" --web.listen-address=$L:$TSDB --storage.tsdb.path="$IT_DIR/tsdb" \
        --storage.tsdb.map-size=64MiB --storage.tsdb.commit-interval=10ms \
        --zmq.samples-address=tcp://$L:$ZS --zmq.query-address=tcp://$L:$ZQ \
        --zmq.pub-address=tcp://$L:$ZP --scraper.url= --ruled.url=
}
start_tsdb
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=$L:$SCR --zmq.tsdb-address=tcp://$L:$ZS --zmq.pub-address=tcp://$L:$ZSP
it_wait_http "http://$L:$TSDB/-/ready" || it_die "tsdb did not come up"
it_wait_http "http://$L:$SRV/metrics" || it_die "the target did not come up"

# the values of an instant query now, sorted, comma-separated
q() {
    curl -fsS "http://$L:$TSDB/api/v1/query" --data-urlencode "query=$1" |
        jq -r '[.data.result[].value[1]] | sort | join(",")'
}
names() {
    curl -fsS "http://$L:$TSDB/api/v1/label/__name__/values" | jq -r '.data | join(" ")'
}
st_is() { [ "$(q "start_timestamp($1)")" = "$2" ]; }
it_check "the counter's start time is its _created (ms kept)" \
    it_until 100 0.1 st_is 'jobs_total{job="om"}' 1700000000.25
# one series a query: start_timestamp() drops the name, as Prometheus's
sts() { local m out=""; for m in "$@"; do out+="$(q "start_timestamp($m)") "; done; echo "$out"; }
it_check "every histogram series starts at the histogram's _created" \
    test "$(sts 'rq_seconds_bucket{le="0.5"}' 'rq_seconds_bucket{le="+Inf"}' rq_seconds_count \
        rq_seconds_sum)" = "1700000000.25 1700000000.25 1700000000.25 1700000000.25 "
it_check "the summary's quantile, count and sum start at its _created" \
    test "$(sts lat lat_count lat_sum)" = "1600000000 1600000000 1600000000 "
it_check "a counter without _created has no start time" st_is 'plain_total{job="om"}' 0
it_check "no _created series of a counter, histogram or summary is stored" \
    test -z "$(q '{__name__=~"jobs_created|rq_seconds_created|lat_created"}')"
it_check "a gauge's sample named _created is a sample" test "$(q 'temp_created')" = 21
it_check "scrape_samples_scraped counts no _created line" \
    test "$(q 'scrape_samples_scraped{job="om"}')" = 10
it_check "the values are stored as before" test "$(q 'jobs_total')" = 7

# the target restarts: a later _created, the counter back to 2
body 1700000100.5 1600000000 2 > "$IT_DIR/metrics.om.new"
mv "$IT_DIR/metrics.om.new" "$IT_DIR/metrics.om"
it_check "the new start time is stored" it_until 100 0.1 st_is 'jobs_total{job="om"}' 1700000100.5
it_check "resets() counts the restart" test "$(q 'resets(jobs_total[1m])')" = 1
if it_lacks -w jobs_created names; then it_pass "label values list no jobs_created"; else
    it_fail "label values list jobs_created: $(names)"; fi

# tsdb restarts and forgets the scraper's series refs: the scraper defines them again in
# its v4 parts (the sender learnt them from v4 as from v3), and the next start is stored
it_term "$PID_tsdb"
start_tsdb
it_wait_http "http://$L:$TSDB/-/ready" || it_die "tsdb did not come back"
body 1700000200.75 1600000000 1 > "$IT_DIR/metrics.om.new"
mv "$IT_DIR/metrics.om.new" "$IT_DIR/metrics.om"
it_check "after a tsdb restart the next start time is stored" \
    it_until 150 0.1 st_is 'jobs_total{job="om"}' 1700000200.75
it_check "and the value with it" test "$(q 'jobs_total')" = 1
it_check "tsdb asked for the refs again (so v4 parts were re-defined)" test "$(curl -fsS \
    "http://$L:$SCR/metrics" | awk '/^fw_sender_refs_resets_total/ {print ($2 >= 1)}')" = 1
it_check "the scraper's sender lost no samples" test "$(curl -fsS "http://$L:$SCR/metrics" |
    awk '/^fw_sender_dropped_samples_total/ {print $2}')" = 0

it_term "$PID_scraper"
it_check "SIGTERM exits 0" [ "$IT_RC" = 0 ]
it_finish
