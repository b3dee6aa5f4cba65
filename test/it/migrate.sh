#!/usr/bin/env bash
# migrate.sh — `tsdb migrate` pulls the history of the real Debian prometheus into tsdb.
#
# Two hours of the bench kit's history (gen-openmetrics.py, 60 series at 15 s: counters,
# gauges, histograms) are backfilled into prometheus 2.42 by `promtool tsdb
# create-blocks-from openmetrics`; prometheus serves the blocks. `tsdb migrate --from=<its
# /api/v1/read>` reads them in 20-minute slices into an empty data directory, asking for
# streamed chunks (which a Prometheus 2.42 sends: the XOR chunks of its blocks, decoded by
# tsdb_xor). A tsdb started on the directory must then answer the kit's 15 queries
# (queries.txt) as prometheus does (tools/promql-compare.py: same series, timestamps and
# values, 0.5 s off the 15 s grid where Prometheus 2.42's closed windows and tsdb's
# left-open ones select the same samples), and hold exactly the samples prometheus holds.
# Running the migration again stores nothing twice. Errors: a server answering 404, and
# one that is not listening, fail with exit 1 and say why; a missing --from or a --slice
# making over a million requests is a usage error (2), before anything is written.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
KIT=${SHARED:-../shared}/bench
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds prometheus promtool curl python3 jq
[ -f "$KIT/gen-openmetrics.py" ] || it_skip "the bench kit ($KIT) is not here (set SHARED=...)"
it_tmpdir
D=$IT_DIR

python3 "$KIT/gen-openmetrics.py" --series 60 --hours 2 --step 15 --seed 1 -o "$D/hist.om" \
    >/dev/null 2>&1 || it_die "gen-openmetrics.py failed"
START=1767225600 END=$((1767225600 + 7200 - 15))
promtool tsdb create-blocks-from openmetrics -q "$D/hist.om" "$D/blocks" >/dev/null ||
    it_die "promtool create-blocks-from openmetrics refused the history"
PPORT=$(it_free_port)
TPORT=$(it_free_port)
P=http://127.0.0.1:$PPORT
T=http://127.0.0.1:$TPORT
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$D/prometheus.yml"
it_start prometheus prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/blocks" \
    --storage.tsdb.retention.time=100y --web.listen-address=127.0.0.1:"$PPORT"
it_wait_http "$P/-/ready" 300 || it_die "prometheus did not start"

migrate() { # migrate OUT [URL]
    "$TSDB" migrate --from="${2:-$P}" --start="$START" --end="$END" --data="$D/tsdb" \
        --storage.tsdb.map-size=64MiB --slice=20m >"$1" 2>&1
}
migrate "$D/m1.out" || it_die "tsdb migrate failed: $(cat "$D/m1.out")"
cat "$D/m1.out"
it_check "prometheus streamed XOR chunks (six slices)" \
    grep -q 'in 6 slices (response: streamed XOR chunks;' "$D/m1.out"
it_check "the 60 series are new" grep -q 'into 60 new series' "$D/m1.out"

it_start tsdb "$TSDB" --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/tsdb" \
    --storage.tsdb.retention.time=0s --storage.tsdb.map-size=64MiB \
    --web.listen-address=127.0.0.1:"$TPORT" --scraper.url= --ruled.url= \
    --zmq.samples-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.query-address=tcp://127.0.0.1:"$(it_free_port)" \
    --zmq.pub-address=tcp://127.0.0.1:"$(it_free_port)"
it_wait_http "$T/-/ready" || it_die "tsdb did not start"
if python3 tools/promql-compare.py --a "$P" --b "$T" --start "$START.5" --end "$END.5" \
    --queries "$KIT/queries.txt" >"$D/cmp.txt" 2>&1; then ok=true; else ok=false; cat "$D/cmp.txt"; fi
it_check "tsdb answers the kit's 15 queries as prometheus: $(tail -1 "$D/cmp.txt")" $ok
count() { # count URL: the samples held over the two hours
    curl -fsS "$1/api/v1/query" --data-urlencode 'query={__name__=~".+"}[3h]' \
        --data-urlencode "time=$((END + 1))" | jq '[.data.result[].values | length] | add'
}
pc=$(count "$P")
tc=$(count "$T")
it_check "tsdb holds every sample prometheus holds ($tc of $pc)" [ "$pc" = "$tc" ]
it_term "$PID_tsdb"

migrate "$D/m2.out" || it_die "the second tsdb migrate failed: $(cat "$D/m2.out")"
dups=$(sed -n 's/^not stored: \([0-9]*\) duplicates.*/\1/p' "$D/m2.out")
it_check "a second run stores nothing twice ($dups duplicates, of $pc)" [ "$dups" = "$pc" ]
it_check "a second run makes no new series" grep -q 'into 0 new series' "$D/m2.out"

set +e
"$TSDB" migrate --from="$P/no/such/path" --start="$START" --end="$END" --data="$D/x" >"$D/e1" 2>&1
rc1=$?
"$TSDB" migrate --from="http://127.0.0.1:$(it_free_port)" --start="$START" --end="$END" \
    --data="$D/y" >"$D/e2" 2>&1
rc2=$?
"$TSDB" migrate --start="$START" --end="$END" --data="$D/z" >"$D/e3" 2>&1
rc3=$?
"$TSDB" migrate --from="$P" --start=0 --end="$END" --slice=1ms --data="$D/w" >"$D/e4" 2>&1
rc4=$?
set -e
it_check "a 404 fails (1) naming the status: $(head -1 "$D/e1")" \
    bash -c "[ $rc1 = 1 ] && grep -q 'returned HTTP status 404' '$D/e1'"
it_check "a server not listening fails (1): $(head -1 "$D/e2")" \
    bash -c "[ $rc2 = 1 ] && grep -q 'error sending request' '$D/e2'"
it_check "no --from is a usage error (2)" bash -c "[ $rc3 = 2 ] && grep -q 'required' '$D/e3'"
it_check "more than a million slices is a usage error (2)" \
    bash -c "[ $rc4 = 2 ] && grep -q 'too small for the range' '$D/e4' && [ ! -e '$D/w' ]"
it_term "$PID_prometheus"
it_finish
