#!/usr/bin/env bash
# receivers_telegram.sh — alertd + notifyd deliver telegram_configs, compared with the real
# Debian Alertmanager (0.25) sending the same alerts with the same config.
#
# Telegram cannot be reached from here: test/it/receivers_capture.py plays the Bot API's
# sendMessage (POST .../bot<token>/sendMessage, JSON; 200 {"ok":true,"result":...}, 400
# {"ok":false,...} for chat_id -400; it checks each request against the documented method),
# one capture server per side. Both sides get the same config (but the port, and one config's
# bot_token_file on floorwatch's side where Alertmanager 0.25, which has no bot_token_file,
# gets the same token inline) and the same alerts (two firing alerts of one group, then both
# resolved); every request's path (holding the token) and body must equal Alertmanager's
# field by field: the default message rendered in HTML mode, a custom Markdown one,
# disable_notification. Then a 400 {"ok":false} is counted failed (http_4xx) and not retried,
# a 200 {"ok":false} is counted failed (api_error), a 503 once is retried and delivered; a
# rewritten bot_token_file is used by the next notification; the token shows as <secret> in
# /api/v2/status and never in notifyd's log; metrics carry integration="telegram".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir

rx_pair_ports

mkcfg() { # PORT DIR SIDE (fw or am)
    mkdir -p "$2"
    echo "456:file-tok-1" > "$2/tg_token"
    local tok="bot_token: '456:file-tok-1'" # Alertmanager 0.25 has no bot_token_file
    [ "$3" = fw ] && tok="bot_token_file: $2/tg_token"
    cat > "$2/am.yml" <<YML
route:
  receiver: team
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - receiver: broken
      matchers: ['line="L9"']
receivers:
  - name: team
    telegram_configs:
      - bot_token: '123:SECRET-tg'
        api_url: http://127.0.0.1:$1/tg/default
        chat_id: -1001234
      - $tok
        api_url: http://127.0.0.1:$1/tg/custom
        chat_id: 42
        parse_mode: Markdown
        disable_notifications: true
        message: '*{{ .Status | toUpper }}* {{ .CommonLabels.alertname }}:{{ range .Alerts }} {{ .Labels.line }} <{{ .Annotations.summary }}>{{ end }}'
  - name: broken
    telegram_configs:
      - {bot_token: '1:k400', api_url: 'http://127.0.0.1:$1/tg/c400', chat_id: -400}
      - {bot_token: '1:k200', api_url: 'http://127.0.0.1:$1/tg/c200', chat_id: -200}
      - {bot_token: '1:k503', api_url: 'http://127.0.0.1:$1/tg/flaky503', chat_id: 5}
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw" fw
mkcfg "$CAP_AM" "$IT_DIR/am" am

rx_start_pair "$IT_DIR/fw/am.yml" "$IT_DIR/am/am.yml" ""

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 <stopped> & cold"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'
rx_post_both "$(rx_alerts "$ALERTS")"
for f in fw am; do
    rx_wait_count "$IT_DIR/$f.jsonl" /tg/default/ text "Alerts Firing" 1 || it_die "$f: default Telegram message"
    rx_wait_count "$IT_DIR/$f.jsonl" /tg/custom/ text "*FIRING*" 1 || it_die "$f: custom Telegram message"
done
it_ok "firing: both sides sent the 2 Telegram messages"
END=$(rx_now)
rx_post_both "$(rx_alerts "$ALERTS" "$END")"
for f in fw am; do
    rx_wait_count "$IT_DIR/$f.jsonl" /tg/default/ text "Alerts Resolved" 1 || it_die "$f: default resolved message"
    rx_wait_count "$IT_DIR/$f.jsonl" /tg/custom/ text "*RESOLVED*" 1 || it_die "$f: custom resolved message"
done
it_ok "resolved: both sides sent the 2 resolved Telegram messages"
rx_check_shapes

rx_compare Telegram --only /tg/default/ --only /tg/custom/ --want 4 ||
    it_die "Telegram requests differ from Alertmanager's"
it_ok "every Telegram request (path with the token, JSON body: HTML-escaped default text, Markdown text, disable_notification) equals Alertmanager's"

L9='[{"labels":{"alertname":"Broken","line":"L9"},"startsAt":"'$START'"}]'
rx_post $AM "$L9"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="broken",integration="telegram",reason="http_4xx"} 1' \
    || it_die "Telegram 400: $(rx_metrics | grep notifications)"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="broken",integration="telegram",reason="api_error"} 1' \
    || it_die "Telegram 200 ok:false: $(rx_metrics | grep notifications)"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="broken",integration="telegram"} 1' \
    || it_die "Telegram 503 then 200: $(rx_metrics | grep notif)"
[ "$(rx_count "$IT_DIR/fw.jsonl" /tg/c400/ chat_id -400)" = 1 ] || it_die "want 1 attempt at chat -400"
[ "$(rx_count "$IT_DIR/fw.jsonl" /tg/c200/ chat_id -200)" = 1 ] || it_die "want 1 attempt at chat -200"
[ "$(rx_count "$IT_DIR/fw.jsonl" /tg/flaky503/ chat_id 5)" = 2 ] || it_die "want 2 attempts at /tg/flaky503"
it_has 'telegram: Bad Request: chat not found' grep 'event=notify.fail receiver=broken' "$IT_DIR/notifyd.log" \
    || it_die "the ok:false description is not logged: $(grep notify.fail "$IT_DIR/notifyd.log")"
it_ok "400 {ok:false}: failed (http_4xx), 1 attempt; 200 {ok:false}: failed (api_error, description logged); 503 once: retried, delivered"
M=$(rx_metrics) # grep -q on a variable: on a pipe it could end curl with SIGPIPE under pipefail
grep -q 'fw_notifyd_notifications_total{receiver="team",integration="telegram"} 4' <<< "$M" \
    || it_die "team telegram delivered: $(grep notifications_total <<< "$M")"
grep -q 'alertmanager_notifications_failed_total{integration="telegram",reason="clientError"} 1' <<< "$M" \
    || it_die "alertmanager_notifications_failed_total telegram: $(grep alertmanager_notifications_failed <<< "$M")"
it_ok "metrics: 4 team deliveries, alertmanager_notifications_* with integration=\"telegram\""

echo "456:file-tok-2" > "$IT_DIR/fw/tg_token"
rx_post $AM '[{"labels":{"alertname":"Rotated","line":"L1","plant":"P"},"startsAt":"'$START'"}]'
rx_wait_count "$IT_DIR/fw.jsonl" "/tg/custom/bot456:file-tok-2/" text Rotated 1 || it_die "no Telegram request with the rewritten bot_token_file"
it_ok "a rewritten bot_token_file is used by the next notification (no reload needed)"

rx_status "$AM" > "$IT_DIR/fw.status.yml"
grep -q 'SECRET-tg' "$IT_DIR/fw.status.yml" && it_die "the bot token shows in /api/v2/status"
grep -q 'bot_token: <secret>' "$IT_DIR/fw.status.yml" || it_die "bot_token not <secret>: $(grep -A3 telegram "$IT_DIR/fw.status.yml")"
grep -q 'SECRET-tg\|file-tok\|k400\|k200\|k503' "$IT_DIR/notifyd.log" && it_die "notifyd logged a bot token: $(grep 'SECRET-tg\|file-tok\|k400\|k200\|k503' "$IT_DIR/notifyd.log" | head -1)"
grep -q 'integration=telegram' "$IT_DIR/notifyd.log" || it_die "no telegram line in notifyd's log to check"
it_ok "the bot token is <secret> in /api/v2/status and absent from notifyd's log (URL paths never logged)"
echo "receivers_telegram.sh: all checks passed"
