#!/usr/bin/env bash
# receivers_slack_app.sh — slack_configs with a bot token (app_token, app_token_file,
# global.slack_app_token, app_url), delivered by alertd + notifyd through Slack's Web API
# chat.postMessage as Alertmanager's config.go and slack notifier (0.28+) do.
#
# Slack cannot run here, and Debian's Alertmanager 0.25 has no app_token: the Web API is
# played by test/it/receivers_capture.py (/slackapi/..., its documented answers: 200 with
# {"ok": true} for a good token and channel, 200 with {"ok": false, "error": ...} for a bad
# one). Checked: each request goes to app_url with "Authorization: Bearer <token>" (its own,
# from its file, or the global one) and the webhook body; an {"ok": false} answer is failed
# in /api/v2/notifications with Slack's error, and not retried; the tokens show as <secret>
# in /api/v2/status and never in the logs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds curl jq
it_tmpdir

CAP=$(it_free_port)
echo "xoxb-good" > "$IT_DIR/token"
cat > "$IT_DIR/am.yml" <<YML
global:
  slack_app_token: xoxb-good
  slack_app_url: http://127.0.0.1:$CAP/slackapi/global/chat.postMessage
route:
  receiver: global
  group_by: [alertname]
  group_wait: 200ms
  group_interval: 1h
  repeat_interval: 4h
  routes:
    - {receiver: own, matchers: [alertname="Own"]}
    - {receiver: file, matchers: [alertname="File"]}
    - {receiver: bad, matchers: [alertname="Bad"]}
receivers:
  - name: global
    slack_configs: [{channel: '#plant'}]
  - name: own
    slack_configs:
      - {channel: '#own', app_token: xoxb-good, app_url: 'http://127.0.0.1:$CAP/slackapi/own/chat.postMessage'}
  - name: file
    slack_configs: [{channel: '#file', app_token_file: '$IT_DIR/token'}]
  - name: bad
    slack_configs: [{channel: '#bad', app_token: xoxb-SECRET-wrong}]
YML
it_has 'configuration OK' "$BIN/alertd" --check-config --config.file="$IT_DIR/am.yml" ||
    it_die "alertd refused the bot-token config"
it_start cap "$PY" "$HERE/test/it/receivers_capture.py" "$CAP" "$IT_DIR/cap.jsonl"
it_wait_http "http://127.0.0.1:$CAP/" || it_die "capture server did not come up"
NOTIFYD_PUB=$(it_free_port) # alertd hears notifyd's outcomes there
it_start_notifyd_alertd "$IT_DIR/am.yml" --zmq.notifyd-pub-address=tcp://127.0.0.1:$NOTIFYD_PUB
it_ok "alertd loads app_token, app_token_file, global slack_app_token and slack_app_url"

for a in Global Own File Bad; do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' \
        -d "[{\"labels\":{\"alertname\":\"$a\",\"line\":\"L1\"}}]" "http://127.0.0.1:$AM/api/v2/alerts"
done
notes() { curl -fsS "http://127.0.0.1:$AM/api/v2/notifications?receiver=$1"; }
for r in global own file bad; do
    it_until 100 0.1 sh -c "curl -fsS 'http://127.0.0.1:$AM/api/v2/notifications?receiver=$r' | jq -e '.[0].result == \"delivered\" or .[0].result == \"failed\"' >/dev/null" ||
        it_die "$r: no outcome: $(notes $r)"
done
req() { jq -sc --arg c "$1" '[.[] | select(.body.channel == $c)]' "$IT_DIR/cap.jsonl"; }
check() { # CHANNEL PATH STATUS-ERR
    local got
    got=$(req "$1" | jq -r '[.[] | "\(.path) \(.headers.Authorization) \(.err)"] | join(",")')
    [ "$got" = "$2" ] || it_die "$1: want '$2', got '$got'"
}
check '#plant' "/slackapi/global/chat.postMessage Bearer xoxb-good null"
check '#own' "/slackapi/own/chat.postMessage Bearer xoxb-good null"
check '#file' "/slackapi/global/chat.postMessage Bearer xoxb-good null"
check '#bad' "/slackapi/global/chat.postMessage Bearer xoxb-SECRET-wrong invalid_auth"
req '#plant' | jq -e '.[0].body.attachments[0].fallback | startswith("[FIRING:1] Global")' >/dev/null ||
    it_die "body: $(req '#plant')"
it_ok "each request goes to its app_url with its Bearer token (own, file, global) and the webhook body"

for r in global own file; do
    [ "$(notes $r | jq -r '.[0].result')" = delivered ] || it_die "$r: $(notes $r)"
done
[ "$(notes bad | jq -r '.[0].result')" = failed ] || it_die "bad: $(notes bad)"
reason=$(notes bad | jq -r '.[0].reason')
case "$reason" in *"error response from Slack: invalid_auth"*) ;; *) it_die "bad reason: $reason" ;; esac
sleep 0.5
[ "$(req '#bad' | jq length)" = 1 ] || it_die "an ok:false answer was retried: $(req '#bad' | jq length) requests"
it_ok "ok:true answers are delivered; ok:false is failed ($reason), not retried"

st=$(rx_status "$AM")
grep -q 'xoxb-' <<<"$st" && it_die "a token shows in /api/v2/status: $(grep xoxb- <<<"$st")"
grep -q 'app_token: <secret>' <<<"$st" || it_die "/api/v2/status: no app_token <secret>"
grep -q 'slack_app_token: <secret>' <<<"$st" || it_die "/api/v2/status: no slack_app_token <secret>"
grep -q 'xoxb-' "$IT_DIR/notifyd.log" "$IT_DIR/alertd.log" && it_die "a token is in a log"
it_ok "tokens show as <secret> in /api/v2/status and never in the logs"
it_finish
