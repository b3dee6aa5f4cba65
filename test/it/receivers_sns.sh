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
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir

rx_pair_ports
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

rx_fast_retry
# No AWS environment nor shared files reach Alertmanager's SDK: only the config's keys.
AMREF_ENV=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_PROFILE -u AWS_REGION
    AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent AWS_EC2_METADATA_DISABLED=true)
rx_start_pair "$IT_DIR/fw.yml" "$IT_DIR/am.yml" "play Amazon SNS"

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'
RX_TRIES=200 # the waits for captured requests: up to 20 s
OK='(.path | test("^/sns/(topic|sms)")) and .status == 200 and .err == null'

rx_post_both "$(rx_alerts "$ALERTS")"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$OK"' and (.body.Message | contains("Firing") or contains("2 firing"))' 2 ||
        it_die "$f: 2 firing Publish requests with a valid signature"
done
it_ok "firing: both sides published to the topic and the phone number, signatures verified (SigV4 recomputed by the server)"
END=$(rx_now)
rx_post_both "$(rx_alerts "$ALERTS" "$END")"
for f in fw am; do
    rx_wait_q "$IT_DIR/$f.jsonl" "$OK"' and (.body.Message | contains("Resolved") or contains("0 firing"))' 2 ||
        it_die "$f: 2 resolved Publish requests"
done
it_ok "resolved: both sides published the resolved notifications"

rx_compare Publish --only /sns/topic --only /sns/sms --status 200 --want 4 ||
    it_die "Publish requests differ from Alertmanager's"
it_ok "every Publish form (Action, Version, TopicArn / PhoneNumber, Subject, Message, MessageAttributes) equals Alertmanager's, firing and resolved"

F=$IT_DIR/fw.jsonl
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="badkey",integration="sns",reason="http_4xx"} 2' 150 ||
    it_die "wrong secret: not counted failed: $(rx_metrics | grep 'integration=\"sns\"')"
[ "$(rx_q "$F" '(.path | startswith("/sns/badkey")) and .status == 403 and .err == "SignatureDoesNotMatch"')" = 2 ] ||
    it_die "wrong secret: want 2 requests answered 403 SignatureDoesNotMatch (no retry)"
it_ok "a wrong secret key: 403 SignatureDoesNotMatch, counted failed (http_4xx), never retried"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="notfound",integration="sns",reason="http_4xx"} 2' 150 ||
    it_die "404: not counted failed"
it_ok "an unknown topic: 404 NotFound, counted failed"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="flaky",integration="sns"} 2' 150 ||
    it_die "500: not delivered after the retry: $(rx_metrics | grep 'integration=\"sns\"')"
[ "$(rx_q "$F" '(.path | startswith("/sns/flaky500")) and .status == 500')" = 1 ] || it_die "flaky: no 500"
it_ok "a 500 InternalError is retried and then delivered"
grep -q 'floorwatch/Test+Secret' "$IT_DIR/notifyd.log" "$IT_DIR/alertd.log" && it_die "the secret key in the logs"
it_has 'secret_key: <secret>' rx_status "$AM" ||
    it_die "/api/v2/status shows the secret key"
it_ok "no secret key in the logs; /api/v2/status shows <secret>"
M=$(rx_metrics)
for want in 'fw_notifyd_notifications_total{receiver="sns",integration="sns"} 4' \
    'alertmanager_notifications_total{integration="sns"} 10'; do
    grep -qF "$want" <<<"$M" || it_die "want $want: $(grep 'integration="sns"' <<<"$M")"
done
grep -q 'fw_notifyd_notifications_total{receiver="badkey"' <<<"$M" && it_die "403 counted delivered"
it_ok "metrics: sns 4 delivered, alertmanager_notifications_total{integration=\"sns\"} 10, the refused ones never delivered"
echo "receivers_sns.sh: all checks passed"
