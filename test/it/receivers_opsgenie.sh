#!/usr/bin/env bash
# receivers_opsgenie.sh — alertd + notifyd deliver opsgenie_configs notifications, compared
# with the real Debian Alertmanager (0.25) sending the same alerts with the same config.
#
# Opsgenie cannot run here: test/it/receivers_capture.py plays its Alert API v2 (/og/...:
# create, close, update message/description, Authorization: GenieKey; answers 202 as the API
# does) and records every request. Two capture servers, one per side; both sides get the
# same config but the port: a default config on global.opsgenie_api_url (no trailing "/")
# and global.opsgenie_api_key, and one setting every field (templated responders, tags,
# details, priority, note, entity, actions, a 150-rune message, update_alerts) with its key
# in api_key_file. Two firing alerts of one group, then both resolved: every request
# (method, path, body, Authorization) floorwatch sends must equal Alertmanager's, field by
# field. Then an Opsgenie answering 422 is counted failed (not retried, never delivered),
# one answering 503 once is retried from the create request and delivered, and the key file
# rewritten is used at the next notification without a reload (as Alertmanager reads it).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir

rx_pair_ports

mkcfg() { # PORT DIR
    mkdir -p "$2"
    # No newline: Alertmanager 0.25 sends the file as read (it trims only since 0.28.1).
    printf 'og-file-key-1' > "$2/og_key"
    cat > "$2/am.yml" <<YML
global:
  opsgenie_api_url: http://127.0.0.1:$1/og/global
  opsgenie_api_key: og-global-key
route:
  receiver: og
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - receiver: ogbroken
      matchers: ['line="L9"']
receivers:
  - name: og
    opsgenie_configs:
      - {}
      - api_key_file: $2/og_key
        api_url: http://127.0.0.1:$1/og/custom/
        message: '{{ .CommonLabels.alertname }} on {{ .CommonLabels.plant }}: éééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé'
        description: '{{ range .Alerts }}{{ .Labels.line }} {{ .Annotations.summary }}; {{ end }}'
        source: floor
        entity: '{{ .CommonLabels.plant }}'
        note: 'see <runbook> & co'
        priority: '{{ if gt (len .Alerts.Firing) 1 }}P1{{ else }}P3{{ end }}'
        tags: ' plant,{{ .CommonLabels.plant }},,line '
        actions: 'restart,ack'
        details: {shift: night, plant: 'plant {{ .CommonLabels.plant }}'}
        update_alerts: true
        responders:
          - {name: ops, type: team}
          - {name: 'a,{{ .CommonLabels.plant }}', type: teams}
          - {username: 'ann@example.com', type: user}
          - {id: '{{ .CommonLabels.nope }}', type: '{{ .CommonLabels.nope }}'}
          - {name: esc, type: escalation}
  - name: ogbroken
    opsgenie_configs:
      - {api_key: k, api_url: 'http://127.0.0.1:$1/og/fail422/'}
      - {api_key: k, api_url: 'http://127.0.0.1:$1/og/flaky503/', update_alerts: true}
      - {api_key: k, api_url: 'http://127.0.0.1:$1/og/flakyput/', update_alerts: true}
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw"
mkcfg "$CAP_AM" "$IT_DIR/am"

rx_start_pair "$IT_DIR/fw/am.yml" "$IT_DIR/am/am.yml" ""

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'
OG='.method == $m and (.path | test($p))' # the requests of method $m whose path matches $p
count() { rx_q "$1" "$OG" --arg m "$2" --arg p "$3"; }         # FILE METHOD PATH-REGEX
wait_n() { rx_wait_q "$1" "$OG" "$4" --arg m "$2" --arg p "$3"; } # FILE METHOD PATH-REGEX N
rx_post_both "$(rx_alerts "$ALERTS")"
for f in fw am; do
    wait_n "$IT_DIR/$f.jsonl" POST '^/og/(global|custom)/v2/alerts$' 2 || it_die "$f: 2 creates"
    wait_n "$IT_DIR/$f.jsonl" PUT '^/og/custom/v2/alerts/[0-9a-f]{64}/description\?identifierType=alias$' 1 || it_die "$f: update_alerts' PUTs"
done
it_ok "firing: both sides sent 2 creates (one to global.opsgenie_api_url + \"/\") and update_alerts' message and description PUTs"

END=$(rx_now)
rx_post_both "$(rx_alerts "$ALERTS" "$END")"
for f in fw am; do
    wait_n "$IT_DIR/$f.jsonl" POST '^/og/(global|custom)/v2/alerts/[0-9a-f]{64}/close\?identifierType=alias$' 2 || it_die "$f: 2 closes"
done
it_ok "resolved: both sides closed both alerts by alias"
rx_check_shapes "played Alert API"

# Field by field: the nth request of each method and path on one side against the nth on the other.
rx_compare Opsgenie --only /og/global/ --only /og/custom/ --by-method --header Content-Type \
    --header Authorization --want 6 || it_die "Opsgenie requests differ from Alertmanager's"
it_ok "every Opsgenie request (method, path, body, Authorization) equals Alertmanager's, field by field"

# A 422 is a failed delivery, never counted as delivered, not retried; a 503 is retried
# from the create request (Alertmanager re-runs all of Notify's requests) and delivered.
L9='[{"labels":{"alertname":"Broken","line":"L9"},"startsAt":"'$START'"}]'
rx_post $AM "$L9"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="ogbroken",integration="opsgenie",reason="http_4xx"} 1' \
    || it_die "Opsgenie 422: failed_total: $(rx_metrics | grep notifications)"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="ogbroken",integration="opsgenie"} 2' 150 \
    || it_die "Opsgenie 503 then 202: $(rx_metrics | grep notif)"
[ "$(count "$IT_DIR/fw.jsonl" POST '^/og/fail422/')" = 1 ] || it_die "want 1 attempt at /og/fail422"
[ "$(count "$IT_DIR/fw.jsonl" POST '^/og/flaky503/v2/alerts$')" = 2 ] || it_die "want 2 creates at /og/flaky503"
[ "$(count "$IT_DIR/fw.jsonl" PUT '^/og/flaky503/.*/message')" = 1 ] || it_die "want 1 message PUT at /og/flaky503"
# the message PUT answered 503: the retry sends the create again, then both PUTs
[ "$(count "$IT_DIR/fw.jsonl" POST '^/og/flakyput/v2/alerts$')" = 2 ] || it_die "want 2 creates at /og/flakyput"
[ "$(count "$IT_DIR/fw.jsonl" PUT '^/og/flakyput/.*/message')" = 2 ] || it_die "want 2 message PUTs at /og/flakyput"
[ "$(count "$IT_DIR/fw.jsonl" PUT '^/og/flakyput/.*/description')" = 1 ] || it_die "want 1 description PUT at /og/flakyput"
it_ok "Opsgenie answering 422: counted failed (http_4xx), 1 attempt; answering 503 once (to the create, or to the message PUT after a 202 create): retried from the create, delivered"
m=$(rx_metrics)
grep -q 'fw_notifyd_notifications_total{receiver="og",integration="opsgenie"} 4' <<<"$m" \
    || it_die "og delivered: $(grep notifications_total <<<"$m")"
grep -q 'alertmanager_notification_requests_total{integration="opsgenie"} 9' <<<"$m" \
    || it_die "requests_total: $(grep 'alertmanager_notification_requests_total{integration="opsgenie"' <<<"$m")"
it_ok "metrics: og's 4 deliveries; alertmanager_notification_requests_total 9 (og 4, 422 1, 503 2, PUT 503 2: one per attempt, not per HTTP request, as Alertmanager counts Notify calls)"

# api_key_file is read at each notification: rewritten, the next one carries the new key.
printf 'og-file-key-2' > "$IT_DIR/fw/og_key"
rx_post $AM '[{"labels":{"alertname":"Rotated","plant":"P"},"startsAt":"'$START'"}]'
it_until 100 0.1 it_has -x 1 jq -s '[.[] | select(.path == "/og/custom/v2/alerts" and
    .headers.Authorization == "GenieKey og-file-key-2")] | length' "$IT_DIR/fw.jsonl" \
    || it_die "no create with the rewritten api_key_file"
it_ok "api_key_file rewritten: the next notification carries the new key (no reload needed)"
echo "receivers_opsgenie.sh: all checks passed"
