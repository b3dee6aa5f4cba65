#!/usr/bin/env bash
# import.sh — `tsdb import` end to end, against the real promtool and prometheus.
#
# One history (42 series x 1 h at 15 s: counters with a reset, 1-decimal gauges, a histogram
# and a gauge with NaN) is written twice: as OpenMetrics, series after series, seconds
# (promtool's backfill input), and as Prometheus text, scrape after scrape, milliseconds.
# Asserts that promtool accepts the OpenMetrics file (so it is really promtool's format);
# that both files import (exit 0, the summary's counts) and answer a list of instant and
# range queries through tsdb's HTTP API exactly as Prometheus answers them from promtool's
# blocks (tools/promql-compare.py: same series, same timestamps, same values); that a file
# with bad lines is refused with file:line:col, exit 1 and nothing imported; that progress
# is shown on a terminal and never in a pipe; that an import into the directory of a
# running tsdb is refused.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_tmpdir
D=$IT_DIR

# --- the history, in two formats and two orders ---
read -r NSERIES NSAMPLES < <(python3 - "$D" <<'PY'
import math, random, sys
d = sys.argv[1]
rnd = random.Random(7)
T0, STEP, N = 1767225600, 15, 240
series = []  # (family, type, name, labels, values, decimals)
for i in range(12):
    v, vals = rnd.randrange(1000), []
    for k in range(N):
        v = 0 if k == 100 + i else v + rnd.randrange(0, 40)  # one reset each
        vals.append(v)
    series.append(("reqs", "counter", "reqs_total",
                   'code="%d",path="/p%d"' % (200 + i % 3 * 100, i), vals, 0))
for i in range(10):
    v, vals = 20 + i, []
    for k in range(N):
        v += rnd.gauss(0, 0.3)
        vals.append(round(v, 1))
    series.append(("temp_celsius", "gauge", "temp_celsius", 'room="r%d"' % i, vals, 1))
cum, s_, c_ = [0] * 4, 0.0, 0
les = ["0.1", "0.5", "1", "+Inf"]
rows = [[] for _ in range(6)]
for k in range(N):
    for b in range(4):
        cum[b] += rnd.randrange(0, 5) * (b + 1)
    for b in range(1, 4):
        cum[b] = max(cum[b], cum[b - 1])
    s_ += rnd.random() * 10
    for b in range(4):
        rows[b].append(cum[b])
    rows[4].append(cum[3])
    rows[5].append(round(s_, 3))
for b in range(4):
    series.append(("lat_seconds", "histogram", "lat_seconds_bucket", 'le="%s"' % les[b], rows[b], 0))
series.append(("lat_seconds", "histogram", "lat_seconds_count", "", rows[4], 0))
series.append(("lat_seconds", "histogram", "lat_seconds_sum", "", rows[5], 3))
for i in range(14):
    series.append(("level", "gauge", "level", 'tank="t%d"' % i,
                   [float("nan") if k % 37 == i else k * 0.25 + i for k in range(N)], 2))

def fmt(v, dec):
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    return ("%d" % v) if dec == 0 else repr(float(v))

def lab(name, labels):
    return "%s{%s}" % (name, labels) if labels else name

with open(d + "/hist.om", "w") as f:
    seen = set()
    for fam, typ, name, labels, vals, dec in series:
        if fam not in seen:
            seen.add(fam)
            f.write("# HELP %s test %s\n# TYPE %s %s\n" % (fam, fam, fam, typ))
        for k, v in enumerate(vals):
            f.write("%s %s %d\n" % (lab(name, labels), fmt(v, dec), T0 + k * STEP))
    f.write("# EOF\n")
with open(d + "/hist.prom", "w") as f:
    for k in range(N):
        for fam, typ, name, labels, vals, dec in series:
            f.write("%s %s %d\n" % (lab(name, labels), fmt(vals[k], dec), (T0 + k * STEP) * 1000))
print(len(series), len(series) * N)
PY
)
START=1767225600 END=$((1767225600 + 239 * 15))

cat >"$D/queries.txt" <<'Q'
count_all   | instant  | count({__name__=~".+"})
rate        | instant  | rate(reqs_total[5m])
increase    | instant  | sum by (code) (increase(reqs_total[1h]))
rate_range  | range:60 | sum by (code) (rate(reqs_total[2m]))
quantile    | range:60 | histogram_quantile(0.9, sum by (le) (rate(lat_seconds_bucket[5m])))
avg_temp    | range:30 | avg_over_time(temp_celsius[10m])
max_temp    | instant  | max_over_time(temp_celsius[1h])
level_nan   | range:15 | level
level_sum   | instant  | sum_over_time(level[30m])
raw         | instant  | {__name__=~".+"}[2h]
Q

# --- promtool takes the same file ---
if command -v promtool >/dev/null; then
    it_check "promtool tsdb create-blocks-from openmetrics accepts hist.om" \
        promtool tsdb create-blocks-from openmetrics -q "$D/hist.om" "$D/blocks"
    blocks_samples=$(cat "$D"/blocks/*/meta.json | jq -s 'map(.stats.numSamples) | add')
    it_check "promtool's blocks hold the $NSAMPLES samples" [ "$blocks_samples" = "$NSAMPLES" ]
else
    echo "import.sh: promtool is not installed: its checks are skipped"
fi

# --- import: exit 0, the counts, nothing on a pipe ---
imp() { "$TSDB" import --storage.tsdb.map-size=256MiB "$@"; }
set +e
imp --storage.tsdb.path="$D/om" "$D/hist.om" >"$D/om.out" 2>"$D/om.err"
rc_om=$?
imp --storage.tsdb.path="$D/prom" --max-samples-in-memory=1000 "$D/hist.prom" \
    >"$D/prom.out" 2>"$D/prom.err"
rc_prom=$?
set -e
want="imported $NSAMPLES samples of $NSAMPLES read, $NSERIES series ($NSERIES new) from 1 file"
it_check "import of the OpenMetrics file exits 0" [ "$rc_om" = 0 ]
it_check "its summary: $want" grep -qF "$want" "$D/om.out"
it_check "import of the text file (time-major, ms, 11 commits) exits 0" [ "$rc_prom" = 0 ]
it_check "its summary counts the same" grep -qF "$want" "$D/prom.out"
it_check "its summary shows 11 commits" grep -q "; 11 commits$" "$D/prom.out"
it_check "no progress and no error text on a pipe" [ ! -s "$D/om.err" ] && [ ! -s "$D/prom.err" ]
if command -v script >/dev/null; then # a pseudo-terminal (util-linux)
    script -q -c "'$TSDB' import --storage.tsdb.path='$D/tty' '$D/hist.om'" /dev/null \
        >"$D/tty.out" 2>&1 </dev/null || true
    it_check "progress on a terminal" grep -q "importing 100.0%" "$D/tty.out"
fi

# --- bad lines: file:line:col, exit 1, nothing imported ---
{
    echo '# TYPE only_in_bad gauge'
    echo 'only_in_bad{a="1"} 1 1767225600'
    echo 'only_in_bad{a="1"} 2'
    echo 'only_in_bad{a="1" 3 1767225630'
    echo '# EOF'
} >"$D/bad.om"
set +e
imp --storage.tsdb.path="$D/om" "$D/bad.om" >"$D/bad.out" 2>"$D/bad.err"
rc=$?
set -e
it_check "a file with bad lines exits 1" [ "$rc" = 1 ]
it_check "line 3 named: no timestamp" \
    grep -qF "$D/bad.om:3:21: error: sample without a timestamp" "$D/bad.err"
it_check "line 4 named: the syntax error" \
    grep -qF "$D/bad.om:4:18: error: expected ',' or '}' after label value" "$D/bad.err"
it_check "and nothing was imported" grep -qF "2 bad lines: nothing was imported" "$D/bad.err"

# --- queries: tsdb on each import against prometheus on promtool's blocks ---
# start_tsdb NAME DIR: a tsdb on DIR (retention off: the history is old); sets URL. Not in a
# $(...) subshell, so that it_start's PID list is the one it_cleanup stops.
start_tsdb() {
    local port
    port=$(it_free_port)
    it_start "$1" "$TSDB" --storage.tsdb.path="$2" --storage.tsdb.retention.time=0s \
        --storage.tsdb.map-size=256MiB --web.listen-address=127.0.0.1:"$port" \
        --zmq.samples-address=tcp://127.0.0.1:"$(it_free_port)" \
        --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
        --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
    URL=http://127.0.0.1:$port
    it_wait_http "$URL/-/ready" >/dev/null
}
start_tsdb tsdb_om "$D/om"
OM_URL=$URL
start_tsdb tsdb_prom "$D/prom"
PROM_URL=$URL
q() { curl -fsS --max-time 10 -G "$1/api/v1/query" --data-urlencode "query=$2" \
    --data-urlencode "time=$END" | jq -r '.data.result | map(.value[1]) | join(",")'; }
it_check "tsdb answers count of all series = $NSERIES" [ "$(q "$OM_URL" 'count({__name__=~".+"})')" = "$NSERIES" ]
it_check "the bad file's good line was not imported" [ -z "$(q "$OM_URL" only_in_bad)" ]
it_check "a value as written: level{tank=\"t3\"} at the end = 62.75" \
    [ "$(q "$OM_URL" 'level{tank="t3"}')" = "62.75" ]

set +e
imp --storage.tsdb.path="$D/om" "$D/hist.om" >"$D/busy.out" 2>"$D/busy.err"
rc=$?
set -e
it_check "an import into a running tsdb's directory exits 1" [ "$rc" = 1 ]
it_check "and says the directory is in use" grep -q "in use by another process" "$D/busy.err"

# tsdb's PromQL is Prometheus 3's, the peer is Prometheus 2.42: compare off the 15 s grid
# (+0.5 s), where 2's closed range boundaries and 3's left-open ones select the same
# samples, and from 10 minutes in, where no rate window reaches back to the first samples
# (3 changed how far rate extrapolates towards a counter's zero there).
cmp_urls() {
    python3 tools/promql-compare.py --a "$1" --b "$2" --start "$((START + 600)).5" \
        --end "$END.5" --queries "$D/queries.txt" >"$D/cmp-$3.log" 2>&1
}
it_check "both imports answer the same (10 queries)" cmp_urls "$OM_URL" "$PROM_URL" fw
if command -v prometheus >/dev/null && [ -d "$D/blocks" ]; then
    pport=$(it_free_port)
    printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$D/prometheus.yml"
    it_start prometheus prometheus --config.file="$D/prometheus.yml" \
        --storage.tsdb.path="$D/blocks" --storage.tsdb.retention.time=100y \
        --web.listen-address=127.0.0.1:"$pport"
    if it_wait_http "http://127.0.0.1:$pport/-/ready" 300 >/dev/null; then
        it_check "tsdb answers as prometheus on promtool's blocks (10 queries)" \
            cmp_urls "http://127.0.0.1:$pport" "$OM_URL" prom
    else
        it_fail "prometheus on promtool's blocks did not start"
    fi
else
    echo "import.sh: prometheus is not installed: the comparison with it is skipped"
fi
for f in "$D"/cmp-*.log; do grep -v '^same ' "$f" || true; done
it_finish
