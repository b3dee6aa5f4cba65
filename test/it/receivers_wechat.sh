#!/usr/bin/env bash
# receivers_wechat.sh — alertd + notifyd deliver wechat_configs notifications, side by side
# with the real Debian Alertmanager (0.25) sending the same alerts with the same config.
#
# WeChat Work cannot run here: test/it/receivers_capture.py plays its API (GET gettoken,
# POST message/send with the access token, errcode/errmsg answers as its documentation gives
# them) and records every request. Two capture servers, one per side; both sides get the same
# config but the port, and the same alerts (two firing alerts of one group, then both
# resolved): every message floorwatch sends must equal Alertmanager's field by field, its
# token request carry the same corpid and corpsecret, and each side fetch one token per
# (api_url, corp_id, secret) for both notifications (the token is cached). Then, on
# floorwatch's side only (Alertmanager 0.25 reads "code", not WeChat's "errcode", so it counts
# every refused message as sent): a token that expired (42001) is fetched again and the
# message delivered; errcode 81013 fails the notification without a retry; a wrong secret
# fails at the token, no message sent; a 503 is retried; a secret from api_secret_file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir

rx_pair_ports
echo wx-secret > "$IT_DIR/secret"

mkcfg() { # PORT FILE SIDE
    local fwonly=""
    [ "$3" = fw ] && fwonly="
  - name: expire
    wechat_configs:
      - api_url: http://127.0.0.1:$1/wechat/expire/
        api_secret_file: $IT_DIR/secret
  - name: refused
    wechat_configs:
      - api_url: http://127.0.0.1:$1/wechat/fail81013/
  - name: badsecret
    wechat_configs:
      - api_url: http://127.0.0.1:$1/wechat/badsecret/
        api_secret: wrong
  - name: flaky
    wechat_configs:
      - api_url: http://127.0.0.1:$1/wechat/flaky503/"
    local fwroutes=""
    [ "$3" = fw ] && fwroutes="
    - {receiver: wx, continue: true}
    - {receiver: expire, continue: true}
    - {receiver: refused, continue: true}
    - {receiver: badsecret, continue: true}
    - {receiver: flaky}"
    cat > "$2" <<YML
global:
  wechat_api_secret: wx-secret
  wechat_api_corp_id: wx-corp
route:
  receiver: wx
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:$fwroutes
    - {receiver: wx}
receivers:
  - name: wx
    wechat_configs:
      - api_url: http://127.0.0.1:$1/wechat/text/
        send_resolved: true
        to_user: '@all'
        agent_id: '1000002'
      - api_url: http://127.0.0.1:$1/wechat/md/
        send_resolved: true
        message_type: markdown
        message: '**{{ .Status | toUpper }}** {{ .CommonLabels.alertname }} on {{ .CommonLabels.plant }} ({{ len .Alerts }})'
        to_party: '2'
        to_tag: 'ops'$fwonly
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw.yml" fw
mkcfg "$CAP_AM" "$IT_DIR/am.yml" am

rx_fast_retry
rx_start_pair "$IT_DIR/fw.yml" "$IT_DIR/am.yml" "play WeChat Work"

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'
SEND='(.path | test("^/wechat/(text|md)/message/send\\?access_token=TOKEN-[0-9]+$")) and .method == "POST" and .answer.errcode == 0'

rx_post_both "$(rx_alerts "$ALERTS")"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$SEND"' and (.body | tostring | contains("FIRING"))' 2 || it_die "$f: 2 firing messages"
done
it_ok "firing: both sides fetched a token and sent the text and markdown messages (errcode 0)"
END=$(rx_now)
rx_post_both "$(rx_alerts "$ALERTS" "$END")"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$SEND"' and (.body | tostring | contains("RESOLVED"))' 2 || it_die "$f: 2 resolved messages"
done
it_ok "resolved: both sides sent the resolved text and markdown messages"

$PY - "$IT_DIR/fw.jsonl" "$IT_DIR/am.jsonl" <<'PY' || it_die "WeChat requests differ from Alertmanager's"
import json, sys
from urllib.parse import urlsplit, parse_qs
def load(p):
    out = {}
    for l in open(p):
        r = json.loads(l)
        u = urlsplit(r["path"])
        if not u.path.startswith(("/wechat/text/", "/wechat/md/")): continue
        r["query"] = parse_qs(u.query)
        out.setdefault((r["method"], u.path), []).append(r)
    return out
fw, am = load(sys.argv[1]), load(sys.argv[2])
bad, n = [], 0
for key in sorted(set(fw) | set(am)):
    f, m = fw.get(key, []), am.get(key, [])
    if len(f) != len(m): bad.append(f"{key}: {len(f)} requests, Alertmanager {len(m)}"); continue
    for i, (x, y) in enumerate(zip(f, m)):
        n += 1
        if x["body"] != y["body"]: bad.append(f"{key}#{i} body: {x['body']!r} != {y['body']!r}")
        if key[1].endswith("/gettoken") and x["query"] != y["query"]:
            bad.append(f"{key}#{i} query: {x['query']} != {y['query']}")
        if key[0] == "POST" and x["headers"].get("Content-Type") != y["headers"].get("Content-Type"):
            bad.append(f"{key}#{i} Content-Type {x['headers'].get('Content-Type')}")
for b in bad: print("  diff:", b)
gets = {k[1]: len(v) for k, v in fw.items() if k[0] == "GET"}
print(f"  {n} WeChat requests compared, {len(bad)} differences; floorwatch's token requests {gets}")
sys.exit(1 if bad or n != 6 or gets != {"/wechat/text/gettoken": 1, "/wechat/md/gettoken": 1} else 0)
PY
it_ok "every WeChat request (2 token GETs: corpid, corpsecret; 4 messages: text and markdown bodies) equals Alertmanager's; one token per config for both notifications"

F=$IT_DIR/fw.jsonl
rx_wait_q "$F" '.path | startswith("/wechat/expire/message/send")' 2 || it_die "expire: no second message"
[ "$(rx_q "$F" '.path == "/wechat/expire/gettoken?corpid=wx-corp&corpsecret=wx-secret"')" = 2 ] &&
    [ "$(rx_q "$F" '(.path | startswith("/wechat/expire/message/send")) and .answer.errcode == 42001')" = 1 ] ||
    it_die "expire: want a second token after 42001: $(jq -c 'select(.path | startswith("/wechat/expire")) | [.method, .path, .answer.errcode]' "$F")"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="expire",integration="wechat"} 1' ||
    it_die "expire: not delivered: $(rx_metrics | grep wechat)"
it_ok "42001 (token expired): the token is fetched again (secret from api_secret_file) and the message delivered"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="refused",integration="wechat",reason="errcode"} 1' ||
    it_die "81013: not counted failed: $(rx_metrics | grep wechat)"
grep -q 'errcode 81013: user & party & tag all invalid' "$IT_DIR/notifyd.log" || it_die "81013: errmsg not logged"
it_ok "errcode 81013: counted failed (reason errcode, errmsg logged), never delivered"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="badsecret",integration="wechat",reason="token"} 1' ||
    it_die "bad secret: not counted failed: $(rx_metrics | grep wechat)"
[ "$(rx_q "$F" '.path | startswith("/wechat/badsecret/message/send")')" = 0 ] || it_die "bad secret: a message was sent"
it_ok "a wrong secret (40001, no access_token): failed at the token (reason token), no message sent"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="flaky",integration="wechat"} 1' ||
    it_die "flaky: not delivered after the 503: $(rx_metrics | grep wechat)"
[ "$(rx_q "$F" '(.path | startswith("/wechat/flaky503/message/send")) and .status == 503')" = 1 ] || it_die "flaky: no 503"
it_ok "a 503 from message/send is retried and then delivered"

# Nothing secret in the logs: the secrets and tokens ride in URLs.
grep -E 'wx-secret|TOKEN-[0-9]|corpsecret=' "$IT_DIR/notifyd.log" "$IT_DIR/alertd.log" && it_die "a secret or token in the logs"
it_has 'wechat_api_secret: <secret>' rx_status "$AM" ||
    it_die "/api/v2/status shows the WeChat secret"
it_ok "no secret nor token in notifyd's or alertd's logs; /api/v2/status shows <secret>"
M=$(rx_metrics)
for want in 'fw_notifyd_notifications_total{receiver="wx",integration="wechat"} 4' \
    'alertmanager_notifications_total{integration="wechat"} 8' \
    'fw_notifyd_notifications_failed_total{receiver="refused",integration="wechat",reason="errcode"} 1'; do
    grep -qF "$want" <<<"$M" || it_die "want $want: $(grep wechat <<<"$M")"
done
[ "$(rx_q "$F" '.path | startswith("/wechat/fail81013/message/send")')" = 1 ] || it_die "81013 retried"
it_ok "metrics: wx 4 delivered, alertmanager_notifications_total{integration=\"wechat\"} 8 (wx 4, the others 1 each: send_resolved false), 81013 sent once"
echo "receivers_wechat.sh: all checks passed"
