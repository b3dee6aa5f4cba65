#!/usr/bin/env bash
# remote_write_out.sh — tsdb's remote_write sends what it stores to the real Debian
# prometheus started with --web.enable-remote-write-receiver, and loses nothing when the
# receiver is killed and restarted mid-stream, nor when tsdb itself is.
#
# floorwatch's scraper scrapes factorysim every second into tsdb; tsdb's prometheus.yml has
# `remote_write` to the receiver (basic_auth and a header, which the receiver ignores,
# write_relabel_configs dropping one family and external_labels adding a label, two
# shards, 50 samples per request, 1 s deadline and backoffs up to 1 s). While it runs the
# receiver is SIGKILLed and restarted after 6 s (tsdb retries, counts retries), then tsdb
# is SIGKILLed and restarted (it resumes from its position file and the store). At the end
# every raw sample of job factorysim up to a cut-off (`{job="factorysim"}[5m]` at the
# cut-off through both APIs) must be the same in both, less the dropped family, each with
# the external label at the receiver.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb scraper factorysim
it_need_cmds python3 jq curl prometheus
it_tmpdir

FS=$(it_free_port); PROM=$(it_free_port); WEB=$(it_free_port); S_PUB=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
PROM_URL="http://127.0.0.1:$PROM"
FW_URL="http://127.0.0.1:$T_HTTP"

cat > "$IT_DIR/receiver.yml" <<YML
global: {}
YML
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  external_labels: {cluster: plant1}
scrape_configs:
  - job_name: factorysim
    static_configs: [{targets: ["127.0.0.1:$FS"]}]
remote_write:
  - url: http://127.0.0.1:$PROM/api/v1/write
    name: receiver
    headers: {X-Scope-OrgID: plant1}
    basic_auth: {username: fw, password: secret}
    write_relabel_configs:
      - {source_labels: [__name__], regex: "scrape_samples_scraped", action: drop}
    queue_config: {min_shards: 2, max_samples_per_send: 50, batch_send_deadline: 1s,
                   min_backoff: 100ms, max_backoff: 1s}
YML
out=$("$BIN/tsdb" --check-config --config.file="$IT_DIR/prometheus.yml" 2>&1) || true
it_check "tsdb --check-config accepts the remote_write section" [ "$out" = "configuration OK" ]

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
        --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=256MiB
    it_wait_http "$FW_URL/-/ready" 150
}
fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
sent() { fw_metric 'fw_tsdb_remote_storage_samples_total{remote_name="receiver"}'; }

it_start factorysim "$BIN/factorysim" --web.listen-address="127.0.0.1:$FS"
it_wait_http "http://127.0.0.1:$FS/metrics" 150
start_receiver
start_tsdb
it_start scraper "$BIN/scraper" --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address="127.0.0.1:$WEB" --zmq.tsdb-address="tcp://127.0.0.1:$T_SAMPLES" \
    --zmq.pub-address="tcp://127.0.0.1:$S_PUB"
it_wait_http "http://127.0.0.1:$WEB/-/ready" 150
start=$(date +%s)

sent_some() { [ "$(sent)" -gt 0 ] 2>/dev/null; }
it_check "tsdb sends to the receiver (bounded: 30 s)" it_until 150 0.2 sent_some

# The receiver dies mid-stream and comes back 6 s later.
kill -9 "$PID_prometheus"
wait "$PID_prometheus" 2>/dev/null || true
sleep 6
retried() { [ "$(fw_metric 'fw_tsdb_remote_storage_samples_retried_total{remote_name="receiver"}')" -gt 0 ] 2>/dev/null; }
it_check "tsdb retries while the receiver is down" it_until 50 0.2 retried
start_receiver

# tsdb dies mid-stream and comes back: it resumes from its position file and the store.
sleep 4
kill -9 "$PID_tsdb"
wait "$PID_tsdb" 2>/dev/null || true
it_check "tsdb kept its position on disk" [ -s "$IT_DIR/tsdb/remote_write/receiver.pos" ]
sleep 2
start_tsdb
sleep 4
it_term "$PID_scraper"

# Everything scraped up to the cut-off, at both ends.
cut=$(($(date +%s) - 2))
raw() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query={job="factorysim"}[5m]' \
        --data-urlencode "time=$cut" | jq -S -c '.data.result[] | {metric, values}'
}
same() {
    raw "$FW_URL" | jq -S -c 'select(.metric.__name__ != "scrape_samples_scraped") |
        .metric.cluster = "plant1"' | sort > "$IT_DIR/fw.txt"
    raw "$PROM_URL" | sort > "$IT_DIR/prom.txt"
    cmp -s "$IT_DIR/fw.txt" "$IT_DIR/prom.txt"
}
it_check "the receiver holds every sample tsdb stored (bounded: 60 s)" it_until 120 0.5 same
if ! cmp -s "$IT_DIR/fw.txt" "$IT_DIR/prom.txt"; then
    diff "$IT_DIR/fw.txt" "$IT_DIR/prom.txt" | head -n 6 || true
fi
n=$(wc -l < "$IT_DIR/prom.txt")
pts=$(jq -s 'map(.values | length) | add // 0' "$IT_DIR/prom.txt")
it_check "over 20 series and 500 samples compared ($n, $pts over $((cut - start)) s)" \
    [ "$n" -gt 20 ] && [ "$pts" -gt 500 ]
it_check "the dropped family is not at the receiver" \
    bash -c "! grep -q scrape_samples_scraped '$IT_DIR/prom.txt'"
it_check "tsdb logged its resume" grep -q 'event=remote_write.resume' "$IT_DIR/tsdb.log"

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
