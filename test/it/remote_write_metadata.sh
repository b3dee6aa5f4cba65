#!/usr/bin/env bash
# remote_write_metadata.sh — metric metadata over remote write into tsdb's /api/v1/write.
#
# The real Debian prometheus (2.42) scrapes one OpenMetrics target (python3, serving HELP,
# TYPE and UNIT for a counter, a gauge, a histogram, a summary, an info, a stateset and an
# unknown) and remote-writes into tsdb with `metadata_config: {send: true, send_interval:
# 1s}`. tsdb's /api/v1/metadata must then equal prometheus's own for that target, triple for
# triple (keys sorted with jq -S, the only difference being JSON key order).
#
# Then bad metadata, sent with curl (bodies hand-encoded by test/it/prompb.py): a type that
# is no MetricType and a help over 4096 bytes are dropped alone (204, the sample beside them
# stored, counted in fw_tsdb_remote_write_metadata_total{result="refused"}), a Type with the
# wrong wire type is a 400 with gogo-protobuf's text. Remote write 2.0 per-series metadata
# (no 2.0 sender exists in Debian: the request is built here by hand as the 2.0 spec
# documents it) lands in /api/v1/metadata under the series' __name__.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds python3 jq curl prometheus
it_tmpdir

TGT=$(it_free_port); PROM=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
PROM_URL="http://127.0.0.1:$PROM"
FW_URL="http://127.0.0.1:$T_HTTP"

cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: press
    static_configs: [{targets: ["127.0.0.1:$TGT"]}]
remote_write:
  - url: http://127.0.0.1:$T_HTTP/api/v1/write
    queue_config: {batch_send_deadline: 1s}
    metadata_config: {send: true, send_interval: 1s}
YML

it_start target python3 test/it/serve_metrics.py "$TGT" /metrics=test/data/remote_write_metadata.om
it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=256MiB
it_wait_http "$FW_URL/-/ready" 150
it_wait_http "http://127.0.0.1:$TGT/metrics" 100
it_start prometheus prometheus --config.file="$IT_DIR/prometheus.yml" \
    --storage.tsdb.path="$IT_DIR/prom" --web.listen-address="127.0.0.1:$PROM"
it_wait_http "$PROM_URL/-/ready" 300

meta() { curl -fsS "$1/api/v1/metadata" | jq -S '.data'; }
same() {
    meta "$PROM_URL" > "$IT_DIR/prom.json"
    meta "$FW_URL" > "$IT_DIR/fw.json"
    [ "$(jq 'length' "$IT_DIR/prom.json")" -ge 7 ] && cmp -s "$IT_DIR/prom.json" "$IT_DIR/fw.json"
}
it_check "prometheus shows the target's 7 families (bounded: 30 s)" \
    it_until 60 0.5 bash -c "[ \"\$(curl -fsS '$PROM_URL/api/v1/metadata' | jq '.data | length')\" -ge 7 ]"
it_check "tsdb's /api/v1/metadata equals prometheus's (bounded: 30 s)" it_until 60 0.5 same
if ! cmp -s "$IT_DIR/prom.json" "$IT_DIR/fw.json"; then
    diff "$IT_DIR/prom.json" "$IT_DIR/fw.json" | head -n 20 || true
fi
it_check "units came across (celsius, seconds)" \
    [ "$(jq -r '.rwm_oven_celsius[0].unit + " " + .rwm_cycle_seconds[0].unit' "$IT_DIR/fw.json")" = "celsius seconds" ]
it_check "types came across (info, stateset, summary, unknown)" \
    [ "$(jq -r '[.rwm_build, .rwm_mode, .rwm_wait_seconds, .rwm_other] | map(.[0].type) | join(" ")' "$IT_DIR/fw.json")" = "info stateset summary unknown" ]
it_check "the UTF-8 help text came across" \
    [ "$(jq -r '.rwm_oven_celsius[0].help' "$IT_DIR/fw.json")" = "Ofentemperatur in °C." ]
fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
stored=$(fw_metric 'fw_tsdb_remote_write_metadata_total{result="stored"}')
it_check "stored metadata counted ($stored)" [ "${stored:-0}" -ge 7 ]
it_check "none refused" [ "$(fw_metric 'fw_tsdb_remote_write_metadata_total{result="refused"}')" = 0 ]
it_term "$PID_prometheus"

# --- bad metadata, and 2.0's ---
cat > "$IT_DIR/rw.py" <<'PY'
import struct, sys, time
from prompb import field, snappy, varint

now = int(time.time() * 1000)
def series(name, v):
    lab = field(1, 2, field(1, 2, b"__name__") + field(2, 2, name))
    return field(1, 2, lab + field(2, 2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(now))))
def meta(typ, name, help_, unit=b""):
    return field(3, 2, field(1, 0, varint(typ)) + field(2, 2, name) + field(4, 2, help_) + field(5, 2, unit))
kind = sys.argv[1]
if kind == "badtype":
    body = series(b"rwm_bad_type", 1) + meta(42, b"rwm_bad_type", b"No such type.") + \
        meta(2, b"rwm_good", b"Good.", b"bytes")
elif kind == "hugehelp":
    body = series(b"rwm_huge", 2) + meta(2, b"rwm_huge", b"h" * 5000)
elif kind == "wiretype":
    body = field(3, 2, field(1, 2, b"x"))
elif kind == "v2":
    syms = [b"", b"__name__", b"rwm_v2_total", b"job", b"x", b"Parts, 2.0.", b"parts"]
    md = field(1, 0, varint(1)) + field(3, 0, varint(5)) + field(4, 0, varint(6))
    sample = field(1, 1, struct.pack("<d", 9)) + field(2, 0, varint(now))
    ts = field(1, 2, bytes([1, 2, 3, 4])) + field(2, 2, sample) + field(5, 2, md)
    body = b"".join(field(4, 2, s) for s in syms) + field(5, 2, ts)
sys.stdout.buffer.write(snappy(body))
PY
post() { # post KIND [CONTENT-TYPE]: prints "status body"
    PYTHONPATH=test/it python3 "$IT_DIR/rw.py" "$1" > "$IT_DIR/body.bin"
    curl -sS -o "$IT_DIR/resp.txt" -w '%{http_code}' -X POST --data-binary "@$IT_DIR/body.bin" \
        -H "Content-Type: ${2:-application/x-protobuf}" -H "Content-Encoding: snappy" \
        "$FW_URL/api/v1/write"
    printf ' %s' "$(cat "$IT_DIR/resp.txt")"
}
md() { curl -fsS "$FW_URL/api/v1/metadata" --data-urlencode "metric=$1" -G | jq -c ".data[\"$1\"] // []"; }
value() { curl -fsS "$FW_URL/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'; }
it_check "a type that is no MetricType: 204" [ "$(post badtype)" = "204 " ]
it_check "... that family is not kept" [ "$(md rwm_bad_type)" = "[]" ]
it_check "... the good family beside it is" \
    [ "$(md rwm_good)" = '[{"type":"gauge","unit":"bytes","help":"Good."}]' ]
it_check "... and the sample is stored" [ "$(value rwm_bad_type)" = 1 ]
it_check "a 5000-byte help: 204, not kept" bash -c "[ '$(post hugehelp)' = '204 ' ] && [ '$(md rwm_huge)' = '[]' ]"
it_check "... its sample is stored" [ "$(value rwm_huge)" = 2 ]
it_check "refusals counted (2)" [ "$(fw_metric 'fw_tsdb_remote_write_metadata_total{result="refused"}')" = 2 ]
it_check "a Type with the wrong wire type: 400 with gogo's text" \
    [ "$(post wiretype)" = "400 proto: wrong wireType = 2 for field Type" ]
it_check "remote write 2.0 (request built by hand): 204" \
    [ "$(post v2 'application/x-protobuf;proto=io.prometheus.write.v2.Request')" = "204 " ]
it_check "... its per-series metadata is kept under the series' name" \
    [ "$(md rwm_v2_total)" = '[{"type":"counter","unit":"parts","help":"Parts, 2.0."}]' ]
it_check "... and its sample" [ "$(value rwm_v2_total)" = 9 ]
it_check "tsdb still answers" curl -fsS -o /dev/null "$FW_URL/-/ready"

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
