#!/usr/bin/env bash
# remote_write_v2.sh — a remote write 2.0 request partly refused: tsdb stores the rest and
# answers as Prometheus 3's receiver does (storage/remote/write_handler.go writeV2/appendV2,
# 3.0 to 3.14; Debian has no Prometheus 3 to run beside it, so the expected texts are
# written out from its source): 400, one line per refused series or sample in request
# order, X-Prometheus-Remote-Write-Samples-Written counting what was stored.
#
# Requests (python3, test/it/prompb.py; T a minute ago):
#   1. rw2_a T=1, rw2_b T=1                                   204, 2 written
#   2. rw2_a T+1 s=2, T-5 s=9 (older than stored), T+2 s=3    400, the lines below,
#      rw2_b T=7 (another value at the stored T)                  2 written (rw2_a's good
#      {job="x"} (no metric name)                                 ones), nothing else
#      rw2_d with no sample                                       stored
#      rw2_e an hour ahead
#      rw2_f labels refs [1 2 3 40] (outside the symbols)
#      rw2_g job="x" and job="y"
#   3. rw2_b T=1 again                                        204 (a resend: a no-op)
#   4. rw2_h T=1, then T+1 s and 2000 samples older than T    400, the text bounded at
#                                                                 64 KiB, the rest counted
#                                                                 in a last line
# Without the 2.0 partial answer tsdb answered 2. with the first storage error alone
# ("out of order sample") and 4. likewise.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds python3 jq curl
it_tmpdir

T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
FW_URL="http://127.0.0.1:$T_HTTP"
it_start tsdb "$BIN/tsdb" --web.listen-address="127.0.0.1:$T_HTTP" --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address="tcp://127.0.0.1:$T_SAMPLES" --zmq.query-address="tcp://127.0.0.1:$T_QUERY" \
    --zmq.pub-address="tcp://127.0.0.1:$T_PUB" --storage.tsdb.map-size=64MiB \
    --scraper.url= --ruled.url=
it_wait_http "$FW_URL/-/ready" 150

cat > "$IT_DIR/rw2.py" <<'PY'
import struct, sys
from prompb import field, snappy, varint

# arguments: SERIES T=V ... [SERIES T=V ...], SERIES as name or name,k=v,k=v (labels in the
# order given), or refs:1,2,3,40 (labels_refs as given); a series with no T=V has no sample
syms, index = [""], {"": 0}
def ref(s):
    if s not in index:
        index[s] = len(syms)
        syms.append(s)
    return index[s]
series, cur = [], None
for a in sys.argv[1:]:
    if "=" in a and "," not in a and not a.startswith("refs:"):
        t, v = a.split("=")
        cur[1].append((int(t), float(v)))
        continue
    if a.startswith("refs:"):
        cur = ([int(x) for x in a[5:].split(",")], [])
    else:
        parts = a.split(",")
        labels = ([("__name__", parts[0])] if parts[0] else []) + [tuple(p.split("=")) for p in parts[1:]]
        cur = ([r for k, v in labels for r in (ref(k), ref(v))], [])
    series.append(cur)
body = b""
for refs, samples in series:
    ts = field(1, 2, b"".join(varint(r) for r in refs))
    for t, v in samples:
        ts += field(2, 2, field(1, 1, struct.pack("<d", v)) + field(2, 0, varint(t)))
    body += field(5, 2, ts)
body = b"".join(field(4, 2, s.encode()) for s in syms) + body
sys.stdout.buffer.write(snappy(body))
PY
V2='application/x-protobuf;proto=io.prometheus.write.v2.Request'
# post ARGS...: the status in $IT_DIR/status, the body in resp.txt, the headers in hdr.txt
post() {
    PYTHONPATH=test/it python3 "$IT_DIR/rw2.py" "$@" > "$IT_DIR/body.bin"
    curl -sS -D "$IT_DIR/hdr.txt" -o "$IT_DIR/resp.txt" -w '%{http_code}' -X POST \
        --data-binary "@$IT_DIR/body.bin" -H "Content-Type: $V2" -H "Content-Encoding: snappy" \
        -H 'X-Prometheus-Remote-Write-Version: 2.0.0' "$FW_URL/api/v1/write" > "$IT_DIR/status"
}
written() { tr -d '\r' < "$IT_DIR/hdr.txt" | awk -F': ' 'tolower($1) == "x-prometheus-remote-write-samples-written" {print $2}'; }
T=$(( ($(date +%s) - 60) * 1000 ))
AHEAD=$(( ($(date +%s) + 3600) * 1000 ))

post rw2_a "$T=1" rw2_b "$T=1"
it_check "two new series: 204" [ "$(cat "$IT_DIR/status")" = 204 ]
it_check "... 2 samples written" [ "$(written)" = 2 ]

# symbols of request 2, as rw2.py numbers them: "" __name__ rw2_a rw2_b job x rw2_d rw2_e
# rw2_g y: 10, so refs 3 (name) and 40 (value) lie outside
post rw2_a "$((T + 1000))=2" "$((T - 5000))=9" "$((T + 2000))=3" rw2_b "$T=7" ",job=x" "$T=1" \
    rw2_d rw2_e "$AHEAD=1" refs:1,2,3,40 "$T=1" rw2_g,job=x,job=y "$T=1"
cat > "$IT_DIR/want.txt" <<TXT
out of order sample for series {__name__="rw2_a"}
duplicate sample for timestamp $T; overrides not allowed: existing 1, new value 7 for series {__name__="rw2_b"}
invalid metric name or labels, got {job="x"}
TimeSeries must contain at least one sample or histogram for series {__name__="rw2_d"}
out of bounds: timestamp is too far in the future for series {__name__="rw2_e"}
parsing labels for series [1 2 3 40]: labelRefs 3 (name) = 40 (value) outside of symbols table (size 10)
invalid labels for series, labels {__name__="rw2_g", job="x", job="y"}, duplicated label job
TXT
it_check "a request with refusals: 400" [ "$(cat "$IT_DIR/status")" = 400 ]
it_check "... one line per refusal, in request order, as Prometheus 3 writes them" \
    cmp "$IT_DIR/want.txt" "$IT_DIR/resp.txt"
cmp -s "$IT_DIR/want.txt" "$IT_DIR/resp.txt" || diff "$IT_DIR/want.txt" "$IT_DIR/resp.txt" || true
it_check "... 2 samples written (rw2_a's good ones)" [ "$(written)" = 2 ]
it_check "... text/plain" grep -qi '^content-type: text/plain' "$IT_DIR/hdr.txt"

post rw2_b "$T=1"
it_check "the stored sample again: 204" [ "$(cat "$IT_DIR/status")" = 204 ]

stored() { # stored NAME: the series' samples as [[t_ms - T,"v"],...]
    curl -fsS "$FW_URL/api/v1/query" --data-urlencode "query=$1[5m]" --data-urlencode "time=$((T / 1000 + 30))" |
        jq -c --argjson t0 "$T" '[.data.result[] | .values[] | [(.[0] * 1000 | round) - $t0, .[1]]]'
}
it_check "rw2_a holds its good samples, not the refused one ($(stored rw2_a))" \
    [ "$(stored rw2_a)" = '[[0,"1"],[1000,"2"],[2000,"3"]]' ]
it_check "rw2_b keeps its first value ($(stored rw2_b))" [ "$(stored rw2_b)" = '[[0,"1"]]' ]
for m in rw2_e rw2_g '{job="x"}'; do
    it_check "nothing stored for $m" [ "$(stored "$m")" = '[]' ]
done

post rw2_h "$T=1"
it_check "rw2_h at T: 204" [ "$(cat "$IT_DIR/status")" = 204 ]
args=(rw2_h "$((T + 1000))=1")
for i in $(seq 1 2000); do args+=("$((T - 100000 - i))=1"); done
post "${args[@]}"
it_check "2000 refused samples: 400" [ "$(cat "$IT_DIR/status")" = 400 ]
bytes=$(wc -c < "$IT_DIR/resp.txt")
kept=$(grep -c '^out of order sample for series {__name__="rw2_h"}$' "$IT_DIR/resp.txt" || true)
left=$(tail -n 1 "$IT_DIR/resp.txt" | sed -n 's/^(\([0-9]*\) more errors left out)$/\1/p')
it_check "... the text is bounded ($bytes bytes, at most 64 KiB and a line)" [ "$bytes" -le 66000 ]
it_check "... its lines and the count left out add up to 2000 ($kept + ${left:-none})" \
    [ "$((kept + ${left:-99999}))" = 2000 ]
it_check "... rw2_h's good sample written" [ "$(written)" = 1 ]

fw_metric() { curl -fsS "$FW_URL/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
for r in out_of_order duplicate labels empty_series out_of_bounds; do
    it_check "rejected reason=$r counted" [ "$(fw_metric "fw_tsdb_remote_write_rejected_total{reason=\"$r\"}")" -ge 1 ]
done
it_check "the invalid series' samples are counted (3)" \
    [ "$(fw_metric fw_tsdb_remote_write_invalid_labels_samples_total)" = 3 ]
it_check "stored samples counted (2 + 2 + 1 + 1 + 1)" \
    [ "$(fw_metric fw_tsdb_remote_write_samples_total)" = 7 ]

it_term "$PID_tsdb"
it_check "tsdb exits 0 on SIGTERM" [ "$IT_RC" = 0 ]
it_finish
