#!/usr/bin/env bash
# delivery_limits.sh — floorwatch's per-receiver delivery extensions (alertd_cfg_delivery.h):
# fw_timeout and fw_rate_limit in alertmanager.yml, enforced by notifyd's delivery actor.
#
# test/it/receivers_capture.py records every request with its time; its /hang/... path never
# answers, as a receiver that hangs. notifyd's own timeout is 10s and max_in_flight 2;
# receiver `hang` has fw_timeout: 1s and two notifications: each attempt ends after ~1 s and
# is retried, then counted failed (reason timeout), and it never holds both slots (a
# receiver gets at most half of max_in_flight), so receiver `fast`, notified in the same
# flush, is delivered at once.
# Receiver `limited` has fw_rate_limit {requests: 1, interval: 2s, queue: 2}: of four
# notifications flushed at once, one goes out, two wait and go out 2 s apart, the fourth
# fails at once (reason rate_limited) instead of waiting without bound.
# amtool check-config refuses both keys by name (they are floorwatch's, not Alertmanager's).
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
  receiver: fast
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1m
  repeat_interval: 4h
  routes:
    - {receiver: hang, matchers: ['to="hang"']}
    - {receiver: limited, matchers: ['to="limited"']}
receivers:
  - name: fast
    webhook_configs: [{url: 'http://127.0.0.1:$CAP/fast'}]
  - name: hang
    fw_timeout: 1s
    webhook_configs: [{url: 'http://127.0.0.1:$CAP/hang'}]
  - name: limited
    fw_rate_limit: {requests: 1, interval: 2s, queue: 2}
    webhook_configs: [{url: 'http://127.0.0.1:$CAP/limited'}]
YML
printf 'timeout: 10s\nmax_in_flight: 2\nretry: {initial_backoff: 100ms, max_backoff: 200ms, max_attempts: 2}\n' \
    > "$IT_DIR/notifyd.yml"

it_has 'configuration OK' "$BIN/alertd" --check-config --config.file="$IT_DIR/am.yml" ||
    it_die "alertd --check-config refuses fw_timeout / fw_rate_limit"
if command -v amtool >/dev/null; then
    out=$(amtool check-config "$IT_DIR/am.yml" 2>&1 || true)
    grep -q 'field fw_timeout not found' <<<"$out" && grep -q 'field fw_rate_limit not found' <<<"$out" ||
        it_die "amtool accepts the extensions? $out"
    it_ok "alertd accepts fw_timeout and fw_rate_limit; amtool check-config refuses them by name"
fi

it_start cap $PY "$HERE/test/it/receivers_capture.py" "$CAP" "$IT_DIR/cap.jsonl"
NOTIFYD_ARGS=(--config.file="$IT_DIR/notifyd.yml")
it_start_notifyd_alertd "$IT_DIR/am.yml"
it_wait_http "http://127.0.0.1:$CAP/" || it_die "the capture server did not come up"
it_ok "capture server, notifyd and alertd up"

START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)
a() { printf '{"labels":{"alertname":"%s","to":"%s"},"startsAt":"%s"}' "$1" "$2" "$START"; }
curl -fsS -o /dev/null -H 'Content-Type: application/json' \
    -d "[$(a H1 hang),$(a H2 hang),$(a F fast),$(a L1 limited),$(a L2 limited),$(a L3 limited),$(a L4 limited)]" \
    "http://127.0.0.1:$AM/api/v2/alerts"
CAPF=$IT_DIR/cap.jsonl
times() { # PATH [ALERTNAME]: the times of the requests to PATH (for the group ALERTNAME)
    [ -s "$CAPF" ] && jq -r --arg p "$1" --arg g "${2:-}" \
        'select(.path == $p and ($g == "" or .body.groupLabels.alertname == $g)) | .t' "$CAPF" || true
}
n() { times "$1" | grep -c . || true; }
metric() { curl -fsS --max-time 2 "http://127.0.0.1:$NOTIFYD/metrics" | grep -F "$1" || true; }
# gaps N MIN MAX TIME...: exactly N times, each consecutive two MIN..MAX seconds apart
gaps() {
    $PY - "$@" <<'PY'
import sys
n, lo, hi = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
t = sorted(float(x) for x in sys.argv[4:])
sys.exit(0 if len(t) == n and all(lo <= b - a <= hi for a, b in zip(t, t[1:])) else 1)
PY
}

it_until 150 0.1 sh -c "[ \"\$(jq -s '[.[] | select(.path == \"/hang\")] | length' '$CAPF' 2>/dev/null)\" -ge 4 ]" ||
    it_die "hang: want 2 attempts of each of 2 notifications, got $(n /hang)"
it_until 100 0.1 it_has -F 'fw_notifyd_notifications_failed_total{receiver="hang",integration="webhook",reason="timeout"} 2' \
    curl -fsS "http://127.0.0.1:$NOTIFYD/metrics" ||
    it_die "hang: not counted failed (timeout): $(metric hang)"
gaps 4 0.9 1.6 $(times /hang) ||
    it_die "hang: attempts not ~1 s apart (fw_timeout, one in flight at a time): $(times /hang | tr '\n' ' ')"
h1=$(times /hang | sort -n | awk 'NR == 1') # awk reads it all: no SIGPIPE
it_ok "hang: each attempt timed out after fw_timeout (1 s, not notifyd's 10 s), one in flight at a time, each notification retried once and counted failed (timeout)"

[ "$(n /fast)" = 1 ] || it_die "fast: $(n /fast) requests, want 1"
f=$(times /fast)
$PY -c "import sys; sys.exit(0 if $f - $h1 < 0.5 else 1)" ||
    it_die "fast was delayed by the hanging receiver: $($PY -c "print(round($f-$h1, 2))") s after it"
it_has . metric 'fw_notifyd_notifications_total{receiver="fast",integration="webhook"} 1' ||
    it_die "fast: not delivered: $(metric fast)"
it_ok "fast: delivered in the same flush as hang's first attempt, not held up by it"

it_until 100 0.1 sh -c "[ \"\$(jq -s '[.[] | select(.path == \"/limited\")] | length' '$CAPF' 2>/dev/null)\" -ge 3 ]" ||
    it_die "limited: want 3 requests, got $(n /limited)"
gaps 3 1.8 3.5 $(times /limited) ||
    it_die "limited: requests not 2 s apart: $(times /limited | tr '\n' ' ')"
it_has . metric 'fw_notifyd_notifications_failed_total{receiver="limited",integration="webhook",reason="rate_limited"} 1' ||
    it_die "limited: the notification over the queue bound is not counted failed: $(metric limited)"
it_has . metric 'fw_notifyd_notifications_total{receiver="limited",integration="webhook"} 3' ||
    it_die "limited: want 3 delivered: $(metric limited)"
grep -q 'event=delivery.rate_limited receiver=limited' "$IT_DIR/notifyd.log" ||
    it_die "limited: the refusal is not logged"
sleep 2.5
[ "$(n /limited)" = 3 ] || it_die "limited: $(n /limited) requests, want 3 (the refused one is never sent)"
it_ok "limited: 3 requests 2 s apart (1 at once, 2 queued), the 4th refused at once (rate_limited), never sent"
echo "delivery_limits.sh: all checks passed"
