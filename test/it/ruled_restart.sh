#!/usr/bin/env bash
# ruled_restart.sh — ruled's alert state survives SIGKILL (ruled(8) ALERT STATE): tsdb +
# ruled + alertd + notifyd + fwsink (the webhook sink), samples pushed with fwpush.
#
# A rule with `for: 10s` fires and is notified. ruled is SIGKILLed and restarted: the alert
# is still firing with the same activeAt, never pending again, and nothing new is notified.
# ruled is SIGKILLed once more, the condition clears while it is down, and after the restart
# exactly one resolved notification reaches the sink (before: the alert went back to
# pending, and a condition that cleared while ruled was down sent no resolved state; alertd
# only expired it minutes later). Every wait is bounded.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_bins tsdb ruled alertd notifyd fwsink fwpush
it_need_cmds jq curl
it_tmpdir

SINK=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port)
T_HTTP=$(it_free_port); T_SAMPLES=$(it_free_port); T_QUERY=$(it_free_port); T_PUB=$(it_free_port)
R_HTTP=$(it_free_port); R_PUB=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$SINK/hook
        send_resolved: true
YML
cat > "$IT_DIR/prometheus.yml" <<'YML'
global:
  evaluation_interval: 1s
rule_files:
  - rules.yml
YML
cat > "$IT_DIR/rules.yml" <<'YML'
groups:
  - name: restart
    rules:
      - alert: RestartHigh
        expr: it_r > 5
        for: 10s
YML

it_start fwsink "$BIN/fwsink" --web.listen-address=127.0.0.1:$SINK --output="$IT_DIR/sink.jsonl"
it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD \
    --zmq.notify-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z2
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/am.yml" \
    --web.listen-address=127.0.0.1:$AM --storage.path="$IT_DIR/alertd" \
    --zmq.alerts-address=tcp://127.0.0.1:$Z3 --zmq.notifyd-address=tcp://127.0.0.1:$Z1 \
    --zmq.pub-address=tcp://127.0.0.1:$Z4
it_start tsdb "$BIN/tsdb" --web.listen-address=127.0.0.1:$T_HTTP --storage.tsdb.path="$IT_DIR/tsdb" \
    --zmq.samples-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
    --zmq.pub-address=tcp://127.0.0.1:$T_PUB --storage.tsdb.map-size=64MiB
for u in "$SINK/" "$NOTIFYD/-/ready" "$AM/-/ready" "$T_HTTP/-/ready"; do
    it_wait_http "http://127.0.0.1:$u" || it_die "127.0.0.1:$u did not come up"
done
it_ok "fwsink, notifyd, alertd, tsdb up"

NRULED=0
start_ruled() {
    NRULED=$((NRULED + 1))
    it_start "ruled$NRULED" "$BIN/ruled" --config.file="$IT_DIR/prometheus.yml" \
        --storage.path="$IT_DIR/ruled-state" --web.listen-address=127.0.0.1:$R_HTTP \
        --zmq.tsdb-address=tcp://127.0.0.1:$T_SAMPLES --zmq.query-address=tcp://127.0.0.1:$T_QUERY \
        --zmq.alertd-address=tcp://127.0.0.1:$Z3 --zmq.pub-address=tcp://127.0.0.1:$R_PUB \
        --query.timeout=2s
    RPID=$!
    it_wait_http "http://127.0.0.1:$R_HTTP/-/ready" || it_die "ruled ($NRULED) did not start"
}
kill_ruled() {
    local rc=0
    { kill -9 "$RPID"; wait "$RPID" || rc=$?; } 2>/dev/null # no "Killed" from bash
    [ "$rc" = 137 ] || it_die "ruled exit $rc after SIGKILL, want 137"
    local p keep=()
    for p in "${IT_PIDS[@]}"; do [ "$p" = "$RPID" ] || keep+=("$p"); done
    IT_PIDS=(${keep[@]+"${keep[@]}"})
}
push() { # push VALUE: it_r{line="L1"} = VALUE now
    printf 'it_r{line="L1"} %s %s\n' "$1" "$(($(date +%s%N) / 1000000))" |
        "$BIN/fwpush" --endpoint=tcp://127.0.0.1:$T_SAMPLES
}
tsdb_has() { # tsdb_has VALUE: tsdb answers it_r = VALUE
    curl -sf "http://127.0.0.1:$T_HTTP/api/v1/query?query=it_r" | jq -e --arg v "$1" \
        '.data.result[0].value[1] == $v' >/dev/null
}
# alert: "state activeAt" of RestartHigh in ruled's /api/v1/alerts ("" when absent).
alert() {
    curl -sf "http://127.0.0.1:$R_HTTP/api/v1/alerts" |
        jq -r '.data.alerts[] | select(.labels.alertname == "RestartHigh") | "\(.state) \(.activeAt)"'
}
has_alert() { [ -n "$(alert)" ]; }
count() { # count STATUS: the sink's RestartHigh notifications with that status
    [ -s "$IT_DIR/sink.jsonl" ] || { echo 0; return; }
    jq -r --arg s "$1" 'select(.groupLabels.alertname == "RestartHigh" and .status == $s) | .status' \
        "$IT_DIR/sink.jsonl" | wc -l
}
wait_count() { # wait_count N STATUS SECONDS
    for _ in $(seq $(($3 * 10))); do [ "$(count "$2")" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
}

push 10
it_wait_for "it_r = 10 in tsdb" tsdb_has 10
start_ruled
firing() { it_has '^firing ' alert; }
it_until 250 0.1 firing || it_die "RestartHigh not firing within 25 s: $(alert)"
BEFORE=$(alert)
wait_count 1 firing 10 || it_die "no firing notification"
it_ok "RestartHigh firing ($BEFORE) and notified"

# --- 1. SIGKILL while firing: same activeAt, no pending period, nothing notified again --------
kill_ruled
start_ruled
it_wait_for "RestartHigh listed after the restart" has_alert
[ "$(alert)" = "$BEFORE" ] || it_die "after the restart: '$(alert)', want '$BEFORE'"
grep -q 'event=rule.state.restore .*alerts=1' "$IT_DIR/ruled2.log" ||
    it_die "no restore logged: $(grep rule.state "$IT_DIR/ruled2.log" || true)"
for _ in $(seq 30); do # 3 s: three evaluations, never pending
    [ "$(alert)" = "$BEFORE" ] || it_die "after the restart: '$(alert)', want '$BEFORE'"
    sleep 0.1
done
[ "$(count firing)" = 1 ] || it_die "firing notified $(count firing) times, want 1"
it_ok "after SIGKILL and restart: still '$BEFORE', never pending, not notified again"

# --- 2. SIGKILL, the condition clears while ruled is down: one resolved notification ----------
kill_ruled
push 1
it_wait_for "it_r = 1 in tsdb" tsdb_has 1
[ "$(count resolved)" = 0 ] || it_die "resolved before ruled came back"
start_ruled
wait_count 1 resolved 15 || it_die "no resolved notification within 15 s of the restart"
sleep 3 # three evaluations and group intervals: the resolved alert is re-sent, not re-notified
[ "$(count resolved)" = 1 ] || it_die "resolved notified $(count resolved) times, want 1"
[ "$(count firing)" = 1 ] || it_die "firing notified $(count firing) times in all, want 1"
[ -z "$(alert)" ] || it_die "ruled still lists RestartHigh: $(alert)"
it_ok "condition cleared while ruled was down: exactly one resolved notification"
echo "ruled_restart.sh: all checks passed"
