#!/usr/bin/env bash
# receivers_teams.sh — alertd + notifyd deliver msteams_configs, msteamsv2_configs and
# azuresms_configs notifications (a firing group of two alerts, then the group resolved).
#
# Neither Microsoft Teams nor Azure Communication Services can run here (and Debian's
# Alertmanager 0.25 has no Teams receiver to compare with), so test/it/receivers_capture.py
# plays their endpoints: it checks each request against the documented payload (Office 365
# connector MessageCard as Alertmanager's notify/msteams sends it; a Workflows message with one
# Adaptive Card; ACS SMS send) and for ACS recomputes the HMAC-SHA256 signature from x-ms-date,
# Host, x-ms-content-sha256 and the path+query with the test access key, answering 202, or 401
# when it does not match. A second azuresms receiver signs with a wrong key: its 401s must be
# counted failed in notifyd's metrics, never delivered. Two more read the 202's per-recipient
# results: one number the service fails with 500 once is sent again alone (the number that
# succeeded is not) and the notification is then delivered; one it refuses with 400 makes
# the notification fail with the service's errorMessage, without a retry.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds curl jq
it_tmpdir

CAP=$(it_free_port)
KEY=Zmxvb3J3YXRjaC10ZXN0LWFjY2Vzcy1rZXktMzJieSE=  # base64("floorwatch-test-access-key-32by!")
BADKEY=d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXkhIQ==
echo "$KEY" > "$IT_DIR/key"
echo "$BADKEY" > "$IT_DIR/badkey"
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: teams
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - receiver: teams
      matchers: ['plant="P"']
      continue: true
    - receiver: partial
      matchers: ['plant="P"']
      continue: true
    - receiver: invalid
      matchers: ['plant="P"']
      continue: true
    - receiver: badkey
      matchers: ['alertname="LineStopped"']
receivers:
  - name: teams
    msteams_configs:
      - webhook_url: http://127.0.0.1:$CAP/teams/hook
    msteamsv2_configs:
      - webhook_url: http://127.0.0.1:$CAP/teamsv2/workflow
    azuresms_configs:
      - endpoint: http://127.0.0.1:$CAP/acs/good
        access_key_file: $IT_DIR/key
        from: '+18005550100'
        to: ['+15555550101', '+15555550102']
  - name: partial
    azuresms_configs:
      - endpoint: http://127.0.0.1:$CAP/acs/partial
        access_key_file: $IT_DIR/key
        from: '+18005550100'
        to: ['+15555550101', '+15555550198']
  - name: invalid
    azuresms_configs:
      - endpoint: http://127.0.0.1:$CAP/acs/invalid
        access_key_file: $IT_DIR/key
        from: '+18005550100'
        to: ['+15555550101', '+15555550199']
  - name: badkey
    azuresms_configs:
      - endpoint: http://127.0.0.1:$CAP/acs/bad
        access_key_file: $IT_DIR/badkey
        from: '+18005550100'
        to: ['+15555550101']
YML

rx_fast_retry
rx_start_capture "$IT_DIR/am.yml" "plays Teams and ACS" "$KEY"

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'

MC_FIRING='.path == "/teams/hook" and .body.type == "MessageCard" and .body["@context"] == "http://schema.org/extensions" and .body.title == "[FIRING:2] LineStopped (P)" and .body.summary == "[FIRING:2] LineStopped (P)" and .body.themeColor == "8C1A1A" and (.body.text | contains("# Alerts Firing:") and contains("  - line = L1") and contains("  - summary = line 2 stopped") and contains("Source: http://prom.example/g1")) and .status == 200'
MC_RESOLVED='.path == "/teams/hook" and .body.type == "MessageCard" and .body.title == "[RESOLVED] LineStopped (P)" and .body.themeColor == "2DC72D" and (.body.text | startswith("\n\n\n# Alerts Resolved:\n") and contains("  - line = L2")) and .status == 200'
AC='.path == "/teamsv2/workflow" and .body.type == "message" and (.body.attachments | length) == 1 and .body.attachments[0].contentType == "application/vnd.microsoft.card.adaptive" and .body.attachments[0].contentUrl == null and .body.attachments[0].content["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json" and .body.attachments[0].content.type == "AdaptiveCard" and .body.attachments[0].content.version == "1.2" and .body.attachments[0].content.msteams.width == "full" and (.body.attachments[0].content.body | length) == 2 and .body.attachments[0].content.body[0].type == "TextBlock" and .body.attachments[0].content.body[0].weight == "Bolder" and .body.attachments[0].content.body[0].size == "Medium" and .body.attachments[0].content.body[0].wrap == true and .body.attachments[0].content.body[0].style == "heading" and .body.attachments[0].content.body[1].type == "TextBlock" and .body.attachments[0].content.body[1].wrap == true and .status == 202'
AC_FIRING="$AC"' and .body.attachments[0].content.body[0].text == "[FIRING:2] LineStopped (P)" and .body.attachments[0].content.body[0].color == "Attention" and (.body.attachments[0].content.body[1].text | contains("# Alerts Firing:"))'
AC_RESOLVED="$AC"' and .body.attachments[0].content.body[0].text == "[RESOLVED] LineStopped (P)" and .body.attachments[0].content.body[0].color == "Good" and (.body.attachments[0].content.body[1].text | contains("# Alerts Resolved:"))'
SMS='.path == "/acs/good/sms?api-version=2021-03-07" and .status == 202 and .err == null and .body.from == "+18005550100" and .body.smsRecipients == [{"to":"+15555550101"},{"to":"+15555550102"}] and .body.smsSendOptions == {"enableDeliveryReport":false}'
BAD='.path == "/acs/bad/sms?api-version=2021-03-07"'

rx_post $AM "$(rx_alerts "$ALERTS")"
rx_wait_q "$CAPF" "$MC_FIRING" 1 || it_die "no firing MessageCard with the default title, text and red themeColor"
it_ok "msteams: firing MessageCard (type, @context, title, summary, text, themeColor 8C1A1A), 200"
rx_wait_q "$CAPF" "$AC_FIRING" 1 || it_die "no firing Adaptive Card"
it_ok "msteamsv2: firing Adaptive Card (message, one attachment, heading color Attention), 202"
rx_wait_q "$CAPF" "$SMS"' and (.body.message | contains("FIRING"))' 1 || it_die "no firing SMS with a valid signature"
it_ok "azuresms: firing SMS signed HMAC-SHA256 with the access key, verified by the server, 202"
rx_wait_q "$CAPF" "$BAD"' and .status == 401 and .err == "signature"' 1 || it_die "wrong key: no 401"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="badkey",integration="azuresms",reason="http_4xx"} 1' \
    || it_die "azuresms 401: failed_total: $(rx_metrics | grep notifications)"
it_ok "azuresms with a wrong key: answered 401, counted failed (reason http_4xx)"
PART='.path == "/acs/partial/sms?api-version=2021-03-07" and .status == 202 and .err == null'
rx_wait_q "$CAPF" "$PART"' and .body.smsRecipients == [{"to":"+15555550198"}]' 1 ||
    it_die "the number that failed with 500 was not sent again alone"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="partial",integration="azuresms"} 1' \
    || it_die "azuresms partial: not delivered after the retry: $(rx_metrics | grep -E 'notifications|recipients')"
it_ok "azuresms: a recipient failed with 500 in the 202 answer is sent again alone, then delivered"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="invalid",integration="azuresms",reason="recipient"} 1' \
    || it_die "azuresms 400 recipient: not counted failed: $(rx_metrics | grep -E 'notifications|recipients')"
grep -q 'event=notify.fail receiver=invalid reason=recipient detail="+15555550199: Invalid To phone number format. (400)"' "$IT_DIR/notifyd.log" ||
    it_die "the failure does not carry the answer's errorMessage: $(grep notify.fail "$IT_DIR/notifyd.log")"
it_ok "azuresms: a recipient refused with 400 in the 202 answer fails the notification with the answer's errorMessage"

END=$(rx_now)
rx_post $AM "$(rx_alerts "$ALERTS" "$END")"
rx_wait_q "$CAPF" "$MC_RESOLVED" 1 || it_die "no resolved MessageCard (green themeColor)"
it_ok "msteams: resolved MessageCard, themeColor 2DC72D"
rx_wait_q "$CAPF" "$AC_RESOLVED" 1 || it_die "no resolved Adaptive Card"
it_ok "msteamsv2: resolved Adaptive Card, heading color Good"
rx_wait_q "$CAPF" "$SMS"' and (.body.message | contains("RESOLVED"))' 1 || it_die "no resolved SMS"
it_ok "azuresms: resolved SMS signed and accepted"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="badkey",integration="azuresms",reason="http_4xx"} 2' \
    || it_die "azuresms 401 (resolved): failed_total: $(rx_metrics | grep notifications)"

# Totals: no extra request, nothing refused, 401 never retried nor counted delivered.
[ "$(rx_q "$CAPF" '.err != null and (.path | startswith("/acs/bad") | not)')" = 0 ] ||
    it_die "a request the capture server refused: $(jq -c 'select(.err != null)' "$CAPF" | head -2)"
[ "$(rx_q "$CAPF" '.path == "/teams/hook"')" = 2 ] && [ "$(rx_q "$CAPF" '.path == "/teamsv2/workflow"')" = 2 ] &&
    [ "$(rx_q "$CAPF" '.path | startswith("/acs/good")')" = 2 ] && [ "$(rx_q "$CAPF" "$BAD")" = 2 ] &&
    [ "$(rx_q "$CAPF" '.path | startswith("/acs/partial")')" = 3 ] && [ "$(rx_q "$CAPF" '.path | startswith("/acs/invalid")')" = 2 ] ||
    it_die "want 2 requests per receiver (partial 3): $(jq -c '[.path, .status, .err]' "$CAPF")"
M=$(rx_metrics)
for i in msteams msteamsv2 azuresms; do
    grep -q "fw_notifyd_notifications_total{receiver=\"teams\",integration=\"$i\"} 2" <<<"$M" ||
        it_die "teams $i delivered: $(grep notifications <<<"$M")"
done
grep -q 'fw_notifyd_notifications_total{receiver="badkey"' <<<"$M" &&
    it_die "azuresms 401 counted as delivered: $(grep badkey <<<"$M")"
grep -q 'fw_notifyd_notifications_total{receiver="invalid"' <<<"$M" &&
    it_die "azuresms with a refused recipient counted as delivered: $(grep invalid <<<"$M")"
for want in 'notifications_total{receiver="partial",integration="azuresms"} 2' \
    'notifications_failed_total{receiver="invalid",integration="azuresms",reason="recipient"} 2' \
    'recipients_total{receiver="partial",integration="azuresms",result="delivered"} 4' \
    'recipients_total{receiver="partial",integration="azuresms",result="failed"} 1' \
    'recipients_total{receiver="invalid",integration="azuresms",result="failed"} 2'; do
    grep -qF "fw_notifyd_$want" <<<"$M" || it_die "want fw_notifyd_$want: $(grep -E 'partial|invalid' <<<"$M")"
done
it_ok "metrics: 2 deliveries each for msteams, msteamsv2, azuresms; the wrong key 2 failed, 0 delivered, no retry; per-recipient counts"
echo "receivers_teams.sh: all checks passed"
