#!/usr/bin/env bash
# ruled_groups.sh — rule groups are evaluated concurrently (ruled(8) CONCURRENCY): a group
# whose queries are slow holds one worker and the other groups keep their interval.
#
# A real tsdb and ruled. Group `slow` has three rules that tsdb takes about half a second each to
# answer (a 30-day subquery at 1 s steps over vector(1): no data needed); group `fast` has
# one trivial rule. Both run every second. Over 6 s, with --rules.group-workers=1 (one
# group at a time, as ruled evaluated before) `fast` evaluates at most 4 times; with the
# default 4 workers it keeps its interval (at least 5), while `slow` misses iterations
# (fw_ruled_rule_group_iterations_missed_total). /api/v1/rules and /metrics give each
# group's evaluation time and last evaluation, as Prometheus names them.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
it_need_bins ruled tsdb
it_need_cmds jq curl
BIN=$(cd "$BUILD/bin" && pwd)
it_tmpdir
it_start_tsdb_and_alertd

cat >"$IT_DIR/prometheus.yml" <<'YML'
global:
  evaluation_interval: 1s
rule_files: [groups.yml]
YML
cat >"$IT_DIR/groups.yml" <<'YML'
groups:
  - name: slow
    rules:
      - record: slow:a
        expr: sum(count_over_time(vector(1)[30d:1s]))
      - record: slow:b
        expr: sum(count_over_time(vector(2)[30d:1s]))
      - record: slow:c
        expr: sum(count_over_time(vector(3)[30d:1s]))
  - name: fast
    rules:
      - record: fast:one
        expr: vector(1)
YML

# fast_evals WORKERS: start ruled with WORKERS group workers, print how often `fast`
# evaluated over 6 s once both groups run, and stop it.
fast_evals() {
    local port pid m0 m1
    port=$(it_free_port)
    "$BIN/ruled" --storage.path= --config.file="$IT_DIR/prometheus.yml" \
        --rules.group-workers="$1" --web.listen-address=127.0.0.1:$port \
        --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
        --zmq.alertd-address=tcp://127.0.0.1:$A_ALERTS --zmq.pub-address=tcp://127.0.0.1:$(it_free_port) \
        --query.timeout=30s >"$IT_DIR/ruled-$1.log" 2>&1 &
    pid=$!
    IT_PIDS+=($pid)
    it_wait_for "ruled ready" curl -sf "http://127.0.0.1:$port/-/ready"
    evals() {
        curl -sf "http://127.0.0.1:$port/metrics" |
            awk '/^fw_ruled_rule_evaluations_total\{rule_group=".*;fast"\}/ { print $2 }'
    }
    it_until 100 0.1 it_has 'evaluations_total{rule_group=".*;slow"}' curl -sf "http://127.0.0.1:$port/metrics" ||
        it_die "slow group never finished an evaluation"
    m0=$(evals)
    sleep 6
    m1=$(evals)
    curl -sf "http://127.0.0.1:$port/api/v1/rules" >"$IT_DIR/rules-$1.json"
    curl -sf "http://127.0.0.1:$port/metrics" >"$IT_DIR/metrics-$1.txt"
    it_term "$pid"
    echo $(( ${m1%.*} - ${m0%.*} ))
}

one=$(fast_evals 1)
four=$(fast_evals 4)
echo "  fast group evaluations in 6 s: $one with 1 worker, $four with 4"
[ "$one" -le 4 ] || it_die "with one worker the slow group should hold fast back ($one evaluations)"
it_ok "one worker: the slow group holds the fast one back ($one evaluations in 6 s)"
[ "$four" -ge 5 ] || it_die "with 4 workers fast should keep its 1 s interval ($four evaluations)"
it_ok "four workers: the fast group keeps its interval ($four evaluations in 6 s)"

slow_s=$(jq -r '.data.groups[] | select(.name == "slow") | .evaluationTime' "$IT_DIR/rules-4.json")
fast_last=$(jq -r '.data.groups[] | select(.name == "fast") | .lastEvaluation' "$IT_DIR/rules-4.json")
jq -e '.data.groups | length == 2 and all(.[]; (.evaluationTime | type) == "number"
        and (.lastEvaluation | test("^20[0-9-]+T")) and (.interval == 1))' \
    "$IT_DIR/rules-4.json" >/dev/null || it_die "/api/v1/rules groups: $(cat "$IT_DIR/rules-4.json")"
awk -v s="$slow_s" 'BEGIN { exit !(s >= 0.5) }' || it_die "slow group evaluationTime $slow_s"
it_ok "/api/v1/rules: evaluationTime per group (slow $slow_s s), lastEvaluation (fast $fast_last)"
for m in fw_ruled_rule_group_last_duration_seconds fw_ruled_rule_group_last_evaluation_timestamp_seconds; do
    [ "$(grep -c "^$m{rule_group=" "$IT_DIR/metrics-4.txt")" = 2 ] || it_die "/metrics lacks $m per group"
done
grep -q '^fw_ruled_rule_group_iterations_missed_total{rule_group=".*;slow"} [1-9]' "$IT_DIR/metrics-4.txt" ||
    it_die "slow group missed no iteration: $(grep missed "$IT_DIR/metrics-4.txt")"
it_ok "/metrics: last duration, last evaluation time and missed iterations per group"
# BUILD=build-asan: the worker threads under AddressSanitizer and UBSan
! grep -lE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$IT_DIR"/ruled-*.log ||
    it_die "sanitizer report in $(grep -lE 'AddressSanitizer|runtime error:' "$IT_DIR"/ruled-*.log)"
it_ok "no sanitizer report from ruled"
echo "ruled_groups.sh: ${IT_PASSES} passed"
