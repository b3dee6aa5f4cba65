#!/usr/bin/env bash
# query_limits.sh — heavy queries cannot take tsdb down: memory stays bounded, each limit fails
# one query with Prometheus's error, and ingest and the other queries carry on.
#
# tsdb imports 400,000 series of one sample (heavy_requests_total) and 410 series of a
# sample a minute over 46 hours (range_requests_total). While fwpush keeps pushing a probe
# series (its batches acknowledged, fw_tsdb_samples_appended_total rising):
#   1. count(heavy_requests_total) answers 400000 and tsdb's anonymous RSS rises by less
#      than COUNT_MAX_MB (~110 MB measured; it rose ~600 MB when each selected series kept
#      its labels as heap strings and an iterator);
#   2. four concurrent 11,000-step range queries rate(range_requests_total[5m]) each answer
#      410 series of 11,000 points, and anonymous RSS rises by less than RANGE_MAX_MB (1.2 GB
#      when each answer was built twice beside its points);
#   3. the query log (query_log_file) has a JSON line per query (params, stats, httpRequest)
#      and, moved away, is reopened by name on SIGHUP; 11,000 points and too deep a nesting
#      are refused with a clear error and tsdb keeps answering.
# Then tsdb and the real Debian prometheus run side by side, with the same limit flags, and
# their answers (HTTP code, errorType, error) are compared: --query.max-samples=1000 over
# 2,000 series (tsdb gets them with fwpush, prometheus scrapes them from a local python3
# server), 11,001 points, a timeout parameter and --query.timeout=1500ms reached, and
# --query.max-concurrency=1 with a second query waiting past its timeout ("query timed out in query queue", Prometheus 2's
# answer), and --query.max-samples=0 (every query holding a sample fails). A ruled recording
# rule over ZeroMQ gets the same samples-limit error.
# Figures (RSS, times, samples appended) are printed.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
BIN=$BUILD/bin
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
if it_asan_build "$BIN/tsdb"; then
    it_skip "the memory bounds measure the release build, not an AddressSanitizer build"
fi
it_need_bins tsdb fwpush ruled
it_need_cmds python3 jq curl prometheus
it_tmpdir
D=$IT_DIR
COUNT_MAX_MB=${COUNT_MAX_MB:-250} RANGE_MAX_MB=${RANGE_MAX_MB:-1000}

# --- data -----------------------------------------------------------------------------
T0=$((($(date +%s) / 60 - 60) * 60)) # a whole minute, an hour ago (seconds)
python3 - "$T0" >"$D/data.prom" <<'PY'
import sys
t0 = int(sys.argv[1]) * 1000
w = sys.stdout.write
for i in range(400000):
    w('heavy_requests_total{instance_id="i-%08d",path="/api/v1/items/%d/detail",code="%d"} %d.5 %d\n'
      % (i, i % 977, 200 + i % 5, i, t0))
steps = 46 * 60
for i in range(410):
    for k in range(steps + 1):
        w('range_requests_total{instance="r-%03d",code="%d"} %d %d\n'
          % (i, 200 + i % 5, k * (i + 1), t0 - (steps - k) * 60000))
PY
"$BIN/tsdb" import --storage.tsdb.path="$D/tsdb" "$D/data.prom" >"$D/import.out" 2>&1 ||
    it_die "tsdb import: $(cat "$D/import.out")"
rm -f "$D/data.prom"
it_ok "imported: $(head -1 "$D/import.out" | cut -c1-100)"

# tsdb_start FLAG...: tsdb on $D/tsdb with the config $D/tsdb.yml; sets TSDB (pid), T (URL),
# T_SAMPLES and T_QUERY.
tsdb_start() {
    T_SAMPLES=$(it_free_port) T_QUERY=$(it_free_port)
    local web
    web=$(it_free_port)
    it_start tsdb "$BIN/tsdb" --config.file="$D/tsdb.yml" --storage.tsdb.path="$D/tsdb" \
        --web.listen-address=127.0.0.1:"$web" --scraper.url= \
        --zmq.samples-address=tcp://127.0.0.1:"$T_SAMPLES" \
        --zmq.query-address=tcp://127.0.0.1:"$T_QUERY" \
        --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)" "$@"
    TSDB=$PID_tsdb T=http://127.0.0.1:$web
    it_wait_http "$T/-/ready" || it_die "tsdb did not start"
}
anon_kb() { awk '/^RssAnon:/ {print $2}' "/proc/$1/status"; }
appended() { curl -sf "$T/metrics" | awk '/^fw_tsdb_samples_appended_total/ {print $2}'; }
# peak_start PID / peak_stop: the highest RssAnon of PID in between, sampled every 50 ms.
peak_start() {
    (p=0; for _ in $(seq 1 6000); do a=$(anon_kb "$1") || break; [ "$a" -gt "$p" ] && p=$a &&
        echo "$p" >"$D/peak"; sleep 0.05; done) &
    PEAK_PID=$!
    IT_PIDS+=("$PEAK_PID")
}
peak_stop() { it_term "$PEAK_PID"; cat "$D/peak"; }

printf 'global:\n  query_log_file: queries.log\n' >"$D/tsdb.yml"
tsdb_start
# the probe: one sample every 0.2 s for as long as the heavy queries may take (bounded)
(for i in $(seq 1 1500); do
    echo "qlimits_probe $i" | "$BIN/fwpush" --endpoint=tcp://127.0.0.1:"$T_SAMPLES" --timeout=5s ||
        echo "probe $i not acknowledged" >>"$D/probe.fail"
    sleep 0.2
done) >/dev/null 2>&1 &
PROBE=$!
IT_PIDS+=("$PROBE")
it_wait_for "the probe stored" it_has qlimits_probe curl -sf "$T/api/v1/query?query=qlimits_probe"

# --- 1. count over 400,000 series -------------------------------------------------------
base=$(anon_kb "$TSDB") a0=$(appended)
peak_start "$TSDB"
t=$(date +%s%N)
out=$(curl -sf --max-time 60 "$T/api/v1/query" --data-urlencode 'query=count(heavy_requests_total)' \
    --data-urlencode "time=$((T0 + 1))") || it_die "count query failed"
ms=$((($(date +%s%N) - t) / 1000000))
peak=$(peak_stop) a1=$(appended)
[ "$(echo "$out" | jq -r '.data.result[0].value[1]')" = 400000 ] || it_die "count: $out"
rise=$(((peak - base) / 1024))
echo "count(heavy_requests_total) over 400000 series: ${ms} ms, tsdb anonymous RSS ${base} kB -> peak ${peak} kB (+${rise} MiB, $(((peak - base) * 1024 / 400000)) bytes a series); samples appended ${a0} -> ${a1}"
[ "$rise" -lt "$COUNT_MAX_MB" ] || it_die "count raised tsdb's anonymous RSS by $rise MiB (bound $COUNT_MAX_MB)"
it_ok "count over 400,000 series: 400000, anonymous RSS +$rise MiB < $COUNT_MAX_MB MiB"

# --- 2. four concurrent 11,000-step range queries -----------------------------------------
S=$((T0 - 10999 * 15))
base=$(anon_kb "$TSDB") a0=$(appended)
peak_start "$TSDB"
t=$(date +%s%N)
pids=()
for k in 1 2 3 4; do
    (s=$(date +%s%N)
     curl -sf --max-time 300 -o "$D/range$k.json" "$T/api/v1/query_range" \
         --data-urlencode 'query=rate(range_requests_total[5m])' --data-urlencode "start=$S" \
         --data-urlencode "end=$T0" --data-urlencode step=15 || echo fail >"$D/range$k.fail"
     echo $((($(date +%s%N) - s) / 1000000)) >"$D/range$k.ms") &
    pids+=($!)
done
a_mid=$(appended)
for p in "${pids[@]}"; do wait "$p"; done
peak=$(peak_stop) a1=$(appended)
for k in 1 2 3 4; do
    [ ! -e "$D/range$k.fail" ] || it_die "range query $k failed"
    shape=$(jq -r '"\(.data.result | length) \([.data.result[].values | length] | min)"' "$D/range$k.json")
    [ "$shape" = "410 11000" ] || it_die "range query $k: $shape (series, least points)"
    rm -f "$D/range$k.json"
done
rise=$(((peak - base) / 1024))
echo "4 concurrent 11000-step range queries over 410 series: $(cat "$D"/range?.ms | tr '\n' ' ')ms, tsdb anonymous RSS ${base} kB -> peak ${peak} kB (+${rise} MiB); samples appended ${a0} -> ${a_mid} -> ${a1}"
[ "$rise" -lt "$RANGE_MAX_MB" ] || it_die "the range queries raised tsdb's anonymous RSS by $rise MiB (bound $RANGE_MAX_MB)"
it_ok "4 x 11,000-step range queries: 410 series x 11,000 points each, anonymous RSS +$rise MiB < $RANGE_MAX_MB MiB"
[ "$a1" -gt "$a0" ] || it_die "no sample appended during the heavy queries ($a0 -> $a1)"
[ ! -e "$D/probe.fail" ] || it_die "probe batches not acknowledged: $(head -3 "$D/probe.fail")"
it_ok "ingest went on during the heavy queries: every probe batch acknowledged, samples appended $a0 -> $a1"

# --- 3. query log, refusals --------------------------------------------------------------
line=$(grep -m1 -F '"query":"count(heavy_requests_total)"' "$D/queries.log")
echo "query log: $line"
echo "$line" | jq -e '.msg == "promql query logged" and .params.step == 0 and
    .stats.samples.totalQueryableSamples == 400000 and .stats.samples.peakSamples >= 400000 and
    (.stats.timings.evalTotalTime | type) == "number" and .httpRequest.path == "/api/v1/query" and
    .httpRequest.clientIP == "127.0.0.1"' >/dev/null || it_die "query log line: $line"
[ "$(grep -c '"query":"rate(range_requests_total\[5m\])"' "$D/queries.log")" = 4 ] ||
    it_die "the range queries are not logged: $(tail -2 "$D/queries.log")"
grep -F '"step":15' "$D/queries.log" >/dev/null || it_die "range query step not logged"
mv "$D/queries.log" "$D/queries.log.1"
kill -HUP "$TSDB"
logged() { curl -sf "$T/api/v1/query?query=vector(7)" >/dev/null && grep -qF 'vector(7)' "$D/queries.log"; }
it_wait_for "the query log reopened after SIGHUP" logged
curl -sf "$T/api/v1/query?query=vector(8)" >/dev/null
grep -qF 'vector(8)' "$D/queries.log" || it_die "a query after the reopen is not in the new log"
grep -qF 'vector(8)' "$D/queries.log.1" && it_die "a query went to the moved log after the reopen"
it_ok "query log: a JSON line per query (params, stats, httpRequest), reopened by name on SIGHUP"

code=$(curl -s -o "$D/out" -w '%{http_code}' "$T/api/v1/query" \
    --data-urlencode "query=$(printf '(%.0s' $(seq 1 3000))1$(printf ')%.0s' $(seq 1 3000))")
[ "$code" = 400 ] && jq -e '.errorType == "bad_data" and (.error | test("nests too deeply"))' "$D/out" >/dev/null ||
    it_die "deep nesting: $code $(head -c 300 "$D/out")"
it_has '"410"' curl -sf "$T/api/v1/query?query=count(range_requests_total)&time=$T0" || it_die "tsdb stopped answering"
it_ok "3,000 nested parentheses: 400 bad_data \"$(jq -r .error "$D/out")\"; tsdb keeps answering"

code=$(curl -s -o "$D/out" -w '%{http_code}' "$T/api/v1/query?query=count_over_time(vector(time())%5B100d:1s%5D)&timeout=100ms")
[ "$code" = 503 ] && [ "$(jq -r .error "$D/out")" = "query timed out in expression evaluation" ] ||
    it_die "timeout: $code $(cat "$D/out")"
it_ok "a query past its timeout: 503 timeout, tsdb keeps answering"
it_term "$PROBE"
it_term "$TSDB"

# --- 4. the same limits as the Debian prometheus ------------------------------------------
SRV=$(it_free_port)
cat >"$D/target.py" <<'PY'
import http.server, sys
BODY = b"".join(b'limit_probe{i="%d"} %d\n' % (i, i) for i in range(2000))
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
it_start target python3 "$D/target.py" "$SRV"
printf 'global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: probe\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' \
    "$SRV" >"$D/prometheus.yml"
# prom_start FLAG...: the Debian prometheus on its own data directory; sets PROM and P.
prom_start() {
    local web
    web=$(it_free_port)
    rm -rf "$D/prom"
    it_start prometheus prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/prom" \
        --web.listen-address=127.0.0.1:"$web" "$@"
    PROM=$PID_prometheus P=http://127.0.0.1:$web
    it_wait_http "$P/-/ready" 300 || it_die "prometheus did not start"
}
# same DESC ARGS...: the same request (curl ARGS after the base URL) to both; their status
# code, errorType and error must agree and be an error.
same() {
    local desc=$1 path=$2; shift 2
    local a b
    a="$(curl -s -o "$D/p.json" -w '%{http_code}' --max-time 30 "$P$path" "$@") $(jq -c '[.errorType, .error]' "$D/p.json")"
    b="$(curl -s -o "$D/t.json" -w '%{http_code}' --max-time 30 "$T$path" "$@") $(jq -c '[.errorType, .error]' "$D/t.json")"
    [ "$a" = "$b" ] || it_die "$desc: prometheus $a, tsdb $b"
    case $a in 2*) it_die "$desc: no error ($a)" ;; esac
    it_ok "$desc: both $a"
}

printf 'global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n' >"$D/tsdb.yml"
cat >"$D/rules.yml" <<'EOF'
groups:
  - name: limits
    rules:
      - record: limit_probe:count
        expr: count(limit_probe)
EOF
tsdb_start --query.max-samples=1000
prom_start --query.max-samples=1000
python3 -c 'import time; t = int(time.time() * 1000)
for i in range(2000): print("limit_probe{i=\"%d\",instance=\"127.0.0.1\",job=\"probe\"} %d %d" % (i, i, t))' |
    "$BIN/fwpush" --endpoint=tcp://127.0.0.1:"$T_SAMPLES" >/dev/null || it_die "fwpush limit_probe"
scraped() { it_has '"1"\]' curl -sf "$P/api/v1/query?query=up"; }
it_until 300 0.1 scraped || it_die "prometheus did not scrape the target"
same "--query.max-samples=1000, count over 2,000 series" /api/v1/query --data-urlencode 'query=count(limit_probe)'
same "11,001 points" /api/v1/query_range --data-urlencode 'query=up' --data-urlencode start=0 \
    --data-urlencode end=11001 --data-urlencode step=1
it_has '"410"' curl -sf "$T/api/v1/query?query=count(range_requests_total)&time=$T0" ||
    it_die "tsdb stopped answering after the refusals"

R_WEB=$(it_free_port)
it_start ruled "$BIN/ruled" --storage.path="$D/ruled-state" --config.file="$D/tsdb.yml" --web.listen-address=127.0.0.1:"$R_WEB" \
    --zmq.tsdb-address=tcp://127.0.0.1:"$T_SAMPLES" --zmq.query-address=tcp://127.0.0.1:"$T_QUERY" \
    --zmq.alertd-address=tcp://127.0.0.1:"$(it_free_port)" --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
rule_err() {
    curl -sf "http://127.0.0.1:$R_WEB/api/v1/rules" | jq -r '.data.groups[0].rules[0].lastError'
}
it_wait_for "ruled's rule failing with the samples limit" \
    it_has -F "query processing would load too many samples into memory in query execution" rule_err
it_ok "over ZeroMQ (ruled's QUERY): the rule fails with the same samples-limit error"
it_term "$PID_ruled"
it_term "$TSDB"
it_term "$PROM"

printf 'global: {}\n' >"$D/tsdb.yml"
tsdb_start --query.max-concurrency=1 --query.timeout=1500ms
prom_start --query.max-concurrency=1 --query.timeout=1500ms
# Slow on both, holding little: each evaluates a subquery's inner steps once over its whole
# range, so the left side costs a 2.6-million-step pass and the right side's 8.6 million
# steps ~14 s on prometheus
SLOW_Q='count_over_time(count_over_time(vector(time())[1h:1s])[30d:1m]) + count_over_time(vector(time())[100d:1s])'
same "the timeout parameter reached (timeout=100ms)" /api/v1/query \
    --data-urlencode "query=$SLOW_Q" --data-urlencode timeout=100ms
same "--query.timeout=1500ms reached" /api/v1/query --data-urlencode "query=$SLOW_Q"
# queue: one slow query holds the only slot for 1.5 s; the second waits past its own timeout
for u in "$P" "$T"; do
    curl -s -o /dev/null --max-time 30 "$u/api/v1/query" --data-urlencode "query=$SLOW_Q" &
    SLOW=$!
    sleep 0.3
    code=$(curl -s -o "$D/q.json" -w '%{http_code}' --max-time 30 "$u/api/v1/query" \
        --data-urlencode 'query=vector(1)' --data-urlencode timeout=500ms)
    echo "$code $(jq -c '[.errorType, .error]' "$D/q.json")" >>"$D/queue.out"
    wait "$SLOW" || true
done
[ "$(sort -u "$D/queue.out")" = '503 ["timeout","query timed out in query queue"]' ] ||
    it_die "--query.max-concurrency=1, a waiting query: $(cat "$D/queue.out") (prometheus, tsdb)"
it_ok "--query.max-concurrency=1, a second query past its timeout: both 503 \"query timed out in query queue\""
it_has '"3"' curl -sf "$T/api/v1/query?query=vector(3)" || it_die "tsdb stopped answering"
it_ok "tsdb answers again once the slow query is done"
it_term "$TSDB"
it_term "$PROM"

# --query.max-samples=0: every query that holds a sample fails (a literal, a function's
# answer, selected samples); one that selects nothing, and a string, pass (2.42's answers)
tsdb_start --query.max-samples=0
prom_start --query.max-samples=0
for q in '1+2' 'vector(1)' 'time()' 'sum(no_such_metric) * 2' 'absent(no_such_metric)'; do
    same "--query.max-samples=0, $q" /api/v1/query --data-urlencode "query=$q"
done
for q in 'sum(no_such_metric)' '"a"' 'label_replace(no_such_metric, "a", "b", "c", "d")'; do
    a=$(curl -s "$P/api/v1/query" --data-urlencode "query=$q" --data-urlencode time=100)
    b=$(curl -s "$T/api/v1/query" --data-urlencode "query=$q" --data-urlencode time=100)
    [ "$a" = "$b" ] && [ "$(jq -r .status <<<"$a")" = success ] ||
        it_die "--query.max-samples=0, $q: prometheus $a, tsdb $b"
    it_ok "--query.max-samples=0, $q: both $a"
done
it_finish
