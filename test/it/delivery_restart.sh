#!/usr/bin/env bash
# delivery_restart.sh — notifyd's outcomes survive an alertd restart (issue 8 items 1 and 8).
#
# NOTIFY_RESULT travels over PUB/SUB, which drops what is sent while alertd is down. A
# webhook receiver (test/it/delivery_sink.py, a local python3 server) holds two POSTs
# unanswered (one to a path it always answers 500, one it answers 200); alertd is SIGKILLed
# with both in flight, the sink answers, notifyd's results go out while alertd is down. The
# restarted alertd must end with the true outcomes: "failed" (and the group notified again
# at the next group_interval) and "delivered" (and not notified twice). Then a NOTIFY lost
# with alertd (queued while notifyd was down, alertd SIGKILLed) must end "failed" with reason
# "notifyd: lost" and be notified again, instead of staying "sent" for ever. Last, notifyd
# with --storage.path is SIGKILLed after delivering while alertd (SIGKILLed too) could not
# acknowledge: the restarted notifyd must answer "delivered" from its store, and the group
# must not be notified twice (in memory only it answers "notifyd: lost": sent again).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
it_need_bins alertd notifyd
it_need_cmds jq curl
it_tmpdir

SINK=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: good
  group_by: [alertname]
  group_wait: 200ms
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - receiver: bad
      matchers: ['alertname="Broken"']
receivers:
  - name: good
    webhook_configs:
      - url: http://127.0.0.1:$SINK/ok
  - name: bad
    webhook_configs:
      - url: http://127.0.0.1:$SINK/fail
YML
cat > "$IT_DIR/notifyd.yml" <<YML
timeout: 20s
retry:
  initial_backoff: 50ms
  max_backoff: 100ms
  max_attempts: 1
YML
start_notifyd() {
    "$BIN/notifyd" --config.file="$IT_DIR/notifyd.yml" --web.listen-address=127.0.0.1:$NOTIFYD \
        ${NOTIFYD_STORE:+--storage.path="$NOTIFYD_STORE"} --zmq.notify-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z2 \
        2>> "$IT_DIR/notifyd.log" & IT_PIDS+=($!)
    NPID=$!
    it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"
}
start_alertd() {
    "$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM \
        --storage.path="$IT_DIR/alertd" \
        --zmq.alerts-address=tcp://127.0.0.1:$Z3 --zmq.notifyd-address=tcp://127.0.0.1:$Z1 \
        --zmq.pub-address=tcp://127.0.0.1:$Z4 --zmq.notifyd-pub-address=tcp://127.0.0.1:$Z2 \
        2>> "$IT_DIR/alertd.log" & IT_PIDS+=($!)
    APID=$!
    it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd did not start"
}
# kill9 PID: SIGKILL a process this script started and forget it.
kill9() {
    local rc=0 p keep=()
    { kill -9 "$1"; wait "$1" || rc=$?; } 2>/dev/null # no "Killed" from bash
    [ "$rc" = 137 ] || it_die "exit $rc after SIGKILL, want 137"
    for p in "${IT_PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    IT_PIDS=(${keep[@]+"${keep[@]}"})
}
AMURL=http://127.0.0.1:$AM
notes() { curl -fsS "$AMURL/api/v2/notifications"; }
# result NAME: the result of the last record of receiver NAME
result() { notes | jq -r --arg r "$1" '[.[] | select(.receiver.name == $r)] | last | .result'; }
posts() { [ -e "$IT_DIR/posts.jsonl" ] && jq -s --arg p "$1" '[.[] | select(.path == $p)] | length' "$IT_DIR/posts.jsonl" || echo 0; }
post_alert() {
    curl -fsS -o /dev/null -XPOST -H 'Content-Type: application/json' "$AMURL/api/v2/alerts" \
        -d "[{\"labels\":{\"alertname\":\"$1\"}}]" || it_die "POST alert $1"
}

touch "$IT_DIR/hold" "$IT_DIR/ok"
/usr/bin/python3 "$HERE/test/it/delivery_sink.py" "$SINK" "$IT_DIR" 2> "$IT_DIR/sink.log" & IT_PIDS+=($!)
it_wait_http "http://127.0.0.1:$SINK/" || it_die "sink did not start"
start_notifyd
start_alertd
sleep 0.3 # alertd's SUB joins notifyd's PUB
post_alert Broken
post_alert Fine
it_wait_for "two POSTs held by the sink" sh -c "[ \$(cat $IT_DIR/held.log 2>/dev/null | wc -l) -ge 2 ]"
[ "$(result bad),$(result good)" = "sent,sent" ] || it_die "before the kill: $(notes)"
it_ok "both notifications in flight at the receiver, recorded \"sent\""

kill9 "$APID"
rm -f "$IT_DIR/hold"
it_wait_for "the sink answered both" sh -c "[ \$(cat $IT_DIR/posts.jsonl 2>/dev/null | wc -l) -ge 2 ]"
sleep 0.5 # notifyd publishes both results while alertd is down
start_alertd
it_until 150 0.1 sh -c "[ \"\$(curl -fsS $AMURL/api/v2/notifications | jq -r '[.[] | select(.receiver.name == \"bad\")] | first | .result')\" = failed ]" \
    || it_die "after the restart the failed notification is: $(result bad)"
reason=$(notes | jq -r '[.[] | select(.receiver.name == "bad")] | first | .reason')
[ "$reason" = "webhook: http_5xx" ] || it_die "reason: want 'webhook: http_5xx', got '$reason'"
it_until 150 0.1 sh -c "[ \"\$(curl -fsS $AMURL/api/v2/notifications | jq -r '[.[] | select(.receiver.name == \"good\")] | first | .result')\" = delivered ]" \
    || it_die "after the restart the delivered notification is: $(notes | jq -c .)"
it_ok "after the restart: bad failed ($reason), good delivered"
# The failure counts: bad is notified again at its next group_interval; good is not.
it_until 100 0.1 sh -c "[ \$(jq -s '[.[] | select(.path == \"/fail\")] | length' $IT_DIR/posts.jsonl) -ge 2 ]" \
    || it_die "the failed group was not notified again: $(posts /fail) POSTs to /fail"
sleep 2.5 # past another group_interval
[ "$(posts /ok)" = 1 ] || it_die "the delivered notification was sent $(posts /ok) times"
it_ok "the failed group is notified again, the delivered one is not repeated"
it_until 50 0.1 it_has -x 'fw_notifyd_results_unacknowledged 0' curl -fsS "http://127.0.0.1:$NOTIFYD/metrics" \
    || it_die "notifyd still holds unacknowledged results: $(curl -fsS http://127.0.0.1:$NOTIFYD/metrics | grep fw_notifyd_results)"
it_ok "notifyd holds no unacknowledged result"

# A NOTIFY lost with alertd: queued for a notifyd that is down, alertd SIGKILLed.
kill9 "$NPID"
post_alert Lost
it_wait_for "the Lost notification recorded" sh -c "[ \"\$(curl -fsS $AMURL/api/v2/notifications | jq -r '[.[] | select(.groupLabels.alertname == \"Lost\")] | length')\" = 1 ]"
kill9 "$APID"
start_notifyd
start_alertd
# outcome NAME: "result reason" of the first record of group alertname=NAME.
outcome() { notes | jq -r --arg n "$1" '[.[] | select(.groupLabels.alertname == $n)] | first | "\(.result) \(.reason)"'; }
answered() { [ "$(outcome "$1" | cut -d' ' -f1)" != sent ]; }
# sent_to_sink NAME: how many POSTs of group alertname=NAME the sink answered.
sent_to_sink() { jq -s --arg n "$1" '[.[] | select(.body.groupLabels.alertname == $n)] | length' "$IT_DIR/posts.jsonl"; }
it_until 150 0.1 answered Lost || it_die "the lost notification is: $(outcome Lost)"
[ "$(outcome Lost)" = "failed notifyd: lost" ] || it_die "lost: want 'failed notifyd: lost', got '$(outcome Lost)'"
it_ok "a NOTIFY lost with alertd ends failed (notifyd: lost)"
it_until 100 0.1 sh -c "[ \$(jq -s '[.[] | select(.path == \"/ok\" and .body.groupLabels.alertname == \"Lost\")] | length' $IT_DIR/posts.jsonl) -ge 1 ]" \
    || it_die "the lost notification was never sent again"
it_ok "and is notified again at the next group_interval"
grep -q 'event=notify.lost' "$IT_DIR/notifyd.log" || it_die "notifyd did not log notify.lost"

# notifyd keeps its outcomes under --storage.path: killed after delivering, before alertd
# acknowledged, it answers the true outcome after a restart.
kill9 "$NPID"
NOTIFYD_STORE=$IT_DIR/notifyd
start_notifyd
sleep 0.3 # alertd's SUB joins the new PUB
held0=$(wc -l < "$IT_DIR/held.log")
touch "$IT_DIR/hold"
post_alert Kept
it_wait_for "the Kept POST held by the sink" sh -c "[ \$(wc -l < $IT_DIR/held.log) -gt $held0 ]"
kill9 "$APID"
rm -f "$IT_DIR/hold"
it_until 50 0.1 sh -c "[ \$(grep -c Kept $IT_DIR/posts.jsonl) -ge 1 ]" \
    || it_die "the sink did not answer the Kept POST"
sleep 0.5 # notifyd makes the outcome (published while alertd is down)
kill9 "$NPID"
start_notifyd
start_alertd
it_until 150 0.1 answered Kept || it_die "the Kept notification stays: $(outcome Kept)"
[ "$(outcome Kept)" = "delivered null" ] || it_die "Kept: want delivered, got '$(outcome Kept)'"
sleep 2.5 # past another group_interval
[ "$(sent_to_sink Kept)" = 1 ] || it_die "the Kept notification was sent $(sent_to_sink Kept) times"
it_ok "notifyd killed after delivering answers delivered from --storage.path; sent once"
it_finish
