#!/usr/bin/env bash
# bench-storage.sh KIT_DIR BIN_DIR — the storage half of `make bench` (called by bench.sh).
#
# One OpenMetrics history from the peer kit's generator (gen-openmetrics.py, deterministic:
# STORAGE_SERIES x STORAGE_HOURS at STORAGE_STEP s, seed 1; defaults 1000 x 2 h at 15 s, the
# kit's bytes-per-sample.sh file) is backfilled twice: by `promtool tsdb
# create-blocks-from openmetrics` (the Debian prometheus package's promtool) and by
# `tsdb import`. Measured for each: wall and CPU time (samples/s), peak RSS, and the bytes
# on disk per sample: Prometheus's blocks (chunks + index, as the kit's bytes-per-sample.sh
# counts them, and every file of the blocks) against floorwatch's data.mdb (every file of
# the data directory for the second figure). Then prometheus serves promtool's blocks and
# tsdb the imported directory, and the kit's query-latency.py times the 15 queries of
# queries.txt against each (1 warm-up + QUERY_RUNS timed runs, median), one after the
# other, then each server's CPU per query (each sent QUERY_CPU_RUNS times, default 100);
# tools/promql-compare.py checks that both answer every query alike (same series,
# timestamps and values; evaluated 0.5 s off the 15 s grid, see below). Prints key=value
# lines, then tables with ratios (higher ratio = floorwatch better). Every process is
# started and stopped by PID, every wait is bounded, the temp dir is removed.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KIT_DIR BIN_DIR" >&2; exit 2; }
KIT=$(cd "$1" && pwd)
BIN=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NS=${STORAGE_SERIES:-1000} HOURS=${STORAGE_HOURS:-2} STEP=${STORAGE_STEP:-15}
RUNS=${QUERY_RUNS:-7}
. "$KIT/lib.sh"
# shellcheck source=tools/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh" # bench_tmp, free_port, now

bench_tmp storage
fsum() { find "$@" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}'; }

echo "   storage: gen-openmetrics.py --series $NS --hours $HOURS --step $STEP --seed 1"
python3 "$KIT/gen-openmetrics.py" --series "$NS" --hours "$HOURS" --step "$STEP" --seed 1 \
    -o "$TMP/om.txt" 2>"$TMP/gen.log" ||
    { echo "bench-storage: gen-openmetrics.py failed: $(cat "$TMP/gen.log")" >&2; exit 1; }

# --- backfill: promtool, then tsdb import (same file, page cache warm for both) ---
cat "$TMP/om.txt" >/dev/null
/usr/bin/time -f "%e %U %S %M" -o "$TMP/promtool.time" \
    promtool tsdb create-blocks-from openmetrics -q "$TMP/om.txt" "$TMP/blocks" \
    >"$TMP/promtool.log" 2>&1 ||
    { echo "bench-storage: promtool failed: $(tail -3 "$TMP/promtool.log")" >&2; exit 1; }
/usr/bin/time -f "%e %U %S %M" -o "$TMP/import.time" \
    "$BIN/tsdb" import --quiet --storage.tsdb.path="$TMP/fw-data" "$TMP/om.txt" \
    >"$TMP/import.out" 2>"$TMP/import.err" ||
    { echo "bench-storage: tsdb import failed: $(tail -3 "$TMP/import.err")" >&2; exit 1; }
# The same file imported twice more, for the disk figures only: both rollup levels kept
# whatever the file's age (the default keeps 5-minute rollups 30 days and the file starts
# 2026-01-01: with the default only the 1-hour level is written for it, while history
# younger than 30 days gets both), and rollups off (like for like with Prometheus's blocks,
# which hold no aggregates).
import_as() { # DIR FLAGS...
    local dir=$1
    shift
    "$BIN/tsdb" import --quiet --storage.tsdb.path="$dir" "$@" "$TMP/om.txt" >"$dir.out" \
        2>&1 || { echo "bench-storage: tsdb import $*: $(tail -3 "$dir.out")" >&2; exit 1; }
}
import_as "$TMP/fw-keep" --storage.tsdb.rollup-5m-retention=100y \
    --storage.tsdb.rollup-1h-retention=100y
import_as "$TMP/fw-off" --storage.tsdb.rollup-5m-retention=0 --storage.tsdb.rollup-1h-retention=0
{
    read -r wall user sys rss <"$TMP/promtool.time"
    echo "p_wall=$wall p_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{print u + s}') p_rss_kb=$rss"
    echo "p_samples=$(cat "$TMP"/blocks/*/meta.json | jq -s 'map(.stats.numSamples) | add')"
    echo "p_series=$(cat "$TMP"/blocks/*/meta.json | jq -s 'map(.stats.numSeries) | add')"
    echo "p_chunks=$(fsum "$TMP"/blocks/*/chunks) p_index=$(fsum "$TMP"/blocks/*/index)"
    echo "p_dir=$(fsum "$TMP/blocks")"
    read -r wall user sys rss <"$TMP/import.time"
    echo "o_wall=$wall o_cpu=$(awk -v u="$user" -v s="$sys" 'BEGIN{print u + s}') o_rss_kb=$rss"
    echo "o_samples=$(sed -n 's/^imported \([0-9]*\) samples.*/\1/p' "$TMP/import.out")"
    echo "o_series=$(sed -n 's/.* read, \([0-9]*\) series.*/\1/p' "$TMP/import.out")"
    echo "o_mdb=$(stat -c %s "$TMP/fw-data/data.mdb") o_dir=$(fsum "$TMP/fw-data")"
    echo "o_mdb_keep=$(stat -c %s "$TMP/fw-keep/data.mdb") o_mdb_off=$(stat -c %s \
        "$TMP/fw-off/data.mdb")"
} >"$TMP/backfill.env"
echo "storage_backfill: $(tr '\n' ' ' <"$TMP/backfill.env")"
echo "storage_import_summary: $(head -1 "$TMP/import.out")"
echo "storage_rollups: default: $(grep '^rollups' "$TMP/import.out");" \
    "both levels kept: $(grep '^rollups' "$TMP/fw-keep.out"); off: $(grep '^rollups' \
    "$TMP/fw-off.out")"

# --- queries: prometheus on promtool's blocks, tsdb on the import ---
START=$(cat "$TMP"/blocks/*/meta.json | jq -s 'map(.minTime) | min / 1000')
END=$(cat "$TMP"/blocks/*/meta.json | jq -s 'map(.maxTime) | max / 1000 | floor')
PP=$(free_port) TH=$(free_port)
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$TMP/prometheus.yml"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/blocks" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PP" \
    >"$TMP/prometheus.log" 2>&1 &
PROM_PID=$!
RUN_PIDS+=("$PROM_PID")
# Retention off: the generated history is older than any retention would keep.
"$BIN/tsdb" --log.level=warn --storage.tsdb.path="$TMP/fw-data" \
    --storage.tsdb.retention.time=0s --web.listen-address="127.0.0.1:$TH" \
    --zmq.samples-address="tcp://127.0.0.1:$(free_port)" \
    --zmq.query-address="tcp://127.0.0.1:$(free_port)" \
    --zmq.pub-address="tcp://127.0.0.1:$(free_port)" >"$TMP/tsdb.log" 2>&1 &
TSDB_PID=$!
RUN_PIDS+=("$TSDB_PID")
wait_http "http://127.0.0.1:$PP/-/ready" 60 ||
    { echo "bench-storage: prometheus not ready: $(tail -3 "$TMP/prometheus.log")" >&2; exit 1; }
wait_http "http://127.0.0.1:$TH/-/ready" 60 ||
    { echo "bench-storage: tsdb not ready: $(tail -3 "$TMP/tsdb.log")" >&2; exit 1; }
ql() {
    python3 "$KIT/query-latency.py" --url "$1" --start "$START" --end "$END" --runs "$RUNS" \
        --queries "$KIT/queries.txt"
}
ql "http://127.0.0.1:$PP" >"$TMP/q-peer.txt"
ql "http://127.0.0.1:$TH" >"$TMP/q-ours.txt"
# Server CPU per query, less moved by other load than wall medians: each query sent
# QUERY_CPU_RUNS times with curl (a connection each, as query-latency.py), the server's
# user+sys CPU (cpu_seconds: every thread, 10 ms ticks) before and after; ms per query.
CPU_RUNS=${QUERY_CPU_RUNS:-100}
qcpu() {
    local url=$1 pid=$2 name kind expr path a b i
    local -a args
    grep -v '^#' "$KIT/queries.txt" | grep '|' | while IFS='|' read -r name kind expr; do
        name=$(xargs <<<"$name") kind=$(xargs <<<"$kind") expr=${expr# }
        args=(--data-urlencode "query=$expr") path=query
        if [ "$kind" = instant ]; then
            args+=(--data-urlencode "time=$END")
        else
            args+=(--data-urlencode "start=$START" --data-urlencode "end=$END"
                --data-urlencode "step=${kind#range:}") path=query_range
        fi
        a=$(cpu_seconds "$pid")
        for ((i = 0; i < CPU_RUNS; i++)); do
            curl -s -o /dev/null --max-time 60 "${args[@]}" "$url/api/v1/$path" || true
        done
        b=$(cpu_seconds "$pid")
        echo "$name $(awk -v a="$a" -v b="$b" -v n="$CPU_RUNS" \
            'BEGIN {printf "%.2f", (b - a) * 1000 / n}')"
    done
}
qcpu "http://127.0.0.1:$PP" "$PROM_PID" >"$TMP/c-peer.txt"
qcpu "http://127.0.0.1:$TH" "$TSDB_PID" >"$TMP/c-ours.txt"
# tsdb's PromQL is Prometheus 3's, the peer is 2.42, whose range and lookback windows are
# closed on the left: 0.5 s off the 15 s grid both select the same samples.
set +e
python3 "$HERE/promql-compare.py" --a "http://127.0.0.1:$PP" --b "http://127.0.0.1:$TH" \
    --start "$START.5" --end "$END.5" --queries "$KIT/queries.txt" >"$TMP/compare.txt" 2>&1
set -e
echo "storage_query_rss: prometheus_hwm_kb=$(hwm_kb "$PROM_PID") tsdb_hwm_kb=$(hwm_kb "$TSDB_PID")" \
    "prometheus_cpu_s=$(cpu_seconds "$PROM_PID") tsdb_cpu_s=$(cpu_seconds "$TSDB_PID")"
stop_pid "$TSDB_PID" 30
stop_pid "$PROM_PID" 30
RUN_PIDS=()

# --- report ---
(
    . "$TMP/backfill.env"
    echo
    echo "storage, $NS series x ${HOURS} h at ${STEP} s ($p_samples samples, $(($(stat -c %s \
        "$TMP/om.txt") / 1000000)) MB of OpenMetrics), backfilled by promtool and by tsdb import" \
        "(higher ratio = floorwatch better; the disk rows give floorwatch's bytes as a" \
        "fraction of prometheus's, issue 6's goal: at most 0.5):"
    awk -v ps="$p_samples" -v os="$o_samples" -v pc="$p_chunks" -v pi="$p_index" -v pd="$p_dir" \
        -v om="$o_mdb" -v od="$o_dir" -v pw="$p_wall" -v ow="$o_wall" -v pcpu="$p_cpu" \
        -v ocpu="$o_cpu" -v pr="$p_rss_kb" -v or="$o_rss_kb" -v pse="$p_series" -v ose="$o_series" \
        -v ok="$o_mdb_keep" -v of="$o_mdb_off" '
        function r(a, b) { return (a > 0 && b > 0) ? sprintf("%.2fx", a / b) : "n/a" }
        function d(a, b) { return b > 0 ? a / b : 0 }
        BEGIN {
            OFS = "\t"
            print "metric", "prometheus", "floorwatch", "ratio"
            # ratio here: floorwatch / prometheus, the figure issue 6 item 8 bounds (goal <= 0.5)
            p = d(pc + pi, ps)
            print "disk B/sample, chunks+index / data.mdb, rollups off (like for like)",
                sprintf("%.3f", p), sprintf("%.3f", d(of, os)), sprintf("%.2f of it", d(d(of, os), p))
            print "disk B/sample, data.mdb, default flags (this file: 1h rollups only)",
                sprintf("%.3f", p), sprintf("%.3f", d(om, os)), sprintf("%.2f of it", d(d(om, os), p))
            print "disk B/sample, data.mdb, rollups on, both levels kept",
                sprintf("%.3f", p), sprintf("%.3f", d(ok, os)), sprintf("%.2f of it", d(d(ok, os), p))
            print "disk bytes per sample (every file, default flags)", sprintf("%.3f", d(pd, ps)),
                sprintf("%.3f", d(od, os)), r(d(pd, ps), d(od, os))
            print "import samples/s (wall)", sprintf("%.0f", d(ps, pw)), sprintf("%.0f", d(os, ow)),
                r(d(os, ow), d(ps, pw))
            print "import wall s", pw, ow, r(pw, ow)
            print "import CPU s", pcpu, ocpu, r(pcpu, ocpu)
            print "import peak RSS MiB", sprintf("%.1f", pr / 1024), sprintf("%.1f", or / 1024),
                r(pr, or)
            print "samples stored", ps, os, "-"
            print "series stored", pse, ose, "-"
        }' | column -t -s $'\t'
)
echo
echo "query latency, the 15 queries of queries.txt (median of $RUNS runs after 1 warm-up, ms;" \
    "prometheus on promtool's blocks, tsdb on the import; higher ratio = floorwatch better):"
awk 'FNR == 1 { f++ } f == 1 && NF >= 9 && $3 ~ /^[0-9.]+$/ { p[$1] = $3; k[$1] = $2; o[n++] = $1 }
     f == 2 && NF >= 9 && $3 ~ /^[0-9.]+$/ { q[$1] = $3 }
     f == 2 && /FAILED/ { q[$1] = "FAILED" }
     END {
         OFS = "\t"
         print "query", "kind", "prometheus", "floorwatch", "ratio"
         for (i = 0; i < n; i++) {
             x = o[i]
             r = (q[x] + 0 > 0) ? sprintf("%.2fx", p[x] / q[x]) : "n/a"
             print x, k[x], p[x], (x in q) ? q[x] : "missing", r
             sp += p[x]; sq += q[x]
         }
         print "sum of medians", "", sprintf("%.2f", sp), sprintf("%.2f", sq),
             (sq > 0 ? sprintf("%.2fx", sp / sq) : "n/a")
     }' "$TMP/q-peer.txt" "$TMP/q-ours.txt" | column -t -s $'\t'
echo "answers (tools/promql-compare.py, 0.5 s off the grid): $(tail -1 "$TMP/compare.txt")"
echo
echo "server CPU per query (user+sys of the server process, ms, each query sent $CPU_RUNS" \
    "times with curl; higher ratio = floorwatch better):"
awk 'FNR == 1 { f++ } f == 1 { p[$1] = $2 } f == 2 && ($1 in p) {
        if (!h++) { OFS = "\t"; print "query", "prometheus", "floorwatch", "ratio" }
        print $1, p[$1], $2, ($2 > 0 ? sprintf("%.2fx", p[$1] / $2) : "n/a")
        sp += p[$1]; so += $2 }
    END { print "sum", sprintf("%.2f", sp), sprintf("%.2f", so),
          (so > 0 ? sprintf("%.2fx", sp / so) : "n/a") }' "$TMP/c-peer.txt" "$TMP/c-ours.txt" |
    column -t -s $'\t'
grep '^DIFF' "$TMP/compare.txt" || true
