#!/usr/bin/env bash
# remote_read.sh — the real Debian prometheus reads from tsdb's /api/v1/read.
#
# Two hours of the bench kit's history (gen-openmetrics.py, 60 series at 15 s) go into tsdb
# by `tsdb import`. A prometheus 2.42 with no data of its own is started with
# `remote_read: - url: http://127.0.0.1:<tsdb>/api/v1/read, read_recent: true`, so every
# query it answers is answered from what tsdb sends it (Prometheus 2.42's client asks for
# SAMPLES). The kit's 15 queries (queries.txt) are then run on both, prometheus and
# tsdb's own API, and tools/promql-compare.py checks that the answers are the same (series,
# timestamps, values), 0.5 s off the 15 s grid where Prometheus 2.42's closed windows and
# tsdb's (Prometheus 3's) left-open ones select the same samples. Prometheus must count
# its remote reads as 200s and tsdb must have sent samples.
#
# The streamed response (STREAMED_XOR_CHUNKS), which prometheus 2.42's client never asks
# for, is read by `tsdb migrate` (test/it/migrate.sh reads a real prometheus with it): here
# a second tsdb is filled from this one through it, in 30-minute slices, and must answer the
# 15 queries as the first. Then bad input, sent
# with curl (bodies written by python3: literal-only snappy blocks, protobuf by hand): not
# snappy (400 "snappy: corrupt input"), not a ReadRequest (400 "unexpected EOF"), only an
# unknown response type accepted (400, Prometheus's text), a regex that does not compile
# (500, Prometheus's code), a body decompressing to 40 MiB (413), the sample limit
# (400 "exceeded sample limit (100)", tsdb restarted with
# --storage.remote.read-sample-limit=100). The SAMPLES answer to a good request is played
# back by a python3 server (a Prometheus older than 2.13 answers only SAMPLES) for `tsdb
# migrate`, which must read it as well.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
KIT=${SHARED:-../shared}/bench
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds prometheus curl python3 jq
[ -f "$KIT/gen-openmetrics.py" ] || it_skip "the bench kit ($KIT) is not here (set SHARED=...)"
it_tmpdir
D=$IT_DIR

python3 "$KIT/gen-openmetrics.py" --series 60 --hours 2 --step 15 --seed 1 -o "$D/hist.om" \
    >/dev/null 2>&1 || it_die "gen-openmetrics.py failed"
START=1767225600 END=$((1767225600 + 7200 - 15))
"$TSDB" import --quiet --storage.tsdb.path="$D/tsdb" --storage.tsdb.map-size=64MiB "$D/hist.om" \
    >"$D/import.out" 2>&1 || it_die "tsdb import failed: $(cat "$D/import.out")"

TPORT=$(it_free_port)
PPORT=$(it_free_port)
T=http://127.0.0.1:$TPORT
P=http://127.0.0.1:$PPORT
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$D/tsdb.yml"
start_tsdb() { # start_tsdb NAME DIR PORT [FLAGS...]
    local name=$1 dir=$2 port=$3
    shift 3
    it_start "$name" "$TSDB" --config.file="$D/tsdb.yml" --storage.tsdb.path="$dir" \
        --storage.tsdb.retention.time=0s --storage.tsdb.map-size=64MiB \
        --web.listen-address=127.0.0.1:"$port" --scraper.url= --ruled.url= \
        --zmq.samples-address=tcp://127.0.0.1:"$(it_free_port)" \
        --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
        --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)" "$@"
    it_wait_http "http://127.0.0.1:$port/-/ready" || it_die "tsdb $name did not start"
}
start_tsdb tsdb "$D/tsdb" "$TPORT"
cat >"$D/prometheus.yml" <<YML
global:
  scrape_interval: 15s
scrape_configs: []
remote_read:
  - url: $T/api/v1/read
    read_recent: true
YML
it_start prometheus prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/prom" \
    --web.listen-address=127.0.0.1:"$PPORT"
it_wait_http "$P/-/ready" 300 || it_die "prometheus did not start"

compare() { # compare URL_A URL_B OUT
    python3 tools/promql-compare.py --a "$1" --b "$2" --start "$START.5" --end "$END.5" \
        --queries "$KIT/queries.txt" >"$3" 2>&1
}
if compare "$P" "$T" "$D/cmp.txt"; then ok=true; else ok=false; cat "$D/cmp.txt"; fi
it_check "prometheus reading from tsdb answers the 15 queries as tsdb: $(tail -1 "$D/cmp.txt")" $ok
count_same=$(grep -c '^same' "$D/cmp.txt" || true)
it_check "every query compared ($count_same same)" [ "$count_same" = 15 ]
reads=$(curl -fsS "$P/metrics" | awk '/^prometheus_remote_storage_read_queries_total\{.*code="200"/ {s += $2} END {print s + 0}')
it_check "prometheus's remote reads were answered 200 ($reads)" [ "$reads" -gt 10 ]
fw_metric() { curl -fsS "$1/metrics" | awk -v m="$2" '$1 == m {print $2}'; }
sent=$(fw_metric "$T" fw_tsdb_remote_read_samples_total)
it_check "tsdb counted the samples it sent ($sent)" [ "${sent%.*}" -gt 1000 ]
it_term "$PID_prometheus"

# --- streamed chunks: a second tsdb filled through `tsdb migrate` ---
"$TSDB" migrate --from="$T/api/v1/read" --start="$START" --end="$((END + 15))" \
    --data="$D/copy" --storage.tsdb.map-size=64MiB --slice=30m \
    >"$D/migrate.out" 2>&1 || it_die "tsdb migrate from tsdb failed: $(cat "$D/migrate.out")"
it_check "migrate asked for and got streamed chunks: $(grep -o 'streamed[^,]*' "$D/migrate.out" | head -1)" \
    grep -q 'response: streamed' "$D/migrate.out"
C2=$(it_free_port)
start_tsdb copy "$D/copy" "$C2"
if compare "$T" "http://127.0.0.1:$C2" "$D/cmp2.txt"; then ok=true; else ok=false; cat "$D/cmp2.txt"; fi
it_check "a tsdb migrated from tsdb's streamed chunks answers alike: $(tail -1 "$D/cmp2.txt")" $ok
it_term "$PID_copy"

# --- bad input ---
cat >"$D/rr.py" <<'PY'
import struct, sys
from prompb import field, snappy, varint

def query(start, end, matchers):
    q = field(1, 0, varint(start)) + field(2, 0, varint(end))
    for t, n, v in matchers:
        q += field(3, 2, field(1, 0, varint(t)) + field(2, 2, n.encode()) + field(3, 2, v.encode()))
    return field(1, 2, q)

kind, start, end = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
everything = [(2, "__name__", ".+")]
if kind == "garbage":
    body = b"\xff\xff\xff\xff\xff\xff this is not snappy"
elif kind == "notproto":
    body = snappy(b"\x0a\x05abc")
elif kind == "badtype":
    body = snappy(query(start, end, everything) + field(2, 2, varint(7)))
elif kind == "badregex":
    body = snappy(query(start, end, [(2, "__name__", "(")]))
elif kind == "huge":
    body = varint(40 << 20)
else:
    body = snappy(query(start, end, everything))
sys.stdout.buffer.write(body)
PY
post() { # post KIND: prints "status body"
    PYTHONPATH=test/it python3 "$D/rr.py" "$1" "$((START * 1000))" "$((END * 1000))" >"$D/body.bin"
    curl -sS -o "$D/resp.txt" -w '%{http_code}' -X POST --data-binary "@$D/body.bin" \
        -H 'Content-Type: application/x-protobuf' -H 'Content-Encoding: snappy' \
        -H 'X-Prometheus-Remote-Read-Version: 0.1.0' "$T/api/v1/read"
    printf ' %s' "$(tr -d '\000' <"$D/resp.txt")"
}
it_check "not snappy: 400 snappy: corrupt input" [ "$(post garbage)" = "400 snappy: corrupt input" ]
it_check "not a ReadRequest: 400 unexpected EOF" [ "$(post notproto)" = "400 unexpected EOF" ]
it_check "only an unknown response type: 400 with Prometheus's text" \
    [ "$(post badtype)" = "400 server does not support any of the requested response types: [7]; supported: map[SAMPLES:{} STREAMED_XOR_CHUNKS:{}]" ]
it_check "a regex that does not compile: 500 (Prometheus's code): $(post badregex)" \
    bash -c "[[ '$(post badregex)' == 500\ error\ parsing\ regexp* ]]"
it_check "40 MiB decompressed: 413" bash -c "[[ '$(post huge)' == 413\ decompressed* ]]"
it_check "a good request: 200" [ "$(post fine | head -c 3)" = 200 ]

# --- a server answering SAMPLES only (as a Prometheus before 2.13): python3 plays it back ---
cp "$D/resp.txt" "$D/samples.bin" # the SAMPLES answer to the good request just made
cat >"$D/samples_server.py" <<'PY'
import http.server, sys
body = open(sys.argv[2], "rb").read()
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Encoding", "snappy")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
SPORT=$(it_free_port)
it_start samples_server python3 "$D/samples_server.py" "$SPORT" "$D/samples.bin"
it_until 50 0.1 curl -sS -o /dev/null -X POST -d x "http://127.0.0.1:$SPORT/" || it_die "no python server"
"$TSDB" migrate --from="http://127.0.0.1:$SPORT" --start="$START" --end="$END" --slice=3h \
    --data="$D/fromsamples" --storage.tsdb.map-size=64MiB >"$D/ms.out" 2>&1 ||
    it_die "tsdb migrate from a samples answer failed: $(cat "$D/ms.out")"
it_check "migrate reads a SAMPLES answer: $(head -1 "$D/ms.out" | cut -c1-60)" \
    grep -q '^migrated 28800 samples (28800 read) into 60 new series .* (response: samples;' "$D/ms.out"
it_term "$PID_samples_server"
it_term "$PID_tsdb"
start_tsdb limited "$D/tsdb" "$TPORT" --storage.remote.read-sample-limit=100
it_check "over the sample limit: 400 exceeded sample limit (100)" \
    [ "$(post fine)" = "400 exceeded sample limit (100)" ]
codes=$(curl -fsS "$T/metrics" | grep -c '^fw_tsdb_remote_read_requests_total{type="samples",code="400"}' || true)
it_check "refusals are counted by code" [ "$codes" = 1 ]
it_term "$PID_limited"
it_finish
