#!/usr/bin/env bash
# ruled.sh — integration test of ruled with a real tsdb (and alertd when built).
#
#   1. the default config and rules pass the real `promtool check config` / `check rules`
#      and ruled's own --check-config; a broken rule file fails with file:line:col, exit 2;
#   2. tsdb + ruled (+ alertd) on free loopback ports: samples pushed with fwpush are
#      recorded by a recording rule (read back through tsdb's /api/v1/query), an alert fires
#      (ruled's /api/v1/alerts, ALERTS series in tsdb, alertd's /api/v2/alerts);
#   3. /-/reload picks up a new rule; a broken rule file is refused and the old rules stay;
#   4. SIGTERM stops ruled with exit 0.
# Needs $BUILD/bin/{ruled,tsdb,fwpush}; skips what is missing, saying so.
set -euo pipefail

. "$(dirname "$0")/harness.bash"

# --- 1. configuration checks --------------------------------------------------------
if command -v promtool >/dev/null; then
    promtool check config "$ROOT/ruled/ruled.example.yml" >/dev/null ||
        fail "promtool check config ruled/ruled.example.yml"
    ok "promtool check config ruled/ruled.example.yml"
    promtool check rules "$ROOT/ruled/ruled.rules.yml" >/dev/null ||
        fail "promtool check rules ruled/ruled.rules.yml"
    ok "promtool check rules ruled/ruled.rules.yml"
else
    echo "skip: promtool not installed"
fi
"$BIN/ruled" --check-config | grep -q 'configuration OK' || fail "embedded default config"
"$BIN/ruled" --check-config --config.file="$ROOT/ruled/ruled.example.yml" |
    grep -q 'configuration OK' || fail "ruled/ruled.example.yml"
ok "ruled --check-config accepts the embedded and the file default"

cat > "$TMP/bad.rules.yml" <<'EOF'
groups:
  - name: bad
    rules:
      - record: x
        expr: sum(rate(x[5m])
EOF
printf 'rule_files: [bad.rules.yml]\n' > "$TMP/bad.yml"
set +e
out=$("$BIN/ruled" --check-config --config.file="$TMP/bad.yml" 2>&1); rc=$?
set -e
[ $rc = 2 ] || fail "broken rule file: exit $rc, want 2"
echo "$out" | grep -q "bad.rules.yml:5:15: error: could not parse expression" ||
    fail "broken rule file not reported at 5:15: $out"
ok "broken rule file refused at bad.rules.yml:5:15 with exit 2"

# --- 2. tsdb + ruled (+ alertd) -----------------------------------------------------
for b in tsdb fwpush; do
    [ -x "$BIN/$b" ] || { echo "skip: $BUILD/bin/$b not built; end-to-end part skipped"; exit 0; }
done
T_HTTP=$(port); T_SAMPLES=$(port); T_QUERY=$(port); T_PUB=$(port)
R_HTTP=$(port); R_PUB=$(port); A_HTTP=$(port); A_ALERTS=$(port); A_NOTIFY=$(port); A_PUB=$(port)

start_tsdb_and_alertd

mkdir -p "$TMP/rules"
cat > "$TMP/prometheus.yml" <<'EOF'
global:
  evaluation_interval: 1s
  external_labels: {site: it}
rule_files:
  - rules/*.yml
EOF
cat > "$TMP/rules/a.yml" <<'EOF'
groups:
  - name: it
    rules:
      - record: job:it_x:sum
        expr: sum by (job) (it_x)
      - alert: ItXHigh
        expr: it_x > 5
        for: 1s
        labels: {severity: page}
        annotations:
          summary: "it_x on {{ $labels.instance }} is {{ $value }}"
EOF

# Samples first, so the rules find them.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
push() {
    printf 'it_x{job="j",instance="a"} 10 %s\nit_x{job="j",instance="b"} 3 %s\n' \
        "$(now_ms)" "$(now_ms)" | "$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES
}
push
q() { curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1"; }
wait_for "it_x stored in tsdb" bash -c "curl -sf 'http://127.0.0.1:$T_HTTP/api/v1/query?query=it_x' | grep -q '\"instance\":\"a\"'"
ok "fwpush samples visible in tsdb"

"$BIN/ruled" --config.file="$TMP/prometheus.yml" --web.listen-address=127.0.0.1:$R_HTTP \
    --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS --zmq.pub-address=tcp://127.0.0.1:$R_PUB \
    --query.timeout=2s --web.external-url=http://127.0.0.1:$T_HTTP > "$TMP/ruled.log" 2>&1 &
RULED=$!
PIDS+=($RULED)
wait_for "ruled ready" curl -sf "http://127.0.0.1:$R_HTTP/-/ready"
ok "ruled up on :$R_HTTP"

recorded() { q 'job:it_x:sum' | grep -q '"value":\[[0-9.]*,"13"\]'; }
wait_for "recorded job:it_x:sum = 13 in tsdb" recorded
ok "recording rule: job:it_x:sum{job=\"j\"} = 13 read back from tsdb"

firing() { curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" | grep -q '"state":"firing"'; }
wait_for "ItXHigh firing in ruled" firing
curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" | grep -q '"summary":"it_x on a is 10"' ||
    fail "annotation not expanded: $(curl -s "http://127.0.0.1:$R_HTTP/api/v1/alerts")"
curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" | grep -q '"instance":"b"' &&
    fail "instance b (3 < 5) should not alert"
ok "alerting rule: ItXHigh{instance=\"a\"} firing after for: 1s, summary expanded"

alerts_series() { q 'ALERTS{alertname="ItXHigh",alertstate="firing"}' | grep -q '"instance":"a"'; }
wait_for "ALERTS series in tsdb" alerts_series
ok "ALERTS{alertstate=\"firing\"} stored in tsdb"

rules=$(curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules")
echo "$rules" | grep -q '"health":"ok"' || fail "rules not healthy: $rules"
echo "$rules" | grep -q '"type":"recording"' || fail "/api/v1/rules shape: $rules"
ok "/api/v1/rules reports both rules healthy"
only=$(curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules?type=alert&exclude_alerts=true")
echo "$only" | grep -q '"type":"recording"' && fail "type=alert returned recording rules: $only"
echo "$only" | grep -q '"alerts":' && fail "exclude_alerts=true kept alerts: $only"
named=$(curl -sf -G "http://127.0.0.1:$R_HTTP/api/v1/rules" --data-urlencode 'rule_name[]=job:it_x:sum')
echo "$named" | grep -q 'ItXHigh' && fail "rule_name[] filter: $named"
echo "$named" | grep -q 'job:it_x:sum' || fail "rule_name[] filter lost the rule: $named"
ok "/api/v1/rules filters: type=alert, exclude_alerts=true, rule_name[]"

if [ $have_alertd = 1 ]; then
    in_alertd() { curl -sf "http://127.0.0.1:$A_HTTP/api/v2/alerts" | grep -q '"alertname":"ItXHigh"'; }
    wait_for "ItXHigh in alertd" in_alertd
    curl -sf "http://127.0.0.1:$A_HTTP/api/v2/alerts" | grep -q '"site":"it"' ||
        fail "external label missing in alertd"
    ok "alertd received ItXHigh (with external label site=it)"
fi

curl -sf "http://127.0.0.1:$R_HTTP/metrics" | grep 'fw_ruled_rule_evaluations_total{rule_group=".*rules/a.yml;it"}' >/dev/null ||
    fail "fw_ruled_rule_evaluations_total missing"
ok "/metrics counts rule evaluations"

# --- 3. reload ----------------------------------------------------------------------
cat >> "$TMP/rules/a.yml" <<'EOF'
      - record: job:it_x:max
        expr: max by (job) (it_x)
EOF
curl -sf -XPOST "http://127.0.0.1:$R_HTTP/-/reload" >/dev/null || fail "/-/reload refused a good config"
curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules" | grep -q 'job:it_x:max' || fail "new rule not loaded"
curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" | grep -q '"state":"firing"' ||
    fail "alert state lost over reload"
ok "/-/reload loaded a new rule and kept the firing alert"
maxed() { q 'job:it_x:max' | grep -q '"10"'; }
wait_for "job:it_x:max recorded" maxed
ok "new rule evaluated: job:it_x:max = 10"

printf 'groups:\n  - name: x\n    rulez: []\n' > "$TMP/rules/b.yml"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$R_HTTP/-/reload")
[ "$code" = 500 ] || fail "/-/reload of a broken rule file answered $code, want 500"
curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules" | grep -q 'job:it_x:max' || fail "old rules dropped"
curl -sf "http://127.0.0.1:$R_HTTP/metrics" | grep '^fw_ruled_config_last_reload_successful 0' >/dev/null ||
    fail "reload failure not reported in /metrics"
ok "/-/reload of a broken rule file: 500, old rules kept"
rm "$TMP/rules/b.yml"
kill -HUP $RULED
wait_for "SIGHUP reload" bash -c "curl -sf http://127.0.0.1:$R_HTTP/metrics | grep -q '^fw_ruled_config_last_reload_successful 1'"
ok "SIGHUP reload"
# Removing a rule writes staleness markers for its series: tsdb stops returning it at once.
head -n -2 "$TMP/rules/a.yml" > "$TMP/a.tmp" && mv "$TMP/a.tmp" "$TMP/rules/a.yml"
curl -sf -XPOST "http://127.0.0.1:$R_HTTP/-/reload" >/dev/null || fail "reload without job:it_x:max"
gone() { q 'job:it_x:max' | grep -q '"result":\[\]'; }
wait_for "job:it_x:max marked stale" gone
ok "removed rule's series marked stale (tsdb no longer returns job:it_x:max)"

# --- 4. shutdown --------------------------------------------------------------------
kill -TERM $RULED
rc=0; wait $RULED || rc=$?
[ $rc = 0 ] || fail "ruled exited $rc on SIGTERM"
ok "SIGTERM: ruled exited 0"
echo "ruled.sh: all passed"
