#!/usr/bin/env bash
# remote_write_late.sh — samples tsdb stores after its remote_write queue has read past their
# timestamps still reach the receiver (the real Debian prometheus, started with
# --web.enable-remote-write-receiver and a 1 h out-of-order window), also across a SIGKILL.
#
# tsdb (out-of-order window 1 h) remote-writes to the receiver with two shards; fwpush
# stores samples (acknowledged after the commit that holds them). A queue reads windows of
# time ending 10 s behind now, so without tsdb's late-sample records none of these would
# ever be sent:
#   1. series rw_late_x at T, T+1 s, T+2 s (T = now): sent by the windows (waited for);
#   2. then, late: rw_late_x at T-30 s and T-20 s (before its open chunk: the late list,
#      merged by the commit), at T+0.5 s (into the open chunk), and a backfill of a new
#      series rw_late_new, 60 samples from 5 minutes ago; the receiver must get them all;
#   3. the receiver is SIGKILLed, more late samples are stored (rw_late_x at T-40 s, a new
#      series rw_late_kill of 30 samples from 4 minutes ago), tsdb is SIGKILLed before it
#      could send them, then both restart: the receiver must get them.
# At the end every sample of the rw_late_* series is the same at both ends, and
# fw_tsdb_remote_storage_late_samples_total counts the late ones sent.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb fwpush
it_need_cmds python3 jq curl prometheus
it_tmpdir

PROM=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
PROM_URL="http://127.0.0.1:$PROM"
FW_URL="http://127.0.0.1:$T_HTTP"

cat > "$IT_DIR/receiver.yml" <<YML
global: {}
storage:
  tsdb: {out_of_order_time_window: 1h}
YML
cat > "$IT_DIR/prometheus.yml" <<YML
global: {}
storage:
  tsdb: {out_of_order_time_window: 1h}
remote_write:
  - url: http://127.0.0.1:$PROM/api/v1/write
    name: receiver
    queue_config: {min_shards: 2, max_shards: 2, max_samples_per_send: 20,
                   batch_send_deadline: 1s, min_backoff: 100ms, max_backoff: 1s}
YML

start_receiver() {
    it_start prometheus prometheus --config.file="$IT_DIR/receiver.yml" \
        --storage.tsdb.path="$IT_DIR/prom" --web.listen-address="127.0.0.1:$PROM" \
        --web.enable-remote-write-receiver
    it_wait_http "$PROM_URL/-/ready" 300
}
start_tsdb() {
    it_start tsdb "$BIN/tsdb" --config.file="$IT_DIR/prometheus.yml" \
        --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
        --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" \
        --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
        --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=64MiB \
        --scraper.url= --ruled.url=
    it_wait_http "$FW_URL/-/ready" 150
}
fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
# push LINES...: each "name t_ms value", stored by tsdb (fwpush waits for the acknowledgement)
push() {
    printf '%s\n' "$@" | awk '{printf "%s{job=\"late\"} %s %s\n", $1, $3, $2}' |
        "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$T_SAMPLES" --timeout=10s
}
# backfill NAME FROM_MS N: N samples a second apart, values 0..N-1
backfill() {
    python3 -c "import sys
for k in range(int(sys.argv[3])):
    print('%s{job=\"late\"} %d %d' % (sys.argv[1], k, int(sys.argv[2]) + 1000 * k))" "$@" |
        "$BIN/fwpush" --endpoint="tcp://127.0.0.1:$T_SAMPLES" --timeout=10s
}
# count URL SELECTOR: the samples of SELECTOR over the last 10 minutes
count() {
    curl -fsS "$1/api/v1/query" --data-urlencode "query=count_over_time($2[10m])" \
        --data-urlencode "time=$(date +%s)" | jq -r '.data.result[0].value[1] // 0'
}
has() { [ "$(count "$PROM_URL" "$1")" = "$2" ]; }

start_receiver
start_tsdb
T=$(( $(date +%s) * 1000 ))

# 1. in order: the windows send them once they are 10 s old
it_check "fwpush: 3 samples in order" push "rw_late_x $T 1" "rw_late_x $((T + 1000)) 2" \
    "rw_late_x $((T + 2000)) 3"
it_check "the receiver got them from the windows (bounded: 40 s)" it_until 200 0.2 has rw_late_x 3
before=$(fw_metric 'fw_tsdb_remote_storage_late_samples_total{remote_name="receiver"}')
it_check "no late sample sent yet ($before)" [ "$before" = 0 ]

# 2. late: the queue has read past all of these
it_check "fwpush: 3 late samples of rw_late_x" push "rw_late_x $((T - 30000)) 4" \
    "rw_late_x $((T - 20000)) 5" "rw_late_x $((T + 500)) 6"
it_check "fwpush: a backfill of 60 samples of a new series" \
    backfill rw_late_new $((T - 300000)) 60
stored_all() { [ "$(count "$FW_URL" rw_late_x)" = 6 ] && [ "$(count "$FW_URL" rw_late_new)" = 60 ]; }
it_check "tsdb stored them (6 and 60)" stored_all
it_check "the receiver got the late samples of rw_late_x (bounded: 30 s)" \
    it_until 150 0.2 has rw_late_x 6
it_check "the receiver got the backfill (bounded: 30 s)" it_until 150 0.2 has rw_late_new 60
late_sent() { [ "$(fw_metric 'fw_tsdb_remote_storage_late_samples_total{remote_name="receiver"}')" -ge "$1" ] 2>/dev/null; }
it_check "tsdb counted at least 63 late samples sent" it_until 50 0.2 late_sent 63

# 3. stored, then tsdb dies before it can send them (the receiver is down)
kill -9 "$PID_prometheus"
wait "$PID_prometheus" 2>/dev/null || true
it_check "fwpush: a late sample of rw_late_x while the receiver is down" \
    push "rw_late_x $((T - 40000)) 7"
it_check "fwpush: a backfill of 30 samples of rw_late_kill" backfill rw_late_kill $((T - 240000)) 30
kill -9 "$PID_tsdb"
wait "$PID_tsdb" 2>/dev/null || true
start_receiver
not_yet() { [ "$(count "$PROM_URL" rw_late_x)" = 6 ] && [ "$(count "$PROM_URL" rw_late_kill)" = 0 ]; }
it_check "the receiver did not get them before tsdb died" not_yet
start_tsdb
it_check "tsdb logged its resume" grep -q 'event=remote_write.resume' "$IT_DIR/tsdb.log"
it_check "after the restart the receiver got rw_late_x's (bounded: 40 s)" \
    it_until 200 0.2 has rw_late_x 7
it_check "after the restart the receiver got rw_late_kill (bounded: 40 s)" \
    it_until 200 0.2 has rw_late_kill 30

# every sample the same at both ends
raw() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query={__name__=~"rw_late_.*"}[10m]' \
        --data-urlencode "time=$(( T / 1000 + 5 ))" | jq -S -c '.data.result[] | {metric, values}' |
        sort
}
raw "$FW_URL" > "$IT_DIR/fw.txt"
raw "$PROM_URL" > "$IT_DIR/prom.txt"
it_check "every rw_late_* sample is the same at both ends ($(wc -l < "$IT_DIR/prom.txt") series)" \
    cmp -s "$IT_DIR/fw.txt" "$IT_DIR/prom.txt"
if ! cmp -s "$IT_DIR/fw.txt" "$IT_DIR/prom.txt"; then
    diff "$IT_DIR/fw.txt" "$IT_DIR/prom.txt" | head -n 6 || true
fi
it_check "3 series compared" [ "$(wc -l < "$IT_DIR/prom.txt")" = 3 ]

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
