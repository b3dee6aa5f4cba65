#!/usr/bin/env bash
# slod.sh — integration test of slod with a real tsdb (and alertd when built).
#
#   1. the default config passes --check-config; a bad objective fails with file:line:col;
#   2. tsdb + slod (+ alertd) on free loopback ports: request counters pushed with fwpush
#      (10% errors against a 99.5% objective: burn rate 20) give slo:sli_ratio,
#      slo:burn_rate and slo:error_budget_remaining:ratio in tsdb, /api/v1/slos, and the
#      SLOBurnRateHigh page in alertd;
#   3. SIGTERM stops slod with exit 0.
# Needs $BUILD/bin/{slod,tsdb,fwpush}; skips what is missing, saying so.
set -euo pipefail

. "$(dirname "$0")/harness.bash"

# --- 1. configuration checks --------------------------------------------------------
"$BIN/slod" --check-config | grep -q 'configuration OK' || fail "embedded default config"
"$BIN/slod" --check-config --config.file="$ROOT/slod/slod.example.yml" |
    grep -q 'configuration OK' || fail "slod/slod.example.yml"
ok "slod --check-config accepts the embedded and the file default"
cat > "$TMP/bad.yml" <<'EOF'
slos:
  - name: x
    objective: 100
    window: 30d
    sli: {good: 'sum(rate(a[{{.window}}]))', total: 'sum(rate(b[{{.window}}]))'}
EOF
set +e
out=$("$BIN/slod" --check-config --config.file="$TMP/bad.yml" 2>&1); rc=$?
set -e
[ $rc = 2 ] || fail "bad objective: exit $rc, want 2"
echo "$out" | grep -q "bad.yml:2:5: error: .*objective 100" || fail "bad objective report: $out"
ok "objective 100 refused at bad.yml:2:5 with exit 2"

# --- 2. tsdb + slod (+ alertd) ------------------------------------------------------
for b in tsdb fwpush; do
    [ -x "$BIN/$b" ] || { echo "skip: $BUILD/bin/$b not built; end-to-end part skipped"; exit 0; }
done
T_HTTP=$(port); T_SAMPLES=$(port); T_QUERY=$(port); T_PUB=$(port)
S_HTTP=$(port); S_PUB=$(port); A_HTTP=$(port); A_ALERTS=$(port); A_NOTIFY=$(port); A_PUB=$(port)

start_tsdb_and_alertd

# Two points 60 s apart: 1000 more requests, 100 of them errors (10%). Neither counter
# starts at 0, so rate() extrapolates both alike and the ratio is exactly 0.9.
now=$(( $(date +%s%N) / 1000000 ))
before=$(( now - 60000 ))
printf '%s\n' \
    "it_requests_total{code=\"200\"} 1000 $before" "it_requests_total{code=\"500\"} 100 $before" \
    "it_requests_total{code=\"200\"} 1900 $now" "it_requests_total{code=\"500\"} 200 $now" |
    "$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES
q() { curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1"; }
wait_for "requests stored" bash -c "curl -sf 'http://127.0.0.1:$T_HTTP/api/v1/query?query=it_requests_total' | grep -q '\"500\"'"
ok "fwpush samples visible in tsdb"

cat > "$TMP/slod.yml" <<'EOF'
evaluation_interval: 1s
slos:
  - name: it-availability
    service: it
    objective: 99.5
    window: 1d
    sli:
      good: sum(rate(it_requests_total{code!~"5.."}[{{.window}}]))
      total: sum(rate(it_requests_total[{{.window}}]))
    labels: {team: qa}
    alerting: {page: true}
EOF
"$BIN/slod" --config.file="$TMP/slod.yml" --web.listen-address=127.0.0.1:$S_HTTP \
    --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS --zmq.pub-address=tcp://127.0.0.1:$S_PUB \
    --query.timeout=2s > "$TMP/slod.log" 2>&1 &
SLOD=$!
PIDS+=($SLOD)
wait_for "slod ready" curl -sf "http://127.0.0.1:$S_HTTP/-/ready"
ok "slod up on :$S_HTTP"

sli() { q 'slo:sli_ratio{slo="it-availability",window="5m"} > 0.8999 < 0.9001' | grep -q '"value"'; }
wait_for "slo:sli_ratio{window=5m} = 0.9 in tsdb" sli
ok "slo:sli_ratio{window=\"5m\"} = 0.9 read back from tsdb"
burn() { q 'slo:burn_rate{slo="it-availability",window="1h",team="qa"} > 19.99 < 20.01' | grep -q '"value"'; }
wait_for "slo:burn_rate{window=1h} = 20" burn
ok "slo:burn_rate{window=\"1h\"} = 20 (10% errors / 0.5% budget)"
budget() { q 'slo:error_budget_remaining:ratio{slo="it-availability"} < -18.99 > -19.01' | grep -q '"value"'; }
wait_for "slo:error_budget_remaining:ratio = -19" budget
ok "slo:error_budget_remaining:ratio = -19 (budget overspent 20x)"

api=$(curl -sf "http://127.0.0.1:$S_HTTP/api/v1/slos")
echo "$api" | grep -q '"alert":"firing"' || fail "/api/v1/slos: $api"
ok "/api/v1/slos shows the burn-rate alert firing"

if [ $have_alertd = 1 ]; then
    paged() { curl -sf "http://127.0.0.1:$A_HTTP/api/v2/alerts" | grep -q '"alertname":"SLOBurnRateHigh"'; }
    wait_for "SLOBurnRateHigh in alertd" paged
    ok "alertd received SLOBurnRateHigh"
fi
curl -sf "http://127.0.0.1:$S_HTTP/metrics" | grep 'fw_slod_evaluations_total{slo="it-availability"}' >/dev/null ||
    fail "fw_slod_evaluations_total missing"
ok "/metrics counts evaluations"

sed -i 's/objective: 99.5/objective: 90/' "$TMP/slod.yml"
curl -sf -XPOST "http://127.0.0.1:$S_HTTP/-/reload" >/dev/null || fail "/-/reload refused a good config"
objective() { q 'slo:objective:ratio{slo="it-availability"}' | grep -q '"0.9"'; }
wait_for "slo:objective:ratio = 0.9 after reload" objective
ok "/-/reload applied a new objective (slo:objective:ratio = 0.9)"
printf 'slos: [{name: x}]\n' > "$TMP/slod.yml"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$S_HTTP/-/reload")
[ "$code" = 500 ] || fail "/-/reload of a broken config answered $code, want 500"
ok "/-/reload of a broken config: 500, old SLOs kept"

# --- 3. shutdown --------------------------------------------------------------------
kill -TERM $SLOD
rc=0; wait $SLOD || rc=$?
[ $rc = 0 ] || fail "slod exited $rc on SIGTERM"
ok "SIGTERM: slod exited 0"
echo "slod.sh: all passed"
