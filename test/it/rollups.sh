#!/usr/bin/env bash
# rollups.sh — tsdb's rollups (tsdb(8) ROLLUPS) end to end, with the Debian prometheus as the
# reference.
#
# Two days of history (integer counters with resets, a 0/1 state gauge, a 4-decimal OEE
# gauge, a 1-decimal temperature; one sample a minute with 1-900 ms of jitter, so no sample
# sits on a range's edge, where Prometheus 2.42's closed windows and Prometheus 3's
# left-open ones would differ) goes into promtool's blocks, which prometheus serves, and into
# tsdb by `tsdb import`, which writes the rollups at its end. Then, for range queries at hour
# steps over ranges of 1h to 1d (and at 5m steps over 5m and 10m):
# - tsdb answers byte for byte the same with rollups and with rollups=false (raw samples
#   only), and reads stored buckets for every query the rollups can answer exactly
#   (fw_tsdb_rollup_buckets_read_total grows), none with rollups=false;
# - tsdb answers as prometheus (tools/promql-compare.py: same series, times and values
#   within 1e-9 relative: 2.42 sums and averages in another order);
# - the same after a restart of tsdb (the rollups are on disk);
# - live: a second tsdb (--storage.tsdb.rollup-interval=1s) gets 6 hours of a counter by
#   fwpush (SAMPLES, acknowledged), seals and commits its chunks, and its writer thread
#   rolls them up on its own; the queries over them then read buckets, answers unchanged;
# - a bad rollups parameter is a 400, and a rollup retention below its step (or an interval
#   below 1s) is refused at start with the reason;
# - a retention of 0 turns a level off: `tsdb import` writes no page of it (tsdb check
#   --records lists data.mdb's records), and tsdb started with both at 0 deletes every page
#   at start, writes and reads no bucket, and answers as with rollups=false.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb fwpush
it_need_cmds promtool prometheus curl python3 jq
it_tmpdir
D=$IT_DIR

T0=1767225600 # 2026-01-01T00:00:00Z, a day boundary
python3 - "$D/hist.om" "$T0" <<'PY'
import random, sys
path, t0 = sys.argv[1], int(sys.argv[2])
rnd = random.Random(7)
n = 2 * 24 * 60
ts = ["%.3f" % (t0 + 60 * k + rnd.randint(1, 900) / 1000) for k in range(n)]
with open(path, "w") as f:
    f.write("# TYPE units counter\n")
    for i in range(6):
        v = rnd.randint(0, 10**6)
        for k in range(n):
            if rnd.random() < 0.003 or (k % 700 in (3, 5) and i == 2):
                v = rnd.randint(0, 3)  # resets, two in one bucket for units{i="2"}
            else:
                v += rnd.randint(0, 40)
            f.write('units_total{i="%d"} %d %s\n' % (i, v, ts[k]))
    f.write("# TYPE state gauge\n")
    for i in range(3):
        s = 0
        for k in range(n):
            if rnd.random() < 0.01:
                s = 1 - s
            f.write('state{i="%d"} %d %s\n' % (i, s, ts[k]))
    f.write("# TYPE oee gauge\n")
    for i in range(3):
        v = 0.7
        for k in range(n):
            v = min(1, max(0, v + rnd.gauss(0, 0.01)))
            f.write('oee{i="%d"} %s %s\n' % (i, ("%.4f" % v).rstrip("0").rstrip("."), ts[k]))
    f.write("# TYPE temp gauge\n")
    for i in range(3):
        v = 40.0
        for k in range(n):
            v += rnd.choice((-0.1, 0, 0.1))
            f.write('temp{i="%d"} %.1f %s\n' % (i, v, ts[k]))
    f.write("# EOF\n")
PY
promtool tsdb create-blocks-from openmetrics -q "$D/hist.om" "$D/blocks" >/dev/null ||
    it_die "promtool create-blocks-from openmetrics refused the history"
# the history is older than the default retentions (30d, 400d): kept for the test
KEEP=(--storage.tsdb.rollup-5m-retention=100y --storage.tsdb.rollup-1h-retention=100y)
"$TSDB" import --storage.tsdb.path="$D/tsdb" --storage.tsdb.map-size=256MiB "${KEEP[@]}" \
    "$D/hist.om" >"$D/import.out" 2>&1 || it_die "tsdb import failed: $(cat "$D/import.out")"
imported() { grep -Eq '^rollups: [1-9][0-9]* buckets in ' "$D/import.out"; }
it_check "tsdb import writes the rollups: $(grep '^rollups' "$D/import.out")" imported

# a retention of 0 turns a level off: tsdb import writes none of its pages (data.mdb's
# records, as tsdb check --records lists them: a page key is 17 bytes, byte 8 the level)
pages() { # DIR LEVEL: the rollup pages of LEVEL (00: 5m, 01: 1h) in DIR's data.mdb
    "$TSDB" check --records --storage.tsdb.path="$1" |
        awk -v l="$2" '$1 == "record" && $2 == "rollups" && length($3) == 34 &&
            substr($3, 17, 2) == l { n++ } END { print n + 0 }'
}
import_levels() { # DIR 5M-RETENTION 1H-RETENTION
    "$TSDB" import --storage.tsdb.path="$1" --storage.tsdb.map-size=256MiB \
        --storage.tsdb.rollup-5m-retention="$2" --storage.tsdb.rollup-1h-retention="$3" \
        "$D/hist.om" >"$1.out" 2>&1 || it_die "tsdb import failed: $(cat "$1.out")"
}
import_levels "$D/off" 0 0
import_levels "$D/no1h" 100y 0
levels_off() {
    grep -q '^rollups: off' "$D/off.out" && [ "$(pages "$D/off" 00)" -eq 0 ] &&
        [ "$(pages "$D/off" 01)" -eq 0 ] && [ "$(pages "$D/no1h" 00)" -gt 0 ] &&
        [ "$(pages "$D/no1h" 01)" -eq 0 ] && [ "$(pages "$D/tsdb" 01)" -gt 0 ]
}
it_check "tsdb import with a rollup retention of 0 writes no page of that level" levels_off

PPORT=$(it_free_port)
TPORT=$(it_free_port)
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$D/prometheus.yml"
it_start prometheus prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/blocks" \
    --storage.tsdb.retention.time=100y --web.listen-address=127.0.0.1:"$PPORT"
start_tsdb() {
    it_start tsdb "$TSDB" --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/tsdb" \
        --storage.tsdb.retention.time=0s "${KEEP[@]}" --storage.tsdb.map-size=256MiB \
        --web.listen-address=127.0.0.1:"$TPORT" --scraper.url= --ruled.url= \
        --zmq.samples-address=tcp://127.0.0.1:"$(it_free_port)" \
        --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
        --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
    it_wait_http "http://127.0.0.1:$TPORT/-/ready" || it_die "tsdb did not start"
}
start_tsdb
it_wait_http "http://127.0.0.1:$PPORT/-/ready" 300 || it_die "prometheus did not start"
P=http://127.0.0.1:$PPORT
T=http://127.0.0.1:$TPORT

# NAME | range:STEP | EXPR, over [T0 + 1d, T0 + 2d]; "raw" in NAME: not exact from rollups
cat >"$D/queries.txt" <<'Q'
max_oee_1h | range:3600 | max_over_time(oee[1h])
min_temp_1d | range:3600 | min_over_time(temp[1d])
avail_1d | range:3600 | avg_over_time(state[1d])
units_sum_1h | range:3600 | sum_over_time(units_total[1h])
units_count_3h | range:3600 | count_over_time(units_total[3h])
units_increase_1d | range:3600 | increase(units_total[1d])
units_rate_1h | range:3600 | sum by (i) (rate(units_total[1h]))
temp_delta_2h | range:3600 | delta(temp[2h])
units_resets_1d | range:3600 | resets(units_total[1d])
state_changes_1d | range:3600 | changes(state[1d])
oee_last_1h | range:3600 | last_over_time(oee[1h])
oee_last_1h_offset | range:3600 | last_over_time(oee[1h] offset 1h)
oee_max_5m | range:300 | max_over_time(oee[5m])
units_increase_10m | range:300 | increase(units_total[10m])
oee_avg_1h_raw | range:3600 | avg_over_time(oee[1h])
temp_sum_1h_raw | range:3600 | sum_over_time(temp[1h])
Q
START=$((T0 + 86400))
END=$((T0 + 2 * 86400))
read_total() {
    curl -fsS "$T/metrics" | awk '$1 == "fw_tsdb_rollup_buckets_read_total" {print $2}'
}
body() { # URL EXPR STEP [rollups]: the data of a query_range answer, keys sorted
    curl -fsS "$1/api/v1/query_range" --data-urlencode "query=$2" --data-urlencode "start=$START" \
        --data-urlencode "end=$END" --data-urlencode "step=$3" ${4:+--data-urlencode "rollups=$4"} |
        jq -cS .data
}
# same_raw: every query answers byte for byte alike with and without rollups; the exact ones
# read stored buckets, the raw ones and rollups=false none
same_raw() {
    local name kind expr step a b before after ok=0
    while IFS='|' read -r name kind expr; do
        name=$(echo $name) step=${kind#*range:} step=$(echo $step)
        before=$(read_total)
        body "$T" "$expr" "$step" false >"$D/raw.json"
        after=$(read_total)
        [ "$before" = "$after" ] || { echo "    $name: rollups=false read buckets" >&2; ok=1; }
        body "$T" "$expr" "$step" >"$D/roll.json"
        before=$after after=$(read_total)
        case $name in
        *_raw) ;; # read buckets, found them not exact, answered raw
        *) [ "$before" != "$after" ] || { echo "    $name: read no bucket" >&2; ok=1; } ;;
        esac
        [ "$(jq '.result | length' "$D/raw.json")" -gt 0 ] || { echo "    $name: empty" >&2; ok=1; }
        cmp -s "$D/raw.json" "$D/roll.json" || { echo "    $name: answers differ" >&2; ok=1; }
    done <"$D/queries.txt"
    return $ok
}
like_prometheus() {
    python3 tools/promql-compare.py --a "$P" --b "$T" --start "$START" --end "$END" \
        --queries "$D/queries.txt" --rel 1e-9 --quiet >"$D/compare.txt" 2>&1 ||
        { cat "$D/compare.txt" >&2; return 1; }
}
it_check "16 queries answer byte for byte alike with and without rollups; the 14 exact ones read stored buckets" same_raw
it_check "and as prometheus $(prometheus --version 2>&1 | head -1 | awk '{print $3}') answers them" like_prometheus
it_term "$PID_tsdb"
start_tsdb
it_check "after a restart of tsdb, the same with and without rollups" same_raw

# --- live ingest: the writer thread ---
LPORT=$(it_free_port)
LSAMPLES=$(it_free_port)
it_start live "$TSDB" --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/live" \
    --storage.tsdb.retention.time=0s --storage.tsdb.rollup-interval=1s \
    --storage.tsdb.map-size=64MiB --web.listen-address=127.0.0.1:"$LPORT" --scraper.url= \
    --ruled.url= --zmq.samples-address=tcp://127.0.0.1:"$LSAMPLES" \
    --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
it_wait_http "http://127.0.0.1:$LPORT/-/ready" || it_die "the live tsdb did not start"
L=http://127.0.0.1:$LPORT
LEND=$(( $(date +%s) / 3600 * 3600 - 3600 )) # an hour boundary at least an hour ago
python3 - "$LEND" <<'PY' >"$D/live.txt"
import sys
end = int(sys.argv[1])
v = 0
for k in range(6 * 240):  # 6 hours at 15 s, ending at end, with a reset
    t = (end - 6 * 3600 + 15 * k) * 1000 + 7
    v = 3 if k == 700 else v + k % 7
    print('live_total{i="0"} %d %d' % (v, t))
PY
"$BUILD/bin/fwpush" --endpoint=tcp://127.0.0.1:"$LSAMPLES" --timeout=10s <"$D/live.txt" \
    >/dev/null || it_die "fwpush: not acknowledged"
written() {
    curl -fsS "$L/metrics" | awk '$1 == "fw_tsdb_rollup_buckets_written_total" && $2 > 0 {ok = 1}
        END {exit !ok}'
}
it_check "the writer thread rolls up the sealed chunks of live ingest within 10 s" \
    it_until 100 0.1 written
live_same() {
    local q before after
    for q in 'increase(live_total[1h])' 'max_over_time(live_total[10m])' 'resets(live_total[2h])'; do
        before=$(curl -fsS "$L/metrics" | awk '$1 == "fw_tsdb_rollup_buckets_read_total" {print $2}')
        a=$(curl -fsS "$L/api/v1/query_range" --data-urlencode "query=$q" \
            --data-urlencode "start=$((LEND - 5 * 3600))" --data-urlencode "end=$LEND" \
            --data-urlencode step=300 | jq -cS .data)
        b=$(curl -fsS "$L/api/v1/query_range" --data-urlencode "query=$q" \
            --data-urlencode "start=$((LEND - 5 * 3600))" --data-urlencode "end=$LEND" \
            --data-urlencode step=300 --data-urlencode rollups=false | jq -cS .data)
        after=$(curl -fsS "$L/metrics" | awk '$1 == "fw_tsdb_rollup_buckets_read_total" {print $2}')
        [ "$a" = "$b" ] && [ "$(jq '.result | length' <<<"$a")" = 1 ] && [ "$before" != "$after" ] ||
            { echo "    $q: differs or read no bucket" >&2; return 1; }
    done
}
it_check "queries over them read buckets and answer as the raw samples" live_same

bad_param() {
    local out
    out=$(curl -sS -w ' %{http_code}' "$T/api/v1/query" --data-urlencode 'query=up' \
        --data-urlencode rollups=maybe)
    [[ $out == *'invalid parameter \"rollups\"'*' 400' ]]
}
it_check "rollups=maybe is a 400 bad_data" bad_param
refused() {
    local rc=0
    timeout 20 "$TSDB" --storage.tsdb.path="$D/other" --storage.tsdb.rollup-5m-retention=1m \
        --web.listen-address=127.0.0.1:"$(it_free_port)" >"$D/refused.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && grep -q "rollup-5m-retention.*below the rollup's own step" "$D/refused.log"
}
it_check "a 5m rollup retention of 1m is refused at start, with the reason" refused
refused_interval() {
    local rc=0
    timeout 20 "$TSDB" --storage.tsdb.path="$D/other" --storage.tsdb.rollup-interval=100ms \
        --web.listen-address=127.0.0.1:"$(it_free_port)" >"$D/refused2.log" 2>&1 || rc=$?
    [ "$rc" -ne 0 ] && grep -q "rollup-interval must be at least 1s" "$D/refused2.log"
}
it_check "a rollup interval of 100ms is refused at start" refused_interval

# --- tsdb itself with both levels off (retentions 0): at start it deletes every page, runs
# no writer, and every query reads raw samples with the same answers ---
it_term "$PID_tsdb"
KEEP=(--storage.tsdb.rollup-5m-retention=0 --storage.tsdb.rollup-1h-retention=0)
start_tsdb
# Read at once after ready: the counters are set at start, not at the first housekeeping
# tick a second later (without that, this read found no line).
counters_at_start() {
    curl -fsS "$T/metrics" >"$D/first.metrics" || return 1
    grep -q '^fw_tsdb_rollup_buckets_written_total 0$' "$D/first.metrics" ||
        { echo "    found: $(grep -c . "$D/first.metrics") lines, none for the counter" >&2; return 1; }
}
it_check "tsdb's rollup counters are in /metrics from its first answer" counters_at_start
raw_only() {
    local name kind expr step before ok=0
    while IFS='|' read -r name kind expr; do
        name=$(echo $name) step=${kind#*range:} step=$(echo $step)
        before=$(read_total)
        body "$T" "$expr" "$step" >"$D/roll.json"
        body "$T" "$expr" "$step" false >"$D/raw.json"
        [ "$before" = "$(read_total)" ] || { echo "    $name: read buckets" >&2; ok=1; }
        [ "$(jq '.result | length' "$D/raw.json")" -gt 0 ] || { echo "    $name: empty" >&2; ok=1; }
        cmp -s "$D/raw.json" "$D/roll.json" || { echo "    $name: answers differ" >&2; ok=1; }
    done <"$D/queries.txt"
    written=$(curl -fsS "$T/metrics" |
        awk '$1 == "fw_tsdb_rollup_buckets_written_total" {print $2}')
    [ "$written" = 0 ] || { echo "    $written buckets written" >&2; ok=1; }
    return $ok
}
it_check "with both rollup retentions 0, tsdb writes and reads no bucket; answers the same" raw_only
it_term "$PID_tsdb"
no_pages() { [ "$(pages "$D/tsdb" 00)" -eq 0 ] && [ "$(pages "$D/tsdb" 01)" -eq 0 ]; }
it_check "and it deleted every rollup page of data.mdb at start" no_pages
it_finish
