#!/usr/bin/env bash
# receivers_victorops.sh — alertd + notifyd deliver victorops_configs, compared with the real
# Debian Alertmanager (0.25) sending the same alerts with the same config.
#
# VictorOps (Splunk On-Call) cannot run here: test/it/receivers_capture.py plays its REST
# endpoint (POST .../{api_key}/{routing_key}, a JSON object of strings; it checks each
# request against the documented shape and answers 200 {"result":"success"}), one capture
# server per side. Both sides get the same config (but the port) and the same alerts (two
# firing alerts of one group, then both resolved); every request's path (key and templated
# routing key, escaped) and body must equal Alertmanager's field by field. Then a VictorOps
# answering 400 is counted failed and not retried, one answering 503 once is retried and
# delivered; a rewritten api_key_file is used by the next notification without a reload (as
# Alertmanager reads it at each notification); the key shows as <secret> in /api/v2/status
# and never in notifyd's log; metrics carry integration="victorops".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir
rx_pair_ports

mkcfg() { # PORT DIR
    mkdir -p "$2"
    echo "file-key-1" > "$2/vo_key"
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
    victorops_configs:
      - api_key: SECRET-vo-inline
        api_url: http://127.0.0.1:$1/vo/default/
        routing_key: ops
      - api_key_file: $2/vo_key
        api_url: http://127.0.0.1:$1/vo/custom/
        routing_key: 'team {{ .GroupLabels.alertname }}/<{{ len .Alerts }}>'
        message_type: '{{ if eq .CommonLabels.plant "P" }}WARNING{{ else }}INFO{{ end }}'
        entity_display_name: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.plant }}'
        monitoring_tool: floor
        custom_fields:
          runbook: 'https://runbooks.example/{{ .GroupLabels.alertname }}'
          shift: night
  - name: broken
    victorops_configs:
      - api_key: k400
        api_url: http://127.0.0.1:$1/vo/fail400/
        routing_key: ops
      - api_key: k503
        api_url: http://127.0.0.1:$1/vo/flaky503/
        routing_key: ops
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw"
mkcfg "$CAP_AM" "$IT_DIR/am"

rx_start_pair "$IT_DIR/fw/am.yml" "$IT_DIR/am/am.yml" ""

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 <stopped> & cold"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'
rx_post_both "$(rx_alerts "$ALERTS")"
for f in fw am; do
    rx_wait_count "$IT_DIR/$f.jsonl" /vo/default/ message_type CRITICAL 1 || it_die "$f: default VictorOps trigger"
    rx_wait_count "$IT_DIR/$f.jsonl" /vo/custom/ message_type WARNING 1 || it_die "$f: custom VictorOps trigger"
done
it_ok "firing: both sides sent the 2 VictorOps triggers"

END=$(rx_now)
rx_post_both "$(rx_alerts "$ALERTS" "$END")"
for f in fw am; do
    rx_wait_count "$IT_DIR/$f.jsonl" /vo/ message_type RECOVERY 2 || it_die "$f: 2 VictorOps recoveries"
done
it_ok "resolved: both sides sent 2 VictorOps RECOVERY messages"
rx_check_shapes

# Field by field: the nth request to each path on one side against the nth on the other (the
# path holds the API key and the rendered, escaped routing key, so it is compared too).
rx_compare VictorOps --only /vo/ --skip fail400 --skip flaky503 --want 4 ||
    it_die "VictorOps requests differ from Alertmanager's"
it_ok "every VictorOps request (path with key and routing key, body) equals Alertmanager's"

# A 400 is a failed delivery, never counted as delivered, not retried; a 503 is retried.
L9='[{"labels":{"alertname":"Broken","line":"L9"},"startsAt":"'$START'"}]'
rx_post $AM "$L9"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="broken",integration="victorops",reason="http_4xx"} 1' \
    || it_die "VictorOps 400: failed_total: $(rx_metrics | grep notifications)"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="broken",integration="victorops"} 1' \
    || it_die "VictorOps 503 then 200: $(rx_metrics | grep notif)"
[ "$(rx_count "$IT_DIR/fw.jsonl" /vo/fail400/ message_type CRITICAL)" = 1 ] || it_die "want 1 attempt at /vo/fail400"
[ "$(rx_count "$IT_DIR/fw.jsonl" /vo/flaky503/ message_type CRITICAL)" = 2 ] || it_die "want 2 attempts at /vo/flaky503"
it_ok "VictorOps answering 400: counted failed (http_4xx), 1 attempt; answering 503 once: retried, delivered (2 attempts)"
# (grep -q on a variable: on a pipe it could end curl with SIGPIPE, failing under pipefail)
M=$(rx_metrics)
grep -q 'fw_notifyd_notifications_total{receiver="team",integration="victorops"} 4' <<< "$M" \
    || it_die "team victorops delivered: $(rx_metrics | grep notifications_total)"
grep -q 'alertmanager_notifications_total{integration="victorops"} ' <<< "$M" \
    || it_die "no alertmanager_notifications_total for victorops: $(rx_metrics | grep alertmanager_notifications_total)"
grep -q 'alertmanager_notifications_failed_total{integration="victorops",reason="clientError"} 1' <<< "$M" \
    || it_die "alertmanager_notifications_failed_total victorops: $(rx_metrics | grep alertmanager_notifications_failed)"
it_ok "metrics: 4 team deliveries, alertmanager_notifications_* with integration=\"victorops\""

# The key file is read at each notification: rewritten, the next group uses the new key.
echo "file-key-2" > "$IT_DIR/fw/vo_key"
rx_post $AM '[{"labels":{"alertname":"Rotated","line":"L1","plant":"P"},"startsAt":"'$START'"}]'
rx_wait_count "$IT_DIR/fw.jsonl" /vo/custom/file-key-2/ entity_display_name Rotated 1 || it_die "no VictorOps request with the rewritten api_key_file"
[ "$(rx_count "$IT_DIR/fw.jsonl" /vo/custom/file-key-1/ entity_display_name Rotated)" = 0 ] || it_die "the old key was used"
it_ok "a rewritten api_key_file is used by the next notification (no reload needed)"

# Secrets: <secret> in /api/v2/status (as Alertmanager shows it), never in notifyd's log.
rx_status "$AM" > "$IT_DIR/fw.status.yml"
rx_status "$AMREF" > "$IT_DIR/am.status.yml"
grep -q SECRET-vo-inline "$IT_DIR/fw.status.yml" && it_die "the API key shows in /api/v2/status"
for f in fw am; do
    grep -q 'api_key: <secret>' "$IT_DIR/$f.status.yml" || it_die "$f: api_key not <secret>: $(grep -A3 victorops "$IT_DIR/$f.status.yml")"
done
grep -q 'SECRET-vo-inline\|file-key-\|k400' "$IT_DIR/notifyd.log" && it_die "notifyd logged a VictorOps key: $(grep 'SECRET-vo-inline\|file-key-\|k400' "$IT_DIR/notifyd.log" | head -1)"
grep -q 'integration=victorops' "$IT_DIR/notifyd.log" || it_die "no victorops line in notifyd's log to check"
it_ok "the API key is <secret> in /api/v2/status (both sides) and absent from notifyd's log"
echo "receivers_victorops.sh: all checks passed"
