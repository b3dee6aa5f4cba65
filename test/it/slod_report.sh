#!/usr/bin/env bash
# slod_report.sh — slod's numbers and alerts on synthetic traffic of known error rates in a
# real tsdb, through `slod report`, and `slod generate`'s rules checked by promtool.
#
#   1. `slod generate` on the embedded default and on a Sloth prometheus/v1 spec writes rule
#      files that the Debian `promtool check rules` accepts;
#   2. four days of request counters pushed into tsdb with fwpush, one sample a minute,
#      10 requests/s: 0.05% errors, except 2% (burn rate 20 against 99.9%) for two hours
#      from T1 to T2. `slod report --time=T --output=json` at chosen times gives, in the
#      quiet phase, exactly 0.0005 on every window, burn rate 0.5 and half the budget left;
#      and the page and ticket alerts on each side of the times the arithmetic predicts
#      (test/check_slod_eval.c has the exact evaluation at which each one changes):
#        page   fires T1+42.8m (1h and 5m over 14.4x), clears T2+21.5m (30m under 6x)
#        ticket fires T1+116m  (3d over 1x, from the rings), clears T2+5h51m (6h under 1x);
#   3. the table output lists the SLO with its budget left;
# Needs $BUILD/bin/{slod,tsdb,fwpush}; promtool for part 1 (skipped without it).
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
it_need_bins slod tsdb fwpush
BIN=$(cd "$BUILD/bin" && pwd)
it_tmpdir

# --- 1. slod generate | promtool check rules -------------------------------------------
cat > "$IT_DIR/sloth.yml" <<'EOF2'
version: "prometheus/v1"
service: "myservice"
labels:
  owner: "myteam"
slos:
  - name: "requests-availability"
    objective: 99.9
    description: "Common SLO based on availability for HTTP request responses."
    sli:
      events:
        error_query: sum(rate(http_request_duration_seconds_count{job="myservice",code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_request_duration_seconds_count{job="myservice"}[{{.window}}]))
    alerting:
      name: MyServiceHighErrorRate
      labels:
        category: "availability"
      annotations:
        summary: "High error rate on 'myservice' requests responses"
      page_alert:
        labels:
          severity: pageteam
          routing_key: myteam
      ticket_alert:
        labels:
          severity: "slack"
          slack_channel: "#alerts-myteam"
  - name: "latency"
    objective: 99
    sli:
      raw:
        error_ratio_query: 1 - avg_over_time(probe_success{job="myservice"}[{{.window}}])
    alerting:
      name: MyServiceLatency
      ticket_alert:
        disable: true
EOF2
if command -v promtool >/dev/null; then
    "$BIN/slod" generate --output="$IT_DIR/default.rules.yml"
    promtool check rules "$IT_DIR/default.rules.yml" >"$IT_DIR/promtool.out" 2>&1 ||
        it_die "promtool refused the default's rules: $(cat "$IT_DIR/promtool.out")"
    "$BIN/slod" generate --config.file="$IT_DIR/sloth.yml" > "$IT_DIR/sloth.rules.yml"
    promtool check rules "$IT_DIR/sloth.rules.yml" >"$IT_DIR/promtool.out" 2>&1 ||
        it_die "promtool refused the Sloth spec's rules: $(cat "$IT_DIR/promtool.out")"
    grep -q 'SUCCESS: 33 rules found' "$IT_DIR/promtool.out" || it_die "$(cat "$IT_DIR/promtool.out")"
    it_ok "promtool check rules accepts slod generate's rules (33 for the two-SLO Sloth spec)"
else
    echo "skip: promtool not installed (part 1)"
fi

# --- 2. synthetic history in a real tsdb ------------------------------------------------
it_start_tsdb_and_alertd
now=$(( $(date +%s) / 300 * 300 ))
start=$(( now - 4 * 86400 ))
T1=$(( now - 10 * 3600 )); T2=$(( T1 + 7200 ))
python3 - "$start" "$now" "$T1" "$T2" > "$IT_DIR/history.txt" <<'EOF2'
import sys
start, now, t1, t2 = map(int, sys.argv[1:])
total = bad = 0.0
for t in range(start, now + 1, 60):
    print('it_requests_total{code="all"} %.6f %d' % (total, t * 1000))
    print('it_errors_total %.6f %d' % (bad, t * 1000))
    total += 600
    bad += 600 * (0.02 if t1 <= t < t2 else 0.0005)
EOF2
"$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES --timeout=60s < "$IT_DIR/history.txt" >/dev/null
it_ok "4 days of traffic pushed into tsdb ($(wc -l < "$IT_DIR/history.txt") samples)"

cat > "$IT_DIR/slod.yml" <<'EOF2'
slos:
  - name: checkout
    service: shop
    objective: 99.9
    window: 4d
    sli:
      bad: sum(rate(it_errors_total[{{.window}}]))
      total: sum(rate(it_requests_total[{{.window}}]))
EOF2
report() {
    "$BIN/slod" report --config.file="$IT_DIR/slod.yml" --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
        --output=json --time="$1" "${@:2}" 2>"$IT_DIR/report.err"
}
# check TIME PYTHON-EXPR: the report at TIME satisfies the expression (s = the SLO object).
check() {
    local t=$1 expr=$2
    report "$t" > "$IT_DIR/r.json" || it_die "slod report --time=$t failed: $(cat "$IT_DIR/report.err")"
    python3 - "$IT_DIR/r.json" "$expr" <<'EOF2' || it_die "at $t: $2: $(cat "$IT_DIR/r.json")"
import json, sys
s = json.load(open(sys.argv[1]))["slos"][0]
w = s["windows"]
near = lambda a, b: abs(a - b) < 1e-9
sys.exit(0 if eval(sys.argv[2]) else 1)
EOF2
}

q=$(( T1 - 3600 ))
check $q 'all(near(w[k]["errorRatio"], 0.0005) and near(w[k]["burnRate"], 0.5) for k in ["5m","30m","1h","2h","6h","1d","3d","4d"])'
check $q 'near(s["errorBudgetRemaining"], 0.5) and near(s["errorBudgetConsumed"], 0.5) and near(s["sli"], 0.9995)'
check $q 's["alerts"] == {"page": "inactive", "ticket": "inactive"}'
it_ok "quiet phase: every window 0.0005 errors (burn 0.5), budget 0.5 left, no alert"

check $(( T1 + 40 * 60 )) 's["alerts"]["page"] == "inactive"'
check $(( T1 + 45 * 60 )) 's["alerts"]["page"] == "firing" and near(w["5m"]["burnRate"], 20)'
it_ok "page: not at T1+40m, firing at T1+45m (5m burn 20)"
check $(( T1 + 110 * 60 )) 's["alerts"]["ticket"] == "inactive"'
check $(( T1 + 120 * 60 )) 's["alerts"]["ticket"] == "firing"'
it_ok "ticket: not at T1+110m, firing at T1+120m (3d from the rings)"
check $(( T2 + 15 * 60 )) 's["alerts"]["page"] == "firing"'
check $(( T2 + 30 * 60 )) 's["alerts"]["page"] == "inactive" and s["alerts"]["ticket"] == "firing"'
it_ok "page: still firing at T2+15m, resolved at T2+30m; the ticket goes on"
check $(( T2 + 330 * 60 )) 's["alerts"]["ticket"] == "firing"'
check $(( T2 + 360 * 60 )) 's["alerts"]["ticket"] == "inactive"'
it_ok "ticket: still firing at T2+5h30m, resolved at T2+6h"

# --- 3. the table ----------------------------------------------------------------------
"$BIN/slod" report --config.file="$IT_DIR/slod.yml" --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --time=$q > "$IT_DIR/table.txt"
it_has '^SLO .*BUDGET LEFT.* 5m .* 3d .*PERIOD  ALERTS$' head -1 "$IT_DIR/table.txt" ||
    it_die "table header: $(cat "$IT_DIR/table.txt")"
grep -Eq '^shop-checkout +99\.9% +4d +99\.95% +50% +0\.5x' "$IT_DIR/table.txt" ||
    it_die "table row: $(cat "$IT_DIR/table.txt")"
it_ok "the table lists shop-checkout: 99.95% SLI, 50% budget left, burn 0.5x"
echo "slod_report.sh: all passed"
