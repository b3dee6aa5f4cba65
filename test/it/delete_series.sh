#!/usr/bin/env bash
# delete_series.sh — /api/v1/admin/tsdb/delete_series and clean_tombstones against the real
# Debian prometheus on the same data.
#
# One hour of history (two metrics, four series each, every 15 s) goes into promtool's
# blocks, which prometheus serves with --web.enable-admin-api, and into tsdb by `tsdb
# import`. Both get the same deletions: part of one series' range (the selector with start
# and end), every sample of one metric (match[] alone), and a selector matching nothing.
# Then query_range over the hour must answer the same on both (series, timestamps, values),
# before and after clean_tombstones, and after a restart of tsdb; the errors (no match[],
# a bad selector) must be Prometheus's. Queries are evaluated 0.5 s off the 15 s grid, where
# Prometheus 2.42's closed range windows and Prometheus 3's left-open ones select the same
# samples.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
# shellcheck source=test/it/lib.sh
source test/it/lib.sh
it_need_bins tsdb
it_need_cmds promtool prometheus curl python3 jq
it_tmpdir
D=$IT_DIR

T0=1767225600 # 2026-01-01T00:00:00Z
python3 - "$D/hist.om" "$T0" <<'PY'
import sys
path, t0 = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    for name in ("kept", "gone"):
        f.write("# TYPE %s gauge\n" % name)
        for i in range(4):
            for k in range(240):
                f.write('%s{i="%d"} %s %d\n' % (name, i, 10 * i + (k * 7 % 13) / 4, t0 + k * 15))
    f.write("# EOF\n")
PY
promtool tsdb create-blocks-from openmetrics -q "$D/hist.om" "$D/blocks" >/dev/null ||
    it_die "promtool create-blocks-from openmetrics refused the history"
"$TSDB" import --storage.tsdb.path="$D/tsdb" --storage.tsdb.map-size=64MiB "$D/hist.om" \
    >"$D/import.out" 2>&1 || it_die "tsdb import failed: $(cat "$D/import.out")"

PPORT=$(it_free_port)
TPORT=$(it_free_port)
printf 'global:\n  scrape_interval: 15s\nscrape_configs: []\n' >"$D/prometheus.yml"
it_start prometheus prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/blocks" \
    --storage.tsdb.retention.time=100y --web.listen-address=127.0.0.1:"$PPORT" \
    --web.enable-admin-api
start_tsdb() {
    it_start tsdb "$TSDB" --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/tsdb" \
        --storage.tsdb.retention.time=0s --storage.tsdb.map-size=64MiB --web.enable-admin-api \
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

# answers URL QUERY: query_range over the hour, reduced to sorted "labels t v" lines
answers() {
    curl -fsS "$1/api/v1/query_range" --data-urlencode "query=$2" \
        --data-urlencode "start=$((T0 + 60)).5" --data-urlencode "end=$((T0 + 3540)).5" \
        --data-urlencode step=15 |
        jq -r '.data.result[] | (.metric | to_entries | map("\(.key)=\(.value)") | join(",")) as $m
               | .values[] | "\($m) \(.[0]) \(.[1])"' | sort
}
same() { # same WHAT: every query answers alike on both
    local q
    for q in kept gone 'sum(kept)'; do
        answers "$P" "$q" >"$D/p.txt"
        answers "$T" "$q" >"$D/t.txt"
        if ! cmp -s "$D/p.txt" "$D/t.txt"; then
            diff "$D/p.txt" "$D/t.txt" | head -5 >&2
            return 1
        fi
    done
}
it_check "before any deletion, both answer alike ($(answers "$T" kept | wc -l) points of kept)" same

n0=$(answers "$T" 'kept{i="1"}' | wc -l)
for url in "$P" "$T"; do
    curl -fsS -o /dev/null -X POST "$url/api/v1/admin/tsdb/delete_series" \
        --data-urlencode 'match[]=kept{i="1"}' --data-urlencode "start=$((T0 + 900))" \
        --data-urlencode "end=$((T0 + 1800))"
    curl -fsS -o /dev/null -X PUT "$url/api/v1/admin/tsdb/delete_series?match%5B%5D=gone"
    curl -fsS -o /dev/null -X POST "$url/api/v1/admin/tsdb/delete_series?match%5B%5D=nothing_here"
done
n1=$(answers "$T" 'kept{i="1"}' | wc -l)
deleted_alike() {
    [ "$n1" -lt "$n0" ] && [ -z "$(answers "$T" gone)" ] && same
}
it_check "after the deletions, both answer alike (kept{i=\"1\"}: $n0 -> $n1 points; gone: none)" \
    deleted_alike

for url in "$P" "$T"; do
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$url/api/v1/admin/tsdb/clean_tombstones")
    [ "$code" = 204 ] || it_die "clean_tombstones on $url: $code"
done
it_check "after clean_tombstones (204 on both), both answer alike" same
it_term "$PID_tsdb"
start_tsdb
it_check "after a restart of tsdb, it answers as prometheus" same

errs() { # the error answers of URL, one line each
    curl -sS -w ' %{http_code}\n' -X POST "$1/api/v1/admin/tsdb/delete_series"
    curl -sS -w ' %{http_code}\n' -X POST "$1/api/v1/admin/tsdb/delete_series" \
        --data-urlencode 'match[]=kept{'
}
errs "$P" >"$D/perr.txt"
errs "$T" >"$D/terr.txt"
no_match_alike() { [ "$(head -1 "$D/perr.txt")" = "$(head -1 "$D/terr.txt")" ]; }
bad_selector() {
    grep -q 'bad_data.*invalid parameter .*match\[\].* 400$' <(tail -1 "$D/terr.txt") &&
        grep -q ' 400$' <(tail -1 "$D/perr.txt")
}
it_check "no match[] is Prometheus's 400: $(head -1 "$D/terr.txt")" no_match_alike
it_check "a bad selector is a 400 bad_data naming match[]" bad_selector
it_finish
