#!/usr/bin/env bash
# bench-rules.sh KIT_DIR BIN_DIR — the rule-evaluation half of `make bench` (bench.sh "rules").
#
# The Debian prometheus and floorwatch's tsdb + ruled evaluate the same rule files on the
# same data, one after the other: RULES_GROUPS groups of RULES_PER_GROUP rules (defaults
# 100 x 100 = 10,000) every RULES_INTERVAL (15 s). The data is the kit's OpenMetrics history
# (gen-openmetrics.py, RULES_SERIES x RULES_HOURS at 15 s, seed 1) ending now, backfilled by
# promtool for prometheus and by `tsdb import` for tsdb. The rules (generated here, the
# same file for both) mix per-line rate sums, gauge averages and maxima, a 5xx rate by
# handler, a p95 over the request histogram and threshold alerts with `for`. After
# RULES_WARMUP seconds each side is measured for RULES_WINDOW seconds: CPU (user+sys from
# /proc; prometheus alone against tsdb + ruled together), the groups' evaluation time from
# /api/v1/rules (sum over groups for one round, the slowest group), whether every group
# kept its interval (missed iterations, the oldest lastEvaluation) and how many recorded
# series each wrote. Prints key=value lines, then a table with ratios (higher = floorwatch
# better). Every process is started and stopped by PID, every wait is bounded.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KIT_DIR BIN_DIR" >&2; exit 2; }
KIT=$(cd "$1" && pwd)
BIN=$(cd "$2" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
NG=${RULES_GROUPS:-100} NR=${RULES_PER_GROUP:-100} IV=${RULES_INTERVAL:-15}
NS=${RULES_SERIES:-1000} HOURS=${RULES_HOURS:-1}
WARM=${RULES_WARMUP:-35} WIN=${RULES_WINDOW:-60}
WORKERS=${RULES_WORKERS:-4}
. "$KIT/lib.sh"
# shellcheck source=tools/bench-lib.sh
. "$HERE/bench-lib.sh" # free_port, now

bench_tmp rules

# --- data, ending now (on the 15 s grid) ---
start=$(( ($(date +%s) - HOURS * 3600) / 15 * 15 ))
echo "   rules: gen-openmetrics.py --series $NS --hours $HOURS --step 15 --seed 1 --start $start"
python3 "$KIT/gen-openmetrics.py" --series "$NS" --hours "$HOURS" --step 15 --seed 1 \
    --start "$start" -o "$TMP/om.txt" 2>"$TMP/gen.log" ||
    { echo "bench-rules: gen-openmetrics.py failed: $(cat "$TMP/gen.log")" >&2; exit 1; }
promtool tsdb create-blocks-from openmetrics -q "$TMP/om.txt" "$TMP/prom-data" >"$TMP/promtool.log" 2>&1 ||
    { echo "bench-rules: promtool failed: $(tail -3 "$TMP/promtool.log")" >&2; exit 1; }
"$BIN/tsdb" import --quiet --storage.tsdb.path="$TMP/fw-data" "$TMP/om.txt" >/dev/null 2>"$TMP/import.err" ||
    { echo "bench-rules: tsdb import failed: $(tail -3 "$TMP/import.err")" >&2; exit 1; }

# --- the rule files: NG groups of NR rules, one file per 10 groups ---
python3 - "$TMP/rules" "$NG" "$NR" "$IV" <<'PY'
import os, sys
out, ng, nr, iv = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
os.makedirs(out)
forms = [
    ('record', 'sum by (line) (rate(ms5_units_produced_total{line="line-%02d"}[5m]))'),
    ('record', 'avg by (line) (ms5_production_oee{line="line-%02d"})'),
    ('record', 'max by (line, equipment) (ms5_temperature_celsius{line="line-%02d"})'),
    ('record', 'sum by (handler) (rate(http_requests_total{status=~"5..",handler=~"/api/v1/[a-l].*"}[5m])) * %d'),
    ('record', 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[5m]))) * %d'),
    ('record', 'sum by (mode) (rate(node_cpu_seconds_total[5m])) / %d'),
    ('record', 'min by (line) (ms5_production_oee{line="line-%02d"})'),
    ('record', 'count by (line, state) (ms5_machine_state{line="line-%02d"} == 1)'),
    ('record', 'sum by (mountpoint) (node_filesystem_avail_bytes) / %d'),
    ('alert', 'ms5_temperature_celsius{line="line-%02d"} > 60'),
]
files = {}
for g in range(ng):
    f = files.setdefault(g // 10, [])
    lines = ['  - name: bench-%03d' % g, '    interval: %ss' % iv, '    rules:']
    for r in range(nr):
        kind, expr = forms[r % len(forms)]
        arg = (g + r) % 12 + 1
        expr = expr % arg
        if kind == 'record':
            lines.append('      - record: bench:g%03d_r%03d' % (g, r))
        else:
            lines.append('      - alert: BenchHot%03d_%03d' % (g, r))
            lines.append('        for: 30s')
        lines.append("        expr: '%s'" % expr)
    f.extend(lines)
for k, lines in files.items():
    with open(os.path.join(out, 'bench-%02d.yml' % k), 'w') as fh:
        fh.write('groups:\n' + '\n'.join(lines) + '\n')
PY
printf 'global:\n  evaluation_interval: %ss\nrule_files: [rules/*.yml]\n' "$IV" >"$TMP/prometheus.yml"
promtool check rules "$TMP"/rules/*.yml >"$TMP/check.log" 2>&1 ||
    { echo "bench-rules: promtool check rules: $(tail -3 "$TMP/check.log")" >&2; exit 1; }

# measure NAME BASE QBASE PID...: after the warm-up, CPU of the PIDs over the window, then
# the groups' evaluation as BASE's /api/v1/rules gives it and the recorded series QBASE
# holds; key=value lines prefixed NAME_.
measure() {
    local name=$1 base=$2 qbase=$3; shift 3
    local c0=0 c1=0 p t0 t1
    sleep "$WARM"
    for p in "$@"; do c0=$(awk -v a="$c0" -v b="$(cpu_seconds "$p")" 'BEGIN{print a + b}'); done
    t0=$(now)
    sleep "$WIN"
    for p in "$@"; do c1=$(awk -v a="$c1" -v b="$(cpu_seconds "$p")" 'BEGIN{print a + b}'); done
    t1=$(now)
    curl -fsS --max-time 60 "$base/api/v1/rules" >"$TMP/$name-rules.json"
    echo "${name}_cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN{printf "%.2f", b - a}')"
    echo "${name}_wall=$(awk -v t0="$t0" -v t1="$t1" 'BEGIN{printf "%.1f", t1 - t0}')"
    jq -r --arg n "$name" --argjson now "$(date +%s)" '
        [.data.groups[]] as $g
        | "\($n)_groups=\($g | length) \($n)_rules=\([$g[].rules[]] | length)",
          "\($n)_round_s=\([$g[].evaluationTime] | add | . * 1000 | round / 1000)",
          "\($n)_slowest_group_s=\([$g[].evaluationTime] | max | . * 1000 | round / 1000)",
          "\($n)_oldest_eval_age_s=\([$g[].lastEvaluation | sub("\\.[0-9]+"; "") | fromdateiso8601]
                                      | min | $now - . )",
          "\($n)_unhealthy=\([$g[].rules[] | select(.health != "ok")] | length)"' \
        "$TMP/$name-rules.json"
    echo "${name}_records=$(curl -fsS --max-time 60 -G "$qbase/api/v1/query" \
        --data-urlencode 'query=count({__name__=~"bench:.*"})' | jq -r '.data.result[0].value[1] // 0')"
}

# --- prometheus ---
PP=$(free_port)
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom-data" \
    --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PP" \
    >"$TMP/prometheus.log" 2>&1 &
RUN_PIDS+=($!)
PROM_PID=$!
wait_http "http://127.0.0.1:$PP/-/ready" 60 ||
    { echo "bench-rules: prometheus not ready: $(tail -3 "$TMP/prometheus.log")" >&2; exit 1; }
measure p "http://127.0.0.1:$PP" "http://127.0.0.1:$PP" "$PROM_PID" >"$TMP/p.kv"
echo "p_missed=$(metric_sum "http://127.0.0.1:$PP/metrics" prometheus_rule_group_iterations_missed_total)" >>"$TMP/p.kv"
stop_pid "$PROM_PID" 30

# --- tsdb + ruled ---
TH=$(free_port) TS=$(free_port) TQ=$(free_port) TU=$(free_port) RH=$(free_port)
"$BIN/tsdb" --log.level=warn --storage.tsdb.path="$TMP/fw-data" --storage.tsdb.retention.time=0s \
    --web.listen-address="127.0.0.1:$TH" --zmq.samples-address="tcp://127.0.0.1:$TS" \
    --zmq.query-address="tcp://127.0.0.1:$TQ" --zmq.pub-address="tcp://127.0.0.1:$TU" \
    >"$TMP/tsdb.log" 2>&1 &
RUN_PIDS+=($!)
TSDB_PID=$!
wait_http "http://127.0.0.1:$TH/-/ready" 60 ||
    { echo "bench-rules: tsdb not ready: $(tail -3 "$TMP/tsdb.log")" >&2; exit 1; }
"$BIN/ruled" --log.level=warn --config.file="$TMP/prometheus.yml" --storage.path= \
    --rules.group-workers="$WORKERS" --web.listen-address="127.0.0.1:$RH" \
    --zmq.tsdb-address="tcp://127.0.0.1:$TS" --zmq.query-address="tcp://127.0.0.1:$TQ" \
    --zmq.alertd-address="tcp://127.0.0.1:$(free_port)" --zmq.pub-address="tcp://127.0.0.1:$(free_port)" \
    >"$TMP/ruled.log" 2>&1 &
RUN_PIDS+=($!)
RULED_PID=$!
wait_http "http://127.0.0.1:$RH/-/ready" 60 ||
    { echo "bench-rules: ruled not ready: $(tail -3 "$TMP/ruled.log")" >&2; exit 1; }
measure f "http://127.0.0.1:$RH" "http://127.0.0.1:$TH" "$TSDB_PID" "$RULED_PID" >"$TMP/f.kv"
echo "f_missed=$(metric_sum "http://127.0.0.1:$RH/metrics" fw_ruled_rule_group_iterations_missed_total)" >>"$TMP/f.kv"
echo "f_ruled_cpu_since_start=$(cpu_seconds "$RULED_PID")" \
    "f_tsdb_cpu_since_start=$(cpu_seconds "$TSDB_PID")" >>"$TMP/f.kv"
stop_pid "$RULED_PID" 30
stop_pid "$TSDB_PID" 30

cat "$TMP/p.kv" "$TMP/f.kv"
# shellcheck disable=SC1090
eval "$(cat "$TMP/p.kv" "$TMP/f.kv" | tr ' ' '\n' | grep -E '^[a-z_0-9]+=[-0-9.a-z]*$')"
ratio() { awk -v p="$1" -v f="$2" 'BEGIN { if (f > 0) printf "%.2f", p / f; else print "-" }'; }
echo
echo "   $NG groups x $NR rules every ${IV}s over $NS series, ${WIN}s measured after ${WARM}s" \
    "(ruled --rules.group-workers=$WORKERS; higher ratio = floorwatch better):"
printf '   %-34s %12s %12s %8s\n' "" prometheus "tsdb+ruled" ratio
printf '   %-34s %12s %12s %8s\n' "CPU seconds in the window" "$p_cpu" "$f_cpu" "$(ratio "$p_cpu" "$f_cpu")"
printf '   %-34s %12s %12s %8s\n' "evaluation time of a round (s)" "$p_round_s" "$f_round_s" "$(ratio "$p_round_s" "$f_round_s")"
printf '   %-34s %12s %12s %8s\n' "slowest group (s)" "$p_slowest_group_s" "$f_slowest_group_s" "$(ratio "$p_slowest_group_s" "$f_slowest_group_s")"
printf '   %-34s %12s %12s\n' "oldest lastEvaluation (s ago)" "$p_oldest_eval_age_s" "$f_oldest_eval_age_s"
printf '   %-34s %12s %12s\n' "missed iterations" "$p_missed" "$f_missed"
printf '   %-34s %12s %12s\n' "rules (unhealthy)" "$p_rules ($p_unhealthy)" "$f_rules ($f_unhealthy)"
printf '   %-34s %12s %12s\n' "recorded bench:* series" "$p_records" "$f_records"
