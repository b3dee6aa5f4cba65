#!/usr/bin/env bash
# delivery_integrations.sh — a notification is retried per integration, as Alertmanager does:
# a receiver with two webhooks, one of which fails, gets only the failed one sent again.
#
# test/it/receivers_capture.py records every request; its /x/flaky503 path answers 503 the
# first time, 200 after. notifyd makes one attempt (max_attempts 1), so the 503 is final and
# notifyd's NOTIFY_RESULT names the failed config (failed_integrations ["webhook/1"]); alertd
# marks only that config's log entry failed ("two/webhook/1"), and the group's next flush
# (group_interval 2s) sends a NOTIFY carrying webhook_configs[1] alone. /x/ok is never sent
# twice. /api/v2/notifications shows both notifications and their results.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
it_need_cmds curl jq
it_need_bins alertd notifyd
it_tmpdir

CAP=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: two
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
receivers:
  - name: two
    webhook_configs:
      - url: http://127.0.0.1:$CAP/x/ok
      - url: http://127.0.0.1:$CAP/x/flaky503
YML
printf 'retry: {initial_backoff: 100ms, max_attempts: 1}\n' > "$IT_DIR/notifyd.yml"
it_start cap $PY "$HERE/test/it/receivers_capture.py" "$CAP" "$IT_DIR/cap.jsonl"
NOTIFYD_ARGS=(--config.file="$IT_DIR/notifyd.yml")
NOTIFYD_PUB=$(it_free_port)
it_start_notifyd_alertd "$IT_DIR/am.yml" --zmq.notifyd-pub-address=tcp://127.0.0.1:$NOTIFYD_PUB
it_wait_http "http://127.0.0.1:$CAP/" || it_die "the capture server did not come up"
it_ok "capture server, notifyd and alertd up"

# A new alert waits group_wait (1 s) before the first flush: alertd's SUB to notifyd's PUB is
# connected by then (a PUB drops what it sends before that).
START=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d '[{"labels":{"alertname":"X"},"startsAt":"'"$START"'"}]' "http://127.0.0.1:$AM/api/v2/alerts"
CAPF=$IT_DIR/cap.jsonl
n() { [ -s "$CAPF" ] && jq -s --arg p "$1" '[.[] | select(.path == $p)] | length' "$CAPF" || echo 0; }
it_until 150 0.1 sh -c "[ \"\$(jq -s '[.[] | select(.path == \"/x/flaky503\" and .status == 200)] | length' '$CAPF' 2>/dev/null)\" -ge 1 ]" ||
    it_die "the failed webhook was not sent again: $(jq -c '[.path, .status]' "$CAPF" 2>/dev/null)"
sleep 3 # another group_interval and a half: nothing more may go out
[ "$(n /x/flaky503)" = 2 ] && [ "$(n /x/ok)" = 1 ] ||
    it_die "want /x/ok 1 and /x/flaky503 2 requests: $(jq -c '[.path, .status]' "$CAPF")"
it_ok "the webhook that failed (503) was sent again alone at the next flush; the one that delivered was not repeated"

NOTES=$(curl -fsS "http://127.0.0.1:$AM/api/v2/notifications")
[ "$(jq -c '[.[] | [.result, .integrations]]' <<<"$NOTES")" = '[["failed",["webhook"]],["delivered",["webhook"]]]' ] ||
    it_die "notification records: $(jq -c . <<<"$NOTES")"
jq -e '.[0].reason == "webhook: http_5xx"' <<<"$NOTES" >/dev/null || it_die "reason: $(jq -c '.[0]' <<<"$NOTES")"
it_ok "/api/v2/notifications: the first notification failed (webhook: http_5xx), the re-send delivered"
echo "delivery_integrations.sh: all checks passed"
