#!/usr/bin/env bash
# prom_to_alertd.sh — the real Debian Prometheus sends its alerts to alertd, as it would to
# Alertmanager, and the real amtool reads them back.
#
# Prometheus evaluates a rule file with two always-firing alerts (a critical one and a
# warning on the same line) and has alerting.alertmanagers pointing at alertd's web address
# (static_configs, api_version v2). Asserts: Prometheus lists alertd as its active
# Alertmanager and counts no send errors; the critical alert reaches alertd (POST
# /api/v2/alerts as Prometheus makes it) and is notified to fwsink through notifyd with
# Prometheus's labels and generatorURL; the warning is inhibited and `amtool alert query`
# shows inhibitedBy = the critical alert's fingerprint, then silencedBy = the silence
# `amtool silence add` made; `amtool silence query`, `amtool check-config`, `amtool config
# routes` (which parses /api/v2/status's config.original) work; GET /api/v2/notifications
# lists the notification with the fingerprint amtool shows, and its filters select it.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
it_need_cmds amtool prometheus jq curl
it_need_bins alertd notifyd fwsink
it_tmpdir

SINK=$(it_free_port); AM=$(it_free_port); NOTIFYD=$(it_free_port); PROM=$(it_free_port)
Z1=$(it_free_port); Z2=$(it_free_port); Z3=$(it_free_port); Z4=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:$SINK/hook
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [line]
YML
cat > "$IT_DIR/rules.yml" <<'YML'
groups:
  - name: plant
    interval: 1s
    rules:
      - alert: LineDown
        expr: vector(1)
        labels: {severity: critical, line: L1}
        annotations: {summary: "value {{ $value }}"}
      - alert: LineSlow
        expr: vector(1)
        labels: {severity: warning, line: L1}
YML
cat > "$IT_DIR/prometheus.yml" <<YML
global:
  evaluation_interval: 1s
  external_labels: {site: plant1}
rule_files: [rules.yml]
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ['127.0.0.1:$AM']
YML
amtool check-config "$IT_DIR/am.yml" >/dev/null || it_die "amtool check-config am.yml"
it_has 'configuration OK' "$BIN/alertd" --check-config --config.file="$IT_DIR/am.yml" \
    || it_die "alertd --check-config am.yml"
it_ok "amtool check-config and alertd --check-config accept the config"

it_start fwsink "$BIN/fwsink" --web.listen-address=127.0.0.1:$SINK --output="$IT_DIR/sink.jsonl"
it_start notifyd "$BIN/notifyd" --web.listen-address=127.0.0.1:$NOTIFYD \
    --zmq.notify-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z2
it_start alertd "$BIN/alertd" --config.file="$IT_DIR/am.yml" --web.listen-address=127.0.0.1:$AM \
    --storage.path="$IT_DIR/alertd" --zmq.alerts-address=tcp://127.0.0.1:$Z3 \
    --zmq.notifyd-address=tcp://127.0.0.1:$Z1 --zmq.pub-address=tcp://127.0.0.1:$Z4
it_wait_http "http://127.0.0.1:$SINK/" || it_die "fwsink did not start"
it_wait_http "http://127.0.0.1:$NOTIFYD/-/ready" || it_die "notifyd did not start"
it_wait_http "http://127.0.0.1:$AM/-/ready" || it_die "alertd did not start"
it_start prometheus prometheus --config.file="$IT_DIR/prometheus.yml" \
    --storage.tsdb.path="$IT_DIR/prom" --web.listen-address=127.0.0.1:$PROM \
    --rules.alert.resend-delay=1s
it_wait_http "http://127.0.0.1:$PROM/-/ready" 300 || it_die "prometheus did not start"
it_ok "fwsink, notifyd, alertd and Debian prometheus $(prometheus --version 2>&1 | awk 'NR==1{print $3}') up"

PURL=http://127.0.0.1:$PROM
am_active() {
    curl -fs "$PURL/api/v1/alertmanagers" \
        | jq -e --arg u "http://127.0.0.1:$AM/api/v2/alerts" '.data.activeAlertmanagers | map(.url) == [$u]'
}
it_wait_for "prometheus lists alertd as its Alertmanager" am_active
it_ok "prometheus /api/v1/alertmanagers: http://127.0.0.1:$AM/api/v2/alerts active"

# The notification: LineDown (critical) only; LineSlow is inhibited by it.
sink_has() { [ -s "$IT_DIR/sink.jsonl" ] && grep -q LineDown "$IT_DIR/sink.jsonl"; }
it_until 300 0.1 sink_has || it_die "no notification for LineDown reached fwsink within 30 s"
line=$(grep -m1 LineDown "$IT_DIR/sink.jsonl")
a=$(echo "$line" | jq -c '.alerts[0]')
[ "$(echo "$line" | jq -r .receiver)" = hook ] || it_die "receiver: $line"
[ "$(echo "$line" | jq -c .groupLabels)" = '{"alertname":"LineDown"}' ] || it_die "groupLabels: $line"
[ "$(echo "$a" | jq -c .labels)" = '{"alertname":"LineDown","line":"L1","severity":"critical","site":"plant1"}' ] \
    || it_die "labels (with Prometheus's external label): $a"
[ "$(echo "$a" | jq -r .annotations.summary)" = "value 1" ] || it_die "annotation: $a"
echo "$a" | jq -e '.generatorURL | startswith("http://")' >/dev/null || it_die "generatorURL: $a"
[ "$(echo "$a" | jq -r .status)" = firing ] || it_die "status: $a"
it_ok "Prometheus's LineDown notified to fwsink: labels with external label, annotation rendered, generatorURL"

AMURL=http://127.0.0.1:$AM
am() { amtool --alertmanager.url="$AMURL" "$@" 2>>"$IT_DIR/amtool.log"; }
q=$(am alert query -o json -a -i) || it_die "amtool alert query"
down_fp=$(echo "$q" | jq -r '.[] | select(.labels.alertname=="LineDown") | .fingerprint')
slow=$(echo "$q" | jq -c '.[] | select(.labels.alertname=="LineSlow") | .status')
[ -n "$down_fp" ] || it_die "LineDown not in amtool alert query: $q"
[ "$slow" = "{\"inhibitedBy\":[\"$down_fp\"],\"silencedBy\":[],\"state\":\"suppressed\"}" ] \
    || it_die "LineSlow status: $slow (LineDown is $down_fp)"
it_lacks LineSlow am alert query ||
    it_die "inhibited LineSlow listed by a default amtool alert query (or amtool failed)"
it_has LineSlow am alert query -i || it_die "amtool alert query -i does not list LineSlow"
it_ok "amtool alert query: LineSlow inhibitedBy [$down_fp] (LineDown), state suppressed; listed only with -i"

sid=$(am silence add alertname=LineSlow --comment=maintenance --duration=1h) || it_die "amtool silence add"
it_has -x "$sid" am silence query -q || it_die "amtool silence query -q: no $sid"
q=$(am alert query -o json -a -i -s) || it_die "amtool alert query -s"
slow=$(echo "$q" | jq -c '.[] | select(.labels.alertname=="LineSlow") | .status')
[ "$slow" = "{\"inhibitedBy\":[\"$down_fp\"],\"silencedBy\":[\"$sid\"],\"state\":\"suppressed\"}" ] \
    || it_die "LineSlow status after the silence: $slow"
it_ok "amtool silence add/query: LineSlow silencedBy [$sid] and still inhibitedBy LineDown"

routes=$(am config routes) || it_die "amtool config routes"
grep -q "default-route" <<<"$routes" || it_die "amtool config routes: $routes"
grep -q "hook" <<<"$routes" || it_die "amtool config routes: $routes"
it_has -x hook am config routes test alertname=LineDown || it_die "amtool config routes test"
it_ok "amtool config routes (from /api/v2/status config.original) and routes test: hook"
st=$(curl -fs "$AMURL/api/v2/status")
echo "$st" | jq -e '.versionInfo.goVersion == "none (C)" and (.versionInfo.version | endswith("+floorwatch"))' \
    >/dev/null || it_die "versionInfo: $(echo "$st" | jq -c .versionInfo)"
it_lacks "127.0.0.1:$SINK/hook" jq -r .config.original <<<"$st" ||
    it_die "webhook URL path in config.original (or no config.original)"
it_ok "/api/v2/status: versionInfo says floorwatch, webhook URL path shown as <secret>"

# The notification log: the LineDown notification, with the fingerprint amtool showed.
n=$(curl -fs "$AMURL/api/v2/notifications?receiver=hook&result=sent&filter=alertname%3D%22LineDown%22")
[ "$(echo "$n" | jq 'length')" -ge 1 ] || it_die "/api/v2/notifications: $n"
echo "$n" | jq -e --arg fp "$down_fp" '.[0].alerts == [{"fingerprint": $fp, "status": "firing"}]
    and .[0].groupKey == "{}:{alertname=\"LineDown\"}" and .[0].integrations == ["webhook"]
    and .[0].status == "firing"' >/dev/null || it_die "/api/v2/notifications record: $n"
[ "$(curl -fs "$AMURL/api/v2/notifications?filter=alertname%3D%22LineSlow%22" | jq length)" = 0 ] \
    || it_die "LineSlow (inhibited) has a notification record"
[ "$(curl -fs "$AMURL/api/v2/notifications?since=2099-01-01T00:00:00Z" | jq length)" = 0 ] \
    || it_die "since in the future kept records"
code=$(curl -s -o /dev/null -w '%{http_code}' "$AMURL/api/v2/notifications?result=maybe")
[ "$code" = 400 ] || it_die "result=maybe: $code"
it_ok "/api/v2/notifications: LineDown's record ($down_fp, groupKey, webhook, sent); filters select it"

m=$(curl -fs "$PURL/metrics")
sent=$(echo "$m" | awk -v u="http://127.0.0.1:$AM/api/v2/alerts" \
    '$1 ~ /^prometheus_notifications_sent_total/ && index($1, u) {print $2}')
errs=$(echo "$m" | awk -v u="http://127.0.0.1:$AM/api/v2/alerts" \
    '$1 ~ /^prometheus_notifications_errors_total/ && index($1, u) {print $2}')
[ -n "$sent" ] && [ "${sent%.*}" -ge 2 ] 2>/dev/null || it_die "prometheus_notifications_sent_total: '$sent'"
[ "$errs" = 0 ] || it_die "prometheus_notifications_errors_total: '$errs'"
it_ok "prometheus sent $sent alerts to alertd, 0 errors"
echo "prom_to_alertd.sh: all checks passed"
