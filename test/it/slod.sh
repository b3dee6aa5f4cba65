#!/usr/bin/env bash
# slod.sh — integration test of slod with a real tsdb (and alertd when built).
#
#   1. the default config passes --check-config; a bad objective fails with file:line:col;
#      a Sloth plugin SLI is refused at its key;
#   2. tsdb + slod (+ alertd) on free loopback ports, slod reading a Sloth prometheus/v1
#      spec unchanged: request counters pushed with fwpush (10% errors against a 99.5%
#      objective: burn rate 20) give slo:sli_error:ratio_rate5m, slo:burn_rate:ratio,
#      slo:current_burn_rate:ratio and the metadata series in tsdb, /api/v1/slos, and the
#      page alert (severity label from the spec) in alertd; the 5-minute rings' journal is
#      written under --storage.path; a broken config on reload is refused and the old SLOs
#      go on;
#   3. SIGTERM stops slod with exit 0.
# Needs $BUILD/bin/{slod,tsdb,fwpush}; skips what is missing, saying so.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
it_need_bins slod
BIN=$(cd "$BUILD/bin" && pwd)
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
it_tmpdir

# --- 1. configuration checks --------------------------------------------------------
it_has 'configuration OK' "$BIN/slod" --check-config || it_die "embedded default config"
it_has 'configuration OK' "$BIN/slod" --check-config --config.file="$ROOT/slod/slod.example.yml" ||
    it_die "slod/slod.example.yml"
it_ok "slod --check-config accepts the embedded and the file default"
cat > "$IT_DIR/bad.yml" <<'EOF'
slos:
  - name: x
    objective: 100
    window: 30d
    sli: {good: 'sum(rate(a[{{.window}}]))', total: 'sum(rate(b[{{.window}}]))'}
EOF
set +e
out=$("$BIN/slod" --check-config --config.file="$IT_DIR/bad.yml" 2>&1); rc=$?
set -e
[ $rc = 2 ] || it_die "bad objective: exit $rc, want 2"
grep -q "bad.yml:2:5: error: .*objective 100" <<<"$out" || it_die "bad objective report: $out"
it_ok "objective 100 refused at bad.yml:2:5 with exit 2"
cat > "$IT_DIR/plugin.yml" <<'EOF'
version: "prometheus/v1"
service: "myservice"
slos:
  - name: "requests-availability"
    objective: 99.9
    sli:
      plugin:
        id: "sloth-common/kubernetes/apiserver/availability"
    alerting:
      name: MyServiceHighErrorRate
EOF
set +e
out=$("$BIN/slod" --check-config --config.file="$IT_DIR/plugin.yml" 2>&1); rc=$?
set -e
[ $rc = 2 ] || it_die "Sloth plugin: exit $rc, want 2"
grep -q "plugin.yml:7:7: error: .*plugin: not supported" <<<"$out" || it_die "plugin report: $out"
it_ok "a Sloth plugin SLI is refused at plugin.yml:7:7 with exit 2"

# --- 2. tsdb + slod (+ alertd) ------------------------------------------------------
it_need_bins tsdb fwpush
S_HTTP=$(it_free_port); S_PUB=$(it_free_port)

it_start_tsdb_and_alertd

# Two points 60 s apart: 1000 more requests, 100 of them errors (10%). Neither counter
# starts at 0, so rate() extrapolates both alike and the ratio is exactly 0.9.
now=$(( $(date +%s%N) / 1000000 ))
before=$(( now - 60000 ))
printf '%s\n' \
    "it_requests_total{code=\"200\"} 1000 $before" "it_requests_total{code=\"500\"} 100 $before" \
    "it_requests_total{code=\"200\"} 1900 $now" "it_requests_total{code=\"500\"} 200 $now" |
    "$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES
q() { curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query" --data-urlencode "query=$1"; }
it_wait_for "requests stored" it_has '"500"' curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query?query=it_requests_total"
it_ok "fwpush samples visible in tsdb"

# A Sloth prometheus/v1 spec as Sloth documents it (plus evaluation_interval and
# external_labels, slod keys).
cat > "$IT_DIR/slod.yml" <<'EOF'
version: "prometheus/v1"
service: "it"
labels:
  team: "qa"
evaluation_interval: 1s
external_labels: {cluster: it-eu1}
slos:
  - name: "availability"
    objective: 99.5
    description: "requests answered without a 5xx"
    sli:
      events:
        error_query: sum(rate(it_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(it_requests_total[{{.window}}]))
    alerting:
      name: ItHighErrorRate
      labels:
        category: "availability"
      annotations:
        runbook: "https://example.invalid/runbook/{{ $labels.sloth_service }}/{{ $labels.team }}"
        source: "{{ $externalURL }}/slo {{ $externalLabels.cluster }}"
      page_alert:
        labels:
          severity: critical
      ticket_alert:
        labels:
          severity: warning
EOF
it_has 'configuration OK' "$BIN/slod" --check-config --config.file="$IT_DIR/slod.yml" ||
    it_die "the Sloth spec"
it_ok "a Sloth prometheus/v1 spec passes --check-config unchanged"
"$BIN/slod" --config.file="$IT_DIR/slod.yml" --web.listen-address=127.0.0.1:$S_HTTP \
    --storage.path="$IT_DIR/slod" \
    --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS --zmq.pub-address=tcp://127.0.0.1:$S_PUB \
    --query.timeout=2s --web.external-url=http://slo.example:9090 > "$IT_DIR/slod.log" 2>&1 &
SLOD=$!
IT_PIDS+=($SLOD)
it_wait_for "slod ready" curl -sf "http://127.0.0.1:$S_HTTP/-/ready"
it_ok "slod up on :$S_HTTP"

ID='sloth_id="it-availability",sloth_service="it",sloth_slo="availability"'
sli() { it_has '"value"' q "slo:sli_error:ratio_rate5m{$ID,sloth_window=\"5m\"} > 0.0999 < 0.1001"; }
it_wait_for "slo:sli_error:ratio_rate5m = 0.1 in tsdb" sli
it_ok "slo:sli_error:ratio_rate5m = 0.1 read back from tsdb"
burn() { it_has '"value"' q "slo:burn_rate:ratio{$ID,sloth_window=\"1h\",team=\"qa\"} > 19.99 < 20.01"; }
it_wait_for "slo:burn_rate:ratio{sloth_window=1h} = 20" burn
it_ok "slo:burn_rate:ratio{sloth_window=\"1h\"} = 20 (10% errors / 0.5% budget)"
cur() { it_has '"value"' q "slo:current_burn_rate:ratio{$ID} > 19.99 < 20.01"; }
it_wait_for "slo:current_burn_rate:ratio = 20" cur
it_ok "slo:current_burn_rate:ratio = 20"
obj() { it_has '"value"' q "slo:objective:ratio{$ID} == 0.995" && it_has '"value"' q "slo:time_period:days{$ID} == 30"; }
it_wait_for "slo:objective:ratio and slo:time_period:days" obj
it_ok "slo:objective:ratio = 0.995, slo:time_period:days = 30 (Sloth's default period)"

api=$(curl -sf "http://127.0.0.1:$S_HTTP/api/v1/slos")
grep -q '"page":"firing"' <<<"$api" || it_die "/api/v1/slos: $api"
it_ok "/api/v1/slos shows the page alert firing"

if [ $IT_HAVE_ALERTD = 1 ]; then
    paged() { curl -sf "http://127.0.0.1:$A_HTTP/api/v2/alerts?filter=alertname%3D%22ItHighErrorRate%22" |
        python3 -c 'import json,sys; a=json.load(sys.stdin); l=a[0]["labels"]; sys.exit(not (l["severity"]=="critical" and l["sloth_severity"]=="page" and l["category"]=="availability" and a[0]["annotations"]["runbook"]=="https://example.invalid/runbook/it/qa" and l["cluster"]=="it-eu1" and a[0]["annotations"]["source"]=="http://slo.example:9090/slo it-eu1"))'; }
    it_wait_for "the page in alertd" paged
    it_ok "alertd received ItHighErrorRate{severity=critical, sloth_severity=page, cluster=it-eu1}, runbook, \$externalURL and \$externalLabels expanded"
fi
curl -sf "http://127.0.0.1:$S_HTTP/metrics" | grep 'fw_slod_evaluations_total{slo="it-availability"}' >/dev/null ||
    it_die "fw_slod_evaluations_total missing"
grep -Eq '^[0-9a-f]{16} [0-9]+ ' "$IT_DIR/slod/slod.ring" || it_die "no ring journal"
it_ok "the 5-minute rings are journalled in --storage.path"
it_ok "/metrics counts evaluations"

sed -i 's/objective: 99.5/objective: 90/' "$IT_DIR/slod.yml"
curl -sf -XPOST "http://127.0.0.1:$S_HTTP/-/reload" >/dev/null || it_die "/-/reload refused a good config"
objective() { it_has '"0.9"' q "slo:objective:ratio{$ID}"; }
it_wait_for "slo:objective:ratio = 0.9 after reload" objective
it_ok "/-/reload applied a new objective (slo:objective:ratio = 0.9)"
printf 'slos: [{name: x}]\n' > "$IT_DIR/slod.yml"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$S_HTTP/-/reload")
[ "$code" = 500 ] || it_die "/-/reload of a broken config answered $code, want 500"
evals() { curl -sf "http://127.0.0.1:$S_HTTP/metrics" | sed -n 's/^fw_slod_evaluations_total{slo="it-availability"} \([0-9]*\).*/\1/p'; }
n0=$(evals)
more() { [ "$(evals)" -gt "$n0" ]; }
it_wait_for "the old SLO still evaluated" more
it_ok "/-/reload of a broken config: 500, old SLOs kept evaluating"

# --- 3. shutdown --------------------------------------------------------------------
it_term $SLOD
[ $IT_RC = 0 ] || it_die "slod exited $IT_RC on SIGTERM"
it_ok "SIGTERM: slod exited 0"
echo "slod.sh: all passed"
