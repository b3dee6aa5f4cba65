#!/usr/bin/env bash
# bench-slo.sh KIT BIN — the slo section of `make bench` (tools/bench.sh).
#
# 100 SLOs with a 30-day window (SLO_SERVICES services x 5 objectives, bad/total over
# per-service request counters) evaluated every SLO_INTERVAL seconds, for each history
# length in SLO_HISTORIES days (default "1 7 30"), two ways on the same data:
# - floorwatch: the counters go in with `tsdb import`; slod (its 5-minute rings filled
#   first, by range queries, then journalled) evaluates them through tsdb;
# - the Debian prometheus evaluates `slod generate`'s rules for the same SLOs (Sloth's
#   layout: SLI windows 5m..3d from the raw counters, the 30-day ratio as the average of
#   the recorded 5-minute ratio), on promtool's blocks of the same counters plus the
#   recorded 5-minute ratio for the whole history, as Prometheus would have recorded it
#   (at a 5-minute step: a 30 s or 1 m rule interval records 5-10 times more points, so
#   this favours Prometheus).
# After a warm-up each side runs SLO_SECONDS (default 30); the figure is the CPU time
# (user+sys from /proc) of the evaluating processes (prometheus; slod + tsdb) divided by the
# evaluations of all 100 SLOs done in that time. The 30-day error ratio of one SLO is read
# from both and must agree. Prints a table; the machine's load average is printed with it.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 KIT_DIR BIN_DIR" >&2; exit 2; }
KIT=$(cd "$1" && pwd)
BIN=$(cd "$2" && pwd)
HISTORIES=${SLO_HISTORIES:-1 7 30}
SERVICES=${SLO_SERVICES:-20}
SECONDS_RUN=${SLO_SECONDS:-30}
INTERVAL=${SLO_INTERVAL:-5}
. "$KIT/lib.sh"
# shellcheck source=tools/bench-lib.sh
. "$(dirname "$0")/bench-lib.sh" # bench_tmp, free_port, now

bench_tmp slo

# The SLOs: service sNN, objectives 99 .. 99.99, error ratio 0.0005 x (1 + NN % 4).
python3 - "$SERVICES" "$INTERVAL" >"$TMP/slod.yml" <<'EOF'
import sys
services, interval = int(sys.argv[1]), sys.argv[2]
print("evaluation_interval: %ss" % interval)
print("slos:")
for s in range(services):
    for i, obj in enumerate(["99", "99.5", "99.9", "99.95", "99.99"]):
        print("  - name: availability-%d" % i)
        print("    service: s%02d" % s)
        print("    objective: %s" % obj)
        print("    window: 30d")
        print("    sli:")
        print("      bad: sum(rate(bench_errors_total{service=\"s%02d\"}[{{.window}}]))" % s)
        print("      total: sum(rate(bench_requests_total{service=\"s%02d\"}[{{.window}}]))" % s)
EOF
"$BIN/slod" generate --config.file="$TMP/slod.yml" --output="$TMP/rules.yml"
N_SLOS=$((SERVICES * 5))
N_GROUPS=$((N_SLOS * 3))

# history DAYS END OUT_RAW OUT_REC: the counters at a 60 s step for DAYS days up to END
# (seconds), and the recorded 5-minute ratio at a 5-minute step, as OpenMetrics.
history() {
    python3 - "$1" "$2" "$SERVICES" "$3" "$4" <<'EOF'
import sys
days, end, services = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
start = end - days * 86400
with open(sys.argv[4], "w") as raw:
    for name in ("bench_requests_total", "bench_errors_total"):
        raw.write("# TYPE %s counter\n" % name[:-6])
        for s in range(services):
            ratio = 0.0005 * (1 + s % 4)
            for k, t in enumerate(range(start, end + 1, 60)):
                v = 600 * k * (ratio if name == "bench_errors_total" else 1)
                raw.write('%s{service="s%02d"} %.6f %d\n' % (name, s, v, t))
    raw.write("# EOF\n")
with open(sys.argv[5], "w") as rec:
    rec.write("# TYPE slo:sli_error:ratio_rate5m gauge\n")
    for s in range(services):
        ratio = 0.0005 * (1 + s % 4)
        for i in range(5):
            lab = ('sloth_id="s%02d-availability-%d",sloth_service="s%02d",'
                   'sloth_slo="availability-%d",sloth_window="5m"' % (s, i, s, i))
            for t in range(start + 300, end + 1, 300):
                rec.write("slo:sli_error:ratio_rate5m{%s} %.6g %d\n" % (lab, ratio, t))
    rec.write("# EOF\n")
EOF
}

# cpu_of PID...: their user+sys CPU seconds together.
cpu_of() {
    local s=0 p
    for p in "$@"; do s=$(awk -v a="$s" -v b="$(cpu_seconds "$p")" 'BEGIN{print a + b}'); done
    echo "$s"
}

# measure NAME COUNTER_URL COUNTER_NAME PER PID...: CPU ms per evaluation of all SLOs over
# SECONDS_RUN; evaluations = the counter's growth / PER.
measure() {
    local url=$2 name=$3 per=$4
    shift 4
    local c0 n0 c1 n1
    c0=$(cpu_of "$@") n0=$(metric_sum "$url" "$name")
    sleep "$SECONDS_RUN"
    c1=$(cpu_of "$@") n1=$(metric_sum "$url" "$name")
    awk -v c0="$c0" -v c1="$c1" -v n0="$n0" -v n1="$n1" -v per="$per" \
        'BEGIN { e = (n1 - n0) / per; if (e <= 0) { print "n/a 0"; exit }
                 printf "%.1f %.0f\n", (c1 - c0) * 1000 / e, e }'
}

# wait_until SECONDS CMD...: run CMD every second until it succeeds (bounded).
wait_until() {
    local max=$1 i
    shift
    for ((i = 0; i < max; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
    return 1
}

END=$(( $(date +%s) / 300 * 300 - 300 ))
printf 'history\tslod+tsdb CPU ms/eval\tprometheus CPU ms/eval\tratio\t30d ratio slod\t30d ratio prometheus\n' \
    >"$TMP/table.tsv"
for days in $HISTORIES; do
    echo "   slo: ${days}d of history: generating, importing, backfilling"
    D="$TMP/h$days"
    mkdir -p "$D"
    history "$days" "$END" "$D/raw.om" "$D/rec.om"

    # --- floorwatch: tsdb import, then tsdb + slod ---
    "$BIN/tsdb" import --quiet --storage.tsdb.path="$D/fw" "$D/raw.om" >"$D/import.out" 2>&1 ||
        { echo "bench-slo: tsdb import failed: $(tail -3 "$D/import.out")" >&2; exit 1; }
    TH=$(free_port) TS=$(free_port) TQ=$(free_port) SH=$(free_port)
    "$BIN/tsdb" --log.level=warn --storage.tsdb.path="$D/fw" --storage.tsdb.retention.time=0s \
        --web.listen-address="127.0.0.1:$TH" --zmq.samples-address="tcp://127.0.0.1:$TS" \
        --zmq.query-address="tcp://127.0.0.1:$TQ" --zmq.pub-address="tcp://127.0.0.1:$(free_port)" \
        >"$D/tsdb.log" 2>&1 &
    TSDB_PID=$!
    RUN_PIDS+=("$TSDB_PID")
    wait_http "http://127.0.0.1:$TH/-/ready" 60 || { echo "bench-slo: tsdb not ready" >&2; exit 1; }
    "$BIN/slod" --log.level=warn --config.file="$TMP/slod.yml" --storage.path="$D/slod" \
        --web.listen-address="127.0.0.1:$SH" --zmq.tsdb-address="tcp://127.0.0.1:$TS" \
        --zmq.query-address="tcp://127.0.0.1:$TQ" --zmq.alertd-address="tcp://127.0.0.1:$(free_port)" \
        --zmq.pub-address="tcp://127.0.0.1:$(free_port)" --query.timeout=30s \
        --slo.backfill-buckets=1000000 >"$D/slod.log" 2>&1 &
    SLOD_PID=$!
    RUN_PIDS+=("$SLOD_PID")
    full() {
        curl -fsS "http://127.0.0.1:$SH/api/v1/slos" |
            jq -e "[.data.slos[] | select(.periodBuckets >= 8639)] | length == $N_SLOS"
    }
    wait_until 300 full || { echo "bench-slo: slod's rings not filled" >&2; exit 1; }
    sleep "$INTERVAL"
    read -r o_ms o_evals < <(measure slod "http://127.0.0.1:$SH/metrics" fw_slod_evaluations_total \
        "$N_SLOS" "$SLOD_PID" "$TSDB_PID")
    o_ratio=$(curl -fsS "http://127.0.0.1:$SH/api/v1/slos" |
        jq -r '.data.slos[] | select(.id == "s01-availability-0") | .windows["30d"].errorRatio')
    stop_pid "$SLOD_PID" 30
    stop_pid "$TSDB_PID" 30

    # --- prometheus: promtool's blocks, then the generated rules ---
    promtool tsdb create-blocks-from openmetrics -q "$D/raw.om" "$D/prom" >"$D/promtool.log" 2>&1 &&
        promtool tsdb create-blocks-from openmetrics -q "$D/rec.om" "$D/prom" >>"$D/promtool.log" 2>&1 ||
        { echo "bench-slo: promtool failed: $(tail -3 "$D/promtool.log")" >&2; exit 1; }
    PP=$(free_port)
    printf 'global:\n  evaluation_interval: %ss\nrule_files: [%s]\nscrape_configs: []\n' \
        "$INTERVAL" "$TMP/rules.yml" >"$D/prometheus.yml"
    prometheus --config.file="$D/prometheus.yml" --storage.tsdb.path="$D/prom" \
        --storage.tsdb.retention.time=100y --web.listen-address="127.0.0.1:$PP" \
        >"$D/prometheus.log" 2>&1 &
    PROM_PID=$!
    RUN_PIDS+=("$PROM_PID")
    wait_http "http://127.0.0.1:$PP/-/ready" 120 || { echo "bench-slo: prometheus not ready" >&2; exit 1; }
    # promtool writes 2-hour blocks; let prometheus compact them before measuring.
    settled() {
        local a b
        a=$(metric_sum "http://127.0.0.1:$PP/metrics" prometheus_tsdb_compactions_total)
        sleep 5
        b=$(metric_sum "http://127.0.0.1:$PP/metrics" prometheus_tsdb_compactions_total)
        [ "$a" = "$b" ]
    }
    wait_until 12 settled || true
    sleep "$INTERVAL"
    read -r p_ms p_evals < <(measure prometheus "http://127.0.0.1:$PP/metrics" \
        prometheus_rule_group_iterations_total "$N_GROUPS" "$PROM_PID")
    p_ratio=$(prom_scalar "http://127.0.0.1:$PP" \
        'slo:sli_error:ratio_rate30d{sloth_id="s01-availability-0"}')
    stop_pid "$PROM_PID" 30
    RUN_PIDS=()
    printf '%sd\t%s (%s evals)\t%s (%s evals)\t%s\t%s\t%s\n' "$days" "$o_ms" "$o_evals" "$p_ms" \
        "$p_evals" "$(awk -v a="$p_ms" -v b="$o_ms" 'BEGIN{ if (a > 0 && b > 0) printf "%.2fx", a / b; else print "n/a" }')" \
        "$o_ratio" "$p_ratio" >>"$TMP/table.tsv"
    rm -rf "$D"
done
echo
echo "slo: $N_SLOS SLOs with a 30d window every ${INTERVAL}s, CPU per evaluation of all of them" \
    "(higher ratio = floorwatch better; load average $(cut -d' ' -f1-3 /proc/loadavg)):"
column -t -s $'\t' "$TMP/table.tsv"
