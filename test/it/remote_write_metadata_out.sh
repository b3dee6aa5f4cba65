#!/usr/bin/env bash
# remote_write_metadata_out.sh — tsdb's remote_write sends metric metadata (metadata_config).
#
# The chain: the real Debian prometheus (2.42) P scrapes one OpenMetrics target (HELP, TYPE,
# UNIT of seven families) and remote-writes into tsdb A (the receiver, with its metadata).
# A's prometheus.yml has three remote_write entries, each with metadata_config
# send_interval 1s: to a second tsdb B (`send` left at its default, true, as in
# Prometheus), to the Debian prometheus R started with --web.enable-remote-write-receiver,
# and to R again with `send: false`. Then:
#   - B's /api/v1/metadata equals P's own (jq -S): what A sent is what P scraped, and B's
#     receiver is the one test/it/remote_write_metadata.sh holds equal to P.
#   - R accepted A's metadata-only WriteRequests (fw_tsdb_remote_storage_metadata_total
#     counts families R answered 2xx for, none failed): Prometheus 2.42's receiver decodes
#     the whole body with its gogo-protobuf unmarshaller and refuses a malformed one with a
#     400, but it keeps no remote-written metadata (its write handler reads the series
#     only, and its /api/v1/metadata lists its scrape targets'), so R's /api/v1/metadata
#     cannot show it; that half is checked through B.
#   - the entry with send: false sends none (its metadata counters do not exist).
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds python3 jq curl prometheus
it_tmpdir

TGT=$(it_free_port); P=$(it_free_port); R=$(it_free_port)
A_HTTP=$(it_free_port); A_S=$(it_free_port); A_Q=$(it_free_port); A_P=$(it_free_port)
B_HTTP=$(it_free_port); B_S=$(it_free_port); B_Q=$(it_free_port); B_P=$(it_free_port)
P_URL="http://127.0.0.1:$P"; R_URL="http://127.0.0.1:$R"
A_URL="http://127.0.0.1:$A_HTTP"; B_URL="http://127.0.0.1:$B_HTTP"

cat > "$IT_DIR/p.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: press
    static_configs: [{targets: ["127.0.0.1:$TGT"]}]
remote_write:
  - url: $A_URL/api/v1/write
    queue_config: {batch_send_deadline: 1s}
    metadata_config: {send: true, send_interval: 1s}
YML
cat > "$IT_DIR/a.yml" <<YML
remote_write:
  - url: $B_URL/api/v1/write
    name: tsdb-b
    metadata_config: {send_interval: 1s, max_samples_per_send: 3}
  - url: $R_URL/api/v1/write
    name: prom
    queue_config: {min_backoff: 100ms, max_backoff: 1s}
    metadata_config: {send: true, send_interval: 1s}
  - url: $R_URL/api/v1/write
    name: off
    metadata_config: {send: false}
YML
echo "global: {}" > "$IT_DIR/r.yml"
out=$("$BIN/tsdb" --check-config --config.file="$IT_DIR/a.yml" 2>&1) || true
it_check "tsdb --check-config accepts metadata_config" [ "$out" = "configuration OK" ]

start_tsdb() { # NAME HTTP SAMPLES QUERY PUB [CONFIG]
    it_start "$1" "$BIN/tsdb" ${6:+--config.file="$6"} --web.listen-address="127.0.0.1:$2" \
        --storage.tsdb.path="$IT_DIR/$1" --zmq.samples-address="tcp://127.0.0.1:$3" \
        --zmq.query-address="tcp://127.0.0.1:$4" --zmq.pub-address="tcp://127.0.0.1:$5" \
        --storage.tsdb.map-size=256MiB
    it_wait_http "http://127.0.0.1:$2/-/ready" 150
}
it_start target python3 test/it/serve_metrics.py "$TGT" /metrics=test/data/remote_write_metadata.om
it_wait_http "http://127.0.0.1:$TGT/metrics" 100
it_start promr prometheus --config.file="$IT_DIR/r.yml" --storage.tsdb.path="$IT_DIR/promr" \
    --web.listen-address="127.0.0.1:$R" --web.enable-remote-write-receiver
it_wait_http "$R_URL/-/ready" 300
start_tsdb tsdbb "$B_HTTP" "$B_S" "$B_Q" "$B_P"
start_tsdb tsdba "$A_HTTP" "$A_S" "$A_Q" "$A_P" "$IT_DIR/a.yml"
it_start promp prometheus --config.file="$IT_DIR/p.yml" --storage.tsdb.path="$IT_DIR/promp" \
    --web.listen-address="127.0.0.1:$P"
it_wait_http "$P_URL/-/ready" 300

meta() { curl -fsS "$1/api/v1/metadata" | jq -S '.data'; }
same() {
    meta "$P_URL" > "$IT_DIR/p.json"
    meta "$B_URL" > "$IT_DIR/b.json"
    [ "$(jq 'length' "$IT_DIR/p.json")" -ge 7 ] && cmp -s "$IT_DIR/p.json" "$IT_DIR/b.json"
}
it_check "tsdb B's /api/v1/metadata equals prometheus P's (bounded: 40 s)" it_until 80 0.5 same
if ! cmp -s "$IT_DIR/p.json" "$IT_DIR/b.json"; then
    diff "$IT_DIR/p.json" "$IT_DIR/b.json" | head -n 20 || true
fi
it_check "... 7 families" [ "$(jq 'length' "$IT_DIR/b.json")" = 7 ]
fw_metric() { curl -fsS "$A_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
mcount() { fw_metric "fw_tsdb_remote_storage_metadata${2:-}_total{remote_name=\"$1\"}"; }
it_check "tsdb A sent B all 7 families (max_samples_per_send: 3) more than once (bounded: 20 s)" \
    it_until 40 0.5 bash -c "[ \"\$(curl -fsS '$A_URL/metrics' | awk '\$1 == \"fw_tsdb_remote_storage_metadata_total{remote_name=\\\"tsdb-b\\\"}\" {print \$2}')\" -ge 14 ]"
it_check "prometheus R accepted A's metadata requests (bounded: 20 s)" \
    it_until 40 0.5 bash -c "[ \"\$(curl -fsS '$A_URL/metrics' | awk '\$1 == \"fw_tsdb_remote_storage_metadata_total{remote_name=\\\"prom\\\"}\" {print \$2}')\" -ge 7 ]"
it_check "none failed or retried (prom: $(mcount prom _failed), $(mcount prom _retried))" \
    [ "$(mcount prom _failed)$(mcount prom _retried)$(mcount tsdb-b _failed)" = 000 ]
it_check "metadata bytes counted" [ "$(mcount prom _bytes | cut -d. -f1)" -gt 100 ]
it_check "send: false sends none" [ -z "$(mcount off)" ]
b_stored=$(curl -fsS "$B_URL/metrics" | awk '$1 == "fw_tsdb_remote_write_metadata_total{result=\"stored\"}" {print $2}')
it_check "B counted what it stored ($b_stored)" [ "${b_stored:-0}" -ge 14 ]

# R down: A retries with backoff for a send_interval, then counts the round failed; samples
# and the other receiver go on.
it_term "$PID_promr"
it_check "with R down, metadata to R is counted failed (bounded: 20 s)" \
    it_until 40 0.5 bash -c "[ \"\$(curl -fsS '$A_URL/metrics' | awk '\$1 == \"fw_tsdb_remote_storage_metadata_failed_total{remote_name=\\\"prom\\\"}\" {print \$2}')\" -ge 7 ]"
it_check "... and retried before" [ "$(mcount prom _retried)" -ge 7 ]
it_term "$PID_promp"
it_term "$PID_tsdba"
it_check "tsdb A exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_term "$PID_tsdbb"
it_check "tsdb B exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
