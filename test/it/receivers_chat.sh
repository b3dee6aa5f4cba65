#!/usr/bin/env bash
# receivers_chat.sh — alertd + notifyd deliver discord_configs, webex_configs and
# pushover_configs, compared with the real Debian Alertmanager 0.25 sending the same alerts
# with the same config.
#
# None of Discord, Webex, Pushover can run here: test/it/receivers_capture.py plays Discord's
# execute-webhook endpoint (answers 204 as Discord does), Webex's create-a-message API (a
# Bearer token required, answers 200 with the message) and Pushover's messages API, checks
# each request against the documented body and records every request. Alertmanager 0.25 sends
# Pushover requests to https://api.pushover.net/1/messages.json, which no config key changes:
# both sides get the capture server as http_config.proxy_url, it answers CONNECT
# api.pushover.net:443 and ends the TLS tunnel with a certificate for api.pushover.net from
# a test CA both sides trust through tls_config.ca_file. Pushover's parameters travel in the
# query string (0.25 sends them there, with an empty text/plain body): the query strings must
# be equal byte for byte. Two capture servers, one per side, the same config but for the port, the
# same alerts (two firing alerts of one group, then both resolved): every request body
# floorwatch sends must equal Alertmanager's field by field, the Content-Type and
# Authorization headers too. Then, on floorwatch's side, an endpoint answering 400 is counted
# failed (never delivered, not retried) and one answering 503 once is retried and delivered,
# in fw_notifyd_* and alertmanager_notifications_* metrics with integration="discord" and
# "webex" and "pushover". One webex config takes global.webex_api_url, as Alertmanager's do.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds prometheus-alertmanager curl jq openssl
it_tmpdir
it_tls_ca ca
it_tls_cert pushover ca DNS:api.pushover.net

rx_pair_ports

mkcfg() { # PORT DIR
    mkdir -p "$2"
    local via="{proxy_url: 'http://127.0.0.1:$1', tls_config: {ca_file: '$IT_DIR/ca.pem'}}"
    cat > "$2/am.yml" <<YML
global:
  webex_api_url: http://127.0.0.1:$1/webex/global
route:
  receiver: chat
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - receiver: broken
      matchers: ['line="L9"']
receivers:
  - name: chat
    discord_configs:
      - webhook_url: http://127.0.0.1:$1/discord/default
      - webhook_url: http://127.0.0.1:$1/discord/custom
        title: '{{ .Status | toUpper }} {{ .CommonLabels.alertname }} ({{ len .Alerts }})'
        message: '{{ range .Alerts }}{{ .Labels.line }}: {{ .Annotations.summary }}; {{ end }}'
      - webhook_url: http://127.0.0.1:$1/discord/firingonly
        send_resolved: false
        title: Line stopped
    webex_configs:
      - room_id: Y2lzY29zcGFyazovL3VzL1JPT00vMQ
        http_config: {authorization: {credentials: bot-token-1}}
      - api_url: http://127.0.0.1:$1/webex/custom
        room_id: room-2
        message: '**{{ .Status | toUpper }}** {{ range .Alerts }}{{ .Labels.line }} {{ end }}'
        http_config: {bearer_token: bot-token-2}
    pushover_configs:
      - user_key: uQiRzpo4DXghDmr9QzzfQu27cmVRsG
        token: azGDORePK8gMaC0QOYAMyEEuzJnyUi
        http_config: $via
      - user_key: uKey2
        token: aToken2
        title: '{{ .Status | toUpper }}: {{ .CommonLabels.alertname }} & co'
        message: '<b>{{ len .Alerts }}</b> lines: {{ range .Alerts }}{{ .Labels.line }} {{ end }}'
        html: true
        url: 'https://runbooks.example/{{ .GroupLabels.alertname }}?a=1&b=2'
        url_title: Runbook é
        sound: siren
        priority: '{{ if eq .Status "firing" }}1{{ else }}-1{{ end }}'
        retry: 1m30s
        expire: 2h
        http_config: $via
      - user_key: uKey3
        token: aToken3
        send_resolved: false
        message: '   '
        http_config: $via
  - name: broken
    discord_configs:
      - webhook_url: http://127.0.0.1:$1/discord/fail400
      - webhook_url: http://127.0.0.1:$1/discord/flaky503
    webex_configs:
      - api_url: http://127.0.0.1:$1/webex/fail400
        room_id: r
        http_config: {authorization: {credentials: t}}
      - api_url: http://127.0.0.1:$1/webex/flaky503
        room_id: r
        http_config: {authorization: {credentials: t}}
    pushover_configs:
      - {user_key: u, token: fail400, http_config: $via}
      - {user_key: u, token: flaky503, http_config: $via}
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw"
mkcfg "$CAP_AM" "$IT_DIR/am"

rx_fast_retry
rx_start_pair "$IT_DIR/fw/am.yml" "$IT_DIR/am/am.yml" "play Discord, Webex, Pushover" \
    "" "$IT_DIR/pushover"

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'
broken() { printf '[{"labels":{"alertname":"Broken","line":"L9"},"startsAt":"%s"}]' "$START"; }

OK='(.path | test("fail400|flaky503") | not)'
DC='(.path | startswith("/discord/")) and '"$OK"
WX='(.path | startswith("/webex/")) and .status == 200 and '"$OK"
PO='.path == "/pushover/1/messages.json" and .status == 200 and (.body.token | test("fail400|flaky503") | not)'

rx_post_both "$(rx_alerts "$ALERTS")"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$DC"' and .body.embeds[0].color == 10038562' 3 || it_die "$f: 3 firing Discord requests"
    rx_wait_q "$IT_DIR/$f.jsonl" "$WX"' and (.body.markdown | test("FIRING|Alerts Firing"))' 2 || it_die "$f: 2 firing Webex messages"
    rx_wait_q "$IT_DIR/$f.jsonl" "$PO"' and (.body.priority == "2" or .body.priority == "1")' 3 || it_die "$f: 3 firing Pushover messages"
done
it_ok "firing: both sides sent 3 Discord requests (color 0x992D22), 2 Webex and 3 Pushover messages"
END=$(rx_now)
rx_post_both "$(rx_alerts "$ALERTS" "$END")"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$DC"' and .body.embeds[0].color == 3066993' 2 || it_die "$f: 2 resolved Discord requests"
    rx_wait_q "$IT_DIR/$f.jsonl" "$WX"' and (.body.markdown | test("RESOLVED|Alerts Resolved"))' 2 || it_die "$f: 2 resolved Webex messages"
    rx_wait_q "$IT_DIR/$f.jsonl" "$PO"' and (.body.priority == "0" or .body.priority == "-1")' 2 || it_die "$f: 2 resolved Pushover messages"
done
sleep 3 # a resolved request to /discord/firingonly (send_resolved false) would come by now
it_ok "resolved: both sides sent 2 Discord requests (color 0x2ECC71), none for send_resolved: false, 2 Webex and 2 Pushover messages"
[ "$(rx_q "$IT_DIR/fw.jsonl" "$PO"' and .headers["Content-Type"] == "text/plain" and .headers["Content-Length"] == "0" and .headers.Host == "api.pushover.net" and .body.token == "aToken2" and .body.priority == "1" and .body.html == "1" and .body.retry == "90" and .body.expire == "7200" and .body.sound == "siren" and .body.message == "<b>2</b> lines: L1 L2"')" = 1 ] &&
    [ "$(rx_q "$IT_DIR/fw.jsonl" "$PO"' and .body.token == "aToken3" and .body.message == "(no details)" and .body.priority == "2" and .body.retry == "60" and .body.expire == "3600"')" = 1 ] ||
    it_die "Pushover: text/plain empty body through the proxy's tunnel, html, retry/expire seconds, (no details): $(grep pushover "$IT_DIR/fw.jsonl" | head -3)"
it_ok "pushover: through proxy_url's CONNECT tunnel (TLS, test CA), query parameters, empty text/plain body, html, 90/7200 s, \"(no details)\""
[ "$(rx_q "$IT_DIR/fw.jsonl" '.path == "/webex/global" and .headers.Authorization == "Bearer bot-token-1" and .body.roomId == "Y2lzY29zcGFyazovL3VzL1JPT00vMQ"')" = 2 ] &&
    [ "$(rx_q "$IT_DIR/fw.jsonl" '.path == "/webex/custom" and .headers.Authorization == "Bearer bot-token-2" and .body.markdown == "**FIRING** L1 L2 "')" = 1 ] ||
    it_die "Webex: global.webex_api_url, Bearer token, roomId, custom markdown: $(grep webex "$IT_DIR/fw.jsonl" | head -2)"
it_ok "webex: global.webex_api_url used, Authorization Bearer from http_config, roomId and custom markdown"
[ "$(rx_q "$IT_DIR/fw.jsonl" '.err != null')" = 0 ] ||
    it_die "floorwatch sent a request the capture server refused: $(jq -c 'select(.err != null)' "$IT_DIR/fw.jsonl" | head -2)"
it_ok "every floorwatch request has the documented shape (capture server checks)"

# Field by field: the nth request to each path on one side against the nth on the other.
$PY - "$IT_DIR/fw.jsonl" "$IT_DIR/am.jsonl" <<'PY' || it_die "request bodies differ from Alertmanager's"
import json, sys
def load(p):
    out = {}
    for l in open(p):
        r = json.loads(l)
        out.setdefault(r["path"], []).append(r)
    return out
fw, am = load(sys.argv[1]), load(sys.argv[2])
def diff(a, b, at, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a: out.append(f"{at}.{k}: missing in floorwatch (Alertmanager: {b[k]!r})")
            elif k not in b: out.append(f"{at}.{k}: only in floorwatch ({a[k]!r})")
            else: diff(a[k], b[k], f"{at}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)): diff(x, y, f"{at}[{i}]", out)
    elif a != b or type(a) != type(b):
        out.append(f"{at}: floorwatch {a!r} != Alertmanager {b!r}")
bad, n = [], 0
for path in sorted(set(fw) | set(am)):
    if "fail400" in path or "flaky503" in path: continue
    f, m = fw.get(path, []), am.get(path, [])
    if path.startswith("/pushover/"):  # one path: the token tells the configs apart
        f = [r for r in f if r["body"].get("token") not in ("fail400", "flaky503")]
        m = [r for r in m if r["body"].get("token") not in ("fail400", "flaky503")]
        key = lambda r: (r["body"].get("token", ""), r["t"])
        f, m = sorted(f, key=key), sorted(m, key=key)
    if len(f) != len(m): bad.append(f"{path}: {len(f)} requests, Alertmanager {len(m)}"); continue
    for i, (x, y) in enumerate(zip(f, m)):
        n += 1
        diff(x["body"], y["body"], f"{path}#{i}", bad)
        if x.get("query") != y.get("query"):
            bad.append(f"{path}#{i} query: floorwatch {x.get('query')!r} != Alertmanager {y.get('query')!r}")
        for h in ("Content-Type", "Authorization", "Content-Length"):
            if x["headers"].get(h) != y["headers"].get(h) and not (h == "Content-Length" and x["headers"].get(h) and y["headers"].get(h)):
                bad.append(f"{path}#{i} header {h}: {x['headers'].get(h)} != {y['headers'].get(h)}")
for b in bad: print("  diff:", b)
print(f"  {n} request bodies compared, {len(bad)} differences")
sys.exit(1 if bad or n == 0 else 0)
PY
it_ok "every Discord, Webex and Pushover request equals Alertmanager 0.25's: JSON bodies field by field, Pushover query strings byte for byte, Content-Type and Authorization"

rx_post $AM "$(broken)"
M=
for k in discord webex pushover; do
    rx_wait_metric "fw_notifyd_notifications_failed_total{receiver=\"broken\",integration=\"$k\",reason=\"http_4xx\"} 1" \
        || it_die "$k 400: failed_total: $(rx_metrics | grep notifications)"
    rx_wait_metric "fw_notifyd_notifications_total{receiver=\"broken\",integration=\"$k\"} 1" \
        || it_die "$k 503 then 2xx: $(rx_metrics | grep notif)"
    for t in fail400:1 flaky503:2; do # the 400 sent once, the 503 twice
        sel=".path == \"/$k/${t%:*}\""
        [ $k = pushover ] && sel=".path == \"/pushover/1/messages.json\" and .body.token == \"${t%:*}\""
        [ "$(rx_q "$IT_DIR/fw.jsonl" "$sel")" = "${t#*:}" ] || it_die "$k: ${t%:*} sent $(rx_q "$IT_DIR/fw.jsonl" "$sel") times, want ${t#*:}"
    done
done
M=$(rx_metrics)
for want in 'fw_notifyd_notifications_total{receiver="chat",integration="discord"} 5' \
    'fw_notifyd_notifications_total{receiver="chat",integration="webex"} 4' \
    'alertmanager_notifications_total{integration="discord"} 7' \
    'alertmanager_notifications_failed_total{integration="discord",reason="clientError"} 1' \
    'alertmanager_notifications_total{integration="webex"} 6' \
    'alertmanager_notifications_failed_total{integration="webex",reason="clientError"} 1' \
    'fw_notifyd_notifications_total{receiver="chat",integration="pushover"} 5' \
    'alertmanager_notifications_total{integration="pushover"} 7' \
    'alertmanager_notifications_failed_total{integration="pushover",reason="clientError"} 1'; do
    grep -qxF "$want" <<<"$M" || it_die "want $want: $(grep -E 'discord|webex' <<<"$M")"
done
it_ok "discord, webex, pushover: a 400 counted failed once (not retried), a 503 retried then delivered; fw_notifyd_* and alertmanager_notifications_* by integration"
echo "receivers_chat.sh: all checks passed"
