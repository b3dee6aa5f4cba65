#!/usr/bin/env bash
# remote_write_in.sh — the real Debian prometheus remote-writes into tsdb's /api/v1/write.
#
# prometheus (2.42) scrapes factorysim and itself every second with
# `remote_write: - url: http://127.0.0.1:<tsdb>/api/v1/write` for about 15 s. Then every
# raw sample up to a cut-off time is compared, series by series, between Prometheus's own
# TSDB and floorwatch's tsdb (`{__name__=~".+"}[1m]` at the cut-off through both APIs):
# the same series, the same timestamps and values. Prometheus must count no failed or
# dropped samples, tsdb must count the requests as 204s.
#
# Then bad input, sent with curl: a body that is not snappy (400 "snappy: corrupt input"),
# snappy that is not a WriteRequest (400 with gogo-protobuf's text), a series without a
# metric name (400 "invalid metric name or labels, got {...}", the valid series of the
# same request stored), a sample an hour ahead (400 "out of bounds", nothing stored), a
# body that decompresses to more than 32 MiB (413), an unknown protobuf message and a
# gzip encoding (415). Remote write 2.0 (proto=io.prometheus.write.v2.Request, written by
# python3 too): stored, answered with the X-Prometheus-Remote-Write-*-Written headers, a
# series' created_timestamp stored as its samples' start time (start_timestamp()); a
# labels ref outside the symbols is a 400 (remote_write_v2.sh has the rest of 2.0's partial
# answers); each counted in fw_tsdb_remote_write_rejected_total. The snappy
# bodies are written by python3 (test/it/prompb.py) as literal-only snappy blocks (valid
# snappy, no compression), the protobuf by hand.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb factorysim
it_need_cmds python3 jq curl prometheus
it_tmpdir
jqe() { jq -e "$@" >/dev/null; }

FS=$(it_free_port); PROM=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
PROM_URL="http://127.0.0.1:$PROM"
FW_URL="http://127.0.0.1:$T_HTTP"

cat > "$IT_DIR/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: factorysim
    static_configs: [{targets: ["127.0.0.1:$FS"]}]
  - job_name: prometheus
    static_configs: [{targets: ["127.0.0.1:$PROM"]}]
remote_write:
  - url: http://127.0.0.1:$T_HTTP/api/v1/write
    queue_config: {batch_send_deadline: 1s}
YML

it_start factorysim "$BIN/factorysim" --web.listen-address="127.0.0.1:$FS"
it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=256MiB
it_wait_http "$FW_URL/-/ready" 150
it_wait_http "http://127.0.0.1:$FS/metrics" 150
it_start prometheus prometheus --config.file="$IT_DIR/prometheus.yml" \
    --storage.tsdb.path="$IT_DIR/prom" --web.listen-address="127.0.0.1:$PROM"
it_wait_http "$PROM_URL/-/ready" 300
start=$(date +%s)
sleep 15

# --- the same samples in both ---
cut=$(($(date +%s) - 3))
raw() {
    curl -fsS "$1/api/v1/query" --data-urlencode 'query={__name__=~".+"}[1m]' \
        --data-urlencode "time=$cut" |
        jq -c '.data.result[] | {metric, values}' | sort
}
same() {
    raw "$PROM_URL" > "$IT_DIR/prom.txt"
    raw "$FW_URL" > "$IT_DIR/fw.txt"
    cmp -s "$IT_DIR/prom.txt" "$IT_DIR/fw.txt"
}
it_check "tsdb holds every sample prometheus stored up to the cut-off (bounded: 30 s)" \
    it_until 60 0.5 same
n=$(wc -l < "$IT_DIR/prom.txt")
pts=$(jq -s 'map(.values | length) | add' "$IT_DIR/prom.txt")
it_check "prometheus stored over 200 series ($n, $pts samples) in $((cut - start)) s" [ "$n" -gt 200 ]
if ! cmp -s "$IT_DIR/prom.txt" "$IT_DIR/fw.txt"; then
    diff "$IT_DIR/prom.txt" "$IT_DIR/fw.txt" | head -n 10 || true
fi
it_check "factorysim's series are among them" grep -q '"job":"factorysim"' "$IT_DIR/fw.txt"

prom_metric() {
    curl -fsS "$PROM_URL/api/v1/query" --data-urlencode "query=sum($1)" |
        jq -r '.data.result[0].value[1] // "none"'
}
it_check "prometheus failed no sample" [ "$(prom_metric prometheus_remote_storage_samples_failed_total)" = 0 ]
it_check "prometheus dropped no sample" [ "$(prom_metric prometheus_remote_storage_samples_dropped_total)" = 0 ]
it_check "prometheus retried no sample" [ "$(prom_metric prometheus_remote_storage_samples_retried_total)" = 0 ]
fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
ok204=$(fw_metric 'fw_tsdb_remote_write_requests_total{code="204"}')
it_check "tsdb answered prometheus's requests 204 ($ok204)" [ "${ok204:-0}" -gt 5 ]
it_term "$PID_prometheus"

# --- bad input ---
cat > "$IT_DIR/rw.py" <<'PY'
import struct, sys, time
from prompb import field, snappy, varint

def series(labels, samples):
    b = b""
    for k, v in labels:
        k, v = (x if isinstance(x, bytes) else x.encode() for x in (k, v))
        b += field(1, 2, field(1, 2, k) + field(2, 2, v))
    for t, v in samples:
        b += field(2, 2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(t)))
    return field(1, 2, b)

now = int(time.time() * 1000)
kind = sys.argv[1]
if kind == "garbage":
    body = b"\xff\xff\xff\xff\xff\xff this is not snappy"
elif kind == "notproto":
    body = snappy(b"\x0a\x05abc")  # field 1, length 5, only 3 bytes follow
elif kind == "nolabel":  # one series without __name__, one valid
    body = snappy(series([("job", "x")], [(now, 1)]) +
                  series([("__name__", "rw_ok"), ("job", "x")], [(now, 42)]))
elif kind == "ahead":
    body = snappy(series([("__name__", "rw_ahead")], [(now + 3600 * 1000, 1)]))
elif kind in ("v2", "v2badref"):  # remote write 2.0: symbols, labels_refs
    syms = [b"", b"__name__", b"rw_v2", b"job", b"x", b"le"]
    refs = [1, 2, 3, 4] if kind == "v2" else [1, 2, 3, 40]
    sample = field(1, 1, struct.pack("<d", 5.5)) + field(2, 0, varint(now))
    ts = field(1, 2, b"".join(varint(r) for r in refs)) + field(2, 2, sample)
    body = snappy(b"".join(field(4, 2, x) for x in syms) + field(5, 2, ts))
elif kind == "v2ct":  # 2.0 with created_timestamp: the samples' start time
    syms = [b"", b"__name__", b"rw_v2_ct", b"job", b"x"]
    sample = field(1, 1, struct.pack("<d", 3)) + field(2, 0, varint(now))
    ts = field(1, 2, bytes([1, 2, 3, 4])) + field(2, 2, sample) + field(6, 0, varint(now - 60000))
    body = snappy(b"".join(field(4, 2, x) for x in syms) + field(5, 2, ts))
    open(sys.argv[2], "w").write(str(now - 60000))
elif kind == "utf8":  # Prometheus 3's UTF-8 names
    body = snappy(series([("__name__", "rw.utf8"), ("a.b", "c")], [(now, 3)]))
elif kind == "badutf8":  # a label name that is not UTF-8
    body = snappy(series([("__name__", "rw_bad"), (b"a\xffb", "c")], [(now, 3)]))
elif kind == "huge":
    body = varint(40 << 20)  # claims 40 MiB decompressed
else:
    body = snappy(series([("__name__", "rw_fine"), ("a", "b")], [(now, 7)]))
sys.stdout.buffer.write(body)
PY
post() { # post KIND [CONTENT-TYPE [ENCODING]]: prints "status body"
    PYTHONPATH=test/it python3 "$IT_DIR/rw.py" "$1" "$IT_DIR/ct.txt" > "$IT_DIR/body.bin"
    curl -sS -o "$IT_DIR/resp.txt" -w '%{http_code}' -X POST --data-binary "@$IT_DIR/body.bin" \
        -H "Content-Type: ${2:-application/x-protobuf}" -H "Content-Encoding: ${3:-snappy}" \
        -H 'X-Prometheus-Remote-Write-Version: 0.1.0' "$FW_URL/api/v1/write"
    printf ' %s' "$(cat "$IT_DIR/resp.txt")"
}
it_check "not snappy: 400 snappy: corrupt input" [ "$(post garbage)" = "400 snappy: corrupt input" ]
it_check "not a WriteRequest: 400 unexpected EOF" [ "$(post notproto)" = "400 unexpected EOF" ]
it_check "a series without a metric name: 400 with its labels" \
    [ "$(post nolabel)" = '400 invalid metric name or labels, got {job="x"}' ]
it_check "a sample an hour ahead: 400 out of bounds" [ "$(post ahead)" = "400 out of bounds" ]
it_check "40 MiB decompressed: 413" bash -c "[[ '$(post huge)' == 413\ decompressed* ]]"
it_check "an unknown protobuf message: 415" bash -c "[[ '$(post fine 'application/x-protobuf;proto=foo.Bar')' == 415\ got* ]]"
V2='application/x-protobuf;proto=io.prometheus.write.v2.Request'
it_check "remote write 2.0: 204" [ "$(post v2 "$V2")" = "204 " ]
written() {
    PYTHONPATH=test/it python3 "$IT_DIR/rw.py" v2 > "$IT_DIR/body.bin"
    curl -sS -D - -o /dev/null -X POST --data-binary "@$IT_DIR/body.bin" -H "Content-Type: $V2" \
        -H 'Content-Encoding: snappy' -H 'X-Prometheus-Remote-Write-Version: 2.0.0' \
        "$FW_URL/api/v1/write" | tr -d '\r' | grep -i '^x-prometheus-remote-write-' | sort
}
it_check "remote write 2.0: the Written headers (1 sample, 0 histograms, 0 exemplars)" \
    [ "$(written | tr '\n' ' ')" = "X-Prometheus-Remote-Write-Exemplars-Written: 0 X-Prometheus-Remote-Write-Histograms-Written: 0 X-Prometheus-Remote-Write-Samples-Written: 1 " ]
it_check "remote write 2.0: a labels ref outside the symbols: 400 as Prometheus 3.7+ words it" \
    [ "$(post v2badref "$V2")" = "400 parsing labels for series [1 2 3 40]: labelRefs 3 (name) = 40 (value) outside of symbols table (size 6)" ]
it_check "gzip: 415" bash -c "[[ '$(post fine application/x-protobuf gzip)' == 415\ gzip\ encoding* ]]"
it_check "a good request: 204" [ "$(post fine)" = "204 " ]
stored() {
    curl -fsS "$FW_URL/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'
}
it_check "UTF-8 metric and label names (Prometheus 3): 204" [ "$(post utf8)" = "204 " ]
it_check "a label name that is not UTF-8: 400" \
    bash -c "[[ '$(post badutf8)' == 400\ invalid\ metric\ name\ or\ labels* ]]"
it_check "the valid series beside the invalid one is stored" it_until 20 0.2 \
    bash -c "[ \"\$(curl -fsS '$FW_URL/api/v1/query' --data-urlencode 'query=rw_ok' | jq -r '.data.result[0].value[1]')\" = 42 ]"
it_check "nothing of the request with a sample ahead is stored" [ "$(stored 'count(rw_ahead)')" = none ]
it_check "the good request's sample is stored" [ "$(stored rw_fine)" = 7 ]
it_check "the UTF-8 series is stored and queried back by its quoted names" \
    [ "$(stored '{"rw.utf8", "a.b"="c"}')" = 3 ]
it_check "the 2.0 request's sample is stored with its labels" \
    [ "$(stored 'rw_v2{job="x"}')" = 5.5 ]
it_check "remote write 2.0 with created_timestamp: 204" [ "$(post v2ct "$V2")" = "204 " ]
ct=$(cat "$IT_DIR/ct.txt")
it_check "... its sample is stored" it_until 20 0.2 bash -c "[ \"\$(curl -fsS '$FW_URL/api/v1/query' --data-urlencode 'query=rw_v2_ct' | jq -r '.data.result[0].value[1]')\" = 3 ]"
it_check "... with created_timestamp as its start time (start_timestamp() = $ct ms)" \
    [ "$(stored 'start_timestamp(rw_v2_ct) * 1000')" = "$ct" ]
for r in snappy protobuf labels out_of_bounds too_large content_type content_encoding; do
    c=$(fw_metric "fw_tsdb_remote_write_rejected_total{reason=\"$r\"}")
    it_check "rejected reason=$r counted ($c)" [ "${c:-0}" -ge 1 ]
done
it_check "the invalid series' samples are counted (1.0, 2.0 and the bad UTF-8 one)" \
    [ "$(fw_metric fw_tsdb_remote_write_invalid_labels_samples_total)" = 3 ]

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
