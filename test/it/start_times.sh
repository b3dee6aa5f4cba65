#!/usr/bin/env bash
# start_times.sh — Prometheus 3's start timestamps, end to end: fwpush sends samples with
# start times (st@ms, SAMPLES v4), tsdb stores them (chunk encoding 4, WAL version 2) and
# answers with them, before and after a SIGKILL (the log replayed).
#
# Data (upstream's start_timestamps.test, "counter resets before the first sample"): a
# counter at t0+2m = 5 started at t0+1m, at t0+3m = 5 started at t0+2m59s (a restart the
# value alone does not show), at t0+4m = 2 (a reset). Asserts: increase(c_total[5m]) at
# t0+5m is 16 as Prometheus 3 with use-start-timestamps gives it (a zero at the first
# sample's start instead of the extrapolation, and both resets); without start times it
# would be 3.5. irate at t0+3m sees the start-time reset (5/60 s); resets() counts 2;
# start_timestamp() returns each sample's start (0 where none); a subquery cuts them; a
# series whose starts overlap its previous sample gets Prometheus's warning; the same
# answers after tsdb is killed and restarted.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb fwpush
it_need_cmds curl jq
it_tmpdir

T_HTTP=$(it_free_port)
T_SAMPLES=$(it_free_port)
start_tsdb() {
    it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" \
        --storage.tsdb.path="$IT_DIR/tsdb" --storage.tsdb.map-size=64MiB \
        --storage.tsdb.commit-interval=10ms \
        --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" \
        --zmq.query-address="tcp://127.0.0.1:$(it_free_port)" \
        --zmq.pub-address="tcp://127.0.0.1:$(it_free_port)" --scraper.url= --ruled.url=
    it_wait_http "http://127.0.0.1:$T_HTTP/-/ready" || it_die "tsdb did not come up"
}
start_tsdb

now=$(date +%s)
t0=$(((now - 600) / 60 * 60)) # seconds, a whole minute, 10 minutes ago
ms() { echo $(((t0 + $1) * 1000 + ${2:-0})); }
{
    echo "c_total{k=\"a\"} 5 $(ms 120) st@$(ms 60)"
    echo "c_total{k=\"a\"} 5 $(ms 180) st@$(ms 179)"
    echo "c_total{k=\"a\"} 2 $(ms 240)"
    # a cumulative counter whose start moves back before its previous sample: overlap
    echo "o_total 60 $(ms 120) st@$(ms 0)"
    echo "o_total 120 $(ms 180) st@$(ms 0)"
    echo "o_total 180 $(ms 240) st@$(ms -60)"
} | "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$T_SAMPLES" --timeout=10s >/dev/null ||
    it_die "fwpush failed"

# value of the single element of an instant query at t0+$2 s
q() {
    curl -fsS "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1" \
        -d time=$((t0 + $2)) | jq -r '[.data.result[].value[1]] | join(",")'
}
warnings() {
    curl -fsS "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1" \
        -d time=$((t0 + $2)) | jq -r '(.warnings // []) | join(";")'
}
check_all() {
    local when=$1
    it_check "$when: increase with start times is 16 (got $(q 'increase(c_total[5m])' 300))" \
        test "$(q 'increase(c_total[5m])' 300)" = 16
    it_check "$when: irate sees the start-time reset" \
        test "$(q 'irate(c_total[5m])' 180)" = 0.08333333333333333
    it_check "$when: resets counts both" test "$(q 'resets(c_total[5m])' 300)" = 2
    it_check "$when: start_timestamp of each sample" \
        test "$(q 'start_timestamp(c_total)' 120),$(q 'start_timestamp(c_total)' 180),$(q 'start_timestamp(c_total)' 240)" \
        = "$((t0 + 60)),$((t0 + 179)),0"
    it_check "$when: start_timestamp of an expression is empty" \
        test -z "$(q 'start_timestamp(c_total * 1)' 180)"
    it_check "$when: a subquery cuts start times" \
        test "$(q 'resets(c_total[5m:1m])' 300)" = 1
    it_check "$when: overlapping starts warn" \
        test "$(warnings 'rate(o_total[3m])' 240)" = \
        'PromQL warning: sample has start time that overlaps with previous sample timestamp for metric "o_total" (1:6)'
    it_check "$when: no warning without overlap" test -z "$(warnings 'rate(c_total[3m])' 240)"
}
check_all "stored"
kill -9 "$PID_tsdb"
wait "$PID_tsdb" 2>/dev/null || true
IT_PIDS=()
start_tsdb
check_all "after SIGKILL"
it_finish
