#!/usr/bin/env bash
# alertd_restart.sh — alertd's state survives SIGKILL: fwsink + notifyd + alertd, driven by
# curl and the real amtool.
#
# Two groups fire and are notified once each; a silence is created and a third alert is
# muted by it; then alertd is SIGKILLed. One alert's endsAt passes while it is down. After
# the restart: no group is notified again for the same state (the sink's requests counted
# per group key, also after the alerts are sent again as ruled would), the alert that
# resolved while alertd was down gets exactly one resolved notification, the silence still
# mutes, and `amtool alert query` lists the alerts posted before the kill. A second SIGKILL
# and restart sends nothing more. Every wait is bounded.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_bins alertd notifyd fwsink
it_need_cmds amtool jq curl
it_tmpdir

SINK=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port)
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
it_start fwsink "$BIN/fwsink" --web.listen-address=127.0.0.1:$SINK --output="$IT_DIR/sink.jsonl"
it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD \
    --zmq.notify-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z2
NALERTD=0
start_alertd() {
    NALERTD=$((NALERTD + 1))
    it_start "alertd$NALERTD" "$BIN/alertd" --config.file="$IT_DIR/am.yml" \
        --web.listen-address=127.0.0.1:$AM --storage.path="$IT_DIR/state" \
        --zmq.alerts-address=tcp://127.0.0.1:$Z3 --zmq.notifyd-address=tcp://127.0.0.1:$Z1 \
        --zmq.pub-address=tcp://127.0.0.1:$Z4
    APID=$!
    it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd ($NALERTD) did not start"
}
kill_alertd() {
    local rc=0
    { kill -9 "$APID"; wait "$APID" || rc=$?; } 2>/dev/null # no "Killed" from bash
    [ "$rc" = 137 ] || it_die "alertd exit $rc after SIGKILL, want 137"
    local p keep=()
    for p in "${IT_PIDS[@]}"; do [ "$p" = "$APID" ] || keep+=("$p"); done
    IT_PIDS=(${keep[@]+"${keep[@]}"})
}
start_alertd
it_wait_http "http://127.0.0.1:$SINK/" || it_die "fwsink did not start"
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"
it_ok "fwsink, notifyd, alertd up"

AMURL=http://127.0.0.1:$AM
am() { amtool --alertmanager.url="$AMURL" "$@" 2>>"$IT_DIR/amtool.log"; }
# count GROUP [STATUS]: the sink's requests for alertname=GROUP (with that status).
count() {
    [ -s "$IT_DIR/sink.jsonl" ] || { echo 0; return; }
    jq -r --arg g "$1" --arg s "${2:-}" \
        'select(.groupLabels.alertname == $g and ($s == "" or .status == $s)) | .status' \
        "$IT_DIR/sink.jsonl" | wc -l
}
# wait_count N GROUP [STATUS]: up to 10 s for the count to reach N.
wait_count() {
    local n=$1; shift
    for _ in $(seq 100); do [ "$(count "$@")" -ge "$n" ] && return 0; sleep 0.1; done
    return 1
}
ENDS=$(date -u -d '+6 seconds' +%Y-%m-%dT%H:%M:%SZ)
ENDS_S=$(date -u -d "$ENDS" +%s)
post() {
    curl -fsS -o /dev/null -XPOST -H 'Content-Type: application/json' "$AMURL/api/v2/alerts" -d "[
      {\"labels\":{\"alertname\":\"Steady\",\"line\":\"L1\"}},
      {\"labels\":{\"alertname\":\"Steady\",\"line\":\"L2\"}},
      {\"labels\":{\"alertname\":\"Ending\",\"line\":\"L3\"},\"endsAt\":\"$ENDS\"}]"
}
post || it_die "POST alerts"
wait_count 1 Steady firing || it_die "Steady was not notified"
wait_count 1 Ending firing || it_die "Ending was not notified"
sid=$(am silence add alertname=Muted --comment=restart --duration=1h) || it_die "amtool silence add"
am alert add Muted line=L4 >/dev/null || it_die "amtool alert add Muted"
sleep 1.5 # two group intervals: Muted must stay unnotified
[ "$(count Steady)" = 1 ] && [ "$(count Ending)" = 1 ] && [ "$(count Muted)" = 0 ] \
    || it_die "before the kill: want Steady 1, Ending 1, Muted 0; got $(count Steady) $(count Ending) $(count Muted)"
it_ok "before the kill: Steady and Ending notified once each, Muted silenced ($sid)"

kill_alertd
it_ok "alertd SIGKILLed"
# Stay down until Ending's endsAt has passed.
for _ in $(seq 100); do [ "$(date -u +%s)" -gt "$ENDS_S" ] && break; sleep 0.1; done
[ "$(date -u +%s)" -gt "$ENDS_S" ] || it_die "endsAt $ENDS did not pass within 10 s"
start_alertd
grep -q 'event=state.restore.* alerts=4 ' "$IT_DIR/alertd2.log" \
    || it_die "restore: $(grep state.restore "$IT_DIR/alertd2.log")"
it_ok "alertd restarted after Ending's endsAt ($ENDS); its state restored (4 alerts)"

wait_count 1 Ending resolved || it_die "no resolved notification for Ending after the restart"
post || it_die "POST alerts again" # ruled sends its alerts again every evaluation
sleep 3 # group_wait + two group intervals
[ "$(count Ending resolved)" = 1 ] || it_die "Ending resolved $(count Ending resolved) times, want 1"
[ "$(count Ending firing)" = 1 ] || it_die "Ending firing notified $(count Ending firing) times, want 1"
[ "$(count Steady)" = 1 ] || it_die "Steady notified $(count Steady) times in all, want 1"
[ "$(count Muted)" = 0 ] || it_die "Muted was notified after the restart"
it_ok "after the restart: Steady not notified again, Ending resolved exactly once, Muted silent"

q=$(am alert query -o json) || it_die "amtool alert query"
[ "$(echo "$q" | jq '[.[] | select(.labels.alertname == "Steady")] | length')" = 2 ] \
    || it_die "alert query after restart: $q"
am alert query alertname=Muted | grep -q Muted && it_die "Muted listed as active after restart"
am alert query -s alertname=Muted | grep -q Muted || it_die "Muted not listed as suppressed"
am silence query -q | grep -q "$sid" || it_die "silence $sid gone after restart"
it_ok "amtool after the restart: both Steady alerts listed, silence $sid kept and muting Muted"

kill_alertd
start_alertd
sleep 3
[ "$(count Steady)" = 1 ] && [ "$(count Ending)" = 2 ] && [ "$(count Muted)" = 0 ] \
    || it_die "second restart: want Steady 1, Ending 2, Muted 0; got $(count Steady) $(count Ending) $(count Muted)"
it_ok "a second SIGKILL and restart sends nothing more"
echo "alertd_restart.sh: all checks passed"
