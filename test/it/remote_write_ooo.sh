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
# counts them in fw_tsdb_remote_write_rejected_total{reason}.
#
# Then requests of three series rw_m1..rw_m3 (each stored at T first), the refused sample in
# the middle, good samples before and after it:
#   6. m1 T+1 T+2 | m2 T+1, T-5 s, T+2 | m3 T+1 T+2           400 "out of order sample"
#   7. m1 T+1 | m2 T+1, T other value, T+2 | m3 T+1           400 "duplicate sample for ..."
#   8. m1 T+3, T+2 | m2 T+3, T+3 other value | m3 T+3          204
# Prometheus's appender judges each sample against what is committed and the first refusal
# rolls the whole request back (6, 7: nothing stored, for any series); samples refused only
# by an earlier one of the same request pass that check and are dropped at commit (8: T+2
# of m1 and the second T+3 of m2 are not stored, the request is answered 204). Stored
# samples of every series are compared with the real prometheus. 2.42 and 3.x agree on all
# of this for remote write 1.0 (write_handler.go write/appendV1Samples, head_append.go
# Append/Commit in v2.42.0 and v3.0.0-v3.5.0); they differ only on "too old sample" (an
# out-of-order window set: 2.42 answers 500, 3.x and tsdb 400), not reachable here. 2.0
# requests are not one transaction in 3.x (writeV2 keeps the other samples), nor in tsdb.
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

# arguments: NAME T=V ... [NAME T=V ...]: one TimeSeries per NAME, its samples in order
body, ts = b"", None
for a in sys.argv[1:] + [""]:
    if "=" in a:
        t, v = a.split("=")
        ts += field(2, 2, field(1, 1, struct.pack("<d", float(v))) + field(2, 0, varint(int(t))))
        continue
    if ts is not None:
        body += field(1, 2, ts)
    ts = field(1, 2, field(1, 2, b"__name__") + field(2, 2, a.encode())) if a else None
sys.stdout.buffer.write(snappy(body))
PY
# post URL NAME T=V ... [NAME T=V ...]: prints "status body" (the trailing newline dropped)
post() {
    local url=$1
    shift
    PYTHONPATH=test/it python3 "$IT_DIR/rw.py" "$@" > "$IT_DIR/body.bin"
    curl -sS -o "$IT_DIR/resp.txt" -w '%{http_code}' -X POST --data-binary "@$IT_DIR/body.bin" \
        -H "Content-Type: application/x-protobuf" -H "Content-Encoding: snappy" \
        -H 'X-Prometheus-Remote-Write-Version: 0.1.0' "$url/api/v1/write"
    printf ' %s' "$(cat "$IT_DIR/resp.txt")"
}
T=$(( ($(date +%s) - 60) * 1000 ))
step() { # step DESCRIPTION EXPECTED NAME T=V ... [NAME T=V ...]
    local what=$1 want=$2 p f
    shift 2
    p=$(post "$PROM_URL" "$@")
    f=$(post "$FW_URL" "$@")
    it_check "$what: prometheus answers '$want' ($p)" [ "$p" = "$want" ]
    it_check "$what: tsdb answers as prometheus ($f)" [ "$f" = "$p" ]
}
step "a new series" "204 " rw_ooo "$T=1"
step "an older sample" "400 out of order sample" rw_ooo "$((T - 10000))=1"
step "another value at the newest timestamp" "400 duplicate sample for timestamp" rw_ooo "$T=2"
step "the same sample again" "204 " rw_ooo "$T=1"
step "a newer sample" "204 " rw_ooo "$((T + 1000))=3"

step "three new series" "204 " rw_m1 "$T=1" rw_m2 "$T=1" rw_m3 "$T=1"
step "an older sample amid good ones" "400 out of order sample" \
    rw_m1 "$((T + 1000))=2" "$((T + 2000))=3" \
    rw_m2 "$((T + 1000))=2" "$((T - 5000))=2" "$((T + 2000))=3" \
    rw_m3 "$((T + 1000))=2" "$((T + 2000))=3"
step "a conflicting value amid good ones" "400 duplicate sample for timestamp" \
    rw_m1 "$((T + 1000))=4" rw_m2 "$((T + 1000))=4" "$T=9" "$((T + 2000))=5" rw_m3 "$((T + 1000))=4"
step "samples refused only by the request's own" "204 " \
    rw_m1 "$((T + 3000))=6" "$((T + 2000))=7" rw_m2 "$((T + 3000))=6" "$((T + 3000))=8" \
    rw_m3 "$((T + 3000))=6"

fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
it_check "tsdb counted the out-of-order refusals" \
    [ "$(fw_metric 'fw_tsdb_remote_write_rejected_total{reason="out_of_order"}')" = 2 ]
it_check "tsdb counted the duplicate refusals" \
    [ "$(fw_metric 'fw_tsdb_remote_write_rejected_total{reason="duplicate"}')" = 2 ]
stored() { # stored URL NAME: the series' samples as [[t_ms,"v"],...]
    curl -fsS "$1/api/v1/query" --data-urlencode "query=$2[5m]" --data-urlencode "time=$((T / 1000 + 30))" |
        jq -c --argjson t0 "$T" '[.data.result[0].values[] | [(.[0] * 1000 | round) - $t0, .[1]]]'
}
it_check "prometheus stored 1 then 3" [ "$(stored "$PROM_URL" rw_ooo)" = '[[0,"1"],[1000,"3"]]' ]
it_check "tsdb stored the same" [ "$(stored "$FW_URL" rw_ooo)" = '[[0,"1"],[1000,"3"]]' ]
for m in rw_m1 rw_m2 rw_m3; do
    it_check "prometheus stored nothing of the refused requests for $m ($(stored "$PROM_URL" $m))" \
        [ "$(stored "$PROM_URL" $m)" = '[[0,"1"],[3000,"6"]]' ]
    it_check "tsdb stored the same for $m ($(stored "$FW_URL" $m))" \
        [ "$(stored "$FW_URL" $m)" = "$(stored "$PROM_URL" $m)" ]
done
it_check "tsdb counted the two samples the request's own refused" \
    [ "$(fw_metric 'fw_tsdb_remote_write_dropped_samples_total')" = 2 ]

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
