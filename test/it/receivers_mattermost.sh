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
. "$(dirname "$0")/receivers_lib.sh"
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

rx_fast_retry
rx_start_capture "$IT_DIR/am.yml" "plays a Mattermost incoming webhook"

STATUS=$(rx_status "$AM")
grep -q 'webhook_url: <secret>' <<<"$STATUS" && ! grep -q 'SECRET' <<<"$STATUS" ||
    it_die "/api/v2/status shows a webhook URL: $(grep webhook_url <<<"$STATUS")"
it_ok "/api/v2/status: mattermost webhook_url shown as <secret>"

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{}},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{}}]'

# Upstream's request: no top-level text without configured attachments; one attachment of
# the top-level texts (fallback, color, text, title, title_link, fields); username
# Alertmanager; priority lower-cased, requested_ack kept for urgent.
MM='.path == "/mattermost/hooks/SECRET-ok" and .status == 200 and .err == null and (.headers["Content-Type"] | startswith("application/json")) and (.body | keys) == ["attachments","channel","icon_emoji","priority","username"] and .body.channel == "line-P" and .body.username == "Alertmanager" and .body.icon_emoji == ":factory:" and .body.priority == {"priority":"urgent","requested_ack":true} and (.body.attachments | length) == 1 and .body.attachments[0].title_link == "http://alerts.example:9093/#/alerts?receiver=mm" and .body.attachments[0].fields == [{"title":"Lines","value":"2","short":true}] and (.body.attachments[0] | keys) == ["color","fallback","fields","text","title","title_link"]'
FIRING="$MM"' and .body.attachments[0].title == "[FIRING:2] LineStopped (P)" and .body.attachments[0].color == "danger" and .body.attachments[0].fallback == "[FIRING:2] LineStopped (P) | http://alerts.example:9093/#/alerts?receiver=mm" and (.body.attachments[0].text | startswith("\n\n# Alerts Firing:\n") and contains("  - line = L2"))'
RESOLVED="$MM"' and .body.attachments[0].title == "[RESOLVED] LineStopped (P)" and .body.attachments[0].color == "good" and (.body.attachments[0].text | contains("# Alerts Resolved:"))'

rx_post $AM "$(rx_alerts "$ALERTS")"
rx_wait_q "$CAPF" "$FIRING" 1 || it_die "no firing webhook request as Alertmanager sends it"
it_ok "mattermost: firing request to the URL in the global file (channel, username, icon_emoji, priority, one attachment: fallback, color danger, default text, title, title_link, fields), 200"
FL='.path == "/mattermost/flaky503/SECRET-f"'
rx_wait_q "$CAPF" "$FL"' and .status == 200' 1 || it_die "503 once: not retried to a 200"
it_ok "mattermost: a 503 is retried, then delivered"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="refused",integration="mattermost",reason="http_4xx"} 1' ||
    it_die "400 not counted failed: $(rx_metrics | grep refused)"
it_ok "mattermost: 400 counted failed, not retried"
grep -q 'SECRET' "$IT_DIR/notifyd.log" "$IT_DIR/alertd.log" &&
    it_die "a log shows the webhook URL's secret: $(grep -h SECRET "$IT_DIR"/*.log | head -2)"
it_ok "logs: the webhook URLs' paths never shown"

END=$(rx_now)
rx_post $AM "$(rx_alerts "$ALERTS" "$END")"
rx_wait_q "$CAPF" "$RESOLVED" 1 || it_die "no resolved request (send_resolved defaults to true)"
it_ok "mattermost: resolved request, color good"
sleep 3

[ "$(rx_q "$CAPF" '.path | startswith("/mattermost/hooks")')" = 2 ] && [ "$(rx_q "$CAPF" "$FL")" = 2 ] &&
    [ "$(rx_q "$CAPF" '.path | startswith("/mattermost/fail400")')" = 1 ] ||
    it_die "want hooks 2, flaky 2, fail400 1 requests: $(jq -c '[.path, .status, .err]' "$CAPF")"
M=$(rx_metrics)
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
