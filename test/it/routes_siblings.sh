#!/usr/bin/env bash
# routes_siblings.sh — two sibling routes with the same matchers, the first with continue:
# true, both notify their receiver, as the real Debian Alertmanager 0.25 does.
#
# amtool config routes test says the alert goes to both receivers. Then alertd + notifyd and
# prometheus-alertmanager get the same config (but the port) and the same alert; each side's
# webhooks go to its own test/it/receivers_capture.py (a plain recorder for /hook/...).
# Both sides must POST once to each receiver with the same groupKey (0.25's route key holds
# no position, so the two groups share it), and /api/v2/alerts/groups must list two groups.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
BUILD=${BUILD:-build}
BIN=$BUILD/bin
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
it_need_cmds prometheus-alertmanager amtool curl jq
it_need_bins alertd notifyd
it_tmpdir

CAP_FW=$(it_free_port); CAP_AM=$(it_free_port)
AMREF=$(it_free_port)

mkcfg() { # PORT FILE
    cat > "$2" <<YML
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 4h
  routes:
    - matchers: ['env="prod"']
      receiver: first
      continue: true
    - matchers: ['env="prod"']
      receiver: second
receivers:
  - name: default
    webhook_configs: [{url: 'http://127.0.0.1:$1/hook/default'}]
  - name: first
    webhook_configs: [{url: 'http://127.0.0.1:$1/hook/first'}]
  - name: second
    webhook_configs: [{url: 'http://127.0.0.1:$1/hook/second'}]
YML
}
mkcfg "$CAP_FW" "$IT_DIR/fw.yml"
mkcfg "$CAP_AM" "$IT_DIR/am.yml"

got=$(amtool config routes test --config.file="$IT_DIR/am.yml" alertname=X env=prod 2>/dev/null)
[ "$got" = "first,second" ] || it_die "amtool routes test: '$got', want first,second"
it_ok "amtool config routes test: alertname=X env=prod goes to first,second"

it_start cap_fw $PY "$HERE/test/it/receivers_capture.py" "$CAP_FW" "$IT_DIR/fw.jsonl"
it_start cap_am $PY "$HERE/test/it/receivers_capture.py" "$CAP_AM" "$IT_DIR/am.jsonl"
it_start_notifyd_alertd "$IT_DIR/fw.yml"
it_start amref prometheus-alertmanager --config.file="$IT_DIR/am.yml" \
    --storage.path="$IT_DIR/amref" --web.listen-address=127.0.0.1:$AMREF --cluster.listen-address=
for u in "http://127.0.0.1:$CAP_FW/" "http://127.0.0.1:$CAP_AM/" "http://127.0.0.1:$AMREF/-/ready"; do
    it_wait_http "$u" || it_die "$u did not come up"
done
it_ok "capture servers, notifyd, alertd and Alertmanager up"

START=$(date -u -d '-1 min' +%Y-%m-%dT%H:%M:%S.000Z)
ALERT='[{"labels":{"alertname":"X","env":"prod"},"startsAt":"'$START'"}]'
for p in $AM $AMREF; do
    curl -fsS -o /dev/null -H 'Content-Type: application/json' -d "$ALERT" \
        "http://127.0.0.1:$p/api/v2/alerts"
done
n() { [ -s "$1" ] && jq -s --arg p "$2" '[.[] | select(.path == $p)] | length' "$1" || echo 0; }
for f in fw am; do
    for r in first second; do
        it_until 150 0.1 sh -c "[ \"\$(jq -s '[.[] | select(.path == \"/hook/$r\")] | length' '$IT_DIR/$f.jsonl' 2>/dev/null)\" -ge 1 ]" ||
            it_die "$f: no notification to $r: $(cat "$IT_DIR/$f.jsonl" 2>/dev/null | jq -c '[.path, .body.receiver]')"
    done
done
it_ok "both sides notified receivers first and second"

sleep 3 # two more group_intervals: nothing new may go out (each notification logged)
for f in fw am; do
    for r in first second; do
        [ "$(n "$IT_DIR/$f.jsonl" /hook/$r)" = 1 ] || it_die "$f: $(n "$IT_DIR/$f.jsonl" /hook/$r) posts to $r, want 1"
    done
    [ "$(n "$IT_DIR/$f.jsonl" /hook/default)" = 0 ] || it_die "$f: the default receiver was notified"
done
it_ok "one notification each, none repeated, default receiver not notified"

key() { jq -rs --arg p "$2" '.[] | select(.path == $p) | .body.groupKey' "$1"; }
want='{}/{env="prod"}:{alertname="X"}'
for f in fw am; do
    for r in first second; do
        [ "$(key "$IT_DIR/$f.jsonl" /hook/$r)" = "$want" ] ||
            it_die "$f $r groupKey '$(key "$IT_DIR/$f.jsonl" /hook/$r)', want '$want'"
    done
done
it_ok "groupKey $want on both sides, for both receivers"

groups() { curl -fsS "http://127.0.0.1:$1/api/v2/alerts/groups" | jq -c '[.[] | .receiver.name] | sort'; }
[ "$(groups $AM)" = '["first","second"]' ] && [ "$(groups $AMREF)" = '["first","second"]' ] ||
    it_die "alert groups: floorwatch $(groups $AM), Alertmanager $(groups $AMREF)"
it_ok "/api/v2/alerts/groups: one group per route on both sides"
echo "routes_siblings.sh: all checks passed"
