#!/usr/bin/env bash
# bench-rollups.sh KIT_DIR BIN_DIR — the rollups section of `make bench` (called by bench.sh).
#
# The kit's generator (gen-openmetrics.py, seed 1) writes ROLLUP_SERIES series over
# ROLLUP_DAYS days every ROLLUP_STEP seconds (defaults 1000 x 30 d at 120 s: 21.6 million
# samples; the step is coarser than a scrape's to keep the file and the run short), which
# `tsdb import` backfills and rolls up (the import's summary gives the time of each). Then
# tsdb serves the directory (retention off: the history is older than any retention) and
# tools/bench-rollups.py times range queries at hour steps over the last 29 days (1 warm-up
# + ROLLUP_RUNS runs, median; tsdb's CPU per run from /proc) with rollups=false and with
# rollups, checking the two answers byte for byte. Every process is started and stopped by
# PID, every wait is bounded, the temp dir is removed.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KIT_DIR BIN_DIR" >&2; exit 2; }
KIT=$(cd "$1" && pwd)
BIN=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NS=${ROLLUP_SERIES:-1000} DAYS=${ROLLUP_DAYS:-30} STEP=${ROLLUP_STEP:-120}
RUNS=${ROLLUP_RUNS:-3}
. "$KIT/lib.sh"
. "$HERE/bench-lib.sh"
bench_tmp rollups

T0=1767225600 # the generator's default start, 2026-01-01T00:00:00Z
echo "   rollups: gen-openmetrics.py --series $NS --hours $((DAYS * 24)) --step $STEP --seed 1"
python3 "$KIT/gen-openmetrics.py" --series "$NS" --hours "$((DAYS * 24))" --step "$STEP" \
    --seed 1 --start "$T0" -o "$TMP/om.txt" 2>"$TMP/gen.log" ||
    { echo "bench-rollups: gen-openmetrics.py failed: $(cat "$TMP/gen.log")" >&2; exit 1; }
# both levels kept whatever the history's age (0 would turn a level off)
KEEP=(--storage.tsdb.rollup-5m-retention=100y --storage.tsdb.rollup-1h-retention=100y)
/usr/bin/time -f "%e %U %S %M" -o "$TMP/import.time" "$BIN/tsdb" import --quiet --storage.tsdb.path="$TMP/fw-data" "${KEEP[@]}" "$TMP/om.txt" \
    >"$TMP/import.out" 2>"$TMP/import.err" ||
    { echo "bench-rollups: tsdb import failed: $(tail -3 "$TMP/import.err")" >&2; exit 1; }
rm -f "$TMP/om.txt"
echo "   rollups: $(head -1 "$TMP/import.out")"
echo "   $(grep "^rollups:" "$TMP/import.out") (part of the import;" \
    "import total: $(awk '{printf "%s s wall, %.2f s CPU, peak RSS %.0f MiB", $1, $2 + $3, $4 / 1024}' \
    "$TMP/import.time"))"
echo "   rollups: data.mdb $(($(stat -c %s "$TMP/fw-data/data.mdb") / 1048576)) MiB"

TH=$(free_port)
"$BIN/tsdb" --log.level=warn --storage.tsdb.path="$TMP/fw-data" \
    --storage.tsdb.retention.time=0s "${KEEP[@]}" --web.listen-address="127.0.0.1:$TH" \
    --scraper.url= --ruled.url= \
    --zmq.samples-address="tcp://127.0.0.1:$(free_port)" \
    --zmq.query-address="tcp://127.0.0.1:$(free_port)" \
    --zmq.pub-address="tcp://127.0.0.1:$(free_port)" >"$TMP/tsdb.log" 2>&1 &
TSDB_PID=$!
RUN_PIDS+=("$TSDB_PID")
wait_http "http://127.0.0.1:$TH/-/ready" 60 ||
    { echo "bench-rollups: tsdb not ready: $(tail -3 "$TMP/tsdb.log")" >&2; exit 1; }
cat >"$TMP/queries.txt" <<'Q'
oee_max_1d | range:3600 | max_over_time(ms5_production_oee[1d])
oee_min_1h | range:3600 | min_over_time(ms5_production_oee[1h])
state_avg_1d | range:3600 | avg_over_time(ms5_machine_state[1d])
units_increase_1d | range:3600 | sum by (line) (increase(ms5_units_produced_total[1d]))
http_rate_1h | range:3600 | sum by (handler) (rate(http_requests_total[1h]))
cpu_increase_1d | range:3600 | increase(node_cpu_seconds_total[1d])
temp_max_1d | range:3600 | max_over_time(ms5_temperature_celsius[1d])
count_1d | range:3600 | count_over_time({__name__=~"ms5_.+"}[1d])
oee_avg_1d_raw | range:3600 | avg_over_time(ms5_production_oee[1d])
Q
echo
echo "rollup queries, $NS series x $DAYS d at $STEP s: range queries over the last $((DAYS - 1))" \
    "days at 1h steps, median of $RUNS runs after 1 warm-up (ms), tsdb CPU per run (ms);" \
    "raw = rollups=false; *_raw: not exact from rollups, read raw both ways; ratio = raw / rollups:"
set +e
python3 "$HERE/bench-rollups.py" --url "http://127.0.0.1:$TH" --pid "$TSDB_PID" \
    --start "$((T0 + 86400))" --end "$((T0 + DAYS * 86400))" --queries "$TMP/queries.txt" \
    --runs "$RUNS" >"$TMP/q.txt" 2>&1
rc=$?
set -e
column -t -s $'\t' "$TMP/q.txt"
stop_pid "$TSDB_PID" 30
RUN_PIDS=()
[ "$rc" -eq 0 ] || { echo "bench-rollups: an answer differed or a query failed" >&2; exit 1; }
