#!/usr/bin/env bash
# receivers.sh — alertd + notifyd deliver webhook, Slack and PagerDuty notifications, compared
# with the real Debian Alertmanager (0.25) sending the same alerts with the same config.
#
# Slack and PagerDuty cannot run here: test/it/receivers_capture.py plays their endpoints
# (checks each request against the documented payload, answers as they do), and a webhook
# receiver, and records every request. Two capture servers, one per side; both sides get the
# same config (but the port, and one webhook's url_file on floorwatch's side where
# Alertmanager 0.25, which has no url_file, gets the same URL as url) and the same alerts (two
# firing alerts of one group, then both resolved), and every request body floorwatch sends
# must equal Alertmanager's field by field (webhook v4 bodies whole, truncatedAlerts and
# fingerprints included; the Authorization header too). Then a receiver whose Slack answers
# 400 is counted failed (never delivered) and a PagerDuty answering 503 once is retried; a
# title template that fails at run time is logged by name and the default title delivered
# (Alertmanager 0.25 fails that notification instead); and the *_file secrets alertd reads
# (webhook url_file, basic_auth password_file, PagerDuty routing_key_file) are rewritten and
# alertd SIGHUPed: the next notification uses the new values.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/receivers_lib.sh"
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir

rx_pair_ports

# One config per side; only the capture port differs. Secrets partly from *_file keys.
mkcfg() { # PORT DIR SIDE (fw or am)
    mkdir -p "$2"
    echo "http://127.0.0.1:$1/slack/custom" > "$2/slack_url"
    echo "fedcba9876543210fedcba9876543210" > "$2/pd_key"
    echo "http://127.0.0.1:$1/hook/auth" > "$2/hook_url"
    echo "hook-pass-1" > "$2/hook_pass"
    local hook_url="url: http://127.0.0.1:$1/hook/auth" # Alertmanager 0.25 has no url_file
    [ "$3" = fw ] && hook_url="url_file: $2/hook_url"
    mkdir -p "$2/tmpl"
    # plant.title needs two alerts: with one, index fails when the notification is made
    cat > "$2/tmpl/plant.tmpl" <<'TMPL'
{{ define "plant.lines" }}{{ range $i, $a := .Alerts }}{{ if $i }}, {{ end }}{{ $a.Labels.line }}: {{ if eq $a.Status "firing" }}{{ $a.Annotations.summary }}{{ else }}ok{{ end }}{{ end }}{{ end }}
{{ define "plant.title" }}{{ (index .Alerts 1).Labels.line }} and {{ (index .Alerts 0).Labels.line }} stopped{{ end }}
TMPL
    cat > "$2/am.yml" <<YML
templates: ['tmpl/*.tmpl']
route:
  receiver: team
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - receiver: broken
      matchers: ['line="L9"']
    - receiver: tmplfail
      matchers: ['line="L8"']
receivers:
  - name: team
    webhook_configs:
      - url: http://127.0.0.1:$1/hook/default
      - $hook_url
        max_alerts: 1
        http_config:
          basic_auth: {username: plant, password_file: $2/hook_pass}
    slack_configs:
      - api_url: http://127.0.0.1:$1/slack/default
        send_resolved: true
      - api_url_file: $2/slack_url
        send_resolved: true
        channel: '#plant'
        username: floorbot
        title: Line stopped
        text: 'Line stopped, see the runbook'
        color: '#ff0000'
        icon_emoji: ':factory:'
        link_names: true
        short_fields: true
        fields:
          - {title: Plant, value: '{{ .CommonLabels.plant }}', short: false}
          - {title: Shift, value: night}
        actions:
          - type: button
            text: 'Runbook {{ .GroupLabels.alertname }}'
            url: 'https://runbooks.example/line'
            style: primary
          - type: button
            text: Acknowledge
            name: ack
            value: '{{ len .Alerts }}'
            confirm: {text: 'Ack {{ .CommonLabels.plant }}?', title: Sure, ok_text: 'Yes', dismiss_text: 'No'}
          - {type: button, text: Both, url: 'https://x.example/', name: dropped, value: dropped}
      - api_url: http://127.0.0.1:$1/slack/tmpl
        send_resolved: true
        title: '{{ .Status | toUpper }} {{ .CommonLabels.alertname }}{{ if .Alerts.Firing }} ({{ len .Alerts.Firing }} firing){{ end }}'
        text: '{{ template "plant.lines" . }}'
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        url: http://127.0.0.1:$1/pd/default
      - routing_key_file: $2/pd_key
        url: http://127.0.0.1:$1/pd/custom
        severity: critical
        class: line
        component: conveyor
        group: plant-p
        client: floor
        details: {shift: night}
        links: [{href: 'https://runbooks.example/{{ .GroupLabels.alertname }}', text: Runbook}]
        images: [{src: 'https://img.example/x.png', alt: '{{ .CommonLabels.plant }} chart', href: 'https://img.example/'}]
  - name: tmplfail
    slack_configs:
      - api_url: http://127.0.0.1:$1/slack/tmplfail
        title: '{{ template "plant.title" . }}'
  - name: broken
    slack_configs:
      - api_url: http://127.0.0.1:$1/slack/fail400
    pagerduty_configs:
      - routing_key: 0123456789abcdef0123456789abcdef
        url: http://127.0.0.1:$1/pd/flaky503
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw" fw
mkcfg "$CAP_AM" "$IT_DIR/am" am

rx_start_pair "$IT_DIR/fw/am.yml" "$IT_DIR/am/am.yml" ""

START=$(rx_now)
ALERTS='[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"generatorURL":"http://prom.example/g1"},
 {"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"generatorURL":"http://prom.example/g2"}]'
rx_post_both "$(rx_alerts "$ALERTS")"
for f in fw am; do
    rx_wait_count "$IT_DIR/$f.jsonl" /slack/ attachments.0.fallback "[FIRING:2]" 3 || it_die "$f: 2 firing Slack requests"
    rx_wait_count "$IT_DIR/$f.jsonl" /pd/ event_action trigger 2 || it_die "$f: 2 PagerDuty triggers"
    rx_wait_count "$IT_DIR/$f.jsonl" /hook/ status firing 2 || it_die "$f: 2 firing webhooks"
done
it_ok "firing: both sides sent 3 Slack messages, 2 PagerDuty triggers and 2 webhooks"

END=$(rx_now)
rx_post_both "$(rx_alerts "$ALERTS" "$END")"
for f in fw am; do
    rx_wait_count "$IT_DIR/$f.jsonl" /slack/ attachments.0.fallback "[RESOLVED]" 3 || it_die "$f: 2 resolved Slack messages"
    rx_wait_count "$IT_DIR/$f.jsonl" /pd/ event_action resolve 2 || it_die "$f: 2 PagerDuty resolves"
    rx_wait_count "$IT_DIR/$f.jsonl" /hook/ status resolved 2 || it_die "$f: 2 resolved webhooks"
done
it_ok "resolved: both sides sent the resolved Slack messages, 2 PagerDuty resolves and 2 webhooks"
rx_check_shapes

# Field by field: the nth request to each path on one side against the nth on the other.
rx_compare "webhook, Slack and PagerDuty" --skip fail400 --skip flaky503 --skip tmplfail \
    --header Content-Type --header Authorization || it_die "request bodies differ from Alertmanager's"
# floorwatch's webhooks: 4, and /hook/auth's max_alerts 1 truncated one alert each time
hooks=$(rx_q "$IT_DIR/fw.jsonl" '.path | startswith("/hook/")')
trunc=$(jq -sc '[.[] | select(.path == "/hook/auth") | .body.truncatedAlerts]' "$IT_DIR/fw.jsonl")
echo "  $hooks webhooks, /hook/auth truncatedAlerts $trunc"
[ "$hooks" = 4 ] && [ "$trunc" = "[1,1]" ] || it_die "want 4 webhooks, /hook/auth truncatedAlerts [1,1]"
it_ok "every webhook (v4, whole), Slack and PagerDuty request body equals Alertmanager's, field by field"
[ "$(rx_count "$IT_DIR/fw.jsonl" /slack/tmpl attachments.0.text "L1: line 1 stopped, L2: line 2 stopped")" = 1 ] &&
    [ "$(rx_count "$IT_DIR/fw.jsonl" /slack/tmpl attachments.0.title "FIRING LineStopped (2 firing)")" = 1 ] &&
    [ "$(rx_count "$IT_DIR/fw.jsonl" /slack/tmpl attachments.0.text "L1: ok, L2: ok")" = 1 ] ||
    it_die "custom title/text with a templates: file: $(grep /slack/tmpl "$IT_DIR/fw.jsonl" | head -2)"
it_ok "custom Slack title and text (range, if, a template from a templates: file) rendered as Alertmanager does"

# The configs as /api/v2/status shows them: Slack fields and actions and PagerDuty links and
# images equal Alertmanager's, key by key, secrets as <secret>.
rx_status "$AM" > "$IT_DIR/fw.status.yml"
rx_status "$AMREF" > "$IT_DIR/am.status.yml"
$PY - "$IT_DIR/fw.status.yml" "$IT_DIR/am.status.yml" <<'PY' || it_die "/api/v2/status lists differ from Alertmanager's"
import sys, yaml
fw, am = (yaml.safe_load(open(p)) for p in sys.argv[1:3])
def team(c): return [r for r in c["receivers"] if r["name"] == "team"][0]
bad = 0
for integ, i, key in (("slack_configs", 1, "fields"), ("slack_configs", 1, "actions"),
                      ("pagerduty_configs", 1, "links"), ("pagerduty_configs", 1, "images"),
                      ("pagerduty_configs", 0, "routing_key")):
    f, a = team(fw)[integ][i].get(key), team(am)[integ][i].get(key)
    if key == "actions": # floorwatch shows the file as written: the third action's ignored
        f, a = f[:2], a[:2] # name and value (beside a url) are shown, Alertmanager drops them
    if f != a or f is None:
        bad += 1; print(f"  {integ}[{i}].{key}: floorwatch {f!r} != Alertmanager {a!r}")
sys.exit(bad)
PY
it_ok "/api/v2/status: Slack fields/actions, PagerDuty links/images and <secret> keys as Alertmanager's"

# `alertd template render --receiver` lists every templated item of the lists, rendered with
# the group's data as Alertmanager rendered them into its first firing requests.
jq -n --arg ext "$EXT" --arg start "$START" '{receiver: "team", status: "firing",
  alerts: [{status: "firing", labels: {alertname: "LineStopped", line: "L1", plant: "P"}, annotations: {summary: "line 1 stopped"}, startsAt: $start},
           {status: "firing", labels: {alertname: "LineStopped", line: "L2", plant: "P"}, annotations: {summary: "line 2 stopped"}, startsAt: $start}],
  groupLabels: {alertname: "LineStopped"}, commonLabels: {alertname: "LineStopped", plant: "P"},
  commonAnnotations: {}, externalURL: $ext}' > "$IT_DIR/data.json"
"$BIN/alertd" template render --config.file="$IT_DIR/fw/am.yml" --receiver=team \
    --template.data="$IT_DIR/data.json" > "$IT_DIR/render.txt" || it_die "alertd template render --receiver=team failed"
$PY - "$IT_DIR/render.txt" "$IT_DIR/am.jsonl" <<'PY' || it_die "the receiver render differs from what Alertmanager sent"
import json, sys
got = dict(l.rstrip("\n").split(": ", 1) for l in open(sys.argv[1]) if ": " in l)
reqs = [json.loads(l) for l in open(sys.argv[2])]
slack = [r["body"] for r in reqs if r["path"] == "/slack/custom"][0]["attachments"][0]
pd = [r["body"] for r in reqs if r["path"] == "/pd/custom"][0]
want = {}
for i, f in enumerate(slack["fields"]):
    for k in ("title", "value"): want[f"slack_configs[1].fields[{i}].{k}"] = f[k]
for i, a in enumerate(slack["actions"]):
    for k in ("type", "text", "url", "style", "name", "value"):
        if k in a: want[f"slack_configs[1].actions[{i}].{k}"] = a[k]
    for k in a.get("confirm", {}): want[f"slack_configs[1].actions[{i}].confirm.{k}"] = a["confirm"][k]
for i, x in enumerate(pd["links"]):
    for k in ("href", "text"): want[f"pagerduty_configs[1].links[{i}].{k}"] = x[k]
for i, x in enumerate(pd["images"]):
    for k in ("src", "alt", "href"): want[f"pagerduty_configs[1].images[{i}].{k}"] = x[k]
bad = [f"{k}: floorwatch {got.get(k)!r} != Alertmanager {v!r}" for k, v in want.items() if got.get(k) != v]
bad += [f"{k}: only in floorwatch ({v!r})" for k, v in got.items()
        if k not in want and any(f".{l}[" in k for l in ("fields", "actions", "links", "images"))]
for b in bad: print("  diff:", b)
print(f"  {len(want)} list texts compared, {len(bad)} differences")
sys.exit(1 if bad or len(want) < 21 else 0)
PY
it_ok "alertd template render --receiver: Slack fields/actions and PagerDuty links/images as Alertmanager rendered them"

# A 4xx is a failed delivery, never counted as delivered; a 503 is retried.
L9='[{"labels":{"alertname":"Broken","line":"L9"},"startsAt":"'$START'"}]'
rx_post $AM "$L9"
rx_wait_metric 'fw_notifyd_notifications_failed_total{receiver="broken",integration="slack",reason="http_4xx"} 1' \
    || it_die "Slack 400: failed_total: $(rx_metrics | grep notifications)"
it_lacks 'fw_notifyd_notifications_total{receiver="broken",integration="slack"}' rx_metrics \
    || it_die "Slack 400 counted as delivered (or no /metrics)"
it_ok "Slack answering 400: counted failed (reason http_4xx), not delivered, not retried"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="broken",integration="pagerduty"} 1' \
    || it_die "PagerDuty 503 then 202: $(rx_metrics | grep notif)"
[ "$(rx_count "$IT_DIR/fw.jsonl" /pd/flaky503 event_action trigger)" = 2 ] || it_die "want 2 attempts at /pd/flaky503"
[ "$(rx_count "$IT_DIR/fw.jsonl" /slack/fail400 username Alertmanager)" = 1 ] || it_die "want 1 attempt at /slack/fail400"
it_ok "PagerDuty answering 503 once: retried and delivered (2 attempts)"
it_has 'fw_notifyd_notifications_total{receiver="team",integration="slack"} 6' rx_metrics \
    || it_die "team slack delivered: $(rx_metrics | grep notifications_total)"
it_has 'fw_notifyd_notifications_total{receiver="team",integration="pagerduty"} 4' rx_metrics \
    || it_die "team pagerduty delivered: $(rx_metrics | grep notifications_total)"
it_ok "metrics: team's 6 Slack and 4 PagerDuty deliveries counted by integration"

# A title template that fails only when the notification is made: plant.title indexes a
# second alert, and tmplfail's group has one. --check-config cannot see it; notifyd logs the
# config key and the failing template's name and delivers with the default title. Alertmanager
# 0.25 instead fails the notification (nothing sent), so the paths are not compared above.
"$BIN/alertd" --check-config --config.file="$IT_DIR/fw/am.yml" > "$IT_DIR/check.out" 2>&1 \
    || it_die "--check-config: $(cat "$IT_DIR/check.out")"
L8='[{"labels":{"alertname":"LineJam","line":"L8","plant":"P"},"startsAt":"'$START'"}]'
rx_post_both "$L8"
rx_wait_count "$IT_DIR/fw.jsonl" /slack/tmplfail attachments.0.fallback "LineJam" 1 || it_die "no Slack request for tmplfail"
title=$(jq -rs '[.[] | select(.path == "/slack/tmplfail")][0].body.attachments[0].title' "$IT_DIR/fw.jsonl")
[ "$title" = "[FIRING:1] LineJam (L8 P)" ] || it_die "tmplfail's title: '$title', want the default"
grep 'event=notify.template template=title err=' "$IT_DIR/notifyd.log" | grep -F 'plant.tmpl:2:30: executing \"plant.title\"' \
    | grep 'index out of range' | grep ' sent=default$' >/dev/null || it_die "notifyd did not log the failing template: $(grep notify.template "$IT_DIR/notifyd.log")"
rx_wait_metric 'fw_notifyd_notifications_total{receiver="tmplfail",integration="slack"} 1' \
    || it_die "tmplfail not counted delivered: $(rx_metrics | grep tmplfail)"
it_ok "a title failing at run time (index out of range) is logged with its name (title, plant.title) and the default title delivered"
it_until 150 0.1 grep -q 'index out of range' "$IT_DIR/amref.log" \
    || it_die "Alertmanager did not report the template error: $(tail -3 "$IT_DIR/amref.log")"
[ "$(rx_count "$IT_DIR/am.jsonl" /slack/tmplfail username "")" = 0 ] || it_die "Alertmanager sent tmplfail"
it_ok "Alertmanager 0.25 fails the same notification and sends nothing (the documented difference)"

# The *_file secrets alertd reads at load are read again on SIGHUP: the webhook's url_file,
# its basic_auth password_file and PagerDuty's routing_key_file, rewritten, then SIGHUP; the
# next group's requests carry the new values (Slack's api_url_file, which notifyd reads at
# each notification as Alertmanager does, changes too).
echo "http://127.0.0.1:$CAP_FW/hook/rotated" > "$IT_DIR/fw/hook_url"
echo "hook-pass-2" > "$IT_DIR/fw/hook_pass"
echo "00112233445566778899aabbccddeeff" > "$IT_DIR/fw/pd_key"
echo "http://127.0.0.1:$CAP_FW/slack/rotated" > "$IT_DIR/fw/slack_url"
reloads=$(grep -c 'event=config.reload ' "$IT_DIR/alertd.log" || true)
kill -HUP "$PID_alertd"
it_until 100 0.1 sh -c "[ \$(grep -c 'event=config.reload ' '$IT_DIR/alertd.log') -gt $reloads ]" \
    || it_die "alertd did not reload on SIGHUP: $(grep config "$IT_DIR/alertd.log" | tail -3)"
rx_post $AM '[{"labels":{"alertname":"Rotated","line":"L1","plant":"P"},"startsAt":"'$START'"}]'
rx_wait_count "$IT_DIR/fw.jsonl" /hook/rotated groupLabels.alertname Rotated 1 || it_die "no webhook to the rotated url_file"
rx_wait_count "$IT_DIR/fw.jsonl" /slack/rotated attachments.0.fallback Rotated 1 || it_die "no Slack to the rotated api_url_file"
rx_wait_count "$IT_DIR/fw.jsonl" /pd/custom routing_key 00112233445566778899aabbccddeeff 1 \
    || it_die "no PagerDuty event with the rotated routing_key_file"
auth=$(jq -rs '[.[] | select(.path == "/hook/rotated")][0].headers.Authorization' "$IT_DIR/fw.jsonl")
[ "$auth" = "Basic $(printf plant:hook-pass-2 | base64)" ] || it_die "webhook Authorization after the reload: $auth"
[ "$(rx_count "$IT_DIR/fw.jsonl" /hook/auth groupLabels.alertname Rotated)" = 0 ] || it_die "the old webhook url got Rotated"
[ "$(rx_count "$IT_DIR/fw.jsonl" /pd/custom routing_key fedcba9876543210fedcba9876543210)" = 2 ] \
    || it_die "the old routing key was used after the reload"
it_ok "after rewriting the *_file secrets and SIGHUP: new webhook url and password, new PagerDuty routing key, new Slack url"
echo "receivers.sh: all checks passed"
