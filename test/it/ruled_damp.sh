#!/usr/bin/env bash
# ruled_damp.sh — flap damping (floorwatch_clear, floorwatch_hold; ruled(8) FLAP DAMPING):
#
#   1. the real Debian promtool accepts a rule file carrying the reserved annotations
#      (test/data/ruled_damp/rules.yml) and, on the same oven series hovering around its
#      threshold, passes prometheus.test.yml (the alert fires and resolves over and over)
#      and fails floorwatch.test.yml; `ruled test` does the opposite: it damps the flaps;
#   2. a real tsdb and ruled: a temperature pushed with fwpush hovers around 80 °C, then
#      drops below 70. Two rules on the same expression: OvenHotPlain (Prometheus's
#      semantics) fires and resolves at least twice, OvenHotDamped (floorwatch_clear) sends
#      exactly one firing episode and one resolution, as the ALERTS messages ruled sends
#      to alertd show (read from ruled's PUB with fwtail); OvenHotHeld (floorwatch_hold)
#      stays firing through the hover.
set -euo pipefail

. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
it_need_bins ruled tsdb fwpush fwtail
it_need_cmds promtool jq
BIN=$(cd "$BUILD/bin" && pwd)
DATA=$(cd "$(dirname "$0")/../data/ruled_damp" && pwd)
it_tmpdir

# --- 1. promtool and ruled test on the same files -------------------------------------
promtool check rules "$DATA/rules.yml" >"$IT_DIR/check.out" 2>&1 ||
    { cat "$IT_DIR/check.out"; it_die "promtool check rules refused the reserved annotations"; }
it_ok "promtool check rules accepts floorwatch_clear and floorwatch_hold annotations"
verdict() { (cd "$DATA" && "$@" >/dev/null 2>&1) && echo pass || echo fail; }
[ "$(verdict promtool test rules prometheus.test.yml)" = pass ] || it_die "promtool: prometheus.test.yml"
[ "$(verdict promtool test rules floorwatch.test.yml)" = fail ] || it_die "promtool passed floorwatch.test.yml"
it_ok "promtool: the hovering oven flaps (prometheus.test.yml passes, floorwatch.test.yml fails)"
[ "$(verdict "$BIN/ruled" test floorwatch.test.yml)" = pass ] || it_die "ruled test: floorwatch.test.yml"
[ "$(verdict "$BIN/ruled" test prometheus.test.yml)" = fail ] || it_die "ruled test passed prometheus.test.yml"
it_ok "ruled test: the same file is damped (floorwatch.test.yml passes, prometheus.test.yml fails)"

# --- 2. tsdb + ruled ---------------------------------------------------------------------
R_HTTP=$(it_free_port); R_PUB=$(it_free_port)
it_start_tsdb_and_alertd
cat >"$IT_DIR/prometheus.yml" <<'YML'
global:
  evaluation_interval: 1s
rule_files: [oven.yml]
YML
cat >"$IT_DIR/oven.yml" <<'YML'
groups:
  - name: oven
    rules:
      - alert: OvenHotPlain
        expr: oven_temperature_celsius > 80
      - alert: OvenHotDamped
        expr: oven_temperature_celsius > 80
        annotations:
          floorwatch_clear: oven_temperature_celsius < 70
      - alert: OvenHotHeld
        expr: oven_temperature_celsius > 80
        annotations:
          floorwatch_hold: 1h
YML
"$BIN/ruled" --check-config --config.file="$IT_DIR/prometheus.yml" >/dev/null ||
    it_die "ruled --check-config refused the damped rules"
A_ADDR=tcp://127.0.0.1:${A_ALERTS:-$(it_free_port)}
it_start ruled "$BIN/ruled" --storage.path= --config.file="$IT_DIR/prometheus.yml" \
    --web.listen-address=127.0.0.1:$R_HTTP --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES \
    --zmq.query-address=tcp://127.0.0.1:$T_QUERY --zmq.alertd-address=$A_ADDR \
    --zmq.pub-address=tcp://127.0.0.1:$R_PUB --query.timeout=2s
it_wait_for "ruled ready" curl -sf "http://127.0.0.1:$R_HTTP/-/ready"
"$BIN/fwtail" --type=ALERTS --timeout=40s "tcp://127.0.0.1:$R_PUB" >"$IT_DIR/alerts.jsonl" 2>/dev/null &
IT_PIDS+=($!)
sleep 1 # the subscription settles before the first value

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# Each value holds 2 s (two 1 s evaluations): above 80, then between 70 and 80, again and
# again, then below 70.
for t in 85 79 82 75 81 78 65 64; do
    printf 'oven_temperature_celsius{oven="o1"} %s %s\n' "$t" "$(now_ms)" |
        "$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES >/dev/null 2>&1 || it_die "fwpush"
    for _ in 1 2; do
        sleep 1
        printf 'oven_temperature_celsius{oven="o1"} %s %s\n' "$t" "$(now_ms)" |
            "$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES >/dev/null 2>&1 || it_die "fwpush"
    done
done
sleep 2

# Episodes of an alert: its distinct startsAt; resolutions: distinct startsAt of the
# alerts sent with endsAt at or before startsAt + 60 s (firing ones end 4 minutes ahead).
episodes() {
    jq -r --arg n "$1" '.body.alerts[]? | select(.labels.alertname == $n) | .startsAt' \
        "$IT_DIR/alerts.jsonl" | sort -u | wc -l
}
resolutions() {
    jq -r --arg n "$1" '.body.alerts[]? | select(.labels.alertname == $n)
        | select((.endsAt | sub("\\.[0-9]+Z$"; "Z") | fromdate)
                 <= (.startsAt | sub("\\.[0-9]+Z$"; "Z") | fromdate) + 60) | .startsAt' \
        "$IT_DIR/alerts.jsonl" | sort -u | wc -l
}
plain_e=$(episodes OvenHotPlain); plain_r=$(resolutions OvenHotPlain)
damp_e=$(episodes OvenHotDamped); damp_r=$(resolutions OvenHotDamped)
held_e=$(episodes OvenHotHeld); held_r=$(resolutions OvenHotHeld)
echo "  OvenHotPlain: $plain_e firing episodes, $plain_r resolved; OvenHotDamped: $damp_e, $damp_r; OvenHotHeld: $held_e, $held_r"
[ "$plain_e" -ge 2 ] && [ "$plain_r" -ge 2 ] ||
    it_die "Prometheus's semantics should flap: $plain_e episodes, $plain_r resolutions"
it_ok "OvenHotPlain (Prometheus's semantics) flaps: $plain_e firing/resolved pairs"
[ "$damp_e" = 1 ] && [ "$damp_r" = 1 ] ||
    it_die "OvenHotDamped: $damp_e episodes, $damp_r resolutions, want 1 and 1"
it_ok "OvenHotDamped (floorwatch_clear) sends one firing/resolved pair"
[ "$held_e" = 1 ] && [ "$held_r" = 0 ] ||
    it_die "OvenHotHeld: $held_e episodes, $held_r resolutions, want 1 and 0"
it_ok "OvenHotHeld (floorwatch_hold: 1h) stays firing through the hover and the drop"
rules=$(curl -sf "http://127.0.0.1:$R_HTTP/api/v1/rules")
[ "$(echo "$rules" | jq -r '[.data.groups[].rules[] | .health] | unique | join(",")')" = ok ] ||
    it_die "rules not healthy: $rules"
it_ok "/api/v1/rules: every damped rule healthy"
echo "ruled_damp.sh: ${IT_PASSES} passed"
