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
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
it_need_cmds prometheus-alertmanager curl jq
it_tmpdir

CAP_FW=$(it_free_port); CAP_AM=$(it_free_port)
AMREF=$(it_free_port)
EXT=http://alerts.example:9093

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

it_start cap_fw $PY "$HERE/test/it/receivers_capture.py" "$CAP_FW" "$IT_DIR/fw.jsonl"
it_start cap_am $PY "$HERE/test/it/receivers_capture.py" "$CAP_AM" "$IT_DIR/am.jsonl"
it_start_notifyd_alertd "$IT_DIR/fw/am.yml" --web.external-url=$EXT
it_start amref prometheus-alertmanager --config.file="$IT_DIR/am/am.yml" \
    --storage.path="$IT_DIR/amref" --web.listen-address=127.0.0.1:$AMREF \
    --cluster.listen-address= --web.external-url=$EXT
for u in "http://127.0.0.1:$CAP_FW/" "http://127.0.0.1:$CAP_AM/" "http://127.0.0.1:$AMREF/-/ready"; do
    it_wait_http "$u" || it_die "$u did not come up"
done
it_ok "capture servers, notifyd, alertd and Alertmanager $(prometheus-alertmanager --version 2>&1 | head -1 | awk '{print $3}') up"

START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)
alerts() { # ENDS_AT (empty: firing)
    local ends=${1:+,\"endsAt\":\"$1\"}
    printf '[{"labels":{"alertname":"LineStopped","line":"L1","plant":"P"},"annotations":{"summary":"line 1 stopped"},"startsAt":"%s","generatorURL":"http://prom.example/g1"%s},' "$START" "$ends"
    printf '{"labels":{"alertname":"LineStopped","line":"L2","plant":"P"},"annotations":{"summary":"line 2 stopped"},"startsAt":"%s","generatorURL":"http://prom.example/g2"%s}]' "$START" "$ends"
}
post() { # PORT BODY
    curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$1/api/v2/alerts"
}
count() { # FILE METHOD PATH-REGEX: requests with that method whose path matches
    [ -s "$1" ] || { echo 0; return; }
    jq -s --arg m "$2" --arg p "$3" '[.[] | select(.method == $m and (.path | test($p)))] | length' "$1"
}
wait_n() { # FILE METHOD PATH-REGEX N
    for _ in $(seq 150); do [ "$(count "$1" "$2" "$3")" -ge "$4" ] 2>/dev/null && return 0; sleep 0.1; done
    [ -s "$1" ] && jq -c '[.method, .path, .status, .err]' "$1"
    return 1
}
post $AM "$(alerts)"; post $AMREF "$(alerts)"
for f in fw am; do
    wait_n "$IT_DIR/$f.jsonl" POST '^/og/(global|custom)/v2/alerts$' 2 || it_die "$f: 2 creates"
    wait_n "$IT_DIR/$f.jsonl" PUT '^/og/custom/v2/alerts/[0-9a-f]{64}/description\?identifierType=alias$' 1 || it_die "$f: update_alerts' PUTs"
done
it_ok "firing: both sides sent 2 creates (one to global.opsgenie_api_url + \"/\") and update_alerts' message and description PUTs"

END=$(date -u +%Y-%m-%dT%H:%M:%S.000Z)
post $AM "$(alerts "$END")"; post $AMREF "$(alerts "$END")"
for f in fw am; do
    wait_n "$IT_DIR/$f.jsonl" POST '^/og/(global|custom)/v2/alerts/[0-9a-f]{64}/close\?identifierType=alias$' 2 || it_die "$f: 2 closes"
done
it_ok "resolved: both sides closed both alerts by alias"
grep -q '"err": "[a-zA-Z]' "$IT_DIR/fw.jsonl" && it_die "floorwatch sent a request the played API refused: $(grep '"err": "[a-zA-Z]' "$IT_DIR/fw.jsonl" | head -1)"
it_ok "every floorwatch request has the documented shape (played Alert API checks)"

# Field by field: the nth request of each method and path on one side against the nth on the other.
$PY - "$IT_DIR/fw.jsonl" "$IT_DIR/am.jsonl" <<'PY' || it_die "Opsgenie requests differ from Alertmanager's"
import json, sys
def load(p):
    out = {}
    for l in open(p):
        r = json.loads(l)
        if r["path"].startswith(("/og/global/", "/og/custom/")):
            out.setdefault((r["method"], r["path"]), []).append(r)
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
    elif a != b:
        out.append(f"{at}: floorwatch {a!r} != Alertmanager {b!r}")
bad, n = [], 0
for key in sorted(set(fw) | set(am)):
    f, m = fw.get(key, []), am.get(key, [])
    if len(f) != len(m): bad.append(f"{key}: {len(f)} requests, Alertmanager {len(m)}"); continue
    for i, (x, y) in enumerate(zip(f, m)):
        n += 1
        diff(x["body"], y["body"], f"{key[0]} {key[1]}#{i}", bad)
        for h in ("Content-Type", "Authorization"):
            if x["headers"].get(h) != y["headers"].get(h):
                bad.append(f"{key}#{i} header {h}: {x['headers'].get(h)} != {y['headers'].get(h)}")
for b in bad: print("  diff:", b)
create = [r["body"] for k, v in fw.items() for r in v if k == ("POST", "/og/custom/v2/alerts")]
print(f"  {n} requests compared ({len(fw)} method+path pairs), {len(bad)} differences; "
      f"custom create: {len(create[0]['message'])} runes, responders {create[0].get('responders')}")
sys.exit(1 if bad or n != 6 else 0)
PY
it_ok "every Opsgenie request (method, path, body, Authorization) equals Alertmanager's, field by field"

# A 422 is a failed delivery, never counted as delivered, not retried; a 503 is retried
# from the create request (Alertmanager re-runs all of Notify's requests) and delivered.
L9='[{"labels":{"alertname":"Broken","line":"L9"},"startsAt":"'$START'"}]'
post $AM "$L9"
metrics() { curl -fsS "http://127.0.0.1:$NOTIFYD/metrics"; }
it_until 100 0.1 sh -c "curl -fsS http://127.0.0.1:$NOTIFYD/metrics | grep -q 'fw_notifyd_notifications_failed_total{receiver=\"ogbroken\",integration=\"opsgenie\",reason=\"http_4xx\"} 1'" \
    || it_die "Opsgenie 422: failed_total: $(metrics | grep notifications)"
it_until 150 0.1 sh -c "curl -fsS http://127.0.0.1:$NOTIFYD/metrics | grep -q 'fw_notifyd_notifications_total{receiver=\"ogbroken\",integration=\"opsgenie\"} 2'" \
    || it_die "Opsgenie 503 then 202: $(metrics | grep notif)"
[ "$(count "$IT_DIR/fw.jsonl" POST '^/og/fail422/')" = 1 ] || it_die "want 1 attempt at /og/fail422"
[ "$(count "$IT_DIR/fw.jsonl" POST '^/og/flaky503/v2/alerts$')" = 2 ] || it_die "want 2 creates at /og/flaky503"
[ "$(count "$IT_DIR/fw.jsonl" PUT '^/og/flaky503/.*/message')" = 1 ] || it_die "want 1 message PUT at /og/flaky503"
# the message PUT answered 503: the retry sends the create again, then both PUTs
[ "$(count "$IT_DIR/fw.jsonl" POST '^/og/flakyput/v2/alerts$')" = 2 ] || it_die "want 2 creates at /og/flakyput"
[ "$(count "$IT_DIR/fw.jsonl" PUT '^/og/flakyput/.*/message')" = 2 ] || it_die "want 2 message PUTs at /og/flakyput"
[ "$(count "$IT_DIR/fw.jsonl" PUT '^/og/flakyput/.*/description')" = 1 ] || it_die "want 1 description PUT at /og/flakyput"
it_ok "Opsgenie answering 422: counted failed (http_4xx), 1 attempt; answering 503 once (to the create, or to the message PUT after a 202 create): retried from the create, delivered"
m=$(metrics)
grep -q 'fw_notifyd_notifications_total{receiver="og",integration="opsgenie"} 4' <<<"$m" \
    || it_die "og delivered: $(grep notifications_total <<<"$m")"
grep -q 'alertmanager_notification_requests_total{integration="opsgenie"} 9' <<<"$m" \
    || it_die "requests_total: $(grep 'alertmanager_notification_requests_total{integration="opsgenie"' <<<"$m")"
it_ok "metrics: og's 4 deliveries; alertmanager_notification_requests_total 9 (og 4, 422 1, 503 2, PUT 503 2: one per attempt, not per HTTP request, as Alertmanager counts Notify calls)"

# api_key_file is read at each notification: rewritten, the next one carries the new key.
printf 'og-file-key-2' > "$IT_DIR/fw/og_key"
post $AM '[{"labels":{"alertname":"Rotated","plant":"P"},"startsAt":"'$START'"}]'
it_until 100 0.1 sh -c "jq -s '[.[] | select(.path == \"/og/custom/v2/alerts\" and .headers.Authorization == \"GenieKey og-file-key-2\")] | length' '$IT_DIR/fw.jsonl' | grep -qx 1" \
    || it_die "no create with the rewritten api_key_file"
it_ok "api_key_file rewritten: the next notification carries the new key (no reload needed)"
echo "receivers_opsgenie.sh: all checks passed"
