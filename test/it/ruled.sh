#!/usr/bin/env bash
# ruled.sh — integration test of ruled with a real tsdb (and alertd when built).
#
#   1. the default config and rules pass the real `promtool check config` / `check rules`
#      and ruled's own --check-config; a broken rule file fails with file:line:col, exit 2;
#   2. tsdb + ruled (+ alertd) on free loopback ports: samples pushed with fwpush are
#      recorded by a recording rule (read back through tsdb's /api/v1/query), an alert fires
#      (ruled's /api/v1/alerts, ALERTS series in tsdb, alertd's /api/v2/alerts), its
#      annotations calling `query` answered by tsdb through ruled's worker;
#   3. /-/reload picks up a new rule; a broken rule file is refused and the old rules stay;
#   4. SIGTERM stops ruled with exit 0.
# Needs $BUILD/bin/{ruled,tsdb,fwpush}; skips what is missing, saying so.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
it_need_bins ruled
BIN=$(cd "$BUILD/bin" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
it_tmpdir

# --- 1. configuration checks --------------------------------------------------------
if command -v promtool >/dev/null; then
    # promtool 2.42 knows double_exponential_smoothing as holt_winters (Prometheus 2's
    # name): it checks a copy with that word changed, next to the other files.
    mkdir -p "$IT_DIR/default"
    cp "$ROOT/ruled/ruled.example.yml" "$ROOT/ruled/ruled.prices.yml" "$IT_DIR/default/"
    sed 's/double_exponential_smoothing(/holt_winters(/' "$ROOT/ruled/ruled.rules.yml" \
        >"$IT_DIR/default/ruled.rules.yml"
    promtool check config "$IT_DIR/default/ruled.example.yml" >/dev/null ||
        it_die "promtool check config ruled/ruled.example.yml"
    it_ok "promtool check config ruled/ruled.example.yml"
    promtool check rules "$IT_DIR/default/ruled.rules.yml" "$IT_DIR/default/ruled.prices.yml" \
        >/dev/null || it_die "promtool check rules ruled/ruled.rules.yml ruled/ruled.prices.yml"
    it_ok "promtool check rules ruled/ruled.rules.yml ruled/ruled.prices.yml"
else
    echo "skip: promtool not installed"
fi
it_has 'configuration OK' "$BIN/ruled" --check-config || it_die "embedded default config"
it_has 'configuration OK' "$BIN/ruled" --check-config --config.file="$ROOT/ruled/ruled.example.yml" ||
    it_die "ruled/ruled.example.yml"
it_ok "ruled --check-config accepts the embedded and the file default"

cat > "$IT_DIR/bad.rules.yml" <<'EOF'
groups:
  - name: bad
    rules:
      - record: x
        expr: sum(rate(x[5m])
EOF
printf 'rule_files: [bad.rules.yml]\n' > "$IT_DIR/bad.yml"
set +e
out=$("$BIN/ruled" --check-config --config.file="$IT_DIR/bad.yml" 2>&1); rc=$?
set -e
[ $rc = 2 ] || it_die "broken rule file: exit $rc, want 2"
grep -q "bad.rules.yml:5:15: error: could not parse expression" <<<"$out" ||
    it_die "broken rule file not reported at 5:15: $out"
it_ok "broken rule file refused at bad.rules.yml:5:15 with exit 2"

# --- 2. tsdb + ruled (+ alertd) -----------------------------------------------------
it_need_bins tsdb fwpush
R_HTTP=$(it_free_port); R_PUB=$(it_free_port)

TSDB_ARGS=(--ruled.url=127.0.0.1:$R_HTTP) # Grafana asks tsdb's :9090 for rules and alerts
it_start_tsdb_and_alertd

mkdir -p "$IT_DIR/rules"
cat > "$IT_DIR/prometheus.yml" <<'EOF'
global:
  evaluation_interval: 1s
  external_labels: {site: it}
rule_files:
  - rules/*.yml
EOF
cat > "$IT_DIR/rules/a.yml" <<'EOF'
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
          total: '{{ with query "sum(it_x)" }}{{ . | first | value }}{{ end }}'
          peers: '{{ range query "it_x" | sortByLabel "instance" }}{{ .Labels.instance }}={{ .Value }} {{ end }}'
EOF

# Samples first, so the rules find them.
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
push() {
    printf 'it_x{job="j",instance="a"} 10 %s\nit_x{job="j",instance="b"} 3 %s\n' \
        "$(now_ms)" "$(now_ms)" | "$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES
}
push
q() { curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1"; }
it_wait_for "it_x stored in tsdb" it_has '"instance":"a"' curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query?query=it_x"
it_ok "fwpush samples visible in tsdb"

"$BIN/ruled" --storage.path="$IT_DIR/ruled-state" --config.file="$IT_DIR/prometheus.yml" --web.listen-address=127.0.0.1:$R_HTTP \
    --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS --zmq.pub-address=tcp://127.0.0.1:$R_PUB \
    --query.timeout=2s --web.external-url=http://127.0.0.1:$T_HTTP > "$IT_DIR/ruled.log" 2>&1 &
RULED=$!
IT_PIDS+=($RULED)
it_wait_for "ruled ready" curl -sf "http://127.0.0.1:$R_HTTP/-/ready"
it_ok "ruled up on :$R_HTTP"

recorded() { it_has '"value":\[[0-9.]*,"13"\]' q 'job:it_x:sum'; }
it_wait_for "recorded job:it_x:sum = 13 in tsdb" recorded
it_ok "recording rule: job:it_x:sum{job=\"j\"} = 13 read back from tsdb"

firing() { it_has '"state":"firing"' curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts"; }
it_wait_for "ItXHigh firing in ruled" firing
it_has '"summary":"it_x on a is 10"' curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" ||
    it_die "annotation not expanded: $(curl -s "http://127.0.0.1:$R_HTTP/api/v1/alerts")"
it_lacks '"instance":"b"' curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" ||
    it_die "instance b (3 < 5) should not alert (or no /api/v1/alerts)"
it_ok "alerting rule: ItXHigh{instance=\"a\"} firing after for: 1s, summary expanded"
al=$(curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts")
grep -q '"total":"13"' <<<"$al" && grep -q '"peers":"a=10 b=3 "' <<<"$al" ||
    it_die "template query not answered by tsdb: $al"
it_ok "template query through ruled's worker and tsdb: sum(it_x) = 13, it_x by instance"

alerts_series() { it_has '"instance":"a"' q 'ALERTS{alertname="ItXHigh",alertstate="firing"}'; }
it_wait_for "ALERTS series in tsdb" alerts_series
it_ok "ALERTS{alertstate=\"firing\"} stored in tsdb"

rules=$(curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules")
grep -q '"health":"ok"' <<<"$rules" || it_die "rules not healthy: $rules"
grep -q '"type":"recording"' <<<"$rules" || it_die "/api/v1/rules shape: $rules"
it_ok "/api/v1/rules reports both rules healthy"
only=$(curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules?type=alert&exclude_alerts=true")
grep -q '"type":"recording"' <<<"$only" && it_die "type=alert returned recording rules: $only"
grep -q '"alerts":' <<<"$only" && it_die "exclude_alerts=true kept alerts: $only"
named=$(curl -sf -G "http://127.0.0.1:$R_HTTP/api/v1/rules" --data-urlencode 'rule_name[]=job:it_x:sum')
grep -q 'ItXHigh' <<<"$named" && it_die "rule_name[] filter: $named"
grep -q 'job:it_x:sum' <<<"$named" || it_die "rule_name[] filter lost the rule: $named"
it_ok "/api/v1/rules filters: type=alert, exclude_alerts=true, rule_name[]"

# tsdb answers /api/v1/rules and /api/v1/alerts with ruled's (evaluation times aside, which
# move between the two requests)
strip='del(.. | .lastEvaluation?, .evaluationTime?)'
same_api() {
    [ "$(curl -sf "http://127.0.0.1:$T_HTTP$1" | jq -cS "$strip")" = \
      "$(curl -sf "http://127.0.0.1:$R_HTTP$1" | jq -cS "$strip")" ]
}
it_until 20 0.2 same_api /api/v1/rules || it_die "tsdb's /api/v1/rules is not ruled's"
it_until 20 0.2 same_api '/api/v1/rules?type=record' || it_die "tsdb's rules?type=record"
it_until 20 0.2 same_api /api/v1/alerts || it_die "tsdb's /api/v1/alerts is not ruled's"
it_ok "tsdb's /api/v1/rules and /api/v1/alerts are ruled's (--ruled.url)"

if [ $IT_HAVE_ALERTD = 1 ]; then
    in_alertd() { it_has '"alertname":"ItXHigh"' curl -sf "http://127.0.0.1:$A_HTTP/api/v2/alerts"; }
    it_wait_for "ItXHigh in alertd" in_alertd
    it_has '"site":"it"' curl -sf "http://127.0.0.1:$A_HTTP/api/v2/alerts" ||
        it_die "external label missing in alertd"
    it_ok "alertd received ItXHigh (with external label site=it)"
fi

curl -sf "http://127.0.0.1:$R_HTTP/metrics" | grep 'fw_ruled_rule_evaluations_total{rule_group=".*rules/a.yml;it"}' >/dev/null ||
    it_die "fw_ruled_rule_evaluations_total missing"
it_ok "/metrics counts rule evaluations"

# --- 3. reload ----------------------------------------------------------------------
cat >> "$IT_DIR/rules/a.yml" <<'EOF'
      - record: job:it_x:max
        expr: max by (job) (it_x)
EOF
curl -sf -XPOST "http://127.0.0.1:$R_HTTP/-/reload" >/dev/null || it_die "/-/reload refused a good config"
it_has 'job:it_x:max' curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules" || it_die "new rule not loaded"
it_has '"state":"firing"' curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" ||
    it_die "alert state lost over reload"
it_ok "/-/reload loaded a new rule and kept the firing alert"
maxed() { it_has '"10"' q 'job:it_x:max'; }
it_wait_for "job:it_x:max recorded" maxed
it_ok "new rule evaluated: job:it_x:max = 10"

printf 'groups:\n  - name: x\n    rulez: []\n' > "$IT_DIR/rules/b.yml"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$R_HTTP/-/reload")
[ "$code" = 500 ] || it_die "/-/reload of a broken rule file answered $code, want 500"
it_has 'job:it_x:max' curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules" || it_die "old rules dropped"
curl -sf "http://127.0.0.1:$R_HTTP/metrics" | grep '^fw_ruled_config_last_reload_successful 0' >/dev/null ||
    it_die "reload failure not reported in /metrics"
it_ok "/-/reload of a broken rule file: 500, old rules kept"
rm "$IT_DIR/rules/b.yml"
kill -HUP $RULED
it_wait_for "SIGHUP reload" it_has '^fw_ruled_config_last_reload_successful 1' curl -sf "http://127.0.0.1:$R_HTTP/metrics"
it_ok "SIGHUP reload"
# Removing a rule writes staleness markers for its series: tsdb stops returning it at once.
head -n -2 "$IT_DIR/rules/a.yml" > "$IT_DIR/a.tmp" && mv "$IT_DIR/a.tmp" "$IT_DIR/rules/a.yml"
curl -sf -XPOST "http://127.0.0.1:$R_HTTP/-/reload" >/dev/null || it_die "reload without job:it_x:max"
gone() { it_has '"result":\[\]' q 'job:it_x:max'; }
it_wait_for "job:it_x:max marked stale" gone
it_ok "removed rule's series marked stale (tsdb no longer returns job:it_x:max)"

# --- 4. shutdown --------------------------------------------------------------------
it_term $RULED
[ $IT_RC = 0 ] || it_die "ruled exited $IT_RC on SIGTERM"
it_ok "SIGTERM: ruled exited 0"
echo "ruled.sh: all passed"
