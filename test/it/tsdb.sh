#!/usr/bin/env bash
# tsdb.sh — integration: tsdb on free loopback ports with a temporary storage directory.
# Pushes samples with fwpush, asserts the Prometheus API with curl+jq and the real promtool,
# stops tsdb with SIGTERM, restarts it on the same directory and checks the data survived.
set -euo pipefail

BUILD=${BUILD:-build}
TSDB=$BUILD/bin/tsdb
FWPUSH=$BUILD/bin/fwpush
for b in "$TSDB" "$FWPUSH"; do
    [ -x "$b" ] || { echo "tsdb.sh: $b is not built"; exit 1; }
done

tmp=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill "$pid"; wait "$pid" || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
http=$(free_port); zs=$(free_port); zq=$(free_port); zp=$(free_port)
base=http://127.0.0.1:$http
fail() { echo "FAIL: $*"; echo "--- tsdb log"; cat "$tmp/tsdb.log" || true; exit 1; }
ok() { echo "ok: $*"; }

start_tsdb() {
    "$TSDB" --storage.tsdb.path="$tmp/data" --web.listen-address=127.0.0.1:$http \
        --zmq.samples-address=tcp://127.0.0.1:$zs --zmq.query-address=tcp://127.0.0.1:$zq \
        --zmq.pub-address=tcp://127.0.0.1:$zp --storage.tsdb.map-size=256MiB \
        >>"$tmp/tsdb.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
        curl -sf "$base/-/ready" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || fail "tsdb exited at start"
        sleep 0.1
    done
    fail "tsdb not ready after 10 s"
}

# --check-config
out=$("$TSDB" --check-config)
[ "$out" = "configuration OK" ] || fail "--check-config printed '$out'"
ok "--check-config on the embedded config"
printf 'global:\n  scrape_intervall: 15s\n' > "$tmp/bad.yml"
set +e
err=$("$TSDB" --check-config --config.file="$tmp/bad.yml" 2>&1); rc=$?
set -e
[ $rc = 2 ] || fail "bad config exit $rc, want 2"
grep -q "bad.yml:2:3: error:" <<<"$err" || fail "bad config error lacks file:line:col: $err"
ok "a bad config exits 2 with file:line:col"

start_tsdb
ok "tsdb ready on $base"

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
[ "$got" = 2 ] || fail "query up: $got results, want 2"
ok "query up returns 2 series"

resp=$(q 'sum by (job) (up)')
[ "$(jq -r .status <<<"$resp")" = success ] || fail "sum: $resp"
[ "$(jq -r .data.resultType <<<"$resp")" = vector ] || fail "sum type: $resp"
[ "$(jq -r '.data.result[0].value[1]' <<<"$resp")" = 2 ] || fail "sum value: $resp"
[ "$(jq -r '.data.result[0].metric.job' <<<"$resp")" = node ] || fail "sum labels: $resp"
ok "sum by (job) (up) = 2"

resp=$(q 'rate(reqs_total[5m])')
v=$(jq -r '.data.result[0].value[1]' <<<"$resp")
awk -v v="$v" 'BEGIN { exit !(v > 0) }' || fail "rate: $resp"
ok "rate(reqs_total[5m]) = $v"

resp=$(curl -s -G "$base/api/v1/query" --data-urlencode 'query=sum(up' || true)
[ "$(jq -r .errorType <<<"$resp")" = bad_data ] || fail "parse error: $resp"
grep -q '1:7: parse error' <<<"$(jq -r .error <<<"$resp")" || fail "parse error position: $resp"
ok "parse errors are bad_data with the position"

resp=$(curl -sf -G "$base/api/v1/query_range" --data-urlencode 'query=up' \
    --data-urlencode "start=$(( (now - 60000) / 1000 ))" --data-urlencode "end=$((now / 1000))" \
    --data-urlencode 'step=15')
[ "$(jq -r .data.resultType <<<"$resp")" = matrix ] || fail "query_range: $resp"
ok "query_range returns a matrix"

[ "$(curl -sf "$base/api/v1/label/job/values" | jq -r '.data[0]')" = node ] ||
    fail "label values"
[ "$(curl -sf -G "$base/api/v1/series" --data-urlencode 'match[]=up' | jq '.data | length')" = 2 ] ||
    fail "series"
[ "$(curl -sf "$base/api/v1/status/buildinfo" | jq -r .data.version)" = 2.42.0 ] ||
    fail "buildinfo"
ok "labels, series, buildinfo"

if command -v promtool >/dev/null 2>&1; then
    out=$(promtool query instant "$base" up)
    grep -q 'up{instance="a:9100", job="node"} => 1' <<<"$out" || fail "promtool instant: $out"
    ok "promtool query instant: $(tr '\n' ' ' <<<"$out")"
    out=$(promtool query range --start=$(( (now - 60000) / 1000 )) --end=$((now / 1000)) \
        --step=30s "$base" 'sum(up)')
    grep -q '=>' <<<"$out" || fail "promtool range: $out"
    ok "promtool query range"
else
    echo "skip: promtool is not installed"
fi

metrics=$(curl -sf "$base/metrics")
grep -q '^fw_tsdb_samples_appended_total 6' <<<"$metrics" || fail "samples metric"
ok "fw_tsdb_samples_appended_total 6"
# The head holds the 3 series pushed above (after the 1 Hz housekeeping ran); nothing damaged.
for _ in $(seq 1 30); do
    grep -q '^fw_tsdb_head_series 3$' <<<"$(curl -sf "$base/metrics")" && break
    sleep 0.1
done
metrics=$(curl -sf "$base/metrics")
grep -q '^fw_tsdb_head_series 3$' <<<"$metrics" || fail "head series gauge"
grep -q '^fw_tsdb_chunks_damaged_total 0$' <<<"$metrics" || fail "damaged chunks counter"
ok "fw_tsdb_head_series 3, fw_tsdb_chunks_damaged_total 0"

# SIGHUP reloads: it must not stop the daemon (zloop_start returns on any signal).
kill -HUP "$pid"
sleep 1
kill -0 "$pid" 2>/dev/null || fail "tsdb exited after SIGHUP"
curl -sf "$base/-/healthy" >/dev/null || fail "/-/healthy does not answer after SIGHUP"
grep -q 'event=config.reload' "$tmp/tsdb.log" || fail "SIGHUP did not reload the config"
[ "$(q up | jq -r '.data.result | length')" = 2 ] || fail "query after SIGHUP"
ok "SIGHUP: still running 1 s later, /-/healthy answers, config reloaded"

kill -TERM "$pid"
rc=0; wait "$pid" || rc=$?
pid=
[ $rc = 0 ] || fail "tsdb exit $rc after SIGTERM"
ok "SIGTERM: clean exit 0"

start_tsdb
got=$(q up | jq -r '.data.result | length')
[ "$got" = 2 ] || fail "after restart: $got series, want 2"
[ "$(q 'sum(up)' | jq -r '.data.result[0].value[1]')" = 2 ] || fail "after restart: sum"
ok "data survived the restart"
echo "tsdb.sh: all assertions passed"
