#!/usr/bin/env bash
# receivers_oauth2.sh — http_config.oauth2 (the OAuth 2.0 client credentials grant, as
# prometheus/common and golang.org/x/oauth2/clientcredentials make it) on webhook_configs,
# floorwatch (alertd + notifyd) side by side with the real Debian Alertmanager 0.25.
#
# No authorization server runs here: test/it/receivers_oauth2_token.py plays a token
# endpoint with the exchange RFC 6749 section 4.4 documents (POST, form-urlencoded,
# grant_type=client_credentials, client authentication per section 2.3.1; a JSON answer
# with access_token, token_type, expires_in), one per side, and checks each token request.
# test/it/receivers_capture.py records the webhook requests and their Authorization header.
# Checked: the token request (method, Content-Type, grant_type, scope, endpoint_params,
# HTTP Basic with the url-escaped id and secret from client_secret_file) the same on both
# sides; the webhook's "Authorization: Bearer TOKEN-1" the same; the token reused while
# valid (expires_in 14 s, less x/oauth2's 10 s delta) and fetched again after; a token
# endpoint answering 401 or 500 fails the delivery (first HTTP Basic, then the credentials
# in the body, as x/oauth2's auto-detection tries), counted failed and never delivered; the
# client secret shown as <secret> in /api/v2/status and never in logs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds curl jq prometheus-alertmanager
it_tmpdir

rx_pair_ports
TOK_FW=$(it_free_port)
TOK_AM=$(it_free_port)
ID='floor client'
SECRET='SECRET-o2/&x'
printf '%s\n' "$SECRET" > "$IT_DIR/client_secret"

# config SIDE CAPTURE-PORT TOKEN-PORT: the same config for both sides but the URLs.
config() {
    cat <<YML
route:
  receiver: o2
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 4h
  routes:
    - {receiver: o2, matchers: ['alertname=~"A|B|C"']}
    - {receiver: t401, matchers: ['alertname="D"'], continue: true}
    - {receiver: t500, matchers: ['alertname="D"']}
receivers:
  - name: o2
    webhook_configs:
      - url: http://127.0.0.1:$2/hook/o2
        send_resolved: false
        http_config:
          oauth2:
            client_id: '$ID'
            client_secret_file: client_secret
            scopes: [alerts.write, 'hooks read']
            token_url: http://127.0.0.1:$3/$1/token/ok
            endpoint_params: {audience: 'https://hooks.example/'}
  - name: t401
    webhook_configs:
      - url: http://127.0.0.1:$2/hook/t401
        send_resolved: false
        http_config:
          oauth2: {client_id: '$ID', client_secret: '$SECRET', token_url: 'http://127.0.0.1:$3/$1/token/401'}
  - name: t500
    webhook_configs:
      - url: http://127.0.0.1:$2/hook/t500
        send_resolved: false
        http_config:
          oauth2: {client_id: '$ID', client_secret: '$SECRET', token_url: 'http://127.0.0.1:$3/$1/token/500'}
YML
}
config fw "$CAP_FW" "$TOK_FW" > "$IT_DIR/fw.yml"
config am "$CAP_AM" "$TOK_AM" > "$IT_DIR/am.yml"
TFW=$IT_DIR/tok_fw.jsonl
TAM=$IT_DIR/tok_am.jsonl
it_start tok_fw "$PY" "$HERE/test/it/receivers_oauth2_token.py" "$TOK_FW" "$TFW" "$ID" "$SECRET"
it_start tok_am "$PY" "$HERE/test/it/receivers_oauth2_token.py" "$TOK_AM" "$TAM" "$ID" "$SECRET"
it_wait_http "http://127.0.0.1:$TOK_FW/" && it_wait_http "http://127.0.0.1:$TOK_AM/" ||
    it_die "the token endpoints did not come up"
rx_fast_retry
rx_start_pair "$IT_DIR/fw.yml" "$IT_DIR/am.yml" "plays webhooks; token endpoints play RFC 6749 4.4"

STATUS=$(rx_status "$AM")
grep -q 'client_secret: <secret>' <<<"$STATUS" && ! grep -q 'SECRET' <<<"$STATUS" ||
    it_die "/api/v2/status shows the client secret: $(grep client_secret <<<"$STATUS")"
it_ok "/api/v2/status: oauth2 client_secret shown as <secret>"

alert() { rx_alerts "[{\"labels\":{\"alertname\":\"$1\",\"line\":\"L1\"},\"annotations\":{}}]"; }
HOOK='.path == "/hook/o2" and .status == 200'
# A good token request on one side (as RFC 6749 4.4.2 wants it, the client authenticated
# with HTTP Basic: the token server checked it, err null) to PATH.
GOOD='.method == "POST" and .err == null and .status == 200 and (.path | endswith("/token/ok")) and (.headers["Content-Type"] == "application/x-www-form-urlencoded") and .body == {"grant_type": "client_credentials", "scope": "alerts.write hooks read", "audience": "https://hooks.example/"} and (.headers.Authorization | startswith("Basic "))'

START=$(rx_now)
rx_post_both "$(alert A)"
rx_wait_q "$IT_DIR/fw.jsonl" "$HOOK"' and .headers.Authorization == "Bearer TOKEN-1"' 1 ||
    it_die "floorwatch: no webhook request with the token: $(cat "$IT_DIR/notifyd.log" | tail -5)"
rx_wait_q "$IT_DIR/am.jsonl" "$HOOK"' and .headers.Authorization == "Bearer TOKEN-1"' 1 ||
    it_die "Alertmanager: no webhook request with the token"
[ "$(rx_q "$TFW" "$GOOD")" = 1 ] && [ "$(rx_q "$TAM" "$GOOD")" = 1 ] ||
    it_die "want one good token request on each side: fw $(jq -c '[.method,.path,.status,.err,.raw]' "$TFW") am $(jq -c '[.method,.path,.status,.err,.raw]' "$TAM")"
it_ok "token request: POST, form-urlencoded, grant_type, scope, endpoint_params, HTTP Basic; webhook sent 'Authorization: Bearer TOKEN-1' (both sides)"
# Byte for byte: the body (Go's url.Values.Encode order) and the Basic credentials.
F=$(jq -s -c '[.[] | select(.path | endswith("/token/ok"))][0] | [.raw, .headers.Authorization]' "$TFW")
A=$(jq -s -c '[.[] | select(.path | endswith("/token/ok"))][0] | [.raw, .headers.Authorization]' "$TAM")
[ "$F" = "$A" ] || it_die "token requests differ: floorwatch $F, Alertmanager $A"
it_ok "token request body and Basic credentials byte for byte as Alertmanager's: $(jq -r '.[0]' <<<"$F")"

# The token holds 4 s (14 less the 10 s delta): a notification 1.5 s later reuses it.
sleep 1.5
rx_post_both "$(alert B)"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$HOOK"' and .body.groupLabels.alertname == "B" and .headers.Authorization == "Bearer TOKEN-1"' 1 ||
        it_die "$f: the second notification did not reuse TOKEN-1"
done
[ "$(rx_q "$TFW" "$GOOD")" = 1 ] && [ "$(rx_q "$TAM" "$GOOD")" = 1 ] ||
    it_die "a token fetched again while valid: fw $(rx_q "$TFW" "$GOOD") am $(rx_q "$TAM" "$GOOD")"
it_ok "token reused while valid: second notification with TOKEN-1, no second token request (both sides)"

# After it expired (less the delta), the next notification fetches a new one.
sleep 4
rx_post_both "$(alert C)"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$HOOK"' and .body.groupLabels.alertname == "C" and .headers.Authorization == "Bearer TOKEN-2"' 1 ||
        it_die "$f: no new token after expiry"
done
[ "$(rx_q "$TFW" "$GOOD")" = 2 ] && [ "$(rx_q "$TAM" "$GOOD")" = 2 ] ||
    it_die "want 2 token requests on each side: fw $(rx_q "$TFW" "$GOOD") am $(rx_q "$TAM" "$GOOD")"
it_ok "token fetched again after expiry: third notification with TOKEN-2 (both sides)"
rx_compare "webhook with oauth2" --only /hook/o2 --header Authorization --header Content-Type --status 200 --want 3 ||
    it_die "webhook requests differ from Alertmanager's"
it_ok "the three webhook requests compared with Alertmanager's (Authorization too)"

# Token endpoint failures: the delivery fails, nothing reaches the webhook.
rx_post_both "$(alert D)"
for code in 401 500; do
    rx_wait_metric "fw_notifyd_notifications_failed_total{receiver=\"t$code\",integration=\"webhook\",reason=\"oauth2\"} 1" 150 ||
        it_die "a $code from the token endpoint not counted failed: $(rx_metrics | grep -E "t$code|failed" | head -5)"
done
M=$(rx_metrics)
grep -qE 'fw_notifyd_notifications_total\{receiver="t(401|500)"' <<<"$M" &&
    it_die "a notification counted delivered without a token: $(grep -E 't401|t500' <<<"$M")"
grep -qE '^alertmanager_notifications_failed_total\{integration="webhook"[^}]*\} [1-9]' <<<"$M" ||
    it_die "alertmanager_notifications_failed_total not counted: $(grep notifications_failed <<<"$M")"
[ "$(rx_q "$IT_DIR/fw.jsonl" '.path == "/hook/t401" or .path == "/hook/t500"')" = 0 ] ||
    it_die "a webhook got a request without a token"
grep -q 'oauth2: cannot fetch token from http://127.0.0.1:'"$TOK_FW"'/fw/token/401: status 401' "$IT_DIR/notifyd.log" ||
    it_die "notifyd's log does not name the token URL and status: $(grep -m2 oauth2 "$IT_DIR/notifyd.log")"
it_ok "token endpoint 401 and 500: delivery failed after its retries (reason oauth2), alertmanager_notifications_failed_total counted, no webhook request, log names the token URL and status"
# Both sides probe as x/oauth2's auto-detection does: HTTP Basic, then id and secret in the body.
PROBE='(.path | endswith("/token/401")) and .status == 401 and .err == null'
for f in "$TFW" "$TAM"; do
    jq -s -e "[.[] | select($PROBE)] | length >= 2 and (.[0].headers.Authorization | startswith(\"Basic \")) and .[1].headers.Authorization == null and .[1].body.client_id == \"$ID\" and .[1].body.client_secret == \"$SECRET\"" "$f" >/dev/null ||
        it_die "$f: want HTTP Basic then credentials in the body: $(jq -c '[.path,.status,.err,.raw]' "$f" | head -4)"
done
F=$(jq -s -r "[.[] | select($PROBE)][1].raw" "$TFW")
A=$(jq -s -r "[.[] | select($PROBE)][1].raw" "$TAM")
[ "$F" = "$A" ] || it_die "the second token request's body differs: floorwatch $F, Alertmanager $A"
it_ok "a refused token request is tried again with client_id and client_secret in the body, byte for byte as Alertmanager's"

grep -q 'SECRET' "$IT_DIR/notifyd.log" "$IT_DIR/alertd.log" &&
    it_die "a log shows the client secret: $(grep -h SECRET "$IT_DIR"/notifyd.log "$IT_DIR"/alertd.log | head -2)"
it_ok "logs: the client secret never shown"
echo "receivers_oauth2.sh: all checks passed"
