#!/usr/bin/env bash
# scrape_timestamps.sh — honor_timestamps and track_timestamps_staleness as Prometheus has
# them, seen in what tsdb stores.
#
# One target (serve_metrics.py, text 0.0.4) serves a body with a sample that carries its own
# timestamp (ts_metric, T0 = the script's start), one 10 minutes older (old_metric) and one
# without (plain_metric); then a body without any of them (keep_metric only, the target
# stays up). Three jobs scrape it every second into a real tsdb: track
# (track_timestamps_staleness: true), notrack (the default, false) and honor_off
# (honor_timestamps: false). Asserted through tsdb's query API once the second body was
# scraped twice: plain_metric went stale in every job (the control: staleness works in
# each); ts_metric went stale under track and honor_off but not under notrack (Prometheus
# gives a sample with an explicit timestamp no staleness marker unless
# track_timestamps_staleness; its value is still there at T0 within the 5 min lookback);
# old_metric is stored at its exposed time by notrack and at the scrape times (after T0,
# one a scrape) by honor_off. Every wait is bounded in tries.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins scraper tsdb
it_need_cmds python3 jq curl
it_tmpdir

T0=$(date +%s%3N) # ms
TOLD=$((T0 - 600000))
printf 'ts_metric 1 %s\nold_metric 7 %s\nplain_metric 1\nkeep_metric 1\n' "$T0" "$TOLD" > "$IT_DIR/body.txt"
SRV=$(it_free_port) WEB=$(it_free_port)
it_start target python3 test/it/serve_metrics.py "$SRV" \
    "/metrics=$IT_DIR/body.txt@text/plain; version=0.0.4"
it_wait_http "http://127.0.0.1:$SRV/metrics" || it_die "target did not come up"
it_start_tsdb_and_alertd
cat > "$IT_DIR/prometheus.yml" <<YML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - {job_name: track, track_timestamps_staleness: true, static_configs: [{targets: ["127.0.0.1:$SRV"]}]}
  - {job_name: notrack, static_configs: [{targets: ["127.0.0.1:$SRV"]}]}
  - {job_name: honor_off, honor_timestamps: false, static_configs: [{targets: ["127.0.0.1:$SRV"]}]}
YML
it_start_scraper "$IT_DIR/prometheus.yml" "$WEB" "$T_SAMPLES" || it_die "scraper did not come up"

Q="http://127.0.0.1:$T_HTTP/api/v1/query"
# q EXPR: tsdb's instant query result (JSON array) at now
q() { curl -fsS --max-time 10 "$Q" --data-urlencode "query=$1" | jq -c '.data.result'; }
# n EXPR: the value of the query's first series, 0 when there is none
n() { curl -fsS --max-time 10 "$Q" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "0"'; }
ge() { [ "$(n "$1" | cut -d. -f1)" -ge "$2" ]; }
scraped() { local j; for j in track notrack honor_off; do ge "count_over_time($1{job=\"$j\"}[1m])" "$2" || return 1; done; }
it_check "each job stored ts_metric, old_metric and plain_metric over 3 scrapes" \
    it_until 150 0.2 scraped plain_metric 3

# The second body: the three series are gone, keep_metric stays.
printf 'keep_metric 1\n' > "$IT_DIR/body.new"; mv "$IT_DIR/body.new" "$IT_DIR/body.txt"
k0=$(n 'count_over_time(keep_metric{job="honor_off"}[1m])' | cut -d. -f1)
gone() { local j; for j in track notrack honor_off; do ge "count_over_time(keep_metric{job=\"$j\"}[1m])" $((k0 + 3)) || return 1; done; }
it_check "each job scraped the second body at least twice" it_until 150 0.2 gone
absent() { [ "$(q "$1")" = "[]" ]; }
present() { [ "$(q "$1")" != "[]" ]; }
for j in track notrack honor_off; do
    it_check "$j: plain_metric (no timestamp) is stale once gone" absent "plain_metric{job=\"$j\"}"
done
it_check "track: ts_metric (own timestamp) is stale once gone (track_timestamps_staleness: true)" \
    absent 'ts_metric{job="track"}'
it_check "track: its sample at T0 is in the range before the marker" \
    [ "$(curl -fsS "$Q" --data-urlencode 'query=ts_metric{job="track"}[5m]' | jq -r '[.data.result[0].values[][0]] | unique | map(. * 1000 | round) | join(",")')" = "$T0" ]
it_check "notrack: ts_metric (own timestamp) gets no staleness marker: still 1 at now" \
    [ "$(n 'ts_metric{job="notrack"}')" = 1 ]
it_check "notrack: ...its one sample at T0" \
    [ "$(n 'timestamp(ts_metric{job="notrack"}) * 1000')" = "$T0" ]
it_check "honor_off: ts_metric is stale once gone (stored at scrape times, so tracked)" \
    absent 'ts_metric{job="honor_off"}'
# old_metric, exposed 10 minutes back
times() {
    curl -fsS --max-time 10 "$Q" --data-urlencode "query=old_metric{job=\"$1\"}[15m]" |
        jq -r '[.data.result[0].values[][0] | . * 1000 | round] | unique | map(tostring) | join(" ")'
}
it_check "notrack (honor_timestamps: true): old_metric stored at its exposed time only" \
    [ "$(times notrack)" = "$TOLD" ]
hoff=$(times honor_off)
echo "    honor_off old_metric timestamps (ms): $hoff (T0 $T0)"
after_t0() { local t c=0; for t in $hoff; do [ "$t" -ge "$T0" ] || return 1; c=$((c + 1)); done; [ "$c" -ge 3 ]; }
it_check "honor_timestamps: false: old_metric stored at each scrape's time (>= 3, all after T0)" after_t0
it_term "$PID_scraper"
it_check "scraper SIGTERM exits 0" [ "$IT_RC" = 0 ]
it_finish
