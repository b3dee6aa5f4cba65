#!/usr/bin/env bash
# tsdb.sh — integration: tsdb on free loopback ports with a temporary storage directory.
# Pushes samples with fwpush, asserts the Prometheus API with curl+jq and the real promtool,
# stops tsdb with SIGTERM, restarts it on the same directory and checks the data survived.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
FWPUSH=$BUILD/bin/fwpush
it_need_bins tsdb fwpush
it_tmpdir
tmp=$IT_DIR

http=$(it_free_port); zs=$(it_free_port); zq=$(it_free_port); zp=$(it_free_port)
base=http://127.0.0.1:$http

start_tsdb() {
    "$TSDB" --storage.tsdb.path="$tmp/data" --web.listen-address=127.0.0.1:$http \
        --zmq.samples-address=tcp://127.0.0.1:$zs --zmq.query-address=tcp://127.0.0.1:$zq \
        --zmq.pub-address=tcp://127.0.0.1:$zp --storage.tsdb.map-size=256MiB \
        >>"$tmp/tsdb.log" 2>&1 &
    pid=$!
    IT_PIDS=("$pid") # the one tsdb running; it_cleanup stops it
    for _ in $(seq 100); do
        curl -sf "$base/-/ready" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || it_die "tsdb exited at start"
        sleep 0.1
    done
    it_die "tsdb not ready after 10 s"
}

# --check-config
out=$("$TSDB" --check-config)
[ "$out" = "configuration OK" ] || it_die "--check-config printed '$out'"
it_ok "--check-config on the embedded config"
printf 'global:\n  scrape_intervall: 15s\n' > "$tmp/bad.yml"
set +e
err=$("$TSDB" --check-config --config.file="$tmp/bad.yml" 2>&1); rc=$?
set -e
[ $rc = 2 ] || it_die "bad config exit $rc, want 2"
grep -q "bad.yml:2:3: error:" <<<"$err" || it_die "bad config error lacks file:line:col: $err"
it_ok "a bad config exits 2 with file:line:col"

start_tsdb
it_ok "tsdb ready on $base"

now=$(date +%s%3N)
t0=$((now - 30000))
"$FWPUSH" --endpoint=tcp://127.0.0.1:$zs <<EOF
up{job="node",instance="a:9100"} 1 $t0
up{job="node",instance="b:9100"} 0 $t0
up{job="node",instance="a:9100"} 1 $now
up{job="node",instance="b:9100"} 1 $now
reqs_total{job="node"} 100 $t0
reqs_total{job="node"} 160 $now
EOF

q() { curl -sf -G "$base/api/v1/query" --data-urlencode "query=$1"; }
got=
for _ in $(seq 100); do
    got=$(q up | jq -r '.data.result | length') || true
    [ "$got" = 2 ] && break
    sleep 0.1
done
[ "$got" = 2 ] || it_die "query up: $got results, want 2"
it_ok "query up returns 2 series"

resp=$(q 'sum by (job) (up)')
[ "$(jq -r .status <<<"$resp")" = success ] || it_die "sum: $resp"
[ "$(jq -r .data.resultType <<<"$resp")" = vector ] || it_die "sum type: $resp"
[ "$(jq -r '.data.result[0].value[1]' <<<"$resp")" = 2 ] || it_die "sum value: $resp"
[ "$(jq -r '.data.result[0].metric.job' <<<"$resp")" = node ] || it_die "sum labels: $resp"
it_ok "sum by (job) (up) = 2"

resp=$(q 'rate(reqs_total[5m])')
v=$(jq -r '.data.result[0].value[1]' <<<"$resp")
awk -v v="$v" 'BEGIN { exit !(v > 0) }' || it_die "rate: $resp"
it_ok "rate(reqs_total[5m]) = $v"

resp=$(curl -s -G "$base/api/v1/query" --data-urlencode 'query=sum(up' || true)
[ "$(jq -r .errorType <<<"$resp")" = bad_data ] || it_die "parse error: $resp"
grep -q '1:7: parse error' <<<"$(jq -r .error <<<"$resp")" || it_die "parse error position: $resp"
it_ok "parse errors are bad_data with the position"

resp=$(curl -sf -G "$base/api/v1/query_range" --data-urlencode 'query=up' \
    --data-urlencode "start=$(( (now - 60000) / 1000 ))" --data-urlencode "end=$((now / 1000))" \
    --data-urlencode 'step=15')
[ "$(jq -r .data.resultType <<<"$resp")" = matrix ] || it_die "query_range: $resp"
it_ok "query_range returns a matrix"

# A GET query string up to about 60 KiB is answered; a longer one is 414 (tsdb's 64 KiB
# connection pool, tsdb(8)) and the same query as a POST form body is answered.
long_q() { printf 'count(up{job!="%s"})' "$(printf '%*s' "$1" '' | tr ' ' x)"; }
get_code() {
    curl -s -o /dev/null -w '%{http_code}' -G "$base/api/v1/query" --data-urlencode "query=$1"
}
code=$(get_code "$(long_q 50000)")
[ "$code" = 200 ] || it_die "50 KB GET query: HTTP $code"
code=$(get_code "$(long_q 70000)")
[ "$code" = 414 ] || it_die "70 KB GET query: HTTP $code, want 414"
v=$(long_q 70000 | curl -sf --data-urlencode query@- "$base/api/v1/query" |
    jq -r '.data.result[0].value[1]')
[ "$v" = 2 ] || it_die "70 KB POST query: $v"
it_ok "50 KB GET query answered, 70 KB GET 414, 70 KB POST answered"

[ "$(curl -sf "$base/api/v1/label/job/values" | jq -r '.data[0]')" = node ] ||
    it_die "label values"
[ "$(curl -sf -G "$base/api/v1/series" --data-urlencode 'match[]=up' | jq '.data | length')" = 2 ] ||
    it_die "series"
[ "$(curl -sf "$base/api/v1/status/buildinfo" | jq -r .data.version)" = 2.42.0 ] ||
    it_die "buildinfo"
it_ok "labels, series, buildinfo"

if command -v promtool >/dev/null 2>&1; then
    out=$(promtool query instant "$base" up)
    grep -q 'up{instance="a:9100", job="node"} => 1' <<<"$out" || it_die "promtool instant: $out"
    it_ok "promtool query instant: $(tr '\n' ' ' <<<"$out")"
    out=$(promtool query range --start=$(( (now - 60000) / 1000 )) --end=$((now / 1000)) \
        --step=30s "$base" 'sum(up)')
    grep -q '=>' <<<"$out" || it_die "promtool range: $out"
    it_ok "promtool query range"
else
    echo "skip: promtool is not installed"
fi

metrics=$(curl -sf "$base/metrics")
grep -q '^fw_tsdb_samples_appended_total 6' <<<"$metrics" || it_die "samples metric"
it_ok "fw_tsdb_samples_appended_total 6"
# The head holds the 3 series pushed above (after the 1 Hz housekeeping ran); nothing damaged.
for _ in $(seq 1 30); do
    grep -q '^fw_tsdb_head_series 3$' <<<"$(curl -sf "$base/metrics")" && break
    sleep 0.1
done
metrics=$(curl -sf "$base/metrics")
grep -q '^fw_tsdb_head_series 3$' <<<"$metrics" || it_die "head series gauge"
grep -q '^fw_tsdb_chunks_damaged_total 0$' <<<"$metrics" || it_die "damaged chunks counter"
it_ok "fw_tsdb_head_series 3, fw_tsdb_chunks_damaged_total 0"

# SIGHUP reloads: it must not stop the daemon (zloop_start returns on any signal).
kill -HUP "$pid"
sleep 1
kill -0 "$pid" 2>/dev/null || it_die "tsdb exited after SIGHUP"
curl -sf "$base/-/healthy" >/dev/null || it_die "/-/healthy does not answer after SIGHUP"
grep -q 'event=config.reload' "$tmp/tsdb.log" || it_die "SIGHUP did not reload the config"
[ "$(q up | jq -r '.data.result | length')" = 2 ] || it_die "query after SIGHUP"
it_ok "SIGHUP: still running 1 s later, /-/healthy answers, config reloaded"

it_term "$pid"
rc=$IT_RC
pid=
IT_PIDS=()
[ $rc = 0 ] || it_die "tsdb exit $rc after SIGTERM"
it_ok "SIGTERM: clean exit 0"

start_tsdb
got=$(q up | jq -r '.data.result | length')
[ "$got" = 2 ] || it_die "after restart: $got series, want 2"
[ "$(q 'sum(up)' | jq -r '.data.result[0].value[1]')" = 2 ] || it_die "after restart: sum"
it_ok "data survived the restart"
echo "tsdb.sh: all assertions passed"
