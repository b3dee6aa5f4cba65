#!/usr/bin/env bash
# receivers_rocketchat.sh — alertd + notifyd deliver rocketchat_configs notifications (a firing
# group of two alerts, then the group resolved) to Rocket.Chat's chat.postMessage.
#
# Rocket.Chat cannot run here, and no Debian peer has this integration (Alertmanager 0.25
# predates it; it came in 0.28), so there is no side by side: test/it/receivers_capture.py
# plays the REST endpoint as Rocket.Chat documents it (path /api/v1/chat.postMessage,
# X-Auth-Token and X-User-Id checked, 401 otherwise, 200 {"success": true}), and the body is
# checked against what Alertmanager's notify/rocketchat sends (its structs and default.tmpl).
# The token comes from global.rocketchat_token_file, the user id inline. Three more receivers:
# one answered 503 once (retried, then delivered), one answered 200 {"success": false} (counted
# failed, not retried, as Alertmanager's checkResponseError), one answered 400 (failed, not
# retried). alertd's /api/v2/status shows the user id as <secret>.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds curl jq
it_tmpdir

CAP=$(it_free_port)
printf '  rc-token-SECRET\n' > "$IT_DIR/token"
cat > "$IT_DIR/am.yml" <<YML
global:
  rocketchat_token_file: $IT_DIR/token
  rocketchat_token_id: rc-user-SECRET
  rocketchat_api_url: http://127.0.0.1:$CAP/rocketchat/ok/
route:
  receiver: rc
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - {receiver: rc, matchers: ['plant="P"'], continue: true}
    - {receiver: flaky, matchers: ['plant="P"'], continue: true}
    - {receiver: sayfalse, matchers: ['plant="P"'], continue: true}
    - {receiver: refused, matchers: ['plant="P"']}
receivers:
  - name: rc
    rocketchat_configs:
      - channel: '#line-{{ .CommonLabels.plant }}'
        send_resolved: true
        emoji: ':factory:'
        fields: [{title: Lines, value: '{{ len .Alerts }}'}]
        short_fields: true
        actions: [{type: button, text: Silence, url: 'http://alerts.example:9093/#/silences'}]
  - name: flaky
    rocketchat_configs:
      - {channel: '#f', api_url: 'http://127.0.0.1:$CAP/rocketchat/flaky503'}
  - name: sayfalse
    rocketchat_configs:
      - {channel: '#s', api_url: 'http://127.0.0.1:$CAP/rocketchat/sayfalse'}
  - name: refused
    rocketchat_configs:
      - {channel: '#r', api_url: 'http://127.0.0.1:$CAP/rocketchat/fail400'}
YML

rx_fast_retry
rx_start_capture "$IT_DIR/am.yml" "plays Rocket.Chat's chat.postMessage"

STATUS=$(rx_status "$AM")
grep -q 'rocketchat_token_id: <secret>' <<<"$STATUS" && ! grep -q 'SECRET' <<<"$STATUS" ||
    it_die "/api/v2/status shows a token: $(grep rocketchat <<<"$STATUS")"
it_ok "/api/v2/status: rocketchat_token_id shown as <secret>"

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{}},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{}}]'

# Alertmanager's PostMessage: channel, emoji, one attachment (title __subject, title_link
# __alertmanagerURL, color red/green, fields with short, actions as buttons with is_webview
# and msg_in_chat_window false); no text, avatar or alias (empty: left out).
RC='.path == "/rocketchat/ok/api/v1/chat.postMessage" and .status == 200 and .err == null and .headers["X-Auth-Token"] == "rc-token-SECRET" and .headers["X-User-Id"] == "rc-user-SECRET" and (.headers["Content-Type"] | startswith("application/json")) and (.body | keys) == ["attachments","channel","emoji"] and .body.channel == "#line-P" and .body.emoji == ":factory:" and (.body.attachments | length) == 1 and .body.attachments[0].title_link == "http://alerts.example:9093/#/alerts?receiver=rc" and .body.attachments[0].fields == [{"short":true,"title":"Lines","value":"2"}] and .body.attachments[0].actions == [{"type":"button","text":"Silence","url":"http://alerts.example:9093/#/silences","is_webview":false,"msg_in_chat_window":false}]'
FIRING="$RC"' and .body.attachments[0].title == "[FIRING:2] LineStopped (P)" and .body.attachments[0].color == "red" and (.body.attachments[0] | keys) == ["actions","color","fields","title","title_link"]'
RESOLVED="$RC"' and .body.attachments[0].title == "[RESOLVED] LineStopped (P)" and .body.attachments[0].color == "green"'

rx_post $AM "$(rx_alerts "$ALERTS")"
rx_wait_q "$CAPF" "$FIRING" 1 || it_die "no firing chat.postMessage as Alertmanager sends it"
it_ok "rocketchat: firing chat.postMessage (path, X-Auth-Token from the global token file, X-User-Id, channel, emoji, attachment title/title_link/color red/fields/actions), 200 success"
FL='.path == "/rocketchat/flaky503/api/v1/chat.postMessage"'
rx_wait_q "$CAPF" "$FL"' and .status == 200' 1 || it_die "503 once: not retried to a 200"
it_ok "rocketchat: a 503 is retried, then delivered"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="sayfalse",integration="rocketchat",reason="client_error"} 1' ||
    it_die "200 success:false not counted failed: $(rx_metrics | grep sayfalse)"
grep -q 'receiver=sayfalse.*error response from Rocketchat: error-not-allowed' "$IT_DIR/notifyd.log" ||
    it_die "the failure does not say Rocket.Chat's error: $(grep sayfalse "$IT_DIR/notifyd.log" | tail -3)"
it_ok "rocketchat: 200 {\"success\": false} counted failed (client_error) with Rocket.Chat's error, not retried"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="refused",integration="rocketchat",reason="http_4xx"} 1' ||
    it_die "400 not counted failed: $(rx_metrics | grep refused)"
it_ok "rocketchat: 400 counted failed, not retried"

END=$(rx_now)
rx_post $AM "$(rx_alerts "$ALERTS" "$END")"
rx_wait_q "$CAPF" "$RESOLVED" 1 || it_die "no resolved chat.postMessage (send_resolved: true)"
it_ok "rocketchat: resolved chat.postMessage, color green"
sleep 3 # the other receivers' send_resolved is false (Alertmanager's default): nothing more

[ "$(rx_q "$CAPF" '.path | startswith("/rocketchat/ok")')" = 2 ] && [ "$(rx_q "$CAPF" "$FL")" = 2 ] &&
    [ "$(rx_q "$CAPF" '.path | startswith("/rocketchat/sayfalse")')" = 1 ] &&
    [ "$(rx_q "$CAPF" '.path | startswith("/rocketchat/fail400")')" = 1 ] ||
    it_die "want ok 2, flaky 2, sayfalse 1, fail400 1 requests: $(jq -c '[.path, .status, .err]' "$CAPF")"
M=$(rx_metrics)
for want in 'fw_notifyd_notifications_total{receiver="rc",integration="rocketchat"} 2' \
    'fw_notifyd_notifications_total{receiver="flaky",integration="rocketchat"} 1' \
    'alertmanager_notifications_total{integration="rocketchat"} 5' \
    'alertmanager_notifications_failed_total{integration="rocketchat",reason="clientError"} 2'; do
    grep -qF "$want" <<<"$M" || it_die "want $want: $(grep rocketchat <<<"$M")"
done
grep -qE 'fw_notifyd_notifications_total\{receiver="(sayfalse|refused)"' <<<"$M" &&
    it_die "a failed rocketchat notification counted delivered: $(grep -E 'sayfalse|refused' <<<"$M")"
it_ok "metrics: rc 2 and flaky 1 delivered; success:false and 400 failed, never delivered; alertmanager_notifications_* integration=\"rocketchat\""
echo "receivers_rocketchat.sh: all checks passed"
