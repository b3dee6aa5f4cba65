#!/usr/bin/env bash
# remote_write_ooo.sh — samples a receiver's storage refuses: tsdb's /api/v1/write answers
# as the real Debian prometheus (2.42, --web.enable-remote-write-receiver) does, side by side.
#
# The same remote-write 1.0 requests (python3, test/it/prompb.py) go to both receivers, one
# series each time:
#   1. rw_ooo at T, value 1                    204
#   2. rw_ooo at T - 10 s (older than stored)  400 "out of order sample"
#   3. rw_ooo at T, value 2 (another value)    400 "duplicate sample for timestamp"
#   4. rw_ooo at T, value 1 again              204 (a resend: a no-op)
#   5. rw_ooo at T + 1 s                       204
# Both must give the same status and body for each. Prometheus answers 400 so that senders
# do not retry (storage/remote/write_handler.go); without this tsdb answered 204. tsdb also
# counts them in fw_tsdb_remote_write_rejected_total{reason}. (Not compared: Prometheus rolls
# back the whole request on such a sample; tsdb keeps the request's other samples.)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds python3 jq curl prometheus
it_tmpdir

PROM=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
PROM_URL="http://127.0.0.1:$PROM"
FW_URL="http://127.0.0.1:$T_HTTP"
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' > "$IT_DIR/prometheus.yml"

it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=64MiB \
    --scraper.url= --ruled.url=
it_start prometheus prometheus --config.file="$IT_DIR/prometheus.yml" \
    --storage.tsdb.path="$IT_DIR/prom" --web.listen-address="127.0.0.1:$PROM" \
    --web.enable-remote-write-receiver
it_wait_http "$FW_URL/-/ready" 150
it_wait_http "$PROM_URL/-/ready" 300

cat > "$IT_DIR/rw.py" <<'PY'
import struct, sys
from prompb import field, snappy, varint

t, v = int(sys.argv[1]), float(sys.argv[2])
labels = field(1, 2, field(1, 2, b"__name__") + field(2, 2, b"rw_ooo"))
sample = field(2, 2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(t)))
sys.stdout.buffer.write(snappy(field(1, 2, labels + sample)))
PY
# post URL T V: prints "status body" (the body's trailing newline dropped)
post() {
    PYTHONPATH=test/it python3 "$IT_DIR/rw.py" "$2" "$3" > "$IT_DIR/body.bin"
    curl -sS -o "$IT_DIR/resp.txt" -w '%{http_code}' -X POST --data-binary "@$IT_DIR/body.bin" \
        -H "Content-Type: application/x-protobuf" -H "Content-Encoding: snappy" \
        -H 'X-Prometheus-Remote-Write-Version: 0.1.0' "$1/api/v1/write"
    printf ' %s' "$(cat "$IT_DIR/resp.txt")"
}
T=$(( ($(date +%s) - 60) * 1000 ))
step() { # step DESCRIPTION T V EXPECTED
    local p f
    p=$(post "$PROM_URL" "$2" "$3")
    f=$(post "$FW_URL" "$2" "$3")
    it_check "$1: prometheus answers '$4' ($p)" [ "$p" = "$4" ]
    it_check "$1: tsdb answers as prometheus ($f)" [ "$f" = "$p" ]
}
step "a new series" "$T" 1 "204 "
step "an older sample" "$((T - 10000))" 1 "400 out of order sample"
step "another value at the newest timestamp" "$T" 2 "400 duplicate sample for timestamp"
step "the same sample again" "$T" 1 "204 "
step "a newer sample" "$((T + 1000))" 3 "204 "

fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
it_check "tsdb counted the out-of-order refusal" \
    [ "$(fw_metric 'fw_tsdb_remote_write_rejected_total{reason="out_of_order"}')" = 1 ]
it_check "tsdb counted the duplicate refusal" \
    [ "$(fw_metric 'fw_tsdb_remote_write_rejected_total{reason="duplicate"}')" = 1 ]
stored() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query=rw_ooo[5m]' --data-urlencode "time=$((T / 1000 + 30))" |
        jq -c '[.data.result[0].values[] | .[1]]'
}
it_check "prometheus stored 1 then 3" [ "$(stored "$PROM_URL")" = '["1","3"]' ]
it_check "tsdb stored the same" [ "$(stored "$FW_URL")" = '["1","3"]' ]

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
