#!/usr/bin/env bash
# receivers_sns.sh — alertd + notifyd deliver sns_configs notifications (Amazon SNS Publish,
# signed with AWS Signature Version 4), side by side with the real Debian Alertmanager (0.25)
# sending the same alerts with the same config.
#
# Amazon SNS cannot run here: test/it/receivers_capture.py plays its Query API (Publish): it
# recomputes each request's SigV4 signature with python3's hmac/hashlib from the request as
# received and the test key's secret, answers 403 SignatureDoesNotMatch when it differs, 400
# InvalidParameter for a form SNS would refuse, else a PublishResponse. Alertmanager 0.25
# talks to it as to SNS: its AWS SDK takes the api_url as the endpoint and the sigv4 static
# keys (no AWS account involved). Both sides get the same config but the port and the same
# alerts (two firing, then both resolved): every Publish form floorwatch sends must equal
# Alertmanager's field by field, and both sides' signatures verify. Then, on floorwatch's
# side only: a wrong secret (403) and an unknown topic (404) fail without a retry, a 500 is
# retried and then delivered.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir

CAP_FW=$(it_free_port); CAP_AM=$(it_free_port)
AMREF=$(it_free_port)
EXT=http://alerts.example:9093
KEYS='{region: us-east-2, access_key: AKIDFLOORWATCH, secret_key: floorwatch/Test+Secret/Key0123456789abcdefghij}'

mkcfg() { # PORT FILE SIDE
    local fwonly="" fwroutes=""
    [ "$3" = fw ] && fwroutes="
    - {receiver: sns, continue: true}
    - {receiver: badkey, continue: true}
    - {receiver: notfound, continue: true}
    - {receiver: flaky}" && fwonly="
  - name: badkey
    sns_configs:
      - api_url: http://127.0.0.1:$1/sns/badkey
        topic_arn: arn:aws:sns:us-east-2:123456789012:plant-alerts
        sigv4: {region: us-east-2, access_key: AKIDFLOORWATCH, secret_key: wrong}
  - name: notfound
    sns_configs:
      - api_url: http://127.0.0.1:$1/sns/notfound
        topic_arn: arn:aws:sns:us-east-2:123456789012:nobody
        sigv4: $KEYS
  - name: flaky
    sns_configs:
      - api_url: http://127.0.0.1:$1/sns/flaky500
        topic_arn: arn:aws:sns:us-east-2:123456789012:plant-alerts
        sigv4: $KEYS"
    cat > "$2" <<YML
route:
  receiver: sns
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:$fwroutes
    - {receiver: sns}
receivers:
  - name: sns
    sns_configs:
      - api_url: http://127.0.0.1:$1/sns/topic
        topic_arn: arn:aws:sns:us-east-2:123456789012:plant-alerts
        sigv4: $KEYS
        attributes:
          severity: Sev2
          plant: '{{ .CommonLabels.plant }}'
      - api_url: http://127.0.0.1:$1/sns/sms
        phone_number: '+15555550100'
        subject: '{{ .Status | toUpper }} {{ .CommonLabels.alertname }}'
        message: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.plant }}: {{ len .Alerts.Firing }} firing'
        sigv4: $KEYS$fwonly
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw.yml" fw
mkcfg "$CAP_AM" "$IT_DIR/am.yml" am

it_start cap_fw $PY "$HERE/test/it/receivers_capture.py" "$CAP_FW" "$IT_DIR/fw.jsonl"
it_start cap_am $PY "$HERE/test/it/receivers_capture.py" "$CAP_AM" "$IT_DIR/am.jsonl"
NOTIFYD_ARGS=(--config.file="$IT_DIR/notifyd.yml")
printf 'retry:\n  initial_backoff: 100ms\n  max_backoff: 200ms\n' > "$IT_DIR/notifyd.yml"
it_start_notifyd_alertd "$IT_DIR/fw.yml" --web.external-url=$EXT
# No AWS environment nor shared files reach Alertmanager's SDK: only the config's keys.
it_start amref env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE -u AWS_REGION \
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true \
    prometheus-alertmanager --config.file="$IT_DIR/am.yml" \
    --storage.path="$IT_DIR/amref" --web.listen-address=127.0.0.1:$AMREF \
    --cluster.listen-address= --web.external-url=$EXT
for u in "http://127.0.0.1:$CAP_FW/" "http://127.0.0.1:$CAP_AM/" "http://127.0.0.1:$AMREF/-/ready"; do
    it_wait_http "$u" || it_die "$u did not come up"
done
it_ok "capture servers (play Amazon SNS), notifyd, alertd and Alertmanager $(prometheus-alertmanager --version 2>&1 | head -1 | awk '{print $3}') up"

START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)
alerts() { # ENDS_AT (empty: firing)
    local ends=${1:+,\"endsAt\":\"$1\"}
    printf '[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"startsAt":"%s","generatorURL":"http://prom.example/g1"%s},' "$START" "$ends"
    printf '{"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"startsAt":"%s","generatorURL":"http://prom.example/g2"%s}]' "$START" "$ends"
}
post() { curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$1/api/v2/alerts"; }
q() { # FILE JQ-FILTER: how many captured requests the filter selects
    [ -s "$1" ] || { echo 0; return; }
    jq -s "[.[] | select($2)] | length" "$1"
}
wait_q() { # FILE FILTER N: up to 20 s
    for _ in $(seq 200); do [ "$(q "$1" "$2")" -ge "$3" ] 2>/dev/null && return 0; sleep 0.1; done
    [ -s "$1" ] && jq -c '[.path, .status, .err, (.raw | .[0:200])]' "$1"
    return 1
}
metrics() { curl -fsS --max-time 2 "http://127.0.0.1:$NOTIFYD/metrics"; }
OK='(.path | test("^/sns/(topic|sms)")) and .status == 200 and .err == null'

post $AM "$(alerts)"; post $AMREF "$(alerts)"
for f in fw am; do
    wait_q "$IT_DIR/$f.jsonl" "$OK"' and (.body.Message | contains("Firing") or contains("2 firing"))' 2 ||
        it_die "$f: 2 firing Publish requests with a valid signature"
done
it_ok "firing: both sides published to the topic and the phone number, signatures verified (SigV4 recomputed by the server)"
END=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
post $AM "$(alerts "$END")"; post $AMREF "$(alerts "$END")"
for f in fw am; do
    wait_q "$IT_DIR/$f.jsonl" "$OK"' and (.body.Message | contains("Resolved") or contains("0 firing"))' 2 ||
        it_die "$f: 2 resolved Publish requests"
done
it_ok "resolved: both sides published the resolved notifications"

$PY - "$IT_DIR/fw.jsonl" "$IT_DIR/am.jsonl" <<'PY' || it_die "Publish requests differ from Alertmanager's"
import json, sys
def load(p):
    out = {}
    for l in open(p):
        r = json.loads(l)
        if r["path"].startswith(("/sns/topic", "/sns/sms")):
            out.setdefault(r["path"], []).append(r)
    return out
fw, am = load(sys.argv[1]), load(sys.argv[2])
bad, n = [], 0
for path in sorted(set(fw) | set(am)):
    f, m = fw.get(path, []), am.get(path, [])
    if len(f) != len(m): bad.append(f"{path}: {len(f)} requests, Alertmanager {len(m)}"); continue
    for i, (x, y) in enumerate(zip(f, m)):
        n += 1
        for k in sorted(set(x["body"]) | set(y["body"])):
            if x["body"].get(k) != y["body"].get(k):
                bad.append(f"{path}#{i} {k}: {x['body'].get(k)!r} != Alertmanager {y['body'].get(k)!r}")
        if x["status"] != 200 or y["status"] != 200: bad.append(f"{path}#{i}: status {x['status']}/{y['status']}")
        ct = (x["headers"].get("Content-Type"), y["headers"].get("Content-Type"))
        if ct[0] != ct[1]: bad.append(f"{path}#{i} Content-Type {ct}")
for b in bad: print("  diff:", b)
print(f"  {n} Publish requests compared (form fields), {len(bad)} differences")
sys.exit(1 if bad or n != 4 else 0)
PY
it_ok "every Publish form (Action, Version, TopicArn / PhoneNumber, Subject, Message, MessageAttributes) equals Alertmanager's, firing and resolved"

F=$IT_DIR/fw.jsonl
it_until 150 0.1 sh -c "curl -fsS --max-time 2 http://127.0.0.1:$NOTIFYD/metrics | grep -q 'fw_notifyd_notifications_failed_total{receiver=\"badkey\",integration=\"sns\",reason=\"http_4xx\"} 2'" ||
    it_die "wrong secret: not counted failed: $(metrics | grep 'integration=\"sns\"')"
[ "$(q "$F" '(.path | startswith("/sns/badkey")) and .status == 403 and .err == "SignatureDoesNotMatch"')" = 2 ] ||
    it_die "wrong secret: want 2 requests answered 403 SignatureDoesNotMatch (no retry)"
it_ok "a wrong secret key: 403 SignatureDoesNotMatch, counted failed (http_4xx), never retried"
it_until 150 0.1 sh -c "curl -fsS --max-time 2 http://127.0.0.1:$NOTIFYD/metrics | grep -q 'fw_notifyd_notifications_failed_total{receiver=\"notfound\",integration=\"sns\",reason=\"http_4xx\"} 2'" ||
    it_die "404: not counted failed"
it_ok "an unknown topic: 404 NotFound, counted failed"
it_until 150 0.1 sh -c "curl -fsS --max-time 2 http://127.0.0.1:$NOTIFYD/metrics | grep -q 'fw_notifyd_notifications_total{receiver=\"flaky\",integration=\"sns\"} 2'" ||
    it_die "500: not delivered after the retry: $(metrics | grep 'integration=\"sns\"')"
[ "$(q "$F" '(.path | startswith("/sns/flaky500")) and .status == 500')" = 1 ] || it_die "flaky: no 500"
it_ok "a 500 InternalError is retried and then delivered"
grep -q 'floorwatch/Test+Secret' "$IT_DIR/notifyd.log" "$IT_DIR/alertd.log" && it_die "the secret key in the logs"
curl -fsS "http://127.0.0.1:$AM/api/v2/status" | jq -r .config.original | grep -q 'secret_key: <secret>' ||
    it_die "/api/v2/status shows the secret key"
it_ok "no secret key in the logs; /api/v2/status shows <secret>"
M=$(metrics)
for want in 'fw_notifyd_notifications_total{receiver="sns",integration="sns"} 4' \
    'alertmanager_notifications_total{integration="sns"} 10'; do
    grep -qF "$want" <<<"$M" || it_die "want $want: $(grep 'integration="sns"' <<<"$M")"
done
grep -q 'fw_notifyd_notifications_total{receiver="badkey"' <<<"$M" && it_die "403 counted delivered"
it_ok "metrics: sns 4 delivered, alertmanager_notifications_total{integration=\"sns\"} 10, the refused ones never delivered"
echo "receivers_sns.sh: all checks passed"
