#!/usr/bin/env bash
# delivery.sh — notifyd's outcome reaches alertd's notification log (issue 8 item 8).
#
# A webhook receiver (test/it/delivery_sink.py, a local python3 server) answers 500 until
# told otherwise. notifyd tries twice and fails; its NOTIFY_RESULT makes alertd mark the
# log entry failed, so the group is sent again at the next group_interval (not after
# repeat_interval 4h) and /api/v2/notifications shows the record "failed" with its reason.
# Once the sink answers 200, the next send is "delivered" and no more are made. notifyd's
# /metrics carries Alertmanager's families with the counts of those requests. Last, a webhook
# URL with a Unicode host (bücher.localhost, which libcurl resolves to loopback itself) is
# delivered to its punycode name, as Go's net/http sends it (xn--bcher-kva.localhost).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
it_need_cmds jq curl
it_tmpdir

SINK=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 200ms
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - matchers: [alertname="IdnHost"]
      receiver: idn
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$SINK/hook
  - name: idn
    webhook_configs:
      - url: http://bücher.localhost:$SINK/idn
YML
cat > "$IT_DIR/notifyd.yml" <<YML
timeout: 2s
retry:
  initial_backoff: 50ms
  max_backoff: 100ms
  max_attempts: 2
YML
/usr/bin/python3 "$HERE/test/it/delivery_sink.py" "$SINK" "$IT_DIR" 2> "$IT_DIR/sink.log" & IT_PIDS+=($!)
"$BIN/notifyd" --config.file="$IT_DIR/notifyd.yml" --web.listen-address=127.0.0.1:$NOTIFYD \
    --zmq.notify-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z2 \
    2> "$IT_DIR/notifyd.log" & IT_PIDS+=($!)
"$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM --storage.path="$IT_DIR/alertd" \
    --zmq.alerts-address=tcp://127.0.0.1:$Z3 --zmq.notifyd-address=tcp://127.0.0.1:$Z1 \
    --zmq.pub-address=tcp://127.0.0.1:$Z4 --zmq.notifyd-pub-address=tcp://127.0.0.1:$Z2 \
    2> "$IT_DIR/alertd.log" & IT_PIDS+=($!)
it_wait_http "http://127.0.0.1:$SINK/" || it_die "sink did not start"
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"
it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd did not start"
sleep 0.3 # alertd's SUB joins notifyd's PUB
AMURL=http://127.0.0.1:$AM
curl -fsS -o /dev/null -XPOST -H 'Content-Type: application/json' "$AMURL/api/v2/alerts" \
    -d '[{"labels":{"alertname":"LineDown","line":"L1"}}]' || it_die "POST alert"

notes() { curl -fsS "$AMURL/api/v2/notifications"; }
results() { notes | jq -r '[.[].result] | join(",")'; }
# First send at group_wait: 2 attempts answered 500, then NOTIFY_RESULT failed.
it_wait_for "first notification failed" \
    sh -c "curl -fsS $AMURL/api/v2/notifications | jq -e '.[0].result == \"failed\"'"
r=$(notes | jq -r '.[0].reason')
[ "$r" = "webhook: http_5xx" ] || it_die "reason: want 'webhook: http_5xx', got '$r'"
it_ok "the first notification is failed in /api/v2/notifications (reason $r)"
# Re-sent at the next group_interval (2 s), not repeat_interval (4h).
it_until 50 0.1 sh -c "[ \$(curl -fsS $AMURL/api/v2/notifications | jq length) -ge 2 ]" \
    || it_die "no second notification after a failure: $(results)"
it_ok "the group is notified again at the next group_interval after a failure"
touch "$IT_DIR/ok"
it_until 100 0.1 sh -c "curl -fsS $AMURL/api/v2/notifications | jq -e '.[-1].result == \"delivered\"'" \
    || it_die "never delivered: $(results)"
res=$(results)
case "$res" in failed,*delivered) ;; *) it_die "results: $res" ;; esac
notes | jq -e '.[-1] | has("reason") | not' >/dev/null || it_die "a delivered record has a reason"
it_ok "/api/v2/notifications results: $res"
n=$(notes | jq length)
sleep 2.5 # past another group_interval: delivered, nothing new, no repeat before 4h
[ "$(notes | jq length)" = "$n" ] || it_die "sent again after delivery: $(results)"
it_ok "no notification after the delivered one within group_interval"

# Alertmanager's metric families in notifyd's /metrics.
failed=$(jq -s '[.[] | select(.code == 500)] | length' "$IT_DIR/posts.jsonl")
okp=$(jq -s '[.[] | select(.code == 200)] | length' "$IT_DIR/posts.jsonl")
nf=$(echo "$res" | tr ',' '\n' | grep -c '^failed$')
M=$(curl -fsS "http://127.0.0.1:$NOTIFYD/metrics")
want() {
    grep -qxF "$1" <<<"$M" || it_die "metrics: want '$1', got: $(echo "$M" | grep '^alertmanager_')"
}
want "alertmanager_notifications_total{integration=\"webhook\"} $((nf + 1))"
want "alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"serverError\"} $nf"
want "alertmanager_notification_requests_total{integration=\"webhook\"} $((failed + okp))"
want "alertmanager_notification_requests_failed_total{integration=\"webhook\"} $failed"
want "alertmanager_notifications_total{integration=\"email\"} 0"
want "# TYPE alertmanager_notifications_total counter"
want "# TYPE alertmanager_notification_latency_seconds histogram"
want "alertmanager_notification_latency_seconds_count{integration=\"webhook\"} $((failed + okp))"
want "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"1\"} $((failed + okp))"
want "alertmanager_notification_latency_seconds_bucket{integration=\"webhook\",le=\"+Inf\"} $((failed + okp))"
want "alertmanager_notification_latency_seconds_count{integration=\"email\"} 0"
want "alertmanager_notifications_failed_total{integration=\"webhook\",reason=\"contextCanceled\"} 0"
it_ok "notifyd /metrics: alertmanager_notifications_total, _failed_total{reason}, requests, latency histogram (${failed} failed, ${okp} ok)"

curl -fsS -o /dev/null -XPOST -H 'Content-Type: application/json' "$AMURL/api/v2/alerts" \
    -d '[{"labels":{"alertname":"IdnHost"}}]' || it_die "POST IdnHost"
idn() { jq -sc '[.[] | select(.path == "/idn")]' "$IT_DIR/posts.jsonl"; }
it_until 50 0.1 sh -c "curl -fsS $AMURL/api/v2/notifications?receiver=idn | jq -e '.[0].result == \"delivered\"'" \
    || it_die "IdnHost not delivered: $(notes | jq -c '[.[] | select(.receiver == "idn")]'); sink: $(idn)"
got=$(idn | jq -r '[.[] | "\(.code) \(.host)"] | join(",")')
[ "$got" = "200 xn--bcher-kva.localhost:$SINK" ] || it_die "Unicode host: want one POST with Host xn--bcher-kva.localhost:$SINK, got '$got'"
it_ok "a webhook to http://bücher.localhost:$SINK/idn is delivered with Host xn--bcher-kva.localhost:$SINK"
it_finish
