#!/usr/bin/env bash
# receivers_mattermost.sh — alertd + notifyd deliver mattermost_configs notifications (a firing
# group of two alerts, then the group resolved) to Mattermost incoming webhooks.
#
# Mattermost cannot run here, and no Debian peer has this integration (Alertmanager 0.25
# predates it; it came in 0.30), so there is no side by side: test/it/receivers_capture.py
# plays an incoming webhook as Mattermost documents it (a JSON body with text or
# attachments; 200 "ok"), and the body is checked against what Alertmanager's
# notify/mattermost sends (its structs and default.tmpl). The URL comes from
# global.mattermost_webhook_url_file, read at each notification. Two more receivers: one
# answered 503 once (retried, then delivered), one answered 400 (failed, not retried).
# alertd's /api/v2/status shows an inline webhook URL as <secret>.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
it_need_cmds curl jq
it_tmpdir

CAP=$(it_free_port)
echo "http://127.0.0.1:$CAP/mattermost/hooks/SECRET-ok" > "$IT_DIR/url"
cat > "$IT_DIR/am.yml" <<YML
global:
  mattermost_webhook_url_file: $IT_DIR/url
route:
  receiver: mm
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - {receiver: mm, matchers: ['plant="P"'], continue: true}
    - {receiver: flaky, matchers: ['plant="P"'], continue: true}
    - {receiver: refused, matchers: ['plant="P"']}
receivers:
  - name: mm
    mattermost_configs:
      - channel: 'line-{{ .CommonLabels.plant }}'
        icon_emoji: ':factory:'
        fields: [{title: Lines, value: '{{ len .Alerts }}', short: true}]
        priority: {priority: Urgent, requested_ack: true}
  - name: flaky
    mattermost_configs:
      - {webhook_url: 'http://127.0.0.1:$CAP/mattermost/flaky503/SECRET-f', send_resolved: false}
  - name: refused
    mattermost_configs:
      - {webhook_url: 'http://127.0.0.1:$CAP/mattermost/fail400/SECRET-r', send_resolved: false}
YML

it_start cap $PY "$HERE/test/it/receivers_capture.py" "$CAP" "$IT_DIR/cap.jsonl"
NOTIFYD_ARGS=(--config.file="$IT_DIR/notifyd.yml")
printf 'retry:\n  initial_backoff: 100ms\n  max_backoff: 200ms\n' > "$IT_DIR/notifyd.yml"
it_start_notifyd_alertd "$IT_DIR/am.yml" --web.external-url=http://alerts.example:9093
it_wait_http "http://127.0.0.1:$CAP/" || it_die "the capture server did not come up"
it_ok "capture server (plays a Mattermost incoming webhook), notifyd and alertd up"

STATUS=$(curl -fsS "http://127.0.0.1:$AM/api/v2/status" | jq -r .config.original)
grep -q 'webhook_url: <secret>' <<<"$STATUS" && ! grep -q 'SECRET' <<<"$STATUS" ||
    it_die "/api/v2/status shows a webhook URL: $(grep webhook_url <<<"$STATUS")"
it_ok "/api/v2/status: mattermost webhook_url shown as <secret>"

START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)
alerts() { # ENDS_AT (empty: firing)
    local ends=${1:+,\"endsAt\":\"$1\"}
    printf '[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{},"startsAt":"%s"%s},' "$START" "$ends"
    printf '{"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{},"startsAt":"%s"%s}]' "$START" "$ends"
}
post() { curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$1" "http://127.0.0.1:$AM/api/v2/alerts"; }
CAPF=$IT_DIR/cap.jsonl
q() { [ -s "$CAPF" ] || { echo 0; return; }; jq -s "[.[] | select($1)] | length" "$CAPF"; }
wait_q() { # FILTER N: up to 15 s for N matching requests
    for _ in $(seq 150); do [ "$(q "$1")" -ge "$2" ] 2>/dev/null && return 0; sleep 0.1; done
    [ -s "$CAPF" ] && jq -c '[.path, .status, .err, (.body | tostring | .[0:300])]' "$CAPF"
    return 1
}
metrics() { curl -fsS --max-time 2 "http://127.0.0.1:$NOTIFYD/metrics"; }
has_metric() { # LINE: up to 10 s for notifyd's /metrics to hold LINE
    for _ in $(seq 100); do metrics | grep -qF "$1" && return 0; sleep 0.1; done
    return 1
}

# Upstream's request: no top-level text without configured attachments; one attachment of
# the top-level texts (fallback, color, text, title, title_link, fields); username
# Alertmanager; priority lower-cased, requested_ack kept for urgent.
MM='.path == "/mattermost/hooks/SECRET-ok" and .status == 200 and .err == null and (.headers["Content-Type"] | startswith("application/json")) and (.body | keys) == ["attachments","channel","icon_emoji","priority","username"] and .body.channel == "line-P" and .body.username == "Alertmanager" and .body.icon_emoji == ":factory:" and .body.priority == {"priority":"urgent","requested_ack":true} and (.body.attachments | length) == 1 and .body.attachments[0].title_link == "http://alerts.example:9093/#/alerts?receiver=mm" and .body.attachments[0].fields == [{"title":"Lines","value":"2","short":true}] and (.body.attachments[0] | keys) == ["color","fallback","fields","text","title","title_link"]'
FIRING="$MM"' and .body.attachments[0].title == "[FIRING:2] LineStopped (P)" and .body.attachments[0].color == "danger" and .body.attachments[0].fallback == "[FIRING:2] LineStopped (P) | http://alerts.example:9093/#/alerts?receiver=mm" and (.body.attachments[0].text | startswith("\n\n# Alerts Firing:\n") and contains("  - line = L2"))'
RESOLVED="$MM"' and .body.attachments[0].title == "[RESOLVED] LineStopped (P)" and .body.attachments[0].color == "good" and (.body.attachments[0].text | contains("# Alerts Resolved:"))'

post "$(alerts)"
wait_q "$FIRING" 1 || it_die "no firing webhook request as Alertmanager sends it"
it_ok "mattermost: firing request to the URL in the global file (channel, username, icon_emoji, priority, one attachment: fallback, color danger, default text, title, title_link, fields), 200"
FL='.path == "/mattermost/flaky503/SECRET-f"'
wait_q "$FL"' and .status == 200' 1 || it_die "503 once: not retried to a 200"
it_ok "mattermost: a 503 is retried, then delivered"
has_metric 'fw_notifyd_notifications_failed_total{receiver="refused",integration="mattermost",reason="http_4xx"} 1' ||
    it_die "400 not counted failed: $(metrics | grep refused)"
it_ok "mattermost: 400 counted failed, not retried"
grep -q 'SECRET' "$IT_DIR/notifyd.log" "$IT_DIR/alertd.log" &&
    it_die "a log shows the webhook URL's secret: $(grep -h SECRET "$IT_DIR"/*.log | head -2)"
it_ok "logs: the webhook URLs' paths never shown"

END=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
post "$(alerts "$END")"
wait_q "$RESOLVED" 1 || it_die "no resolved request (send_resolved defaults to true)"
it_ok "mattermost: resolved request, color good"
sleep 3

[ "$(q '.path | startswith("/mattermost/hooks")')" = 2 ] && [ "$(q "$FL")" = 2 ] &&
    [ "$(q '.path | startswith("/mattermost/fail400")')" = 1 ] ||
    it_die "want hooks 2, flaky 2, fail400 1 requests: $(jq -c '[.path, .status, .err]' "$CAPF")"
M=$(metrics)
for want in 'fw_notifyd_notifications_total{receiver="mm",integration="mattermost"} 2' \
    'fw_notifyd_notifications_total{receiver="flaky",integration="mattermost"} 1' \
    'alertmanager_notifications_total{integration="mattermost"} 4' \
    'alertmanager_notifications_failed_total{integration="mattermost",reason="clientError"} 1'; do
    grep -qF "$want" <<<"$M" || it_die "want $want: $(grep mattermost <<<"$M")"
done
grep -qE 'fw_notifyd_notifications_total\{receiver="refused"' <<<"$M" &&
    it_die "a failed mattermost notification counted delivered: $(grep refused <<<"$M")"
it_ok "metrics: mm 2 and flaky 1 delivered; the 400 failed, never delivered; alertmanager_notifications_* integration=\"mattermost\""
echo "receivers_mattermost.sh: all checks passed"
