#!/usr/bin/env bash
# alertd_utf8.sh — an alert whose label has a UTF-8 name (k8s.io/app), POSTed to alertd's API
# v2, is taken, grouped by that label and routed by a quoted UTF-8 matcher
# ({"k8s.io/app"="web"}), as Alertmanager 0.27+ does by default (its utf8 label names and
# "fallback" matcher parsing).
#
# The Debian prometheus-alertmanager here is 0.25, which keeps legacy label names: it refuses
# this alert (400 "invalid name") and this config, so it cannot be the peer. When it is
# installed the test checks that it refuses the alert, to show the difference is its version.
# The webhook goes to test/it/receivers_capture.py (a plain recorder for /hook/...).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
it_need_cmds curl jq
it_need_bins alertd notifyd
it_tmpdir

CAP=$(it_free_port)
cat > "$IT_DIR/am.yml" <<YML
route:
  receiver: default
  group_by: [alertname, k8s.io/app]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - matchers: ['{"k8s.io/app"="web"}']
      receiver: web
receivers:
  - name: default
    webhook_configs: [{url: 'http://127.0.0.1:$CAP/hook/default'}]
  - name: web
    webhook_configs: [{url: 'http://127.0.0.1:$CAP/hook/web'}]
YML
it_start cap $PY "$HERE/test/it/receivers_capture.py" "$CAP" "$IT_DIR/cap.jsonl"
it_start_notifyd_alertd "$IT_DIR/am.yml"
it_wait_http "http://127.0.0.1:$CAP/" || it_die "the capture server did not come up"
it_ok "capture server, notifyd and alertd up"

START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)
ALERT='[{"labels":{"alertname":"X","k8s.io/app":"web"},"startsAt":"'$START'"}]'
code=$(curl -sS -o "$IT_DIR/post.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "$ALERT" "http://127.0.0.1:$AM/api/v2/alerts")
[ "$code" = 200 ] || it_die "POST with a UTF-8 label name: $code $(cat "$IT_DIR/post.out")"
code=$(curl -sS -o "$IT_DIR/post.out" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '[{"labels":{"":"x"}}]' "http://127.0.0.1:$AM/api/v2/alerts")
[ "$code" = 400 ] && grep -q 'invalid label set: invalid name' "$IT_DIR/post.out" ||
    it_die "an empty label name: $code $(cat "$IT_DIR/post.out")"
it_ok "POST /api/v2/alerts takes k8s.io/app, refuses an empty name with Alertmanager's text"

CAPF=$IT_DIR/cap.jsonl
it_until 150 0.1 sh -c "[ \"\$(jq -s '[.[] | select(.path == \"/hook/web\")] | length' '$CAPF' 2>/dev/null)\" -ge 1 ]" ||
    it_die "no notification to web: $(jq -c '[.path, .body.receiver]' "$CAPF" 2>/dev/null)"
body=$(jq -cs '[.[] | select(.path == "/hook/web")][0].body' "$CAPF")
[ "$(jq -r '.groupLabels["k8s.io/app"]' <<<"$body")" = web ] ||
    it_die "groupLabels: $(jq -c .groupLabels <<<"$body")"
[ "$(jq -r '.alerts[0].labels["k8s.io/app"]' <<<"$body")" = web ] ||
    it_die "alert labels: $(jq -c .alerts <<<"$body")"
jq -e '.groupKey | startswith("{}/{\"k8s.io/app\"=\"web\"}:")' <<<"$body" >/dev/null ||
    it_die "groupKey: $(jq -r .groupKey <<<"$body")"
[ "$(jq -s '[.[] | select(.path == "/hook/default")] | length' "$CAPF")" = 0 ] ||
    it_die "the default receiver was notified"
it_ok "routed to web by {\"k8s.io/app\"=\"web\"}, grouped by k8s.io/app (groupKey $(jq -r .groupKey <<<"$body"))"

got=$(curl -fsS -G --data-urlencode 'filter={"k8s.io/app"="web"}' \
    "http://127.0.0.1:$AM/api/v2/alerts/groups" | jq -c '[.[] | .receiver.name]')
[ "$got" = '["web"]' ] || it_die "groups filtered by a quoted matcher: $got"
it_ok "/api/v2/alerts/groups?filter={\"k8s.io/app\"=\"web\"} lists the web group"

if command -v prometheus-alertmanager >/dev/null; then
    AMREF=$(it_free_port)
    printf 'route: {receiver: d}\nreceivers: [{name: d}]\n' > "$IT_DIR/ref.yml"
    it_start amref prometheus-alertmanager --config.file="$IT_DIR/ref.yml" \
        --storage.path="$IT_DIR/amref" --web.listen-address=127.0.0.1:$AMREF --cluster.listen-address=
    it_wait_http "http://127.0.0.1:$AMREF/-/ready" || it_die "Alertmanager did not come up"
    code=$(curl -sS -o "$IT_DIR/ref.out" -w '%{http_code}' -H 'Content-Type: application/json' \
        -d "$ALERT" "http://127.0.0.1:$AMREF/api/v2/alerts")
    [ "$code" = 400 ] || it_die "Debian Alertmanager took a UTF-8 label name: $code"
    it_ok "the Debian Alertmanager ($(prometheus-alertmanager --version 2>&1 | head -1 | awk '{print $3}')) refuses it: $(cat "$IT_DIR/ref.out")"
fi
echo "alertd_utf8.sh: all checks passed"
