#!/usr/bin/env bash
# alerting.sh — fwsink + notifyd + alertd end to end, driven by the real amtool.
#
# Starts the three on free loopback ports in a temp dir, posts two alerts of one group with
# `amtool alert add`, and asserts that fwsink recorded exactly one notification for that
# group (right groupLabels, both alerts), that `amtool alert query` lists them, that amtool
# and alertd accept the example config, and that a bad config gives file:line:col, exit 2.
set -euo pipefail
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    [ -n "${KEEP:-}" ] && cp -r "$TMP" /tmp/alerting-keep 2>/dev/null; rm -rf "$TMP"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$TMP"/*.log; do echo "--- $f"; tail -n 20 "$f"; done; exit 1; }
pass() { echo "ok: $*"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 100); do curl -fs "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

command -v amtool >/dev/null || { echo "SKIP: amtool not installed"; exit 0; }

# --- config checks ---
amtool check-config "$HERE/alertd/alertd.example.yml" >/dev/null || fail "amtool check-config alertd.example.yml"
pass "amtool check-config alertd/alertd.example.yml"
"$BIN/alertd" --check-config --config.file="$HERE/alertd/alertd.example.yml" | grep -q 'configuration OK' \
    || fail "alertd --check-config example"
pass "alertd --check-config alertd/alertd.example.yml"
KS="$HERE/test/data/am/kitchen-sink.yml"
amtool check-config "$KS" >/dev/null || fail "amtool check-config kitchen-sink.yml"
"$BIN/alertd" --check-config --config.file="$KS" | grep -q 'configuration OK' || fail "alertd kitchen-sink.yml"
pass "amtool and alertd both accept test/data/am/kitchen-sink.yml"
nbad=0
for f in "$HERE"/test/data/am/bad/*.yml; do
    want=$(sed -n 's/^# expect: //p' "$f")
    amtool check-config "$f" >/dev/null 2>&1 && fail "amtool accepts $f (fixture is wrong)"
    set +e
    out=$("$BIN/alertd" --check-config --config.file="$f" 2>&1)
    rc=$?
    set -e
    [ "$rc" = 2 ] || fail "alertd exit $rc on $f"
    echo "$out" | grep -qF "$f:$want" || fail "$f: want '$want', got: $out"
    nbad=$((nbad + 1))
done
pass "$nbad bad configs in test/data/am/bad: amtool rejects each; alertd exits 2 at the expected file:line:col"
cat > "$TMP/bad.yml" <<'YML'
route:
  receiver: nobody
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:1/
YML
set +e
"$BIN/alertd" --check-config --config.file="$TMP/bad.yml" > "$TMP/bad.out" 2>&1
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad config exit code $rc, want 2"
grep -q "bad.yml:2:3: error: undefined receiver \"nobody\"" "$TMP/bad.out" || { cat "$TMP/bad.out"; fail "bad config message"; }
pass "bad config: exit 2 with bad.yml:2:3: error: undefined receiver"

# --- the pipeline ---
SINK=$(free_port); AM=$(free_port); NOTIFYD=$(free_port)
Z1=$(free_port); Z2=$(free_port); Z3=$(free_port); Z4=$(free_port)
cat > "$TMP/am.yml" <<YML
route:
  receiver: hook
  group_by: [alertname, line]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$SINK/hook
YML
"$BIN/fwsink" --web.listen-address=127.0.0.1:$SINK --output="$TMP/sink.jsonl" --fail-first=1 \
    2> "$TMP/fwsink.log" & PIDS+=($!)
"$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD --zmq.notify-address=tcp://127.0.0.1:$Z1 \
    --zmq.pub-address=tcp://127.0.0.1:$Z2 2> "$TMP/notifyd.log" & PIDS+=($!)
"$BIN/alertd" --config.file="$TMP/am.yml" --web.listen-address=127.0.0.1:$AM --storage.path="$TMP/alertd" \
    --zmq.alerts-address=tcp://127.0.0.1:$Z3 --zmq.notifyd-address=tcp://127.0.0.1:$Z1 \
    --zmq.pub-address=tcp://127.0.0.1:$Z4 2> "$TMP/alertd.log" & PIDS+=($!)
wait_http "http://127.0.0.1:$SINK/" || fail "fwsink did not start"
wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || fail "notifyd did not start"
wait_http "http://127.0.0.1:$AM/-/ready" || fail "alertd did not start"
pass "fwsink, notifyd, alertd up"

AMURL=http://127.0.0.1:$AM
# amtool warns on every call that our version differs from its own; keep that in a log.
am() { amtool --alertmanager.url="$AMURL" "$@" 2>>"$TMP/amtool.log"; }
am alert add LineStopped line=L1 severity=page \
    --annotation=summary="line 1 stopped" >/dev/null || fail "amtool alert add (1)"
am alert add LineStopped line=L1 severity=ticket >/dev/null \
    || fail "amtool alert add (2)"
pass "amtool alert add x2"

q=$(am alert query -o json) || fail "amtool alert query"
[ "$(echo "$q" | jq 'length')" = 2 ] || fail "alert query: want 2 alerts, got $q"
am alert query alertname=LineStopped | grep -q LineStopped \
    || fail "amtool alert query alertname=LineStopped"
pass "amtool alert query lists both alerts"

# group_wait 1s, first POST answered 503 by fwsink and retried by notifyd (500ms backoff).
for _ in $(seq 100); do [ -s "$TMP/sink.jsonl" ] && break; sleep 0.1; done
[ -s "$TMP/sink.jsonl" ] || fail "no notification reached fwsink within 10 s"
sleep 0.5
n=$(wc -l < "$TMP/sink.jsonl")
[ "$n" = 1 ] || fail "want 1 notification, got $n"
line=$(head -n1 "$TMP/sink.jsonl")
[ "$(echo "$line" | jq -c .groupLabels)" = '{"alertname":"LineStopped","line":"L1"}' ] \
    || fail "groupLabels: $line"
[ "$(echo "$line" | jq '.alerts | length')" = 2 ] || fail "alerts: $line"
[ "$(echo "$line" | jq -r .status)" = firing ] || fail "status: $line"
[ "$(echo "$line" | jq -r .version)" = 4 ] || fail "version: $line"
[ "$(echo "$line" | jq -r .groupKey)" = '{}:{alertname="LineStopped", line="L1"}' ] || fail "groupKey: $line"
[ "$(echo "$line" | jq -r .commonLabels.severity)" = null ] || fail "commonLabels: $line"
pass "fwsink got one group: groupLabels {alertname=LineStopped,line=L1}, 2 alerts, groupKey ok"

m=$(curl -fs http://127.0.0.1:$NOTIFYD/metrics)
echo "$m" | grep -q 'fw_notifyd_retries_total{receiver="hook"} 1' || fail "retries metric: $(echo "$m" | grep fw_notifyd)"
echo "$m" | grep -q 'fw_notifyd_notifications_total{receiver="hook",integration="webhook"} 1' \
    || fail "notifications metric"
pass "notifyd retried once after 503 and counted the delivery"
am=$(curl -fs http://127.0.0.1:$AM/metrics)
echo "$am" | grep -q 'fw_alertd_notifications_total{receiver="hook"} 1' || fail "alertd notifications metric"
echo "$am" | grep -q 'fw_alertd_alerts_received_total{status="firing"} 2' || fail "alertd received metric"
pass "alertd metrics count 2 received alerts and 1 notification"

am config show >/dev/null || fail "amtool config show (/api/v2/status)"
pass "amtool config show"

# --- silences: a silenced alert is listed as suppressed and never notified ---
sid=$(am silence add alertname=Muted --comment=test --duration=1h) \
    || fail "amtool silence add"
am silence query -q | grep -q "$sid" || fail "amtool silence query"
am alert add Muted line=L2 >/dev/null || fail "amtool alert add Muted"
am alert query alertname=Muted | grep -q Muted \
    && fail "silenced alert listed by default query"
am alert query -s alertname=Muted | grep -q Muted \
    || fail "amtool alert query -s does not list the silenced alert"
pass "amtool silence add: alert Muted is suppressed (listed only with -s)"

# --- silences that would match every alert are refused, as Alertmanager refuses them ---
nsil=$(curl -fs "$AMURL/api/v2/silences" | jq length)
for m in 'a=~.*' 'a=~' 'a='; do
    set +e
    out=$(amtool --alertmanager.url="$AMURL" silence add "$m" --comment=all --duration=1h 2>&1)
    rc=$?
    set -e
    [ "$rc" != 0 ] || fail "amtool silence add '$m' was accepted: $out"
    echo "$out" | grep -qF '[400]' || fail "amtool silence add '$m': no 400: $out"
    echo "$out" | grep -qF 'silence invalid: at least one matcher must not match the empty string' \
        || fail "amtool silence add '$m': want Alertmanager's error, got: $out"
done
[ "$(curl -fs "$AMURL/api/v2/silences" | jq length)" = "$nsil" ] || fail "a refused silence was stored"
body=$(curl -s -XPOST -H 'Content-Type: application/json' "$AMURL/api/v2/alerts" -d '[{"labels":{}}]')
[ "$body" = '"at least one label pair required"' ] || fail "400 body of POST /api/v2/alerts: $body"
pass "amtool silence add 'a=~.*', 'a=~', 'a=': 400 with Alertmanager's text, silence count unchanged"

# --- resolve both alerts: one more notification, status resolved ---
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
curl -fs -XPOST -H 'Content-Type: application/json' "$AMURL/api/v2/alerts" -d "[
  {\"labels\":{\"alertname\":\"LineStopped\",\"line\":\"L1\",\"severity\":\"page\"},\"endsAt\":\"$now\"},
  {\"labels\":{\"alertname\":\"LineStopped\",\"line\":\"L1\",\"severity\":\"ticket\"},\"endsAt\":\"$now\"}]" \
    >/dev/null || fail "POST resolved alerts"
for _ in $(seq 100); do [ "$(grep -c LineStopped "$TMP/sink.jsonl")" -ge 2 ] && break; sleep 0.1; done
last=$(grep LineStopped "$TMP/sink.jsonl" | tail -n1)
[ "$(echo "$last" | jq -r .status)" = resolved ] || fail "want a resolved notification, got: $last"
[ "$(echo "$last" | jq '[.alerts[] | select(.status == "resolved")] | length')" = 2 ] \
    || fail "resolved alerts: $last"
grep -q '"Muted"' "$TMP/sink.jsonl" && fail "silenced alert was notified"
pass "resolving both alerts sent one resolved notification; Muted was never notified"
# --- reload: a bad config is refused and the old one kept; a good one is swapped in ---
APID=${PIDS[2]}
cp "$TMP/am.yml" "$TMP/am.good"
printf 'route:\n  receiver: nobody\nreceivers:\n  - name: hook\n' > "$TMP/am.yml"
kill -HUP "$APID"
for _ in $(seq 50); do grep -q 'event=config.error' "$TMP/alertd.log" && break; sleep 0.1; done
grep -q 'event=config.error.*undefined receiver' "$TMP/alertd.log" || fail "SIGHUP with a bad config: no config.error logged"
kill -0 "$APID" || fail "alertd died on a bad reload"
curl -fs "http://127.0.0.1:$AM/metrics" | grep -q '^fw_config_last_reload_successful 0' || fail "reload metric after bad reload"
sed -e 's/name: hook/name: hook2/' -e 's/receiver: hook/receiver: hook2/' "$TMP/am.good" > "$TMP/am.yml"
code=$(curl -s -o /dev/null -w '%{http_code}' -XPOST "http://127.0.0.1:$AM/-/reload")
[ "$code" = 200 ] || fail "/-/reload answered $code"
curl -fs "$AMURL/api/v2/receivers" | grep -q '"hook2"' || fail "receivers after reload"
pass "SIGHUP with a bad config keeps the old one (logged); /-/reload swaps in a good one"
NPID=${PIDS[1]}
kill -HUP "$NPID"
for _ in $(seq 30); do grep -q 'event=config.reload' "$TMP/notifyd.log" && break; sleep 0.1; done
grep -q 'event=config.reload' "$TMP/notifyd.log" || fail "notifyd did not reload on SIGHUP"
kill -0 "$NPID" || fail "notifyd died on SIGHUP"
pass "notifyd reloads on SIGHUP and keeps running"
echo "alerting.sh: all checks passed"
